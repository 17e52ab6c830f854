/* The hash type: data structure, encodings and type methods (see hash.h).
 *
 * Small hashes are a listpack of field,value pairs, byte for byte Redis's
 * (so RDB_TYPE_HASH_LISTPACK payloads are the listpack itself); big ones
 * are the member table in map mode (lib/types/strset.c): one pooled
 * headerless entry per field, [len][field][len][value], in an open
 * addressing table of 8-byte slots. The object is one tagged pointer (see
 * hash.h). A small hash's listpack usually lives inside its key's entry
 * (DICE__OBJ_INLINE): no chunk of its own, no pointer to it. */
#include "types/hash.h"

#include "core/core_internal.h"
#include "types/listpack.h"
#include "types/rdb.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

/* ---- API ----------------------------------------------------------------
 */

#define TABLE_BIT ((uintptr_t)1)
/* A listpack inline in its key's entry (see hash.h): any address, so bit 0
 * means nothing with this bit set. */
#define INLINE_BIT DICE__OBJ_INLINE

static inline int is_table(uintptr_t u) {
    return (u & (TABLE_BIT | INLINE_BIT)) == TABLE_BIT;
}

/* The table of a converted hash, NULL while it is a listpack. */
static inline dice__mtab *mt_of(const dice__hash *h) {
    uintptr_t u = (uintptr_t)h;
    return is_table(u) ? (dice__mtab *)(u & ~TABLE_BIT) : NULL;
}

/* The listpack of a small hash, NULL once converted. */
static inline unsigned char *lp_of(const dice__hash *h) {
    uintptr_t u = (uintptr_t)h;
    return is_table(u) ? NULL : (unsigned char *)(u & ~INLINE_BIT);
}

static inline int is_inline(const dice__hash *h) {
    return ((uintptr_t)h & INLINE_BIT) != 0;
}

/* Before a change to an inline listpack that changes its size: a copy of
 * its own to change (the keyspace's bytes stay as they were until
 * dice__hash_store). A change of the same size is made in place. */
static int detach(dice__hash **hp) {
    if (!is_inline(*hp))
        return 0;
    unsigned char *lp = lp_of(*hp);
    unsigned char *c = dice__lp_from_bytes(lp, dice__lp_bytes(lp));
    if (!c)
        return DICE_ENOMEM;
    *hp = (dice__hash *)c;
    return 0;
}

static inline dice__hash *of_lp(unsigned char *lp) {
    return (dice__hash *)lp;
}

static inline dice__hash *of_mt(dice__mtab *t) {
    return (dice__hash *)((uintptr_t)t | TABLE_BIT);
}

dice__hash *dice__hash_new(void) {
    return of_lp(dice__lp_new(0));
}

void dice__hash_free(dice__hash *h) {
    if (!h || is_inline(h))
        return; /* an inline one goes with its entry */
    dice__mtab *t = mt_of(h);
    if (t) {
        dice__mt_free(t);
        free(t);
    } else {
        dice__lp_free(lp_of(h));
    }
}

int dice__hash_encoding(const dice__hash *h) {
    return mt_of(h) ? DICE__HASH_TABLE : DICE__HASH_LISTPACK;
}

size_t dice__hash_len(const dice__hash *h) {
    return mt_of(h) ? dice__mt_len(mt_of(h)) : dice__lp_length(lp_of(h)) / 2;
}

size_t dice__hash_mem(const dice__hash *h, size_t samples) {
    if (mt_of(h))
        return malloc_usable_size(mt_of(h)) + dice__mt_mem(mt_of(h), samples);
    return is_inline(h) ? dice__lp_bytes(lp_of(h))
                        : dice__lp_alloc_size(lp_of(h));
}

/* A listpack entry's text, integers formatted into buf. */
static const char *lp_text(const unsigned char *p, unsigned char *buf,
                           size_t *n) {
    uint32_t l;
    const unsigned char *s = dice__lp_get_str(p, &l, buf);
    *n = l;
    return (const char *)s;
}

typedef struct pairs_ctx {
    dice__hash_visit_fn fn;
    void *ctx;
} pairs_ctx;

static void mt_pair(void *c, const dice__mt_item *it) {
    pairs_ctx *p = c;
    p->fn(p->ctx, it->key, it->klen, it->val, it->vlen);
}

