/* The pub/sub layer (lib/pubsub/pubsub.c) through in-process sessions and
 * its internal API: subscription bookkeeping (duplicates, counts, the
 * server tables emptied as the last subscriber leaves), delivery order and
 * receiver counts, pattern matching through the one glob matcher, pushes
 * among a RESP3 client's replies, RESET and free cleanup, and keyspace
 * notifications filtered by class. */
#include "pubsub/pubsub_internal.h"

#include <dice/dice.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef struct {
    dice_loop_t *loop;
    dice_server_t *srv;
} fixture_t;

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof(*f));
    assert_int_equal(dice_loop_new(&f->loop), 0);
    assert_int_equal(dice_server_new(&f->srv, f->loop), 0);
    assert_int_equal(dice_command_add_builtins(f->srv, DICE_BUILTIN_ALL), 0);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    dice_server_free(f->srv);
    dice_loop_free(f->loop);
    free(f);
    return 0;
}

/* Run a command given as space-separated words; returns the reply bytes
 * (static buffer). */
static const char *call(dice_session_t *s, const char *line) {
    static char out[8192];
    char buf[1024];
    const char *argv[32];
    size_t argvlen[32];
    int argc = 0;
    snprintf(buf, sizeof(buf), "%s", line);
    for (char *t = strtok(buf, " "); t && argc < 32; t = strtok(NULL, " ")) {
        argv[argc] = t;
        argvlen[argc++] = strlen(t);
    }
    const char *r;
    size_t n;
    assert_int_equal(dice_session_call(s, argc, argv, argvlen, &r, &n), 0);
    assert_true(n < sizeof(out));
    memcpy(out, r, n);
    out[n] = '\0';
    return out;
}

static void test_bookkeeping(void **state) {
    fixture_t *f = *state;
    dice_session_t *a, *b;
    assert_int_equal(dice_session_new(f->srv, 2, &a), 0);
    assert_int_equal(dice_session_new(f->srv, 2, &b), 0);
    dice_client_t *ca = dice_session_client(a);
    assert_string_equal(call(a, "SUBSCRIBE x x"),
                        "*3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n"
                        "*3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n");
    assert_int_equal(dice__pubsub_count(ca, DICE__PS_CHANNEL), 1);
    call(a, "PSUBSCRIBE x* y?");
    call(b, "PSUBSCRIBE x*");
    assert_int_equal(dice__pubsub_numpat(f->srv), 2);
    assert_int_equal(
        dice__pubsub_subscribers(f->srv, DICE__PS_PATTERN, "x*", 2), 2);
    /* One channel subscriber and two pattern subscribers of x*. */
    assert_int_equal(
        dice__pubsub_publish(f->srv, DICE__PS_CHANNEL, "xa", 2, "m", 1), 2);
    assert_int_equal(
        dice__pubsub_publish(f->srv, DICE__PS_CHANNEL, "x", 1, "m", 1), 3);
    assert_int_equal(
        dice__pubsub_publish(f->srv, DICE__PS_SHARD, "x", 1, "m", 1), 0);
    /* RESET drops everything with no reply of its own beyond +RESET. */
    const char *r = call(a, "RESET");
    assert_non_null(strstr(r, "+RESET\r\n"));
    assert_null(ca->pubsub);
    assert_false(ca->flags & CLIENT_PUBSUB);
    assert_int_equal(dice__pubsub_numpat(f->srv), 1);
    /* Freeing a subscribed client takes it off every table. */
    call(b, "SUBSCRIBE x");
    call(b, "SSUBSCRIBE s");
    dice_session_free(b);
    assert_int_equal(dice__pubsub_numpat(f->srv), 0);
    assert_int_equal(
        dice__pubsub_channels(f->srv, DICE__PS_CHANNEL, NULL, 0, NULL, NULL),
        0);
    assert_int_equal(
        dice__pubsub_channels(f->srv, DICE__PS_SHARD, NULL, 0, NULL, NULL), 0);
    dice_session_free(a);
}

