/* The built-in command families (connection, server, strings, keys) and
 * what they share: one spelling of each error text, the parsers that reply
 * on failure, the handler signature, and their registration entry points.
 * A family declares its commands as a table of dice__cmd_desc (see
 * lib/command/command_internal.h) and registers it with
 * dice__command_register(). */
#ifndef DICE_COMMANDS_INTERNAL_H
#define DICE_COMMANDS_INTERNAL_H

#include "core/core_internal.h"
#include "keyspace/db_internal.h"
#include "pubsub/pubsub_internal.h"
#include "server/blocking.h"
#include "server/server_internal.h"

#include <stdbool.h>

/* A command handler's signature (dice_command_fn): every family's
 * handlers are defined with it, so one that ignores some of its arguments
 * needs no (void) casts. */
#define DICE__UNUSED __attribute__((unused))
#define DICE__CMD_FN(name)                                                     \
    void name(dice_client_t *c, int argc DICE__UNUSED,                         \
              const char *const *argv DICE__UNUSED,                            \
              const size_t *argvlen DICE__UNUSED, void *arg DICE__UNUSED)

/* Error texts the families share, one list, each spelled once as
 * redis-server 7.0 spells it: XX(name, text). */
#define DICE__ERRTEXT_MAP(XX)                                                  \
    XX(SYNTAX, "ERR syntax error")                                             \
    XX(WRONGTYPE,                                                              \
       "WRONGTYPE Operation against a key holding the wrong kind of value")    \
    XX(NOT_INT, "ERR value is not an integer or out of range")                 \
    XX(NOT_FLOAT, "ERR value is not a valid float")                            \
    XX(OVERFLOW, "ERR increment or decrement would overflow")                  \
    XX(NAN_INF, "ERR increment would produce NaN or Infinity")                 \
    XX(NOMEM, "ERR out of memory")                                             \
    XX(DB_RANGE, "ERR DB index is out of range")                               \
    XX(SAME_OBJECT, "ERR source and destination objects are the same")         \
    XX(BULK_LEN,                                                               \
       "ERR string exceeds maximum allowed size (proto-max-bulk-len)")         \
    XX(OFFSET, "ERR offset is out of range")                                   \
    XX(NO_SUCH_KEY, "ERR no such key")

typedef enum dice__errtext {
#define DICE__ERRTEXT_ENUM(name, text) DICE__ERR_##name,
    DICE__ERRTEXT_MAP(DICE__ERRTEXT_ENUM)
#undef DICE__ERRTEXT_ENUM
} dice__errtext;

/* The text of e, and an error reply with it. */
const char *dice__errtext_str(dice__errtext e);
int dice__reply_err(dice_client_t *c, dice__errtext e);
/* The reply for a keyspace call's failure: WRONGTYPE, out of memory, or
 * "ERR <dice_strerror(rc)>". */
int dice__reply_dberr(dice_client_t *c, int rc);

/* Built-in families, registered by dice_command_add_builtins
 * (lib/commands/builtins.c). */
int dice__builtin_connection(dice_server_t *srv);
int dice__builtin_server(dice_server_t *srv);
int dice__builtin_acl(dice_server_t *srv); /* acl.c */
/* SLOWLOG LATENCY MONITOR and MEMORY STATS... (lib/commands/introspect.c),
 * registered with the server family. */
int dice__builtin_introspect(dice_server_t *srv);
/* MODULE (lib/commands/module.c), registered with the server family. */
int dice__builtin_module(dice_server_t *srv);
/* DEBUG (lib/commands/debug.c), registered with the server family. */
int dice__builtin_debug(dice_server_t *srv);
/* The keyspace families: lib/commands/string.c and lib/commands/keys.c,
 * registered once the server has a keyspace. */
int dice__builtin_strings(dice_server_t *srv);
int dice__builtin_keys(dice_server_t *srv);
/* MULTI EXEC DISCARD WATCH UNWATCH (lib/commands/multi.c). */
int dice__builtin_transactions(dice_server_t *srv);
/* The collection families (lib/commands/hash.c ...): each registers its
 * type's methods with the keyspace and its commands. */
