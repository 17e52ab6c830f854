/* Client-side caching: Redis 7.0's tracking.c.
 *
 * Default mode: after a read-only command of a tracking client, the keys
 * it read go into the tracking table (key -> ids of the clients that read
 * it). When such a key changes (the keyspace's on_track observer, which
 * is installed only while the table or a BCAST prefix exists), each of
 * those clients is sent one invalidation and the key leaves the table: a
 * client is told once per read, as in Redis. Ids, not pointers, are kept,
 * so a client that went away leaves entries that are simply skipped.
 *
 * BCAST mode: no table; each prefix (the empty one when none is given)
 * collects the keys changed under it during a loop iteration, and before
 * the loop sleeps every client of the prefix gets them as one message, in
 * key order (Redis's radix tree order), NOLOOP clients without the keys
 * they changed themselves.
 *
 * Messages: RESP3 clients get the push `>2 invalidate [keys]`; with
 * REDIRECT, the redirection client gets it (RESP3), or, in RESP2 and
 * subscribed to anything, the pub/sub message of __redis__:invalidate.
 * FLUSHALL and FLUSHDB send a null instead of the array. Invalidations
 * meant for the client running the command wait until its reply is
 * written (Redis's tracking_pending_keys), so they never split a reply. */
#include "server/server_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A key some tracking client read: the clients to tell when it changes. */
typedef struct tkey {
    uint64_t *ids;
    uint32_t n, cap;
    size_t klen;
    char key[];
} tkey;

/* A key changed under a BCAST prefix during this loop iteration, and who
 * changed it last (compared for NOLOOP, never dereferenced). */
typedef struct bkey {
    const dice_client_t *last;
    size_t klen;
    char key[];
} bkey;

typedef struct bprefix {
    char *p;
    size_t len;
    dice_client_t **clients;
    size_t n, cap;
    dict keys; /* of bkey */
} bprefix;

/* A string with its length (BCAST prefixes, pending keys). */
typedef struct span {
    char *p; /* malloc'd; NULL for a pending flush */
    size_t len;
} span;

/* A tracking client's own state. */
struct dice__ctrack {
    uint64_t redir; /* REDIRECT id, 0 for none */
    span *pfx;      /* BCAST prefixes, in key order */
    size_t n, cap;
};

struct dice__tracking {
    dict table; /* of tkey */
    uint64_t items;
    bprefix **prefixes; /* in key order */
    size_t nprefixes, cap;
    size_t nclients; /* with CLIENT_TRACKING */
    bool bcast_dirty;
    bool observing;
    /* Invalidations for the running client, sent after its reply: key
     * copies, NULL for the null of a flush. */
    dice_client_t *pending_for;
    span *pending;
    size_t npending, pending_cap;
    unsigned limit_rounds; /* Redis's timeout_counter */
};

/* ---- Helpers ------------------------------------------------------------ */

/* Radix tree order: bytes, then the shorter first. */
static int keycmp(const char *a, size_t alen, const char *b, size_t blen) {
    int r = memcmp(a, b, alen < blen ? alen : blen);
    if (r)
        return r;
    return alen < blen ? -1 : alen > blen;
}

static bool grow(void **p, size_t *cap, size_t elem, size_t need) {
    if (need <= *cap)
        return true;
    size_t nc = *cap ? *cap * 2 : 4;
    while (nc < need)
        nc *= 2;
    void *np = realloc(*p, nc * elem);
    if (!np)
        return false;
    *p = np;
    *cap = nc;
    return true;
}

static void tkey_getkey(const void *e, const char **key, size_t *klen) {
    const tkey *t = e;
    *key = t->key;
    *klen = t->klen;
}

static void bkey_getkey(const void *e, const char **key, size_t *klen) {
    const bkey *b = e;
    *key = b->key;
    *klen = b->klen;
}

static void free_tkey(void *ctx, void *e) {
    (void)ctx;
    tkey *t = e;
    free(t->ids);
    free(t);
}

static void free_entry(void *ctx, void *e) {
    (void)ctx;
    free(e);
}

static void on_track(void *ctx, int db, const char *key, size_t klen, int ev);

/* The observer is needed while anything can be invalidated. */
static void observe_update(dice_server_t *srv) {
    struct dice__tracking *t = srv->trk;
    bool want = t && srv->keyspace &&
                (dice__dict_size(&t->table) > 0 || t->nprefixes > 0);
    if (want == t->observing)
        return;
    t->observing = want;
    dice__keyspace_on_track(srv->keyspace, want ? on_track : NULL,
                            want ? srv : NULL);
}

