/* Transactions and WATCH, as Redis 7.0's multi.c.
 *
 * MULTI: the client's later commands are resolved (so unknown commands,
 * arity errors and no-multi commands are refused at once, and abort the
 * transaction: CLIENT_DIRTY_EXEC) and their argv copied into c->multi,
 * each answered +QUEUED (the dispatcher, dice__client_call, does this).
 * EXEC runs them through the same dispatcher, one after the other, inside
 * EXEC's own propagation frame, so their effects reach the sinks together,
 * wrapped in MULTI ... EXEC when there is more than one.
 *
 * WATCH: each db has a table (the keyspace's dict) mapping a watched key
 * to the records of the clients watching it; each client has the list of
 * its records. The keyspace calls on_touch for every change of a key
 * (dice__keyspace_on_touch) while at least one key is watched, and not at
 * all otherwise, so a server where nobody watches pays one NULL test per
 * write. A touched key marks its watchers CLIENT_DIRTY_CAS, and their
 * EXEC answers a null array.
 *
 * Expiry follows Redis 7.0: a key that expires is touched when it is
 * deleted (lazily or by the active cycle), and EXEC also fails when a
 * watched key has expired but not yet been deleted. A key that was
 * already expired when it was watched is flagged: its deletion is no
 * change (it was logically gone already), but a new value is. */
#include "keyspace/db_internal.h"
#include "server/server_internal.h"

#include <stdlib.h>
#include <string.h>

struct dice__multi_state {
    dice__argv **cmds;
    size_t n, cap;
    unsigned cmd_flags; /* or of the queued commands' DICE_CMD_* flags */
    size_t bytes;       /* the queued vectors' size (CLIENT LIST multi-mem) */
};

/* A watched key of one db: the records of every client watching it. */
typedef struct wkey {
    dice__watch_rec **recs;
    size_t n, cap;
    size_t klen;
    char key[];
} wkey;

/* One client watching one key. */
struct dice__watch_rec {
    dice_client_t *c;
    wkey *wk;
    int db;
    /* The key existed but had expired when WATCH ran (Redis's
     * watchedKey.expired). */
    bool expired;
};

/* ---- MULTI's queue ------------------------------------------------------ */

int dice__multi_begin(dice_client_t *c) {
    dice__multi_state *m = calloc(1, sizeof(*m));
    if (!m)
        return DICE_ENOMEM;
    c->multi = m;
    c->flags |= CLIENT_MULTI;
    return 0;
}

int dice__multi_queue(dice_client_t *c, unsigned cmd_flags, int argc,
                      const char *const *argv, const size_t *argvlen) {
    dice__multi_state *m = c->multi;
    m->cmd_flags |= cmd_flags;
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 8;
        dice__argv **nv = realloc(m->cmds, nc * sizeof(*nv));
        if (!nv)
            goto oom;
        m->cmds = nv;
        m->cap = nc;
    }
    dice__argv *v = dice__argv_new(c->db, argc, argv, argvlen);
    if (!v)
        goto oom;
    m->cmds[m->n++] = v;
    m->bytes += sizeof(*v) + (size_t)argc * (sizeof(char *) + sizeof(size_t));
    for (int i = 0; i < argc; i++)
        m->bytes += argvlen[i];
    return 0;
oom:
    c->flags |= CLIENT_DIRTY_EXEC;
    return DICE_ENOMEM;
}

unsigned dice__multi_flags(const dice_client_t *c) {
    return c->multi ? c->multi->cmd_flags : 0;
}

size_t dice__multi_count(const dice_client_t *c) {
    return c->multi->n;
}

size_t dice__multi_mem(const dice_client_t *c) {
    const dice__multi_state *m = c->multi;
    return m ? sizeof(*m) + m->cap * sizeof(*m->cmds) + m->bytes : 0;
}

static void multi_free(dice__multi_state *m) {
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        free(m->cmds[i]);
    free(m->cmds);
    free(m);
}

void dice__multi_discard(dice_client_t *c) {
    multi_free(c->multi);
    c->multi = NULL;
    c->flags &= ~(CLIENT_MULTI | CLIENT_DIRTY_CAS | CLIENT_DIRTY_EXEC);
    dice__unwatch_all(c);
}

/* ---- raw key state ------------------------------------------------------ */

/* The entry of key in db, expired or not, without deleting it (Redis's
 * dictFind on db->dict). */
static uint8_t *raw_find(dice_server_t *srv, int db, const char *key,
                         size_t klen) {
    return dice__dict_find(&dice_keyspace_db(srv->keyspace, db)->main, key,
                           klen);
}

