/* Intset, Redis's byte format (see intset.h). Values are read and written a
 * byte at a time as little-endian, so the buffer is the same on any host
 * and needs no alignment. */
#include "types/intset.h"

#include <stdlib.h>
#include <string.h>

#include "dice/common.h"

struct dice__intset {
    unsigned char b[DICE__INTSET_HDR_SIZE]; /* encoding, length */
    unsigned char data[];
};

static uint32_t rd32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void wr32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t enc_of(const dice__intset *is) {
    return rd32(is->b);
}
static uint32_t len_of(const dice__intset *is) {
    return rd32(is->b + 4);
}

/* Value i of an array of enc-byte values. */
static int64_t load(const unsigned char *data, uint32_t enc, uint32_t i) {
    const unsigned char *p = data + (size_t)i * enc;
    uint64_t u = 0;
    for (uint32_t k = 0; k < enc; k++)
        u |= (uint64_t)p[k] << (8 * k);
    if (enc == 8)
        return (int64_t)u;
    uint64_t m = (uint64_t)1 << (8 * enc - 1);
    return (int64_t)((u ^ m) - m);
}

static void store(unsigned char *data, uint32_t enc, uint32_t i, int64_t v) {
    unsigned char *p = data + (size_t)i * enc;
    uint64_t u = (uint64_t)v;
    for (uint32_t k = 0; k < enc; k++)
        p[k] = (unsigned char)(u >> (8 * k));
}

uint32_t dice__intset_value_encoding(int64_t v) {
    if (v < INT32_MIN || v > INT32_MAX)
        return DICE__INTSET_ENC_INT64;
    if (v < INT16_MIN || v > INT16_MAX)
        return DICE__INTSET_ENC_INT32;
    return DICE__INTSET_ENC_INT16;
}

dice__intset *dice__intset_new(void) {
    dice__intset *is = malloc(sizeof(*is));
    if (!is)
        return NULL;
    wr32(is->b, DICE__INTSET_ENC_INT16);
    wr32(is->b + 4, 0);
    return is;
}

void dice__intset_free(dice__intset *is) {
    free(is);
}

dice__intset *dice__intset_from_bytes(const void *buf, size_t len) {
    dice__intset *is = malloc(len);
    if (is)
        memcpy(is, buf, len);
    return is;
}

uint32_t dice__intset_len(const dice__intset *is) {
    return len_of(is);
}
uint32_t dice__intset_encoding(const dice__intset *is) {
    return enc_of(is);
}

size_t dice__intset_bytes(const dice__intset *is) {
    return DICE__INTSET_HDR_SIZE + (size_t)len_of(is) * enc_of(is);
}

int dice__intset_search(const dice__intset *is, int64_t v, uint32_t *pos) {
    uint32_t enc = enc_of(is), n = len_of(is);
    uint32_t lo = 0, hi = n; /* answer in [lo, hi] */
    /* The ends first: appends and out-of-range probes need no search. */
    if (n == 0 || v > load(is->data, enc, n - 1)) {
        if (pos)
            *pos = n;
        return 0;
    }
    if (v < load(is->data, enc, 0)) {
        if (pos)
            *pos = 0;
        return 0;
    }
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int64_t m = load(is->data, enc, mid);
        if (m < v) {
            lo = mid + 1;
        } else if (m > v) {
            hi = mid;
        } else {
            if (pos)
                *pos = mid;
            return 1;
        }
    }
    if (pos)
        *pos = lo;
    return 0;
}

int dice__intset_find(const dice__intset *is, int64_t v) {
    return dice__intset_value_encoding(v) <= enc_of(is) &&
           dice__intset_search(is, v, NULL);
}

/* Widen every value to encoding nenc and add v, which does not fit the old
 * encoding and so goes at one end (below every value if negative). */
static dice__intset *upgrade_add(dice__intset *is, uint32_t nenc, int64_t v) {
    uint32_t enc = enc_of(is), n = len_of(is);
    dice__intset *r =
        realloc(is, DICE__INTSET_HDR_SIZE + (size_t)(n + 1) * nenc);
    if (!r)
        return NULL;
    int front = v < 0;
    /* Back to front, so no value is overwritten before it is read. */
    for (uint32_t i = n; i-- > 0;)
        store(r->data, nenc, i + (uint32_t)front, load(r->data, enc, i));
    store(r->data, nenc, front ? 0 : n, v);
    wr32(r->b, nenc);
    wr32(r->b + 4, n + 1);
    return r;
}

dice__intset *dice__intset_add(dice__intset *is, int64_t v, int *added) {
    uint32_t venc = dice__intset_value_encoding(v), enc = enc_of(is);
    if (added)
        *added = 0;
    if (venc > enc) {
        dice__intset *r = upgrade_add(is, venc, v);
        if (r && added)
            *added = 1;
        return r;
    }
    uint32_t pos, n = len_of(is);
    if (dice__intset_search(is, v, &pos))
        return is;
    dice__intset *r =
        realloc(is, DICE__INTSET_HDR_SIZE + (size_t)(n + 1) * enc);
    if (!r)
        return NULL;
    memmove(r->data + (size_t)(pos + 1) * enc, r->data + (size_t)pos * enc,
            (size_t)(n - pos) * enc);
    store(r->data, enc, pos, v);
    wr32(r->b + 4, n + 1);
    if (added)
        *added = 1;
    return r;
}

dice__intset *dice__intset_remove(dice__intset *is, int64_t v, int *removed) {
    uint32_t pos, enc = enc_of(is), n = len_of(is);
    if (removed)
        *removed = 0;
    if (dice__intset_value_encoding(v) > enc ||
        !dice__intset_search(is, v, &pos))
        return is;
    memmove(is->data + (size_t)pos * enc, is->data + (size_t)(pos + 1) * enc,
            (size_t)(n - pos - 1) * enc);
    wr32(is->b + 4, n - 1);
    if (removed)
        *removed = 1;
    dice__intset *r =
        realloc(is, DICE__INTSET_HDR_SIZE + (size_t)(n - 1) * enc);
    return r ? r : is;
}

int dice__intset_get(const dice__intset *is, uint32_t pos, int64_t *v) {
    if (pos >= len_of(is))
        return 0;
    *v = load(is->data, enc_of(is), pos);
    return 1;
}

int64_t dice__intset_random(const dice__intset *is, uint64_t rnd) {
    return load(is->data, enc_of(is), (uint32_t)(rnd % len_of(is)));
}

int dice__intset_validate(const void *buf, size_t len) {
    const unsigned char *b = buf;
    if (len < DICE__INTSET_HDR_SIZE)
        return DICE_EPROTO;
    uint32_t enc = rd32(b), n = rd32(b + 4);
    if (enc != DICE__INTSET_ENC_INT16 && enc != DICE__INTSET_ENC_INT32 &&
        enc != DICE__INTSET_ENC_INT64)
        return DICE_EPROTO;
    if (n == 0 || (uint64_t)n * enc != (uint64_t)len - DICE__INTSET_HDR_SIZE)
        return DICE_EPROTO;
    const unsigned char *data = b + DICE__INTSET_HDR_SIZE;
    int64_t prev = load(data, enc, 0);
    for (uint32_t i = 1; i < n; i++) {
        int64_t v = load(data, enc, i);
        if (v <= prev)
            return DICE_EPROTO;
        prev = v;
    }
    return 0;
}
