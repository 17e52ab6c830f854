/* The stream command family (Redis's t_stream.c): XADD XRANGE XREVRANGE
 * XLEN XDEL XTRIM XSETID XREAD and, in lib/commands/stream_group.c, the
 * consumer-group commands (XGROUP XREADGROUP XACK XPENDING XCLAIM
 * XAUTOCLAIM) and XINFO, on the stream type (lib/types/stream.h). Checks
 * and error texts in Redis 7.0.15's order.
 *
 * Propagation: XADD goes out with the ID it generated and, when it trimmed
 * with `~`, its trimming in the exact form of its effect ("MAXLEN = <the
 * length left>" / "MINID = <the first ID left>", as Redis rewrites it;
 * the LIMIT is left out, since an exact trim takes none); XTRIM `~` the
 * same way. XDEL, XSETID go out as they are. Streams are never deleted
 * when they become empty (Redis keeps empty streams). */
#include "commands/stream_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- Stream API -------------------------------------------------------- */

const char dice__xerr_invalid_id[] =
    "ERR Invalid stream ID specified as stream command argument";

/* Redis's string2ull on a NUL-terminated string. */
static int str2ull(const char *s, unsigned long long *v) {
    long long ll;
    if (dice__str2ll(s, strlen(s), &ll)) {
        if (ll < 0)
            return 0;
        *v = (unsigned long long)ll;
        return 1;
    }
    errno = 0;
    char *end = NULL;
    *v = strtoull(s, &end, 10);
    if (errno == EINVAL || errno == ERANGE || !(*s != '\0' && *end == '\0'))
        return 0;
    return 1;
}

int dice__xparse_id(const char *arg, size_t n, dice__sid *id,
                    uint64_t missing_seq, bool strict, bool *seq_given) {
    char buf[128];
    if (n > sizeof(buf) - 1)
        return -1;
    memcpy(buf, arg, n);
    buf[n] = 0;
    if (strict && (buf[0] == '-' || buf[0] == '+') && buf[1] == 0)
        return -1;
    if (seq_given)
        *seq_given = true;
    if (buf[0] == '-' && buf[1] == 0) {
        *id = (dice__sid){0, 0};
        return 0;
    }
    if (buf[0] == '+' && buf[1] == 0) {
        *id = (dice__sid){UINT64_MAX, UINT64_MAX};
        return 0;
    }
    unsigned long long ms, seq;
    char *dot = strchr(buf, '-');
    if (dot)
        *dot = 0;
    if (!str2ull(buf, &ms))
        return -1;
    if (dot) {
        if (seq_given && dot[1] == '*' && dot[2] == 0) {
            seq = 0;
            *seq_given = false;
        } else if (!str2ull(dot + 1, &seq)) {
            return -1;
        }
    } else {
        seq = missing_seq;
    }
    id->ms = ms;
    id->seq = seq;
    return 0;
}

int dice__xparse_id_or_reply(dice_client_t *c, const char *arg, size_t n,
                             dice__sid *id, uint64_t missing_seq, bool strict,
                             bool *seq_given) {
    if (dice__xparse_id(arg, n, id, missing_seq, strict, seq_given) == 0)
        return 0;
    dice__reply_errstr(c, dice__xerr_invalid_id);
    return -1;
}

int dice__xparse_interval_or_reply(dice_client_t *c, const char *arg, size_t n,
                                   dice__sid *id, bool *excl,
                                   uint64_t missing_seq) {
    *excl = n > 1 && arg[0] == '(';
    if (*excl)
        return dice__xparse_id_or_reply(c, arg + 1, n - 1, id, missing_seq,
                                        true, NULL);
    return dice__xparse_id_or_reply(c, arg, n, id, missing_seq, false, NULL);
}

int dice__sid_incr(dice__sid *id) {
    if (id->seq == UINT64_MAX) {
        if (id->ms == UINT64_MAX)
            return -1;
        id->ms++;
        id->seq = 0;
    } else {
        id->seq++;
    }
    return 0;
}

int dice__sid_decr(dice__sid *id) {
    if (id->seq == 0) {
        if (id->ms == 0)
            return -1;
        id->ms--;
        id->seq = UINT64_MAX;
    } else {
        id->seq--;
    }
    return 0;
}

