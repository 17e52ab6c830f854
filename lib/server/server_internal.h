/* The server layer: clients and their buffers, listeners, settings,
 * stats, the server object, and dispatch (resolving a client's argv
 * against the command table the server owns). The command families above
 * use it through lib/commands/commands_internal.h. */
#ifndef DICE_SERVER_INTERNAL_H
#define DICE_SERVER_INTERNAL_H

#include "command/command_internal.h"
#include "dice/command.h"
#include "dice/db.h"
#include "dice/loop.h"
#include "dice/resp.h"
#include "dice/server.h"
#include "keyspace/keyspace_internal.h"
#include "resp/resp_internal.h"
#include "server/acl.h"
#include "server/conn.h"

#include <stdarg.h>
#include <stdbool.h>
#include <time.h>

/* Client flags. */
enum {
    CLIENT_CLOSE_AFTER_REPLY = 1u << 0, /* close once output is flushed */
    CLIENT_CLOSED = 1u << 1,        /* socket gone; object kept for a holder */
    CLIENT_HELD = 1u << 2,          /* a deferred reply is outstanding */
    CLIENT_PENDING_WRITE = 1u << 3, /* queued in srv->pending */
    CLIENT_PAUSED = 1u << 4,        /* not reading: output above the limit */
    /* Its user is not allowed everything: dispatch asks the ACL
     * (lib/server/acl.c) before running a command. */
    CLIENT_ACL = 1u << 5,
    CLIENT_WANT_WRITE = 1u << 6, /* WRITABLE interest is set */
    /* An in-process session (lib/server/session.c): no socket (fd -1),
     * never queued for a flush; its output is handed to the caller. The
     * client is the first member of a dice_session, freed with it. */
    CLIENT_SESSION = 1u << 7,
    /* Waiting in a blocking command (lib/server/blocking.c): runs nothing
     * until served, timed out or unblocked. */
    CLIENT_BLOCKED = 1u << 8,
    /* The client may not block (Redis's CLIENT_DENY_BLOCKING): set while
     * EXEC runs its queued commands (and by whatever else must never wait,
     * e.g. scripts later). A blocking command (BLPOP, BLMOVE, XREAD BLOCK,
     * WAIT...) tests it with dice__client_may_block() and, when it may
     * not, answers as its non-blocking form would at once: the timeout
     * has "expired" (a null reply) or the data is there. */
    CLIENT_DENY_BLOCKING = 1u << 9,
    /* Between MULTI and EXEC/DISCARD: commands are queued, not run. */
    CLIENT_MULTI = 1u << 10,
    /* A watched key was touched: EXEC will answer a null array. */
    CLIENT_DIRTY_CAS = 1u << 11,
    /* A command was refused while queueing: EXEC answers EXECABORT. */
    CLIENT_DIRTY_EXEC = 1u << 12,
    /* EXEC is running the queued commands (dispatch neither queues them
     * nor records them as the client's last command). */
    CLIENT_IN_EXEC = 1u << 13,
    /* Subscribed to some channel, pattern or shard channel (Redis's
     * CLIENT_PUBSUB): RESP2 allows only the subscriber-context commands,
     * and the pubsub class of client-output-buffer-limit applies. */
    CLIENT_PUBSUB = 1u << 14,
    /* Client-side caching (lib/server/tracking.c), Redis's
     * CLIENT_TRACKING_*: tracking on, in broadcast mode, OPTIN, OPTOUT,
     * NOLOOP; CLIENT CACHING given for the next command; the redirection
     * client is gone. */
    CLIENT_TRACKING = 1u << 15,
    CLIENT_TRACKING_BCAST = 1u << 16,
    CLIENT_TRACKING_OPTIN = 1u << 17,
    CLIENT_TRACKING_OPTOUT = 1u << 18,
    CLIENT_TRACKING_NOLOOP = 1u << 19,
    CLIENT_TRACKING_CACHING = 1u << 20,
    CLIENT_TRACKING_BROKEN_REDIR = 1u << 21,
    /* CLIENT REPLY OFF; SKIP (this command's replies are dropped), and
     * SKIP given by the running command (the next one is skipped). */
    CLIENT_REPLY_OFF = 1u << 22,
    CLIENT_REPLY_SKIP = 1u << 23,
    CLIENT_REPLY_SKIP_NEXT = 1u << 24,
    CLIENT_NO_EVICT = 1u << 25, /* CLIENT NO-EVICT ON */
    CLIENT_UNIX = 1u << 26,     /* connected over a unix socket */
    /* Its command waits for CLIENT PAUSE to end (Redis's
     * BLOCKED_POSTPONE): c->postponed holds it. */
    CLIENT_POSTPONED = 1u << 27,
    /* Set on every connection while a CLIENT PAUSE lasts, so dispatch
     * looks at the pause through the same test as the other per-client
     * modes. */
    CLIENT_PAUSE_CHECK = 1u << 28,
    /* Writing a push (pub/sub message, invalidation): delivered even under
     * CLIENT REPLY OFF|SKIP, as Redis's CLIENT_PUSHING. */
    CLIENT_PUSHING = 1u << 29,
    /* Receives every command run (MONITOR; flag O in CLIENT LIST). */
    CLIENT_MONITOR = 1u << 30,
    /* The scripting layer's own client, which runs a script's
     * redis.call()s (lib/scripting/): never refused as BUSY. */
    CLIENT_SCRIPT = 1u << 31
};

/* The modes that send a command through dispatch's out-of-line path
 * (one test on the common path). */
#define CLIENT_SLOW_CALL                                                       \
    (CLIENT_MULTI | CLIENT_IN_EXEC | CLIENT_TRACKING | CLIENT_REPLY_SKIP |     \
     CLIENT_REPLY_SKIP_NEXT | CLIENT_PAUSE_CHECK)
/* The modes in which a reply may be dropped (reply_prepare's one test). */
#define CLIENT_NO_REPLY (CLIENT_CLOSED | CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP)

struct dice__bstate;
struct dice__blocking;
struct dice__ctrack;
struct dice__tracking;
struct dice__lazyfree;
typedef struct dice__multi_state dice__multi_state;
typedef struct dice__watch_rec dice__watch_rec;

/* Keyspace event classes, one list: XX(name, bit, letter of
 * notify-keyspace-events). The settings table parses and prints the
 * setting from it (lib/server/config.c); the pub/sub layer fires events
 * of these classes (dice__notify, lib/pubsub/pubsub_internal.h). */
#define DICE__NOTIFY_MAP(XX)                                                   \
    XX(KEYSPACE, 0, 'K')                                                       \
    XX(KEYEVENT, 1, 'E')                                                       \
    XX(GENERIC, 2, 'g')                                                        \
    XX(STRING, 3, '$')                                                         \
    XX(LIST, 4, 'l')                                                           \
    XX(SET, 5, 's')                                                            \
    XX(HASH, 6, 'h')                                                           \
    XX(ZSET, 7, 'z')                                                           \
    XX(EXPIRED, 8, 'x')                                                        \
    XX(EVICTED, 9, 'e')                                                        \
    XX(STREAM, 10, 't')                                                        \
    XX(KEY_MISS, 11, 'm')                                                      \
    XX(MODULE, 12, 'd')                                                        \
    XX(NEW, 13, 'n')

enum {
#define DICE__NOTIFY_ENUM(name, bit, letter) DICE__NOTIFY_##name = 1 << bit,
    DICE__NOTIFY_MAP(DICE__NOTIFY_ENUM)
#undef DICE__NOTIFY_ENUM
    /* 'A': Redis's NOTIFY_ALL, every class but key-miss and new. */
    DICE__NOTIFY_ALL =
        DICE__NOTIFY_GENERIC | DICE__NOTIFY_STRING | DICE__NOTIFY_LIST |
        DICE__NOTIFY_SET | DICE__NOTIFY_HASH | DICE__NOTIFY_ZSET |
        DICE__NOTIFY_EXPIRED | DICE__NOTIFY_EVICTED | DICE__NOTIFY_STREAM |
        DICE__NOTIFY_MODULE
};

