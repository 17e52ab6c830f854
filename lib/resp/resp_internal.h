/* RESP codec internals shared inside the library: the dice_buf layout, so
 * connections can embed output buffers and append inline. (The number
 * formatters the writers use are in lib/core.) */
#ifndef DICE_RESP_INTERNAL_H
#define DICE_RESP_INTERNAL_H

#include "core/core_internal.h"
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

/* While a multibulk command is partly parsed: how many bytes at the start
 * of the caller's buffer hold what the parser has already taken in (its
 * header, complete arguments, the current bulk's header). Redis has moved
 * those out of its query buffer into argv, so they do not count against
 * client-query-buffer-limit. 0 when no command is pending. */
size_t dice__req_parser_parsed(const dice_req_parser_t *p);

/* Bytes fed to r and not consumed by a returned value yet (a partial
 * value, or values not asked for). */
size_t dice__reader_buffered(const dice_reader_t *r);

/* printf-style append to a buffer (lib/resp/writer.c): 0 or
 * DICE_ENOMEM. */
int dice__buf_printf(dice_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
