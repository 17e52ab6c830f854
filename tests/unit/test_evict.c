/* maxmemory (lib/server/evict.c): Redis's LFU counter math, and each
 * policy evicting the right class of keys, with a memory figure the test
 * controls (dice_server_set_memory_fn: 100 bytes per key), the deletions
 * propagated as DEL (UNLINK with lazyfree-lazy-eviction), and -OOM when
 * nothing can go. */
#include <dice/dice.h>

#include "keyspace/db_internal.h"
#include "server/server_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---- LFU counter math --------------------------------------------------- */

static void test_lfu_log_incr(void **state) {
    (void)state;
    /* At or below LFU_INIT_VAL (5) every hit counts. */
    assert_int_equal(dice__lfu_log_incr(0, 10, 0.999), 1);
    assert_int_equal(dice__lfu_log_incr(5, 10, 0.999), 6);
    /* Above it p = 1 / ((counter - 5) * factor + 1). */
    assert_int_equal(dice__lfu_log_incr(15, 10, 1.0 / 101 - 1e-9), 16);
    assert_int_equal(dice__lfu_log_incr(15, 10, 1.0 / 101 + 1e-9), 15);
    assert_int_equal(dice__lfu_log_incr(15, 0, 0.999), 16); /* factor 0 */
    assert_int_equal(dice__lfu_log_incr(255, 0, 0.0), 255);
    /* Redis's table (redis.conf): factor 10 reaches about 10 after 100
     * hits and 18 after 1,000. */
    unsigned c = DICE__LFU_INIT_VAL;
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 1000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c = dice__lfu_log_incr(c, 10, (double)(x >> 11) / 9007199254740992.0);
        if (i == 99) {
            assert_true(c >= 8 && c <= 13);
        }
    }
    assert_true(c >= 15 && c <= 21);
}

static void test_lfu_decr(void **state) {
    (void)state;
    assert_int_equal(dice__lfu_decr(10, 100, 103, 1), 7);
    assert_int_equal(dice__lfu_decr(10, 100, 103, 2), 9);
    assert_int_equal(dice__lfu_decr(10, 100, 103, 0), 10); /* no decay */
    assert_int_equal(dice__lfu_decr(2, 100, 103, 1), 0);
    /* The 16-bit minute clock wraps: 65530 -> 5 is 10 minutes. */
    assert_int_equal(dice__lfu_decr(20, 65530, 5, 1), 10);
}

/* ---- Policies ----------------------------------------------------------- */

typedef struct fixture {
    dice_loop_t *loop;
    dice_server_t *srv;
    dice_session_t *s;
    uint64_t sink;
    int dels, unlinks;
} fixture;

static unsigned long long fake_memory(void *arg) {
    fixture *f = arg;
    dice_keyspace_t *ks = dice_server_keyspace(f->srv);
    unsigned long long n = 0;
    for (int i = 0; ks && i < dice_keyspace_ndbs(ks); i++)
        n += dice_db_size(dice_keyspace_db(ks, i));
    return n * 100;
}

static void sink(void *arg, int db, int argc, const char *const *argv,
                 const size_t *argvlen) {
    fixture *f = arg;
    (void)db;
    (void)argvlen;
    if (argc == 2 && strcmp(argv[0], "DEL") == 0)
        f->dels++;
    if (argc == 2 && strcmp(argv[0], "UNLINK") == 0)
        f->unlinks++;
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(dice_loop_new(&f->loop), 0);
    assert_int_equal(dice_server_new(&f->srv, f->loop), 0);
    assert_int_equal(dice_command_add_builtins(f->srv, DICE_BUILTIN_ALL), 0);
    assert_int_equal(dice_session_new(f->srv, 2, &f->s), 0);
    dice_server_set_memory_fn(f->srv, fake_memory, f);
    /* No time budget: the test does not run the loop that would carry an
     * eviction on (a sanitizer build is slow). */
    assert_int_equal(
        dice_server_config_set(f->srv, "maxmemory-eviction-tenacity", "100"),
        0);
    assert_int_equal(
        dice_server_add_propagation_sink(f->srv, sink, f, &f->sink), 0);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    dice_session_free(f->s);
    dice_server_free(f->srv);
    dice_loop_free(f->loop);
    free(f);
    return 0;
}

static const char *run_v(dice_session_t *s, const char *const *argv,
                         size_t *rlen) {
    int argc = 0;
    size_t len[16];
    while (argv[argc]) {
        len[argc] = strlen(argv[argc]);
        argc++;
    }
    const char *reply;
    assert_int_equal(dice_session_call(s, argc, argv, len, &reply, rlen), 0);
    return reply;
}

#define RUN(s, ...)                                                            \
    run_v((s), (const char *const[]){__VA_ARGS__, NULL}, &(size_t){0})

static void config(fixture *f, const char *name, const char *value) {
    assert_int_equal(dice_server_config_set(f->srv, name, value), 0);
}

static void set_key(fixture *f, const char *prefix, int i, const char *ex) {
    char k[32];
    snprintf(k, sizeof(k), "%s%d", prefix, i);
    const char *r =
        ex ? RUN(f->s, "SET", k, "v", "EX", ex) : RUN(f->s, "SET", k, "v");
    assert_memory_equal(r, "+OK", 3);
}

static size_t dbsize(fixture *f) {
    return dice_db_size(dice_keyspace_db(dice_server_keyspace(f->srv), 0));
}

static int exists(fixture *f, const char *prefix, int i) {
    char k[32];
    snprintf(k, sizeof(k), "%s%d", prefix, i);
    dice_db_t *db = dice_keyspace_db(dice_server_keyspace(f->srv), 0);
    return dice_db_exists(db, k, strlen(k));
}

