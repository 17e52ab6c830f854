/* The hash type (lib/types/hash.c): the listpack encoding converting to
 * the table exactly at the limits (entries, field or value length, the
 * arguments' check) and never back; a randomized comparison of both
 * encodings with a simple model; copy, random picks, scan; the type
 * methods: serialize/deserialize round trips in both RDB formats, a
 * Redis-made DUMP payload, and hostile payloads (truncated, mutated,
 * duplicate fields, odd counts), which must be refused, never crash (run
 * under the sanitizer build). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "types/hash.h"
#include "types/listpack.h"
#include "types/rdb.h"

static const dice__enc_limits LIM = DICE__ENC_LIMITS_DEFAULT;

static int set_s(dice__hash **h, const dice__enc_limits *l, const char *f,
                 const char *v) {
    return dice__hash_set(h, l, f, strlen(f), v, strlen(v));
}

static const char *get_s(dice__hash *h, const char *f, char *out) {
    char nb[DICE__HASH_NUMBUF];
    const char *v;
    size_t n;
    if (!dice__hash_get(h, f, strlen(f), nb, &v, &n))
        return NULL;
    memcpy(out, v, n);
    out[n] = 0;
    return out;
}

static void test_basic_and_conversions(void **state) {
    (void)state;
    char buf[128];
    dice__hash *h = dice__hash_new();
    assert_non_null(h);
    assert_int_equal(set_s(&h, &LIM, "a", "1"), 1);
    assert_int_equal(set_s(&h, &LIM, "a", "22"), 0);
    assert_int_equal(set_s(&h, &LIM, "b", "-7"), 1);
    assert_string_equal(get_s(h, "a", buf), "22");
    assert_string_equal(get_s(h, "b", buf), "-7");
    assert_null(get_s(h, "c", buf));
    assert_int_equal(dice__hash_len(h), 2);
    assert_int_equal(dice__hash_encoding(h), DICE__HASH_LISTPACK);
    /* 64 bytes stay, 65 convert. */
    char v64[66];
    memset(v64, 'v', 65);
    v64[64] = 0;
    assert_int_equal(set_s(&h, &LIM, "c", v64), 1);
    assert_int_equal(dice__hash_encoding(h), DICE__HASH_LISTPACK);
    v64[64] = 'v';
    v64[65] = 0;
    assert_int_equal(set_s(&h, &LIM, "c", v64), 0);
    assert_int_equal(dice__hash_encoding(h), DICE__HASH_TABLE);
    assert_string_equal(get_s(h, "a", buf), "22");
    assert_int_equal(dice__hash_del(&h, "c", 1), 1);
    assert_int_equal(dice__hash_del(&h, "c", 1), 0);
    assert_int_equal(dice__hash_encoding(h), DICE__HASH_TABLE); /* never back */
    dice__hash_free(h);

    /* Entries: the limit stays, one more converts. */
    dice__enc_limits l = LIM;
    l.hash_max_listpack_entries = 4;
    h = dice__hash_new();
    for (int i = 0; i < 4; i++) {
        snprintf(buf, sizeof(buf), "f%d", i);
        assert_int_equal(set_s(&h, &l, buf, "v"), 1);
    }
    assert_int_equal(dice__hash_encoding(h), DICE__HASH_LISTPACK);
    assert_int_equal(set_s(&h, &l, "f0", "w"), 0);
    assert_int_equal(dice__hash_encoding(h), DICE__HASH_LISTPACK);
    assert_int_equal(set_s(&h, &l, "f4", "v"), 1);
    assert_int_equal(dice__hash_encoding(h), DICE__HASH_TABLE);
    assert_int_equal(dice__hash_len(h), 5);
    dice__hash_free(h);

    /* The arguments' check converts before anything is set. */
    h = dice__hash_new();
    size_t lens[2] = {3, 65};
    assert_int_equal(dice__hash_try_convert(&h, &LIM, 2, lens), 0);
    assert_int_equal(dice__hash_encoding(h), DICE__HASH_TABLE);
    dice__hash_free(h);
    h = dice__hash_new();
    lens[1] = 64;
    assert_int_equal(dice__hash_try_convert(&h, &LIM, 2, lens), 0);
    assert_int_equal(dice__hash_encoding(h), DICE__HASH_LISTPACK);
    dice__hash_free(h);
}

