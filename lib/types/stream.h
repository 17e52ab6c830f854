/* The stream type (Redis's t_stream.c data half): an append-only log of
 * entries (an ID and field/value pairs) with consumer groups. Pure data
 * structure and its C API: no keys, no replies.
 *
 * Storage: entries live in blocks ("nodes") that are byte for byte Redis
 * 7.0's stream listpacks, so RDB_TYPE_STREAM_LISTPACKS_2 writes them as
 * they are. Each node is a listpack:
 *
 *   master entry:  count deleted num-fields field_1 .. field_N 0
 *   each entry:    flags ms-diff seq-diff
 *                  [num-fields field_1 value_1 ..]  (no SAMEFIELDS flag)
 *                  value_1 .. value_N               (SAMEFIELDS: master's)
 *                  lp-count
 *
 * where ms-diff/seq-diff are relative to the node's master ID (the ID of
 * the first entry added to it), count/deleted are the live and deleted
 * entries, and lp-count the listpack elements of the entry before it (so
 * an entry is found from its right end). Deleting marks the entry's flags
 * DELETED and updates count/deleted; a node whose count drops to 0 goes.
 *
 * Where Redis keys the nodes by master ID in a radix tree, the nodes here
 * are a sorted vector of (master ID, listpack) with a head offset:
 * appends and trims at the head are O(1), a lookup is a binary search,
 * and a node costs 24 bytes instead of a radix node's.
 *
 * Consumer groups are a sorted vector (by name, Redis's rax order); a
 * group's pending entries (PEL) and each consumer's are ID-sorted vectors
 * of pointers to shared NACKs (one NACK per pending entry, owned by the
 * group). */
#ifndef DICE_TYPES_STREAM_H
#define DICE_TYPES_STREAM_H

#include "dice/db.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RDB object type byte of Redis 7.0's streams. */
#define DICE__RDB_TYPE_STREAM_LISTPACKS_2 19

/* Entry flags inside a node. */
enum {
    DICE__SFLAG_DELETED = 1,
    DICE__SFLAG_SAMEFIELDS = 2,
};

typedef struct dice__sid {
    uint64_t ms, seq;
} dice__sid;

static inline int dice__sid_cmp(const dice__sid *a, const dice__sid *b) {
    if (a->ms != b->ms)
        return a->ms < b->ms ? -1 : 1;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    return 0;
}

/* "<ms>-<seq>" into buf (at least DICE__SID_STRMAX bytes); returns the
 * length (no NUL). */
#define DICE__SID_STRMAX 42
size_t dice__sid_fmt(char *buf, const dice__sid *id);

typedef struct dice__snode {
    dice__sid master;
    unsigned char *lp;
} dice__snode;

struct dice__sconsumer;

/* A pending entry: delivered to consumer, not yet acknowledged. */
typedef struct dice__snack {
    dice__sid id;
    int64_t delivery_time; /* unix ms of the last delivery */
    uint64_t delivery_count;
    struct dice__sconsumer *consumer;
} dice__snack;

/* An ID-sorted vector of NACK pointers. */
typedef struct dice__spel {
    dice__snack **v;
    size_t n, cap;
} dice__spel;

typedef struct dice__sconsumer {
    char *name;
    size_t nlen;
    int64_t seen_time; /* unix ms of the last interaction */
    dice__spel pel;    /* NACKs owned by the group */
} dice__sconsumer;

typedef struct dice__sgroup {
    char *name;
    size_t nlen;
    dice__sid last_id;           /* last delivered */
    int64_t entries_read;        /* -1: unknown (SCG_INVALID_ENTRIES_READ) */
    dice__spel pel;              /* owns the NACKs */
    dice__sconsumer **consumers; /* sorted by name */
    size_t nconsumers, ccap;
} dice__sgroup;

typedef struct dice__stream {
    dice__snode *nodes; /* live nodes are nodes[head .. head+nnodes) */
    size_t head, nnodes, cap;
    uint64_t length;
    dice__sid last_id, first_id, max_deleted;
    uint64_t entries_added;
    dice__sgroup **groups; /* sorted by name */
    size_t ngroups, gcap;
} dice__stream;

/* Node limits (stream-node-max-bytes, stream-node-max-entries; 0 for no
 * limit), given when appending. */
typedef struct dice__stream_limits {
    long long max_bytes, max_entries;
} dice__stream_limits;

/* ---- the stream ---------------------------------------------------------- */

dice__stream *dice__stream_new(void);
void dice__stream_free(dice__stream *s);
dice__stream *dice__stream_dup(const dice__stream *s);
size_t dice__stream_mem(const dice__stream *s);

/* Append an entry with the given ID (already checked > last_id by the
 * caller) and nfields field/value pairs (fv: 2*nfields strings). Returns
 * 0 or DICE_ENOMEM / DICE_ERANGE (a node would pass the listpack's size
 * limit). */
int dice__stream_append(dice__stream *s, const dice__sid *id,
                        const char *const *fv, const size_t *fvlen,
                        size_t nfields, const dice__stream_limits *lim);

