/* Unit tests for the listpack (lib/types/listpack.c): every encoding and
 * backlen boundary, walking both ways, changes in the middle, find with
 * skip, validation of corrupt buffers (exact-size copies, so the sanitizer
 * build catches any read past the end), a randomized comparison with an
 * array model, and the bytes redis-server 7.0 writes (DUMP payloads in
 * tests/unit/fixtures/redis_dumps.txt, or the file DICE_LP_FIXTURE names:
 * see tests/integration/test_listpack_interop.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/core_internal.h"
#include "dice/common.h"
#include "types/intset.h"
#include "types/listpack.h"

#define U(s) ((const unsigned char *)(s))

/* Redis's lpEncodeBacklen, spelled out independently of listpack.c. */
static unsigned ref_backlen(unsigned char *b, uint64_t l) {
    if (l <= 127) {
        b[0] = (unsigned char)l;
        return 1;
    }
    if (l < 16383) {
        b[0] = (unsigned char)(l >> 7);
        b[1] = (unsigned char)((l & 127) | 128);
        return 2;
    }
    if (l < 2097151) {
        b[0] = (unsigned char)(l >> 14);
        b[1] = (unsigned char)(((l >> 7) & 127) | 128);
        b[2] = (unsigned char)((l & 127) | 128);
        return 3;
    }
    if (l < 268435455) {
        b[0] = (unsigned char)(l >> 21);
        b[1] = (unsigned char)(((l >> 14) & 127) | 128);
        b[2] = (unsigned char)(((l >> 7) & 127) | 128);
        b[3] = (unsigned char)((l & 127) | 128);
        return 4;
    }
    b[0] = (unsigned char)(l >> 28);
    b[1] = (unsigned char)(((l >> 21) & 127) | 128);
    b[2] = (unsigned char)(((l >> 14) & 127) | 128);
    b[3] = (unsigned char)(((l >> 7) & 127) | 128);
    b[4] = (unsigned char)((l & 127) | 128);
    return 5;
}

static uint32_t rd32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* Validate an exact-size heap copy of the listpack (so the sanitizer sees
 * any read past its end). */
static int validate_copy(const unsigned char *buf, size_t len) {
    unsigned char *c = malloc(len ? len : 1);
    assert_non_null(c);
    memcpy(c, buf, len);
    int rc = dice__lp_validate(c, len, NULL, NULL, NULL);
    free(c);
    return rc;
}

static void assert_valid(unsigned char *lp) {
    unsigned long n = 0;
    assert_int_equal(dice__lp_validate(lp, dice__lp_bytes(lp), NULL, NULL, &n),
                     0);
    assert_int_equal(n, dice__lp_length(lp));
}

/* Text of entry p into out (NUL added); returns its length. */
static uint32_t text(const unsigned char *p, char *out) {
    unsigned char buf[DICE__LP_INTBUF];
    uint32_t len;
    const unsigned char *s = dice__lp_get_str(p, &len, buf);
    memcpy(out, s, len);
    out[len] = 0;
    return len;
}

/* ---- encodings --------------------------------------------------------- */

/* Append v as text and check the encoding byte, the entry's size (with its
 * backlen) and the value read back. */
static void check_int(long long v, unsigned char enc0, uint32_t encsize) {
    char s[32];
    int n = snprintf(s, sizeof s, "%lld", v);
    unsigned char *lp = dice__lp_new(0);
    assert_non_null(lp);
    lp = dice__lp_append(lp, U(s), (uint32_t)n);
    assert_non_null(lp);
    lp = dice__lp_append_int(lp, v);
    assert_non_null(lp);
    for (unsigned char *p = dice__lp_first(lp); p; p = dice__lp_next(lp, p)) {
        if (enc0 < 0x80 || enc0 == 0xC0)
            assert_int_equal(p[0] & (enc0 == 0xC0 ? 0xE0 : 0x80), enc0);
        else
            assert_int_equal(p[0], enc0);
        assert_int_equal(dice__lp_entry_size(p), encsize + 1);
        assert_int_equal(p[encsize], encsize); /* one-byte backlen */
        uint32_t len;
        long long iv;
        assert_null(dice__lp_get(p, &len, &iv));
        assert_int_equal(iv, v);
        assert_true(dice__lp_eq(p, U(s), (uint32_t)n));
        assert_true(dice__lp_eq_int(p, v));
        assert_false(dice__lp_eq_int(p, v ^ 1));
        char t[32];
        assert_int_equal(text(p, t), n);
        assert_string_equal(t, s);
    }
    assert_int_equal(dice__lp_length(lp), 2);
    assert_int_equal(dice__lp_bytes(lp), 7 + 2 * (encsize + 1));
    assert_valid(lp);
    dice__lp_free(lp);
}

static void test_int_encodings(void **state) {
    (void)state;
    check_int(0, 0x00, 1);
    check_int(127, 0x00, 1);
    check_int(128, 0xC0, 2);
    check_int(-1, 0xC0, 2);
    check_int(4095, 0xC0, 2);
    check_int(-4096, 0xC0, 2);
    check_int(4096, 0xF1, 3);
    check_int(-4097, 0xF1, 3);
    check_int(32767, 0xF1, 3);
    check_int(-32768, 0xF1, 3);
    check_int(32768, 0xF2, 4);
    check_int(-32769, 0xF2, 4);
    check_int(8388607, 0xF2, 4);
    check_int(-8388608, 0xF2, 4);
    check_int(8388608, 0xF3, 5);
    check_int(-8388609, 0xF3, 5);
    check_int(2147483647LL, 0xF3, 5);
    check_int(-2147483648LL, 0xF3, 5);
    check_int(2147483648LL, 0xF4, 9);
    check_int(-2147483649LL, 0xF4, 9);
    check_int(INT64_MAX, 0xF4, 9);
    check_int(INT64_MIN, 0xF4, 9);

    /* Exact bytes of a few, as Redis writes them. */
    unsigned char *lp = dice__lp_new(0);
    lp = dice__lp_append_int(lp, -1);
    lp = dice__lp_append_int(lp, -32769);
    static const unsigned char want[] = {0x0F, 0,    0,    0,    2,
                                         0,    0xDF, 0xFF, 0x02, 0xF2,
                                         0xFF, 0x7F, 0xFF, 0x04, 0xFF};
    assert_int_equal(dice__lp_bytes(lp), sizeof want);
    assert_memory_equal(lp, want, sizeof want);
    dice__lp_free(lp);
}

