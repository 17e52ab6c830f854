/* The sorted set type (lib/types/zset.c): both encodings against a simple
 * model (a sorted array), conversion at the thresholds, the order index's
 * invariants after every step of random adds, updates, deletes, range
 * deletes and pops (splits, merges, borrows, root changes), ranks and
 * ranges, the type methods (copy, serialize -> deserialize, digest), and
 * hostile serialized input (run under the sanitizer build). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/core_internal.h"
#include "types/rdb.h"
#include "types/types_internal.h"
#include "types/zset.h"

/* ---- the model: members "m<k>" with scores, sorted ---------------------- */

typedef struct {
    char m[16];
    size_t n;
    double s;
} melem;

static melem model[40000];
static size_t mlen;

static int mcmp(const void *a, const void *b) {
    const melem *x = a, *y = b;
    if (x->s != y->s)
        return x->s < y->s ? -1 : 1;
    int c = memcmp(x->m, y->m, x->n < y->n ? x->n : y->n);
    if (c)
        return c;
    return x->n < y->n ? -1 : x->n > y->n;
}

static void mdel(size_t i) {
    memmove(&model[i], &model[i + 1], (mlen - i - 1) * sizeof(melem));
    mlen--;
}

static void compare(dice__zset *z) {
    assert_int_equal(dice__zs_check(z), 0);
    assert_int_equal(dice__zs_len(z), mlen);
    dice__zs_iter it;
    const char *m;
    size_t n;
    double s;
    dice__zs_iter_init(&it, z, 0, 0);
    for (size_t i = 0; i < mlen; i++) {
        assert_true(dice__zs_iter_next(&it, &m, &n, &s));
        assert_int_equal(n, model[i].n);
        assert_memory_equal(m, model[i].m, n);
        assert_true(s == model[i].s);
    }
    assert_false(dice__zs_iter_next(&it, &m, &n, &s));
}

static dice__enc_limits lim = DICE__ENC_LIMITS_DEFAULT;

/* The random model: a score per key "m<k>" (present[k] says whether it is
 * a member); the sorted model is rebuilt from it when needed. */
static double kscore[40000];
static char present[40000];

static void rebuild(int keyspace) {
    mlen = 0;
    for (int k = 0; k < keyspace; k++) {
        if (!present[k])
            continue;
        model[mlen].n = (size_t)snprintf(model[mlen].m, 16, "m%d", k);
        model[mlen++].s = kscore[k];
    }
    qsort(model, mlen, sizeof(melem), mcmp);
}

static void random_ops(dice__zset *z, int ops, int keyspace, int check_every) {
    for (int op = 0; op < ops; op++) {
        char m[16];
        int k = rand() % keyspace;
        size_t n = (size_t)snprintf(m, sizeof(m), "m%d", k);
        int what = rand() % 100;
        if (what < 55) {
            double s = (double)(rand() % 50) / 2;
            int out;
            assert_int_equal(dice__zs_add(z, &lim, s, m, n, 0, &out, NULL), 0);
            assert_int_equal(!!(out & DICE__ZADD_ADDED), !present[k]);
            present[k] = 1;
            kscore[k] = s;
        } else if (what < 90) {
            assert_int_equal(dice__zs_del(z, m, n), present[k]);
            present[k] = 0;
        } else if (what < 91) {
            rebuild(keyspace);
            if (mlen) {
                size_t a = (size_t)rand() % mlen;
                size_t b = a + (size_t)rand() % 300;
                if (b >= mlen)
                    b = mlen - 1;
                assert_int_equal(dice__zs_del_ranks(z, a, b), b - a + 1);
                for (size_t i = a; i <= b; i++)
                    present[atoi(model[i].m + 1)] = 0;
            }
        } else {
            long want = -1;
            if (present[k]) {
                melem me;
                memcpy(me.m, m, n);
                me.n = n;
                me.s = kscore[k];
                want = 0;
                for (int j = 0; j < keyspace; j++) {
                    if (!present[j] || j == k)
                        continue;
                    melem o;
                    o.n = (size_t)snprintf(o.m, 16, "m%d", j);
                    o.s = kscore[j];
                    want += mcmp(&o, &me) < 0;
                }
            }
            double sc;
            assert_int_equal(dice__zs_rank(z, m, n, 0, &sc), want);
            if (want >= 0)
                assert_true(sc == kscore[k]);
        }
        if (check_every && op % check_every == 0) {
            rebuild(keyspace);
            compare(z);
        }
    }
    rebuild(keyspace);
    compare(z);
}

