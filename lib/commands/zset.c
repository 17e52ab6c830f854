/* Sorted set commands, on the type's C API (lib/types/zset.h), in Redis
 * 7.0's t_zset.c shape: the parsing and reply helpers first ("API"), then
 * the commands, each headed by its syntax. Argument checks run in Redis's
 * order with its texts, so the same bytes get the same reply. The
 * blocking BZPOPMIN, BZPOPMAX and BZMPOP sit on the server's blocking
 * machinery (lib/server/blocking.h) and, like ZMPOP, propagate their
 * effect as ZPOPMIN/ZPOPMAX key [count], never their own form. */
#include "types/zset.h"
#include "commands/commands_internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- API: parsing, replies, lookups -------------------------------------- */

static const char ERR_MINMAX_FLOAT[] = "ERR min or max is not a float";
static const char ERR_MINMAX_LEX[] =
    "ERR min or max not valid string range item";
static const char ERR_NAN[] = "ERR resulting score is not a number (NaN)";

static void *zs_create_small(void *arg) {
    return dice__zs_new(arg != NULL);
}

static const dice__enc_limits *limits(dice_client_t *c) {
    return dice__keyspace_limits(c->srv->keyspace);
}

/* strtod over a NUL-terminated copy, as Redis's zslParseRange reads an
 * sds (which ends at its first NUL for strtod). 0 when not a number. */
static int parse_strtod(const char *s, size_t n, double *out) {
    char stack[256];
    char *b = n < sizeof(stack) ? stack : malloc(n + 1);
    if (!b)
        return 0;
    memcpy(b, s, n);
    b[n] = 0;
    char *end;
    *out = strtod(b, &end);
    int ok = *end == '\0' && !isnan(*out);
    if (b != stack)
        free(b);
    return ok;
}

/* zslParseRange: "(" for exclusive, then a float. */
static int parse_srange(const char *mn, size_t mnl, const char *mx, size_t mxl,
                        dice__zs_srange *r) {
    r->minex = r->maxex = 0;
    if (mnl && mn[0] == '(') {
        r->minex = 1;
        mn++, mnl--;
    }
    if (mxl && mx[0] == '(') {
        r->maxex = 1;
        mx++, mxl--;
    }
    return parse_strtod(mn, mnl, &r->min) && parse_strtod(mx, mxl, &r->max);
}

static int parse_lex_item(const char *s, size_t n, const char **v, size_t *vl,
                          int *ex, int *inf) {
    *inf = 0;
    *ex = 0;
    if (n == 0)
        return 0;
    switch (s[0]) {
    case '+':
    case '-':
        if (n != 1)
            return 0;
        *inf = s[0] == '+' ? 1 : -1;
        *v = NULL;
        *vl = 0;
        return 1;
    case '(':
    case '[':
        *ex = s[0] == '(';
        *v = s + 1;
        *vl = n - 1;
        return 1;
    default: return 0;
    }
}

static int parse_lrange(const char *mn, size_t mnl, const char *mx, size_t mxl,
                        dice__zs_lrange *r) {
    return parse_lex_item(mn, mnl, &r->min, &r->minlen, &r->minex,
                          &r->mininf) &&
           parse_lex_item(mx, mxl, &r->max, &r->maxlen, &r->maxex, &r->maxinf);
}

/* getLongFromObjectOrReply: a long long in long's range. */
static int parse_long(dice_client_t *c, const char *s, size_t n, long *out) {
    long long v;
    if (dice__parse_ll_or_reply(c, s, n, &v) < 0)
        return -1;
    *out = (long)v;
    return 0;
}

/* One member with its score, as ranges reply it: RESP3 nests the pair. */
static void reply_pair(dice_client_t *c, const char *m, size_t n, double s,
                       int withscores) {
    if (withscores && dice_client_proto(c) > 2)
        dice_reply_array(c, 2);
    dice_reply_bulk(c, m, n);
    if (withscores)
        dice_reply_double(c, s);
}

static size_t pairs_len(dice_client_t *c, size_t n, int withscores) {
    return withscores && dice_client_proto(c) == 2 ? 2 * n : n;
}

/* Reply count members walked from rank (rev: from the top). */
static void reply_walk(dice_client_t *c, dice__zset *z, size_t rank,
                       size_t count, int rev, int withscores) {
    dice_reply_array(c, pairs_len(c, count, withscores));
    dice__zs_iter it;
    const char *m;
    size_t n;
    double s;
    dice__zs_iter_init(&it, z, rank, rev);
    while (count-- && dice__zs_iter_next(&it, &m, &n, &s))
        reply_pair(c, m, n, s, withscores);
}

/* The zset at key for reading: 1 found, 0 missing (nothing replied,
 * "keymiss" fired), -1 WRONGTYPE replied. */
static int zs_read(dice_client_t *c, const char *key, size_t klen,
                   dice__zset **z) {
    void *o = NULL;
    int rc = dice__obj_lookup_read(c, key, klen, DICE_TYPE_ZSET, &o);
    *z = o;
    return rc;
}

/* The same for a write (no "keymiss"). */
static int zs_write(dice_client_t *c, const char *key, size_t klen,
                    dice__zset **z) {
    void *o = NULL;
    int rc = dice__obj_lookup(c, key, klen, DICE_TYPE_ZSET, &o);
    *z = o;
    return rc;
}

/* A zset write's event and the key's modification (or deletion). */
static void written(dice_client_t *c, const char *event, const char *key,
                    size_t klen, const dice__zset *z) {
    dice__cmd_notify(c, DICE__NOTIFY_ZSET, event, key, klen);
    dice__obj_written(c, key, klen, dice__zs_len(z));
}

/* Store a result at dst (replacing any value), or delete dst when the
 * result is empty (z may be NULL then); replies the length, then fires
 * event (or "del"), as Redis. Takes z. */
static void store_result(dice_client_t *c, const char *dst, size_t dl,
                         dice__zset *z, size_t maxlen, const char *event) {
    dice_db_t *db = dice__cmd_db(c);
    size_t len = z ? dice__zs_len(z) : 0;
    if (len == 0) {
        dice__zs_free(z);
        dice_reply_int(c, 0);
        if (dice_db_delete(db, dst, dl))
            dice__cmd_notify(c, DICE__NOTIFY_GENERIC, "del", dst, dl);
        return;
    }
    /* set_object takes z even when it fails. */
    z = dice__zs_fit(z, limits(c), maxlen);
    if (!z || dice_db_set_object(db, dst, dl, DICE_TYPE_ZSET, z, 0, 0) < 0) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    dice_reply_int(c, (long long)len);
    dice__cmd_notify(c, DICE__NOTIFY_ZSET, event, dst, dl);
}

/* ---- Commands ------------------------------------------------------------ */

/* ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
 * ZINCRBY key increment member (arg: non-NULL) */
