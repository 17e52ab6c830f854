/* Server core through its public API: a host server with only its own
 * commands, sub-commands, Redis's rejection texts, pipelining, deferred
 * replies (timer and worker thread), close-after-reply, held clients whose
 * peer leaves, and settings. The loop and a client socket are driven from
 * this one thread. */
#include <dice/dice.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
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
    int port;
} fixture_t;

static void cmd_hello(dice_client_t *c, int argc, const char *const *argv,
                      const size_t *argvlen, void *arg) {
    (void)argc, (void)argv, (void)argvlen, (void)arg;
    dice_reply_simple(c, "world", 5);
}

static void cmd_echo2(dice_client_t *c, int argc, const char *const *argv,
                      const size_t *argvlen, void *arg) {
    (void)arg;
    dice_reply_array(c, (size_t)argc - 1);
    for (int i = 1; i < argc; i++)
        dice_reply_bulk(c, argv[i], argvlen[i]);
}

static void cmd_sub(dice_client_t *c, int argc, const char *const *argv,
                    const size_t *argvlen, void *arg) {
    (void)argc, (void)argv, (void)argvlen;
    dice_reply_cstr(c, (const char *)arg);
}

/* LATER ms: answer "+done" after ms milliseconds from a timer. */
static void later_fire(dice_loop_t *loop, uint64_t id, void *arg) {
    (void)loop, (void)id;
    dice_client_t *c = arg;
    dice_reply_simple(c, "done", 4);
    dice_client_release(c);
}

static void cmd_later(dice_client_t *c, int argc, const char *const *argv,
                      const size_t *argvlen, void *arg) {
    (void)argc, (void)argvlen, (void)arg;
    dice_client_hold(c);
    dice_loop_timer_add(dice_server_loop(dice_client_server(c)),
                        (uint64_t)atoi(argv[1]), 0, later_fire, c, NULL);
}

/* WORK: a worker thread computes, then posts the answer to the loop. */
typedef struct {
    dice_client_t *c;
    dice_loop_t *loop;
    long result;
} job_t;

static void job_done(dice_loop_t *loop, void *arg) {
    (void)loop;
    job_t *j = arg;
    dice_reply_int(j->c, j->result);
    dice_client_release(j->c);
    free(j);
}

static void *worker(void *arg) {
    job_t *j = arg;
    long s = 0;
    for (long i = 1; i <= 1000; i++)
        s += i;
    usleep(10000);
    j->result = s;
    dice_loop_post(j->loop, job_done, j);
    return NULL;
}

static void cmd_work(dice_client_t *c, int argc, const char *const *argv,
                     const size_t *argvlen, void *arg) {
    (void)argc, (void)argv, (void)argvlen, (void)arg;
    job_t *j = calloc(1, sizeof(*j));
    j->c = c;
    j->loop = dice_server_loop(dice_client_server(c));
    dice_client_hold(c);
    pthread_t t;
    pthread_create(&t, NULL, worker, j);
    pthread_detach(t);
}

static void cmd_bye(dice_client_t *c, int argc, const char *const *argv,
                    const size_t *argvlen, void *arg) {
    (void)argc, (void)argv, (void)argvlen, (void)arg;
    dice_reply_ok(c);
    dice_client_close_after_reply(c);
}

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof(*f));
    assert_int_equal(dice_loop_new(&f->loop), 0);
    assert_int_equal(dice_server_new(&f->srv, f->loop), 0);
    assert_int_equal(dice_server_config_set(f->srv, "port", "0"), 0);
    assert_int_equal(dice_server_config_set(f->srv, "loglevel", "warning"), 0);
    assert_int_equal(dice_command_add(f->srv, "hello", 1, DICE_CMD_FAST, 0, 0,
                                      0, cmd_hello, NULL, "say world"),
                     0);
    assert_int_equal(dice_command_add(f->srv, "echo2", -1, 0, 0, 0, 0,
                                      cmd_echo2, NULL, NULL),
                     0);
    assert_int_equal(
        dice_command_add(f->srv, "later", 2, 0, 0, 0, 0, cmd_later, NULL, NULL),
        0);
    assert_int_equal(
        dice_command_add(f->srv, "work", 1, 0, 0, 0, 0, cmd_work, NULL, NULL),
        0);
    assert_int_equal(
        dice_command_add(f->srv, "bye", 1, 0, 0, 0, 0, cmd_bye, NULL, NULL), 0);
    assert_int_equal(
        dice_command_add(f->srv, "grp", -2, 0, 0, 0, 0, NULL, NULL, NULL), 0);
    assert_int_equal(dice_command_add_sub(f->srv, "grp", "one", 2, 0, 0, 0, 0,
                                          cmd_sub, "first", NULL),
                     0);
    assert_int_equal(dice_command_add_sub(f->srv, "grp", "two", 3, 0, 0, 0, 0,
                                          cmd_sub, "second", NULL),
                     0);
    assert_int_equal(dice_server_start(f->srv), 0);
    f->port = dice_server_port(f->srv);
    assert_true(f->port > 0);
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

