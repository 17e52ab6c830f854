/* Unit tests for the intset (lib/types/intset.c): the byte layout, upgrades
 * at the 16/32/64-bit edges, search, remove, random picks, validation of
 * corrupt buffers (exact-size copies for the sanitizer build) and a
 * randomized comparison with a sorted array. Its bytes against
 * redis-server's own are checked in test_listpack.c (the DUMP fixture). */
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

static int validate_copy(const void *buf, size_t len) {
    unsigned char *c = malloc(len ? len : 1);
    assert_non_null(c);
    memcpy(c, buf, len);
    int rc = dice__intset_validate(c, len);
    free(c);
    return rc;
}

static dice__intset *add(dice__intset *is, int64_t v, int want_added) {
    int added = -1;
    is = dice__intset_add(is, v, &added);
    assert_non_null(is);
    assert_int_equal(added, want_added);
    return is;
}

static void test_layout(void **state) {
    (void)state;
    dice__intset *is = dice__intset_new();
    assert_int_equal(dice__intset_len(is), 0);
    assert_int_equal(dice__intset_bytes(is), 8);
    assert_false(dice__intset_find(is, 0));
    is = add(is, 5, 1);
    is = add(is, -3, 1);
    is = add(is, 5, 0);
    is = add(is, 32767, 1);
    static const unsigned char w16[] = {2, 0,    0,    0, 3, 0,    0,
                                        0, 0xFD, 0xFF, 5, 0, 0xFF, 0x7F};
    assert_int_equal(dice__intset_bytes(is), sizeof w16);
    assert_memory_equal(is, w16, sizeof w16);
    assert_int_equal(validate_copy(is, sizeof w16), 0);
    dice__intset_free(is);
}

/* Upgrades: a value past the encoding's edge widens every value; negative
 * ones go in front, positive ones at the end. */
static void test_upgrades(void **state) {
    (void)state;
    static const struct {
        int64_t v;
        uint32_t enc;
    } edges[] = {
        {INT16_MAX, 2},
        {INT16_MIN, 2},
        {INT16_MAX + 1, 4},
        {INT16_MIN - 1, 4},
        {INT32_MAX, 4},
        {INT32_MIN, 4},
        {(int64_t)INT32_MAX + 1, 8},
        {(int64_t)INT32_MIN - 1, 8},
        {INT64_MAX, 8},
        {INT64_MIN, 8},
    };
    for (size_t i = 0; i < DICE__COUNT(edges); i++)
        assert_int_equal(dice__intset_value_encoding(edges[i].v), edges[i].enc);

    for (int neg = 0; neg < 2; neg++) {
        dice__intset *is = dice__intset_new();
        is = add(is, 1, 1);
        is = add(is, -1, 1);
        is = add(is, 100, 1);
        int64_t big16 = neg ? INT16_MIN - 1 : INT16_MAX + 1;
        is = add(is, big16, 1);
        assert_int_equal(dice__intset_encoding(is), 4);
        int64_t big32 = neg ? (int64_t)INT32_MIN - 1 : (int64_t)INT32_MAX + 1;
        is = add(is, big32, 1);
        assert_int_equal(dice__intset_encoding(is), 8);
        is = add(is, big32, 0);
        is = add(is, neg ? INT64_MIN : INT64_MAX, 1);
        assert_int_equal(dice__intset_len(is), 6);
        assert_int_equal(dice__intset_bytes(is), 8 + 6 * 8);
        int64_t want[6] = {-1,    1,     100,
                           big16, big32, neg ? INT64_MIN : INT64_MAX};
        /* sort want */
        for (int a = 0; a < 6; a++)
            for (int b = a + 1; b < 6; b++)
                if (want[b] < want[a]) {
                    int64_t t = want[a];
                    want[a] = want[b];
                    want[b] = t;
                }
        for (uint32_t k = 0; k < 6; k++) {
            int64_t v;
            assert_true(dice__intset_get(is, k, &v));
            assert_true(v == want[k]);
            assert_true(dice__intset_find(is, v));
            uint32_t pos;
            assert_true(dice__intset_search(is, v, &pos));
            assert_int_equal(pos, k);
        }
        int64_t v;
        assert_false(dice__intset_get(is, 6, &v));
        assert_int_equal(validate_copy(is, dice__intset_bytes(is)), 0);
        /* Removing never downgrades. */
        int removed;
        is = dice__intset_remove(is, big32, &removed);
        assert_true(removed);
        is = dice__intset_remove(is, big32, &removed);
        assert_false(removed);
        assert_int_equal(dice__intset_encoding(is), 8);
        assert_int_equal(dice__intset_len(is), 5);
        dice__intset_free(is);
    }
}

