/* The set command family of Redis 7.0: SADD SREM SCARD SISMEMBER
 * SMISMEMBER SMEMBERS SPOP SRANDMEMBER SMOVE SINTER SINTERCARD SUNION SDIFF
 * SINTERSTORE SUNIONSTORE SDIFFSTORE SSCAN, on the set type
 * (lib/types/set.c).
 *
 * Replies, error texts and the order of the checks follow redis-server
 * 7.0.15 (tests/integration/test_set.py compares the two). Where Redis's
 * order is defined (an intset's members ascend) so is ours; a hashtable's
 * order is unspecified in both.
 *
 * SPOP is random: it propagates its effect, SREM of the members it popped
 * (in batches of PROP_BATCH), or DEL when it popped the whole set, as
 * Redis 7.0 does. */
#include "commands/commands_internal.h"

#include "types/set.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define REPLY_ERR(c, lit) dice_reply_error((c), lit, sizeof(lit) - 1)

/* ---- Set API (what the commands share) -------------------------------- */

static long long max_intset(dice_client_t *c) {
    return dice__keyspace_limits(c->srv->keyspace)->set_max_intset_entries;
}

static void *create_for(void *arg) {
    const dice__set_member *m = arg;
    return dice__set_new_for(m->p, m->n);
}

/* The set at key for a read: 1 (*s set), 0 missing ("keymiss" fired), -1
 * WRONGTYPE replied. */
static int lookup(dice_client_t *c, const char *key, size_t klen,
                  dice__set **s) {
    return dice__obj_lookup_read(c, key, klen, DICE_TYPE_SET, (void **)s);
}

/* The same for a write (no "keymiss"). */
static int lookup_w(dice_client_t *c, const char *key, size_t klen,
                    dice__set **s) {
    return dice__obj_lookup(c, key, klen, DICE_TYPE_SET, (void **)s);
}

/* A set write's event and the key's modification (or deletion). */
static void written(dice_client_t *c, const char *event, const char *key,
                    size_t klen, const dice__set *s) {
    dice__cmd_notify(c, DICE__NOTIFY_SET, event, key, klen);
    dice__obj_written(c, key, klen, dice__set_len(s));
}

static void reply_member(void *ctx, const char *m, size_t n) {
    dice_reply_bulk(ctx, m, n);
}

/* A whole set as a set reply (an array in RESP2). */
static void reply_all(dice_client_t *c, const dice__set *s) {
    dice_reply_set(c, dice__set_len(s));
    dice__set_foreach(s, reply_member, c);
}

/* A list of member texts copied out of a set (SPOP's propagation batch,
 * SRANDMEMBER's candidates): offsets into one growing buffer. */
typedef struct mlist {
    char *buf;
    size_t used, cap;
    size_t *off; /* n + 1 offsets */
    size_t n, ncap;
    int oom;
} mlist;

static void mlist_add(void *ctx, const char *m, size_t n) {
    mlist *l = ctx;
    if (l->oom)
        return;
    if (l->used + n > l->cap || !l->buf) {
        size_t nc = l->cap ? l->cap * 2 : 256;
        while (nc < l->used + n)
            nc *= 2;
        char *b = realloc(l->buf, nc);
        if (!b) {
            l->oom = 1;
            return;
        }
        l->buf = b;
        l->cap = nc;
    }
    if (l->n + 2 > l->ncap) {
        size_t nc = l->ncap ? l->ncap * 2 : 64;
        size_t *o = realloc(l->off, nc * sizeof(*o));
        if (!o) {
            l->oom = 1;
            return;
        }
        l->off = o;
        l->ncap = nc;
    }
    if (l->n == 0)
        l->off[0] = 0;
    if (n)
        memcpy(l->buf + l->used, m, n);
    l->used += n;
    l->off[++l->n] = l->used;
}

static void mlist_get(const mlist *l, size_t i, const char **p, size_t *n) {
    *p = l->buf + l->off[i];
    *n = l->off[i + 1] - l->off[i];
}

static void mlist_clear(mlist *l) {
    l->used = 0;
    l->n = 0;
}

static void mlist_free(mlist *l) {
    free(l->buf);
    free(l->off);
    memset(l, 0, sizeof(*l));
}

