/* SHA-256 (lib/core/sha256.c) against FIPS 180-4's and NIST's known
 * vectors, fed whole and in every split, plus the constant-time compare. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/sha1.h"
#include "core/sha256.h"

static void hex_of(const void *data, size_t len, char out[65]) {
    uint8_t d[DICE__SHA256_LEN];
    dice__sha256_digest(data, len, d);
    dice__hex(d, sizeof(d), out);
}

static void test_vectors(void **state) {
    (void)state;
    static const struct {
        const char *in, *hex;
    } v[] = {
        {"",
         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc",
         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijkl"
         "mnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
        /* What redis-server shows for ACL SETUSER a >p1 */
        {"p1",
         "f64551fcd6f07823cb87971cfb91446425da18286b3ab1ef935e0cbd7a69f68a"},
    };
    char hex[65];
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        hex_of(v[i].in, strlen(v[i].in), hex);
        assert_string_equal(hex, v[i].hex);
        /* Every split point gives the same digest. */
        size_t n = strlen(v[i].in);
        for (size_t cut = 0; cut <= n; cut++) {
            dice__sha256 s;
            uint8_t d[DICE__SHA256_LEN];
            dice__sha256_init(&s);
            dice__sha256_update(&s, v[i].in, cut);
            dice__sha256_update(&s, v[i].in + cut, n - cut);
            dice__sha256_final(&s, d);
            dice__hex(d, sizeof(d), hex);
            assert_string_equal(hex, v[i].hex);
        }
    }
}

static void test_million_a(void **state) {
    (void)state;
    char *a = malloc(1000000);
    assert_non_null(a);
    memset(a, 'a', 1000000);
    char hex[65];
    hex_of(a, 1000000, hex);
    assert_string_equal(
        hex,
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* Fed in odd chunks. */
    dice__sha256 s;
    uint8_t d[DICE__SHA256_LEN];
    dice__sha256_init(&s);
    for (size_t off = 0; off < 1000000;) {
        size_t k = 1 + off % 97;
        if (off + k > 1000000)
            k = 1000000 - off;
        dice__sha256_update(&s, a + off, k);
        off += k;
    }
    dice__sha256_final(&s, d);
    dice__hex(d, sizeof(d), hex);
    assert_string_equal(
        hex,
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

/* Lengths around the padding boundaries (55, 56, 63, 64 bytes) agree
 * between one-shot and byte-at-a-time feeding. */
static void test_boundaries(void **state) {
    (void)state;
    uint8_t buf[200];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 7 + 3);
    for (size_t n = 0; n <= sizeof(buf); n++) {
        uint8_t d1[32], d2[32];
        dice__sha256_digest(buf, n, d1);
        dice__sha256 s;
        dice__sha256_init(&s);
        for (size_t i = 0; i < n; i++)
            dice__sha256_update(&s, buf + i, 1);
        dice__sha256_final(&s, d2);
        assert_memory_equal(d1, d2, 32);
    }
}

static void test_ct_equal(void **state) {
    (void)state;
    assert_true(dice__ct_equal("abc", "abc", 3));
    assert_false(dice__ct_equal("abc", "abd", 3));
    assert_false(dice__ct_equal("xbc", "abc", 3));
    assert_true(dice__ct_equal("", "", 0));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_boundaries),
        cmocka_unit_test(test_ct_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
