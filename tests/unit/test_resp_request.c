/* Request parser: Redis 7.0 framing, error texts, inline splitting, limits,
 * resumption at every split point, large bulks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "dice/resp.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Render commands as text: args joined by '|', commands ended by '\n';
 * errors as "ERR:<text>\n". Arguments are printed with \xHH for bytes that
 * would be ambiguous. */
struct out {
    char s[65536];
    size_t n;
};

static void out_add(struct out *o, const char *p, size_t n) {
    assert_true(o->n + n < sizeof(o->s));
    memcpy(o->s + o->n, p, n);
    o->n += n;
    o->s[o->n] = '\0';
}

static void out_cmd(struct out *o, dice_req_parser_t *p) {
    int argc = dice_req_argc(p);
    const char *const *argv = dice_req_argv(p);
    const size_t *lens = dice_req_argvlen(p);
    for (int i = 0; i < argc; i++) {
        if (i)
            out_add(o, "|", 1);
        for (size_t j = 0; j < lens[i]; j++) {
            unsigned char c = (unsigned char)argv[i][j];
            if (c < 32 || c == '|' || c == '\\' || c > 126) {
                char t[8];
                snprintf(t, sizeof(t), "\\x%02x", c);
                out_add(o, t, 4);
            } else {
                out_add(o, (const char *)&c, 1);
            }
        }
    }
    out_add(o, "\n", 1);
}

/* Parse all of input given at once (as one buffer). */
static void parse_whole(const char *in, size_t len, struct out *o,
                        dice_req_parser_t *p) {
    char *buf = malloc(len + 1);
    memcpy(buf, in, len);
    size_t pos = 0;
    o->n = 0;
    o->s[0] = '\0';
    for (;;) {
        long r = dice_req_parse(p, buf + pos, len - pos);
        if (r == DICE_EAGAIN)
            break;
        if (r < 0) {
            out_add(o, "ERR:", 4);
            out_add(o, dice_req_parser_error(p),
                    strlen(dice_req_parser_error(p)));
            out_add(o, "\n", 1);
            break;
        }
        assert_true(r > 0 && (size_t)r <= len - pos);
        out_cmd(o, p);
        pos += (size_t)r;
    }
    free(buf);
}

/* Feed input in chunks ending at the given cut points, the way a server
 * does: a private buffer that is reallocated (moved) on each read, consumed
 * bytes dropped, skipped bytes dropped after DICE_EAGAIN. */
static void parse_chunks(const char *in, size_t len, const size_t *cuts,
                         size_t ncuts, struct out *o, dice_req_parser_t *p) {
    char *q = NULL;
    size_t qlen = 0, given = 0;
    o->n = 0;
    o->s[0] = '\0';
    for (size_t c = 0; c <= ncuts; c++) {
        size_t upto = c < ncuts ? cuts[c] : len;
        if (upto < given)
            continue;
        /* A fresh allocation each time, so the bytes move. */
        char *nq = malloc(qlen + (upto - given) + 1);
        if (qlen)
            memcpy(nq, q, qlen);
        memcpy(nq + qlen, in + given, upto - given);
        free(q);
        q = nq;
        qlen += upto - given;
        given = upto;
        for (;;) {
            long r = dice_req_parse(p, q, qlen);
            if (r == DICE_EAGAIN) {
                size_t sk = dice_req_parser_skipped(p);
                assert_true(sk <= qlen);
                memmove(q, q + sk, qlen - sk);
                qlen -= sk;
                break;
            }
            if (r < 0) {
                out_add(o, "ERR:", 4);
                out_add(o, dice_req_parser_error(p),
                        strlen(dice_req_parser_error(p)));
                out_add(o, "\n", 1);
                free(q);
                return;
            }
            out_cmd(o, p);
            memmove(q, q + r, qlen - (size_t)r);
            qlen -= (size_t)r;
        }
    }
    free(q);
}

