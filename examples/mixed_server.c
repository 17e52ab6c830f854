/* mixed_server: the built-in Redis commands plus your own, sharing one
 * keyspace.
 *
 * dice_command_add_builtins(srv, DICE_BUILTIN_ALL) brings the connection,
 * server and keyspace families (PING, SELECT, CONFIG, GET, SET, INCR,
 * EXPIRE, ...). Two host commands work on the same data through dice/db.h:
 *
 *   GETORSET key default   the string at key; if the key is missing, store
 *                          default there first (like a cache fill)
 *   SUMKEYS key [key ...]  sum of the integers stored at the keys (missing
 *                          keys count as 0)
 *
 * so `SET a 5`, `INCR b`, `SUMKEYS a b` gives 6. A host command reaches the
 * keyspace with dice_server_keyspace() and the client's database with
 * dice_client_db() (so SELECT applies to it too).
 *
 *   mixed_server [--port N]     (default 7381; 0 picks a free port)
 *
 * Prints "ready <port>" on stdout once listening; exits 0 on SIGINT or
 * SIGTERM. */
#include <dice/dice.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define WRONGTYPE_ERR                                                          \
    "WRONGTYPE Operation against a key holding the wrong kind of value"
#define NOTINT_ERR "ERR value is not an integer or out of range"

static void reply_err(dice_client_t *c, const char *msg) {
    dice_reply_error(c, msg, strlen(msg));
}

/* The database the client has SELECTed. The keyspace decides expiry by the
 * time it was last given, not by reading the clock, so a host command sets
 * it first, as the built-in commands do. */
static dice_db_t *client_db(dice_client_t *c) {
    dice_server_t *srv = dice_client_server(c);
    dice_keyspace_t *ks = dice_server_keyspace(srv);
    dice_keyspace_set_now(ks, dice_loop_unix_ms(dice_server_loop(srv)));
    return dice_keyspace_db(ks, dice_client_db(c));
}

/* GETORSET key default */
static void cmd_getorset(dice_client_t *c, int argc, const char *const *argv,
                         const size_t *argvlen, void *arg) {
    (void)argc, (void)arg;
    dice_db_t *db = client_db(c);
    char numbuf[DICE_DB_NUMBUF]; /* integer values are formatted here */
    const char *val;
    size_t vlen;
    int rc = dice_db_get(db, argv[1], argvlen[1], numbuf, &val, &vlen);
    if (rc == 0) {
        dice_reply_bulk(c, val, vlen);
        return;
    }
    if (rc == DICE_EWRONGTYPE) {
        reply_err(c, WRONGTYPE_ERR);
        return;
    }
    /* Missing: store the default (copied by the keyspace), no TTL. */
    rc = dice_db_set(db, argv[1], argvlen[1], argv[2], argvlen[2], 0, 0);
    if (rc < 0) {
        reply_err(c, "ERR out of memory");
        return;
    }
    dice_reply_bulk(c, argv[2], argvlen[2]);
}

/* SUMKEYS key [key ...] */
static void cmd_sumkeys(dice_client_t *c, int argc, const char *const *argv,
                        const size_t *argvlen, void *arg) {
    (void)arg;
    dice_db_t *db = client_db(c);
    long long sum = 0;
    for (int i = 1; i < argc; i++) {
        char numbuf[DICE_DB_NUMBUF];
        const char *val;
        size_t vlen;
        long long v;
        int rc = dice_db_get(db, argv[i], argvlen[i], numbuf, &val, &vlen);
        if (rc == DICE_ENOENT)
            continue;
        if (rc == DICE_EWRONGTYPE) {
            reply_err(c, WRONGTYPE_ERR);
            return;
        }
        if (!dice_db_parse_ll(val, vlen, &v) ||
            __builtin_add_overflow(sum, v, &sum)) {
            reply_err(c, NOTINT_ERR);
            return;
        }
    }
    dice_reply_int(c, sum);
}

static void on_signal(dice_loop_t *loop, int fd, int events, void *arg) {
    (void)events, (void)arg;
    struct signalfd_siginfo si;
    if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        dice_loop_stop(loop);
}

int main(int argc, char **argv) {
    const char *port = "7381";
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
    int rc = dice_loop_new(&loop);
    if (rc == 0)
        rc = dice_server_new(&srv, loop);
    if (rc == 0 && (rc = dice_server_config_set(srv, "port", port)) < 0)
        fprintf(stderr, "port: %s\n", dice_server_config_error(srv));
    /* Built-ins first: they create the keyspace our commands use. */
    if (rc == 0)
        rc = dice_command_add_builtins(srv, DICE_BUILTIN_ALL);
    /* Key positions (first, last, step) let COMMAND GETKEYS and clients
     * that route by key see which arguments are keys. */
    if (rc == 0)
        rc = dice_command_add(
            srv, "getorset", 3, DICE_CMD_WRITE | DICE_CMD_DENYOOM, 1, 1, 1,
            cmd_getorset, NULL, "Get a string, storing a default if missing");
    if (rc == 0)
        rc = dice_command_add(srv, "sumkeys", -2, DICE_CMD_READONLY, 1, -1, 1,
                              cmd_sumkeys, NULL,
                              "Sum the integers stored at the keys");

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
        fprintf(stderr, "mixed_server: %s\n", dice_strerror(rc));

    if (sigfd >= 0) {
        dice_loop_unwatch(loop, sigfd);
        close(sigfd);
    }
    dice_server_free(srv);
    dice_loop_free(loop);
    return rc < 0 ? 1 : 0;
}