/* Walk a listpack's pairs. */
static int lp_foreach(unsigned char *lp, dice__hash_visit_fn fn, void *ctx) {
    unsigned char fb[DICE__LP_INTBUF], vb[DICE__LP_INTBUF];
    for (unsigned char *p = dice__lp_first(lp); p;) {
        unsigned char *q = dice__lp_next(lp, p);
        size_t fl, vl;
        const char *f = lp_text(p, fb, &fl);
        const char *v = lp_text(q, vb, &vl);
        int rc = fn(ctx, f, fl, v, vl);
        if (rc)
            return rc;
        p = dice__lp_next(lp, q);
    }
    return 0;
}

typedef struct stop_ctx {
    dice__hash_visit_fn fn;
    void *ctx;
    int rc;
} stop_ctx;

static void mt_pair_stop(void *c, const dice__mt_item *it) {
    stop_ctx *s = c;
    if (!s->rc)
        s->rc = s->fn(s->ctx, it->key, it->klen, it->val, it->vlen);
}

int dice__hash_foreach(const dice__hash *h, dice__hash_visit_fn fn, void *ctx) {
    if (!mt_of(h))
        return lp_foreach(lp_of(h), fn, ctx);
    stop_ctx s = {fn, ctx, 0};
    dice__mt_foreach(mt_of(h), mt_pair_stop, &s);
    return s.rc;
}

static int add_to_table(void *t, const char *f, size_t fn, const char *v,
                        size_t vn) {
    return dice__strmap_set(t, f, fn, v, vn) < 0;
}

int dice__hash_convert(dice__hash **hp) {
    unsigned char *lp = lp_of(*hp);
    if (!lp)
        return 0;
    dice__mtab *t = malloc(sizeof(*t));
    if (!t)
        return DICE_ENOMEM;
    dice__mt_init(t, DICE__MT_BYTES);
    if (lp_foreach(lp, add_to_table, t)) {
        dice__mt_free(t);
        free(t);
        return DICE_ENOMEM;
    }
    if (!is_inline(*hp))
        dice__lp_free(lp);
    *hp = of_mt(t);
    return 0;
}

dice__hash *dice__hash_copy(const dice__hash *h) {
    if (!mt_of(h))
        return of_lp(dice__lp_from_bytes(lp_of(h), dice__lp_bytes(lp_of(h))));
    dice__mtab *t = malloc(sizeof(*t));
    if (!t)
        return NULL;
    dice__mt_init(t, DICE__MT_BYTES);
    if (dice__hash_foreach(h, add_to_table, t)) {
        dice__mt_free(t);
        free(t);
        return NULL;
    }
    return of_mt(t);
}

int dice__hash_try_convert(dice__hash **hp, const dice__enc_limits *lim, int n,
                           const size_t *argvlen) {
    unsigned char *lp = lp_of(*hp);
    if (!lp)
        return 0;
    size_t sum = 0;
    for (int i = 0; i < n; i++) {
        if ((long long)argvlen[i] > lim->hash_max_listpack_value)
            return dice__hash_convert(hp);
        sum += argvlen[i];
    }
    if (!dice__lp_safe_to_add(lp, sum))
        return dice__hash_convert(hp);
    return 0;
}

/* The field entry of f in a listpack, or NULL. */
static unsigned char *lp_field(unsigned char *lp, const char *f, size_t fn) {
    unsigned char *p = dice__lp_first(lp);
    if (!p || fn > UINT32_MAX)
        return NULL;
    return dice__lp_find(lp, p, (const unsigned char *)f, (uint32_t)fn, 1);
}

int dice__hash_get(dice__hash *h, const char *f, size_t fn, char *numbuf,
                   const char **v, size_t *vn) {
    if (mt_of(h)) {
        dice__mt_item it;
        if (!dice__mt_get(mt_of(h), f, fn, &it))
            return 0;
        *v = it.val;
        *vn = it.vlen;
        return 1;
    }
    unsigned char *p = lp_field(lp_of(h), f, fn);
    if (!p)
        return 0;
    *v = lp_text(dice__lp_next(lp_of(h), p), (unsigned char *)numbuf, vn);
    return 1;
}

