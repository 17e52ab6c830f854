/* The list type (lib/types/list.c): node sizes per fill setting,
 * randomized operations compared with a plain array model (push, pop,
 * index, insert, replace, delete while iterating both ways, range
 * deletes), copies, the RDB payload round trip, and hostile payloads
 * (truncated, bit-flipped, random) that must be refused or loaded without
 * reading out of bounds (run under the sanitizer build). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dice/common.h"
#include "types/list.h"
#include "types/types_internal.h"

/* ---- a model: an array of owned strings --------------------------------- */

typedef struct {
    char **v;
    size_t *n;
    size_t len, cap;
} model;

static void m_insert(model *m, size_t at, const char *s, size_t n) {
    if (m->len == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 64;
        m->v = realloc(m->v, m->cap * sizeof(*m->v));
        m->n = realloc(m->n, m->cap * sizeof(*m->n));
    }
    memmove(m->v + at + 1, m->v + at, (m->len - at) * sizeof(*m->v));
    memmove(m->n + at + 1, m->n + at, (m->len - at) * sizeof(*m->n));
    m->v[at] = malloc(n ? n : 1);
    memcpy(m->v[at], s, n);
    m->n[at] = n;
    m->len++;
}

static void m_delete(model *m, size_t at) {
    free(m->v[at]);
    memmove(m->v + at, m->v + at + 1, (m->len - at - 1) * sizeof(*m->v));
    memmove(m->n + at, m->n + at + 1, (m->len - at - 1) * sizeof(*m->n));
    m->len--;
}

static void m_free(model *m) {
    for (size_t i = 0; i < m->len; i++)
        free(m->v[i]);
    free(m->v);
    free(m->n);
}

static void expect_pos(const dice__list_pos *pos, const char *s, size_t n) {
    unsigned char buf[DICE__LP_INTBUF];
    uint32_t len;
    const unsigned char *p = dice__lp_get_str(pos->p, &len, buf);
    assert_int_equal(len, n);
    assert_memory_equal(p, s, n);
}

/* The whole list equals the model, walked both ways, and node invariants
 * hold (counts, sizes, links). */
static void check(dice__list *l, const model *m) {
    assert_int_equal(dice__list_len(l), m->len);
    size_t cnt = 0, nodes = 0;
    const dice__qlnode *prev = NULL;
    for (const dice__qlnode *n = l->head; n; prev = n, n = n->next) {
        assert_ptr_equal(n->prev, prev);
        assert_true(n->count > 0);
        if (n->csz) { /* compressed: never in the plain windows at the ends */
            assert_true(n->csz + 8 < n->sz);
            assert_true(nodes >= (size_t)l->depth);
            assert_true(l->nnodes - nodes > (size_t)l->depth);
            assert_ptr_not_equal(n, l->open);
        } else {
            assert_int_equal(n->count, dice__lp_length(n->lp));
            assert_int_equal(n->sz, dice__lp_bytes(n->lp));
        }
        cnt += n->count;
        nodes++;
    }
    assert_ptr_equal(l->tail, prev);
    assert_int_equal(cnt, m->len);
    assert_int_equal(nodes, l->nnodes);
    dice__list_pos pos;
    size_t i = 0;
    for (int ok = dice__list_end(l, DICE__LIST_HEAD, &pos); ok;
         ok = dice__list_step(&pos, DICE__LIST_TAIL))
        expect_pos(&pos, m->v[i], m->n[i]), i++;
    assert_int_equal(i, m->len);
    for (int ok = dice__list_end(l, DICE__LIST_TAIL, &pos); ok;
         ok = dice__list_step(&pos, DICE__LIST_HEAD))
        i--, expect_pos(&pos, m->v[i], m->n[i]);
    assert_int_equal(i, 0);
}