static void test_noeviction_refuses_writes(void **state) {
    fixture *f = *state;
    config(f, "maxmemory", "1000"); /* 10 keys */
    for (int i = 0; i < 11; i++)
        set_key(f, "k", i, NULL); /* the 11th goes over */
    size_t n;
    const char *r =
        run_v(f->s, (const char *const[]){"SET", "x", "1", NULL}, &n);
    static const char oom[] =
        "-OOM command not allowed when used memory > 'maxmemory'.\r\n";
    assert_int_equal(n, sizeof(oom) - 1);
    assert_memory_equal(r, oom, n);
    assert_memory_equal(RUN(f->s, "GET", "k0"), "$1\r\nv", 5);
    assert_int_equal(f->dels, 0);                         /* nothing evicted */
    assert_memory_equal(RUN(f->s, "DEL", "k0"), ":1", 2); /* not denyoom */
}

static void test_allkeys_policies_keep_the_limit(void **state) {
    fixture *f = *state;
    const char *policies[] = {"allkeys-lru", "allkeys-lfu", "allkeys-random"};
    for (size_t p = 0; p < 3; p++) {
        RUN(f->s, "FLUSHALL");
        f->dels = 0;
        config(f, "maxmemory-policy", policies[p]);
        config(f, "maxmemory", "5000"); /* 50 keys */
        for (int i = 0; i < 300; i++)
            set_key(f, "k", i, NULL);
        assert_true(dbsize(f) <= 51);
        assert_true(f->dels >= 249);
        config(f, "maxmemory", "0");
    }
}

static void test_lru_keeps_touched_keys(void **state) {
    fixture *f = *state;
    config(f, "maxmemory-policy", "allkeys-lru");
    dice_keyspace_t *ks = dice_server_keyspace(f->srv);
    dice_db_t *db = dice_keyspace_db(ks, 0);
    for (int i = 0; i < 200; i++)
        set_key(f, "k", i, NULL);
    /* Age the first half by 100 s, as if untouched since. */
    for (int i = 0; i < 100; i++) {
        char k[32];
        snprintf(k, sizeof(k), "k%d", i);
        uint64_t h = dice__dict_hash(&db->main, k, strlen(k));
        uint64_t *slot = dice__dict_find_slot(&db->main, k, strlen(k), h);
        dice__ks_entry_set_access(ks, dice__dict_slot_entry(*slot), -1, 100);
    }
    config(f, "maxmemory", "15000"); /* 150 keys: 50 go at once */
    int old_left = 0, new_left = 0;
    for (int i = 0; i < 100; i++) {
        old_left += exists(f, "k", i);
        new_left += exists(f, "k", 100 + i);
    }
    assert_int_equal(old_left + new_left, 150);
    assert_true(new_left >= 95); /* sampling is approximate */
}

static void test_volatile_policies_spare_persistent_keys(void **state) {
    fixture *f = *state;
    const char *policies[] = {"volatile-lru", "volatile-lfu", "volatile-random",
                              "volatile-ttl"};
    for (size_t p = 0; p < 4; p++) {
        RUN(f->s, "FLUSHALL");
        config(f, "maxmemory", "0");
        config(f, "maxmemory-policy", policies[p]);
        for (int i = 0; i < 20; i++)
            set_key(f, "p", i, NULL);
        for (int i = 0; i < 20; i++) {
            char ex[16];
            snprintf(ex, sizeof(ex), "%d", 1000 + i * 100);
            set_key(f, "t", i, ex);
        }
        config(f, "maxmemory", "3000"); /* 30 keys: 10 volatile go */
        for (int i = 0; i < 20; i++)
            assert_true(exists(f, "p", i));
        int left = 0;
        for (int i = 0; i < 20; i++)
            left += exists(f, "t", i);
        assert_int_equal(left, 10);
        if (strcmp(policies[p], "volatile-ttl") == 0) {
            /* The shortest TTLs went first (sampling: nearly all). */
            int late = 0;
            for (int i = 10; i < 20; i++)
                late += exists(f, "t", i);
            assert_true(late >= 8);
        }
        /* Only persistent keys over the limit: nothing can go. */
        config(f, "maxmemory", "1000");
        assert_memory_equal(RUN(f->s, "SET", "x", "1"), "-OOM", 4);
        for (int i = 0; i < 20; i++)
            assert_true(exists(f, "p", i));
    }
}

static void test_lazy_eviction_propagates_unlink(void **state) {
    fixture *f = *state;
    config(f, "maxmemory-policy", "allkeys-random");
    config(f, "lazyfree-lazy-eviction", "yes");
    config(f, "maxmemory", "1000");
    for (int i = 0; i < 20; i++)
        set_key(f, "k", i, NULL);
    assert_int_equal(f->dels, 0);
    assert_true(f->unlinks >= 9);
    size_t n;
    const char *r =
        run_v(f->s, (const char *const[]){"INFO", "stats", NULL}, &n);
    char want[64];
    snprintf(want, sizeof(want), "evicted_keys:%d\r\n", f->unlinks);
    assert_non_null(memmem(r, n, want, strlen(want)));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lfu_log_incr),
        cmocka_unit_test(test_lfu_decr),
        cmocka_unit_test_setup_teardown(test_noeviction_refuses_writes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_allkeys_policies_keep_the_limit,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_lru_keeps_touched_keys, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_volatile_policies_spare_persistent_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lazy_eviction_propagates_unlink,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
