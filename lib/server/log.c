/* Logging in redis-server's line format:
 *   pid:M 26 Nov 2026 22:13:21.123 * message
 * where the mark is '.' debug, '-' verbose, '*' notice, '#' warning. */
#include "server/server_internal.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static void default_sink(dice_server_t *srv, int level, const char *msg) {
    static const char marks[] = ".-*#";
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char when[64];
    size_t off = strftime(when, sizeof(when), "%d %b %Y %H:%M:%S.", &tm);
    snprintf(when + off, sizeof(when) - off, "%03d", (int)(tv.tv_usec / 1000));
    FILE *out = stderr;
    FILE *f = NULL;
    if (srv->cfg.logfile && srv->cfg.logfile[0]) {
        f = fopen(srv->cfg.logfile, "a");
        if (f)
            out = f;
    }
    fprintf(out, "%d:M %s %c %s\n", (int)getpid(), when, marks[level & 3], msg);
    if (f)
        fclose(f);
    else
        fflush(out);
}

void dice_server_set_logger(dice_server_t *srv, dice_log_fn fn, void *arg) {
    srv->log_fn = fn;
    srv->log_arg = arg;
}

void dice_server_log(dice_server_t *srv, int level, const char *msg) {
    if (level < srv->cfg.loglevel)
        return;
    if (srv->log_fn)
        srv->log_fn(srv->log_arg, level, msg);
    else
        default_sink(srv, level, msg);
}

void dice__logf(dice_server_t *srv, int level, const char *fmt, ...) {
    if (level < srv->cfg.loglevel)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    dice_server_log(srv, level, msg);
}
