/* The HyperLogLog command family of Redis 7.0: PFADD PFCOUNT PFMERGE
 * PFDEBUG PFSELFTEST.
 *
 * A HyperLogLog is a string value in Redis's own representation (the
 * codec is lib/types/hyperloglog.c), so GET, SET, DUMP and snapshots carry
 * it between redis-server and dice-server unchanged. Writes edit the
 * string in place through the string type (it becomes RAW, as Redis's
 * dbUnshareStringValue makes it). PFCOUNT of one key stores the
 * cardinality it computed in the value's cache, which is a change of the
 * value: it bumps the dirty counter, so PFCOUNT propagates, as in Redis.
 *
 * Replies and check order follow redis-server 7.0
 * (tests/integration/test_hyperloglog.py compares the two, raw bytes
 * included). */
#include "types/hyperloglog.h"
#include "commands/commands_internal.h"
#include "types/types_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLY_ERR(c, lit) dice_reply_error((c), lit, sizeof(lit) - 1)

/* Redis's two HyperLogLog errors. */
#define ERR_NOT_HLL "WRONGTYPE Key is not a valid HyperLogLog string value."
#define ERR_CORRUPT "INVALIDOBJ Corrupted HLL object detected"

static size_t sparse_max(dice_client_t *c) {
    long long v = dice__keyspace_limits(c->srv->keyspace)->hll_sparse_max_bytes;
    return v < 0 ? 0 : (size_t)v;
}

/* ---- HyperLogLog API -----------------------------------------------------
 * The key lookups the commands share. */

/* A HyperLogLog for reading (Redis's lookupKeyRead + isHLLObjectOrReply):
 * 1 with its bytes, 0 when missing (keymiss fired), -1 after replying. */
static int hll_read(dice_client_t *c, const char *key, size_t klen, char *nb,
                    const uint8_t **p, size_t *n) {
    const char *v;
    int rc = dice_db_get(dice__cmd_db(c), key, klen, nb, &v, n);
    if (rc == DICE_ENOENT) {
        dice__cmd_keymiss(c, key, klen);
        return 0;
    }
    if (rc < 0) {
        dice__reply_dberr(c, rc);
        return -1;
    }
    if (!dice__hll_is_hll((const uint8_t *)v, *n)) {
        REPLY_ERR(c, ERR_NOT_HLL);
        return -1;
    }
    *p = (const uint8_t *)v;
    return 1;
}

/* A HyperLogLog for writing, as a RAW string: 1 found (checked), 0 missing
 * (nothing done), -1 after replying. */
static int hll_write(dice_client_t *c, const char *key, size_t klen,
                     dice__strref *ref, rawstr **r) {
    dice_db_t *db = dice__cmd_db(c);
    int rc = dice__string_find(db, key, klen, ref);
    if (rc == DICE_ENOENT)
        return 0;
    if (rc < 0) {
        dice__reply_dberr(c, rc);
        return -1;
    }
    char nb[DICE_DB_NUMBUF];
    const char *p;
    size_t n;
    dice__string_text(ref->e, nb, &p, &n);
    if (!dice__hll_is_hll((const uint8_t *)p, n)) {
        REPLY_ERR(c, ERR_NOT_HLL);
        return -1;
    }
    if (!(*r = dice__string_raw(db, ref, 0))) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return -1;
    }
    return 1;
}

/* A new empty HyperLogLog at the missing key, or NULL after replying. */
static rawstr *hll_create(dice_client_t *c, const char *key, size_t klen,
                          dice__strref *ref) {
    uint8_t empty[DICE__HLL_HDR + 2];
    size_t n = dice__hll_empty(empty);
    rawstr *r =
        dice__string_create(dice__cmd_db(c), key, klen, empty, n, n, ref);
    if (!r)
        dice__reply_err(c, DICE__ERR_NOMEM);
    return r;
}

/* ---- HyperLogLog commands ------------------------------------------------ */

