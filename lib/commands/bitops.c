/* The bitmap command family of Redis 7.0: SETBIT GETBIT BITCOUNT BITPOS
 * BITOP BITFIELD BITFIELD_RO, on the string type.
 *
 * Bits are numbered from the most significant bit of byte 0; a string is
 * an unbounded array of zero bits past its end. Writes go through the
 * string type's in-place edit (lib/types/string.c: the value becomes RAW
 * and grows zero-padded, as Redis's sdsgrowzero), reads through GET's own
 * lookup. Offsets obey proto-max-bulk-len as Redis's do (512 MB, so bit
 * offsets below 2^32).
 *
 * Every reply, error text and check order follows redis-server 7.0
 * (tests/integration/test_bitops.py compares the two). BITCOUNT counts
 * with the CPU's popcount instruction on 64-bit words when it has one. */
#include "commands/commands_internal.h"
#include "types/types_internal.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REPLY_ERR(c, lit) dice_reply_error((c), lit, sizeof(lit) - 1)

#define ERR_BIT_OFFSET "ERR bit offset is not an integer or out of range"
#define ERR_BIT_VALUE "ERR bit is not an integer or out of range"
#define ERR_BF_TYPE                                                            \
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is "  \
    "not supported but i64 is."

/* ---- Bitmap API ----------------------------------------------------------
 * Bit access and counting on plain byte arrays. */

/* Set bits in n bytes. */
__attribute__((target("popcnt"))) static uint64_t popcount_hw(const uint8_t *p,
                                                              size_t n) {
    uint64_t a = 0, b = 0, c = 0, d = 0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        uint64_t w[4];
        memcpy(w, p + i, 32);
        a += (uint64_t)__builtin_popcountll(w[0]);
        b += (uint64_t)__builtin_popcountll(w[1]);
        c += (uint64_t)__builtin_popcountll(w[2]);
        d += (uint64_t)__builtin_popcountll(w[3]);
    }
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        a += (uint64_t)__builtin_popcountll(w);
    }
    for (; i < n; i++)
        b += (uint64_t)__builtin_popcount(p[i]);
    return a + b + c + d;
}

/* The same with the SWAR bit trick, for CPUs without the instruction. */
static uint64_t popcount_sw(const uint8_t *p, size_t n) {
    const uint64_t m1 = 0x5555555555555555ULL, m2 = 0x3333333333333333ULL,
                   m4 = 0x0f0f0f0f0f0f0f0fULL, h01 = 0x0101010101010101ULL;
    uint64_t total = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, p + i, 8);
        x -= (x >> 1) & m1;
        x = (x & m2) + ((x >> 2) & m2);
        x = (x + (x >> 4)) & m4;
        total += (x * h01) >> 56;
    }
    for (; i < n; i++) {
        unsigned v = p[i];
        while (v) {
            v &= v - 1;
            total++;
        }
    }
    return total;
}

static uint64_t popcount(const uint8_t *p, size_t n) {
    if (__builtin_cpu_supports("popcnt"))
        return popcount_hw(p, n);
    return popcount_sw(p, n);
}

/* Bit i of p (n bytes), zero past the end. */
static inline unsigned bit_get(const uint8_t *p, size_t n, uint64_t i) {
    uint64_t byte = i >> 3;
    return byte < n ? (p[byte] >> (7 - (i & 7))) & 1u : 0;
}

static inline void bit_put(uint8_t *p, uint64_t i, unsigned v) {
    uint8_t mask = (uint8_t)(1u << (7 - (i & 7)));
    if (v)
        p[i >> 3] |= mask;
    else
        p[i >> 3] &= (uint8_t)~mask;
}

/* bits (1..64) bits from bit offset off, most significant first. */
static uint64_t field_get(const uint8_t *p, size_t n, uint64_t off,
                          unsigned bits) {
    uint64_t v = 0;
    for (unsigned j = 0; j < bits; j++)
        v = (v << 1) | bit_get(p, n, off + j);
    return v;
}

