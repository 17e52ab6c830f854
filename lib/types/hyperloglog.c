/* HyperLogLog on a string's bytes: Redis's dense and sparse encodings,
 * its hash and register rule, and Ertl's estimator as Redis 7.0 uses it
 * (see lib/types/hyperloglog.h for the layout). Written from the format's
 * description so that the same inputs produce the same bytes: where two
 * encodings of one register set are possible (the sparse code), the edit
 * rules below are the ones that decide which Redis writes.
 *
 * Two halves: the codec (hash, registers, sparse edits, conversions,
 * histograms and the estimate), then PFSELFTEST's checks. */
#include "types/hyperloglog.h"

#include "dice/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define P 14
#define M DICE__HLL_REGISTERS
#define Q (64 - P) /* hash bits left for the run of zeros */
#define REG_BITS 6
#define REG_MAX 63
#define DENSE_BYTES (DICE__HLL_DENSE_SIZE - DICE__HLL_HDR)
#define SEED 0xadc83b19ULL
/* 0.5 / ln 2, the constant of the estimator for m -> infinity. */
#define ALPHA_INF 0.721347520444481703680

/* Sparse opcodes. */
#define SP_ZERO_MAX 64
#define SP_XZERO_MAX 16384
#define SP_VAL_MAX_VALUE 32
#define SP_VAL_MAX_LEN 4
#define IS_ZERO(b) (((b)&0xc0) == 0x00)
#define IS_XZERO(b) (((b)&0xc0) == 0x40)
#define IS_VAL(b) (((b)&0x80) != 0)
#define ZERO_LEN(b) (((unsigned)(b)&0x3f) + 1)
#define XZERO_LEN(b0, b1) (((((unsigned)(b0)&0x3f) << 8) | (b1)) + 1)
#define VAL_VALUE(b) ((((unsigned)(b) >> 2) & 0x1f) + 1)
#define VAL_LEN(b) (((unsigned)(b)&0x3) + 1)

static inline uint8_t op_val(unsigned value, unsigned len) {
    return (uint8_t)(0x80 | ((value - 1) << 2) | (len - 1));
}

/* One ZERO or XZERO run of len registers into out: bytes written. */
static size_t op_zeros(uint8_t *out, unsigned len) {
    if (len <= SP_ZERO_MAX) {
        out[0] = (uint8_t)(len - 1);
        return 1;
    }
    out[0] = (uint8_t)(0x40 | ((len - 1) >> 8));
    out[1] = (uint8_t)((len - 1) & 0xff);
    return 2;
}

/* ---- hash ---------------------------------------------------------------- */

uint64_t dice__murmur64a(const void *key, size_t len, uint64_t seed) {
    const uint64_t m = 0xc6a4a7935bd1e995ULL;
    const int r = 47;
    const uint8_t *d = key;
    uint64_t h = seed ^ ((uint64_t)len * m);
    size_t blocks = len / 8;
    for (size_t i = 0; i < blocks; i++, d += 8) {
        uint64_t k = 0;
        for (int b = 7; b >= 0; b--) /* little-endian, whatever the host */
            k = (k << 8) | d[b];
        k *= m;
        k ^= k >> r;
        k *= m;
        h ^= k;
        h *= m;
    }
    size_t rest = len & 7;
    if (rest) {
        for (size_t b = rest; b-- > 0;)
            h ^= (uint64_t)d[b] << (8 * b);
        h *= m;
    }
    h ^= h >> r;
    h *= m;
    h ^= h >> r;
    return h;
}

/* The register an element lands in and the value it proposes. */
static unsigned element_pos(const char *ele, size_t len, unsigned *val) {
    uint64_t h = dice__murmur64a(ele, len, SEED);
    unsigned index = (unsigned)(h & (M - 1));
    h >>= P;
    h |= 1ULL << Q; /* so the run of zeros ends at Q at the latest */
    *val = (unsigned)__builtin_ctzll(h) + 1;
    return index;
}

/* ---- header and cache ---------------------------------------------------- */

bool dice__hll_is_hll(const uint8_t *s, size_t n) {
    if (n < DICE__HLL_HDR || memcmp(s, "HYLL", 4) != 0)
        return false;
    if (s[4] == DICE__HLL_DENSE)
        return n == DICE__HLL_DENSE_SIZE;
    return s[4] == DICE__HLL_SPARSE;
}

bool dice__hll_cache_get(const uint8_t *s, uint64_t *card) {
    if (s[15] & 0x80)
        return false;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | s[8 + i];
    *card = v;
    return true;
}

