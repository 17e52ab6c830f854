/* Snapshots: the server's side of RDB files (the format itself is
 * lib/types/rdb_file.c). SAVE writes the file from the loop's thread;
 * BGSAVE forks a child that writes it from its copy-on-write image of the
 * keyspace while the parent keeps serving, and the keyspace cron reaps the
 * child (waitpid, WNOHANG), fires the `save <seconds> <changes>` points and
 * a scheduled BGSAVE, as Redis's serverCron. Loading at start, the
 * -MISCONF state of stop-writes-on-bgsave-error, and INFO persistence's
 * rdb_* fields live here too.
 *
 * A file is written as temp-<pid>.rdb in dir, fsync'd, renamed over
 * dbfilename, and the directory fsync'd: a crash at any point leaves the
 * previous snapshot or the new one, never half of one. The child reports
 * how much memory copy-on-write cost it (Private_Dirty of its mappings)
 * through a pipe, for rdb_last_cow_size. */
#include "types/rdb.h"
#include "keyspace/db_internal.h"
#include "server/server_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Redis's CONFIG_BGSAVE_RETRY_DELAY: after a failed BGSAVE, save points
 * wait this many seconds before trying again. */
#define BGSAVE_RETRY_DELAY 5

static long long unix_s(dice_server_t *srv) {
    return (long long)(dice_loop_unix_ms(srv->loop) / 1000);
}

/* ---- save points (the "save" setting) ---------------------------------- */

int dice__rdb_parse_save(const char *text, dice__save_point **out, size_t *n) {
    char **argv = NULL;
    int argc = dice__split_args(text, strlen(text), &argv);
    *out = NULL;
    *n = 0;
    if (argc < 0 || argc % 2) {
        dice__split_free(argv, argc);
        return DICE_EINVAL;
    }
    dice__save_point *p = argc ? calloc((size_t)argc / 2, sizeof(*p)) : NULL;
    if (argc && !p) {
        dice__split_free(argv, argc);
        return DICE_ENOMEM;
    }
    for (int i = 0; i < argc; i += 2) {
        long long s, c;
        if (!dice__str2ll(argv[i], strlen(argv[i]), &s) ||
            !dice__str2ll(argv[i + 1], strlen(argv[i + 1]), &c) || s < 1 ||
            c < 0) {
            free(p);
            dice__split_free(argv, argc);
            return DICE_EINVAL;
        }
        p[i / 2].seconds = s;
        p[i / 2].changes = c;
    }
    dice__split_free(argv, argc);
    *out = p;
    *n = (size_t)argc / 2;
    return 0;
}

void dice__rdb_apply_save(dice_server_t *srv) {
    dice__save_point *p;
    size_t n;
    if (dice__rdb_parse_save(srv->cfg.save ? srv->cfg.save : "", &p, &n) < 0)
        return; /* checked before it was stored */
    free(srv->rdb.points);
    srv->rdb.points = p;
    srv->rdb.npoints = n;
    dice__rdb_update_denied(srv);
}

bool dice__rdb_denies(const dice_server_t *srv) {
    return srv->cfg.stop_writes_on_bgsave_err && srv->rdb.npoints > 0 &&
           !srv->rdb.last_bgsave_ok;
}

/* The dispatcher's one flag covers both disk errors: a failed BGSAVE
 * (above) and a failed append-only file write (lib/server/aof.c). */
void dice__rdb_update_denied(dice_server_t *srv) {
    srv->rdb.write_denied =
        dice__rdb_denies(srv) ||
        (srv->aof.state != DICE__AOF_OFF && !srv->aof.last_write_ok);
    dice__server_refuse(srv, DICE__REFUSE_MISCONF, srv->rdb.write_denied);
}

/* ---- writing a file -------------------------------------------------------
 */

typedef struct fd_out {
    int fd;
} fd_out;

