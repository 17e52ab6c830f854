/* dice-server: the Redis-compatible server, as a thin main over libdice.
 *
 *   dice-server [config-file] [--name value ...]
 *
 * Everything it serves comes from the library; this file only turns the
 * command line into settings, wires signals to a clean shutdown, and runs
 * the loop. */
#include <dice/dice.h>

#include "alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *out) {
    fprintf(out, "Usage: dice-server [/path/to/dice.conf] [options]\n"
                 "       dice-server -v or --version\n"
                 "       dice-server -h or --help\n\n"
                 "Options are any configuration setting as --name value, e.g.\n"
                 "       dice-server --port 7379 --bind 127.0.0.1 ::1\n"
                 "       dice-server /etc/dice.conf --loglevel verbose\n\n"
                 "Defaults: bind 127.0.0.1, port 7379, data in memory.\n"
                 "Settings: see the dice-server(1) page or "
                 "docs/configuration.md.\n");
}

typedef struct {
    dice_server_t *srv;
    int sigfd;
    bool signalled; /* a shutdown signal was received */
} app_t;

/* Where "You insist..." goes: the log file (opened in the handler) or
 * stderr, as the other log lines. */
static char insist_path[4096];

/* Append the decimal v to p (async-signal-safe). */
static char *put_num(char *p, long long v) {
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* A second SIGINT while the first one's shutdown is still running: the
 * user wants out now, as redis-server's "You insist..." (exit 1, this was
 * no clean shutdown). Runs as a signal handler: only async-signal-safe
 * calls, and the line in redis-server's from-a-handler format. */
static void handler_log(const char *msg, size_t len) {
    char line[160], *p = line;
    p = put_num(p, (long long)getpid());
    memcpy(p, ":signal-handler (", 17);
    p += 17;
    p = put_num(p, (long long)time(NULL));
    *p++ = ')';
    *p++ = ' ';
    memcpy(p, msg, len);
    p += len;
    int fd = insist_path[0]
                 ? open(insist_path, O_WRONLY | O_APPEND | O_CREAT, 0644)
                 : STDERR_FILENO;
    if (fd >= 0 && write(fd, line, (size_t)(p - line)) < 0)
        fd = -1;
    if (fd >= 0 && fd != STDERR_FILENO)
        close(fd);
}

static void insist_handler(int sig) {
    (void)sig;
    static const char msg[] = "You insist... exiting now.\n";
    handler_log(msg, sizeof(msg) - 1);
    _exit(1);
}

/* SIGTERM or SIGINT, read from the signalfd: shut down as SHUTDOWN with
 * no option does (redis-server schedules it for its next cron tick; the
 * loop has no other work in between, so it runs here). */
