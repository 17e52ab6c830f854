/* The set type: Redis 7.0's intset and hashtable encodings (see set.h),
 * with two internal forms behind "hashtable".
 *
 * Why two. Redis's hashtable set costs 65 bytes a member for integers (a
 * dictEntry, an sds, two malloc headers, a bucket pointer); the member
 * table (lib/types/strset.c) brings strings down to about 33, but an
 * integer stored as text there still pays a 16-byte slot and a table slot.
 * A set of integers past set-max-intset-entries therefore keeps them as
 * int64 in sorted chunks of at most DICE__SET_CHUNK_MAX values, each
 * allocated to its length rounded up to CHUNK_STEP values, found through a
 * directory of first values (binary search: O(log n) for SADD, SREM and
 * SISMEMBER, plus a memmove of at most 4 KB inside a chunk). 8 bytes a
 * member plus a little slack: about 8.1 bytes when loaded in order (a chunk
 * that fills at its end starts a new one instead of splitting), about 9 to
 * 10 for random order.
 *
 * Uniform random members (SPOP, SRANDMEMBER) without per-chunk counts:
 * pick a chunk uniformly and an index in [0, CHUNK_MAX) uniformly, and
 * retry when the index is past the chunk's length; every member then has
 * the same probability, 1 / (chunks * CHUNK_MAX), per try. Deletions merge
 * a chunk that falls under a quarter full with a neighbour, so a try
 * succeeds with probability about a quarter or better; after 64 misses a
 * rank drawn uniformly is walked to (still uniform). */
#include "types/set.h"

#include "types/rdb.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_MAX DICE__SET_CHUNK_MAX
#define CHUNK_STEP 32

