/* In-process sessions (dice/session.h): every reply type in RESP2 and
 * RESP3, rejections from the shared dispatch (unknown command, arity,
 * unknown subcommand, NOAUTH), per-session state (SELECT, HELLO, CLIENT
 * SETNAME, QUIT), a session beside a network client on a started server,
 * deferred replies from a timer (from the top level and from inside a loop
 * callback), freeing a session whose reply is still held, the object form
 * with the default tree and with a host constructor, and teardown with
 * sessions still open (the sanitizer build checks it leaks nothing). */
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
} fixture_t;

/* TYPES <kind>: one reply of each dice_reply_* kind. */
static void cmd_types(dice_client_t *c, int argc, const char *const *argv,
                      const size_t *argvlen, void *arg) {
    (void)argc, (void)arg;
    const char *k = argv[1];
    size_t n = argvlen[1];
#define IS(lit) (n == strlen(lit) && memcmp(k, lit, n) == 0)
    if (IS("simple")) {
        dice_reply_simple(c, "hi", 2);
    } else if (IS("error")) {
        dice_reply_error(c, "ERR bad", 7);
    } else if (IS("int")) {
        dice_reply_int(c, -42);
    } else if (IS("bulk")) {
        dice_reply_bulk(c, "a\0b", 3);
    } else if (IS("null")) {
        dice_reply_null(c);
    } else if (IS("nullarray")) {
        dice_reply_null_array(c);
    } else if (IS("array")) {
        dice_reply_array(c, 2);
        dice_reply_int(c, 1);
        dice_reply_cstr(c, "x");
    } else if (IS("map")) {
        dice_reply_map(c, 1);
        dice_reply_cstr(c, "k");
        dice_reply_int(c, 7);
    } else if (IS("set")) {
        dice_reply_set(c, 1);
        dice_reply_cstr(c, "m");
    } else if (IS("push")) {
        dice_reply_push(c, 1);
        dice_reply_cstr(c, "p");
    } else if (IS("double")) {
        dice_reply_double(c, 1.5);
    } else if (IS("bool")) {
        dice_reply_bool(c, 1);
    } else if (IS("verbatim")) {
        dice_reply_verbatim(c, "txt", "hey", 3);
    } else if (IS("bignum")) {
        dice_reply_bignum(c, "123456789012345678901234567890", 30);
    } else if (IS("raw")) {
        dice_reply_raw(c, "+raw\r\n", 6);
    } else if (IS("twice")) {
        dice_reply_int(c, 1);
        dice_reply_int(c, 2);
    } else if (IS("none")) {
        /* a handler that forgets to reply */
    } else if (IS("half")) {
        dice_reply_array(c, 3);
        dice_reply_int(c, 1);
    } else {
        dice_reply_error(c, "ERR unknown kind", 16);
    }
#undef IS
}

/* LATER ms: answer "+done" after ms milliseconds from a timer. */
static int later_fired;
static void later_fire(dice_loop_t *loop, uint64_t id, void *arg) {
    (void)loop, (void)id;
    dice_client_t *c = arg;
    later_fired++;
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

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof(*f));
    assert_int_equal(dice_loop_new(&f->loop), 0);
    assert_int_equal(dice_server_new(&f->srv, f->loop), 0);
    assert_int_equal(dice_server_config_set(f->srv, "loglevel", "warning"), 0);
    assert_int_equal(dice_command_add_builtins(f->srv, DICE_BUILTIN_ALL), 0);
    assert_int_equal(
        dice_command_add(f->srv, "types", 2, 0, 0, 0, 0, cmd_types, NULL, NULL),
        0);
    assert_int_equal(
        dice_command_add(f->srv, "later", 2, 0, 0, 0, 0, cmd_later, NULL, NULL),
        0);
    later_fired = 0;
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

/* Split a command line on spaces into argv (at most 16 words). */
typedef struct {
    int argc;
    const char *argv[16];
    size_t argvlen[16];
    char buf[512];
} words_t;

