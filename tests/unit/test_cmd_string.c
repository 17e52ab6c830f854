/* The string commands against a key of another type. Nothing in dice-server
 * can create one yet, so the test stores an opaque "list" object straight
 * into the keyspace with dice_db_set_object and then talks to the server
 * over a socket, checking Redis 7.0's replies byte for byte: which commands
 * answer WRONGTYPE, which treat the key as absent (MGET), which overwrite
 * it (SET, MSET), and which argument errors come before the type check.
 * The loop and the client socket are driven from this one thread. */
#include <dice/dice.h>

#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#define WRONGTYPE                                                              \
    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
#define NOTINT "-ERR value is not an integer or out of range\r\n"

typedef struct {
    dice_loop_t *loop;
    dice_server_t *srv;
    dice_db_t *db;
    int fd;
} fixture_t;

static void obj_free(void *ctx, void *obj) {
    (void)ctx;
    free(obj);
}

static void put_list(fixture_t *f, const char *key) {
    void *obj = malloc(16);
    assert_non_null(obj);
    assert_int_equal(
        dice_db_set_object(f->db, key, strlen(key), DICE_TYPE_LIST, obj, 0, 0),
        0);
}

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof(*f));
    assert_int_equal(dice_loop_new(&f->loop), 0);
    assert_int_equal(dice_server_new(&f->srv, f->loop), 0);
    assert_int_equal(dice_server_config_set(f->srv, "port", "0"), 0);
    assert_int_equal(dice_server_config_set(f->srv, "bind", "127.0.0.1"), 0);
    assert_int_equal(dice_server_config_set(f->srv, "loglevel", "warning"), 0);
    assert_int_equal(dice_command_add_builtins(f->srv, DICE_BUILTIN_ALL), 0);
    dice_keyspace_t *ks = dice_server_keyspace(f->srv);
    assert_non_null(ks);
    assert_int_equal(dice_keyspace_set_type_ops(ks, DICE_TYPE_LIST, obj_free,
                                                NULL, NULL, NULL),
                     0);
    f->db = dice_keyspace_db(ks, 0);
    assert_int_equal(dice_server_start(f->srv), 0);
    int port = dice_server_port(f->srv);
    f->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(0x7f000001)};
    int rc = connect(f->fd, (struct sockaddr *)&sa, sizeof(sa));
    assert_true(rc == 0 || errno == EINPROGRESS);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    close(f->fd);
    dice_server_free(f->srv);
    dice_loop_free(f->loop);
    free(f);
    return 0;
}

/* Send an inline command and compare the reply bytes with want. */
static void expect(fixture_t *f, const char *req, const char *want) {
    size_t len = strlen(req), off = 0;
    for (int i = 0; off < len && i < 10000; i++) {
        ssize_t n = write(f->fd, req + off, len - off);
        if (n > 0)
            off += (size_t)n;
        else
            dice_loop_run_once(f->loop, 1);
    }
    assert_int_equal(off, len);
    size_t need = strlen(want), got = 0;
    char *buf = calloc(1, need + 1);
    for (int i = 0; i < 3000 && got < need; i++) {
        dice_loop_run_once(f->loop, 1);
        ssize_t n = read(f->fd, buf + got, need - got);
        if (n > 0)
            got += (size_t)n;
        else if (n == 0)
            break;
    }
    if (strcmp(buf, want) != 0)
        print_error("request %s", req);
    assert_string_equal(buf, want);
    free(buf);
}

static void assert_still_list(fixture_t *f, const char *key) {
    assert_int_equal(dice_db_type(f->db, key, strlen(key)), DICE_TYPE_LIST);
}

static void test_wrongtype_reads(void **state) {
    fixture_t *f = *state;
    put_list(f, "l");
    expect(f, "SET s abc\r\n", "+OK\r\n");
    expect(f, "GET l\r\n", WRONGTYPE);
    expect(f, "STRLEN l\r\n", WRONGTYPE);
    expect(f, "GETRANGE l 0 -1\r\n", WRONGTYPE);
    expect(f, "SUBSTR l 0 -1\r\n", WRONGTYPE);
    expect(f, "GETRANGE l x 1\r\n", NOTINT); /* arguments first */
    expect(f, "MGET s l nokey\r\n", "*3\r\n$3\r\nabc\r\n$-1\r\n$-1\r\n");
    expect(f, "LCS l s\r\n",
           "-ERR The specified keys must contain string values\r\n");
    expect(f, "LCS s l foo\r\n",
           "-ERR The specified keys must contain string values\r\n");
    expect(f, "GETEX l\r\n", WRONGTYPE);
    expect(f, "GETEX l EX 0\r\n", WRONGTYPE); /* type before expire value */
    expect(f, "GETEX l FOO\r\n", "-ERR syntax error\r\n");
    expect(f, "GETDEL l\r\n", WRONGTYPE);
    assert_still_list(f, "l");
}

static void test_wrongtype_writes(void **state) {
    fixture_t *f = *state;
    put_list(f, "l");
    expect(f, "GETSET l v\r\n", WRONGTYPE);
    expect(f, "SET l v GET\r\n", WRONGTYPE);
    expect(f, "SET l v NX\r\n", "$-1\r\n");
    expect(f, "SETNX l v\r\n", ":0\r\n");
    expect(f, "MSETNX a 1 l v\r\n", ":0\r\n");
    expect(f, "APPEND l x\r\n", WRONGTYPE);
    expect(f, "SETRANGE l 0 x\r\n", WRONGTYPE);
    expect(f, "SETRANGE l 0 \"\"\r\n", WRONGTYPE);
    expect(f, "SETRANGE l 536870912 x\r\n", WRONGTYPE); /* type, then size */
    expect(f, "SETRANGE l -1 x\r\n", "-ERR offset is out of range\r\n");
    expect(f, "INCR l\r\n", WRONGTYPE);
    expect(f, "DECR l\r\n", WRONGTYPE);
    expect(f, "INCRBY l 5\r\n", WRONGTYPE);
    expect(f, "INCRBY l x\r\n", NOTINT);
    expect(f, "DECRBY l 5\r\n", WRONGTYPE);
    expect(f, "DECRBY l -9223372036854775808\r\n",
           "-ERR decrement would overflow\r\n");
    expect(f, "INCRBYFLOAT l 1.5\r\n", WRONGTYPE);
    expect(f, "INCRBYFLOAT l x\r\n", WRONGTYPE); /* type before the float */
    expect(f, "SETEX l 0 v\r\n",
           "-ERR invalid expire time in 'setex' command\r\n");
    expect(f, "SET l v XX GET EX 0\r\n",
           "-ERR invalid expire time in 'set' command\r\n");
    assert_still_list(f, "l");
    assert_int_equal(dice_db_exists(f->db, "a", 1), 0);

    /* Plain SET, MSET, SETEX and SET ... XX replace the value. */
    expect(f, "SET l v\r\n", "+OK\r\n");
    expect(f, "GET l\r\n", "$1\r\nv\r\n");
    put_list(f, "l");
    expect(f, "MSET l w\r\n", "+OK\r\n");
    expect(f, "GET l\r\n", "$1\r\nw\r\n");
    put_list(f, "l");
    expect(f, "SET l x XX\r\n", "+OK\r\n");
    expect(f, "GET l\r\n", "$1\r\nx\r\n");
    put_list(f, "l");
    expect(f, "SETEX l 100 y\r\n", "+OK\r\n");
    expect(f, "GET l\r\n", "$1\r\ny\r\n");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wrongtype_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrongtype_writes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
