/* The older RDB object encodings Redis 7.0 still loads, rewritten into the
 * ones the types read (see rdb.h): ziplists (Redis up to 6.2 wrote small
 * lists, hashes and sorted sets as ziplists), zipmaps (hashes before 2.6),
 * quicklists of ziplists (lists from 3.2 to 6.2) and sorted sets with
 * their scores as text (before 3.0). Each is walked with every length and
 * offset checked against the bytes there, so a hostile payload is refused,
 * never read past.
 *
 *   ziplist: <zlbytes:u32> <zltail:u32> <zllen:u16> <entry>... <0xFF>,
 *            entry = <prevlen: 1 byte < 254, or 0xFE + u32> <encoding>
 *            <data>; encodings 00llllll, 01llllll llllllll, 10000000 + u32
 *            big-endian (strings), 0xC0 i16, 0xD0 i32, 0xE0 i64, 0xF0 i24,
 *            0xFE i8, 0xF1..0xFD an immediate 0..12.
 *   zipmap:  <count:1> (<len> key <len> <free:1> value <free bytes>)...
 *            <0xFF>, len = 1 byte < 254, or 0xFE + u32 little-endian. */
#include "types/rdb.h"

#include "core/core_internal.h"
#include "types/listpack.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* RDB object types of Redis 7.0's rdb.h. */
enum {
    T_ZSET = 3,
    T_ZSET_2 = 5,
    T_HASH_ZIPMAP = 9,
    T_LIST_ZIPLIST = 10,
    T_ZSET_ZIPLIST = 12,
    T_HASH_ZIPLIST = 13,
    T_LIST_QUICKLIST = 14,
    T_HASH_LISTPACK = 16,
    T_ZSET_LISTPACK = 17,
    T_LIST_QUICKLIST_2 = 18
};
#define QUICKLIST_NODE_PACKED 2

/* A growing output payload. */
typedef struct obuf {
    uint8_t *p;
    size_t len, cap;
    int oom;
} obuf;

