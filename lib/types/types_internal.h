/* The types layer (lib/types/): one file per data type, its data structure
 * and its C API, on the keyspace core (lib/keyspace/db_internal.h), and the
 * generic code that reaches every type through its dice_type_methods
 * (lib/types/type.c: OBJECT ENCODING, the method lookup, DEBUG DIGEST).
 *
 * The string type is built in: the keyspace stores its values itself
 * (inline in the entry, or in a RAW rawstr it frees and copies), so its
 * methods table is this layer's, not a registered one. Its methods receive
 * as obj the keyspace entry holding the value (a const uint8_t *); free and
 * copy are NULL (the keyspace's storage forms need neither), and
 * deserialize returns a rawstr the caller stores (dice__string_adopt) or
 * frees with free(). */
#ifndef DICE_TYPES_INTERNAL_H
#define DICE_TYPES_INTERNAL_H

#include "dice/db.h"
#include "keyspace/db_internal.h"

/* Version 1 methods of DICE_TYPE_STRING (lib/types/string.c). */
extern const dice_type_methods dice__string_methods;

/* Text of a string entry: int-encoded values are formatted into numbuf
 * (DICE_DB_NUMBUF bytes). *p points into the entry or numbuf. */
void dice__string_text(uint8_t *e, char *numbuf, const char **p, size_t *n);

/* Store a rawstr (from the string type's deserialize) as the string value
 * of key, replacing any value, no TTL. Takes r, even on failure. Returns 0
 * or DICE_ENOMEM. */
int dice__string_adopt(dice_db_t *db, const char *key, size_t klen, rawstr *r);

/* ---- a string's bytes edited in place ----------------------------------

 * What SETBIT, BITFIELD and the HyperLogLog commands build on: find the
 * string, make it RAW (Redis's dbUnshareStringValue) with room for what
 * the command writes, edit r->data, then say so. A ref is valid until the
 * keyspace next changes, except through these calls. */
typedef struct dice__strref {
    uint8_t *e;     /* the key's entry */
    uint64_t *slot; /* its table slot (NULL for a key just created) */
} dice__strref;

/* The string at key, for a write (touches its access clock, counts no
 * hit or miss): 0, DICE_ENOENT or DICE_EWRONGTYPE. Its text is
 * dice__string_text(ref->e, ...). */
int dice__string_find(dice_db_t *db, const char *key, size_t klen,
                      dice__strref *ref);
/* The value as a RAW string of at least minlen bytes (bytes added are
 * zero; capacity grows geometrically, as APPEND's): its rawstr, or NULL
 * when out of memory (nothing changed). */
rawstr *dice__string_raw(dice_db_t *db, dice__strref *ref, size_t minlen);
/* A new RAW string at the missing key: len bytes, the first initlen from
 * init, the rest zero, capacity len (Redis creates these at their exact
 * size). Fires DICE_KS_SET. NULL when out of memory. */
rawstr *dice__string_create(dice_db_t *db, const char *key, size_t klen,
                            const void *init, size_t initlen, size_t len,
                            dice__strref *ref);
/* After an edit that reallocated the rawstr: r is the value now. */
void dice__string_reseat(dice__strref *ref, rawstr *r);
/* After the bytes changed: fires DICE_KS_SET (WATCH, the dirty counter
 * that makes the dispatcher propagate). */
void dice__string_changed(dice_db_t *db, dice__strref *ref);

/* The methods and ctx in effect for a type (the string table for
 * DICE_TYPE_STRING), NULL when no table is registered. */
const dice_type_methods *dice__type_methods(const dice_keyspace_t *ks,
                                            unsigned type, void **ctx);

/* The obj argument the methods of e's type take: the entry for a string,
 * the stored object pointer otherwise (tagged, for one stored inline). */
static inline const void *dice__type_obj(uint8_t *e) {
    if (HDR_ENC(e[0]) == ENC_OBJ)
        return entry_ptr(e);
    return HDR_TYPE(e[0]) == DICE_TYPE_STRING ? (const void *)e
                                              : entry_inline_obj(e);
}

/* What DEBUG OBJECT shows of a key's value: where it lives (the object,
 * or the key's entry for a string kept in it), its type, its OBJECT
 * ENCODING name, the bytes of its serialized payload (the type's
 * serialize method: what follows the type byte in an RDB file; 0 when
 * the type has none) and the object itself (NULL for a string). */
typedef struct dice__object_info {
    const void *addr;
    unsigned type;
    const char *encoding;
    size_t serialized_len;
    const void *obj;
} dice__object_info;
/* Returns 0, DICE_ENOENT, or serialize's error. */
int dice__db_object_info(dice_db_t *db, const char *key, size_t klen,
                         dice__object_info *out);

