/* Open-addressing hash table with linear probing, incremental rehashing and
 * a rehash-proof SCAN cursor. See lib/keyspace/keyspace_internal.h for the
 * layout. */
#include "keyspace/keyspace_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define SLOT_EMPTY 0ull
#define SLOT_TOMB 1ull
#define PTR_MASK 0xffffffffffffull
#define CURSOR_BITS DICE__DICT_CURSOR_BITS

/* ---- hashing ---------------------------------------------------------- */

/* Multiply into 128 bits and fold: the core mixing step. */
static inline uint64_t fold_mul(uint64_t a, uint64_t b) {
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t rd64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t rd32(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static const uint64_t K0 = 0x9e3779b97f4a7c15ull;
static const uint64_t K1 = 0xd6e8feb86659fd93ull;
static const uint64_t K2 = 0xa0761d6478bd642full;
static const uint64_t K3 = 0xe7037ed1a0b428dbull;

static uint64_t hash_bytes(const void *data, size_t n, uint64_t seed) {
    const unsigned char *s = data;
    uint64_t h = seed ^ K0;
    uint64_t a, b;
    size_t len = n;
    while (n > 16) {
        h = fold_mul(rd64(s) ^ K1, rd64(s + 8) ^ h);
        s += 16;
        n -= 16;
    }
    /* 0..16 trailing bytes, read with (possibly overlapping) loads. */
    if (n >= 8) {
        a = rd64(s);
        b = rd64(s + n - 8);
    } else if (n >= 4) {
        a = rd32(s);
        b = rd32(s + n - 4);
    } else if (n > 0) {
        a = ((uint64_t)s[0] << 16) | ((uint64_t)s[n >> 1] << 8) | s[n - 1];
        b = 0;
    } else {
        a = b = 0;
    }
    h = fold_mul(a ^ K1 ^ h, b ^ K2);
    return fold_mul(h ^ K3, (uint64_t)len ^ K0);
}

static uint64_t splitmix(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t dice__dict_hash(const dict *d, const char *key, size_t klen) {
    return hash_bytes(key, klen, d->seed);
}

/* ---- table primitives ------------------------------------------------- */

/* The slot a hash belongs at: the hash scaled to the table's size (the high
 * half of h * size), so any size works and, for a power of two 2^k, this is
 * the hash's top k bits. Homes rise with the hash: a range of hashes is a
 * range of slots in every table, which is what SCAN's cursor relies on. */
static inline size_t home_of(const dict_table *t, uint64_t h) {
    return (size_t)(((__uint128_t)h * t->size) >> 64);
}

static inline size_t next_slot(const dict_table *t, size_t i) {
    return i + 1 == t->size ? 0 : i + 1;
}

/* How far slot j lies after slot i, going round the table. */
static inline size_t slot_dist(const dict_table *t, size_t i, size_t j) {
    return j >= i ? j - i : j + t->size - i;
}

static inline uint64_t tag_of(uint64_t h) {
    return (h & 0xffffull) << 48;
}

static uint64_t entry_hash(const dict *d, const void *e) {
    const char *k;
    size_t kl;
    d->getkey(e, &k, &kl);
    return hash_bytes(k, kl, d->seed);
}

static int table_alloc(dict_table *t, size_t size) {
    uint64_t *s = calloc(size, sizeof(uint64_t));
    if (!s)
        return -1;
    t->slots = s;
    t->size = size;
    t->used = 0;
    return 0;
}

static void table_put(dict_table *t, void *e, uint64_t h) {
    size_t i = home_of(t, h);
    while (t->slots[i] != SLOT_EMPTY)
        i = next_slot(t, i);
    t->slots[i] = tag_of(h) | (uint64_t)(uintptr_t)e;
    t->used++;
}

static uint64_t *table_find(const dict *d, const dict_table *t, const char *key,
                            size_t klen, uint64_t h) {
    if (t->size == 0)
        return NULL;
    size_t i = home_of(t, h);
    uint64_t tag = tag_of(h);
    for (;;) {
        uint64_t s = t->slots[i];
        if (s == SLOT_EMPTY)
            return NULL;
        if (s != SLOT_TOMB && (s & ~PTR_MASK) == tag) {
            const char *k;
            size_t kl;
            d->getkey(dice__dict_slot_entry(s), &k, &kl);
            if (kl == klen && memcmp(k, key, klen) == 0)
                return &t->slots[i];
        }
        i = next_slot(t, i);
    }
}

/* Remove slot i of a table that has no tombstones: shift later members of
 * the cluster back so every probe chain stays unbroken. */
static void table_remove_shift(const dict *d, dict_table *t, size_t i) {
    size_t j = i;
    /* Each later member of the cluster is hashed to find its home, one
     * cache miss per entry, and a cluster of a 90%-full table is tens of
     * slots long: ask for them all first so the misses overlap. */
    for (size_t n = 0, p = next_slot(t, i); n < 32; n++, p = next_slot(t, p)) {
        uint64_t s = t->slots[p];
        if (s == SLOT_EMPTY)
            break;
        __builtin_prefetch(dice__dict_slot_entry(s));
    }
    for (;;) {
        j = next_slot(t, j);
        uint64_t s = t->slots[j];
        if (s == SLOT_EMPTY)
            break;
        size_t k = home_of(t, entry_hash(d, dice__dict_slot_entry(s)));
        /* The entry may fill the hole if the hole is on its probe path. */
        if (slot_dist(t, k, j) >= slot_dist(t, i, j)) {
            t->slots[i] = s;
            i = j;
        }
    }
    t->slots[i] = SLOT_EMPTY;
    t->used--;
}

/* ---- rehashing -------------------------------------------------------- */

static void finish_rehash(dict *d) {
    free(d->t[0].slots);
    d->t[0] = d->t[1];
    memset(&d->t[1], 0, sizeof(d->t[1]));
    d->rehashing = 0;
    d->rehashidx = 0;
}

static int start_rehash(dict *d, size_t size) {
    if (table_alloc(&d->t[1], size) < 0)
        return -1;
    d->rehashing = 1;
    d->rehashidx = 0;
    d->clean_from = 0;
    if (d->t[0].used == 0)
        finish_rehash(d);
    return 0;
}

static size_t migrate(dict *d, size_t n) {
    dict_table *o = &d->t[0];
    size_t empty_budget = n * 64 + 64, moved = 0;
    while (moved < n && d->rehashidx < o->size && o->used > 0) {
        uint64_t s = o->slots[d->rehashidx];
        if (s == SLOT_EMPTY) {
            /* The original cluster that ends here has moved out whole: no
             * probe chain of a key still in this table crosses it, so its
             * tombstones can be empty again. Otherwise a miss that lands
             * in the migrated prefix would walk every tombstone up to
             * rehashidx, making lookups O(n) while rehashing. Each slot is
             * cleared at most once, so this is amortised O(1). */
            for (size_t j = d->clean_from; j < d->rehashidx; j++)
                o->slots[j] = SLOT_EMPTY;
            d->clean_from = d->rehashidx + 1;
        }
        if (s == SLOT_EMPTY || s == SLOT_TOMB) {
            d->rehashidx++;
            if (--empty_budget == 0)
                break;
            continue;
        }
        void *e = dice__dict_slot_entry(s);
        table_put(&d->t[1], e, entry_hash(d, e));
        /* A tombstone keeps the probe chains of unmigrated keys intact. */
        o->slots[d->rehashidx++] = SLOT_TOMB;
        o->used--;
        moved++;
    }
    if (o->used == 0 || d->rehashidx >= o->size)
        finish_rehash(d);
    d->moved_last_op += moved;
    d->moved_total += moved;
    return moved;
}

int dice__dict_rehash_steps(dict *d, size_t n) {
    if (d->rehashing)
        migrate(d, n);
    return d->rehashing;
}

static long elapsed_us(const struct timespec *a) {
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (long)(b.tv_sec - a->tv_sec) * 1000000L +
           (long)(b.tv_nsec - a->tv_nsec) / 1000L;
}

int dice__dict_rehash_us(dict *d, long budget_us) {
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (d->rehashing) {
        migrate(d, 256);
        if (elapsed_us(&start) >= budget_us)
            break;
    }
    return d->rehashing;
}

/* Called at the start of every public operation. */
static void op_begin(dict *d) {
    d->moved_last_op = 0;
    if (d->rehashing && !d->pause_rehash)
        migrate(d, d->step);
}

static void op_end(dict *d) {
    if (d->moved_last_op > d->moved_max_op)
        d->moved_max_op = d->moved_last_op;
}

/* Start shrinking when under 10% full. The new table must absorb every
 * insert that can happen before migration ends: at most one per operation,
 * and an operation retires DICT_STEP_ENTRIES entries or ~64x that many
 * empty slots, hence the sizing below. */
static void maybe_shrink(dict *d) {
    dict_table *t = &d->t[0];
    if (d->rehashing || t->size <= DICT_MIN_SIZE || t->used * 10 >= t->size)
        return;
    size_t need = t->used + t->used / d->step + t->size / (d->step * 64) + 2;
    size_t size = DICT_MIN_SIZE;
    if (d->grow) {
        if (size * 3 < need * 4)
            size = (need * 4 + 2) / 3;
    } else {
        while (size * 3 < need * 4)
            size *= 2;
    }
    if (size < t->size)
        (void)start_rehash(d, size);
}

/* The next size up: twice the size, or grow percent more. */
static size_t grown_size(const dict *d, size_t size) {
    if (!d->grow)
        return size * 2;
    size_t more = size / 100 * d->grow + size % 100 * d->grow / 100;
    return size + (more ? more : 1);
}

/* ---- public operations ------------------------------------------------ */

void dice__dict_init(dict *d, dict_getkey_fn getkey) {
    memset(d, 0, sizeof(*d));
    d->getkey = getkey;
    d->step = DICT_STEP_ENTRIES;
    uint64_t seed[2];
    if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
        /* No entropy yet (early boot): fall back to clock and address. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed[0] = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
                  (uint64_t)(uintptr_t)d;
        seed[1] = seed[0] ^ K2;
    }
    d->seed = seed[0];
    d->rng = seed[1];
}

void dice__dict_clear(dict *d, void (*free_fn)(void *ctx, void *entry),
                      void *ctx) {
    for (int ti = 0; ti < 2; ti++) {
        dict_table *t = &d->t[ti];
        if (free_fn) {
            for (size_t i = 0; i < t->size; i++) {
                uint64_t s = t->slots[i];
                if (s != SLOT_EMPTY && s != SLOT_TOMB)
                    free_fn(ctx, dice__dict_slot_entry(s));
            }
        }
        free(t->slots);
        memset(t, 0, sizeof(*t));
    }
    d->rehashing = 0;
    d->rehashidx = 0;
}

size_t dice__dict_size(const dict *d) {
    return d->t[0].used + d->t[1].used;
}

size_t dice__dict_slots(const dict *d) {
    return d->t[0].size + d->t[1].size;
}

uint64_t *dice__dict_find_slot(dict *d, const char *key, size_t klen,
                               uint64_t h) {
    op_begin(d);
    uint64_t *s = table_find(d, &d->t[0], key, klen, h);
    if (!s && d->rehashing)
        s = table_find(d, &d->t[1], key, klen, h);
    op_end(d);
    return s;
}

void *dice__dict_find(dict *d, const char *key, size_t klen) {
    uint64_t *s =
        dice__dict_find_slot(d, key, klen, dice__dict_hash(d, key, klen));
    return s ? dice__dict_slot_entry(*s) : NULL;
}

int dice__dict_insert(dict *d, void *entry, uint64_t h) {
    op_begin(d);
    for (;;) {
        if (!d->rehashing) {
            dict_table *t = &d->t[0];
            if (t->size == 0) {
                if (table_alloc(t, DICT_MIN_SIZE) < 0)
                    return -1;
            } else if ((t->used + 1) * 10 > t->size * 9) {
                if (start_rehash(d, grown_size(d, t->size)) < 0) {
                    /* Still room below 100%: degrade, do not fail. */
                    if (t->used + 1 < t->size)
                        break;
                    return -1;
                }
            }
        }
        dict_table *t = &d->t[d->rehashing ? 1 : 0];
        if ((t->used + 1) * 10 <= t->size * 9)
            break;
        /* Target nearly full mid-rehash: the sizing rules make this
         * unreachable, but never let a table fill up. */
        migrate(d, 1024);
    }
    table_put(&d->t[d->rehashing ? 1 : 0], entry, h);
    op_end(d);
    return 0;
}

