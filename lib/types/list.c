/* The list type: a quicklist of listpack nodes (see list.h), and its type
 * methods (dice__list_methods: OBJECT ENCODING, free, COPY, MEMORY USAGE,
 * AOF rewrite, RDB payload, DEBUG DIGEST). */
#include "types/list.h"

#include "core/core_internal.h"
#include "dice/common.h"
#include "dice/db.h"
#include "types/rdb.h"
#include "types/types_internal.h"

#include <limits.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

/* ---- List API ------------------------------------------------------------ */

/* Redis's quicklist limits: node sizes for fill -1..-5, the size cap of a
 * count-limited node, and the largest count fill. */
static const size_t fill_bytes[] = {4096, 8192, 16384, 32768, 65536};
#define SIZE_SAFETY_LIMIT 8192
#define FILL_MAX 32767

dice__list *dice__list_new(int fill, int depth) {
    dice__list *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->fill = fill > FILL_MAX ? FILL_MAX : fill < -5 ? -5 : fill;
    l->depth = depth < 0 ? 0 : depth;
    return l;
}

void dice__list_free(dice__list *l) {
    if (!l)
        return;
    for (dice__qlnode *n = l->head, *next; n; n = next) {
        next = n->next;
        free(n->lp);
        free(n);
    }
    free(l);
}

/* Whether an element of sz bytes may join node n (Redis 7.0's
 * _quicklistNodeAllowInsert: the listpack's overhead for the entry is
 * estimated the same way, so nodes split where Redis splits them). */
static int node_allows(const dice__qlnode *n, int fill, size_t sz) {
    if (!n)
        return 0;
    size_t over = (sz < 254 ? 1 : 5) + (sz < 64 ? 1 : sz < 16384 ? 2 : 5);
    size_t nsz = (size_t)n->sz + sz + over;
    if (fill < 0)
        return nsz <= fill_bytes[-fill - 1];
    if (nsz > SIZE_SAFETY_LIMIT)
        return 0;
    return (int)n->count < fill;
}

/* A new empty node whose listpack has room for cap bytes. */
static dice__qlnode *node_new(size_t cap) {
    dice__qlnode *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->lp = dice__lp_new(cap);
    if (!n->lp) {
        free(n);
        return NULL;
    }
    n->sz = (uint32_t)dice__lp_bytes(n->lp);
    return n;
}

/* Link n after `after` (NULL: at the head). */
static void node_link(dice__list *l, dice__qlnode *after, dice__qlnode *n) {
    n->prev = after;
    n->next = after ? after->next : l->head;
    if (n->next)
        n->next->prev = n;
    else
        l->tail = n;
    if (after)
        after->next = n;
    else
        l->head = n;
    l->nnodes++;
}

static void node_unlink(dice__list *l, dice__qlnode *n) {
    if (n->prev)
        n->prev->next = n->next;
    else
        l->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        l->tail = n->prev;
    l->nnodes--;
    if (l->open == n)
        l->open = NULL;
    free(n->lp);
    free(n);
}

/* ---- compression (list-compress-depth) ---- */

/* Redis 7.0's quicklist rules: smaller nodes are not worth it, and a
 * compressed form must save more than MIN_COMPRESS_IMPROVE bytes. */
#define MIN_COMPRESS_BYTES 48
#define MIN_COMPRESS_IMPROVE 8

/* Keep n as LZF when that pays; it stays plain otherwise (or out of
 * memory: compression is only a saving). */
static void node_compress(dice__qlnode *n) {
    if (n->csz || n->sz < MIN_COMPRESS_BYTES)
        return;
    size_t cap = n->sz - MIN_COMPRESS_IMPROVE - 1;
    unsigned char *buf = malloc(cap);
    if (!buf)
        return;
    size_t c = dice__lzf_compress(n->lp, n->sz, buf, cap);
    if (c == 0) {
        free(buf);
        return;
    }
    unsigned char *fit = realloc(buf, c);
    free(n->lp);
    n->lp = fit ? fit : buf;
    n->csz = (uint32_t)c;
}