static int fd_write(void *ctx, const void *d, size_t n) {
    fd_out *o = ctx;
    const char *p = d;
    while (n) {
        ssize_t w = write(o->fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return DICE_ESYS;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* dir/name (or name when no dir is set) into buf. */
static const char *in_dir(dice_server_t *srv, const char *name, char *buf,
                          size_t cap) {
    const char *dir = srv->cfg.dir;
    if (!dir || !*dir || name[0] == '/')
        snprintf(buf, cap, "%s", name);
    else
        snprintf(buf, cap, "%s/%s", dir, name);
    return buf;
}

static int sync_dir_of(const char *path) {
    char d[4096];
    snprintf(d, sizeof(d), "%s", path);
    char *slash = strrchr(d, '/');
    if (slash)
        *(slash == d ? slash + 1 : slash) = '\0';
    else
        snprintf(d, sizeof(d), ".");
    int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* The clock a file carries: what the maxmemory-policy (when the setting
 * exists) keeps, as Redis writes LRU idle times or LFU counters. */
static int clock_mode(dice_server_t *srv) {
    char *pol = dice__config_value(srv, "maxmemory-policy");
    int m = DICE__RDB_CLOCK_NONE;
    if (pol && strstr(pol, "lru"))
        m = DICE__RDB_CLOCK_IDLE;
    else if (pol && strstr(pol, "lfu"))
        m = DICE__RDB_CLOCK_FREQ;
    free(pol);
    return m;
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

/* Write the keyspace to path through a temporary file in the same
 * directory. Logs the failure; errno tells it for DICE_ESYS. */
static int save_to(dice_server_t *srv, const char *path, uint64_t *nkeys) {
    char tmp[4096];
    char name[64];
    snprintf(name, sizeof(name), "temp-%d.rdb", (int)getpid());
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(tmp, sizeof(tmp), "%.*s/%s", (int)(slash - path), path, name);
    else
        snprintf(tmp, sizeof(tmp), "%s", name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        char cwd[1024];
        dice__logf(srv, DICE_LOG_WARNING,
                   "Failed opening the temp RDB file %s (in server root dir "
                   "%s) for saving: %s",
                   name, getcwd(cwd, sizeof(cwd)) ? cwd : "unknown",
                   strerror(errno));
        return DICE_ESYS;
    }
    dice__rdb_save_opts o = {
        .compress = srv->cfg.rdbcompression,
        .checksum = srv->cfg.rdbchecksum,
        .clock = clock_mode(srv),
        .now_ms = (int64_t)dice_loop_unix_ms(srv->loop),
        .used_mem = used_mem(),
        .functions = srv->functions_save,
        .functions_ctx = srv,
    };
    fd_out out = {fd};
    int rc = dice__rdb_save_keyspace(srv->keyspace, &o, fd_write, &out, nkeys);
    int e = errno;
    if (rc == 0 && fsync(fd) < 0)
        rc = DICE_ESYS, e = errno;
    if (close(fd) < 0 && rc == 0)
        rc = DICE_ESYS, e = errno;
    if (rc == 0 && rename(tmp, path) < 0) {
        e = errno;
        dice__logf(srv, DICE_LOG_WARNING,
                   "Error moving temp DB file %s on the final destination %s "
                   "(in server root dir): %s",
                   tmp, path, strerror(e));
        unlink(tmp);
        errno = e;
        return DICE_ESYS;
    }
    if (rc < 0) {
        dice__logf(srv, DICE_LOG_WARNING, "Write error saving DB on disk: %s",
                   rc == DICE_ESYS ? strerror(e) : dice_strerror(rc));
        unlink(tmp);
        errno = e;
        return rc;
    }
    sync_dir_of(path);
    return 0;
}

static const char *rdb_path(dice_server_t *srv, char *buf, size_t cap) {
    return in_dir(srv, srv->cfg.dbfilename ? srv->cfg.dbfilename : "dump.rdb",
                  buf, cap);
}

int dice__rdb_save(dice_server_t *srv, const char *path) {
    if (!srv->keyspace)
        return DICE_ESTATE;
    char buf[4096];
    if (!path)
        path = rdb_path(srv, buf, sizeof(buf));
    uint64_t n;
    int rc = save_to(srv, path, &n);
    if (rc < 0)
        return rc;
    dice__logf(srv, DICE_LOG_NOTICE, "DB saved on disk");
    srv->rdb.dirty_at_save = dice__keyspace_dirty(srv->keyspace);
    srv->rdb.lastsave = unix_s(srv);
    srv->rdb.last_bgsave_ok = true; /* as Redis's rdbSave */
    srv->rdb.saves++;
    dice__rdb_update_denied(srv);
    return 0;
}

/* ---- the child ------------------------------------------------------------
 */

/* Private_Dirty of every mapping of this process: the pages the child
 * had to copy (Redis's zmalloc_get_private_dirty). */
static unsigned long long private_dirty(void) {
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    if (!f)
        f = fopen("/proc/self/smaps", "r");
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

pid_t dice__fork_child(dice_server_t *srv,
                       int (*work)(dice_server_t *srv, void *arg), void *arg,
                       int *cow_fd, uint64_t *fork_ms) {
    int pfd[2] = {-1, -1};
    if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) < 0)
        pfd[0] = pfd[1] = -1;
    uint64_t t0 = dice_loop_now_ms(srv->loop);
    pid_t pid = srv->rdb.fail_fork ? -1 : fork();
    if (srv->rdb.fail_fork)
        errno = EAGAIN;
    if (pid == 0) {
        /* The child: its own copy of the keyspace, no loop, no threads.
         * It writes, reports its copy-on-write cost and leaves without
         * running the parent's exit handlers (_exit). */
        int rc = work(srv, arg);
        if (rc == 0 && pfd[1] >= 0) {
            unsigned long long cow = private_dirty();
            if (write(pfd[1], &cow, sizeof(cow)) < 0) {
                /* the parent then reports 0 */
            }
        }
        _exit(rc == 0 ? 0 : 1);
    }
    int e = errno;
    if (pfd[1] >= 0)
        close(pfd[1]);
    if (pid < 0 && pfd[0] >= 0) {
        close(pfd[0]);
        pfd[0] = -1;
    }
    *cow_fd = pfd[0];
    *fork_ms = dice_loop_now_ms(srv->loop) - t0;
    errno = e;
    return pid;
}

static int bgsave_work(dice_server_t *srv, void *arg) {
    (void)arg;
    char buf[4096];
    return save_to(srv, rdb_path(srv, buf, sizeof(buf)), NULL);
}

int dice__rdb_bgsave(dice_server_t *srv) {
    if (!srv->keyspace)
        return DICE_ESTATE;
    if (srv->rdb.child > 0)
        return DICE_EEXIST;
    if (srv->aof.child > 0) {
        srv->rdb.scheduled = true; /* after the rewrite, as Redis */
        return DICE_EAGAIN;
    }
    srv->rdb.lastbgsave_try = unix_s(srv);
    srv->rdb.dirty_at_bgsave = dice__keyspace_dirty(srv->keyspace);
    int cow_fd;
    uint64_t fork_ms;
    pid_t pid = dice__fork_child(srv, bgsave_work, NULL, &cow_fd, &fork_ms);
    if (pid < 0) {
        int e = errno;
        srv->rdb.last_bgsave_ok = false;
        dice__rdb_update_denied(srv);
        dice__logf(srv, DICE_LOG_WARNING, "Can't save in background: fork: %s",
                   strerror(e));
        errno = e;
        return DICE_ESYS;
    }
    srv->rdb.cow_fd = cow_fd;
    srv->rdb.child = pid;
    srv->rdb.child_start = unix_s(srv);
    srv->rdb.saves++;
    srv->rdb.scheduled = false;
    dice__logf(srv, DICE_LOG_NOTICE,
               "Background saving started by pid %d (fork took %llu ms)",
               (int)pid, (unsigned long long)fork_ms);
    return 0;
}

static void child_done(dice_server_t *srv, int status) {
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (ok) {
        dice__logf(srv, DICE_LOG_NOTICE,
                   "Background saving terminated with success");
        srv->rdb.dirty_at_save = srv->rdb.dirty_at_bgsave;
        srv->rdb.lastsave = unix_s(srv);
        unsigned long long cow = 0;
        if (srv->rdb.cow_fd >= 0 &&
            read(srv->rdb.cow_fd, &cow, sizeof(cow)) == (ssize_t)sizeof(cow))
            srv->rdb.last_cow = cow;
    } else if (WIFSIGNALED(status)) {
        dice__logf(srv, DICE_LOG_WARNING,
                   "Background saving terminated by signal %d",
                   WTERMSIG(status));
        char tmp[4096], name[64];
        snprintf(name, sizeof(name), "temp-%d.rdb", (int)srv->rdb.child);
        unlink(in_dir(srv, name, tmp, sizeof(tmp)));
    } else {
        dice__logf(srv, DICE_LOG_WARNING, "Background saving error");
    }
    /* Killed by us (SIGUSR1: FLUSHALL, SHUTDOWN) is not a failure. */
    if (ok || !WIFSIGNALED(status) || WTERMSIG(status) != SIGUSR1)
        srv->rdb.last_bgsave_ok = ok;
    srv->rdb.last_bgsave_secs = unix_s(srv) - srv->rdb.child_start;
    srv->rdb.child = 0;
    if (srv->rdb.cow_fd >= 0)
        close(srv->rdb.cow_fd);
    srv->rdb.cow_fd = -1;
    dice__rdb_update_denied(srv);
}

void dice__rdb_kill_child(dice_server_t *srv) {
    if (srv->rdb.child <= 0)
        return;
    kill(srv->rdb.child, SIGUSR1);
    int status;
    while (waitpid(srv->rdb.child, &status, 0) < 0 && errno == EINTR) {
    }
    child_done(srv, status);
}

void dice__rdb_cron(dice_server_t *srv) {
    if (srv->rdb.child > 0) {
        int status;
        pid_t r = waitpid(srv->rdb.child, &status, WNOHANG);
        if (r == srv->rdb.child)
            child_done(srv, status);
        else if (r < 0 && errno == ECHILD) {
            srv->rdb.child = 0; /* reaped by someone else */
            srv->rdb.last_bgsave_ok = false;
            dice__rdb_update_denied(srv);
        }
        return;
    }
    if (srv->aof.child > 0)
        return; /* one child at a time */
    long long now = unix_s(srv);
    bool may_retry = now - srv->rdb.lastbgsave_try > BGSAVE_RETRY_DELAY ||
                     srv->rdb.last_bgsave_ok;
    if (srv->rdb.scheduled && may_retry) {
        dice__rdb_bgsave(srv);
        return;
    }
    uint64_t changes =
        dice__keyspace_dirty(srv->keyspace) - srv->rdb.dirty_at_save;
    for (size_t i = 0; i < srv->rdb.npoints; i++) {
        const dice__save_point *p = &srv->rdb.points[i];
        if (changes >= (uint64_t)p->changes &&
            now - srv->rdb.lastsave > p->seconds && may_retry) {
            dice__logf(srv, DICE_LOG_NOTICE,
                       "%lld changes in %lld seconds. "
                       "Saving...",
                       p->changes, p->seconds);
            dice__rdb_bgsave(srv);
            return;
        }
    }
}

/* Redis's loading_* fields, with its percentage and estimate. */
void dice__rdb_loading_info(dice_server_t *srv, dice_buf_t *b) {
    if (!srv->rdb.loading)
        return;
    size_t total = srv->rdb.loading_total, done = srv->rdb.loading_loaded;
    if (done > total)
        done = total;
    double perc = total ? (double)done / (double)total * 100 : 0;
    long long elapsed = unix_s(srv) - srv->rdb.loading_start;
    long long eta = elapsed <= 0
                        ? 1
                        : (long long)((double)elapsed * (double)(total - done) /
                                      (double)(done + 1));
    dice__buf_printf(b,
                     "loading_start_time:%lld\r\n"
                     "loading_total_bytes:%zu\r\n"
                     "loading_rdb_used_mem:%lld\r\n"
                     "loading_loaded_bytes:%zu\r\n"
                     "loading_loaded_perc:%.2f\r\n"
                     "loading_eta_seconds:%lld\r\n",
                     srv->rdb.loading_start, total, srv->rdb.loading_used_mem,
                     done, perc, eta);
}

void dice__rdb_free(dice_server_t *srv) {
    free(srv->rdb.points);
    srv->rdb.points = NULL;
    srv->rdb.npoints = 0;
    if (srv->rdb.cow_fd >= 0)
        close(srv->rdb.cow_fd);
    srv->rdb.cow_fd = -1;
}

/* ---- loading --------------------------------------------------------------
 */

static void load_log(void *ctx, int level, const char *msg) {
    dice__logf(ctx, level, "%s", msg);
}

/* ---- loading progress ------------------------------------------------------
 */

void dice__rdb_loading_begin(dice_server_t *srv, size_t total) {
    srv->rdb.loading = true;
    srv->rdb.loading_start = unix_s(srv);
    srv->rdb.loading_total = total;
    srv->rdb.loading_loaded = 0;
    srv->rdb.loading_used_mem = 0;
}

bool dice__rdb_loading_progress(dice_server_t *srv, size_t loaded) {
    srv->rdb.loading_loaded = loaded;
    /* Only at start are there clients waiting for the load (DEBUG RELOAD
     * runs inside a command, and no other client runs meanwhile). */
    if (srv->started)
        return false;
    dice__server_refuse(srv, DICE__REFUSE_LOADING, true);
    dice__server_process_events_nested(srv);
    dice__server_refuse(srv, DICE__REFUSE_LOADING, false);
    /* SHUTDOWN or a signal meanwhile: the load stops here, as Redis's
     * whileBlockedCron exits at once (nothing is saved: a partial
     * dataset must not replace the file). */
    return srv->shutdown_asked;
}

void dice__rdb_loading_end(dice_server_t *srv) {
    srv->rdb.loading = false;
}

static bool rdb_progress(void *ctx, size_t pos,
                         const dice__rdb_load_info *info) {
    dice_server_t *srv = ctx;
    srv->rdb.load_loaded = info->keys_loaded;
    srv->rdb.loading_used_mem = info->used_mem;
    return dice__rdb_loading_progress(srv, pos);
}

int dice__rdb_load_file(dice_server_t *srv, const char *path,
                        bool quiet_enoent) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT && quiet_enoent)
            return DICE_ENOENT;
        dice__logf(srv, DICE_LOG_WARNING,
                   "Fatal error loading the DB: %s. "
                   "Exiting.",
                   strerror(errno));
        return DICE_ESYS;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return DICE_ESYS;
    }
    size_t len = (size_t)st.st_size;
    const uint8_t *p = NULL;
    if (len) {
        void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            close(fd);
            return DICE_ESYS;
        }
        madvise(m, len, MADV_SEQUENTIAL);
        p = m;
    }
    close(fd);
    dice__rdb_loading_begin(srv, len);
    uint64_t t0 = dice_loop_now_ms(srv->loop);
    struct timespec ts0, ts1;
    clock_gettime(CLOCK_MONOTONIC, &ts0);
    dice_keyspace_set_now(srv->keyspace, dice_loop_unix_ms(srv->loop));
    dice__rdb_load_opts o = {
        .now_ms = (int64_t)dice_loop_unix_ms(srv->loop),
        .verify_checksum = srv->cfg.rdbchecksum,
        .log = load_log,
        .log_ctx = srv,
        .function = srv->functions_load,
        .function_ctx = srv,
        .progress = rdb_progress,
        .progress_ctx = srv,
        .progress_every = DICE__LOADING_EVENTS_BYTES,
    };
    dice__rdb_load_info info;
    /* Loading is no change to propagate or to save again (Redis leaves
     * server.dirty alone while it loads). */
    uint64_t dirty = srv->keyspace->dirty;
    int rc = dice__rdb_load(srv->keyspace, p ? p : (const uint8_t *)"", len, &o,
                            &info);
    srv->keyspace->dirty = dirty;
    if (p)
        munmap((void *)p, len);
    (void)t0;
    clock_gettime(CLOCK_MONOTONIC, &ts1);
    dice__rdb_loading_end(srv);
    srv->rdb.load_loaded = info.keys_loaded;
    srv->rdb.load_expired = info.keys_expired;
    if (rc == DICE_ECLOSED)
        return rc; /* a shutdown stopped it */
    if (rc < 0) {
        dice__logf(srv, DICE_LOG_WARNING,
                   "Short read or corrupt RDB file %s at offset %zu: %s", path,
                   info.err_offset, info.err);
        return rc;
    }
    if (info.keys_empty)
        dice__logf(srv, DICE_LOG_NOTICE,
                   "Done loading RDB, keys loaded: %llu, keys expired: %llu, "
                   "empty keys skipped: %llu.",
                   (unsigned long long)info.keys_loaded,
                   (unsigned long long)info.keys_expired,
                   (unsigned long long)info.keys_empty);
    else
        dice__logf(srv, DICE_LOG_NOTICE,
                   "Done loading RDB, keys loaded: %llu, keys expired: %llu.",
                   (unsigned long long)info.keys_loaded,
                   (unsigned long long)info.keys_expired);
    double secs = (double)(ts1.tv_sec - ts0.tv_sec) +
                  (double)(ts1.tv_nsec - ts0.tv_nsec) / 1e9;
    dice__logf(srv, DICE_LOG_NOTICE, "DB loaded from disk: %.3f seconds", secs);
    /* What was loaded is what is on disk (Redis: dirty = 0). */
    srv->rdb.dirty_at_save = dice__keyspace_dirty(srv->keyspace);
    srv->rdb.lastsave = unix_s(srv);
    return 0;
}

