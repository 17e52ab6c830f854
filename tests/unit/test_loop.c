/* Unit tests for the event loop (dice/loop.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dice/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ---- */

static int setup(void **state) {
    dice_loop_t *loop = NULL;
    if (dice_loop_new(&loop) != 0)
        return -1;
    *state = loop;
    return 0;
}

static int teardown(void **state) {
    dice_loop_free(*state);
    return 0;
}

static uint64_t real_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void put_byte(int fd) {
    assert_int_equal(write(fd, "x", 1), 1);
}

/* Records every io callback. */
#define MAX_LOG 64
struct io_log {
    int n;
    int fd[MAX_LOG];
    int events[MAX_LOG];
};

static void log_io(dice_loop_t *loop, int fd, int events, void *arg) {
    (void)loop;
    struct io_log *log = arg;
    assert_true(log->n < MAX_LOG);
    log->fd[log->n] = fd;
    log->events[log->n] = events;
    log->n++;
}

/* A safety net so no test can hang: stops the loop and records that it had
 * to. */
static void watchdog_cb(dice_loop_t *loop, uint64_t id, void *arg) {
    (void)id;
    *(int *)arg = 1;
    dice_loop_stop(loop);
}

/* ---- fd readiness ---- */

static void test_pipe_readable(void **state) {
    dice_loop_t *loop = *state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct io_log log = {0};
    assert_int_equal(dice_loop_watch(loop, p[0], DICE_READABLE, log_io, &log),
                     0);
    assert_int_equal(dice_loop_get_mask(loop, p[0]), DICE_READABLE);
    assert_int_equal(dice_loop_run_once(loop, 0), 0);
    assert_int_equal(log.n, 0);

    put_byte(p[1]);
    assert_int_equal(dice_loop_run_once(loop, 0), 1);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.fd[0], p[0]);
    assert_int_equal(log.events[0], DICE_READABLE);

    /* Level-triggered: still readable until read. */
    assert_int_equal(dice_loop_run_once(loop, 0), 1);
    char c;
    assert_int_equal(read(p[0], &c, 1), 1);
    assert_int_equal(dice_loop_run_once(loop, 0), 0);
    assert_int_equal(log.n, 2);

    assert_int_equal(dice_loop_unwatch(loop, p[0]), 0);
    close(p[0]);
    close(p[1]);
}

static void test_pipe_writable(void **state) {
    dice_loop_t *loop = *state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct io_log log = {0};
    assert_int_equal(dice_loop_watch(loop, p[1], DICE_WRITABLE, log_io, &log),
                     0);
    assert_int_equal(dice_loop_run_once(loop, 0), 1);
    assert_int_equal(log.fd[0], p[1]);
    assert_int_equal(log.events[0], DICE_WRITABLE);
    assert_int_equal(dice_loop_unwatch(loop, p[1]), 0);
    close(p[0]);
    close(p[1]);
}

static void test_socketpair_both_and_mask_change(void **state) {
    dice_loop_t *loop = *state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct io_log log = {0};
    int both = DICE_READABLE | DICE_WRITABLE;
    assert_int_equal(dice_loop_watch(loop, sv[0], both, log_io, &log), 0);

    /* Writable only: nothing to read yet. */
    assert_int_equal(dice_loop_run_once(loop, 0), 1);
    assert_int_equal(log.events[0], DICE_WRITABLE);

    /* Both, in one callback. */
    put_byte(sv[1]);
    assert_int_equal(dice_loop_run_once(loop, 0), 1);
    assert_int_equal(log.events[1], both);

    /* Mask 0: registered but quiet. */
    assert_int_equal(dice_loop_set_mask(loop, sv[0], 0), 0);
    assert_int_equal(dice_loop_get_mask(loop, sv[0]), 0);
    assert_int_equal(dice_loop_run_once(loop, 0), 0);
    assert_int_equal(log.n, 2);

    /* Readable only, although writable too. */
    assert_int_equal(dice_loop_set_mask(loop, sv[0], DICE_READABLE), 0);
    assert_int_equal(dice_loop_run_once(loop, 0), 1);
    assert_int_equal(log.events[2], DICE_READABLE);

    /* Writable only, although readable too. */
    assert_int_equal(dice_loop_set_mask(loop, sv[0], DICE_WRITABLE), 0);
    assert_int_equal(dice_loop_run_once(loop, 0), 1);
    assert_int_equal(log.events[3], DICE_WRITABLE);

    /* Re-watching replaces callback argument and mask. */
    struct io_log log2 = {0};
    assert_int_equal(dice_loop_watch(loop, sv[0], DICE_READABLE, log_io, &log2),
                     0);
    assert_int_equal(dice_loop_run_once(loop, 0), 1);
    assert_int_equal(log.n, 4);
    assert_int_equal(log2.n, 1);
    assert_int_equal(log2.events[0], DICE_READABLE);

    assert_int_equal(dice_loop_unwatch(loop, sv[0]), 0);
    assert_int_equal(dice_loop_get_mask(loop, sv[0]), DICE_ENOENT);
    close(sv[0]);
    close(sv[1]);
}