int dice__hash_set(dice__hash **hp, const dice__enc_limits *lim, const char *f,
                   size_t fn, const char *v, size_t vn) {
    if (!mt_of(*hp) && ((long long)fn > lim->hash_max_listpack_value ||
                        (long long)vn > lim->hash_max_listpack_value)) {
        if (dice__hash_convert(hp) < 0)
            return DICE_ENOMEM;
    }
    if (mt_of(*hp))
        return dice__strmap_set(mt_of(*hp), f, fn, v, vn);
    unsigned char *lp = lp_of(*hp);
    unsigned char *p = lp_field(lp, f, fn);
    if (is_inline(*hp)) {
        /* A value of the same encoded size is written where it is (the
         * entry keeps its size, so nothing is to be stored back); any
         * other change goes to a copy. */
        if (p &&
            dice__lp_replace_in_place(dice__lp_next(lp, p),
                                      (const unsigned char *)v, (uint32_t)vn))
            return 0;
        size_t off = p ? (size_t)(p - lp) : 0;
        if (detach(hp) < 0)
            return DICE_ENOMEM;
        lp = lp_of(*hp);
        if (p)
            p = lp + off;
    }
    if (p) {
        unsigned char *vp = dice__lp_next(lp, p);
        unsigned char *nl =
            dice__lp_replace(lp, &vp, (const unsigned char *)v, (uint32_t)vn);
        if (!nl)
            return DICE_ENOMEM;
        *hp = of_lp(nl);
        return 0;
    }
    unsigned char *nl =
        dice__lp_append(lp, (const unsigned char *)f, (uint32_t)fn);
    if (!nl)
        return DICE_ENOMEM;
    lp = nl;
    nl = dice__lp_append(lp, (const unsigned char *)v, (uint32_t)vn);
    if (!nl) {
        *hp = of_lp(dice__lp_delete(lp, dice__lp_last(lp), NULL));
        return DICE_ENOMEM;
    }
    *hp = of_lp(nl);
    if ((long long)dice__hash_len(*hp) > lim->hash_max_listpack_entries &&
        dice__hash_convert(hp) < 0) {
        /* Keep the hash as it was: take the new pair back out. */
        *hp = of_lp(dice__lp_delete_range(lp_of(*hp), -2, 2));
        return DICE_ENOMEM;
    }
    return 1;
}

int dice__hash_del(dice__hash **hp, const char *f, size_t fn) {
    if (mt_of(*hp))
        return dice__mt_del(mt_of(*hp), f, fn);
    unsigned char *lp = lp_of(*hp);
    unsigned char *p = lp_field(lp, f, fn);
    if (!p)
        return 0;
    if (is_inline(*hp)) {
        size_t off = (size_t)(p - lp);
        if (detach(hp) < 0)
            return DICE_ENOMEM;
        lp = lp_of(*hp);
        p = lp + off;
    }
    *hp = of_lp(dice__lp_delete_range_at(lp, &p, 2));
    return 1;
}

int dice__hash_store_changed(dice_db_t *db, dice__db_ref *ref,
                             const dice__hash *old, dice__hash **hp) {
    dice__hash *h = *hp;
    if (is_inline(h))
        return 0; /* unchanged */
    unsigned char *lp = lp_of(h);
    if (lp && dice__lp_length(lp)) {
        void *o;
        int rc = dice__db_store_inline_ref(db, ref, DICE_TYPE_HASH, lp,
                                           dice__lp_bytes(lp), &o);
        if (rc == 1) {
            dice__lp_free(lp);
            *hp = o;
            return 0;
        }
    }
    if (h == old || dice__db_store_ref(db, ref, DICE_TYPE_HASH, h) == 0)
        return 0;
    /* The key still holds old (inline: see dice__db_store_ref), or is
     * still missing (old NULL). */
    dice__hash_free(h);
    *hp = (dice__hash *)old;
    return DICE_ENOMEM;
}

uint64_t dice__hash_scan(dice__hash *h, uint64_t cursor, size_t count,
                         dice__hash_visit_fn fn, void *ctx) {
    if (!mt_of(h)) {
        lp_foreach(lp_of(h), fn, ctx);
        return 0;
    }
    pairs_ctx p = {fn, ctx};
    return dice__mt_scan(mt_of(h), cursor, count, mt_pair, &p);
}

/* ---- random picks ------------------------------------------------------- */

static size_t rand_below(size_t n) {
    /* Two rand() calls give 62 bits: enough for any table. */
    uint64_t r = ((uint64_t)(unsigned)rand() << 31) ^ (unsigned)rand();
    return (size_t)(r % n);
}

/* The field entries of a listpack, in order; the caller frees. */
static unsigned char **lp_fields(unsigned char *lp, size_t n) {
    unsigned char **a = malloc((n ? n : 1) * sizeof(*a));
    if (!a)
        return NULL;
    size_t i = 0;
    for (unsigned char *p = dice__lp_first(lp); p && i < n;
         p = dice__lp_next(lp, dice__lp_next(lp, p)))
        a[i++] = p;
    return a;
}

