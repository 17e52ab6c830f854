/* Subscriptions and delivery (Redis's pubsub.c without its commands).
 *
 * The server keeps one table per kind (channel, pattern, shard channel)
 * from a name to its subscribers, the keyspace's own hash table
 * (lib/keyspace/dict.c, seeded, so names a client picks cannot collide on
 * purpose), and the patterns again in an array in the order they were
 * first subscribed, which PUBLISH walks. A client keeps its own
 * subscriptions of each kind in an array, in the order it made them: what
 * UNSUBSCRIBE with no argument walks, and what a disconnect undoes.
 *
 * A message is formatted once per publish (per matching pattern for
 * pmessage) and copied into each subscriber's output buffer; RESP2 and
 * RESP3 differ only in the first byte (* or >), patched after the copy. */
#include "keyspace/keyspace_internal.h"
#include "pubsub/pubsub_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A channel, pattern or shard channel with at least one subscriber. */
typedef struct chan {
    dice_client_t **subs; /* in subscription order */
    size_t nsubs, cap;
    size_t len;
    char name[]; /* len bytes, NUL-terminated */
} chan;

/* One client's subscriptions of one kind. */
typedef struct sublist {
    chan **v;
    size_t n, cap;
} sublist;

typedef struct ps_client {
    sublist kinds[3];
} ps_client;

typedef struct ps_server {
    dict tables[3];
    chan **patterns; /* distinct patterns, oldest first */
    size_t npat, patcap;
    dice_buf_t msg;  /* the message being delivered */
    dice_buf_t name; /* a notification's channel name */
} ps_server;

static void chan_getkey(const void *e, const char **key, size_t *klen) {
    const chan *ch = e;
    *key = ch->name;
    *klen = ch->len;
}

static ps_server *server_state(dice_server_t *srv) {
    return srv->pubsub;
}

/* Room for one more element in an array of pointers. */
static bool grow(void *vp, size_t n, size_t *cap) {
    void ***v = vp;
    if (n < *cap)
        return true;
    size_t nc = *cap ? *cap * 2 : 4;
    void **nv = realloc(*v, nc * sizeof(**v));
    if (!nv)
        return false;
    *v = nv;
    *cap = nc;
    return true;
}

/* Remove the element x from v[0..*n), keeping the order. */
static bool remove_ptr(void **v, size_t *n, const void *x) {
    for (size_t i = 0; i < *n; i++) {
        if (v[i] == x) {
            memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof(*v));
            (*n)--;
            return true;
        }
    }
    return false;
}

/* ---- hooks the server core calls ---------------------------------------- */

static void hook_client_free(dice_client_t *c) {
    dice__pubsub_drop_client(c);
}

static void free_chan(void *ctx, void *e) {
    (void)ctx;
    chan *ch = e;
    free(ch->subs);
    free(ch);
}

static void hook_server_free(dice_server_t *srv) {
    ps_server *ps = server_state(srv);
    if (!ps)
        return;
    /* Clients are gone by now (each dropped its subscriptions), so the
     * tables are empty; clear them whatever they hold. */
    for (int k = 0; k < 3; k++)
        dice__dict_clear(&ps->tables[k], free_chan, NULL);
    free(ps->patterns);
    dice__buf_release(&ps->msg);
    dice__buf_release(&ps->name);
    free(ps);
    srv->pubsub = NULL;
}

static void hook_client_counts(const dice_client_t *c, size_t n[3]) {
    for (int k = 0; k < 3; k++)
        n[k] = dice__pubsub_count(c, (dice__ps_kind)k);
}

static void hook_key_new(dice_server_t *srv, int db, const char *key,
                         size_t klen) {
    dice__notify(srv, DICE__NOTIFY_NEW, "new", key, klen, db);
}

static void hook_key_expired(dice_server_t *srv, int db, const char *key,
                             size_t klen) {
    dice__notify(srv, DICE__NOTIFY_EXPIRED, "expired", key, klen, db);
}

