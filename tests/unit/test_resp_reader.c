/* Value reader: every RESP2/RESP3 type, errors, attributes, nesting limit,
 * every split point, the constructor callback, examples from the RESP3
 * specification. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "dice/resp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Render a value tree as compact text. */
static void render(const dice_value_t *v, char *out, size_t cap, size_t *n) {
#define PUT(...) (*n += (size_t)snprintf(out + *n, cap - *n, __VA_ARGS__))
    const dice_value_t *a = dice_value_attribute(v);
    if (a) {
        PUT("attr");
        render(a, out, cap, n);
    }
    size_t len;
    const char *s = dice_value_str(v, &len);
    switch (dice_value_type(v)) {
    case DICE_RESP_STRING: PUT("S(%.*s)", (int)len, s); break;
    case DICE_RESP_ERROR: PUT("E(%.*s)", (int)len, s); break;
    case DICE_RESP_INTEGER: PUT("I(%lld)", dice_value_int(v)); break;
    case DICE_RESP_BULK: PUT("B(%.*s)", (int)len, s); break;
    case DICE_RESP_NIL: PUT("nil"); break;
    case DICE_RESP_NULL: PUT("null"); break;
    case DICE_RESP_DOUBLE: PUT("D(%.17g)", dice_value_double(v)); break;
    case DICE_RESP_BOOL: PUT("T(%lld)", dice_value_int(v)); break;
    case DICE_RESP_BLOB_ERROR: PUT("BE(%.*s)", (int)len, s); break;
    case DICE_RESP_VERBATIM:
        PUT("V(%s,%.*s)", dice_value_verbatim_format(v), (int)len, s);
        break;
    case DICE_RESP_BIGNUM: PUT("N(%.*s)", (int)len, s); break;
    default: {
        const char *names[] = {[DICE_RESP_ARRAY] = "A",
                               [DICE_RESP_MAP] = "M",
                               [DICE_RESP_SET] = "SET",
                               [DICE_RESP_ATTRIBUTE] = "AT",
                               [DICE_RESP_PUSH] = "P"};
        PUT("%s[", names[dice_value_type(v)]);
        for (size_t i = 0; i < dice_value_len(v); i++) {
            if (i)
                PUT(",");
            render(dice_value_at(v, i), out, cap, n);
        }
        PUT("]");
    }
    }
#undef PUT
}

/* Feed in chunks cut at `cut` (or all at once if cut > len), collect every
 * value rendered, joined by ' '; an error renders as "ERR(<text>)". */
static void read_all(const char *in, size_t len, size_t cut, char *out,
                     size_t cap) {
    dice_reader_t *r;
    assert_int_equal(dice_reader_new(&r, NULL, NULL, NULL), 0);
    size_t n = 0;
    out[0] = '\0';
    size_t given = 0;
    int pass = 0;
    while (given < len || pass == 0) {
        size_t upto = pass == 0 && cut < len ? cut : len;
        assert_int_equal(dice_reader_feed(r, in + given, upto - given), 0);
        given = upto;
        pass++;
        for (;;) {
            void *v;
            int rc = dice_reader_get(r, &v);
            if (rc == 0)
                break;
            if (rc < 0) {
                n += (size_t)snprintf(out + n, cap - n, "%sERR(%s)",
                                      n ? " " : "", dice_reader_error(r));
                dice_reader_free(r);
                return;
            }
            if (n)
                out[n++] = ' ';
            render(v, out, cap, &n);
            dice_value_free(v);
        }
    }
    dice_reader_free(r);
}

static void expect(const char *in, size_t len, const char *want) {
    char out[8192];
    read_all(in, len, SIZE_MAX, out, sizeof(out));
    assert_string_equal(out, want);
    /* the same at every split point */
    for (size_t i = 0; i <= len; i++) {
        char part[8192];
        read_all(in, len, i, part, sizeof(part));
        if (strcmp(part, out) != 0)
            fail_msg("split at %zu: %s", i, part);
    }
}
#define EXPECT(lit, want) expect(lit, sizeof(lit) - 1, want)