static void ob_put(obuf *b, const void *d, size_t n) {
    if (b->oom)
        return;
    if (b->cap - b->len < n) {
        size_t c = b->cap ? b->cap * 2 : 256;
        while (c - b->len < n)
            c *= 2;
        uint8_t *q = realloc(b->p, c);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = c;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void ob_len(obuf *b, uint64_t v) {
    uint8_t h[DICE__RDB_LEN_MAX];
    ob_put(b, h, dice__rdb_put_len(h, v));
}

/* A listpack as one plain RDB string. */
static void ob_lp(obuf *b, const unsigned char *lp) {
    size_t n = dice__lp_bytes(lp);
    ob_len(b, n);
    ob_put(b, lp, n);
}

/* ---- ziplist --------------------------------------------------------------
 */

static uint32_t rd32le(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* Append every entry of the ziplist zl (n bytes) to *lp; *count gets the
 * entries. 0, DICE_EPROTO or DICE_ENOMEM. */
static int ziplist_to_lp(const uint8_t *zl, size_t n, unsigned char **lp,
                         size_t *count) {
    if (n < 11 || rd32le(zl) != n || zl[n - 1] != 0xFF)
        return DICE_EPROTO;
    unsigned zllen = (unsigned)zl[8] | (unsigned)zl[9] << 8;
    size_t pos = 10, cnt = 0, prev = 0;
    while (pos < n - 1) {
        size_t start = pos, pl;
        if (zl[pos] < 254) {
            pl = zl[pos];
            pos += 1;
        } else if (zl[pos] == 254) {
            if (n - 1 - pos < 5)
                return DICE_EPROTO;
            pl = rd32le(zl + pos + 1);
            pos += 5;
        } else {
            return DICE_EPROTO;
        }
        if (pl != prev || pos >= n - 1)
            return DICE_EPROTO;
        uint8_t e = zl[pos];
        size_t avail = n - 1 - pos, hl, dl = 0;
        long long v = 0;
        int isint = 1;
        if ((e >> 6) == 0) {
            hl = 1, dl = e & 0x3f, isint = 0;
        } else if ((e >> 6) == 1) {
            if (avail < 2)
                return DICE_EPROTO;
            hl = 2, dl = ((size_t)(e & 0x3f) << 8) | zl[pos + 1], isint = 0;
        } else if (e == 0x80) {
            if (avail < 5)
                return DICE_EPROTO;
            hl = 5;
            dl = (size_t)zl[pos + 1] << 24 | (size_t)zl[pos + 2] << 16 |
                 (size_t)zl[pos + 3] << 8 | zl[pos + 4];
            isint = 0;
        } else {
            hl = 1;
            unsigned w;
            switch (e) {
            case 0xC0: w = 2; break;
            case 0xD0: w = 4; break;
            case 0xE0: w = 8; break;
            case 0xF0: w = 3; break;
            case 0xFE: w = 1; break;
            default:
                if (e >= 0xF1 && e <= 0xFD) {
                    w = 0;
                    v = (e & 0x0f) - 1;
                } else {
                    return DICE_EPROTO;
                }
            }
            if (avail < 1 + (size_t)w)
                return DICE_EPROTO;
            if (w) {
                uint64_t u = 0;
                for (unsigned i = 0; i < w; i++)
                    u |= (uint64_t)zl[pos + 1 + i] << (8 * i);
                unsigned sh = 64 - 8 * w; /* sign-extend */
                v = (long long)(u << sh) >> sh;
            }
            dl = w;
        }
        if (avail < hl || avail - hl < dl)
            return DICE_EPROTO;
        unsigned char *nl =
            isint ? dice__lp_append_int(*lp, v)
                  : dice__lp_append(*lp, zl + pos + hl, (uint32_t)dl);
        if (!nl)
            return DICE_ENOMEM;
        *lp = nl;
        pos += hl + dl;
        prev = pos - start;
        cnt++;
    }
    if (pos != n - 1 || (zllen != 65535 && zllen != cnt))
        return DICE_EPROTO;
    *count = cnt;
    return 0;
}

/* ---- zipmap ---------------------------------------------------------------
 */

static int zipmap_len(const uint8_t *zm, size_t n, size_t *pos, size_t *v) {
    if (*pos >= n)
        return DICE_EPROTO;
    uint8_t b = zm[*pos];
    if (b < 254) {
        *v = b;
        *pos += 1;
        return 0;
    }
    if (b != 254 || n - *pos < 5)
        return DICE_EPROTO;
    *v = rd32le(zm + *pos + 1);
    *pos += 5;
    return 0;
}

static int zipmap_to_lp(const uint8_t *zm, size_t n, unsigned char **lp,
                        size_t *count) {
    if (n < 2 || zm[n - 1] != 0xFF)
        return DICE_EPROTO;
    size_t pos = 1, cnt = 0;
    while (pos < n - 1) {
        size_t kl, vl;
        if (zipmap_len(zm, n - 1, &pos, &kl) < 0 || n - 1 - pos < kl)
            return DICE_EPROTO;
        const uint8_t *k = zm + pos;
        pos += kl;
        if (zipmap_len(zm, n - 1, &pos, &vl) < 0 || pos >= n - 1)
            return DICE_EPROTO;
        size_t fr = zm[pos++];
        if (n - 1 - pos < vl || n - 1 - pos - vl < fr)
            return DICE_EPROTO;
        unsigned char *nl = dice__lp_append(*lp, k, (uint32_t)kl);
        if (nl)
            *lp = nl, nl = dice__lp_append(*lp, zm + pos, (uint32_t)vl);
        if (!nl)
            return DICE_ENOMEM;
        *lp = nl;
        pos += vl + fr;
        cnt++;
    }
    *count = cnt;
    return 0;
}

/* ---- conversions ----------------------------------------------------------
 */

/* One RDB string at in (LZF expanded), converted by conv into a fresh
 * listpack. */
static int string_to_lp(dice__rdb_in *in, int zipmap, unsigned char **lp,
                        size_t *count) {
    char nb[32], *owned;
    const char *s;
    size_t n;
    int rc = dice__rdb_in_string(in, UINT32_MAX, nb, &owned, &s, &n);
    if (rc < 0)
        return rc;
    *lp = dice__lp_new(n + 16);
    if (!*lp) {
        free(owned);
        return DICE_ENOMEM;
    }
    rc = zipmap ? zipmap_to_lp((const uint8_t *)s, n, lp, count)
                : ziplist_to_lp((const uint8_t *)s, n, lp, count);
    free(owned);
    if (rc < 0) {
        dice__lp_free(*lp);
        *lp = NULL;
    }
    return rc;
}

static int zset_v1(dice__rdb_in *in, obuf *b) {
    uint64_t n;
    int rc = dice__rdb_in_len(in, &n);
    if (rc < 0)
        return rc;
    if (n == 0)
        return DICE_ENOENT;
    ob_len(b, n);
    for (uint64_t i = 0; i < n; i++) {
        char nb[32], *owned;
        const char *s;
        size_t sl;
        rc = dice__rdb_in_string(in, UINT32_MAX, nb, &owned, &s, &sl);
        if (rc < 0)
            return rc;
        ob_len(b, sl);
        ob_put(b, s, sl);
        free(owned);
        if (in->pos >= in->len)
            return DICE_EAGAIN;
        unsigned l = in->p[in->pos];
        double d;
        if (l == 253) {
            return DICE_EPROTO; /* NaN: no sorted set holds one */
        } else if (l == 254 || l == 255) {
            d = l == 254 ? INFINITY : -INFINITY;
            in->pos++;
        } else {
            if (in->len - in->pos - 1 < l)
                return DICE_EAGAIN;
            char t[256];
            memcpy(t, in->p + in->pos + 1, l);
            t[l] = '\0';
            char *end;
            d = strtod(t, &end);
            if (end != t + l || isnan(d))
                return DICE_EPROTO;
            in->pos += 1 + l;
        }
        uint8_t le[8];
        uint64_t u;
        memcpy(&u, &d, 8);
        for (int k = 0; k < 8; k++)
            le[k] = (uint8_t)(u >> (8 * k));
        ob_put(b, le, 8);
    }
    return 0;
}

int dice__rdb_legacy_convert(unsigned fmt, const uint8_t *p, size_t len,
                             unsigned *newfmt, uint8_t **out, size_t *outlen,
                             size_t *used) {
    dice__rdb_in in = {p, len, 0};
    obuf b = {0};
    unsigned char *lp = NULL;
    size_t cnt = 0;
    int rc;
    switch (fmt) {
    case T_ZSET:
        *newfmt = T_ZSET_2;
        rc = zset_v1(&in, &b);
        break;
    case T_HASH_ZIPMAP:
    case T_HASH_ZIPLIST:
    case T_ZSET_ZIPLIST:
        *newfmt = fmt == T_ZSET_ZIPLIST ? T_ZSET_LISTPACK : T_HASH_LISTPACK;
        rc = string_to_lp(&in, fmt == T_HASH_ZIPMAP, &lp, &cnt);
        if (rc == 0 && (cnt == 0 || cnt % 2))
            rc = cnt == 0 ? DICE_ENOENT : DICE_EPROTO;
        if (rc == 0)
            ob_lp(&b, lp);
        break;
    case T_LIST_ZIPLIST:
        *newfmt = T_LIST_QUICKLIST_2;
        rc = string_to_lp(&in, 0, &lp, &cnt);
        if (rc == 0 && cnt == 0)
            rc = DICE_ENOENT;
        if (rc == 0) {
            ob_len(&b, 1);
            ob_len(&b, QUICKLIST_NODE_PACKED);
            ob_lp(&b, lp);
        }
        break;
    case T_LIST_QUICKLIST: {
        *newfmt = T_LIST_QUICKLIST_2;
        uint64_t nodes;
        rc = dice__rdb_in_len(&in, &nodes);
        if (rc < 0)
            break;
        /* Empty ziplists are dropped, as Redis does: the node count is
         * written once the others are known. */
        obuf body = {0};
        uint64_t kept = 0;
        for (uint64_t i = 0; i < nodes && rc == 0; i++) {
            rc = string_to_lp(&in, 0, &lp, &cnt);
            if (rc == 0 && cnt) {
                ob_len(&body, QUICKLIST_NODE_PACKED);
                ob_lp(&body, lp);
                kept++;
            }
            dice__lp_free(lp);
            lp = NULL;
        }
        if (rc == 0 && kept == 0)
            rc = DICE_ENOENT;
        if (rc == 0) {
            ob_len(&b, kept);
            ob_put(&b, body.p, body.len);
            if (body.oom)
                b.oom = 1;
        }
        free(body.p);
        break;
    }
    default: return DICE_EINVAL;
    }
    dice__lp_free(lp);
    if (rc == 0 && b.oom)
        rc = DICE_ENOMEM;
    if (rc < 0) {
        free(b.p);
        if (rc == DICE_ENOENT)
            *used = in.pos;
        return rc;
    }
    *out = b.p;
    *outlen = b.len;
    *used = in.pos;
    return 0;
}
