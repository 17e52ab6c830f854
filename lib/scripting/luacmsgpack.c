/* The "cmsgpack" library as Redis 7.0 bundles it (lua-cmsgpack 0.4.0):
 * cmsgpack.pack(v, ...) encodes each argument as MessagePack and returns
 * the encodings concatenated; unpack, unpack_one and unpack_limit decode.
 * Our own implementation, written from the MessagePack specification and
 * what redis-server answers.
 *
 * Encoding (Redis's rules): a table whose keys are exactly 1..n is an
 * array, any other table a map (in lua_next order); a number that is an
 * integer in int64 range takes the smallest int form, any other number is
 * a float32 when that is exact, else a float64; strings take the smallest
 * str form (never bin); tables nested 16 deep encode as nil, as do
 * functions, threads and userdata.
 *
 * Decoding takes every form but bin and ext ("Bad data format in input."),
 * with an explicit stack of open arrays and maps instead of recursion.
 * Which values go on the Lua stack and when, and where the stack is
 * checked, follow Redis's decoder step for step: so the same input fails
 * at the same depth with the same "stack overflow (...)" text. That check
 * also bounds the nesting: each open array or map holds a stack slot, and
 * Lua refuses more than LUAI_MAXCSTACK (8000) of them.
 *
 * Memory: the encoder's byte buffer and the decoder's frames live in one
 * userdata, an upvalue of the functions, so an error raised in the middle
 * (a stack overflow, out of memory) leaks nothing. */
#include "scripting/scripting_internal.h"

#include <float.h>
#include <lauxlib.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* Tables nested deeper than this encode as nil (Redis's). */
#define MAX_NESTING 16

/* What the encoder keeps of its buffer between calls. */
#define KEEP_BYTES 65536

/* One array or map being decoded. */
typedef struct {
    uint32_t left; /* elements (or pairs) still to decode */
    uint32_t idx;  /* arrays: the next element's index */
    bool map;
    bool in_value; /* maps: the key of this pair is on the stack */
} frame;

typedef struct {
    lua_State *L;
    unsigned char *buf;
    size_t len, cap;
    frame *frames;
    size_t nframes, fcap;
} scratch;

static void *mem_resize(lua_State *L, void *p, size_t old, size_t sz) {
    void *ud;
    lua_Alloc alloc = lua_getallocf(L, &ud);
    return alloc(ud, p, old, sz);
}

static int scratch_gc(lua_State *L) {
    scratch *s = lua_touserdata(L, 1);
    if (s->buf)
        mem_resize(L, s->buf, s->cap, 0);
    if (s->frames)
        mem_resize(L, s->frames, s->fcap * sizeof(frame), 0);
    s->buf = NULL;
    s->frames = NULL;
    s->cap = s->fcap = 0;
    return 0;
}

static scratch *get_scratch(lua_State *L) {
    return lua_touserdata(L, lua_upvalueindex(1));
}

/* ---- Encoding ------------------------------------------------------------ */

