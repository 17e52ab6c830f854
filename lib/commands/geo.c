/* Geo commands, in Redis 7.0's geo.c shape: points are members of a
 * sorted set (lib/types/zset.h) whose score is the 52-bit geohash of
 * their position (lib/types/geohash.h). GEOADD is ZADD with computed
 * scores (and propagates as that ZADD, as Redis rewrites it); the
 * searches scan the score ranges of the nine cells that cover the shape,
 * in Redis's order, so that the same inputs give the same members in the
 * same order, with the same digits. Argument checks run in Redis's order
 * with its texts. */
#include "commands/commands_internal.h"
#include "types/geohash.h"
#include "types/zset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- API: parsing, points, replies --------------------------------------- */

static const char ERR_MEMBER[] = "ERR could not decode requested zset member";

static const dice__enc_limits *limits(dice_client_t *c) {
    return dice__keyspace_limits(c->srv->keyspace);
}

/* A longitude, latitude pair from argv[0], argv[1] (Redis's
 * extractLongLatOrReply): 0, or -1 after replying. */
static int parse_lonlat(dice_client_t *c, const char *const *argv,
                        const size_t *argvlen, double xy[2]) {
    for (int i = 0; i < 2; i++)
        if (dice__parse_double_or_reply(c, argv[i], argvlen[i], &xy[i]) < 0)
            return -1;
    if (xy[0] < DICE__GEO_LON_MIN || xy[0] > DICE__GEO_LON_MAX ||
        xy[1] < DICE__GEO_LAT_MIN || xy[1] > DICE__GEO_LAT_MAX) {
        dice__reply_errorf(c, "ERR invalid longitude,latitude pair %f,%f",
                           xy[0], xy[1]);
        return -1;
    }
    return 0;
}

/* Meters per unit ("m", "km", "ft", "mi", any case), or -1 after
 * replying. */
static double parse_unit(dice_client_t *c, const char *u, size_t n) {
    if (dice__opt_is(u, n, "m"))
        return 1;
    if (dice__opt_is(u, n, "km"))
        return 1000;
    if (dice__opt_is(u, n, "ft"))
        return 0.3048;
    if (dice__opt_is(u, n, "mi"))
        return 1609.34;
    dice__reply_errstr(
        c, "ERR unsupported unit provided. please use M, KM, FT, MI");
    return -1;
}

/* A non-negative number, or -1 after replying "ERR <what>". */
static int parse_dim(dice_client_t *c, const char *s, size_t n,
                     const char *what, double *out) {
    if (dice__str2d(s, n, out))
        return 0;
    dice__reply_errorf(c, "ERR %s", what);
    return -1;
}

/* radius unit (Redis's extractDistanceOrReply). */
static int parse_radius(dice_client_t *c, const char *const *argv,
                        const size_t *argvlen, dice__geo_shape *s) {
    if (parse_dim(c, argv[0], argvlen[0], "need numeric radius", &s->radius) <
        0)
        return -1;
    if (s->radius < 0) {
        dice__reply_errstr(c, "ERR radius cannot be negative");
        return -1;
    }
    if ((s->conv = parse_unit(c, argv[1], argvlen[1])) < 0)
        return -1;
    s->box = 0;
    return 0;
}

/* width height unit (extractBoxOrReply). */
static int parse_box(dice_client_t *c, const char *const *argv,
                     const size_t *argvlen, dice__geo_shape *s) {
    if (parse_dim(c, argv[0], argvlen[0], "need numeric width", &s->width) <
            0 ||
        parse_dim(c, argv[1], argvlen[1], "need numeric height", &s->height) <
            0)
        return -1;
    if (s->height < 0 || s->width < 0) {
        dice__reply_errstr(c, "ERR height or width cannot be negative");
        return -1;
    }
    if ((s->conv = parse_unit(c, argv[2], argvlen[2])) < 0)
        return -1;
    s->box = 1;
    return 0;
}

/* The position of member m of z: 1, or 0 when it is not there. */
static int member_pos(dice__zset *z, const char *m, size_t n, double xy[2]) {
    double score;
    if (!dice__zs_score(z, m, n, &score))
        return 0;
    dice__geo_decode((uint64_t)score, xy);
    return 1;
}