static size_t rnd_value(char *buf, unsigned *seed) {
    int kind = rand_r(seed) % 10;
    if (kind < 3)
        return (size_t)snprintf(buf, 32, "%d", rand_r(seed) % 20000 - 10000);
    size_t n =
        kind == 9 ? (size_t)(rand_r(seed) % 9000) : (size_t)(rand_r(seed) % 40);
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)('a' + rand_r(seed) % 3);
    return n;
}

/* ---- serialization ------------------------------------------------------ */

typedef struct {
    unsigned char *b;
    size_t len, cap;
} wbuf;

static int wr(void *ctx, const void *data, size_t len) {
    wbuf *w = ctx;
    if (w->len + len > w->cap) {
        w->cap = (w->len + len) * 2;
        w->b = realloc(w->b, w->cap);
    }
    memcpy(w->b + w->len, data, len);
    w->len += len;
    return 0;
}

static void test_random_vs_model(void **state) {
    (void)state;
    static const int fills[] = {-2, -1, -5, 1, 2, 5, 128, 0};
    char *buf = malloc(10000);
    for (size_t f = 0; f < 3 * sizeof(fills) / sizeof(fills[0]); f++) {
        unsigned seed = 1234 + (unsigned)f;
        int depth = (int)(f / (sizeof(fills) / sizeof(fills[0])));
        dice__list *l = dice__list_new(
            fills[f % (sizeof(fills) / sizeof(fills[0]))], depth);
        model m = {0};
        for (int step = 0; step < 4000; step++) {
            int op = rand_r(&seed) % 10;
            size_t n = rnd_value(buf, &seed);
            dice__list_pos pos;
            if (op < 3) {
                int where = rand_r(&seed) % 2;
                assert_int_equal(dice__list_push(l, where, buf, n), 0);
                m_insert(&m, where == DICE__LIST_HEAD ? 0 : m.len, buf, n);
            } else if (op == 3 && m.len) {
                int where = rand_r(&seed) % 2;
                dice__list_pop(l, where);
                m_delete(&m, where == DICE__LIST_HEAD ? 0 : m.len - 1);
            } else if (op == 4 && m.len) {
                size_t at = (size_t)rand_r(&seed) % m.len;
                int where = rand_r(&seed) % 2;
                assert_true(dice__list_index(l, (long long)at, &pos));
                assert_int_equal(dice__list_insert(l, &pos, where, buf, n), 0);
                m_insert(&m, where == DICE__LP_AFTER ? at + 1 : at, buf, n);
            } else if (op == 5 && m.len) {
                long long at = rand_r(&seed) % (long long)m.len;
                long long neg = at - (long long)m.len;
                assert_true(
                    dice__list_index(l, rand_r(&seed) % 2 ? at : neg, &pos));
                expect_pos(&pos, m.v[at], m.n[at]);
                assert_int_equal(dice__list_replace(l, &pos, buf, n), 0);
                free(m.v[at]);
                m.v[at] = malloc(n ? n : 1);
                memcpy(m.v[at], buf, n);
                m.n[at] = n;
            } else if (op == 6 && m.len) {
                /* Delete every element of a value class while walking. */
                int dir = rand_r(&seed) % 2;
                char first = (char)('a' + rand_r(&seed) % 3);
                size_t i = dir == DICE__LIST_TAIL ? 0 : m.len - 1;
                int ok = dice__list_end(
                    l,
                    dir == DICE__LIST_TAIL ? DICE__LIST_HEAD : DICE__LIST_TAIL,
                    &pos);
                while (ok) {
                    if (m.n[i] > 0 && m.v[i][0] == first) {
                        dice__list_delete(l, &pos, dir);
                        m_delete(&m, i);
                        ok = pos.p != NULL;
                        if (dir == DICE__LIST_HEAD)
                            i--;
                    } else {
                        ok = dice__list_step(&pos, dir);
                        if (dir == DICE__LIST_TAIL)
                            i++;
                        else
                            i--;
                    }
                }
            } else if (op == 7 && m.len) {
                size_t at = (size_t)rand_r(&seed) % m.len;
                size_t cnt = (size_t)rand_r(&seed) % 50;
                dice__list_delete_range(l, at, cnt);
                for (size_t k = 0; k < cnt && at < m.len; k++)
                    m_delete(&m, at);
            } else if (op == 8) {
                assert_false(dice__list_index(l, (long long)m.len, &pos));
                assert_false(dice__list_index(l, -(long long)m.len - 1, &pos));
            }
            if (step % 97 == 0)
                check(l, &m);
        }
        check(l, &m);
        dice__list *c = dice__list_dup(l);
        check(c, &m);
        dice__list_free(c);
        /* Through the payload (compressed nodes as LZF strings) and back. */
        if (m.len) {
            wbuf w = {0};
            unsigned fmt;
            void *obj;
            size_t used;
            assert_int_equal(
                dice__list_methods.serialize(NULL, l, &fmt, wr, &w), 0);
            assert_int_equal(dice__list_methods.deserialize(NULL, fmt, w.b,
                                                            w.len, &used, &obj),
                             0);
            assert_int_equal(used, w.len);
            check(obj, &m);
            dice__list_free(obj);
            free(w.b);
        }
        dice__list_free(l);
        m_free(&m);
    }
    free(buf);
}