/* ---- Set Commands ------------------------------------------------------- */

/* SADD key member [member ...] */
static DICE__CMD_FN(cmd_sadd) {
    dice__set *s;
    int created;
    dice__set_member first = {argv[2], argvlen[2], {0}};
    if (dice__obj_lookup_create(c, argv[1], argvlen[1], DICE_TYPE_SET,
                                create_for, &first, (void **)&s, &created) < 0)
        return;
    long long lim = max_intset(c), added = 0;
    for (int i = 2; i < argc; i++) {
        int rc = dice__set_add(s, argv[i], argvlen[i], lim);
        if (rc < 0) {
            if (added)
                written(c, "sadd", argv[1], argvlen[1], s);
            else if (created)
                dice__obj_written(c, argv[1], argvlen[1], dice__set_len(s));
            dice__reply_err(c, DICE__ERR_NOMEM);
            return;
        }
        added += rc;
    }
    if (added)
        written(c, "sadd", argv[1], argvlen[1], s);
    dice_reply_int(c, added);
}

/* SREM key member [member ...] */
static DICE__CMD_FN(cmd_srem) {
    dice__set *s;
    int rc = lookup_w(c, argv[1], argvlen[1], &s);
    if (rc <= 0) {
        if (rc == 0)
            dice_reply_int(c, 0);
        return;
    }
    long long n = 0;
    for (int i = 2; i < argc && dice__set_len(s) > 0; i++)
        n += dice__set_del(s, argv[i], argvlen[i]);
    if (n)
        written(c, "srem", argv[1], argvlen[1], s);
    dice_reply_int(c, n);
}

/* SCARD key */
static DICE__CMD_FN(cmd_scard) {
    dice__set *s;
    int rc = lookup(c, argv[1], argvlen[1], &s);
    if (rc >= 0)
        dice_reply_int(c, rc ? (long long)dice__set_len(s) : 0);
}

/* SISMEMBER key member */
static DICE__CMD_FN(cmd_sismember) {
    dice__set *s;
    int rc = lookup(c, argv[1], argvlen[1], &s);
    if (rc >= 0)
        dice_reply_int(c, rc && dice__set_has(s, argv[2], argvlen[2]));
}

/* SMISMEMBER key member [member ...] */
static DICE__CMD_FN(cmd_smismember) {
    dice__set *s;
    int rc = lookup(c, argv[1], argvlen[1], &s);
    if (rc < 0)
        return;
    dice_reply_array(c, (size_t)(argc - 2));
    for (int i = 2; i < argc; i++)
        dice_reply_int(c, rc && dice__set_has(s, argv[i], argvlen[i]));
}

/* SMEMBERS key */
static DICE__CMD_FN(cmd_smembers) {
    dice__set *s;
    int rc = lookup(c, argv[1], argvlen[1], &s);
    if (rc < 0)
        return;
    if (rc == 0)
        dice_reply_set(c, 0);
    else
        reply_all(c, s);
}

/* SPOP's propagation: SREM key m1 m2 ... in batches. */
#define PROP_BATCH 1024

static void propagate_srem(dice_client_t *c, const char *key, size_t klen,
                           const mlist *l) {
    if (l->n == 0)
        return;
    const char **av = malloc((l->n + 2) * sizeof(*av));
    size_t *al = malloc((l->n + 2) * sizeof(*al));
    if (av && al) {
        av[0] = "SREM";
        al[0] = 4;
        av[1] = key;
        al[1] = klen;
        for (size_t i = 0; i < l->n; i++)
            mlist_get(l, i, &av[i + 2], &al[i + 2]);
        dice_client_propagate(c, (int)l->n + 2, av, al);
    }
    free(av);
    free(al);
}

/* SPOP key count, count > 0 and below the set's size: pop one random
 * member at a time (each O(1) or O(log n)). */
