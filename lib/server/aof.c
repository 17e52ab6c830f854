/* The append-only file: a sink on the propagation path (propagate.c) that
 * logs every write as the RESP of its deterministic command vectors, with
 * SELECT when the db changes (Redis's feedAppendOnlyFile), in Redis 7.0's
 * multi-part layout inside dir/appenddirname:
 *
 *   appendonly.aof.<seq>.base.rdb   the dataset at the last rewrite (an RDB
 *                                   preamble, or .base.aof: plain commands)
 *   appendonly.aof.<seq>.incr.aof   what was written since, in order
 *   appendonly.aof.manifest         which files make the dataset, as
 *                                   "file <name> seq <n> type b|i|h" lines
 *
 * Writing. Commands collect in srv->aof.buf as they propagate; the buffer
 * is written once per loop iteration, before replies go out. With
 * appendfsync always it is also fsync'd then, and no reply leaves before
 * that fsync (client_flush commits first while srv->aof.hold is set): one
 * write and one fsync for every client served in the iteration, a group
 * commit. With everysec the fsync runs on a thread of its own, at most once
 * a second; while one is still running the write waits up to 2 s
 * (aof_delayed_fsync counts the times it did not), Redis's rule. A failed
 * write keeps the bytes, sets aof_last_write_status:err, and writes are
 * refused with -MISCONF until the cron's retry succeeds; under always the
 * server exits instead (replies it cannot make durable are never sent), as
 * Redis does.
 *
 * The manifest is aof_manifest.c's, loading aof_load.c's, rewriting
 * aof_bg.c's (lib/server/aof.h). */
#include "server/aof.h"
#include "types/rdb.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Redis's AOF_FSYNC_DELAY... the longest a write waits for a running
 * everysec fsync (ms), and the everysec period. */
#define POSTPONE_MAX_MS 2000
#define FSYNC_PERIOD_MS 1000

/* ---- the background fsync thread ----------------------------------------
 * A FIFO of jobs (fsync an fd, close an fd) served in order, so an old
 * incr file is fsync'd before it is closed. */

typedef struct bio_job {
    struct bio_job *next;
    int fd;
    bool close_it;
} bio_job;

struct dice__aof_bio {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake, idle;
    bio_job *head, *tail;
    bool stop;
    atomic_int pending_fsync; /* fsyncs queued or running */
    atomic_int err;           /* errno of the last failed fsync, 0 */
};

static void *bio_main(void *arg) {
    struct dice__aof_bio *b = arg;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (!b->head && !b->stop)
            pthread_cond_wait(&b->wake, &b->mu);
        if (!b->head)
            break;
        bio_job *j = b->head;
        b->head = j->next;
        if (!b->head)
            b->tail = NULL;
        pthread_mutex_unlock(&b->mu);
        if (j->close_it) {
            close(j->fd);
        } else {
            if (fdatasync(j->fd) < 0 && errno != EBADF && errno != EINVAL)
                atomic_store(&b->err, errno);
            else
                atomic_store(&b->err, 0);
            atomic_fetch_sub(&b->pending_fsync, 1);
        }
        free(j);
        pthread_mutex_lock(&b->mu);
        if (!b->head)
            pthread_cond_broadcast(&b->idle);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

static struct dice__aof_bio *bio_get(dice_server_t *srv) {
    if (srv->aof.bio)
        return srv->aof.bio;
    struct dice__aof_bio *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->wake, NULL);
    pthread_cond_init(&b->idle, NULL);
    if (dice__thread_start(&b->thread, bio_main, b) != 0) {
        free(b);
        return NULL;
    }
    srv->aof.bio = b;
    return b;
}

/* Queue a job; without a thread (out of memory) it runs here. */
static void bio_submit(dice_server_t *srv, int fd, bool close_it) {
    struct dice__aof_bio *b = bio_get(srv);
    bio_job *j = b ? malloc(sizeof(*j)) : NULL;
    if (!j) {
        if (close_it)
            close(fd);
        else
            fdatasync(fd);
        return;
    }
    j->next = NULL;
    j->fd = fd;
    j->close_it = close_it;
    if (!close_it)
        atomic_fetch_add(&b->pending_fsync, 1);
    pthread_mutex_lock(&b->mu);
    if (b->tail)
        b->tail->next = j;
    else
        b->head = j;
    b->tail = j;
    pthread_cond_signal(&b->wake);
    pthread_mutex_unlock(&b->mu);
}

