/* The event loop: an fd table, a timer min-heap, before-sleep hooks and a
 * cross-thread post queue, over the poller of loop_backend.h.
 *
 * One iteration (dice_loop_run_once):
 *   1. refresh the cached clocks;
 *   2. poll, with a timeout clipped to the next timer (0 if work is pending);
 *   3. refresh the clocks, dispatch ready fds;
 *   4. fire the timers that were due when timer processing began;
 *   5. run the callbacks posted before this step began;
 *   6. run the before-sleep hooks (the loop may sleep right after).
 * Timers added by timer callbacks and callbacks posted by posted callbacks
 * wait for the next iteration, so one iteration always terminates (a delay-0
 * timer added by an fd callback does fire in step 4 of the same one).
 *
 * Costs: watch/unwatch/set_mask O(1) plus one epoll_ctl (amortised O(1)
 * table growth); timer add/cancel O(log n) (heap + id hash); finding due
 * timers O(1) per timer at the heap top, O(log n) to pop; hooks O(1) add,
 * O(h) remove (hooks are few and rarely removed); post O(1). */
#include "loop/loop_internal.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* One entry per fd number, indexed directly by fd. */
struct fd_slot {
    dice_io_cb cb; /* NULL: not watched */
    void *arg;
    int mask;  /* interest; the fd is in the poller iff mask != 0 */
    int fired; /* events fetched by the current poll, not yet dispatched */
};

struct timer {
    uint64_t id;        /* public handle, never reused */
    uint64_t seq;       /* tie-break: lower fires first at equal deadline */
    uint64_t deadline;  /* monotonic us */
    uint64_t repeat_us; /* 0: one-shot */
    size_t heap_idx;    /* position in loop->heap, kept for O(log n) cancel */
    dice_timer_cb cb;
    void *arg;
};

struct hook {
    uint64_t id;
    dice_loop_cb cb; /* NULL: removed while hooks were running */
    void *arg;
};

struct post {
    struct post *next;
    dice_loop_cb cb;
    void *arg;
};

struct dice_loop {
    dice_backend_t *be;
    struct fd_slot *fds;
    size_t nfds; /* capacity of fds, in fd numbers */

    struct timer **heap; /* binary min-heap on (deadline, seq) */
    size_t heap_len, heap_cap;
    struct timer **tmap; /* id -> timer, open addressing, NULL = empty */
    size_t tmap_cap;     /* power of two, kept at least 2 * heap_len */
    uint64_t next_timer_id, next_seq;

    struct hook *hooks;
    size_t nhooks, hooks_cap;
    uint64_t next_hook_id;
    bool hooks_running, hooks_dirty;

    uint64_t now_us; /* cached CLOCK_MONOTONIC */
    int64_t unix_ms; /* cached CLOCK_REALTIME */
    bool stop, in_run, in_iteration;

    int wakefd; /* eventfd, in the poller but not in fds[] */
    pthread_mutex_t post_mu;
    struct post *post_head, *post_tail; /* guarded by post_mu */
};

/* ---- clocks ---- */

static uint64_t mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void dice_loop_update_time(dice_loop_t *loop) {
    struct timespec ts;
    loop->now_us = mono_us();
    clock_gettime(CLOCK_REALTIME, &ts);
    loop->unix_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t dice_loop_now_ms(dice_loop_t *loop) {
    return loop->now_us / 1000u;
}

uint64_t dice_loop_now_us(dice_loop_t *loop) {
    return loop->now_us;
}

int64_t dice_loop_unix_ms(dice_loop_t *loop) {
    return loop->unix_ms;
}

/* ---- lifecycle ---- */

int dice_loop_new(dice_loop_t **out) {
    if (!out)
        return DICE_EINVAL;
    dice_loop_t *loop = calloc(1, sizeof(*loop));
    if (!loop)
        return DICE_ENOMEM;
    loop->wakefd = -1;
    loop->next_timer_id = loop->next_hook_id = 1;
    int rc = dice__backend_new(&loop->be);
    if (rc < 0) {
        free(loop);
        return rc;
    }
    if (pthread_mutex_init(&loop->post_mu, NULL) != 0) {
        dice__backend_free(loop->be);
        free(loop);
        return DICE_ENOMEM;
    }
    loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->wakefd < 0 ||
        (rc = dice__backend_add(loop->be, loop->wakefd, DICE_READABLE)) < 0) {
        dice_loop_free(loop);
        return DICE_ESYS;
    }
    dice_loop_update_time(loop);
    *out = loop;
    return 0;
}