/* A coordinate as Redis's addReplyHumanLongDouble: "%.17Lf" without
 * trailing zeros, a bulk string in RESP2 and a double in RESP3. */
static void reply_coord(dice_client_t *c, double v) {
    char buf[400];
    buf[0] = ',';
    size_t n = dice__fmt_long_double_human(buf + 1, (long double)v);
    if (c->proto >= 3) {
        buf[n + 1] = '\r';
        buf[n + 2] = '\n';
        dice_reply_raw(c, buf, n + 3);
    } else {
        dice_reply_bulk(c, buf + 1, n);
    }
}

static void reply_pos(dice_client_t *c, const double xy[2]) {
    dice_reply_array(c, 2);
    reply_coord(c, xy[0]);
    reply_coord(c, xy[1]);
}

/* A distance in the reply's unit with four decimals, as a bulk string in
 * both protocols: Redis 7.0's fixedpoint_d2string rounds d * 10^4 to an
 * integer (llrint: ties to even) and writes it with a point before the
 * last four digits, which is not always what "%.4f" prints. */
static void reply_dist(dice_client_t *c, double d) {
    char buf[32];
    long long v = llrint(d * 10000.0);
    unsigned long long u =
        v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    int n = snprintf(buf, sizeof(buf), "%s%llu.%04llu", v < 0 ? "-" : "",
                     u / 10000, u % 10000);
    dice_reply_bulk(c, buf, (size_t)n);
}

/* A found point. Member bytes point into the source set. */
typedef struct geo_point {
    double xy[2];
    double dist;
    double score;
    const char *m;
    size_t n;
} geo_point;

typedef struct geo_points {
    geo_point *p;
    size_t len, cap;
    geo_point stack[32];
    int oom;
} geo_points;

static void points_init(geo_points *g) {
    g->p = g->stack;
    g->len = 0;
    g->cap = DICE__COUNT(g->stack);
    g->oom = 0;
}

static void points_free(geo_points *g) {
    if (g->p != g->stack)
        free(g->p);
}

static geo_point *points_push(geo_points *g) {
    if (g->len == g->cap) {
        size_t nc = g->cap * 2;
        geo_point *np = g->p == g->stack ? malloc(nc * sizeof(*np))
                                         : realloc(g->p, nc * sizeof(*np));
        if (!np) {
            g->oom = 1;
            return NULL;
        }
        if (g->p == g->stack)
            memcpy(np, g->stack, sizeof(g->stack));
        g->p = np;
        g->cap = nc;
    }
    return &g->p[g->len++];
}

/* Members of z whose score is in [min, max) and that fall inside s, in
 * score order, until limit (0: none) points are collected. */
static void scan_range(dice__zset *z, uint64_t min, uint64_t max,
                       const dice__geo_shape *s, geo_points *g, size_t limit) {
    dice__zs_srange r = {(double)min, (double)max, 0, 1};
    size_t lo, hi;
    dice__zs_score_ranks(z, &r, &lo, &hi);
    if (hi <= lo)
        return;
    dice__zs_iter it;
    dice__zs_iter_init(&it, z, lo, 0);
    const char *m;
    size_t n;
    double score;
    for (size_t i = lo; i < hi && dice__zs_iter_next(&it, &m, &n, &score);
         i++) {
        double xy[2], dist;
        dice__geo_decode((uint64_t)score, xy);
        if (!dice__geo_within(s, xy, &dist))
            continue;
        geo_point *p = points_push(g);
        if (!p)
            return;
        p->xy[0] = xy[0];
        p->xy[1] = xy[1];
        p->dist = dist;
        p->score = score;
        p->m = m;
        p->n = n;
        if (limit && g->len >= limit)
            return;
    }
}

/* Every point inside s (Redis's membersOfAllNeighbors): the nine cells,
 * skipping cleared ones and a cell equal to the one scanned before it
 * (huge radii make neighbours coincide). */