/* Strings that are not canonical integers stay strings. */
static void test_non_canonical_ints(void **state) {
    (void)state;
    const char *v[] = {"007",
                       "-0",
                       "+1",
                       " 1",
                       "1 ",
                       "1.5",
                       "",
                       "9223372036854775808",
                       "-9223372036854775809",
                       "-",
                       "0x10"};
    for (size_t i = 0; i < DICE__COUNT(v); i++) {
        unsigned char *lp = dice__lp_new(0);
        uint32_t n = (uint32_t)strlen(v[i]);
        lp = dice__lp_append(lp, U(v[i]), n);
        unsigned char *p = dice__lp_first(lp);
        assert_int_equal(p[0], 0x80 | n);
        uint32_t len;
        long long iv;
        const unsigned char *s = dice__lp_get(p, &len, &iv);
        assert_non_null(s);
        assert_int_equal(len, n);
        assert_memory_equal(s, v[i], n);
        assert_true(dice__lp_eq(p, U(v[i]), n));
        dice__lp_free(lp);
    }
}

/* A string of n 'x' bytes: the encoding bytes, entry size, backlen bytes. */
static void check_str(uint32_t n, unsigned hdr, unsigned backlen) {
    unsigned char *s = malloc(n ? n : 1);
    assert_non_null(s);
    memset(s, 'x', n);
    unsigned char *lp = dice__lp_new(0);
    lp = dice__lp_append(lp, U("first"), 5);
    lp = dice__lp_append(lp, s, n);
    assert_non_null(lp);
    lp = dice__lp_append(lp, U("last"), 4);
    unsigned char *p = dice__lp_seek(lp, 1);
    if (hdr == 1)
        assert_int_equal(p[0], 0x80 | n);
    else if (hdr == 2)
        assert_true(p[0] == (0xE0 | (n >> 8)) && p[1] == (n & 0xFF));
    else
        assert_true(p[0] == 0xF0 && rd32(p + 1) == n);
    uint64_t l = (uint64_t)hdr + n;
    unsigned char bl[5];
    assert_int_equal(ref_backlen(bl, l), backlen);
    assert_int_equal(dice__lp_entry_size(p), l + backlen);
    assert_memory_equal(p + l, bl, backlen);
    uint32_t len;
    long long iv;
    const unsigned char *g = dice__lp_get(p, &len, &iv);
    assert_int_equal(len, n);
    assert_true(g == p + hdr);
    assert_true(dice__lp_eq(p, s, n));
    /* Walk back over it from the last entry. */
    unsigned char *q = dice__lp_last(lp);
    assert_true(dice__lp_eq(q, U("last"), 4));
    assert_true(dice__lp_prev(lp, q) == p);
    assert_true(dice__lp_eq(dice__lp_prev(lp, p), U("first"), 5));
    assert_true(dice__lp_seek(lp, -2) == p);
    assert_valid(lp);
    assert_int_equal(validate_copy(lp, dice__lp_bytes(lp)), 0);
    dice__lp_free(lp);
    free(s);
}

static void test_str_encodings_and_backlen(void **state) {
    (void)state;
    check_str(0, 1, 1);
    check_str(63, 1, 1);
    check_str(64, 2, 1);
    check_str(125, 2, 1);   /* entry 127: 1-byte backlen */
    check_str(126, 2, 2);   /* entry 128: 2 bytes */
    check_str(4095, 2, 2);  /* last 12-bit length */
    check_str(4096, 5, 2);  /* first 32-bit length */
    check_str(16377, 5, 2); /* entry 16382 */
    check_str(16378, 5, 3); /* entry 16383: 3 bytes (Redis's bound) */
    check_str(16379, 5, 3);
    check_str(2097145, 5, 3); /* entry 2097150 */
    check_str(2097146, 5, 4); /* entry 2097151: 4 bytes */
}

/* A 5-byte backlen needs an entry of 268435455 bytes: build one by hand
 * (calloc'd, so the untouched string bytes cost no memory) and check that
 * validation, entry_size and walking back handle it. */