/* Size the table for n entries in one allocation, so a loader that knows
 * its count does not grow the table step by step (a member table growing
 * by a quarter from 16 slots to a million members rehashes ~50 times,
 * moving each member about 4 times). A table that grows by a percentage
 * gets the smallest size holding n at 90% full (no bigger than growth
 * would have made it); a doubling one the size doubling would reach. Does
 * nothing for a table already big enough or while rehashing; callers bound
 * n by what their input can hold. */
int dice__dict_reserve(dict *d, size_t n) {
    if (n > SIZE_MAX / 16)
        return -1;
    if (d->rehashing)
        return 0;
    size_t need = (n * 10 + 8) / 9, size = DICT_MIN_SIZE;
    if (d->grow) {
        if (size < need)
            size = need;
    } else {
        /* A doubling table keeps the sizes growth gives it. */
        while (size < need)
            size *= 2;
    }
    dict_table *t = &d->t[0];
    if (size <= t->size)
        return 0;
    if (t->size == 0)
        return table_alloc(t, size);
    if (start_rehash(d, size) < 0)
        return -1;
    /* Finish now: the caller is about to insert n entries, and a rehash
     * in progress would keep the old table allocated meanwhile. */
    while (d->rehashing)
        migrate(d, 4096);
    return 0;
}

