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
    snprintf(s->names[s->n++], sizeof(s->names[0]), "%s", name);
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

#define FAMILY(a)                                                              \
    { #a, a, sizeof(a) / sizeof(a[0]) }
static const struct {
    const char *name;
    corpus_cmd *cmds;
    size_t n;
} CORPUS[] = {
    FAMILY(STRINGS_AND_KEYS),
    FAMILY(SETS),
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
                snprintf(full, sizeof(full), "%s|%s", argv[0], argv[1]);
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

static void test_replay_rebuilds_the_dataset(void **state) {
    fixture *f = *state;
    seen s = {.n = 0};
    run_corpus(f, &s);
    /* FLUSHALL last but one, so the dataset is not trivially empty when
     * compared: compare first, then flush and compare again. */
    replay(f);
    assert_same_dataset(f);
    assert_deterministic(&f->rec);
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
        cmocka_unit_test_setup_teardown(test_remove_sink, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
