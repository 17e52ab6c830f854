/* libdice: the keyspace. N numbered databases of binary-safe keys holding
 * typed values, with expiry, the storage layer under the Redis-compatible
 * commands.
 *
 * Threading: a keyspace and its databases are not thread-safe; use them
 * from one thread (the loop's).
 *
 * Time: the keyspace never reads the clock for expiry decisions. The owner
 * sets the current unix time in ms with dice_keyspace_set_now(), normally
 * once per command batch; lookups treat a key whose expire time is <= now
 * as missing and delete it (lazy expiry).
 *
 * Pointers: a (pointer, length) returned for a key or a value points into
 * the keyspace and stays valid until that key is next modified or deleted
 * (or its db flushed/swapped); lookups of other keys do not invalidate it.
 * An int-encoded string is formatted into a caller buffer instead.
 *
 * Hook: every mutation, including lazy and active expiry deletions, calls
 * the hook registered with dice_keyspace_set_hook() after the change, with
 * the db index, the key and a dice_ks_event. It is meant for WATCH, AOF and
 * keyspace notifications. The hook must not modify the keyspace. */
#ifndef DICE_DB_H
#define DICE_DB_H

#include "dice/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dice_keyspace dice_keyspace_t;
typedef struct dice_db dice_db_t;

/* Value types, one list: the enum and the names TYPE prints (and SCAN
 * TYPE matches) come from it. Values are part of the ABI. Objects of types
 * other than STRING are opaque to the keyspace (see
 * dice_keyspace_register_type). */
#define DICE_TYPE_MAP(XX)                                                      \
    XX(STRING, 0, "string")                                                    \
    XX(LIST, 1, "list")                                                        \
    XX(HASH, 2, "hash")                                                        \
    XX(SET, 3, "set")                                                          \
    XX(ZSET, 4, "zset")                                                        \
    XX(STREAM, 5, "stream")

enum dice_type {
#define DICE_TYPE_ENUM(name, value, text) DICE_TYPE_##name = value,
    DICE_TYPE_MAP(DICE_TYPE_ENUM)
#undef DICE_TYPE_ENUM
        DICE_TYPE_EXT6 = 6, /* reserved for future types */
    DICE_TYPE_EXT7 = 7,
    DICE_TYPE_COUNT = 8
};

/* Events passed to the hook. */
enum dice_ks_event {
    DICE_KS_SET = 1,         /* string stored (SET, MSET, INCR, APPEND...) */
    DICE_KS_DEL = 2,         /* key deleted by a command */
    DICE_KS_EXPIRE = 3,      /* TTL set or changed */
    DICE_KS_PERSIST = 4,     /* TTL removed */
    DICE_KS_EXPIRED = 5,     /* deleted because its TTL passed */
    DICE_KS_RENAME_FROM = 6, /* old name of a renamed key */
    DICE_KS_RENAME_TO = 7,   /* new name (any previous value replaced) */
    DICE_KS_MOVE_FROM = 8,   /* key moved away from this db */
    DICE_KS_MOVE_TO = 9,     /* key moved into this db */
    DICE_KS_COPY_TO = 10,    /* key written by COPY */
    DICE_KS_MODIFY = 11,     /* object changed in place (see signal_modify) */
    DICE_KS_FLUSHDB = 12,    /* db emptied; key is NULL */
    DICE_KS_SWAPDB = 13,     /* db contents swapped; key is NULL */
    DICE_KS_OBJ_SET = 14     /* non-string object stored */
};

typedef void (*dice_ks_hook_fn)(void *ctx, int db, const char *key, size_t klen,
                                int event);

/* Per-type object callbacks (the members of dice_type_methods that
 * dice_keyspace_set_type_ops, the older registration, takes). free_fn
 * releases an object the keyspace drops; dup_fn returns a deep copy (NULL
 * on failure) for COPY; encoding_fn returns a static OBJECT ENCODING
 * name. */
typedef void (*dice_obj_free_fn)(void *ctx, void *obj);
typedef void *(*dice_obj_dup_fn)(void *ctx, const void *obj);
typedef const char *(*dice_obj_encoding_fn)(void *ctx, const void *obj);