static void on_signal(dice_loop_t *loop, int fd, int events, void *arg) {
    (void)events;
    (void)loop;
    app_t *app = arg;
    struct signalfd_siginfo si;
    if (read(fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
        return;
    if (app->signalled && si.ssi_signo == SIGINT)
        insist_handler(SIGINT);
    if (!app->signalled &&
        dice_server_config_get(app->srv, "logfile", insist_path,
                               sizeof(insist_path)) < 0)
        insist_path[0] = '\0';
    /* Not started yet (no port to tell): the dataset is loading, and the
     * shutdown stops the load (redis-server's handler says so). */
    if (dice_server_port(app->srv) == DICE_ESTATE) {
        static const char m[] =
            "Received shutdown signal during loading, scheduling shutdown.\n";
        handler_log(m, sizeof(m) - 1);
    } else {
        char msg[96];
        snprintf(msg, sizeof(msg), "Received %s scheduling shutdown...",
                 si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
        dice_server_log(app->srv, DICE_LOG_WARNING, msg);
    }
    if (!app->signalled) {
        /* From now on a SIGINT is taken at once, whatever the shutdown
         * (a save, freeing a large dataset) is doing. */
        app->signalled = true;
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = insist_handler;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigset_t m;
        sigemptyset(&m);
        sigaddset(&m, SIGINT);
        sigprocmask(SIG_UNBLOCK, &m, NULL);
    }
    /* A failed save keeps the server running, as in redis-server, and
     * the next signal schedules a shutdown again. */
    if (dice_server_request_shutdown(app->srv, 0) < 0) {
        app->signalled = false;
        sigset_t m;
        sigemptyset(&m);
        sigaddset(&m, SIGINT);
        sigprocmask(SIG_BLOCK, &m, NULL);
    }
}

/* Let the process use as many descriptors as it is allowed: the default
 * maxclients is derived from this limit. */
static void raise_fd_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* The last words, as redis-server's, then everything freed (valgrind
 * checks that nothing is left); returns status for main. */
static int leave(app_t *app, dice_loop_t *loop, int status) {
    dice_server_log(app->srv, DICE_LOG_WARNING,
                    "dice-server is now ready to exit, bye bye...");
    if (app->sigfd >= 0) {
        dice_loop_unwatch(loop, app->sigfd);
        close(app->sigfd);
    }
    dice_server_free(app->srv);
    dice_loop_free(loop);
    return status;
}

int main(int argc, char **argv) {
    int i = 1;
    if (argc >= 2 &&
        (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version"))) {
        printf("dice-server v=%s (libdice)\n", dice_version_string());
        return 0;
    }
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        return 0;
    }
    raise_fd_limit();
    signal(SIGPIPE, SIG_IGN);

    dice_loop_t *loop = NULL;
    dice_server_t *srv = NULL;
    int rc = dice_loop_new(&loop);
    if (rc == 0)
        rc = dice_server_new(&srv, loop);
    if (rc < 0) {
        fprintf(stderr, "dice-server: %s\n", dice_strerror(rc));
        return 1;
    }
    /* maxmemory and INFO used_memory count what this program's malloc
     * holds (alloc.c). */
    dice_server_count_memory(srv);
    /* The library saves nothing unless told; the server snapshots as
     * redis-server 7.0 does by default (a file or --save changes it). */
    dice_server_config_set(srv, "save", "3600 1 300 100 60 10000");
    if (i < argc && strncmp(argv[i], "--", 2) != 0) {
        if (dice_server_config_load(srv, argv[i]) < 0) {
            fprintf(stderr, "%s\n", dice_server_config_error(srv));
            return 1;
        }
        i++;
    }
    /* --name v1 [v2 ...]: values run until the next --option, so
     * "--bind 127.0.0.1 ::1" gives two addresses, as in redis-server. */
    while (i < argc) {
        if (strncmp(argv[i], "--", 2) != 0 || !argv[i][2]) {
            fprintf(stderr, "dice-server: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 1;
        }
        const char *name = argv[i] + 2;
        size_t total = 1;
        int j = i + 1;
        for (; j < argc && strncmp(argv[j], "--", 2) != 0; j++)
            total += strlen(argv[j]) + 1;
        char *value = calloc(1, total);
        if (!value)
            return 1;
        for (int k = i + 1; k < j; k++) {
            if (k > i + 1)
                strcat(value, " ");
            strcat(value, argv[k]);
        }
        rc = dice_server_config_set(srv, name, value);
        if (rc < 0) {
            fprintf(stderr,
                    "\n*** FATAL CONFIG FILE ERROR ***\n>>> '%s %s'\n%s\n",
                    name, value, dice_server_config_error(srv));
            free(value);
            return 1;
        }
        free(value);
        i = j;
    }

    rc = dice_command_add_builtins(srv, DICE_BUILTIN_ALL);
    if (rc < 0) {
        fprintf(stderr, "dice-server: %s\n", dice_strerror(rc));
        return 1;
    }

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    app_t app = {srv, signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC), false};
    if (app.sigfd >= 0)
        dice_loop_watch(loop, app.sigfd, DICE_READABLE, on_signal, &app);

    char msg[256];
    snprintf(msg, sizeof(msg), "dice-server version=%s, pid=%d, just started",
             dice_version_string(), (int)getpid());
    dice_server_log(srv, DICE_LOG_NOTICE, msg);
    rc = dice_server_start(srv);
    if (rc == DICE_ECLOSED) {
        /* SHUTDOWN or a signal while the dataset loaded: the load stopped
         * and nothing was saved; exit 0 as redis-server. */
        return leave(&app, loop, 0);
    }
    if (rc == DICE_ELIMIT) {
        /* The open-file limit leaves no room for clients: Redis's text. */
        dice_server_log(srv, DICE_LOG_WARNING, dice_server_config_error(srv));
        return 1;
    }
    if (rc == DICE_EPROTO || rc == DICE_EAGAIN) {
        /* The snapshot could not be loaded (the reason is logged). */
        dice_server_log(srv, DICE_LOG_WARNING,
                        "Fatal error loading the DB. Exiting.");
        return 1;
    }
    if (rc < 0) {
        snprintf(msg, sizeof(msg), "Failed listening: %s",
                 rc == DICE_ESYS ? strerror(errno) : dice_strerror(rc));
        dice_server_log(srv, DICE_LOG_WARNING, msg);
        return 1;
    }
    char port[16];
    dice_server_config_get(srv, "port", port, sizeof(port));
    snprintf(msg, sizeof(msg), "Ready to accept connections tcp (port %s)",
             port);
    dice_server_log(srv, DICE_LOG_NOTICE, msg);
    dice_server_config_get(srv, "tls-port", port, sizeof(port));
    if (strcmp(port, "0") != 0) {
        snprintf(msg, sizeof(msg), "Ready to accept connections tls (port %s)",
                 port);
        dice_server_log(srv, DICE_LOG_NOTICE, msg);
    }

    rc = dice_loop_run(loop);
    return leave(&app, loop, rc < 0 ? 1 : 0);
}
