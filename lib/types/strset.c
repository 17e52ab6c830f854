/* The member table of big collections: a set of byte strings (set members)
 * and a map from byte strings to byte strings or doubles (hash fields,
 * sorted-set scores), for every collection type past its compact encoding.
 *
 * Layout. Each member is one headerless entry, [varint len][bytes], then
 * for a map its value: [varint len][bytes], or an 8-byte double. The entry
 * lives in a 16/24/32-byte slot of the collection's own pool
 * (lib/keyspace/entry_pool.c) or, when bigger, in a malloc'd block; its
 * size, and so its class, is read back from its varints, so nothing records
 * it. The table is the keyspace's open-addressing dict (8-byte slots of a
 * tagged pointer, up to 90% full, incremental rehash, a SCAN cursor that
 * survives rehashing). "member:123456" costs a 16-byte slot and 8.9..17.8
 * bytes of table: no per-member malloc header, no dictEntry, no sds
 * header, unlike Redis's 66 bytes.
 *
 * Entries never move while they are members (a map's value update that
 * changes the entry's class reallocates it, and the caller is told through
 * the return), so a pointer to a member's bytes stays valid until the
 * member is deleted: a sorted set's order index can point at them.
 *
 * One pool per collection, not per keyspace: freeing a collection releases
 * its pages without visiting members (a set of a million members is freed
 * in ~400 free() calls), and the free method needs no keyspace, no lock
 * and no deferral when a lazy-free thread runs it off the loop's thread:
 * it touches only memory the collection owns, and malloc is thread-safe.
 * The cost is the pool's partial last page (at most 64 KB, under 1 KB for
 * a collection of a few hundred members, pages growing from 1 KB). */
#include "types/types_internal.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

/* ---- entries --------------------------------------------------------------
 */

