/* host_loop: a libdice server inside a program that has its own poll()
 * loop (a GUI toolkit, a game loop, another library's event loop...).
 *
 * Instead of handing the thread to dice_loop_run(), the host polls:
 *  - dice_loop_backend_fd(loop): readable when libdice has I/O to handle
 *    (a client sent bytes, a socket became writable, a callback was
 *    posted from another thread);
 *  - its own fds (here a timerfd ticking every 50 ms);
 * with dice_loop_backend_timeout(loop) as the poll timeout, because a due
 * libdice timer does not make the backend fd readable. When the backend fd
 * is readable or that timeout has run out, the host calls
 * dice_loop_run_once(loop, 0), which handles what is ready without
 * blocking and writes the replies before returning.
 *
 * Commands: the built-in connection family (PING, ECHO, ...) and
 *   TICKS   a two-element array: the host's own timerfd ticks, and the ticks
 *           of a libdice timer (every 100 ms); both grow, which shows that
 *           both the host's fds and libdice's timers are served.
 *
 *   host_loop [--port N]     (default 7383; 0 picks a free port)
 *
 * Prints "ready <port>" on stdout once listening; exits 0 on SIGINT or
 * SIGTERM (a signalfd watched on the libdice loop clears `running`). */
#include <dice/dice.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

typedef struct {
    int running;
    long long host_ticks; /* counted by the host's poll loop */
    long long loop_ticks; /* counted by a libdice timer */
} host_t;

/* TICKS */
static void cmd_ticks(dice_client_t *c, int argc, const char *const *argv,
                      const size_t *argvlen, void *arg) {
    (void)argc, (void)argv, (void)argvlen;
    host_t *h = arg;
    dice_reply_array(c, 2);
    dice_reply_int(c, h->host_ticks);
    dice_reply_int(c, h->loop_ticks);
}

static void on_tick(dice_loop_t *loop, uint64_t id, void *arg) {
    (void)loop, (void)id;
    ((host_t *)arg)->loop_ticks++;
}

static void on_signal(dice_loop_t *loop, int fd, int events, void *arg) {
    (void)loop, (void)events;
    struct signalfd_siginfo si;
    if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        ((host_t *)arg)->running = 0; /* the host's loop, not dice_loop_stop */
}

int main(int argc, char **argv) {
    const char *port = "7383";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc) {
            port = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--port N]\n", argv[0]);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);

    host_t host = {1, 0, 0};
    dice_loop_t *loop = NULL;
    dice_server_t *srv = NULL;
    int rc = dice_loop_new(&loop);
    if (rc == 0)
        rc = dice_server_new(&srv, loop);
    if (rc == 0 && (rc = dice_server_config_set(srv, "port", port)) < 0)
        fprintf(stderr, "port: %s\n", dice_server_config_error(srv));
    if (rc == 0)
        rc = dice_command_add_builtins(srv, DICE_BUILTIN_CONNECTION);
    if (rc == 0)
        rc = dice_command_add(srv, "ticks", 1, DICE_CMD_FAST, 0, 0, 0,
                              cmd_ticks, &host, "Host and loop tick counts");
    if (rc == 0)
        rc = dice_loop_timer_add(loop, 100, 100, on_tick, &host, NULL);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct itimerspec every50 = {{0, 50000000L}, {0, 50000000L}};
    if (rc == 0 &&
        (sigfd < 0 || tfd < 0 || timerfd_settime(tfd, 0, &every50, NULL) < 0))
        rc = DICE_ESYS;
    if (rc == 0)
        rc = dice_loop_watch(loop, sigfd, DICE_READABLE, on_signal, &host);
    if (rc == 0)
        rc = dice_server_start(srv);
    if (rc == 0) {
        printf("ready %d\n", dice_server_port(srv));
        fflush(stdout);
    }

    /* The host's loop. */
    while (rc == 0 && host.running) {
        struct pollfd fds[2] = {
            {.fd = dice_loop_backend_fd(loop), .events = POLLIN},
            {.fd = tfd, .events = POLLIN},
        };
        /* -1 (no libdice timer) lets poll wait for an fd alone. */
        int n = poll(fds, 2, dice_loop_backend_timeout(loop));
        if (n < 0 && errno != EINTR) {
            rc = DICE_ESYS;
            break;
        }
        if (n > 0 && (fds[1].revents & POLLIN)) {
            uint64_t expirations;
            if (read(tfd, &expirations, sizeof(expirations)) ==
                (ssize_t)sizeof(expirations))
                host.host_ticks += (long long)expirations;
        }
        /* libdice's turn: its fd is readable, or a timer of its is due
         * (the timeout asked for has run out). */
        if ((n > 0 && (fds[0].revents & POLLIN)) ||
            dice_loop_backend_timeout(loop) == 0) {
            int r = dice_loop_run_once(loop, 0);
            if (r < 0)
                rc = r;
        }
    }
    if (rc < 0)
        fprintf(stderr, "host_loop: %s\n", dice_strerror(rc));

    if (sigfd >= 0) {
        dice_loop_unwatch(loop, sigfd);
        close(sigfd);
    }
    if (tfd >= 0)
        close(tfd);
    dice_server_free(srv);
    dice_loop_free(loop);
    return rc < 0 ? 1 : 0;
}
