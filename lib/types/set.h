/* The set type (lib/types/set.c): Redis 7.0's set with its two encodings as
 * OBJECT ENCODING names them, intset and hashtable, and behind "hashtable"
 * two internal forms:
 *
 *   DICE__SET_INTSET  Redis's intset (lib/types/intset.h), while every
 *                     member is a canonical integer and there are at most
 *                     set-max-intset-entries of them;
 *   DICE__SET_INTS    "hashtable" for a set whose members are all integers:
 *                     sorted chunks of int64 (8 bytes a member) under a
 *                     directory of first values, O(log n) lookups;
 *   DICE__SET_STRS    "hashtable" for any other set: the member table
 *                     (dice__mtab, lib/types/strset.c).
 *
 * A set converts intset -> INTS when it grows past the limit, intset or
 * INTS -> STRS when a member that is not an integer arrives (as Redis's
 * intset -> hashtable), never back.
 *
 * Members are binary safe. Functions that give out members give their
 * text: an integer is formatted into the caller's dice__set_member, a
 * string member points into the set and stays valid until that member is
 * deleted. Not thread-safe; dice__set_free touches only the set's own
 * memory (a lazy-free thread may run it). */
#ifndef DICE_TYPES_SET_H
#define DICE_TYPES_SET_H

#include "core/core_internal.h"
#include "types/intset.h"
#include "types/types_internal.h"

#include <stddef.h>
#include <stdint.h>

enum { DICE__SET_INTSET = 0, DICE__SET_INTS = 1, DICE__SET_STRS = 2 };

/* Members per chunk of the INTS form at most (one 4 KB block). */
#define DICE__SET_CHUNK_MAX 512

typedef struct dice__set_chunk {
    uint32_t len, cap;
    int64_t v[]; /* ascending */
} dice__set_chunk;

typedef struct dice__set_ints {
    dice__set_chunk **c; /* chunks, in ascending order of values */
    int64_t *first;      /* first[i] == c[i]->v[0]: the binary search's */
    size_t nc, cap;      /* chunks, directory slots */
    size_t n;            /* members */
} dice__set_ints;

typedef struct dice__set {
    int enc; /* DICE__SET_* */
    uint64_t rng;
    union {
        dice__intset *is;
        dice__set_ints iv;
        dice__mtab mt;
    } u;
} dice__set;

/* A member as text: p/n, pointing into buf for an integer. */
typedef struct dice__set_member {
    const char *p;
    size_t n;
    char buf[DICE_FMT_LL_MAX];
} dice__set_member;

typedef void (*dice__set_visit_fn)(void *ctx, const char *m, size_t n);

/* A new empty set: an intset if intset, else a STRS set (Redis's
 * setTypeCreate picks by the first member: see dice__set_new_for). NULL
 * when out of memory. The caller owns it (dice__set_free). */
dice__set *dice__set_new(int intset);
/* The set Redis creates to hold first_member. */
dice__set *dice__set_new_for(const char *m, size_t n);
void dice__set_free(dice__set *s);
/* A deep copy, or NULL when out of memory. */
dice__set *dice__set_dup(const dice__set *s);
size_t dice__set_len(const dice__set *s);
/* "intset" or "hashtable". */
const char *dice__set_encoding(const dice__set *s);

/* Add m; max_intset is set-max-intset-entries. Returns 1 added, 0 already
 * a member, DICE_ENOMEM (the set is unchanged). */
int dice__set_add(dice__set *s, const char *m, size_t n, long long max_intset);
/* Remove m: 1 removed, 0 not a member. Never fails. */
int dice__set_del(dice__set *s, const char *m, size_t n);
/* 1 if m is a member, else 0. */
int dice__set_has(const dice__set *s, const char *m, size_t n);
/* A uniformly random member into *out: 1, or 0 when the set is empty. */
int dice__set_random(dice__set *s, dice__set_member *out);
/* A random 64-bit number from the set's own generator. */
uint64_t dice__set_rand(dice__set *s);
/* Every member (intset and INTS: ascending); fn must not change s. */
void dice__set_foreach(const dice__set *s, dice__set_visit_fn fn, void *ctx);
/* SSCAN step from cursor (0 starts): visits at least count members (an
 * intset all of them) unless the end comes first; returns the next cursor,
 * 0 at the end. Members present for the whole scan are visited at least
 * once, also when the set converts from INTS to a table mid-scan (INTS
 * cursors are never a table's: the table restarts its walk). */
uint64_t dice__set_scan(dice__set *s, uint64_t cursor, size_t count,
                        dice__set_visit_fn fn, void *ctx);
/* Bytes the set uses (MEMORY USAGE). */
size_t dice__set_mem(const dice__set *s);

/* The methods of DICE_TYPE_SET (registered by the set command family). */
extern const dice_type_methods dice__set_methods;

/* RDB object types of a set (Redis 7.0). */
#define DICE__RDB_TYPE_SET 2
#define DICE__RDB_TYPE_SET_INTSET 11

#endif
