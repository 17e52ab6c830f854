/* Redis's RDB encodings of lengths and strings, the pieces every type's
 * serialize/deserialize method is written with (RDB object payloads are
 * sequences of these). Pure byte codecs: no keys, no I/O of their own. */
#ifndef DICE_TYPES_RDB_H
#define DICE_TYPES_RDB_H

#include "dice/db.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RDB object type bytes of Redis 7.0 (rdb.h) that the types read/write. */
#define DICE__RDB_TYPE_HASH 4
#define DICE__RDB_TYPE_HASH_LISTPACK 16

/* RDB version this library writes (Redis 7.0's) and the newest it
 * reads. */
#define DICE__RDB_VERSION 10

/* Longest header dice__rdb_put_len writes. */
#define DICE__RDB_LEN_MAX 9

/* An RDB length (6-bit, 14-bit, 0x80 + 32-bit or 0x81 + 64-bit big-endian)
 * into dst; returns its size. */
size_t dice__rdb_put_len(uint8_t *dst, uint64_t v);
/* The header of an LZF-compressed RDB string (0xC3, then the compressed
 * length clen and the plain length ulen), for bytes already compressed
 * (a quicklist's compressed node), into dst (1 + 2 * DICE__RDB_LEN_MAX
 * bytes); returns its size. The clen LZF bytes follow it. */
size_t dice__rdb_put_lzf_header(uint8_t *dst, uint64_t clen, uint64_t ulen);
/* Write a length, or a string: a canonical integer in int32 range as
 * 0xC0/0xC1/0xC2 and 1, 2 or 4 bytes little-endian (as Redis), anything
 * else as a length and the bytes. Return write's result. */
int dice__rdb_write_len(dice_type_write_fn write, void *wctx, uint64_t v);
int dice__rdb_write_string(dice_type_write_fn write, void *wctx, const char *s,
                           size_t n);

/* Read an RDB length at d (len bytes available): 0 with *v and *used set,
 * DICE_EAGAIN (more bytes needed) or DICE_EPROTO (not a length). */
int dice__rdb_read_len(const uint8_t *d, size_t len, uint64_t *v, size_t *used);
/* Read an RDB string at d: plain, int-encoded or LZF-compressed (0xC3).
 * On success *s points at its bytes (into d for a plain one, else into
 * *owned, a malloc'd buffer the caller frees, or into numbuf, which holds
 * at least 21 bytes, for an integer), *n its length and *used the bytes
 * it took. Strings longer than max are refused. Returns 0, DICE_EAGAIN,
 * DICE_EPROTO or DICE_ENOMEM. */
int dice__rdb_read_string(const uint8_t *d, size_t len, size_t max,
                          char *numbuf, char **owned, const char **s, size_t *n,
                          size_t *used);

/* A cursor over len bytes at p, for deserializers that read item after
 * item: pos advances past what each call read (on error it stays). */
typedef struct dice__rdb_in {
    const uint8_t *p;
    size_t len, pos;
} dice__rdb_in;

/* dice__rdb_read_len / dice__rdb_read_string at the cursor. */
int dice__rdb_in_len(dice__rdb_in *in, uint64_t *v);
int dice__rdb_in_string(dice__rdb_in *in, size_t max, char *numbuf,
                        char **owned, const char **s, size_t *n);

/* ---- the buffered writer every RDB byte goes through ---------------------

 * A sink collects what an encoder writes (the whole-file writer, DUMP, an
 * AOF base later) in a 64 KB buffer and hands it on in big chunks to out,
 * keeping Redis's CRC-64 of everything written when checksum is set. Pass
 * dice__rdb_sink_write and the sink as a type's write/wctx: then
 * dice__rdb_write_string LZF-compresses strings over 20 bytes when the
 * sink's compress is set, as Redis's rdbcompression does. Errors stick:
 * after out fails once every write returns its code. */
#define DICE__RDB_SINK_BUF 65536
typedef struct dice__rdb_sink {
    dice_type_write_fn out; /* downstream: a file, a buffer */
    void *out_ctx;
    int compress; /* LZF for strings over 20 bytes */
    int checksum; /* keep crc */
    uint64_t crc;
    uint64_t written; /* bytes accepted so far */
    int err;          /* first error of out, sticky */
    size_t used;      /* bytes in buf */
    uint8_t *lzf;     /* compression scratch (malloc'd, grows) */
    size_t lzf_cap;
    /* A value's head (see dice__rdb_sink_head), written just before the
     * first payload byte; payload bytes that come while *hformat is still
     * unset are held until it is. */
    int hpending, hkeyed;
    const unsigned *hformat;
    const char *hkey;
    size_t hklen;
    uint8_t *held;
    size_t hlen, hcap;
    uint8_t buf[DICE__RDB_SINK_BUF];
} dice__rdb_sink;

void dice__rdb_sink_init(dice__rdb_sink *s, dice_type_write_fn out,
                         void *out_ctx, int compress, int checksum);