int dice__builtin_hashes(dice_server_t *srv);
/* Sorted sets: lib/commands/zset.c (registers the type too). */
int dice__builtin_zsets(dice_server_t *srv);
/* Lists (lib/commands/list.c): registers the list type and its commands. */
int dice__builtin_lists(dice_server_t *srv);
/* The set family (lib/commands/set.c), with the set type's methods. */
int dice__builtin_sets(dice_server_t *srv);
/* Geo commands on sorted sets (lib/commands/geo.c). */
int dice__builtin_geo(dice_server_t *srv);
/* SORT and SORT_RO (lib/commands/sort.c). */
int dice__builtin_sort(dice_server_t *srv);
/* Bitmaps (lib/commands/bitops.c) and HyperLogLog
 * (lib/commands/hyperloglog.c), both on the string type. */
int dice__builtin_bitmaps(dice_server_t *srv);
int dice__builtin_hyperloglog(dice_server_t *srv);
/* Streams (lib/commands/stream.c, stream_group.c), with the type. */
int dice__builtin_streams(dice_server_t *srv);
/* Snapshots and DUMP/RESTORE (lib/commands/persist.c). */
int dice__builtin_persist(dice_server_t *srv);
/* RESTORE's longest argument vector it rewrites for propagation. */
#define DICE__RESTORE_MAX_ARGS 16
/* DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE], replying. */
void dice__debug_reload(dice_client_t *c, int argc, const char *const *argv,
                        const size_t *argvlen);
/* Pub/sub (lib/commands/pubsub.c): attaches the pub/sub layer too. */
int dice__builtin_pubsub(dice_server_t *srv);
/* EVAL, SCRIPT, FUNCTION, FCALL (lib/commands/scripting.c; nothing
 * without DICE_WITH_LUA). */
int dice__builtin_scripting(dice_server_t *srv);
/* The client's selected database. (Dispatch has already set the
 * keyspace's "now" from the loop's cached wall clock.) Inline: every
 * keyspace command starts with it, and SELECT, SWAPDB and HELLO keep
 * c->db in range. */
static inline dice_db_t *dice__cmd_db(dice_client_t *c) {
    return &c->srv->keyspace->dbs[c->db];
}

/* ---- keyspace events ------------------------------------------------------

 * How a family fires its events (Redis's notifyKeyspaceEvent calls at the
 * end of each write in t_string.c, t_list.c...): once the change is made,
 * call
 *
 *     dice__cmd_notify(c, DICE__NOTIFY_<CLASS>, "<event>", key, klen);
 *
 * once per event, with Redis's class and event name: lists
 * DICE__NOTIFY_LIST "lpush" "rpush" "lpop" "rpop" "linsert" "lset" "lrem"
 * "ltrim" (LMOVE: the push's event on the destination, then the pop's on
 * the source); hashes DICE__NOTIFY_HASH "hset" "hdel" "hincrby"
 * "hincrbyfloat"; sets DICE__NOTIFY_SET "sadd" "srem" "spop" "sinterstore"
 * "sunionstore" "sdiffstore" (SMOVE: "srem" then "sadd"); sorted sets
 * DICE__NOTIFY_ZSET "zadd" "zincr" "zrem" "zremrangebyscore"
 * "zremrangebyrank" "zremrangebylex" "zpopmin" "zpopmax" "zrangestore"
 * "zunionstore" "zinterstore" "zdiffstore"; and DICE__NOTIFY_GENERIC "del"
 * when the command emptied the collection (dice__obj_written fires it as
 * it deletes the key: fire the type's event before calling it, as Redis
 * fires "del" after the type's event). A write that changes nothing fires
 * nothing (LTRIM excepted: Redis fires "ltrim" always).
 *
 * Redis replies before or after notifying depending on the command (SET,
 * LREM, SADD, HDEL notify first; LPUSH, HSET, ZADD and the STORE forms
 * reply first), which a RESP3 client subscribed to its own keys sees:
 * follow it. Where Redis 7.0 sends the push inside an array reply
 * (ZPOPMIN's family), send it after the whole reply, as Redis 7.2 does.
 *
 * A key in another db than c's (MOVE, COPY DB) takes dice__notify(c->srv,
 * cls, event, key, klen, db). A read that finds no key fires
 * DICE__NOTIFY_KEY_MISS "keymiss" (Redis's lookupKeyRead: use
 * dice__obj_lookup_read); writes never do. "new" (a key added) and
 * "expired" come from the keyspace itself, so families never fire those.
 * Each call costs one test while notify-keyspace-events leaves the class
 * out (the default: all out). Test the sequence against redis-server with
 * tests/integration/test_pubsub.py (its NOTIFY_CASES table takes a
 * family's commands; test_notification_reply_order checks reply/push
 * order). */
