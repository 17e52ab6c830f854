/* libdice: the RESP codec.
 *
 * Three independent parts:
 *  - the request parser (server side): turns the bytes a client sent into
 *    commands, as (pointer, length) slices into the caller's buffer, without
 *    copying and without allocating per argument;
 *  - the reply writers: append RESP2 or RESP3 replies to a growable
 *    dice_buf_t, downgrading RESP3-only types for RESP2 clients the way
 *    redis-server 7.0 does;
 *  - the value reader (client side, FFI): feed bytes, get complete values,
 *    built either as a plain C tree (dice_value_t) or by a caller-supplied
 *    constructor callback.
 *
 * Threading: no global state. Each object (parser, buffer, reader) may be
 * used by one thread at a time; distinct objects are independent. */
#ifndef DICE_RESP_H
#define DICE_RESP_H

#include "dice/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Request parser                                                            */
/* ------------------------------------------------------------------------ */

typedef struct dice_req_parser dice_req_parser_t;

/* Create a parser with Redis 7.0's default limits. *out receives a parser
 * the caller owns and frees with dice_req_parser_free(). Returns 0 or
 * DICE_ENOMEM (then *out is NULL). */
DICE_EXPORT int dice_req_parser_new(dice_req_parser_t **out);
/* Free a parser and its argv arrays. NULL is a no-op. */
DICE_EXPORT void dice_req_parser_free(dice_req_parser_t *p);
/* Forget a partially parsed command (e.g. after the caller discarded its
 * input buffer). Limits and the unauthenticated flag are kept. */
DICE_EXPORT void dice_req_parser_reset(dice_req_parser_t *p);

enum {
    /* Largest bulk argument in bytes (proto-max-bulk-len, default 512MB). */
    DICE_REQ_LIMIT_BULK = 1,
    /* Most items in one multibulk request; default INT_MAX, as Redis 7.0
     * ("*2147483648" is "invalid multibulk length"). The count alone
     * allocates argv for at most 1024 items; the arrays grow as arguments
     * actually arrive, so memory follows the bytes received. */
    DICE_REQ_LIMIT_MULTIBULK = 2,
    /* Longest inline line, and longest '*'/'$' header line, without a
     * terminator (PROTO_INLINE_MAX_SIZE, default 64KB). */
    DICE_REQ_LIMIT_INLINE = 3
};
/* Set one limit. Returns 0, or DICE_EINVAL for an unknown `which` or a
 * value < 1 (or > INT_MAX for DICE_REQ_LIMIT_MULTIBULK). Takes effect at
 * the next header parsed. */
DICE_EXPORT int dice_req_parser_set_limit(dice_req_parser_t *p, int which,
                                          long long value);
/* Redis 7: when requirepass is set, an unauthenticated client may send at
 * most 10 multibulk items ("Protocol error: unauthenticated multibulk
 * length") and bulks up to 16384 bytes ("Protocol error: unauthenticated
 * bulk length"). on != 0 enables those checks. Inline commands are not
 * limited (as in Redis). */
DICE_EXPORT void dice_req_parser_set_unauthenticated(dice_req_parser_t *p,
                                                     int on);

/* Parse one command from buf[0..len). buf points at the first unconsumed
 * byte. If the previous call returned DICE_EAGAIN, the caller passes the
 * same unconsumed bytes again (the buffer may have moved) followed by more;
 * the parser resumes where it stopped (it keeps offsets, never pointers), so
 * a big bulk is never rescanned.
 *
 * Returns:
 *  > 0: one command complete, occupying that many bytes from buf (skipped
 *       empty input before it included). argc/argv/argvlen describe it, as
 *       slices into buf, valid until the next call or until buf changes.
 *       Empty inline lines and `*0` / `*-N` multibulks are consumed and
 *       skipped silently; parsing continues with the next command.
 *  DICE_EAGAIN: incomplete. Nothing is consumed, except that
 *       dice_req_parser_skipped() bytes of empty input at buf's start may
 *       be dropped by the caller (it may also pass them again).
 *  DICE_EPROTO: protocol error; dice_req_parser_error() gives Redis's text,
 *       e.g. "Protocol error: invalid bulk length". The caller replies
 *       "-ERR <text>\r\n" and closes. The parser must be reset before reuse.
 *  DICE_EINVAL: len is shorter than what a previous DICE_EAGAIN call saw.
 *  DICE_ENOMEM: growing the argv arrays failed (the command's argument
 *       count exceeds all earlier ones).
 *
 * buf is mutable because inline commands with quotes are unescaped in
 * place (the result is never longer than the source). As in Redis, a
 * bulk's payload is followed by two bytes that are skipped unchecked, and
 * an inline line ends at "\n" with an optional "\r" before it; a NUL byte
 * in an inline line ends the line's arguments (sdssplitargs does that). */
