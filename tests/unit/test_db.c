/* Unit tests for the keyspace (lib/keyspace/db.c): strings and their encodings,
 * expiry (lazy and active, with a fake clock), rename/copy/move/swap,
 * hooks, objects, KEYS/SCAN/RANDOMKEY. */
#include <float.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dice/db.h"
#include "keyspace/keyspace_internal.h"

#define S(x) x, (sizeof(x) - 1)

static dice_keyspace_t *new_ks(void) {
    dice_keyspace_t *ks = NULL;
    assert_int_equal(dice_keyspace_new(&ks, 16), 0);
    dice_keyspace_set_now(ks, 1700000000000LL);
    return ks;
}

/* Value of key as a NUL-terminated string in buf, or NULL if missing. */
static const char *get(dice_db_t *db, const char *k, char *buf, size_t cap) {
    char nb[DICE_DB_NUMBUF];
    const char *v;
    size_t n;
    if (dice_db_get(db, k, strlen(k), nb, &v, &n) != 0)
        return NULL;
    assert_true(n < cap);
    memcpy(buf, v, n);
    buf[n] = '\0';
    return buf;
}

static const char *enc(dice_db_t *db, const char *k) {
    const char *e = NULL;
    assert_int_equal(dice_db_object_encoding(db, k, strlen(k), &e), 0);
    return e;
}

static void test_parse_ll(void **state) {
    (void)state;
    long long v;
    assert_true(dice_db_parse_ll(S("0"), &v) && v == 0);
    assert_false(dice_db_parse_ll(S("-0"), &v));
    assert_true(dice_db_parse_ll(S("9223372036854775807"), &v) &&
                v == 9223372036854775807LL);
    assert_false(dice_db_parse_ll(S("9223372036854775808"), &v));
    assert_true(dice_db_parse_ll(S("-9223372036854775808"), &v) &&
                v == (-9223372036854775807LL - 1));
    assert_false(dice_db_parse_ll(S("-9223372036854775809"), &v));
    assert_false(dice_db_parse_ll(S("99999999999999999999"), &v));
    assert_false(dice_db_parse_ll(S("0123"), &v));
    assert_false(dice_db_parse_ll(S("+1"), &v));
    assert_false(dice_db_parse_ll(S(" 1"), &v));
    assert_false(dice_db_parse_ll(S("1 "), &v));
    assert_false(dice_db_parse_ll(S("-"), &v));
    assert_false(dice_db_parse_ll(S(""), &v));
    assert_false(dice_db_parse_ll(S("1a"), &v));
    assert_false(dice_db_parse_ll(S("1\0"), &v));
    assert_true(dice_db_parse_ll(S("-123"), &v) && v == -123);
}

static void test_string_encodings(void **state) {
    (void)state;
    dice_keyspace_t *ks = new_ks();
    dice_db_t *db = dice_keyspace_db(ks, 0);
    char buf[128];
    struct {
        const char *v;
        const char *enc;
    } cases[] = {
        {"0", "int"},
        {"-0", "embstr"},
        {"123", "int"},
        {"0123", "embstr"},
        {"+1", "embstr"},
        {" 1", "embstr"},
        {"9223372036854775807", "int"},
        {"9223372036854775808", "embstr"},
        {"-9223372036854775808", "int"},
        {"hello", "embstr"},
        {"12345678901234567890123456789012345678901234", "embstr"}, /* 44 */
        {"123456789012345678901234567890123456789012345", "raw"},   /* 45 */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(
            dice_db_set(db, S("k"), cases[i].v, strlen(cases[i].v), 0, 0), 0);
        assert_string_equal(enc(db, "k"), cases[i].enc);
        assert_string_equal(get(db, "k", buf, sizeof(buf)), cases[i].v);
    }
    /* Binary value with NULs, binary key. */
    assert_int_equal(dice_db_set(db, S("b\0k"), S("x\0y"), 0, 0), 0);
    char nb[DICE_DB_NUMBUF];
    const char *v;
    size_t n;
    assert_int_equal(dice_db_get(db, S("b\0k"), nb, &v, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(v, "x\0y", 3);
    assert_int_equal(dice_db_get(db, S("b"), nb, &v, &n), DICE_ENOENT);
    /* set_int */
    assert_int_equal(dice_db_set_int(db, S("i"), -42, 0, 0), 0);
    assert_string_equal(get(db, "i", buf, sizeof(buf)), "-42");
    assert_string_equal(enc(db, "i"), "int");
    /* NOINT keeps a canonical integer as a string. */
    assert_int_equal(dice_db_set(db, S("s"), S("77"), DICE_SET_NOINT, 0), 0);
    assert_string_equal(enc(db, "s"), "embstr");
    dice_keyspace_free(ks);
}

/* Overwriting a key reuses its allocation when the new entry fits: every
 * transition between encodings, sizes and TTL states must leave exactly
 * the new value, the right TTL and nothing leaked (run under ASan). */
static void test_overwrite_in_place(void **state) {
    (void)state;
    dice_keyspace_t *ks = new_ks();
    dice_db_t *db = dice_keyspace_db(ks, 0);
    char buf[256], big[100];
    memset(big, 'b', sizeof(big));
    int64_t at;
    const char *vals[] = {"0123456789abcdef0123", "x", "12345", "-7", "hello"};
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
            assert_int_equal(
                dice_db_set(db, S("k"), vals[i], strlen(vals[i]), 0, 0), 0);
            assert_string_equal(get(db, "k", buf, sizeof(buf)), vals[i]);
            assert_int_equal(dice_db_get_expire(db, S("k"), &at), 0);
            assert_int_equal(at, -1);
        }
        /* emb -> raw -> emb, with a TTL kept through KEEPTTL */
        assert_int_equal(dice_db_set(db, S("k"), big, sizeof(big),
                                     DICE_SET_EXPIRE, 1700000100000LL),
                         0);
        assert_string_equal(enc(db, "k"), "raw");
        assert_int_equal(
            dice_db_set(db, S("k"), S("short"), DICE_SET_KEEPTTL, 0), 0);
        assert_string_equal(get(db, "k", buf, sizeof(buf)), "short");
        assert_string_equal(enc(db, "k"), "embstr");
        assert_int_equal(dice_db_get_expire(db, S("k"), &at), 0);
        assert_int_equal(at, 1700000100000LL);
        assert_int_equal(dice_db_expires(db), 1);
        /* same TTL state, new deadline */
        assert_int_equal(
            dice_db_set(db, S("k"), S("42"), DICE_SET_EXPIRE, 1700000200000LL),
            0);
        assert_string_equal(enc(db, "k"), "int");
        assert_int_equal(dice_db_get_expire(db, S("k"), &at), 0);
        assert_int_equal(at, 1700000200000LL);
        /* TTL dropped by a plain SET */
        assert_int_equal(dice_db_set(db, S("k"), S("v"), 0, 0), 0);
        assert_int_equal(dice_db_get_expire(db, S("k"), &at), 0);
        assert_int_equal(at, -1);
        assert_int_equal(dice_db_expires(db), 0);
        /* a value that is the key's own current value */
        const char *cur;
        size_t n;
        char nb[DICE_DB_NUMBUF];
        assert_int_equal(dice_db_get(db, S("k"), nb, &cur, &n), 0);
        assert_int_equal(dice_db_set(db, S("k"), cur, n, 0, 0), 0);
        assert_string_equal(get(db, "k", buf, sizeof(buf)), "v");
    }
    assert_int_equal(dice_db_size(db), 1);
    dice_keyspace_free(ks);
}

