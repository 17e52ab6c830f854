/* The list command family (Redis's t_list.c): LPUSH RPUSH LPUSHX RPUSHX
 * LPOP RPOP LLEN LRANGE LINDEX LSET LINSERT LREM LTRIM LPOS RPOPLPUSH
 * LMOVE LMPOP and the blocking BLPOP BRPOP BRPOPLPUSH BLMOVE BLMPOP, on
 * the list type (lib/types/list.h) and the blocking machinery
 * (lib/server/blocking.h). Checks and error texts in Redis 7.0.15's order.
 *
 * Propagation: pushes, LPOP/RPOP (with their count), LSET, LINSERT, LREM,
 * LTRIM, LMOVE and RPOPLPUSH are deterministic and go out as they are.
 * LMPOP and every blocking form give their effect instead, as Redis
 * rewrites them: "LPOP key" / "RPOP key" (BLPOP, BRPOP), "LPOP key n"
 * (LMPOP, BLMPOP: n the elements popped), "RPOPLPUSH src dst" (BRPOPLPUSH,
 * served at once or after blocking) and "LMOVE src dst from to" (BLMOVE). */
#include "commands/commands_internal.h"

#include "keyspace/keyspace_internal.h"
#include "types/list.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- List API -------------------------------------------------------------
 */

static const char ERR_COUNT_POSITIVE[] =
    "ERR value is out of range, must be positive";
static const char ERR_NUMKEYS[] = "ERR numkeys should be greater than 0";
static const char ERR_MCOUNT[] = "ERR count should be greater than 0";

/* A new list with the settings now in effect (Redis takes
 * list-max-listpack-size and list-compress-depth when it creates one). */
static void *list_create(void *arg) {
    dice_client_t *c = arg;
    const dice__enc_limits *lim = dice__keyspace_limits(c->srv->keyspace);
    return dice__list_new(lim->list_max_listpack_size,
                          lim->list_compress_depth);
}

static void reply_pos(dice_client_t *c, const dice__list_pos *pos) {
    unsigned char buf[DICE__LP_INTBUF];
    uint32_t len;
    const unsigned char *s = dice__lp_get_str(pos->p, &len, buf);
    dice_reply_bulk(c, (const char *)s, len);
}

/* The element at pos, copied (it must outlive a change of the list): into
 * small when it fits, else malloc'd (*heap set, free it). NULL out of
 * memory. */
typedef struct {
    char small[128];
    char *heap;
    const char *s;
    size_t n;
} elem_copy;

static int copy_pos(elem_copy *e, const dice__list_pos *pos) {
    unsigned char buf[DICE__LP_INTBUF];
    uint32_t len;
    const unsigned char *s = dice__lp_get_str(pos->p, &len, buf);
    e->heap = NULL;
    e->n = len;
    if (len <= sizeof(e->small)) {
        memcpy(e->small, s, len);
        e->s = e->small;
        return 0;
    }
    e->heap = malloc(len);
    if (!e->heap)
        return -1;
    memcpy(e->heap, s, len);
    e->s = e->heap;
    return 0;
}

/* LEFT / RIGHT (any case) as an end, or -1. */
static int parse_end(const char *s, size_t n) {
    if (dice__opt_is(s, n, "left"))
        return DICE__LIST_HEAD;
    if (dice__opt_is(s, n, "right"))
        return DICE__LIST_TAIL;
    return -1;
}

/* A long as Redis's getLongFromObjectOrReply with a custom message: any
 * parse failure or a value outside [min, LONG_MAX] replies msg. */
static int parse_min_or_reply(dice_client_t *c, const char *s, size_t n,
                              long long min, const char *msg, long long *out) {
    if (!dice__str2ll(s, n, out) || *out < min) {
        dice__reply_errstr(c, msg);
        return -1;
    }
    return 0;
}

static void propagate_pop(dice_client_t *c, int where, const char *key,
                          size_t klen, long long count) {
    if (!dice__propagating(c))
        return;
    char num[DICE_FMT_LL_MAX];
    const char *argv[3] = {where == DICE__LIST_HEAD ? "LPOP" : "RPOP", key,
                           num};
    size_t lens[3] = {4, klen, 0};
    if (count >= 0)
        lens[2] = dice__fmt_ll(num, count);
    dice_client_propagate(c, count >= 0 ? 3 : 2, argv, lens);
}

/* The list event of a pop or push at an end ("lpop" "rpop" "lpush"
 * "rpush"), fired on key. */
static void notify_end(dice_client_t *c, int where, int push, const char *key,
                       size_t klen) {
    const char *ev = where == DICE__LIST_HEAD ? (push ? "lpush" : "lpop")
                                              : (push ? "rpush" : "rpop");
    dice__cmd_notify(c, DICE__NOTIFY_LIST, ev, key, klen);
}

static const char *end_name(int where) {
    return where == DICE__LIST_HEAD ? "LEFT" : "RIGHT";
}

static void propagate_lmove(dice_client_t *c, const char *src, size_t slen,
                            const char *dst, size_t dlen, int from, int to,
                            int as_rpoplpush) {
    if (!dice__propagating(c))
        return;
    const char *argv[5] = {as_rpoplpush ? "RPOPLPUSH" : "LMOVE", src, dst,
                           end_name(from), end_name(to)};
    size_t lens[5] = {strlen(argv[0]), slen, dlen, strlen(argv[3]),
                      strlen(argv[4])};
    dice_client_propagate(c, as_rpoplpush ? 3 : 5, argv, lens);
}