static void lp_visit_at(unsigned char *lp, unsigned char *p,
                        dice__hash_visit_fn fn, void *ctx) {
    unsigned char fb[DICE__LP_INTBUF], vb[DICE__LP_INTBUF];
    size_t fl, vl;
    const char *f = lp_text(p, fb, &fl);
    const char *v = lp_text(dice__lp_next(lp, p), vb, &vl);
    fn(ctx, f, fl, v, vl);
}

void dice__hash_random(dice__hash *h, dice__hash_visit_fn fn, void *ctx) {
    if (mt_of(h)) {
        dice__mt_item it;
        if (dice__mt_random(mt_of(h), &it))
            fn(ctx, it.key, it.klen, it.val, it.vlen);
        return;
    }
    size_t n = dice__hash_len(h);
    if (n)
        lp_visit_at(lp_of(h),
                    dice__lp_seek(lp_of(h), (long)(2 * rand_below(n))), fn,
                    ctx);
}

typedef struct grab_ctx {
    dice__mt_item *items;
    size_t n;
} grab_ctx;

static void grab(void *c, const dice__mt_item *it) {
    grab_ctx *g = c;
    g->items[g->n++] = *it;
}

int dice__hash_random_many(dice__hash *h, size_t count, int distinct,
                           dice__hash_visit_fn fn, void *ctx) {
    size_t n = dice__hash_len(h);
    if (n == 0 || count == 0)
        return 0;
    if (distinct && count >= n) {
        dice__hash_foreach(h, fn, ctx);
        return 0;
    }
    if (!mt_of(h)) {
        /* At most hash-max-listpack-entries fields: index them. */
        unsigned char **a = lp_fields(lp_of(h), n);
        if (!a)
            return DICE_ENOMEM;
        if (!distinct) {
            for (size_t i = 0; i < count; i++)
                lp_visit_at(lp_of(h), a[rand_below(n)], fn, ctx);
        } else {
            /* Selection sampling: count distinct, in listpack order. */
            size_t need = count;
            for (size_t i = 0; i < n && need; i++) {
                if (rand_below(n - i) < need) {
                    lp_visit_at(lp_of(h), a[i], fn, ctx);
                    need--;
                }
            }
        }
        free(a);
        return 0;
    }
    if (!distinct) {
        for (size_t i = 0; i < count; i++) {
            dice__mt_item it;
            dice__mt_random(mt_of(h), &it);
            fn(ctx, it.key, it.klen, it.val, it.vlen);
        }
        return 0;
    }
    if (count * 3 > n) {
        /* Many of them: take all, shuffle the first count into place. */
        grab_ctx g = {malloc(n * sizeof(dice__mt_item)), 0};
        if (!g.items)
            return DICE_ENOMEM;
        dice__mt_foreach(mt_of(h), grab, &g);
        for (size_t i = 0; i < count; i++) {
            size_t j = i + rand_below(n - i);
            dice__mt_item t = g.items[i];
            g.items[i] = g.items[j];
            g.items[j] = t;
            fn(ctx, g.items[i].key, g.items[i].klen, g.items[i].val,
               g.items[i].vlen);
        }
        free(g.items);
        return 0;
    }
    /* Few of them: random picks, duplicates skipped with a scratch set. */
    dice__mtab seen;
    dice__mt_init(&seen, DICE__MT_SET);
    for (size_t got = 0; got < count;) {
        dice__mt_item it;
        dice__mt_random(mt_of(h), &it);
        int rc = dice__strset_add(&seen, it.key, it.klen);
        if (rc < 0) {
            dice__mt_free(&seen);
            return DICE_ENOMEM;
        }
        if (rc == 1) {
            fn(ctx, it.key, it.klen, it.val, it.vlen);
            got++;
        }
    }
    dice__mt_free(&seen);
    return 0;
}

/* ---- type methods --------------------------------------------------------
 */

static const char *const hash_encodings[] = {"listpack", "hashtable", NULL};

static const char *m_encoding(void *ctx, const void *obj) {
    (void)ctx;
    return hash_encodings[dice__hash_encoding(obj)];
}

static void m_free(void *ctx, void *obj) {
    (void)ctx;
    dice__hash_free(obj);
}

static void *m_copy(void *ctx, const void *obj) {
    (void)ctx;
    return dice__hash_copy(obj);
}

/* A listpack is one block (an inline one is not even that: the keyspace
 * frees it with the entry); a table is its member table's work. */
