/* CRC-64 as Redis computes it for RDB files and DUMP payloads: the Jones
 * polynomial (0xad93d23594c935a9), reflected input and output, initial
 * value 0, no final XOR ("123456789" gives 0xe9c6d914c4b8d9ca).
 *
 * Eight bytes per step with eight tables (slicing-by-8), built once on
 * first use: an RDB file of a million keys is checked at memory speed, not
 * at one table lookup per byte. The tables are constant once built. */
#include "core/core_internal.h"

#include <pthread.h>
#include <string.h>

/* The polynomial bit-reversed, for the reflected (LSB-first) form. */
#define POLY_REFLECTED 0x95ac9329ac4bc9b5ULL

static uint64_t tab[8][256];
static pthread_once_t tab_once = PTHREAD_ONCE_INIT;

static void tab_build(void) {
    for (unsigned i = 0; i < 256; i++) {
        uint64_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ POLY_REFLECTED : c >> 1;
        tab[0][i] = c;
    }
    for (unsigned i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            tab[t][i] = (tab[t - 1][i] >> 8) ^ tab[0][tab[t - 1][i] & 0xff];
}

uint64_t dice__crc64(uint64_t crc, const void *data, size_t n) {
    pthread_once(&tab_once, tab_build);
    const uint8_t *p = data;
    while (n && ((uintptr_t)p & 7)) {
        crc = tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        n--;
    }
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap64(w);
#endif
        crc ^= w;
        crc = tab[7][crc & 0xff] ^ tab[6][(crc >> 8) & 0xff] ^
              tab[5][(crc >> 16) & 0xff] ^ tab[4][(crc >> 24) & 0xff] ^
              tab[3][(crc >> 32) & 0xff] ^ tab[2][(crc >> 40) & 0xff] ^
              tab[1][(crc >> 48) & 0xff] ^ tab[0][crc >> 56];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}
