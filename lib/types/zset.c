/* The sorted set type: see lib/types/zset.h for the encodings.
 *
 * The order index of the big encoding is a counted B+ tree. Leaves hold
 * up to LEAF_CAP 6-byte pointers to member table entries ([varint len]
 * [member][8-byte score], lib/types/strset.c), in (score, member) order,
 * and are chained both ways for range walks. Inner nodes hold, per child,
 * the child's member count (ranks: sum the counts left of the path), its
 * smallest entry and that entry's score (so descending compares scores
 * without touching entries, and members only on equal scores). A node
 * splits in two when full and merges with, or borrows from, a neighbour
 * under a quarter full. Entries never move while they are members (the
 * member table's promise), so the tree can point at them and a score
 * update is a delete + insert in the tree with the entry's double changed
 * in place.
 *
 * Why not Redis's skiplist: a skiplist node carries the member's sds, the
 * score, a backward pointer and 1.33 levels of (forward, span) on average:
 * ~50 B per member plus the dict's entry, 117 B per member in all. Here a
 * member costs its member table entry (24 B slot for "member:N" and its
 * score) plus ~8 B of the table's slots at half load, plus 6 B / leaf fill
 * (~9 B at the 2/3 fill of random inserts) of tree. */
#include "types/zset.h"

#include "core/core_internal.h"
#include "types/rdb.h"
#include "types/types_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- member table entries ------------------------------------------------
 */

static inline const char *ent_key(const uint8_t *e, size_t *kl) {
    return (const char *)e + varint_get(e, kl);
}

static inline void ent_set_score(uint8_t *e, double d) {
    size_t kl;
    size_t o = varint_get(e, &kl);
    memcpy(e + o + kl, &d, sizeof(d));
}

static inline double ent_score(const uint8_t *e) {
    size_t kl;
    size_t o = varint_get(e, &kl);
    double d;
    memcpy(&d, e + o + kl, sizeof(d));
    return d;
}

/* sdscmp's order: bytes, then the shorter first. */
static inline int lexcmp(const char *a, size_t an, const char *b, size_t bn) {
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c)
        return c;
    return an < bn ? -1 : an > bn ? 1 : 0;
}

/* ---- the order index ----------------------------------------------------- */

#define LEAF_CAP 80
#define INNER_CAP 32
#define LEAF_MIN (LEAF_CAP / 4)
#define INNER_MIN (INNER_CAP / 4)
#define MAX_HEIGHT 24

typedef struct leaf {
    uint16_t n;
    struct leaf *prev, *next;
    uint8_t e[LEAF_CAP][6];
} leaf;

typedef struct inner {
    uint16_t n;
    uint64_t cnt[INNER_CAP];
    void *child[INNER_CAP];
    const uint8_t *sep[INNER_CAP]; /* the child's smallest entry */
    double sc[INNER_CAP];          /* and its score */
} inner;

typedef struct btree {
    void *root; /* a leaf when height is 0 */
    unsigned height;
    leaf *head, *tail;
} btree;

static inline const uint8_t *lget(const leaf *l, int i) {
    uint32_t lo;
    uint16_t hi;
    memcpy(&lo, l->e[i], 4);
    memcpy(&hi, l->e[i] + 4, 2);
    return (const uint8_t *)(uintptr_t)((uint64_t)hi << 32 | lo);
}

static inline void lset(leaf *l, int i, const uint8_t *p) {
    uint64_t v = (uint64_t)(uintptr_t)p;
    uint32_t lo = (uint32_t)v;
    uint16_t hi = (uint16_t)(v >> 32);
    memcpy(l->e[i], &lo, 4);
    memcpy(l->e[i] + 4, &hi, 2);
}

/* A predicate true for a prefix of the order ("before the bound"). */
typedef int (*bpred)(const void *ctx, double score, const uint8_t *e);

/* How many members satisfy p: O(log n). */
static size_t bt_count(const btree *t, bpred p, const void *ctx) {
    const void *node = t->root;
    size_t rank = 0;
    for (unsigned h = t->height; h > 0; h--) {
        const inner *in = node;
        int lo = 0, hi = in->n;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (p(ctx, in->sc[mid], in->sep[mid]))
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == 0)
            return rank;
        for (int j = 0; j < lo - 1; j++)
            rank += in->cnt[j];
        node = in->child[lo - 1];
    }
    const leaf *l = node;
    int lo = 0, hi = l->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        const uint8_t *e = lget(l, mid);
        if (p(ctx, ent_score(e), e))
            lo = mid + 1;
        else
            hi = mid;
    }
    return rank + (size_t)lo;
}

static void node_min(const void *node, unsigned h, const uint8_t **e,
                     double *sc) {
    if (h == 0) {
        *e = lget(node, 0);
        *sc = ent_score(*e);
    } else {
        *e = ((const inner *)node)->sep[0];
        *sc = ((const inner *)node)->sc[0];
    }
}

static size_t node_count(const void *node, unsigned h) {
    if (h == 0)
        return ((const leaf *)node)->n;
    const inner *in = node;
    size_t s = 0;
    for (int i = 0; i < in->n; i++)
        s += in->cnt[i];
    return s;
}

static void refresh_child(inner *in, int i, unsigned childh) {
    node_min(in->child[i], childh, &in->sep[i], &in->sc[i]);
}

/* The leaf and index of rank r (< members). */
static leaf *bt_seek(const btree *t, size_t r, int *idx) {
    void *node = t->root;
    for (unsigned h = t->height; h > 0; h--) {
        inner *in = node;
        int i = 0;
        while (r >= in->cnt[i]) {
            r -= in->cnt[i];
            i++;
        }
        node = in->child[i];
    }
    *idx = (int)r;
    return node;
}

typedef struct path {
    inner *node[MAX_HEIGHT];
    int idx[MAX_HEIGHT];
} path;

/* Insert entry e at rank r. Returns 0 or DICE_ENOMEM (the tree
 * unchanged). */
