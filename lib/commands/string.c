/* The string command family of Redis 7.0: GET SET SETNX SETEX PSETEX GETSET
 * GETDEL GETEX MGET MSET MSETNX APPEND STRLEN GETRANGE SUBSTR SETRANGE INCR
 * DECR INCRBY DECRBY INCRBYFLOAT LCS.
 *
 * Every reply, including every error text and the order in which the
 * checks happen (which decides which error a bad call gets), follows
 * redis-server 7.0; the integration test tests/integration/test_strings.py
 * compares the two byte for byte.
 *
 * GET and SET are the benchmark commands: their common forms go straight to
 * the keyspace with no allocation besides the stored value and no
 * formatting. */
#include "commands/commands_internal.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REPLY_ERR(c, lit) dice_reply_error((c), lit, sizeof(lit) - 1)

/* Redis caps strings at 512 MB whatever proto-max-bulk-len says; so does
 * the keyspace (dice_db_append / dice_db_setrange answer DICE_ERANGE). */
#define STRING_MAX ((long long)512 * 1024 * 1024)

/* Hard cap on the LCS table whatever proto-max-bulk-len is raised to, so a
 * configuration change cannot make one command take gigabytes. */
#define LCS_TABLE_MAX ((unsigned long long)1024 * 1024 * 1024)

/* ---- expire options (SET, GETEX, SETEX, PSETEX) ------------------------ */

enum {
    O_NX = 1u << 0,
    O_XX = 1u << 1,
    O_EX = 1u << 2,
    O_PX = 1u << 3,
    O_KEEPTTL = 1u << 4,
    O_GET = 1u << 5,
    O_EXAT = 1u << 6,
    O_PXAT = 1u << 7,
    O_PERSIST = 1u << 8
};
#define O_ANY_EXPIRE (O_EX | O_PX | O_EXAT | O_PXAT)

/* EX PX EXAT PXAT: the option's flag, or 0 for another word. */
static unsigned expire_option(const char *o, size_t n) {
    static const struct {
        const char *name;
        unsigned flag;
    } opts[] = {{"ex", O_EX}, {"px", O_PX}, {"exat", O_EXAT}, {"pxat", O_PXAT}};
    for (size_t i = 0; i < DICE__COUNT(opts); i++)
        if (dice__opt_is(o, n, opts[i].name))
            return opts[i].flag;
    return 0;
}

/* Parse SET's (is_set) or GETEX's options from argv[from]. An option is
 * refused when it conflicts with one seen before (NX after XX, EX after PX,
 * KEEPTTL after EX...); repeating the same one is accepted and the last
 * expire value wins, as in Redis. Replies "syntax error" and returns -1 on
 * anything else. */
static int parse_ext(dice_client_t *c, int argc, const char *const *argv,
                     const size_t *argvlen, int from, bool is_set,
                     unsigned *flags, int *expire_idx) {
    unsigned f = 0;
    for (int j = from; j < argc; j++) {
        const char *o = argv[j];
        size_t n = argvlen[j];
        bool next = j + 1 < argc;
        unsigned e;
        if (is_set && dice__opt_is(o, n, "nx") && !(f & O_XX)) {
            f |= O_NX;
        } else if (is_set && dice__opt_is(o, n, "xx") && !(f & O_NX)) {
            f |= O_XX;
        } else if (is_set && dice__opt_is(o, n, "get")) {
            f |= O_GET;
        } else if (is_set && dice__opt_is(o, n, "keepttl") &&
                   !(f & (O_PERSIST | O_ANY_EXPIRE))) {
            f |= O_KEEPTTL;
        } else if (!is_set && dice__opt_is(o, n, "persist") &&
                   !(f & (O_ANY_EXPIRE | O_KEEPTTL))) {
            f |= O_PERSIST;
        } else if ((e = expire_option(o, n)) && next &&
                   !(f & (O_KEEPTTL | O_PERSIST | (O_ANY_EXPIRE & ~e)))) {
            /* One expire option, repeatable but not mixed with another. */
            f |= e;
            *expire_idx = ++j;
        } else {
            dice__reply_err(c, DICE__ERR_SYNTAX);
            return -1;
        }
    }
    *flags = f;
    return 0;
}

/* SET/GETEX's expire option f's argument as an absolute unix time in ms.
 * Returns 0, or -1 after replying. */
static int expire_at(dice_client_t *c, const char *s, size_t n, unsigned f,
                     const char *cmdname, int64_t *at) {
    unsigned how = DICE__EXPIRE_POSITIVE;
    if (f & (O_EX | O_EXAT))
        how |= DICE__EXPIRE_SECONDS;
    if (f & (O_EX | O_PX))
        how |= DICE__EXPIRE_RELATIVE;
    return dice__parse_expire_or_reply(c, s, n, how, cmdname, at);
}