static void split(words_t *w, const char *line) {
    snprintf(w->buf, sizeof(w->buf), "%s", line);
    w->argc = 0;
    for (char *p = strtok(w->buf, " "); p && w->argc < 16;
         p = strtok(NULL, " ")) {
        w->argv[w->argc] = p;
        w->argvlen[w->argc++] = strlen(p);
    }
}

static int call_rc(dice_session_t *s, const char *line, const char **reply,
                   size_t *len) {
    words_t w;
    split(&w, line);
    return dice_session_call(s, w.argc, w.argv, w.argvlen, reply, len);
}

/* Run line and check the reply bytes exactly (they may contain NUL). */
static void expect_n(dice_session_t *s, const char *line, const char *want,
                     size_t wantlen) {
    const char *reply = NULL;
    size_t len = 0;
    assert_int_equal(call_rc(s, line, &reply, &len), 0);
    if (len != wantlen || memcmp(reply, want, len) != 0)
        fail_msg("%s: got '%.*s' (%zu bytes), want '%s'", line, (int)len, reply,
                 len, want);
}

static void expect(dice_session_t *s, const char *line, const char *want) {
    expect_n(s, line, want, strlen(want));
}

/* Command names in any case, of every length around the 8 bytes that
 * compare as one word (1 to 3 bytes, 4 to 8, longer), matched against the
 * session's cached command and through the table; names that differ only
 * in a byte that folding must not touch are unknown. */
static void test_name_case(void **state) {
    fixture_t *f = *state;
    dice_session_t *s;
    assert_int_equal(dice_session_new(f->srv, 2, &s), 0);
    assert_int_equal(
        dice_command_add(f->srv, "q", 2, 0, 0, 0, 0, cmd_types, NULL, NULL), 0);
    assert_int_equal(
        dice_command_add(f->srv, "a_b-9", 2, 0, 0, 0, 0, cmd_types, NULL, NULL),
        0);
    expect(s, "SET k 5", "+OK\r\n");
    expect(s, "sEt k 5", "+OK\r\n");
    expect(s, "set k 5", "+OK\r\n");
    expect(s, "GeT k", "$1\r\n5\r\n");
    expect(s, "get k", "$1\r\n5\r\n");
    expect(s, "PING", "+PONG\r\n");
    expect(s, "pInG", "+PONG\r\n");
    expect(s, "incrBY k 1", ":6\r\n");
    expect(s, "GETRANGE k 0 0", "$1\r\n6\r\n");
    expect(s, "getRange k 0 0", "$1\r\n6\r\n");
    expect(s, "STRLEN k", ":1\r\n");
    expect(s, "PEXPIREAT k 99999999999999", ":1\r\n");
    expect(s, "pexpireAT k 99999999999999", ":1\r\n");
    expect(s, "Q int", ":-42\r\n");
    expect(s, "q int", ":-42\r\n");
    expect(s, "q", "-ERR wrong number of arguments for 'q' command\r\n");
    expect(s, "A_B-9 int", ":-42\r\n");
    /* '_' is 0x5f, '-' 0x2d, '9' 0x39: their bytes must match exactly. */
    expect(s,
           "a\x7f"
           "b-9",
           "-ERR unknown command 'a\x7f"
           "b-9', with args beginning with: "
           "\r\n");
    expect(s,
           "a_b\x0d"
           "9",
           "-ERR unknown command 'a_b "
           "9', with args beginning with: "
           "\r\n");
    expect(s, "a_b-\x19",
           "-ERR unknown command 'a_b-\x19', with args beginning with: "
           "\r\n");
    expect(s, "gex k",
           "-ERR unknown command 'gex', with args beginning with: 'k' \r\n");
    expect(s, "ge k",
           "-ERR unknown command 'ge', with args beginning with: 'k' \r\n");
    expect(s, "g\x05t k",
           "-ERR unknown command 'g\x05t', with args beginning with: 'k' "
           "\r\n");
    expect(s, "get k", "$1\r\n6\r\n");
    dice_session_free(s);
}