static size_t m_free_effort(void *ctx, const void *obj) {
    (void)ctx;
    const dice__mtab *t = mt_of(obj);
    return t ? dice__mt_free_effort(t) + 1 : 1;
}

static size_t m_mem(void *ctx, const void *obj) {
    (void)ctx;
    return dice__hash_mem(obj, 0);
}

/* As Redis's AOF rewrite: HSET with up to 64 pairs per command. */
#define EMIT_PAIRS 64

typedef struct emit_ctx {
    dice_type_emit_fn emit;
    void *ectx;
    int argc;
    const char *argv[2 + 2 * EMIT_PAIRS];
    size_t argvlen[2 + 2 * EMIT_PAIRS];
    /* Copies of this batch's texts: a listpack's integers are formatted
     * into per-visit buffers, and table pointers are only read. */
    char nums[2 * EMIT_PAIRS][DICE__LP_INTBUF];
    int rc;
} emit_ctx;

static int emit_flush(emit_ctx *e) {
    if (e->argc > 2 && e->rc == 0)
        e->rc = e->emit(e->ectx, e->argc, e->argv, e->argvlen);
    e->argc = 2;
    return e->rc;
}

static void emit_arg(emit_ctx *e, const char *s, size_t n) {
    int slot = e->argc - 2;
    if (n <= DICE__LP_INTBUF) {
        /* Short texts may live in a visitor's buffer: copy them. */
        memcpy(e->nums[slot], s, n);
        s = e->nums[slot];
    }
    e->argv[e->argc] = s;
    e->argvlen[e->argc++] = n;
}

static int emit_pair(void *c, const char *f, size_t fn, const char *v,
                     size_t vn) {
    emit_ctx *e = c;
    emit_arg(e, f, fn);
    emit_arg(e, v, vn);
    if (e->argc == 2 + 2 * EMIT_PAIRS)
        return emit_flush(e);
    return 0;
}

static int m_emit(void *ctx, const char *key, size_t klen, const void *obj,
                  dice_type_emit_fn emit, void *emit_ctx_) {
    (void)ctx;
    emit_ctx *e = malloc(sizeof(*e));
    if (!e)
        return DICE_ENOMEM;
    e->emit = emit;
    e->ectx = emit_ctx_;
    e->argc = 2;
    e->argv[0] = "HSET";
    e->argvlen[0] = 4;
    e->argv[1] = key;
    e->argvlen[1] = klen;
    e->rc = 0;
    dice__hash_foreach(obj, emit_pair, e);
    int rc = emit_flush(e);
    free(e);
    return rc;
}

typedef struct ser_ctx {
    dice_type_write_fn write;
    void *wctx;
} ser_ctx;

static int ser_pair(void *c, const char *f, size_t fn, const char *v,
                    size_t vn) {
    ser_ctx *s = c;
    int rc = dice__rdb_write_string(s->write, s->wctx, f, fn);
    return rc < 0 ? rc : dice__rdb_write_string(s->write, s->wctx, v, vn);
}

/* RDB_TYPE_HASH_LISTPACK: the listpack as one RDB string; RDB_TYPE_HASH:
 * the field count, then field and value strings. */
static int m_serialize(void *ctx, const void *obj, unsigned *format,
                       dice_type_write_fn write, void *wctx) {
    (void)ctx;
    const dice__hash *h = obj;
    if (!mt_of(h)) {
        *format = DICE__RDB_TYPE_HASH_LISTPACK;
        return dice__rdb_write_string(write, wctx, (const char *)lp_of(h),
                                      dice__lp_bytes(lp_of(h)));
    }
    *format = DICE__RDB_TYPE_HASH;
    int rc = dice__rdb_write_len(write, wctx, dice__hash_len(h));
    if (rc < 0)
        return rc;
    ser_ctx s = {write, wctx};
    return dice__hash_foreach(h, ser_pair, &s);
}

/* Whether a validated listpack holds distinct fields. */
static int dup_field(void *c, const char *f, size_t fn, const char *v,
                     size_t vn) {
    (void)v, (void)vn;
    int rc = dice__strset_add(c, f, fn);
    return rc < 0 ? DICE_ENOMEM : rc == 0 ? DICE_EPROTO : 0;
}

