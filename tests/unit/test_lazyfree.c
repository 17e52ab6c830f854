/* Lazy free (lib/server/lazyfree.c) with a fake list type whose free
 * counts calls and sleeps, and whose free_effort is the element count it
 * was built with: DEL of a big value with lazyfree-lazy-user-del returns
 * before the free finishes, UNLINK and FLUSHALL ASYNC are always lazy,
 * plain DEL and small values are freed at once, INFO shows
 * lazyfree_pending_objects / lazyfreed_objects, and dice_server_free joins
 * the thread after it freed everything queued (the sanitizer build checks
 * nothing leaks). */
#include <dice/dice.h>

#include "server/blocking.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

typedef struct {
    atomic_int frees;
    int sleep_ms;
} counts_t;

typedef struct {
    size_t n; /* "elements" */
    char *mem;
} fake_t;

static void fake_free(void *ctx, void *obj) {
    counts_t *c = ctx;
    fake_t *o = obj;
    if (o->n > DICE__LAZYFREE_THRESHOLD && c->sleep_ms)
        usleep((useconds_t)c->sleep_ms * 1000);
    free(o->mem);
    free(o);
    atomic_fetch_add(&c->frees, 1);
}

static size_t fake_effort(void *ctx, const void *obj) {
    (void)ctx;
    return ((const fake_t *)obj)->n;
}

typedef struct {
    dice_loop_t *loop;
    dice_server_t *srv;
    dice_session_t *s;
    counts_t *counts; /* outlives the server */
} fixture_t;

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof(*f));
    f->counts = calloc(1, sizeof(*f->counts));
    f->counts->sleep_ms = 200;
    assert_int_equal(dice_loop_new(&f->loop), 0);
    assert_int_equal(dice_server_new(&f->srv, f->loop), 0);
    assert_int_equal(dice_command_add_builtins(f->srv, DICE_BUILTIN_ALL), 0);
    dice_type_methods m = {0};
    m.version = DICE_TYPE_METHODS_VERSION;
    m.name = "list";
    m.free = fake_free;
    m.free_effort = fake_effort;
    assert_int_equal(dice_keyspace_register_type(dice_server_keyspace(f->srv),
                                                 DICE_TYPE_LIST, &m, f->counts),
                     0);
    assert_int_equal(dice_session_new(f->srv, 2, &f->s), 0);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    dice_session_free(f->s);
    dice_server_free(f->srv);
    dice_loop_free(f->loop);
    free(f->counts);
    free(f);
    return 0;
}

static void put(fixture_t *f, const char *key, size_t n) {
    fake_t *o = malloc(sizeof(*o));
    o->n = n;
    o->mem = malloc(1000);
    dice_db_t *db = dice_keyspace_db(dice_server_keyspace(f->srv), 0);
    assert_int_equal(
        dice_db_set_object(db, key, strlen(key), DICE_TYPE_LIST, o, 0, 0), 0);
}

/* Run a command from a space-separated line; returns the reply (static). */
static const char *run(fixture_t *f, const char *line) {
    static char copy[256];
    const char *argv[8];
    size_t lens[8];
    int argc = 0;
    strcpy(copy, line);
    for (char *t = strtok(copy, " "); t && argc < 8; t = strtok(NULL, " ")) {
        argv[argc] = t;
        lens[argc++] = strlen(t);
    }
    const char *reply;
    size_t rlen;
    assert_int_equal(dice_session_call(f->s, argc, argv, lens, &reply, &rlen),
                     0);
    static char out[8192];
    memcpy(out, reply, rlen < sizeof(out) - 1 ? rlen : sizeof(out) - 1);
    out[rlen < sizeof(out) - 1 ? rlen : sizeof(out) - 1] = '\0';
    return out;
}

static uint64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The settings exist with Redis 7.0's names and defaults. */
static void test_settings(void **state) {
    fixture_t *f = *state;
    const char *r = run(f, "CONFIG GET lazyfree-*");
    assert_non_null(strstr(r, "$22\r\nlazyfree-lazy-user-del\r\n$2\r\nno\r\n"));
    assert_non_null(strstr(r, "lazyfree-lazy-expire\r\n$2\r\nno\r\n"));
    assert_non_null(strstr(r, "lazyfree-lazy-eviction\r\n$2\r\nno\r\n"));
    assert_non_null(strstr(r, "lazyfree-lazy-server-del\r\n$2\r\nno\r\n"));
    assert_non_null(strstr(r, "lazyfree-lazy-user-flush\r\n$2\r\nno\r\n"));
    assert_string_equal(run(f, "CONFIG SET lazyfree-lazy-user-del yes"),
                        "+OK\r\n");
}

