/* SHA-1, written from the FIPS 180-4 description: 512-bit blocks, 80
 * rounds over a 16-word schedule extended in place, big-endian words. */
#include "core/sha1.h"

#include <string.h>

static inline uint32_t rol(uint32_t x, unsigned n) {
    return (x << n) | (x >> (32 - n));
}

static void block(uint32_t h[5], const uint8_t *p) {
    uint32_t w[16];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int t = 0; t < 80; t++) {
        if (t >= 16)
            w[t & 15] = rol(w[(t - 3) & 15] ^ w[(t - 8) & 15] ^
                                w[(t - 14) & 15] ^ w[t & 15],
                            1);
        uint32_t f, k;
        if (t < 20) {
            f = (b & c) | (~b & d);
            k = 0x5a827999u;
        } else if (t < 40) {
            f = b ^ c ^ d;
            k = 0x6ed9eba1u;
        } else if (t < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8f1bbcdcu;
        } else {
            f = b ^ c ^ d;
            k = 0xca62c1d6u;
        }
        uint32_t tmp = rol(a, 5) + f + e + k + w[t & 15];
        e = d;
        d = c;
        c = rol(b, 30);
        b = a;
        a = tmp;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void dice__sha1_init(dice__sha1 *s) {
    s->h[0] = 0x67452301u;
    s->h[1] = 0xefcdab89u;
    s->h[2] = 0x98badcfeu;
    s->h[3] = 0x10325476u;
    s->h[4] = 0xc3d2e1f0u;
    s->len = 0;
    s->used = 0;
}

void dice__sha1_update(dice__sha1 *s, const void *data, size_t len) {
    const uint8_t *p = data;
    s->len += len;
    if (s->used) {
        size_t take = 64 - s->used < len ? 64 - s->used : len;
        memcpy(s->buf + s->used, p, take);
        s->used += take;
        p += take;
        len -= take;
        if (s->used < 64)
            return;
        block(s->h, s->buf);
        s->used = 0;
    }
    for (; len >= 64; p += 64, len -= 64)
        block(s->h, p);
    memcpy(s->buf, p, len);
    s->used = len;
}

void dice__sha1_final(dice__sha1 *s, uint8_t out[DICE__SHA1_LEN]) {
    uint64_t bits = s->len * 8;
    uint8_t pad = 0x80;
    dice__sha1_update(s, &pad, 1);
    pad = 0;
    while (s->used != 56)
        dice__sha1_update(s, &pad, 1);
    uint8_t lenbe[8];
    for (int i = 0; i < 8; i++)
        lenbe[i] = (uint8_t)(bits >> (56 - 8 * i));
    dice__sha1_update(s, lenbe, 8);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (uint8_t)(s->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)s->h[i];
    }
}

void dice__hex(const uint8_t *bin, size_t len, char *hex) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        hex[2 * i] = digits[bin[i] >> 4];
        hex[2 * i + 1] = digits[bin[i] & 15];
    }
    hex[2 * len] = '\0';
}
