/* The keyspace's small-entry pool (lib/keyspace/entry_pool.c): classes, reuse,
 * page spanning without overlap, and release when the last slot goes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keyspace/keyspace_internal.h"

static void test_classes(void **state) {
    (void)state;
    assert_int_equal(dice__pool_class(1), 1);
    assert_int_equal(dice__pool_class(16), 1);
    assert_int_equal(dice__pool_class(17), 2);
    assert_int_equal(dice__pool_class(24), 2);
    assert_int_equal(dice__pool_class(25), 3);
    assert_int_equal(dice__pool_class(32), 3);
    assert_int_equal(dice__pool_class(33), 0);
    assert_int_equal(dice__pool_slot_size(1), 16);
    assert_int_equal(dice__pool_slot_size(2), 24);
    assert_int_equal(dice__pool_slot_size(3), 32);
}

static void test_reuse_and_release(void **state) {
    (void)state;
    dice_pool_t p;
    memset(&p, 0, sizeof(p));
    void *a = dice__pool_alloc(&p, 2);
    void *b = dice__pool_alloc(&p, 2);
    assert_non_null(a);
    assert_int_equal((char *)b - (char *)a, 24); /* headerless, adjacent */
    assert_int_equal(p.live, 2);
    dice__pool_free(&p, a, 2);
    assert_ptr_equal(dice__pool_alloc(&p, 2), a); /* freed slot first */
    void *c = dice__pool_alloc(&p, 1);
    dice__pool_free(&p, c, 1);
    dice__pool_free(&p, a, 2);
    assert_int_equal(p.npages, 1);
    dice__pool_free(&p, b, 2); /* the last live slot: pages go back */
    assert_int_equal(p.npages, 0);
    assert_null(p.pages);
    assert_int_equal(p.live, 0);
}

/* 100,000 slots of mixed classes over many pages: each keeps its own
 * bytes; half freed and reallocated; everything released at the end. */
static void test_many_no_overlap(void **state) {
    (void)state;
    enum { N = 100000 };
    dice_pool_t p;
    memset(&p, 0, sizeof(p));
    unsigned char **s = malloc(N * sizeof(*s));
    unsigned *cls = malloc(N * sizeof(*cls));
    for (int i = 0; i < N; i++) {
        cls[i] = 1 + (unsigned)(i % 3);
        s[i] = dice__pool_alloc(&p, cls[i]);
        assert_non_null(s[i]);
        assert_int_equal((uintptr_t)s[i] % 8, 0);
        memset(s[i], i & 0xff, dice__pool_slot_size(cls[i]));
    }
    assert_true(p.npages > 30);
    for (int i = 0; i < N; i += 2)
        dice__pool_free(&p, s[i], cls[i]);
    for (int i = 0; i < N; i += 2) {
        s[i] = dice__pool_alloc(&p, cls[i]);
        memset(s[i], i & 0xff, dice__pool_slot_size(cls[i]));
    }
    for (int i = 0; i < N; i++)
        for (unsigned j = 0; j < dice__pool_slot_size(cls[i]); j++)
            assert_int_equal(s[i][j], i & 0xff);
    for (int i = 0; i < N; i++)
        dice__pool_free(&p, s[i], cls[i]);
    assert_int_equal(p.npages, 0);
    free(s);
    free(cls);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_reuse_and_release),
        cmocka_unit_test(test_many_no_overlap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