static void test_hangup_socketpair(void **state) {
    dice_loop_t *loop = *state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct io_log log = {0};
    assert_int_equal(dice_loop_watch(loop, sv[0], DICE_READABLE, log_io, &log),
                     0);
    close(sv[1]);
    assert_int_equal(dice_loop_run_once(loop, 0), 1);
    assert_int_equal(log.events[0], DICE_ERROR | DICE_READABLE);
    char c;
    assert_int_equal(read(sv[0], &c, 1), 0); /* the read sees EOF */
    assert_int_equal(dice_loop_unwatch(loop, sv[0]), 0);
    close(sv[0]);
}

static void test_hangup_pipe(void **state) {
    dice_loop_t *loop = *state;
    int a[2], b[2];
    assert_int_equal(pipe(a), 0);
    assert_int_equal(pipe(b), 0);
    struct io_log ra = {0}, wb = {0};
    /* Reader whose writer goes away: hang-up. */
    assert_int_equal(dice_loop_watch(loop, a[0], DICE_READABLE, log_io, &ra),
                     0);
    /* Writer whose reader goes away: error. */
    assert_int_equal(dice_loop_watch(loop, b[1], DICE_WRITABLE, log_io, &wb),
                     0);
    assert_int_equal(dice_loop_run_once(loop, 0), 1); /* b[1] writable */
    assert_int_equal(wb.events[0], DICE_WRITABLE);
    close(a[1]);
    close(b[0]);
    assert_int_equal(dice_loop_run_once(loop, 0), 2);
    assert_int_equal(ra.n, 1);
    assert_int_equal(ra.events[0], DICE_ERROR | DICE_READABLE);
    assert_int_equal(wb.n, 2);
    assert_int_equal(wb.events[1], DICE_ERROR | DICE_WRITABLE);
    /* A quiet fd gets no error callback. */
    assert_int_equal(dice_loop_set_mask(loop, a[0], 0), 0);
    assert_int_equal(dice_loop_unwatch(loop, b[1]), 0);
    assert_int_equal(dice_loop_run_once(loop, 0), 0);
    assert_int_equal(dice_loop_unwatch(loop, a[0]), 0);
    close(a[0]);
    close(b[1]);
}

/* Two fds are ready in the same iteration; whichever callback runs first
 * unwatches and closes the other one. Optionally the freed fd number is
 * reused at once by a new, empty pipe watched with another callback, which
 * must not get the stale event. */
struct unwatch_ctx {
    int fds[2];     /* read ends, both readable */
    int writers[2]; /* their write ends */
    int calls;
    int closed; /* fd number closed by the first callback */
    bool reuse;
    int new_pipe[2];
    struct io_log reused;
};

static void unwatch_other_cb(dice_loop_t *loop, int fd, int events, void *arg) {
    struct unwatch_ctx *c = arg;
    assert_int_equal(events, DICE_READABLE);
    c->calls++;
    assert_int_equal(c->calls, 1); /* the other fd must never call back */
    int other = fd == c->fds[0] ? c->fds[1] : c->fds[0];
    int p[2] = {-1, -1};
    if (c->reuse)
        assert_int_equal(pipe(p), 0); /* made while `other` is still open */
    assert_int_equal(dice_loop_unwatch(loop, other), 0);
    assert_int_equal(close(other), 0);
    c->closed = other;
    if (c->reuse) {
        /* Put the new pipe's read end on the very number just closed. */
        assert_int_equal(dup2(p[0], other), other);
        close(p[0]);
        c->new_pipe[0] = other;
        c->new_pipe[1] = p[1];
        assert_int_equal(
            dice_loop_watch(loop, other, DICE_READABLE, log_io, &c->reused), 0);
    }
}

