/* The "cjson" library scripts expect, with the names, defaults, output
 * and error texts of the lua-cjson 2.1.0 that Redis 7.0 bundles (probed on
 * redis-server 7.0.15). Our own implementation against the Lua 5.1 C API;
 * Debian's lua-cjson is not used (a sandbox has no require, and its
 * behaviour is not Redis's in every detail).
 *
 * Shape. Each module table's functions share one configuration, a
 * userdata upvalue (cjson.new() makes a table with a fresh one). The
 * configuration persists across scripts, as in Redis, until the Lua state
 * is recreated (SCRIPT FLUSH). It also owns the encoder's output buffer and
 * the decoder's string scratch, so a Lua error thrown from deep inside
 * either leaks nothing: the memory is reused by the next call, or freed
 * when it grew large, or by the userdata's __gc.
 *
 * Bounds. Nesting is limited by encode_max_depth / decode_max_depth and,
 * as in lua-cjson, by lua_checkstack (Lua 5.1 gives a C function at most
 * LUAI_MAXCSTACK slots), which caps the C recursion at about 8,000 levels
 * whatever the settings say; the same slot counts as lua-cjson's make the
 * same depth fail with the same number. The decoder reads through the
 * terminating NUL Lua keeps after every string and never past it. The
 * encoder's output is capped (ENCODE_MAX): past it, "not enough memory",
 * where Redis would try to allocate and abort. */
#include "scripting/scripting_internal.h"

#include <lauxlib.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CJSON_NAME "cjson"
#define CJSON_VERSION "2.1.0"
#define CONFIG_META "dice.cjson.config"

/* Buffers bigger than this are freed after use rather than kept. */
#define KEEP_MAX ((size_t)64 * 1024)
/* The most the encoder writes (Redis's proto-max-bulk-len default). */
#define ENCODE_MAX ((size_t)512 * 1024 * 1024)

typedef struct {
    int sparse_convert; /* encode an excessively sparse array as object */
    int sparse_ratio;   /* 0: any array is fine, else max index / items */
    int sparse_safe;    /* an array up to this index is always an array */
    int encode_max_depth, decode_max_depth;
    int precision;      /* %.<precision>g */
    int keep_buffer;    /* reuse the output buffer between calls */
    int encode_invalid; /* 0 error, 1 inf/nan, 2 null */
    int decode_invalid; /* accept hex, inf, nan, leading + and zeros */
    char *out;          /* the encoder's output */
    size_t out_len, out_cap;
    char *tmp; /* the decoder's current string, unescaped */
    size_t tmp_cap;
} jcfg;

static jcfg *config(lua_State *L) {
    return lua_touserdata(L, lua_upvalueindex(1));
}

static int config_gc(lua_State *L) {
    jcfg *cfg = lua_touserdata(L, 1);
    free(cfg->out);
    free(cfg->tmp);
    cfg->out = cfg->tmp = NULL;
    cfg->out_cap = cfg->tmp_cap = 0;
    return 0;
}

/* ---- Configuration ------------------------------------------------------- */

/* lua-cjson's argument rules: at most n arguments ("found too many
 * arguments" names argument n + 1), the missing ones nil. */
static jcfg *cfg_args(lua_State *L, int n) {
    luaL_argcheck(L, lua_gettop(L) <= n, n + 1, "found too many arguments");
    lua_settop(L, n);
    return config(L);
}

/* An integer setting at idx (nil: unchanged); pushes the value. The range
 * error names argument 1 whichever argument it is, as lua-cjson's does. */
static void int_option(lua_State *L, int idx, int *setting, int min, int max) {
    if (!lua_isnil(L, idx)) {
        int v = (int)luaL_checkinteger(L, idx);
        if (v < min || v > max) {
            char msg[64];
            snprintf(msg, sizeof(msg), "expected integer between %d and %d",
                     min, max);
            luaL_argerror(L, 1, msg);
        }
        *setting = v;
    }
    lua_pushinteger(L, *setting);
}

/* An enumerated setting at idx: true/false (1/0) or one of names (nil:
 * unchanged); pushes it back as a boolean for 0/1, else as its name. */
