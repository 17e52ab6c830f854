/* The blocking machinery (lib/server/blocking.c) through a test-only
 * command, BPOPTEST key [key ...] timeout, that blocks until one of its
 * keys holds a string and then GETDELs it (replying [key, value] and
 * propagating DEL key), on a started server with real sockets: order of
 * service, several keys, fractional and zero timeouts in RESP2 and RESP3,
 * disconnect while blocked, CLIENT UNBLOCK in both forms, pipelined
 * commands waiting behind a blocked one, the idle `timeout` sparing a
 * blocked client, a key written and deleted by one command not serving,
 * INFO / CLIENT LIST, propagation of the effect only, and an in-process
 * session getting the non-blocking form. */
#include <dice/dice.h>

#include "server/blocking.h"

#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

typedef struct {
    dice_loop_t *loop;
    dice_server_t *srv;
    int port;
    char prop[4096]; /* propagated commands, "DEL k;..." */
} fixture_t;

/* GETDEL the first of the given keys that holds a string: 1 if served. */
static int try_pop(dice_client_t *c, const char *key, size_t klen) {
    dice_db_t *db = dice_keyspace_db(
        dice_server_keyspace(dice_client_server(c)), dice_client_db(c));
    char num[DICE_DB_NUMBUF];
    const char *v;
    size_t vlen;
    if (dice_db_get(db, key, klen, num, &v, &vlen) != 0)
        return 0;
    dice_reply_array(c, 2);
    dice_reply_bulk(c, key, klen);
    dice_reply_bulk(c, v, vlen);
    const char *argv[2] = {"DEL", key};
    size_t lens[2] = {3, klen};
    dice_client_propagate(c, 2, argv, lens);
    dice_db_delete(db, key, klen);
    return 1;
}

static int retry(dice_client_t *c, const char *key, size_t klen, void *pd) {
    int *served = pd;
    int r = try_pop(c, key, klen);
    *served += r;
    return r;
}

static int pd_frees;
static void free_pd(void *pd) {
    pd_frees++;
    free(pd);
}

static void cmd_bpoptest(dice_client_t *c, int argc, const char *const *argv,
                         const size_t *argvlen, void *arg) {
    (void)arg;
    int64_t deadline;
    if (dice__block_timeout_parse(c, argv[argc - 1], argvlen[argc - 1],
                                  DICE__TIMEOUT_SECONDS, &deadline) < 0)
        return;
    for (int i = 1; i < argc - 1; i++)
        if (try_pop(c, argv[i], argvlen[i]))
            return;
    int *pd = calloc(1, sizeof(int));
    dice__block_spec spec = {retry, NULL, free_pd, pd};
    dice__client_block(c, argc - 2, argv + 1, argvlen + 1, deadline, &spec);
}

/* SETDEL key value: writes the key and deletes it in one command. */
static void cmd_setdel(dice_client_t *c, int argc, const char *const *argv,
                       const size_t *argvlen, void *arg) {
    (void)argc, (void)arg;
    dice_db_t *db = dice_keyspace_db(
        dice_server_keyspace(dice_client_server(c)), dice_client_db(c));
    dice_db_set(db, argv[1], argvlen[1], argv[2], argvlen[2], 0, 0);
    dice_db_delete(db, argv[1], argvlen[1]);
    dice_reply_ok(c);
}

static void sink(void *arg, int db, int argc, const char *const *argv,
                 const size_t *argvlen) {
    fixture_t *f = arg;
    (void)db;
    for (int i = 0; i < argc; i++) {
        strncat(f->prop, argv[i], argvlen[i]);
        strcat(f->prop, i + 1 < argc ? " " : ";");
    }
}

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(dice_loop_new(&f->loop), 0);
    assert_int_equal(dice_server_new(&f->srv, f->loop), 0);
    assert_int_equal(dice_server_config_set(f->srv, "port", "0"), 0);
    assert_int_equal(dice_server_config_set(f->srv, "loglevel", "warning"), 0);
    assert_int_equal(dice_command_add_builtins(f->srv, DICE_BUILTIN_ALL), 0);
    assert_int_equal(dice_command_add(f->srv, "bpoptest", -3, DICE_CMD_WRITE, 1,
                                      -2, 1, cmd_bpoptest, NULL, NULL),
                     0);
    assert_int_equal(dice_command_add(f->srv, "setdel", 3, DICE_CMD_WRITE, 1, 1,
                                      1, cmd_setdel, NULL, NULL),
                     0);
    assert_int_equal(dice_server_add_propagation_sink(f->srv, sink, f, NULL),
                     0);
    assert_int_equal(dice_server_start(f->srv), 0);
    f->port = dice_server_port(f->srv);
    pd_frees = 0;
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

