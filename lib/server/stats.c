/* What the dispatcher records about the commands it runs, for the
 * introspection commands (lib/commands/introspect.c, INFO): per-command
 * counters and latency histograms, error counts by code, the slow log,
 * latency events (Redis's latency.c), and the MONITOR feed.
 *
 * The dispatcher (dice__client_call, server.c) reads the command clock
 * (dice__ticks: the TSC, no syscall) around the handler and does only adds
 * and three tests per command; everything here runs when a threshold is
 * passed, an error is replied, or a monitor is attached. */
#include "server/server_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

/* ---- The clock ---------------------------------------------------------- */

static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool ticks_are_ns(void) {
#if defined(__x86_64__) || defined(__i386__) || defined(__aarch64__)
    return false;
#else
    return true;
#endif
}

/* ticks for ns nanoseconds (thresholds), rounded up. */
static uint64_t ns_to_ticks(const dice_server_t *srv, uint64_t ns) {
    double t = (double)ns * (double)(1u << DICE__NS_SHIFT) /
               (double)srv->intro.ns_mult;
    return t >= 1.8e19 ? UINT64_MAX : (uint64_t)t + 1;
}

void dice__intro_init(dice_server_t *srv) {
    dice__intro *in = &srv->intro;
    in->slow_ticks = in->base_slow_ticks = UINT64_MAX;
    in->slow_next_id = 0;
    if (ticks_are_ns()) {
        in->ns_mult = 1u << DICE__NS_SHIFT;
    } else {
        /* A first estimate over 200 us; the cron refines it over the
         * server's lifetime, from the same origin. */
        uint64_t t0 = dice__ticks(), n0 = mono_ns(), n1, t1;
        do {
            n1 = mono_ns();
            t1 = dice__ticks();
        } while (n1 - n0 < 200000);
        in->cal_ticks = t0;
        in->cal_ns = n0;
        in->ns_mult =
            t1 > t0 ? (uint64_t)((double)(n1 - n0) * (1u << DICE__NS_SHIFT) /
                                 (double)(t1 - t0))
                    : 1u << DICE__NS_SHIFT;
        if (in->ns_mult == 0)
            in->ns_mult = 1;
    }
    in->npctl = 3;
    in->pctl[0] = 50;
    in->pctl[1] = 99;
    in->pctl[2] = 99.9;
    dice__intro_apply(srv);
}

void dice__intro_cron(dice_server_t *srv) {
    dice__intro *in = &srv->intro;
    if (ticks_are_ns())
        return;
    uint64_t t = dice__ticks(), n = mono_ns();
    if (t <= in->cal_ticks || n - in->cal_ns < 10000000)
        return;
    uint64_t m = (uint64_t)((double)(n - in->cal_ns) * (1u << DICE__NS_SHIFT) /
                            (double)(t - in->cal_ticks));
    if (m && m != in->ns_mult) {
        in->ns_mult = m;
        dice__intro_apply(srv);
    }
}

/* Parse latency-tracking-info-percentiles ("50 99 99.9"): the count, or
 * -1 when a value is not a number in [0, 100]. */
static int parse_pctl(const char *s, double *out, int max) {
    int n = 0;
    while (s && *s) {
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        char *end;
        double d = strtod(s, &end);
        if (end == s || (*end && *end != ' ') || d < 0 || d > 100 || n == max)
            return -1;
        out[n++] = d;
        s = end;
    }
    return n;
}

int dice__intro_check_pctl(const char *text) {
    double d[16];
    return parse_pctl(text, d, 16) < 0 ? DICE_EINVAL : 0;
}

static void slowlog_trim(dice_server_t *srv);

