/* Intset: Redis's sorted array of distinct integers, byte for byte the
 * format Redis writes (so an RDB or DUMP payload can carry it verbatim).
 * Pure data structure: the set type builds on it.
 *
 * Layout (little-endian whatever the host):
 *
 *   <encoding:u32> <length:u32> <value> ... <value>
 *
 * encoding is the size of each value, 2, 4 or 8 bytes (int16, int32,
 * int64); values are in strictly ascending order. Adding a value that does
 * not fit upgrades every value to the wider encoding; an intset never
 * downgrades (as in Redis).
 *
 * Conventions: a dice__intset is one malloc'd buffer the caller owns (free
 * with dice__intset_free or free()). Functions that change it may move it
 * and return the new pointer; NULL means out of memory, and the intset
 * passed in is then unchanged and still the caller's. Nothing here keeps
 * state between calls (random picks take the caller's random number). */
#ifndef DICE_TYPES_INTSET_H
#define DICE_TYPES_INTSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct dice__intset dice__intset;

/* Header size and the encodings. */
#define DICE__INTSET_HDR_SIZE 8
#define DICE__INTSET_ENC_INT16 2
#define DICE__INTSET_ENC_INT32 4
#define DICE__INTSET_ENC_INT64 8

/* An empty intset (encoding int16). NULL when out of memory. */
dice__intset *dice__intset_new(void);
/* Free an intset (NULL is fine). */
void dice__intset_free(dice__intset *is);
/* A copy of the len bytes at buf, which must already have passed
 * dice__intset_validate; the caller owns it. NULL when out of memory. */
dice__intset *dice__intset_from_bytes(const void *buf, size_t len);

/* Add v; *added (may be NULL) gets 1 if it was not there, 0 if it was. */
dice__intset *dice__intset_add(dice__intset *is, int64_t v, int *added);
/* Remove v; *removed (may be NULL) gets 1 or 0. Never fails (the buffer is
 * kept when realloc cannot shrink it). */
dice__intset *dice__intset_remove(dice__intset *is, int64_t v, int *removed);
/* Whether v is in the set: 1 or 0. */
int dice__intset_find(const dice__intset *is, int64_t v);
/* Binary search: returns 1 and sets *pos to v's index if present, else 0
 * and sets *pos to where v would go (pos may be NULL). */
int dice__intset_search(const dice__intset *is, int64_t v, uint32_t *pos);
/* Value at index pos (0 smallest) into *v: 1, or 0 if pos is out of range. */
int dice__intset_get(const dice__intset *is, uint32_t pos, int64_t *v);
/* The value at index rnd % length (the caller's random number). The set
 * must not be empty. */
int64_t dice__intset_random(const dice__intset *is, uint64_t rnd);
/* Number of values. */
uint32_t dice__intset_len(const dice__intset *is);
/* Total bytes (header included): what an RDB stores. */
size_t dice__intset_bytes(const dice__intset *is);
/* Encoding in use (2, 4 or 8). */
uint32_t dice__intset_encoding(const dice__intset *is);
/* Smallest encoding that holds v (2, 4 or 8). */
uint32_t dice__intset_value_encoding(int64_t v);

/* Whether the len bytes at buf are a well-formed intset, as Redis's
 * intsetValidateIntegrity checks: a known encoding, size equal to header
 * plus length values, not empty, values strictly ascending (so distinct).
 * Never reads outside buf. Returns 0 or DICE_EPROTO. */
int dice__intset_validate(const void *buf, size_t len);

#endif