static void test_backlen_five_bytes(void **state) {
    (void)state;
    uint32_t n = 268435455 - 5; /* string bytes: entry 268435455 */
    size_t total = 6 + 5 + (size_t)n + 5 + 3 + 1;
    unsigned char *lp = calloc(1, total);
    assert_non_null(lp);
    lp[0] = (unsigned char)total;
    lp[1] = (unsigned char)(total >> 8);
    lp[2] = (unsigned char)(total >> 16);
    lp[3] = (unsigned char)(total >> 24);
    lp[4] = 2;
    unsigned char *p = lp + 6;
    p[0] = 0xF0;
    p[1] = (unsigned char)n;
    p[2] = (unsigned char)(n >> 8);
    p[3] = (unsigned char)(n >> 16);
    p[4] = (unsigned char)(n >> 24);
    unsigned char bl[5];
    assert_int_equal(ref_backlen(bl, 5 + (uint64_t)n), 5);
    memcpy(p + 5 + n, bl, 5);
    unsigned char *q = p + 5 + n + 5;
    q[0] = 0x81; /* "a" */
    q[1] = 'a';
    q[2] = 2;
    q[3] = 0xFF;
    assert_int_equal(dice__lp_validate(lp, total, NULL, NULL, NULL), 0);
    assert_int_equal(dice__lp_entry_size(p), 268435455 + 5);
    assert_true(dice__lp_next(lp, p) == q);
    assert_true(dice__lp_last(lp) == q);
    assert_true(dice__lp_prev(lp, q) == p);
    assert_true(dice__lp_seek(lp, -2) == p);
    /* A 4-byte backlen there instead is refused. */
    memcpy(p + 5 + n + 1, bl, 4);
    p[5 + n] = 0;
    assert_int_equal(dice__lp_validate(lp, total, NULL, NULL, NULL),
                     DICE_EPROTO);
    free(lp);
}

/* ---- walking, changing ------------------------------------------------- */

static unsigned char *build(const char *const *v, size_t n) {
    unsigned char *lp = dice__lp_new(0);
    for (size_t i = 0; i < n; i++) {
        lp = dice__lp_append(lp, U(v[i]), (uint32_t)strlen(v[i]));
        assert_non_null(lp);
    }
    return lp;
}

static void assert_contents(unsigned char *lp, const char *const *v, size_t n) {
    assert_int_equal(dice__lp_length(lp), n);
    size_t i = 0;
    char t[8192];
    for (unsigned char *p = dice__lp_first(lp); p; p = dice__lp_next(lp, p)) {
        assert_true(i < n);
        text(p, t);
        assert_string_equal(t, v[i]);
        i++;
    }
    assert_int_equal(i, n);
    for (unsigned char *p = dice__lp_last(lp); p; p = dice__lp_prev(lp, p)) {
        text(p, t);
        assert_string_equal(t, v[--i]);
    }
    assert_int_equal(i, 0);
    for (long k = 0; k < (long)n; k++) {
        text(dice__lp_seek(lp, k), t);
        assert_string_equal(t, v[k]);
        text(dice__lp_seek(lp, k - (long)n), t);
        assert_string_equal(t, v[k]);
    }
    assert_null(dice__lp_seek(lp, (long)n));
    assert_null(dice__lp_seek(lp, -(long)n - 1));
    assert_valid(lp);
}

static void test_empty(void **state) {
    (void)state;
    unsigned char *lp = dice__lp_new(64);
    static const unsigned char want[] = {7, 0, 0, 0, 0, 0, 0xFF};
    assert_memory_equal(lp, want, 7);
    assert_int_equal(dice__lp_bytes(lp), 7);
    assert_int_equal(dice__lp_length(lp), 0);
    assert_null(dice__lp_first(lp));
    assert_null(dice__lp_last(lp));
    assert_null(dice__lp_seek(lp, 0));
    assert_null(dice__lp_seek(lp, -1));
    assert_null(dice__lp_find(lp, dice__lp_first(lp), U("a"), 1, 0));
    lp = dice__lp_delete_range(lp, 0, 10);
    assert_int_equal(dice__lp_bytes(lp), 7);
    assert_valid(lp);
    dice__lp_free(lp);
}

static void test_insert_delete_middle(void **state) {
    (void)state;
    const char *v0[] = {"a", "b", "c", "d"};
    unsigned char *lp = build(v0, 4);
    assert_contents(lp, v0, 4);
    unsigned char *p = dice__lp_seek(lp, 2), *np;
    lp = dice__lp_insert_str(lp, p, DICE__LP_BEFORE, U("B2"), 2, &np);
    assert_true(dice__lp_eq(np, U("B2"), 2));
    const char *v1[] = {"a", "b", "B2", "c", "d"};
    assert_contents(lp, v1, 5);
    p = dice__lp_seek(lp, 3);
    lp = dice__lp_insert_int(lp, p, DICE__LP_AFTER, -12345, &np);
    assert_true(dice__lp_eq_int(np, -12345));
    const char *v2[] = {"a", "b", "B2", "c", "-12345", "d"};
    assert_contents(lp, v2, 6);
    lp = dice__lp_insert_str(lp, dice__lp_last(lp), DICE__LP_AFTER, U("z"), 1,
                             &np);
    assert_true(np == dice__lp_last(lp));
    lp = dice__lp_prepend(lp, U("0"), 1);
    lp = dice__lp_prepend_int(lp, 4096);
    const char *v3[] = {"4096", "0", "a", "b", "B2", "c", "-12345", "d", "z"};
    assert_contents(lp, v3, 9);
    /* Replace with a longer, a shorter and an int value. */
    p = dice__lp_seek(lp, 3);
    lp = dice__lp_replace(lp, &p, U("a much longer value"), 19);
    assert_true(dice__lp_eq(p, U("a much longer value"), 19));
    p = dice__lp_seek(lp, 0);
    lp = dice__lp_replace(lp, &p, U("q"), 1);
    p = dice__lp_seek(lp, -1);
    lp = dice__lp_replace_int(lp, &p, 1LL << 40);
    const char *v4[] = {"q", "0",      "a", "a much longer value", "B2",
                        "c", "-12345", "d", "1099511627776"};
    assert_contents(lp, v4, 9);
    /* Replace with bytes from inside the listpack itself. */
    p = dice__lp_seek(lp, 4);
    uint32_t len;
    long long iv;
    const unsigned char *s = dice__lp_get(dice__lp_seek(lp, 3), &len, &iv);
    lp = dice__lp_replace(lp, &p, s, len);
    const char *v5[] = {
        "q", "0",      "a", "a much longer value", "a much longer value",
        "c", "-12345", "d", "1099511627776"};
    assert_contents(lp, v5, 9);
    /* Deletes: one, a range from an entry, a range by index. */
    p = dice__lp_seek(lp, 1);
    lp = dice__lp_delete(lp, p, &np);
    assert_true(dice__lp_eq(np, U("a"), 1));
    lp = dice__lp_delete_range_at(lp, &np, 2);
    assert_true(dice__lp_eq(np, U("a much longer value"), 19));
    const char *v6[] = {"q", "a much longer value", "c", "-12345",
                        "d", "1099511627776"};
    assert_contents(lp, v6, 6);
    lp = dice__lp_delete_range(lp, -2, 100);
    const char *v7[] = {"q", "a much longer value", "c", "-12345"};
    assert_contents(lp, v7, 4);
    p = dice__lp_last(lp);
    lp = dice__lp_delete(lp, p, &np);
    assert_null(np);
    lp = dice__lp_delete_range(lp, 0, 3);
    assert_contents(lp, NULL, 0);
    assert_int_equal(dice__lp_bytes(lp), 7);
    dice__lp_free(lp);
}