void dice__intro_apply(dice_server_t *srv) {
    dice__intro *in = &srv->intro;
    const dice_settings_t *cfg = &srv->cfg;
    uint64_t t = UINT64_MAX;
    if (cfg->slowlog_slower_than >= 0)
        t = ns_to_ticks(srv, (uint64_t)cfg->slowlog_slower_than * 1000);
    if (cfg->latency_threshold > 0) {
        uint64_t l =
            ns_to_ticks(srv, (uint64_t)cfg->latency_threshold * 1000000);
        if (l < t)
            t = l;
    }
    /* slowlog-log-slower-than 0 logs every command. */
    if (cfg->slowlog_slower_than == 0)
        t = 0;
    in->base_slow_ticks = t;
    in->slice_ticks = ns_to_ticks(srv, DICE__INPUT_SLICE_NS);
    dice__intro_errors_seen(srv);
    if (cfg->latency_pctl) {
        double d[16];
        int n = parse_pctl(cfg->latency_pctl, d, 16);
        if (n >= 0) {
            memcpy(in->pctl, d, sizeof(d[0]) * (size_t)n);
            in->npctl = n;
        }
    }
    slowlog_trim(srv);
    /* latency-tracking off: the histograms go and the commands write into
     * the sink. On: every client resolves its next command afresh (the
     * table's generation moves), which gives each one its histogram. */
    dice_cmdtable_t *tb = &srv->commands;
    if (!cfg->latency_tracking) {
        for (size_t i = 0; i < tb->cap; i++) {
            dice_command_t *cmd = tb->slots[i];
            for (size_t j = 0; cmd && j <= cmd->nsubs; j++) {
                dice_command_t *x = j < cmd->nsubs ? cmd->subs[j] : cmd;
                if (x->hist_own)
                    free(x->hist);
                x->hist_own = false;
                if (x->hist)
                    x->hist = in->sink;
            }
        }
    } else {
        tb->gen++;
    }
}

void dice__intro_attach_hist(dice_server_t *srv, dice_command_t *cmd) {
    if (cmd->hist_own)
        return;
    uint64_t *h = NULL;
    if (srv->cfg.latency_tracking)
        h = calloc(DICE__HIST_BUCKETS, sizeof(uint64_t));
    cmd->hist = h ? h : srv->intro.sink;
    cmd->hist_own = h != NULL;
}

void dice__intro_detach_hists(dice_server_t *srv) {
    dice_cmdtable_t *tb = &srv->commands;
    for (size_t i = 0; i < tb->cap; i++) {
        dice_command_t *cmd = tb->slots[i];
        for (size_t j = 0; cmd && j <= cmd->nsubs; j++) {
            dice_command_t *x = j < cmd->nsubs ? cmd->subs[j] : cmd;
            if (!x->hist_own)
                x->hist = NULL;
        }
    }
    for (dice_command_t *r = tb->retired; r; r = r->next_retired)
        for (size_t j = 0; j <= r->nsubs; j++) {
            dice_command_t *x = j < r->nsubs ? r->subs[j] : r;
            if (!x->hist_own)
                x->hist = NULL;
        }
}

/* Bucket i covers [lo, lo + width): for i below 2 << SUB one value each;
 * then powers of two split in 1 << SUB. */
uint64_t dice__hist_bucket_top(unsigned i) {
    const unsigned sub = 1u << DICE__HIST_SUB;
    if (i < 2 * sub)
        return i; /* (values below 1 << SUB share bucket 1 << SUB) */
    unsigned m = i / sub + DICE__HIST_SUB - 1; /* the power of two */
    uint64_t mant = i % sub + sub;             /* 8..15 */
    uint64_t lo = mant << (m - DICE__HIST_SUB);
    return lo + (1ull << (m - DICE__HIST_SUB)) - 1;
}

uint64_t dice__hist_percentile(const uint64_t *hist, uint64_t n, double pct) {
    uint64_t want = (uint64_t)((pct / 100.0) * (double)n + 0.5);
    if (want == 0)
        want = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < DICE__HIST_BUCKETS; i++) {
        seen += hist[i];
        if (seen >= want)
            return dice__hist_bucket_top(i);
    }
    return dice__hist_bucket_top(DICE__HIST_BUCKETS - 1);
}

/* Redis prints a percentile with %f and trims trailing zeros. */
void dice__format_pctl(char *out, size_t size, double pct) {
    int n = snprintf(out, size, "%f", pct);
    if (n <= 0 || (size_t)n >= size)
        return;
    while (n > 0 && out[n - 1] == '0')
        out[--n] = '\0';
    if (n > 0 && out[n - 1] == '.')
        out[--n] = '\0';
}

/* ---- Errors ------------------------------------------------------------- */