static int bt_insert(btree *t, size_t r, const uint8_t *e) {
    if (!t->root) {
        leaf *l = calloc(1, sizeof(leaf));
        if (!l)
            return DICE_ENOMEM;
        t->root = t->head = t->tail = l;
        t->height = 0;
    }
    path pa;
    void *node = t->root;
    size_t rr = r;
    for (unsigned h = t->height, d = 0; h > 0; h--, d++) {
        inner *in = node;
        int i = 0;
        while (i < in->n - 1 && rr > in->cnt[i]) {
            rr -= in->cnt[i];
            i++;
        }
        /* rr == cnt[i]: the end of child i, unless a next child exists
         * and this is the end of the tree's range at i (append into i). */
        pa.node[d] = in;
        pa.idx[d] = i;
        node = in->child[i];
    }
    leaf *l = node;
    int pos = (int)rr;
    unsigned depth = t->height;
    /* Nodes a split needs, allocated first so a failure changes nothing. */
    leaf *nl = NULL;
    inner *ni[MAX_HEIGHT + 1];
    int nni = 0;
    if (l->n == LEAF_CAP) {
        nl = calloc(1, sizeof(leaf));
        if (!nl)
            return DICE_ENOMEM;
        int d = (int)depth - 1;
        while (d >= 0 && pa.node[d]->n == INNER_CAP) {
            d--;
            nni++;
        }
        if (d < 0)
            nni++; /* a new root */
        for (int k = 0; k < nni; k++) {
            ni[k] = calloc(1, sizeof(inner));
            if (!ni[k]) {
                while (k-- > 0)
                    free(ni[k]);
                free(nl);
                return DICE_ENOMEM;
            }
        }
    }
    for (unsigned d = 0; d < depth; d++)
        pa.node[d]->cnt[pa.idx[d]]++;
    if (!nl) {
        memmove(l->e[pos + 1], l->e[pos], (size_t)(l->n - pos) * 6);
        lset(l, pos, e);
        l->n++;
        for (int d = (int)depth - 1; d >= 0 && pos == 0; d--) {
            refresh_child(pa.node[d], pa.idx[d], depth - 1 - (unsigned)d);
            pos = pa.idx[d];
        }
        return 0;
    }
    /* Split the leaf: an append at the tree's end leaves the old one full
     * (sequential loads pack leaves), otherwise halves. */
    int keep = (l == t->tail && pos == l->n) ? LEAF_CAP : LEAF_CAP / 2;
    uint8_t tmp[LEAF_CAP + 1][6];
    memcpy(tmp, l->e, (size_t)pos * 6);
    {
        uint64_t v = (uint64_t)(uintptr_t)e;
        uint32_t lo = (uint32_t)v;
        uint16_t hi = (uint16_t)(v >> 32);
        memcpy(tmp[pos], &lo, 4);
        memcpy(tmp[pos] + 4, &hi, 2);
    }
    memcpy(tmp[pos + 1], l->e[pos], (size_t)(l->n - pos) * 6);
    int total = l->n + 1;
    memcpy(l->e, tmp, (size_t)keep * 6);
    l->n = (uint16_t)keep;
    memcpy(nl->e, tmp[keep], (size_t)(total - keep) * 6);
    nl->n = (uint16_t)(total - keep);
    nl->prev = l;
    nl->next = l->next;
    if (l->next)
        l->next->prev = nl;
    else
        t->tail = nl;
    l->next = nl;
    /* Hand the new node up: at each level insert (sibling) after the
     * path's child, splitting full inner nodes. */
    void *left = l, *right = nl;
    unsigned childh = 0;
    int k = 0;
    for (int d = (int)depth - 1;; d--, childh++) {
        if (d < 0) {
            inner *root = ni[k++];
            root->n = 2;
            root->child[0] = left;
            root->child[1] = right;
            root->cnt[0] = node_count(left, childh);
            root->cnt[1] = node_count(right, childh);
            refresh_child(root, 0, childh);
            refresh_child(root, 1, childh);
            t->root = root;
            t->height++;
            return 0;
        }
        inner *in = pa.node[d];
        int i = pa.idx[d];
        in->cnt[i] = node_count(left, childh);
        refresh_child(in, i, childh);
        if (in->n < INNER_CAP) {
            int m = in->n - (i + 1);
            memmove(&in->cnt[i + 2], &in->cnt[i + 1], (size_t)m * 8);
            memmove(&in->child[i + 2], &in->child[i + 1], (size_t)m * 8);
            memmove(&in->sep[i + 2], &in->sep[i + 1], (size_t)m * 8);
            memmove(&in->sc[i + 2], &in->sc[i + 1], (size_t)m * 8);
            in->n++;
            in->child[i + 1] = right;
            in->cnt[i + 1] = node_count(right, childh);
            refresh_child(in, i + 1, childh);
            /* Mins above change only through index-0 chains; refresh the
             * path (cheap: one line per level). */
            for (int dd = d; dd > 0; dd--)
                refresh_child(pa.node[dd - 1], pa.idx[dd - 1],
                              depth - (unsigned)dd);
            return 0;
        }
        /* Split a full inner node: INNER_CAP + 1 children in two. */
        inner *sib = ni[k++];
        void *ch[INNER_CAP + 1];
        int at = 0;
        for (int j = 0; j < in->n; j++) {
            ch[at++] = in->child[j];
            if (j == i)
                ch[at++] = right;
        }
        int half = (INNER_CAP + 1) / 2;
        in->n = (uint16_t)half;
        sib->n = (uint16_t)(INNER_CAP + 1 - half);
        for (int j = 0; j < in->n; j++) {
            in->child[j] = ch[j];
            in->cnt[j] = node_count(ch[j], childh);
            refresh_child(in, j, childh);
        }
        for (int j = 0; j < sib->n; j++) {
            sib->child[j] = ch[half + j];
            sib->cnt[j] = node_count(ch[half + j], childh);
            refresh_child(sib, j, childh);
        }
        left = in;
        right = sib;
    }
}

