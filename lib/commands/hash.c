/* The hash command family of Redis 7.0: HSET HSETNX HGET HMGET HMSET HDEL
 * HLEN HSTRLEN HEXISTS HKEYS HVALS HGETALL HINCRBY HINCRBYFLOAT HRANDFIELD
 * HSCAN, on the hash type (lib/types/hash.h).
 *
 * Replies, error texts and the order of the checks follow redis-server
 * 7.0.15 (tests/integration/test_hash.py compares them): arguments that
 * are parsed before the key is looked up (HINCRBY's increment,
 * HRANDFIELD's count, HSCAN's cursor) fail before WRONGTYPE. HINCRBYFLOAT
 * propagates as HSET key field <result>, as Redis rewrites it. */
#include "types/hash.h"
#include "commands/commands_internal.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define REPLY_ERR(c, lit) dice_reply_error((c), lit, sizeof(lit) - 1)

/* ---- API (what the commands share) --------------------------------------
 */

static const dice__enc_limits *limits(dice_client_t *c) {
    return dice__keyspace_limits(c->srv->keyspace);
}

/* A hash write in progress: where its key is, and the hash as the key
 * holds it (NULL while the key is missing: the write builds a new hash that
 * store_back adds, so a new small hash goes inline at once). */
typedef struct hwrite {
    dice__db_ref ref;
    dice__hash *h0;
} hwrite;

/* The hash at key for a write, a new one (not stored yet) when missing;
 * NULL after replying. */
static dice__hash *lookup_write(dice_client_t *c, const char *key, size_t klen,
                                hwrite *w) {
    void *o;
    int rc = dice__db_lookup_ref(dice__cmd_db(c), key, klen, DICE_TYPE_HASH, &o,
                                 &w->ref);
    if (rc == DICE_EWRONGTYPE) {
        dice__reply_err(c, DICE__ERR_WRONGTYPE);
        return NULL;
    }
    w->h0 = rc == 0 ? o : NULL;
    if (rc == 0)
        return o;
    dice__hash *h = dice__hash_new();
    if (!h)
        dice__reply_err(c, DICE__ERR_NOMEM);
    return h;
}

/* A write that ends before changing anything: a new hash was never
 * stored, so it goes. */
static void abandon(const hwrite *w, dice__hash *h) {
    if (!w->h0)
        dice__hash_free(h);
}

/* After a write changed the hash (a listpack's realloc or inline copy, the
 * conversion to a table: see hash.h), or built a new one, store it at its
 * key; *h is then the hash as stored. Call it before dice__obj_written
 * (which may free the hash through the stored pointer). Returns 0, or
 * DICE_ENOMEM with *h back to what the key holds: NULL when the key is
 * still missing (then the caller replies and ends, writing nothing). */
static int store_back(dice_client_t *c, hwrite *w, dice__hash **h) {
    return dice__hash_store(dice__cmd_db(c), &w->ref, w->h0, h);
}

/* The hash at key for a read: 1 with *h, 0 missing ("keymiss" fired), -1
 * after WRONGTYPE. */
static int lookup_read(dice_client_t *c, const char *key, size_t klen,
                       dice__hash **h) {
    void *o;
    int rc = dice__obj_lookup_read(c, key, klen, DICE_TYPE_HASH, &o);
    if (rc > 0)
        *h = o;
    return rc;
}

static int reply_pair_field(void *c, const char *f, size_t fn, const char *v,
                            size_t vn) {
    (void)v, (void)vn;
    dice_reply_bulk(c, f, fn);
    return 0;
}

static int reply_pair_value(void *c, const char *f, size_t fn, const char *v,
                            size_t vn) {
    (void)f, (void)fn;
    dice_reply_bulk(c, v, vn);
    return 0;
}

static int reply_pair(void *c, const char *f, size_t fn, const char *v,
                      size_t vn) {
    dice_reply_bulk(c, f, fn);
    dice_reply_bulk(c, v, vn);
    return 0;
}

/* A pair as its own 2-array (RESP3 HRANDFIELD ... WITHVALUES). */
static int reply_pair_nested(void *c, const char *f, size_t fn, const char *v,
                             size_t vn) {
    dice_reply_array(c, 2);
    return reply_pair(c, f, fn, v, vn);
}

/* ---- Commands ------------------------------------------------------------
 */

/* A hash write's end, as Redis's: the reply already sent, the event, then
 * the key's modification (or deletion: HDEL fires before replying). */