/* Redis's afterErrorReply: the code is the first word when a space comes
 * within 32 bytes, else ERR; at most 128 codes are tracked. */
void dice__intro_errors_seen(dice_server_t *srv) {
    dice__intro *in = &srv->intro;
    in->err_seen = in->error_replies;
    in->slow_ticks = in->nmonitors ? 0 : in->base_slow_ticks;
}

void dice__intro_error(dice_server_t *srv, const char *msg, size_t len) {
    dice__intro *in = &srv->intro;
    in->error_replies++;
    in->slow_ticks = 0; /* the running command failed: see intro_after */
    if (len && msg[0] == '-') {
        msg++;
        len--;
    }
    const char *sp = memchr(msg, ' ', len < 32 ? len : 32);
    size_t n = sp ? (size_t)(sp - msg) : 3;
    if (!sp || n == 0)
        msg = "ERR";
    if (!sp || n == 0)
        n = 3;
    if (n >= sizeof(in->errs[0].code))
        n = sizeof(in->errs[0].code) - 1;
    for (size_t i = 0; i < in->nerrs; i++)
        if (strlen(in->errs[i].code) == n &&
            !memcmp(in->errs[i].code, msg, n)) {
            in->errs[i].count++;
            return;
        }
    if (in->nerrs == DICE__ERRSTATS_MAX) {
        if (!in->errs_full_logged)
            dice__logf(srv, DICE_LOG_WARNING,
                       "Errorstats stopped adding new errors because the "
                       "number of different errors reached %d; new errors "
                       "will only be counted in total_error_replies",
                       DICE__ERRSTATS_MAX);
        in->errs_full_logged = true;
        return;
    }
    if (!in->errs &&
        !(in->errs = calloc(DICE__ERRSTATS_MAX, sizeof(*in->errs))))
        return;
    memcpy(in->errs[in->nerrs].code, msg, n);
    in->errs[in->nerrs].code[n] = '\0';
    in->errs[in->nerrs++].count = 1;
}

/* ---- Redaction ---------------------------------------------------------- */

static bool eqci(const char *a, size_t alen, const char *b) {
    return strlen(b) == alen && strncasecmp(a, b, alen) == 0;
}

bool dice__arg_redacted(const dice_command_t *cmd, int argc,
                        const char *const *argv, const size_t *argvlen, int i) {
    if (i < 1)
        return false;
    if (!strcmp(cmd->fullname, "auth"))
        return true;
    if (strcmp(cmd->fullname, "hello") != 0)
        return false;
    /* HELLO [protover [AUTH username password] [SETNAME clientname]] */
    for (int j = 2; j < argc;) {
        if (eqci(argv[j], argvlen[j], "auth") && j + 2 < argc) {
            if (i == j + 1 || i == j + 2)
                return true;
            j += 3;
        } else if (eqci(argv[j], argvlen[j], "setname") && j + 1 < argc) {
            j += 2;
        } else {
            break;
        }
    }
    return false;
}

/* ---- Slow log ----------------------------------------------------------- */

#define SLOWLOG_MAX_ARGC 32
#define SLOWLOG_MAX_STRING 128

static void entry_free(dice__slowlog_entry *e) {
    if (!e)
        return;
    for (int i = 0; i < e->argc; i++)
        free(e->argv[i]);
    free(e->argv);
    free(e->argvlen);
    free(e->peer);
    free(e->name);
    free(e);
}

static void slowlog_trim(dice_server_t *srv) {
    dice__intro *in = &srv->intro;
    size_t max =
        srv->cfg.slowlog_max_len > 0 ? (size_t)srv->cfg.slowlog_max_len : 0;
    while (in->nslow > max)
        entry_free(in->slow[--in->nslow]);
}

void dice__slowlog_reset(dice_server_t *srv) {
    dice__intro *in = &srv->intro;
    while (in->nslow)
        entry_free(in->slow[--in->nslow]);
}

static char *dup_bytes(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* Redis's slowlogCreateEntry: at most 32 arguments (the last one saying
 * how many more there were), strings cut at 128 bytes. */
