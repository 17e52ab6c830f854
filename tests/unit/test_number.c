/* The core's parsers and formatters (lib/core/number.c): the strict
 * integer syntax of commands, the lenient one of replies, Redis's
 * string2d, and the stack-or-heap formatter. */
#include "core/core_internal.h"

#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#define S(lit) lit, sizeof(lit) - 1

static void test_strict_integers(void **state) {
    (void)state;
    long long v = 7;
    assert_true(dice__str2ll(S("0"), &v) && v == 0);
    assert_true(dice__str2ll(S("-9223372036854775808"), &v) && v == LLONG_MIN);
    assert_true(dice__str2ll(S("9223372036854775807"), &v) && v == LLONG_MAX);
    const char *bad[] = {"",
                         "-",
                         "-0",
                         "01",
                         "+1",
                         " 1",
                         "1 ",
                         "1a",
                         "9223372036854775808",
                         "-9223372036854775809",
                         "123456789012345678901"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(dice__str2ll(bad[i], strlen(bad[i]), &v));
}

static void test_lenient_integers(void **state) {
    (void)state;
    long long v = 0;
    assert_true(dice__str2ll_lenient(S("+12"), &v) && v == 12);
    assert_true(dice__str2ll_lenient(S("007"), &v) && v == 7);
    assert_true(dice__str2ll_lenient(S("-0"), &v) && v == 0);
    assert_false(dice__str2ll_lenient(S(""), &v));
    assert_false(dice__str2ll_lenient(S("-"), &v));
    assert_false(dice__str2ll_lenient(S("1.5"), &v));
    assert_false(dice__str2ll_lenient(S("99999999999999999999"), &v));
}

static void test_doubles(void **state) {
    (void)state;
    double d = 0;
    assert_true(dice__str2d(S("1.5"), &d) && d == 1.5);
    assert_true(dice__str2d(S("-inf"), &d) && isinf(d) && d < 0);
    assert_true(dice__str2d(S("1e10"), &d) && d == 1e10);
    assert_true(dice__str2d(S("+3"), &d) && d == 3);
    const char *bad[] = {"", " 1", "1 ", "nan", "1x", "1e400", "1e-400", "0x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(dice__str2d(bad[i], strlen(bad[i]), &d));
    /* Embedded NUL: not every byte is part of the number. */
    assert_false(dice__str2d("1\0"
                             "2",
                             3, &d));
    char big[DICE__STR2D_MAX + 2];
    memset(big, '1', sizeof(big));
    assert_false(dice__str2d(big, sizeof(big), &d));
}

/* dice__fmt_double against snprintf("%.17g"), the reference it replaces:
   byte for byte, with the words inf/-inf/nan for the specials. */
static void check_fmt(double d) {
    char got[DICE_FMT_DOUBLE_MAX], want[DICE_FMT_DOUBLE_MAX];
    size_t n = dice__fmt_double(got, d);
    if (isnan(d))
        strcpy(want, "nan");
    else if (isinf(d))
        strcpy(want, d < 0 ? "-inf" : "inf");
    else
        snprintf(want, sizeof(want), "%.17g", d);
    if (strcmp(got, want) != 0 || n != strlen(want)) {
        union {
            double d;
            uint64_t u;
        } b = {d};
        fail_msg("0x%016llx: got \"%s\" (%zu), want \"%s\"",
                 (unsigned long long)b.u, got, n, want);
    }
}

static uint64_t rng_state;

static uint64_t rnd(void) {
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double from_bits(uint64_t u) {
    union {
        uint64_t u;
        double d;
    } b = {u};
    return b.d;
}

static void test_fmt_double_edges(void **state) {
    (void)state;
    const double edges[] = {0.0,
                            -0.0,
                            1.0,
                            -1.0,
                            0.1,
                            0.2,
                            0.3,
                            1.0 / 3,
                            2.0 / 3,
                            0.5,
                            1.5,
                            2.5,
                            1e16,
                            1e17,
                            1e18,
                            1e-4,
                            1e-5,
                            9.9999999999999999e-5,
                            1e-16,
                            1e-17,
                            1e22,
                            1e23,
                            1e300,
                            1e-300,
                            123456789012345678.0,
                            9007199254740992.0,
                            9007199254740993.0,
                            99999999999999999.0,
                            0.99999999999999999,
                            9.9999999999999995e16,
                            5e-324,
                            2.2250738585072014e-308,
                            2.2250738585072009e-308,
                            1.7976931348623157e308,
                            3.14159265358979,
                            1000.5,
                            999.99999999999989,
                            INFINITY,
                            -INFINITY,
                            NAN};
    for (size_t i = 0; i < DICE__COUNT(edges); i++)
        check_fmt(edges[i]);
    /* Powers of two and ten, their neighbours, and exact ties at the 18th
       digit (2^-25 = 2.98023223876953125e-08). */
    for (int e = -1074; e <= 1023; e++) {
        double p = ldexp(1.0, e);
        check_fmt(p);
        check_fmt(nextafter(p, 0));
        check_fmt(nextafter(p, INFINITY));
        check_fmt(-p);
    }
    for (int e = -323; e <= 308; e++) {
        char t[32];
        snprintf(t, sizeof(t), "1e%d", e);
        double p = strtod(t, NULL);
        check_fmt(p);
        check_fmt(nextafter(p, 0));
        check_fmt(nextafter(p, INFINITY));
    }
    /* Integers around 2^53 and 10^17. */
    for (long long i = -3000; i <= 3000; i++) {
        check_fmt((double)((1LL << 53) + i));
        check_fmt((double)(100000000000000000LL + i * 8));
        check_fmt((double)i / 100);
        check_fmt((double)i / 1000 + 0.0005);
    }
}

static void test_fmt_double_random(void **state) {
    (void)state;
    rng_state = (uint64_t)time(NULL);
    printf("fmt_double random seed %llu\n", (unsigned long long)rng_state);
    /* A few million doubles, bounded in time (sanitizer builds are slow):
       random bit patterns, random exponents in the exact method's range,
       scores of the shape sorted sets see. */
    clock_t start = clock();
    for (long i = 0; i < 3000000; i++) {
        uint64_t r = rnd();
        double d;
        switch (i % 4) {
        case 0: d = from_bits(r); break;
        case 1: d = ldexp((double)(r >> 11), (int)(rnd() % 200) - 120); break;
        case 2: d = (double)(r >> 11) / 9007199254740992.0 * 1000; break;
        default: d = (double)(long long)(r % 2000000000) / 1000.0; break;
        }
        check_fmt(d);
        if ((i & 0xffff) == 0 &&
            (double)(clock() - start) / CLOCKS_PER_SEC > 30)
            break;
    }
}

/* dice__str2d's fast path for plain decimals against strtod. */
static void test_str2d_plain(void **state) {
    (void)state;
    rng_state = 12345;
    const char *fixed[] = {"0",
                           "-0",
                           "+0",
                           "0.1",
                           ".5",
                           "5.",
                           "-.25",
                           "000000123456",
                           "999999999999999",
                           "9999999999999999",
                           "0.30000000000000004",
                           "123456789012345.6",
                           "1.0000000000000000000",
                           "0.0000000000000000000001",
                           "3.14159"};
    for (size_t i = 0; i < DICE__COUNT(fixed); i++) {
        double d;
        assert_true(dice__str2d(fixed[i], strlen(fixed[i]), &d));
        double want = strtod(fixed[i], NULL);
        assert_memory_equal(&d, &want, sizeof(d));
    }
    for (int i = 0; i < 1000000; i++) {
        char t[40];
        uint64_t r = rnd();
        int ip = (int)(r % 10), fp = (int)((r >> 8) % 12);
        int n = 0;
        if ((r >> 20) & 1)
            t[n++] = '-';
        for (int j = 0; j < ip; j++)
            t[n++] = (char)('0' + rnd() % 10);
        if (fp || !ip) {
            t[n++] = '.';
            for (int j = 0; j < fp || (!ip && j == 0); j++)
                t[n++] = (char)('0' + rnd() % 10);
        }
        t[n] = '\0';
        double d, want = strtod(t, NULL);
        assert_true(dice__str2d(t, (size_t)n, &d));
        if (memcmp(&d, &want, sizeof(d)) != 0)
            fail_msg("\"%s\": %.17g, strtod %.17g", t, d, want);
    }
}

static char *fmt(char *stack, size_t cap, size_t *len, const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    char *r = dice__vformat(stack, cap, len, f, ap);
    va_end(ap);
    return r;
}

static void test_vformat(void **state) {
    (void)state;
    char stack[8];
    size_t n;
    char *r = fmt(stack, sizeof(stack), &n, "%d-%s", 42, "ab");
    assert_ptr_equal(r, stack);
    assert_int_equal(n, 5);
    assert_string_equal(r, "42-ab");
    r = fmt(stack, sizeof(stack), &n, "%s", "longer than eight");
    assert_ptr_not_equal(r, stack);
    assert_int_equal(n, 17);
    assert_string_equal(r, "longer than eight");
    free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strict_integers),
        cmocka_unit_test(test_lenient_integers),
        cmocka_unit_test(test_doubles),
        cmocka_unit_test(test_vformat),
        cmocka_unit_test(test_fmt_double_edges),
        cmocka_unit_test(test_fmt_double_random),
        cmocka_unit_test(test_str2d_plain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