static void enum_option(lua_State *L, int idx, int *setting,
                        const char *const *names) {
    static const char *const onoff[] = {"off", "on", NULL};
    if (!names)
        names = onoff;
    if (!lua_isnil(L, idx)) {
        if (lua_isboolean(L, idx))
            *setting = lua_toboolean(L, idx);
        else
            *setting = luaL_checkoption(L, idx, NULL, names);
    }
    if (*setting == 0 || *setting == 1)
        lua_pushboolean(L, *setting);
    else
        lua_pushstring(L, names[*setting]);
}

/* cjson.encode_sparse_array([convert[, ratio[, safe]]]) */
static int c_encode_sparse_array(lua_State *L) {
    jcfg *cfg = cfg_args(L, 3);
    enum_option(L, 1, &cfg->sparse_convert, NULL);
    int_option(L, 2, &cfg->sparse_ratio, 0, INT_MAX);
    int_option(L, 3, &cfg->sparse_safe, 0, INT_MAX);
    return 3;
}

/* cjson.encode_max_depth([depth]) */
static int c_encode_max_depth(lua_State *L) {
    jcfg *cfg = cfg_args(L, 1);
    int_option(L, 1, &cfg->encode_max_depth, 1, INT_MAX);
    return 1;
}

/* cjson.decode_max_depth([depth]) */
static int c_decode_max_depth(lua_State *L) {
    jcfg *cfg = cfg_args(L, 1);
    int_option(L, 1, &cfg->decode_max_depth, 1, INT_MAX);
    return 1;
}

/* cjson.encode_number_precision([digits]) */
static int c_encode_number_precision(lua_State *L) {
    jcfg *cfg = cfg_args(L, 1);
    int_option(L, 1, &cfg->precision, 1, 14);
    return 1;
}

/* cjson.encode_keep_buffer([keep]) */
static int c_encode_keep_buffer(lua_State *L) {
    jcfg *cfg = cfg_args(L, 1);
    enum_option(L, 1, &cfg->keep_buffer, NULL);
    if (!cfg->keep_buffer) {
        free(cfg->out);
        cfg->out = NULL;
        cfg->out_cap = 0;
    }
    return 1;
}

/* cjson.encode_invalid_numbers([true|false|"on"|"off"|"null"]) */
static int c_encode_invalid_numbers(lua_State *L) {
    static const char *const names[] = {"off", "on", "null", NULL};
    jcfg *cfg = cfg_args(L, 1);
    enum_option(L, 1, &cfg->encode_invalid, names);
    return 1;
}

/* cjson.decode_invalid_numbers([accept]) */
static int c_decode_invalid_numbers(lua_State *L) {
    jcfg *cfg = cfg_args(L, 1);
    enum_option(L, 1, &cfg->decode_invalid, NULL);
    return 1;
}

/* ---- Encoding ------------------------------------------------------------ */

/* Drop the output buffer unless it is to be kept (small, keep_buffer). */
static void out_release(jcfg *cfg) {
    if (!cfg->keep_buffer || cfg->out_cap > KEEP_MAX) {
        free(cfg->out);
        cfg->out = NULL;
        cfg->out_cap = 0;
    }
    cfg->out_len = 0;
}

/* lua-cjson's encoding error: "Cannot serialise <type of idx>: why". */
static void enc_fail(lua_State *L, jcfg *cfg, int idx, const char *why) {
    out_release(cfg);
    luaL_error(L, "Cannot serialise %s: %s", luaL_typename(L, idx), why);
}

/* Room for n more bytes of output; returns where they go. */
static char *out_reserve(lua_State *L, jcfg *cfg, size_t n) {
    if (n > ENCODE_MAX - cfg->out_len) {
        out_release(cfg);
        luaL_error(L, "not enough memory");
    }
    size_t need = cfg->out_len + n;
    if (need > cfg->out_cap) {
        size_t cap = cfg->out_cap ? cfg->out_cap : 256;
        while (cap < need)
            cap = cap > ENCODE_MAX / 2 ? ENCODE_MAX : cap * 2;
        char *p = realloc(cfg->out, cap);
        if (!p) {
            out_release(cfg);
            luaL_error(L, "not enough memory");
        }
        cfg->out = p;
        cfg->out_cap = cap;
    }
    return cfg->out + cfg->out_len;
}

static void out_mem(lua_State *L, jcfg *cfg, const char *s, size_t n) {
    memcpy(out_reserve(L, cfg, n), s, n);
    cfg->out_len += n;
}

