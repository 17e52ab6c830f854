/* Lazy free: big values are freed on a thread of their own, so a DEL of a
 * collection of a million members, an UNLINK or a FLUSHALL ASYNC does not
 * stall the loop (Redis's lazyfree.c and its BIO_LAZY_FREE thread).
 *
 * One thread per server, started the first time something is queued and
 * joined by dice_server_free after it has freed everything queued. The
 * queue is a mutex-protected singly linked list of jobs (object, its free
 * function and that function's ctx); the thread takes the whole list at
 * once and frees it outside the lock. The thread touches nothing but the
 * objects (that is the contract on dice_type_methods.free), so nothing
 * else needs a lock.
 *
 * Which drops are lazy is the keyspace's lazy mask (one bit per reason,
 * lib/keyspace/keyspace_internal.h), set from the lazyfree-lazy-*
 * settings; commands that are always lazy (UNLINK, FLUSHALL ASYNC) or that
 * follow a setting of their own (DEL: lazyfree-lazy-user-del) change it
 * around their call with dice__lazyfree_begin / dice__lazyfree_end. */
#include "server/blocking.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

typedef struct lazy_job {
    struct lazy_job *next;
    void *obj;
    void (*free_fn)(void *ctx, void *obj);
    void *ctx;
} lazy_job;

struct dice__lazyfree {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake; /* work queued, or stop */
    pthread_cond_t idle; /* the queue went empty (drain) */
    lazy_job *head, *tail;
    bool stop;
    atomic_size_t pending; /* queued or being freed */
    atomic_uint_least64_t freed;
};

static void *lazy_main(void *arg) {
    struct dice__lazyfree *lf = arg;
    pthread_mutex_lock(&lf->mu);
    for (;;) {
        while (!lf->head && !lf->stop)
            pthread_cond_wait(&lf->wake, &lf->mu);
        if (!lf->head)
            break; /* stop, and nothing left */
        lazy_job *j = lf->head;
        lf->head = lf->tail = NULL;
        pthread_mutex_unlock(&lf->mu);
        while (j) {
            lazy_job *next = j->next;
            j->free_fn(j->ctx, j->obj);
            free(j);
            atomic_fetch_add(&lf->freed, 1);
            atomic_fetch_sub(&lf->pending, 1);
            j = next;
        }
        pthread_mutex_lock(&lf->mu);
        if (!lf->head)
            pthread_cond_broadcast(&lf->idle);
    }
    pthread_mutex_unlock(&lf->mu);
    return NULL;
}

static struct dice__lazyfree *lazy_get(dice_server_t *srv) {
    if (srv->lazy)
        return srv->lazy;
    struct dice__lazyfree *lf = calloc(1, sizeof(*lf));
    if (!lf)
        return NULL;
    pthread_mutex_init(&lf->mu, NULL);
    pthread_cond_init(&lf->wake, NULL);
    pthread_cond_init(&lf->idle, NULL);
    atomic_init(&lf->pending, 0);
    atomic_init(&lf->freed, 0);
    if (dice__thread_start(&lf->thread, lazy_main, lf) != 0) {
        pthread_cond_destroy(&lf->idle);
        pthread_cond_destroy(&lf->wake);
        pthread_mutex_destroy(&lf->mu);
        free(lf);
        return NULL;
    }
    srv->lazy = lf;
    return lf;
}

void dice__lazyfree(dice_server_t *srv, void *obj,
                    void (*free_fn)(void *ctx, void *obj), void *ctx,
                    size_t cost) {
    struct dice__lazyfree *lf =
        cost > DICE__LAZYFREE_THRESHOLD ? lazy_get(srv) : NULL;
    lazy_job *j = lf ? malloc(sizeof(*j)) : NULL;
    if (!j) {
        free_fn(ctx, obj); /* small, or no thread to be had: now */
        return;
    }
    j->next = NULL;
    j->obj = obj;
    j->free_fn = free_fn;
    j->ctx = ctx;
    atomic_fetch_add(&lf->pending, 1);
    pthread_mutex_lock(&lf->mu);
    if (lf->tail)
        lf->tail->next = j;
    else
        lf->head = j;
    lf->tail = j;
    pthread_cond_signal(&lf->wake);
    pthread_mutex_unlock(&lf->mu);
}

size_t dice__lazyfree_pending(dice_server_t *srv) {
    return srv->lazy ? atomic_load(&srv->lazy->pending) : 0;
}

uint64_t dice__lazyfree_freed(dice_server_t *srv) {
    return srv->lazy ? atomic_load(&srv->lazy->freed) : 0;
}

void dice__lazyfree_drain(dice_server_t *srv) {
    struct dice__lazyfree *lf = srv->lazy;
    if (!lf)
        return;
    pthread_mutex_lock(&lf->mu);
    while (atomic_load(&lf->pending) > 0) {
        /* pending drops after each free, outside the lock: re-check now
         * and then rather than trusting one wake-up. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 10 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&lf->idle, &lf->mu, &ts);
    }
    pthread_mutex_unlock(&lf->mu);
}

void dice__lazyfree_stop(dice_server_t *srv) {
    struct dice__lazyfree *lf = srv->lazy;
    if (!lf)
        return;
    pthread_mutex_lock(&lf->mu);
    lf->stop = true;
    pthread_cond_signal(&lf->wake);
    pthread_mutex_unlock(&lf->mu);
    pthread_join(lf->thread, NULL); /* it frees what is queued first */
    pthread_cond_destroy(&lf->idle);
    pthread_cond_destroy(&lf->wake);
    pthread_mutex_destroy(&lf->mu);
    free(lf);
    srv->lazy = NULL;
}

/* The keyspace's free hook: every object dropped for a lazy reason. */
static void ks_free_hook(void *ctx, void *obj, dice_obj_free_fn free_fn,
                         void *type_ctx, size_t effort) {
    dice__lazyfree(ctx, obj, free_fn, type_ctx, effort);
}

/* The mask the settings ask for, outside commands that change it. */
static unsigned settings_mask(const dice_settings_t *s) {
    return (s->lazy_server_del ? DICE__FREE_BIT(DICE__FREE_DEL) : 0) |
           (s->lazy_expire ? DICE__FREE_BIT(DICE__FREE_EXPIRE) : 0) |
           (s->lazy_user_flush ? DICE__FREE_BIT(DICE__FREE_FLUSH) : 0) |
           (s->lazy_eviction ? DICE__FREE_BIT(DICE__FREE_EVICT) : 0);
}

void dice__lazyfree_apply(dice_server_t *srv) {
    if (!srv->keyspace)
        return;
    dice__keyspace_set_free_hook(srv->keyspace, ks_free_hook, srv);
    dice__keyspace_set_lazy(srv->keyspace, settings_mask(&srv->cfg));
}

unsigned dice__lazyfree_begin(dice_server_t *srv, int why, bool lazy) {
    if (!srv->keyspace)
        return 0;
    unsigned old = dice__keyspace_lazy(srv->keyspace);
    unsigned bit = DICE__FREE_BIT(why);
    dice__keyspace_set_lazy(srv->keyspace, lazy ? old | bit : old & ~bit);
    return old;
}

void dice__lazyfree_end(dice_server_t *srv, unsigned saved) {
    if (srv->keyspace)
        dice__keyspace_set_lazy(srv->keyspace, saved);
}
