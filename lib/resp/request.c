/* Request parser: Redis 7.0's multibulk and inline protocols (networking.c
 * processMultibulkBuffer / processInlineBuffer), zero-copy.
 *
 * Arguments are (pointer, length) slices into the caller's buffer. While a
 * multibulk command is incomplete the parser keeps, as offsets from buf,
 * the arguments already seen and where to resume, so the caller may move
 * its buffer between calls and a large bulk is not rescanned. Pointers are
 * rebuilt from those offsets on the next call.
 *
 * Error texts and edge cases follow redis-server 7.0.15 byte for byte (see
 * tests/unit/test_resp_request.c). */
#include "resp/resp_internal.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>

#define DICE_REQ_DEFAULT_BULK (512LL * 1024 * 1024)
#define DICE_REQ_DEFAULT_MBULK (1024LL * 1024)
#define DICE_REQ_DEFAULT_INLINE (64LL * 1024)
#define DICE_REQ_UNAUTH_MBULK 10
#define DICE_REQ_UNAUTH_BULK 16384

struct dice_req_parser {
    const char **argv; /* slices of the last command (or of the partial
                          one, as offsets in argoff, while pending) */
    size_t *argvlen;
    size_t *argoff;
    int argc;
    int argcap;

    /* Partial multibulk command (pending != 0). */
    int pending;
    long long left;    /* arguments still to read */
    long long bulklen; /* -1: next is a '$' header; else payload length */
    size_t pos;        /* resume offset in buf */
    size_t minlen;     /* len seen by the DICE_EAGAIN call */

    size_t skipped;
    size_t want;

    long long max_bulk;
    long long max_mbulk;
    long long max_inline;
    /* max_bulk, or less when unauthenticated: one compare on the fast
     * path; the slow path sorts out which error applies. */
    long long fast_bulk;
    /* Largest count the fast path of dice_req_parse() takes (0 disables it): at
     * most 9, the argv capacity and the multibulk limit, and 0 when the bulk
     * limit is below what its 3-digit lengths can express. */
    unsigned fast_nmax;
    int unauth;

    char err[64];
};

int dice_resp_str2ll(const char *s, size_t n, long long *out) {
    if (n == 0 || n >= 21)
        return 0;
    if (n == 1 && s[0] == '0') {
        *out = 0;
        return 1;
    }
    size_t i = 0;
    int neg = 0;
    if (s[0] == '-') {
        neg = 1;
        i = 1;
        if (n == 1)
            return 0;
    }
    if (s[i] < '1' || s[i] > '9')
        return 0;
    unsigned long long v = 0;
    for (; i < n; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9)
            return 0;
        if (v > (ULLONG_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (unsigned long long)LLONG_MAX + 1)
            return 0;
        *out =
            v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    } else {
        if (v > (unsigned long long)LLONG_MAX)
            return 0;
        *out = (long long)v;
    }
    return 1;
}

static void req_update_fast(dice_req_parser_t *p) {
    p->fast_bulk = p->max_bulk;
    if (p->unauth && p->fast_bulk > DICE_REQ_UNAUTH_BULK)
        p->fast_bulk = DICE_REQ_UNAUTH_BULK;
    long long n = 9;
    if (n > p->argcap)
        n = p->argcap;
    if (n > p->max_mbulk)
        n = p->max_mbulk;
    if (p->fast_bulk < 999)
        n = 0;
    p->fast_nmax = (unsigned)n;
}

int dice_req_parser_new(dice_req_parser_t **out) {
    dice_req_parser_t *p = calloc(1, sizeof(*p));
    *out = p;
    if (!p)
        return DICE_ENOMEM;
    p->max_bulk = DICE_REQ_DEFAULT_BULK;
    p->max_mbulk = DICE_REQ_DEFAULT_MBULK;
    p->max_inline = DICE_REQ_DEFAULT_INLINE;
    p->bulklen = -1;
    req_update_fast(p);
    return 0;
}

void dice_req_parser_free(dice_req_parser_t *p) {
    if (!p)
        return;
    free(p->argv);
    free(p->argvlen);
    free(p->argoff);
    free(p);
}

