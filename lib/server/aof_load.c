/* Loading the append-only file (lib/server/aof.h).
 *
 * At start, with the listeners open (clients are served every
 * DICE__LOADING_EVENTS_BYTES, answered -LOADING but for the commands
 * flagged loading): the manifest, then the base (an
 * RDB preamble is loaded by the types layer's reader and the commands
 * after it replayed), then each incr file, replayed through an in-process
 * session. A last file cut short loads up to its last complete command
 * (aof-load-truncated yes, and the file is truncated there); anything
 * else malformed stops the start with the file and offset. */
#include "dice/session.h"
#include "keyspace/db_internal.h"
#include "server/aof.h"
#include "types/rdb.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- loading --------------------------------------------------------------
 */

typedef struct loader {
    dice_server_t *srv;
    dice_session_t *sess;
    const char *path;
    bool last;   /* the last file: a short one may be truncated */
    size_t done; /* bytes of the files loaded before this one */
    size_t next; /* offset in this file of the next progress report */
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

enum { LOAD_OK = 0, LOAD_SHORT = 1, LOAD_BAD = 2, LOAD_STOP = 3 };

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
        if (__builtin_expect(pos >= ld->next, 0)) {
            if (dice__rdb_loading_progress(ld->srv, ld->done + pos)) {
                rc = LOAD_STOP; /* a shutdown was asked */
                break;
            }
            ld->next = pos + DICE__LOADING_EVENTS_BYTES;
        }
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

/* Progress in an RDB preamble. */
static bool preamble_progress(void *ctx, size_t pos,
                              const dice__rdb_load_info *info) {
    loader *ld = ctx;
    ld->srv->rdb.loading_used_mem = info->used_mem;
    return dice__rdb_loading_progress(ld->srv, ld->done + pos);
}

/* Load one file of the AOF: 0, DICE_EPROTO (logged), or DICE_ECLOSED when
 * a shutdown asked meanwhile stopped the load. */
static int load_one(loader *ld, const char *name) {
    dice_server_t *srv = ld->srv;
    char path[4096];
    dice__aof_path(srv, name, path, sizeof(path));
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
    size_t from = 0;
    ld->next = DICE__LOADING_EVENTS_BYTES;
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
            .progress = preamble_progress,
            .progress_ctx = ld,
            .progress_every = DICE__LOADING_EVENTS_BYTES,
        };
        dice__rdb_load_info info;
        int lr = dice__rdb_load(srv->keyspace, p, len, &o, &info);
        if (lr == DICE_ECLOSED) {
            rc = lr; /* a shutdown stopped it */
        } else if (lr < 0) {
            dice__logf(srv, DICE_LOG_WARNING,
                       "Error reading the RDB base file %s, AOF loading "
                       "aborted (at offset %zu: %s)",
                       name, info.err_offset, info.err);
            rc = DICE_EPROTO;
        } else {
            dice__logf(srv, DICE_LOG_NOTICE,
                       "Reading the remaining AOF tail...");
            from = info.used;
            ld->next = from + DICE__LOADING_EVENTS_BYTES;
        }
    }
    size_t valid = from, bad_at = from;
    int r = rc == 0 ? replay(ld, p, len, from, &valid, &bad_at) : LOAD_OK;
    munmap((void *)p, len);
    ld->done += len;
    if (r == LOAD_STOP) {
        rc = DICE_ECLOSED;
    } else if (rc == 0 && r == LOAD_SHORT) {
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
int dice__aof_load_all(dice_server_t *srv) {
    dice__aof_state *a = &srv->aof;
    loader ld = {srv, NULL, NULL, false, 0, 0};
    if (dice_session_new(srv, 2, &ld.sess) < 0)
        return DICE_ENOMEM;
    size_t bytes =
        a->base_type ? (size_t)dice__aof_file_size(srv, a->base_name) : 0;
    for (size_t i = 0; i < a->nincr; i++)
        bytes += (size_t)dice__aof_file_size(srv, a->incr[i].name);
    dice__rdb_loading_begin(srv, bytes);
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
    dice__rdb_loading_end(srv);
    dice_session_free(ld.sess);
    if (rc == 0)
        dice__logf(srv, DICE_LOG_NOTICE,
                   "DB loaded from append only file: "
                   "%.3f seconds",
                   (double)(t1.tv_sec - t0.tv_sec) +
                       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    return rc;
}