static void run_unwatch_during_dispatch(dice_loop_t *loop, bool reuse) {
    struct unwatch_ctx c = {.reuse = reuse};
    for (int i = 0; i < 2; i++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        c.fds[i] = p[0];
        c.writers[i] = p[1];
        put_byte(p[1]);
        assert_int_equal(
            dice_loop_watch(loop, p[0], DICE_READABLE, unwatch_other_cb, &c),
            0);
    }
    assert_int_equal(dice_loop_run_once(loop, 0), 1);
    assert_int_equal(c.calls, 1);
    int survivor = c.closed == c.fds[0] ? c.fds[1] : c.fds[0];
    if (reuse) {
        /* The new registration got nothing in that iteration... */
        assert_int_equal(c.reused.n, 0);
        assert_int_equal(dice_loop_get_mask(loop, c.closed), DICE_READABLE);
        /* ...and works normally afterwards. */
        assert_int_equal(dice_loop_unwatch(loop, survivor), 0);
        assert_int_equal(dice_loop_run_once(loop, 0), 0);
        put_byte(c.new_pipe[1]);
        assert_int_equal(dice_loop_run_once(loop, 0), 1);
        assert_int_equal(c.reused.n, 1);
        assert_int_equal(c.reused.fd[0], c.closed);
        assert_int_equal(dice_loop_unwatch(loop, c.closed), 0);
        close(c.new_pipe[0]);
        close(c.new_pipe[1]);
    } else {
        assert_int_equal(dice_loop_get_mask(loop, c.closed), DICE_ENOENT);
        assert_int_equal(dice_loop_unwatch(loop, survivor), 0);
    }
    close(survivor);
    close(c.writers[0]);
    close(c.writers[1]);
}

static void test_unwatch_close_during_dispatch(void **state) {
    run_unwatch_during_dispatch(*state, false);
}

static void test_unwatch_close_reuse_during_dispatch(void **state) {
    run_unwatch_during_dispatch(*state, true);
}

static void test_high_fd_numbers(void **state) {
    dice_loop_t *loop = *state;
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    int want = 5000;
    if (rl.rlim_cur <= (rlim_t)want + 1) {
        rl.rlim_cur = rl.rlim_max < 8192 ? rl.rlim_max : 8192;
        if (rl.rlim_cur <= (rlim_t)want + 1 || setrlimit(RLIMIT_NOFILE, &rl))
            skip();
    }
    int p[2];
    assert_int_equal(pipe(p), 0);
    int hi[2] = {1100, want};
    assert_int_equal(dup2(p[0], hi[0]), hi[0]);
    assert_int_equal(dup2(p[0], hi[1]), hi[1]);
    struct io_log log = {0};
    for (int i = 0; i < 2; i++)
        assert_int_equal(
            dice_loop_watch(loop, hi[i], DICE_READABLE, log_io, &log), 0);
    put_byte(p[1]);
    assert_int_equal(dice_loop_run_once(loop, 0), 2);
    assert_int_equal(log.n, 2);
    assert_true((log.fd[0] == hi[0] && log.fd[1] == hi[1]) ||
                (log.fd[0] == hi[1] && log.fd[1] == hi[0]));
    for (int i = 0; i < 2; i++) {
        assert_int_equal(dice_loop_unwatch(loop, hi[i]), 0);
        close(hi[i]);
    }
    close(p[0]);
    close(p[1]);
}

static void test_unpollable_fd(void **state) {
    dice_loop_t *loop = *state;
    FILE *f = tmpfile();
    assert_non_null(f);
    int fd = fileno(f);
    struct io_log log = {0};
    /* epoll refuses regular files; the fd must not end up registered. */
    assert_int_equal(dice_loop_watch(loop, fd, DICE_READABLE, log_io, &log),
                     DICE_ESYS);
    assert_int_equal(dice_loop_get_mask(loop, fd), DICE_ENOENT);
    /* Quietly registered is fine, but it cannot be made active. */
    assert_int_equal(dice_loop_watch(loop, fd, 0, log_io, &log), 0);
    assert_int_equal(dice_loop_set_mask(loop, fd, DICE_READABLE), DICE_ESYS);
    assert_int_equal(dice_loop_get_mask(loop, fd), 0);
    assert_int_equal(dice_loop_unwatch(loop, fd), 0);
    fclose(f);
}

/* ---- timers ---- */

#define NTIMERS 1000
struct order_ctx {
    int n;
    int fired[NTIMERS];
    uint64_t ids[NTIMERS];
};

static void order_cb(dice_loop_t *loop, uint64_t id, void *arg) {
    (void)loop;
    struct order_ctx *c = arg;
    assert_true(c->n < NTIMERS);
    c->fired[c->n++] = (int)(id - c->ids[0]); /* ids are sequential here */
}