static void test_reply_types(void **state) {
    fixture_t *f = *state;
    dice_session_t *s2, *s3;
    assert_int_equal(dice_session_new(f->srv, 2, &s2), 0);
    assert_int_equal(dice_session_new(f->srv, 3, &s3), 0);
    struct {
        const char *kind, *resp2, *resp3;
    } cases[] = {
        {"simple", "+hi\r\n", "+hi\r\n"},
        {"error", "-ERR bad\r\n", "-ERR bad\r\n"},
        {"int", ":-42\r\n", ":-42\r\n"},
        {"null", "$-1\r\n", "_\r\n"},
        {"nullarray", "*-1\r\n", "_\r\n"},
        {"array", "*2\r\n:1\r\n$1\r\nx\r\n", "*2\r\n:1\r\n$1\r\nx\r\n"},
        {"map", "*2\r\n$1\r\nk\r\n:7\r\n", "%1\r\n$1\r\nk\r\n:7\r\n"},
        {"set", "*1\r\n$1\r\nm\r\n", "~1\r\n$1\r\nm\r\n"},
        {"push", "*1\r\n$1\r\np\r\n", ">1\r\n$1\r\np\r\n"},
        {"double", "$3\r\n1.5\r\n", ",1.5\r\n"},
        {"bool", ":1\r\n", "#t\r\n"},
        {"verbatim", "$3\r\nhey\r\n", "=7\r\ntxt:hey\r\n"},
        {"bignum", "$30\r\n123456789012345678901234567890\r\n",
         "(123456789012345678901234567890\r\n"},
        {"raw", "+raw\r\n", "+raw\r\n"},
    };
    char line[64];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(line, sizeof(line), "TYPES %s", cases[i].kind);
        expect(s2, line, cases[i].resp2);
        expect(s3, line, cases[i].resp3);
    }
    /* Binary-safe bulk, both ways. */
    expect_n(s2, "TYPES bulk", "$3\r\na\0b\r\n", 9);
    const char *argv[] = {"SET", "bin", "x\0y"};
    size_t argvlen[] = {3, 3, 3};
    const char *reply;
    size_t len;
    assert_int_equal(dice_session_call(s2, 3, argv, argvlen, &reply, &len), 0);
    assert_int_equal(len, 5);
    expect_n(s3, "GET bin", "$3\r\nx\0y\r\n", 9);
    /* Built-ins: the keyspace, RESP3 downgrades done by the commands. */
    expect(s2, "SET k v", "+OK\r\n");
    expect(s2, "GET k", "$1\r\nv\r\n");
    expect(s2, "GET nokey", "$-1\r\n");
    expect(s3, "GET nokey", "_\r\n");
    expect(s2, "INCR n", ":1\r\n");
    expect(s3, "INCRBYFLOAT n 0.5", "$3\r\n1.5\r\n");
    expect(s2, "MGET k nokey", "*2\r\n$1\r\nv\r\n$-1\r\n");
    expect(s3, "MGET k nokey", "*2\r\n$1\r\nv\r\n_\r\n");
    expect(s2, "DEL k n bin", ":3\r\n");
    expect(s2, "PING", "+PONG\r\n");
    dice_session_free(s2);
    dice_session_free(s3);
}

static void test_errors(void **state) {
    fixture_t *f = *state;
    dice_session_t *s;
    assert_int_equal(dice_session_new(f->srv, 2, &s), 0);
    expect(s, "NOSUCH a b",
           "-ERR unknown command 'NOSUCH', with args beginning with: 'a' "
           "'b' \r\n");
    expect(s, "GET", "-ERR wrong number of arguments for 'get' command\r\n");
    expect(s, "CLIENT NOSUCH",
           "-ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP.\r\n");
    expect(s, "SET k v", "+OK\r\n");
    expect(s, "INCR k", "-ERR value is not an integer or out of range\r\n");
    /* NOAUTH comes from the same dispatch: a session starts authenticated,
     * RESET makes it a fresh connection, which needs AUTH. */
    assert_int_equal(dice_server_config_set(f->srv, "requirepass", "pw"), 0);
    expect(s, "GET k", "$1\r\nv\r\n");
    expect(s, "RESET", "+RESET\r\n");
    expect(s, "GET k", "-NOAUTH Authentication required.\r\n");
    expect(s, "AUTH pw", "+OK\r\n");
    expect(s, "GET k", "$1\r\nv\r\n");
    /* Bad arguments to the API itself. */
    const char *reply;
    size_t len;
    const char *argv[] = {"PING"};
    size_t argvlen[] = {4};
    assert_int_equal(dice_session_call(s, 0, argv, argvlen, &reply, &len),
                     DICE_EINVAL);
    assert_int_equal(dice_session_call(NULL, 1, argv, argvlen, &reply, &len),
                     DICE_EINVAL);
    dice_session_t *bad = (dice_session_t *)1;
    assert_int_equal(dice_session_new(f->srv, 4, &bad), DICE_EINVAL);
    assert_null(bad);
    assert_int_equal(dice_session_new(NULL, 2, &bad), DICE_EINVAL);
    dice_session_free(NULL);
    dice_session_free(s);
}