static void test_search_and_find(void **state) {
    (void)state;
    dice__intset *is = dice__intset_new();
    for (int64_t v = -100; v <= 100; v += 10)
        is = add(is, v, 1);
    uint32_t pos;
    assert_false(dice__intset_search(is, -101, &pos));
    assert_int_equal(pos, 0);
    assert_false(dice__intset_search(is, 101, &pos));
    assert_int_equal(pos, 21);
    assert_false(dice__intset_search(is, -95, &pos));
    assert_int_equal(pos, 1);
    assert_true(dice__intset_search(is, 0, &pos));
    assert_int_equal(pos, 10);
    /* Values wider than the encoding are never there. */
    assert_false(dice__intset_find(is, 1 << 20));
    assert_false(dice__intset_find(is, INT64_MIN));
    int removed;
    is = dice__intset_remove(is, 1 << 20, &removed);
    assert_false(removed);
    is = dice__intset_remove(is, -100, &removed);
    assert_true(removed);
    is = dice__intset_remove(is, 100, &removed);
    assert_true(removed);
    assert_int_equal(dice__intset_len(is), 19);
    int64_t v;
    assert_true(dice__intset_get(is, 0, &v) && v == -90);
    assert_true(dice__intset_get(is, 18, &v) && v == 90);
    /* random: the caller's number picks the index. */
    assert_true(dice__intset_random(is, 0) == -90);
    assert_true(dice__intset_random(is, 19 + 18) == 90);
    dice__intset_free(is);
}

static void test_validate(void **state) {
    (void)state;
    dice__intset *is = dice__intset_new();
    is = add(is, 1, 1);
    is = add(is, 2, 1);
    is = add(is, 70000, 1);
    size_t n = dice__intset_bytes(is);
    unsigned char *c = malloc(n);
    assert_int_equal(validate_copy(is, n), 0);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(validate_copy(is, k), DICE_EPROTO);
    /* Bad encodings. */
    const uint32_t bad_enc[] = {0, 1, 3, 16, 0x01000004};
    for (size_t i = 0; i < DICE__COUNT(bad_enc); i++) {
        memcpy(c, is, n);
        c[0] = (unsigned char)bad_enc[i];
        c[3] = (unsigned char)(bad_enc[i] >> 24);
        assert_int_equal(validate_copy(c, n), DICE_EPROTO);
    }
    /* Length not matching the size, huge length, empty set. */
    memcpy(c, is, n);
    c[4] = 4;
    assert_int_equal(validate_copy(c, n), DICE_EPROTO);
    c[4] = 0xFF;
    c[5] = c[6] = c[7] = 0xFF;
    assert_int_equal(validate_copy(c, n), DICE_EPROTO);
    static const unsigned char empty[] = {2, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(validate_copy(empty, 8), DICE_EPROTO);
    /* Duplicate, then descending values. */
    memcpy(c, is, n);
    memcpy(c + 12, c + 8, 4);
    assert_int_equal(validate_copy(c, n), DICE_EPROTO);
    memcpy(c, is, n);
    c[8] = 3;
    assert_int_equal(validate_copy(c, n), DICE_EPROTO);
    free(c);
    dice__intset_free(is);
}

static uint64_t rng_state = 2463534242ULL;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int64_t rand_value(void) {
    switch (rnd() % 4) {
    case 0: return (int64_t)(rnd() % 200) - 100;
    case 1: return (int16_t)rnd();
    case 2: return (int32_t)rnd();
    default: return (int64_t)rnd();
    }
}

#define MODEL_MAX 2000
static void test_random_model(void **state) {
    (void)state;
    static int64_t m[MODEL_MAX];
    size_t n = 0;
    dice__intset *is = dice__intset_new();
    for (int it = 0; it < 20000; it++) {
        int64_t v = rand_value();
        size_t i = 0;
        while (i < n && m[i] < v)
            i++;
        int present = i < n && m[i] == v;
        assert_int_equal(dice__intset_find(is, v), present);
        if (rnd() % 3 && n < MODEL_MAX) {
            int added;
            is = dice__intset_add(is, v, &added);
            assert_non_null(is);
            assert_int_equal(added, !present);
            if (!present) {
                memmove(m + i + 1, m + i, (n - i) * sizeof m[0]);
                m[i] = v;
                n++;
            }
        } else if (n) {
            /* remove v, or a present value */
            if (!present && rnd() % 2) {
                i = (size_t)(rnd() % n);
                v = m[i];
                present = 1;
            }
            int removed;
            is = dice__intset_remove(is, v, &removed);
            assert_int_equal(removed, present);
            if (present) {
                memmove(m + i, m + i + 1, (n - i - 1) * sizeof m[0]);
                n--;
            }
        }
        if (it % 64 == 0) {
            assert_int_equal(dice__intset_len(is), n);
            for (uint32_t k = 0; k < n; k++) {
                int64_t g;
                assert_true(dice__intset_get(is, k, &g));
                assert_true(g == m[k]);
            }
            if (n)
                assert_int_equal(validate_copy(is, dice__intset_bytes(is)), 0);
        }
    }
    dice__intset_free(is);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),          cmocka_unit_test(test_upgrades),
        cmocka_unit_test(test_search_and_find), cmocka_unit_test(test_validate),
        cmocka_unit_test(test_random_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