void dice__hll_cache_set(uint8_t *s, uint64_t card) {
    for (int i = 0; i < 8; i++)
        s[8 + i] = (uint8_t)(card >> (8 * i));
}

size_t dice__hll_empty(uint8_t out[DICE__HLL_HDR + 2]) {
    memset(out, 0, DICE__HLL_HDR);
    memcpy(out, "HYLL", 4);
    out[4] = DICE__HLL_SPARSE;
    /* 16384 zero registers: one XZERO. */
    return DICE__HLL_HDR + op_zeros(out + DICE__HLL_HDR, M);
}

static rawstr *raw_alloc(size_t len, size_t cap) {
    rawstr *r = malloc(sizeof(rawstr) + cap);
    if (r) {
        r->len = len;
        r->cap = cap;
    }
    return r;
}

rawstr *dice__hll_new(void) {
    rawstr *r = raw_alloc(DICE__HLL_HDR + 2, DICE__HLL_HDR + 2);
    if (r)
        dice__hll_empty((uint8_t *)r->data);
    return r;
}

/* ---- dense registers ----------------------------------------------------- */

unsigned dice__hll_dense_get(const uint8_t *regs, unsigned i) {
    size_t bit = (size_t)i * REG_BITS, byte = bit / 8;
    unsigned fb = bit & 7;
    unsigned v = regs[byte] >> fb;
    if (fb > 8 - REG_BITS) /* the register spills into the next byte */
        v |= (unsigned)regs[byte + 1] << (8 - fb);
    return v & REG_MAX;
}

static void dense_put(uint8_t *regs, unsigned i, unsigned val) {
    size_t bit = (size_t)i * REG_BITS, byte = bit / 8;
    unsigned fb = bit & 7;
    regs[byte] = (uint8_t)((regs[byte] & ~(REG_MAX << fb)) | (val << fb));
    if (fb > 8 - REG_BITS) {
        unsigned sh = 8 - fb;
        regs[byte + 1] =
            (uint8_t)((regs[byte + 1] & ~(REG_MAX >> sh)) | (val >> sh));
    }
}

static int dense_set(uint8_t *regs, unsigned i, unsigned val) {
    if (dice__hll_dense_get(regs, i) >= val)
        return 0;
    dense_put(regs, i, val);
    return 1;
}

/* ---- sparse -> dense ----------------------------------------------------- */

/* Every register of a sparse body into out (one byte each, raised to the
 * body's value): 0, or DICE_EINVAL when the runs do not cover exactly
 * 16384 registers (a VAL run past the last register is refused at once,
 * as Redis does). */
static int sparse_walk(const uint8_t *p, const uint8_t *end, uint8_t *out) {
    size_t idx = 0;
    while (p < end) {
        if (IS_ZERO(*p)) {
            idx += ZERO_LEN(*p);
            p++;
        } else if (IS_XZERO(*p)) {
            if (p + 1 >= end)
                return DICE_EINVAL;
            idx += XZERO_LEN(p[0], p[1]);
            p += 2;
        } else {
            unsigned len = VAL_LEN(*p), v = VAL_VALUE(*p);
            if (idx + len > M)
                return DICE_EINVAL;
            while (len--) {
                if (out[idx] < v)
                    out[idx] = (uint8_t)v;
                idx++;
            }
            p++;
        }
    }
    return idx == M ? 0 : DICE_EINVAL;
}

int dice__hll_to_dense(rawstr **rp) {
    rawstr *r = *rp;
    const uint8_t *s = (const uint8_t *)r->data;
    if (s[4] == DICE__HLL_DENSE)
        return 0;
    uint8_t *regs = calloc(M, 1);
    if (!regs)
        return DICE_ENOMEM;
    int rc = sparse_walk(s + DICE__HLL_HDR, s + r->len, regs);
    if (rc < 0) {
        free(regs);
        return rc;
    }
    rawstr *d = raw_alloc(DICE__HLL_DENSE_SIZE, DICE__HLL_DENSE_SIZE);
    if (!d) {
        free(regs);
        return DICE_ENOMEM;
    }
    uint8_t *ds = (uint8_t *)d->data;
    memcpy(ds, s, DICE__HLL_HDR); /* magic and cached cardinality */
    ds[4] = DICE__HLL_DENSE;
    memset(ds + DICE__HLL_HDR, 0, DENSE_BYTES);
    for (unsigned i = 0; i < M; i++)
        if (regs[i])
            dense_put(ds + DICE__HLL_HDR, i, regs[i]);
    free(regs);
    free(r);
    *rp = d;
    return 1;
}