static void test_listpack_and_conversion(void **state) {
    (void)state;
    srand(1);
    memset(present, 0, sizeof(present));
    dice__zset *z = dice__zs_new(0);
    random_ops(z, 2000, 100, 1);
    assert_int_equal(dice__zs_encoding(z), DICE__ZS_LISTPACK);
    /* Exactly past 128 members it converts. */
    while (dice__zs_len(z))
        dice__zs_del_ranks(z, 0, dice__zs_len(z) - 1);
    mlen = 0;
    for (int i = 0; i < 128; i++) {
        char m[16];
        int out;
        size_t n = (size_t)snprintf(m, sizeof(m), "x%d", i);
        dice__zs_add(z, &lim, i, m, n, 0, &out, NULL);
    }
    assert_int_equal(dice__zs_encoding(z), DICE__ZS_LISTPACK);
    int out;
    dice__zs_add(z, &lim, 5, "x5", 2, 0, &out, NULL); /* update: stays */
    assert_int_equal(dice__zs_encoding(z), DICE__ZS_LISTPACK);
    dice__zs_add(z, &lim, 1000, "new", 3, 0, &out, NULL);
    assert_int_equal(dice__zs_encoding(z), DICE__ZS_BIG);
    assert_int_equal(dice__zs_len(z), 129);
    assert_int_equal(dice__zs_rank(z, "new", 3, 0, NULL), 128);
    assert_int_equal(dice__zs_check(z), 0);
    dice__zs_free(z);
    /* A long member converts too. */
    z = dice__zs_new(0);
    char big[65];
    memset(big, 'a', sizeof(big));
    dice__zs_add(z, &lim, 1, big, 64, 0, &out, NULL);
    assert_int_equal(dice__zs_encoding(z), DICE__ZS_LISTPACK);
    dice__zs_add(z, &lim, 1, big, 65, 0, &out, NULL);
    assert_int_equal(dice__zs_encoding(z), DICE__ZS_BIG);
    dice__zs_free(z);
}

static void test_big_random(void **state) {
    (void)state;
    srand(2);
    memset(present, 0, sizeof(present));
    dice__zset *z = dice__zs_new(1);
    /* Growing past 3 levels (80-pointer leaves, 32-child inner nodes),
     * then shrinking: merges, borrows and root drops. */
    random_ops(z, 150000, 40000, 5001);
    for (int k = 300; k < 40000; k++) {
        char m[16];
        size_t n = (size_t)snprintf(m, sizeof(m), "m%d", k);
        assert_int_equal(dice__zs_del(z, m, n), present[k]);
        present[k] = 0;
        if (k % 997 == 0)
            assert_int_equal(dice__zs_check(z), 0);
    }
    random_ops(z, 60000, 300, 501);
    dice__zs_free(z);
}

static void test_big_sequential_and_pop(void **state) {
    (void)state;
    dice__zset *z = dice__zs_new(1);
    mlen = 0;
    for (int i = 0; i < 30000; i++) {
        char m[16];
        int out;
        size_t n = (size_t)snprintf(m, sizeof(m), "m%d", i);
        assert_int_equal(dice__zs_add(z, &lim, i, m, n, 0, &out, NULL), 0);
        memcpy(model[mlen].m, m, n);
        model[mlen].n = n;
        model[mlen++].s = i;
    }
    compare(z);
    dice__zs_srange r = {100, 200, 1, 0};
    size_t lo, hi;
    dice__zs_score_ranks(z, &r, &lo, &hi);
    assert_int_equal(lo, 101);
    assert_int_equal(hi, 201);
    dice__zs_lrange lr = {"m1", "m2", 2, 2, 0, 1, 0, 0};
    (void)lr;
    /* Pop from both ends. */
    assert_int_equal(dice__zs_pop(z, 0, 1000, NULL, NULL), 1000);
    mdel(0);
    memmove(&model[0], &model[999], (mlen - 999) * sizeof(melem));
    mlen -= 999;
    assert_int_equal(dice__zs_pop(z, 1, 1000, NULL, NULL), 1000);
    mlen -= 1000;
    compare(z);
    /* Reverse walk from a rank. */
    dice__zs_iter it;
    const char *m;
    size_t n;
    double s;
    dice__zs_iter_init(&it, z, 5, 1);
    assert_true(dice__zs_iter_next(&it, &m, &n, &s));
    assert_true(s == model[mlen - 6].s);
    dice__zs_free(z);
}