/* DEL is synchronous by default; with lazyfree-lazy-user-del it returns
 * before the (slow) free of a big value has finished. */
static void test_del_lazy(void **state) {
    fixture_t *f = *state;
    counts_t *c = f->counts;
    put(f, "big", 1000);
    uint64_t t0 = mono_ms();
    assert_string_equal(run(f, "DEL big"), ":1\r\n");
    assert_true(mono_ms() - t0 >= 190); /* freed inline: slept */
    assert_int_equal(atomic_load(&c->frees), 1);

    assert_string_equal(run(f, "CONFIG SET lazyfree-lazy-user-del yes"),
                        "+OK\r\n");
    put(f, "big", 1000);
    t0 = mono_ms();
    assert_string_equal(run(f, "DEL big"), ":1\r\n");
    assert_true(mono_ms() - t0 < 150);
    assert_int_equal(atomic_load(&c->frees), 1); /* not yet */
    assert_int_equal(dice__lazyfree_pending(f->srv), 1);
    assert_non_null(
        strstr(run(f, "INFO memory"), "lazyfree_pending_objects:1\r\n"));
    dice__lazyfree_drain(f->srv);
    assert_int_equal(atomic_load(&c->frees), 2);
    assert_int_equal(dice__lazyfree_freed(f->srv), 1);
    const char *info = run(f, "INFO memory");
    assert_non_null(strstr(info, "lazyfree_pending_objects:0\r\n"));
    assert_non_null(strstr(info, "lazyfreed_objects:1\r\n"));

    /* Small values are freed at once, lazily or not. */
    put(f, "small", 10);
    assert_string_equal(run(f, "UNLINK small"), ":1\r\n");
    assert_int_equal(atomic_load(&c->frees), 3);
    assert_int_equal(dice__lazyfree_freed(f->srv), 1);
}

/* UNLINK and FLUSHALL ASYNC are lazy whatever the settings; FLUSHDB SYNC
 * is not, even with lazyfree-lazy-user-flush. */
static void test_unlink_flush(void **state) {
    fixture_t *f = *state;
    counts_t *c = f->counts;
    c->sleep_ms = 100;
    put(f, "a", 100);
    uint64_t t0 = mono_ms();
    assert_string_equal(run(f, "UNLINK a"), ":1\r\n");
    put(f, "b", 100);
    put(f, "c", 100);
    put(f, "d", 1);
    assert_string_equal(run(f, "FLUSHALL ASYNC"), "+OK\r\n");
    assert_true(mono_ms() - t0 < 90);
    /* The whole table went to the thread (as Redis's emptyDbAsync), the
     * small value too. */
    assert_true(atomic_load(&c->frees) <= 1);
    assert_string_equal(run(f, "DBSIZE"), ":0\r\n");
    dice__lazyfree_drain(f->srv);
    assert_int_equal(atomic_load(&c->frees), 4);

    assert_string_equal(run(f, "CONFIG SET lazyfree-lazy-user-flush yes"),
                        "+OK\r\n");
    put(f, "e", 100);
    t0 = mono_ms();
    assert_string_equal(run(f, "FLUSHDB SYNC"), "+OK\r\n");
    assert_true(mono_ms() - t0 >= 90);
    assert_int_equal(atomic_load(&c->frees), 5);
    put(f, "e", 100);
    t0 = mono_ms();
    assert_string_equal(run(f, "FLUSHDB"), "+OK\r\n");
    assert_true(mono_ms() - t0 < 90);
    dice__lazyfree_drain(f->srv);
    assert_int_equal(atomic_load(&c->frees), 6);
    /* The mask a command changed is put back: DEL is synchronous again. */
    put(f, "g", 100);
    t0 = mono_ms();
    assert_string_equal(run(f, "DEL g"), ":1\r\n");
    assert_true(mono_ms() - t0 >= 90);
}

