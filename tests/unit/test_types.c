/* Unit tests for the types layer (lib/types/): registering type methods
 * (dice_keyspace_register_type, its version rules, the older
 * dice_keyspace_set_type_ops shim), the string type's methods (encodings,
 * AOF emission, RDB string serialization) and the digest (SHA-1 itself,
 * dice_keyspace_digest and dice_db_digest_value). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/sha1.h"
#include "dice/db.h"
#include "keyspace/db_internal.h"
#include "types/types_internal.h"

#define S(x) x, (sizeof(x) - 1)
#define NOW 1700000000000LL

static dice_keyspace_t *new_ks(void) {
    dice_keyspace_t *ks = NULL;
    assert_int_equal(dice_keyspace_new(&ks, 16), 0);
    dice_keyspace_set_now(ks, NOW);
    return ks;
}

/* ---- a test type: an unordered set of short strings --------------------- */

typedef struct tset {
    int n;
    char m[8][8];
} tset;

typedef struct counts {
    int frees, copies, digests;
} counts;

static tset *tset_of(const char *a, const char *b, const char *c) {
    tset *s = calloc(1, sizeof(*s));
    const char *v[3] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (v[i])
            strcpy(s->m[s->n++], v[i]);
    return s;
}

static void tset_free(void *ctx, void *obj) {
    ((counts *)ctx)->frees++;
    free(obj);
}

static void *tset_copy(void *ctx, const void *obj) {
    ((counts *)ctx)->copies++;
    tset *c = malloc(sizeof(tset));
    memcpy(c, obj, sizeof(tset));
    return c;
}

static const char *tset_encoding(void *ctx, const void *obj) {
    (void)ctx;
    return ((const tset *)obj)->n > 2 ? "hashtable" : "listpack";
}

static void tset_digest(void *ctx, const void *obj, dice_digest_t *d) {
    const tset *s = obj;
    ((counts *)ctx)->digests++;
    for (int i = 0; i < s->n; i++) { /* unordered: one sequence a member */
        dice_digest_add(d, s->m[i], strlen(s->m[i]));
        dice_digest_end_sequence(d);
    }
}

static size_t tset_mem(void *ctx, const void *obj) {
    (void)ctx;
    (void)obj;
    return sizeof(tset);
}

static const char *const tset_encs[] = {"listpack", "hashtable", NULL};

static dice_type_methods tset_methods(void) {
    dice_type_methods m;
    memset(&m, 0, sizeof(m));
    m.version = DICE_TYPE_METHODS_VERSION;
    m.name = "set";
    m.encoding_names = tset_encs;
    m.encoding = tset_encoding;
    m.free = tset_free;
    m.copy = tset_copy;
    m.mem_usage = tset_mem;
    m.digest = tset_digest;
    return m;
}

