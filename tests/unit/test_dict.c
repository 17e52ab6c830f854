/* Unit tests for the open-addressing hash table (lib/keyspace/dict.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keyspace/keyspace_internal.h"

/* Test entries: a length-prefixed key. */
typedef struct tentry {
    size_t len;
    char key[];
} tentry;

static void tgetkey(const void *e, const char **k, size_t *kl) {
    const tentry *t = e;
    *k = t->key;
    *kl = t->len;
}

/* Every test runs twice: tables that double (the keyspace's) and tables
 * that grow by a quarter (the member tables'), whose sizes are not powers
 * of two. */
static unsigned grow_mode;

static void dinit(dict *d) {
    dice__dict_init(d, tgetkey);
    d->grow = grow_mode;
}

static int doubling(void **state) {
    (void)state;
    grow_mode = 0;
    return 0;
}

static int quarter(void **state) {
    (void)state;
    grow_mode = 25;
    return 0;
}

static tentry *mk(const char *k, size_t n) {
    tentry *t = malloc(sizeof(tentry) + n);
    assert_non_null(t);
    t->len = n;
    memcpy(t->key, k, n);
    return t;
}

static void free_cb(void *ctx, void *e) {
    (void)ctx;
    free(e);
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Binary key i: random length 1..24, random bytes including NULs, with the
 * index embedded so keys are distinct. */
static size_t make_key(char *buf, uint64_t i) {
    uint64_t r = rnd();
    size_t n = 8 + (size_t)(r % 17);
    memcpy(buf, &i, 8);
    for (size_t j = 8; j < n; j++)
        buf[j] = (rnd() & 3) == 0 ? '\0' : (char)rnd();
    return n;
}

static void insert(dict *d, const char *k, size_t n) {
    assert_int_equal(dice__dict_insert(d, mk(k, n), dice__dict_hash(d, k, n)),
                     0);
}

static void *del(dict *d, const char *k, size_t n) {
    return dice__dict_delete(d, k, n, dice__dict_hash(d, k, n));
}

static void test_insert_find_delete_scale(void **state) {
    (void)state;
    enum { N = 200000 };
    dict d;
    dinit(&d);
    char(*keys)[32] = malloc((size_t)N * 32);
    size_t *lens = malloc(N * sizeof(size_t));
    assert_non_null(keys);
    assert_non_null(lens);
    for (uint64_t i = 0; i < N; i++) {
        lens[i] = make_key(keys[i], i);
        assert_null(dice__dict_find(&d, keys[i], lens[i]));
        insert(&d, keys[i], lens[i]);
    }
    assert_int_equal(dice__dict_size(&d), N);
    for (size_t i = 0; i < N; i++) {
        tentry *t = dice__dict_find(&d, keys[i], lens[i]);
        assert_non_null(t);
        assert_int_equal(t->len, lens[i]);
        assert_memory_equal(t->key, keys[i], lens[i]);
    }
    /* A key differing only after a NUL byte is a different key. */
    char probe[32];
    memcpy(probe, keys[5], lens[5]);
    probe[lens[5]] = '\0';
    assert_null(dice__dict_find(&d, probe, lens[5] + 1));
    size_t grown = dice__dict_slots(&d);
    assert_true(grown >= (size_t)N * 10 / 9);
    /* Delete 98%, checking membership along the way: triggers shrink. */
    for (size_t i = 0; i < N; i++) {
        if (i % 50 == 0)
            continue;
        tentry *t = del(&d, keys[i], lens[i]);
        assert_non_null(t);
        free(t);
        assert_null(del(&d, keys[i], lens[i]));
    }
    assert_int_equal(dice__dict_size(&d), N / 50);
    while (dice__dict_rehash_steps(&d, 1000))
        ;
    assert_true(dice__dict_slots(&d) < grown / 8);
    for (size_t i = 0; i < N; i++) {
        void *t = dice__dict_find(&d, keys[i], lens[i]);
        if (i % 50 == 0)
            assert_non_null(t);
        else
            assert_null(t);
    }
    dice__dict_clear(&d, free_cb, NULL);
    assert_int_equal(dice__dict_size(&d), 0);
    free(keys);
    free(lens);
}

static void test_seeds_differ(void **state) {
    (void)state;
    dict a, b;
    dinit(&a);
    dinit(&b);
    assert_true(a.seed != b.seed);
    assert_true(dice__dict_hash(&a, "foo", 3) != dice__dict_hash(&b, "foo", 3));
    /* Same table, same key: stable. Different lengths of zeros differ. */
    assert_true(dice__dict_hash(&a, "foo", 3) == dice__dict_hash(&a, "foo", 3));
    assert_true(dice__dict_hash(&a, "\0", 1) != dice__dict_hash(&a, "\0\0", 2));
}

static void test_bounded_rehash_work(void **state) {
    (void)state;
    enum { N = 100000 };
    dict d;
    dinit(&d);
    char k[32];
    int saw_rehash = 0;
    for (int i = 0; i < N; i++) {
        size_t n = (size_t)snprintf(k, sizeof(k), "k%d", i);
        insert(&d, k, n);
        saw_rehash |= d.rehashing;
        assert_true(d.moved_last_op <= DICT_STEP_ENTRIES);
        /* Lookups move entries too, also bounded. */
        assert_non_null(dice__dict_find(&d, k, n));
        assert_true(d.moved_last_op <= DICT_STEP_ENTRIES);
    }
    assert_true(saw_rehash);
    assert_true(d.moved_total > N / 2); /* work did happen */
    for (int i = 0; i < N; i++) {
        size_t n = (size_t)snprintf(k, sizeof(k), "k%d", i);
        free(del(&d, k, n));
        assert_true(d.moved_last_op <= DICT_STEP_ENTRIES);
    }
    assert_true(d.moved_max_op <= DICT_STEP_ENTRIES);
    assert_int_equal(dice__dict_size(&d), 0);
    dice__dict_clear(&d, free_cb, NULL);
}

static void test_timer_rehash(void **state) {
    (void)state;
    dict d;
    dinit(&d);
    char k[32];
    int i = 0;
    /* Insert until a rehash is in progress, then finish it by steps. */
    do {
        size_t n = (size_t)snprintf(k, sizeof(k), "k%d", i++);
        insert(&d, k, n);
    } while (!d.rehashing || d.t[0].used < 10000);
    /* Every key stays reachable at every point of the migration (each
     * lookup also migrates a few entries). Delete a few mid-rehash too. */
    int probes = 0;
    while (d.rehashing) {
        for (int j = 0; j < i && d.rehashing; j++) {
            size_t n = (size_t)snprintf(k, sizeof(k), "k%d", j);
            if (j % 97 == 0) {
                tentry *t = del(&d, k, n);
                assert_non_null(t);
                insert(&d, t->key, t->len);
                free(t);
            } else {
                assert_non_null(dice__dict_find(&d, k, n));
            }
            probes++;
        }
    }
    assert_true(probes > 1000);
    do {
        size_t n = (size_t)snprintf(k, sizeof(k), "k%d", i++);
        insert(&d, k, n);
    } while (!d.rehashing || d.t[0].used < 20000);
    size_t steps = 0;
    while (dice__dict_rehash_steps(&d, 10))
        steps++;
    assert_true(steps > 0);
    assert_int_equal(d.t[1].size, 0);
    assert_int_equal(dice__dict_size(&d), (size_t)i);
    for (int j = 0; j < i; j++) {
        size_t n = (size_t)snprintf(k, sizeof(k), "k%d", j);
        assert_non_null(dice__dict_find(&d, k, n));
    }
    /* Budgeted variant terminates too. */
    for (int j = i; j < 5000; j++) {
        size_t n = (size_t)snprintf(k, sizeof(k), "k%d", j);
        insert(&d, k, n);
    }
    while (dice__dict_rehash_us(&d, 100))
        ;
    assert_int_equal(d.rehashing, 0);
    dice__dict_clear(&d, free_cb, NULL);
}

static void test_chains_survive_migration(void **state) {
    (void)state;
    /* Lookups that do no migration themselves, checking every key between
     * explicit single-entry steps: keys whose probe chain crosses the
     * migration point must stay reachable. */
    dict d;
    dinit(&d);
    char k[32];
    int i = 0;
    do {
        size_t n = (size_t)snprintf(k, sizeof(k), "k%d", i++);
        insert(&d, k, n);
    } while (!d.rehashing || d.t[0].used < 3000);
    d.pause_rehash = 1;
    int checks = 0;
    while (d.rehashing) {
        dice__dict_rehash_steps(&d, 1);
        if (checks++ % 16)
            continue;
        for (int j = 0; j < i; j++) {
            size_t n = (size_t)snprintf(k, sizeof(k), "k%d", j);
            assert_non_null(dice__dict_find(&d, k, n));
        }
    }
    d.pause_rehash = 0;
    assert_true(checks > 100);
    dice__dict_clear(&d, free_cb, NULL);
}

/* ---- scan ---------------------------------------------------------- */

typedef struct seen {
    dict *set; /* keys returned, as a dict of tentry */
    size_t calls;
} seen;

static void scan_cb(void *ctx, void *e) {
    seen *s = ctx;
    tentry *t = e;
    s->calls++;
    if (!dice__dict_find(s->set, t->key, t->len))
        insert(s->set, t->key, t->len);
}

static void check_all_seen(dict *seenset, int from, int to) {
    char k[32];
    for (int i = from; i < to; i++) {
        size_t n = (size_t)snprintf(k, sizeof(k), "stable:%d", i);
        assert_non_null(dice__dict_find(seenset, k, n));
    }
}

/* While rehashing, the migrated prefix of the old table must not be a run
 * of tombstones: a miss landing there would walk all of it (O(n) per
 * operation). Only the cluster being migrated may hold tombstones. */
static void test_migrated_prefix_is_empty(void **state) {
    (void)state;
    dict d;
    dinit(&d);
    char k[32];
    uint64_t i = 0;
    while (!(d.rehashing && d.t[0].size >= 8192)) {
        size_t n = make_key(k, i++);
        insert(&d, k, n);
    }
    d.pause_rehash = 1; /* migrate only through dice__dict_rehash_steps below */
    size_t old_size = d.t[0].size, checks = 0;
    while (d.rehashing && d.rehashidx < old_size) {
        dice__dict_rehash_steps(&d, 37);
        if (!d.rehashing)
            break;
        assert_true(d.clean_from <= d.rehashidx);
        for (size_t j = 0; j < d.clean_from; j++)
            assert_int_equal(d.t[0].slots[j], 0);
        /* the tombstone window is one cluster, far shorter than the table */
        assert_true(d.rehashidx - d.clean_from < old_size / 8);
        /* and a miss costs no more than before: every key not present is
         * still reported absent */
        size_t n = make_key(k, 1000000000ull + checks);
        assert_null(dice__dict_find(&d, k, n));
        checks++;
    }
    assert_true(checks > 10);
    dice__dict_clear(&d, free_cb, NULL);
}

static void test_scan_stable(void **state) {
    (void)state;
    dict d, got;
    dinit(&d);
    dinit(&got);
    char k[32];
    for (int i = 0; i < 3000; i++)
        insert(&d, k, (size_t)snprintf(k, sizeof(k), "stable:%d", i));
    seen s = {&got, 0};
    uint64_t c = 0;
    do {
        c = dice__dict_scan(&d, c, scan_cb, &s);
    } while (c);
    check_all_seen(&got, 0, 3000);
    /* Without any change, each key is returned exactly once. */
    assert_int_equal(s.calls, 3000);
    /* Empty table: cursor 0 at once. */
    dict e;
    dinit(&e);
    assert_int_equal(dice__dict_scan(&e, 0, scan_cb, &s), 0);
    dice__dict_clear(&d, free_cb, NULL);
    dice__dict_clear(&got, free_cb, NULL);
}

static void test_scan_during_growth_and_shrink(void **state) {
    (void)state;
    dict d, got;
    dinit(&d);
    dinit(&got);
    char k[32];
    enum { STABLE = 2000, CHURN = 60000 };
    for (int i = 0; i < STABLE; i++)
        insert(&d, k, (size_t)snprintf(k, sizeof(k), "stable:%d", i));
    seen s = {&got, 0};
    uint64_t c = 0;
    int next = 0, phase = 0, rounds = 0, saw_rehash = 0;
    size_t max_slots = 0;
    do {
        c = dice__dict_scan(&d, c, scan_cb, &s);
        rounds++;
        saw_rehash |= d.rehashing;
        if (dice__dict_slots(&d) > max_slots)
            max_slots = dice__dict_slots(&d);
        /* Phase 0: grow a lot (several doublings mid-scan); phase 1:
         * delete them all again (shrinks mid-scan). */
        if (phase == 0) {
            for (int j = 0; j < 300 && next < CHURN; j++, next++)
                insert(&d, k, (size_t)snprintf(k, sizeof(k), "tmp:%d", next));
            if (next == CHURN)
                phase = 1;
        } else if (next > 0) {
            for (int j = 0; j < 600 && next > 0; j++) {
                next--;
                free(
                    del(&d, k, (size_t)snprintf(k, sizeof(k), "tmp:%d", next)));
            }
        }
    } while (c);
    assert_true(saw_rehash);
    assert_true(rounds > 10);
    check_all_seen(&got, 0, STABLE);
    dice__dict_clear(&d, free_cb, NULL);
    dice__dict_clear(&got, free_cb, NULL);
    (void)max_slots;
}

static void test_scan_shrink_first(void **state) {
    (void)state;
    /* Start big, delete most keys mid-scan so the table shrinks while
     * the cursor is deep into the hash space, then grow again. */
    dict d, got;
    dinit(&d);
    dinit(&got);
    char k[32];
    for (int i = 0; i < 500; i++)
        insert(&d, k, (size_t)snprintf(k, sizeof(k), "stable:%d", i));
    for (int i = 0; i < 40000; i++)
        insert(&d, k, (size_t)snprintf(k, sizeof(k), "tmp:%d", i));
    size_t big = dice__dict_slots(&d);
    seen s = {&got, 0};
    uint64_t c = 0;
    int left = 40000, again = 0;
    size_t min_slots = big;
    do {
        c = dice__dict_scan(&d, c, scan_cb, &s);
        for (int j = 0; j < 2000 && left > 0; j++) {
            left--;
            free(del(&d, k, (size_t)snprintf(k, sizeof(k), "tmp:%d", left)));
        }
        if (left == 0 && again < 20000) {
            for (int j = 0; j < 500; j++, again++)
                insert(&d, k, (size_t)snprintf(k, sizeof(k), "new:%d", again));
        }
        if (dice__dict_slots(&d) < min_slots)
            min_slots = dice__dict_slots(&d);
    } while (c);
    assert_true(min_slots < big / 4);
    check_all_seen(&got, 0, 500);
    dice__dict_clear(&d, free_cb, NULL);
    dice__dict_clear(&got, free_cb, NULL);
}

/* ---- random, foreach --------------------------------------------------- */

static void test_random_distribution(void **state) {
    (void)state;
    enum { K = 100, S = 100000 };
    dict d;
    dinit(&d);
    assert_null(dice__dict_random(&d));
    char k[32];
    for (int i = 0; i < K; i++)
        insert(&d, k, (size_t)snprintf(k, sizeof(k), "%d", i));
    int counts[K] = {0};
    for (int i = 0; i < S; i++) {
        tentry *t = dice__dict_random(&d);
        assert_non_null(t);
        char buf[32];
        memcpy(buf, t->key, t->len);
        buf[t->len] = '\0';
        int idx = atoi(buf);
        assert_true(idx >= 0 && idx < K);
        counts[idx]++;
    }
    /* Expected 1000 each, sd ~31: +-50% is a gross-bias detector. */
    for (int i = 0; i < K; i++) {
        assert_true(counts[i] > 500);
        assert_true(counts[i] < 1500);
    }
    /* Sparse table (mid-shrink or not): still finds the survivor. */
    for (int i = 1; i < K; i++)
        free(del(&d, k, (size_t)snprintf(k, sizeof(k), "%d", i)));
    for (int i = 0; i < 100; i++) {
        tentry *t = dice__dict_random(&d);
        assert_non_null(t);
        assert_int_equal(t->len, 1);
        assert_int_equal(t->key[0], '0');
    }
    dice__dict_clear(&d, free_cb, NULL);
}

static int count_cb(void *ctx, void *e) {
    (void)e;
    (*(size_t *)ctx)++;
    return 0;
}

static int stop_cb(void *ctx, void *e) {
    (void)e;
    return ++(*(size_t *)ctx) == 10;
}

static void test_foreach(void **state) {
    (void)state;
    dict d;
    dinit(&d);
    char k[32];
    size_t n = 0;
    for (int i = 0; i < 1000; i++) {
        insert(&d, k, (size_t)snprintf(k, sizeof(k), "%d", i));
        if (d.rehashing) {
            /* Mid-rehash iteration sees every entry exactly once. */
            n = 0;
            dice__dict_foreach(&d, count_cb, &n);
            assert_int_equal(n, (size_t)i + 1);
        }
    }
    n = 0;
    dice__dict_foreach(&d, count_cb, &n);
    assert_int_equal(n, 1000);
    n = 0;
    dice__dict_foreach(&d, stop_cb, &n);
    assert_int_equal(n, 10);
    dice__dict_clear(&d, free_cb, NULL);
}

/* A walk whose callback looks every entry up in the same table (what
 * SINTER s s does): the lookups must not migrate entries under the walk,
 * or it meets some twice. */
typedef struct self_lookup {
    dict *d;
    size_t visits;
} self_lookup;

static int lookup_cb(void *ctx, void *e) {
    self_lookup *sl = ctx;
    tentry *t = e;
    assert_non_null(dice__dict_find(sl->d, t->key, t->len));
    sl->visits++;
    return 0;
}

static void test_foreach_with_lookups(void **state) {
    (void)state;
    dict d;
    dinit(&d);
    char k[32];
    int i = 0;
    do {
        insert(&d, k, (size_t)snprintf(k, sizeof(k), "k%d", i++));
    } while (!d.rehashing || d.t[0].used < 2000);
    self_lookup sl = {&d, 0};
    dice__dict_foreach(&d, lookup_cb, &sl);
    assert_int_equal(sl.visits, (size_t)i);
    assert_true(d.rehashing); /* the walk did no migration */
    assert_int_equal(d.pause_rehash, 0);
    dice__dict_clear(&d, free_cb, NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_foreach_with_lookups, doubling),
        cmocka_unit_test_setup(test_insert_find_delete_scale, doubling),
        cmocka_unit_test_setup(test_seeds_differ, doubling),
        cmocka_unit_test_setup(test_bounded_rehash_work, doubling),
        cmocka_unit_test_setup(test_timer_rehash, doubling),
        cmocka_unit_test_setup(test_chains_survive_migration, doubling),
        cmocka_unit_test_setup(test_migrated_prefix_is_empty, doubling),
        cmocka_unit_test_setup(test_scan_stable, doubling),
        cmocka_unit_test_setup(test_scan_during_growth_and_shrink, doubling),
        cmocka_unit_test_setup(test_scan_shrink_first, doubling),
        cmocka_unit_test_setup(test_random_distribution, doubling),
        cmocka_unit_test_setup(test_foreach, doubling),
        cmocka_unit_test_setup(test_foreach_with_lookups, quarter),
        cmocka_unit_test_setup(test_insert_find_delete_scale, quarter),
        cmocka_unit_test_setup(test_seeds_differ, quarter),
        cmocka_unit_test_setup(test_bounded_rehash_work, quarter),
        cmocka_unit_test_setup(test_timer_rehash, quarter),
        cmocka_unit_test_setup(test_chains_survive_migration, quarter),
        cmocka_unit_test_setup(test_migrated_prefix_is_empty, quarter),
        cmocka_unit_test_setup(test_scan_stable, quarter),
        cmocka_unit_test_setup(test_scan_during_growth_and_shrink, quarter),
        cmocka_unit_test_setup(test_scan_shrink_first, quarter),
        cmocka_unit_test_setup(test_random_distribution, quarter),
        cmocka_unit_test_setup(test_foreach, quarter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