/* PFADD key [element [element ...]] */
static DICE__CMD_FN(cmd_pfadd) {
    dice__strref ref;
    rawstr *r;
    int found = hll_write(c, argv[1], argvlen[1], &ref, &r);
    if (found < 0)
        return;
    int updated = 0;
    if (!found) {
        if (!(r = hll_create(c, argv[1], argvlen[1], &ref)))
            return;
        updated = 1;
    }
    size_t lim = sparse_max(c);
    int added = 0;
    for (int j = 2; j < argc; j++) {
        rawstr *before = r;
        int rc = dice__hll_add(&r, argv[j], argvlen[j], lim);
        if (r != before)
            dice__string_reseat(&ref, r);
        if (rc == 1) {
            added = 1;
        } else if (rc == DICE_EINVAL) {
            REPLY_ERR(c, ERR_CORRUPT);
            return;
        } else if (rc < 0) {
            dice__reply_err(c, DICE__ERR_NOMEM);
            return;
        }
    }
    if (updated || added) {
        dice__hll_cache_invalidate((uint8_t *)r->data);
        if (added)
            dice__string_changed(dice__cmd_db(c), &ref);
        dice__cmd_notify(c, DICE__NOTIFY_STRING, "pfadd", argv[1], argvlen[1]);
    }
    dice_reply_int(c, updated || added);
}

/* PFCOUNT key [key ...] */
static DICE__CMD_FN(cmd_pfcount) {
    char nb[DICE_DB_NUMBUF];
    const uint8_t *p;
    size_t n;
    if (argc > 2) {
        /* The union: the registers' maxima, counted, nothing stored. */
        uint8_t max[DICE__HLL_REGISTERS];
        memset(max, 0, sizeof(max));
        for (int j = 1; j < argc; j++) {
            int rc = hll_read(c, argv[j], argvlen[j], nb, &p, &n);
            if (rc < 0)
                return;
            if (rc == 0)
                continue;
            if (dice__hll_merge(max, p, n) < 0) {
                REPLY_ERR(c, ERR_CORRUPT);
                return;
            }
        }
        dice_reply_int(c, (long long)dice__hll_count_raw(max));
        return;
    }
    int rc = hll_read(c, argv[1], argvlen[1], nb, &p, &n);
    if (rc <= 0) {
        if (rc == 0)
            dice_reply_int(c, 0);
        return;
    }
    dice__strref ref;
    rawstr *r;
    if (hll_write(c, argv[1], argvlen[1], &ref, &r) <= 0)
        return;
    uint8_t *s = (uint8_t *)r->data;
    uint64_t card;
    if (!dice__hll_cache_get(s, &card)) {
        if (dice__hll_count(s, r->len, &card) < 0) {
            REPLY_ERR(c, ERR_CORRUPT);
            return;
        }
        dice__hll_cache_set(s, card);
        dice__string_changed(dice__cmd_db(c), &ref);
    }
    dice_reply_int(c, (long long)card);
}

