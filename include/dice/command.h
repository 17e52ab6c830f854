/* libdice command table: commands and sub-commands registered with their
 * name, arity, flags, key positions, handler and summary; looked up without
 * allocation; described by COMMAND INFO / DOCS / LIST / COUNT / GETKEYS.
 *
 * Single-threaded like the server it belongs to. */
#ifndef DICE_COMMAND_H
#define DICE_COMMAND_H

#include "dice/common.h"
#include "dice/server.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Flags, one list: the enum and the names COMMAND INFO prints (in this
 * order, which is Redis's; bits were given as flags were added, so they
 * are not in order) come from it. XX(enum suffix, bit, name). */
#define DICE_CMD_FLAG_MAP(XX)                                                  \
    XX(WRITE, 0, "write") /* may modify the keyspace */                        \
    XX(READONLY, 1, "readonly")                                                \
    XX(DENYOOM, 2, "denyoom") /* refused over maxmemory */                     \
    XX(ADMIN, 3, "admin")                                                      \
    XX(PUBSUB, 4, "pubsub")                                                    \
    XX(NOSCRIPT, 5, "noscript")                                                \
    XX(BLOCKING, 6, "blocking")                                                \
    XX(LOADING, 7, "loading") /* allowed while loading */                      \
    XX(STALE, 8, "stale")                                                      \
    XX(SKIP_MONITOR, 9, "skip_monitor")                                        \
    XX(SKIP_SLOWLOG, 10, "skip_slowlog")                                       \
    XX(FAST, 11, "fast")      /* O(1) or O(log n) */                           \
    XX(NOAUTH, 12, "no_auth") /* allowed before AUTH */                        \
    XX(MAY_REPLICATE, 13, "may_replicate")                                     \
    XX(NO_MANDATORY_KEYS, 18, "no_mandatory_keys") /* keys may be absent */    \
    XX(NO_ASYNC_LOADING, 19, "no_async_loading")                               \
    XX(NO_MULTI, 14, "no_multi")                                               \
    XX(MOVABLE_KEYS, 15, "movablekeys") /* keys found by a function */         \
    XX(ALLOW_BUSY, 16, "allow_busy")

enum {
#define DICE_CMD_FLAG_ENUM(name, bit, text) DICE_CMD_##name = 1u << bit,
    DICE_CMD_FLAG_MAP(DICE_CMD_FLAG_ENUM)
#undef DICE_CMD_FLAG_ENUM
    /* Refused unless the enable-debug-command setting allows the client
     * (Redis's "protected" commands, such as DEBUG). Not in the list above:
     * COMMAND INFO does not show it, as Redis 7.0 does not. */
    DICE_CMD_PROTECTED = 1u << 17
};

/* A command handler. argv[i] (argvlen[i] bytes, not NUL-terminated) are
 * slices into the connection's input buffer, valid only during the call:
 * copy what must outlive it. argv[0] is the command name as the client sent
 * it (any case). arg is the pointer given at registration. The handler
 * answers with dice_reply_*() (exactly one reply per command, unless it
 * holds the client; see dice_client_hold()). */
typedef void (*dice_command_fn)(dice_client_t *c, int argc,
                                const char *const *argv, const size_t *argvlen,
                                void *arg);

/* Register a command. name is copied (matched case-insensitively). arity is
 * Redis's: N means exactly N arguments counting the name, -N at least N.
 * first_key/last_key/key_step give key positions (last_key -1 means the last
 * argument; 0,0,0 for no keys). flags: DICE_CMD_*. summary (copied, may be
 * NULL) is shown by COMMAND DOCS. Registering an existing name replaces it
 * (and drops its sub-commands); a handler may do this to its own command.
 * Returns 0, DICE_EINVAL, DICE_ENOMEM. */
DICE_EXPORT int dice_command_add(dice_server_t *srv, const char *name,
                                 int arity, unsigned flags, int first_key,
                                 int last_key, int key_step, dice_command_fn fn,
                                 void *arg, const char *summary);
/* Register a sub-command such as CLIENT SETNAME: parent must exist (it may
 * have a NULL handler when it only groups sub-commands). arity counts the
 * parent name and the sub-command. A parent with sub-commands dispatches on
 * argv[1]; an unknown one gets Redis's "unknown subcommand" error. */
DICE_EXPORT int dice_command_add_sub(dice_server_t *srv, const char *parent,
                                     const char *name, int arity,
                                     unsigned flags, int first_key,
                                     int last_key, int key_step,
                                     dice_command_fn fn, void *arg,
                                     const char *summary);
/* Remove a command (and its sub-commands). DICE_ENOENT if absent. */
DICE_EXPORT int dice_command_remove(dice_server_t *srv, const char *name);
/* Number of top-level commands registered. */
DICE_EXPORT size_t dice_command_count(dice_server_t *srv);

/* The built-in Redis-compatible families. */
enum {
    DICE_BUILTIN_CONNECTION = 1u << 0, /* PING ECHO QUIT HELLO SELECT CLIENT */
    DICE_BUILTIN_SERVER = 1u << 1,   /* COMMAND INFO CONFIG TIME SHUTDOWN... */
    DICE_BUILTIN_KEYSPACE = 1u << 2, /* strings, keys, expiry, MULTI/WATCH */
    DICE_BUILTIN_PUBSUB = 1u << 3,   /* (P|S)SUBSCRIBE PUBLISH PUBSUB... */
    DICE_BUILTIN_ALL = 0x7fffffff
};
/* Register the built-in families selected by mask. A host may add its own
 * commands before or after, and replace built-ins by re-registering them. */
DICE_EXPORT int dice_command_add_builtins(dice_server_t *srv, unsigned mask);

#ifdef __cplusplus
}
#endif

#endif
