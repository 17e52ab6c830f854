/* The sorted set type (lib/types/zset.c): members ordered by (score,
 * member bytes), with Redis 7.0's two encodings.
 *
 * - listpack: one Redis listpack of member, score, member, score...,
 *   sorted, while the set has at most zset-max-listpack-entries members of
 *   at most zset-max-listpack-value bytes (OBJECT ENCODING "listpack");
 * - big ("skiplist" in OBJECT ENCODING, Redis's name): the member table
 *   (DICE__MT_DOUBLE: member -> score) plus an order index, a B+ tree whose
 *   leaves hold 6-byte pointers to the member table's entries and whose
 *   inner nodes hold subtree counts, so rank, range and delete by rank are
 *   O(log n). A set converts to big past either threshold and never back
 *   (as in Redis), except that the STORE commands build their result in
 *   the encoding its size calls for (Redis's
 *   zsetConvertToListpackIfNeeded).
 *
 * Ranks are 0-based from the lowest (score, member). Member pointers
 * returned by a lookup or an iterator are valid until the set next
 * changes. Not thread-safe; dice__zs_free touches only the set's own memory
 * (a lazy-free thread may run it). */
#ifndef DICE_TYPES_ZSET_H
#define DICE_TYPES_ZSET_H

#include "keyspace/keyspace_internal.h"
#include "types/listpack.h"

#include <stddef.h>
#include <stdint.h>

typedef struct dice__zset dice__zset;

enum { DICE__ZS_LISTPACK = 0, DICE__ZS_BIG = 1 };

/* The type's methods (registered as DICE_TYPE_ZSET). */
extern const dice_type_methods dice__zset_methods;

/* A new empty set in the listpack (or, with big, the big) encoding; NULL
 * when out of memory. Free with dice__zs_free. */
dice__zset *dice__zs_new(int big);
void dice__zs_free(dice__zset *z);
size_t dice__zs_len(const dice__zset *z);
int dice__zs_encoding(const dice__zset *z);
/* Bytes used (MEMORY USAGE). */
size_t dice__zs_mem(const dice__zset *z);

/* ZADD's options (in) and outcome (out), as Redis's zsetAdd. */
enum {
    DICE__ZADD_NX = 1,
    DICE__ZADD_XX = 2,
    DICE__ZADD_GT = 4,
    DICE__ZADD_LT = 8,
    DICE__ZADD_INCR = 16
};
enum {
    DICE__ZADD_NOP = 1,     /* nothing done (NX, XX, GT, LT refused it) */
    DICE__ZADD_ADDED = 2,   /* a new member */
    DICE__ZADD_UPDATED = 4, /* an existing member's score changed */
    DICE__ZADD_NAN = 8      /* INCR produced NaN: nothing done */
};
/* Add or update member m (n bytes) with score (the increment with INCR);
 * converts to the big encoding first when l's thresholds say so. *out
 * gets DICE__ZADD_* outcome bits; *newscore (may be NULL) the member's
 * score after the call (unless NOP or NAN). Returns 0 or DICE_ENOMEM (the
 * set is unchanged). */
int dice__zs_add(dice__zset *z, const dice__enc_limits *l, double score,
                 const char *m, size_t n, int in, int *out, double *newscore);
/* Delete member m: 1 deleted, 0 missing. */
int dice__zs_del(dice__zset *z, const char *m, size_t n);
/* Score of m: 1 found, 0 missing. */
int dice__zs_score(dice__zset *z, const char *m, size_t n, double *score);
/* Rank of m (from the top with rev), score into *score (may be NULL): the
 * rank, or -1 when missing. O(log n) in the big encoding. */
long dice__zs_rank(dice__zset *z, const char *m, size_t n, int rev,
                   double *score);

/* Score and lex ranges as ZRANGEBYSCORE / ZRANGEBYLEX take them. */
typedef struct dice__zs_srange {
    double min, max;
    int minex, maxex; /* exclusive bounds */
} dice__zs_srange;
typedef struct dice__zs_lrange {
    const char *min, *max; /* bytes after the [ or ( */
    size_t minlen, maxlen;
    int minex, maxex;
    int mininf, maxinf; /* -1: "-", +1: "+", 0: a value */
} dice__zs_lrange;
/* The ranks [*lo, *hi) of the members in the range (*hi <= *lo: none).
 * O(log n) in the big encoding. */
void dice__zs_score_ranks(dice__zset *z, const dice__zs_srange *r, size_t *lo,
                          size_t *hi);
void dice__zs_lex_ranks(dice__zset *z, const dice__zs_lrange *r, size_t *lo,
                        size_t *hi);
/* Delete the members of ranks [start, end] (0 <= start <= end < len);
 * returns how many. */
size_t dice__zs_del_ranks(dice__zset *z, size_t start, size_t end);

/* Walks members from a rank, ascending or (rev) descending: rank counts
 * from the walk's first end. Nothing may change the set during a walk. */
typedef struct dice__zs_iter {
    dice__zset *z;
    int rev;
    size_t left;
    unsigned char *p; /* listpack: the next member entry */
    void *leaf;       /* big: leaf and index of the next member */
    int idx;
    unsigned char buf[DICE__LP_INTBUF];
} dice__zs_iter;
void dice__zs_iter_init(dice__zs_iter *it, dice__zset *z, size_t rank, int rev);
/* The next member: 1 with its bytes, length and score set, 0 at the end. */
int dice__zs_iter_next(dice__zs_iter *it, const char **m, size_t *n,
                       double *score);

/* Pop: take up to count members from the low end (max 0: ZPOPMIN) or the
 * high end (ZPOPMAX), calling fn on each (in pop order) just before it is
 * deleted; fn must not change the set. Returns how many were popped. The
 * blocking pops (BZPOPMIN, BZPOPMAX, BZMPOP) are written on this. */
typedef void (*dice__zs_pop_fn)(void *ctx, const char *m, size_t n,
                                double score);
size_t dice__zs_pop(dice__zset *z, int max, size_t count, dice__zs_pop_fn fn,
                    void *ctx);

/* A uniformly random member (ZRANDMEMBER): 1, or 0 when empty. */
int dice__zs_random(dice__zset *z, const char **m, size_t *n, double *score,
                    unsigned char *buf);
/* ZSCAN: visits members (all of a listpack at once, returning 0) from
 * cursor; returns the next cursor. */
typedef void (*dice__zs_visit_fn)(void *ctx, const char *m, size_t n,
                                  double score);
uint64_t dice__zs_scan(dice__zset *z, uint64_t cursor, size_t count,
                       dice__zs_visit_fn fn, void *ctx);

/* A copy of z in the encoding Redis's zsetConvertToListpackIfNeeded would
 * leave it in (listpack if len and maxlen fit l), for STORE results;
 * takes z (freed, or returned as is). NULL when out of memory (z freed). */
dice__zset *dice__zs_fit(dice__zset *z, const dice__enc_limits *l,
                         size_t maxlen);

/* The order index's own check (tests): 0 when consistent. */
int dice__zs_check(dice__zset *z);

#endif
