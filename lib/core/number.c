/* The one integer parser and the number formatters every layer shares:
 * the request parser and the commands parse with the first, the reply
 * writers and INFO format with the others. */
#include "core/core_internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- parsing ----------------------------------------------------------- */

/* Digits s[i..n) (at least one, all 0-9) as a long long with the sign
 * neg, or 0 when they are not digits or do not fit. */
static int digits_to_ll(const char *s, size_t i, size_t n, int neg,
                        long long *out) {
    if (i == n)
        return 0;
    unsigned long long v = 0;
    for (; i < n; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9)
            return 0;
        if (v > (ULLONG_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (unsigned long long)LLONG_MAX + 1)
            return 0;
        *out =
            v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    } else {
        if (v > (unsigned long long)LLONG_MAX)
            return 0;
        *out = (long long)v;
    }
    return 1;
}

int dice__str2ll(const char *s, size_t n, long long *out) {
    if (n == 0 || n >= 21)
        return 0;
    if (n == 1 && s[0] == '0') {
        *out = 0;
        return 1;
    }
    size_t i = s[0] == '-' ? 1 : 0;
    /* No leading zero, no "-0", nothing but digits after the sign. */
    if (i == n || s[i] < '1' || s[i] > '9')
        return 0;
    return digits_to_ll(s, i, n, i == 1, out);
}

int dice__str2ll_lenient(const char *s, size_t n, long long *out) {
    size_t i = n > 0 && (s[0] == '-' || s[0] == '+') ? 1 : 0;
    return digits_to_ll(s, i, n, i == 1 && s[0] == '-', out);
}

int dice__str2d(const char *s, size_t n, double *out) {
    char buf[DICE__STR2D_MAX + 1];
    /* Redis's string2d: no leading or trailing space, every byte part of
     * the number, no NaN, no overflow or underflow to a limit. */
    if (n == 0 || n > DICE__STR2D_MAX || isspace((unsigned char)s[0]) ||
        isspace((unsigned char)s[n - 1]))
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (end != buf + n || isnan(v) ||
        (errno == ERANGE &&
         (v == HUGE_VAL || v == -HUGE_VAL || fpclassify(v) == FP_ZERO)))
        return 0;
    *out = v;
    return 1;
}

/* ---- number formatting ------------------------------------------------- */

/* "00".."99": two digits per division halves the divisions. */
static const char digit_pairs[201] = "0001020304050607080910111213141516171819"
                                     "2021222324252627282930313233343536373839"
                                     "4041424344454647484950515253545556575859"
                                     "6061626364656667686970717273747576777879"
                                     "8081828384858687888990919293949596979899";

static unsigned count_digits(unsigned long long v) {
    unsigned n = 1;
    for (;;) {
        if (v < 10)
            return n;
        if (v < 100)
            return n + 1;
        if (v < 1000)
            return n + 2;
        if (v < 10000)
            return n + 3;
        v /= 10000;
        n += 4;
    }
}

size_t dice__fmt_ull(char *dst, unsigned long long v) {
    unsigned n = count_digits(v);
    char *p = dst + n;
    while (v >= 100) {
        unsigned i = (unsigned)(v % 100) * 2;
        v /= 100;
        *--p = digit_pairs[i + 1];
        *--p = digit_pairs[i];
    }
    if (v >= 10) {
        unsigned i = (unsigned)v * 2;
        *--p = digit_pairs[i + 1];
        *--p = digit_pairs[i];
    } else {
        *--p = (char)('0' + v);
    }
    return n;
}

size_t dice__fmt_ll(char *dst, long long v) {
    if (v < 0) {
        /* Negate in unsigned arithmetic: -LLONG_MIN overflows long long. */
        dst[0] = '-';
        return 1 + dice__fmt_ull(dst + 1, 0ULL - (unsigned long long)v);
    }
    return dice__fmt_ull(dst, (unsigned long long)v);
}

/* nan, inf and -inf spelled out rather than left to printf: libcs differ
 * ("-nan", "Infinity"), and Redis writes these exact words. Returns the
 * length, or 0 for a finite value. */
static size_t fmt_nonfinite(char *dst, int nan, int inf, int negative) {
    const char *w = nan ? "nan" : !inf ? NULL : negative ? "-inf" : "inf";
    if (!w)
        return 0;
    size_t n = strlen(w);
    memcpy(dst, w, n + 1);
    return n;
}

size_t dice__fmt_double(char *dst, double d) {
    size_t special = fmt_nonfinite(dst, isnan(d), isinf(d), d < 0);
    if (special)
        return special;
    int n = snprintf(dst, DICE_FMT_DOUBLE_MAX, "%.17g", d);
    return n > 0 ? (size_t)n : 0;
}

size_t dice__fmt_long_double_human(char *dst, long double v) {
    size_t special = fmt_nonfinite(dst, isnan(v), isinf(v), v < 0);
    if (special)
        return special;
    int n = snprintf(dst, DICE_FMT_LDOUBLE_MAX, "%.17Lf", v);
    if (n < 0 || n + 1 > DICE_FMT_LDOUBLE_MAX)
        return 0;
    size_t l = (size_t)n;
    /* "%.17Lf" always has a dot; strip the zeros after it, then the dot. */
    if (memchr(dst, '.', l)) {
        while (l > 0 && dst[l - 1] == '0')
            l--;
        if (l > 0 && dst[l - 1] == '.')
            l--;
    }
    if (l == 2 && dst[0] == '-' && dst[1] == '0') {
        dst[0] = '0';
        l = 1;
    }
    dst[l] = '\0';
    return l;
}

/* ---- formatted text ---------------------------------------------------- */

char *dice__vformat(char *stack, size_t cap, size_t *len, const char *fmt,
                    va_list ap) {
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(stack, cap, fmt, ap);
    if (n < 0) {
        va_end(again);
        return NULL;
    }
    *len = (size_t)n;
    if ((size_t)n < cap) {
        va_end(again);
        return stack;
    }
    /* Longer than the caller's buffer: format again on the heap. */
    char *big = malloc((size_t)n + 1);
    if (big)
        vsnprintf(big, (size_t)n + 1, fmt, again);
    va_end(again);
    return big;
}

/* Redis's string2ld. */
int dice__str2ld(const char *s, size_t n, long double *out) {
    char buf[DICE__STR2LD_MAX + 1];
    char *end;
    if (n == 0 || n >= sizeof(buf) - 1)
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    long double v = strtold(buf, &end);
    /* All n bytes must be the number: an embedded NUL ends strtold early,
     * and Redis refuses such input. */
    if (isspace((unsigned char)buf[0]) || (size_t)(end - buf) != n ||
        (errno == ERANGE &&
         (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)) ||
        isnan(v))
        return 0;
    *out = v;
    return 1;
}