/* A lazy flush that empties every db holding keys hands the tables and
 * the entry pool to the thread whole (strings short and long, keys short
 * and long, objects, TTLs); one that leaves another db's keys frees entry
 * by entry. Either way the keyspace works after it, and the sanitizer and
 * valgrind builds see nothing leak. */
static void test_flush_whole_tables(void **state) {
    fixture_t *f = *state;
    counts_t *c = f->counts;
    c->sleep_ms = 0;
    char line[200];
    for (int round = 0; round < 3; round++) {
        for (int db = 0; db < 2; db++) {
            snprintf(line, sizeof(line), "SELECT %d", db);
            assert_string_equal(run(f, line), "+OK\r\n");
            for (int i = 0; i < 300; i++) {
                snprintf(line, sizeof(line), "SET k%d v%d", i, i);
                run(f, line);
                snprintf(line, sizeof(line),
                         "SET a-much-longer-key-name-%d "
                         "a-value-long-enough-to-be-a-raw-string-%0*d",
                         i, 40, i);
                run(f, line);
                snprintf(line, sizeof(line), "SET t%d x EX 1000", i);
                run(f, line);
            }
        }
        put(f, "obj", 100);
        if (round == 0) {
            assert_string_equal(run(f, "FLUSHALL ASYNC"), "+OK\r\n");
        } else if (round == 1) {
            /* db 1 keeps its keys: entry by entry. */
            assert_string_equal(run(f, "SELECT 0"), "+OK\r\n");
            assert_string_equal(run(f, "FLUSHDB ASYNC"), "+OK\r\n");
            assert_string_equal(run(f, "DBSIZE"), ":0\r\n");
            assert_string_equal(run(f, "SELECT 1"), "+OK\r\n");
            assert_string_equal(run(f, "DBSIZE"), ":901\r\n"); /* + "again" */
            assert_string_equal(run(f, "GET k7"), "$2\r\nv7\r\n");
            /* Now db 1 is the only one: whole. */
            assert_string_equal(run(f, "FLUSHDB ASYNC"), "+OK\r\n");
        } else {
            assert_string_equal(run(f, "FLUSHALL"), "+OK\r\n");
        }
        for (int db = 0; db < 2; db++) {
            snprintf(line, sizeof(line), "SELECT %d", db);
            run(f, line);
            assert_string_equal(run(f, "DBSIZE"), ":0\r\n");
            assert_string_equal(run(f, "SET again 1"), "+OK\r\n");
            assert_string_equal(run(f, "GET again"), "$1\r\n1\r\n");
        }
        dice__lazyfree_drain(f->srv);
    }
    assert_int_equal(atomic_load(&c->frees), 3);
}

/* lazyfree-lazy-server-del: an overwrite of a big value frees it on the
 * thread. */
static void test_server_del(void **state) {
    fixture_t *f = *state;
    counts_t *c = f->counts;
    assert_string_equal(run(f, "CONFIG SET lazyfree-lazy-server-del yes"),
                        "+OK\r\n");
    put(f, "a", 100);
    uint64_t t0 = mono_ms();
    assert_string_equal(run(f, "SET a x"), "+OK\r\n");
    assert_true(mono_ms() - t0 < 150);
    dice__lazyfree_drain(f->srv);
    assert_int_equal(atomic_load(&c->frees), 1);
}

/* dice_server_free waits for the thread, which frees everything queued
 * first. */
static void test_shutdown_joins(void **state) {
    fixture_t *f = *state;
    counts_t *c = f->counts;
    c->sleep_ms = 50;
    char key[8];
    for (int i = 0; i < 5; i++) {
        key[0] = (char)('a' + i);
        key[1] = '\0';
        put(f, key, 1000);
        char cmd[16] = "UNLINK ";
        strcat(cmd, key);
        assert_string_equal(run(f, cmd), ":1\r\n");
    }
    assert_true(atomic_load(&c->frees) < 5);
    dice_session_free(f->s);
    f->s = NULL;
    dice_server_free(f->srv);
    f->srv = NULL;
    assert_int_equal(atomic_load(&c->frees), 5);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_del_lazy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unlink_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_del, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_whole_tables, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_joins, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
