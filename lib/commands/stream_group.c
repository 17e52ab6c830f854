/* The stream family's second half (Redis's t_stream.c): XREAD and
 * XREADGROUP (with BLOCK, on lib/server/blocking.h), the consumer-group
 * commands XGROUP XACK XPENDING XCLAIM XAUTOCLAIM, and XINFO. Checks and
 * error texts in Redis 7.0.15's order.
 *
 * Propagation (never the commands' own argv, which depends on the time
 * or on what the group had delivered): each entry XREADGROUP delivers
 * goes out as "XCLAIM key group consumer 0 id TIME t RETRYCOUNT n FORCE
 * JUSTID LASTID last-id", each entry XCLAIM / XAUTOCLAIM claims (or drops
 * from the PEL because the stream no longer has it) the same way; a
 * consumer XREADGROUP created that no XCLAIM creates goes out as XGROUP
 * CREATECONSUMER, and a moved last-delivered ID as "XGROUP SETID key
 * group id ENTRIESREAD n" (Redis 7.0 sends it for NOACK only and so lets
 * a replica's entries-read drift; 7.2 sends it always, as here). XACK and
 * the XGROUP sub-commands are deterministic and go out as they are. */
#include "commands/stream_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- shared ------------------------------------------------------------ */

static const char ERR_XREADGROUP_NOGROUP_FMT[] =
    "NOGROUP No such key '%.*s' or consumer group '%.*s' in XREADGROUP with "
    "GROUP option";

/* "-NOGROUP ..." errors with the key's and group's names in them. */
static void reply_nogroup(dice_client_t *c, const char *fmt, const char *a,
                          size_t al, const char *b, size_t bl) {
    char buf[512];
    int n = snprintf(buf, sizeof(buf), fmt, (int)(al > 128 ? 128 : al), a,
                     (int)(bl > 128 ? 128 : bl), b);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(buf))
        n = sizeof(buf) - 1;
    dice_reply_error(c, buf, (size_t)n);
}

static void reply_key_group(dice_client_t *c, const char *key, size_t klen,
                            const char *g, size_t glen) {
    reply_nogroup(c, "NOGROUP No such key '%.*s' or consumer group '%.*s'", key,
                  klen, g, glen);
}

static void reply_group_key(dice_client_t *c, const char *g, size_t glen,
                            const char *key, size_t klen) {
    reply_nogroup(c,
                  "NOGROUP No such consumer group '%.*s' for key name '%.*s'",
                  g, glen, key, klen);
}

/* Redis's addReplySubcommandSyntaxError. */
static void reply_sub_syntax(dice_client_t *c, const char *cmd, const char *sub,
                             size_t slen) {
    char buf[300];
    int n = snprintf(buf, sizeof(buf),
                     "ERR unknown subcommand or wrong number of arguments for "
                     "'%.*s'. Try %s HELP.",
                     (int)(slen > 128 ? 128 : slen), sub, cmd);
    dice_reply_error(c, buf, n < 0 ? 0 : (size_t)n);
}

static void propagate_xclaim(dice_client_t *c, const char *key, size_t klen,
                             const dice__sgroup *g, const dice__snack *n) {
    if (!dice__propagating(c))
        return;
    char ib[DICE__SID_STRMAX], lb[DICE__SID_STRMAX], tb[24], cb[24];
    const char *av[14] = {
        "XCLAIM",     key, g->name, n->consumer->name, "0",      ib, "TIME", tb,
        "RETRYCOUNT", cb,  "FORCE", "JUSTID",          "LASTID", lb};
    size_t al[14] = {6,       klen,
                     g->nlen, n->consumer->nlen,
                     1,       dice__sid_fmt(ib, &n->id),
                     4,       dice__fmt_ll(tb, n->delivery_time),
                     10,      dice__fmt_ull(cb, n->delivery_count),
                     5,       6,
                     6,       dice__sid_fmt(lb, &g->last_id)};
    dice_client_propagate(c, 14, av, al);
}

static void propagate_setid(dice_client_t *c, const char *key, size_t klen,
                            const dice__sgroup *g) {
    if (!dice__propagating(c))
        return;
    char ib[DICE__SID_STRMAX], eb[24];
    const char *av[7] = {"XGROUP", "SETID",       key, g->name,
                         ib,       "ENTRIESREAD", eb};
    size_t al[7] = {6,
                    5,
                    klen,
                    g->nlen,
                    dice__sid_fmt(ib, &g->last_id),
                    11,
                    dice__fmt_ll(eb, g->entries_read)};
    dice_client_propagate(c, 7, av, al);
}

static void propagate_createconsumer(dice_client_t *c, const char *key,
                                     size_t klen, const dice__sgroup *g,
                                     const dice__sconsumer *cons) {
    if (!dice__propagating(c))
        return;
    const char *av[5] = {"XGROUP", "CREATECONSUMER", key, g->name, cons->name};
    size_t al[5] = {6, 14, klen, g->nlen, cons->nlen};
    dice_client_propagate(c, 5, av, al);
}

/* A consumer by name, created when missing (Redis's streamLookupConsumer
 * then streamCreateConsumer: "xgroup-createconsumer"); its seen time is
 * refreshed. NULL out of memory. */
static dice__sconsumer *consumer_get(dice_client_t *c, dice__sgroup *g,
                                     const char *key, size_t klen,
                                     const char *name, size_t nlen,
                                     bool *created) {
    int64_t now = dice__cmd_now(c);
    dice__sconsumer *cons =
        dice__group_consumer_add(g, name, nlen, now, created);
    if (!cons)
        return NULL;
    cons->seen_time = now;
    if (*created)
        dice__cmd_notify(c, DICE__NOTIFY_STREAM, "xgroup-createconsumer", key,
                         klen);
    return cons;
}

/* XCLAIM's and XAUTOCLAIM's move: the pending entry now belongs to cons
 * (out of its former owner's list, into cons's) and was delivered at
 * dtime. Its delivery count is the caller's. */
static void nack_claim(dice__snack *nk, dice__sconsumer *cons, int64_t dtime) {
    if (nk->consumer != cons) {
        if (nk->consumer)
            dice__spel_del(&nk->consumer->pel, &nk->id);
        dice__spel_add(&cons->pel, nk);
        nk->consumer = cons;
    }
    nk->delivery_time = dtime;
}

/* Remove a NACK from both PELs and free it. */
static void nack_drop(dice__sgroup *g, size_t at) {
    dice__snack *n = g->pel.v[at];
    dice__spel_remove_at(&g->pel, at);
    if (n->consumer)
        dice__spel_del(&n->consumer->pel, &n->id);
    free(n);
}

/* ---- XREAD / XREADGROUP ----------------------------------------------------
 */

/* Deliver entries after start to a group's consumer (Redis's
 * streamReplyWithRange with a group): moves the group's last ID and
 * entries read, adds NACKs (unless noack), propagates. Replies the array.
 * Returns the number of XCLAIMs propagated. */
static size_t serve_group(dice_client_t *c, const char *key, size_t klen,
                          dice__stream *s, dice__sgroup *g,
                          dice__sconsumer *cons, const dice__sid *start,
                          size_t count, bool noack) {
    dice__stream_iter it;
    dice__sid id;
    int64_t nf;
    size_t n = 0;
    dice__stream_iter_start(&it, s, start, NULL, false);
    while ((!count || n < count) && dice__stream_iter_next(&it, &id, &nf))
        n++;
    dice_reply_array(c, n);
    bool moved = false;
    size_t claims = 0;
    int64_t now = dice__cmd_now(c);
    dice__stream_iter_start(&it, s, start, NULL, false);
    for (size_t i = 0; i < n && dice__stream_iter_next(&it, &id, &nf); i++) {
        if (dice__sid_cmp(&id, &g->last_id) > 0) {
            if (g->entries_read != -1 && !dice__stream_tombstones_after(s, &id))
                g->entries_read++;
            else if (s->entries_added)
                g->entries_read = dice__stream_estimate_read(s, &id);
            g->last_id = id;
            moved = true;
        }
        dice__xreply_entry(c, &it, &id, nf);
        if (noack)
            continue;
        bool found;
        size_t at = dice__spel_find(&g->pel, &id, &found);
        dice__snack *nk;
        if (found) {
            nk = g->pel.v[at];
            if (nk->consumer != cons) {
                dice__spel_del(&nk->consumer->pel, &id);
                nk->consumer = cons;
                dice__spel_add(&cons->pel, nk);
            }
            nk->delivery_time = now;
            nk->delivery_count = 1;
        } else {
            nk = malloc(sizeof(*nk));
            if (!nk)
                continue;
            *nk = (dice__snack){id, now, 1, cons};
            if (dice__spel_insert_at(&g->pel, at, nk) < 0) {
                free(nk);
                continue;
            }
            if (dice__spel_add(&cons->pel, nk) < 0) {
                dice__spel_del(&g->pel, &id);
                free(nk);
                continue;
            }
        }
        propagate_xclaim(c, key, klen, g, nk);
        claims++;
    }
    if (moved)
        propagate_setid(c, key, klen, g);
    return claims;
}