/* Client classes of client-output-buffer-limit, in the order CONFIG GET
 * prints them (Redis's CLIENT_TYPE_NORMAL, _SLAVE, _PUBSUB). */
enum {
    DICE__OBUF_NORMAL,
    DICE__OBUF_REPLICA,
    DICE__OBUF_PUBSUB,
    DICE__OBUF_CLASSES
};
typedef struct dice__obuf_limit {
    long long hard, soft, soft_seconds; /* bytes, bytes, seconds; 0 = none */
} dice__obuf_limit;

struct dice_client {
    dice_server_t *srv;
    /* What the client's bytes travel over (lib/server/conn.h); conn.fd is
     * -1 once closed and for an in-process session. */
    dice__conn conn;
    unsigned flags;
    uint64_t id;
    int proto;
    int db;
    int holds; /* outstanding dice_client_hold() calls */
    int busy;  /* >0 while our own code runs on its behalf */
    /* Input that is kept between reads: a partial command, or commands not
     * yet processed because the client is paused or held. NULL when none,
     * so an idle client holds no input buffer. */
    char *qbuf;
    size_t qlen, qcap;
    dice_req_parser_t *parser; /* only while qbuf holds input */
    /* Output not yet written. out.data is NULL while empty (buffers go back
     * to the server's pool after each flush). sent = bytes of out already
     * written by a partial write. */
    dice_buf_t out;
    size_t sent;
    uint64_t created_ms;
    uint64_t last_ms;         /* last interaction, loop clock */
    char *name;               /* CLIENT SETNAME, or NULL */
    char *lib_name, *lib_ver; /* CLIENT SETINFO */
    char addr[64];            /* "ip:port" of the peer */
    char laddr[64];           /* "ip:port" of our side */
    const char *last_cmd;     /* name of the last command run */
    /* The last top-level command this client ran, valid while its
     * cmd_cache_gen equals the table's gen: pipelines repeat commands, and
     * a name compare is cheaper than hashing and probing. */
    dice_command_t *cmd_cache;
    uint64_t cmd_cache_gen;
    /* Passed AUTH (or connected while no requirepass was set, as Redis's
     * default user with nopass). Commands not flagged DICE_CMD_NOAUTH are
     * refused with NOAUTH while requirepass is set and this is false. */
    bool authenticated;
    /* The ACL user the client runs as (the default user until AUTH). */
    struct dice__acl_user *user;
    /* Connected from 127.0.0.1 or ::1 (Redis's islocalClient). */
    bool local;
    /* Whole commands wait in qbuf because the client used up its batch for
     * this loop iteration (srv->backlog); its socket is not read until they
     * have run. */
    bool backlog;
    /* Since when (loop ms) the output has been over its class's soft
     * limit, 0 while under it (Redis's obuf_soft_limit_reached_time). */
    uint64_t obuf_soft_since;
    /* The client's subscriptions, owned by the pub/sub layer (NULL when it
     * has none); freed through srv->pubsub_hooks.client_free. */
    void *pubsub;
    void *userdata;
    struct dice__bstate *blk;   /* while CLIENT_BLOCKED, else NULL */
    dice_client_t *prev, *next; /* all clients, for CLIENT LIST and free */
    /* MULTI's queued commands (NULL outside MULTI) and the keys WATCHed
     * (lib/server/multi.c); an idle client owns neither. */
    dice__multi_state *multi;
    dice__watch_rec **watched;
    size_t nwatched, watched_cap;
    /* Client-side caching state (redirection, BCAST prefixes), NULL until
     * CLIENT TRACKING ON (lib/server/tracking.c). */
    struct dice__ctrack *trk;
    /* The command CLIENT PAUSE holds back (with CLIENT_POSTPONED). */
    struct dice__argv *postponed;
    /* Its share of srv->cmem_total while maxmemory-clients is on. */
    size_t mem_counted;
};

typedef struct dice_listener {
    int fd;
    int port;   /* 0 for a unix socket */
    bool unix_; /* a unix domain socket; addr is its path */
    bool tls;   /* accepts TLS connections (tls-port) */
    char addr[108];
} dice_listener_t;

/* Settings. Names and defaults follow redis.conf (see lib/server/config.c). */
typedef struct dice_settings {
    char *bind; /* space-separated addresses */
    int port;
    long long maxclients; /* 0 = derive from the fd limit */
    long long proto_max_bulk_len;
    long long inline_max;
    long long query_buf_limit; /* client-query-buffer-limit */
    long long output_pause;    /* stop reading a client above this output */
    long long databases;
    int loglevel;
    int tcp_backlog;
    int hz;
    long long timeout; /* idle client timeout, seconds, 0 = none */
    /* tcp-keepalive: seconds of idleness before TCP keepalive probes on
     * a new TCP client (Redis's anetKeepAlive), 0 = off. */
    long long tcp_keepalive;
    /* busy-reply-threshold (alias lua-time-limit), ms: a script running
     * longer makes other clients' commands answer BUSY. */
    long long busy_reply_threshold;
    char *requirepass; /* NULL when no password */
    char *aclfile;     /* NULL: users come from the config file */
    long long acllog_max_len;
    int acl_pubsub_default; /* 0 resetchannels, 1 allchannels */
    int protected_mode;
    char *dir;
    char *logfile;
    int enable_debug_cmd;         /* DICE_ALLOW_*: who may run DEBUG */
    int enable_module_cmd;        /* DICE_ALLOW_*: who may MODULE LOAD/UNLOAD */
    int enable_protected_configs; /* DICE_ALLOW_*: who may CONFIG SET dir */
    /* Collection encodings, pushed into the keyspace on every change. */
    int list_max_listpack_size;
    int list_compress_depth;
    long long hash_max_listpack_entries;
    long long hash_max_listpack_value;
    long long set_max_intset_entries;
    long long zset_max_listpack_entries;
    long long zset_max_listpack_value;
    long long hll_sparse_max_bytes;
    long long stream_node_max_bytes;
    long long stream_node_max_entries;
    /* lazyfree-lazy-*: which drops free big values on the lazy-free
     * thread (user-del: DEL; server-del: overwrites and deletions by other
     * commands; user-flush: FLUSHALL/FLUSHDB without SYNC/ASYNC). */
    int lazy_eviction, lazy_expire, lazy_server_del, lazy_user_del,
        lazy_user_flush;
    /* The memory limit (lib/server/evict.c): maxmemory in bytes (0 = none),
     * maxmemory-policy (DICE__MAXMEMORY_*), and Redis's tuning settings. */
    long long maxmemory;
    /* maxmemory-clients: bytes, or -N for N% of maxmemory (0: none). */
    long long maxmemory_clients;
    int maxmemory_policy;
    long long maxmemory_samples, maxmemory_eviction_tenacity;
    long long lfu_log_factor, lfu_decay_time;
    /* notify-keyspace-events as DICE__NOTIFY_* bits (the pub/sub layer's
     * lib/pubsub/pubsub_internal.h), 0 = off. */
    int notify_flags;
    dice__obuf_limit obuf[DICE__OBUF_CLASSES]; /* client-output-buffer-limit */
    /* Introspection (lib/server/stats.c): slowlog-log-slower-than (us,
     * -1 off), slowlog-max-len, latency-monitor-threshold (ms, 0 off),
     * latency-tracking, latency-tracking-info-percentiles (text; parsed
     * into srv->intro.pctl). */
    long long slowlog_slower_than;
    long long slowlog_max_len;
    long long latency_threshold;
    int latency_tracking;
    char *latency_pctl;
    long long shutdown_timeout;  /* seconds; for when there is a save */
    long long tracking_max_keys; /* tracking-table-max-keys, 0 = no limit */
    char *unixsocket;            /* path, or NULL for none */
    int unixsocketperm;          /* octal mode bits, 0 = leave as umask */
    /* Snapshots (lib/server/rdb.c): the save points as text ("" for
     * none; parsed into srv->rdb.points), the file, and its options. */
    char *save;
    char *dbfilename;
    int rdbcompression, rdbchecksum, stop_writes_on_bgsave_err;
    /* The append-only file (lib/server/aof.c), Redis 7.0's settings. */
    int appendonly;
    char *appendfilename, *appenddirname;
    int appendfsync; /* DICE__FSYNC_* */
    int aof_use_rdb_preamble, aof_load_truncated, aof_timestamp_enabled;
    int no_appendfsync_on_rewrite, aof_rewrite_incremental_fsync;
    long long auto_aof_rewrite_perc, auto_aof_rewrite_min_size;
    /* TLS (lib/server/conn_tls.c), Redis 7.0's tls-* settings. Strings
     * are NULL when unset; tls-client-*, tls-replication and tls-cluster
     * are accepted for replication and cluster links to come. */
    int tls_port;
    char *tls_cert_file, *tls_key_file, *tls_key_file_pass;
    char *tls_client_cert_file, *tls_client_key_file, *tls_client_key_file_pass;
    char *tls_ca_cert_file, *tls_ca_cert_dir, *tls_dh_params_file;
    char *tls_protocols, *tls_ciphers, *tls_ciphersuites;
    int tls_auth_clients; /* DICE__TLS_AUTH_* */
    int tls_prefer_server_ciphers, tls_session_caching;
    long long tls_session_cache_size, tls_session_cache_timeout;
    int tls_replication, tls_cluster;
} dice_settings_t;