static void expect(const char *in, size_t len, const char *want) {
    dice_req_parser_t *p;
    assert_int_equal(dice_req_parser_new(&p), 0);
    struct out o;
    parse_whole(in, len, &o, p);
    assert_string_equal(o.s, want);
    dice_req_parser_free(p);
}
#define EXPECT(lit, want) expect(lit, sizeof(lit) - 1, want)
#define PW(lit) parse_whole(lit, sizeof(lit) - 1, &o, p)

static void test_multibulk_basic(void **state) {
    (void)state;
    EXPECT("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
           "SET|key|value\n");
    EXPECT("*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n",
           "PING\nECHO|\n");
    /* binary payload with CRLF and NUL inside */
    EXPECT("*1\r\n$4\r\na\r\n\0\r\n", "a\\x0d\\x0a\\x00\n");
    /* long lengths and counts go through the general path */
    EXPECT("*12\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n"
           "$1\r\nf\r\n$1\r\ng\r\n$1\r\nh\r\n$1\r\ni\r\n$1\r\nj\r\n"
           "$1\r\nk\r\n$12\r\nhello world!\r\n",
           "a|b|c|d|e|f|g|h|i|j|k|hello world!\n");
}

static void test_multibulk_quirks(void **state) {
    (void)state;
    /* Redis skips the two bytes after a payload without checking them. */
    EXPECT("*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n", "PING\nPING\n");
    /* '\r' followed by anything ends a header line. */
    EXPECT("*1\rX$4\rYPING\r\n", "PING\n");
    /* *0 and negative counts are skipped silently. */
    EXPECT("*0\r\n*-1\r\n*-5\r\n*1\r\n$4\r\nPING\r\n", "PING\n");
    /* a '*' count line without CR: the number runs into the next line */
    EXPECT("*1\n$4\r\nPING\r\n",
           "ERR:Protocol error: invalid multibulk length\n");
    EXPECT("*1\r\n$0\r\n\r\n", "\n");
}

static void test_errors(void **state) {
    (void)state;
    EXPECT("*abc\r\n", "ERR:Protocol error: invalid multibulk length\n");
    EXPECT("*03\r\n", "ERR:Protocol error: invalid multibulk length\n");
    EXPECT("*+3\r\n", "ERR:Protocol error: invalid multibulk length\n");
    EXPECT("*\r\n", "ERR:Protocol error: invalid multibulk length\n");
    EXPECT("*2147483648\r\n", "ERR:Protocol error: invalid multibulk length\n");
    /* The default count limit is Redis's INT_MAX: up to it the parser
     * waits for the arguments, one past it is refused. */
    EXPECT("*1048577\r\n", "");
    EXPECT("*2147483647\r\n", "");
    EXPECT("*9223372036854775807\r\n",
           "ERR:Protocol error: invalid multibulk length\n");
    EXPECT("*99999999999999999999999\r\n",
           "ERR:Protocol error: invalid multibulk length\n");
    EXPECT("*1\r\nx3\r\nfoo\r\n",
           "ERR:Protocol error: expected '$', got 'x'\n");
    EXPECT("*1\r\n\r\n", "ERR:Protocol error: expected '$', got ' '\n");
    EXPECT("*1\r\n$-1\r\n", "ERR:Protocol error: invalid bulk length\n");
    EXPECT("*1\r\n$abc\r\n", "ERR:Protocol error: invalid bulk length\n");
    EXPECT("*1\r\n$01\r\n", "ERR:Protocol error: invalid bulk length\n");
    EXPECT("*1\r\n$536870913\r\n", "ERR:Protocol error: invalid bulk length\n");
    /* exactly the limit is fine (incomplete: nothing printed) */
    EXPECT("*1\r\n$536870912\r\n", "");
    EXPECT("PING \"a\r\n",
           "ERR:Protocol error: unbalanced quotes in request\n");
    EXPECT("ECHO \"a\"b\r\n",
           "ERR:Protocol error: unbalanced quotes in request\n");
    EXPECT("ECHO 'a'b\r\n",
           "ERR:Protocol error: unbalanced quotes in request\n");
    EXPECT("ECHO 'abc\r\n",
           "ERR:Protocol error: unbalanced quotes in request\n");
}