static void test_resp2_types(void **state) {
    (void)state;
    EXPECT("+OK\r\n", "S(OK)");
    EXPECT("-ERR bad\r\n", "E(ERR bad)");
    EXPECT(":0\r\n:-9223372036854775808\r\n:9223372036854775807\r\n",
           "I(0) I(-9223372036854775808) I(9223372036854775807)");
    EXPECT("$3\r\nfoo\r\n$0\r\n\r\n$-1\r\n", "B(foo) B() nil");
    EXPECT("$4\r\na\r\nb\r\n", "B(a\r\nb)");
    EXPECT("*-1\r\n*0\r\n", "nil A[]");
    EXPECT("*3\r\n:1\r\n*2\r\n+a\r\n$1\r\nb\r\n$-1\r\n",
           "A[I(1),A[S(a),B(b)],nil]");
}

static void test_resp3_types(void **state) {
    (void)state;
    EXPECT("_\r\n", "null");
    EXPECT(",1.5\r\n,inf\r\n,-inf\r\n,1e300\r\n,-2.5E-3\r\n,10\r\n",
           "D(1.5) D(inf) D(-inf) D(1.0000000000000001e+300) "
           "D(-0.0025000000000000001) D(10)");
    EXPECT("#t\r\n#f\r\n", "T(1) T(0)");
    EXPECT("!21\r\nSYNTAX invalid syntax\r\n", "BE(SYNTAX invalid syntax)");
    EXPECT("=15\r\ntxt:Some string\r\n", "V(txt,Some string)");
    EXPECT("(3492890328409238509324850943850943825024385\r\n",
           "N(3492890328409238509324850943850943825024385)");
    EXPECT("%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n",
           "M[S(first),I(1),S(second),I(2)]");
    EXPECT("~5\r\n+orange\r\n+apple\r\n#t\r\n:100\r\n:999\r\n",
           "SET[S(orange),S(apple),T(1),I(100),I(999)]");
    EXPECT(">4\r\n+pubsub\r\n+message\r\n+somechannel\r\n+this is the "
           "message\r\n",
           "P[S(pubsub),S(message),S(somechannel),S(this is the message)]");
    /* the spec's attribute example: attribute before an array */
    EXPECT("|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,"
           "0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n",
           "attrAT[S(key-popularity),M[B(a),D(0.1923),B(b),D(0."
           "0011999999999999999)]]"
           "A[I(2039123),I(9543892)]");
    /* attribute inside an aggregate: not counted as an element */
    EXPECT("*2\r\n:1\r\n|1\r\n+ttl\r\n:3600\r\n:2\r\n",
           "A[I(1),attrAT[S(ttl),I(3600)]I(2)]");
    /* empty attribute, then value */
    EXPECT("|0\r\n+x\r\n", "attrAT[]S(x)");
    EXPECT("%0\r\n~0\r\n>0\r\n", "M[] SET[] P[]");
}

static void test_nan(void **state) {
    (void)state;
    dice_reader_t *r;
    assert_int_equal(dice_reader_new(&r, NULL, NULL, NULL), 0);
    assert_int_equal(dice_reader_feed(r, ",nan\r\n", 6), 0);
    void *v;
    assert_int_equal(dice_reader_get(r, &v), 1);
    assert_true(isnan(dice_value_double(v)));
    size_t len;
    assert_string_equal(dice_value_str(v, &len), "nan");
    dice_value_free(v);
    assert_int_equal(dice_reader_get(r, &v), 0);
    assert_null(v);
    dice_reader_free(r);
}

