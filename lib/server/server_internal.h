/* Server internals shared by the server core, the command table, the
 * configuration table and the built-in command families. */
#ifndef DICE_SERVER_INTERNAL_H
#define DICE_SERVER_INTERNAL_H

#include "dice/command.h"
#include "dice/db.h"
#include "dice/loop.h"
#include "dice/resp.h"
#include "dice/server.h"
#include "resp/resp_internal.h"

#include <stdarg.h>
#include <stdbool.h>

/* Client flags. */
enum {
    CLIENT_CLOSE_AFTER_REPLY = 1u << 0, /* close once output is flushed */
    CLIENT_CLOSED = 1u << 1,        /* socket gone; object kept for a holder */
    CLIENT_HELD = 1u << 2,          /* a deferred reply is outstanding */
    CLIENT_PENDING_WRITE = 1u << 3, /* queued in srv->pending */
    CLIENT_PAUSED = 1u << 4,        /* not reading: output above the limit */
    CLIENT_WANT_WRITE = 1u << 6,    /* WRITABLE interest is set */
    /* An in-process session (lib/server/session.c): no socket (fd -1),
     * never queued for a flush; its output is handed to the caller. The
     * client is the first member of a dice_session, freed with it. */
    CLIENT_SESSION = 1u << 7
};

typedef struct dice_command dice_command_t;

struct dice_command {
    char *name; /* lower case, NUL-terminated */
    size_t namelen;
    char *fullname; /* "parent|sub" for sub-commands, else == name */
    int arity;
    unsigned flags;
    int first_key, last_key, key_step;
    dice_command_fn fn;
    void *arg;
    char *summary;
    dice_command_t *parent;
    /* Sub-commands, in registration order (few per parent: linear scan). */
    dice_command_t **subs;
    size_t nsubs;
    dice_command_t *next_retired; /* see dice_cmdtable_t.retired */
    uint64_t calls;               /* for INFO commandstats */
    uint64_t usec;
    /* What COMMAND INFO / DOCS show beyond the registration arguments.
     * Static strings, not owned, NULL when unknown; set by the family that
     * registers the command (dice_command_set_doc). */
    const char *group; /* Redis's doc group: "connection", "string"... */
    const char *since; /* first Redis version with the command */
    const char *complexity;
    const char *tips; /* space-separated command tips, or NULL */
    unsigned acl;     /* DICE_ACL_* bits added to the derived ones */
};

/* ACL categories, in the order COMMAND INFO lists them. A command's
 * categories are derived from its flags (write, readonly, admin + dangerous,
 * pubsub, fast or slow, blocking) and its group ("string" -> @string,
 * "generic" -> @keyspace, ...), plus the explicit bits in cmd->acl. */
enum {
    DICE_ACL_KEYSPACE = 1u << 0,
    DICE_ACL_READ = 1u << 1,
    DICE_ACL_WRITE = 1u << 2,
    DICE_ACL_SET = 1u << 3,
    DICE_ACL_SORTEDSET = 1u << 4,
    DICE_ACL_LIST = 1u << 5,
    DICE_ACL_HASH = 1u << 6,
    DICE_ACL_STRING = 1u << 7,
    DICE_ACL_BITMAP = 1u << 8,
    DICE_ACL_HYPERLOGLOG = 1u << 9,
    DICE_ACL_GEO = 1u << 10,
    DICE_ACL_STREAM = 1u << 11,
    DICE_ACL_PUBSUB = 1u << 12,
    DICE_ACL_ADMIN = 1u << 13,
    DICE_ACL_FAST = 1u << 14,
    DICE_ACL_SLOW = 1u << 15,
    DICE_ACL_BLOCKING = 1u << 16,
    DICE_ACL_DANGEROUS = 1u << 17,
    DICE_ACL_CONNECTION = 1u << 18,
    DICE_ACL_TRANSACTION = 1u << 19,
    DICE_ACL_SCRIPTING = 1u << 20
};

