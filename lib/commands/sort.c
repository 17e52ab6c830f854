/* SORT and SORT_RO, in Redis 7.0's sort.c shape: the elements of a list,
 * set or sorted set, weighted by themselves or by keys a BY pattern names
 * (strings, or hash fields with "->field"), sorted numerically or with
 * ALPHA, cut by LIMIT, replaced by GET patterns ("#" is the element),
 * replied or stored as a list with STORE. Options are parsed, checked
 * and compared in Redis's order with its texts. */
#include "commands/commands_internal.h"
#include "types/hash.h"
#include "types/list.h"
#include "types/set.h"
#include "types/zset.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- API: elements, patterns, comparison ----------------------------------
 */

/* One element to sort: its bytes (NUL-terminated copies in the arena) and
 * its weight, a number or (ALPHA with BY) the bytes of the BY value. */
typedef struct sort_elem {
    const char *s;
    size_t n;
    double score;
    const char *cmp; /* ALPHA BY: the value, NULL when its key is missing */
    size_t cmpn;
} sort_elem;

/* Growable byte storage for element and weight copies: offsets until it
 * stops growing, then pointers. */
typedef struct arena {
    char *b;
    size_t len, cap;
    int oom;
} arena;

static size_t arena_put(arena *a, const char *s, size_t n) {
    if (a->len + n + 1 > a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 4096;
        while (nc < a->len + n + 1)
            nc *= 2;
        char *nb = realloc(a->b, nc);
        if (!nb) {
            a->oom = 1;
            return 0;
        }
        a->b = nb;
        a->cap = nc;
    }
    size_t at = a->len;
    if (n)
        memcpy(a->b + at, s, n);
    a->b[at + n] = 0;
    a->len += n + 1;
    return at;
}

typedef struct sort_ctx {
    sort_elem *v;
    size_t len, cap;
    arena a;
} sort_ctx;

static void add_elem(sort_ctx *x, const char *s, size_t n) {
    if (x->len == x->cap) {
        size_t nc = x->cap ? x->cap * 2 : 16;
        sort_elem *nv = realloc(x->v, nc * sizeof(*nv));
        if (!nv) {
            x->a.oom = 1;
            return;
        }
        x->v = nv;
        x->cap = nc;
    }
    sort_elem *e = &x->v[x->len++];
    /* An offset for now: the arena may move. */
    e->s = (const char *)(uintptr_t)arena_put(&x->a, s, n);
    e->n = n;
    e->score = 0;
    e->cmp = NULL;
    e->cmpn = 0;
}

static void visit_elem(void *ctx, const char *m, size_t n) {
    add_elem(ctx, m, n);
}

/* The value a pattern names for element e (Redis's lookupKeyByPattern):
 * "#" is e itself; otherwise the first '*' takes e's bytes and the key is
 * a string's value, or with "->field" after the '*' that field of a hash.
 * 1 with *v, *vn (into the keyspace or numbuf, valid until the next
 * lookup), or 0 when there is nothing (no '*', no key, another type). */
static int pattern_value(dice_client_t *c, const char *pat, size_t plen,
                         const char *e, size_t en, char *numbuf, const char **v,
                         size_t *vn) {
    size_t cl = strnlen(pat, plen); /* Redis's C-string view */
    if (cl == 1 && pat[0] == '#') {
        *v = e;
        *vn = en;
        return 1;
    }
    const char *star = memchr(pat, '*', cl);
    if (!star)
        return 0;
    const char *field = NULL;
    size_t fieldlen = 0;
    for (const char *q = star + 1; q + 1 < pat + cl; q++) {
        if (q[0] == '-' && q[1] == '>') {
            if (q + 2 < pat + cl) {
                field = q + 2;
                fieldlen = plen - (size_t)(field - pat);
            }
            break;
        }
    }
    size_t pre = (size_t)(star - pat);
    size_t post = plen - pre - 1 - (field ? fieldlen + 2 : 0);
    char stack[256];
    size_t kl = pre + en + post;
    char *k = kl <= sizeof(stack) ? stack : malloc(kl);
    if (!k)
        return 0;
    memcpy(k, pat, pre);
    memcpy(k + pre, e, en);
    memcpy(k + pre + en, star + 1, post);
    dice_db_t *db = dice__cmd_db(c);
    int found = 0, rc;
    if (field) {
        void *o;
        rc = dice_db_get_object(db, k, kl, DICE_TYPE_HASH, &o);
        if (rc == 0)
            found = dice__hash_get(o, field, fieldlen, numbuf, v, vn) == 1;
    } else {
        rc = dice_db_get(db, k, kl, numbuf, v, vn);
        found = rc == 0;
    }
    /* Redis looks the key up for reading: a missing one is a keymiss. */
    if (rc == DICE_ENOENT)
        dice__cmd_keymiss(c, k, kl);
    if (k != stack)
        free(k);
    return found;
}