static int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(0x7f000001)};
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    assert_true(rc == 0 || errno == EINPROGRESS);
    return fd;
}

static void send_all(fixture_t *f, int fd, const char *data, size_t len) {
    size_t off = 0;
    for (int i = 0; off < len && i < 100000; i++) {
        ssize_t n = write(fd, data + off, len - off);
        if (n > 0)
            off += (size_t)n;
        else
            dice_loop_run_once(f->loop, 1);
    }
    assert_int_equal(off, len);
}

/* Drive the loop until `want` bytes arrived (or 3 s passed); return them. */
static char *recv_n(fixture_t *f, int fd, size_t want, size_t *got) {
    char *buf = calloc(1, want + 1);
    *got = 0;
    for (int i = 0; i < 3000 && *got < want; i++) {
        dice_loop_run_once(f->loop, 1);
        ssize_t n = read(fd, buf + *got, want - *got);
        if (n > 0)
            *got += (size_t)n;
        else if (n == 0)
            break;
    }
    return buf;
}

static void expect(fixture_t *f, int fd, const char *req, const char *want) {
    send_all(f, fd, req, strlen(req));
    size_t got;
    char *buf = recv_n(f, fd, strlen(want), &got);
    assert_string_equal(buf, want);
    free(buf);
}

/* True if the server closes fd within about a second. */
static int closed_by_server(fixture_t *f, int fd) {
    char b[256];
    for (int i = 0; i < 1000; i++) {
        dice_loop_run_once(f->loop, 1);
        ssize_t n = read(fd, b, sizeof(b));
        if (n == 0)
            return 1;
        if (n < 0 && errno != EAGAIN)
            return 1;
    }
    return 0;
}

static void test_own_commands_only(void **state) {
    fixture_t *f = *state;
    int fd = connect_to(f->port);
    expect(f, fd, "HELLO\r\n", "+world\r\n");
    expect(f, fd, "*1\r\n$5\r\nhElLo\r\n", "+world\r\n");
    /* The server has no built-ins unless asked: PING is unknown. */
    expect(f, fd, "PING\r\n",
           "-ERR unknown command 'PING', with args beginning with: \r\n");
    expect(f, fd, "hello x\r\n",
           "-ERR wrong number of arguments for 'hello' command\r\n");
    expect(f, fd, "echo2 a \"b c\"\r\n", "*2\r\n$1\r\na\r\n$3\r\nb c\r\n");
    close(fd);
}

static void test_subcommands(void **state) {
    fixture_t *f = *state;
    int fd = connect_to(f->port);
    expect(f, fd, "grp one\r\n", "$5\r\nfirst\r\n");
    expect(f, fd, "GRP TWO x\r\n", "$6\r\nsecond\r\n");
    expect(f, fd, "grp two\r\n",
           "-ERR wrong number of arguments for 'grp|two' command\r\n");
    expect(f, fd, "grp three\r\n",
           "-ERR unknown subcommand 'three'. Try GRP HELP.\r\n");
    expect(f, fd, "grp\r\n",
           "-ERR wrong number of arguments for 'grp' command\r\n");
    close(fd);
}