/* Pop up to count elements from one end of l (at key), replying them as
 * an array. */
static void pop_range_reply(dice_client_t *c, dice__list *l, int where,
                            long long count) {
    size_t n = dice__list_len(l);
    if ((unsigned long long)count < n)
        n = (size_t)count;
    dice_reply_array(c, n);
    for (size_t i = 0; i < n; i++) {
        dice__list_pos pos;
        dice__list_end(l, where, &pos);
        reply_pos(c, &pos);
        dice__list_pop(l, where);
    }
}

/* [key, [elements]] of LMPOP, propagated as LPOP/RPOP key n. */
static void mpop_reply(dice_client_t *c, dice__list *l, const char *key,
                       size_t klen, int where, long long count) {
    size_t len = dice__list_len(l);
    long long n = (unsigned long long)count < len ? count : (long long)len;
    dice_reply_array(c, 2);
    dice_reply_bulk(c, key, klen);
    pop_range_reply(c, l, where, n);
    propagate_pop(c, where, key, klen, n);
    notify_end(c, where, 0, key, klen);
    dice__obj_written(c, key, klen, dice__list_len(l));
}

/* The move of LMOVE/RPOPLPUSH from a non-empty list src: checks dst's type
 * (replying WRONGTYPE, nothing moved), pops, pushes, replies the element.
 * Returns 0, or -1 after an error reply. */
static int move_elem(dice_client_t *c, dice__list *src, const char *skey,
                     size_t slen, const char *dkey, size_t dlen, int from,
                     int to) {
    void *d = NULL;
    int rc = dice__obj_lookup(c, dkey, dlen, DICE_TYPE_LIST, &d);
    if (rc < 0)
        return -1;
    dice__list_pos pos;
    dice__list_end(src, from, &pos);
    elem_copy e;
    if (copy_pos(&e, &pos) < 0) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return -1;
    }
    int created = 0;
    if (!d && dice__obj_lookup_create(c, dkey, dlen, DICE_TYPE_LIST,
                                      list_create, c, &d, &created) < 0) {
        free(e.heap);
        return -1;
    }
    dice__list_pop(src, from);
    if (dice__list_push(d, to, e.s, e.n) < 0) {
        dice__list_push(src, from, e.s, e.n); /* best effort: undo */
        if (created)
            dice__obj_written(c, dkey, dlen, 0);
        free(e.heap);
        dice__reply_err(c, DICE__ERR_NOMEM);
        return -1;
    }
    notify_end(c, to, 1, dkey, dlen);
    dice__obj_written(c, dkey, dlen, dice__list_len(d));
    dice_reply_bulk(c, e.s, e.n);
    free(e.heap);
    notify_end(c, from, 0, skey, slen);
    dice__obj_written(c, skey, slen, dice__list_len(src));
    return 0;
}

/* ---- List Commands --------------------------------------------------------
 */

/* LPUSH/RPUSH/LPUSHX/RPUSHX: arg encodes the end and the X form. */
enum { PUSH_X = 2 };

static void push_generic(dice_client_t *c, int argc, const char *const *argv,
                         const size_t *argvlen, int how) {
    void *o;
    int created = 0;
    if (how & PUSH_X) {
        int rc = dice__obj_lookup(c, argv[1], argvlen[1], DICE_TYPE_LIST, &o);
        if (rc <= 0) {
            if (rc == 0)
                dice_reply_int(c, 0);
            return;
        }
    } else if (dice__obj_lookup_create(c, argv[1], argvlen[1], DICE_TYPE_LIST,
                                       list_create, c, &o, &created) < 0) {
        return;
    }
    int where = how & 1;
    int failed = 0;
    for (int i = 2; i < argc; i++) {
        if (dice__list_push(o, where, argv[i], argvlen[i]) < 0) {
            failed = 1;
            break;
        }
    }
    size_t len = dice__list_len(o);
    if (failed)
        dice__reply_err(c, DICE__ERR_NOMEM);
    else
        dice_reply_int(c, (long long)len);
    if (len && !failed)
        notify_end(c, where, 1, argv[1], argvlen[1]);
    if (len || created)
        dice__obj_written(c, argv[1], argvlen[1], len);
}

/* LPUSH key element [element ...] */
static DICE__CMD_FN(cmd_lpush) {
    push_generic(c, argc, argv, argvlen, DICE__LIST_HEAD);
}
/* RPUSH key element [element ...] */
static DICE__CMD_FN(cmd_rpush) {
    push_generic(c, argc, argv, argvlen, DICE__LIST_TAIL);
}
/* LPUSHX key element [element ...] */
static DICE__CMD_FN(cmd_lpushx) {
    push_generic(c, argc, argv, argvlen, DICE__LIST_HEAD | PUSH_X);
}
/* RPUSHX key element [element ...] */
static DICE__CMD_FN(cmd_rpushx) {
    push_generic(c, argc, argv, argvlen, DICE__LIST_TAIL | PUSH_X);
}