static inline void dice__cmd_notify(dice_client_t *c, int cls,
                                    const char *event, const char *key,
                                    size_t klen) {
    dice__notify(c->srv, cls, event, key, klen, c->db);
}
/* The "keymiss" event of a read that found no key. */
static inline void dice__cmd_keymiss(dice_client_t *c, const char *key,
                                     size_t klen) {
    dice__cmd_notify(c, DICE__NOTIFY_KEY_MISS, "keymiss", key, klen);
}

/* LOLWUT's art (lib/commands/lolwut.c): the drawing of Redis 7.0's
 * VERSION 5 (arg: columns, squares per row, squares per column) or 6
 * (columns, rows), the given args (nargs of them, the rest default)
 * clamped as Redis clamps them, chance drawn from seed; up to and
 * including the caption's last space, before "Redis ver.". *out is
 * malloc'ed (the caller frees it); returns 0, or DICE_ENOMEM. */
int dice__lolwut_art(int version, const long long *arg, int nargs,
                     uint64_t seed, char **out, size_t *outlen);

/* Small helpers shared by command families (lib/commands/helpers.c). */
bool dice__eqci(const char *a, size_t alen, const char *lit);
bool dice__opt_is(const char *arg, size_t len, const char *lit);
/* Error reply from a NUL-terminated message ("ERR ..."). */
int dice__reply_errstr(dice_client_t *c, const char *msg);
/* A HELP reply: an array of simple strings. */
void dice__reply_help(dice_client_t *c, const char *const *lines, size_t n);
/* An argument as a long long (dice__str2ll) or a double (dice__str2d),
 * or -1 after replying "value is not an integer or out of range" / "value
 * is not a valid float", as Redis's getLongLongFromObjectOrReply and
 * getDoubleFromObjectOrReply. Return 0 on success. */
int dice__parse_ll_or_reply(dice_client_t *c, const char *s, size_t n,
                            long long *out);
int dice__parse_double_or_reply(dice_client_t *c, const char *s, size_t n,
                                double *out);
/* A SCAN/HSCAN/SSCAN/ZSCAN cursor as Redis parses it (strtoul's syntax,
 * "-1" wrapping, the empty string 0, stopping at a NUL, 64 bits). Returns
 * 0 or -1 (the caller replies "invalid cursor"). */
int dice__parse_cursor(const char *s, size_t len, uint64_t *out);
/* The same, replying "ERR invalid cursor" on failure: 0 or -1. */
int dice__parse_cursor_or_reply(dice_client_t *c, const char *s, size_t len,
                                uint64_t *out);
/* The options of SCAN, HSCAN, SSCAN and ZSCAN from argv[from]: MATCH
 * pattern (pat NULL for none, or for "*", which matches everything), COUNT
 * n (>= 1; 10 by default) and, for SCAN (allow_type), TYPE name. Redis
 * parses them after the key's lookup, so a missing key answers an empty
 * scan (dice__reply_empty_scan) whatever they say. 0, or -1 after
 * replying. */
typedef struct dice__scan_opts {
    long long count;
    const char *pat, *type;
    size_t plen, tlen;
} dice__scan_opts;
int dice__parse_scan_opts(dice_client_t *c, int argc, const char *const *argv,
                          const size_t *argvlen, int from, bool allow_type,
                          dice__scan_opts *o);