static void put(lua_State *L, scratch *s, const void *p, size_t n) {
    if (s->cap - s->len < n) {
        size_t want = s->len + n;
        if (want < s->len)
            luaL_error(L, "not enough memory");
        size_t cap = s->cap ? s->cap : 256;
        while (cap < want)
            cap = cap > SIZE_MAX / 2 ? want : cap * 2;
        unsigned char *b = mem_resize(L, s->buf, s->cap, cap);
        if (!b)
            luaL_error(L, "not enough memory");
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
}

/* A type byte then v's low n bytes, big-endian. */
static void put_be(lua_State *L, scratch *s, unsigned char type, uint64_t v,
                   int n) {
    unsigned char b[9];
    b[0] = type;
    for (int i = n; i >= 1; i--) {
        b[i] = (unsigned char)v;
        v >>= 8;
    }
    put(L, s, b, (size_t)n + 1);
}

static void enc_int(lua_State *L, scratch *s, int64_t v) {
    if (v >= 0) {
        if (v <= 127)
            put_be(L, s, (unsigned char)v, 0, 0);
        else if (v <= 0xff)
            put_be(L, s, 0xcc, (uint64_t)v, 1);
        else if (v <= 0xffff)
            put_be(L, s, 0xcd, (uint64_t)v, 2);
        else if (v <= 0xffffffffLL)
            put_be(L, s, 0xce, (uint64_t)v, 4);
        else
            put_be(L, s, 0xcf, (uint64_t)v, 8);
    } else {
        if (v >= -32)
            put_be(L, s, (unsigned char)(0xe0 | (v & 0x1f)), 0, 0);
        else if (v >= -128)
            put_be(L, s, 0xd0, (uint64_t)v, 1);
        else if (v >= -32768)
            put_be(L, s, 0xd1, (uint64_t)v, 2);
        else if (v >= INT32_MIN)
            put_be(L, s, 0xd2, (uint64_t)v, 4);
        else
            put_be(L, s, 0xd3, (uint64_t)v, 8);
    }
}

static void enc_number(lua_State *L, scratch *s) {
    double d = lua_tonumber(L, -1);
    /* An integer in int64 range (so not inf nor NaN; -0.0 is 0). */
    if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
        (double)(int64_t)d == d) {
        enc_int(L, s, (int64_t)d);
        return;
    }
    /* float32 when exact: a finite double past FLT_MAX never is. */
    if (!(isfinite(d) && fabs(d) > FLT_MAX)) {
        float f = (float)d;
        if ((double)f == d) {
            uint32_t u;
            memcpy(&u, &f, 4);
            put_be(L, s, 0xca, u, 4);
            return;
        }
    }
    uint64_t u;
    memcpy(&u, &d, 8);
    put_be(L, s, 0xcb, u, 8);
}

static void enc_string(lua_State *L, scratch *s) {
    size_t n;
    const char *p = lua_tolstring(L, -1, &n);
    if (n < 32)
        put_be(L, s, (unsigned char)(0xa0 | n), 0, 0);
    else if (n <= 0xff)
        put_be(L, s, 0xd9, n, 1);
    else if (n <= 0xffff)
        put_be(L, s, 0xda, n, 2);
    else
        put_be(L, s, 0xdb, n, 4);
    put(L, s, p, n);
}

/* An array or map header of n entries: fix (0x90 / 0x80), 16 or 32. */
static void enc_header(lua_State *L, scratch *s, size_t n, bool map) {
    if (n <= 15)
        put_be(L, s, (unsigned char)((map ? 0x80 : 0x90) | n), 0, 0);
    else if (n <= 0xffff)
        put_be(L, s, map ? 0xde : 0xdc, n, 2);
    else
        put_be(L, s, map ? 0xdf : 0xdd, n, 4);
}

/* Whether the table on top has exactly the keys 1..n (n >= 0): every key
 * a positive number that is an int, and as many keys as the largest. */
static bool is_array(lua_State *L) {
    int top = lua_gettop(L);
    int count = 0, max = 0;
    luaL_checkstack(L, 2, "in function table_is_an_array");
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        double k;
        if (lua_type(L, -1) != LUA_TNUMBER || (k = lua_tonumber(L, -1)) <= 0 ||
            k > INT_MAX || (double)(int)k != k) {
            lua_settop(L, top);
            return false;
        }
        if ((int)k > max)
            max = (int)k;
        count++;
    }
    lua_settop(L, top);
    return max == count;
}

/* Encode the value on top of the stack and pop it. Recursion is bounded:
 * a table at depth MAX_NESTING is nil. */