static void spop_some(dice_client_t *c, const char *key, size_t klen,
                      dice__set *s, size_t count) {
    bool prop = dice__propagating(c);
    mlist l = {0};
    dice_reply_set(c, count);
    for (size_t i = 0; i < count; i++) {
        dice__set_member m;
        dice__set_random(s, &m);
        dice_reply_bulk(c, m.p, m.n);
        if (prop) {
            mlist_add(&l, m.p, m.n);
            if (l.n == PROP_BATCH) {
                propagate_srem(c, key, klen, &l);
                mlist_clear(&l);
            }
        }
        dice__set_del(s, m.p, m.n);
    }
    if (prop)
        propagate_srem(c, key, klen, &l);
    mlist_free(&l);
}

/* SPOP key [count] */
static DICE__CMD_FN(cmd_spop) {
    if (argc > 3) {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return;
    }
    long long count = -1;
    if (argc == 3 &&
        (!dice__str2ll(argv[2], argvlen[2], &count) || count < 0)) {
        REPLY_ERR(c, "ERR value is out of range, must be positive");
        return;
    }
    dice__set *s;
    int rc = lookup_w(c, argv[1], argvlen[1], &s);
    if (rc < 0)
        return;
    /* Redis fires "spop" before replying, "del" after. */
    if (count < 0) {
        if (rc == 0) {
            dice_reply_null(c);
            return;
        }
        dice__set_member m;
        dice__set_random(s, &m);
        dice__cmd_notify(c, DICE__NOTIFY_SET, "spop", argv[1], argvlen[1]);
        dice_reply_bulk(c, m.p, m.n);
        if (dice__propagating(c)) {
            const char *av[3] = {"SREM", argv[1], m.p};
            size_t al[3] = {4, argvlen[1], m.n};
            dice_client_propagate(c, 3, av, al);
        }
        dice__set_del(s, m.p, m.n);
        dice__obj_written(c, argv[1], argvlen[1], dice__set_len(s));
        return;
    }
    if (rc == 0 || count == 0) {
        dice_reply_set(c, 0);
        return;
    }
    size_t size = dice__set_len(s);
    dice__cmd_notify(c, DICE__NOTIFY_SET, "spop", argv[1], argvlen[1]);
    if ((unsigned long long)count >= size) {
        reply_all(c, s);
        dice__propagate_key(c, "DEL", argv[1], argvlen[1]);
        dice__obj_written(c, argv[1], argvlen[1], 0);
        return;
    }
    spop_some(c, argv[1], argvlen[1], s, (size_t)count);
    dice__obj_written(c, argv[1], argvlen[1], dice__set_len(s));
}

static void reply_list(dice_client_t *c, const mlist *l, size_t from,
                       size_t n) {
    for (size_t i = from; i < from + n; i++) {
        const char *p;
        size_t len;
        mlist_get(l, i, &p, &len);
        dice_reply_bulk(c, p, len);
    }
}

/* SRANDMEMBER key count, distinct members, 0 < count < size. Redis's two
 * cases: many of the members wanted (count * 3 > size), a partial shuffle
 * of all of them; few, random picks until count distinct ones. */
static void srandmember_distinct(dice_client_t *c, dice__set *s, size_t count) {
    size_t size = dice__set_len(s);
    if (count * 3 > size) {
        mlist l = {0};
        dice__set_foreach(s, mlist_add, &l);
        size_t *idx = l.oom ? NULL : malloc(size * sizeof(*idx));
        if (!idx) {
            mlist_free(&l);
            dice__reply_err(c, DICE__ERR_NOMEM);
            return;
        }
        for (size_t i = 0; i < size; i++)
            idx[i] = i;
        dice_reply_array(c, count);
        for (size_t i = 0; i < count; i++) {
            size_t j = i + (size_t)(dice__set_rand(s) % (size - i));
            size_t t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
            reply_list(c, &l, idx[i], 1);
        }
        free(idx);
        mlist_free(&l);
        return;
    }
    dice__set *seen = dice__set_new(0);
    if (!seen) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    while (dice__set_len(seen) < count) {
        dice__set_member m;
        dice__set_random(s, &m);
        if (dice__set_add(seen, m.p, m.n, 0) < 0) {
            dice__set_free(seen);
            dice__reply_err(c, DICE__ERR_NOMEM);
            return;
        }
    }
    dice_reply_array(c, count);
    dice__set_foreach(seen, reply_member, c);
    dice__set_free(seen);
}

