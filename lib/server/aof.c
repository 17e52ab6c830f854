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
 * Rewriting (BGREWRITEAOF, auto-aof-rewrite-*): the parent flushes, opens a
 * new incr file and records it in the manifest, then forks; the child
 * writes a new base from its copy-on-write image. On success the parent
 * renames it into place, fsyncs the directory, writes the new manifest
 * atomically (temp, fsync, rename, fsync the directory) and deletes the
 * files the manifest no longer names. No rewrite buffer: what the parent
 * wrote meanwhile is in the new incr file already (Redis 7.0's design).
 * A crash at any point leaves a manifest naming complete files only.
 *
 * Loading (at start, before listening): the manifest, then the base (an
 * RDB preamble is loaded by the types layer's reader and the commands
 * after it replayed), then each incr file, replayed through an in-process
 * session. A last file cut short loads up to its last complete command
 * (aof-load-truncated yes, and the file is truncated there); anything
 * else malformed stops the start with the file and offset. */
#include "dice/session.h"
#include "keyspace/db_internal.h"
#include "server/server_internal.h"
#include "types/rdb.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Redis's AOF_FSYNC_DELAY... the longest a write waits for a running
 * everysec fsync (ms), and the everysec period. */
#define POSTPONE_MAX_MS 2000
#define FSYNC_PERIOD_MS 1000

static long long unix_s(dice_server_t *srv) {
    return (long long)(dice_loop_unix_ms(srv->loop) / 1000);
}

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
    if (pthread_create(&b->thread, NULL, bio_main, b) != 0) {
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

/* ---- paths and the manifest --------------------------------------------- */

static const char *fname(dice_server_t *srv) {
    return srv->cfg.appendfilename ? srv->cfg.appendfilename : "appendonly.aof";
}

/* dir/appenddirname into buf. */
static const char *aof_dir(dice_server_t *srv, char *buf, size_t cap) {
    const char *dir = srv->cfg.dir;
    const char *sub =
        srv->cfg.appenddirname ? srv->cfg.appenddirname : "appendonlydir";
    if (!dir || !*dir)
        snprintf(buf, cap, "%s", sub);
    else
        snprintf(buf, cap, "%s/%s", dir, sub);
    return buf;
}

/* dir/appenddirname/name into buf. */
static const char *aof_path(dice_server_t *srv, const char *name, char *buf,
                            size_t cap) {
    char d[4096];
    aof_dir(srv, d, sizeof(d));
    size_t dl = strlen(d), nl = strlen(name);
    if (dl + 1 + nl + 1 > cap) {
        buf[0] = '\0'; /* too long: opening it fails */
        return buf;
    }
    memcpy(buf, d, dl);
    buf[dl] = '/';
    memcpy(buf + dl + 1, name, nl + 1);
    return buf;
}

static int sync_dir(dice_server_t *srv) {
    char d[4096];
    int fd =
        open(aof_dir(srv, d, sizeof(d)), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static long long file_size(dice_server_t *srv, const char *name) {
    char p[4096];
    struct stat st;
    if (stat(aof_path(srv, name, p, sizeof(p)), &st) < 0)
        return 0;
    return (long long)st.st_size;
}

static void manifest_clear(dice__aof_state *a) {
    free(a->base_name);
    a->base_name = NULL;
    a->base_type = 0;
    for (size_t i = 0; i < a->nincr; i++)
        free(a->incr[i].name);
    free(a->incr);
    a->incr = NULL;
    a->nincr = 0;
    for (size_t i = 0; i < a->nhistory; i++)
        free(a->history[i]);
    free(a->history);
    a->history = NULL;
    a->nhistory = 0;
}

static int add_incr(dice__aof_state *a, const char *name, long long seq) {
    dice__aof_incr *n = realloc(a->incr, (a->nincr + 1) * sizeof(*n));
    if (!n)
        return DICE_ENOMEM;
    a->incr = n;
    char *d = strdup(name);
    if (!d)
        return DICE_ENOMEM;
    a->incr[a->nincr].name = d;
    a->incr[a->nincr].seq = seq;
    a->nincr++;
    if (seq > a->incr_seq)
        a->incr_seq = seq;
    return 0;
}

static int add_history(dice__aof_state *a, char *name) {
    char **n = realloc(a->history, (a->nhistory + 1) * sizeof(*n));
    if (!n) {
        free(name);
        return DICE_ENOMEM;
    }
    a->history = n;
    a->history[a->nhistory++] = name;
    return 0;
}

/* The manifest's text, in Redis's order: base, history, incrs. */
static int manifest_text(dice__aof_state *a, dice_buf_t *b) {
    int rc = 0;
    if (a->base_type)
        rc |= dice__buf_printf(b, "file %s seq %lld type b\n", a->base_name,
                               a->base_seq);
    for (size_t i = 0; i < a->nhistory; i++)
        rc |= dice__buf_printf(b, "file %s seq 0 type h\n", a->history[i]);
    for (size_t i = 0; i < a->nincr; i++)
        rc |= dice__buf_printf(b, "file %s seq %lld type i\n", a->incr[i].name,
                               a->incr[i].seq);
    return rc ? DICE_ENOMEM : 0;
}

static int write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Write the manifest atomically: temp-<name>.manifest, fsync, rename,
 * fsync the directory. */
static int manifest_persist(dice_server_t *srv) {
    dice_buf_t b;
    dice__buf_init(&b);
    if (manifest_text(&srv->aof, &b) < 0) {
        dice__buf_release(&b);
        return DICE_ENOMEM;
    }
    char name[1100], tmp[4096], final[4096];
    snprintf(name, sizeof(name), "temp-%s.manifest", fname(srv));
    aof_path(srv, name, tmp, sizeof(tmp));
    snprintf(name, sizeof(name), "%s.manifest", fname(srv));
    aof_path(srv, name, final, sizeof(final));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = fd < 0 ? -1 : 0;
    if (rc == 0)
        rc = write_all(fd, b.data ? b.data : "", b.len);
    if (rc == 0)
        rc = fsync(fd);
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (rc == 0 && rename(tmp, final) < 0)
        rc = -1, e = errno;
    dice__buf_release(&b);
    if (rc < 0) {
        dice__logf(srv, DICE_LOG_WARNING,
                   "Can't persist the AOF manifest file %s: %s", final,
                   strerror(e));
        unlink(tmp);
        errno = e;
        return DICE_ESYS;
    }
    sync_dir(srv);
    return 0;
}

/* Read the manifest: DICE_ENOENT when there is none, DICE_EPROTO when it
 * is malformed (logged). */
static int manifest_load(dice_server_t *srv) {
    dice__aof_state *a = &srv->aof;
    char name[1100], path[4096];
    snprintf(name, sizeof(name), "%s.manifest", fname(srv));
    aof_path(srv, name, path, sizeof(path));
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? DICE_ENOENT : DICE_ESYS;
    manifest_clear(a);
    char line[2048];
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        size_t n = strlen(line);
        if (n && line[n - 1] == '\n')
            line[--n] = '\0';
        if (line[0] == '#' || n == 0)
            continue;
        char **argv = NULL;
        int argc = dice__split_args(line, n, &argv);
        const char *file = NULL, *type = NULL;
        long long seq = -1;
        if (argc < 0 || argc % 2)
            rc = DICE_EPROTO;
        for (int i = 0; rc == 0 && i < argc; i += 2) {
            if (!strcmp(argv[i], "file"))
                file = argv[i + 1];
            else if (!strcmp(argv[i], "type"))
                type = argv[i + 1];
            else if (!strcmp(argv[i], "seq") &&
                     !dice__str2ll(argv[i + 1], strlen(argv[i + 1]), &seq))
                rc = DICE_EPROTO;
        }
        if (rc == 0 && (!file || !type || seq < 0 || strchr(file, '/')))
            rc = DICE_EPROTO;
        if (rc == 0 && !strcmp(type, "b")) {
            if (a->base_type)
                rc = DICE_EPROTO;
            else {
                a->base_name = strdup(file);
                a->base_type = 'b';
                a->base_seq = seq;
            }
        } else if (rc == 0 && !strcmp(type, "i")) {
            rc = add_incr(a, file, seq);
        } else if (rc == 0 && !strcmp(type, "h")) {
            char *d = strdup(file);
            rc = d ? add_history(a, d) : DICE_ENOMEM;
        } else if (rc == 0) {
            rc = DICE_EPROTO;
        }
        dice__split_free(argv, argc);
    }
    fclose(f);
    if (rc < 0) {
        dice__logf(srv, DICE_LOG_WARNING,
                   "Invalid AOF manifest file format: %s", path);
        manifest_clear(a);
        return DICE_EPROTO;
    }
    if (a->base_seq > 0 && a->base_seq > a->incr_seq)
        (void)0; /* the counters are independent, as Redis's */
    return 0;
}

/* Delete the files the manifest lists as history. */
static void delete_history(dice_server_t *srv) {
    dice__aof_state *a = &srv->aof;
    if (a->nhistory == 0)
        return;
    for (size_t i = 0; i < a->nhistory; i++) {
        char p[4096];
        unlink(aof_path(srv, a->history[i], p, sizeof(p)));
        dice__logf(srv, DICE_LOG_NOTICE,
                   "Removing the history file %s in the "
                   "background",
                   a->history[i]);
        free(a->history[i]);
    }
    free(a->history);
    a->history = NULL;
    a->nhistory = 0;
    manifest_persist(srv); /* the manifest without them */
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
    int fd = open(aof_path(srv, name, p, sizeof(p)),
                  O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        dice__logf(srv, DICE_LOG_WARNING,
                   "Can't open the append-only file %s: %s", p,
                   strerror(errno));
    return fd;
}

/* Switch writing to a new incr file (seq + 1), fsync'ing and closing the
 * old one in the background; persist the manifest when persist. */
static int new_incr(dice_server_t *srv, bool persist) {
    dice__aof_state *a = &srv->aof;
    char name[1100];
    snprintf(name, sizeof(name), "%s.%lld.incr.aof", fname(srv),
             a->incr_seq + 1);
    int fd = open_append(srv, name);
    if (fd < 0)
        return DICE_ESYS;
    if (add_incr(a, name, a->incr_seq + 1) < 0) {
        close(fd);
        return DICE_ENOMEM;
    }
    if (persist && manifest_persist(srv) < 0) {
        /* Forget the new file: the old manifest still holds. */
        a->nincr--;
        free(a->incr[a->nincr].name);
        a->incr_seq--;
        close(fd);
        char p[4096];
        unlink(aof_path(srv, name, p, sizeof(p)));
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

/* ---- writing a base ------------------------------------------------------ */

typedef struct fd_out {
    int fd;
    bool incremental; /* aof-rewrite-incremental-fsync */
    size_t since_sync;
} fd_out;

static int fd_write(void *ctx, const void *d, size_t n) {
    fd_out *o = ctx;
    if (write_all(o->fd, d, n) < 0)
        return DICE_ESYS;
    /* Redis's REDIS_AUTOSYNC_BYTES: sync every 4 MB so the final fsync
     * has little left. */
    o->since_sync += n;
    if (o->incremental && o->since_sync >= 4u * 1024 * 1024) {
        fdatasync(o->fd);
        o->since_sync = 0;
    }
    return 0;
}

static long long used_mem(void) {
    long long rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        long long size, res;
        if (fscanf(f, "%lld %lld", &size, &res) == 2)
            rss = res * sysconf(_SC_PAGESIZE);
        fclose(f);
    }
    return rss;
}

/* Write the keyspace as a base file at path (preamble or plain), fsync'd.
 * 0 or negative with errno set. */
static int write_base(dice_server_t *srv, const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return DICE_ESYS;
    fd_out out = {fd, srv->cfg.aof_rewrite_incremental_fsync != 0, 0};
    int rc;
    if (srv->cfg.aof_use_rdb_preamble) {
        dice__rdb_save_opts o = {
            .compress = srv->cfg.rdbcompression,
            .checksum = srv->cfg.rdbchecksum,
            .aof_base = 1,
            .now_ms = (int64_t)dice_loop_unix_ms(srv->loop),
            .used_mem = used_mem(),
        };
        rc = dice__rdb_save_keyspace(srv->keyspace, &o, fd_write, &out, NULL);
    } else {
        rc = dice__aof_write_keyspace(srv->keyspace, fd_write, &out, NULL);
    }
    int e = errno;
    if (rc == 0 && fsync(fd) < 0)
        rc = DICE_ESYS, e = errno;
    if (close(fd) < 0 && rc == 0)
        rc = DICE_ESYS, e = errno;
    errno = e;
    return rc;
}

static void base_name_for(dice_server_t *srv, long long seq, char *buf,
                          size_t cap) {
    snprintf(buf, cap, "%s.%lld.base.%s", fname(srv), seq,
             srv->cfg.aof_use_rdb_preamble ? "rdb" : "aof");
}

/* ---- loading --------------------------------------------------------------
 */

typedef struct loader {
    dice_server_t *srv;
    dice_session_t *sess;
    const char *path;
    bool last; /* the last file: a short one may be truncated */
} loader;

/* Parse a "<c><number>\r\n" line at p[*pos]: 1 done, 0 short, -1 bad. */
static int read_head(const uint8_t *p, size_t len, size_t *pos, char c,
                     long long *v) {
    size_t i = *pos;
    if (i >= len)
        return 0;
    if (p[i] != (uint8_t)c)
        return -1;
    const uint8_t *nl = memchr(p + i, '\n', len - i);
    if (!nl)
        return len - i > 32 ? -1 : 0;
    size_t end = (size_t)(nl - p);
    if (end < i + 2 || p[end - 1] != '\r' ||
        !dice__str2ll((const char *)p + i + 1, end - 1 - i - 1, v) || *v < 0)
        return -1;
    *pos = end + 1;
    return 1;
}

enum { LOAD_OK = 0, LOAD_SHORT = 1, LOAD_BAD = 2 };

/* Replay the commands at p[from, len). *valid gets the offset after the
 * last complete command outside a MULTI. */
static int replay(loader *ld, const uint8_t *p, size_t len, size_t from,
                  size_t *valid, size_t *bad_at) {
    size_t pos = from;
    const char *sv[64];
    size_t sl[64];
    const char **argv = sv;
    size_t *argvlen = sl;
    size_t cap = 64;
    bool in_multi = false;
    size_t before_multi = from;
    int rc = LOAD_OK;
    *valid = from;
    while (pos < len) {
        size_t start = pos;
        if (p[pos] == '#') { /* an annotation (aof-timestamp-enabled) */
            const uint8_t *nl = memchr(p + pos, '\n', len - pos);
            if (!nl) {
                rc = LOAD_SHORT;
                break;
            }
            pos = (size_t)(nl - p) + 1;
            if (!in_multi)
                *valid = pos;
            continue;
        }
        long long argc;
        int h = read_head(p, len, &pos, '*', &argc);
        if (h <= 0 || argc < 1 || argc > 1024 * 1024) {
            rc = h == 0 ? LOAD_SHORT : LOAD_BAD;
            *bad_at = start;
            break;
        }
        if ((size_t)argc > cap) {
            size_t nc = (size_t)argc;
            const char **na = malloc(nc * sizeof(*na));
            size_t *nl = malloc(nc * sizeof(*nl));
            if (!na || !nl) {
                free(na);
                free(nl);
                rc = LOAD_BAD;
                *bad_at = start;
                break;
            }
            if (argv != sv) {
                free(argv);
                free(argvlen);
            }
            argv = na;
            argvlen = nl;
            cap = nc;
        }
        for (long long i = 0; i < argc && rc == LOAD_OK; i++) {
            long long n;
            h = read_head(p, len, &pos, '$', &n);
            if (h <= 0) {
                rc = h == 0 ? LOAD_SHORT : LOAD_BAD;
                break;
            }
            if ((unsigned long long)n + 2 > len - pos) {
                rc = LOAD_SHORT;
                break;
            }
            if (p[pos + (size_t)n] != '\r' || p[pos + (size_t)n + 1] != '\n') {
                rc = LOAD_BAD;
                break;
            }
            argv[i] = (const char *)p + pos;
            argvlen[i] = (size_t)n;
            pos += (size_t)n + 2;
        }
        if (rc != LOAD_OK) {
            *bad_at = start;
            break;
        }
        bool is_multi = argvlen[0] == 5 && !strncasecmp(argv[0], "multi", 5);
        bool is_exec = argvlen[0] == 4 && !strncasecmp(argv[0], "exec", 4);
        if (is_multi) {
            in_multi = true;
            before_multi = start;
        }
        const char *reply;
        size_t rlen;
        dice_session_call(ld->sess, (int)argc, argv, argvlen, &reply, &rlen);
        if (is_exec)
            in_multi = false;
        if (!in_multi)
            *valid = pos;
    }
    if (argv != sv) {
        free(argv);
        free(argvlen);
    }
    if (rc == LOAD_OK && in_multi) {
        rc = LOAD_SHORT;
        *bad_at = before_multi;
    }
    if (rc == LOAD_SHORT && in_multi) {
        const char *dv[1] = {"DISCARD"};
        size_t dl[1] = {7};
        const char *reply;
        size_t rlen;
        dice_session_call(ld->sess, 1, dv, dl, &reply, &rlen);
        dice__logf(ld->srv, DICE_LOG_WARNING,
                   "Revert incomplete MULTI/EXEC transaction in AOF file %s",
                   ld->path);
        *valid = before_multi;
    }
    return rc;
}

static void load_log(void *ctx, int level, const char *msg) {
    dice__logf(ctx, level, "%s", msg);
}

/* Load one file of the AOF: 0, or DICE_EPROTO (logged). */
static int load_one(loader *ld, const char *name) {
    dice_server_t *srv = ld->srv;
    char path[4096];
    aof_path(srv, name, path, sizeof(path));
    ld->path = path;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        dice__logf(srv, DICE_LOG_WARNING, "The AOF file %s doesn't exist",
                   name);
        return DICE_ENOENT;
    }
    struct stat st;
    fstat(fd, &st);
    size_t len = (size_t)st.st_size;
    if (len == 0) {
        close(fd);
        return 0;
    }
    const uint8_t *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
        close(fd);
        return DICE_ESYS;
    }
    srv->rdb.loading_total += len;
    size_t from = 0;
    int rc = 0;
    if (len >= 5 && !memcmp(p, "REDIS", 5)) {
        dice__logf(srv, DICE_LOG_NOTICE,
                   "Reading RDB base file on AOF loading...");
        dice__rdb_load_opts o = {
            .now_ms = (int64_t)dice_loop_unix_ms(srv->loop),
            .keep_expired = 1,
            .verify_checksum = srv->cfg.rdbchecksum,
            .log = load_log,
            .log_ctx = srv,
        };
        dice__rdb_load_info info;
        int lr = dice__rdb_load(srv->keyspace, p, len, &o, &info);
        if (lr < 0) {
            dice__logf(srv, DICE_LOG_WARNING,
                       "Error reading the RDB base file %s, AOF loading "
                       "aborted (at offset %zu: %s)",
                       name, info.err_offset, info.err);
            rc = DICE_EPROTO;
        } else {
            dice__logf(srv, DICE_LOG_NOTICE,
                       "Reading the remaining AOF tail...");
            from = info.used;
        }
    }
    size_t valid = from, bad_at = from;
    int r = rc == 0 ? replay(ld, p, len, from, &valid, &bad_at) : LOAD_OK;
    munmap((void *)p, len);
    if (rc == 0 && r == LOAD_SHORT) {
        if (ld->last && srv->cfg.aof_load_truncated) {
            dice__logf(srv, DICE_LOG_WARNING,
                       "!!! Warning: short read while loading the AOF file "
                       "%s!!!",
                       name);
            dice__logf(srv, DICE_LOG_WARNING,
                       "!!! Truncating the AOF %s at offset %llu !!!", name,
                       (unsigned long long)valid);
            if (ftruncate(fd, (off_t)valid) < 0) {
                dice__logf(srv, DICE_LOG_WARNING,
                           "Error truncating the AOF file %s: %s", name,
                           strerror(errno));
                rc = DICE_EPROTO;
            } else {
                dice__logf(srv, DICE_LOG_WARNING,
                           "AOF %s loaded anyway because aof-load-truncated "
                           "is enabled",
                           name);
            }
        } else {
            dice__logf(srv, DICE_LOG_WARNING,
                       "Unexpected end of file reading the append only file "
                       "%s (offset %zu). You can: 1) Make a backup of your AOF "
                       "file, then use ./redis-check-aof --fix "
                       "<filename.manifest>. 2) Alternatively you can set the "
                       "'aof-load-truncated' configuration option to yes and "
                       "restart the server.",
                       name, bad_at);
            rc = DICE_EPROTO;
        }
    } else if (rc == 0 && r == LOAD_BAD) {
        dice__logf(srv, DICE_LOG_WARNING,
                   "Bad file format reading the append only file %s at "
                   "offset %zu: make a backup of your AOF file, then use "
                   "./redis-check-aof --fix <filename.manifest>",
                   name, bad_at);
        rc = DICE_EPROTO;
    }
    close(fd);
    return rc;
}

/* Load base and incrs. 0 or negative (logged). */
static int load_all(dice_server_t *srv) {
    dice__aof_state *a = &srv->aof;
    loader ld = {srv, NULL, NULL, false};
    if (dice_session_new(srv, 2, &ld.sess) < 0)
        return DICE_ENOMEM;
    srv->rdb.loading = true;
    srv->rdb.loading_start = unix_s(srv);
    srv->rdb.loading_total = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t dirty = srv->keyspace->dirty;
    dice_keyspace_set_now(srv->keyspace, dice_loop_unix_ms(srv->loop));
    int rc = 0;
    size_t total = (a->base_type ? 1 : 0) + a->nincr;
    if (a->base_type) {
        ld.last = total == 1;
        rc = load_one(&ld, a->base_name);
        if (rc == 0)
            dice__logf(srv, DICE_LOG_NOTICE,
                       "DB loaded from base file %s: %.3f seconds",
                       a->base_name, 0.0);
    }
    for (size_t i = 0; rc == 0 && i < a->nincr; i++) {
        ld.last = i + 1 == a->nincr;
        rc = load_one(&ld, a->incr[i].name);
        if (rc == DICE_ENOENT && ld.last)
            rc = 0; /* created at the next open */
        if (rc == 0)
            dice__logf(srv, DICE_LOG_NOTICE,
                       "DB loaded from incr file %s: %.3f seconds",
                       a->incr[i].name, 0.0);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    srv->keyspace->dirty = dirty;
    srv->rdb.loading = false;
    dice_session_free(ld.sess);
    if (rc == 0)
        dice__logf(srv, DICE_LOG_NOTICE,
                   "DB loaded from append only file: "
                   "%.3f seconds",
                   (double)(t1.tv_sec - t0.tv_sec) +
                       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    return rc;
}

static void recompute_sizes(dice_server_t *srv) {
    dice__aof_state *a = &srv->aof;
    long long total = a->base_type ? file_size(srv, a->base_name) : 0;
    for (size_t i = 0; i < a->nincr; i++)
        total += file_size(srv, a->incr[i].name);
    a->cur_size = total;
    a->incr_size = a->nincr ? file_size(srv, a->incr[a->nincr - 1].name) : 0;
}

static int make_dir(dice_server_t *srv) {
    char d[4096];
    aof_dir(srv, d, sizeof(d));
    if (mkdir(d, 0755) < 0 && errno != EEXIST) {
        dice__logf(srv, DICE_LOG_WARNING,
                   "Can't open or create append-only dir %s: %s", d,
                   strerror(errno));
        return DICE_ESYS;
    }
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
    int rc = make_dir(srv);
    if (rc < 0)
        return rc;
    rc = manifest_load(srv);
    if (rc < 0 && rc != DICE_ENOENT)
        return rc;
    if (rc == 0) {
        rc = load_all(srv);
        if (rc < 0)
            return rc;
        delete_history(srv);
    }
    if (!a->base_type && a->nincr == 0) {
        /* A new directory: a base of the (empty) dataset first, as Redis's
         * aofOpenIfNeededOnServerStart. */
        char name[1100], path[4096];
        a->base_seq = 1;
        base_name_for(srv, 1, name, sizeof(name));
        if (write_base(srv, aof_path(srv, name, path, sizeof(path))) < 0) {
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
        rc = new_incr(srv, true);
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
    recompute_sizes(srv);
    a->base_size = a->cur_size;
    a->last_fsync_ms = dice_loop_now_ms(srv->loop);
    rc = attach_sink(srv);
    if (rc < 0)
        return rc;
    a->state = DICE__AOF_ON;
    return 0;
}

/* ---- rewriting ----------------------------------------------------------- */

static unsigned long long private_dirty(void) {
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    if (!f)
        return 0;
    char line[256];
    unsigned long long sum = 0, kb;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "Private_Dirty: %llu kB", &kb) == 1)
            sum += kb * 1024;
    fclose(f);
    return sum;
}

static void temp_base(dice_server_t *srv, int pid, char *buf, size_t cap) {
    char name[64];
    snprintf(name, sizeof(name), "temp-rewriteaof-bg-%d.aof", pid);
    aof_path(srv, name, buf, cap);
}

int dice__aof_rewrite(dice_server_t *srv) {
    dice__aof_state *a = &srv->aof;
    if (!srv->keyspace)
        return DICE_ESTATE;
    if (a->child > 0)
        return DICE_EEXIST;
    if (srv->rdb.child > 0) {
        a->scheduled = true;
        return DICE_EAGAIN;
    }
    if (make_dir(srv) < 0)
        return DICE_ESYS;
    /* What was logged so far goes to the current incr file, and writing
     * goes on in a new one the parent starts now. */
    if (a->state == DICE__AOF_ON) {
        dice__aof_flush(srv, true);
        if (a->fd >= 0 && fdatasync(a->fd) < 0) {
            /* stays with the old file: the rewrite waits */
        }
        if (new_incr(srv, true) < 0) {
            a->last_rewrite_ok = false;
            a->rewrite_failures++;
            return DICE_ESYS;
        }
    }
    if (a->state == DICE__AOF_OFF) {
        /* BGREWRITEAOF with appendonly no: a new base for the directory,
         * everything it held before becomes history. */
        manifest_clear(a);
        a->base_seq = a->incr_seq = 0;
        manifest_load(srv);
        a->fork_incr_seq = a->incr_seq + 1;
    } else {
        a->fork_incr_seq = a->incr_seq;
    }
    int pfd[2] = {-1, -1};
    if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) < 0)
        pfd[0] = pfd[1] = -1;
    uint64_t t0 = dice_loop_now_ms(srv->loop);
    pid_t pid = srv->rdb.fail_fork ? -1 : fork();
    if (srv->rdb.fail_fork)
        errno = EAGAIN;
    if (pid == 0) {
        char tmp[4096];
        temp_base(srv, (int)getpid(), tmp, sizeof(tmp));
        int rc = write_base(srv, tmp);
        if (rc == 0 && pfd[1] >= 0) {
            unsigned long long cow = private_dirty();
            if (write(pfd[1], &cow, sizeof(cow)) < 0) {
            }
        }
        _exit(rc == 0 ? 0 : 1);
    }
    if (pid < 0) {
        int e = errno;
        if (pfd[0] >= 0) {
            close(pfd[0]);
            close(pfd[1]);
        }
        a->last_rewrite_ok = false;
        a->rewrite_failures++;
        dice__logf(srv, DICE_LOG_WARNING,
                   "Can't rewrite append only file in background: fork: %s",
                   strerror(e));
        errno = e;
        return DICE_ESYS;
    }
    if (pfd[1] >= 0)
        close(pfd[1]);
    a->cow_fd = pfd[0];
    a->child = pid;
    a->child_start = unix_s(srv);
    a->scheduled = false;
    dice__logf(srv, DICE_LOG_NOTICE,
               "Background append only file rewriting started by pid %d "
               "(fork took %llu ms)",
               (int)pid,
               (unsigned long long)(dice_loop_now_ms(srv->loop) - t0));
    return 0;
}

static const char *temp_incr(dice_server_t *srv, char *buf, size_t cap) {
    char name[1100];
    snprintf(name, sizeof(name), "temp-%s.incr", fname(srv));
    return aof_path(srv, name, buf, cap);
}

/* The child wrote its base: make it the manifest's. */
static int rewrite_install(dice_server_t *srv) {
    dice__aof_state *a = &srv->aof;
    char tmp[4096], name[1100], path[4096];
    temp_base(srv, a->child, tmp, sizeof(tmp));
    long long seq = a->base_seq + 1;
    base_name_for(srv, seq, name, sizeof(name));
    aof_path(srv, name, path, sizeof(path));
    if (rename(tmp, path) < 0) {
        dice__logf(srv, DICE_LOG_WARNING,
                   "Error trying to rename the temporary AOF base file %s into "
                   "%s: %s",
                   tmp, name, strerror(errno));
        unlink(tmp);
        return DICE_ESYS;
    }
    sync_dir(srv);
    /* The new manifest: the new base, the incrs from the fork on; the
     * old base and incrs become history. Built on copies, so a failure
     * leaves the old one in force. */
    char *old_base = a->base_type ? a->base_name : NULL;
    long long old_seq = a->base_seq;
    char old_type = a->base_type;
    size_t keep = 0;
    while (keep < a->nincr && a->incr[keep].seq < a->fork_incr_seq)
        keep++;
    a->base_name = strdup(name);
    a->base_type = 'b';
    a->base_seq = seq;
    size_t nh0 = a->nhistory;
    if (old_base)
        add_history(a, strdup(old_base));
    for (size_t i = 0; i < keep; i++)
        add_history(a, strdup(a->incr[i].name));
    /* CONFIG SET appendonly yes: what was written since is renamed from
     * its temp file into the first incr of the new manifest. */
    bool waited = a->state == DICE__AOF_WAIT_REWRITE;
    char iname[1100], ipath[4096], itmp[4096];
    if (waited) {
        dice__aof_flush(srv, true);
        snprintf(iname, sizeof(iname), "%s.%lld.incr.aof", fname(srv),
                 a->incr_seq + 1);
        aof_path(srv, iname, ipath, sizeof(ipath));
        if (rename(temp_incr(srv, itmp, sizeof(itmp)), ipath) < 0 ||
            add_incr(a, iname, a->incr_seq + 1) < 0) {
            dice__logf(srv, DICE_LOG_WARNING,
                       "Can't install the AOF incr file %s: %s", iname,
                       strerror(errno));
            waited = false;
        }
    }
    dice__aof_incr *saved = a->incr;
    size_t nsaved = a->nincr;
    a->incr = saved + keep;
    a->nincr = nsaved - keep;
    int rc = manifest_persist(srv);
    a->incr = saved;
    a->nincr = nsaved;
    if (rc == 0 && waited) {
        a->state = DICE__AOF_ON;
        a->incr_size = file_size(srv, iname);
        dice__logf(srv, DICE_LOG_NOTICE,
                   "AOF rewrite done, AOF is now enabled");
    } else if (waited) {
        /* Back to the temp name, to wait for the next try. */
        rename(ipath, itmp);
        a->nincr--;
        free(a->incr[a->nincr].name);
        a->incr_seq--;
    }
    if (rc < 0) {
        free(a->base_name);
        a->base_name = old_base;
        a->base_type = old_type;
        a->base_seq = old_seq;
        while (a->nhistory > nh0)
            free(a->history[--a->nhistory]);
        unlink(path);
        return rc;
    }
    free(old_base);
    for (size_t i = 0; i < keep; i++)
        free(a->incr[i].name);
    memmove(a->incr, a->incr + keep, (a->nincr - keep) * sizeof(*a->incr));
    a->nincr -= keep;
    dice__logf(srv, DICE_LOG_NOTICE,
               "Successfully renamed the temporary AOF base file %s into %s",
               tmp, name);
    delete_history(srv);
    return 0;
}

static void child_done(dice_server_t *srv, int status) {
    dice__aof_state *a = &srv->aof;
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (ok) {
        dice__logf(srv, DICE_LOG_NOTICE,
                   "Background AOF rewrite terminated with success");
        unsigned long long cow = 0;
        if (a->cow_fd >= 0 &&
            read(a->cow_fd, &cow, sizeof(cow)) == (ssize_t)sizeof(cow))
            a->last_cow = cow;
        ok = rewrite_install(srv) == 0;
        if (ok) {
            recompute_sizes(srv);
            a->base_size = a->cur_size;
            dice__logf(srv, DICE_LOG_NOTICE,
                       "Background AOF rewrite finished successfully");
        }
    } else {
        char tmp[4096];
        temp_base(srv, a->child, tmp, sizeof(tmp));
        unlink(tmp);
        if (WIFSIGNALED(status))
            dice__logf(srv, DICE_LOG_WARNING,
                       "Background AOF rewrite terminated by signal %d",
                       WTERMSIG(status));
        else
            dice__logf(srv, DICE_LOG_WARNING,
                       "Background AOF rewrite terminated with error");
    }
    bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGUSR1;
    if (ok) {
        a->rewrites++;
        a->rewrite_failures = 0;
        a->last_rewrite_ok = true;
    } else if (!killed) {
        a->rewrite_failures++;
        a->last_rewrite_ok = false;
        /* CONFIG SET appendonly yes waits for a good base: try again. */
        if (a->state == DICE__AOF_WAIT_REWRITE)
            a->scheduled = true;
    }
    a->last_rewrite_secs = unix_s(srv) - a->child_start;
    a->child = 0;
    if (a->cow_fd >= 0)
        close(a->cow_fd);
    a->cow_fd = -1;
}

void dice__aof_kill_child(dice_server_t *srv) {
    dice__aof_state *a = &srv->aof;
    if (a->child <= 0)
        return;
    dice__logf(srv, DICE_LOG_NOTICE, "Killing running AOF rewrite child: %d",
               a->child);
    kill(a->child, SIGUSR1);
    int status;
    while (waitpid(a->child, &status, 0) < 0 && errno == EINTR) {
    }
    char tmp[4096];
    temp_base(srv, a->child, tmp, sizeof(tmp));
    unlink(tmp);
    a->child = 0;
    if (a->cow_fd >= 0)
        close(a->cow_fd);
    a->cow_fd = -1;
}

/* ---- turning it on and off at run time ------------------------------------
 */

static int start_at_runtime(dice_server_t *srv) {
    dice__aof_state *a = &srv->aof;
    if (make_dir(srv) < 0)
        return DICE_ESYS;
    /* Sequence numbers go on from what the directory holds. */
    manifest_clear(a);
    a->base_seq = a->incr_seq = 0;
    if (manifest_load(srv) == 0) {
        if (a->base_type)
            add_history(a, strdup(a->base_name));
        for (size_t i = 0; i < a->nincr; i++)
            add_history(a, strdup(a->incr[i].name));
        free(a->base_name);
        a->base_name = NULL;
        a->base_type = 0;
        for (size_t i = 0; i < a->nincr; i++)
            free(a->incr[i].name);
        a->nincr = 0;
    }
    char tmp[4096];
    int fd = open(temp_incr(srv, tmp, sizeof(tmp)),
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
        unlink(temp_incr(srv, tmp, sizeof(tmp)));
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
            child_done(srv, status);
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
    long long now = unix_s(srv);
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
    manifest_clear(a);
    if (a->cow_fd >= 0)
        close(a->cow_fd);
    a->cow_fd = -1;
}
