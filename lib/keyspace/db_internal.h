/* The keyspace core's internal interface (lib/keyspace/db.c) for the layers
 * above it: the entry layout, the lookup and the write path that a data
 * type (lib/types/) builds its values on.
 *
 * Every key is ONE entry, referenced from one 8-byte table slot:
 *
 *   byte 0     header: bits 0-1 storage (EMB, INT, RAW, OBJ), bits 2-4 type,
 *              bit 5 "has expire", bits 6-7 allocation class (entry pool)
 *   bytes 1-3  24-bit access clock: LRU seconds, or LFU minutes(16)+count(8)
 *   [8 bytes]  expire time, unix ms, only when bit 5 is set
 *   varint     key length, then the key bytes
 *   value      EMB: varint length + bytes, inline (a string's, or for
 *                   another type an object kept inline: DICE__OBJ_INLINE)
 *              INT: 8-byte long long, inline
 *              RAW: 8-byte pointer to a rawstr (heap bytes with a capacity)
 *              OBJ: 8-byte pointer to an object owned through its type's
 *                   methods (dice_keyspace_register_type)
 *
 * The four storage forms are the keyspace's: it sizes, moves, frees and
 * copies each of them without knowing what the bytes mean. Which form a
 * value takes and what it means is the type's business (lib/types/string.c
 * chooses EMB, INT or RAW for a string). */
#ifndef DICE_KEYSPACE_DB_INTERNAL_H
#define DICE_KEYSPACE_DB_INTERNAL_H

#include "dice/db.h"
#include "dice/resp.h"
#include "keyspace/keyspace_internal.h"

#include <stdint.h>
#include <string.h>

enum { ENC_EMB = 0, ENC_INT = 1, ENC_RAW = 2, ENC_OBJ = 3 };
#define HDR_ENC(h) ((h)&3u)
#define HDR_TYPE(h) (((h) >> 2) & 7u)
#define HDR_EXP 0x20u
/* Bits 6-7: the entry's allocation class (see lib/keyspace/entry_pool.c), 0
 * for a plain malloc'd entry. Every rewrite of a header keeps them. */
#define HDR_CLS_SHIFT 6
#define HDR_CLS_MASK 0xc0u
#define HDR_CLS(h) ((unsigned)(h) >> HDR_CLS_SHIFT)
/* Header byte of a value: storage form and type (expire and class bits are
 * filled in by the keyspace). */
#define DICE__HDR(enc, type) ((uint8_t)((enc) | ((unsigned)(type) << 2)))

/* Heap bytes of a RAW value; freed with free(), copied by len. */
typedef struct rawstr {
    size_t len, cap;
    char data[];
} rawstr;

struct dice_db {
    dice_keyspace_t *ks;
    int index;
    dict main; /* every key */
    dict exp;  /* keys with a TTL (same entries) */
    int64_t avg_ttl;
};

/* A registered type: the caller's methods copied up to the version it was
 * built with, the rest zeroed. */
typedef struct dice__type_slot {
    dice_type_methods m;
    void *ctx;
} dice__type_slot;

