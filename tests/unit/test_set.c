/* The set type (lib/types/set.c): the three forms and their conversions,
 * a randomized comparison with a simple model (a sorted array of int64 or
 * a list of strings), random members staying inside the set and covering
 * it, SSCAN completeness, copies, serialize/deserialize round trips, and
 * hostile payloads (run under the sanitizer build). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "types/set.h"

static int add_ll(dice__set *s, long long v, long long lim) {
    char b[32];
    int n = snprintf(b, sizeof(b), "%lld", v);
    return dice__set_add(s, b, (size_t)n, lim);
}

static int del_ll(dice__set *s, long long v) {
    char b[32];
    int n = snprintf(b, sizeof(b), "%lld", v);
    return dice__set_del(s, b, (size_t)n);
}

static int has_ll(dice__set *s, long long v) {
    char b[32];
    int n = snprintf(b, sizeof(b), "%lld", v);
    return dice__set_has(s, b, (size_t)n);
}

static void test_conversions(void **state) {
    (void)state;
    dice__set *s = dice__set_new_for("1", 1);
    assert_string_equal(dice__set_encoding(s), "intset");
    for (int i = 0; i < 512; i++)
        assert_int_equal(add_ll(s, i, 512), 1);
    assert_int_equal(s->enc, DICE__SET_INTSET);
    assert_int_equal(add_ll(s, 512, 512), 1);
    assert_int_equal(s->enc, DICE__SET_INTS);
    assert_string_equal(dice__set_encoding(s), "hashtable");
    assert_int_equal(add_ll(s, 3, 512), 0);
    assert_int_equal(dice__set_len(s), 513);
    assert_int_equal(dice__set_add(s, "x", 1, 512), 1);
    assert_int_equal(s->enc, DICE__SET_STRS);
    assert_int_equal(dice__set_len(s), 514);
    for (int i = 0; i <= 512; i++)
        assert_true(has_ll(s, i));
    assert_int_equal(del_ll(s, 7), 1);
    assert_int_equal(s->enc, DICE__SET_STRS); /* never back */
    dice__set_free(s);

    s = dice__set_new_for("01", 2); /* not canonical: a string set */
    assert_int_equal(s->enc, DICE__SET_STRS);
    dice__set_free(s);
    s = dice__set_new(1);
    assert_int_equal(dice__set_add(s, "-0", 2, 512), 1);
    assert_int_equal(s->enc, DICE__SET_STRS);
    dice__set_free(s);
}