/* PFMERGE destkey [sourcekey [sourcekey ...]] */
static DICE__CMD_FN(cmd_pfmerge) {
    uint8_t max[DICE__HLL_REGISTERS];
    memset(max, 0, sizeof(max));
    bool dense = false;
    char nb[DICE_DB_NUMBUF];
    const uint8_t *p;
    size_t n;
    /* Every key, the destination first, into the maxima. */
    for (int j = 1; j < argc; j++) {
        int rc = hll_read(c, argv[j], argvlen[j], nb, &p, &n);
        if (rc < 0)
            return;
        if (rc == 0)
            continue;
        if (p[4] == DICE__HLL_DENSE)
            dense = true;
        if (dice__hll_merge(max, p, n) < 0) {
            REPLY_ERR(c, ERR_CORRUPT);
            return;
        }
    }
    dice__strref ref;
    rawstr *r;
    int found = hll_write(c, argv[1], argvlen[1], &ref, &r);
    if (found < 0)
        return;
    if (!found && !(r = hll_create(c, argv[1], argvlen[1], &ref)))
        return;
    /* Dense as soon as one input is: no conversion step on the way. */
    if (dense) {
        int rc = dice__hll_to_dense(&r);
        if (rc < 0) {
            if (rc == DICE_EINVAL)
                REPLY_ERR(c, ERR_CORRUPT);
            else
                dice__reply_err(c, DICE__ERR_NOMEM);
            return;
        }
        dice__string_reseat(&ref, r);
    }
    size_t lim = sparse_max(c);
    for (unsigned i = 0; i < DICE__HLL_REGISTERS; i++) {
        if (!max[i])
            continue;
        rawstr *before = r;
        /* A corrupt destination was refused above; only memory fails. */
        int rc = dice__hll_set(&r, i, max[i], lim);
        if (r != before)
            dice__string_reseat(&ref, r);
        if (rc == DICE_ENOMEM) {
            dice__reply_err(c, DICE__ERR_NOMEM);
            return;
        }
    }
    dice__hll_cache_invalidate((uint8_t *)r->data);
    dice__string_changed(dice__cmd_db(c), &ref);
    /* A merge is a mass add: Redis fires "pfadd" for it. */
    dice__cmd_notify(c, DICE__NOTIFY_STRING, "pfadd", argv[1], argvlen[1]);
    dice_reply_ok(c);
}

/* PFDEBUG <GETREG | DECODE | ENCODING | TODENSE> key */
static DICE__CMD_FN(cmd_pfdebug) {
    dice__strref ref;
    rawstr *r;
    int found = hll_write(c, argv[2], argvlen[2], &ref, &r);
    if (found < 0)
        return;
    if (!found) {
        REPLY_ERR(c, "ERR The specified key does not exist");
        return;
    }
    const char *sub = argv[1];
    size_t sn = argvlen[1];
    uint8_t *s = (uint8_t *)r->data;
    bool getreg = dice__opt_is(sub, sn, "getreg");
    if (getreg || dice__opt_is(sub, sn, "todense")) {
        int rc = dice__hll_to_dense(&r);
        if (rc < 0) {
            if (rc == DICE_EINVAL)
                REPLY_ERR(c, ERR_CORRUPT);
            else
                dice__reply_err(c, DICE__ERR_NOMEM);
            return;
        }
        if (rc == 1) { /* an encoding change propagates */
            dice__string_reseat(&ref, r);
            dice__string_changed(dice__cmd_db(c), &ref);
        }
        if (!getreg) {
            dice_reply_int(c, rc);
            return;
        }
        const uint8_t *regs = (const uint8_t *)r->data + DICE__HLL_HDR;
        dice_reply_array(c, DICE__HLL_REGISTERS);
        for (unsigned i = 0; i < DICE__HLL_REGISTERS; i++)
            dice_reply_int(c, dice__hll_dense_get(regs, i));
    } else if (dice__opt_is(sub, sn, "decode")) {
        if (s[4] != DICE__HLL_SPARSE) {
            REPLY_ERR(c, "ERR HLL encoding is not sparse");
            return;
        }
        char *text = dice__hll_decode(s, r->len);
        if (!text) {
            dice__reply_err(c, DICE__ERR_NOMEM);
            return;
        }
        dice_reply_bulk(c, text, strlen(text));
        free(text);
    } else if (dice__opt_is(sub, sn, "encoding")) {
        if (s[4] == DICE__HLL_DENSE)
            dice_reply_simple(c, "dense", 5);
        else
            dice_reply_simple(c, "sparse", 6);
    } else {
        /* The name as Redis prints it: up to a NUL byte. */
        char msg[160];
        int len =
            snprintf(msg, sizeof(msg), "ERR Unknown PFDEBUG subcommand '%.*s'",
                     (int)strnlen(sub, sn > 100 ? 100 : sn), sub);
        dice_reply_error(c, msg, (size_t)len);
    }
}

