/* Transactions through in-process sessions (lib/server/multi.c,
 * lib/commands/multi.c): queueing, EXECABORT, runtime errors inside EXEC,
 * WATCH touched by another session, by the same one, by FLUSHALL and by
 * expiry; the keyspace observer is installed only while some key is
 * watched (so the write path costs nothing otherwise) and removed by
 * EXEC, DISCARD, UNWATCH, RESET and freeing the session; commands run by
 * EXEC may not block. */
#include <dice/dice.h>

#include "keyspace/db_internal.h"
#include "server/server_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

typedef struct fixture {
    dice_loop_t *loop;
    dice_server_t *srv;
    dice_session_t *a, *b;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(dice_loop_new(&f->loop), 0);
    assert_int_equal(dice_server_new(&f->srv, f->loop), 0);
    assert_int_equal(dice_command_add_builtins(f->srv, DICE_BUILTIN_ALL), 0);
    assert_int_equal(dice_session_new(f->srv, 2, &f->a), 0);
    assert_int_equal(dice_session_new(f->srv, 3, &f->b), 0);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    dice_session_free(f->a);
    dice_session_free(f->b);
    dice_server_free(f->srv);
    dice_loop_free(f->loop);
    free(f);
    return 0;
}

/* Run a NULL-terminated argv; check the reply bytes. */
static void run_v(dice_session_t *s, const char *want,
                  const char *const *argv) {
    int argc = 0;
    size_t len[32];
    while (argv[argc]) {
        len[argc] = strlen(argv[argc]);
        argc++;
    }
    const char *reply;
    size_t rlen;
    assert_int_equal(dice_session_call(s, argc, argv, len, &reply, &rlen), 0);
    if (rlen != strlen(want) || memcmp(reply, want, rlen) != 0)
        fail_msg("%s: got %.*s want %s", argv[0], (int)rlen, reply, want);
}

#define RUN(s, want, ...)                                                      \
    run_v((s), (want), (const char *const[]){__VA_ARGS__, NULL})

static bool observing(const fixture *f) {
    return dice_server_keyspace(f->srv)->on_touch != NULL;
}

static void test_queue_exec_abort(void **state) {
    fixture *f = *state;
    RUN(f->a, "-ERR EXEC without MULTI\r\n", "EXEC");
    RUN(f->a, "-ERR DISCARD without MULTI\r\n", "DISCARD");
    RUN(f->a, "+OK\r\n", "MULTI");
    RUN(f->a, "-ERR MULTI calls can not be nested\r\n", "MULTI");
    RUN(f->a, "+QUEUED\r\n", "SET", "k", "v");
    RUN(f->a, "+QUEUED\r\n", "INCR", "k"); /* fails only when run */
    RUN(f->a, "+QUEUED\r\n", "SET", "n", "1");
    RUN(f->a, "-ERR WATCH inside MULTI is not allowed\r\n", "WATCH", "k");
    RUN(f->a,
        "*3\r\n+OK\r\n-ERR value is not an integer or out of range\r\n"
        "+OK\r\n",
        "EXEC");
    RUN(f->a, "$1\r\n1\r\n", "GET", "n");
    /* Refused while queueing: the whole transaction is dropped. */
    RUN(f->a, "+OK\r\n", "MULTI");
    RUN(f->a, "+QUEUED\r\n", "SET", "n", "2");
    RUN(f->a, "-ERR wrong number of arguments for 'get' command\r\n", "GET");
    RUN(f->a, "-ERR Command not allowed inside a transaction\r\n", "SHUTDOWN");
    RUN(f->a,
        "-EXECABORT Transaction discarded because of previous errors.\r\n",
        "EXEC");
    RUN(f->a, "$1\r\n1\r\n", "GET", "n");
    /* EXEC's own arity error says so, and drops the transaction. */
    RUN(f->a, "+OK\r\n", "MULTI");
    RUN(f->a,
        "-EXECABORT Transaction discarded because of: wrong number of "
        "arguments for 'exec' command\r\n",
        "EXEC", "x");
    RUN(f->a, "-ERR EXEC without MULTI\r\n", "EXEC");
    RUN(f->a, "+OK\r\n", "MULTI");
    RUN(f->a, "*0\r\n", "EXEC");
    /* RESET leaves MULTI. */
    RUN(f->a, "+OK\r\n", "MULTI");
    RUN(f->a, "+QUEUED\r\n", "SET", "n", "3");
    RUN(f->a, "+RESET\r\n", "RESET");
    RUN(f->a, "$1\r\n1\r\n", "GET", "n");
}