/* SRANDMEMBER key [count] */
static DICE__CMD_FN(cmd_srandmember) {
    if (argc > 3) {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return;
    }
    long long count = 0;
    if (argc == 3) {
        if (dice__parse_ll_or_reply(c, argv[2], argvlen[2], &count) < 0)
            return;
        if (count == LLONG_MIN) {
            REPLY_ERR(c, "ERR value is out of range, value must between "
                         "-9223372036854775807 and 9223372036854775807");
            return;
        }
    }
    dice__set *s;
    int rc = lookup(c, argv[1], argvlen[1], &s);
    if (rc < 0)
        return;
    dice__set_member m;
    if (argc == 2) {
        if (rc == 0)
            dice_reply_null(c);
        else if (dice__set_random(s, &m))
            dice_reply_bulk(c, m.p, m.n);
        return;
    }
    if (rc == 0 || count == 0) {
        dice_reply_array(c, 0);
        return;
    }
    size_t size = dice__set_len(s);
    if (count < 0 || count == 1) {
        /* Repetitions allowed: each pick on its own. */
        unsigned long long n =
            count < 0 ? 0ull - (unsigned long long)count : 1ull;
        dice_reply_array(c, (size_t)n);
        for (unsigned long long i = 0; i < n; i++) {
            dice__set_random(s, &m);
            dice_reply_bulk(c, m.p, m.n);
        }
        return;
    }
    if ((unsigned long long)count >= size) {
        dice_reply_array(c, size);
        dice__set_foreach(s, reply_member, c);
        return;
    }
    srandmember_distinct(c, s, (size_t)count);
}

/* SMOVE source destination member */
static DICE__CMD_FN(cmd_smove) {
    dice__set *src, *dst;
    int rs = lookup_w(c, argv[1], argvlen[1], &src);
    if (rs <= 0) {
        if (rs == 0)
            dice_reply_int(c, 0);
        return;
    }
    int rd = lookup_w(c, argv[2], argvlen[2], &dst);
    if (rd < 0)
        return;
    if (rd && src == dst) {
        dice_reply_int(c, dice__set_has(src, argv[3], argvlen[3]));
        return;
    }
    if (!dice__set_del(src, argv[3], argvlen[3])) {
        dice_reply_int(c, 0);
        return;
    }
    written(c, "srem", argv[1], argvlen[1], src);
    int created = 0;
    dice__set_member m = {argv[3], argvlen[3], {0}};
    if (dice__obj_lookup_create(c, argv[2], argvlen[2], DICE_TYPE_SET,
                                create_for, &m, (void **)&dst, &created) < 0)
        return;
    int rc = dice__set_add(dst, argv[3], argvlen[3], max_intset(c));
    if (rc < 0) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    if (rc)
        written(c, "sadd", argv[2], argvlen[2], dst);
    else if (created)
        dice__obj_written(c, argv[2], argvlen[2], dice__set_len(dst));
    dice_reply_int(c, 1);
}

/* ---- SINTER / SUNION / SDIFF and their STORE forms ---------------------- */

enum { OP_INTER, OP_UNION, OP_DIFF };

/* Look every key up (a missing one is an empty set, NULL); -1 after
 * WRONGTYPE, as Redis checks every key before any work. */
static int lookup_all(dice_client_t *c, int n, const char *const *keys,
                      const size_t *klen, dice__set **sets) {
    for (int i = 0; i < n; i++) {
        int rc = lookup(c, keys[i], klen[i], &sets[i]);
        if (rc < 0)
            return -1;
        if (rc == 0)
            sets[i] = NULL;
    }
    return 0;
}

typedef struct op_ctx {
    dice__set *const *sets;
    int n;
    size_t skip;    /* SINTER: index of the smallest set (the one walked) */
    dice__set *out; /* members kept, or NULL to only count */
    size_t count, limit;
    long long lim;
    int oom;
} op_ctx;

static void inter_one(void *ctx, const char *m, size_t n) {
    op_ctx *o = ctx;
    if (o->oom || (o->limit && o->count >= o->limit))
        return;
    /* A key named twice is the set being walked: m is in it, no lookup
     * needed. */
    dice__set *walked = o->sets[o->skip];
    for (int i = 0; i < o->n; i++)
        if (o->sets[i] != walked && !dice__set_has(o->sets[i], m, n))
            return;
    o->count++;
    if (o->out && dice__set_add(o->out, m, n, o->lim) < 0)
        o->oom = 1;
}