static void test_many_timers_in_order(void **state) {
    dice_loop_t *loop = *state;
    static struct order_ctx c;
    static uint64_t delay[NTIMERS];
    memset(&c, 0, sizeof(c));
    srand(12345);
    for (int i = 0; i < NTIMERS; i++) {
        delay[i] = (uint64_t)(rand() % 40); /* many ties on purpose */
        assert_int_equal(
            dice_loop_timer_add(loop, delay[i], 0, order_cb, &c, &c.ids[i]), 0);
        if (i > 0)
            assert_true(c.ids[i] > c.ids[i - 1]);
    }
    assert_int_equal(c.ids[NTIMERS - 1] - c.ids[0], NTIMERS - 1);
    /* Cancel every 7th, out of heap order, to exercise removal. */
    int cancelled = 0;
    for (int i = 3; i < NTIMERS; i += 7, cancelled++)
        assert_int_equal(dice_loop_timer_cancel(loop, c.ids[i]), 0);
    int watchdog = 0;
    assert_int_equal(
        dice_loop_timer_add(loop, 10000, 0, watchdog_cb, &watchdog, NULL), 0);
    while (c.n < NTIMERS - cancelled && !watchdog)
        assert_true(dice_loop_run_once(loop, -1) >= 0);
    assert_int_equal(watchdog, 0);
    assert_int_equal(c.n, NTIMERS - cancelled);
    /* Deadline order, insertion order among equal deadlines. */
    for (int k = 0; k < c.n; k++) {
        assert_true(c.fired[k] % 7 != 3);
        if (k > 0) {
            int a = c.fired[k - 1], b = c.fired[k];
            assert_true(delay[a] < delay[b] || (delay[a] == delay[b] && a < b));
        }
    }
    for (int i = 0; i < NTIMERS; i++)
        assert_int_equal(dice_loop_timer_cancel(loop, c.ids[i]), DICE_ENOENT);
}

struct repeat_ctx {
    int n, stop_at;
    uint64_t id;
    int cancel_rc;
};

static void repeat_cb(dice_loop_t *loop, uint64_t id, void *arg) {
    struct repeat_ctx *c = arg;
    assert_int_equal(id, c->id);
    if (++c->n == c->stop_at)
        c->cancel_rc = dice_loop_timer_cancel(loop, id); /* itself */
}

static void test_repeating_timer_cancels_itself(void **state) {
    dice_loop_t *loop = *state;
    struct repeat_ctx c = {.stop_at = 5, .cancel_rc = 1};
    assert_int_equal(dice_loop_timer_add(loop, 1, 2, repeat_cb, &c, &c.id), 0);
    int watchdog = 0;
    uint64_t wid;
    assert_int_equal(
        dice_loop_timer_add(loop, 10000, 0, watchdog_cb, &watchdog, &wid), 0);
    while (c.n < 5 && !watchdog)
        assert_true(dice_loop_run_once(loop, -1) >= 0);
    assert_int_equal(c.n, 5);
    assert_int_equal(c.cancel_rc, 0);
    assert_int_equal(dice_loop_timer_cancel(loop, c.id), DICE_ENOENT);
    /* Only the watchdog is left: next timeout is about 10 s away. */
    assert_true(dice_loop_backend_timeout(loop) > 5000);
    assert_int_equal(dice_loop_timer_cancel(loop, wid), 0);
    assert_int_equal(dice_loop_backend_timeout(loop), -1);
    assert_int_equal(dice_loop_run_once(loop, 0), 0);
    assert_int_equal(c.n, 5);
}

struct slow_ctx {
    int n;
};

static void slow_cb(dice_loop_t *loop, uint64_t id, void *arg) {
    (void)loop;
    (void)id;
    struct slow_ctx *c = arg;
    if (c->n++ == 0)
        sleep_ms(300); /* miss about six periods */
}

/* A repeating timer that fell far behind fires once, then resumes its
 * period: no burst of catch-up calls. */
static void test_repeating_timer_no_burst(void **state) {
    dice_loop_t *loop = *state;
    struct slow_ctx c = {0};
    uint64_t id;
    assert_int_equal(dice_loop_timer_add(loop, 0, 50, slow_cb, &c, &id), 0);
    assert_int_equal(dice_loop_run_once(loop, 0), 1); /* sleeps 300 ms */
    assert_int_equal(c.n, 1);
    for (int i = 0; i < 5; i++)
        assert_true(dice_loop_run_once(loop, 0) >= 0);
    assert_int_equal(c.n, 2);
    assert_true(dice_loop_backend_timeout(loop) > 0);
    assert_int_equal(dice_loop_timer_cancel(loop, id), 0);
}

/* A fires first and cancels B (due in the same batch) and tries to cancel
 * itself (a one-shot that is firing is already gone). */
struct cancel_ctx {
    uint64_t a, b, c;
    int a_calls, b_calls, c_calls;
    int self_rc, other_rc;
};

static void cancel_a_cb(dice_loop_t *loop, uint64_t id, void *arg) {
    struct cancel_ctx *c = arg;
    c->a_calls++;
    c->self_rc = dice_loop_timer_cancel(loop, id);
    c->other_rc = dice_loop_timer_cancel(loop, c->b);
}

static void count_b_cb(dice_loop_t *loop, uint64_t id, void *arg) {
    (void)loop;
    (void)id;
    ((struct cancel_ctx *)arg)->b_calls++;
}