/* ---- GET / SET family --------------------------------------------------- */

/* Keyspace events of this family (see lib/commands/commands_internal.h):
 * "keymiss" when a read finds no key, and the string events. */
#define STRING_EVENT(c, event, key, klen)                                      \
    dice__cmd_notify(c, DICE__NOTIFY_STRING, event, key, klen)

/* GET's reply for key; returns 0, or -1 after a WRONGTYPE error. */
static int reply_get(dice_client_t *c, dice_db_t *db, const char *key,
                     size_t klen) {
    char nb[DICE_DB_NUMBUF];
    const char *v;
    size_t n;
    int rc = dice_db_get(db, key, klen, nb, &v, &n);
    if (rc == 0) {
        dice_reply_bulk(c, v, n);
        return 0;
    }
    if (rc == DICE_ENOENT) {
        dice__cmd_keymiss(c, key, klen);
        dice_reply_null(c);
        return 0;
    }
    dice__reply_dberr(c, rc);
    return -1;
}

static DICE__CMD_FN(cmd_get) {
    reply_get(c, dice__cmd_db(c), argv[1], argvlen[1]);
}

/* The shared tail of SET, SETNX, SETEX and PSETEX. ok/abort are the
 * replies for "stored" and "NX/XX condition failed": OK and null for SET,
 * 1 and 0 for SETNX (ok_int). */
static void set_generic(dice_client_t *c, const char *key, size_t klen,
                        const char *val, size_t vlen, unsigned f,
                        const char *expire, size_t elen, const char *cmdname,
                        bool ok_int) {
    int64_t at = 0;
    if (expire && expire_at(c, expire, elen, f, cmdname, &at) < 0)
        return;
    dice_db_t *db = dice__cmd_db(c);
    /* GET replies with the old value first; a WRONGTYPE there cancels the
     * whole command. */
    if ((f & O_GET) && reply_get(c, db, key, klen) < 0)
        return;
    unsigned df = 0;
    if (f & O_NX)
        df |= DICE_SET_NX;
    if (f & O_XX)
        df |= DICE_SET_XX;
    if (f & O_KEEPTTL)
        df |= DICE_SET_KEEPTTL;
    if (expire)
        df |= DICE_SET_EXPIRE;
    int rc = dice_db_set(db, key, klen, val, vlen, df, at);
    if (rc >= 0) {
        STRING_EVENT(c, "set", key, klen);
        if (expire)
            dice__cmd_notify(c, DICE__NOTIFY_GENERIC, "expire", key, klen);
    }
    if (f & O_GET) {
        if (rc == 0 && expire && !(f & O_PXAT))
            dice__propagate_set(c, key, klen, val, vlen, &at);
        if (rc == DICE_ENOMEM)
            dice_client_close_after_reply(c); /* reply already sent */
        return;
    }
    if (rc == 0) {
        /* A relative or second-based expiry is logged as the absolute
         * time it came to (Redis's SET ... PXAT rewrite). */
        if (expire && !(f & O_PXAT))
            dice__propagate_set(c, key, klen, val, vlen, &at);
        if (ok_int)
            dice_reply_int(c, 1);
        else
            dice_reply_ok(c);
    } else if (rc == DICE_EEXIST || rc == DICE_ENOENT) {
        if (ok_int)
            dice_reply_int(c, 0);
        else
            dice_reply_null(c);
    } else {
        dice__reply_dberr(c, rc);
    }
}

static DICE__CMD_FN(cmd_set) {
    if (argc == 3) { /* the benchmark path: plain SET key value */
        int rc = dice_db_set(dice__cmd_db(c), argv[1], argvlen[1], argv[2],
                             argvlen[2], 0, 0);
        if (rc == 0) {
            STRING_EVENT(c, "set", argv[1], argvlen[1]);
            dice_reply_ok(c);
        } else {
            dice__reply_dberr(c, rc);
        }
        return;
    }
    unsigned f;
    int ei = 0;
    if (parse_ext(c, argc, argv, argvlen, 3, true, &f, &ei) < 0)
        return;
    set_generic(c, argv[1], argvlen[1], argv[2], argvlen[2], f,
                ei ? argv[ei] : NULL, ei ? argvlen[ei] : 0, "set", false);
}

static DICE__CMD_FN(cmd_setnx) {
    set_generic(c, argv[1], argvlen[1], argv[2], argvlen[2], O_NX, NULL, 0,
                "setnx", true);
}

static DICE__CMD_FN(cmd_setex) {
    set_generic(c, argv[1], argvlen[1], argv[3], argvlen[3], O_EX, argv[2],
                argvlen[2], "setex", false);
}

static DICE__CMD_FN(cmd_psetex) {
    set_generic(c, argv[1], argvlen[1], argv[3], argvlen[3], O_PX, argv[2],
                argvlen[2], "psetex", false);
}