static int64_t field_get_signed(const uint8_t *p, size_t n, uint64_t off,
                                unsigned bits) {
    uint64_t v = field_get(p, n, off, bits);
    if (bits < 64 && (v & (1ULL << (bits - 1))))
        v |= ~0ULL << bits; /* sign extension */
    return (int64_t)v;
}

static void field_put(uint8_t *p, uint64_t off, unsigned bits, uint64_t v) {
    for (unsigned j = 0; j < bits; j++)
        bit_put(p, off + j, (unsigned)(v >> (bits - 1 - j)) & 1u);
}

/* First bit equal to bit in the bit range [from, to] of p (which holds
 * them all), or -1. Whole words of the wrong kind are skipped. */
static long long bit_find(const uint8_t *p, uint64_t from, uint64_t to,
                          unsigned bit) {
    uint64_t i = from;
    const uint8_t skip = bit ? 0x00 : 0xff;
    while (i <= to) {
        if ((i & 7) == 0 && i + 7 <= to) {
            uint64_t byte = i >> 3;
            if (p[byte] == skip) {
                /* Skip bytes, eight at a time where possible. */
                uint64_t last = (to + 1) >> 3; /* first byte not whole */
                uint64_t sw = bit ? 0 : ~0ULL;
                while (byte + 8 <= last) {
                    uint64_t w;
                    memcpy(&w, p + byte, 8);
                    if (w != sw)
                        break;
                    byte += 8;
                }
                while (byte < last && p[byte] == skip)
                    byte++;
                i = byte << 3;
                continue;
            }
        }
        if (((p[i >> 3] >> (7 - (i & 7))) & 1u) == bit)
            return (long long)i;
        i++;
    }
    return -1;
}

/* ---- argument parsing ---------------------------------------------------- */

/* A bit offset argument (Redis's getBitOffsetFromArgument): an integer,
 * or with hash (BITFIELD) "#N" for N times bits; negative or past
 * proto-max-bulk-len bytes is out of range. 0, or -1 after replying. */