static void count_c_cb(dice_loop_t *loop, uint64_t id, void *arg) {
    (void)loop;
    (void)id;
    ((struct cancel_ctx *)arg)->c_calls++;
}

static void test_cancel_inside_callback(void **state) {
    dice_loop_t *loop = *state;
    struct cancel_ctx c = {0};
    assert_int_equal(dice_loop_timer_add(loop, 0, 0, cancel_a_cb, &c, &c.a), 0);
    assert_int_equal(dice_loop_timer_add(loop, 0, 0, count_b_cb, &c, &c.b), 0);
    assert_int_equal(dice_loop_timer_add(loop, 0, 0, count_c_cb, &c, &c.c), 0);
    assert_int_equal(dice_loop_run_once(loop, 0), 2);
    assert_int_equal(c.a_calls, 1);
    assert_int_equal(c.b_calls, 0);
    assert_int_equal(c.c_calls, 1);
    assert_int_equal(c.self_rc, DICE_ENOENT);
    assert_int_equal(c.other_rc, 0);
    assert_int_equal(dice_loop_run_once(loop, 0), 0);
    assert_int_equal(dice_loop_backend_timeout(loop), -1);
}

/* Each callback adds another delay-0 timer: one per iteration, never an
 * endless loop inside one. */
static void chain_cb(dice_loop_t *loop, uint64_t id, void *arg) {
    (void)id;
    int *n = arg;
    /* Bounded, so a loop that ran new timers at once fails, not hangs. */
    if (++*n < 100)
        assert_int_equal(dice_loop_timer_add(loop, 0, 0, chain_cb, arg, NULL),
                         0);
}

static void test_timer_added_in_callback_waits(void **state) {
    dice_loop_t *loop = *state;
    int n = 0;
    assert_int_equal(dice_loop_timer_add(loop, 0, 0, chain_cb, &n, NULL), 0);
    for (int i = 1; i <= 5; i++) {
        assert_int_equal(dice_loop_run_once(loop, -1), 1);
        assert_int_equal(n, i);
        assert_int_equal(dice_loop_backend_timeout(loop), 0);
    }
}

static void stop_after_cb(dice_loop_t *loop, uint64_t id, void *arg) {
    (void)id;
    int *n = arg;
    if (++*n == 3)
        dice_loop_stop(loop);
}

static void test_stop_from_callback(void **state) {
    dice_loop_t *loop = *state;
    int n = 0;
    uint64_t id;
    assert_int_equal(dice_loop_timer_add(loop, 1, 1, stop_after_cb, &n, &id),
                     0);
    assert_int_equal(dice_loop_run(loop), 0);
    assert_int_equal(n, 3);
    assert_int_equal(dice_loop_timer_cancel(loop, id), 0);
}

/* ---- run_once timing, clocks, embedding ---- */

static void test_run_once_timeout(void **state) {
    dice_loop_t *loop = *state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct io_log log = {0};
    assert_int_equal(dice_loop_watch(loop, p[0], DICE_READABLE, log_io, &log),
                     0);
    uint64_t t0 = real_ms();
    assert_int_equal(dice_loop_run_once(loop, 50), 0);
    uint64_t el = real_ms() - t0;
    assert_true(el >= 49);
    assert_true(el < 2000);
    assert_int_equal(log.n, 0);

    /* A nearer timer cuts the wait short: never sleep past it. */
    int fired = 0;
    dice_loop_update_time(loop);
    assert_int_equal(
        dice_loop_timer_add(loop, 20, 0, watchdog_cb, &fired, NULL), 0);
    t0 = real_ms();
    while (!fired)
        assert_true(dice_loop_run_once(loop, 5000) >= 0);
    el = real_ms() - t0;
    assert_true(el >= 19);
    assert_true(el < 2000);

    assert_int_equal(dice_loop_unwatch(loop, p[0]), 0);
    close(p[0]);
    close(p[1]);
}

static void test_run_once_zero_does_not_block(void **state) {
    dice_loop_t *loop = *state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct io_log log = {0};
    assert_int_equal(dice_loop_watch(loop, p[0], DICE_READABLE, log_io, &log),
                     0);
    int fired = 0;
    assert_int_equal(
        dice_loop_timer_add(loop, 10000, 0, watchdog_cb, &fired, NULL), 0);
    uint64_t t0 = real_ms();
    assert_int_equal(dice_loop_run_once(loop, 0), 0);
    assert_true(real_ms() - t0 < 2000);
    assert_int_equal(fired, 0);
    assert_int_equal(dice_loop_unwatch(loop, p[0]), 0);
    close(p[0]);
    close(p[1]);
}