static void test_register_rules(void **state) {
    (void)state;
    dice_keyspace_t *ks = new_ks();
    counts c = {0};
    dice_type_methods m = tset_methods();
    assert_int_equal(dice_keyspace_register_type(ks, DICE_TYPE_STRING, &m, &c),
                     DICE_EINVAL);
    assert_int_equal(dice_keyspace_register_type(ks, -1, &m, &c), DICE_EINVAL);
    assert_int_equal(dice_keyspace_register_type(ks, DICE_TYPE_COUNT, &m, &c),
                     DICE_EINVAL);
    assert_int_equal(dice_keyspace_register_type(ks, DICE_TYPE_SET, NULL, &c),
                     DICE_EINVAL);
    m.version = 0;
    assert_int_equal(dice_keyspace_register_type(ks, DICE_TYPE_SET, &m, &c),
                     DICE_EINVAL);
    m.version = DICE_TYPE_METHODS_VERSION + 1; /* from a newer header */
    assert_int_equal(dice_keyspace_register_type(ks, DICE_TYPE_SET, &m, &c),
                     DICE_EINVAL);
    const dice_type_methods *got = NULL;
    assert_int_equal(dice_keyspace_type_methods(ks, DICE_TYPE_SET, &got, NULL),
                     DICE_ENOENT);
    assert_int_equal(dice_keyspace_type_methods(ks, 9, &got, NULL),
                     DICE_EINVAL);

    /* Registered: the keyspace keeps its own copy. */
    m = tset_methods();
    assert_int_equal(dice_keyspace_register_type(ks, DICE_TYPE_SET, &m, &c), 0);
    memset(&m, 0xff, sizeof(m)); /* the caller's table may go away */
    void *ctx = NULL;
    assert_int_equal(dice_keyspace_type_methods(ks, DICE_TYPE_SET, &got, &ctx),
                     0);
    assert_ptr_equal(ctx, &c);
    assert_int_equal(got->version, DICE_TYPE_METHODS_VERSION);
    assert_string_equal(got->name, "set");
    assert_ptr_equal(got->encoding_names, tset_encs);
    assert_ptr_equal(got->free, tset_free);
    assert_null(got->serialize);

    /* The string type's methods are the library's. */
    assert_int_equal(
        dice_keyspace_type_methods(ks, DICE_TYPE_STRING, &got, NULL), 0);
    assert_string_equal(got->name, "string");
    assert_non_null(got->digest);
    assert_non_null(got->serialize);
    assert_non_null(got->deserialize);
    assert_non_null(got->emit_commands);
    assert_string_equal(got->encoding_names[0], "embstr");
    dice_keyspace_free(ks);
}

static void test_methods_are_used(void **state) {
    (void)state;
    dice_keyspace_t *ks = new_ks();
    dice_db_t *db = dice_keyspace_db(ks, 0);
    counts c = {0};
    dice_type_methods m = tset_methods();
    assert_int_equal(dice_keyspace_register_type(ks, DICE_TYPE_SET, &m, &c), 0);
    assert_int_equal(dice_db_set_object(db, S("s"), DICE_TYPE_SET,
                                        tset_of("a", "b", "c"), 0, 0),
                     0);
    const char *enc = NULL;
    assert_int_equal(dice_db_object_encoding(db, S("s"), &enc), 0);
    assert_string_equal(enc, "hashtable");
    assert_int_equal(dice_db_copy(db, S("s"), db, S("t"), 0), 0);
    assert_int_equal(c.copies, 1);
    assert_int_equal(dice_db_delete(db, S("s")), 1);
    assert_int_equal(c.frees, 1);
    /* Overwritten by a string: the object is freed. */
    assert_int_equal(dice_db_set(db, S("t"), S("x"), 0, 0), 0);
    assert_int_equal(c.frees, 2);
    dice_keyspace_free(ks);
}

