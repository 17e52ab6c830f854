/* The plumbing every collection type shares, proven with a test-only toy
 * type before any real one exists: a set on the member table
 * (lib/types/strset.c) registered as DICE_TYPE_SET, with toy commands
 * TADD/TREM/TCARD written on the family helpers (dice__obj_lookup,
 * dice__obj_lookup_create, dice__obj_written). Through in-process
 * sessions: TYPE, OBJECT ENCODING, SCAN TYPE, COPY, RENAME, MOVE, DEL,
 * UNLINK, EXISTS, RANDOMKEY, the TTL family, MEMORY USAGE, DEBUG
 * DIGEST-VALUE through the digest method, WRONGTYPE both ways, deletion of
 * an emptied collection, and the events a write fires. Also the collection
 * settings reaching the keyspace's thresholds. */
#include <dice/dice.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "commands/commands_internal.h"
#include "types/types_internal.h"

/* ---- the toy type ------------------------------------------------------- */

static int toy_live; /* objects alive: every free is checked */

static void *toy_new(void *arg) {
    (void)arg;
    dice__mtab *t = malloc(sizeof(*t));
    if (t) {
        dice__mt_init(t, DICE__MT_SET);
        toy_live++;
    }
    return t;
}

static void toy_free(void *ctx, void *obj) {
    (void)ctx;
    dice__mt_free(obj);
    free(obj);
    toy_live--;
}

static void copy_one(void *dst, const dice__mt_item *it) {
    dice__strset_add(dst, it->key, it->klen);
}

static void *toy_copy(void *ctx, const void *obj) {
    (void)ctx;
    dice__mtab *c = toy_new(NULL);
    if (c)
        dice__mt_foreach((dice__mtab *)obj, copy_one, c);
    return c;
}

static const char *toy_encoding(void *ctx, const void *obj) {
    (void)ctx, (void)obj;
    return "hashtable";
}

static size_t toy_mem(void *ctx, const void *obj) {
    (void)ctx;
    return dice__mt_mem((dice__mtab *)obj, 0);
}

static void digest_one(void *d, const dice__mt_item *it) {
    dice_digest_add(d, it->key, it->klen);
    dice_digest_end_sequence(d);
}

static void toy_digest(void *ctx, const void *obj, dice_digest_t *d) {
    (void)ctx;
    dice__mt_foreach((dice__mtab *)obj, digest_one, d);
}

static const char *const toy_encodings[] = {"hashtable", NULL};

/* TADD key member... : members added. */
static DICE__CMD_FN(cmd_tadd) {
    void *o;
    int created;
    if (dice__obj_lookup_create(c, argv[1], argvlen[1], DICE_TYPE_SET, toy_new,
                                NULL, &o, &created) < 0)
        return;
    long long n = 0;
    for (int i = 2; i < argc; i++)
        n += dice__strset_add(o, argv[i], argvlen[i]) == 1;
    if (n || created)
        dice__obj_written(c, argv[1], argvlen[1], dice__mt_len(o));
    dice_reply_int(c, n);
}

/* TREM key member... : members removed; the key goes with the last. */
static DICE__CMD_FN(cmd_trem) {
    void *o;
    int rc = dice__obj_lookup(c, argv[1], argvlen[1], DICE_TYPE_SET, &o);
    if (rc <= 0) {
        if (rc == 0)
            dice_reply_int(c, 0);
        return;
    }
    long long n = 0;
    for (int i = 2; i < argc; i++)
        n += dice__strset_del(o, argv[i], argvlen[i]);
    if (n)
        dice__obj_written(c, argv[1], argvlen[1], dice__mt_len(o));
    dice_reply_int(c, n);
}

static DICE__CMD_FN(cmd_tcard) {
    void *o;
    int rc = dice__obj_lookup(c, argv[1], argvlen[1], DICE_TYPE_SET, &o);
    if (rc >= 0)
        dice_reply_int(c, rc ? (long long)dice__mt_len(o) : 0);
}

/* ---- fixture ------------------------------------------------------------- */

typedef struct {
    dice_loop_t *loop;
    dice_server_t *srv;
    dice_session_t *s;
    int events[16];
} fixture_t;

