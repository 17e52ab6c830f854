/* RESP codec internals shared inside the library: the dice_buf layout (so
 * connections can embed output buffers and append inline) and the number
 * formatters the writers and the command layer use. */
#ifndef DICE_RESP_INTERNAL_H
#define DICE_RESP_INTERNAL_H

#include "dice/resp.h"

#include <string.h>

struct dice_buf {
    char *data; /* NULL until the first reserve */
    size_t len; /* bytes in use */
    size_t cap; /* bytes allocated */
};

/* Embedded buffers: init leaves it empty without allocating; release frees
 * the bytes and leaves it empty (reusable). */
void dice__buf_init(dice_buf_t *b);
void dice__buf_release(dice_buf_t *b);
/* Ensure room for `extra` more bytes (amortized doubling). 0/DICE_ENOMEM. */
int dice__buf_reserve_slow(dice_buf_t *b, size_t extra);
static inline int dice__buf_reserve(dice_buf_t *b, size_t extra) {
    if (b->cap - b->len >= extra)
        return 0;
    return dice__buf_reserve_slow(b, extra);
}
/* Drop n bytes from the front (n > len drops everything). */
void dice__buf_consume(dice_buf_t *b, size_t n);

/* Longest output of dice__fmt_ll ("-9223372036854775808"), no NUL. */
#define DICE_FMT_LL_MAX 20
/* Decimal text of v into dst (at least DICE_FMT_LL_MAX bytes); returns the
 * length. No NUL is written. */
size_t dice__fmt_ll(char *dst, long long v);
/* Same for unsigned values (at most 20 digits). */
size_t dice__fmt_ull(char *dst, unsigned long long v);

/* Longest output of dice__fmt_double, no NUL ("%.17g" needs at most 24). */
#define DICE_FMT_DOUBLE_MAX 32
/* Redis 7.0 reply formatting of a double: "%.17g", with "inf", "-inf" and
 * "nan" for the special values. dst holds DICE_FMT_DOUBLE_MAX bytes; returns
 * the length; a NUL follows the text. */
size_t dice__fmt_double(char *dst, double d);

/* Room dice__fmt_long_double_human needs (Redis's MAX_LONG_DOUBLE_CHARS). */
#define DICE_FMT_LDOUBLE_MAX (5 * 1024)
/* Redis's ld2string(LD_STR_HUMAN): "%.17Lf" then trailing zeros after the
 * dot and a trailing dot stripped, "-0" made "0", "inf"/"-inf"/"nan" for the
 * specials. dst holds DICE_FMT_LDOUBLE_MAX bytes; returns the length (a NUL
 * follows), or 0 if the text would not fit (|v| near LDBL_MAX). */
size_t dice__fmt_long_double_human(char *dst, long double v);

/* Redis's string2ll rules: optional '-', no '+', no leading zeros (except
 * "0" itself), no spaces, fits in long long, at most 20 chars. Returns 1 and
 * sets *out, or 0. */
int dice_resp_str2ll(const char *s, size_t n, long long *out);

/* Bytes fed to r and not consumed by a returned value yet (a partial
 * value, or values not asked for). */
size_t dice__reader_buffered(const dice_reader_t *r);

#endif