static int parse_bit_offset(dice_client_t *c, const char *s, size_t n,
                            bool hash, unsigned bits, uint64_t *out) {
    long long v;
    size_t skip = hash && n > 0 && s[0] == '#' ? 1 : 0;
    if (!dice__str2ll(s + skip, n - skip, &v)) {
        REPLY_ERR(c, ERR_BIT_OFFSET);
        return -1;
    }
    if (skip) /* wraps like Redis's multiplication */
        v = (long long)((unsigned long long)v * bits);
    if (v < 0 || (v >> 3) >= c->srv->cfg.proto_max_bulk_len) {
        REPLY_ERR(c, ERR_BIT_OFFSET);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

/* The string at key for a write that reaches byte minlen - 1: found and
 * grown, or created zero-filled. 0 with ref/r set (*created), or -1 after
 * replying. */
static int bits_for_write(dice_client_t *c, const char *key, size_t klen,
                          size_t minlen, dice__strref *ref, rawstr **r,
                          bool *created, bool *grown) {
    dice_db_t *db = dice__cmd_db(c);
    int rc = dice__string_find(db, key, klen, ref);
    *created = *grown = false;
    if (rc == DICE_EWRONGTYPE) {
        dice__reply_err(c, DICE__ERR_WRONGTYPE);
        return -1;
    }
    if (rc == DICE_ENOENT) {
        *r = dice__string_create(db, key, klen, NULL, 0, minlen, ref);
        *created = true;
    } else {
        char nb[DICE_DB_NUMBUF];
        const char *p;
        size_t n;
        dice__string_text(ref->e, nb, &p, &n);
        *grown = n < minlen;
        *r = dice__string_raw(db, ref, minlen);
    }
    if (!*r) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return -1;
    }
    return 0;
}

/* ---- Bitmap commands ----------------------------------------------------- */

/* SETBIT key offset value */
static DICE__CMD_FN(cmd_setbit) {
    uint64_t off;
    long long on;
    if (parse_bit_offset(c, argv[2], argvlen[2], false, 0, &off) < 0)
        return;
    if (!dice__str2ll(argv[3], argvlen[3], &on) || (on & ~1LL)) {
        REPLY_ERR(c, ERR_BIT_VALUE);
        return;
    }
    dice__strref ref;
    rawstr *r;
    bool created, grown;
    if (bits_for_write(c, argv[1], argvlen[1], (size_t)(off >> 3) + 1, &ref, &r,
                       &created, &grown) < 0)
        return;
    uint8_t *p = (uint8_t *)r->data;
    unsigned old = bit_get(p, r->len, off);
    if (old != (unsigned)on)
        bit_put(p, off, (unsigned)on);
    if (created || grown || old != (unsigned)on) {
        if (!created)
            dice__string_changed(dice__cmd_db(c), &ref);
        dice__cmd_notify(c, DICE__NOTIFY_STRING, "setbit", argv[1], argvlen[1]);
    }
    dice_reply_int(c, old);
}

/* GETBIT key offset */
static DICE__CMD_FN(cmd_getbit) {
    uint64_t off;
    if (parse_bit_offset(c, argv[2], argvlen[2], false, 0, &off) < 0)
        return;
    char nb[DICE_DB_NUMBUF];
    const char *p;
    size_t n;
    int rc = dice_db_get(dice__cmd_db(c), argv[1], argvlen[1], nb, &p, &n);
    if (rc == DICE_ENOENT) {
        dice__cmd_keymiss(c, argv[1], argvlen[1]);
        dice_reply_int(c, 0);
    } else if (rc < 0) {
        dice__reply_dberr(c, rc);
    } else {
        dice_reply_int(c, bit_get((const uint8_t *)p, n, off));
    }
}

/* BYTE or BIT: 0 / 1, or -1 after replying a syntax error. */
static int parse_unit(dice_client_t *c, const char *s, size_t n) {
    if (dice__opt_is(s, n, "bit"))
        return 1;
    if (dice__opt_is(s, n, "byte"))
        return 0;
    dice__reply_err(c, DICE__ERR_SYNTAX);
    return -1;
}

/* Negative indexes from the end, then both clamped into [0, total - 1]
 * (Redis's rule for BITCOUNT and BITPOS ranges). */
static void clamp_range(long long total, long long *start, long long *end) {
    if (*start < 0)
        *start += total;
    if (*end < 0)
        *end += total;
    if (*start < 0)
        *start = 0;
    if (*end < 0)
        *end = 0;
    if (*end >= total)
        *end = total - 1;
}

/* BITCOUNT key [start end [BYTE | BIT]] */
static DICE__CMD_FN(cmd_bitcount) {
    char nb[DICE_DB_NUMBUF];
    const char *v;
    size_t n;
    int rc = dice_db_get(dice__cmd_db(c), argv[1], argvlen[1], nb, &v, &n);
    if (rc == DICE_ENOENT) { /* before the range is even parsed */
        dice__cmd_keymiss(c, argv[1], argvlen[1]);
        dice_reply_int(c, 0);
        return;
    }
    if (rc < 0) {
        dice__reply_dberr(c, rc);
        return;
    }
    const uint8_t *p = (const uint8_t *)v;
    long long start = 0, end = (long long)n - 1;
    int isbit = 0;
    if (argc == 4 || argc == 5) {
        if (dice__parse_ll_or_reply(c, argv[2], argvlen[2], &start) < 0 ||
            dice__parse_ll_or_reply(c, argv[3], argvlen[3], &end) < 0)
            return;
        if (argc == 5 && (isbit = parse_unit(c, argv[4], argvlen[4])) < 0)
            return;
        long long total = (long long)n << (isbit ? 3 : 0);
        if (start < 0 && end < 0 && start > end) {
            dice_reply_int(c, 0);
            return;
        }
        clamp_range(total, &start, &end);
    } else if (argc != 2) {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return;
    }
    if (start > end) {
        dice_reply_int(c, 0);
        return;
    }
    if (!isbit) {
        dice_reply_int(
            c, (long long)popcount(p + start, (size_t)(end - start + 1)));
        return;
    }
    /* Bit range: count the bytes it touches, minus the bits of the edge
     * bytes outside it. */
    size_t b0 = (size_t)(start >> 3), b1 = (size_t)(end >> 3);
    uint64_t cnt = popcount(p + b0, b1 - b0 + 1);
    uint8_t outside[2] = {
        (uint8_t)(p[b0] & ~(0xffu >> (start & 7))),
        (uint8_t)(p[b1] & ((1u << (7 - (end & 7))) - 1)),
    };
    cnt -= popcount(outside, 2);
    dice_reply_int(c, (long long)cnt);
}

/* BITPOS key bit [start [end [BYTE | BIT]]] */
static DICE__CMD_FN(cmd_bitpos) {
    long long bit;
    if (dice__parse_ll_or_reply(c, argv[2], argvlen[2], &bit) < 0)
        return;
    if (bit != 0 && bit != 1) {
        REPLY_ERR(c, "ERR The bit argument must be 1 or 0.");
        return;
    }
    char nb[DICE_DB_NUMBUF];
    const char *v;
    size_t n;
    int rc = dice_db_get(dice__cmd_db(c), argv[1], argvlen[1], nb, &v, &n);
    if (rc == DICE_ENOENT) {
        /* An infinite array of zeros. */
        dice__cmd_keymiss(c, argv[1], argvlen[1]);
        dice_reply_int(c, bit ? -1 : 0);
        return;
    }
    if (rc < 0) {
        dice__reply_dberr(c, rc);
        return;
    }
    long long start = 0, end = (long long)n - 1;
    int isbit = 0;
    bool end_given = false;
    if (argc >= 4 && argc <= 6) {
        if (dice__parse_ll_or_reply(c, argv[3], argvlen[3], &start) < 0)
            return;
        if (argc == 6 && (isbit = parse_unit(c, argv[5], argvlen[5])) < 0)
            return;
        long long total = (long long)n << (isbit ? 3 : 0);
        if (argc >= 5) {
            if (dice__parse_ll_or_reply(c, argv[4], argvlen[4], &end) < 0)
                return;
            end_given = true;
        } else {
            end = total - 1;
        }
        clamp_range(total, &start, &end);
    } else if (argc != 3) {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return;
    }
    if (start > end) { /* an empty range holds neither a 0 nor a 1 */
        dice_reply_int(c, -1);
        return;
    }
    uint64_t from = (uint64_t)start, to = (uint64_t)end;
    if (!isbit) {
        from <<= 3;
        to = (to << 3) + 7;
    }
    long long pos = bit_find((const uint8_t *)v, from, to, (unsigned)bit);
    /* No clear bit in the range: without an explicit end the string is
     * taken as padded with zeros, so the answer is the bit after it. */
    if (pos < 0 && bit == 0 && !end_given)
        pos = (long long)to + 1;
    dice_reply_int(c, pos);
}

/* BITOP <AND | OR | XOR | NOT> destkey key [key ...] */
static DICE__CMD_FN(cmd_bitop) {
    enum { AND, OR, XOR, NOT } op;
    if (dice__opt_is(argv[1], argvlen[1], "and"))
        op = AND;
    else if (dice__opt_is(argv[1], argvlen[1], "or"))
        op = OR;
    else if (dice__opt_is(argv[1], argvlen[1], "xor"))
        op = XOR;
    else if (dice__opt_is(argv[1], argvlen[1], "not"))
        op = NOT;
    else {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return;
    }
    if (op == NOT && argc != 4) {
        REPLY_ERR(c, "ERR BITOP NOT must be called with a single source key.");
        return;
    }
    dice_db_t *db = dice__cmd_db(c);
    size_t nk = (size_t)argc - 3;
    /* The sources' bytes: pointers into their entries, int-encoded values
     * formatted into one numbuf each. */
    struct src {
        const uint8_t *p;
        size_t n;
        char nb[DICE_DB_NUMBUF];
    } one[4], *src = nk <= 4 ? one : malloc(nk * sizeof(*src));
    if (!src) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    size_t maxlen = 0;
    for (size_t j = 0; j < nk; j++) {
        const char *v;
        int rc = dice_db_get(db, argv[3 + j], argvlen[3 + j], src[j].nb, &v,
                             &src[j].n);
        if (rc == DICE_ENOENT) {
            dice__cmd_keymiss(c, argv[3 + j], argvlen[3 + j]);
            src[j].p = NULL;
            src[j].n = 0;
            continue;
        }
        if (rc < 0) {
            dice__reply_dberr(c, rc);
            goto out;
        }
        src[j].p = (const uint8_t *)v;
        if (src[j].n > maxlen)
            maxlen = src[j].n;
    }
    if (maxlen == 0) {
        if (dice_db_delete(db, argv[2], argvlen[2]))
            dice__cmd_notify(c, DICE__NOTIFY_GENERIC, "del", argv[2],
                             argvlen[2]);
        dice_reply_int(c, 0);
        goto out;
    }
    rawstr *r = malloc(sizeof(rawstr) + maxlen);
    if (!r) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        goto out;
    }
    r->len = r->cap = maxlen;
    uint8_t *d = (uint8_t *)r->data;
    /* The first source, zero-padded, then each other one folded in. */
    if (src[0].n)
        memcpy(d, src[0].p, src[0].n);
    memset(d + src[0].n, 0, maxlen - src[0].n);
    if (op == NOT) {
        for (size_t i = 0; i < maxlen; i++)
            d[i] = (uint8_t)~d[i];
    }
    for (size_t j = 1; j < nk; j++) {
        const uint8_t *s = src[j].p;
        size_t n = src[j].n;
        if (op == AND) {
            for (size_t i = 0; i < n; i++)
                d[i] &= s[i];
            memset(d + n, 0, maxlen - n);
        } else if (op == OR) {
            for (size_t i = 0; i < n; i++)
                d[i] |= s[i];
        } else {
            for (size_t i = 0; i < n; i++)
                d[i] ^= s[i];
        }
    }
    int rc = dice__string_adopt(db, argv[2], argvlen[2], r);
    if (rc < 0) {
        dice__reply_dberr(c, rc);
        goto out;
    }
    dice__cmd_notify(c, DICE__NOTIFY_STRING, "set", argv[2], argvlen[2]);
    dice_reply_int(c, (long long)maxlen);
out:
    if (src != one)
        free(src);
}

