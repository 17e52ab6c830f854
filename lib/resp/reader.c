/* RESP2/RESP3 value reader (client side, FFI): feed bytes, get values.
 *
 * Each element (a header line, plus the payload for bulk-like types) is
 * parsed only once it is wholly buffered; until then the reader waits and
 * re-reads just that element's header next time. Aggregates are tracked on
 * an explicit stack of DICE_READER_MAX_DEPTH frames, never by recursion,
 * so hostile nesting cannot overflow the C stack. Values are built by a
 * constructor callback; the default one builds dice_value_t trees. */
#include "resp/resp_internal.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#define DICE_READER_DEFAULT_BULK (512LL * 1024 * 1024)
#define DICE_READER_DEFAULT_AGG 4294967295LL
#define DICE_READER_DEFAULT_LINE (1024LL * 1024)
/* Longest text accepted for a double (",<text>\r\n"). */
#define DICE_READER_DOUBLE_MAX 512

struct dice_frame {
    void *obj;
    int type;
    long long total; /* child objects expected */
    long long idx;   /* next child's index */
};

struct dice_reader {
    char *buf;
    size_t len;
    size_t cap;
    size_t pos; /* first unparsed byte */
    /* Bytes after pos already searched for the CR of an incomplete line,
     * so each feed scans only what is new (no quadratic re-scan). */
    size_t scanned;

    dice_reader_create_fn create;
    dice_reader_free_fn free_obj;
    void *ctx;
    int is_default;

    struct dice_frame stack[DICE_READER_MAX_DEPTH];
    int depth;
    void *root;     /* top-level aggregate being built */
    void *top_attr; /* top-level attribute not yet handed to a value */

    long long max_bulk;
    long long max_agg;
    long long max_line;

    int failed; /* 0 or the DICE_E* code get returns forever */
    char err[96];
};

/* ---- default value tree ------------------------------------------------ */

struct dice_value {
    int type;
    char *str; /* NUL-terminated copy; VERBATIM keeps "fmt:" in front */
    size_t len;
    long long integer;
    double dbl;
    struct dice_value **elems;
    size_t nelem; /* children attached so far */
    size_t cap;
    struct dice_value *attr;         /* attribute annotating this value */
    struct dice_value *pending_attr; /* attribute waiting for a child */
    char fmt[4];
};

void dice_value_free(dice_value_t *v) {
    if (!v)
        return;
    for (size_t i = 0; i < v->nelem; i++)
        dice_value_free(v->elems[i]);
    free(v->elems);
    dice_value_free(v->attr);
    dice_value_free(v->pending_attr);
    free(v->str);
    free(v);
}

static int value_attach(dice_value_t *parent, dice_value_t *child) {
    if (parent->nelem == parent->cap) {
        /* Grow with the data actually received rather than trusting the
         * announced count: a header alone must not allocate gigabytes. */
        size_t nc = parent->cap ? parent->cap * 2 : 4;
        if (nc > (size_t)parent->integer)
            nc = (size_t)parent->integer;
        if (nc <= parent->nelem)
            nc = parent->nelem + 1;
        dice_value_t **ne = realloc(parent->elems, nc * sizeof(*ne));
        if (!ne)
            return DICE_ENOMEM;
        parent->elems = ne;
        parent->cap = nc;
    }
    parent->elems[parent->nelem++] = child;
    return 0;
}

static void *value_create(void *ctx, void *parent_obj, size_t index, int type,
                          const char *str, size_t len, long long integer,
                          double dbl) {
    dice_reader_t *r = ctx;
    dice_value_t *parent = parent_obj;
    (void)index; /* children arrive in order */
    dice_value_t *v = calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    v->type = type;
    v->integer = integer;
    v->dbl = dbl;
    if (str) {
        v->str = malloc(len + 1);
        if (!v->str) {
            free(v);
            return NULL;
        }
        memcpy(v->str, str, len);
        v->str[len] = '\0';
        v->len = len;
        if (type == DICE_RESP_VERBATIM && len >= 4) {
            memcpy(v->fmt, str, 3);
            v->fmt[3] = '\0';
        }
    }
    if (type == DICE_RESP_ATTRIBUTE) {
        /* Held until the value it annotates is created. At top level the
         * reader keeps it (r->top_attr) once we return. */
        if (parent) {
            dice_value_free(parent->pending_attr);
            parent->pending_attr = v;
        }
        return v;
    }
    if (parent) {
        if (value_attach(parent, v)) {
            dice_value_free(v);
            return NULL;
        }
        v->attr = parent->pending_attr;
        parent->pending_attr = NULL;
    } else {
        v->attr = r->top_attr;
        r->top_attr = NULL;
    }
    return v;
}