static void union_one(void *ctx, const char *m, size_t n) {
    op_ctx *o = ctx;
    if (!o->oom && dice__set_add(o->out, m, n, o->lim) < 0)
        o->oom = 1;
}

static void diff_one(void *ctx, const char *m, size_t n) {
    op_ctx *o = ctx;
    if (o->oom)
        return;
    for (int i = 1; i < o->n; i++)
        if (o->sets[i] &&
            (o->sets[i] == o->sets[0] || dice__set_has(o->sets[i], m, n)))
            return; /* (the walked set itself: see inter_one) */
    if (dice__set_add(o->out, m, n, o->lim) < 0)
        o->oom = 1;
}

/* The result of op over the sets: a new set (an intset while it can be,
 * as Redis's dstset), or only its size when out is NULL (SINTERCARD, with
 * limit 0 for none). Returns 0 or DICE_ENOMEM. */
static int set_op(int op, dice__set *const *sets, int n, long long lim,
                  dice__set *out, size_t limit, size_t *count) {
    op_ctx o = {sets, n, 0, out, 0, limit, lim, 0};
    if (op == OP_INTER) {
        size_t best = SIZE_MAX;
        for (int i = 0; i < n; i++) {
            if (!sets[i]) {
                *count = 0;
                return 0;
            }
            if (dice__set_len(sets[i]) < best) {
                best = dice__set_len(sets[i]);
                o.skip = (size_t)i;
            }
        }
        dice__set_foreach(sets[o.skip], inter_one, &o);
        *count = o.count;
    } else if (op == OP_UNION) {
        for (int i = 0; i < n && !o.oom; i++)
            if (sets[i])
                dice__set_foreach(sets[i], union_one, &o);
        *count = dice__set_len(out);
    } else {
        if (sets[0])
            dice__set_foreach(sets[0], diff_one, &o);
        *count = dice__set_len(out);
    }
    return o.oom ? DICE_ENOMEM : 0;
}

/* SINTER/SUNION/SDIFF key [key ...], and with dst the STORE forms. */
static void op_generic(dice_client_t *c, int op, const char *dst, size_t dlen,
                       int n, const char *const *keys, const size_t *klen) {
    dice__set *stack[16];
    dice__set **sets = n <= 16 ? stack : malloc((size_t)n * sizeof(*sets));
    if (!sets) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    dice__set *out = NULL;
    if (lookup_all(c, n, keys, klen, sets) < 0)
        goto done;
    dice_db_t *db = dice__cmd_db(c);
    if (dst && op == OP_INTER) {
        /* A missing source: Redis deletes dst before replying 0. */
        for (int i = 0; i < n; i++) {
            if (sets[i])
                continue;
            if (dice_db_delete(db, dst, dlen))
                dice__cmd_notify(c, DICE__NOTIFY_GENERIC, "del", dst, dlen);
            dice_reply_int(c, 0);
            goto done;
        }
    }
    out = dice__set_new(1);
    size_t count;
    if (!out || set_op(op, sets, n, max_intset(c), out, 0, &count) < 0) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        goto done;
    }
    if (!dst) {
        reply_all(c, out);
        goto done;
    }
    if (count == 0) {
        dice_reply_int(c, 0);
        if (dice_db_delete(db, dst, dlen))
            dice__cmd_notify(c, DICE__NOTIFY_GENERIC, "del", dst, dlen);
        goto done;
    }
    int rc = dice_db_set_object(db, dst, dlen, DICE_TYPE_SET, out, 0, 0);
    out = NULL; /* the keyspace's now, even on failure */
    if (rc < 0) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        goto done;
    }
    dice_reply_int(c, (long long)count);
    dice__cmd_notify(c, DICE__NOTIFY_SET,
                     op == OP_INTER   ? "sinterstore"
                     : op == OP_UNION ? "sunionstore"
                                      : "sdiffstore",
                     dst, dlen);
done:
    dice__set_free(out);
    if (sets != stack)
        free(sets);
}