static void out_char(lua_State *L, jcfg *cfg, char ch) {
    *out_reserve(L, cfg, 1) = ch;
    cfg->out_len++;
}

/* Bytes written as a backslash and one letter; the other escaped bytes
 * (control characters, DEL) take \u00XX. */
static char short_escape(unsigned char ch) {
    switch (ch) {
    case '"':
    case '\\':
    case '/': return (char)ch;
    case '\b': return 'b';
    case '\t': return 't';
    case '\n': return 'n';
    case '\f': return 'f';
    case '\r': return 'r';
    default: return 0;
    }
}

static bool plain(unsigned char ch) {
    return ch >= 0x20 && ch != '"' && ch != '\\' && ch != '/' && ch != 0x7f;
}

/* The string at idx, quoted: control characters and DEL as \uXXXX (or
 * their short forms), '"', '\\' and '/' backslashed, the rest as is. Its
 * exact size is counted first, so a long string reserves what it needs. */
static void enc_string(lua_State *L, jcfg *cfg, int idx) {
    static const char hex[] = "0123456789abcdef";
    size_t len, extra = 0;
    const char *s = lua_tolstring(L, idx, &len);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!plain(ch))
            extra += short_escape(ch) ? 1 : 5;
    }
    /* (len + extra + 2 cannot wrap: a Lua string is far below 2^62.) */
    char *p = out_reserve(L, cfg, len + extra + 2);
    *p++ = '"';
    if (!extra) {
        memcpy(p, s, len);
        p += len;
    } else {
        for (size_t i = 0; i < len; i++) {
            unsigned char ch = (unsigned char)s[i];
            if (plain(ch)) {
                *p++ = (char)ch;
                continue;
            }
            char e = short_escape(ch);
            *p++ = '\\';
            if (e) {
                *p++ = e;
            } else {
                memcpy(p, "u00", 3);
                p[3] = hex[ch >> 4];
                p[4] = hex[ch & 15];
                p += 5;
            }
        }
    }
    *p = '"';
    cfg->out_len += len + extra + 2;
}

/* The number at idx, as "%.<precision>g"; infinities and NaN as
 * encode_invalid_numbers says. */
static void enc_number(lua_State *L, jcfg *cfg, int idx) {
    double n = lua_tonumber(L, idx);
    if (isinf(n) || isnan(n)) {
        if (cfg->encode_invalid == 0)
            enc_fail(L, cfg, idx, "must not be NaN or Inf");
        if (cfg->encode_invalid == 2) {
            out_mem(L, cfg, "null", 4);
            return;
        }
        if (isnan(n)) { /* whatever its sign bit */
            out_mem(L, cfg, "nan", 3);
            return;
        }
    }
    char *p = out_reserve(L, cfg, 32);
    /* An integer of at most precision digits prints as itself under %g:
     * written directly, the common case of ids and counts (-0 excepted,
     * which %g writes "-0"). */
    static const double pow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6, 1e7,
                                   1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14};
    double lim = pow10[cfg->precision];
    if (n > -lim && n < lim && n == (double)(long long)n &&
        (n != 0 || !signbit(n))) {
        char digits[16];
        long long v = (long long)n;
        unsigned long long u =
            v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
        int k = 0;
        do {
            digits[k++] = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        char *q = p;
        if (v < 0)
            *q++ = '-';
        while (k)
            *q++ = digits[--k];
        cfg->out_len += (size_t)(q - p);
        return;
    }
    int w = snprintf(p, 32, "%.*g", cfg->precision, n);
    cfg->out_len += (size_t)w;
}

/* lua-cjson's conversion of a key to its running maximum, an int: what an
 * x86-64 conversion gives for a key past INT_MAX (INT_MIN), which then
 * makes the table an object. */
static int key_as_int(double k) {
    return k < 2147483648.0 ? (int)k : INT_MIN;
}

/* The table at the top as an array: its length (> 0), or <= 0 for an
 * object (a key that is not an integer >= 1, no keys, or an excessively
 * sparse array with sparse_convert). */