void dice_loop_free(dice_loop_t *loop) {
    if (!loop)
        return;
    for (size_t i = 0; i < loop->heap_len; i++)
        free(loop->heap[i]);
    for (struct post *p = loop->post_head, *next; p; p = next) {
        next = p->next;
        free(p);
    }
    if (loop->wakefd >= 0)
        close(loop->wakefd);
    pthread_mutex_destroy(&loop->post_mu);
    dice__backend_free(loop->be);
    free(loop->fds);
    free(loop->heap);
    free(loop->tmap);
    free(loop->hooks);
    free(loop);
}

/* ---- fds ---- */

static struct fd_slot *slot_of(dice_loop_t *loop, int fd) {
    if (!loop || fd < 0 || (size_t)fd >= loop->nfds || !loop->fds[fd].cb)
        return NULL;
    return &loop->fds[fd];
}

/* Move fd's poller registration from mask `from` to mask `to`. */
static int backend_update(dice_loop_t *loop, int fd, int from, int to) {
    if (from == to)
        return 0;
    if (!to)
        return dice__backend_delete(loop->be, fd);
    if (!from)
        return dice__backend_add(loop->be, fd, to);
    return dice__backend_modify(loop->be, fd, to);
}

static bool mask_ok(int mask) {
    return (mask & ~(DICE_READABLE | DICE_WRITABLE)) == 0;
}

int dice_loop_watch(dice_loop_t *loop, int fd, int mask, dice_io_cb cb,
                    void *arg) {
    if (!loop || fd < 0 || !cb || !mask_ok(mask) || fd == loop->wakefd)
        return DICE_EINVAL;
    if ((size_t)fd >= loop->nfds) {
        /* Double (at least to fd + 1) so growth is amortised O(1). */
        size_t n = loop->nfds ? loop->nfds : 64;
        while (n <= (size_t)fd)
            n *= 2;
        struct fd_slot *fds = realloc(loop->fds, n * sizeof(*fds));
        if (!fds)
            return DICE_ENOMEM;
        memset(fds + loop->nfds, 0, (n - loop->nfds) * sizeof(*fds));
        loop->fds = fds;
        loop->nfds = n;
    }
    struct fd_slot *s = &loop->fds[fd];
    int old = s->cb ? s->mask : 0;
    int rc = backend_update(loop, fd, old, mask);
    if (rc < 0)
        return rc;
    if (!s->cb)
        s->fired = 0; /* a new registration never sees an earlier poll */
    s->cb = cb;
    s->arg = arg;
    s->mask = mask;
    return 0;
}

int dice_loop_set_mask(dice_loop_t *loop, int fd, int mask) {
    if (!loop || !mask_ok(mask))
        return DICE_EINVAL;
    struct fd_slot *s = slot_of(loop, fd);
    if (!s)
        return DICE_ENOENT;
    int rc = backend_update(loop, fd, s->mask, mask);
    if (rc == 0)
        s->mask = mask;
    return rc;
}

int dice_loop_get_mask(dice_loop_t *loop, int fd) {
    if (!loop)
        return DICE_EINVAL;
    struct fd_slot *s = slot_of(loop, fd);
    return s ? s->mask : DICE_ENOENT;
}