static int conn(fixture_t *f) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)f->port),
                             .sin_addr.s_addr = htonl(0x7f000001)};
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    assert_true(rc == 0 || errno == EINPROGRESS);
    for (int i = 0; i < 20; i++)
        dice_loop_run_once(f->loop, 1); /* accept */
    return fd;
}

static uint64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Run the loop for about ms milliseconds. */
static void pump(fixture_t *f, int ms) {
    uint64_t end = mono_ms() + (uint64_t)ms;
    do
        dice_loop_run_once(f->loop, 1);
    while (mono_ms() < end);
}

static void put(fixture_t *f, int fd, const char *s) {
    size_t len = strlen(s), off = 0;
    for (int i = 0; off < len && i < 10000; i++) {
        ssize_t n = write(fd, s + off, len - off);
        if (n > 0)
            off += (size_t)n;
        else
            dice_loop_run_once(f->loop, 1);
    }
    assert_int_equal(off, len);
}

/* Everything fd has received so far (after pumping ms), as a string the
 * caller frees. */
static char *got(fixture_t *f, int fd, int ms) {
    pump(f, ms);
    static char buf[8192];
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    return buf;
}

static void expect(fixture_t *f, int fd, const char *want) {
    size_t need = strlen(want), have = 0;
    char buf[8192] = {0};
    for (int i = 0; i < 3000 && have < need; i++) {
        dice_loop_run_once(f->loop, 1);
        ssize_t r = read(fd, buf + have, need - have);
        if (r > 0)
            have += (size_t)r;
        else if (r == 0)
            break;
    }
    if (strcmp(buf, want) != 0)
        fail_msg("got \"%s\", want \"%s\"", buf, want);
}

/* Three clients blocked on one key are served one per write, in the order
 * they blocked; the effect propagates as DEL, never as BPOPTEST. */
static void test_order(void **state) {
    fixture_t *f = *state;
    int a = conn(f), b = conn(f), c = conn(f), w = conn(f);
    put(f, a, "BPOPTEST k 0\r\n");
    pump(f, 20);
    put(f, b, "BPOPTEST k 0\r\n");
    pump(f, 20);
    put(f, c, "BPOPTEST k 0\r\n");
    pump(f, 20);
    assert_int_equal(dice__blocked_count(f->srv), 3);
    assert_string_equal(got(f, a, 10), "");
    put(f, w, "SET k v1\r\nSET k v2\r\nSET k v3\r\nEXISTS k\r\n");
    expect(f, w, "+OK\r\n+OK\r\n+OK\r\n:0\r\n");
    expect(f, a, "*2\r\n$1\r\nk\r\n$2\r\nv1\r\n");
    expect(f, b, "*2\r\n$1\r\nk\r\n$2\r\nv2\r\n");
    expect(f, c, "*2\r\n$1\r\nk\r\n$2\r\nv3\r\n");
    assert_int_equal(dice__blocked_count(f->srv), 0);
    assert_int_equal(pd_frees, 3);
    assert_string_equal(f->prop, "SET k v1;DEL k;SET k v2;DEL k;SET k v3;"
                                 "DEL k;");
    close(a), close(b), close(c), close(w);
}

/* Several keys: served from the key that was written. Duplicate keys
 * count once. */
static void test_multiple_keys(void **state) {
    fixture_t *f = *state;
    int a = conn(f), w = conn(f);
    put(f, a, "BPOPTEST k1 k2 k1 0\r\n");
    pump(f, 20);
    put(f, w, "SET k2 x\r\nSET k1 y\r\n");
    expect(f, w, "+OK\r\n+OK\r\n");
    expect(f, a, "*2\r\n$2\r\nk2\r\n$1\r\nx\r\n");
    assert_string_equal(got(f, a, 20), "");
    put(f, w, "EXISTS k1\r\n");
    expect(f, w, ":1\r\n");
    close(a), close(w);
}

