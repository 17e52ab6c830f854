/* Propagation: after a command runs, its effect on the dataset, as
 * deterministic command vectors, goes to the registered sinks in order.
 * This is the one path the append-only file, replicas and MONITOR-like
 * hosts are fed from (Redis's call() -> propagateNow()).
 *
 * What a command propagates:
 *  - nothing, if it changed nothing (the keyspace's dirty counter is the
 *    same after it as before) and did not force it;
 *  - its own argv, by default, if it changed something;
 *  - instead, what it handed to dice_client_propagate(), in order, when it
 *    called that: relative or random effects made absolute (SET EX ->
 *    SET PXAT, INCRBYFLOAT -> SET KEEPTTL), or several commands.
 * Keys that expire while the command runs (or in the active cycle)
 * propagate as DEL before the command's own effect, as Redis does.
 *
 * Without sinks nothing is tracked or copied: the dispatcher's cost is one
 * test of the sink count. */
#include "server/server_internal.h"

#include <stdlib.h>
#include <string.h>

dice__argv *dice__argv_new(int db, int argc, const char *const *argv,
                           const size_t *argvlen) {
    size_t bytes = 0;
    for (int i = 0; i < argc; i++)
        bytes += argvlen[i] + 1;
    size_t head = sizeof(dice__argv) + (size_t)argc * sizeof(char *) +
                  (size_t)argc * sizeof(size_t);
    dice__argv *p = malloc(head + bytes);
    if (!p)
        return NULL;
    p->db = db;
    p->targets = DICE__PROP_ALL;
    p->argc = argc;
    p->argv = (const char **)(p + 1);
    p->argvlen = (size_t *)(p->argv + argc);
    char *d = (char *)(p->argvlen + argc);
    for (int i = 0; i < argc; i++) {
        memcpy(d, argv[i], argvlen[i]);
        d[argvlen[i]] = '\0';
        p->argv[i] = d;
        p->argvlen[i] = argvlen[i];
        d += argvlen[i] + 1;
    }
    return p;
}

/* Room for need queued vectors: false when out of memory. */
static bool grow(dice__prop_t *pr, size_t need) {
    size_t nc = pr->cap ? pr->cap : 8;
    while (nc < need)
        nc *= 2;
    void **nq = realloc(pr->queued, nc * sizeof(*nq));
    if (!nq)
        return false;
    pr->queued = nq;
    pr->cap = nc;
    return true;
}

/* Queue a vector for the sinks of the kinds in targets; none of them
 * registered, it is not queued at all (Redis's shouldPropagate: then it
 * does not count for the MULTI ... EXEC wrapping either). */
static int queue(dice_server_t *srv, unsigned targets, int db, int argc,
                 const char *const *argv, const size_t *argvlen) {
    dice__prop_t *pr = &srv->prop;
    if (!(pr->kinds & targets))
        return 0;
    if (pr->nqueued == pr->cap && !grow(pr, pr->nqueued + 1))
        return DICE_ENOMEM;
    dice__argv *p = dice__argv_new(db, argc, argv, argvlen);
    if (!p)
        return DICE_ENOMEM;
    p->targets = targets;
    pr->queued[pr->nqueued++] = p;
    return 0;
}

/* Hand every queued vector to the sinks, in order, and forget them. A
 * vector that could not be queued (out of memory) is lost and logged:
 * the sinks then miss a write, which the log must say. */
static void flush(dice_server_t *srv) {
    dice__prop_t *pr = &srv->prop;
    for (size_t i = 0; i < pr->nqueued; i++) {
        dice__argv *p = pr->queued[i];
        for (size_t s = 0; s < pr->nsinks; s++)
            if (pr->sinks[s].kind & p->targets)
                pr->sinks[s].fn(pr->sinks[s].arg, p->db, p->argc, p->argv,
                                p->argvlen);
        free(p);
    }
    pr->nqueued = 0;
    if (pr->lost) {
        dice__logf(srv, DICE_LOG_WARNING,
                   "Out of memory: %llu propagated command(s) lost",
                   (unsigned long long)pr->lost);
        pr->lost = 0;
    }
}