static bool raw_expired(dice_server_t *srv, int db, const char *key,
                        size_t klen) {
    uint8_t *e = raw_find(srv, db, key, klen);
    return e && is_expired(srv->keyspace, e);
}

/* ---- touching ----------------------------------------------------------- */

static void touch_key(dice_server_t *srv, int db, wkey *wk) {
    for (size_t i = 0; i < wk->n; i++) {
        dice__watch_rec *r = wk->recs[i];
        if (r->expired) {
            /* An already expired key deleted: logically no change. */
            if (!raw_find(srv, db, wk->key, wk->klen)) {
                r->expired = false;
                continue;
            }
        }
        r->c->flags |= CLIENT_DIRTY_CAS;
    }
}

typedef struct touch_all_ctx {
    dice_server_t *srv;
    int db, other;
} touch_all_ctx;

/* Redis's touchAllWatchedKeysInDb: db is about to be emptied (other < 0)
 * or to take the contents of db other (SWAPDB). A watcher is dirty only if
 * its key's logical existence or value may change. */
static int touch_all_one(void *arg, void *entry) {
    touch_all_ctx *t = arg;
    wkey *wk = entry;
    dice_server_t *srv = t->srv;
    bool in_old = raw_find(srv, t->db, wk->key, wk->klen) != NULL;
    bool in_new =
        t->other >= 0 && raw_find(srv, t->other, wk->key, wk->klen) != NULL;
    if (!in_old && !in_new)
        return 0;
    bool new_expired = in_new && raw_expired(srv, t->other, wk->key, wk->klen);
    for (size_t i = 0; i < wk->n; i++) {
        dice__watch_rec *r = wk->recs[i];
        if (r->expired) {
            if (!in_new) {
                r->expired = false; /* an expired key deleted */
                continue;
            }
            if (new_expired)
                continue; /* expired it was, expired it stays */
        } else if (!in_old && new_expired) {
            r->expired = true; /* nothing replaced by an expired key */
            continue;
        }
        r->c->flags |= CLIENT_DIRTY_CAS;
    }
    return 0;
}

static void on_touch(void *ctx, int db, const char *key, size_t klen, int ev,
                     int other) {
    (void)ev;
    dice_server_t *srv = ctx;
    if (db >= srv->nwatched_dbs)
        return;
    dict *d = &srv->watched_keys[db];
    if (dice__dict_size(d) == 0)
        return;
    if (key) {
        wkey *wk = dice__dict_find(d, key, klen);
        if (wk)
            touch_key(srv, db, wk);
        return;
    }
    touch_all_ctx t = {srv, db, other};
    dice__dict_foreach(d, touch_all_one, &t);
}

/* ---- WATCH / UNWATCH ---------------------------------------------------- */

static void wkey_getkey(const void *entry, const char **key, size_t *klen) {
    const wkey *wk = entry;
    *key = wk->key;
    *klen = wk->klen;
}

static bool append_rec(dice__watch_rec ***v, size_t *n, size_t *cap,
                       dice__watch_rec *r) {
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        dice__watch_rec **nv = realloc(*v, nc * sizeof(*nv));
        if (!nv)
            return false;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = r;
    return true;
}

static int watch_tables(dice_server_t *srv) {
    if (srv->watched_keys)
        return 0;
    int n = srv->keyspace->ndbs;
    srv->watched_keys = calloc((size_t)n, sizeof(dict));
    if (!srv->watched_keys)
        return DICE_ENOMEM;
    for (int i = 0; i < n; i++)
        dice__dict_init(&srv->watched_keys[i], wkey_getkey);
    srv->nwatched_dbs = n;
    return 0;
}