/* A fractional timeout fires from the loop's timer with a null array in
 * RESP2 and RESP3; timeout 0 waits until served. */
static void test_timeouts(void **state) {
    fixture_t *f = *state;
    int a = conn(f), b = conn(f), z = conn(f), w = conn(f);
    put(f, b, "HELLO 3\r\n");
    pump(f, 20);
    (void)got(f, b, 1);
    uint64_t t0 = mono_ms();
    put(f, a, "BPOPTEST k .25\r\n");
    put(f, b, "BPOPTEST k 0.25\r\n");
    put(f, z, "BPOPTEST k 0\r\n");
    assert_string_equal(got(f, a, 100), "");
    expect(f, a, "*-1\r\n");
    expect(f, b, "_\r\n");
    uint64_t took = mono_ms() - t0;
    assert_true(took >= 240 && took < 1000);
    assert_string_equal(got(f, z, 300), "");
    put(f, w, "SET k v\r\n");
    expect(f, z, "*2\r\n$1\r\nk\r\n$1\r\nv\r\n");
    assert_int_equal(pd_frees, 3);
    close(a), close(b), close(z), close(w);
}

/* Redis 7.0's parse and error texts (probed against redis-server). */
static void test_timeout_parse(void **state) {
    fixture_t *f = *state;
    int a = conn(f);
    put(f, a, "BPOPTEST k abc\r\n");
    expect(f, a, "-ERR timeout is not a float or out of range\r\n");
    put(f, a, "BPOPTEST k -1\r\n");
    expect(f, a, "-ERR timeout is negative\r\n");
    put(f, a, "BPOPTEST k inf\r\n");
    expect(f, a, "-ERR timeout is negative\r\n");
    put(f, a, "BPOPTEST k 1e16\r\n");
    expect(f, a, "-ERR timeout is negative\r\n");
    put(f, a, "BPOPTEST k nan\r\n");
    expect(f, a, "-ERR timeout is not a float or out of range\r\n");
    put(f, a, "BPOPTEST k \"1 \"\r\n");
    expect(f, a, "-ERR timeout is not a float or out of range\r\n");
    /* Rounded up to a millisecond, not down to "forever". */
    put(f, a, "BPOPTEST k 1e-5\r\n");
    expect(f, a, "*-1\r\n");
    close(a);
}

/* A client that disconnects while blocked is forgotten: nothing is served
 * to it, the key stays. */
static void test_disconnect(void **state) {
    fixture_t *f = *state;
    int a = conn(f), w = conn(f);
    put(f, a, "BPOPTEST k 0\r\n");
    pump(f, 20);
    assert_int_equal(dice__blocked_count(f->srv), 1);
    close(a);
    pump(f, 50);
    assert_int_equal(dice__blocked_count(f->srv), 0);
    assert_int_equal(pd_frees, 1);
    put(f, w, "SET k v\r\nGET k\r\n");
    expect(f, w, "+OK\r\n$1\r\nv\r\n");
    close(w);
}

/* CLIENT UNBLOCK: TIMEOUT (default) and ERROR forms, :0 for a client not
 * blocked or unknown; the unblocked client's next command runs. */