void dice__propagate_deletion(dice_server_t *srv, int db, const char *key,
                              size_t klen, bool lazy) {
    if (srv->prop.nsinks == 0)
        return;
    const char *argv[2] = {lazy ? "UNLINK" : "DEL", key};
    size_t len[2] = {lazy ? 6u : 3u, klen};
    if (queue(srv, DICE__PROP_ALL, db, 2, argv, len) < 0)
        srv->prop.lost++;
    /* Outside a command (the active expiry cycle) nothing else will flush
     * it. */
    if (!srv->prop.current)
        flush(srv);
}

static void on_expired(void *ctx, int db, const char *key, size_t klen) {
    dice_server_t *srv = ctx;
    /* Redis's deleteExpiredKeyAndPropagate: the "expired" event first. */
    if (srv->pubsub_hooks.key_expired)
        srv->pubsub_hooks.key_expired(srv, db, key, klen);
    dice__propagate_deletion(srv, db, key, klen, false);
}

int dice_server_add_propagation_sink(dice_server_t *srv, dice_propagate_fn fn,
                                     void *arg, uint64_t *id) {
    return dice__propagate_add_sink(srv, fn, arg, DICE__PROP_REPL, id);
}

int dice__propagate_add_sink(dice_server_t *srv, dice_propagate_fn fn,
                             void *arg, unsigned kind, uint64_t *id) {
    if (!srv || !fn)
        return DICE_EINVAL;
    dice__prop_t *pr = &srv->prop;
    dice__prop_sink *ns =
        realloc(pr->sinks, (pr->nsinks + 1) * sizeof(*pr->sinks));
    if (!ns)
        return DICE_ENOMEM;
    pr->sinks = ns;
    pr->sinks[pr->nsinks].fn = fn;
    pr->sinks[pr->nsinks].arg = arg;
    pr->sinks[pr->nsinks].id = ++pr->next_id;
    pr->sinks[pr->nsinks].kind = kind;
    pr->kinds |= kind;
    if (id)
        *id = pr->next_id;
    pr->nsinks++;
    return 0;
}

int dice_server_remove_propagation_sink(dice_server_t *srv, uint64_t id) {
    dice__prop_t *pr = &srv->prop;
    for (size_t i = 0; i < pr->nsinks; i++) {
        if (pr->sinks[i].id == id) {
            memmove(&pr->sinks[i], &pr->sinks[i + 1],
                    (pr->nsinks - i - 1) * sizeof(*pr->sinks));
            pr->nsinks--;
            pr->kinds = 0;
            for (size_t j = 0; j < pr->nsinks; j++)
                pr->kinds |= pr->sinks[j].kind;
            return 0;
        }
    }
    return DICE_ENOENT;
}

int dice_client_propagate(dice_client_t *c, int argc, const char *const *argv,
                          const size_t *argvlen) {
    dice_server_t *srv = c->srv;
    if (argc <= 0 || !argv || !argvlen)
        return DICE_EINVAL;
    if (!c->busy)
        return DICE_ESTATE; /* no command of c's is running */
    /* No sink was listening when the command began: nothing to give. */
    if (srv->prop.current != c)
        return 0;
    srv->prop.own = true;
    if (srv->prop.nsinks == 0)
        return 0;
    int rc = queue(srv, DICE__PROP_ALL & ~srv->prop.skip, c->db, argc, argv,
                   argvlen);
    if (rc < 0)
        srv->prop.lost++;
    return rc;
}

bool dice__propagating(const dice_client_t *c) {
    return c->srv->prop.nsinks > 0 && c->srv->prop.current == c;
}

void dice__propagate_force(dice_client_t *c) {
    if (c->srv->prop.current == c)
        c->srv->prop.force = true;
}

void dice__propagate_wrap(dice_client_t *c) {
    if (c->srv->prop.current == c)
        c->srv->prop.wrap = true;
}

