/* Headerless small allocations for keyspace entries.
 *
 * Most keys are one small allocation (header, clock, key, short value).
 * glibc's malloc spends at least 32 bytes on any of them: an 8-byte chunk
 * header and 16-byte rounding. Here 16, 24 and 32-byte slots are carved
 * from 64 KB pages with no header at all; the owner records the class of
 * each allocation itself (the keyspace keeps it in spare header bits), so
 * an entry of 17..24 bytes costs 24. Freed slots go to a free list per
 * class and are reused first; when the last live slot is freed every page
 * goes back to malloc, so an emptied keyspace does not keep its memory.
 *
 * Not thread-safe. The keyspace has one for its key entries, used from the
 * loop's thread; every big collection (lib/types/strset.c) has its own, so
 * freeing a collection is freeing its pages, and a lazy-free thread that
 * frees a collection touches no memory any other object shares. */
#include "keyspace/keyspace_internal.h"

#include <stdlib.h>

#define POOL_PAGE (64 * 1024)
#define POOL_FIRST_PAGE 1024

void *dice__pool_alloc(dice_pool_t *p, unsigned cls) {
    void *slot = p->free[cls];
    if (slot) {
        memcpy(&p->free[cls], slot, sizeof(void *));
        p->live++;
        return slot;
    }
    size_t sz = dice__pool_slot_size(cls);
    if (p->left < sz) {
        if (p->npages == p->cap) {
            size_t nc = p->cap ? p->cap * 2 : 16;
            char **np = realloc(p->pages, nc * sizeof(*np));
            if (!np)
                return NULL;
            p->pages = np;
            p->cap = nc;
        }
        size_t psz =
            p->npages >= 6 ? POOL_PAGE : (size_t)POOL_FIRST_PAGE << p->npages;
        char *page = malloc(psz);
        if (!page)
            return NULL;
        p->pages[p->npages++] = page;
        /* The tail of the previous page (under 32 bytes) is left unused. */
        p->cur = page;
        p->left = psz;
        p->bytes += psz;
    }
    slot = p->cur;
    p->cur += sz;
    p->left -= sz;
    p->live++;
    return slot;
}

void dice__pool_free(dice_pool_t *p, void *slot, unsigned cls) {
    memcpy(slot, &p->free[cls], sizeof(void *));
    p->free[cls] = slot;
    if (--p->live == 0)
        dice__pool_release(p);
}

void dice__pool_release(dice_pool_t *p) {
    for (size_t i = 0; i < p->npages; i++)
        free(p->pages[i]);
    free(p->pages);
    memset(p, 0, sizeof(*p));
}
