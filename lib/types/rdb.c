/* Redis's RDB length and string encodings (see rdb.h), with LZF
 * decompression (lib/core/lzf.c) for strings Redis saved compressed
 * (rdbcompression, the default, compresses strings over 20 bytes, DUMP
 * payloads included). */
#include "types/rdb.h"

#include "core/core_internal.h"

#include <stdlib.h>
#include <string.h>

size_t dice__rdb_put_len(uint8_t *h, uint64_t n) {
    if (n < 64) {
        h[0] = (uint8_t)n;
        return 1;
    }
    if (n < 16384) {
        h[0] = (uint8_t)(0x40 | (n >> 8));
        h[1] = (uint8_t)n;
        return 2;
    }
    if (n <= UINT32_MAX) {
        h[0] = 0x80;
        for (int i = 0; i < 4; i++)
            h[1 + i] = (uint8_t)(n >> (24 - 8 * i));
        return 5;
    }
    h[0] = 0x81;
    for (int i = 0; i < 8; i++)
        h[1 + i] = (uint8_t)(n >> (56 - 8 * i));
    return 9;
}

size_t dice__rdb_put_lzf_header(uint8_t *dst, uint64_t clen, uint64_t ulen) {
    dst[0] = 0xC3;
    size_t n = 1 + dice__rdb_put_len(dst + 1, clen);
    return n + dice__rdb_put_len(dst + n, ulen);
}

int dice__rdb_write_len(dice_type_write_fn write, void *wctx, uint64_t v) {
    uint8_t h[DICE__RDB_LEN_MAX];
    return write(wctx, h, dice__rdb_put_len(h, v));
}

int dice__rdb_write_string(dice_type_write_fn write, void *wctx, const char *s,
                           size_t n) {
    long long iv;
    uint8_t h[DICE__RDB_LEN_MAX];
    if (n <= 11 && dice__str2ll(s, n, &iv) && iv >= INT32_MIN &&
        iv <= INT32_MAX) {
        size_t w = iv >= INT8_MIN && iv <= INT8_MAX     ? 1
                   : iv >= INT16_MIN && iv <= INT16_MAX ? 2
                                                        : 4;
        h[0] = (uint8_t)(0xC0 | (w == 1 ? 0 : w == 2 ? 1 : 2));
        uint32_t u = (uint32_t)(int32_t)iv;
        for (size_t i = 0; i < w; i++)
            h[1 + i] = (uint8_t)(u >> (8 * i));
        return write(wctx, h, 1 + w);
    }
    int rc = write(wctx, h, dice__rdb_put_len(h, n));
    return rc < 0 ? rc : write(wctx, s, n);
}

int dice__rdb_read_len(const uint8_t *d, size_t len, uint64_t *v,
                       size_t *used) {
    if (len < 1)
        return DICE_EAGAIN;
    unsigned kind = d[0] >> 6;
    if (kind == 0) {
        *v = d[0] & 0x3f;
        *used = 1;
        return 0;
    }
    if (kind == 1) {
        if (len < 2)
            return DICE_EAGAIN;
        *v = ((uint64_t)(d[0] & 0x3f) << 8) | d[1];
        *used = 2;
        return 0;
    }
    if (d[0] != 0x80 && d[0] != 0x81)
        return DICE_EPROTO;
    size_t hl = d[0] == 0x80 ? 5 : 9;
    if (len < hl)
        return DICE_EAGAIN;
    uint64_t x = 0;
    for (size_t i = 1; i < hl; i++)
        x = (x << 8) | d[i];
    *v = x;
    *used = hl;
    return 0;
}

int dice__rdb_read_string(const uint8_t *d, size_t len, size_t max,
                          char *numbuf, char **owned, const char **s, size_t *n,
                          size_t *used) {
    *owned = NULL;
    if (len < 1)
        return DICE_EAGAIN;
    if (d[0] >> 6 == 3) {
        unsigned w = d[0] & 0x3f;
        if (w == 3) {
            uint64_t clen, ulen;
            size_t a, b;
            int rc = dice__rdb_read_len(d + 1, len - 1, &clen, &a);
            if (rc < 0)
                return rc;
            rc = dice__rdb_read_len(d + 1 + a, len - 1 - a, &ulen, &b);
            if (rc < 0)
                return rc;
            size_t hl = 1 + a + b;
            if (ulen > max || ulen == 0 || clen == 0)
                return DICE_EPROTO;
            if (len - hl < clen)
                return DICE_EAGAIN;
            char *buf = malloc((size_t)ulen);
            if (!buf)
                return DICE_ENOMEM;
            if (dice__lzf_decompress(d + hl, (size_t)clen, buf, (size_t)ulen) !=
                ulen) {
                free(buf);
                return DICE_EPROTO;
            }
            *owned = buf;
            *s = buf;
            *n = (size_t)ulen;
            *used = hl + (size_t)clen;
            return 0;
        }
        if (w > 2)
            return DICE_EPROTO;
        w = 1u << w;
        if (len < 1 + w)
            return DICE_EAGAIN;
        uint32_t u = 0;
        for (unsigned i = 0; i < w; i++)
            u |= (uint32_t)d[1 + i] << (8 * i);
        long long iv = w == 1   ? (int8_t)u
                       : w == 2 ? (int16_t)u
                                : (long long)(int32_t)u;
        *n = dice__fmt_ll(numbuf, iv);
        *s = numbuf;
        *used = 1 + w;
        return 0;
    }
    uint64_t v;
    size_t hl;
    int rc = dice__rdb_read_len(d, len, &v, &hl);
    if (rc < 0)
        return rc;
    if (v > max)
        return DICE_EPROTO;
    if (len - hl < v)
        return DICE_EAGAIN;
    *s = (const char *)d + hl;
    *n = (size_t)v;
    *used = hl + (size_t)v;
    return 0;
}

int dice__rdb_in_len(dice__rdb_in *in, uint64_t *v) {
    size_t used;
    int rc = dice__rdb_read_len(in->p + in->pos, in->len - in->pos, v, &used);
    if (rc == 0)
        in->pos += used;
    return rc;
}

int dice__rdb_in_string(dice__rdb_in *in, size_t max, char *numbuf,
                        char **owned, const char **s, size_t *n) {
    size_t used;
    int rc = dice__rdb_read_string(in->p + in->pos, in->len - in->pos, max,
                                   numbuf, owned, s, n, &used);
    if (rc == 0)
        in->pos += used;
    return rc;
}
