/* Blocking commands and lazy freeing: the server-layer machinery under
 * BLPOP, BRPOP, BRPOPLPUSH, BLMOVE, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP,
 * XREAD/XREADGROUP BLOCK (lib/server/blocking.c) and under UNLINK,
 * FLUSHALL/FLUSHDB ASYNC and the lazyfree-lazy-* settings
 * (lib/server/lazyfree.c). Command families reach it through
 * lib/commands/commands_internal.h.
 *
 * How a blocking command uses it (BLPOP shape):
 *
 *   int64_t deadline;
 *   if (dice__block_timeout_parse(c, argv[argc-1], argvlen[argc-1],
 *                                 DICE__TIMEOUT_SECONDS, &deadline) < 0)
 *       return;                      // replied with Redis's error
 *   for each key: if it holds a non-empty list, pop, reply, propagate
 *       LPOP, return;                // served at once, like LPOP
 *   (WRONGTYPE on the first key of the wrong type, as Redis does)
 *   dice__block_spec spec = {retry_blpop, NULL, free_pd, pd};
 *   dice__client_block(c, nkeys, keys, klens, deadline, &spec);
 *
 * dice__client_block replies as a timeout at once (a null array, or
 * spec.on_timeout) when the client may not block (see
 * dice__client_may_block): an in-process session, a MULTI/EXEC or a
 * script run the blocking form as its non-blocking one, as Redis does.
 *
 * While blocked, the client runs nothing (its later pipelined commands
 * wait in its input buffer, as for a held client, and run once it is
 * unblocked), the `timeout` setting does not close it, CLIENT LIST shows
 * flag b, INFO counts it in blocked_clients, and CLIENT UNBLOCK can end
 * the wait. It leaves the blocked state in exactly one of these ways:
 *   - served: a write touched one of its keys (any write: SET, LPUSH,
 *     RENAME onto it, MOVE/COPY into its db, SWAPDB, an in-place change
 *     signalled with dice_db_signal_modify), and its retry callback, run
 *     after the command that wrote (at the end of the outermost dispatch,
 *     so after a whole MULTI/EXEC or script; or before the loop sleeps for
 *     writes made outside commands), replied and returned 1. Clients
 *     blocked on one key are retried in the order they blocked, all in the
 *     same loop iteration as the write. A retry that returns 0 leaves the
 *     client blocked (the key is gone again, or of the wrong type, or
 *     empty);
 *   - timed out: its deadline passed (a timer of the loop), or CLIENT
 *     UNBLOCK id [TIMEOUT]: spec.on_timeout replies (NULL: a null array,
 *     RESP2 *-1, RESP3 _);
 *   - CLIENT UNBLOCK id ERROR: "-UNBLOCKED client unblocked via CLIENT
 *     UNBLOCK";
 *   - disconnected or killed: no reply.
 * In every case spec.free_pd(spec.pd) runs once, after the last callback.
 *
 * A retry callback runs as the client's own command would: the
 * keyspace's clock is the loop's, c->db is the db it blocked in, and its
 * effect is propagated only through dice_client_propagate (LPOP for
 * BLPOP, LMOVE for BLMOVE, ZPOPMIN for BZPOPMIN...): the blocking form
 * never propagates. It may write other keys (BLMOVE pushes to its
 * destination), which may serve other blocked clients in turn. It must
 * not block the client again or free it. */
#ifndef DICE_SERVER_BLOCKING_H
#define DICE_SERVER_BLOCKING_H

#include "server/server_internal.h"

#include <stdbool.h>
#include <stdint.h>

/* Retry after key (in the db the client blocked in) was written: serve c
 * (reply, dice_client_propagate the effect) and return 1, or return 0 to
 * stay blocked. */
typedef int (*dice__block_retry_fn)(dice_client_t *c, const char *key,
                                    size_t klen, void *pd);
/* Reply to a timed-out wait (NULL in the spec: a null array). */
typedef void (*dice__block_timeout_fn)(dice_client_t *c, void *pd);

typedef struct dice__block_spec {
    dice__block_retry_fn retry;        /* required */
    dice__block_timeout_fn on_timeout; /* NULL: null array reply */
    void (*free_pd)(void *pd);         /* NULL: pd is not the server's */
    void *pd;                          /* the command's private data */
} dice__block_spec;

/* Units of a timeout argument: BLPOP's fractional seconds, XREAD BLOCK's
 * integer milliseconds. */
enum { DICE__TIMEOUT_SECONDS = 0, DICE__TIMEOUT_MS = 1 };

/* Parse a timeout argument as Redis 7.0's getTimeoutFromObjectOrReply:
 * seconds as a long double (strtold syntax, so ".5", "+1", "0x10" and
 * "1e3" are accepted) rounded up to whole ms, or ms as a strict integer;
 * "ERR timeout is not a float or out of range" (seconds) or "ERR timeout
 * is not an integer or out of range" (ms) when it does not parse, "ERR
 * timeout is negative" below 0 (also for inf, and values too big for a
 * long long of ms, as Redis's cast makes them). *deadline gets 0 for 0 (=
 * wait forever), else the absolute unix ms time (one that overflows when
 * added to now waits forever, as in Redis 7.0). Returns 0, or -1 after
 * replying with the error. */