void dice__xreply_id(dice_client_t *c, const dice__sid *id) {
    char b[DICE__SID_STRMAX];
    dice_reply_bulk(c, b, dice__sid_fmt(b, id));
}

/* The entry the iterator stands on: [id, [field, value, ...]]. */
void dice__xreply_entry(dice_client_t *c, dice__stream_iter *it,
                        const dice__sid *id, int64_t nf) {
    dice_reply_array(c, 2);
    dice__xreply_id(c, id);
    dice_reply_array(c, (size_t)nf * 2);
    while (nf--) {
        const unsigned char *f, *v;
        uint32_t fl, vl;
        unsigned char fb[DICE__LP_INTBUF], vb[DICE__LP_INTBUF];
        dice__stream_iter_field(it, &f, &fl, fb, &v, &vl, vb);
        dice_reply_bulk(c, (const char *)f, fl);
        dice_reply_bulk(c, (const char *)v, vl);
    }
}

size_t dice__xreply_range(dice_client_t *c, dice__stream *s,
                          const dice__sid *start, const dice__sid *end,
                          size_t count, bool rev) {
    dice__stream_iter it;
    dice__sid id;
    int64_t nf;
    size_t n = 0;
    if (dice__sid_cmp(start, &s->first_id) <= 0 &&
        dice__sid_cmp(end, &s->last_id) >= 0) {
        n = (size_t)s->length;
    } else {
        dice__stream_iter_start(&it, s, start, end, rev);
        while ((!count || n < count) && dice__stream_iter_next(&it, &id, &nf))
            n++;
    }
    if (count && n > count)
        n = count;
    dice_reply_array(c, n);
    dice__stream_iter_start(&it, s, start, end, rev);
    for (size_t i = 0; i < n && dice__stream_iter_next(&it, &id, &nf); i++)
        dice__xreply_entry(c, &it, &id, nf);
    return n;
}

dice__stream_limits dice__xlimits(dice_client_t *c) {
    const dice__enc_limits *l = dice__keyspace_limits(c->srv->keyspace);
    return (dice__stream_limits){l->stream_node_max_bytes,
                                 l->stream_node_max_entries};
}

static void *stream_create(void *arg) {
    (void)arg;
    return dice__stream_new();
}

dice__stream *dice__xlookup_create(dice_client_t *c, const char *key,
                                   size_t klen, int *created) {
    void *o;
    if (dice__obj_lookup_create(c, key, klen, DICE_TYPE_STREAM, stream_create,
                                NULL, &o, created) < 0)
        return NULL;
    return o;
}

void dice__xwritten(dice_client_t *c, const char *key, size_t klen) {
    dice_db_signal_modify(dice__cmd_db(c), key, klen);
}

/* The options of XADD and XTRIM (Redis's streamParseAddOrTrimArgsOrReply):
 * returns the index of XADD's ID argument (or argc for XTRIM), or -1
 * after replying. */
typedef struct add_args {
    dice__stream_trim_args trim;
    int trim_arg; /* index of the threshold argument */
    bool approx_tilde;
    bool nomkstream;
    bool id_given, seq_given;
    dice__sid id;
} add_args;

