/* libdice server core: listeners, connections, pipelined request
 * processing, buffered replies, backpressure, limits and configuration.
 *
 * A server lives on one dice_loop_t and, like the loop, is single-threaded:
 * every function here must be called on the loop's thread. To act from
 * another thread, dice_loop_post() a callback and call these from it.
 *
 * Request flow: readable socket -> read into a shared buffer -> the request
 * parser yields argv slices (no copies) -> command lookup -> handler ->
 * dice_reply_*() appends to the client's output buffer -> a before-sleep hook
 * writes each client's output with one write() per iteration. */
#ifndef DICE_SERVER_H
#define DICE_SERVER_H

#include "dice/common.h"
#include "dice/db.h"
#include "dice/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dice_server dice_server_t;
typedef struct dice_client dice_client_t;
/* dice_keyspace_t comes from dice/db.h: repeating its typedef here would be
 * an error in C99 (typedef redefinition is a C11 feature). */

/* Create a server on loop (which the server does not own and which must
 * outlive it). The server has no commands until some are added. */
DICE_EXPORT int dice_server_new(dice_server_t **out, dice_loop_t *loop);
/* Close listeners and every client, free the server. NULL is a no-op.
 * Clients held with dice_client_hold() are freed too: a holder must not
 * release them afterwards (stop such work first). Not callable from inside
 * one of this server's callbacks (a handler, its hooks or timers). */
DICE_EXPORT void dice_server_free(dice_server_t *srv);
DICE_EXPORT dice_loop_t *dice_server_loop(dice_server_t *srv);

/* Configuration by name, as redis.conf and CONFIG SET spell it ("port",
 * "bind", "maxclients", "proto-max-bulk-len", ...; docs/configuration.md
 * lists them). value is copied. Returns 0, DICE_ENOENT for an unknown name,
 * DICE_EINVAL for a bad value (dice_server_config_error() then says why in
 * Redis's words), DICE_ESTATE for a setting that cannot change while the
 * server is started. "bind" takes several space-separated addresses. */
DICE_EXPORT int dice_server_config_set(dice_server_t *srv, const char *name,
                                       const char *value);
/* Current value of a setting as text, written NUL-terminated into buf
 * (truncated to size). Returns the full length or DICE_ENOENT. */
DICE_EXPORT int dice_server_config_get(dice_server_t *srv, const char *name,
                                       char *buf, size_t size);
/* Read a redis.conf-style file: one "name value..." per line, '#' comments,
 * quoting as in inline commands. Returns 0 or the first error; the error
 * text (with file and line) is then in dice_server_config_error(). */
DICE_EXPORT int dice_server_config_load(dice_server_t *srv, const char *path);
/* Text of the last configuration error; owned by the server. */
DICE_EXPORT const char *dice_server_config_error(dice_server_t *srv);

/* Bind and listen on every configured address and port. Fails (DICE_ESYS,
 * with errno) if any address cannot be bound, closing the others. First
 * fits maxclients to the open-file limit as redis-server does: a larger
 * value is lowered (with a warning in the log), an unset one becomes what
 * the limit allows, and a limit of 32 descriptors or less fails with
 * DICE_ELIMIT (dice_server_config_error() then says so). The dataset
 * loads here, serving clients meanwhile; a shutdown asked during the load
 * (SHUTDOWN, dice_server_request_shutdown) stops it, saves nothing, and
 * the call returns DICE_ECLOSED: the host then frees the server and exits
 * as after a normal shutdown. */
DICE_EXPORT int dice_server_start(dice_server_t *srv);
/* Port actually bound (useful with "port 0"), or DICE_ESTATE if not started. */
DICE_EXPORT int dice_server_port(dice_server_t *srv);
/* Ask the host to stop: calls the shutdown callback (SHUTDOWN, signals),
 * whose default stops the loop. */
DICE_EXPORT void dice_server_shutdown(dice_server_t *srv);
/* SHUTDOWN's options, for dice_server_request_shutdown (or'ed). */
enum {
    DICE_SHUTDOWN_NOSAVE = 1u << 0, /* no save, even with save points set */
    DICE_SHUTDOWN_SAVE = 1u << 1,   /* save, even with no save points */
    DICE_SHUTDOWN_NOW = 1u << 2,    /* do not wait (shutdown-timeout) */
    DICE_SHUTDOWN_FORCE = 1u << 3   /* stop even if the save fails */
};
/* Stop as redis-server's SHUTDOWN and SIGTERM do: log "User requested
 * shutdown...", save if flags or the persistence settings ask for it
 * (nothing to save yet: no persistence layer is attached), then call
 * dice_server_shutdown(). Returns 0 once the host has been asked to stop,
 * DICE_ESTATE if a shutdown is already in progress, or the save's
 * negative DICE_E* when it failed without DICE_SHUTDOWN_FORCE (the server
 * keeps running, the reasons are in the log). */
