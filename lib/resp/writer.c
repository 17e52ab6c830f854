/* dice_buf and the RESP2/RESP3 reply writers, plus the number formatters
 * replies need. Writers build each reply's framing in a small stack buffer
 * and append once, so a reply costs one bounds check in the common case. */
#include "resp/resp_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- dice_buf ---------------------------------------------------------- */

void dice__buf_init(dice_buf_t *b) {
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void dice__buf_release(dice_buf_t *b) {
    free(b->data);
    dice__buf_init(b);
}

int dice__buf_reserve_slow(dice_buf_t *b, size_t extra) {
    if (extra > SIZE_MAX - b->len)
        return DICE_ENOMEM;
    size_t need = b->len + extra;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    char *nd = realloc(b->data, cap);
    if (!nd)
        return DICE_ENOMEM;
    b->data = nd;
    b->cap = cap;
    return 0;
}

void dice__buf_consume(dice_buf_t *b, size_t n) {
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

int dice_buf_new(dice_buf_t **out) {
    dice_buf_t *b = malloc(sizeof(*b));
    *out = b;
    if (!b)
        return DICE_ENOMEM;
    dice__buf_init(b);
    return 0;
}

void dice_buf_free(dice_buf_t *b) {
    if (!b)
        return;
    free(b->data);
    free(b);
}

const char *dice_buf_data(const dice_buf_t *b) {
    return b->data;
}

size_t dice_buf_len(const dice_buf_t *b) {
    return b->len;
}

void dice_buf_clear(dice_buf_t *b) {
    b->len = 0;
}

int dice_buf_append(dice_buf_t *b, const void *p, size_t n) {
    if (n == 0)
        return 0;
    if (dice__buf_reserve(b, n))
        return DICE_ENOMEM;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/* ---- number formatting ------------------------------------------------- */

/* "00".."99": two digits per division halves the divisions. */
static const char dice_digit_pairs[201] =
    "0001020304050607080910111213141516171819"
    "2021222324252627282930313233343536373839"
    "4041424344454647484950515253545556575859"
    "6061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static unsigned dice_count_digits(unsigned long long v) {
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
    unsigned n = dice_count_digits(v);
    char *p = dst + n;
    while (v >= 100) {
        unsigned i = (unsigned)(v % 100) * 2;
        v /= 100;
        *--p = dice_digit_pairs[i + 1];
        *--p = dice_digit_pairs[i];
    }
    if (v >= 10) {
        unsigned i = (unsigned)v * 2;
        *--p = dice_digit_pairs[i + 1];
        *--p = dice_digit_pairs[i];
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

/* ---- writers ----------------------------------------------------------- */

/* Append "<c><n>\r\n" (an aggregate or bulk header). */
static int write_hdr(dice_buf_t *b, char c, long long n) {
    if (dice__buf_reserve(b, DICE_FMT_LL_MAX + 3))
        return DICE_ENOMEM;
    char *p = b->data + b->len;
    p[0] = c;
    size_t k = 1 + dice__fmt_ll(p + 1, n);
    p[k] = '\r';
    p[k + 1] = '\n';
    b->len += k + 2;
    return 0;
}

static int write_hdr_size(dice_buf_t *b, char c, size_t n) {
    if (dice__buf_reserve(b, DICE_FMT_LL_MAX + 3))
        return DICE_ENOMEM;
    char *p = b->data + b->len;
    p[0] = c;
    size_t k = 1 + dice__fmt_ull(p + 1, n);
    p[k] = '\r';
    p[k + 1] = '\n';
    b->len += k + 2;
    return 0;
}

/* Append "<c><s>\r\n" with CR/LF in s replaced: a line type cannot carry
 * them without breaking the framing. */
static int write_line(dice_buf_t *b, char c, const char *s, size_t len) {
    if (len > SIZE_MAX - 3 || dice__buf_reserve(b, len + 3))
        return DICE_ENOMEM;
    char *p = b->data + b->len;
    p[0] = c;
    if (len)
        memcpy(p + 1, s, len);
    for (size_t i = 0; i < len; i++)
        if (p[1 + i] == '\r' || p[1 + i] == '\n')
            p[1 + i] = ' ';
    p[1 + len] = '\r';
    p[2 + len] = '\n';
    b->len += len + 3;
    return 0;
}

/* Append "<c><len>\r\n<s>\r\n" in one reservation. */
static int write_blob(dice_buf_t *b, char c, const char *s, size_t len) {
    if (len > SIZE_MAX - (DICE_FMT_LL_MAX + 5) ||
        dice__buf_reserve(b, len + DICE_FMT_LL_MAX + 5))
        return DICE_ENOMEM;
    char *p = b->data + b->len;
    p[0] = c;
    size_t k = 1 + dice__fmt_ull(p + 1, len);
    p[k++] = '\r';
    p[k++] = '\n';
    if (len)
        memcpy(p + k, s, len);
    k += len;
    p[k++] = '\r';
    p[k++] = '\n';
    b->len += k;
    return 0;
}

int dice_resp_write_simple(dice_buf_t *b, const char *s, size_t len) {
    return write_line(b, '+', s, len);
}

int dice_resp_write_error(dice_buf_t *b, const char *s, size_t len) {
    if (len > 0 && s[0] == '-') {
        s++;
        len--;
    }
    return write_line(b, '-', s, len);
}

int dice_resp_write_int(dice_buf_t *b, long long v) {
    return write_hdr(b, ':', v);
}

int dice_resp_write_bulk(dice_buf_t *b, const char *s, size_t len) {
    return write_blob(b, '$', s, len);
}

int dice_resp_write_null(dice_buf_t *b, int proto) {
    if (proto == 3)
        return dice_buf_append(b, "_\r\n", 3);
    return dice_buf_append(b, "$-1\r\n", 5);
}

int dice_resp_write_null_array(dice_buf_t *b, int proto) {
    if (proto == 3)
        return dice_buf_append(b, "_\r\n", 3);
    return dice_buf_append(b, "*-1\r\n", 5);
}

int dice_resp_write_array(dice_buf_t *b, size_t n) {
    return write_hdr_size(b, '*', n);
}

int dice_resp_write_map(dice_buf_t *b, int proto, size_t npairs) {
    if (proto == 3)
        return write_hdr_size(b, '%', npairs);
    return write_hdr_size(b, '*', npairs * 2);
}

int dice_resp_write_set(dice_buf_t *b, int proto, size_t n) {
    return write_hdr_size(b, proto == 3 ? '~' : '*', n);
}

int dice_resp_write_push(dice_buf_t *b, int proto, size_t n) {
    return write_hdr_size(b, proto == 3 ? '>' : '*', n);
}

int dice_resp_write_attribute(dice_buf_t *b, int proto, size_t npairs) {
    if (proto != 3)
        return DICE_EINVAL;
    return write_hdr_size(b, '|', npairs);
}

int dice_resp_write_double(dice_buf_t *b, int proto, double d) {
    char tmp[DICE_FMT_DOUBLE_MAX];
    size_t n = dice__fmt_double(tmp, d);
    if (proto == 3)
        return write_line(b, ',', tmp, n);
    return write_blob(b, '$', tmp, n);
}

int dice_resp_write_bool(dice_buf_t *b, int proto, int v) {
    if (proto == 3)
        return dice_buf_append(b, v ? "#t\r\n" : "#f\r\n", 4);
    return dice_buf_append(b, v ? ":1\r\n" : ":0\r\n", 4);
}

int dice_resp_write_verbatim(dice_buf_t *b, int proto, const char *fmt3,
                             const char *s, size_t len) {
    if (!fmt3 || strnlen(fmt3, 4) != 3)
        return DICE_EINVAL;
    if (proto != 3)
        return write_blob(b, '$', s, len);
    if (len > SIZE_MAX - (DICE_FMT_LL_MAX + 9) ||
        dice__buf_reserve(b, len + DICE_FMT_LL_MAX + 9))
        return DICE_ENOMEM;
    char *p = b->data + b->len;
    p[0] = '=';
    size_t k = 1 + dice__fmt_ull(p + 1, len + 4);
    p[k++] = '\r';
    p[k++] = '\n';
    memcpy(p + k, fmt3, 3);
    k += 3;
    p[k++] = ':';
    if (len)
        memcpy(p + k, s, len);
    k += len;
    p[k++] = '\r';
    p[k++] = '\n';
    b->len += k;
    return 0;
}

int dice_resp_write_bignum(dice_buf_t *b, int proto, const char *digits,
                           size_t len) {
    if (proto == 3)
        return write_line(b, '(', digits, len);
    return write_blob(b, '$', digits, len);
}

int dice_resp_write_blob_error(dice_buf_t *b, int proto, const char *s,
                               size_t len) {
    if (proto == 3)
        return write_blob(b, '!', s, len);
    return dice_resp_write_error(b, s, len);
}
