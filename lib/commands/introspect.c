/* The introspection family: SLOWLOG, LATENCY, MONITOR, and MEMORY's
 * STATS, DOCTOR, MALLOC-STATS and PURGE, as Redis 7.0's slowlog.c,
 * latency.c, replication.c (MONITOR) and object.c (MEMORY) answer them.
 * What they read is recorded by the dispatcher (lib/server/stats.c). */
#include "commands/commands_internal.h"
#include "server/evict.h"

#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- API ---------------------------------------------------------------- */

static unsigned long long rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%llu %llu", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (unsigned long long)sysconf(_SC_PAGESIZE);
}

static const dice__lat_event *find_event(dice_server_t *srv, const char *name,
                                         size_t len) {
    for (size_t i = 0; i < srv->intro.nevents; i++)
        if (strlen(srv->intro.events[i].name) == len &&
            !strncasecmp(srv->intro.events[i].name, name, len))
            return &srv->intro.events[i];
    return NULL;
}

/* Redis's analyzeLatencyForEvent. */
typedef struct {
    unsigned long long avg, mad, min, max, samples;
    long long period;
} lat_stats;

static lat_stats analyze(dice_server_t *srv, const dice__lat_event *ev) {
    lat_stats ls = {0, 0, 0, 0, 0, 0};
    unsigned long long sum = 0;
    int32_t oldest = 0;
    for (int j = 0; j < DICE__LAT_SAMPLES; j++) {
        if (!ev->samples[j].time)
            continue;
        unsigned long long v = ev->samples[j].ms;
        if (ls.samples++ == 0 || v < ls.min)
            ls.min = v;
        if (v > ls.max)
            ls.max = v;
        sum += v;
        if (!oldest || ev->samples[j].time < oldest)
            oldest = ev->samples[j].time;
    }
    if (ls.samples) {
        ls.avg = sum / ls.samples;
        ls.period = dice_loop_unix_ms(srv->loop) / 1000 - oldest;
        if (ls.period == 0)
            ls.period = 1;
    }
    sum = 0;
    for (int j = 0; j < DICE__LAT_SAMPLES; j++) {
        if (!ev->samples[j].time)
            continue;
        long long d = (long long)ls.avg - (long long)ev->samples[j].ms;
        sum += (unsigned long long)(d < 0 ? -d : d);
    }
    if (ls.samples)
        ls.mad = sum / ls.samples;
    return ls;
}

/* ---- SLOWLOG ------------------------------------------------------------ */

static void reply_slow_entry(dice_client_t *c, const dice__slowlog_entry *e) {
    dice_reply_array(c, 6);
    dice_reply_int(c, (long long)e->id);
    dice_reply_int(c, (long long)e->time);
    dice_reply_int(c, (long long)e->usec);
    dice_reply_array(c, (size_t)e->argc);
    for (int i = 0; i < e->argc; i++)
        dice_reply_bulk(c, e->argv[i], e->argvlen[i]);
    dice_reply_cstr(c, e->peer);
    dice_reply_cstr(c, e->name);
}

/* SLOWLOG GET [count] */
static DICE__CMD_FN(cmd_slowlog_get) {
    dice__intro *in = &c->srv->intro;
    long long count = 10;
    if (argc == 3 &&
        (!dice__str2ll(argv[2], argvlen[2], &count) || count < -1)) {
        dice__reply_errstr(c,
                           "ERR count should be greater than or equal to -1");
        return;
    }
    if (argc > 3) {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return;
    }
    size_t n = count < 0 || (unsigned long long)count > in->nslow
                   ? in->nslow
                   : (size_t)count;
    dice_reply_array(c, n);
    for (size_t i = 0; i < n; i++)
        reply_slow_entry(c, in->slow[i]);
}

/* SLOWLOG LEN */
static DICE__CMD_FN(cmd_slowlog_len) {
    dice_reply_int(c, (long long)c->srv->intro.nslow);
}

/* SLOWLOG RESET */
static DICE__CMD_FN(cmd_slowlog_reset) {
    dice__slowlog_reset(c->srv);
    dice_reply_ok(c);
}

static const char *const slowlog_help[] = {
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean "
    "all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and "
    "port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
    "HELP",
    "    Prints this help.",
};

/* SLOWLOG HELP */
static DICE__CMD_FN(cmd_slowlog_help) {
    dice__reply_help(c, slowlog_help, DICE__COUNT(slowlog_help));
}

/* ---- LATENCY ------------------------------------------------------------ */

