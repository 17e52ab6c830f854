/* The string type: Redis's strings on the keyspace core. A string is
 * stored in one of three forms the keyspace provides (see
 * lib/keyspace/db_internal.h): INT for a canonical integer (Redis's "int"
 * encoding), EMB inline in the entry up to 44 bytes ("embstr"), RAW in a
 * heap rawstr with spare capacity once appended to or longer ("raw").
 *
 * Two halves, as Redis's t_string.c: the String API (dice_db_get, _set,
 * _incrby, _incrbyfloat, _append, _setrange: the public C API of
 * include/dice/db.h, which the command family lib/commands/string.c calls),
 * then the type's methods (dice__string_methods: encoding names, memory,
 * AOF emission, RDB serialization, digest).
 *
 * GET and SET are the benchmark commands: dice_db_get is one inline lookup
 * and a copy of a pointer; dice_db_set encodes the value on the stack and
 * makes one call into the keyspace's write path. */
#include "types/rdb.h"
#include "types/types_internal.h"

#include "core/core_internal.h"
#include "dice/db.h"
#include "keyspace/db_internal.h"
#include "resp/resp_internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest string kept inline in the entry (Redis's embstr limit). */
#define EMB_MAX 44
/* Redis's cap on a string, whatever proto-max-bulk-len says. */
#define STR_MAX ((size_t)512 * 1024 * 1024)

/* ---- String API --------------------------------------------------------- */

int dice_db_parse_ll(const char *s, size_t len, long long *out) {
    return dice__str2ll(s, len, out);
}

static size_t ll_format(char *buf, long long v) {
    size_t n = dice__fmt_ll(buf, v);
    buf[n] = '\0'; /* DICE_DB_NUMBUF leaves room */
    return n;
}

/* String value of an entry; int values are formatted into numbuf. */
static inline void entry_str(uint8_t *e, char *numbuf, const char **p,
                             size_t *n) {
    uint8_t *v = entry_val(e);
    switch (HDR_ENC(e[0])) {
    case ENC_EMB: {
        size_t h = varint_get(v, n);
        *p = (const char *)v + h;
        break;
    }
    case ENC_INT: {
        long long iv;
        memcpy(&iv, v, 8);
        *n = ll_format(numbuf, iv);
        *p = numbuf;
        break;
    }
    default: {
        rawstr *r;
        memcpy(&r, v, sizeof(r));
        *p = r->data;
        *n = r->len;
        break;
    }
    }
}

void dice__string_text(uint8_t *e, char *numbuf, const char **p, size_t *n) {
    entry_str(e, numbuf, p, n);
}

static int is_string(const uint8_t *e) {
    return HDR_TYPE(e[0]) == DICE_TYPE_STRING;
}

int dice_db_get(dice_db_t *db, const char *key, size_t klen, char *numbuf,
                const char **val, size_t *vlen) {
    uint8_t *e =
        dice__ks_lookup(db, key, klen, NULL, NULL, LK_TOUCH | LK_STATS);
    if (!e)
        return DICE_ENOENT;
    if (!is_string(e))
        return DICE_EWRONGTYPE;
    entry_str(e, numbuf, val, vlen);
    return 0;
}

/* Value section for a string value. buf must hold 10 + EMB_MAX bytes. */
static size_t encode_str(uint8_t *buf, const char *v, size_t vlen,
                         unsigned flags, unsigned *enc, rawstr **raw) {
    long long iv;
    *raw = NULL;
    if (!(flags & DICE_SET_NOINT) && vlen <= 20 && dice__str2ll(v, vlen, &iv)) {
        *enc = ENC_INT;
        memcpy(buf, &iv, 8);
        return 8;
    }
    if (vlen <= EMB_MAX) {
        *enc = ENC_EMB;
        size_t n = varint_put(buf, vlen);
        memcpy(buf + n, v, vlen);
        return n + vlen;
    }
    rawstr *r = malloc(sizeof(rawstr) + vlen);
    if (!r)
        return 0;
    r->len = r->cap = vlen;
    memcpy(r->data, v, vlen);
    *enc = ENC_RAW;
    *raw = r;
    memcpy(buf, &r, sizeof(r));
    return 8;
}