/* The API hands out pointers into entries (KEYS, SCAN, RANDOMKEY, GET);
 * passing one back to a call that moves or frees that same entry must
 * work: the hook must get a live key, and APPEND/SETRANGE must copy from
 * the live value. The hook reads every byte, so ASan catches stale keys. */
static size_t hook_bytes;
static void reading_hook(void *ctx, int db, const char *key, size_t klen,
                         int event) {
    (void)ctx, (void)db, (void)event;
    for (size_t i = 0; i < klen; i++)
        hook_bytes += (unsigned char)key[i] != 0;
}

static const char *kept_key;
static size_t kept_len;
static void keep_key(void *ctx, const char *key, size_t klen) {
    (void)ctx;
    kept_key = key;
    kept_len = klen;
}

static void test_api_pointers_passed_back(void **state) {
    (void)state;
    dice_keyspace_t *ks = new_ks();
    dice_db_t *db = dice_keyspace_db(ks, 0);
    dice_keyspace_set_hook(ks, reading_hook, NULL);
    char buf[128], nb[DICE_DB_NUMBUF];
    const char *v;
    size_t n, nl;
    int64_t at;

    /* EXPIRE then PERSIST on a key pointer from KEYS */
    assert_int_equal(dice_db_set(db, S("mykey"), S("abc"), 0, 0), 0);
    assert_int_equal(dice_db_keys(db, S("my*"), keep_key, NULL), 1);
    assert_int_equal(
        dice_db_set_expire(db, kept_key, kept_len, 1700000100000LL, 0), 1);
    assert_int_equal(dice_db_keys(db, S("my*"), keep_key, NULL), 1);
    assert_int_equal(dice_db_persist(db, kept_key, kept_len), 1);
    assert_int_equal(dice_db_get_expire(db, S("mykey"), &at), 0);
    assert_int_equal(at, -1);

    /* APPEND of the value to itself (embedded, then raw) */
    assert_int_equal(dice_db_get(db, S("mykey"), nb, &v, &n), 0);
    assert_int_equal(dice_db_append(db, S("mykey"), v, n, &nl), 0);
    assert_string_equal(get(db, "mykey", buf, sizeof(buf)), "abcabc");
    assert_int_equal(dice_db_get(db, S("mykey"), nb, &v, &n), 0);
    assert_int_equal(dice_db_append(db, S("mykey"), v + 1, 2, &nl), 0);
    assert_string_equal(get(db, "mykey", buf, sizeof(buf)), "abcabcbc");

    /* SETRANGE from its own bytes, overlapping and past the end */
    assert_int_equal(dice_db_get(db, S("mykey"), nb, &v, &n), 0);
    assert_int_equal(dice_db_setrange(db, S("mykey"), 2, v, 4, &nl), 0);
    assert_string_equal(get(db, "mykey", buf, sizeof(buf)), "ababcabc");
    assert_int_equal(dice_db_get(db, S("mykey"), nb, &v, &n), 0);
    assert_int_equal(dice_db_setrange(db, S("mykey"), 10, v, 3, &nl), 0);
    assert_int_equal(nl, 13);
    assert_int_equal(dice_db_get(db, S("mykey"), nb, &v, &n), 0);
    assert_memory_equal(v, "ababcabc\0\0aba", 13);

    /* RENAME and COPY onto an existing key named by a pointer into it */
    assert_int_equal(dice_db_set(db, S("dst"), S("old"), 0, 0), 0);
    assert_int_equal(dice_db_keys(db, S("dst"), keep_key, NULL), 1);
    assert_int_equal(dice_db_rename(db, S("mykey"), kept_key, kept_len, 0), 0);
    assert_int_equal(dice_db_exists(db, S("mykey")), 0);
    assert_int_equal(dice_db_set(db, S("src"), S("s"), 0, 0), 0);
    assert_int_equal(dice_db_keys(db, S("dst"), keep_key, NULL), 1);
    assert_int_equal(dice_db_copy(db, S("src"), db, kept_key, kept_len, 1), 0);
    assert_string_equal(get(db, "dst", buf, sizeof(buf)), "s");

    /* INCRBY of a non-int value on a key pointer from KEYS */
    assert_int_equal(dice_db_set(db, S("cnt"), S("7"), DICE_SET_NOINT, 0), 0);
    assert_int_equal(dice_db_keys(db, S("cnt"), keep_key, NULL), 1);
    long long out;
    assert_int_equal(dice_db_incrby(db, kept_key, kept_len, 5, &out), 0);
    assert_int_equal(out, 12);

    /* INCRBYFLOAT returns the stored text */
    assert_int_equal(dice_db_keys(db, S("cnt"), keep_key, NULL), 1);
    assert_int_equal(
        dice_db_incrbyfloat(db, kept_key, kept_len, S("0.5"), &v, &n), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(v, "12.5", 4);
    assert_true(hook_bytes > 0);
    dice_keyspace_free(ks);
}

/* Redis: a key whose time equals now is still there (PTTL 0); one past
 * it is gone. */
static void test_expiry_boundary(void **state) {
    (void)state;
    dice_keyspace_t *ks = new_ks();
    dice_db_t *db = dice_keyspace_db(ks, 0);
    int64_t now = dice_keyspace_now(ks);
    assert_int_equal(dice_db_set(db, S("k"), S("v"), DICE_SET_EXPIRE, now + 5),
                     0);
    dice_keyspace_set_now(ks, now + 5);
    assert_int_equal(dice_db_exists(db, S("k")), 1);
    dice_keyspace_set_now(ks, now + 6);
    assert_int_equal(dice_db_exists(db, S("k")), 0);
    dice_keyspace_free(ks);
}

static void test_set_options(void **state) {
    (void)state;
    dice_keyspace_t *ks = new_ks();
    dice_db_t *db = dice_keyspace_db(ks, 0);
    int64_t now = dice_keyspace_now(ks), at;
    char buf[64];
    assert_int_equal(dice_db_set(db, S("k"), S("a"), DICE_SET_XX, 0),
                     DICE_ENOENT);
    assert_int_equal(dice_db_exists(db, S("k")), 0);
    assert_int_equal(dice_db_set(db, S("k"), S("a"), DICE_SET_NX, 0), 0);
    assert_int_equal(dice_db_set(db, S("k"), S("b"), DICE_SET_NX, 0),
                     DICE_EEXIST);
    assert_string_equal(get(db, "k", buf, sizeof(buf)), "a");
    assert_int_equal(dice_db_set(db, S("k"), S("b"), DICE_SET_XX, 0), 0);
    assert_string_equal(get(db, "k", buf, sizeof(buf)), "b");
    /* EX, then overwrite clears, KEEPTTL keeps. */
    assert_int_equal(
        dice_db_set(db, S("k"), S("c"), DICE_SET_EXPIRE, now + 5000), 0);
    assert_int_equal(dice_db_get_expire(db, S("k"), &at), 0);
    assert_int_equal(at, now + 5000);
    assert_int_equal(dice_db_expires(db), 1);
    assert_int_equal(dice_db_set(db, S("k"), S("d"), DICE_SET_KEEPTTL, 0), 0);
    assert_int_equal(dice_db_get_expire(db, S("k"), &at), 0);
    assert_int_equal(at, now + 5000);
    assert_int_equal(dice_db_set(db, S("k"), S("e"), 0, 0), 0);
    assert_int_equal(dice_db_get_expire(db, S("k"), &at), 0);
    assert_int_equal(at, -1);
    assert_int_equal(dice_db_expires(db), 0);
    /* Expire in the past deletes. */
    assert_int_equal(dice_db_set(db, S("k"), S("f"), DICE_SET_EXPIRE, now), 0);
    assert_int_equal(dice_db_exists(db, S("k")), 0);
    assert_int_equal(dice_db_size(db), 0);
    assert_int_equal(dice_db_get_expire(db, S("k"), &at), DICE_ENOENT);
    dice_keyspace_free(ks);
}

static void test_incr(void **state) {
    (void)state;
    dice_keyspace_t *ks = new_ks();
    dice_db_t *db = dice_keyspace_db(ks, 0);
    long long v;
    char buf[64];
    int64_t at, now = dice_keyspace_now(ks);
    assert_int_equal(dice_db_incrby(db, S("n"), 1, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(dice_db_incrby(db, S("n"), -11, &v), 0);
    assert_int_equal(v, -10);
    assert_string_equal(enc(db, "n"), "int");
    assert_int_equal(dice_db_set_expire(db, S("n"), now + 1000, 0), 1);
    assert_int_equal(dice_db_incrby(db, S("n"), 5, &v), 0);
    assert_int_equal(dice_db_get_expire(db, S("n"), &at), 0);
    assert_int_equal(at, now + 1000); /* INCR keeps the TTL */
    dice_db_set(db, S("m"), S("9223372036854775807"), 0, 0);
    assert_int_equal(dice_db_incrby(db, S("m"), 1, &v), DICE_ERANGE);
    dice_db_set(db, S("m"), S("-9223372036854775808"), 0, 0);
    assert_int_equal(dice_db_incrby(db, S("m"), -1, &v), DICE_ERANGE);
    dice_db_set(db, S("s"), S("abc"), 0, 0);
    assert_int_equal(dice_db_incrby(db, S("s"), 1, &v), DICE_EINVAL);
    dice_db_set(db, S("s"), S(" 1"), 0, 0);
    assert_int_equal(dice_db_incrby(db, S("s"), 1, &v), DICE_EINVAL);
    /* A non-int encoded numeric string (after APPEND) still increments. */
    size_t nl;
    dice_db_set(db, S("a"), S("1"), 0, 0);
    assert_int_equal(dice_db_append(db, S("a"), S("2"), &nl), 0);
    assert_string_equal(enc(db, "a"), "raw");
    assert_int_equal(dice_db_incrby(db, S("a"), 1, &v), 0);
    assert_int_equal(v, 13);
    assert_string_equal(enc(db, "a"), "int");
    /* INCRBYFLOAT: values probed on redis-server 7.0. */
    const char *fv;
    size_t fl;
    dice_db_set(db, S("f"), S("10.50"), 0, 0);
    assert_int_equal(dice_db_incrbyfloat(db, S("f"), S("0.1"), &fv, &fl), 0);
    /* valgrind runs long double math at double precision, which gives
     * "10.59999999999999964"; check Redis's figure only on real x87. */
    volatile long double one = 1, eps = LDBL_EPSILON;
    if (one + eps != one) {
        assert_string_equal(get(db, "f", buf, sizeof(buf)), "10.6");
        assert_int_equal(fl, 4);
        assert_memory_equal(fv, "10.6", 4);
    }
    dice_db_set(db, S("f"), S("10.5"), 0, 0);
    assert_int_equal(dice_db_incrbyfloat(db, S("f"), S("0.25"), &fv, &fl), 0);
    assert_string_equal(get(db, "f", buf, sizeof(buf)), "10.75");
    dice_db_set(db, S("f"), S("5.0e3"), 0, 0);
    assert_int_equal(dice_db_incrbyfloat(db, S("f"), S("2.0e2"), NULL, NULL),
                     0);
    assert_string_equal(get(db, "f", buf, sizeof(buf)), "5200");
    assert_string_equal(enc(db, "f"), "embstr");
    assert_int_equal(dice_db_incrbyfloat(db, S("g"), S("-0"), NULL, NULL), 0);
    assert_string_equal(get(db, "g", buf, sizeof(buf)), "0");
    assert_int_equal(dice_db_incrbyfloat(db, S("g"), S("abc"), NULL, NULL),
                     DICE_EINVAL);
    assert_int_equal(dice_db_incrbyfloat(db, S("g"), S(" 1"), NULL, NULL),
                     DICE_EINVAL);
    if (one + eps != one) /* valgrind turns long double inf finite */
        assert_int_equal(dice_db_incrbyfloat(db, S("g"), S("inf"), NULL, NULL),
                         DICE_ERANGE);
    assert_int_equal(dice_db_incrbyfloat(db, S("s"), S("1"), NULL, NULL),
                     DICE_EINVAL);
    assert_int_equal(dice_db_incrbyfloat(db, S("n"), S("1.5"), NULL, NULL), 0);
    assert_string_equal(get(db, "n", buf, sizeof(buf)), "-3.5");
    dice_keyspace_free(ks);
}

static void test_append_setrange(void **state) {
    (void)state;
    dice_keyspace_t *ks = new_ks();
    dice_db_t *db = dice_keyspace_db(ks, 0);
    size_t n;
    char buf[4096];
    int64_t at, now = dice_keyspace_now(ks);
    assert_int_equal(dice_db_append(db, S("a"), S("hello"), &n), 0);
    assert_int_equal(n, 5);
    assert_string_equal(enc(db, "a"), "embstr");
    assert_int_equal(dice_db_set_expire(db, S("a"), now + 9000, 0), 1);
    assert_int_equal(dice_db_append(db, S("a"), S(" world"), &n), 0);
    assert_int_equal(n, 11);
    assert_string_equal(get(db, "a", buf, sizeof(buf)), "hello world");
    assert_string_equal(enc(db, "a"), "raw");
    assert_int_equal(dice_db_get_expire(db, S("a"), &at), 0);
    assert_int_equal(at, now + 9000);
    /* Many appends: grows the raw buffer. */
    for (int i = 0; i < 300; i++)
        assert_int_equal(dice_db_append(db, S("a"), S("0123456789"), &n), 0);
    assert_int_equal(n, 3011);
    assert_memory_equal(get(db, "a", buf, sizeof(buf)) + 3001, "0123456789",
                        10);
    /* Append to an int. */
    dice_db_set(db, S("i"), S("12"), 0, 0);
    assert_int_equal(dice_db_append(db, S("i"), S("3"), &n), 0);
    assert_string_equal(get(db, "i", buf, sizeof(buf)), "123");
    /* SETRANGE */
    assert_int_equal(dice_db_setrange(db, S("r"), 0, "", 0, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(dice_db_exists(db, S("r")), 0);
    assert_int_equal(dice_db_setrange(db, S("r"), 3, S("ab"), &n), 0);
    assert_int_equal(n, 5);
    char nb[DICE_DB_NUMBUF];
    const char *v;
    size_t vl;
    assert_int_equal(dice_db_get(db, S("r"), nb, &v, &vl), 0);
    assert_int_equal(vl, 5);
    assert_memory_equal(v, "\0\0\0ab", 5);
    dice_db_set(db, S("r"), S("Hello World"), 0, 0);
    assert_int_equal(dice_db_setrange(db, S("r"), 6, S("Redis"), &n), 0);
    assert_int_equal(n, 11);
    assert_string_equal(get(db, "r", buf, sizeof(buf)), "Hello Redis");
    assert_int_equal(dice_db_setrange(db, S("r"), 100, "", 0, &n), 0);
    assert_int_equal(n, 11);
    assert_int_equal(dice_db_setrange(db, S("r"), 536870912, S("x"), &n),
                     DICE_ERANGE);
    assert_int_equal(dice_db_setrange(db, S("r"), 536870911, S("x"), &n), 0);
    assert_int_equal(n, 536870912);
    dice_db_delete(db, S("r"));
    dice_keyspace_free(ks);
}

/* ---- hooks ------------------------------------------------------------ */

typedef struct evlog {
    int n;
    int ev[64];
    int db[64];
    char key[64][16];
} evlog;

static void hook(void *ctx, int db, const char *key, size_t klen, int ev) {
    evlog *l = ctx;
    assert_true(l->n < 64);
    l->ev[l->n] = ev;
    l->db[l->n] = db;
    size_t c = klen < 15 ? klen : 15;
    if (key)
        memcpy(l->key[l->n], key, c);
    l->key[l->n][key ? c : 0] = '\0';
    l->n++;
}

static void expect_ev(evlog *l, int i, int db, const char *key, int ev) {
    assert_true(i < l->n);
    assert_int_equal(l->ev[i], ev);
    assert_int_equal(l->db[i], db);
    assert_string_equal(l->key[i], key);
}

static void test_hooks(void **state) {
    (void)state;
    dice_keyspace_t *ks = new_ks();
    dice_db_t *db = dice_keyspace_db(ks, 0);
    dice_db_t *db1 = dice_keyspace_db(ks, 1);
    evlog l = {0};
    dice_keyspace_set_hook(ks, hook, &l);
    int64_t now = dice_keyspace_now(ks);
    long long v;
    size_t n;
    dice_db_set(db, S("a"), S("1"), 0, 0);
    expect_ev(&l, 0, 0, "a", DICE_KS_SET);
    dice_db_set(db, S("a"), S("1"), DICE_SET_NX, 0); /* no change, no event */
    assert_int_equal(l.n, 1);
    dice_db_incrby(db, S("a"), 1, &v);
    expect_ev(&l, 1, 0, "a", DICE_KS_SET);
    dice_db_append(db, S("a"), S("x"), &n);
    expect_ev(&l, 2, 0, "a", DICE_KS_SET);
    dice_db_set_expire(db, S("a"), now + 100, 0);
    expect_ev(&l, 3, 0, "a", DICE_KS_EXPIRE);
    dice_db_persist(db, S("a"));
    expect_ev(&l, 4, 0, "a", DICE_KS_PERSIST);
    dice_db_rename(db, S("a"), S("b"), 0);
    expect_ev(&l, 5, 0, "a", DICE_KS_RENAME_FROM);
    expect_ev(&l, 6, 0, "b", DICE_KS_RENAME_TO);
    dice_db_move(db, S("b"), db1);
    expect_ev(&l, 7, 0, "b", DICE_KS_MOVE_FROM);
    expect_ev(&l, 8, 1, "b", DICE_KS_MOVE_TO);
    dice_db_copy(db1, S("b"), db, S("c"), 0);
    expect_ev(&l, 9, 0, "c", DICE_KS_COPY_TO);
    dice_db_delete(db, S("c"));
    expect_ev(&l, 10, 0, "c", DICE_KS_DEL);
    assert_int_equal(dice_db_delete(db, S("c")), 0);
    assert_int_equal(l.n, 11);
    dice_db_set(db, S("e"), S("1"), DICE_SET_EXPIRE, now + 10);
    expect_ev(&l, 11, 0, "e", DICE_KS_SET);
    expect_ev(&l, 12, 0, "e", DICE_KS_EXPIRE);
    dice_keyspace_set_now(ks, now + 11); /* past its time (Redis: now > t) */
    assert_int_equal(dice_db_exists(db, S("e")), 0);
    expect_ev(&l, 13, 0, "e", DICE_KS_EXPIRED);
    dice_db_setrange(db, S("r"), 1, S("x"), &n);
    expect_ev(&l, 14, 0, "r", DICE_KS_SET);
    dice_db_signal_modify(db, S("r"));
    expect_ev(&l, 15, 0, "r", DICE_KS_MODIFY);
    dice_keyspace_swapdb(ks, 0, 1);
    expect_ev(&l, 16, 0, "", DICE_KS_SWAPDB);
    expect_ev(&l, 17, 1, "", DICE_KS_SWAPDB);
    dice_db_flush(db);
    expect_ev(&l, 18, 0, "", DICE_KS_FLUSHDB);
    dice_db_incrbyfloat(db1, S("r2"), S("1.5"), NULL, NULL);
    expect_ev(&l, 19, 1, "r2", DICE_KS_SET);
    dice_db_set_expire(db1, S("r2"), now, 0); /* in the past: deleted */
    expect_ev(&l, 20, 1, "r2", DICE_KS_DEL);
    dice_keyspace_flushall(ks);
    expect_ev(&l, 21, 1, "", DICE_KS_FLUSHDB);
    assert_int_equal(l.n, 22);
    dice_keyspace_free(ks);
}

/* ---- expiry ----------------------------------------------------------- */

static void test_expire_options_and_lazy(void **state) {
    (void)state;
    dice_keyspace_t *ks = new_ks();
    dice_db_t *db = dice_keyspace_db(ks, 0);
    int64_t now = dice_keyspace_now(ks), at;
    assert_int_equal(dice_db_set_expire(db, S("none"), now + 1, 0),
                     DICE_ENOENT);
    dice_db_set(db, S("k"), S("v"), 0, 0);
    /* No TTL: XX and GT refuse, LT and NX accept. */
    assert_int_equal(dice_db_set_expire(db, S("k"), now + 100, DICE_EXPIRE_XX),
                     0);
    assert_int_equal(dice_db_set_expire(db, S("k"), now + 100, DICE_EXPIRE_GT),
                     0);
    assert_int_equal(dice_db_set_expire(db, S("k"), now + 100, DICE_EXPIRE_LT),
                     1);
    assert_int_equal(dice_db_set_expire(db, S("k"), now + 50, DICE_EXPIRE_NX),
                     0);
    assert_int_equal(dice_db_set_expire(db, S("k"), now + 50, DICE_EXPIRE_GT),
                     0);
    assert_int_equal(dice_db_set_expire(db, S("k"), now + 200, DICE_EXPIRE_GT),
                     1);
    assert_int_equal(dice_db_set_expire(db, S("k"), now + 300, DICE_EXPIRE_LT),
                     0);
    assert_int_equal(dice_db_set_expire(db, S("k"), now + 150,
                                        DICE_EXPIRE_LT | DICE_EXPIRE_XX),
                     1);
    assert_int_equal(dice_db_get_expire(db, S("k"), &at), 0);
    assert_int_equal(at, now + 150);
    assert_int_equal(dice_db_expires(db), 1);
    assert_int_equal(dice_db_persist(db, S("k")), 1);
    assert_int_equal(dice_db_persist(db, S("k")), 0);
    assert_int_equal(dice_db_expires(db), 0);
    assert_int_equal(dice_db_set_expire(db, S("k"), now + 150, 0), 1);
    /* Lazy expiry: alive up to and at now+150, gone at now+151. */
    dice_keyspace_set_now(ks, now + 150);
    char buf[8];
    assert_non_null(get(db, "k", buf, sizeof(buf)));
    dice_keyspace_set_now(ks, now + 151);
    uint64_t exp0, hits, misses;
    dice_keyspace_stats(ks, &exp0, NULL, NULL);
    assert_null(get(db, "k", buf, sizeof(buf)));
    uint64_t exp1;
    dice_keyspace_stats(ks, &exp1, &hits, &misses);
    assert_int_equal(exp1, exp0 + 1);
    assert_true(hits >= 1 && misses >= 1);
    assert_int_equal(dice_db_size(db), 0);
    assert_int_equal(dice_db_expires(db), 0);
    dice_keyspace_reset_stats(ks);
    dice_keyspace_stats(ks, &exp1, &hits, &misses);
    assert_int_equal(exp1 + hits + misses, 0);
    dice_keyspace_free(ks);
}

/* CLIENT PAUSE: an expired key read while paused is reported missing and
 * kept (Redis's expireIfNeeded); a write adding the key replaces it as an
 * expiry; after the pause a read deletes it as usual. */
static void test_expire_paused(void **state) {
    (void)state;
    dice_keyspace_t *ks = new_ks();
    dice_db_t *db = dice_keyspace_db(ks, 0);
    int64_t now = dice_keyspace_now(ks);
    char buf[8];
    dice_db_set(db, S("a"), S("1"), DICE_SET_EXPIRE, now + 10);
    dice_db_set(db, S("b"), S("2"), DICE_SET_EXPIRE, now + 10);
    dice_keyspace_set_now(ks, now + 11);
    dice__keyspace_pause_expiry(ks, 1);
    uint64_t exp0, exp1;
    dice_keyspace_stats(ks, &exp0, NULL, NULL);
    assert_null(get(db, "a", buf, sizeof(buf)));
    assert_int_equal(dice_db_exists(db, S("a")), 0);
    assert_int_equal(dice_db_size(db), 2);
    assert_int_equal(dice_db_expires(db), 2);
    dice_keyspace_stats(ks, &exp1, NULL, NULL);
    assert_int_equal(exp1, exp0);
    /* A write of a kept key: the old entry goes first (one expiry). */
    assert_int_equal(dice_db_set(db, S("b"), S("3"), 0, 0), 0);
    assert_string_equal(get(db, "b", buf, sizeof(buf)), "3");
    assert_int_equal(dice_db_size(db), 2);
    assert_int_equal(dice_db_expires(db), 1);
    dice_keyspace_stats(ks, &exp1, NULL, NULL);
    assert_int_equal(exp1, exp0 + 1);
    dice__keyspace_pause_expiry(ks, 0);
    assert_null(get(db, "a", buf, sizeof(buf)));
    assert_int_equal(dice_db_size(db), 1);
    assert_int_equal(dice_db_expires(db), 0);
    dice_keyspace_free(ks);
}

static void test_active_expire(void **state) {
    (void)state;
    dice_keyspace_t *ks = new_ks();
    dice_db_t *db = dice_keyspace_db(ks, 0);
    dice_db_t *db3 = dice_keyspace_db(ks, 3);
    int64_t now = dice_keyspace_now(ks);
    char k[32];
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(k, sizeof(k), "k%d", i);
        /* Half expire at now+10, a quarter at now+1000000, rest none. */
        unsigned fl = i % 4 == 3 ? 0 : DICE_SET_EXPIRE;
        int64_t at = i % 2 == 0 ? now + 10 : now + 1000000;
        dice_db_set(db, k, (size_t)n, "v", 1, fl, at);
        dice_db_set(db3, k, (size_t)n, "v", 1, fl, at);
    }
    assert_int_equal(dice_db_expires(db), 3750);
    /* Nothing expired yet. */
    assert_int_equal(dice_keyspace_active_expire(ks, now + 5, 100000), 0);
    size_t total = 0, got;
    int rounds = 0;
    while ((got = dice_keyspace_active_expire(ks, now + 11, 100000)) > 0 &&
           rounds < 10000) {
        total += got;
        rounds++;
    }
    /* The cycle stops once under 25% of a sample is expired, so a tail
     * may remain; most must be gone. */
    assert_true(total > 4000);
    assert_true(total <= 5000);
    assert_int_equal(dice_db_size(db) + dice_db_size(db3), 10000 - total);
    assert_true(dice_db_avg_ttl(db) > 0);
    /* Never deletes a live key. */
    for (int i = 1; i < 5000; i += 2) {
        int n = snprintf(k, sizeof(k), "k%d", i);
        assert_int_equal(dice_db_exists(db, k, (size_t)n), 1);
    }
    uint64_t exp;
    dice_keyspace_stats(ks, &exp, NULL, NULL);
    assert_int_equal(exp, total);
    dice_keyspace_free(ks);
}

/* ---- rename/copy/move/swap ------------------------------------------- */

static int frees;
static void obj_free(void *ctx, void *o) {
    (void)ctx;
    frees++;
    free(o);
}
static void *obj_dup(void *ctx, const void *o) {
    (void)ctx;
    return strdup(o);
}
static const char *obj_enc(void *ctx, const void *o) {
    (void)ctx;
    (void)o;
    return "listpack";
}

static void test_rename_copy_move_swap(void **state) {
    (void)state;
    dice_keyspace_t *ks = new_ks();
    dice_db_t *db = dice_keyspace_db(ks, 0);
    dice_db_t *db1 = dice_keyspace_db(ks, 1);
    int64_t now = dice_keyspace_now(ks), at;
    char buf[128];
    const char *big = "a string longer than forty-four bytes, so raw!!";
    dice_db_set(db, S("src"), big, strlen(big), DICE_SET_EXPIRE, now + 777);
    dice_db_set(db, S("dst"), S("old"), 0, 0);
    assert_int_equal(dice_db_rename(db, S("src"), S("dst"), 1), DICE_EEXIST);
    assert_int_equal(dice_db_rename(db, S("nope"), S("x"), 0), DICE_ENOENT);
    assert_int_equal(dice_db_rename(db, S("src"), S("src"), 0), 0);
    assert_int_equal(dice_db_rename(db, S("src"), S("src"), 1), DICE_EEXIST);
    assert_int_equal(dice_db_rename(db, S("src"), S("dst"), 0), 0);
    assert_int_equal(dice_db_exists(db, S("src")), 0);
    assert_string_equal(get(db, "dst", buf, sizeof(buf)), big);
    assert_int_equal(dice_db_get_expire(db, S("dst"), &at), 0);
    assert_int_equal(at, now + 777);
    assert_int_equal(dice_db_size(db), 1);
    assert_int_equal(dice_db_expires(db), 1);
    /* COPY across dbs keeps TTL; the copy is independent. */
    assert_int_equal(dice_db_copy(db, S("dst"), db1, S("cp"), 0), 0);
    assert_int_equal(dice_db_copy(db, S("dst"), db1, S("cp"), 0), DICE_EEXIST);
    assert_int_equal(dice_db_copy(db, S("dst"), db, S("dst"), 1), DICE_EINVAL);
    assert_int_equal(dice_db_copy(db, S("zz"), db1, S("cp"), 1), DICE_ENOENT);
    size_t n;
    dice_db_append(db, S("dst"), S("X"), &n);
    assert_string_equal(get(db1, "cp", buf, sizeof(buf)), big);
    assert_int_equal(dice_db_get_expire(db1, S("cp"), &at), 0);
    assert_int_equal(at, now + 777);
    dice_db_set(db1, S("cp2"), S("1"), 0, 0);
    assert_int_equal(dice_db_copy(db1, S("cp"), db1, S("cp2"), 1), 0);
    assert_string_equal(get(db1, "cp2", buf, sizeof(buf)), big);
    /* MOVE keeps TTL, refuses when present. */
    assert_int_equal(dice_db_move(db1, S("cp"), db1), DICE_EINVAL);
    dice_db_set(db, S("cp"), S("here"), 0, 0);
    assert_int_equal(dice_db_move(db1, S("cp"), db), DICE_EEXIST);
    dice_db_delete(db, S("cp"));
    assert_int_equal(dice_db_move(db1, S("cp"), db), 0);
    assert_int_equal(dice_db_exists(db1, S("cp")), 0);
    assert_int_equal(dice_db_get_expire(db, S("cp"), &at), 0);
    assert_int_equal(at, now + 777);
    assert_int_equal(dice_db_expires(db), 2);
    assert_int_equal(dice_db_expires(db1), 1);
    assert_int_equal(dice_db_move(db1, S("cp"), db), DICE_ENOENT);
    /* SWAPDB moves contents, counters and TTLs. */
    size_t s0 = dice_db_size(db), s1 = dice_db_size(db1);
    assert_int_equal(dice_keyspace_swapdb(ks, 0, 1), 0);
    assert_int_equal(dice_db_size(db), s1);
    assert_int_equal(dice_db_size(db1), s0);
    assert_int_equal(dice_db_get_expire(db1, S("cp"), &at), 0);
    assert_int_equal(at, now + 777);
    assert_int_equal(dice_keyspace_swapdb(ks, 0, 16), DICE_EINVAL);
    /* After the TTL, all those copies expire lazily. */
    dice_keyspace_set_now(ks, now + 778);
    assert_int_equal(dice_db_exists(db1, S("cp")), 0);
    assert_int_equal(dice_db_exists(db1, S("dst")), 0);
    assert_int_equal(dice_db_exists(db, S("cp2")), 0);
    /* Objects: dup on copy, free on overwrite/delete/flush. */
    assert_int_equal(dice_keyspace_set_type_ops(ks, DICE_TYPE_LIST, obj_free,
                                                obj_dup, obj_enc, NULL),
                     0);
    assert_int_equal(dice_keyspace_set_type_ops(ks, DICE_TYPE_STRING, obj_free,
                                                NULL, NULL, NULL),
                     DICE_EINVAL);
    frees = 0;
    assert_int_equal(
        dice_db_set_object(db, S("l"), DICE_TYPE_LIST, strdup("x"), 0, 0), 0);
    assert_int_equal(dice_db_type(db, S("l")), DICE_TYPE_LIST);
    assert_string_equal(enc(db, "l"), "listpack");
    void *o;
    assert_int_equal(dice_db_get_object(db, S("l"), DICE_TYPE_LIST, &o), 0);
    assert_string_equal(o, "x");
    assert_int_equal(dice_db_get_object(db, S("l"), DICE_TYPE_SET, &o),
                     DICE_EWRONGTYPE);
    char nb[DICE_DB_NUMBUF];
    const char *v;
    assert_int_equal(dice_db_get(db, S("l"), nb, &v, &n), DICE_EWRONGTYPE);
    assert_int_equal(dice_db_append(db, S("l"), S("x"), &n), DICE_EWRONGTYPE);
    assert_int_equal(dice_db_copy(db, S("l"), db, S("l2"), 0), 0);
    assert_int_equal(dice_db_get_object(db, S("l2"), DICE_TYPE_LIST, &o), 0);
    assert_string_equal(o, "x");
    assert_int_equal(dice_db_set_object(db, S("l2"), DICE_TYPE_LIST,
                                        strdup("y"), DICE_SET_NX, 0),
                     DICE_EEXIST);
    assert_int_equal(frees, 1); /* rejected object freed */
    dice_db_set(db, S("l2"), S("str"), 0, 0);
    assert_int_equal(frees, 2); /* overwritten object freed */
    assert_int_equal(dice_db_rename(db, S("l"), S("l3"), 0), 0);
    assert_int_equal(frees, 2); /* rename moves, never frees */
    dice_db_flush(db);
    assert_int_equal(frees, 3);
    dice_keyspace_free(ks);
}

/* ---- keys, scan, random ---------------------------------------------- */

static void count_key(void *ctx, const char *k, size_t kl) {
    (void)k;
    (void)kl;
    (*(size_t *)ctx)++;
}

typedef struct keyset {
    char seen[3000];
    size_t calls;
} keyset;

static void mark_key(void *ctx, const char *k, size_t kl) {
    keyset *s = ctx;
    char b[32];
    assert_true(kl < sizeof(b));
    memcpy(b, k, kl);
    b[kl] = '\0';
    int i = atoi(b + 2);
    assert_true(i >= 0 && i < 3000);
    s->seen[i] = 1;
    s->calls++;
}

static void test_keys_scan_random(void **state) {
    (void)state;
    dice_keyspace_t *ks = new_ks();
    dice_db_t *db = dice_keyspace_db(ks, 0);
    int64_t now = dice_keyspace_now(ks);
    char k[32];
    for (int i = 0; i < 3000; i++) {
        int n = snprintf(k, sizeof(k), "k:%d", i);
        /* Keys divisible by 3 expire at now+5. */
        dice_db_set(db, k, (size_t)n, "v", 1, i % 3 == 0 ? DICE_SET_EXPIRE : 0,
                    now + 5);
    }
    dice_keyspace_set_lfu(ks, 0);
    dice_db_set_object(db, S("list"), DICE_TYPE_LIST, NULL, 0, 0);
    size_t c = 0;
    assert_int_equal(dice_db_keys(db, S("*"), count_key, &c), 3001);
    assert_int_equal(c, 3001);
    c = 0;
    assert_int_equal(dice_db_keys(db, S("k:1?"), count_key, &c), 10);
    dice_keyspace_set_now(ks, now + 6); /* past now+5 */
    c = 0;
    assert_int_equal(dice_db_keys(db, S("k:*"), count_key, &c), 2000);
    /* SCAN with type and pattern filters. */
    keyset s;
    memset(&s, 0, sizeof(s));
    uint64_t cur = 0;
    int steps = 0;
    do {
        assert_int_equal(dice_db_scan(db, cur, 10, "k:*", 3, DICE_TYPE_STRING,
                                      mark_key, &s, &cur),
                         0);
        steps++;
    } while (cur);
    assert_true(steps > 20);
    for (int i = 0; i < 3000; i++)
        assert_int_equal(s.seen[i], i % 3 != 0);
    c = 0;
    cur = 0;
    do {
        dice_db_scan(db, cur, 100, NULL, 0, DICE_TYPE_LIST, count_key, &c,
                     &cur);
    } while (cur);
    assert_int_equal(c, 1);
    /* RANDOMKEY never returns an expired key. */
    for (int i = 0; i < 200; i++) {
        const char *rk;
        size_t rl;
        assert_int_equal(dice_db_random_key(db, &rk, &rl), 0);
        char b[32];
        memcpy(b, rk, rl);
        b[rl] = '\0';
        if (strcmp(b, "list") != 0)
            assert_true(atoi(b + 2) % 3 != 0);
    }
    dice_db_flush(db);
    const char *rk;
    size_t rl;
    assert_int_equal(dice_db_random_key(db, &rk, &rl), DICE_ENOENT);
    dice_keyspace_free(ks);
}

static void test_lru_lfu(void **state) {
    (void)state;
    dice_keyspace_t *ks = new_ks();
    dice_db_t *db = dice_keyspace_db(ks, 0);
    int64_t now = dice_keyspace_now(ks), idle;
    dice_db_set(db, S("k"), S("v"), 0, 0);
    dice_keyspace_set_now(ks, now + 10000);
    assert_int_equal(dice_db_object_idletime(db, S("k"), &idle), 0);
    assert_int_equal(idle, 10);
    assert_int_equal(dice_db_type(db, S("k")), DICE_TYPE_STRING);
    assert_int_equal(dice_db_object_idletime(db, S("k"), &idle), 0);
    assert_int_equal(idle, 10); /* TYPE / OBJECT do not touch */
    assert_int_equal(dice_db_touch(db, S("k")), 1);
    assert_int_equal(dice_db_touch(db, S("zz")), 0);
    assert_int_equal(dice_db_object_idletime(db, S("k"), &idle), 0);
    assert_int_equal(idle, 0);
    /* LFU */
    dice_keyspace_set_lfu(ks, 1);
    assert_int_equal(dice_keyspace_lfu(ks), 1);
    dice_db_set(db, S("f"), S("v"), 0, 0);
    int freq;
    assert_int_equal(dice_db_object_freq(db, S("f"), &freq), 0);
    assert_int_equal(freq, 5);
    char buf[8];
    for (int i = 0; i < 2000; i++)
        get(db, "f", buf, sizeof(buf));
    assert_int_equal(dice_db_object_freq(db, S("f"), &freq), 0);
    assert_true(freq > 5 && freq < 255);
    int before = freq;
    dice_keyspace_set_now(ks, dice_keyspace_now(ks) + 3 * 60000);
    assert_int_equal(dice_db_object_freq(db, S("f"), &freq), 0);
    assert_int_equal(freq, before - 3); /* decays 1 per minute */
    assert_int_equal(dice_db_object_freq(db, S("nokey"), &freq), DICE_ENOENT);
    dice_keyspace_free(ks);
}

static void test_many_keys_and_bad_args(void **state) {
    (void)state;
    dice_keyspace_t *ks = NULL;
    assert_int_equal(dice_keyspace_new(&ks, 0), DICE_EINVAL);
    assert_int_equal(dice_keyspace_new(&ks, 3), 0);
    assert_int_equal(dice_keyspace_ndbs(ks), 3);
    assert_null(dice_keyspace_db(ks, 3));
    assert_null(dice_keyspace_db(ks, -1));
    dice_db_t *db = dice_keyspace_db(ks, 2);
    assert_int_equal(dice_db_index(db), 2);
    char k[32];
    /* Long keys (multi-byte varint) and TTL churn on many keys. */
    char longkey[300];
    memset(longkey, 'L', sizeof(longkey));
    assert_int_equal(dice_db_set(db, longkey, sizeof(longkey), S("v"), 0, 0),
                     0);
    assert_int_equal(dice_db_exists(db, longkey, sizeof(longkey)), 1);
    assert_int_equal(dice_db_set_expire(db, longkey, sizeof(longkey),
                                        dice_keyspace_now(ks) + 5, 0),
                     1);
    assert_int_equal(dice_db_rename(db, longkey, sizeof(longkey), S("s"), 0),
                     0);
    for (int i = 0; i < 20000; i++) {
        int n = snprintf(k, sizeof(k), "key:%d", i);
        dice_db_set(db, k, (size_t)n, k, (size_t)n, 0, 0);
        if (i % 2)
            dice_db_set_expire(db, k, (size_t)n, 1000 + i, 0);
    }
    for (int i = 0; i < 20000; i += 4) {
        int n = snprintf(k, sizeof(k), "key:%d", i + 1);
        assert_int_equal(dice_db_persist(db, k, (size_t)n), 1);
    }
    assert_int_equal(dice_db_expires(db), 5000 + 1);
    assert_int_equal(dice_db_size(db), 20001);
    assert_int_equal(dice_keyspace_flushall(ks), 20001);
    assert_int_equal(dice_db_expires(db), 0);
    dice_keyspace_free(ks);
    dice_keyspace_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ll),
        cmocka_unit_test(test_string_encodings),
        cmocka_unit_test(test_overwrite_in_place),
        cmocka_unit_test(test_api_pointers_passed_back),
        cmocka_unit_test(test_expiry_boundary),
        cmocka_unit_test(test_set_options),
        cmocka_unit_test(test_incr),
        cmocka_unit_test(test_append_setrange),
        cmocka_unit_test(test_hooks),
        cmocka_unit_test(test_expire_options_and_lazy),
        cmocka_unit_test(test_expire_paused),
        cmocka_unit_test(test_active_expire),
        cmocka_unit_test(test_rename_copy_move_swap),
        cmocka_unit_test(test_keys_scan_random),
        cmocka_unit_test(test_lru_lfu),
        cmocka_unit_test(test_many_keys_and_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