static DICE__CMD_FN(cmd_getset) {
    dice_db_t *db = dice__cmd_db(c);
    if (reply_get(c, db, argv[1], argvlen[1]) < 0)
        return;
    if (dice_db_set(db, argv[1], argvlen[1], argv[2], argvlen[2], 0, 0) < 0) {
        dice_client_close_after_reply(c); /* the reply is already out */
        return;
    }
    STRING_EVENT(c, "set", argv[1], argvlen[1]);
    /* Logged as the SET it amounts to, as Redis does. */
    if (dice__propagating(c)) {
        const char *v[3] = {"SET", argv[1], argv[2]};
        size_t l[3] = {3, argvlen[1], argvlen[2]};
        dice_client_propagate(c, 3, v, l);
    }
}

static DICE__CMD_FN(cmd_getdel) {
    dice_db_t *db = dice__cmd_db(c);
    if (reply_get(c, db, argv[1], argvlen[1]) < 0)
        return;
    if (dice_db_delete(db, argv[1], argvlen[1])) {
        dice__cmd_notify(c, DICE__NOTIFY_GENERIC, "del", argv[1], argvlen[1]);
        dice__propagate_key(c, "DEL", argv[1], argvlen[1]);
    }
}

static DICE__CMD_FN(cmd_getex) {
    unsigned f;
    int ei = 0;
    if (parse_ext(c, argc, argv, argvlen, 2, false, &f, &ei) < 0)
        return;
    dice_db_t *db = dice__cmd_db(c);
    char nb[DICE_DB_NUMBUF];
    const char *v;
    size_t n;
    int rc = dice_db_get(db, argv[1], argvlen[1], nb, &v, &n);
    if (rc == DICE_ENOENT) {
        dice__cmd_keymiss(c, argv[1], argvlen[1]);
        dice_reply_null(c); /* before the expire value is even looked at */
        return;
    }
    if (rc < 0) {
        dice__reply_dberr(c, rc);
        return;
    }
    int64_t at = 0;
    if (ei && expire_at(c, argv[ei], argvlen[ei], f, "getex", &at) < 0)
        return;
    /* Reply before changing the key: v points into the entry. */
    dice_reply_bulk(c, v, n);
    /* Logged as the absolute form of what happened: DEL, PEXPIREAT,
     * PERSIST. */
    if ((f & (O_EXAT | O_PXAT)) && at <= dice__cmd_now(c)) {
        dice_db_delete(db, argv[1], argvlen[1]);
        dice__cmd_notify(c, DICE__NOTIFY_GENERIC, "del", argv[1], argvlen[1]);
        dice__propagate_key(c, "DEL", argv[1], argvlen[1]);
    } else if (ei) {
        if (dice_db_set_expire(db, argv[1], argvlen[1], at, 0) > 0) {
            dice__cmd_notify(c, DICE__NOTIFY_GENERIC, "expire", argv[1],
                             argvlen[1]);
            dice__propagate_pexpireat(c, argv[1], argvlen[1], at);
        }
    } else if (f & O_PERSIST) {
        if (dice_db_persist(db, argv[1], argvlen[1]) > 0) {
            dice__cmd_notify(c, DICE__NOTIFY_GENERIC, "persist", argv[1],
                             argvlen[1]);
            dice__propagate_key(c, "PERSIST", argv[1], argvlen[1]);
        }
    }
}

/* ---- multi-key ---------------------------------------------------------- */

static DICE__CMD_FN(cmd_mget) {
    dice_db_t *db = dice__cmd_db(c);
    dice_reply_array(c, (size_t)argc - 1);
    for (int j = 1; j < argc; j++) {
        char nb[DICE_DB_NUMBUF];
        const char *v;
        size_t n;
        int rc = dice_db_get(db, argv[j], argvlen[j], nb, &v, &n);
        if (rc == 0) {
            dice_reply_bulk(c, v, n);
        } else {
            if (rc == DICE_ENOENT)
                dice__cmd_keymiss(c, argv[j], argvlen[j]);
            dice_reply_null(c); /* missing or not a string */
        }
    }
}

static void mset_generic(dice_client_t *c, int argc, const char *const *argv,
                         const size_t *argvlen, bool nx) {
    if (argc % 2 == 0) {
        if (nx)
            REPLY_ERR(c, "ERR wrong number of arguments for 'msetnx' command");
        else
            REPLY_ERR(c, "ERR wrong number of arguments for 'mset' command");
        return;
    }
    dice_db_t *db = dice__cmd_db(c);
    if (nx) {
        for (int j = 1; j < argc; j += 2) {
            if (dice_db_exists(db, argv[j], argvlen[j])) {
                dice_reply_int(c, 0);
                return;
            }
        }
    }
    for (int j = 1; j < argc; j += 2) {
        int rc = dice_db_set(db, argv[j], argvlen[j], argv[j + 1],
                             argvlen[j + 1], 0, 0);
        if (rc < 0) {
            dice__reply_dberr(c, rc);
            return;
        }
        STRING_EVENT(c, "set", argv[j], argvlen[j]);
    }
    if (nx)
        dice_reply_int(c, 1);
    else
        dice_reply_ok(c);
}