/* ---- model comparison ------------------------------------------------- */

#define NF 40
typedef struct {
    int present[NF];
    char val[NF][80];
} model;

static int count_pair(void *ctx, const char *f, size_t fn, const char *v,
                      size_t vn) {
    (void)f, (void)fn, (void)v, (void)vn;
    (*(size_t *)ctx)++;
    return 0;
}

static void check_model(dice__hash *h, const model *m) {
    size_t n = 0;
    char buf[128], f[16];
    for (int i = 0; i < NF; i++) {
        snprintf(f, sizeof(f), "%d", i * 37 - 500);
        const char *v = get_s(h, f, buf);
        if (m->present[i]) {
            n++;
            assert_non_null(v);
            assert_string_equal(v, m->val[i]);
        } else {
            assert_null(v);
        }
    }
    assert_int_equal(dice__hash_len(h), n);
    size_t seen = 0;
    dice__hash_foreach(h, count_pair, &seen);
    assert_int_equal(seen, n);
}

static void test_random_model(void **state) {
    (void)state;
    srand(12345);
    for (int round = 0; round < 20; round++) {
        dice__enc_limits l = LIM;
        l.hash_max_listpack_entries = round % 2 ? 16 : 512;
        l.hash_max_listpack_value = round % 3 ? 64 : 10;
        dice__hash *h = dice__hash_new();
        model m;
        memset(&m, 0, sizeof(m));
        for (int step = 0; step < 600; step++) {
            int i = rand() % NF;
            char f[16];
            snprintf(f, sizeof(f), "%d", i * 37 - 500);
            if (rand() % 3 == 0) {
                int had = m.present[i];
                assert_int_equal(dice__hash_del(&h, f, strlen(f)), had);
                m.present[i] = 0;
            } else {
                char v[80];
                int kind = rand() % 3;
                if (kind == 0)
                    snprintf(v, sizeof(v), "%d", rand() % 100000 - 50000);
                else
                    snprintf(v, sizeof(v), "%.*s", rand() % 70,
                             "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvw"
                             "xyzabcdefghijklmnopqrstuvwxyz");
                int had = m.present[i];
                assert_int_equal(set_s(&h, &l, f, v), !had);
                m.present[i] = 1;
                strcpy(m.val[i], v);
            }
            if (step % 50 == 0)
                check_model(h, &m);
        }
        check_model(h, &m);
        dice__hash *c = dice__hash_copy(h);
        assert_non_null(c);
        assert_int_equal(dice__hash_encoding(c), dice__hash_encoding(h));
        check_model(c, &m);
        dice__hash_free(c);
        dice__hash_free(h);
    }
}

typedef struct {
    size_t n;
    int distinct_ok;
    char seen[64][16];
} pick_ctx;

static int pick(void *ctx, const char *f, size_t fn, const char *v, size_t vn) {
    (void)v, (void)vn;
    pick_ctx *p = ctx;
    for (size_t i = 0; i < p->n && i < 64; i++)
        if (strlen(p->seen[i]) == fn && memcmp(p->seen[i], f, fn) == 0)
            p->distinct_ok = 0;
    if (p->n < 64) {
        memcpy(p->seen[p->n], f, fn);
        p->seen[p->n][fn] = 0;
    }
    p->n++;
    return 0;
}