static void test_watch(void **state) {
    fixture *f = *state;
    assert_false(observing(f));
    /* Touched by another session: null array (RESP2 a, RESP3 b). */
    RUN(f->a, "+OK\r\n", "WATCH", "k", "j");
    assert_true(observing(f));
    RUN(f->b, "+OK\r\n", "SET", "k", "1");
    RUN(f->a, "+OK\r\n", "MULTI");
    RUN(f->a, "+QUEUED\r\n", "SET", "x", "1");
    RUN(f->a, "*-1\r\n", "EXEC");
    assert_false(observing(f)); /* EXEC unwatched */
    RUN(f->a, "$-1\r\n", "GET", "x");
    RUN(f->b, "+OK\r\n", "WATCH", "k");
    RUN(f->b, ":2\r\n", "INCR", "k"); /* by the watcher itself */
    RUN(f->b, "+OK\r\n", "MULTI");
    RUN(f->b, "_\r\n", "EXEC");
    /* Untouched: runs; reads and other keys do not count. */
    RUN(f->a, "+OK\r\n", "WATCH", "k");
    RUN(f->b, "$1\r\n2\r\n", "GET", "k");
    RUN(f->b, "+OK\r\n", "SET", "other", "1");
    RUN(f->a, "+OK\r\n", "MULTI");
    RUN(f->a, "+QUEUED\r\n", "INCR", "k");
    RUN(f->a, "*1\r\n:3\r\n", "EXEC");
    /* FLUSHALL touches existing watched keys only. */
    RUN(f->a, "+OK\r\n", "WATCH", "k", "missing");
    RUN(f->b, "+OK\r\n", "FLUSHALL");
    RUN(f->a, "+OK\r\n", "MULTI");
    RUN(f->a, "*-1\r\n", "EXEC");
    RUN(f->a, "+OK\r\n", "WATCH", "missing");
    RUN(f->b, "+OK\r\n", "FLUSHALL");
    RUN(f->a, "+OK\r\n", "MULTI");
    RUN(f->a, "*0\r\n", "EXEC");
    /* UNWATCH, DISCARD, RESET and freeing forget the keys. */
    RUN(f->a, "+OK\r\n", "WATCH", "k");
    RUN(f->a, "+OK\r\n", "UNWATCH");
    assert_false(observing(f));
    RUN(f->a, "+OK\r\n", "WATCH", "k");
    RUN(f->a, "+OK\r\n", "MULTI");
    RUN(f->a, "+OK\r\n", "DISCARD");
    assert_false(observing(f));
    RUN(f->a, "+OK\r\n", "WATCH", "k");
    RUN(f->a, "+RESET\r\n", "RESET");
    assert_false(observing(f));
    RUN(f->b, "+OK\r\n", "WATCH", "k", "k", "j");
    assert_int_equal(f->srv->nwatched_keys, 2);
    dice_session_free(f->b);
    f->b = NULL;
    assert_false(observing(f));
    assert_int_equal(f->srv->nwatched_keys, 0);
}

static void test_watch_expiry(void **state) {
    fixture *f = *state;
    struct timespec ts = {0, 20 * 1000 * 1000};
    /* Expired after WATCH, not yet deleted by anyone: EXEC fails. */
    RUN(f->a, "+OK\r\n", "SET", "k", "v", "PX", "5");
    RUN(f->a, "+OK\r\n", "WATCH", "k");
    nanosleep(&ts, NULL);
    RUN(f->a, "+OK\r\n", "MULTI");
    RUN(f->a, "*-1\r\n", "EXEC");
    /* Already expired when watched: its deletion is no change, a new
     * value is. */
    RUN(f->a, "+OK\r\n", "SET", "k", "v", "PX", "5");
    nanosleep(&ts, NULL);
    RUN(f->a, "+OK\r\n", "WATCH", "k");
    RUN(f->b, "_\r\n", "GET", "k");
    RUN(f->a, "+OK\r\n", "MULTI");
    RUN(f->a, "*0\r\n", "EXEC");
    RUN(f->a, "+OK\r\n", "SET", "k", "v", "PX", "5");
    nanosleep(&ts, NULL);
    RUN(f->a, "+OK\r\n", "WATCH", "k");
    RUN(f->b, "+OK\r\n", "SET", "k", "new");
    RUN(f->a, "+OK\r\n", "MULTI");
    RUN(f->a, "*-1\r\n", "EXEC");
}

/* A host command that answers whether EXEC forbids it to block. (A
 * session never blocks anyway, so dice__client_may_block is always false
 * here: the flag EXEC sets is what this test is about.) */
static void may_block(dice_client_t *c, int argc, const char *const *argv,
                      const size_t *argvlen, void *arg) {
    (void)argc, (void)argv, (void)argvlen, (void)arg;
    dice_reply_int(c, !(c->flags & CLIENT_DENY_BLOCKING));
}

static void test_no_blocking_inside_exec(void **state) {
    fixture *f = *state;
    assert_int_equal(dice_command_add(f->srv, "mayblock", 1, 0, 0, 0, 0,
                                      may_block, NULL, NULL),
                     0);
    RUN(f->a, ":1\r\n", "MAYBLOCK");
    RUN(f->a, "+OK\r\n", "MULTI");
    RUN(f->a, "+QUEUED\r\n", "MAYBLOCK");
    RUN(f->a, "*1\r\n:0\r\n", "EXEC");
    RUN(f->a, ":1\r\n", "MAYBLOCK");
    /* A host cannot set the internal flag bits. */
    assert_int_equal(dice_command_add(f->srv, "sneaky", 1, DICE__CMD_TXN_NOW, 0,
                                      0, 0, may_block, NULL, NULL),
                     0);
    RUN(f->a, "+OK\r\n", "MULTI");
    RUN(f->a, "+QUEUED\r\n", "SNEAKY");
    RUN(f->a, "*1\r\n:0\r\n", "EXEC");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_queue_exec_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_blocking_inside_exec, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