static void pop_generic(dice_client_t *c, int argc, const char *const *argv,
                        const size_t *argvlen, int where) {
    long long count = -1;
    if (argc > 3) {
        dice__reply_errorf(c, "ERR wrong number of arguments for '%s' command",
                           where == DICE__LIST_HEAD ? "lpop" : "rpop");
        return;
    }
    if (argc == 3 && parse_min_or_reply(c, argv[2], argvlen[2], 0,
                                        ERR_COUNT_POSITIVE, &count) < 0)
        return;
    void *o;
    int rc = dice__obj_lookup(c, argv[1], argvlen[1], DICE_TYPE_LIST, &o);
    if (rc <= 0) {
        if (rc == 0)
            count >= 0 ? dice_reply_null_array(c) : dice_reply_null(c);
        return;
    }
    if (count == 0) {
        dice_reply_array(c, 0);
        return;
    }
    if (count > 0) {
        pop_range_reply(c, o, where, count);
    } else {
        dice__list_pos pos;
        dice__list_end(o, where, &pos);
        reply_pos(c, &pos);
        dice__list_pop(o, where);
    }
    notify_end(c, where, 0, argv[1], argvlen[1]);
    dice__obj_written(c, argv[1], argvlen[1], dice__list_len(o));
}

/* LPOP key [count] */
static DICE__CMD_FN(cmd_lpop) {
    pop_generic(c, argc, argv, argvlen, DICE__LIST_HEAD);
}
/* RPOP key [count] */
static DICE__CMD_FN(cmd_rpop) {
    pop_generic(c, argc, argv, argvlen, DICE__LIST_TAIL);
}

/* LLEN key */
static DICE__CMD_FN(cmd_llen) {
    void *o;
    int rc = dice__obj_lookup_read(c, argv[1], argvlen[1], DICE_TYPE_LIST, &o);
    if (rc >= 0)
        dice_reply_int(c, rc ? (long long)dice__list_len(o) : 0);
}

/* LINDEX key index */
static DICE__CMD_FN(cmd_lindex) {
    void *o;
    int rc = dice__obj_lookup_read(c, argv[1], argvlen[1], DICE_TYPE_LIST, &o);
    if (rc <= 0) {
        if (rc == 0)
            dice_reply_null(c);
        return;
    }
    long long index;
    if (dice__parse_ll_or_reply(c, argv[2], argvlen[2], &index) < 0)
        return;
    dice__list_pos pos;
    if (dice__list_index(o, index, &pos))
        reply_pos(c, &pos);
    else
        dice_reply_null(c);
}

/* Normalise a start/end pair against len as LRANGE and LTRIM do: returns
 * 0 for an empty range, else 1 with 0 <= *s <= *e < len. */
static int clamp_range(long long *s, long long *e, long long len) {
    if (*s < 0)
        *s += len;
    if (*e < 0)
        *e += len;
    if (*s < 0)
        *s = 0;
    if (*s > *e || *s >= len)
        return 0;
    if (*e >= len)
        *e = len - 1;
    return 1;
}

/* LRANGE key start stop */
static DICE__CMD_FN(cmd_lrange) {
    long long start, end;
    if (dice__parse_ll_or_reply(c, argv[2], argvlen[2], &start) < 0 ||
        dice__parse_ll_or_reply(c, argv[3], argvlen[3], &end) < 0)
        return;
    void *o;
    int rc = dice__obj_lookup_read(c, argv[1], argvlen[1], DICE_TYPE_LIST, &o);
    if (rc <= 0) {
        if (rc == 0)
            dice_reply_array(c, 0);
        return;
    }
    if (!clamp_range(&start, &end, (long long)dice__list_len(o))) {
        dice_reply_array(c, 0);
        return;
    }
    size_t n = (size_t)(end - start + 1);
    dice_reply_array(c, n);
    dice__list_pos pos;
    dice__list_index(o, start, &pos);
    for (size_t i = 0; i < n; i++) {
        reply_pos(c, &pos);
        dice__list_step(&pos, DICE__LIST_TAIL);
    }
}

/* LSET key index element */
static DICE__CMD_FN(cmd_lset) {
    void *o;
    int rc = dice__obj_lookup(c, argv[1], argvlen[1], DICE_TYPE_LIST, &o);
    if (rc <= 0) {
        if (rc == 0)
            dice__reply_err(c, DICE__ERR_NO_SUCH_KEY);
        return;
    }
    long long index;
    if (dice__parse_ll_or_reply(c, argv[2], argvlen[2], &index) < 0)
        return;
    dice__list_pos pos;
    if (!dice__list_index(o, index, &pos)) {
        dice__reply_errstr(c, "ERR index out of range");
        return;
    }
    if (dice__list_replace(o, &pos, argv[3], argvlen[3]) < 0) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    dice_reply_ok(c);
    dice__cmd_notify(c, DICE__NOTIFY_LIST, "lset", argv[1], argvlen[1]);
    dice__obj_written(c, argv[1], argvlen[1], dice__list_len(o));
}

/* LINSERT key <BEFORE | AFTER> pivot element */
static DICE__CMD_FN(cmd_linsert) {
    int where;
    if (dice__opt_is(argv[2], argvlen[2], "after"))
        where = DICE__LP_AFTER;
    else if (dice__opt_is(argv[2], argvlen[2], "before"))
        where = DICE__LP_BEFORE;
    else {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return;
    }
    void *o;
    int rc = dice__obj_lookup(c, argv[1], argvlen[1], DICE_TYPE_LIST, &o);
    if (rc <= 0) {
        if (rc == 0)
            dice_reply_int(c, 0);
        return;
    }
    dice__lp_needle nd;
    dice__lp_needle_init(&nd, (const unsigned char *)argv[3],
                         (uint32_t)argvlen[3]);
    dice__list_pos pos;
    for (int ok = dice__list_end(o, DICE__LIST_HEAD, &pos); ok;
         ok = dice__list_step(&pos, DICE__LIST_TAIL)) {
        if (argvlen[3] <= UINT32_MAX && dice__lp_match(pos.p, &nd)) {
            if (dice__list_insert(o, &pos, where, argv[4], argvlen[4]) < 0) {
                dice__reply_err(c, DICE__ERR_NOMEM);
                return;
            }
            size_t len = dice__list_len(o);
            dice__cmd_notify(c, DICE__NOTIFY_LIST, "linsert", argv[1],
                             argvlen[1]);
            dice__obj_written(c, argv[1], argvlen[1], len);
            dice_reply_int(c, (long long)len);
            return;
        }
    }
    dice_reply_int(c, -1);
}

