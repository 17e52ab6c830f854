/* worker_server: a command answered later, from a worker thread.
 *
 *   SLOWSQUARE n [ms]   n * n, computed on a pool of two worker threads
 *                       that first sleep ms milliseconds (default 100, at
 *                       most 10000) to stand for slow work: a disk read, a
 *                       call to another service, a heavy computation
 *
 * plus the built-in connection commands (PING, ECHO, HELLO, ...).
 *
 * The pattern: the handler calls dice_client_hold(c), queues a job and
 * returns at once, so the loop keeps serving every other client. A worker
 * does the job off the loop thread, where no libdice server function may be
 * called, and hands the result back with dice_loop_post(), the one
 * thread-safe loop function. The posted callback runs on the loop thread,
 * writes the reply and calls dice_client_release(c). While a client is
 * held, its next pipelined commands wait, so its replies keep their order;
 * a client that disconnects meanwhile is kept alive until the release.
 *
 *   worker_server [--port N]     (default 7382; 0 picks a free port)
 *
 * Prints "ready <port>" on stdout once listening; exits 0 on SIGINT or
 * SIGTERM, after letting the workers finish the jobs they started. */
#include <dice/dice.h>

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define NWORKERS 2

typedef struct job {
    struct job *next;
    dice_client_t *c; /* only touched on the loop thread */
    long long n;
    long ms;
    long long result; /* written by the worker */
    int overflow;
} job_t;

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job_t *head, *tail; /* jobs not yet taken by a worker */
    int stopping;
    dice_loop_t *loop;
    pthread_t threads[NWORKERS];
    int nthreads;
} pool_t;

/* ---- loop thread ------------------------------------------------------- */

static void reply_job(job_t *j) {
    if (j->overflow)
        dice_reply_error(j->c, "ERR result overflows", 20);
    else
        dice_reply_int(j->c, j->result);
}

/* Posted by a worker; runs on the loop thread. */
static void job_done(dice_loop_t *loop, void *arg) {
    (void)loop;
    job_t *j = arg;
    reply_job(j); /* discarded if the peer has gone */
    dice_client_release(j->c);
    free(j);
}

/* Strict base-10 integer (argv slices are not NUL-terminated): digits
 * with an optional leading '-', nothing else, and in range. */
static int parse_ll(const char *s, size_t len, long long *out) {
    char buf[32];
    if (len == 0 || len >= sizeof(buf) ||
        !(isdigit((unsigned char)s[0]) || (s[0] == '-' && len > 1)))
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    *out = strtoll(buf, &end, 10);
    return *end == '\0' && errno != ERANGE;
}

/* SLOWSQUARE n [ms] */
static void cmd_slowsquare(dice_client_t *c, int argc, const char *const *argv,
                           const size_t *argvlen, void *arg) {
    pool_t *pool = arg;
    long long n, ms = 100;
    if (argc > 3) {
        dice_reply_error(c, "ERR syntax error", 16);
        return;
    }
    if (!parse_ll(argv[1], argvlen[1], &n) ||
        (argc == 3 &&
         (!parse_ll(argv[2], argvlen[2], &ms) || ms < 0 || ms > 10000))) {
        const char *e = "ERR value is not an integer or out of range";
        dice_reply_error(c, e, strlen(e));
        return;
    }
    job_t *j = calloc(1, sizeof(*j));
    if (!j) {
        dice_reply_error(c, "ERR out of memory", 17);
        return;
    }
    j->c = c;
    j->n = n;
    j->ms = (long)ms;
    pthread_mutex_lock(&pool->mu);
    int stopping = pool->stopping;
    if (!stopping) {
        if (pool->tail)
            pool->tail->next = j;
        else
            pool->head = j;
        pool->tail = j;
        /* The worker may finish at once, but its job_done can only run on
         * this thread after we return, so holding here is in time. */
        dice_client_hold(c);
        pthread_cond_signal(&pool->cv);
    }
    pthread_mutex_unlock(&pool->mu);
    if (stopping) {
        free(j);
        dice_reply_error(c, "ERR shutting down", 17);
    }
}

/* ---- worker threads ---------------------------------------------------- */