/* PFSELFTEST */
static DICE__CMD_FN(cmd_pfselftest) {
    char err[200];
    if (dice__hll_selftest(err, sizeof(err)) < 0) {
        char msg[220];
        int len = snprintf(msg, sizeof(msg), "ERR %s", err);
        dice_reply_error(c, msg, (size_t)len);
        return;
    }
    dice_reply_ok(c);
}

/* ---- registration -------------------------------------------------------- */

#define W DICE_CMD_WRITE
#define R DICE_CMD_READONLY
#define M DICE_CMD_DENYOOM
#define F DICE_CMD_FAST
#define A DICE_CMD_ADMIN

static const dice__cmd_desc hll_cmds[] = {
    {"pfadd", -2, W | M | F, 1, 1, 1, cmd_pfadd, NULL,
     "Add elements to a HyperLogLog, creating it as needed", "2.8.9",
     "O(1) to add every element", 0, NULL, NULL, NULL},
    {"pfcount", -2, R, 1, -1, 1, cmd_pfcount, NULL,
     "Estimate the number of distinct elements of HyperLogLogs (their union "
     "for several keys)",
     "2.8.9",
     "O(1) with a very small average constant time for one key, O(N) for N "
     "keys",
     0, NULL, NULL, NULL},
    {"pfmerge", -2, W | M, 1, -1, 1, cmd_pfmerge, NULL,
     "Merge HyperLogLogs into a destination HyperLogLog", "2.8.9",
     "O(N) to merge N HyperLogLogs, with a high constant time", 0, NULL, NULL,
     NULL},
    {"pfdebug", 3, W | M | A, 2, 2, 1, cmd_pfdebug, NULL,
     "Internal commands for debugging HyperLogLog values", "2.8.9", "N/A", 0,
     NULL, NULL, NULL},
    {"pfselftest", 1, A, 0, 0, 0, cmd_pfselftest, NULL,
     "Internal command for testing HyperLogLog values", "2.8.9", "N/A", 0, NULL,
     NULL, NULL},
};

#undef W
#undef R
#undef M
#undef F
#undef A

#define KS_OF(a) a, (int)DICE__COUNT(a)

static const dice__key_spec ks_pfadd[] = {
    DICE__KS_RANGE(DICE__KS_RW | DICE__KS_INSERT, 1, 0, 1, 0)};
static const dice__key_spec ks_pfcount[] = {
    {"RW because it may change the internal representation of the key, and "
     "propagate to replicas",
     DICE__KS_RW | DICE__KS_ACCESS,
     DICE__BS_INDEX,
     1,
     NULL,
     DICE__FK_RANGE,
     {-1, 1, 0}}};
static const dice__key_spec ks_pfmerge[] = {
    DICE__KS_RANGE(DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_INSERT, 1, 0, 1, 0),
    DICE__KS_RANGE(DICE__KS_RO | DICE__KS_ACCESS, 2, -1, 1, 0)};
static const dice__key_spec ks_pfdebug[] = {
    DICE__KS_RANGE(DICE__KS_RW | DICE__KS_ACCESS, 2, 0, 1, 0)};
static const dice__cmd_keyspecs hll_keyspecs[] = {
    {"pfadd", KS_OF(ks_pfadd)},
    {"pfcount", KS_OF(ks_pfcount)},
    {"pfmerge", KS_OF(ks_pfmerge)},
    {"pfdebug", KS_OF(ks_pfdebug)},
};
#undef KS_OF

int dice__builtin_hyperloglog(dice_server_t *srv) {
    int rc = dice__command_register(srv, NULL, "hyperloglog", hll_cmds,
                                    DICE__COUNT(hll_cmds));
    if (rc < 0)
        return rc;
    return dice__command_set_keyspecs(srv, hll_keyspecs,
                                      DICE__COUNT(hll_keyspecs));
}
