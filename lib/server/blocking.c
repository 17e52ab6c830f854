/* Blocking commands: clients waiting on keys, served in the order they
 * blocked once a write makes a key ready (see lib/server/blocking.h for
 * the contract a command relies on).
 *
 * State, created when the first client blocks:
 *  - per db, a table (the keyspace's dict) of the keys someone waits on;
 *    each key (bkey) holds its waiters in a FIFO list, one bwait per
 *    (client, key);
 *  - the ready list: keys written since clients were last served. The
 *    keyspace reports writes through its on_write callback, which is set
 *    only while at least one client is blocked: the cost for a server with
 *    nobody blocked is one NULL test per write, and one flag test per
 *    command in the dispatcher (srv->blk_ready);
 *  - the resume list: clients unblocked since the loop last slept, whose
 *    pipelined commands run from the before-sleep step (as Redis's
 *    unblocked_clients), never inside the command that served them.
 *
 * Timeouts are one-shot timers of the loop's timer heap, one per blocked
 * client with a deadline. */
#include "server/blocking.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define REPLY_ERR(c, lit) dice_reply_error(c, lit, sizeof(lit) - 1)

typedef struct bkey bkey;

/* One client waiting on one key. */
typedef struct bwait {
    struct bwait *prev, *next; /* the key's waiters, oldest first */
    bkey *bk;
    dice_client_t *c;
} bwait;

/* A key someone waits on. Freed once nobody waits on it and it is neither
 * in the ready list nor being served. */
struct bkey {
    bwait *head, *tail;
    int db;
    bool ready;   /* in the ready list */
    bool serving; /* its waiters are being retried */
    size_t klen;
    char key[];
};

/* A blocked client's wait. */
struct dice__bstate {
    int db;
    int nwaits;
    dice__block_spec spec;
    uint64_t timer; /* 0: no deadline */
    bwait waits[];
};

struct dice__blocking {
    dict **keys; /* per db, NULL until a client blocks there */
    int ndbs;
    bkey **ready;
    size_t nready, ready_cap;
    dice_client_t **resume; /* each holds a busy count on its client */
    size_t nresume, resume_cap;
    size_t nblocked;
};

/* ---- Timeouts ----------------------------------------------------------- */

int dice__block_timeout_parse(dice_client_t *c, const char *s, size_t len,
                              int unit, int64_t *deadline) {
    long long tval;
    if (unit == DICE__TIMEOUT_SECONDS) {
        long double v;
        if (!dice__str2ld(s, len, &v)) {
            REPLY_ERR(c, "ERR timeout is not a float or out of range");
            return -1;
        }
        long double ms = ceill(v * 1000.0L);
        /* Redis casts to long long; out of range that gives LLONG_MIN on
         * the machines it runs on (so inf and 1e16 are "negative"). */
        if (ms >= 9223372036854775808.0L || ms < -9223372036854775808.0L)
            tval = LLONG_MIN;
        else
            tval = (long long)ms;
    } else if (!dice__str2ll(s, len, &tval)) {
        REPLY_ERR(c, "ERR timeout is not an integer or out of range");
        return -1;
    }
    if (tval < 0) {
        REPLY_ERR(c, "ERR timeout is negative");
        return -1;
    }
    if (tval == 0) {
        *deadline = 0;
        return 0;
    }
    int64_t now = dice_loop_unix_ms(c->srv->loop);
    /* Redis 7.0 adds without a check; the wrapped deadline never fires. */
    *deadline = tval > INT64_MAX - now ? 0 : now + tval;
    return 0;
}

/* ---- Keys -----------------------------------------------------------------
 */

static void bkey_getkey(const void *e, const char **k, size_t *kl) {
    const bkey *bk = e;
    *k = bk->key;
    *kl = bk->klen;
}