/* Mark the entry id deleted. Returns 1 if it existed, else 0. Updates
 * length, first_id and max_deleted (as XDEL does). */
int dice__stream_delete(dice__stream *s, const dice__sid *id);

enum { DICE__TRIM_NONE = 0, DICE__TRIM_MAXLEN = 1, DICE__TRIM_MINID = 2 };
typedef struct dice__stream_trim {
    int strategy;
    bool approx;
    long long maxlen;
    dice__sid minid;
    long long limit; /* 0: none */
} dice__stream_trim_args;
/* Redis's streamTrim: returns the entries removed. */
int64_t dice__stream_trim(dice__stream *s, const dice__stream_trim_args *t);

/* The first or last live ID (skip_deleted) or the first/last entry of the
 * edge node whatever its flags (!skip_deleted). Returns 0 when the stream
 * has none (*id set to 0-0 for first, 0-0 too for last on an empty
 * stream). */
int dice__stream_edge_id(const dice__stream *s, bool first, bool skip_deleted,
                         dice__sid *id);

/* ---- iteration ------------------------------------------------------------
 */

/* Walk the live entries with start <= id <= end, forwards or in reverse.
 * The stream must not change while an iterator is live, except through
 * dice__stream_iter_delete. */
typedef struct dice__stream_iter {
    dice__stream *s;
    dice__sid start, end;
    bool rev;
    size_t node; /* index into nodes (absolute), SIZE_MAX when done */
    unsigned char *lp;
    unsigned char *p;        /* next entry's flags (fwd) / lp-count (rev) */
    unsigned char *first_ep; /* the node's first entry */
    unsigned char *mfields;  /* master's first field */
    int64_t mnfields;
    /* the current entry */
    unsigned char *entry; /* its flags */
    int flags;
    int64_t nfields;
    unsigned char *fp, *vp; /* next field, next value */
    int64_t left;
} dice__stream_iter;

void dice__stream_iter_start(dice__stream_iter *it, dice__stream *s,
                             const dice__sid *start, const dice__sid *end,
                             bool rev);
/* The next live entry: 1 with *id and *nfields set, or 0 at the end. */
int dice__stream_iter_next(dice__stream_iter *it, dice__sid *id,
                           int64_t *nfields);
/* The current entry's next field and value, as text in fbuf/vbuf when
 * int-encoded (DICE__LP_INTBUF bytes each). */
void dice__stream_iter_field(dice__stream_iter *it, const unsigned char **f,
                             uint32_t *flen, unsigned char *fbuf,
                             const unsigned char **v, uint32_t *vlen,
                             unsigned char *vbuf);
/* Delete the current entry (XDEL's way, through the iterator); the
 * iterator may then only be stopped. */
void dice__stream_iter_delete(dice__stream_iter *it);

/* ---- consumer groups ---------------------------------------------------- */

dice__sgroup *dice__stream_group(const dice__stream *s, const char *name,
                                 size_t nlen);
/* A new group (NULL when out of memory or it exists: *exists set). */
dice__sgroup *dice__stream_group_add(dice__stream *s, const char *name,
                                     size_t nlen, const dice__sid *last_id,
                                     int64_t entries_read, bool *exists);
/* Remove and free a group. Returns 1 if it existed. */
int dice__stream_group_del(dice__stream *s, const char *name, size_t nlen);

dice__sconsumer *dice__group_consumer(const dice__sgroup *g, const char *name,
                                      size_t nlen);
/* Find or create a consumer (*created set when new); NULL out of memory. */
dice__sconsumer *dice__group_consumer_add(dice__sgroup *g, const char *name,
                                          size_t nlen, int64_t now,
                                          bool *created);
/* Delete a consumer and its pending entries (from the group's PEL too).
 * Returns the number of pending entries it had, or -1 if not found. */
long long dice__group_consumer_del(dice__sgroup *g, const char *name,
                                   size_t nlen);

/* PEL vectors. find returns the index of id or the index where it would
 * go (*found set). */
size_t dice__spel_find(const dice__spel *p, const dice__sid *id, bool *found);
int dice__spel_insert_at(dice__spel *p, size_t at, dice__snack *n);
void dice__spel_remove_at(dice__spel *p, size_t at);
/* Insert / remove by ID in a consumer's PEL (kept sorted). */
int dice__spel_add(dice__spel *p, dice__snack *n);
void dice__spel_del(dice__spel *p, const dice__sid *id);

/* Whether id is a live entry of the stream. */
bool dice__stream_has(dice__stream *s, const dice__sid *id);

/* Redis 7.0's consumer-group lag helpers: whether a tombstone lies at or
 * after id (streamRangeHasTombstones), the entries_read estimate for an
 * id (streamEstimateDistanceFromFirstEverEntry) and the lag as XINFO
 * GROUPS reports it (-1: null). */
bool dice__stream_tombstones_after(const dice__stream *s, const dice__sid *id);
long long dice__stream_estimate_read(const dice__stream *s,
                                     const dice__sid *id);
long long dice__group_lag(const dice__stream *s, const dice__sgroup *g);

/* ---- type methods ---------------------------------------------------------
 */

extern const dice_type_methods dice__stream_methods;

#endif