static int load_listpack(const dice__enc_limits *lim, const uint8_t *d,
                         size_t len, size_t *used, dice__hash **out) {
    char nb[DICE__LP_INTBUF], *owned;
    const char *s;
    size_t n;
    int rc = dice__rdb_read_string(d, len, DICE__LP_SAFETY_BYTES, nb, &owned,
                                   &s, &n, used);
    if (rc < 0)
        return rc;
    unsigned long count;
    if (dice__lp_validate((const unsigned char *)s, n, NULL, NULL, &count) <
            0 ||
        count == 0 || count % 2) {
        free(owned);
        return DICE_EPROTO;
    }
    dice__hash *h = of_lp(dice__lp_from_bytes((const unsigned char *)s, n));
    free(owned);
    if (!h)
        return DICE_ENOMEM;
    dice__mtab seen;
    dice__mt_init(&seen, DICE__MT_SET);
    rc = lp_foreach(lp_of(h), dup_field, &seen);
    dice__mt_free(&seen);
    if (rc == 0 &&
        (long long)dice__hash_len(h) > lim->hash_max_listpack_entries)
        rc = dice__hash_convert(&h);
    if (rc < 0) {
        dice__hash_free(h);
        return rc;
    }
    *out = h;
    return 0;
}

/* Longest field or value a payload may carry (Redis's 512 MB strings). */
#define LOAD_STR_MAX ((size_t)512 * 1024 * 1024)

static int load_table(const dice__enc_limits *lim, const uint8_t *d, size_t len,
                      size_t *used, dice__hash **out) {
    uint64_t count;
    size_t o;
    int rc = dice__rdb_read_len(d, len, &count, &o);
    if (rc < 0)
        return rc;
    if (count == 0)
        return DICE_EPROTO;
    dice__hash *h = dice__hash_new();
    if (!h)
        return DICE_ENOMEM;
    if ((long long)count > lim->hash_max_listpack_entries &&
        (rc = dice__hash_convert(&h)) < 0)
        goto fail;
    /* Sized once for every field (see the set's loader): a field and its
     * value take at least a length byte each. */
    if (mt_of(h))
        (void)dice__mt_reserve(mt_of(h), count, len - o, 2);
    for (uint64_t i = 0; i < count; i++) {
        char fb[DICE__LP_INTBUF], vb[DICE__LP_INTBUF], *fo, *vo;
        const char *f, *v;
        size_t fn, vn, a, b;
        rc = dice__rdb_read_string(d + o, len - o, LOAD_STR_MAX, fb, &fo, &f,
                                   &fn, &a);
        if (rc < 0)
            goto fail;
        rc = dice__rdb_read_string(d + o + a, len - o - a, LOAD_STR_MAX, vb,
                                   &vo, &v, &vn, &b);
        if (rc < 0) {
            free(fo);
            goto fail;
        }
        o += a + b;
        rc = dice__hash_set(&h, lim, f, fn, v, vn);
        free(fo);
        free(vo);
        if (rc == 0)
            rc = DICE_EPROTO; /* a field twice */
        if (rc < 0)
            goto fail;
    }
    *used = o;
    *out = h;
    return 0;
fail:
    dice__hash_free(h);
    return rc;
}

static int m_deserialize(void *ctx, unsigned format, const void *data,
                         size_t len, size_t *used, void **obj) {
    static const dice__enc_limits defaults = DICE__ENC_LIMITS_DEFAULT;
    const dice__enc_limits *lim = ctx ? dice__keyspace_limits(ctx) : &defaults;
    dice__hash *h = NULL;
    int rc;
    if (format == DICE__RDB_TYPE_HASH_LISTPACK)
        rc = load_listpack(lim, data, len, used, &h);
    else if (format == DICE__RDB_TYPE_HASH)
        rc = load_table(lim, data, len, used, &h);
    else
        return DICE_EINVAL;
    if (rc == 0)
        *obj = h;
    return rc;
}

static int digest_pair(void *d, const char *f, size_t fn, const char *v,
                       size_t vn) {
    dice_digest_add(d, f, fn);
    dice_digest_add(d, v, vn);
    dice_digest_end_sequence(d);
    return 0;
}

/* One sequence per field and value: equal hashes digest equal whatever
 * their encoding or order. */
static void m_digest(void *ctx, const void *obj, dice_digest_t *d) {
    (void)ctx;
    dice__hash_foreach(obj, digest_pair, d);
}

const dice_type_methods dice__hash_methods = {
    .version = DICE_TYPE_METHODS_VERSION,
    .name = "hash",
    .encoding_names = hash_encodings,
    .encoding = m_encoding,
    .free = m_free,
    .copy = m_copy,
    .mem_usage = m_mem,
    .emit_commands = m_emit,
    .serialize = m_serialize,
    .deserialize = m_deserialize,
    .digest = m_digest,
    .free_effort = m_free_effort,
};