/* Delete the member at rank r; returns its entry. */
static const uint8_t *bt_delete(btree *t, size_t r) {
    path pa;
    void *node = t->root;
    unsigned depth = t->height;
    for (unsigned d = 0; d < depth; d++) {
        inner *in = node;
        int i = 0;
        while (r >= in->cnt[i]) {
            r -= in->cnt[i];
            i++;
        }
        pa.node[d] = in;
        pa.idx[d] = i;
        in->cnt[i]--;
        node = in->child[i];
    }
    leaf *l = node;
    int pos = (int)r;
    const uint8_t *gone = lget(l, pos);
    memmove(l->e[pos], l->e[pos + 1], (size_t)(l->n - pos - 1) * 6);
    l->n--;
    if (depth == 0) {
        if (l->n == 0) {
            free(l);
            t->root = t->head = t->tail = NULL;
        }
        return gone;
    }
    /* Rebalance bottom-up: a child under its minimum merges with or
     * borrows from a neighbour in the same parent. */
    void *cur = l;
    for (int d = (int)depth - 1; d >= 0; d--) {
        inner *in = pa.node[d];
        int i = pa.idx[d];
        unsigned ch = depth - 1 - (unsigned)d;
        size_t n = ch == 0 ? ((leaf *)cur)->n : ((inner *)cur)->n;
        size_t minn = ch == 0 ? LEAF_MIN : INNER_MIN;
        size_t cap = ch == 0 ? LEAF_CAP : INNER_CAP;
        if (n == 0 && ch == 0 && in->n > 1) {
            /* An emptied leaf simply goes. */
            leaf *x = cur;
            if (x->prev)
                x->prev->next = x->next;
            else
                t->head = x->next;
            if (x->next)
                x->next->prev = x->prev;
            else
                t->tail = x->prev;
            free(x);
            int m = in->n - i - 1;
            memmove(&in->cnt[i], &in->cnt[i + 1], (size_t)m * 8);
            memmove(&in->child[i], &in->child[i + 1], (size_t)m * 8);
            memmove(&in->sep[i], &in->sep[i + 1], (size_t)m * 8);
            memmove(&in->sc[i], &in->sc[i + 1], (size_t)m * 8);
            in->n--;
        } else if (n < minn && in->n > 1) {
            int li = i > 0 ? i - 1 : i; /* merge/borrow li and li + 1 */
            void *a = in->child[li], *b = in->child[li + 1];
            size_t an = ch == 0 ? ((leaf *)a)->n : ((inner *)a)->n;
            size_t bn = ch == 0 ? ((leaf *)b)->n : ((inner *)b)->n;
            size_t tot = an + bn;
            size_t want_a = tot <= cap ? tot : tot / 2;
            if (ch == 0) {
                leaf *la = a, *lb = b;
                if (want_a > an) {
                    size_t mv = want_a - an;
                    memcpy(la->e[an], lb->e[0], mv * 6);
                    memmove(lb->e[0], lb->e[mv], (bn - mv) * 6);
                } else if (want_a < an) {
                    size_t mv = an - want_a;
                    memmove(lb->e[mv], lb->e[0], bn * 6);
                    memcpy(lb->e[0], la->e[want_a], mv * 6);
                }
                la->n = (uint16_t)want_a;
                lb->n = (uint16_t)(tot - want_a);
            } else {
                inner *ia = a, *ib = b;
                if (want_a > an) {
                    size_t mv = want_a - an;
                    memcpy(&ia->cnt[an], &ib->cnt[0], mv * 8);
                    memcpy(&ia->child[an], &ib->child[0], mv * 8);
                    memcpy(&ia->sep[an], &ib->sep[0], mv * 8);
                    memcpy(&ia->sc[an], &ib->sc[0], mv * 8);
                    size_t rest = bn - mv;
                    memmove(&ib->cnt[0], &ib->cnt[mv], rest * 8);
                    memmove(&ib->child[0], &ib->child[mv], rest * 8);
                    memmove(&ib->sep[0], &ib->sep[mv], rest * 8);
                    memmove(&ib->sc[0], &ib->sc[mv], rest * 8);
                } else if (want_a < an) {
                    size_t mv = an - want_a;
                    memmove(&ib->cnt[mv], &ib->cnt[0], bn * 8);
                    memmove(&ib->child[mv], &ib->child[0], bn * 8);
                    memmove(&ib->sep[mv], &ib->sep[0], bn * 8);
                    memmove(&ib->sc[mv], &ib->sc[0], bn * 8);
                    memcpy(&ib->cnt[0], &ia->cnt[want_a], mv * 8);
                    memcpy(&ib->child[0], &ia->child[want_a], mv * 8);
                    memcpy(&ib->sep[0], &ia->sep[want_a], mv * 8);
                    memcpy(&ib->sc[0], &ia->sc[want_a], mv * 8);
                }
                ia->n = (uint16_t)want_a;
                ib->n = (uint16_t)(tot - want_a);
            }
            if (tot - want_a == 0) {
                /* Merged: b goes. */
                if (ch == 0) {
                    leaf *lb = b;
                    ((leaf *)a)->next = lb->next;
                    if (lb->next)
                        lb->next->prev = a;
                    else
                        t->tail = a;
                }
                free(b);
                in->cnt[li] = node_count(a, ch);
                refresh_child(in, li, ch);
                int m = in->n - (li + 1) - 1;
                memmove(&in->cnt[li + 1], &in->cnt[li + 2], (size_t)m * 8);
                memmove(&in->child[li + 1], &in->child[li + 2], (size_t)m * 8);
                memmove(&in->sep[li + 1], &in->sep[li + 2], (size_t)m * 8);
                memmove(&in->sc[li + 1], &in->sc[li + 2], (size_t)m * 8);
                in->n--;
            } else {
                in->cnt[li] = node_count(a, ch);
                in->cnt[li + 1] = node_count(b, ch);
                refresh_child(in, li, ch);
                refresh_child(in, li + 1, ch);
            }
        } else if (n > 0) {
            refresh_child(in, i, ch);
        }
        cur = in;
    }
    /* A root with one child hands over to it. */
    while (t->height > 0 && ((inner *)t->root)->n == 1) {
        inner *old = t->root;
        t->root = old->child[0];
        t->height--;
        free(old);
    }
    if (t->height == 0 && ((leaf *)t->root)->n == 0) {
        free(t->root);
        t->root = t->head = t->tail = NULL;
    }
    return gone;
}

static void bt_free(btree *t) {
    if (!t->root)
        return;
    /* Leaves by their chain, inner nodes level by level from the root. */
    for (leaf *l = t->head, *nx; l; l = nx) {
        nx = l->next;
        free(l);
    }
    if (t->height > 0) {
        /* Walk inner levels: free children lists recursively, bounded by
         * the height (~5 for a billion members). */
        inner *stack[MAX_HEIGHT * INNER_CAP];
        unsigned hs[MAX_HEIGHT * INNER_CAP];
        int sp = 0;
        stack[sp] = t->root;
        hs[sp++] = t->height;
        while (sp > 0) {
            inner *in = stack[--sp];
            unsigned h = hs[sp];
            if (h > 1)
                for (int i = 0; i < in->n; i++) {
                    stack[sp] = in->child[i];
                    hs[sp++] = h - 1;
                }
            free(in);
        }
    }
    memset(t, 0, sizeof(*t));
}

static size_t bt_mem(const btree *t) {
    size_t leaves = 0, inners = 0;
    for (leaf *l = t->head; l; l = l->next)
        leaves++;
    /* Inner nodes: about leaves / (average fan-out); counted exactly by
     * walking would cost O(n / LEAF_CAP) again, so estimate. */
    size_t lv = leaves;
    for (unsigned h = t->height; h > 0; h--) {
        lv = (lv + INNER_CAP / 2 - 1) / (INNER_CAP / 2 > 0 ? INNER_CAP / 2 : 1);
        inners += lv ? lv : 1;
    }
    return leaves * sizeof(leaf) + inners * sizeof(inner);
}

/* ---- the object ---------------------------------------------------------- */

struct dice__zset {
    int enc;
    unsigned char *lp; /* listpack */
    dice__mtab *map;   /* big */
    btree bt;
};