static dice__slowlog_entry *entry_new(dice_client_t *c,
                                      const dice_command_t *cmd, int argc,
                                      const char *const *argv,
                                      const size_t *argvlen, uint64_t usec) {
    dice__slowlog_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    int n = argc < SLOWLOG_MAX_ARGC ? argc : SLOWLOG_MAX_ARGC;
    e->argv = calloc((size_t)n, sizeof(char *));
    e->argvlen = calloc((size_t)n, sizeof(size_t));
    if (!e->argv || !e->argvlen) {
        entry_free(e);
        return NULL;
    }
    for (int j = 0; j < n; j++) {
        char buf[SLOWLOG_MAX_STRING + 64];
        const char *s = argv[j];
        size_t len = argvlen[j];
        if (n != argc && j == n - 1) {
            len = (size_t)snprintf(buf, sizeof(buf), "... (%d more arguments)",
                                   argc - n + 1);
            s = buf;
        } else if (dice__arg_redacted(cmd, argc, argv, argvlen, j)) {
            s = "(redacted)";
            len = 10;
        } else if (len > SLOWLOG_MAX_STRING) {
            memcpy(buf, s, SLOWLOG_MAX_STRING);
            len = SLOWLOG_MAX_STRING +
                  (size_t)snprintf(buf + SLOWLOG_MAX_STRING,
                                   sizeof(buf) - SLOWLOG_MAX_STRING,
                                   "... (%zu more bytes)",
                                   argvlen[j] - SLOWLOG_MAX_STRING);
            s = buf;
        }
        if (!(e->argv[j] = dup_bytes(s, len))) {
            e->argc = j;
            entry_free(e);
            return NULL;
        }
        e->argvlen[j] = len;
        e->argc = j + 1;
    }
    e->id = c->srv->intro.slow_next_id++;
    e->time = dice_loop_unix_ms(c->srv->loop) / 1000;
    e->usec = usec;
    e->peer = strdup(c->addr);
    e->name = strdup(c->name ? c->name : "");
    if (!e->peer || !e->name) {
        entry_free(e);
        return NULL;
    }
    return e;
}

static void slowlog_push(dice_client_t *c, const dice_command_t *cmd, int argc,
                         const char *const *argv, const size_t *argvlen,
                         uint64_t usec) {
    dice_server_t *srv = c->srv;
    dice__intro *in = &srv->intro;
    size_t max = (size_t)srv->cfg.slowlog_max_len;
    if (max == 0)
        return;
    dice__slowlog_entry *e = entry_new(c, cmd, argc, argv, argvlen, usec);
    if (!e)
        return;
    if (!in->slow) {
        in->slow = calloc(128, sizeof(*in->slow));
        if (!in->slow) {
            entry_free(e);
            return;
        }
        in->slow_cap = 128;
    }
    if (in->nslow == in->slow_cap && in->nslow < max) {
        size_t nc = in->slow_cap * 2 < max ? in->slow_cap * 2 : max;
        dice__slowlog_entry **ns = realloc(in->slow, nc * sizeof(*ns));
        if (ns) {
            in->slow = ns;
            in->slow_cap = nc;
        }
    }
    if (in->nslow == in->slow_cap || in->nslow == max)
        entry_free(in->slow[--in->nslow]);
    memmove(in->slow + 1, in->slow, in->nslow * sizeof(*in->slow));
    in->slow[0] = e;
    in->nslow++;
}

static void monitor_feed(dice_client_t *c, const dice_command_t *cmd, int argc,
                         const char *const *argv, const size_t *argvlen);

void dice__intro_after(dice_client_t *c, dice_command_t *cmd, uint64_t dt,
                       int argc, const char *const *argv,
                       const size_t *argvlen) {
    dice_server_t *srv = c->srv;
    dice__intro *in = &srv->intro;
    if (in->error_replies != in->err_seen)
        cmd->failed_calls++;
    dice__intro_errors_seen(srv);
    if (dt >= in->base_slow_ticks) {
        uint64_t usec = dice__ticks_to_ns(srv, dt) / 1000;
        long long lt = srv->cfg.slowlog_slower_than;
        if (lt >= 0 && usec >= (uint64_t)lt &&
            !(cmd->flags & DICE_CMD_SKIP_SLOWLOG))
            slowlog_push(c, cmd, argc, argv, argvlen, usec);
        if (!(c->flags & CLIENT_BLOCKED))
            dice__latency_add(
                srv, (cmd->flags & DICE_CMD_FAST) ? "fast-command" : "command",
                usec / 1000);
    }
    if (in->nmonitors)
        monitor_feed(c, cmd, argc, argv, argvlen);
}

