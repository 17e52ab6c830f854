/* The memory limit: maxmemory and its eviction policies, after Redis's
 * evict.c. Before a command that may grow memory (denyoom), the
 * dispatcher asks dice__evict_refuse; while used memory is above
 * maxmemory, keys go by the policy until it is under, within a time
 * budget (maxmemory-eviction-tenacity), and a timer carries on between
 * loop iterations when the budget runs out.
 *
 * The LRU and LFU policies are Redis's approximations: each round samples
 * maxmemory-samples keys of every db into a pool of the 16 best
 * candidates seen so far (evictionPoolPopulate), scored by idle time,
 * 255 - LFU counter, or nearness of expiry, and evicts the best that
 * still exists. The keyspace keeps the clock in its entries (24 bits of
 * LRU seconds or LFU minutes + counter, lib/keyspace/db_internal.h), so
 * the limit costs no memory per key.
 *
 * Used memory is what the allocator holds: the host's counter when it
 * gives one (dice-server counts every malloc and free), else glibc's
 * mallinfo2, which walks the free lists (milliseconds on a fragmented
 * heap), so it is read at most once per loop millisecond and what the
 * eviction frees meanwhile is estimated from MEMORY USAGE's figures. */
#include "server/evict.h"

#include "dice/db.h"
#include "keyspace/db_internal.h"
#include "server/blocking.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POOL_SIZE 16
#define POOL_KEY_CACHE 48 /* keys up to this long need no allocation */

typedef struct pool_entry {
    unsigned long long score; /* higher: evict sooner */
    const void *ent;          /* the entry when sampled (may be gone since) */
    int db;
    size_t klen;
    char *heap; /* the key when longer than the cache */
    char cached[POOL_KEY_CACHE];
} pool_entry;

struct dice__evict {
    pool_entry pool[POOL_SIZE]; /* ascending score; best at the end */
    size_t npool;
    int next_db; /* the random policies' round-robin */
    unsigned long long evicted;
    /* Monotonic us when memory went over the limit (0: under) and the
     * total of finished stretches. */
    uint64_t exceeded_since_us;
    unsigned long long exceeded_total_us;
    uint64_t timer_id; /* evicting between iterations, 0 if not */
    /* mallinfo2's cached reading, the loop ms it was taken, and the
     * estimated bytes evicted since. */
    unsigned long long mi_used, mi_freed;
    uint64_t mi_ms;
    bool mi_valid;
};

static const char *const policy_names[] = {
    "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
    "allkeys-lru",  "allkeys-lfu",  "allkeys-random",  "noeviction"};

const char *dice__evict_policy_name(int policy) {
    return policy >= 0 && policy <= DICE__MAXMEMORY_NOEVICTION
               ? policy_names[policy]
               : "noeviction";
}

static uint64_t mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static struct dice__evict *state(dice_server_t *srv) {
    if (!srv->evict)
        srv->evict = calloc(1, sizeof(*srv->evict));
    return srv->evict;
}

/* ---- Used memory -------------------------------------------------------- */

void dice_server_set_memory_fn(dice_server_t *srv, dice_memory_fn fn,
                               void *arg) {
    srv->mem_fn = fn;
    srv->mem_arg = arg;
}

static unsigned long long rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%llu %llu", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (unsigned long long)sysconf(_SC_PAGESIZE);
}

static unsigned long long mallinfo_used(void) {
    struct mallinfo2 mi = mallinfo2();
    unsigned long long n = (unsigned long long)(mi.uordblks + mi.hblkhd);
    return n ? n : rss_bytes();
}

unsigned long long dice__server_used_memory(dice_server_t *srv) {
    if (srv->mem_fn)
        return srv->mem_fn(srv->mem_arg);
    return mallinfo_used();
}

/* The figure eviction works with: exact with the host's counter, else
 * the cached mallinfo2 reading less the estimated bytes freed since. */