/* The (score, member) order as a bound predicate. */
typedef struct keybound {
    double score;
    const char *m;
    size_t n;
} keybound;

static int before_key(const void *ctx, double sc, const uint8_t *e) {
    const keybound *k = ctx;
    if (sc != k->score)
        return sc < k->score;
    size_t kl;
    const char *kk = ent_key(e, &kl);
    return lexcmp(kk, kl, k->m, k->n) < 0;
}

dice__zset *dice__zs_new(int big) {
    dice__zset *z = calloc(1, sizeof(*z));
    if (!z)
        return NULL;
    if (big) {
        z->enc = DICE__ZS_BIG;
        z->map = malloc(sizeof(*z->map));
        if (!z->map) {
            free(z);
            return NULL;
        }
        dice__mt_init(z->map, DICE__MT_DOUBLE);
    } else {
        z->lp = dice__lp_new(0);
        if (!z->lp) {
            free(z);
            return NULL;
        }
    }
    return z;
}

void dice__zs_free(dice__zset *z) {
    if (!z)
        return;
    if (z->enc == DICE__ZS_LISTPACK) {
        dice__lp_free(z->lp);
    } else {
        bt_free(&z->bt);
        dice__mt_free(z->map);
        free(z->map);
    }
    free(z);
}

size_t dice__zs_len(const dice__zset *z) {
    if (z->enc == DICE__ZS_LISTPACK)
        return dice__lp_length(z->lp) / 2;
    return dice__mt_len(z->map);
}

int dice__zs_encoding(const dice__zset *z) {
    return z->enc;
}

size_t dice__zs_mem(const dice__zset *z) {
    if (z->enc == DICE__ZS_LISTPACK)
        return sizeof(*z) + dice__lp_alloc_size(z->lp);
    return sizeof(*z) + dice__mt_mem(z->map, 0) + bt_mem(&z->bt);
}

/* ---- listpack helpers ---------------------------------------------------- */

static double lp_score(const unsigned char *p) {
    uint32_t len;
    long long iv;
    const unsigned char *s = dice__lp_get(p, &len, &iv);
    if (!s)
        return (double)iv;
    char buf[DICE__STR2D_MAX + 1];
    if (len > DICE__STR2D_MAX)
        len = DICE__STR2D_MAX;
    memcpy(buf, s, len);
    buf[len] = 0;
    return strtod(buf, NULL);
}

/* A score as a listpack holds it: Redis's d2string, which writes an
 * integral value within +-2^52 as an integer (so -0.0 becomes "0") and
 * anything else as "%.17g". */
static size_t lp_score_text(char *buf, double d) {
    if (d > -4503599627370495.0 && d < 4503599627370496.0 &&
        d == (double)(long long)d)
        return dice__fmt_ll(buf, (long long)d);
    return dice__fmt_double(buf, d);
}

static const char *lp_member(const unsigned char *p, size_t *n,
                             unsigned char *buf) {
    uint32_t len;
    const unsigned char *s = dice__lp_get_str(p, &len, buf);
    *n = len;
    return (const char *)s;
}

static unsigned char *lp_find(unsigned char *lp, const char *m, size_t n) {
    unsigned char *p = dice__lp_first(lp);
    if (!p)
        return NULL;
    return dice__lp_find(lp, p, (const unsigned char *)m, (uint32_t)n, 1);
}

/* Insert (m, score) in order into *lpp (which follows the listpack if it
 * moves). Returns 0 or DICE_ENOMEM (*lpp unchanged in content). */
static int lp_insert(unsigned char **lpp, const char *m, size_t n,
                     double score) {
    unsigned char *lp = *lpp;
    char sb[DICE_FMT_DOUBLE_MAX];
    size_t sl = lp_score_text(sb, score);
    unsigned char buf[DICE__LP_INTBUF];
    unsigned char *p = dice__lp_first(lp);
    while (p) {
        unsigned char *sp = dice__lp_next(lp, p);
        double s = lp_score(sp);
        size_t pn;
        const char *pm = lp_member(p, &pn, buf);
        if (s > score || (s == score && lexcmp(pm, pn, m, n) > 0))
            break;
        p = dice__lp_next(lp, sp);
    }
    unsigned char *np, *r;
    if (p)
        r = dice__lp_insert_str(lp, p, DICE__LP_BEFORE,
                                (const unsigned char *)m, (uint32_t)n, &np);
    else
        r = dice__lp_append(lp, (const unsigned char *)m, (uint32_t)n);
    if (!r)
        return DICE_ENOMEM;
    if (!p)
        np = dice__lp_last(r);
    *lpp = r;
    unsigned char *r2 = dice__lp_insert_str(
        r, np, DICE__LP_AFTER, (const unsigned char *)sb, (uint32_t)sl, NULL);
    if (!r2) {
        *lpp = dice__lp_delete(r, np, NULL);
        return DICE_ENOMEM;
    }
    *lpp = r2;
    return 0;
}

/* ---- big encoding helpers ------------------------------------------------ */

static int big_insert(dice__zset *z, const char *m, size_t n, double score) {
    void *e;
    int rc = dice__mt_add(z->map, m, n, &score, sizeof(score), 1, &e);
    if (rc < 0)
        return rc;
    keybound k = {score, m, n};
    size_t r = z->bt.root ? bt_count(&z->bt, before_key, &k) : 0;
    if (bt_insert(&z->bt, r, e) < 0) {
        dice__mt_del(z->map, m, n);
        return DICE_ENOMEM;
    }
    return 0;
}

static size_t big_rank_of(dice__zset *z, const char *m, size_t n, double sc) {
    keybound k = {sc, m, n};
    return bt_count(&z->bt, before_key, &k);
}

/* Convert a listpack set to the big encoding. */
static int to_big(dice__zset *z) {
    dice__zset *b = dice__zs_new(1);
    if (!b)
        return DICE_ENOMEM;
    unsigned char buf[DICE__LP_INTBUF];
    for (unsigned char *p = dice__lp_first(z->lp); p;) {
        unsigned char *sp = dice__lp_next(z->lp, p);
        size_t n;
        const char *m = lp_member(p, &n, buf);
        double s = lp_score(sp);
        void *e;
        if (dice__mt_add(b->map, m, n, &s, sizeof(s), 1, &e) < 0 ||
            bt_insert(&b->bt, dice__mt_len(b->map) - 1, e) < 0) {
            dice__zs_free(b);
            return DICE_ENOMEM;
        }
        p = dice__lp_next(z->lp, sp);
    }
    dice__lp_free(z->lp);
    z->lp = NULL;
    z->enc = DICE__ZS_BIG;
    z->map = b->map;
    z->bt = b->bt;
    free(b);
    return 0;
}

