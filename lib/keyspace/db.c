/* The keyspace core: databases of typed values with expiry, on
 * lib/keyspace/dict.c. The entry layout is described in
 * lib/keyspace/db_internal.h; this file builds, moves and frees entries, runs
 * the write path (store, revalue, delete, rename, copy, move, expire) and its
 * hooks, and keeps the registry of type methods. What a value means is the
 * types layer's (lib/types/): strings are in lib/types/string.c.
 *
 * A key "key:0000123" with value "v123456" takes 4 + 1 + 11 + 1 + 7 = 24
 * bytes, which the entry pool serves from a 24-byte slot. Keys with a TTL
 * are also referenced from a second table (db->exp) that the active expiry
 * cycle samples; both tables are fixed up when an entry is reallocated. */
#include "dice/db.h"

#include "keyspace/db_internal.h"
#include "keyspace/keyspace_internal.h"

#include <ctype.h>
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DICE_POOL_ENTRIES DICE__POOL_ON
#define LFU_INIT DICE__LFU_INIT_VAL

/* ---- entry encoding --------------------------------------------------- */

static size_t varint_len(size_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
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

static uint32_t entry_clock(const uint8_t *e) {
    return (uint32_t)e[1] | ((uint32_t)e[2] << 8) | ((uint32_t)e[3] << 16);
}

static void entry_set_clock(uint8_t *e, uint32_t c) {
    e[1] = (uint8_t)c;
    e[2] = (uint8_t)(c >> 8);
    e[3] = (uint8_t)(c >> 16);
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

/* Redis's LFU counter rules (evict.c): LFUDecrAndReturn takes one off per
 * lfu-decay-time minutes elapsed (the 16-bit minute clock wraps), and
 * LFULogIncr adds one with probability 1 / ((counter - LFU_INIT_VAL) *
 * lfu-log-factor + 1), so 255 takes about a million hits at factor 10. */
unsigned dice__lfu_decr(unsigned counter, uint32_t then, uint32_t now,
                        unsigned decay_time) {
    uint32_t elapsed = now >= then ? now - then : 65535 - then + now;
    uint32_t periods = decay_time ? elapsed / decay_time : 0;
    return periods > counter ? 0 : counter - periods;
}

unsigned dice__lfu_log_incr(unsigned counter, unsigned log_factor, double r) {
    if (counter >= 255)
        return 255;
    double base = counter > LFU_INIT ? counter - LFU_INIT : 0;
    return r < 1.0 / (base * log_factor + 1) ? counter + 1 : counter;
}

static unsigned lfu_decayed(const dice_keyspace_t *ks, uint32_t c) {
    return dice__lfu_decr(c & 0xff, c >> 8, lfu_minutes(ks),
                          ks->lfu_decay_time);
}

/* LFU half of dice__ks_lookup's touch (the LRU half is inline there). */
void dice__ks_touch_lfu(dice_keyspace_t *ks, uint8_t *e) {
    unsigned counter = lfu_decayed(ks, entry_clock(e));
    if (counter < 255) {
        double r = (double)(rng_next(ks) >> 11) / 9007199254740992.0;
        counter = dice__lfu_log_incr(counter, ks->lfu_log_factor, r);
    }
    entry_set_clock(e, (lfu_minutes(ks) << 8) | counter);
}

/* ---- core helpers ----------------------------------------------------- */

void dice__ks_fire_entry(dice_db_t *db, uint8_t *e, int ev) {
    const char *k;
    size_t kl;
    entry_getkey(e, &k, &kl);
    dice__ks_fire(db, k, kl, ev);
}

/* Free what an entry's value owns outside the entry (a raw string or an
 * object), given the header it had. */
static void value_release_why(dice_keyspace_t *ks, uint8_t hdr, void *ptr,
                              int why) {
    unsigned enc = HDR_ENC(hdr);
    if (enc == ENC_RAW) {
        free(ptr);
    } else if (enc == ENC_OBJ) {
        const dice__type_slot *t = &ks->types[HDR_TYPE(hdr)];
        if (!t->m.free)
            return;
        if (why >= 0 && ks->free_hook && (ks->lazy_mask & (1u << why))) {
            /* The server's lazy free: it frees small objects at once and
             * hands big ones to its thread. */
            size_t effort =
                t->m.free_effort ? t->m.free_effort(t->ctx, ptr) : 1;
            ks->free_hook(ks->free_hook_ctx, ptr, t->m.free, t->ctx, effort);
            return;
        }
        t->m.free(t->ctx, ptr);
    }
}

/* An object dropped by a command (overwrite, replace): lazily freed with
 * lazyfree-lazy-server-del. */
static void value_release(dice_keyspace_t *ks, uint8_t hdr, void *ptr) {
    value_release_why(ks, hdr, ptr, DICE__FREE_DEL);
}

static void *entry_extptr(uint8_t *e) {
    unsigned enc = HDR_ENC(e[0]);
    return (enc == ENC_RAW || enc == ENC_OBJ) ? entry_ptr(e) : NULL;
}

static void entry_free_why(dice_keyspace_t *ks, uint8_t *e, int why) {
    value_release_why(ks, e[0], entry_extptr(e), why);
    entry_dealloc(ks, e);
}

static void entry_free(dice_keyspace_t *ks, uint8_t *e) {
    entry_free_why(ks, e, DICE__FREE_DEL);
}

/* For dice_keyspace_free: everything at once, on the caller's thread. */
static void entry_free_cb(void *ctx, void *e) {
    entry_free_why(ctx, e, -1);
}

static void entry_flush_cb(void *ctx, void *e) {
    entry_free_why(ctx, e, DICE__FREE_FLUSH);
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
    dice__ks_fire(db, k, kl, ev);
    entry_free_why(db->ks, e,
                   ev == DICE_KS_EXPIRED ? DICE__FREE_EXPIRE : DICE__FREE_DEL);
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

/* link_entry for a key that was not there (dbAdd): tells on_new. */
static int link_new(dice_db_t *db, uint8_t *e, uint64_t h) {
    /* Under a pause, lookups keep expired keys: one of them may still hold
     * this key's slot. It goes now, as an expiry. */
    if (__builtin_expect(db->ks->expire_paused, 0)) {
        const char *k;
        size_t kl;
        entry_getkey(e, &k, &kl);
        uint8_t *kept = dice__dict_find(&db->main, k, kl);
        if (kept)
            delete_entry(db, kept, h, DICE_KS_EXPIRED);
    }
    int rc = link_entry(db, e, h);
    if (rc == 0 && db->ks->on_new) {
        const char *k;
        size_t kl;
        entry_getkey(e, &k, &kl);
        db->ks->on_new(db->ks->on_new_ctx, db->index, k, kl);
    }
    return rc;
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

void dice__ks_expire_entry(dice_db_t *db, uint8_t *e, uint64_t h) {
    if (db->ks->expire_paused)
        return; /* kept, reported missing, until the pause ends */
    delete_entry(db, e, h, DICE_KS_EXPIRED);
}

/* See lib/keyspace/db_internal.h. */
int dice__ks_store(dice_db_t *db, const char *key, size_t klen, uint8_t hdr,
                   const void *val, size_t vsz, unsigned flags, int64_t exp_at,
                   uint8_t **stored) {
    dice_keyspace_t *ks = db->ks;
    int ev = HDR_ENC(hdr) == ENC_OBJ ? DICE_KS_OBJ_SET : DICE_KS_SET;
    if (stored)
        *stored = NULL;
    uint64_t h, *slot;
    uint8_t *old = dice__ks_lookup(db, key, klen, &h, &slot, 0);
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
        dice__ks_fire(db, key, klen, ev); /* the key bytes stayed in place */
        if (flags & DICE_SET_EXPIRE)
            dice__ks_fire(db, key, klen, DICE_KS_EXPIRE);
        if (stored)
            *stored = old;
        return 0;
    }
    uint8_t *e =
        entry_build(ks, hdr, clock_new(ks), has_exp, exp, key, klen, val, vsz);
    if (!e)
        return DICE_ENOMEM;
    int rc = old ? swap_entry(db, slot, old, e) : link_new(db, e, h);
    if (rc < 0) {
        entry_dealloc(ks, e);
        return rc;
    }
    if (old)
        entry_free(ks, old);
    const char *k;
    size_t kl;
    entry_getkey(e, &k, &kl);
    dice__ks_fire(db, k, kl, ev);
    if (flags & DICE_SET_EXPIRE)
        dice__ks_fire(db, k, kl, DICE_KS_EXPIRE);
    if (stored)
        *stored = e;
    return rc;
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
    ks->lfu_log_factor = 10;
    ks->lfu_decay_time = 1;
    ks->limits = (dice__enc_limits)DICE__ENC_LIMITS_DEFAULT;
    *out = ks;
    return 0;
}

size_t dice__ks_entry_bytes(uint8_t *e) {
    size_t n = entry_capacity(e) + sizeof(uint64_t); /* + its table slot */
    if (e[0] & HDR_EXP)
        n += sizeof(uint64_t); /* and its slot in the expire table */
    if (HDR_ENC(e[0]) == ENC_RAW)
        n += malloc_usable_size(entry_ptr(e));
    return n;
}

void dice__keyspace_set_limits(dice_keyspace_t *ks, const dice__enc_limits *l) {
    ks->limits = *l;
}

const dice__enc_limits *dice__keyspace_limits(const dice_keyspace_t *ks) {
    return &ks->limits;
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

uint64_t dice__keyspace_dirty(const dice_keyspace_t *ks) {
    return ks->dirty;
}

void dice__keyspace_pause_expiry(dice_keyspace_t *ks, int on) {
    ks->expire_paused = on;
}

void dice__keyspace_on_expired(dice_keyspace_t *ks, dice__ks_expired_fn fn,
                               void *ctx) {
    ks->on_expired = fn;
    ks->on_expired_ctx = ctx;
}

/* Whether dice__ks_fire has anyone to call beyond the counters. */
static void observed_update(dice_keyspace_t *ks) {
    ks->observed = (ks->on_write != NULL) | (ks->on_touch != NULL) << 1 |
                   (ks->hook != NULL) << 2 | (ks->on_track != NULL) << 3;
}

void dice__keyspace_on_write(dice_keyspace_t *ks, dice__ks_write_fn fn,
                             void *ctx) {
    ks->on_write = fn;
    ks->on_write_ctx = ctx;
    observed_update(ks);
}

void dice__keyspace_set_free_hook(dice_keyspace_t *ks, dice__ks_free_fn fn,
                                  void *ctx) {
    ks->free_hook = fn;
    ks->free_hook_ctx = ctx;
}

unsigned dice__keyspace_set_lazy(dice_keyspace_t *ks, unsigned mask) {
    unsigned old = ks->lazy_mask;
    ks->lazy_mask = mask;
    return old;
}

unsigned dice__keyspace_lazy(const dice_keyspace_t *ks) {
    return ks->lazy_mask;
}

__attribute__((noinline)) void dice__ks_observe(dice_db_t *db, const char *k,
                                                size_t kl, int ev) {
    dice_keyspace_t *ks = db->ks;
    if (ks->on_write)
        ks->on_write(ks->on_write_ctx, db->index, k, kl, ev);
    /* A FLUSHDB or SWAPDB was announced to WATCH before it happened; the
     * call after it (key NULL) has nothing to add. */
    if (ks->on_touch && k)
        ks->on_touch(ks->on_touch_ctx, db->index, k, kl, ev, -1);
    if (ks->on_track && k)
        ks->on_track(ks->on_track_ctx, db->index, k, kl, ev);
    if (ks->hook)
        ks->hook(ks->hook_ctx, db->index, k, kl, ev);
}

void dice__keyspace_on_touch(dice_keyspace_t *ks, dice__ks_touch_fn fn,
                             void *ctx) {
    ks->on_touch = fn;
    ks->on_touch_ctx = ctx;
    observed_update(ks);
}

void dice__keyspace_on_track(dice_keyspace_t *ks, dice__ks_write_fn fn,
                             void *ctx) {
    ks->on_track = fn;
    ks->on_track_ctx = ctx;
    observed_update(ks);
}

void dice__keyspace_on_new(dice_keyspace_t *ks, dice__ks_expired_fn fn,
                           void *ctx) {
    ks->on_new = fn;
    ks->on_new_ctx = ctx;
}

void dice_keyspace_set_hook(dice_keyspace_t *ks, dice_ks_hook_fn fn,
                            void *ctx) {
    ks->hook = fn;
    ks->hook_ctx = ctx;
    observed_update(ks);
}

/* The registry of type methods. Tables are copied by the size their version
 * had, so a caller built against an older header (a shorter struct) is never
 * read past its end. */
static size_t methods_size(unsigned version) {
    switch (version) {
    case 1: return offsetof(dice_type_methods, free_effort);
    case 2: return sizeof(dice_type_methods);
    default: return 0;
    }
}

int dice_keyspace_register_type(dice_keyspace_t *ks, int type,
                                const dice_type_methods *methods, void *ctx) {
    if (!ks || !methods || type <= DICE_TYPE_STRING || type >= DICE_TYPE_COUNT)
        return DICE_EINVAL;
    size_t n = methods_size(methods->version);
    if (n == 0)
        return DICE_EINVAL;
    dice__type_slot *t = &ks->types[type];
    memset(&t->m, 0, sizeof(t->m));
    memcpy(&t->m, methods, n);
    t->ctx = ctx;
    return 0;
}

/* The positional registration that came before dice_type_methods: a thin
 * shim that fills in a version 1 table. It stays because removing it would
 * break the ABI (tests/abi/libdice.abi). */
int dice_keyspace_set_type_ops(dice_keyspace_t *ks, int type,
                               dice_obj_free_fn free_fn, dice_obj_dup_fn dup_fn,
                               dice_obj_encoding_fn encoding_fn, void *ctx) {
    dice_type_methods m;
    memset(&m, 0, sizeof(m));
    m.version = 1;
    m.free = free_fn;
    m.copy = dup_fn;
    m.encoding = encoding_fn;
    return dice_keyspace_register_type(ks, type, &m, ctx);
}

void dice_keyspace_set_lfu(dice_keyspace_t *ks, int on) {
    ks->lfu = on != 0;
}

int dice_keyspace_lfu(const dice_keyspace_t *ks) {
    return ks->lfu;
}

void dice__keyspace_set_lfu_params(dice_keyspace_t *ks, unsigned log_factor,
                                   unsigned decay_time) {
    ks->lfu_log_factor = log_factor;
    ks->lfu_decay_time = decay_time;
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

/* ---- flushing --------------------------------------------------------

 * A lazy FLUSHALL / FLUSHDB (FLUSHALL ASYNC, lazyfree-lazy-user-flush)
 * that empties every db that holds keys does not walk the entries on the
 * loop: the dbs' tables and the entry pool move whole into a corpse, the
 * keyspace starts again from empty tables and an empty pool, and the free
 * hook (the lazy-free thread) walks the corpse: what the entries own
 * outside the pool (raw strings, objects by their type's free, entries too
 * big for a slot), then the tables and the pool's pages. The loop's part
 * is a few struct copies. */
typedef struct flush_corpse {
    dice__type_slot types[DICE_TYPE_COUNT]; /* the free methods */
    dice_pool_t pool;
    size_t ndicts;
    dict d[]; /* main, exp, main, exp... */
} flush_corpse;

static void corpse_entry_cb(void *ctx, void *entry) {
    const flush_corpse *c = ctx;
    uint8_t *e = entry;
    unsigned enc = HDR_ENC(e[0]);
    if (enc == ENC_RAW) {
        free(entry_ptr(e));
    } else if (enc == ENC_OBJ) {
        const dice__type_slot *t = &c->types[HDR_TYPE(e[0])];
        if (t->m.free)
            t->m.free(t->ctx, entry_ptr(e));
    }
    if (!HDR_CLS(e[0]))
        free(e); /* pooled ones go with the pool's pages */
}

/* Any thread: the corpse and everything in it. */
static void corpse_free(void *ctx, void *obj) {
    (void)ctx;
    flush_corpse *c = obj;
    for (size_t i = 0; i < c->ndicts; i++)
        dice__dict_clear(&c->d[i], i % 2 ? NULL : corpse_entry_cb, c);
    dice__pool_release(&c->pool);
    free(c);
}

/* Move the tables of dbs [first, last] and the pool into a corpse for the
 * free hook, when the flush is lazy and no db outside the range holds a
 * key (the pool is shared by every db). Returns 1 if done (the tables are
 * then empty), 0 to flush entry by entry. */
static int flush_detach(dice_keyspace_t *ks, int first, int last) {
    if (!ks->free_hook || !(ks->lazy_mask & (1u << DICE__FREE_FLUSH)))
        return 0;
    size_t n = 0;
    for (int i = 0; i < ks->ndbs; i++) {
        size_t k = dice__dict_size(&ks->dbs[i].main);
        if (k && (i < first || i > last))
            return 0;
        n += k;
    }
    if (n == 0)
        return 0;
    size_t nd = 2 * (size_t)(last - first + 1);
    flush_corpse *c = malloc(sizeof(*c) + nd * sizeof(dict));
    if (!c)
        return 0;
    memcpy(c->types, ks->types, sizeof(c->types));
    c->pool = ks->pool;
    memset(&ks->pool, 0, sizeof(ks->pool));
    c->ndicts = nd;
    for (int i = first; i <= last; i++) {
        dice_db_t *db = &ks->dbs[i];
        dict *dm = &c->d[2 * (size_t)(i - first)], *dx = dm + 1;
        *dm = db->main;
        *dx = db->exp;
        dice__dict_init(&db->main, dm->getkey);
        dice__dict_init(&db->exp, dx->getkey);
        db->main.step = dm->step;
        db->exp.step = dx->step;
    }
    /* Whatever its size, as Redis's emptyDbAsync: the free hook takes an
     * effort past any threshold to its thread. */
    ks->free_hook(ks->free_hook_ctx, c, corpse_free, NULL, SIZE_MAX);
    return 1;
}

/* FLUSHDB of dbs [first, last]: hooks before, tables emptied (lazily as a
 * whole when it can be, else entry by entry), events after. */
static size_t flush_range(dice_keyspace_t *ks, int first, int last) {
    size_t total = 0;
    for (int i = first; i <= last; i++) {
        dice_db_t *db = &ks->dbs[i];
        if (dice__dict_size(&db->main) && ks->on_touch)
            ks->on_touch(ks->on_touch_ctx, db->index, NULL, 0, DICE_KS_FLUSHDB,
                         -1);
    }
    size_t *sizes = NULL, one;
    sizes = first == last ? &one
                          : malloc((size_t)(last - first + 1) * sizeof(*sizes));
    for (int i = first; i <= last; i++) {
        size_t k = dice__dict_size(&ks->dbs[i].main);
        if (sizes)
            sizes[i - first] = k;
        total += k;
    }
    if (!flush_detach(ks, first, last)) {
        for (int i = first; i <= last; i++) {
            dice_db_t *db = &ks->dbs[i];
            dice__dict_clear(&db->exp, NULL, NULL);
            dice__dict_clear(&db->main, entry_flush_cb, ks);
        }
    }
    for (int i = first; i <= last; i++) {
        dice_db_t *db = &ks->dbs[i];
        db->avg_ttl = 0;
        if (sizes ? sizes[i - first] : 1)
            dice__ks_fire(db, NULL, 0, DICE_KS_FLUSHDB);
    }
    if (sizes != &one)
        free(sizes);
    return total;
}

size_t dice_db_flush(dice_db_t *db) {
    return flush_range(db->ks, db->index, db->index);
}

size_t dice_keyspace_flushall(dice_keyspace_t *ks) {
    return flush_range(ks, 0, ks->ndbs - 1);
}

int dice_keyspace_swapdb(dice_keyspace_t *ks, int a, int b) {
    if (a < 0 || b < 0 || a >= ks->ndbs || b >= ks->ndbs)
        return DICE_EINVAL;
    if (a == b)
        return 0;
    dice_db_t *x = &ks->dbs[a], *y = &ks->dbs[b];
    if (ks->on_touch) {
        ks->on_touch(ks->on_touch_ctx, a, NULL, 0, DICE_KS_SWAPDB, b);
        ks->on_touch(ks->on_touch_ctx, b, NULL, 0, DICE_KS_SWAPDB, a);
    }
    dict tm = x->main, te = x->exp;
    int64_t ta = x->avg_ttl;
    x->main = y->main;
    x->exp = y->exp;
    x->avg_ttl = y->avg_ttl;
    y->main = tm;
    y->exp = te;
    y->avg_ttl = ta;
    dice__ks_fire(x, NULL, 0, DICE_KS_SWAPDB);
    dice__ks_fire(y, NULL, 0, DICE_KS_SWAPDB);
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

/* See lib/keyspace/db_internal.h. */
uint8_t *dice__ks_revalue(dice_db_t *db, uint64_t *slot, uint8_t *e,
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

/* ---- objects ---------------------------------------------------------- */

int dice_db_set_object(dice_db_t *db, const char *key, size_t klen, int type,
                       void *obj, unsigned flags, int64_t expire_at_ms) {
    if (type <= DICE_TYPE_STRING || type >= DICE_TYPE_COUNT)
        return DICE_EINVAL;
    int rc = dice__ks_store(db, key, klen, DICE__HDR(ENC_OBJ, type), &obj,
                            sizeof(obj), flags, expire_at_ms, NULL);
    if (rc != 0) {
        const dice__type_slot *t = &db->ks->types[type];
        if (t->m.free)
            t->m.free(t->ctx, obj);
    }
    return rc == 1 ? 0 : rc;
}

/* The object of an entry of a type other than string: 0 with *obj, or
 * DICE_EWRONGTYPE. */
static int entry_object(uint8_t *e, int type, void **obj) {
    unsigned enc = HDR_ENC(e[0]);
    if ((int)HDR_TYPE(e[0]) != type || type == DICE_TYPE_STRING ||
        (enc != ENC_OBJ && enc != ENC_EMB))
        return DICE_EWRONGTYPE;
    *obj = enc == ENC_OBJ ? entry_ptr(e) : entry_inline_obj(e);
    return 0;
}

int dice_db_get_object(dice_db_t *db, const char *key, size_t klen, int type,
                       void **obj) {
    uint8_t *e =
        dice__ks_lookup(db, key, klen, NULL, NULL, LK_TOUCH | LK_STATS);
    return e ? entry_object(e, type, obj) : DICE_ENOENT;
}

int dice__db_lookup_ref(dice_db_t *db, const char *key, size_t klen, int type,
                        void **obj, dice__db_ref *ref) {
    ref->key = key;
    ref->klen = klen;
    ref->e = dice__ks_lookup(db, key, klen, &ref->hash, &ref->slot,
                             LK_TOUCH | LK_STATS);
    if (!ref->e)
        ref->slot = NULL; /* an expired key's, deleted by the lookup */
    return ref->e ? entry_object(ref->e, type, obj) : DICE_ENOENT;
}

/* An object stored inline: an EMB value of a type other than string. */
static int is_inline_obj(const uint8_t *e) {
    return HDR_ENC(e[0]) == ENC_EMB && HDR_TYPE(e[0]) != DICE_TYPE_STRING;
}

/* Add ref's missing key with a value section (no TTL, a new clock), using
 * the hash of the lookup that missed: the table is not searched again. */
static int add_ref(dice_db_t *db, dice__db_ref *ref, uint8_t hdr,
                   const void *val, size_t vsz, uint8_t **out) {
    uint8_t *e = entry_build(db->ks, hdr, clock_new(db->ks), 0, 0, ref->key,
                             ref->klen, val, vsz);
    if (!e)
        return DICE_ENOMEM;
    if (link_new(db, e, ref->hash) < 0) {
        entry_dealloc(db->ks, e);
        return DICE_ENOMEM;
    }
    const char *k;
    size_t kl;
    entry_getkey(e, &k, &kl);
    dice__ks_fire(db, k, kl, DICE_KS_OBJ_SET);
    *out = e;
    return 0;
}

int dice__db_store_ref(dice_db_t *db, dice__db_ref *ref, int type, void *obj) {
    uint8_t *e = ref->e;
    if (!e)
        return add_ref(db, ref, DICE__HDR(ENC_OBJ, type), &obj, sizeof(obj),
                       &e);
    if ((uintptr_t)obj & DICE__OBJ_INLINE)
        return 0;
    if (HDR_ENC(e[0]) == ENC_OBJ) {
        memcpy(entry_val(e), &obj, sizeof(obj));
        return 0;
    }
    return dice__ks_revalue(db, ref->slot, e,
                            DICE__HDR(ENC_OBJ, HDR_TYPE(e[0])), &obj,
                            sizeof(obj), 0)
               ? 0
               : DICE_ENOMEM;
}

int dice__db_replace_object(dice_db_t *db, const char *key, size_t klen,
                            void *obj) {
    dice__db_ref ref = {key, klen, 0, NULL, NULL};
    ref.e = dice__ks_lookup(db, key, klen, NULL, &ref.slot, 0);
    if (!ref.e || (HDR_ENC(ref.e[0]) != ENC_OBJ && !is_inline_obj(ref.e)))
        return DICE_ENOENT;
    return dice__db_store_ref(db, &ref, HDR_TYPE(ref.e[0]), obj);
}

/* What a malloc of n bytes costs with glibc: 8 bytes of chunk header,
 * 16-byte steps, 32 bytes at least. An estimate elsewhere. */
static size_t chunk_cost(size_t n) {
    size_t c = (n + 8 + 15) & ~(size_t)15;
    return c < 32 ? 32 : c;
}

/* What an entry of n bytes costs: its pool slot, or its chunk. */
static size_t entry_cost(size_t n) {
    unsigned cls = DICE_POOL_ENTRIES ? dice__pool_class(n) : 0;
    return cls ? dice__pool_slot_size(cls) : chunk_cost(n);
}

int dice__db_store_inline_ref(dice_db_t *db, dice__db_ref *ref, int type,
                              const void *bytes, size_t n, void **obj) {
    uint8_t *e = ref->e;
    if (type <= DICE_TYPE_STRING || type >= DICE_TYPE_COUNT)
        return DICE_EINVAL;
    if (e && (HDR_TYPE(e[0]) != (unsigned)type ||
              (HDR_ENC(e[0]) != ENC_OBJ && HDR_ENC(e[0]) != ENC_EMB)))
        return DICE_EINVAL;
    if (n > DICE__INLINE_MAX)
        return 0;
    int has_exp = e && (e[0] & HDR_EXP) != 0;
    size_t vsz = varint_len(n) + n;
    size_t in = entry_size_for(has_exp, ref->klen, vsz);
    if (entry_cost(in) >=
        entry_cost(entry_size_for(has_exp, ref->klen, 8)) + chunk_cost(n))
        return 0;
    if (e && HDR_ENC(e[0]) == ENC_EMB) {
        uint8_t *v = entry_val(e);
        size_t on, cap = entry_capacity(e);
        varint_get(v, &on);
        if (varint_len(on) == varint_len(n) && in <= cap && cap < in + 16) {
            /* Its own block holds it without much slack: in place. */
            memmove(v + varint_put(v, n), bytes, n);
            *obj = entry_inline_obj(e);
            return 1;
        }
    }
    uint8_t buf[DICE__INLINE_MAX + 2];
    size_t h = varint_put(buf, n);
    memcpy(buf + h, bytes, n);
    uint8_t hdr = DICE__HDR(ENC_EMB, type), *ne;
    if (!e) {
        if (add_ref(db, ref, hdr, buf, vsz, &ne) < 0)
            return DICE_ENOMEM;
    } else if (!(ne = dice__ks_revalue(db, ref->slot, e, hdr, buf, vsz, 0))) {
        return DICE_ENOMEM;
    }
    *obj = entry_inline_obj(ne);
    return 1;
}

void dice_db_signal_modify(dice_db_t *db, const char *key, size_t klen) {
    dice__ks_fire(db, key, klen, DICE_KS_MODIFY);
}

/* ---- generic ---------------------------------------------------------- */

int dice_db_type(dice_db_t *db, const char *key, size_t klen) {
    uint8_t *e = dice__ks_lookup(db, key, klen, NULL, NULL, 0);
    return e ? (int)HDR_TYPE(e[0]) : DICE_ENOENT;
}

int dice_db_exists(dice_db_t *db, const char *key, size_t klen) {
    return dice__ks_lookup(db, key, klen, NULL, NULL, 0) != NULL;
}

int dice_db_delete(dice_db_t *db, const char *key, size_t klen) {
    uint64_t h;
    uint8_t *e = dice__ks_lookup(db, key, klen, &h, NULL, 0);
    if (!e)
        return 0;
    delete_entry(db, e, h, DICE_KS_DEL);
    return 1;
}

int dice_db_touch(dice_db_t *db, const char *key, size_t klen) {
    return dice__ks_lookup(db, key, klen, NULL, NULL, LK_TOUCH) != NULL;
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
    uint8_t *e = dice__ks_lookup(db, src, slen, &hs, NULL, 0);
    if (!e)
        return DICE_ENOENT;
    if (slen == dlen && memcmp(src, dst, slen) == 0)
        return nx ? DICE_EEXIST : 0;
    uint8_t *d = dice__ks_lookup(db, dst, dlen, &hd, NULL, 0);
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
    if (link_new(db, ne, hd) < 0) {
        /* Put the source back; the value stays owned by e. */
        entry_dealloc(db->ks, ne);
        link_entry(db, e, hs);
        return DICE_ENOMEM;
    }
    dice__ks_fire(db, src, slen, DICE_KS_RENAME_FROM);
    dice__ks_fire_entry(db, ne, DICE_KS_RENAME_TO); /* dst may have been in d */
    entry_dealloc(db->ks, e); /* value storage now belongs to ne */
    return 0;
}

int dice_db_copy(dice_db_t *sdb, const char *src, size_t slen, dice_db_t *ddb,
                 const char *dst, size_t dlen, int replace) {
    dice_keyspace_t *ks = sdb->ks;
    uint64_t hd;
    if (sdb == ddb && slen == dlen && memcmp(src, dst, slen) == 0)
        return DICE_EINVAL;
    uint8_t *e = dice__ks_lookup(sdb, src, slen, NULL, NULL, 0);
    if (!e)
        return DICE_ENOENT;
    uint8_t *d = dice__ks_lookup(ddb, dst, dlen, &hd, NULL, 0);
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
        const dice__type_slot *t = &ks->types[HDR_TYPE(e[0])];
        if (!t->m.copy) {
            entry_dealloc(ks, ne);
            return DICE_EINVAL;
        }
        void *c = t->m.copy(t->ctx, entry_ptr(e));
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
    if (link_new(ddb, ne, hd) < 0) {
        entry_free(ks, ne);
        return DICE_ENOMEM;
    }
    dice__ks_fire_entry(ddb, ne, DICE_KS_COPY_TO); /* dst may have been in d */
    return 0;
}

int dice_db_move(dice_db_t *db, const char *key, size_t klen, dice_db_t *dst) {
    uint64_t hs, hd;
    if (db == dst)
        return DICE_EINVAL;
    uint8_t *e = dice__ks_lookup(db, key, klen, &hs, NULL, 0);
    if (!e)
        return DICE_ENOENT;
    if (dice__ks_lookup(dst, key, klen, &hd, NULL, 0))
        return DICE_EEXIST;
    unlink_entry(db, e, hs);
    if (link_new(dst, e, hd) < 0) {
        link_entry(db, e, hs);
        return DICE_ENOMEM;
    }
    dice__ks_fire(db, key, klen, DICE_KS_MOVE_FROM);
    dice__ks_fire(dst, key, klen, DICE_KS_MOVE_TO);
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
    uint8_t *e = dice__ks_lookup(db, key, klen, &h, &slot, 0);
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
    dice__ks_fire_entry(db, e, DICE_KS_EXPIRE);
    return 1;
}

int dice_db_get_expire(dice_db_t *db, const char *key, size_t klen,
                       int64_t *at_ms) {
    uint8_t *e = dice__ks_lookup(db, key, klen, NULL, NULL, 0);
    if (!e)
        return DICE_ENOENT;
    *at_ms = (e[0] & HDR_EXP) ? entry_exp(e) : -1;
    return 0;
}

int dice_db_persist(dice_db_t *db, const char *key, size_t klen) {
    uint64_t *slot;
    uint8_t *e = dice__ks_lookup(db, key, klen, NULL, &slot, 0);
    if (!e || !(e[0] & HDR_EXP))
        return 0;
    if (!(e = entry_set_exp_flag(db, slot, e, 0, 0)))
        return DICE_ENOMEM;
    dice__ks_fire_entry(db, e, DICE_KS_PERSIST);
    return 1;
}

/* ---- walking ---------------------------------------------------------- */

typedef struct live_ctx {
    dice_db_t *db;
    int (*fn)(void *ctx, uint8_t *e);
    void *ctx;
    int rc;
} live_ctx;

static int live_visit(void *c, void *ev) {
    live_ctx *v = c;
    uint8_t *e = ev;
    if (is_expired(v->db->ks, e))
        return 0;
    return v->rc = v->fn(v->ctx, e);
}

int dice__db_foreach_live(dice_db_t *db, int (*fn)(void *ctx, uint8_t *e),
                          void *ctx) {
    live_ctx v = {db, fn, ctx, 0};
    dice__dict_foreach(&db->main, live_visit, &v);
    return v.rc;
}

/* ---- access clock as snapshots carry it ------------------------------- */

long long dice__ks_entry_idle(const dice_keyspace_t *ks, const uint8_t *e) {
    return (long long)((lru_now(ks) - entry_clock(e)) & 0xffffff);
}

unsigned dice__ks_entry_freq(const dice_keyspace_t *ks, const uint8_t *e) {
    return lfu_decayed(ks, entry_clock(e));
}

/* Redis's objectSetLRUOrLFU: in LFU mode a frequency is taken, otherwise
 * an idle time (-1: none given). */
int dice__ks_entry_set_access(dice_keyspace_t *ks, uint8_t *e, long long freq,
                              long long idle) {
    if (ks->lfu) {
        if (freq < 0)
            return 0;
        entry_set_clock(e, (lfu_minutes(ks) << 8) | (uint32_t)(freq & 0xff));
        return 1;
    }
    if (idle < 0)
        return 0;
    if (idle > 0xffffff)
        idle = 0xffffff;
    entry_set_clock(e, (lru_now(ks) - (uint32_t)idle) & 0xffffff);
    return 1;
}

/* ---- OBJECT ----------------------------------------------------------- */

int dice_db_object_idletime(dice_db_t *db, const char *key, size_t klen,
                            int64_t *secs) {
    uint8_t *e = dice__ks_lookup(db, key, klen, NULL, NULL, 0);
    if (!e)
        return DICE_ENOENT;
    *secs = (int64_t)((lru_now(db->ks) - entry_clock(e)) & 0xffffff);
    return 0;
}

int dice__db_object_clock(dice_db_t *db, const char *key, size_t klen,
                          uint32_t *clock, int64_t *idle_secs) {
    uint8_t *e = dice__ks_lookup(db, key, klen, NULL, NULL, 0);
    if (!e)
        return DICE_ENOENT;
    *clock = entry_clock(e);
    *idle_secs = (int64_t)((lru_now(db->ks) - *clock) & 0xffffff);
    return 0;
}

/* One table of a dict as Redis's dictGetStatsHt prints it. Every slot of
 * the open-addressing table holds at most one entry, so in Redis's terms
 * each used slot is a chain of length 1. */
static void htstats_table(dice_buf_t *b, const dict_table *t, int which) {
    char line[512];
    int n = snprintf(line, sizeof(line), "Hash table %d stats (%s):\n", which,
                     which ? "rehashing target" : "main hash table");
    dice_buf_append(b, line, (size_t)n);
    if (t->used == 0) {
        static const char none[] =
            "No stats available for empty dictionaries\n";
        dice_buf_append(b, none, sizeof(none) - 1);
        return;
    }
    n = snprintf(line, sizeof(line),
                 " table size: %zu\n"
                 " number of elements: %zu\n"
                 " different slots: %zu\n"
                 " max chain length: 1\n"
                 " avg chain length (counted): 1.00\n"
                 " avg chain length (computed): 1.00\n"
                 " Chain length distribution:\n"
                 "   0: %zu (%.02f%%)\n"
                 "   1: %zu (%.02f%%)\n",
                 t->size, t->used, t->used, t->size - t->used,
                 100.0 * (double)(t->size - t->used) / (double)t->size, t->used,
                 100.0 * (double)t->used / (double)t->size);
    dice_buf_append(b, line, (size_t)n);
}

static void htstats_dict(dice_buf_t *b, const dict *d) {
    htstats_table(b, &d->t[0], 0);
    if (d->rehashing)
        htstats_table(b, &d->t[1], 1);
}

void dice__db_table_bytes(const dice_db_t *db, size_t *main_bytes,
                          size_t *expire_bytes) {
    *main_bytes = dice__dict_slots(&db->main) * sizeof(uint64_t);
    *expire_bytes = dice__dict_slots(&db->exp) * sizeof(uint64_t);
}

int dice__db_reserve(dice_db_t *db, size_t keys, size_t expires) {
    if (dice__dict_reserve(&db->main, keys) < 0 ||
        dice__dict_reserve(&db->exp, expires) < 0)
        return DICE_ENOMEM;
    return 0;
}

void dice__db_htstats(dice_db_t *db, dice_buf_t *b) {
    dice_buf_append(b, "[Dictionary HT]\n", 16);
    htstats_dict(b, &db->main);
    dice_buf_append(b, "[Expires HT]\n", 13);
    htstats_dict(b, &db->exp);
}

int dice_db_object_freq(dice_db_t *db, const char *key, size_t klen,
                        int *freq) {
    uint8_t *e = dice__ks_lookup(db, key, klen, NULL, NULL, 0);
    if (!e)
        return DICE_ENOENT;
    *freq = (int)lfu_decayed(db->ks, entry_clock(e));
    return 0;
}

/* ---- eviction --------------------------------------------------------- */

size_t dice__db_sample(dice_db_t *db, int volatile_only, uint8_t **out,
                       size_t n) {
    dict *d = volatile_only ? &db->exp : &db->main;
    size_t size = dice__dict_size(d);
    if (n > size)
        n = size;
    /* Picks may repeat; the pool keeps one copy of a key. */
    return dice__dict_sample(d, (void **)out, n);
}

unsigned long long dice__ks_entry_evict_score(const dice_keyspace_t *ks,
                                              const uint8_t *e, int what) {
    switch (what) {
    case DICE__EVICT_SCORE_LRU:
        return (unsigned long long)dice__ks_entry_idle(ks, e) * 1000ull;
    case DICE__EVICT_SCORE_LFU: return 255ull - lfu_decayed(ks, entry_clock(e));
    default: /* the sooner it expires, the better a candidate */
        return (e[0] & HDR_EXP) ? ~0ull - (unsigned long long)entry_exp(e) : 0;
    }
}

int dice__db_evict(dice_db_t *db, const char *key, size_t klen) {
    uint64_t h;
    uint8_t *e = dice__ks_lookup(db, key, klen, &h, NULL, 0);
    if (!e)
        return 0;
    const char *k;
    size_t kl;
    unlink_entry(db, e, h);
    entry_getkey(e, &k, &kl);
    dice__ks_fire(db, k, kl, DICE_KS_DEL);
    entry_free_why(db->ks, e, DICE__FREE_EVICT);
    return 1;
}
