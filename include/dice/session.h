/* libdice in-process sessions: run any command from the host program, with
 * no socket, through the same dispatch as a network client.
 *
 * A session is a client without a connection. It has its own client state
 * (protocol, SELECTed database, name, authentication) and goes through the
 * same command resolution, arity and NOAUTH errors, keyspace and stats as a
 * connection; its replies are never written anywhere: each call hands them
 * back, as RESP bytes in the session's protocol or built into objects by a
 * dice_reader constructor (dice/resp.h), the way FFI hosts get native
 * values.
 *
 * A server serves sessions with or without dice_server_start(): with no
 * listener and no port, a program can use libdice as an embedded
 * Redis-compatible store; on a started server, sessions and network
 * clients share the keyspace.
 *
 * Sessions are not connections: CLIENT LIST, CLIENT KILL, INFO's
 * connected_clients, maxclients and the idle timeout do not see them.
 * Commands act on the session's own state: SELECT changes its database,
 * HELLO 3 switches the bytes of later replies to RESP3, CLIENT SETNAME
 * names it, RESET resets it. QUIT (and anything else that asks to close
 * the connection, such as CLIENT KILL of itself) gets its reply, and then
 * the session is closed: later calls return DICE_ECLOSED.
 *
 * Like everything on a server, sessions are used on the loop's thread
 * only. */
#ifndef DICE_SESSION_H
#define DICE_SESSION_H

#include "dice/common.h"
#include "dice/resp.h"
#include "dice/server.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dice_session dice_session_t;

/* Create a session on srv speaking proto (2 or 3; HELLO can switch it
 * later) on database 0. A session starts authenticated, as the host that
 * makes it already holds the server (AUTH and RESET behave as on a
 * connection afterwards). *out is owned by the caller: free it with
 * dice_session_free() before dice_server_free(), which frees the sessions
 * still open (their handles are then invalid). Returns 0, DICE_EINVAL (NULL
 * argument, proto not 2 or 3) or DICE_ENOMEM. */
DICE_EXPORT int dice_session_new(dice_server_t *srv, int proto,
                                 dice_session_t **out);
/* Free a session. NULL is a no-op. If a deferred reply is still pending (a
 * handler held the client with dice_client_hold()), the client object stays
 * alive, closed, until its holder calls dice_client_release(): the late
 * reply is discarded, as for a connection that went away. Not callable
 * while a call on this session is in progress. */
DICE_EXPORT void dice_session_free(dice_session_t *s);

/* The session's client (owned by the session): its id, protocol, database
 * and user data, with the dice_client_*() functions of dice/server.h. */
DICE_EXPORT dice_client_t *dice_session_client(dice_session_t *s);

/* Run one command: argc >= 1 arguments, argv[i] of argvlen[i] bytes
 * (binary-safe, not NUL-terminated, borrowed for the call), argv[0] the
 * command name in any case. The reply is stored in *reply / *replylen as
 * RESP bytes in the session's protocol: exactly one value for every
 * command (an error reply such as "-ERR unknown command ..." included:
 * that is a successful call). The bytes are owned by the session and
 * valid until the next call on it or its free.
 *
 * The keyspace clock is read afresh before the command, so expiry works
 * even when the loop never runs. (Active expiry and the server's periodic
 * work do need the loop to run from time to time.)
 *
 * Deferred replies: if the handler holds the client (dice_client_hold()),
 * the call runs the server's loop (dice_loop_run_once()) until the client
 * is released, so a call returns with the reply whether the command
 * answers at once, from a timer, or from a worker thread through
 * dice_loop_post(). Network clients and timers are served meanwhile. When
 * the loop cannot run, because the call is made from inside one of its
 * callbacks (a command handler, a timer), the call returns DICE_EAGAIN
 * instead and the reply is collected later with dice_session_reply().
 *
 * Returns 0, DICE_EINVAL (NULL argument or argc < 1), DICE_ECLOSED (the
 * session was closed by QUIT or similar), DICE_ESTATE (a deferred reply of
 * an earlier call was not collected yet), DICE_EAGAIN (see above), or a
 * negative code from dice_loop_run_once() (the reply stays pending and may
 * be collected with dice_session_reply()). */
DICE_EXPORT int dice_session_call(dice_session_t *s, int argc,
                                  const char *const *argv,
                                  const size_t *argvlen, const char **reply,
                                  size_t *replylen);
/* The reply of the last call, once it is complete: 0 with *reply /
 * *replylen set as dice_session_call() does, or DICE_EAGAIN while a
 * deferred reply is still pending (its holder has not released the client
 * yet; this function does not run the loop). Calling it after a call that
 * returned 0 gives that call's reply again. */
DICE_EXPORT int dice_session_reply(dice_session_t *s, const char **reply,
                                   size_t *replylen);

/* Build the last call's reply (as dice_session_reply() gives it) into an
 * object with a reader constructor, as dice_reader_new() takes them (see
 * dice/resp.h): create == NULL builds a dice_value_t tree (free it with
 * dice_value_free()), otherwise create/free_obj/ctx are used. *value_out
 * (owned by the caller) is the top-level object. The reply bytes are fed to
 * a dice_reader the session keeps, so values come out exactly as a client
 * of the network protocol would read them. Should a handler write more
 * than one value, the first is built and the others are freed. Returns 0,
 * DICE_EAGAIN (reply pending), DICE_ENOENT (the command wrote no reply),
 * DICE_ENOMEM (also when the constructor returned NULL) or DICE_EPROTO (a
 * handler wrote malformed or incomplete bytes, e.g. with dice_reply_raw()
 * or half an aggregate). */
DICE_EXPORT int dice_session_value(dice_session_t *s,
                                   dice_reader_create_fn create,
                                   dice_reader_free_fn free_obj, void *ctx,
                                   void **value_out);
/* dice_session_call() then dice_session_value() in one call (one foreign
 * call per command for FFI hosts). Returns as they do; on DICE_EAGAIN,
 * collect the value later with dice_session_value(). */
DICE_EXPORT int dice_session_call_value(dice_session_t *s, int argc,
                                        const char *const *argv,
                                        const size_t *argvlen,
                                        dice_reader_create_fn create,
                                        dice_reader_free_fn free_obj, void *ctx,
                                        void **value_out);

#ifdef __cplusplus
}
#endif

#endif
