/* dice_buf and the RESP2/RESP3 reply writers, plus the number formatters
 * replies need. Writers build each reply's framing in a small stack buffer
 * and append once, so a reply costs one bounds check in the common case. */
#include "resp/resp_internal.h"

#include <math.h>
#include <stdarg.h>
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

/* ---- writers ----------------------------------------------------------- */

/* Append "<c><n>\r\n" (an aggregate or bulk header; "*-1" is RESP2's
 * null array). */
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

/* Sizes of what is in memory are below 2^63, so they fit a long long. */
static int write_hdr_size(dice_buf_t *b, char c, size_t n) {
    return write_hdr(b, c, (long long)n);
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

int dice__buf_printf(dice_buf_t *b, const char *fmt, ...) {
    char tmp[1024];
    size_t n;
    va_list ap;
    va_start(ap, fmt);
    char *text = dice__vformat(tmp, sizeof(tmp), &n, fmt, ap);
    va_end(ap);
    if (!text)
        return DICE_ENOMEM;
    int rc = dice_buf_append(b, text, n);
    if (text != tmp)
        free(text);
    return rc;
}