/* ---- API ----------------------------------------------------------------- */

int dice__zs_score(dice__zset *z, const char *m, size_t n, double *score) {
    if (z->enc == DICE__ZS_LISTPACK) {
        unsigned char *p = lp_find(z->lp, m, n);
        if (!p)
            return 0;
        *score = lp_score(dice__lp_next(z->lp, p));
        return 1;
    }
    void *e = dice__mt_find(z->map, m, n);
    if (!e)
        return 0;
    *score = ent_score(e);
    return 1;
}

int dice__zs_add(dice__zset *z, const dice__enc_limits *l, double score,
                 const char *m, size_t n, int in, int *out, double *newscore) {
    int nx = in & DICE__ZADD_NX, xx = in & DICE__ZADD_XX;
    int gt = in & DICE__ZADD_GT, lt = in & DICE__ZADD_LT;
    *out = 0;
    double cur = 0;
    /* One lookup: the listpack position or the table entry serves the
       update below too. */
    unsigned char *lpp = NULL;
    void *e = NULL;
    if (z->enc == DICE__ZS_LISTPACK) {
        lpp = lp_find(z->lp, m, n);
        if (lpp)
            cur = lp_score(dice__lp_next(z->lp, lpp));
    } else {
        e = dice__mt_find(z->map, m, n);
        if (e)
            cur = ent_score(e);
    }
    if (lpp || e) {
        if (nx) {
            *out = DICE__ZADD_NOP;
            return 0;
        }
        if (in & DICE__ZADD_INCR) {
            score += cur;
            if (isnan(score)) {
                *out = DICE__ZADD_NAN;
                return 0;
            }
        }
        if ((lt && score >= cur) || (gt && score <= cur)) {
            *out = DICE__ZADD_NOP;
            return 0;
        }
        if (newscore)
            *newscore = score;
        if (score == cur)
            return 0;
        if (z->enc == DICE__ZS_LISTPACK) {
            z->lp = dice__lp_delete_range_at(z->lp, &lpp, 2);
            if (lp_insert(&z->lp, m, n, score) < 0) {
                lp_insert(&z->lp, m, n, cur); /* shrunk: room for it */
                return DICE_ENOMEM;
            }
        } else {
            size_t r = big_rank_of(z, m, n, cur);
            bt_delete(&z->bt, r);
            ent_set_score(e, score);
            keybound k = {score, m, n};
            size_t nr = z->bt.root ? bt_count(&z->bt, before_key, &k) : 0;
            if (bt_insert(&z->bt, nr, e) < 0) {
                /* Put it back where it was (a slot is free there now). */
                ent_set_score(e, cur);
                bt_insert(&z->bt, r, e);
                return DICE_ENOMEM;
            }
        }
        *out = DICE__ZADD_UPDATED;
        return 0;
    }
    if (xx) {
        *out = DICE__ZADD_NOP;
        return 0;
    }
    if (z->enc == DICE__ZS_LISTPACK) {
        if (dice__zs_len(z) + 1 > (size_t)l->zset_max_listpack_entries ||
            n > (size_t)l->zset_max_listpack_value ||
            !dice__lp_safe_to_add(z->lp, n)) {
            if (to_big(z) < 0)
                return DICE_ENOMEM;
        } else {
            if (lp_insert(&z->lp, m, n, score) < 0)
                return DICE_ENOMEM;
        }
    }
    if (z->enc == DICE__ZS_BIG && big_insert(z, m, n, score) < 0)
        return DICE_ENOMEM;
    *out = DICE__ZADD_ADDED;
    if (newscore)
        *newscore = score;
    return 0;
}

int dice__zs_del(dice__zset *z, const char *m, size_t n) {
    if (z->enc == DICE__ZS_LISTPACK) {
        unsigned char *p = lp_find(z->lp, m, n);
        if (!p)
            return 0;
        z->lp = dice__lp_delete_range_at(z->lp, &p, 2);
        return 1;
    }
    void *e = dice__mt_find(z->map, m, n);
    if (!e)
        return 0;
    bt_delete(&z->bt, big_rank_of(z, m, n, ent_score(e)));
    dice__mt_del(z->map, m, n);
    return 1;
}

long dice__zs_rank(dice__zset *z, const char *m, size_t n, int rev,
                   double *score) {
    size_t len = dice__zs_len(z);
    size_t r;
    double s;
    if (z->enc == DICE__ZS_LISTPACK) {
        unsigned char buf[DICE__LP_INTBUF];
        r = 0;
        unsigned char *p = dice__lp_first(z->lp);
        for (; p; r++) {
            unsigned char *sp = dice__lp_next(z->lp, p);
            size_t pn;
            const char *pm = lp_member(p, &pn, buf);
            if (pn == n && memcmp(pm, m, n) == 0) {
                s = lp_score(sp);
                break;
            }
            p = dice__lp_next(z->lp, sp);
        }
        if (!p)
            return -1;
    } else {
        void *e = dice__mt_find(z->map, m, n);
        if (!e)
            return -1;
        s = ent_score(e);
        r = big_rank_of(z, m, n, s);
    }
    if (score)
        *score = s;
    return (long)(rev ? len - 1 - r : r);
}

/* Range predicates. */
static int below_min(const void *ctx, double sc, const uint8_t *e) {
    (void)e;
    const dice__zs_srange *r = ctx;
    return r->minex ? sc <= r->min : sc < r->min;
}
static int upto_max(const void *ctx, double sc, const uint8_t *e) {
    (void)e;
    const dice__zs_srange *r = ctx;
    return r->maxex ? sc < r->max : sc <= r->max;
}
static int lex_below_min(const void *ctx, double sc, const uint8_t *e) {
    (void)sc;
    const dice__zs_lrange *r = ctx;
    if (r->mininf)
        return r->mininf > 0;
    size_t kl;
    const char *k = ent_key(e, &kl);
    int c = lexcmp(k, kl, r->min, r->minlen);
    return r->minex ? c <= 0 : c < 0;
}
static int lex_upto_max(const void *ctx, double sc, const uint8_t *e) {
    (void)sc;
    const dice__zs_lrange *r = ctx;
    if (r->maxinf)
        return r->maxinf > 0;
    size_t kl;
    const char *k = ent_key(e, &kl);
    int c = lexcmp(k, kl, r->max, r->maxlen);
    return r->maxex ? c < 0 : c <= 0;
}

/* A listpack walk counting the prefix a predicate holds for. The lex
 * predicates read the member through a fake entry. */