static void value_free_cb(void *ctx, void *obj) {
    (void)ctx;
    dice_value_free(obj);
}

int dice_value_type(const dice_value_t *v) {
    return v ? v->type : 0;
}

const char *dice_value_str(const dice_value_t *v, size_t *len) {
    if (!v || !v->str) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (v->type == DICE_RESP_VERBATIM) {
        if (len)
            *len = v->len - 4;
        return v->str + 4;
    }
    if (len)
        *len = v->len;
    return v->str;
}

long long dice_value_int(const dice_value_t *v) {
    if (!v || (v->type != DICE_RESP_INTEGER && v->type != DICE_RESP_BOOL))
        return 0;
    return v->integer;
}

double dice_value_double(const dice_value_t *v) {
    return v && v->type == DICE_RESP_DOUBLE ? v->dbl : 0.0;
}

static int type_is_agg(int t) {
    return t == DICE_RESP_ARRAY || t == DICE_RESP_MAP || t == DICE_RESP_SET ||
           t == DICE_RESP_ATTRIBUTE || t == DICE_RESP_PUSH;
}

size_t dice_value_len(const dice_value_t *v) {
    return v && type_is_agg(v->type) ? v->nelem : 0;
}

const dice_value_t *dice_value_at(const dice_value_t *v, size_t i) {
    if (!v || !type_is_agg(v->type) || i >= v->nelem)
        return NULL;
    return v->elems[i];
}

const dice_value_t *dice_value_attribute(const dice_value_t *v) {
    return v ? v->attr : NULL;
}

const char *dice_value_verbatim_format(const dice_value_t *v) {
    return v && v->type == DICE_RESP_VERBATIM ? v->fmt : NULL;
}

/* ---- reader ------------------------------------------------------------ */

int dice_reader_new(dice_reader_t **out, dice_reader_create_fn create,
                    dice_reader_free_fn free_obj, void *ctx) {
    dice_reader_t *r = calloc(1, sizeof(*r));
    *out = r;
    if (!r)
        return DICE_ENOMEM;
    if (create) {
        r->create = create;
        r->free_obj = free_obj;
        r->ctx = ctx;
    } else {
        r->create = value_create;
        r->free_obj = value_free_cb;
        r->ctx = r;
        r->is_default = 1;
    }
    r->max_bulk = DICE_READER_DEFAULT_BULK;
    r->max_agg = DICE_READER_DEFAULT_AGG;
    r->max_line = DICE_READER_DEFAULT_LINE;
    return 0;
}

/* Free what was built of an unfinished value. */
static void reader_drop_partial(dice_reader_t *r) {
    if (r->root && r->free_obj)
        r->free_obj(r->ctx, r->root);
    if (r->top_attr && r->free_obj)
        r->free_obj(r->ctx, r->top_attr);
    r->root = NULL;
    r->top_attr = NULL;
    r->depth = 0;
}

void dice_reader_free(dice_reader_t *r) {
    if (!r)
        return;
    reader_drop_partial(r);
    free(r->buf);
    free(r);
}

int dice_reader_set_limit(dice_reader_t *r, int which, long long value) {
    if (value < 0)
        return DICE_EINVAL;
    switch (which) {
    case DICE_READER_LIMIT_BULK: r->max_bulk = value; return 0;
    case DICE_READER_LIMIT_AGGREGATE: r->max_agg = value; return 0;
    case DICE_READER_LIMIT_LINE: r->max_line = value; return 0;
    default: return DICE_EINVAL;
    }
}

const char *dice_reader_error(const dice_reader_t *r) {
    return r->err;
}

int dice_reader_feed(dice_reader_t *r, const char *buf, size_t len) {
    if (r->failed)
        return r->failed;
    if (len == 0)
        return 0;
    /* Reclaim consumed bytes when that moves little data relative to what
     * was consumed. */
    if (r->pos == r->len) {
        r->pos = r->len = 0;
    } else if (r->pos > 0 && r->pos >= r->len - r->pos) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    if (len > SIZE_MAX - r->len)
        return DICE_ENOMEM;
    if (r->cap - r->len < len) {
        size_t nc = r->cap ? r->cap : 1024;
        while (nc - r->len < len) {
            if (nc > SIZE_MAX / 2) {
                nc = r->len + len;
                break;
            }
            nc *= 2;
        }
        char *nb = realloc(r->buf, nc);
        if (!nb)
            return DICE_ENOMEM;
        r->buf = nb;
        r->cap = nc;
    }
    memcpy(r->buf + r->len, buf, len);
    r->len += len;
    return 0;
}