static void test_clocks(void **state) {
    dice_loop_t *loop = *state;
    uint64_t ms = dice_loop_now_ms(loop), us = dice_loop_now_us(loop);
    assert_int_equal(ms, us / 1000);
    sleep_ms(5);
    assert_int_equal(dice_loop_now_us(loop), us); /* cached */
    dice_loop_update_time(loop);
    assert_true(dice_loop_now_us(loop) >= us + 5000);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t wall = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    int64_t d = dice_loop_unix_ms(loop) - wall;
    assert_true(d > -5000 && d < 5000);
}

static void noop_post(dice_loop_t *loop, void *arg) {
    (void)loop;
    ++*(int *)arg;
}

static void test_backend_fd_and_timeout(void **state) {
    dice_loop_t *loop = *state;
    int bfd = dice_loop_backend_fd(loop);
    assert_true(bfd >= 0);
    assert_true(fcntl(bfd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(dice_loop_backend_timeout(loop), -1);

    uint64_t id;
    int fired = 0;
    assert_int_equal(
        dice_loop_timer_add(loop, 5000, 0, watchdog_cb, &fired, &id), 0);
    int t = dice_loop_backend_timeout(loop);
    assert_true(t > 4000 && t <= 5000);

    /* A host polling the backend fd sees it readable once work is posted,
     * and is told not to sleep. */
    struct pollfd pfd = {.fd = bfd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 0), 0);
    int ran = 0;
    assert_int_equal(dice_loop_post(loop, noop_post, &ran), 0);
    assert_int_equal(dice_loop_backend_timeout(loop), 0);
    assert_int_equal(poll(&pfd, 1, 0), 1);
    assert_int_equal(dice_loop_run_once(loop, 0), 1);
    assert_int_equal(ran, 1);
    assert_int_equal(poll(&pfd, 1, 0), 0);
    assert_true(dice_loop_backend_timeout(loop) > 0);

    /* A ready fd makes the backend fd readable too. */
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct io_log log = {0};
    assert_int_equal(dice_loop_watch(loop, p[0], DICE_READABLE, log_io, &log),
                     0);
    put_byte(p[1]);
    assert_int_equal(poll(&pfd, 1, 0), 1);
    assert_int_equal(dice_loop_run_once(loop, 0), 1);
    assert_int_equal(dice_loop_unwatch(loop, p[0]), 0);
    close(p[0]);
    close(p[1]);
    assert_int_equal(dice_loop_timer_cancel(loop, id), 0);
}

/* ---- hooks ---- */

struct hook_ctx {
    char log[64];
    int n;
    uint64_t ids[3];
    int remove_rc[2];
};

static void hook_a(dice_loop_t *loop, void *arg) {
    (void)loop;
    struct hook_ctx *c = arg;
    c->log[c->n++] = 'A';
}

/* B removes C (not yet run this iteration) and itself. */
static void hook_b(dice_loop_t *loop, void *arg) {
    struct hook_ctx *c = arg;
    c->log[c->n++] = 'B';
    c->remove_rc[0] = dice_loop_hook_remove(loop, c->ids[2]);
    c->remove_rc[1] = dice_loop_hook_remove(loop, c->ids[1]);
}

static void hook_c(dice_loop_t *loop, void *arg) {
    (void)loop;
    struct hook_ctx *c = arg;
    c->log[c->n++] = 'C';
}

static void test_hooks_order_and_removal(void **state) {
    dice_loop_t *loop = *state;
    struct hook_ctx c = {0};
    assert_int_equal(dice_loop_hook_add(loop, hook_a, &c, &c.ids[0]), 0);
    assert_int_equal(dice_loop_hook_add(loop, hook_c, &c, &c.ids[2]), 0);
    /* Remove C and add it back after B, so order is A B C. */
    assert_int_equal(dice_loop_hook_remove(loop, c.ids[2]), 0);
    assert_int_equal(dice_loop_hook_remove(loop, c.ids[2]), DICE_ENOENT);
    assert_int_equal(dice_loop_hook_add(loop, hook_b, &c, &c.ids[1]), 0);
    assert_int_equal(dice_loop_hook_add(loop, hook_c, &c, &c.ids[2]), 0);
    assert_int_equal(dice_loop_run_once(loop, 0), 0); /* hooks not counted */
    assert_string_equal(c.log, "AB");
    assert_int_equal(c.remove_rc[0], 0);
    assert_int_equal(c.remove_rc[1], 0);
    assert_int_equal(dice_loop_run_once(loop, 0), 0);
    assert_int_equal(dice_loop_run_once(loop, 0), 0);
    assert_string_equal(c.log, "ABAA");
    assert_int_equal(dice_loop_hook_remove(loop, c.ids[1]), DICE_ENOENT);
    assert_int_equal(dice_loop_hook_remove(loop, c.ids[0]), 0);
    assert_int_equal(dice_loop_run_once(loop, 0), 0);
    assert_string_equal(c.log, "ABAA");
}

/* A hook that posts work: the loop must not then block. */
static void hook_posts(dice_loop_t *loop, void *arg) {
    struct hook_ctx *c = arg;
    if (c->n++ == 0)
        assert_int_equal(dice_loop_post(loop, noop_post, &c->remove_rc[0]), 0);
}

static void test_hook_work_prevents_sleep(void **state) {
    dice_loop_t *loop = *state;
    struct hook_ctx c = {0};
    assert_int_equal(dice_loop_hook_add(loop, hook_posts, &c, NULL), 0);
    int fired = 0;
    assert_int_equal(
        dice_loop_timer_add(loop, 5000, 0, watchdog_cb, &fired, NULL), 0);
    /* Hooks close an iteration: the first one ends by posting work... */
    assert_int_equal(dice_loop_run_once(loop, 0), 0);
    assert_int_equal(c.n, 1);
    /* ...so the next one must not block on its wait. */
    uint64_t t0 = real_ms();
    assert_int_equal(dice_loop_run_once(loop, -1), 1);
    assert_true(real_ms() - t0 < 2000);
    assert_int_equal(fired, 0);
    assert_int_equal(c.remove_rc[0], 1);
}

/* ---- posting ---- */

#define NPOSTS 2000
struct post_ctx {
    dice_loop_t *loop;
    pthread_t loop_thread;
    int seen[NPOSTS];
    int n;
    int wrong_thread;
};

struct post_item {
    struct post_ctx *ctx;
    int index;
};

static void post_cb(dice_loop_t *loop, void *arg) {
    struct post_item *it = arg;
    struct post_ctx *c = it->ctx;
    if (!pthread_equal(pthread_self(), c->loop_thread))
        c->wrong_thread++;
    c->seen[c->n++] = it->index;
    if (it->index == NPOSTS - 1)
        dice_loop_stop(loop);
}

static struct post_item items[NPOSTS];

static void *poster(void *arg) {
    struct post_ctx *c = arg;
    sleep_ms(50); /* let the loop go to sleep in run() first */
    for (int i = 0; i < NPOSTS; i++) {
        items[i] = (struct post_item){c, i};
        if (dice_loop_post(c->loop, post_cb, &items[i]) != 0)
            abort();
        if (i % 500 == 0)
            sleep_ms(5); /* sometimes let it sleep again */
    }
    return NULL;
}

static void test_post_from_thread(void **state) {
    dice_loop_t *loop = *state;
    static struct post_ctx c;
    memset(&c, 0, sizeof(c));
    c.loop = loop;
    c.loop_thread = pthread_self();
    int watchdog = 0;
    uint64_t wid;
    assert_int_equal(
        dice_loop_timer_add(loop, 20000, 0, watchdog_cb, &watchdog, &wid), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, poster, &c), 0);
    assert_int_equal(dice_loop_run(loop), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(watchdog, 0);
    assert_int_equal(c.n, NPOSTS);
    assert_int_equal(c.wrong_thread, 0);
    for (int i = 0; i < NPOSTS; i++)
        assert_int_equal(c.seen[i], i);
    assert_int_equal(dice_loop_timer_cancel(loop, wid), 0);
}

/* Posting from the loop thread, including from a posted callback (which
 * then runs in the next iteration). */
static void repost_cb(dice_loop_t *loop, void *arg) {
    int *n = arg;
    if (++*n < 3)
        assert_int_equal(dice_loop_post(loop, repost_cb, arg), 0);
}

static void test_post_from_loop_thread(void **state) {
    dice_loop_t *loop = *state;
    int n = 0;
    assert_int_equal(dice_loop_post(loop, repost_cb, &n), 0);
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(dice_loop_run_once(loop, -1), 1);
        assert_int_equal(n, i);
    }
    assert_int_equal(dice_loop_backend_timeout(loop), -1);
}