/* LATENCY LATEST */
static DICE__CMD_FN(cmd_latency_latest) {
    dice__intro *in = &c->srv->intro;
    dice_reply_array(c, in->nevents);
    for (size_t i = 0; i < in->nevents; i++) {
        const dice__lat_event *ev = &in->events[i];
        unsigned last = (ev->idx + DICE__LAT_SAMPLES - 1) % DICE__LAT_SAMPLES;
        dice_reply_array(c, 4);
        dice_reply_cstr(c, ev->name);
        dice_reply_int(c, ev->samples[last].time);
        dice_reply_int(c, ev->samples[last].ms);
        dice_reply_int(c, ev->max);
    }
}

/* LATENCY HISTORY <event> */
static DICE__CMD_FN(cmd_latency_history) {
    const dice__lat_event *ev = find_event(c->srv, argv[2], argvlen[2]);
    if (!ev) {
        dice_reply_array(c, 0);
        return;
    }
    size_t n = 0;
    for (int j = 0; j < DICE__LAT_SAMPLES; j++)
        n += ev->samples[j].time != 0;
    dice_reply_array(c, n);
    for (int j = 0; j < DICE__LAT_SAMPLES; j++) {
        unsigned i = (ev->idx + (unsigned)j) % DICE__LAT_SAMPLES;
        if (!ev->samples[i].time)
            continue;
        dice_reply_array(c, 2);
        dice_reply_int(c, ev->samples[i].time);
        dice_reply_int(c, ev->samples[i].ms);
    }
}

/* LATENCY RESET [<event> ...] */
static DICE__CMD_FN(cmd_latency_reset) {
    dice__intro *in = &c->srv->intro;
    long long resets = 0;
    if (argc == 2) {
        resets = (long long)in->nevents;
        in->nevents = 0;
    } else {
        for (int i = 2; i < argc; i++) {
            const dice__lat_event *ev = find_event(c->srv, argv[i], argvlen[i]);
            if (!ev)
                continue;
            size_t k = (size_t)(ev - in->events);
            in->events[k] = in->events[--in->nevents];
            resets++;
        }
    }
    dice_reply_int(c, resets);
}

/* The sparkline of LATENCY GRAPH: rows of '_', 'o', '#' and '|' (Redis's
 * filled sparkline), 4 rows high, then each sample's age written
 * downwards, one blank row apart; 80 columns per block. */
#define GRAPH_COLS 80
#define GRAPH_ROWS 4
static void sparkline(dice_buf_t *b, const uint32_t *v, char (*labels)[24],
                      size_t n, uint32_t min, uint32_t max) {
    static const char fill[] = "_o#";
    const int levels = 3, steps = levels * GRAPH_ROWS;
    double range = max - min ? (double)(max - min) : 1;
    for (size_t off = 0; off < n; off += GRAPH_COLS) {
        size_t len = n - off < GRAPH_COLS ? n - off : GRAPH_COLS;
        char line[GRAPH_COLS];
        for (int row = 0;; row++) {
            bool any = false;
            memset(line, ' ', len);
            for (size_t j = 0; j < len; j++) {
                if (row < GRAPH_ROWS) {
                    int step = (int)((double)(int)((v[off + j] - min) * steps) /
                                     range);
                    if (step >= steps)
                        step = steps - 1;
                    int ci = step - (GRAPH_ROWS - row - 1) * levels;
                    if (ci >= 0 && ci < levels)
                        line[j] = fill[ci];
                    else if (ci >= levels)
                        line[j] = '|';
                    any = true;
                } else if (row == GRAPH_ROWS) {
                    any = true; /* the blank row above the labels */
                } else {
                    const char *l = labels[off + j];
                    size_t k = (size_t)(row - GRAPH_ROWS - 1);
                    if (strlen(l) > k) {
                        line[j] = l[k];
                        any = true;
                    }
                }
            }
            if (!any)
                break;
            dice_buf_append(b, line, len);
            dice_buf_append(b, "\n", 1);
        }
    }
}