static uint64_t rnd(dice__set *s) {
    /* splitmix64 */
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int is_int(const char *m, size_t n, int64_t *v) {
    long long x;
    if (!dice__str2ll(m, n, &x))
        return 0;
    *v = x;
    return 1;
}

/* ---- the INTS form --------------------------------------------------------
 */

static size_t round_cap(size_t n) {
    size_t c = (n + CHUNK_STEP - 1) / CHUNK_STEP * CHUNK_STEP;
    return c > CHUNK_MAX ? CHUNK_MAX : c;
}

static dice__set_chunk *chunk_new(size_t cap) {
    dice__set_chunk *c = malloc(sizeof(*c) + cap * sizeof(int64_t));
    if (c) {
        c->len = 0;
        c->cap = (uint32_t)cap;
    }
    return c;
}

/* Index of the chunk that holds v or would: the last with first <= v (0
 * when v is below every chunk). nc > 0. */
static size_t ints_locate(const dice__set_ints *iv, int64_t v) {
    size_t lo = 0, hi = iv->nc;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (iv->first[mid] <= v)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Position of v in c (1 if found) or where it goes (0). */
static int chunk_search(const dice__set_chunk *c, int64_t v, uint32_t *pos) {
    uint32_t lo = 0, hi = c->len;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (c->v[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    *pos = lo;
    return lo < c->len && c->v[lo] == v;
}

static int ints_has(const dice__set_ints *iv, int64_t v) {
    if (iv->nc == 0)
        return 0;
    uint32_t pos;
    return chunk_search(iv->c[ints_locate(iv, v)], v, &pos);
}

/* Room for one more directory slot. */
static int dir_reserve(dice__set_ints *iv) {
    if (iv->nc < iv->cap)
        return 0;
    size_t nc = iv->cap ? iv->cap * 2 : 4;
    dice__set_chunk **c = realloc(iv->c, nc * sizeof(*c));
    if (!c)
        return DICE_ENOMEM;
    iv->c = c;
    int64_t *f = realloc(iv->first, nc * sizeof(*f));
    if (!f)
        return DICE_ENOMEM;
    iv->first = f;
    iv->cap = nc;
    return 0;
}

static void dir_insert(dice__set_ints *iv, size_t at, dice__set_chunk *c) {
    memmove(iv->c + at + 1, iv->c + at, (iv->nc - at) * sizeof(*iv->c));
    memmove(iv->first + at + 1, iv->first + at,
            (iv->nc - at) * sizeof(*iv->first));
    iv->c[at] = c;
    iv->first[at] = c->v[0];
    iv->nc++;
}

static void dir_remove(dice__set_ints *iv, size_t at) {
    free(iv->c[at]);
    memmove(iv->c + at, iv->c + at + 1, (iv->nc - at - 1) * sizeof(*iv->c));
    memmove(iv->first + at, iv->first + at + 1,
            (iv->nc - at - 1) * sizeof(*iv->first));
    iv->nc--;
}

static void chunk_put(dice__set_chunk *c, uint32_t pos, int64_t v) {
    memmove(c->v + pos + 1, c->v + pos, (c->len - pos) * sizeof(int64_t));
    c->v[pos] = v;
    c->len++;
}

/* Add v: 1, 0 (there), DICE_ENOMEM (unchanged). */
static int ints_add(dice__set_ints *iv, int64_t v) {
    if (iv->nc == 0) {
        if (dir_reserve(iv) < 0)
            return DICE_ENOMEM;
        dice__set_chunk *c = chunk_new(CHUNK_STEP);
        if (!c)
            return DICE_ENOMEM;
        c->v[0] = v;
        c->len = 1;
        dir_insert(iv, 0, c);
        iv->n = 1;
        return 1;
    }
    size_t i = ints_locate(iv, v);
    dice__set_chunk *c = iv->c[i];
    uint32_t pos;
    if (chunk_search(c, v, &pos))
        return 0;
    if (c->len == c->cap && c->cap < CHUNK_MAX) {
        dice__set_chunk *g =
            realloc(c, sizeof(*c) + round_cap(c->cap + 1) * sizeof(int64_t));
        if (!g)
            return DICE_ENOMEM;
        g->cap = (uint32_t)round_cap(g->cap + 1);
        c = iv->c[i] = g;
    }
    if (c->len == CHUNK_MAX) {
        if (dir_reserve(iv) < 0)
            return DICE_ENOMEM;
        /* Full: a value past the end of the last chunk (or before the
         * first) starts a chunk of its own, so loading in order fills
         * chunks; anything else splits the chunk in two halves. */
        if ((pos == c->len && i == iv->nc - 1) || (pos == 0 && i == 0)) {
            dice__set_chunk *n = chunk_new(CHUNK_STEP);
            if (!n)
                return DICE_ENOMEM;
            n->v[0] = v;
            n->len = 1;
            dir_insert(iv, pos == 0 ? 0 : i + 1, n);
        } else {
            uint32_t half = c->len / 2;
            dice__set_chunk *n = chunk_new(round_cap(c->len - half + 1));
            if (!n)
                return DICE_ENOMEM;
            n->len = c->len - half;
            memcpy(n->v, c->v + half, n->len * sizeof(int64_t));
            c->len = half;
            dir_insert(iv, i + 1, n);
            if (pos >= half)
                chunk_put(n, pos - half, v);
            else
                chunk_put(c, pos, v);
            iv->first[i + 1] = n->v[0];
        }
    } else {
        chunk_put(c, pos, v);
        if (pos == 0)
            iv->first[i] = v;
    }
    iv->n++;
    return 1;
}

/* Give back the slack of a chunk that shrank (best effort). */
static void chunk_trim(dice__set_ints *iv, size_t i) {
    dice__set_chunk *c = iv->c[i];
    size_t want = round_cap(c->len ? c->len : 1);
    if (c->cap >= want + 2 * CHUNK_STEP) {
        dice__set_chunk *s = realloc(c, sizeof(*c) + want * sizeof(int64_t));
        if (s) {
            s->cap = (uint32_t)want;
            iv->c[i] = s;
        }
    }
}

/* Make room for want values in chunk i (false when out of memory). */
static bool chunk_fit(dice__set_ints *iv, size_t i, size_t want) {
    dice__set_chunk *c = iv->c[i];
    if (c->cap >= want)
        return true;
    dice__set_chunk *g =
        realloc(c, sizeof(*c) + round_cap(want) * sizeof(int64_t));
    if (!g)
        return false;
    g->cap = (uint32_t)round_cap(want);
    iv->c[i] = g;
    return true;
}

/* Merge chunk i with chunk i + 1 when they fit in one, else even them out
 * (either may be the small one). Never fails: an allocation failure
 * leaves them as they are. */
static void chunk_merge(dice__set_ints *iv, size_t i) {
    size_t alen = iv->c[i]->len, blen = iv->c[i + 1]->len;
    size_t total = alen + blen;
    size_t keep = total <= CHUNK_MAX ? total : total / 2;
    if (keep >= alen) {
        /* Values move from b's front to a's end. */
        if (!chunk_fit(iv, i, keep))
            return;
        dice__set_chunk *a = iv->c[i], *b = iv->c[i + 1];
        size_t moved = keep - alen;
        memcpy(a->v + alen, b->v, moved * sizeof(int64_t));
        a->len = (uint32_t)keep;
        if (moved == blen) {
            dir_remove(iv, i + 1);
            return;
        }
        memmove(b->v, b->v + moved, (blen - moved) * sizeof(int64_t));
        b->len -= (uint32_t)moved;
        iv->first[i + 1] = b->v[0];
        chunk_trim(iv, i + 1);
        return;
    }
    /* Values move from a's end to b's front. */
    size_t moved = alen - keep;
    if (!chunk_fit(iv, i + 1, blen + moved))
        return;
    dice__set_chunk *a = iv->c[i], *b = iv->c[i + 1];
    memmove(b->v + moved, b->v, blen * sizeof(int64_t));
    memcpy(b->v, a->v + keep, moved * sizeof(int64_t));
    b->len += (uint32_t)moved;
    a->len = (uint32_t)keep;
    iv->first[i + 1] = b->v[0];
    chunk_trim(iv, i);
}

static int ints_del(dice__set_ints *iv, int64_t v) {
    if (iv->nc == 0)
        return 0;
    size_t i = ints_locate(iv, v);
    dice__set_chunk *c = iv->c[i];
    uint32_t pos;
    if (!chunk_search(c, v, &pos))
        return 0;
    memmove(c->v + pos, c->v + pos + 1, (c->len - pos - 1) * sizeof(int64_t));
    c->len--;
    iv->n--;
    if (c->len == 0) {
        dir_remove(iv, i);
        return 1;
    }
    if (pos == 0)
        iv->first[i] = c->v[0];
    if (c->len < CHUNK_MAX / 4 && iv->nc > 1) {
        chunk_merge(iv, i + 1 < iv->nc ? i : i - 1);
        return 1;
    }
    chunk_trim(iv, i);
    return 1;
}

static void ints_free(dice__set_ints *iv) {
    for (size_t i = 0; i < iv->nc; i++)
        free(iv->c[i]);
    free(iv->c);
    free(iv->first);
    memset(iv, 0, sizeof(*iv));
}

static int64_t ints_random(dice__set *s) {
    dice__set_ints *iv = &s->u.iv;
    if (iv->nc == 1)
        return iv->c[0]->v[rnd(s) % iv->c[0]->len];
    for (int tries = 0; tries < 64; tries++) {
        uint64_t r = rnd(s);
        dice__set_chunk *c = iv->c[(r >> 16) % iv->nc];
        uint32_t j = (uint32_t)(r & 0xffff) % CHUNK_MAX;
        if (j < c->len)
            return c->v[j];
    }
    uint64_t rank = rnd(s) % iv->n;
    size_t i = 0;
    while (rank >= iv->c[i]->len)
        rank -= iv->c[i++]->len;
    return iv->c[i]->v[rank];
}

/* ---- the set ---------------------------------------------------------------
 */

static uint64_t seed_counter;

static dice__set *set_alloc(int enc) {
    dice__set *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->enc = enc;
    /* Any distinct seed will do: the set's address and a counter (a race
     * on the counter from a lazy-free thread could only repeat a seed). */
    s->rng = (uint64_t)(uintptr_t)s ^ (++seed_counter * 0x2545f4914f6cdd1dull);
    if (enc == DICE__SET_INTSET) {
        s->u.is = dice__intset_new();
        if (!s->u.is) {
            free(s);
            return NULL;
        }
    } else if (enc == DICE__SET_STRS) {
        dice__mt_init(&s->u.mt, DICE__MT_SET);
    }
    return s;
}

dice__set *dice__set_new(int intset) {
    return set_alloc(intset ? DICE__SET_INTSET : DICE__SET_STRS);
}

dice__set *dice__set_new_for(const char *m, size_t n) {
    int64_t v;
    return dice__set_new(is_int(m, n, &v));
}

void dice__set_free(dice__set *s) {
    if (!s)
        return;
    if (s->enc == DICE__SET_INTSET)
        dice__intset_free(s->u.is);
    else if (s->enc == DICE__SET_INTS)
        ints_free(&s->u.iv);
    else
        dice__mt_free(&s->u.mt);
    free(s);
}

size_t dice__set_len(const dice__set *s) {
    if (s->enc == DICE__SET_INTSET)
        return dice__intset_len(s->u.is);
    if (s->enc == DICE__SET_INTS)
        return s->u.iv.n;
    return dice__mt_len(&s->u.mt);
}

const char *dice__set_encoding(const dice__set *s) {
    return s->enc == DICE__SET_INTSET ? "intset" : "hashtable";
}

/* intset -> INTS. */
static int to_ints(dice__set *s) {
    dice__set_ints iv = {0};
    uint32_t n = dice__intset_len(s->u.is);
    for (uint32_t i = 0; i < n; i++) {
        int64_t v;
        dice__intset_get(s->u.is, i, &v);
        if (ints_add(&iv, v) < 0) {
            ints_free(&iv);
            return DICE_ENOMEM;
        }
    }
    dice__intset_free(s->u.is);
    s->u.iv = iv;
    s->enc = DICE__SET_INTS;
    return 0;
}

/* intset or INTS -> STRS. */
static int to_strs(dice__set *s) {
    dice__mtab mt;
    dice__mt_init(&mt, DICE__MT_SET);
    char buf[DICE_FMT_LL_MAX];
    int rc = 0;
    if (s->enc == DICE__SET_INTSET) {
        uint32_t n = dice__intset_len(s->u.is);
        for (uint32_t i = 0; i < n && rc >= 0; i++) {
            int64_t v;
            dice__intset_get(s->u.is, i, &v);
            rc = dice__strset_add(&mt, buf, dice__fmt_ll(buf, v));
        }
    } else {
        for (size_t i = 0; i < s->u.iv.nc && rc >= 0; i++) {
            dice__set_chunk *c = s->u.iv.c[i];
            for (uint32_t j = 0; j < c->len && rc >= 0; j++)
                rc = dice__strset_add(&mt, buf, dice__fmt_ll(buf, c->v[j]));
        }
    }
    if (rc < 0) {
        dice__mt_free(&mt);
        return DICE_ENOMEM;
    }
    if (s->enc == DICE__SET_INTSET)
        dice__intset_free(s->u.is);
    else
        ints_free(&s->u.iv);
    s->u.mt = mt;
    s->enc = DICE__SET_STRS;
    return 0;
}

int dice__set_add(dice__set *s, const char *m, size_t n, long long max_intset) {
    int64_t v = 0;
    int isint = s->enc != DICE__SET_STRS && is_int(m, n, &v);
    if (s->enc != DICE__SET_STRS && !isint) {
        if (to_strs(s) < 0)
            return DICE_ENOMEM;
    }
    if (s->enc == DICE__SET_INTSET) {
        int added;
        dice__intset *is = dice__intset_add(s->u.is, v, &added);
        if (!is)
            return DICE_ENOMEM;
        s->u.is = is;
        /* As Redis: past the limit after the add, the set converts (an
         * allocation failure then leaves it an intset, still correct). */
        if (max_intset > (1 << 30)) /* Redis's cap (intset internals) */
            max_intset = 1 << 30;
        if (added && (long long)dice__intset_len(is) > max_intset)
            to_ints(s);
        return added;
    }
    if (s->enc == DICE__SET_INTS)
        return ints_add(&s->u.iv, v);
    return dice__strset_add(&s->u.mt, m, n);
}

int dice__set_del(dice__set *s, const char *m, size_t n) {
    int64_t v;
    if (s->enc == DICE__SET_STRS)
        return dice__strset_del(&s->u.mt, m, n);
    if (!is_int(m, n, &v))
        return 0;
    if (s->enc == DICE__SET_INTS)
        return ints_del(&s->u.iv, v);
    int removed;
    s->u.is = dice__intset_remove(s->u.is, v, &removed);
    return removed;
}

int dice__set_has(const dice__set *s, const char *m, size_t n) {
    int64_t v;
    if (s->enc == DICE__SET_STRS)
        return dice__strset_has((dice__mtab *)&s->u.mt, m, n);
    if (!is_int(m, n, &v))
        return 0;
    if (s->enc == DICE__SET_INTS)
        return ints_has(&s->u.iv, v);
    return dice__intset_find(s->u.is, v);
}

int dice__set_random(dice__set *s, dice__set_member *out) {
    if (dice__set_len(s) == 0)
        return 0;
    if (s->enc == DICE__SET_STRS) {
        dice__mt_item it;
        dice__mt_random(&s->u.mt, &it);
        out->p = it.key;
        out->n = it.klen;
        return 1;
    }
    int64_t v = s->enc == DICE__SET_INTS ? ints_random(s)
                                         : dice__intset_random(s->u.is, rnd(s));
    out->n = dice__fmt_ll(out->buf, v);
    out->p = out->buf;
    return 1;
}

uint64_t dice__set_rand(dice__set *s) {
    return rnd(s);
}

typedef struct visit {
    dice__set_visit_fn fn;
    void *ctx;
    size_t n;
} visit;

static void visit_item(void *c, const dice__mt_item *it) {
    visit *v = c;
    v->fn(v->ctx, it->key, it->klen);
    v->n++;
}

static void visit_int(dice__set_visit_fn fn, void *ctx, int64_t v) {
    char buf[DICE_FMT_LL_MAX];
    fn(ctx, buf, dice__fmt_ll(buf, v));
}

void dice__set_foreach(const dice__set *s, dice__set_visit_fn fn, void *ctx) {
    if (s->enc == DICE__SET_STRS) {
        visit v = {fn, ctx, 0};
        dice__mt_foreach((dice__mtab *)&s->u.mt, visit_item, &v);
    } else if (s->enc == DICE__SET_INTS) {
        for (size_t i = 0; i < s->u.iv.nc; i++) {
            const dice__set_chunk *c = s->u.iv.c[i];
            for (uint32_t j = 0; j < c->len; j++)
                visit_int(fn, ctx, c->v[j]);
        }
    } else {
        uint32_t n = dice__intset_len(s->u.is);
        for (uint32_t i = 0; i < n; i++) {
            int64_t v;
            dice__intset_get(s->u.is, i, &v);
            visit_int(fn, ctx, v);
        }
    }
}

/* An INTS cursor is the next value to visit, mapped to unsigned in order
 * (so 0, INT64_MIN's, is only ever the start). A step only stops before a
 * value whose cursor is at least DICE__DICT_CURSOR_END (it goes on past the
 * few values within 2^48 of INT64_MIN), so an INTS cursor is never one a
 * table could give: a table handed one (the set converted mid-scan, when a
 * member that is not an integer came) restarts its walk, and every member
 * present throughout is still visited, as Redis promises. */
#define ORDER_BIT 0x8000000000000000ull

uint64_t dice__set_scan(dice__set *s, uint64_t cursor, size_t count,
                        dice__set_visit_fn fn, void *ctx) {
    if (s->enc == DICE__SET_STRS) {
        visit v = {fn, ctx, 0};
        if (cursor >= DICE__DICT_CURSOR_END)
            cursor = 0;
        return dice__mt_scan(&s->u.mt, cursor, count, visit_item, &v);
    }
    if (s->enc == DICE__SET_INTSET) {
        dice__set_foreach(s, fn, ctx);
        return 0;
    }
    dice__set_ints *iv = &s->u.iv;
    if (iv->nc == 0)
        return 0;
    int64_t from = (int64_t)(cursor ^ ORDER_BIT);
    size_t i = ints_locate(iv, from);
    uint32_t j;
    chunk_search(iv->c[i], from, &j);
    size_t seen = 0;
    for (; i < iv->nc; i++, j = 0) {
        const dice__set_chunk *c = iv->c[i];
        for (; j < c->len; j++) {
            uint64_t next = (uint64_t)c->v[j] ^ ORDER_BIT;
            if (seen >= count && next >= DICE__DICT_CURSOR_END)
                return next;
            visit_int(fn, ctx, c->v[j]);
            seen++;
        }
    }
    return 0;
}

size_t dice__set_mem(const dice__set *s) {
    size_t n = sizeof(*s);
    if (s->enc == DICE__SET_INTSET)
        return n + dice__intset_bytes(s->u.is);
    if (s->enc == DICE__SET_INTS) {
        const dice__set_ints *iv = &s->u.iv;
        n += iv->cap * (sizeof(*iv->c) + sizeof(*iv->first));
        for (size_t i = 0; i < iv->nc; i++)
            n += sizeof(dice__set_chunk) + iv->c[i]->cap * sizeof(int64_t);
        return n;
    }
    return n - sizeof(s->u) + dice__mt_mem((dice__mtab *)&s->u.mt, 0);
}

typedef struct dup_ctx {
    dice__mtab *mt;
    int rc;
} dup_ctx;

static void dup_one(void *ctx, const char *m, size_t n) {
    dup_ctx *d = ctx;
    if (d->rc >= 0)
        d->rc = dice__strset_add(d->mt, m, n);
}

dice__set *dice__set_dup(const dice__set *s) {
    if (s->enc == DICE__SET_INTSET) {
        dice__set *d = set_alloc(DICE__SET_INTS); /* empty, no allocation */
        if (!d)
            return NULL;
        d->u.is = dice__intset_from_bytes(s->u.is, dice__intset_bytes(s->u.is));
        if (!d->u.is) {
            free(d);
            return NULL;
        }
        d->enc = DICE__SET_INTSET;
        return d;
    }
    dice__set *d = set_alloc(s->enc);
    if (!d)
        return NULL;
    if (s->enc == DICE__SET_INTS) {
        const dice__set_ints *iv = &s->u.iv;
        dice__set_ints *dv = &d->u.iv;
        dv->c = malloc((iv->nc ? iv->nc : 1) * sizeof(*dv->c));
        dv->first = malloc((iv->nc ? iv->nc : 1) * sizeof(*dv->first));
        if (!dv->c || !dv->first) {
            dice__set_free(d);
            return NULL;
        }
        dv->cap = iv->nc ? iv->nc : 1;
        for (size_t i = 0; i < iv->nc; i++) {
            const dice__set_chunk *c = iv->c[i];
            size_t bytes = sizeof(*c) + c->cap * sizeof(int64_t);
            dice__set_chunk *k = malloc(bytes);
            if (!k) {
                dice__set_free(d);
                return NULL;
            }
            memcpy(k, c, bytes);
            dv->c[dv->nc] = k;
            dv->first[dv->nc++] = k->v[0];
        }
        dv->n = iv->n;
        return d;
    }
    dup_ctx x = {&d->u.mt, 0};
    dice__set_foreach(s, dup_one, &x);
    if (x.rc < 0) {
        dice__set_free(d);
        return NULL;
    }
    return d;
}

/* ---- type methods ---------------------------------------------------------
 */

static const char *const set_encodings[] = {"intset", "hashtable", NULL};

static const char *m_encoding(void *ctx, const void *obj) {
    (void)ctx;
    return dice__set_encoding(obj);
}

static void m_free(void *ctx, void *obj) {
    (void)ctx;
    dice__set_free(obj);
}

static void *m_copy(void *ctx, const void *obj) {
    (void)ctx;
    return dice__set_dup(obj);
}

/* An intset is one block, the integer chunks one free each (with their
 * directory), a member table its own work. */
static size_t m_free_effort(void *ctx, const void *obj) {
    (void)ctx;
    const dice__set *s = obj;
    if (s->enc == DICE__SET_INTSET)
        return 1;
    if (s->enc == DICE__SET_INTS)
        return s->u.iv.nc + 3;
    return dice__mt_free_effort(&s->u.mt) + 1;
}

static size_t m_mem(void *ctx, const void *obj) {
    (void)ctx;
    return dice__set_mem(obj);
}

/* AOF rewrite: SADD key m1 ... in batches of EMIT_BATCH members (Redis's
 * AOF_REWRITE_ITEMS_PER_CMD is 64). */
#define EMIT_BATCH 64

typedef struct emit_ctx {
    dice_type_emit_fn emit;
    void *ectx;
    int argc;
    const char *argv[2 + EMIT_BATCH];
    size_t len[2 + EMIT_BATCH];
    char num[EMIT_BATCH][DICE_FMT_LL_MAX];
    int rc;
} emit_ctx;

static void emit_flush(emit_ctx *e) {
    if (e->argc > 2 && e->rc == 0)
        e->rc = e->emit(e->ectx, e->argc, e->argv, e->len);
    e->argc = 2;
}

static void emit_one(void *ctx, const char *m, size_t n) {
    emit_ctx *e = ctx;
    if (e->rc < 0)
        return;
    int k = e->argc - 2;
    if (n <= DICE_FMT_LL_MAX && m != NULL) {
        /* Integers are formatted into a buffer that the next member
         * reuses: keep every member's own copy until the flush. Strings
         * of the member table stay where they are, but one copy path for
         * both is simpler and short members are cheap to copy. */
        memcpy(e->num[k], m, n);
        m = e->num[k];
    }
    e->argv[e->argc] = m;
    e->len[e->argc++] = n;
    if (e->argc == 2 + EMIT_BATCH)
        emit_flush(e);
}

static int m_emit(void *ctx, const char *key, size_t klen, const void *obj,
                  dice_type_emit_fn emit, void *emit_ctx_) {
    (void)ctx;
    emit_ctx *e = malloc(sizeof(*e));
    if (!e)
        return DICE_ENOMEM;
    e->emit = emit;
    e->ectx = emit_ctx_;
    e->argv[0] = "SADD";
    e->len[0] = 4;
    e->argv[1] = key;
    e->len[1] = klen;
    e->argc = 2;
    e->rc = 0;
    dice__set_foreach(obj, emit_one, e);
    emit_flush(e);
    int rc = e->rc;
    free(e);
    return rc;
}

typedef struct ser_ctx {
    dice_type_write_fn write;
    void *wctx;
    int rc;
} ser_ctx;

static void ser_one(void *ctx, const char *m, size_t n) {
    ser_ctx *w = ctx;
    if (w->rc == 0)
        w->rc = dice__rdb_write_string(w->write, w->wctx, m, n);
}

/* RDB_TYPE_SET_INTSET (the intset's bytes as one RDB string) for an
 * intset, RDB_TYPE_SET (a length, then each member as an RDB string) for
 * a hashtable, as Redis 7.0 writes them. */
static int m_serialize(void *ctx, const void *obj, unsigned *format,
                       dice_type_write_fn write, void *wctx) {
    (void)ctx;
    const dice__set *s = obj;
    if (s->enc == DICE__SET_INTSET) {
        *format = DICE__RDB_TYPE_SET_INTSET;
        size_t n = dice__intset_bytes(s->u.is);
        int rc = dice__rdb_write_len(write, wctx, n);
        return rc < 0 ? rc : write(wctx, s->u.is, n);
    }
    *format = DICE__RDB_TYPE_SET;
    int rc = dice__rdb_write_len(write, wctx, dice__set_len(s));
    if (rc < 0)
        return rc;
    ser_ctx w = {write, wctx, 0};
    dice__set_foreach(s, ser_one, &w);
    return w.rc;
}

/* Longest member a payload may carry (Redis's proto-max-bulk-len cap). */
#define MEMBER_MAX ((size_t)512 * 1024 * 1024)

static int m_deserialize(void *ctx, unsigned format, const void *data,
                         size_t len, size_t *used, void **obj) {
    (void)ctx;
    dice__rdb_in in = {data, len, 0};
    char nb[24], *heap;
    const char *p;
    size_t n;
    int rc;
    if (format == DICE__RDB_TYPE_SET_INTSET) {
        rc = dice__rdb_in_string(&in, MEMBER_MAX, nb, &heap, &p, &n);
        if (rc < 0)
            return rc;
        /* An intset is at least 8 bytes: an integer encoding is not one. */
        if (p == nb || dice__intset_validate(p, n) < 0) {
            free(heap);
            return DICE_EPROTO;
        }
        dice__set *s = set_alloc(DICE__SET_INTS);
        if (s)
            s->u.is = dice__intset_from_bytes(p, n);
        free(heap);
        if (!s || !s->u.is) {
            free(s);
            return DICE_ENOMEM;
        }
        s->enc = DICE__SET_INTSET;
        *used = in.pos;
        *obj = s;
        return 0;
    }
    if (format != DICE__RDB_TYPE_SET)
        return DICE_EINVAL;
    uint64_t count;
    if ((rc = dice__rdb_in_len(&in, &count)) < 0)
        return rc;
    if (count == 0)
        return DICE_EPROTO; /* Redis refuses empty sets */
    /* Redis loads a big set straight into a hashtable, a small one as an
     * intset while its members are integers; the same rule here, with
     * the default limit (a payload carries no settings). */
    dice__set *s = dice__set_new(count <= 512);
    if (!s)
        return DICE_ENOMEM;
    /* One table for all the members, not ~50 growth steps; each member
     * takes at least its length byte, so a count the payload cannot hold
     * reserves no more than the payload's size (a failed reserve only
     * means growing as members come). */
    if (s->enc == DICE__SET_STRS)
        (void)dice__mt_reserve(&s->u.mt, count, in.len - in.pos, 1);
    for (uint64_t i = 0; i < count; i++) {
        rc = dice__rdb_in_string(&in, MEMBER_MAX, nb, &heap, &p, &n);
        if (rc == 0) {
            rc = dice__set_add(s, p, n, 512);
            if (rc == 0)
                rc = DICE_EPROTO; /* a duplicate member */
            free(heap);
        }
        if (rc < 0) {
            dice__set_free(s);
            return rc;
        }
    }
    *used = in.pos;
    *obj = s;
    return 0;
}

static void digest_one(void *d, const char *m, size_t n) {
    dice_digest_add(d, m, n);
    dice_digest_end_sequence(d);
}

static void m_digest(void *ctx, const void *obj, dice_digest_t *d) {
    (void)ctx;
    dice__set_foreach(obj, digest_one, d);
}

const dice_type_methods dice__set_methods = {
    .version = DICE_TYPE_METHODS_VERSION,
    .name = "set",
    .encoding_names = set_encodings,
    .encoding = m_encoding,
    .free = m_free,
    .copy = m_copy,
    .mem_usage = m_mem,
    .emit_commands = m_emit,
    .serialize = m_serialize,
    .deserialize = m_deserialize,
    .digest = m_digest,
    .free_effort = m_free_effort,
};
