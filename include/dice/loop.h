/* libdice event loop: fd readiness, timers, before-sleep hooks, and a
 * thread hand-off, on epoll.
 *
 * Threading: a loop and everything registered on it belong to the thread
 * that runs it. The only function that may be called from any other thread
 * is dice_loop_post(). Every callback runs on the loop's thread.
 *
 * Re-entrancy: from inside any callback it is safe to watch, unwatch,
 * re-watch or close any fd, and to add or cancel any timer or hook. Once an
 * fd is unwatched, no callback is made for it again, even if its event was
 * already fetched in the current iteration.
 *
 * Embedding: a host loop can poll dice_loop_backend_fd() for readability,
 * ask dice_loop_backend_timeout() how long it may sleep, and call
 * dice_loop_run_once(loop, 0) when either fires. */
#ifndef DICE_LOOP_H
#define DICE_LOOP_H

#include "dice/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dice_loop dice_loop_t;

/* Event mask bits. DICE_ERROR is only ever delivered, never requested: an
 * error or hang-up on the fd is reported to the callback as
 * DICE_ERROR together with whichever of READABLE/WRITABLE it watches, so a
 * read or write then observes the condition. */
enum { DICE_READABLE = 1, DICE_WRITABLE = 2, DICE_ERROR = 4 };

typedef void (*dice_io_cb)(dice_loop_t *loop, int fd, int events, void *arg);
/* A timer's callback. For a repeating timer, it may cancel itself. */
typedef void (*dice_timer_cb)(dice_loop_t *loop, uint64_t timer_id, void *arg);
/* Before-sleep hooks and posted callbacks. */
typedef void (*dice_loop_cb)(dice_loop_t *loop, void *arg);

/* Create a loop. On success *out owns it; free it with dice_loop_free(). */
DICE_EXPORT int dice_loop_new(dice_loop_t **out);
/* Free a loop that is not running. Callbacks posted but not yet run are
 * dropped; fds are not closed (the loop never owned them). NULL is a no-op. */
DICE_EXPORT void dice_loop_free(dice_loop_t *loop);

/* Watch fd for the events in mask (DICE_READABLE | DICE_WRITABLE); a mask of
 * 0 keeps the fd registered but quiet (not even errors are reported). Replaces
 * callback, argument and mask if the fd is already watched. Any fd number is
 * accepted: the table grows. The fd stays the caller's; the loop never closes
 * it. Errors: DICE_EINVAL (fd < 0, bad mask, NULL cb, or the loop's own wake-up
 * fd), DICE_ENOMEM, DICE_ESYS (epoll refused the fd, e.g. a regular file; the
 * fd is then left as it was). */
DICE_EXPORT int dice_loop_watch(dice_loop_t *loop, int fd, int mask,
                                dice_io_cb cb, void *arg);
/* Change only the interest mask of a watched fd. DICE_ENOENT if not watched,
 * DICE_EINVAL for a bad mask, DICE_ESYS if epoll refused (mask unchanged). */
DICE_EXPORT int dice_loop_set_mask(dice_loop_t *loop, int fd, int mask);
/* Current interest mask of fd, or DICE_ENOENT if not watched. */
DICE_EXPORT int dice_loop_get_mask(dice_loop_t *loop, int fd);
/* Stop watching fd. Call this before close(fd). DICE_ENOENT if not watched. */
DICE_EXPORT int dice_loop_unwatch(dice_loop_t *loop, int fd);

/* Add a timer firing after delay_ms, then every repeat_ms if repeat_ms > 0
 * (a one-shot timer is gone when its callback starts). *id_out, if not NULL,
 * receives an id (never 0) never reused by this loop. Timers due at the same
 * time fire in the order they were added. The delay counts from the cached
 * time (see dice_loop_now_ms()). A timer added by a timer callback runs at the
 * earliest in the next iteration, even with delay 0. A repeating timer is
 * re-armed from its scheduled time, so it does not drift; if it fell more than
 * a period behind, it fires once and restarts from now (no catch-up burst).
 * O(log n). Errors: DICE_EINVAL (NULL cb), DICE_ENOMEM. */