/* Command table: open addressing on the case-folded name hash. */
typedef struct dice_cmdtable {
    dice_command_t **slots;
    size_t cap; /* power of two, or 0 */
    size_t count;
    /* Bumped by every registration or removal, so a client's cached
     * command pointer (see dice_client.cmd_cache) is known to be stale. */
    uint64_t gen;
    /* Commands replaced or removed while the server runs: a handler may be
     * re-registering its own command, and clients' last_cmd point at their
     * names, so they are freed only with the table. */
    dice_command_t *retired;
} dice_cmdtable_t;

struct dice_client {
    dice_server_t *srv;
    int fd;
    unsigned flags;
    uint64_t id;
    int proto;
    int db;
    int holds; /* outstanding dice_client_hold() calls */
    int busy;  /* >0 while our own code runs on its behalf */
    /* Input that is kept between reads: a partial command, or commands not
     * yet processed because the client is paused or held. NULL when none,
     * so an idle client holds no input buffer. */
    char *qbuf;
    size_t qlen, qcap;
    dice_req_parser_t *parser; /* only while qbuf holds input */
    /* Output not yet written. out.data is NULL while empty (buffers go back
     * to the server's pool after each flush). sent = bytes of out already
     * written by a partial write. */
    dice_buf_t out;
    size_t sent;
    uint64_t created_ms;
    uint64_t last_ms;         /* last interaction, loop clock */
    char *name;               /* CLIENT SETNAME, or NULL */
    char *lib_name, *lib_ver; /* CLIENT SETINFO */
    char addr[64];            /* "ip:port" of the peer */
    char laddr[64];           /* "ip:port" of our side */
    const char *last_cmd;     /* name of the last command run */
    /* The last top-level command this client ran, valid while its
     * cmd_cache_gen equals the table's gen: pipelines repeat commands, and
     * a name compare is cheaper than hashing and probing. */
    dice_command_t *cmd_cache;
    uint64_t cmd_cache_gen;
    /* Passed AUTH (or connected while no requirepass was set, as Redis's
     * default user with nopass). Commands not flagged DICE_CMD_NOAUTH are
     * refused with NOAUTH while requirepass is set and this is false. */
    bool authenticated;
    void *userdata;
    dice_client_t *prev, *next; /* all clients, for CLIENT LIST and free */
};

typedef struct dice_listener {
    int fd;
    int port;
    char addr[64];
} dice_listener_t;

/* Settings. Names and defaults follow redis.conf (see lib/server/config.c). */
typedef struct dice_settings {
    char *bind; /* space-separated addresses */
    int port;
    long long maxclients; /* 0 = derive from the fd limit */
    long long proto_max_bulk_len;
    long long max_multibulk; /* not a redis.conf setting; fixed 1048576 */
    long long inline_max;
    long long query_buf_limit; /* client-query-buffer-limit */
    long long output_pause;    /* stop reading a client above this output */
    long long databases;
    int loglevel;
    int tcp_backlog;
    int hz;
    long long timeout; /* idle client timeout, seconds, 0 = none */
    char *requirepass; /* NULL when no password */
    char *dir;
    char *logfile;
} dice_settings_t;

typedef struct dice_stats {
    uint64_t connections_received;
    uint64_t commands_processed;
    uint64_t rejected_connections;
    uint64_t net_input_bytes;
    uint64_t net_output_bytes;
    uint64_t unexpected_errors;
} dice_stats_t;

struct dice_server {
    dice_loop_t *loop;
    dice_settings_t cfg;
    char cfg_err[256];
    dice_listener_t *listeners;
    size_t nlisteners;
    bool started;
    uint64_t hook_id;
    uint64_t cron_id;
    int spare_fd; /* reserve fd, freed to shed connections on EMFILE */

    dice_cmdtable_t commands;

    dice_client_t *clients; /* list head */
    size_t nclients;
    /* In-process sessions' clients: a list of their own, so CLIENT LIST,
     * CLIENT KILL, maxclients and the idle timeout see only connections. */
    dice_client_t *sessions;
    uint64_t next_client_id;
    size_t maxclients_effective;