/* LATENCY GRAPH <event> */
static DICE__CMD_FN(cmd_latency_graph) {
    dice_server_t *srv = c->srv;
    const dice__lat_event *ev = find_event(srv, argv[2], argvlen[2]);
    if (!ev) {
        int n = argvlen[2] < 128 ? (int)argvlen[2] : 128;
        dice__reply_errorf(c, "ERR No samples available for event '%.*s'", n,
                           argv[2]);
        return;
    }
    uint32_t v[DICE__LAT_SAMPLES];
    char labels[DICE__LAT_SAMPLES][24];
    size_t n = 0;
    uint32_t min = 0, max = 0;
    long long now = dice_loop_unix_ms(srv->loop) / 1000;
    for (int j = 0; j < DICE__LAT_SAMPLES; j++) {
        unsigned i = (ev->idx + (unsigned)j) % DICE__LAT_SAMPLES;
        if (!ev->samples[i].time)
            continue;
        uint32_t ms = ev->samples[i].ms;
        if (n == 0 || ms < min)
            min = ms;
        if (n == 0 || ms > max)
            max = ms;
        long long age = now - ev->samples[i].time;
        if (age < 60)
            snprintf(labels[n], 24, "%llds", age);
        else if (age < 3600)
            snprintf(labels[n], 24, "%lldm", age / 60);
        else if (age < 86400)
            snprintf(labels[n], 24, "%lldh", age / 3600);
        else
            snprintf(labels[n], 24, "%lldd", age / 86400);
        v[n++] = ms;
    }
    dice_buf_t b;
    dice__buf_init(&b);
    dice__buf_printf(
        &b, "%s - high %lu ms, low %lu ms (all time high %lu ms)\n", ev->name,
        (unsigned long)max, (unsigned long)min, (unsigned long)ev->max);
    for (int j = 0; j < GRAPH_COLS; j++)
        dice_buf_append(&b, "-", 1);
    dice_buf_append(&b, "\n", 1);
    sparkline(&b, v, labels, n, min, max);
    dice_reply_verbatim(c, "txt", b.data ? b.data : "", b.len);
    dice__buf_release(&b);
}

/* LATENCY DOCTOR: Redis's createLatencyReport for the events libdice
 * records (command, fast-command). */
static DICE__CMD_FN(cmd_latency_doctor) {
    dice_server_t *srv = c->srv;
    dice__intro *in = &srv->intro;
    dice_buf_t b;
    dice__buf_init(&b);
    if (srv->cfg.latency_threshold == 0 && in->nevents == 0) {
        dice__buf_printf(
            &b, "I'm sorry, Dave, I can't do that. Latency monitoring is "
                "disabled in this Redis instance. You may use \"CONFIG SET "
                "latency-monitor-threshold <milliseconds>.\" in order to "
                "enable it. If we weren't in a deep space mission I'd suggest "
                "to take a look at https://redis.io/topics/latency-monitor.\n");
    } else {
        bool slow_enable = false, slow_tune = false, slow_inspect = false,
             large = false, sched = false;
        int advices = 0;
        if (in->nevents)
            dice__buf_printf(&b, "Dave, I have observed latency spikes in this "
                                 "Redis instance. You don't mind talking about "
                                 "it, do you Dave?\n\n");
        for (size_t i = 0; i < in->nevents; i++) {
            const dice__lat_event *ev = &in->events[i];
            lat_stats ls = analyze(srv, ev);
            dice__buf_printf(
                &b,
                "%zu. %s: %llu latency spikes (average %llums, mean deviation "
                "%llums, period %.2f sec). Worst all time event %lums.",
                i + 1, ev->name, ls.samples, ls.avg, ls.mad,
                ls.samples ? (double)ls.period / (double)ls.samples : 0.0,
                (unsigned long)ev->max);
            if (!strcmp(ev->name, "command")) {
                if (srv->cfg.slowlog_slower_than < 0 ||
                    srv->cfg.slowlog_max_len == 0) {
                    slow_enable = true;
                    advices++;
                } else if (srv->cfg.slowlog_slower_than / 1000 >
                           srv->cfg.latency_threshold) {
                    slow_tune = true;
                    advices++;
                }
                slow_inspect = large = true;
                advices += 2;
            }
            if (!strcmp(ev->name, "fast-command")) {
                sched = true;
                advices++;
            }
            dice_buf_append(&b, "\n", 1);
        }
        if (in->nevents == 0 && advices == 0) {
            dice__buf_printf(
                &b, "Dave, no latency spike was observed during "
                    "the lifetime of this Redis instance, not in "
                    "the slightest bit. I honestly think you "
                    "ought to sit down calmly, take a stress pill, and think "
                    "things over.\n");
        } else if (advices == 0) {
            dice__buf_printf(&b, "\nWhile there are latency events logged, I'm "
                                 "not able to suggest any easy fix. Please use "
                                 "the Redis community to get some help, "
                                 "providing this report in your help "
                                 "request.\n");
        } else {
            long long th = srv->cfg.latency_threshold * 1000;
            dice__buf_printf(&b, "\nI have a few advices for you:\n\n");
            if (slow_enable)
                dice__buf_printf(
                    &b,
                    "- There are latency issues with potentially slow "
                    "commands you are using. Try to enable the Slow Log Redis "
                    "feature using the command 'CONFIG SET "
                    "slowlog-log-slower-than %lld'. If the Slow log is "
                    "disabled Redis is not able to log slow commands "
                    "execution for you.\n",
                    th);
            if (slow_tune)
                dice__buf_printf(&b,
                                 "- Your current Slow Log configuration only "
                                 "logs events that are slower than your "
                                 "configured latency monitor threshold. "
                                 "Please use 'CONFIG SET "
                                 "slowlog-log-slower-than %lld'.\n",
                                 th);
            if (slow_inspect)
                dice__buf_printf(&b, "- Check your Slow Log to understand what "
                                     "are the commands you are running which "
                                     "are too slow to execute. Please check "
                                     "https://redis.io/commands/slowlog for "
                                     "more information.\n");
            if (sched)
                dice__buf_printf(
                    &b, "- The system is slow to execute Redis code paths not "
                        "containing system calls. This usually means the "
                        "system does not provide Redis CPU time to run for "
                        "long periods. You should try to:\n"
                        "  1) Lower the system load.\n"
                        "  2) Use a computer / VM just for Redis if you are "
                        "running other software in the same system.\n"
                        "  3) Check if you have a \"noisy neighbour\" "
                        "problem.\n"
                        "  4) Check with 'redis-cli --intrinsic-latency 100' "
                        "what is the intrinsic latency in your system.\n"
                        "  5) Check if the problem is allocator-related by "
                        "recompiling Redis with MALLOC=libc, if you are using "
                        "Jemalloc. However this may create fragmentation "
                        "problems.\n");
            if (large)
                dice__buf_printf(
                    &b, "- Deleting, expiring or evicting (because of "
                        "maxmemory policy) large objects is a blocking "
                        "operation. If you have very large objects that are "
                        "often deleted, expired, or evicted, try to fragment "
                        "those objects into multiple smaller objects.\n");
        }
    }
    dice_reply_verbatim(c, "txt", b.data ? b.data : "", b.len);
    dice__buf_release(&b);
}