/* How elements compare (Redis's sortCompare). */
typedef struct sort_how {
    int desc, alpha, by, store;
} sort_how;

/* Bytes compared as Redis's compareStringObjects (binary, then length). */
static int cmp_bin(const char *a, size_t an, const char *b, size_t bn) {
    int r = memcmp(a, b, an < bn ? an : bn);
    if (r)
        return r;
    return an < bn ? -1 : an > bn;
}

static int compare(const sort_how *h, const sort_elem *a, const sort_elem *b) {
    int r;
    if (!h->alpha) {
        if (a->score > b->score)
            r = 1;
        else if (a->score < b->score)
            r = -1;
        else /* equal weights: the elements' bytes decide */
            r = cmp_bin(a->s, a->n, b->s, b->n);
    } else if (h->by) {
        if (!a->cmp || !b->cmp)
            r = a->cmp == b->cmp ? 0 : !a->cmp ? -1 : 1;
        else if (h->store)
            r = cmp_bin(a->cmp, a->cmpn, b->cmp, b->cmpn);
        else
            r = strcoll(a->cmp, b->cmp);
    } else {
        r = h->store ? cmp_bin(a->s, a->n, b->s, b->n) : strcoll(a->s, b->s);
    }
    return h->desc ? -r : r;
}

static int compare_ctx(const void *a, const void *b, void *how) {
    return compare(how, a, b);
}

/* A stable merge sort, as glibc's qsort (a merge sort) leaves elements
 * that compare equal in their input order. */
static void msort(const sort_how *h, sort_elem *v, size_t n, sort_elem *tmp) {
    if (n < 2)
        return;
    size_t m = n / 2;
    msort(h, v, m, tmp);
    msort(h, v + m, n - m, tmp);
    size_t i = 0, j = m, k = 0;
    while (i < m && j < n)
        tmp[k++] = compare(h, &v[j], &v[i]) < 0 ? v[j++] : v[i++];
    while (i < m)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof(*v));
}

/* A weight's text as a number, as Redis reads it with strtod: the whole
 * C string must be consumed (so "" is 0), no overflow, no NaN. */
static int weight_number(const char *s, size_t n, double *out) {
    char stack[128];
    char *b = n < sizeof(stack) ? stack : malloc(n + 1);
    if (!b)
        return 0;
    memcpy(b, s, n);
    b[n] = 0;
    char *end;
    errno = 0;
    *out = strtod(b, &end);
    int ok = *end == '\0' && errno != ERANGE && !isnan(*out);
    if (b != stack)
        free(b);
    return ok;
}

/* ---- Commands ------------------------------------------------------------ */

typedef struct getop {
    const char *p;
    size_t n;
} getop;

/* SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern
 *   ...]] [ASC|DESC] [ALPHA] [STORE destination]
 * SORT_RO key [the same without STORE] (arg non-NULL) */