static void test_errors(void **state) {
    (void)state;
    EXPECT("?\r\n", "ERR(Protocol error: invalid type byte '?')");
    EXPECT("\x01", "ERR(Protocol error: invalid type byte '\\x01')");
    EXPECT("+OK\rX", "ERR(Protocol error: line not terminated by CRLF)");
    EXPECT(":12a\r\n", "ERR(Protocol error: invalid integer)");
    EXPECT(":\r\n", "ERR(Protocol error: invalid integer)");
    EXPECT(":99999999999999999999\r\n", "ERR(Protocol error: invalid integer)");
    EXPECT("$x\r\n", "ERR(Protocol error: invalid bulk length)");
    EXPECT("$-2\r\n", "ERR(Protocol error: invalid bulk length)");
    EXPECT("!-1\r\n", "ERR(Protocol error: invalid bulk length)");
    EXPECT("$3\r\nfooXY", "ERR(Protocol error: bulk payload not terminated "
                          "by CRLF)");
    EXPECT("=3\r\ntxt\r\n", "ERR(Protocol error: invalid verbatim string)");
    EXPECT("=5\r\ntxtxy\r\n", "ERR(Protocol error: invalid verbatim string)");
    EXPECT("*x\r\n", "ERR(Protocol error: invalid aggregate length)");
    EXPECT("%-1\r\n", "ERR(Protocol error: invalid aggregate length)");
    EXPECT("_x\r\n", "ERR(Protocol error: invalid null)");
    EXPECT(",abc\r\n", "ERR(Protocol error: invalid double)");
    EXPECT(",\r\n", "ERR(Protocol error: invalid double)");
    EXPECT(", 1\r\n", "ERR(Protocol error: invalid double)");
    EXPECT(",0x10\r\n", "ERR(Protocol error: invalid double)");
    EXPECT(",1e\r\n", "ERR(Protocol error: invalid double)");
    EXPECT("#x\r\n", "ERR(Protocol error: invalid boolean)");
    EXPECT("#tt\r\n", "ERR(Protocol error: invalid boolean)");
    EXPECT("(12a\r\n", "ERR(Protocol error: invalid big number)");
    EXPECT("(\r\n", "ERR(Protocol error: invalid big number)");
    EXPECT("$?\r\n", "ERR(Protocol error: streamed strings are not "
                     "supported)");
    EXPECT("*?\r\n", "ERR(Protocol error: streamed aggregates are not "
                     "supported)");
    /* an error inside a partial aggregate frees the partial tree */
    EXPECT("*3\r\n:1\r\n*2\r\n:2\r\n?", "ERR(Protocol error: invalid type "
                                        "byte '?')");
    EXPECT(":1\r\n:2\r\n!", "I(1) I(2)");
    /* errors are sticky */
    dice_reader_t *r;
    assert_int_equal(dice_reader_new(&r, NULL, NULL, NULL), 0);
    dice_reader_feed(r, "?", 1);
    void *v;
    assert_int_equal(dice_reader_get(r, &v), DICE_EPROTO);
    assert_int_equal(dice_reader_get(r, &v), DICE_EPROTO);
    assert_int_equal(dice_reader_feed(r, "+OK\r\n", 5), DICE_EPROTO);
    dice_reader_free(r);
}

static void test_limits(void **state) {
    (void)state;
    dice_reader_t *r;
    assert_int_equal(dice_reader_new(&r, NULL, NULL, NULL), 0);
    assert_int_equal(dice_reader_set_limit(r, 42, 1), DICE_EINVAL);
    assert_int_equal(dice_reader_set_limit(r, DICE_READER_LIMIT_BULK, -1),
                     DICE_EINVAL);
    assert_int_equal(dice_reader_set_limit(r, DICE_READER_LIMIT_BULK, 3), 0);
    assert_int_equal(dice_reader_set_limit(r, DICE_READER_LIMIT_AGGREGATE, 2),
                     0);
    void *v;
    static const char ok[] =
        "$3\r\nabc\r\n*2\r\n:1\r\n:2\r\n%1\r\n:1\r\n:2\r\n";
    dice_reader_feed(r, ok, sizeof(ok) - 1);
    assert_int_equal(dice_reader_get(r, &v), 1);
    dice_value_free(v);
    assert_int_equal(dice_reader_get(r, &v), 1);
    dice_value_free(v);
    assert_int_equal(dice_reader_get(r, &v), 1);
    dice_value_free(v);
    dice_reader_feed(r, "*3\r\n", 4);
    assert_int_equal(dice_reader_get(r, &v), DICE_EPROTO);
    assert_string_equal(dice_reader_error(r),
                        "Protocol error: invalid aggregate length");
    dice_reader_free(r);
    assert_int_equal(dice_reader_new(&r, NULL, NULL, NULL), 0);
    dice_reader_set_limit(r, DICE_READER_LIMIT_BULK, 3);
    dice_reader_feed(r, "$4\r\n", 4);
    assert_int_equal(dice_reader_get(r, &v), DICE_EPROTO);
    assert_string_equal(dice_reader_error(r),
                        "Protocol error: invalid bulk length");
    dice_reader_free(r);
    /* a huge announced count allocates nothing up front */
    assert_int_equal(dice_reader_new(&r, NULL, NULL, NULL), 0);
    dice_reader_feed(r, "*4000000000\r\n:1\r\n", 17);
    assert_int_equal(dice_reader_get(r, &v), 0);
    dice_reader_free(r);
}