static unsigned long long evict_used(dice_server_t *srv,
                                     struct dice__evict *ev) {
    if (srv->mem_fn)
        return srv->mem_fn(srv->mem_arg);
    uint64_t now = dice_loop_now_ms(srv->loop);
    if (!ev->mi_valid || ev->mi_ms != now) {
        ev->mi_used = mallinfo_used();
        ev->mi_freed = 0;
        ev->mi_ms = now;
        ev->mi_valid = true;
    }
    return ev->mi_used > ev->mi_freed ? ev->mi_used - ev->mi_freed : 0;
}

/* ---- The pool ----------------------------------------------------------- */

/* A key up to POOL_KEY_CACHE bytes lives in the entry, so entries move
 * with memmove; a longer one is malloc'd. */
static const char *pool_key(const pool_entry *p) {
    return p->klen <= POOL_KEY_CACHE ? p->cached : p->heap;
}

static void pool_key_free(pool_entry *p) {
    if (p->klen > POOL_KEY_CACHE)
        free(p->heap);
    p->heap = NULL;
    p->klen = 0;
}

/* A sample already pooled: the same entry (its address first, so the
 * common case costs no key comparison; an address reused by another key
 * since is told apart by the key). The same key in a new entry may be
 * pooled twice; the copy that loses finds it gone, as Redis's ghosts. */
static bool pool_has(struct dice__evict *ev, int db, const void *e,
                     const char *k, size_t kl) {
    for (size_t i = 0; i < ev->npool; i++) {
        const pool_entry *p = &ev->pool[i];
        if (p->ent == e && p->db == db && p->klen == kl &&
            memcmp(pool_key(p), k, kl) == 0)
            return true;
    }
    return false;
}

/* Redis's evictionPoolPopulate insertion: the pool stays sorted by score,
 * a candidate worse than all of a full pool is dropped, and a full pool
 * gives up its worst to make room. */
static void pool_insert(struct dice__evict *ev, int db, const uint8_t *e,
                        unsigned long long score) {
    if (ev->npool == POOL_SIZE && score <= ev->pool[0].score)
        return; /* before reading the key: most samples end here */
    const char *k;
    size_t kl;
    entry_getkey(e, &k, &kl);
    if (pool_has(ev, db, e, k, kl))
        return;
    char *heap = NULL;
    if (kl > POOL_KEY_CACHE && !(heap = malloc(kl)))
        return;
    size_t i = 0;
    while (i < ev->npool && ev->pool[i].score < score)
        i++;
    if (ev->npool == POOL_SIZE) {
        /* Drop the worst (leftmost), shift the ones below i left. */
        i--;
        pool_key_free(&ev->pool[0]);
        memmove(&ev->pool[0], &ev->pool[1], i * sizeof(pool_entry));
    } else {
        memmove(&ev->pool[i + 1], &ev->pool[i],
                (ev->npool - i) * sizeof(pool_entry));
        ev->npool++;
    }
    pool_entry *p = &ev->pool[i];
    p->score = score;
    p->ent = e;
    p->db = db;
    p->klen = kl;
    p->heap = heap;
    memcpy(heap ? heap : p->cached, k, kl);
}

static void pool_clear(struct dice__evict *ev) {
    for (size_t i = 0; i < ev->npool; i++)
        pool_key_free(&ev->pool[i]);
    ev->npool = 0;
}

static bool is_volatile(int policy) {
    return policy <= DICE__MAXMEMORY_VOLATILE_TTL;
}

static int score_kind(int policy) {
    switch (policy) {
    case DICE__MAXMEMORY_VOLATILE_LFU:
    case DICE__MAXMEMORY_ALLKEYS_LFU: return DICE__EVICT_SCORE_LFU;
    case DICE__MAXMEMORY_VOLATILE_TTL: return DICE__EVICT_SCORE_TTL;
    default: return DICE__EVICT_SCORE_LRU;
    }
}

