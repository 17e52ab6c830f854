/* RDB lengths and strings (see rdb.h). */
#include "types/rdb.h"

#include "core/core_internal.h"

#include <stdlib.h>
#include <string.h>

int dice__rdb_write_len(dice_type_write_fn write, void *wctx, uint64_t n) {
    uint8_t h[9];
    size_t hl;
    if (n < 64) {
        h[0] = (uint8_t)n;
        hl = 1;
    } else if (n < 16384) {
        h[0] = (uint8_t)(0x40 | (n >> 8));
        h[1] = (uint8_t)n;
        hl = 2;
    } else if (n <= UINT32_MAX) {
        h[0] = 0x80;
        for (int i = 0; i < 4; i++)
            h[1 + i] = (uint8_t)(n >> (24 - 8 * i));
        hl = 5;
    } else {
        h[0] = 0x81;
        for (int i = 0; i < 8; i++)
            h[1 + i] = (uint8_t)(n >> (56 - 8 * i));
        hl = 9;
    }
    return write(wctx, h, hl);
}

int dice__rdb_write_str(dice_type_write_fn write, void *wctx, const char *p,
                        size_t n) {
    long long iv;
    if (n <= 11 && dice__str2ll(p, n, &iv) && iv >= INT32_MIN &&
        iv <= INT32_MAX) {
        uint8_t h[5];
        size_t w = iv >= INT8_MIN && iv <= INT8_MAX     ? 1
                   : iv >= INT16_MIN && iv <= INT16_MAX ? 2
                                                        : 4;
        h[0] = (uint8_t)(0xC0 | (w == 1 ? 0 : w == 2 ? 1 : 2));
        uint32_t u = (uint32_t)(int32_t)iv;
        for (size_t i = 0; i < w; i++)
            h[1 + i] = (uint8_t)(u >> (8 * i));
        return write(wctx, h, 1 + w);
    }
    int rc = dice__rdb_write_len(write, wctx, n);
    return rc < 0 ? rc : write(wctx, p, n);
}

int dice__rdb_read_len(dice__rdb_in *in, uint64_t *n) {
    if (in->pos >= in->len)
        return DICE_EAGAIN;
    const uint8_t *d = in->p + in->pos;
    size_t avail = in->len - in->pos;
    unsigned kind = d[0] >> 6;
    if (kind == 0) {
        *n = d[0] & 0x3f;
        in->pos += 1;
        return 0;
    }
    if (kind == 1) {
        if (avail < 2)
            return DICE_EAGAIN;
        *n = ((uint64_t)(d[0] & 0x3f) << 8) | d[1];
        in->pos += 2;
        return 0;
    }
    if (d[0] != 0x80 && d[0] != 0x81)
        return DICE_EPROTO;
    size_t hl = d[0] == 0x80 ? 5 : 9;
    if (avail < hl)
        return DICE_EAGAIN;
    uint64_t v = 0;
    for (size_t i = 1; i < hl; i++)
        v = (v << 8) | d[i];
    *n = v;
    in->pos += hl;
    return 0;
}

/* LZF decompression (the format Redis's lzf_c.c writes): a control byte
 * below 32 starts a literal run of ctrl + 1 bytes; otherwise the top 3 bits
 * are a length (7: add the next byte) and the back reference is 1 +
 * (low 5 bits << 8 | next byte) bytes behind; ref length + 2 bytes are
 * copied. Returns 0 when exactly out_len bytes were produced from exactly
 * in_len, else -1. */
static int lzf_unpack(const uint8_t *ip, size_t in_len, uint8_t *op,
                      size_t out_len) {
    size_t i = 0, o = 0;
    while (i < in_len) {
        unsigned ctrl = ip[i++];
        if (ctrl < 32) {
            size_t run = ctrl + 1;
            if (in_len - i < run || out_len - o < run)
                return -1;
            memcpy(op + o, ip + i, run);
            i += run;
            o += run;
            continue;
        }
        size_t len = ctrl >> 5;
        if (len == 7) {
            if (i >= in_len)
                return -1;
            len += ip[i++];
        }
        if (i >= in_len)
            return -1;
        size_t back = ((size_t)(ctrl & 0x1f) << 8) + ip[i++] + 1;
        len += 2;
        if (back > o || out_len - o < len)
            return -1;
        for (size_t k = 0; k < len; k++, o++)
            op[o] = op[o - back]; /* may overlap: byte by byte */
    }
    return o == out_len ? 0 : -1;
}

int dice__rdb_read_str(dice__rdb_in *in, size_t max, char *numbuf, char **heap,
                       const char **s, size_t *n) {
    *heap = NULL;
    if (in->pos >= in->len)
        return DICE_EAGAIN;
    const uint8_t *d = in->p + in->pos;
    size_t avail = in->len - in->pos;
    if ((d[0] >> 6) == 3) {
        unsigned w = d[0] & 0x3f;
        if (w == 3) {
            dice__rdb_in sub = *in;
            sub.pos++;
            uint64_t clen, ulen;
            int rc = dice__rdb_read_len(&sub, &clen);
            if (rc == 0)
                rc = dice__rdb_read_len(&sub, &ulen);
            if (rc < 0)
                return rc;
            if (ulen > max || ulen == 0 || clen == 0)
                return DICE_EPROTO;
            if (sub.len - sub.pos < clen)
                return DICE_EAGAIN;
            char *b = malloc((size_t)ulen);
            if (!b)
                return DICE_ENOMEM;
            if (lzf_unpack(sub.p + sub.pos, (size_t)clen, (uint8_t *)b,
                           (size_t)ulen) < 0) {
                free(b);
                return DICE_EPROTO;
            }
            in->pos = sub.pos + (size_t)clen;
            *heap = b;
            *s = b;
            *n = (size_t)ulen;
            return 0;
        }
        if (w > 3)
            return DICE_EPROTO;
        w = 1u << w;
        if (avail < 1 + w)
            return DICE_EAGAIN;
        uint32_t u = 0;
        for (unsigned i = 0; i < w; i++)
            u |= (uint32_t)d[1 + i] << (8 * i);
        long long iv = w == 1   ? (int8_t)u
                       : w == 2 ? (int16_t)u
                                : (long long)(int32_t)u;
        *n = dice__fmt_ll(numbuf, iv);
        *s = numbuf;
        in->pos += 1 + w;
        return 0;
    }
    uint64_t v;
    dice__rdb_in sub = *in;
    int rc = dice__rdb_read_len(&sub, &v);
    if (rc < 0)
        return rc;
    if (v > max)
        return DICE_EPROTO;
    if (sub.len - sub.pos < v)
        return DICE_EAGAIN;
    *s = (const char *)sub.p + sub.pos;
    *n = (size_t)v;
    in->pos = sub.pos + (size_t)v;
    return 0;
}