static void test_set_type_ops_shim(void **state) {
    (void)state;
    dice_keyspace_t *ks = new_ks();
    dice_db_t *db = dice_keyspace_db(ks, 0);
    counts c = {0};
    assert_int_equal(dice_keyspace_set_type_ops(ks, DICE_TYPE_STRING, tset_free,
                                                NULL, NULL, &c),
                     DICE_EINVAL);
    assert_int_equal(dice_keyspace_set_type_ops(ks, DICE_TYPE_LIST, tset_free,
                                                tset_copy, tset_encoding, &c),
                     0);
    const dice_type_methods *got = NULL;
    void *ctx = NULL;
    assert_int_equal(dice_keyspace_type_methods(ks, DICE_TYPE_LIST, &got, &ctx),
                     0);
    assert_int_equal(got->version, 1);
    assert_null(got->free_effort); /* a version 1 table has none */
    assert_ptr_equal(ctx, &c);
    assert_ptr_equal(got->free, tset_free);
    assert_ptr_equal(got->copy, tset_copy);
    assert_ptr_equal(got->encoding, tset_encoding);
    assert_null(got->name);
    assert_null(got->digest);
    assert_null(got->serialize);
    assert_null(got->deserialize);
    assert_null(got->emit_commands);
    assert_null(got->mem_usage);
    assert_int_equal(dice_db_set_object(db, S("l"), DICE_TYPE_LIST,
                                        tset_of("a", NULL, NULL), 0, 0),
                     0);
    const char *enc = NULL;
    assert_int_equal(dice_db_object_encoding(db, S("l"), &enc), 0);
    assert_string_equal(enc, "listpack");
    assert_int_equal(dice_db_copy(db, S("l"), db, S("m"), 0), 0);
    assert_int_equal(c.copies, 1);
    /* No digest method: the key still counts, by type and presence. */
    uint8_t d1[DICE_DIGEST_LEN], zero[DICE_DIGEST_LEN] = {0};
    assert_int_equal(dice_db_digest_value(db, S("l"), d1), 0);
    assert_memory_not_equal(d1, zero, DICE_DIGEST_LEN);
    /* A shim call replaces everything, as a registration does. */
    assert_int_equal(dice_keyspace_set_type_ops(ks, DICE_TYPE_LIST, tset_free,
                                                NULL, NULL, &c),
                     0);
    assert_int_equal(dice_db_copy(db, S("l"), db, S("n"), 0), DICE_EINVAL);
    dice_keyspace_free(ks);
    assert_int_equal(c.frees, 2); /* l and m */
}

/* ---- string methods ----------------------------------------------------- */

typedef struct outbuf {
    uint8_t b[70000];
    size_t n;
} outbuf;

static int put(void *w, const void *data, size_t len) {
    outbuf *o = w;
    if (o->n + len > sizeof(o->b))
        return DICE_ELIMIT;
    memcpy(o->b + o->n, data, len);
    o->n += len;
    return 0;
}

typedef struct emitted {
    int calls, argc;
    char argv[3][64];
} emitted;

static int emit(void *ctx, int argc, const char *const *argv,
                const size_t *argvlen) {
    emitted *e = ctx;
    e->calls++;
    e->argc = argc;
    for (int i = 0; i < argc && i < 3; i++)
        snprintf(e->argv[i], sizeof(e->argv[i]), "%.*s", (int)argvlen[i],
                 argv[i]);
    return 0;
}

static uint8_t *entry_of(dice_db_t *db, const char *k) {
    return dice__ks_lookup(db, k, strlen(k), NULL, NULL, 0);
}

static void roundtrip(dice_db_t *db, const char *val, size_t len, unsigned fl,
                      const uint8_t *expect_head, size_t head_len) {
    static outbuf o;
    const dice_type_methods *m = &dice__string_methods;
    assert_int_equal(dice_db_set(db, S("k"), val, len, fl, 0), 0);
    o.n = 0;
    unsigned format = 99;
    assert_int_equal(m->serialize(NULL, entry_of(db, "k"), &format, put, &o),
                     0);
    assert_int_equal(format, 0); /* RDB_TYPE_STRING */
    if (expect_head)
        assert_memory_equal(o.b, expect_head, head_len);
    /* Every strict prefix asks for more. */
    size_t used = 0;
    void *obj = NULL;
    for (size_t cut = 0; cut < o.n; cut += 1 + cut / 3)
        assert_int_equal(m->deserialize(NULL, 0, o.b, cut, &used, &obj),
                         DICE_EAGAIN);
    o.b[o.n] = 0xee; /* bytes after the payload are not read */
    assert_int_equal(m->deserialize(NULL, 0, o.b, o.n + 1, &used, &obj), 0);
    assert_int_equal(used, o.n);
    rawstr *r = obj;
    assert_int_equal(r->len, len);
    assert_memory_equal(r->data, val, len);
    assert_int_equal(m->deserialize(NULL, 5, o.b, o.n, &used, &obj),
                     DICE_EINVAL);
    /* Stored back, it is the same value. */
    uint8_t d1[DICE_DIGEST_LEN], d2[DICE_DIGEST_LEN];
    dice_db_digest_value(db, S("k"), d1);
    assert_int_equal(dice__string_adopt(db, S("k"), r), 0);
    dice_db_digest_value(db, S("k"), d2);
    assert_memory_equal(d1, d2, DICE_DIGEST_LEN);
}