/* ---- sparse edits -------------------------------------------------------- */

/* Room for len + extra bytes. */
static int reserve(rawstr **rp, size_t extra) {
    rawstr *r = *rp;
    if (r->len + extra <= r->cap)
        return 0;
    size_t cap = (r->len + extra) * 2;
    rawstr *nr = realloc(r, sizeof(rawstr) + cap);
    if (!nr)
        return DICE_ENOMEM;
    nr->cap = cap;
    *rp = nr;
    return 0;
}

/* After an edit at the opcode following prev (or at the first opcode),
 * merge neighbouring VAL opcodes of the same value while their lengths
 * fit one opcode, looking at no more than five opcodes from prev. This
 * rule is what fixes the bytes of the result. */
static void sparse_merge(rawstr *r, size_t prev_off) {
    uint8_t *s = (uint8_t *)r->data;
    size_t p = prev_off, end = r->len;
    for (int budget = 5; p < end && budget > 0; budget--) {
        if (IS_XZERO(s[p])) {
            p += 2;
            continue;
        }
        if (IS_ZERO(s[p])) {
            p++;
            continue;
        }
        if (p + 1 < end && IS_VAL(s[p + 1])) {
            unsigned v1 = VAL_VALUE(s[p]), v2 = VAL_VALUE(s[p + 1]);
            unsigned len = VAL_LEN(s[p]) + VAL_LEN(s[p + 1]);
            if (v1 == v2 && len <= SP_VAL_MAX_LEN) {
                s[p + 1] = op_val(v1, len);
                memmove(s + p, s + p + 1, end - p - 1);
                end--;
                continue; /* try the merged opcode with its right one */
            }
        }
        p++;
    }
    r->len = end;
}

static int promote(rawstr **rp, unsigned index, unsigned val) {
    int rc = dice__hll_to_dense(rp);
    if (rc < 0)
        return rc;
    return dense_set((uint8_t *)(*rp)->data + DICE__HLL_HDR, index, val);
}

static int sparse_set(rawstr **rp, unsigned index, unsigned val,
                      size_t sparse_max) {
    if (val > SP_VAL_MAX_VALUE)
        return promote(rp, index, val);
    rawstr *r = *rp;
    const uint8_t *s = (const uint8_t *)r->data;
    size_t end = r->len, p = DICE__HLL_HDR, prev = 0, oplen = 1;
    int has_prev = 0;
    size_t first = 0, span = 0;
    /* The opcode covering index, the index of its first register (first)
     * and how many it covers (span). */
    while (p < end) {
        oplen = 1;
        if (IS_ZERO(s[p])) {
            span = ZERO_LEN(s[p]);
        } else if (IS_VAL(s[p])) {
            span = VAL_LEN(s[p]);
        } else {
            if (p + 1 >= end)
                return DICE_EINVAL;
            span = XZERO_LEN(s[p], s[p + 1]);
            oplen = 2;
        }
        if (index <= first + span - 1)
            break;
        prev = p;
        has_prev = 1;
        p += oplen;
        first += span;
    }
    if (p >= end)
        return DICE_EINVAL;
    uint8_t op = s[p];
    uint8_t *w = (uint8_t *)r->data;
    if (IS_VAL(op)) {
        if (VAL_VALUE(op) >= val)
            return 0; /* the register is already at least val */
        if (span == 1) {
            w[p] = op_val(val, 1);
            goto updated;
        }
    } else if (IS_ZERO(op) && span == 1) {
        w[p] = op_val(val, 1);
        goto updated;
    }
    /* Split the opcode in up to three: what is left of index, index
     * alone, what is right of it (an XZERO split in the middle is the
     * longest: 2 + 1 + 2 bytes). */
    uint8_t seq[5];
    size_t sl = 0, last = first + span - 1;
    if (IS_VAL(op)) {
        unsigned cur = VAL_VALUE(op);
        if (index != first)
            seq[sl++] = op_val(cur, (unsigned)(index - first));
        seq[sl++] = op_val(val, 1);
        if (index != last)
            seq[sl++] = op_val(cur, (unsigned)(last - index));
    } else {
        if (index != first)
            sl += op_zeros(seq + sl, (unsigned)(index - first));
        seq[sl++] = op_val(val, 1);
        if (index != last)
            sl += op_zeros(seq + sl, (unsigned)(last - index));
    }
    size_t grow = sl > oplen ? sl - oplen : 0;
    if (grow > 0 && end + grow > sparse_max)
        return promote(rp, index, val);
    if (grow > 0) {
        if (reserve(rp, grow) < 0)
            return DICE_ENOMEM;
        r = *rp;
        w = (uint8_t *)r->data;
    }
    /* A hostile XZERO of one register shrinks to one VAL: sl < oplen. */
    memmove(w + p + sl, w + p + oplen, end - p - oplen);
    memcpy(w + p, seq, sl);
    r->len = end + sl - oplen;
updated:
    sparse_merge(r, has_prev ? prev : DICE__HLL_HDR);
    dice__hll_cache_invalidate((uint8_t *)r->data);
    return 1;
}