/* ---- BITFIELD ------------------------------------------------------------ */

enum { BF_GET, BF_SET, BF_INCRBY };
enum { OV_WRAP, OV_SAT, OV_FAIL };

typedef struct bf_op {
    uint64_t offset;
    int64_t arg; /* SET value or INCRBY increment */
    uint8_t op, overflow, bits, sign;
} bf_op;

/* A type argument: i1..i64 or u1..u63 (lower case only, as in Redis). 0,
 * or -1 after replying. */
static int parse_bf_type(dice_client_t *c, const char *s, size_t n,
                         uint8_t *sign, uint8_t *bits) {
    long long b;
    /* Redis reads the width up to a NUL byte. */
    const char *z = n ? memchr(s + 1, '\0', n - 1) : NULL;
    size_t wn = n ? (z ? (size_t)(z - s - 1) : n - 1) : 0;
    if (n == 0 || (s[0] != 'i' && s[0] != 'u') ||
        !dice__str2ll(s + 1, wn, &b) || b < 1 || b > (s[0] == 'i' ? 64 : 63)) {
        REPLY_ERR(c, ERR_BF_TYPE);
        return -1;
    }
    *sign = s[0] == 'i';
    *bits = (uint8_t)b;
    return 0;
}

/* The result of adding incr to value in a field of the op's width and
 * sign: 0 in range (*res the sum), else the overflow, with *res what the
 * op's policy writes (WRAP: the sum modulo 2^bits; SAT: the limit).
 * Redis's checkSignedBitfieldOverflow decides with int64 differences
 * that may wrap (max - value, min - value), and a SET is checked as
 * value + 0: a SET far below a signed field's range saturates to its
 * maximum there. The same tests, with the wrap made explicit (unsigned
 * arithmetic), so the bytes written are Redis's. */