int dice__rdb_load_startup(dice_server_t *srv) {
    if (!srv->keyspace)
        return 0;
    char buf[4096];
    int rc = dice__rdb_load_file(srv, rdb_path(srv, buf, sizeof(buf)), true);
    return rc == DICE_ENOENT ? 0 : rc;
}

/* ---- INFO persistence ------------------------------------------------------
 */

void dice__rdb_info(dice_server_t *srv, dice_buf_t *b) {
    long long now = unix_s(srv);
    uint64_t dirty = srv->keyspace ? dice__keyspace_dirty(srv->keyspace) : 0;
    dice__buf_printf(b,
                     "loading:%d\r\n"
                     "async_loading:0\r\n"
                     "current_cow_peak:0\r\n"
                     "current_cow_size:0\r\n"
                     "current_cow_size_age:0\r\n"
                     "current_fork_perc:0.00\r\n"
                     "current_save_keys_processed:0\r\n"
                     "current_save_keys_total:0\r\n"
                     "rdb_changes_since_last_save:%llu\r\n"
                     "rdb_bgsave_in_progress:%d\r\n"
                     "rdb_last_save_time:%lld\r\n"
                     "rdb_last_bgsave_status:%s\r\n"
                     "rdb_last_bgsave_time_sec:%lld\r\n"
                     "rdb_current_bgsave_time_sec:%lld\r\n"
                     "rdb_saves:%llu\r\n"
                     "rdb_last_cow_size:%llu\r\n"
                     "rdb_last_load_keys_expired:%llu\r\n"
                     "rdb_last_load_keys_loaded:%llu\r\n",
                     srv->rdb.loading ? 1 : 0,
                     (unsigned long long)(dirty - srv->rdb.dirty_at_save),
                     srv->rdb.child > 0 ? 1 : 0, srv->rdb.lastsave,
                     srv->rdb.last_bgsave_ok ? "ok" : "err",
                     srv->rdb.last_bgsave_secs,
                     srv->rdb.child > 0 ? now - srv->rdb.child_start : -1LL,
                     (unsigned long long)srv->rdb.saves, srv->rdb.last_cow,
                     (unsigned long long)srv->rdb.load_expired,
                     (unsigned long long)srv->rdb.load_loaded);
}