static void test_find_skip_and_cmp(void **state) {
    (void)state;
    /* field/value pairs where a value equals a later field. */
    const char *v[] = {"f1", "f3", "f2", "10", "f3", "v3", "10", "x"};
    unsigned char *lp = build(v, 8);
    unsigned char *first = dice__lp_first(lp);
    unsigned char *p = dice__lp_find(lp, first, U("f3"), 2, 1);
    assert_true(p == dice__lp_seek(lp, 4));
    p = dice__lp_find(lp, first, U("f3"), 2, 0);
    assert_true(p == dice__lp_seek(lp, 1));
    p = dice__lp_find(lp, first, U("10"), 2, 1);
    assert_true(p == dice__lp_seek(lp, 6));
    p = dice__lp_find(lp, dice__lp_seek(lp, 1), U("10"), 2, 1);
    assert_true(p == dice__lp_seek(lp, 3));
    assert_null(dice__lp_find(lp, first, U("v3"), 2, 1));
    assert_null(dice__lp_find(lp, first, U("010"), 3, 0));
    assert_null(dice__lp_find(lp, first, U("f"), 1, 0));

    dice__lp_needle n;
    dice__lp_needle_init(&n, U("10"), 2);
    assert_true(n.is_int && n.v == 10);
    assert_true(dice__lp_match(dice__lp_seek(lp, 3), &n));
    assert_false(dice__lp_match(dice__lp_seek(lp, 2), &n));

    unsigned char *ten = dice__lp_seek(lp, 3);
    assert_int_equal(dice__lp_cmp(ten, U("10"), 2), 0);
    assert_true(dice__lp_cmp(ten, U("1"), 1) > 0);
    assert_true(dice__lp_cmp(ten, U("100"), 3) < 0);
    assert_true(dice__lp_cmp(ten, U("2"), 1) < 0);
    assert_true(dice__lp_cmp(first, U("f1"), 2) == 0);
    assert_true(dice__lp_cmp(first, U("f0"), 2) > 0);
    assert_true(dice__lp_cmp(first, U(""), 0) > 0);
    long long iv;
    assert_true(dice__lp_get_int(ten, &iv) && iv == 10);
    assert_false(dice__lp_get_int(first, &iv));
    dice__lp_free(lp);
}

/* More than 65534 elements: the header count says "unknown" and length
 * counts; it is written back once the count fits again. */
static void test_count_unknown(void **state) {
    (void)state;
    unsigned char *lp = dice__lp_new(0);
    for (int i = 0; i < 65536; i++) {
        lp = dice__lp_append_int(lp, i % 100);
        assert_non_null(lp);
    }
    assert_int_equal(lp[4] | lp[5] << 8, 65535);
    assert_int_equal(dice__lp_length(lp), 65536);
    assert_valid(lp);
    assert_true(dice__lp_eq_int(dice__lp_seek(lp, -1), 35));
    assert_true(dice__lp_eq_int(dice__lp_seek(lp, 65535), 35));
    assert_null(dice__lp_seek(lp, 65536));
    lp = dice__lp_delete_range(lp, 0, 2);
    assert_int_equal(lp[4] | lp[5] << 8, 65535);
    assert_int_equal(dice__lp_length(lp), 65534);
    assert_int_equal(lp[4] | lp[5] << 8, 65534);
    lp = dice__lp_append_int(lp, 7);
    assert_int_equal(lp[4] | lp[5] << 8, 65535);
    assert_int_equal(dice__lp_length(lp), 65535);
    assert_int_equal(lp[4] | lp[5] << 8, 65535);
    assert_valid(lp);
    assert_true(dice__lp_safe_to_add(lp, 100));
    assert_false(dice__lp_safe_to_add(lp, DICE__LP_SAFETY_BYTES));
    assert_true(dice__lp_safe_to_add(NULL, DICE__LP_SAFETY_BYTES));
    dice__lp_free(lp);
}

/* ---- validation -------------------------------------------------------- */

static int count_cb(const unsigned char *p, void *ud) {
    (void)p;
    return ++*(int *)ud > 3;
}