static int64_t wrap_sub(int64_t a, int64_t b) {
    return (int64_t)((uint64_t)a - (uint64_t)b);
}

static int bf_add(const bf_op *o, uint64_t value, int64_t incr, uint64_t *res) {
    unsigned bits = o->bits;
    int dir = 0; /* 1 above the range, -1 below */
    uint64_t limit = 0;
    if (o->sign) {
        int64_t v = (int64_t)value;
        int64_t max =
            bits == 64 ? INT64_MAX : (int64_t)((1ULL << (bits - 1)) - 1);
        int64_t min = -max - 1;
        int64_t maxincr = wrap_sub(max, v), minincr = wrap_sub(min, v);
        if (v > max || (bits != 64 && incr > maxincr) ||
            (v >= 0 && incr > 0 && incr > maxincr)) {
            dir = 1;
            limit = (uint64_t)max;
        } else if (v < min || (bits != 64 && incr < minincr) ||
                   (v < 0 && incr < 0 && incr < minincr)) {
            dir = -1;
            limit = (uint64_t)min;
        }
    } else {
        uint64_t max = bits == 64 ? UINT64_MAX : (1ULL << bits) - 1;
        int64_t maxincr = (int64_t)(max - value);
        int64_t minincr = (int64_t)(0 - value);
        if (value > max || (incr > 0 && incr > maxincr)) {
            dir = 1;
            limit = max;
        } else if (incr < 0 && incr < minincr) {
            dir = -1;
            limit = 0;
        }
    }
    uint64_t w = value + (uint64_t)incr;
    if (dir == 0 || o->overflow != OV_SAT) {
        if (bits < 64) {
            uint64_t mask = ~0ULL << bits;
            if (o->sign && (w & (1ULL << (bits - 1))))
                w |= mask;
            else
                w &= ~mask;
        }
        *res = w;
    } else {
        *res = limit;
    }
    return dir != 0;
}