/* ---- Latency events ----------------------------------------------------- */

void dice__latency_add(dice_server_t *srv, const char *event, uint64_t ms) {
    long long th = srv->cfg.latency_threshold;
    if (th <= 0 || ms < (uint64_t)th)
        return;
    dice__intro *in = &srv->intro;
    dice__lat_event *ev = NULL;
    for (size_t i = 0; i < in->nevents; i++)
        if (!strcmp(in->events[i].name, event))
            ev = &in->events[i];
    if (!ev) {
        dice__lat_event *ne =
            realloc(in->events, (in->nevents + 1) * sizeof(*ne));
        if (!ne)
            return;
        in->events = ne;
        ev = &ne[in->nevents++];
        memset(ev, 0, sizeof(*ev));
        snprintf(ev->name, sizeof(ev->name), "%s", event);
    }
    uint32_t v = ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
    int32_t now = (int32_t)(dice_loop_unix_ms(srv->loop) / 1000);
    if (v > ev->max)
        ev->max = v;
    unsigned prev = (ev->idx + DICE__LAT_SAMPLES - 1) % DICE__LAT_SAMPLES;
    if (ev->samples[prev].time == now) {
        if (v > ev->samples[prev].ms)
            ev->samples[prev].ms = v;
        return;
    }
    ev->samples[ev->idx].time = now;
    ev->samples[ev->idx].ms = v;
    ev->idx = (ev->idx + 1) % DICE__LAT_SAMPLES;
}

/* ---- MONITOR ------------------------------------------------------------ */

int dice__monitor_add(dice_client_t *c) {
    dice__intro *in = &c->srv->intro;
    if (c->flags & CLIENT_MONITOR)
        return 0;
    if (in->nmonitors == in->monitors_cap) {
        size_t nc = in->monitors_cap ? in->monitors_cap * 2 : 4;
        dice_client_t **nm = realloc(in->monitors, nc * sizeof(*nm));
        if (!nm)
            return DICE_ENOMEM;
        in->monitors = nm;
        in->monitors_cap = nc;
    }
    in->monitors[in->nmonitors++] = c;
    c->flags |= CLIENT_MONITOR;
    dice__intro_errors_seen(c->srv); /* slow_ticks 0: every command fed */
    return 0;
}

void dice__monitor_remove(dice_client_t *c) {
    dice__intro *in = &c->srv->intro;
    for (size_t i = 0; i < in->nmonitors; i++)
        if (in->monitors[i] == c) {
            in->monitors[i] = in->monitors[--in->nmonitors];
            break;
        }
    c->flags &= ~CLIENT_MONITOR;
    if (in->error_replies == in->err_seen)
        in->slow_ticks = in->nmonitors ? 0 : in->base_slow_ticks;
}

/* Redis's sdscatrepr: quoted, with \\ \" \n \r \t \a \b escaped and other
 * unprintable bytes as \xHH. */
void dice__buf_catrepr(dice_buf_t *b, const char *s, size_t len) {
    char tmp[4 * 64 + 2];
    size_t n = 0;
    tmp[n++] = '"';
    for (size_t i = 0; i < len; i++) {
        if (n > sizeof(tmp) - 6) {
            dice_buf_append(b, tmp, n);
            n = 0;
        }
        unsigned char ch = (unsigned char)s[i];
        switch (ch) {
        case '\\':
            tmp[n++] = '\\';
            tmp[n++] = '\\';
            break;
        case '"':
            tmp[n++] = '\\';
            tmp[n++] = '"';
            break;
        case '\n':
            tmp[n++] = '\\';
            tmp[n++] = 'n';
            break;
        case '\r':
            tmp[n++] = '\\';
            tmp[n++] = 'r';
            break;
        case '\t':
            tmp[n++] = '\\';
            tmp[n++] = 't';
            break;
        case '\a':
            tmp[n++] = '\\';
            tmp[n++] = 'a';
            break;
        case '\b':
            tmp[n++] = '\\';
            tmp[n++] = 'b';
            break;
        default:
            if (ch >= 0x20 && ch < 0x7f) {
                tmp[n++] = (char)ch;
            } else {
                tmp[n++] = '\\';
                tmp[n++] = 'x';
                tmp[n++] = "0123456789abcdef"[ch >> 4];
                tmp[n++] = "0123456789abcdef"[ch & 15];
            }
        }
    }
    tmp[n++] = '"';
    dice_buf_append(b, tmp, n);
}

