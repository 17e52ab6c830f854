/* Propagation (lib/server/propagate.c): what a sink receives, replayed
 * into an empty server, rebuilds the same dataset (equal DEBUG DIGEST);
 * relative and computed effects arrive in absolute form; a command that
 * changes nothing sends nothing; keys that expire arrive as DEL.
 *
 * The corpus below must name every write command the server has: the
 * test walks the command table and fails for a write command (or
 * sub-command) the corpus never runs, so a family that adds one must add
 * it here too. */
#include <dice/dice.h>

#include "server/server_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

/* A recorded vector: db, then argc NUL-terminated strings (lengths kept
 * for binary values). */
typedef struct rec {
    int db;
    int argc;
    char **argv;
    size_t *len;
} rec;

typedef struct recorder {
    rec *v;
    size_t n, cap;
} recorder;

static void record(void *arg, int db, int argc, const char *const *argv,
                   const size_t *argvlen) {
    recorder *r = arg;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->v = realloc(r->v, r->cap * sizeof(*r->v));
        assert_non_null(r->v);
    }
    rec *e = &r->v[r->n++];
    e->db = db;
    e->argc = argc;
    e->argv = calloc((size_t)argc, sizeof(char *));
    e->len = calloc((size_t)argc, sizeof(size_t));
    assert_true(e->argv && e->len);
    for (int i = 0; i < argc; i++) {
        e->argv[i] = malloc(argvlen[i] + 1);
        assert_non_null(e->argv[i]);
        memcpy(e->argv[i], argv[i], argvlen[i]);
        e->argv[i][argvlen[i]] = '\0';
        e->len[i] = argvlen[i];
    }
}

static void recorder_clear(recorder *r) {
    for (size_t i = 0; i < r->n; i++) {
        for (int j = 0; j < r->v[i].argc; j++)
            free(r->v[i].argv[j]);
        free(r->v[i].argv);
        free(r->v[i].len);
    }
    free(r->v);
    memset(r, 0, sizeof(*r));
}

typedef struct fixture {
    dice_loop_t *loop;
    dice_server_t *a, *b; /* a runs the corpus, b gets the replay */
    dice_session_t *sa, *sb;
    recorder rec;
    uint64_t sink;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(dice_loop_new(&f->loop), 0);
    assert_int_equal(dice_server_new(&f->a, f->loop), 0);
    assert_int_equal(dice_server_new(&f->b, f->loop), 0);
    assert_int_equal(dice_command_add_builtins(f->a, DICE_BUILTIN_ALL), 0);
    assert_int_equal(dice_command_add_builtins(f->b, DICE_BUILTIN_ALL), 0);
    assert_int_equal(dice_session_new(f->a, 2, &f->sa), 0);
    assert_int_equal(dice_session_new(f->b, 2, &f->sb), 0);
    assert_int_equal(
        dice_server_add_propagation_sink(f->a, record, &f->rec, &f->sink), 0);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    dice_session_free(f->sa);
    dice_session_free(f->sb);
    dice_server_free(f->a);
    dice_server_free(f->b);
    dice_loop_free(f->loop);
    recorder_clear(&f->rec);
    free(f);
    return 0;
}

/* Run a NULL-terminated argv on a session; returns the reply's first
 * byte (the RESP type). */
static char run_v(dice_session_t *s, const char *const *argv) {
    int argc = 0;
    size_t len[64];
    while (argv[argc]) {
        len[argc] = strlen(argv[argc]);
        argc++;
    }
    const char *reply;
    size_t rlen;
    assert_int_equal(dice_session_call(s, argc, argv, len, &reply, &rlen), 0);
    assert_true(rlen > 0);
    return reply[0];
}

#define RUN(s, ...) run_v((s), (const char *const[]){__VA_ARGS__, NULL})

static void replay(fixture *f) {
    int db = 0;
    for (size_t i = 0; i < f->rec.n; i++) {
        rec *e = &f->rec.v[i];
        if (e->db != db) {
            char num[16];
            snprintf(num, sizeof(num), "%d", e->db);
            assert_int_equal(RUN(f->sb, "SELECT", num), '+');
            db = e->db;
        }
        const char *reply;
        size_t rlen;
        assert_int_equal(dice_session_call(f->sb, e->argc,
                                           (const char *const *)e->argv, e->len,
                                           &reply, &rlen),
                         0);
        /* A replayed effect never fails. */
        if (reply[0] == '-')
            fail_msg("replaying %s gave %.*s", e->argv[0], (int)rlen, reply);
    }
}

static void assert_same_dataset(fixture *f) {
    uint8_t da[DICE_DIGEST_LEN], db[DICE_DIGEST_LEN];
    dice_keyspace_digest(dice_server_keyspace(f->a), da);
    dice_keyspace_digest(dice_server_keyspace(f->b), db);
    assert_memory_equal(da, db, DICE_DIGEST_LEN);
}

static bool ieq(const char *a, const char *b) {
    return strcasecmp(a, b) == 0;
}