static int bio_pending(dice_server_t *srv) {
    return srv->aof.bio ? atomic_load(&srv->aof.bio->pending_fsync) : 0;
}

/* Wait until every queued job ran. */
static void bio_drain(dice_server_t *srv) {
    struct dice__aof_bio *b = srv->aof.bio;
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    while (b->head)
        pthread_cond_wait(&b->idle, &b->mu);
    pthread_mutex_unlock(&b->mu);
}

static void bio_stop(dice_server_t *srv) {
    struct dice__aof_bio *b = srv->aof.bio;
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    b->stop = true;
    pthread_cond_signal(&b->wake);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->thread, NULL);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->wake);
    pthread_cond_destroy(&b->idle);
    free(b);
    srv->aof.bio = NULL;
}

/* ---- feeding and flushing ---------------------------------------------- */

static int buf_room(dice__aof_state *a, size_t need) {
    if (a->cap - a->len >= need)
        return 0;
    size_t nc = a->cap ? a->cap : 16384;
    while (nc - a->len < need)
        nc *= 2;
    char *n = realloc(a->buf, nc);
    if (!n)
        return DICE_ENOMEM;
    a->buf = n;
    a->cap = nc;
    return 0;
}

static void append_cmd(dice__aof_state *a, int argc, const char *const *argv,
                       const size_t *argvlen) {
    size_t need = dice__aof_resp_len(argc, argvlen);
    if (buf_room(a, need) < 0)
        return; /* propagate.c has already logged lost vectors like this */
    a->len += dice__aof_resp_put(a->buf + a->len, argc, argv, argvlen);
}

/* The propagation sink. */
static void aof_sink(void *arg, int db, int argc, const char *const *argv,
                     const size_t *argvlen) {
    dice_server_t *srv = arg;
    dice__aof_state *a = &srv->aof;
    if (db != a->seldb) {
        char n[24];
        int nl = snprintf(n, sizeof(n), "%d", db);
        const char *sv[2] = {"SELECT", n};
        size_t sl[2] = {6, (size_t)nl};
        append_cmd(a, 2, sv, sl);
        a->seldb = db;
    }
    append_cmd(a, argc, argv, argvlen);
    if (srv->cfg.appendfsync == DICE__FSYNC_ALWAYS)
        a->hold = true;
}

static void update_denied(dice_server_t *srv) {
    dice__rdb_update_denied(srv);
}

static void write_failed(dice_server_t *srv, ssize_t nw, int e) {
    dice__aof_state *a = &srv->aof;
    if (nw < 0)
        dice__logf(srv, DICE_LOG_WARNING, "Error writing to the AOF file: %s",
                   strerror(e));
    else
        dice__logf(srv, DICE_LOG_WARNING,
                   "Short write while writing to the AOF file: (nwritten=%lld, "
                   "expected=%lld)",
                   (long long)nw, (long long)a->len);
    if (nw > 0) {
        /* Take the partial command back out, so the retry writes it
         * whole; if that fails, what was written stays written. */
        if (ftruncate(a->fd, (off_t)a->incr_size) == 0) {
            nw = 0;
        } else {
            a->incr_size += nw;
            a->cur_size += nw;
            memmove(a->buf, a->buf + nw, a->len - (size_t)nw);
            a->len -= (size_t)nw;
        }
    }
    if (srv->cfg.appendfsync == DICE__FSYNC_ALWAYS) {
        dice__logf(srv, DICE_LOG_WARNING,
                   "Can't recover from AOF write error when the AOF fsync "
                   "policy is 'always'. Exiting...");
        exit(1);
    }
    a->last_write_errno = nw < 0 ? e : ENOSPC;
    if (a->last_write_ok) {
        a->last_write_ok = false;
        update_denied(srv);
    }
}