static DICE__CMD_FN(cmd_sort) {
    int readonly = arg != NULL;
    sort_how how = {0, 0, 0, 0};
    long long lstart = 0, lcount = -1;
    const char *by = NULL, *store = NULL;
    size_t bylen = 0, storelen = 0;
    int dontsort = 0;
    getop gstack[8], *gets = gstack;
    size_t ngets = 0, gcap = DICE__COUNT(gstack);
    for (int j = 2; j < argc; j++) {
        int left = argc - j - 1;
        const char *o = argv[j];
        size_t ol = argvlen[j];
        if (dice__opt_is(o, ol, "asc")) {
            how.desc = 0;
        } else if (dice__opt_is(o, ol, "desc")) {
            how.desc = 1;
        } else if (dice__opt_is(o, ol, "alpha")) {
            how.alpha = 1;
        } else if (dice__opt_is(o, ol, "limit") && left >= 2) {
            if (dice__parse_ll_or_reply(c, argv[j + 1], argvlen[j + 1],
                                        &lstart) < 0 ||
                dice__parse_ll_or_reply(c, argv[j + 2], argvlen[j + 2],
                                        &lcount) < 0)
                goto done;
            j += 2;
        } else if (!readonly && dice__opt_is(o, ol, "store") && left >= 1) {
            store = argv[j + 1];
            storelen = argvlen[j + 1];
            j++;
        } else if (dice__opt_is(o, ol, "by") && left >= 1) {
            by = argv[j + 1];
            bylen = argvlen[j + 1];
            /* A pattern with no '*' names one key for every element:
             * nothing to sort by. */
            if (!memchr(by, '*', strnlen(by, bylen)))
                dontsort = 1;
            j++;
        } else if (dice__opt_is(o, ol, "get") && left >= 1) {
            if (ngets == gcap) {
                getop *ng = malloc(2 * gcap * sizeof(*ng));
                if (!ng) {
                    dice__reply_err(c, DICE__ERR_NOMEM);
                    goto done;
                }
                memcpy(ng, gets, ngets * sizeof(*ng));
                if (gets != gstack)
                    free(gets);
                gets = ng;
                gcap *= 2;
            }
            gets[ngets].p = argv[j + 1];
            gets[ngets++].n = argvlen[j + 1];
            j++;
        } else {
            dice__reply_err(c, DICE__ERR_SYNTAX);
            goto done;
        }
    }
    dice_db_t *db = dice__cmd_db(c);
    int type = dice_db_type(db, argv[1], argvlen[1]);
    void *obj = NULL;
    if (type >= 0) {
        if (type != DICE_TYPE_LIST && type != DICE_TYPE_SET &&
            type != DICE_TYPE_ZSET) {
            dice__reply_err(c, DICE__ERR_WRONGTYPE);
            goto done;
        }
        if (dice__obj_lookup(c, argv[1], argvlen[1], type, &obj) <= 0) {
            if (!obj) {
                type = -1; /* expired as it was looked up */
            }
        }
    }
    /* Redis looks the source up for reading: a missing one is a keymiss
     * (the BY and GET lookups report theirs in pattern_value). */
    if (type < 0)
        dice__cmd_keymiss(c, argv[1], argvlen[1]);
    /* A set has no order of its own: stored (replicated) results must not
     * depend on the table's, so they are sorted by the members. */
    if (dontsort && type == DICE_TYPE_SET && store) {
        dontsort = 0;
        how.alpha = 1;
        by = NULL;
    }
    long long vlen = 0;
    if (obj)
        vlen = type == DICE_TYPE_LIST  ? (long long)dice__list_len(obj)
               : type == DICE_TYPE_SET ? (long long)dice__set_len(obj)
                                       : (long long)dice__zs_len(obj);
    long long start = lstart < 0 ? 0 : lstart;
    long long end = lcount < 0 ? vlen - 1 : start + lcount - 1;
    if (start >= vlen) {
        start = vlen - 1;
        end = vlen - 2;
    }
    if (end >= vlen)
        end = vlen - 1;
    sort_ctx x;
    memset(&x, 0, sizeof(x));
    /* Lists and sorted sets in their own order with BY nosort: only the
     * LIMIT range is loaded, walked from the DESC end. */
    if (obj && dontsort && type != DICE_TYPE_SET) {
        if (end >= start) {
            long long want = end - start + 1;
            if (type == DICE_TYPE_LIST) {
                dice__list_pos pos;
                long long first = how.desc ? vlen - start - 1 : start;
                if (dice__list_index(obj, first, &pos)) {
                    for (long long k = 0; k < want && pos.p; k++) {
                        uint32_t ln;
                        long long iv;
                        const unsigned char *p = dice__list_get(&pos, &ln, &iv);
                        char nb[DICE_FMT_LL_MAX];
                        if (p)
                            add_elem(&x, (const char *)p, ln);
                        else
                            add_elem(&x, nb, dice__fmt_ll(nb, iv));
                        dice__list_step(&pos, how.desc ? DICE__LIST_HEAD
                                                       : DICE__LIST_TAIL);
                    }
                }
            } else {
                dice__zs_iter it;
                dice__zs_iter_init(&it, obj, (size_t)start, how.desc);
                const char *m;
                size_t n;
                double sc;
                for (long long k = 0;
                     k < want && dice__zs_iter_next(&it, &m, &n, &sc); k++)
                    add_elem(&x, m, n);
            }
            end -= start;
            start = 0;
        }
    } else if (obj) {
        if (type == DICE_TYPE_LIST) {
            dice__list_pos pos;
            if (dice__list_index(obj, 0, &pos)) {
                while (pos.p) {
                    uint32_t ln;
                    long long iv;
                    const unsigned char *p = dice__list_get(&pos, &ln, &iv);
                    char nb[DICE_FMT_LL_MAX];
                    if (p)
                        add_elem(&x, (const char *)p, ln);
                    else
                        add_elem(&x, nb, dice__fmt_ll(nb, iv));
                    dice__list_step(&pos, DICE__LIST_TAIL);
                }
            }
        } else if (type == DICE_TYPE_SET) {
            dice__set_foreach(obj, visit_elem, &x);
        } else {
            dice__zs_iter it;
            dice__zs_iter_init(&it, obj, 0, 0);
            const char *m;
            size_t n;
            double sc;
            while (dice__zs_iter_next(&it, &m, &n, &sc))
                add_elem(&x, m, n);
        }
    }
    int convert_err = 0;
    size_t *cmpoff = NULL;
    if (!x.a.oom && !dontsort && x.len) {
        if (by && how.alpha) {
            cmpoff = malloc(x.len * sizeof(*cmpoff));
            if (!cmpoff)
                x.a.oom = 1;
        }
        for (size_t j = 0; j < x.len && !x.a.oom; j++) {
            sort_elem *e = &x.v[j];
            const char *es = x.a.b + (uintptr_t)e->s;
            const char *bv = es;
            size_t bn = e->n;
            char nb[DICE_FMT_LL_MAX > DICE__HASH_NUMBUF ? DICE_FMT_LL_MAX
                                                        : DICE__HASH_NUMBUF];
            if (by) {
                if (cmpoff)
                    cmpoff[j] = SIZE_MAX;
                if (!pattern_value(c, by, bylen, es, e->n, nb, &bv, &bn))
                    continue;
            }
            if (how.alpha) {
                if (by) {
                    cmpoff[j] = arena_put(&x.a, bv, bn);
                    e->cmpn = bn;
                    es = x.a.b + (uintptr_t)e->s;
                }
            } else if (!weight_number(bv, bn, &e->score)) {
                convert_err = 1;
            }
        }
    }
    if (x.a.oom) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        goto out;
    }
    /* The arena no longer moves: offsets become pointers. */
    for (size_t j = 0; j < x.len; j++) {
        x.v[j].s = x.a.b + (uintptr_t)x.v[j].s;
        if (cmpoff && cmpoff[j] != SIZE_MAX)
            x.v[j].cmp = x.a.b + cmpoff[j];
    }
    if (!dontsort && x.len > 1) {
        how.by = by != NULL;
        how.store = store != NULL;
        sort_elem *tmp = malloc(x.len * sizeof(*tmp));
        if (!tmp) {
            dice__reply_err(c, DICE__ERR_NOMEM);
            goto out;
        }
        /* Redis sorts a LIMIT slice of a BY sort with its partial
         * quicksort, which leaves equal weights in another order. */
        if (by && (start != 0 || end != (long long)x.len - 1))
            dice__pqsort(x.v, x.len, sizeof(*x.v), compare_ctx, &how,
                         (size_t)start, (size_t)end);
        else
            msort(&how, x.v, x.len, tmp);
        free(tmp);
    }
    long long outlen =
        ngets ? (long long)ngets * (end - start + 1) : end - start + 1;
    if (convert_err) {
        dice__reply_errstr(
            c, "ERR One or more scores can't be converted into double");
    } else if (!store) {
        dice_reply_array(c, (size_t)outlen);
        for (long long j = start; j <= end; j++) {
            sort_elem *e = &x.v[j];
            if (!ngets)
                dice_reply_bulk(c, e->s, e->n);
            for (size_t g = 0; g < ngets; g++) {
                char nb[DICE_FMT_LL_MAX > DICE__HASH_NUMBUF
                            ? DICE_FMT_LL_MAX
                            : DICE__HASH_NUMBUF];
                const char *v;
                size_t vn;
                if (pattern_value(c, gets[g].p, gets[g].n, e->s, e->n, nb, &v,
                                  &vn))
                    dice_reply_bulk(c, v, vn);
                else
                    dice_reply_null(c);
            }
        }
    } else {
        const dice__enc_limits *l = dice__keyspace_limits(c->srv->keyspace);
        dice__list *dst = NULL;
        if (outlen > 0) {
            dst = dice__list_new(l->list_max_listpack_size,
                                 l->list_compress_depth);
            for (long long j = start; dst && j <= end; j++) {
                sort_elem *e = &x.v[j];
                int rc = 0;
                if (!ngets)
                    rc = dice__list_push(dst, DICE__LIST_TAIL, e->s, e->n);
                for (size_t g = 0; g < ngets && rc == 0; g++) {
                    char nb[DICE_FMT_LL_MAX > DICE__HASH_NUMBUF
                                ? DICE_FMT_LL_MAX
                                : DICE__HASH_NUMBUF];
                    const char *v = "";
                    size_t vn = 0;
                    if (!pattern_value(c, gets[g].p, gets[g].n, e->s, e->n, nb,
                                       &v, &vn)) {
                        v = "";
                        vn = 0;
                    }
                    rc = dice__list_push(dst, DICE__LIST_TAIL, v, vn);
                }
                if (rc < 0) {
                    dice__list_free(dst);
                    dst = NULL;
                }
            }
            if (!dst || dice_db_set_object(db, store, storelen, DICE_TYPE_LIST,
                                           dst, 0, 0) < 0) {
                dice__reply_err(c, DICE__ERR_NOMEM);
                goto out;
            }
            dice__cmd_notify(c, DICE__NOTIFY_LIST, "sortstore", store,
                             storelen);
        } else if (dice_db_delete(db, store, storelen)) {
            dice__cmd_notify(c, DICE__NOTIFY_GENERIC, "del", store, storelen);
        }
        dice_reply_int(c, outlen);
    }