static int array_length(lua_State *L, jcfg *cfg) {
    int max = 0, items = 0;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        double k;
        if (lua_type(L, -2) == LUA_TNUMBER && (k = lua_tonumber(L, -2)) != 0 &&
            floor(k) == k && k >= 1) {
            if (k > max)
                max = key_as_int(k);
            items++;
            lua_pop(L, 1);
            continue;
        }
        lua_pop(L, 2);
        return -1;
    }
    /* items * ratio as lua-cjson computes it (an int, wrapping). */
    int limit = (int)((unsigned)items * (unsigned)cfg->sparse_ratio);
    if (cfg->sparse_ratio > 0 && max > limit && max > cfg->sparse_safe) {
        if (!cfg->sparse_convert)
            enc_fail(L, cfg, -1, "excessively sparse array");
        return -1;
    }
    return max;
}

static void enc_value(lua_State *L, jcfg *cfg, int depth);

static void enc_array(lua_State *L, jcfg *cfg, int depth, int len) {
    out_char(L, cfg, '[');
    for (int i = 1; i <= len; i++) {
        if (i > 1)
            out_char(L, cfg, ',');
        lua_rawgeti(L, -1, i);
        enc_value(L, cfg, depth);
        lua_pop(L, 1);
    }
    out_char(L, cfg, ']');
}

static void enc_object(lua_State *L, jcfg *cfg, int depth) {
    bool first = true;
    out_char(L, cfg, '{');
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        if (!first)
            out_char(L, cfg, ',');
        first = false;
        int kt = lua_type(L, -2);
        if (kt == LUA_TNUMBER) {
            out_char(L, cfg, '"');
            enc_number(L, cfg, -2);
            out_mem(L, cfg, "\":", 2);
        } else if (kt == LUA_TSTRING) {
            enc_string(L, cfg, -2);
            out_char(L, cfg, ':');
        } else {
            enc_fail(L, cfg, -2, "table key must be a number or string");
        }
        enc_value(L, cfg, depth);
        lua_pop(L, 1);
    }
    out_char(L, cfg, '}');
}

/* The value at the top of the stack, at depth tables deep. */
static void enc_value(lua_State *L, jcfg *cfg, int depth) {
    switch (lua_type(L, -1)) {
    case LUA_TSTRING: enc_string(L, cfg, -1); break;
    case LUA_TNUMBER: enc_number(L, cfg, -1); break;
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, -1))
            out_mem(L, cfg, "true", 4);
        else
            out_mem(L, cfg, "false", 5);
        break;
    case LUA_TTABLE: {
        dice__lua_unproxy(L);
        depth++;
        /* 3 slots: a key and a value while iterating, one for a child. */
        if (depth > cfg->encode_max_depth || !lua_checkstack(L, 3)) {
            out_release(cfg);
            luaL_error(L, "Cannot serialise, excessive nesting (%d)", depth);
        }
        int len = array_length(L, cfg);
        if (len > 0)
            enc_array(L, cfg, depth, len);
        else
            enc_object(L, cfg, depth);
        break;
    }
    case LUA_TNIL: out_mem(L, cfg, "null", 4); break;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, -1) == NULL) { /* cjson.null */
            out_mem(L, cfg, "null", 4);
            break;
        }
        /* fall through */
    default: enc_fail(L, cfg, -1, "type not supported");
    }
}

/* cjson.encode(value) */
static int c_encode(lua_State *L) {
    jcfg *cfg = config(L);
    luaL_argcheck(L, lua_gettop(L) == 1, 1, "expected 1 argument");
    cfg->out_len = 0;
    enc_value(L, cfg, 0);
    lua_pushlstring(L, cfg->out, cfg->out_len);
    out_release(cfg);
    return 1;
}

/* ---- Decoding ------------------------------------------------------------ */

typedef enum {
    T_OBJ_BEGIN,
    T_OBJ_END,
    T_ARR_BEGIN,
    T_ARR_END,
    T_STRING,
    T_NUMBER,
    T_BOOLEAN,
    T_NULL,
    T_COLON,
    T_COMMA,
    T_END,
    T_WHITESPACE,
    T_ERROR,
    T_UNKNOWN
} jtype;

/* The names errors give found tokens (lua-cjson's). */
static const char *const TOKEN_NAME[] = {
    "T_OBJ_BEGIN", "T_OBJ_END",    "T_ARR_BEGIN", "T_ARR_END", "T_STRING",
    "T_NUMBER",    "T_BOOLEAN",    "T_NULL",      "T_COLON",   "T_COMMA",
    "T_END",       "T_WHITESPACE", "T_ERROR",     "T_UNKNOWN"};

