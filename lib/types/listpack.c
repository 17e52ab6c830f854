/* Listpack, Redis 7.0's byte format (see listpack.h for the layout and the
 * conventions). Integers in the header and in entries are little-endian
 * whatever the host, read and written a byte at a time. */
#include "types/listpack.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "core/core_internal.h"
#include "dice/common.h"

/* ---- header and byte helpers ------------------------------------------- */

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

static uint32_t hdr_bytes(const unsigned char *lp) {
    return rd32(lp);
}
static unsigned hdr_count(const unsigned char *lp) {
    return (unsigned)lp[4] | (unsigned)lp[5] << 8;
}
static void set_count(unsigned char *lp, unsigned long n) {
    if (n > DICE__LP_COUNT_UNKNOWN)
        n = DICE__LP_COUNT_UNKNOWN;
    lp[4] = (unsigned char)n;
    lp[5] = (unsigned char)(n >> 8);
}

/* ---- entry encodings --------------------------------------------------- */

/* Size of the encoding byte(s) plus data of the entry at p (not its
 * backlen). p must be a valid entry (not the terminator). */
static uint32_t enc_size(const unsigned char *p) {
    unsigned char b = p[0];
    if (b < 0x80)
        return 1;
    if ((b & 0xC0) == 0x80)
        return 1 + (b & 0x3F);
    if ((b & 0xE0) == 0xC0)
        return 2;
    if ((b & 0xF0) == 0xE0)
        return 2 + (((uint32_t)(b & 0x0F) << 8) | p[1]);
    switch (b) {
    case 0xF0: return 5 + rd32(p + 1);
    case 0xF1: return 3;
    case 0xF2: return 4;
    case 0xF3: return 5;
    default: /* 0xF4 */ return 9;
    }
}

/* Bytes the backlen of an entry of l encoding+data bytes takes. The bounds
 * are Redis's (l < 16383 for two bytes, and so on), kept so that the bytes
 * written are the bytes Redis writes. */
static unsigned backlen_size(uint64_t l) {
    if (l <= 127)
        return 1;
    if (l < 16383)
        return 2;
    if (l < 2097151)
        return 3;
    if (l < 268435455)
        return 4;
    return 5;
}

/* Write the backlen of l into buf (backlen_size(l) bytes): the most
 * significant 7-bit group first with its high bit clear, every later group
 * with the high bit set, so a reader starting at the last byte knows to go
 * on leftwards while the bit is set. */
static unsigned backlen_write(unsigned char *buf, uint64_t l) {
    unsigned n = backlen_size(l);
    for (unsigned i = 0; i < n; i++) {
        unsigned shift = 7 * (n - 1 - i);
        unsigned char g = (unsigned char)((l >> shift) & 127);
        buf[i] = i == 0 ? g : (unsigned char)(g | 128);
    }
    return n;
}

/* Decode the backlen ending at last (its rightmost byte). */
static uint32_t backlen_read(const unsigned char *last) {
    uint64_t v = 0;
    unsigned shift = 0;
    for (int i = 0; i < 5; i++) {
        v |= (uint64_t)(last[-i] & 127) << shift;
        if (!(last[-i] & 128))
            break;
        shift += 7;
    }
    return (uint32_t)v;
}

uint32_t dice__lp_entry_size(const unsigned char *p) {
    uint32_t l = enc_size(p);
    return l + backlen_size(l);
}

/* Encoding of integer v into buf (at most 9 bytes); returns its size. */
static unsigned int_encode(unsigned char *buf, long long v) {
    if (v >= 0 && v <= 127) {
        buf[0] = (unsigned char)v;
        return 1;
    }
    if (v >= -4096 && v <= 4095) {
        uint32_t u = v < 0 ? (uint32_t)((1 << 13) + v) : (uint32_t)v;
        buf[0] = (unsigned char)(0xC0 | (u >> 8));
        buf[1] = (unsigned char)u;
        return 2;
    }
    unsigned n;
    if (v >= -32768 && v <= 32767) {
        buf[0] = 0xF1;
        n = 2;
    } else if (v >= -8388608 && v <= 8388607) {
        buf[0] = 0xF2;
        n = 3;
    } else if (v >= -2147483648LL && v <= 2147483647LL) {
        buf[0] = 0xF3;
        n = 4;
    } else {
        buf[0] = 0xF4;
        n = 8;
    }
    uint64_t u = (uint64_t)v;
    for (unsigned i = 0; i < n; i++)
        buf[1 + i] = (unsigned char)(u >> (8 * i));
    return 1 + n;
}