static void test_nesting(void **state) {
    (void)state;
    char buf[1024];
    size_t n = 0;
    for (int i = 0; i < DICE_READER_MAX_DEPTH; i++)
        n += (size_t)sprintf(buf + n, "*1\r\n");
    n += (size_t)sprintf(buf + n, ":7\r\n");
    dice_reader_t *r;
    assert_int_equal(dice_reader_new(&r, NULL, NULL, NULL), 0);
    dice_reader_feed(r, buf, n);
    void *v;
    assert_int_equal(dice_reader_get(r, &v), 1);
    const dice_value_t *x = v;
    for (int i = 0; i < DICE_READER_MAX_DEPTH; i++) {
        assert_int_equal(dice_value_type(x), DICE_RESP_ARRAY);
        x = dice_value_at(x, 0);
    }
    assert_int_equal(dice_value_int(x), 7);
    assert_null(dice_value_at(v, 1));
    dice_value_free(v);
    dice_reader_free(r);
    /* one level deeper fails */
    n = 0;
    for (int i = 0; i <= DICE_READER_MAX_DEPTH; i++)
        n += (size_t)sprintf(buf + n, "*1\r\n");
    n += (size_t)sprintf(buf + n, ":7\r\n");
    assert_int_equal(dice_reader_new(&r, NULL, NULL, NULL), 0);
    dice_reader_feed(r, buf, n);
    assert_int_equal(dice_reader_get(r, &v), DICE_EPROTO);
    assert_string_equal(dice_reader_error(r),
                        "Protocol error: nesting too deep");
    dice_reader_free(r);
    /* but empty aggregates at the limit are fine */
    n = 0;
    for (int i = 0; i < DICE_READER_MAX_DEPTH; i++)
        n += (size_t)sprintf(buf + n, "*1\r\n");
    n += (size_t)sprintf(buf + n, "*0\r\n");
    assert_int_equal(dice_reader_new(&r, NULL, NULL, NULL), 0);
    dice_reader_feed(r, buf, n);
    assert_int_equal(dice_reader_get(r, &v), 1);
    dice_value_free(v);
    dice_reader_free(r);
}

/* A constructor that records calls and counts live objects. */
struct rec {
    char log[4096];
    size_t n;
    int live;
    int fail_at; /* fail the n-th create (1-based), 0 never */
    int calls;
    void *objs[64]; /* every object made; NULL once freed */
    int nobjs;
};

/* Free what the reader did not free (the test's objects are flat). */
static void rec_cleanup(struct rec *r) {
    for (int i = 0; i < r->nobjs; i++)
        free(r->objs[i]);
}

struct obj {
    int type;
};

static void *rec_create(void *ctx, void *parent, size_t index, int type,
                        const char *str, size_t len, long long integer,
                        double dbl) {
    struct rec *r = ctx;
    (void)dbl;
    if (++r->calls == r->fail_at)
        return NULL;
    r->n += (size_t)snprintf(r->log + r->n, sizeof(r->log) - r->n,
                             "%s%d@%zu:%.*s:%lld;", parent ? "c" : "t", type,
                             index, (int)len, str ? str : "", integer);
    struct obj *o = malloc(sizeof(*o));
    o->type = type;
    r->live++;
    r->objs[r->nobjs++] = o;
    return o;
}