DICE_EXPORT int dice_server_request_shutdown(dice_server_t *srv,
                                             unsigned flags);
typedef void (*dice_server_cb)(dice_server_t *srv, void *arg);
DICE_EXPORT void dice_server_on_shutdown(dice_server_t *srv, dice_server_cb cb,
                                         void *arg);

/* Logging. Levels as redis.conf's loglevel. The default sink writes lines
 * in redis-server's format to stderr; a host may redirect them. */
enum {
    DICE_LOG_DEBUG = 0,
    DICE_LOG_VERBOSE = 1,
    DICE_LOG_NOTICE = 2,
    DICE_LOG_WARNING = 3
};
typedef void (*dice_log_fn)(void *arg, int level, const char *msg);
DICE_EXPORT void dice_server_set_logger(dice_server_t *srv, dice_log_fn fn,
                                        void *arg);
typedef unsigned long long (*dice_memory_fn)(void *arg);
/* How many bytes the process's allocator holds (maxmemory, INFO
 * used_memory). fn(arg) is called before every command that may grow
 * memory while maxmemory is set, and after each evicted key, so it must be
 * cheap: a counter the host keeps (dice-server counts every malloc and
 * free). NULL (the default) reads glibc's mallinfo2(), which walks the
 * free lists: the server then reads it at most once per loop millisecond
 * and estimates what eviction frees in between. arg is the host's. */
DICE_EXPORT void dice_server_set_memory_fn(dice_server_t *srv,
                                           dice_memory_fn fn, void *arg);
/* Log msg (a complete line without newline) at level through the sink. */
DICE_EXPORT void dice_server_log(dice_server_t *srv, int level,
                                 const char *msg);

/* The keyspace the built-in keyspace commands serve, created by
 * dice_command_add_builtins(srv, DICE_BUILTIN_KEYSPACE); NULL before. Owned
 * by the server. A host's own commands may read and write it with the
 * dice/db.h API (use dice_client_db() for the client's database): before
 * every command the server sets the keyspace's clock (dice_keyspace_set_now)
 * from the loop's cached wall clock. Code that touches the keyspace outside
 * a command (a timer, a posted callback) should set it the same way. */
DICE_EXPORT dice_keyspace_t *dice_server_keyspace(dice_server_t *srv);

/* ---- Propagation -------------------------------------------------------- */

/* After each command that changed the dataset, its effect reaches every
 * sink, in registration order, as one or more deterministic command
 * vectors: relative times made absolute (SET EX -> SET ... PXAT, EXPIRE ->
 * PEXPIREAT), random or computed results made explicit (INCRBYFLOAT ->
 * SET ... KEEPTTL), keys that expired as DEL. Replaying the vectors, each
 * in its db, into an empty keyspace rebuilds the same dataset. argv[i]
 * (argvlen[i] bytes, NUL-terminated for convenience) are valid only during
 * the call; the sink must not run commands or modify the keyspace. This is
 * what an append-only file or a replica is fed from. A host's sink counts
 * as a replica for a script's redis.set_repl (REPL_AOF commands skip it,
 * REPL_REPLICA ones reach it and not the append-only file). */
typedef void (*dice_propagate_fn)(void *arg, int db, int argc,
                                  const char *const *argv,
                                  const size_t *argvlen);
/* Add a sink; *id (may be NULL) identifies it for removal. Returns 0,
 * DICE_EINVAL or DICE_ENOMEM. */
DICE_EXPORT int dice_server_add_propagation_sink(dice_server_t *srv,
                                                 dice_propagate_fn fn,
                                                 void *arg, uint64_t *id);
/* Remove a sink. Returns 0 or DICE_ENOENT. */
DICE_EXPORT int dice_server_remove_propagation_sink(dice_server_t *srv,
                                                    uint64_t id);

/* ---- Clients ---------------------------------------------------------- */