/* Put MULTI before the vectors queued from index first on and EXEC after
 * them (Redis 7.0's propagatePendingCommands: only when there are two or
 * more; one is atomic by itself). MULTI carries the db of the first vector
 * and EXEC that of the last, so a sink that follows dbs (an append-only
 * file writing SELECT) sees no switch for them. */
static void wrap_multi(dice_server_t *srv, size_t first) {
    dice__prop_t *pr = &srv->prop;
    if (pr->nqueued - first < 2)
        return;
    static const char *const multi[1] = {"MULTI"}, *const exec[1] = {"EXEC"};
    static const size_t mlen[1] = {5}, elen[1] = {4};
    const dice__argv *lastv = pr->queued[pr->nqueued - 1];
    dice__argv *m =
        dice__argv_new(((dice__argv *)pr->queued[first])->db, 1, multi, mlen);
    dice__argv *e = dice__argv_new(lastv->db, 1, exec, elen);
    if (!m || !e || (pr->nqueued + 2 > pr->cap && !grow(pr, pr->nqueued + 2))) {
        /* The vectors still go out, unwrapped: a sink loses atomicity,
         * not writes, and the log says so. */
        free(m);
        free(e);
        pr->lost++;
        return;
    }
    memmove(&pr->queued[first + 1], &pr->queued[first],
            (pr->nqueued - first) * sizeof(*pr->queued));
    pr->queued[first] = m;
    pr->nqueued++;
    pr->queued[pr->nqueued++] = e;
}

void dice__propagate_attach(dice_server_t *srv) {
    if (srv->keyspace)
        dice__keyspace_on_expired(srv->keyspace, on_expired, srv);
}

void dice__propagate_begin(dice_client_t *c, dice__prop_frame *f) {
    dice__prop_t *pr = &c->srv->prop;
    f->prev = pr->current;
    f->own = pr->own;
    f->force = pr->force;
    f->wrap = pr->wrap;
    f->first = pr->nqueued;
    f->dirty = c->srv->keyspace ? dice__keyspace_dirty(c->srv->keyspace) : 0;
    pr->current = c;
    pr->own = false;
    pr->force = false;
    pr->wrap = false;
}

void dice__propagate_end(dice_client_t *c, const dice__prop_frame *f, int argc,
                         const char *const *argv, const size_t *argvlen) {
    dice_server_t *srv = c->srv;
    dice__prop_t *pr = &srv->prop;
    bool wrote =
        srv->keyspace && dice__keyspace_dirty(srv->keyspace) != f->dirty;
    /* Whether this command gave an effect: its own queued vectors, or its
     * argv now. */
    bool gave = pr->own;
    /* argc 0: a blocked client's retry, whose blocking form never
     * propagates (only what it gave dice_client_propagate). */
    if ((wrote || pr->force) && !pr->own && pr->nsinks && argc > 0) {
        if (queue(srv, DICE__PROP_ALL & ~pr->skip, c->db, argc, argv, argvlen) <
            0)
            pr->lost++;
        gave = true;
    }
    /* EXEC's frame: what its commands queued goes out as one
     * transaction. */
    if (pr->wrap)
        wrap_multi(srv, f->first);
    pr->current = f->prev;
    pr->own = f->own;
    pr->force = f->force;
    pr->wrap = f->wrap;
    /* A command run by another (a transaction, a script) is part of the
     * outer one's effect, which is then made of what the inner ones
     * propagated rather than of its own argv; the outermost flushes. */
    if (f->prev) {
        if (gave)
            pr->own = true;
        return;
    }
    if (pr->nqueued || pr->lost)
        flush(srv);
}

void dice__propagate_free(dice_server_t *srv) {
    dice__prop_t *pr = &srv->prop;
    for (size_t i = 0; i < pr->nqueued; i++)
        free(pr->queued[i]);
    free(pr->queued);
    free(pr->sinks);
    memset(pr, 0, sizeof(*pr));
}
