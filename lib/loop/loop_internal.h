/* The poller interface behind dice_loop: the only code that knows about
 * epoll. A kqueue or io_uring poller would implement these same functions
 * in its own lib/loop_<name>.c, and the build would pick exactly one.
 *
 * The poller only tracks interest; the loop owns the fd table, callbacks and
 * all re-entrancy rules. Masks use DICE_READABLE / DICE_WRITABLE on input,
 * and the poller reports DICE_ERROR for error or hang-up conditions. Not
 * thread-safe: used only from the loop's thread. */
#ifndef DICE_LOOP_BACKEND_H
#define DICE_LOOP_BACKEND_H

#include "dice/loop.h"

typedef struct dice_backend dice_backend_t;

/* One ready fd as reported by dice__backend_poll(). */
typedef struct dice_backend_event {
    int fd;
    int events; /* DICE_READABLE | DICE_WRITABLE | DICE_ERROR */
} dice_backend_event_t;

/* Create a poller; *out owns it. Errors: DICE_ENOMEM, DICE_ESYS. */
int dice__backend_new(dice_backend_t **out);
/* Close the poller's own fd and free it. NULL is a no-op. */
void dice__backend_free(dice_backend_t *be);

/* Start watching fd for mask (non-zero). Errors: DICE_ESYS (e.g. an fd type
 * the poller cannot watch, such as a regular file). */
int dice__backend_add(dice_backend_t *be, int fd, int mask);
/* Change the mask (non-zero) of an fd added before. DICE_ESYS on failure. */
int dice__backend_modify(dice_backend_t *be, int fd, int mask);
/* Stop watching fd. An fd that was already closed is not an error, since
 * closing it removed it from the poller anyway. */
int dice__backend_delete(dice_backend_t *be, int fd);

/* Wait at most timeout_ms (-1: forever, 0: not at all) for ready fds. On
 * return *events points at an array owned by the poller, holding the result
 * count returned; it stays valid and unchanged until the next poll, even if
 * fds are added meanwhile (the array only grows inside poll). Each fd appears
 * at most once. An interrupted wait (EINTR) returns 0. Errors: DICE_ESYS. */
int dice__backend_poll(dice_backend_t *be, int timeout_ms,
                       dice_backend_event_t **events);

/* As dice__backend_poll without waiting, into the caller's array of cap
 * events (the poller's own array is left as it is: a poll nested inside
 * the dispatch of another must not change what that one walks). */
int dice__backend_poll_into(dice_backend_t *be, dice_backend_event_t *out,
                            int cap);

/* Serve the fd events ready now, from inside a callback of the loop's own
 * iteration (a long command that lets other clients be answered: Redis's
 * processEventsWhileBlocked). Timers, posted callbacks and hooks do not
 * run. Returns how many callbacks ran. */
int dice__loop_poll_nested(dice_loop_t *loop);

/* The poller's own fd (readable when some watched fd is ready). */
int dice__backend_fd(const dice_backend_t *be);

#endif
