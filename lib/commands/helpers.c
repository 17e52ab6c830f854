/* Small helpers shared by the command families: case-insensitive and
 * option compares, integer parsing, error and help replies, formatted
 * appends. */
#include "commands/commands_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool dice__eqci(const char *a, size_t alen, const char *lit) {
    size_t i = 0;
    for (; i < alen; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)lit[i];
        if (!y)
            return false;
        if (x >= 'A' && x <= 'Z')
            x |= 0x20;
        if (y >= 'A' && y <= 'Z')
            y |= 0x20;
        if (x != y)
            return false;
    }
    return lit[i] == '\0';
}

/* An option as Redis's strcasecmp sees it: the argument up to its first
 * NUL byte, compared case-insensitively with lit ("nx\0junk" is NX). The
 * quirk is kept so the same bytes get the same reply as from Redis. */
bool dice__opt_is(const char *arg, size_t len, const char *lit) {
    return dice__eqci(arg, strnlen(arg, len), lit);
}

static const struct {
    const char *text;
    size_t len;
} errtexts[] = {
#define ERRTEXT_ENTRY(name, text) [DICE__ERR_##name] = {text, sizeof(text) - 1},
    DICE__ERRTEXT_MAP(ERRTEXT_ENTRY)
#undef ERRTEXT_ENTRY
};

const char *dice__errtext_str(dice__errtext e) {
    return errtexts[e].text;
}

int dice__reply_err(dice_client_t *c, dice__errtext e) {
    return dice_reply_error(c, errtexts[e].text, errtexts[e].len);
}

int dice__reply_dberr(dice_client_t *c, int rc) {
    if (rc == DICE_EWRONGTYPE)
        return dice__reply_err(c, DICE__ERR_WRONGTYPE);
    if (rc == DICE_ENOMEM)
        return dice__reply_err(c, DICE__ERR_NOMEM);
    return dice__reply_errorf(c, "ERR %s", dice_strerror(rc));
}

int dice__reply_errstr(dice_client_t *c, const char *msg) {
    return dice_reply_error(c, msg, strlen(msg));
}

void dice__reply_help(dice_client_t *c, const char *const *lines, size_t n) {
    dice_reply_array(c, n);
    for (size_t i = 0; i < n; i++)
        dice_reply_simple(c, lines[i], strlen(lines[i]));
}

int dice__parse_ll_or_reply(dice_client_t *c, const char *s, size_t n,
                            long long *out) {
    if (dice__str2ll(s, n, out))
        return 0;
    dice__reply_err(c, DICE__ERR_NOT_INT);
    return -1;
}

int dice__parse_double_or_reply(dice_client_t *c, const char *s, size_t n,
                                double *out) {
    if (dice__str2d(s, n, out))
        return 0;
    dice__reply_err(c, DICE__ERR_NOT_FLOAT);
    return -1;
}

/* Redis parses the SCAN cursor with strtoul() and accepts what it accepts,
 * except a leading space: an optional sign ("-1" wraps to 2^64-1), leading
 * zeros, and an empty string (cursor 0). Parsing stops at a NUL byte. The
 * value must fit 64 bits. Returns 0 or -1. */
int dice__parse_cursor(const char *s, size_t len, uint64_t *out) {
    len = strnlen(s, len);
    size_t i = 0;
    bool neg = false;
    if (len > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == len) {
        /* No digits: strtoul leaves its end pointer at the start, which
         * Redis accepts only for the empty string. */
        *out = 0;
        return len == 0 ? 0 : -1;
    }
    uint64_t v = 0;
    for (; i < len; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9)
            return -1;
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = neg ? 0 - v : v;
    return 0;
}

int64_t dice__cmd_now(dice_client_t *c) {
    return dice_keyspace_now(c->srv->keyspace);
}

int dice__parse_expire_or_reply(dice_client_t *c, const char *s, size_t n,
                                unsigned how, const char *cmdname,
                                int64_t *at) {
    long long v;
    if (dice__parse_ll_or_reply(c, s, n, &v) < 0)
        return -1;
    if ((how & DICE__EXPIRE_POSITIVE) && v <= 0)
        goto bad;
    if (how & DICE__EXPIRE_SECONDS) {
        if (v > LLONG_MAX / 1000 || v < LLONG_MIN / 1000)
            goto bad;
        v *= 1000;
    }
    if (how & DICE__EXPIRE_RELATIVE) {
        int64_t now = dice__cmd_now(c);
        if (v > LLONG_MAX - now)
            goto bad;
        v += now;
    }
    *at = v;
    return 0;
bad:
    dice__reply_errorf(c, "ERR invalid expire time in '%s' command", cmdname);
    return -1;
}

/* Most rewritten forms are a name, a key, maybe a value, then an option
 * word and/or a time: build the vector from the parts that are there. */