void dice_req_parser_reset(dice_req_parser_t *p) {
    p->pending = 0;
    p->argc = 0;
    p->left = 0;
    p->bulklen = -1;
    p->pos = 0;
    p->minlen = 0;
    p->skipped = 0;
    p->want = 0;
    p->err[0] = '\0';
}

int dice_req_parser_set_limit(dice_req_parser_t *p, int which,
                              long long value) {
    if (value < 1)
        return DICE_EINVAL;
    switch (which) {
    case DICE_REQ_LIMIT_BULK: p->max_bulk = value; break;
    case DICE_REQ_LIMIT_MULTIBULK:
        if (value > INT_MAX)
            return DICE_EINVAL;
        p->max_mbulk = value;
        break;
    case DICE_REQ_LIMIT_INLINE: p->max_inline = value; break;
    default: return DICE_EINVAL;
    }
    req_update_fast(p);
    return 0;
}

void dice_req_parser_set_unauthenticated(dice_req_parser_t *p, int on) {
    p->unauth = on != 0;
    req_update_fast(p);
}

size_t dice_req_parser_skipped(const dice_req_parser_t *p) {
    return p->skipped;
}

int dice_req_argc(const dice_req_parser_t *p) {
    return p->pending ? 0 : p->argc;
}

const char *const *dice_req_argv(const dice_req_parser_t *p) {
    return (const char *const *)p->argv;
}

const size_t *dice_req_argvlen(const dice_req_parser_t *p) {
    return p->argvlen;
}

size_t dice_req_parser_want(const dice_req_parser_t *p) {
    return p->want;
}

const char *dice_req_parser_error(const dice_req_parser_t *p) {
    return p->err;
}

static long req_fail(dice_req_parser_t *p, const char *msg) {
    size_t n = strlen(msg);
    if (n >= sizeof(p->err))
        n = sizeof(p->err) - 1;
    memcpy(p->err, msg, n);
    p->err[n] = '\0';
    p->pending = 0;
    p->argc = 0;
    return DICE_EPROTO;
}

/* Grow the argv arrays to hold at least `need` entries. Only a command with
 * more arguments than any before pays for this. */
static int req_grow(dice_req_parser_t *p, long long need) {
    long long cap = p->argcap ? p->argcap : 16;
    while (cap < need)
        cap *= 2;
    if (cap > INT_MAX)
        cap = INT_MAX;
    size_t n = (size_t)cap;
    const char **argv = realloc(p->argv, n * sizeof(*argv));
    if (!argv)
        return DICE_ENOMEM;
    p->argv = argv;
    size_t *lens = realloc(p->argvlen, n * sizeof(*lens));
    if (!lens)
        return DICE_ENOMEM;
    p->argvlen = lens;
    size_t *offs = realloc(p->argoff, n * sizeof(*offs));
    if (!offs)
        return DICE_ENOMEM;
    p->argoff = offs;
    p->argcap = (int)cap;
    req_update_fast(p);
    return 0;
}

/* Bytes after a header's first byte that the fast header path may read
 * without bounds checks: up to 18 digits, '\r', '\n'. */
#define DICE_REQ_FAST_MARGIN 24

/* Parse "<c><digits>\r\n" at s without bounds checks (the caller ensures
 * DICE_REQ_FAST_MARGIN bytes). Handles only the plain case: 1 to 18 digits,
 * no sign, no leading zero, followed by '\r'. Returns the position after
 * the header's two terminator bytes, or NULL for the slow path. */
static inline const char *req_fast_num(const char *s, long long *out) {
    unsigned d = (unsigned)(unsigned char)s[1] - '1';
    if (d > 8)
        return NULL;
    unsigned long long v = d + 1;
    const char *q = s + 2;
    const char *lim = s + 19;
    while ((d = (unsigned)(unsigned char)*q - '0') < 10) {
        v = v * 10 + d;
        if (++q == lim)
            return NULL;
    }
    if (*q != '\r')
        return NULL;
    *out = (long long)v;
    return q + 2;
}