/* Make n plain again. Out of memory here has no way back (the element a
 * command asked for is inside): abort, as Redis's allocator does. */
static void node_expand(dice__qlnode *n) {
    if (!n->csz)
        return;
    unsigned char *lp = malloc(n->sz);
    if (!lp || dice__lzf_decompress(n->lp, n->csz, lp, n->sz) != n->sz)
        abort();
    free(n->lp);
    n->lp = lp;
    n->csz = 0;
}

/* A position is about to land in n: expand it, compressing the node
 * opened before (so at most one compressible node is plain). */
static void node_access(dice__list *l, dice__qlnode *n) {
    if (!n || !n->csz)
        return;
    if (l->open && l->open != n)
        node_compress(l->open);
    node_expand(n);
    l->open = n;
}

/* After nodes were linked or unlinked (n: a new node, or NULL), as
 * Redis's __quicklistCompress: the depth nodes at each end are plain, the
 * first node past each window and n (outside the windows) compressed.
 * Nothing is compressed while the windows cover the whole list. */
static void compress_fix(dice__list *l, dice__qlnode *n) {
    int d = l->depth;
    if (d <= 0 || l->nnodes < (size_t)d * 2)
        return;
    dice__qlnode *f = l->head, *r = l->tail;
    int in_window = 0;
    for (int i = 0; i < d; i++) {
        node_expand(f);
        node_expand(r);
        if (f == l->open || r == l->open)
            l->open = NULL;
        if (f == n || r == n)
            in_window = 1;
        if (f == r || f->next == r)
            return;
        f = f->next;
        r = r->prev;
    }
    if (n && !in_window && n != l->open)
        node_compress(n);
    if (f != l->open)
        node_compress(f);
    if (r != l->open)
        node_compress(r);
}

static void node_update(dice__qlnode *n, unsigned char *lp) {
    n->lp = lp;
    n->sz = (uint32_t)dice__lp_bytes(lp);
}

/* Room to give the listpack of a node started at an end because the end
 * node `full` had none left for an element of n bytes. A list that has
 * filled one node will likely fill the next: allocating the next at its
 * full size spares the ~900 reallocs of growing it, which with glibc
 * leave holes behind (RSS of 1,000,000 short elements: 9.44 B each grown,
 * 9.0 B allocated at once). The first node of a list grows as needed (a
 * small list stays small). */
static size_t fresh_capacity(const dice__list *l, const dice__qlnode *full,
                             size_t n) {
    if (!full)
        return 0;
    size_t cap = l->fill < 0 ? fill_bytes[-l->fill - 1] : full->sz;
    if (cap > SIZE_SAFETY_LIMIT && l->fill >= 0)
        cap = SIZE_SAFETY_LIMIT;
    /* A big element gets a node of its own, sized by the element. */
    return full->sz > cap || n + 11 > cap / 2 ? 0 : cap;
}

int dice__list_push(dice__list *l, int where, const char *s, size_t n) {
    if (n > UINT32_MAX)
        return DICE_ENOMEM;
    dice__qlnode *node = where == DICE__LIST_HEAD ? l->head : l->tail;
    int fresh = 0;
    node_access(l, node);
    if (!node_allows(node, l->fill, n)) {
        node = node_new(fresh_capacity(l, node, n));
        if (!node)
            return DICE_ENOMEM;
        fresh = 1;
    }
    const unsigned char *us = (const unsigned char *)s;
    unsigned char *lp = where == DICE__LIST_HEAD
                            ? dice__lp_prepend(node->lp, us, (uint32_t)n)
                            : dice__lp_append(node->lp, us, (uint32_t)n);
    if (!lp) {
        if (fresh) {
            free(node->lp);
            free(node);
        }
        return DICE_ENOMEM;
    }
    node_update(node, lp);
    node->count++;
    if (fresh) {
        node_link(l, where == DICE__LIST_HEAD ? NULL : l->tail, node);
        compress_fix(l, NULL);
    }
    l->count++;
    return 0;
}