/* One command's LATENCY HISTOGRAM entry: calls, then the cumulative
 * count under each power of two of ns from 1024 that adds some, keyed as
 * Redis's hdr_histogram prints them (the bucket's highest equivalent
 * value at two significant digits, in us). */
static void reply_histogram(dice_client_t *c, const dice_command_t *cmd) {
    dice_server_t *srv = c->srv;
    long long keys[64], counts[64];
    size_t n = 0;
    uint64_t total = 0;
    for (unsigned i = 0; i < DICE__HIST_BUCKETS; i++)
        total += cmd->hist[i];
    uint64_t cum = 0, prev = 0;
    unsigned i = 0;
    for (unsigned k = 10; k < 50 && prev < total; k++) {
        uint64_t limit = 1ull << k; /* ns */
        while (i < DICE__HIST_BUCKETS &&
               dice__ticks_to_ns(srv, dice__hist_bucket_top(i)) < limit)
            cum += cmd->hist[i++];
        if (k == 49)
            cum = total;
        if (cum != prev) {
            keys[n] = (long long)((limit + (limit >> 7) - 1) / 1000);
            counts[n++] = (long long)cum;
            prev = cum;
        }
    }
    dice_reply_map(c, 2);
    dice_reply_cstr(c, "calls");
    dice_reply_int(c, (long long)cmd->calls);
    dice_reply_cstr(c, "histogram_usec");
    dice_reply_map(c, n);
    for (size_t j = 0; j < n; j++) {
        dice_reply_int(c, keys[j]);
        dice_reply_int(c, counts[j]);
    }
}

static bool has_histogram(const dice_command_t *cmd) {
    return cmd->hist_own && cmd->calls;
}

static size_t count_histograms(const dice_command_t *cmd) {
    size_t n = has_histogram(cmd);
    for (size_t i = 0; i < cmd->nsubs; i++)
        n += has_histogram(cmd->subs[i]);
    return n;
}

static void reply_histograms(dice_client_t *c, const dice_command_t *cmd) {
    if (has_histogram(cmd)) {
        dice_reply_cstr(c, cmd->fullname);
        reply_histogram(c, cmd);
    }
    for (size_t i = 0; i < cmd->nsubs; i++)
        if (has_histogram(cmd->subs[i])) {
            dice_reply_cstr(c, cmd->subs[i]->fullname);
            reply_histogram(c, cmd->subs[i]);
        }
}

/* LATENCY HISTOGRAM [<command> ...]: a container named answers for its
 * sub-commands (Redis's latencySpecificCommandsFillCDF). */
