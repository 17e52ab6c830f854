/* What every layer may use: small macros and the one home of each shared
 * parser and formatter. Nothing here knows of loops, clients or keys. */
#ifndef DICE_CORE_INTERNAL_H
#define DICE_CORE_INTERNAL_H

#include "dice/common.h"

/* Elements of a static array. */
#define DICE__COUNT(a) (sizeof(a) / sizeof((a)[0]))

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>

/* ---- numbers (lib/core/number.c) -------------------------------------- */

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

/* The one integer parser, with Redis's string2ll rules: optional '-', no '+',
 * no leading zeros (except "0" itself), no spaces, fits in long long, at most
 * 20 chars. Returns 1 and sets *out, or 0. */
int dice__str2ll(const char *s, size_t n, long long *out);
/* The lenient syntax a RESP reply's integers are read with: an optional
 * '-' or '+', then digits (leading zeros allowed), in range. Same return
 * convention. */
int dice__str2ll_lenient(const char *s, size_t n, long long *out);

/* Longest text dice__str2d reads (Redis's MAX_D2STRING_CHARS). */
#define DICE__STR2D_MAX 128
/* A double with Redis's string2d rules (strtod over every byte, no
 * surrounding space, not NaN, "inf" allowed, no overflow). Returns 1 and
 * sets *out, or 0. */
int dice__str2d(const char *s, size_t n, double *out);

/* Redis's partial quicksort (pqsort.c, lib/core/pqsort.c): orders the n
 * elements of size bytes at base so that indexes lo..hi (inclusive) hold
 * what a full sort would put there, leaving equal elements where Redis's
 * does (it is not stable). cmp gets ctx as its third argument. hi may be
 * lo - 1 (Redis's SORT LIMIT past the end); lo + hi > 0. */
void dice__pqsort(void *base, size_t n, size_t size,
                  int (*cmp)(const void *, const void *, void *), void *ctx,
                  size_t lo, size_t hi);

/* printf into stack (cap bytes) when the text fits, else into a malloc'd
 * buffer: returns the text, NUL-terminated, with its length in *len; the
 * caller frees it when it is not stack. NULL for a bad format or no
 * memory. */
char *dice__vformat(char *stack, size_t cap, size_t *len, const char *fmt,
                    va_list ap);
/* The one long double parser, Redis's string2ld: strtold over all n bytes
 * (fewer than DICE_FMT_LDOUBLE_MAX), no leading space, no NaN, no
 * overflow or underflow to zero. Returns 1 and sets *out, or 0. */
int dice__str2ld(const char *s, size_t n, long double *out);

/* ---- LZF (lib/core/lzf.c) --------------------------------------------- */

/* Compress n bytes at src into dst (cap bytes) in LZF's format (liblzf's,
 * what Redis writes in RDB files and quicklist nodes). Returns the
 * compressed size, or 0 when it does not fit in cap (or n is 0). */
size_t dice__lzf_compress(const void *src, size_t n, void *dst, size_t cap);
/* Expand n bytes of LZF at src into dst (cap bytes). Returns the bytes
 * made, or 0 for a malformed stream or one that would pass cap; hostile
 * input never reads or writes out of bounds. */
size_t dice__lzf_decompress(const void *src, size_t n, void *dst, size_t cap);

/* ---- CRC-64 (lib/core/crc64.c) ------------------------------------------ */

/* Redis's crc64 (Jones polynomial, reflected, as RDB files and DUMP
 * payloads carry it): continue crc over n bytes at data (start with 0).
 * Thread-safe. */
uint64_t dice__crc64(uint64_t crc, const void *data, size_t n);

/* ---- threads (lib/core/thread.c) ---------------------------------------- */

/* pthread_create for the library's helper threads (lazy free, AOF fsync):
 * the thread starts with every signal blocked, so a signal sent to the
 * process is never run on it, whatever mask the host program's threads
 * have (the host's handlers may touch state the loop's thread owns).
 * Returns 0 or pthread_create's error. */
int dice__thread_start(pthread_t *thread, void *(*fn)(void *), void *arg);

#endif
