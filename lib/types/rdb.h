/* Redis's RDB encodings of lengths and strings, the pieces every type's
 * serialize/deserialize method is written with (RDB object payloads are
 * sequences of these). Pure byte codecs: no keys, no I/O of their own. */
#ifndef DICE_TYPES_RDB_H
#define DICE_TYPES_RDB_H

#include "dice/db.h"

#include <stddef.h>
#include <stdint.h>

/* RDB object type bytes of Redis 7.0 (rdb.h) that the types read/write. */
#define DICE__RDB_TYPE_HASH 4
#define DICE__RDB_TYPE_HASH_LISTPACK 16

/* Longest header dice__rdb_put_len writes. */
#define DICE__RDB_LEN_MAX 9

/* An RDB length (6-bit, 14-bit, 0x80 + 32-bit or 0x81 + 64-bit big-endian)
 * into dst; returns its size. */
size_t dice__rdb_put_len(uint8_t *dst, uint64_t v);
/* The header of an LZF-compressed RDB string (0xC3, then the compressed
 * length clen and the plain length ulen), for bytes already compressed
 * (a quicklist's compressed node), into dst (1 + 2 * DICE__RDB_LEN_MAX
 * bytes); returns its size. The clen LZF bytes follow it. */
size_t dice__rdb_put_lzf_header(uint8_t *dst, uint64_t clen, uint64_t ulen);
/* Write a length, or a string: a canonical integer in int32 range as
 * 0xC0/0xC1/0xC2 and 1, 2 or 4 bytes little-endian (as Redis), anything
 * else as a length and the bytes. Return write's result. */
int dice__rdb_write_len(dice_type_write_fn write, void *wctx, uint64_t v);
int dice__rdb_write_string(dice_type_write_fn write, void *wctx, const char *s,
                           size_t n);

/* Read an RDB length at d (len bytes available): 0 with *v and *used set,
 * DICE_EAGAIN (more bytes needed) or DICE_EPROTO (not a length). */
int dice__rdb_read_len(const uint8_t *d, size_t len, uint64_t *v, size_t *used);
/* Read an RDB string at d: plain, int-encoded or LZF-compressed (0xC3).
 * On success *s points at its bytes (into d for a plain one, else into
 * *owned, a malloc'd buffer the caller frees, or into numbuf, which holds
 * at least 21 bytes, for an integer), *n its length and *used the bytes
 * it took. Strings longer than max are refused. Returns 0, DICE_EAGAIN,
 * DICE_EPROTO or DICE_ENOMEM. */
int dice__rdb_read_string(const uint8_t *d, size_t len, size_t max,
                          char *numbuf, char **owned, const char **s, size_t *n,
                          size_t *used);

/* A cursor over len bytes at p, for deserializers that read item after
 * item: pos advances past what each call read (on error it stays). */
typedef struct dice__rdb_in {
    const uint8_t *p;
    size_t len, pos;
} dice__rdb_in;

/* dice__rdb_read_len / dice__rdb_read_string at the cursor. */
int dice__rdb_in_len(dice__rdb_in *in, uint64_t *v);
int dice__rdb_in_string(dice__rdb_in *in, size_t max, char *numbuf,
                        char **owned, const char **s, size_t *n);

#endif