void *dice__dict_delete(dict *d, const char *key, size_t klen, uint64_t h) {
    op_begin(d);
    void *e = NULL;
    uint64_t *s = table_find(d, &d->t[0], key, klen, h);
    if (s) {
        e = dice__dict_slot_entry(*s);
        if (d->rehashing) {
            *s = SLOT_TOMB;
            d->t[0].used--;
            if (d->t[0].used == 0)
                finish_rehash(d);
        } else {
            table_remove_shift(d, &d->t[0], (size_t)(s - d->t[0].slots));
        }
    } else if (d->rehashing) {
        s = table_find(d, &d->t[1], key, klen, h);
        if (s) {
            e = dice__dict_slot_entry(*s);
            table_remove_shift(d, &d->t[1], (size_t)(s - d->t[1].slots));
        }
    }
    if (e)
        maybe_shrink(d);
    op_end(d);
    return e;
}

/* The top CURSOR_BITS bits of a hash: its place in SCAN's order. */
static inline uint64_t cursor_of(uint64_t h) {
    return h >> (64 - CURSOR_BITS);
}

/* Emit every entry of t whose hash's cursor lies in [c, end). */
static void emit_range(const dict *d, const dict_table *t, uint64_t c,
                       uint64_t end, void (*fn)(void *, void *), void *ctx) {
    size_t lo = home_of(t, c << (64 - CURSOR_BITS));
    size_t hi = home_of(t, (end << (64 - CURSOR_BITS)) - 1);
    size_t span = hi - lo + 1;
    size_t i = lo;
    for (size_t n = 0; n < t->size; n++, i = next_slot(t, i)) {
        uint64_t s = t->slots[i];
        if (n >= span && s == SLOT_EMPTY)
            break;
        if (s == SLOT_EMPTY || s == SLOT_TOMB)
            continue;
        void *e = dice__dict_slot_entry(s);
        uint64_t ec = cursor_of(entry_hash(d, e));
        if (ec >= c && ec < end)
            fn(ctx, e);
    }
}