static DICE__CMD_FN(cmd_latency_histogram) {
    const dice_cmdtable_t *t = &c->srv->commands;
    if (argc == 2) {
        size_t n = 0;
        for (size_t j = 0; j < t->cap; j++)
            if (t->slots[j])
                n += count_histograms(t->slots[j]);
        dice_reply_map(c, n);
        for (size_t j = 0; j < t->cap; j++)
            if (t->slots[j])
                reply_histograms(c, t->slots[j]);
        return;
    }
    dice_command_t *found[64];
    size_t nf = 0, n = 0;
    for (int i = 2; i < argc && nf < 64; i++) {
        dice_command_t *cmd =
            dice__cmdtable_lookup_full(t, argv[i], argvlen[i]);
        if (!cmd)
            continue;
        bool dup = false;
        for (size_t k = 0; k < nf; k++)
            dup |= found[k] == cmd;
        if (dup)
            continue;
        found[nf++] = cmd;
        n += cmd->parent || !cmd->nsubs ? has_histogram(cmd)
                                        : count_histograms(cmd);
    }
    dice_reply_map(c, n);
    for (size_t k = 0; k < nf; k++) {
        if (found[k]->parent || !found[k]->nsubs) {
            if (has_histogram(found[k])) {
                dice_reply_cstr(c, found[k]->fullname);
                reply_histogram(c, found[k]);
            }
        } else {
            reply_histograms(c, found[k]);
        }
    }
}

static const char *const latency_help[] = {
    "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a "
    "histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
    "HELP",
    "    Prints this help.",
};

/* LATENCY HELP */
static DICE__CMD_FN(cmd_latency_help) {
    dice__reply_help(c, latency_help, DICE__COUNT(latency_help));
}

/* ---- MONITOR ------------------------------------------------------------ */

/* MONITOR: from now on, every command run is fed to c as a line (see
 * lib/server/stats.c). A monitor asking again gets no reply, as in
 * Redis. */
static DICE__CMD_FN(cmd_monitor) {
    if (c->flags & CLIENT_MONITOR)
        return;
    if (c->flags & CLIENT_DENY_BLOCKING) {
        dice__reply_errstr(c, "ERR MONITOR isn't allowed for DENY BLOCKING "
                              "client");
        return;
    }
    if (dice__monitor_add(c) < 0) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    dice_reply_ok(c);
}

/* ---- MEMORY ------------------------------------------------------------- */

static size_t total_keys(dice_server_t *srv) {
    size_t n = 0;
    if (!srv->keyspace)
        return 0;
    for (int i = 0; i < dice_keyspace_ndbs(srv->keyspace); i++)
        n += dice_db_size(dice_keyspace_db(srv->keyspace, i));
    return n;
}

static unsigned long long clients_memory(dice_server_t *srv) {
    unsigned long long n = 0;
    for (dice_client_t *cl = srv->clients; cl; cl = cl->next)
        n += sizeof(*cl) + cl->qcap + cl->out.cap;
    return n;
}

typedef struct {
    unsigned long long peak, total, startup, clients, overhead, dataset, keys,
        allocated, active, resident, rss, tables;
    size_t nclients;
} mem_figures;

/* Bytes of every database's key and expire tables (Redis counts its
 * dicts' overhead in overhead.total too). */
static unsigned long long tables_memory(dice_server_t *srv) {
    unsigned long long n = 0;
    if (!srv->keyspace)
        return 0;
    for (int i = 0; i < dice_keyspace_ndbs(srv->keyspace); i++) {
        size_t mb, eb;
        dice__db_table_bytes(dice_keyspace_db(srv->keyspace, i), &mb, &eb);
        n += mb + eb;
    }
    return n;
}

static mem_figures memory_figures(dice_server_t *srv) {
    mem_figures m;
    struct mallinfo2 mi = mallinfo2();
    m.total = dice__server_used_memory(srv);
    if (m.total > srv->info_mem_peak)
        srv->info_mem_peak = m.total;
    m.peak = srv->info_mem_peak;
    m.startup = srv->mem_startup < m.total ? srv->mem_startup : m.total;
    m.clients = clients_memory(srv);
    m.nclients = 0;
    for (dice_client_t *cl = srv->clients; cl; cl = cl->next)
        m.nclients++;
    m.tables = tables_memory(srv);
    m.overhead = m.startup + m.clients + m.tables;
    if (m.overhead > m.total)
        m.overhead = m.total;
    m.dataset = m.total - m.overhead;
    m.keys = total_keys(srv);
    m.allocated = m.total;
    m.active = (unsigned long long)(mi.arena + mi.hblkhd);
    if (m.active < m.allocated)
        m.active = m.allocated;
    m.rss = rss_bytes();
    m.resident = m.rss;
    return m;
}

static void reply_ratio(dice_client_t *c, const char *name, double v) {
    dice_reply_cstr(c, name);
    dice_reply_double(c, v);
}