DICE_EXPORT long dice_req_parse(dice_req_parser_t *p, char *buf, size_t len);
/* After DICE_EAGAIN: bytes of skipped empty input (empty lines, `*0`) at
 * buf's start that the caller may drop. It is 0 while a multibulk command
 * is partly parsed, since its saved offsets count from buf's start. */
DICE_EXPORT size_t dice_req_parser_skipped(const dice_req_parser_t *p);
/* The last complete command: argument count, argument pointers into buf,
 * and their lengths. The arrays are owned by the parser. Arguments are not
 * NUL-terminated. */
DICE_EXPORT int dice_req_argc(const dice_req_parser_t *p);
DICE_EXPORT const char *const *dice_req_argv(const dice_req_parser_t *p);
DICE_EXPORT const size_t *dice_req_argvlen(const dice_req_parser_t *p);
/* After DICE_EAGAIN: total bytes (from buf) needed before the parser can
 * make progress, when known (inside a bulk: through the end of that bulk
 * and its CRLF), else 0. Lets the caller size its buffer once. */
DICE_EXPORT size_t dice_req_parser_want(const dice_req_parser_t *p);
/* Text of the last DICE_EPROTO, or "" if none. Owned by the parser. */
DICE_EXPORT const char *dice_req_parser_error(const dice_req_parser_t *p);

/* ------------------------------------------------------------------------ */
/* Output buffer and reply writers                                           */
/* ------------------------------------------------------------------------ */

/* Growable byte buffer (the library embeds it; see lib/resp/resp_internal.h).
 */
typedef struct dice_buf dice_buf_t;
/* Create an empty buffer owned by the caller. Returns 0 or DICE_ENOMEM. */
DICE_EXPORT int dice_buf_new(dice_buf_t **out);
/* Free a buffer and its bytes. NULL is a no-op. */
DICE_EXPORT void dice_buf_free(dice_buf_t *b);
/* The bytes (owned by b; valid until the next append, clear or free) and
 * their count. data may be NULL when len is 0. */
DICE_EXPORT const char *dice_buf_data(const dice_buf_t *b);
DICE_EXPORT size_t dice_buf_len(const dice_buf_t *b);
/* Drop all bytes, keep the allocation. */
DICE_EXPORT void dice_buf_clear(dice_buf_t *b);
/* Append n bytes copied from p. Returns 0 or DICE_ENOMEM (b unchanged). */
DICE_EXPORT int dice_buf_append(dice_buf_t *b, const void *p, size_t n);

/* Writers: append one reply (or an aggregate header, whose elements the
 * caller writes next) to b. proto is 2 or 3 (anything else counts as 2).
 * RESP3-only types are downgraded for proto 2 as Redis does: map -> flat
 * array of 2n, set -> array, push -> array, double -> bulk string, null ->
 * $-1, boolean -> integer 1/0, verbatim -> bulk, big number -> bulk, blob
 * error -> simple error. Attributes have no RESP2 form:
 * dice_resp_write_attribute() returns DICE_EINVAL for proto 2 and the
 * caller must then skip the attribute's pairs too.
 * All return 0 or DICE_ENOMEM (b unchanged); attribute and verbatim may
 * also return DICE_EINVAL. */
/* "+s\r\n"; CR and LF in s are written as spaces to keep the framing. */
DICE_EXPORT int dice_resp_write_simple(dice_buf_t *b, const char *s,
                                       size_t len);
/* "-s\r\n" for s like "ERR foo" (a leading '-' in s is not doubled); CR and
 * LF in s are written as spaces. */
DICE_EXPORT int dice_resp_write_error(dice_buf_t *b, const char *s, size_t len);
DICE_EXPORT int dice_resp_write_int(dice_buf_t *b, long long v);
DICE_EXPORT int dice_resp_write_bulk(dice_buf_t *b, const char *s, size_t len);
/* RESP3 "_", RESP2 "$-1". */
DICE_EXPORT int dice_resp_write_null(dice_buf_t *b, int proto);
/* RESP3 "_", RESP2 "*-1". */
DICE_EXPORT int dice_resp_write_null_array(dice_buf_t *b, int proto);
DICE_EXPORT int dice_resp_write_array(dice_buf_t *b, size_t n);
DICE_EXPORT int dice_resp_write_map(dice_buf_t *b, int proto, size_t npairs);
DICE_EXPORT int dice_resp_write_set(dice_buf_t *b, int proto, size_t n);
DICE_EXPORT int dice_resp_write_push(dice_buf_t *b, int proto, size_t n);
DICE_EXPORT int dice_resp_write_attribute(dice_buf_t *b, int proto,
                                          size_t npairs);