typedef struct {
    jtype type;
    size_t index; /* offset of the token (of the error, for T_ERROR) */
    union {
        const char *string; /* T_STRING: in tmp; T_ERROR: what */
        double number;
        int boolean;
    } v;
    size_t len; /* T_STRING */
} jtoken;

typedef struct {
    const char *data, *ptr; /* NUL-terminated (a Lua string) */
    jcfg *cfg;
    int depth;
} jparse;

/* What a byte starts: the single-character tokens, white space, the end
 * (NUL), T_UNKNOWN for what needs a closer look, else an error. */
static jtype char_token(unsigned char ch) {
    switch (ch) {
    case '{': return T_OBJ_BEGIN;
    case '}': return T_OBJ_END;
    case '[': return T_ARR_BEGIN;
    case ']': return T_ARR_END;
    case ',': return T_COMMA;
    case ':': return T_COLON;
    case '\0': return T_END;
    case ' ':
    case '\t':
    case '\n':
    case '\r': return T_WHITESPACE;
    case 'f':
    case 'i':
    case 'I':
    case 'n':
    case 'N':
    case 't':
    case '"':
    case '+':
    case '-': return T_UNKNOWN;
    default: return ch >= '0' && ch <= '9' ? T_UNKNOWN : T_ERROR;
    }
}

static void token_error(jparse *j, jtoken *t, const char *what) {
    t->type = T_ERROR;
    t->index = (size_t)(j->ptr - j->data);
    t->v.string = what;
}

static int hexval(unsigned char ch) {
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch |= 0x20;
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* Four hex digits at s, or -1; stops at the first that is not one (so
 * never reads past a NUL). */
static int hex4(const char *s) {
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hexval((unsigned char)s[i]);
        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    return v;
}

/* The \uXXXX escape (or surrogate pair) at j->ptr, appended to out as
 * UTF-8; false when it is not a valid one. */
static bool unicode_escape(jparse *j, char **out) {
    int cp = hex4(j->ptr + 2), n = 6;
    if (cp < 0)
        return false;
    if ((cp & 0xf800) == 0xd800) {
        if (cp & 0x400) /* a low surrogate first */
            return false;
        if (j->ptr[6] != '\\' || j->ptr[7] != 'u')
            return false;
        int lo = hex4(j->ptr + 8);
        if (lo < 0 || (lo & 0xfc00) != 0xdc00)
            return false;
        cp = (((cp & 0x3ff) << 10) | (lo & 0x3ff)) + 0x10000;
        n = 12;
    }
    char *p = *out;
    if (cp < 0x80) {
        *p++ = (char)cp;
    } else if (cp < 0x800) {
        *p++ = (char)(0xc0 | cp >> 6);
        *p++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *p++ = (char)(0xe0 | cp >> 12);
        *p++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *p++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *p++ = (char)(0xf0 | cp >> 18);
        *p++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *p++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *p++ = (char)(0x80 | (cp & 0x3f));
    }
    *out = p;
    j->ptr += n;
    return true;
}

/* The string at j->ptr (on its '"'), unescaped into tmp, which holds the
 * whole input, and no escape grows. Raw control bytes pass; a NUL ends the
 * input, so "unexpected end of string". */
static void next_string(jparse *j, jtoken *t) {
    char *p = j->cfg->tmp;
    j->ptr++;
    for (;;) {
        char ch = *j->ptr;
        if (ch == '"')
            break;
        if (!ch) {
            token_error(j, t, "unexpected end of string");
            return;
        }
        if (ch == '\\') {
            switch (j->ptr[1]) {
            case '"':
            case '\\':
            case '/': ch = j->ptr[1]; break;
            case 'b': ch = '\b'; break;
            case 'f': ch = '\f'; break;
            case 'n': ch = '\n'; break;
            case 'r': ch = '\r'; break;
            case 't': ch = '\t'; break;
            case 'u':
                if (unicode_escape(j, &p))
                    continue;
                token_error(j, t, "invalid unicode escape code");
                return;
            default: token_error(j, t, "invalid escape code"); return;
            }
            j->ptr++;
        }
        *p++ = ch;
        j->ptr++;
    }
    j->ptr++;
    t->type = T_STRING;
    t->v.string = j->cfg->tmp;
    t->len = (size_t)(p - j->cfg->tmp);
}

/* Numbers JSON refuses but strtod takes: a leading '+', hex, leading
 * zeros, inf, nan (the rest strtod itself refuses). */
static bool invalid_number(const char *p) {
    if (*p == '+')
        return true;
    if (*p == '-')
        p++;
    if (*p == '0') {
        char c2 = p[1];
        return (c2 | 0x20) == 'x' || (c2 >= '0' && c2 <= '9');
    }
    if (*p <= '9')
        return false;
    return strncasecmp(p, "inf", 3) == 0 || strncasecmp(p, "nan", 3) == 0;
}

static void next_number(jparse *j, jtoken *t) {
    char *end;
    t->type = T_NUMBER;
    t->v.number = strtod(j->ptr, &end);
    if (end == j->ptr)
        token_error(j, t, "invalid number");
    else
        j->ptr = end;
}

static void next_token(jparse *j, jtoken *t) {
    unsigned char ch;
    for (;;) {
        ch = (unsigned char)*j->ptr;
        t->type = char_token(ch);
        if (t->type != T_WHITESPACE)
            break;
        j->ptr++;
    }
    t->index = (size_t)(j->ptr - j->data);
    if (t->type == T_ERROR) {
        token_error(j, t, "invalid token");
        return;
    }
    if (t->type == T_END)
        return;
    if (t->type != T_UNKNOWN) {
        j->ptr++;
        return;
    }
    if (ch == '"') {
        next_string(j, t);
    } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
        if (!j->cfg->decode_invalid && invalid_number(j->ptr))
            token_error(j, t, "invalid number");
        else
            next_number(j, t);
    } else if (strncmp(j->ptr, "true", 4) == 0) {
        t->type = T_BOOLEAN;
        t->v.boolean = 1;
        j->ptr += 4;
    } else if (strncmp(j->ptr, "false", 5) == 0) {
        t->type = T_BOOLEAN;
        t->v.boolean = 0;
        j->ptr += 5;
    } else if (strncmp(j->ptr, "null", 4) == 0) {
        t->type = T_NULL;
        j->ptr += 4;
    } else if (j->cfg->decode_invalid && invalid_number(j->ptr)) {
        next_number(j, t);
    } else {
        token_error(j, t, "invalid token");
    }
}