static DICE__CMD_FN(cmd_mset) {
    mset_generic(c, argc, argv, argvlen, false);
}

static DICE__CMD_FN(cmd_msetnx) {
    mset_generic(c, argc, argv, argvlen, true);
}

/* ---- length and ranges -------------------------------------------------- */

static long long max_bulk(dice_client_t *c) {
    return c->srv->cfg.proto_max_bulk_len;
}

static DICE__CMD_FN(cmd_append) {
    dice_db_t *db = dice__cmd_db(c);
    long long lim = max_bulk(c);
    if (lim < STRING_MAX) {
        /* A lowered proto-max-bulk-len is checked here; the keyspace only
         * knows the 512 MB ceiling. */
        char nb[DICE_DB_NUMBUF];
        const char *v;
        size_t n;
        int rc = dice_db_get(db, argv[1], argvlen[1], nb, &v, &n);
        if (rc == DICE_EWRONGTYPE) {
            dice__reply_err(c, DICE__ERR_WRONGTYPE);
            return;
        }
        if (rc == 0 && (long long)(n + argvlen[2]) > lim) {
            dice__reply_err(c, DICE__ERR_BULK_LEN);
            return;
        }
    }
    size_t newlen;
    int rc =
        dice_db_append(db, argv[1], argvlen[1], argv[2], argvlen[2], &newlen);
    if (rc == 0) {
        STRING_EVENT(c, "append", argv[1], argvlen[1]);
        dice_reply_int(c, (long long)newlen);
    } else if (rc == DICE_ERANGE)
        dice__reply_err(c, DICE__ERR_BULK_LEN);
    else
        dice__reply_dberr(c, rc);
}

static DICE__CMD_FN(cmd_strlen) {
    char nb[DICE_DB_NUMBUF];
    const char *v;
    size_t n;
    int rc = dice_db_get(dice__cmd_db(c), argv[1], argvlen[1], nb, &v, &n);
    if (rc == 0) {
        dice_reply_int(c, (long long)n);
    } else if (rc == DICE_ENOENT) {
        dice__cmd_keymiss(c, argv[1], argvlen[1]);
        dice_reply_int(c, 0);
    } else {
        dice__reply_dberr(c, rc);
    }
}

/* GETRANGE and SUBSTR. Negative indexes count from the end; both are then
 * clamped into the string. Two negative indexes with start > end give ""
 * before any clamping (so GETRANGE k -1 -3 is "" even though clamping
 * would make both 0). */
static DICE__CMD_FN(cmd_getrange) {
    long long start, end;
    if (!dice__str2ll(argv[2], argvlen[2], &start) ||
        !dice__str2ll(argv[3], argvlen[3], &end)) {
        dice__reply_err(c, DICE__ERR_NOT_INT);
        return;
    }
    char nb[DICE_DB_NUMBUF];
    const char *v;
    size_t n;
    int rc = dice_db_get(dice__cmd_db(c), argv[1], argvlen[1], nb, &v, &n);
    if (rc == DICE_ENOENT) {
        dice__cmd_keymiss(c, argv[1], argvlen[1]);
        dice_reply_bulk(c, "", 0);
        return;
    }
    if (rc < 0) {
        dice__reply_dberr(c, rc);
        return;
    }
    long long len = (long long)n;
    if (start < 0 && end < 0 && start > end) {
        dice_reply_bulk(c, "", 0);
        return;
    }
    if (start < 0)
        start += len;
    if (end < 0)
        end += len;
    if (start < 0)
        start = 0;
    if (end < 0)
        end = 0;
    if (end >= len)
        end = len - 1;
    if (len == 0 || start > end)
        dice_reply_bulk(c, "", 0);
    else
        dice_reply_bulk(c, v + start, (size_t)(end - start + 1));
}