/* A dice_type_write_fn: ctx is the sink. */
int dice__rdb_sink_write(void *sink, const void *data, size_t len);
/* Arm the head of a value: before the next byte written, the RDB type
 * byte *format (set by a type's serialize method, to DICE__RDB_FORMAT_UNSET
 * before the call) and, when key is not NULL, the key as an RDB string.
 * dice__rdb_sink_end_value writes the head if nothing was written since,
 * and returns DICE_EINVAL if the format was never set. */
#define DICE__RDB_FORMAT_UNSET (~0u)
void dice__rdb_sink_head(dice__rdb_sink *s, const unsigned *format,
                         const char *key, size_t klen);
int dice__rdb_sink_end_value(dice__rdb_sink *s);
/* Hand the buffered bytes to out (the crc is then complete). */
int dice__rdb_sink_flush(dice__rdb_sink *s);
/* Free the scratch (not the sink itself, usually on the stack or heap of
 * the caller). */
void dice__rdb_sink_release(dice__rdb_sink *s);

/* ---- encodings older Redis wrote (lib/types/rdb_legacy.c) ----------------

 * Rewrite a payload of RDB object type fmt that only older Redis writes
 * (3 zset with text scores, 9 zipmap, 10/12/13 ziplists, 14 quicklist of
 * ziplists) at p (len bytes) into the encoding the types read (5, 16, 17,
 * 18): *newfmt gets its type, *out a malloc'd payload of *outlen bytes the
 * caller frees, *used the bytes of p it replaces. Returns 0, DICE_EINVAL
 * (fmt is not one of these: load it as it is), DICE_ENOENT (an empty
 * collection, which Redis skips; *used is set), DICE_EAGAIN, DICE_EPROTO or
 * DICE_ENOMEM. */
int dice__rdb_legacy_convert(unsigned fmt, const uint8_t *p, size_t len,
                             unsigned *newfmt, uint8_t **out, size_t *outlen,
                             size_t *used);

/* ---- values and whole datasets (lib/types/rdb_file.c) --------------------

 * Everything goes through the types' serialize/deserialize methods; this
 * layer knows only the framing and which RDB object type (the byte before
 * a value) belongs to which dice type. */

/* The dice type (enum dice_type) of an RDB object type byte, or -1. */
int dice__rdb_type_of(unsigned rdbtype);

/* Write entry e's value (type byte, key as an RDB string unless key is
 * NULL, then the payload from its type's serialize method) into s.
 * Returns 0, DICE_ESTATE (the type has no serialize method) or an error
 * of the method or the sink. */
int dice__rdb_write_value(dice_keyspace_t *ks, uint8_t *e,
                          struct dice__rdb_sink *s, const char *key,
                          size_t klen);

/* Build a value from the payload of RDB object type rdbtype at p (len
 * bytes available): older encodings are rewritten first, then the type's
 * deserialize method runs. On success *dtype gets the dice type, *obj the
 * new value (a rawstr for a string; free with dice__rdb_free_object or
 * store with dice__rdb_store) and *used the payload's bytes. Returns 0,
 * DICE_ENOENT (an empty collection Redis skips; *used set), DICE_ESTATE
 * (no type or method loads it; module values), DICE_EINVAL (the method
 * does not read this encoding), DICE_EAGAIN, DICE_EPROTO or DICE_ENOMEM. */
int dice__rdb_load_object(dice_keyspace_t *ks, unsigned rdbtype,
                          const uint8_t *p, size_t len, size_t *used,
                          int *dtype, void **obj);
void dice__rdb_free_object(dice_keyspace_t *ks, int dtype, void *obj);
/* Store a loaded value at key (replacing any), with expire_ms (-1: none),
 * then its access clock from freq or idle (-1: not given; see
 * dice__ks_entry_set_access). Takes obj, even on failure. Returns as
 * dice_db_set / dice_db_set_object. */
int dice__rdb_store(dice_db_t *db, const char *key, size_t klen, int dtype,
                    void *obj, int64_t expire_ms, long long freq,
                    long long idle);

/* DUMP: entry e's payload as Redis makes it (type byte, payload, RDB
 * version as 2 bytes little-endian, CRC-64 of all that as 8 bytes
 * little-endian) into out. Strings over 20 bytes are LZF-compressed when
 * compress is set (rdbcompression). Returns 0 or a negative code. */
int dice__rdb_dump(dice_keyspace_t *ks, uint8_t *e, int compress,
                   dice_type_write_fn out, void *out_ctx);
/* RESTORE's check of a payload's footer: 0, or DICE_EPROTO for a version
 * newer than this library's or a wrong checksum (Redis's "DUMP payload
 * version or checksum are wrong"). */
int dice__rdb_verify_payload(const uint8_t *p, size_t len);

/* Which access clock a file carries for each key (Redis writes what its
 * maxmemory-policy keeps: LRU idle seconds or the LFU counter). */
enum { DICE__RDB_CLOCK_NONE = 0, DICE__RDB_CLOCK_IDLE, DICE__RDB_CLOCK_FREQ };