static DICE__CMD_FN(cmd_zadd) {
    int in = arg ? DICE__ZADD_INCR : 0, ch = 0;
    int si = 2;
    if (!arg) {
        for (; si < argc; si++) {
            const char *o = argv[si];
            size_t ol = argvlen[si];
            if (ol == 0 || !((o[0] | 0x20) >= 'a' && (o[0] | 0x20) <= 'z'))
                break; /* a score: no option starts without a letter */
            if (dice__opt_is(o, ol, "nx"))
                in |= DICE__ZADD_NX;
            else if (dice__opt_is(o, ol, "xx"))
                in |= DICE__ZADD_XX;
            else if (dice__opt_is(o, ol, "ch"))
                ch = 1;
            else if (dice__opt_is(o, ol, "incr"))
                in |= DICE__ZADD_INCR;
            else if (dice__opt_is(o, ol, "gt"))
                in |= DICE__ZADD_GT;
            else if (dice__opt_is(o, ol, "lt"))
                in |= DICE__ZADD_LT;
            else
                break;
        }
    }
    int elements = argc - si;
    if (elements % 2 || !elements) {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return;
    }
    elements /= 2;
    int nx = in & DICE__ZADD_NX, xx = in & DICE__ZADD_XX;
    int gt = in & DICE__ZADD_GT, lt = in & DICE__ZADD_LT;
    int incr = in & DICE__ZADD_INCR;
    if (nx && xx) {
        dice__reply_errstr(
            c, "ERR XX and NX options at the same time are not compatible");
        return;
    }
    if ((gt && nx) || (lt && nx) || (gt && lt)) {
        dice__reply_errstr(c, "ERR GT, LT, and/or NX options at the same time "
                              "are not compatible");
        return;
    }
    if (incr && elements > 1) {
        dice__reply_errstr(
            c, "ERR INCR option supports a single increment-element pair");
        return;
    }
    /* Every score is checked before anything is written (as Redis); the
       first few are kept so that the loop below need not parse them
       again. */
    double parsed[16];
    for (int j = 0; j < elements; j++) {
        double d;
        if (dice__parse_double_or_reply(c, argv[si + 2 * j],
                                        argvlen[si + 2 * j], &d) < 0)
            return;
        if (j < (int)DICE__COUNT(parsed))
            parsed[j] = d;
    }
    void *o = NULL;
    int rc = dice__obj_lookup(c, argv[1], argvlen[1], DICE_TYPE_ZSET, &o);
    if (rc < 0)
        return;
    int created = 0;
    if (rc == 0) {
        if (xx) {
            if (incr)
                dice_reply_null(c);
            else
                dice_reply_int(c, 0);
            return;
        }
        const dice__enc_limits *l = limits(c);
        int big = l->zset_max_listpack_entries == 0 ||
                  (size_t)l->zset_max_listpack_value < argvlen[si + 1];
        if (dice__obj_lookup_create(c, argv[1], argvlen[1], DICE_TYPE_ZSET,
                                    zs_create_small, big ? (void *)1 : NULL, &o,
                                    &created) < 0)
            return;
    }
    dice__zset *z = o;
    long long added = 0, updated = 0, processed = 0;
    double score = 0;
    int nan = 0;
    for (int j = 0; j < elements; j++) {
        double d, ns;
        int out;
        if (j < (int)DICE__COUNT(parsed))
            d = parsed[j];
        else
            dice__str2d(argv[si + 2 * j], argvlen[si + 2 * j], &d);
        if (dice__zs_add(z, limits(c), d, argv[si + 2 * j + 1],
                         argvlen[si + 2 * j + 1], in, &out, &ns) < 0) {
            if (added || updated || created)
                dice__obj_written(c, argv[1], argvlen[1], dice__zs_len(z));
            dice__reply_err(c, DICE__ERR_NOMEM);
            return;
        }
        if (out & DICE__ZADD_NAN) {
            nan = 1;
            break;
        }
        if (out & DICE__ZADD_ADDED)
            added++;
        if (out & DICE__ZADD_UPDATED)
            updated++;
        if (!(out & DICE__ZADD_NOP)) {
            processed++;
            score = ns;
        }
    }
    if (nan)
        dice__reply_errstr(c, ERR_NAN);
    else if (incr) {
        if (processed)
            dice_reply_double(c, score);
        else
            dice_reply_null(c);
    } else {
        dice_reply_int(c, ch ? added + updated : added);
    }
    /* Redis replies, then fires "zadd" (or "zincr") if anything changed. */
    if (added || updated)
        written(c, incr ? "zincr" : "zadd", argv[1], argvlen[1], z);
    else if (created)
        dice__obj_written(c, argv[1], argvlen[1], dice__zs_len(z));
}

/* ZREM key member [member ...] */
static DICE__CMD_FN(cmd_zrem) {
    dice__zset *z;
    int rc = zs_write(c, argv[1], argvlen[1], &z);
    if (rc <= 0) {
        if (rc == 0)
            dice_reply_int(c, 0);
        return;
    }
    long long n = 0;
    for (int i = 2; i < argc && dice__zs_len(z); i++)
        n += dice__zs_del(z, argv[i], argvlen[i]);
    if (n)
        written(c, "zrem", argv[1], argvlen[1], z);
    dice_reply_int(c, n);
}

/* ZCARD key */
static DICE__CMD_FN(cmd_zcard) {
    dice__zset *z;
    int rc = zs_read(c, argv[1], argvlen[1], &z);
    if (rc >= 0)
        dice_reply_int(c, rc ? (long long)dice__zs_len(z) : 0);
}

/* ZCOUNT key min max ; ZLEXCOUNT key min max (arg non-NULL) */
static DICE__CMD_FN(cmd_zcount) {
    dice__zs_srange sr;
    dice__zs_lrange lr;
    if (!arg && !parse_srange(argv[2], argvlen[2], argv[3], argvlen[3], &sr)) {
        dice__reply_errstr(c, ERR_MINMAX_FLOAT);
        return;
    }
    if (arg && !parse_lrange(argv[2], argvlen[2], argv[3], argvlen[3], &lr)) {
        dice__reply_errstr(c, ERR_MINMAX_LEX);
        return;
    }
    dice__zset *z;
    int rc = zs_read(c, argv[1], argvlen[1], &z);
    if (rc <= 0) {
        if (rc == 0)
            dice_reply_int(c, 0);
        return;
    }
    size_t lo, hi;
    if (arg)
        dice__zs_lex_ranks(z, &lr, &lo, &hi);
    else
        dice__zs_score_ranks(z, &sr, &lo, &hi);
    dice_reply_int(c, hi > lo ? (long long)(hi - lo) : 0);
}

/* ZSCORE key member */
static DICE__CMD_FN(cmd_zscore) {
    dice__zset *z;
    double s;
    int rc = zs_read(c, argv[1], argvlen[1], &z);
    if (rc < 0)
        return;
    if (rc && dice__zs_score(z, argv[2], argvlen[2], &s))
        dice_reply_double(c, s);
    else
        dice_reply_null(c);
}

/* ZMSCORE key member [member ...] */
static DICE__CMD_FN(cmd_zmscore) {
    dice__zset *z;
    double s;
    int rc = zs_read(c, argv[1], argvlen[1], &z);
    if (rc < 0)
        return;
    dice_reply_array(c, (size_t)(argc - 2));
    for (int i = 2; i < argc; i++) {
        if (rc && dice__zs_score(z, argv[i], argvlen[i], &s))
            dice_reply_double(c, s);
        else
            dice_reply_null(c);
    }
}

/* ZRANK key member ; ZREVRANK key member (arg non-NULL) */
static DICE__CMD_FN(cmd_zrank) {
    dice__zset *z;
    int rc = zs_read(c, argv[1], argvlen[1], &z);
    if (rc < 0)
        return;
    long r = rc ? dice__zs_rank(z, argv[2], argvlen[2], arg != NULL, NULL) : -1;
    if (r < 0)
        dice_reply_null(c);
    else
        dice_reply_int(c, r);
}

/* The ZRANGE family: one generic command, as Redis's zrangeGenericCommand.
 * arg points at the form's fixed settings. */
enum { RT_AUTO, RT_RANK, RT_SCORE, RT_LEX };
enum { DIR_AUTO, DIR_FWD, DIR_REV };
typedef struct zrange_form {
    int rangetype, dir, store;
} zrange_form;