DICE_EXPORT int dice_loop_timer_add(dice_loop_t *loop, uint64_t delay_ms,
                                    uint64_t repeat_ms, dice_timer_cb cb,
                                    void *arg, uint64_t *id_out);
/* Cancel a timer. O(log n). DICE_ENOENT if it already fired (one-shot) or
 * never existed. */
DICE_EXPORT int dice_loop_timer_cancel(dice_loop_t *loop, uint64_t timer_id);

/* Register a hook called every iteration just before the loop may sleep
 * (after all ready events and due timers were handled). Hooks run in the
 * order they were added; one added by a hook first runs in the next
 * iteration. A hook may remove any hook, itself included; a removed hook that
 * has not yet run in this iteration does not run. If hooks create work (post,
 * due timer, ready fd) the loop does not sleep. Errors: DICE_EINVAL (NULL cb),
 * DICE_ENOMEM; remove gives DICE_ENOENT for an unknown id. */
DICE_EXPORT int dice_loop_hook_add(dice_loop_t *loop, dice_loop_cb cb,
                                   void *arg, uint64_t *id_out);
DICE_EXPORT int dice_loop_hook_remove(dice_loop_t *loop, uint64_t hook_id);

/* Run until dice_loop_stop(). Returns 0, or a negative code if polling
 * failed for a reason other than EINTR. Not callable from a callback
 * (DICE_ESTATE). */
DICE_EXPORT int dice_loop_run(dice_loop_t *loop);
/* One iteration: wait at most timeout_ms for events (-1: until an event or
 * the next timer; 0: do not block), dispatch ready fds, due timers and
 * posted callbacks, then run the before-sleep hooks, so the iteration's
 * work (replies written by the server's hook, say) is finished when it
 * returns. Never sleeps past the next timer.
 * Returns the number of fd, timer and posted callbacks made (>= 0; hooks are
 * not counted, so 0 means nothing happened) or a negative code: DICE_ESYS if
 * polling failed, DICE_ESTATE if called from inside a callback. */
DICE_EXPORT int dice_loop_run_once(dice_loop_t *loop, int timeout_ms);
/* Make dice_loop_run() return after the current iteration (which then does
 * not sleep). Called while no dice_loop_run() is active, it makes the next
 * dice_loop_run() return at once; dice_loop_run_once() ignores it. */
DICE_EXPORT void dice_loop_stop(dice_loop_t *loop);

/* Monotonic time in ms / us, cached at the start of each iteration (so all
 * work in one batch sees one time). dice_loop_update_time() refreshes it. */
DICE_EXPORT uint64_t dice_loop_now_ms(dice_loop_t *loop);
DICE_EXPORT uint64_t dice_loop_now_us(dice_loop_t *loop);
/* Wall-clock (Unix epoch) time in ms, cached like the monotonic clock; for
 * absolute deadlines such as key expiry. */
DICE_EXPORT int64_t dice_loop_unix_ms(dice_loop_t *loop);
DICE_EXPORT void dice_loop_update_time(dice_loop_t *loop);

/* The epoll fd, readable when an fd is ready or a callback was posted (not
 * when a timer is due: see below). Owned by the loop. */
DICE_EXPORT int dice_loop_backend_fd(dice_loop_t *loop);
/* How long a host may sleep before calling dice_loop_run_once(loop, 0):
 * ms until the next timer, 0 if work is pending now, -1 if none. */
DICE_EXPORT int dice_loop_backend_timeout(dice_loop_t *loop);

/* Thread-safe: queue cb(loop, arg) to run on the loop's thread during its
 * next iteration and wake the loop if it sleeps (eventfd). Callbacks run in
 * the order posted. The only loop function callable from other threads. */
DICE_EXPORT int dice_loop_post(dice_loop_t *loop, dice_loop_cb cb, void *arg);

#ifdef __cplusplus
}
#endif

#endif
