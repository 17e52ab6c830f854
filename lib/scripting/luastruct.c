/* The "struct" library as Redis 7.0 bundles it (Roberto Ierusalimschy's
 * struct for Lua 5.1, with Redis's bounds checks): struct.pack(fmt, ...),
 * struct.unpack(fmt, s [, pos]) and struct.size(fmt). Our own
 * implementation, written from the library's documented format and what
 * redis-server answers.
 *
 * Format letters: '<' little-endian, '>' big-endian, '![n]' alignment n
 * (default 8), ' ' ignored; b/B h/H l/L T signed/unsigned char, short,
 * long, size_t; i/I[n] an n-byte integer (default 4, at most 32); f d
 * float and double; x one zero byte; c[n] n chars (c0: the whole string
 * when packing, the size read just before when unpacking); s a
 * zero-terminated string. Values are Lua numbers (doubles): integers are
 * handled on 64 bits, wider ones padded with zeros.
 *
 * Redis's build runs on x86-64 and some of what it answers comes from
 * there: a double converted to a 64-bit integer out of range, and a
 * shift by 64 or more, which the hardware reduces modulo 64. Both are
 * reproduced here explicitly (no undefined behaviour). */
#include "scripting/scripting_internal.h"

#include <lauxlib.h>
#include <stdint.h>
#include <string.h>

#define MAXINTSIZE 32
#define MAXALIGN 8 /* of a double on x86-64, the default of '!' */

typedef struct {
    bool little;
    int align;
} header;

static void header_init(header *h) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    h->little = false;
#else
    h->little = true;
#endif
    h->align = 1;
}

static bool is_digit(int c) {
    return c >= '0' && c <= '9';
}