struct dice_keyspace {
    int ndbs;
    dice_db_t *dbs;
    int64_t now;
    dice_ks_hook_fn hook;
    void *hook_ctx;
    dice__type_slot types[DICE_TYPE_COUNT];
    int lfu;
    unsigned lfu_log_factor, lfu_decay_time; /* Redis's lfu-* settings */
    int expire_db; /* next db for the active expiry cycle */
    uint64_t rng;
    uint64_t expired_keys, hits, misses;
    dice_pool_t pool; /* small entries */
    /* Changes made by writes (not by expiry), Redis's server.dirty: the
     * dispatcher compares it around a command to know whether the command
     * wrote anything and so has an effect to propagate. */
    uint64_t dirty;
    /* The server's WATCH observer (dice__keyspace_on_touch): NULL while no
     * client watches a key, so the write path pays one test. */
    dice__ks_touch_fn on_touch;
    void *on_touch_ctx;
    /* Non-zero while on_write, on_touch or the host's hook is set: the one
     * field dice__ks_fire tests (see dice__ks_observe). */
    unsigned observed;
    /* The server's view of expiry deletions (which it propagates as DEL),
     * independent of the host's hook. */
    dice__ks_expired_fn on_expired;
    void *on_expired_ctx;
    int expire_paused;          /* dice__keyspace_pause_expiry */
    dice__ks_expired_fn on_new; /* dice__keyspace_on_new */
    void *on_new_ctx;
    dice__enc_limits limits; /* collection encoding thresholds */
    /* The server's watch on writes, for blocked clients: set only while
     * some client is blocked, so a write pays one test of a NULL pointer
     * otherwise. */
    dice__ks_write_fn on_write;
    void *on_write_ctx;
    /* Client-side caching's watch on changed keys (dice__keyspace_on_
     * track): set only while the tracking table or a BCAST prefix is. */
    dice__ks_write_fn on_track;
    void *on_track_ctx;
    /* Dropped objects go to free_hook (the server's lazy free) when the
     * reason they are dropped (DICE__FREE_*) has its bit in lazy_mask;
     * otherwise their type's free method runs at once. */
    dice__ks_free_fn free_hook;
    void *free_hook_ctx;
    unsigned lazy_mask;
};

/* ---- entry layout ----------------------------------------------------- */