static int parse_add_trim(dice_client_t *c, int argc, const char *const *argv,
                          const size_t *argvlen, bool xadd, add_args *a) {
    memset(a, 0, sizeof(*a));
    bool limit_given = false;
    int i = 2;
    for (; i < argc; i++) {
        int more = argc - 1 - i;
        const char *o = argv[i];
        size_t ol = argvlen[i];
        if (xadd && ol == 1 && o[0] == '*')
            break;
        bool maxlen = dice__opt_is(o, ol, "maxlen");
        if ((maxlen || dice__opt_is(o, ol, "minid")) && more) {
            if (a->trim.strategy != DICE__TRIM_NONE) {
                dice__reply_errstr(c, "ERR syntax error, MAXLEN and MINID "
                                      "options at the same time are not "
                                      "compatible");
                return -1;
            }
            a->trim.approx = false;
            const char *nx = argv[i + 1];
            if (more >= 2 && argvlen[i + 1] == 1 && nx[0] == '~') {
                a->trim.approx = true;
                i++;
            } else if (more >= 2 && argvlen[i + 1] == 1 && nx[0] == '=') {
                i++;
            }
            if (maxlen) {
                long long v;
                if (dice__parse_ll_or_reply(c, argv[i + 1], argvlen[i + 1],
                                            &v) < 0)
                    return -1;
                if (v < 0) {
                    dice__reply_errstr(c,
                                       "ERR The MAXLEN argument must be >= 0.");
                    return -1;
                }
                a->trim.maxlen = v;
                a->trim.strategy = DICE__TRIM_MAXLEN;
            } else {
                if (dice__xparse_id_or_reply(c, argv[i + 1], argvlen[i + 1],
                                             &a->trim.minid, 0, true, NULL) < 0)
                    return -1;
                a->trim.strategy = DICE__TRIM_MINID;
            }
            i++;
            a->trim_arg = i;
        } else if (dice__opt_is(o, ol, "limit") && more) {
            long long v;
            if (dice__parse_ll_or_reply(c, argv[i + 1], argvlen[i + 1], &v) < 0)
                return -1;
            if (v < 0) {
                dice__reply_errstr(c, "ERR The LIMIT argument must be >= 0.");
                return -1;
            }
            a->trim.limit = v;
            limit_given = true;
            i++;
        } else if (xadd && dice__opt_is(o, ol, "nomkstream")) {
            a->nomkstream = true;
        } else if (xadd) {
            if (dice__xparse_id_or_reply(c, o, ol, &a->id, 0, true,
                                         &a->seq_given) < 0)
                return -1;
            a->id_given = true;
            break;
        } else {
            dice__reply_err(c, DICE__ERR_SYNTAX);
            return -1;
        }
    }
    if (a->trim.limit && a->trim.strategy == DICE__TRIM_NONE) {
        dice__reply_errstr(c, "ERR syntax error, LIMIT cannot be used without "
                              "specifying a trimming strategy");
        return -1;
    }
    if (!xadd && a->trim.strategy == DICE__TRIM_NONE) {
        dice__reply_errstr(c, "ERR syntax error, XTRIM must be called with a "
                              "trimming strategy");
        return -1;
    }
    if (limit_given) {
        if (!a->trim.approx) {
            dice__reply_errstr(c, "ERR syntax error, LIMIT cannot be used "
                                  "without the special ~ option");
            return -1;
        }
    } else if (a->trim.approx) {
        long long l = 100 * dice__xlimits(c).max_entries;
        if (l <= 0 || l > 1000000)
            l = 1000000;
        a->trim.limit = l;
    } else {
        a->trim.limit = 0;
    }
    return i;
}

/* Propagate an approximate trim in its exact form: the command's argv
 * with the `~` made `=`, the threshold replaced by what is left (the
 * length, or the first ID whatever its flags), LIMIT and its count left
 * out, and XADD's ID argument (idpos, 0 for none) replaced by id. */
static void propagate_trimmed(dice_client_t *c, int argc,
                              const char *const *argv, const size_t *argvlen,
                              const add_args *a, dice__stream *s, int idpos,
                              const dice__sid *id) {
    if (!dice__propagating(c))
        return;
    const char *sv[64], **av = sv;
    size_t sl[64], *al = sl;
    if (argc > 64) {
        av = malloc(argc * sizeof(*av));
        al = malloc(argc * sizeof(*al));
        if (!av || !al) {
            free(av);
            free(al);
            return;
        }
    }
    char tb[DICE__SID_STRMAX], ib[DICE__SID_STRMAX];
    size_t tl;
    if (a->trim.strategy == DICE__TRIM_MAXLEN) {
        tl = dice__fmt_ull(tb, s->length);
    } else {
        dice__sid f;
        dice__stream_edge_id(s, true, false, &f);
        tl = dice__sid_fmt(tb, &f);
    }
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (a->trim.approx && i == a->trim_arg - 1 && argvlen[i] == 1 &&
            argv[i][0] == '~') {
            av[n] = "=";
            al[n++] = 1;
        } else if (a->trim.approx && i == a->trim_arg) {
            av[n] = tb;
            al[n++] = tl;
        } else if (i >= 2 && (idpos == 0 || i < idpos) && i != a->trim_arg &&
                   dice__opt_is(argv[i], argvlen[i], "limit") && i + 1 < argc) {
            i++; /* LIMIT count */
        } else if (idpos && i == idpos) {
            av[n] = ib;
            al[n++] = dice__sid_fmt(ib, id);
        } else {
            av[n] = argv[i];
            al[n++] = argvlen[i];
        }
    }
    dice_client_propagate(c, n, av, al);
    if (av != sv) {
        free(av);
        free(al);
    }
}

