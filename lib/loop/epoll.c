/* epoll poller for dice_loop (see loop_backend.h). Level-triggered, so an fd
 * whose event the loop dropped (e.g. unwatched and re-watched in the same
 * iteration) is simply reported again on the next poll. */
#include "loop/loop_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

/* Result arrays start small and grow with the number of watched fds, up to
 * this many results per epoll_wait; more ready fds are simply returned by
 * the next call. */
#define BACKEND_MIN_EVENTS 64
#define BACKEND_MAX_EVENTS 4096

struct dice_backend {
    int epfd;
    int cap;                   /* entries in evs and out */
    size_t nwatched;           /* fds added and not deleted */
    struct epoll_event *evs;   /* raw epoll_wait results */
    dice_backend_event_t *out; /* the same, translated for the loop */
};

static uint32_t to_epoll(int mask) {
    return ((mask & DICE_READABLE) ? EPOLLIN : 0) |
           ((mask & DICE_WRITABLE) ? EPOLLOUT : 0);
}

/* Resize both arrays to cap entries; on failure keep the current ones (a
 * smaller batch is only slower, never wrong). */
static int backend_resize(dice_backend_t *be, int cap) {
    struct epoll_event *evs = realloc(be->evs, (size_t)cap * sizeof(*evs));
    if (!evs)
        return DICE_ENOMEM;
    be->evs = evs;
    dice_backend_event_t *out = realloc(be->out, (size_t)cap * sizeof(*out));
    if (!out)
        return DICE_ENOMEM; /* evs merely larger than needed: harmless */
    be->out = out;
    be->cap = cap;
    return 0;
}

int dice__backend_new(dice_backend_t **out) {
    dice_backend_t *be = calloc(1, sizeof(*be));
    if (!be)
        return DICE_ENOMEM;
    be->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (be->epfd < 0) {
        free(be);
        return DICE_ESYS;
    }
    if (backend_resize(be, BACKEND_MIN_EVENTS) < 0) {
        dice__backend_free(be);
        return DICE_ENOMEM;
    }
    *out = be;
    return 0;
}

void dice__backend_free(dice_backend_t *be) {
    if (!be)
        return;
    close(be->epfd);
    free(be->evs);
    free(be->out);
    free(be);
}

static int backend_ctl(dice_backend_t *be, int op, int fd, int mask) {
    struct epoll_event ev = {.events = to_epoll(mask), .data.fd = fd};
    return epoll_ctl(be->epfd, op, fd, &ev);
}

int dice__backend_add(dice_backend_t *be, int fd, int mask) {
    /* EEXIST: the kernel still has an older registration of this fd (e.g.
     * a duplicate of a closed descriptor keeps the file alive): take it
     * over. */
    if (backend_ctl(be, EPOLL_CTL_ADD, fd, mask) < 0 &&
        (errno != EEXIST || backend_ctl(be, EPOLL_CTL_MOD, fd, mask) < 0))
        return DICE_ESYS;
    be->nwatched++;
    return 0;
}

int dice__backend_modify(dice_backend_t *be, int fd, int mask) {
    /* ENOENT: the fd was closed and its number reused without telling the
     * loop; the kernel dropped the old registration, so add it anew. */
    if (backend_ctl(be, EPOLL_CTL_MOD, fd, mask) < 0 &&
        (errno != ENOENT || backend_ctl(be, EPOLL_CTL_ADD, fd, mask) < 0))
        return DICE_ESYS;
    return 0;
}

int dice__backend_delete(dice_backend_t *be, int fd) {
    if (be->nwatched > 0)
        be->nwatched--;
    if (epoll_ctl(be->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 && errno != EBADF &&
        errno != ENOENT)
        return DICE_ESYS;
    return 0;
}

int dice__backend_poll(dice_backend_t *be, int timeout_ms,
                       dice_backend_event_t **events) {
    /* Grow here, never in add: the loop may add fds while it walks the
     * previous results, so those must not move. Doubling keeps the total
     * copying O(n) over the loop's life. */
    if (be->nwatched > (size_t)be->cap && be->cap < BACKEND_MAX_EVENTS) {
        int cap = be->cap;
        while ((size_t)cap < be->nwatched && cap < BACKEND_MAX_EVENTS)
            cap *= 2;
        (void)backend_resize(be, cap);
    }
    *events = be->out;
    int n = epoll_wait(be->epfd, be->evs, be->cap, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : DICE_ESYS;
    for (int i = 0; i < n; i++) {
        uint32_t e = be->evs[i].events;
        be->out[i].fd = be->evs[i].data.fd;
        be->out[i].events = ((e & EPOLLIN) ? DICE_READABLE : 0) |
                            ((e & EPOLLOUT) ? DICE_WRITABLE : 0) |
                            ((e & (EPOLLERR | EPOLLHUP)) ? DICE_ERROR : 0);
    }
    return n;
}

int dice__backend_poll_into(dice_backend_t *be, dice_backend_event_t *out,
                            int cap) {
    struct epoll_event evs[64];
    if (cap > 64)
        cap = 64;
    int n = epoll_wait(be->epfd, evs, cap, 0);
    if (n < 0)
        return errno == EINTR ? 0 : DICE_ESYS;
    for (int i = 0; i < n; i++) {
        uint32_t e = evs[i].events;
        out[i].fd = evs[i].data.fd;
        out[i].events = ((e & EPOLLIN) ? DICE_READABLE : 0) |
                        ((e & EPOLLOUT) ? DICE_WRITABLE : 0) |
                        ((e & (EPOLLERR | EPOLLHUP)) ? DICE_ERROR : 0);
    }
    return n;
}

int dice__backend_fd(const dice_backend_t *be) {
    return be->epfd;
}
