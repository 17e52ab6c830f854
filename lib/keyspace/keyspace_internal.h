/* Keyspace internals: the open-addressing hash table (lib/keyspace/dict.c) that
 * lib/keyspace/db.c builds the databases on.
 *
 * The table stores 8-byte slots. A slot is 0 (empty), 1 (tombstone, only in
 * the old table while rehashing) or an entry pointer in the low 48 bits with
 * the low 16 bits of the key's hash in the high 16 bits (the "tag"), so most
 * probes that hit a different key are rejected without touching the entry.
 * Linux hands user space addresses below 2^47, so the high 16 bits of a
 * malloc'd pointer are always zero.
 *
 * The table does not own entries: it only needs a function that reads an
 * entry's key. The home bucket of a key is its hash scaled to the table's
 * size (the high half of hash * size: the TOP k bits for 2^k slots), so a
 * bucket covers one contiguous range of hash values whatever the size;
 * that makes the SCAN cursor a place in hash order (a 48-bit prefix) that
 * stays meaningful across growth, shrinking and rehashing. Tables double
 * unless the owner sets `grow` (the member tables grow by 25%).
 *
 * Incremental rehash: while t[1] is live, inserts go to t[1], lookups and
 * deletes look in both, and every operation first migrates a bounded number
 * of old slots (DICT_STEP_ENTRIES entries, at most 10x that many empty
 * slots visited). Deleting from the old table leaves a tombstone, and
 * migrated slots become tombstones, so the probe chains of keys not yet
 * migrated stay intact without shifting anything. Not thread-safe. */
#ifndef DICE_DB_INTERNAL_H
#define DICE_DB_INTERNAL_H

#include "dice/db.h"

/* ---- keyspace (lib/keyspace/db.c) ---------------------------------------- */

/* Count of changes made by writes so far (expiry deletions excluded), as
 * Redis's server.dirty: unchanged across a command means it wrote
 * nothing. */
uint64_t dice__keyspace_dirty(const dice_keyspace_t *ks);
/* While on (CLIENT PAUSE), a lookup of an expired key reports it missing
 * but keeps it (Redis's expireIfNeeded under a pause): the dataset does
 * not change until the pause ends. A write that adds the key again
 * replaces the kept entry, as an expiry. */
void dice__keyspace_pause_expiry(dice_keyspace_t *ks, int on);
/* Called for each key deleted because its TTL passed (lazily or by the
 * active cycle), before the host's hook. One per keyspace; fn NULL
 * removes it. */
typedef void (*dice__ks_expired_fn)(void *ctx, int db, const char *key,
                                    size_t klen);
void dice__keyspace_on_expired(dice_keyspace_t *ks, dice__ks_expired_fn fn,
                               void *ctx);
/* Called after every mutation (the hook's arguments), before the host's
 * hook, while set; fn NULL removes it. The server sets it only while some
 * client is blocked on a key (lib/server/blocking.c), to learn which keys
 * became ready. fn must not modify the keyspace. */
typedef void (*dice__ks_write_fn)(void *ctx, int db, const char *key,
                                  size_t klen, int event);
void dice__keyspace_on_write(dice_keyspace_t *ks, dice__ks_write_fn fn,
                             void *ctx);

/* Why a stored object is being dropped, for lazy freeing. */
enum {
    DICE__FREE_DEL = 0,    /* deleted or replaced by a command (DEL,
                            * UNLINK, overwrite, RENAME's destination) */
    DICE__FREE_EXPIRE = 1, /* its TTL passed */
    DICE__FREE_FLUSH = 2,  /* FLUSHDB / FLUSHALL */
    DICE__FREE_EVICT = 3   /* evicted for maxmemory */
};
#define DICE__FREE_BIT(why) (1u << (why))
/* Receives an object the keyspace drops for a reason whose bit is in the
 * lazy mask, with the type's free method (never NULL) and ctx; it must see
 * that free_fn(type_ctx, obj) runs, now or later. effort is the type's
 * free_effort (1 when the type has none). */
typedef void (*dice__ks_free_fn)(void *ctx, void *obj, dice_obj_free_fn free_fn,
                                 void *type_ctx, size_t effort);
void dice__keyspace_set_free_hook(dice_keyspace_t *ks, dice__ks_free_fn fn,
                                  void *ctx);
/* Set the reasons (DICE__FREE_BIT(...)) whose objects go to the free hook;
 * returns the previous mask, for a command that changes it around one call
 * (UNLINK, FLUSHALL ASYNC) and restores it after. */