/* Encoding header of a string of len bytes into buf (at most 5 bytes);
 * returns its size. */
static unsigned str_header(unsigned char *buf, uint32_t len) {
    if (len < 64) {
        buf[0] = (unsigned char)(0x80 | len);
        return 1;
    }
    if (len < 4096) {
        buf[0] = (unsigned char)(0xE0 | (len >> 8));
        buf[1] = (unsigned char)len;
        return 2;
    }
    buf[0] = 0xF0;
    wr32(buf + 1, len);
    return 5;
}

/* Signed value of the low `bits` bits of u (two's complement). */
static long long sign_extend(uint64_t u, unsigned bits) {
    uint64_t m = (uint64_t)1 << (bits - 1);
    return (long long)((u ^ m) - m);
}

const unsigned char *dice__lp_get(const unsigned char *p, uint32_t *len,
                                  long long *iv) {
    unsigned char b = p[0];
    if (b < 0x80) {
        *iv = b;
        return NULL;
    }
    if ((b & 0xC0) == 0x80) {
        *len = b & 0x3F;
        return p + 1;
    }
    if ((b & 0xE0) == 0xC0) {
        *iv = sign_extend(((uint64_t)(b & 0x1F) << 8) | p[1], 13);
        return NULL;
    }
    if ((b & 0xF0) == 0xE0) {
        *len = ((uint32_t)(b & 0x0F) << 8) | p[1];
        return p + 2;
    }
    if (b == 0xF0) {
        *len = rd32(p + 1);
        return p + 5;
    }
    unsigned n = b == 0xF1 ? 2 : b == 0xF2 ? 3 : b == 0xF3 ? 4 : 8;
    uint64_t u = 0;
    for (unsigned i = 0; i < n; i++)
        u |= (uint64_t)p[1 + i] << (8 * i);
    *iv = n == 8 ? (long long)u : sign_extend(u, 8 * n);
    return NULL;
}

const unsigned char *dice__lp_get_str(const unsigned char *p, uint32_t *len,
                                      unsigned char *buf) {
    long long v;
    const unsigned char *s = dice__lp_get(p, len, &v);
    if (s)
        return s;
    *len = (uint32_t)dice__fmt_ll((char *)buf, v);
    return buf;
}

int dice__lp_get_int(const unsigned char *p, long long *v) {
    uint32_t len;
    const unsigned char *s = dice__lp_get(p, &len, v);
    if (!s)
        return 1;
    return dice__str2ll((const char *)s, len, v);
}

/* ---- create, free, size ------------------------------------------------ */

unsigned char *dice__lp_new(size_t capacity) {
    size_t n = DICE__LP_HDR_SIZE + 1;
    unsigned char *lp = malloc(capacity > n ? capacity : n);
    if (!lp)
        return NULL;
    wr32(lp, (uint32_t)n);
    set_count(lp, 0);
    lp[DICE__LP_HDR_SIZE] = DICE__LP_EOF;
    return lp;
}

void dice__lp_free(unsigned char *lp) {
    free(lp);
}

unsigned char *dice__lp_from_bytes(const unsigned char *buf, size_t len) {
    unsigned char *lp = malloc(len);
    if (lp)
        memcpy(lp, buf, len);
    return lp;
}

size_t dice__lp_bytes(const unsigned char *lp) {
    return hdr_bytes(lp);
}

size_t dice__lp_alloc_size(const unsigned char *lp) {
    return malloc_usable_size((void *)lp);
}

int dice__lp_safe_to_add(const unsigned char *lp, size_t add) {
    size_t cur = lp ? hdr_bytes(lp) : 0;
    return cur + add <= DICE__LP_SAFETY_BYTES;
}

/* ---- walking ----------------------------------------------------------- */

unsigned char *dice__lp_first(unsigned char *lp) {
    unsigned char *p = lp + DICE__LP_HDR_SIZE;
    return *p == DICE__LP_EOF ? NULL : p;
}

unsigned char *dice__lp_last(unsigned char *lp) {
    unsigned char *eof = lp + hdr_bytes(lp) - 1;
    if (eof == lp + DICE__LP_HDR_SIZE)
        return NULL;
    uint32_t l = backlen_read(eof - 1);
    return eof - backlen_size(l) - l;
}

