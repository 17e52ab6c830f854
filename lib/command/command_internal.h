/* The command table: what a command is (its descriptor and its registered
 * form), the table that finds one by name without allocating, and the
 * metadata COMMAND INFO / DOCS and ACL categories derive from it.
 *
 * This layer knows nothing of clients or servers: it is data. Dispatch
 * (resolving a client's argv, arity and authentication errors, calling the
 * handler) lives in the server layer, which owns a table. */
#ifndef DICE_COMMAND_INTERNAL_H
#define DICE_COMMAND_INTERNAL_H

#include "dice/command.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ACL categories, one list, in the order COMMAND INFO prints them:
 * XX(enum suffix, bit, name). A command's categories are derived from its
 * flags (write, readonly, admin + dangerous, pubsub, fast or slow,
 * blocking) and its group ("string" -> @string, "generic" -> @keyspace,
 * ...), plus the explicit bits of its descriptor. */
#define DICE__ACL_MAP(XX)                                                      \
    XX(KEYSPACE, 0, "keyspace")                                                \
    XX(READ, 1, "read")                                                        \
    XX(WRITE, 2, "write")                                                      \
    XX(SET, 3, "set")                                                          \
    XX(SORTEDSET, 4, "sortedset")                                              \
    XX(LIST, 5, "list")                                                        \
    XX(HASH, 6, "hash")                                                        \
    XX(STRING, 7, "string")                                                    \
    XX(BITMAP, 8, "bitmap")                                                    \
    XX(HYPERLOGLOG, 9, "hyperloglog")                                          \
    XX(GEO, 10, "geo")                                                         \
    XX(STREAM, 11, "stream")                                                   \
    XX(PUBSUB, 12, "pubsub")                                                   \
    XX(ADMIN, 13, "admin")                                                     \
    XX(FAST, 14, "fast")                                                       \
    XX(SLOW, 15, "slow")                                                       \
    XX(BLOCKING, 16, "blocking")                                               \
    XX(DANGEROUS, 17, "dangerous")                                             \
    XX(CONNECTION, 18, "connection")                                           \
    XX(TRANSACTION, 19, "transaction")                                         \
    XX(SCRIPTING, 20, "scripting")

enum {
#define DICE__ACL_ENUM(name, bit, text) DICE_ACL_##name = 1u << bit,
    DICE__ACL_MAP(DICE__ACL_ENUM)
#undef DICE__ACL_ENUM
};

/* In a descriptor's acl: take no category from the command's group
 * (SORT is in Redis's "generic" group without @keyspace). Never shown. */
#define DICE__ACL_NOGROUP (1u << 31)

/* Internal command flags, beyond DICE_CMD_* (COMMAND INFO never shows
 * them: it prints only the names of DICE_CMD_FLAG_MAP). */
enum {
    /* Allowed in RESP2's subscriber context (Redis's list in
     * processCommand: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT,
     * RESET). */
    DICE__CMD_SUBSCRIBER_OK = 1u << 30
};

/* Key-spec flags, one list, in the order COMMAND INFO prints them:
 * XX(enum suffix, bit, name) (Redis's CMD_KEY_* and their names). */
#define DICE__KSF_MAP(XX)                                                      \
    XX(RO, 0, "RO")                                                            \
    XX(RW, 1, "RW")                                                            \
    XX(OW, 2, "OW")                                                            \
    XX(RM, 3, "RM")                                                            \
    XX(ACCESS, 4, "access")                                                    \
    XX(UPDATE, 5, "update")                                                    \
    XX(INSERT, 6, "insert")                                                    \
    XX(DELETE, 7, "delete")                                                    \
    XX(NOT_KEY, 8, "not_key")                                                  \
    XX(INCOMPLETE, 9, "incomplete")                                            \
    XX(VARIABLE_FLAGS, 10, "variable_flags")

enum {
#define DICE__KSF_ENUM(name, bit, text) DICE__KS_##name = 1u << bit,
    DICE__KSF_MAP(DICE__KSF_ENUM)
#undef DICE__KSF_ENUM
};