/* No vector carries a relative or computed form. */
static void assert_deterministic(const recorder *r) {
    static const char *const relative[] = {
        "setex", "psetex", "expire",      "pexpire", "expireat",
        "getex", "getdel", "incrbyfloat", "getset",  NULL};
    for (size_t i = 0; i < r->n; i++) {
        const rec *e = &r->v[i];
        for (size_t k = 0; relative[k]; k++)
            if (ieq(e->argv[0], relative[k]))
                fail_msg("propagated as %s", e->argv[0]);
        if (ieq(e->argv[0], "restore") && strcmp(e->argv[2], "0") != 0) {
            bool abs = false;
            for (int j = 4; j < e->argc; j++)
                abs = abs || ieq(e->argv[j], "absttl");
            if (!abs)
                fail_msg("RESTORE propagated with a relative TTL");
        }
        if (ieq(e->argv[0], "set"))
            for (int j = 3; j < e->argc; j++)
                if (ieq(e->argv[j], "ex") || ieq(e->argv[j], "px") ||
                    ieq(e->argv[j], "exat"))
                    fail_msg("SET propagated with %s", e->argv[j]);
    }
}

/* Every write command of the table must appear as argv[0] (or
 * argv[0]|argv[1]) of some corpus call. */
typedef struct seen {
    char names[2048][48];
    size_t n;
} seen;

static void see(seen *s, const char *name) {
    for (size_t i = 0; i < s->n; i++)
        if (ieq(s->names[i], name))
            return;
    assert_true(s->n < sizeof(s->names) / sizeof(s->names[0]));
    snprintf(s->names[s->n++], sizeof(s->names[0]), "%.47s", name);
}

static bool was_seen(const seen *s, const char *name) {
    for (size_t i = 0; i < s->n; i++)
        if (ieq(s->names[i], name))
            return true;
    return false;
}

static void assert_corpus_covers_writes(dice_server_t *srv, const seen *s) {
    const dice_cmdtable_t *t = &srv->commands;
    for (size_t i = 0; i < t->cap; i++) {
        const dice_command_t *cmd = t->slots[i];
        if (!cmd)
            continue;
        if ((cmd->flags & DICE_CMD_WRITE) && cmd->fn && !was_seen(s, cmd->name))
            fail_msg("write command %s is not in the propagation corpus",
                     cmd->name);
        for (size_t j = 0; j < cmd->nsubs; j++)
            if ((cmd->subs[j]->flags & DICE_CMD_WRITE) &&
                !was_seen(s, cmd->subs[j]->fullname))
                fail_msg("write command %s is not in the propagation corpus",
                         cmd->subs[j]->fullname);
    }
}

/* The corpus: every write command, with the options that change what it
 * propagates, over a few shared keys in several databases, one array per
 * command family (a family that adds commands adds its array to CORPUS).
 * "@pxat", "@exat" and "@past" stand for an absolute time in an hour
 * (ms), in two hours (s), and ten seconds ago (s). */
typedef const char *const corpus_cmd[12];

static corpus_cmd STRINGS_AND_KEYS[] = {
    {"SET", "s1", "v1"},
    {"SET", "s2", "v2", "EX", "100"},
    {"SET", "s3", "v3", "PX", "100000"},
    {"SET", "s4", "v4", "EXAT", "@exat"},
    {"SET", "s5", "v5", "PXAT", "@pxat"},
    {"SET", "s1", "v1b", "KEEPTTL", "XX"},
    {"SET", "s1", "nope", "NX"},
    {"SET", "s6", "v6", "GET", "EX", "50"},
    {"SETNX", "s7", "v7"},
    {"SETNX", "s7", "again"},
    {"SETEX", "s8", "30", "v8"},
    {"PSETEX", "s9", "30000", "v9"},
    {"GETSET", "s7", "v7b"},
    {"GETDEL", "s9"},
    {"GETDEL", "missing"},
    {"GETEX", "s8", "PX", "90000"},
    {"GETEX", "s7", "EX", "90"},
    {"GETEX", "s2", "PERSIST"},
    {"GETEX", "s3", "EXAT", "@past"},
    {"GETEX", "s5", "PXAT", "@pxat"},
    {"MSET", "m1", "1", "m2", "2"},
    {"MSETNX", "m3", "3", "m4", "4"},
    {"MSETNX", "m3", "x", "m5", "y"},
    {"APPEND", "m1", "0"},
    {"SETRANGE", "m2", "3", "zz"},
    {"INCR", "n1"},
    {"DECR", "n2"},
    {"INCRBY", "n1", "40"},
    {"DECRBY", "n2", "7"},
    {"INCRBYFLOAT", "f1", "0.1"},
    {"INCRBYFLOAT", "f1", "1e3"},
    {"EXPIRE", "m1", "1000"},
    {"EXPIRE", "m1", "10", "GT"},
    {"PEXPIRE", "m2", "500000", "NX"},
    {"EXPIREAT", "m3", "@exat"},
    {"PEXPIREAT", "m4", "@pxat", "LT"},
    {"EXPIRE", "n2", "-1"},
    {"EXPIREAT", "n1", "@past"},
    {"PERSIST", "m1"},
    {"RENAME", "m2", "r2"},
    {"RENAMENX", "r2", "r3"},
    {"RENAMENX", "r3", "s1"},
    {"COPY", "r3", "c1"},
    {"COPY", "r3", "c2", "DB", "1"},
    {"COPY", "r3", "c1", "REPLACE"},
    {"MOVE", "c1", "2"},
    {"DEL", "s6", "missing"},
    {"UNLINK", "s4"},
    {"SWAPDB", "1", "2"},
    {"SELECT", "2"},
    {"SET", "d2", "x", "EX", "1000"},
    {"FLUSHDB"},
    {"SELECT", "0"},
    {"SET", "t1", "soon", "PX", "1"},
};

/* Transactions: what EXEC propagates is its commands' effects, wrapped in
 * MULTI ... EXEC when there are two or more (Redis 7.0), with rewritten
 * forms and db switches inside; nothing for a read-only or discarded
 * one. */