/* LREM key count element */
static DICE__CMD_FN(cmd_lrem) {
    long long toremove;
    if (dice__parse_ll_or_reply(c, argv[2], argvlen[2], &toremove) < 0)
        return;
    void *o;
    int rc = dice__obj_lookup(c, argv[1], argvlen[1], DICE_TYPE_LIST, &o);
    if (rc <= 0) {
        if (rc == 0)
            dice_reply_int(c, 0);
        return;
    }
    int dir = DICE__LIST_TAIL;
    unsigned long long want = (unsigned long long)toremove;
    if (toremove < 0) {
        dir = DICE__LIST_HEAD;
        want = 0ULL - (unsigned long long)toremove;
    }
    dice__lp_needle nd;
    dice__lp_needle_init(&nd, (const unsigned char *)argv[3],
                         (uint32_t)argvlen[3]);
    unsigned long long removed = 0;
    dice__list_pos pos;
    int ok = dice__list_end(
        o, dir == DICE__LIST_TAIL ? DICE__LIST_HEAD : DICE__LIST_TAIL, &pos);
    while (ok && argvlen[3] <= UINT32_MAX) {
        if (dice__lp_match(pos.p, &nd)) {
            dice__list_delete(o, &pos, dir);
            ok = pos.p != NULL;
            if (++removed == want)
                break;
        } else {
            ok = dice__list_step(&pos, dir);
        }
    }
    if (removed) {
        dice__cmd_notify(c, DICE__NOTIFY_LIST, "lrem", argv[1], argvlen[1]);
        dice__obj_written(c, argv[1], argvlen[1], dice__list_len(o));
    }
    dice_reply_int(c, (long long)removed);
}

/* LTRIM key start stop */
static DICE__CMD_FN(cmd_ltrim) {
    long long start, end;
    if (dice__parse_ll_or_reply(c, argv[2], argvlen[2], &start) < 0 ||
        dice__parse_ll_or_reply(c, argv[3], argvlen[3], &end) < 0)
        return;
    void *o;
    int rc = dice__obj_lookup(c, argv[1], argvlen[1], DICE_TYPE_LIST, &o);
    if (rc <= 0) {
        if (rc == 0)
            dice_reply_ok(c);
        return;
    }
    long long len = (long long)dice__list_len(o);
    long long ltrim, rtrim;
    if (!clamp_range(&start, &end, len)) {
        ltrim = len;
        rtrim = 0;
    } else {
        ltrim = start;
        rtrim = len - end - 1;
    }
    dice__list_delete_range(o, 0, (size_t)ltrim);
    dice__list_delete_range(o, (size_t)(len - ltrim - rtrim), (size_t)rtrim);
    /* Redis fires "ltrim" even when nothing was trimmed. */
    dice__cmd_notify(c, DICE__NOTIFY_LIST, "ltrim", argv[1], argvlen[1]);
    if (ltrim + rtrim)
        dice__obj_written(c, argv[1], argvlen[1], dice__list_len(o));
    dice_reply_ok(c);
}

/* LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len] */
static DICE__CMD_FN(cmd_lpos) {
    long long rank = 1, count = -1, maxlen = 0;
    for (int j = 3; j < argc; j++) {
        int more = j + 1 < argc;
        if (more && dice__opt_is(argv[j], argvlen[j], "rank")) {
            j++;
            if (dice__parse_ll_or_reply(c, argv[j], argvlen[j], &rank) < 0)
                return;
            if (rank == 0) {
                dice__reply_errstr(
                    c, "ERR RANK can't be zero: use 1 to start from the first "
                       "match, 2 from the second ... or use negative to start "
                       "from the end of the list");
                return;
            }
        } else if (more && dice__opt_is(argv[j], argvlen[j], "count")) {
            j++;
            if (parse_min_or_reply(c, argv[j], argvlen[j], 0,
                                   "ERR COUNT can't be negative", &count) < 0)
                return;
        } else if (more && dice__opt_is(argv[j], argvlen[j], "maxlen")) {
            j++;
            if (parse_min_or_reply(c, argv[j], argvlen[j], 0,
                                   "ERR MAXLEN can't be negative", &maxlen) < 0)
                return;
        } else {
            dice__reply_err(c, DICE__ERR_SYNTAX);
            return;
        }
    }
    void *o;
    int rc = dice__obj_lookup_read(c, argv[1], argvlen[1], DICE_TYPE_LIST, &o);
    if (rc <= 0) {
        if (rc == 0)
            count != -1 ? dice_reply_array(c, 0) : dice_reply_null(c);
        return;
    }
    int dir = DICE__LIST_TAIL;
    if (rank < 0) {
        /* Redis negates LONG_MIN into itself: every match then ranks. */
        rank = rank == LLONG_MIN ? 1 : -rank;
        dir = DICE__LIST_HEAD;
    }
    long long len = (long long)dice__list_len(o);
    long long small[64], *found = small;
    size_t nfound = 0, cap = 64;
    long long matches = 0, idx = 0;
    dice__lp_needle nd;
    dice__lp_needle_init(&nd, (const unsigned char *)argv[2],
                         (uint32_t)argvlen[2]);
    dice__list_pos pos;
    int ok = dice__list_end(
        o, dir == DICE__LIST_TAIL ? DICE__LIST_HEAD : DICE__LIST_TAIL, &pos);
    for (; ok && (maxlen == 0 || idx < maxlen) && argvlen[2] <= UINT32_MAX;
         ok = dice__list_step(&pos, dir), idx++) {
        if (!dice__lp_match(pos.p, &nd) || ++matches < rank)
            continue;
        long long at = dir == DICE__LIST_TAIL ? idx : len - 1 - idx;
        if (count == -1) {
            dice_reply_int(c, at);
            return;
        }
        if (nfound == cap) {
            long long *g = malloc(2 * cap * sizeof(*g));
            if (!g) {
                if (found != small)
                    free(found);
                dice__reply_err(c, DICE__ERR_NOMEM);
                return;
            }
            memcpy(g, found, nfound * sizeof(*g));
            if (found != small)
                free(found);
            found = g;
            cap *= 2;
        }
        found[nfound++] = at;
        if (count && (long long)nfound == count)
            break;
    }
    if (count == -1) {
        dice_reply_null(c);
        return;
    }
    dice_reply_array(c, nfound);
    for (size_t i = 0; i < nfound; i++)
        dice_reply_int(c, found[i]);
    if (found != small)
        free(found);
}