/* The next candidate into *hold (taken out of the pool, or one of the
 * random policies' picks); false when no key qualifies. The candidate
 * may be gone since it was pooled: the caller's deletion finds out, and
 * asks again (Redis's ghosts), so a key is looked up once, to delete. */
static bool pick(dice_server_t *srv, struct dice__evict *ev, pool_entry *hold) {
    dice_keyspace_t *ks = srv->keyspace;
    int policy = srv->cfg.maxmemory_policy, vol = is_volatile(policy);
    int ndbs = dice_keyspace_ndbs(ks);
    if (policy == DICE__MAXMEMORY_ALLKEYS_RANDOM ||
        policy == DICE__MAXMEMORY_VOLATILE_RANDOM) {
        for (int i = 0; i < ndbs; i++) {
            int d = ev->next_db++ % ndbs;
            dice_db_t *db = dice_keyspace_db(ks, d);
            uint8_t *e;
            if (dice__db_sample(db, vol, &e, 1) == 0)
                continue;
            const char *k;
            size_t kl;
            entry_getkey(e, &k, &kl);
            hold->heap = NULL;
            if (kl > POOL_KEY_CACHE && !(hold->heap = malloc(kl)))
                return false;
            hold->klen = kl;
            hold->db = d;
            memcpy(hold->heap ? hold->heap : hold->cached, k, kl);
            return true;
        }
        return false;
    }
    { /* Every round samples, as Redis's evictionPoolPopulate. */
        int kind = score_kind(policy);
        size_t nsamples = (size_t)srv->cfg.maxmemory_samples, total = 0;
        uint8_t *samples[DICE__DICT_SAMPLE_MAX];
        for (int d = 0; d < ndbs; d++) {
            dice_db_t *db = dice_keyspace_db(ks, d);
            size_t size = vol ? dice_db_expires(db) : dice_db_size(db);
            total += size;
            size_t want = nsamples < size ? nsamples : size;
            /* In batches (maxmemory-samples may be larger). */
            for (size_t done = 0; done < want;) {
                size_t b = want - done < DICE__DICT_SAMPLE_MAX
                               ? want - done
                               : DICE__DICT_SAMPLE_MAX;
                size_t n = dice__db_sample(db, vol, samples, b);
                if (n == 0)
                    break;
                done += n;
                for (size_t i = 0; i < n; i++)
                    pool_insert(
                        ev, d, samples[i],
                        dice__ks_entry_evict_score(ks, samples[i], kind));
            }
        }
        if (total == 0 || ev->npool == 0)
            return false;
    }
    /* The best candidate. */
    *hold = ev->pool[--ev->npool];
    ev->pool[ev->npool].heap = NULL;
    return true;
}

/* ---- Evicting ----------------------------------------------------------- */

/* Redis's evictionTimeLimitUs: 50 us per tenacity step up to 10, then
 * growing 15% a step, unlimited at 100. */
static uint64_t time_limit_us(long long tenacity) {
    if (tenacity <= 10)
        return 50u * (uint64_t)(tenacity < 0 ? 0 : tenacity);
    if (tenacity >= 100)
        return UINT64_MAX;
    double us = 500.0;
    for (long long i = 10; i < tenacity; i++)
        us *= 1.15;
    return (uint64_t)us;
}

static void eviction_timer(dice_loop_t *loop, uint64_t id, void *arg);

static void arm_timer(dice_server_t *srv, struct dice__evict *ev) {
    if (ev->timer_id)
        return;
    if (dice_loop_timer_add(srv->loop, 0, 0, eviction_timer, srv,
                            &ev->timer_id) < 0)
        ev->timer_id = 0;
}

static void eviction_timer(dice_loop_t *loop, uint64_t id, void *arg) {
    (void)loop;
    (void)id;
    dice_server_t *srv = arg;
    srv->evict->timer_id = 0;
    if (srv->cfg.maxmemory)
        dice__evict_perform(srv); /* re-arms while it stays RUNNING */
}