static void hook_key_evicted(dice_server_t *srv, int db, const char *key,
                             size_t klen) {
    dice__notify(srv, DICE__NOTIFY_EVICTED, "evicted", key, klen, db);
}

int dice__pubsub_attach(dice_server_t *srv) {
    if (srv->pubsub)
        return 0;
    ps_server *ps = calloc(1, sizeof(*ps));
    if (!ps)
        return DICE_ENOMEM;
    for (int k = 0; k < 3; k++)
        dice__dict_init(&ps->tables[k], chan_getkey);
    dice__buf_init(&ps->msg);
    dice__buf_init(&ps->name);
    srv->pubsub = ps;
    srv->pubsub_hooks.client_free = hook_client_free;
    srv->pubsub_hooks.server_free = hook_server_free;
    srv->pubsub_hooks.client_counts = hook_client_counts;
    srv->pubsub_hooks.key_new = hook_key_new;
    srv->pubsub_hooks.key_evicted = hook_key_evicted;
    srv->pubsub_hooks.key_expired = hook_key_expired;
    return 0;
}

/* ---- subscriptions ------------------------------------------------------ */

static bool client_subscribed(const ps_client *pc) {
    return pc &&
           (pc->kinds[0].n != 0 || pc->kinds[1].n != 0 || pc->kinds[2].n != 0);
}

int dice__pubsub_subscribe(dice_client_t *c, dice__ps_kind kind,
                           const char *name, size_t len) {
    ps_server *ps = server_state(c->srv);
    ps_client *pc = c->pubsub;
    if (!pc) {
        if (!(pc = calloc(1, sizeof(*pc))))
            return DICE_ENOMEM;
        c->pubsub = pc;
    }
    sublist *sl = &pc->kinds[kind];
    dict *d = &ps->tables[kind];
    uint64_t h = dice__dict_hash(d, name, len);
    uint64_t *slot = dice__dict_find_slot(d, name, len, h);
    chan *ch = slot ? dice__dict_slot_entry(*slot) : NULL;
    if (ch) {
        /* Already subscribed? Look through the shorter of the two lists. */
        if (sl->n <= ch->nsubs) {
            for (size_t i = 0; i < sl->n; i++)
                if (sl->v[i] == ch)
                    return 0;
        } else {
            for (size_t i = 0; i < ch->nsubs; i++)
                if (ch->subs[i] == c)
                    return 0;
        }
    }
    if (!grow(&sl->v, sl->n, &sl->cap))
        return DICE_ENOMEM;
    if (!ch) {
        if (kind == DICE__PS_PATTERN &&
            !grow(&ps->patterns, ps->npat, &ps->patcap))
            return DICE_ENOMEM;
        if (!(ch = calloc(1, sizeof(*ch) + len + 1)))
            return DICE_ENOMEM;
        memcpy(ch->name, name, len);
        ch->len = len;
        if (dice__dict_insert(d, ch, h) < 0) {
            free(ch);
            return DICE_ENOMEM;
        }
        if (kind == DICE__PS_PATTERN)
            ps->patterns[ps->npat++] = ch;
    }
    if (!grow(&ch->subs, ch->nsubs, &ch->cap)) {
        if (ch->nsubs == 0) {
            dice__dict_delete(d, ch->name, ch->len, h);
            if (kind == DICE__PS_PATTERN)
                ps->npat--;
            free(ch);
        }
        return DICE_ENOMEM;
    }
    ch->subs[ch->nsubs++] = c;
    sl->v[sl->n++] = ch;
    c->flags |= CLIENT_PUBSUB;
    return 1;
}

/* Take c off ch's subscribers; ch goes when it has none left. */
static void chan_remove(ps_server *ps, dice__ps_kind kind, chan *ch,
                        dice_client_t *c) {
    remove_ptr((void **)ch->subs, &ch->nsubs, c);
    if (ch->nsubs > 0)
        return;
    dict *d = &ps->tables[kind];
    dice__dict_delete(d, ch->name, ch->len,
                      dice__dict_hash(d, ch->name, ch->len));
    if (kind == DICE__PS_PATTERN)
        remove_ptr((void **)ps->patterns, &ps->npat, ch);
    free_chan(NULL, ch);
}