static void geo_search(dice__zset *z, const dice__geo_shape *s, geo_points *g,
                       size_t limit) {
    dice__geohash cells[9];
    dice__geo_cover(s, cells);
    int last = -1;
    for (int i = 0; i < 9; i++) {
        if (cells[i].bits == 0 && cells[i].step == 0)
            continue;
        if (last >= 0 && cells[i].bits == cells[last].bits &&
            cells[i].step == cells[last].step)
            continue;
        if (g->len && limit && g->len >= limit)
            break;
        uint64_t min, max;
        dice__geohash_range(&cells[i], &min, &max);
        scan_range(z, min, max, s, g, limit);
        if (g->oom)
            return;
        last = i;
    }
}

/* A stable merge sort by distance, as glibc's qsort sorts (it merges),
 * so points at equal distances keep their scan order. */
static void sort_points(geo_point *a, size_t n, int desc, geo_point *tmp) {
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_points(a, h, desc, tmp);
    sort_points(a + h, n - h, desc, tmp);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        int take_right = desc ? a[j].dist > a[i].dist : a[j].dist < a[i].dist;
        tmp[k++] = take_right ? a[j++] : a[i++];
    }
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof(*a));
}

/* Redis's sort_gp_asc / sort_gp_desc, for the partial sort. */
static int cmp_dist(const void *a, const void *b, void *desc) {
    double x = ((const geo_point *)a)->dist, y = ((const geo_point *)b)->dist;
    int r = x > y ? 1 : x == y ? 0 : -1;
    return *(const int *)desc ? -r : r;
}

/* Orders the first want of n points as Redis does: all of them with
 * qsort (a merge sort in glibc) when all are wanted, else with its
 * partial quicksort, whose order of equal distances differs. 0, or -1
 * without memory. */
static int order_points(geo_point *p, size_t n, size_t want, int desc) {
    if (n < 2 || want == 0)
        return 0;
    if (want < n) {
        dice__pqsort(p, n, sizeof(*p), cmp_dist, &desc, 0, want - 1);
        return 0;
    }
    geo_point stack[32];
    geo_point *tmp = n <= 32 ? stack : malloc(n * sizeof(*tmp));
    if (!tmp)
        return -1;
    sort_points(p, n, desc, tmp);
    if (tmp != stack)
        free(tmp);
    return 0;
}

/* ---- Commands ------------------------------------------------------------ */

/* GEOADD key [NX|XX] [CH] longitude latitude member [longitude latitude
 * member ...] */