static void lmove_generic(dice_client_t *c, const char *const *argv,
                          const size_t *argvlen, int from, int to) {
    void *o;
    int rc = dice__obj_lookup(c, argv[1], argvlen[1], DICE_TYPE_LIST, &o);
    if (rc <= 0) {
        if (rc == 0)
            dice_reply_null(c);
        return;
    }
    move_elem(c, o, argv[1], argvlen[1], argv[2], argvlen[2], from, to);
}

/* RPOPLPUSH source destination */
static DICE__CMD_FN(cmd_rpoplpush) {
    lmove_generic(c, argv, argvlen, DICE__LIST_TAIL, DICE__LIST_HEAD);
}

/* LMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT> */
static DICE__CMD_FN(cmd_lmove) {
    int from = parse_end(argv[3], argvlen[3]);
    int to = from < 0 ? -1 : parse_end(argv[4], argvlen[4]);
    if (to < 0) {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return;
    }
    lmove_generic(c, argv, argvlen, from, to);
}

/* The parsed form of LMPOP / BLMPOP. */
typedef struct {
    int nkeys, first; /* keys at argv[first..first+nkeys) */
    int where;
    long long count;
} mpop_args;

/* numkeys at argv[at], keys, LEFT|RIGHT, [COUNT count]. */
static int parse_mpop(dice_client_t *c, int argc, const char *const *argv,
                      const size_t *argvlen, int at, mpop_args *a) {
    long long numkeys;
    if (parse_min_or_reply(c, argv[at], argvlen[at], 1, ERR_NUMKEYS, &numkeys) <
        0)
        return -1;
    if (numkeys >= argc - at - 1) {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return -1;
    }
    a->nkeys = (int)numkeys;
    a->first = at + 1;
    int wi = at + 1 + a->nkeys;
    a->where = parse_end(argv[wi], argvlen[wi]);
    if (a->where < 0) {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return -1;
    }
    a->count = -1;
    for (int j = wi + 1; j < argc; j++) {
        if (a->count == -1 && j + 1 < argc &&
            dice__opt_is(argv[j], argvlen[j], "count")) {
            j++;
            if (parse_min_or_reply(c, argv[j], argvlen[j], 1, ERR_MCOUNT,
                                   &a->count) < 0)
                return -1;
        } else {
            dice__reply_err(c, DICE__ERR_SYNTAX);
            return -1;
        }
    }
    if (a->count == -1)
        a->count = 1;
    return 0;
}

/* LMPOP numkeys key [key ...] <LEFT | RIGHT> [COUNT count] */
static DICE__CMD_FN(cmd_lmpop) {
    mpop_args a;
    if (parse_mpop(c, argc, argv, argvlen, 1, &a) < 0)
        return;
    for (int i = a.first; i < a.first + a.nkeys; i++) {
        void *o;
        int rc = dice__obj_lookup(c, argv[i], argvlen[i], DICE_TYPE_LIST, &o);
        if (rc < 0)
            return;
        if (rc > 0) {
            mpop_reply(c, o, argv[i], argvlen[i], a.where, a.count);
            return;
        }
    }
    dice_reply_null_array(c);
}

/* ---- blocking forms -------------------------------------------------------
 */

/* What a blocked client waits to do. */
enum { BK_POP, BK_MPOP, BK_MOVE };

typedef struct {
    int kind;
    int where, to;   /* ends: popped from, pushed to (BK_MOVE) */
    long long count; /* BK_MPOP; BK_MOVE: 1 for BRPOPLPUSH */
    size_t dlen;     /* BK_MOVE: the destination */
    char dst[];
} block_pd;