void dice__list_pop(dice__list *l, int where) {
    dice__list_pos pos;
    if (dice__list_end(l, where, &pos))
        dice__list_delete(l, &pos,
                          where == DICE__LIST_HEAD ? DICE__LIST_TAIL
                                                   : DICE__LIST_HEAD);
}

int dice__list_end(dice__list *l, int where, dice__list_pos *pos) {
    pos->list = l;
    pos->node = where == DICE__LIST_HEAD ? l->head : l->tail;
    node_access(l, pos->node);
    pos->p = !pos->node                 ? NULL
             : where == DICE__LIST_HEAD ? dice__lp_first(pos->node->lp)
                                        : dice__lp_last(pos->node->lp);
    return pos->p != NULL;
}

int dice__list_index(dice__list *l, long long index, dice__list_pos *pos) {
    pos->list = l;
    pos->node = NULL;
    pos->p = NULL;
    long long cnt = (long long)l->count;
    if (index < 0)
        index += cnt;
    if (index < 0 || index >= cnt)
        return 0;
    dice__qlnode *n;
    long long off;
    if (index < cnt / 2) {
        for (n = l->head, off = index; off >= n->count; n = n->next)
            off -= n->count;
    } else {
        /* From the tail: off counts back from the node's end. */
        long long back = cnt - 1 - index;
        for (n = l->tail; back >= n->count; n = n->prev)
            back -= n->count;
        off = (long long)n->count - 1 - back;
    }
    node_access(l, n);
    pos->node = n;
    pos->p = dice__lp_seek(n->lp, (long)off);
    return 1;
}

int dice__list_step(dice__list_pos *pos, int dir) {
    if (!pos->p)
        return 0;
    dice__qlnode *n = pos->node;
    if (dir == DICE__LIST_TAIL) {
        pos->p = dice__lp_next(n->lp, pos->p);
        if (!pos->p && n->next) {
            pos->node = n->next;
            node_access(pos->list, pos->node);
            pos->p = dice__lp_first(pos->node->lp);
        }
    } else {
        pos->p = dice__lp_prev(n->lp, pos->p);
        if (!pos->p && n->prev) {
            pos->node = n->prev;
            node_access(pos->list, pos->node);
            pos->p = dice__lp_last(pos->node->lp);
        }
    }
    return pos->p != NULL;
}

void dice__list_delete(dice__list *l, dice__list_pos *pos, int dir) {
    dice__qlnode *n = pos->node;
    unsigned char *next;
    unsigned char *lp = dice__lp_delete(n->lp, pos->p, &next);
    node_update(n, lp);
    n->count--;
    l->count--;
    if (n->count == 0) {
        dice__qlnode *prev = n->prev, *after = n->next;
        node_unlink(l, n);
        compress_fix(l, NULL);
        if (dir == DICE__LIST_TAIL) {
            pos->node = after;
            node_access(l, after);
            pos->p = after ? dice__lp_first(after->lp) : NULL;
        } else {
            pos->node = prev;
            node_access(l, prev);
            pos->p = prev ? dice__lp_last(prev->lp) : NULL;
        }
        return;
    }
    if (dir == DICE__LIST_TAIL) {
        pos->p = next;
        if (!next) {
            pos->node = n->next;
            node_access(l, n->next);
            pos->p = n->next ? dice__lp_first(n->next->lp) : NULL;
        }
    } else {
        pos->p = next ? dice__lp_prev(lp, next) : dice__lp_last(lp);
        if (!pos->p) {
            pos->node = n->prev;
            node_access(l, n->prev);
            pos->p = n->prev ? dice__lp_last(n->prev->lp) : NULL;
        }
    }
}

/* Move the entries of n from entry p on into a new node linked after n.
 * Returns the new node, or NULL out of memory (n unchanged). */