static void zrange_generic(dice_client_t *c, int argc, const char *const *argv,
                           const size_t *argvlen, const zrange_form *f) {
    int start = f->store ? 2 : 1; /* the source key */
    int rangetype = f->rangetype, dir = f->dir, withscores = 0;
    long offset = 0, limit = -1;
    for (int j = start + 3; j < argc; j++) {
        int left = argc - j - 1;
        const char *o = argv[j];
        size_t ol = argvlen[j];
        if (!f->store && dice__opt_is(o, ol, "withscores")) {
            withscores = 1;
        } else if (dice__opt_is(o, ol, "limit") && left >= 2) {
            if (parse_long(c, argv[j + 1], argvlen[j + 1], &offset) < 0 ||
                parse_long(c, argv[j + 2], argvlen[j + 2], &limit) < 0)
                return;
            j += 2;
        } else if (dir == DIR_AUTO && dice__opt_is(o, ol, "rev")) {
            dir = DIR_REV;
        } else if (rangetype == RT_AUTO && dice__opt_is(o, ol, "bylex")) {
            rangetype = RT_LEX;
        } else if (rangetype == RT_AUTO && dice__opt_is(o, ol, "byscore")) {
            rangetype = RT_SCORE;
        } else {
            dice__reply_err(c, DICE__ERR_SYNTAX);
            return;
        }
    }
    if (dir == DIR_AUTO)
        dir = DIR_FWD;
    if (rangetype == RT_AUTO)
        rangetype = RT_RANK;
    if (limit != -1 && rangetype == RT_RANK) {
        dice__reply_errstr(c, "ERR syntax error, LIMIT is only supported in "
                              "combination with either BYSCORE or BYLEX");
        return;
    }
    if (withscores && rangetype == RT_LEX) {
        dice__reply_errstr(c, "ERR syntax error, WITHSCORES not supported in "
                              "combination with BYLEX");
        return;
    }
    int minidx = start + 1, maxidx = start + 2;
    if (dir == DIR_REV && rangetype != RT_RANK) {
        minidx = start + 2;
        maxidx = start + 1;
    }
    long rs = 0, re = 0;
    dice__zs_srange sr;
    dice__zs_lrange lr;
    if (rangetype == RT_RANK) {
        if (parse_long(c, argv[minidx], argvlen[minidx], &rs) < 0 ||
            parse_long(c, argv[maxidx], argvlen[maxidx], &re) < 0)
            return;
    } else if (rangetype == RT_SCORE) {
        if (!parse_srange(argv[minidx], argvlen[minidx], argv[maxidx],
                          argvlen[maxidx], &sr)) {
            dice__reply_errstr(c, ERR_MINMAX_FLOAT);
            return;
        }
    } else if (!parse_lrange(argv[minidx], argvlen[minidx], argv[maxidx],
                             argvlen[maxidx], &lr)) {
        dice__reply_errstr(c, ERR_MINMAX_LEX);
        return;
    }
    dice__zset *z;
    int rc = zs_read(c, argv[start], argvlen[start], &z);
    if (rc <= 0) {
        if (rc == 0) {
            if (f->store)
                store_result(c, argv[1], argvlen[1], NULL, 0, "zrangestore");
            else
                dice_reply_array(c, 0);
        }
        return;
    }
    int rev = dir == DIR_REV;
    size_t len = dice__zs_len(z);
    size_t from = 0, count = 0; /* in the walk's direction */
    if (rangetype == RT_RANK) {
        long llen = (long)len;
        if (rs < 0)
            rs += llen;
        if (re < 0)
            re += llen;
        if (rs < 0)
            rs = 0;
        if (!(rs > re || rs >= llen)) {
            if (re >= llen)
                re = llen - 1;
            from = (size_t)rs;
            count = (size_t)(re - rs + 1);
        }
    } else {
        size_t lo, hi;
        if (rangetype == RT_SCORE)
            dice__zs_score_ranks(z, &sr, &lo, &hi);
        else
            dice__zs_lex_ranks(z, &lr, &lo, &hi);
        if (hi > lo && offset >= 0 && !(offset > 0 && (size_t)offset >= len)) {
            size_t avail = hi - lo;
            if ((size_t)offset < avail) {
                avail -= (size_t)offset;
                from = (rev ? len - hi : lo) + (size_t)offset;
                count =
                    limit >= 0 && (size_t)limit < avail ? (size_t)limit : avail;
            }
        }
    }
    if (!f->store) {
        reply_walk(c, z, from, count, rev, withscores);
        return;
    }
    dice__zset *dst = dice__zs_new(0);
    if (!dst) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    dice__zs_iter it;
    const char *m;
    size_t n, maxlen = 0;
    double s;
    dice__zs_iter_init(&it, z, from, rev);
    while (count-- && dice__zs_iter_next(&it, &m, &n, &s)) {
        int out;
        if (dice__zs_add(dst, limits(c), s, m, n, 0, &out, NULL) < 0) {
            dice__zs_free(dst);
            dice__reply_err(c, DICE__ERR_NOMEM);
            return;
        }
        if (n > maxlen)
            maxlen = n;
    }
    store_result(c, argv[1], argvlen[1], dst, maxlen, "zrangestore");
}

static const zrange_form F_ZRANGE = {RT_AUTO, DIR_AUTO, 0};
static const zrange_form F_ZRANGESTORE = {RT_AUTO, DIR_AUTO, 1};
static const zrange_form F_ZREVRANGE = {RT_RANK, DIR_REV, 0};
static const zrange_form F_BYSCORE = {RT_SCORE, DIR_FWD, 0};
static const zrange_form F_REVBYSCORE = {RT_SCORE, DIR_REV, 0};
static const zrange_form F_BYLEX = {RT_LEX, DIR_FWD, 0};
static const zrange_form F_REVBYLEX = {RT_LEX, DIR_REV, 0};

/* ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count]
 *        [WITHSCORES]
 * ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]
 * ZREVRANGE key start stop [WITHSCORES]
 * ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
 * ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
 * ZRANGEBYLEX key min max [LIMIT offset count]
 * ZREVRANGEBYLEX key max min [LIMIT offset count] */
static DICE__CMD_FN(cmd_zrange) {
    zrange_generic(c, argc, argv, argvlen, arg);
}

/* ZREMRANGEBYRANK key start stop ; ZREMRANGEBYSCORE key min max ;
 * ZREMRANGEBYLEX key min max (arg: the RT_* kind) */
static DICE__CMD_FN(cmd_zremrange) {
    int kind = (int)(intptr_t)arg;
    long rs = 0, re = 0;
    dice__zs_srange sr;
    dice__zs_lrange lr;
    if (kind == RT_RANK) {
        if (parse_long(c, argv[2], argvlen[2], &rs) < 0 ||
            parse_long(c, argv[3], argvlen[3], &re) < 0)
            return;
    } else if (kind == RT_SCORE) {
        if (!parse_srange(argv[2], argvlen[2], argv[3], argvlen[3], &sr)) {
            dice__reply_errstr(c, ERR_MINMAX_FLOAT);
            return;
        }
    } else if (!parse_lrange(argv[2], argvlen[2], argv[3], argvlen[3], &lr)) {
        dice__reply_errstr(c, ERR_MINMAX_LEX);
        return;
    }
    dice__zset *z;
    int rc = zs_write(c, argv[1], argvlen[1], &z);
    if (rc <= 0) {
        if (rc == 0)
            dice_reply_int(c, 0);
        return;
    }
    size_t lo, hi;
    if (kind == RT_RANK) {
        long llen = (long)dice__zs_len(z);
        if (rs < 0)
            rs += llen;
        if (re < 0)
            re += llen;
        if (rs < 0)
            rs = 0;
        if (rs > re || rs >= llen) {
            dice_reply_int(c, 0);
            return;
        }
        if (re >= llen)
            re = llen - 1;
        lo = (size_t)rs;
        hi = (size_t)re + 1;
    } else if (kind == RT_SCORE) {
        dice__zs_score_ranks(z, &sr, &lo, &hi);
    } else {
        dice__zs_lex_ranks(z, &lr, &lo, &hi);
    }
    if (hi <= lo) {
        dice_reply_int(c, 0);
        return;
    }
    size_t n = dice__zs_del_ranks(z, lo, hi - 1);
    written(c,
            kind == RT_RANK    ? "zremrangebyrank"
            : kind == RT_SCORE ? "zremrangebyscore"
                               : "zremrangebylex",
            argv[1], argvlen[1], z);
    dice_reply_int(c, (long long)n);
}

/* Pops for ZPOPMIN/ZPOPMAX/ZMPOP: reply each popped pair as it goes. */
typedef struct pop_reply {
    dice_client_t *c;
    int nested;
} pop_reply;

static void pop_one(void *ctx, const char *m, size_t n, double s) {
    pop_reply *p = ctx;
    if (p->nested)
        dice_reply_array(p->c, 2);
    dice_reply_bulk(p->c, m, n);
    dice_reply_double(p->c, s);
}

/* Reply shapes of the pops. */
enum {
    ZP_POP,  /* ZPOPMIN/ZPOPMAX: [m, s, ...] (RESP3 with count: pairs) */
    ZP_BPOP, /* BZPOPMIN/BZPOPMAX: [key, m, s] */
    ZP_MPOP  /* ZMPOP/BZMPOP: [key, [[m, s], ...]] */
};

/* Pop up to count (-1: not given, one) members of the non-empty z at key
 * and reply them in shape; deletes the emptied key. Returns how many were
 * popped. */