/* A consumer's own history: its pending entries from start, each with
 * its fields, or [id, nil] when the stream no longer has it (Redis's
 * streamReplyWithRangeFromConsumerPEL). */
static void serve_history(dice_client_t *c, dice__stream *s,
                          dice__sconsumer *cons, const dice__sid *start,
                          size_t count) {
    bool found;
    size_t at = dice__spel_find(&cons->pel, start, &found);
    size_t n = cons->pel.n - at;
    if (count && n > count)
        n = count;
    dice_reply_array(c, n);
    int64_t now = dice__cmd_now(c);
    for (size_t i = 0; i < n; i++) {
        dice__snack *nk = cons->pel.v[at + i];
        dice__stream_iter it;
        dice__sid id;
        int64_t nf;
        dice__stream_iter_start(&it, s, &nk->id, &nk->id, false);
        if (dice__stream_iter_next(&it, &id, &nf)) {
            dice__xreply_entry(c, &it, &id, nf);
            nk->delivery_time = now;
            nk->delivery_count++;
        } else {
            dice_reply_array(c, 2);
            dice__xreply_id(c, &nk->id);
            dice_reply_null_array(c);
        }
    }
}

/* What a blocked XREAD / XREADGROUP waits for. */
typedef struct xread_pd {
    int nkeys;
    long long count;
    bool noack;
    size_t glen, clen; /* group, consumer (glen 0 and no group: XREAD) */
    bool group;
    char *gname, *cname;
    dice__sid *ids;
    size_t *klens;
    char **keys;
} xread_pd;

static void xread_pd_free(void *arg) {
    xread_pd *pd = arg;
    if (!pd)
        return;
    for (int i = 0; i < pd->nkeys; i++)
        free(pd->keys[i]);
    free(pd->keys);
    free(pd->klens);
    free(pd->ids);
    free(pd->gname);
    free(pd->cname);
    free(pd);
}

static void reply_one_stream_head(dice_client_t *c, const char *key,
                                  size_t klen) {
    if (c->proto == 2) {
        dice_reply_array(c, 1);
        dice_reply_array(c, 2);
    } else {
        dice_reply_map(c, 1);
    }
    dice_reply_bulk(c, key, klen);
}

static int xread_retry(dice_client_t *c, const char *key, size_t klen,
                       void *arg) {
    xread_pd *pd = arg;
    int i;
    for (i = 0; i < pd->nkeys; i++)
        if (pd->klens[i] == klen && memcmp(pd->keys[i], key, klen) == 0)
            break;
    if (i == pd->nkeys)
        return 0;
    void *o;
    if (dice_db_get_object(dice__cmd_db(c), key, klen, DICE_TYPE_STREAM, &o) <
        0) {
        if (!pd->group)
            return 0;
        dice__reply_errstr(c, "UNBLOCKED the stream key no longer exists");
        return 1;
    }
    dice__stream *s = o;
    dice__sgroup *g = NULL;
    dice__sid gt = pd->ids[i];
    if (pd->group) {
        g = dice__stream_group(s, pd->gname, pd->glen);
        if (!g) {
            dice__reply_errstr(c, "NOGROUP the consumer group this client was "
                                  "blocked on no longer exists");
            return 1;
        }
        gt = g->last_id;
    }
    if (dice__sid_cmp(&s->last_id, &gt) <= 0)
        return 0;
    dice__sid start = gt;
    dice__sid_incr(&start);
    if (g) {
        bool created;
        dice__sconsumer *cons =
            consumer_get(c, g, key, klen, pd->cname, pd->clen, &created);
        if (!cons) {
            dice__reply_err(c, DICE__ERR_NOMEM);
            return 1;
        }
        reply_one_stream_head(c, key, klen);
        size_t claims = serve_group(c, key, klen, s, g, cons, &start,
                                    (size_t)pd->count, pd->noack);
        if (created && !claims)
            propagate_createconsumer(c, key, klen, g, cons);
        dice__xwritten(c, key, klen);
    } else {
        reply_one_stream_head(c, key, klen);
        dice__xreply_range(c, s, &start, &(dice__sid){UINT64_MAX, UINT64_MAX},
                           (size_t)pd->count, false);
    }
    return 1;
}

/* XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id
 * ...] ; XREADGROUP GROUP group consumer [COUNT count] [BLOCK
 * milliseconds] [NOACK] STREAMS key [key ...] id [id ...] (arg non-NULL) */
