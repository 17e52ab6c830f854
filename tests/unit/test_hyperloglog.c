/* Unit tests for the HyperLogLog codec (lib/types/hyperloglog.c): the hash
 * and register rule against values redis-server wrote (PFDEBUG DECODE and
 * GET of the same inputs), sparse and dense giving the same registers and
 * counts, the cache bits, promotion at hll-sparse-max-bytes, and hostile
 * values (truncated, overlong, random bytes) in exact-size buffers, so the
 * sanitizer build catches any read past a value's end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dice/common.h"
#include "types/hyperloglog.h"

static rawstr *exact(const void *bytes, size_t n) {
    rawstr *r = malloc(sizeof(rawstr) + (n ? n : 1));
    assert_non_null(r);
    r->len = r->cap = n;
    memcpy(r->data, bytes, n);
    return r;
}

static void add_str(rawstr **r, const char *s, size_t max) {
    int rc = dice__hll_add(r, s, strlen(s), max);
    assert_true(rc == 0 || rc == 1);
}

static void expect_decode(rawstr *r, const char *want) {
    char *got = dice__hll_decode((uint8_t *)r->data, r->len);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* One element each into an empty HLL: where redis-server 7.0 put it. */
static void test_register_rule(void **state) {
    (void)state;
    static const struct {
        const char *ele, *decode;
    } cases[] = {
        {"a", "Z:12711 v:2,1 Z:3672"},
        {"b", "Z:15780 v:1,1 Z:603"},
        {"hello", "Z:9216 v:1,1 Z:7167"},
        {"", "Z:5938 v:2,1 Z:10445"},
        {"12345678", "Z:10579 v:3,1 Z:5804"},
        {"123456789", "Z:9293 v:2,1 Z:7090"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rawstr *r = dice__hll_new();
        assert_non_null(r);
        expect_decode(r, "Z:16384");
        add_str(&r, cases[i].ele, DICE__HLL_SPARSE_MAX_DEFAULT);
        expect_decode(r, cases[i].decode);
        free(r);
    }
}

/* PFADD x a b c d e f g h i j; PFCOUNT x; GET x on redis-server. */
static void test_bytes_match_redis(void **state) {
    (void)state;
    static const uint8_t want[] = {
        0x48, 0x59, 0x4c, 0x4c, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x46, 0x6d, 0x80, 0x49, 0xe8, 0x80, 0x4c, 0x22,
        0x80, 0x44, 0x3c, 0x84, 0x38, 0x80, 0x42, 0x3d, 0x80, 0x4b, 0x83, 0x80,
        0x42, 0xed, 0x84, 0x49, 0x8c, 0x80, 0x42, 0x6d, 0x80, 0x42, 0x5a};
    rawstr *r = dice__hll_new();
    const char *e[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
    for (int i = 0; i < 10; i++)
        add_str(&r, e[i], DICE__HLL_SPARSE_MAX_DEFAULT);
    uint64_t card;
    assert_false(dice__hll_cache_get((uint8_t *)r->data, &card));
    assert_int_equal(dice__hll_count((uint8_t *)r->data, r->len, &card), 0);
    assert_int_equal(card, 10);
    dice__hll_cache_set((uint8_t *)r->data, card);
    assert_int_equal(r->len, sizeof(want));
    assert_memory_equal(r->data, want, sizeof(want));
    assert_true(dice__hll_cache_get((uint8_t *)r->data, &card));
    assert_int_equal(card, 10);
    free(r);
}

/* The same elements into a sparse and a dense value: same registers and
 * counts at every step; the sparse one turns dense past its limit. */
static void test_sparse_dense_agree(void **state) {
    (void)state;
    rawstr *sp = dice__hll_new(), *de = dice__hll_new();
    assert_int_equal(dice__hll_to_dense(&de), 1);
    assert_int_equal(dice__hll_to_dense(&de), 0);
    assert_int_equal(de->len, DICE__HLL_DENSE_SIZE);
    char buf[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(buf, sizeof(buf), "el:%d", i);
        add_str(&sp, buf, 600);
        add_str(&de, buf, 600);
        if (i % 97 == 0 || i == 4999) {
            uint8_t a[DICE__HLL_REGISTERS] = {0}, b[DICE__HLL_REGISTERS] = {0};
            assert_int_equal(dice__hll_merge(a, (uint8_t *)sp->data, sp->len),
                             0);
            assert_int_equal(dice__hll_merge(b, (uint8_t *)de->data, de->len),
                             0);
            assert_memory_equal(a, b, sizeof(a));
            uint64_t ca, cb;
            assert_int_equal(dice__hll_count((uint8_t *)sp->data, sp->len, &ca),
                             0);
            assert_int_equal(dice__hll_count((uint8_t *)de->data, de->len, &cb),
                             0);
            assert_int_equal(ca, cb);
            assert_int_equal(dice__hll_count_raw(a), ca);
            if (sp->data[4] == DICE__HLL_SPARSE)
                assert_true(sp->len <= 600);
        }
    }
    assert_int_equal(sp->data[4], DICE__HLL_DENSE);
    assert_memory_equal(sp->data + DICE__HLL_HDR, de->data + DICE__HLL_HDR,
                        DICE__HLL_DENSE_SIZE - DICE__HLL_HDR);
    uint64_t c;
    dice__hll_count((uint8_t *)de->data, de->len, &c);
    assert_true(c > 4800 && c < 5200);
    free(sp);
    free(de);
}

static void test_header_checks(void **state) {
    (void)state;
    uint8_t v[DICE__HLL_DENSE_SIZE + 1] = {0};
    size_t n = dice__hll_empty(v);
    assert_int_equal(n, 18);
    assert_true(dice__hll_is_hll(v, n));
    assert_true(dice__hll_is_hll(v, DICE__HLL_HDR)); /* body checked later */
    assert_false(dice__hll_is_hll(v, DICE__HLL_HDR - 1));
    v[4] = 2;
    assert_false(dice__hll_is_hll(v, n));
    v[4] = DICE__HLL_DENSE;
    assert_false(dice__hll_is_hll(v, n));
    assert_true(dice__hll_is_hll(v, DICE__HLL_DENSE_SIZE));
    assert_false(dice__hll_is_hll(v, DICE__HLL_DENSE_SIZE + 1));
    v[0] = 'h';
    assert_false(dice__hll_is_hll(v, DICE__HLL_DENSE_SIZE));
}

/* Every operation on a hostile sparse body, in an exact-size buffer. */
static void hostile(const uint8_t *body, size_t blen) {
    uint8_t *v = malloc(DICE__HLL_HDR + blen + 1), hdr[DICE__HLL_HDR + 2];
    assert_non_null(v);
    dice__hll_empty(hdr);
    memcpy(v, hdr, DICE__HLL_HDR);
    memcpy(v + DICE__HLL_HDR, body, blen);
    size_t n = DICE__HLL_HDR + blen;
    uint8_t regs[DICE__HLL_REGISTERS] = {0};
    uint64_t card;
    rawstr *r = exact(v, n);
    int rc = dice__hll_count((uint8_t *)r->data, r->len, &card);
    assert_true(rc == 0 || rc == DICE_EINVAL);
    rc = dice__hll_merge(regs, (uint8_t *)r->data, r->len);
    assert_true(rc == 0 || rc == DICE_EINVAL);
    char *d = dice__hll_decode((uint8_t *)r->data, r->len);
    assert_non_null(d);
    free(d);
    for (unsigned i = 0; i < 40; i++) {
        rc = dice__hll_set(&r, (i * 2654435761u) % DICE__HLL_REGISTERS,
                           1 + i % 40, 3000);
        assert_true(rc == 0 || rc == 1 || rc == DICE_EINVAL);
        if (rc == DICE_EINVAL)
            break;
    }
    rc = dice__hll_to_dense(&r);
    assert_true(rc == 0 || rc == 1 || rc == DICE_EINVAL);
    free(r);
    free(v);
}

static void test_hostile_bodies(void **state) {
    (void)state;
    uint8_t b[8192] = {0};
    hostile(b, 0); /* no registers */
    b[0] = 0x7f;   /* truncated XZERO */
    hostile(b, 1);
    b[0] = 0x7f, b[1] = 0xfe; /* one register short */
    hostile(b, 2);
    b[2] = 0x00, b[3] = 0x40; /* one too many, then truncated */
    hostile(b, 4);
    memset(b, 0xff, 4200); /* VAL runs past the end */
    hostile(b, 4200);
    memset(b, 0x40, 8192); /* 4096 XZERO of 1 */
    hostile(b, 8192);
    memset(b, 0x3f, 300); /* ZERO runs, too few */
    hostile(b, 300);
    uint64_t st = 88172645463325252ULL;
    for (int round = 0; round < 400; round++) {
        size_t len = (size_t)(round * 37 % 3000);
        for (size_t i = 0; i < len; i++) {
            st ^= st << 13, st ^= st >> 7, st ^= st << 17;
            b[i] = (uint8_t)st;
        }
        hostile(b, len);
    }
}

/* Dense values with any register bytes count without reading past the
 * end; registers of 63 (never written by an add) are fine. */
static void test_hostile_dense(void **state) {
    (void)state;
    uint8_t *v = malloc(DICE__HLL_DENSE_SIZE);
    assert_non_null(v);
    dice__hll_empty(v);
    v[4] = DICE__HLL_DENSE;
    memset(v + DICE__HLL_HDR, 0xff, DICE__HLL_DENSE_SIZE - DICE__HLL_HDR);
    uint64_t card;
    assert_int_equal(dice__hll_count(v, DICE__HLL_DENSE_SIZE, &card), 0);
    uint8_t regs[DICE__HLL_REGISTERS] = {0};
    assert_int_equal(dice__hll_merge(regs, v, DICE__HLL_DENSE_SIZE), 0);
    assert_int_equal(regs[DICE__HLL_REGISTERS - 1], 63);
    assert_int_equal(dice__hll_dense_get(v + DICE__HLL_HDR, 16383), 63);
    free(v);
}

static void test_murmur_tail_bytes(void **state) {
    (void)state;
    /* Every tail length hashes differently, and high bytes are unsigned. */
    const char s[] = "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4\xf3";
    uint64_t seen[14];
    for (size_t n = 0; n < 14; n++) {
        seen[n] = dice__murmur64a(s, n, 0xadc83b19ULL);
        for (size_t k = 0; k < n; k++)
            assert_true(seen[k] != seen[n]);
    }
}

static void test_selftest(void **state) {
    (void)state;
    char err[200];
    assert_int_equal(dice__hll_selftest(err, sizeof(err)), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_rule),
        cmocka_unit_test(test_bytes_match_redis),
        cmocka_unit_test(test_sparse_dense_agree),
        cmocka_unit_test(test_header_checks),
        cmocka_unit_test(test_hostile_bodies),
        cmocka_unit_test(test_hostile_dense),
        cmocka_unit_test(test_murmur_tail_bytes),
        cmocka_unit_test(test_selftest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