static void parse_error(lua_State *L, const char *expected, const jtoken *t) {
    const char *found = t->type == T_ERROR ? t->v.string : TOKEN_NAME[t->type];
    luaL_error(L, "Expected %s but found %s at character %d", expected, found,
               (int)(t->index + 1));
}

/* One level deeper, with slots more stack; the same limits, text and
 * position as lua-cjson's. */
static void descend(lua_State *L, jparse *j, int slots) {
    j->depth++;
    if (j->depth > j->cfg->decode_max_depth || !lua_checkstack(L, slots))
        luaL_error(L,
                   "Found too many nested data structures (%d) at "
                   "character %d",
                   j->depth, (int)(j->ptr - j->data));
}

static void parse_value(lua_State *L, jparse *j, jtoken *t);

static void parse_object(lua_State *L, jparse *j) {
    jtoken t;
    descend(L, j, 3); /* the table, a key, a value */
    lua_newtable(L);
    next_token(j, &t);
    if (t.type == T_OBJ_END) {
        j->depth--;
        return;
    }
    for (;;) {
        if (t.type != T_STRING)
            parse_error(L, "object key string", &t);
        lua_pushlstring(L, t.v.string, t.len);
        next_token(j, &t);
        if (t.type != T_COLON)
            parse_error(L, "colon", &t);
        next_token(j, &t);
        parse_value(L, j, &t);
        lua_rawset(L, -3);
        next_token(j, &t);
        if (t.type == T_OBJ_END) {
            j->depth--;
            return;
        }
        if (t.type != T_COMMA)
            parse_error(L, "comma or object end", &t);
        next_token(j, &t);
    }
}