static bkey *bkey_get(struct dice__blocking *b, int db, const char *key,
                      size_t klen) {
    if (!b->keys[db]) {
        dict *d = malloc(sizeof(*d));
        if (!d)
            return NULL;
        dice__dict_init(d, bkey_getkey);
        b->keys[db] = d;
    }
    dict *d = b->keys[db];
    bkey *bk = dice__dict_find(d, key, klen);
    if (bk)
        return bk;
    bk = calloc(1, sizeof(*bk) + klen + 1);
    if (!bk)
        return NULL;
    bk->db = db;
    bk->klen = klen;
    memcpy(bk->key, key, klen);
    if (dice__dict_insert(d, bk, dice__dict_hash(d, key, klen)) < 0) {
        free(bk);
        return NULL;
    }
    return bk;
}

/* Forget bk if nothing refers to it any more. */
static void bkey_maybe_free(struct dice__blocking *b, bkey *bk) {
    if (bk->head || bk->ready || bk->serving)
        return;
    dict *d = b->keys[bk->db];
    dice__dict_delete(d, bk->key, bk->klen,
                      dice__dict_hash(d, bk->key, bk->klen));
    free(bk);
}

static void mark_ready(dice_server_t *srv, bkey *bk) {
    struct dice__blocking *b = srv->blk;
    if (bk->ready)
        return;
    if (b->nready == b->ready_cap) {
        size_t nc = b->ready_cap ? b->ready_cap * 2 : 16;
        bkey **nr = realloc(b->ready, nc * sizeof(*nr));
        if (!nr) {
            dice__logf(srv, DICE_LOG_WARNING,
                       "Out of memory: a blocked client missed a write");
            return;
        }
        b->ready = nr;
        b->ready_cap = nc;
    }
    bk->ready = true;
    b->ready[b->nready++] = bk;
    srv->blk_ready = true;
}

static int mark_all_cb(void *ctx, void *e) {
    dice_server_t *srv = ctx;
    mark_ready(srv, e);
    return 0;
}

/* The keyspace's on_write callback, set while anyone is blocked. Writes
 * that can make a waited-on key servable mark it ready, and so do
 * deletions (DEL, expiry, the old name of RENAME, MOVE away): an
 * XREADGROUP waiting on a stream that goes ends with -UNBLOCKED, as with
 * Redis 7.0's signalDeletedKeyAsReady; other waiters find the key missing
 * and stay blocked. TTL changes cannot. */
static void on_write(void *ctx, int db, const char *key, size_t klen, int ev) {
    dice_server_t *srv = ctx;
    struct dice__blocking *b = srv->blk;
    if (db < 0 || db >= b->ndbs || !b->keys[db])
        return;
    switch (ev) {
    case DICE_KS_SET:
    case DICE_KS_OBJ_SET:
    case DICE_KS_MODIFY:
    case DICE_KS_RENAME_TO:
    case DICE_KS_MOVE_TO:
    case DICE_KS_COPY_TO:
    case DICE_KS_DEL:
    case DICE_KS_EXPIRED:
    case DICE_KS_RENAME_FROM:
    case DICE_KS_MOVE_FROM: {
        bkey *bk = dice__dict_find(b->keys[db], key, klen);
        if (bk)
            mark_ready(srv, bk);
        return;
    }
    case DICE_KS_SWAPDB:
        /* Every key of the db has new contents: let each waiter look. */
        dice__dict_foreach(b->keys[db], mark_all_cb, srv);
        return;
    default: return;
    }
}

/* ---- Blocking and unblocking ----------------------------------------------
 */

bool dice__client_may_block(const dice_client_t *c) {
    return !(c->flags & (CLIENT_SESSION | CLIENT_DENY_BLOCKING));
}

bool dice__client_is_blocked(const dice_client_t *c) {
    return (c->flags & CLIENT_BLOCKED) != 0;
}

size_t dice__blocked_count(const dice_server_t *srv) {
    return srv->blk ? srv->blk->nblocked : 0;
}

static void reply_timeout(dice_client_t *c, const dice__block_spec *spec) {
    if (spec->on_timeout)
        spec->on_timeout(c, spec->pd);
    else
        dice_reply_null_array(c);
}

static void spec_free(const dice__block_spec *spec) {
    if (spec->free_pd)
        spec->free_pd(spec->pd);
}