out:
    free(cmpoff);
    free(x.v);
    free(x.a.b);
done:
    if (gets != gstack)
        free(gets);
}

/* ---- registration -------------------------------------------------------- */

/* SORT's keys: the sorted key and the last STORE's destination (Redis's
 * sortGetKeys, which skips LIMIT's, GET's and BY's arguments). */
static int keys_sort(int argc, const char *const *argv, const size_t *argvlen,
                     int *pos, int max) {
    if (argc < 2 || max < 1)
        return -1;
    int n = 0, store = -1;
    pos[n++] = 1;
    for (int i = 2; i < argc; i++) {
        if (dice__opt_is(argv[i], argvlen[i], "limit"))
            i += 2;
        else if (dice__opt_is(argv[i], argvlen[i], "get") ||
                 dice__opt_is(argv[i], argvlen[i], "by"))
            i += 1;
        else if (dice__opt_is(argv[i], argvlen[i], "store") && i + 1 < argc)
            store = i + 1;
    }
    if (store >= 0 && n < max)
        pos[n++] = store;
    return n;
}

static int keys_sort_ro(int argc, const char *const *argv,
                        const size_t *argvlen, int *pos, int max) {
    (void)argv, (void)argvlen;
    if (argc < 2 || max < 1)
        return -1;
    pos[0] = 1;
    return 1;
}

