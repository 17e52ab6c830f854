/* The generic key commands of the built-in keyspace family: DEL, UNLINK,
 * EXISTS, TYPE, KEYS, SCAN, RANDOMKEY, RENAME(NX), COPY, TOUCH, DBSIZE,
 * OBJECT, the EXPIRE/TTL family, PERSIST, FLUSHDB, FLUSHALL, SWAPDB and
 * MOVE, answering byte for byte like redis-server 7.0.
 *
 * Argument checks run in the order Redis runs them, because when several
 * arguments are wrong the first check that fails decides the error text a
 * client sees. Options are compared the way Redis compares them, with
 * strcasecmp on the C string, so an option matches up to its first NUL
 * byte ("COUNT\0x" is COUNT).
 *
 * Access clock: Redis's lookups touch a key's LRU/LFU clock except where
 * the command asks not to (EXISTS, TYPE, TTL, OBJECT). The dice_db_*
 * generic operations never touch, so the handlers of commands that touch in
 * Redis (EXPIRE, PERSIST, RENAME, COPY, MOVE, TOUCH) call dice_db_touch()
 * first, keeping OBJECT IDLETIME / FREQ in step with Redis. */
#include "commands/commands_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Redis's getIntFromObjectOrReply(): a strict long long that must fit an
 * int. With msg NULL the two failures have distinct texts (including
 * Redis's "value must between" wording); otherwise msg covers both.
 * Returns 0, or -1 after replying. */
static int parse_int_or_reply(dice_client_t *c, const char *s, size_t len,
                              int *out, const char *msg) {
    long long v;
    if (!dice__str2ll(s, len, &v)) {
        dice__reply_errstr(c, msg ? msg : dice__errtext_str(DICE__ERR_NOT_INT));
        return -1;
    }
    if (v < INT_MIN || v > INT_MAX) {
        if (msg)
            dice__reply_errstr(c, msg);
        else
            dice__reply_errorf(c,
                               "ERR value is out of range, value must between "
                               "%d and %d",
                               INT_MIN, INT_MAX);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* Database by index for COPY/MOVE, or NULL after replying "DB index is
 * out of range". */
static dice_db_t *db_or_reply(dice_client_t *c, int index) {
    dice_db_t *db = NULL;
    if (index >= 0 && index < dice_keyspace_ndbs(c->srv->keyspace))
        db = dice_keyspace_db(c->srv->keyspace, index);
    if (!db)
        dice__reply_err(c, DICE__ERR_DB_RANGE);
    return db;
}

/* Redis's type names, as TYPE prints them and SCAN TYPE matches them. */
static const char *type_name(int type) {
    static const char *const names[DICE_TYPE_COUNT] = {
#define TYPE_NAME(name, value, text) [value] = text,
        DICE_TYPE_MAP(TYPE_NAME)
#undef TYPE_NAME
    };
    return type >= 0 && type < DICE_TYPE_COUNT && names[type] ? names[type]
                                                              : "unknown";
}

/* ---- DEL UNLINK EXISTS TOUCH TYPE -------------------------------------- */

/* The reply of DEL, EXISTS and TOUCH: how many of the named keys fn
 * counted (a key named twice counts twice, as in Redis). */
static void count_keys(dice_client_t *c, int argc, const char *const *argv,
                       const size_t *argvlen,
                       int (*fn)(dice_db_t *, const char *, size_t)) {
    dice_db_t *db = dice__cmd_db(c);
    long long n = 0;
    for (int i = 1; i < argc; i++)
        n += fn(db, argv[i], argvlen[i]);
    dice_reply_int(c, n);
}

/* Keyspace events of this family (see lib/commands/commands_internal.h). */
#define GENERIC_EVENT(c, event, key, klen)                                     \
    dice__cmd_notify(c, DICE__NOTIFY_GENERIC, event, key, klen)

/* DEL and UNLINK: UNLINK always frees big values (a collection of more
 * than 64 elements) on the lazy-free thread, DEL when
 * lazyfree-lazy-user-del says so; strings and small values are freed at
 * once either way. */
static void del_generic(dice_client_t *c, int argc, const char *const *argv,
                        const size_t *argvlen, bool lazy) {
    dice_db_t *db = dice__cmd_db(c);
    unsigned saved = dice__lazyfree_begin(c->srv, DICE__FREE_DEL, lazy);
    long long n = 0;
    for (int i = 1; i < argc; i++) {
        if (dice_db_delete(db, argv[i], argvlen[i])) {
            GENERIC_EVENT(c, "del", argv[i], argvlen[i]);
            n++;
        }
    }
    dice__lazyfree_end(c->srv, saved);
    dice_reply_int(c, n);
}

/* DEL <key> [<key> ...] */
static DICE__CMD_FN(cmd_del) {
    del_generic(c, argc, argv, argvlen, c->srv->cfg.lazy_user_del != 0);
}

/* UNLINK <key> [<key> ...] */
static DICE__CMD_FN(cmd_unlink) {
    del_generic(c, argc, argv, argvlen, true);
}

/* EXISTS and TOUCH look keys up for reading: a missing one is a keymiss
 * event (Redis's lookupKeyRead). */
static void count_read(dice_client_t *c, int argc, const char *const *argv,
                       const size_t *argvlen,
                       int (*fn)(dice_db_t *, const char *, size_t)) {
    if (!(c->srv->cfg.notify_flags & DICE__NOTIFY_KEY_MISS)) {
        count_keys(c, argc, argv, argvlen, fn);
        return;
    }
    dice_db_t *db = dice__cmd_db(c);
    long long n = 0;
    for (int i = 1; i < argc; i++) {
        int found = fn(db, argv[i], argvlen[i]);
        if (!found)
            dice__cmd_keymiss(c, argv[i], argvlen[i]);
        n += found;
    }
    dice_reply_int(c, n);
}

static DICE__CMD_FN(cmd_exists) {
    count_read(c, argc, argv, argvlen, dice_db_exists);
}

static DICE__CMD_FN(cmd_touch) {
    count_read(c, argc, argv, argvlen, dice_db_touch);
}

static DICE__CMD_FN(cmd_type) {
    int t = dice_db_type(dice__cmd_db(c), argv[1], argvlen[1]);
    if (t < 0)
        dice__cmd_keymiss(c, argv[1], argvlen[1]);
    const char *name = t < 0 ? "none" : type_name(t);
    dice_reply_simple(c, name, strlen(name));
}

/* ---- KEYS SCAN RANDOMKEY DBSIZE ---------------------------------------- */

/* Keys gathered before the reply header can be written (its length comes
 * first). The pointers stay valid: nothing modifies the db until the reply
 * is written. */
typedef struct keylist {
    const char **key;
    size_t *len;
    size_t n, cap;
    bool oom;
} keylist;

static void keylist_add(void *ctx, const char *key, size_t klen) {
    keylist *l = ctx;
    if (l->oom)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        const char **k = realloc(l->key, cap * sizeof(*k));
        if (k)
            l->key = k;
        size_t *n = k ? realloc(l->len, cap * sizeof(*n)) : NULL;
        if (!n) {
            l->oom = true;
            return;
        }
        l->len = n;
        l->cap = cap;
    }
    l->key[l->n] = key;
    l->len[l->n++] = klen;
}

static void keylist_reply(dice_client_t *c, keylist *l) {
    dice_reply_array(c, l->n);
    for (size_t i = 0; i < l->n; i++)
        dice_reply_bulk(c, l->key[i], l->len[i]);
}

static void keylist_free(keylist *l) {
    free(l->key);
    free(l->len);
}

static DICE__CMD_FN(cmd_keys) {
    keylist l = {0};
    dice_db_keys(dice__cmd_db(c), argv[1], argvlen[1], keylist_add, &l);
    if (l.oom)
        dice__reply_err(c, DICE__ERR_NOMEM);
    else
        keylist_reply(c, &l);
    keylist_free(&l);
}

static DICE__CMD_FN(cmd_scan) {
    uint64_t cursor;
    dice__scan_opts o;
    if (dice__parse_cursor_or_reply(c, argv[1], argvlen[1], &cursor) < 0 ||
        dice__parse_scan_opts(c, argc, argv, argvlen, 2, true, &o) < 0)
        return;
    const char *tname = o.type, *pat = o.pat;
    size_t tlen = o.tlen, plen = o.plen;
    long long count = o.count;
    /* An unknown type name matches no key, as in Redis; the keyspace has
     * at most DICE_TYPE_COUNT types, so that index never matches. */
    int type = -1;
    if (tname) {
        type = DICE_TYPE_COUNT;
        for (int t = 0; t < DICE_TYPE_COUNT; t++) {
            if (dice__opt_is(tname, tlen, type_name(t))) {
                type = t;
                break;
            }
        }
    }
    keylist l = {0};
    uint64_t next = 0;
    dice_db_scan(dice__cmd_db(c), cursor, (size_t)count, pat, plen, type,
                 keylist_add, &l, &next);
    if (l.oom) {
        dice__reply_err(c, DICE__ERR_NOMEM);
    } else {
        dice__reply_scan_cursor(c, next);
        keylist_reply(c, &l);
    }
    keylist_free(&l);
}

static DICE__CMD_FN(cmd_randomkey) {
    const char *k;
    size_t kl;
    if (dice_db_random_key(dice__cmd_db(c), &k, &kl) < 0)
        dice_reply_null(c);
    else
        dice_reply_bulk(c, k, kl);
}

static DICE__CMD_FN(cmd_dbsize) {
    dice_reply_int(c, (long long)dice_db_size(dice__cmd_db(c)));
}

/* ---- RENAME RENAMENX COPY MOVE ----------------------------------------- */

static void rename_generic(dice_client_t *c, const char *const *argv,
                           const size_t *argvlen, int nx) {
    dice_db_t *db = dice__cmd_db(c);
    /* Redis looks the source up for writing, which touches it; the value
     * keeps its clock across the rename. */
    dice_db_touch(db, argv[1], argvlen[1]);
    int rc = dice_db_rename(db, argv[1], argvlen[1], argv[2], argvlen[2], nx);
    bool same =
        argvlen[1] == argvlen[2] && memcmp(argv[1], argv[2], argvlen[1]) == 0;
    if (rc == 0 && !same) {
        GENERIC_EVENT(c, "rename_from", argv[1], argvlen[1]);
        GENERIC_EVENT(c, "rename_to", argv[2], argvlen[2]);
    }
    if (rc == DICE_ENOENT)
        dice__reply_err(c, DICE__ERR_NO_SUCH_KEY);
    else if (rc == DICE_EEXIST)
        dice_reply_int(c, 0);
    else if (rc < 0)
        dice__reply_err(c, DICE__ERR_NOMEM);
    else if (nx)
        dice_reply_int(c, 1);
    else
        dice_reply_ok(c);
}

static DICE__CMD_FN(cmd_rename) {
    rename_generic(c, argv, argvlen, 0);
}

static DICE__CMD_FN(cmd_renamenx) {
    rename_generic(c, argv, argvlen, 1);
}

/* COPY source destination [DB destination-db] [REPLACE]: options are
 * checked left to right, each failing on its own error. */
static DICE__CMD_FN(cmd_copy) {
    dice_db_t *src = dice__cmd_db(c), *dst = src;
    int replace = 0;
    for (int i = 3; i < argc; i++) {
        if (dice__opt_is(argv[i], argvlen[i], "replace")) {
            replace = 1;
        } else if (dice__opt_is(argv[i], argvlen[i], "db") && i + 1 < argc) {
            int index;
            if (parse_int_or_reply(c, argv[i + 1], argvlen[i + 1], &index,
                                   NULL) < 0)
                return;
            if (!(dst = db_or_reply(c, index)))
                return;
            i++;
        } else {
            dice__reply_err(c, DICE__ERR_SYNTAX);
            return;
        }
    }
    if (src == dst && argvlen[1] == argvlen[2] &&
        memcmp(argv[1], argv[2], argvlen[1]) == 0) {
        dice__reply_err(c, DICE__ERR_SAME_OBJECT);
        return;
    }
    dice_db_touch(src, argv[1], argvlen[1]);
    int rc = dice_db_copy(src, argv[1], argvlen[1], dst, argv[2], argvlen[2],
                          replace);
    if (rc == 0) {
        dice__notify(c->srv, DICE__NOTIFY_GENERIC, "copy_to", argv[2],
                     argvlen[2], dice_db_index(dst));
        dice_reply_int(c, 1);
    } else if (rc == DICE_ENOENT || rc == DICE_EEXIST)
        dice_reply_int(c, 0);
    else if (rc == DICE_EINVAL)
        dice__reply_errstr(c, "ERR this value type cannot be copied");
    else
        dice__reply_err(c, DICE__ERR_NOMEM);
}

static DICE__CMD_FN(cmd_move) {
    dice_db_t *src = dice__cmd_db(c), *dst;
    int index;
    if (parse_int_or_reply(c, argv[2], argvlen[2], &index, NULL) < 0)
        return;
    if (!(dst = db_or_reply(c, index)))
        return;
    if (src == dst) {
        dice__reply_err(c, DICE__ERR_SAME_OBJECT);
        return;
    }
    dice_db_touch(src, argv[1], argvlen[1]);
    int rc = dice_db_move(src, argv[1], argvlen[1], dst);
    if (rc == 0) {
        GENERIC_EVENT(c, "move_from", argv[1], argvlen[1]);
        dice__notify(c->srv, DICE__NOTIFY_GENERIC, "move_to", argv[1],
                     argvlen[1], index);
    }
    dice_reply_int(c, rc == 0 ? 1 : 0);
}

/* ---- OBJECT ------------------------------------------------------------ */

static DICE__CMD_FN(cmd_object_encoding) {
    const char *enc;
    if (dice_db_object_encoding(dice__cmd_db(c), argv[2], argvlen[2], &enc) < 0)
        dice_reply_null(c);
    else
        dice_reply_cstr(c, enc);
}

/* Redis shares one object for each integer 0..9999 and reports its
 * refcount as INT_MAX; every other value it reports as 1 (values are never
 * shared between keys). We answer the same by looking at the value: an
 * int-encoded string in that range gets INT_MAX. Two differences remain:
 * the read touches the key's access clock and counts a keyspace hit
 * (dice/db.h has no read that does not), and a small integer written by
 * COPY answers INT_MAX where Redis, which copied the shared object into a
 * private one, answers 1. */
static DICE__CMD_FN(cmd_object_refcount) {
    dice_db_t *db = dice__cmd_db(c);
    const char *enc;
    if (dice_db_object_encoding(db, argv[2], argvlen[2], &enc) < 0) {
        dice_reply_null(c);
        return;
    }
    long long refs = 1;
    if (strcmp(enc, "int") == 0) {
        char numbuf[DICE_DB_NUMBUF];
        const char *v;
        size_t vlen;
        long long n;
        if (dice_db_get(db, argv[2], argvlen[2], numbuf, &v, &vlen) == 0 &&
            dice__str2ll(v, vlen, &n) && n >= 0 && n < 10000)
            refs = INT_MAX;
    }
    dice_reply_int(c, refs);
}

/* The key is looked up before the policy is checked, so a missing key is
 * nil in either mode. */
static DICE__CMD_FN(cmd_object_idletime) {
    dice_db_t *db = dice__cmd_db(c);
    int64_t secs;
    if (dice_db_object_idletime(db, argv[2], argvlen[2], &secs) < 0) {
        dice_reply_null(c);
        return;
    }
    if (dice_keyspace_lfu(c->srv->keyspace)) {
        dice__reply_errstr(
            c, "ERR An LFU maxmemory policy is selected, idle time not "
               "tracked. Please note that when switching between "
               "policies at runtime LRU and LFU data will take some "
               "time to adjust.");
        return;
    }
    dice_reply_int(c, secs);
}

static DICE__CMD_FN(cmd_object_freq) {
    dice_db_t *db = dice__cmd_db(c);
    int freq;
    if (dice_db_object_freq(db, argv[2], argvlen[2], &freq) < 0) {
        dice_reply_null(c);
        return;
    }
    if (!dice_keyspace_lfu(c->srv->keyspace)) {
        dice__reply_errstr(
            c, "ERR An LFU maxmemory policy is not selected, access "
               "frequency not tracked. Please note that when switching "
               "between policies at runtime LRU and LFU data will take "
               "some time to adjust.");
        return;
    }
    dice_reply_int(c, freq);
}

static DICE__CMD_FN(cmd_object_help) {
    static const char *const lines[] = {
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to "
        "store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned "
        "integer is",
        "    proportional to the logarithm of the recent access frequency of "
        "the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated "
        "number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with "
        "the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    };
    size_t n = sizeof(lines) / sizeof(lines[0]);
    dice_reply_array(c, n);
    for (size_t i = 0; i < n; i++)
        dice_reply_simple(c, lines[i], strlen(lines[i]));
}

/* ---- expiry ------------------------------------------------------------ */

/* The command name as Redis writes it in "invalid expire time in '%s'
 * command": the registered (lower-case) name, not the client's spelling. */
typedef struct expire_kind {
    const char *name;
    int seconds;  /* the argument is in seconds, else milliseconds */
    int relative; /* the argument adds to the current time */
} expire_kind;

static const expire_kind EXPIRE_KIND[4] = {
    {"expire", 1, 1},
    {"pexpire", 0, 1},
    {"expireat", 1, 0},
    {"pexpireat", 0, 0},
};

/* "Unsupported option X" quotes the option up to its first NUL byte and
 * may be longer than dice__reply_errorf's buffer. */
static void reply_unsupported(dice_client_t *c, const char *opt, size_t len) {
    static const char pre[] = "ERR Unsupported option ";
    len = strnlen(opt, len);
    char *msg = malloc(sizeof(pre) + len);
    if (!msg) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    memcpy(msg, pre, sizeof(pre) - 1);
    memcpy(msg + sizeof(pre) - 1, opt, len);
    dice_reply_error(c, msg, sizeof(pre) - 1 + len);
    free(msg);
}

static void expire_generic(dice_client_t *c, int argc, const char *const *argv,
                           const size_t *argvlen, const expire_kind *k) {
    /* Options first: Redis rejects them before it reads the time. */
    unsigned cond = 0;
    for (int i = 3; i < argc; i++) {
        if (dice__opt_is(argv[i], argvlen[i], "nx"))
            cond |= DICE_EXPIRE_NX;
        else if (dice__opt_is(argv[i], argvlen[i], "xx"))
            cond |= DICE_EXPIRE_XX;
        else if (dice__opt_is(argv[i], argvlen[i], "gt"))
            cond |= DICE_EXPIRE_GT;
        else if (dice__opt_is(argv[i], argvlen[i], "lt"))
            cond |= DICE_EXPIRE_LT;
        else {
            reply_unsupported(c, argv[i], argvlen[i]);
            return;
        }
    }
    if ((cond & DICE_EXPIRE_NX) &&
        (cond & (DICE_EXPIRE_XX | DICE_EXPIRE_GT | DICE_EXPIRE_LT))) {
        dice__reply_errstr(
            c, "ERR NX and XX, GT or LT options at the same time are "
               "not compatible");
        return;
    }
    if ((cond & DICE_EXPIRE_GT) && (cond & DICE_EXPIRE_LT)) {
        dice__reply_errstr(c, "ERR GT and LT options at the same time are not "
                              "compatible");
        return;
    }
    /* Negative times are allowed (they delete the key); only overflow of
     * the unit conversion or of adding the base time is refused. */
    int64_t when;
    unsigned how = (k->seconds ? DICE__EXPIRE_SECONDS : 0) |
                   (k->relative ? DICE__EXPIRE_RELATIVE : 0);
    if (dice__parse_expire_or_reply(c, argv[2], argvlen[2], how, k->name,
                                    &when) < 0)
        return;
    dice_db_t *db = dice__cmd_db(c);
    if (!dice_db_touch(db, argv[1], argvlen[1])) {
        dice_reply_int(c, 0);
        return;
    }
    int rc = dice_db_set_expire(db, argv[1], argvlen[1], when, cond);
    /* Logged as an absolute time, or as the DEL a past time amounts to. */
    if (rc == 1 && when <= dice__cmd_now(c)) {
        GENERIC_EVENT(c, "del", argv[1], argvlen[1]);
        dice__propagate_key(c, "DEL", argv[1], argvlen[1]);
    } else if (rc == 1) {
        GENERIC_EVENT(c, "expire", argv[1], argvlen[1]);
        dice__propagate_pexpireat(c, argv[1], argvlen[1], when);
    }
    if (rc == DICE_ENOENT)
        dice_reply_int(c, 0);
    else if (rc < 0)
        dice__reply_err(c, DICE__ERR_NOMEM);
    else
        dice_reply_int(c, rc);
}

static DICE__CMD_FN(cmd_expire) {
    expire_generic(c, argc, argv, argvlen, arg);
}

/* TTL family: -2 for a missing key, -1 without TTL, else the remaining
 * (or, for *EXPIRETIME, absolute) time; seconds are rounded to nearest. */
typedef struct ttl_kind {
    int ms;
    int absolute;
} ttl_kind;

static const ttl_kind TTL_KIND[4] = {{0, 0}, {1, 0}, {0, 1}, {1, 1}};

static DICE__CMD_FN(cmd_ttl) {
    const ttl_kind *k = arg;
    dice_db_t *db = dice__cmd_db(c);
    int64_t at;
    if (dice_db_get_expire(db, argv[1], argvlen[1], &at) < 0) {
        dice__cmd_keymiss(c, argv[1], argvlen[1]);
        dice_reply_int(c, -2);
        return;
    }
    if (at < 0) {
        dice_reply_int(c, -1);
        return;
    }
    int64_t t = k->absolute ? at : at - dice__cmd_now(c);
    if (t < 0)
        t = 0;
    /* (t + 500) / 1000 without overflowing when t is near INT64_MAX (a
     * PEXPIREAT of LLONG_MAX); Redis answers the exact rounded value. */
    if (!k->ms)
        t = t / 1000 + (t % 1000 + 500) / 1000;
    dice_reply_int(c, t);
}

static DICE__CMD_FN(cmd_persist) {
    dice_db_t *db = dice__cmd_db(c);
    dice_db_touch(db, argv[1], argvlen[1]);
    int rc = dice_db_persist(db, argv[1], argvlen[1]);
    if (rc > 0)
        GENERIC_EVENT(c, "persist", argv[1], argvlen[1]);
    if (rc < 0)
        dice__reply_err(c, DICE__ERR_NOMEM);
    else
        dice_reply_int(c, rc);
}

/* ---- FLUSHDB FLUSHALL SWAPDB ------------------------------------------- */

/* [ASYNC|SYNC]: both empty the db before replying; with ASYNC (or
 * neither, and lazyfree-lazy-user-flush) big values are freed on the
 * lazy-free thread, the keys' entries and strings at once. *lazy gets
 * which. Returns 0 or -1 after replying with a syntax error. */
static int flush_mode(dice_client_t *c, int argc, const char *const *argv,
                      const size_t *argvlen, bool *lazy) {
    *lazy = c->srv->cfg.lazy_user_flush != 0;
    if (argc == 1)
        return 0;
    if (argc == 2 && dice__opt_is(argv[1], argvlen[1], "sync")) {
        *lazy = false;
        return 0;
    }
    if (argc == 2 && dice__opt_is(argv[1], argvlen[1], "async")) {
        *lazy = true;
        return 0;
    }
    dice__reply_err(c, DICE__ERR_SYNTAX);
    return -1;
}

/* FLUSHDB [ASYNC|SYNC] */
static DICE__CMD_FN(cmd_flushdb) {
    bool lazy;
    if (flush_mode(c, argc, argv, argvlen, &lazy) < 0)
        return;
    dice__tracking_flush(c->srv); /* Redis's signalFlushedDb */
    unsigned saved = dice__lazyfree_begin(c->srv, DICE__FREE_FLUSH, lazy);
    dice_db_flush(dice__cmd_db(c));
    dice__lazyfree_end(c->srv, saved);
    dice__propagate_force(c); /* even when empty, as Redis 7.0 */
    dice_reply_ok(c);
}

/* FLUSHALL [ASYNC|SYNC] */
static DICE__CMD_FN(cmd_flushall) {
    bool lazy;
    if (flush_mode(c, argc, argv, argvlen, &lazy) < 0)
        return;
    dice__cmd_db(c); /* sets the keyspace's clock */
    dice__tracking_flush(c->srv);
    unsigned saved = dice__lazyfree_begin(c->srv, DICE__FREE_FLUSH, lazy);
    dice_keyspace_flushall(c->srv->keyspace);
    dice__lazyfree_end(c->srv, saved);
    /* With save points, the empty dataset is saved at once (and a BGSAVE
     * running would write the old one): Redis's flushAllDataAndResetRDB. */
    if (c->srv->rdb.npoints) {
        dice__rdb_kill_child(c->srv);
        dice__rdb_save(c->srv, NULL);
    }
    dice__propagate_force(c);
    dice_reply_ok(c);
}

static DICE__CMD_FN(cmd_swapdb) {
    int a, b;
    if (parse_int_or_reply(c, argv[1], argvlen[1], &a,
                           "ERR invalid first DB index") < 0)
        return;
    if (parse_int_or_reply(c, argv[2], argvlen[2], &b,
                           "ERR invalid second DB index") < 0)
        return;
    dice__cmd_db(c);
    if (dice_keyspace_swapdb(c->srv->keyspace, a, b) < 0) {
        dice__reply_err(c, DICE__ERR_DB_RANGE);
        return;
    }
    dice_reply_ok(c);
}

/* ---- registration ------------------------------------------------------ */

enum {
    W = DICE_CMD_WRITE,
    R = DICE_CMD_READONLY,
    F = DICE_CMD_FAST,
    M = DICE_CMD_DENYOOM
};

#define GEN "generic"
#define SRV "server"
#define O1 "O(1)"
#define MULTI "request_policy:multi_shard response_policy:agg_sum"
#define ALL_OK "request_policy:all_shards response_policy:all_succeeded"
#define NONDET "nondeterministic_output"
#define KS DICE_ACL_KEYSPACE
#define DANGER DICE_ACL_DANGEROUS

/* Arity, flags, key positions, groups, versions, ACL categories and tips
 * as COMMAND INFO / DOCS show them in Redis 7.0 (the server group's
 * commands name @keyspace explicitly, as Redis lists it for them). */
static const dice__cmd_desc KEY_CMDS[] = {
    {"del", -2, W, 1, -1, 1, cmd_del, NULL, "Delete keys", "1.0.0",
     "O(N) in the number of keys, plus the size of non-string values", 0, MULTI,
     GEN, NULL},
    {"unlink", -2, W | F, 1, -1, 1, cmd_unlink, NULL,
     "Delete keys (the value is freed at once here too)", "4.0.0",
     "O(1) for each key", 0, MULTI, GEN, NULL},
    {"exists", -2, R | F, 1, -1, 1, cmd_exists, NULL,
     "Count how many of the named keys exist", "1.0.0",
     "O(N) in the number of keys named", 0, MULTI, GEN, NULL},
    {"type", 2, R | F, 1, 1, 1, cmd_type, NULL, "Type of a key's value",
     "1.0.0", O1, 0, NULL, GEN, NULL},
    {"keys", 2, R, 0, 0, 0, cmd_keys, NULL,
     "Every key that matches a glob pattern", "1.0.0",
     "O(N) in the number of keys in the database", DANGER,
     "request_policy:all_shards nondeterministic_output_order", GEN, NULL},
    {"scan", -2, R, 0, 0, 0, cmd_scan, NULL,
     "Iterate over the keys with a cursor", "2.8.0",
     "O(1) per call, O(N) for a whole iteration", 0,
     NONDET " request_policy:special", GEN, NULL},
    {"randomkey", 1, R, 0, 0, 0, cmd_randomkey, NULL, "A random key", "1.0.0",
     O1, 0, "request_policy:all_shards " NONDET, GEN, NULL},
    {"rename", 3, W, 1, 2, 1, cmd_rename, NULL, "Give a key a new name",
     "1.0.0", O1, 0, NULL, GEN, NULL},
    {"renamenx", 3, W | F, 1, 2, 1, cmd_renamenx, NULL,
     "Rename a key unless the new name is taken", "1.0.0", O1, 0, NULL, GEN,
     NULL},
    {"copy", -3, W | M, 1, 2, 1, cmd_copy, NULL,
     "Copy a key's value, and TTL, to another key", "6.2.0",
     "O(1) for strings, O(N) in the elements of a collection", 0, NULL, GEN,
     NULL},
    {"touch", -2, R | F, 1, -1, 1, cmd_touch, NULL,
     "Mark keys as accessed; count the ones that exist", "3.2.1",
     "O(N) in the number of keys named", 0, MULTI, GEN, NULL},
    {"dbsize", 1, R | F, 0, 0, 0, cmd_dbsize, NULL,
     "Number of keys in the selected database", "1.0.0", O1, KS,
     "request_policy:all_shards response_policy:agg_sum", SRV, NULL},
    {"expire", -3, W | F, 1, 1, 1, cmd_expire, &EXPIRE_KIND[0],
     "Set a key's time to live in seconds", "1.0.0", O1, 0, NULL, GEN, NULL},
    {"pexpire", -3, W | F, 1, 1, 1, cmd_expire, &EXPIRE_KIND[1],
     "Set a key's time to live in milliseconds", "2.6.0", O1, 0, NULL, GEN,
     NULL},
    {"expireat", -3, W | F, 1, 1, 1, cmd_expire, &EXPIRE_KIND[2],
     "Set a key's expire time as a unix time in seconds", "1.2.0", O1, 0, NULL,
     GEN, NULL},
    {"pexpireat", -3, W | F, 1, 1, 1, cmd_expire, &EXPIRE_KIND[3],
     "Set a key's expire time as a unix time in milliseconds", "2.6.0", O1, 0,
     NULL, GEN, NULL},
    {"ttl", 2, R | F, 1, 1, 1, cmd_ttl, &TTL_KIND[0],
     "Time to live of a key in seconds", "1.0.0", O1, 0, NONDET, GEN, NULL},
    {"pttl", 2, R | F, 1, 1, 1, cmd_ttl, &TTL_KIND[1],
     "Time to live of a key in milliseconds", "2.6.0", O1, 0, NONDET, GEN,
     NULL},
    {"expiretime", 2, R | F, 1, 1, 1, cmd_ttl, &TTL_KIND[2],
     "Expire time of a key as a unix time in seconds", "7.0.0", O1, 0, NULL,
     GEN, NULL},
    {"pexpiretime", 2, R | F, 1, 1, 1, cmd_ttl, &TTL_KIND[3],
     "Expire time of a key as a unix time in milliseconds", "7.0.0", O1, 0,
     NULL, GEN, NULL},
    {"persist", 2, W | F, 1, 1, 1, cmd_persist, NULL,
     "Remove a key's time to live", "2.2.0", O1, 0, NULL, GEN, NULL},
    {"flushdb", -1, W, 0, 0, 0, cmd_flushdb, NULL,
     "Delete every key of the selected database", "1.0.0",
     "O(N) in the number of keys in the database", KS | DANGER, ALL_OK, SRV,
     NULL},
    {"flushall", -1, W, 0, 0, 0, cmd_flushall, NULL,
     "Delete every key of every database", "1.0.0",
     "O(N) in the number of keys in all databases", KS | DANGER, ALL_OK, SRV,
     NULL},
    {"swapdb", 3, W | F, 0, 0, 0, cmd_swapdb, NULL,
     "Exchange the contents of two databases", "4.0.0",
     "O(N) in the clients watching or blocked on keys of the two databases",
     KS | DANGER, NULL, SRV, NULL},
    {"move", 3, W | F, 1, 1, 1, cmd_move, NULL,
     "Move a key to another database", "1.0.0", O1, 0, NULL, GEN, NULL},
};

static const dice__cmd_desc OBJECT_SUBS[] = {
    {"encoding", 3, R, 2, 2, 1, cmd_object_encoding, NULL,
     "Internal encoding of a key's value", "2.2.3", O1, 0, NONDET, GEN, NULL},
    {"freq", 3, R, 2, 2, 1, cmd_object_freq, NULL,
     "Access frequency counter of a key (LFU mode)", "4.0.0", O1, 0, NONDET,
     GEN, NULL},
    {"idletime", 3, R, 2, 2, 1, cmd_object_idletime, NULL,
     "Seconds since a key was last accessed (LRU mode)", "2.2.3", O1, 0, NONDET,
     GEN, NULL},
    {"refcount", 3, R, 2, 2, 1, cmd_object_refcount, NULL,
     "Reference count of a key's value", "2.2.3", O1, 0, NONDET, GEN, NULL},
    {"help", 2, DICE_CMD_LOADING | DICE_CMD_STALE, 0, 0, 0, cmd_object_help,
     NULL, "Show the OBJECT sub-commands", "6.2.0", O1, 0, NULL, GEN, NULL},
};

/* OBJECT only groups its sub-commands (it has no flags in Redis). */
static const dice__cmd_desc OBJECT_CMD = {
    "object",
    -2,
    0,
    0,
    0,
    0,
    NULL,
    NULL,
    "Inspect the internals of a key's value",
    "2.2.3",
    "Depends on subcommand.",
    0,
    NULL,
    GEN,
    NULL};

#define KS_OF(a) a, (int)DICE__COUNT(a)

/* Redis 7.0's key specs, for COMMAND INFO, where they differ from the
 * one derived from first/last/step (see lib/commands/server.c). */
static const dice__key_spec ks_copy[] = {
    DICE__KS_RANGE(DICE__KS_RO | DICE__KS_ACCESS, 1, 0, 1, 0),
    DICE__KS_RANGE(DICE__KS_OW | DICE__KS_UPDATE, 2, 0, 1, 0)};
static const dice__key_spec ks_del[] = {
    DICE__KS_RANGE(DICE__KS_RM | DICE__KS_DELETE, 1, -1, 1, 0)};
static const dice__key_spec ks_exists[] = {
    DICE__KS_RANGE(DICE__KS_RO, 1, -1, 1, 0)};
static const dice__key_spec ks_rw_access_update[] = {DICE__KS_RANGE(
    DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_UPDATE, 1, 0, 1, 0)};
static const dice__key_spec ks_object_encoding[] = {
    DICE__KS_RANGE(DICE__KS_RO, 2, 0, 1, 0)};
static const dice__key_spec ks_rename[] = {
    DICE__KS_RANGE(DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_DELETE, 1, 0, 1, 0),
    DICE__KS_RANGE(DICE__KS_OW | DICE__KS_UPDATE, 2, 0, 1, 0)};
static const dice__key_spec ks_renamenx[] = {
    DICE__KS_RANGE(DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_DELETE, 1, 0, 1, 0),
    DICE__KS_RANGE(DICE__KS_OW | DICE__KS_INSERT, 2, 0, 1, 0)};
static const dice__key_spec ks_ro[] = {DICE__KS_RANGE(DICE__KS_RO, 1, 0, 1, 0)};
static const dice__cmd_keyspecs keys_keyspecs[] = {
    {"copy", KS_OF(ks_copy)},
    {"del", KS_OF(ks_del)},
    {"exists", KS_OF(ks_exists)},
    {"move", KS_OF(ks_rw_access_update)},
    {"object|encoding", KS_OF(ks_object_encoding)},
    {"object|freq", KS_OF(ks_object_encoding)},
    {"object|idletime", KS_OF(ks_object_encoding)},
    {"object|refcount", KS_OF(ks_object_encoding)},
    {"rename", KS_OF(ks_rename)},
    {"renamenx", KS_OF(ks_renamenx)},
    {"touch", KS_OF(ks_exists)},
    {"type", KS_OF(ks_ro)},
    {"unlink", KS_OF(ks_del)},
};
#undef KS_OF

int dice__builtin_keys(dice_server_t *srv) {
    int rc;
    if ((rc = dice__command_register(srv, NULL, NULL, KEY_CMDS,
                                     sizeof(KEY_CMDS) / sizeof(KEY_CMDS[0]))) <
            0 ||
        (rc = dice__command_register(srv, NULL, NULL, &OBJECT_CMD, 1)) < 0)
        return rc;
    int krc =
        dice__command_register(srv, "object", NULL, OBJECT_SUBS,
                               sizeof(OBJECT_SUBS) / sizeof(OBJECT_SUBS[0]));
    if (krc < 0)
        return krc;
    return dice__command_set_keyspecs(srv, keys_keyspecs,
                                      DICE__COUNT(keys_keyspecs));
}