static void test_validate_rejects(void **state) {
    (void)state;
    const char *v[] = {"a", "12", "-5000", "hello world", "x"};
    unsigned char *lp = build(v, 5);
    lp = dice__lp_append_int(lp, INT64_MIN);
    unsigned char big[300];
    memset(big, 'b', sizeof big);
    lp = dice__lp_append(lp, big, sizeof big);
    lp = dice__lp_append(lp, big, 70);
    size_t n = dice__lp_bytes(lp);
    assert_int_equal(validate_copy(lp, n), 0);

    /* Every truncation, and every truncation with the total fixed up and a
     * terminator put at its end. */
    unsigned char *c = malloc(n);
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(validate_copy(lp, k), DICE_EPROTO);
        if (k >= 7) {
            memcpy(c, lp, k);
            c[0] = (unsigned char)k;
            c[1] = c[2] = c[3] = 0;
            c[k - 1] = 0xFF;
            assert_int_equal(validate_copy(c, k), DICE_EPROTO);
        }
    }
    /* Wrong count, unknown count accepted. */
    memcpy(c, lp, n);
    c[4] = 7;
    assert_int_equal(validate_copy(c, n), DICE_EPROTO);
    c[4] = 0xFF;
    c[5] = 0xFF;
    assert_int_equal(validate_copy(c, n), 0);
    /* Missing terminator, wrong total. */
    memcpy(c, lp, n);
    c[n - 1] = 0;
    assert_int_equal(validate_copy(c, n), DICE_EPROTO);
    memcpy(c, lp, n);
    c[0]++;
    assert_int_equal(validate_copy(c, n), DICE_EPROTO);
    /* Bad backlen of the first entry ("a": 0x81 'a' 0x02). */
    memcpy(c, lp, n);
    c[8] = 3;
    assert_int_equal(validate_copy(c, n), DICE_EPROTO);
    /* Unused encoding byte; a terminator inside. */
    memcpy(c, lp, n);
    c[6] = 0xF5;
    assert_int_equal(validate_copy(c, n), DICE_EPROTO);
    c[6] = 0xFF;
    assert_int_equal(validate_copy(c, n), DICE_EPROTO);
    /* A string length pointing past the end (32-bit, then 12-bit). */
    static const unsigned char huge[] = {17,   0,    0,    0,    1,    0,
                                         0xF0, 0xFF, 0xFF, 0xFF, 0xFF, 'a',
                                         'b',  'c',  0x05, 0x05, 0xFF};
    assert_int_equal(validate_copy(huge, sizeof huge), DICE_EPROTO);
    static const unsigned char e12[] = {9, 0, 0, 0, 1, 0, 0xEF, 0x01, 0xFF};
    assert_int_equal(validate_copy(e12, sizeof e12), DICE_EPROTO);
    static const unsigned char e32[] = {10, 0, 0, 0, 1, 0, 0xF0, 0x01, 0, 0xFF};
    assert_int_equal(validate_copy(e32, sizeof e32), DICE_EPROTO);
    /* An int whose data runs into the terminator. */
    static const unsigned char i64[] = {10, 0, 0, 0, 1, 0, 0xF4, 0x01, 0, 0xFF};
    assert_int_equal(validate_copy(i64, sizeof i64), DICE_EPROTO);
    assert_int_equal(validate_copy(lp, 0), DICE_EPROTO);
    /* The callback sees each entry and can refuse. */
    int seen = 0;
    assert_int_equal(dice__lp_validate(lp, n, count_cb, &seen, NULL),
                     DICE_EPROTO);
    assert_int_equal(seen, 4);
    free(c);
    dice__lp_free(lp);
}

static uint64_t rng_state = 88172645463325252ULL;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Random byte flips: validation must never read out of bounds, and a
 * buffer it accepts must be walkable both ways. */
static void test_validate_mutations(void **state) {
    (void)state;
    const char *v[] = {"a", "12", "-5000", "hello world", "70000",
                       "x", "",   "-1",    "9999999999"};
    unsigned char *lp = build(v, DICE__COUNT(v));
    unsigned char s[200];
    memset(s, 's', sizeof s);
    lp = dice__lp_append(lp, s, sizeof s);
    size_t n = dice__lp_bytes(lp);
    unsigned char *c = malloc(n);
    for (int it = 0; it < 20000; it++) {
        memcpy(c, lp, n);
        int flips = 1 + (int)(rnd() % 3);
        for (int f = 0; f < flips; f++)
            c[rnd() % n] ^= (unsigned char)(1u << (rnd() % 8));
        if (dice__lp_validate(c, n, NULL, NULL, NULL) == 0) {
            unsigned long cnt = 0;
            for (unsigned char *p = dice__lp_first(c); p;
                 p = dice__lp_next(c, p)) {
                char t[300];
                text(p, t);
                cnt++;
            }
            for (unsigned char *p = dice__lp_last(c); p;
                 p = dice__lp_prev(c, p))
                cnt--;
            assert_int_equal(cnt, 0);
        }
    }
    free(c);
    dice__lp_free(lp);
}

/* ---- randomized comparison with an array model ------------------------- */

#define MODEL_MAX 400
typedef struct {
    char *v[MODEL_MAX];
    size_t n;
} model;

static char *rand_value(void) {
    static const long long edges[] = {
        0,     127,    128,     -1,       4095,      4096,      -4096,    -4097,
        32767, -32769, 8388608, -8388609, 1LL << 31, INT64_MAX, INT64_MIN};
    char buf[5000];
    size_t n;
    switch (rnd() % 4) {
    case 0:
        n = (size_t)snprintf(buf, sizeof buf, "%lld",
                             edges[rnd() % DICE__COUNT(edges)]);
        break;
    case 1:
        n = (size_t)snprintf(buf, sizeof buf, "%lld",
                             (long long)(rnd() >> (rnd() % 64)) *
                                 (rnd() % 2 ? 1 : -1));
        break;
    default: {
        static const size_t lens[] = {0, 1, 63, 64, 125, 126, 4095, 4096};
        n = rnd() % 3 ? rnd() % 70 : lens[rnd() % DICE__COUNT(lens)];
        for (size_t i = 0; i < n; i++)
            buf[i] = (char)('a' + rnd() % 26);
    }
    }
    char *s = malloc(n + 1);
    memcpy(s, buf, n);
    s[n] = 0;
    return s;
}