static int set_str(dice_db_t *db, const char *key, size_t klen, const char *val,
                   size_t vlen, unsigned flags, int64_t expire_at_ms,
                   uint8_t **stored) {
    uint8_t buf[16 + EMB_MAX];
    unsigned enc;
    rawstr *raw;
    size_t vsz = encode_str(buf, val, vlen, flags, &enc, &raw);
    if (vsz == 0)
        return DICE_ENOMEM;
    int rc = dice__ks_store(db, key, klen, DICE__HDR(enc, DICE_TYPE_STRING),
                            buf, vsz, flags, expire_at_ms, stored);
    if (rc == 1) {
        rc = 0; /* stored already expired: nothing kept */
        free(raw);
    } else if (rc < 0) {
        free(raw);
    }
    return rc;
}

int dice_db_set(dice_db_t *db, const char *key, size_t klen, const char *val,
                size_t vlen, unsigned flags, int64_t expire_at_ms) {
    return set_str(db, key, klen, val, vlen, flags, expire_at_ms, NULL);
}

int dice_db_set_int(dice_db_t *db, const char *key, size_t klen, long long v,
                    unsigned flags, int64_t expire_at_ms) {
    int rc = dice__ks_store(db, key, klen, ENC_INT, &v, 8, flags, expire_at_ms,
                            NULL);
    return rc == 1 ? 0 : rc;
}

int dice_db_incrby(dice_db_t *db, const char *key, size_t klen, long long delta,
                   long long *out) {
    uint64_t h, *slot;
    uint8_t *e = dice__ks_lookup(db, key, klen, &h, &slot, LK_TOUCH);
    long long cur = 0;
    if (e) {
        if (!is_string(e))
            return DICE_EWRONGTYPE;
        if (HDR_ENC(e[0]) == ENC_INT) {
            memcpy(&cur, entry_val(e), 8);
        } else {
            const char *p;
            size_t n;
            entry_str(e, NULL, &p, &n);
            if (!dice__str2ll(p, n, &cur))
                return DICE_EINVAL;
        }
    }
    if ((delta < 0 && cur < LLONG_MIN - delta) ||
        (delta > 0 && cur > LLONG_MAX - delta))
        return DICE_ERANGE;
    long long nv = cur + delta;
    if (!e) {
        int rc = dice_db_set_int(db, key, klen, nv, 0, 0);
        if (rc < 0)
            return rc;
    } else if (HDR_ENC(e[0]) == ENC_INT) {
        memcpy(entry_val(e), &nv, 8); /* same size: update in place */
        dice__ks_fire_entry(db, e, DICE_KS_SET);
    } else {
        uint8_t *ne = dice__ks_revalue(db, slot, e, ENC_INT, &nv, 8, 1);
        if (!ne)
            return DICE_ENOMEM;
        dice__ks_fire_entry(db, ne, DICE_KS_SET);
    }
    *out = nv;
    return 0;
}