static size_t zpop_from(dice_client_t *c, dice__zset *z, const char *key,
                        size_t klen, int max, long count, int shape) {
    size_t want = count < 0 ? 1 : (size_t)count;
    size_t len = dice__zs_len(z);
    size_t n = want < len ? want : len;
    /* RESP3 nests pairs when a count was given (ZMPOP: always). */
    int nested = shape == ZP_MPOP ||
                 (shape == ZP_POP && count >= 0 && dice_client_proto(c) > 2);
    if (shape == ZP_MPOP) {
        dice_reply_array(c, 2);
        dice_reply_bulk(c, key, klen);
        dice_reply_array(c, n);
    } else if (shape == ZP_BPOP) {
        dice_reply_array(c, 3);
        dice_reply_bulk(c, key, klen);
    } else {
        dice_reply_array(c, nested ? n : 2 * n);
    }
    pop_reply pr = {c, nested};
    dice__zs_pop(z, max, n, pop_one, &pr);
    /* After the whole reply (Redis 7.0 sends the push inside the array
     * reply, a bug 7.2 fixed). */
    written(c, max ? "zpopmax" : "zpopmin", key, klen, z);
    return n;
}

/* Propagate a pop's effect: "ZPOPMIN key" (count -1) or "ZPOPMIN key
 * count" (ZPOPMAX for max). */
static void propagate_zpop(dice_client_t *c, const char *key, size_t klen,
                           int max, long count) {
    if (!dice__propagating(c))
        return;
    char num[DICE_FMT_LL_MAX];
    const char *pv[3] = {max ? "ZPOPMAX" : "ZPOPMIN", key, num};
    size_t pl[3] = {7, klen, 0};
    if (count >= 0)
        pl[2] = dice__fmt_ll(num, (long long)count);
    dice_client_propagate(c, count >= 0 ? 3 : 2, pv, pl);
}

/* Pop from the first non-empty key of keys (argv indexes first..last),
 * as Redis's genericZpopCommand; count -1: not given. */
static void zpop_generic(dice_client_t *c, const char *const *argv,
                         const size_t *argvlen, int first, int last, int max,
                         long count, int zmpop) {
    dice__zset *z = NULL;
    int k = first;
    for (; k <= last; k++) {
        int rc = zs_write(c, argv[k], argvlen[k], &z);
        if (rc < 0)
            return;
        if (rc)
            break;
    }
    if (k > last) {
        if (zmpop)
            dice_reply_null_array(c);
        else
            dice_reply_array(c, 0);
        return;
    }
    zpop_from(c, z, argv[k], argvlen[k], max, count, zmpop ? ZP_MPOP : ZP_POP);
    /* ZMPOP goes out as ZPOPMIN/ZPOPMAX key count (the count asked for,
     * as Redis rewrites it). */
    if (zmpop)
        propagate_zpop(c, argv[k], argvlen[k], max, count);
}

/* ZPOPMIN key [count] ; ZPOPMAX key [count] (arg non-NULL) */
static DICE__CMD_FN(cmd_zpop) {
    long count = -1;
    if (argc > 3) {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return;
    }
    if (argc == 3) {
        long long v;
        /* getPositiveLongFromObjectOrReply: one text for both faults. */
        if (!dice__str2ll(argv[2], argvlen[2], &v) || v < 0) {
            dice__reply_errstr(c,
                               "ERR value is out of range, must be positive");
            return;
        }
        count = (long)v;
        if (count == 0) {
            dice_reply_array(c, 0);
            return;
        }
    }
    zpop_generic(c, argv, argvlen, 1, 1, arg != NULL, count, 0);
}

/* numkeys as getRangeLongFromObjectOrReply(1, LONG_MAX) reads it. */
static int parse_numkeys(dice_client_t *c, const char *s, size_t n, long *out,
                         const char *err) {
    long long v;
    /* getRangeLongFromObjectOrReply with a message: one text for both. */
    if (!dice__str2ll(s, n, &v) || v < 1 || v > LONG_MAX) {
        dice__reply_errstr(c, err);
        return -1;
    }
    *out = (long)v;
    return 0;
}

/* The parsed form of ZMPOP / BZMPOP. */
typedef struct {
    int first, last; /* keys at argv[first..last] */
    int max;
    long count;
} zmpop_args;

/* numkeys at argv[at], keys, MIN|MAX, [COUNT count], as Redis's
 * zmpopGenericCommand parses them. Returns 0, or -1 after an error reply. */
static int parse_zmpop(dice_client_t *c, int argc, const char *const *argv,
                       const size_t *argvlen, int at, zmpop_args *a) {
    long numkeys, count = -1;
    if (parse_numkeys(c, argv[at], argvlen[at], &numkeys,
                      "ERR numkeys should be greater than 0") < 0)
        return -1;
    if (numkeys > argc || at + 1 + numkeys >= argc) {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return -1;
    }
    int wi = at + 1 + (int)numkeys;
    if (dice__opt_is(argv[wi], argvlen[wi], "min"))
        a->max = 0;
    else if (dice__opt_is(argv[wi], argvlen[wi], "max"))
        a->max = 1;
    else {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return -1;
    }
    for (int j = wi + 1; j < argc; j++) {
        int more = argc - 1 - j;
        if (count == -1 && dice__opt_is(argv[j], argvlen[j], "count") && more) {
            j++;
            if (parse_numkeys(c, argv[j], argvlen[j], &count,
                              "ERR count should be greater than 0") < 0)
                return -1;
        } else {
            dice__reply_err(c, DICE__ERR_SYNTAX);
            return -1;
        }
    }
    a->first = at + 1;
    a->last = wi - 1;
    a->count = count == -1 ? 1 : count;
    return 0;
}

/* ZMPOP numkeys key [key ...] MIN|MAX [COUNT count] */
static DICE__CMD_FN(cmd_zmpop) {
    zmpop_args a;
    if (parse_zmpop(c, argc, argv, argvlen, 1, &a) < 0)
        return;
    zpop_generic(c, argv, argvlen, a.first, a.last, a.max, a.count, 1);
}

/* ---- blocking forms ------------------------------------------------------ */

/* What a client blocked in BZPOPMIN/BZPOPMAX/BZMPOP waits to do. */
typedef struct {
    int max;
    long count; /* -1: BZPOPMIN/BZPOPMAX, else BZMPOP's */
} bzpop_pd;

/* Serve c from key if it holds a non-empty zset now (else stay blocked,
 * also when it holds another type, as Redis 7.0 does): the reply, then
 * the effect as ZPOPMIN/ZPOPMAX key [n], n the members popped. */
static int retry_zset(dice_client_t *c, const char *key, size_t klen,
                      void *arg) {
    bzpop_pd *pd = arg;
    void *o;
    if (dice_db_get_object(dice__cmd_db(c), key, klen, DICE_TYPE_ZSET, &o) <
            0 ||
        dice__zs_len(o) == 0)
        return 0;
    size_t n = zpop_from(c, o, key, klen, pd->max, pd->count,
                         pd->count < 0 ? ZP_BPOP : ZP_MPOP);
    propagate_zpop(c, key, klen, pd->max, pd->count < 0 ? -1 : (long)n);
    return 1;
}

/* BZPOPMIN/BZPOPMAX/BZMPOP once the arguments are parsed: pop from the
 * first non-empty key at once (WRONGTYPE on a key of another type met
 * before it), else block on all of them (inside MULTI or a session: the
 * timeout's null array at once). */
static void bzpop_generic(dice_client_t *c, int nkeys, const char *const *keys,
                          const size_t *klens, const char *tmo, size_t tlen,
                          int max, long count) {
    int64_t deadline;
    if (dice__block_timeout_parse(c, tmo, tlen, DICE__TIMEOUT_SECONDS,
                                  &deadline) < 0)
        return;
    for (int i = 0; i < nkeys; i++) {
        dice__zset *z;
        int rc = zs_write(c, keys[i], klens[i], &z);
        if (rc < 0)
            return;
        if (rc) {
            zpop_from(c, z, keys[i], klens[i], max, count,
                      count < 0 ? ZP_BPOP : ZP_MPOP);
            propagate_zpop(c, keys[i], klens[i], max, count);
            return;
        }
    }
    bzpop_pd *pd = malloc(sizeof(*pd));
    if (!pd) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    pd->max = max;
    pd->count = count;
    dice__block_spec spec = {retry_zset, NULL, free, pd};
    dice__client_block(c, nkeys, keys, klens, deadline, &spec);
}