/* appendfsync, in Redis's order of names. */
enum { DICE__FSYNC_EVERYSEC, DICE__FSYNC_ALWAYS, DICE__FSYNC_NO };

/* tls-auth-clients, in Redis's order of names. */
enum { DICE__TLS_AUTH_NO, DICE__TLS_AUTH_YES, DICE__TLS_AUTH_OPTIONAL };

/* Push the collection encoding settings into the keyspace (a no-op before
 * it exists; attaching it pushes them too). */
void dice__server_apply_enc_limits(dice_server_t *srv);

/* Values of enable-debug-command and enable-protected-configs, as Redis:
 * nobody, everybody, or clients on a loopback (or unix) connection. */
enum { DICE_ALLOW_NO = 0, DICE_ALLOW_YES = 1, DICE_ALLOW_LOCAL = 2 };

typedef struct dice_stats {
    uint64_t connections_received;
    uint64_t commands_processed;
    uint64_t rejected_connections;
    uint64_t net_input_bytes;
    uint64_t net_output_bytes;
    uint64_t unexpected_errors;
    uint64_t reads_processed, writes_processed;
} dice_stats_t;

/* A command vector copied out of a borrowed argv: the pointers, lengths
 * and bytes (each NUL-terminated) in one allocation, freed with free().
 * What propagation queues and what MULTI queues. NULL when out of
 * memory. */
typedef struct dice__argv dice__argv;
struct dice__argv {
    int db;
    unsigned targets; /* DICE__PROP_* sinks it goes to (propagation) */
    int argc;
    const char **argv;
    size_t *argvlen;
};
dice__argv *dice__argv_new(int db, int argc, const char *const *argv,
                           const size_t *argvlen);

/* Propagation state (lib/server/propagate.c). A sink is of one kind:
 * the append-only file, or a host's (Redis's replicas: what
 * dice_server_add_propagation_sink registers). */
enum { DICE__PROP_AOF = 1u, DICE__PROP_REPL = 2u, DICE__PROP_ALL = 3u };
typedef struct dice__prop_sink {
    dice_propagate_fn fn;
    void *arg;
    uint64_t id;
    unsigned kind; /* DICE__PROP_AOF or DICE__PROP_REPL */
} dice__prop_sink;

typedef struct dice__prop {
    /* The running frame asked for its inner commands' vectors to be
     * wrapped in MULTI ... EXEC (dice__propagate_wrap): EXEC's frame. */
    bool wrap;
    dice__prop_sink *sinks;
    size_t nsinks;
    unsigned kinds; /* DICE__PROP_* of the sinks registered */
    uint64_t next_id;
    /* Vectors of the command being run, in order, until it returns. */
    void **queued;
    size_t nqueued, cap;
    uint64_t lost; /* vectors dropped for lack of memory, to log */
    /* The client whose command is running (NULL between commands), whether
     * it supplied its own effect (dice_client_propagate), and whether it
     * propagates even without a change (FLUSHALL on an empty dataset). */
    dice_client_t *current;
    bool own, force;
    /* DICE__PROP_* kinds the commands' own vectors skip for now (a
     * script's redis.set_repl); expiry deletions ignore it. */
    unsigned skip;
} dice__prop_t;

/* What dice__propagate_begin saves, for dice__propagate_end (commands run
 * by commands nest). */
typedef struct dice__prop_frame {
    dice_client_t *prev;
    bool own, force, wrap;
    uint64_t dirty;
    size_t first; /* queue length when the frame began */
} dice__prop_frame;

/* ---- Introspection (lib/server/stats.c) ---------------------------------
 * What the dispatcher records about commands for INFO commandstats,
 * errorstats and latencystats, SLOWLOG, LATENCY and MONITOR. */

/* The command clock: the CPU's time-stamp counter where it has one (one
 * instruction and no syscall, Redis's monotonic "X86 TSC" clock), else
 * CLOCK_MONOTONIC in ns through the vDSO. Ticks become ns with
 * dice__intro.ns_mult (calibrated against CLOCK_MONOTONIC). */
static inline uint64_t dice__ticks(void) {
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_ia32_rdtsc();
#elif defined(__aarch64__)
    uint64_t v;
    __asm__ volatile("mrs %0, cntvct_el0" : "=r"(v));
    return v;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}
#define DICE__NS_SHIFT 20
/* One client's commands run at most about this long per loop iteration
 * (the clock is read each time DICE__INPUT_SLICE_EVERY more bytes of its
 * input have run, so the common path keeps its one compare), besides the
 * 64 KB of input of INPUT_BATCH: commands that miss the cache (a big
 * keyspace while it rehashes) can make 64 KB of SETs cost several ms. */
#define DICE__INPUT_SLICE_NS 1000000u
#define DICE__INPUT_SLICE_EVERY 1024u
/* The latency histogram, in ticks: 3 bits of mantissa per power of two
 * (12.5% resolution), every 64-bit value (so no clamp on the hot path). */
#define DICE__HIST_SUB 3
#define DICE__HIST_BUCKETS (62 << DICE__HIST_SUB)
/* Bits of srv->refuse: BUSY while busy_err is set, MISCONF while
 * rdb.write_denied is. (A new refusal, e.g. maxmemory's OOM, adds its bit
 * here and its test to server.c's refused().) */
#define DICE__REFUSE_BUSY 1u
#define DICE__REFUSE_MISCONF 2u
/* LOADING while the clients are served in the middle of loading the
 * dataset at start: commands without the loading flag get -LOADING. */
#define DICE__REFUSE_LOADING 4u

static inline unsigned dice__hist_index(uint64_t ticks) {
    uint64_t v = ticks | (1u << DICE__HIST_SUB);
    unsigned shift = (63u ^ (unsigned)__builtin_clzll(v)) - DICE__HIST_SUB;
    return (shift << DICE__HIST_SUB) + (unsigned)(v >> shift);
}

typedef struct dice__slowlog_entry {
    uint64_t id;
    int64_t time;  /* unix seconds */
    uint64_t usec; /* duration */
    int argc;      /* kept arguments (at most 32) */
    char **argv;   /* each malloc'd with its length in argvlen */
    size_t *argvlen;
    char *peer, *name; /* "ip:port", client name ("" when none) */
} dice__slowlog_entry;

#define DICE__LAT_SAMPLES 160
typedef struct dice__lat_event {
    char name[48];
    struct {
        int32_t time; /* unix seconds */
        uint32_t ms;
    } samples[DICE__LAT_SAMPLES];
    unsigned idx; /* next slot */
    uint32_t max; /* all-time highest (ms) */
} dice__lat_event;

typedef struct dice__errstat {
    char code[32];
    uint64_t count;
} dice__errstat;
#define DICE__ERRSTATS_MAX 128

