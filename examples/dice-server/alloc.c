/* dice-server's count of allocated bytes, for maxmemory and INFO
 * used_memory (dice_server_set_memory_fn): the program replaces glibc's
 * malloc family by thin wrappers around glibc's own (__libc_*), as glibc's
 * manual allows ("Replacing malloc"), and adds each block's usable size
 * plus its chunk header to one counter, as Redis's zmalloc counts
 * used_memory. glibc's mallinfo2 gives the same figure but walks the free
 * lists (milliseconds on a fragmented heap), too slow to ask before every
 * write. Relaxed atomics: the lazy-free thread frees too.
 *
 * Sanitizer builds keep the sanitizer's allocator and ask it for the same
 * figure (__sanitizer_get_current_allocated_bytes). */
#include "alloc.h"

#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__SANITIZE_ADDRESS__)
#define ASAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN_BUILD 1
#endif
#endif

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define COUNTING 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||     \
    __has_feature(memory_sanitizer)
#define COUNTING 0
#endif
#endif
#if !defined(COUNTING) && defined(__GLIBC__)
#define COUNTING 1
#endif
#ifndef COUNTING
#define COUNTING 0
#endif

#if COUNTING

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

static long long used_bytes;

/* A block's share of the heap: what it may use plus glibc's size word,
 * which is malloc_usable_size(p) + 8. On x86-64 it is read straight from
 * the chunk's size word (flags in the low 3 bits; an mmapped chunk has
 * one more word of overhead), which is what malloc_usable_size does
 * after its checks, without a call on every malloc and free. */
static inline size_t held(void *p) {
    if (!p)
        return 0;
#if defined(__x86_64__)
    size_t word = ((const size_t *)p)[-1];
    return (word & ~(size_t)7) - ((word & 2) ? sizeof(size_t) : 0);
#else
    return malloc_usable_size(p) + sizeof(size_t);
#endif
}

static inline void *counted(void *p) {
    if (p)
        __atomic_add_fetch(&used_bytes, (long long)held(p), __ATOMIC_RELAXED);
    return p;
}

void *malloc(size_t n) {
    return counted(__libc_malloc(n));
}

void *calloc(size_t n, size_t m) {
    return counted(__libc_calloc(n, m));
}

void free(void *p) {
    if (!p)
        return;
    __atomic_sub_fetch(&used_bytes, (long long)held(p), __ATOMIC_RELAXED);
    __libc_free(p);
}

void *realloc(void *p, size_t n) {
    size_t old = held(p);
    void *q = __libc_realloc(p, n);
    if (!q && n && p)
        return NULL; /* failed: p is untouched */
    __atomic_add_fetch(&used_bytes, (long long)held(q) - (long long)old,
                       __ATOMIC_RELAXED);
    return q;
}

void *reallocarray(void *p, size_t n, size_t m) {
    size_t total;
    if (__builtin_mul_overflow(n, m, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, total);
}

void *memalign(size_t align, size_t n) {
    return counted(__libc_memalign(align, n));
}

void *aligned_alloc(size_t align, size_t n) {
    return counted(__libc_memalign(align, n));
}

int posix_memalign(void **out, size_t align, size_t n) {
    if (align < sizeof(void *) || (align & (align - 1)))
        return EINVAL;
    void *p = __libc_memalign(align, n);
    if (!p)
        return ENOMEM;
    *out = counted(p);
    return 0;
}

void *valloc(size_t n) {
    return counted(__libc_valloc(n));
}

void *pvalloc(size_t n) {
    return counted(__libc_pvalloc(n));
}

static unsigned long long used_memory(void *arg) {
    (void)arg;
    long long n = __atomic_load_n(&used_bytes, __ATOMIC_RELAXED);
    return n > 0 ? (unsigned long long)n : 0;
}

void dice_server_count_memory(dice_server_t *srv) {
    dice_server_set_memory_fn(srv, used_memory, NULL);
}

#elif defined(ASAN_BUILD)

/* The sanitizer runtime's (sanitizer/allocator_interface.h, not always
 * installed). */
extern size_t __sanitizer_get_current_allocated_bytes(void);

static unsigned long long used_memory(void *arg) {
    (void)arg;
    return (unsigned long long)__sanitizer_get_current_allocated_bytes();
}

void dice_server_count_memory(dice_server_t *srv) {
    dice_server_set_memory_fn(srv, used_memory, NULL);
}

#else

void dice_server_count_memory(dice_server_t *srv) {
    (void)srv; /* the library's default */
}

#endif