unsigned char *dice__lp_next(unsigned char *lp, unsigned char *p) {
    (void)lp;
    p += dice__lp_entry_size(p);
    return *p == DICE__LP_EOF ? NULL : p;
}

unsigned char *dice__lp_prev(unsigned char *lp, unsigned char *p) {
    if (p == lp + DICE__LP_HDR_SIZE)
        return NULL;
    uint32_t l = backlen_read(p - 1);
    return p - backlen_size(l) - l;
}

unsigned long dice__lp_length(unsigned char *lp) {
    unsigned n = hdr_count(lp);
    if (n != DICE__LP_COUNT_UNKNOWN)
        return n;
    unsigned long c = 0;
    for (unsigned char *p = dice__lp_first(lp); p; p = dice__lp_next(lp, p))
        c++;
    if (c < DICE__LP_COUNT_UNKNOWN)
        set_count(lp, c);
    return c;
}

unsigned char *dice__lp_seek(unsigned char *lp, long index) {
    unsigned n = hdr_count(lp);
    if (n != DICE__LP_COUNT_UNKNOWN) {
        if (index < 0)
            index += (long)n;
        if (index < 0 || index >= (long)n)
            return NULL;
        /* From the nearer end: as a negative index from the end. */
        if (index > (long)n / 2)
            index -= (long)n;
    }
    unsigned char *p;
    if (index >= 0) {
        p = dice__lp_first(lp);
        while (p && index-- > 0)
            p = dice__lp_next(lp, p);
    } else {
        p = dice__lp_last(lp);
        while (p && ++index < 0)
            p = dice__lp_prev(lp, p);
    }
    return p;
}

/* ---- comparing --------------------------------------------------------- */

void dice__lp_needle_init(dice__lp_needle *n, const unsigned char *s,
                          uint32_t len) {
    n->s = s;
    n->len = len;
    n->is_int = dice__str2ll((const char *)s, len, &n->v);
}

int dice__lp_match(const unsigned char *p, const dice__lp_needle *n) {
    uint32_t len;
    long long v;
    const unsigned char *s = dice__lp_get(p, &len, &v);
    if (s)
        return len == n->len && (len == 0 || memcmp(s, n->s, len) == 0);
    return n->is_int && n->v == v;
}

int dice__lp_eq(const unsigned char *p, const unsigned char *s, uint32_t len) {
    dice__lp_needle n;
    dice__lp_needle_init(&n, s, len);
    return dice__lp_match(p, &n);
}

int dice__lp_eq_int(const unsigned char *p, long long v) {
    long long ev;
    return dice__lp_get_int(p, &ev) && ev == v;
}

int dice__lp_cmp(const unsigned char *p, const unsigned char *s, uint32_t len) {
    unsigned char buf[DICE__LP_INTBUF];
    uint32_t el;
    const unsigned char *e = dice__lp_get_str(p, &el, buf);
    uint32_t m = el < len ? el : len;
    int c = m ? memcmp(e, s, m) : 0;
    if (c)
        return c;
    return el < len ? -1 : el > len ? 1 : 0;
}

unsigned char *dice__lp_find(unsigned char *lp, unsigned char *p,
                             const unsigned char *s, uint32_t len,
                             unsigned skip) {
    dice__lp_needle n;
    dice__lp_needle_init(&n, s, len);
    unsigned left = 0;
    while (p) {
        if (left == 0) {
            if (dice__lp_match(p, &n))
                return p;
            left = skip;
        } else {
            left--;
        }
        p = dice__lp_next(lp, p);
    }
    return NULL;
}

/* ---- changing ---------------------------------------------------------- */

/* Replace the old bytes at offset off with one new entry made of hdr (hlen
 * bytes) then data (dlen bytes) then its backlen, or remove them when hdr
 * is NULL; dcount is the change in element count. The core of every
 * change. data may point into lp (it is copied first). */