static void test_too_big(void **state) {
    (void)state;
    size_t n = 70000;
    char *b = malloc(n + 8);
    memset(b, '1', n + 8);
    b[0] = '*';
    expect(b, n, "ERR:Protocol error: too big mbulk count string\n");
    /* exactly 64KB buffered without CR: still waiting */
    expect(b, 65536, "");
    expect(b, 65537, "ERR:Protocol error: too big mbulk count string\n");
    memcpy(b, "*1\r\n$", 5);
    expect(b, n, "ERR:Protocol error: too big bulk count string\n");
    memset(b, 'A', n);
    expect(b, n, "ERR:Protocol error: too big inline request\n");
    expect(b, 65536, "");
    free(b);
}

/* The limit is on the bytes before a line's terminator, whether or not
 * the terminator is already buffered: Redis refuses a line once 65537
 * bytes of it are buffered without one, so a line that long is refused
 * however its bytes are split into reads. */
/* An inline ECHO whose line has `before` bytes before its '\n' (the last
 * of them '\r' when crlf), in a buffer of n bytes. Rebuilt for each parse:
 * parsing an inline line rewrites it in place. */
static void inline_line(char *b, size_t n, size_t before, int crlf) {
    memset(b, 'A', n);
    memcpy(b, "ECHO ", 5);
    if (crlf)
        b[before - 1] = '\r';
    b[before] = '\n';
}

/* The limit is on the bytes before a line's terminator, whether or not
 * the terminator is already buffered: Redis refuses a line once 65537
 * bytes of it are buffered without one, so a line that long is refused
 * however its bytes are split into reads. */
static void test_too_big_terminated(void **state) {
    (void)state;
    size_t n = 131072 + 2;
    char *b = malloc(n);
    dice_req_parser_t *p;
    assert_int_equal(dice_req_parser_new(&p), 0);
    /* 65536 bytes before '\n', with or without '\r': accepted */
    inline_line(b, n, 65536, 1);
    assert_int_equal(dice_req_parse(p, b, n), 65537);
    assert_int_equal(dice_req_argc(p), 2);
    assert_int_equal(dice_req_argvlen(p)[1], 65530);
    inline_line(b, n, 65536, 0);
    assert_int_equal(dice_req_parse(p, b, n), 65537);
    assert_int_equal(dice_req_argvlen(p)[1], 65531);
    /* 65537 before the '\n': refused, all in one buffer or in pieces */
    for (int crlf = 0; crlf < 2; crlf++) {
        inline_line(b, n, 65537, crlf);
        assert_int_equal(dice_req_parse(p, b, n), DICE_EPROTO);
        assert_string_equal(dice_req_parser_error(p),
                            "Protocol error: too big inline request");
        dice_req_parser_reset(p);
    }
    struct out o;
    size_t cuts[] = {1000, 65536, 65537};
    for (size_t i = 0; i < 3; i++) {
        inline_line(b, n, 65537, 1);
        parse_chunks(b, 65538, &cuts[i], 1, &o, p);
        assert_string_equal(o.s,
                            "ERR:Protocol error: too big inline request\n");
        dice_req_parser_reset(p);
    }
    /* 131072 bytes then CRLF, in one buffer */
    inline_line(b, n, 131073, 1);
    assert_int_equal(dice_req_parse(p, b, n), DICE_EPROTO);
    assert_string_equal(dice_req_parser_error(p),
                        "Protocol error: too big inline request");
    dice_req_parser_reset(p);
    /* header lines: more than 65536 bytes before the '\r' */
    memset(b, '0', n);
    b[0] = '*';
    memcpy(b + 65536, "\r\n", 2);
    parse_whole(b, 65538, &o, p);
    assert_string_equal(o.s, "ERR:Protocol error: invalid multibulk length\n");
    dice_req_parser_reset(p);
    memcpy(b + 65536, "0\r\n", 3);
    parse_whole(b, 65539, &o, p);
    assert_string_equal(o.s,
                        "ERR:Protocol error: too big mbulk count string\n");
    dice_req_parser_reset(p);
    memcpy(b, "*1\r\n$", 5);
    memcpy(b + 65536, "00000\r\n", 7); /* 65537 bytes from '$' to '\r' */
    parse_whole(b, 65543, &o, p);
    assert_string_equal(o.s, "ERR:Protocol error: too big bulk count string\n");
    dice_req_parser_free(p);
    free(b);
}