static void test_string_methods(void **state) {
    (void)state;
    dice_keyspace_t *ks = new_ks();
    dice_db_t *db = dice_keyspace_db(ks, 0);
    const dice_type_methods *m = &dice__string_methods;

    assert_int_equal(dice_db_set(db, S("i"), S("12345"), 0, 0), 0);
    assert_int_equal(dice_db_set(db, S("e"), S("hello"), 0, 0), 0);
    static char big[20000];
    memset(big, 'x', sizeof(big));
    assert_int_equal(dice_db_set(db, S("r"), big, sizeof(big), 0, 0), 0);
    assert_string_equal(m->encoding(NULL, entry_of(db, "i")), "int");
    assert_string_equal(m->encoding(NULL, entry_of(db, "e")), "embstr");
    assert_string_equal(m->encoding(NULL, entry_of(db, "r")), "raw");
    const char *enc;
    assert_int_equal(dice_db_object_encoding(db, S("r"), &enc), 0);
    assert_string_equal(enc, "raw");
    assert_int_equal(m->mem_usage(NULL, entry_of(db, "e")), 0);
    assert_true(m->mem_usage(NULL, entry_of(db, "r")) >= sizeof(big));

    emitted em = {0};
    assert_int_equal(
        m->emit_commands(NULL, S("i"), entry_of(db, "i"), emit, &em), 0);
    assert_int_equal(em.calls, 1);
    assert_int_equal(em.argc, 3);
    assert_string_equal(em.argv[0], "SET");
    assert_string_equal(em.argv[1], "i");
    assert_string_equal(em.argv[2], "12345");

    /* RDB string encodings: integers in int32 range as 0xC0..0xC2. */
    roundtrip(db, S("7"), 0, (const uint8_t[]){0xC0, 7}, 2);
    roundtrip(db, S("-128"), 0, (const uint8_t[]){0xC0, 0x80}, 2);
    roundtrip(db, S("1000"), 0, (const uint8_t[]){0xC1, 0xe8, 0x03}, 3);
    roundtrip(db, S("-2147483648"), 0,
              (const uint8_t[]){0xC2, 0x00, 0x00, 0x00, 0x80}, 5);
    roundtrip(db, S("7"), DICE_SET_NOINT, (const uint8_t[]){0xC0, 7}, 2);
    roundtrip(db, S("2147483648"), 0, (const uint8_t[]){10, '2'}, 2);
    roundtrip(db, S("007"), 0, (const uint8_t[]){3, '0', '0', '7'}, 4);
    roundtrip(db, S(""), 0, (const uint8_t[]){0}, 1);
    roundtrip(db, big, 63, 0, (const uint8_t[]){63}, 1);
    roundtrip(db, big, 64, 0, (const uint8_t[]){0x40, 64}, 2);
    roundtrip(db, big, 16383, 0, (const uint8_t[]){0x7f, 0xff}, 2);
    roundtrip(db, big, 16384, 0,
              (const uint8_t[]){0x80, 0x00, 0x00, 0x40, 0x00}, 5);

    size_t used;
    void *obj;
    const uint8_t lzf[] = {0xC3, 1, 1, 0};
    assert_int_equal(m->deserialize(NULL, 0, lzf, sizeof(lzf), &used, &obj),
                     DICE_EPROTO);
    dice_keyspace_free(ks);
}

/* ---- digest ------------------------------------------------------------- */