static DICE__CMD_FN(cmd_xread) {
    bool xreadgroup = arg != NULL;
    bool block = false, noack = false;
    int64_t deadline = 0;
    long long count = 0;
    int sarg = 0, nstreams = 0;
    const char *gname = NULL, *cname = NULL;
    size_t glen = 0, clen = 0;
    for (int i = 1; i < argc; i++) {
        int more = argc - i - 1;
        const char *o = argv[i];
        size_t ol = argvlen[i];
        if (dice__opt_is(o, ol, "block") && more) {
            i++;
            if (dice__block_timeout_parse(c, argv[i], argvlen[i],
                                          DICE__TIMEOUT_MS, &deadline) < 0)
                return;
            block = true;
        } else if (dice__opt_is(o, ol, "count") && more) {
            i++;
            if (dice__parse_ll_or_reply(c, argv[i], argvlen[i], &count) < 0)
                return;
            if (count < 0)
                count = 0;
        } else if (dice__opt_is(o, ol, "streams") && more) {
            sarg = i + 1;
            nstreams = argc - sarg;
            if (nstreams % 2) {
                dice__reply_errstr(c, "ERR Unbalanced XREAD list of streams: "
                                      "for each stream key an ID or '$' must "
                                      "be specified.");
                return;
            }
            nstreams /= 2;
            break;
        } else if (dice__opt_is(o, ol, "group") && more >= 2) {
            if (!xreadgroup) {
                dice__reply_errstr(c, "ERR The GROUP option is only supported "
                                      "by XREADGROUP. You called XREAD "
                                      "instead.");
                return;
            }
            gname = argv[i + 1];
            glen = argvlen[i + 1];
            cname = argv[i + 2];
            clen = argvlen[i + 2];
            i += 2;
        } else if (dice__opt_is(o, ol, "noack")) {
            if (!xreadgroup) {
                dice__reply_errstr(c, "ERR The NOACK option is only supported "
                                      "by XREADGROUP. You called XREAD "
                                      "instead.");
                return;
            }
            noack = true;
        } else {
            dice__reply_err(c, DICE__ERR_SYNTAX);
            return;
        }
    }
    if (sarg == 0) {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return;
    }
    if (xreadgroup && !gname) {
        dice__reply_errstr(c, "ERR Missing GROUP option for XREADGROUP");
        return;
    }
    dice__sid sids[8], *ids = sids;
    dice__sgroup *sg[8], **groups = sg;
    if (nstreams > 8) {
        ids = malloc(sizeof(*ids) * (size_t)nstreams);
        groups = malloc(sizeof(*groups) * (size_t)nstreams);
        if (!ids || !groups) {
            dice__reply_err(c, DICE__ERR_NOMEM);
            goto out;
        }
    }
    for (int i = sarg + nstreams; i < argc; i++) {
        int k = i - sarg - nstreams;
        const char *key = argv[sarg + k];
        size_t klen = argvlen[sarg + k];
        void *o;
        int rc = dice__obj_lookup_read(c, key, klen, DICE_TYPE_STREAM, &o);
        if (rc < 0)
            goto out;
        dice__stream *s = rc ? o : NULL;
        groups[k] = NULL;
        if (gname) {
            if (!s || !(groups[k] = dice__stream_group(s, gname, glen))) {
                reply_nogroup(c, ERR_XREADGROUP_NOGROUP_FMT, key, klen, gname,
                              glen);
                goto out;
            }
        }
        if (argvlen[i] == 1 && argv[i][0] == '$') {
            if (xreadgroup) {
                dice__reply_errstr(
                    c, "ERR The $ ID is meaningless in the context of "
                       "XREADGROUP: you want to read the history of this "
                       "consumer by specifying a proper ID, or use the > ID "
                       "to get new messages. The $ ID would just return an "
                       "empty result set.");
                goto out;
            }
            ids[k] = s ? s->last_id : (dice__sid){0, 0};
            continue;
        }
        if (argvlen[i] == 1 && argv[i][0] == '>') {
            if (!xreadgroup) {
                dice__reply_errstr(c, "ERR The > ID can be specified only "
                                      "when calling XREADGROUP using the "
                                      "GROUP <group> <consumer> option.");
                goto out;
            }
            ids[k] = (dice__sid){UINT64_MAX, UINT64_MAX};
            continue;
        }
        if (dice__xparse_id_or_reply(c, argv[i], argvlen[i], &ids[k], 0, true,
                                     NULL) < 0)
            goto out;
    }
    /* Which streams are served at once (Redis's serve_synchronously). */
    int served = 0;
    unsigned char ssm[8], *serve = ssm;
    if (nstreams > 8 && !(serve = malloc((size_t)nstreams))) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        goto out;
    }
    for (int k = 0; k < nstreams; k++) {
        void *o;
        serve[k] = 0;
        /* Redis looks each key up for reading a second time here: a
         * missing one is a second keymiss. */
        if (dice__obj_lookup_read(c, argv[sarg + k], argvlen[sarg + k],
                                  DICE_TYPE_STREAM, &o) <= 0)
            continue;
        dice__stream *s = o;
        dice__sid *gt = &ids[k];
        if (groups[k]) {
            if (gt->ms != UINT64_MAX || gt->seq != UINT64_MAX) {
                serve[k] = 2; /* history */
            } else if (s->length) {
                dice__sid maxid;
                dice__stream_edge_id(s, false, true, &maxid);
                if (dice__sid_cmp(&maxid, &groups[k]->last_id) > 0) {
                    serve[k] = 1;
                    *gt = groups[k]->last_id;
                }
            }
        } else if (s->length) {
            dice__sid maxid;
            dice__stream_edge_id(s, false, true, &maxid);
            if (dice__sid_cmp(&maxid, gt) > 0)
                serve[k] = 1;
        }
        served += serve[k] != 0;
    }
    if (served) {
        if (c->proto == 2)
            dice_reply_array(c, (size_t)served);
        else
            dice_reply_map(c, (size_t)served);
        for (int k = 0; k < nstreams; k++) {
            if (!serve[k])
                continue;
            const char *key = argv[sarg + k];
            size_t klen = argvlen[sarg + k];
            void *o;
            dice_db_get_object(dice__cmd_db(c), key, klen, DICE_TYPE_STREAM,
                               &o);
            dice__stream *s = o;
            dice__sid start = ids[k];
            if (serve[k] == 1)
                dice__sid_incr(&start);
            if (c->proto == 2)
                dice_reply_array(c, 2);
            dice_reply_bulk(c, key, klen);
            if (!groups[k]) {
                dice__xreply_range(c, s, &start,
                                   &(dice__sid){UINT64_MAX, UINT64_MAX},
                                   (size_t)count, false);
                continue;
            }
            bool created;
            dice__sconsumer *cons =
                consumer_get(c, groups[k], key, klen, cname, clen, &created);
            if (!cons) {
                dice_reply_array(c, 0);
                continue;
            }
            size_t claims = 0;
            if (serve[k] == 2)
                serve_history(c, s, cons, &start, (size_t)count);
            else
                claims = serve_group(c, key, klen, s, groups[k], cons, &start,
                                     (size_t)count, noack);
            if (created && !claims)
                propagate_createconsumer(c, key, klen, groups[k], cons);
            dice__xwritten(c, key, klen);
        }
        if (serve != ssm)
            free(serve);
        goto out;
    }
    if (serve != ssm)
        free(serve);
    if (!block) {
        dice_reply_null_array(c);
        goto out;
    }
    xread_pd *pd = calloc(1, sizeof(*pd));
    if (!pd)
        goto oom;
    pd->nkeys = nstreams;
    pd->count = count ? count : 1000;
    pd->noack = noack;
    pd->group = gname != NULL;
    pd->ids = malloc(sizeof(*pd->ids) * (size_t)nstreams);
    pd->klens = malloc(sizeof(*pd->klens) * (size_t)nstreams);
    pd->keys = calloc((size_t)nstreams, sizeof(*pd->keys));
    if (!pd->ids || !pd->klens || !pd->keys) {
        pd->nkeys = 0;
        xread_pd_free(pd);
        goto oom;
    }
    for (int k = 0; k < nstreams; k++) {
        pd->ids[k] = ids[k];
        pd->klens[k] = argvlen[sarg + k];
        pd->keys[k] = malloc(argvlen[sarg + k] + 1);
        if (!pd->keys[k]) {
            xread_pd_free(pd);
            goto oom;
        }
        memcpy(pd->keys[k], argv[sarg + k], argvlen[sarg + k]);
    }
    if (gname) {
        pd->gname = malloc(glen + 1);
        pd->cname = malloc(clen + 1);
        if (!pd->gname || !pd->cname) {
            xread_pd_free(pd);
            goto oom;
        }
        memcpy(pd->gname, gname, glen);
        memcpy(pd->cname, cname, clen);
        pd->glen = glen;
        pd->clen = clen;
    }
    dice__block_spec spec = {xread_retry, NULL, xread_pd_free, pd};
    dice__client_block(c, nstreams, argv + sarg, argvlen + sarg, deadline,
                       &spec);
    goto out;
oom:
    dice__reply_err(c, DICE__ERR_NOMEM);
out:
    if (ids != sids)
        free(ids);
    if (groups != sg)
        free(groups);
}

/* Keys of XREAD / XREADGROUP: the first half of what follows STREAMS
 * (Redis's xreadGetKeys). */
static int xread_keys(int argc, const char *const *argv, const size_t *argvlen,
                      int *pos, int max) {
    int sp = -1;
    for (int i = 1; i < argc; i++) {
        if (dice__opt_is(argv[i], argvlen[i], "block") ||
            dice__opt_is(argv[i], argvlen[i], "count")) {
            i++;
        } else if (dice__opt_is(argv[i], argvlen[i], "group")) {
            i += 2;
        } else if (dice__opt_is(argv[i], argvlen[i], "noack")) {
        } else if (dice__opt_is(argv[i], argvlen[i], "streams")) {
            sp = i;
            break;
        } else {
            break;
        }
    }
    int num = argc - sp - 1;
    if (sp == -1 || num == 0 || num % 2)
        return 0;
    num /= 2;
    int n = 0;
    for (int i = sp + 1; i < argc - num && n < max; i++)
        pos[n++] = i;
    return n;
}

/* ---- XGROUP ------------------------------------------------------------ */

static const char ERR_NEED_KEY[] =
    "ERR The XGROUP subcommand requires the key to exist. Note that for "
    "CREATE you may want to use the MKSTREAM option to create an empty "
    "stream automatically.";

/* What every XGROUP sub-command but HELP checks first: the stream (NULL
 * when missing and mkstream allows it), and, for SETID CREATECONSUMER
 * DELCONSUMER, the group. Returns 0, or -1 after replying. */
static int xgroup_pre(dice_client_t *c, const char *const *argv,
                      const size_t *argvlen, bool mkstream, bool need_group,
                      dice__stream **s, dice__sgroup **g) {
    void *o;
    int rc = dice__obj_lookup(c, argv[2], argvlen[2], DICE_TYPE_STREAM, &o);
    if (rc < 0)
        return -1;
    *s = rc ? o : NULL;
    *g = *s ? dice__stream_group(*s, argv[3], argvlen[3]) : NULL;
    if (!*s && !mkstream) {
        dice__reply_errstr(c, ERR_NEED_KEY);
        return -1;
    }
    if (need_group && !*g) {
        reply_group_key(c, argv[3], argvlen[3], argv[2], argvlen[2]);
        return -1;
    }
    return 0;
}

/* ENTRIESREAD's value: 0, or -1 after the error reply. */
static int parse_entries_read(dice_client_t *c, const char *arg, size_t n,
                              long long *er) {
    if (dice__parse_ll_or_reply(c, arg, n, er) < 0)
        return -1;
    if (*er < 0 && *er != -1) {
        dice__reply_errstr(c,
                           "ERR value for ENTRIESREAD must be positive or -1");
        return -1;
    }
    return 0;
}