/* The reply of a scan: the next cursor; the caller then replies the array
 * of what it found. An empty scan is cursor 0 and an empty array. */
void dice__reply_scan_cursor(dice_client_t *c, uint64_t next);
void dice__reply_empty_scan(dice_client_t *c);
/* "Now" for every command: the keyspace's clock, which dispatch sets from
 * the loop's cached wall clock before each command, so a relative expire
 * time and the expiry check that follows it agree. Unix ms. */
int64_t dice__cmd_now(dice_client_t *c);
/* An expire-time argument (SET EX/PX/EXAT/PXAT, GETEX, SETEX, EXPIRE...) as
 * an absolute unix time in ms, with Redis's rules: a strict integer (else
 * "value is not an integer"), then "invalid expire time in '<cmdname>'
 * command" when the seconds overflow in ms, the relative time overflows
 * when now is added, or, with POSITIVE, it is <= 0. Returns 0, or -1 after
 * replying. */
enum {
    DICE__EXPIRE_SECONDS = 1u << 0,  /* the argument is in seconds */
    DICE__EXPIRE_RELATIVE = 1u << 1, /* a time to live, not a unix time */
    DICE__EXPIRE_POSITIVE = 1u << 2  /* <= 0 is invalid (SET's options) */
};
int dice__parse_expire_or_reply(dice_client_t *c, const char *s, size_t n,
                                unsigned how, const char *cmdname, int64_t *at);
/* The deterministic forms a command's effect is rewritten to when its
 * own argv is not (see lib/server/propagate.c): "<cmd> key" (DEL,
 * PERSIST), "PEXPIREAT key at", and "SET key val PXAT at" or, with pxat
 * NULL, "SET key val KEEPTTL". Each does nothing when no sink listens. */
void dice__propagate_key(dice_client_t *c, const char *cmd, const char *key,
                         size_t klen);
void dice__propagate_pexpireat(dice_client_t *c, const char *key, size_t klen,
                               int64_t at);
void dice__propagate_set(dice_client_t *c, const char *key, size_t klen,
                         const char *val, size_t vlen, const int64_t *pxat);
/* ---- collection plumbing (what every collection family shares) ----------

 * The object at key if it has the given type (Redis's lookupKeyWrite +
 * checkType): returns 1 with *obj set, 0 when the key is missing (nothing
 * replied: the family answers its own empty reply), or -1 after replying
 * WRONGTYPE. Touches the key's access clock. */
int dice__obj_lookup(dice_client_t *c, const char *key, size_t klen, int type,
                     void **obj);
/* The same for a read (Redis's lookupKeyRead): a missing key also fires
 * "keymiss". Use it where Redis reads: read commands, and the sources of
 * SINTERSTORE/SUNIONSTORE/SDIFFSTORE, ZRANGESTORE and Z*STORE. */
int dice__obj_lookup_read(dice_client_t *c, const char *key, size_t klen,
                          int type, void **obj);
/* For a write: the object at key, or a new one from create(arg) stored at
 * key when it is missing (*created set to 1). Returns 0, or -1 after
 * replying WRONGTYPE or out of memory (create returning NULL). The new
 * object is stored before the command changes it; call dice__obj_written
 * once the command has changed it. */
int dice__obj_lookup_create(dice_client_t *c, const char *key, size_t klen,
                            int type, void *(*create)(void *arg), void *arg,
                            void **obj, int *created);
/* After a write changed the object at key: deletes the key when the
 * collection is now empty (len 0; Redis never keeps an empty collection:
 * fires DICE_KS_DEL), else fires DICE_KS_MODIFY (dice_db_signal_modify:
 * WATCH, notifications, blocked clients and the dirty counter that makes
 * the dispatcher propagate). Call it only when something changed, after
 * firing the command's own event: a deletion fires "del" here, as Redis
 * fires it after the type's event. Returns 1 if the key was deleted, else
 * 0. */
int dice__obj_written(dice_client_t *c, const char *key, size_t klen,
                      size_t len);

#endif
