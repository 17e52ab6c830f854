/* Unit tests for the RDB codec (lib/core/crc64.c, lib/types/rdb.c,
 * rdb_file.c, rdb_legacy.c): Redis's CRC-64 check values; a keyspace of
 * every type and encoding saved and loaded back (DEBUG DIGEST equal, with
 * and without compression); hostile input: every truncation of a file and
 * of a DUMP payload, random byte flips and random bytes, which must be
 * refused or loaded, never crash (run under the sanitizer build); and
 * the older encodings Redis 7.0 still loads (a ziplist, a zipmap, a
 * quicklist of ziplists, text scores), built byte by byte here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/core_internal.h"
#include "dice/dice.h"
#include "dice/session.h"
#include "keyspace/db_internal.h"
#include "types/rdb.h"
#include "types/set.h"

static void test_crc64(void **state) {
    (void)state;
    assert_true(dice__crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9caULL);
    assert_true(dice__crc64(0, "", 0) == 0);
    /* Split anywhere: the same as in one go (the 8-byte path and the
     * byte path agree). */
    char buf[300];
    for (int i = 0; i < 300; i++)
        buf[i] = (char)(i * 7 + 3);
    uint64_t whole = dice__crc64(0, buf, sizeof(buf));
    for (size_t cut = 0; cut <= sizeof(buf); cut += 13)
        assert_true(dice__crc64(dice__crc64(0, buf, cut), buf + cut,
                                sizeof(buf) - cut) == whole);
    /* DUMP payloads byte for byte equal to redis-server's (the CRC
     * included): tests/integration/test_dump_restore.py. */
}

typedef struct fixture {
    dice_loop_t *loop;
    dice_server_t *srv;
    dice_session_t *s;
} fixture;

typedef struct mbuf {
    uint8_t *p;
    size_t len, cap;
} mbuf;

static int mbuf_write(void *ctx, const void *d, size_t n) {
    mbuf *b = ctx;
    if (b->cap - b->len < n) {
        size_t c = b->cap ? b->cap * 2 : 4096;
        while (c - b->len < n)
            c *= 2;
        b->p = realloc(b->p, c);
        assert_non_null(b->p);
        b->cap = c;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
    return 0;
}

/* Run a command given as space-separated words. */
static void run(fixture *f, const char *line) {
    char copy[4096];
    snprintf(copy, sizeof(copy), "%s", line);
    const char *argv[600];
    size_t argvlen[600];
    int argc = 0;
    for (char *tok = strtok(copy, " "); tok && argc < 600;
         tok = strtok(NULL, " ")) {
        argv[argc] = tok;
        argvlen[argc++] = strlen(tok);
    }
    const char *reply;
    size_t rl;
    assert_int_equal(dice_session_call(f->s, argc, argv, argvlen, &reply, &rl),
                     0);
    assert_true(rl > 0 && reply[0] != '-');
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof(*f));
    assert_int_equal(dice_loop_new(&f->loop), 0);
    assert_int_equal(dice_server_new(&f->srv, f->loop), 0);
    assert_int_equal(dice_command_add_builtins(f->srv, DICE_BUILTIN_ALL), 0);
    assert_int_equal(dice_session_new(f->srv, 2, &f->s), 0);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    dice_session_free(f->s);
    dice_server_free(f->srv);
    dice_loop_free(f->loop);
    free(f);
    return 0;
}