/* ---- Stream commands ---------------------------------------------------- */

/* XADD key [NOMKSTREAM] [<MAXLEN | MINID> [= | ~] threshold [LIMIT count]]
 *      <* | id> field value [field value ...] */
static DICE__CMD_FN(cmd_xadd) {
    add_args a;
    int idpos = parse_add_trim(c, argc, argv, argvlen, true, &a);
    if (idpos < 0)
        return;
    int fpos = idpos + 1;
    if (argc - fpos < 2 || (argc - fpos) % 2 == 1) {
        dice__reply_errstr(c,
                           "ERR wrong number of arguments for 'xadd' command");
        return;
    }
    if (a.id_given && a.seq_given && a.id.ms == 0 && a.id.seq == 0) {
        dice__reply_errstr(
            c, "ERR The ID specified in XADD must be greater than 0-0");
        return;
    }
    dice__stream *s;
    int created = 0;
    if (a.nomkstream) {
        void *o;
        int rc = dice__obj_lookup(c, argv[1], argvlen[1], DICE_TYPE_STREAM, &o);
        if (rc < 0)
            return;
        if (rc == 0) {
            dice_reply_null(c);
            return;
        }
        s = o;
    } else if (!(s = dice__xlookup_create(c, argv[1], argvlen[1], &created))) {
        return;
    }
    if (s->last_id.ms == UINT64_MAX && s->last_id.seq == UINT64_MAX) {
        dice__reply_errstr(c, "ERR The stream has exhausted the last possible "
                              "ID, unable to add more items");
        return;
    }
    dice__sid id;
    bool edom = false;
    if (a.id_given) {
        if (a.seq_given) {
            id = a.id;
        } else if (s->last_id.ms == a.id.ms) {
            if (s->last_id.seq == UINT64_MAX) {
                edom = true;
            } else {
                id = s->last_id;
                id.seq++;
            }
        } else {
            id = a.id;
        }
    } else {
        uint64_t ms = (uint64_t)dice__cmd_now(c);
        if (ms > s->last_id.ms) {
            id = (dice__sid){ms, 0};
        } else {
            id = s->last_id;
            dice__sid_incr(&id);
        }
    }
    if (edom || dice__sid_cmp(&id, &s->last_id) <= 0) {
        dice__reply_errstr(c, "ERR The ID specified in XADD is equal or "
                              "smaller than the target stream top item");
        return;
    }
    dice__stream_limits lim = dice__xlimits(c);
    int rc = dice__stream_append(s, &id, argv + fpos, argvlen + fpos,
                                 (size_t)(argc - fpos) / 2, &lim);
    if (rc < 0) {
        if (rc == DICE_ERANGE)
            dice__reply_errstr(c, "ERR Elements are too large to be stored");
        else
            dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    dice__xreply_id(c, &id);
    dice__xwritten(c, argv[1], argvlen[1]);
    dice__cmd_notify(c, DICE__NOTIFY_STREAM, "xadd", argv[1], argvlen[1]);
    bool trimmed = false;
    if (a.trim.strategy != DICE__TRIM_NONE) {
        if (dice__stream_trim(s, &a.trim))
            dice__cmd_notify(c, DICE__NOTIFY_STREAM, "xtrim", argv[1],
                             argvlen[1]);
        trimmed = a.trim.approx || a.trim.limit;
    }
    if (trimmed) {
        propagate_trimmed(c, argc, argv, argvlen, &a, s, idpos, &id);
    } else if (!a.id_given || !a.seq_given) {
        if (dice__propagating(c)) {
            char ib[DICE__SID_STRMAX];
            const char *sv[64], **av = sv;
            size_t sl[64], *al = sl;
            if (argc > 64) {
                av = malloc(argc * sizeof(*av));
                al = malloc(argc * sizeof(*al));
            }
            if (av && al) {
                memcpy(av, argv, argc * sizeof(*av));
                memcpy(al, argvlen, argc * sizeof(*al));
                av[idpos] = ib;
                al[idpos] = dice__sid_fmt(ib, &id);
                dice_client_propagate(c, argc, av, al);
            }
            if (av != sv) {
                free(av);
                free(al);
            }
        }
    }
}

/* XRANGE key start end [COUNT count] ; XREVRANGE key end start [COUNT
 * count] (arg non-NULL) */
static DICE__CMD_FN(cmd_xrange) {
    bool rev = arg != NULL;
    int si = rev ? 3 : 2, ei = rev ? 2 : 3;
    dice__sid start, end;
    bool sx, ex;
    long long count = -1;
    if (dice__xparse_interval_or_reply(c, argv[si], argvlen[si], &start, &sx,
                                       0) < 0)
        return;
    if (sx && dice__sid_incr(&start) < 0) {
        dice__reply_errstr(c, "ERR invalid start ID for the interval");
        return;
    }
    if (dice__xparse_interval_or_reply(c, argv[ei], argvlen[ei], &end, &ex,
                                       UINT64_MAX) < 0)
        return;
    if (ex && dice__sid_decr(&end) < 0) {
        dice__reply_errstr(c, "ERR invalid end ID for the interval");
        return;
    }
    for (int j = 4; j < argc; j++) {
        if (dice__opt_is(argv[j], argvlen[j], "count") && argc - j - 1 >= 1) {
            if (dice__parse_ll_or_reply(c, argv[j + 1], argvlen[j + 1],
                                        &count) < 0)
                return;
            if (count < 0)
                count = 0;
            j++;
        } else {
            dice__reply_err(c, DICE__ERR_SYNTAX);
            return;
        }
    }
    void *o;
    int rc =
        dice__obj_lookup_read(c, argv[1], argvlen[1], DICE_TYPE_STREAM, &o);
    if (rc < 0)
        return;
    if (rc == 0) {
        dice_reply_array(c, 0);
        return;
    }
    if (count == 0) {
        dice_reply_null_array(c);
        return;
    }
    dice__xreply_range(c, o, &start, &end, count < 0 ? 0 : (size_t)count, rev);
}

/* XLEN key */
static DICE__CMD_FN(cmd_xlen) {
    void *o;
    int rc =
        dice__obj_lookup_read(c, argv[1], argvlen[1], DICE_TYPE_STREAM, &o);
    if (rc < 0)
        return;
    dice_reply_int(c, rc ? (long long)((dice__stream *)o)->length : 0);
}

/* XDEL key id [id ...] */
static DICE__CMD_FN(cmd_xdel) {
    void *o;
    for (int j = 2; j < argc; j++) {
        dice__sid id;
        if (dice__xparse_id_or_reply(c, argv[j], argvlen[j], &id, 0, true,
                                     NULL) < 0)
            return;
    }
    int rc = dice__obj_lookup(c, argv[1], argvlen[1], DICE_TYPE_STREAM, &o);
    if (rc < 0)
        return;
    if (rc == 0) {
        dice_reply_int(c, 0);
        return;
    }
    dice__stream *s = o;
    long long deleted = 0;
    for (int j = 2; j < argc; j++) {
        dice__sid id;
        dice__xparse_id(argv[j], argvlen[j], &id, 0, true, NULL);
        deleted += dice__stream_delete(s, &id);
    }
    if (deleted) {
        dice__xwritten(c, argv[1], argvlen[1]);
        dice__cmd_notify(c, DICE__NOTIFY_STREAM, "xdel", argv[1], argvlen[1]);
    }
    dice_reply_int(c, deleted);
}

/* XTRIM key <MAXLEN | MINID> [= | ~] threshold [LIMIT count] */
static DICE__CMD_FN(cmd_xtrim) {
    add_args a;
    if (parse_add_trim(c, argc, argv, argvlen, false, &a) < 0)
        return;
    void *o;
    int rc = dice__obj_lookup(c, argv[1], argvlen[1], DICE_TYPE_STREAM, &o);
    if (rc < 0)
        return;
    if (rc == 0) {
        dice_reply_int(c, 0);
        return;
    }
    dice__stream *s = o;
    int64_t deleted = dice__stream_trim(s, &a.trim);
    if (deleted) {
        dice__xwritten(c, argv[1], argvlen[1]);
        dice__cmd_notify(c, DICE__NOTIFY_STREAM, "xtrim", argv[1], argvlen[1]);
        if (a.trim.approx || a.trim.limit)
            propagate_trimmed(c, argc, argv, argvlen, &a, s, 0, NULL);
    }
    dice_reply_int(c, deleted);
}

/* XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID
 * max-deleted-id] */
static DICE__CMD_FN(cmd_xsetid) {
    dice__sid id, maxdel = {0, 0};
    long long added = -1;
    if (dice__xparse_id_or_reply(c, argv[2], argvlen[2], &id, 0, true, NULL) <
        0)
        return;
    for (int i = 3; i < argc;) {
        int more = argc - 1 - i;
        if (dice__opt_is(argv[i], argvlen[i], "entriesadded") && more) {
            if (dice__parse_ll_or_reply(c, argv[i + 1], argvlen[i + 1],
                                        &added) < 0)
                return;
            if (added < 0) {
                dice__reply_errstr(c, "ERR entries_added must be positive");
                return;
            }
            i += 2;
        } else if (dice__opt_is(argv[i], argvlen[i], "maxdeletedid") && more) {
            if (dice__xparse_id_or_reply(c, argv[i + 1], argvlen[i + 1],
                                         &maxdel, 0, true, NULL) < 0)
                return;
            if (dice__sid_cmp(&id, &maxdel) < 0) {
                dice__reply_errstr(c, "ERR The ID specified in XSETID is "
                                      "smaller than the provided "
                                      "max_deleted_entry_id");
                return;
            }
            i += 2;
        } else {
            dice__reply_err(c, DICE__ERR_SYNTAX);
            return;
        }
    }
    void *o;
    int rc = dice__obj_lookup(c, argv[1], argvlen[1], DICE_TYPE_STREAM, &o);
    if (rc < 0)
        return;
    if (rc == 0) {
        dice__reply_errstr(c, "ERR no such key");
        return;
    }
    dice__stream *s = o;
    if (s->length > 0) {
        dice__sid top;
        dice__stream_edge_id(s, false, true, &top);
        if (dice__sid_cmp(&id, &top) < 0) {
            dice__reply_errstr(c, "ERR The ID specified in XSETID is smaller "
                                  "than the target stream top item");
            return;
        }
        if (added != -1 && s->length > (uint64_t)added) {
            dice__reply_errstr(c, "ERR The entries_added specified in XSETID "
                                  "is smaller than the target stream length");
            return;
        }
    }
    s->last_id = id;
    if (added != -1)
        s->entries_added = (uint64_t)added;
    if (maxdel.ms || maxdel.seq)
        s->max_deleted = maxdel;
    dice_reply_ok(c);
    dice__xwritten(c, argv[1], argvlen[1]);
    dice__cmd_notify(c, DICE__NOTIFY_STREAM, "xsetid", argv[1], argvlen[1]);
}

/* ---- registration ------------------------------------------------------- */

#define W DICE_CMD_WRITE
#define R DICE_CMD_READONLY
#define M DICE_CMD_DENYOOM
#define F DICE_CMD_FAST

static const dice__cmd_desc stream_cmds[] = {
    {"xadd", -5, W | M | F, 1, 1, 1, cmd_xadd, NULL,
     "Appends a new entry to a stream", "5.0.0",
     "O(1) when adding a new entry, O(N) when trimming where N being the "
     "number of entries evicted.",
     0, "nondeterministic_output", NULL, NULL},
    {"xrange", -4, R, 1, 1, 1, cmd_xrange, NULL,
     "Return a range of elements in a stream, with IDs matching the "
     "specified IDs interval",
     "5.0.0",
     "O(N) with N being the number of elements being returned. If N is "
     "constant (e.g. always asking for the first 10 elements with COUNT), "
     "you can consider it O(1).",
     0, NULL, NULL, NULL},
    {"xrevrange", -4, R, 1, 1, 1, cmd_xrange, (void *)1,
     "Return a range of elements in a stream, with IDs matching the "
     "specified IDs interval, in reverse order (from greater to smaller IDs) "
     "compared to XRANGE",
     "5.0.0",
     "O(N) with N being the number of elements returned. If N is constant "
     "(e.g. always asking for the first 10 elements with COUNT), you can "
     "consider it O(1).",
     0, NULL, NULL, NULL},
    {"xlen", 2, R | F, 1, 1, 1, cmd_xlen, NULL,
     "Return the number of entries in a stream", "5.0.0", "O(1)", 0, NULL, NULL,
     NULL},
    {"xdel", -3, W | F, 1, 1, 1, cmd_xdel, NULL,
     "Removes the specified entries from the stream. Returns the number of "
     "items actually deleted, that may be different from the number of IDs "
     "passed in case certain IDs do not exist.",
     "5.0.0",
     "O(1) for each single item to delete in the stream, regardless "
     "of the stream size.",
     0, NULL, NULL, NULL},
    {"xtrim", -4, W, 1, 1, 1, cmd_xtrim, NULL,
     "Trims the stream to (approximately if '~' is passed) a certain size",
     "5.0.0",
     "O(N), with N being the number of evicted entries. Constant times are "
     "very small however, since entries are organized in macro nodes "
     "containing multiple entries that can be released with a single "
     "deallocation.",
     0, "nondeterministic_output", NULL, NULL},
    {"xsetid", -3, W | M | F, 1, 1, 1, cmd_xsetid, NULL,
     "An internal command for replicating stream values", "5.0.0", "O(1)", 0,
     NULL, NULL, NULL},
};

#undef W
#undef R
#undef M
#undef F

#define KS_OF(a) a, (int)DICE__COUNT(a)
static const dice__key_spec ks_xadd[] = {
    {"UPDATE instead of INSERT because of the optional trimming feature",
     DICE__KS_RW | DICE__KS_UPDATE,
     DICE__BS_INDEX,
     1,
     NULL,
     DICE__FK_RANGE,
     {0, 1, 0}}};
static const dice__key_spec ks_ro_access[] = {
    DICE__KS_RANGE(DICE__KS_RO | DICE__KS_ACCESS, 1, 0, 1, 0)};
static const dice__key_spec ks_ro[] = {DICE__KS_RANGE(DICE__KS_RO, 1, 0, 1, 0)};
static const dice__key_spec ks_rw_delete[] = {
    DICE__KS_RANGE(DICE__KS_RW | DICE__KS_DELETE, 1, 0, 1, 0)};
static const dice__key_spec ks_rw_update[] = {
    DICE__KS_RANGE(DICE__KS_RW | DICE__KS_UPDATE, 1, 0, 1, 0)};
static const dice__cmd_keyspecs stream_keyspecs[] = {
    {"xadd", KS_OF(ks_xadd)},           {"xrange", KS_OF(ks_ro_access)},
    {"xrevrange", KS_OF(ks_ro_access)}, {"xlen", KS_OF(ks_ro)},
    {"xdel", KS_OF(ks_rw_delete)},      {"xtrim", KS_OF(ks_rw_delete)},
    {"xsetid", KS_OF(ks_rw_update)},
};
#undef KS_OF

int dice__builtin_streams(dice_server_t *srv) {
    dice_keyspace_t *ks = srv->keyspace;
    int rc = dice_keyspace_register_type(ks, DICE_TYPE_STREAM,
                                         &dice__stream_methods, ks);
    if (rc < 0)
        return rc;
    if ((rc = dice__command_register(srv, NULL, "stream", stream_cmds,
                                     DICE__COUNT(stream_cmds))) < 0)
        return rc;
    if ((rc = dice__command_set_keyspecs(srv, stream_keyspecs,
                                         DICE__COUNT(stream_keyspecs))) < 0)
        return rc;
    return dice__builtin_stream_groups(srv);
}