typedef struct dice__intro {
    /* ns = ticks * ns_mult >> DICE__NS_SHIFT; calibration origin. */
    uint64_t ns_mult;
    uint64_t cal_ticks, cal_ns;
    /* The smaller of the slowlog and latency-monitor thresholds, in
     * ticks (UINT64_MAX when both are off); slow_ticks is that, or 0
     * while a monitor is attached or an error reply is not yet counted as
     * its command's failure: the dispatcher's one compare. */
    uint64_t slow_ticks, base_slow_ticks;
    /* DICE__INPUT_SLICE_NS in ticks: how long one client's input may run
     * in one loop iteration before the others get their turn. */
    uint64_t slice_ticks;
    /* What commands without a histogram of their own count into
     * (never read). */
    uint64_t sink[DICE__HIST_BUCKETS];
    /* SLOWLOG: newest first, up to slowlog-max-len. */
    dice__slowlog_entry **slow;
    size_t nslow, slow_cap;
    uint64_t slow_next_id;
    /* LATENCY: events by name (few). */
    dice__lat_event *events;
    size_t nevents;
    /* Errorstats, and the error count the last command left (Redis's
     * prev_err_count): a command whose replies moved it failed. */
    dice__errstat *errs;
    size_t nerrs;
    bool errs_full_logged;
    uint64_t error_replies, err_seen;
    /* MONITOR clients. */
    dice_client_t **monitors;
    size_t nmonitors, monitors_cap;
    /* latency-tracking-info-percentiles, parsed. */
    double pctl[16];
    int npctl;
} dice__intro;

/* Calibrate the clock (server creation) and refine it (cron). */
void dice__intro_init(dice_server_t *srv);
void dice__intro_cron(dice_server_t *srv);
void dice__intro_free(dice_server_t *srv);
/* Settings' apply callbacks: thresholds, percentiles, slowlog length. */
void dice__intro_apply(dice_server_t *srv);
static inline uint64_t dice__ticks_to_ns(const dice_server_t *srv, uint64_t t);
/* A command took dt ticks, not less than srv->intro.slow_ticks: its
 * failure (an error was replied), slowlog entry and latency sample as
 * their thresholds say, the MONITOR feed. */
void dice__intro_after(dice_client_t *c, dice_command_t *cmd, uint64_t dt,
                       int argc, const char *const *argv,
                       const size_t *argvlen);
/* Errors replied so far are accounted (a rejected command's). */
void dice__intro_errors_seen(dice_server_t *srv);
/* Give a resolved command its histogram (latency-tracking on), else the
 * sink; so cmd->hist is never NULL in the dispatcher. */
void dice__intro_attach_hist(dice_server_t *srv, dice_command_t *cmd);
/* Before the command table goes: forget the sink pointers. */
void dice__intro_detach_hists(dice_server_t *srv);
/* An error reply (counted by its first word, Redis's errorstats). */
void dice__intro_error(dice_server_t *srv, const char *msg, size_t len);
/* A latency sample of an event, if latency-monitor-threshold lets it. */
void dice__latency_add(dice_server_t *srv, const char *event, uint64_t ms);
/* c becomes / stops being a monitor (0 or DICE_ENOMEM). */
int dice__monitor_add(dice_client_t *c);
/* Feed the monitors c's command now, whatever its flags: the scripting
 * commands (skip-monitor, so the dispatcher does not) show themselves
 * this way before their script's calls, as Redis does, errors included. */
void dice__monitor_feed_now(dice_client_t *c, int argc, const char *const *argv,
                            const size_t *argvlen);
void dice__monitor_remove(dice_client_t *c);
/* Whether argument i of a command line is a secret shown as
 * "(redacted)" by SLOWLOG and MONITOR (AUTH's, HELLO AUTH's). */
bool dice__arg_redacted(const dice_command_t *cmd, int argc,
                        const char *const *argv, const size_t *argvlen, int i);
/* 0 if text is a valid latency-tracking-info-percentiles, else
 * DICE_EINVAL. */
int dice__intro_check_pctl(const char *text);
/* Append s quoted as Redis's sdscatrepr does (MONITOR, CONFIG REWRITE). */
void dice__buf_catrepr(dice_buf_t *b, const char *s, size_t len);
/* The value (ticks, the bucket's top) under which pct percent of a
 * histogram's n samples fall; the percentile as Redis prints it. */
uint64_t dice__hist_percentile(const uint64_t *hist, uint64_t n, double pct);
/* The top (ticks) of bucket i. */
uint64_t dice__hist_bucket_top(unsigned i);
void dice__format_pctl(char *out, size_t size, double pct);
/* Reset the counters (CONFIG RESETSTAT), free the slowlog (SLOWLOG
 * RESET). */
void dice__intro_resetstat(dice_server_t *srv);
void dice__slowlog_reset(dice_server_t *srv);
/* One `save <seconds> <changes>` point. */
typedef struct dice__save_point {
    long long seconds, changes;
} dice__save_point;

/* Snapshot state (lib/server/rdb.c), Redis's rdb_* server fields. */
typedef struct dice__rdb_state {
    dice__save_point *points;
    size_t npoints;
    int child;  /* pid of the BGSAVE child, 0 when none */
    int cow_fd; /* read end of the child's copy-on-write report */
    long long child_start, lastsave, lastbgsave_try, last_bgsave_secs;
    bool last_bgsave_ok, scheduled, loading;
    /* stop-writes-on-bgsave-error in force: write commands (and PING)
     * get -MISCONF; the dispatcher tests only this. */
    bool write_denied;
    bool fail_fork; /* DEBUG hook: the next forks fail (tests) */
    uint64_t dirty_at_save, dirty_at_bgsave;
    uint64_t saves;
    unsigned long long last_cow;
    uint64_t load_loaded, load_expired;
    long long loading_start;
    size_t loading_total;
    size_t loading_loaded;      /* bytes of loading_total read so far */
    long long loading_used_mem; /* the file's used-mem aux field */
} dice__rdb_state;

/* Append-only file state (lib/server/aof.c), Redis's aof_* fields. */
typedef struct dice__aof_incr {
    char *name;
    long long seq;
} dice__aof_incr;

enum { DICE__AOF_OFF = 0, DICE__AOF_ON, DICE__AOF_WAIT_REWRITE };

typedef struct dice__aof_state {
    int state; /* DICE__AOF_*: ON and WAIT_REWRITE feed the buffer */
    uint64_t sink_id;
    int fd;    /* the incr file written (-1: none) */
    char *buf; /* commands not yet written to fd */
    size_t len, cap;
    int seldb; /* db of the last SELECT written (-1: none yet) */
    /* appendfsync always and bytes not yet fsync'd: the replies wait
     * (client_flush commits first). One flag for the flush path. */
    bool hold;
    bool unsynced; /* written since the last fsync (everysec, no) */
    /* The manifest: base, incrs in order, history (to delete). */
    char *base_name;
    char base_type; /* 'b', or 0 when there is no base */
    long long base_seq, incr_seq;
    dice__aof_incr *incr;
    size_t nincr;
    char **history;
    size_t nhistory;
    long long cur_size, base_size, incr_size;
    uint64_t last_fsync_ms, postponed_ms;
    unsigned long long delayed_fsync;
    bool last_write_ok;
    int last_write_errno;
    /* Rewrite (BGREWRITEAOF): the child, its copy-on-write report. */
    int child, cow_fd;
    long long child_start, last_rewrite_secs;
    bool scheduled, last_rewrite_ok;
    unsigned long long rewrites, rewrite_failures, last_cow;
    long long fork_incr_seq; /* the incr opened at the fork */
    /* The background fsync thread (NULL until first used). */
    struct dice__aof_bio *bio;
} dice__aof_state;

struct dice_server {
    dice_loop_t *loop;
    dice_settings_t cfg;
    char cfg_err[256];
    dice_listener_t *listeners;
    size_t nlisteners;
    bool started;
    uint64_t hook_id;
    uint64_t cron_id;
    int spare_fd; /* reserve fd, freed to shed connections on EMFILE */

    dice_cmdtable_t commands;