/* A group's position: "$" for the stream's last ID (0-0 with no stream
 * yet), else an ID (strict as dice__xparse_id_or_reply takes it). 0, or -1
 * after the error reply. */
static int parse_group_id(dice_client_t *c, const dice__stream *s,
                          const char *arg, size_t n, bool strict,
                          dice__sid *id) {
    if (n == 1 && arg[0] == '$') {
        *id = s ? s->last_id : (dice__sid){0, 0};
        return 0;
    }
    return dice__xparse_id_or_reply(c, arg, n, id, 0, strict, NULL);
}

/* After an XGROUP write: wake the stream's waiters, fire the event. */
static void xgroup_written(dice_client_t *c, const char *const *argv,
                           const size_t *argvlen, const char *event) {
    dice__xwritten(c, argv[2], argvlen[2]);
    dice__cmd_notify(c, DICE__NOTIFY_STREAM, event, argv[2], argvlen[2]);
}

/* XGROUP CREATE key group <id | $> [MKSTREAM] [ENTRIESREAD entries-read] */
static DICE__CMD_FN(cmd_xgroup_create) {
    bool mkstream = false;
    long long er = -1;
    for (int i = 5; i < argc;) {
        if (dice__opt_is(argv[i], argvlen[i], "mkstream")) {
            mkstream = true;
            i++;
        } else if (dice__opt_is(argv[i], argvlen[i], "entriesread") &&
                   i + 1 < argc) {
            if (parse_entries_read(c, argv[i + 1], argvlen[i + 1], &er) < 0)
                return;
            i += 2;
        } else {
            reply_sub_syntax(c, "XGROUP", argv[1], argvlen[1]);
            return;
        }
    }
    dice__stream *s;
    dice__sgroup *g;
    if (xgroup_pre(c, argv, argvlen, mkstream, false, &s, &g) < 0)
        return;
    if (argc > 8) {
        reply_sub_syntax(c, "XGROUP", argv[1], argvlen[1]);
        return;
    }
    dice__sid id;
    if (parse_group_id(c, s, argv[4], argvlen[4], true, &id) < 0)
        return;
    if (!s) {
        int created;
        if (!(s = dice__xlookup_create(c, argv[2], argvlen[2], &created)))
            return;
    }
    bool exists;
    if (!dice__stream_group_add(s, argv[3], argvlen[3], &id, er, &exists)) {
        if (exists)
            dice__reply_errstr(c,
                               "BUSYGROUP Consumer Group name already exists");
        else
            dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    dice_reply_ok(c);
    xgroup_written(c, argv, argvlen, "xgroup-create");
}

/* XGROUP SETID key group <id | $> [ENTRIESREAD entries-read] */
static DICE__CMD_FN(cmd_xgroup_setid) {
    dice__stream *s;
    dice__sgroup *g;
    if (xgroup_pre(c, argv, argvlen, false, true, &s, &g) < 0)
        return;
    if (argc != 5 && argc != 7) {
        reply_sub_syntax(c, "XGROUP", argv[1], argvlen[1]);
        return;
    }
    dice__sid id;
    long long er = -1;
    if (parse_group_id(c, s, argv[4], argvlen[4], false, &id) < 0)
        return;
    if (argc == 7) {
        if (!dice__opt_is(argv[5], argvlen[5], "entriesread")) {
            reply_sub_syntax(c, "XGROUP", argv[1], argvlen[1]);
            return;
        }
        if (parse_entries_read(c, argv[6], argvlen[6], &er) < 0)
            return;
    }
    g->last_id = id;
    g->entries_read = er;
    dice_reply_ok(c);
    xgroup_written(c, argv, argvlen, "xgroup-setid");
}

/* XGROUP DESTROY key group */
static DICE__CMD_FN(cmd_xgroup_destroy) {
    dice__stream *s;
    dice__sgroup *g;
    if (xgroup_pre(c, argv, argvlen, false, false, &s, &g) < 0)
        return;
    if (!g) {
        dice_reply_int(c, 0);
        return;
    }
    dice__stream_group_del(s, argv[3], argvlen[3]);
    dice_reply_int(c, 1);
    /* also wakes XREADGROUP clients blocked on the group: NOGROUP */
    xgroup_written(c, argv, argvlen, "xgroup-destroy");
}

/* XGROUP CREATECONSUMER key group consumer */
static DICE__CMD_FN(cmd_xgroup_createconsumer) {
    dice__stream *s;
    dice__sgroup *g;
    if (xgroup_pre(c, argv, argvlen, false, true, &s, &g) < 0)
        return;
    bool created;
    dice__sconsumer *cons = dice__group_consumer_add(
        g, argv[4], argvlen[4], dice__cmd_now(c), &created);
    if (!cons) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    dice_reply_int(c, created ? 1 : 0);
    if (created) {
        xgroup_written(c, argv, argvlen, "xgroup-createconsumer");
    }
}

/* XGROUP DELCONSUMER key group consumer */
static DICE__CMD_FN(cmd_xgroup_delconsumer) {
    dice__stream *s;
    dice__sgroup *g;
    if (xgroup_pre(c, argv, argvlen, false, true, &s, &g) < 0)
        return;
    long long pending = dice__group_consumer_del(g, argv[4], argvlen[4]);
    if (pending < 0) {
        dice_reply_int(c, 0);
        return;
    }
    dice_reply_int(c, pending);
    xgroup_written(c, argv, argvlen, "xgroup-delconsumer");
}

/* XGROUP HELP */
static DICE__CMD_FN(cmd_xgroup_help) {
    static const char *const lines[] = {
        "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
        "HELP",
        "    Prints this help.",
    };
    dice__reply_help(c, lines, DICE__COUNT(lines));
}

/* ---- XACK XPENDING XCLAIM XAUTOCLAIM ---------------------------------------
 */

/* The stream at argv[1] and its group argv[2], or NULL (nothing replied
 * but WRONGTYPE: *err set). A read lookup, as Redis's for XACK, XPENDING,
 * XCLAIM and XAUTOCLAIM: a missing key is a keymiss. */
static dice__sgroup *lookup_group(dice_client_t *c, const char *const *argv,
                                  const size_t *argvlen, dice__stream **s,
                                  bool *err, bool miss) {
    void *o;
    *err = false;
    int rc =
        miss ? dice__obj_lookup_read(c, argv[1], argvlen[1], DICE_TYPE_STREAM,
                                     &o)
             : dice__obj_lookup(c, argv[1], argvlen[1], DICE_TYPE_STREAM, &o);
    if (rc < 0) {
        *err = true;
        return NULL;
    }
    if (rc == 0)
        return NULL;
    *s = o;
    return dice__stream_group(o, argv[2], argvlen[2]);
}

/* XACK key group id [id ...] */
static DICE__CMD_FN(cmd_xack) {
    dice__stream *s;
    bool err;
    dice__sgroup *g = lookup_group(c, argv, argvlen, &s, &err, true);
    if (err)
        return;
    if (!g) {
        dice_reply_int(c, 0);
        return;
    }
    for (int j = 3; j < argc; j++) {
        dice__sid id;
        if (dice__xparse_id_or_reply(c, argv[j], argvlen[j], &id, 0, true,
                                     NULL) < 0)
            return;
    }
    long long acked = 0;
    for (int j = 3; j < argc; j++) {
        dice__sid id;
        dice__xparse_id(argv[j], argvlen[j], &id, 0, true, NULL);
        bool found;
        size_t at = dice__spel_find(&g->pel, &id, &found);
        if (found) {
            nack_drop(g, at);
            acked++;
        }
    }
    if (acked)
        dice__xwritten(c, argv[1], argvlen[1]);
    dice_reply_int(c, acked);
}

/* XPENDING key group [[IDLE min-idle-time] start end count [consumer]] */
static DICE__CMD_FN(cmd_xpending) {
    bool justinfo = argc == 3;
    long long minidle = 0, count = 0;
    dice__sid start = {0, 0}, end = {UINT64_MAX, UINT64_MAX};
    const char *cname = NULL;
    size_t clen = 0;
    if (argc != 3 && (argc < 6 || argc > 9)) {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return;
    }
    if (argc >= 6) {
        int si = 3;
        if (dice__opt_is(argv[3], argvlen[3], "idle")) {
            if (dice__parse_ll_or_reply(c, argv[4], argvlen[4], &minidle) < 0)
                return;
            if (argc < 8) {
                dice__reply_err(c, DICE__ERR_SYNTAX);
                return;
            }
            si += 2;
        }
        if (dice__parse_ll_or_reply(c, argv[si + 2], argvlen[si + 2], &count) <
            0)
            return;
        if (count < 0)
            count = 0;
        bool sx, ex;
        if (dice__xparse_interval_or_reply(c, argv[si], argvlen[si], &start,
                                           &sx, 0) < 0)
            return;
        if (sx && dice__sid_incr(&start) < 0) {
            dice__reply_errstr(c, "ERR invalid start ID for the interval");
            return;
        }
        if (dice__xparse_interval_or_reply(c, argv[si + 1], argvlen[si + 1],
                                           &end, &ex, UINT64_MAX) < 0)
            return;
        if (ex && dice__sid_decr(&end) < 0) {
            dice__reply_errstr(c, "ERR invalid end ID for the interval");
            return;
        }
        if (si + 3 < argc) {
            cname = argv[si + 3];
            clen = argvlen[si + 3];
        }
    }
    dice__stream *s;
    bool err;
    dice__sgroup *g = lookup_group(c, argv, argvlen, &s, &err, true);
    if (err)
        return;
    if (!g) {
        reply_key_group(c, argv[1], argvlen[1], argv[2], argvlen[2]);
        return;
    }
    if (justinfo) {
        dice_reply_array(c, 4);
        dice_reply_int(c, (long long)g->pel.n);
        if (g->pel.n == 0) {
            dice_reply_null(c);
            dice_reply_null(c);
            dice_reply_null_array(c);
            return;
        }
        dice__xreply_id(c, &g->pel.v[0]->id);
        dice__xreply_id(c, &g->pel.v[g->pel.n - 1]->id);
        size_t n = 0;
        for (size_t i = 0; i < g->nconsumers; i++)
            n += g->consumers[i]->pel.n != 0;
        dice_reply_array(c, n);
        for (size_t i = 0; i < g->nconsumers; i++) {
            const dice__sconsumer *cs = g->consumers[i];
            if (!cs->pel.n)
                continue;
            dice_reply_array(c, 2);
            dice_reply_bulk(c, cs->name, cs->nlen);
            char nb[24];
            dice_reply_bulk(c, nb, dice__fmt_ull(nb, cs->pel.n));
        }
        return;
    }
    const dice__spel *pel = &g->pel;
    if (cname) {
        dice__sconsumer *cs = dice__group_consumer(g, cname, clen);
        if (!cs) {
            dice_reply_array(c, 0);
            return;
        }
        pel = &cs->pel;
    }
    int64_t now = dice__cmd_now(c);
    bool found;
    size_t at = dice__spel_find(pel, &start, &found);
    /* count the matches first */
    size_t n = 0;
    for (size_t i = at; i < pel->n && (long long)n < count; i++) {
        const dice__snack *nk = pel->v[i];
        if (dice__sid_cmp(&nk->id, &end) > 0)
            break;
        if (minidle && now - nk->delivery_time < minidle)
            continue;
        n++;
    }
    dice_reply_array(c, n);
    size_t done = 0;
    for (size_t i = at; i < pel->n && done < n; i++) {
        const dice__snack *nk = pel->v[i];
        if (minidle && now - nk->delivery_time < minidle)
            continue;
        dice_reply_array(c, 4);
        dice__xreply_id(c, &nk->id);
        dice_reply_bulk(c, nk->consumer->name, nk->consumer->nlen);
        int64_t el = now - nk->delivery_time;
        dice_reply_int(c, el < 0 ? 0 : el);
        dice_reply_int(c, (long long)nk->delivery_count);
        done++;
    }
}

/* Reply one claimed entry: its ID (justid) or [id, fields], or nil. */
static void reply_claimed(dice_client_t *c, dice__stream *s,
                          const dice__sid *id, bool justid) {
    if (justid) {
        dice__xreply_id(c, id);
        return;
    }
    dice__stream_iter it;
    dice__sid got;
    int64_t nf;
    dice__stream_iter_start(&it, s, id, id, false);
    if (dice__stream_iter_next(&it, &got, &nf))
        dice__xreply_entry(c, &it, &got, nf);
    else
        dice_reply_null(c);
}

/* qsort's order of stream IDs. */
static int sid_qcmp(const void *a, const void *b) {
    return dice__sid_cmp(a, b);
}

/* XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME
 * unix-time-milliseconds] [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID
 * lastid] */
static DICE__CMD_FN(cmd_xclaim) {
    dice__stream *s;
    bool err;
    dice__sgroup *g = lookup_group(c, argv, argvlen, &s, &err, true);
    if (err)
        return;
    if (!g) {
        reply_key_group(c, argv[1], argvlen[1], argv[2], argvlen[2]);
        return;
    }
    long long minidle, retry = -1, dtime = -1;
    bool force = false, justid = false;
    if (!dice__str2ll(argv[4], argvlen[4], &minidle)) {
        dice__reply_errstr(c, "ERR Invalid min-idle-time argument for XCLAIM");
        return;
    }
    if (minidle < 0)
        minidle = 0;
    int j;
    for (j = 5; j < argc; j++) {
        dice__sid id;
        if (dice__xparse_id(argv[j], argvlen[j], &id, 0, true, NULL) < 0)
            break;
    }
    int last_arg = j - 1;
    int64_t now = dice__cmd_now(c);
    dice__sid last_id = {0, 0};
    for (; j < argc; j++) {
        int more = argc - 1 - j;
        const char *o = argv[j];
        size_t ol = argvlen[j];
        if (dice__opt_is(o, ol, "force")) {
            force = true;
        } else if (dice__opt_is(o, ol, "justid")) {
            justid = true;
        } else if (dice__opt_is(o, ol, "idle") && more) {
            j++;
            if (!dice__str2ll(argv[j], argvlen[j], &dtime)) {
                dice__reply_errstr(
                    c, "ERR Invalid IDLE option argument for XCLAIM");
                return;
            }
            dtime = now - dtime;
        } else if (dice__opt_is(o, ol, "time") && more) {
            j++;
            if (!dice__str2ll(argv[j], argvlen[j], &dtime)) {
                dice__reply_errstr(
                    c, "ERR Invalid TIME option argument for XCLAIM");
                return;
            }
        } else if (dice__opt_is(o, ol, "retrycount") && more) {
            j++;
            if (!dice__str2ll(argv[j], argvlen[j], &retry)) {
                dice__reply_errstr(
                    c, "ERR Invalid RETRYCOUNT option argument for XCLAIM");
                return;
            }
        } else if (dice__opt_is(o, ol, "lastid") && more) {
            j++;
            if (dice__xparse_id_or_reply(c, argv[j], argvlen[j], &last_id, 0,
                                         true, NULL) < 0)
                return;
        } else {
            char buf[300];
            int n = snprintf(buf, sizeof(buf),
                             "ERR Unrecognized XCLAIM option '%.*s'",
                             (int)(ol > 128 ? 128 : ol), o);
            dice_reply_error(c, buf, n < 0 ? 0 : (size_t)n);
            return;
        }
    }
    bool prop_last = false, dirty = false;
    if (dice__sid_cmp(&last_id, &g->last_id) > 0) {
        g->last_id = last_id;
        prop_last = true;
        dirty = true;
    }
    if (dtime != -1) {
        if (dtime < 0 || dtime > now)
            dtime = now;
    } else {
        dtime = now;
    }
    /* First pass: what will be claimed (the reply's length). Nothing
     * changes between the passes but what the second pass does. A claim
     * sets the entry's delivery time to dtime: when that is too recent for
     * min-idle-time, a second mention of a claimed ID is skipped, so the
     * claimed IDs are counted once each (all mentions of an ID count in
     * this pass or none do). */
    bool again = !(minidle && now - dtime < minidle);
    dice__sid *seen = NULL;
    if (!again && last_arg > 5 &&
        !(seen = malloc(sizeof(*seen) * (size_t)(last_arg - 4)))) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    size_t n = 0;
    for (int k = 5; k <= last_arg; k++) {
        dice__sid id;
        dice__xparse_id(argv[k], argvlen[k], &id, 0, true, NULL);
        if (!dice__stream_has(s, &id))
            continue;
        bool found;
        size_t at = dice__spel_find(&g->pel, &id, &found);
        if (!found) {
            if (force) {
                if (seen)
                    seen[n] = id;
                n++;
            }
            continue;
        }
        const dice__snack *nk = g->pel.v[at];
        if (nk->consumer && minidle && now - nk->delivery_time < minidle)
            continue;
        if (seen)
            seen[n] = id;
        n++;
    }
    if (seen) {
        qsort(seen, n, sizeof(*seen), sid_qcmp);
        size_t distinct = n ? 1 : 0;
        for (size_t i = 1; i < n; i++)
            distinct += dice__sid_cmp(&seen[i - 1], &seen[i]) != 0;
        n = distinct;
        free(seen);
    }
    dice_reply_array(c, n);
    dice__sconsumer *cons = NULL;
    size_t done = 0;
    for (int k = 5; k <= last_arg; k++) {
        dice__sid id;
        dice__xparse_id(argv[k], argvlen[k], &id, 0, true, NULL);
        bool found;
        size_t at = dice__spel_find(&g->pel, &id, &found);
        if (!dice__stream_has(s, &id)) {
            if (found) {
                propagate_xclaim(c, argv[1], argvlen[1], g, g->pel.v[at]);
                prop_last = false;
                dirty = true;
                nack_drop(g, at);
            }
            continue;
        }
        dice__snack *nk = found ? g->pel.v[at] : NULL;
        if (force && !nk) {
            nk = malloc(sizeof(*nk));
            if (!nk || dice__spel_insert_at(&g->pel, at, nk) < 0) {
                free(nk);
                continue;
            }
            *nk = (dice__snack){id, now, 1, NULL};
        }
        if (!nk)
            continue;
        if (nk->consumer && minidle && now - nk->delivery_time < minidle)
            continue;
        if (!cons) {
            bool created;
            cons = consumer_get(c, g, argv[1], argvlen[1], argv[3], argvlen[3],
                                &created);
            if (!cons)
                break;
        }
        nack_claim(nk, cons, dtime);
        if (retry >= 0)
            nk->delivery_count = (uint64_t)retry;
        else if (!justid)
            nk->delivery_count++;
        if (done < n) {
            reply_claimed(c, s, &id, justid);
            done++;
        }
        propagate_xclaim(c, argv[1], argvlen[1], g, nk);
        prop_last = false;
        dirty = true;
    }
    while (done < n) { /* out of memory midway: keep the reply whole */
        dice_reply_null(c);
        done++;
    }
    if (prop_last)
        propagate_setid(c, argv[1], argvlen[1], g);
    if (dirty)
        dice__xwritten(c, argv[1], argvlen[1]);
}

/* XAUTOCLAIM key group consumer min-idle-time start [COUNT count]
 * [JUSTID] */
static DICE__CMD_FN(cmd_xautoclaim) {
    long long minidle, count = 100;
    bool justid = false;
    dice__sid start;
    bool sx;
    /* Redis looks the key up before parsing (a missing one is a keymiss
     * even when an argument is then refused), its type after. */
    if (dice_db_type(dice__cmd_db(c), argv[1], argvlen[1]) == DICE_ENOENT)
        dice__cmd_keymiss(c, argv[1], argvlen[1]);
    if (!dice__str2ll(argv[4], argvlen[4], &minidle)) {
        dice__reply_errstr(c,
                           "ERR Invalid min-idle-time argument for XAUTOCLAIM");
        return;
    }
    if (minidle < 0)
        minidle = 0;
    if (dice__xparse_interval_or_reply(c, argv[5], argvlen[5], &start, &sx, 0) <
        0)
        return;
    if (sx && dice__sid_incr(&start) < 0) {
        dice__reply_errstr(c, "ERR invalid start ID for the interval");
        return;
    }
    for (int j = 6; j < argc; j++) {
        int more = argc - 1 - j;
        if (dice__opt_is(argv[j], argvlen[j], "count") && more) {
            long long maxc = LONG_MAX / 16;
            if (!dice__str2ll(argv[j + 1], argvlen[j + 1], &count) ||
                count < 1 || count > maxc) {
                dice__reply_errstr(c, "ERR COUNT must be > 0");
                return;
            }
            j++;
        } else if (dice__opt_is(argv[j], argvlen[j], "justid")) {
            justid = true;
        } else {
            dice__reply_err(c, DICE__ERR_SYNTAX);
            return;
        }
    }
    dice__stream *s;
    bool err;
    dice__sgroup *g = lookup_group(c, argv, argvlen, &s, &err, false);
    if (err)
        return;
    if (!g) {
        reply_key_group(c, argv[1], argvlen[1], argv[2], argvlen[2]);
        return;
    }
    int64_t now = dice__cmd_now(c);
    long long attempts = count * 10;
    bool found;
    size_t pos = dice__spel_find(&g->pel, &start, &found);
    /* First pass: the claimed entries and the dropped ones, without
     * changing anything, for the reply's lengths. */
    size_t nclaim = 0, ndel = 0;
    {
        long long a = attempts, cnt = count;
        size_t p = pos;
        while (a-- && cnt && p < g->pel.n) {
            const dice__snack *nk = g->pel.v[p++];
            if (!dice__stream_has(s, &nk->id)) {
                ndel++;
                cnt--;
                continue;
            }
            if (minidle && now - nk->delivery_time < minidle)
                continue;
            nclaim++;
            cnt--;
        }
    }
    dice__sid *dels = ndel ? malloc(ndel * sizeof(*dels)) : NULL;
    if (ndel && !dels) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    /* The reply: [cursor, claimed, deleted]; the cursor is known only at
     * the end, so the claimed entries are replied first into the client
     * after the cursor, computed by the same walk. */
    dice__sid cursor = {0, 0};
    {
        long long a = attempts, cnt = count;
        size_t p = pos, dropped = 0;
        while (a-- && cnt && p < g->pel.n) {
            const dice__snack *nk = g->pel.v[p];
            if (!dice__stream_has(s, &nk->id)) {
                dropped++;
                cnt--;
                p++;
                continue;
            }
            p++;
            if (minidle && now - nk->delivery_time < minidle)
                continue;
            cnt--;
        }
        (void)dropped;
        if (p < g->pel.n)
            cursor = g->pel.v[p]->id;
        /* the dropped NACKs are removed below, which shifts nothing
         * after p: the cursor entry stays the same */
    }
    dice_reply_array(c, 3);
    dice__xreply_id(c, &cursor);
    dice_reply_array(c, nclaim);
    dice__sconsumer *cons = NULL;
    long long a = attempts, cnt = count;
    size_t p = pos, nd = 0, done = 0;
    bool dirty = false;
    while (a-- && cnt && p < g->pel.n) {
        dice__snack *nk = g->pel.v[p];
        dice__sid id = nk->id;
        if (!dice__stream_has(s, &id)) {
            propagate_xclaim(c, argv[1], argvlen[1], g, nk);
            dirty = true;
            nack_drop(g, p);
            dels[nd++] = id;
            cnt--;
            continue;
        }
        p++;
        if (minidle && now - nk->delivery_time < minidle)
            continue;
        if (!cons) {
            bool created;
            cons = consumer_get(c, g, argv[1], argvlen[1], argv[3], argvlen[3],
                                &created);
            if (!cons)
                break;
        }
        nack_claim(nk, cons, now);
        if (!justid)
            nk->delivery_count++;
        reply_claimed(c, s, &id, justid);
        done++;
        cnt--;
        propagate_xclaim(c, argv[1], argvlen[1], g, nk);
        dirty = true;
    }
    while (done < nclaim) {
        dice_reply_null(c);
        done++;
    }
    dice_reply_array(c, nd);
    for (size_t i = 0; i < nd; i++)
        dice__xreply_id(c, &dels[i]);
    free(dels);
    if (dirty)
        dice__xwritten(c, argv[1], argvlen[1]);
}

/* ---- XINFO ------------------------------------------------------------- */

static void reply_entries_read(dice_client_t *c, const dice__sgroup *g) {
    if (g->entries_read != -1)
        dice_reply_int(c, g->entries_read);
    else
        dice_reply_null(c);
}

static void reply_lag(dice_client_t *c, const dice__stream *s,
                      const dice__sgroup *g) {
    long long lag = dice__group_lag(s, g);
    if (lag == -1)
        dice_reply_null(c);
    else
        dice_reply_int(c, lag);
}

static void cstr(dice_client_t *c, const char *s) {
    dice_reply_cstr(c, s);
}

/* XINFO STREAM key [FULL [COUNT count]] */
static DICE__CMD_FN(cmd_xinfo_stream) {
    void *o;
    int rc =
        dice__obj_lookup_read(c, argv[2], argvlen[2], DICE_TYPE_STREAM, &o);
    if (rc < 0)
        return;
    if (rc == 0) {
        dice__reply_errstr(c, "ERR no such key");
        return;
    }
    dice__stream *s = o;
    bool full = false;
    long long count = 10;
    if (argc > 3) {
        if (!dice__opt_is(argv[3], argvlen[3], "full")) {
            reply_sub_syntax(c, "XINFO", argv[1], argvlen[1]);
            return;
        }
        full = true;
        if (argc == 6 && dice__opt_is(argv[4], argvlen[4], "count")) {
            if (dice__parse_ll_or_reply(c, argv[5], argvlen[5], &count) < 0)
                return;
            if (count < 0)
                count = 0;
        } else if (argc > 4) {
            reply_sub_syntax(c, "XINFO", argv[1], argvlen[1]);
            return;
        }
    }
    dice_reply_map(c, full ? 9 : 10);
    cstr(c, "length");
    dice_reply_int(c, (long long)s->length);
    cstr(c, "radix-tree-keys");
    dice_reply_int(c, (long long)s->nnodes);
    cstr(c, "radix-tree-nodes");
    dice_reply_int(c, (long long)(s->nnodes ? s->nnodes + 1 : 1));
    cstr(c, "last-generated-id");
    dice__xreply_id(c, &s->last_id);
    cstr(c, "max-deleted-entry-id");
    dice__xreply_id(c, &s->max_deleted);
    cstr(c, "entries-added");
    dice_reply_int(c, (long long)s->entries_added);
    cstr(c, "recorded-first-entry-id");
    dice__xreply_id(c, &s->first_id);
    dice__sid lo = {0, 0}, hi = {UINT64_MAX, UINT64_MAX};
    if (!full) {
        cstr(c, "groups");
        dice_reply_int(c, (long long)s->ngroups);
        dice__stream_iter it;
        dice__sid id;
        int64_t nf;
        cstr(c, "first-entry");
        dice__stream_iter_start(&it, s, &lo, &hi, false);
        if (dice__stream_iter_next(&it, &id, &nf))
            dice__xreply_entry(c, &it, &id, nf);
        else
            dice_reply_null(c);
        cstr(c, "last-entry");
        dice__stream_iter_start(&it, s, &lo, &hi, true);
        if (dice__stream_iter_next(&it, &id, &nf))
            dice__xreply_entry(c, &it, &id, nf);
        else
            dice_reply_null(c);
        return;
    }
    cstr(c, "entries");
    dice__xreply_range(c, s, &lo, &hi, (size_t)count, false);
    cstr(c, "groups");
    dice_reply_array(c, s->ngroups);
    for (size_t i = 0; i < s->ngroups; i++) {
        const dice__sgroup *g = s->groups[i];
        dice_reply_map(c, 7);
        cstr(c, "name");
        dice_reply_bulk(c, g->name, g->nlen);
        cstr(c, "last-delivered-id");
        dice__xreply_id(c, &g->last_id);
        cstr(c, "entries-read");
        reply_entries_read(c, g);
        cstr(c, "lag");
        reply_lag(c, s, g);
        cstr(c, "pel-count");
        dice_reply_int(c, (long long)g->pel.n);
        cstr(c, "pending");
        size_t np = g->pel.n;
        if (count && np > (size_t)count)
            np = (size_t)count;
        dice_reply_array(c, np);
        for (size_t j = 0; j < np; j++) {
            const dice__snack *nk = g->pel.v[j];
            dice_reply_array(c, 4);
            dice__xreply_id(c, &nk->id);
            dice_reply_bulk(c, nk->consumer->name, nk->consumer->nlen);
            dice_reply_int(c, nk->delivery_time);
            dice_reply_int(c, (long long)nk->delivery_count);
        }
        cstr(c, "consumers");
        dice_reply_array(c, g->nconsumers);
        for (size_t j = 0; j < g->nconsumers; j++) {
            const dice__sconsumer *cs = g->consumers[j];
            dice_reply_map(c, 4);
            cstr(c, "name");
            dice_reply_bulk(c, cs->name, cs->nlen);
            cstr(c, "seen-time");
            dice_reply_int(c, cs->seen_time);
            cstr(c, "pel-count");
            dice_reply_int(c, (long long)cs->pel.n);
            cstr(c, "pending");
            size_t cp = cs->pel.n;
            if (count && cp > (size_t)count)
                cp = (size_t)count;
            dice_reply_array(c, cp);
            for (size_t k = 0; k < cp; k++) {
                const dice__snack *nk = cs->pel.v[k];
                dice_reply_array(c, 3);
                dice__xreply_id(c, &nk->id);
                dice_reply_int(c, nk->delivery_time);
                dice_reply_int(c, (long long)nk->delivery_count);
            }
        }
    }
}

/* XINFO GROUPS key */
static DICE__CMD_FN(cmd_xinfo_groups) {
    void *o;
    int rc =
        dice__obj_lookup_read(c, argv[2], argvlen[2], DICE_TYPE_STREAM, &o);
    if (rc < 0)
        return;
    if (rc == 0) {
        dice__reply_errstr(c, "ERR no such key");
        return;
    }
    dice__stream *s = o;
    dice_reply_array(c, s->ngroups);
    for (size_t i = 0; i < s->ngroups; i++) {
        const dice__sgroup *g = s->groups[i];
        dice_reply_map(c, 6);
        cstr(c, "name");
        dice_reply_bulk(c, g->name, g->nlen);
        cstr(c, "consumers");
        dice_reply_int(c, (long long)g->nconsumers);
        cstr(c, "pending");
        dice_reply_int(c, (long long)g->pel.n);
        cstr(c, "last-delivered-id");
        dice__xreply_id(c, &g->last_id);
        cstr(c, "entries-read");
        reply_entries_read(c, g);
        cstr(c, "lag");
        reply_lag(c, s, g);
    }
}

/* XINFO CONSUMERS key group */
static DICE__CMD_FN(cmd_xinfo_consumers) {
    void *o;
    int rc =
        dice__obj_lookup_read(c, argv[2], argvlen[2], DICE_TYPE_STREAM, &o);
    if (rc < 0)
        return;
    if (rc == 0) {
        dice__reply_errstr(c, "ERR no such key");
        return;
    }
    dice__sgroup *g = dice__stream_group(o, argv[3], argvlen[3]);
    if (!g) {
        reply_group_key(c, argv[3], argvlen[3], argv[2], argvlen[2]);
        return;
    }
    int64_t now = dice__cmd_now(c);
    dice_reply_array(c, g->nconsumers);
    for (size_t j = 0; j < g->nconsumers; j++) {
        const dice__sconsumer *cs = g->consumers[j];
        dice_reply_map(c, 3);
        cstr(c, "name");
        dice_reply_bulk(c, cs->name, cs->nlen);
        cstr(c, "pending");
        dice_reply_int(c, (long long)cs->pel.n);
        cstr(c, "idle");
        int64_t idle = now - cs->seen_time;
        dice_reply_int(c, idle < 0 ? 0 : idle);
    }
}

/* XINFO HELP */
static DICE__CMD_FN(cmd_xinfo_help) {
    static const char *const lines[] = {
        "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
        "HELP",
        "    Prints this help.",
    };
    dice__reply_help(c, lines, DICE__COUNT(lines));
}

/* ---- registration ------------------------------------------------------- */

#define W DICE_CMD_WRITE
#define R DICE_CMD_READONLY
#define M DICE_CMD_DENYOOM
#define F DICE_CMD_FAST
#define LS (DICE_CMD_LOADING | DICE_CMD_STALE)
#define ND "nondeterministic_output"

static const dice__cmd_desc group_cmds[] = {
    {"xread", -4, R | DICE_CMD_BLOCKING | DICE_CMD_MOVABLE_KEYS, 0, 0, 0,
     cmd_xread, NULL,
     "Return never seen elements in multiple streams, with IDs greater than "
     "the ones reported by the caller for each stream. Can block.",
     "5.0.0",
     "For each stream mentioned: O(N) with N being the number of elements "
     "being returned, it means that XREAD-ing with a fixed COUNT is O(1). "
     "Note that when the BLOCK option is used, XADD will pay O(M) time in "
     "order to serve the M clients blocked on the stream getting new data.",
     0, NULL, NULL, xread_keys},
    {"xreadgroup", -7, W | DICE_CMD_BLOCKING | DICE_CMD_MOVABLE_KEYS, 0, 0, 0,
     cmd_xread, (void *)1,
     "Return new entries from a stream using a consumer group, or access the "
     "history of the pending entries for a given consumer. Can block.",
     "5.0.0",
     "For each stream mentioned: O(M) with M being the number of elements "
     "returned. If M is constant (e.g. always asking for the first 10 "
     "elements with COUNT), you can consider it O(1). On the other side when "
     "XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N "
     "clients blocked on the stream getting new data.",
     0, NULL, NULL, xread_keys},
    {"xack", -4, W | F, 1, 1, 1, cmd_xack, NULL,
     "Marks a pending message as correctly processed, effectively removing "
     "it from the pending entries list of the consumer group. Return value "
     "of the command is the number of messages successfully acknowledged, "
     "that is, the IDs we were actually able to resolve in the PEL.",
     "5.0.0", "O(1) for each message ID processed.", 0, NULL, NULL, NULL},
    {"xpending", -3, R, 1, 1, 1, cmd_xpending, NULL,
     "Return information and entries from a stream consumer group pending "
     "entries list, that are messages fetched but never acknowledged.",
     "5.0.0",
     "O(N) with N being the number of elements returned, so asking for a "
     "small fixed number of entries per call is O(1). O(M), where M is the "
     "total number of entries scanned when used with the IDLE filter. When "
     "the command returns just the summary and the list of consumers is "
     "small, it runs in O(1) time; otherwise, an additional O(N) time for "
     "iterating every consumer.",
     0, ND, NULL, NULL},
    {"xclaim", -6, W | F, 1, 1, 1, cmd_xclaim, NULL,
     "Changes (or acquires) ownership of a message in a consumer group, as "
     "if the message was delivered to the specified consumer.",
     "5.0.0",
     "O(log N) with N being the number of messages in the PEL of "
     "the consumer group.",
     0, ND, NULL, NULL},
    {"xautoclaim", -6, W | F, 1, 1, 1, cmd_xautoclaim, NULL,
     "Changes (or acquires) ownership of messages in a consumer group, as if "
     "the messages were delivered to the specified consumer.",
     "6.2.0", "O(1) if COUNT is small.", 0, ND, NULL, NULL},
    {"xgroup", -2, 0, 0, 0, 0, NULL, NULL,
     "A container for consumer groups "
     "commands",
     "5.0.0", "Depends on subcommand.", 0, NULL, NULL, NULL},
    {"xinfo", -2, 0, 0, 0, 0, NULL, NULL,
     "A container for stream "
     "introspection commands",
     "5.0.0", "Depends on subcommand.", 0, NULL, NULL, NULL},
};

static const dice__cmd_desc xgroup_subs[] = {
    {"create", -5, W | M, 2, 2, 1, cmd_xgroup_create, NULL,
     "Create a consumer group.", "5.0.0", "O(1)", 0, NULL, NULL, NULL},
    {"setid", -5, W, 2, 2, 1, cmd_xgroup_setid, NULL,
     "Set a consumer group to an arbitrary last delivered ID value.", "5.0.0",
     "O(1)", 0, NULL, NULL, NULL},
    {"destroy", 4, W, 2, 2, 1, cmd_xgroup_destroy, NULL,
     "Destroy a consumer group.", "5.0.0",
     "O(N) where N is the number of entries in the group's pending entries "
     "list (PEL).",
     0, NULL, NULL, NULL},
    {"createconsumer", 5, W | M, 2, 2, 1, cmd_xgroup_createconsumer, NULL,
     "Create a consumer in a consumer group.", "6.2.0", "O(1)", 0, NULL, NULL,
     NULL},
    {"delconsumer", 5, W, 2, 2, 1, cmd_xgroup_delconsumer, NULL,
     "Delete a consumer from a consumer group.", "5.0.0", "O(1)", 0, NULL, NULL,
     NULL},
    {"help", 2, LS, 0, 0, 0, cmd_xgroup_help, NULL,
     "Show helpful text about the different subcommands", "5.0.0", "O(1)", 0,
     NULL, NULL, NULL},
};

static const dice__cmd_desc xinfo_subs[] = {
    {"stream", -3, R, 2, 2, 1, cmd_xinfo_stream, NULL,
     "Get information about a stream", "5.0.0", "O(1)", 0, NULL, NULL, NULL},
    {"groups", 3, R, 2, 2, 1, cmd_xinfo_groups, NULL,
     "List the consumer groups of a stream", "5.0.0", "O(1)", 0, NULL, NULL,
     NULL},
    {"consumers", 4, R, 2, 2, 1, cmd_xinfo_consumers, NULL,
     "List the consumers in a consumer group", "5.0.0", "O(1)", 0, ND, NULL,
     NULL},
    {"help", 2, LS, 0, 0, 0, cmd_xinfo_help, NULL,
     "Show helpful text about the different subcommands", "5.0.0", "O(1)", 0,
     NULL, NULL, NULL},
};

#undef W
#undef R
#undef M
#undef F
#undef LS
#undef ND

#define KS_OF(a) a, (int)DICE__COUNT(a)
static const dice__key_spec ks_xread[] = {{NULL,
                                           DICE__KS_RO | DICE__KS_ACCESS,
                                           DICE__BS_KEYWORD,
                                           1,
                                           "STREAMS",
                                           DICE__FK_RANGE,
                                           {-1, 1, 2}}};
static const dice__key_spec ks_xreadgroup[] = {{NULL,
                                                DICE__KS_RO | DICE__KS_ACCESS,
                                                DICE__BS_KEYWORD,
                                                4,
                                                "STREAMS",
                                                DICE__FK_RANGE,
                                                {-1, 1, 2}}};
static const dice__key_spec ks_rw_update[] = {
    DICE__KS_RANGE(DICE__KS_RW | DICE__KS_UPDATE, 1, 0, 1, 0)};
static const dice__key_spec ks_rw_delete[] = {
    DICE__KS_RANGE(DICE__KS_RW | DICE__KS_DELETE, 1, 0, 1, 0)};
static const dice__key_spec ks_ro_access[] = {
    DICE__KS_RANGE(DICE__KS_RO | DICE__KS_ACCESS, 1, 0, 1, 0)};
static const dice__key_spec ks_g_insert[] = {
    DICE__KS_RANGE(DICE__KS_RW | DICE__KS_INSERT, 2, 0, 1, 0)};
static const dice__key_spec ks_g_update[] = {
    DICE__KS_RANGE(DICE__KS_RW | DICE__KS_UPDATE, 2, 0, 1, 0)};
static const dice__key_spec ks_g_delete[] = {
    DICE__KS_RANGE(DICE__KS_RW | DICE__KS_DELETE, 2, 0, 1, 0)};
static const dice__key_spec ks_g_ro[] = {
    DICE__KS_RANGE(DICE__KS_RO | DICE__KS_ACCESS, 2, 0, 1, 0)};
static const dice__cmd_keyspecs group_keyspecs[] = {
    {"xread", KS_OF(ks_xread)},
    {"xreadgroup", KS_OF(ks_xreadgroup)},
    {"xack", KS_OF(ks_rw_update)},
    {"xpending", KS_OF(ks_ro_access)},
    {"xclaim", KS_OF(ks_rw_update)},
    {"xautoclaim", KS_OF(ks_rw_delete)},
    {"xgroup|create", KS_OF(ks_g_insert)},
    {"xgroup|createconsumer", KS_OF(ks_g_insert)},
    {"xgroup|setid", KS_OF(ks_g_update)},
    {"xgroup|destroy", KS_OF(ks_g_delete)},
    {"xgroup|delconsumer", KS_OF(ks_g_delete)},
    {"xinfo|stream", KS_OF(ks_g_ro)},
    {"xinfo|groups", KS_OF(ks_g_ro)},
    {"xinfo|consumers", KS_OF(ks_g_ro)},
};
#undef KS_OF

int dice__builtin_stream_groups(dice_server_t *srv) {
    int rc;
    if ((rc = dice__command_register(srv, NULL, "stream", group_cmds,
                                     DICE__COUNT(group_cmds))) < 0 ||
        (rc = dice__command_register(srv, "xgroup", "stream", xgroup_subs,
                                     DICE__COUNT(xgroup_subs))) < 0 ||
        (rc = dice__command_register(srv, "xinfo", "stream", xinfo_subs,
                                     DICE__COUNT(xinfo_subs))) < 0)
        return rc;
    return dice__command_set_keyspecs(srv, group_keyspecs,
                                      DICE__COUNT(group_keyspecs));
}