static void account(struct dice__evict *ev, int result) {
    if (result == DICE__EVICT_OK) {
        if (ev->exceeded_since_us) {
            ev->exceeded_total_us += mono_us() - ev->exceeded_since_us;
            ev->exceeded_since_us = 0;
        }
    } else if (!ev->exceeded_since_us) {
        ev->exceeded_since_us = mono_us();
    }
}

int dice__evict_perform(dice_server_t *srv) {
    struct dice__evict *ev = state(srv);
    if (!ev || !srv->cfg.maxmemory)
        return DICE__EVICT_OK;
    unsigned long long limit = (unsigned long long)srv->cfg.maxmemory;
    unsigned long long used = evict_used(srv, ev);
    if (used <= limit) {
        account(ev, DICE__EVICT_OK);
        return DICE__EVICT_OK;
    }
    /* Redis's isEvictionProcRunning: while the timer carries on, commands
     * are let through. */
    if (ev->timer_id)
        return DICE__EVICT_RUNNING;
    int result = DICE__EVICT_FAIL;
    if (srv->cfg.maxmemory_policy == DICE__MAXMEMORY_NOEVICTION ||
        !srv->keyspace)
        goto done;
    dice_keyspace_t *ks = srv->keyspace;
    dice_keyspace_set_now(ks, dice_loop_unix_ms(srv->loop));
    bool lazy = srv->cfg.lazy_eviction != 0;
    unsigned long long tofree = used - limit, freed = 0;
    uint64_t start = mono_us(),
             budget = time_limit_us(srv->cfg.maxmemory_eviction_tenacity);
    unsigned long keys = 0, ghosts = 0;
    while (freed < tofree) {
        pool_entry hold = {0};
        if (!pick(srv, ev, &hold))
            break;
        int d = hold.db;
        const char *key = pool_key(&hold);
        size_t kl = hold.klen;
        dice_db_t *db = dice_keyspace_db(ks, d);
        unsigned long long before = 0, est = 0;
        if (srv->mem_fn) {
            before = srv->mem_fn(srv->mem_arg);
        } else {
            size_t u = 0;
            if (dice_db_memory_usage(db, key, kl, 5, &u) == 0)
                est = u;
        }
        if (dice__db_evict(db, key, kl) > 0) {
            unsigned long long delta;
            if (srv->mem_fn) {
                unsigned long long after = srv->mem_fn(srv->mem_arg);
                delta = before > after ? before - after : 0;
            } else {
                delta = est;
                ev->mi_freed += est;
            }
            freed += delta;
            ev->evicted++;
            keys++;
            /* Redis's order: the event, then the propagated deletion. */
            if (srv->pubsub_hooks.key_evicted)
                srv->pubsub_hooks.key_evicted(srv, d, key, kl);
            dice__propagate_deletion(srv, d, key, kl, lazy);
        } else if (++ghosts % 64 == 0 && mono_us() - start > budget) {
            pool_key_free(&hold);
            break; /* only ghosts: stop, the budget is gone */
        }
        pool_key_free(&hold);
        if (keys && keys % 16 == 0) {
            /* Lazily freed memory comes back later: look again. */
            if (lazy && evict_used(srv, ev) <= limit)
                break;
            if (mono_us() - start > budget) {
                if (evict_used(srv, ev) > limit) {
                    result = DICE__EVICT_RUNNING;
                    arm_timer(srv, ev);
                    goto done;
                }
                break;
            }
        }
    }
    if (freed >= tofree || evict_used(srv, ev) <= limit) {
        result = DICE__EVICT_OK;
    } else if (lazy && dice__lazyfree_pending(srv)) {
        /* Out of keys, but the lazy-free thread still holds some of what
         * went: give it a moment, as Redis does. */
        uint64_t wait = budget < 1000 ? budget : 1000;
        usleep((useconds_t)wait);
        if (evict_used(srv, ev) <= limit)
            result = DICE__EVICT_OK;
    }
done:
    account(ev, result);
    return result;
}