static corpus_cmd TRANSACTIONS[] = {
    {"MULTI"},
    {"SET", "x1", "1"},
    {"INCR", "x2"},
    {"SET", "x3", "v", "EX", "100"},
    {"EXEC"},
    {"MULTI"},
    {"SET", "x4", "1"},
    {"EXEC"},
    {"MULTI"},
    {"GET", "x1"},
    {"EXEC"},
    {"MULTI"},
    {"SET", "x5", "1"},
    {"SELECT", "1"},
    {"SET", "x6", "2"},
    {"SELECT", "0"},
    {"EXEC"},
    {"WATCH", "x1"},
    {"UNWATCH"},
    {"MULTI"},
    {"SET", "x7", "1"},
    {"DISCARD"},
    {"MULTI"},
    {"SET", "x8", "a"},
    {"INCR", "x8"},
    {"SET", "x9", "1"},
    {"EXEC"},
    {"MULTI"},
    {"INCRBYFLOAT", "x10", "1.5"},
    {"GETDEL", "x1"},
    {"EXPIRE", "x9", "100"},
    {"EXEC"},
};

static corpus_cmd HASHES[] = {
    {"HSET", "h1", "a", "1", "b", "2", "c", "x"},
    {"HSET", "h1", "a", "10"},
    {"HMSET", "h2", "f", "v", "g", "w"},
    {"HSETNX", "h1", "a", "nope"},
    {"HSETNX", "h1", "d", "4"},
    {"HINCRBY", "h1", "b", "40"},
    {"HINCRBY", "h3", "n", "-7"},
    {"HINCRBYFLOAT", "h1", "e", "0.1"},
    {"HINCRBYFLOAT", "h1", "e", "1e3"},
    {"HINCRBYFLOAT", "h1", "b", "2.5"},
    {"HINCRBYFLOAT", "h1", "c", "1"},
    {"HDEL", "h1", "c", "missing"},
    {"HDEL", "h2", "f", "g"},
    {"HSET", "h4", "long",
     "0123456789012345678901234567890123456789"
     "0123456789012345678901234567890123456789"},
    {"HINCRBYFLOAT", "h4", "f", "3.0e2"},
    {"COPY", "h1", "h5"},
    {"EXPIRE", "h5", "1000"},
    {"RENAME", "h4", "h6"},
    {"MOVE", "h6", "1"},
};

