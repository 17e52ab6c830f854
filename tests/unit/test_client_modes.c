/* The per-client modes of dispatch's out-of-line path, through in-process
 * sessions: CLIENT REPLY SKIP given on the common path still skips exactly
 * the next command (rejections included), REPLY OFF and ON, CLIENT
 * TRACKING's table (keys read by a tracking session enter it, a write by
 * another session empties it, OPTIN waits for CACHING yes, FLUSHALL
 * clears it, tracking-table-max-keys bounds it), and sessions are never
 * held by CLIENT PAUSE (they cannot wait). */
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
    dice_session_t *a, *b;
} fixture_t;

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof(*f));
    assert_int_equal(dice_loop_new(&f->loop), 0);
    assert_int_equal(dice_server_new(&f->srv, f->loop), 0);
    assert_int_equal(dice_server_config_set(f->srv, "loglevel", "warning"), 0);
    assert_int_equal(dice_command_add_builtins(f->srv, DICE_BUILTIN_ALL), 0);
    assert_int_equal(dice_session_new(f->srv, 3, &f->a), 0);
    assert_int_equal(dice_session_new(f->srv, 2, &f->b), 0);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    dice_session_free(f->a);
    dice_session_free(f->b);
    dice_server_free(f->srv);
    dice_loop_free(f->loop);
    free(f);
    return 0;
}

/* Run a space-separated command; the reply's bytes, NUL-terminated in a
 * static buffer ("" for none). */
static const char *run(dice_session_t *s, const char *line) {
    static char out[4096];
    char buf[512];
    const char *argv[16];
    size_t argvlen[16];
    int argc = 0;
    snprintf(buf, sizeof(buf), "%s", line);
    for (char *p = strtok(buf, " "); p && argc < 16; p = strtok(NULL, " ")) {
        argv[argc] = p;
        argvlen[argc++] = strlen(p);
    }
    const char *reply = NULL;
    size_t len = 0;
    assert_int_equal(dice_session_call(s, argc, argv, argvlen, &reply, &len),
                     0);
    snprintf(out, sizeof(out), "%.*s", (int)len, reply ? reply : "");
    return out;
}

/* The value of one INFO field, as a number. */
static long long info_field(dice_session_t *s, const char *section,
                            const char *name) {
    char line[64];
    snprintf(line, sizeof(line), "INFO %s", section);
    const char *info = run(s, line);
    const char *p = strstr(info, name);
    assert_non_null(p);
    return atoll(p + strlen(name) + 1);
}

static void test_reply_skip_and_off(void **state) {
    fixture_t *f = *state;
    dice_session_t *s = f->b;
    assert_string_equal(run(s, "CLIENT REPLY SKIP"), "");
    assert_string_equal(run(s, "PING one"), "");
    assert_string_equal(run(s, "PING two"), "$3\r\ntwo\r\n");
    /* A rejection is skipped too. */
    assert_string_equal(run(s, "CLIENT REPLY SKIP"), "");
    assert_string_equal(run(s, "NOSUCH"), "");
    assert_string_equal(run(s, "PING"), "+PONG\r\n");
    /* SKIP twice in a row: the second SKIP is skipped, then the next. */
    assert_string_equal(run(s, "CLIENT REPLY SKIP"), "");
    assert_string_equal(run(s, "CLIENT REPLY SKIP"), "");
    assert_string_equal(run(s, "PING x"), "");
    assert_string_equal(run(s, "PING y"), "$1\r\ny\r\n");
    assert_string_equal(run(s, "CLIENT REPLY OFF"), "");
    assert_string_equal(run(s, "SET k v"), "");
    assert_string_equal(run(s, "CLIENT REPLY SKIP"), "");
    assert_string_equal(run(s, "CLIENT REPLY ON"), "+OK\r\n");
    assert_string_equal(run(s, "GET k"), "$1\r\nv\r\n");
    assert_string_equal(run(s, "CLIENT REPLY MAYBE"), "-ERR syntax error\r\n");
}

static void test_tracking_table(void **state) {
    fixture_t *f = *state;
    assert_string_equal(run(f->a, "CLIENT TRACKING on"), "+OK\r\n");
    assert_int_equal(info_field(f->b, "clients", "tracking_clients"), 1);
    run(f->a, "MGET k1 k2");
    run(f->a, "SET w 1"); /* writes are not remembered */
    assert_int_equal(info_field(f->b, "stats", "tracking_total_keys"), 2);
    assert_int_equal(info_field(f->b, "stats", "tracking_total_items"), 2);
    run(f->b, "SET k1 x");
    assert_int_equal(info_field(f->b, "stats", "tracking_total_keys"), 1);
    /* Reading again adds no second item for the same client. */
    run(f->a, "GET k2");
    assert_int_equal(info_field(f->b, "stats", "tracking_total_items"), 1);
    run(f->b, "FLUSHALL");
    assert_int_equal(info_field(f->b, "stats", "tracking_total_keys"), 0);
    /* OPTIN: only after CLIENT CACHING yes, for one command. */
    assert_string_equal(run(f->a, "CLIENT TRACKING off"), "+OK\r\n");
    assert_string_equal(run(f->a, "CLIENT TRACKING on OPTIN"), "+OK\r\n");
    run(f->a, "GET o1");
    assert_int_equal(info_field(f->b, "stats", "tracking_total_keys"), 0);
    assert_string_equal(run(f->a, "CLIENT CACHING yes"), "+OK\r\n");
    run(f->a, "GET o2");
    run(f->a, "GET o3");
    assert_int_equal(info_field(f->b, "stats", "tracking_total_keys"), 1);
    /* The limit evicts down to it. */
    run(f->a, "CLIENT TRACKING off");
    run(f->a, "CLIENT TRACKING on");
    run(f->a, "MGET a b c d e f");
    assert_int_equal(info_field(f->b, "stats", "tracking_total_keys"), 7);
    assert_string_equal(run(f->b, "CONFIG SET tracking-table-max-keys 3"),
                        "+OK\r\n");
    assert_int_equal(info_field(f->b, "stats", "tracking_total_keys"), 3);
    /* BCAST prefixes are counted, and go with the client's tracking. */
    run(f->a, "CLIENT TRACKING off");
    assert_string_equal(
        run(f->a, "CLIENT TRACKING on BCAST PREFIX p: PREFIX q:"), "+OK\r\n");
    assert_int_equal(info_field(f->b, "stats", "tracking_total_prefixes"), 2);
    run(f->a, "CLIENT TRACKING off");
    assert_int_equal(info_field(f->b, "stats", "tracking_total_prefixes"), 0);
    assert_int_equal(info_field(f->b, "clients", "tracking_clients"), 0);
}

static void test_sessions_not_paused(void **state) {
    fixture_t *f = *state;
    assert_string_equal(run(f->b, "CLIENT PAUSE 100000 ALL"), "+OK\r\n");
    assert_string_equal(run(f->a, "SET k v"), "+OK\r\n");
    assert_string_equal(run(f->b, "CLIENT UNPAUSE"), "+OK\r\n");
    assert_string_equal(run(f->b, "GET k"), "$1\r\nv\r\n");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reply_skip_and_off, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tracking_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sessions_not_paused, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