static void enc_value(lua_State *L, scratch *s, int level) {
    int t = lua_type(L, -1);
    if (t == LUA_TTABLE && level == MAX_NESTING)
        t = LUA_TNIL;
    switch (t) {
    case LUA_TSTRING: enc_string(L, s); break;
    case LUA_TBOOLEAN:
        put_be(L, s, lua_toboolean(L, -1) ? 0xc3 : 0xc2, 0, 0);
        break;
    case LUA_TNUMBER: enc_number(L, s); break;
    case LUA_TTABLE:
        dice__lua_unproxy(L);
        if (is_array(L)) {
            size_t n = lua_objlen(L, -1);
            enc_header(L, s, n, false);
            luaL_checkstack(L, 1, "in function mp_encode_lua_table_as_array");
            for (size_t i = 1; i <= n; i++) {
                lua_pushnumber(L, (lua_Number)i);
                lua_gettable(L, -2);
                enc_value(L, s, level + 1);
            }
        } else {
            size_t n = 0;
            luaL_checkstack(L, 3, "in function mp_encode_lua_table_as_map");
            lua_pushnil(L);
            while (lua_next(L, -2)) {
                lua_pop(L, 1);
                n++;
            }
            enc_header(L, s, n, true);
            lua_pushnil(L);
            while (lua_next(L, -2)) {
                lua_pushvalue(L, -2);
                enc_value(L, s, level + 1); /* the key's copy */
                enc_value(L, s, level + 1); /* the value */
            }
        }
        break;
    default: put_be(L, s, 0xc0, 0, 0); break;
    }
    lua_pop(L, 1);
}

/* cmsgpack.pack(v, ...): each argument's encoding, concatenated. */
static int mp_pack(lua_State *L) {
    int nargs = lua_gettop(L);
    if (nargs == 0)
        return luaL_argerror(L, 0, "MessagePack pack needs input.");
    if (!lua_checkstack(L, nargs))
        return luaL_argerror(L, 0, "Too many arguments for MessagePack pack.");
    scratch *s = get_scratch(L);
    for (int i = 1; i <= nargs; i++) {
        luaL_checkstack(L, 1, "in function mp_check");
        lua_pushvalue(L, i);
        s->len = 0;
        enc_value(L, s, 0);
        lua_pushlstring(L, (const char *)s->buf, s->len);
    }
    s->len = 0;
    if (s->cap > KEEP_BYTES) {
        mem_resize(L, s->buf, s->cap, 0);
        s->buf = NULL;
        s->cap = 0;
    }
    lua_concat(L, nargs);
    return 1;
}

/* ---- Decoding ------------------------------------------------------------ */

enum { DEC_OK, DEC_EOF, DEC_BADFMT };

typedef struct {
    const unsigned char *p;
    size_t left;
} cursor;