static void test_session_state(void **state) {
    fixture_t *f = *state;
    dice_session_t *a, *b;
    assert_int_equal(dice_session_new(f->srv, 2, &a), 0);
    assert_int_equal(dice_session_new(f->srv, 2, &b), 0);
    /* SELECT is per session. */
    expect(a, "SELECT 1", "+OK\r\n");
    assert_int_equal(dice_client_db(dice_session_client(a)), 1);
    assert_int_equal(dice_client_db(dice_session_client(b)), 0);
    expect(a, "SET k one", "+OK\r\n");
    expect(b, "GET k", "$-1\r\n");
    expect(b, "SET k zero", "+OK\r\n");
    expect(a, "GET k", "$3\r\none\r\n");
    expect(b, "SELECT 1", "+OK\r\n");
    expect(b, "GET k", "$3\r\none\r\n");
    /* HELLO 3 switches this session's replies to RESP3, not the other's. */
    const char *reply;
    size_t len;
    assert_int_equal(call_rc(a, "HELLO 3", &reply, &len), 0);
    assert_true(len > 0 && reply[0] == '%');
    assert_int_equal(dice_client_proto(dice_session_client(a)), 3);
    expect(a, "GET nokey", "_\r\n");
    expect(b, "GET nokey", "$-1\r\n");
    /* Names and ids. */
    expect(a, "CLIENT SETNAME alpha", "+OK\r\n");
    expect(a, "CLIENT GETNAME", "$5\r\nalpha\r\n");
    expect(b, "CLIENT GETNAME", "$-1\r\n");
    char want[64];
    snprintf(want, sizeof(want), ":%llu\r\n",
             (unsigned long long)dice_client_id(dice_session_client(b)));
    expect(b, "CLIENT ID", want);
    assert_true(dice_client_id(dice_session_client(a)) !=
                dice_client_id(dice_session_client(b)));
    /* Sessions are not connections. */
    assert_int_equal(call_rc(b, "INFO clients", &reply, &len), 0);
    assert_non_null(strstr(reply, "connected_clients:0\r\n"));
    assert_int_equal(call_rc(b, "INFO stats", &reply, &len), 0);
    assert_non_null(strstr(reply, "total_commands_processed:"));
    /* QUIT answers, then the session is closed. */
    expect(b, "QUIT", "+OK\r\n");
    assert_true(dice_client_is_closed(dice_session_client(b)));
    assert_int_equal(call_rc(b, "PING", &reply, &len), DICE_ECLOSED);
    expect(a, "PING", "+PONG\r\n");
    dice_session_free(a);
    dice_session_free(b);
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

/* Send req on fd and drive the loop until want has arrived. */
static void net_expect(fixture_t *f, int fd, const char *req,
                       const char *want) {
    size_t off = 0, n = strlen(req);
    for (int i = 0; off < n && i < 10000; i++) {
        ssize_t w = write(fd, req + off, n - off);
        if (w > 0)
            off += (size_t)w;
        else
            dice_loop_run_once(f->loop, 1);
    }
    char buf[256] = {0};
    size_t got = 0, wl = strlen(want);
    for (int i = 0; i < 3000 && got < wl; i++) {
        dice_loop_run_once(f->loop, 1);
        ssize_t r = read(fd, buf + got, wl - got);
        if (r > 0)
            got += (size_t)r;
    }
    assert_string_equal(buf, want);
}

static void test_beside_network_client(void **state) {
    fixture_t *f = *state;
    assert_int_equal(dice_server_config_set(f->srv, "port", "0"), 0);
    assert_int_equal(dice_server_config_set(f->srv, "bind", "127.0.0.1"), 0);
    assert_int_equal(dice_server_start(f->srv), 0);
    int fd = connect_to(dice_server_port(f->srv));
    dice_session_t *s;
    assert_int_equal(dice_session_new(f->srv, 2, &s), 0);
    net_expect(f, fd, "SET fromnet 1\r\n", "+OK\r\n");
    expect(s, "GET fromnet", "$1\r\n1\r\n");
    expect(s, "SET fromsession 2", "+OK\r\n");
    net_expect(f, fd, "GET fromsession\r\n", "$1\r\n2\r\n");
    /* The network client sees one connection; the session is not one. */
    net_expect(f, fd, "CLIENT LIST\r\n", "$");
    char list[1024] = {0};
    size_t got = 0;
    for (int i = 0; i < 3000 && !strstr(list, "\n\r\n"); i++) {
        dice_loop_run_once(f->loop, 1);
        ssize_t r = read(fd, list + got, sizeof(list) - 1 - got);
        if (r > 0)
            got += (size_t)r;
    }
    char *first = strstr(list, "id=");
    assert_non_null(first);
    assert_null(strstr(first + 1, "id="));
    const char *reply;
    size_t len;
    assert_int_equal(call_rc(s, "INFO clients", &reply, &len), 0);
    assert_non_null(strstr(reply, "connected_clients:1\r\n"));
    /* A deferred reply in a session, served by the loop that also serves
     * the network client. */
    expect(s, "LATER 10", "+done\r\n");
    net_expect(f, fd, "PING\r\n", "+PONG\r\n");
    close(fd);
    dice_session_free(s);
}

static void test_deferred_top_level(void **state) {
    fixture_t *f = *state;
    dice_session_t *s;
    assert_int_equal(dice_session_new(f->srv, 2, &s), 0);
    /* The call runs the loop until the timer answers. */
    expect(s, "LATER 20", "+done\r\n");
    assert_int_equal(later_fired, 1);
    /* Collecting again gives the same reply. */
    const char *reply;
    size_t len;
    assert_int_equal(dice_session_reply(s, &reply, &len), 0);
    assert_int_equal(len, 7);
    assert_memory_equal(reply, "+done\r\n", 7);
    expect(s, "PING", "+PONG\r\n");
    dice_session_free(s);
}

/* From inside a loop callback the loop cannot run: DICE_EAGAIN, collected
 * later. */
typedef struct {
    dice_session_t *s;
    int rc, rc_busy;
} cb_state_t;

static void call_from_timer(dice_loop_t *loop, uint64_t id, void *arg) {
    (void)loop, (void)id;
    cb_state_t *st = arg;
    const char *reply;
    size_t len;
    st->rc = call_rc(st->s, "LATER 10", &reply, &len);
    st->rc_busy = call_rc(st->s, "PING", &reply, &len);
}

static void test_deferred_in_callback(void **state) {
    fixture_t *f = *state;
    cb_state_t st = {0};
    assert_int_equal(dice_session_new(f->srv, 2, &st.s), 0);
    assert_int_equal(
        dice_loop_timer_add(f->loop, 1, 0, call_from_timer, &st, NULL), 0);
    while (st.rc == 0 && st.rc_busy == 0)
        dice_loop_run_once(f->loop, 100);
    assert_int_equal(st.rc, DICE_EAGAIN);
    assert_int_equal(st.rc_busy, DICE_ESTATE);
    const char *reply;
    size_t len;
    assert_int_equal(dice_session_reply(st.s, &reply, &len), DICE_EAGAIN);
    void *v = NULL;
    assert_int_equal(dice_session_value(st.s, NULL, NULL, NULL, &v),
                     DICE_EAGAIN);
    assert_null(v);
    for (int i = 0; i < 100 && !later_fired; i++)
        dice_loop_run_once(f->loop, 100);
    assert_int_equal(dice_session_reply(st.s, &reply, &len), 0);
    assert_int_equal(len, 7);
    assert_memory_equal(reply, "+done\r\n", 7);
    expect(st.s, "PING", "+PONG\r\n");
    dice_session_free(st.s);
}

static void call_and_free(dice_loop_t *loop, uint64_t id, void *arg) {
    (void)loop, (void)id;
    cb_state_t *st = arg;
    const char *reply;
    size_t len;
    st->rc = call_rc(st->s, "LATER 10", &reply, &len);
    dice_session_free(st->s); /* its reply is still held by the timer */
    st->s = NULL;
}

static void test_free_with_held_reply(void **state) {
    fixture_t *f = *state;
    cb_state_t st = {0};
    assert_int_equal(dice_session_new(f->srv, 2, &st.s), 0);
    assert_int_equal(
        dice_loop_timer_add(f->loop, 1, 0, call_and_free, &st, NULL), 0);
    while (st.s)
        dice_loop_run_once(f->loop, 100);
    assert_int_equal(st.rc, DICE_EAGAIN);
    /* The holder replies into the closed client and releases it, which
     * frees it (ASan reports a leak or a use after free otherwise). */
    for (int i = 0; i < 100 && !later_fired; i++)
        dice_loop_run_once(f->loop, 100);
    assert_int_equal(later_fired, 1);
}

static void test_values(void **state) {
    fixture_t *f = *state;
    dice_session_t *s;
    assert_int_equal(dice_session_new(f->srv, 3, &s), 0);
    const char *argv[] = {"TYPES", "map"};
    size_t argvlen[] = {5, 3};
    void *v = NULL;
    assert_int_equal(
        dice_session_call_value(s, 2, argv, argvlen, NULL, NULL, NULL, &v), 0);
    dice_value_t *m = v;
    assert_int_equal(dice_value_type(m), DICE_RESP_MAP);
    assert_int_equal(dice_value_len(m), 2);
    size_t len;
    assert_string_equal(dice_value_str(dice_value_at(m, 0), &len), "k");
    assert_int_equal(dice_value_int(dice_value_at(m, 1)), 7);
    dice_value_free(v);
    /* Two values written by one handler: the first is the reply. */
    argv[1] = "twice";
    argvlen[1] = 5;
    assert_int_equal(
        dice_session_call_value(s, 2, argv, argvlen, NULL, NULL, NULL, &v), 0);
    assert_int_equal(dice_value_int(v), 1);
    dice_value_free(v);
    /* No reply at all, and half an aggregate. */
    argv[1] = "none";
    argvlen[1] = 4;
    assert_int_equal(
        dice_session_call_value(s, 2, argv, argvlen, NULL, NULL, NULL, &v),
        DICE_ENOENT);
    assert_null(v);
    argv[1] = "half";
    assert_int_equal(
        dice_session_call_value(s, 2, argv, argvlen, NULL, NULL, NULL, &v),
        DICE_EPROTO);
    /* The session goes on. */
    argv[1] = "double";
    argvlen[1] = 6;
    assert_int_equal(
        dice_session_call_value(s, 2, argv, argvlen, NULL, NULL, NULL, &v), 0);
    assert_int_equal(dice_value_type(v), DICE_RESP_DOUBLE);
    assert_true(dice_value_double(v) == 1.5);
    dice_value_free(v);
    dice_session_free(s);
}

/* A host constructor: counts the values, builds nothing but tags. */
typedef struct {
    int created, freed;
    int types[8];
    long long ints[8];
    int fail_at; /* 1-based value to fail on, 0 = never */
} ctor_t;

static void *ctor_create(void *ctx, void *parent, size_t index, int type,
                         const char *str, size_t len, long long integer,
                         double dbl) {
    (void)parent, (void)index, (void)str, (void)len, (void)dbl;
    ctor_t *k = ctx;
    if (k->fail_at && k->created + 1 == k->fail_at)
        return NULL;
    if (k->created < 8) {
        k->types[k->created] = type;
        k->ints[k->created] = integer;
    }
    k->created++;
    return (void *)(intptr_t)k->created;
}

static void ctor_free(void *ctx, void *obj) {
    (void)obj;
    ((ctor_t *)ctx)->freed++;
}

static void test_constructor(void **state) {
    fixture_t *f = *state;
    dice_session_t *s;
    assert_int_equal(dice_session_new(f->srv, 2, &s), 0);
    ctor_t k = {0};
    const char *argv[] = {"TYPES", "array"};
    size_t argvlen[] = {5, 5};
    void *v = NULL;
    assert_int_equal(dice_session_call_value(s, 2, argv, argvlen, ctor_create,
                                             ctor_free, &k, &v),
                     0);
    assert_ptr_equal(v, (void *)(intptr_t)1);
    assert_int_equal(k.created, 3);
    assert_int_equal(k.types[0], DICE_RESP_ARRAY);
    assert_int_equal(k.ints[0], 2);
    assert_int_equal(k.types[1], DICE_RESP_INTEGER);
    assert_int_equal(k.types[2], DICE_RESP_BULK);
    /* A RESP2 session gives RESP2 types: map -> flat array. */
    argv[1] = "map";
    argvlen[1] = 3;
    k.created = 0;
    assert_int_equal(dice_session_call_value(s, 2, argv, argvlen, ctor_create,
                                             ctor_free, &k, &v),
                     0);
    assert_int_equal(k.types[0], DICE_RESP_ARRAY);
    /* A failing constructor: DICE_ENOMEM, the partial tree freed, and the
     * next call works. */
    argv[1] = "array";
    argvlen[1] = 5;
    k.created = k.freed = 0;
    k.fail_at = 2;
    assert_int_equal(dice_session_call_value(s, 2, argv, argvlen, ctor_create,
                                             ctor_free, &k, &v),
                     DICE_ENOMEM);
    assert_null(v);
    assert_int_equal(k.freed, 1);
    k.fail_at = 0;
    k.created = 0;
    assert_int_equal(dice_session_call_value(s, 2, argv, argvlen, ctor_create,
                                             ctor_free, &k, &v),
                     0);
    assert_int_equal(k.created, 3);
    dice_session_free(s);
}

static void test_expiry_without_loop(void **state) {
    fixture_t *f = *state;
    dice_session_t *s;
    assert_int_equal(dice_session_new(f->srv, 2, &s), 0);
    expect(s, "SET k v PX 30", "+OK\r\n");
    expect(s, "GET k", "$1\r\nv\r\n");
    usleep(60 * 1000);
    expect(s, "GET k", "$-1\r\n");
    dice_session_free(s);
}

/* Sessions left open (one with a held reply) are freed by the server. */
static void test_teardown_with_open_sessions(void **state) {
    fixture_t *f = *state;
    dice_session_t *a, *b;
    assert_int_equal(dice_session_new(f->srv, 2, &a), 0);
    assert_int_equal(dice_session_new(f->srv, 3, &b), 0);
    expect(a, "SET k v", "+OK\r\n");
    void *v;
    const char *argv[] = {"GET", "k"};
    size_t argvlen[] = {3, 1};
    assert_int_equal(
        dice_session_call_value(b, 2, argv, argvlen, NULL, NULL, NULL, &v), 0);
    dice_value_free(v);
    cb_state_t st = {.s = b};
    assert_int_equal(
        dice_loop_timer_add(f->loop, 1, 0, call_from_timer, &st, NULL), 0);
    while (st.rc == 0)
        dice_loop_run_once(f->loop, 100);
    assert_int_equal(st.rc, DICE_EAGAIN);
    /* teardown frees the server (and with it a and b) before the LATER
     * timer fires, then the loop, which drops the timer. */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reply_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_beside_network_client, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deferred_top_level, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deferred_in_callback, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_free_with_held_reply, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_constructor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_case, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_without_loop, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_teardown_with_open_sessions, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
