/* The member table of big collections (lib/types/strset.c): sets and maps
 * (bytes and doubles), values changing size classes, binary and long
 * members, SCAN completeness across rehashing, uniform random picks,
 * freeing with members both pooled and malloc'd, and growth by a quarter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "types/types_internal.h"

static void test_set_basic(void **state) {
    (void)state;
    dice__mtab s;
    dice__mt_init(&s, DICE__MT_SET);
    assert_int_equal(dice__strset_add(&s, "a", 1), 1);
    assert_int_equal(dice__strset_add(&s, "a", 1), 0);
    assert_int_equal(dice__strset_add(&s, "", 0), 1);
    assert_int_equal(dice__strset_add(&s, "a\0b", 3), 1);
    char big[300];
    memset(big, 'x', sizeof(big));
    assert_int_equal(dice__strset_add(&s, big, sizeof(big)), 1);
    assert_int_equal(s.big, 1);
    assert_int_equal(dice__mt_len(&s), 4);
    assert_true(dice__strset_has(&s, "a\0b", 3));
    assert_false(dice__strset_has(&s, "a\0c", 3));
    assert_true(dice__strset_has(&s, big, sizeof(big)));
    assert_int_equal(dice__strset_del(&s, "a", 1), 1);
    assert_int_equal(dice__strset_del(&s, "a", 1), 0);
    assert_int_equal(dice__mt_len(&s), 3);
    assert_true(dice__mt_mem(&s, 0) > sizeof(big));
    dice__mt_free(&s);
    assert_int_equal(dice__mt_len(&s), 0);
}

static void test_map_bytes(void **state) {
    (void)state;
    dice__mtab m;
    dice__mt_init(&m, DICE__MT_BYTES);
    assert_int_equal(dice__strmap_set(&m, "f", 1, "v1", 2), 1);
    dice__mt_item it;
    assert_int_equal(dice__mt_get(&m, "f", 1, &it), 1);
    assert_memory_equal(it.val, "v1", 2);
    assert_int_equal(it.vlen, 2);
    /* Same length: in place. Longer: into another class, then malloc. */
    assert_int_equal(dice__strmap_set(&m, "f", 1, "v2", 2), 0);
    char big[100];
    memset(big, 'y', sizeof(big));
    for (size_t n = 0; n <= sizeof(big); n += 7) {
        assert_int_equal(dice__strmap_set(&m, "f", 1, big, n), 0);
        assert_int_equal(dice__mt_get(&m, "f", 1, &it), 1);
        assert_int_equal(it.vlen, n);
        assert_int_equal(m.big, n + 3 > 32);
    }
    assert_int_equal(dice__mt_add(&m, "f", 1, "zz", 2, 0, NULL), 0);
    assert_int_equal(dice__mt_get(&m, "f", 1, &it), 1);
    assert_int_not_equal(it.vlen, 2); /* not replaced */
    assert_int_equal(dice__mt_len(&m), 1);
    assert_int_equal(dice__mt_del(&m, "f", 1), 1);
    assert_int_equal(m.big, 0);
    assert_int_equal(dice__mt_get(&m, "f", 1, &it), 0);
    dice__mt_free(&m);
}

static void test_map_double(void **state) {
    (void)state;
    dice__mtab m;
    dice__mt_init(&m, DICE__MT_DOUBLE);
    char k[32];
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(k, sizeof(k), "member:%d", i);
        assert_int_equal(dice__strmap_set_double(&m, k, (size_t)n, i * 0.5), 1);
    }
    for (int i = 0; i < 5000; i += 3) {
        int n = snprintf(k, sizeof(k), "member:%d", i);
        dice__mt_item it;
        assert_int_equal(dice__mt_get(&m, k, (size_t)n, &it), 1);
        assert_true(it.score == i * 0.5);
        assert_int_equal(dice__strmap_set_double(&m, k, (size_t)n, -1.0), 0);
        assert_int_equal(dice__mt_get(&m, k, (size_t)n, &it), 1);
        assert_true(it.score == -1.0);
    }
    dice__mt_free(&m);
}

/* The number N of a member "m:N" (members are not NUL-terminated). */
static int member_num(const dice__mt_item *it) {
    char b[32];
    size_t n = it->klen < sizeof(b) - 1 ? it->klen : sizeof(b) - 1;
    memcpy(b, it->key, n);
    b[n] = '\0';
    return atoi(b + 2);
}