static unsigned char *splice(unsigned char *lp, size_t off, size_t old,
                             const unsigned char *hdr, unsigned hlen,
                             const unsigned char *data, uint32_t dlen,
                             long dcount, unsigned char **newp) {
    size_t total = hdr_bytes(lp);
    unsigned char bl[5];
    size_t add = 0;
    unsigned blen = 0;
    if (hdr) {
        uint64_t l = (uint64_t)hlen + dlen;
        blen = backlen_write(bl, l);
        add = (size_t)l + blen;
    }
    size_t ntotal = total - old + add;
    if ((uint64_t)ntotal > DICE__LP_MAX_BYTES)
        return NULL;
    unsigned char *copy = NULL;
    if (dlen && data >= lp && data < lp + total) {
        copy = malloc(dlen);
        if (!copy)
            return NULL;
        memcpy(copy, data, dlen);
        data = copy;
    }
    size_t tail = total - off - old; /* bytes after the replaced ones */
    if (ntotal > total) {
        /* Room left by dice__lp_new's capacity or the allocator's rounding
         * is used before asking realloc. */
        if (ntotal > malloc_usable_size(lp)) {
            unsigned char *n = realloc(lp, ntotal);
            if (!n) {
                free(copy);
                return NULL;
            }
            lp = n;
        }
        memmove(lp + off + add, lp + off + old, tail);
    } else {
        memmove(lp + off + add, lp + off + old, tail);
        if (ntotal < total) {
            unsigned char *n = realloc(lp, ntotal);
            if (n)
                lp = n;
        }
    }
    if (hdr) {
        unsigned char *w = lp + off;
        memcpy(w, hdr, hlen);
        if (dlen)
            memcpy(w + hlen, data, dlen);
        memcpy(w + hlen + dlen, bl, blen);
    }
    free(copy);
    wr32(lp, (uint32_t)ntotal);
    unsigned c = hdr_count(lp);
    if (c != DICE__LP_COUNT_UNKNOWN)
        set_count(lp, (unsigned long)((long)c + dcount));
    if (newp) {
        unsigned char *q = lp + off;
        *newp = *q == DICE__LP_EOF ? NULL : q;
    }
    return lp;
}

/* Offset where an entry inserted at (p, where) goes: before p, or before
 * the entry following p; p NULL means the terminator. */
static size_t insert_off(unsigned char *lp, unsigned char *p, int where) {
    if (!p)
        return hdr_bytes(lp) - 1;
    if (where == DICE__LP_AFTER)
        p += dice__lp_entry_size(p);
    return (size_t)(p - lp);
}

/* Insert or replace (old bytes at off) with the string s/len, as an int when
 * it is a canonical integer. */
static unsigned char *put_str(unsigned char *lp, size_t off, size_t old,
                              const unsigned char *s, uint32_t len, long dcount,
                              unsigned char **newp) {
    unsigned char hdr[9];
    long long v;
    if (len <= 20 && dice__str2ll((const char *)s, len, &v))
        return splice(lp, off, old, hdr, int_encode(hdr, v), NULL, 0, dcount,
                      newp);
    return splice(lp, off, old, hdr, str_header(hdr, len), s, len, dcount,
                  newp);
}

static unsigned char *put_int(unsigned char *lp, size_t off, size_t old,
                              long long v, long dcount, unsigned char **newp) {
    unsigned char hdr[9];
    return splice(lp, off, old, hdr, int_encode(hdr, v), NULL, 0, dcount, newp);
}

unsigned char *dice__lp_insert_str(unsigned char *lp, unsigned char *p,
                                   int where, const unsigned char *s,
                                   uint32_t len, unsigned char **newp) {
    return put_str(lp, insert_off(lp, p, where), 0, s, len, 1, newp);
}

unsigned char *dice__lp_insert_int(unsigned char *lp, unsigned char *p,
                                   int where, long long v,
                                   unsigned char **newp) {
    return put_int(lp, insert_off(lp, p, where), 0, v, 1, newp);
}

unsigned char *dice__lp_append(unsigned char *lp, const unsigned char *s,
                               uint32_t len) {
    return put_str(lp, hdr_bytes(lp) - 1, 0, s, len, 1, NULL);
}

unsigned char *dice__lp_append_int(unsigned char *lp, long long v) {
    return put_int(lp, hdr_bytes(lp) - 1, 0, v, 1, NULL);
}

unsigned char *dice__lp_prepend(unsigned char *lp, const unsigned char *s,
                                uint32_t len) {
    return put_str(lp, DICE__LP_HDR_SIZE, 0, s, len, 1, NULL);
}

unsigned char *dice__lp_prepend_int(unsigned char *lp, long long v) {
    return put_int(lp, DICE__LP_HDR_SIZE, 0, v, 1, NULL);
}