/* ---- type methods ------------------------------------------------------ */

/* A digest being computed (DEBUG DIGEST): owned by the keyspace, valid only
 * during the digest callback that receives it. A value is fed as one or
 * more sequences: the items of one sequence are ordered ("ab","c" differs
 * from "a","bc" and from "c","ab"), the sequences of one value are not
 * (they are combined with XOR). An ordered type (a list) feeds every item
 * and ends one sequence; an unordered one (a set, a hash) ends a sequence
 * after each member (or field and value), so two equal sets give the same
 * digest whatever their internal order. Items after the last end form one
 * more sequence. */
typedef struct dice_digest dice_digest_t;
DICE_EXPORT void dice_digest_add(dice_digest_t *d, const void *data,
                                 size_t len);
/* Feeds v as its decimal text, so an integer and the string of its digits
 * digest the same. */
DICE_EXPORT void dice_digest_add_ll(dice_digest_t *d, long long v);
DICE_EXPORT void dice_digest_end_sequence(dice_digest_t *d);

/* Receives one command that recreates (part of) a value, e.g. RPUSH key a b
 * c. argv and its strings are the caller's and valid only during the call.
 * Returns 0 to go on; a negative DICE_E* code stops the emission and is
 * returned by it. */
typedef int (*dice_type_emit_fn)(void *emit_ctx, int argc,
                                 const char *const *argv,
                                 const size_t *argvlen);
/* Receives serialized bytes (valid only during the call). Returns 0 or a
 * negative DICE_E* code, which stops the serialization and is returned. */
typedef int (*dice_type_write_fn)(void *wctx, const void *data, size_t len);

/* Version of struct dice_type_methods this header describes. A newer
 * library accepts tables of every older version (members added later read
 * as NULL); an older library refuses a newer table with DICE_EINVAL. */
#define DICE_TYPE_METHODS_VERSION 2

/* The methods of a data type, in the manner of Redis's
 * RedisModuleTypeMethods: set version to DICE_TYPE_METHODS_VERSION, fill in
 * what the type has, leave the rest NULL (zero-initialise the struct).
 * Members are only ever appended, in a new version. Every callback gets the
 * ctx given to dice_keyspace_register_type. obj is the object stored with
 * dice_db_set_object; callbacks taking a const obj must not change it. */