/* Slow header path with Redis's exact order of checks: find '\r' (none:
 * wait, or fail if more than the inline limit is buffered), need one more
 * byte, then parse what lies between the type byte and '\r'. Returns 1 with
 * next, ok and v set, 0 to wait, -1 if the header line is too long. */
static int req_slow_line(const dice_req_parser_t *p, const char *s,
                         const char *end, const char **next, int *ok,
                         long long *v) {
    const char *r = memchr(s, '\r', (size_t)(end - s));
    if (!r) {
        if ((long long)(end - s) > p->max_inline)
            return -1;
        return 0;
    }
    if (r + 1 >= end)
        return 0;
    *ok = dice_resp_str2ll(s + 1, (size_t)(r - s - 1), v);
    *next = r + 2;
    return 1;
}

/* Continue a multibulk command: `left` arguments to go, `argc` read, at s
 * (a '$' header if bulklen < 0, else payload of that length). Returns the
 * command's end offset, DICE_EAGAIN (state saved), or an error. */
static long req_mbulk(dice_req_parser_t *p, char *buf, size_t len,
                      const char *s, long long left, int argc,
                      long long bulklen) {
    const char *end = buf + len;
    const char **argv = p->argv;
    size_t *argvlen = p->argvlen;
    const long long fast_bulk = p->fast_bulk;

    while (left) {
        if (bulklen < 0) {
            const char *next = NULL;
            if (end - s >= DICE_REQ_FAST_MARGIN && s[0] == '$' &&
                (next = req_fast_num(s, &bulklen)) != NULL &&
                bulklen <= fast_bulk) {
                s = next;
            } else {
                int ok = 0;
                int r = req_slow_line(p, s, end, &next, &ok, &bulklen);
                if (r < 0)
                    return req_fail(
                        p, "Protocol error: too big bulk count string");
                if (r == 0) {
                    bulklen = -1;
                    goto again;
                }
                if (s[0] != '$') {
                    static const char pre[] =
                        "Protocol error: expected '$', got '";
                    char msg[sizeof(pre) + 2];
                    memcpy(msg, pre, sizeof(pre) - 1);
                    /* Redis turns CR/LF in error texts into spaces. */
                    msg[sizeof(pre) - 1] =
                        (s[0] == '\r' || s[0] == '\n') ? ' ' : s[0];
                    msg[sizeof(pre)] = '\'';
                    msg[sizeof(pre) + 1] = '\0';
                    return req_fail(p, msg);
                }
                if (!ok || bulklen < 0 || bulklen > p->max_bulk)
                    return req_fail(p, "Protocol error: invalid bulk length");
                if (p->unauth && bulklen > DICE_REQ_UNAUTH_BULK)
                    return req_fail(
                        p, "Protocol error: unauthenticated bulk length");
                s = next;
            }
        }
        /* Payload plus the two bytes Redis skips after it, unchecked. */
        if ((size_t)(end - s) < (size_t)bulklen + 2)
            goto again;
        if (argc == p->argcap) {
            if (req_grow(p, (long long)argc + 1))
                return DICE_ENOMEM;
            argv = p->argv;
            argvlen = p->argvlen;
        }
        argv[argc] = s;
        argvlen[argc] = (size_t)bulklen;
        argc++;
        s += bulklen + 2;
        bulklen = -1;
        left--;
    }
    p->argc = argc;
    p->pending = 0;
    return (long)(s - buf);

again:
    /* Keep offsets, not pointers: the caller may move buf. */
    for (int i = 0; i < argc; i++)
        p->argoff[i] = (size_t)(argv[i] - buf);
    p->argc = argc;
    p->left = left;
    p->bulklen = bulklen;
    p->pos = (size_t)(s - buf);
    p->minlen = len;
    p->pending = 1;
    p->want = bulklen >= 0 ? p->pos + (size_t)bulklen + 2 : 0;
    return DICE_EAGAIN;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Split line[0..n) into arguments in place following sdssplitargs: spaces
 * separate; "..." with \n \r \t \b \a \xHH and \<any> escapes; '...' with
 * only \' ; a closing quote must be followed by whitespace or the end; a
 * quote inside a bare word opens quoting. Returns argc, DICE_EPROTO on
 * unbalanced quotes, DICE_ENOMEM. */
static int req_split(dice_req_parser_t *p, char *line, size_t n) {
    /* sdssplitargs stops at a NUL: emulate by cutting the line there. */
    char *nul = memchr(line, '\0', n);
    if (nul)
        n = (size_t)(nul - line);
    char *r = line, *w = line, *end = line + n;
    int argc = 0;
    for (;;) {
        while (r < end && isspace((unsigned char)*r))
            r++;
        if (r == end)
            return argc;
        char *tok = w;
        int inq = 0, insq = 0, done = 0;
        while (!done) {
            if (inq) {
                if (r == end)
                    return DICE_EPROTO;
                if (*r == '\\' && r + 3 < end && r[1] == 'x' &&
                    hexval((unsigned char)r[2]) >= 0 &&
                    hexval((unsigned char)r[3]) >= 0) {
                    *w++ = (char)(hexval((unsigned char)r[2]) * 16 +
                                  hexval((unsigned char)r[3]));
                    r += 4;
                } else if (*r == '\\' && r + 1 < end) {
                    char c = r[1];
                    switch (c) {
                    case 'n': c = '\n'; break;
                    case 'r': c = '\r'; break;
                    case 't': c = '\t'; break;
                    case 'b': c = '\b'; break;
                    case 'a': c = '\a'; break;
                    default: break;
                    }
                    *w++ = c;
                    r += 2;
                } else if (*r == '"') {
                    if (r + 1 < end && !isspace((unsigned char)r[1]))
                        return DICE_EPROTO;
                    r++;
                    done = 1;
                } else {
                    *w++ = *r++;
                }
            } else if (insq) {
                if (r == end)
                    return DICE_EPROTO;
                if (*r == '\\' && r + 1 < end && r[1] == '\'') {
                    *w++ = '\'';
                    r += 2;
                } else if (*r == '\'') {
                    if (r + 1 < end && !isspace((unsigned char)r[1]))
                        return DICE_EPROTO;
                    r++;
                    done = 1;
                } else {
                    *w++ = *r++;
                }
            } else {
                if (r == end) {
                    done = 1;
                    break;
                }
                switch (*r) {
                case ' ':
                case '\n':
                case '\r':
                case '\t': done = 1; break;
                case '"': inq = 1; break;
                case '\'': insq = 1; break;
                default: *w++ = *r; break;
                }
                r++;
            }
        }
        if (argc == p->argcap && req_grow(p, (long long)argc + 1))
            return DICE_ENOMEM;
        p->argv[argc] = tok;
        p->argvlen[argc] = (size_t)(w - tok);
        argc++;
    }
}

static long req_parse_slow(dice_req_parser_t *p, char *buf, size_t len);

/* The hot path: a whole small command already buffered, "*<1-9>\r\n" then
 * bulks with 1 to 3 digit lengths. It accepts only what the general path
 * would parse identically and hands anything else, untouched but for
 * scratch argv entries, to req_parse_slow(). It needs 12 bytes to
 * start, and keeps 8 readable bytes ahead of each header by asking for
 * them along with the previous bulk (except after the last one). */
long dice_req_parse(dice_req_parser_t *p, char *buf, size_t len) {
    if (p->pending || len < 12 || buf[0] != '*' || buf[2] != '\r')
        goto slow;
    unsigned n = (unsigned)(unsigned char)buf[1] - '0';
    if (n - 1 >= p->fast_nmax)
        goto slow;
    const char *s = buf + 4;
    /* Last address a bulk may end at and still leave 10 bytes (its CRLF
     * and the next header's 8) before the end; len >= 12 keeps it valid. */
    const uintptr_t lim = (uintptr_t)(buf + len - 10);
    const char **argv = p->argv;
    size_t *argvlen = p->argvlen;
    for (unsigned i = 0; i < n; i++) {
        if (s[0] != '$')
            goto slow;
        size_t l = (size_t)(unsigned char)s[1] - '0';
        const char *q;
        /* Test for the terminator before the next digit: one-digit
         * lengths are the most common. */
        if (__builtin_expect(s[2] == '\r', 1)) {
            if (l > 9)
                goto slow;
            q = s + 4;
        } else {
            unsigned d = (unsigned)(unsigned char)s[2] - '0';
            if (l - 1 > 8 || d > 9) /* no leading zero */
                goto slow;
            l = l * 10 + d;
            if (s[3] == '\r') {
                q = s + 5;
            } else {
                d = (unsigned)(unsigned char)s[3] - '0';
                if (d > 9 || s[4] != '\r')
                    goto slow;
                l = l * 10 + d;
                q = s + 6;
            }
        }
        if ((uintptr_t)q + l > lim &&
            (i + 1 != n || (uintptr_t)q + l + 2 > (uintptr_t)(buf + len)))
            goto slow;
        argv[i] = q;
        argvlen[i] = l;
        s = q + l + 2;
    }
    p->argc = (int)n;
    return (long)(s - buf);
slow:
    return req_parse_slow(p, buf, len);
}

/* Everything but the hot path, kept out of line so that dice_req_parse
 * stays a leaf function with a cheap prologue. */
__attribute__((noinline)) static long req_parse_slow(dice_req_parser_t *p,
                                                     char *buf, size_t len) {
    p->skipped = 0;
    p->want = 0;
    size_t pos = 0;

    if (p->pending) {
        if (len < p->minlen)
            return DICE_EINVAL;
        for (int i = 0; i < p->argc; i++)
            p->argv[i] = buf + p->argoff[i];
        return req_mbulk(p, buf, len, buf + p->pos, p->left, p->argc,
                         p->bulklen);
    }

    while (pos < len) {
        const char *s = buf + pos;
        const char *end = buf + len;
        if (*s == '*') {
            long long n;
            const char *next = NULL;
            if (end - s >= DICE_REQ_FAST_MARGIN &&
                (next = req_fast_num(s, &n)) != NULL &&
                n <= DICE_REQ_UNAUTH_MBULK && n <= p->max_mbulk) {
                /* fast: small positive count */
            } else {
                int ok = 0;
                int r = req_slow_line(p, s, end, &next, &ok, &n);
                if (r < 0)
                    return req_fail(
                        p, "Protocol error: too big mbulk count string");
                if (r == 0)
                    break;
                if (!ok || n > p->max_mbulk)
                    return req_fail(p,
                                    "Protocol error: invalid multibulk length");
                if (p->unauth && n > DICE_REQ_UNAUTH_MBULK)
                    return req_fail(
                        p, "Protocol error: unauthenticated multibulk length");
                if (n <= 0) {
                    pos = (size_t)(next - buf);
                    continue;
                }
            }
            if (n > p->argcap && n <= 1024 && req_grow(p, n))
                return DICE_ENOMEM;
            long rc = req_mbulk(p, buf, len, next, n, 0, -1);
            if (rc == DICE_EAGAIN)
                p->skipped = 0;
            return rc;
        }
        /* Inline: a line up to '\n', with an optional '\r' before it. */
        char *nl = memchr(s, '\n', (size_t)(end - s));
        if (!nl) {
            if ((long long)(end - s) > p->max_inline)
                return req_fail(p, "Protocol error: too big inline request");
            break;
        }
        char *le = nl;
        if (le > s && le[-1] == '\r')
            le--;
        int argc = req_split(p, buf + pos, (size_t)(le - s));
        if (argc == DICE_ENOMEM)
            return DICE_ENOMEM;
        if (argc == DICE_EPROTO)
            return req_fail(p, "Protocol error: unbalanced quotes in request");
        pos = (size_t)(nl + 1 - buf);
        if (argc > 0) {
            p->argc = argc;
            return (long)pos;
        }
    }
    p->skipped = pos;
    p->argc = 0;
    return DICE_EAGAIN;
}