static void client_settle(dice_client_t *c) {
    ps_client *pc = c->pubsub;
    if (client_subscribed(pc))
        return;
    c->flags &= ~CLIENT_PUBSUB;
    if (pc) {
        for (int k = 0; k < 3; k++)
            free(pc->kinds[k].v);
        free(pc);
        c->pubsub = NULL;
    }
}

int dice__pubsub_unsubscribe(dice_client_t *c, dice__ps_kind kind,
                             const char *name, size_t len) {
    ps_client *pc = c->pubsub;
    if (!pc)
        return 0;
    sublist *sl = &pc->kinds[kind];
    for (size_t i = 0; i < sl->n; i++) {
        chan *ch = sl->v[i];
        if (ch->len == len && memcmp(ch->name, name, len) == 0) {
            memmove(&sl->v[i], &sl->v[i + 1], (sl->n - i - 1) * sizeof(chan *));
            sl->n--;
            chan_remove(server_state(c->srv), kind, ch, c);
            client_settle(c);
            return 1;
        }
    }
    return 0;
}

size_t dice__pubsub_count(const dice_client_t *c, dice__ps_kind kind) {
    const ps_client *pc = c->pubsub;
    return pc ? pc->kinds[kind].n : 0;
}

const char *dice__pubsub_name(const dice_client_t *c, dice__ps_kind kind,
                              size_t i, size_t *len) {
    const ps_client *pc = c->pubsub;
    if (!pc || i >= pc->kinds[kind].n)
        return NULL;
    *len = pc->kinds[kind].v[i]->len;
    return pc->kinds[kind].v[i]->name;
}

void dice__pubsub_drop_client(dice_client_t *c) {
    ps_client *pc = c->pubsub;
    if (!pc)
        return;
    ps_server *ps = server_state(c->srv);
    for (int k = 0; k < 3; k++) {
        sublist *sl = &pc->kinds[k];
        for (size_t i = 0; i < sl->n; i++)
            chan_remove(ps, (dice__ps_kind)k, sl->v[i], c);
        sl->n = 0;
    }
    client_settle(c);
}

/* ---- delivery ----------------------------------------------------------- */

static int put_bulk(dice_buf_t *b, const char *s, size_t n) {
    return dice_resp_write_bulk(b, s, n);
}

/* Format [type, (pattern,) channel, message] as a RESP2 array into b. */
static int format_message(dice_buf_t *b, const char *type, const chan *pat,
                          const char *ch, size_t clen, const char *msg,
                          size_t mlen) {
    b->len = 0;
    int rc = dice_resp_write_array(b, pat ? 4 : 3);
    if (rc == 0)
        rc = put_bulk(b, type, strlen(type));
    if (rc == 0 && pat)
        rc = put_bulk(b, pat->name, pat->len);
    if (rc == 0)
        rc = put_bulk(b, ch, clen);
    if (rc == 0)
        rc = put_bulk(b, msg, mlen);
    return rc;
}

/* Copy the formatted message to each subscriber of ch; RESP3 clients get
 * it as a push. Each one's output limit is checked as it grows. */
static void deliver(const dice_buf_t *m, const chan *ch) {
    for (size_t i = 0; i < ch->nsubs; i++) {
        dice_client_t *c = ch->subs[i];
        if (c->flags & CLIENT_CLOSED)
            continue;
        /* A push: CLIENT REPLY OFF does not stop it, as in Redis. */
        size_t before = c->out.len;
        if (dice__reply_push_raw(c, m->data, m->len) < 0 ||
            c->out.len != before + m->len)
            continue;
        if (c->proto == 3)
            c->out.data[c->out.len - m->len] = '>';
        dice__client_obuf_check(c);
    }
}