static void reply_field(dice_client_t *c, const char *name, long long v) {
    dice_reply_cstr(c, name);
    dice_reply_int(c, v);
}

/* MEMORY STATS: Redis's fields, with what malloc and the kernel tell us
 * (glibc's arena for the allocator's figures; no replication, AOF, Lua or
 * cluster, so those are 0). */
static DICE__CMD_FN(cmd_memory_stats) {
    mem_figures m = memory_figures(c->srv);
    unsigned long long net = m.total > m.startup ? m.total - m.startup : 0;
    dice_keyspace_t *ks = c->srv->keyspace;
    int ndbs = ks ? dice_keyspace_ndbs(ks) : 0, nonempty = 0;
    for (int i = 0; i < ndbs; i++)
        nonempty += dice_db_size(dice_keyspace_db(ks, i)) > 0;
    dice_reply_map(c, 27 + (size_t)nonempty);
    reply_field(c, "peak.allocated", (long long)m.peak);
    reply_field(c, "total.allocated", (long long)m.total);
    reply_field(c, "startup.allocated", (long long)m.startup);
    reply_field(c, "replication.backlog", 0);
    reply_field(c, "clients.slaves", 0);
    reply_field(c, "clients.normal", (long long)m.clients);
    reply_field(c, "cluster.links", 0);
    reply_field(c, "aof.buffer", 0);
    reply_field(c, "lua.caches", 0);
    reply_field(c, "functions.caches", 0);
    /* One entry per database holding keys, as Redis: its tables' slot
     * arrays (no cluster, so no slot-to-keys index). */
    for (int i = 0; i < ndbs; i++) {
        dice_db_t *db = dice_keyspace_db(ks, i);
        if (dice_db_size(db) == 0)
            continue;
        char name[32];
        size_t mb, eb;
        dice__db_table_bytes(db, &mb, &eb);
        snprintf(name, sizeof(name), "db.%d", i);
        dice_reply_cstr(c, name);
        dice_reply_map(c, 3);
        reply_field(c, "overhead.hashtable.main", (long long)mb);
        reply_field(c, "overhead.hashtable.expires", (long long)eb);
        reply_field(c, "overhead.hashtable.slot-to-keys", 0);
    }
    reply_field(c, "overhead.total", (long long)m.overhead);
    reply_field(c, "keys.count", (long long)m.keys);
    reply_field(c, "keys.bytes-per-key",
                m.keys ? (long long)(net / m.keys) : 0);
    reply_field(c, "dataset.bytes", (long long)m.dataset);
    reply_ratio(c, "dataset.percentage",
                net ? (double)m.dataset * 100 / (double)net : 0);
    reply_ratio(c, "peak.percentage",
                m.peak ? (double)m.total * 100 / (double)m.peak : 0);
    reply_field(c, "allocator.allocated", (long long)m.allocated);
    reply_field(c, "allocator.active", (long long)m.active);
    reply_field(c, "allocator.resident", (long long)m.resident);
    reply_ratio(c, "allocator-fragmentation.ratio",
                m.allocated ? (double)m.active / (double)m.allocated : 0);
    reply_field(c, "allocator-fragmentation.bytes",
                (long long)(m.active - m.allocated));
    reply_ratio(c, "allocator-rss.ratio",
                m.active ? (double)m.resident / (double)m.active : 0);
    reply_field(c, "allocator-rss.bytes",
                (long long)m.resident - (long long)m.active);
    reply_ratio(c, "rss-overhead.ratio",
                m.resident ? (double)m.rss / (double)m.resident : 0);
    reply_field(c, "rss-overhead.bytes",
                (long long)m.rss - (long long)m.resident);
    reply_ratio(c, "fragmentation",
                m.total ? (double)m.rss / (double)m.total : 0);
    reply_field(c, "fragmentation.bytes",
                (long long)m.rss - (long long)m.total);
}

