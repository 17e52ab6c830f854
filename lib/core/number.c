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
    /* 19 digits cannot overflow (10^19 < 2^64): the overflow test, a
       division, is only needed for the 20th. */
    size_t safe = n - i > 19 ? i + 19 : n;
    for (; i < safe; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9)
            return 0;
        v = v * 10 + d;
    }
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

/* Plain decimals ("[+-]digits[.digits]") of at most 15 significant
   digits as m / 10^k: m < 2^53 and 10^k (k <= 22) are exact doubles, so
   the one IEEE division is the correctly rounded value, what strtod
   returns. 0 when s is of another shape (strtod reads it). */
static int str2d_plain(const char *s, size_t n, double *out) {
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    size_t i = 0;
    int neg = 0;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        i = 1;
    }
    unsigned long long m = 0;
    unsigned sig = 0, frac = 0, digits = 0;
    int dot = 0;
    for (; i < n; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9) {
            if (s[i] == '.' && !dot) {
                dot = 1;
                continue;
            }
            return 0;
        }
        digits++;
        if (m == 0 && d == 0) {
            /* a leading zero: no significant digit yet */
        } else if (++sig > 15) {
            return 0;
        }
        m = m * 10 + d;
        if (dot)
            frac++;
    }
    if (digits == 0 || frac > 22)
        return 0;
    double v = (double)m / p10[frac];
    *out = neg ? -v : v;
    return 1;
}