/* BZPOPMIN key [key ...] timeout ; BZPOPMAX (arg non-NULL) */
static DICE__CMD_FN(cmd_bzpop) {
    bzpop_generic(c, argc - 2, argv + 1, argvlen + 1, argv[argc - 1],
                  argvlen[argc - 1], arg != NULL, -1);
}

/* BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count] */
static DICE__CMD_FN(cmd_bzmpop) {
    zmpop_args a;
    if (parse_zmpop(c, argc, argv, argvlen, 2, &a) < 0)
        return;
    bzpop_generic(c, a.last - a.first + 1, argv + a.first, argvlen + a.first,
                  argv[1], argvlen[1], a.max, a.count);
}

/* ZRANDMEMBER key [count [WITHSCORES]] */
static DICE__CMD_FN(cmd_zrandmember) {
    dice__zset *z;
    unsigned char buf[DICE__LP_INTBUF];
    const char *m;
    size_t n;
    double s;
    if (argc == 2) {
        int rc = zs_read(c, argv[1], argvlen[1], &z);
        if (rc < 0)
            return;
        if (rc && dice__zs_random(z, &m, &n, &s, buf))
            dice_reply_bulk(c, m, n);
        else
            dice_reply_null(c);
        return;
    }
    long long l;
    if (dice__parse_ll_or_reply(c, argv[2], argvlen[2], &l) < 0)
        return;
    if (l < -LONG_MAX) {
        dice__reply_errstr(c, "ERR value is out of range, value must between "
                              "-9223372036854775807 and 9223372036854775807");
        return;
    }
    int withscores = 0;
    if (argc > 4 ||
        (argc == 4 && !dice__opt_is(argv[3], argvlen[3], "withscores"))) {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return;
    }
    if (argc == 4) {
        withscores = 1;
        if (l < -LONG_MAX / 2 || l > LONG_MAX / 2) {
            dice__reply_errstr(c, "ERR value is out of range");
            return;
        }
    }
    int rc = zs_read(c, argv[1], argvlen[1], &z);
    if (rc <= 0) {
        if (rc == 0)
            dice_reply_array(c, 0);
        return;
    }
    if (l == 0) {
        dice_reply_array(c, 0);
        return;
    }
    size_t len = dice__zs_len(z);
    if (l < 0) {
        /* Repetitions allowed: count independent draws. */
        size_t cnt = (size_t)(-l);
        dice_reply_array(c, pairs_len(c, cnt, withscores));
        while (cnt--) {
            dice__zs_random(z, &m, &n, &s, buf);
            reply_pair(c, m, n, s, withscores);
        }
        return;
    }
    size_t cnt = (size_t)l;
    if (cnt >= len) {
        /* The whole set, highest first, as redis-server 7.0 replies. */
        reply_walk(c, z, 0, len, 1, withscores);
        return;
    }
    /* Distinct members: a partial Fisher-Yates over the ranks. */
    size_t *pick = malloc(len * sizeof(size_t));
    if (!pick) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    for (size_t i = 0; i < len; i++)
        pick[i] = i;
    dice_reply_array(c, pairs_len(c, cnt, withscores));
    for (size_t i = 0; i < cnt; i++) {
        size_t j = i + (size_t)random() % (len - i);
        size_t t = pick[i];
        pick[i] = pick[j];
        pick[j] = t;
        dice__zs_iter it;
        dice__zs_iter_init(&it, z, pick[i], 0);
        dice__zs_iter_next(&it, &m, &n, &s);
        reply_pair(c, m, n, s, withscores);
    }
    free(pick);
}

/* ZSCAN key cursor [MATCH pattern] [COUNT count] */
typedef struct zscan_ctx {
    const char *pat;
    size_t plen;
    char (*out)[2];
    const char **m;
    size_t *ml;
    double *s;
    size_t n, cap;
    int oom;
} zscan_ctx;

static void zscan_one(void *ctx, const char *m, size_t n, double s) {
    zscan_ctx *z = ctx;
    if (z->pat && !dice_glob_match(z->pat, z->plen, m, n, 0))
        return;
    if (z->n == z->cap) {
        size_t nc = z->cap ? 2 * z->cap : 16;
        const char **nm = realloc(z->m, nc * sizeof(*nm));
        if (nm)
            z->m = nm;
        size_t *nl = realloc(z->ml, nc * sizeof(*nl));
        if (nl)
            z->ml = nl;
        double *ns = realloc(z->s, nc * sizeof(*ns));
        if (ns)
            z->s = ns;
        if (!nm || !nl || !ns) {
            z->oom = 1;
            return;
        }
        z->cap = nc;
    }
    z->m[z->n] = m;
    z->ml[z->n] = n;
    z->s[z->n++] = s;
}