/* MEMORY DOCTOR: Redis's report for the conditions libdice can see. */
static DICE__CMD_FN(cmd_memory_doctor) {
    mem_figures m = memory_figures(c->srv);
    dice_buf_t b;
    dice__buf_init(&b);
    if (m.total < 1024 * 1024 * 5) {
        dice__buf_printf(
            &b, "Hi Sam, this instance is empty or is using very little "
                "memory, my issues detector can't be used in these "
                "conditions. Please, leave for your mission on Earth and fill "
                "it with some data. The new Sam and I will be back to our "
                "programming as soon as I finished rebooting.\n");
    } else {
        bool peak = (double)m.peak > (double)m.total * 1.5;
        double frag = m.total ? (double)m.rss / (double)m.total : 0;
        bool high_frag = frag > 1.4 && m.rss - m.total > 10 * 1024 * 1024;
        /* More than 200K of buffers per client on average. */
        bool big_clients = m.nclients && m.clients / m.nclients > 1024 * 200;
        if (!peak && !high_frag && !big_clients) {
            dice__buf_printf(&b, "Hi Sam, I can't find any memory issue in "
                                 "your instance. I can only account for what "
                                 "occurs on this base.\n");
        } else {
            dice__buf_printf(&b, "Sam, I detected a few issues in this Redis "
                                 "instance memory implants:\n\n");
            if (peak)
                dice__buf_printf(
                    &b, " * Peak memory: In the past this instance used more "
                        "than 150%% the memory that is currently using. The "
                        "allocator is normally not able to release memory "
                        "after a peak, so you can expect to see a big "
                        "fragmentation ratio, however this is actually "
                        "harmless and is only due to the memory peak, and if "
                        "the Redis instance Resident Set Size (RSS) is "
                        "currently bigger than expected, the memory will be "
                        "used as soon as you fill the Redis instance with "
                        "more data. If the memory peak was only occasional "
                        "and you want to try to reclaim memory, please try "
                        "the MEMORY PURGE command, otherwise the only other "
                        "option is to shutdown and restart the instance.\n\n");
            if (high_frag)
                dice__buf_printf(
                    &b,
                    " * High total RSS: This instance has a memory "
                    "fragmentation and RSS overhead greater than 1.4 (this "
                    "means that the Resident Set Size of the Redis process "
                    "is much larger than the sum of the logical allocations "
                    "Redis performed). This problem is usually due either to "
                    "a large peak memory (check if there is a peak memory "
                    "entry above in the report) or may result from a "
                    "workload that causes the allocator to fragment memory "
                    "a lot. If the problem is a large peak memory, then "
                    "there is no issue. Otherwise, make sure you are using "
                    "the Jemalloc allocator and not the default libc malloc. "
                    "Note: The currently used allocator is \"libc\".\n\n");
            if (big_clients)
                dice__buf_printf(
                    &b,
                    " * Big client buffers: The clients output buffers in "
                    "this instance are greater than 200K per client (on "
                    "average). This may result from different causes, like "
                    "Pub/Sub clients subscribed to channels bot not "
                    "receiving data fast enough, so that data piles on the "
                    "Redis instance output buffer, or clients sending "
                    "commands with large replies or very large sequences of "
                    "commands in the same pipeline. Please use the CLIENT "
                    "LIST command in order to investigate the issue if it "
                    "causes problems in your instance, or to understand "
                    "better why certain clients are using a big amount of "
                    "memory.\n\n");
            dice__buf_printf(&b, "I'm here to keep you safe, Sam. I want to "
                                 "help you.\n");
        }
    }
    dice_reply_verbatim(c, "txt", b.data ? b.data : "", b.len);
    dice__buf_release(&b);
}

/* MEMORY MALLOC-STATS: glibc's malloc_info report (XML). */
static DICE__CMD_FN(cmd_memory_malloc_stats) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f) {
        malloc_info(0, f);
        fclose(f);
    }
    if (text)
        dice_reply_verbatim(c, "txt", text, len);
    else
        dice_reply_verbatim(
            c, "txt", "Stats not supported for the current allocator", 45);
    free(text);
}

/* MEMORY PURGE: give free heap pages back to the kernel. */
static DICE__CMD_FN(cmd_memory_purge) {
    malloc_trim(0);
    dice_reply_ok(c);
}

/* ---- Registration ------------------------------------------------------- */

#define F_LS (DICE_CMD_LOADING | DICE_CMD_STALE)
#define F_ADM (DICE_CMD_ADMIN | F_LS)
#define F_ADMNS (DICE_CMD_ADMIN | DICE_CMD_NOSCRIPT | F_LS)
#define NDO "nondeterministic_output"
#define ALL_NODES "request_policy:all_nodes"
#define SPECIAL "request_policy:all_nodes response_policy:special"

static const dice__cmd_desc top[] = {
    {"slowlog", -2, 0, 0, 0, 0, NULL, NULL, "A container for slow log commands",
     "2.2.12", "Depends on subcommand.", 0, NULL, NULL, NULL},
    {"latency", -2, 0, 0, 0, 0, NULL, NULL,
     "A container for latency diagnostics commands", "2.8.13",
     "Depends on subcommand.", 0, NULL, NULL, NULL},
    {"monitor", 1, F_ADMNS, 0, 0, 0, cmd_monitor, NULL,
     "Listen for all requests received by the server in real time", "1.0.0",
     NULL, 0, NULL, NULL, NULL},
};

