/* Whole datasets and single values in Redis 7.0's RDB format (version 10),
 * written and read through the types' serialize/deserialize methods only:
 * this file knows the file's framing (aux fields, SELECTDB, RESIZEDB,
 * expire times, LRU/LFU opcodes, EOF and CRC-64) and which RDB object type
 * belongs to which dice type, never a type's payload. Older payload
 * encodings are rewritten first (rdb_legacy.c).
 *
 * The writer streams into a sink (rdb.h) whose output goes wherever the
 * caller says (a file for SAVE and BGSAVE, a buffer for DUMP, an AOF base
 * later); the reader takes the file's bytes in memory (mapped or read) and
 * says how many it used, so an RDB preamble can be followed by more. */
#include "types/rdb.h"

#include "core/core_internal.h"
#include "types/types_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Levels of the load messages: dice/server.h's DICE_LOG_* values. */
enum { RDB_LOG_DEBUG = 0, RDB_LOG_NOTICE = 2, RDB_LOG_WARNING = 3 };

enum {
    OP_FUNCTION2 = 245,
    OP_FUNCTION = 246,
    OP_MODULE_AUX = 247,
    OP_IDLE = 248,
    OP_FREQ = 249,
    OP_AUX = 250,
    OP_RESIZEDB = 251,
    OP_EXPIRETIME_MS = 252,
    OP_EXPIRETIME = 253,
    OP_SELECTDB = 254,
    OP_EOF = 255
};

/* The dice type of each RDB object type of Redis 7.0 (-1: none; 6 and 7
 * are module values; 20 and 21 are Redis 7.2's set listpack and stream v3,
 * left to the set and stream methods to accept or refuse). */
static const signed char rdb_dice_type[] = {[0] = DICE_TYPE_STRING,
                                            [1] = DICE_TYPE_LIST,
                                            [2] = DICE_TYPE_SET,
                                            [3] = DICE_TYPE_ZSET,
                                            [4] = DICE_TYPE_HASH,
                                            [5] = DICE_TYPE_ZSET,
                                            [6] = -1,
                                            [7] = -1,
                                            [8] = -1,
                                            [9] = DICE_TYPE_HASH,
                                            [10] = DICE_TYPE_LIST,
                                            [11] = DICE_TYPE_SET,
                                            [12] = DICE_TYPE_ZSET,
                                            [13] = DICE_TYPE_HASH,
                                            [14] = DICE_TYPE_LIST,
                                            [15] = DICE_TYPE_STREAM,
                                            [16] = DICE_TYPE_HASH,
                                            [17] = DICE_TYPE_ZSET,
                                            [18] = DICE_TYPE_LIST,
                                            [19] = DICE_TYPE_STREAM,
                                            [20] = DICE_TYPE_SET,
                                            [21] = DICE_TYPE_STREAM};
#define NRDB_TYPES (sizeof(rdb_dice_type) / sizeof(rdb_dice_type[0]))

int dice__rdb_type_of(unsigned rdbtype) {
    return rdbtype < NRDB_TYPES ? rdb_dice_type[rdbtype] : -1;
}

/* ---- writing --------------------------------------------------------------
 */

static int put_byte(dice__rdb_sink *s, uint8_t b) {
    return dice__rdb_sink_write(s, &b, 1);
}

static int put_aux(dice__rdb_sink *s, const char *k, const char *v) {
    int rc = put_byte(s, OP_AUX);
    if (rc == 0)
        rc = dice__rdb_write_string(dice__rdb_sink_write, s, k, strlen(k));
    if (rc == 0)
        rc = dice__rdb_write_string(dice__rdb_sink_write, s, v, strlen(v));
    return rc;
}

static int put_aux_ll(dice__rdb_sink *s, const char *k, long long v) {
    char b[24];
    snprintf(b, sizeof(b), "%lld", v);
    return put_aux(s, k, b);
}

/* The value of entry e: its RDB type byte, the key (for a file; DUMP has
 * none), then the payload, through the sink's value head (rdb.h). */
int dice__rdb_write_value(dice_keyspace_t *ks, uint8_t *e, dice__rdb_sink *s,
                          const char *key, size_t klen) {
    void *ctx;
    const dice_type_methods *m = dice__type_methods(ks, HDR_TYPE(e[0]), &ctx);
    if (!m || !m->serialize)
        return DICE_ESTATE;
    unsigned format = DICE__RDB_FORMAT_UNSET;
    dice__rdb_sink_head(s, &format, key, klen);
    int rc =
        m->serialize(ctx, dice__type_obj(e), &format, dice__rdb_sink_write, s);
    int rc2 = dice__rdb_sink_end_value(s);
    s->hpending = 0;
    return rc < 0 ? rc : rc2;
}

