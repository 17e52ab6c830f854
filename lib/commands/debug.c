/* The DEBUG command, as redis-server 7.0.15 answers the subcommands that
 * its own test suite relies on: OBJECT, DIGEST, DIGEST-VALUE, SLEEP,
 * SET-ACTIVE-EXPIRE, POPULATE, PROTOCOL, LOG, HTSTATS, LISTPACK,
 * QUICKLIST, QUICKLIST-PACKED-THRESHOLD, CHANGE-REPL-ID, STRINGMATCH-TEST
 * (Redis's debug.c). DEBUG HELP lists exactly these. */
#include "commands/commands_internal.h"
#include "core/core_internal.h"
#include "core/sha1.h"
#include "keyspace/db_internal.h"
#include "types/list.h"
#include "types/rdb.h"
#include "types/types_internal.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>

/* ---- API ---------------------------------------------------------------- */

/* Stall the thread for secs seconds, or less if a shutdown signal
 * (SIGTERM, SIGINT) arrives: a DEBUG SLEEP must not outlive a kill. A host
 * that reads those signals from a signalfd (dice-server does) keeps them
 * blocked, so the sleep waits on a signalfd of its own: polling one shows
 * a pending signal without taking it, and the host's signalfd still reads
 * it once the loop runs again. When they are not blocked, a handler (or
 * the default action, which ends the process) cuts nanosleep short. */
static void debug_sleep(double secs) {
    /* inf or 1e19 would overflow time_t: a day is long enough for any
     * test. NaN and negatives sleep 0 s. */
    if (!(secs > 0))
        return;
    if (secs > 86400)
        secs = 86400;
    struct timespec ts;
    ts.tv_sec = (time_t)secs;
    ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
    sigset_t blocked, stop;
    sigemptyset(&stop);
    if (pthread_sigmask(SIG_BLOCK, NULL, &blocked) == 0) {
        if (sigismember(&blocked, SIGTERM) == 1)
            sigaddset(&stop, SIGTERM);
        if (sigismember(&blocked, SIGINT) == 1)
            sigaddset(&stop, SIGINT);
    }
    int sfd = -1;
    if (sigismember(&stop, SIGTERM) == 1 || sigismember(&stop, SIGINT) == 1)
        sfd = signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        nanosleep(&ts, NULL); /* EINTR ends it, as in Redis */
        return;
    }
    struct timespec end, now;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += ts.tv_sec;
    end.tv_nsec += ts.tv_nsec;
    if (end.tv_nsec >= 1000000000L) {
        end.tv_sec++;
        end.tv_nsec -= 1000000000L;
    }
    for (;;) {
        struct pollfd p = {.fd = sfd, .events = POLLIN};
        int r = ppoll(&p, 1, &ts, NULL);
        if (r != 0 && !(r < 0 && errno == EINTR))
            break; /* a shutdown signal is pending (or poll failed) */
        /* Timed out, or another signal's handler ran: sleep what is left. */
        clock_gettime(CLOCK_MONOTONIC, &now);
        ts.tv_sec = end.tv_sec - now.tv_sec;
        ts.tv_nsec = end.tv_nsec - now.tv_nsec;
        if (ts.tv_nsec < 0) {
            ts.tv_sec--;
            ts.tv_nsec += 1000000000L;
        }
        if (ts.tv_sec < 0 || (ts.tv_sec == 0 && ts.tv_nsec == 0))
            break;
    }
    close(sfd);
}

/* DEBUG DIGEST and DEBUG DIGEST-VALUE <key> [<key> ...], as Redis 7.0
 * answers them: 40 hex digits as a status reply, all zeros for an empty
 * dataset or a missing key (see lib/types/type.c for what is digested).
 * Returns 1 when argv was one of them (and has been answered). */
static int debug_digest(dice_client_t *c, int argc, const char *const *argv,
                        const size_t *argvlen) {
    uint8_t d[DICE_DIGEST_LEN] = {0};
    char hex[2 * DICE_DIGEST_LEN + 1];
    dice_keyspace_t *ks = c->srv->keyspace; /* NULL: no keyspace family */
    if (argc == 2 && dice__eqci(argv[1], argvlen[1], "digest")) {
        if (ks)
            dice_keyspace_digest(ks, d);
        dice__hex(d, sizeof(d), hex);
        dice_reply_simple(c, hex, 2 * DICE_DIGEST_LEN);
        return 1;
    }
    if (dice__eqci(argv[1], argvlen[1], "digest-value")) {
        dice_reply_array(c, (size_t)(argc - 2));
        for (int j = 2; j < argc; j++) {
            if (ks)
                dice_db_digest_value(dice__cmd_db(c), argv[j], argvlen[j], d);
            dice__hex(d, sizeof(d), hex);
            dice_reply_simple(c, hex, 2 * DICE_DIGEST_LEN);
        }
        return 1;
    }
    return 0;
}