static void propagate_parts(dice_client_t *c, const char *cmd, const char *key,
                            size_t klen, const char *val, size_t vlen,
                            const char *opt, const int64_t *t) {
    if (!dice__propagating(c))
        return;
    char num[DICE_FMT_LL_MAX];
    const char *argv[5] = {cmd, key};
    size_t len[5] = {strlen(cmd), klen};
    int argc = 2;
    if (val) {
        argv[argc] = val;
        len[argc++] = vlen;
    }
    if (opt) {
        argv[argc] = opt;
        len[argc++] = strlen(opt);
    }
    if (t) {
        argv[argc] = num;
        len[argc++] = dice__fmt_ll(num, *t);
    }
    dice_client_propagate(c, argc, argv, len);
}

void dice__propagate_key(dice_client_t *c, const char *cmd, const char *key,
                         size_t klen) {
    propagate_parts(c, cmd, key, klen, NULL, 0, NULL, NULL);
}

void dice__propagate_pexpireat(dice_client_t *c, const char *key, size_t klen,
                               int64_t at) {
    propagate_parts(c, "PEXPIREAT", key, klen, NULL, 0, NULL, &at);
}

void dice__propagate_set(dice_client_t *c, const char *key, size_t klen,
                         const char *val, size_t vlen, const int64_t *pxat) {
    propagate_parts(c, "SET", key, klen, val, vlen, pxat ? "PXAT" : "KEEPTTL",
                    pxat);
}

/* ---- collection plumbing ------------------------------------------------- */

int dice__obj_lookup(dice_client_t *c, const char *key, size_t klen, int type,
                     void **obj) {
    int rc = dice_db_get_object(dice__cmd_db(c), key, klen, type, obj);
    if (rc == 0)
        return 1;
    if (rc == DICE_ENOENT)
        return 0;
    dice__reply_err(c, DICE__ERR_WRONGTYPE);
    return -1;
}

int dice__obj_lookup_read(dice_client_t *c, const char *key, size_t klen,
                          int type, void **obj) {
    int rc = dice__obj_lookup(c, key, klen, type, obj);
    if (rc == 0)
        dice__cmd_keymiss(c, key, klen);
    return rc;
}

int dice__obj_lookup_create(dice_client_t *c, const char *key, size_t klen,
                            int type, void *(*create)(void *arg), void *arg,
                            void **obj, int *created) {
    *created = 0;
    int rc = dice__obj_lookup(c, key, klen, type, obj);
    if (rc != 0)
        return rc > 0 ? 0 : -1;
    void *o = create(arg);
    if (!o ||
        dice_db_set_object(dice__cmd_db(c), key, klen, type, o, 0, 0) < 0) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return -1;
    }
    *obj = o;
    *created = 1;
    return 0;
}

int dice__obj_written(dice_client_t *c, const char *key, size_t klen,
                      size_t len) {
    dice_db_t *db = dice__cmd_db(c);
    if (len == 0) {
        dice_db_delete(db, key, klen);
        dice__cmd_notify(c, DICE__NOTIFY_GENERIC, "del", key, klen);
        return 1;
    }
    dice_db_signal_modify(db, key, klen);
    return 0;
}

int dice__parse_cursor_or_reply(dice_client_t *c, const char *s, size_t len,
                                uint64_t *out) {
    if (dice__parse_cursor(s, len, out) == 0)
        return 0;
    dice__reply_errstr(c, "ERR invalid cursor");
    return -1;
}

int dice__parse_scan_opts(dice_client_t *c, int argc, const char *const *argv,
                          const size_t *argvlen, int from, bool allow_type,
                          dice__scan_opts *o) {
    *o = (dice__scan_opts){.count = 10};
    for (int i = from; i < argc; i += 2) {
        if (i + 1 >= argc)
            return dice__reply_err(c, DICE__ERR_SYNTAX), -1;
        const char *v = argv[i + 1];
        size_t vl = argvlen[i + 1];
        if (dice__opt_is(argv[i], argvlen[i], "count")) {
            if (dice__parse_ll_or_reply(c, v, vl, &o->count) < 0)
                return -1;
            if (o->count < 1)
                return dice__reply_err(c, DICE__ERR_SYNTAX), -1;
        } else if (dice__opt_is(argv[i], argvlen[i], "match")) {
            /* "*" matches everything: skip the matching. */
            bool all = vl == 1 && v[0] == '*';
            o->pat = all ? NULL : v;
            o->plen = all ? 0 : vl;
        } else if (allow_type && dice__opt_is(argv[i], argvlen[i], "type")) {
            o->type = v;
            o->tlen = vl;
        } else {
            return dice__reply_err(c, DICE__ERR_SYNTAX), -1;
        }
    }
    return 0;
}

void dice__reply_scan_cursor(dice_client_t *c, uint64_t next) {
    char buf[DICE_FMT_LL_MAX];
    dice_reply_array(c, 2);
    dice_reply_bulk(c, buf, dice__fmt_ull(buf, next));
}

void dice__reply_empty_scan(dice_client_t *c) {
    dice__reply_scan_cursor(c, 0);
    dice_reply_array(c, 0);
}
