/* The stream type (lib/types/stream.c): random appends, deletes, exact and
 * approximate trims against a simple model (an array of entries), forward
 * and reverse range walks, node limits, consumer groups and PELs, the
 * type methods (copy, serialize -> deserialize, digest, emit), payloads
 * DUMPed by redis-server 7.0.15 (plain and LZF-compressed listpacks)
 * loaded and written back byte for byte, and hostile serialized input
 * (truncations and byte flips: run under the sanitizer build). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/core_internal.h"
#include "types/listpack.h"
#include "types/rdb.h"
#include "types/stream.h"

/* ---- the model ---------------------------------------------------------- */

typedef struct {
    dice__sid id;
    int nf;
    char f[3][8], v[3][8];
    int dead;
} mentry;

static mentry model[6000];
static size_t mlen;

static void check_range(dice__stream *s, dice__sid lo, dice__sid hi, bool rev) {
    dice__stream_iter it;
    dice__sid id;
    int64_t nf;
    dice__stream_iter_start(&it, s, &lo, &hi, rev);
    for (size_t k = 0; k < mlen; k++) {
        size_t i = rev ? mlen - 1 - k : k;
        const mentry *e = &model[i];
        if (e->dead || dice__sid_cmp(&e->id, &lo) < 0 ||
            dice__sid_cmp(&e->id, &hi) > 0)
            continue;
        assert_int_equal(dice__stream_iter_next(&it, &id, &nf), 1);
        assert_int_equal(dice__sid_cmp(&id, &e->id), 0);
        assert_int_equal(nf, e->nf);
        for (int j = 0; j < e->nf; j++) {
            const unsigned char *f, *v;
            uint32_t fl, vl;
            unsigned char fb[DICE__LP_INTBUF], vb[DICE__LP_INTBUF];
            dice__stream_iter_field(&it, &f, &fl, fb, &v, &vl, vb);
            assert_int_equal(fl, strlen(e->f[j]));
            assert_memory_equal(f, e->f[j], fl);
            assert_int_equal(vl, strlen(e->v[j]));
            assert_memory_equal(v, e->v[j], vl);
        }
    }
    assert_int_equal(dice__stream_iter_next(&it, &id, &nf), 0);
}

static size_t live(void) {
    size_t n = 0;
    for (size_t i = 0; i < mlen; i++)
        n += !model[i].dead;
    return n;
}

typedef struct {
    unsigned char *b;
    size_t n, cap;
} sink;

static int sink_write(void *ctx, const void *d, size_t n) {
    sink *s = ctx;
    if (s->n + n > s->cap) {
        s->cap = (s->n + n) * 2;
        s->b = realloc(s->b, s->cap);
    }
    memcpy(s->b + s->n, d, n);
    s->n += n;
    return 0;
}

static sink ser(const dice__stream *s) {
    sink k = {0};
    unsigned fmt;
    assert_int_equal(
        dice__stream_methods.serialize(NULL, s, &fmt, sink_write, &k), 0);
    assert_int_equal(fmt, DICE__RDB_TYPE_STREAM_LISTPACKS_2);
    return k;
}

static dice__stream *deser(const unsigned char *b, size_t n) {
    void *o = NULL;
    size_t used = 0;
    int rc = dice__stream_methods.deserialize(
        NULL, DICE__RDB_TYPE_STREAM_LISTPACKS_2, b, n, &used, &o);
    if (rc < 0)
        return NULL;
    assert_int_equal(used, n);
    return o;
}