static void hook(void *ctx, int db, const char *key, size_t klen, int ev) {
    (void)db, (void)key, (void)klen;
    fixture_t *f = ctx;
    if (ev > 0 && ev < 16)
        f->events[ev]++;
}

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof(*f));
    assert_int_equal(dice_loop_new(&f->loop), 0);
    assert_int_equal(dice_server_new(&f->srv, f->loop), 0);
    assert_int_equal(dice_server_config_set(f->srv, "loglevel", "warning"), 0);
    assert_int_equal(dice_command_add_builtins(f->srv, DICE_BUILTIN_ALL), 0);
    dice_command_add(f->srv, "tadd", -3, DICE_CMD_WRITE, 1, 1, 1, cmd_tadd,
                     NULL, NULL);
    dice_command_add(f->srv, "trem", -3, DICE_CMD_WRITE, 1, 1, 1, cmd_trem,
                     NULL, NULL);
    dice_command_add(f->srv, "tcard", 2, DICE_CMD_READONLY, 1, 1, 1, cmd_tcard,
                     NULL, NULL);
    dice_type_methods m = {0};
    m.version = DICE_TYPE_METHODS_VERSION;
    m.name = "set";
    m.encoding_names = toy_encodings;
    m.encoding = toy_encoding;
    m.free = toy_free;
    m.copy = toy_copy;
    m.mem_usage = toy_mem;
    m.digest = toy_digest;
    dice_keyspace_t *ks = dice_server_keyspace(f->srv);
    assert_non_null(ks);
    assert_int_equal(dice_keyspace_register_type(ks, DICE_TYPE_SET, &m, NULL),
                     0);
    dice_keyspace_set_hook(ks, hook, f);
    assert_int_equal(dice_session_new(f->srv, 2, &f->s), 0);
    toy_live = 0;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    dice_session_free(f->s);
    dice_server_free(f->srv);
    dice_loop_free(f->loop);
    assert_int_equal(toy_live, 0); /* every object freed through the type */
    free(f);
    return 0;
}

typedef struct {
    int argc;
    const char *argv[16];
    size_t argvlen[16];
    char buf[512];
} words_t;

static const char *call(fixture_t *f, const char *line, size_t *len) {
    words_t w;
    snprintf(w.buf, sizeof(w.buf), "%s", line);
    w.argc = 0;
    for (char *p = strtok(w.buf, " "); p && w.argc < 16;
         p = strtok(NULL, " ")) {
        w.argv[w.argc] = p;
        w.argvlen[w.argc++] = strlen(p);
    }
    const char *reply;
    assert_int_equal(
        dice_session_call(f->s, w.argc, w.argv, w.argvlen, &reply, len), 0);
    return reply;
}

static void expect(fixture_t *f, const char *line, const char *want) {
    size_t len;
    const char *r = call(f, line, &len);
    if (len != strlen(want) || memcmp(r, want, len) != 0)
        fail_msg("%s: got '%.*s', want '%s'", line, (int)len, r, want);
}

/* ---- tests ------------------------------------------------------------- */