static dice__qlnode *node_split(dice__list *l, dice__qlnode *n,
                                unsigned char *p) {
    dice__qlnode *m = node_new(0);
    if (!m)
        return NULL;
    uint32_t moved = 0;
    for (unsigned char *q = p; q; q = dice__lp_next(n->lp, q)) {
        uint32_t len;
        long long iv;
        const unsigned char *s = dice__lp_get(q, &len, &iv);
        unsigned char *lp =
            s ? dice__lp_append(m->lp, s, len) : dice__lp_append_int(m->lp, iv);
        if (!lp) {
            free(m->lp);
            free(m);
            return NULL;
        }
        m->lp = lp;
        moved++;
    }
    node_update(m, m->lp);
    m->count = moved;
    unsigned char *at = p;
    node_update(n, dice__lp_delete_range_at(n->lp, &at, moved));
    n->count -= moved;
    node_link(l, n, m);
    compress_fix(l, m);
    return m;
}

static int push_node(dice__list *l, dice__qlnode *node, int where,
                     const unsigned char *s, size_t n) {
    node_access(l, node);
    unsigned char *lp = where == DICE__LIST_HEAD
                            ? dice__lp_prepend(node->lp, s, (uint32_t)n)
                            : dice__lp_append(node->lp, s, (uint32_t)n);
    if (!lp)
        return DICE_ENOMEM;
    node_update(node, lp);
    node->count++;
    l->count++;
    return 0;
}

int dice__list_insert(dice__list *l, dice__list_pos *pos, int where,
                      const char *s, size_t n) {
    if (n > UINT32_MAX)
        return DICE_ENOMEM;
    const unsigned char *us = (const unsigned char *)s;
    dice__qlnode *node = pos->node;
    unsigned char *lp;
    if (node_allows(node, l->fill, n)) {
        lp =
            dice__lp_insert_str(node->lp, pos->p, where, us, (uint32_t)n, NULL);
        if (!lp)
            return DICE_ENOMEM;
        node_update(node, lp);
        node->count++;
        l->count++;
        return 0;
    }
    /* The node is full: go to a neighbour when the element lands at the
     * node's edge, else split the node there. */
    int at_tail = where == DICE__LP_AFTER && !dice__lp_next(node->lp, pos->p);
    int at_head = where == DICE__LP_BEFORE && !dice__lp_prev(node->lp, pos->p);
    if (at_tail && node_allows(node->next, l->fill, n))
        return push_node(l, node->next, DICE__LIST_HEAD, us, n);
    if (at_head && node_allows(node->prev, l->fill, n))
        return push_node(l, node->prev, DICE__LIST_TAIL, us, n);
    dice__qlnode *after = node;
    if (!at_tail && !at_head) {
        unsigned char *split =
            where == DICE__LP_AFTER ? dice__lp_next(node->lp, pos->p) : pos->p;
        if (!node_split(l, node, split))
            return DICE_ENOMEM;
        if (node_allows(node, l->fill, n))
            return push_node(l, node, DICE__LIST_TAIL, us, n);
        if (node_allows(node->next, l->fill, n))
            return push_node(l, node->next, DICE__LIST_HEAD, us, n);
    } else if (at_head) {
        after = node->prev;
    }
    dice__qlnode *m = node_new(0);
    if (!m)
        return DICE_ENOMEM;
    lp = dice__lp_append(m->lp, us, (uint32_t)n);
    if (!lp) {
        free(m->lp);
        free(m);
        return DICE_ENOMEM;
    }
    node_update(m, lp);
    m->count = 1;
    node_link(l, after, m);
    compress_fix(l, m);
    l->count++;
    return 0;
}

int dice__list_replace(dice__list *l, dice__list_pos *pos, const char *s,
                       size_t n) {
    (void)l;
    if (n > UINT32_MAX)
        return DICE_ENOMEM;
    unsigned char *p = pos->p;
    unsigned char *lp = dice__lp_replace(pos->node->lp, &p,
                                         (const unsigned char *)s, (uint32_t)n);
    if (!lp)
        return DICE_ENOMEM;
    node_update(pos->node, lp);
    pos->p = p;
    return 0;
}