static int retry_list(dice_client_t *c, const char *key, size_t klen,
                      void *arg) {
    block_pd *pd = arg;
    void *o;
    if (dice_db_get_object(dice__cmd_db(c), key, klen, DICE_TYPE_LIST, &o) <
            0 ||
        dice__list_len(o) == 0)
        return 0;
    if (pd->kind == BK_MPOP) {
        mpop_reply(c, o, key, klen, pd->where, pd->count);
        return 1;
    }
    if (pd->kind == BK_MOVE) {
        /* A destination of the wrong type ends the wait with WRONGTYPE,
         * as Redis 7.0 does. */
        if (move_elem(c, o, key, klen, pd->dst, pd->dlen, pd->where, pd->to) ==
            0)
            propagate_lmove(c, key, klen, pd->dst, pd->dlen, pd->where, pd->to,
                            pd->count == 1);
        return 1;
    }
    dice_reply_array(c, 2);
    dice_reply_bulk(c, key, klen);
    dice__list_pos pos;
    dice__list_end(o, pd->where, &pos);
    reply_pos(c, &pos);
    dice__list_pop(o, pd->where);
    propagate_pop(c, pd->where, key, klen, -1);
    notify_end(c, pd->where, 0, key, klen);
    dice__obj_written(c, key, klen, dice__list_len(o));
    return 1;
}

static block_pd *pd_new(int kind, int where, int to, long long count,
                        const char *dst, size_t dlen) {
    block_pd *pd = malloc(sizeof(*pd) + dlen);
    if (!pd)
        return NULL;
    pd->kind = kind;
    pd->where = where;
    pd->to = to;
    pd->count = count;
    pd->dlen = dlen;
    if (dlen)
        memcpy(pd->dst, dst, dlen);
    return pd;
}

static void block_on(dice_client_t *c, int nkeys, const char *const *keys,
                     const size_t *klens, int64_t deadline, block_pd *pd) {
    if (!pd) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    dice__block_spec spec = {retry_list, NULL, free, pd};
    dice__client_block(c, nkeys, keys, klens, deadline, &spec);
}

/* BLPOP/BRPOP/BLMPOP: serve from the first non-empty key at once, else
 * block on all of them. count -1: one element ([key, element]). */
static void bpop_generic(dice_client_t *c, int nkeys, const char *const *keys,
                         const size_t *klens, const char *tmo, size_t tlen,
                         int where, long long count) {
    int64_t deadline;
    if (dice__block_timeout_parse(c, tmo, tlen, DICE__TIMEOUT_SECONDS,
                                  &deadline) < 0)
        return;
    block_pd probe = {count < 0 ? BK_POP : BK_MPOP, where, 0, count, 0};
    for (int i = 0; i < nkeys; i++) {
        void *o;
        int rc = dice__obj_lookup(c, keys[i], klens[i], DICE_TYPE_LIST, &o);
        if (rc < 0)
            return;
        if (rc > 0 && retry_list(c, keys[i], klens[i], &probe))
            return;
    }
    block_on(c, nkeys, keys, klens, deadline,
             pd_new(probe.kind, where, 0, count, NULL, 0));
}

/* BLPOP key [key ...] timeout */
static DICE__CMD_FN(cmd_blpop) {
    bpop_generic(c, argc - 2, argv + 1, argvlen + 1, argv[argc - 1],
                 argvlen[argc - 1], DICE__LIST_HEAD, -1);
}
/* BRPOP key [key ...] timeout */
static DICE__CMD_FN(cmd_brpop) {
    bpop_generic(c, argc - 2, argv + 1, argvlen + 1, argv[argc - 1],
                 argvlen[argc - 1], DICE__LIST_TAIL, -1);
}

/* BLMPOP timeout numkeys key [key ...] <LEFT | RIGHT> [COUNT count] */
static DICE__CMD_FN(cmd_blmpop) {
    mpop_args a;
    if (parse_mpop(c, argc, argv, argvlen, 2, &a) < 0)
        return;
    bpop_generic(c, a.nkeys, argv + a.first, argvlen + a.first, argv[1],
                 argvlen[1], a.where, a.count);
}

static void blmove_generic(dice_client_t *c, const char *const *argv,
                           const size_t *argvlen, const char *tmo, size_t tlen,
                           int from, int to, int as_rpoplpush) {
    int64_t deadline;
    if (dice__block_timeout_parse(c, tmo, tlen, DICE__TIMEOUT_SECONDS,
                                  &deadline) < 0)
        return;
    void *o;
    int rc = dice__obj_lookup(c, argv[1], argvlen[1], DICE_TYPE_LIST, &o);
    if (rc < 0)
        return;
    if (rc > 0) {
        if (move_elem(c, o, argv[1], argvlen[1], argv[2], argvlen[2], from,
                      to) == 0)
            propagate_lmove(c, argv[1], argvlen[1], argv[2], argvlen[2], from,
                            to, as_rpoplpush);
        return;
    }
    /* Not allowed to block (MULTI, a session): LMOVE's null, not the
     * timeout's null array. */
    if (!dice__client_may_block(c)) {
        dice_reply_null(c);
        return;
    }
    block_on(c, 1, argv + 1, argvlen + 1, deadline,
             pd_new(BK_MOVE, from, to, as_rpoplpush, argv[2], argvlen[2]));
}

/* BRPOPLPUSH source destination timeout */
static DICE__CMD_FN(cmd_brpoplpush) {
    blmove_generic(c, argv, argvlen, argv[3], argvlen[3], DICE__LIST_TAIL,
                   DICE__LIST_HEAD, 1);
}

/* BLMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT> timeout */
static DICE__CMD_FN(cmd_blmove) {
    int from = parse_end(argv[3], argvlen[3]);
    int to = from < 0 ? -1 : parse_end(argv[4], argvlen[4]);
    if (to < 0) {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return;
    }
    blmove_generic(c, argv, argvlen, argv[5], argvlen[5], from, to, 0);
}