static void test_resp3_pushes_in_order(void **state) {
    fixture_t *f = *state;
    dice_session_t *a, *b;
    assert_int_equal(dice_session_new(f->srv, 3, &a), 0);
    assert_int_equal(dice_session_new(f->srv, 2, &b), 0);
    call(a, "SUBSCRIBE ch");
    /* A session's output holds one call's reply: pushes made between its
     * calls are not kept for it, so a is its own publisher here. The push
     * precedes PUBLISH's reply, as in Redis. */
    assert_string_equal(call(b, "PUBLISH ch one"), ":1\r\n");
    assert_string_equal(call(a, "PUBLISH ch me"),
                        ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nme\r\n"
                        ":1\r\n");
    /* RESP3: any command may run while subscribed. */
    assert_string_equal(call(a, "GET nosuch"), "_\r\n");
    dice_session_free(a);
    dice_session_free(b);
}

static void test_pattern_glob(void **state) {
    fixture_t *f = *state;
    dice_session_t *a;
    assert_int_equal(dice_session_new(f->srv, 2, &a), 0);
    call(a, "PSUBSCRIBE news.[a-c]?");
    assert_int_equal(
        dice__pubsub_publish(f->srv, DICE__PS_CHANNEL, "news.b1", 7, "m", 1),
        1);
    assert_int_equal(
        dice__pubsub_publish(f->srv, DICE__PS_CHANNEL, "news.d1", 7, "m", 1),
        0);
    /* Past Redis's nesting limit of '*' the matcher gives up: no match. */
    char pat[2200];
    for (int i = 0; i < 1100; i++) {
        pat[2 * i] = '*';
        pat[2 * i + 1] = 'a';
    }
    assert_int_equal(dice__pubsub_subscribe(dice_session_client(a),
                                            DICE__PS_PATTERN, pat, 1800),
                     1);
    assert_int_equal(dice__pubsub_subscribe(dice_session_client(a),
                                            DICE__PS_PATTERN, pat, 2200),
                     1);
    char ch[2000];
    memset(ch, 'a', sizeof(ch));
    assert_int_equal(
        dice__pubsub_publish(f->srv, DICE__PS_CHANNEL, ch, sizeof(ch), "m", 1),
        1); /* 900 stars match, 1100 do not (redis-server too) */
    dice_session_free(a);
}

static void test_notify_classes(void **state) {
    fixture_t *f = *state;
    dice_session_t *a, *b;
    assert_int_equal(dice_session_new(f->srv, 3, &a), 0);
    assert_int_equal(dice_session_new(f->srv, 2, &b), 0);
    call(a, "PSUBSCRIBE __key*");
    /* Off by default: nothing is published. (a runs the writes itself: a
     * session keeps only its own call's output.) */
    assert_string_equal(call(a, "SET k 1"), "+OK\r\n");
    assert_int_equal(
        dice_server_config_set(f->srv, "notify-keyspace-events", "E$"), 0);
    assert_string_equal(call(a, "SET k 2"),
                        ">4\r\n$8\r\npmessage\r\n$6\r\n__key*\r\n"
                        "$18\r\n__keyevent@0__:set\r\n$1\r\nk\r\n+OK\r\n");
    /* generic: not selected */
    assert_string_equal(call(a, "EXPIRE k 100"), ":1\r\n");
    assert_int_equal(
        dice_server_config_set(f->srv, "notify-keyspace-events", "Kg"), 0);
    call(a, "SELECT 2");
    call(a, "SET j 1");
    assert_string_equal(call(a, "DEL j"),
                        ">4\r\n$8\r\npmessage\r\n$6\r\n__key*\r\n"
                        "$16\r\n__keyspace@2__:j\r\n$3\r\ndel\r\n:1\r\n");
    (void)b;
    char buf[64];
    assert_true(dice_server_config_get(f->srv, "notify-keyspace-events", buf,
                                       sizeof(buf)) > 0);
    assert_string_equal(buf, "gK");
    dice_session_free(a);
    dice_session_free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bookkeeping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resp3_pushes_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pattern_glob, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notify_classes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