static DICE__CMD_FN(cmd_geoadd) {
    int nx = 0, xx = 0, ch = 0, li = 2;
    for (; li < argc; li++) {
        if (dice__opt_is(argv[li], argvlen[li], "nx"))
            nx = 1;
        else if (dice__opt_is(argv[li], argvlen[li], "xx"))
            xx = 1;
        else if (dice__opt_is(argv[li], argvlen[li], "ch"))
            ch = 1;
        else
            break;
    }
    if ((argc - li) % 3 || (nx && xx) || argc == li) {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return;
    }
    int elements = (argc - li) / 3;
    uint64_t stack[16];
    uint64_t *scores =
        elements <= 16 ? stack : malloc((size_t)elements * sizeof(*scores));
    if (!scores) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    for (int j = 0; j < elements; j++) {
        double xy[2];
        if (parse_lonlat(c, argv + li + 3 * j, argvlen + li + 3 * j, xy) < 0)
            goto out;
        dice__geo_score(xy[0], xy[1], &scores[j]);
    }
    void *o;
    int rc = dice__obj_lookup(c, argv[1], argvlen[1], DICE_TYPE_ZSET, &o);
    if (rc < 0)
        goto out;
    int created = 0;
    if (rc == 0) {
        if (xx) {
            dice_reply_int(c, 0);
            goto out;
        }
        const dice__enc_limits *l = limits(c);
        int big = l->zset_max_listpack_entries == 0 ||
                  (size_t)l->zset_max_listpack_value < argvlen[li + 2];
        o = dice__zs_new(big);
        if (!o || dice_db_set_object(dice__cmd_db(c), argv[1], argvlen[1],
                                     DICE_TYPE_ZSET, o, 0, 0) < 0) {
            dice__reply_err(c, DICE__ERR_NOMEM);
            goto out;
        }
        created = 1;
    }
    dice__zset *z = o;
    int in = (nx ? DICE__ZADD_NX : 0) | (xx ? DICE__ZADD_XX : 0);
    long long added = 0, updated = 0;
    int oom = 0;
    for (int j = 0; j < elements; j++) {
        int outb;
        if (dice__zs_add(z, limits(c), (double)scores[j], argv[li + 3 * j + 2],
                         argvlen[li + 3 * j + 2], in, &outb, NULL) < 0) {
            oom = 1;
            break;
        }
        added += (outb & DICE__ZADD_ADDED) != 0;
        updated += (outb & DICE__ZADD_UPDATED) != 0;
    }
    if (added || updated || created) {
        dice__obj_written(c, argv[1], argvlen[1], dice__zs_len(z));
        if (added || updated)
            dice__cmd_notify(c, DICE__NOTIFY_ZSET, "zadd", argv[1], argvlen[1]);
    }
    if (oom) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        goto out;
    }
    /* Redis runs GEOADD as "zadd key [options] score member ...": that is
     * what replicas and the AOF see. */
    if ((added || updated) && dice__propagating(c)) {
        int pc = li + 2 * elements;
        const char **pv = malloc(
            (size_t)pc * (sizeof(char *) + sizeof(size_t) + DICE_FMT_LL_MAX));
        if (pv) {
            size_t *pl = (size_t *)(pv + pc);
            char *num = (char *)(pl + pc);
            pv[0] = "zadd";
            pl[0] = 4;
            for (int i = 1; i < li; i++) {
                pv[i] = argv[i];
                pl[i] = argvlen[i];
            }
            for (int j = 0; j < elements; j++) {
                char *d = num + (size_t)j * DICE_FMT_LL_MAX;
                pl[li + 2 * j] = dice__fmt_ll(d, (long long)scores[j]);
                pv[li + 2 * j] = d;
                pv[li + 2 * j + 1] = argv[li + 3 * j + 2];
                pl[li + 2 * j + 1] = argvlen[li + 3 * j + 2];
            }
            dice_client_propagate(c, pc, pv, pl);
            free(pv);
        }
    }
    dice_reply_int(c, ch ? added + updated : added);
out:
    if (scores != stack)
        free(scores);
}

/* GEODIST key member1 member2 [M|KM|FT|MI] */
static DICE__CMD_FN(cmd_geodist) {
    double conv = 1;
    if (argc == 5) {
        if ((conv = parse_unit(c, argv[4], argvlen[4])) < 0)
            return;
    } else if (argc > 5) {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return;
    }
    void *o;
    int rc = dice__obj_lookup_read(c, argv[1], argvlen[1], DICE_TYPE_ZSET, &o);
    if (rc <= 0) {
        if (rc == 0)
            dice_reply_null(c);
        return;
    }
    double a[2], b[2];
    if (!member_pos(o, argv[2], argvlen[2], a) ||
        !member_pos(o, argv[3], argvlen[3], b)) {
        dice_reply_null(c);
        return;
    }
    reply_dist(c, dice__geo_distance(a[0], a[1], b[0], b[1]) / conv);
}

/* GEOHASH key [member ...] (arg NULL)
 * GEOPOS key [member ...] (arg non-NULL) */
static DICE__CMD_FN(cmd_geohash) {
    void *o = NULL;
    int rc = dice__obj_lookup_read(c, argv[1], argvlen[1], DICE_TYPE_ZSET, &o);
    if (rc < 0)
        return;
    dice_reply_array(c, (size_t)(argc - 2));
    for (int i = 2; i < argc; i++) {
        double xy[2], score;
        if (!o || !dice__zs_score(o, argv[i], argvlen[i], &score)) {
            if (arg)
                dice_reply_null_array(c);
            else
                dice_reply_null(c);
            continue;
        }
        if (arg) {
            dice__geo_decode((uint64_t)score, xy);
            reply_pos(c, xy);
        } else {
            char h[11];
            dice__geo_hash_string((uint64_t)score, h);
            dice_reply_bulk(c, h, sizeof(h));
        }
    }
}

