/* Memory per key: insert 1,000,000 keys "key:0000000".."key:0999999" with
 * values "v0".."v999999" through the db API and print RSS (from
 * /proc/self/statm) before and after, and bytes per key. The server runs
 * dice_keyspace_rehash() from a timer, so after the inserts the bench
 * does the same until rehashing ends and reports both figures. */
#include "dice/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long rss_bytes(void) {
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    dice_keyspace_t *ks;
    if (dice_keyspace_new(&ks, 16) < 0)
        return 1;
    dice_db_t *db = dice_keyspace_db(ks, 0);
    long before = rss_bytes();
    double t0 = now_s();
    char key[32], val[32];
    for (long i = 0; i < n; i++) {
        int kl = snprintf(key, sizeof(key), "key:%07ld", i);
        int vl = snprintf(val, sizeof(val), "v%ld", i);
        if (dice_db_set(db, key, (size_t)kl, val, (size_t)vl, 0, 0) < 0) {
            fprintf(stderr, "set failed at %ld\n", i);
            return 1;
        }
    }
    double t1 = now_s();
    long mid = rss_bytes();
    int rounds = 0;
    while (dice_keyspace_rehash(ks, 1000))
        rounds++;
    long after = rss_bytes();
    printf("keys: %ld (dbsize %zu), insert %.3f s (%.0f ns/key)\n", n,
           dice_db_size(db), t1 - t0, (t1 - t0) * 1e9 / (double)n);
    printf("rss before: %ld bytes\n", before);
    printf("rss after inserts: %ld bytes, %.1f bytes/key (rehash pending)\n",
           mid, (double)(mid - before) / (double)n);
    printf("rss after %d timer rehash rounds: %ld bytes, %.1f bytes/key\n",
           rounds, after, (double)(after - before) / (double)n);
    char nb[DICE_DB_NUMBUF];
    const char *v;
    size_t vl;
    if (dice_db_get(db, "key:0000042", 11, nb, &v, &vl) != 0 || vl != 3) {
        fprintf(stderr, "lookup check failed\n");
        return 1;
    }
    dice_keyspace_free(ks);
    return 0;
}