static void test_free_drops_posts(void **state) {
    (void)state;
    dice_loop_t *loop;
    assert_int_equal(dice_loop_new(&loop), 0);
    int ran = 0;
    for (int i = 0; i < 3; i++)
        assert_int_equal(dice_loop_post(loop, noop_post, &ran), 0);
    assert_int_equal(
        dice_loop_timer_add(loop, 1000, 0, watchdog_cb, &ran, NULL), 0);
    dice_loop_free(loop); /* valgrind/ASan check nothing leaks */
    assert_int_equal(ran, 0);
    dice_loop_free(NULL);
}

/* ---- errors ---- */

static void test_error_paths(void **state) {
    dice_loop_t *loop = *state;
    struct io_log log = {0};
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(dice_loop_new(NULL), DICE_EINVAL);
    assert_int_equal(dice_loop_unwatch(loop, p[0]), DICE_ENOENT);
    assert_int_equal(dice_loop_unwatch(loop, 1 << 20), DICE_ENOENT);
    assert_int_equal(dice_loop_unwatch(loop, -1), DICE_ENOENT);
    assert_int_equal(dice_loop_set_mask(loop, p[0], DICE_READABLE),
                     DICE_ENOENT);
    assert_int_equal(dice_loop_get_mask(loop, p[0]), DICE_ENOENT);
    assert_int_equal(dice_loop_timer_cancel(loop, 12345), DICE_ENOENT);
    assert_int_equal(dice_loop_timer_cancel(loop, 0), DICE_ENOENT);
    assert_int_equal(dice_loop_hook_remove(loop, 99), DICE_ENOENT);

    assert_int_equal(dice_loop_watch(loop, -1, DICE_READABLE, log_io, &log),
                     DICE_EINVAL);
    assert_int_equal(dice_loop_watch(loop, p[0], DICE_ERROR, log_io, &log),
                     DICE_EINVAL);
    assert_int_equal(dice_loop_watch(loop, p[0], 8, log_io, &log), DICE_EINVAL);
    assert_int_equal(dice_loop_watch(loop, p[0], DICE_READABLE, NULL, &log),
                     DICE_EINVAL);
    assert_int_equal(dice_loop_watch(NULL, p[0], DICE_READABLE, log_io, &log),
                     DICE_EINVAL);
    assert_int_equal(dice_loop_get_mask(loop, p[0]), DICE_ENOENT);
    assert_int_equal(dice_loop_watch(loop, p[0], DICE_READABLE, log_io, &log),
                     0);
    assert_int_equal(dice_loop_set_mask(loop, p[0], DICE_ERROR), DICE_EINVAL);
    assert_int_equal(dice_loop_set_mask(loop, p[0], -1), DICE_EINVAL);
    assert_int_equal(dice_loop_get_mask(loop, p[0]), DICE_READABLE);
    assert_int_equal(dice_loop_unwatch(loop, p[0]), 0);
    assert_int_equal(dice_loop_unwatch(loop, p[0]), DICE_ENOENT);

    assert_int_equal(dice_loop_timer_add(loop, 1, 0, NULL, NULL, NULL),
                     DICE_EINVAL);
    assert_int_equal(dice_loop_timer_add(NULL, 1, 0, order_cb, NULL, NULL),
                     DICE_EINVAL);
    assert_int_equal(dice_loop_hook_add(loop, NULL, NULL, NULL), DICE_EINVAL);
    assert_int_equal(dice_loop_post(loop, NULL, NULL), DICE_EINVAL);
    assert_int_equal(dice_loop_post(NULL, noop_post, NULL), DICE_EINVAL);
    assert_int_equal(dice_loop_run_once(NULL, 0), DICE_EINVAL);
    assert_int_equal(dice_loop_run(NULL), DICE_EINVAL);
    /* The loop's own descriptors are not the user's to watch. */
    assert_int_equal(dice_loop_watch(loop, dice_loop_backend_fd(loop),
                                     DICE_READABLE, log_io, &log),
                     DICE_ESYS);
    close(p[0]);
    close(p[1]);
}