static void bf_reply(dice_client_t *c, uint64_t v) {
    dice_reply_int(c, (long long)v); /* a u63 fits, an i64 is its bits */
}

static void bitfield_generic(dice_client_t *c, int argc,
                             const char *const *argv, const size_t *argvlen,
                             bool ro) {
    bf_op few[8], *ops = few;
    size_t nops = 0, cap = 8;
    uint8_t overflow = OV_WRAP;
    bool readonly = true;
    uint64_t highest = 0;
    for (int j = 2; j < argc; j++) {
        int rem = argc - j - 1;
        const char *s = argv[j];
        size_t n = argvlen[j];
        bf_op o = {0};
        if (dice__opt_is(s, n, "get") && rem >= 2) {
            o.op = BF_GET;
        } else if (dice__opt_is(s, n, "set") && rem >= 3) {
            o.op = BF_SET;
        } else if (dice__opt_is(s, n, "incrby") && rem >= 3) {
            o.op = BF_INCRBY;
        } else if (dice__opt_is(s, n, "overflow") && rem >= 1) {
            j++;
            if (dice__opt_is(argv[j], argvlen[j], "wrap"))
                overflow = OV_WRAP;
            else if (dice__opt_is(argv[j], argvlen[j], "sat"))
                overflow = OV_SAT;
            else if (dice__opt_is(argv[j], argvlen[j], "fail"))
                overflow = OV_FAIL;
            else {
                REPLY_ERR(c, "ERR Invalid OVERFLOW type specified");
                goto out;
            }
            continue;
        } else {
            dice__reply_err(c, DICE__ERR_SYNTAX);
            goto out;
        }
        if (parse_bf_type(c, argv[j + 1], argvlen[j + 1], &o.sign, &o.bits) <
                0 ||
            parse_bit_offset(c, argv[j + 2], argvlen[j + 2], true, o.bits,
                             &o.offset) < 0)
            goto out;
        if (o.op != BF_GET) {
            long long a;
            readonly = false;
            if (highest < o.offset + o.bits - 1)
                highest = o.offset + o.bits - 1;
            if (dice__parse_ll_or_reply(c, argv[j + 3], argvlen[j + 3], &a) < 0)
                goto out;
            o.arg = a;
        }
        o.overflow = overflow;
        if (nops == cap) {
            size_t nc = cap * 2;
            bf_op *no = ops == few ? malloc(nc * sizeof(*no))
                                   : realloc(ops, nc * sizeof(*no));
            if (!no) {
                dice__reply_err(c, DICE__ERR_NOMEM);
                goto out;
            }
            if (ops == few)
                memcpy(no, few, sizeof(few));
            ops = no;
            cap = nc;
        }
        ops[nops++] = o;
        j += o.op == BF_GET ? 2 : 3;
    }
    dice_db_t *db = dice__cmd_db(c);
    const uint8_t *p = NULL;
    size_t plen = 0;
    char nb[DICE_DB_NUMBUF];
    dice__strref ref;
    rawstr *r = NULL;
    bool sized = false; /* the write created or grew the string */
    if (readonly) {
        const char *v;
        int rc = dice_db_get(db, argv[1], argvlen[1], nb, &v, &plen);
        if (rc == DICE_ENOENT) {
            dice__cmd_keymiss(c, argv[1], argvlen[1]);
            plen = 0;
        } else if (rc < 0) {
            dice__reply_dberr(c, rc);
            goto out;
        } else {
            p = (const uint8_t *)v;
        }
    } else {
        if (ro) {
            REPLY_ERR(c, "ERR BITFIELD_RO only supports the GET subcommand");
            goto out;
        }
        bool created, grown;
        if (bits_for_write(c, argv[1], argvlen[1], (size_t)(highest >> 3) + 1,
                           &ref, &r, &created, &grown) < 0)
            goto out;
        sized = created || grown;
    }
    dice_reply_array(c, nops);
    size_t changes = 0;
    for (size_t i = 0; i < nops; i++) {
        const bf_op *o = &ops[i];
        if (r) {
            p = (const uint8_t *)r->data;
            plen = r->len;
        }
        uint64_t old =
            o->sign ? (uint64_t)field_get_signed(p, plen, o->offset, o->bits)
                    : field_get(p, plen, o->offset, o->bits);
        if (o->op == BF_GET) {
            bf_reply(c, old);
            continue;
        }
        /* SET is INCRBY by (new - old): one overflow rule for both. */
        uint64_t nv;
        int ov = o->op == BF_INCRBY ? bf_add(o, old, o->arg, &nv)
                                    : bf_add(o, (uint64_t)o->arg, 0, &nv);
        if (ov && o->overflow == OV_FAIL) {
            dice_reply_null(c); /* nothing written */
            continue;
        }
        bf_reply(c, o->op == BF_INCRBY ? nv : old);
        field_put((uint8_t *)r->data, o->offset, o->bits, nv);
        /* Like Redis: a write counts when it changed the field, or when
         * the string had to be created or grown for the command. */
        if (sized || nv != old)
            changes++;
    }
    if (changes) {
        dice__string_changed(db, &ref);
        dice__cmd_notify(c, DICE__NOTIFY_STRING, "setbit", argv[1], argvlen[1]);
    }
out:
    if (ops != few)
        free(ops);
}

