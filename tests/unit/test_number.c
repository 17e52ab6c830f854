/* The core's parsers and formatters (lib/core/number.c): the strict
 * integer syntax of commands, the lenient one of replies, Redis's
 * string2d, and the stack-or-heap formatter. */
#include "core/core_internal.h"

#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