static struct dice__tracking *state(dice_server_t *srv) {
    if (!srv->trk) {
        srv->trk = calloc(1, sizeof(*srv->trk));
        if (srv->trk)
            dice__dict_init(&srv->trk->table, tkey_getkey);
    }
    return srv->trk;
}

/* ---- Messages ----------------------------------------------------------- */

/* Redis's sendTrackingMessage: payload is the RESP of the value (an array
 * of keys, or a null), sent to c or to its redirection. */
static void send_msg(dice_server_t *srv, dice_client_t *c, const char *payload,
                     size_t plen) {
    dice_client_t *to = c;
    bool redirected = false;
    uint64_t rid = c->trk ? c->trk->redir : 0;
    if (rid) {
        to = dice__client_by_id(srv, rid);
        if (!to) {
            /* Tell the tracking client its invalidations are lost. */
            c->flags |= CLIENT_TRACKING_BROKEN_REDIR;
            if (c->proto > 2) {
                char buf[64];
                int n = snprintf(buf, sizeof(buf),
                                 ">2\r\n$21\r\ntracking-redir-broken\r\n"
                                 ":%llu\r\n",
                                 (unsigned long long)rid);
                dice__reply_push_raw(c, buf, (size_t)n);
            }
            return;
        }
        redirected = true;
    }
    static const char push[] = ">2\r\n$10\r\ninvalidate\r\n";
    static const char message[] =
        "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n";
    if (to->proto > 2)
        dice__reply_push_raw(to, push, sizeof(push) - 1);
    else if (redirected && (to->flags & CLIENT_PUBSUB))
        dice__reply_push_raw(to, message, sizeof(message) - 1);
    else
        return; /* RESP2 without redirection: nowhere to say it */
    dice__reply_push_raw(to, payload, plen);
    /* A reader that does not read is held to its class's output limit, as
     * a subscriber is (the object stays until its reads fail). */
    dice__client_obuf_check(to);
}

static void send_key(dice_server_t *srv, dice_client_t *c, const char *key,
                     size_t klen) {
    char head[48];
    int n = snprintf(head, sizeof(head), "*1\r\n$%zu\r\n", klen);
    dice_buf_t b;
    dice__buf_init(&b);
    if (dice_buf_append(&b, head, (size_t)n) == 0 &&
        dice_buf_append(&b, key, klen) == 0 &&
        dice_buf_append(&b, "\r\n", 2) == 0)
        send_msg(srv, c, b.data, b.len);
    dice__buf_release(&b);
}

static void send_null(dice_server_t *srv, dice_client_t *c) {
    if (c->proto > 2)
        send_msg(srv, c, "_\r\n", 3);
    else
        send_msg(srv, c, "$-1\r\n", 5);
}

static void pending_add(struct dice__tracking *t, dice_client_t *c,
                        const char *key, size_t klen) {
    if (!grow((void **)&t->pending, &t->pending_cap, sizeof(*t->pending),
              t->npending + 1))
        return;
    char *k = NULL;
    if (key) {
        k = malloc(klen ? klen : 1);
        if (!k)
            return;
        memcpy(k, key, klen);
    }
    t->pending_for = c;
    t->pending[t->npending++] = (span){k, klen};
}

void dice__tracking_pending(dice_server_t *srv) {
    struct dice__tracking *t = srv->trk;
    if (!t || t->npending == 0)
        return;
    dice_client_t *c = t->pending_for;
    for (size_t i = 0; i < t->npending; i++) {
        if (c && !(c->flags & CLIENT_CLOSED)) {
            if (t->pending[i].p)
                send_key(srv, c, t->pending[i].p, t->pending[i].len);
            else
                send_null(srv, c);
        }
        free(t->pending[i].p);
    }
    t->npending = 0;
    t->pending_for = NULL;
}

/* ---- Invalidation ------------------------------------------------------- */