void dice__list_delete_range(dice__list *l, size_t start, size_t n) {
    if (start >= l->count)
        return;
    if (n > l->count - start)
        n = l->count - start;
    dice__qlnode *node = l->head;
    while (node && start >= node->count) {
        start -= node->count;
        node = node->next;
    }
    while (node && n) {
        dice__qlnode *next = node->next;
        size_t take = node->count - start;
        if (take > n)
            take = n;
        if (take == node->count) {
            node_unlink(l, node);
            compress_fix(l, NULL);
        } else {
            node_access(l, node);
            node_update(node, dice__lp_delete_range(node->lp, (long)start,
                                                    (unsigned long)take));
            node->count -= (uint32_t)take;
        }
        l->count -= take;
        n -= take;
        start = 0;
        node = next;
    }
}

dice__list *dice__list_dup(const dice__list *l) {
    dice__list *c = dice__list_new(l->fill, l->depth);
    if (!c)
        return NULL;
    for (const dice__qlnode *n = l->head; n; n = n->next) {
        dice__qlnode *m = malloc(sizeof(*m));
        unsigned char *lp =
            m ? dice__lp_from_bytes(n->lp, n->csz ? n->csz : n->sz) : NULL;
        if (!lp) {
            free(m);
            dice__list_free(c);
            return NULL;
        }
        m->lp = lp;
        m->sz = n->sz;
        m->count = n->count;
        m->csz = n->csz;
        node_link(c, c->tail, m);
        if (n == l->open) /* expanded only for access in l */
            node_compress(m);
    }
    c->count = l->count;
    return c;
}

size_t dice__list_mem(const dice__list *l) {
    size_t b = malloc_usable_size((void *)l);
    for (const dice__qlnode *n = l->head; n; n = n->next)
        b += malloc_usable_size((void *)n) + dice__lp_alloc_size(n->lp);
    return b;
}

/* ---- type methods ------------------------------------------------------ */

static const char *const list_encodings[] = {"quicklist", NULL};

static const char *list_encoding(void *ctx, const void *obj) {
    (void)ctx, (void)obj;
    return "quicklist";
}

static void list_free(void *ctx, void *obj) {
    (void)ctx;
    dice__list_free(obj);
}

static void *list_copy(void *ctx, const void *obj) {
    (void)ctx;
    return dice__list_dup(obj);
}

static size_t list_mem(void *ctx, const void *obj) {
    (void)ctx;
    return dice__list_mem(obj);
}

static size_t list_free_effort(void *ctx, const void *obj) {
    (void)ctx;
    return ((const dice__list *)obj)->nnodes;
}

/* Text of the element at pos: into buf for an integer. */
static const char *pos_text(const dice__list_pos *pos, size_t *n,
                            unsigned char *buf) {
    uint32_t len;
    const unsigned char *s = dice__lp_get_str(pos->p, &len, buf);
    *n = len;
    return (const char *)s;
}

/* An ordered value: every element in one sequence. */
static void list_digest(void *ctx, const void *obj, dice_digest_t *d) {
    (void)ctx;
    dice__list_pos pos;
    unsigned char buf[DICE__LP_INTBUF];
    for (int ok = dice__list_end((dice__list *)obj, DICE__LIST_HEAD, &pos); ok;
         ok = dice__list_step(&pos, DICE__LIST_TAIL)) {
        size_t n;
        const char *s = pos_text(&pos, &n, buf);
        dice_digest_add(d, s, n);
    }
    dice_digest_end_sequence(d);
}

/* AOF rewrite: RPUSH key with up to 64 elements each (Redis's
 * AOF_REWRITE_ITEMS_PER_CMD). Integers are formatted into per-slot
 * buffers, strings point into the listpacks. */