unsigned dice__keyspace_set_lazy(dice_keyspace_t *ks, unsigned mask);
unsigned dice__keyspace_lazy(const dice_keyspace_t *ks);
/* The server's WATCH observer: called for every change of a key, with the
 * events of dice_ks_hook_fn (expiry deletions included), after the change
 * and before the host's hook; and for DICE_KS_FLUSHDB (key NULL) just
 * BEFORE a non-empty db is emptied, and DICE_KS_SWAPDB (key NULL, other
 * the db it is swapped with, else -1) just BEFORE two dbs are swapped, so
 * it can still see which keys existed. One per keyspace; fn NULL removes
 * it. The server installs it only while some client watches a key: the
 * write path then pays one test of a NULL pointer. */
typedef void (*dice__ks_touch_fn)(void *ctx, int db, const char *key,
                                  size_t klen, int ev, int other);
void dice__keyspace_on_touch(dice_keyspace_t *ks, dice__ks_touch_fn fn,
                             void *ctx);
/* Client-side caching's observer: called for every change of a key
 * (expiry deletions included; not FLUSHDB or SWAPDB, whose key is NULL),
 * after the change and before the host's hook, as Redis's
 * signalModifiedKey reaches trackingInvalidateKey. One per keyspace; fn
 * NULL removes it. fn must not modify the keyspace. */
void dice__keyspace_on_track(dice_keyspace_t *ks, dice__ks_write_fn fn,
                             void *ctx);
/* Called for each key added to a db (a store of a missing key, the
 * destination of RENAME, COPY and MOVE: Redis's dbAdd, whose "new"
 * keyspace event it serves), after the key is linked and before the hook
 * of the change that added it. One per keyspace; fn NULL removes it. */
void dice__keyspace_on_new(dice_keyspace_t *ks, dice__ks_expired_fn fn,
                           void *ctx);

#include <stddef.h>
#include <stdint.h>

/* The encoding thresholds of the collection types (Redis 7.0's settings of
 * the same names), held by the keyspace so the types layer reads them
 * without knowing the server: the server's settings table pushes them here
 * whenever one changes (dice__keyspace_set_limits). A value is compared
 * when a collection grows; changing one converts nothing already stored,
 * as in Redis. */
typedef struct dice__enc_limits {
    int list_max_listpack_size; /* > 0 entries, < 0 -1..-5 sizes */
    int list_compress_depth;    /* quicklist nodes kept plain */
    long long hash_max_listpack_entries;
    long long hash_max_listpack_value; /* bytes of a field or value */
    long long set_max_intset_entries;
    long long zset_max_listpack_entries;
    long long zset_max_listpack_value;
    long long hll_sparse_max_bytes;    /* a sparse HyperLogLog's largest size */
    long long stream_node_max_bytes;   /* 0: no limit */
    long long stream_node_max_entries; /* 0: no limit */
} dice__enc_limits;

/* Redis 7.0.15's defaults (note hash-max-listpack-entries: 512 in the
 * server's own table, 128 only in the sample redis.conf). */
#define DICE__ENC_LIMITS_DEFAULT                                               \
    { -2, 0, 512, 64, 512, 128, 64, 3000, 4096, 100 }

void dice__keyspace_set_limits(dice_keyspace_t *ks, const dice__enc_limits *l);
const dice__enc_limits *dice__keyspace_limits(const dice_keyspace_t *ks);

/* Replace the object pointer stored at key (an OBJ value, or an inline
 * one, found live by the command that is changing it) by obj, in place:
 * for a type whose object is a block that moves when it grows (a small
 * hash is its listpack). An inline obj (DICE__OBJ_INLINE) changes nothing.
 * No hook fires, nothing is freed. Returns 0, DICE_ENOENT or DICE_ENOMEM
 * (replacing inline bytes by a pointer rebuilds the entry). */
int dice__db_replace_object(dice_db_t *db, const char *key, size_t klen,
                            void *obj);

/* Objects inline in their key's entry. A type whose small objects are flat
 * bytes (a small hash is its listpack) may keep them inside the entry, as
 * an EMB value section under the type's header, instead of in a block of
 * their own: that saves the block's allocator overhead and the entry's
 * pointer. dice_db_get_object and the type methods then get a borrowed
 * pointer to those bytes tagged with DICE__OBJ_INLINE (bit 63, never set in
 * a user-space address), valid until the key next changes. The type may
 * change those bytes in place as long as their length stays (the write's
 * command then signals the change as for any object); any other change it
 * makes to a copy and stores back (dice__db_store_inline_ref). It never
 * frees them (the keyspace frees them with the entry: its free method is
 * not called). */
