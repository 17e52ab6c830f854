/* What every type shares: the lookup of a type's methods (the built-in
 * string table or a registered one) and the generic operations that go
 * through them: OBJECT ENCODING and DEBUG DIGEST.
 *
 * The digest. A value is fed by its type's digest method as sequences of
 * items (dice_digest_add); each item goes in with its length, so item
 * boundaries count, and each ended sequence is hashed with SHA-1 and XORed
 * into the value's accumulator, so the order of sequences does not (a set
 * ends one per member). The value digest is SHA-1 over the type, the
 * accumulator and the expire time (DEBUG DIGEST-VALUE). A key's digest is
 * SHA-1 over its db index, its name and its value digest, and the dataset
 * digest is the XOR of every key's: independent of insertion order and
 * table layout, all zeros for an empty keyspace, as in Redis. Unlike
 * Redis, which mixes in only whether a key has a TTL, the expire time
 * itself counts: two datasets that will expire differently differ. */
#include "types/types_internal.h"

#include "core/sha1.h"
#include "dice/db.h"
#include "keyspace/db_internal.h"
#include "resp/resp_internal.h"

#include <string.h>

const dice_type_methods *dice__type_methods(const dice_keyspace_t *ks,
                                            unsigned type, void **ctx) {
    if (type == DICE_TYPE_STRING) {
        if (ctx)
            *ctx = NULL;
        return &dice__string_methods;
    }
    const dice__type_slot *t = dice__ks_type(ks, type);
    if (ctx)
        *ctx = t->ctx;
    return t->m.version ? &t->m : NULL;
}

int dice_keyspace_type_methods(const dice_keyspace_t *ks, int type,
                               const dice_type_methods **methods, void **ctx) {
    if (!ks || type < 0 || type >= DICE_TYPE_COUNT)
        return DICE_EINVAL;
    void *c;
    const dice_type_methods *m = dice__type_methods(ks, (unsigned)type, &c);
    if (!m)
        return DICE_ENOENT;
    if (methods)
        *methods = m;
    if (ctx)
        *ctx = c;
    return 0;
}

/* ---- OBJECT ENCODING ---------------------------------------------------- */

int dice_db_object_encoding(dice_db_t *db, const char *key, size_t klen,
                            const char **enc) {
    uint8_t *e = dice__ks_lookup(db, key, klen, NULL, NULL, 0);
    if (!e)
        return DICE_ENOENT;
    void *ctx;
    const dice_type_methods *m =
        dice__type_methods(db->ks, HDR_TYPE(e[0]), &ctx);
    *enc = m && m->encoding ? m->encoding(ctx, dice__type_obj(e)) : "unknown";
    return 0;
}

/* ---- DEBUG OBJECT ------------------------------------------------------- */

static int count_bytes(void *wctx, const void *data, size_t len) {
    (void)data;
    *(size_t *)wctx += len;
    return 0;
}

int dice__db_object_info(dice_db_t *db, const char *key, size_t klen,
                         dice__object_info *out) {
    uint8_t *e = dice__ks_lookup(db, key, klen, NULL, NULL, 0);
    if (!e)
        return DICE_ENOENT;
    void *ctx;
    unsigned type = HDR_TYPE(e[0]);
    const dice_type_methods *m = dice__type_methods(db->ks, type, &ctx);
    const void *obj = dice__type_obj(e);
    out->addr = obj;
    out->type = type;
    out->obj = HDR_ENC(e[0]) == ENC_OBJ ? obj : NULL;
    out->encoding = m && m->encoding ? m->encoding(ctx, obj) : "unknown";
    out->serialized_len = 0;
    unsigned format;
    if (m && m->serialize)
        return m->serialize(ctx, obj, &format, count_bytes,
                            &out->serialized_len);
    return 0;
}

/* ---- MEMORY USAGE ------------------------------------------------------- */

int dice_db_memory_usage(dice_db_t *db, const char *key, size_t klen,
                         size_t samples, size_t *bytes) {
    (void)samples; /* version 1 mem_usage methods take no sample count */
    uint8_t *e = dice__ks_lookup(db, key, klen, NULL, NULL, 0);
    if (!e)
        return DICE_ENOENT;
    size_t n = dice__ks_entry_bytes(e);
    if (HDR_ENC(e[0]) == ENC_OBJ) {
        void *ctx;
        const dice_type_methods *m =
            dice__type_methods(db->ks, HDR_TYPE(e[0]), &ctx);
        if (m && m->mem_usage)
            n += m->mem_usage(ctx, entry_ptr(e));
    }
    *bytes = n;
    return 0;
}