/* How a key spec finds where its keys begin and which they are. */
enum { DICE__BS_INDEX = 0, DICE__BS_KEYWORD = 1, DICE__BS_UNKNOWN = 2 };
enum { DICE__FK_RANGE = 0, DICE__FK_KEYNUM = 1, DICE__FK_UNKNOWN = 2 };

/* One of Redis 7.0's key specs, as COMMAND INFO shows it: flags, a
 * begin_search (index: the argument index; keyword: the keyword and the
 * index to search from, negative from the end) and a find_keys (range:
 * lastkey, keystep, limit; keynum: keynumidx, firstkey, keystep, relative
 * to where the search began). COMMAND INFO shows a command's specs when
 * it has them, else one derived from first/last/step. Only the reply is
 * made from them: key positions still come from first/last/step or the
 * command's getkeys. */
typedef struct dice__key_spec {
    const char *notes; /* NULL: none */
    unsigned flags;    /* DICE__KS_* */
    int bs_type;       /* DICE__BS_* */
    int bs_index;      /* index, or keyword's startfrom */
    const char *bs_keyword;
    int fk_type; /* DICE__FK_* */
    int fk[3];   /* range: lastkey keystep limit; keynum: keynumidx
                    firstkey keystep */
} dice__key_spec;

/* The two shapes built-in commands use. */
#define DICE__KS_RANGE(fl, index, lastkey, keystep, limit)                     \
    {                                                                          \
        NULL, (fl), DICE__BS_INDEX, (index), NULL, DICE__FK_RANGE, {           \
            (lastkey), (keystep), (limit)                                      \
        }                                                                      \
    }
#define DICE__KS_KEYNUM(fl, index, keynumidx, firstkey, keystep)               \
    {                                                                          \
        NULL, (fl), DICE__BS_INDEX, (index), NULL, DICE__FK_KEYNUM, {          \
            (keynumidx), (firstkey), (keystep)                                 \
        }                                                                      \
    }

/* A family's key specs for its commands, by full name ("memory|usage"),
 * attached after registration (see dice__command_set_keyspecs): a table
 * beside the descriptors, so descriptor arrays need not spell an empty
 * entry for every command that has none. */
typedef struct dice__cmd_keyspecs {
    const char *name;
    const dice__key_spec *specs; /* static */
    int n;
} dice__cmd_keyspecs;

/* Keys of a call for commands whose keys cannot be described by
 * first/last/step (Redis's movablekeys: EVAL's numkeys, SORT's STORE...).
 * Writes up to max argument positions into pos; returns how many, or -1
 * when the call is malformed. */
typedef int (*dice__getkeys_fn)(int argc, const char *const *argv,
                                const size_t *argvlen, int *pos, int max);

/* The one descriptor every command family declares its commands with. A
 * family lists them in a static array and registers it with
 * dice__command_register(); everything COMMAND INFO, DOCS, GETKEYS and the
 * ACL categories report comes from here. Strings are static (not copied),
 * except name and summary, which the table copies. */
typedef struct dice__cmd_desc {
    const char *name;
    int arity;      /* Redis's: N exactly, -N at least N, counting the name */
    unsigned flags; /* DICE_CMD_* */
    int first_key, last_key, step; /* 0,0,0: no keys; last -1: last arg */
    dice_command_fn fn;            /* NULL for a pure container */
    const void *arg;               /* handed to fn */
    const char *summary;
    const char *since;        /* first Redis version with the command */
    const char *complexity;   /* as COMMAND DOCS shows it */
    unsigned acl;             /* DICE_ACL_* beyond those derived */
    const char *tips;         /* space-separated command tips, or NULL */
    const char *group;        /* NULL: the group given at registration */
    dice__getkeys_fn getkeys; /* with DICE_CMD_MOVABLE_KEYS */
} dice__cmd_desc;

typedef struct dice_command dice_command_t;

/* Internal flag bits, beyond every DICE_CMD_* (COMMAND INFO never shows
 * them; a host's registration cannot set them). DICE__CMD_TXN_NOW: run at
 * once even between MULTI and EXEC, never queued (MULTI EXEC DISCARD WATCH
 * QUIT RESET, Redis's list in processCommand). */