typedef struct dice_type_methods {
    unsigned version; /* DICE_TYPE_METHODS_VERSION */
    /* Type name as TYPE replies ("list"); must outlive the keyspace. */
    const char *name;
    /* NULL-terminated list of every name encoding() may return ("listpack",
     * "quicklist", NULL), for introspection; may be NULL. Must outlive the
     * keyspace. */
    const char *const *encoding_names;
    /* OBJECT ENCODING: a static name. NULL: "unknown". */
    dice_obj_encoding_fn encoding;
    /* Release an object the keyspace drops (DEL, overwrite, expiry, flush,
     * dice_keyspace_free). NULL: the keyspace only forgets the pointer.
     * Thread safety: a server may call it on its lazy-free thread (UNLINK,
     * FLUSHALL ASYNC, the lazyfree-lazy-* settings), concurrently with
     * everything the loop's thread does. It must therefore touch only the
     * object's own memory (and free()/malloc's, which are thread-safe):
     * no counters, pools, caches or other state shared with the keyspace,
     * the server or other objects, unless ctx guards them with its own
     * lock. The object is no longer reachable from the keyspace when
     * free is called. */
    dice_obj_free_fn free;
    /* Deep copy for COPY: a new object the keyspace then owns, or NULL on
     * failure. NULL: COPY of such a key fails with DICE_EINVAL. */
    dice_obj_dup_fn copy;
    /* Bytes the object uses (for MEMORY USAGE and maxmemory), not counting
     * the key's entry. NULL: counted as 0. */
    size_t (*mem_usage)(void *ctx, const void *obj);
    /* AOF rewrite: call emit once per command that, run on a missing key,
     * recreates the value (the expire time is emitted by the caller, after
     * the value). key is the key being written. Returns 0 or the first
     * negative code emit returned (or its own DICE_E* code). NULL: keys of
     * this type cannot be rewritten. */
    int (*emit_commands)(void *ctx, const char *key, size_t klen,
                         const void *obj, dice_type_emit_fn emit,
                         void *emit_ctx);
    /* Snapshots and DUMP: write the object's payload through write, and set
     * *format to the tag that names its layout (for an RDB-compatible type,
     * the RDB object type byte, e.g. 14 for RDB_TYPE_HASH_LISTPACK; the
     * payload is then what follows that byte in an RDB file). Returns 0 or
     * a negative DICE_E* code (write's, or its own). NULL: not
     * serializable. */
    int (*serialize)(void *ctx, const void *obj, unsigned *format,
                     dice_type_write_fn write, void *wctx);
    /* Snapshots and RESTORE: build an object from a payload of the given
     * format starting at data (len bytes available, which may go on past
     * the payload). On success *obj is a new object the caller owns (to be
     * stored with dice_db_set_object or freed with free) and *used the
     * bytes the payload took. Returns 0, DICE_EAGAIN (the payload goes on
     * past len: call again with more), DICE_EPROTO (malformed), DICE_EINVAL
     * (a format this type does not read) or DICE_ENOMEM. NULL: not
     * loadable. */
    int (*deserialize)(void *ctx, unsigned format, const void *data, size_t len,
                       size_t *used, void **obj);
    /* DEBUG DIGEST: feed the object's content into d (see dice_digest_t:
     * one sequence per member for unordered types). NULL: only the type
     * and the presence of the value are digested. */
    void (*digest)(void *ctx, const void *obj, dice_digest_t *d);
    /* Version 2. How much work freeing obj is, in Redis's lazyfree units
     * (about one per allocation free makes: the number of nodes of a list,
     * of entries of a hash table; 1 for an object in one compact block).
     * A server frees objects of effort above 64 (Redis's
     * LAZYFREE_THRESHOLD) on its lazy-free thread when the reason they are
     * dropped asks for it, and smaller ones at once. NULL: 1, always freed
     * at once. */
    size_t (*free_effort)(void *ctx, const void *obj);
} dice_type_methods;

/* ---- keyspace ---------------------------------------------------------- */

/* Create a keyspace of ndbs databases (1..65536; Redis's default is 16).
 * On success *out owns it; free with dice_keyspace_free(). Returns 0,
 * DICE_EINVAL or DICE_ENOMEM. */
DICE_EXPORT int dice_keyspace_new(dice_keyspace_t **out, int ndbs);
/* Free every value (through the type callbacks) and the keyspace. No hook
 * is called. NULL is allowed. */
DICE_EXPORT void dice_keyspace_free(dice_keyspace_t *ks);
DICE_EXPORT int dice_keyspace_ndbs(const dice_keyspace_t *ks);
/* Database by index, or NULL if out of range. Owned by the keyspace. */
DICE_EXPORT dice_db_t *dice_keyspace_db(dice_keyspace_t *ks, int index);
DICE_EXPORT int dice_db_index(const dice_db_t *db);

/* Current unix time in ms used for every expiry decision and the access
 * clock. */
DICE_EXPORT void dice_keyspace_set_now(dice_keyspace_t *ks, int64_t unix_ms);
DICE_EXPORT int64_t dice_keyspace_now(const dice_keyspace_t *ks);

/* Register the mutation hook (fn NULL to remove). ctx is passed back. */
DICE_EXPORT void dice_keyspace_set_hook(dice_keyspace_t *ks, dice_ks_hook_fn fn,
                                        void *ctx);
/* Register the methods of a non-string type (DICE_TYPE_LIST ..
 * DICE_TYPE_EXT7). The keyspace copies *methods (the caller keeps it and
 * may free it after the call; the strings it points to must outlive the
 * keyspace) and passes ctx back to every callback. Registering again
 * replaces the methods: objects already stored are then freed, copied and
 * digested by the new ones. Returns 0, or DICE_EINVAL for DICE_TYPE_STRING
 * (built in), an out-of-range type, a NULL table, or a version of 0 or
 * above DICE_TYPE_METHODS_VERSION. */
DICE_EXPORT int dice_keyspace_register_type(dice_keyspace_t *ks, int type,
                                            const dice_type_methods *methods,
                                            void *ctx);