/* ---- the member table (lib/types/strset.c) --------------------------------

 * Big collections keep their members in one of these: a set of byte
 * strings (DICE__MT_SET: set members), or a map from byte strings to byte
 * strings (DICE__MT_BYTES: hash fields) or to doubles (DICE__MT_DOUBLE:
 * sorted-set scores). Members are binary safe. A member's bytes (and a
 * BYTES value's) stay where they are until the member is deleted or, for
 * a BYTES value, set again with a different length. Not thread-safe; free
 * (dice__mt_free) may run on any thread once no other thread uses it. */
enum { DICE__MT_SET = 0, DICE__MT_BYTES = 1, DICE__MT_DOUBLE = 2 };

typedef struct dice__mtab {
    dict d;
    dice_pool_t pool; /* the members' slots: this collection's own */
    size_t big;       /* members over 32 bytes (malloc'd, not pooled) */
    int mode;         /* DICE__MT_* */
} dice__mtab;

/* One member as a visitor or a lookup sees it; pointers into the table,
 * valid as said above. val/vlen for BYTES, score for DOUBLE. */
typedef struct dice__mt_item {
    const char *key;
    size_t klen;
    const char *val;
    size_t vlen;
    double score;
} dice__mt_item;

typedef void (*dice__mt_visit_fn)(void *ctx, const dice__mt_item *it);

void dice__mt_init(dice__mtab *t, int mode);
/* Free every member and the table (t can be initialised again). */
void dice__mt_free(dice__mtab *t);
size_t dice__mt_len(const dice__mtab *t);
/* Size the table up front for the count members a payload announces (a
 * loader), but for no more than its remaining bytes can hold at per bytes
 * a member at least, so a hostile count reserves no more than the payload
 * is big. 0 or DICE_ENOMEM (the table is unchanged and still usable). */
int dice__mt_reserve(dice__mtab *t, uint64_t count, size_t bytes, size_t per);
/* Add key with value v (vn bytes for BYTES; a double * for DOUBLE, vn
 * ignored; nothing for a SET). An existing key keeps its value unless
 * replace. *entry (may be NULL) gets the member's entry. Returns 1 added,
 * 0 already there, DICE_ENOMEM (nothing changed). */
int dice__mt_add(dice__mtab *t, const char *k, size_t kn, const void *v,
                 size_t vn, int replace, void **entry);
/* Delete: 1 deleted, 0 missing. */
int dice__mt_del(dice__mtab *t, const char *k, size_t kn);
/* The entry of key or NULL; decode it with dice__mt_entry. */
void *dice__mt_find(dice__mtab *t, const char *k, size_t kn);
void dice__mt_entry(const dice__mtab *t, const void *entry, dice__mt_item *it);
/* Lookup into *it: 1 found, 0 missing. */
int dice__mt_get(dice__mtab *t, const char *k, size_t kn, dice__mt_item *it);
/* SSCAN/HSCAN/ZSCAN step: visit whole hash buckets from cursor (0 starts)
 * until at least count members were visited or the end; returns the next
 * cursor, 0 at the end. Every member present for the whole scan is visited
 * at least once, across rehashing. fn must not modify the table. */
uint64_t dice__mt_scan(dice__mtab *t, uint64_t cursor, size_t count,
                       dice__mt_visit_fn fn, void *ctx);
/* Every member, in table order; fn must not modify the table. */
void dice__mt_foreach(dice__mtab *t, dice__mt_visit_fn fn, void *ctx);
/* A uniformly random member (SPOP, SRANDMEMBER, HRANDFIELD): 1, or 0 when
 * empty. */
int dice__mt_random(dice__mtab *t, dice__mt_item *it);
/* Finish rehashing for about budget_us: 1 if work remains. */
int dice__mt_rehash(dice__mtab *t, long budget_us);
/* How much work dice__mt_free is, in lazyfree units (see dice_type_methods
 * free_effort): a free per pool page and per member over 32 bytes, and,
 * when there are such members (or no pool: sanitizer builds), the walk
 * that finds them, one per member as Redis counts a dict. */
size_t dice__mt_free_effort(const dice__mtab *t);
/* Bytes the table uses (MEMORY USAGE), members over 32 bytes estimated
 * from samples random ones (0: all). */
size_t dice__mt_mem(dice__mtab *t, size_t samples);

/* The set and map spellings the types use. */
static inline int dice__strset_add(dice__mtab *s, const char *m, size_t n) {
    return dice__mt_add(s, m, n, NULL, 0, 0, NULL);
}
static inline int dice__strset_del(dice__mtab *s, const char *m, size_t n) {
    return dice__mt_del(s, m, n);
}
static inline int dice__strset_has(dice__mtab *s, const char *m, size_t n) {
    return dice__mt_find(s, m, n) != NULL;
}
static inline int dice__strmap_set(dice__mtab *s, const char *k, size_t kn,
                                   const char *v, size_t vn) {
    return dice__mt_add(s, k, kn, v, vn, 1, NULL);
}
static inline int dice__strmap_set_double(dice__mtab *s, const char *k,
                                          size_t kn, double v) {
    return dice__mt_add(s, k, kn, &v, sizeof(v), 1, NULL);
}

#endif