/* ---- registration ---------------------------------------------------------
 */

/* Keys of LMPOP (numkeys at 1) and BLMPOP (at 2), as Redis's keynum key
 * spec finds them: numkeys >= 1 keys that all lie inside the call. */
static int mpop_keys(int at, int argc, const char *const *argv,
                     const size_t *argvlen, int *pos, int max) {
    long long n;
    if (argc <= at || !dice__str2ll(argv[at], argvlen[at], &n) || n < 1 ||
        n > argc - at - 1)
        return -1;
    int k = 0;
    for (long long i = 0; i < n && k < max; i++)
        pos[k++] = at + 1 + (int)i;
    return k;
}
static int lmpop_keys(int argc, const char *const *argv, const size_t *argvlen,
                      int *pos, int max) {
    return mpop_keys(1, argc, argv, argvlen, pos, max);
}
static int blmpop_keys(int argc, const char *const *argv, const size_t *argvlen,
                       int *pos, int max) {
    return mpop_keys(2, argc, argv, argvlen, pos, max);
}

#define W DICE_CMD_WRITE
#define R DICE_CMD_READONLY
#define M DICE_CMD_DENYOOM
#define F DICE_CMD_FAST
#define B (DICE_CMD_BLOCKING | DICE_CMD_NOSCRIPT)
#define K DICE_CMD_MOVABLE_KEYS

static const dice__cmd_desc list_cmds[] = {
    {"lpush", -3, W | M | F, 1, 1, 1, cmd_lpush, NULL,
     "Prepend one or more elements to a list", "1.0.0",
     "O(1) for each element added, so O(N) to add N elements when the "
     "command is called with multiple arguments.",
     0, NULL, NULL, NULL},
    {"rpush", -3, W | M | F, 1, 1, 1, cmd_rpush, NULL,
     "Append one or more elements to a list", "1.0.0",
     "O(1) for each element added, so O(N) to add N elements when the "
     "command is called with multiple arguments.",
     0, NULL, NULL, NULL},
    {"lpushx", -3, W | M | F, 1, 1, 1, cmd_lpushx, NULL,
     "Prepend an element to a list, only if the list exists", "2.2.0",
     "O(1) for each element added, so O(N) to add N elements when the "
     "command is called with multiple arguments.",
     0, NULL, NULL, NULL},
    {"rpushx", -3, W | M | F, 1, 1, 1, cmd_rpushx, NULL,
     "Append an element to a list, only if the list exists", "2.2.0",
     "O(1) for each element added, so O(N) to add N elements when the "
     "command is called with multiple arguments.",
     0, NULL, NULL, NULL},
    {"lpop", -2, W | F, 1, 1, 1, cmd_lpop, NULL,
     "Remove and get the first elements in a list", "1.0.0",
     "O(N) where N is the number of elements returned", 0, NULL, NULL, NULL},
    {"rpop", -2, W | F, 1, 1, 1, cmd_rpop, NULL,
     "Remove and get the last elements in a list", "1.0.0",
     "O(N) where N is the number of elements returned", 0, NULL, NULL, NULL},
    {"llen", 2, R | F, 1, 1, 1, cmd_llen, NULL, "Get the length of a list",
     "1.0.0", "O(1)", 0, NULL, NULL, NULL},
    {"lrange", 4, R, 1, 1, 1, cmd_lrange, NULL,
     "Get a range of elements from a list", "1.0.0",
     "O(S+N) where S is the distance of start offset from HEAD for small "
     "lists, from nearest end (HEAD or TAIL) for large lists; and N is the "
     "number of elements in the specified range.",
     0, NULL, NULL, NULL},
    {"lindex", 3, R, 1, 1, 1, cmd_lindex, NULL,
     "Get an element from a list by its index", "1.0.0",
     "O(N) where N is the number of elements to traverse to get to the "
     "element at index. This makes asking for the first or the last element "
     "of the list O(1).",
     0, NULL, NULL, NULL},
    {"lset", 4, W | M, 1, 1, 1, cmd_lset, NULL,
     "Set the value of an element in a list by its index", "1.0.0",
     "O(N) where N is the length of the list. Setting either the first or "
     "the last element of the list is O(1).",
     0, NULL, NULL, NULL},
    {"linsert", 5, W | M, 1, 1, 1, cmd_linsert, NULL,
     "Insert an element before or after another element in a list", "2.2.0",
     "O(N) where N is the number of elements to traverse before seeing the "
     "value pivot. This means that inserting somewhere on the left end on "
     "the list (head) can be considered O(1) and inserting somewhere on the "
     "right end (tail) is O(N).",
     0, NULL, NULL, NULL},
    {"lrem", 4, W, 1, 1, 1, cmd_lrem, NULL, "Remove elements from a list",
     "1.0.0",
     "O(N+M) where N is the length of the list and M is the number of "
     "elements removed.",
     0, NULL, NULL, NULL},
    {"ltrim", 4, W, 1, 1, 1, cmd_ltrim, NULL,
     "Trim a list to the specified range", "1.0.0",
     "O(N) where N is the number of elements to be removed by the "
     "operation.",
     0, NULL, NULL, NULL},
    {"lpos", -3, R, 1, 1, 1, cmd_lpos, NULL,
     "Return the index of matching elements on a list", "6.0.6",
     "O(N) where N is the number of elements in the list, for the average "
     "case. When searching for elements near the head or the tail of the "
     "list, or when the MAXLEN option is provided, the command may run in "
     "constant time.",
     0, NULL, NULL, NULL},
    {"rpoplpush", 3, W | M, 1, 2, 1, cmd_rpoplpush, NULL,
     "Remove the last element in a list, prepend it to another list and "
     "return it",
     "1.2.0", "O(1)", 0, NULL, NULL, NULL},
    {"lmove", 5, W | M, 1, 2, 1, cmd_lmove, NULL,
     "Pop an element from a list, push it to another list and return it",
     "6.2.0", "O(1)", 0, NULL, NULL, NULL},
    {"lmpop", -4, W | K, 0, 0, 0, cmd_lmpop, NULL, "Pop elements from a list",
     "7.0.0",
     "O(N+M) where N is the number of provided keys and M is the number of "
     "elements returned.",
     0, NULL, NULL, lmpop_keys},
    {"blpop", -3, W | B, 1, -2, 1, cmd_blpop, NULL,
     "Remove and get the first element in a list, or block until one is "
     "available",
     "2.0.0", "O(N) where N is the number of provided keys.", 0, NULL, NULL,
     NULL},
    {"brpop", -3, W | B, 1, -2, 1, cmd_brpop, NULL,
     "Remove and get the last element in a list, or block until one is "
     "available",
     "2.0.0", "O(N) where N is the number of provided keys.", 0, NULL, NULL,
     NULL},
    {"brpoplpush", 4, W | M | B, 1, 2, 1, cmd_brpoplpush, NULL,
     "Pop an element from a list, push it to another list and return it; or "
     "block until one is available",
     "2.2.0", "O(1)", 0, NULL, NULL, NULL},
    {"blmove", 6, W | M | B, 1, 2, 1, cmd_blmove, NULL,
     "Pop an element from a list, push it to another list and return it; or "
     "block until one is available",
     "6.2.0", "O(1)", 0, NULL, NULL, NULL},
    {"blmpop", -5, W | DICE_CMD_BLOCKING | K, 0, 0, 0, cmd_blmpop, NULL,
     "Pop elements from a list, or block until one is available", "7.0.0",
     "O(N+M) where N is the number of provided keys and M is the number of "
     "elements returned.",
     0, NULL, NULL, blmpop_keys},
};