static void model_check(unsigned char *lp, const model *m) {
    assert_int_equal(dice__lp_length(lp), m->n);
    size_t i = 0;
    static char t[8192];
    for (unsigned char *p = dice__lp_first(lp); p; p = dice__lp_next(lp, p)) {
        text(p, t);
        assert_string_equal(t, m->v[i]);
        i++;
    }
    assert_int_equal(i, m->n);
    for (unsigned char *p = dice__lp_last(lp); p; p = dice__lp_prev(lp, p))
        i--;
    assert_int_equal(i, 0);
    assert_valid(lp);
}

static void test_random_model(void **state) {
    (void)state;
    model m = {.n = 0};
    unsigned char *lp = dice__lp_new(0);
    for (int it = 0; it < 4000; it++) {
        unsigned op = (unsigned)(rnd() % 8);
        if (m.n >= MODEL_MAX - 1 && op < 4)
            op = 5;
        long idx = m.n ? (long)(rnd() % m.n) : 0;
        if (op <= 1) { /* append / prepend */
            char *s = rand_value();
            uint32_t l = (uint32_t)strlen(s);
            if (op == 0) {
                lp = dice__lp_append(lp, U(s), l);
                m.v[m.n++] = s;
            } else {
                lp = dice__lp_prepend(lp, U(s), l);
                memmove(m.v + 1, m.v, m.n * sizeof(char *));
                m.v[0] = s;
                m.n++;
            }
        } else if (op <= 3 && m.n) { /* insert before / after */
            char *s = rand_value();
            unsigned char *p = dice__lp_seek(lp, idx), *np;
            int where = op == 2 ? DICE__LP_BEFORE : DICE__LP_AFTER;
            lp = dice__lp_insert_str(lp, p, where, U(s), (uint32_t)strlen(s),
                                     &np);
            size_t at = (size_t)idx + (where == DICE__LP_AFTER);
            memmove(m.v + at + 1, m.v + at, (m.n - at) * sizeof(char *));
            m.v[at] = s;
            m.n++;
            assert_true(dice__lp_eq(np, U(s), (uint32_t)strlen(s)));
        } else if (op == 4 && m.n) { /* replace */
            char *s = rand_value();
            unsigned char *p = dice__lp_seek(lp, idx);
            lp = dice__lp_replace(lp, &p, U(s), (uint32_t)strlen(s));
            free(m.v[idx]);
            m.v[idx] = s;
        } else if (op == 5 && m.n) { /* delete one */
            unsigned char *p = dice__lp_seek(lp, idx), *np;
            lp = dice__lp_delete(lp, p, &np);
            free(m.v[idx]);
            memmove(m.v + idx, m.v + idx + 1,
                    (m.n - (size_t)idx - 1) * sizeof(char *));
            m.n--;
            if ((size_t)idx < m.n)
                assert_true(np == dice__lp_seek(lp, idx));
            else
                assert_null(np);
        } else if (op == 6 && m.n) { /* delete a range */
            unsigned long num = (unsigned long)(rnd() % 5);
            lp = dice__lp_delete_range(lp, idx - (long)m.n, num);
            size_t k = num < m.n - (size_t)idx ? num : m.n - (size_t)idx;
            for (size_t j = 0; j < k; j++)
                free(m.v[(size_t)idx + j]);
            memmove(m.v + idx, m.v + idx + k,
                    (m.n - (size_t)idx - k) * sizeof(char *));
            m.n -= k;
        } else if (op == 7 && m.n) { /* find */
            const char *want = m.v[idx];
            size_t first = 0;
            while (strcmp(m.v[first], want) != 0)
                first++;
            unsigned char *p = dice__lp_find(lp, dice__lp_first(lp), U(want),
                                             (uint32_t)strlen(want), 0);
            assert_true(p == dice__lp_seek(lp, (long)first));
        }
        assert_non_null(lp);
        if (it % 16 == 0 || m.n < 4)
            model_check(lp, &m);
    }
    model_check(lp, &m);
    for (size_t i = 0; i < m.n; i++)
        free(m.v[i]);
    dice__lp_free(lp);
}

/* ---- redis-server's bytes ---------------------------------------------- */

typedef struct {
    unsigned char *b;
    size_t n;
} bytes;

static bytes unhex(const char *s, size_t n) {
    bytes r = {malloc(n / 2 + 1), n / 2};
    assert_non_null(r.b);
    assert_int_equal(n % 2, 0);
    for (size_t i = 0; i < r.n; i++) {
        unsigned v;
        assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
        r.b[i] = (unsigned char)v;
    }
    return r;
}

/* Element list "hex,hex,..", "-" for none, "''" for an empty element,
 * "hh*count" for a run of one byte. */
