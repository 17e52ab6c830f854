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

/* Redis's rdbSaveLzfStringObject: worth it only when the compressed form
 * saves at least 4 bytes (0 when it does not, and the string goes plain). */
static int head_write(dice__rdb_sink *s);

static int write_lzf(dice__rdb_sink *k, const char *s, size_t n) {
    /* A pending head (its key may be compressed too) goes first: the
     * scratch is then ours. */
    if (k->hpending && *k->hformat != DICE__RDB_FORMAT_UNSET) {
        int rc = head_write(k);
        if (rc < 0)
            return rc;
    }
    if (k->lzf_cap < n) {
        uint8_t *b = realloc(k->lzf, n);
        if (!b)
            return 0; /* no scratch: plain is as correct */
        k->lzf = b;
        k->lzf_cap = n;
    }
    size_t c = dice__lzf_compress(s, n, k->lzf, n - 4);
    if (c == 0)
        return 0;
    uint8_t h[1 + 2 * DICE__RDB_LEN_MAX];
    int rc = dice__rdb_sink_write(k, h, dice__rdb_put_lzf_header(h, c, n));
    if (rc == 0)
        rc = dice__rdb_sink_write(k, k->lzf, c);
    return rc < 0 ? rc : 1;
}

int dice__rdb_write_string(dice_type_write_fn write, void *wctx, const char *s,
                           size_t n) {
    long long iv;
    uint8_t h[DICE__RDB_LEN_MAX];
    if (n > 20 && write == dice__rdb_sink_write &&
        ((dice__rdb_sink *)wctx)->compress) {
        int rc = write_lzf(wctx, s, n);
        if (rc != 0)
            return rc < 0 ? rc : 0;
    }
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

/* ---- sink --------------------------------------------------------------- */

void dice__rdb_sink_init(dice__rdb_sink *s, dice_type_write_fn out,
                         void *out_ctx, int compress, int checksum) {
    s->out = out;
    s->out_ctx = out_ctx;
    s->compress = compress;
    s->checksum = checksum;
    s->crc = 0;
    s->written = 0;
    s->err = 0;
    s->used = 0;
    s->lzf = NULL;
    s->lzf_cap = 0;
    s->hpending = 0;
    s->held = NULL;
    s->hlen = s->hcap = 0;
}

void dice__rdb_sink_head(dice__rdb_sink *s, const unsigned *format,
                         const char *key, size_t klen) {
    s->hpending = 1;
    s->hformat = format;
    s->hkey = key;
    s->hklen = klen;
    s->hlen = 0;
}

static int sink_put(dice__rdb_sink *s, const void *data, size_t len);

static int head_write(dice__rdb_sink *s) {
    s->hpending = 0;
    if (*s->hformat > 255)
        return DICE_EINVAL;
    uint8_t b = (uint8_t)*s->hformat;
    int rc = sink_put(s, &b, 1);
    if (rc == 0 && s->hkey)
        rc = dice__rdb_write_string(dice__rdb_sink_write, s, s->hkey, s->hklen);
    if (rc == 0 && s->hlen)
        rc = sink_put(s, s->held, s->hlen);
    s->hlen = 0;
    return rc;
}

/* Payload bytes while the head waits for its format. */
static int head_hold(dice__rdb_sink *s, const void *data, size_t len) {
    if (s->hcap - s->hlen < len) {
        size_t c = s->hcap ? s->hcap : 4096;
        while (c - s->hlen < len)
            c *= 2;
        uint8_t *q = realloc(s->held, c);
        if (!q)
            return DICE_ENOMEM;
        s->held = q;
        s->hcap = c;
    }
    memcpy(s->held + s->hlen, data, len);
    s->hlen += len;
    return 0;
}

int dice__rdb_sink_end_value(dice__rdb_sink *s) {
    return s->hpending ? head_write(s) : s->err;
}

static int sink_out(dice__rdb_sink *s, const void *d, size_t n) {
    if (s->checksum)
        s->crc = dice__crc64(s->crc, d, n);
    int rc = s->out(s->out_ctx, d, n);
    if (rc < 0)
        s->err = rc;
    return rc;
}

int dice__rdb_sink_flush(dice__rdb_sink *s) {
    if (s->err)
        return s->err;
    if (s->used == 0)
        return 0;
    size_t n = s->used;
    s->used = 0;
    int rc = sink_out(s, s->buf, n);
    return rc < 0 ? rc : 0;
}

int dice__rdb_sink_write(void *sink, const void *data, size_t len) {
    dice__rdb_sink *s = sink;
    if (s->hpending) {
        if (*s->hformat == DICE__RDB_FORMAT_UNSET)
            return head_hold(s, data, len);
        int rc = head_write(s);
        if (rc < 0)
            return rc;
    }
    return sink_put(s, data, len);
}

static int sink_put(dice__rdb_sink *s, const void *data, size_t len) {
    if (s->err)
        return s->err;
    s->written += len;
    if (len <= sizeof(s->buf) - s->used) {
        memcpy(s->buf + s->used, data, len);
        s->used += len;
        return 0;
    }
    int rc = dice__rdb_sink_flush(s);
    if (rc < 0)
        return rc;
    if (len >= sizeof(s->buf) / 2) {
        rc = sink_out(s, data, len);
        return rc < 0 ? rc : 0;
    }
    memcpy(s->buf, data, len);
    s->used = len;
    return 0;
}

void dice__rdb_sink_release(dice__rdb_sink *s) {
    free(s->held);
    s->held = NULL;
    s->hcap = s->hlen = 0;
    free(s->lzf);
    s->lzf = NULL;
    s->lzf_cap = 0;
}