static void test_pipeline_and_partial(void **state) {
    fixture_t *f = *state;
    int fd = connect_to(f->port);
    /* 2000 commands in one write, answered in order. */
    size_t n = 2000, len = 0;
    char *req = malloc(n * 32), *want = malloc(n * 32);
    size_t wlen = 0;
    for (size_t i = 0; i < n; i++) {
        len += (size_t)sprintf(req + len,
                               "*2\r\n$5\r\necho2\r\n$4\r\n%04zu\r\n", i);
        wlen += (size_t)sprintf(want + wlen, "*1\r\n$4\r\n%04zu\r\n", i);
    }
    send_all(f, fd, req, len);
    size_t got;
    char *buf = recv_n(f, fd, wlen, &got);
    assert_int_equal(got, wlen);
    assert_memory_equal(buf, want, wlen);
    free(buf);
    /* One command split across writes with the loop running in between. */
    const char *cmd = "*2\r\n$5\r\necho2\r\n$10\r\n0123456789\r\n";
    for (size_t i = 0; cmd[i]; i++) {
        send_all(f, fd, cmd + i, 1);
        dice_loop_run_once(f->loop, 0);
    }
    const char *echo = "*1\r\n$10\r\n0123456789\r\n";
    buf = recv_n(f, fd, strlen(echo), &got);
    assert_string_equal(buf, echo);
    free(buf);
    free(req);
    free(want);
    close(fd);
}

static void test_deferred_reply_keeps_order(void **state) {
    fixture_t *f = *state;
    int fd = connect_to(f->port);
    /* LATER holds the client for 30 ms; HELLO, sent in the same write,
     * must be answered after it. Another client is served meanwhile. */
    send_all(f, fd, "later 30\r\nhello\r\n", 17);
    int other = connect_to(f->port);
    expect(f, other, "hello\r\n", "+world\r\n");
    size_t got;
    char *buf = recv_n(f, fd, 15, &got);
    assert_string_equal(buf, "+done\r\n+world\r\n");
    free(buf);
    close(other);
    close(fd);
}

static void test_worker_thread_reply(void **state) {
    fixture_t *f = *state;
    int fd = connect_to(f->port);
    expect(f, fd, "work\r\nhello\r\n", ":500500\r\n+world\r\n");
    close(fd);
}

static void test_held_client_disconnects(void **state) {
    fixture_t *f = *state;
    int fd = connect_to(f->port);
    send_all(f, fd, "later 50\r\n", 10);
    for (int i = 0; i < 5; i++)
        dice_loop_run_once(f->loop, 1);
    close(fd); /* gone before the answer: the timer still replies safely */
    for (int i = 0; i < 100; i++)
        dice_loop_run_once(f->loop, 2);
    int fd2 = connect_to(f->port);
    expect(f, fd2, "hello\r\n", "+world\r\n");
    close(fd2);
}

static void test_close_after_reply_and_protocol_error(void **state) {
    fixture_t *f = *state;
    int fd = connect_to(f->port);
    expect(f, fd, "bye\r\n", "+OK\r\n");
    assert_true(closed_by_server(f, fd));
    close(fd);
    fd = connect_to(f->port);
    expect(f, fd, "*1\r\n$x\r\n",
           "-ERR Protocol error: invalid bulk length\r\n");
    assert_true(closed_by_server(f, fd));
    close(fd);
}