int dice_db_incrbyfloat(dice_db_t *db, const char *key, size_t klen,
                        const char *incr, size_t ilen, const char **val,
                        size_t *vlen) {
    uint64_t h, *slot;
    uint8_t *e = dice__ks_lookup(db, key, klen, &h, &slot, LK_TOUCH);
    long double cur = 0, inc;
    if (e) {
        if (!is_string(e))
            return DICE_EWRONGTYPE;
        char nb[DICE_DB_NUMBUF];
        const char *p;
        size_t n;
        entry_str(e, nb, &p, &n);
        if (!dice__str2ld(p, n, &cur))
            return DICE_EINVAL;
    }
    if (!dice__str2ld(incr, ilen, &inc))
        return DICE_EINVAL;
    long double v = cur + inc;
    if (isnan(v) || isinf(v))
        return DICE_ERANGE;
    char buf[DICE_FMT_LDOUBLE_MAX];
    size_t l = dice__fmt_long_double_human(buf, v);
    if (l == 0)
        return DICE_ERANGE;
    unsigned flags = DICE_SET_NOINT | DICE_SET_KEEPTTL;
    uint8_t *ne;
    int rc = set_str(db, key, klen, buf, l, flags, 0, &ne);
    if (rc < 0)
        return rc;
    if (!ne)
        return DICE_ENOENT;
    if (val)
        entry_str(ne, NULL, val, vlen); /* NOINT: never int-encoded */
    return 0;
}

/* Make e's value a RAW string with room for at least need bytes; returns
 * the (possibly new) entry and its rawstr, or NULL on OOM. */
static uint8_t *make_raw(dice_db_t *db, uint64_t *slot, uint8_t *e, size_t need,
                         rawstr **out) {
    if (HDR_ENC(e[0]) == ENC_RAW) {
        rawstr *r = entry_ptr(e);
        if (r->cap < need) {
            size_t cap = need < (1u << 20) ? need * 2 : need + (1u << 20);
            rawstr *nr = realloc(r, sizeof(rawstr) + cap);
            if (!nr)
                return NULL;
            nr->cap = cap;
            r = nr;
            memcpy(entry_val(e), &r, sizeof(r));
        }
        *out = r;
        return e;
    }
    char nb[DICE_DB_NUMBUF];
    const char *p;
    size_t n;
    entry_str(e, nb, &p, &n);
    size_t cap = need < n ? n : need;
    cap = cap < (1u << 20) ? cap * 2 : cap + (1u << 20);
    rawstr *r = malloc(sizeof(rawstr) + cap);
    if (!r)
        return NULL;
    r->len = n;
    r->cap = cap;
    memcpy(r->data, p, n);
    uint8_t *ne = dice__ks_revalue(
        db, slot, e, DICE__HDR(ENC_RAW, DICE_TYPE_STRING), &r, sizeof(r), 1);
    if (!ne) {
        free(r);
        return NULL;
    }
    *out = r;
    return ne;
}

int dice_db_append(dice_db_t *db, const char *key, size_t klen,
                   const char *data, size_t len, size_t *newlen) {
    uint64_t h, *slot;
    uint8_t *e = dice__ks_lookup(db, key, klen, &h, &slot, LK_TOUCH);
    if (!e) {
        if (len > STR_MAX)
            return DICE_ERANGE;
        int rc = dice_db_set(db, key, klen, data, len, 0, 0);
        if (rc < 0)
            return rc;
        *newlen = len;
        return 0;
    }
    if (!is_string(e))
        return DICE_EWRONGTYPE;
    char nb[DICE_DB_NUMBUF];
    const char *p;
    size_t n;
    entry_str(e, nb, &p, &n);
    if (n + len > STR_MAX)
        return DICE_ERANGE;
    /* data may be this very value (from dice_db_get): make_raw may move
     * it, to the same offset in the new storage. */
    int inside = len > 0 && data >= p && data < p + n;
    size_t off = inside ? (size_t)(data - p) : 0;
    rawstr *r;
    uint8_t *ne = make_raw(db, slot, e, n + len, &r);
    if (!ne)
        return DICE_ENOMEM;
    memmove(r->data + r->len, inside ? r->data + off : data, len);
    r->len += len;
    *newlen = r->len;
    dice__ks_fire_entry(db, ne, DICE_KS_SET);
    return 0;
}