/* The methods in effect for a type: *methods (may be NULL) gets the
 * keyspace's copy (valid until the type is registered again or the
 * keyspace is freed; a version 1 table for DICE_TYPE_STRING, whose methods
 * the library provides), *ctx (may be NULL) the registered ctx. Returns 0,
 * DICE_ENOENT (nothing registered) or DICE_EINVAL (out of range). */
DICE_EXPORT int dice_keyspace_type_methods(const dice_keyspace_t *ks, int type,
                                           const dice_type_methods **methods,
                                           void **ctx);
/* Older registration, kept for the ABI: the same as
 * dice_keyspace_register_type with a version 1 table holding only free_fn,
 * dup_fn (as copy) and encoding_fn; every other method is NULL. Returns as
 * dice_keyspace_register_type. */
DICE_EXPORT int dice_keyspace_set_type_ops(dice_keyspace_t *ks, int type,
                                           dice_obj_free_fn free_fn,
                                           dice_obj_dup_fn dup_fn,
                                           dice_obj_encoding_fn encoding_fn,
                                           void *ctx);
/* Access clock mode: 0 = LRU (idle seconds, default), 1 = LFU (Redis's
 * logarithmic counter with 1-minute decay). Existing keys keep their
 * clock bits, reinterpreted like Redis does on a policy change. */
DICE_EXPORT void dice_keyspace_set_lfu(dice_keyspace_t *ks, int on);
DICE_EXPORT int dice_keyspace_lfu(const dice_keyspace_t *ks);

/* Active expiry: sample keys with a TTL in every db (20 at a time,
 * repeating while more than 25% of a sample had expired) and delete the
 * expired ones, firing DICE_KS_EXPIRED. Stops after about budget_us
 * microseconds (the clock is read every 16 samples). Also sets now.
 * Returns the number of keys deleted. */
DICE_EXPORT size_t dice_keyspace_active_expire(dice_keyspace_t *ks,
                                               int64_t now_ms, long budget_us);
/* Incremental rehashing for the server's timer: rehash every db's tables
 * for about budget_us microseconds in total. Returns 1 if work remains. */
DICE_EXPORT int dice_keyspace_rehash(dice_keyspace_t *ks, long budget_us);

/* Empty every db (FLUSHALL; ASYNC may use this too). Fires DICE_KS_FLUSHDB
 * for each non-empty db. Returns the number of keys removed. */
DICE_EXPORT size_t dice_keyspace_flushall(dice_keyspace_t *ks);
/* Swap the contents of dbs a and b (SWAPDB). Fires DICE_KS_SWAPDB for both.
 * Returns 0 or DICE_EINVAL. */
DICE_EXPORT int dice_keyspace_swapdb(dice_keyspace_t *ks, int a, int b);

/* Counters for INFO stats; any out pointer may be NULL. */
DICE_EXPORT void dice_keyspace_stats(const dice_keyspace_t *ks,
                                     uint64_t *expired_keys,
                                     uint64_t *keyspace_hits,
                                     uint64_t *keyspace_misses);
DICE_EXPORT void dice_keyspace_reset_stats(dice_keyspace_t *ks);

/* ---- per-db counters ------------------------------------------------ */

DICE_EXPORT size_t dice_db_size(const dice_db_t *db);
/* Number of keys with a TTL. */
DICE_EXPORT size_t dice_db_expires(const dice_db_t *db);
/* Estimated average TTL in ms of keys with a TTL (from active expiry
 * sampling, like Redis's avg_ttl), 0 if unknown. */
DICE_EXPORT int64_t dice_db_avg_ttl(const dice_db_t *db);

/* ---- strings --------------------------------------------------------- */

/* Caller buffer size for int-encoded values ("-9223372036854775808"). */
#define DICE_DB_NUMBUF 24
/* Longest accepted float text (Redis's MAX_LONG_DOUBLE_CHARS). */
#define DICE_DB_FLOATMAX 5120