static struct dice__blocking *blocking_get(dice_server_t *srv) {
    if (srv->blk)
        return srv->blk;
    struct dice__blocking *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->ndbs = dice_keyspace_ndbs(srv->keyspace);
    b->keys = calloc((size_t)b->ndbs, sizeof(*b->keys));
    if (!b->keys) {
        free(b);
        return NULL;
    }
    srv->blk = b;
    return b;
}

static void timeout_fired(dice_loop_t *loop, uint64_t id, void *arg) {
    (void)loop;
    (void)id;
    dice_client_t *c = arg;
    if (c->blk)
        c->blk->timer = 0; /* one-shot: already gone from the heap */
    dice__client_unblock(c, DICE__UNBLOCK_TIMEOUT);
}

/* Take c out of every key's queue, cancel its timer, and forget its wait
 * (the spec is handed back to the caller, to reply and free). */
static void detach(dice_client_t *c, dice__block_spec *spec) {
    dice_server_t *srv = c->srv;
    struct dice__blocking *b = srv->blk;
    struct dice__bstate *st = c->blk;
    for (int i = 0; i < st->nwaits; i++) {
        bwait *w = &st->waits[i];
        bkey *bk = w->bk;
        if (w->prev)
            w->prev->next = w->next;
        else
            bk->head = w->next;
        if (w->next)
            w->next->prev = w->prev;
        else
            bk->tail = w->prev;
        bkey_maybe_free(b, bk);
    }
    if (st->timer)
        dice_loop_timer_cancel(srv->loop, st->timer);
    *spec = st->spec;
    free(st);
    c->blk = NULL;
    c->flags &= ~CLIENT_BLOCKED;
    if (--b->nblocked == 0 && srv->keyspace)
        dice__keyspace_on_write(srv->keyspace, NULL, NULL);
}

/* Queue c to run its pending commands before the loop sleeps. The busy
 * count keeps it allocated until then, even if it disconnects. */
static void queue_resume(dice_client_t *c) {
    struct dice__blocking *b = c->srv->blk;
    if (b->nresume == b->resume_cap) {
        size_t nc = b->resume_cap ? b->resume_cap * 2 : 16;
        dice_client_t **nr = realloc(b->resume, nc * sizeof(*nr));
        if (!nr) {
            /* Its later commands would wait for ever: drop it instead. */
            dice_client_close_after_reply(c);
            return;
        }
        b->resume = nr;
        b->resume_cap = nc;
    }
    c->busy++;
    b->resume[b->nresume++] = c;
}

int dice__client_block(dice_client_t *c, int nkeys, const char *const *keys,
                       const size_t *klens, int64_t deadline,
                       const dice__block_spec *spec) {
    dice_server_t *srv = c->srv;
    if (!dice__client_may_block(c)) {
        reply_timeout(c, spec);
        spec_free(spec);
        return 1;
    }
    struct dice__blocking *b = srv->keyspace ? blocking_get(srv) : NULL;
    struct dice__bstate *st =
        b && nkeys > 0 && !(c->flags & CLIENT_BLOCKED)
            ? calloc(1, sizeof(*st) + (size_t)nkeys * sizeof(bwait))
            : NULL;
    if (!st)
        goto fail;
    st->db = c->db;
    st->spec = *spec;
    c->blk = st;
    c->flags |= CLIENT_BLOCKED;
    if (b->nblocked++ == 0)
        dice__keyspace_on_write(srv->keyspace, on_write, srv);
    for (int i = 0; i < nkeys; i++) {
        bkey *bk = bkey_get(b, c->db, keys[i], klens[i]);
        if (!bk)
            goto undo;
        /* This client's waits go at the tails: a repeated key finds it
         * there. */
        if (bk->tail && bk->tail->c == c)
            continue;
        bwait *w = &st->waits[st->nwaits++];
        w->bk = bk;
        w->c = c;
        w->next = NULL;
        w->prev = bk->tail;
        if (bk->tail)
            bk->tail->next = w;
        else
            bk->head = w;
        bk->tail = w;
    }
    if (deadline > 0) {
        int64_t left = deadline - dice_loop_unix_ms(srv->loop);
        if (dice_loop_timer_add(srv->loop, left > 0 ? (uint64_t)left : 0, 0,
                                timeout_fired, c, &st->timer) < 0) {
            st->timer = 0;
            goto undo;
        }
    }
    return 0;
undo : {
    dice__block_spec s;
    detach(c, &s);
}
fail:
    REPLY_ERR(c, "ERR out of memory");
    spec_free(spec);
    return DICE_ENOMEM;
}