static void test_random_model(void **state) {
    (void)state;
    static const char *fields[] = {"a", "b", "12", "field", "x"};
    for (unsigned seed = 1; seed <= 6; seed++) {
        srand(seed);
        dice__stream_limits lim = {seed % 2 ? 4096 : 120,
                                   (long long[]){2, 5, 100, 0}[seed % 4]};
        dice__stream *s = dice__stream_new();
        mlen = 0;
        uint64_t ms = 1;
        for (int step = 0; step < 3000; step++) {
            int op = rand() % 100;
            if (op < 60 && mlen < sizeof(model) / sizeof(model[0])) {
                mentry *e = &model[mlen];
                memset(e, 0, sizeof(*e));
                ms += (uint64_t)(rand() % 3);
                e->id = (dice__sid){ms, (uint64_t)(rand() % 2)};
                if (mlen && dice__sid_cmp(&e->id, &model[mlen - 1].id) <= 0) {
                    e->id = model[mlen - 1].id;
                    e->id.seq++;
                }
                e->nf = 1 + rand() % 3;
                const char *fv[6];
                size_t fl[6];
                for (int j = 0; j < e->nf; j++) {
                    strcpy(e->f[j], fields[(rand() % 2) ? j : rand() % 5]);
                    snprintf(e->v[j], sizeof(e->v[j]), "%d", rand() % 300 - 20);
                    fv[2 * j] = e->f[j];
                    fl[2 * j] = strlen(e->f[j]);
                    fv[2 * j + 1] = e->v[j];
                    fl[2 * j + 1] = strlen(e->v[j]);
                }
                assert_int_equal(
                    dice__stream_append(s, &e->id, fv, fl, (size_t)e->nf, &lim),
                    0);
                mlen++;
            } else if (op < 80 && mlen) {
                size_t i = (size_t)rand() % mlen;
                int had = !model[i].dead;
                assert_int_equal(dice__stream_delete(s, &model[i].id), had);
                model[i].dead = 1;
            } else if (op < 88) {
                dice__stream_trim_args t = {0};
                t.strategy = DICE__TRIM_MAXLEN;
                t.maxlen = rand() % 300;
                t.approx = rand() % 2;
                int64_t before = (int64_t)s->length;
                int64_t got = dice__stream_trim(s, &t);
                assert_int_equal((int64_t)s->length, before - got);
                if (!t.approx)
                    assert_true(s->length <= (uint64_t)t.maxlen ||
                                before <= t.maxlen);
                /* apply to the model: the oldest live entries went */
                size_t drop = (size_t)got;
                for (size_t i = 0; i < mlen && drop; i++)
                    if (!model[i].dead) {
                        model[i].dead = 1;
                        drop--;
                    }
            } else if (op < 92 && mlen) {
                dice__stream_trim_args t = {0};
                t.strategy = DICE__TRIM_MINID;
                t.minid = model[(size_t)rand() % mlen].id;
                int64_t got = dice__stream_trim(s, &t);
                int64_t want = 0;
                for (size_t i = 0; i < mlen; i++)
                    if (!model[i].dead &&
                        dice__sid_cmp(&model[i].id, &t.minid) < 0) {
                        model[i].dead = 1;
                        want++;
                    }
                assert_int_equal(got, want);
            } else if (mlen) {
                dice__sid lo = model[(size_t)rand() % mlen].id;
                dice__sid hi = model[(size_t)rand() % mlen].id;
                check_range(s, lo, hi, rand() % 2);
            }
            assert_int_equal(s->length, live());
        }
        dice__sid lo = {0, 0}, hi = {UINT64_MAX, UINT64_MAX};
        check_range(s, lo, hi, false);
        check_range(s, lo, hi, true);
        /* copy, serialize round trip, digest */
        dice__stream *c = dice__stream_dup(s);
        sink a = ser(s), b = ser(c);
        assert_int_equal(a.n, b.n);
        assert_memory_equal(a.b, b.b, a.n);
        dice__stream *l = deser(a.b, a.n);
        assert_non_null(l);
        sink d = ser(l);
        assert_int_equal(a.n, d.n);
        assert_memory_equal(a.b, d.b, a.n);
        check_range(l, lo, hi, true);
        free(a.b), free(b.b), free(d.b);
        dice__stream_free(c);
        dice__stream_free(l);
        dice__stream_free(s);
    }
}