#define EMIT_ITEMS 64
static int list_emit(void *ctx, const char *key, size_t klen, const void *obj,
                     dice_type_emit_fn emit, void *emit_ctx) {
    (void)ctx;
    const char *argv[EMIT_ITEMS + 2] = {"RPUSH", key};
    size_t lens[EMIT_ITEMS + 2] = {5, klen};
    unsigned char nums[EMIT_ITEMS][DICE__LP_INTBUF];
    int argc = 2;
    dice__list_pos pos;
    for (int ok = dice__list_end((dice__list *)obj, DICE__LIST_HEAD, &pos); ok;
         ok = dice__list_step(&pos, DICE__LIST_TAIL)) {
        argv[argc] = pos_text(&pos, &lens[argc], nums[argc - 2]);
        if (++argc == EMIT_ITEMS + 2) {
            int rc = emit(emit_ctx, argc, argv, lens);
            if (rc < 0)
                return rc;
            argc = 2;
        }
    }
    return argc > 2 ? emit(emit_ctx, argc, argv, lens) : 0;
}

/* An RDB length at d[*off] (dice__rdb_read_len): 0, DICE_EAGAIN or
 * DICE_EPROTO. */
static int rdb_read_len(const unsigned char *d, size_t len, size_t *off,
                        uint64_t *out) {
    size_t used;
    int rc = dice__rdb_read_len(d + *off, len - *off, out, &used);
    if (rc == 0)
        *off += used;
    return rc;
}

/* An RDB string at d[*off] (dice__rdb_read_string: plain, int-encoded
 * into nb, or LZF-expanded into *owned, which the caller frees). */
static int rdb_read_str(const unsigned char *d, size_t len, size_t *off,
                        const unsigned char **s, size_t *n, char *nb,
                        char **owned) {
    size_t used;
    const char *p;
    int rc = dice__rdb_read_string(d + *off, len - *off, UINT32_MAX, nb, owned,
                                   &p, n, &used);
    if (rc == 0) {
        *s = (const unsigned char *)p;
        *off += used;
    }
    return rc;
}

/* RDB_TYPE_LIST_QUICKLIST_2: node count, then each node as its container
 * (2: packed) and its listpack as a string: a compressed node as the LZF
 * string (0xC3, compressed and plain lengths, the bytes) of its listpack,
 * as Redis saves it. */
static int list_serialize(void *ctx, const void *obj, unsigned *format,
                          dice_type_write_fn write, void *wctx) {
    (void)ctx;
    const dice__list *l = obj;
    unsigned char h[9];
    *format = DICE__RDB_TYPE_LIST_QUICKLIST_2;
    int rc = write(wctx, h, dice__rdb_put_len(h, l->nnodes));
    for (const dice__qlnode *n = l->head; rc == 0 && n; n = n->next) {
        unsigned char hb[2 + 2 * DICE__RDB_LEN_MAX];
        size_t hl = dice__rdb_put_len(hb, 2);
        if (n->csz)
            hl += dice__rdb_put_lzf_header(hb + hl, n->csz, n->sz);
        else
            hl += dice__rdb_put_len(hb + hl, n->sz);
        rc = write(wctx, hb, hl);
        if (rc == 0)
            rc = write(wctx, n->lp, n->csz ? n->csz : n->sz);
    }
    return rc;
}

/* Whether a loaded node of cnt entries in sz bytes is one pushes under the
 * list's fill could have made (a lone element always is). */
static int node_fits(const dice__list *l, unsigned long cnt, size_t sz) {
    if (cnt == 1)
        return 1;
    if (l->fill < 0)
        return sz <= fill_bytes[-l->fill - 1];
    return sz <= SIZE_SAFETY_LIMIT && cnt <= (unsigned long)l->fill;
}

/* Append a validated listpack: as one node when it fits the list's fill,
 * else element by element, so the list is cut as pushes cut it; empty
 * ones are skipped, as Redis skips them. Nodes past list-compress-depth
 * are compressed as they come, as pushes compress them. */