static void written(dice_client_t *c, const char *event, const char *key,
                    size_t klen, const dice__hash *h) {
    dice__cmd_notify(c, DICE__NOTIFY_HASH, event, key, klen);
    dice__obj_written(c, key, klen, dice__hash_len(h));
}

/* HSET key field value [field value ...]  (arg NULL)
 * HMSET key field value [field value ...] (arg non-NULL: replies OK) */
static DICE__CMD_FN(cmd_hset) {
    if (argc % 2) {
        dice__reply_errorf(c, "ERR wrong number of arguments for '%s' command",
                           arg ? "hmset" : "hset");
        return;
    }
    hwrite w;
    dice__hash *h = lookup_write(c, argv[1], argvlen[1], &w);
    if (!h)
        return;
    long long created = 0;
    int rc = dice__hash_try_convert(&h, limits(c), argc - 2, argvlen + 2);
    for (int i = 2; rc >= 0 && i < argc; i += 2) {
        rc = dice__hash_set(&h, limits(c), argv[i], argvlen[i], argv[i + 1],
                            argvlen[i + 1]);
        created += rc == 1;
    }
    if (store_back(c, &w, &h) < 0)
        rc = DICE_ENOMEM;
    if (!h) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    if (rc < 0)
        dice__reply_err(c, DICE__ERR_NOMEM);
    else if (arg)
        dice_reply_ok(c);
    else
        dice_reply_int(c, created);
    written(c, "hset", argv[1], argvlen[1], h);
}

/* HSETNX key field value */
static DICE__CMD_FN(cmd_hsetnx) {
    hwrite w;
    dice__hash *h = lookup_write(c, argv[1], argvlen[1], &w);
    if (!h)
        return;
    char nb[DICE__HASH_NUMBUF];
    const char *v;
    size_t vn;
    if (dice__hash_get(h, argv[2], argvlen[2], nb, &v, &vn)) {
        abandon(&w, h);
        dice_reply_int(c, 0);
        return;
    }
    /* Only a field that is set converts on the arguments' lengths. */
    int rc = dice__hash_try_convert(&h, limits(c), 2, argvlen + 2);
    if (rc == 0)
        rc = dice__hash_set(&h, limits(c), argv[2], argvlen[2], argv[3],
                            argvlen[3]);
    if (store_back(c, &w, &h) < 0)
        rc = DICE_ENOMEM;
    if (!h) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    if (rc < 0)
        dice__reply_err(c, DICE__ERR_NOMEM);
    else
        dice_reply_int(c, 1);
    written(c, "hset", argv[1], argvlen[1], h);
}

/* HGET key field */
static DICE__CMD_FN(cmd_hget) {
    dice__hash *h;
    int rc = lookup_read(c, argv[1], argvlen[1], &h);
    if (rc < 0)
        return;
    char nb[DICE__HASH_NUMBUF];
    const char *v;
    size_t vn;
    if (rc && dice__hash_get(h, argv[2], argvlen[2], nb, &v, &vn))
        dice_reply_bulk(c, v, vn);
    else
        dice_reply_null(c);
}

/* HMGET key field [field ...] */
static DICE__CMD_FN(cmd_hmget) {
    dice__hash *h;
    int rc = lookup_read(c, argv[1], argvlen[1], &h);
    if (rc < 0)
        return;
    dice_reply_array(c, (size_t)(argc - 2));
    for (int i = 2; i < argc; i++) {
        char nb[DICE__HASH_NUMBUF];
        const char *v;
        size_t vn;
        if (rc && dice__hash_get(h, argv[i], argvlen[i], nb, &v, &vn))
            dice_reply_bulk(c, v, vn);
        else
            dice_reply_null(c);
    }
}

/* HDEL key field [field ...] */
static DICE__CMD_FN(cmd_hdel) {
    void *o = NULL;
    hwrite w;
    int rc = dice__db_lookup_ref(dice__cmd_db(c), argv[1], argvlen[1],
                                 DICE_TYPE_HASH, &o, &w.ref);
    if (rc < 0) {
        if (rc == DICE_ENOENT)
            dice_reply_int(c, 0);
        else
            dice__reply_err(c, DICE__ERR_WRONGTYPE);
        return;
    }
    dice__hash *h = w.h0 = o;
    long long n = 0;
    for (int i = 2; i < argc && dice__hash_len(h); i++)
        n += dice__hash_del(&h, argv[i], argvlen[i]);
    store_back(c, &w, &h);
    if (n)
        written(c, "hdel", argv[1], argvlen[1], h);
    dice_reply_int(c, n);
}