/* Redis's "value is out of range, must be positive" parse (getPositive
 * LongFromObjectOrReply): true with *out set, or false (replied). */
static bool positive_arg(dice_client_t *c, const char *s, size_t len,
                         long long *out) {
    if (!dice__str2ll(s, len, out) || *out < 0) {
        dice__reply_errstr(c, "ERR value is out of range, must be positive");
        return false;
    }
    return true;
}

/* ---- Commands ----------------------------------------------------------- */

/* DEBUG OBJECT <key>: Redis's line, with the type's serialized length,
 * and for lists the quicklist's shape. refcount is Redis's: INT_MAX for
 * the integers 0..9999 it shares, else 1 (values are never shared). */
/* A dice_type_write_fn that only counts. */
static int count_written(void *ctx, const void *data, size_t len) {
    (void)data;
    *(size_t *)ctx += len;
    return 0;
}

static void debug_object(dice_client_t *c, const char *key, size_t klen) {
    dice_db_t *db = dice__cmd_db(c);
    dice__object_info in;
    uint32_t clock;
    int64_t idle;
    if (!c->srv->keyspace || dice__db_object_info(db, key, klen, &in) < 0 ||
        dice__db_object_clock(db, key, klen, &clock, &idle) < 0) {
        dice__reply_err(c, DICE__ERR_NO_SUCH_KEY);
        return;
    }
    char extra[256] = "";
    if (in.type == DICE_TYPE_LIST && in.obj) {
        const dice__list *l = in.obj;
        unsigned long sz = 0;
        for (const dice__qlnode *n = l->head; n; n = n->next)
            sz += n->sz;
        snprintf(extra, sizeof(extra),
                 " ql_nodes:%zu ql_avg_node:%.2f ql_listpack_max:%d "
                 "ql_compressed:%d ql_uncompressed_size:%lu",
                 l->nnodes,
                 l->nnodes ? (double)l->count / (double)l->nnodes : 0.0,
                 l->fill, l->depth != 0, sz);
    }
    /* Redis's serializedlength is what SAVE writes for the value,
     * compressed as rdbcompression says: DUMP's payload without its type
     * byte and its 10-byte footer (version and CRC). */
    size_t serialized = in.serialized_len, dumped = 0;
    uint8_t *e = dice__ks_lookup(db, key, klen, NULL, NULL, 0);
    if (e &&
        dice__rdb_dump(c->srv->keyspace, e, c->srv->cfg.rdbcompression,
                       count_written, &dumped) == 0 &&
        dumped >= 11)
        serialized = dumped - 11;
    int refcount = 1;
    if (strcmp(in.encoding, "int") == 0) {
        char nb[DICE_DB_NUMBUF];
        const char *v;
        size_t vlen;
        long long n;
        if (dice_db_get(db, key, klen, nb, &v, &vlen) == 0 &&
            dice__str2ll(v, vlen, &n) && n >= 0 && n < 10000)
            refcount = INT_MAX;
    }
    char line[512];
    int n = snprintf(line, sizeof(line),
                     "Value at:%p refcount:%d encoding:%s serializedlength:%zu "
                     "lru:%u lru_seconds_idle:%lld%s",
                     in.addr, refcount, in.encoding, serialized,
                     (unsigned)clock, (long long)idle, extra);
    dice_reply_simple(c, line, (size_t)n);
}

/* DEBUG POPULATE <count> [<prefix>] [<size>]: keys prefix:N ("key" by
 * default) holding "value:N", zero-padded or cut to size bytes; keys that
 * exist are left alone. */
