/* libdice: what every subsystem shares: the export macro, error codes,
 * version queries, the glob matcher.
 *
 * Error convention: every function that can fail returns an int, 0 on
 * success or a negative DICE_E* code. dice_strerror() turns a code into a
 * static, never-NULL string. Functions that wrap a system call and fail
 * return DICE_ESYS and leave errno as the call set it. */
#ifndef DICE_COMMON_H
#define DICE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(DICE_STATIC_BUILD)
#define DICE_EXPORT
#elif defined(__GNUC__)
#define DICE_EXPORT __attribute__((visibility("default")))
#else
#define DICE_EXPORT
#endif

#define DICE_VERSION_MAJOR 0
#define DICE_VERSION_MINOR 1
#define DICE_VERSION_PATCH 0
/* (major << 16) | (minor << 8) | patch, comparable with dice_version(). */
#define DICE_VERSION_HEX                                                       \
    ((DICE_VERSION_MAJOR << 16) | (DICE_VERSION_MINOR << 8) |                  \
     DICE_VERSION_PATCH)

/* Error codes, one list: the enum and dice_strerror() are generated from
 * it, so a code can never lack its text. Values are part of the ABI: never
 * renumber, only append. */
#define DICE_ERRNO_MAP(XX)                                                     \
    XX(ENOMEM, -1, "out of memory")                                            \
    XX(EINVAL, -2, "invalid argument")                                         \
    XX(ENOENT, -3, "no such item") /* fd not watched, timer unknown... */      \
    XX(EEXIST, -4, "item already exists")                                      \
    XX(EAGAIN, -5, "incomplete input") /* feed more bytes */                   \
    XX(EPROTO, -6, "protocol error")   /* in input */                          \
    XX(ELIMIT, -7, "limit exceeded")   /* a configured limit */                \
    XX(ESYS, -8, "system call failed (see errno)")                             \
    XX(ECLOSED, -9, "closed") /* the object is closed or closing */            \
    XX(ERANGE, -10, "value out of range")                                      \
    XX(EWRONGTYPE, -11, "wrong type") /* key holds another type */             \
    XX(ESTATE, -12, "invalid in current state")

enum dice_error {
    DICE_OK = 0,
#define DICE_ERRNO_ENUM(name, value, text) DICE_##name = value,
    DICE_ERRNO_MAP(DICE_ERRNO_ENUM)
#undef DICE_ERRNO_ENUM
};

/* Static description of a DICE_E* code; unknown codes give "unknown error".
 * Thread-safe. */
DICE_EXPORT const char *dice_strerror(int err);

/* Version of the library actually loaded, in DICE_VERSION_HEX form. */
DICE_EXPORT unsigned dice_version(void);
/* The same as a static "MAJOR.MINOR.PATCH" string. */
DICE_EXPORT const char *dice_version_string(void);

/* ---- glob ------------------------------------------------------------- */

/* Redis-compatible glob match (stringmatchlen): * ? [abc] [^a] [a-z] and
 * backslash escapes; binary-safe; O(plen * slen) worst case. Returns 1 on
 * match, else 0. As in Redis 7.0, a pattern with more than 1000 runs of '*'
 * whose 1001st run is not its end matches nothing. */
DICE_EXPORT int dice_glob_match(const char *pat, size_t plen, const char *str,
                                size_t slen, int nocase);

#ifdef __cplusplus
}
#endif

#endif