typedef struct seen_ctx {
    unsigned char *seen;
    int n;
} seen_ctx;

static void mark(void *c, const dice__mt_item *it) {
    seen_ctx *s = c;
    int i = member_num(it);
    assert_true(i >= 0 && i < s->n);
    s->seen[i] = 1;
}

/* Keys present for the whole scan are all returned although the table
 * grows (and rehashes) between steps. */
static void test_scan_across_rehash(void **state) {
    (void)state;
    enum { N = 20000 };
    dice__mtab s;
    dice__mt_init(&s, DICE__MT_SET);
    char k[32];
    for (int i = 0; i < N; i++) {
        int n = snprintf(k, sizeof(k), "m:%d", i);
        dice__strset_add(&s, k, (size_t)n);
    }
    seen_ctx c = {calloc(3 * N, 1), 3 * N};
    uint64_t cur = 0;
    int extra = N;
    do {
        cur = dice__mt_scan(&s, cur, 10, mark, &c);
        for (int j = 0; j < 20 && extra < 3 * N; j++) {
            int n = snprintf(k, sizeof(k), "m:%d", extra++);
            dice__strset_add(&s, k, (size_t)n);
        }
    } while (cur != 0);
    for (int i = 0; i < N; i++)
        assert_true(c.seen[i]);
    free(c.seen);
    dice__mt_free(&s);
}

/* Chi-square of 200,000 picks over 100 members (99 degrees of freedom:
 * the 99.99th percentile is about 157). */
static void test_random_uniform(void **state) {
    (void)state;
    enum { M = 100, PICKS = 200000 };
    dice__mtab s;
    dice__mt_init(&s, DICE__MT_SET);
    char k[32];
    /* Grow to 1000 then delete down to 100, so the table is sparse and has
     * been through rehashing. */
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(k, sizeof(k), "m:%d", i);
        dice__strset_add(&s, k, (size_t)n);
    }
    for (int i = M; i < 1000; i++) {
        int n = snprintf(k, sizeof(k), "m:%d", i);
        dice__strset_del(&s, k, (size_t)n);
    }
    assert_int_equal(dice__mt_len(&s), M);
    int count[M] = {0};
    for (int i = 0; i < PICKS; i++) {
        dice__mt_item it;
        assert_int_equal(dice__mt_random(&s, &it), 1);
        count[member_num(&it)]++;
    }
    double exp = (double)PICKS / M, chi = 0;
    for (int i = 0; i < M; i++)
        chi += (count[i] - exp) * (count[i] - exp) / exp;
    assert_true(chi < 160);
    dice__mt_free(&s);
    dice__mt_item it;
    assert_int_equal(dice__mt_random(&s, &it), 0);
}

static void count_item(void *c, const dice__mt_item *it) {
    (void)it;
    (*(size_t *)c)++;
}

static void test_foreach_and_free_mixed(void **state) {
    (void)state;
    dice__mtab m;
    dice__mt_init(&m, DICE__MT_BYTES);
    char k[64], v[80];
    memset(v, 'v', sizeof(v));
    for (int i = 0; i < 3000; i++) {
        int n = snprintf(k, sizeof(k), "field:%d", i);
        dice__strmap_set(&m, k, (size_t)n, v, (size_t)(i % 80));
    }
    size_t n = 0;
    dice__mt_foreach(&m, count_item, &n);
    assert_int_equal(n, 3000);
    assert_true(m.big > 0);
    assert_true(dice__mt_mem(&m, 5) > 0);
    dice__mt_free(&m); /* ASan/leak check: the malloc'd ones are freed */
}

/* A member table grows by a quarter: once past a few hundred members it is
 * never under 70% full outside a rehash (a doubling table falls to 45%),
 * and every member stays reachable across the growths; deleting most of
 * them shrinks it. */