/* Formatted as redis-server 7.0 does: "%.17g", with "inf", "-inf" and
 * "nan" spelled out. RESP3 ",1.5\r\n", RESP2 "$3\r\n1.5\r\n". */
DICE_EXPORT int dice_resp_write_double(dice_buf_t *b, int proto, double d);
/* RESP3 "#t"/"#f", RESP2 ":1"/":0". */
DICE_EXPORT int dice_resp_write_bool(dice_buf_t *b, int proto, int v);
/* RESP3 "=<len+4>\r\n<fmt3>:<s>\r\n", RESP2 a bulk of s. fmt3 must be
 * exactly 3 characters (e.g. "txt"), else DICE_EINVAL. */
DICE_EXPORT int dice_resp_write_verbatim(dice_buf_t *b, int proto,
                                         const char *fmt3, const char *s,
                                         size_t len);
/* RESP3 "(<digits>\r\n", RESP2 a bulk of the digits. */
DICE_EXPORT int dice_resp_write_bignum(dice_buf_t *b, int proto,
                                       const char *digits, size_t len);
/* RESP3 "!<len>\r\n<s>\r\n", RESP2 "-<s>\r\n" (CR/LF made spaces). */
DICE_EXPORT int dice_resp_write_blob_error(dice_buf_t *b, int proto,
                                           const char *s, size_t len);

/* ------------------------------------------------------------------------ */
/* Value reader                                                              */
/* ------------------------------------------------------------------------ */

/* Value types, as passed to a constructor and returned by
 * dice_value_type(). Values are part of the ABI. */
enum dice_resp_type {
    DICE_RESP_STRING = 1,      /* '+' simple string */
    DICE_RESP_ERROR = 2,       /* '-' simple error */
    DICE_RESP_INTEGER = 3,     /* ':' */
    DICE_RESP_BULK = 4,        /* '$' bulk string */
    DICE_RESP_NIL = 5,         /* RESP2 null: "$-1" or "*-1" */
    DICE_RESP_ARRAY = 6,       /* '*' */
    DICE_RESP_NULL = 7,        /* RESP3 '_' */
    DICE_RESP_DOUBLE = 8,      /* ',' */
    DICE_RESP_BOOL = 9,        /* '#' */
    DICE_RESP_BLOB_ERROR = 10, /* '!' */
    DICE_RESP_VERBATIM = 11,   /* '=' */
    DICE_RESP_BIGNUM = 12,     /* '(' */
    DICE_RESP_MAP = 13,        /* '%' */
    DICE_RESP_SET = 14,        /* '~' */
    DICE_RESP_ATTRIBUTE = 15,  /* '|' */
    DICE_RESP_PUSH = 16        /* '>' */
};

/* Deepest aggregate nesting the reader accepts; deeper input is a protocol
 * error. The reader keeps an explicit stack of this size (no recursion). */
#define DICE_READER_MAX_DEPTH 64

typedef struct dice_reader dice_reader_t;

/* Constructor: called once per value, in wire order, parents before their
 * children. Arguments:
 *  parent, index: the aggregate object (as returned by an earlier call)
 *      this value is element `index` of, or NULL/0 at top level;
 *  type: a DICE_RESP_* value;
 *  str, len: the payload for STRING, ERROR, BULK, BLOB_ERROR, BIGNUM, and
 *      the wire text for INTEGER and DOUBLE; for VERBATIM the whole payload
 *      "fmt:text" (format = str[0..3), text = str + 4); NULL/0 otherwise.
 *      Valid only during the call; the bytes are followed by a NUL.
 *  integer: INTEGER's value; BOOL's 0/1; for aggregates the number of child
 *      objects that will follow (2 * pairs for MAP and ATTRIBUTE, whose
 *      children alternate key, value);
 *  dbl: DOUBLE's value.
 * Attaching a child to its parent is the constructor's job. An ATTRIBUTE
 * is created at the position (parent, index) of the value it annotates,
 * before that value, which then is created with the same parent and index
 * (attributes do not count as elements). The constructor owns what it
 * returns; return any non-NULL pointer on success, NULL on failure (the
 * reader then fails with DICE_ENOMEM). */