int dice__block_timeout_parse(dice_client_t *c, const char *s, size_t len,
                              int unit, int64_t *deadline);

/* Whether c may block now. False for in-process sessions (whose caller
 * would have to run the loop to see the reply; they get the non-blocking
 * behaviour, as Redis's scripts and MULTI do) and while
 * CLIENT_DENY_BLOCKING is set (MULTI/EXEC and scripts set it around the
 * commands they run). Blocking commands need not test it:
 * dice__client_block does. */
bool dice__client_may_block(const dice_client_t *c);

/* Block c on nkeys keys of its current db (duplicates count once) until
 * deadline (unix ms, 0 = forever; from dice__block_timeout_parse), to be
 * served by spec->retry (see the top of this file). spec is copied; pd
 * then belongs to the server (free_pd), whatever the return. Returns 0
 * when c is blocked; 1 when it may not block (dice__client_may_block),
 * in which case it has been answered as if timed out and pd freed;
 * DICE_ENOMEM (an "ERR out of memory" reply was sent, pd freed). Call it
 * from the client's command handler only, as its last action. */
int dice__client_block(dice_client_t *c, int nkeys, const char *const *keys,
                       const size_t *klens, int64_t deadline,
                       const dice__block_spec *spec);

/* How a blocked client is let go without being served. */
enum {
    DICE__UNBLOCK_TIMEOUT = 0, /* reply as a timeout */
    DICE__UNBLOCK_ERROR = 1,   /* reply -UNBLOCKED ... (CLIENT UNBLOCK) */
    DICE__UNBLOCK_DROP = 2     /* no reply: the client is going away */
};
/* End c's wait without serving it (CLIENT UNBLOCK, the timer, a
 * disconnect). Returns 1 if c was blocked, else 0 (nothing happens). */
int dice__client_unblock(dice_client_t *c, int how);
/* True while c waits in a blocking command. */
bool dice__client_is_blocked(const dice_client_t *c);
/* Clients blocked now (INFO's blocked_clients counts these and held
 * clients). */
size_t dice__blocked_count(const dice_server_t *srv);

/* Serve clients blocked on keys written since the last call, then run the
 * commands that clients unblocked meanwhile had queued (those only when
 * resume is true: from the loop's before-sleep step, never from inside
 * another client's command). The dispatcher calls it after each outermost
 * command when keys are ready (srv->blk_ready). */
void dice__blocking_serve(dice_server_t *srv, bool resume);
/* Free the blocking state (every client already unblocked). */
void dice__blocking_free(dice_server_t *srv);

/* ---- lazy free (lib/server/lazyfree.c) ------------------------------- */

/* Redis's LAZYFREE_THRESHOLD: objects of a free effort up to this are
 * freed at once, bigger ones on the lazy-free thread. */
#define DICE__LAZYFREE_THRESHOLD 64

/* Free obj with free_fn(ctx, obj): at once (on the caller's thread) when
 * cost <= DICE__LAZYFREE_THRESHOLD or the thread cannot be had, else on
 * the server's lazy-free thread (started on first use, joined by
 * dice_server_free, which first lets it free everything queued). free_fn
 * must touch only obj's own memory (see dice_type_methods.free in
 * include/dice/db.h). */
void dice__lazyfree(dice_server_t *srv, void *obj,
                    void (*free_fn)(void *ctx, void *obj), void *ctx,
                    size_t cost);
/* Objects queued and not yet freed (INFO lazyfree_pending_objects), and
 * objects freed by the thread so far (lazyfreed_objects). */
size_t dice__lazyfree_pending(dice_server_t *srv);
uint64_t dice__lazyfree_freed(dice_server_t *srv);
/* Wait until the thread has freed everything queued so far (tests). */
void dice__lazyfree_drain(dice_server_t *srv);
/* Put the lazyfree-lazy-* settings into the keyspace's lazy mask and
 * install the keyspace's free hook (settings' apply, keyspace attach). */
void dice__lazyfree_apply(dice_server_t *srv);
/* Make drops for reason why (DICE__FREE_*) lazy or not for one command:
 * returns the mask to restore with dice__lazyfree_end. DEL passes
 * cfg.lazy_user_del, UNLINK true, FLUSHALL ASYNC true, SYNC false and
 * neither cfg.lazy_user_flush (for DICE__FREE_FLUSH). */
unsigned dice__lazyfree_begin(dice_server_t *srv, int why, bool lazy);
void dice__lazyfree_end(dice_server_t *srv, unsigned saved);
/* Drain and join the thread, free its state (dice_server_free). */
void dice__lazyfree_stop(dice_server_t *srv);

#endif