static DICE__CMD_FN(cmd_zscan) {
    uint64_t cursor;
    if (dice__parse_cursor_or_reply(c, argv[2], argvlen[2], &cursor) < 0)
        return;
    dice__zset *z;
    int rc = zs_read(c, argv[1], argvlen[1], &z);
    if (rc <= 0) {
        if (rc == 0)
            dice__reply_empty_scan(c);
        return;
    }
    dice__scan_opts o;
    if (dice__parse_scan_opts(c, argc, argv, argvlen, 3, false, &o) < 0)
        return;
    const char *pat = o.pat;
    size_t plen = o.plen;
    long long count = o.count;
    zscan_ctx x = {pat, plen, NULL, NULL, NULL, NULL, 0, 0, 0};
    uint64_t next = dice__zs_scan(z, cursor, (size_t)count, zscan_one, &x);
    if (x.oom) {
        free(x.m), free(x.ml), free(x.s);
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    dice__reply_scan_cursor(c, next);
    dice_reply_array(c, 2 * x.n);
    for (size_t i = 0; i < x.n; i++) {
        char sb[DICE_FMT_DOUBLE_MAX];
        dice_reply_bulk(c, x.m[i], x.ml[i]);
        dice_reply_bulk(c, sb, dice__fmt_double(sb, x.s[i]));
    }
    free(x.m), free(x.ml), free(x.s);
}

/* ---- ZUNION / ZINTER / ZDIFF and their STORE forms, ZINTERCARD ---------- */

enum { OP_UNION, OP_INTER, OP_DIFF };
enum { AGG_SUM, AGG_MIN, AGG_MAX };
typedef struct setop_form {
    int op, store, card;
    const char *name;
} setop_form;

/* A plain set as an input (Redis accepts them, scores 1): its members,
 * gathered through the set type's emit method into a zset. */
typedef struct emit_into {
    dice__zset *z;
    const dice__enc_limits *l;
    int oom;
} emit_into;

static int emit_member(void *ctx, int argc, const char *const *argv,
                       const size_t *argvlen) {
    emit_into *e = ctx;
    for (int i = 2; i < argc; i++) {
        int out;
        if (dice__zs_add(e->z, e->l, 1.0, argv[i], argvlen[i], 0, &out, NULL) <
            0) {
            e->oom = 1;
            return DICE_ENOMEM;
        }
    }
    return 0;
}

typedef struct setop_src {
    dice__zset *z;
    int owned; /* converted from a plain set */
    double w;
} setop_src;

static double weigh(double s, double w) {
    double v = s * w;
    return isnan(v) ? 0 : v;
}

static double aggregate(int agg, double a, double b) {
    if (agg == AGG_SUM) {
        double v = a + b;
        return isnan(v) ? 0 : v;
    }
    if (agg == AGG_MIN)
        return a < b ? a : b;
    return a > b ? a : b;
}

static int cmp_src(const void *a, const void *b) {
    size_t x =
        ((const setop_src *)a)->z ? dice__zs_len(((const setop_src *)a)->z) : 0;
    size_t y =
        ((const setop_src *)b)->z ? dice__zs_len(((const setop_src *)b)->z) : 0;
    return x < y ? -1 : x > y;
}

static void setop_generic(dice_client_t *c, int argc, const char *const *argv,
                          const size_t *argvlen, const setop_form *f) {
    int ni = f->store ? 2 : 1;
    long setnum;
    if (parse_long(c, argv[ni], argvlen[ni], &setnum) < 0)
        return;
    if (setnum < 1) {
        dice__reply_errorf(
            c, "ERR at least 1 input key is needed for '%s' command", f->name);
        return;
    }
    if (setnum > argc - (ni + 1)) {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return;
    }
    setop_src *src = calloc((size_t)setnum, sizeof(*src));
    if (!src) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    dice_db_t *db = dice__cmd_db(c);
    int j = ni + 1;
    int withscores = 0, agg = AGG_SUM;
    long limit = 0;
    dice__zset *dst = NULL;
    for (long i = 0; i < setnum; i++, j++) {
        src[i].w = 1.0;
        void *o;
        if (dice_db_get_object(db, argv[j], argvlen[j], DICE_TYPE_ZSET, &o) ==
            0) {
            src[i].z = o;
            continue;
        }
        if (dice_db_get_object(db, argv[j], argvlen[j], DICE_TYPE_SET, &o) ==
            0) {
            const dice_type_methods *m;
            void *mctx;
            emit_into e = {dice__zs_new(0), limits(c), 0};
            if (!e.z ||
                dice_keyspace_type_methods(c->srv->keyspace, DICE_TYPE_SET, &m,
                                           &mctx) < 0 ||
                !m->emit_commands ||
                m->emit_commands(mctx, argv[j], argvlen[j], o, emit_member,
                                 &e) < 0) {
                dice__zs_free(e.z);
                dice__reply_err(c, DICE__ERR_NOMEM);
                goto out;
            }
            src[i].z = e.z;
            src[i].owned = 1;
            continue;
        }
        if (dice_db_exists(db, argv[j], argvlen[j])) {
            dice__reply_err(c, DICE__ERR_WRONGTYPE);
            goto out;
        }
        /* A missing source reads as empty (Redis's lookupKeyRead). */
        dice__cmd_keymiss(c, argv[j], argvlen[j]);
    }
    while (j < argc) {
        int remaining = argc - j;
        if (f->op != OP_DIFF && !f->card && remaining >= setnum + 1 &&
            dice__opt_is(argv[j], argvlen[j], "weights")) {
            j++;
            for (long i = 0; i < setnum; i++, j++) {
                if (!dice__str2d(argv[j], argvlen[j], &src[i].w)) {
                    dice__reply_errstr(c, "ERR weight value is not a float");
                    goto out;
                }
            }
        } else if (f->op != OP_DIFF && !f->card && remaining >= 2 &&
                   dice__opt_is(argv[j], argvlen[j], "aggregate")) {
            j++;
            if (dice__opt_is(argv[j], argvlen[j], "sum"))
                agg = AGG_SUM;
            else if (dice__opt_is(argv[j], argvlen[j], "min"))
                agg = AGG_MIN;
            else if (dice__opt_is(argv[j], argvlen[j], "max"))
                agg = AGG_MAX;
            else {
                dice__reply_err(c, DICE__ERR_SYNTAX);
                goto out;
            }
            j++;
        } else if (!f->store && !f->card &&
                   dice__opt_is(argv[j], argvlen[j], "withscores")) {
            j++;
            withscores = 1;
        } else if (f->card && remaining >= 2 &&
                   dice__opt_is(argv[j], argvlen[j], "limit")) {
            j++;
            if (parse_long(c, argv[j], argvlen[j], &limit) < 0)
                goto out;
            if (limit < 0) {
                dice__reply_errstr(c, "ERR LIMIT can't be negative");
                goto out;
            }
            j++;
        } else {
            dice__reply_err(c, DICE__ERR_SYNTAX);
            goto out;
        }
    }
    /* The result, built big (it is walked in order afterwards). */
    dst = dice__zs_new(1);
    if (!dst) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        goto out;
    }
    const dice__enc_limits *l = limits(c);
    size_t maxlen = 0;
    long long card = 0;
    dice__zs_iter it;
    const char *m;
    size_t n;
    double s, os;
    int out_flags;
    /* Smallest first, as Redis orders the inputs of a union or an
     * intersection (the order shows: float sums, the sign of a zero). */
    if (f->op != OP_DIFF)
        qsort(src, (size_t)setnum, sizeof(*src), cmp_src);
    if (f->op == OP_INTER) {
        if (src[0].z) {
            dice__zs_iter_init(&it, src[0].z, 0, 0);
            while (dice__zs_iter_next(&it, &m, &n, &s)) {
                double v = weigh(s, src[0].w);
                long i = 1;
                for (; i < setnum; i++) {
                    if (!src[i].z || !dice__zs_score(src[i].z, m, n, &os))
                        break;
                    v = aggregate(agg, v, weigh(os, src[i].w));
                }
                if (i < setnum)
                    continue;
                if (f->card) {
                    card++;
                    if (limit && card >= limit)
                        break;
                    continue;
                }
                if (dice__zs_add(dst, l, v, m, n, 0, &out_flags, NULL) < 0)
                    goto oom;
                if (n > maxlen)
                    maxlen = n;
            }
        }
    } else if (f->op == OP_UNION) {
        for (long i = 0; i < setnum; i++) {
            if (!src[i].z)
                continue;
            dice__zs_iter_init(&it, src[i].z, 0, 0);
            while (dice__zs_iter_next(&it, &m, &n, &s)) {
                double v = weigh(s, src[i].w);
                if (dice__zs_score(dst, m, n, &os))
                    v = aggregate(agg, os, v);
                if (dice__zs_add(dst, l, v, m, n, 0, &out_flags, NULL) < 0)
                    goto oom;
                if (n > maxlen)
                    maxlen = n;
            }
        }
    } else if (src[0].z) {
        dice__zs_iter_init(&it, src[0].z, 0, 0);
        while (dice__zs_iter_next(&it, &m, &n, &s)) {
            long i = 1;
            for (; i < setnum; i++)
                if (src[i].z && dice__zs_score(src[i].z, m, n, &os))
                    break;
            if (i < setnum)
                continue;
            if (dice__zs_add(dst, l, s, m, n, 0, &out_flags, NULL) < 0)
                goto oom;
            if (n > maxlen)
                maxlen = n;
        }
    }
    if (f->card) {
        dice_reply_int(c, card);
    } else if (f->store) {
        store_result(c, argv[1], argvlen[1], dst, maxlen,
                     f->op == OP_UNION   ? "zunionstore"
                     : f->op == OP_INTER ? "zinterstore"
                                         : "zdiffstore");
        dst = NULL;
    } else {
        reply_walk(c, dst, 0, dice__zs_len(dst), 0, withscores);
    }
    goto out;
oom:
    dice__reply_err(c, DICE__ERR_NOMEM);
out:
    dice__zs_free(dst);
    for (long i = 0; i < setnum; i++)
        if (src[i].owned)
            dice__zs_free(src[i].z);
    free(src);
}

static const setop_form F_ZUNION = {OP_UNION, 0, 0, "zunion"};
static const setop_form F_ZINTER = {OP_INTER, 0, 0, "zinter"};
static const setop_form F_ZDIFF = {OP_DIFF, 0, 0, "zdiff"};
static const setop_form F_ZUNIONSTORE = {OP_UNION, 1, 0, "zunionstore"};
static const setop_form F_ZINTERSTORE = {OP_INTER, 1, 0, "zinterstore"};
static const setop_form F_ZDIFFSTORE = {OP_DIFF, 1, 0, "zdiffstore"};
static const setop_form F_ZINTERCARD = {OP_INTER, 0, 1, "zintercard"};

/* ZUNION numkeys key [key ...] [WEIGHTS weight ...]
 *        [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
 * ZINTER (the same) ; ZDIFF numkeys key [key ...] [WITHSCORES]
 * ZUNIONSTORE / ZINTERSTORE dst numkeys key [key ...] [WEIGHTS ...]
 *        [AGGREGATE ...] ; ZDIFFSTORE dst numkeys key [key ...]
 * ZINTERCARD numkeys key [key ...] [LIMIT limit] */
static DICE__CMD_FN(cmd_setop) {
    setop_generic(c, argc, argv, argvlen, arg);
}

/* ---- key positions of the numkeys commands ------------------------------ */