static corpus_cmd ZSETS[] = {
    {"ZADD", "z1", "1", "a", "2", "b", "3", "c", "4", "d"},
    {"ZADD", "z1", "NX", "CH", "5", "a", "6", "e"},
    {"ZADD", "z1", "XX", "GT", "CH", "9", "b", "0", "c"},
    {"ZADD", "z1", "LT", "0.5", "d"},
    {"ZADD", "z1", "INCR", "2.5", "a"},
    {"ZINCRBY", "z1", "-1", "e"},
    {"ZADD", "z2", "1", "x", "2", "y", "3", "b"},
    {"ZREM", "z2", "x", "nope"},
    {"ZREMRANGEBYRANK", "z1", "0", "0"},
    {"ZADD", "z3", "0", "a", "0", "b", "0", "c", "0", "d"},
    {"ZREMRANGEBYLEX", "z3", "[a", "(c"},
    {"ZREMRANGEBYSCORE", "z1", "(5", "+inf"},
    {"ZPOPMIN", "z3"},
    {"ZPOPMAX", "z1", "2"},
    {"ZADD", "z4", "1", "p", "2", "q", "3", "r"},
    {"ZMPOP", "2", "nokey", "z4", "MAX", "COUNT", "2"},
    {"ZMPOP", "1", "z4", "MIN"},
    {"ZUNIONSTORE", "u1", "2", "z1", "z2", "WEIGHTS", "2", "3", "AGGREGATE",
     "MAX"},
    {"ZINTERSTORE", "u2", "2", "z1", "z2"},
    {"ZDIFFSTORE", "u3", "2", "z2", "z1"},
    {"ZRANGESTORE", "u4", "z2", "0", "-1", "REV"},
    {"ZINTERSTORE", "u4", "2", "z1", "nokey"},
    {"ZADD", "zbig", "1", "m1", "2", "m2", "3", "m3", "4", "m4"},
    /* Blocking forms served at once (ZPOPMIN/ZPOPMAX key [count]) and not
     * served (a session may not block: nothing written). */
    {"ZADD", "z5", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"},
    {"BZPOPMIN", "nokey", "z5", "0"},
    {"BZPOPMAX", "z5", "1"},
    {"BZMPOP", "0", "2", "nokey", "z5", "MIN", "COUNT", "2"},
    {"BZMPOP", "0", "1", "z5", "MAX", "COUNT", "10"},
    {"BZPOPMIN", "nokey", "0.01"},
    {"BZMPOP", "0", "1", "nokey", "MAX"},
};

/* Lists (lib/commands/list.c): every write, blocking forms served at once
 * (propagated as LPOP/RPOP/LMOVE/RPOPLPUSH) and not served. */
static corpus_cmd LISTS[] = {
    {"RPUSH", "l1", "a", "b", "c", "1", "2", "3"},
    {"LPUSH", "l1", "z", "-7"},
    {"RPUSHX", "l1", "tail"},
    {"LPUSHX", "l1", "head"},
    {"LPUSHX", "nolist", "x"},
    {"LPOP", "l1"},
    {"RPOP", "l1", "2"},
    {"LPOP", "l1", "0"},
    {"LSET", "l1", "1", "set"},
    {"LINSERT", "l1", "BEFORE", "b", "ins"},
    {"LINSERT", "l1", "AFTER", "nope", "x"},
    {"RPUSH", "l2", "a", "b", "a", "c", "a"},
    {"LREM", "l2", "-1", "a"},
    {"LREM", "l2", "0", "a"},
    {"LTRIM", "l1", "1", "-2"},
    {"RPOPLPUSH", "l1", "l2"},
    {"LMOVE", "l2", "l3", "LEFT", "RIGHT"},
    {"LMOVE", "l3", "l3", "RIGHT", "LEFT"},
    {"LMPOP", "2", "nolist", "l1", "RIGHT", "COUNT", "2"},
    {"BLPOP", "nolist", "l2", "0"},
    {"BRPOP", "l2", "1"},
    {"BLMOVE", "l1", "l4", "LEFT", "LEFT", "0"},
    {"BRPOPLPUSH", "l3", "l4", "0"},
    {"BLMPOP", "0", "1", "l4", "LEFT", "COUNT", "10"},
    {"BLPOP", "nolist", "0.01"},
    {"BLMOVE", "nolist", "l4", "LEFT", "LEFT", "0"},
    {"RPUSH", "l5", "x"},
    {"LTRIM", "l5", "1", "0"},
    {"RPUSH", "l6", "keep"},
};

/* Sets: SPOP is random and propagates SREM of what it popped, or DEL when
 * it popped the whole set. */
static corpus_cmd SETS[] = {
    {"SADD", "st1", "1", "2", "3", "4", "5", "6", "7", "8"},
    {"SADD", "st2", "a", "b", "c", "d", "e", "1", "2"},
    {"SADD", "st3", "x"},
    {"SADD", "st1", "1"},
    {"SREM", "st1", "8", "nope"},
    {"SREM", "st3", "x"},
    {"SMOVE", "st2", "st1", "a"},
    {"SMOVE", "st2", "st4", "b"},
    {"SMOVE", "st2", "st4", "nope"},
    {"SPOP", "st1"},
    {"SPOP", "st1", "2"},
    {"SPOP", "st2", "2"},
    {"SPOP", "st4", "100"},
    {"SINTERSTORE", "st5", "st1", "st2"},
    {"SUNIONSTORE", "st6", "st1", "st2"},
    {"SDIFFSTORE", "st7", "st1", "st2"},
    {"SINTERSTORE", "st6", "st1", "missing"},
    {"SADD", "st8", "1", "2", "3"},
    {"SPOP", "st8"},
    {"SPOP", "st8"},
    {"SPOP", "st8"},
};

/* Geo and SORT: GEOADD propagates as the ZADD it runs; the STORE forms
 * as themselves (deterministic: a set stored by SORT is sorted). */
static corpus_cmd GEO_SORT[] = {
    {"GEOADD", "geo1", "13.361389", "38.115556", "Palermo", "15.087269",
     "37.502669", "Catania"},
    {"GEOADD", "geo1", "CH", "13.3", "38.1", "Palermo", "1", "1", "x"},
    {"GEOADD", "geo1", "NX", "13.3", "38.1", "Palermo"},
    {"GEOSEARCHSTORE", "geo2", "geo1", "FROMLONLAT", "15", "37", "BYRADIUS",
     "200", "km", "STOREDIST"},
    {"GEORADIUS", "geo1", "15", "37", "200", "km", "STORE", "geo3"},
    {"GEOSEARCHSTORE", "geo3", "geo1", "FROMLONLAT", "0", "0", "BYRADIUS", "1",
     "m"},
    {"GEORADIUSBYMEMBER", "geo1", "Palermo", "300", "km", "STOREDIST", "geo4"},
    {"RPUSH", "sl1", "3", "1", "2"},
    {"SORT", "sl1", "STORE", "sl2"},
    {"SADD", "ss1", "b", "a", "c"},
    {"SORT", "ss1", "BY", "nosort", "STORE", "sl3"},
    {"SORT", "missing", "STORE", "sl3"},
};

/* Bitmaps and HyperLogLog: each write propagates as itself; PFCOUNT of
 * one key that refreshes the cached cardinality changes the value and so
 * propagates too (as in Redis), PFDEBUG TODENSE / GETREG when they convert. */
static corpus_cmd BITS_AND_HLL[] = {
    {"SETBIT", "b1", "7", "1"},
    {"SETBIT", "b1", "7", "1"},
    {"SETBIT", "b1", "100", "0"},
    {"SETBIT", "b2", "3", "1"},
    {"BITFIELD", "b1", "SET", "u8", "#2", "200", "INCRBY", "i5", "3", "-7"},
    {"BITFIELD", "b1", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "9"},
    {"BITFIELD", "b3", "GET", "u8", "0"},
    {"BITFIELD_RO", "b1", "GET", "u8", "0"},
    {"BITOP", "AND", "b4", "b1", "b2"},
    {"BITOP", "OR", "b5", "b1", "nope"},
    {"BITOP", "XOR", "b6", "b1", "b2", "b4"},
    {"BITOP", "NOT", "b7", "b1"},
    {"BITOP", "AND", "b7", "nope"},
    {"PFADD", "h1", "a", "b", "c"},
    {"PFADD", "h1", "a"},
    {"PFADD", "h2"},
    {"PFADD", "h3", "x", "y"},
    {"PFCOUNT", "h1"},
    {"PFCOUNT", "h1"},
    {"PFCOUNT", "h1", "h3"},
    {"PFMERGE", "h4", "h1", "h3"},
    {"PFMERGE", "h3"},
    {"PFDEBUG", "TODENSE", "h3"},
    {"PFDEBUG", "GETREG", "h1"},
    {"PFADD", "h1", "d"},
};

/* Streams: XADD * propagates the ID it made, `~` trimming its exact
 * effect (MAXLEN = / MINID = what is left), XREADGROUP as XCLAIM ... FORCE
 * JUSTID LASTID plus XGROUP SETID, XCLAIM / XAUTOCLAIM as such XCLAIMs,
 * blocking reads served at once like the plain ones. */
static corpus_cmd STREAMS[] = {
    {"XADD", "x1", "*", "a", "1", "b", "2"},
    {"XADD", "x1", "*", "a", "3"},
    {"XADD", "x1", "5-*", "a", "4"},
    {"XADD", "x1", "MAXLEN", "~", "1", "*", "a", "5"},
    {"XADD", "x1", "NOMKSTREAM", "MAXLEN", "=", "10", "*", "c", "6"},
    {"XADD", "x2", "1-1", "f", "v"},
    {"XADD", "x2", "1-2", "f", "v"},
    {"XADD", "x2", "MINID", "~", "0", "LIMIT", "5", "1-3", "f", "v"},
    {"XADD", "x2", "2-*", "g", "w"},
    {"XADD", "x2", "2-5", "f", "v"},
    {"XADD", "nox", "NOMKSTREAM", "*", "a", "b"},
    {"XDEL", "x2", "1-2", "9-9"},
    {"XTRIM", "x2", "MAXLEN", "~", "0"},
    {"XTRIM", "x2", "MINID", "1-3"},
    {"XSETID", "x2", "99-0", "ENTRIESADDED", "50", "MAXDELETEDID", "3-0"},
    {"XGROUP", "CREATE", "x1", "g1", "0"},
    {"XGROUP", "CREATE", "x1", "g2", "$", "ENTRIESREAD", "3"},
    {"XGROUP", "CREATE", "x3", "g", "$", "MKSTREAM"},
    {"XGROUP", "CREATECONSUMER", "x1", "g1", "idle"},
    {"XREADGROUP", "GROUP", "g1", "c1", "COUNT", "2", "STREAMS", "x1", ">"},
    {"XREADGROUP", "GROUP", "g1", "c2", "NOACK", "COUNT", "1", "STREAMS", "x1",
     ">"},
    {"XREADGROUP", "GROUP", "g1", "c3", "BLOCK", "0", "STREAMS", "x1", ">"},
    {"XREADGROUP", "GROUP", "g1", "c4", "STREAMS", "x1", "0"},
    {"XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", "x1", "0"},
    {"XACK", "x1", "g1", "0-1", "1-1"},
    {"XCLAIM", "x1", "g1", "c5", "0", "5-0", "5-1", "RETRYCOUNT", "7"},
    {"XCLAIM", "x1", "g1", "c5", "0", "5-1", "LASTID", "9999999999999-0"},
    {"XAUTOCLAIM", "x1", "g1", "c6", "0", "0", "COUNT", "2"},
    {"XAUTOCLAIM", "x1", "g1", "c6", "0", "0", "JUSTID"},
    {"XGROUP", "SETID", "x1", "g2", "0", "ENTRIESREAD", "1"},
    {"XGROUP", "DELCONSUMER", "x1", "g1", "c2"},
    {"XGROUP", "DESTROY", "x1", "g2"},
    {"XADD", "x4", "*", "k", "v"},
    {"XGROUP", "CREATE", "x4", "g", "0"},
    {"XREADGROUP", "GROUP", "g", "c", "STREAMS", "x4", ">"},
    {"XDEL", "x4", "0-1"},
    {"XTRIM", "x4", "MAXLEN", "0"},
    {"XAUTOCLAIM", "x4", "g", "c2", "0", "0"},
    {"XCLAIM", "x1", "g1", "c7", "0", "0-1", "FORCE"},
};

/* Scripts: what they propagate is the commands they ran (rewritten as
 * those commands rewrite themselves), in MULTI/EXEC when more than one;
 * SELECT inside a script moves only the script's own client. Functions
 * propagate as FUNCTION LOAD/DELETE/FLUSH/RESTORE and their FCALLs as
 * the commands they ran. (Without Lua these are unknown commands.) */
static corpus_cmd SCRIPTS[] = {
    {"EVAL",
     "redis.call('set', KEYS[1], ARGV[1]); redis.call('incr', 'ev2'); "
     "return 1",
     "1", "ev1", "x"},
    {"EVAL", "return redis.call('incr', 'ev2')", "0"},
    {"EVAL",
     "redis.call('select', 2); redis.call('set', 'ev3', 'y'); "
     "return redis.call('expire', 'ev3', 100)",
     "0"},
    {"SADD", "evs", "a", "b", "c"},
    {"EVAL", "return redis.call('spop', KEYS[1])", "1", "evs"},
    {"EVAL", "return redis.call('get', 'ev1')", "0"},
    {"EVAL", "redis.call('set', 'ev4', 'z', 'ex', 100); return 1", "0"},
    {"EVALSHA", "0000000000000000000000000000000000000000", "0"},
    {"EVAL_RO", "return redis.call('get', 'ev1')", "0"},
    {"EVALSHA_RO", "0000000000000000000000000000000000000000", "0"},
    {"FUNCTION", "LOAD",
     "#!lua name=plib\nredis.register_function('pf', function(keys, args) "
     "return redis.call('set', keys[1], args[1]) end)"},
    {"FCALL", "pf", "1", "pk", "pv"},
    {"FCALL_RO", "pf", "1", "pk", "pv"},
    {"FUNCTION", "DELETE", "plib"},
    {"FUNCTION", "RESTORE", "bogus"},
    {"FUNCTION", "FLUSH"},
};

#define FAMILY(a)                                                              \
    { #a, a, sizeof(a) / sizeof(a[0]) }
static const struct {
    const char *name;
    corpus_cmd *cmds;
    size_t n;
} CORPUS[] = {
    FAMILY(STRINGS_AND_KEYS),
    FAMILY(TRANSACTIONS),
    FAMILY(HASHES),
    FAMILY(ZSETS),
    FAMILY(LISTS),
    FAMILY(SETS),
    FAMILY(GEO_SORT),
    FAMILY(BITS_AND_HLL),
    FAMILY(STREAMS),
    FAMILY(SCRIPTS),
};

static void run_corpus(fixture *f, seen *s) {
    char pxat[32], exat[32], past[32];
    long long now_ms = (long long)time(NULL) * 1000;
    snprintf(pxat, sizeof(pxat), "%lld", now_ms + 3600 * 1000);
    snprintf(exat, sizeof(exat), "%lld", now_ms / 1000 + 7200);
    snprintf(past, sizeof(past), "%lld", now_ms / 1000 - 10);
    for (size_t fam = 0; fam < sizeof(CORPUS) / sizeof(CORPUS[0]); fam++) {
        for (size_t i = 0; i < CORPUS[fam].n; i++) {
            const char *const *cmd = CORPUS[fam].cmds[i];
            const char *argv[13];
            int argc = 0;
            for (; argc < 12 && cmd[argc]; argc++) {
                const char *a = cmd[argc];
                argv[argc] = strcmp(a, "@pxat") == 0   ? pxat
                             : strcmp(a, "@exat") == 0 ? exat
                             : strcmp(a, "@past") == 0 ? past
                                                       : a;
            }
            argv[argc] = NULL;
            see(s, argv[0]);
            if (argc > 1) { /* "parent|sub" for a sub-command */
                char full[64];
                if (snprintf(full, sizeof(full), "%s|%s", argv[0], argv[1]) <
                    (int)sizeof(full))
                    see(s, full);
            }
            run_v(f->sa, argv);
        }
    }
    /* Let t1 expire, then touch it: the lazy deletion arrives as DEL. */
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
    assert_int_equal(RUN(f->sa, "GET", "t1"), '$');
}

/* RESTORE takes a binary payload (DUMP's), which the NUL-terminated
 * corpus cannot hold: a relative TTL must arrive as an absolute one with
 * ABSTTL, an already expired one replacing a key as DEL. */
static void run_restores(fixture *f, seen *s) {
    const char *reply;
    size_t rlen;
    RUN(f->sa, "RPUSH", "dumped", "a", "b", "1");
    const char *dv[] = {"DUMP", "dumped"};
    size_t dl[] = {4, 6};
    assert_int_equal(dice_session_call(f->sa, 2, dv, dl, &reply, &rlen), 0);
    assert_true(reply[0] == '$');
    const char *nl = memchr(reply, '\n', rlen);
    size_t plen = (size_t)strtoul(reply + 1, NULL, 10);
    char *payload = malloc(plen);
    memcpy(payload, nl + 1, plen);
    static const char *const forms[][4] = {
        {"r1", "0", NULL, NULL},
        {"rst2", "100000", NULL, NULL},
        {"rst3", "0", "IDLETIME", "5"},
        {"dumped", "1", "ABSTTL", "REPLACE"}};
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        const char *v[6] = {"RESTORE", forms[i][0], forms[i][1], payload};
        size_t l[6] = {7, strlen(forms[i][0]), strlen(forms[i][1]), plen};
        int argc = 4;
        for (int k = 2; k < 4 && forms[i][k]; k++) {
            v[argc] = forms[i][k];
            l[argc++] = strlen(forms[i][k]);
        }
        assert_int_equal(dice_session_call(f->sa, argc, v, l, &reply, &rlen),
                         0);
        if (reply[0] != '+')
            fail_msg("RESTORE %s: %.*s", forms[i][0], (int)rlen, reply);
    }
    free(payload);
    see(s, "RESTORE");
    see(s, "DUMP");
}

static void test_replay_rebuilds_the_dataset(void **state) {
    fixture *f = *state;
    seen s = {.n = 0};
    run_corpus(f, &s);
    run_restores(f, &s);
    /* FLUSHALL last but one, so the dataset is not trivially empty when
     * compared: compare first, then flush and compare again. */
    replay(f);
    assert_same_dataset(f);
    assert_deterministic(&f->rec);
    /* The TRANSACTIONS family's four transactions of several writes (and,
     * with Lua, the SCRIPTS family's two scripts of several writes)
     * arrive as MULTI ... EXEC, never nested, never left open. */
    int multis = 0;
    bool open = false;
    for (size_t i = 0; i < f->rec.n; i++) {
        if (ieq(f->rec.v[i].argv[0], "multi")) {
            assert_false(open);
            open = true;
            multis++;
        } else if (ieq(f->rec.v[i].argv[0], "exec")) {
            assert_true(open);
            open = false;
        }
    }
    assert_false(open);
#ifdef DICE_TEST_WITH_LUA
    assert_int_equal(multis, 6);
#else
    assert_int_equal(multis, 4);
#endif
    size_t before = f->rec.n;
    see(&s, "FLUSHALL");
    assert_int_equal(RUN(f->sa, "FLUSHALL"), '+');
    assert_int_equal(f->rec.n, before + 1);
    assert_true(ieq(f->rec.v[before].argv[0], "flushall"));
    assert_corpus_covers_writes(f->a, &s);
}

static const rec *last(const fixture *f) {
    assert_true(f->rec.n > 0);
    return &f->rec.v[f->rec.n - 1];
}

static void test_absolute_forms(void **state) {
    fixture *f = *state;
    RUN(f->sa, "SET", "k", "v", "EX", "100");
    const rec *e = last(f);
    assert_int_equal(e->argc, 5);
    assert_true(ieq(e->argv[0], "set") && ieq(e->argv[3], "pxat"));
    long long at = atoll(e->argv[4]);
    long long now = (long long)time(NULL) * 1000;
    assert_true(at > now + 98 * 1000 && at < now + 102 * 1000);

    RUN(f->sa, "EXPIRE", "k", "50");
    e = last(f);
    assert_true(ieq(e->argv[0], "pexpireat") && e->argc == 3);

    RUN(f->sa, "EXPIRE", "k", "-5");
    e = last(f);
    assert_true(ieq(e->argv[0], "del") && e->argc == 2);

    RUN(f->sa, "INCRBYFLOAT", "fl", "2.5");
    e = last(f);
    assert_int_equal(e->argc, 4);
    assert_true(ieq(e->argv[0], "set") && strcmp(e->argv[2], "2.5") == 0 &&
                ieq(e->argv[3], "keepttl"));

    RUN(f->sa, "GETDEL", "fl");
    e = last(f);
    assert_true(ieq(e->argv[0], "del") && strcmp(e->argv[1], "fl") == 0);
}

static void test_no_change_no_vector(void **state) {
    fixture *f = *state;
    RUN(f->sa, "SET", "k", "v");
    size_t n = f->rec.n;
    RUN(f->sa, "SET", "k", "w", "NX");
    RUN(f->sa, "DEL", "nothing");
    RUN(f->sa, "GET", "k");
    RUN(f->sa, "EXPIRE", "nothing", "10");
    RUN(f->sa, "PERSIST", "k");
    RUN(f->sa, "GETEX", "k");
    assert_int_equal(f->rec.n, n);
    /* Outside a command it cannot be called. */
    const char *argv[] = {"PING"};
    size_t len[] = {4};
    assert_int_equal(
        dice_client_propagate(dice_session_client(f->sa), 1, argv, len),
        DICE_ESTATE);
}

/* WRAP: runs two commands of its own on the same client, as EXEC and
 * scripts will; its effect is theirs, not its own argv. */
static void cmd_wrap(dice_client_t *c, int argc, const char *const *argv,
                     const size_t *argvlen, void *arg) {
    (void)argc, (void)argv, (void)argvlen, (void)arg;
    const char *a1[] = {"SET", "w1", "x"};
    size_t l1[] = {3, 2, 1};
    const char *a2[] = {"SET", "w2", "y", "EX", "10"};
    size_t l2[] = {3, 2, 1, 2, 2};
    /* Their replies go to c's output too; only WRAP's own counts here.
     * With an argument, only the command that gives its own form runs. */
    dice__client_call(c, 5, a2, l2);
    if (argc == 1)
        dice__client_call(c, 3, a1, l1);
}

static void test_nested_commands(void **state) {
    fixture *f = *state;
    assert_int_equal(dice_command_add(f->a, "wrap", -1, DICE_CMD_WRITE, 0, 0, 0,
                                      cmd_wrap, NULL, NULL),
                     0);
    RUN(f->sa, "WRAP");
    assert_int_equal(f->rec.n, 2);
    assert_true(ieq(f->rec.v[0].argv[0], "set") &&
                ieq(f->rec.v[0].argv[3], "pxat"));
    assert_true(ieq(f->rec.v[1].argv[0], "set") &&
                strcmp(f->rec.v[1].argv[1], "w1") == 0 &&
                f->rec.v[1].argc == 3);
    /* An inner command that gave its own form is the whole effect. */
    RUN(f->sa, "WRAP", "one");
    assert_int_equal(f->rec.n, 3);
    assert_true(ieq(f->rec.v[2].argv[0], "set"));
}

/* The vectors recorded since index from, as "db:NAME" words. */
static void stream(const fixture *f, size_t from, char *out, size_t size) {
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = from; i < f->rec.n && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%d:%s",
                                 i > from ? " " : "", f->rec.v[i].db,
                                 f->rec.v[i].argv[0]);
    for (char *p = out; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
}

static void test_multi_exec_wrapping(void **state) {
    fixture *f = *state;
    char got[512];
    size_t n = f->rec.n;
    /* Two writes: wrapped, once, with no vector for EXEC's own argv. */
    RUN(f->sa, "MULTI");
    RUN(f->sa, "SET", "a", "1");
    RUN(f->sa, "SET", "b", "2");
    assert_int_equal(RUN(f->sa, "EXEC"), '*');
    stream(f, n, got, sizeof(got));
    assert_string_equal(got, "0:MULTI 0:SET 0:SET 0:EXEC");
    /* One write: as is (it is atomic by itself). */
    n = f->rec.n;
    RUN(f->sa, "MULTI");
    RUN(f->sa, "SET", "c", "1");
    RUN(f->sa, "GET", "c");
    RUN(f->sa, "EXEC");
    stream(f, n, got, sizeof(got));
    assert_string_equal(got, "0:SET");
    /* Reads only, or discarded, or failed by WATCH: nothing. */
    n = f->rec.n;
    RUN(f->sa, "MULTI");
    RUN(f->sa, "GET", "a");
    RUN(f->sa, "EXEC");
    RUN(f->sa, "MULTI");
    RUN(f->sa, "SET", "a", "9");
    RUN(f->sa, "DISCARD");
    RUN(f->sa, "WATCH", "a");
    RUN(f->sa, "SET", "a", "3"); /* touches it: propagates on its own */
    RUN(f->sa, "MULTI");
    RUN(f->sa, "SET", "z", "1");
    RUN(f->sa, "SET", "y", "1");
    assert_int_equal(RUN(f->sa, "EXEC"), '*'); /* *-1 */
    stream(f, n, got, sizeof(got));
    assert_string_equal(got, "0:SET");
    /* Rewritten forms, several vectors from one command, db switches. */
    n = f->rec.n;
    RUN(f->sa, "MULTI");
    RUN(f->sa, "INCRBYFLOAT", "fl", "1.5");
    RUN(f->sa, "SELECT", "1");
    RUN(f->sa, "SET", "d", "1", "EX", "10");
    RUN(f->sa, "EXEC");
    stream(f, n, got, sizeof(got));
    assert_string_equal(got, "0:MULTI 0:SET 1:SET 1:EXEC");
    assert_true(ieq(f->rec.v[n + 1].argv[3], "keepttl"));
    assert_true(ieq(f->rec.v[n + 2].argv[3], "pxat"));
    RUN(f->sa, "SELECT", "0");
    /* A key expiring inside EXEC: its DEL is part of the transaction. */
    RUN(f->sa, "SET", "t", "v", "PX", "1");
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
    n = f->rec.n;
    RUN(f->sa, "MULTI");
    RUN(f->sa, "GET", "t");
    RUN(f->sa, "SET", "u", "1");
    RUN(f->sa, "EXEC");
    stream(f, n, got, sizeof(got));
    assert_string_equal(got, "0:MULTI 0:DEL 0:SET 0:EXEC");
    /* A runtime error in the middle: the others still propagate. */
    n = f->rec.n;
    RUN(f->sa, "MULTI");
    RUN(f->sa, "SET", "e", "x");
    RUN(f->sa, "INCR", "e");
    RUN(f->sa, "DEL", "e");
    RUN(f->sa, "EXEC");
    stream(f, n, got, sizeof(got));
    assert_string_equal(got, "0:MULTI 0:SET 0:DEL 0:EXEC");
    /* The replay (MULTI/EXEC included) rebuilds the dataset. */
    replay(f);
    assert_same_dataset(f);
}

/* redis.set_repl: a host's sink stands for Redis's replicas, so it gets
 * REPL_REPLICA and REPL_ALL commands, not REPL_AOF or REPL_NONE ones; a
 * vector no sink takes does not count for the MULTI ... EXEC wrapping
 * (Redis's shouldPropagate). The append-only file's side is in
 * tests/integration/test_scripting_rules.py. */
static void test_script_set_repl(void **state) {
    fixture *f = *state;
    char got[512];
    size_t n = f->rec.n;
    RUN(f->sa, "EVAL",
        "redis.call('set','a','1'); redis.set_repl(redis.REPL_NONE); "
        "redis.call('set','b','2'); redis.set_repl(redis.REPL_AOF); "
        "redis.call('set','c','3'); redis.set_repl(redis.REPL_REPLICA); "
        "redis.call('set','d','4'); redis.set_repl(redis.REPL_SLAVE); "
        "redis.call('set','e','5'); redis.set_repl(redis.REPL_ALL); "
        "return redis.call('set','f','6')",
        "0");
    stream(f, n, got, sizeof(got));
    assert_string_equal(got, "0:MULTI 0:SET 0:SET 0:SET 0:SET 0:EXEC");
    assert_string_equal(f->rec.v[n + 1].argv[1], "a");
    assert_string_equal(f->rec.v[n + 2].argv[1], "d");
    assert_string_equal(f->rec.v[n + 3].argv[1], "e");
    assert_string_equal(f->rec.v[n + 4].argv[1], "f");
    /* One vector left: unwrapped. None: nothing. */
    n = f->rec.n;
    RUN(f->sa, "EVAL",
        "redis.set_repl(redis.REPL_AOF); redis.call('set','g','1'); "
        "redis.set_repl(redis.REPL_ALL); return redis.call('set','h','1')",
        "0");
    RUN(f->sa, "EVAL",
        "redis.set_repl(redis.REPL_NONE); return redis.call('incr','i')", "0");
    stream(f, n, got, sizeof(got));
    assert_string_equal(got, "0:SET");
    assert_string_equal(f->rec.v[n].argv[1], "h");
    /* The setting lasts for the run only. */
    n = f->rec.n;
    RUN(f->sa, "SET", "j", "1");
    stream(f, n, got, sizeof(got));
    assert_string_equal(got, "0:SET");
}

static void test_remove_sink(void **state) {
    fixture *f = *state;
    assert_int_equal(dice_server_remove_propagation_sink(f->a, f->sink), 0);
    assert_int_equal(dice_server_remove_propagation_sink(f->a, f->sink),
                     DICE_ENOENT);
    RUN(f->sa, "SET", "k", "v");
    assert_int_equal(f->rec.n, 0);
    assert_int_equal(dice_server_add_propagation_sink(f->a, NULL, NULL, NULL),
                     DICE_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replay_rebuilds_the_dataset, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_absolute_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_change_no_vector, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_nested_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multi_exec_wrapping, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_script_set_repl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_sink, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
