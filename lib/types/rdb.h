/* Redis's RDB value primitives that the collection types' serialize and
 * deserialize methods share (lib/types/rdb.c): lengths and strings, as
 * Redis 7.0 writes and reads them.
 *
 *   length  00xxxxxx (6 bits), 01xxxxxx xxxxxxxx (14 bits, big-endian),
 *           0x80 + 32 bits or 0x81 + 64 bits big-endian;
 *   string  a length and the bytes, or 0xC0/0xC1/0xC2 and an 8/16/32-bit
 *           little-endian integer, or 0xC3 and an LZF-compressed string
 *           (compressed length, raw length, the LZF bytes). */
#ifndef DICE_TYPES_RDB_H
#define DICE_TYPES_RDB_H

#include "dice/db.h"

#include <stddef.h>
#include <stdint.h>

/* Write a length / a string (as an integer encoding when it is a canonical
 * integer of at most 11 characters in int32 range, as Redis does). Return
 * 0 or write's error. */
int dice__rdb_write_len(dice_type_write_fn write, void *wctx, uint64_t n);
int dice__rdb_write_str(dice_type_write_fn write, void *wctx, const char *p,
                        size_t n);

/* A reader over len bytes at p; pos advances as items are read. */
typedef struct dice__rdb_in {
    const uint8_t *p;
    size_t len, pos;
} dice__rdb_in;

/* Read a length: 0, DICE_EAGAIN (the input ends first) or DICE_EPROTO. */
int dice__rdb_read_len(dice__rdb_in *in, uint64_t *n);
/* Read a string: *s and *n point into the input, into numbuf (at least 24
 * bytes) for an integer encoding, or into *heap (malloc'd, the caller frees
 * it; NULL otherwise) for an LZF string. Strings longer than max are
 * refused (DICE_EPROTO). Returns 0, DICE_EAGAIN, DICE_EPROTO or
 * DICE_ENOMEM. */
int dice__rdb_read_str(dice__rdb_in *in, size_t max, char *numbuf, char **heap,
                       const char **s, size_t *n);

#endif