static DICE__CMD_FN(cmd_setrange) {
    long long off;
    if (dice__parse_ll_or_reply(c, argv[2], argvlen[2], &off) < 0)
        return;
    if (off < 0) {
        dice__reply_err(c, DICE__ERR_OFFSET);
        return;
    }
    dice_db_t *db = dice__cmd_db(c);
    long long lim = max_bulk(c);
    long long len = (long long)argvlen[3];
    if (len > 0 && (off > lim || len > lim - off)) {
        /* Redis looks at the type before the size. */
        int t = dice_db_type(db, argv[1], argvlen[1]);
        if (t >= 0 && t != DICE_TYPE_STRING)
            dice__reply_err(c, DICE__ERR_WRONGTYPE);
        else
            dice__reply_err(c, DICE__ERR_BULK_LEN);
        return;
    }
    size_t newlen;
    int rc = dice_db_setrange(db, argv[1], argvlen[1], (size_t)off, argv[3],
                              argvlen[3], &newlen);
    if (rc == 0) {
        /* An empty value changes nothing, and Redis says nothing. */
        if (argvlen[3] > 0)
            STRING_EVENT(c, "setrange", argv[1], argvlen[1]);
        dice_reply_int(c, (long long)newlen);
    } else if (rc == DICE_ERANGE)
        dice__reply_err(c, DICE__ERR_BULK_LEN);
    else
        dice__reply_dberr(c, rc);
}

/* ---- counters ------------------------------------------------------------ */

static void incr_generic(dice_client_t *c, const char *key, size_t klen,
                         long long delta) {
    long long v;
    int rc = dice_db_incrby(dice__cmd_db(c), key, klen, delta, &v);
    if (rc == 0) {
        STRING_EVENT(c, "incrby", key, klen);
        dice_reply_int(c, v);
    } else if (rc == DICE_EINVAL)
        dice__reply_err(c, DICE__ERR_NOT_INT);
    else if (rc == DICE_ERANGE)
        dice__reply_err(c, DICE__ERR_OVERFLOW);
    else
        dice__reply_dberr(c, rc);
}

static DICE__CMD_FN(cmd_incr) {
    incr_generic(c, argv[1], argvlen[1], 1);
}

static DICE__CMD_FN(cmd_decr) {
    incr_generic(c, argv[1], argvlen[1], -1);
}

static DICE__CMD_FN(cmd_incrby) {
    long long d;
    if (dice__parse_ll_or_reply(c, argv[2], argvlen[2], &d) < 0)
        return;
    incr_generic(c, argv[1], argvlen[1], d);
}

static DICE__CMD_FN(cmd_decrby) {
    long long d;
    if (dice__parse_ll_or_reply(c, argv[2], argvlen[2], &d) < 0)
        return;
    if (d == LLONG_MIN) { /* -d does not exist */
        REPLY_ERR(c, "ERR decrement would overflow");
        return;
    }
    incr_generic(c, argv[1], argvlen[1], -d);
}

static DICE__CMD_FN(cmd_incrbyfloat) {
    const char *v;
    size_t n;
    int rc = dice_db_incrbyfloat(dice__cmd_db(c), argv[1], argvlen[1], argv[2],
                                 argvlen[2], &v, &n);
    if (rc == 0) {
        /* The sum as stored, so a replay does not depend on how another
         * machine rounds long doubles. */
        dice__propagate_set(c, argv[1], argvlen[1], v, n, NULL);
        STRING_EVENT(c, "incrbyfloat", argv[1], argvlen[1]);
        dice_reply_bulk(c, v, n);
    } else if (rc == DICE_EINVAL)
        dice__reply_err(c, DICE__ERR_NOT_FLOAT);
    else if (rc == DICE_ERANGE)
        dice__reply_err(c, DICE__ERR_NAN_INF);
    else
        dice__reply_dberr(c, rc);
}

/* ---- LCS ------------------------------------------------------------------
 * The classic dynamic-programming table of LCS lengths of every pair of
 * prefixes, (alen+1) x (blen+1) uint32 cells, then one walk back from the
 * bottom-right corner that recovers the subsequence and the matching
 * ranges. Like Redis 7.0, the table is refused when it would be larger than
 * proto-max-bulk-len (512 MB by default, i.e. two strings of about 11,500
 * bytes); we also refuse above LCS_TABLE_MAX whatever the setting, and
 * answer Redis's allocation-failure error when malloc fails. */

typedef struct lcs_job {
    const char *a, *b;
    size_t alen, blen;
    uint32_t *t;
    long long minlen;
    bool withlen;
} lcs_job;

static inline uint32_t *lcs_cell(const lcs_job *j, size_t i, size_t k) {
    return &j->t[i * (j->blen + 1) + k];
}

static void lcs_fill(lcs_job *j) {
    for (size_t i = 0; i <= j->alen; i++) {
        for (size_t k = 0; k <= j->blen; k++) {
            uint32_t v;
            if (i == 0 || k == 0) {
                v = 0;
            } else if (j->a[i - 1] == j->b[k - 1]) {
                v = *lcs_cell(j, i - 1, k - 1) + 1;
            } else {
                uint32_t up = *lcs_cell(j, i - 1, k);
                uint32_t left = *lcs_cell(j, i, k - 1);
                v = up > left ? up : left;
            }
            *lcs_cell(j, i, k) = v;
        }
    }
}