/* Flags for dice_db_set / dice_db_set_int / dice_db_set_object. */
#define DICE_SET_NX 0x01      /* only if the key does not exist */
#define DICE_SET_XX 0x02      /* only if the key exists */
#define DICE_SET_KEEPTTL 0x04 /* keep the existing TTL (else cleared) */
#define DICE_SET_EXPIRE 0x08  /* set TTL to the expire_at_ms argument */
#define DICE_SET_NOINT 0x10   /* store as is, no integer detection */

/* Look up a string. On success *val and *vlen hold the value; an int-encoded
 * value is formatted into numbuf (DICE_DB_NUMBUF bytes). Touches the
 * access clock and counts a keyspace hit/miss. Returns 0, DICE_ENOENT or
 * DICE_EWRONGTYPE. */
DICE_EXPORT int dice_db_get(dice_db_t *db, const char *key, size_t klen,
                            char *numbuf, const char **val, size_t *vlen);

/* Store a string (SET and friends). A value that is a canonical integer
 * (Redis's rule) is stored as an 8-byte int unless DICE_SET_NOINT. Any
 * previous value of any type is replaced. The TTL is cleared unless
 * DICE_SET_KEEPTTL, or set to expire_at_ms (unix ms) with DICE_SET_EXPIRE;
 * an expire time <= now deletes the key instead (DICE_KS_DEL if it
 * existed). Copies val. Returns 0, DICE_EEXIST (NX and key exists),
 * DICE_ENOENT (XX and key missing) or DICE_ENOMEM. Fires DICE_KS_SET and,
 * with an expire, DICE_KS_EXPIRE. */
DICE_EXPORT int dice_db_set(dice_db_t *db, const char *key, size_t klen,
                            const char *val, size_t vlen, unsigned flags,
                            int64_t expire_at_ms);
/* Same with an integer value. */
DICE_EXPORT int dice_db_set_int(dice_db_t *db, const char *key, size_t klen,
                                long long v, unsigned flags,
                                int64_t expire_at_ms);

/* INCRBY/DECRBY: add delta (a missing key counts as 0), keep the TTL, store
 * int-encoded; *out gets the new value. Returns 0, DICE_EWRONGTYPE,
 * DICE_EINVAL (value is not an integer) or DICE_ERANGE (overflow). */
DICE_EXPORT int dice_db_incrby(dice_db_t *db, const char *key, size_t klen,
                               long long delta, long long *out);
/* INCRBYFLOAT with the increment as text. On success *val and *vlen point to
 * the stored result (Redis's "%.17Lf" with trailing zeros removed).
 * Returns 0, DICE_EWRONGTYPE, DICE_EINVAL (value or increment is not a
 * valid float), DICE_ERANGE (NaN or infinity) or DICE_ENOMEM. */
DICE_EXPORT int dice_db_incrbyfloat(dice_db_t *db, const char *key, size_t klen,
                                    const char *incr, size_t ilen,
                                    const char **val, size_t *vlen);
/* APPEND: create or extend; *newlen gets the length. Keeps the TTL.
 * Returns 0, DICE_EWRONGTYPE, DICE_ERANGE (over 512 MB) or DICE_ENOMEM. */
DICE_EXPORT int dice_db_append(dice_db_t *db, const char *key, size_t klen,
                               const char *data, size_t len, size_t *newlen);
/* SETRANGE: write data at offset, zero-padding; a missing key with empty
 * data is not created. *newlen gets the length. Same returns as append. */
DICE_EXPORT int dice_db_setrange(dice_db_t *db, const char *key, size_t klen,
                                 size_t offset, const char *data, size_t len,
                                 size_t *newlen);

/* Parse a canonical integer with Redis's string2ll rules: optional '-',
 * no leading zeros, no '+', no spaces, fits in long long ("-0" rejected).
 * Returns 1 and sets *out, or 0. */
DICE_EXPORT int dice_db_parse_ll(const char *s, size_t len, long long *out);

/* ---- objects (non-string types) -------------------------------------- */

/* Store an object of a non-string type; the keyspace takes ownership of
 * obj (even on failure, it is freed by the type's free callback) and frees
 * any previous value. Flags as dice_db_set (NX/XX/KEEPTTL/EXPIRE). Returns
 * as dice_db_set, or DICE_EINVAL for DICE_TYPE_STRING. Fires
 * DICE_KS_OBJ_SET. */
