/* LZF (lib/core/lzf.c): round trips of random data of every kind
 * (repetitive, text-like, incompressible, tiny), the worst-case expansion
 * of incompressible input, a stream liblzf makes, and hostile streams
 * (truncated, bit-flipped, random) that must be refused or expanded
 * without reading or writing out of bounds (run under the sanitizer
 * build). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/core_internal.h"

static void fill(unsigned char *b, size_t n, int kind, unsigned *seed) {
    for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case 0: /* incompressible */ b[i] = (unsigned char)rand_r(seed); break;
        case 1: /* few symbols */
            b[i] = (unsigned char)('a' + rand_r(seed) % 3);
            break;
        case 2: /* runs and copies of earlier stretches */
            if (i > 20 && rand_r(seed) % 4 == 0) {
                size_t back = 1 + (size_t)rand_r(seed) % (i < 9000 ? i : 9000);
                size_t len = 1 + (size_t)rand_r(seed) % 300;
                for (size_t k = 0; k < len && i < n; k++, i++)
                    b[i] = b[i - back];
                i--;
            } else {
                b[i] = (unsigned char)rand_r(seed);
            }
            break;
        default: /* one byte repeated */ b[i] = 'z';
        }
    }
}

static void test_roundtrip(void **state) {
    (void)state;
    unsigned seed = 42;
    size_t max = 70000;
    unsigned char *in = malloc(max), *c = malloc(max * 2), *out = malloc(max);
    for (int round = 0; round < 600; round++) {
        size_t n = round < 40
                       ? (size_t)round + 1
                       : 1 + (size_t)rand_r(&seed) % (round % 10 ? 9000 : max);
        int kind = round % 4;
        fill(in, n, kind, &seed);
        size_t cn = dice__lzf_compress(in, n, c, max * 2);
        assert_true(cn > 0);
        /* Incompressible input grows by at most one byte per 32. */
        assert_true(cn <= n + n / 32 + 1);
        if (kind == 3 && n > 100)
            assert_true(cn < n / 20);
        assert_int_equal(dice__lzf_decompress(c, cn, out, n), n);
        assert_memory_equal(in, out, n);
        /* Too small an output buffer: 0, never an overrun (ASan). */
        if (n > 1) {
            assert_int_equal(dice__lzf_decompress(c, cn, out, n - 1), 0);
            unsigned char *tight = malloc(cn - 1 ? cn - 1 : 1);
            assert_int_equal(dice__lzf_compress(in, n, tight, cn - 1), 0);
            free(tight);
        }
        unsigned char *exact = malloc(cn);
        assert_int_equal(dice__lzf_compress(in, n, exact, cn), cn);
        assert_memory_equal(exact, c, cn);
        free(exact);
    }
    assert_int_equal(dice__lzf_compress(in, 0, c, 10), 0);
    free(in);
    free(c);
    free(out);
}

/* What liblzf makes of "aaaaaaaaaa" (a literal, then a reference one
 * back of 9 bytes), as Redis's RDB files carry it. */
static void test_known_stream(void **state) {
    (void)state;
    const unsigned char s[] = {0x00, 'a', 0xe0, 0x00, 0x00};
    unsigned char out[16];
    assert_int_equal(dice__lzf_decompress(s, sizeof(s), out, sizeof(out)), 10);
    assert_memory_equal(out, "aaaaaaaaaa", 10);
    /* A reference before the start of the output. */
    const unsigned char bad[] = {0x00, 'a', 0xe0, 0x00, 0x05};
    assert_int_equal(dice__lzf_decompress(bad, sizeof(bad), out, sizeof(out)),
                     0);
}

static void test_hostile(void **state) {
    (void)state;
    unsigned seed = 7;
    unsigned char in[4000], c[5000];
    fill(in, sizeof(in), 2, &seed);
    size_t cn = dice__lzf_compress(in, sizeof(in), c, sizeof(c));
    assert_true(cn > 0);
    for (size_t cut = 0; cut < cn; cut++) {
        /* Exact-size heap copies so ASan sees any read past the end. */
        unsigned char *t = malloc(cut ? cut : 1), *o = malloc(sizeof(in));
        memcpy(t, c, cut);
        assert_true(dice__lzf_decompress(t, cut, o, sizeof(in)) < sizeof(in));
        free(t);
        free(o);
    }
    for (int round = 0; round < 20000; round++) {
        size_t n = 1 + (size_t)rand_r(&seed) % (round % 2 ? cn : 64);
        unsigned char *t = malloc(n);
        if (round % 2) {
            memcpy(t, c, n);
            for (int k = 0; k < 3; k++)
                t[(size_t)rand_r(&seed) % n] ^=
                    (unsigned char)(1u << (rand_r(&seed) % 8));
        } else {
            for (size_t k = 0; k < n; k++)
                t[k] = (unsigned char)rand_r(&seed);
        }
        size_t cap = (size_t)rand_r(&seed) % 5000;
        unsigned char *o = malloc(cap ? cap : 1);
        assert_true(dice__lzf_decompress(t, n, o, cap) <= cap);
        free(o);
        free(t);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_known_stream),
        cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