    /* Clients with output to write before the loop sleeps. */
    dice_client_t **pending;
    size_t npending, pending_cap;

    /* Shared read buffer: every read lands here first, so a client that
     * sends whole commands never needs its own input buffer. */
    char *rbuf;
    size_t rbuf_cap;
    /* Parses the shared buffer; `parsing` is the client it is reading for
     * (NULL between reads). A client gets a parser of its own only while
     * it keeps unprocessed input between reads. */
    dice_req_parser_t *parser;
    dice_client_t *parsing;

    /* Pool of output buffers handed to clients for one flush cycle. */
    dice_buf_t *pool;
    size_t npool, pool_cap;
    size_t pool_bytes;   /* capacity held by pooled buffers */
    uint64_t pool_takes; /* buffers taken since the last cron tick */

    dice_stats_t stats;
    uint64_t start_ms;
    int64_t start_unix_ms;

    dice_log_fn log_fn;
    void *log_arg;
    dice_server_cb shutdown_cb;
    void *shutdown_arg;

    /* Highest used_memory INFO has seen (reset by CONFIG RESETSTAT). */
    unsigned long long info_mem_peak;

    /* Keyspace of the built-in keyspace commands (NULL until added), and
     * the timer that runs active expiry and incremental rehashing. */
    dice_keyspace_t *keyspace;
    uint64_t ks_cron_id;
};