DICE_EXPORT int dice_db_set_object(dice_db_t *db, const char *key, size_t klen,
                                   int type, void *obj, unsigned flags,
                                   int64_t expire_at_ms);
/* The object stored at key if it has the given type. The keyspace keeps
 * ownership; the caller may modify it in place and then call
 * dice_db_signal_modify(). Returns 0, DICE_ENOENT or DICE_EWRONGTYPE. */
DICE_EXPORT int dice_db_get_object(dice_db_t *db, const char *key, size_t klen,
                                   int type, void **obj);
/* Fire DICE_KS_MODIFY for a key changed in place. */
DICE_EXPORT void dice_db_signal_modify(dice_db_t *db, const char *key,
                                       size_t klen);

/* ---- generic key operations ------------------------------------------ */

/* Type of the key's value (enum dice_type) or DICE_ENOENT. Does not touch
 * the access clock. */
DICE_EXPORT int dice_db_type(dice_db_t *db, const char *key, size_t klen);
/* 1 if the key exists, else 0. */
DICE_EXPORT int dice_db_exists(dice_db_t *db, const char *key, size_t klen);
/* Delete (DEL/UNLINK): 1 if deleted, 0 if missing. Fires DICE_KS_DEL. */
DICE_EXPORT int dice_db_delete(dice_db_t *db, const char *key, size_t klen);
/* TOUCH: update the access clock. 1 if the key exists, else 0. */
DICE_EXPORT int dice_db_touch(dice_db_t *db, const char *key, size_t klen);

/* RENAME (nx = 0) / RENAMENX (nx = 1); the TTL moves with the value.
 * Renaming a key to itself succeeds (or gives DICE_EEXIST with nx) and
 * changes nothing. Returns 0, DICE_ENOENT (no source), DICE_EEXIST (nx and
 * destination exists) or DICE_ENOMEM. */
DICE_EXPORT int dice_db_rename(dice_db_t *db, const char *src, size_t slen,
                               const char *dst, size_t dlen, int nx);
/* COPY src (in sdb) to dst (in ddb), with its TTL; objects are duplicated
 * with the type's dup callback. Returns 0, DICE_ENOENT, DICE_EEXIST (dst
 * exists and !replace), DICE_EINVAL (type has no dup callback) or
 * DICE_ENOMEM. Fires DICE_KS_COPY_TO in ddb. */
DICE_EXPORT int dice_db_copy(dice_db_t *sdb, const char *src, size_t slen,
                             dice_db_t *ddb, const char *dst, size_t dlen,
                             int replace);
/* MOVE the key (with its TTL) to another db. Returns 0, DICE_ENOENT,
 * DICE_EEXIST (already in dst) or DICE_EINVAL (same db). */
DICE_EXPORT int dice_db_move(dice_db_t *db, const char *key, size_t klen,
                             dice_db_t *dst);
/* FLUSHDB: returns the number of keys removed; fires DICE_KS_FLUSHDB. */
DICE_EXPORT size_t dice_db_flush(dice_db_t *db);

/* RANDOMKEY: a random live key (expired ones met are deleted). Returns 0
 * or DICE_ENOENT when empty. */
DICE_EXPORT int dice_db_random_key(dice_db_t *db, const char **key,
                                   size_t *klen);

typedef void (*dice_db_key_fn)(void *ctx, const char *key, size_t klen);
/* KEYS: call fn for every live key matching the glob pattern (Redis
 * stringmatchlen semantics; "*" matches every key). Expired keys are
 * skipped. fn must not modify the keyspace. Returns the count. */
DICE_EXPORT size_t dice_db_keys(dice_db_t *db, const char *pat, size_t plen,
                                dice_db_key_fn fn, void *ctx);
/* One SCAN step from cursor (0 starts). Visits about count keys (at least
 * one hash bucket), calls fn for each live key matching pat (NULL = all)
 * and of the given type (-1 = any). *next gets the next cursor, 0 at the
 * end. Every key present for the whole scan is returned at least once,
 * even across growth, shrinking and rehashing; some may repeat. fn must
 * not modify the keyspace. Returns 0. */