static uint64_t be(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Elements an array's table is created with room for: its length, but
 * never more than the input can hold (each element takes a byte) nor
 * PRESIZE_MAX, so a hostile length allocates nothing. Maps grow as they
 * are filled, as Redis's do, so their pairs() order is Redis's. */
#define PRESIZE_MAX 4096

static void open_frame(lua_State *L, scratch *s, uint32_t n, bool map,
                       size_t left) {
    if (s->nframes == s->fcap) {
        size_t cap = s->fcap ? s->fcap * 2 : 32;
        frame *f = mem_resize(L, s->frames, s->fcap * sizeof(frame),
                              cap * sizeof(frame));
        if (!f)
            luaL_error(L, "not enough memory");
        s->frames = f;
        s->fcap = cap;
    }
    if (map) {
        lua_newtable(L);
    } else {
        size_t pre = n < left ? n : left;
        lua_createtable(L, (int)(pre < PRESIZE_MAX ? pre : PRESIZE_MAX), 0);
    }
    if (!map)
        luaL_checkstack(L, 1, "in function mp_decode_to_lua_array");
    s->frames[s->nframes++] = (frame){.left = n, .idx = 1, .map = map};
}

/* One scalar, or the header of an array or map (then a frame is opened and
 * its table pushed): DEC_OK, or the error, cursor left as it was. */
static int dec_item(lua_State *L, scratch *s, cursor *c) {
    if (c->left < 1)
        return DEC_EOF;
    luaL_checkstack(L, 1,
                    "too many return values at once; "
                    "use unpack_one or unpack_limit instead.");
    const unsigned char *p = c->p;
    unsigned b = p[0];
    size_t need = 1, slen = 0;
    int ilen = 0; /* bytes of a length or number after the type byte */
    switch (b) {
    case 0xc0: lua_pushnil(L); break;
    case 0xc2: lua_pushboolean(L, 0); break;
    case 0xc3: lua_pushboolean(L, 1); break;
    case 0xcc: ilen = 1; break;
    case 0xcd: ilen = 2; break;
    case 0xce: ilen = 4; break;
    case 0xcf: ilen = 8; break;
    case 0xd0: ilen = 1; break;
    case 0xd1: ilen = 2; break;
    case 0xd2: ilen = 4; break;
    case 0xd3: ilen = 8; break;
    case 0xca: ilen = 4; break;
    case 0xcb: ilen = 8; break;
    case 0xd9: ilen = 1; break;
    case 0xda:
    case 0xdc:
    case 0xde: ilen = 2; break;
    case 0xdb:
    case 0xdd:
    case 0xdf: ilen = 4; break;
    default:
        if (b < 0x80) {
            lua_pushinteger(L, (lua_Integer)b);
        } else if (b >= 0xe0) {
            lua_pushinteger(L, (lua_Integer)b - 256);
        } else if (b >= 0xa0 && b <= 0xbf) {
            slen = b & 0x1f;
            if (c->left < 1 + slen)
                return DEC_EOF;
            lua_pushlstring(L, (const char *)p + 1, slen);
            need += slen;
        } else if (b >= 0x90 && b <= 0x9f) {
            c->p++, c->left--;
            open_frame(L, s, b & 0x0f, false, c->left);
            return DEC_OK;
        } else if (b >= 0x80 && b <= 0x8f) {
            c->p++, c->left--;
            open_frame(L, s, b & 0x0f, true, c->left);
            return DEC_OK;
        } else {
            return DEC_BADFMT; /* 0xc1, bin, ext */
        }
        c->p += need, c->left -= need;
        return DEC_OK;
    }
    if (ilen) {
        need += (size_t)ilen;
        if (c->left < need)
            return DEC_EOF;
        uint64_t v = be(p + 1, ilen);
        switch (b) {
        case 0xcc:
        case 0xcd:
        case 0xce:
        case 0xcf: lua_pushinteger(L, (lua_Integer)v); break;
        case 0xd0: lua_pushinteger(L, (int8_t)v); break;
        case 0xd1: lua_pushinteger(L, (int16_t)v); break;
        case 0xd2: lua_pushinteger(L, (int32_t)v); break;
        case 0xd3: lua_pushnumber(L, (lua_Number)(int64_t)v); break;
        case 0xca: {
            uint32_t u = (uint32_t)v;
            float f;
            memcpy(&f, &u, 4);
            lua_pushnumber(L, (lua_Number)f);
            break;
        }
        case 0xcb: {
            double d;
            memcpy(&d, &v, 8);
            lua_pushnumber(L, d);
            break;
        }
        case 0xd9:
        case 0xda:
        case 0xdb:
            slen = (size_t)v;
            if (c->left - need < slen)
                return DEC_EOF;
            lua_pushlstring(L, (const char *)p + need, slen);
            need += slen;
            break;
        default: /* array or map 16/32 */
            c->p += need, c->left -= need;
            open_frame(L, s, (uint32_t)v, b == 0xde || b == 0xdf, c->left);
            return DEC_OK;
        }
    }
    c->p += need, c->left -= need;
    return DEC_OK;
}

/* One whole value (nested arrays and maps included) pushed: DEC_OK or the
 * error. The same pushes and stack checks as a recursive decoder: an
 * array pushes its table, then for each element its index and the
 * element, and sets it; a map pushes its table, then for each pair the
 * key and the value, and sets it. */
static int dec_value(lua_State *L, scratch *s, cursor *c) {
    size_t base = s->nframes;
    int rc = dec_item(L, s, c);
    /* complete: the value on top of the stack is whole (a scalar, or a
     * table whose frame has closed), to be put in the open frame. */
    bool complete = s->nframes == base;
    while (rc == DEC_OK && s->nframes > base) {
        frame *f = &s->frames[s->nframes - 1];
        if (complete) {
            if (f->map && !f->in_value) {
                f->in_value = true; /* that was the key: now its value */
                size_t depth = s->nframes;
                rc = dec_item(L, s, c);
                complete = s->nframes == depth;
                continue;
            }
            lua_settable(L, -3);
            f->in_value = false;
        }
        if (f->left == 0) {
            s->nframes--; /* its table, on top, is whole */
            complete = true;
            continue;
        }
        f->left--;
        if (!f->map)
            lua_pushnumber(L, (lua_Number)f->idx++);
        size_t depth = s->nframes;
        rc = dec_item(L, s, c);
        complete = s->nframes == depth;
    }
    s->nframes = base;
    return rc;
}

/* Decode from byte offset of argument 1, at most limit values (both 0:
 * every value, and no offset returned). Returns Redis's results: the
 * values, preceded by the next offset (-1 at the end) unless all were
 * asked for. */
static int unpack_full(lua_State *L, lua_Integer limit, lua_Integer offset) {
    size_t len;
    const char *str = luaL_checklstring(L, 1, &len);
    bool all = limit == 0 && offset == 0;
    if (offset < 0 || limit < 0)
        return luaL_error(
            L, "Invalid request to unpack with offset of %d and limit of %d.",
            (int)offset, (int)len);
    if ((size_t)offset > len)
        return luaL_error(L, "Start offset %d greater than input length %d.",
                          (int)offset, (int)len);
    if (all)
        limit = INT_MAX;
    scratch *s = get_scratch(L);
    s->nframes = 0;
    cursor c = {(const unsigned char *)str + offset, len - (size_t)offset};
    int n = 0;
    for (; c.left > 0 && n < limit; n++) {
        int rc = dec_value(L, s, &c);
        if (rc == DEC_EOF)
            return luaL_error(L, "Missing bytes in input.");
        if (rc == DEC_BADFMT)
            return luaL_error(L, "Bad data format in input.");
    }
    if (!all) {
        luaL_checkstack(L, 1, "in function mp_unpack_full");
        lua_pushinteger(L, c.left == 0 ? -1 : (lua_Integer)(len - c.left));
        lua_insert(L, 2);
        n++;
    }
    return n;
}

/* Drop every argument but the first (none stays none: the error then says
 * "got no value"). */
static void keep_first(lua_State *L) {
    if (lua_gettop(L) > 1)
        lua_settop(L, 1);
}

/* cmsgpack.unpack(s): every value of s. */
static int mp_unpack(lua_State *L) {
    return unpack_full(L, 0, 0);
}

/* cmsgpack.unpack_one(s [, offset]): next offset, one value. */
static int mp_unpack_one(lua_State *L) {
    lua_Integer offset = luaL_optinteger(L, 2, 0);
    keep_first(L);
    return unpack_full(L, 1, offset);
}

/* cmsgpack.unpack_limit(s, limit [, offset]): next offset, values. */
static int mp_unpack_limit(lua_State *L) {
    lua_Integer limit = luaL_checkinteger(L, 2);
    lua_Integer offset = luaL_optinteger(L, 3, 0);
    keep_first(L);
    return unpack_full(L, limit, offset);
}

int dice__luaopen_cmsgpack(lua_State *L) {
    static const luaL_Reg fns[] = {{"pack", mp_pack},
                                   {"unpack", mp_unpack},
                                   {"unpack_one", mp_unpack_one},
                                   {"unpack_limit", mp_unpack_limit},
                                   {NULL, NULL}};
    lua_newtable(L);
    scratch *s = lua_newuserdata(L, sizeof(*s));
    memset(s, 0, sizeof(*s));
    lua_newtable(L);
    lua_pushcfunction(L, scratch_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    for (const luaL_Reg *r = fns; r->name; r++) {
        lua_pushvalue(L, -1);
        lua_pushcclosure(L, r->func, 1);
        lua_setfield(L, -3, r->name);
    }
    lua_pop(L, 1);
    lua_pushliteral(L, "cmsgpack");
    lua_setfield(L, -2, "_NAME");
    lua_pushliteral(L, "lua-cmsgpack 0.4.0");
    lua_setfield(L, -2, "_VERSION");
    lua_pushliteral(L, "Copyright (C) 2012, Salvatore Sanfilippo");
    lua_setfield(L, -2, "_COPYRIGHT");
    lua_pushliteral(L, "MessagePack C implementation for Lua");
    lua_setfield(L, -2, "_DESCRIPTION");
    lua_setglobal(L, "cmsgpack");
    return 0;
}