static void *worker_main(void *arg) {
    pool_t *pool = arg;
    for (;;) {
        pthread_mutex_lock(&pool->mu);
        while (!pool->head && !pool->stopping)
            pthread_cond_wait(&pool->cv, &pool->mu);
        if (pool->stopping) { /* queued jobs are answered by the loop */
            pthread_mutex_unlock(&pool->mu);
            return NULL;
        }
        job_t *j = pool->head;
        pool->head = j->next;
        if (!pool->head)
            pool->tail = NULL;
        pthread_mutex_unlock(&pool->mu);

        /* The slow part. No libdice server call is allowed here. */
        struct timespec ts = {j->ms / 1000, (j->ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        j->overflow = __builtin_mul_overflow(j->n, j->n, &j->result);

        /* Hand the job back; it fails only when out of memory, and then the
         * client would stay held, so say so loudly. */
        if (dice_loop_post(pool->loop, job_done, j) < 0)
            fprintf(stderr, "worker_server: dice_loop_post failed\n");
    }
}

static int pool_start(pool_t *pool, dice_loop_t *loop) {
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->cv, NULL);
    pool->loop = loop;
    for (int i = 0; i < NWORKERS; i++) {
        if (pthread_create(&pool->threads[i], NULL, worker_main, pool) != 0)
            return DICE_ESYS;
        pool->nthreads++;
    }
    return 0;
}

/* On the loop thread, after the loop stopped: join the workers (each ends
 * the job it is doing), deliver their last posts, and answer the jobs that
 * never started, so that every hold gets its release. */
static void pool_stop(pool_t *pool) {
    pthread_mutex_lock(&pool->mu);
    pool->stopping = 1;
    pthread_cond_broadcast(&pool->cv);
    pthread_mutex_unlock(&pool->mu);
    for (int i = 0; i < pool->nthreads; i++)
        pthread_join(pool->threads[i], NULL);
    dice_loop_run_once(pool->loop, 0); /* runs job_done for finished jobs */
    job_t *j = pool->head;
    pool->head = pool->tail = NULL;
    while (j) {
        job_t *next = j->next;
        dice_reply_error(j->c, "ERR shutting down", 17);
        dice_client_release(j->c);
        free(j);
        j = next;
    }
    dice_loop_run_once(pool->loop, 0); /* flush those replies */
    pthread_cond_destroy(&pool->cv);
    pthread_mutex_destroy(&pool->mu);
}

/* ---- main -------------------------------------------------------------- */

static void on_signal(dice_loop_t *loop, int fd, int events, void *arg) {
    (void)events, (void)arg;
    struct signalfd_siginfo si;
    if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        dice_loop_stop(loop);
}

int main(int argc, char **argv) {
    const char *port = "7382";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc) {
            port = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--port N]\n", argv[0]);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);

    /* Block the signals before starting threads, so that the workers
     * inherit the mask and only the signalfd sees them. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);

    dice_loop_t *loop = NULL;
    dice_server_t *srv = NULL;
    pool_t pool = {0};
    int rc = dice_loop_new(&loop);
    if (rc == 0)
        rc = dice_server_new(&srv, loop);
    if (rc == 0 && (rc = dice_server_config_set(srv, "port", port)) < 0)
        fprintf(stderr, "port: %s\n", dice_server_config_error(srv));
    if (rc == 0)
        rc = dice_command_add_builtins(srv, DICE_BUILTIN_CONNECTION);
    if (rc == 0)
        rc = dice_command_add(srv, "slowsquare", -2, 0, 0, 0, 0, cmd_slowsquare,
                              &pool, "Square a number on a worker thread");
    if (rc == 0)
        rc = pool_start(&pool, loop);

    int sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (rc == 0 && sigfd < 0)
        rc = DICE_ESYS;
    if (rc == 0)
        rc = dice_loop_watch(loop, sigfd, DICE_READABLE, on_signal, NULL);
    if (rc == 0)
        rc = dice_server_start(srv);
    if (rc == 0) {
        printf("ready %d\n", dice_server_port(srv));
        fflush(stdout);
        rc = dice_loop_run(loop);
    }
    if (rc < 0)
        fprintf(stderr, "worker_server: %s\n", dice_strerror(rc));

    if (pool.nthreads)
        pool_stop(&pool);
    if (sigfd >= 0) {
        dice_loop_unwatch(loop, sigfd);
        close(sigfd);
    }
    dice_server_free(srv);
    dice_loop_free(loop);
    return rc < 0 ? 1 : 0;
}
