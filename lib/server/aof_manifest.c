/* The append-only file's directory and manifest (lib/server/aof.h): paths
 * inside dir/appenddirname, in Redis 7.0's multi-part layout:
 *
 *   appendonly.aof.<seq>.base.rdb   the dataset at the last rewrite (an RDB
 *                                   preamble, or .base.aof: plain commands)
 *   appendonly.aof.<seq>.incr.aof   what was written since, in order
 *   appendonly.aof.manifest         which files make the dataset, as
 *                                   "file <name> seq <n> type b|i|h" lines
 *
 * The manifest is always replaced atomically (temp, fsync, rename, fsync
 * the directory). */
#include "server/aof.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- paths and the manifest --------------------------------------------- */

const char *dice__aof_name(dice_server_t *srv) {
    return srv->cfg.appendfilename ? srv->cfg.appendfilename : "appendonly.aof";
}

/* dir/appenddirname into buf. */
const char *dice__aof_dir(dice_server_t *srv, char *buf, size_t cap) {
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
const char *dice__aof_path(dice_server_t *srv, const char *name, char *buf,
                           size_t cap) {
    char d[4096];
    dice__aof_dir(srv, d, sizeof(d));
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

int dice__aof_sync_dir(dice_server_t *srv) {
    char d[4096];
    int fd = open(dice__aof_dir(srv, d, sizeof(d)),
                  O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

long long dice__aof_file_size(dice_server_t *srv, const char *name) {
    char p[4096];
    struct stat st;
    if (stat(dice__aof_path(srv, name, p, sizeof(p)), &st) < 0)
        return 0;
    return (long long)st.st_size;
}

void dice__aof_manifest_clear(dice__aof_state *a) {
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

int dice__aof_add_incr(dice__aof_state *a, const char *name, long long seq) {
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

int dice__aof_add_history(dice__aof_state *a, char *name) {
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

int dice__aof_write_all(int fd, const char *p, size_t n) {
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
int dice__aof_manifest_persist(dice_server_t *srv) {
    dice_buf_t b;
    dice__buf_init(&b);
    if (manifest_text(&srv->aof, &b) < 0) {
        dice__buf_release(&b);
        return DICE_ENOMEM;
    }
    char name[1100], tmp[4096], final[4096];
    snprintf(name, sizeof(name), "temp-%s.manifest", dice__aof_name(srv));
    dice__aof_path(srv, name, tmp, sizeof(tmp));
    snprintf(name, sizeof(name), "%s.manifest", dice__aof_name(srv));
    dice__aof_path(srv, name, final, sizeof(final));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = fd < 0 ? -1 : 0;
    if (rc == 0)
        rc = dice__aof_write_all(fd, b.data ? b.data : "", b.len);
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
    dice__aof_sync_dir(srv);
    return 0;
}

/* Read the manifest: DICE_ENOENT when there is none, DICE_EPROTO when it
 * is malformed (logged). */
int dice__aof_manifest_load(dice_server_t *srv) {
    dice__aof_state *a = &srv->aof;
    char name[1100], path[4096];
    snprintf(name, sizeof(name), "%s.manifest", dice__aof_name(srv));
    dice__aof_path(srv, name, path, sizeof(path));
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? DICE_ENOENT : DICE_ESYS;
    dice__aof_manifest_clear(a);
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
            rc = dice__aof_add_incr(a, file, seq);
        } else if (rc == 0 && !strcmp(type, "h")) {
            char *d = strdup(file);
            rc = d ? dice__aof_add_history(a, d) : DICE_ENOMEM;
        } else if (rc == 0) {
            rc = DICE_EPROTO;
        }
        dice__split_free(argv, argc);
    }
    fclose(f);
    if (rc < 0) {
        dice__logf(srv, DICE_LOG_WARNING,
                   "Invalid AOF manifest file format: %s", path);
        dice__aof_manifest_clear(a);
        return DICE_EPROTO;
    }
    if (a->base_seq > 0 && a->base_seq > a->incr_seq)
        (void)0; /* the counters are independent, as Redis's */
    return 0;
}

/* Delete the files the manifest lists as history. */
void dice__aof_delete_history(dice_server_t *srv) {
    dice__aof_state *a = &srv->aof;
    if (a->nhistory == 0)
        return;
    for (size_t i = 0; i < a->nhistory; i++) {
        char p[4096];
        unlink(dice__aof_path(srv, a->history[i], p, sizeof(p)));
        dice__logf(srv, DICE_LOG_NOTICE,
                   "Removing the history file %s in the "
                   "background",
                   a->history[i]);
        free(a->history[i]);
    }
    free(a->history);
    a->history = NULL;
    a->nhistory = 0;
    dice__aof_manifest_persist(srv); /* the manifest without them */
}

void dice__aof_recompute_sizes(dice_server_t *srv) {
    dice__aof_state *a = &srv->aof;
    long long total = a->base_type ? dice__aof_file_size(srv, a->base_name) : 0;
    for (size_t i = 0; i < a->nincr; i++)
        total += dice__aof_file_size(srv, a->incr[i].name);
    a->cur_size = total;
    a->incr_size =
        a->nincr ? dice__aof_file_size(srv, a->incr[a->nincr - 1].name) : 0;
}

int dice__aof_make_dir(dice_server_t *srv) {
    char d[4096];
    dice__aof_dir(srv, d, sizeof(d));
    if (mkdir(d, 0755) < 0 && errno != EEXIST) {
        dice__logf(srv, DICE_LOG_WARNING,
                   "Can't open or create append-only dir %s: %s", d,
                   strerror(errno));
        return DICE_ESYS;
    }
    return 0;
}

const char *dice__aof_temp_incr(dice_server_t *srv, char *buf, size_t cap) {
    char name[1100];
    snprintf(name, sizeof(name), "temp-%s.incr", dice__aof_name(srv));
    return dice__aof_path(srv, name, buf, cap);
}