static void test_random_picks(void **state) {
    (void)state;
    for (int enc = 0; enc < 2; enc++) {
        dice__hash *h = dice__hash_new();
        char f[16];
        for (int i = 0; i < 30; i++) {
            snprintf(f, sizeof(f), "f%d", i);
            set_s(&h, &LIM, f, "v");
        }
        if (enc)
            assert_int_equal(dice__hash_convert(&h), 0);
        for (size_t count = 1; count <= 40; count += 3) {
            pick_ctx p = {0, 1, {{0}}};
            assert_int_equal(dice__hash_random_many(h, count, 1, pick, &p), 0);
            assert_int_equal(p.n, count < 30 ? count : 30);
            assert_true(p.distinct_ok);
            pick_ctx q = {0, 1, {{0}}};
            assert_int_equal(dice__hash_random_many(h, count, 0, pick, &q), 0);
            assert_int_equal(q.n, count);
        }
        pick_ctx one = {0, 1, {{0}}};
        dice__hash_random(h, pick, &one);
        assert_int_equal(one.n, 1);
        pick_ctx s = {0, 1, {{0}}};
        uint64_t cur = 0;
        do
            cur = dice__hash_scan(h, cur, 5, pick, &s);
        while (cur);
        assert_true(s.n >= 30);
        dice__hash_free(h);
    }
}

/* ---- serialization ------------------------------------------------------ */

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

static dice__hash *roundtrip(dice__hash *h, unsigned want_format) {
    wbuf w = {0};
    unsigned fmt;
    assert_int_equal(dice__hash_methods.serialize(NULL, h, &fmt, wr, &w), 0);
    assert_int_equal(fmt, want_format);
    void *obj;
    size_t used;
    assert_int_equal(
        dice__hash_methods.deserialize(NULL, fmt, w.b, w.n, &used, &obj), 0);
    assert_int_equal(used, w.n);
    /* Every truncation asks for more, never reads past. */
    for (size_t cut = 0; cut < w.n; cut++) {
        unsigned char *t = malloc(cut ? cut : 1);
        memcpy(t, w.b, cut);
        void *o2 = NULL;
        int rc = dice__hash_methods.deserialize(NULL, fmt, t, cut, &used, &o2);
        assert_true(rc < 0);
        free(t);
    }
    free(w.b);
    return obj;
}

static void test_serialize_roundtrip(void **state) {
    (void)state;
    dice__hash *h = dice__hash_new();
    set_s(&h, &LIM, "a", "1");
    set_s(&h, &LIM, "bb", "-300000");
    set_s(&h, &LIM, "ccc", "text value");
    dice__hash *r = roundtrip(h, DICE__RDB_TYPE_HASH_LISTPACK);
    char buf[128];
    assert_int_equal(dice__hash_encoding(r), DICE__HASH_LISTPACK);
    assert_string_equal(get_s(r, "bb", buf), "-300000");
    assert_int_equal(dice__hash_len(r), 3);
    dice__hash_free(r);
    assert_int_equal(dice__hash_convert(&h), 0);
    r = roundtrip(h, DICE__RDB_TYPE_HASH);
    /* Three small fields load as a listpack, as Redis loads them. */
    assert_int_equal(dice__hash_encoding(r), DICE__HASH_LISTPACK);
    assert_string_equal(get_s(r, "ccc", buf), "text value");
    dice__hash_free(r);
    dice__hash_free(h);
}

/* DUMP of "HSET h a 1 b hello" from redis-server 7.0.15, type byte 16,
 * the payload up to the RDB version and CRC. */
static const unsigned char REDIS_LP[] = {
    0x16, 0x16, 0x00, 0x00, 0x00, 0x04, 0x00, 0x81, 0x61, 0x02, 0x01, 0x01,
    0x81, 0x62, 0x02, 0x85, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x06, 0xff};

static void test_redis_payload(void **state) {
    (void)state;
    void *obj;
    size_t used;
    assert_int_equal(
        dice__hash_methods.deserialize(NULL, DICE__RDB_TYPE_HASH_LISTPACK,
                                       REDIS_LP, sizeof(REDIS_LP), &used, &obj),
        0);
    assert_int_equal(used, sizeof(REDIS_LP));
    char buf[64];
    assert_string_equal(get_s(obj, "b", buf), "hello");
    assert_string_equal(get_s(obj, "a", buf), "1");
    /* And back: the same bytes. */
    wbuf w = {0};
    unsigned fmt;
    assert_int_equal(dice__hash_methods.serialize(NULL, obj, &fmt, wr, &w), 0);
    assert_int_equal(w.n, sizeof(REDIS_LP));
    assert_memory_equal(w.b, REDIS_LP, w.n);
    free(w.b);
    dice__hash_free(obj);
}