    dice_client_t *clients; /* list head */
    size_t nclients;
    /* In-process sessions' clients: a list of their own, so CLIENT LIST,
     * CLIENT KILL, maxclients and the idle timeout see only connections. */
    dice_client_t *sessions;
    uint64_t next_client_id;
    size_t maxclients_effective;
    /* What dice_server_start chose for a maxclients left unset (0 if it
     * was set): the value CONFIG REWRITE leaves out as the default. */
    long long maxclients_auto;
    /* DEBUG's switches: SET-ACTIVE-EXPIRE 0 stops the active expiry
     * cycle; CHANGE-REPL-ID draws a new master_replid; the threshold
     * QUICKLIST-PACKED-THRESHOLD sets (bytes, 0 for Redis's 1 GB). */
    bool no_active_expire;
    unsigned repl_id_gen;
    long long ql_packed_threshold;

    /* Clients with output to write before the loop sleeps. */
    dice_client_t **pending;
    size_t npending, pending_cap;

    /* Shared read buffer: every read lands here first, so a client that
     * sends whole commands never needs its own input buffer. */
    char *rbuf;
    size_t rbuf_cap;
    /* Parses the shared buffer; `parsing` is the client it is reading for
     * (NULL between reads). A client gets a parser of its own only while
     * it keeps unprocessed input between reads. */
    dice_req_parser_t *parser;
    dice_client_t *parsing;

    /* Pool of output buffers handed to clients for one flush cycle. */
    dice_buf_t *pool;
    size_t npool, pool_cap;
    size_t pool_bytes;   /* capacity held by pooled buffers */
    uint64_t pool_takes; /* buffers taken since the last cron tick */

    dice_stats_t stats;
    uint64_t start_ms;
    int64_t start_unix_ms;

    dice_log_fn log_fn;
    void *log_arg;
    dice_server_cb shutdown_cb;
    /* The persistence layer's save before a shutdown (lib/server/
     * shutdown.c; lib/commands/persist.c sets it): called with the
     * DICE_SHUTDOWN_* flags, it stops a BGSAVE child and, unless NOSAVE,
     * saves when they have SAVE or save points are configured; returns
     * 0 (saved, or nothing to save) or
     * negative (failed, the reason logged). NULL: nothing to save. */
    int (*shutdown_save)(dice_server_t *srv, unsigned flags);
    /* A shutdown waits (for replicas to catch up, within
     * shutdown-timeout) until this deadline; 0: none in progress. */
    uint64_t shutdown_deadline_ms;
    unsigned shutdown_flags;
    void *shutdown_arg;

    /* Highest used_memory INFO has seen (reset by CONFIG RESETSTAT), and
     * the heap in use when the server started (MEMORY STATS). */
    unsigned long long info_mem_peak;
    unsigned long long mem_startup;
    /* The host's count of allocated bytes (dice_server_set_memory_fn),
     * NULL for mallinfo2. */
    unsigned long long (*mem_fn)(void *arg);
    void *mem_arg;

    /* Keyspace of the built-in keyspace commands (NULL until added), and
     * the timer that runs active expiry and incremental rehashing. */
    dice_keyspace_t *keyspace;
    uint64_t ks_cron_id;

    dice__prop_t prop;
    dice__rdb_state rdb;
    /* maxmemory (lib/server/evict.c; NULL until the limit is first set):
     * the dispatcher tests only oom_check (maxmemory != 0), and keeps
     * whether the outermost command found memory over the limit with
     * nothing left to evict (Redis's pre_command_oom_state, for scripts). */
    struct dice__evict *evict;
    /* maxmemory-clients (lib/server/client_evict.c): on when the limit in
     * bytes (cmem_limit) is not 0; the evictable clients' total, and how
     * many were closed for it (INFO evicted_clients). */
    bool cmem_on;
    unsigned long long cmem_limit, cmem_total, evicted_clients;
    /* The largest client input and output buffers of each of the last
     * DICE__PEAK_SLOTS seconds (Redis's CLIENTS_PEAK_MEM_USAGE_SLOTS, for
     * INFO client_recent_max_*): peak_slot is the current second's slot,
     * peak_sec that second; the cron clears a slot when its second
     * begins. */
    size_t peak_in[8], peak_out[8];
    unsigned peak_slot;
    uint64_t peak_sec;
    bool oom_check;
    bool oom_state;
    dice__aof_state aof;

    /* Blocked clients (lib/server/blocking.c; NULL until one blocks), and
     * whether keys they wait on were written since they were last served:
     * the dispatcher tests only this flag after a command. */
    struct dice__blocking *blk;
    bool blk_ready;
    /* Command handlers running now (EXEC's queued commands nest inside
     * EXEC): blocked clients are served only when it drops back to 0. */
    unsigned call_depth;
    /* The lazy-free thread and its queue (lib/server/lazyfree.c; NULL
     * until first used). */
    struct dice__lazyfree *lazy;
    /* WATCH (lib/server/multi.c): one table per db mapping a watched key
     * to the clients watching it (NULL until the first WATCH), and how
     * many keys are watched in all (the keyspace observer is installed
     * only while this is non-zero). */
    dict *watched_keys;
    int nwatched_dbs;
    size_t nwatched_keys;
    /* Output a client may have after a command before the read path looks
     * at its limits: the smaller of client-output-pause-limit and the
     * 16 KB client-output-buffer-limit ignores. */
    size_t out_check;
    /* The pub/sub layer (lib/pubsub/, above this one): its state, and what
     * the server core calls into it for, set when it is attached. */
    void *pubsub;
    struct {
        void (*client_free)(dice_client_t *c); /* c has subscriptions */
        void (*server_free)(dice_server_t *srv);
        /* c's channels, patterns and shard channels (CLIENT LIST). */
        void (*client_counts)(const dice_client_t *c, size_t n[3]);
        /* A key was added to db (Redis's dbAdd: the "new" event), or
         * deleted because its TTL passed ("expired"). */
        void (*key_new)(dice_server_t *srv, int db, const char *key,
                        size_t klen);
        void (*key_expired)(dice_server_t *srv, int db, const char *key,
                            size_t klen);
        void (*key_evicted)(dice_server_t *srv, int db, const char *key,
                            size_t klen);
    } pubsub_hooks;
    dice__intro intro;
    dice__acl acl; /* users, the ACL log (lib/server/acl.c) */
    /* The config file the server was loaded from (CONFIG REWRITE), NULL
     * when none; malloc'd. */
    char *config_file;
    /* Client-side caching (lib/server/tracking.c; NULL until the first
     * CLIENT TRACKING ON) and the client running a command for a tracking
     * client (NOLOOP, and the invalidations it must get after its reply),
     * NULL otherwise. */
    struct dice__tracking *trk;
    dice_client_t *current;
    /* Connections by id (CLIENT KILL ID, UNBLOCK, tracking's redirection
     * and invalidation targets): a dict whose entries are the clients. */
    dict clients_by_id;
    /* CLIENT PAUSE (Redis's pauseClients): DICE__PAUSE_*, the loop time it
     * ends at and its timer; the clients whose commands wait, in the order
     * they were held; set when they may run again (from before-sleep). */
    int pause_type;
    uint64_t pause_end_ms, pause_timer;
    dice_client_t **postponed;
    size_t npostponed, postponed_cap;
    bool pause_release;
    /* Clients with commands left over from their batch (client->backlog),
     * run by a zero-delay timer in the next iteration. */
    dice_client_t **backlog;
    size_t nbacklog, backlog_cap;
    uint64_t backlog_timer;
    /* The scripting layer (lib/scripting/, above this one; NULL until
     * its commands are added) and its free function. While a script runs
     * past busy-reply-threshold, busy_err is the BUSY error other clients'
     * commands get (Redis's slowevalerr / slowscripterr), else NULL:
     * dispatch tests only that. shutdown_asked: SHUTDOWN ran (a busy
     * script then stops at its next hook). */
    void *scripting;
    void (*scripting_free)(dice_server_t *srv);
    /* The function libraries in snapshots (set with the scripting
     * commands; NULL without them): functions_save(srv, put, sink) puts
     * every library's code, functions_load(srv, code, len, err, errsize)
     * creates one read from a file (as dice__rdb_save_opts.functions and
     * dice__rdb_load_opts.function, with srv as their ctx). */
    int (*functions_save)(void *srv,
                          int (*put)(void *sink, const char *code, size_t len),
                          void *sink);
    int (*functions_load)(void *srv, const char *code, size_t len, char *err,
                          size_t errsize);
    const char *busy_err;
    bool shutdown_asked;
    /* The server-state refusals in force (DICE__REFUSE_*), one word so
     * that dispatch tests them all with one load: set and cleared with
     * dice__server_refuse beside the state each one mirrors. */
    unsigned refuse;
    /* TLS (lib/server/conn_tls.c): the context and the connections with
     * input waiting inside OpenSSL; NULL until configured. tls_dirty: a
     * tls-* setting changed and the context is to be rebuilt when the
     * change is committed (dice__config_commit). cfg_batch: CONFIG SET is
     * setting several values, which are committed together. */
    struct dice__tls *tls;
    bool tls_dirty;
    int cfg_batch;
    const char *cfg_commit_name; /* the first setting that made it dirty */
};