#undef W
#undef R
#undef M
#undef F
#undef B
#undef K

#define KS_OF(a) a, (int)DICE__COUNT(a)

/* Redis 7.0's key specs, for COMMAND INFO, where they differ from the
 * one derived from first/last/step (see lib/commands/server.c). */
static const dice__key_spec ks_lmove[] = {
    DICE__KS_RANGE(DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_DELETE, 1, 0, 1, 0),
    DICE__KS_RANGE(DICE__KS_RW | DICE__KS_INSERT, 2, 0, 1, 0)};
static const dice__key_spec ks_blmpop[] = {DICE__KS_KEYNUM(
    DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_DELETE, 2, 0, 1, 1)};
static const dice__key_spec ks_blpop[] = {DICE__KS_RANGE(
    DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_DELETE, 1, -2, 1, 0)};
static const dice__key_spec ks_rw_insert[] = {
    DICE__KS_RANGE(DICE__KS_RW | DICE__KS_INSERT, 1, 0, 1, 0)};
static const dice__key_spec ks_ro[] = {DICE__KS_RANGE(DICE__KS_RO, 1, 0, 1, 0)};
static const dice__key_spec ks_lmpop[] = {DICE__KS_KEYNUM(
    DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_DELETE, 1, 0, 1, 1)};
static const dice__key_spec ks_rw_access_delete[] = {DICE__KS_RANGE(
    DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_DELETE, 1, 0, 1, 0)};
static const dice__key_spec ks_rw_delete[] = {
    DICE__KS_RANGE(DICE__KS_RW | DICE__KS_DELETE, 1, 0, 1, 0)};
static const dice__cmd_keyspecs list_keyspecs[] = {
    {"blmove", KS_OF(ks_lmove)},
    {"blmpop", KS_OF(ks_blmpop)},
    {"blpop", KS_OF(ks_blpop)},
    {"brpop", KS_OF(ks_blpop)},
    {"brpoplpush", KS_OF(ks_lmove)},
    {"linsert", KS_OF(ks_rw_insert)},
    {"llen", KS_OF(ks_ro)},
    {"lmove", KS_OF(ks_lmove)},
    {"lmpop", KS_OF(ks_lmpop)},
    {"lpop", KS_OF(ks_rw_access_delete)},
    {"lpush", KS_OF(ks_rw_insert)},
    {"lpushx", KS_OF(ks_rw_insert)},
    {"lrem", KS_OF(ks_rw_delete)},
    {"ltrim", KS_OF(ks_rw_delete)},
    {"rpop", KS_OF(ks_rw_access_delete)},
    {"rpoplpush", KS_OF(ks_lmove)},
    {"rpush", KS_OF(ks_rw_insert)},
    {"rpushx", KS_OF(ks_rw_insert)},
};
#undef KS_OF

int dice__builtin_lists(dice_server_t *srv) {
    int rc = dice_keyspace_register_type(srv->keyspace, DICE_TYPE_LIST,
                                         &dice__list_methods, srv->keyspace);
    if (rc < 0)
        return rc;
    int krc = dice__command_register(srv, NULL, "list", list_cmds,
                                     sizeof(list_cmds) / sizeof(list_cmds[0]));
    if (krc < 0)
        return krc;
    return dice__command_set_keyspecs(srv, list_keyspecs,
                                      DICE__COUNT(list_keyspecs));
}