static void test_inline(void **state) {
    (void)state;
    EXPECT("PING\r\n", "PING\n");
    EXPECT("PING\n", "PING\n");
    EXPECT("\r\n\n  \r\nPING\r\n", "PING\n");
    EXPECT("  SET   a\tb  \r\n", "SET|a|b\n");
    EXPECT("ECHO \"\\x41\\n\\r\\t\\b\\a\\\\\\\"\\q\"\r\n",
           "ECHO|A\\x0a\\x0d\\x09\\x08\\x07\\x5c\"q\n");
    EXPECT("ECHO 'a\\'b'\r\n", "ECHO|a'b\n");
    EXPECT("ECHO 'a\\nb'\r\n", "ECHO|a\\x5cnb\n");
    EXPECT("ECHO \"\" ''\r\n", "ECHO||\n");
    /* a quote inside a bare word opens quoting */
    EXPECT("ECHO ab\"c d\"\r\n", "ECHO|abc d\n");
    /* \x with one hex digit is not an escape */
    EXPECT("ECHO \"\\x4g\"\r\n", "ECHO|x4g\n");
    /* a NUL ends the line's arguments (sdssplitargs) */
    EXPECT("ECHO a\0b c\r\n", "ECHO|a\n");
    /* closing quote followed by another whitespace */
    EXPECT("ECHO \"a\"\tb\r\n", "ECHO|a|b\n");
    /* \r alone is not a line end */
    EXPECT("A\rB\n", "A|B\n");
    /* inline and multibulk mixed */
    EXPECT("PING\r\n*1\r\n$4\r\nPING\r\nSET a b\n", "PING\nPING\nSET|a|b\n");
}

static void test_unauthenticated(void **state) {
    (void)state;
    dice_req_parser_t *p;
    assert_int_equal(dice_req_parser_new(&p), 0);
    dice_req_parser_set_unauthenticated(p, 1);
    struct out o;
    static const char ten[] =
        "*10\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n"
        "$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n"
        "$1\r\na\r\n$1\r\na\r\n";
    parse_whole(ten, sizeof(ten) - 1, &o, p);
    assert_string_equal(o.s, "a|a|a|a|a|a|a|a|a|a\n");
    PW("*11\r\n");
    assert_string_equal(
        o.s, "ERR:Protocol error: unauthenticated multibulk length\n");
    dice_req_parser_reset(p);
    PW("*1\r\n$16385\r\n");
    assert_string_equal(o.s,
                        "ERR:Protocol error: unauthenticated bulk length\n");
    dice_req_parser_reset(p);
    /* invalid length is checked first */
    PW("*1\r\n$-3\r\n");
    assert_string_equal(o.s, "ERR:Protocol error: invalid bulk length\n");
    dice_req_parser_reset(p);
    /* 16384 is allowed */
    PW("*1\r\n$16384\r\n");
    assert_string_equal(o.s, "");
    dice_req_parser_reset(p);
    dice_req_parser_set_unauthenticated(p, 0);
    PW("*1\r\n$16385\r\n");
    assert_string_equal(o.s, "");
    dice_req_parser_free(p);
}