int dice__watch_key(dice_client_t *c, const char *key, size_t klen) {
    dice_server_t *srv = c->srv;
    if (!srv->keyspace)
        return 0; /* no keys, nothing can change */
    for (size_t i = 0; i < c->nwatched; i++) {
        const wkey *wk = c->watched[i]->wk;
        if (c->watched[i]->db == c->db && wk->klen == klen &&
            memcmp(wk->key, key, klen) == 0)
            return 0; /* already watched */
    }
    if (watch_tables(srv) < 0)
        return DICE_ENOMEM;
    dict *d = &srv->watched_keys[c->db];
    dice__watch_rec *r = malloc(sizeof(*r));
    if (!r)
        return DICE_ENOMEM;
    wkey *wk = dice__dict_find(d, key, klen);
    bool fresh = wk == NULL;
    if (fresh) {
        wk = malloc(sizeof(*wk) + klen + 1);
        if (!wk)
            goto oom;
        wk->recs = NULL;
        wk->n = wk->cap = 0;
        wk->klen = klen;
        memcpy(wk->key, key, klen);
        wk->key[klen] = '\0';
        if (dice__dict_insert(d, wk, dice__dict_hash(d, key, klen)) < 0) {
            free(wk);
            goto oom;
        }
    }
    r->c = c;
    r->wk = wk;
    r->db = c->db;
    r->expired = raw_expired(srv, c->db, key, klen);
    if (!append_rec(&wk->recs, &wk->n, &wk->cap, r))
        goto undo;
    if (!append_rec(&c->watched, &c->nwatched, &c->watched_cap, r)) {
        wk->n--;
        goto undo;
    }
    if (fresh && srv->nwatched_keys++ == 0)
        dice__keyspace_on_touch(srv->keyspace, on_touch, srv);
    return 0;
undo:
    if (fresh) {
        dice__dict_delete(d, key, klen, dice__dict_hash(d, key, klen));
        free(wk->recs);
        free(wk);
    }
oom:
    free(r);
    return DICE_ENOMEM;
}

static void unwatch_rec(dice_server_t *srv, dice__watch_rec *r) {
    wkey *wk = r->wk;
    for (size_t i = 0; i < wk->n; i++) {
        if (wk->recs[i] == r) {
            wk->recs[i] = wk->recs[--wk->n];
            break;
        }
    }
    if (wk->n == 0) {
        dict *d = &srv->watched_keys[r->db];
        dice__dict_delete(d, wk->key, wk->klen,
                          dice__dict_hash(d, wk->key, wk->klen));
        free(wk->recs);
        free(wk);
        if (--srv->nwatched_keys == 0)
            dice__keyspace_on_touch(srv->keyspace, NULL, NULL);
    }
    free(r);
}

void dice__unwatch_all(dice_client_t *c) {
    for (size_t i = 0; i < c->nwatched; i++)
        unwatch_rec(c->srv, c->watched[i]);
    free(c->watched);
    c->watched = NULL;
    c->nwatched = c->watched_cap = 0;
}

void dice__watch_free(dice_server_t *srv) {
    /* Every client (and so every record) is gone: the tables are empty. */
    for (int i = 0; i < srv->nwatched_dbs; i++)
        dice__dict_clear(&srv->watched_keys[i], NULL, NULL);
    free(srv->watched_keys);
    srv->watched_keys = NULL;
    srv->nwatched_dbs = 0;
}

/* ---- EXEC --------------------------------------------------------------- */

/* Redis's isWatchedKeyExpired: a watched key that has expired since it was
 * watched fails the transaction even before anything deletes it. */
static bool watched_expired(dice_client_t *c) {
    for (size_t i = 0; i < c->nwatched; i++) {
        const dice__watch_rec *r = c->watched[i];
        if (!r->expired && raw_expired(c->srv, r->db, r->wk->key, r->wk->klen))
            return true;
    }
    return false;
}

void dice__multi_exec(dice_client_t *c) {
    if (watched_expired(c))
        c->flags |= CLIENT_DIRTY_CAS;
    if (c->flags & (CLIENT_DIRTY_CAS | CLIENT_DIRTY_EXEC)) {
        if (c->flags & CLIENT_DIRTY_EXEC)
            dice_reply_error(
                c,
                "EXECABORT Transaction discarded because of previous errors.",
                59);
        else
            dice_reply_null_array(c);
        dice__multi_discard(c);
        return;
    }
    /* The client is out of MULTI while its commands run, so the dispatcher
     * runs them instead of queueing; c->multi stays for CLIENT LIST
     * (flags=x, multi=<count>, as Redis shows during EXEC). Nothing frees
     * it meanwhile: MULTI, DISCARD and RESET cannot be queued, and a
     * client is freed only once its commands are over. */
    dice__multi_state *m = c->multi;
    c->flags &= ~CLIENT_MULTI;
    dice__unwatch_all(c);
    unsigned deny = c->flags & CLIENT_DENY_BLOCKING;
    c->flags |= CLIENT_DENY_BLOCKING | CLIENT_IN_EXEC;
    dice__propagate_wrap(c);
    dice_reply_array(c, m->n);
    for (size_t i = 0; i < m->n; i++) {
        const dice__argv *v = m->cmds[i];
        dice__client_call(c, v->argc, v->argv, v->argvlen);
    }
    c->flags &= ~CLIENT_IN_EXEC;
    if (!deny)
        c->flags &= ~CLIENT_DENY_BLOCKING;
    c->multi = NULL;
    multi_free(m);
}