/* Every type in each encoding, a TTL, two dbs. */
static void fill(fixture *f) {
    char line[4096];
    run(f, "SET s hello");
    run(f, "SET n 123456");
    run(f, "SET neg -5");
    run(f,
        "SET big aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    run(f, "RPUSH l a b c 1 2 3");
    run(f, "HSET h f v g 12");
    run(f, "SADD si 1 2 3");
    run(f, "SADD ss a b c");
    run(f, "ZADD z 1 a 2.5 b -3 c");
    run(f, "SET t v PXAT 4102444800000");
    /* Big encodings. */
    for (int part = 0; part < 4; part++) {
        int n = snprintf(line, sizeof(line), "RPUSH bl");
        for (int i = 0; i < 150; i++)
            n += snprintf(line + n, sizeof(line) - (size_t)n, " e%d", i);
        run(f, line);
        n = snprintf(line, sizeof(line), "HSET bh");
        for (int i = 0; i < 150; i++)
            n += snprintf(line + n, sizeof(line) - (size_t)n, " f%d_%d v%d",
                          part, i, i);
        run(f, line);
        n = snprintf(line, sizeof(line), "SADD bs");
        for (int i = 0; i < 150; i++)
            n += snprintf(line + n, sizeof(line) - (size_t)n, " m%d_%d", part,
                          i);
        run(f, line);
        n = snprintf(line, sizeof(line), "ZADD bz");
        for (int i = 0; i < 150; i++)
            n += snprintf(line + n, sizeof(line) - (size_t)n, " %d.5 z%d_%d", i,
                          part, i);
        run(f, line);
    }
    run(f, "SELECT 3");
    run(f, "SET other db");
    run(f, "SELECT 0");
}

static dice__rdb_load_opts load_opts(dice_keyspace_t *ks) {
    dice__rdb_load_opts o = {.now_ms = dice_keyspace_now(ks),
                             .verify_checksum = 1};
    return o;
}

static mbuf save(dice_keyspace_t *ks, int compress) {
    mbuf b = {0};
    dice__rdb_save_opts o = {
        .compress = compress, .checksum = 1, .now_ms = dice_keyspace_now(ks)};
    uint64_t n;
    assert_int_equal(dice__rdb_save_keyspace(ks, &o, mbuf_write, &b, &n), 0);
    assert_true(n > 10);
    return b;
}

static void test_roundtrip(void **state) {
    fixture *f = *state;
    fill(f);
    dice_keyspace_t *ks = dice_server_keyspace(f->srv);
    uint8_t want[DICE_DIGEST_LEN], got[DICE_DIGEST_LEN];
    dice_keyspace_digest(ks, want);
    for (int comp = 0; comp < 2; comp++) {
        mbuf b = save(ks, comp);
        assert_memory_equal(b.p, "REDIS0010", 9);
        dice_keyspace_flushall(ks);
        dice__rdb_load_opts o = load_opts(ks);
        dice__rdb_load_info info;
        assert_int_equal(dice__rdb_load(ks, b.p, b.len, &o, &info), 0);
        assert_int_equal(info.used, b.len);
        dice_keyspace_digest(ks, got);
        assert_memory_equal(want, got, DICE_DIGEST_LEN);
        free(b.p);
    }
}

/* Loading must refuse (or accept) but never crash or leak: every prefix,
 * flipped bytes everywhere, random garbage after a valid header. */
static void test_hostile_files(void **state) {
    fixture *f = *state;
    fill(f);
    dice_keyspace_t *ks = dice_server_keyspace(f->srv);
    mbuf b = save(ks, 1);
    dice__rdb_load_info info;
    dice__rdb_load_opts o = load_opts(ks);
    for (size_t n = 0; n < b.len; n++) {
        /* An exact-size copy: a read past the end is the sanitizer's. */
        uint8_t *c = malloc(n ? n : 1);
        memcpy(c, b.p, n);
        dice_keyspace_flushall(ks);
        int rc = dice__rdb_load(ks, c, n, &o, &info);
        assert_true(rc == DICE_EAGAIN || rc == DICE_EPROTO);
        assert_true(info.err[0] != '\0');
        assert_true(info.err_offset <= n);
        free(c);
    }
    /* Flips: with the checksum unchecked, so the bytes reach the types. */
    o.verify_checksum = 0;
    uint64_t seed = 88172645463325252ULL;
    for (int round = 0; round < 1500; round++) {
        uint8_t *c = malloc(b.len);
        memcpy(c, b.p, b.len);
        for (int k = 0; k < 1 + round % 4; k++) {
            seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
            size_t at = 9 + (size_t)(seed % (b.len - 9));
            c[at] = (uint8_t)(seed >> 32);
        }
        dice_keyspace_flushall(ks);
        int rc = dice__rdb_load(ks, c, b.len, &o, &info);
        assert_true(rc == 0 || rc == DICE_EAGAIN || rc == DICE_EPROTO);
        free(c);
    }
    for (int round = 0; round < 2000; round++) {
        size_t n = 9 + (size_t)(round % 200);
        uint8_t *c = malloc(n);
        memcpy(c, "REDIS0010", 9);
        for (size_t i = 9; i < n; i++) {
            seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
            c[i] = (uint8_t)seed;
        }
        dice_keyspace_flushall(ks);
        int rc = dice__rdb_load(ks, c, n, &o, &info);
        assert_true(rc == 0 || rc == DICE_EAGAIN || rc == DICE_EPROTO);
        free(c);
    }
    /* The checksum catches a flip. */
    o.verify_checksum = 1;
    b.p[b.len / 2] ^= 1;
    int rc = dice__rdb_load(ks, b.p, b.len, &o, &info);
    assert_true(rc == DICE_EPROTO || rc == DICE_EAGAIN);
    free(b.p);
}

/* DUMP payloads of every key, every truncation and flip of each. */
typedef struct dump_ctx {
    dice_keyspace_t *ks;
    mbuf all[64];
    int n;
} dump_ctx;

static int dump_one(void *c, uint8_t *e) {
    dump_ctx *x = c;
    if (x->n < 64) {
        mbuf b = {0};
        assert_int_equal(dice__rdb_dump(x->ks, e, 1, mbuf_write, &b), 0);
        x->all[x->n++] = b;
    }
    return 0;
}

static void test_hostile_payloads(void **state) {
    fixture *f = *state;
    fill(f);
    dice_keyspace_t *ks = dice_server_keyspace(f->srv);
    dump_ctx x;
    memset(&x, 0, sizeof(x));
    x.ks = ks;
    dice__db_foreach_live(dice_keyspace_db(ks, 0), dump_one, &x);
    assert_true(x.n > 10);
    for (int i = 0; i < x.n; i++) {
        mbuf *b = &x.all[i];
        assert_int_equal(dice__rdb_verify_payload(b->p, b->len), 0);
        for (size_t n = 0; n + 11 <= b->len; n++) {
            uint8_t *c = malloc(n ? n : 1);
            memcpy(c, b->p + 1, n);
            int dt;
            void *obj;
            size_t used;
            int rc = dice__rdb_load_object(ks, b->p[0], c, n, &used, &dt, &obj);
            if (rc == 0) {
                dice__rdb_free_object(ks, dt, obj);
                assert_true(n == b->len - 11);
            }
            free(c);
        }
        for (size_t at = 1; at + 10 < b->len; at++) {
            for (int v = 0; v < 3; v++) {
                uint8_t *c = malloc(b->len - 11);
                memcpy(c, b->p + 1, b->len - 11);
                c[at - 1] = (uint8_t)(v == 0   ? 0xff
                                      : v == 1 ? 0
                                               : c[at - 1] ^ 0x40);
                int dt;
                void *obj;
                size_t used;
                if (dice__rdb_load_object(ks, b->p[0], c, b->len - 11, &used,
                                          &dt, &obj) == 0)
                    dice__rdb_free_object(ks, dt, obj);
                free(c);
            }
        }
        free(b->p);
    }
}

/* ---- older encodings ------------------------------------------------- */

/* A ziplist of strings and small integers, as Redis 6 wrote. */
static size_t ziplist(uint8_t *out, const char *const *items, int n) {
    size_t pos = 10, prev = 0;
    for (int i = 0; i < n; i++) {
        size_t start = pos;
        out[pos++] = (uint8_t)prev;
        long long v;
        size_t l = strlen(items[i]);
        if (dice__str2ll(items[i], l, &v) && v >= 0 && v <= 12) {
            out[pos++] = (uint8_t)(0xF1 + v);
        } else if (dice__str2ll(items[i], l, &v) && v >= -128 && v <= 127) {
            out[pos++] = 0xFE;
            out[pos++] = (uint8_t)(int8_t)v;
        } else {
            out[pos++] = (uint8_t)l;
            memcpy(out + pos, items[i], l);
            pos += l;
        }
        prev = pos - start;
    }
    out[pos++] = 0xFF;
    for (int i = 0; i < 4; i++)
        out[i] = (uint8_t)(pos >> (8 * i));
    size_t tail = pos - 1 - prev;
    for (int i = 0; i < 4; i++)
        out[4 + i] = (uint8_t)(tail >> (8 * i));
    out[8] = (uint8_t)n;
    out[9] = 0;
    return pos;
}

static size_t rdb_string(uint8_t *out, const uint8_t *s, size_t n) {
    size_t h = dice__rdb_put_len(out, n);
    memcpy(out + h, s, n);
    return h + n;
}

static void load_legacy(fixture *f, unsigned type, const uint8_t *payload,
                        size_t n, const char *key) {
    dice_keyspace_t *ks = dice_server_keyspace(f->srv);
    int dt;
    void *obj;
    size_t used;
    assert_int_equal(
        dice__rdb_load_object(ks, type, payload, n, &used, &dt, &obj), 0);
    assert_int_equal(used, n);
    assert_int_equal(dice__rdb_store(dice_keyspace_db(ks, 0), key, strlen(key),
                                     dt, obj, -1, -1, -1),
                     0);
    /* Every truncation is refused. */
    for (size_t k = 0; k < n; k++) {
        uint8_t *c = malloc(k ? k : 1);
        memcpy(c, payload, k);
        assert_true(dice__rdb_load_object(ks, type, c, k, &used, &dt, &obj) <
                    0);
        free(c);
    }
}

static void expect(fixture *f, const char *cmd, const char *reply) {
    char copy[256];
    snprintf(copy, sizeof(copy), "%s", cmd);
    const char *argv[8];
    size_t argvlen[8];
    int argc = 0;
    for (char *t = strtok(copy, " "); t; t = strtok(NULL, " ")) {
        argv[argc] = t;
        argvlen[argc++] = strlen(t);
    }
    const char *r;
    size_t rl;
    assert_int_equal(dice_session_call(f->s, argc, argv, argvlen, &r, &rl), 0);
    if (rl != strlen(reply) || memcmp(r, reply, rl) != 0)
        fail_msg("%s: got %.*s", cmd, (int)rl, r);
}

static void test_legacy_encodings(void **state) {
    fixture *f = *state;
    uint8_t zl[512], p[1024];
    size_t n;

    /* RDB_TYPE_LIST_ZIPLIST (10). */
    const char *li[] = {"a", "bcd", "7", "-100", "12"};
    n = rdb_string(p, zl, ziplist(zl, li, 5));
    load_legacy(f, 10, p, n, "zl");
    expect(
        f, "LRANGE zl 0 -1",
        "*5\r\n$1\r\na\r\n$3\r\nbcd\r\n$1\r\n7\r\n$4\r\n-100\r\n$2\r\n12\r\n");

    /* RDB_TYPE_LIST_QUICKLIST (14): two ziplist nodes and an empty one. */
    const char *l1[] = {"x", "y"}, *l2[] = {"z"};
    size_t pos = dice__rdb_put_len(p, 3);
    pos += rdb_string(p + pos, zl, ziplist(zl, l1, 2));
    pos += rdb_string(p + pos, zl, ziplist(zl, l2, 1));
    pos += rdb_string(p + pos, zl, ziplist(zl, l2, 0));
    load_legacy(f, 14, p, pos, "ql");
    expect(f, "LRANGE ql 0 -1", "*3\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\nz\r\n");

    /* RDB_TYPE_HASH_ZIPLIST (13) and RDB_TYPE_ZSET_ZIPLIST (12). */
    const char *hi[] = {"f1", "v1", "f2", "2"};
    n = rdb_string(p, zl, ziplist(zl, hi, 4));
    load_legacy(f, 13, p, n, "hz");
    expect(f, "HGET hz f2", "$1\r\n2\r\n");
    const char *zi[] = {"m1", "1", "m2", "-3"};
    n = rdb_string(p, zl, ziplist(zl, zi, 4));
    load_legacy(f, 12, p, n, "zz");
    expect(f, "ZSCORE zz m2", "$2\r\n-3\r\n");

    /* RDB_TYPE_HASH_ZIPMAP (9): "k1" -> "val" (1 free byte), "k2" -> "". */
    const uint8_t zm[] = {2,   2,   'k', '1', 3,   1, 'v', 'a',
                          'l', 'X', 2,   'k', '2', 0, 0,   0xFF};
    n = rdb_string(p, zm, sizeof(zm));
    load_legacy(f, 9, p, n, "zm");
    expect(f, "HGET zm k1", "$3\r\nval\r\n");
    expect(f, "HLEN zm", ":2\r\n");

    /* RDB_TYPE_ZSET (3): scores as text, 254 for +inf. */
    pos = dice__rdb_put_len(p, 2);
    pos += rdb_string(p + pos, (const uint8_t *)"a", 1);
    p[pos++] = 3;
    memcpy(p + pos, "1.5", 3);
    pos += 3;
    pos += rdb_string(p + pos, (const uint8_t *)"b", 1);
    p[pos++] = 254;
    load_legacy(f, 3, p, pos, "z1");
    expect(f, "ZSCORE z1 a", "$3\r\n1.5\r\n");
    expect(f, "ZSCORE z1 b", "$3\r\ninf\r\n");

    /* A corrupt ziplist (wrong total) is refused. */
    n = ziplist(zl, li, 5);
    zl[0] ^= 1;
    n = rdb_string(p, zl, n);
    dice_keyspace_t *ks = dice_server_keyspace(f->srv);
    int dt;
    void *obj;
    size_t used;
    assert_int_equal(dice__rdb_load_object(ks, 10, p, n, &used, &dt, &obj),
                     DICE_EPROTO);
}

/* What Redis 7.0 writes that this server cannot use: unknown aux
 * fields, a function library (FUNCTION2), module aux data; all skipped,
 * the keys around them loaded. */
static void test_skipped_sections(void **state) {
    fixture *f = *state;
    dice_keyspace_t *ks = dice_server_keyspace(f->srv);
    static const uint8_t
        file[] = {'R',  'E',  'D',  'I', 'S', '0', '0', '1', '0', 0xFA, 7,
                  'u',  'n',  'k',  'n', 'o', 'w', 'n', 2,   'h', 'i', /* aux */
                  0xF5, 4,    'c',  'o', 'd', 'e', /* FUNCTION2 */
                  0xF7, 0x05, 2,    0,   5,   3,   'a', 'b', 'c', 1,    0x07,
                  0,                          /* module aux */
                  0xFE, 0,    0xFB, 1,   0,   /* db 0 */
                  0,    1,    'k',  1,   'v', /* k = v */
                  0xFF, 0,    0,    0,   0,   0,   0,   0,   0};
    dice__rdb_load_opts o = load_opts(ks);
    dice__rdb_load_info info;
    assert_int_equal(dice__rdb_load(ks, file, sizeof(file), &o, &info), 0);
    assert_int_equal(info.functions_skipped, 1);
    assert_int_equal(info.keys_loaded, 1);
    expect(f, "GET k", "$1\r\nv\r\n");
}

/* A loaded file's tables are sized once from the counts it announces
 * (RESIZEDB for the keys, a big set's length for its members): nothing
 * is rehashed while loading. */
static void test_reserved_tables(void **state) {
    fixture *f = *state;
    char line[4096];
    for (int i = 0; i < 3000; i++) {
        snprintf(line, sizeof(line), "SET k:%d v", i);
        run(f, line);
    }
    for (int part = 0; part < 20; part++) {
        int n = snprintf(line, sizeof(line), "SADD bs");
        int z = snprintf(line + 2048, 2048, "ZADD bz");
        for (int i = 0; i < 100; i++) {
            n += snprintf(line + n, 2048 - (size_t)n, " m%d", part * 100 + i);
            z += snprintf(line + 2048 + z, 2048 - (size_t)z, " %d m%d", i,
                          part * 100 + i);
        }
        run(f, line);
        run(f, line + 2048);
    }
    dice_keyspace_t *ks = dice_server_keyspace(f->srv);
    mbuf b = save(ks, 0);
    dice_keyspace_flushall(ks);
    dice_db_t *db = dice_keyspace_db(ks, 0);
    db->main.moved_total = 0; /* a flush keeps the counter */
    dice__rdb_load_opts o = load_opts(ks);
    dice__rdb_load_info info;
    assert_int_equal(dice__rdb_load(ks, b.p, b.len, &o, &info), 0);
    free(b.p);
    assert_int_equal(dice__dict_size(&db->main), 3002);
    assert_false(db->main.rehashing);
    assert_int_equal(db->main.moved_total, 0);
    void *obj;
    assert_int_equal(dice_db_get_object(db, "bs", 2, DICE_TYPE_SET, &obj), 0);
    dice__set *st = obj;
    assert_int_equal(st->enc, DICE__SET_STRS);
    assert_int_equal(dice__mt_len(&st->u.mt), 2000);
    assert_int_equal(st->u.mt.d.moved_total, 0);
    /* The sorted set's table is private to zset.c; it loads through the
     * same reserve (its figures: the load benchmark). */
    assert_int_equal(dice_db_get_object(db, "bz", 2, DICE_TYPE_ZSET, &obj), 0);
}

/* Counts a payload cannot hold reserve no more than its bytes could: 2^40
 * members in a few bytes is a truncated payload, not a 9 TB table (which
 * the sanitizer build would report); a RESIZEDB of 2^32 keys likewise
 * (64 GB of slots). */
static void test_hostile_counts(void **state) {
    fixture *f = *state;
    dice_keyspace_t *ks = dice_server_keyspace(f->srv);
    /* RDB 64-bit length 2^40, then one member (and a score). */
    static const uint8_t set[] = {0x81, 0, 0, 1, 0, 0, 0, 0, 0, 1, 'a'};
    static const uint8_t hash[] = {0x81, 0, 0, 1,   0, 0,  0,
                                   0,    0, 1, 'a', 1, 'b'};
    static const uint8_t zset[] = {0x81, 0, 0, 1, 0, 0, 0, 0, 0, 1,
                                   'a',  0, 0, 0, 0, 0, 0, 0, 0};
    static const struct {
        unsigned type;
        const uint8_t *p;
        size_t n;
    } cases[] = {{2, set, sizeof(set)},
                 {4, hash, sizeof(hash)},
                 {5, zset, sizeof(zset)}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int dt;
        void *obj;
        size_t used;
        int rc = dice__rdb_load_object(ks, cases[i].type, cases[i].p,
                                       cases[i].n, &used, &dt, &obj);
        assert_true(rc == DICE_EAGAIN || rc == DICE_EPROTO);
    }
    static const uint8_t file[] = {
        'R',  'E', 'D', 'I', 'S', '0',  '0', '1', '0', 0xFE, 0, 0xFB, /**/
        0x81, 0,   0,   0,   1,   0,    0,   0,   0, /* 2^32 keys */
        0x81, 0,   0,   0,   1,   0,    0,   0,   0, /* 2^32 expiries */
        0,    1,   'k', 1,   'v', 0xFF, 0,   0,   0,   0,    0, 0,    0, 0};
    dice__rdb_load_opts o = load_opts(ks);
    dice__rdb_load_info info;
    assert_int_equal(dice__rdb_load(ks, file, sizeof(file), &o, &info), 0);
    assert_int_equal(info.keys_loaded, 1);
    size_t mb, eb;
    dice__db_table_bytes(dice_keyspace_db(ks, 0), &mb, &eb);
    assert_true(mb <= 16 * sizeof(uint64_t));
    assert_true(eb <= 16 * sizeof(uint64_t));
    expect(f, "GET k", "$1\r\nv\r\n");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc64),
        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_payloads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_encodings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skipped_sections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reserved_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_counts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
