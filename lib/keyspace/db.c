/* The keyspace: databases of typed values with expiry, on lib/keyspace/dict.c.
 *
 * Every key is ONE malloc'd entry, referenced from one 8-byte table slot:
 *
 *   byte 0     header: bits 0-1 encoding (EMB, INT, RAW, OBJ), bits 2-4 type,
 *              bit 5 "has expire", bits 6-7 reserved
 *   bytes 1-3  24-bit access clock: LRU seconds, or LFU minutes(16)+count(8)
 *   [8 bytes]  expire time, unix ms, only when bit 5 is set
 *   varint     key length, then the key bytes
 *   value      EMB: varint length + bytes (strings up to 44 bytes)
 *              INT: 8-byte long long (canonical integer strings)
 *              RAW: 8-byte pointer to a rawstr (long or appended strings)
 *              OBJ: 8-byte pointer to an object owned through type ops
 *
 * A key "key:0000123" with value "v123456" takes 4 + 1 + 11 + 1 + 7 = 24
 * bytes, which glibc serves from a 32-byte chunk. Keys with a TTL are also
 * referenced from a second table (db->exp) that the active expiry cycle
 * samples; both tables are fixed up when an entry is reallocated. */
#include "dice/db.h"

#include "keyspace/keyspace_internal.h"
#include "resp/resp_internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { ENC_EMB = 0, ENC_INT = 1, ENC_RAW = 2, ENC_OBJ = 3 };
#define HDR_ENC(h) ((h)&3u)
#define HDR_TYPE(h) (((h) >> 2) & 7u)
#define HDR_EXP 0x20u
/* Bits 6-7: the entry's allocation class (see lib/keyspace/entry_pool.c), 0 for
 * a plain malloc'd entry. Every rewrite of a header keeps them. */
#define HDR_CLS_SHIFT 6
#define HDR_CLS_MASK 0xc0u
#define HDR_CLS(h) ((unsigned)(h) >> HDR_CLS_SHIFT)

/* Sanitizer builds allocate every entry with malloc, so ASan checks each
 * one's bounds; the pool would hide them inside its pages. */
#if defined(__SANITIZE_ADDRESS__)
#define DICE_POOL_ENTRIES 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DICE_POOL_ENTRIES 0
#endif
#endif
#ifndef DICE_POOL_ENTRIES
#define DICE_POOL_ENTRIES 1
#endif
#define EMB_MAX 44
#define STR_MAX ((size_t)512 * 1024 * 1024)
#define LFU_INIT 5
#define LFU_LOG_FACTOR 10

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

typedef struct type_ops {
    dice_obj_free_fn free_fn;
    dice_obj_dup_fn dup_fn;
    dice_obj_encoding_fn encoding_fn;
    void *ctx;
} type_ops;

struct dice_keyspace {
    int ndbs;
    dice_db_t *dbs;
    int64_t now;
    dice_ks_hook_fn hook;
    void *hook_ctx;
    type_ops ops[DICE_TYPE_COUNT];
    int lfu;
    int expire_db; /* next db for the active expiry cycle */
    uint64_t rng;
    uint64_t expired_keys, hits, misses;
    dice_pool_t pool; /* small entries */
};

/* ---- entry encoding --------------------------------------------------- */