int dice__client_unblock(dice_client_t *c, int how) {
    if (!(c->flags & CLIENT_BLOCKED))
        return 0;
    dice__block_spec spec;
    detach(c, &spec);
    if (how == DICE__UNBLOCK_TIMEOUT)
        reply_timeout(c, &spec);
    else if (how == DICE__UNBLOCK_ERROR)
        REPLY_ERR(c, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
    spec_free(&spec);
    if (how != DICE__UNBLOCK_DROP)
        queue_resume(c);
    return 1;
}

/* ---- Serving --------------------------------------------------------------
 */

/* Retry c's command for the ready key, as its own command would run. */
static void retry_one(dice_server_t *srv, dice_client_t *c, bkey *bk) {
    struct dice__bstate *st = c->blk;
    dice_keyspace_set_now(srv->keyspace, dice_loop_unix_ms(srv->loop));
    dice__prop_frame f;
    dice__propagate_begin(c, &f);
    c->busy++;
    int served = st->spec.retry(c, bk->key, bk->klen, st->spec.pd);
    c->busy--;
    /* No argv: only what the retry gave dice_client_propagate goes out. */
    dice__propagate_end(c, &f, 0, NULL, NULL);
    if (served && (c->flags & CLIENT_BLOCKED)) {
        dice__block_spec spec;
        detach(c, &spec);
        spec_free(&spec);
        queue_resume(c);
    }
}

static void serve_key(dice_server_t *srv, bkey *bk) {
    bk->serving = true;
    for (bwait *w = bk->head; w;) {
        bwait *next = w->next; /* w goes if its client is served */
        retry_one(srv, w->c, bk);
        w = next;
    }
    bk->serving = false;
    bkey_maybe_free(srv->blk, bk);
}

void dice__blocking_serve(dice_server_t *srv, bool resume) {
    struct dice__blocking *b = srv->blk;
    srv->blk_ready = false;
    if (!b)
        return;
    /* Serving may write keys others wait on (BLMOVE's destination): go on
     * until no key is ready. */
    while (b->nready > 0) {
        bkey **list = b->ready;
        size_t n = b->nready;
        b->ready = NULL;
        b->nready = b->ready_cap = 0;
        for (size_t i = 0; i < n; i++)
            list[i]->ready = false;
        for (size_t i = 0; i < n; i++)
            serve_key(srv, list[i]);
        free(list);
    }
    srv->blk_ready = false;
    if (!resume)
        return;
    /* Resuming runs commands, which may unblock (or block) more clients:
     * index, do not cache the count. */
    for (size_t i = 0; i < b->nresume; i++) {
        dice_client_t *c = b->resume[i];
        c->busy--;
        if (c->flags & CLIENT_CLOSED)
            dice__client_free_now(c);
        else
            dice__client_resume_input(c);
    }
    b->nresume = 0;
}

static void bkey_free_cb(void *ctx, void *e) {
    (void)ctx;
    free(e);
}

void dice__blocking_free(dice_server_t *srv) {
    struct dice__blocking *b = srv->blk;
    if (!b)
        return;
    for (int i = 0; i < b->ndbs; i++) {
        if (b->keys[i]) {
            dice__dict_clear(b->keys[i], bkey_free_cb, NULL);
            free(b->keys[i]);
        }
    }
    free(b->keys);
    free(b->ready);
    free(b->resume);
    free(b);
    srv->blk = NULL;
}