static const char CX_SORT[] =
    "O(N+M*log(M)) where N is the number of elements in the list or set to "
    "sort, and M the number of returned elements. When the elements are not "
    "sorted, complexity is O(N).";

#define SORT_ACL                                                               \
    (DICE_ACL_SET | DICE_ACL_SORTEDSET | DICE_ACL_LIST | DICE_ACL_DANGEROUS |  \
     DICE__ACL_NOGROUP)

static const dice__cmd_desc sort_cmds[] = {
    {"sort", -2, DICE_CMD_WRITE | DICE_CMD_DENYOOM | DICE_CMD_MOVABLE_KEYS, 1,
     1, 1, cmd_sort, NULL, "Sort the elements in a list, set or sorted set",
     "1.0.0", CX_SORT, SORT_ACL, NULL, NULL, keys_sort},
    {"sort_ro", -2, DICE_CMD_READONLY | DICE_CMD_MOVABLE_KEYS, 1, 1, 1,
     cmd_sort, (void *)1,
     "Sort the elements in a list, set or sorted set. Read-only variant of "
     "SORT.",
     "7.0.0", CX_SORT, SORT_ACL, NULL, NULL, keys_sort_ro},
};

#define KS_OF(a) a, (int)DICE__COUNT(a)
#define KS_UNKNOWN(note, fl)                                                   \
    {                                                                          \
        (note), (fl), DICE__BS_UNKNOWN, 0, NULL, DICE__FK_UNKNOWN, {           \
            0, 0, 0                                                            \
        }                                                                      \
    }