static void test_sha1_vectors(void **state) {
    (void)state;
    struct {
        const char *in;
        const char *hex;
    } v[] = {
        {"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
        {"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        dice__sha1 s;
        uint8_t out[DICE__SHA1_LEN];
        char hex[41];
        dice__sha1_init(&s);
        /* Fed in uneven pieces, so the buffering is exercised. */
        size_t n = strlen(v[i].in), off = 0, step = 1;
        while (off < n) {
            size_t take = n - off < step ? n - off : step;
            dice__sha1_update(&s, v[i].in + off, take);
            off += take;
            step += 3;
        }
        dice__sha1_final(&s, out);
        dice__hex(out, sizeof(out), hex);
        assert_string_equal(hex, v[i].hex);
    }
    /* A million 'a': several blocks. */
    dice__sha1 s;
    uint8_t out[DICE__SHA1_LEN];
    char hex[41], a[1000];
    memset(a, 'a', sizeof(a));
    dice__sha1_init(&s);
    for (int i = 0; i < 1000; i++)
        dice__sha1_update(&s, a, sizeof(a));
    dice__sha1_final(&s, out);
    dice__hex(out, sizeof(out), hex);
    assert_string_equal(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

static void digest(dice_keyspace_t *ks, uint8_t out[DICE_DIGEST_LEN]) {
    dice_keyspace_digest(ks, out);
}

/* The same dataset built in two orders; variant changes one thing. */
static void build(dice_keyspace_t *ks, int reverse, int variant, counts *c) {
    dice_type_methods m = tset_methods();
    assert_int_equal(dice_keyspace_register_type(ks, DICE_TYPE_SET, &m, c), 0);
    for (int step = 0; step < 6; step++) {
        int i = reverse ? 5 - step : step;
        dice_db_t *db0 = dice_keyspace_db(ks, 0),
                  *db3 = dice_keyspace_db(ks, 3);
        switch (i) {
        case 0:
            dice_db_set(db0, S("a"), variant == 1 ? "2" : "1", 1, 0, 0);
            break;
        case 1: dice_db_set(db0, S("b"), S("hello"), 0, 0); break;
        case 2:
            dice_db_set(variant == 2 ? db3 : db0, S("c"), S("in db0"), 0, 0);
            break;
        case 3:
            dice_db_set(db3, S("a"), S("other db"), DICE_SET_EXPIRE,
                        NOW + (variant == 3 ? 5000 : 10000));
            break;
        case 4:
            dice_db_set_object(db0, S("s"), DICE_TYPE_SET,
                               reverse ? tset_of("z", "y", "x")
                                       : tset_of("x", "y", "z"),
                               0, 0);
            break;
        case 5:
            dice_db_set(db0, variant == 4 ? "e2" : "e", 1 + (variant == 4),
                        S("x"), variant == 5 ? DICE_SET_NOINT : 0, 0);
            break;
        }
    }
    /* Noise that leaves no trace: a deleted key and a rewritten one. */
    dice_db_set(dice_keyspace_db(ks, 5), S("gone"), S("x"), 0, 0);
    dice_db_delete(dice_keyspace_db(ks, 5), S("gone"));
}

static void test_dataset_digest(void **state) {
    (void)state;
    counts c = {0};
    uint8_t zero[DICE_DIGEST_LEN] = {0}, d0[DICE_DIGEST_LEN],
            d1[DICE_DIGEST_LEN];
    dice_keyspace_t *a = new_ks(), *b = new_ks();
    digest(a, d0);
    assert_memory_equal(d0, zero, DICE_DIGEST_LEN);
    build(a, 0, 0, &c);
    build(b, 1, 0, &c);
    digest(a, d0);
    digest(b, d1);
    assert_memory_not_equal(d0, zero, DICE_DIGEST_LEN);
    assert_memory_equal(d0, d1, DICE_DIGEST_LEN);
    assert_true(c.digests >= 2);
    /* NOINT "x" is still "x"; every other variant changes the digest. */
    for (int v = 1; v <= 5; v++) {
        dice_keyspace_t *x = new_ks();
        build(x, v & 1, v, &c);
        digest(x, d1);
        if (v == 5)
            assert_memory_equal(d0, d1, DICE_DIGEST_LEN);
        else
            assert_memory_not_equal(d0, d1, DICE_DIGEST_LEN);
        dice_keyspace_free(x);
    }
    /* An int-encoded value digests as its text. */
    dice_db_t *db = dice_keyspace_db(a, 0);
    dice_db_set(db, S("a"), S("1"), DICE_SET_NOINT, 0);
    digest(a, d1);
    assert_memory_equal(d0, d1, DICE_DIGEST_LEN);
    /* Removing the TTL, then putting the same one back. */
    dice_db_t *db3 = dice_keyspace_db(a, 3);
    dice_db_persist(db3, S("a"));
    digest(a, d1);
    assert_memory_not_equal(d0, d1, DICE_DIGEST_LEN);
    dice_db_set_expire(db3, S("a"), NOW + 10000, 0);
    digest(a, d1);
    assert_memory_equal(d0, d1, DICE_DIGEST_LEN);
    /* An expired key not yet deleted is not part of the dataset. */
    dice_db_set(db3, S("soon"), S("x"), DICE_SET_EXPIRE, NOW + 1);
    digest(a, d1);
    assert_memory_not_equal(d0, d1, DICE_DIGEST_LEN);
    dice_keyspace_set_now(a, NOW + 2);
    digest(a, d1);
    assert_memory_equal(d0, d1, DICE_DIGEST_LEN);
    assert_int_equal(dice_db_size(db3), 2); /* still there, undeleted */
    /* Swapping two dbs is a different dataset. */
    dice_keyspace_swapdb(a, 0, 3);
    digest(a, d1);
    assert_memory_not_equal(d0, d1, DICE_DIGEST_LEN);
    dice_keyspace_free(a);
    dice_keyspace_free(b);
}

static void test_digest_value(void **state) {
    (void)state;
    dice_keyspace_t *ks = new_ks();
    dice_db_t *db = dice_keyspace_db(ks, 0), *db1 = dice_keyspace_db(ks, 1);
    uint8_t zero[DICE_DIGEST_LEN] = {0}, d1[DICE_DIGEST_LEN],
            d2[DICE_DIGEST_LEN];
    memset(d1, 0xaa, sizeof(d1));
    assert_int_equal(dice_db_digest_value(db, S("nokey"), d1), DICE_ENOENT);
    assert_memory_equal(d1, zero, DICE_DIGEST_LEN);
    /* Not the key's name: equal values digest the same, as in Redis. */
    dice_db_set(db, S("a"), S("1"), 0, 0);
    dice_db_set(db1, S("b"), S("1"), DICE_SET_NOINT, 0);
    dice_db_digest_value(db, S("a"), d1);
    dice_db_digest_value(db1, S("b"), d2);
    assert_memory_equal(d1, d2, DICE_DIGEST_LEN);
    /* Item boundaries count: "ab" differs from "a" then "b" elsewhere, and
     * a string's digest differs from a one-member set's. */
    counts c = {0};
    dice_type_methods m = tset_methods();
    dice_keyspace_register_type(ks, DICE_TYPE_SET, &m, &c);
    dice_db_set_object(db, S("s"), DICE_TYPE_SET, tset_of("1", NULL, NULL), 0,
                       0);
    dice_db_digest_value(db, S("s"), d2);
    assert_memory_not_equal(d1, d2, DICE_DIGEST_LEN);
    dice_db_set_expire(db, S("a"), NOW + 1000, 0);
    dice_db_digest_value(db, S("a"), d2);
    assert_memory_not_equal(d1, d2, DICE_DIGEST_LEN);
    dice_keyspace_free(ks);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_rules),
        cmocka_unit_test(test_methods_are_used),
        cmocka_unit_test(test_set_type_ops_shim),
        cmocka_unit_test(test_string_methods),
        cmocka_unit_test(test_sha1_vectors),
        cmocka_unit_test(test_dataset_digest),
        cmocka_unit_test(test_digest_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