/* ---- digest ------------------------------------------------------------- */

struct dice_digest {
    dice__sha1 seq; /* the open sequence */
    int open;       /* something was fed since the last end */
    uint8_t acc[DICE_DIGEST_LEN];
};

void dice_digest_add(dice_digest_t *d, const void *data, size_t len) {
    if (!d->open) {
        dice__sha1_init(&d->seq);
        d->open = 1;
    }
    uint8_t l[8];
    for (int i = 0; i < 8; i++)
        l[i] = (uint8_t)((uint64_t)len >> (8 * i));
    dice__sha1_update(&d->seq, l, 8);
    dice__sha1_update(&d->seq, data, len);
}

void dice_digest_add_ll(dice_digest_t *d, long long v) {
    char buf[DICE_FMT_LL_MAX];
    dice_digest_add(d, buf, dice__fmt_ll(buf, v));
}

void dice_digest_end_sequence(dice_digest_t *d) {
    if (!d->open)
        return;
    uint8_t h[DICE_DIGEST_LEN];
    dice__sha1_final(&d->seq, h);
    for (int i = 0; i < DICE_DIGEST_LEN; i++)
        d->acc[i] ^= h[i];
    d->open = 0;
}

static void value_digest(dice_keyspace_t *ks, uint8_t *e,
                         uint8_t out[DICE_DIGEST_LEN]) {
    dice_digest_t d;
    memset(&d, 0, sizeof(d));
    unsigned type = HDR_TYPE(e[0]);
    void *ctx;
    const dice_type_methods *m = dice__type_methods(ks, type, &ctx);
    if (m && m->digest)
        m->digest(ctx, dice__type_obj(e), &d);
    dice_digest_end_sequence(&d);
    int64_t exp = (e[0] & HDR_EXP) ? entry_exp(e) : -1;
    uint8_t tail[1 + 8];
    tail[0] = (uint8_t)type;
    for (int i = 0; i < 8; i++)
        tail[1 + i] = (uint8_t)((uint64_t)exp >> (8 * i));
    dice__sha1 s;
    dice__sha1_init(&s);
    dice__sha1_update(&s, tail, 1);
    dice__sha1_update(&s, d.acc, sizeof(d.acc));
    dice__sha1_update(&s, tail + 1, 8);
    dice__sha1_final(&s, out);
}

int dice_db_digest_value(dice_db_t *db, const char *key, size_t klen,
                         uint8_t out[DICE_DIGEST_LEN]) {
    memset(out, 0, DICE_DIGEST_LEN);
    uint8_t *e = dice__ks_lookup(db, key, klen, NULL, NULL, 0);
    if (!e)
        return DICE_ENOENT;
    value_digest(db->ks, e, out);
    return 0;
}

typedef struct dataset_ctx {
    dice_keyspace_t *ks;
    uint8_t db[4];
    uint8_t *out;
} dataset_ctx;

static int digest_key(void *c, uint8_t *e) {
    dataset_ctx *x = c;
    uint8_t v[DICE_DIGEST_LEN], h[DICE_DIGEST_LEN], l[8];
    const char *k;
    size_t kl;
    value_digest(x->ks, e, v);
    entry_getkey(e, &k, &kl);
    for (int i = 0; i < 8; i++)
        l[i] = (uint8_t)((uint64_t)kl >> (8 * i));
    dice__sha1 s;
    dice__sha1_init(&s);
    dice__sha1_update(&s, x->db, sizeof(x->db));
    dice__sha1_update(&s, l, sizeof(l));
    dice__sha1_update(&s, k, kl);
    dice__sha1_update(&s, v, sizeof(v));
    dice__sha1_final(&s, h);
    for (int i = 0; i < DICE_DIGEST_LEN; i++)
        x->out[i] ^= h[i];
    return 0;
}

void dice_keyspace_digest(dice_keyspace_t *ks, uint8_t out[DICE_DIGEST_LEN]) {
    memset(out, 0, DICE_DIGEST_LEN);
    dataset_ctx x = {ks, {0}, out};
    for (int i = 0; i < ks->ndbs; i++) {
        for (int b = 0; b < 4; b++)
            x.db[b] = (uint8_t)((uint32_t)i >> (8 * b));
        dice__db_foreach_live(&ks->dbs[i], digest_key, &x);
    }
}
