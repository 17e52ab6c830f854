/* SHA-1 (FIPS 180-4), for DEBUG DIGEST now and script ids (EVALSHA) later.
 * Not for security: it is what Redis's digests and script names use.
 * Incremental: init, update any number of times, final. */
#ifndef DICE_CORE_SHA1_H
#define DICE_CORE_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define DICE__SHA1_LEN 20

typedef struct dice__sha1 {
    uint32_t h[5];
    uint64_t len; /* bytes fed so far */
    uint8_t buf[64];
    size_t used; /* bytes waiting in buf */
} dice__sha1;

void dice__sha1_init(dice__sha1 *s);
void dice__sha1_update(dice__sha1 *s, const void *data, size_t len);
/* Writes the 20-byte digest; s must be initialised again before reuse. */
void dice__sha1_final(dice__sha1 *s, uint8_t out[DICE__SHA1_LEN]);
/* 40 lowercase hex digits and a NUL into hex (41 bytes). */
void dice__hex(const uint8_t *bin, size_t len, char *hex);

#endif