bool dice__evict_refuse(dice_client_t *c, const dice_command_t *cmd) {
    dice_server_t *srv = c->srv;
    /* Commands run by EXEC or a script were judged with their caller;
     * Redis's processCommand does not see them. */
    if ((c->flags & (CLIENT_IN_EXEC | CLIENT_SCRIPT)) || srv->call_depth)
        return false;
    bool oom = dice__evict_perform(srv) == DICE__EVICT_FAIL;
    srv->oom_state = oom;
    if (!oom || !cmd)
        return false;
    bool deny = (cmd->flags & DICE_CMD_DENYOOM) ||
                ((cmd->flags & DICE__CMD_EXEC) &&
                 (dice__multi_flags(c) & DICE_CMD_DENYOOM));
    if (!deny)
        return false;
    dice_reply_error(c, DICE__OOM_TEXT, sizeof(DICE__OOM_TEXT) - 1);
    return true;
}

void dice__evict_apply(dice_server_t *srv) {
    dice__client_evict_apply(srv); /* maxmemory-clients may be a share */
    if (!srv->keyspace)
        return;
    int p = srv->cfg.maxmemory_policy;
    dice_keyspace_set_lfu(srv->keyspace, p == DICE__MAXMEMORY_ALLKEYS_LFU ||
                                             p == DICE__MAXMEMORY_VOLATILE_LFU);
    dice__keyspace_set_lfu_params(srv->keyspace,
                                  (unsigned)srv->cfg.lfu_log_factor,
                                  (unsigned)srv->cfg.lfu_decay_time);
    srv->oom_check = srv->cfg.maxmemory != 0;
    struct dice__evict *ev = srv->cfg.maxmemory ? state(srv) : srv->evict;
    if (ev) {
        /* The pool's scores are of the old policy. */
        pool_clear(ev);
        ev->mi_valid = false;
    }
    if (srv->cfg.maxmemory) {
        unsigned long long used = dice__server_used_memory(srv);
        if (srv->started && used > (unsigned long long)srv->cfg.maxmemory)
            dice__logf(srv, DICE_LOG_WARNING,
                       "WARNING: the new maxmemory value set via CONFIG SET "
                       "(%llu) is smaller than the current memory usage "
                       "(%llu). This will result in key eviction and/or the "
                       "inability to accept new write commands depending on "
                       "the maxmemory-policy.",
                       (unsigned long long)srv->cfg.maxmemory, used);
        dice__evict_perform(srv);
    }
}

void dice__evict_stats(dice_server_t *srv, unsigned long long *evicted,
                       unsigned long long *total_ms,
                       unsigned long long *current_ms) {
    struct dice__evict *ev = srv->evict;
    *evicted = *total_ms = *current_ms = 0;
    if (!ev)
        return;
    unsigned long long cur =
        ev->exceeded_since_us ? mono_us() - ev->exceeded_since_us : 0;
    *evicted = ev->evicted;
    *total_ms = (ev->exceeded_total_us + cur) / 1000;
    *current_ms = cur / 1000;
}

void dice__evict_reset_stats(dice_server_t *srv) {
    struct dice__evict *ev = srv->evict;
    if (!ev)
        return;
    ev->evicted = 0;
    ev->exceeded_total_us = 0;
    if (ev->exceeded_since_us)
        ev->exceeded_since_us = mono_us();
}

void dice__evict_free(dice_server_t *srv) {
    struct dice__evict *ev = srv->evict;
    if (!ev)
        return;
    if (ev->timer_id && srv->loop)
        dice_loop_timer_cancel(srv->loop, ev->timer_id);
    pool_clear(ev);
    free(ev);
    srv->evict = NULL;
}
