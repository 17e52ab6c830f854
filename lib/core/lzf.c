/* LZF, the compression Redis uses for RDB strings and quicklist nodes
 * (liblzf's stream format, written here from the format's description).
 *
 * A stream is a sequence of two kinds of items:
 *   literal run:    000LLLLL, then L+1 bytes copied as they are (1..32);
 *   back reference: LLLOOOOO [EEEEEEEE] OOOOOOOO, LLL != 0: copy
 *                   LLL+2 bytes (LLL = 7: 7+EEEEEEEE+2, up to 264) from
 *                   1 + (OOOOO << 8 | OOOOOOOO) bytes back (up to 8192)
 *                   in the output; the copy may overlap what it makes.
 *
 * The compressor finds earlier occurrences of the next three bytes with a
 * small hash table of last positions (one probe, no chains: fast, and
 * close to liblzf's ratio on the data Redis compresses). */
#include "core/core_internal.h"

#include <stdint.h>
#include <string.h>

#define MAX_LIT 32            /* bytes in one literal run */
#define MAX_REF (7 + 255 + 2) /* bytes one back reference makes */
#define MAX_OFF 8192          /* farthest back a reference reaches */
#define HASH_BITS 13
#define NO_POS UINT32_MAX

static inline uint32_t hash3(const uint8_t *p) {
    uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    return (v * 2654435761u) >> (32 - HASH_BITS);
}

/* Write n literal bytes from lit as runs of up to MAX_LIT; 0 if out has
 * no room. */
static int put_literals(uint8_t *out, size_t cap, size_t *op,
                        const uint8_t *lit, size_t n) {
    while (n) {
        size_t run = n > MAX_LIT ? MAX_LIT : n;
        if (cap - *op < run + 1)
            return 0;
        out[(*op)++] = (uint8_t)(run - 1);
        memcpy(out + *op, lit, run);
        *op += run;
        lit += run;
        n -= run;
    }
    return 1;
}

size_t dice__lzf_compress(const void *src, size_t n, void *dst, size_t cap) {
    const uint8_t *in = src;
    uint8_t *out = dst;
    if (n == 0 || n >= NO_POS)
        return 0;
    uint32_t last[1u << HASH_BITS];
    memset(last, 0xff, sizeof(last));
    size_t ip = 0, op = 0, lit = 0; /* lit: first byte not yet written */
    while (ip + 2 < n) {
        uint32_t h = hash3(in + ip);
        uint32_t ref = last[h];
        last[h] = (uint32_t)ip;
        if (ref == NO_POS || ip - ref > MAX_OFF ||
            memcmp(in + ref, in + ip, 3) != 0) {
            ip++;
            continue;
        }
        size_t max = n - ip < MAX_REF ? n - ip : MAX_REF;
        size_t len = 3;
        while (len < max && in[ref + len] == in[ip + len])
            len++;
        if (!put_literals(out, cap, &op, in + lit, ip - lit))
            return 0;
        size_t off = ip - ref - 1, code = len - 2;
        if (cap - op < (code >= 7 ? 3u : 2u))
            return 0;
        if (code < 7) {
            out[op++] = (uint8_t)(code << 5 | off >> 8);
        } else {
            out[op++] = (uint8_t)(7 << 5 | off >> 8);
            out[op++] = (uint8_t)(code - 7);
        }
        out[op++] = (uint8_t)off;
        /* Remember the positions inside the match too: later repeats of
         * them are found. */
        for (size_t k = ip + 1; k < ip + len && k + 2 < n; k++)
            last[hash3(in + k)] = (uint32_t)k;
        ip += len;
        lit = ip;
    }
    if (!put_literals(out, cap, &op, in + lit, n - lit))
        return 0;
    return op;
}

size_t dice__lzf_decompress(const void *src, size_t n, void *dst, size_t cap) {
    const uint8_t *in = src;
    uint8_t *out = dst;
    size_t ip = 0, op = 0;
    while (ip < n) {
        unsigned ctrl = in[ip++];
        if (ctrl < 32) {
            size_t run = ctrl + 1u;
            if (n - ip < run || cap - op < run)
                return 0;
            memcpy(out + op, in + ip, run);
            ip += run;
            op += run;
            continue;
        }
        size_t len = ctrl >> 5;
        if (len == 7) {
            if (ip >= n)
                return 0;
            len += in[ip++];
        }
        len += 2;
        if (ip >= n)
            return 0;
        size_t back = ((size_t)(ctrl & 0x1f) << 8 | in[ip++]) + 1;
        if (back > op || cap - op < len)
            return 0;
        const uint8_t *from = out + op - back;
        if (back >= len) {
            memcpy(out + op, from, len);
        } else {
            for (size_t i = 0; i < len; i++) /* overlapping: byte by byte */
                out[op + i] = from[i];
        }
        op += len;
    }
    return op;
}