static size_t lp_count(unsigned char *lp, bpred p, const void *ctx, int lex) {
    size_t r = 0;
    unsigned char buf[DICE__LP_INTBUF];
    uint8_t ent[16 + 64];
    for (unsigned char *q = dice__lp_first(lp); q; r++) {
        unsigned char *sp = dice__lp_next(lp, q);
        double s = lp_score(sp);
        int ok;
        if (lex) {
            size_t n;
            const char *m = lp_member(q, &n, buf);
            uint8_t *e = n <= 64 ? ent : malloc(16 + n);
            if (!e)
                return r;
            size_t o = varint_put(e, n);
            memcpy(e + o, m, n);
            ok = p(ctx, s, e);
            if (e != ent)
                free(e);
        } else {
            ok = p(ctx, s, NULL);
        }
        if (!ok)
            break;
        q = dice__lp_next(lp, sp);
    }
    return r;
}

void dice__zs_score_ranks(dice__zset *z, const dice__zs_srange *r, size_t *lo,
                          size_t *hi) {
    if (z->enc == DICE__ZS_LISTPACK) {
        *lo = lp_count(z->lp, below_min, r, 0);
        *hi = lp_count(z->lp, upto_max, r, 0);
    } else {
        *lo = bt_count(&z->bt, below_min, r);
        *hi = bt_count(&z->bt, upto_max, r);
    }
}

void dice__zs_lex_ranks(dice__zset *z, const dice__zs_lrange *r, size_t *lo,
                        size_t *hi) {
    if (z->enc == DICE__ZS_LISTPACK) {
        *lo = lp_count(z->lp, lex_below_min, r, 1);
        *hi = lp_count(z->lp, lex_upto_max, r, 1);
    } else {
        *lo = bt_count(&z->bt, lex_below_min, r);
        *hi = bt_count(&z->bt, lex_upto_max, r);
    }
}

size_t dice__zs_del_ranks(dice__zset *z, size_t start, size_t end) {
    size_t n = end - start + 1;
    if (z->enc == DICE__ZS_LISTPACK) {
        z->lp = dice__lp_delete_range(z->lp, (long)(2 * start),
                                      (unsigned long)(2 * n));
        return n;
    }
    for (size_t i = 0; i < n; i++) {
        const uint8_t *e = bt_delete(&z->bt, start);
        size_t kl;
        const char *k = ent_key(e, &kl);
        dice__mt_del(z->map, k, kl);
    }
    return n;
}

void dice__zs_iter_init(dice__zs_iter *it, dice__zset *z, size_t rank,
                        int rev) {
    size_t len = dice__zs_len(z);
    it->z = z;
    it->rev = rev;
    it->left = rank < len ? len - rank : 0;
    it->p = NULL;
    it->leaf = NULL;
    if (!it->left)
        return;
    size_t asc = rev ? len - 1 - rank : rank;
    if (z->enc == DICE__ZS_LISTPACK)
        it->p = dice__lp_seek(z->lp, (long)(2 * asc));
    else
        it->leaf = bt_seek(&z->bt, asc, &it->idx);
}

int dice__zs_iter_next(dice__zs_iter *it, const char **m, size_t *n,
                       double *score) {
    if (!it->left)
        return 0;
    it->left--;
    dice__zset *z = it->z;
    if (z->enc == DICE__ZS_LISTPACK) {
        unsigned char *sp = dice__lp_next(z->lp, it->p);
        *m = lp_member(it->p, n, it->buf);
        *score = lp_score(sp);
        if (it->left)
            it->p = it->rev ? dice__lp_prev(z->lp, dice__lp_prev(z->lp, it->p))
                            : dice__lp_next(z->lp, sp);
        return 1;
    }
    leaf *l = it->leaf;
    const uint8_t *e = lget(l, it->idx);
    *m = ent_key(e, n);
    *score = ent_score(e);
    if (it->rev) {
        if (--it->idx < 0 && (l = l->prev)) {
            it->leaf = l;
            it->idx = l->n - 1;
        }
    } else if (++it->idx >= l->n && (l = l->next)) {
        it->leaf = l;
        it->idx = 0;
    }
    return 1;
}

size_t dice__zs_pop(dice__zset *z, int max, size_t count, dice__zs_pop_fn fn,
                    void *ctx) {
    size_t done = 0;
    while (done < count) {
        size_t len = dice__zs_len(z);
        if (!len)
            break;
        size_t r = max ? len - 1 : 0;
        dice__zs_iter it;
        const char *m;
        size_t n;
        double s;
        dice__zs_iter_init(&it, z, r, 0);
        dice__zs_iter_next(&it, &m, &n, &s);
        if (fn)
            fn(ctx, m, n, s);
        dice__zs_del_ranks(z, r, r);
        done++;
    }
    return done;
}

int dice__zs_random(dice__zset *z, const char **m, size_t *n, double *score,
                    unsigned char *buf) {
    size_t len = dice__zs_len(z);
    if (!len)
        return 0;
    if (z->enc == DICE__ZS_LISTPACK) {
        unsigned char *p =
            dice__lp_seek(z->lp, (long)(2 * ((size_t)random() % len)));
        *m = lp_member(p, n, buf);
        *score = lp_score(dice__lp_next(z->lp, p));
        return 1;
    }
    dice__mt_item it;
    if (!dice__mt_random(z->map, &it))
        return 0;
    *m = it.key;
    *n = it.klen;
    *score = it.score;
    return 1;
}

typedef struct scan_ctx {
    dice__zs_visit_fn fn;
    void *ctx;
} scan_ctx;

static void scan_one(void *c, const dice__mt_item *it) {
    scan_ctx *s = c;
    s->fn(s->ctx, it->key, it->klen, it->score);
}

uint64_t dice__zs_scan(dice__zset *z, uint64_t cursor, size_t count,
                       dice__zs_visit_fn fn, void *ctx) {
    if (z->enc == DICE__ZS_LISTPACK) {
        dice__zs_iter it;
        const char *m;
        size_t n;
        double s;
        dice__zs_iter_init(&it, z, 0, 0);
        while (dice__zs_iter_next(&it, &m, &n, &s))
            fn(ctx, m, n, s);
        return 0;
    }
    scan_ctx s = {fn, ctx};
    return dice__mt_scan(z->map, cursor, count, scan_one, &s);
}

dice__zset *dice__zs_fit(dice__zset *z, const dice__enc_limits *l,
                         size_t maxlen) {
    size_t len = dice__zs_len(z);
    if (z->enc == DICE__ZS_LISTPACK ||
        len > (size_t)l->zset_max_listpack_entries ||
        maxlen > (size_t)l->zset_max_listpack_value)
        return z;
    dice__zset *r = dice__zs_new(0);
    if (!r) {
        dice__zs_free(z);
        return NULL;
    }
    /* Ascending order: appends. */
    dice__zs_iter it;
    const char *m;
    size_t n;
    double s;
    char sb[DICE_FMT_DOUBLE_MAX];
    dice__zs_iter_init(&it, z, 0, 0);
    while (dice__zs_iter_next(&it, &m, &n, &s)) {
        unsigned char *a =
            dice__lp_append(r->lp, (const unsigned char *)m, (uint32_t)n);
        if (a)
            r->lp = a;
        size_t sl = lp_score_text(sb, s);
        a = a ? dice__lp_append(r->lp, (const unsigned char *)sb, (uint32_t)sl)
              : NULL;
        if (!a) {
            dice__zs_free(r);
            dice__zs_free(z);
            return NULL;
        }
        r->lp = a;
    }
    dice__zs_free(z);
    return r;
}