/* The search commands' forms (Redis's georadiusGeneric flags). */
enum {
    G_RADIUS = 1,     /* GEORADIUS[_RO] key lon lat radius unit */
    G_MEMBER = 2,     /* GEORADIUSBYMEMBER[_RO] key member radius unit */
    G_SEARCH = 4,     /* GEOSEARCH key ... */
    G_SEARCHSTORE = 8 /* GEOSEARCHSTORE dst src ... */
};
enum { F_NOSTORE = 16 };

/* GEORADIUS key longitude latitude radius M|KM|FT|MI [WITHCOORD]
 *   [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC|DESC] [STORE key]
 *   [STOREDIST key]
 * GEORADIUSBYMEMBER key member radius M|KM|FT|MI [the same options]
 * GEORADIUS_RO, GEORADIUSBYMEMBER_RO: the same without STORE/STOREDIST
 * GEOSEARCH key FROMMEMBER member|FROMLONLAT longitude latitude
 *   BYRADIUS radius M|KM|FT|MI|BYBOX width height M|KM|FT|MI [ASC|DESC]
 *   [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]
 * GEOSEARCHSTORE destination source FROMMEMBER ...|FROMLONLAT ...
 *   BYRADIUS ...|BYBOX ... [ASC|DESC] [COUNT count [ANY]] [STOREDIST] */