/* BITFIELD key [GET type offset | SET type offset value | INCRBY type
 * offset increment | OVERFLOW <WRAP | SAT | FAIL>] ... */
static DICE__CMD_FN(cmd_bitfield) {
    bitfield_generic(c, argc, argv, argvlen, false);
}

/* BITFIELD_RO key [GET type offset ...] */
static DICE__CMD_FN(cmd_bitfield_ro) {
    bitfield_generic(c, argc, argv, argvlen, true);
}

/* ---- registration -------------------------------------------------------- */

#define W DICE_CMD_WRITE
#define R DICE_CMD_READONLY
#define M DICE_CMD_DENYOOM
#define F DICE_CMD_FAST

static const dice__cmd_desc bit_cmds[] = {
    {"setbit", 4, W | M, 1, 1, 1, cmd_setbit, NULL,
     "Set or clear one bit of a string value, growing it as needed", "2.2.0",
     "O(1)", 0, NULL, NULL, NULL},
    {"getbit", 3, R | F, 1, 1, 1, cmd_getbit, NULL,
     "Return one bit of a string value", "2.2.0", "O(1)", 0, NULL, NULL, NULL},
    {"bitcount", -2, R, 1, 1, 1, cmd_bitcount, NULL,
     "Count the set bits of a string value, or of a byte or bit range", "2.6.0",
     "O(N)", 0, NULL, NULL, NULL},
    {"bitpos", -3, R, 1, 1, 1, cmd_bitpos, NULL,
     "Find the first set or clear bit of a string value, or of a range",
     "2.8.7", "O(N)", 0, NULL, NULL, NULL},
    {"bitop", -4, W | M, 2, -1, 1, cmd_bitop, NULL,
     "Store the bitwise AND, OR, XOR or NOT of string values", "2.6.0", "O(N)",
     0, NULL, NULL, NULL},
    {"bitfield", -2, W | M, 1, 1, 1, cmd_bitfield, NULL,
     "Read, write and increment integer fields of any width at any bit "
     "offset of a string value",
     "3.2.0", "O(1) for each subcommand specified", 0, NULL, NULL, NULL},
    {"bitfield_ro", -2, R | F, 1, 1, 1, cmd_bitfield_ro, NULL,
     "Read integer fields of a string value (BITFIELD's GET only)", "6.0.0",
     "O(1) for each subcommand specified", 0, NULL, NULL, NULL},
};