static void test_groups(void **state) {
    (void)state;
    dice__stream *s = dice__stream_new();
    dice__stream_limits lim = {4096, 100};
    for (uint64_t i = 1; i <= 50; i++) {
        const char *fv[] = {"k", "v"};
        size_t fl[] = {1, 1};
        dice__sid id = {i, 0};
        assert_int_equal(dice__stream_append(s, &id, fv, fl, 1, &lim), 0);
    }
    bool exists;
    dice__sid z = {0, 0};
    dice__sgroup *g = dice__stream_group_add(s, "g", 1, &z, -1, &exists);
    assert_non_null(g);
    assert_null(dice__stream_group_add(s, "g", 1, &z, -1, &exists));
    assert_true(exists);
    assert_non_null(dice__stream_group_add(s, "a", 1, &z, 3, &exists));
    assert_string_equal(s->groups[0]->name, "a");
    bool created;
    dice__sconsumer *c1 = dice__group_consumer_add(g, "c1", 2, 5, &created);
    dice__sconsumer *c0 = dice__group_consumer_add(g, "c0", 2, 5, &created);
    assert_true(created);
    assert_ptr_equal(g->consumers[0], c0);
    /* pending entries in reverse order, split between the consumers */
    for (uint64_t i = 50; i >= 1; i--) {
        dice__snack *n = malloc(sizeof(*n));
        *n = (dice__snack){{i, 0}, 7, i, i % 2 ? c1 : c0};
        bool f;
        size_t at = dice__spel_find(&g->pel, &n->id, &f);
        assert_false(f);
        assert_int_equal(dice__spel_insert_at(&g->pel, at, n), 0);
        assert_int_equal(dice__spel_add(&n->consumer->pel, n), 0);
    }
    for (size_t i = 1; i < g->pel.n; i++)
        assert_true(dice__sid_cmp(&g->pel.v[i - 1]->id, &g->pel.v[i]->id) < 0);
    assert_int_equal(c1->pel.n, 25);
    sink a = ser(s);
    dice__stream *l = deser(a.b, a.n);
    assert_non_null(l);
    sink b = ser(l);
    assert_int_equal(a.n, b.n);
    assert_memory_equal(a.b, b.b, a.n);
    dice__stream *c = dice__stream_dup(l);
    sink d = ser(c);
    assert_memory_equal(a.b, d.b, a.n);
    assert_int_equal(dice__group_consumer_del(g, "c1", 2), 25);
    assert_int_equal(g->pel.n, 25);
    assert_int_equal(dice__stream_group_del(s, "a", 1), 1);
    assert_int_equal(dice__stream_group_del(s, "a", 1), 0);
    free(a.b), free(b.b), free(d.b);
    dice__stream_free(c);
    dice__stream_free(l);
    dice__stream_free(s);
}

/* redis-server 7.0.15 DUMP payloads (type byte, RDB version and CRC cut):
 * XADD s 1-1 a 1 b hello, 2-5 a 2 b x, 3-0 z 9, XDEL s 2-5, XGROUP CREATE
 * s g 0, XREADGROUP alice COUNT 1, CREATECONSUMER bob, XGROUP CREATE s g2
 * $ (rdbcompression no); and 30 entries in 2-entry nodes, compressed. */
static const char REDIS_PLAIN[] =
    "02100000000000000001000000000000000133330000001200010101010201816102"
    "816202000102010001000101018568656c6c6f06050103010101040102018178020501"
    "ff10000000000000000300000000000000001c1c0000000a00010100010101817a0200"
    "0102010001000109010401ff0203000101020503020167010181ffffffffffffffff01"
    "0000000000000001000000000000000138277031a2010000010205616c696365382770"
    "31a2010000010000000000000001000000000000000103626f623f277031a201000000"
    "026732030081ffffffffffffffff0000";
