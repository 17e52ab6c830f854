/* Reply writers (RESP2 and RESP3), dice_buf, number formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "resp/resp_internal.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static dice_buf_t *B;

static int setup(void **state) {
    (void)state;
    return dice_buf_new(&B);
}

static int teardown(void **state) {
    (void)state;
    dice_buf_free(B);
    return 0;
}

/* Compare the buffer with an expected literal (may hold NULs), clear it. */
static void check_lit(const char *want, size_t n) {
    if (dice_buf_len(B) != n || memcmp(dice_buf_data(B), want, n) != 0)
        fail_msg("got \"%.*s\" want \"%.*s\"", (int)dice_buf_len(B),
                 dice_buf_data(B), (int)n, want);
    dice_buf_clear(B);
}
#define CHECK(lit) check_lit(lit, sizeof(lit) - 1)

static void test_buf(void **state) {
    (void)state;
    assert_int_equal(dice_buf_len(B), 0);
    assert_int_equal(dice_buf_append(B, "abc", 3), 0);
    assert_int_equal(dice_buf_append(B, NULL, 0), 0);
    char big[5000];
    memset(big, 'x', sizeof(big));
    assert_int_equal(dice_buf_append(B, big, sizeof(big)), 0);
    assert_int_equal(dice_buf_len(B), 5003);
    assert_memory_equal(dice_buf_data(B), "abcxx", 5);
    dice__buf_consume(B, 2);
    assert_int_equal(dice_buf_len(B), 5001);
    assert_memory_equal(dice_buf_data(B), "cxx", 3);
    dice__buf_consume(B, 999999);
    assert_int_equal(dice_buf_len(B), 0);

    dice_buf_t e;
    dice__buf_init(&e);
    assert_null(e.data);
    assert_int_equal(dice__buf_reserve(&e, 100), 0);
    assert_true(e.cap >= 100);
    assert_int_equal(dice_buf_append(&e, "hi", 2), 0);
    dice__buf_release(&e);
    assert_null(e.data);
    assert_int_equal(e.len, 0);
    assert_int_equal(e.cap, 0);
}

static void fmt_ll_is(long long v, const char *want) {
    char b[DICE_FMT_LL_MAX + 1];
    size_t n = dice__fmt_ll(b, v);
    b[n] = '\0';
    assert_string_equal(b, want);
}

static void test_fmt_ll(void **state) {
    (void)state;
    fmt_ll_is(0, "0");
    fmt_ll_is(7, "7");
    fmt_ll_is(-1, "-1");
    fmt_ll_is(10, "10");
    fmt_ll_is(99, "99");
    fmt_ll_is(100, "100");
    fmt_ll_is(-100, "-100");
    fmt_ll_is(12345, "12345");
    fmt_ll_is(1000000000000LL, "1000000000000");
    fmt_ll_is(LLONG_MAX, "9223372036854775807");
    fmt_ll_is(LLONG_MIN, "-9223372036854775808");
    char b[32];
    assert_int_equal(dice__fmt_ull(b, ULLONG_MAX), 20);
    assert_memory_equal(b, "18446744073709551615", 20);
    /* every power of ten and its neighbours against snprintf */
    long long p = 1;
    for (int i = 0; i < 19; i++, p = i < 19 ? p * 10 : p) {
        for (long long v = p - 1; v <= p + 1; v++) {
            char ref[32];
            snprintf(ref, sizeof(ref), "%lld", v);
            fmt_ll_is(v, ref);
            snprintf(ref, sizeof(ref), "%lld", -v);
            fmt_ll_is(-v, ref);
        }
    }
}

static void fmt_d_is(double d, const char *want) {
    char b[DICE_FMT_DOUBLE_MAX];
    size_t n = dice__fmt_double(b, d);
    assert_int_equal(n, strlen(want));
    assert_string_equal(b, want);
}

static void test_fmt_double(void **state) {
    (void)state;
    fmt_d_is(1.5, "1.5");
    fmt_d_is(0.1, "0.10000000000000001");
    fmt_d_is(1e300, "1.0000000000000001e+300");
    fmt_d_is(-2, "-2");
    fmt_d_is(0, "0");
    fmt_d_is(INFINITY, "inf");
    fmt_d_is(-INFINITY, "-inf");
    fmt_d_is(NAN, "nan");
    fmt_d_is(-NAN, "nan");
    fmt_d_is(-DBL_MAX, "-1.7976931348623157e+308");
    fmt_d_is(DBL_MIN / 4, "5.5626846462680035e-309");
}

static void ld_is(long double v, const char *want) {
    static char b[DICE_FMT_LDOUBLE_MAX];
    size_t n = dice__fmt_long_double_human(b, v);
    assert_int_equal(n, strlen(want));
    assert_string_equal(b, want);
}

static void test_fmt_long_double(void **state) {
    (void)state;
    /* what INCRBYFLOAT prints in Redis 7.0 */
    ld_is(0.1L, "0.1");
    ld_is(10.5L, "10.5");
    ld_is(3.0L, "3");
    ld_is(1e20L, "100000000000000000000");
    ld_is(-0.0L, "0");
    ld_is(-1.25L, "-1.25");
    ld_is(0.1L + 0.2L, "0.3");
    ld_is(INFINITY, "inf");
    ld_is(-INFINITY, "-inf");
    static char b[DICE_FMT_LDOUBLE_MAX];
    /* the longest value still fits: 4933 integer digits, no fraction */
    assert_int_equal(dice__fmt_long_double_human(b, LDBL_MAX), 4933);
    assert_memory_equal(b, "11897314953572317650", 20);
}