typedef struct dice__rdb_save_opts {
    int compress;        /* rdbcompression */
    int checksum;        /* rdbchecksum: 0 writes a zero checksum */
    int clock;           /* DICE__RDB_CLOCK_* */
    int aof_base;        /* the aof-base aux field (an AOF's RDB preamble) */
    int64_t now_ms;      /* ctime */
    long long used_mem;  /* used-mem */
    const char *version; /* redis-ver; NULL: the Redis version served */
    /* The function libraries (Redis's rdbSaveFunctions), written after the
     * aux fields as one FUNCTION2 opcode and the library's code each:
     * functions(functions_ctx, put, sink) calls put(sink, code, len) for
     * every library and returns 0 or put's error. NULL: none. */
    int (*functions)(void *functions_ctx,
                     int (*put)(void *sink, const char *code, size_t len),
                     void *sink);
    void *functions_ctx;
} dice__rdb_save_opts;

/* Write every live key of every db as an RDB file (magic, aux fields,
 * SELECTDB/RESIZEDB per non-empty db, the keys with their expire times and
 * clocks, EOF, checksum) through out, buffered in 64 KB chunks. *nkeys
 * (may be NULL) gets the keys written. Returns 0, or the first error of
 * out or a type's serialize method (DICE_ESTATE: a type that cannot be
 * serialized). */
int dice__rdb_save_keyspace(dice_keyspace_t *ks, const dice__rdb_save_opts *o,
                            dice_type_write_fn out, void *out_ctx,
                            uint64_t *nkeys);

struct dice__rdb_load_info;

typedef struct dice__rdb_load_opts {
    int64_t now_ms;      /* keys whose expire time is before are dropped */
    int keep_expired;    /* keep them (an AOF preamble) */
    int verify_checksum; /* rdbchecksum: check a non-zero checksum */
    /* Messages about what was read (producer version, skipped data), at a
     * level of dice/server.h's DICE_LOG_*
     * (0 debug .. 3 warning); may be NULL. */
    void (*log)(void *ctx, int level, const char *msg);
    void *log_ctx;
    /* A function library read (FUNCTION2 opcode): function(function_ctx,
     * code, len, err, errsize) creates it (replacing one of the same name)
     * and returns 0, or -1 with the reason in err, which fails the load.
     * NULL: libraries are skipped (info->functions_skipped counts them). */
    int (*function)(void *function_ctx, const char *code, size_t len, char *err,
                    size_t errsize);
    void *function_ctx;
    /* Called between keys once the read position has passed
     * progress_every bytes since the last call (Redis's
     * rdbLoadProgressCallback, loading-process-events-interval-bytes):
     * progress(progress_ctx, position, info so far). The keyspace holds
     * every key read before it. NULL or 0: never. A true return stops
     * the load there: dice__rdb_load returns DICE_ECLOSED (a shutdown
     * asked while loading; the keys read so far stay in the keyspace). */
    bool (*progress)(void *progress_ctx, size_t pos,
                     const struct dice__rdb_load_info *info);
    void *progress_ctx;
    size_t progress_every;
} dice__rdb_load_opts;

typedef struct dice__rdb_load_info {
    int version;
    long long ctime;
    int aof_base;
    uint64_t keys_loaded, keys_expired, keys_empty, functions_skipped;
    long long used_mem; /* the used-mem aux field, 0 without one */
    size_t used;        /* bytes of the file, checksum included */
    size_t err_offset;  /* where the problem is, on failure */
    char err[200];      /* what it is */
} dice__rdb_load_info;

/* Load an RDB file (len bytes at p) into ks (o must not be NULL). Keys
 * replace existing ones of the same name. Returns 0 (info->used says
 * where the file ended), DICE_EAGAIN (the bytes end before the file does:
 * truncated), DICE_EPROTO (malformed, or a checksum mismatch) or
 * DICE_ENOMEM, with info->err and info->err_offset saying what and
 * where; keys loaded before the problem stay. */
int dice__rdb_load(dice_keyspace_t *ks, const uint8_t *p, size_t len,
                   const dice__rdb_load_opts *o, dice__rdb_load_info *info);

/* ---- plain append-only files (lib/types/aof_rewrite.c) -------------------

 * One command in RESP (*argc, then $len and the bytes of each argument):
 * dice__aof_resp_len gives room enough for it, dice__aof_resp_put writes
 * it at dst and returns its size. */
size_t dice__aof_resp_len(int argc, const size_t *argvlen);
size_t dice__aof_resp_put(char *dst, int argc, const char *const *argv,
                          const size_t *argvlen);
/* Every live key of every db as commands (SELECT per non-empty db, each
 * value's emit_commands, PEXPIREAT for an expire time) in RESP through out,
 * in 64 KB chunks. *nkeys (may be NULL) gets the keys written. Returns 0,
 * DICE_ESTATE (a type without emit_commands), DICE_ENOMEM or out's error. */
int dice__aof_write_keyspace(dice_keyspace_t *ks, dice_type_write_fn out,
                             void *out_ctx, uint64_t *nkeys);

#endif