void dice__aof_flush(dice_server_t *srv, bool force) {
    dice__aof_state *a = &srv->aof;
    if (a->fd < 0) {
        a->hold = false;
        return;
    }
    uint64_t now = dice_loop_now_ms(srv->loop);
    bool everysec = srv->cfg.appendfsync == DICE__FSYNC_EVERYSEC;
    if (a->len == 0) {
        /* Nothing to write; everysec still owes a fsync of what was
         * written and not synced for a second (Redis checks this too). */
        if (everysec && a->unsynced &&
            now - a->last_fsync_ms >= FSYNC_PERIOD_MS && !bio_pending(srv) &&
            !(srv->cfg.no_appendfsync_on_rewrite &&
              (a->child > 0 || srv->rdb.child > 0))) {
            bio_submit(srv, a->fd, false);
            a->last_fsync_ms = now;
            a->unsynced = false;
        }
        return;
    }
    if (everysec && !force && bio_pending(srv)) {
        if (a->postponed_ms == 0) {
            a->postponed_ms = now ? now : 1;
            return;
        }
        if (now - a->postponed_ms < POSTPONE_MAX_MS)
            return;
        a->delayed_fsync++;
        dice__logf(srv, DICE_LOG_NOTICE,
                   "Asynchronous AOF fsync is taking too long (disk is busy?). "
                   "Writing the AOF buffer without waiting for fsync to "
                   "complete, this may slow down Redis.");
    }
    a->postponed_ms = 0;
    ssize_t nw = write(a->fd, a->buf, a->len);
    if (nw < 0 && errno == EINTR)
        nw = write(a->fd, a->buf, a->len);
    if (nw != (ssize_t)a->len) {
        write_failed(srv, nw, errno);
        return;
    }
    a->incr_size += nw;
    a->cur_size += nw;
    a->len = 0;
    if (a->cap > 4 * 1024 * 1024) {
        free(a->buf);
        a->buf = NULL;
        a->cap = 0;
    }
    if (!a->last_write_ok) {
        dice__logf(srv, DICE_LOG_WARNING,
                   "AOF write error looks solved, Redis can write again.");
        a->last_write_ok = true;
        update_denied(srv);
    }
    a->unsynced = true;
    if (srv->cfg.no_appendfsync_on_rewrite &&
        (a->child > 0 || srv->rdb.child > 0)) {
        a->hold = false;
        return;
    }
    if (srv->cfg.appendfsync == DICE__FSYNC_ALWAYS) {
        if (fdatasync(a->fd) < 0) {
            dice__logf(srv, DICE_LOG_WARNING,
                       "Can't persist AOF for fsync error when the AOF fsync "
                       "policy is 'always': %s. Exiting...",
                       strerror(errno));
            exit(1);
        }
        a->last_fsync_ms = now;
        a->unsynced = false;
    } else if (everysec && now - a->last_fsync_ms >= FSYNC_PERIOD_MS &&
               !bio_pending(srv)) {
        bio_submit(srv, a->fd, false);
        a->last_fsync_ms = now;
        a->unsynced = false;
    }
    a->hold = false;
}

/* ---- opening files ------------------------------------------------------ */