static int cmp64(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

typedef struct collect {
    long long *v;
    size_t n;
} collect;

static void collect_one(void *ctx, const char *m, size_t n) {
    collect *c = ctx;
    char b[32];
    assert_true(n < sizeof(b));
    memcpy(b, m, n);
    b[n] = 0;
    c->v[c->n++] = atoll(b);
}

/* The INTS form against a model, through splits, merges and random picks,
 * for in-order, reversed and random loads. */
static void test_ints_model(void **state) {
    (void)state;
    enum { N = 20000, R = 200000 };
    static long long model[N];
    static unsigned char in[R];
    for (int pattern = 0; pattern < 3; pattern++) {
        srand(42 + pattern);
        memset(in, 0, sizeof(in));
        dice__set *s = dice__set_new(1);
        size_t n = 0;
        for (int i = 0; i < 60000; i++) {
            long long v = pattern == 0   ? i % R
                          : pattern == 1 ? R - 1 - i % R
                                         : rand() % R;
            int del = rand() % 3 == 0 && i > 20000;
            if (del) {
                v = rand() % R;
                assert_int_equal(del_ll(s, v), in[v]);
                n -= in[v];
                in[v] = 0;
            } else if (n < N) {
                assert_int_equal(add_ll(s, v, 16), !in[v]);
                n += !in[v];
                in[v] = 1;
            }
            assert_int_equal(dice__set_len(s), n);
            if (i % 997 == 0) {
                for (int k = 0; k < 50; k++) {
                    long long q = rand() % R;
                    assert_int_equal(has_ll(s, q), in[q]);
                }
                dice__set_member m;
                if (n) {
                    assert_int_equal(dice__set_random(s, &m), 1);
                    char b[32];
                    memcpy(b, m.p, m.n);
                    b[m.n] = 0;
                    assert_true(in[atoll(b)]);
                }
            }
        }
        assert_int_equal(s->enc, DICE__SET_INTS);
        /* Everything, ascending, once. */
        collect c = {model, 0};
        dice__set_foreach(s, collect_one, &c);
        assert_int_equal(c.n, n);
        for (size_t i = 1; i < c.n; i++)
            assert_true(c.v[i - 1] < c.v[i]);
        for (size_t i = 0; i < c.n; i++)
            assert_true(in[c.v[i]]);
        /* SSCAN in small steps visits every member exactly once here. */
        static long long scanned[N];
        collect sc = {scanned, 0};
        uint64_t cur = 0;
        do {
            cur = dice__set_scan(s, cur, 7, collect_one, &sc);
        } while (cur);
        assert_int_equal(sc.n, n);
        qsort(scanned, sc.n, sizeof(long long), cmp64);
        assert_memory_equal(scanned, model, n * sizeof(long long));
        /* The memory: about 8 bytes a member. */
        assert_true(dice__set_mem(s) < n * 12 + 4096);
        /* Copy. */
        dice__set *d = dice__set_dup(s);
        assert_non_null(d);
        assert_int_equal(dice__set_len(d), n);
        del_ll(d, model[0]);
        assert_true(has_ll(s, model[0]));
        dice__set_free(d);
        /* Pop everything through random picks. */
        while (dice__set_len(s)) {
            dice__set_member m;
            assert_int_equal(dice__set_random(s, &m), 1);
            char b[32];
            memcpy(b, m.p, m.n);
            b[m.n] = 0;
            assert_int_equal(dice__set_del(s, b, m.n), 1);
        }
        assert_int_equal(s->u.iv.nc, 0);
        dice__set_free(s);
    }
}

/* Extremes of int64 and the cursor mapping. */
static void test_ints_extremes(void **state) {
    (void)state;
    dice__set *s = dice__set_new(1);
    assert_int_equal(dice__set_add(s, "-9223372036854775808", 20, 0), 1);
    assert_int_equal(s->enc, DICE__SET_INTS);
    assert_int_equal(dice__set_add(s, "9223372036854775807", 19, 0), 1);
    assert_int_equal(add_ll(s, 0, 0), 1);
    long long got[3];
    collect c = {got, 0};
    uint64_t cur = 0;
    do {
        cur = dice__set_scan(s, cur, 1, collect_one, &c);
    } while (cur);
    assert_int_equal(c.n, 3);
    assert_true(got[0] < 0 && got[1] == 0 && got[2] > 0);
    dice__set_free(s);
}

/* Chunks loaded in order are full; deleting from the last one until it is
 * under a quarter full evens it out with its full neighbour (the small one
 * is the right one), then random deletions down to nothing. */
static void test_ints_rebalance(void **state) {
    (void)state;
    dice__set *s = dice__set_new(1);
    for (int i = 0; i < 2000; i++)
        assert_int_equal(add_ll(s, i, 0), 1);
    assert_int_equal(s->u.iv.nc, 4);
    assert_int_equal(s->u.iv.c[0]->len, DICE__SET_CHUNK_MAX);
    for (int i = 1999; i >= 1000; i--) {
        assert_int_equal(del_ll(s, i), 1);
        for (size_t k = 0; k < s->u.iv.nc; k++) {
            assert_true(s->u.iv.c[k]->len > 0);
            assert_true(s->u.iv.c[k]->len <= s->u.iv.c[k]->cap);
            assert_true(s->u.iv.first[k] == s->u.iv.c[k]->v[0]);
            if (k)
                assert_true(s->u.iv.c[k - 1]->v[s->u.iv.c[k - 1]->len - 1] <
                            s->u.iv.c[k]->v[0]);
        }
    }
    for (int i = 0; i < 1000; i++)
        assert_true(has_ll(s, i));
    assert_int_equal(dice__set_len(s), 1000);
    while (dice__set_len(s)) {
        dice__set_member m;
        dice__set_random(s, &m);
        char b[32];
        memcpy(b, m.p, m.n);
        b[m.n] = 0;
        assert_int_equal(dice__set_del(s, b, m.n), 1);
    }
    dice__set_free(s);
}

/* Random members are uniform in every form (chi-square, loose bound). */
static void test_random_uniform(void **state) {
    (void)state;
    for (int form = 0; form < 3; form++) {
        dice__set *s = dice__set_new(form != 2);
        int n = form == 0 ? 10 : 1000;
        for (int i = 0; i < n; i++) {
            char b[32];
            int l = snprintf(b, sizeof(b), form == 2 ? "m%d" : "%d", i * 5);
            dice__set_add(s, b, (size_t)l, form == 0 ? 512 : 0);
        }
        /* Leave some chunks part full. */
        if (form == 1)
            for (int i = 0; i < n; i += 3)
                del_ll(s, i * 5);
        int live = (int)dice__set_len(s);
        static int counts[5000];
        memset(counts, 0, sizeof(counts));
        int draws = live * 200;
        for (int i = 0; i < draws; i++) {
            dice__set_member m;
            dice__set_random(s, &m);
            char b[32];
            memcpy(b, m.p, m.n);
            b[m.n] = 0;
            counts[atoi(b + (form == 2)) / 5]++;
        }
        double exp = 200, chi = 0;
        int seen = 0;
        for (int i = 0; i < n; i++) {
            if (counts[i]) {
                seen++;
                chi += (counts[i] - exp) * (counts[i] - exp) / exp;
            }
        }
        assert_int_equal(seen, live);
        double df = live - 1;
        assert_true(chi < df + 8 * __builtin_sqrt(2 * df));
        dice__set_free(s);
    }
}

typedef struct wbuf {
    unsigned char b[1 << 16];
    size_t n;
} wbuf;

static int wr(void *ctx, const void *d, size_t n) {
    wbuf *w = ctx;
    assert_true(w->n + n <= sizeof(w->b));
    memcpy(w->b + w->n, d, n);
    w->n += n;
    return 0;
}

static void test_serialize_roundtrip(void **state) {
    (void)state;
    const dice_type_methods *m = &dice__set_methods;
    for (int form = 0; form < 3; form++) {
        dice__set *s = dice__set_new(form != 2);
        for (int i = 0; i < (form == 0 ? 100 : 700); i++) {
            char b[48];
            int l = snprintf(b, sizeof(b), form == 2 ? "member-%d-xxxx" : "%d",
                             i * 1000);
            dice__set_add(s, b, (size_t)l, 512);
        }
        static wbuf w;
        w.n = 0;
        unsigned fmt;
        assert_int_equal(m->serialize(NULL, s, &fmt, wr, &w), 0);
        assert_int_equal(fmt, form == 0 ? DICE__RDB_TYPE_SET_INTSET
                                        : DICE__RDB_TYPE_SET);
        void *o;
        size_t used;
        assert_int_equal(m->deserialize(NULL, fmt, w.b, w.n, &used, &o), 0);
        assert_int_equal(used, w.n);
        assert_int_equal(dice__set_len(o), dice__set_len(s));
        assert_string_equal(dice__set_encoding(o), dice__set_encoding(s));
        /* Every prefix is incomplete, never a crash. */
        for (size_t cut = 0; cut < w.n; cut += 1 + cut / 8) {
            void *p;
            int rc = m->deserialize(NULL, fmt, w.b, cut, &used, &p);
            assert_true(rc == DICE_EAGAIN || rc == DICE_EPROTO);
        }
        dice__set_free(o);
        dice__set_free(s);
    }
}

static void test_hostile_payloads(void **state) {
    (void)state;
    const dice_type_methods *m = &dice__set_methods;
    void *o;
    size_t used;
    /* Empty set, duplicate members, bad intsets, bad lengths. */
    static const unsigned char empty[] = {0x00};
    assert_int_equal(
        m->deserialize(NULL, DICE__RDB_TYPE_SET, empty, 1, &used, &o),
        DICE_EPROTO);
    static const unsigned char dup[] = {0x02, 0x01, 'a', 0x01, 'a'};
    assert_int_equal(
        m->deserialize(NULL, DICE__RDB_TYPE_SET, dup, sizeof(dup), &used, &o),
        DICE_EPROTO);
    static const unsigned char badint[] = {
        0x0c, 2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 5, 0}; /* not ascending */
    assert_int_equal(m->deserialize(NULL, DICE__RDB_TYPE_SET_INTSET, badint,
                                    sizeof(badint), &used, &o),
                     DICE_EPROTO);
    static const unsigned char intenc[] = {0xc0, 5};
    assert_int_equal(m->deserialize(NULL, DICE__RDB_TYPE_SET_INTSET, intenc,
                                    sizeof(intenc), &used, &o),
                     DICE_EPROTO);
    static const unsigned char huge[] = {0x81, 0xff, 0xff, 0xff, 0xff,
                                         0xff, 0xff, 0xff, 0xff, 0x01};
    int rc =
        m->deserialize(NULL, DICE__RDB_TYPE_SET, huge, sizeof(huge), &used, &o);
    assert_true(rc == DICE_EAGAIN || rc == DICE_EPROTO);
    assert_int_equal(m->deserialize(NULL, 99, huge, sizeof(huge), &used, &o),
                     DICE_EINVAL);
    /* LZF: a valid one ("aaaaaaaaaa": literal 'a', back-ref of 9 at 1) and
     * broken ones. */
    unsigned char ok[] = {0x01, 0xc3, 0x05, 0x0a, 0x00, 'a', 0xe0, 0x00, 0x00};
    assert_int_equal(
        m->deserialize(NULL, DICE__RDB_TYPE_SET, ok, sizeof(ok), &used, &o), 0);
    assert_true(dice__set_has(o, "aaaaaaaaaa", 10));
    dice__set_free(o);
    unsigned char bad[sizeof(ok)];
    memcpy(bad, ok, sizeof(ok));
    bad[8] = 0x05; /* reference before the start */
    assert_int_equal(
        m->deserialize(NULL, DICE__RDB_TYPE_SET, bad, sizeof(bad), &used, &o),
        DICE_EPROTO);
    /* Random bytes: never a crash, never a leak (ASan). */
    srand(7);
    unsigned char buf[64];
    for (int i = 0; i < 20000; i++) {
        size_t n = (size_t)(rand() % (int)sizeof(buf));
        for (size_t k = 0; k < n; k++)
            buf[k] = (unsigned char)rand();
        if (n > 0 && i % 2)
            buf[0] = (unsigned char)(rand() % 8); /* a small count */
        unsigned fmt = i % 3 ? DICE__RDB_TYPE_SET : DICE__RDB_TYPE_SET_INTSET;
        if (m->deserialize(NULL, fmt, buf, n, &used, &o) == 0) {
            assert_true(used <= n);
            assert_true(dice__set_len(o) > 0);
            dice__set_free(o);
        }
    }
}

/* Every member seen by a scan, by value (members are integers here, plus
 * "x"). */
typedef struct scan_seen {
    long long *v;
    size_t n;
} scan_seen;

static void seen_one(void *ctx, const char *m, size_t n) {
    scan_seen *x = ctx;
    char b[32];
    if (n >= sizeof(b) || (n == 1 && m[0] == 'x'))
        return;
    memcpy(b, m, n);
    b[n] = 0;
    x->v[x->n++] = strtoll(b, NULL, 10);
}

/* SSCAN across the INTS -> table conversion: a scan begun on INTS goes on
 * once a string member converts the set, and visits every member present
 * throughout; INTS cursors never look like a table's, also for values
 * within 2^48 of INT64_MIN (the step runs past them). */
static void test_scan_across_conversion(void **state) {
    (void)state;
    enum { N = 3000 };
    static long long want[N], got[4 * N];
    for (int conv_at = 0; conv_at < 6; conv_at++) {
        dice__set *s = dice__set_new(1);
        for (int i = 0; i < N; i++) {
            /* a third near INT64_MIN, the rest spread out */
            want[i] = i < N / 3 ? INT64_MIN + (long long)i * 1000
                                : (long long)i * 7919 - 5000000;
            assert_int_equal(add_ll(s, want[i], 512), 1);
        }
        assert_int_equal(s->enc, DICE__SET_INTS);
        scan_seen x = {got, 0};
        uint64_t cur = 0;
        int calls = 0;
        do {
            cur = dice__set_scan(s, cur, 11, seen_one, &x);
            if (cur)
                assert_true(cur >= DICE__DICT_CURSOR_END ||
                            s->enc != DICE__SET_INTS);
            if (++calls == conv_at * 30 + 1 && conv_at)
                assert_int_equal(dice__set_add(s, "x", 1, 512), 1);
            assert_true(x.n <= 3 * N);
        } while (cur);
        if (conv_at)
            assert_int_equal(s->enc, DICE__SET_STRS);
        else
            assert_int_equal(x.n, N); /* no conversion: each once */
        qsort(got, x.n, sizeof(long long), cmp64);
        qsort(want, N, sizeof(long long), cmp64);
        size_t k = 0;
        for (size_t i = 0; i < N; i++) {
            while (k < x.n && got[k] < want[i])
                k++;
            assert_true(k < x.n && got[k] == want[i]);
        }
        dice__set_free(s);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conversions),
        cmocka_unit_test(test_ints_model),
        cmocka_unit_test(test_ints_extremes),
        cmocka_unit_test(test_ints_rebalance),
        cmocka_unit_test(test_scan_across_conversion),
        cmocka_unit_test(test_random_uniform),
        cmocka_unit_test(test_serialize_roundtrip),
        cmocka_unit_test(test_hostile_payloads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
