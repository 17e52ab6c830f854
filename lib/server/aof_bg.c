/* Writing a base file, and rewriting the append-only file in the background
 * (lib/server/aof.h).
 *
 * BGREWRITEAOF (and auto-aof-rewrite-*): the parent flushes, opens a
 * new incr file and records it in the manifest, then forks; the child
 * writes a new base from its copy-on-write image. On success the parent
 * renames it into place, fsyncs the directory, writes the new manifest
 * atomically (temp, fsync, rename, fsync the directory) and deletes the
 * files the manifest no longer names. No rewrite buffer: what the parent
 * wrote meanwhile is in the new incr file already (Redis 7.0's design).
 * A crash at any point leaves a manifest naming complete files only. */
#include "server/aof.h"
#include "types/rdb.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- writing a base ------------------------------------------------------ */

typedef struct fd_out {
    int fd;
    bool incremental; /* aof-rewrite-incremental-fsync */
    size_t since_sync;
} fd_out;

static int fd_write(void *ctx, const void *d, size_t n) {
    fd_out *o = ctx;
    if (dice__aof_write_all(o->fd, d, n) < 0)
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
int dice__aof_write_base(dice_server_t *srv, const char *path) {
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

void dice__aof_base_name(dice_server_t *srv, long long seq, char *buf,
                         size_t cap) {
    snprintf(buf, cap, "%s.%lld.base.%s", dice__aof_name(srv), seq,
             srv->cfg.aof_use_rdb_preamble ? "rdb" : "aof");
}

/* ---- rewriting ----------------------------------------------------------- */

static void temp_base(dice_server_t *srv, int pid, char *buf, size_t cap) {
    char name[64];
    snprintf(name, sizeof(name), "temp-rewriteaof-bg-%d.aof", pid);
    dice__aof_path(srv, name, buf, cap);
}

/* The rewrite child's work: the new base in its temporary file. */
static int rewrite_work(dice_server_t *srv, void *arg) {
    (void)arg;
    char tmp[4096];
    temp_base(srv, (int)getpid(), tmp, sizeof(tmp));
    return dice__aof_write_base(srv, tmp);
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
    if (dice__aof_make_dir(srv) < 0)
        return DICE_ESYS;
    /* What was logged so far goes to the current incr file, and writing
     * goes on in a new one the parent starts now. */
    if (a->state == DICE__AOF_ON) {
        dice__aof_flush(srv, true);
        if (a->fd >= 0 && fdatasync(a->fd) < 0) {
            /* stays with the old file: the rewrite waits */
        }
        if (dice__aof_new_incr(srv, true) < 0) {
            a->last_rewrite_ok = false;
            a->rewrite_failures++;
            return DICE_ESYS;
        }
    }
    if (a->state == DICE__AOF_OFF) {
        /* BGREWRITEAOF with appendonly no: a new base for the directory,
         * everything it held before becomes history. */
        dice__aof_manifest_clear(a);
        a->base_seq = a->incr_seq = 0;
        dice__aof_manifest_load(srv);
        a->fork_incr_seq = a->incr_seq + 1;
    } else {
        a->fork_incr_seq = a->incr_seq;
    }
    int cow_fd;
    uint64_t fork_ms;
    pid_t pid = dice__fork_child(srv, rewrite_work, NULL, &cow_fd, &fork_ms);
    if (pid < 0) {
        int e = errno;
        a->last_rewrite_ok = false;
        a->rewrite_failures++;
        dice__logf(srv, DICE_LOG_WARNING,
                   "Can't rewrite append only file in background: fork: %s",
                   strerror(e));
        errno = e;
        return DICE_ESYS;
    }
    a->cow_fd = cow_fd;
    a->child = pid;
    a->child_start = dice__aof_unix_s(srv);
    a->scheduled = false;
    dice__logf(srv, DICE_LOG_NOTICE,
               "Background append only file rewriting started by pid %d "
               "(fork took %llu ms)",
               (int)pid, (unsigned long long)fork_ms);
    return 0;
}

/* The child wrote its base: make it the manifest's. */
static int rewrite_install(dice_server_t *srv) {
    dice__aof_state *a = &srv->aof;
    char tmp[4096], name[1100], path[4096];
    temp_base(srv, a->child, tmp, sizeof(tmp));
    long long seq = a->base_seq + 1;
    dice__aof_base_name(srv, seq, name, sizeof(name));
    dice__aof_path(srv, name, path, sizeof(path));
    if (rename(tmp, path) < 0) {
        dice__logf(srv, DICE_LOG_WARNING,
                   "Error trying to rename the temporary AOF base file %s into "
                   "%s: %s",
                   tmp, name, strerror(errno));
        unlink(tmp);
        return DICE_ESYS;
    }
    dice__aof_sync_dir(srv);
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
        dice__aof_add_history(a, strdup(old_base));
    for (size_t i = 0; i < keep; i++)
        dice__aof_add_history(a, strdup(a->incr[i].name));
    /* CONFIG SET appendonly yes: what was written since is renamed from
     * its temp file into the first incr of the new manifest. */
    bool waited = a->state == DICE__AOF_WAIT_REWRITE;
    char iname[1100], ipath[4096], itmp[4096];
    if (waited) {
        dice__aof_flush(srv, true);
        snprintf(iname, sizeof(iname), "%s.%lld.incr.aof", dice__aof_name(srv),
                 a->incr_seq + 1);
        dice__aof_path(srv, iname, ipath, sizeof(ipath));
        if (rename(dice__aof_temp_incr(srv, itmp, sizeof(itmp)), ipath) < 0 ||
            dice__aof_add_incr(a, iname, a->incr_seq + 1) < 0) {
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
    int rc = dice__aof_manifest_persist(srv);
    a->incr = saved;
    a->nincr = nsaved;
    if (rc == 0 && waited) {
        a->state = DICE__AOF_ON;
        a->incr_size = dice__aof_file_size(srv, iname);
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
    dice__aof_delete_history(srv);
    return 0;
}

void dice__aof_child_done(dice_server_t *srv, int status) {
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
            dice__aof_recompute_sizes(srv);
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
    a->last_rewrite_secs = dice__aof_unix_s(srv) - a->child_start;
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