long long dice__pubsub_publish(dice_server_t *srv, dice__ps_kind kind,
                               const char *chname, size_t clen, const char *msg,
                               size_t mlen) {
    ps_server *ps = server_state(srv);
    if (!ps)
        return 0;
    long long receivers = 0;
    dict *d = &ps->tables[kind];
    if (dice__dict_size(d) > 0) {
        chan *ch = dice__dict_find(d, chname, clen);
        if (ch && ch->nsubs > 0) {
            const char *type = kind == DICE__PS_SHARD ? "smessage" : "message";
            if (format_message(&ps->msg, type, NULL, chname, clen, msg, mlen) ==
                0) {
                receivers += (long long)ch->nsubs;
                deliver(&ps->msg, ch);
            }
        }
    }
    if (kind != DICE__PS_CHANNEL)
        return receivers;
    /* Delivery may free nobody (closing is deferred), but a client freed
     * meanwhile could drop a pattern: index the array, do not cache it. */
    for (size_t i = 0; i < ps->npat; i++) {
        chan *p = ps->patterns[i];
        if (!dice_glob_match(p->name, p->len, chname, clen, 0))
            continue;
        if (format_message(&ps->msg, "pmessage", p, chname, clen, msg, mlen) <
            0)
            continue;
        receivers += (long long)p->nsubs;
        deliver(&ps->msg, p);
    }
    return receivers;
}

typedef struct channel_visit {
    const char *pat; /* NULL: every channel */
    size_t plen, n;
    void (*fn)(void *arg, const char *name, size_t len);
    void *arg;
} channel_visit;

static int visit_channel(void *ctx, void *e) {
    channel_visit *v = ctx;
    const chan *ch = e;
    if (v->pat && !dice_glob_match(v->pat, v->plen, ch->name, ch->len, 0))
        return 0;
    v->n++;
    if (v->fn)
        v->fn(v->arg, ch->name, ch->len);
    return 0;
}

size_t dice__pubsub_channels(
    dice_server_t *srv, dice__ps_kind kind, const char *pat, size_t plen,
    void (*fn)(void *arg, const char *name, size_t len), void *arg) {
    ps_server *ps = server_state(srv);
    if (!ps)
        return 0;
    channel_visit v = {pat, plen, 0, fn, arg};
    dice__dict_foreach(&ps->tables[kind], visit_channel, &v);
    return v.n;
}

size_t dice__pubsub_subscribers(dice_server_t *srv, dice__ps_kind kind,
                                const char *name, size_t len) {
    ps_server *ps = server_state(srv);
    if (!ps)
        return 0;
    const chan *ch = dice__dict_find(&ps->tables[kind], name, len);
    return ch ? ch->nsubs : 0;
}

size_t dice__pubsub_numpat(dice_server_t *srv) {
    ps_server *ps = server_state(srv);
    return ps ? ps->npat : 0;
}

/* ---- keyspace notifications --------------------------------------------- */

/* "__<space>@<db>__:" + tail into ps->name. */
static int event_channel(dice_buf_t *b, const char *space, int db,
                         const char *tail, size_t tlen) {
    b->len = 0;
    int rc = dice__buf_printf(b, "__%s@%d__:", space, db);
    return rc == 0 ? dice_buf_append(b, tail, tlen) : rc;
}

void dice__notify_fire(dice_server_t *srv, int cls, const char *event,
                       const char *key, size_t klen, int db) {
    (void)cls;
    ps_server *ps = server_state(srv);
    /* Nobody listens to anything: there is no channel to build. */
    if (!ps ||
        (dice__dict_size(&ps->tables[DICE__PS_CHANNEL]) == 0 && ps->npat == 0))
        return;
    int flags = srv->cfg.notify_flags;
    size_t elen = strlen(event);
    if ((flags & DICE__NOTIFY_KEYSPACE) &&
        event_channel(&ps->name, "keyspace", db, key, klen) == 0)
        dice__pubsub_publish(srv, DICE__PS_CHANNEL, ps->name.data, ps->name.len,
                             event, elen);
    if ((flags & DICE__NOTIFY_KEYEVENT) &&
        event_channel(&ps->name, "keyevent", db, event, elen) == 0)
        dice__pubsub_publish(srv, DICE__PS_CHANNEL, ps->name.data, ps->name.len,
                             key, klen);
}