static void nested_cb(dice_loop_t *loop, uint64_t id, void *arg) {
    (void)id;
    *(int *)arg = dice_loop_run_once(loop, 0);
}

static void test_nested_run_refused(void **state) {
    dice_loop_t *loop = *state;
    int rc = 1;
    assert_int_equal(dice_loop_timer_add(loop, 0, 0, nested_cb, &rc, NULL), 0);
    assert_int_equal(dice_loop_run_once(loop, 0), 1);
    assert_int_equal(rc, DICE_ESTATE);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_pipe_readable),
        T(test_pipe_writable),
        T(test_socketpair_both_and_mask_change),
        T(test_hangup_socketpair),
        T(test_hangup_pipe),
        T(test_unwatch_close_during_dispatch),
        T(test_unwatch_close_reuse_during_dispatch),
        T(test_high_fd_numbers),
        T(test_unpollable_fd),
        T(test_many_timers_in_order),
        T(test_repeating_timer_cancels_itself),
        T(test_repeating_timer_no_burst),
        T(test_cancel_inside_callback),
        T(test_timer_added_in_callback_waits),
        T(test_stop_from_callback),
        T(test_run_once_timeout),
        T(test_run_once_zero_does_not_block),
        T(test_clocks),
        T(test_backend_fd_and_timeout),
        T(test_hooks_order_and_removal),
        T(test_hook_work_prevents_sleep),
        T(test_post_from_thread),
        T(test_post_from_loop_thread),
        T(test_free_drops_posts),
        T(test_error_paths),
        T(test_nested_run_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