static size_t parse_elems(char *s, bytes *out, size_t max) {
    size_t n = 0;
    if (strcmp(s, "-") == 0)
        return 0;
    for (char *tok = s; tok;) {
        char *comma = strchr(tok, ',');
        if (comma)
            *comma = 0;
        assert_true(n < max);
        char *star = strchr(tok, '*');
        if (strcmp(tok, "''") == 0) {
            out[n].b = malloc(1);
            out[n].n = 0;
        } else if (star) {
            unsigned v;
            assert_int_equal(sscanf(tok, "%2x", &v), 1);
            size_t cnt = strtoul(star + 1, NULL, 10);
            out[n].b = malloc(cnt);
            memset(out[n].b, (int)v, cnt);
            out[n].n = cnt;
        } else {
            out[n] = unhex(tok, strlen(tok));
        }
        n++;
        tok = comma ? comma + 1 : NULL;
    }
    return n;
}

/* RDB length at *p (Redis's rdbLoadLen: 6-bit, 14-bit, 32/64-bit
 * big-endian); special (encoded-string) forms are not expected here. */
static uint64_t rdb_len(const unsigned char **p, const unsigned char *end) {
    assert_true(*p < end);
    unsigned char b = *(*p)++;
    switch (b >> 6) {
    case 0: return b & 0x3F;
    case 1: assert_true(*p < end); return (uint64_t)(b & 0x3F) << 8 | *(*p)++;
    case 2: {
        unsigned k = b == 0x80 ? 4 : 8;
        assert_true(b == 0x80 || b == 0x81);
        assert_true((size_t)(end - *p) >= k);
        uint64_t v = 0;
        for (unsigned i = 0; i < k; i++)
            v = v << 8 | *(*p)++;
        return v;
    }
    default:
        fail_msg("encoded (LZF or int) string in the payload: capture with "
                 "rdbcompression no");
        return 0;
    }
}

/* The string at *p: its bytes in place. */
static const unsigned char *rdb_str(const unsigned char **p,
                                    const unsigned char *end, size_t *n) {
    uint64_t l = rdb_len(p, end);
    assert_true(l <= (uint64_t)(end - *p));
    const unsigned char *s = *p;
    *p += l;
    *n = (size_t)l;
    return s;
}

/* Check one embedded listpack: valid (also from an exact-size copy, and
 * refused when truncated), its entries appended to expected[*k...], and
 * re-encoding them gives the same bytes. */
static void check_redis_lp(const unsigned char *s, size_t n,
                           const bytes *expected, size_t nexp, size_t *k) {
    assert_int_equal(validate_copy(s, n), 0);
    assert_int_equal(validate_copy(s, n - 1), DICE_EPROTO);
    unsigned char *lp = dice__lp_from_bytes(s, n);
    unsigned char *re = dice__lp_new(0);
    unsigned long cnt = 0;
    for (unsigned char *p = dice__lp_first(lp); p; p = dice__lp_next(lp, p)) {
        unsigned char buf[DICE__LP_INTBUF];
        uint32_t len;
        const unsigned char *t = dice__lp_get_str(p, &len, buf);
        assert_true(*k < nexp);
        assert_int_equal(len, expected[*k].n);
        assert_memory_equal(t, expected[*k].b, len);
        assert_true(dice__lp_eq(p, expected[*k].b, len));
        (*k)++;
        cnt++;
        re = dice__lp_append(re, t, len);
    }
    assert_int_equal(cnt, dice__lp_length(lp));
    /* Backwards too. */
    for (unsigned char *p = dice__lp_last(lp); p; p = dice__lp_prev(lp, p))
        cnt--;
    assert_int_equal(cnt, 0);
    assert_int_equal(dice__lp_bytes(re), n);
    assert_memory_equal(re, s, n);
    dice__lp_free(re);
    dice__lp_free(lp);
}

static void check_redis_intset(const unsigned char *s, size_t n,
                               const bytes *expected, size_t nexp, size_t *k) {
    unsigned char *c = malloc(n);
    memcpy(c, s, n);
    assert_int_equal(dice__intset_validate(c, n), 0);
    assert_int_equal(dice__intset_validate(c, n - 1), DICE_EPROTO);
    free(c);
    dice__intset *is = dice__intset_from_bytes(s, n);
    dice__intset *re = dice__intset_new();
    uint32_t len = dice__intset_len(is);
    /* Re-add in reverse order: same bytes. */
    for (uint32_t i = len; i-- > 0;) {
        int64_t v;
        assert_true(dice__intset_get(is, i, &v));
        re = dice__intset_add(re, v, NULL);
        assert_non_null(re);
    }
    for (uint32_t i = 0; i < len; i++) {
        int64_t v;
        assert_true(dice__intset_get(is, i, &v));
        char t[32];
        int tl = snprintf(t, sizeof t, "%lld", (long long)v);
        assert_true(*k < nexp);
        assert_int_equal((size_t)tl, expected[*k].n);
        assert_memory_equal(t, expected[*k].b, (size_t)tl);
        (*k)++;
    }
    assert_int_equal(dice__intset_bytes(re), n);
    assert_memory_equal(re, s, n);
    dice__intset_free(re);
    dice__intset_free(is);
}

/* One DUMP payload. Offsets relied on (Redis 7.0 DUMP = rdbSaveObject's
 * bytes, then the RDB version as u16 LE, then a CRC64 of 8 bytes, which is
 * not checked here):
 *   byte 0: the RDB object type;
 *   11 (set intset), 16 (hash listpack), 17 (zset listpack): one RDB
 *      string, the blob;
 *   18 (list quicklist 2): an RDB length (nodes), then per node an RDB
 *      length (container: 2 packed = listpack, 1 plain = raw element) and
 *      an RDB string;
 *   then exactly 10 bytes remain. */