/* Printf-style logging for the library's own messages. */
void dice__logf(dice_server_t *srv, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Error reply with printf formatting (library-internal convenience). */
int dice__reply_errorf(dice_client_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Redis's arity error for a command. */
int dice__reply_arity_error(dice_client_t *c, const dice_command_t *cmd);

/* Command table (lib/command/table.c). */
void dice__cmdtable_init(dice_cmdtable_t *t);
void dice__cmdtable_free(dice_cmdtable_t *t);
dice_command_t *dice__cmdtable_find(const dice_cmdtable_t *t, const char *name,
                                    size_t len);
dice_command_t *dice__command_find_sub(const dice_command_t *parent,
                                       const char *name, size_t len);
/* Resolve argv to the command to run (sub-command aware) or reply with the
 * right error and return NULL. */
dice_command_t *dice__command_resolve(dice_client_t *c, int argc,
                                      const char *const *argv,
                                      const size_t *argvlen);
/* Keys of a command call, Redis's first/last/step rule; writes up to max
 * positions into pos and returns how many, or -1 if argc is too short. */
int dice__command_key_positions(const dice_command_t *cmd, int argc, int *pos,
                                int max);

/* A built-in command as a family's table lists it (no key positions:
 * families with keys register through dice_command_add directly). */
typedef struct dice_cmd_entry {
    const char *name;
    int arity;
    unsigned flags;
    dice_command_fn fn;
    const char *summary;
    const char *since;
    const char *complexity;
    unsigned acl; /* DICE_ACL_* beyond what flags and group imply */
    const char *tips;
} dice_cmd_entry_t;
/* Register n entries (as sub-commands of parent, or top-level when parent
 * is NULL) with their documentation under group. */
int dice_command_add_entries(dice_server_t *srv, const char *parent,
                             const char *group, const dice_cmd_entry_t *e,
                             size_t n);
/* Set what COMMAND INFO / DOCS report for a registered command, named
 * "get" or "client|list". Strings must be static (they are not copied);
 * NULL leaves a field unknown. acl adds DICE_ACL_* bits to those derived
 * from flags and group. Returns 0 or DICE_ENOENT (lib/commands/server.c). */
int dice_command_set_doc(dice_server_t *srv, const char *fullname,
                         const char *group, const char *since,
                         const char *complexity, unsigned acl,
                         const char *tips);
/* Find a command by "name" or "parent|sub" (case-insensitive), or NULL. */
dice_command_t *dice_command_lookup_full(dice_server_t *srv, const char *name,
                                         size_t len);

/* Configuration (lib/server/config.c). */
void dice__settings_init(dice_settings_t *s);
void dice__settings_free(dice_settings_t *s);
/* Visit every setting whose name matches pattern (glob), for CONFIG GET. */
typedef void (*dice_config_visit_fn)(void *arg, const char *name,
                                     const char *value);
void dice__config_visit(dice_server_t *srv, const char *pattern, size_t plen,
                        dice_config_visit_fn fn, void *arg);
/* A setting's whole current value, malloc'd; NULL if unknown or no
 * memory. */
char *dice__config_value(dice_server_t *srv, const char *name);
/* 0 if the setting exists and may change now, DICE_ENOENT or DICE_ESTATE
 * (error text in cfg_err); changes nothing. */
int dice__config_check(dice_server_t *srv, const char *name);
/* Copy every setting (strings duplicated), and put such a copy back (taking
 * its strings) with all side effects re-applied: CONFIG SET's
 * all-or-nothing. */
int dice__config_snapshot(dice_server_t *srv, dice_settings_t *out);
void dice__config_restore(dice_server_t *srv, dice_settings_t *saved);
/* Split a line into arguments with Redis's inline quoting rules. Returns
 * the count (>= 0) and a malloc'd array of malloc'd NUL-terminated strings
 * in *out (free with dice__split_free), or -1 on unbalanced quotes. */
int dice__split_args(const char *line, size_t len, char ***out);
void dice__split_free(char **v, int n);

/* Server core (lib/server/server.c). */
/* (Re)arm the server's and the keyspace's periodic timers at cfg.hz. */
int dice__server_arm_crons(dice_server_t *srv);
int dice__keyspace_arm_cron(dice_server_t *srv, uint64_t period_ms);
/* Apply the request limits in the settings to a parser. */
void dice__server_apply_limits(dice_server_t *srv, dice_req_parser_t *p);
/* Re-apply the unauthenticated-client limits after c's state changed. */
void dice__client_sync_auth(dice_client_t *c);
void dice__client_free_now(dice_client_t *c);
/* Run one parsed command for c: resolve it (unknown command, arity, auth
 * errors are replied here), count it, set the keyspace's clock, call the
 * handler. The one dispatch function of every path: network input and
 * in-process sessions. argv is borrowed for the call. */
void dice__client_call(dice_client_t *c, int argc, const char *const *argv,
                       const size_t *argvlen);
/* Free what a session owns beside its client (lib/server/session.c);
 * called by dice__client_free_now for a CLIENT_SESSION client just before
 * the memory (client and session together) goes. */
void dice__session_release(dice_client_t *c);
size_t dice__client_output_pending(const dice_client_t *c);
size_t dice__server_effective_maxclients(dice_server_t *srv);

/* Built-in families. */
int dice__builtin_connection(dice_server_t *srv);
int dice__builtin_server(dice_server_t *srv);
int dice_builtin_keyspace(dice_server_t *srv);
/* The keyspace families, registered by dice_builtin_keyspace once the
 * keyspace exists: lib/commands/string.c and lib/commands/keys.c. */
int dice__builtin_strings(dice_server_t *srv);
int dice__builtin_keys(dice_server_t *srv);
/* The client's selected database. (Dispatch has already set the
 * keyspace's "now" from the loop's cached wall clock.) */
dice_db_t *dice__cmd_db(dice_client_t *c);

/* Small helpers shared by command families (lib/commands/helpers.c). */
bool dice__eqci(const char *a, size_t alen, const char *lit);
int dice_parse_ll(const char *s, size_t len, long long *out);
bool dice__opt_is(const char *arg, size_t len, const char *lit);
/* Error reply from a NUL-terminated message ("ERR ..."). */
int dice__reply_errstr(dice_client_t *c, const char *msg);
/* A HELP reply: an array of simple strings. */
void dice__reply_help(dice_client_t *c, const char *const *lines, size_t n);
/* printf-style append to a buffer. */
int dice__buf_printf(dice_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