static const char NOTE_BYGET[] =
    "For the optional BY/GET keyword. It is marked 'unknown' because the key "
    "names derive from the content of the key we sort";
static const char NOTE_STORE[] =
    "For the optional STORE keyword. It is marked 'unknown' because the "
    "keyword can appear anywhere in the argument array";
static const dice__key_spec ks_sort[] = {
    DICE__KS_RANGE(DICE__KS_RO | DICE__KS_ACCESS, 1, 0, 1, 0),
    KS_UNKNOWN(NOTE_BYGET, DICE__KS_RO | DICE__KS_ACCESS),
    KS_UNKNOWN(NOTE_STORE, DICE__KS_OW | DICE__KS_UPDATE)};
static const dice__key_spec ks_sort_ro[] = {
    DICE__KS_RANGE(DICE__KS_RO | DICE__KS_ACCESS, 1, 0, 1, 0),
    KS_UNKNOWN(NOTE_BYGET, DICE__KS_RO | DICE__KS_ACCESS)};
static const dice__cmd_keyspecs sort_keyspecs[] = {
    {"sort", KS_OF(ks_sort)},
    {"sort_ro", KS_OF(ks_sort_ro)},
};
#undef KS_OF

int dice__builtin_sort(dice_server_t *srv) {
    int rc = dice__command_register(srv, NULL, "generic", sort_cmds,
                                    DICE__COUNT(sort_cmds));
    if (rc < 0)
        return rc;
    return dice__command_set_keyspecs(srv, sort_keyspecs,
                                      DICE__COUNT(sort_keyspecs));
}