static int open_append(dice_server_t *srv, const char *name) {
    char p[4096];
    int fd = open(dice__aof_path(srv, name, p, sizeof(p)),
                  O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        dice__logf(srv, DICE_LOG_WARNING,
                   "Can't open the append-only file %s: %s", p,
                   strerror(errno));
    return fd;
}

/* Switch writing to a new incr file (seq + 1), fsync'ing and closing the
 * old one in the background; persist the manifest when persist. */
int dice__aof_new_incr(dice_server_t *srv, bool persist) {
    dice__aof_state *a = &srv->aof;
    char name[1100];
    snprintf(name, sizeof(name), "%s.%lld.incr.aof", dice__aof_name(srv),
             a->incr_seq + 1);
    int fd = open_append(srv, name);
    if (fd < 0)
        return DICE_ESYS;
    if (dice__aof_add_incr(a, name, a->incr_seq + 1) < 0) {
        close(fd);
        return DICE_ENOMEM;
    }
    if (persist && dice__aof_manifest_persist(srv) < 0) {
        /* Forget the new file: the old manifest still holds. */
        a->nincr--;
        free(a->incr[a->nincr].name);
        a->incr_seq--;
        close(fd);
        char p[4096];
        unlink(dice__aof_path(srv, name, p, sizeof(p)));
        return DICE_ESYS;
    }
    if (a->fd >= 0) {
        bio_submit(srv, a->fd, false);
        bio_submit(srv, a->fd, true);
    }
    a->fd = fd;
    a->incr_size = 0;
    a->seldb = -1; /* a new file starts with a SELECT */
    a->unsynced = false;
    return 0;
}

static int attach_sink(dice_server_t *srv) {
    if (srv->aof.sink_id)
        return 0;
    return dice__propagate_add_sink(srv, aof_sink, srv, DICE__PROP_AOF,
                                    &srv->aof.sink_id);
}

static void detach_sink(dice_server_t *srv) {
    if (srv->aof.sink_id)
        dice_server_remove_propagation_sink(srv, srv->aof.sink_id);
    srv->aof.sink_id = 0;
}

void dice__aof_init(dice_server_t *srv) {
    dice__aof_state *a = &srv->aof;
    a->fd = -1;
    a->cow_fd = -1;
    a->seldb = -1;
    a->last_write_ok = true;
    a->last_rewrite_ok = true;
    a->last_rewrite_secs = -1;
}

int dice__aof_startup(dice_server_t *srv) {
    if (!srv->cfg.appendonly || !srv->keyspace)
        return 0;
    dice__aof_state *a = &srv->aof;
    int rc = dice__aof_make_dir(srv);
    if (rc < 0)
        return rc;
    rc = dice__aof_manifest_load(srv);
    if (rc < 0 && rc != DICE_ENOENT)
        return rc;
    if (rc == 0) {
        rc = dice__aof_load_all(srv);
        if (rc < 0)
            return rc;
        dice__aof_delete_history(srv);
    }
    if (!a->base_type && a->nincr == 0) {
        /* A new directory: a base of the (empty) dataset first, as Redis's
         * aofOpenIfNeededOnServerStart. */
        char name[1100], path[4096];
        a->base_seq = 1;
        dice__aof_base_name(srv, 1, name, sizeof(name));
        if (dice__aof_write_base(
                srv, dice__aof_path(srv, name, path, sizeof(path))) < 0) {
            dice__logf(srv, DICE_LOG_WARNING,
                       "Can't create the AOF base file %s: %s", path,
                       strerror(errno));
            return DICE_ESYS;
        }
        a->base_name = strdup(name);
        a->base_type = 'b';
        dice__logf(srv, DICE_LOG_NOTICE,
                   "Creating AOF base file %s on server "
                   "start",
                   name);
    }
    if (a->nincr == 0) {
        rc = dice__aof_new_incr(srv, true);
        if (rc < 0)
            return rc;
        dice__logf(srv, DICE_LOG_NOTICE,
                   "Creating AOF incr file %s on server start",
                   a->incr[a->nincr - 1].name);
    } else {
        a->fd = open_append(srv, a->incr[a->nincr - 1].name);
        if (a->fd < 0)
            return DICE_ESYS;
    }
    dice__aof_recompute_sizes(srv);
    a->base_size = a->cur_size;
    a->last_fsync_ms = dice_loop_now_ms(srv->loop);
    rc = attach_sink(srv);
    if (rc < 0)
        return rc;
    a->state = DICE__AOF_ON;
    return 0;
}

/* ---- turning it on and off at run time ------------------------------------
 */

static int start_at_runtime(dice_server_t *srv) {
    dice__aof_state *a = &srv->aof;
    if (dice__aof_make_dir(srv) < 0)
        return DICE_ESYS;
    /* Sequence numbers go on from what the directory holds. */
    dice__aof_manifest_clear(a);
    a->base_seq = a->incr_seq = 0;
    if (dice__aof_manifest_load(srv) == 0) {
        if (a->base_type)
            dice__aof_add_history(a, strdup(a->base_name));
        for (size_t i = 0; i < a->nincr; i++)
            dice__aof_add_history(a, strdup(a->incr[i].name));
        free(a->base_name);
        a->base_name = NULL;
        a->base_type = 0;
        for (size_t i = 0; i < a->nincr; i++)
            free(a->incr[i].name);
        a->nincr = 0;
    }
    char tmp[4096];
    int fd = open(dice__aof_temp_incr(srv, tmp, sizeof(tmp)),
                  O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return DICE_ESYS;
    a->fd = fd;
    a->seldb = -1;
    a->len = 0;
    a->incr_size = 0;
    if (attach_sink(srv) < 0) {
        close(fd);
        a->fd = -1;
        return DICE_ENOMEM;
    }
    a->state = DICE__AOF_WAIT_REWRITE;
    int rc = dice__aof_rewrite(srv);
    if (rc < 0 && rc != DICE_EAGAIN) {
        detach_sink(srv);
        close(fd);
        a->fd = -1;
        unlink(tmp);
        a->state = DICE__AOF_OFF;
        return rc;
    }
    return 0;
}

static void stop_now(dice_server_t *srv) {
    dice__aof_state *a = &srv->aof;
    if (a->state == DICE__AOF_OFF)
        return;
    dice__aof_flush(srv, true);
    if (a->fd >= 0) {
        fdatasync(a->fd);
        bio_drain(srv);
        close(a->fd);
    }
    a->fd = -1;
    a->hold = false;
    dice__aof_kill_child(srv);
    a->scheduled = false;
    detach_sink(srv);
    if (a->state == DICE__AOF_WAIT_REWRITE) {
        char tmp[4096];
        unlink(dice__aof_temp_incr(srv, tmp, sizeof(tmp)));
    }
    a->state = DICE__AOF_OFF;
    if (!a->last_write_ok) {
        a->last_write_ok = true;
        update_denied(srv);
    }
}

int dice__aof_check_enable(dice_server_t *srv, long long v) {
    if (!srv->started || !srv->keyspace)
        return 0;
    if (v && srv->aof.state == DICE__AOF_OFF && start_at_runtime(srv) < 0) {
        snprintf(srv->cfg_err, sizeof(srv->cfg_err),
                 "Unable to turn on AOF. Check server logs.");
        return DICE_EINVAL;
    }
    return 0;
}

void dice__aof_apply_enable(dice_server_t *srv) {
    if (!srv->started || !srv->keyspace)
        return;
    if (!srv->cfg.appendonly)
        stop_now(srv);
    else if (srv->aof.state == DICE__AOF_OFF)
        start_at_runtime(srv);
}

void dice__aof_shutdown(dice_server_t *srv) {
    dice__aof_state *a = &srv->aof;
    dice__aof_kill_child(srv);
    if (a->state == DICE__AOF_OFF)
        return;
    dice__logf(srv, DICE_LOG_NOTICE, "Calling fsync() on the AOF file.");
    dice__aof_flush(srv, true);
    if (a->fd >= 0)
        fdatasync(a->fd);
}

/* ---- the cron -------------------------------------------------------------
 */

void dice__aof_cron(dice_server_t *srv) {
    dice__aof_state *a = &srv->aof;
    if (a->child > 0) {
        int status;
        pid_t r = waitpid(a->child, &status, WNOHANG);
        if (r == a->child)
            dice__aof_child_done(srv, status);
        else if (r < 0 && errno == ECHILD)
            a->child = 0;
    }
    if (a->state == DICE__AOF_OFF)
        return;
    /* A background fsync that failed is a write error too. */
    if (a->bio) {
        int e = atomic_load(&a->bio->err);
        if (e && a->last_write_ok) {
            dice__logf(srv, DICE_LOG_WARNING,
                       "Error syncing the AOF file to disk: %s", strerror(e));
            a->last_write_errno = e;
            a->last_write_ok = false;
            update_denied(srv);
        } else if (!e && !a->last_write_ok && a->len == 0 &&
                   a->last_write_errno && !bio_pending(srv)) {
            /* retried below through a write */
        }
    }
    /* Retry a failed write, and the everysec fsync. */
    if (a->len || !a->last_write_ok ||
        srv->cfg.appendfsync == DICE__FSYNC_EVERYSEC) {
        if (!a->last_write_ok && a->len == 0) {
            /* The failed fsync's retry. */
            if (fdatasync(a->fd) == 0) {
                if (a->bio)
                    atomic_store(&a->bio->err, 0);
                dice__logf(srv, DICE_LOG_WARNING,
                           "AOF write error looks solved, Redis can write "
                           "again.");
                a->last_write_ok = true;
                update_denied(srv);
            }
        } else {
            dice__aof_flush(srv, false);
        }
    }
    if (a->child > 0 || srv->rdb.child > 0)
        return;
    if (a->scheduled) {
        dice__aof_rewrite(srv);
        return;
    }
    if (a->state == DICE__AOF_ON && srv->cfg.auto_aof_rewrite_perc &&
        a->cur_size > srv->cfg.auto_aof_rewrite_min_size) {
        long long base = a->base_size ? a->base_size : 1;
        long long growth = (a->cur_size * 100 / base) - 100;
        if (growth >= srv->cfg.auto_aof_rewrite_perc) {
            dice__logf(srv, DICE_LOG_NOTICE,
                       "Starting automatic rewriting of AOF on %lld%% growth",
                       growth);
            dice__aof_rewrite(srv);
        }
    }
}

/* ---- INFO ------------------------------------------------------------------
 */

void dice__aof_info(dice_server_t *srv, dice_buf_t *b) {
    dice__aof_state *a = &srv->aof;
    long long now = dice__aof_unix_s(srv);
    dice__buf_printf(b,
                     "aof_enabled:%d\r\n"
                     "aof_rewrite_in_progress:%d\r\n"
                     "aof_rewrite_scheduled:%d\r\n"
                     "aof_last_rewrite_time_sec:%lld\r\n"
                     "aof_current_rewrite_time_sec:%lld\r\n"
                     "aof_last_bgrewrite_status:%s\r\n"
                     "aof_rewrites:%llu\r\n"
                     "aof_rewrites_consecutive_failures:%llu\r\n"
                     "aof_last_write_status:%s\r\n"
                     "aof_last_cow_size:%llu\r\n"
                     "module_fork_in_progress:0\r\n"
                     "module_fork_last_cow_size:0\r\n",
                     a->state != DICE__AOF_OFF ? 1 : 0, a->child > 0 ? 1 : 0,
                     a->scheduled ? 1 : 0, a->last_rewrite_secs,
                     a->child > 0 ? now - a->child_start : -1LL,
                     a->last_rewrite_ok ? "ok" : "err", a->rewrites,
                     a->rewrite_failures, a->last_write_ok ? "ok" : "err",
                     a->last_cow);
    if (a->state != DICE__AOF_OFF)
        dice__buf_printf(b,
                         "aof_current_size:%lld\r\n"
                         "aof_base_size:%lld\r\n"
                         "aof_pending_rewrite:%d\r\n"
                         "aof_buffer_length:%zu\r\n"
                         "aof_pending_bio_fsync:%d\r\n"
                         "aof_delayed_fsync:%llu\r\n",
                         a->cur_size, a->base_size, a->scheduled ? 1 : 0,
                         a->len, bio_pending(srv), a->delayed_fsync);
}

void dice__aof_free(dice_server_t *srv) {
    dice__aof_state *a = &srv->aof;
    dice__aof_kill_child(srv);
    if (a->state != DICE__AOF_OFF) {
        dice__aof_flush(srv, true);
        if (a->fd >= 0)
            fdatasync(a->fd);
    }
    bio_stop(srv);
    if (a->fd >= 0)
        close(a->fd);
    a->fd = -1;
    free(a->buf);
    a->buf = NULL;
    a->len = a->cap = 0;
    dice__aof_manifest_clear(a);
    if (a->cow_fd >= 0)
        close(a->cow_fd);
    a->cow_fd = -1;
}