static void test_client_unblock(void **state) {
    fixture_t *f = *state;
    int a = conn(f), w = conn(f);
    put(f, a, "CLIENT ID\r\n");
    char *id = got(f, a, 20);
    long long cid = atoll(id + 1);
    char cmd[128];
    put(f, a, "BPOPTEST k 0\r\nPING\r\n");
    pump(f, 20);
    put(f, w, "INFO clients\r\n");
    assert_non_null(strstr(got(f, w, 20), "blocked_clients:1\r\n"));
    put(f, w, "CLIENT LIST\r\n");
    assert_non_null(strstr(got(f, w, 20), "flags=b db=0"));
    snprintf(cmd, sizeof(cmd), "CLIENT UNBLOCK %lld\r\n", cid);
    put(f, w, cmd);
    expect(f, w, ":1\r\n");
    expect(f, a, "*-1\r\n+PONG\r\n");
    put(f, w, cmd);
    expect(f, w, ":0\r\n");
    put(f, a, "BPOPTEST k 0\r\n");
    pump(f, 20);
    snprintf(cmd, sizeof(cmd), "CLIENT UNBLOCK %lld ERROR\r\n", cid);
    put(f, w, cmd);
    expect(f, w, ":1\r\n");
    expect(f, a, "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
    put(f, a, "BPOPTEST k 0\r\n");
    pump(f, 20);
    snprintf(cmd, sizeof(cmd), "CLIENT UNBLOCK %lld timeout\r\n", cid);
    put(f, w, cmd);
    expect(f, w, ":1\r\n");
    expect(f, a, "*-1\r\n");
    put(f, w, "CLIENT UNBLOCK 99999\r\nCLIENT UNBLOCK x\r\n");
    expect(f, w, ":0\r\n-ERR value is not an integer or out of range\r\n");
    snprintf(cmd, sizeof(cmd), "CLIENT UNBLOCK %lld foo\r\n", cid);
    put(f, w, cmd);
    expect(f, w, "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n");
    assert_int_equal(pd_frees, 3);
    close(a), close(w);
}

/* Commands pipelined after a blocking one wait and run once it is served,
 * in order, in the same loop iteration. */
static void test_pipelined(void **state) {
    fixture_t *f = *state;
    int a = conn(f), w = conn(f);
    put(f, a, "BPOPTEST k 0\r\nPING\r\nECHO hi\r\n");
    assert_string_equal(got(f, a, 50), "");
    put(f, a, "PING\r\n"); /* arrives while blocked */
    assert_string_equal(got(f, a, 20), "");
    put(f, w, "SET k v\r\n");
    expect(f, a, "*2\r\n$1\r\nk\r\n$1\r\nv\r\n+PONG\r\n$2\r\nhi\r\n+PONG\r\n");
    close(a), close(w);
}

/* `timeout` closes idle clients but not blocked ones. */
static void test_idle_timeout(void **state) {
    fixture_t *f = *state;
    int a = conn(f), idle = conn(f);
    assert_int_equal(dice_server_config_set(f->srv, "timeout", "1"), 0);
    put(f, a, "BPOPTEST k 0\r\n");
    pump(f, 2300);
    int w = conn(f);
    char buf[16];
    assert_int_equal(read(idle, buf, sizeof(buf)), 0); /* closed */
    assert_int_equal(dice__blocked_count(f->srv), 1);
    put(f, w, "SET k v\r\n");
    expect(f, a, "*2\r\n$1\r\nk\r\n$1\r\nv\r\n");
    close(a), close(idle), close(w);
}

/* A key written and deleted by one command is not ready at its end: the
 * client stays blocked (its retry finds nothing). */
static void test_written_then_deleted(void **state) {
    fixture_t *f = *state;
    int a = conn(f), w = conn(f);
    put(f, a, "BPOPTEST k 0\r\n");
    pump(f, 20);
    put(f, w, "SETDEL k v\r\n");
    expect(f, w, "+OK\r\n");
    assert_string_equal(got(f, a, 50), "");
    assert_int_equal(dice__blocked_count(f->srv), 1);
    put(f, w, "SET k v2\r\n");
    expect(f, a, "*2\r\n$1\r\nk\r\n$2\r\nv2\r\n");
    close(a), close(w);
}

/* Sessions never block: the command answers as timed out at once. */
static void test_session(void **state) {
    fixture_t *f = *state;
    dice_session_t *s;
    assert_int_equal(dice_session_new(f->srv, 2, &s), 0);
    const char *argv[] = {"BPOPTEST", "k", "0"};
    size_t lens[] = {8, 1, 1};
    const char *reply;
    size_t rlen;
    assert_int_equal(dice_session_call(s, 3, argv, lens, &reply, &rlen), 0);
    assert_int_equal(rlen, 5);
    assert_memory_equal(reply, "*-1\r\n", 5);
    assert_int_equal(dice__blocked_count(f->srv), 0);
    assert_int_equal(pd_frees, 1);
    /* A session's write serves a network client. */
    int a = conn(f);
    put(f, a, "BPOPTEST k 0\r\n");
    pump(f, 20);
    const char *set[] = {"SET", "k", "v"};
    size_t setl[] = {3, 1, 1};
    assert_int_equal(dice_session_call(s, 3, set, setl, &reply, &rlen), 0);
    expect(f, a, "*2\r\n$1\r\nk\r\n$1\r\nv\r\n");
    dice_session_free(s);
    close(a);
}

/* Teardown with clients still blocked frees everything (sanitizer). */
static void test_free_while_blocked(void **state) {
    fixture_t *f = *state;
    int a = conn(f), b = conn(f);
    put(f, a, "BPOPTEST k1 k2 5\r\n");
    put(f, b, "BPOPTEST k1 0\r\n");
    pump(f, 30);
    assert_int_equal(dice__blocked_count(f->srv), 2);
    close(a), close(b);
}

/* The sorted-set blocking pops propagate their effect: ZPOPMIN/ZPOPMAX
 * key (BZPOPMIN/BZPOPMAX), ZPOPMIN/ZPOPMAX key n (BZMPOP: n the count
 * asked for when served at once, the members popped when served later),
 * never the blocking form. */
static void test_zset_propagation(void **state) {
    fixture_t *f = *state;
    int a = conn(f), b = conn(f), w = conn(f);
    put(f, a, "BZPOPMIN z 0\r\n");
    pump(f, 20);
    put(f, b, "BZMPOP 0 1 z MAX COUNT 5\r\n");
    pump(f, 20);
    put(f, w, "ZADD z 1 a 2 b 3 c\r\n");
    expect(f, w, ":3\r\n");
    expect(f, a, "*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n");
    expect(f, b,
           "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n"
           "*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
    put(f, w, "ZADD y 1 a 2 b\r\nBZPOPMAX y 0\r\nBZMPOP 0 1 y MIN COUNT 3\r\n");
    expect(f, w,
           ":2\r\n*3\r\n$1\r\ny\r\n$1\r\nb\r\n$1\r\n2\r\n"
           "*2\r\n$1\r\ny\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert_string_equal(f->prop, "ZADD z 1 a 2 b 3 c;ZPOPMIN z;ZPOPMAX z 2;"
                                 "ZADD y 1 a 2 b;ZPOPMAX y;ZPOPMIN y 3;");
    close(a), close(b), close(w);
}

/* The list blocking forms served after blocking propagate their effect as
 * Redis 7.0 does: LPOP key (BLPOP), LMOVE (BLMOVE), RPOPLPUSH (BRPOPLPUSH,
 * not LMOVE), RPOP key n (BLMPOP: n the elements popped). */
static void test_list_propagation(void **state) {
    fixture_t *f = *state;
    int a = conn(f), b = conn(f), d = conn(f), e = conn(f), w = conn(f);
    put(f, a, "BLPOP l 0\r\n");
    put(f, b, "BLMOVE m n LEFT RIGHT 0\r\n");
    put(f, d, "BRPOPLPUSH p q 0\r\n");
    put(f, e, "BLMPOP 0 1 r RIGHT COUNT 3\r\n");
    pump(f, 20);
    put(f, w, "RPUSH l x\r\n");
    expect(f, w, ":1\r\n");
    expect(f, a, "*2\r\n$1\r\nl\r\n$1\r\nx\r\n");
    put(f, w, "RPUSH m 1\r\n");
    expect(f, w, ":1\r\n");
    expect(f, b, "$1\r\n1\r\n");
    put(f, w, "RPUSH p 2\r\n");
    expect(f, w, ":1\r\n");
    expect(f, d, "$1\r\n2\r\n");
    put(f, w, "RPUSH r 1 2 3 4\r\n");
    expect(f, w, ":4\r\n");
    expect(f, e, "*2\r\n$1\r\nr\r\n*3\r\n$1\r\n4\r\n$1\r\n3\r\n$1\r\n2\r\n");
    assert_string_equal(f->prop, "RPUSH l x;LPOP l;RPUSH m 1;LMOVE m n LEFT "
                                 "RIGHT;RPUSH p 2;RPOPLPUSH p q;RPUSH r 1 2 3 "
                                 "4;RPOP r 3;");
    close(a), close(b), close(d), close(e), close(w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multiple_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_unblock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_written_then_deleted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_while_blocked, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_zset_propagation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_propagation, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