static void le64(uint8_t *b, uint64_t v) {
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t rd64(const uint8_t *b) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

typedef struct save_ctx {
    dice_keyspace_t *ks;
    dice__rdb_sink *s;
    int clock;
    int rc;
    uint64_t keys;
} save_ctx;

static int save_entry(void *c, uint8_t *e) {
    save_ctx *x = c;
    dice__rdb_sink *s = x->s;
    int rc = 0;
    if (e[0] & HDR_EXP) {
        uint8_t b[9];
        b[0] = OP_EXPIRETIME_MS;
        le64(b + 1, (uint64_t)entry_exp(e));
        rc = dice__rdb_sink_write(s, b, 9);
    }
    if (rc == 0 && x->clock == DICE__RDB_CLOCK_IDLE) {
        rc = put_byte(s, OP_IDLE);
        if (rc == 0)
            rc = dice__rdb_write_len(dice__rdb_sink_write, s,
                                     (uint64_t)dice__ks_entry_idle(x->ks, e));
    } else if (rc == 0 && x->clock == DICE__RDB_CLOCK_FREQ) {
        uint8_t b[2] = {OP_FREQ, (uint8_t)dice__ks_entry_freq(x->ks, e)};
        rc = dice__rdb_sink_write(s, b, 2);
    }
    const char *k;
    size_t kl;
    entry_getkey(e, &k, &kl);
    if (rc == 0)
        rc = dice__rdb_write_value(x->ks, e, s, k, kl);
    x->keys++;
    x->rc = rc;
    return rc < 0;
}

/* One library's code: the FUNCTION2 opcode, then the code as a string. */
static int put_function(void *sink, const char *code, size_t len) {
    int rc = put_byte(sink, OP_FUNCTION2);
    return rc == 0
               ? dice__rdb_write_string(dice__rdb_sink_write, sink, code, len)
               : rc;
}

int dice__rdb_save_keyspace(dice_keyspace_t *ks, const dice__rdb_save_opts *o,
                            dice_type_write_fn out, void *out_ctx,
                            uint64_t *nkeys) {
    dice__rdb_sink *s = malloc(sizeof(*s));
    if (!s)
        return DICE_ENOMEM;
    dice__rdb_sink_init(s, out, out_ctx, o->compress, o->checksum);
    char magic[10];
    snprintf(magic, sizeof(magic), "REDIS%04d", DICE__RDB_VERSION);
    int rc = dice__rdb_sink_write(s, magic, 9);
    /* The aux fields Redis 7.0 writes, in its order (replication ones
     * only exist on a server with replicas). */
    if (rc == 0)
        rc = put_aux(s, "redis-ver", o->version ? o->version : "7.0.15");
    if (rc == 0)
        rc = put_aux_ll(s, "redis-bits", sizeof(void *) == 8 ? 64 : 32);
    if (rc == 0)
        rc = put_aux_ll(s, "ctime", (long long)(o->now_ms / 1000));
    if (rc == 0)
        rc = put_aux_ll(s, "used-mem", o->used_mem);
    if (rc == 0)
        rc = put_aux_ll(s, "aof-base", o->aof_base ? 1 : 0);
    if (rc == 0 && o->functions)
        rc = o->functions(o->functions_ctx, put_function, s);
    save_ctx x = {ks, s, o->clock, 0, 0};
    for (int i = 0; rc == 0 && i < ks->ndbs; i++) {
        dice_db_t *db = &ks->dbs[i];
        if (dice_db_size(db) == 0)
            continue;
        rc = put_byte(s, OP_SELECTDB);
        if (rc == 0)
            rc = dice__rdb_write_len(dice__rdb_sink_write, s, (uint64_t)i);
        if (rc == 0)
            rc = put_byte(s, OP_RESIZEDB);
        if (rc == 0)
            rc = dice__rdb_write_len(dice__rdb_sink_write, s, dice_db_size(db));
        if (rc == 0)
            rc = dice__rdb_write_len(dice__rdb_sink_write, s,
                                     dice_db_expires(db));
        if (rc == 0) {
            dice__db_foreach_live(db, save_entry, &x);
            rc = x.rc;
        }
    }
    if (rc == 0)
        rc = put_byte(s, OP_EOF);
    if (rc == 0)
        rc = dice__rdb_sink_flush(s);
    if (rc == 0) {
        uint8_t b[8];
        le64(b, o->checksum ? s->crc : 0);
        rc = out(out_ctx, b, 8);
    }
    dice__rdb_sink_release(s);
    free(s);
    if (nkeys)
        *nkeys = x.keys;
    return rc < 0 ? rc : 0;
}

/* ---- DUMP and RESTORE payloads --------------------------------------------
 */

int dice__rdb_dump(dice_keyspace_t *ks, uint8_t *e, int compress,
                   dice_type_write_fn out, void *out_ctx) {
    dice__rdb_sink *s = malloc(sizeof(*s));
    if (!s)
        return DICE_ENOMEM;
    dice__rdb_sink_init(s, out, out_ctx, compress, 1);
    int rc = dice__rdb_write_value(ks, e, s, NULL, 0);
    uint8_t v[2] = {DICE__RDB_VERSION & 0xff, DICE__RDB_VERSION >> 8};
    if (rc == 0)
        rc = dice__rdb_sink_write(s, v, 2);
    if (rc == 0)
        rc = dice__rdb_sink_flush(s);
    if (rc == 0) {
        uint8_t b[8];
        le64(b, s->crc);
        rc = out(out_ctx, b, 8);
    }
    dice__rdb_sink_release(s);
    free(s);
    return rc < 0 ? rc : 0;
}

int dice__rdb_verify_payload(const uint8_t *p, size_t len) {
    if (len < 10)
        return DICE_EPROTO;
    const uint8_t *f = p + len - 10;
    unsigned ver = (unsigned)f[0] | (unsigned)f[1] << 8;
    if (ver > DICE__RDB_VERSION)
        return DICE_EPROTO;
    return dice__crc64(0, p, len - 8) == rd64(f + 2) ? 0 : DICE_EPROTO;
}

/* ---- reading one value ------------------------------------------------------
 */

int dice__rdb_load_object(dice_keyspace_t *ks, unsigned rdbtype,
                          const uint8_t *p, size_t len, size_t *used,
                          int *dtype, void **obj) {
    int dt = dice__rdb_type_of(rdbtype);
    if (dt < 0)
        return DICE_ESTATE;
    void *ctx;
    const dice_type_methods *m = dice__type_methods(ks, (unsigned)dt, &ctx);
    if (!m || !m->deserialize)
        return DICE_ESTATE;
    *dtype = dt;
    unsigned nf;
    uint8_t *buf;
    size_t blen;
    int rc = dice__rdb_legacy_convert(rdbtype, p, len, &nf, &buf, &blen, used);
    if (rc == DICE_EINVAL)
        return m->deserialize(ctx, rdbtype, p, len, used, obj);
    if (rc < 0)
        return rc;
    size_t u2;
    rc = m->deserialize(ctx, nf, buf, blen, &u2, obj);
    free(buf);
    if (rc == DICE_EAGAIN || (rc == 0 && u2 != blen)) {
        if (rc == 0)
            dice__rdb_free_object(ks, dt, *obj);
        return DICE_EPROTO; /* a rewritten payload is whole */
    }
    return rc;
}

void dice__rdb_free_object(dice_keyspace_t *ks, int dtype, void *obj) {
    void *ctx;
    const dice_type_methods *m = dice__type_methods(ks, (unsigned)dtype, &ctx);
    if (dtype == DICE_TYPE_STRING || !m || !m->free)
        free(obj); /* a string's is a rawstr */
    else
        m->free(ctx, obj);
}

int dice__rdb_store(dice_db_t *db, const char *key, size_t klen, int dtype,
                    void *obj, int64_t expire_ms, long long freq,
                    long long idle) {
    unsigned flags = expire_ms >= 0 ? DICE_SET_EXPIRE : 0;
    int rc;
    if (dtype == DICE_TYPE_STRING) {
        rawstr *r = obj;
        rc = dice_db_set(db, key, klen, r->data, r->len, flags, expire_ms);
        free(r);
    } else {
        rc = dice_db_set_object(db, key, klen, dtype, obj, flags, expire_ms);
    }
    if (rc == 0 && (freq >= 0 || idle >= 0)) {
        uint8_t *e = dice__ks_lookup(db, key, klen, NULL, NULL, 0);
        if (e)
            dice__ks_entry_set_access(db->ks, e, freq, idle);
    }
    return rc;
}

/* ---- reading a file ---------------------------------------------------------
 */

typedef struct rd {
    const uint8_t *p;
    size_t len, pos;
    dice__rdb_load_info *info;
    const dice__rdb_load_opts *o;
    size_t next_progress; /* position of the next progress call */
} rd;

static int fail(rd *r, int rc, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(rd *r, int rc, size_t at, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->info->err, sizeof(r->info->err), fmt, ap);
    va_end(ap);
    r->info->err_offset = at;
    return rc;
}

static void note(rd *r, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(rd *r, int level, const char *fmt, ...) {
    if (!r->o || !r->o->log)
        return;
    char m[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof(m), fmt, ap);
    va_end(ap);
    r->o->log(r->o->log_ctx, level, m);
}

static int truncated(rd *r, size_t at) {
    return fail(r, DICE_EAGAIN, at, "unexpected end of file");
}

static int rd_len(rd *r, uint64_t *v) {
    size_t at = r->pos, u;
    int rc = dice__rdb_read_len(r->p + r->pos, r->len - r->pos, v, &u);
    if (rc == DICE_EAGAIN)
        return truncated(r, at);
    if (rc < 0)
        return fail(r, rc, at, "invalid length encoding");
    r->pos += u;
    return 0;
}

static int rd_str(rd *r, char *nb, char **owned, const char **s, size_t *n) {
    size_t at = r->pos, u;
    int rc = dice__rdb_read_string(r->p + r->pos, r->len - r->pos,
                                   (size_t)1 << 40, nb, owned, s, n, &u);
    if (rc == DICE_EAGAIN)
        return truncated(r, at);
    if (rc == DICE_ENOMEM)
        return fail(r, rc, at, "out of memory reading a string");
    if (rc < 0)
        return fail(r, rc, at, "invalid string encoding");
    r->pos += u;
    return 0;
}

static int rd_need(rd *r, size_t n) {
    return r->len - r->pos < n ? truncated(r, r->pos) : 0;
}

static int eqs(const char *s, size_t n, const char *lit) {
    return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

/* A module's aux data: its id, when-opcode and when, then typed values
 * until the module EOF opcode. Skipped: no module can take it. */
static int skip_module_aux(rd *r) {
    uint64_t id, v;
    int rc = rd_len(r, &id);
    if (rc == 0)
        rc = rd_len(r, &v); /* when_opcode */
    if (rc == 0)
        rc = rd_len(r, &v); /* when */
    for (;;) {
        uint64_t op;
        if (rc == 0)
            rc = rd_len(r, &op);
        if (rc < 0)
            return rc;
        if (op == 0)
            break;
        if (op == 1 || op == 2) {
            rc = rd_len(r, &v);
        } else if (op == 3 || op == 4) {
            size_t w = op == 3 ? 4 : 8;
            rc = rd_need(r, w);
            if (rc == 0)
                r->pos += w;
        } else if (op == 5) {
            char nb[32], *ow;
            const char *s;
            size_t n;
            rc = rd_str(r, nb, &ow, &s, &n);
            free(ow);
        } else {
            return fail(r, DICE_EPROTO, r->pos, "unknown module opcode %llu",
                        (unsigned long long)op);
        }
    }
    note(r, RDB_LOG_WARNING,
         "The RDB file contains AUX module data of module id %llu that no "
         "module here can load: skipped",
         (unsigned long long)id);
    return 0;
}

static int load_aux(rd *r) {
    char nb1[32], nb2[32], *o1 = NULL, *o2 = NULL;
    const char *k, *v;
    size_t kn, vn;
    int rc = rd_str(r, nb1, &o1, &k, &kn);
    if (rc == 0)
        rc = rd_str(r, nb2, &o2, &v, &vn);
    if (rc == 0) {
        if (eqs(k, kn, "redis-ver"))
            note(r, RDB_LOG_NOTICE, "Loading RDB produced by version %.*s",
                 (int)(vn > 64 ? 64 : vn), v);
        else if (eqs(k, kn, "ctime")) {
            long long t;
            if (dice__str2ll(v, vn, &t)) {
                r->info->ctime = t;
                long long age = r->o ? r->o->now_ms / 1000 - t : 0;
                note(r, RDB_LOG_NOTICE, "RDB age %lld seconds",
                     age < 0 ? 0 : age);
            }
        } else if (eqs(k, kn, "used-mem")) {
            long long m;
            if (dice__str2ll(v, vn, &m)) {
                r->info->used_mem = m;
                note(r, RDB_LOG_NOTICE, "RDB memory usage when created %.2f Mb",
                     (double)m / (1024 * 1024));
            }
        } else if (eqs(k, kn, "aof-base")) {
            r->info->aof_base = eqs(v, vn, "1");
        } else if (!eqs(k, kn, "redis-bits") && !eqs(k, kn, "lua") &&
                   !eqs(k, kn, "repl-stream-db") && !eqs(k, kn, "repl-id") &&
                   !eqs(k, kn, "repl-offset") && !eqs(k, kn, "aof-preamble")) {
            note(r, RDB_LOG_DEBUG, "Unrecognized RDB AUX field: '%.*s'",
                 (int)(kn > 64 ? 64 : kn), k);
        }
    }
    free(o1);
    free(o2);
    return rc;
}

static int load_key(rd *r, dice_keyspace_t *ks, dice_db_t *db, unsigned type,
                    int64_t expire, long long freq, long long idle) {
    size_t at = r->pos - 1;
    char nb[32], *owned;
    const char *k;
    size_t kn;
    int rc = rd_str(r, nb, &owned, &k, &kn);
    if (rc < 0)
        return rc;
    size_t used = 0;
    int dt = -1;
    void *obj = NULL;
    size_t vat = r->pos;
    rc = dice__rdb_load_object(ks, type, r->p + r->pos, r->len - r->pos, &used,
                               &dt, &obj);
    if (rc == DICE_ENOENT) {
        r->pos += used;
        r->info->keys_empty++;
        free(owned);
        return 0;
    }
    if (rc < 0) {
        free(owned);
        if (rc == DICE_EAGAIN)
            return truncated(r, vat);
        if (rc == DICE_ENOMEM)
            return fail(r, rc, vat, "out of memory loading a value");
        if (rc == DICE_ESTATE || rc == DICE_EINVAL)
            return fail(r, DICE_EPROTO, at,
                        "value of RDB type %u that this server cannot load",
                        type);
        return fail(r, DICE_EPROTO, vat, "corrupt value of RDB type %u", type);
    }
    r->pos += used;
    if (expire >= 0 && expire < r->o->now_ms && !r->o->keep_expired) {
        dice__rdb_free_object(ks, dt, obj);
        r->info->keys_expired++;
        free(owned);
        return 0;
    }
    rc = dice__rdb_store(db, k, kn, dt, obj, expire, freq, idle);
    free(owned);
    if (rc < 0)
        return fail(r, rc, at, "out of memory storing a key");
    r->info->keys_loaded++;
    return 0;
}

int dice__rdb_load(dice_keyspace_t *ks, const uint8_t *p, size_t len,
                   const dice__rdb_load_opts *o, dice__rdb_load_info *info) {
    memset(info, 0, sizeof(*info));
    rd r = {p, len, 0, info, o, SIZE_MAX};
    if (o->progress && o->progress_every)
        r.next_progress = o->progress_every;
    if (len < 9)
        return truncated(&r, len);
    if (memcmp(p, "REDIS", 5) != 0)
        return fail(&r, DICE_EPROTO, 0, "wrong signature trying to load DB");
    int ver = 0;
    for (int i = 5; i < 9; i++) {
        if (p[i] < '0' || p[i] > '9')
            return fail(&r, DICE_EPROTO, 5,
                        "wrong signature trying to load DB");
        ver = ver * 10 + (p[i] - '0');
    }
    info->version = ver;
    if (ver < 1 || ver > DICE__RDB_VERSION)
        return fail(&r, DICE_EPROTO, 5, "Can't handle RDB format version %d",
                    ver);
    r.pos = 9;
    dice_db_t *db = &ks->dbs[0];
    int64_t expire = -1;
    long long freq = -1, idle = -1;
    for (;;) {
        int rc = rd_need(&r, 1);
        if (rc < 0)
            return rc;
        size_t at = r.pos;
        unsigned op = p[r.pos++];
        uint64_t v, v2;
        switch (op) {
        case OP_EXPIRETIME_MS:
            if ((rc = rd_need(&r, 8)) < 0)
                return rc;
            expire = (int64_t)rd64(p + r.pos);
            r.pos += 8;
            continue;
        case OP_EXPIRETIME:
            if ((rc = rd_need(&r, 4)) < 0)
                return rc;
            expire = (int64_t)(int32_t)((uint32_t)p[r.pos] |
                                        (uint32_t)p[r.pos + 1] << 8 |
                                        (uint32_t)p[r.pos + 2] << 16 |
                                        (uint32_t)p[r.pos + 3] << 24) *
                     1000;
            r.pos += 4;
            continue;
        case OP_FREQ:
            if ((rc = rd_need(&r, 1)) < 0)
                return rc;
            freq = p[r.pos++];
            continue;
        case OP_IDLE:
            if ((rc = rd_len(&r, &v)) < 0)
                return rc;
            idle = v > 0xffffff ? 0xffffff : (long long)v;
            continue;
        case OP_EOF:
            if (ver >= 5) {
                if ((rc = rd_need(&r, 8)) < 0)
                    return rc;
                uint64_t want = rd64(p + r.pos), got = dice__crc64(0, p, r.pos);
                if (want != 0 && o && o->verify_checksum && want != got)
                    return fail(&r, DICE_EPROTO, r.pos,
                                "Wrong RDB checksum expected: (%llx) got "
                                "(%llx)",
                                (unsigned long long)got,
                                (unsigned long long)want);
                r.pos += 8;
            }
            info->used = r.pos;
            return 0;
        case OP_SELECTDB:
            if ((rc = rd_len(&r, &v)) < 0)
                return rc;
            if (v >= (uint64_t)ks->ndbs)
                return fail(&r, DICE_EPROTO, at,
                            "Data file was created with a Redis server "
                            "configured to handle more than %d databases",
                            ks->ndbs);
            db = &ks->dbs[v];
            continue;
        case OP_RESIZEDB:
            if ((rc = rd_len(&r, &v)) < 0 || (rc = rd_len(&r, &v2)) < 0)
                return rc;
            /* Size the tables once for what follows, as Redis does. A key
             * takes at least 3 bytes of the file (type, key, value) and
             * an expiry 9 more, so a size the rest of the file cannot
             * hold reserves no more than the file's size; a failed
             * reserve only means growing as keys come. */
            if (v > (len - r.pos) / 3)
                v = (len - r.pos) / 3;
            if (v2 > (len - r.pos) / 12)
                v2 = (len - r.pos) / 12;
            (void)dice__db_reserve(db, (size_t)v, (size_t)v2);
            continue;
        case OP_AUX:
            if ((rc = load_aux(&r)) < 0)
                return rc;
            continue;
        case OP_MODULE_AUX:
            if ((rc = skip_module_aux(&r)) < 0)
                return rc;
            continue;
        case OP_FUNCTION2: {
            char nb[32], *ow;
            const char *s;
            size_t n;
            if ((rc = rd_str(&r, nb, &ow, &s, &n)) < 0)
                return rc;
            if (o->function) {
                char err[160];
                rc = o->function(o->function_ctx, s, n, err, sizeof(err));
                free(ow);
                if (rc < 0)
                    return fail(&r, DICE_EPROTO, at,
                                "Failed loading library: %s", err);
                continue;
            }
            free(ow);
            info->functions_skipped++;
            note(&r, RDB_LOG_WARNING,
                 "The RDB file holds a function library (%zu bytes of "
                 "code): skipped, this server has no scripting",
                 n);
            continue;
        }
        case OP_FUNCTION:
            return fail(&r, DICE_EPROTO, at,
                        "Pre-release function format not supported");
        default:
            if (op == 6 || op == 7)
                return fail(&r, DICE_EPROTO, at,
                            "a module value (RDB type %u): no module can "
                            "load it",
                            op);
            if (dice__rdb_type_of(op) < 0 || op > 19)
                return fail(&r, DICE_EPROTO, at, "Unknown RDB encoding type %u",
                            op);
            if ((rc = load_key(&r, ks, db, op, expire, freq, idle)) < 0)
                return rc;
            expire = -1;
            freq = idle = -1;
            if (__builtin_expect(r.pos >= r.next_progress, 0)) {
                if (o->progress(o->progress_ctx, r.pos, info))
                    return fail(&r, DICE_ECLOSED, r.pos, "loading stopped");
                r.next_progress = r.pos + o->progress_every;
            }
            continue;
        }
    }
}