static void test_growth_keeps_table_full(void **state) {
    (void)state;
    dice__mtab s;
    dice__mt_init(&s, DICE__MT_SET);
    char k[32];
    int growths = 0;
    size_t last = 0;
    enum { N = 200000 };
    for (int i = 0; i < N; i++) {
        int n = snprintf(k, sizeof(k), "member:%d", i);
        assert_int_equal(dice__strset_add(&s, k, (size_t)n), 1);
        size_t slots = dice__dict_slots(&s.d);
        if (!s.d.rehashing && slots != last) {
            growths += last != 0;
            last = slots;
        }
        if (i > 1000 && !s.d.rehashing)
            assert_true((double)dice__mt_len(&s) >= 0.70 * (double)slots);
    }
    assert_true(growths > 20); /* 1.25^20 ~ 87: a quarter at a time */
    for (int i = 0; i < N; i += 97) {
        int n = snprintf(k, sizeof(k), "member:%d", i);
        assert_true(dice__strset_has(&s, k, (size_t)n));
    }
    for (int i = 1000; i < N; i++) {
        int n = snprintf(k, sizeof(k), "member:%d", i);
        assert_int_equal(dice__strset_del(&s, k, (size_t)n), 1);
    }
    while (dice__mt_rehash(&s, 1000))
        ;
    /* A table shrinks when under 10% full, to 75% full: 1,000 members end
     * in at most ~10,000 slots (from ~260,000). */
    assert_true(dice__dict_slots(&s.d) <= 10000 + 16);
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(k, sizeof(k), "member:%d", i);
        assert_true(dice__strset_has(&s, k, (size_t)n));
    }
    dice__mt_free(&s);
}

/* A table reserved for N members takes them with no growth and no rehash;
 * a count bigger than its payload's bytes could hold reserves only what
 * they could (a hostile count allocates no more than the payload is big). */
static int add_any(dice__mtab *s, int mode, const char *k, size_t n) {
    double v = 1;
    size_t vn = mode == DICE__MT_SET     ? 0
                : mode == DICE__MT_BYTES ? 1
                                         : sizeof(v);
    return dice__mt_add(s, k, n, &v, vn, 1, NULL);
}

static void test_reserve(void **state) {
    (void)state;
    enum { N = 100000 };
    char k[32];
    for (int mode = DICE__MT_SET; mode <= DICE__MT_DOUBLE; mode++) {
        dice__mtab s;
        dice__mt_init(&s, mode);
        assert_int_equal(dice__mt_reserve(&s, N, (size_t)N * 20, 1), 0);
        size_t slots = dice__dict_slots(&s.d);
        assert_true(slots * 9 >= (size_t)N * 10);
        assert_true(slots <= (size_t)N * 10 / 9 + 2);
        for (int i = 0; i < N; i++) {
            int n = snprintf(k, sizeof(k), "member:%d", i);
            assert_int_equal(add_any(&s, mode, k, (size_t)n), 1);
        }
        assert_int_equal(dice__mt_len(&s), N);
        assert_int_equal(dice__dict_slots(&s.d), slots);
        assert_false(s.d.rehashing);
        assert_int_equal(s.d.moved_total, 0);
        /* A smaller reserve, or one while full, changes nothing. */
        assert_int_equal(dice__mt_reserve(&s, 10, 1000, 1), 0);
        assert_int_equal(dice__dict_slots(&s.d), slots);
        /* One more member grows the table as usual. */
        assert_int_equal(add_any(&s, mode, "one more", 8), 1);
        while (dice__mt_rehash(&s, 1000))
            ;
        assert_true(dice__dict_slots(&s.d) > slots);
        dice__mt_free(&s);
    }
    /* 2^40 members announced in 100 bytes at 9 bytes each: 11 at most. */
    dice__mtab s;
    dice__mt_init(&s, DICE__MT_DOUBLE);
    assert_int_equal(dice__mt_reserve(&s, 1ull << 40, 100, 9), 0);
    assert_true(dice__dict_slots(&s.d) <= 16);
    assert_int_equal(dice__mt_reserve(&s, UINT64_MAX, SIZE_MAX, 1),
                     DICE_ENOMEM);
    assert_true(dice__dict_slots(&s.d) <= 16);
    assert_int_equal(add_any(&s, DICE__MT_DOUBLE, "a", 1), 1);
    /* A reserve of a table holding members rehashes them into it. */
    assert_int_equal(dice__mt_reserve(&s, 5000, 5000, 1), 0);
    assert_false(s.d.rehashing);
    assert_true(dice__dict_slots(&s.d) >= 5556);
    assert_true(dice__strset_has(&s, "a", 1));
    dice__mt_free(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_basic),
        cmocka_unit_test(test_map_bytes),
        cmocka_unit_test(test_map_double),
        cmocka_unit_test(test_scan_across_rehash),
        cmocka_unit_test(test_random_uniform),
        cmocka_unit_test(test_foreach_and_free_mixed),
        cmocka_unit_test(test_growth_keeps_table_full),
        cmocka_unit_test(test_reserve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