static void parse_array(lua_State *L, jparse *j) {
    jtoken t;
    descend(L, j, 2); /* the table, a value */
    lua_newtable(L);
    next_token(j, &t);
    if (t.type == T_ARR_END) {
        j->depth--;
        return;
    }
    for (int i = 1;; i++) {
        parse_value(L, j, &t);
        lua_rawseti(L, -2, i);
        next_token(j, &t);
        if (t.type == T_ARR_END) {
            j->depth--;
            return;
        }
        if (t.type != T_COMMA)
            parse_error(L, "comma or array end", &t);
        next_token(j, &t);
    }
}

/* The value token t starts, pushed. */
static void parse_value(lua_State *L, jparse *j, jtoken *t) {
    switch (t->type) {
    case T_STRING: lua_pushlstring(L, t->v.string, t->len); break;
    case T_NUMBER: lua_pushnumber(L, t->v.number); break;
    case T_BOOLEAN: lua_pushboolean(L, t->v.boolean); break;
    case T_OBJ_BEGIN: parse_object(L, j); break;
    case T_ARR_BEGIN: parse_array(L, j); break;
    case T_NULL:
        lua_pushlightuserdata(L, NULL); /* cjson.null */
        break;
    default: parse_error(L, "value", t);
    }
}

/* cjson.decode(text) */
static int c_decode(lua_State *L) {
    jcfg *cfg = config(L);
    size_t len;
    luaL_argcheck(L, lua_gettop(L) == 1, 1, "expected 1 argument");
    const char *s = luaL_checklstring(L, 1, &len);
    if (len >= 2 && (!s[0] || !s[1]))
        luaL_error(L, "JSON parser does not support UTF-16 or UTF-32");
    if (cfg->tmp_cap < len + 1) {
        free(cfg->tmp);
        cfg->tmp_cap = 0;
        if (!(cfg->tmp = malloc(len + 1)))
            luaL_error(L, "not enough memory");
        cfg->tmp_cap = len + 1;
    }
    jparse j = {.data = s, .ptr = s, .cfg = cfg, .depth = 0};
    jtoken t;
    next_token(&j, &t);
    parse_value(L, &j, &t);
    next_token(&j, &t);
    if (t.type != T_END)
        parse_error(L, "the end", &t);
    if (cfg->tmp_cap > KEEP_MAX) {
        free(cfg->tmp);
        cfg->tmp = NULL;
        cfg->tmp_cap = 0;
    }
    return 1;
}

/* ---- The module ---------------------------------------------------------- */

static int c_new(lua_State *L);

/* A module table, with a configuration of its own, pushed. The order of
 * the fields is lua-cjson's, so pairs() walks them in Redis's order. */
static void push_module(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"encode", c_encode},
        {"decode", c_decode},
        {"encode_sparse_array", c_encode_sparse_array},
        {"encode_max_depth", c_encode_max_depth},
        {"decode_max_depth", c_decode_max_depth},
        {"encode_number_precision", c_encode_number_precision},
        {"encode_keep_buffer", c_encode_keep_buffer},
        {"encode_invalid_numbers", c_encode_invalid_numbers},
        {"decode_invalid_numbers", c_decode_invalid_numbers},
        {"new", c_new},
        {NULL, NULL}};
    lua_newtable(L);
    jcfg *cfg = lua_newuserdata(L, sizeof(*cfg));
    memset(cfg, 0, sizeof(*cfg));
    cfg->sparse_ratio = 2;
    cfg->sparse_safe = 10;
    cfg->encode_max_depth = 1000;
    cfg->decode_max_depth = 1000;
    cfg->precision = 14;
    cfg->keep_buffer = 1;
    cfg->decode_invalid = 1;
    if (luaL_newmetatable(L, CONFIG_META)) {
        lua_pushcfunction(L, config_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    for (const luaL_Reg *r = fns; r->name; r++) {
        lua_pushvalue(L, -1);
        lua_pushcclosure(L, r->func, 1);
        lua_setfield(L, -3, r->name);
    }
    lua_pop(L, 1);
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    lua_pushliteral(L, CJSON_NAME);
    lua_setfield(L, -2, "_NAME");
    lua_pushliteral(L, CJSON_VERSION);
    lua_setfield(L, -2, "_VERSION");
}

/* cjson.new(): a module table with its own configuration. */
static int c_new(lua_State *L) {
    push_module(L);
    return 1;
}

int dice__luaopen_cjson(lua_State *L) {
    push_module(L);
    lua_setglobal(L, "cjson");
    return 0;
}