/* Keys after a numkeys at index ni, plus argv[1] when store. */
static int numkeys_keys(int argc, const char *const *argv,
                        const size_t *argvlen, int ni, int store, int *pos,
                        int max) {
    long long num;
    if (argc <= ni || !dice__str2ll(argv[ni], argvlen[ni], &num) || num < 1 ||
        num > argc - ni - 1)
        return 0;
    int n = 0;
    if (store && n < max)
        pos[n++] = 1;
    for (long long i = 0; i < num && n < max; i++)
        pos[n++] = ni + 1 + (int)i;
    return n;
}

static int keys_numkeys1(int argc, const char *const *argv,
                         const size_t *argvlen, int *pos, int max) {
    return numkeys_keys(argc, argv, argvlen, 1, 0, pos, max);
}

static int keys_numkeys2(int argc, const char *const *argv,
                         const size_t *argvlen, int *pos, int max) {
    return numkeys_keys(argc, argv, argvlen, 2, 0, pos, max);
}

static int keys_store(int argc, const char *const *argv, const size_t *argvlen,
                      int *pos, int max) {
    return numkeys_keys(argc, argv, argvlen, 2, 1, pos, max);
}

/* ---- registration -------------------------------------------------------- */

#define W DICE_CMD_WRITE
#define R DICE_CMD_READONLY
#define M DICE_CMD_DENYOOM
#define F DICE_CMD_FAST
#define K DICE_CMD_MOVABLE_KEYS
#define B (DICE_CMD_BLOCKING | DICE_CMD_NOSCRIPT)
#define ND "nondeterministic_output"

static const dice__cmd_desc zset_cmds[] = {
    {"zadd", -4, W | M | F, 1, 1, 1, cmd_zadd, NULL,
     "Add members to a sorted set, or update their scores", "1.2.0",
     "O(log(N)) for each item added, where N is the number of elements in "
     "the sorted set.",
     0, NULL, NULL, NULL},
    {"zincrby", 4, W | M | F, 1, 1, 1, cmd_zadd, (void *)1,
     "Increment the score of a member of a sorted set", "1.2.0",
     "O(log(N)) where N is the number of elements in the sorted set.", 0, NULL,
     NULL, NULL},
    {"zrem", -3, W | F, 1, 1, 1, cmd_zrem, NULL,
     "Remove members from a sorted set", "1.2.0",
     "O(M*log(N)) with N being the number of elements in the sorted set and "
     "M the number of elements to be removed.",
     0, NULL, NULL, NULL},
    {"zcard", 2, R | F, 1, 1, 1, cmd_zcard, NULL,
     "Return the number of members of a sorted set", "1.2.0", "O(1)", 0, NULL,
     NULL, NULL},
    {"zcount", 4, R | F, 1, 1, 1, cmd_zcount, NULL,
     "Count the members of a sorted set within a score range", "2.0.0",
     "O(log(N)) with N being the number of elements in the sorted set.", 0,
     NULL, NULL, NULL},
    {"zlexcount", 4, R | F, 1, 1, 1, cmd_zcount, (void *)1,
     "Count the members of a sorted set within a lexicographical range",
     "2.8.9",
     "O(log(N)) with N being the number of elements in the sorted set.", 0,
     NULL, NULL, NULL},
    {"zscore", 3, R | F, 1, 1, 1, cmd_zscore, NULL,
     "Return the score of a member of a sorted set", "1.2.0", "O(1)", 0, NULL,
     NULL, NULL},
    {"zmscore", -3, R | F, 1, 1, 1, cmd_zmscore, NULL,
     "Return the scores of members of a sorted set", "6.2.0",
     "O(N) where N is the number of members being requested.", 0, NULL, NULL,
     NULL},
    {"zrank", 3, R | F, 1, 1, 1, cmd_zrank, NULL,
     "Return the rank of a member of a sorted set, lowest score first", "2.0.0",
     "O(log(N))", 0, NULL, NULL, NULL},
    {"zrevrank", 3, R | F, 1, 1, 1, cmd_zrank, (void *)1,
     "Return the rank of a member of a sorted set, highest score first",
     "2.0.0", "O(log(N))", 0, NULL, NULL, NULL},
    {"zrange", -4, R, 1, 1, 1, cmd_zrange, &F_ZRANGE,
     "Return a range of members of a sorted set by rank, score or lex order",
     "1.2.0",
     "O(log(N)+M) with N being the number of elements in the sorted set and "
     "M the number of elements returned.",
     0, NULL, NULL, NULL},
    {"zrangestore", -5, W | M, 1, 2, 1, cmd_zrange, &F_ZRANGESTORE,
     "Store a range of members of a sorted set into another key", "6.2.0",
     "O(log(N)+M) with N being the number of elements in the sorted set and "
     "M the number of elements stored into the destination key.",
     0, NULL, NULL, NULL},
    {"zrevrange", -4, R, 1, 1, 1, cmd_zrange, &F_ZREVRANGE,
     "Return a range of members of a sorted set by rank, highest first",
     "1.2.0",
     "O(log(N)+M) with N being the number of elements in the sorted set and "
     "M the number of elements returned.",
     0, NULL, NULL, NULL},
    {"zrangebyscore", -4, R, 1, 1, 1, cmd_zrange, &F_BYSCORE,
     "Return the members of a sorted set within a score range", "1.0.5",
     "O(log(N)+M) with N being the number of elements in the sorted set and "
     "M the number of elements being returned.",
     0, NULL, NULL, NULL},
    {"zrevrangebyscore", -4, R, 1, 1, 1, cmd_zrange, &F_REVBYSCORE,
     "Return the members of a sorted set within a score range, highest first",
     "2.2.0",
     "O(log(N)+M) with N being the number of elements in the sorted set and "
     "M the number of elements being returned.",
     0, NULL, NULL, NULL},
    {"zrangebylex", -4, R, 1, 1, 1, cmd_zrange, &F_BYLEX,
     "Return the members of a sorted set within a lexicographical range",
     "2.8.9",
     "O(log(N)+M) with N being the number of elements in the sorted set and "
     "M the number of elements being returned.",
     0, NULL, NULL, NULL},
    {"zrevrangebylex", -4, R, 1, 1, 1, cmd_zrange, &F_REVBYLEX,
     "Return the members of a sorted set within a lexicographical range, "
     "highest first",
     "2.8.9",
     "O(log(N)+M) with N being the number of elements in the sorted set and "
     "M the number of elements being returned.",
     0, NULL, NULL, NULL},
    {"zremrangebyrank", 4, W, 1, 1, 1, cmd_zremrange, (void *)(intptr_t)RT_RANK,
     "Remove the members of a sorted set within a rank range", "2.0.0",
     "O(log(N)+M) with N being the number of elements in the sorted set and "
     "M the number of elements removed by the operation.",
     0, NULL, NULL, NULL},
    {"zremrangebyscore", 4, W, 1, 1, 1, cmd_zremrange,
     (void *)(intptr_t)RT_SCORE,
     "Remove the members of a sorted set within a score range", "1.2.0",
     "O(log(N)+M) with N being the number of elements in the sorted set and "
     "M the number of elements removed by the operation.",
     0, NULL, NULL, NULL},
    {"zremrangebylex", 4, W, 1, 1, 1, cmd_zremrange, (void *)(intptr_t)RT_LEX,
     "Remove the members of a sorted set within a lexicographical range",
     "2.8.9",
     "O(log(N)+M) with N being the number of elements in the sorted set and "
     "M the number of elements removed by the operation.",
     0, NULL, NULL, NULL},
    {"zpopmin", -2, W | F, 1, 1, 1, cmd_zpop, NULL,
     "Remove and return the members of a sorted set with the lowest scores",
     "5.0.0",
     "O(log(N)*M) with N being the number of elements in the sorted set, and "
     "M being the number of elements popped.",
     0, NULL, NULL, NULL},
    {"zpopmax", -2, W | F, 1, 1, 1, cmd_zpop, (void *)1,
     "Remove and return the members of a sorted set with the highest scores",
     "5.0.0",
     "O(log(N)*M) with N being the number of elements in the sorted set, and "
     "M being the number of elements popped.",
     0, NULL, NULL, NULL},
    {"zmpop", -4, W | K, 0, 0, 0, cmd_zmpop, NULL,
     "Remove and return members with the lowest or highest scores from the "
     "first non-empty sorted set of several",
     "7.0.0",
     "O(K) + O(M*log(N)) where K is the number of provided keys, N being the "
     "number of elements in the sorted set, and M being the number of "
     "elements popped.",
     0, NULL, NULL, keys_numkeys1},
    {"bzpopmin", -3, W | F | B, 1, -2, 1, cmd_bzpop, NULL,
     "Remove and return the member with the lowest score from one or more "
     "sorted sets, or block until one is available",
     "5.0.0",
     "O(log(N)) with N being the number of elements in the sorted set.", 0,
     NULL, NULL, NULL},
    {"bzpopmax", -3, W | F | B, 1, -2, 1, cmd_bzpop, (void *)1,
     "Remove and return the member with the highest score from one or more "
     "sorted sets, or block until one is available",
     "5.0.0",
     "O(log(N)) with N being the number of elements in the sorted set.", 0,
     NULL, NULL, NULL},
    {"bzmpop", -5, W | DICE_CMD_BLOCKING | K, 0, 0, 0, cmd_bzmpop, NULL,
     "Remove and return members with scores in a sorted set or block until "
     "one is available",
     "7.0.0",
     "O(K) + O(M*log(N)) where K is the number of provided keys, N being the "
     "number of elements in the sorted set, and M being the number of "
     "elements popped.",
     0, NULL, NULL, keys_numkeys2},
    {"zrandmember", -2, R, 1, 1, 1, cmd_zrandmember, NULL,
     "Return random members of a sorted set", "6.2.0",
     "O(N) where N is the number of elements returned", 0, ND, NULL, NULL},
    {"zunion", -3, R | K, 0, 0, 0, cmd_setop, &F_ZUNION,
     "Return the union of sorted sets", "6.2.0",
     "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted "
     "sets, and M being the number of elements in the resulting sorted set.",
     0, NULL, NULL, keys_numkeys1},
    {"zinter", -3, R | K, 0, 0, 0, cmd_setop, &F_ZINTER,
     "Return the intersection of sorted sets", "6.2.0",
     "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted "
     "set, K being the number of input sorted sets and M being the number of "
     "elements in the resulting sorted set.",
     0, NULL, NULL, keys_numkeys1},
    {"zdiff", -3, R | K, 0, 0, 0, cmd_setop, &F_ZDIFF,
     "Return the difference of the first sorted set and the others", "6.2.0",
     "O(L + (N-K)log(N)) worst case where L is the total number of elements "
     "in all the sets, N is the size of the first set, and K is the size of "
     "the result set.",
     0, NULL, NULL, keys_numkeys1},
    {"zintercard", -3, R | K, 0, 0, 0, cmd_setop, &F_ZINTERCARD,
     "Return the number of members of the intersection of sorted sets", "7.0.0",
     "O(N*K) worst case with N being the smallest input sorted set, K being "
     "the number of input sorted sets.",
     0, NULL, NULL, keys_numkeys1},
    {"zunionstore", -4, W | M | K, 1, 1, 1, cmd_setop, &F_ZUNIONSTORE,
     "Store the union of sorted sets into a key", "2.0.0",
     "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted "
     "sets, and M being the number of elements in the resulting sorted set.",
     0, NULL, NULL, keys_store},
    {"zinterstore", -4, W | M | K, 1, 1, 1, cmd_setop, &F_ZINTERSTORE,
     "Store the intersection of sorted sets into a key", "2.0.0",
     "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted "
     "set, K being the number of input sorted sets and M being the number of "
     "elements in the resulting sorted set.",
     0, NULL, NULL, keys_store},
    {"zdiffstore", -4, W | M | K, 1, 1, 1, cmd_setop, &F_ZDIFFSTORE,
     "Store the difference of sorted sets into a key", "6.2.0",
     "O(L + (N-K)log(N)) worst case where L is the total number of elements "
     "in all the sets, N is the size of the first set, and K is the size of "
     "the result set.",
     0, NULL, NULL, keys_store},
    {"zscan", -3, R, 1, 1, 1, cmd_zscan, NULL,
     "Iterate over the members and scores of a sorted set", "2.8.0",
     "O(1) for every call. O(N) for a complete iteration, including enough "
     "command calls for the cursor to return back to 0. N is the number of "
     "elements inside the collection.",
     0, ND, NULL, NULL},
};