/* Walk back through the table. Writes the subsequence into out (if not
 * NULL, LCS-length bytes) and, when c is not NULL, replies one entry per
 * matching range of at least minlen bytes, last range first (as Redis
 * does). Returns the number of such ranges, so a first pass with c NULL
 * sizes the reply array. */
static size_t lcs_walk(const lcs_job *j, char *out, dice_client_t *c) {
    size_t i = j->alen, k = j->blen;
    size_t idx = *lcs_cell(j, j->alen, j->blen);
    const size_t unset = j->alen; /* "no range open" marker */
    size_t as = unset, ae = 0, bs = 0, be = 0;
    size_t nranges = 0;
    while (i > 0 && k > 0) {
        bool emit = false;
        if (j->a[i - 1] == j->b[k - 1]) {
            if (out)
                out[idx - 1] = j->a[i - 1];
            if (as == unset) {
                as = ae = i - 1;
                bs = be = k - 1;
            } else if (as == i && bs == k) {
                as--; /* contiguous: grow the range backwards */
                bs--;
            } else {
                emit = true;
            }
            if (as == 0 || bs == 0)
                emit = true;
            idx--;
            i--;
            k--;
        } else {
            if (*lcs_cell(j, i - 1, k) > *lcs_cell(j, i, k - 1))
                i--;
            else
                k--;
            if (as != unset)
                emit = true;
        }
        if (emit) {
            size_t mlen = ae - as + 1;
            if (j->minlen == 0 || (long long)mlen >= j->minlen) {
                if (c) {
                    dice_reply_array(c, j->withlen ? 3 : 2);
                    dice_reply_array(c, 2);
                    dice_reply_int(c, (long long)as);
                    dice_reply_int(c, (long long)ae);
                    dice_reply_array(c, 2);
                    dice_reply_int(c, (long long)bs);
                    dice_reply_int(c, (long long)be);
                    if (j->withlen)
                        dice_reply_int(c, (long long)mlen);
                }
                nranges++;
            }
            as = unset;
        }
    }
    return nranges;
}

static DICE__CMD_FN(cmd_lcs) {
    dice_db_t *db = dice__cmd_db(c);
    char nba[DICE_DB_NUMBUF], nbb[DICE_DB_NUMBUF];
    lcs_job j = {.a = "", .b = ""};
    int ra = dice_db_get(db, argv[1], argvlen[1], nba, &j.a, &j.alen);
    int rb = dice_db_get(db, argv[2], argvlen[2], nbb, &j.b, &j.blen);
    if (ra == DICE_ENOENT)
        dice__cmd_keymiss(c, argv[1], argvlen[1]);
    if (rb == DICE_ENOENT)
        dice__cmd_keymiss(c, argv[2], argvlen[2]);
    if (ra == DICE_EWRONGTYPE || rb == DICE_EWRONGTYPE) {
        REPLY_ERR(c, "ERR The specified keys must contain string values");
        return;
    }
    if (ra < 0) {
        j.a = "";
        j.alen = 0;
    }
    if (rb < 0) {
        j.b = "";
        j.blen = 0;
    }
    bool getlen = false, getidx = false;
    for (int i = 3; i < argc; i++) {
        const char *o = argv[i];
        size_t n = argvlen[i];
        if (dice__opt_is(o, n, "idx")) {
            getidx = true;
        } else if (dice__opt_is(o, n, "len")) {
            getlen = true;
        } else if (dice__opt_is(o, n, "withmatchlen")) {
            j.withlen = true;
        } else if (dice__opt_is(o, n, "minmatchlen") && i + 1 < argc) {
            if (dice__parse_ll_or_reply(c, argv[i + 1], argvlen[i + 1],
                                        &j.minlen) < 0)
                return;
            if (j.minlen < 0)
                j.minlen = 0;
            i++;
        } else {
            dice__reply_err(c, DICE__ERR_SYNTAX);
            return;
        }
    }
    if (getidx && getlen) {
        REPLY_ERR(c, "ERR If you want both the length and indexes, please "
                     "just use IDX.");
        return;
    }
    if (j.alen >= UINT32_MAX - 1 || j.blen >= UINT32_MAX - 1) {
        REPLY_ERR(c, "ERR String too long for LCS");
        return;
    }
    unsigned long long cells =
        (unsigned long long)(j.alen + 1) * (unsigned long long)(j.blen + 1);
    unsigned long long bytes = cells * sizeof(uint32_t);
    if (bytes > (unsigned long long)max_bulk(c)) {
        REPLY_ERR(c, "ERR Insufficient memory, transient memory for LCS "
                     "exceeds proto-max-bulk-len");
        return;
    }
    if (bytes <= LCS_TABLE_MAX && bytes <= SIZE_MAX)
        j.t = malloc((size_t)bytes);
    if (!j.t) {
        REPLY_ERR(c, "ERR Insufficient memory, failed allocating transient "
                     "memory for LCS");
        return;
    }
    lcs_fill(&j);
    size_t total = *lcs_cell(&j, j.alen, j.blen);
    if (getlen) {
        dice_reply_int(c, (long long)total);
    } else if (getidx) {
        size_t n = lcs_walk(&j, NULL, NULL);
        dice_reply_map(c, 2);
        dice_reply_bulk(c, "matches", 7);
        dice_reply_array(c, n);
        lcs_walk(&j, NULL, c);
        dice_reply_bulk(c, "len", 3);
        dice_reply_int(c, (long long)total);
    } else {
        char *s = malloc(total ? total : 1);
        if (!s) {
            dice__reply_err(c, DICE__ERR_NOMEM);
        } else {
            lcs_walk(&j, s, NULL);
            dice_reply_bulk(c, s, total);
            free(s);
        }
    }
    free(j.t);
}