/* ---- type methods -------------------------------------------------------- */

typedef struct {
    unsigned char *b;
    size_t n, cap;
} wbuf;

static int wr(void *ctx, const void *data, size_t len) {
    wbuf *w = ctx;
    if (w->n + len > w->cap) {
        w->cap = (w->n + len) * 2;
        w->b = realloc(w->b, w->cap);
    }
    memcpy(w->b + w->n, data, len);
    w->n += len;
    return 0;
}

static void roundtrip(dice_keyspace_t *ks, dice__zset *z) {
    const dice_type_methods *m = &dice__zset_methods;
    wbuf w = {0};
    unsigned fmt;
    assert_int_equal(m->serialize(ks, z, &fmt, wr, &w), 0);
    void *o;
    size_t used;
    assert_int_equal(m->deserialize(ks, fmt, w.b, w.n, &used, &o), 0);
    assert_int_equal(used, w.n);
    dice__zset *c = o;
    assert_int_equal(dice__zs_len(c), dice__zs_len(z));
    assert_int_equal(dice__zs_encoding(c), dice__zs_encoding(z));
    /* Every truncation asks for more; never a crash. */
    for (size_t cut = 0; cut < w.n; cut += 1 + w.n / 300) {
        int rc = m->deserialize(ks, fmt, w.b, cut, &used, &o);
        assert_true(rc == DICE_EAGAIN || rc == DICE_EPROTO);
    }
    /* Flipped bytes: refused or loaded, never a crash. */
    for (int k = 0; k < 500; k++) {
        unsigned char *b = malloc(w.n);
        memcpy(b, w.b, w.n);
        b[(size_t)rand() % w.n] ^= (unsigned char)(1 + rand() % 255);
        if (m->deserialize(ks, fmt, b, w.n, &used, &o) == 0) {
            assert_int_equal(dice__zs_check(o), 0);
            m->free(ks, o);
        }
        free(b);
    }
    void *cp = m->copy(ks, z);
    assert_int_equal(dice__zs_len(cp), dice__zs_len(z));
    m->free(ks, cp);
    m->free(ks, c);
    free(w.b);
}

static void test_methods(void **state) {
    (void)state;
    dice_keyspace_t *ks;
    assert_int_equal(dice_keyspace_new(&ks, 1), 0);
    srand(3);
    dice__zset *z = dice__zs_new(0);
    int out;
    for (int i = 0; i < 50; i++) {
        char m[16];
        size_t n = (size_t)snprintf(m, sizeof(m), "%d", i * 7);
        dice__zs_add(z, &lim, i * 0.25 - 3, m, n, 0, &out, NULL);
    }
    roundtrip(ks, z);
    for (int i = 0; i < 500; i++) {
        char m[16];
        size_t n = (size_t)snprintf(m, sizeof(m), "k%d", i);
        dice__zs_add(z, &lim, i % 17, m, n, 0, &out, NULL);
    }
    assert_int_equal(dice__zs_encoding(z), DICE__ZS_BIG);
    roundtrip(ks, z);
    assert_true(dice__zs_mem(z) > 500 * 24);
    dice__zs_free(z);
    dice_keyspace_free(ks);
}

/* An LZF-compressed RDB string (0xC3, compressed and plain lengths, the
 * LZF bytes) of the n bytes at src, appended to w. */
static void put_lzf(wbuf *w, const void *src, size_t n) {
    unsigned char *c = malloc(n + 64);
    size_t cn = dice__lzf_compress(src, n, c, n + 64);
    assert_true(cn > 0 && cn < n);
    unsigned char h[1 + 2 * DICE__RDB_LEN_MAX];
    size_t hl = 0;
    h[hl++] = 0xC3;
    hl += dice__rdb_put_len(h + hl, cn);
    hl += dice__rdb_put_len(h + hl, n);
    wr(w, h, hl);
    wr(w, c, cn);
    free(c);
}