/* ---- consistency check (tests) ------------------------------------------- */

static int check_node(const void *node, unsigned h, size_t *count,
                      const uint8_t **minp) {
    if (h == 0) {
        const leaf *l = node;
        if (l->n == 0)
            return -1;
        for (int i = 1; i < l->n; i++) {
            const uint8_t *a = lget(l, i - 1), *b = lget(l, i);
            size_t bl;
            const char *bk = ent_key(b, &bl);
            keybound k = {ent_score(b), bk, bl};
            if (!before_key(&k, ent_score(a), a))
                return -2;
        }
        *count = l->n;
        *minp = lget(l, 0);
        return 0;
    }
    const inner *in = node;
    if (in->n < 2)
        return -3;
    size_t tot = 0;
    for (int i = 0; i < in->n; i++) {
        size_t c;
        const uint8_t *mn;
        int rc = check_node(in->child[i], h - 1, &c, &mn);
        if (rc)
            return rc;
        if (c != in->cnt[i])
            return -4;
        if (mn != in->sep[i] || ent_score(mn) != in->sc[i])
            return -5;
        tot += c;
    }
    *count = tot;
    *minp = in->sep[0];
    return 0;
}

int dice__zs_check(dice__zset *z) {
    if (z->enc == DICE__ZS_LISTPACK)
        return 0;
    size_t n = 0;
    const uint8_t *mn;
    if (!z->bt.root)
        return dice__mt_len(z->map) == 0 ? 0 : -6;
    int rc = check_node(z->bt.root, z->bt.height, &n, &mn);
    if (rc)
        return rc;
    if (n != dice__mt_len(z->map))
        return -7;
    size_t walked = 0;
    for (leaf *l = z->bt.head; l; l = l->next)
        walked += l->n;
    return walked == n ? 0 : -8;
}

/* ---- type methods -------------------------------------------------------- */

/* The methods' ctx is the keyspace (for the encoding thresholds). */

static const char *const zset_encodings[] = {"listpack", "skiplist", NULL};

static const char *zset_encoding(void *ctx, const void *obj) {
    (void)ctx;
    return zset_encodings[((const dice__zset *)obj)->enc];
}

static void zset_free(void *ctx, void *obj) {
    (void)ctx;
    dice__zs_free(obj);
}

/* A listpack is one block; the big encoding frees its member table and
 * every node of its B+ tree (leaves hold LEAF_CAP / 4 to LEAF_CAP members:
 * counted here as half full, with their inner nodes). */
static size_t zset_free_effort(void *ctx, const void *obj) {
    (void)ctx;
    const dice__zset *z = obj;
    if (z->enc == DICE__ZS_LISTPACK)
        return 1;
    size_t leaves = dice__mt_len(z->map) / (LEAF_CAP / 2) + 1;
    return dice__mt_free_effort(z->map) + leaves + leaves / (INNER_CAP / 2) + 3;
}

static void *zset_copy(void *ctx, const void *obj) {
    (void)ctx;
    dice__zset *z = (dice__zset *)obj;
    if (z->enc == DICE__ZS_LISTPACK) {
        dice__zset *c = calloc(1, sizeof(*c));
        if (!c)
            return NULL;
        c->lp = dice__lp_from_bytes(z->lp, dice__lp_bytes(z->lp));
        if (!c->lp) {
            free(c);
            return NULL;
        }
        return c;
    }
    dice__zset *c = dice__zs_new(1);
    if (!c)
        return NULL;
    dice__zs_iter it;
    const char *m;
    size_t n;
    double s;
    dice__zs_iter_init(&it, z, 0, 0);
    while (dice__zs_iter_next(&it, &m, &n, &s)) {
        void *e;
        if (dice__mt_add(c->map, m, n, &s, sizeof(s), 1, &e) < 0 ||
            bt_insert(&c->bt, dice__mt_len(c->map) - 1, e) < 0) {
            dice__zs_free(c);
            return NULL;
        }
    }
    return c;
}

static size_t zset_mem(void *ctx, const void *obj) {
    (void)ctx;
    return dice__zs_mem(obj);
}

/* ZADD key score member ..., 64 pairs per command, as Redis's AOF
 * rewrite batches them. */
static int zset_emit(void *ctx, const char *key, size_t klen, const void *obj,
                     dice_type_emit_fn emit, void *emit_ctx) {
    (void)ctx;
    enum { BATCH = 64 };
    const char *argv[2 + 2 * BATCH];
    size_t len[2 + 2 * BATCH];
    char sc[BATCH][DICE_FMT_DOUBLE_MAX];
    dice__zs_iter it;
    const char *m;
    size_t n;
    double s;
    int argc = 2, rc = 0;
    argv[0] = "ZADD";
    len[0] = 4;
    argv[1] = key;
    len[1] = klen;
    dice__zs_iter_init(&it, (dice__zset *)obj, 0, 0);
    while (dice__zs_iter_next(&it, &m, &n, &s)) {
        int k = (argc - 2) / 2;
        len[argc] = dice__fmt_double(sc[k], s);
        argv[argc++] = sc[k];
        argv[argc] = m;
        len[argc++] = n;
        if (argc == 2 + 2 * BATCH) {
            if ((rc = emit(emit_ctx, argc, argv, len)) < 0)
                return rc;
            argc = 2;
        }
    }
    if (argc > 2)
        rc = emit(emit_ctx, argc, argv, len);
    return rc;
}

#define RDB_TYPE_ZSET_2 5
#define RDB_TYPE_ZSET_LISTPACK 17
/* Longest member a payload may carry (Redis's 512 MB strings). */
#define MEMBER_MAX ((size_t)512 * 1024 * 1024)