/* list-compress-depth: inner nodes of compressible data are kept as LZF
 * and the list takes less memory; incompressible nodes stay plain. */
static void test_compression(void **state) {
    (void)state;
    for (int depth = 1; depth <= 3; depth++) {
        dice__list *plain = dice__list_new(-2, 0);
        dice__list *packed = dice__list_new(-2, depth);
        char buf[64];
        for (int i = 0; i < 20000; i++) {
            size_t n =
                (size_t)snprintf(buf, sizeof(buf), "element-%08d-padding", i);
            assert_int_equal(dice__list_push(plain, i % 2, buf, n), 0);
            assert_int_equal(dice__list_push(packed, i % 2, buf, n), 0);
        }
        size_t nc = 0, i = 0;
        for (const dice__qlnode *n = packed->head; n; n = n->next, i++) {
            int inner =
                i >= (size_t)depth && packed->nnodes - i > (size_t)depth;
            assert_int_equal(n->csz != 0, inner);
            nc += n->csz != 0;
        }
        assert_true(nc > 0);
        assert_true(dice__list_mem(packed) < dice__list_mem(plain) * 6 / 10);
        /* Reading the middle opens one node at a time. */
        dice__list_pos p1, p2;
        for (long long at = 0; at < 20000; at += 777) {
            assert_true(dice__list_index(plain, at, &p1));
            assert_true(dice__list_index(packed, at, &p2));
            uint32_t l1, l2;
            long long v1, v2;
            const unsigned char *s1 = dice__list_get(&p1, &l1, &v1);
            const unsigned char *s2 = dice__list_get(&p2, &l2, &v2);
            assert_int_equal(l1, l2);
            assert_memory_equal(s1, s2, l1);
            size_t open = 0;
            for (const dice__qlnode *n = packed->head; n; n = n->next)
                open += !n->csz;
            assert_true(open <= 2 * (size_t)depth + 1);
        }
        dice__list_free(plain);
        dice__list_free(packed);
    }
    /* Incompressible elements: every node stays plain. */
    dice__list *l = dice__list_new(-2, 1);
    unsigned seed = 5;
    char buf[32];
    for (int i = 0; i < 5000; i++) {
        for (int k = 0; k < 16; k++)
            buf[k] = (char)rand_r(&seed);
        assert_int_equal(dice__list_push(l, DICE__LIST_TAIL, buf, 16), 0);
    }
    for (const dice__qlnode *n = l->head; n; n = n->next)
        assert_int_equal(n->csz, 0);
    dice__list_free(l);
}

/* A DUMP payload of redis-server 7.0.15 (list-compress-depth 1,
 * list-max-listpack-size 4, RPUSH l aaa..a1 .. aaa..a12 with 36 a's):
 * three nodes, each saved as an LZF string (rdbcompression). */