static int reader_fail(dice_reader_t *r, int code, const char *msg) {
    size_t n = strlen(msg);
    if (n >= sizeof(r->err))
        n = sizeof(r->err) - 1;
    memcpy(r->err, msg, n);
    r->err[n] = '\0';
    r->failed = code;
    reader_drop_partial(r);
    return code;
}

static int reader_double(const char *s, size_t n, double *out) {
    char tmp[DICE_READER_DOUBLE_MAX + 1];
    if (n == 0 || n > DICE_READER_DOUBLE_MAX)
        return 0;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    const char *t = tmp;
    int neg = 0;
    if (*t == '-' || *t == '+') {
        neg = *t == '-';
        t++;
    }
    if (!strcasecmp(t, "inf")) {
        *out = neg ? -INFINITY : INFINITY;
        return 1;
    }
    if (!strcasecmp(t, "nan")) {
        *out = NAN;
        return 1;
    }
    /* strtod also takes spaces, hex, "infinity": accept plain decimal. */
    int digits = 0;
    for (size_t i = 0; i < n; i++) {
        char c = tmp[i];
        if (c >= '0' && c <= '9')
            digits = 1;
        else if (c != '.' && c != 'e' && c != 'E' && c != '-' && c != '+')
            return 0;
    }
    if (!digits)
        return 0;
    char *end;
    double d = strtod(tmp, &end);
    if (end != tmp + n)
        return 0;
    *out = d;
    return 1;
}