/* Note a changed key for every BCAST prefix it falls under. */
static void remember_bcast(dice_server_t *srv, const char *key, size_t klen) {
    struct dice__tracking *t = srv->trk;
    for (size_t i = 0; i < t->nprefixes; i++) {
        bprefix *p = t->prefixes[i];
        if (p->len > klen || memcmp(p->p, key, p->len) != 0)
            continue;
        uint64_t h = dice__dict_hash(&p->keys, key, klen);
        uint64_t *slot = dice__dict_find_slot(&p->keys, key, klen, h);
        if (slot) {
            ((bkey *)dice__dict_slot_entry(*slot))->last = srv->current;
            continue;
        }
        bkey *b = malloc(sizeof(*b) + klen);
        if (!b)
            continue;
        b->last = srv->current;
        b->klen = klen;
        memcpy(b->key, key, klen);
        if (dice__dict_insert(&p->keys, b, h) < 0) {
            free(b);
            continue;
        }
        t->bcast_dirty = true;
    }
}

/* Redis's trackingInvalidateKey. */
static void invalidate(dice_server_t *srv, const char *key, size_t klen,
                       bool bcast) {
    struct dice__tracking *t = srv->trk;
    if (bcast && t->nprefixes)
        remember_bcast(srv, key, klen);
    uint64_t h = dice__dict_hash(&t->table, key, klen);
    tkey *tk = dice__dict_delete(&t->table, key, klen, h);
    if (!tk)
        return;
    for (uint32_t i = 0; i < tk->n; i++) {
        dice_client_t *target = dice__client_by_id(srv, tk->ids[i]);
        if (!target ||
            (target->flags & (CLIENT_TRACKING | CLIENT_TRACKING_BCAST)) !=
                CLIENT_TRACKING)
            continue;
        if (target == srv->current) {
            /* Its own write: NOLOOP says nothing, else after the reply. */
            if (!(target->flags & CLIENT_TRACKING_NOLOOP))
                pending_add(t, target, tk->key, tk->klen);
            continue;
        }
        send_key(srv, target, tk->key, tk->klen);
    }
    t->items -= tk->n;
    free_tkey(NULL, tk);
    observe_update(srv);
}

static void on_track(void *ctx, int db, const char *key, size_t klen, int ev) {
    (void)db;
    (void)ev;
    invalidate(ctx, key, klen, true);
}

void dice__tracking_flush(dice_server_t *srv) {
    struct dice__tracking *t = srv->trk;
    if (!t)
        return;
    if (t->nclients) {
        for (dice_client_t *c = srv->clients; c; c = c->next) {
            if (!(c->flags & CLIENT_TRACKING) || (c->flags & CLIENT_CLOSED))
                continue;
            if (c == srv->current)
                pending_add(t, c, NULL, 0);
            else
                send_null(srv, c);
        }
    }
    dice__dict_clear(&t->table, free_tkey, NULL);
    dice__dict_init(&t->table, tkey_getkey);
    t->items = 0;
    observe_update(srv);
}

/* ---- Remembering reads -------------------------------------------------- */

static void track_key(dice_client_t *c, const char *key, size_t klen) {
    struct dice__tracking *t = c->srv->trk;
    uint64_t h = dice__dict_hash(&t->table, key, klen);
    uint64_t *slot = dice__dict_find_slot(&t->table, key, klen, h);
    tkey *tk = slot ? dice__dict_slot_entry(*slot) : NULL;
    if (!tk) {
        tk = calloc(1, sizeof(*tk) + klen);
        if (!tk)
            return;
        tk->klen = klen;
        memcpy(tk->key, key, klen);
        if (dice__dict_insert(&t->table, tk, h) < 0) {
            free(tk);
            return;
        }
    }
    for (uint32_t i = tk->n; i-- > 0;)
        if (tk->ids[i] == c->id)
            return; /* read again before it changed */
    if (tk->n == tk->cap) {
        uint32_t nc = tk->cap ? tk->cap * 2 : 1;
        uint64_t *ni = realloc(tk->ids, nc * sizeof(*ni));
        if (!ni)
            return;
        tk->ids = ni;
        tk->cap = nc;
    }
    tk->ids[tk->n++] = c->id;
    t->items++;
}

void dice__tracking_remember(dice_client_t *c, const dice_command_t *cmd,
                             int argc, const char *const *argv,
                             const size_t *argvlen) {
    unsigned f = c->flags;
    /* OPTIN tracks only after CACHING yes, OPTOUT all but after CACHING
     * no. */
    if (((f & CLIENT_TRACKING_OPTIN) && !(f & CLIENT_TRACKING_CACHING)) ||
        ((f & CLIENT_TRACKING_OPTOUT) && (f & CLIENT_TRACKING_CACHING)))
        return;
    /* Shard channels are keys to COMMAND, not to caches. */
    if ((cmd->flags & DICE_CMD_PUBSUB) || !c->srv->trk)
        return;
    int local[32];
    int *pos = argc <= 32 ? local : malloc((size_t)argc * sizeof(int));
    if (!pos)
        return;
    int n = dice__command_key_positions(cmd, argc, argv, argvlen, pos, argc);
    for (int i = 0; i < n; i++)
        track_key(c, argv[pos[i]], argvlen[pos[i]]);
    if (pos != local)
        free(pos);
    if (n > 0)
        observe_update(c->srv);
}