unsigned char *dice__lp_replace(unsigned char *lp, unsigned char **p,
                                const unsigned char *s, uint32_t len) {
    return put_str(lp, (size_t)(*p - lp), dice__lp_entry_size(*p), s, len, 0,
                   p);
}

int dice__lp_replace_in_place(unsigned char *p, const unsigned char *s,
                              uint32_t len) {
    unsigned char hdr[9];
    unsigned hlen;
    long long v;
    uint32_t dlen = len;
    if (len <= 20 && dice__str2ll((const char *)s, len, &v)) {
        hlen = int_encode(hdr, v);
        dlen = 0;
    } else {
        hlen = str_header(hdr, len);
    }
    uint64_t l = (uint64_t)hlen + dlen;
    if (l + backlen_size(l) != dice__lp_entry_size(p))
        return 0;
    if (dlen)
        memmove(p + hlen, s, dlen);
    memcpy(p, hdr, hlen);
    backlen_write(p + l, l);
    return 1;
}

unsigned char *dice__lp_replace_int(unsigned char *lp, unsigned char **p,
                                    long long v) {
    return put_int(lp, (size_t)(*p - lp), dice__lp_entry_size(*p), v, 0, p);
}

unsigned char *dice__lp_delete(unsigned char *lp, unsigned char *p,
                               unsigned char **newp) {
    return splice(lp, (size_t)(p - lp), dice__lp_entry_size(p), NULL, 0, NULL,
                  0, -1, newp);
}

unsigned char *dice__lp_delete_range_at(unsigned char *lp, unsigned char **p,
                                        unsigned long num) {
    unsigned char *q = *p;
    unsigned long n = 0;
    while (n < num && *q != DICE__LP_EOF) {
        q += dice__lp_entry_size(q);
        n++;
    }
    if (n == 0)
        return lp;
    return splice(lp, (size_t)(*p - lp), (size_t)(q - *p), NULL, 0, NULL, 0,
                  -(long)n, p);
}

unsigned char *dice__lp_delete_range(unsigned char *lp, long start,
                                     unsigned long num) {
    unsigned char *p = dice__lp_seek(lp, start);
    if (!p || num == 0)
        return lp;
    return dice__lp_delete_range_at(lp, &p, num);
}

/* ---- validation -------------------------------------------------------- */

int dice__lp_validate(const unsigned char *buf, size_t len,
                      int (*cb)(const unsigned char *p, void *ud), void *ud,
                      unsigned long *count) {
    if (len < DICE__LP_HDR_SIZE + 1 || len > DICE__LP_MAX_BYTES)
        return DICE_EPROTO;
    if (hdr_bytes(buf) != len || buf[len - 1] != DICE__LP_EOF)
        return DICE_EPROTO;
    const unsigned char *p = buf + DICE__LP_HDR_SIZE;
    const unsigned char *end = buf + len - 1; /* the terminator */
    unsigned long n = 0;
    while (p < end) {
        size_t avail = (size_t)(end - p);
        unsigned char b = p[0];
        uint64_t l; /* encoding + data */
        if (b < 0x80) {
            l = 1;
        } else if ((b & 0xC0) == 0x80) {
            l = 1 + (uint64_t)(b & 0x3F);
        } else if ((b & 0xE0) == 0xC0) {
            l = 2;
        } else if ((b & 0xF0) == 0xE0) {
            if (avail < 2)
                return DICE_EPROTO;
            l = 2 + (((uint64_t)(b & 0x0F) << 8) | p[1]);
        } else if (b == 0xF0) {
            if (avail < 5)
                return DICE_EPROTO;
            l = 5 + (uint64_t)rd32(p + 1);
        } else if (b >= 0xF1 && b <= 0xF4) {
            l = b == 0xF1 ? 3 : b == 0xF2 ? 4 : b == 0xF3 ? 5 : 9;
        } else {
            return DICE_EPROTO; /* 0xF5..0xFE unused, 0xFF early */
        }
        unsigned char bl[5];
        unsigned blen = backlen_write(bl, l);
        if (l + blen > avail || memcmp(p + l, bl, blen) != 0)
            return DICE_EPROTO;
        if (cb && cb(p, ud))
            return DICE_EPROTO;
        n++;
        p += l + blen;
    }
    unsigned hc = hdr_count(buf);
    if (hc != DICE__LP_COUNT_UNKNOWN && hc != n)
        return DICE_EPROTO;
    if (count)
        *count = n;
    return 0;
}