static void check_payload(const char *key, const bytes *pl,
                          const bytes *expected, size_t nexp) {
    const unsigned char *p = pl->b, *end = pl->b + pl->n;
    size_t k = 0, n;
    unsigned type = *p++;
    const unsigned char *s;
    switch (type) {
    case 11:
        s = rdb_str(&p, end, &n);
        check_redis_intset(s, n, expected, nexp, &k);
        break;
    case 16:
    case 17:
        s = rdb_str(&p, end, &n);
        check_redis_lp(s, n, expected, nexp, &k);
        break;
    case 18: {
        uint64_t nodes = rdb_len(&p, end);
        for (uint64_t i = 0; i < nodes; i++) {
            uint64_t container = rdb_len(&p, end);
            s = rdb_str(&p, end, &n);
            if (container == 2) {
                check_redis_lp(s, n, expected, nexp, &k);
            } else {
                assert_int_equal(container, 1);
                assert_int_equal(n, expected[k].n);
                assert_memory_equal(s, expected[k].b, n);
                k++;
            }
        }
        break;
    }
    default: fail_msg("%s: RDB type %u not expected", key, type);
    }
    assert_int_equal(k, nexp);
    assert_int_equal(end - p, 10);
    assert_int_equal(p[0] | p[1] << 8, 10); /* RDB version 10 */
}

/* A value of random shape: a small or big integer, or a string of 0..70
 * bytes (the 1- and 2-byte string headers). */
static size_t shaped_value(char *buf, unsigned *seed) {
    unsigned r = (unsigned)rand_r(seed);
    switch (r % 4) {
    case 0: return (size_t)sprintf(buf, "%d", (int)(r >> 2) % 300 - 150);
    case 1: return (size_t)sprintf(buf, "%lld", (long long)r * 99991LL);
    default: {
        size_t n = (size_t)rand_r(seed) % 71;
        for (size_t i = 0; i < n; i++)
            buf[i] = (char)('a' + i % 26);
        return n;
    }
    }
}

/* dice__lp_replace_in_place writes exactly what dice__lp_replace writes
 * when the sizes match, touches nothing when they do not, and works on a
 * listpack that is no allocation of its own (a copy on the stack). */
static void test_replace_in_place(void **state) {
    (void)state;
    unsigned seed = 12345;
    int done = 0, refused = 0;
    for (int it = 0; it < 5000; it++) {
        char a[80], b[80];
        size_t an = shaped_value(a, &seed), bn = shaped_value(b, &seed);
        unsigned char *lp = dice__lp_new(0);
        lp = dice__lp_append(lp, U("head"), 4);
        lp = dice__lp_append(lp, U(a), (uint32_t)an);
        lp = dice__lp_append(lp, U("tail"), 4);
        size_t n = dice__lp_bytes(lp);
        unsigned char copy[256];
        assert_true(n <= sizeof(copy));
        memcpy(copy, lp, n);
        unsigned char *p = dice__lp_next(lp, dice__lp_first(lp));
        unsigned char *ref = dice__lp_replace(lp, &p, U(b), (uint32_t)bn);
        assert_non_null(ref);
        unsigned char *cp = dice__lp_next(copy, dice__lp_first(copy));
        if (dice__lp_replace_in_place(cp, U(b), (uint32_t)bn)) {
            assert_int_equal(dice__lp_bytes(ref), n);
            assert_memory_equal(copy, ref, n);
            done++;
        } else {
            assert_int_not_equal(dice__lp_bytes(ref), n);
            unsigned char *orig = dice__lp_new(0);
            orig = dice__lp_append(orig, U("head"), 4);
            orig = dice__lp_append(orig, U(a), (uint32_t)an);
            orig = dice__lp_append(orig, U("tail"), 4);
            assert_memory_equal(copy, orig, n);
            dice__lp_free(orig);
            refused++;
        }
        assert_int_equal(dice__lp_validate(copy, n, NULL, NULL, NULL), 0);
        dice__lp_free(ref);
    }
    print_message("in place %d, refused %d\n", done, refused);
    assert_true(done > 200 && refused > 200);
}

static void test_redis_fixture(void **state) {
    (void)state;
    const char *path = getenv("DICE_LP_FIXTURE");
    if (!path || !*path)
        path = DICE_TEST_FIXTURES "/redis_dumps.txt";
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t cap = 1 << 20;
    char *line = malloc(cap);
    int payloads = 0;
    while (fgets(line, (int)cap, f)) {
        size_t ll = strlen(line);
        assert_true(ll < cap - 1);
        while (ll && (line[ll - 1] == '\n' || line[ll - 1] == '\r'))
            line[--ll] = 0;
        if (ll == 0 || line[0] == '#')
            continue;
        char *key = strtok(line, " ");
        char *hex = strtok(NULL, " ");
        char *el = strtok(NULL, " ");
        assert_non_null(el);
        char *elcopy = strdup(el);
        bytes pl = unhex(hex, strlen(hex));
        static bytes expected[1000];
        size_t nexp = parse_elems(elcopy, expected, 1000);
        check_payload(key, &pl, expected, nexp);
        for (size_t i = 0; i < nexp; i++)
            free(expected[i].b);
        free(pl.b);
        free(elcopy);
        payloads++;
    }
    assert_true(payloads >= 1);
    free(line);
    fclose(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int_encodings),
        cmocka_unit_test(test_non_canonical_ints),
        cmocka_unit_test(test_str_encodings_and_backlen),
        cmocka_unit_test(test_backlen_five_bytes),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_insert_delete_middle),
        cmocka_unit_test(test_find_skip_and_cmp),
        cmocka_unit_test(test_count_unknown),
        cmocka_unit_test(test_validate_rejects),
        cmocka_unit_test(test_validate_mutations),
        cmocka_unit_test(test_random_model),
        cmocka_unit_test(test_redis_fixture),
        cmocka_unit_test(test_replace_in_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