static void debug_populate(dice_client_t *c, int argc, const char *const *argv,
                           const size_t *argvlen) {
    long long count, size = 0;
    if (!positive_arg(c, argv[2], argvlen[2], &count))
        return;
    if (argc == 5 && !positive_arg(c, argv[4], argvlen[4], &size))
        return;
    const char *prefix = argc >= 4 ? argv[3] : "key";
    size_t plen = argc >= 4 ? argvlen[3] : 3;
    if (!c->srv->keyspace) {
        dice_reply_ok(c);
        return;
    }
    dice_db_t *db = dice__cmd_db(c);
    char *kb = malloc(plen + 24);
    char *vb = malloc(size > 32 ? (size_t)size : 32);
    if (!kb || !vb) {
        free(kb);
        free(vb);
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    memcpy(kb, prefix, plen);
    for (long long j = 0; j < count; j++) {
        size_t kl = plen + (size_t)sprintf(kb + plen, ":%lld", j);
        size_t vl = (size_t)sprintf(vb, "value:%lld", j);
        if (size > 0) {
            if ((size_t)size > vl)
                memset(vb + vl, 0, (size_t)size - vl);
            vl = (size_t)size;
        }
        if (dice_db_set(db, kb, kl, vb, vl, DICE_SET_NX, 0) == DICE_ENOMEM) {
            free(kb);
            free(vb);
            dice__reply_err(c, DICE__ERR_NOMEM);
            return;
        }
    }
    free(kb);
    free(vb);
    dice_reply_ok(c);
}

/* DEBUG PROTOCOL <type>: Redis's test value of each type, downgraded for
 * RESP2 as Redis does. */
static void debug_protocol(dice_client_t *c, const char *t, size_t tlen) {
    static const char hello[] = "Some real reply following the attribute";
    if (dice__eqci(t, tlen, "string")) {
        dice_reply_cstr(c, "Hello World");
    } else if (dice__eqci(t, tlen, "integer")) {
        dice_reply_int(c, 12345);
    } else if (dice__eqci(t, tlen, "double")) {
        dice_reply_double(c, 3.141);
    } else if (dice__eqci(t, tlen, "bignum")) {
        static const char big[] = "1234567999999999999999999999999999999";
        dice_reply_bignum(c, big, sizeof(big) - 1);
    } else if (dice__eqci(t, tlen, "null")) {
        dice_reply_null(c);
    } else if (dice__eqci(t, tlen, "array") || dice__eqci(t, tlen, "set")) {
        if (tlen == 3)
            dice_reply_set(c, 3);
        else
            dice_reply_array(c, 3);
        for (int j = 0; j < 3; j++)
            dice_reply_int(c, j);
    } else if (dice__eqci(t, tlen, "map")) {
        dice_reply_map(c, 3);
        for (int j = 0; j < 3; j++) {
            dice_reply_int(c, j);
            dice_reply_bool(c, j == 1);
        }
    } else if (dice__eqci(t, tlen, "attrib")) {
        if (c->proto >= 3) {
            static const char attr[] = "|1\r\n$14\r\nkey-popularity\r\n*2\r\n"
                                       "$7\r\nkey:123\r\n:90\r\n";
            dice_reply_raw(c, attr, sizeof(attr) - 1);
        }
        dice_reply_bulk(c, hello, sizeof(hello) - 1);
    } else if (dice__eqci(t, tlen, "push")) {
        if (c->proto < 3) {
            dice__reply_errstr(c, "ERR RESP2 is not supported by this command");
            return;
        }
        dice_reply_push(c, 2);
        dice_reply_cstr(c, "server-cpu-usage");
        dice_reply_int(c, 42);
        dice_reply_cstr(c, "Some real reply following the push reply");
    } else if (dice__eqci(t, tlen, "true") || dice__eqci(t, tlen, "false")) {
        dice_reply_bool(c, tlen == 4);
    } else if (dice__eqci(t, tlen, "verbatim")) {
        static const char v[] = "This is a verbatim\nstring";
        dice_reply_verbatim(c, "txt", v, sizeof(v) - 1);
    } else {
        dice__reply_errstr(c, "ERR Wrong protocol type name. Please use one of "
                              "the following: string|integer|double|bignum|"
                              "null|array|set|map|attrib|push|verbatim|true|"
                              "false");
    }
}

/* DEBUG HTSTATS <dbid>: the db's key and expire tables (lib/keyspace). */
static void debug_htstats(dice_client_t *c, const char *arg, size_t len) {
    long long id;
    if (!dice__str2ll(arg, len, &id)) {
        dice__reply_err(c, DICE__ERR_NOT_INT);
        return;
    }
    dice_keyspace_t *ks = c->srv->keyspace;
    if (!ks || id < 0 || id >= c->srv->cfg.databases) {
        dice__reply_errstr(c, "ERR Out of range database");
        return;
    }
    dice_buf_t *b;
    if (dice_buf_new(&b) < 0) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    dice__db_htstats(dice_keyspace_db(ks, (int)id), b);
    dice_reply_verbatim(c, "txt", dice_buf_data(b), dice_buf_len(b));
    dice_buf_free(b);
}

/* DEBUG LISTPACK <key> and DEBUG QUICKLIST <key> [<0|1>]: Redis prints the
 * structure on its stdout; here its outline goes to the log (at verbose
 * level, one line per node for QUICKLIST), and the reply is Redis's. */
static void debug_encoding_dump(dice_client_t *c, const char *key, size_t klen,
                                bool quicklist) {
    dice__object_info in;
    if (!c->srv->keyspace ||
        dice__db_object_info(dice__cmd_db(c), key, klen, &in) < 0) {
        dice__reply_err(c, DICE__ERR_NO_SUCH_KEY);
        return;
    }
    const char *want = quicklist ? "quicklist" : "listpack";
    if (strcmp(in.encoding, want) != 0) {
        dice__reply_errorf(c, "ERR Not a %s encoded object.", want);
        return;
    }
    dice__logf(c->srv, DICE_LOG_VERBOSE,
               "%s of key '%.*s': %zu bytes "
               "serialized",
               want, (int)(klen > 128 ? 128 : klen), key, in.serialized_len);
    if (quicklist && in.obj) {
        const dice__list *l = in.obj;
        size_t i = 0;
        for (const dice__qlnode *n = l->head; n; n = n->next, i++)
            dice__logf(c->srv, DICE_LOG_VERBOSE,
                       "quicklist node %zu: %u entries, %u bytes%s", i,
                       n->count, n->sz, n->csz ? " (compressed)" : "");
    }
    static const char qs[] = "Quicklist structure printed on stdout",
                      ls[] = "Listpack structure printed on stdout";
    if (quicklist)
        dice_reply_simple(c, qs, sizeof(qs) - 1);
    else
        dice_reply_simple(c, ls, sizeof(ls) - 1);
}

/* DEBUG STRINGMATCH-TEST: random patterns and strings through the glob
 * matcher (lib/core/glob.c), which must neither crash nor hang. */
static void debug_stringmatch_test(dice_client_t *c) {
    uint64_t x = 0x9E3779B97F4A7C15ULL ^ (uint64_t)time(NULL);
    char pat[32], str[32];
    for (int i = 0; i < 100000; i++) {
        size_t pl = 0, sl = 0;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        pl = x % sizeof(pat);
        sl = (x >> 8) % sizeof(str);
        for (size_t j = 0; j < pl; j++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            pat[j] = "*?[]^-\\ab"[x % 9];
        }
        for (size_t j = 0; j < sl; j++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            str[j] = "ab-\\"[x % 4];
        }
        dice_glob_match(pat, pl, str, sl, 0);
    }
    static const char ok[] = "Apparently Redis did not crash: test passed";
    dice_reply_simple(c, ok, sizeof(ok) - 1);
}

static const char *const debug_help[] = {
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication "
    "subsystem.",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "HTSTATS <dbid>",
    "    Return hash table statistics of the specified Redis database.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is "
    "specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: "
    "string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, "
    "verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> "
    "values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, "
    "but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and "
    "reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the "
    "contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing "
    "RDB",
    "      file to the database.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are "
    "not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables "
    "back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed "
    "nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores "
    "to default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "STRINGMATCH-TEST",
    "    Run a fuzz tester against the stringmatchlen() function.",
    "LISTPACK <key>",
    "    Show low level info about the listpack encoding of <key>.",
    "QUICKLIST <key> [<0|1>]",
    "    Show low level info about the quicklist encoding of <key>.",
    "    The optional argument (0 by default) sets the level of detail",
    "HELP",
    "    Prints this help.",
};

/* DEBUG <subcommand> [<arg> ...]: dispatched on the subcommand and its
 * argument count, as Redis's debugCommand (anything else is Redis's
 * unknown-subcommand error). */
static DICE__CMD_FN(cmd_debug) {
    const char *sub = argv[1];
    size_t sl = argvlen[1];
#define IS(name, n) (argc == (n) && dice__eqci(sub, sl, name))
    if (IS("help", 2)) {
        dice__reply_help(c, debug_help, DICE__COUNT(debug_help));
        return;
    }
    if (debug_digest(c, argc, argv, argvlen))
        return;
    if (IS("sleep", 3)) {
        /* Like Redis (atof), text that is not a number sleeps 0 s. */
        char num[64];
        size_t n = argvlen[2] < sizeof(num) - 1 ? argvlen[2] : sizeof(num) - 1;
        memcpy(num, argv[2], n);
        num[n] = '\0';
        debug_sleep(strtod(num, NULL));
        dice_reply_ok(c);
    } else if (IS("object", 3)) {
        debug_object(c, argv[2], argvlen[2]);
    } else if (IS("set-active-expire", 3)) {
        /* atoi, as Redis: anything but a number reads 0. */
        c->srv->no_active_expire = strtol(argv[2], NULL, 10) == 0;
        dice_reply_ok(c);
    } else if ((argc >= 3 && argc <= 5) && dice__eqci(sub, sl, "populate")) {
        debug_populate(c, argc, argv, argvlen);
    } else if (IS("protocol", 3)) {
        debug_protocol(c, argv[2], argvlen[2]);
    } else if (IS("log", 3)) {
        dice__logf(c->srv, DICE_LOG_WARNING, "DEBUG LOG: %.*s",
                   (int)(argvlen[2] > 900 ? 900 : argvlen[2]), argv[2]);
        dice_reply_ok(c);
    } else if (IS("htstats", 3)) {
        debug_htstats(c, argv[2], argvlen[2]);
    } else if (IS("listpack", 3)) {
        debug_encoding_dump(c, argv[2], argvlen[2], false);
    } else if ((argc == 3 || argc == 4) && dice__eqci(sub, sl, "quicklist")) {
        debug_encoding_dump(c, argv[2], argvlen[2], true);
    } else if (IS("quicklist-packed-threshold", 3)) {
        /* A memory value up to 4 GB (Redis's plain-node threshold; our
         * lists have no plain nodes, so it is only kept). */
        char v[160];
        long long bytes = 0;
        bool over = true;
        if (argvlen[2] < sizeof(v)) {
            memcpy(v, argv[2], argvlen[2]);
            v[argvlen[2]] = '\0';
            if (!dice__parse_memory(v, &bytes, &over))
                over = true;
        }
        if (over || bytes > (4LL << 30)) {
            dice__reply_errstr(c, "ERR argument must be a memory value bigger "
                                  "than 1 and smaller than 4gb");
            return;
        }
        c->srv->ql_packed_threshold = bytes;
        dice_reply_ok(c);
    } else if (IS("change-repl-id", 2)) {
        dice_server_log(c->srv, DICE_LOG_WARNING,
                        "Changing replication IDs after receiving DEBUG "
                        "change-repl-id");
        c->srv->repl_id_gen++;
        dice_reply_ok(c);
    } else if (argc >= 2 && dice__eqci(sub, sl, "reload") && c->srv->keyspace) {
        dice__debug_reload(c, argc, argv, argvlen);
    } else if (IS("dice-fail-fork", 3)) {
        /* dice-server's own, for tests: make the next forks fail (1) or
         * not (0), as when the system is out of processes or memory. */
        c->srv->rdb.fail_fork = argvlen[2] == 1 && argv[2][0] == '1';
        dice_reply_ok(c);
    } else if (IS("stringmatch-test", 2)) {
        debug_stringmatch_test(c);
    } else {
        int n = sl < 128 ? (int)sl : 128;
        dice__reply_errorf(c,
                           "ERR unknown subcommand or wrong number of "
                           "arguments for '%.*s'. Try DEBUG HELP.",
                           n, sub);
    }
#undef IS
}

/* ---- Registration ------------------------------------------------------- */

static const dice__cmd_desc debug_cmds[] = {
    {"debug", -2,
     DICE_CMD_ADMIN | DICE_CMD_NOSCRIPT | DICE_CMD_LOADING | DICE_CMD_STALE |
         DICE_CMD_PROTECTED,
     0, 0, 0, cmd_debug, NULL, "A container for debugging commands", "1.0.0",
     "Depends on subcommand.", 0, NULL, NULL, NULL},
};

int dice__builtin_debug(dice_server_t *srv) {
    return dice__command_register(srv, NULL, "server", debug_cmds,
                                  DICE__COUNT(debug_cmds));
}