void dice__tracking_limit(dice_server_t *srv) {
    struct dice__tracking *t = srv->trk;
    long long max = srv->cfg.tracking_max_keys;
    if (!t || max <= 0)
        return;
    if (dice__dict_size(&t->table) <= (size_t)max) {
        t->limit_rounds = 0;
        return;
    }
    /* Effort grows while the table stays over the limit, as Redis's. */
    int effort = 100 * (int)(t->limit_rounds + 1);
    while (effort-- > 0) {
        tkey *tk = dice__dict_random(&t->table);
        if (!tk)
            break;
        invalidate(srv, tk->key, tk->klen, false);
        if (dice__dict_size(&t->table) <= (size_t)max) {
            t->limit_rounds = 0;
            return;
        }
    }
    t->limit_rounds++;
}

/* ---- BCAST -------------------------------------------------------------- */

static int bkey_cmp(const void *a, const void *b) {
    const bkey *x = *(const bkey *const *)a, *y = *(const bkey *const *)b;
    return keycmp(x->key, x->klen, y->key, y->klen);
}

typedef struct collect {
    bkey **v;
    size_t n;
} collect;

static int collect_one(void *ctx, void *e) {
    collect *k = ctx;
    k->v[k->n++] = e;
    return 0;
}

/* The array of keys, leaving out those skip changed last; false when
 * there is none (or no memory). */
static bool build(dice_buf_t *b, bkey **v, size_t n,
                  const dice_client_t *skip) {
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += !skip || v[i]->last != skip;
    if (count == 0)
        return false;
    char head[48];
    int hn = snprintf(head, sizeof(head), "*%zu\r\n", count);
    if (dice_buf_append(b, head, (size_t)hn) < 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (skip && v[i]->last == skip)
            continue;
        hn = snprintf(head, sizeof(head), "$%zu\r\n", v[i]->klen);
        if (dice_buf_append(b, head, (size_t)hn) < 0 ||
            dice_buf_append(b, v[i]->key, v[i]->klen) < 0 ||
            dice_buf_append(b, "\r\n", 2) < 0)
            return false;
    }
    return true;
}

void dice__tracking_before_sleep(dice_server_t *srv) {
    struct dice__tracking *t = srv->trk;
    if (!t->bcast_dirty)
        return;
    t->bcast_dirty = false;
    for (size_t i = 0; i < t->nprefixes; i++) {
        bprefix *p = t->prefixes[i];
        size_t n = dice__dict_size(&p->keys);
        if (n == 0)
            continue;
        collect k = {malloc(n * sizeof(bkey *)), 0};
        if (k.v) {
            dice__dict_foreach(&p->keys, collect_one, &k);
            qsort(k.v, k.n, sizeof(*k.v), bkey_cmp);
            dice_buf_t all;
            dice__buf_init(&all);
            bool have = build(&all, k.v, k.n, NULL);
            for (size_t j = 0; j < p->n; j++) {
                dice_client_t *c = p->clients[j];
                if (c->flags & CLIENT_CLOSED)
                    continue;
                if (c->flags & CLIENT_TRACKING_NOLOOP) {
                    dice_buf_t own;
                    dice__buf_init(&own);
                    if (build(&own, k.v, k.n, c))
                        send_msg(srv, c, own.data, own.len);
                    dice__buf_release(&own);
                } else if (have) {
                    send_msg(srv, c, all.data, all.len);
                }
            }
            dice__buf_release(&all);
            free(k.v);
        }
        dice__dict_clear(&p->keys, free_entry, NULL);
        dice__dict_init(&p->keys, bkey_getkey);
    }
}

/* ---- Enabling and disabling --------------------------------------------- */