static void rec_free(void *ctx, void *obj) {
    struct rec *r = ctx;
    (void)obj;
    /* the test's objects are flat: freeing "the tree" = the root only */
    for (int i = 0; i < r->nobjs; i++)
        if (r->objs[i] == obj)
            r->objs[i] = NULL;
    free(obj);
    r->live--;
}

static void test_callbacks(void **state) {
    (void)state;
    struct rec rc = {0};
    dice_reader_t *r;
    assert_int_equal(dice_reader_new(&r, rec_create, rec_free, &rc), 0);
    static const char in[] = "%1\r\n+k\r\n*2\r\n:5\r\n=6\r\nmkd:hi\r\n";
    dice_reader_feed(r, in, sizeof(in) - 1);
    void *v;
    assert_int_equal(dice_reader_get(r, &v), 1);
    assert_int_equal(((struct obj *)v)->type, DICE_RESP_MAP);
    assert_string_equal(rc.log, "t13@0::2;c1@0:k:0;c6@1::2;c3@0:5:5;"
                                "c11@1:mkd:hi:0;");
    assert_int_equal(rc.live, 5);
    dice_reader_free(r);
    rec_cleanup(&rc);
    /* constructor failure: DICE_ENOMEM, partial root handed to free */
    struct rec rc2 = {0};
    rc2.fail_at = 3;
    assert_int_equal(dice_reader_new(&r, rec_create, rec_free, &rc2), 0);
    dice_reader_feed(r, "*2\r\n:1\r\n:2\r\n", 12);
    assert_int_equal(dice_reader_get(r, &v), DICE_ENOMEM);
    assert_string_equal(dice_reader_error(r), "out of memory");
    assert_int_equal(rc2.live, 1); /* the child; the root was freed */
    dice_reader_free(r);
    rec_cleanup(&rc2);
    /* a pending top-level attribute is freed with the reader */
    struct rec rc3 = {0};
    assert_int_equal(dice_reader_new(&r, rec_create, rec_free, &rc3), 0);
    dice_reader_feed(r, "|0\r\n", 4);
    assert_int_equal(dice_reader_get(r, &v), 0);
    assert_int_equal(rc3.live, 1);
    dice_reader_free(r);
    assert_int_equal(rc3.live, 0);
    /* free for unreturned partial root at reader free */
    struct rec rc4 = {0};
    assert_int_equal(dice_reader_new(&r, rec_create, rec_free, &rc4), 0);
    dice_reader_feed(r, "*2\r\n", 4);
    assert_int_equal(dice_reader_get(r, &v), 0);
    dice_reader_free(r);
    assert_int_equal(rc4.live, 0);
}

static void test_accessors_wrong_type(void **state) {
    (void)state;
    assert_int_equal(dice_value_type(NULL), 0);
    assert_null(dice_value_str(NULL, NULL));
    dice_reader_t *r;
    assert_int_equal(dice_reader_new(&r, NULL, NULL, NULL), 0);
    dice_reader_feed(r, "+x\r\n", 4);
    void *v;
    assert_int_equal(dice_reader_get(r, &v), 1);
    assert_int_equal(dice_value_int(v), 0);
    assert_true(dice_value_double(v) == 0.0);
    assert_int_equal(dice_value_len(v), 0);
    assert_null(dice_value_at(v, 0));
    assert_null(dice_value_verbatim_format(v));
    assert_null(dice_value_attribute(v));
    dice_value_free(v);
    dice_reader_free(r);
}