static int reader_bignum(const char *s, size_t n) {
    size_t i = 0;
    if (n > 0 && (s[0] == '-' || s[0] == '+'))
        i = 1;
    if (i == n)
        return 0;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int reader_type_of(char c) {
    switch (c) {
    case '+': return DICE_RESP_STRING;
    case '-': return DICE_RESP_ERROR;
    case ':': return DICE_RESP_INTEGER;
    case '$': return DICE_RESP_BULK;
    case '*': return DICE_RESP_ARRAY;
    case '_': return DICE_RESP_NULL;
    case ',': return DICE_RESP_DOUBLE;
    case '#': return DICE_RESP_BOOL;
    case '!': return DICE_RESP_BLOB_ERROR;
    case '=': return DICE_RESP_VERBATIM;
    case '(': return DICE_RESP_BIGNUM;
    case '%': return DICE_RESP_MAP;
    case '~': return DICE_RESP_SET;
    case '|': return DICE_RESP_ATTRIBUTE;
    case '>': return DICE_RESP_PUSH;
    default: return 0;
    }
}

#define DICE_RFAIL(msg) reader_fail(r, DICE_EPROTO, "Protocol error: " msg)

int dice_reader_get(dice_reader_t *r, void **value_out) {
    *value_out = NULL;
    if (r->failed)
        return r->failed;
    for (;;) {
        if (r->pos >= r->len)
            return 0;
        const char *s = r->buf + r->pos;
        const char *end = r->buf + r->len;
        int type = reader_type_of(s[0]);
        if (!type) {
            char msg[64];
            unsigned char c = (unsigned char)s[0];
            if (isprint(c))
                snprintf(msg, sizeof(msg),
                         "Protocol error: invalid type byte '%c'", c);
            else
                snprintf(msg, sizeof(msg),
                         "Protocol error: invalid type byte '\\x%02x'", c);
            return reader_fail(r, DICE_EPROTO, msg);
        }
        size_t from = r->scanned > 1 ? r->scanned : 1;
        const char *cr = memchr(s + from, '\r', (size_t)(end - s) - from);
        if (!cr || cr + 1 >= end) {
            /* Incomplete line: remember how far we looked (a CR that is
             * the last byte is looked at again, with its LF). */
            r->scanned = cr ? (size_t)(cr - s) : (size_t)(end - s);
            if ((long long)(r->scanned - 1) > r->max_line)
                return DICE_RFAIL("too big line");
            return 0;
        }
        r->scanned = 0;
        if ((long long)(cr - s - 1) > r->max_line)
            return DICE_RFAIL("too big line");
        if (cr[1] != '\n')
            return DICE_RFAIL("line not terminated by CRLF");
        const char *line = s + 1;
        size_t n = (size_t)(cr - line);
        const char *after = cr + 2; /* next element, unless a payload */

        const char *str = NULL;
        size_t slen = 0;
        long long ival = 0;
        double dval = 0.0;
        int is_agg = 0;

        switch (type) {
        case DICE_RESP_STRING:
        case DICE_RESP_ERROR:
            str = line;
            slen = n;
            break;
        case DICE_RESP_INTEGER:
            if (!dice__str2ll_lenient(line, n, &ival))
                return DICE_RFAIL("invalid integer");
            str = line;
            slen = n;
            break;
        case DICE_RESP_NULL:
            if (n != 0)
                return DICE_RFAIL("invalid null");
            break;
        case DICE_RESP_DOUBLE:
            if (!reader_double(line, n, &dval))
                return DICE_RFAIL("invalid double");
            str = line;
            slen = n;
            break;
        case DICE_RESP_BOOL:
            if (n != 1 || (line[0] != 't' && line[0] != 'f'))
                return DICE_RFAIL("invalid boolean");
            ival = line[0] == 't';
            break;
        case DICE_RESP_BIGNUM:
            if (!reader_bignum(line, n))
                return DICE_RFAIL("invalid big number");
            str = line;
            slen = n;
            break;
        case DICE_RESP_BULK:
        case DICE_RESP_BLOB_ERROR:
        case DICE_RESP_VERBATIM: {
            if (n == 1 && line[0] == '?')
                return DICE_RFAIL("streamed strings are not supported");
            if (!dice__str2ll_lenient(line, n, &ival))
                return DICE_RFAIL("invalid bulk length");
            if (ival == -1 && type == DICE_RESP_BULK) {
                type = DICE_RESP_NIL;
                break;
            }
            if (ival < 0 || ival > r->max_bulk)
                return DICE_RFAIL("invalid bulk length");
            if ((size_t)(end - after) < (size_t)ival + 2)
                return 0; /* payload not all here yet */
            if (after[ival] != '\r' || after[ival + 1] != '\n')
                return DICE_RFAIL("bulk payload not terminated by CRLF");
            if (type == DICE_RESP_VERBATIM && (ival < 4 || after[3] != ':'))
                return DICE_RFAIL("invalid verbatim string");
            str = after;
            slen = (size_t)ival;
            after += ival + 2;
            ival = 0;
            break;
        }
        default: /* aggregates */
            if (n == 1 && line[0] == '?')
                return DICE_RFAIL("streamed aggregates are not supported");
            if (!dice__str2ll_lenient(line, n, &ival))
                return DICE_RFAIL("invalid aggregate length");
            if (ival == -1 && type == DICE_RESP_ARRAY) {
                type = DICE_RESP_NIL;
                ival = 0;
                break;
            }
            if (ival < 0 || ival > r->max_agg)
                return DICE_RFAIL("invalid aggregate length");
            if (type == DICE_RESP_MAP || type == DICE_RESP_ATTRIBUTE) {
                if (ival > LLONG_MAX / 2)
                    return DICE_RFAIL("invalid aggregate length");
                ival *= 2;
            }
            is_agg = 1;
            if (ival > 0 && r->depth == DICE_READER_MAX_DEPTH)
                return DICE_RFAIL("nesting too deep");
            break;
        }

        struct dice_frame *top = r->depth ? &r->stack[r->depth - 1] : NULL;
        void *parent = top ? top->obj : NULL;
        size_t index = top ? (size_t)top->idx : 0;
        if (!parent && type == DICE_RESP_ATTRIBUTE && r->top_attr) {
            /* Two attributes in a row: the first annotates nothing. */
            if (r->free_obj)
                r->free_obj(r->ctx, r->top_attr);
            r->top_attr = NULL;
        }
        void *obj =
            r->create(r->ctx, parent, index, type, str, slen, ival, dval);
        if (!obj)
            return reader_fail(r, DICE_ENOMEM, "out of memory");
        r->pos = (size_t)(after - r->buf);
        if (!parent) {
            if (type == DICE_RESP_ATTRIBUTE)
                r->top_attr = obj;
            else
                r->top_attr = NULL; /* handed to the value just created */
        }

        if (is_agg && ival > 0) {
            struct dice_frame *f = &r->stack[r->depth++];
            f->obj = obj;
            f->type = type;
            f->total = ival;
            f->idx = 0;
            if (!parent && type != DICE_RESP_ATTRIBUTE)
                r->root = obj;
            continue;
        }

        /* A value is complete: advance parents, popping finished ones. */
        int was_attr = type == DICE_RESP_ATTRIBUTE;
        void *done = obj;
        while (r->depth > 0) {
            struct dice_frame *f = &r->stack[r->depth - 1];
            if (!was_attr)
                f->idx++;
            if (f->idx < f->total) {
                done = NULL;
                break;
            }
            done = f->obj;
            was_attr = f->type == DICE_RESP_ATTRIBUTE;
            r->depth--;
        }
        if (done && !was_attr) {
            r->root = NULL;
            *value_out = done;
            return 1;
        }
        /* A top-level attribute finished: its value follows. */
    }
}

size_t dice__reader_buffered(const dice_reader_t *r) {
    return r->len - r->pos;
}