static int zset_serialize(void *ctx, const void *obj, unsigned *format,
                          dice_type_write_fn write, void *wctx) {
    (void)ctx;
    const dice__zset *z = obj;
    int rc;
    if (z->enc == DICE__ZS_LISTPACK) {
        *format = RDB_TYPE_ZSET_LISTPACK;
        return dice__rdb_write_string(write, wctx, (const char *)z->lp,
                                      dice__lp_bytes(z->lp));
    }
    *format = RDB_TYPE_ZSET_2;
    size_t len = dice__zs_len(z);
    if ((rc = dice__rdb_write_len(write, wctx, len)) < 0)
        return rc;
    /* Greatest first, as Redis saves them (loading then appends). */
    dice__zs_iter it;
    const char *m;
    size_t n;
    double s;
    dice__zs_iter_init(&it, (dice__zset *)z, 0, 1);
    while (dice__zs_iter_next(&it, &m, &n, &s)) {
        if ((rc = dice__rdb_write_string(write, wctx, m, n)) < 0)
            return rc;
        uint8_t d[8];
        uint64_t u;
        memcpy(&u, &s, 8);
        for (int i = 0; i < 8; i++)
            d[i] = (uint8_t)(u >> (8 * i));
        if ((rc = write(wctx, d, 8)) < 0)
            return rc;
    }
    return 0;
}

typedef struct lpcheck {
    unsigned long i;
    int bad;
} lpcheck;

/* Every second entry is a score: it must read as a number (not NaN). */
static int lp_entry_ok(const unsigned char *p, void *ud) {
    lpcheck *c = ud;
    if (c->i++ % 2 == 1) {
        uint32_t len;
        long long iv;
        const unsigned char *s = dice__lp_get(p, &len, &iv);
        if (s) {
            char buf[DICE__STR2D_MAX + 1];
            if (len == 0 || len > DICE__STR2D_MAX)
                return 1;
            memcpy(buf, s, len);
            buf[len] = 0;
            char *end;
            double d = strtod(buf, &end);
            if (end != buf + len || isnan(d))
                return 1;
        }
    }
    return 0;
}

static int zset_deserialize(void *ctx, unsigned format, const void *data,
                            size_t len, size_t *used, void **obj) {
    const dice__enc_limits *l = dice__keyspace_limits(ctx);
    if (format != RDB_TYPE_ZSET_LISTPACK && format != RDB_TYPE_ZSET_2)
        return DICE_EINVAL;
    dice__rdb_in in = {data, len, 0};
    if (format == RDB_TYPE_ZSET_LISTPACK) {
        /* The listpack as one string, possibly LZF-compressed. */
        char nb[DICE__LP_INTBUF], *owned = NULL;
        const char *blob;
        size_t bn;
        int rc = dice__rdb_in_string(&in, UINT32_MAX, nb, &owned, &blob, &bn);
        if (rc < 0)
            return rc;
        lpcheck c = {0, 0};
        unsigned long cnt;
        unsigned char *lp = (unsigned char *)blob;
        if (dice__lp_validate(lp, bn, lp_entry_ok, &c, &cnt) < 0 || cnt % 2 ||
            cnt == 0) {
            free(owned);
            return DICE_EPROTO;
        }
        /* Rebuilt through the API: duplicates and disorder are refused,
         * and a set past the thresholds loads big, as Redis converts. */
        dice__zset *z =
            dice__zs_new(cnt / 2 > (size_t)l->zset_max_listpack_entries);
        if (!z) {
            free(owned);
            return DICE_ENOMEM;
        }
        unsigned char buf[DICE__LP_INTBUF];
        for (unsigned char *p = dice__lp_first(lp); p;) {
            unsigned char *sp = dice__lp_next(lp, p);
            size_t n;
            const char *m = lp_member(p, &n, buf);
            int out;
            if (dice__zs_add(z, l, lp_score(sp), m, n, DICE__ZADD_NX, &out,
                             NULL) < 0 ||
                !(out & DICE__ZADD_ADDED)) {
                dice__zs_free(z);
                free(owned);
                return out & DICE__ZADD_NOP ? DICE_EPROTO : DICE_ENOMEM;
            }
            p = dice__lp_next(lp, sp);
        }
        free(owned);
        *used = in.pos;
        *obj = z;
        return 0;
    }
    uint64_t v;
    int rc = dice__rdb_in_len(&in, &v);
    if (rc < 0)
        return rc;
    if (v == 0 || v > (1ull << 40))
        return DICE_EPROTO;
    dice__zset *z = dice__zs_new(v > (uint64_t)l->zset_max_listpack_entries);
    if (!z)
        return DICE_ENOMEM;
    /* Sized once for every member (see the set's loader): a member takes
     * at least its length byte and its 8-byte score. */
    if (z->map)
        (void)dice__mt_reserve(z->map, v, in.len - in.pos, 9);
    for (uint64_t i = 0; i < v; i++) {
        const char *m;
        size_t n;
        char nb[DICE_DB_NUMBUF], *owned = NULL;
        rc = dice__rdb_in_string(&in, MEMBER_MAX, nb, &owned, &m, &n);
        if (rc == 0 && in.len - in.pos < 8)
            rc = DICE_EAGAIN;
        if (rc < 0) {
            free(owned);
            dice__zs_free(z);
            return rc;
        }
        const uint8_t *d = in.p + in.pos;
        uint64_t u = 0;
        for (int b = 0; b < 8; b++)
            u |= (uint64_t)d[b] << (8 * b);
        in.pos += 8;
        double s;
        memcpy(&s, &u, 8);
        int out = 0;
        rc = isnan(s) ? DICE_EPROTO
                      : dice__zs_add(z, l, s, m, n, DICE__ZADD_NX, &out, NULL);
        free(owned);
        if (rc < 0 || !(out & DICE__ZADD_ADDED)) {
            dice__zs_free(z);
            return isnan(s) || (out & DICE__ZADD_NOP) ? DICE_EPROTO
                                                      : DICE_ENOMEM;
        }
    }
    *used = in.pos;
    *obj = z;
    return 0;
}

/* One sequence per member: its bytes and its score's text. */
static void zset_digest(void *ctx, const void *obj, dice_digest_t *d) {
    (void)ctx;
    dice__zs_iter it;
    const char *m;
    size_t n;
    double s;
    char sb[DICE_FMT_DOUBLE_MAX];
    dice__zs_iter_init(&it, (dice__zset *)obj, 0, 0);
    while (dice__zs_iter_next(&it, &m, &n, &s)) {
        dice_digest_add(d, m, n);
        dice_digest_add(d, sb, dice__fmt_double(sb, s));
        dice_digest_end_sequence(d);
    }
}

const dice_type_methods dice__zset_methods = {
    .version = DICE_TYPE_METHODS_VERSION,
    .name = "zset",
    .encoding_names = zset_encodings,
    .encoding = zset_encoding,
    .free = zset_free,
    .copy = zset_copy,
    .mem_usage = zset_mem,
    .emit_commands = zset_emit,
    .serialize = zset_serialize,
    .deserialize = zset_deserialize,
    .digest = zset_digest,
    .free_effort = zset_free_effort,
};