/* SINTER key [key ...] */
static DICE__CMD_FN(cmd_sinter) {
    op_generic(c, OP_INTER, NULL, 0, argc - 1, argv + 1, argvlen + 1);
}

/* SUNION key [key ...] */
static DICE__CMD_FN(cmd_sunion) {
    op_generic(c, OP_UNION, NULL, 0, argc - 1, argv + 1, argvlen + 1);
}

/* SDIFF key [key ...] */
static DICE__CMD_FN(cmd_sdiff) {
    op_generic(c, OP_DIFF, NULL, 0, argc - 1, argv + 1, argvlen + 1);
}

/* SINTERSTORE destination key [key ...] */
static DICE__CMD_FN(cmd_sinterstore) {
    op_generic(c, OP_INTER, argv[1], argvlen[1], argc - 2, argv + 2,
               argvlen + 2);
}

/* SUNIONSTORE destination key [key ...] */
static DICE__CMD_FN(cmd_sunionstore) {
    op_generic(c, OP_UNION, argv[1], argvlen[1], argc - 2, argv + 2,
               argvlen + 2);
}

/* SDIFFSTORE destination key [key ...] */
static DICE__CMD_FN(cmd_sdiffstore) {
    op_generic(c, OP_DIFF, argv[1], argvlen[1], argc - 2, argv + 2,
               argvlen + 2);
}

/* SINTERCARD numkeys key [key ...] [LIMIT limit] */
static DICE__CMD_FN(cmd_sintercard) {
    long long numkeys, limit = 0;
    if (!dice__str2ll(argv[1], argvlen[1], &numkeys) || numkeys < 1) {
        REPLY_ERR(c, "ERR numkeys should be greater than 0");
        return;
    }
    if (numkeys > argc - 2) {
        REPLY_ERR(c, "ERR Number of keys can't be greater than number of "
                     "args");
        return;
    }
    for (int j = 2 + (int)numkeys; j < argc; j++) {
        if (j + 1 < argc && dice__opt_is(argv[j], argvlen[j], "limit")) {
            j++;
            if (!dice__str2ll(argv[j], argvlen[j], &limit) || limit < 0) {
                REPLY_ERR(c, "ERR LIMIT can't be negative");
                return;
            }
        } else {
            dice__reply_err(c, DICE__ERR_SYNTAX);
            return;
        }
    }
    int n = (int)numkeys;
    dice__set *stack[16];
    dice__set **sets = n <= 16 ? stack : malloc((size_t)n * sizeof(*sets));
    if (!sets) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    size_t count;
    if (lookup_all(c, n, argv + 2, argvlen + 2, sets) == 0) {
        set_op(OP_INTER, sets, n, 0, NULL, (size_t)limit, &count);
        dice_reply_int(c, (long long)count);
    }
    if (sets != stack)
        free(sets);
}

static int sintercard_keys(int argc, const char *const *argv,
                           const size_t *argvlen, int *pos, int max) {
    long long n;
    if (argc < 3 || !dice__str2ll(argv[1], argvlen[1], &n) || n < 1 ||
        n > argc - 2)
        return -1;
    int k = 0;
    for (int i = 0; i < n && k < max; i++)
        pos[k++] = 2 + i;
    return k;
}

typedef struct scan_ctx {
    mlist l;
    const char *pat;
    size_t plen;
} scan_ctx;

static void scan_one(void *ctx, const char *m, size_t n) {
    scan_ctx *x = ctx;
    if (x->pat && !dice_glob_match(x->pat, x->plen, m, n, 0))
        return;
    mlist_add(&x->l, m, n);
}