static bool is_alnum(int c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The number at *fmt (consumed), or df when there is none. */
static int getnum(lua_State *L, const char **fmt, int df) {
    if (!is_digit((unsigned char)**fmt))
        return df;
    int a = 0;
    do {
        int d = **fmt - '0';
        if (a > INT32_MAX / 10 || a * 10 > INT32_MAX - d)
            luaL_error(L, "integral size overflow");
        a = a * 10 + d;
        (*fmt)++;
    } while (is_digit((unsigned char)**fmt));
    return a;
}

/* The size of option opt (its number consumed); 0 for the others. */
static size_t optsize(lua_State *L, int opt, const char **fmt) {
    switch (opt) {
    case 'B':
    case 'b': return 1;
    case 'H':
    case 'h': return 2;
    case 'L':
    case 'l':
    case 'T':
    case 'd': return 8;
    case 'f': return 4;
    case 'x': return 1;
    case 'c': return (size_t)getnum(L, fmt, 1);
    case 'i':
    case 'I': {
        int sz = getnum(L, fmt, 4);
        if (sz > MAXINTSIZE)
            luaL_error(L, "integral size %d is larger than limit of %d", sz,
                       MAXINTSIZE);
        return (size_t)sz;
    }
    default: return 0;
    }
}

/* Padding before an item of size at len, as the library computes it (for
 * a size not a power of two too). */
static size_t gettoalign(size_t len, const header *h, int opt, size_t size) {
    if (size == 0 || opt == 'c')
        return 0;
    if (size > (size_t)h->align)
        size = (size_t)h->align;
    return (size - (len & (size - 1))) & (size - 1);
}

/* Endianness, alignment and spaces; any other letter is an error. */
static void controloptions(lua_State *L, int opt, const char **fmt, header *h) {
    switch (opt) {
    case ' ': return;
    case '>': h->little = false; return;
    case '<': h->little = true; return;
    case '!': {
        int a = getnum(L, fmt, MAXALIGN);
        if (a <= 0 || (a & (a - 1)) != 0)
            luaL_error(L, "alignment %d is not a power of 2", a);
        h->align = a;
        return;
    }
    default:
        luaL_argerror(L, 1,
                      lua_pushfstring(L, "invalid format option '%c'", opt));
    }
}

/* x86-64's cvttsd2si: a double truncated to int64, INT64_MIN when out of
 * range or NaN. */
static uint64_t trunc_i64(double d) {
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
        return UINT64_C(1) << 63;
    return (uint64_t)(int64_t)d;
}

/* A double converted to uint64 as x86-64 code does it: values from 2^63
 * up through the signed conversion of d - 2^63, the top bit flipped. */
static uint64_t trunc_u64(double d) {
    if (d >= 9223372036854775808.0)
        return trunc_i64(d - 9223372036854775808.0) ^ (UINT64_C(1) << 63);
    return trunc_i64(d);
}

static bool is_int_opt(int opt) {
    switch (opt) {
    case 'b':
    case 'B':
    case 'h':
    case 'H':
    case 'l':
    case 'L':
    case 'T':
    case 'i':
    case 'I': return true;
    default: return false;
    }
}

/* The 8 bytes of v in the order asked (the first n of them). */
static void put_bytes(luaL_Buffer *b, uint64_t v, bool little, size_t n) {
    unsigned char buf[8];
    for (size_t i = 0; i < n; i++) {
        buf[little ? i : n - 1 - i] = (unsigned char)v;
        v >>= 8;
    }
    luaL_addlstring(b, (const char *)buf, n);
}

/* struct.pack(fmt, v...): the values packed. */
static int st_pack(lua_State *L) {
    const char *fmt = luaL_checkstring(L, 1);
    header h;
    header_init(&h);
    int arg = 2;
    size_t total = 0;
    luaL_Buffer b;
    lua_pushnil(L); /* separates the arguments from the buffer's slots */
    luaL_buffinit(L, &b);
    while (*fmt) {
        int opt = (unsigned char)*fmt++;
        size_t size = optsize(L, opt, &fmt);
        size_t pad = gettoalign(total, &h, opt, size);
        total += pad;
        while (pad-- > 0)
            luaL_addchar(&b, '\0');
        if (is_int_opt(opt)) {
            lua_Number n = luaL_checknumber(L, arg++);
            uint64_t v = n < 0 ? trunc_i64(n) : trunc_u64(n);
            /* Past 8 bytes the value has run out: zeros. */
            size_t low = size < 8 ? size : 8, high = size - low;
            if (!h.little)
                for (size_t i = 0; i < high; i++)
                    luaL_addchar(&b, '\0');
            put_bytes(&b, v, h.little, low);
            if (h.little)
                for (size_t i = 0; i < high; i++)
                    luaL_addchar(&b, '\0');
        } else {
            switch (opt) {
            case 'x': luaL_addchar(&b, '\0'); break;
            case 'f': {
                float f = (float)luaL_checknumber(L, arg++);
                uint32_t u;
                memcpy(&u, &f, 4);
                put_bytes(&b, u, h.little, 4);
                break;
            }
            case 'd': {
                double d = luaL_checknumber(L, arg++);
                uint64_t u;
                memcpy(&u, &d, 8);
                put_bytes(&b, u, h.little, 8);
                break;
            }
            case 'c':
            case 's': {
                size_t l;
                const char *s = luaL_checklstring(L, arg++, &l);
                if (size == 0)
                    size = l;
                /* arg is past the string already: the library's number */
                luaL_argcheck(L, l >= size, arg, "string too short");
                luaL_addlstring(&b, s, size);
                if (opt == 's') {
                    luaL_addchar(&b, '\0');
                    size++;
                }
                break;
            }
            default: controloptions(L, opt, &fmt, &h);
            }
        }
        total += size;
    }
    luaL_pushresult(&b);
    return 1;
}

/* An integer of size bytes at p, as a Lua number. Only the last 8 bytes
 * read stay (the earlier ones shifted out); the sign bit is bit
 * size*8-1, taken modulo 64 as x86-64 shifts. */
static lua_Number getinteger(const unsigned char *p, bool little,
                             bool is_signed, size_t size) {
    uint64_t l = 0;
    for (size_t i = 0; i < size; i++)
        l = (l << 8) | p[little ? size - 1 - i : i];
    if (!is_signed)
        return (lua_Number)l;
    uint64_t mask = ~UINT64_C(0) << ((unsigned)(size * 8 - 1) & 63u);
    if (l & mask)
        l |= mask;
    return (lua_Number)(int64_t)l;
}

static bool fits(size_t pos, size_t size, size_t ld) {
    return size <= ld && pos <= ld - size;
}

/* struct.unpack(fmt, s [, pos]): the values, then the position after. */
static int st_unpack(lua_State *L) {
    const char *fmt = luaL_checkstring(L, 1);
    size_t ld;
    const char *data = luaL_checklstring(L, 2, &ld);
    size_t pos = (size_t)luaL_optinteger(L, 3, 1);
    luaL_argcheck(L, pos > 0, 3, "offset must be 1 or greater");
    pos--;
    header h;
    header_init(&h);
    int n = 0;
    while (*fmt) {
        int opt = (unsigned char)*fmt++;
        size_t size = optsize(L, opt, &fmt);
        pos += gettoalign(pos, &h, opt, size);
        luaL_argcheck(L, fits(pos, size, ld), 2, "data string too short");
        luaL_checkstack(L, 2, "too many results");
        const unsigned char *p = (const unsigned char *)data + pos;
        if (is_int_opt(opt)) {
            bool is_signed = opt >= 'a';
            lua_pushnumber(L, getinteger(p, h.little, is_signed, size));
            n++;
        } else {
            switch (opt) {
            case 'x': break;
            case 'f': {
                uint32_t u = 0;
                for (int i = 0; i < 4; i++)
                    u = (u << 8) | p[h.little ? 3 - i : i];
                float f;
                memcpy(&f, &u, 4);
                lua_pushnumber(L, (lua_Number)f);
                n++;
                break;
            }
            case 'd': {
                uint64_t u = 0;
                for (int i = 0; i < 8; i++)
                    u = (u << 8) | p[h.little ? 7 - i : i];
                double d;
                memcpy(&d, &u, 8);
                lua_pushnumber(L, d);
                n++;
                break;
            }
            case 'c':
                if (size == 0) {
                    if (n == 0 || !lua_isnumber(L, -1))
                        luaL_error(L, "format 'c0' needs a previous size");
                    size = (size_t)trunc_u64(lua_tonumber(L, -1));
                    lua_pop(L, 1);
                    n--;
                    luaL_argcheck(L, fits(pos, size, ld), 2,
                                  "data string too short");
                }
                lua_pushlstring(L, (const char *)p, size);
                n++;
                break;
            case 's': {
                const char *e = memchr(p, '\0', ld - pos);
                if (!e)
                    luaL_error(L, "unfinished string in data");
                size = (size_t)(e - (const char *)p) + 1;
                lua_pushlstring(L, (const char *)p, size - 1);
                n++;
                break;
            }
            default: controloptions(L, opt, &fmt, &h);
            }
        }
        pos += size;
    }
    lua_pushinteger(L, (lua_Integer)(pos + 1));
    return n + 1;
}

/* struct.size(fmt): the bytes fmt packs to (fixed-size options only). */
static int st_size(lua_State *L) {
    const char *fmt = luaL_checkstring(L, 1);
    header h;
    header_init(&h);
    size_t pos = 0;
    while (*fmt) {
        int opt = (unsigned char)*fmt++;
        size_t size = optsize(L, opt, &fmt);
        pos += gettoalign(pos, &h, opt, size);
        if (opt == 's')
            luaL_argerror(L, 1, "option 's' has no fixed size");
        else if (opt == 'c' && size == 0)
            luaL_argerror(L, 1, "option 'c0' has no fixed size");
        if (!is_alnum(opt))
            controloptions(L, opt, &fmt, &h);
        pos += size;
    }
    lua_pushinteger(L, (lua_Integer)pos);
    return 1;
}

int dice__luaopen_struct(lua_State *L) {
    static const luaL_Reg fns[] = {{"pack", st_pack},
                                   {"unpack", st_unpack},
                                   {"size", st_size},
                                   {NULL, NULL}};
    luaL_register(L, "struct", fns);
    lua_pop(L, 1);
    return 0;
}
