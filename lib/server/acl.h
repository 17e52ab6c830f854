/* Users and permissions (lib/server/acl.c), Redis 7.0's ACL: users with
 * passwords (SHA-256 only), selectors of command, key and channel rules,
 * the check dispatch makes before a command runs, and the ACL log.
 *
 * Where the check sits: dice__command_resolve tests one client flag,
 * CLIENT_ACL, in the same branch as the authentication and subscriber
 * tests; the flag is set only for clients whose user is not allowed
 * everything (the default user with +@all ~* &* never has it), so an
 * unrestricted client pays nothing beyond that branch. */
#ifndef DICE_SERVER_ACL_H
#define DICE_SERVER_ACL_H

#include "command/command_internal.h"
#include "core/sha256.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dice_server dice_server_t;
typedef struct dice_client dice_client_t;

/* Key pattern permissions (%R~ %W~ %RW~). */
enum { DICE__ACL_PERM_R = 1, DICE__ACL_PERM_W = 2 };

typedef struct dice__acl_pattern {
    char *pat;
    size_t len;
    unsigned perm; /* DICE__ACL_PERM_*; channels: unused */
} dice__acl_pattern;

/* First arguments allowed for a command otherwise denied (+select|0). */
typedef struct dice__acl_firstargs {
    unsigned id;
    char **args;
    size_t n;
} dice__acl_firstargs;

enum {
    DICE__SEL_ALLKEYS = 1u << 0,
    DICE__SEL_ALLCHANNELS = 1u << 1,
    DICE__SEL_ALLCOMMANDS = 1u << 2, /* +@all and nothing removed since */
    DICE__SEL_FUTURE = 1u << 3       /* commands registered later are allowed */
};

/* One selector: the root one of a user, or one of its (...) selectors. */
typedef struct dice__acl_selector {
    unsigned flags; /* DICE__SEL_* */
    uint64_t *bits; /* allowed commands by acl_id; past nwords: FUTURE */
    size_t nwords;
    dice__acl_firstargs *fa;
    size_t nfa;
    dice__acl_pattern *keys;
    size_t nkeys;
    dice__acl_pattern *chans;
    size_t nchans;
} dice__acl_selector;

enum {
    DICE__USER_ON = 1u << 0,
    DICE__USER_NOPASS = 1u << 1,
    DICE__USER_SKIP_SANITIZE = 1u << 2,
    DICE__USER_SANITIZE = 1u << 3
};

typedef struct dice__acl_user {
    char *name;
    size_t namelen;
    unsigned flags; /* DICE__USER_* */
    uint8_t (*pass)[DICE__SHA256_LEN];
    size_t npass;
    dice__acl_selector *sel; /* sel[0] is the root selector */
    size_t nsel;
    bool unrestricted; /* root selector allows every command, key, channel */
} dice__acl_user;

typedef struct dice__acl_log_entry {
    uint64_t count;
    int reason;  /* DICE__ACL_DENIED_* */
    int context; /* DICE__ACL_CTX_* */
    char *object, *username;
    uint64_t ctime_ms;
    char *cinfo;
} dice__acl_log_entry;

/* The server's users (sorted by name, as Redis's rax lists them), its
 * default user, the log (newest first) and what the config file gave. */
typedef struct dice__acl {
    dice__acl_user **users;
    size_t nusers, cap;
    dice__acl_user *def;
    dice__acl_log_entry *log;
    size_t nlog;
    /* Config file `user` lines (their words joined), applied at start. */
    char **cfg_users;
    size_t ncfg_users;
    /* rename-command pairs from the config file, applied at start. */
    char **renames;
    size_t nrenames;
} dice__acl;

enum {
    DICE__ACL_OK = 0,
    DICE__ACL_DENIED_CMD = 1,
    DICE__ACL_DENIED_KEY = 2,
    DICE__ACL_DENIED_AUTH = 3,
    DICE__ACL_DENIED_CHANNEL = 4
};

/* Where a denial happened (ACL LOG's context). */
enum {
    DICE__ACL_CTX_TOPLEVEL = 0,
    DICE__ACL_CTX_MULTI = 1,
    DICE__ACL_CTX_LUA = 2
};