/* HLEN key */
static DICE__CMD_FN(cmd_hlen) {
    dice__hash *h;
    int rc = lookup_read(c, argv[1], argvlen[1], &h);
    if (rc >= 0)
        dice_reply_int(c, rc ? (long long)dice__hash_len(h) : 0);
}

/* HSTRLEN key field */
static DICE__CMD_FN(cmd_hstrlen) {
    dice__hash *h;
    int rc = lookup_read(c, argv[1], argvlen[1], &h);
    if (rc < 0)
        return;
    char nb[DICE__HASH_NUMBUF];
    const char *v;
    size_t vn = 0;
    if (!rc || !dice__hash_get(h, argv[2], argvlen[2], nb, &v, &vn))
        vn = 0;
    dice_reply_int(c, (long long)vn);
}

/* HEXISTS key field */
static DICE__CMD_FN(cmd_hexists) {
    dice__hash *h;
    int rc = lookup_read(c, argv[1], argvlen[1], &h);
    if (rc < 0)
        return;
    char nb[DICE__HASH_NUMBUF];
    const char *v;
    size_t vn;
    dice_reply_int(c,
                   rc && dice__hash_get(h, argv[2], argvlen[2], nb, &v, &vn));
}

enum { GET_FIELDS = 1, GET_VALUES = 2 };

/* HKEYS key, HVALS key, HGETALL key (arg: which of fields and values) */
static DICE__CMD_FN(cmd_hgetall) {
    unsigned what = (unsigned)(uintptr_t)arg;
    dice__hash *h;
    int rc = lookup_read(c, argv[1], argvlen[1], &h);
    if (rc < 0)
        return;
    size_t n = rc ? dice__hash_len(h) : 0;
    if (what == (GET_FIELDS | GET_VALUES))
        dice_reply_map(c, n);
    else
        dice_reply_array(c, n);
    if (!n)
        return;
    dice__hash_foreach(h,
                       what == GET_FIELDS   ? reply_pair_field
                       : what == GET_VALUES ? reply_pair_value
                                            : reply_pair,
                       c);
}

/* HINCRBY key field increment */
static DICE__CMD_FN(cmd_hincrby) {
    long long incr, old = 0;
    if (dice__parse_ll_or_reply(c, argv[3], argvlen[3], &incr) < 0)
        return;
    hwrite w;
    dice__hash *h = lookup_write(c, argv[1], argvlen[1], &w);
    if (!h)
        return;
    char nb[DICE__HASH_NUMBUF];
    const char *v;
    size_t vn;
    if (dice__hash_get(h, argv[2], argvlen[2], nb, &v, &vn) &&
        !dice__str2ll(v, vn, &old)) {
        abandon(&w, h);
        REPLY_ERR(c, "ERR hash value is not an integer");
        return;
    }
    if ((incr < 0 && old < 0 && incr < LLONG_MIN - old) ||
        (incr > 0 && old > 0 && incr > LLONG_MAX - old)) {
        abandon(&w, h);
        dice__reply_err(c, DICE__ERR_OVERFLOW);
        return;
    }
    long long nv = old + incr;
    char buf[DICE_FMT_LL_MAX];
    size_t bn = dice__fmt_ll(buf, nv);
    int rc = dice__hash_set(&h, limits(c), argv[2], argvlen[2], buf, bn);
    if (store_back(c, &w, &h) < 0)
        rc = DICE_ENOMEM;
    if (!h) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    if (rc < 0)
        dice__reply_err(c, DICE__ERR_NOMEM);
    else
        dice_reply_int(c, nv);
    written(c, "hincrby", argv[1], argvlen[1], h);
}