int dice_db_setrange(dice_db_t *db, const char *key, size_t klen, size_t offset,
                     const char *data, size_t len, size_t *newlen) {
    uint64_t h, *slot;
    uint8_t *e = dice__ks_lookup(db, key, klen, &h, &slot, LK_TOUCH);
    size_t cur = 0;
    const char *p = NULL;
    if (e) {
        if (!is_string(e))
            return DICE_EWRONGTYPE;
        char nb[DICE_DB_NUMBUF];
        entry_str(e, nb, &p, &cur);
    }
    if (len == 0) {
        *newlen = cur;
        return 0;
    }
    if (offset > STR_MAX || len > STR_MAX - offset)
        return DICE_ERANGE;
    size_t end = offset + len;
    if (!e) {
        rawstr *r = malloc(sizeof(rawstr) + end);
        if (!r)
            return DICE_ENOMEM;
        r->len = r->cap = end;
        memset(r->data, 0, offset);
        memcpy(r->data + offset, data, len);
        int rc =
            dice__ks_store(db, key, klen, DICE__HDR(ENC_RAW, DICE_TYPE_STRING),
                           &r, sizeof(r), 0, 0, NULL);
        if (rc < 0) {
            free(r);
            return rc;
        }
        *newlen = end;
        return 0;
    }
    /* As in append: data may point into this value, which may move. */
    int inside = p && data >= p && data < p + cur;
    size_t off = inside ? (size_t)(data - p) : 0;
    rawstr *r;
    uint8_t *ne = make_raw(db, slot, e, end > cur ? end : cur, &r);
    if (!ne)
        return DICE_ENOMEM;
    const char *src = inside ? r->data + off : data;
    if (end > r->len) {
        /* Grow first, copying from the old bytes before they are padded. */
        size_t oldlen = r->len;
        r->len = end;
        memmove(r->data + offset, src, len);
        if (offset > oldlen)
            memset(r->data + oldlen, 0, offset - oldlen);
    } else {
        memmove(r->data + offset, src, len);
    }
    *newlen = r->len;
    dice__ks_fire_entry(db, ne, DICE_KS_SET);
    return 0;
}

/* ---- in-place edits (types_internal.h) --------------------------------- */

int dice__string_find(dice_db_t *db, const char *key, size_t klen,
                      dice__strref *ref) {
    uint64_t h;
    ref->e = dice__ks_lookup(db, key, klen, &h, &ref->slot, LK_TOUCH);
    if (!ref->e)
        return DICE_ENOENT;
    return is_string(ref->e) ? 0 : DICE_EWRONGTYPE;
}

rawstr *dice__string_raw(dice_db_t *db, dice__strref *ref, size_t minlen) {
    rawstr *r;
    uint8_t *ne = make_raw(db, ref->slot, ref->e, minlen, &r);
    if (!ne)
        return NULL;
    ref->e = ne;
    if (r->len < minlen) {
        memset(r->data + r->len, 0, minlen - r->len);
        r->len = minlen;
    }
    return r;
}

rawstr *dice__string_create(dice_db_t *db, const char *key, size_t klen,
                            const void *init, size_t initlen, size_t len,
                            dice__strref *ref) {
    rawstr *r = malloc(sizeof(rawstr) + (len ? len : 1));
    if (!r)
        return NULL;
    r->len = r->cap = len;
    if (initlen)
        memcpy(r->data, init, initlen);
    memset(r->data + initlen, 0, len - initlen);
    ref->slot = NULL;
    int rc = dice__ks_store(db, key, klen, DICE__HDR(ENC_RAW, DICE_TYPE_STRING),
                            &r, sizeof(r), 0, 0, &ref->e);
    if (rc != 0) {
        free(r);
        return NULL;
    }
    return r;
}

void dice__string_reseat(dice__strref *ref, rawstr *r) {
    memcpy(entry_val(ref->e), &r, sizeof(r));
}

void dice__string_changed(dice_db_t *db, dice__strref *ref) {
    dice__ks_fire_entry(db, ref->e, DICE_KS_SET);
}