static void test_many_values_buffer_reuse(void **state) {
    (void)state;
    /* 100000 values fed in odd-sized chunks: the buffer compacts. */
    dice_reader_t *r;
    assert_int_equal(dice_reader_new(&r, NULL, NULL, NULL), 0);
    static const char one[] = "*2\r\n$3\r\nfoo\r\n:12345\r\n";
    char chunk[1000];
    size_t cl = 0;
    long got = 0;
    for (int i = 0; i < 100000; i++) {
        memcpy(chunk + cl, one, sizeof(one) - 1);
        cl += sizeof(one) - 1;
        if (cl > 900 || i == 99999) {
            size_t half = cl / 3;
            dice_reader_feed(r, chunk, half);
            void *v;
            while (dice_reader_get(r, &v) == 1) {
                got++;
                dice_value_free(v);
            }
            dice_reader_feed(r, chunk + half, cl - half);
            while (dice_reader_get(r, &v) == 1) {
                assert_int_equal(dice_value_int(dice_value_at(v, 1)), 12345);
                got++;
                dice_value_free(v);
            }
            cl = 0;
        }
    }
    assert_int_equal(got, 100000);
    dice_reader_free(r);
}

/* A peer that never ends its line: refused at the line limit, with the
 * CR searched for incrementally across feeds. */
static void test_line_limit(void **state) {
    (void)state;
    dice_reader_t *r;
    void *v;
    assert_int_equal(dice_reader_new(&r, NULL, NULL, NULL), 0);
    assert_int_equal(dice_reader_set_limit(r, DICE_READER_LIMIT_LINE, 10), 0);
    /* exactly at the limit: fine, even split before and inside CRLF */
    assert_int_equal(dice_reader_feed(r, "+0123456789", 11), 0);
    assert_int_equal(dice_reader_get(r, &v), 0);
    assert_int_equal(dice_reader_feed(r, "\r", 1), 0);
    assert_int_equal(dice_reader_get(r, &v), 0);
    assert_int_equal(dice_reader_feed(r, "\n", 1), 0);
    assert_int_equal(dice_reader_get(r, &v), 1);
    size_t n;
    assert_memory_equal(dice_value_str(v, &n), "0123456789", 10);
    dice_value_free(v);
    /* one past it, without a terminator yet: refused */
    assert_int_equal(dice_reader_feed(r, ":12345678901", 12), 0);
    assert_int_equal(dice_reader_get(r, &v), DICE_EPROTO);
    assert_string_equal(dice_reader_error(r), "Protocol error: too big line");
    dice_reader_free(r);

    /* one past it, terminated: refused too */
    assert_int_equal(dice_reader_new(&r, NULL, NULL, NULL), 0);
    assert_int_equal(dice_reader_set_limit(r, DICE_READER_LIMIT_LINE, 10), 0);
    assert_int_equal(dice_reader_feed(r, "-ERR 567890X\r\n", 15), 0);
    assert_int_equal(dice_reader_get(r, &v), DICE_EPROTO);
    dice_reader_free(r);

    /* default limit: a 512 KB simple string fed in 4 KB pieces arrives
     * whole; 2 MB without CRLF is refused */
    assert_int_equal(dice_reader_new(&r, NULL, NULL, NULL), 0);
    char chunk[4096];
    memset(chunk, 'a', sizeof(chunk));
    assert_int_equal(dice_reader_feed(r, "+", 1), 0);
    for (int i = 0; i < 128; i++) {
        assert_int_equal(dice_reader_feed(r, chunk, sizeof(chunk)), 0);
        assert_int_equal(dice_reader_get(r, &v), 0);
    }
    assert_int_equal(dice_reader_feed(r, "\r\n", 2), 0);
    assert_int_equal(dice_reader_get(r, &v), 1);
    dice_value_str(v, &n);
    assert_int_equal(n, 128 * sizeof(chunk));
    dice_value_free(v);
    assert_int_equal(dice_reader_feed(r, "+", 1), 0);
    int rc = 0;
    for (int i = 0; i < 512 && rc == 0; i++) {
        assert_int_equal(dice_reader_feed(r, chunk, sizeof(chunk)), 0);
        rc = dice_reader_get(r, &v);
    }
    assert_int_equal(rc, DICE_EPROTO);
    dice_reader_free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resp2_types),
        cmocka_unit_test(test_resp3_types),
        cmocka_unit_test(test_nan),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_line_limit),
        cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_callbacks),
        cmocka_unit_test(test_accessors_wrong_type),
        cmocka_unit_test(test_many_values_buffer_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