/* HINCRBYFLOAT key field increment */
static DICE__CMD_FN(cmd_hincrbyfloat) {
    long double incr, old = 0;
    if (!dice__str2ld(argv[3], argvlen[3], &incr)) {
        dice__reply_err(c, DICE__ERR_NOT_FLOAT);
        return;
    }
    if (isnan(incr) || isinf(incr)) {
        REPLY_ERR(c, "ERR value is NaN or Infinity");
        return;
    }
    hwrite w;
    dice__hash *h = lookup_write(c, argv[1], argvlen[1], &w);
    if (!h)
        return;
    char nb[DICE__HASH_NUMBUF];
    const char *v;
    size_t vn;
    if (dice__hash_get(h, argv[2], argvlen[2], nb, &v, &vn) &&
        !dice__str2ld(v, vn, &old)) {
        abandon(&w, h);
        REPLY_ERR(c, "ERR hash value is not a float");
        return;
    }
    long double nv = old + incr;
    if (isnan(nv) || isinf(nv)) {
        abandon(&w, h);
        dice__reply_err(c, DICE__ERR_NAN_INF);
        return;
    }
    char *buf = malloc(DICE_FMT_LDOUBLE_MAX);
    if (!buf) {
        abandon(&w, h);
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    /* Text too long for the buffer: empty, as Redis's ld2string gives. */
    size_t bn = dice__fmt_long_double_human(buf, nv);
    int rc = dice__hash_set(&h, limits(c), argv[2], argvlen[2], buf, bn);
    if (store_back(c, &w, &h) < 0)
        rc = DICE_ENOMEM;
    if (!h) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        free(buf);
        return;
    }
    if (rc < 0) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        dice__obj_written(c, argv[1], argvlen[1], dice__hash_len(h));
    } else {
        dice_reply_bulk(c, buf, bn);
        written(c, "hincrbyfloat", argv[1], argvlen[1], h);
        if (dice__propagating(c)) {
            const char *pv[4] = {"HSET", argv[1], argv[2], buf};
            size_t pl[4] = {4, argvlen[1], argvlen[2], bn};
            dice_client_propagate(c, 4, pv, pl);
        }
    }
    free(buf);
}

/* HRANDFIELD key [count [WITHVALUES]] */
static DICE__CMD_FN(cmd_hrandfield) {
    dice__hash *h;
    if (argc < 3) {
        int rc = lookup_read(c, argv[1], argvlen[1], &h);
        if (rc < 0)
            return;
        if (rc == 0) {
            dice_reply_null(c);
            return;
        }
        dice__hash_random(h, reply_pair_field, c);
        return;
    }
    long long l;
    if (dice__parse_ll_or_reply(c, argv[2], argvlen[2], &l) < 0)
        return;
    if (l < -LLONG_MAX) {
        dice__reply_errorf(c,
                           "ERR value is out of range, value must between %lld "
                           "and %lld",
                           -LLONG_MAX, LLONG_MAX);
        return;
    }
    int withvalues = 0;
    if (argc > 4 ||
        (argc == 4 && !dice__opt_is(argv[3], argvlen[3], "withvalues"))) {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return;
    }
    withvalues = argc == 4;
    if (withvalues && l < -LLONG_MAX / 2) {
        REPLY_ERR(c, "ERR value is out of range");
        return;
    }
    int rc = lookup_read(c, argv[1], argvlen[1], &h);
    if (rc < 0)
        return;
    if (rc == 0 || l == 0) {
        dice_reply_array(c, 0);
        return;
    }
    int distinct = l > 0;
    size_t count = (size_t)(l > 0 ? l : -l);
    size_t len = dice__hash_len(h);
    if (distinct && count > len)
        count = len;
    int resp3 = dice_client_proto(c) > 2;
    dice_reply_array(c, withvalues && !resp3 ? count * 2 : count);
    dice__hash_visit_fn fn = !withvalues ? reply_pair_field
                             : resp3     ? reply_pair_nested
                                         : reply_pair;
    if (dice__hash_random_many(h, count, distinct, fn, c) < 0)
        dice__reply_err(c, DICE__ERR_NOMEM); /* closes the client */
}

/* HSCAN's results before the reply: pointers into the hash (a table's
 * members stay put while the command runs); a listpack is walked twice
 * instead, counting then replying, as its integers are formatted. */
typedef struct scan_ctx {
    dice_client_t *c;
    const char *pat;
    size_t plen;
    size_t n; /* matching pairs */
    int emit;
    int collect;
    const char **items; /* f, v per pair (with lengths), table only */
    size_t *lens;
    size_t cap;
    int oom;
} scan_ctx;