int dice__string_adopt(dice_db_t *db, const char *key, size_t klen, rawstr *r) {
    int rc = dice__ks_store(db, key, klen, DICE__HDR(ENC_RAW, DICE_TYPE_STRING),
                            &r, sizeof(r), 0, 0, NULL);
    if (rc != 0)
        free(r);
    return rc < 0 ? rc : 0;
}

/* ---- String type methods --------------------------------------------------
 */

static const char *const string_encodings[] = {"embstr", "int", "raw", NULL};

static const char *string_encoding(void *ctx, const void *obj) {
    (void)ctx;
    /* Indexed by the storage form: ENC_EMB, ENC_INT, ENC_RAW. */
    unsigned enc = HDR_ENC(((const uint8_t *)obj)[0]);
    return enc < 3 ? string_encodings[enc] : "unknown";
}

static size_t string_mem_usage(void *ctx, const void *obj) {
    (void)ctx;
    uint8_t *e = (uint8_t *)obj;
    if (HDR_ENC(e[0]) != ENC_RAW)
        return 0; /* inline in the entry */
    rawstr *r = entry_ptr(e);
    return sizeof(rawstr) + r->cap;
}

static int string_emit(void *ctx, const char *key, size_t klen, const void *obj,
                       dice_type_emit_fn emit, void *emit_ctx) {
    (void)ctx;
    char nb[DICE_DB_NUMBUF];
    const char *p;
    size_t n;
    entry_str((uint8_t *)obj, nb, &p, &n);
    const char *argv[3] = {"SET", key, p};
    size_t argvlen[3] = {3, klen, n};
    return emit(emit_ctx, 3, argv, argvlen);
}

/* A string value is RDB_TYPE_STRING (0) and one RDB string, through the
 * types' shared RDB codec (lib/types/rdb.c). */
#define RDB_TYPE_STRING 0

static int string_serialize(void *ctx, const void *obj, unsigned *format,
                            dice_type_write_fn write, void *wctx) {
    (void)ctx;
    char nb[DICE_DB_NUMBUF];
    const char *p;
    size_t n;
    entry_str((uint8_t *)obj, nb, &p, &n);
    *format = RDB_TYPE_STRING;
    return dice__rdb_write_string(write, wctx, p, n);
}

static int string_deserialize(void *ctx, unsigned format, const void *data,
                              size_t len, size_t *used, void **obj) {
    (void)ctx;
    char nb[DICE_DB_NUMBUF], *owned;
    const char *src;
    size_t n, hl;
    if (format != RDB_TYPE_STRING)
        return DICE_EINVAL;
    int rc =
        dice__rdb_read_string(data, len, STR_MAX, nb, &owned, &src, &n, &hl);
    if (rc < 0)
        return rc;
    rawstr *r = malloc(sizeof(rawstr) + (n ? n : 1));
    if (r) {
        r->len = r->cap = n;
        memcpy(r->data, src, n);
    }
    free(owned);
    if (!r)
        return DICE_ENOMEM;
    *used = hl;
    *obj = r;
    return 0;
}

/* A string is one ordered sequence: its text (an int-encoded "12" and an
 * embstr "12" are the same value). */
static void string_digest(void *ctx, const void *obj, dice_digest_t *d) {
    (void)ctx;
    char nb[DICE_DB_NUMBUF];
    const char *p;
    size_t n;
    entry_str((uint8_t *)obj, nb, &p, &n);
    dice_digest_add(d, p, n);
    dice_digest_end_sequence(d);
}

const dice_type_methods dice__string_methods = {
    .version = 1,
    .name = "string",
    .encoding_names = string_encodings,
    .encoding = string_encoding,
    .free = NULL, /* storage is the keyspace's (see types_internal.h) */
    .copy = NULL,
    .mem_usage = string_mem_usage,
    .emit_commands = string_emit,
    .serialize = string_serialize,
    .deserialize = string_deserialize,
    .digest = string_digest,
};