/* ---- registration ---------------------------------------------------------
 */

#define W DICE_CMD_WRITE
#define R DICE_CMD_READONLY
#define M DICE_CMD_DENYOOM
#define F DICE_CMD_FAST

static const dice__cmd_desc string_cmds[] = {
    {"get", 2, R | F, 1, 1, 1, cmd_get, NULL,
     "Return the string value of a key", "1.0.0", "O(1)", 0, NULL, NULL, NULL},
    {"set", -3, W | M, 1, 1, 1, cmd_set, NULL,
     "Store a string value, with optional expiry and conditions", "1.0.0",
     "O(1)", 0, NULL, NULL, NULL},
    {"setnx", 3, W | M | F, 1, 1, 1, cmd_setnx, NULL,
     "Store a string value only when the key is absent", "1.0.0", "O(1)", 0,
     NULL, NULL, NULL},
    {"setex", 4, W | M, 1, 1, 1, cmd_setex, NULL,
     "Store a string value with a time to live in seconds", "2.0.0", "O(1)", 0,
     NULL, NULL, NULL},
    {"psetex", 4, W | M, 1, 1, 1, cmd_psetex, NULL,
     "Store a string value with a time to live in milliseconds", "2.6.0",
     "O(1)", 0, NULL, NULL, NULL},
    {"getset", 3, W | M | F, 1, 1, 1, cmd_getset, NULL,
     "Store a string value and return the previous one", "1.0.0", "O(1)", 0,
     NULL, NULL, NULL},
    {"getdel", 2, W | F, 1, 1, 1, cmd_getdel, NULL,
     "Return a string value and delete its key", "6.2.0", "O(1)", 0, NULL, NULL,
     NULL},
    {"getex", -2, W | F, 1, 1, 1, cmd_getex, NULL,
     "Return a string value and change or remove its expiry", "6.2.0", "O(1)",
     0, NULL, NULL, NULL},
    {"mget", -2, R | F, 1, -1, 1, cmd_mget, NULL,
     "Return the string values of several keys", "1.0.0", "O(N) for N keys", 0,
     "request_policy:multi_shard", NULL, NULL},
    {"mset", -3, W | M, 1, -1, 2, cmd_mset, NULL,
     "Store several key/value pairs", "1.0.1", "O(N) for N keys", 0,
     "request_policy:multi_shard response_policy:all_succeeded", NULL, NULL},
    {"msetnx", -3, W | M, 1, -1, 2, cmd_msetnx, NULL,
     "Store several key/value pairs only when none of the keys exists", "1.0.1",
     "O(N) for N keys", 0, "request_policy:multi_shard response_policy:agg_min",
     NULL, NULL},
    {"append", 3, W | M | F, 1, 1, 1, cmd_append, NULL,
     "Add bytes to the end of a string value", "2.0.0",
     "O(1) amortized, since the string's spare room grows geometrically", 0,
     NULL, NULL, NULL},
    {"strlen", 2, R | F, 1, 1, 1, cmd_strlen, NULL,
     "Return the length of a string value", "2.2.0", "O(1)", 0, NULL, NULL,
     NULL},
    {"getrange", 4, R, 1, 1, 1, cmd_getrange, NULL,
     "Return a range of bytes of a string value", "2.4.0",
     "O(N) for a result of N bytes", 0, NULL, NULL, NULL},
    {"substr", 4, R, 1, 1, 1, cmd_getrange, NULL,
     "Return a range of bytes of a string value (old name of GETRANGE)",
     "1.0.0", "O(N) for a result of N bytes", 0, NULL, NULL, NULL},
    {"setrange", 4, W | M, 1, 1, 1, cmd_setrange, NULL,
     "Overwrite bytes of a string value from an offset, padding with zero "
     "bytes",
     "2.2.0", "O(1) plus O(M) to copy M bytes", 0, NULL, NULL, NULL},
    {"incr", 2, W | M | F, 1, 1, 1, cmd_incr, NULL,
     "Add one to the integer value of a key", "1.0.0", "O(1)", 0, NULL, NULL,
     NULL},
    {"decr", 2, W | M | F, 1, 1, 1, cmd_decr, NULL,
     "Subtract one from the integer value of a key", "1.0.0", "O(1)", 0, NULL,
     NULL, NULL},
    {"incrby", 3, W | M | F, 1, 1, 1, cmd_incrby, NULL,
     "Add an integer to the integer value of a key", "1.0.0", "O(1)", 0, NULL,
     NULL, NULL},
    {"decrby", 3, W | M | F, 1, 1, 1, cmd_decrby, NULL,
     "Subtract an integer from the integer value of a key", "1.0.0", "O(1)", 0,
     NULL, NULL, NULL},
    {"incrbyfloat", 3, W | M | F, 1, 1, 1, cmd_incrbyfloat, NULL,
     "Add a floating point number to the numeric value of a key", "2.6.0",
     "O(1)", 0, NULL, NULL, NULL},
    {"lcs", -3, R, 1, 2, 1, cmd_lcs, NULL,
     "Longest common subsequence of two string values", "7.0.0",
     "O(N*M) for strings of N and M bytes", 0, NULL, NULL, NULL},
};