static int scan_pair(void *ctx, const char *f, size_t fn, const char *v,
                     size_t vn) {
    scan_ctx *s = ctx;
    if (s->pat && !dice_glob_match(s->pat, s->plen, f, fn, 0))
        return 0;
    if (s->emit) {
        reply_pair(s->c, f, fn, v, vn);
        return 0;
    }
    if (s->collect) {
        if (s->n * 2 + 2 > s->cap) {
            size_t nc = s->cap ? s->cap * 2 : 32;
            const char **ni = realloc(s->items, nc * sizeof(*ni));
            if (ni)
                s->items = ni;
            size_t *nl = ni ? realloc(s->lens, nc * sizeof(*nl)) : NULL;
            if (nl)
                s->lens = nl;
            if (!ni || !nl) {
                s->oom = 1;
                return 1;
            }
            s->cap = nc;
        }
        s->items[2 * s->n] = f;
        s->lens[2 * s->n] = fn;
        s->items[2 * s->n + 1] = v;
        s->lens[2 * s->n + 1] = vn;
    }
    s->n++;
    return 0;
}

/* HSCAN key cursor [MATCH pattern] [COUNT count] */
static DICE__CMD_FN(cmd_hscan) {
    uint64_t cursor;
    if (dice__parse_cursor_or_reply(c, argv[2], argvlen[2], &cursor) < 0)
        return;
    dice__hash *h;
    int rc = lookup_read(c, argv[1], argvlen[1], &h);
    if (rc <= 0) {
        if (rc == 0)
            dice__reply_empty_scan(c);
        return;
    }
    dice__scan_opts o;
    if (dice__parse_scan_opts(c, argc, argv, argvlen, 3, false, &o) < 0)
        return;
    long long count = o.count;
    scan_ctx s = {c, NULL, 0, 0, 0, 0, NULL, NULL, 0, 0};
    s.pat = o.pat;
    s.plen = o.plen;
    if (dice__hash_encoding(h) == DICE__HASH_LISTPACK) {
        dice__hash_scan(h, 0, 0, scan_pair, &s);
        dice__reply_scan_cursor(c, 0);
        dice_reply_array(c, s.n * 2);
        s.emit = 1;
        dice__hash_scan(h, 0, 0, scan_pair, &s);
        return;
    }
    s.collect = 1;
    uint64_t next = dice__hash_scan(h, cursor, (size_t)count, scan_pair, &s);
    if (s.oom) {
        dice__reply_err(c, DICE__ERR_NOMEM);
    } else {
        dice__reply_scan_cursor(c, next);
        dice_reply_array(c, s.n * 2);
        for (size_t i = 0; i < s.n * 2; i++)
            dice_reply_bulk(c, s.items[i], s.lens[i]);
    }
    free(s.items);
    free(s.lens);
}

/* ---- registration --------------------------------------------------------
 */

#define W DICE_CMD_WRITE
#define R DICE_CMD_READONLY
#define M DICE_CMD_DENYOOM
#define F DICE_CMD_FAST
#define ORDER "nondeterministic_output_order"
#define NONDET "nondeterministic_output"
#define PAIRS(w) ((const void *)(uintptr_t)(w))

