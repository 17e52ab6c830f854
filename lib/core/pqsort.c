/* The partial quicksort Redis sorts with when only a slice of the result
 * is wanted (its pqsort.c: GEOSEARCH ... COUNT n, SORT ... BY ... LIMIT).
 * It is the Bentley-McIlroy quicksort of the BSD C libraries ("Engineering
 * a Sort Function", 1993) that skips the partitions lying wholly outside
 * the wanted slice. Quicksort is not stable: the order it leaves equal
 * elements in shows in replies (points at one place, equal weights), so
 * this is the same algorithm, step for step: the same pivot choice
 * (median of three, or of three medians past 40 elements), the same
 * partition that gathers elements equal to the pivot at both ends and
 * swaps them into the middle, the same insertion sort below 7 elements or
 * after a partition that moved nothing, the same order of recursion. */
#include "core/core_internal.h"

#include <string.h>

typedef struct pq {
    char *base;
    size_t es;
    int (*cmp)(const void *, const void *, void *);
    void *ctx;
    /* The wanted slice as byte offsets of its first and last bytes, as
     * Redis keeps it: when SORT's LIMIT starts past the end the "last" is
     * one byte before the first, and these offsets decide alike. */
    size_t lo, hi;
} pq;

static char *at(const pq *q, size_t i) {
    return q->base + i * q->es;
}

static int cmp_at(const pq *q, size_t i, size_t j) {
    return q->cmp(at(q, i), at(q, j), q->ctx);
}

/* Exchanges elements i and j (byte by byte, in word-sized steps). */
static void swap_at(const pq *q, size_t i, size_t j) {
    char *a = at(q, i), *b = at(q, j);
    size_t left = q->es;
    while (left >= sizeof(long)) {
        long t;
        memcpy(&t, a, sizeof t);
        memcpy(a, b, sizeof t);
        memcpy(b, &t, sizeof t);
        a += sizeof t;
        b += sizeof t;
        left -= sizeof t;
    }
    while (left--) {
        char t = *a;
        *a++ = *b;
        *b++ = t;
    }
}

/* Exchanges the runs [i, i+n) and [j, j+n), which do not overlap. */
static void swap_run(const pq *q, size_t i, size_t j, size_t n) {
    for (size_t k = 0; k < n; k++)
        swap_at(q, i + k, j + k);
}

/* Index of the median of elements i, j, k, chosen as the BSD med3 does. */
static size_t median3(const pq *q, size_t i, size_t j, size_t k) {
    if (cmp_at(q, i, j) < 0) {
        if (cmp_at(q, j, k) < 0)
            return j;
        return cmp_at(q, i, k) < 0 ? k : i;
    }
    if (cmp_at(q, j, k) > 0)
        return j;
    return cmp_at(q, i, k) < 0 ? i : k;
}

static void insertion(const pq *q, size_t a, size_t n) {
    for (size_t m = a + 1; m < a + n; m++)
        for (size_t l = m; l > a && cmp_at(q, l - 1, l) > 0; l--)
            swap_at(q, l, l - 1);
}

/* Whether elements [a, a+n) are to be sorted: unless both ends of the
 * slice lie before them, or both after them. */
static int wanted(const pq *q, size_t a, size_t n) {
    size_t l = a * q->es, r = (a + n) * q->es - 1;
    return !((q->lo < l && q->hi < l) || (q->lo > r && q->hi > r));
}

static void sort_part(const pq *q, size_t a, size_t n) {
    for (;;) {
        if (n < 7) {
            insertion(q, a, n);
            return;
        }
        size_t m = a + n / 2;
        if (n > 7) {
            size_t l = a, r = a + n - 1;
            if (n > 40) {
                size_t d = n / 8;
                l = median3(q, l, l + d, l + 2 * d);
                m = median3(q, m - d, m, m + d);
                r = median3(q, r - 2 * d, r - d, r);
            }
            m = median3(q, l, m, r);
        }
        swap_at(q, a, m); /* the pivot waits at a */
        /* [a+1, pa): equal to the pivot; [pa, pb): less; (pc, pd]:
         * greater; (pd, a+n): equal. */
        size_t pa = a + 1, pb = a + 1, pc = a + n - 1, pd = a + n - 1;
        int moved = 0, r;
        for (;;) {
            while (pb <= pc && (r = cmp_at(q, pb, a)) <= 0) {
                if (r == 0) {
                    moved = 1;
                    swap_at(q, pa++, pb);
                }
                pb++;
            }
            while (pb <= pc && (r = cmp_at(q, pc, a)) >= 0) {
                if (r == 0) {
                    moved = 1;
                    swap_at(q, pc, pd--);
                }
                pc--;
            }
            if (pb > pc)
                break;
            swap_at(q, pb++, pc--);
            moved = 1;
        }
        if (!moved) { /* already in order, it seems: finish by insertion */
            insertion(q, a, n);
            return;
        }
        size_t end = a + n;
        size_t k = pa - a < pb - pa ? pa - a : pb - pa;
        swap_run(q, a, pb - k, k);
        k = pd - pc < end - pd - 1 ? pd - pc : end - pd - 1;
        swap_run(q, pb, end - k, k);
        size_t less = pb - pa, more = pd - pc;
        if (less > 1 && wanted(q, a, less))
            sort_part(q, a, less);
        if (more <= 1)
            return;
        a = end - more;
        n = more;
        if (!wanted(q, a, n))
            return;
    }
}

void dice__pqsort(void *base, size_t n, size_t size,
                  int (*cmp)(const void *, const void *, void *), void *ctx,
                  size_t lo, size_t hi) {
    pq q = {base, size, cmp, ctx, lo * size, (hi + 1) * size - 1};
    if (n > 1)
        sort_part(&q, 0, n);
}