int dice__hll_set(rawstr **rp, unsigned index, unsigned val,
                  size_t sparse_max) {
    uint8_t *s = (uint8_t *)(*rp)->data;
    if (s[4] == DICE__HLL_DENSE)
        return dense_set(s + DICE__HLL_HDR, index, val);
    return sparse_set(rp, index, val, sparse_max);
}

int dice__hll_add(rawstr **rp, const char *ele, size_t len, size_t sparse_max) {
    unsigned val, index = element_pos(ele, len, &val);
    return dice__hll_set(rp, index, val, sparse_max);
}

/* ---- reading ------------------------------------------------------------- */

int dice__hll_merge(uint8_t max[DICE__HLL_REGISTERS], const uint8_t *s,
                    size_t n) {
    if (s[4] == DICE__HLL_DENSE) {
        const uint8_t *regs = s + DICE__HLL_HDR;
        for (unsigned i = 0; i < M; i++) {
            unsigned v = dice__hll_dense_get(regs, i);
            if (v > max[i])
                max[i] = (uint8_t)v;
        }
        return 0;
    }
    return sparse_walk(s + DICE__HLL_HDR, s + n, max);
}

/* Ertl's sigma and tau (the paper's series, summed until they stop
 * changing in double precision). */
static double hll_sigma(double x) {
    if (x == 1.)
        return INFINITY;
    double y = 1, z = x, zp;
    do {
        x *= x;
        zp = z;
        z += x * y;
        y += y;
    } while (zp != z);
    return z;
}

static double hll_tau(double x) {
    if (x == 0. || x == 1.)
        return 0.;
    double y = 1.0, z = 1 - x, zp;
    do {
        x = sqrt(x);
        zp = z;
        y *= 0.5;
        z -= pow(1 - x, 2) * y;
    } while (zp != z);
    return z / 3;
}

/* The estimate from the histogram of register values (h[v]: how many
 * registers hold v). */
static uint64_t estimate(const int64_t h[64]) {
    double m = M;
    double z = m * hll_tau((m - (double)h[Q + 1]) / m);
    for (int j = Q; j >= 1; --j) {
        z += (double)h[j];
        z *= 0.5;
    }
    z += m * hll_sigma((double)h[0] / m);
    return (uint64_t)llroundl(ALPHA_INF * m * m / z);
}

uint64_t dice__hll_count_raw(const uint8_t regs[DICE__HLL_REGISTERS]) {
    int64_t h[64] = {0};
    for (unsigned i = 0; i < M; i++)
        h[regs[i] & 63]++;
    return estimate(h);
}

int dice__hll_count(const uint8_t *s, size_t n, uint64_t *card) {
    int64_t h[64] = {0};
    int rc = 0;
    if (s[4] == DICE__HLL_DENSE) {
        const uint8_t *regs = s + DICE__HLL_HDR;
        for (unsigned i = 0; i < M; i++)
            h[dice__hll_dense_get(regs, i)]++;
    } else {
        const uint8_t *p = s + DICE__HLL_HDR, *end = s + n;
        size_t idx = 0;
        while (p < end) {
            unsigned len;
            if (IS_ZERO(*p)) {
                len = ZERO_LEN(*p++);
                h[0] += len;
            } else if (IS_XZERO(*p)) {
                if (p + 1 >= end) {
                    rc = DICE_EINVAL;
                    break;
                }
                len = XZERO_LEN(p[0], p[1]);
                p += 2;
                h[0] += len;
            } else {
                len = VAL_LEN(*p);
                h[VAL_VALUE(*p)] += len;
                p++;
            }
            idx += len;
        }
        if (idx != M)
            rc = DICE_EINVAL;
    }
    *card = rc < 0 ? 0 : estimate(h);
    return rc;
}