static void test_command_table_api(void **state) {
    fixture_t *f = *state;
    size_t n = dice_command_count(f->srv);
    assert_int_equal(n, 6);
    assert_int_equal(dice_command_add(f->srv, "bad name", 1, 0, 0, 0, 0,
                                      cmd_hello, NULL, NULL),
                     DICE_EINVAL);
    assert_int_equal(
        dice_command_add(f->srv, "x", 0, 0, 0, 0, 0, cmd_hello, NULL, NULL),
        DICE_EINVAL);
    assert_int_equal(dice_command_add_sub(f->srv, "nosuch", "a", 2, 0, 0, 0, 0,
                                          cmd_sub, NULL, NULL),
                     DICE_ENOENT);
    /* One connection runs HELLO, so it caches the command; replacing and
     * removing it must still be seen by that same connection. */
    int cached = connect_to(f->port);
    expect(f, cached, "hello\r\n", "+world\r\n");
    assert_int_equal(dice_command_add(f->srv, "echo2", -1, 0, 0, 0, 0,
                                      cmd_hello, NULL, NULL),
                     0);
    expect(f, cached, "echo2 x\r\n", "+world\r\n");
    assert_int_equal(dice_command_add(f->srv, "echo2", -1, 0, 0, 0, 0,
                                      cmd_echo2, NULL, NULL),
                     0);
    expect(f, cached, "hello\r\n", "+world\r\n");
    assert_int_equal(dice_command_remove(f->srv, "hello"), 0);
    expect(f, cached, "hello\r\n",
           "-ERR unknown command 'hello', with args beginning with: \r\n");
    assert_int_equal(dice_command_add(f->srv, "hello", 1, DICE_CMD_FAST, 0, 0,
                                      0, cmd_hello, NULL, "say world"),
                     0);
    expect(f, cached, "hello\r\n", "+world\r\n");
    close(cached);
    /* Replace, then remove. */
    assert_int_equal(
        dice_command_add(f->srv, "HELLO", 1, 0, 0, 0, 0, cmd_bye, NULL, NULL),
        0);
    assert_int_equal(dice_command_count(f->srv), n);
    int fd = connect_to(f->port);
    expect(f, fd, "hello\r\n", "+OK\r\n");
    close(fd);
    assert_int_equal(dice_command_remove(f->srv, "hello"), 0);
    assert_int_equal(dice_command_remove(f->srv, "hello"), DICE_ENOENT);
    assert_int_equal(dice_command_count(f->srv), n - 1);
    /* Removal must not cut other commands off their probe chains. */
    fd = connect_to(f->port);
    expect(f, fd, "echo2 z\r\n", "*1\r\n$1\r\nz\r\n");
    expect(f, fd, "grp one\r\n", "$5\r\nfirst\r\n");
    close(fd);
}

static void test_config(void **state) {
    fixture_t *f = *state;
    char buf[64];
    assert_int_equal(dice_server_config_set(f->srv, "nosuch", "1"),
                     DICE_ENOENT);
    assert_int_equal(dice_server_config_set(f->srv, "maxclients", "abc"),
                     DICE_EINVAL);
    assert_int_equal(dice_server_config_set(f->srv, "maxclients", "0"),
                     DICE_EINVAL);
    assert_int_equal(dice_server_config_set(f->srv, "maxclients", "123"), 0);
    assert_int_equal(
        dice_server_config_get(f->srv, "maxclients", buf, sizeof(buf)), 3);
    assert_string_equal(buf, "123");
    assert_int_equal(
        dice_server_config_set(f->srv, "proto-max-bulk-len", "2mb"), 0);
    dice_server_config_get(f->srv, "proto-max-bulk-len", buf, sizeof(buf));
    assert_string_equal(buf, "2097152");
    assert_int_equal(
        dice_server_config_set(f->srv, "proto-max-bulk-len", "12xb"),
        DICE_EINVAL);
    /* port cannot change while started */
    assert_int_equal(dice_server_config_set(f->srv, "port", "1234"),
                     DICE_ESTATE);
    assert_int_equal(dice_server_config_set(f->srv, "loglevel", "loud"),
                     DICE_EINVAL);
    assert_int_equal(dice_server_config_set(f->srv, "loglevel", "VERBOSE"), 0);
    dice_server_config_get(f->srv, "loglevel", buf, sizeof(buf));
    assert_string_equal(buf, "verbose");
}

/* Every setting's default comes from its table entry, and its side effect
 * runs when the host sets it (hz is clamped as in Redis). */