static void test_redis_lzf_payload(void **state) {
    (void)state;
    static const char hex[] =
        "0302c32040a307a30000000400a561e01a00013126e01c260032e01d260033e01d"
        "26023426ff02c32040a307a30000000400a561e01a00013526e01c260036e01d26"
        "0037e01d26023826ff02c32440a607a60000000400a561e01a00023926a6e01a25"
        "0361313027e01d270031e01e27023227ff";
    unsigned char d[sizeof(hex) / 2];
    for (size_t i = 0; i < sizeof(d); i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        d[i] = (unsigned char)v;
    }
    void *obj;
    size_t used;
    assert_int_equal(
        dice__list_methods.deserialize(NULL, DICE__RDB_TYPE_LIST_QUICKLIST_2, d,
                                       sizeof(d), &used, &obj),
        0);
    assert_int_equal(used, sizeof(d));
    model m = {0};
    char buf[64];
    for (int i = 1; i <= 12; i++)
        m_insert(&m, m.len, buf,
                 (size_t)snprintf(buf, sizeof(buf),
                                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa%d", i));
    check(obj, &m);
    dice__list_free(obj);
    /* Truncated anywhere: refused, never read past the end. */
    for (size_t cut = 0; cut < sizeof(d); cut++) {
        unsigned char *t = malloc(cut ? cut : 1);
        memcpy(t, d, cut);
        int rc = dice__list_methods.deserialize(
            NULL, DICE__RDB_TYPE_LIST_QUICKLIST_2, t, cut, &used, &obj);
        assert_true(rc == DICE_EAGAIN || rc == DICE_EPROTO);
        free(t);
    }
    m_free(&m);
}

/* Node sizes: fill -2 caps listpacks at 8 KB, a positive fill at that
 * many entries; a big element gets a node of its own. */
static void test_node_limits(void **state) {
    (void)state;
    dice__list *l = dice__list_new(-2, 0);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(dice__list_push(l, DICE__LIST_TAIL, "abcdefgh", 8), 0);
    for (const dice__qlnode *n = l->head; n; n = n->next)
        assert_true(n->sz <= 8192);
    assert_true(l->nnodes >= 10000 * 10 / 8192);
    assert_true(l->nnodes <= 10000 * 10 / 8192 + 2);
    dice__list_free(l);

    l = dice__list_new(3, 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(dice__list_push(l, DICE__LIST_HEAD, "x", 1), 0);
    assert_int_equal(l->nnodes, 4);
    char *big = calloc(1, 20000);
    assert_int_equal(dice__list_push(l, DICE__LIST_TAIL, big, 20000), 0);
    assert_int_equal(l->nnodes, 5);
    assert_int_equal(l->tail->count, 1);
    free(big);
    dice__list_free(l);
    /* Clamping as Redis: below -5 is -5, above 32767 is 32767. */
    l = dice__list_new(-9, 0);
    assert_int_equal(l->fill, -5);
    dice__list_free(l);
    l = dice__list_new(1 << 20, 0);
    assert_int_equal(l->fill, 32767);
    dice__list_free(l);
}

static void test_serialize_roundtrip_and_hostile(void **state) {
    (void)state;
    const dice_type_methods *m = &dice__list_methods;
    dice__list *l = dice__list_new(4, 0);
    model md = {0};
    char buf[64];
    for (int i = 0; i < 50; i++) {
        size_t n = (size_t)snprintf(buf, sizeof(buf), i % 3 ? "elem-%d" : "%d",
                                    i * 37 - 500);
        dice__list_push(l, DICE__LIST_TAIL, buf, n);
        m_insert(&md, md.len, buf, n);
    }
    wbuf w = {0};
    unsigned fmt;
    assert_int_equal(m->serialize(NULL, l, &fmt, wr, &w), 0);
    assert_int_equal(fmt, DICE__RDB_TYPE_LIST_QUICKLIST_2);
    void *obj;
    size_t used;
    assert_int_equal(m->deserialize(NULL, fmt, w.b, w.len, &used, &obj), 0);
    assert_int_equal(used, w.len);
    check(obj, &md);
    dice__list_free(obj);
    /* Every truncation asks for more (or is malformed), never reads past. */
    for (size_t cut = 0; cut < w.len; cut++) {
        unsigned char *t = malloc(cut ? cut : 1);
        memcpy(t, w.b, cut);
        int rc = m->deserialize(NULL, fmt, t, cut, &used, &obj);
        assert_true(rc == DICE_EAGAIN || rc == DICE_EPROTO);
        free(t);
    }
    /* Bit flips and random bytes: refused, or a well-formed list. */
    unsigned seed = 99;
    for (int round = 0; round < 3000; round++) {
        unsigned char *t = malloc(w.len);
        memcpy(t, w.b, w.len);
        int flips = 1 + rand_r(&seed) % 4;
        for (int k = 0; k < flips; k++)
            t[(size_t)rand_r(&seed) % w.len] ^=
                (unsigned char)(1u << (rand_r(&seed) % 8));
        if (round % 10 == 0)
            for (size_t k = 0; k < w.len; k++)
                t[k] = (unsigned char)rand_r(&seed);
        int rc = m->deserialize(NULL, round % 7 ? fmt : DICE__RDB_TYPE_LIST, t,
                                w.len, &used, &obj);
        if (rc == 0) {
            dice__list *g = obj;
            size_t cnt = 0;
            dice__list_pos pos;
            for (int ok = dice__list_end(g, DICE__LIST_HEAD, &pos); ok;
                 ok = dice__list_step(&pos, DICE__LIST_TAIL))
                cnt++;
            assert_int_equal(cnt, dice__list_len(g));
            assert_true(used <= w.len);
            dice__list_free(g);
        } else {
            assert_true(rc == DICE_EAGAIN || rc == DICE_EPROTO ||
                        rc == DICE_ENOMEM);
        }
        free(t);
    }
    assert_int_equal(m->deserialize(NULL, 5, w.b, w.len, &used, &obj),
                     DICE_EINVAL);
    /* An empty list is refused, as Redis refuses it. */
    unsigned char zero = 0;
    assert_int_equal(m->deserialize(NULL, fmt, &zero, 1, &used, &obj),
                     DICE_EPROTO);
    /* RDB_TYPE_LIST: 2 strings, one int-encoded. */
    unsigned char old[] = {2, 3, 'a', 'b', 'c', 0xC0, 0xF6};
    assert_int_equal(m->deserialize(NULL, DICE__RDB_TYPE_LIST, old, sizeof(old),
                                    &used, &obj),
                     0);
    model m2 = {0};
    m_insert(&m2, 0, "abc", 3);
    m_insert(&m2, 1, "-10", 3);
    check(obj, &m2);
    assert_string_equal(m->encoding(NULL, obj), "quicklist");
    assert_true(m->mem_usage(NULL, obj) > 0);
    dice__list_free(obj);
    m_free(&m2);
    free(w.b);
    dice__list_free(l);
    m_free(&md);
}

/* A list loaded from a payload takes list-max-listpack-size and
 * list-compress-depth from the keyspace it is loaded into (ctx), as a list
 * built by pushes does: nodes too big for the fill are cut as pushes cut
 * them, nodes that fit are kept, and the nodes past the depth are
 * compressed. NULL ctx: Redis's defaults (-2, 0). */
static void check_shape(const dice__list *l, int fill, int depth, int strict) {
    assert_int_equal(l->fill, fill);
    assert_int_equal(l->depth, depth);
    size_t i = 0;
    for (const dice__qlnode *n = l->head; n; n = n->next, i++) {
        if (fill > 0)
            assert_true(n->count <= (uint32_t)fill);
        else
            assert_true(n->sz <= 8192 || n->count == 1);
        int inner = depth > 0 && i >= (size_t)depth &&
                    l->nnodes - i > (size_t)depth &&
                    l->nnodes >= 2 * (size_t)depth;
        if (depth == 0 || !inner)
            assert_int_equal(n->csz, 0);
        else if (strict && n->sz >= 256) /* compressible, none opened yet */
            assert_int_not_equal(n->csz, 0);
    }
}

static void test_deserialize_settings(void **state) {
    (void)state;
    dice_keyspace_t *ks;
    assert_int_equal(dice_keyspace_new(&ks, 1), 0);
    static const struct {
        int fill_from, depth_from, fill_to, depth_to;
        int cut; /* every saved node too big for fill_to */
    } cases[] = {{-2, 0, 5, 2, 1},
                 {5, 0, -2, 1, 0},
                 {-5, 3, 100, 0, 1},
                 {1, 1, -1, 4, 0},
                 {-1, 0, -2, 0, 0}};
    for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
        dice__list *src =
            dice__list_new(cases[ci].fill_from, cases[ci].depth_from);
        dice__list *pushed =
            dice__list_new(cases[ci].fill_to, cases[ci].depth_to);
        model m = {0};
        char buf[64];
        for (int i = 0; i < 6000; i++) {
            size_t n =
                (size_t)snprintf(buf, sizeof(buf), "element-%08d-padding", i);
            assert_int_equal(dice__list_push(src, DICE__LIST_TAIL, buf, n), 0);
            assert_int_equal(dice__list_push(pushed, DICE__LIST_TAIL, buf, n),
                             0);
            m_insert(&m, m.len, buf, n);
        }
        wbuf w = {0};
        unsigned fmt;
        void *obj;
        size_t used;
        assert_int_equal(dice__list_methods.serialize(NULL, src, &fmt, wr, &w),
                         0);
        dice__enc_limits lim = DICE__ENC_LIMITS_DEFAULT;
        lim.list_max_listpack_size = cases[ci].fill_to;
        lim.list_compress_depth = cases[ci].depth_to;
        dice__keyspace_set_limits(ks, &lim);
        assert_int_equal(
            dice__list_methods.deserialize(ks, fmt, w.b, w.len, &used, &obj),
            0);
        dice__list *l = obj;
        check_shape(l, cases[ci].fill_to, cases[ci].depth_to, 1);
        /* Cut to a smaller fill: exactly the nodes of pushes. */
        if (cases[ci].cut) {
            assert_int_equal(l->nnodes, pushed->nnodes);
            const dice__qlnode *a = l->head, *b = pushed->head;
            for (; a; a = a->next, b = b->next) {
                assert_int_equal(a->count, b->count);
                assert_int_equal(a->csz != 0, b->csz != 0);
            }
        }
        check(l, &m); /* (opens nodes: after the shape's checks) */
        /* Pushes after the load follow the same settings. */
        for (int i = 0; i < 500; i++) {
            assert_int_equal(dice__list_push(l, i % 2, "x", 1), 0);
            m_insert(&m, i % 2 ? m.len : 0, "x", 1);
        }
        check(l, &m);
        check_shape(l, cases[ci].fill_to, cases[ci].depth_to, 0);
        dice__list_free(l);
        /* No keyspace: Redis's defaults. */
        assert_int_equal(
            dice__list_methods.deserialize(NULL, fmt, w.b, w.len, &used, &obj),
            0);
        check_shape(obj, -2, 0, 1);
        dice__list_free(obj);
        free(w.b);
        dice__list_free(src);
        dice__list_free(pushed);
        m_free(&m);
    }
    dice_keyspace_free(ks);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_vs_model),
        cmocka_unit_test(test_node_limits),
        cmocka_unit_test(test_serialize_roundtrip_and_hostile),
        cmocka_unit_test(test_compression),
        cmocka_unit_test(test_redis_lzf_payload),
        cmocka_unit_test(test_deserialize_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