static const dice__cmd_desc slowlog_subs[] = {
    {"help", 2, F_LS, 0, 0, 0, cmd_slowlog_help, NULL,
     "Show helpful text about the different subcommands", "6.2.0", "O(1)", 0,
     NULL, NULL, NULL},
    {"len", 2, F_ADM, 0, 0, 0, cmd_slowlog_len, NULL,
     "Get the slow log's length", "2.2.12", "O(1)", 0,
     ALL_NODES " response_policy:agg_sum " NDO, NULL, NULL},
    {"get", -2, F_ADM, 0, 0, 0, cmd_slowlog_get, NULL,
     "Get the slow log's entries", "2.2.12",
     "O(N) where N is the number of entries returned", 0, ALL_NODES " " NDO,
     NULL, NULL},
    {"reset", 2, F_ADM, 0, 0, 0, cmd_slowlog_reset, NULL,
     "Clear all entries from the slow log", "2.2.12",
     "O(N) where N is the number of entries in the slowlog", 0,
     ALL_NODES " response_policy:all_succeeded", NULL, NULL},
};

static const dice__cmd_desc latency_subs[] = {
    {"help", 2, F_LS, 0, 0, 0, cmd_latency_help, NULL,
     "Show helpful text about the different subcommands.", "2.8.13", "O(1)", 0,
     NULL, NULL, NULL},
    {"latest", 2, F_ADMNS, 0, 0, 0, cmd_latency_latest, NULL,
     "Return the latest latency samples for all events.", "2.8.13", "O(1)", 0,
     NDO " " SPECIAL, NULL, NULL},
    {"reset", -2, F_ADMNS, 0, 0, 0, cmd_latency_reset, NULL,
     "Reset latency data for one or more events.", "2.8.13", "O(1)", 0,
     ALL_NODES " response_policy:all_succeeded", NULL, NULL},
    {"histogram", -2, F_ADMNS, 0, 0, 0, cmd_latency_histogram, NULL,
     "Return the cumulative distribution of latencies of a subset of commands "
     "or all.",
     "7.0.0",
     "O(N) where N is the number of commands with latency information being "
     "retrieved.",
     0, NDO " " SPECIAL, NULL, NULL},
    {"history", 3, F_ADMNS, 0, 0, 0, cmd_latency_history, NULL,
     "Return timestamp-latency samples for the event.", "2.8.13", "O(1)", 0,
     NDO " " SPECIAL, NULL, NULL},
    {"doctor", 2, F_ADMNS, 0, 0, 0, cmd_latency_doctor, NULL,
     "Return a human readable latency analysis report.", "2.8.13", "O(1)", 0,
     NDO " " SPECIAL, NULL, NULL},
    {"graph", 3, F_ADMNS, 0, 0, 0, cmd_latency_graph, NULL,
     "Return a latency graph for the event.", "2.8.13", "O(1)", 0,
     NDO " " SPECIAL, NULL, NULL},
};

#define SHARDS "request_policy:all_shards"
static const dice__cmd_desc memory_subs[] = {
    {"stats", 2, 0, 0, 0, 0, cmd_memory_stats, NULL,
     "Show memory usage details", "4.0.0", "O(1)", 0,
     NDO " " SHARDS " response_policy:special", NULL, NULL},
    {"doctor", 2, 0, 0, 0, 0, cmd_memory_doctor, NULL,
     "Outputs memory problems report", "4.0.0", "O(1)", 0,
     NDO " " SHARDS " response_policy:special", NULL, NULL},
    {"malloc-stats", 2, 0, 0, 0, 0, cmd_memory_malloc_stats, NULL,
     "Show allocator internal stats", "4.0.0",
     "Depends on how much memory is allocated, could be slow", 0,
     NDO " " SHARDS " response_policy:special", NULL, NULL},
    {"purge", 2, 0, 0, 0, 0, cmd_memory_purge, NULL,
     "Ask the allocator to release memory", "4.0.0",
     "Depends on how much memory is allocated, could be slow", 0,
     SHARDS " response_policy:all_succeeded", NULL, NULL},
};

int dice__builtin_introspect(dice_server_t *srv) {
    int rc = dice__command_register(srv, NULL, "server", top, DICE__COUNT(top));
    if (rc == 0)
        rc = dice__command_register(srv, "slowlog", "server", slowlog_subs,
                                    DICE__COUNT(slowlog_subs));
    if (rc == 0)
        rc = dice__command_register(srv, "latency", "server", latency_subs,
                                    DICE__COUNT(latency_subs));
    if (rc == 0)
        rc = dice__command_register(srv, "memory", "server", memory_subs,
                                    DICE__COUNT(memory_subs));
    return rc;
}