static inline size_t varint_get(const uint8_t *p, size_t *v) {
    size_t r = 0, n = 0;
    unsigned shift = 0;
    for (;;) {
        uint8_t b = p[n++];
        r |= (size_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
        shift += 7;
    }
    *v = r;
    return n;
}

static inline size_t varint_put(uint8_t *p, size_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static inline size_t key_off(const uint8_t *e) {
    return (e[0] & HDR_EXP) ? 12 : 4;
}

static inline void entry_getkey(const void *ev, const char **k, size_t *kl) {
    const uint8_t *e = ev;
    const uint8_t *p = e + key_off(e);
    p += varint_get(p, kl);
    *k = (const char *)p;
}

/* Pointer to the value section. */
static inline uint8_t *entry_val(uint8_t *e) {
    size_t kl;
    uint8_t *p = e + key_off(e);
    p += varint_get(p, &kl);
    return p + kl;
}

static inline int64_t entry_exp(const uint8_t *e) {
    int64_t t;
    memcpy(&t, e + 4, 8);
    return t;
}

/* The pointer stored by a RAW or OBJ value. */
static inline void *entry_ptr(uint8_t *e) {
    void *p;
    memcpy(&p, entry_val(e), sizeof(p));
    return p;
}

/* The tagged pointer to an inline object's bytes (an EMB value of a type
 * other than string: see DICE__OBJ_INLINE). */
static inline void *entry_inline_obj(uint8_t *e) {
    size_t n;
    uint8_t *v = entry_val(e);
    v += varint_get(v, &n);
    return (void *)((uintptr_t)v | DICE__OBJ_INLINE);
}

/* Redis: a key is expired once now > its time (at equality it is still
 * there, with PTTL 0). Setting a time <= now deletes at once instead. */
static inline int is_expired(const dice_keyspace_t *ks, const uint8_t *e) {
    return (e[0] & HDR_EXP) && entry_exp(e) < ks->now;
}

/* The out-of-line half of dice__ks_fire: the server's watch for blocked
 * clients (on_write), WATCH (on_touch) and the host's hook, in that
 * order, for whichever are set. */
void dice__ks_observe(dice_db_t *db, const char *k, size_t kl, int ev);

static inline void dice__ks_fire(dice_db_t *db, const char *k, size_t kl,
                                 int ev) {
    dice_keyspace_t *ks = db->ks;
    if (ev != DICE_KS_EXPIRED)
        ks->dirty++;
    else if (ks->on_expired)
        ks->on_expired(ks->on_expired_ctx, db->index, k, kl);
    /* Who else watches writes (blocked clients, WATCH, the host's hook)
     * is one test on the write path while nobody does. */
    if (__builtin_expect(ks->observed != 0, 0))
        dice__ks_observe(db, k, kl, ev);
}

/* Fire with the key as stored in e (after a change that moved the entry,
 * the caller's key pointer may point into the old one). */
void dice__ks_fire_entry(dice_db_t *db, uint8_t *e, int ev);

/* ---- lookup ----------------------------------------------------------- */

#define LK_TOUCH 1 /* update the access clock */
#define LK_STATS 2 /* count a keyspace hit or miss */

/* Out-of-line halves of dice__ks_lookup: the lazy deletion of an expired
 * key and the LFU counter update. */
void dice__ks_expire_entry(dice_db_t *db, uint8_t *e, uint64_t h);
void dice__ks_touch_lfu(dice_keyspace_t *ks, uint8_t *e);

/* Find a live key; an expired one is deleted (DICE_KS_EXPIRED) and not
 * found. *hout gets the key's hash and *slotout its table slot (for
 * dice__ks_revalue); either may be NULL. Inline: GET is one call to it. */
static inline uint8_t *dice__ks_lookup(dice_db_t *db, const char *key,
                                       size_t klen, uint64_t *hout,
                                       uint64_t **slotout, int flags) {
    uint64_t h = dice__dict_hash(&db->main, key, klen);
    uint64_t *slot = dice__dict_find_slot(&db->main, key, klen, h);
    uint8_t *e = slot ? (uint8_t *)dice__dict_slot_entry(*slot) : NULL;
    dice_keyspace_t *ks = db->ks;
    if (e && is_expired(ks, e)) {
        dice__ks_expire_entry(db, e, h);
        e = NULL;
        slot = NULL;
    }
    if (flags & LK_STATS) {
        if (e)
            ks->hits++;
        else
            ks->misses++;
    }
    if (e && (flags & LK_TOUCH)) {
        if (!ks->lfu) {
            uint32_t c = (uint32_t)((ks->now / 1000) & 0xffffff);
            e[1] = (uint8_t)c;
            e[2] = (uint8_t)(c >> 8);
            e[3] = (uint8_t)(c >> 16);
        } else {
            dice__ks_touch_lfu(ks, e);
        }
    }
    if (hout)
        *hout = h;
    if (slotout)
        *slotout = slot;
    return e;
}

/* ---- write path --------------------------------------------------------- */

/* Store an encoded value section (vsz bytes at val, header hdr from
 * DICE__HDR) at key, replacing any previous value; flags and expire_at_ms
 * as dice_db_set. Fires DICE_KS_OBJ_SET for an OBJ value, else DICE_KS_SET
 * (and then DICE_KS_EXPIRE with DICE_SET_EXPIRE).
 * Returns 0, 1 when the expire time had passed (nothing kept, an old value
 * deleted), DICE_EEXIST, DICE_ENOENT or DICE_ENOMEM; except on 0 the caller
 * still owns what the value section points to. *stored (may be NULL) gets
 * the entry holding the value, NULL when nothing was kept. */
int dice__ks_store(dice_db_t *db, const char *key, size_t klen, uint8_t hdr,
                   const void *val, size_t vsz, unsigned flags,
                   int64_t expire_at_ms, uint8_t **stored);

/* Replace e (found at slot by dice__ks_lookup) by an entry with a new value
 * section, keeping the key, TTL and clock. e is gone afterwards, and with
 * free_old its old RAW/OBJ storage too. Returns the new entry, or NULL on
 * DICE_ENOMEM (then nothing changed). No hook fires. */
uint8_t *dice__ks_revalue(dice_db_t *db, uint64_t *slot, uint8_t *e,
                          uint8_t hdr, const void *val, size_t vsz,
                          int free_old);

/* The slot of a type's registered methods (version 0: none registered).
 * DICE_TYPE_STRING's slot stays empty: the types layer provides the string
 * methods itself (lib/types/types_internal.h). */
static inline const dice__type_slot *dice__ks_type(const dice_keyspace_t *ks,
                                                   unsigned type) {
    return &ks->types[type & 7u];
}

/* Bytes of a key's entry, its table slots and, for a RAW string, its heap
 * bytes (MEMORY USAGE; an OBJ value's object is its type's to count). */
size_t dice__ks_entry_bytes(uint8_t *e);

/* DEBUG OBJECT: the key's access clock (24 bits, LRU seconds or LFU
 * minutes and counter) and its LRU idle seconds, read without touching
 * them. Returns 0 or DICE_ENOENT. */
int dice__db_object_clock(dice_db_t *db, const char *key, size_t klen,
                          uint32_t *clock, int64_t *idle_secs);
/* MEMORY STATS' db.<n> entries: bytes of the key table's and the expire
 * table's slot arrays (both tables while rehashing); the entries
 * themselves are the dataset's. */
void dice__db_table_bytes(const dice_db_t *db, size_t *main_bytes,
                          size_t *expire_bytes);
/* Size db's key table for keys entries and its expire table for expires
 * (a loader's RESIZEDB; the caller bounds both by what its input can
 * hold). 0, or DICE_ENOMEM with the tables unchanged and usable. */
int dice__db_reserve(dice_db_t *db, size_t keys, size_t expires);
/* DEBUG HTSTATS: the key table's and the expire table's statistics in
 * Redis's text form, appended to b. */
void dice__db_htstats(dice_db_t *db, dice_buf_t *b);
/* Visit every live (not expired) entry of db; stops when fn returns
 * non-zero, which it returns. fn must not modify the keyspace. */
int dice__db_foreach_live(dice_db_t *db, int (*fn)(void *ctx, uint8_t *e),
                          void *ctx);

/* The access clock as RDB files and RESTORE carry it: idle seconds (LRU)
 * or the decayed LFU counter of e, and setting it back (freq in LFU mode,
 * idle otherwise, -1 for not given, as Redis's objectSetLRUOrLFU; returns
 * 1 when one was applied). */
long long dice__ks_entry_idle(const dice_keyspace_t *ks, const uint8_t *e);
unsigned dice__ks_entry_freq(const dice_keyspace_t *ks, const uint8_t *e);
int dice__ks_entry_set_access(dice_keyspace_t *ks, uint8_t *e, long long freq,
                              long long idle);

/* ---- eviction (the server's maxmemory, lib/server/evict.c) -------------- */

/* Redis's LFU counter math: the counter after decay (one off per
 * decay_time minutes from then to now, on the 16-bit minute clock; 0
 * decay_time: none) and after one logarithmic increment with r uniform
 * in [0,1). LFU_INIT_VAL is a new key's counter. */
#define DICE__LFU_INIT_VAL 5
unsigned dice__lfu_decr(unsigned counter, uint32_t then, uint32_t now,
                        unsigned decay_time);
unsigned dice__lfu_log_incr(unsigned counter, unsigned log_factor, double r);
void dice__keyspace_set_lfu_params(dice_keyspace_t *ks, unsigned log_factor,
                                   unsigned decay_time);

/* Up to n random entries of db (all keys, or only those with a TTL) into
 * out, possibly repeated; returns how many. They are valid until the
 * keyspace next changes. */
size_t dice__db_sample(dice_db_t *db, int volatile_only, uint8_t **out,
                       size_t n);
/* How good an eviction candidate e is (higher: evict sooner), as Redis's
 * evictionPoolPopulate scores: idle ms (LRU), 255 - counter (LFU), or the
 * complement of the expire time (TTL). */
enum {
    DICE__EVICT_SCORE_LRU = 0,
    DICE__EVICT_SCORE_LFU = 1,
    DICE__EVICT_SCORE_TTL = 2
};
unsigned long long dice__ks_entry_evict_score(const dice_keyspace_t *ks,
                                              const uint8_t *e, int what);
/* Delete key for maxmemory: fires DICE_KS_DEL (WATCH, tracking, blocked
 * clients) and frees the value as DICE__FREE_EVICT (lazily with
 * lazyfree-lazy-eviction). Returns 1, or 0 when the key is not there
 * (an expired one is then deleted as expired). */
int dice__db_evict(dice_db_t *db, const char *key, size_t klen);

#endif