#define DICE__OBJ_INLINE ((uintptr_t)1 << 63)
/* Largest object kept inline (each write copies it out and back). */
#define DICE__INLINE_MAX 512

/* A key looked up by a write that will store its object back (or, for a
 * missing key, add it) without a second lookup: where the key is, or its
 * hash to insert it with. Valid only until the keyspace next changes: the
 * command looks up, changes its own object (nothing else in the keyspace)
 * and stores back through the ref. */
typedef struct dice__db_ref {
    const char *key; /* the caller's bytes, as looked up */
    size_t klen;
    uint64_t hash;
    uint64_t *slot; /* the key's table slot, NULL when missing */
    uint8_t *e;     /* its entry, NULL when missing */
} dice__db_ref;

/* dice_db_get_object (touching the key, counting a hit or miss) keeping
 * the key's place in *ref: 0 with *obj, DICE_ENOENT (ref says where to add
 * it) or DICE_EWRONGTYPE. */
int dice__db_lookup_ref(dice_db_t *db, const char *key, size_t klen, int type,
                        void **obj, dice__db_ref *ref);

/* Store obj (a pointer, owned by the keyspace from then on) for ref's key:
 * a missing key is added with it (DICE_KS_OBJ_SET fires, as
 * dice_db_set_object), an existing one gets it in place of its object
 * (dice__db_replace_object: no hook fires, nothing is freed). Returns 0 or
 * DICE_ENOMEM (nothing changed, obj still the caller's). ref is spent. */
int dice__db_store_ref(dice_db_t *db, dice__db_ref *ref, int type, void *obj);

/* Store n bytes (a copy) inline for ref's key when that takes less memory
 * than a block of their own (and n <= DICE__INLINE_MAX): an object of type
 * found live by the command changing it, or a missing key, then added
 * (DICE_KS_OBJ_SET fires). Returns 1 with *obj the new tagged pointer, 0
 * when not worth it (nothing changed), DICE_EINVAL (a string) or
 * DICE_ENOMEM (nothing changed). An object the entry pointed to before is
 * not freed: it is the caller's. On 1, ref is spent. */
int dice__db_store_inline_ref(dice_db_t *db, dice__db_ref *ref, int type,
                              const void *bytes, size_t n, void **obj);

/* Entries moved per table operation while rehashing. */
#define DICT_STEP_ENTRIES 4
#define DICT_MIN_SIZE 16

typedef void (*dict_getkey_fn)(const void *entry, const char **key,
                               size_t *klen);

typedef struct dict_table {
    uint64_t *slots;
    size_t size; /* 0, or at least DICT_MIN_SIZE */
    size_t used; /* live entries */
} dict_table;

typedef struct dict {
    dict_table t[2];
    size_t rehashidx; /* next old slot to migrate; valid if rehashing */
    /* Old slots [clean_from, rehashidx) may hold tombstones of the cluster
     * being migrated; everything below clean_from is empty. */
    size_t clean_from;
    int rehashing;
    /* While non-zero, operations do no rehash work (explicit
     * dice__dict_rehash_steps/us calls still do). */
    unsigned pause_rehash;
    /* Entries migrated per operation while rehashing (DICT_STEP_ENTRIES
     * unless the owner sets more: the total work is the same, a bigger
     * step finishes sooner and so frees the old table sooner). */
    unsigned step;
    /* 0: a full table doubles (the keyspace's tables); else it grows by
     * this many percent, and a shrink picks the size that fits (the member
     * tables of big collections: a smaller step keeps the table fuller on
     * average, for more rehash work per insert). */
    unsigned grow;
    uint64_t seed;
    uint64_t rng;
    dict_getkey_fn getkey;
    /* Counters for tests: entries migrated by the last public operation,
     * the maximum over all operations, and the total. */
    size_t moved_last_op;
    size_t moved_max_op;
    uint64_t moved_total;
} dict;

void dice__dict_init(dict *d, dict_getkey_fn getkey);
/* Frees the tables; calls free_fn(ctx, entry) on each entry if non-NULL. */
void dice__dict_clear(dict *d, void (*free_fn)(void *ctx, void *entry),
                      void *ctx);
size_t dice__dict_size(const dict *d);
size_t dice__dict_slots(const dict *d);
uint64_t dice__dict_hash(const dict *d, const char *key, size_t klen);

/* Slot holding the entry with this key, or NULL. The slot pointer is valid
 * until the next operation on the table. */
uint64_t *dice__dict_find_slot(dict *d, const char *key, size_t klen,
                               uint64_t h);