static void test_limits(void **state) {
    (void)state;
    dice_req_parser_t *p;
    assert_int_equal(dice_req_parser_new(&p), 0);
    assert_int_equal(dice_req_parser_set_limit(p, 99, 1), DICE_EINVAL);
    assert_int_equal(dice_req_parser_set_limit(p, DICE_REQ_LIMIT_BULK, 0),
                     DICE_EINVAL);
    assert_int_equal(dice_req_parser_set_limit(p, DICE_REQ_LIMIT_MULTIBULK,
                                               (long long)INT_MAX + 1),
                     DICE_EINVAL);
    assert_int_equal(dice_req_parser_set_limit(p, DICE_REQ_LIMIT_BULK, 3), 0);
    struct out o;
    PW("*1\r\n$3\r\nabc\r\n*1\r\n$4\r\nabcd\r\n");
    assert_string_equal(o.s, "abc\nERR:Protocol error: invalid bulk length\n");
    dice_req_parser_reset(p);
    assert_int_equal(dice_req_parser_set_limit(p, DICE_REQ_LIMIT_MULTIBULK, 2),
                     0);
    PW("*2\r\n$1\r\na\r\n$1\r\nb\r\n*3\r\n");
    assert_string_equal(o.s,
                        "a|b\nERR:Protocol error: invalid multibulk length\n");
    dice_req_parser_reset(p);
    assert_int_equal(dice_req_parser_set_limit(p, DICE_REQ_LIMIT_INLINE, 4), 0);
    PW("abcd");
    assert_string_equal(o.s, "");
    PW("abcde");
    assert_string_equal(o.s, "ERR:Protocol error: too big inline request\n");
    dice_req_parser_free(p);
}

/* A pipeline exercising the fast path, the general path and inline. */
static const char sample[] =
    "*3\r\n$3\r\nSET\r\n$10\r\nkey:000001\r\n$5\r\nvalue\r\n"
    "\r\n"
    "PING\r\n"
    "*0\r\n"
    "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"
    "SET k \"a b\\x41\" 'c\\'d'\n"
    "*12\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n"
    "$1\r\nf\r\n$1\r\ng\r\n$1\r\nh\r\n$1\r\ni\r\n$1\r\nj\r\n"
    "$1\r\nk\r\n$12\r\nhello\r\nworld\r\n"
    "*1\r\n$4\r\nPING\r\n"
    "\n\n"
    "*-1\r\n"
    "*2\r\n$3\r\nGET\r\n$100\r\n"
    "0123456789012345678901234567890123456789012345678901234567890123456789"
    "012345678901234567890123456789\r\n";

static void test_every_split_point(void **state) {
    (void)state;
    size_t len = sizeof(sample) - 1;
    dice_req_parser_t *p;
    assert_int_equal(dice_req_parser_new(&p), 0);
    struct out whole, part;
    parse_whole(sample, len, &whole, p);
    assert_string_equal(
        whole.s, "SET|key:000001|value\nPING\nECHO|\nSET|k|a bA|c'd\n"
                 "a|b|c|d|e|f|g|h|i|j|k|hello\\x0d\\x0aworld\nPING\n"
                 "GET|0123456789012345678901234567890123456789012345678901"
                 "234567890123456789012345678901234567890123456789\n");
    for (size_t i = 0; i <= len; i++) {
        parse_chunks(sample, len, &i, 1, &part, p);
        if (strcmp(part.s, whole.s) != 0)
            fail_msg("split at %zu:\n%s", i, part.s);
    }
    /* two cuts at every pair of points */
    for (size_t i = 0; i <= len; i += 1)
        for (size_t j = i; j <= len; j += 3) {
            size_t cuts[2] = {i, j};
            parse_chunks(sample, len, cuts, 2, &part, p);
            if (strcmp(part.s, whole.s) != 0)
                fail_msg("split at %zu,%zu:\n%s", i, j, part.s);
        }
    /* byte by byte */
    size_t *cuts = malloc(len * sizeof(*cuts));
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    parse_chunks(sample, len, cuts, len, &part, p);
    assert_string_equal(part.s, whole.s);
    free(cuts);
    dice_req_parser_free(p);
}

