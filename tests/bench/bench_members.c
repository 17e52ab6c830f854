/* Memory of the member table (lib/types/strset.c), in process: RSS growth
 * per element for the collection shapes of issue 10, measured from
 * /proc/self/statm before and after loading one collection of N members.
 * Prints the growth right after loading (rehash possibly mid-way, as a
 * collection is left after its last write) and after finishing the
 * rehash.
 *
 *   build/dev/tests/bench_members [N]     (default 1000000) */
#include "types/types_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static long rss_bytes(void) {
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = 0;
    fclose(f);
    return rss * sysconf(_SC_PAGESIZE);
}

enum { SHAPE_SET, SHAPE_HASH, SHAPE_ZMAP };

static const struct {
    const char *name;
    double target; /* issue 10's bound for the whole type, B/elem */
} shapes[] = {
    {"set of member:N", 33},
    {"hash of field:N -> vN", 41},
    {"member:N -> double (zset's map)", 0},
};

/* Load one shape into a fresh process, so one shape's freed memory does
 * not hide the next one's growth. */
static void run_shape(int shape, long n) {
    char k[32], v[32];
    dice__mtab t;
    static const int modes[] = {DICE__MT_SET, DICE__MT_BYTES, DICE__MT_DOUBLE};
    long base = rss_bytes();
    dice__mt_init(&t, modes[shape]);
    for (long i = 0; i < n; i++) {
        int kl = snprintf(k, sizeof(k),
                          shape == SHAPE_HASH ? "field:%ld" : "member:%ld", i);
        if (shape == SHAPE_SET) {
            dice__strset_add(&t, k, (size_t)kl);
        } else if (shape == SHAPE_HASH) {
            int vl = snprintf(v, sizeof(v), "v%ld", i);
            dice__strmap_set(&t, k, (size_t)kl, v, (size_t)vl);
        } else {
            dice__strmap_set_double(&t, k, (size_t)kl, (double)i * 1.5);
        }
    }
    long loaded = rss_bytes();
    int rehashing = t.d.rehashing;
    while (dice__mt_rehash(&t, 100000))
        ;
    long done = rss_bytes();
    printf("%-32s %7.1f B/elem as loaded%s, %7.1f rehashed", shapes[shape].name,
           (double)(loaded - base) / (double)n,
           rehashing ? " (mid-rehash)" : "", (double)(done - base) / (double)n);
    if (shapes[shape].target > 0)
        printf(" (target <= %.0f)", shapes[shape].target);
    printf("; %zu slots, load %.2f\n", dice__dict_slots(&t.d),
           (double)dice__mt_len(&t) / (double)dice__dict_slots(&t.d));
    fflush(stdout);
    dice__mt_free(&t);
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    printf("member table, %ld elements, RSS growth per element%s\n", n,
           DICE__POOL_ON ? "" : " (sanitizer build: no pool)");
    fflush(stdout);
    for (int s = SHAPE_SET; s <= SHAPE_ZMAP; s++) {
        pid_t pid = fork();
        if (pid == 0) {
            run_shape(s, n);
            _exit(0);
        }
        int st;
        waitpid(pid, &st, 0);
    }
    return 0;
}