char *dice__hll_decode(const uint8_t *s, size_t n) {
    /* At most 9 bytes of text ("v:32,4 " is 7, "Z:16384 " 8) per byte. */
    size_t cap = (n > DICE__HLL_HDR ? n - DICE__HLL_HDR : 0) * 9 + 1;
    char *out = malloc(cap), *o = out;
    if (!out)
        return NULL;
    const uint8_t *p = s + DICE__HLL_HDR, *end = s + n;
    while (p < end) {
        if (IS_ZERO(*p)) {
            o += sprintf(o, "z:%u ", ZERO_LEN(*p));
            p++;
        } else if (IS_XZERO(*p)) {
            o += sprintf(o, "Z:%u ", XZERO_LEN(p[0], p + 1 < end ? p[1] : 0));
            p += 2;
        } else {
            o += sprintf(o, "v:%u,%u ", VAL_VALUE(*p), VAL_LEN(*p));
            p++;
        }
    }
    if (o > out && o[-1] == ' ')
        o--;
    *o = '\0';
    return out;
}

/* ---- PFSELFTEST ---------------------------------------------------------- */

static uint64_t xorshift(uint64_t *st) {
    uint64_t x = *st;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *st = x;
}

/* The dense registers against a plain array: every register written with
 * random values, every one read back. */
static int selftest_registers(char *err, size_t errlen) {
    uint8_t *regs = calloc(DENSE_BYTES, 1), plain[M];
    if (!regs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    uint64_t st = 0x9e3779b97f4a7c15ULL;
    int rc = 0;
    for (int round = 0; round < 100 && rc == 0; round++) {
        for (unsigned i = 0; i < M; i++) {
            plain[i] = (uint8_t)(xorshift(&st) & REG_MAX);
            dense_put(regs, i, plain[i]);
        }
        for (unsigned i = 0; i < M; i++) {
            if (dice__hll_dense_get(regs, i) != plain[i]) {
                snprintf(err, errlen,
                         "TESTFAILED Register error at %u: %u != %u", i,
                         dice__hll_dense_get(regs, i), plain[i]);
                rc = -1;
                break;
            }
        }
    }
    free(regs);
    return rc;
}

/* The same elements into a sparse (then promoted) and a dense value give
 * the same registers, and the estimate stays within five standard errors
 * (1.04 / sqrt(m)) of the truth at checkpoints up to 200,000. */
static int selftest_estimate(char *err, size_t errlen) {
    rawstr *sp = dice__hll_new(), *de = dice__hll_new();
    int rc = 0;
    if (!sp || !de || dice__hll_to_dense(&de) < 0) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
        goto out;
    }
    double relerr = 1.04 / sqrt((double)M);
    uint64_t checkpoint = 1;
    uint64_t st = 0x2545f4914f6cdd1dULL;
    for (uint64_t j = 1; j <= 200000 && rc == 0; j++) {
        uint64_t e = xorshift(&st);
        char ele[8];
        memcpy(ele, &e, 8);
        if (dice__hll_add(&sp, ele, 8, DICE__HLL_SPARSE_MAX_DEFAULT) < 0 ||
            dice__hll_add(&de, ele, 8, DICE__HLL_SPARSE_MAX_DEFAULT) < 0) {
            snprintf(err, errlen, "TESTFAILED add failed at %llu",
                     (unsigned long long)j);
            rc = -1;
            break;
        }
        if (j != checkpoint)
            continue;
        checkpoint *= 10;
        uint64_t a, b;
        if (dice__hll_count((uint8_t *)sp->data, sp->len, &a) < 0 ||
            dice__hll_count((uint8_t *)de->data, de->len, &b) < 0 || a != b) {
            snprintf(err, errlen,
                     "TESTFAILED sparse and dense counts differ at %llu",
                     (unsigned long long)j);
            rc = -1;
            break;
        }
        double abserr = fabs((double)a - (double)j);
        if (j > 10 && abserr > (double)j * relerr * 5) {
            snprintf(err, errlen,
                     "TESTFAILED Too big error. card:%llu abserr:%f",
                     (unsigned long long)j, abserr);
            rc = -1;
        }
    }
out:
    free(sp);
    free(de);
    return rc;
}

int dice__hll_selftest(char *err, size_t errlen) {
    if (selftest_registers(err, errlen) < 0)
        return -1;
    return selftest_estimate(err, errlen);
}
