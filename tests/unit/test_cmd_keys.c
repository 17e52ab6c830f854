/* The generic key commands (lib/commands/keys.c) in the cases dice-server's
 * command line cannot reach: the keyspace in LFU mode (OBJECT FREQ counts,
 * OBJECT IDLETIME refuses), and values of non-string types, which a host
 * stores with dice_db_set_object (TYPE, SCAN TYPE, OBJECT ENCODING, COPY
 * with and without a dup callback, RENAME and MOVE). The server runs on a
 * loop driven from this thread; replies are compared byte for byte with
 * what redis-server 7.0 answers in the same situation. */
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

typedef struct {
    dice_loop_t *loop;
    dice_server_t *srv;
    dice_keyspace_t *ks;
    int fd;
    int dups; /* dup callback calls */
} fixture_t;

/* A "list" is a heap string here; the keyspace only sees a pointer. */
static void obj_free(void *ctx, void *obj) {
    (void)ctx;
    free(obj);
}

static void *obj_dup(void *ctx, const void *obj) {
    fixture_t *f = ctx;
    f->dups++;
    return strdup(obj);
}

static const char *obj_encoding(void *ctx, const void *obj) {
    (void)ctx;
    (void)obj;
    return "quicklist";
}

static void put_object(fixture_t *f, int db, const char *key, int type) {
    char *obj = strdup("payload");
    assert_non_null(obj);
    assert_int_equal(dice_db_set_object(dice_keyspace_db(f->ks, db), key,
                                        strlen(key), type, obj, 0, 0),
                     0);
}

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(dice_loop_new(&f->loop), 0);
    assert_int_equal(dice_server_new(&f->srv, f->loop), 0);
    assert_int_equal(dice_server_config_set(f->srv, "port", "0"), 0);
    assert_int_equal(dice_server_config_set(f->srv, "bind", "127.0.0.1"), 0);
    assert_int_equal(dice_server_config_set(f->srv, "loglevel", "warning"), 0);
    assert_int_equal(dice_command_add_builtins(f->srv, DICE_BUILTIN_ALL), 0);
    f->ks = dice_server_keyspace(f->srv);
    assert_non_null(f->ks);
    /* Lists can be copied; hashes have no dup callback. */
    assert_int_equal(dice_keyspace_set_type_ops(f->ks, DICE_TYPE_LIST, obj_free,
                                                obj_dup, obj_encoding, f),
                     0);
    assert_int_equal(dice_keyspace_set_type_ops(f->ks, DICE_TYPE_HASH, obj_free,
                                                NULL, NULL, NULL),
                     0);
    assert_int_equal(dice_server_start(f->srv), 0);
    int port = dice_server_port(f->srv);
    f->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(f->fd >= 0);
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

/* Send an inline command, run the loop until as many bytes as want has
 * arrived (bounded), and compare. */
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
    assert_non_null(buf);
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

#define FREQ_ERR                                                               \
    "-ERR An LFU maxmemory policy is not selected, access frequency not "      \
    "tracked. Please note that when switching between policies at runtime "    \
    "LRU and LFU data will take some time to adjust.\r\n"
#define IDLE_ERR                                                               \
    "-ERR An LFU maxmemory policy is selected, idle time not tracked. "        \
    "Please note that when switching between policies at runtime LRU and "     \
    "LFU data will take some time to adjust.\r\n"

static void test_lru_mode(void **state) {
    fixture_t *f = *state;
    expect(f, "SET k v\r\n", "+OK\r\n");
    expect(f, "OBJECT IDLETIME k\r\n", ":0\r\n");
    expect(f, "OBJECT FREQ k\r\n", FREQ_ERR);
    expect(f, "OBJECT FREQ nokey\r\n", "$-1\r\n");
}

static void test_lfu_mode(void **state) {
    fixture_t *f = *state;
    dice_keyspace_set_lfu(f->ks, 1);
    expect(f, "SET k v\r\n", "+OK\r\n");
    /* A new key starts at Redis's LFU_INIT_VAL; OBJECT does not count as
     * an access. */
    expect(f, "OBJECT FREQ k\r\n", ":5\r\n");
    expect(f, "OBJECT FREQ k\r\n", ":5\r\n");
    /* The first access above the initial value always counts. */
    expect(f, "TOUCH k\r\n", ":1\r\n");
    expect(f, "OBJECT FREQ k\r\n", ":6\r\n");
    expect(f, "EXISTS k\r\n", ":1\r\n"); /* EXISTS does not touch */
    expect(f, "TYPE k\r\n", "+string\r\n");
    expect(f, "TTL k\r\n", ":-1\r\n");
    expect(f, "OBJECT FREQ k\r\n", ":6\r\n");
    expect(f, "OBJECT IDLETIME k\r\n", IDLE_ERR);
    expect(f, "OBJECT IDLETIME nokey\r\n", "$-1\r\n");
    expect(f, "OBJECT FREQ nokey\r\n", "$-1\r\n");
}

static void test_other_types(void **state) {
    fixture_t *f = *state;
    put_object(f, 0, "l", DICE_TYPE_LIST);
    put_object(f, 0, "h", DICE_TYPE_HASH);
    expect(f, "TYPE l\r\n", "+list\r\n");
    expect(f, "TYPE h\r\n", "+hash\r\n");
    expect(f, "OBJECT ENCODING l\r\n", "$9\r\nquicklist\r\n");
    expect(f, "OBJECT REFCOUNT l\r\n", ":1\r\n");
    expect(f, "SCAN 0 TYPE list\r\n", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nl\r\n");
    expect(f, "SCAN 0 TYPE HASH\r\n", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nh\r\n");
    expect(f, "SCAN 0 TYPE zset\r\n", "*2\r\n$1\r\n0\r\n*0\r\n");
    expect(f, "DBSIZE\r\n", ":2\r\n");
    /* COPY duplicates through the type's callback. */
    expect(f, "COPY l l2\r\n", ":1\r\n");
    assert_int_equal(f->dups, 1);
    expect(f, "TYPE l2\r\n", "+list\r\n");
    expect(f, "COPY l l3 DB 3\r\n", ":1\r\n");
    assert_int_equal(f->dups, 2);
    /* A type without one cannot be copied; nothing changes. */
    expect(f, "COPY h h2\r\n", "-ERR this value type cannot be copied\r\n");
    expect(f, "EXISTS h2\r\n", ":0\r\n");
    expect(f, "RENAME l l4\r\n", "+OK\r\n");
    expect(f, "TYPE l4\r\n", "+list\r\n");
    expect(f, "MOVE h 2\r\n", ":1\r\n");
    expect(f, "SELECT 2\r\n", "+OK\r\n");
    expect(f, "TYPE h\r\n", "+hash\r\n");
    expect(f, "PEXPIRE h 100000\r\n", ":1\r\n");
    expect(f, "PERSIST h\r\n", ":1\r\n");
    expect(f, "DEL h\r\n", ":1\r\n");
    expect(f, "SELECT 0\r\n", "+OK\r\n");
    expect(f, "FLUSHALL\r\n", "+OK\r\n");
    expect(f, "DBSIZE\r\n", ":0\r\n");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lru_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lfu_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_types, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
