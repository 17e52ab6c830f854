/* Listpack: Redis 7.0's compact encoding of a sequence of strings and
 * integers in one buffer, byte for byte the format Redis writes (so an RDB
 * or DUMP payload can carry it verbatim). Pure data structure: no keys, no
 * commands. The list, hash and sorted set types build on it.
 *
 * Layout (all integers little-endian):
 *
 *   <total-bytes:u32> <num-elements:u16> <entry> ... <entry> <0xFF>
 *
 * num-elements 65535 means "at least 65535, count them"; dice__lp_length
 * does, and writes the count back when it has fallen below 65535. Each
 * entry is <encoding+data> <backlen>, where backlen is the size of
 * encoding+data in 1..5 bytes of 7 bits, read from its last byte leftwards
 * (so an entry can be reached from its right end: dice__lp_prev). Encodings:
 *
 *   0xxxxxxx                      7-bit unsigned int (0..127)
 *   10xxxxxx <data>               string of 0..63 bytes
 *   110xxxxx yyyyyyyy             13-bit signed int (-4096..4095)
 *   1110xxxx yyyyyyyy <data>      string of 0..4095 bytes (12-bit length)
 *   11110000 <len:u32> <data>     string of any length (32-bit length)
 *   11110001 <i16>, 11110010 <i24>, 11110011 <i32>, 11110100 <i64>
 *   11111111                      end of the listpack
 *
 * A string that is a canonical integer (dice__str2ll's rules, which are
 * Redis's string2ll's) is stored as an integer, in the smallest encoding,
 * as Redis stores it; reading it back gives the same text.
 *
 * Conventions:
 * - A listpack is an `unsigned char *` to one malloc'd buffer the caller
 *   owns; free it with dice__lp_free (or free()).
 * - An entry is an `unsigned char *` into the listpack, to its first byte.
 *   Every function that changes the listpack may move it: it returns the
 *   new listpack pointer and invalidates every entry pointer, except the
 *   one it hands back through its `newp` argument (may be NULL).
 * - A function that changes the listpack returns NULL when it fails (out of
 *   memory, or the result would pass DICE__LP_MAX_BYTES); the listpack
 *   passed in is then unchanged and still the caller's.
 * - Iteration: for (p = dice__lp_first(lp); p; p = dice__lp_next(lp, p)).
 * - Functions that walk trust the buffer: check one from outside (RDB,
 *   RESTORE) with dice__lp_validate first. */
#ifndef DICE_TYPES_LISTPACK_H
#define DICE_TYPES_LISTPACK_H

#include <stddef.h>
#include <stdint.h>

/* Header size (total bytes + element count) and the terminator byte. */
#define DICE__LP_HDR_SIZE 6
#define DICE__LP_EOF 0xFF
/* Element count meaning "unknown" in the header. */
#define DICE__LP_COUNT_UNKNOWN 65535
/* Largest listpack (the header's 32-bit total). Collection types convert to
 * their big encodings long before; see dice__lp_safe_to_add. */
#define DICE__LP_MAX_BYTES UINT32_MAX
/* Redis's LISTPACK_MAX_SAFETY_SIZE: what dice__lp_safe_to_add allows. */
#define DICE__LP_SAFETY_BYTES (1u << 30)
/* Buffer size dice__lp_get_str needs to format an integer entry. */
#define DICE__LP_INTBUF 21

/* Where dice__lp_insert_* puts the new entry relative to p. */
enum { DICE__LP_BEFORE = 0, DICE__LP_AFTER = 1 };

/* ---- create, free, size ------------------------------------------------ */

/* An empty listpack (7 bytes) in an allocation of capacity bytes (0 or
 * less than 7 for just the 7), which appends fill before any realloc. The
 * caller owns it. NULL when out of memory. */
unsigned char *dice__lp_new(size_t capacity);
/* Free a listpack (NULL is fine). */
void dice__lp_free(unsigned char *lp);
/* A copy of the len bytes at buf, which must already have passed
 * dice__lp_validate; the caller owns it. NULL when out of memory. */
unsigned char *dice__lp_from_bytes(const unsigned char *buf, size_t len);
/* Total bytes of the listpack (header and terminator included). */
size_t dice__lp_bytes(const unsigned char *lp);
/* Bytes allocated for it (at least dice__lp_bytes: growth first uses the
 * allocation's spare room; shrinking gives room back), for MEMORY USAGE. */
size_t dice__lp_alloc_size(const unsigned char *lp);
/* Number of elements: from the header, or counted (and the header updated
 * when the count fits) when the header says 65535. */
unsigned long dice__lp_length(unsigned char *lp);
/* Whether adding add bytes keeps the listpack within DICE__LP_SAFETY_BYTES
 * (lp may be NULL for a new one). */
int dice__lp_safe_to_add(const unsigned char *lp, size_t add);

/* ---- walking ----------------------------------------------------------- */

/* First / last entry, or NULL when empty. */
unsigned char *dice__lp_first(unsigned char *lp);
unsigned char *dice__lp_last(unsigned char *lp);
/* The entry after / before p, or NULL at the end / start. */
unsigned char *dice__lp_next(unsigned char *lp, unsigned char *p);
unsigned char *dice__lp_prev(unsigned char *lp, unsigned char *p);
/* The entry at index (0 first, -1 last), or NULL when out of range. Walks
 * from the nearer end when the element count is known. */
unsigned char *dice__lp_seek(unsigned char *lp, long index);
/* Bytes entry p occupies (encoding, data and backlen). */
uint32_t dice__lp_entry_size(const unsigned char *p);

