/* A plain append-only file's base (aof-use-rdb-preamble no): every live key
 * of every db as the commands that recreate it, in RESP, as Redis's
 * rewriteAppendOnlyFileRio writes them: SELECT before each non-empty db,
 * the commands of each value's emit method, then PEXPIREAT for a key with
 * an expire time. Nothing is read from the server: the caller gives the
 * keyspace (a forked child's copy) and where the bytes go. */
#include "types/rdb.h"

#include "core/core_internal.h"
#include "types/types_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes are collected in a 64 KB buffer and handed to out in chunks. */
typedef struct emit_out {
    dice_type_write_fn out;
    void *out_ctx;
    int rc;
    size_t used;
    char buf[65536];
} emit_out;

static int out_flush(emit_out *o) {
    if (o->rc == 0 && o->used)
        o->rc = o->out(o->out_ctx, o->buf, o->used);
    o->used = 0;
    return o->rc;
}

static int out_put(emit_out *o, const void *d, size_t n) {
    if (o->rc < 0)
        return o->rc;
    if (n > sizeof(o->buf) - o->used) {
        if (out_flush(o) < 0)
            return o->rc;
        if (n > sizeof(o->buf))
            return o->rc = o->out(o->out_ctx, d, n);
    }
    memcpy(o->buf + o->used, d, n);
    o->used += n;
    return 0;
}

/* '<c><n>\r\n' */
static int out_head(emit_out *o, char c, size_t n) {
    char h[32];
    int l = snprintf(h, sizeof(h), "%c%zu\r\n", c, n);
    return out_put(o, h, (size_t)l);
}

size_t dice__aof_resp_len(int argc, const size_t *argvlen) {
    size_t n = 1 + 20 + 2;
    for (int i = 0; i < argc; i++)
        n += 1 + 20 + 2 + argvlen[i] + 2;
    return n;
}

size_t dice__aof_resp_put(char *dst, int argc, const char *const *argv,
                          const size_t *argvlen) {
    char *p = dst;
    *p++ = '*';
    p += dice__fmt_ll(p, argc);
    *p++ = '\r', *p++ = '\n';
    for (int i = 0; i < argc; i++) {
        *p++ = '$';
        p += dice__fmt_ll(p, (long long)argvlen[i]);
        *p++ = '\r', *p++ = '\n';
        memcpy(p, argv[i], argvlen[i]);
        p += argvlen[i];
        *p++ = '\r', *p++ = '\n';
    }
    return (size_t)(p - dst);
}

static int emit_cmd(void *ctx, int argc, const char *const *argv,
                    const size_t *argvlen) {
    emit_out *o = ctx;
    out_head(o, '*', (size_t)argc);
    for (int i = 0; i < argc; i++) {
        out_head(o, '$', argvlen[i]);
        out_put(o, argv[i], argvlen[i]);
        out_put(o, "\r\n", 2);
    }
    return o->rc;
}

typedef struct walk {
    dice_keyspace_t *ks;
    emit_out *o;
    uint64_t keys;
} walk;

static int emit_entry(void *c, uint8_t *e) {
    walk *w = c;
    const char *k;
    size_t kl;
    entry_getkey(e, &k, &kl);
    void *mctx;
    const dice_type_methods *m =
        dice__type_methods(w->ks, HDR_TYPE(e[0]), &mctx);
    int rc =
        (!m || !m->emit_commands)
            ? DICE_ESTATE
            : m->emit_commands(mctx, k, kl, dice__type_obj(e), emit_cmd, w->o);
    if (rc == 0 && (e[0] & HDR_EXP)) {
        char t[24];
        int tl = (int)dice__fmt_ll(t, (long long)entry_exp(e));
        const char *argv[3] = {"PEXPIREAT", k, t};
        size_t len[3] = {9, kl, (size_t)tl};
        rc = emit_cmd(w->o, 3, argv, len);
    }
    if (rc < 0 && w->o->rc == 0)
        w->o->rc = rc;
    w->keys++;
    return rc < 0;
}

int dice__aof_write_keyspace(dice_keyspace_t *ks, dice_type_write_fn out,
                             void *out_ctx, uint64_t *nkeys) {
    emit_out *o = malloc(sizeof(*o));
    if (!o)
        return DICE_ENOMEM;
    o->out = out;
    o->out_ctx = out_ctx;
    o->rc = 0;
    o->used = 0;
    walk w = {ks, o, 0};
    for (int i = 0; o->rc == 0 && i < ks->ndbs; i++) {
        dice_db_t *db = &ks->dbs[i];
        if (dice_db_size(db) == 0)
            continue;
        char n[24];
        int nl = (int)dice__fmt_ll(n, i);
        const char *argv[2] = {"SELECT", n};
        size_t len[2] = {6, (size_t)nl};
        emit_cmd(o, 2, argv, len);
        if (o->rc == 0)
            dice__db_foreach_live(db, emit_entry, &w);
    }
    int rc = out_flush(o);
    free(o);
    if (nkeys)
        *nkeys = w.keys;
    return rc;
}
