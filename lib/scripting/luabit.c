/* The "bit" library scripts expect (the LuaBitOp 1.0 API that Redis
 * bundles): 32-bit operations on Lua numbers, results as signed 32-bit
 * values. Our own implementation; Debian's lua-bitop is a loadable module,
 * and a sandbox has no require. */
#include "scripting/scripting_internal.h"

#include <lauxlib.h>
#include <math.h>
#include <stdint.h>

/* A number's low 32 bits, as LuaBitOp takes them: modulo 2^32 of the
 * number rounded to an integer. */
static uint32_t barg(lua_State *L, int idx) {
    lua_Number n = luaL_checknumber(L, idx);
    double m = fmod(floor(n + 0.5), 4294967296.0);
    if (m < 0)
        m += 4294967296.0;
    return (uint32_t)m;
}

static int bret(lua_State *L, uint32_t v) {
    lua_pushnumber(L, (lua_Number)(int32_t)v);
    return 1;
}

static int b_tobit(lua_State *L) {
    return bret(L, barg(L, 1));
}
static int b_bnot(lua_State *L) {
    return bret(L, ~barg(L, 1));
}

static int b_band(lua_State *L) {
    uint32_t v = barg(L, 1);
    for (int i = lua_gettop(L); i > 1; i--)
        v &= barg(L, i);
    return bret(L, v);
}
static int b_bor(lua_State *L) {
    uint32_t v = barg(L, 1);
    for (int i = lua_gettop(L); i > 1; i--)
        v |= barg(L, i);
    return bret(L, v);
}
static int b_bxor(lua_State *L) {
    uint32_t v = barg(L, 1);
    for (int i = lua_gettop(L); i > 1; i--)
        v ^= barg(L, i);
    return bret(L, v);
}

static int b_lshift(lua_State *L) {
    uint32_t v = barg(L, 1), n = barg(L, 2) & 31;
    return bret(L, v << n);
}
static int b_rshift(lua_State *L) {
    uint32_t v = barg(L, 1), n = barg(L, 2) & 31;
    return bret(L, v >> n);
}
static int b_arshift(lua_State *L) {
    uint32_t v = barg(L, 1), n = barg(L, 2) & 31;
    uint32_t r = v >> n;
    if ((v & 0x80000000u) && n)
        r |= ~(0xffffffffu >> n);
    return bret(L, r);
}
static int b_rol(lua_State *L) {
    uint32_t v = barg(L, 1), n = barg(L, 2) & 31;
    return bret(L, n ? (v << n) | (v >> (32 - n)) : v);
}
static int b_ror(lua_State *L) {
    uint32_t v = barg(L, 1), n = barg(L, 2) & 31;
    return bret(L, n ? (v >> n) | (v << (32 - n)) : v);
}
static int b_bswap(lua_State *L) {
    uint32_t v = barg(L, 1);
    return bret(L, (v >> 24) | ((v >> 8) & 0xff00u) | ((v & 0xff00u) << 8) |
                       (v << 24));
}

static int b_tohex(lua_State *L) {
    uint32_t v = barg(L, 1);
    int32_t n = lua_isnone(L, 2) ? 8 : (int32_t)barg(L, 2);
    const char *digits = "0123456789abcdef";
    if (n < 0) {
        n = -n;
        digits = "0123456789ABCDEF";
    }
    if (n > 8)
        n = 8;
    char buf[8];
    for (int i = n - 1; i >= 0; i--) {
        buf[i] = digits[v & 15];
        v >>= 4;
    }
    lua_pushlstring(L, buf, (size_t)n);
    return 1;
}

int dice__luaopen_bit(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"tobit", b_tobit},   {"bnot", b_bnot},       {"band", b_band},
        {"bor", b_bor},       {"bxor", b_bxor},       {"lshift", b_lshift},
        {"rshift", b_rshift}, {"arshift", b_arshift}, {"rol", b_rol},
        {"ror", b_ror},       {"bswap", b_bswap},     {"tohex", b_tohex},
        {NULL, NULL}};
    luaL_register(L, "bit", fns);
    lua_pop(L, 1);
    return 0;
}