static size_t vlen_size(size_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void mt_getkey(const void *ev, const char **k, size_t *kl) {
    const uint8_t *e = ev;
    *k = (const char *)e + varint_get(e, kl);
}

/* The value part of a map entry. */
static uint8_t *entry_value(uint8_t *e) {
    size_t kl;
    size_t n = varint_get(e, &kl);
    return e + n + kl;
}

static size_t entry_bytes(const dice__mtab *t, uint8_t *e) {
    size_t kl, vl;
    size_t n = varint_get(e, &kl) + kl;
    if (t->mode == DICE__MT_BYTES)
        n += varint_get(e + n, &vl) + vl;
    else if (t->mode == DICE__MT_DOUBLE)
        n += sizeof(double);
    return n;
}

static uint8_t *entry_alloc(dice__mtab *t, size_t n) {
    unsigned cls = DICE__POOL_ON ? dice__pool_class(n) : 0;
    return cls ? dice__pool_alloc(&t->pool, cls) : malloc(n);
}

static void entry_release(dice__mtab *t, uint8_t *e) {
    unsigned cls = DICE__POOL_ON ? dice__pool_class(entry_bytes(t, e)) : 0;
    if (cls)
        dice__pool_free(&t->pool, e, cls);
    else
        free(e);
}

/* A new entry for key and value (vn bytes at v: the bytes of a BYTES map,
 * the double of a DOUBLE map, nothing for a set). */
static uint8_t *entry_new(dice__mtab *t, const char *k, size_t kn,
                          const void *v, size_t vn) {
    size_t n = vlen_size(kn) + kn;
    if (t->mode == DICE__MT_BYTES)
        n += vlen_size(vn) + vn;
    else if (t->mode == DICE__MT_DOUBLE)
        n += sizeof(double);
    uint8_t *e = entry_alloc(t, n);
    if (!e)
        return NULL;
    size_t o = varint_put(e, kn);
    memcpy(e + o, k, kn);
    o += kn;
    if (t->mode == DICE__MT_BYTES) {
        o += varint_put(e + o, vn);
        memcpy(e + o, v, vn);
    } else if (t->mode == DICE__MT_DOUBLE) {
        memcpy(e + o, v, sizeof(double));
    }
    return e;
}

/* ---- the table ------------------------------------------------------------
 */

void dice__mt_init(dice__mtab *t, int mode) {
    memset(t, 0, sizeof(*t));
    dice__dict_init(&t->d, mt_getkey);
    /* No timer rehashes a collection: its operations must finish a rehash
     * before the table can double again, and soon, so the old table is not
     * kept for long. 32 entries a step finishes a doubling started at 90%
     * within 3% more inserts. */
    t->d.step = 32;
    /* A full table grows by a quarter, not twice: it is 72-90% full, 81%
     * on average (56% for doubling), which is 10 B of table a member where
     * doubling averages 14 (16.8 B at a million members). Each member is
     * moved about four times more over the table's growth than with
     * doubling: ~100 instructions an insert. */
    t->d.grow = 25;
    t->mode = mode;
}

static int free_big(void *ctx, void *ev) {
    dice__mtab *t = ctx;
    if (!DICE__POOL_ON || entry_bytes(t, ev) > 32)
        free(ev);
    return 0;
}

void dice__mt_free(dice__mtab *t) {
    /* Pooled entries go with their pages; only the malloc'd ones (members
     * over 32 bytes, or all of them in a sanitizer build) are visited. */
    if (!DICE__POOL_ON || t->big)
        dice__dict_foreach(&t->d, free_big, t);
    dice__dict_clear(&t->d, NULL, NULL);
    dice__pool_release(&t->pool);
    t->big = 0;
}

size_t dice__mt_free_effort(const dice__mtab *t) {
    size_t e = 1 + t->pool.npages + t->big;
    if (!DICE__POOL_ON || t->big)
        e += dice__mt_len(t);
    return e;
}

int dice__mt_reserve(dice__mtab *t, uint64_t count, size_t bytes, size_t per) {
    uint64_t most = bytes / (per ? per : 1);
    return dice__dict_reserve(&t->d, (size_t)(count < most ? count : most)) < 0
               ? DICE_ENOMEM
               : 0;
}

size_t dice__mt_len(const dice__mtab *t) {
    return dice__dict_size(&t->d);
}

void *dice__mt_find(dice__mtab *t, const char *k, size_t kn) {
    return dice__dict_find(&t->d, k, kn);
}

/* Entries over 32 bytes are malloc'd: count them so the free method knows
 * whether it must visit the members. */
static void count_big(dice__mtab *t, uint8_t *e, int sign) {
    if (entry_bytes(t, e) > 32)
        t->big = sign > 0 ? t->big + 1 : t->big - 1;
}

int dice__mt_add(dice__mtab *t, const char *k, size_t kn, const void *v,
                 size_t vn, int replace, void **entry) {
    uint64_t h = dice__dict_hash(&t->d, k, kn);
    uint64_t *slot = dice__dict_find_slot(&t->d, k, kn, h);
    if (slot) {
        uint8_t *old = dice__dict_slot_entry(*slot);
        if (entry)
            *entry = old;
        if (t->mode == DICE__MT_SET || !replace)
            return 0;
        if (t->mode == DICE__MT_DOUBLE) {
            memcpy(entry_value(old), v, sizeof(double));
            return 0;
        }
        size_t vl;
        uint8_t *ov = entry_value(old);
        size_t vo = varint_get(ov, &vl);
        if (vl == vn) {
            memcpy(ov + vo, v, vn);
            return 0;
        }
        uint8_t *ne = entry_new(t, k, kn, v, vn);
        if (!ne)
            return DICE_ENOMEM;
        count_big(t, old, -1);
        count_big(t, ne, 1);
        entry_release(t, old);
        dice__dict_slot_set(slot, ne);
        if (entry)
            *entry = ne;
        return 0;
    }
    uint8_t *ne = entry_new(t, k, kn, v, vn);
    if (!ne)
        return DICE_ENOMEM;
    if (dice__dict_insert(&t->d, ne, h) < 0) {
        entry_release(t, ne);
        return DICE_ENOMEM;
    }
    count_big(t, ne, 1);
    if (entry)
        *entry = ne;
    return 1;
}

int dice__mt_del(dice__mtab *t, const char *k, size_t kn) {
    uint8_t *e = dice__dict_delete(&t->d, k, kn, dice__dict_hash(&t->d, k, kn));
    if (!e)
        return 0;
    count_big(t, e, -1);
    entry_release(t, e);
    return 1;
}

void dice__mt_entry(const dice__mtab *t, const void *entry, dice__mt_item *it) {
    uint8_t *e = (uint8_t *)entry;
    size_t o = varint_get(e, &it->klen);
    it->key = (const char *)e + o;
    o += it->klen;
    it->val = NULL;
    it->vlen = 0;
    it->score = 0;
    if (t->mode == DICE__MT_BYTES) {
        o += varint_get(e + o, &it->vlen);
        it->val = (const char *)e + o;
    } else if (t->mode == DICE__MT_DOUBLE) {
        memcpy(&it->score, e + o, sizeof(double));
    }
}

int dice__mt_get(dice__mtab *t, const char *k, size_t kn, dice__mt_item *it) {
    void *e = dice__mt_find(t, k, kn);
    if (!e)
        return 0;
    dice__mt_entry(t, e, it);
    return 1;
}

typedef struct visit_ctx {
    const dice__mtab *t;
    dice__mt_visit_fn fn;
    void *ctx;
    size_t n;
} visit_ctx;

static void scan_cb(void *c, void *e) {
    visit_ctx *v = c;
    dice__mt_item it;
    dice__mt_entry(v->t, e, &it);
    v->fn(v->ctx, &it);
    v->n++;
}

uint64_t dice__mt_scan(dice__mtab *t, uint64_t cursor, size_t count,
                       dice__mt_visit_fn fn, void *ctx) {
    visit_ctx v = {t, fn, ctx, 0};
    do {
        cursor = dice__dict_scan(&t->d, cursor, scan_cb, &v);
    } while (cursor != 0 && v.n < count);
    return cursor;
}

static int each_cb(void *c, void *e) {
    visit_ctx *v = c;
    dice__mt_item it;
    dice__mt_entry(v->t, e, &it);
    v->fn(v->ctx, &it);
    return 0;
}

void dice__mt_foreach(dice__mtab *t, dice__mt_visit_fn fn, void *ctx) {
    visit_ctx v = {t, fn, ctx, 0};
    dice__dict_foreach(&t->d, each_cb, &v);
}

int dice__mt_random(dice__mtab *t, dice__mt_item *it) {
    void *e = dice__dict_random(&t->d);
    if (!e)
        return 0;
    dice__mt_entry(t, e, it);
    return 1;
}

int dice__mt_rehash(dice__mtab *t, long budget_us) {
    return dice__dict_rehash_us(&t->d, budget_us);
}

/* Heap bytes of an entry that is not in the pool, else 0. */
static size_t heap_bytes(const dice__mtab *t, uint8_t *e) {
    return (!DICE__POOL_ON || entry_bytes(t, e) > 32) ? malloc_usable_size(e)
                                                      : 0;
}

typedef struct mem_ctx {
    const dice__mtab *t;
    size_t bytes;
} mem_ctx;

static int mem_cb(void *c, void *e) {
    mem_ctx *m = c;
    m->bytes += heap_bytes(m->t, e);
    return 0;
}

size_t dice__mt_mem(dice__mtab *t, size_t samples) {
    size_t n = sizeof(*t) + dice__dict_slots(&t->d) * sizeof(uint64_t) +
               t->pool.bytes + t->pool.cap * sizeof(char *);
    size_t total = dice__mt_len(t);
    if ((DICE__POOL_ON && t->big == 0) || total == 0)
        return n;
    /* Members over 32 bytes are malloc'd: all of them with samples 0 (or
     * at least as many samples as members), else an estimate from random
     * members, as Redis's MEMORY USAGE samples. */
    mem_ctx m = {t, 0};
    if (samples == 0 || samples >= total) {
        dice__dict_foreach(&t->d, mem_cb, &m);
        return n + m.bytes;
    }
    for (size_t i = 0; i < samples; i++)
        m.bytes += heap_bytes(t, dice__dict_random(&t->d));
    return n + (size_t)((double)m.bytes / (double)samples * (double)total);
}