static void test_skipped_and_eagain(void **state) {
    (void)state;
    dice_req_parser_t *p;
    assert_int_equal(dice_req_parser_new(&p), 0);
    char b1[] = "\r\n\r\n*0\r\nPI";
    assert_int_equal(dice_req_parse(p, b1, sizeof(b1) - 1), DICE_EAGAIN);
    assert_int_equal(dice_req_parser_skipped(p), 8);
    assert_int_equal(dice_req_parser_want(p), 0);
    /* a partial multibulk after skipped input: nothing may be dropped */
    char b2[] = "\r\n*1\r\n$4\r\nPI";
    assert_int_equal(dice_req_parse(p, b2, sizeof(b2) - 1), DICE_EAGAIN);
    assert_int_equal(dice_req_parser_skipped(p), 0);
    assert_int_equal(dice_req_parser_want(p), 2 + 4 + 4 + 4 + 2);
    assert_int_equal(dice_req_argc(p), 0);
    /* shorter input than before is a caller bug */
    assert_int_equal(dice_req_parse(p, b2, 3), DICE_EINVAL);
    char b3[] = "\r\n*1\r\n$4\r\nPING\r\nX";
    long r = dice_req_parse(p, b3, sizeof(b3) - 1);
    assert_int_equal(r, 16);
    assert_int_equal(dice_req_argc(p), 1);
    assert_memory_equal(dice_req_argv(p)[0], "PING", 4);
    assert_ptr_equal(dice_req_argv(p)[0], b3 + 10);
    /* reset forgets a partial command */
    char b4[] = "*2\r\n$3\r\nGET\r\n";
    assert_int_equal(dice_req_parse(p, b4, sizeof(b4) - 1), DICE_EAGAIN);
    dice_req_parser_reset(p);
    char b5[] = "PING\r\n";
    assert_int_equal(dice_req_parse(p, b5, 6), 6);
    assert_int_equal(dice_req_argc(p), 1);
    dice_req_parser_free(p);
}

static void test_big_bulk(void **state) {
    (void)state;
    /* 20MB bulk: want() sizes the buffer at once; argv[0] survives a move. */
    size_t big = 20u * 1024 * 1024;
    char hdr[64];
    int hl = snprintf(hdr, sizeof(hdr), "*2\r\n$4\r\nECHO\r\n$%zu\r\n", big);
    size_t total = (size_t)hl + big + 2;
    char *buf = malloc(total);
    memcpy(buf, hdr, (size_t)hl);
    memset(buf + hl, 'z', big);
    memcpy(buf + hl + big, "\r\n", 2);
    dice_req_parser_t *p;
    assert_int_equal(dice_req_parser_new(&p), 0);
    assert_int_equal(dice_req_parse(p, buf, (size_t)hl + 100), DICE_EAGAIN);
    assert_int_equal(dice_req_parser_want(p), total);
    char *moved = malloc(total);
    size_t have = (size_t)hl + 100;
    memcpy(moved, buf, have);
    while (have < total) {
        size_t add = total - have < 1000000 ? total - have : 1000000;
        memcpy(moved + have, buf + have, add);
        have += add;
        long r = dice_req_parse(p, moved, have);
        if (have < total) {
            assert_int_equal(r, DICE_EAGAIN);
            assert_int_equal(dice_req_parser_want(p), total);
        } else {
            assert_int_equal(r, (long)total);
        }
    }
    assert_int_equal(dice_req_argc(p), 2);
    assert_ptr_equal(dice_req_argv(p)[0], moved + 8);
    assert_memory_equal(dice_req_argv(p)[0], "ECHO", 4);
    assert_int_equal(dice_req_argvlen(p)[1], big);
    assert_ptr_equal(dice_req_argv(p)[1], moved + hl);
    free(buf);
    free(moved);
    dice_req_parser_free(p);
}

