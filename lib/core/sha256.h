/* SHA-256 (FIPS 180-4), for ACL passwords: a user's passwords are kept
 * only as their SHA-256, as Redis keeps them (ACL GETUSER shows the hex
 * digests, `#<hash>` rules give one directly). Incremental: init, update
 * any number of times, final. */
#ifndef DICE_CORE_SHA256_H
#define DICE_CORE_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DICE__SHA256_LEN 32

typedef struct dice__sha256 {
    uint32_t h[8];
    uint64_t len; /* bytes fed so far */
    uint8_t buf[64];
    size_t used; /* bytes waiting in buf */
} dice__sha256;

void dice__sha256_init(dice__sha256 *s);
void dice__sha256_update(dice__sha256 *s, const void *data, size_t len);
/* Writes the 32-byte digest; s must be initialised again before reuse. */
void dice__sha256_final(dice__sha256 *s, uint8_t out[DICE__SHA256_LEN]);
/* One-shot digest of len bytes at data. */
void dice__sha256_digest(const void *data, size_t len,
                         uint8_t out[DICE__SHA256_LEN]);
/* Compare n bytes without an early exit: the time taken says nothing
 * about where a and b first differ. */
bool dice__ct_equal(const void *a, const void *b, size_t n);

#endif