/* The cursor is a place in the order of hashes. A call emits the entries
 * of every table whose hashes lie from the cursor to the end of the
 * cursor's slot in the smaller table, and returns where that slot ends, so
 * calls tile the hash space whatever the tables' sizes were at each call:
 * an entry present throughout a scan is emitted exactly once. */
uint64_t dice__dict_scan(dict *d, uint64_t cursor, void (*fn)(void *, void *),
                         void *ctx) {
    if (dice__dict_size(d) == 0)
        return 0;
    cursor &= (1ull << CURSOR_BITS) - 1;
    const dict_table *small = &d->t[0], *big = NULL;
    if (d->rehashing) {
        big = &d->t[1];
        if (big->size < small->size) {
            const dict_table *x = small;
            small = big;
            big = x;
        }
    }
    /* The first hash of the next slot, rounded up to a cursor. */
    __uint128_t b = home_of(small, cursor << (64 - CURSOR_BITS)) + 1;
    __uint128_t first = ((b << 64) + small->size - 1) / small->size;
    uint64_t end =
        b >= small->size
            ? 1ull << CURSOR_BITS
            : (uint64_t)((first + (1ull << (64 - CURSOR_BITS)) - 1) >>
                         (64 - CURSOR_BITS));
    emit_range(d, small, cursor, end, fn, ctx);
    if (big)
        emit_range(d, big, cursor, end, fn, ctx);
    return end >= (1ull << CURSOR_BITS) ? 0 : end;
}