static void test_hostile_payloads(void **state) {
    (void)state;
    void *obj;
    size_t used;
    /* Duplicate fields in a listpack, an odd count, an empty one. */
    unsigned char *lp = dice__lp_new(0);
    lp = dice__lp_append(lp, (const unsigned char *)"a", 1);
    lp = dice__lp_append(lp, (const unsigned char *)"1", 1);
    lp = dice__lp_append(lp, (const unsigned char *)"a", 1);
    wbuf w = {0};
    dice__rdb_write_string(wr, &w, (const char *)lp, dice__lp_bytes(lp));
    assert_int_equal(
        dice__hash_methods.deserialize(NULL, DICE__RDB_TYPE_HASH_LISTPACK, w.b,
                                       w.n, &used, &obj),
        DICE_EPROTO);
    lp = dice__lp_append(lp, (const unsigned char *)"2", 1);
    w.n = 0;
    dice__rdb_write_string(wr, &w, (const char *)lp, dice__lp_bytes(lp));
    assert_int_equal(
        dice__hash_methods.deserialize(NULL, DICE__RDB_TYPE_HASH_LISTPACK, w.b,
                                       w.n, &used, &obj),
        DICE_EPROTO);
    dice__lp_free(lp);
    /* RDB_TYPE_HASH with a field twice, and with zero fields. */
    w.n = 0;
    dice__rdb_write_len(wr, &w, 2);
    for (int i = 0; i < 2; i++) {
        dice__rdb_write_string(wr, &w, "f", 1);
        dice__rdb_write_string(wr, &w, "v", 1);
    }
    assert_int_equal(dice__hash_methods.deserialize(NULL, DICE__RDB_TYPE_HASH,
                                                    w.b, w.n, &used, &obj),
                     DICE_EPROTO);
    w.n = 0;
    dice__rdb_write_len(wr, &w, 0);
    assert_int_equal(dice__hash_methods.deserialize(NULL, DICE__RDB_TYPE_HASH,
                                                    w.b, w.n, &used, &obj),
                     DICE_EPROTO);
    assert_int_equal(
        dice__hash_methods.deserialize(NULL, 99, w.b, w.n, &used, &obj),
        DICE_EINVAL);
    free(w.b);
    /* Random mutations of valid payloads: refused or loaded, never a
     * crash or an out-of-bounds read (the sanitizer build checks). */
    srand(7);
    dice__hash *h = dice__hash_new();
    char f[16];
    for (int i = 0; i < 20; i++) {
        snprintf(f, sizeof(f), "f%d", i);
        set_s(&h, &LIM, f, i % 2 ? "12345" : "some text");
    }
    for (int enc = 0; enc < 2; enc++) {
        wbuf good = {0};
        unsigned fmt;
        dice__hash_methods.serialize(NULL, h, &fmt, wr, &good);
        for (int t = 0; t < 3000; t++) {
            unsigned char *m = malloc(good.n);
            memcpy(m, good.b, good.n);
            int flips = 1 + rand() % 4;
            for (int k = 0; k < flips; k++)
                m[rand() % good.n] = (unsigned char)rand();
            void *o = NULL;
            size_t len = (size_t)rand() % (good.n + 1);
            if (dice__hash_methods.deserialize(NULL, fmt, m, len, &used, &o) ==
                0) {
                assert_true(used <= len);
                size_t seen = 0;
                dice__hash_foreach(o, count_pair, &seen);
                assert_int_equal(seen, dice__hash_len(o));
                dice__hash_free(o);
            }
            free(m);
        }
        free(good.b);
        dice__hash_convert(&h);
    }
    dice__hash_free(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_and_conversions),
        cmocka_unit_test(test_random_model),
        cmocka_unit_test(test_random_picks),
        cmocka_unit_test(test_serialize_roundtrip),
        cmocka_unit_test(test_redis_payload),
        cmocka_unit_test(test_hostile_payloads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
