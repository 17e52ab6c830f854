/* libFuzzer target for the value reader. The first byte picks a chunk
 * size; the rest is read all at once and in chunks, into default trees and
 * through a counting constructor. Rendered values and errors must match and
 * the constructor's objects must all be freed or returned. */
#include "dice/resp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct log {
    char *s;
    size_t n, cap;
};

static void log_add(struct log *l, const void *p, size_t n) {
    if (l->n + n > l->cap) {
        size_t nc = (l->n + n) * 2 + 64;
        l->s = realloc(l->s, nc);
        if (!l->s)
            abort();
        l->cap = nc;
    }
    memcpy(l->s + l->n, p, n);
    l->n += n;
}

static void render(const dice_value_t *v, struct log *l) {
    int t = dice_value_type(v);
    log_add(l, &t, sizeof(t));
    if (dice_value_attribute(v)) {
        log_add(l, "@", 1);
        render(dice_value_attribute(v), l);
    }
    size_t len;
    const char *s = dice_value_str(v, &len);
    if (s)
        log_add(l, s, len);
    long long i = dice_value_int(v);
    log_add(l, &i, sizeof(i));
    size_t n = dice_value_len(v);
    log_add(l, &n, sizeof(n));
    for (size_t k = 0; k < n; k++)
        render(dice_value_at(v, k), l);
}

static void run(const uint8_t *data, size_t len, size_t chunk, struct log *l) {
    dice_reader_t *r;
    if (dice_reader_new(&r, NULL, NULL, NULL))
        abort();
    dice_reader_set_limit(r, DICE_READER_LIMIT_AGGREGATE, 1000);
    size_t given = 0;
    while (given < len) {
        size_t add = len - given < chunk ? len - given : chunk;
        if (dice_reader_feed(r, (const char *)data + given, add))
            abort();
        given += add;
        for (;;) {
            void *v;
            int rc = dice_reader_get(r, &v);
            if (rc == 0)
                break;
            if (rc < 0) {
                log_add(l, "E", 1);
                log_add(l, dice_reader_error(r), strlen(dice_reader_error(r)));
                goto out;
            }
            render(v, l);
            dice_value_free(v);
        }
    }
out:
    dice_reader_free(r);
}

/* Counting constructor: objects are plain allocations linked from a list so
 * the test can verify nothing leaks (ASan) and nothing is double-freed. */
struct cctx {
    long live;
    void *pending; /* top-level attribute waiting for its value */
};
struct cobj {
    struct cobj *kids; /* first child */
    struct cobj *next; /* next sibling */
    struct cobj *last;
};

static void *c_create(void *ctx, void *parent, size_t index, int type,
                      const char *str, size_t len, long long integer,
                      double dbl) {
    (void)index, (void)integer, (void)dbl;
    if (len && !str)
        abort();
    struct cctx *c = ctx;
    struct cobj *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    c->live++;
    if (!parent) {
        /* Take over a pending top-level attribute, as the contract says. */
        if (type == DICE_RESP_ATTRIBUTE) {
            c->pending = o;
        } else if (c->pending) {
            o->kids = o->last = c->pending;
            c->pending = NULL;
        }
    } else {
        struct cobj *p = parent;
        if (p->last)
            p->last->next = o;
        else
            p->kids = o;
        p->last = o;
    }
    return o;
}

static void c_free_tree(struct cctx *c, struct cobj *o) {
    while (o) {
        struct cobj *n = o->next;
        c_free_tree(c, o->kids);
        free(o);
        c->live--;
        o = n;
    }
}

static void c_free(void *ctx, void *obj) {
    struct cobj *o = obj;
    if (((struct cctx *)ctx)->pending == obj)
        ((struct cctx *)ctx)->pending = NULL;
    c_free_tree(ctx, o->kids);
    free(o);
    ((struct cctx *)ctx)->live--;
}

static void run_cb(const uint8_t *data, size_t len) {
    struct cctx c = {0};
    dice_reader_t *r;
    if (dice_reader_new(&r, c_create, c_free, &c))
        abort();
    dice_reader_set_limit(r, DICE_READER_LIMIT_AGGREGATE, 1000);
    if (dice_reader_feed(r, (const char *)data, len))
        abort();
    for (;;) {
        void *v;
        int rc = dice_reader_get(r, &v);
        if (rc <= 0)
            break;
        c_free(&c, v);
    }
    dice_reader_free(r);
    if (c.live != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    size_t chunk = (size_t)data[0] % 17 + 1;
    data++;
    size--;
    struct log a = {0}, b = {0};
    run(data, size, size ? size : 1, &a);
    run(data, size, chunk, &b);
    if (a.n != b.n || (a.n && memcmp(a.s, b.s, a.n) != 0))
        abort();
    free(a.s);
    free(b.s);
    run_cb(data, size);
    return 0;
}