/* Index of the first of the server's prefixes not before (p, len). */
static size_t prefix_index(struct dice__tracking *t, const char *p,
                           size_t len) {
    size_t lo = 0, hi = t->nprefixes;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        bprefix *x = t->prefixes[mid];
        if (keycmp(x->p, x->len, p, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int add_prefix(dice_client_t *c, const char *p, size_t len) {
    struct dice__tracking *t = c->srv->trk;
    size_t i = prefix_index(t, p, len);
    bprefix *bp = i < t->nprefixes ? t->prefixes[i] : NULL;
    if (!bp || keycmp(bp->p, bp->len, p, len) != 0) {
        if (!grow((void **)&t->prefixes, &t->cap, sizeof(*t->prefixes),
                  t->nprefixes + 1))
            return DICE_ENOMEM;
        bp = calloc(1, sizeof(*bp));
        if (!bp || !(bp->p = malloc(len ? len : 1))) {
            free(bp);
            return DICE_ENOMEM;
        }
        memcpy(bp->p, p, len);
        bp->len = len;
        dice__dict_init(&bp->keys, bkey_getkey);
        memmove(&t->prefixes[i + 1], &t->prefixes[i],
                (t->nprefixes - i) * sizeof(*t->prefixes));
        t->prefixes[i] = bp;
        t->nprefixes++;
    }
    for (size_t j = 0; j < bp->n; j++)
        if (bp->clients[j] == c)
            return 0; /* already there */
    struct dice__ctrack *ct = c->trk;
    if (!grow((void **)&bp->clients, &bp->cap, sizeof(*bp->clients), bp->n + 1))
        return DICE_ENOMEM;
    if (!grow((void **)&ct->pfx, &ct->cap, sizeof(*ct->pfx), ct->n + 1))
        return DICE_ENOMEM;
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return DICE_ENOMEM;
    memcpy(copy, p, len);
    size_t k = 0;
    while (k < ct->n && keycmp(ct->pfx[k].p, ct->pfx[k].len, p, len) < 0)
        k++;
    memmove(&ct->pfx[k + 1], &ct->pfx[k], (ct->n - k) * sizeof(*ct->pfx));
    ct->pfx[k] = (span){copy, len};
    ct->n++;
    bp->clients[bp->n++] = c;
    return 0;
}

static void free_prefix(bprefix *bp) {
    dice__dict_clear(&bp->keys, free_entry, NULL);
    free(bp->clients);
    free(bp->p);
    free(bp);
}

/* Take c out of its prefixes; a prefix left with no client goes. */
static void drop_prefixes(dice_client_t *c) {
    struct dice__tracking *t = c->srv->trk;
    struct dice__ctrack *ct = c->trk;
    for (size_t k = 0; ct && k < ct->n; k++) {
        size_t i = prefix_index(t, ct->pfx[k].p, ct->pfx[k].len);
        if (i < t->nprefixes) {
            bprefix *bp = t->prefixes[i];
            for (size_t j = 0; j < bp->n; j++) {
                if (bp->clients[j] == c) {
                    memmove(&bp->clients[j], &bp->clients[j + 1],
                            (bp->n - j - 1) * sizeof(*bp->clients));
                    bp->n--;
                    break;
                }
            }
            if (bp->n == 0) {
                free_prefix(bp);
                memmove(&t->prefixes[i], &t->prefixes[i + 1],
                        (t->nprefixes - i - 1) * sizeof(*t->prefixes));
                t->nprefixes--;
            }
        }
        free(ct->pfx[k].p);
    }
    if (ct)
        ct->n = 0;
}

bool dice__tracking_prefix_clash(dice_client_t *c, const char *const *prefix,
                                 const size_t *plen, size_t nprefix) {
    const struct dice__ctrack *ct = c->trk;
    for (size_t i = 0; i < nprefix; i++) {
        for (size_t k = 0; ct && k < ct->n; k++) {
            size_t m = ct->pfx[k].len < plen[i] ? ct->pfx[k].len : plen[i];
            if (memcmp(ct->pfx[k].p, prefix[i], m) == 0) {
                dice__reply_errorf(
                    c,
                    "ERR Prefix '%.*s' overlaps with an existing "
                    "prefix '%.*s'. Prefixes for a single "
                    "client must not overlap.",
                    (int)plen[i], prefix[i], (int)ct->pfx[k].len, ct->pfx[k].p);
                return true;
            }
        }
        for (size_t j = i + 1; j < nprefix; j++) {
            size_t m = plen[i] < plen[j] ? plen[i] : plen[j];
            if (memcmp(prefix[i], prefix[j], m) == 0) {
                dice__reply_errorf(c,
                                   "ERR Prefix '%.*s' overlaps with another "
                                   "provided prefix '%.*s'. Prefixes for a "
                                   "single client must not overlap.",
                                   (int)plen[i], prefix[i], (int)plen[j],
                                   prefix[j]);
                return true;
            }
        }
    }
    return false;
}

int dice__tracking_enable(dice_client_t *c, uint64_t redir, unsigned options,
                          const char *const *prefix, const size_t *plen,
                          size_t nprefix) {
    dice_server_t *srv = c->srv;
    struct dice__tracking *t = state(srv);
    if (!t)
        return DICE_ENOMEM;
    if (!c->trk && !(c->trk = calloc(1, sizeof(*c->trk))))
        return DICE_ENOMEM;
    if (!(c->flags & CLIENT_TRACKING))
        t->nclients++;
    c->flags |= CLIENT_TRACKING;
    c->flags &= ~(CLIENT_TRACKING_BROKEN_REDIR | CLIENT_TRACKING_BCAST |
                  CLIENT_TRACKING_OPTIN | CLIENT_TRACKING_OPTOUT |
                  CLIENT_TRACKING_NOLOOP);
    c->trk->redir = redir;
    int rc = 0;
    if (options & CLIENT_TRACKING_BCAST) {
        c->flags |= CLIENT_TRACKING_BCAST;
        if (nprefix == 0)
            rc = add_prefix(c, "", 0);
        for (size_t i = 0; i < nprefix && rc == 0; i++)
            rc = add_prefix(c, prefix[i], plen[i]);
    }
    c->flags |= options & (CLIENT_TRACKING_OPTIN | CLIENT_TRACKING_OPTOUT |
                           CLIENT_TRACKING_NOLOOP);
    observe_update(srv);
    return rc;
}

void dice__tracking_disable(dice_client_t *c) {
    dice_server_t *srv = c->srv;
    struct dice__tracking *t = srv->trk;
    if (!t)
        return;
    if (c->flags & CLIENT_TRACKING_BCAST)
        drop_prefixes(c);
    if (c->flags & CLIENT_TRACKING) {
        t->nclients--;
        c->flags &= ~(CLIENT_TRACKING | CLIENT_TRACKING_BROKEN_REDIR |
                      CLIENT_TRACKING_BCAST | CLIENT_TRACKING_OPTIN |
                      CLIENT_TRACKING_OPTOUT | CLIENT_TRACKING_CACHING |
                      CLIENT_TRACKING_NOLOOP);
    }
    if (c->trk) {
        for (size_t k = 0; k < c->trk->n; k++) /* left by OFF without BCAST */
            free(c->trk->pfx[k].p);
        free(c->trk->pfx);
        free(c->trk);
        c->trk = NULL;
    }
    if (t->pending_for == c && (c->flags & CLIENT_CLOSED))
        t->pending_for = NULL; /* going away: its pending messages too */
    observe_update(srv);
}

/* ---- Introspection ------------------------------------------------------ */

size_t dice__tracking_prefixes(const dice_client_t *c, size_t i, const char **p,
                               size_t *len) {
    const struct dice__ctrack *ct = c->trk;
    size_t n = ct ? ct->n : 0;
    if (i < n) {
        *p = ct->pfx[i].p;
        *len = ct->pfx[i].len;
    }
    return n;
}

uint64_t dice__tracking_redir(const dice_client_t *c) {
    return c->trk ? c->trk->redir : 0;
}

void dice__tracking_stats(dice_server_t *srv, unsigned long long out[4]) {
    struct dice__tracking *t = srv->trk;
    out[0] = t ? t->nclients : 0;
    out[1] = t ? dice__dict_size(&t->table) : 0;
    out[2] = t ? t->items : 0;
    out[3] = t ? t->nprefixes : 0;
}

void dice__tracking_free(dice_server_t *srv) {
    struct dice__tracking *t = srv->trk;
    if (!t)
        return;
    if (t->observing && srv->keyspace)
        dice__keyspace_on_track(srv->keyspace, NULL, NULL);
    dice__dict_clear(&t->table, free_tkey, NULL);
    for (size_t i = 0; i < t->nprefixes; i++)
        free_prefix(t->prefixes[i]);
    free(t->prefixes);
    for (size_t i = 0; i < t->npending; i++)
        free(t->pending[i].p);
    free(t->pending);
    free(t);
    srv->trk = NULL;
}