/* Set or clear one of srv->refuse's DICE__REFUSE_* bits. */
static inline void dice__server_refuse(dice_server_t *srv, unsigned bit,
                                       bool on) {
    srv->refuse = on ? (srv->refuse | bit) : (srv->refuse & ~bit);
}

/* A changed tls-* setting: the context is rebuilt at commit. */
void dice__server_tls_changed(dice_server_t *srv);
/* Carry out what changed settings left to do together (rebuild the TLS
 * context, open or close the TLS listener for a new tls-port). 0, or
 * DICE_E* with Redis's reason in cfg_err (the caller restores the old
 * settings). */
int dice__config_commit(dice_server_t *srv);

static inline uint64_t dice__ticks_to_ns(const dice_server_t *srv, uint64_t t) {
    return (t * srv->intro.ns_mult) >> DICE__NS_SHIFT;
}

enum { DICE__PAUSE_OFF = 0, DICE__PAUSE_WRITE = 1, DICE__PAUSE_ALL = 2 };

/* Printf-style logging for the library's own messages. */
void dice__logf(dice_server_t *srv, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Error reply with printf formatting (library-internal convenience). */
int dice__reply_errorf(dice_client_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Redis's arity error for a command. */
int dice__reply_arity_error(dice_client_t *c, const dice_command_t *cmd);

/* Commands (lib/server/commands.c). */
/* Resolve argv to the command to run (sub-command aware) or reply with the
 * right error and return NULL. */
dice_command_t *dice__command_resolve_full(dice_client_t *c, int argc,
                                           const char *const *argv,
                                           const size_t *argvlen);
/* Its common case inline, for dispatch: the client's cached command, of
 * the table's generation, with no sub-commands, the right arity and
 * nothing to check for who asks (authenticated, no ACL, not a subscriber,
 * not protected). Anything else takes the full path. */
static inline __attribute__((always_inline)) dice_command_t *
dice__command_resolve(dice_client_t *c, int argc, const char *const *argv,
                      const size_t *argvlen) {
    dice_command_t *cmd = c->cmd_cache;
    if (__builtin_expect(
            cmd && c->cmd_cache_gen == c->srv->commands.gen &&
                dice__command_name_eq(cmd, argv[0], argvlen[0]) &&
                cmd->nsubs == 0 &&
                (cmd->arity > 0 ? argc == cmd->arity : argc >= -cmd->arity) &&
                cmd->fn && !(cmd->flags & DICE_CMD_PROTECTED) &&
                c->authenticated && !(c->flags & (CLIENT_PUBSUB | CLIENT_ACL)),
            1))
        return cmd;
    return dice__command_resolve_full(c, argc, argv, argvlen);
}
/* Register n descriptors (as sub-commands of parent, or top-level when
 * parent is NULL); group applies to those that name none. */
int dice__command_register(dice_server_t *srv, const char *parent,
                           const char *group, const dice__cmd_desc *d,
                           size_t n);
/* Attach key specs to registered commands, by full name (the specs stay
 * the caller's: static). DICE_ENOENT when a name is not registered. */
int dice__command_set_keyspecs(dice_server_t *srv, const dice__cmd_keyspecs *t,
                               size_t n);

/* Propagation (lib/server/propagate.c). The dispatcher brackets every
 * command with begin/end; end hands the command's effect to the sinks. */
void dice__propagate_begin(dice_client_t *c, dice__prop_frame *f);
void dice__propagate_end(dice_client_t *c, const dice__prop_frame *f, int argc,
                         const char *const *argv, const size_t *argvlen);
/* True while c's command runs and some sink listens: a command need only
 * build a rewritten form (dice_client_propagate) when this says so. */
bool dice__propagating(const dice_client_t *c);
/* Propagate c's running command even if it changed nothing (Redis's
 * forceCommandPropagation: FLUSHALL and FLUSHDB of an empty dataset). */
void dice__propagate_force(dice_client_t *c);
/* Wrap what c's running command's inner commands propagate in MULTI ...
 * EXEC when they propagate more than one vector (EXEC: Redis 7.0 leaves
 * a lone vector unwrapped, it is atomic anyway). */
void dice__propagate_wrap(dice_client_t *c);
/* A sink of the given kind (DICE__PROP_AOF for the append-only file):
 * dice_server_add_propagation_sink's work. */
int dice__propagate_add_sink(dice_server_t *srv, dice_propagate_fn fn,
                             void *arg, unsigned kind, uint64_t *id);
/* Start propagating the keyspace's expiry deletions (once it exists). */
/* Propagate the deletion of key by the server itself (expiry, eviction)
 * as DEL, or UNLINK when lazy (Redis's propagateDeletion); flushed at once
 * outside a command. */
void dice__propagate_deletion(dice_server_t *srv, int db, const char *key,
                              size_t klen, bool lazy);
void dice__propagate_attach(dice_server_t *srv);
void dice__propagate_free(dice_server_t *srv);

/* Transactions and WATCH (lib/server/multi.c), Redis's multi.c. */
/* Enter MULTI: 0, or DICE_ENOMEM. */
int dice__multi_begin(dice_client_t *c);
/* Queue a command while in MULTI (argv copied); on DICE_ENOMEM the
 * transaction is flagged to abort. */
int dice__multi_queue(dice_client_t *c, unsigned cmd_flags, int argc,
                      const char *const *argv, const size_t *argvlen);
/* The DICE_CMD_* flags of every command c's MULTI queued, or'ed (a WRITE
 * pause holds an EXEC that writes). */
unsigned dice__multi_flags(const dice_client_t *c);
/* Commands queued by c's MULTI (c->multi must be set: in MULTI, or while
 * EXEC runs them). */
size_t dice__multi_count(const dice_client_t *c);
/* Bytes MULTI's queue holds (CLIENT LIST multi-mem); 0 outside MULTI. */
size_t dice__multi_mem(const dice_client_t *c);

/* ---- Client eviction (lib/server/client_evict.c): maxmemory-clients ---- */

/* What c holds, as CLIENT LIST's tot-mem: the client itself, its query
 * and output buffers, name, MULTI queue, watched keys' records, and
 * argv_mem (the running command's arguments, known for the caller only). */
size_t dice__client_memory(const dice_client_t *c, size_t argv_mem);
/* Recount c's memory into the server's total (only while the limit is
 * on: callers test srv->cmem_on, so the limit costs one test when off).
 * It evicts nothing: dice__clients_evict does, where that is safe. */
void dice__client_mem_update(dice_client_t *c);
/* c goes away: its share leaves the total. */
void dice__client_mem_forget(dice_client_t *c);
/* While the evictable clients hold at least the limit, close the one
 * holding the most (never CLIENT NO-EVICT ones, nor clients with no
 * connection); counts evicted_clients. Returns true if it closed any. */
bool dice__clients_evict(dice_server_t *srv);
/* maxmemory-clients' (and maxmemory's) side effect: the byte limit, and
 * every client counted afresh when it turns on. */
void dice__client_evict_apply(dice_server_t *srv);
#define DICE__PEAK_SLOTS 8
/* c's buffer sizes into the current second's peak (two compares). */
static inline void dice__client_peak_note(dice_client_t *c) {
    dice_server_t *srv = c->srv;
    unsigned i = srv->peak_slot;
    if (c->qcap > srv->peak_in[i])
        srv->peak_in[i] = c->qcap;
    if (c->out.cap > srv->peak_out[i])
        srv->peak_out[i] = c->out.cap;
}
/* The cron's step: a new second gets a cleared slot (and so do the
 * seconds skipped by a long stall). */
void dice__client_peak_cron(dice_server_t *srv);
/* The largest input and output buffers of the last DICE__PEAK_SLOTS
 * seconds (the connected clients' current ones included by the caller). */
void dice__client_peaks(dice_server_t *srv, size_t *in, size_t *out);
static inline void dice__client_mem_note(dice_client_t *c) {
    dice__client_peak_note(c);
    if (__builtin_expect(c->srv->cmem_on, 0))
        dice__client_mem_update(c);
}
/* Forget the queued commands, leave MULTI, unwatch (DISCARD, RESET,
 * disconnect). */
void dice__multi_discard(dice_client_t *c);
/* EXEC: reply EXECABORT, a null array (a watched key changed or expired)
 * or an array of the replies of the queued commands, run through
 * dice__client_call with CLIENT_DENY_BLOCKING set. c must be in MULTI. */
void dice__multi_exec(dice_client_t *c);
/* WATCH one key of c's db: 0 or DICE_ENOMEM. */
int dice__watch_key(dice_client_t *c, const char *key, size_t klen);
/* UNWATCH every key of c. */
void dice__unwatch_all(dice_client_t *c);
/* Free the watched-key tables (server free; every client is gone). */
void dice__watch_free(dice_server_t *srv);

/* Configuration (lib/server/config.c). */
/* Every setting at its default (strings malloc'd): 0 or DICE_ENOMEM. */
int dice__settings_init(dice_settings_t *s);
void dice__settings_free(dice_settings_t *s);
/* Visit every setting whose name matches pattern (glob), for CONFIG GET. */
typedef void (*dice_config_visit_fn)(void *arg, const char *name,
                                     const char *value);
void dice__config_visit(dice_server_t *srv, const char *pattern, size_t plen,
                        dice_config_visit_fn fn, void *arg);
/* A setting's whole current value, malloc'd; NULL if unknown or no
 * memory. */
char *dice__config_value(dice_server_t *srv, const char *name);
/* 0 if the setting exists and client c may change it now, DICE_ENOENT or
 * DICE_ESTATE (immutable, or protected and c not allowed; the error text
 * is in cfg_err); changes nothing. c NULL means the host. */
int dice__config_check(dice_server_t *srv, const char *name,
                       const dice_client_t *c);
/* The setting's name as the table spells it, or NULL if unknown. */
const char *dice__config_name(const char *name);
/* Copy every setting (strings duplicated), and put such a copy back (taking
 * its strings) with all side effects re-applied: CONFIG SET's
 * all-or-nothing. */
int dice__config_snapshot(dice_server_t *srv, dice_settings_t *out);
void dice__config_restore(dice_server_t *srv, dice_settings_t *saved);
/* Redis 7.0's memory notation (memtoull: digits, then nothing or b, k,
 * kb, m, mb, g, gb in any case). False when v is not of that shape;
 * *overflow when it is but does not fit a long long. */
bool dice__parse_memory(const char *v, long long *out, bool *overflow);
/* CONFIG REWRITE: rewrite the file the settings were loaded from
 * (dice_server_config_load) as Redis 7.0 does. 0, DICE_ESTATE when no
 * file was loaded, or DICE_ESYS with errno set. */
int dice__config_rewrite(dice_server_t *srv);
/* Split a line into arguments with Redis's inline quoting rules. Returns
 * the count (>= 0) and a malloc'd array of malloc'd NUL-terminated strings
 * in *out (free with dice__split_free), or -1 on unbalanced quotes. */
int dice__split_args(const char *line, size_t len, char ***out);
void dice__split_free(char **v, int n);

/* Shutdown (lib/server/shutdown.c). */
/* Save before stopping, through srv->shutdown_save when there is one:
 * 0 (saved, or nothing to save) or negative (failed, reason logged). */
int dice__server_shutdown_save(dice_server_t *srv, unsigned flags);
/* SHUTDOWN ABORT: 0 if a shutdown in progress was cancelled, else
 * DICE_ESTATE. */
int dice__server_shutdown_abort(dice_server_t *srv);

/* Server core (lib/server/server.c). */
/* (Re)arm the server's and the keyspace's periodic timers at cfg.hz. */
int dice__server_arm_crons(dice_server_t *srv);
/* Attach a keyspace of cfg.databases databases to the server (once) and
 * start its active-expiry and rehash cron (lib/server/keyspace.c). */
int dice__server_keyspace_attach(dice_server_t *srv);
int dice__keyspace_arm_cron(dice_server_t *srv, uint64_t period_ms);
/* Apply the request limits in the settings to a parser. */
void dice__server_apply_limits(dice_server_t *srv, dice_req_parser_t *p);
/* Re-apply the unauthenticated-client limits after c's state changed. */
void dice__client_sync_auth(dice_client_t *c);
void dice__client_free_now(dice_client_t *c);
/* Run the commands c received while it could not run them (held, blocked,
 * paused), if it can run them now and no handler of its is running. */
void dice__client_resume_input(dice_client_t *c);
/* While a command runs for long (a busy script): read and answer other
 * clients now, from inside it (Redis's processEventsWhileBlocked). Only
 * fd events are served, and replies written; timers wait. */
void dice__server_process_events_nested(dice_server_t *srv);
/* Run one parsed command for c: resolve it (unknown command, arity, auth
 * errors are replied here), count it, set the keyspace's clock, call the
 * handler, propagate its effect. The one dispatch function of every path:
 * network input and in-process sessions. argv is borrowed for the call. */
void dice__client_call(dice_client_t *c, int argc, const char *const *argv,
                       const size_t *argvlen);
/* Free what a session owns beside its client (lib/server/session.c);
 * called by dice__client_free_now for a CLIENT_SESSION client just before
 * the memory (client and session together) goes. */
void dice__session_release(dice_client_t *c);
size_t dice__client_output_pending(const dice_client_t *c);
/* Enforce client-output-buffer-limit for c's class (pubsub while
 * subscribed, else normal) after output was added: past the hard limit,
 * or past the soft one for soft_seconds, c is logged and its socket
 * closed (the object goes once nothing refers to it, as Redis's
 * asynchronous close). Returns true if c was closed. */
bool dice__client_obuf_check(dice_client_t *c);
/* One CLIENT LIST line for cl (no newline), in Redis 7.0.15's field
 * order, appended to b; self is the client asking, argv_mem its argv's
 * size (CLIENT LIST, CLIENT INFO, and the log line of a client closed for
 * its output buffer). */
void dice__client_info_line(dice_buf_t *b, dice_client_t *cl,
                            dice_client_t *self, size_t argv_mem);
size_t dice__server_effective_maxclients(dice_server_t *srv);
/* Side effects of settings, called from the settings table (config.c).
 * 0 if the server can take n clients: always before it starts (start fits
 * the value), else within its open-file limit; otherwise DICE_ELIMIT with
 * Redis's text in cfg_err (and the reason logged). */
int dice__server_check_maxclients(dice_server_t *srv, long long n);
/* Enforce cfg.maxclients from now on (once started). */
void dice__server_apply_maxclients(dice_server_t *srv);
/* Put the request limits of the settings (proto-max-bulk-len) into the
 * shared parser and every client's own, for the next command parsed. */
void dice__server_apply_request_limits(dice_server_t *srv);
/* Recompute srv->out_check after client-output-pause-limit changed. */
void dice__server_apply_output_limits(dice_server_t *srv);
/* True if policy (DICE_ALLOW_*) lets client c use a protected action. */
bool dice__client_allowed(const dice_client_t *c, int policy);
/* The live (not closed) connection with this id, or NULL. */
dice_client_t *dice__client_by_id(dice_server_t *srv, uint64_t id);
/* Write a push (a pub/sub message, an invalidation) to c: delivered even
 * under CLIENT REPLY OFF|SKIP. 0, or DICE_ENOMEM. */
int dice__reply_push_raw(dice_client_t *c, const char *resp, size_t len);

/* Client-side caching (lib/server/tracking.c), Redis's tracking.c. */
/* CLIENT TRACKING ON with its options (CLIENT_TRACKING_BCAST, _OPTIN,
 * _OPTOUT, _NOLOOP), after the caller checked them (see
 * dice__tracking_prefix_clash): 0 or DICE_ENOMEM. */
int dice__tracking_enable(dice_client_t *c, uint64_t redir, unsigned options,
                          const char *const *prefix, const size_t *plen,
                          size_t nprefix);
/* CLIENT TRACKING OFF, RESET and disconnection. */
void dice__tracking_disable(dice_client_t *c);
/* Redis's checkPrefixCollisionsOrReply: replies with the error and
 * returns true when a new prefix overlaps one of c's or another new one. */
bool dice__tracking_prefix_clash(dice_client_t *c, const char *const *prefix,
                                 const size_t *plen, size_t nprefix);
/* c's prefixes in order, for CLIENT TRACKINGINFO. */
size_t dice__tracking_prefixes(const dice_client_t *c, size_t i, const char **p,
                               size_t *len);
uint64_t dice__tracking_redir(const dice_client_t *c);
/* FLUSHALL and FLUSHDB: every tracking client gets the null invalidation
 * (the running client's after its reply), and the table is emptied. */
void dice__tracking_flush(dice_server_t *srv);
/* After a command of a tracking client: remember the keys a read-only one
 * read (OPTIN/OPTOUT permitting). */
void dice__tracking_remember(dice_client_t *c, const dice_command_t *cmd,
                             int argc, const char *const *argv,
                             const size_t *argvlen);
/* Send the running client's deferred invalidations (after its reply). */
void dice__tracking_pending(dice_server_t *srv);
/* Before the loop sleeps: BCAST invalidations collected this iteration. */
void dice__tracking_before_sleep(dice_server_t *srv);
/* Keep the table within tracking-table-max-keys (invalidating keys at
 * random, as Redis's trackingLimitUsedSlots). */
void dice__tracking_limit(dice_server_t *srv);
/* INFO figures: tracking clients, keys, items (key, client pairs),
 * prefixes. */
void dice__tracking_stats(dice_server_t *srv, unsigned long long out[4]);
void dice__tracking_free(dice_server_t *srv);

/* CLIENT PAUSE (lib/server/server.c). */
/* Pause clients until end_ms (loop clock) for DICE__PAUSE_WRITE or _ALL:
 * the more restrictive type and the later end win, as Redis. */
int dice__pause_start(dice_server_t *srv, int type, uint64_t end_ms);
/* CLIENT UNPAUSE: the held clients run again, in the order they were
 * held, from the before-sleep step. */
void dice__pause_end(dice_server_t *srv);

/* Snapshots (lib/server/rdb.c). */
/* Parse the "save" setting: pairs of seconds (>= 1) and changes (>= 0).
 * *out (malloc'd, NULL for none) and *n get the points. 0, DICE_EINVAL or
 * DICE_ENOMEM. */
int dice__rdb_parse_save(const char *text, dice__save_point **out, size_t *n);
/* Side effects of save and stop-writes-on-bgsave-error. */
void dice__rdb_apply_save(dice_server_t *srv);
void dice__rdb_update_denied(dice_server_t *srv);
/* Write the keyspace to path (NULL: dir/dbfilename) from this thread,
 * through temp-<pid>.rdb, fsync and rename (SAVE, SHUTDOWN, FLUSHALL,
 * DEBUG RELOAD). Logs what failed. Returns 0, DICE_ESTATE (no keyspace)
 * or the error (DICE_ESYS with errno). */
int dice__rdb_save(dice_server_t *srv, const char *path);
/* Fork a child that writes dir/dbfilename (BGSAVE). Returns 0 (started),
 * DICE_EEXIST (a child is running), DICE_ESTATE (no keyspace) or
 * DICE_ESYS (fork failed, logged; the bgsave status is then err). */
int dice__rdb_bgsave(dice_server_t *srv);
/* BGSAVE's and BGREWRITEAOF's fork (lib/server/rdb.c): the child runs
 * work(srv, arg), reports its copy-on-write bytes on a pipe when work
 * returns 0, and _exits 0 (1 when work failed). In the parent, *cow_fd
 * gets the pipe's read end (-1 without one; the caller closes it) and
 * *fork_ms how long fork took. Returns the child's pid, or -1 with errno
 * (EAGAIN under DEBUG's fail-fork) and nothing left open. */
pid_t dice__fork_child(dice_server_t *srv,
                       int (*work)(dice_server_t *srv, void *arg), void *arg,
                       int *cow_fd, uint64_t *fork_ms);
/* Kill a running child (SIGUSR1) and reap it; its temp file goes. */
void dice__rdb_kill_child(dice_server_t *srv);
/* From the keyspace cron: reap the child, fire save points and a
 * scheduled BGSAVE. */
void dice__rdb_cron(dice_server_t *srv);
/* Load an RDB file into the keyspace (keys already there stay unless the
 * file has them). DICE_ENOENT (no file, when quiet_enoent: not logged),
 * DICE_ESYS, DICE_EAGAIN (truncated) or DICE_EPROTO (corrupt), logged
 * with the file and the offset. */
int dice__rdb_load_file(dice_server_t *srv, const char *path,
                        bool quiet_enoent);
/* At start: load dir/dbfilename if it exists. */
int dice__rdb_load_startup(dice_server_t *srv);
/* Loading the dataset (Redis's startLoading, loadingProgress,
 * stopLoading): begin with the bytes to read; progress with the bytes read
 * so far (at most every DICE__LOADING_EVENTS_BYTES), which, at start,
 * serves the clients' events meanwhile, answering -LOADING to commands
 * without the loading flag (Redis's processEventsWhileBlocked); end. */
#define DICE__LOADING_EVENTS_BYTES (2u * 1024 * 1024)
void dice__rdb_loading_begin(dice_server_t *srv, size_t total);
bool dice__rdb_loading_progress(dice_server_t *srv, size_t loaded);
void dice__rdb_loading_end(dice_server_t *srv);
/* INFO persistence's loading and rdb_* lines. */
void dice__rdb_info(dice_server_t *srv, dice_buf_t *b);
/* Its loading_* lines, after the aof_* ones, while loading. */
void dice__rdb_loading_info(dice_server_t *srv, dice_buf_t *b);
void dice__rdb_free(dice_server_t *srv);
/* Whether stop-writes-on-bgsave-error refuses writes now. */
bool dice__rdb_denies(const dice_server_t *srv);

/* The append-only file (lib/server/aof.c). */
void dice__aof_init(dice_server_t *srv);
/* At start, listening (clients served while it loads, see
 * dice__rdb_loading_progress): with appendonly yes, load the directory's
 * files (creating it, a base and an incr when empty) and start appending.
 * 0, or negative (the reason logged). */
int dice__aof_startup(dice_server_t *srv);
/* Write the buffer, then fsync as appendfsync says (always: now). force
 * writes even when an everysec fsync is still running. */
void dice__aof_flush(dice_server_t *srv, bool force);
/* The cron: reap a rewrite child, retry a failed write, the everysec fsync,
 * a scheduled or automatic rewrite. */
void dice__aof_cron(dice_server_t *srv);
/* BGREWRITEAOF: 0 started, DICE_EEXIST (a rewrite runs), DICE_EAGAIN
 * (another child runs: scheduled), DICE_ESYS (fork failed, logged). */
int dice__aof_rewrite(dice_server_t *srv);
/* CONFIG SET appendonly: check starts it (fails with the reason in
 * cfg_err), apply follows the setting (stop, or a rollback). */
int dice__aof_check_enable(dice_server_t *srv, long long v);
void dice__aof_apply_enable(dice_server_t *srv);
void dice__aof_kill_child(dice_server_t *srv);
/* Flush and fsync before the server goes (SHUTDOWN). */
void dice__aof_shutdown(dice_server_t *srv);
/* INFO persistence's aof_* lines. */
void dice__aof_info(dice_server_t *srv, dice_buf_t *b);
void dice__aof_free(dice_server_t *srv);

#endif
