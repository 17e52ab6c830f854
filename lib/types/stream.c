/* The stream type: see lib/types/stream.h for the layout. */
#include "types/stream.h"

#include "core/core_internal.h"
#include "types/listpack.h"
#include "types/rdb.h"

#include <stdlib.h>
#include <string.h>

/* Redis's STREAM_LISTPACK_MAX_PRE_ALLOCATE and STREAM_LISTPACK_MAX_SIZE. */
#define PREALLOC 4096
#define NODE_MAX_SIZE (1ll << 30)

size_t dice__sid_fmt(char *buf, const dice__sid *id) {
    size_t n = dice__fmt_ull(buf, id->ms);
    buf[n++] = '-';
    return n + dice__fmt_ull(buf + n, id->seq);
}

static int64_t lp_int(const unsigned char *p) {
    long long v = 0;
    dice__lp_get_int(p, &v);
    return v;
}

/* ---- nodes ------------------------------------------------------------- */

static dice__snode *node_at(const dice__stream *s, size_t i) {
    return &s->nodes[s->head + i];
}

static int nodes_push(dice__stream *s, const dice__sid *master,
                      unsigned char *lp) {
    if (s->head + s->nnodes == s->cap) {
        if (s->head > 0 && s->head >= s->nnodes) {
            memmove(s->nodes, s->nodes + s->head,
                    s->nnodes * sizeof(*s->nodes));
            s->head = 0;
        } else {
            size_t ncap = s->cap ? s->cap * 2 : 4;
            dice__snode *n = realloc(s->nodes, ncap * sizeof(*n));
            if (!n)
                return DICE_ENOMEM;
            s->nodes = n;
            s->cap = ncap;
        }
    }
    s->nodes[s->head + s->nnodes] = (dice__snode){*master, lp};
    s->nnodes++;
    return 0;
}

/* Remove node i (relative), freeing its listpack. */
static void nodes_remove(dice__stream *s, size_t i) {
    dice__lp_free(node_at(s, i)->lp);
    if (i == 0) {
        s->head++;
        s->nnodes--;
    } else {
        memmove(node_at(s, i), node_at(s, i + 1),
                (s->nnodes - i - 1) * sizeof(*s->nodes));
        s->nnodes--;
    }
    if (s->nnodes == 0)
        s->head = 0;
}