#define KS_OF(a) a, (int)DICE__COUNT(a)

/* Redis 7.0's key specs, for COMMAND INFO, where they differ from the
 * one derived from first/last/step (see lib/commands/server.c). */
static const dice__key_spec ks_bzmpop[] = {DICE__KS_KEYNUM(
    DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_DELETE, 2, 0, 1, 1)};
static const dice__key_spec ks_bzpopmax[] = {DICE__KS_RANGE(
    DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_DELETE, 1, -2, 1, 0)};
static const dice__key_spec ks_ro[] = {DICE__KS_RANGE(DICE__KS_RO, 1, 0, 1, 0)};
static const dice__key_spec ks_zdiff[] = {
    DICE__KS_KEYNUM(DICE__KS_RO | DICE__KS_ACCESS, 1, 0, 1, 1)};
static const dice__key_spec ks_zdiffstore[] = {
    DICE__KS_RANGE(DICE__KS_OW | DICE__KS_UPDATE, 1, 0, 1, 0),
    DICE__KS_KEYNUM(DICE__KS_RO | DICE__KS_ACCESS, 2, 0, 1, 1)};
static const dice__key_spec ks_rw_access_update[] = {DICE__KS_RANGE(
    DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_UPDATE, 1, 0, 1, 0)};
static const dice__key_spec ks_zmpop[] = {DICE__KS_KEYNUM(
    DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_DELETE, 1, 0, 1, 1)};
static const dice__key_spec ks_rw_access_delete[] = {DICE__KS_RANGE(
    DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_DELETE, 1, 0, 1, 0)};
static const dice__key_spec ks_zrangestore[] = {
    DICE__KS_RANGE(DICE__KS_OW | DICE__KS_UPDATE, 1, 0, 1, 0),
    DICE__KS_RANGE(DICE__KS_RO | DICE__KS_ACCESS, 2, 0, 1, 0)};
static const dice__key_spec ks_rw_delete[] = {
    DICE__KS_RANGE(DICE__KS_RW | DICE__KS_DELETE, 1, 0, 1, 0)};
static const dice__cmd_keyspecs zset_keyspecs[] = {
    {"bzmpop", KS_OF(ks_bzmpop)},
    {"bzpopmax", KS_OF(ks_bzpopmax)},
    {"bzpopmin", KS_OF(ks_bzpopmax)},
    {"zcard", KS_OF(ks_ro)},
    {"zdiff", KS_OF(ks_zdiff)},
    {"zdiffstore", KS_OF(ks_zdiffstore)},
    {"zincrby", KS_OF(ks_rw_access_update)},
    {"zinter", KS_OF(ks_zdiff)},
    {"zintercard", KS_OF(ks_zdiff)},
    {"zinterstore", KS_OF(ks_zdiffstore)},
    {"zmpop", KS_OF(ks_zmpop)},
    {"zpopmax", KS_OF(ks_rw_access_delete)},
    {"zpopmin", KS_OF(ks_rw_access_delete)},
    {"zrangestore", KS_OF(ks_zrangestore)},
    {"zrem", KS_OF(ks_rw_delete)},
    {"zremrangebylex", KS_OF(ks_rw_delete)},
    {"zremrangebyrank", KS_OF(ks_rw_delete)},
    {"zremrangebyscore", KS_OF(ks_rw_delete)},
    {"zunion", KS_OF(ks_zdiff)},
    {"zunionstore", KS_OF(ks_zdiffstore)},
};
#undef KS_OF

int dice__builtin_zsets(dice_server_t *srv) {
    dice_keyspace_t *ks = srv->keyspace;
    int rc = dice_keyspace_register_type(ks, DICE_TYPE_ZSET,
                                         &dice__zset_methods, ks);
    if (rc < 0)
        return rc;
    int krc = dice__command_register(srv, NULL, "sorted_set", zset_cmds,
                                     DICE__COUNT(zset_cmds));
    if (krc < 0)
        return krc;
    return dice__command_set_keyspecs(srv, zset_keyspecs,
                                      DICE__COUNT(zset_keyspecs));
}
