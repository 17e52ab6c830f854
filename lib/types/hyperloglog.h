/* HyperLogLog: Redis's representation byte for byte, so a value moves
 * between redis-server and dice-server as a plain string (GET/SET, DUMP,
 * a snapshot) and gives the same count. Pure data structure over a
 * string's bytes; the commands are lib/commands/hyperloglog.c.
 *
 * Layout (multi-byte fields little-endian):
 *
 *   "HYLL" <encoding:u8> <unused:3> <card:8> <registers...>
 *
 * encoding 0 is dense: 16384 registers of 6 bits, register i at bits
 * 6i..6i+5 counted from the least significant bit of byte 0 (12288
 * bytes). Encoding 1 is sparse, a run-length code of the registers:
 *   00xxxxxx          ZERO:  1..64 zero registers
 *   01xxxxxx yyyyyyyy XZERO: 1..16384 zero registers (14 bits, minus 1)
 *   1vvvvvxx          VAL:   1..4 registers of value 1..32
 * card caches the cardinality; the top bit of its last byte set means
 * the cache is stale. An element's register is the low 14 bits of its
 * MurmurHash64A (seed 0xadc83b19); its value is 1 + the number of
 * trailing zero bits of the other 50 (at most 51). The estimate is Ertl's
 * improved estimator over the histogram of register values ("New
 * cardinality estimation algorithms for HyperLogLog sketches", 2017), as
 * Redis 7.0 computes it, in the same order of double operations.
 *
 * Conventions: a value is a rawstr (lib/keyspace/db_internal.h) the caller
 * owns; functions that change it may realloc it (*rp is updated; on
 * DICE_ENOMEM it is unchanged). Every function that walks a value bounds
 * its reads by the value's length: a hostile value answers DICE_EINVAL,
 * never a read past its end. */
#ifndef DICE_TYPES_HYPERLOGLOG_H
#define DICE_TYPES_HYPERLOGLOG_H

#include "keyspace/db_internal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DICE__HLL_HDR 16
#define DICE__HLL_REGISTERS 16384
#define DICE__HLL_DENSE_SIZE (DICE__HLL_HDR + DICE__HLL_REGISTERS * 6 / 8)
#define DICE__HLL_DENSE 0
#define DICE__HLL_SPARSE 1
/* Redis's hll-sparse-max-bytes default. */
#define DICE__HLL_SPARSE_MAX_DEFAULT 3000

/* Austin Appleby's MurmurHash64A, the hash Redis's HLL uses. */
uint64_t dice__murmur64a(const void *key, size_t len, uint64_t seed);

/* Is s (n bytes) a value Redis takes for a HyperLogLog: "HYLL", encoding
 * 0 or 1, and exactly DICE__HLL_DENSE_SIZE bytes when dense (Redis's
 * isHLLObjectOrReply; a sparse body is checked when it is walked). */
bool dice__hll_is_hll(const uint8_t *s, size_t n);
/* A new empty sparse HLL (18 bytes, cached cardinality 0 and valid:
 * PFADD and PFMERGE then mark it stale, as Redis does). NULL when out of
 * memory. */
rawstr *dice__hll_new(void);
/* The empty sparse HLL's bytes (for callers that store it themselves). */
size_t dice__hll_empty(uint8_t out[DICE__HLL_HDR + 2]);

/* Add an element: 1 if a register grew, 0 if not, DICE_EINVAL for a
 * corrupt sparse body, DICE_ENOMEM. A sparse value past sparse_max bytes
 * (or needing a register over 32) becomes dense. Does not touch the
 * cache (the caller marks it stale when something changed). */
int dice__hll_add(rawstr **rp, const char *ele, size_t len, size_t sparse_max);
/* Raise register index to at least val (1..63): 1, 0, DICE_EINVAL,
 * DICE_ENOMEM, as dice__hll_add. Marks the cache stale on a sparse
 * change (as Redis's sparse set does). */
int dice__hll_set(rawstr **rp, unsigned index, unsigned val, size_t sparse_max);
/* A sparse value as dense (a dense one is left alone): 1 converted, 0
 * already dense, DICE_EINVAL (corrupt: registers do not add up to 16384),
 * DICE_ENOMEM. The cache bytes are kept. */
int dice__hll_to_dense(rawstr **rp);

/* max[i] = MAX(max[i], register i) over the value's registers: 0 or
 * DICE_EINVAL. */
int dice__hll_merge(uint8_t max[DICE__HLL_REGISTERS], const uint8_t *s,
                    size_t n);
/* The estimate from the registers of a value: 0 or DICE_EINVAL (*card
 * set either way, as Redis replies nothing for a corrupt one). */
int dice__hll_count(const uint8_t *s, size_t n, uint64_t *card);
/* The estimate from 16384 one-byte registers (PFCOUNT of several keys). */
uint64_t dice__hll_count_raw(const uint8_t regs[DICE__HLL_REGISTERS]);

/* The cached cardinality: true with *card when the cache is valid. */
bool dice__hll_cache_get(const uint8_t *s, uint64_t *card);
void dice__hll_cache_set(uint8_t *s, uint64_t card);
static inline void dice__hll_cache_invalidate(uint8_t *s) {
    s[15] |= 0x80;
}

/* Register i of a dense value's registers (after the header). */
unsigned dice__hll_dense_get(const uint8_t *regs, unsigned i);

/* PFDEBUG DECODE's text of a sparse body ("z:3 Z:100 v:2,1 ..."), into a
 * malloc'd NUL-terminated string the caller frees; NULL when out of
 * memory. Opcodes are printed as they read, without validation (Redis
 * does the same), but never past n. */
char *dice__hll_decode(const uint8_t *s, size_t n);

/* PFSELFTEST: 0, or -1 with a message in err. */
int dice__hll_selftest(char *err, size_t errlen);

#endif