static const dice__cmd_desc hash_cmds[] = {
    {"hset", -4, W | M | F, 1, 1, 1, cmd_hset, NULL,
     "Set the values of one or more fields of a hash", "2.0.0",
     "O(1) for each field/value pair added, so O(N) to add N pairs", 0, NULL,
     NULL, NULL},
    {"hsetnx", 4, W | M | F, 1, 1, 1, cmd_hsetnx, NULL,
     "Set the value of a field of a hash only when the field is absent",
     "2.0.0", "O(1)", 0, NULL, NULL, NULL},
    {"hget", 3, R | F, 1, 1, 1, cmd_hget, NULL,
     "Return the value of a field of a hash", "2.0.0", "O(1)", 0, NULL, NULL,
     NULL},
    {"hmget", -3, R | F, 1, 1, 1, cmd_hmget, NULL,
     "Return the values of several fields of a hash", "2.0.0",
     "O(N) where N is the number of fields being requested", 0, NULL, NULL,
     NULL},
    {"hmset", -4, W | M | F, 1, 1, 1, cmd_hset, PAIRS(1),
     "Set the values of several fields of a hash (old form of HSET)", "2.0.0",
     "O(N) where N is the number of fields being set", 0, NULL, NULL, NULL},
    {"hdel", -3, W | F, 1, 1, 1, cmd_hdel, NULL,
     "Delete fields of a hash; the key goes with the last field", "2.0.0",
     "O(N) where N is the number of fields to be removed", 0, NULL, NULL, NULL},
    {"hlen", 2, R | F, 1, 1, 1, cmd_hlen, NULL,
     "Return the number of fields of a hash", "2.0.0", "O(1)", 0, NULL, NULL,
     NULL},
    {"hstrlen", 3, R | F, 1, 1, 1, cmd_hstrlen, NULL,
     "Return the length of the value of a field of a hash", "3.2.0", "O(1)", 0,
     NULL, NULL, NULL},
    {"hexists", 3, R | F, 1, 1, 1, cmd_hexists, NULL,
     "Whether a field exists in a hash", "2.0.0", "O(1)", 0, NULL, NULL, NULL},
    {"hkeys", 2, R, 1, 1, 1, cmd_hgetall, PAIRS(GET_FIELDS),
     "Return every field of a hash", "2.0.0",
     "O(N) where N is the size of the hash", 0, ORDER, NULL, NULL},
    {"hvals", 2, R, 1, 1, 1, cmd_hgetall, PAIRS(GET_VALUES),
     "Return every value of a hash", "2.0.0",
     "O(N) where N is the size of the hash", 0, ORDER, NULL, NULL},
    {"hgetall", 2, R, 1, 1, 1, cmd_hgetall, PAIRS(GET_FIELDS | GET_VALUES),
     "Return every field and value of a hash", "2.0.0",
     "O(N) where N is the size of the hash", 0, ORDER, NULL, NULL},
    {"hincrby", 4, W | M | F, 1, 1, 1, cmd_hincrby, NULL,
     "Add an integer to the integer value of a field of a hash", "2.0.0",
     "O(1)", 0, NULL, NULL, NULL},
    {"hincrbyfloat", 4, W | M | F, 1, 1, 1, cmd_hincrbyfloat, NULL,
     "Add a floating point number to the value of a field of a hash", "2.6.0",
     "O(1)", 0, NULL, NULL, NULL},
    {"hrandfield", -2, R, 1, 1, 1, cmd_hrandfield, NULL,
     "Return random fields (and values) of a hash", "6.2.0",
     "O(N) where N is the number of fields returned", 0, NONDET, NULL, NULL},
    {"hscan", -3, R, 1, 1, 1, cmd_hscan, NULL,
     "Iterate over the fields and values of a hash with a cursor", "2.8.0",
     "O(1) for every call. O(N) for a complete iteration, including enough "
     "command calls for the cursor to return back to 0. N is the number of "
     "elements inside the collection.",
     0, NONDET, NULL, NULL},
};

#undef W
#undef R
#undef M
#undef F

#define KS_OF(a) a, (int)DICE__COUNT(a)

/* Redis 7.0's key specs, for COMMAND INFO, where they differ from the
 * one derived from first/last/step (see lib/commands/server.c). */
static const dice__key_spec ks_rw_delete[] = {
    DICE__KS_RANGE(DICE__KS_RW | DICE__KS_DELETE, 1, 0, 1, 0)};
static const dice__key_spec ks_ro[] = {DICE__KS_RANGE(DICE__KS_RO, 1, 0, 1, 0)};
static const dice__key_spec ks_rw_access_update[] = {DICE__KS_RANGE(
    DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_UPDATE, 1, 0, 1, 0)};
static const dice__key_spec ks_rw_insert[] = {
    DICE__KS_RANGE(DICE__KS_RW | DICE__KS_INSERT, 1, 0, 1, 0)};
static const dice__cmd_keyspecs hash_keyspecs[] = {
    {"hdel", KS_OF(ks_rw_delete)},
    {"hexists", KS_OF(ks_ro)},
    {"hincrby", KS_OF(ks_rw_access_update)},
    {"hincrbyfloat", KS_OF(ks_rw_access_update)},
    {"hlen", KS_OF(ks_ro)},
    {"hsetnx", KS_OF(ks_rw_insert)},
    {"hstrlen", KS_OF(ks_ro)},
};
#undef KS_OF

int dice__builtin_hashes(dice_server_t *srv) {
    int rc = dice_keyspace_register_type(srv->keyspace, DICE_TYPE_HASH,
                                         &dice__hash_methods, srv->keyspace);
    if (rc < 0)
        return rc;
    int krc = dice__command_register(srv, NULL, "hash", hash_cmds,
                                     DICE__COUNT(hash_cmds));
    if (krc < 0)
        return krc;
    return dice__command_set_keyspecs(srv, hash_keyspecs,
                                      DICE__COUNT(hash_keyspecs));
}
