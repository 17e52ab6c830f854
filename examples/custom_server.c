/* custom_server: a RESP server whose commands are all your own.
 *
 * A tiny hit-counter service in the spirit of a ~50-line redcon program:
 *
 *   HIT name     add one to the counter `name`, reply its new value
 *   TOP [n]      the n (default 10) largest counters, biggest first, as a
 *                map name -> count (RESP3) or a flat name,count array (RESP2)
 *
 * It shows the minimum a host needs: a loop, a server with no built-in
 * commands, dice_command_add() for each command, dice_reply_*() to answer,
 * and a signalfd on the loop for a clean stop. Any Redis client can talk to
 * it (`redis-cli -p 7380 HIT home`), since the wire protocol is RESP.
 *
 *   custom_server [--port N]     (default 7380; 0 picks a free port)
 *
 * Prints "ready <port>" on stdout once listening; exits 0 on SIGINT or
 * SIGTERM. */
#include <dice/dice.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* The service's state. A plain array searched linearly keeps the example
 * short; a real service would use a hash table. The loop is
 * single-threaded, so handlers need no locking. */
typedef struct {
    char *name;
    size_t len;
    long long count;
} counter_t;

typedef struct {
    counter_t *items;
    size_t n, cap;
} counters_t;

/* HIT name */
static void cmd_hit(dice_client_t *c, int argc, const char *const *argv,
                    const size_t *argvlen, void *arg) {
    (void)argc;
    counters_t *cs = arg;
    for (size_t i = 0; i < cs->n; i++) {
        counter_t *it = &cs->items[i];
        if (it->len == argvlen[1] && !memcmp(it->name, argv[1], it->len)) {
            dice_reply_int(c, ++it->count);
            return;
        }
    }
    /* argv[1] points into the connection's input buffer and is only valid
     * during this call: keep a copy. */
    if (cs->n == cs->cap) {
        size_t cap = cs->cap ? cs->cap * 2 : 16;
        counter_t *items = realloc(cs->items, cap * sizeof(*items));
        if (!items) {
            dice_reply_error(c, "ERR out of memory", 17);
            return;
        }
        cs->items = items;
        cs->cap = cap;
    }
    char *name = malloc(argvlen[1] ? argvlen[1] : 1);
    if (!name) {
        dice_reply_error(c, "ERR out of memory", 17);
        return;
    }
    memcpy(name, argv[1], argvlen[1]);
    cs->items[cs->n++] = (counter_t){name, argvlen[1], 1};
    dice_reply_int(c, 1);
}

static int by_count_desc(const void *a, const void *b) {
    const counter_t *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    size_t n = x->len < y->len ? x->len : y->len;
    int d = memcmp(x->name, y->name, n);
    return d ? d : (x->len > y->len) - (x->len < y->len);
}

/* TOP [n] */
static void cmd_top(dice_client_t *c, int argc, const char *const *argv,
                    const size_t *argvlen, void *arg) {
    counters_t *cs = arg;
    long long want = 10;
    if (argc > 2) {
        dice_reply_error(c, "ERR syntax error", 16);
        return;
    }
    if (argc == 2) {
        /* Arguments are not NUL-terminated: copy before strtoll. */
        char num[32];
        char *end;
        if (argvlen[1] == 0 || argvlen[1] >= sizeof(num))
            want = -1;
        else {
            memcpy(num, argv[1], argvlen[1]);
            num[argvlen[1]] = '\0';
            want = strtoll(num, &end, 10);
            if (*end)
                want = -1;
        }
        if (want < 0) {
            const char *e = "ERR value is not an integer or out of range";
            dice_reply_error(c, e, strlen(e));
            return;
        }
    }
    qsort(cs->items, cs->n, sizeof(*cs->items), by_count_desc);
    size_t n = cs->n < (unsigned long long)want ? cs->n : (size_t)want;
    /* An aggregate header is followed by exactly its elements; the library
     * turns the map into a flat array for RESP2 clients. */
    dice_reply_map(c, n);
    for (size_t i = 0; i < n; i++) {
        dice_reply_bulk(c, cs->items[i].name, cs->items[i].len);
        dice_reply_int(c, cs->items[i].count);
    }
}

static void on_signal(dice_loop_t *loop, int fd, int events, void *arg) {
    (void)events, (void)arg;
    struct signalfd_siginfo si;
    if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        dice_loop_stop(loop); /* dice_loop_run() returns after this pass */
}

int main(int argc, char **argv) {
    const char *port = "7380";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc) {
            port = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--port N]\n", argv[0]);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);

    dice_loop_t *loop = NULL;
    dice_server_t *srv = NULL;
    counters_t counters = {0};
    int rc = dice_loop_new(&loop);
    if (rc == 0)
        rc = dice_server_new(&srv, loop);
    if (rc == 0 && (rc = dice_server_config_set(srv, "port", port)) < 0)
        fprintf(stderr, "port: %s\n", dice_server_config_error(srv));
    /* name, arity (2: exactly "HIT name"; -1: "TOP" and more), flags, key
     * positions (HIT's argument is not a key of a keyspace: 0,0,0), handler,
     * user pointer, and a summary for COMMAND DOCS. */
    if (rc == 0)
        rc = dice_command_add(srv, "hit", 2, DICE_CMD_FAST, 0, 0, 0, cmd_hit,
                              &counters, "Increment a counter");
    if (rc == 0)
        rc = dice_command_add(srv, "top", -1, DICE_CMD_READONLY, 0, 0, 0,
                              cmd_top, &counters, "List the largest counters");

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (rc == 0 && sigfd < 0)
        rc = DICE_ESYS;
    if (rc == 0)
        rc = dice_loop_watch(loop, sigfd, DICE_READABLE, on_signal, NULL);
    if (rc == 0)
        rc = dice_server_start(srv);
    if (rc == 0) {
        printf("ready %d\n", dice_server_port(srv));
        fflush(stdout);
        rc = dice_loop_run(loop);
    }
    if (rc < 0)
        fprintf(stderr, "custom_server: %s\n", dice_strerror(rc));

    if (sigfd >= 0) {
        dice_loop_unwatch(loop, sigfd);
        close(sigfd);
    }
    dice_server_free(srv);
    dice_loop_free(loop);
    for (size_t i = 0; i < counters.n; i++)
        free(counters.items[i].name);
    free(counters.items);
    return rc < 0 ? 1 : 0;
}