static void test_config_defaults_and_effects(void **state) {
    (void)state;
    dice_loop_t *loop;
    dice_server_t *srv;
    assert_int_equal(dice_loop_new(&loop), 0);
    assert_int_equal(dice_server_new(&srv, loop), 0);
    static const char *const defaults[][2] = {
        {"bind", "127.0.0.1"},
        {"port", "7379"},
        {"proto-max-bulk-len", "536870912"},
        {"client-query-buffer-limit", "1073741824"},
        {"client-output-pause-limit", "1048576"},
        {"databases", "16"},
        {"loglevel", "notice"},
        {"logfile", ""},
        {"tcp-backlog", "511"},
        {"hz", "10"},
        {"timeout", "0"},
        {"requirepass", ""},
        {"dir", ""},
        {"enable-debug-command", "no"},
        {"enable-protected-configs", "no"},
    };
    char buf[64];
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
        assert_true(
            dice_server_config_get(srv, defaults[i][0], buf, sizeof(buf)) >= 0);
        assert_string_equal(buf, defaults[i][1]);
    }
    assert_int_equal(dice_server_config_set(srv, "hz", "0"), 0);
    dice_server_config_get(srv, "hz", buf, sizeof(buf));
    assert_string_equal(buf, "1");
    assert_int_equal(dice_server_config_set(srv, "HZ", "100000"), 0);
    dice_server_config_get(srv, "hz", buf, sizeof(buf));
    assert_string_equal(buf, "500");
    assert_int_equal(dice_server_config_set(srv, "hz", "+5"), DICE_EINVAL);
    assert_string_equal(dice_server_config_error(srv),
                        "argument couldn't be parsed into an integer");
    assert_int_equal(dice_server_config_set(srv, "timeout", "05"), DICE_EINVAL);
    assert_int_equal(
        dice_server_config_set(srv, "client-query-buffer-limit", " 2mb"),
        DICE_EINVAL);
    assert_string_equal(dice_server_config_error(srv),
                        "argument must be a memory value");
    /* The host may set a protected setting; enums name their values. */
    assert_int_equal(dice_server_config_set(srv, "dir", "/tmp"), 0);
    assert_int_equal(
        dice_server_config_set(srv, "enable-debug-command", "sometimes"),
        DICE_EINVAL);
    assert_string_equal(dice_server_config_error(srv),
                        "argument(s) must be one of the following: no, yes, "
                        "local");
    assert_int_equal(
        dice_server_config_set(srv, "enable-debug-command", "LOCAL"), 0);
    dice_server_config_get(srv, "enable-debug-command", buf, sizeof(buf));
    assert_string_equal(buf, "local");
    assert_int_equal(dice_server_config_set(srv, "port", "0"), 0);
    assert_int_equal(dice_server_start(srv), 0);
    assert_int_equal(dice_server_config_set(srv, "enable-debug-command", "yes"),
                     DICE_ESTATE);
    /* Started, maxclients holds a number (the fd limit's, when unset). */
    dice_server_config_get(srv, "maxclients", buf, sizeof(buf));
    assert_true(atoll(buf) > 0);
    dice_server_free(srv);
    dice_loop_free(loop);
}

static void test_config_file(void **state) {
    (void)state;
    char path[] = "/tmp/dice-test-conf-XXXXXX";
    int fd = mkstemp(path);
    const char *text = "# comment\n\nport 0\nbind \"127.0.0.1\"\n"
                       "maxclients 99\nloglevel 'warning'\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    dice_loop_t *loop;
    dice_server_t *srv;
    assert_int_equal(dice_loop_new(&loop), 0);
    assert_int_equal(dice_server_new(&srv, loop), 0);
    assert_int_equal(dice_server_config_load(srv, path), 0);
    char buf[32];
    dice_server_config_get(srv, "maxclients", buf, sizeof(buf));
    assert_string_equal(buf, "99");
    fd = open(path, O_WRONLY | O_TRUNC);
    const char *bad = "port 1\nmaxclients lots\n";
    assert_int_equal(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
    close(fd);
    assert_int_equal(dice_server_config_load(srv, path), DICE_EINVAL);
    assert_non_null(strstr(dice_server_config_error(srv), ":2:"));
    assert_int_equal(dice_server_config_load(srv, "/nonexistent/x.conf"),
                     DICE_ESYS);
    unlink(path);
    dice_server_free(srv);
    dice_loop_free(loop);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_own_commands_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_subcommands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipeline_and_partial, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deferred_reply_keeps_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_worker_thread_reply, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_held_client_disconnects, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_close_after_reply_and_protocol_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_table_api, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_config, setup, teardown),
        cmocka_unit_test(test_config_file),
        cmocka_unit_test(test_config_defaults_and_effects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