#undef W
#undef R
#undef M
#undef F

#define KS_OF(a) a, (int)DICE__COUNT(a)

/* Redis 7.0's key specs where they differ from the derived one. */
static const dice__key_spec ks_setbit[] = {DICE__KS_RANGE(
    DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_UPDATE, 1, 0, 1, 0)};
static const dice__key_spec ks_bitop[] = {
    DICE__KS_RANGE(DICE__KS_OW | DICE__KS_UPDATE, 2, 0, 1, 0),
    DICE__KS_RANGE(DICE__KS_RO | DICE__KS_ACCESS, 3, -1, 1, 0)};
static const dice__key_spec ks_bitfield[] = {
    {"This command allows both access and modification of the key",
     DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_UPDATE | DICE__KS_VARIABLE_FLAGS,
     DICE__BS_INDEX,
     1,
     NULL,
     DICE__FK_RANGE,
     {0, 1, 0}}};
static const dice__cmd_keyspecs bit_keyspecs[] = {
    {"setbit", KS_OF(ks_setbit)},
    {"bitop", KS_OF(ks_bitop)},
    {"bitfield", KS_OF(ks_bitfield)},
};
#undef KS_OF

int dice__builtin_bitmaps(dice_server_t *srv) {
    int rc = dice__command_register(srv, NULL, "bitmap", bit_cmds,
                                    DICE__COUNT(bit_cmds));
    if (rc < 0)
        return rc;
    return dice__command_set_keyspecs(srv, bit_keyspecs,
                                      DICE__COUNT(bit_keyspecs));
}