/* ---- reading an entry -------------------------------------------------- */

/* The value of entry p: for a string, returns its bytes (inside the
 * listpack, not NUL-terminated) and sets *len; for an integer, returns
 * NULL and sets *iv. */
const unsigned char *dice__lp_get(const unsigned char *p, uint32_t *len,
                                  long long *iv);
/* The value of p as text: a string's own bytes, or an integer formatted
 * into buf (DICE__LP_INTBUF bytes, no NUL). Sets *len. */
const unsigned char *dice__lp_get_str(const unsigned char *p, uint32_t *len,
                                      unsigned char *buf);
/* Whether p holds an integer (int-encoded, or a string dice__str2ll
 * accepts); if so sets *v. Returns 1 or 0. */
int dice__lp_get_int(const unsigned char *p, long long *v);

/* ---- comparing an entry ------------------------------------------------ */

/* A value prepared once for many comparisons (dice__lp_find, loops over a
 * listpack): the text and, when it is a canonical integer, its value, so an
 * int entry is compared as an integer without formatting it. */
typedef struct {
    const unsigned char *s;
    uint32_t len;
    int is_int;
    long long v;
} dice__lp_needle;

/* Prepare a needle for the len bytes at s (which must outlive it). */
void dice__lp_needle_init(dice__lp_needle *n, const unsigned char *s,
                          uint32_t len);
/* Whether entry p equals the needle. */
int dice__lp_match(const unsigned char *p, const dice__lp_needle *n);
/* Whether entry p equals the len bytes at s (as text: an int entry equals
 * its canonical decimal text). */
int dice__lp_eq(const unsigned char *p, const unsigned char *s, uint32_t len);
/* Whether entry p is the integer v (an int entry, or a string whose text is
 * v's canonical text). */
int dice__lp_eq_int(const unsigned char *p, long long v);
/* memcmp-style order of entry p's text against the len bytes at s
 * (shorter prefix first), as Redis orders members for lex ranges: <0, 0,
 * >0. */
int dice__lp_cmp(const unsigned char *p, const unsigned char *s, uint32_t len);

/* From entry p on, the first entry equal to s/len, comparing p, then
 * skipping skip entries after each comparison (skip 1 on a field/value
 * listpack compares fields only), as Redis's lpFind. NULL when none. */
unsigned char *dice__lp_find(unsigned char *lp, unsigned char *p,
                             const unsigned char *s, uint32_t len,
                             unsigned skip);

/* ---- changing ---------------------------------------------------------- */
/* All return the new listpack or NULL (lp unchanged) on failure; see the
 * conventions above. newp, when not NULL, gets the new entry. */

/* Insert a string (stored as an int when it is a canonical integer) or an
 * integer before or after entry p. */
unsigned char *dice__lp_insert_str(unsigned char *lp, unsigned char *p,
                                   int where, const unsigned char *s,
                                   uint32_t len, unsigned char **newp);
unsigned char *dice__lp_insert_int(unsigned char *lp, unsigned char *p,
                                   int where, long long v,
                                   unsigned char **newp);
/* Add at the tail / head. */
unsigned char *dice__lp_append(unsigned char *lp, const unsigned char *s,
                               uint32_t len);
unsigned char *dice__lp_append_int(unsigned char *lp, long long v);
unsigned char *dice__lp_prepend(unsigned char *lp, const unsigned char *s,
                                uint32_t len);
unsigned char *dice__lp_prepend_int(unsigned char *lp, long long v);
/* Replace entry *p's value; *p is updated to the new entry. */
unsigned char *dice__lp_replace(unsigned char *lp, unsigned char **p,
                                const unsigned char *s, uint32_t len);
/* Overwrite entry p with s, encoded as dice__lp_replace encodes it, in
 * place when that takes exactly the bytes p takes: 1 done, 0 not (nothing
 * changed). Nothing is reallocated, so the listpack need not be a block of
 * its own (one kept inline in a key's entry changes this way). */
int dice__lp_replace_in_place(unsigned char *p, const unsigned char *s,
                              uint32_t len);
unsigned char *dice__lp_replace_int(unsigned char *lp, unsigned char **p,
                                    long long v);
/* Delete entry p; newp gets the entry that followed it (NULL if p was the
 * last). Shrinking never fails for want of memory (the buffer is kept when
 * realloc cannot shrink it), so these never return NULL. */
unsigned char *dice__lp_delete(unsigned char *lp, unsigned char *p,
                               unsigned char **newp);
/* Delete up to num entries from entry *p on; *p gets the entry after them
 * (NULL at the end). */
unsigned char *dice__lp_delete_range_at(unsigned char *lp, unsigned char **p,
                                        unsigned long num);
/* Delete up to num entries from index start (negative from the end). */
unsigned char *dice__lp_delete_range(unsigned char *lp, long start,
                                     unsigned long num);

/* ---- checking a buffer from outside ------------------------------------ */

/* Whether the len bytes at buf are a well-formed listpack: header total
 * equal to len, every entry's encoding, length and backlen inside the
 * buffer and consistent, the 0xFF terminator last, and the element count
 * equal to the header's (unless 65535). Never reads outside buf. cb, when
 * not NULL, is called on each entry in order (with the entry and ud) and a
 * nonzero return rejects the buffer (e.g. a hash checking for duplicate
 * fields or an even count). *count, when not NULL, gets the number of
 * entries. Returns 0 or DICE_EPROTO. */
int dice__lp_validate(const unsigned char *buf, size_t len,
                      int (*cb)(const unsigned char *p, void *ud), void *ud,
                      unsigned long *count);

#endif