int dice__acl_init(dice_server_t *srv);
void dice__acl_free(dice_server_t *srv);
/* At dice_server_start: rename-command lines, then the aclfile or the
 * config file's users. Returns 0 or a negative DICE_E* (cfg_err set). */
int dice__acl_start(dice_server_t *srv);

/* Users. */
dice__acl_user *dice__acl_find(dice_server_t *srv, const char *name,
                               size_t len);
/* ACL SETUSER's work: apply rules to the user (created when missing), all
 * or nothing. On error returns -1 with the reply text (no "-") in err. */
int dice__acl_setuser(dice_server_t *srv, const char *name, size_t namelen,
                      int argc, const char *const *argv, const size_t *argvlen,
                      char *err, size_t errsize);
/* Delete a user, killing its clients after their replies. false for the
 * default user or a missing one. */
bool dice__acl_deluser(dice_server_t *srv, const char *name, size_t len);
/* The rules of a user as ACL LIST shows them after "user <name> ", and of
 * one selector (keys, channels, commands). malloc'd. */
char *dice__acl_describe_user(dice_server_t *srv, const dice__acl_user *u);
char *dice__acl_describe_cmds(dice_server_t *srv, const dice__acl_selector *s);
/* Keys or channels of a selector as GETUSER shows them. malloc'd. */
char *dice__acl_describe_keys(const dice__acl_selector *s);
char *dice__acl_describe_chans(const dice__acl_selector *s, bool reset);

/* Whether user u may run cmd with these arguments: DICE__ACL_OK or a
 * DICE__ACL_DENIED_* with the index of the denied argument in *idx. */
int dice__acl_check(dice_server_t *srv, const dice__acl_user *u,
                    const dice_command_t *cmd, int argc,
                    const char *const *argv, const size_t *argvlen, int *idx);
/* The dispatcher's check for c (CLIENT_ACL set): false after replying
 * NOPERM and logging. */
bool dice__acl_check_client(dice_client_t *c, const dice_command_t *cmd,
                            int argc, const char *const *argv,
                            const size_t *argvlen);
/* A command a script runs for caller (redis.call): DICE__ACL_OK, or the
 * denial, logged with the Lua context and caller's client line (Redis's
 * scriptVerifyACL). The caller replies. */
int dice__acl_check_script(dice_client_t *caller, const dice_command_t *cmd,
                           int argc, const char *const *argv,
                           const size_t *argvlen);
/* Set or clear CLIENT_ACL for c from its user. */
void dice__acl_client_refresh(dice_client_t *c);
/* True when a new connection must authenticate (the default user has a
 * password or is off). */
bool dice__acl_auth_required(const dice_server_t *srv);
/* AUTH / HELLO AUTH: check a user's password (constant time per hash);
 * on success c is that user's. On failure logs an auth entry whose object
 * is cmd (the command as typed, as Redis logs argv[0]). */
bool dice__acl_authenticate(dice_client_t *c, const char *cmd, size_t cmdlen,
                            const char *user, size_t ulen, const char *pass,
                            size_t plen);
/* requirepass's apply hook: the default user's password. */
void dice__acl_apply_requirepass(dice_server_t *srv);

/* Log. */
void dice__acl_log_add(dice_client_t *c, int reason, const char *object,
                       size_t objlen, const char *username, size_t ulen);
void dice__acl_log_reset(dice_server_t *srv);
const char *dice__acl_reason_name(int reason);

/* ACL SAVE / LOAD with the aclfile: 0, or -1 with err set. */
int dice__acl_save(dice_server_t *srv, char *err, size_t errsize);
int dice__acl_load(dice_server_t *srv, char *err, size_t errsize);

/* Config-file directives kept for dice__acl_start. */
int dice__acl_config_user(dice_server_t *srv, const char *value);
int dice__acl_config_rename(dice_server_t *srv, const char *value);

/* Every registered command, sub-commands included (CAT, describe). */
typedef void (*dice__acl_cmd_visit)(dice_command_t *cmd, void *arg);
void dice__acl_visit_commands(dice_server_t *srv, dice__acl_cmd_visit fn,
                              void *arg);

#endif