static int load_node(dice__list *l, const unsigned char *s, size_t n) {
    unsigned long cnt;
    if (dice__lp_validate(s, n, NULL, NULL, &cnt) < 0)
        return DICE_EPROTO;
    if (cnt == 0)
        return 0;
    if (cnt > UINT32_MAX)
        return DICE_EPROTO;
    if (!node_fits(l, cnt, n)) {
        unsigned char *lp = (unsigned char *)s;
        for (unsigned char *p = dice__lp_first(lp); p;
             p = dice__lp_next(lp, p)) {
            unsigned char buf[DICE__LP_INTBUF];
            uint32_t len;
            const unsigned char *e = dice__lp_get_str(p, &len, buf);
            int rc = dice__list_push(l, DICE__LIST_TAIL, (const char *)e, len);
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    dice__qlnode *m = malloc(sizeof(*m));
    unsigned char *lp = m ? dice__lp_from_bytes(s, n) : NULL;
    if (!lp) {
        free(m);
        return DICE_ENOMEM;
    }
    m->lp = lp;
    m->sz = (uint32_t)n;
    m->count = (uint32_t)cnt;
    m->csz = 0;
    node_link(l, l->tail, m);
    l->count += cnt;
    compress_fix(l, NULL);
    return 0;
}

/* ctx: the keyspace (its list-max-listpack-size and list-compress-depth
 * shape the list, as for a list built by pushes), or NULL for Redis's
 * defaults. */
static int list_deserialize(void *ctx, unsigned format, const void *data,
                            size_t len, size_t *used, void **obj) {
    static const dice__enc_limits defaults = DICE__ENC_LIMITS_DEFAULT;
    const dice__enc_limits *lim = ctx ? dice__keyspace_limits(ctx) : &defaults;
    if (format != DICE__RDB_TYPE_LIST &&
        format != DICE__RDB_TYPE_LIST_QUICKLIST_2)
        return DICE_EINVAL;
    const unsigned char *d = data;
    size_t off = 0;
    uint64_t items;
    int rc = rdb_read_len(d, len, &off, &items);
    if (rc < 0)
        return rc;
    if (items == 0)
        return DICE_EPROTO; /* Redis refuses an empty list */
    dice__list *l =
        dice__list_new(lim->list_max_listpack_size, lim->list_compress_depth);
    if (!l)
        return DICE_ENOMEM;
    char nb[DICE_DB_NUMBUF];
    for (uint64_t i = 0; i < items && rc == 0; i++) {
        const unsigned char *s = NULL;
        size_t n = 0;
        char *owned = NULL;
        if (format == DICE__RDB_TYPE_LIST) {
            rc = rdb_read_str(d, len, &off, &s, &n, nb, &owned);
            if (rc == 0)
                rc = dice__list_push(l, DICE__LIST_TAIL, (const char *)s, n);
            free(owned);
            continue;
        }
        uint64_t container;
        rc = rdb_read_len(d, len, &off, &container);
        if (rc == 0)
            rc = rdb_read_str(d, len, &off, &s, &n, nb, &owned);
        if (rc < 0)
            break;
        if (container == 1) /* plain node: one element */
            rc = dice__list_push(l, DICE__LIST_TAIL, (const char *)s, n);
        else if (container == 2)
            rc = load_node(l, s, n);
        else
            rc = DICE_EPROTO;
        free(owned);
    }
    if (rc == 0 && l->count == 0)
        rc = DICE_EPROTO;
    if (rc < 0) {
        dice__list_free(l);
        return rc;
    }
    *used = off;
    *obj = l;
    return 0;
}

const dice_type_methods dice__list_methods = {
    .version = DICE_TYPE_METHODS_VERSION,
    .name = "list",
    .encoding_names = list_encodings,
    .encoding = list_encoding,
    .free = list_free,
    .copy = list_copy,
    .mem_usage = list_mem,
    .emit_commands = list_emit,
    .serialize = list_serialize,
    .deserialize = list_deserialize,
    .digest = list_digest,
    .free_effort = list_free_effort,
};