static void test_generic_commands(void **state) {
    fixture_t *f = *state;
    expect(f, "TADD s a b c", ":3\r\n");
    expect(f, "TADD s a", ":0\r\n");
    expect(f, "TYPE s", "+set\r\n");
    expect(f, "OBJECT ENCODING s", "$9\r\nhashtable\r\n");
    expect(f, "EXISTS s s nokey", ":2\r\n");
    expect(f, "SET str v", "+OK\r\n");
    expect(f, "SCAN 0 TYPE set", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\ns\r\n");
    expect(f, "SCAN 0 TYPE SET", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\ns\r\n");
    expect(f, "SCAN 0 TYPE list", "*2\r\n$1\r\n0\r\n*0\r\n");
    expect(f, "SCAN 0 TYPE nosuchtype", "*2\r\n$1\r\n0\r\n*0\r\n");
    expect(f, "TADD str x",
           "-WRONGTYPE Operation against a key holding the wrong kind of "
           "value\r\n");
    expect(f, "GET s",
           "-WRONGTYPE Operation against a key holding the wrong kind of "
           "value\r\n");
    /* COPY through the type's copy: an independent object. */
    expect(f, "COPY s s2", ":1\r\n");
    expect(f, "TREM s2 a", ":1\r\n");
    expect(f, "TCARD s", ":3\r\n");
    expect(f, "TCARD s2", ":2\r\n");
    expect(f, "COPY s s2", ":0\r\n");
    expect(f, "COPY s s2 REPLACE", ":1\r\n");
    expect(f, "TCARD s2", ":3\r\n");
    expect(f, "COPY s s3 DB 1", ":1\r\n");
    /* Digests: equal content, equal digest; the digest method is used. */
    uint8_t d1[DICE_DIGEST_LEN], d2[DICE_DIGEST_LEN], d3[DICE_DIGEST_LEN];
    dice_db_t *db = dice_keyspace_db(dice_server_keyspace(f->srv), 0);
    assert_int_equal(dice_db_digest_value(db, "s", 1, d1), 0);
    assert_int_equal(dice_db_digest_value(db, "s2", 2, d2), 0);
    assert_memory_equal(d1, d2, sizeof(d1));
    expect(f, "TREM s2 c", ":1\r\n");
    assert_int_equal(dice_db_digest_value(db, "s2", 2, d3), 0);
    assert_memory_not_equal(d1, d3, sizeof(d1));
    /* RENAME and MOVE carry the object. */
    expect(f, "RENAME s2 r", "+OK\r\n");
    expect(f, "TCARD r", ":2\r\n");
    expect(f, "MOVE r 2", ":1\r\n");
    expect(f, "EXISTS r", ":0\r\n");
    expect(f, "SELECT 2", "+OK\r\n");
    expect(f, "TYPE r", "+set\r\n");
    expect(f, "RANDOMKEY", "$1\r\nr\r\n");
    expect(f, "UNLINK r", ":1\r\n");
    expect(f, "SELECT 0", "+OK\r\n");
    /* TTL family. */
    expect(f, "EXPIRE s 100", ":1\r\n");
    expect(f, "TTL s", ":100\r\n");
    expect(f, "PERSIST s", ":1\r\n");
    expect(f, "TTL s", ":-1\r\n");
    /* MEMORY USAGE through mem_usage: more than the string's. */
    size_t len;
    const char *r = call(f, "MEMORY USAGE s", &len);
    long long ms = atoll(r + 1);
    r = call(f, "MEMORY USAGE str", &len);
    long long mstr = atoll(r + 1);
    assert_true(ms > mstr && mstr > 0);
    r = call(f, "MEMORY USAGE s SAMPLES 0", &len);
    assert_int_equal(atoll(r + 1), ms);
    expect(f, "MEMORY USAGE nokey", "$-1\r\n");
    expect(f, "MEMORY USAGE s SAMPLES -1", "-ERR syntax error\r\n");
    expect(f, "DEL s str", ":2\r\n");
}

static void test_empty_deleted_and_events(void **state) {
    fixture_t *f = *state;
    expect(f, "TADD k a b", ":2\r\n");
    assert_int_equal(f->events[DICE_KS_OBJ_SET], 1);
    assert_int_equal(f->events[DICE_KS_MODIFY], 1);
    expect(f, "TREM k a", ":1\r\n");
    assert_int_equal(f->events[DICE_KS_MODIFY], 2);
    expect(f, "TREM k zz", ":0\r\n"); /* no change: no event */
    assert_int_equal(f->events[DICE_KS_MODIFY], 2);
    expect(f, "TREM k b", ":1\r\n");
    assert_int_equal(f->events[DICE_KS_DEL], 1);
    expect(f, "EXISTS k", ":0\r\n");
    expect(f, "TCARD k", ":0\r\n");
    expect(f, "TREM k b", ":0\r\n");
}

static void test_settings_reach_keyspace(void **state) {
    fixture_t *f = *state;
    const dice__enc_limits *l =
        dice__keyspace_limits(dice_server_keyspace(f->srv));
    assert_int_equal(l->hash_max_listpack_entries, 512);
    assert_int_equal(l->list_max_listpack_size, -2);
    expect(f, "CONFIG SET hash-max-ziplist-entries 7", "+OK\r\n");
    assert_int_equal(l->hash_max_listpack_entries, 7);
    expect(f, "CONFIG SET zset-max-listpack-value 9 list-compress-depth 3",
           "+OK\r\n");
    assert_int_equal(l->zset_max_listpack_value, 9);
    assert_int_equal(l->list_compress_depth, 3);
    expect(f, "CONFIG SET set-max-intset-entries -1",
           "-ERR CONFIG SET failed (possibly related to argument "
           "'set-max-intset-entries') - argument must be between 0 and "
           "9223372036854775807 inclusive\r\n");
    assert_int_equal(l->set_max_intset_entries, 512);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_generic_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_deleted_and_events, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_settings_reach_keyspace, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
