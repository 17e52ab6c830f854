/* The hash type (lib/types/hash.c): a map of binary-safe fields to values,
 * in Redis's two encodings: a listpack of field,value pairs while the hash
 * is small (at most hash-max-listpack-entries fields, none longer than
 * hash-max-listpack-value bytes, fields or values), then, for good, the
 * member table's map mode (OBJECT ENCODING "hashtable"). The conversion
 * happens exactly when Redis converts, and never back.
 *
 * Values handed out (dice__hash_get, the visitors) point into the hash or
 * into a caller's buffer (a listpack stores a canonical integer as an
 * integer and formats it back) and stay valid until the hash changes. */
#ifndef DICE_TYPES_HASH_H
#define DICE_TYPES_HASH_H

#include "types/types_internal.h"

enum { DICE__HASH_LISTPACK = 0, DICE__HASH_TABLE = 1 };

/* Opaque and never dereferenced: a hash is ONE pointer with no header of
 * its own. While small it is the listpack's own address; once converted it
 * is the address of its member table (DICE__MT_BYTES) with bit 0 set
 * (malloc's blocks are at least 8-aligned, so a listpack's bit 0 is clear).
 * A write may move a listpack (realloc), so the writers take a dice__hash **
 * and leave the new pointer there: the caller stores it back wherever it
 * keeps the hash (the keyspace: dice__db_replace_object). */
typedef struct dice__hash dice__hash;
/* A small hash may also live inline in its key's entry (DICE__OBJ_INLINE,
 * lib/keyspace/keyspace_internal.h): its listpack's bytes there, borrowed.
 * The writers then change a copy of their own, and dice__hash_store puts
 * the result back (a value replaced by one of the same encoded size is
 * written in place: the entry keeps its size); dice__hash_free leaves an
 * inline hash alone. */

/* Room a value formatted from a listpack integer needs. */
#define DICE__HASH_NUMBUF 24

/* A new empty hash (listpack), owned by the caller; NULL without memory. */
dice__hash *dice__hash_new(void);
/* Free h and everything it holds (NULL is fine). Touches only h's own
 * memory, so a lazy-free thread may call it. */
void dice__hash_free(dice__hash *h);
/* A deep copy, or NULL without memory. */
dice__hash *dice__hash_copy(const dice__hash *h);
int dice__hash_encoding(const dice__hash *h);
size_t dice__hash_len(const dice__hash *h);
/* Bytes h uses (MEMORY USAGE), values over 32 bytes of a table estimated
 * from samples (0: all). */
size_t dice__hash_mem(const dice__hash *h, size_t samples);

/* Redis's hashTypeTryConversion before a write of the n arguments at
 * argv (their lengths, argvlen): converts a listpack when one is longer than
 * the value limit, or when their total would not be safe to add to the
 * listpack. Returns 0 or DICE_ENOMEM (unchanged). */
int dice__hash_try_convert(dice__hash **h, const dice__enc_limits *lim, int n,
                           const size_t *argvlen);
/* Convert to the table now (0 or DICE_ENOMEM, unchanged). */
int dice__hash_convert(dice__hash **h);

/* The value of field f: 1 with *v and *vn set (pointing into h, or into numbuf
 * of DICE__HASH_NUMBUF bytes), 0 when missing. */
int dice__hash_get(dice__hash *h, const char *f, size_t fn, char *numbuf,
                   const char **v, size_t *vn);
/* Set field f to value v (Redis's hashTypeSet: a field or value longer
 * than the value limit converts first, more fields than the entries limit
 * converts after). Returns 1 added, 0 updated, DICE_ENOMEM (unchanged). */
int dice__hash_set(dice__hash **h, const dice__enc_limits *lim, const char *f,
                   size_t fn, const char *v, size_t vn);
/* Delete field f: 1 deleted, 0 missing. */
int dice__hash_del(dice__hash **h, const char *f, size_t fn);

/* After a write changed the hash of ref's key (looked up by the command
 * with dice__db_lookup_ref, nothing else changed since) from old to *h, or
 * built a new hash for the missing key (old NULL): store it, inline in the
 * key's entry when that takes less memory (then the listpack is freed and
 * *h is the inline hash), else the pointer (a missing key is added). Call
 * it after every write, before dice__obj_written (which may free the hash
 * through the stored pointer). Returns 0, or DICE_ENOMEM: then *h is freed
 * and set back to old, which the key still holds (nothing was added). */
int dice__hash_store_changed(dice_db_t *db, dice__db_ref *ref,
                             const dice__hash *old, dice__hash **h);
static inline int dice__hash_store(dice_db_t *db, dice__db_ref *ref,
                                   const dice__hash *old, dice__hash **h) {
    uintptr_t u = (uintptr_t)*h;
    /* An inline hash, or a table that did not move: nothing to store. */
    if ((u & DICE__OBJ_INLINE) || (*h == old && (u & 1)))
        return 0;
    return dice__hash_store_changed(db, ref, old, h);
}

/* A visitor of field/value pairs; returning nonzero stops the walk. */
typedef int (*dice__hash_visit_fn)(void *ctx, const char *f, size_t fn,
                                   const char *v, size_t vn);
/* Every pair in the encoding's order (the listpack's insertion order).
 * fn must not change h. Returns what stopped the walk, or 0. */
int dice__hash_foreach(const dice__hash *h, dice__hash_visit_fn fn, void *ctx);
/* One HSCAN step: a listpack is visited whole and 0 returned, a table one
 * member-table scan step from cursor (see dice__mt_scan). */
uint64_t dice__hash_scan(dice__hash *h, uint64_t cursor, size_t count,
                         dice__hash_visit_fn fn, void *ctx);

/* HRANDFIELD's picks. One random pair into fn (h not empty). */
void dice__hash_random(dice__hash *h, dice__hash_visit_fn fn, void *ctx);
/* count pairs chosen with repetition (HRANDFIELD's negative count), or
 * count distinct pairs (count < len; with count >= len every pair once):
 * each into fn. Returns 0 or DICE_ENOMEM (some may have been visited). */
int dice__hash_random_many(dice__hash *h, size_t count, int distinct,
                           dice__hash_visit_fn fn, void *ctx);

/* The type methods (registered with the keyspace as ctx). */
extern const dice_type_methods dice__hash_methods;

#endif