static void test_simple_types(void **state) {
    (void)state;
    assert_int_equal(dice_resp_write_simple(B, "OK", 2), 0);
    CHECK("+OK\r\n");
    dice_resp_write_simple(B, "a\r\nb", 4);
    CHECK("+a  b\r\n");
    dice_resp_write_simple(B, "", 0);
    CHECK("+\r\n");
    assert_int_equal(dice_resp_write_error(B, "ERR bad\nthing", 13), 0);
    CHECK("-ERR bad thing\r\n");
    dice_resp_write_error(B, "-WRONGTYPE x", 12);
    CHECK("-WRONGTYPE x\r\n");
    dice_resp_write_int(B, 0);
    CHECK(":0\r\n");
    dice_resp_write_int(B, -42);
    CHECK(":-42\r\n");
    dice_resp_write_int(B, LLONG_MIN);
    CHECK(":-9223372036854775808\r\n");
    dice_resp_write_int(B, LLONG_MAX);
    CHECK(":9223372036854775807\r\n");
    dice_resp_write_bulk(B, "foo", 3);
    CHECK("$3\r\nfoo\r\n");
    dice_resp_write_bulk(B, "", 0);
    CHECK("$0\r\n\r\n");
    dice_resp_write_bulk(B, "a\r\n\0b", 5);
    CHECK("$5\r\na\r\n\0b\r\n");
    dice_resp_write_array(B, 0);
    CHECK("*0\r\n");
    dice_resp_write_array(B, 12345);
    CHECK("*12345\r\n");
}

static void test_resp3_and_downgrades(void **state) {
    (void)state;
    dice_resp_write_null(B, 3);
    CHECK("_\r\n");
    dice_resp_write_null(B, 2);
    CHECK("$-1\r\n");
    dice_resp_write_null_array(B, 3);
    CHECK("_\r\n");
    dice_resp_write_null_array(B, 2);
    CHECK("*-1\r\n");
    dice_resp_write_map(B, 3, 2);
    CHECK("%2\r\n");
    dice_resp_write_map(B, 2, 2);
    CHECK("*4\r\n");
    dice_resp_write_set(B, 3, 5);
    CHECK("~5\r\n");
    dice_resp_write_set(B, 2, 5);
    CHECK("*5\r\n");
    dice_resp_write_push(B, 3, 3);
    CHECK(">3\r\n");
    dice_resp_write_push(B, 2, 3);
    CHECK("*3\r\n");
    assert_int_equal(dice_resp_write_attribute(B, 3, 1), 0);
    CHECK("|1\r\n");
    assert_int_equal(dice_resp_write_attribute(B, 2, 1), DICE_EINVAL);
    CHECK("");
    dice_resp_write_double(B, 3, 1.5);
    CHECK(",1.5\r\n");
    dice_resp_write_double(B, 2, 1.5);
    CHECK("$3\r\n1.5\r\n");
    dice_resp_write_double(B, 3, 0.1);
    CHECK(",0.10000000000000001\r\n");
    dice_resp_write_double(B, 2, 0.1);
    CHECK("$19\r\n0.10000000000000001\r\n");
    dice_resp_write_double(B, 3, INFINITY);
    CHECK(",inf\r\n");
    dice_resp_write_double(B, 3, -INFINITY);
    CHECK(",-inf\r\n");
    dice_resp_write_double(B, 2, -INFINITY);
    CHECK("$4\r\n-inf\r\n");
    dice_resp_write_double(B, 3, NAN);
    CHECK(",nan\r\n");
    dice_resp_write_double(B, 3, 1e300);
    CHECK(",1.0000000000000001e+300\r\n");
    dice_resp_write_bool(B, 3, 1);
    CHECK("#t\r\n");
    dice_resp_write_bool(B, 3, 0);
    CHECK("#f\r\n");
    dice_resp_write_bool(B, 2, 7);
    CHECK(":1\r\n");
    dice_resp_write_bool(B, 2, 0);
    CHECK(":0\r\n");
    assert_int_equal(dice_resp_write_verbatim(B, 3, "txt", "Some string", 11),
                     0);
    CHECK("=15\r\ntxt:Some string\r\n");
    dice_resp_write_verbatim(B, 2, "txt", "Some string", 11);
    CHECK("$11\r\nSome string\r\n");
    assert_int_equal(dice_resp_write_verbatim(B, 3, "mkdn", "x", 1),
                     DICE_EINVAL);
    assert_int_equal(dice_resp_write_verbatim(B, 3, NULL, "x", 1), DICE_EINVAL);
    CHECK("");
    dice_resp_write_bignum(B, 3, "3492890328409238509324850943850943825024385",
                           43);
    CHECK("(3492890328409238509324850943850943825024385\r\n");
    dice_resp_write_bignum(B, 2, "-12", 3);
    CHECK("$3\r\n-12\r\n");
    dice_resp_write_blob_error(B, 3, "SYNTAX invalid syntax", 21);
    CHECK("!21\r\nSYNTAX invalid syntax\r\n");
    dice_resp_write_blob_error(B, 2, "SYNTAX in\r\nvalid", 16);
    CHECK("-SYNTAX in  valid\r\n");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_buf, setup, teardown),
        cmocka_unit_test(test_fmt_ll),
        cmocka_unit_test(test_fmt_double),
        cmocka_unit_test(test_fmt_long_double),
        cmocka_unit_test_setup_teardown(test_simple_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resp3_and_downgrades, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