/* SSCAN key cursor [MATCH pattern] [COUNT count] */
static DICE__CMD_FN(cmd_sscan) {
    uint64_t cursor;
    if (dice__parse_cursor_or_reply(c, argv[2], argvlen[2], &cursor) < 0)
        return;
    dice__set *s;
    int rc = lookup(c, argv[1], argvlen[1], &s);
    if (rc <= 0) {
        if (rc == 0)
            dice__reply_empty_scan(c);
        return;
    }
    dice__scan_opts o;
    if (dice__parse_scan_opts(c, argc, argv, argvlen, 3, false, &o) < 0)
        return;
    long long count = o.count;
    scan_ctx x = {{0}, o.pat, o.plen};
    uint64_t next = 0;
    if (rc)
        next = dice__set_scan(s, cursor, (size_t)count, scan_one, &x);
    if (x.l.oom) {
        mlist_free(&x.l);
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    dice__reply_scan_cursor(c, next);
    dice_reply_array(c, x.l.n);
    reply_list(c, &x.l, 0, x.l.n);
    mlist_free(&x.l);
}

/* ---- registration ------------------------------------------------------- */

enum {
    W = DICE_CMD_WRITE,
    R = DICE_CMD_READONLY,
    F = DICE_CMD_FAST,
    M = DICE_CMD_DENYOOM,
    MK = DICE_CMD_MOVABLE_KEYS
};

#define ORDER "nondeterministic_output_order"
#define NONDET "nondeterministic_output"
#define CX_INTER                                                               \
    "O(N*M) worst case where N is the cardinality of the smallest set and M "  \
    "is the number of sets."
#define CX_ALL "O(N) where N is the total number of elements in all given sets."

/* As COMMAND INFO / DOCS show them in Redis 7.0 (group "set": @set). */
static const dice__cmd_desc SET_CMDS[] = {
    {"sadd", -3, W | M | F, 1, 1, 1, cmd_sadd, NULL,
     "Add one or more members to a set", "1.0.0",
     "O(1) for each element added, so O(N) to add N elements when the "
     "command is called with multiple arguments.",
     0, NULL, NULL, NULL},
    {"srem", -3, W | F, 1, 1, 1, cmd_srem, NULL,
     "Remove one or more members from a set", "1.0.0",
     "O(N) where N is the number of members to be removed.", 0, NULL, NULL,
     NULL},
    {"scard", 2, R | F, 1, 1, 1, cmd_scard, NULL,
     "Get the number of members in a set", "1.0.0", "O(1)", 0, NULL, NULL,
     NULL},
    {"sismember", 3, R | F, 1, 1, 1, cmd_sismember, NULL,
     "Determine if a given value is a member of a set", "1.0.0", "O(1)", 0,
     NULL, NULL, NULL},
    {"smismember", -3, R | F, 1, 1, 1, cmd_smismember, NULL,
     "Returns the membership associated with the given elements for a set",
     "6.2.0",
     "O(N) where N is the number of elements being checked for membership", 0,
     NULL, NULL, NULL},
    {"smembers", 2, R, 1, 1, 1, cmd_smembers, NULL,
     "Get all the members in a set", "1.0.0",
     "O(N) where N is the set cardinality.", 0, ORDER, NULL, NULL},
    {"spop", -2, W | F, 1, 1, 1, cmd_spop, NULL,
     "Remove and return one or multiple random members from a set", "1.0.0",
     "Without the count argument O(1), otherwise O(N) where N is the value "
     "of the passed count.",
     0, NONDET, NULL, NULL},
    {"srandmember", -2, R, 1, 1, 1, cmd_srandmember, NULL,
     "Get one or multiple random members from a set", "1.0.0",
     "Without the count argument O(1), otherwise O(N) where N is the "
     "absolute value of the passed count.",
     0, NONDET, NULL, NULL},
    {"smove", 4, W | F, 1, 2, 1, cmd_smove, NULL,
     "Move a member from one set to another", "1.0.0", "O(1)", 0, NULL, NULL,
     NULL},
    {"sinter", -2, R, 1, -1, 1, cmd_sinter, NULL, "Intersect multiple sets",
     "1.0.0", CX_INTER, 0, ORDER, NULL, NULL},
    {"sintercard", -3, R | MK, 0, 0, 0, cmd_sintercard, NULL,
     "Intersect multiple sets and return the cardinality of the result",
     "7.0.0", CX_INTER, 0, NULL, NULL, sintercard_keys},
    {"sunion", -2, R, 1, -1, 1, cmd_sunion, NULL, "Add multiple sets", "1.0.0",
     CX_ALL, 0, ORDER, NULL, NULL},
    {"sdiff", -2, R, 1, -1, 1, cmd_sdiff, NULL, "Subtract multiple sets",
     "1.0.0", CX_ALL, 0, ORDER, NULL, NULL},
    {"sinterstore", -3, W | M, 1, -1, 1, cmd_sinterstore, NULL,
     "Intersect multiple sets and store the resulting set in a key", "1.0.0",
     CX_INTER, 0, NULL, NULL, NULL},
    {"sunionstore", -3, W | M, 1, -1, 1, cmd_sunionstore, NULL,
     "Add multiple sets and store the resulting set in a key", "1.0.0", CX_ALL,
     0, NULL, NULL, NULL},
    {"sdiffstore", -3, W | M, 1, -1, 1, cmd_sdiffstore, NULL,
     "Subtract multiple sets and store the resulting set in a key", "1.0.0",
     CX_ALL, 0, NULL, NULL, NULL},
    {"sscan", -3, R, 1, 1, 1, cmd_sscan, NULL,
     "Incrementally iterate Set elements", "2.8.0",
     "O(1) for every call. O(N) for a complete iteration, including enough "
     "command calls for the cursor to return back to 0. N is the number of "
     "elements inside the collection..",
     0, NONDET, NULL, NULL},
};

#define KS_OF(a) a, (int)DICE__COUNT(a)

/* Redis 7.0's key specs, for COMMAND INFO, where they differ from the
 * one derived from first/last/step (see lib/commands/server.c). */
static const dice__key_spec ks_insert[] = {
    DICE__KS_RANGE(DICE__KS_RW | DICE__KS_INSERT, 1, 0, 1, 0)};
static const dice__key_spec ks_delete[] = {
    DICE__KS_RANGE(DICE__KS_RW | DICE__KS_DELETE, 1, 0, 1, 0)};
static const dice__key_spec ks_pop[] = {DICE__KS_RANGE(
    DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_DELETE, 1, 0, 1, 0)};
static const dice__key_spec ks_smove[] = {
    DICE__KS_RANGE(DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_DELETE, 1, 0, 1, 0),
    DICE__KS_RANGE(DICE__KS_RW | DICE__KS_INSERT, 2, 0, 1, 0)};
static const dice__key_spec ks_interstore[] = {
    DICE__KS_RANGE(DICE__KS_RW | DICE__KS_UPDATE, 1, 0, 1, 0),
    DICE__KS_RANGE(DICE__KS_RO | DICE__KS_ACCESS, 2, -1, 1, 0)};
static const dice__key_spec ks_ow_store[] = {
    DICE__KS_RANGE(DICE__KS_OW | DICE__KS_UPDATE, 1, 0, 1, 0),
    DICE__KS_RANGE(DICE__KS_RO | DICE__KS_ACCESS, 2, -1, 1, 0)};
static const dice__key_spec ks_intercard[] = {
    DICE__KS_KEYNUM(DICE__KS_RO | DICE__KS_ACCESS, 1, 0, 1, 1)};
static const dice__key_spec ks_ro[] = {DICE__KS_RANGE(DICE__KS_RO, 1, 0, 1, 0)};
static const dice__cmd_keyspecs set_keyspecs[] = {
    {"sadd", KS_OF(ks_insert)},
    {"srem", KS_OF(ks_delete)},
    {"spop", KS_OF(ks_pop)},
    {"smove", KS_OF(ks_smove)},
    {"sinterstore", KS_OF(ks_interstore)},
    {"sunionstore", KS_OF(ks_ow_store)},
    {"sdiffstore", KS_OF(ks_ow_store)},
    {"sintercard", KS_OF(ks_intercard)},
    {"scard", KS_OF(ks_ro)},
    {"sismember", KS_OF(ks_ro)},
};
#undef KS_OF

int dice__builtin_sets(dice_server_t *srv) {
    int rc = dice_keyspace_register_type(srv->keyspace, DICE_TYPE_SET,
                                         &dice__set_methods, NULL);
    if (rc == 0)
        rc = dice__command_register(srv, NULL, "set", SET_CMDS,
                                    DICE__COUNT(SET_CMDS));
    if (rc == 0)
        rc = dice__command_set_keyspecs(srv, set_keyspecs,
                                        DICE__COUNT(set_keyspecs));
    return rc;
}