DICE_EXPORT uint64_t dice_client_id(const dice_client_t *c);
DICE_EXPORT dice_server_t *dice_client_server(dice_client_t *c);
/* Protocol the client speaks, 2 or 3 (switched by HELLO). */
DICE_EXPORT int dice_client_proto(const dice_client_t *c);
/* From inside a command handler: what the running command propagates is
 * this vector (copied) instead of its own argv; call it again to
 * propagate several, in order. Use it when the command's own form is not
 * deterministic (relative times, random choices) or does not describe its
 * effect. Returns 0, DICE_EINVAL, DICE_ESTATE (no command of c's running),
 * DICE_ENOMEM. */
DICE_EXPORT int dice_client_propagate(dice_client_t *c, int argc,
                                      const char *const *argv,
                                      const size_t *argvlen);
/* Selected database index (SELECT). */
DICE_EXPORT int dice_client_db(const dice_client_t *c);
/* A pointer for the host's own per-client state; libdice never reads it. */
DICE_EXPORT void dice_client_set_userdata(dice_client_t *c, void *data);
DICE_EXPORT void *dice_client_userdata(const dice_client_t *c);
/* Close the connection once every reply queued so far is written. */
DICE_EXPORT void dice_client_close_after_reply(dice_client_t *c);
/* True once the peer is gone (or the server closed it); replies to such a
 * client are discarded. Only meaningful on a held client (see below). */
DICE_EXPORT int dice_client_is_closed(const dice_client_t *c);

/* Deferred replies. A handler that cannot answer now calls
 * dice_client_hold(c) and returns: the client waits (its later pipelined
 * commands stay queued, so replies keep their order) and the loop goes on
 * serving others. Later, on the loop thread (from a timer, or a callback
 * posted by a worker thread with dice_loop_post), write the reply with
 * dice_reply_*() and call dice_client_release(c), which resumes the client.
 * The client object stays valid between hold and release even if the peer
 * disconnects (dice_client_is_closed() tells); release then frees it. Every
 * hold needs exactly one release. */
DICE_EXPORT void dice_client_hold(dice_client_t *c);
DICE_EXPORT void dice_client_release(dice_client_t *c);

/* ---- Replies -----------------------------------------------------------
 * Each appends one RESP value to the client's output buffer, in the
 * client's protocol (RESP3 types are downgraded for RESP2 clients as Redis
 * does). Nothing is written to the socket until the loop is about to sleep.
 * Strings are copied; the caller keeps ownership. An aggregate header
 * (array/map/set/push) must be followed by exactly its elements. Return 0,
 * or DICE_ENOMEM (the client is then closed). */
DICE_EXPORT int dice_reply_simple(dice_client_t *c, const char *s, size_t len);
DICE_EXPORT int dice_reply_ok(dice_client_t *c);
/* msg is the full error with its code, e.g. "ERR syntax error" or
 * "WRONGTYPE Operation against...". CR and LF become spaces. */
DICE_EXPORT int dice_reply_error(dice_client_t *c, const char *msg, size_t len);
DICE_EXPORT int dice_reply_int(dice_client_t *c, long long v);
DICE_EXPORT int dice_reply_bulk(dice_client_t *c, const char *s, size_t len);
/* NUL-terminated convenience form of dice_reply_bulk. */
DICE_EXPORT int dice_reply_cstr(dice_client_t *c, const char *s);
DICE_EXPORT int dice_reply_null(dice_client_t *c);
DICE_EXPORT int dice_reply_null_array(dice_client_t *c);
DICE_EXPORT int dice_reply_array(dice_client_t *c, size_t n);
DICE_EXPORT int dice_reply_map(dice_client_t *c, size_t npairs);
DICE_EXPORT int dice_reply_set(dice_client_t *c, size_t n);
DICE_EXPORT int dice_reply_push(dice_client_t *c, size_t n);
DICE_EXPORT int dice_reply_double(dice_client_t *c, double d);
DICE_EXPORT int dice_reply_bool(dice_client_t *c, int v);
DICE_EXPORT int dice_reply_verbatim(dice_client_t *c, const char *fmt3,
                                    const char *s, size_t len);
DICE_EXPORT int dice_reply_bignum(dice_client_t *c, const char *digits,
                                  size_t len);
/* Bytes already in RESP form, appended as they are (e.g. a proxy's relay). */
DICE_EXPORT int dice_reply_raw(dice_client_t *c, const char *resp, size_t len);

#ifdef __cplusplus
}
#endif

#endif