void *dice__dict_find(dict *d, const char *key, size_t klen);
static inline void *dice__dict_slot_entry(uint64_t s) {
    return (void *)(uintptr_t)(s & 0xffffffffffffull);
}
/* Replace the entry in a slot returned by dice__dict_find_slot (same key). */
static inline void dice__dict_slot_set(uint64_t *slot, void *entry) {
    *slot = (*slot & ~0xffffffffffffull) | (uint64_t)(uintptr_t)entry;
}
/* Size the table to hold n entries with no growth (0, or -1 when out of
 * memory: the table is unchanged and still usable). */
int dice__dict_reserve(dict *d, size_t n);
/* Insert an entry whose key is not in the table. h = dice__dict_hash(key).
 * Returns 0 or -1 when a table cannot be allocated. */
int dice__dict_insert(dict *d, void *entry, uint64_t h);
/* Remove the entry with this key and return it (NULL if absent). */
void *dice__dict_delete(dict *d, const char *key, size_t klen, uint64_t h);

/* Migrate up to n entries. Returns 1 if rehashing continues. */
int dice__dict_rehash_steps(dict *d, size_t n);
/* Rehash for about budget_us microseconds. Returns 1 if work remains. */
int dice__dict_rehash_us(dict *d, long budget_us);

/* One SCAN step: calls fn for every entry whose hash lies in the range the
 * cursor designates, returns the next cursor (0 when done). Cursors are
 * 48-bit hash prefixes: always below DICE__DICT_CURSOR_END (a cursor above
 * is read modulo 2^48). fn must not modify the table. */
#define DICE__DICT_CURSOR_BITS 48
#define DICE__DICT_CURSOR_END (1ull << DICE__DICT_CURSOR_BITS)
uint64_t dice__dict_scan(dict *d, uint64_t cursor,
                         void (*fn)(void *ctx, void *entry), void *ctx);
/* A uniformly chosen entry or NULL if empty. */
void *dice__dict_random(dict *d);
/* Up to n (at most DICE__DICT_SAMPLE_MAX) uniformly chosen entries into
 * out, possibly repeated, their slots and entries prefetched together;
 * returns how many (0 only when empty). */
#define DICE__DICT_SAMPLE_MAX 64
size_t dice__dict_sample(dict *d, void **out, size_t n);
/* Visit every entry; stops when fn returns non-zero. fn must not modify
 * the table. */
void dice__dict_foreach(dict *d, int (*fn)(void *ctx, void *entry), void *ctx);

/* ---- entry pool (lib/keyspace/entry_pool.c)
 * ------------------------------------ */

#include <string.h>

/* Sanitizer builds allocate every entry (keys and collection members) with
 * malloc, so ASan checks each one's bounds; the pool would hide them inside
 * its pages. */
#if defined(__SANITIZE_ADDRESS__)
#define DICE__POOL_ON 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DICE__POOL_ON 0
#endif
#endif
#ifndef DICE__POOL_ON
#define DICE__POOL_ON 1
#endif

/* Size classes: 0 means "not pooled" (plain malloc), 1..3 are 16, 24 and
 * 32-byte slots. */
#define DICE_POOL_CLASSES 4
/* Slot size of a class (1..3): 16, 24, 32. */
static inline size_t dice__pool_slot_size(unsigned cls) {
    return 8 + 8 * (size_t)cls;
}

typedef struct dice_pool {
    void *free[DICE_POOL_CLASSES]; /* per-class free lists */
    char *cur;                     /* bump pointer in the newest page */
    size_t left;                   /* bytes left after cur */
    char **pages;
    size_t npages, cap;
    size_t live;  /* slots handed out and not freed */
    size_t bytes; /* bytes of every page (for MEMORY USAGE) */
} dice_pool_t;

/* Pool class for an allocation of n bytes, or 0 if it is too big. */
static inline unsigned dice__pool_class(size_t n) {
    return n <= 16 ? 1u : n <= 24 ? 2u : n <= 32 ? 3u : 0u;
}
/* A slot of class cls (1..3), or NULL when out of memory. Pages grow from
 * 1 KB, doubling up to 64 KB, so a pool that holds a few hundred slots (a
 * collection just past its compact encoding) does not cost a 64 KB page. */
void *dice__pool_alloc(dice_pool_t *p, unsigned cls);
void dice__pool_free(dice_pool_t *p, void *slot, unsigned cls);
/* Free every page (all slots must be dead or abandoned). A collection's
 * free method calls this instead of freeing its members one by one. */
void dice__pool_release(dice_pool_t *p);

#endif