static DICE__CMD_FN(cmd_georadius) {
    int fl = (int)(intptr_t)arg;
    int srci = fl & G_SEARCHSTORE ? 2 : 1;
    const char *store = NULL;
    size_t storelen = 0;
    int storedist = 0;
    void *o = NULL;
    int rc =
        dice__obj_lookup_read(c, argv[srci], argvlen[srci], DICE_TYPE_ZSET, &o);
    if (rc < 0)
        return;
    dice__zset *z = o;
    dice__geo_shape s;
    memset(&s, 0, sizeof(s));
    double xy[2];
    int base;
    if (fl & G_RADIUS) {
        base = 6;
        if (parse_lonlat(c, argv + 2, argvlen + 2, xy) < 0 ||
            parse_radius(c, argv + 4, argvlen + 4, &s) < 0)
            return;
        s.lon = xy[0];
        s.lat = xy[1];
    } else if (fl & G_MEMBER) {
        base = 5;
        if (z) {
            if (!member_pos(z, argv[2], argvlen[2], xy)) {
                dice__reply_errstr(c, ERR_MEMBER);
                return;
            }
            s.lon = xy[0];
            s.lat = xy[1];
            if (parse_radius(c, argv + 3, argvlen + 3, &s) < 0)
                return;
        }
    } else {
        base = 2;
        if (fl & G_SEARCHSTORE) {
            base = 3;
            store = argv[1];
            storelen = argvlen[1];
        }
    }
    int withdist = 0, withhash = 0, withcoord = 0, any = 0, sort = 0;
    int frommember = 0, fromloc = 0, byradius = 0, bybox = 0;
    long long count = 0;
    int search = (fl & (G_SEARCH | G_SEARCHSTORE)) != 0;
    int left = argc - base;
    for (int i = 0; i < left; i++) {
        int a = base + i;
        const char *o_ = argv[a];
        size_t ol = argvlen[a];
        if (dice__opt_is(o_, ol, "withdist")) {
            withdist = 1;
        } else if (dice__opt_is(o_, ol, "withhash")) {
            withhash = 1;
        } else if (dice__opt_is(o_, ol, "withcoord")) {
            withcoord = 1;
        } else if (dice__opt_is(o_, ol, "any")) {
            any = 1;
        } else if (dice__opt_is(o_, ol, "asc")) {
            sort = 1;
        } else if (dice__opt_is(o_, ol, "desc")) {
            sort = 2;
        } else if (dice__opt_is(o_, ol, "count") && i + 1 < left) {
            if (dice__parse_ll_or_reply(c, argv[a + 1], argvlen[a + 1],
                                        &count) < 0)
                return;
            if (count <= 0) {
                dice__reply_errstr(c, "ERR COUNT must be > 0");
                return;
            }
            i++;
        } else if ((dice__opt_is(o_, ol, "store") ||
                    dice__opt_is(o_, ol, "storedist")) &&
                   i + 1 < left && !(fl & F_NOSTORE) && !search) {
            store = argv[a + 1];
            storelen = argvlen[a + 1];
            storedist = dice__opt_is(o_, ol, "storedist");
            i++;
        } else if (dice__opt_is(o_, ol, "storedist") && (fl & G_SEARCHSTORE)) {
            storedist = 1;
        } else if (dice__opt_is(o_, ol, "frommember") && i + 1 < left &&
                   search && !fromloc) {
            if (z) {
                if (!member_pos(z, argv[a + 1], argvlen[a + 1], xy)) {
                    dice__reply_errstr(c, ERR_MEMBER);
                    return;
                }
                s.lon = xy[0];
                s.lat = xy[1];
            }
            frommember = 1;
            i++;
        } else if (dice__opt_is(o_, ol, "fromlonlat") && i + 2 < left &&
                   search && !frommember) {
            if (parse_lonlat(c, argv + a + 1, argvlen + a + 1, xy) < 0)
                return;
            s.lon = xy[0];
            s.lat = xy[1];
            fromloc = 1;
            i += 2;
        } else if (dice__opt_is(o_, ol, "byradius") && i + 2 < left && search &&
                   !bybox) {
            if (parse_radius(c, argv + a + 1, argvlen + a + 1, &s) < 0)
                return;
            byradius = 1;
            i += 2;
        } else if (dice__opt_is(o_, ol, "bybox") && i + 3 < left && search &&
                   !byradius) {
            if (parse_box(c, argv + a + 1, argvlen + a + 1, &s) < 0)
                return;
            bybox = 1;
            i += 3;
        } else {
            dice__reply_err(c, DICE__ERR_SYNTAX);
            return;
        }
    }
    if (store && (withdist || withhash || withcoord)) {
        dice__reply_errorf(c,
                           "ERR %s is not compatible with WITHDIST, WITHHASH "
                           "and WITHCOORD options",
                           fl & G_SEARCHSTORE ? "GEOSEARCHSTORE"
                                              : "STORE option in GEORADIUS");
        return;
    }
    if (search && !(frommember || fromloc)) {
        dice__reply_errorf(c,
                           "ERR exactly one of FROMMEMBER or FROMLONLAT can "
                           "be specified for %.*s",
                           (int)argvlen[0], argv[0]);
        return;
    }
    if (search && !(byradius || bybox)) {
        dice__reply_errorf(c,
                           "ERR exactly one of BYRADIUS and BYBOX can be "
                           "specified for %.*s",
                           (int)argvlen[0], argv[0]);
        return;
    }
    if (any && !count) {
        dice__reply_errstr(c, "ERR the ANY argument requires COUNT argument");
        return;
    }
    dice_db_t *db = dice__cmd_db(c);
    if (!z) {
        if (store) {
            if (dice_db_delete(db, store, storelen))
                dice__cmd_notify(c, DICE__NOTIFY_GENERIC, "del", store,
                                 storelen);
            dice_reply_int(c, 0);
        } else {
            dice_reply_array(c, 0);
        }
        return;
    }
    if (count && !sort && !any)
        sort = 1;
    geo_points g;
    points_init(&g);
    geo_search(z, &s, &g, any ? (size_t)count : 0);
    if (g.oom) {
        points_free(&g);
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    if (g.len == 0 && !store) {
        points_free(&g);
        dice_reply_array(c, 0);
        return;
    }
    size_t n = (count == 0 || g.len < (size_t)count) ? g.len : (size_t)count;
    if (sort && order_points(g.p, g.len, n, sort == 2) < 0) {
        points_free(&g);
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    if (!store) {
        size_t opts = (size_t)(withdist + withhash + withcoord);
        dice_reply_array(c, n);
        for (size_t i = 0; i < n; i++) {
            geo_point *p = &g.p[i];
            if (opts)
                dice_reply_array(c, opts + 1);
            dice_reply_bulk(c, p->m, p->n);
            if (withdist)
                reply_dist(c, p->dist / s.conv);
            if (withhash)
                dice_reply_int(c, (long long)p->score);
            if (withcoord)
                reply_pos(c, p->xy);
        }
        points_free(&g);
        return;
    }
    if (n == 0) {
        points_free(&g);
        if (dice_db_delete(db, store, storelen))
            dice__cmd_notify(c, DICE__NOTIFY_GENERIC, "del", store, storelen);
        dice_reply_int(c, 0);
        return;
    }
    /* The result is built whole before it replaces the destination, which
     * may be the source the members point into. */
    dice__zset *dst = dice__zs_new(0);
    size_t maxlen = 0;
    for (size_t i = 0; dst && i < n; i++) {
        geo_point *p = &g.p[i];
        double score = storedist ? p->dist / s.conv : p->score;
        int outb;
        if (dice__zs_add(dst, limits(c), score, p->m, p->n, 0, &outb, NULL) <
            0) {
            dice__zs_free(dst);
            dst = NULL;
        }
        if (p->n > maxlen)
            maxlen = p->n;
    }
    points_free(&g);
    if (dst)
        dst = dice__zs_fit(dst, limits(c), maxlen);
    if (!dst || dice_db_set_object(db, store, storelen, DICE_TYPE_ZSET, dst, 0,
                                   0) < 0) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    dice__cmd_notify(c, DICE__NOTIFY_ZSET,
                     fl & G_SEARCHSTORE ? "geosearchstore" : "georadiusstore",
                     store, storelen);
    dice_reply_int(c, (long long)n);
}

/* ---- registration -------------------------------------------------------- */

/* GEORADIUS and GEORADIUSBYMEMBER: the source, then the key after each
 * STORE and STOREDIST (what Redis 7.0's keyword key specs find). */
static int keys_georadius(int argc, const char *const *argv,
                          const size_t *argvlen, int *pos, int max) {
    if (argc < 2 || max < 1)
        return -1;
    int n = 0;
    pos[n++] = 1;
    static const char *const kw[] = {"store", "storedist"};
    for (int k = 0; k < 2; k++) {
        for (int i = 5; i + 1 < argc; i++) {
            if (dice__opt_is(argv[i], argvlen[i], kw[k])) {
                if (n < max)
                    pos[n++] = i + 1;
                break;
            }
        }
    }
    return n;
}

#define W DICE_CMD_WRITE
#define R DICE_CMD_READONLY
#define M DICE_CMD_DENYOOM
#define K DICE_CMD_MOVABLE_KEYS
#define GA(f) ((const void *)(intptr_t)(f))

static const char CX_SEARCH[] =
    "O(N+log(M)) where N is the number of elements in the grid-aligned "
    "bounding box area around the shape provided as the filter and M is the "
    "number of items inside the shape";
static const char CX_RADIUS[] =
    "O(N+log(M)) where N is the number of elements inside the bounding box of "
    "the circular area delimited by center and radius and M is the number of "
    "items inside the index.";

static const dice__cmd_desc geo_cmds[] = {
    {"geoadd", -5, W | M, 1, 1, 1, cmd_geoadd, NULL,
     "Add one or more geospatial items in the geospatial index represented "
     "using a sorted set",
     "3.2.0",
     "O(log(N)) for each item added, where N is the number of elements in the "
     "sorted set.",
     0, NULL, NULL, NULL},
    {"geodist", -4, R, 1, 1, 1, cmd_geodist, NULL,
     "Returns the distance between two members of a geospatial index", "3.2.0",
     "O(log(N))", 0, NULL, NULL, NULL},
    {"geohash", -2, R, 1, 1, 1, cmd_geohash, NULL,
     "Returns members of a geospatial index as standard geohash strings",
     "3.2.0",
     "O(log(N)) for each member requested, where N is the number of elements "
     "in the sorted set.",
     0, NULL, NULL, NULL},
    {"geopos", -2, R, 1, 1, 1, cmd_geohash, GA(1),
     "Returns longitude and latitude of members of a geospatial index", "3.2.0",
     "O(N) where N is the number of members requested.", 0, NULL, NULL, NULL},
    {"georadius", -6, W | M | K, 1, 1, 1, cmd_georadius, GA(G_RADIUS),
     "Query a sorted set representing a geospatial index to fetch members "
     "matching a given maximum distance from a point",
     "3.2.0", CX_RADIUS, 0, NULL, NULL, keys_georadius},
    {"georadius_ro", -6, R, 1, 1, 1, cmd_georadius, GA(G_RADIUS | F_NOSTORE),
     "A read-only variant for GEORADIUS", "3.2.10", CX_RADIUS, 0, NULL, NULL,
     NULL},
    {"georadiusbymember", -5, W | M | K, 1, 1, 1, cmd_georadius, GA(G_MEMBER),
     "Query a sorted set representing a geospatial index to fetch members "
     "matching a given maximum distance from a member",
     "3.2.0", CX_RADIUS, 0, NULL, NULL, keys_georadius},
    {"georadiusbymember_ro", -5, R, 1, 1, 1, cmd_georadius,
     GA(G_MEMBER | F_NOSTORE), "A read-only variant for GEORADIUSBYMEMBER",
     "3.2.10", CX_RADIUS, 0, NULL, NULL, NULL},
    {"geosearch", -7, R, 1, 1, 1, cmd_georadius, GA(G_SEARCH),
     "Query a sorted set representing a geospatial index to fetch members "
     "inside an area of a box or a circle.",
     "6.2.0", CX_SEARCH, 0, NULL, NULL, NULL},
    {"geosearchstore", -8, W | M, 1, 2, 1, cmd_georadius, GA(G_SEARCHSTORE),
     "Query a sorted set representing a geospatial index to fetch members "
     "inside an area of a box or a circle, and store the result in another "
     "key.",
     "6.2.0", CX_SEARCH, 0, NULL, NULL, NULL},
};

#define KS_OF(a) a, (int)DICE__COUNT(a)
#define KS_KEYWORD(fl, kw, from)                                               \
    {                                                                          \
        NULL, (fl), DICE__BS_KEYWORD, (from), (kw), DICE__FK_RANGE, {          \
            0, 1, 0                                                            \
        }                                                                      \
    }

static const dice__key_spec ks_ro[] = {
    DICE__KS_RANGE(DICE__KS_RO | DICE__KS_ACCESS, 1, 0, 1, 0)};
static const dice__key_spec ks_rw_update[] = {
    DICE__KS_RANGE(DICE__KS_RW | DICE__KS_UPDATE, 1, 0, 1, 0)};
static const dice__key_spec ks_georadius[] = {
    DICE__KS_RANGE(DICE__KS_RO | DICE__KS_ACCESS, 1, 0, 1, 0),
    KS_KEYWORD(DICE__KS_OW | DICE__KS_UPDATE, "STORE", 6),
    KS_KEYWORD(DICE__KS_OW | DICE__KS_UPDATE, "STOREDIST", 6)};
static const dice__key_spec ks_georadiusbymember[] = {
    DICE__KS_RANGE(DICE__KS_RO | DICE__KS_ACCESS, 1, 0, 1, 0),
    KS_KEYWORD(DICE__KS_OW | DICE__KS_UPDATE, "STORE", 5),
    KS_KEYWORD(DICE__KS_OW | DICE__KS_UPDATE, "STOREDIST", 5)};
static const dice__key_spec ks_geosearchstore[] = {
    DICE__KS_RANGE(DICE__KS_OW | DICE__KS_UPDATE, 1, 0, 1, 0),
    DICE__KS_RANGE(DICE__KS_RO | DICE__KS_ACCESS, 2, 0, 1, 0)};
static const dice__cmd_keyspecs geo_keyspecs[] = {
    {"geoadd", KS_OF(ks_rw_update)},
    {"geodist", KS_OF(ks_ro)},
    {"geohash", KS_OF(ks_ro)},
    {"geopos", KS_OF(ks_ro)},
    {"georadius", KS_OF(ks_georadius)},
    {"georadius_ro", KS_OF(ks_ro)},
    {"georadiusbymember", KS_OF(ks_georadiusbymember)},
    {"georadiusbymember_ro", KS_OF(ks_ro)},
    {"geosearch", KS_OF(ks_ro)},
    {"geosearchstore", KS_OF(ks_geosearchstore)},
};
#undef KS_OF

int dice__builtin_geo(dice_server_t *srv) {
    int rc = dice__command_register(srv, NULL, "geo", geo_cmds,
                                    DICE__COUNT(geo_cmds));
    if (rc < 0)
        return rc;
    return dice__command_set_keyspecs(srv, geo_keyspecs,
                                      DICE__COUNT(geo_keyspecs));
}