#undef W
#undef R
#undef M
#undef F

#define KS_OF(a) a, (int)DICE__COUNT(a)

/* Redis 7.0's key specs, for COMMAND INFO, where they differ from the
 * one derived from first/last/step (see lib/commands/server.c). */
static const dice__key_spec ks_rw_insert[] = {
    DICE__KS_RANGE(DICE__KS_RW | DICE__KS_INSERT, 1, 0, 1, 0)};
static const dice__key_spec ks_rw_access_update[] = {DICE__KS_RANGE(
    DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_UPDATE, 1, 0, 1, 0)};
static const dice__key_spec ks_rw_access_delete[] = {DICE__KS_RANGE(
    DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_DELETE, 1, 0, 1, 0)};
static const dice__key_spec ks_getex[] = {
    {"RW and UPDATE because it changes the TTL",
     DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_UPDATE,
     DICE__BS_INDEX,
     1,
     NULL,
     DICE__FK_RANGE,
     {0, 1, 0}}};
static const dice__key_spec ks_mset[] = {
    DICE__KS_RANGE(DICE__KS_OW | DICE__KS_UPDATE, 1, -1, 2, 0)};
static const dice__key_spec ks_msetnx[] = {
    DICE__KS_RANGE(DICE__KS_OW | DICE__KS_INSERT, 1, -1, 2, 0)};
static const dice__key_spec ks_ow_update[] = {
    DICE__KS_RANGE(DICE__KS_OW | DICE__KS_UPDATE, 1, 0, 1, 0)};
static const dice__key_spec ks_ow_insert[] = {
    DICE__KS_RANGE(DICE__KS_OW | DICE__KS_INSERT, 1, 0, 1, 0)};
static const dice__key_spec ks_ro[] = {DICE__KS_RANGE(DICE__KS_RO, 1, 0, 1, 0)};
static const dice__key_spec ks_set[] = {
    {"RW and ACCESS due to the optional `GET` argument",
     DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_UPDATE | DICE__KS_VARIABLE_FLAGS,
     DICE__BS_INDEX,
     1,
     NULL,
     DICE__FK_RANGE,
     {0, 1, 0}}};
static const dice__cmd_keyspecs string_keyspecs[] = {
    {"append", KS_OF(ks_rw_insert)},
    {"decr", KS_OF(ks_rw_access_update)},
    {"decrby", KS_OF(ks_rw_access_update)},
    {"getdel", KS_OF(ks_rw_access_delete)},
    {"getex", KS_OF(ks_getex)},
    {"getset", KS_OF(ks_rw_access_update)},
    {"incr", KS_OF(ks_rw_access_update)},
    {"incrby", KS_OF(ks_rw_access_update)},
    {"incrbyfloat", KS_OF(ks_rw_access_update)},
    {"mset", KS_OF(ks_mset)},
    {"msetnx", KS_OF(ks_msetnx)},
    {"psetex", KS_OF(ks_ow_update)},
    {"set", KS_OF(ks_set)},
    {"setex", KS_OF(ks_ow_update)},
    {"setnx", KS_OF(ks_ow_insert)},
    {"strlen", KS_OF(ks_ro)},
};
#undef KS_OF

int dice__builtin_strings(dice_server_t *srv) {
    int rc =
        dice__command_register(srv, NULL, "string", string_cmds,
                               sizeof(string_cmds) / sizeof(string_cmds[0]));
    if (rc < 0)
        return rc;
    return dice__command_set_keyspecs(srv, string_keyspecs,
                                      DICE__COUNT(string_keyspecs));
}