static void test_no_regrowth(void **state) {
    (void)state;
    /* After the first command the argv arrays stay put: pipelined commands
     * with no more arguments than before cause no allocation. */
    static const char cmd[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
    size_t cl = sizeof(cmd) - 1;
    char *buf = malloc(cl * 1000);
    for (int i = 0; i < 1000; i++)
        memcpy(buf + cl * (size_t)i, cmd, cl);
    dice_req_parser_t *p;
    assert_int_equal(dice_req_parser_new(&p), 0);
    long r = dice_req_parse(p, buf, cl * 1000);
    assert_int_equal(r, (long)cl);
    const char *const *argv0 = dice_req_argv(p);
    const size_t *lens0 = dice_req_argvlen(p);
    size_t pos = (size_t)r;
    int n = 1;
    while (pos < cl * 1000) {
        r = dice_req_parse(p, buf + pos, cl * 1000 - pos);
        assert_int_equal(r, (long)cl);
        assert_ptr_equal(dice_req_argv(p), argv0);
        assert_ptr_equal(dice_req_argvlen(p), lens0);
        assert_int_equal(dice_req_argc(p), 3);
        pos += (size_t)r;
        n++;
    }
    assert_int_equal(n, 1000);
    free(buf);
    dice_req_parser_free(p);
}

static void test_many_args(void **state) {
    (void)state;
    /* 5000 arguments: argv grows beyond its initial size, mid-command. */
    size_t cap = 5000 * 8 + 32, n = 0;
    char *b = malloc(cap);
    n += (size_t)sprintf(b, "*5000\r\n");
    for (int i = 0; i < 5000; i++)
        n += (size_t)sprintf(b + n, "$1\r\n%c\r\n", 'a' + i % 26);
    dice_req_parser_t *p;
    assert_int_equal(dice_req_parser_new(&p), 0);
    assert_int_equal(dice_req_parse(p, b, n / 2), DICE_EAGAIN);
    assert_int_equal(dice_req_parse(p, b, n), (long)n);
    assert_int_equal(dice_req_argc(p), 5000);
    assert_int_equal(dice_req_argv(p)[4999][0], 'a' + 4999 % 26);
    free(b);
    dice_req_parser_free(p);
}

static void test_huge_count(void **state) {
    (void)state;
    /* 1,100,000 arguments (more than the old 1048576 cap), fed in 64KB
     * reads into a buffer that moves on every read, as a server does. */
    const int nargs = 1100000;
    size_t cap = (size_t)nargs * 16 + 32, n = 0;
    char *b = malloc(cap);
    n += (size_t)sprintf(b, "*%d\r\n", nargs);
    for (int i = 0; i < nargs; i++) {
        int l = snprintf(NULL, 0, "%d", i);
        n += (size_t)sprintf(b + n, "$%d\r\n%d\r\n", l, i);
    }
    dice_req_parser_t *p;
    assert_int_equal(dice_req_parser_new(&p), 0);
    char *q = NULL;
    long r = DICE_EAGAIN;
    for (size_t have = 0; have < n;) {
        have = have + 65536 < n ? have + 65536 : n;
        char *nq = malloc(have);
        memcpy(nq, b, have);
        free(q);
        q = nq;
        r = dice_req_parse(p, q, have);
        if (have < n)
            assert_int_equal(r, DICE_EAGAIN);
    }
    assert_int_equal(r, (long)n);
    assert_int_equal(dice_req_argc(p), nargs);
    const char *const *argv = dice_req_argv(p);
    const size_t *lens = dice_req_argvlen(p);
    for (int i = 0; i < nargs; i += 9973) {
        char t[16];
        int l = sprintf(t, "%d", i);
        assert_int_equal(lens[i], (size_t)l);
        assert_memory_equal(argv[i], t, (size_t)l);
        assert_true(argv[i] >= q && argv[i] < q + n);
    }
    assert_memory_equal(argv[nargs - 1], "1099999", 7);
    free(q);
    /* An announced INT_MAX with a few arguments sent: the parser waits,
     * having allocated for what arrived, not for the count. */
    dice_req_parser_reset(p);
    char small[] = "*2147483647\r\n$1\r\na\r\n$1\r\nb\r\n";
    assert_int_equal(dice_req_parse(p, small, sizeof(small) - 1), DICE_EAGAIN);
    assert_int_equal(dice_req_argc(p), 0);
    free(b);
    dice_req_parser_free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multibulk_basic),
        cmocka_unit_test(test_multibulk_quirks),
        cmocka_unit_test(test_huge_count),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_too_big_terminated),
        cmocka_unit_test(test_inline),
        cmocka_unit_test(test_unauthenticated),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_every_split_point),
        cmocka_unit_test(test_skipped_and_eagain),
        cmocka_unit_test(test_big_bulk),
        cmocka_unit_test(test_no_regrowth),
        cmocka_unit_test(test_many_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