/* Payloads whose strings Redis compressed (rdbcompression yes, strings
 * over 20 bytes): an RDB_TYPE_ZSET_2 member and a whole
 * RDB_TYPE_ZSET_LISTPACK listpack, both LZF strings, load. */
static void test_lzf_payloads(void **state) {
    (void)state;
    dice_keyspace_t *ks;
    assert_int_equal(dice_keyspace_new(&ks, 1), 0);
    const dice_type_methods *m = &dice__zset_methods;
    char member[120];
    memset(member, 'a', 100);
    memcpy(member + 100, "-compressed-member", 18);
    size_t mn = 118;
    /* RDB_TYPE_ZSET_2 (5): count 2, then member, 8-byte LE double each. */
    wbuf w = {0};
    unsigned char cnt = 2;
    wr(&w, &cnt, 1);
    put_lzf(&w, member, mn);
    double s1 = 1.5, s2 = -2;
    wr(&w, &s1, 8); /* little-endian host */
    unsigned char plain[2] = {1, 'b'};
    wr(&w, plain, 2);
    wr(&w, &s2, 8);
    void *o;
    size_t used;
    assert_int_equal(m->deserialize(ks, 5, w.b, w.n, &used, &o), 0);
    assert_int_equal(used, w.n);
    double sc;
    assert_int_equal(dice__zs_len(o), 2);
    assert_int_equal(dice__zs_score(o, member, mn, &sc), 1);
    assert_true(sc == 1.5);
    assert_int_equal(dice__zs_score(o, "b", 1, &sc), 1);
    assert_true(sc == -2);
    /* Cut anywhere: more bytes asked for or refused, never a crash. */
    for (size_t cut = 0; cut < w.n; cut++) {
        void *x;
        int rc = m->deserialize(ks, 5, w.b, cut, &used, &x);
        assert_true(rc == DICE_EAGAIN || rc == DICE_EPROTO);
    }
    m->free(ks, o);
    free(w.b);

    /* RDB_TYPE_ZSET_LISTPACK (17): serialize a small set, then write its
     * listpack back as an LZF string. */
    dice__zset *z = dice__zs_new(0);
    int out;
    mn = 60; /* within zset-max-listpack-value */
    assert_int_equal(dice__zs_add(z, &lim, 3, member, mn, 0, &out, NULL), 0);
    assert_int_equal(dice__zs_add(z, &lim, 1, "b", 1, 0, &out, NULL), 0);
    assert_int_equal(dice__zs_encoding(z), DICE__ZS_LISTPACK);
    wbuf raw = {0};
    unsigned fmt;
    assert_int_equal(m->serialize(ks, z, &fmt, wr, &raw), 0);
    assert_int_equal(fmt, 17);
    uint64_t lpn;
    size_t hl;
    assert_int_equal(dice__rdb_read_len(raw.b, raw.n, &lpn, &hl), 0);
    assert_int_equal(hl + lpn, raw.n);
    wbuf cw = {0};
    put_lzf(&cw, raw.b + hl, (size_t)lpn);
    assert_int_equal(m->deserialize(ks, 17, cw.b, cw.n, &used, &o), 0);
    assert_int_equal(used, cw.n);
    assert_int_equal(dice__zs_len(o), 2);
    assert_int_equal(dice__zs_score(o, member, mn, &sc), 1);
    assert_true(sc == 3);
    /* A corrupted compressed payload is refused, never a crash. */
    for (size_t i = 0; i < cw.n; i++) {
        unsigned char *b = malloc(cw.n);
        memcpy(b, cw.b, cw.n);
        b[i] ^= 0x5a;
        void *x;
        if (m->deserialize(ks, 17, b, cw.n, &used, &x) == 0) {
            assert_int_equal(dice__zs_check(x), 0);
            m->free(ks, x);
        }
        free(b);
    }
    m->free(ks, o);
    dice__zs_free(z);
    free(raw.b);
    free(cw.b);
    dice_keyspace_free(ks);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listpack_and_conversion),
        cmocka_unit_test(test_big_random),
        cmocka_unit_test(test_big_sequential_and_pop),
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_lzf_payloads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