/* Redis's replicationFeedMonitors: one line per command run, after it
 * ran (EXEC's queued commands come before EXEC), except administrative
 * and skip-monitor commands. */
static void monitor_line(dice_client_t *c, const dice_command_t *cmd, int argc,
                         const char *const *argv, const size_t *argvlen);

static void monitor_feed(dice_client_t *c, const dice_command_t *cmd, int argc,
                         const char *const *argv, const size_t *argvlen) {
    if (cmd->flags & (DICE_CMD_ADMIN | DICE_CMD_SKIP_MONITOR))
        return;
    monitor_line(c, cmd, argc, argv, argvlen);
}

/* The line itself; cmd (NULL for none) says which arguments are
 * redacted. */
static void monitor_line(dice_client_t *c, const dice_command_t *cmd, int argc,
                         const char *const *argv, const size_t *argvlen) {
    dice__intro *in = &c->srv->intro;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    dice_buf_t b;
    dice__buf_init(&b);
    /* A unix-socket peer is shown by the socket's path (its addr without
     * the ":0" that CLIENT LIST shows), as Redis's "unix:<unixsocket>". */
    const char *who = c->flags & CLIENT_SESSION ? "lua" : c->addr;
    int wlen = (int)strlen(who);
    bool unix_peer = (c->flags & (CLIENT_UNIX | CLIENT_SESSION)) == CLIENT_UNIX;
    if (unix_peer && wlen >= 2 && !strcmp(who + wlen - 2, ":0"))
        wlen -= 2;
    dice__buf_printf(&b, "+%ld.%06ld [%d %s%.*s]", (long)tv.tv_sec,
                     (long)tv.tv_usec, c->db, unix_peer ? "unix:" : "", wlen,
                     who);
    for (int i = 0; i < argc; i++) {
        dice_buf_append(&b, " ", 1);
        if (cmd && dice__arg_redacted(cmd, argc, argv, argvlen, i))
            dice__buf_catrepr(&b, "(redacted)", 10);
        else
            dice__buf_catrepr(&b, argv[i], argvlen[i]);
    }
    dice_buf_append(&b, "\r\n", 2);
    if (b.data)
        for (size_t i = 0; i < in->nmonitors; i++)
            dice_reply_raw(in->monitors[i], b.data, b.len);
    dice__buf_release(&b);
}

void dice__monitor_feed_now(dice_client_t *c, int argc, const char *const *argv,
                            const size_t *argvlen) {
    if (c->srv->intro.nmonitors)
        monitor_line(c, NULL, argc, argv, argvlen);
}

/* ---- Reset and free ----------------------------------------------------- */

void dice__intro_resetstat(dice_server_t *srv) {
    dice__intro *in = &srv->intro;
    in->nerrs = 0;
    in->errs_full_logged = false;
    in->error_replies = in->err_seen = 0;
    dice__intro_errors_seen(srv);
    const dice_cmdtable_t *t = &srv->commands;
    for (size_t i = 0; i < t->cap; i++) {
        dice_command_t *cmd = t->slots[i];
        if (!cmd)
            continue;
        for (size_t j = 0; j <= cmd->nsubs; j++) {
            dice_command_t *x = j < cmd->nsubs ? cmd->subs[j] : cmd;
            x->calls = x->ticks = x->rejected_calls = x->failed_calls = 0;
            if (x->hist_own)
                memset(x->hist, 0, DICE__HIST_BUCKETS * sizeof(uint64_t));
        }
    }
}

void dice__intro_free(dice_server_t *srv) {
    dice__intro *in = &srv->intro;
    dice__slowlog_reset(srv);
    free(in->slow);
    free(in->events);
    free(in->errs);
    free(in->monitors);
    memset(in, 0, sizeof(*in));
}