typedef void *(*dice_reader_create_fn)(void *ctx, void *parent, size_t index,
                                       int type, const char *str, size_t len,
                                       long long integer, double dbl);
/* Called on error, or by dice_reader_free(), for each top-level object
 * whose value was not returned yet (a partial tree or a pending top-level
 * attribute); it must free that object and everything attached to it. */
typedef void (*dice_reader_free_fn)(void *ctx, void *obj);

/* Create a reader. With create == NULL, values are dice_value_t trees
 * (free_obj and ctx are ignored); otherwise create/free_obj/ctx are used
 * (free_obj may be NULL if nothing needs freeing). *out is owned by the
 * caller. Returns 0, DICE_ENOMEM. */
DICE_EXPORT int dice_reader_new(dice_reader_t **out,
                                dice_reader_create_fn create,
                                dice_reader_free_fn free_obj, void *ctx);
/* Free the reader, its buffered input, and any partial value. */
DICE_EXPORT void dice_reader_free(dice_reader_t *r);
/* Append len bytes (copied) to the reader's input. Returns 0, DICE_ENOMEM,
 * or DICE_EPROTO if the reader already failed. */
DICE_EXPORT int dice_reader_feed(dice_reader_t *r, const char *buf, size_t len);
/* Try to produce one complete top-level value. Returns 1 and sets
 * *value_out (ownership passes to the caller: dice_value_free() for the
 * default tree), 0 if more input is needed (*value_out = NULL), or a
 * negative code: DICE_EPROTO (see dice_reader_error()) or DICE_ENOMEM.
 * After an error the reader stays failed. Streamed RESP3 types ("$?",
 * "*?", ...) are not supported and are a protocol error. */
DICE_EXPORT int dice_reader_get(dice_reader_t *r, void **value_out);
/* Error text of a failed reader, or "" if none. Owned by the reader. */
DICE_EXPORT const char *dice_reader_error(const dice_reader_t *r);
enum {
    /* Largest bulk / blob error / verbatim payload (default 512MB). */
    DICE_READER_LIMIT_BULK = 1,
    /* Largest aggregate element count (default 2^32 - 1). */
    DICE_READER_LIMIT_AGGREGATE = 2,
    /* Longest type line (simple string, error, number, header) in bytes
     * without its CRLF (default 1MB); bounds what a peer that never sends
     * CRLF can make the reader buffer. */
    DICE_READER_LIMIT_LINE = 3
};
/* Set a limit (value >= 0). Returns 0 or DICE_EINVAL. */
DICE_EXPORT int dice_reader_set_limit(dice_reader_t *r, int which,
                                      long long value);

/* Default value tree. A value and everything under it is owned by whoever
 * got it from dice_reader_get(); freeing the root frees the tree. Accessors
 * take NULL safely and return 0/NULL for the wrong type. */
typedef struct dice_value dice_value_t;
DICE_EXPORT int dice_value_type(const dice_value_t *v);
/* Bytes of STRING, ERROR, BULK, BLOB_ERROR, BIGNUM, the text of VERBATIM
 * (after "fmt:"), the wire text of INTEGER and DOUBLE; NUL-terminated. */
DICE_EXPORT const char *dice_value_str(const dice_value_t *v, size_t *len);
/* INTEGER's value, BOOL's 0/1. */
DICE_EXPORT long long dice_value_int(const dice_value_t *v);
DICE_EXPORT double dice_value_double(const dice_value_t *v);
/* Child count of an aggregate (2 * pairs for MAP and ATTRIBUTE). */
DICE_EXPORT size_t dice_value_len(const dice_value_t *v);
/* Child i of an aggregate, or NULL when out of range. */
DICE_EXPORT const dice_value_t *dice_value_at(const dice_value_t *v, size_t i);
/* The ATTRIBUTE value that preceded v on the wire, or NULL. */
DICE_EXPORT const dice_value_t *dice_value_attribute(const dice_value_t *v);
/* VERBATIM's 3-character format as a NUL-terminated string, else NULL. */
DICE_EXPORT const char *dice_value_verbatim_format(const dice_value_t *v);
DICE_EXPORT void dice_value_free(dice_value_t *v);

#ifdef __cplusplus
}
#endif

#endif