#define DICE__CMD_TXN_NOW (1u << 24)
/* EXEC: a rejection by dispatch (arity, NOAUTH) discards the transaction
 * and answers "EXECABORT Transaction discarded because of: <why>" (Redis's
 * execCommandAbort), in MULTI or not. */
#define DICE__CMD_EXEC (1u << 25)
#define DICE__CMD_INTERNAL_MASK (0xffu << 24)

/* A registered command: the descriptor's fields, owned copies of its name
 * and summary, and its sub-commands. */
struct dice_command {
    char *name; /* lower case, NUL-terminated */
    size_t namelen;
    /* For a name of at most 8 bytes, its dice__name_word, and that of
     * the bytes 0x20 where the name has a letter (0 elsewhere): a probe
     * matches when its word ORed with name_fold is name_word. */
    uint64_t name_word, name_fold;
    /* "parent|sub" for sub-commands, else == name; after rename-command
     * the original name still (Redis renames only the dispatch table's
     * key: COMMAND INFO, ACL rules and stats keep the original). */
    char *fullname;
    bool renamed; /* by rename-command, or removed by it (then retired) */
    /* Unique in its table (sub-commands have their own): the bit of ACL
     * selectors' command bitmaps (lib/server/acl.c). */
    unsigned acl_id;
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
    /* INFO commandstats and latencystats, LATENCY HISTOGRAM: calls run,
     * their time, calls refused before running (arity, NOAUTH...) and
     * calls that replied an error; the latency histogram (NULL until the
     * first call while latency-tracking is on). Times are in ticks of the
     * server's command clock (lib/server/stats.c), converted when shown. */
    /* The three the dispatcher updates per call, on one cache line; hist
     * sits between the two counters so that the compiler does not merge
     * their two adds into a slower vector update. Once the command has
     * been resolved hist is never NULL: its own histogram (hist_own) or
     * the server's shared sink, which the dispatcher writes without a
     * test (latency-tracking off, or no memory). */
    uint64_t calls;
    uint64_t *hist;
    uint64_t ticks;
    uint64_t rejected_calls, failed_calls;
    bool hist_own;
    /* What COMMAND INFO / DOCS show beyond the registration arguments:
     * static strings from the descriptor, NULL when unknown (a host's
     * dice_command_add gives none). */
    const char *group; /* Redis's doc group: "connection", "string"... */
    const char *since;
    const char *complexity;
    const char *tips;
    unsigned acl; /* DICE_ACL_* bits added to the derived ones */
    dice__getkeys_fn getkeys;
    /* Redis's key specs for COMMAND INFO (static), or NULL: derived. */
    const dice__key_spec *keyspecs;
    int nkeyspecs;
};

/* Command table: open addressing on the case-folded name hash. */
typedef struct dice_cmdtable {
    dice_command_t **slots;
    size_t cap; /* power of two, or 0 */
    size_t count;
    /* Bumped by every registration or removal, so a client's cached
     * command pointer is known to be stale. */
    uint64_t gen;
    /* Commands replaced or removed while the server runs: a handler may be
     * re-registering its own command, and clients' last_cmd point at their
     * names, so they are freed only with the table. */
    dice_command_t *retired;
    unsigned next_acl_id; /* dice_command.acl_id of the next command */
    size_t nrenamed;      /* commands renamed or removed by rename-command */
} dice_cmdtable_t;

void dice__cmdtable_init(dice_cmdtable_t *t);
void dice__cmdtable_free(dice_cmdtable_t *t);
/* Top-level command by name (any case), or NULL. */
dice_command_t *dice__cmdtable_find(const dice_cmdtable_t *t, const char *name,
                                    size_t len);
dice_command_t *dice__command_find_sub(const dice_command_t *parent,
                                       const char *name, size_t len);
/* Top-level command by its original name, as ACL rules name commands
 * (Redis's orig_commands): one renamed or removed by rename-command is
 * found by its old name, not its new one. NULL when unknown. */
dice_command_t *dice__cmdtable_find_orig(const dice_cmdtable_t *t,
                                         const char *name, size_t len);
/* Call fn for each command removed by rename-command (retired, but still
 * known to ACL rules and ACL CAT by its name). */