static const char REDIS_LZF_NODE[] =
    "1000000000000000010000000000000001c331405c145c0000000f0002010001010185"
    "6669656c64060001400e0700019976616c7565e00b04011a0420220001e016220101ff";

static unsigned char *unhex(const char *h, size_t *n) {
    size_t l = strlen(h) / 2;
    unsigned char *b = malloc(l);
    for (size_t i = 0; i < l; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        b[i] = (unsigned char)v;
    }
    *n = l;
    return b;
}

static void test_redis_payloads(void **state) {
    (void)state;
    size_t n;
    unsigned char *b = unhex(REDIS_PLAIN, &n);
    dice__stream *s = deser(b, n);
    assert_non_null(s);
    assert_int_equal(s->length, 2);
    assert_int_equal(s->nnodes, 2);
    assert_int_equal(s->ngroups, 2);
    assert_int_equal(s->max_deleted.ms, 2);
    assert_int_equal(s->max_deleted.seq, 5);
    dice__sgroup *g = dice__stream_group(s, "g", 1);
    assert_non_null(g);
    assert_int_equal(g->pel.n, 1);
    assert_string_equal(g->pel.v[0]->consumer->name, "alice");
    assert_int_equal(g->nconsumers, 2);
    sink k = ser(s);
    assert_int_equal(k.n, n);
    assert_memory_equal(k.b, b, n); /* written back byte for byte */
    free(k.b);
    dice__stream_free(s);
    /* one node from the compressed dump: 1 node + the tail fields */
    size_t ln;
    unsigned char *node = unhex(REDIS_LZF_NODE, &ln);
    unsigned char pay[256];
    size_t pn = 0;
    pay[pn++] = 1; /* one node */
    memcpy(pay + pn, node, ln);
    pn += ln;
    /* length 2, last 2-1, first 1-1, max deleted 0-0, added 2, 0 groups */
    const unsigned char tail[] = {2, 2, 1, 1, 1, 0, 0, 2, 0};
    memcpy(pay + pn, tail, sizeof(tail));
    pn += sizeof(tail);
    s = deser(pay, pn);
    assert_non_null(s);
    assert_int_equal(s->length, 2);
    dice__stream_free(s);
    /* hostile: every truncation and single-byte change of both */
    for (size_t cut = 0; cut < n; cut++) {
        void *o = NULL;
        size_t used;
        int rc = dice__stream_methods.deserialize(
            NULL, DICE__RDB_TYPE_STREAM_LISTPACKS_2, b, cut, &used, &o);
        assert_true(rc < 0);
    }
    srand(7);
    for (int round = 0; round < 20000; round++) {
        unsigned char *m = malloc(n);
        memcpy(m, b, n);
        int flips = 1 + rand() % 3;
        for (int f = 0; f < flips; f++)
            m[(size_t)rand() % n] = (unsigned char)rand();
        void *o = NULL;
        size_t used;
        if (dice__stream_methods.deserialize(NULL,
                                             DICE__RDB_TYPE_STREAM_LISTPACKS_2,
                                             m, n, &used, &o) == 0) {
            dice__sid lo = {0, 0}, hi = {UINT64_MAX, UINT64_MAX}, id;
            dice__stream_iter it;
            int64_t nf;
            dice__stream_iter_start(&it, o, &lo, &hi, round % 2);
            while (dice__stream_iter_next(&it, &id, &nf))
                while (nf--) {
                    const unsigned char *x, *y;
                    uint32_t xl, yl;
                    unsigned char xb[DICE__LP_INTBUF], yb[DICE__LP_INTBUF];
                    dice__stream_iter_field(&it, &x, &xl, xb, &y, &yl, yb);
                }
            sink k2 = ser(o);
            free(k2.b);
            dice__stream_free(o);
        }
        free(m);
    }
    free(node);
    free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_model),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_redis_payloads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