/* Index (relative) of the last node whose master is <= id, or SIZE_MAX. */
static size_t node_find(const dice__stream *s, const dice__sid *id) {
    size_t lo = 0, hi = s->nnodes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (dice__sid_cmp(&node_at(s, mid)->master, id) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? SIZE_MAX : lo - 1;
}

/* The master entry: *mnf its field count; returns the first field. */
static unsigned char *master_fields(unsigned char *lp, int64_t *mnf) {
    unsigned char *p = dice__lp_first(lp); /* count */
    p = dice__lp_next(lp, p);              /* deleted */
    p = dice__lp_next(lp, p);              /* num-fields */
    *mnf = lp_int(p);
    return dice__lp_next(lp, p);
}

/* The first entry of a node (after the master's zero terminator). */
static unsigned char *first_entry(unsigned char *lp) {
    int64_t mnf;
    unsigned char *p = master_fields(lp, &mnf);
    for (int64_t i = 0; i < mnf; i++)
        p = dice__lp_next(lp, p);
    return dice__lp_next(lp, p);
}

/* Decode the entry at its flags p: id, flags, and the entry's fields
 * count; returns the element after seq-diff (num-fields or first value). */
static unsigned char *entry_head(unsigned char *lp, unsigned char *p,
                                 const dice__sid *master, dice__sid *id,
                                 int *flags) {
    *flags = (int)lp_int(p);
    p = dice__lp_next(lp, p);
    id->ms = master->ms + (uint64_t)lp_int(p);
    p = dice__lp_next(lp, p);
    id->seq = master->seq + (uint64_t)lp_int(p);
    return dice__lp_next(lp, p);
}

/* The element after the entry at flags p (its lp-count skipped). */
static unsigned char *entry_skip(unsigned char *lp, unsigned char *p,
                                 int64_t mnf) {
    int flags = (int)lp_int(p);
    p = dice__lp_next(lp, p);
    p = dice__lp_next(lp, p);
    p = dice__lp_next(lp, p);
    int64_t n;
    if (flags & DICE__SFLAG_SAMEFIELDS) {
        n = mnf;
    } else {
        n = lp_int(p) * 2;
        p = dice__lp_next(lp, p);
    }
    while (n--)
        p = dice__lp_next(lp, p);
    return dice__lp_next(lp, p);
}

/* ---- the stream -------------------------------------------------------- */

dice__stream *dice__stream_new(void) {
    return calloc(1, sizeof(dice__stream));
}

static void group_free(dice__sgroup *g) {
    if (!g)
        return;
    for (size_t i = 0; i < g->pel.n; i++)
        free(g->pel.v[i]);
    free(g->pel.v);
    for (size_t i = 0; i < g->nconsumers; i++) {
        free(g->consumers[i]->pel.v);
        free(g->consumers[i]->name);
        free(g->consumers[i]);
    }
    free(g->consumers);
    free(g->name);
    free(g);
}

void dice__stream_free(dice__stream *s) {
    if (!s)
        return;
    for (size_t i = 0; i < s->nnodes; i++)
        dice__lp_free(node_at(s, i)->lp);
    free(s->nodes);
    for (size_t i = 0; i < s->ngroups; i++)
        group_free(s->groups[i]);
    free(s->groups);
    free(s);
}

static dice__sgroup *group_dup(const dice__sgroup *g) {
    dice__sgroup *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->name = malloc(g->nlen + 1);
    n->nlen = g->nlen;
    n->last_id = g->last_id;
    n->entries_read = g->entries_read;
    n->pel.v = malloc((g->pel.n ? g->pel.n : 1) * sizeof(*n->pel.v));
    n->consumers =
        calloc(g->nconsumers ? g->nconsumers : 1, sizeof(*n->consumers));
    if (!n->name || !n->pel.v || !n->consumers) {
        free(n->pel.v);
        n->pel.v = NULL;
        group_free(n);
        return NULL;
    }
    memcpy(n->name, g->name, g->nlen + 1);
    n->pel.cap = g->pel.n ? g->pel.n : 1;
    n->ccap = g->nconsumers ? g->nconsumers : 1;
    for (size_t i = 0; i < g->nconsumers; i++) {
        const dice__sconsumer *oc = g->consumers[i];
        dice__sconsumer *nc = calloc(1, sizeof(*nc));
        if (!nc)
            goto fail;
        n->consumers[n->nconsumers++] = nc;
        nc->name = malloc(oc->nlen + 1);
        nc->pel.v = malloc((oc->pel.n ? oc->pel.n : 1) * sizeof(*nc->pel.v));
        if (!nc->name || !nc->pel.v)
            goto fail;
        memcpy(nc->name, oc->name, oc->nlen + 1);
        nc->nlen = oc->nlen;
        nc->seen_time = oc->seen_time;
        nc->pel.cap = oc->pel.n ? oc->pel.n : 1;
    }
    for (size_t i = 0; i < g->pel.n; i++) {
        const dice__snack *on = g->pel.v[i];
        dice__snack *nn = malloc(sizeof(*nn));
        if (!nn)
            goto fail;
        *nn = *on;
        n->pel.v[n->pel.n++] = nn;
        if (on->consumer) {
            bool found;
            size_t lo = 0, hi = g->nconsumers;
            (void)found;
            /* consumers are in the same order in both groups */
            while (lo < hi && g->consumers[lo] != on->consumer)
                lo++;
            nn->consumer = lo < hi ? n->consumers[lo] : NULL;
            if (nn->consumer)
                nn->consumer->pel.v[nn->consumer->pel.n++] = nn;
        }
    }
    return n;
fail:
    group_free(n);
    return NULL;
}

dice__stream *dice__stream_dup(const dice__stream *s) {
    dice__stream *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    *n = *s;
    n->nodes = NULL;
    n->head = n->nnodes = n->cap = 0;
    n->groups = NULL;
    n->ngroups = n->gcap = 0;
    if (s->nnodes) {
        n->nodes = malloc(s->nnodes * sizeof(*n->nodes));
        if (!n->nodes)
            goto fail;
        n->cap = s->nnodes;
        for (size_t i = 0; i < s->nnodes; i++) {
            const dice__snode *o = node_at(s, i);
            unsigned char *lp =
                dice__lp_from_bytes(o->lp, dice__lp_bytes(o->lp));
            if (!lp)
                goto fail;
            n->nodes[n->nnodes++] = (dice__snode){o->master, lp};
        }
    }
    if (s->ngroups) {
        n->groups = calloc(s->ngroups, sizeof(*n->groups));
        if (!n->groups)
            goto fail;
        n->gcap = s->ngroups;
        for (size_t i = 0; i < s->ngroups; i++) {
            if (!(n->groups[i] = group_dup(s->groups[i])))
                goto fail;
            n->ngroups++;
        }
    }
    return n;
fail:
    dice__stream_free(n);
    return NULL;
}

size_t dice__stream_mem(const dice__stream *s) {
    size_t m = sizeof(*s) + s->cap * sizeof(*s->nodes);
    for (size_t i = 0; i < s->nnodes; i++)
        m += dice__lp_alloc_size(node_at(s, i)->lp);
    for (size_t i = 0; i < s->ngroups; i++) {
        const dice__sgroup *g = s->groups[i];
        m += sizeof(*g) + g->nlen + 1 + g->pel.cap * sizeof(void *) +
             g->pel.n * sizeof(dice__snack) + g->ccap * sizeof(void *);
        for (size_t j = 0; j < g->nconsumers; j++)
            m += sizeof(dice__sconsumer) + g->consumers[j]->nlen + 1 +
                 g->consumers[j]->pel.cap * sizeof(void *);
    }
    return m;
}

int dice__stream_append(dice__stream *s, const dice__sid *id,
                        const char *const *fv, const size_t *fvlen,
                        size_t nfields, const dice__stream_limits *lim) {
    size_t tot = 0;
    for (size_t i = 0; i < nfields * 2; i++)
        tot += fvlen[i];
    if (tot > (size_t)NODE_MAX_SIZE || !dice__lp_safe_to_add(NULL, tot))
        return DICE_ERANGE;
    dice__snode *tail = s->nnodes ? node_at(s, s->nnodes - 1) : NULL;
    unsigned char *lp = tail ? tail->lp : NULL;
    if (lp) {
        long long maxb = lim->max_bytes;
        if (maxb <= 0 || maxb > NODE_MAX_SIZE)
            maxb = NODE_MAX_SIZE;
        bool fresh = false;
        if (dice__lp_bytes(lp) + tot >= (size_t)maxb) {
            fresh = true;
        } else if (lim->max_entries > 0) {
            unsigned char *p = dice__lp_first(lp);
            int64_t cnt = lp_int(p) + lp_int(dice__lp_next(lp, p));
            if (cnt >= lim->max_entries)
                fresh = true;
        }
        if (fresh) {
            size_t b = dice__lp_bytes(lp);
            if (dice__lp_alloc_size(lp) > b) {
                unsigned char *n = realloc(lp, b);
                if (n)
                    tail->lp = n;
            }
            lp = NULL;
        }
    }
    if (!dice__lp_safe_to_add(lp, tot + 64 + nfields * 10))
        return DICE_ERANGE;
    int flags = 0;
    dice__sid master;
    unsigned char *n = NULL;
    if (!lp) {
        size_t pre = PREALLOC;
        if (lim->max_bytes > 0 && (size_t)lim->max_bytes < pre)
            pre = (size_t)lim->max_bytes;
        n = dice__lp_new(pre);
        if (!n)
            return DICE_ENOMEM;
        unsigned char *t;
#define APPI(v)                                                                \
    do {                                                                       \
        if (!(t = dice__lp_append_int(n, (v))))                                \
            goto oom;                                                          \
        n = t;                                                                 \
    } while (0)
#define APPS(s, l)                                                             \
    do {                                                                       \
        if (!(t = dice__lp_append(n, (const unsigned char *)(s),               \
                                  (uint32_t)(l))))                             \
            goto oom;                                                          \
        n = t;                                                                 \
    } while (0)
        APPI(1);
        APPI(0);
        APPI((long long)nfields);
        for (size_t i = 0; i < nfields; i++)
            APPS(fv[2 * i], fvlen[2 * i]);
        APPI(0);
        master = *id;
        flags = DICE__SFLAG_SAMEFIELDS;
    } else {
        master = tail->master;
        n = lp;
        unsigned char *p = dice__lp_first(n);
        unsigned char *t = dice__lp_replace_int(n, &p, lp_int(p) + 1);
        if (!t)
            return DICE_ENOMEM;
        n = tail->lp = t;
        int64_t mnf;
        p = master_fields(n, &mnf);
        if ((size_t)mnf == nfields) {
            size_t i;
            for (i = 0; i < nfields; i++) {
                if (!dice__lp_eq(p, (const unsigned char *)fv[2 * i],
                                 (uint32_t)fvlen[2 * i]))
                    break;
                p = dice__lp_next(n, p);
            }
            if (i == nfields)
                flags = DICE__SFLAG_SAMEFIELDS;
        }
    }
    {
        unsigned char *t;
        APPI(flags);
        APPI((long long)(id->ms - master.ms));
        APPI((long long)(id->seq - master.seq));
        if (!(flags & DICE__SFLAG_SAMEFIELDS))
            APPI((long long)nfields);
        for (size_t i = 0; i < nfields; i++) {
            if (!(flags & DICE__SFLAG_SAMEFIELDS))
                APPS(fv[2 * i], fvlen[2 * i]);
            APPS(fv[2 * i + 1], fvlen[2 * i + 1]);
        }
        long long lpc = (long long)nfields + 3;
        if (!(flags & DICE__SFLAG_SAMEFIELDS))
            lpc += (long long)nfields + 1;
        APPI(lpc);
    }
#undef APPI
#undef APPS
    if (lp) {
        tail->lp = n;
    } else if (nodes_push(s, &master, n) < 0) {
        dice__lp_free(n);
        return DICE_ENOMEM;
    }
    s->length++;
    s->entries_added++;
    s->last_id = *id;
    if (s->length == 1)
        s->first_id = *id;
    return 0;
oom:
    /* Only reached for a fresh node, or mid-append of an existing one
     * (then the node holds a partial entry: drop back its count). */
    if (!lp) {
        dice__lp_free(n);
    } else {
        tail->lp = n;
    }
    return DICE_ENOMEM;
}

int dice__stream_edge_id(const dice__stream *s, bool first, bool skip_deleted,
                         dice__sid *id) {
    dice__stream_iter it;
    dice__sid lo = {0, 0}, hi = {UINT64_MAX, UINT64_MAX};
    if (!skip_deleted) {
        if (!s->nnodes) {
            *id = first ? hi : lo;
            return 0;
        }
        const dice__snode *nd = node_at(s, first ? 0 : s->nnodes - 1);
        unsigned char *lp = nd->lp, *p;
        int flags;
        if (first) {
            p = first_entry(lp);
        } else {
            p = dice__lp_last(lp);
            int64_t c = lp_int(p);
            while (c--)
                p = dice__lp_prev(lp, p);
        }
        entry_head(lp, p, &nd->master, id, &flags);
        return 1;
    }
    dice__stream_iter_start(&it, (dice__stream *)s, NULL, NULL, !first);
    int64_t nf;
    if (dice__stream_iter_next(&it, id, &nf))
        return 1;
    *id = first ? hi : lo;
    return 0;
}

/* ---- iteration --------------------------------------------------------- */

static void iter_enter(dice__stream_iter *it) {
    dice__snode *nd = &it->s->nodes[it->node];
    it->lp = nd->lp;
    it->mfields = master_fields(it->lp, &it->mnfields);
    it->first_ep = first_entry(it->lp);
    if (!it->rev) {
        it->p = it->first_ep;
    } else {
        it->p = dice__lp_last(it->lp); /* last entry's lp-count */
    }
}

void dice__stream_iter_start(dice__stream_iter *it, dice__stream *s,
                             const dice__sid *start, const dice__sid *end,
                             bool rev) {
    memset(it, 0, sizeof(*it));
    it->s = s;
    it->start = start ? *start : (dice__sid){0, 0};
    it->end = end ? *end : (dice__sid){UINT64_MAX, UINT64_MAX};
    it->rev = rev;
    it->node = SIZE_MAX;
    if (!s->nnodes)
        return;
    size_t i;
    if (!rev) {
        i = node_find(s, &it->start);
        if (i == SIZE_MAX)
            i = 0;
    } else {
        i = node_find(s, &it->end);
        if (i == SIZE_MAX)
            return;
    }
    it->node = s->head + i;
    iter_enter(it);
}

/* Step to the next/previous node; 0 when there is none. */
static int iter_step_node(dice__stream_iter *it) {
    dice__stream *s = it->s;
    if (!it->rev) {
        if (it->node + 1 >= s->head + s->nnodes) {
            it->node = SIZE_MAX;
            return 0;
        }
        it->node++;
    } else {
        if (it->node == s->head) {
            it->node = SIZE_MAX;
            return 0;
        }
        it->node--;
    }
    iter_enter(it);
    return 1;
}

int dice__stream_iter_next(dice__stream_iter *it, dice__sid *id,
                           int64_t *nfields) {
    while (it->node != SIZE_MAX) {
        dice__snode *nd = &it->s->nodes[it->node];
        unsigned char *lp = it->lp;
        unsigned char *e;
        if (!it->rev) {
            if (!it->p) {
                if (!iter_step_node(it))
                    return 0;
                continue;
            }
            e = it->p;
            it->p = entry_skip(lp, e, it->mnfields);
        } else {
            if (!it->p || it->p < it->first_ep) {
                if (!iter_step_node(it))
                    return 0;
                continue;
            }
            int64_t c = lp_int(it->p);
            e = it->p;
            while (c--)
                e = dice__lp_prev(lp, e);
            it->p = e == it->first_ep ? NULL : dice__lp_prev(lp, e);
        }
        int flags;
        unsigned char *q = entry_head(lp, e, &nd->master, id, &flags);
        if (!it->rev) {
            if (dice__sid_cmp(id, &it->end) > 0) {
                it->node = SIZE_MAX;
                return 0;
            }
            if (dice__sid_cmp(id, &it->start) < 0)
                continue;
        } else {
            if (dice__sid_cmp(id, &it->start) < 0) {
                it->node = SIZE_MAX;
                return 0;
            }
            if (dice__sid_cmp(id, &it->end) > 0)
                continue;
        }
        if (flags & DICE__SFLAG_DELETED)
            continue;
        it->entry = e;
        it->flags = flags;
        if (flags & DICE__SFLAG_SAMEFIELDS) {
            it->nfields = it->mnfields;
            it->fp = it->mfields;
            it->vp = q;
        } else {
            it->nfields = lp_int(q);
            it->fp = dice__lp_next(lp, q);
            it->vp = NULL;
        }
        it->left = it->nfields;
        *nfields = it->nfields;
        return 1;
    }
    return 0;
}

void dice__stream_iter_field(dice__stream_iter *it, const unsigned char **f,
                             uint32_t *flen, unsigned char *fbuf,
                             const unsigned char **v, uint32_t *vlen,
                             unsigned char *vbuf) {
    unsigned char *lp = it->lp;
    if (it->flags & DICE__SFLAG_SAMEFIELDS) {
        *f = dice__lp_get_str(it->fp, flen, fbuf);
        *v = dice__lp_get_str(it->vp, vlen, vbuf);
        it->fp = dice__lp_next(lp, it->fp);
        it->vp = dice__lp_next(lp, it->vp);
    } else {
        *f = dice__lp_get_str(it->fp, flen, fbuf);
        unsigned char *vp = dice__lp_next(lp, it->fp);
        *v = dice__lp_get_str(vp, vlen, vbuf);
        it->fp = dice__lp_next(lp, vp);
    }
    it->left--;
}

/* Mark the entry at e of node index ni (absolute) deleted. */
static void mark_deleted(dice__stream *s, size_t ni, unsigned char *e) {
    dice__snode *nd = &s->nodes[ni];
    unsigned char *lp = nd->lp;
    int flags = (int)lp_int(e) | DICE__SFLAG_DELETED;
    /* flags stay a 7-bit int: the listpack cannot move */
    lp = dice__lp_replace_int(lp, &e, flags);
    nd->lp = lp;
    unsigned char *p = dice__lp_first(lp);
    int64_t cnt = lp_int(p);
    if (cnt == 1) {
        nodes_remove(s, ni - s->head);
    } else {
        unsigned char *t = dice__lp_replace_int(lp, &p, cnt - 1);
        if (t) {
            lp = t;
            p = dice__lp_next(lp, p);
            t = dice__lp_replace_int(lp, &p, lp_int(p) + 1);
            if (t)
                lp = t;
        }
        nd->lp = lp;
    }
    s->length--;
}

void dice__stream_iter_delete(dice__stream_iter *it) {
    mark_deleted(it->s, it->node, it->entry);
    it->node = SIZE_MAX;
}

bool dice__stream_has(dice__stream *s, const dice__sid *id) {
    dice__stream_iter it;
    dice__sid got;
    int64_t nf;
    dice__stream_iter_start(&it, s, id, id, false);
    return dice__stream_iter_next(&it, &got, &nf) == 1;
}

int dice__stream_delete(dice__stream *s, const dice__sid *id) {
    dice__stream_iter it;
    dice__sid got;
    int64_t nf;
    dice__stream_iter_start(&it, s, id, id, false);
    if (!dice__stream_iter_next(&it, &got, &nf))
        return 0;
    dice__stream_iter_delete(&it);
    if (dice__sid_cmp(id, &s->max_deleted) > 0)
        s->max_deleted = *id;
    if (dice__sid_cmp(id, &s->first_id) == 0) {
        if (s->length == 0)
            s->first_id = (dice__sid){0, 0};
        else
            dice__stream_edge_id(s, true, true, &s->first_id);
    }
    return 1;
}

int64_t dice__stream_trim(dice__stream *s, const dice__stream_trim_args *t) {
    if (t->strategy == DICE__TRIM_NONE)
        return 0;
    int64_t deleted = 0;
    while (s->nnodes) {
        if (t->strategy == DICE__TRIM_MAXLEN &&
            s->length <= (uint64_t)t->maxlen)
            break;
        dice__snode *nd = node_at(s, 0);
        unsigned char *lp = nd->lp, *p = dice__lp_first(lp);
        int64_t entries = lp_int(p);
        if (t->limit && deleted + entries > t->limit)
            break;
        bool remove;
        if (t->strategy == DICE__TRIM_MAXLEN) {
            remove = s->length - (uint64_t)entries >= (uint64_t)t->maxlen;
        } else {
            dice__sid last;
            unsigned char *q = dice__lp_last(lp);
            int64_t c = lp_int(q);
            while (c--)
                q = dice__lp_prev(lp, q);
            int fl;
            entry_head(lp, q, &nd->master, &last, &fl);
            remove = dice__sid_cmp(&last, &t->minid) < 0;
        }
        if (remove) {
            s->length -= (uint64_t)entries;
            deleted += entries;
            nodes_remove(s, 0);
            continue;
        }
        if (t->approx)
            break;
        int64_t mnf;
        master_fields(lp, &mnf);
        int64_t from_lp = 0;
        unsigned char *e = first_entry(lp);
        while (e) {
            dice__sid cur;
            int fl;
            entry_head(lp, e, &nd->master, &cur, &fl);
            bool stop = t->strategy == DICE__TRIM_MAXLEN
                            ? s->length <= (uint64_t)t->maxlen
                            : dice__sid_cmp(&cur, &t->minid) >= 0;
            if (stop)
                break;
            unsigned char *next = entry_skip(lp, e, mnf);
            if (!(fl & DICE__SFLAG_DELETED)) {
                ptrdiff_t off = next ? next - lp : -1;
                lp = dice__lp_replace_int(lp, &e, fl | DICE__SFLAG_DELETED);
                next = off < 0 ? NULL : lp + off;
                from_lp++;
                s->length--;
            }
            e = next;
        }
        deleted += from_lp;
        p = dice__lp_first(lp);
        unsigned char *nl = dice__lp_replace_int(lp, &p, entries - from_lp);
        if (nl) {
            lp = nl;
            p = dice__lp_next(lp, p);
            nl = dice__lp_replace_int(lp, &p, lp_int(p) + from_lp);
            if (nl)
                lp = nl;
        }
        nd->lp = lp;
        break;
    }
    if (s->length == 0)
        s->first_id = (dice__sid){0, 0};
    else
        dice__stream_edge_id(s, true, true, &s->first_id);
    return deleted;
}

/* ---- consumer groups --------------------------------------------------- */

static int name_cmp(const char *a, size_t al, const char *b, size_t bl) {
    int r = memcmp(a, b, al < bl ? al : bl);
    if (r)
        return r;
    return al < bl ? -1 : al > bl;
}

static size_t group_pos(const dice__stream *s, const char *name, size_t nlen,
                        bool *found) {
    size_t lo = 0, hi = s->ngroups;
    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r =
            name_cmp(s->groups[mid]->name, s->groups[mid]->nlen, name, nlen);
        if (r == 0) {
            *found = true;
            return mid;
        }
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

dice__sgroup *dice__stream_group(const dice__stream *s, const char *name,
                                 size_t nlen) {
    bool found;
    size_t i = group_pos(s, name, nlen, &found);
    return found ? s->groups[i] : NULL;
}

dice__sgroup *dice__stream_group_add(dice__stream *s, const char *name,
                                     size_t nlen, const dice__sid *last_id,
                                     int64_t entries_read, bool *exists) {
    bool found;
    size_t i = group_pos(s, name, nlen, &found);
    *exists = found;
    if (found)
        return NULL;
    if (s->ngroups == s->gcap) {
        size_t nc = s->gcap ? s->gcap * 2 : 2;
        dice__sgroup **n = realloc(s->groups, nc * sizeof(*n));
        if (!n)
            return NULL;
        s->groups = n;
        s->gcap = nc;
    }
    dice__sgroup *g = calloc(1, sizeof(*g));
    if (!g || !(g->name = malloc(nlen + 1))) {
        free(g);
        return NULL;
    }
    memcpy(g->name, name, nlen);
    g->name[nlen] = 0;
    g->nlen = nlen;
    g->last_id = *last_id;
    g->entries_read = entries_read;
    memmove(s->groups + i + 1, s->groups + i,
            (s->ngroups - i) * sizeof(*s->groups));
    s->groups[i] = g;
    s->ngroups++;
    return g;
}

int dice__stream_group_del(dice__stream *s, const char *name, size_t nlen) {
    bool found;
    size_t i = group_pos(s, name, nlen, &found);
    if (!found)
        return 0;
    group_free(s->groups[i]);
    memmove(s->groups + i, s->groups + i + 1,
            (s->ngroups - i - 1) * sizeof(*s->groups));
    s->ngroups--;
    return 1;
}

static size_t consumer_pos(const dice__sgroup *g, const char *name, size_t nlen,
                           bool *found) {
    size_t lo = 0, hi = g->nconsumers;
    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = name_cmp(g->consumers[mid]->name, g->consumers[mid]->nlen, name,
                         nlen);
        if (r == 0) {
            *found = true;
            return mid;
        }
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

dice__sconsumer *dice__group_consumer(const dice__sgroup *g, const char *name,
                                      size_t nlen) {
    bool found;
    size_t i = consumer_pos(g, name, nlen, &found);
    return found ? g->consumers[i] : NULL;
}

dice__sconsumer *dice__group_consumer_add(dice__sgroup *g, const char *name,
                                          size_t nlen, int64_t now,
                                          bool *created) {
    bool found;
    size_t i = consumer_pos(g, name, nlen, &found);
    *created = false;
    if (found)
        return g->consumers[i];
    if (g->nconsumers == g->ccap) {
        size_t nc = g->ccap ? g->ccap * 2 : 2;
        dice__sconsumer **n = realloc(g->consumers, nc * sizeof(*n));
        if (!n)
            return NULL;
        g->consumers = n;
        g->ccap = nc;
    }
    dice__sconsumer *c = calloc(1, sizeof(*c));
    if (!c || !(c->name = malloc(nlen + 1))) {
        free(c);
        return NULL;
    }
    memcpy(c->name, name, nlen);
    c->name[nlen] = 0;
    c->nlen = nlen;
    c->seen_time = now;
    memmove(g->consumers + i + 1, g->consumers + i,
            (g->nconsumers - i) * sizeof(*g->consumers));
    g->consumers[i] = c;
    g->nconsumers++;
    *created = true;
    return c;
}

long long dice__group_consumer_del(dice__sgroup *g, const char *name,
                                   size_t nlen) {
    bool found;
    size_t i = consumer_pos(g, name, nlen, &found);
    if (!found)
        return -1;
    dice__sconsumer *c = g->consumers[i];
    long long pending = (long long)c->pel.n;
    for (size_t j = 0; j < c->pel.n; j++) {
        dice__snack *n = c->pel.v[j];
        bool f;
        size_t at = dice__spel_find(&g->pel, &n->id, &f);
        if (f)
            dice__spel_remove_at(&g->pel, at);
        free(n);
    }
    free(c->pel.v);
    free(c->name);
    free(c);
    memmove(g->consumers + i, g->consumers + i + 1,
            (g->nconsumers - i - 1) * sizeof(*g->consumers));
    g->nconsumers--;
    return pending;
}

size_t dice__spel_find(const dice__spel *p, const dice__sid *id, bool *found) {
    size_t lo = 0, hi = p->n;
    *found = false;
    /* appends are the common case */
    if (p->n && dice__sid_cmp(&p->v[p->n - 1]->id, id) < 0)
        return p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = dice__sid_cmp(&p->v[mid]->id, id);
        if (r == 0) {
            *found = true;
            return mid;
        }
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int dice__spel_insert_at(dice__spel *p, size_t at, dice__snack *n) {
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 4;
        dice__snack **v = realloc(p->v, nc * sizeof(*v));
        if (!v)
            return DICE_ENOMEM;
        p->v = v;
        p->cap = nc;
    }
    memmove(p->v + at + 1, p->v + at, (p->n - at) * sizeof(*p->v));
    p->v[at] = n;
    p->n++;
    return 0;
}

void dice__spel_remove_at(dice__spel *p, size_t at) {
    memmove(p->v + at, p->v + at + 1, (p->n - at - 1) * sizeof(*p->v));
    p->n--;
    if (p->n == 0) {
        free(p->v);
        p->v = NULL;
        p->cap = 0;
    }
}

int dice__spel_add(dice__spel *p, dice__snack *n) {
    bool found;
    size_t at = dice__spel_find(p, &n->id, &found);
    if (found) {
        p->v[at] = n;
        return 0;
    }
    return dice__spel_insert_at(p, at, n);
}

void dice__spel_del(dice__spel *p, const dice__sid *id) {
    bool found;
    size_t at = dice__spel_find(p, id, &found);
    if (found)
        dice__spel_remove_at(p, at);
}

/* ---- lag (Redis 7.0's rules) ------------------------------------------- */

static bool sid_zero(const dice__sid *id) {
    return !id->ms && !id->seq;
}

bool dice__stream_tombstones_after(const dice__stream *s, const dice__sid *id) {
    if (!s->length || sid_zero(&s->max_deleted))
        return false;
    if (dice__sid_cmp(&s->first_id, &s->max_deleted) > 0)
        return false;
    dice__sid start = id ? *id : (dice__sid){0, 0};
    return dice__sid_cmp(&start, &s->max_deleted) <= 0;
}

long long dice__stream_estimate_read(const dice__stream *s,
                                     const dice__sid *id) {
    if (!s->entries_added)
        return 0;
    if (!s->length && dice__sid_cmp(id, &s->last_id) < 1)
        return (long long)s->entries_added;
    int cl = dice__sid_cmp(id, &s->last_id);
    if (cl == 0)
        return (long long)s->entries_added;
    if (cl > 0)
        return -1;
    int cf = dice__sid_cmp(id, &s->first_id);
    if (sid_zero(&s->max_deleted) ||
        dice__sid_cmp(&s->max_deleted, &s->first_id) < 0) {
        if (cf < 0)
            return (long long)(s->entries_added - s->length);
        if (cf == 0)
            return (long long)(s->entries_added - s->length + 1);
    }
    return -1;
}

long long dice__group_lag(const dice__stream *s, const dice__sgroup *g) {
    if (!s->entries_added)
        return 0;
    if (g->entries_read != -1 && !dice__stream_tombstones_after(s, &g->last_id))
        return (long long)s->entries_added - g->entries_read;
    long long er = dice__stream_estimate_read(s, &g->last_id);
    if (er != -1)
        return (long long)s->entries_added - er;
    return -1;
}

/* ---- type methods ------------------------------------------------------ */

static const char *const stream_encodings[] = {"stream", NULL};

static const char *stream_encoding(void *ctx, const void *obj) {
    (void)ctx;
    (void)obj;
    return "stream";
}

static void stream_free_m(void *ctx, void *obj) {
    (void)ctx;
    dice__stream_free(obj);
}

static void *stream_copy_m(void *ctx, const void *obj) {
    (void)ctx;
    return dice__stream_dup(obj);
}

static size_t stream_mem_m(void *ctx, const void *obj) {
    (void)ctx;
    return dice__stream_mem(obj);
}

static size_t stream_effort(void *ctx, const void *obj) {
    (void)ctx;
    const dice__stream *s = obj;
    size_t e = s->nnodes + 1;
    for (size_t i = 0; i < s->ngroups; i++)
        e += s->groups[i]->pel.n + s->groups[i]->nconsumers + 1;
    return e;
}

/* Digest: the entries in order, then the stream's counters and each
 * group (name, last ID, entries read, its pending IDs with their owner and
 * delivery count; times are left out: they are the clock's). */
static void stream_digest(void *ctx, const void *obj, dice_digest_t *d) {
    (void)ctx;
    dice__stream *s = (dice__stream *)obj;
    char b[DICE__SID_STRMAX];
    dice__stream_iter it;
    dice__sid id;
    int64_t nf;
    dice__stream_iter_start(&it, s, NULL, NULL, false);
    while (dice__stream_iter_next(&it, &id, &nf)) {
        dice_digest_add(d, b, dice__sid_fmt(b, &id));
        while (nf--) {
            const unsigned char *f, *v;
            uint32_t fl, vl;
            unsigned char fb[DICE__LP_INTBUF], vb[DICE__LP_INTBUF];
            dice__stream_iter_field(&it, &f, &fl, fb, &v, &vl, vb);
            dice_digest_add(d, f, fl);
            dice_digest_add(d, v, vl);
        }
    }
    dice_digest_add(d, b, dice__sid_fmt(b, &s->last_id));
    dice_digest_add(d, b, dice__sid_fmt(b, &s->max_deleted));
    dice_digest_add_ll(d, (long long)s->entries_added);
    dice_digest_add_ll(d, (long long)s->length);
    dice_digest_end_sequence(d);
    for (size_t i = 0; i < s->ngroups; i++) {
        const dice__sgroup *g = s->groups[i];
        dice_digest_add(d, g->name, g->nlen);
        dice_digest_add(d, b, dice__sid_fmt(b, &g->last_id));
        dice_digest_add_ll(d, g->entries_read);
        for (size_t j = 0; j < g->pel.n; j++) {
            const dice__snack *n = g->pel.v[j];
            dice_digest_add(d, b, dice__sid_fmt(b, &n->id));
            dice_digest_add(d, n->consumer->name, n->consumer->nlen);
            dice_digest_add_ll(d, (long long)n->delivery_count);
        }
        for (size_t j = 0; j < g->nconsumers; j++)
            dice_digest_add(d, g->consumers[j]->name, g->consumers[j]->nlen);
        dice_digest_end_sequence(d);
    }
}

/* AOF rewrite, as Redis's rewriteStreamObject: XADD per entry (or XADD
 * MAXLEN 0 0-1 x y for an empty stream), XSETID with the counters, then
 * per group XGROUP CREATE ... ENTRIESREAD and, per consumer, XCLAIM ...
 * JUSTID FORCE for each pending entry or XGROUP CREATECONSUMER. */
static int stream_emit(void *ctx, const char *key, size_t klen, const void *obj,
                       dice_type_emit_fn emit, void *emit_ctx) {
    (void)ctx;
    dice__stream *s = (dice__stream *)obj;
    int rc;
    char b1[DICE__SID_STRMAX], b2[DICE__SID_STRMAX], n1[24], n2[24];
    if (s->length) {
        dice__stream_iter it;
        dice__sid id;
        int64_t nf;
        const char **av = NULL;
        size_t *al = NULL;
        unsigned char *bufs = NULL;
        size_t cap = 0;
        dice__stream_iter_start(&it, s, NULL, NULL, false);
        while (dice__stream_iter_next(&it, &id, &nf)) {
            size_t need = 3 + 2 * (size_t)nf;
            if (need > cap) {
                const char **na = realloc(av, need * sizeof(*av));
                if (na)
                    av = na;
                size_t *nl = na ? realloc(al, need * sizeof(*al)) : NULL;
                if (nl)
                    al = nl;
                unsigned char *nb =
                    nl ? realloc(bufs, need * DICE__LP_INTBUF) : NULL;
                if (!nb) {
                    free(av);
                    free(al);
                    free(bufs);
                    return DICE_ENOMEM;
                }
                bufs = nb;
                cap = need;
            }
            av[0] = "XADD";
            al[0] = 4;
            av[1] = key;
            al[1] = klen;
            av[2] = b1;
            al[2] = dice__sid_fmt(b1, &id);
            for (int64_t j = 0; j < nf; j++) {
                const unsigned char *f, *v;
                uint32_t fl, vl;
                dice__stream_iter_field(
                    &it, &f, &fl, bufs + (3 + 2 * j) * DICE__LP_INTBUF, &v, &vl,
                    bufs + (4 + 2 * j) * DICE__LP_INTBUF);
                av[3 + 2 * j] = (const char *)f;
                al[3 + 2 * j] = fl;
                av[4 + 2 * j] = (const char *)v;
                al[4 + 2 * j] = vl;
            }
            rc = emit(emit_ctx, (int)need, av, al);
            if (rc < 0) {
                free(av);
                free(al);
                free(bufs);
                return rc;
            }
        }
        free(av);
        free(al);
        free(bufs);
    } else {
        const char *av[] = {"XADD", key, "MAXLEN", "0", "0-1", "x", "y"};
        size_t al[] = {4, klen, 6, 1, 3, 1, 1};
        if ((rc = emit(emit_ctx, 7, av, al)) < 0)
            return rc;
    }
    {
        const char *av[] = {"XSETID",       key, b1, "ENTRIESADDED", n1,
                            "MAXDELETEDID", b2};
        size_t al[] = {6,
                       klen,
                       dice__sid_fmt(b1, &s->last_id),
                       12,
                       dice__fmt_ull(n1, s->entries_added),
                       12,
                       dice__sid_fmt(b2, &s->max_deleted)};
        if ((rc = emit(emit_ctx, 7, av, al)) < 0)
            return rc;
    }
    for (size_t i = 0; i < s->ngroups; i++) {
        const dice__sgroup *g = s->groups[i];
        const char *av[] = {"XGROUP", "CREATE",      key, g->name,
                            b1,       "ENTRIESREAD", n1};
        size_t al[] = {6,
                       6,
                       klen,
                       g->nlen,
                       dice__sid_fmt(b1, &g->last_id),
                       11,
                       dice__fmt_ll(n1, g->entries_read)};
        if ((rc = emit(emit_ctx, 7, av, al)) < 0)
            return rc;
        for (size_t j = 0; j < g->nconsumers; j++) {
            const dice__sconsumer *c = g->consumers[j];
            if (c->pel.n == 0) {
                const char *cv[] = {"XGROUP", "CREATECONSUMER", key, g->name,
                                    c->name};
                size_t cl[] = {6, 14, klen, g->nlen, c->nlen};
                if ((rc = emit(emit_ctx, 5, cv, cl)) < 0)
                    return rc;
                continue;
            }
            for (size_t k = 0; k < c->pel.n; k++) {
                const dice__snack *n = c->pel.v[k];
                const char *cv[] = {"XCLAIM",     key, g->name,  c->name,
                                    "0",          b1,  "TIME",   n1,
                                    "RETRYCOUNT", n2,  "JUSTID", "FORCE"};
                size_t cl[] = {6,       klen,
                               g->nlen, c->nlen,
                               1,       dice__sid_fmt(b1, &n->id),
                               4,       dice__fmt_ll(n1, n->delivery_time),
                               10,      dice__fmt_ull(n2, n->delivery_count),
                               6,       5};
                if ((rc = emit(emit_ctx, 12, cv, cl)) < 0)
                    return rc;
            }
        }
    }
    return 0;
}

/* ---- RDB_TYPE_STREAM_LISTPACKS_2 --------------------------------------- */

static void put_be64(uint8_t *d, uint64_t v) {
    for (int i = 0; i < 8; i++)
        d[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_be64(const uint8_t *d) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | d[i];
    return v;
}

static void put_sid(uint8_t *d, const dice__sid *id) {
    put_be64(d, id->ms);
    put_be64(d + 8, id->seq);
}

static int write_ms(dice_type_write_fn write, void *wctx, int64_t t) {
    uint8_t d[8];
    uint64_t u = (uint64_t)t;
    for (int i = 0; i < 8; i++)
        d[i] = (uint8_t)(u >> (8 * i));
    return write(wctx, d, 8);
}

static int stream_serialize(void *ctx, const void *obj, unsigned *format,
                            dice_type_write_fn write, void *wctx) {
    (void)ctx;
    const dice__stream *s = obj;
    int rc;
    *format = DICE__RDB_TYPE_STREAM_LISTPACKS_2;
#define W(x)                                                                   \
    do {                                                                       \
        if ((rc = (x)) < 0)                                                    \
            return rc;                                                         \
    } while (0)
    W(dice__rdb_write_len(write, wctx, s->nnodes));
    for (size_t i = 0; i < s->nnodes; i++) {
        const dice__snode *nd = node_at(s, i);
        uint8_t k[16];
        put_sid(k, &nd->master);
        W(dice__rdb_write_len(write, wctx, 16));
        W(write(wctx, k, 16));
        W(dice__rdb_write_len(write, wctx, dice__lp_bytes(nd->lp)));
        W(write(wctx, nd->lp, dice__lp_bytes(nd->lp)));
    }
    W(dice__rdb_write_len(write, wctx, s->length));
    W(dice__rdb_write_len(write, wctx, s->last_id.ms));
    W(dice__rdb_write_len(write, wctx, s->last_id.seq));
    W(dice__rdb_write_len(write, wctx, s->first_id.ms));
    W(dice__rdb_write_len(write, wctx, s->first_id.seq));
    W(dice__rdb_write_len(write, wctx, s->max_deleted.ms));
    W(dice__rdb_write_len(write, wctx, s->max_deleted.seq));
    W(dice__rdb_write_len(write, wctx, s->entries_added));
    W(dice__rdb_write_len(write, wctx, s->ngroups));
    for (size_t i = 0; i < s->ngroups; i++) {
        const dice__sgroup *g = s->groups[i];
        W(dice__rdb_write_string(write, wctx, g->name, g->nlen));
        W(dice__rdb_write_len(write, wctx, g->last_id.ms));
        W(dice__rdb_write_len(write, wctx, g->last_id.seq));
        W(dice__rdb_write_len(write, wctx, (uint64_t)g->entries_read));
        W(dice__rdb_write_len(write, wctx, g->pel.n));
        for (size_t j = 0; j < g->pel.n; j++) {
            uint8_t k[16];
            put_sid(k, &g->pel.v[j]->id);
            W(write(wctx, k, 16));
            W(write_ms(write, wctx, g->pel.v[j]->delivery_time));
            W(dice__rdb_write_len(write, wctx, g->pel.v[j]->delivery_count));
        }
        W(dice__rdb_write_len(write, wctx, g->nconsumers));
        for (size_t j = 0; j < g->nconsumers; j++) {
            const dice__sconsumer *c = g->consumers[j];
            W(dice__rdb_write_string(write, wctx, c->name, c->nlen));
            W(write_ms(write, wctx, c->seen_time));
            W(dice__rdb_write_len(write, wctx, c->pel.n));
            for (size_t k = 0; k < c->pel.n; k++) {
                uint8_t b[16];
                put_sid(b, &c->pel.v[k]->id);
                W(write(wctx, b, 16));
            }
        }
    }
#undef W
    return 0;
}

/* An element that must be an integer. */
static int need_int(const unsigned char *p, int64_t *v) {
    long long x;
    uint32_t l;
    if (!p || dice__lp_get(p, &l, &x) != NULL)
        return -1;
    *v = x;
    return 0;
}

/* Walk a node from outside (already dice__lp_validate'd): the master
 * entry, every entry's shape and lp-count, IDs increasing and above
 * *prev, counts matching the master's. Adds the live entries to *live;
 * *prev gets the node's last ID. 0 or -1. */
static int node_check(unsigned char *lp, const dice__sid *master,
                      dice__sid *prev, bool *have_prev, uint64_t *live) {
    int64_t cnt, del, mnf, v;
    unsigned char *p = dice__lp_first(lp);
    if (need_int(p, &cnt) < 0 || cnt < 0)
        return -1;
    p = dice__lp_next(lp, p);
    if (need_int(p, &del) < 0 || del < 0)
        return -1;
    p = dice__lp_next(lp, p);
    if (need_int(p, &mnf) < 0 || mnf <= 0)
        return -1;
    p = dice__lp_next(lp, p);
    for (int64_t i = 0; i < mnf; i++) {
        if (!p)
            return -1;
        p = dice__lp_next(lp, p);
    }
    if (need_int(p, &v) < 0 || v != 0)
        return -1;
    p = dice__lp_next(lp, p);
    int64_t nlive = 0, ndel = 0;
    if (!p)
        return -1; /* a node holds at least one entry */
    while (p) {
        int64_t flags, msd, seqd, nf, lpc;
        if (need_int(p, &flags) < 0 || flags < 0 || flags > 3)
            return -1;
        p = dice__lp_next(lp, p);
        if (need_int(p, &msd) < 0)
            return -1;
        p = dice__lp_next(lp, p);
        if (need_int(p, &seqd) < 0)
            return -1;
        p = dice__lp_next(lp, p);
        int64_t elems;
        if (flags & DICE__SFLAG_SAMEFIELDS) {
            nf = mnf;
            elems = mnf;
        } else {
            if (need_int(p, &nf) < 0 || nf <= 0 || nf > (1ll << 30))
                return -1;
            p = dice__lp_next(lp, p);
            elems = nf * 2;
        }
        for (int64_t i = 0; i < elems; i++) {
            if (!p)
                return -1;
            p = dice__lp_next(lp, p);
        }
        if (need_int(p, &lpc) < 0)
            return -1;
        int64_t want = nf + 3;
        if (!(flags & DICE__SFLAG_SAMEFIELDS))
            want += nf + 1;
        if (lpc != want)
            return -1;
        p = dice__lp_next(lp, p);
        dice__sid id = {master->ms + (uint64_t)msd,
                        master->seq + (uint64_t)seqd};
        if (*have_prev && dice__sid_cmp(&id, prev) <= 0)
            return -1;
        if (!*have_prev && dice__sid_cmp(&id, master) < 0)
            return -1;
        *prev = id;
        *have_prev = true;
        if (flags & DICE__SFLAG_DELETED)
            ndel++;
        else
            nlive++;
    }
    if (nlive != cnt || ndel != del)
        return -1;
    *live += (uint64_t)nlive;
    return 0;
}

static int in_sid(dice__rdb_in *in, dice__sid *id) {
    if (in->len - in->pos < 16)
        return DICE_EAGAIN;
    id->ms = get_be64(in->p + in->pos);
    id->seq = get_be64(in->p + in->pos + 8);
    in->pos += 16;
    return 0;
}

static int in_ms(dice__rdb_in *in, int64_t *t) {
    if (in->len - in->pos < 8)
        return DICE_EAGAIN;
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--)
        u = (u << 8) | in->p[in->pos + i];
    *t = (int64_t)u;
    in->pos += 8;
    return 0;
}

static int in_lensid(dice__rdb_in *in, dice__sid *id) {
    int rc = dice__rdb_in_len(in, &id->ms);
    if (rc == 0)
        rc = dice__rdb_in_len(in, &id->seq);
    return rc;
}

/* Longest name or listpack a payload may carry. */
#define BLOB_MAX ((size_t)1 << 31)

static int stream_deserialize(void *ctx, unsigned format, const void *data,
                              size_t len, size_t *used, void **obj) {
    (void)ctx;
    if (format != DICE__RDB_TYPE_STREAM_LISTPACKS_2)
        return DICE_EINVAL;
    dice__rdb_in in = {data, len, 0};
    dice__stream *s = dice__stream_new();
    if (!s)
        return DICE_ENOMEM;
    int rc;
    uint64_t nn, v;
    char nb[24], *owned = NULL;
    const char *str;
    size_t sl;
#define R(x)                                                                   \
    do {                                                                       \
        if ((rc = (x)) < 0)                                                    \
            goto fail;                                                         \
    } while (0)
#define BAD()                                                                  \
    do {                                                                       \
        rc = DICE_EPROTO;                                                      \
        goto fail;                                                             \
    } while (0)
    R(dice__rdb_in_len(&in, &nn));
    dice__sid prev = {0, 0};
    bool have_prev = false;
    uint64_t live = 0;
    for (uint64_t i = 0; i < nn; i++) {
        R(dice__rdb_in_string(&in, 16, nb, &owned, &str, &sl));
        if (sl != 16) {
            free(owned);
            owned = NULL;
            BAD();
        }
        dice__sid master = {get_be64((const uint8_t *)str),
                            get_be64((const uint8_t *)str + 8)};
        free(owned);
        owned = NULL;
        if (s->nnodes &&
            dice__sid_cmp(&master, &node_at(s, s->nnodes - 1)->master) <= 0)
            BAD();
        R(dice__rdb_in_string(&in, BLOB_MAX, nb, &owned, &str, &sl));
        if (dice__lp_validate((const unsigned char *)str, sl, NULL, NULL,
                              NULL) < 0) {
            free(owned);
            owned = NULL;
            BAD();
        }
        unsigned char *lp = dice__lp_from_bytes((const unsigned char *)str, sl);
        free(owned);
        owned = NULL;
        if (!lp) {
            rc = DICE_ENOMEM;
            goto fail;
        }
        if (node_check(lp, &master, &prev, &have_prev, &live) < 0) {
            dice__lp_free(lp);
            BAD();
        }
        if (nodes_push(s, &master, lp) < 0) {
            dice__lp_free(lp);
            rc = DICE_ENOMEM;
            goto fail;
        }
    }
    R(dice__rdb_in_len(&in, &s->length));
    if (s->length != live)
        BAD();
    R(in_lensid(&in, &s->last_id));
    R(in_lensid(&in, &s->first_id));
    R(in_lensid(&in, &s->max_deleted));
    R(dice__rdb_in_len(&in, &s->entries_added));
    if (have_prev && dice__sid_cmp(&prev, &s->last_id) > 0)
        BAD();
    if (s->entries_added < s->length)
        BAD();
    R(dice__rdb_in_len(&in, &v));
    for (uint64_t i = 0; i < v; i++) {
        R(dice__rdb_in_string(&in, BLOB_MAX, nb, &owned, &str, &sl));
        dice__sid lid;
        rc = in_lensid(&in, &lid);
        uint64_t er = 0;
        if (rc == 0)
            rc = dice__rdb_in_len(&in, &er);
        if (rc < 0) {
            free(owned);
            owned = NULL;
            goto fail;
        }
        bool exists;
        dice__sgroup *g =
            dice__stream_group_add(s, str, sl, &lid, (int64_t)er, &exists);
        free(owned);
        owned = NULL;
        if (!g) {
            rc = exists ? DICE_EPROTO : DICE_ENOMEM;
            goto fail;
        }
        uint64_t np;
        R(dice__rdb_in_len(&in, &np));
        for (uint64_t j = 0; j < np; j++) {
            dice__sid id;
            int64_t t;
            uint64_t dc;
            R(in_sid(&in, &id));
            R(in_ms(&in, &t));
            R(dice__rdb_in_len(&in, &dc));
            if (g->pel.n &&
                dice__sid_cmp(&id, &g->pel.v[g->pel.n - 1]->id) <= 0)
                BAD();
            dice__snack *n = malloc(sizeof(*n));
            if (!n || dice__spel_insert_at(&g->pel, g->pel.n, n) < 0) {
                free(n);
                rc = DICE_ENOMEM;
                goto fail;
            }
            *n = (dice__snack){id, t, dc, NULL};
        }
        uint64_t nc;
        R(dice__rdb_in_len(&in, &nc));
        for (uint64_t j = 0; j < nc; j++) {
            R(dice__rdb_in_string(&in, BLOB_MAX, nb, &owned, &str, &sl));
            bool created;
            dice__sconsumer *c =
                dice__group_consumer_add(g, str, sl, 0, &created);
            free(owned);
            owned = NULL;
            if (!c) {
                rc = DICE_ENOMEM;
                goto fail;
            }
            if (!created)
                BAD();
            R(in_ms(&in, &c->seen_time));
            uint64_t cp;
            R(dice__rdb_in_len(&in, &cp));
            for (uint64_t k = 0; k < cp; k++) {
                dice__sid id;
                R(in_sid(&in, &id));
                bool found;
                size_t at = dice__spel_find(&g->pel, &id, &found);
                if (!found || g->pel.v[at]->consumer)
                    BAD();
                if (c->pel.n &&
                    dice__sid_cmp(&id, &c->pel.v[c->pel.n - 1]->id) <= 0)
                    BAD();
                if (dice__spel_insert_at(&c->pel, c->pel.n, g->pel.v[at]) < 0) {
                    rc = DICE_ENOMEM;
                    goto fail;
                }
                g->pel.v[at]->consumer = c;
            }
        }
        for (size_t j = 0; j < g->pel.n; j++)
            if (!g->pel.v[j]->consumer)
                BAD();
    }
#undef R
#undef BAD
    *used = in.pos;
    *obj = s;
    return 0;
fail:
    dice__stream_free(s);
    return rc;
}

const dice_type_methods dice__stream_methods = {
    .version = DICE_TYPE_METHODS_VERSION,
    .name = "stream",
    .encoding_names = stream_encodings,
    .encoding = stream_encoding,
    .free = stream_free_m,
    .copy = stream_copy_m,
    .mem_usage = stream_mem_m,
    .emit_commands = stream_emit,
    .serialize = stream_serialize,
    .deserialize = stream_deserialize,
    .digest = stream_digest,
    .free_effort = stream_effort,
};