void dice__cmdtable_visit_removed(const dice_cmdtable_t *t,
                                  void (*fn)(dice_command_t *, void *),
                                  void *arg);
/* Find a command by "name" or "parent|sub" (case-insensitive), or NULL. */
dice_command_t *dice__cmdtable_lookup_full(const dice_cmdtable_t *t,
                                           const char *name, size_t len);
/* ASCII lower case of one byte (command names are ASCII). */
static inline unsigned char dice__fold(unsigned char ch) {
    return (ch >= 'A' && ch <= 'Z') ? (unsigned char)(ch | 0x20) : ch;
}
/* The bytes of s[0..len), 1 <= len <= 8, as one word: its first and its
 * last four bytes (overlapping) when len >= 4, else s[0], s[len / 2] and
 * s[len - 1]. Each byte lands in it at a place fixed by its index and len,
 * so two strings of one length are equal exactly when their words are. */
static inline uint64_t dice__name_word(const char *s, size_t len) {
    if (len >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + len - 4, 4);
        return a | (uint64_t)b << 32;
    }
    return (uint64_t)(unsigned char)s[0] |
           (uint64_t)(unsigned char)s[len >> 1] << 8 |
           (uint64_t)(unsigned char)s[len - 1] << 16;
}
/* Case-insensitive compare of a name with a registered command's (stored
 * lower case, so only the probe side needs folding). Inline: dispatch
 * runs it for every command, against the client's cached one; names of
 * up to 8 bytes (nearly all) compare as one word, the probe's letters
 * folded by ORing 0x20 where the name has a letter. */
static inline bool dice__command_name_eq(const dice_command_t *cmd,
                                         const char *s, size_t len) {
    if (cmd->namelen != len)
        return false;
    if (len <= 8)
        return (dice__name_word(s, len) | cmd->name_fold) == cmd->name_word;
    for (size_t i = 0; i < len; i++)
        if (cmd->name[i] != (char)dice__fold((unsigned char)s[i]))
            return false;
    return true;
}

/* Register d, top-level (parent NULL) or as a sub-command of the existing
 * top-level command parent. A top-level name that exists is replaced (and
 * its sub-commands dropped); the old one is retired. group is used when
 * d->group is NULL. Returns 0, DICE_EINVAL (bad name or arity, a
 * sub-command without a handler), DICE_ENOENT (no such parent) or
 * DICE_ENOMEM. */
int dice__cmdtable_add(dice_cmdtable_t *t, const char *parent,
                       const char *group, const dice__cmd_desc *d);
/* Rename a top-level command (rename-command); an empty newname removes
 * it. DICE_ENOENT if absent, DICE_EEXIST if newname is taken. */
int dice__cmdtable_rename(dice_cmdtable_t *t, const char *name,
                          const char *newname);
/* Remove a top-level command (and its sub-commands). DICE_ENOENT if
 * absent. */
int dice__cmdtable_remove(dice_cmdtable_t *t, const char *name);

/* Keys of a call: the command's getkeys function, or Redis's
 * first/last/step rule. Writes up to max positions into pos and returns
 * how many, or -1 if the call is malformed (argc too short). */
int dice__command_key_positions(const dice_command_t *cmd, int argc,
                                const char *const *argv, const size_t *argvlen,
                                int *pos, int max);

/* Metadata (lib/command/metadata.c). */
/* Every ACL category of a command: explicit, flag-implied, group-implied. */
unsigned dice__command_acl(const dice_command_t *cmd);
/* Names of the DICE_CMD_* flag and DICE_ACL_* category with this bit
 * number, or NULL past the last. */
const char *dice__command_flag_name(unsigned bit);
/* The i-th DICE_CMD_* flag in the order COMMAND INFO prints them (the
 * list's, which is Redis's, not the bits'): its name, and its bit in
 * *bit; NULL past the last. */
const char *dice__command_flag_at(unsigned i, unsigned *bit);
const char *dice__acl_category_name(unsigned bit);
/* Name of the DICE__KS_* key-spec flag with this bit number, or NULL past
 * the last. */
const char *dice__keyspec_flag_name(unsigned bit);

#endif