DICE_EXPORT int dice_db_scan(dice_db_t *db, uint64_t cursor, size_t count,
                             const char *pat, size_t plen, int type,
                             dice_db_key_fn fn, void *ctx, uint64_t *next);

/* ---- expiry ------------------------------------------------------------ */

/* Conditions for dice_db_set_expire (EXPIRE options). */
#define DICE_EXPIRE_NX 0x01 /* only if no TTL */
#define DICE_EXPIRE_XX 0x02 /* only if a TTL exists */
#define DICE_EXPIRE_GT 0x04 /* only if greater (no TTL = infinite) */
#define DICE_EXPIRE_LT 0x08 /* only if smaller (no TTL = infinite) */

/* Set the expire time (unix ms). Returns 1 if set, 0 if a condition
 * prevented it, DICE_ENOENT if the key is missing, DICE_ENOMEM. An expire
 * time <= now deletes the key (DICE_KS_DEL) and returns 1. Fires
 * DICE_KS_EXPIRE. */
DICE_EXPORT int dice_db_set_expire(dice_db_t *db, const char *key, size_t klen,
                                   int64_t at_ms, unsigned cond);
/* *at_ms gets the expire time or -1 without TTL. Returns 0 or
 * DICE_ENOENT. */
DICE_EXPORT int dice_db_get_expire(dice_db_t *db, const char *key, size_t klen,
                                   int64_t *at_ms);
/* PERSIST: 1 if a TTL was removed, 0 otherwise (also when missing). */
DICE_EXPORT int dice_db_persist(dice_db_t *db, const char *key, size_t klen);

/* ---- OBJECT ---------------------------------------------------------- */

/* Static encoding name: "int", "embstr", "raw" for strings, the type's
 * encoding callback (or "unknown") otherwise. Returns 0 or DICE_ENOENT.
 * These do not touch the access clock. */
DICE_EXPORT int dice_db_object_encoding(dice_db_t *db, const char *key,
                                        size_t klen, const char **enc);
/* Seconds since last access (LRU mode). Returns 0 or DICE_ENOENT. */
DICE_EXPORT int dice_db_object_idletime(dice_db_t *db, const char *key,
                                        size_t klen, int64_t *secs);
/* LFU counter after decay (LFU mode). Returns 0 or DICE_ENOENT. */
DICE_EXPORT int dice_db_object_freq(dice_db_t *db, const char *key, size_t klen,
                                    int *freq);

/* ---- MEMORY USAGE -------------------------------------------------- */

/* Bytes the key and its value use (MEMORY USAGE): its entry and table
 * slots, a long string's heap bytes, an object's through its type's
 * mem_usage method. samples is MEMORY USAGE's SAMPLES (0 = all) for types
 * that estimate from a sample; version 1 methods do not see it. Does not
 * touch the access clock. Returns 0 or DICE_ENOENT. */
DICE_EXPORT int dice_db_memory_usage(dice_db_t *db, const char *key,
                                     size_t klen, size_t samples,
                                     size_t *bytes);

/* ---- digest (DEBUG DIGEST) -------------------------------------------- */

/* Length of a digest in bytes (40 hex digits as DEBUG DIGEST prints it). */
#define DICE_DIGEST_LEN 20

/* Digest of the whole keyspace into out: equal for two keyspaces holding
 * the same keys with the same values and expire times in the same dbs,
 * whatever the order they were written in; all zeros when every db is
 * empty. Values are digested by their type's digest method (a string by its
 * text, whatever its encoding). Expired keys not yet deleted are left out.
 * Does not touch access clocks or modify anything. */
DICE_EXPORT void dice_keyspace_digest(dice_keyspace_t *ks,
                                      uint8_t out[DICE_DIGEST_LEN]);
/* Digest of one key's value (type, content and expire time, not the key's
 * name, as DEBUG DIGEST-VALUE) into out; all zeros and DICE_ENOENT when
 * the key is missing. Returns 0 or DICE_ENOENT. */
DICE_EXPORT int dice_db_digest_value(dice_db_t *db, const char *key,
                                     size_t klen, uint8_t out[DICE_DIGEST_LEN]);

#ifdef __cplusplus
}
#endif

#endif