static size_t varint_len(size_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static size_t varint_put(uint8_t *p, size_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static size_t varint_get(const uint8_t *p, size_t *v) {
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

static inline size_t key_off(const uint8_t *e) {
    return (e[0] & HDR_EXP) ? 12 : 4;
}

static void entry_getkey(const void *ev, const char **k, size_t *kl) {
    const uint8_t *e = ev;
    const uint8_t *p = e + key_off(e);
    p += varint_get(p, kl);
    *k = (const char *)p;
}

/* Pointer to the value section. */
static uint8_t *entry_val(uint8_t *e) {
    size_t kl;
    uint8_t *p = e + key_off(e);
    p += varint_get(p, &kl);
    return p + kl;
}

static size_t val_size(const uint8_t *e, const uint8_t *v) {
    if (HDR_ENC(e[0]) == ENC_EMB) {
        size_t n;
        size_t h = varint_get(v, &n);
        return h + n;
    }
    return 8;
}

static size_t entry_size(uint8_t *e) {
    uint8_t *v = entry_val(e);
    return (size_t)(v - e) + val_size(e, v);
}

static int64_t entry_exp(const uint8_t *e) {
    int64_t t;
    memcpy(&t, e + 4, 8);
    return t;
}

static uint32_t entry_clock(const uint8_t *e) {
    return (uint32_t)e[1] | ((uint32_t)e[2] << 8) | ((uint32_t)e[3] << 16);
}

static void entry_set_clock(uint8_t *e, uint32_t c) {
    e[1] = (uint8_t)c;
    e[2] = (uint8_t)(c >> 8);
    e[3] = (uint8_t)(c >> 16);
}

static void *entry_ptr(uint8_t *e) {
    void *p;
    memcpy(&p, entry_val(e), sizeof(p));
    return p;
}

/* Build an entry. val is the already-encoded value section. */
static size_t entry_size_for(int has_exp, size_t klen, size_t vsz) {
    return 4 + (has_exp ? 8 : 0) + varint_len(klen) + klen + vsz;
}

/* Allocate n bytes for an entry; *cls receives its allocation class,
 * which the caller stores in the header (HDR_CLS). */
static uint8_t *entry_alloc(dice_keyspace_t *ks, size_t n, unsigned *cls) {
    *cls = DICE_POOL_ENTRIES ? dice__pool_class(n) : 0;
    if (*cls)
        return dice__pool_alloc(&ks->pool, *cls);
    return malloc(n);
}

static void entry_dealloc(dice_keyspace_t *ks, uint8_t *e) {
    unsigned cls = HDR_CLS(e[0]);
    if (cls)
        dice__pool_free(&ks->pool, e, cls);
    else
        free(e);
}

/* Bytes usable at e: its slot's size, or what malloc gave it. */
static size_t entry_capacity(uint8_t *e) {
    unsigned cls = HDR_CLS(e[0]);
    return cls ? dice__pool_slot_size(cls) : malloc_usable_size(e);
}

static uint8_t *entry_build(dice_keyspace_t *ks, uint8_t hdr, uint32_t clock,
                            int has_exp, int64_t exp, const char *key,
                            size_t klen, const void *val, size_t vsz) {
    size_t n = entry_size_for(has_exp, klen, vsz);
    unsigned cls;
    uint8_t *e = entry_alloc(ks, n, &cls);
    if (!e)
        return NULL;
    e[0] = (uint8_t)((hdr & ~(HDR_EXP | HDR_CLS_MASK)) |
                     (has_exp ? HDR_EXP : 0) | (cls << HDR_CLS_SHIFT));
    entry_set_clock(e, clock);
    uint8_t *p = e + 4;
    if (has_exp) {
        memcpy(p, &exp, 8);
        p += 8;
    }
    p += varint_put(p, klen);
    memcpy(p, key, klen);
    memcpy(p + klen, val, vsz);
    return e;
}

/* ---- clock ------------------------------------------------------------ */

static uint64_t rng_next(dice_keyspace_t *ks) {
    uint64_t x = ks->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return ks->rng = x;
}

static uint32_t lru_now(const dice_keyspace_t *ks) {
    return (uint32_t)((ks->now / 1000) & 0xffffff);
}

static uint32_t lfu_minutes(const dice_keyspace_t *ks) {
    return (uint32_t)((ks->now / 60000) & 0xffff);
}

static uint32_t clock_new(const dice_keyspace_t *ks) {
    return ks->lfu ? (lfu_minutes(ks) << 8) | LFU_INIT : lru_now(ks);
}

static unsigned lfu_decayed(const dice_keyspace_t *ks, uint32_t c) {
    uint32_t then = c >> 8, now = lfu_minutes(ks);
    unsigned counter = c & 0xff;
    uint32_t elapsed = now >= then ? now - then : 65535 - then + now;
    return elapsed > counter ? 0 : counter - elapsed;
}

static void entry_touch(dice_keyspace_t *ks, uint8_t *e) {
    if (!ks->lfu) {
        entry_set_clock(e, lru_now(ks));
        return;
    }
    unsigned counter = lfu_decayed(ks, entry_clock(e));
    if (counter < 255) {
        double r = (double)(rng_next(ks) >> 11) / 9007199254740992.0;
        double base = counter > LFU_INIT ? counter - LFU_INIT : 0;
        if (r < 1.0 / (base * LFU_LOG_FACTOR + 1))
            counter++;
    }
    entry_set_clock(e, (lfu_minutes(ks) << 8) | counter);
}

/* ---- core helpers ----------------------------------------------------- */

static void fire(dice_db_t *db, const char *k, size_t kl, int ev) {
    dice_keyspace_t *ks = db->ks;
    if (ks->hook)
        ks->hook(ks->hook_ctx, db->index, k, kl, ev);
}

/* Fire with the key as stored in e. After a change that may have moved or
 * freed the entry, the caller's key pointer may be one this API handed out
 * (from KEYS, SCAN, RANDOMKEY) into the old entry: read the survivor's. */
static void fire_entry(dice_db_t *db, uint8_t *e, int ev) {
    const char *k;
    size_t kl;
    entry_getkey(e, &k, &kl);
    fire(db, k, kl, ev);
}

/* Free what an entry's value owns outside the entry (a raw string or an
 * object), given the header it had. */
static void value_release(dice_keyspace_t *ks, uint8_t hdr, void *ptr) {
    unsigned enc = HDR_ENC(hdr);
    if (enc == ENC_RAW) {
        free(ptr);
    } else if (enc == ENC_OBJ) {
        type_ops *o = &ks->ops[HDR_TYPE(hdr)];
        if (o->free_fn)
            o->free_fn(o->ctx, ptr);
    }
}

static void *entry_extptr(uint8_t *e) {
    unsigned enc = HDR_ENC(e[0]);
    return (enc == ENC_RAW || enc == ENC_OBJ) ? entry_ptr(e) : NULL;
}

static void entry_free(dice_keyspace_t *ks, uint8_t *e) {
    value_release(ks, e[0], entry_extptr(e));
    entry_dealloc(ks, e);
}

static void entry_free_cb(void *ctx, void *e) {
    entry_free(ctx, e);
}

/* Redis: a key is expired once now > its time (at equality it is still
 * there, with PTTL 0). Setting a time <= now deletes at once instead. */
static int is_expired(const dice_keyspace_t *ks, const uint8_t *e) {
    return (e[0] & HDR_EXP) && entry_exp(e) < ks->now;
}

/* Unlink an entry from both tables (not freed). */
static void unlink_entry(dice_db_t *db, uint8_t *e, uint64_t h) {
    const char *k;
    size_t kl;
    entry_getkey(e, &k, &kl);
    dice__dict_delete(&db->main, k, kl, h);
    if (e[0] & HDR_EXP)
        dice__dict_delete(&db->exp, k, kl, dice__dict_hash(&db->exp, k, kl));
}

static void delete_entry(dice_db_t *db, uint8_t *e, uint64_t h, int ev) {
    const char *k;
    size_t kl;
    unlink_entry(db, e, h);
    entry_getkey(e, &k, &kl);
    if (ev == DICE_KS_EXPIRED)
        db->ks->expired_keys++;
    fire(db, k, kl, ev);
    entry_free(db->ks, e);
}

static int link_entry(dice_db_t *db, uint8_t *e, uint64_t h) {
    const char *k;
    size_t kl;
    if (dice__dict_insert(&db->main, e, h) < 0)
        return DICE_ENOMEM;
    if (e[0] & HDR_EXP) {
        entry_getkey(e, &k, &kl);
        if (dice__dict_insert(&db->exp, e, dice__dict_hash(&db->exp, k, kl)) <
            0) {
            dice__dict_delete(&db->main, k, kl, h);
            return DICE_ENOMEM;
        }
    }
    return 0;
}

/* Put ne (same key as old) where old was and fix the expires table. The
 * only fallible step runs first, so on DICE_ENOMEM nothing changed and the
 * caller still owns ne. On success the caller frees old. */
static int swap_entry(dice_db_t *db, uint64_t *slot, uint8_t *old,
                      uint8_t *ne) {
    const char *k;
    size_t kl;
    entry_getkey(ne, &k, &kl);
    int oe = (old[0] & HDR_EXP) != 0, nx = (ne[0] & HDR_EXP) != 0;
    uint64_t h = (oe || nx) ? dice__dict_hash(&db->exp, k, kl) : 0;
    if (nx && !oe && dice__dict_insert(&db->exp, ne, h) < 0)
        return DICE_ENOMEM;
    dice__dict_slot_set(slot, ne);
    if (oe && nx) {
        uint64_t *s = dice__dict_find_slot(&db->exp, k, kl, h);
        if (s)
            dice__dict_slot_set(s, ne);
    } else if (oe) {
        dice__dict_delete(&db->exp, k, kl, h);
    }
    return 0;
}

#define LK_TOUCH 1
#define LK_STATS 2

/* Find a live key; lazily deletes it if expired. */
static uint8_t *lookup(dice_db_t *db, const char *key, size_t klen,
                       uint64_t *hout, uint64_t **slotout, int flags) {
    uint64_t h = dice__dict_hash(&db->main, key, klen);
    uint64_t *slot = dice__dict_find_slot(&db->main, key, klen, h);
    uint8_t *e = slot ? dice__dict_slot_entry(*slot) : NULL;
    if (e && is_expired(db->ks, e)) {
        delete_entry(db, e, h, DICE_KS_EXPIRED);
        e = NULL;
        slot = NULL;
    }
    if (flags & LK_STATS) {
        if (e)
            db->ks->hits++;
        else
            db->ks->misses++;
    }
    if (e && (flags & LK_TOUCH))
        entry_touch(db->ks, e);
    if (hout)
        *hout = h;
    if (slotout)
        *slotout = slot;
    return e;
}

/* Value section for a string value. buf must hold 10 + EMB_MAX bytes. */
static size_t encode_str(uint8_t *buf, const char *v, size_t vlen,
                         unsigned flags, unsigned *enc, rawstr **raw) {
    long long iv;
    *raw = NULL;
    if (!(flags & DICE_SET_NOINT) && vlen <= 20 &&
        dice_db_parse_ll(v, vlen, &iv)) {
        *enc = ENC_INT;
        memcpy(buf, &iv, 8);
        return 8;
    }
    if (vlen <= EMB_MAX) {
        *enc = ENC_EMB;
        size_t n = varint_put(buf, vlen);
        memcpy(buf + n, v, vlen);
        return n + vlen;
    }
    rawstr *r = malloc(sizeof(rawstr) + vlen);
    if (!r)
        return 0;
    r->len = r->cap = vlen;
    memcpy(r->data, v, vlen);
    *enc = ENC_RAW;
    *raw = r;
    memcpy(buf, &r, sizeof(r));
    return 8;
}

/* Store a pre-encoded value. On failure the caller still owns what the
 * value section points to. */
/* Store a value at key; *stored (if not NULL) receives the entry holding
 * it, or NULL when nothing was kept. */
static int store_ex(dice_db_t *db, const char *key, size_t klen, uint8_t hdr,
                    const void *val, size_t vsz, unsigned flags, int64_t exp_at,
                    int ev, uint8_t **stored) {
    dice_keyspace_t *ks = db->ks;
    if (stored)
        *stored = NULL;
    uint64_t h, *slot;
    uint8_t *old = lookup(db, key, klen, &h, &slot, 0);
    if ((flags & DICE_SET_NX) && old)
        return DICE_EEXIST;
    if ((flags & DICE_SET_XX) && !old)
        return DICE_ENOENT;
    int has_exp = 0;
    int64_t exp = 0;
    if (flags & DICE_SET_EXPIRE) {
        has_exp = 1;
        exp = exp_at;
    } else if ((flags & DICE_SET_KEEPTTL) && old && (old[0] & HDR_EXP)) {
        has_exp = 1;
        exp = entry_exp(old);
    }
    if (has_exp && exp <= ks->now) {
        /* Already expired: the net effect is a deletion. */
        if (old)
            delete_entry(db, old, h, DICE_KS_DEL);
        return 1;
    }
    size_t need = entry_size_for(has_exp, klen, vsz);
    if (old && (old[0] & HDR_EXP) == (has_exp ? HDR_EXP : 0) &&
        entry_capacity(old) >= need) {
        /* Overwrite in place (the common SET of an existing key): the key
         * bytes, the slot and the expires-table membership all stay, and
         * the allocation fits, so skip a malloc/free pair. The old value's
         * external part is released after the copy, in case val points
         * into it. */
        uint8_t ohdr = old[0];
        void *optr = entry_extptr(old);
        old[0] = (uint8_t)((hdr & ~(HDR_EXP | HDR_CLS_MASK)) |
                           (has_exp ? HDR_EXP : 0) | (old[0] & HDR_CLS_MASK));
        entry_set_clock(old, clock_new(ks));
        if (has_exp)
            memcpy(old + 4, &exp, 8);
        memmove(old + need - vsz, val, vsz);
        value_release(ks, ohdr, optr);
        fire(db, key, klen, ev); /* the key bytes stayed in place */
        if (flags & DICE_SET_EXPIRE)
            fire(db, key, klen, DICE_KS_EXPIRE);
        if (stored)
            *stored = old;
        return 0;
    }
    uint8_t *e =
        entry_build(ks, hdr, clock_new(ks), has_exp, exp, key, klen, val, vsz);
    if (!e)
        return DICE_ENOMEM;
    int rc = old ? swap_entry(db, slot, old, e) : link_entry(db, e, h);
    if (rc < 0) {
        entry_dealloc(ks, e);
        return rc;
    }
    if (old)
        entry_free(ks, old);
    const char *k;
    size_t kl;
    entry_getkey(e, &k, &kl);
    fire(db, k, kl, ev);
    if (flags & DICE_SET_EXPIRE)
        fire(db, k, kl, DICE_KS_EXPIRE);
    if (stored)
        *stored = e;
    return rc;
}

static int store(dice_db_t *db, const char *key, size_t klen, uint8_t hdr,
                 const void *val, size_t vsz, unsigned flags, int64_t exp_at,
                 int ev) {
    return store_ex(db, key, klen, hdr, val, vsz, flags, exp_at, ev, NULL);
}

/* ---- keyspace --------------------------------------------------------- */

int dice_keyspace_new(dice_keyspace_t **out, int ndbs) {
    if (!out || ndbs < 1 || ndbs > 65536)
        return DICE_EINVAL;
    dice_keyspace_t *ks = calloc(1, sizeof(*ks));
    if (!ks)
        return DICE_ENOMEM;
    ks->dbs = calloc((size_t)ndbs, sizeof(dice_db_t));
    if (!ks->dbs) {
        free(ks);
        return DICE_ENOMEM;
    }
    ks->ndbs = ndbs;
    for (int i = 0; i < ndbs; i++) {
        dice_db_t *db = &ks->dbs[i];
        db->ks = ks;
        db->index = i;
        dice__dict_init(&db->main, entry_getkey);
        dice__dict_init(&db->exp, entry_getkey);
    }
    ks->rng = ks->dbs[0].main.seed | 1;
    *out = ks;
    return 0;
}

void dice_keyspace_free(dice_keyspace_t *ks) {
    if (!ks)
        return;
    for (int i = 0; i < ks->ndbs; i++) {
        dice__dict_clear(&ks->dbs[i].exp, NULL, NULL);
        dice__dict_clear(&ks->dbs[i].main, entry_free_cb, ks);
    }
    dice__pool_release(&ks->pool); /* already empty: a no-op kept for safety */
    free(ks->dbs);
    free(ks);
}

int dice_keyspace_ndbs(const dice_keyspace_t *ks) {
    return ks->ndbs;
}

dice_db_t *dice_keyspace_db(dice_keyspace_t *ks, int index) {
    if (index < 0 || index >= ks->ndbs)
        return NULL;
    return &ks->dbs[index];
}

int dice_db_index(const dice_db_t *db) {
    return db->index;
}

void dice_keyspace_set_now(dice_keyspace_t *ks, int64_t unix_ms) {
    ks->now = unix_ms;
}

int64_t dice_keyspace_now(const dice_keyspace_t *ks) {
    return ks->now;
}

void dice_keyspace_set_hook(dice_keyspace_t *ks, dice_ks_hook_fn fn,
                            void *ctx) {
    ks->hook = fn;
    ks->hook_ctx = ctx;
}

int dice_keyspace_set_type_ops(dice_keyspace_t *ks, int type,
                               dice_obj_free_fn free_fn, dice_obj_dup_fn dup_fn,
                               dice_obj_encoding_fn encoding_fn, void *ctx) {
    if (type <= DICE_TYPE_STRING || type >= DICE_TYPE_COUNT)
        return DICE_EINVAL;
    ks->ops[type] = (type_ops){free_fn, dup_fn, encoding_fn, ctx};
    return 0;
}

void dice_keyspace_set_lfu(dice_keyspace_t *ks, int on) {
    ks->lfu = on != 0;
}

int dice_keyspace_lfu(const dice_keyspace_t *ks) {
    return ks->lfu;
}

static long since_us(const struct timespec *a) {
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (long)(b.tv_sec - a->tv_sec) * 1000000L +
           (long)(b.tv_nsec - a->tv_nsec) / 1000L;
}

#define EXPIRE_SAMPLE 20

size_t dice_keyspace_active_expire(dice_keyspace_t *ks, int64_t now_ms,
                                   long budget_us) {
    struct timespec start;
    size_t deleted = 0;
    unsigned iter = 0;
    int timeout = 0;
    ks->now = now_ms;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int n = 0; n < ks->ndbs && !timeout; n++) {
        dice_db_t *db = &ks->dbs[ks->expire_db];
        ks->expire_db = (ks->expire_db + 1) % ks->ndbs;
        size_t expired;
        do {
            size_t nexp = dice__dict_size(&db->exp);
            if (nexp == 0)
                break;
            size_t sample = nexp < EXPIRE_SAMPLE ? nexp : EXPIRE_SAMPLE;
            /* A double: TTLs near INT64_MAX (PEXPIREAT far away) would
             * overflow an integer sum. */
            double ttl_sum = 0;
            size_t ttl_n = 0;
            expired = 0;
            for (size_t i = 0; i < sample; i++) {
                uint8_t *e = dice__dict_random(&db->exp);
                if (!e)
                    break;
                int64_t t = entry_exp(e);
                if (t < now_ms) { /* as is_expired() */
                    const char *k;
                    size_t kl;
                    entry_getkey(e, &k, &kl);
                    delete_entry(db, e, dice__dict_hash(&db->main, k, kl),
                                 DICE_KS_EXPIRED);
                    expired++;
                } else {
                    ttl_sum += (double)t - (double)now_ms;
                    ttl_n++;
                }
            }
            deleted += expired;
            if (ttl_n) {
                double mean = ttl_sum / (double)ttl_n;
                int64_t avg = mean < 9e18 ? (int64_t)mean : (int64_t)9e18;
                db->avg_ttl =
                    db->avg_ttl ? (db->avg_ttl / 50) * 49 + avg / 50 : avg;
            }
            /* Read the clock only every 16 sampling rounds. */
            if ((++iter & 15) == 0 && since_us(&start) > budget_us) {
                timeout = 1;
                break;
            }
        } while (expired * 4 > EXPIRE_SAMPLE);
    }
    return deleted;
}

int dice_keyspace_rehash(dice_keyspace_t *ks, long budget_us) {
    struct timespec start;
    int more = 0;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < ks->ndbs; i++) {
        dice_db_t *db = &ks->dbs[i];
        if (!db->main.rehashing && !db->exp.rehashing)
            continue;
        long left = budget_us - since_us(&start);
        if (left <= 0)
            return 1;
        more |= dice__dict_rehash_us(&db->main, left);
        more |= dice__dict_rehash_us(&db->exp, left);
    }
    return more;
}

size_t dice_db_flush(dice_db_t *db) {
    size_t n = dice__dict_size(&db->main);
    dice__dict_clear(&db->exp, NULL, NULL);
    dice__dict_clear(&db->main, entry_free_cb, db->ks);
    db->avg_ttl = 0;
    if (n)
        fire(db, NULL, 0, DICE_KS_FLUSHDB);
    return n;
}

size_t dice_keyspace_flushall(dice_keyspace_t *ks) {
    size_t n = 0;
    for (int i = 0; i < ks->ndbs; i++)
        n += dice_db_flush(&ks->dbs[i]);
    return n;
}

int dice_keyspace_swapdb(dice_keyspace_t *ks, int a, int b) {
    if (a < 0 || b < 0 || a >= ks->ndbs || b >= ks->ndbs)
        return DICE_EINVAL;
    if (a == b)
        return 0;
    dice_db_t *x = &ks->dbs[a], *y = &ks->dbs[b];
    dict tm = x->main, te = x->exp;
    int64_t ta = x->avg_ttl;
    x->main = y->main;
    x->exp = y->exp;
    x->avg_ttl = y->avg_ttl;
    y->main = tm;
    y->exp = te;
    y->avg_ttl = ta;
    fire(x, NULL, 0, DICE_KS_SWAPDB);
    fire(y, NULL, 0, DICE_KS_SWAPDB);
    return 0;
}

void dice_keyspace_stats(const dice_keyspace_t *ks, uint64_t *expired_keys,
                         uint64_t *keyspace_hits, uint64_t *keyspace_misses) {
    if (expired_keys)
        *expired_keys = ks->expired_keys;
    if (keyspace_hits)
        *keyspace_hits = ks->hits;
    if (keyspace_misses)
        *keyspace_misses = ks->misses;
}

void dice_keyspace_reset_stats(dice_keyspace_t *ks) {
    ks->expired_keys = ks->hits = ks->misses = 0;
}

size_t dice_db_size(const dice_db_t *db) {
    return dice__dict_size(&db->main);
}

size_t dice_db_expires(const dice_db_t *db) {
    return dice__dict_size(&db->exp);
}

int64_t dice_db_avg_ttl(const dice_db_t *db) {
    return db->avg_ttl;
}

/* ---- strings ---------------------------------------------------------- */

int dice_db_parse_ll(const char *s, size_t len, long long *out) {
    return dice_resp_str2ll(s, len, out);
}

static size_t ll_format(char *buf, long long v) {
    size_t n = dice__fmt_ll(buf, v);
    buf[n] = '\0'; /* DICE_DB_NUMBUF leaves room */
    return n;
}

/* String value of an entry; int values are formatted into numbuf. */
static void entry_str(uint8_t *e, char *numbuf, const char **p, size_t *n) {
    uint8_t *v = entry_val(e);
    switch (HDR_ENC(e[0])) {
    case ENC_EMB: {
        size_t h = varint_get(v, n);
        *p = (const char *)v + h;
        break;
    }
    case ENC_INT: {
        long long iv;
        memcpy(&iv, v, 8);
        *n = ll_format(numbuf, iv);
        *p = numbuf;
        break;
    }
    default: {
        rawstr *r;
        memcpy(&r, v, sizeof(r));
        *p = r->data;
        *n = r->len;
        break;
    }
    }
}

static int is_string(const uint8_t *e) {
    return HDR_ENC(e[0]) != ENC_OBJ;
}

int dice_db_get(dice_db_t *db, const char *key, size_t klen, char *numbuf,
                const char **val, size_t *vlen) {
    uint8_t *e = lookup(db, key, klen, NULL, NULL, LK_TOUCH | LK_STATS);
    if (!e)
        return DICE_ENOENT;
    if (!is_string(e))
        return DICE_EWRONGTYPE;
    entry_str(e, numbuf, val, vlen);
    return 0;
}

static int set_str(dice_db_t *db, const char *key, size_t klen, const char *val,
                   size_t vlen, unsigned flags, int64_t expire_at_ms,
                   uint8_t **stored) {
    uint8_t buf[16 + EMB_MAX];
    unsigned enc;
    rawstr *raw;
    size_t vsz = encode_str(buf, val, vlen, flags, &enc, &raw);
    if (vsz == 0)
        return DICE_ENOMEM;
    int rc = store_ex(db, key, klen, (uint8_t)(enc | (DICE_TYPE_STRING << 2)),
                      buf, vsz, flags, expire_at_ms, DICE_KS_SET, stored);
    if (rc == 1) {
        rc = 0; /* stored already expired: nothing kept */
        free(raw);
    } else if (rc < 0) {
        free(raw);
    }
    return rc;
}

int dice_db_set(dice_db_t *db, const char *key, size_t klen, const char *val,
                size_t vlen, unsigned flags, int64_t expire_at_ms) {
    return set_str(db, key, klen, val, vlen, flags, expire_at_ms, NULL);
}

int dice_db_set_int(dice_db_t *db, const char *key, size_t klen, long long v,
                    unsigned flags, int64_t expire_at_ms) {
    int rc =
        store(db, key, klen, ENC_INT, &v, 8, flags, expire_at_ms, DICE_KS_SET);
    return rc == 1 ? 0 : rc;
}

/* Replace e (found at slot) by a copy with a new value section, keeping
 * the key, TTL and clock. Frees e (and its old value storage if
 * free_old). */
static uint8_t *entry_revalue(dice_db_t *db, uint64_t *slot, uint8_t *e,
                              uint8_t hdr, const void *val, size_t vsz,
                              int free_old) {
    const char *k;
    size_t kl;
    entry_getkey(e, &k, &kl);
    int has_exp = (e[0] & HDR_EXP) != 0;
    uint8_t *ne = entry_build(db->ks, hdr, entry_clock(e), has_exp,
                              has_exp ? entry_exp(e) : 0, k, kl, val, vsz);
    if (!ne)
        return NULL;
    if (swap_entry(db, slot, e, ne) < 0) {
        entry_dealloc(db->ks, ne);
        return NULL;
    }
    if (free_old)
        entry_free(db->ks, e);
    else
        entry_dealloc(db->ks, e);
    return ne;
}

int dice_db_incrby(dice_db_t *db, const char *key, size_t klen, long long delta,
                   long long *out) {
    uint64_t h, *slot;
    uint8_t *e = lookup(db, key, klen, &h, &slot, LK_TOUCH);
    long long cur = 0;
    if (e) {
        if (!is_string(e))
            return DICE_EWRONGTYPE;
        if (HDR_ENC(e[0]) == ENC_INT) {
            memcpy(&cur, entry_val(e), 8);
        } else {
            const char *p;
            size_t n;
            entry_str(e, NULL, &p, &n);
            if (!dice_db_parse_ll(p, n, &cur))
                return DICE_EINVAL;
        }
    }
    if ((delta < 0 && cur < LLONG_MIN - delta) ||
        (delta > 0 && cur > LLONG_MAX - delta))
        return DICE_ERANGE;
    long long nv = cur + delta;
    if (!e) {
        int rc = dice_db_set_int(db, key, klen, nv, 0, 0);
        if (rc < 0)
            return rc;
    } else if (HDR_ENC(e[0]) == ENC_INT) {
        memcpy(entry_val(e), &nv, 8); /* same size: update in place */
        fire_entry(db, e, DICE_KS_SET);
    } else {
        uint8_t *ne = entry_revalue(db, slot, e, ENC_INT, &nv, 8, 1);
        if (!ne)
            return DICE_ENOMEM;
        fire_entry(db, ne, DICE_KS_SET);
    }
    *out = nv;
    return 0;
}

/* Redis's string2ld. */
static int parse_ld(const char *s, size_t n, long double *out) {
    char buf[DICE_DB_FLOATMAX + 1];
    char *end;
    if (n == 0 || n >= sizeof(buf) - 1)
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    long double v = strtold(buf, &end);
    /* All n bytes must be the number: an embedded NUL ends strtold early,
     * and Redis refuses such input. */
    if (isspace((unsigned char)buf[0]) || (size_t)(end - buf) != n ||
        (errno == ERANGE &&
         (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)) ||
        isnan(v))
        return 0;
    *out = v;
    return 1;
}

int dice_db_incrbyfloat(dice_db_t *db, const char *key, size_t klen,
                        const char *incr, size_t ilen, const char **val,
                        size_t *vlen) {
    uint64_t h, *slot;
    uint8_t *e = lookup(db, key, klen, &h, &slot, LK_TOUCH);
    long double cur = 0, inc;
    if (e) {
        if (!is_string(e))
            return DICE_EWRONGTYPE;
        char nb[DICE_DB_NUMBUF];
        const char *p;
        size_t n;
        entry_str(e, nb, &p, &n);
        if (!parse_ld(p, n, &cur))
            return DICE_EINVAL;
    }
    if (!parse_ld(incr, ilen, &inc))
        return DICE_EINVAL;
    long double v = cur + inc;
    if (isnan(v) || isinf(v))
        return DICE_ERANGE;
    char buf[DICE_FMT_LDOUBLE_MAX];
    size_t l = dice__fmt_long_double_human(buf, v);
    if (l == 0)
        return DICE_ERANGE;
    unsigned flags = DICE_SET_NOINT | DICE_SET_KEEPTTL;
    uint8_t *ne;
    int rc = set_str(db, key, klen, buf, l, flags, 0, &ne);
    if (rc < 0)
        return rc;
    if (!ne)
        return DICE_ENOENT;
    if (val)
        entry_str(ne, NULL, val, vlen); /* NOINT: never int-encoded */
    return 0;
}

/* Make e's value a RAW string with room for at least need bytes; returns
 * the (possibly new) entry and its rawstr, or NULL on OOM. */
static uint8_t *make_raw(dice_db_t *db, uint64_t *slot, uint8_t *e, size_t need,
                         rawstr **out) {
    if (HDR_ENC(e[0]) == ENC_RAW) {
        rawstr *r = entry_ptr(e);
        if (r->cap < need) {
            size_t cap = need < (1u << 20) ? need * 2 : need + (1u << 20);
            rawstr *nr = realloc(r, sizeof(rawstr) + cap);
            if (!nr)
                return NULL;
            nr->cap = cap;
            r = nr;
            memcpy(entry_val(e), &r, sizeof(r));
        }
        *out = r;
        return e;
    }
    char nb[DICE_DB_NUMBUF];
    const char *p;
    size_t n;
    entry_str(e, nb, &p, &n);
    size_t cap = need < n ? n : need;
    cap = cap < (1u << 20) ? cap * 2 : cap + (1u << 20);
    rawstr *r = malloc(sizeof(rawstr) + cap);
    if (!r)
        return NULL;
    r->len = n;
    r->cap = cap;
    memcpy(r->data, p, n);
    uint8_t *ne =
        entry_revalue(db, slot, e, (uint8_t)(ENC_RAW | (DICE_TYPE_STRING << 2)),
                      &r, sizeof(r), 1);
    if (!ne) {
        free(r);
        return NULL;
    }
    *out = r;
    return ne;
}

int dice_db_append(dice_db_t *db, const char *key, size_t klen,
                   const char *data, size_t len, size_t *newlen) {
    uint64_t h, *slot;
    uint8_t *e = lookup(db, key, klen, &h, &slot, LK_TOUCH);
    if (!e) {
        if (len > STR_MAX)
            return DICE_ERANGE;
        int rc = dice_db_set(db, key, klen, data, len, 0, 0);
        if (rc < 0)
            return rc;
        *newlen = len;
        return 0;
    }
    if (!is_string(e))
        return DICE_EWRONGTYPE;
    char nb[DICE_DB_NUMBUF];
    const char *p;
    size_t n;
    entry_str(e, nb, &p, &n);
    if (n + len > STR_MAX)
        return DICE_ERANGE;
    /* data may be this very value (from dice_db_get): make_raw may move
     * it, to the same offset in the new storage. */
    int inside = len > 0 && data >= p && data < p + n;
    size_t off = inside ? (size_t)(data - p) : 0;
    rawstr *r;
    uint8_t *ne = make_raw(db, slot, e, n + len, &r);
    if (!ne)
        return DICE_ENOMEM;
    memmove(r->data + r->len, inside ? r->data + off : data, len);
    r->len += len;
    *newlen = r->len;
    fire_entry(db, ne, DICE_KS_SET);
    return 0;
}

int dice_db_setrange(dice_db_t *db, const char *key, size_t klen, size_t offset,
                     const char *data, size_t len, size_t *newlen) {
    uint64_t h, *slot;
    uint8_t *e = lookup(db, key, klen, &h, &slot, LK_TOUCH);
    size_t cur = 0;
    const char *p = NULL;
    if (e) {
        if (!is_string(e))
            return DICE_EWRONGTYPE;
        char nb[DICE_DB_NUMBUF];
        entry_str(e, nb, &p, &cur);
    }
    if (len == 0) {
        *newlen = cur;
        return 0;
    }
    if (offset > STR_MAX || len > STR_MAX - offset)
        return DICE_ERANGE;
    size_t end = offset + len;
    if (!e) {
        rawstr *r = malloc(sizeof(rawstr) + end);
        if (!r)
            return DICE_ENOMEM;
        r->len = r->cap = end;
        memset(r->data, 0, offset);
        memcpy(r->data + offset, data, len);
        int rc =
            store(db, key, klen, (uint8_t)(ENC_RAW | (DICE_TYPE_STRING << 2)),
                  &r, sizeof(r), 0, 0, DICE_KS_SET);
        if (rc < 0) {
            free(r);
            return rc;
        }
        *newlen = end;
        return 0;
    }
    /* As in append: data may point into this value, which may move. */
    int inside = p && data >= p && data < p + cur;
    size_t off = inside ? (size_t)(data - p) : 0;
    rawstr *r;
    uint8_t *ne = make_raw(db, slot, e, end > cur ? end : cur, &r);
    if (!ne)
        return DICE_ENOMEM;
    const char *src = inside ? r->data + off : data;
    if (end > r->len) {
        /* Grow first, copying from the old bytes before they are padded. */
        size_t oldlen = r->len;
        r->len = end;
        memmove(r->data + offset, src, len);
        if (offset > oldlen)
            memset(r->data + oldlen, 0, offset - oldlen);
    } else {
        memmove(r->data + offset, src, len);
    }
    *newlen = r->len;
    fire_entry(db, ne, DICE_KS_SET);
    return 0;
}

/* ---- objects ---------------------------------------------------------- */

int dice_db_set_object(dice_db_t *db, const char *key, size_t klen, int type,
                       void *obj, unsigned flags, int64_t expire_at_ms) {
    if (type <= DICE_TYPE_STRING || type >= DICE_TYPE_COUNT)
        return DICE_EINVAL;
    int rc = store(db, key, klen, (uint8_t)(ENC_OBJ | (type << 2)), &obj,
                   sizeof(obj), flags, expire_at_ms, DICE_KS_OBJ_SET);
    if (rc != 0) {
        type_ops *o = &db->ks->ops[type];
        if (o->free_fn)
            o->free_fn(o->ctx, obj);
    }
    return rc == 1 ? 0 : rc;
}

int dice_db_get_object(dice_db_t *db, const char *key, size_t klen, int type,
                       void **obj) {
    uint8_t *e = lookup(db, key, klen, NULL, NULL, LK_TOUCH | LK_STATS);
    if (!e)
        return DICE_ENOENT;
    if (HDR_ENC(e[0]) != ENC_OBJ || (int)HDR_TYPE(e[0]) != type)
        return DICE_EWRONGTYPE;
    *obj = entry_ptr(e);
    return 0;
}

void dice_db_signal_modify(dice_db_t *db, const char *key, size_t klen) {
    fire(db, key, klen, DICE_KS_MODIFY);
}

/* ---- generic ---------------------------------------------------------- */

int dice_db_type(dice_db_t *db, const char *key, size_t klen) {
    uint8_t *e = lookup(db, key, klen, NULL, NULL, 0);
    return e ? (int)HDR_TYPE(e[0]) : DICE_ENOENT;
}

int dice_db_exists(dice_db_t *db, const char *key, size_t klen) {
    return lookup(db, key, klen, NULL, NULL, 0) != NULL;
}

int dice_db_delete(dice_db_t *db, const char *key, size_t klen) {
    uint64_t h;
    uint8_t *e = lookup(db, key, klen, &h, NULL, 0);
    if (!e)
        return 0;
    delete_entry(db, e, h, DICE_KS_DEL);
    return 1;
}

int dice_db_touch(dice_db_t *db, const char *key, size_t klen) {
    return lookup(db, key, klen, NULL, NULL, LK_TOUCH) != NULL;
}

/* Copy of e under another key (value section copied bit for bit). */
static uint8_t *entry_rekey(dice_keyspace_t *ks, uint8_t *e, const char *key,
                            size_t klen, int keep_clock) {
    uint8_t *v = entry_val(e);
    int has_exp = (e[0] & HDR_EXP) != 0;
    return entry_build(ks, e[0], keep_clock ? entry_clock(e) : clock_new(ks),
                       has_exp, has_exp ? entry_exp(e) : 0, key, klen, v,
                       val_size(e, v));
}

int dice_db_rename(dice_db_t *db, const char *src, size_t slen, const char *dst,
                   size_t dlen, int nx) {
    uint64_t hs, hd;
    uint8_t *e = lookup(db, src, slen, &hs, NULL, 0);
    if (!e)
        return DICE_ENOENT;
    if (slen == dlen && memcmp(src, dst, slen) == 0)
        return nx ? DICE_EEXIST : 0;
    uint8_t *d = lookup(db, dst, dlen, &hd, NULL, 0);
    if (d && nx)
        return DICE_EEXIST;
    uint8_t *ne = entry_rekey(db->ks, e, dst, dlen, 1);
    if (!ne)
        return DICE_ENOMEM;
    if (d) {
        unlink_entry(db, d, hd);
        entry_free(db->ks, d);
    }
    unlink_entry(db, e, hs);
    if (link_entry(db, ne, hd) < 0) {
        /* Put the source back; the value stays owned by e. */
        entry_dealloc(db->ks, ne);
        link_entry(db, e, hs);
        return DICE_ENOMEM;
    }
    fire(db, src, slen, DICE_KS_RENAME_FROM);
    fire_entry(db, ne, DICE_KS_RENAME_TO); /* dst may have been in d */
    entry_dealloc(db->ks, e);              /* value storage now belongs to ne */
    return 0;
}

int dice_db_copy(dice_db_t *sdb, const char *src, size_t slen, dice_db_t *ddb,
                 const char *dst, size_t dlen, int replace) {
    dice_keyspace_t *ks = sdb->ks;
    uint64_t hd;
    if (sdb == ddb && slen == dlen && memcmp(src, dst, slen) == 0)
        return DICE_EINVAL;
    uint8_t *e = lookup(sdb, src, slen, NULL, NULL, 0);
    if (!e)
        return DICE_ENOENT;
    uint8_t *d = lookup(ddb, dst, dlen, &hd, NULL, 0);
    if (d && !replace)
        return DICE_EEXIST;
    uint8_t *ne = entry_rekey(ks, e, dst, dlen, 0);
    if (!ne)
        return DICE_ENOMEM;
    unsigned enc = HDR_ENC(e[0]);
    if (enc == ENC_RAW) {
        rawstr *r = entry_ptr(e);
        rawstr *c = malloc(sizeof(rawstr) + r->len);
        if (!c) {
            entry_dealloc(ks, ne);
            return DICE_ENOMEM;
        }
        c->len = c->cap = r->len;
        memcpy(c->data, r->data, r->len);
        memcpy(entry_val(ne), &c, sizeof(c));
    } else if (enc == ENC_OBJ) {
        type_ops *o = &ks->ops[HDR_TYPE(e[0])];
        if (!o->dup_fn) {
            entry_dealloc(ks, ne);
            return DICE_EINVAL;
        }
        void *c = o->dup_fn(o->ctx, entry_ptr(e));
        if (!c) {
            entry_dealloc(ks, ne);
            return DICE_ENOMEM;
        }
        memcpy(entry_val(ne), &c, sizeof(c));
    }
    if (d) {
        unlink_entry(ddb, d, hd);
        entry_free(ks, d);
    }
    if (link_entry(ddb, ne, hd) < 0) {
        entry_free(ks, ne);
        return DICE_ENOMEM;
    }
    fire_entry(ddb, ne, DICE_KS_COPY_TO); /* dst may have been in d */
    return 0;
}

int dice_db_move(dice_db_t *db, const char *key, size_t klen, dice_db_t *dst) {
    uint64_t hs, hd;
    if (db == dst)
        return DICE_EINVAL;
    uint8_t *e = lookup(db, key, klen, &hs, NULL, 0);
    if (!e)
        return DICE_ENOENT;
    if (lookup(dst, key, klen, &hd, NULL, 0))
        return DICE_EEXIST;
    unlink_entry(db, e, hs);
    if (link_entry(dst, e, hd) < 0) {
        link_entry(db, e, hs);
        return DICE_ENOMEM;
    }
    fire(db, key, klen, DICE_KS_MOVE_FROM);
    fire(dst, key, klen, DICE_KS_MOVE_TO);
    return 0;
}

int dice_db_random_key(dice_db_t *db, const char **key, size_t *klen) {
    for (;;) {
        uint8_t *e = dice__dict_random(&db->main);
        if (!e)
            return DICE_ENOENT;
        const char *k;
        size_t kl;
        entry_getkey(e, &k, &kl);
        if (is_expired(db->ks, e)) {
            delete_entry(db, e, dice__dict_hash(&db->main, k, kl),
                         DICE_KS_EXPIRED);
            continue;
        }
        *key = k;
        *klen = kl;
        return 0;
    }
}

typedef struct match_ctx {
    dice_db_t *db;
    const char *pat;
    size_t plen;
    int all;
    int type;
    dice_db_key_fn fn;
    void *ctx;
    size_t n;
} match_ctx;

static int match_visit(void *c, void *ev) {
    match_ctx *m = c;
    uint8_t *e = ev;
    const char *k;
    size_t kl;
    if (is_expired(m->db->ks, e))
        return 0;
    if (m->type >= 0 && (int)HDR_TYPE(e[0]) != m->type)
        return 0;
    entry_getkey(e, &k, &kl);
    if (!m->all && !dice_glob_match(m->pat, m->plen, k, kl, 0))
        return 0;
    m->n++;
    m->fn(m->ctx, k, kl);
    return 0;
}

size_t dice_db_keys(dice_db_t *db, const char *pat, size_t plen,
                    dice_db_key_fn fn, void *ctx) {
    match_ctx m = {db, pat, plen, plen == 1 && pat[0] == '*', -1, fn, ctx, 0};
    dice__dict_foreach(&db->main, match_visit, &m);
    return m.n;
}

typedef struct count_ctx {
    match_ctx *m;
    size_t visited;
} count_ctx;

static void scan_count_visit(void *c, void *ev) {
    count_ctx *cc = c;
    cc->visited++; /* COUNT counts visited keys, matching or not */
    match_visit(cc->m, ev);
}

int dice_db_scan(dice_db_t *db, uint64_t cursor, size_t count, const char *pat,
                 size_t plen, int type, dice_db_key_fn fn, void *ctx,
                 uint64_t *next) {
    match_ctx m = {db,   pat, plen, !pat || (plen == 1 && pat[0] == '*'),
                   type, fn,  ctx,  0};
    count_ctx cc = {&m, 0};
    if (count == 0)
        count = 10;
    size_t maxiter = count * 10;
    do {
        cursor = dice__dict_scan(&db->main, cursor, scan_count_visit, &cc);
    } while (cursor && cc.visited < count && --maxiter);
    *next = cursor;
    return 0;
}

/* ---- expiry ----------------------------------------------------------- */

/* Rebuild e with a different TTL presence. */
static uint8_t *entry_set_exp_flag(dice_db_t *db, uint64_t *slot, uint8_t *e,
                                   int has, int64_t at) {
    size_t sz = entry_size(e), off = key_off(e);
    size_t nsz = sz - off + (has ? 12 : 4);
    unsigned cls;
    uint8_t *ne = entry_alloc(db->ks, nsz, &cls);
    if (!ne)
        return NULL;
    memcpy(ne, e, 4);
    uint8_t hdr = (uint8_t)(has ? (e[0] | HDR_EXP) : (e[0] & ~HDR_EXP));
    ne[0] = (uint8_t)((hdr & ~HDR_CLS_MASK) | (cls << HDR_CLS_SHIFT));
    if (has)
        memcpy(ne + 4, &at, 8);
    memcpy(ne + (has ? 12 : 4), e + off, sz - off);
    if (swap_entry(db, slot, e, ne) < 0) {
        entry_dealloc(db->ks, ne);
        return NULL;
    }
    entry_dealloc(db->ks, e);
    return ne;
}

int dice_db_set_expire(dice_db_t *db, const char *key, size_t klen,
                       int64_t at_ms, unsigned cond) {
    uint64_t h, *slot;
    uint8_t *e = lookup(db, key, klen, &h, &slot, 0);
    if (!e)
        return DICE_ENOENT;
    int has = (e[0] & HDR_EXP) != 0;
    int64_t cur = has ? entry_exp(e) : 0;
    if ((cond & DICE_EXPIRE_NX) && has)
        return 0;
    if ((cond & DICE_EXPIRE_XX) && !has)
        return 0;
    if ((cond & DICE_EXPIRE_GT) && (!has || at_ms <= cur))
        return 0;
    if ((cond & DICE_EXPIRE_LT) && has && at_ms >= cur)
        return 0;
    if (at_ms <= db->ks->now) {
        delete_entry(db, e, h, DICE_KS_DEL);
        return 1;
    }
    if (has)
        memcpy(e + 4, &at_ms, 8);
    else if (!(e = entry_set_exp_flag(db, slot, e, 1, at_ms)))
        return DICE_ENOMEM;
    fire_entry(db, e, DICE_KS_EXPIRE);
    return 1;
}

int dice_db_get_expire(dice_db_t *db, const char *key, size_t klen,
                       int64_t *at_ms) {
    uint8_t *e = lookup(db, key, klen, NULL, NULL, 0);
    if (!e)
        return DICE_ENOENT;
    *at_ms = (e[0] & HDR_EXP) ? entry_exp(e) : -1;
    return 0;
}

int dice_db_persist(dice_db_t *db, const char *key, size_t klen) {
    uint64_t *slot;
    uint8_t *e = lookup(db, key, klen, NULL, &slot, 0);
    if (!e || !(e[0] & HDR_EXP))
        return 0;
    if (!(e = entry_set_exp_flag(db, slot, e, 0, 0)))
        return DICE_ENOMEM;
    fire_entry(db, e, DICE_KS_PERSIST);
    return 1;
}

/* ---- OBJECT ----------------------------------------------------------- */

int dice_db_object_encoding(dice_db_t *db, const char *key, size_t klen,
                            const char **enc) {
    uint8_t *e = lookup(db, key, klen, NULL, NULL, 0);
    if (!e)
        return DICE_ENOENT;
    switch (HDR_ENC(e[0])) {
    case ENC_EMB: *enc = "embstr"; break;
    case ENC_INT: *enc = "int"; break;
    case ENC_RAW: *enc = "raw"; break;
    default: {
        type_ops *o = &db->ks->ops[HDR_TYPE(e[0])];
        *enc =
            o->encoding_fn ? o->encoding_fn(o->ctx, entry_ptr(e)) : "unknown";
        break;
    }
    }
    return 0;
}

int dice_db_object_idletime(dice_db_t *db, const char *key, size_t klen,
                            int64_t *secs) {
    uint8_t *e = lookup(db, key, klen, NULL, NULL, 0);
    if (!e)
        return DICE_ENOENT;
    *secs = (int64_t)((lru_now(db->ks) - entry_clock(e)) & 0xffffff);
    return 0;
}

int dice_db_object_freq(dice_db_t *db, const char *key, size_t klen,
                        int *freq) {
    uint8_t *e = lookup(db, key, klen, NULL, NULL, 0);
    if (!e)
        return DICE_ENOENT;
    *freq = (int)lfu_decayed(db->ks, entry_clock(e));
    return 0;
}

/* ---- glob ------------------------------------------------------------- */

static int fold(int c, int nocase) {
    return nocase ? tolower(c) : c;
}

/* Does the single-character token at pat[*pi] match c? Advances *pi past
 * the token. Mirrors stringmatchlen's quirks: an unterminated [ class ends
 * at the pattern end, "x-]" inside a class is a range up to ']', a
 * trailing backslash is literal, ranges compare chars as signed. */
static int glob_one(const char *pat, size_t plen, size_t *pi, char c,
                    int nocase) {
    size_t i = *pi;
    if (pat[i] == '?') {
        *pi = i + 1;
        return 1;
    }
    if (pat[i] == '[') {
        i++;
        int neg = i < plen && pat[i] == '^';
        int hit = 0;
        if (neg)
            i++;
        for (;;) {
            if (i >= plen)
                break; /* unterminated: the class ends with the pattern */
            if (pat[i] == '\\' && plen - i >= 2) {
                i++;
                if (pat[i] == c)
                    hit = 1;
            } else if (pat[i] == ']') {
                i++;
                break;
            } else if (plen - i >= 3 && pat[i + 1] == '-') {
                int lo = (signed char)pat[i], hi = (signed char)pat[i + 2];
                int x = (signed char)c;
                if (lo > hi) {
                    int t = lo;
                    lo = hi;
                    hi = t;
                }
                if (nocase) {
                    lo = tolower(lo & 0xff);
                    hi = tolower(hi & 0xff);
                    x = tolower(x & 0xff);
                    lo = (signed char)lo;
                    hi = (signed char)hi;
                    x = (signed char)x;
                }
                i += 2;
                if (x >= lo && x <= hi)
                    hit = 1;
            } else if (fold((unsigned char)pat[i], nocase) ==
                       fold((unsigned char)c, nocase)) {
                hit = 1;
            }
            i++;
        }
        *pi = i;
        return neg ? !hit : hit;
    }
    if (pat[i] == '\\' && plen - i >= 2)
        i++;
    *pi = i + 1;
    return fold((unsigned char)pat[i], nocase) ==
           fold((unsigned char)c, nocase);
}

int dice_glob_match(const char *pat, size_t plen, const char *str, size_t slen,
                    int nocase) {
    /* Redis matches nothing against an empty string but the empty
     * pattern. */
    if (slen == 0)
        return plen == 0;
    size_t pi = 0, si = 0;
    size_t star_p = 0, star_s = 0;
    int have_star = 0;
    /* Backtracking only to the latest '*' is complete here (every other
     * token eats exactly one byte) and bounds the work to O(plen*slen). */
    while (si < slen) {
        if (pi < plen && pat[pi] == '*') {
            while (pi < plen && pat[pi] == '*')
                pi++;
            if (pi == plen)
                return 1;
            have_star = 1;
            star_p = pi;
            star_s = si;
            continue;
        }
        if (pi < plen) {
            size_t np = pi;
            if (glob_one(pat, plen, &np, str[si], nocase)) {
                pi = np;
                si++;
                continue;
            }
        }
        if (!have_star)
            return 0;
        pi = star_p;
        si = ++star_s;
    }
    while (pi < plen && pat[pi] == '*')
        pi++;
    return pi == plen;
}