void *dice__dict_random(dict *d) {
    size_t n0 = d->t[0].size, total = dice__dict_slots(d);
    if (dice__dict_size(d) == 0)
        return NULL;
    /* Every entry owns exactly one slot, so a random live slot is a
     * uniformly random entry. */
    for (int tries = 0; tries < 128; tries++) {
        size_t i = (size_t)(splitmix(&d->rng) % total);
        uint64_t s = i < n0 ? d->t[0].slots[i] : d->t[1].slots[i - n0];
        if (s != SLOT_EMPTY && s != SLOT_TOMB)
            return dice__dict_slot_entry(s);
    }
    /* Very sparse table: walk from a random slot (slightly biased). */
    size_t i = (size_t)(splitmix(&d->rng) % total);
    for (size_t n = 0; n < total; n++, i = (i + 1) % total) {
        uint64_t s = i < n0 ? d->t[0].slots[i] : d->t[1].slots[i - n0];
        if (s != SLOT_EMPTY && s != SLOT_TOMB)
            return dice__dict_slot_entry(s);
    }
    return NULL;
}

size_t dice__dict_sample(dict *d, void **out, size_t n) {
    size_t size = dice__dict_size(d), n0 = d->t[0].size,
           total = dice__dict_slots(d);
    if (size == 0)
        return 0;
    if (n > DICE__DICT_SAMPLE_MAX)
        n = DICE__DICT_SAMPLE_MAX;
    if (size * 8 < total) { /* sparse: each pick walks on its own */
        for (size_t i = 0; i < n; i++)
            out[i] = dice__dict_random(d);
        return n;
    }
    /* Every slot first, so their cache misses overlap; then the entries
     * found are prefetched for the caller, which reads each one. */
    uint64_t *at[DICE__DICT_SAMPLE_MAX];
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)(splitmix(&d->rng) % total);
        at[i] = k < n0 ? &d->t[0].slots[k] : &d->t[1].slots[k - n0];
        __builtin_prefetch(at[i]);
    }
    size_t got = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t s = *at[i];
        for (int tries = 0; (s == SLOT_EMPTY || s == SLOT_TOMB) && tries < 128;
             tries++) {
            size_t k = (size_t)(splitmix(&d->rng) % total);
            s = k < n0 ? d->t[0].slots[k] : d->t[1].slots[k - n0];
        }
        if (s == SLOT_EMPTY || s == SLOT_TOMB)
            continue;
        out[got] = dice__dict_slot_entry(s);
        __builtin_prefetch(out[got]);
        got++;
    }
    return got;
}

void dice__dict_foreach(dict *d, int (*fn)(void *ctx, void *entry), void *ctx) {
    /* fn may look entries up in this same table (SINTER s s walks s and
     * asks s about each member): lookups do rehash work, which would move
     * entries from the old table to the new one under the walk and show
     * some twice. No rehashing while the walk lasts. */
    d->pause_rehash++;
    for (int ti = 0; ti < 2; ti++) {
        dict_table *t = &d->t[ti];
        for (size_t i = 0; i < t->size; i++) {
            uint64_t s = t->slots[i];
            if (s != SLOT_EMPTY && s != SLOT_TOMB &&
                fn(ctx, dice__dict_slot_entry(s))) {
                d->pause_rehash--;
                return;
            }
        }
    }
    d->pause_rehash--;
}