int dice__str2d(const char *s, size_t n, double *out) {
    char buf[DICE__STR2D_MAX + 1];
    if (n > 0 && n <= 24 && str2d_plain(s, n, out))
        return 1;
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

int dice__str2ld(const char *s, size_t n, long double *out) {
    char buf[DICE_FMT_LDOUBLE_MAX + 1];
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

/* ---- "%.17g" without printf --------------------------------------------

   printf's "%.17g" first rounds |d| to 17 significant digits D (an integer
   in [10^16, 10^17)) with a decimal exponent X, d ~ D * 10^(X-16), rounding
   exactly and ties to even; then it writes the digits in fixed notation
   when -4 <= X < 17, in exponent notation otherwise, without trailing zeros.
   Both steps are done here in integer arithmetic: a finite double is
   m * 2^e with a 53-bit m, so D = round(m * 2^e * 10^k) with k = 16 - X is
   one 128-bit multiply (by 5^k) and shift, or one 128-bit division (by
   10^-k) for large integers, exact while the product fits in 128 bits
   (1e-16 <= |d| < 2^75 or so). Outside that range, and for subnormals,
   snprintf does it (unit test: tests/unit/test_number.c compares both on
   millions of doubles). */

typedef unsigned __int128 u128;

#define POW10_17 100000000000000000ULL
#define POW10_16 10000000000000000ULL

static unsigned bitlen128(u128 v) {
    unsigned long long hi = (unsigned long long)(v >> 64);
    if (hi)
        return 128 - (unsigned)__builtin_clzll(hi);
    unsigned long long lo = (unsigned long long)v;
    return lo ? 64 - (unsigned)__builtin_clzll(lo) : 0;
}

/* 5^k for k <= 54 (under 2^128) as high and low halves, and its bit
   length. 10^k is 5^k << k. */
static const struct {
    unsigned long long hi, lo;
    unsigned bits;
} pow5[55] = {
    {0x0000000000000000ULL, 0x0000000000000001ULL, 1},
    {0x0000000000000000ULL, 0x0000000000000005ULL, 3},
    {0x0000000000000000ULL, 0x0000000000000019ULL, 5},
    {0x0000000000000000ULL, 0x000000000000007dULL, 7},
    {0x0000000000000000ULL, 0x0000000000000271ULL, 10},
    {0x0000000000000000ULL, 0x0000000000000c35ULL, 12},
    {0x0000000000000000ULL, 0x0000000000003d09ULL, 14},
    {0x0000000000000000ULL, 0x000000000001312dULL, 17},
    {0x0000000000000000ULL, 0x000000000005f5e1ULL, 19},
    {0x0000000000000000ULL, 0x00000000001dcd65ULL, 21},
    {0x0000000000000000ULL, 0x00000000009502f9ULL, 24},
    {0x0000000000000000ULL, 0x0000000002e90eddULL, 26},
    {0x0000000000000000ULL, 0x000000000e8d4a51ULL, 28},
    {0x0000000000000000ULL, 0x0000000048c27395ULL, 31},
    {0x0000000000000000ULL, 0x000000016bcc41e9ULL, 33},
    {0x0000000000000000ULL, 0x000000071afd498dULL, 35},
    {0x0000000000000000ULL, 0x0000002386f26fc1ULL, 38},
    {0x0000000000000000ULL, 0x000000b1a2bc2ec5ULL, 40},
    {0x0000000000000000ULL, 0x000003782dace9d9ULL, 42},
    {0x0000000000000000ULL, 0x00001158e460913dULL, 45},
    {0x0000000000000000ULL, 0x000056bc75e2d631ULL, 47},
    {0x0000000000000000ULL, 0x0001b1ae4d6e2ef5ULL, 49},
    {0x0000000000000000ULL, 0x000878678326eac9ULL, 52},
    {0x0000000000000000ULL, 0x002a5a058fc295edULL, 54},
    {0x0000000000000000ULL, 0x00d3c21bcecceda1ULL, 56},
    {0x0000000000000000ULL, 0x0422ca8b0a00a425ULL, 59},
    {0x0000000000000000ULL, 0x14adf4b7320334b9ULL, 61},
    {0x0000000000000000ULL, 0x6765c793fa10079dULL, 63},
    {0x0000000000000002ULL, 0x04fce5e3e2502611ULL, 66},
    {0x000000000000000aULL, 0x18f07d736b90be55ULL, 68},
    {0x0000000000000032ULL, 0x7cb2734119d3b7a9ULL, 70},
    {0x00000000000000fcULL, 0x6f7c40458122964dULL, 72},
    {0x00000000000004eeULL, 0x2d6d415b85acef81ULL, 75},
    {0x00000000000018a6ULL, 0xe32246c99c60ad85ULL, 77},
    {0x0000000000007b42ULL, 0x6fab61f00de36399ULL, 79},
    {0x000000000002684cULL, 0x2e58e9b04570f1fdULL, 82},
    {0x00000000000c097cULL, 0xe7bc90715b34b9f1ULL, 84},
    {0x00000000003c2f70ULL, 0x86aed236c807a1b5ULL, 86},
    {0x00000000012ced32ULL, 0xa16a1b11e8262889ULL, 89},
    {0x0000000005e0a1fdULL, 0x2712875988becaadULL, 91},
    {0x000000001d6329f1ULL, 0xc35ca4bfabb9f561ULL, 93},
    {0x0000000092efd1b8ULL, 0xd0cf37be5aa1cae5ULL, 96},
    {0x00000002deaf189cULL, 0x140c16b7c528f679ULL, 98},
    {0x0000000e596b7b0cULL, 0x643c7196d9ccd05dULL, 100},
    {0x00000047bf19673dULL, 0xf52e37f2410011d1ULL, 103},
    {0x00000166bb7f0435ULL, 0xc9e717bb45005915ULL, 105},
    {0x00000701a97b150cULL, 0xf18376a85901bd69ULL, 107},
    {0x000023084f676940ULL, 0xb7915149bd08b30dULL, 110},
    {0x0000af298d050e43ULL, 0x95d69670b12b7f41ULL, 112},
    {0x00036bcfc1194751ULL, 0xed30f03375d97c45ULL, 114},
    {0x00111b0ec57e6499ULL, 0xa1f4b1014d3f6d59ULL, 117},
    {0x00558749db77f700ULL, 0x29c77506823d22bdULL, 119},
    {0x01aba4714957d300ULL, 0xd0e549208b31adb1ULL, 121},
    {0x085a36366eb71f04ULL, 0x147a6da2b7f86475ULL, 124},
    {0x29c30f1029939b14ULL, 0x6664242d97d9f649ULL, 126},
};

static u128 pow5_at(int k) {
    return ((u128)pow5[k].hi << 64) | pow5[k].lo;
}

/* v / 2^sh rounded to nearest, ties to even (sh < 128). */
static u128 shr_round(u128 v, unsigned sh) {
    if (sh == 0)
        return v;
    u128 q = v >> sh, r = v & (((u128)1 << sh) - 1), half = (u128)1 << (sh - 1);
    if (r > half || (r == half && (q & 1)))
        q++;
    return q;
}

/* D = round(m * 2^e * 10^k), exactly; 0 when it does not fit the method.
   *below is set when the exact value is under 10^16 (k too small), *above
   when the unrounded value is at or over 10^17 (k too large). */
static unsigned long long scaled(unsigned long long m, int e, int k) {
    u128 t;
    if (k >= 0) {
        /* m * 5^k * 2^(e+k) */
        if (k > 54 || 64 - __builtin_clzll(m) + pow5[k].bits > 127)
            return 0;
        t = (u128)m * pow5_at(k);
        int sh = e + k;
        if (sh >= 0) {
            if (bitlen128(t) + (unsigned)sh > 127)
                return 0;
            t <<= sh;
        } else {
            if (-sh >= 128)
                return 0;
            t = shr_round(t, (unsigned)-sh);
        }
    } else {
        /* m * 2^e / 10^-k, e >= 0 here (|d| >= 10^17 > 2^53). */
        if (e < 0 || 64 - __builtin_clzll(m) + (unsigned)e > 127 || -k > 38)
            return 0;
        u128 n = (u128)m << e, p = pow5_at(-k) << -k;
        u128 q = n / p, r = n - q * p;
        if (r * 2 > p || (r * 2 == p && (q & 1)))
            q++;
        t = q;
    }
    if (t >> 64)
        return ~0ULL; /* too many digits: the caller retries with k - 1 */
    return (unsigned long long)t;
}

/* The 17 digits and the exponent of |d| (finite, normal, non-zero), or 0
   when the value is out of the exact method's range. */
static int digits17(double d, unsigned long long *D, int *X) {
    union {
        double d;
        unsigned long long u;
    } b = {d};
    int be = (int)((b.u >> 52) & 0x7ff);
    if (be == 0)
        return 0; /* subnormal */
    unsigned long long m = (b.u & ((1ULL << 52) - 1)) | (1ULL << 52);
    int e = be - 1075;
    /* |d| is in [2^(e+52), 2^(e+53)): floor(log10) is x or x + 1. */
    int x = ((e + 52) * 78913) >> 18;
    for (int tries = 0; tries < 3; tries++) {
        unsigned long long v = scaled(m, e, 16 - x);
        if (v == 0)
            return 0;
        if (v >= POW10_17) {
            /* Either x was one too small, or the rounding carried into an
               18th digit (9.99..95 -> 10.0): with k - 1 the carry gives
               10^16 exactly, the right answer for both. */
            x++;
            continue;
        }
        if (v < POW10_16) {
            x--;
            continue;
        }
        *D = v;
        *X = x;
        return 1;
    }
    return 0;
}

size_t dice__fmt_double(char *dst, double d) {
    size_t special = fmt_nonfinite(dst, isnan(d), isinf(d), d < 0);
    if (special)
        return special;
    /* Integers under 10^17: "%.17g" prints their digits as they are (every
       double there is an integer once past 2^53, and 17 digits hold it). */
    if (d > -1e17 && d < 1e17 && d == (double)(long long)d) {
        size_t n = 0;
        if (d == 0 && signbit(d))
            dst[n++] = '-';
        n += dice__fmt_ll(dst + n, (long long)d);
        dst[n] = '\0';
        return n;
    }
    unsigned long long D;
    int X;
    if (!digits17(fabs(d), &D, &X)) {
        int n = snprintf(dst, DICE_FMT_DOUBLE_MAX, "%.17g", d);
        return n > 0 ? (size_t)n : 0;
    }
    char dig[17];
    dice__fmt_ull(dig, D); /* exactly 17 digits */
    unsigned nd = 17;
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    char *p = dst;
    if (d < 0)
        *p++ = '-';
    if (X >= -4 && X < 17) {
        if (X >= 0) {
            unsigned ip = (unsigned)X + 1;
            for (unsigned i = 0; i < ip; i++)
                *p++ = i < nd ? dig[i] : '0';
            if (nd > ip) {
                *p++ = '.';
                memcpy(p, dig + ip, nd - ip);
                p += nd - ip;
            }
        } else {
            *p++ = '0';
            *p++ = '.';
            for (int i = -1; i > X; i--)
                *p++ = '0';
            memcpy(p, dig, nd);
            p += nd;
        }
    } else {
        *p++ = dig[0];
        if (nd > 1) {
            *p++ = '.';
            memcpy(p, dig + 1, nd - 1);
            p += nd - 1;
        }
        *p++ = 'e';
        *p++ = X < 0 ? '-' : '+';
        unsigned ax = (unsigned)(X < 0 ? -X : X);
        if (ax < 10)
            *p++ = '0';
        p += dice__fmt_ull(p, ax);
    }
    *p = '\0';
    return (size_t)(p - dst);
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