int dice_loop_unwatch(dice_loop_t *loop, int fd) {
    if (!loop)
        return DICE_EINVAL;
    struct fd_slot *s = slot_of(loop, fd);
    if (!s)
        return DICE_ENOENT;
    int rc = s->mask ? dice__backend_delete(loop->be, fd) : 0;
    /* Clearing the slot (fired included) is what guarantees no callback for
     * an event of this fd that the current iteration already fetched. */
    memset(s, 0, sizeof(*s));
    return rc;
}

/* ---- timers: min-heap on (deadline, seq) plus an id -> timer hash ---- */

static bool timer_before(const struct timer *a, const struct timer *b) {
    return a->deadline < b->deadline ||
           (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_set(dice_loop_t *loop, size_t i, struct timer *t) {
    loop->heap[i] = t;
    t->heap_idx = i;
}

static void heap_up(dice_loop_t *loop, size_t i) {
    struct timer *t = loop->heap[i];
    while (i > 0 && timer_before(t, loop->heap[(i - 1) / 2])) {
        heap_set(loop, i, loop->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(loop, i, t);
}

static void heap_down(dice_loop_t *loop, size_t i) {
    struct timer *t = loop->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= loop->heap_len)
            break;
        if (c + 1 < loop->heap_len &&
            timer_before(loop->heap[c + 1], loop->heap[c]))
            c++;
        if (!timer_before(loop->heap[c], t))
            break;
        heap_set(loop, i, loop->heap[c]);
        i = c;
    }
    heap_set(loop, i, t);
}

static void heap_remove(dice_loop_t *loop, struct timer *t) {
    size_t i = t->heap_idx;
    struct timer *last = loop->heap[--loop->heap_len];
    if (last == t)
        return;
    heap_set(loop, i, last);
    heap_up(loop, i);
    heap_down(loop, last->heap_idx);
}

/* Fibonacci hashing: ids are sequential, so multiply to spread them. */
static size_t tmap_home(const dice_loop_t *loop, uint64_t id) {
    return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 32) & (loop->tmap_cap - 1);
}

static size_t tmap_find(const dice_loop_t *loop, uint64_t id) {
    size_t mask = loop->tmap_cap - 1;
    size_t i = loop->tmap_cap ? tmap_home(loop, id) : 0;
    while (loop->tmap_cap && loop->tmap[i]) {
        if (loop->tmap[i]->id == id)
            return i;
        i = (i + 1) & mask;
    }
    return SIZE_MAX;
}

static void tmap_put(dice_loop_t *loop, struct timer *t) {
    size_t i = tmap_home(loop, t->id);
    while (loop->tmap[i])
        i = (i + 1) & (loop->tmap_cap - 1);
    loop->tmap[i] = t;
}

/* Linear-probing delete with backward shift: no tombstones, so lookups stay
 * short however many timers come and go. */
static void tmap_del(dice_loop_t *loop, size_t i) {
    size_t mask = loop->tmap_cap - 1;
    for (size_t j = (i + 1) & mask; loop->tmap[j]; j = (j + 1) & mask) {
        size_t home = tmap_home(loop, loop->tmap[j]->id);
        /* Entry j may fill hole i unless its home lies cyclically in
         * (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            loop->tmap[i] = loop->tmap[j];
            i = j;
        }
    }
    loop->tmap[i] = NULL;
}

/* Make room for one more timer in both the heap and the hash. */
static int timers_reserve(dice_loop_t *loop) {
    if (loop->heap_len == loop->heap_cap) {
        size_t n = loop->heap_cap ? loop->heap_cap * 2 : 16;
        struct timer **h = realloc(loop->heap, n * sizeof(*h));
        if (!h)
            return DICE_ENOMEM;
        loop->heap = h;
        loop->heap_cap = n;
    }
    if ((loop->heap_len + 1) * 2 > loop->tmap_cap) {
        size_t n = loop->tmap_cap ? loop->tmap_cap * 2 : 32;
        struct timer **m = calloc(n, sizeof(*m));
        if (!m)
            return DICE_ENOMEM;
        free(loop->tmap);
        loop->tmap = m;
        loop->tmap_cap = n;
        for (size_t i = 0; i < loop->heap_len; i++)
            tmap_put(loop, loop->heap[i]);
    }
    return 0;
}

static uint64_t ms_to_us(uint64_t ms) {
    return ms > UINT64_MAX / 4000u ? UINT64_MAX / 4 : ms * 1000u;
}

int dice_loop_timer_add(dice_loop_t *loop, uint64_t delay_ms,
                        uint64_t repeat_ms, dice_timer_cb cb, void *arg,
                        uint64_t *id_out) {
    if (!loop || !cb)
        return DICE_EINVAL;
    int rc = timers_reserve(loop);
    if (rc < 0)
        return rc;
    struct timer *t = malloc(sizeof(*t));
    if (!t)
        return DICE_ENOMEM;
    /* Relative to the cached time, like everything else in the batch. */
    *t = (struct timer){.id = loop->next_timer_id++,
                        .seq = loop->next_seq++,
                        .deadline = loop->now_us + ms_to_us(delay_ms),
                        .repeat_us = ms_to_us(repeat_ms),
                        .cb = cb,
                        .arg = arg};
    loop->heap[loop->heap_len++] = t;
    heap_up(loop, loop->heap_len - 1);
    tmap_put(loop, t);
    if (id_out)
        *id_out = t->id;
    return 0;
}

int dice_loop_timer_cancel(dice_loop_t *loop, uint64_t timer_id) {
    if (!loop)
        return DICE_EINVAL;
    size_t i = tmap_find(loop, timer_id);
    if (i == SIZE_MAX)
        return DICE_ENOENT;
    struct timer *t = loop->tmap[i];
    tmap_del(loop, i);
    heap_remove(loop, t);
    free(t);
    return 0;
}

/* Fire the timers due now. seq_limit excludes timers added (or re-armed)
 * by these very callbacks: they wait for the next iteration even at delay
 * 0. Since such timers have deadline >= now and a larger seq than any timer
 * due now, they sort after all of those, so stopping at the first one seen
 * skips nothing. */
static int run_timers(dice_loop_t *loop) {
    uint64_t now = loop->now_us, seq_limit = loop->next_seq;
    int n = 0;
    while (loop->heap_len > 0) {
        struct timer *t = loop->heap[0];
        if (t->deadline > now || t->seq >= seq_limit)
            break;
        uint64_t id = t->id;
        dice_timer_cb cb = t->cb;
        void *arg = t->arg;
        if (t->repeat_us) {
            /* Re-arm before the callback, so the callback sees a consistent
             * heap and may cancel the timer (which frees it). Next time is
             * relative to the scheduled time, so no drift; if that is
             * already past, we fell behind: restart from now rather than
             * firing a burst of catch-up calls. */
            t->deadline += t->repeat_us;
            if (t->deadline <= now)
                t->deadline = now + t->repeat_us;
            t->seq = loop->next_seq++;
            heap_down(loop, 0);
        } else {
            dice_loop_timer_cancel(loop, id);
        }
        cb(loop, id, arg);
        n++;
    }
    return n;
}

/* ---- before-sleep hooks ---- */

int dice_loop_hook_add(dice_loop_t *loop, dice_loop_cb cb, void *arg,
                       uint64_t *id_out) {
    if (!loop || !cb)
        return DICE_EINVAL;
    if (loop->nhooks == loop->hooks_cap) {
        size_t n = loop->hooks_cap ? loop->hooks_cap * 2 : 4;
        struct hook *h = realloc(loop->hooks, n * sizeof(*h));
        if (!h)
            return DICE_ENOMEM;
        loop->hooks = h;
        loop->hooks_cap = n;
    }
    uint64_t id = loop->next_hook_id++;
    loop->hooks[loop->nhooks++] = (struct hook){id, cb, arg};
    if (id_out)
        *id_out = id;
    return 0;
}

static void hooks_compact(dice_loop_t *loop) {
    size_t j = 0;
    for (size_t i = 0; i < loop->nhooks; i++)
        if (loop->hooks[i].cb)
            loop->hooks[j++] = loop->hooks[i];
    loop->nhooks = j;
    loop->hooks_dirty = false;
}

int dice_loop_hook_remove(dice_loop_t *loop, uint64_t hook_id) {
    if (!loop)
        return DICE_EINVAL;
    for (size_t i = 0; i < loop->nhooks; i++) {
        if (loop->hooks[i].id != hook_id || !loop->hooks[i].cb)
            continue;
        /* While hooks run, only mark it: compacting would shift the entries
         * under the running iteration. */
        loop->hooks[i].cb = NULL;
        loop->hooks_dirty = true;
        if (!loop->hooks_running)
            hooks_compact(loop);
        return 0;
    }
    return DICE_ENOENT;
}

static void run_hooks(dice_loop_t *loop) {
    /* Hooks added by a hook first run in the next iteration. */
    size_t n = loop->nhooks;
    loop->hooks_running = true;
    for (size_t i = 0; i < n; i++) {
        struct hook h = loop->hooks[i]; /* copy: hooks may be realloc'd */
        if (h.cb)
            h.cb(loop, h.arg);
    }
    loop->hooks_running = false;
    if (loop->hooks_dirty)
        hooks_compact(loop);
}

/* ---- cross-thread posts ---- */

int dice_loop_post(dice_loop_t *loop, dice_loop_cb cb, void *arg) {
    if (!loop || !cb)
        return DICE_EINVAL;
    struct post *p = malloc(sizeof(*p));
    if (!p)
        return DICE_ENOMEM;
    *p = (struct post){NULL, cb, arg};
    pthread_mutex_lock(&loop->post_mu);
    bool was_empty = !loop->post_head;
    if (loop->post_tail)
        loop->post_tail->next = p;
    else
        loop->post_head = p;
    loop->post_tail = p;
    pthread_mutex_unlock(&loop->post_mu);
    /* Only the post that makes the queue non-empty must wake the loop: the
     * loop reads the eventfd before taking the queue, so later posts are
     * either taken with it or find it empty and write again. */
    if (was_empty) {
        uint64_t one = 1;
        ssize_t w;
        do
            w = write(loop->wakefd, &one, sizeof(one));
        while (w < 0 && errno == EINTR);
        /* EAGAIN means the counter is saturated: the loop is awake. */
    }
    return 0;
}

static bool posts_pending(dice_loop_t *loop) {
    pthread_mutex_lock(&loop->post_mu);
    bool pending = loop->post_head != NULL;
    pthread_mutex_unlock(&loop->post_mu);
    return pending;
}

static void drain_wakefd(dice_loop_t *loop) {
    uint64_t v;
    while (read(loop->wakefd, &v, sizeof(v)) < 0 && errno == EINTR)
        ;
}

/* Run the callbacks queued so far; later posts wait for the next
 * iteration (their post already re-armed the eventfd). */
static int run_posts(dice_loop_t *loop) {
    pthread_mutex_lock(&loop->post_mu);
    struct post *p = loop->post_head;
    loop->post_head = loop->post_tail = NULL;
    pthread_mutex_unlock(&loop->post_mu);
    int n = 0;
    while (p) {
        struct post *next = p->next;
        dice_loop_cb cb = p->cb;
        void *arg = p->arg;
        free(p);
        cb(loop, arg);
        n++;
        p = next;
    }
    return n;
}

/* ---- running ---- */

/* ms until the first timer is due, rounded up so we never wake early;
 * -1 if there is none. Uses a fresh clock: the cached one may be stale by
 * the time spent in callbacks and hooks. */
static int timer_timeout(dice_loop_t *loop) {
    if (loop->heap_len == 0)
        return -1;
    uint64_t now = mono_us(), due = loop->heap[0]->deadline;
    if (due <= now)
        return 0;
    uint64_t ms = (due - now + 999u) / 1000u;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

int dice_loop_backend_fd(dice_loop_t *loop) {
    return loop ? dice__backend_fd(loop->be) : DICE_EINVAL;
}

int dice_loop_backend_timeout(dice_loop_t *loop) {
    if (!loop)
        return DICE_EINVAL;
    return posts_pending(loop) ? 0 : timer_timeout(loop);
}

/* Dispatch the poller's results. Two passes: first record each result in
 * its slot, then call back from the slot. Unwatch clears a slot, and a new
 * watch starts with nothing recorded, so an event fetched for an fd that a
 * callback unwatched (and maybe closed, re-opened and watched again) in
 * this iteration is dropped instead of reaching the wrong callback. */
static int dispatch_fds(dice_loop_t *loop, dice_backend_event_t *ev, int n) {
    for (int i = 0; i < n; i++) {
        struct fd_slot *s = slot_of(loop, ev[i].fd);
        if (s)
            s->fired = ev[i].events;
    }
    int calls = 0;
    for (int i = 0; i < n; i++) {
        int fd = ev[i].fd;
        if (fd == loop->wakefd) {
            drain_wakefd(loop); /* posts themselves run later */
            continue;
        }
        struct fd_slot *s = slot_of(loop, fd); /* re-read: fds may move */
        if (!s)
            continue;
        int fired = s->fired, events = fired & s->mask;
        s->fired = 0;
        /* Errors come with the watched bits so the callback's own read or
         * write runs into the condition; a quiet (mask 0) fd gets nothing. */
        if ((fired & DICE_ERROR) && s->mask)
            events |= DICE_ERROR | s->mask;
        if (!events)
            continue;
        s->cb(loop, fd, events, s->arg);
        calls++;
    }
    return calls;
}

int dice__loop_poll_nested(dice_loop_t *loop) {
    dice_backend_event_t ev[64];
    int n = dice__backend_poll_into(loop->be, ev, 64);
    if (n <= 0)
        return n;
    dice_loop_update_time(loop);
    return dispatch_fds(loop, ev, n);
}

int dice_loop_run_once(dice_loop_t *loop, int timeout_ms) {
    if (!loop)
        return DICE_EINVAL;
    if (loop->in_iteration)
        return DICE_ESTATE;
    loop->in_iteration = true;
    dice_loop_update_time(loop);

    int t = timer_timeout(loop);
    if (timeout_ms >= 0 && (t < 0 || timeout_ms < t))
        t = timeout_ms;
    if ((loop->in_run && loop->stop) || posts_pending(loop))
        t = 0;
    dice_backend_event_t *ev;
    int n = dice__backend_poll(loop->be, t, &ev);
    if (n < 0) {
        loop->in_iteration = false;
        return n;
    }
    dice_loop_update_time(loop);
    int calls = dispatch_fds(loop, ev, n);
    calls += run_timers(loop);
    calls += run_posts(loop);
    /* Before-sleep hooks close the iteration rather than open the next
     * one: a host driving the loop with run_once(0) may not call again
     * until the backend fd is readable, so work the hooks finish (such as
     * writing replies) must not wait for another event. */
    run_hooks(loop);
    loop->in_iteration = false;
    return calls;
}

int dice_loop_run(dice_loop_t *loop) {
    if (!loop)
        return DICE_EINVAL;
    if (loop->in_iteration)
        return DICE_ESTATE;
    int rc = 0;
    loop->in_run = true;
    while (!loop->stop) {
        rc = dice_loop_run_once(loop, -1);
        if (rc < 0)
            break;
        rc = 0;
    }
    loop->stop = loop->in_run = false;
    return rc;
}

void dice_loop_stop(dice_loop_t *loop) {
    if (loop)
        loop->stop = true;
}
