/* The Lua engine: one sandboxed Lua 5.1 state as Redis 7.0 sets it up, the
 * redis library scripts call, the conversions between RESP and Lua, and
 * one run of a script with Redis's error texts.
 *
 * The sandbox. Only the base, table, string and math libraries (plus our
 * bit, cjson, cmsgpack and struct libraries) are opened: no io, os, package,
 * require, loadfile, dofile or print. Redis patches Lua to make tables
 * read-only; Debian's Lua has no such thing, so the same effect is made
 * with metatables: every global lives in a hidden table `base`, the
 * globals table itself stays empty
 * (its metatable reads through to base and refuses every write with
 * "Attempt to modify a readonly table"), and base's metatable answers a
 * missing name with "Script attempted to access nonexistent global
 * variable 'x'". Library tables (redis, string, math...) are replaced by
 * empty proxies reading through to the real table, refusing writes the
 * same way. rawset, setmetatable and table.insert refuse a proxy or the
 * globals; rawget reads through a proxy; getmetatable of a library is nil,
 * of the globals an empty read-only table, of a string a read-only view
 * of a stand-in whose __index is the string proxy. So no script can change what
 * another sees. pairs() and next() see through a proxy to its table (the
 * globals' to base), so a library is walked as on Redis, and the cjson and
 * cmsgpack encoders see through it too (dice__lua_unproxy); # of a proxy is 0
 * (Lua 5.1 has no __len for tables), which for libraries, having no array part,
 * is what Redis answers too.
 *
 * math.random is Redis's: a 48-bit linear congruential generator reseeded
 * to the same value before every run, so a script's random numbers are
 * the same on every run and on every replica. */
#include "core/sha1.h"
#include "scripting/scripting_internal.h"
#include "server/acl.h"
#include "server/evict.h"

#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What redis.REDIS_VERSION says: the Redis version whose behaviour this
 * server reproduces (INFO says the same). */
#define COMPAT_VERSION "7.0.15"
#define COMPAT_VERSION_NUM 0x07000f

/* Instructions between two calls of the busy hook (Redis's). */
#define HOOK_PERIOD 100000

static const char RO_ERR[] = "Attempt to modify a readonly table";

/* ---- Redis's rand48 (math.random) ---------------------------------------- */

/* The state is the server's (dice__scripting), so two servers in one
 * process do not share it. */
typedef struct dice__rand48 rand48;

/* drand48's state before any seed, where Redis's generator starts. */
#define RAND48_INIT 0x1234abcd330eULL

static void rand48_seed(rand48 *r, int32_t seed) {
    r->x = ((uint64_t)(uint32_t)seed << 16) | 0x330e;
}

static int32_t rand48_next(rand48 *r) {
    r->x = (r->x * 0x5deece66dULL + 0xb) & ((1ULL << 48) - 1);
    return (int32_t)(r->x >> 17);
}

static int l_math_random(lua_State *L) {
    rand48 *r = lua_touserdata(L, lua_upvalueindex(1));
    /* Redis's: the 31-bit draw modulo INT32_MAX over INT32_MAX. */
    lua_Number x = (lua_Number)(rand48_next(r) % 2147483647) / 2147483647.0;
    switch (lua_gettop(L)) {
    case 0: lua_pushnumber(L, x); break;
    case 1: {
        int u = luaL_checkint(L, 1);
        luaL_argcheck(L, 1 <= u, 1, "interval is empty");
        lua_pushnumber(L, floor(x * u) + 1);
        break;
    }
    case 2: {
        int l = luaL_checkint(L, 1), u = luaL_checkint(L, 2);
        luaL_argcheck(L, l <= u, 2, "interval is empty");
        lua_pushnumber(L, floor(x * (u - l + 1)) + l);
        break;
    }
    default: return luaL_error(L, "wrong number of arguments");
    }
    return 1;
}

static int l_math_randomseed(lua_State *L) {
    rand48 *r = lua_touserdata(L, lua_upvalueindex(1));
    rand48_seed(r, (int32_t)luaL_checkint(L, 1));
    return 0;
}

/* ---- Errors -------------------------------------------------------------- */

void dice__lua_push_error(lua_State *L, const char *text, size_t len) {
    const char *code = "ERR", *msg = text;
    size_t codelen = 3, msglen = len;
    if (len > 0 && text[0] == '-') {
        const char *sp = memchr(text, ' ', len);
        if (sp) {
            code = text + 1;
            codelen = (size_t)(sp - text) - 1;
            msg = sp + 1;
            msglen = len - (size_t)(sp + 1 - text);
        } else {
            msg = text + 1;
            msglen = len - 1;
        }
    }
    /* Redis trims CR and LF from the ends of the message. */
    while (msglen && (msg[0] == '\r' || msg[0] == '\n'))
        msg++, msglen--;
    while (msglen && (msg[msglen - 1] == '\r' || msg[msglen - 1] == '\n'))
        msglen--;
    lua_newtable(L);
    lua_pushliteral(L, "err");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, code, codelen);
    luaL_addchar(&b, ' ');
    luaL_addlstring(&b, msg, msglen);
    luaL_pushresult(&b);
    lua_rawset(L, -3);
}

/* Raise Redis's error table for a C string. */
static int raise_error(lua_State *L, const char *text) {
    dice__lua_push_error(L, text, strlen(text));
    return lua_error(L);
}

static int push_error_text(lua_State *L, const char *text) {
    dice__lua_push_error(L, text, strlen(text));
    return 1;
}

/* The message handler of every run (Redis's __redis__err__handler): turn
 * whatever was raised into {err=..., source=..., line=...}, the source
 * and line being those of the Lua code that raised it. */
static int l_err_handler(lua_State *L) {
    lua_Debug ar;
    bool have = false;
    /* Level 1 raised the error; a C function there (error, redis.call, a
     * metamethod) was called by level 2. */
    if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "nSl", &ar)) {
        have = true;
        if (strcmp(ar.what, "C") == 0)
            have = lua_getstack(L, 2, &ar) && lua_getinfo(L, "nSl", &ar);
    }
    if (!lua_istable(L, 1)) {
        size_t n = 0;
        const char *s = lua_tolstring(L, 1, &n);
        lua_newtable(L);
        lua_pushliteral(L, "err");
        lua_pushliteral(L, "ERR ");
        if (s)
            lua_pushlstring(L, s, n);
        else
            lua_pushstring(L, luaL_typename(L, 1));
        lua_concat(L, 2);
        lua_rawset(L, -3);
        lua_replace(L, 1);
        lua_settop(L, 1);
    }
    if (have) {
        lua_pushliteral(L, "source");
        lua_pushstring(L, ar.source);
        lua_rawset(L, 1);
        lua_pushliteral(L, "line");
        lua_pushinteger(L, ar.currentline);
        lua_rawset(L, 1);
    }
    lua_settop(L, 1);
    return 1;
}

/* pcall as Redis replaces it: an error table with an err field is caught
 * as its err string (so `local ok, e = pcall(redis.call, ...)` gets the
 * message). */
static int l_pcall_lua(lua_State *L) {
    int argc = lua_gettop(L);
    luaL_checkany(L, 1);
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    if (lua_pcall(L, argc - 1, LUA_MULTRET, 0) != 0) {
        lua_remove(L, 1);
        if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "err");
            if (lua_isstring(L, -1))
                lua_replace(L, -2);
            else
                lua_pop(L, 1);
        }
        lua_pushboolean(L, 0);
        lua_insert(L, 1);
    }
    return lua_gettop(L);
}

/* ---- The sandbox --------------------------------------------------------- */

static int l_ro_newindex(lua_State *L) {
    return luaL_error(L, RO_ERR);
}

static int l_missing_global(lua_State *L) {
    const char *name = lua_tostring(L, 2);
    return luaL_error(L,
                      "Script attempted to access nonexistent global "
                      "variable '%s'",
                      name ? name : "?");
}

/* A read-only proxy of the table at idx, pushed. */
static void push_proxy(lua_State *L, int idx) {
    idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
    lua_newtable(L);
    lua_newtable(L);
    lua_pushliteral(L, "__index");
    lua_pushvalue(L, idx);
    lua_rawset(L, -3);
    lua_pushliteral(L, "__newindex");
    lua_pushcfunction(L, l_ro_newindex);
    lua_rawset(L, -3);
    lua_pushliteral(L, "__metatable");
    lua_pushboolean(L, 0);
    lua_rawset(L, -3);
    lua_setmetatable(L, -2);
}

static void open_lib(lua_State *L, const char *name, lua_CFunction f) {
    lua_pushcfunction(L, f);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
}

/* Registry keys (their addresses). */
static char KEY_BASE, KEY_HANDLER, KEY_LOADENV, KEY_PROXIES;

static void registry_get(lua_State *L, void *key) {
    lua_pushlightuserdata(L, key);
    lua_rawget(L, LUA_REGISTRYINDEX);
}

/* The table behind the proxy at 1 pushed, or nothing pushed (false) when
 * 1 is a table that is not a proxy (upvalue 1: proxy -> table). */
static bool behind_proxy(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_pushvalue(L, 1);
    lua_rawget(L, lua_upvalueindex(1));
    if (!lua_isnil(L, -1))
        return true;
    lua_pop(L, 1);
    return false;
}

/* next(t [, k]): through a proxy, the step of the table behind it (the
 * table itself is never handed out, or a script could write it). */
static int l_next(lua_State *L) {
    if (behind_proxy(L))
        lua_replace(L, 1);
    lua_settop(L, 2);
    if (lua_next(L, 1))
        return 2;
    lua_pushnil(L);
    return 1;
}

/* pairs(t): Lua's next (upvalue 2) for a table, so a loop pays nothing
 * per step; our next (upvalue 3) for a proxy. */
static int l_pairs(lua_State *L) {
    bool proxy = behind_proxy(L);
    lua_settop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(proxy ? 3 : 2));
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

void dice__lua_unproxy(lua_State *L) {
    registry_get(L, &KEY_PROXIES);
    if (lua_istable(L, -1)) {
        lua_pushvalue(L, -2);
        lua_rawget(L, -2);
        if (!lua_isnil(L, -1))
            lua_replace(L, -3);
        else
            lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* Is the value at 1 a protected table (a proxy, the globals)? (Upvalue 1:
 * proxy -> table.) */
static bool is_protected(lua_State *L) {
    if (!lua_istable(L, 1))
        return false;
    lua_pushvalue(L, 1);
    lua_rawget(L, lua_upvalueindex(1));
    bool p = !lua_isnil(L, -1);
    lua_pop(L, 1);
    return p;
}

/* The Lua function a guard wraps (upvalue 2), called with this call's
 * arguments; returns all its results. */
static int call_wrapped(lua_State *L) {
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* Redis's read-only tables refuse raw writes too, with no position. */
static int refuse(lua_State *L) {
    lua_pushstring(L, RO_ERR);
    return lua_error(L);
}

/* rawset, table.insert, setmetatable: refused on a protected table, else
 * Lua's own (upvalue 2). */
static int l_guard_write(lua_State *L) {
    if (is_protected(L))
        return refuse(L);
    return call_wrapped(L);
}

/* table.foreach: of a proxy, over the table behind it (Lua's, upvalue 2,
 * hands the callback only keys and values, never the table). */
static int l_foreach(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    if (behind_proxy(L))
        lua_replace(L, 1);
    return call_wrapped(L);
}

/* rawget: of a proxy, the table behind it. */
static int l_rawget(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    lua_settop(L, 2);
    if (behind_proxy(L))
        lua_replace(L, 1);
    lua_rawget(L, 1);
    return 1;
}

/* getmetatable: the globals' is a read-only table (upvalue 3), as Redis
 * gives a table; a library's is nil, as on Redis; else Lua's (upvalue 2). */
static int l_getmetatable(lua_State *L) {
    luaL_checkany(L, 1);
    if (is_protected(L)) {
        if (lua_rawequal(L, 1, LUA_GLOBALSINDEX))
            lua_pushvalue(L, lua_upvalueindex(3));
        else
            lua_pushnil(L);
        return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* Replace t[name] (t at index t) by a closure of f over proxies and the
 * old value (and one more upvalue when extra is not 0). */
static void wrap(lua_State *L, int t, const char *name, int proxies,
                 lua_CFunction f, int extra) {
    lua_pushstring(L, name);
    lua_pushvalue(L, proxies);
    lua_pushstring(L, name);
    lua_rawget(L, t);
    int n = 2;
    if (extra) {
        lua_pushvalue(L, extra);
        n++;
    }
    lua_pushcclosure(L, f, n);
    lua_rawset(L, t);
}

/* The raw functions and the string metatable, so no script reaches a
 * library's table or the globals by them. base and proxies at those
 * indices, Lua's own functions still in base. */
static void guard_raw(lua_State *L, int base, int proxies) {
    int top = lua_gettop(L);
    wrap(L, base, "rawset", proxies, l_guard_write, 0);
    wrap(L, base, "setmetatable", proxies, l_guard_write, 0);
    wrap(L, base, "rawget", proxies, l_rawget, 0);
    /* What getmetatable(_G) answers: an empty read-only table. */
    lua_newtable(L);
    push_proxy(L, -1);
    lua_pushvalue(L, -1);
    lua_pushvalue(L, -3);
    lua_rawset(L, proxies);
    wrap(L, base, "getmetatable", proxies, l_getmetatable, lua_gettop(L));
    lua_settop(L, top);
    /* table.insert writes raw. */
    lua_pushliteral(L, "table");
    lua_rawget(L, base);
    lua_rawget(L, proxies);
    wrap(L, lua_gettop(L), "insert", proxies, l_guard_write, 0);
    wrap(L, lua_gettop(L), "foreach", proxies, l_foreach, 0);
    lua_settop(L, top);
    /* Strings' methods still index the real string table (no extra hop
     * per s:len()); getmetatable("") is a read-only view of a stand-in
     * metatable whose __index is the string proxy. */
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    int meta = lua_gettop(L);
    lua_newtable(L); /* the stand-in */
    lua_pushliteral(L, "__index");
    lua_pushliteral(L, "string");
    lua_rawget(L, base);
    lua_rawset(L, -3);
    push_proxy(L, -1);
    lua_pushvalue(L, -1);
    lua_pushvalue(L, -3);
    lua_rawset(L, proxies);
    lua_pushliteral(L, "__metatable");
    lua_insert(L, -2);
    lua_rawset(L, meta);
    lua_settop(L, top);
}

/* Move every global into base, then lock: globals empty and read-only. */
static void lock_globals(lua_State *L) {
    lua_newtable(L); /* base */
    int base = lua_gettop(L);
    lua_newtable(L); /* proxy -> table, for pairs and next */
    int proxies = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, LUA_GLOBALSINDEX)) {
        /* key value */
        const char *k =
            lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        if (lua_istable(L, -1) && k && strcmp(k, "_G") != 0) {
            push_proxy(L, -1);
            lua_pushvalue(L, -1);
            lua_pushvalue(L, -3);
            lua_rawset(L, proxies);
            lua_replace(L, -2);
        }
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, base);
    }
    /* pairs(_G) and next(_G) walk base. */
    lua_pushvalue(L, LUA_GLOBALSINDEX);
    lua_pushvalue(L, base);
    lua_rawset(L, proxies);
    lua_pushlightuserdata(L, &KEY_PROXIES);
    lua_pushvalue(L, proxies);
    lua_rawset(L, LUA_REGISTRYINDEX);
    guard_raw(L, base, proxies);
    lua_pushvalue(L, proxies);
    lua_pushcclosure(L, l_next, 1);
    int next = lua_gettop(L);
    lua_pushliteral(L, "next");
    lua_pushvalue(L, next);
    lua_rawset(L, base);
    lua_pushliteral(L, "pairs");
    lua_pushvalue(L, proxies);
    lua_pushliteral(L, "next");
    lua_rawget(L, LUA_GLOBALSINDEX); /* Lua's own, still there */
    lua_pushvalue(L, next);
    lua_pushcclosure(L, l_pairs, 3);
    lua_rawset(L, base);
    /* Empty the globals table. */
    for (;;) {
        lua_pushnil(L);
        if (!lua_next(L, LUA_GLOBALSINDEX))
            break;
        lua_pop(L, 1);
        lua_pushnil(L);
        lua_rawset(L, LUA_GLOBALSINDEX);
    }
    /* base's metatable: a missing name is an error. */
    lua_newtable(L);
    lua_pushliteral(L, "__index");
    lua_pushcfunction(L, l_missing_global);
    lua_rawset(L, -3);
    lua_pushliteral(L, "__metatable");
    lua_pushboolean(L, 0);
    lua_rawset(L, -3);
    lua_setmetatable(L, base);
    /* The globals' metatable: read through base, write nothing. */
    lua_newtable(L);
    lua_pushliteral(L, "__index");
    lua_pushvalue(L, base);
    lua_rawset(L, -3);
    lua_pushliteral(L, "__newindex");
    lua_pushcfunction(L, l_ro_newindex);
    lua_rawset(L, -3);
    lua_pushliteral(L, "__metatable");
    lua_pushboolean(L, 0);
    lua_rawset(L, -3);
    lua_setmetatable(L, LUA_GLOBALSINDEX);
    lua_pushlightuserdata(L, &KEY_BASE);
    lua_pushvalue(L, base);
    lua_rawset(L, LUA_REGISTRYINDEX);
    lua_settop(L, base - 1);
}

/* A table whose missing names are errors and which refuses writes (the
 * metatable of the load environment's tables). */
static void push_strict_meta(lua_State *L) {
    lua_newtable(L);
    lua_pushliteral(L, "__index");
    lua_pushcfunction(L, l_missing_global);
    lua_rawset(L, -3);
    lua_pushliteral(L, "__newindex");
    lua_pushcfunction(L, l_ro_newindex);
    lua_rawset(L, -3);
    lua_pushliteral(L, "__metatable");
    lua_pushboolean(L, 0);
    lua_rawset(L, -3);
}

/* What FUNCTION LOAD's code sees while it runs (Redis 7.0's library API):
 * only redis.register_function, redis.log and its levels and the version
 * constants; every other name is "nonexistent". Kept in the registry; the
 * globals read through it while a library loads (dice__engine_loading). */
static void make_load_env(lua_State *L, dice__engine *e) {
    lua_newtable(L); /* the environment */
    lua_newtable(L); /* its redis */
    lua_pushliteral(L, "register_function");
    lua_pushlightuserdata(L, e);
    lua_pushcclosure(L, dice__fn_register, 1);
    lua_rawset(L, -3);
    lua_getglobal(L, "redis");
    static const char *const copied[] = {
        "log",         "LOG_DEBUG",     "LOG_VERBOSE",      "LOG_NOTICE",
        "LOG_WARNING", "REDIS_VERSION", "REDIS_VERSION_NUM"};
    for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
        lua_pushstring(L, copied[i]);
        lua_getfield(L, -2, copied[i]);
        lua_rawset(L, -4);
    }
    lua_pop(L, 1);
    push_strict_meta(L);
    lua_setmetatable(L, -2);
    lua_setfield(L, -2, "redis");
    push_strict_meta(L);
    lua_setmetatable(L, -2);
    lua_pushlightuserdata(L, &KEY_LOADENV);
    lua_insert(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
}

void dice__engine_loading(dice__engine *e, bool on) {
    lua_State *L = e->L;
    lua_getmetatable(L, LUA_GLOBALSINDEX);
    lua_pushliteral(L, "__index");
    registry_get(L, on ? (void *)&KEY_LOADENV : (void *)&KEY_BASE);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

int dice__engine_init(dice__scripting *sc, dice__engine *e, bool functions) {
    e->sc = sc;
    e->functions = functions;
    lua_State *L = e->L = luaL_newstate();
    if (!L)
        return DICE_ENOMEM;
    open_lib(L, "", luaopen_base); /* and coroutine */
    open_lib(L, LUA_TABLIBNAME, luaopen_table);
    open_lib(L, LUA_STRLIBNAME, luaopen_string);
    open_lib(L, LUA_MATHLIBNAME, luaopen_math);
    dice__luaopen_cmsgpack(L);
    dice__luaopen_struct(L);
    dice__luaopen_bit(L);
    dice__luaopen_cjson(L);
    /* What Redis removes or never loads. */
    static const char *const gone[] = {"print",   "dofile",  "loadfile",
                                       "setfenv", "getfenv", "newproxy"};
    for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
        lua_pushnil(L);
        lua_setglobal(L, gone[i]);
    }
    lua_pushcfunction(L, l_pcall_lua);
    lua_setglobal(L, "pcall");
    /* math.random / randomseed: Redis's generator. */
    lua_getglobal(L, LUA_MATHLIBNAME);
    /* One generator for the server's life (SCRIPT FLUSH does not reset it,
     * as Redis's is a process-wide static); not reseeded per run, as Redis
     * 7.0 does not. */
    if (!sc->rand_init) {
        sc->rand.x = RAND48_INIT;
        sc->rand_init = true;
    }
    lua_pushlightuserdata(L, &sc->rand);
    lua_pushcclosure(L, l_math_random, 1);
    lua_setfield(L, -2, "random");
    lua_pushlightuserdata(L, &sc->rand);
    lua_pushcclosure(L, l_math_randomseed, 1);
    lua_setfield(L, -2, "randomseed");
    lua_pop(L, 1);
    /* The redis library. */
    lua_newtable(L);
    dice__engine_redis_lib(e);
    lua_setglobal(L, "redis");
    /* The message handler, in the registry and (as Redis, for scripts
     * only) a global. */
    lua_pushlightuserdata(L, &KEY_HANDLER);
    lua_pushcfunction(L, l_err_handler);
    lua_rawset(L, LUA_REGISTRYINDEX);
    if (!functions) {
        registry_get(L, &KEY_HANDLER);
        lua_setglobal(L, "__redis__err__handler");
    }
    if (functions)
        make_load_env(L, e);
    lock_globals(L);
    return 0;
}

void dice__engine_close(dice__engine *e) {
    if (e->L)
        lua_close(e->L);
    e->L = NULL;
}

int dice__engine_compile(dice__engine *e, const char *body, size_t len,
                         const char *chunk) {
    return luaL_loadbuffer(e->L, body, len, chunk) == 0 ? 0 : -1;
}

/* ---- RESP -> Lua --------------------------------------------------------- */

/* One value of a reply our own writer produced (so well formed), pushed;
 * returns the position after it. */
static const char *push_resp(lua_State *L, const char *p, const char *end);

static const char *line_end(const char *p, const char *end) {
    const char *q = memchr(p, '\r', (size_t)(end - p));
    return q ? q : end;
}

static long long line_ll(const char *p, const char *q) {
    long long v = 0;
    bool neg = false;
    if (p < q && *p == '-')
        neg = true, p++;
    while (p < q && *p >= '0' && *p <= '9')
        v = v * 10 + (*p++ - '0');
    return neg ? -v : v;
}

/* A table {name = value}, with the value on top: replaces it. */
static void wrap_field(lua_State *L, const char *name) {
    lua_newtable(L);
    lua_pushstring(L, name);
    lua_pushvalue(L, -3);
    lua_rawset(L, -3);
    lua_replace(L, -2);
}

static const char *push_resp(lua_State *L, const char *p, const char *end) {
    if (p >= end) {
        lua_pushboolean(L, 0);
        return end;
    }
    lua_checkstack(L, 8);
    char t = *p++;
    const char *q = line_end(p, end);
    const char *next = q + 2 <= end ? q + 2 : end;
    switch (t) {
    case '+':
        lua_pushlstring(L, p, (size_t)(q - p));
        wrap_field(L, "ok");
        return next;
    case '-': {
        dice__lua_push_error(L, p - 1, (size_t)(q - p + 1));
        lua_pushliteral(L, "ignore_error_stats_update");
        lua_pushboolean(L, 1);
        lua_rawset(L, -3);
        return next;
    }
    case ':': lua_pushnumber(L, (lua_Number)line_ll(p, q)); return next;
    case '$':
    case '=':
    case '!': {
        long long n = line_ll(p, q);
        if (n < 0) {
            lua_pushboolean(L, 0);
            return next;
        }
        const char *s = next;
        if (t == '=') {
            /* {verbatim_string = {format = "txt", string = "..."}} */
            lua_newtable(L);
            lua_pushliteral(L, "format");
            lua_pushlstring(L, s, 3);
            lua_rawset(L, -3);
            lua_pushliteral(L, "string");
            lua_pushlstring(L, s + 4, (size_t)n - 4);
            lua_rawset(L, -3);
            wrap_field(L, "verbatim_string");
        } else if (t == '!') {
            char *tmp = malloc((size_t)n + 1);
            if (tmp) {
                tmp[0] = '-';
                memcpy(tmp + 1, s, (size_t)n);
                dice__lua_push_error(L, tmp, (size_t)n + 1);
                free(tmp);
            } else {
                dice__lua_push_error(L, s, (size_t)n);
            }
        } else {
            lua_pushlstring(L, s, (size_t)n);
        }
        return s + n + 2 <= end ? s + n + 2 : end;
    }
    case '*':
    case '>':
    case '~':
    case '%': {
        long long n = line_ll(p, q);
        p = next;
        if (n < 0) {
            lua_pushboolean(L, 0);
            return p;
        }
        lua_createtable(L, t == '*' ? (int)n : 0, 0);
        for (long long i = 0; i < n; i++) {
            if (t == '%') {
                p = push_resp(L, p, end);
                p = push_resp(L, p, end);
                lua_rawset(L, -3);
            } else if (t == '~') {
                p = push_resp(L, p, end);
                lua_pushboolean(L, 1);
                lua_rawset(L, -3);
            } else {
                p = push_resp(L, p, end);
                lua_rawseti(L, -2, (int)i + 1);
            }
        }
        if (t == '%')
            wrap_field(L, "map");
        else if (t == '~')
            wrap_field(L, "set");
        return p;
    }
    case '_': lua_pushnil(L); return next;
    case '#': lua_pushboolean(L, p < q && *p == 't'); return next;
    case ',': {
        char buf[64];
        size_t n = (size_t)(q - p) < sizeof(buf) - 1 ? (size_t)(q - p)
                                                     : sizeof(buf) - 1;
        memcpy(buf, p, n);
        buf[n] = '\0';
        lua_pushnumber(L, strtod(buf, NULL));
        wrap_field(L, "double");
        return next;
    }
    case '(':
        lua_pushlstring(L, p, (size_t)(q - p));
        wrap_field(L, "big_number");
        return next;
    case '|': {
        /* An attribute: skipped, the value after it is the reply. */
        long long n = line_ll(p, q);
        p = next;
        for (long long i = 0; i < 2 * n; i++) {
            p = push_resp(L, p, end);
            lua_pop(L, 1);
        }
        return push_resp(L, p, end);
    }
    default: lua_pushboolean(L, 0); return end;
    }
}

/* ---- Lua -> RESP --------------------------------------------------------- */

/* The string field name of the table at idx, or NULL (pushes nothing). */
static const char *field_str(lua_State *L, int idx, const char *name,
                             size_t *len) {
    lua_pushstring(L, name);
    lua_rawget(L, idx);
    const char *s = NULL;
    if (lua_type(L, -1) == LUA_TSTRING)
        s = lua_tolstring(L, -1, len);
    lua_pop(L, 1); /* the string stays alive: the table holds it */
    return s;
}

/* An error text with CR and LF as spaces (they would end the line). */
static void reply_error_text(dice_client_t *c, const char *s, size_t len) {
    dice_reply_error(c, s, len);
}

/* How many pairs the table at index t holds (lua_next's walk). */
static size_t table_pairs(lua_State *L, int t) {
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        n++;
        lua_pop(L, 1);
    }
    return n;
}

/* Reply the value at the top of the stack to c (popping it), as Redis's
 * luaReplyToRedisReply; resp is the script's redis.setresp. */
static void reply_lua(dice_client_t *c, lua_State *L, int resp) {
    if (!lua_checkstack(L, 4)) {
        lua_pop(L, 1);
        DICE__REPLY_LIT(c, "ERR reached lua stack limit");
        return;
    }
    int t = lua_type(L, -1);
    int idx = lua_gettop(L);
    switch (t) {
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        dice_reply_bulk(c, s, n);
        break;
    }
    case LUA_TBOOLEAN:
        if (resp == 2) {
            if (lua_toboolean(L, -1))
                dice_reply_int(c, 1);
            else
                dice_reply_null(c);
        } else {
            dice_reply_bool(c, lua_toboolean(L, -1));
        }
        break;
    case LUA_TNUMBER: dice_reply_int(c, (long long)lua_tonumber(L, -1)); break;
    case LUA_TTABLE: {
        size_t n;
        const char *s;
        if ((s = field_str(L, idx, "err", &n))) {
            /* The error's text as it is (its code included). */
            reply_error_text(c, s, n);
            break;
        }
        if ((s = field_str(L, idx, "ok", &n))) {
            char *tmp = malloc(n ? n : 1);
            if (!tmp) {
                dice_reply_simple(c, s, n);
                break;
            }
            for (size_t i = 0; i < n; i++)
                tmp[i] = (s[i] == '\r' || s[i] == '\n') ? ' ' : s[i];
            dice_reply_simple(c, tmp, n);
            free(tmp);
            break;
        }
        lua_pushliteral(L, "double");
        lua_rawget(L, idx);
        if (lua_type(L, -1) == LUA_TNUMBER) {
            double d = lua_tonumber(L, -1);
            /* Redis's "%.17g" keeps a NaN's sign (0/0 is -nan here). */
            if (isnan(d) && signbit(d)) {
                if (c->proto == 3)
                    dice_reply_raw(c, ",-nan\r\n", 7);
                else
                    dice_reply_raw(c, "$4\r\n-nan\r\n", 10);
            } else {
                dice_reply_double(c, d);
            }
            lua_pop(L, 1);
            break;
        }
        lua_pop(L, 1);
        if ((s = field_str(L, idx, "big_number", &n))) {
            char *tmp = malloc(n ? n : 1);
            if (tmp) {
                for (size_t i = 0; i < n; i++)
                    tmp[i] = (s[i] == '\r' || s[i] == '\n') ? ' ' : s[i];
                dice_reply_bignum(c, tmp, n);
                free(tmp);
            }
            break;
        }
        lua_pushliteral(L, "verbatim_string");
        lua_rawget(L, idx);
        if (lua_type(L, -1) == LUA_TTABLE) {
            size_t fl, sl;
            const char *f = field_str(L, lua_gettop(L), "format", &fl);
            const char *str =
                f ? field_str(L, lua_gettop(L), "string", &sl) : NULL;
            if (f && str) {
                char fmt[4] = "txt";
                memcpy(fmt, f, fl < 3 ? fl : 3);
                dice_reply_verbatim(c, fmt, str, sl);
                lua_pop(L, 1);
                break;
            }
        }
        lua_pop(L, 1);
        lua_pushliteral(L, "map");
        lua_rawget(L, idx);
        if (lua_type(L, -1) == LUA_TTABLE) {
            int m = lua_gettop(L);
            dice_reply_map(c, table_pairs(L, m));
            lua_pushnil(L);
            while (lua_next(L, m)) {
                lua_pushvalue(L, -2);
                reply_lua(c, L, resp); /* key */
                reply_lua(c, L, resp); /* value */
            }
            lua_pop(L, 1);
            break;
        }
        lua_pop(L, 1);
        lua_pushliteral(L, "set");
        lua_rawget(L, idx);
        if (lua_type(L, -1) == LUA_TTABLE) {
            int m = lua_gettop(L);
            dice_reply_set(c, table_pairs(L, m));
            lua_pushnil(L);
            while (lua_next(L, m)) {
                lua_pop(L, 1);
                lua_pushvalue(L, -1);
                reply_lua(c, L, resp); /* the member */
            }
            lua_pop(L, 1);
            break;
        }
        lua_pop(L, 1);
        /* An array, up to the first nil. */
        size_t len = 0;
        for (;;) {
            lua_rawgeti(L, idx, (int)len + 1);
            bool nil = lua_isnil(L, -1);
            lua_pop(L, 1);
            if (nil)
                break;
            len++;
        }
        dice_reply_array(c, len);
        for (size_t i = 0; i < len; i++) {
            lua_rawgeti(L, idx, (int)i + 1);
            reply_lua(c, L, resp);
        }
        break;
    }
    default: dice_reply_null(c); break;
    }
    lua_settop(L, idx - 1);
}

/* ---- The redis library --------------------------------------------------- */

static dice__engine *engine_of(lua_State *L) {
    return lua_touserdata(L, lua_upvalueindex(1));
}

/* argv of a redis.call from the Lua arguments: 0, or -1 with Redis's error
 * table pushed. */
static int lua_args(lua_State *L, dice__scripting *sc, int argc) {
    if (argc == 0) {
        dice__lua_push_error(
            L, "Please specify at least one argument for this redis lib call",
            60);
        return -1;
    }
    if (argc > sc->argv_cap) {
        int cap = sc->argv_cap ? sc->argv_cap : 16;
        while (cap < argc)
            cap *= 2;
        const char **na = realloc(sc->argv, (size_t)cap * sizeof(*na));
        if (na)
            sc->argv = na;
        size_t *nl = realloc(sc->argvlen, (size_t)cap * sizeof(*nl));
        if (nl)
            sc->argvlen = nl;
        if (!na || !nl)
            return luaL_error(L, "out of memory");
        sc->argv_cap = cap;
    }
    for (int j = 1; j <= argc; j++) {
        int t = lua_type(L, j);
        if (t == LUA_TNUMBER) {
            /* Not lua_tolstring: Lua's %.14g loses precision. */
            char buf[64];
            int n = snprintf(buf, sizeof(buf), "%.17g", lua_tonumber(L, j));
            lua_pushlstring(L, buf, (size_t)n);
            lua_replace(L, j);
        } else if (t != LUA_TSTRING) {
            dice__lua_push_error(
                L,
                "Lua redis lib command arguments must be strings or integers",
                59);
            return -1;
        }
        sc->argv[j - 1] = lua_tolstring(L, j, &sc->argvlen[j - 1]);
    }
    return 0;
}

/* Commands Redis 7.0 flags may_replicate but COMMAND INFO hides it for
 * (so the descriptors do not carry the flag): a read-only script may not
 * run them. */
static bool may_replicate(const dice_command_t *cmd) {
    static const char *const names[] = {"publish", "spublish", "pfcount"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(cmd->fullname, names[i]) == 0)
            return true;
    return false;
}

bool dice__run_allows_oom(const dice__run *run) {
    /* Redis's SCRIPT_ALLOW_OOM: the allow-oom flag (or no-writes, which
     * leaves no denyoom command to run). An EVAL without a shebang does
     * not have it: its first denyoom call is checked as below. */
    return run->allow_oom;
}

/* Redis's scriptVerifyOOM: a denyoom command is refused with -OOM when the
 * server was over maxmemory as the script started (oom_state, judged by
 * dispatch before the script's command), the script may not ignore it
 * and has not written yet (past its first write it cannot stop half
 * way). */
static bool oom_refused(const dice_server_t *srv, const dice__run *run,
                        const dice_command_t *cmd) {
    return srv->oom_check && srv->oom_state && !dice__run_allows_oom(run) &&
           !run->wrote && (cmd->flags & DICE_CMD_DENYOOM);
}

/* Redis's scriptCall checks before the command runs: NULL when fine, else
 * the error text. */
static const char *call_check(dice__scripting *sc, dice__run *run, int argc) {
    dice_server_t *srv = sc->srv;
    dice_command_t *cmd =
        dice__cmdtable_find(&srv->commands, sc->argv[0], sc->argvlen[0]);
    if (cmd && cmd->nsubs && argc >= 2) {
        cmd = dice__command_find_sub(cmd, sc->argv[1], sc->argvlen[1]);
    } else if (cmd && cmd->nsubs) {
        return "Wrong number of args calling Redis command from script";
    }
    if (!cmd || !cmd->fn)
        return "Unknown Redis command called from script";
    if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity)
        return "Wrong number of args calling Redis command from script";
    if (cmd->flags & DICE_CMD_NOSCRIPT)
        return "This Redis command is not allowed from script";
    /* The caller's user, as Redis's scriptVerifyACL (logged as "lua"). */
    if (run->caller->flags & CLIENT_ACL) {
        switch (dice__acl_check_script(run->caller, cmd, argc, sc->argv,
                                       sc->argvlen)) {
        case DICE__ACL_OK: break;
        case DICE__ACL_DENIED_CMD:
            return "The user executing the script can't run this command or "
                   "subcommand";
        case DICE__ACL_DENIED_KEY:
            return "The user executing the script can't access at least one "
                   "of the keys mentioned in the command arguments";
        case DICE__ACL_DENIED_CHANNEL:
            return "The user executing the script can't publish to the "
                   "channel mentioned in the command";
        default:
            return "The user executing the script is lacking the "
                   "permissions for the command";
        }
    }
    if (run->readonly &&
        ((cmd->flags & (DICE_CMD_WRITE | DICE_CMD_MAY_REPLICATE)) ||
         may_replicate(cmd)))
        return "Write commands are not allowed from read-only scripts.";
    if (oom_refused(srv, run, cmd))
        return "-" DICE__OOM_TEXT;
    if (cmd->flags & DICE_CMD_WRITE)
        run->wrote = true;
    return NULL;
}

static int call_generic(lua_State *L, bool raise) {
    dice__engine *e = engine_of(L);
    dice__scripting *sc = e->sc;
    dice__run *run = sc->run;
    if (!run)
        return raise_error(
            L,
            "redis.call/pcall can only be called inside a script invocation");
    int argc = lua_gettop(L);
    if (lua_args(L, sc, argc) < 0)
        return raise ? lua_error(L) : 1;
    const char *err = call_check(sc, run, argc);
    if (err) {
        dice__lua_push_error(L, err, strlen(err));
        lua_pushliteral(L, "ignore_error_stats_update");
        lua_pushboolean(L, 1);
        lua_rawset(L, -3);
        return raise ? lua_error(L) : 1;
    }
    dice_client_t *cl = sc->client;
    cl->proto = run->resp;
    cl->out.len = 0;
    /* Checked above for the caller's user, not the script client's. */
    cl->flags &= ~CLIENT_ACL;
    /* redis.set_repl: the sinks the command's effect may reach. */
    sc->srv->prop.skip = DICE__PROP_ALL & ~(unsigned)run->repl;
    dice__client_call(cl, argc, sc->argv, sc->argvlen);
    sc->srv->prop.skip = 0;
    const char *data = cl->out.data ? cl->out.data : "";
    push_resp(L, data, data + cl->out.len);
    if (raise && cl->out.len && (data[0] == '-' || data[0] == '!'))
        return lua_error(L);
    return 1;
}

static int l_call(lua_State *L) {
    return call_generic(L, true);
}
static int l_pcall(lua_State *L) {
    return call_generic(L, false);
}

static int l_error_reply(lua_State *L) {
    /* Redis returns (does not raise) the error table here. */
    if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TSTRING)
        return push_error_text(L, "wrong number or type of arguments");
    size_t n;
    const char *s = lua_tolstring(L, 1, &n);
    if (n && s[0] == '-') {
        dice__lua_push_error(L, s, n);
    } else {
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        luaL_addchar(&b, '-');
        luaL_addlstring(&b, s, n);
        luaL_pushresult(&b);
        size_t m;
        const char *t = lua_tolstring(L, -1, &m);
        dice__lua_push_error(L, t, m);
    }
    return 1;
}

static int l_status_reply(lua_State *L) {
    /* Redis returns (does not raise) the error table here. */
    if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TSTRING)
        return push_error_text(L, "wrong number or type of arguments");
    lua_newtable(L);
    lua_pushliteral(L, "ok");
    lua_pushvalue(L, 1);
    lua_rawset(L, -3);
    return 1;
}

static int l_sha1hex(lua_State *L) {
    if (lua_gettop(L) != 1)
        return raise_error(L, "wrong number of arguments");
    size_t n;
    const char *s = lua_tolstring(L, 1, &n);
    dice__sha1 h;
    uint8_t d[DICE__SHA1_LEN];
    char hex[2 * DICE__SHA1_LEN + 1];
    dice__sha1_init(&h);
    dice__sha1_update(&h, s ? s : "", s ? n : 0);
    dice__sha1_final(&h, d);
    dice__hex(d, DICE__SHA1_LEN, hex);
    lua_pushlstring(L, hex, 2 * DICE__SHA1_LEN);
    return 1;
}

static int l_log(lua_State *L) {
    dice__engine *e = engine_of(L);
    int argc = lua_gettop(L);
    if (argc < 2)
        return raise_error(L, "redis.log() requires two arguments or more.");
    if (!lua_isnumber(L, 1))
        return raise_error(L, "First argument must be a number (log level).");
    int level = (int)lua_tonumber(L, 1);
    if (level < DICE_LOG_DEBUG || level > DICE_LOG_WARNING)
        return raise_error(L, "Invalid debug level.");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int j = 2; j <= argc; j++) {
        size_t n;
        const char *s = lua_tolstring(L, j, &n);
        if (!s)
            continue;
        if (j > 2)
            luaL_addchar(&b, ' ');
        luaL_addlstring(&b, s, n);
    }
    luaL_pushresult(&b);
    dice__logf(e->sc->srv, level, "%s", lua_tostring(L, -1));
    return 0;
}

static int l_setresp(lua_State *L) {
    dice__engine *e = engine_of(L);
    dice__run *run = e->sc->run;
    if (!run)
        return raise_error(
            L, "redis.setresp can only be called inside a script invocation");
    if (lua_gettop(L) != 1)
        return raise_error(L, "redis.setresp() requires one argument.");
    int v = (int)lua_tonumber(L, 1);
    if (v != 2 && v != 3)
        return raise_error(L, "RESP version must be 2 or 3.");
    run->resp = v;
    return 0;
}

static int l_set_repl(lua_State *L) {
    dice__engine *e = engine_of(L);
    if (!e->sc->run)
        return raise_error(
            L, "redis.set_repl can only be called inside a script invocation");
    if (lua_gettop(L) != 1)
        return raise_error(L, "redis.set_repl() requires two arguments.");
    /* Redis truncates to an int; out of its range is refused as well. */
    lua_Number n = lua_tonumber(L, 1);
    if (!(n > -1 && n < 4))
        return raise_error(L, "Invalid replication flags. Use REPL_AOF, "
                              "REPL_REPLICA, REPL_ALL or REPL_NONE.");
    /* REPL_AOF: the append-only file's sink; REPL_REPLICA: a host's
     * (dice_server_add_propagation_sink). */
    e->sc->run->repl = (int)n;
    return 0;
}

static int l_replicate_commands(lua_State *L) {
    lua_pushboolean(L, 1);
    return 1;
}

static int l_breakpoint(lua_State *L) {
    lua_pushboolean(L, 0);
    return 1;
}

static int l_debug(lua_State *L) {
    (void)L;
    return 0;
}

static int l_acl_check_cmd(lua_State *L) {
    dice__engine *e = engine_of(L);
    dice__scripting *sc = e->sc;
    if (!sc->run)
        return raise_error(L, "redis.acl_check_cmd can only be called inside "
                              "a script invocation");
    int argc = lua_gettop(L);
    if (lua_args(L, sc, argc) < 0)
        return lua_error(L);
    dice_command_t *cmd =
        dice__cmdtable_find(&sc->srv->commands, sc->argv[0], sc->argvlen[0]);
    if (cmd && cmd->nsubs && argc >= 2)
        cmd = dice__command_find_sub(cmd, sc->argv[1], sc->argvlen[1]);
    if (!cmd)
        return raise_error(L,
                           "Invalid command passed to redis.acl_check_cmd()");
    /* The caller's user, with no arity check and nothing logged (Redis's
     * ACLCheckAllUserCommandPerm). */
    int idx = 0;
    const dice_client_t *caller = sc->run->caller;
    lua_pushboolean(L,
                    dice__acl_check(sc->srv, caller->user, cmd, argc, sc->argv,
                                    sc->argvlen, &idx) == DICE__ACL_OK);
    return 1;
}

void dice__engine_redis_lib(dice__engine *e) {
    lua_State *L = e->L;
    /* In an order that lays the table out as Redis's, so pairs() walks it
     * (and cmsgpack.pack packs it) in Redis's order. A function (fn), an
     * integer (fn NULL, v) or the version string (neither). eval_only:
     * what Redis 7.0 gives scripts but not functions. */
    static const struct {
        const char *name;
        lua_CFunction fn;
        int v;
        bool eval_only;
    } fields[] = {{"REDIS_VERSION_NUM", NULL, COMPAT_VERSION_NUM, false},
                  {"LOG_VERBOSE", NULL, DICE_LOG_VERBOSE, false},
                  {"call", l_call, 0, false},
                  {"pcall", l_pcall, 0, false},
                  {"log", l_log, 0, false},
                  {"LOG_DEBUG", NULL, DICE_LOG_DEBUG, false},
                  {"LOG_NOTICE", NULL, DICE_LOG_NOTICE, false},
                  {"LOG_WARNING", NULL, DICE_LOG_WARNING, false},
                  {"sha1hex", l_sha1hex, 0, false},
                  {"error_reply", l_error_reply, 0, false},
                  {"status_reply", l_status_reply, 0, false},
                  {"set_repl", l_set_repl, 0, false},
                  {"REPL_NONE", NULL, 0, false},
                  {"REPL_AOF", NULL, 1, false},
                  {"REPL_SLAVE", NULL, 2, false},
                  {"REPL_REPLICA", NULL, 2, false},
                  {"REPL_ALL", NULL, 3, false},
                  {"acl_check_cmd", l_acl_check_cmd, 0, false},
                  {"REDIS_VERSION", NULL, -1, false},
                  {"replicate_commands", l_replicate_commands, 0, true},
                  {"breakpoint", l_breakpoint, 0, true},
                  {"setresp", l_setresp, 0, false},
                  {"debug", l_debug, 0, true}};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (fields[i].eval_only && e->functions)
            continue;
        lua_pushstring(L, fields[i].name);
        if (fields[i].fn) {
            lua_pushlightuserdata(L, e);
            lua_pushcclosure(L, fields[i].fn, 1);
        } else if (fields[i].v >= 0) {
            lua_pushinteger(L, fields[i].v);
        } else {
            lua_pushliteral(L, COMPAT_VERSION);
        }
        lua_rawset(L, -3);
    }
}

/* ---- Running ------------------------------------------------------------- */

uint64_t dice__mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static char KEY_ENGINE;

/* Every HOOK_PERIOD instructions: past busy-reply-threshold, answer other
 * clients (BUSY, or SCRIPT KILL / SHUTDOWN NOSAVE) from here; stop when
 * killed. */
static void busy_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    registry_get(L, &KEY_ENGINE);
    dice__engine *e = lua_touserdata(L, -1);
    lua_pop(L, 1);
    dice__scripting *sc = e->sc;
    dice__run *run = sc->run;
    if (!run)
        return;
    dice_server_t *srv = sc->srv;
    if (!run->timedout) {
        uint64_t elapsed = dice__mono_ms() - run->start_ms;
        if ((long long)elapsed < srv->cfg.busy_reply_threshold)
            return;
        run->timedout = true;
        dice__logf(srv, DICE_LOG_WARNING,
                   "Slow script detected: still in execution after %llu "
                   "milliseconds. You can try killing the script using the "
                   "%s command.",
                   (unsigned long long)elapsed,
                   run->is_eval ? "SCRIPT KILL" : "FUNCTION KILL");
        srv->busy_err = run->is_eval
                            ? "BUSY Redis is busy running a script. You can "
                              "only call SCRIPT KILL or SHUTDOWN NOSAVE."
                            : "BUSY Redis is busy running a script. You can "
                              "only call FUNCTION KILL or SHUTDOWN NOSAVE.";
        dice__server_refuse(srv, DICE__REFUSE_BUSY, true);
        /* The caller runs nothing more until the script ends (Redis's
         * protectClient). */
        dice_client_t *c = run->caller;
        if (c->conn.fd >= 0 && (c->conn.flags & DICE__CONN_WATCHED)) {
            run->caller_mask = c->conn.mask;
            dice__conn_set_mask(&c->conn, 0);
        }
    }
    dice__server_process_events_nested(srv);
    if (srv->shutdown_asked)
        run->killed = true;
    if (run->killed) {
        /* Raised again on every line, so a pcall cannot swallow it. */
        lua_sethook(L, busy_hook, LUA_MASKLINE | LUA_MASKCOUNT, 1);
        raise_error(L, "Script killed by user with SCRIPT KILL...");
    }
}

void dice__script_kill(dice_client_t *c, bool is_eval) {
    dice__scripting *sc = c->srv->scripting;
    dice__run *run = sc ? sc->run : NULL;
    if (!run) {
        DICE__REPLY_LIT(c, "NOTBUSY No scripts in execution right now.");
        return;
    }
    if (run->wrote) {
        static const char msg[] =
            "UNKILLABLE Sorry the script already executed write commands "
            "against the dataset. You can either wait the script termination "
            "or kill the server in a hard way using the SHUTDOWN NOSAVE "
            "command.";
        dice_reply_error(c, msg, sizeof(msg) - 1);
        return;
    }
    if (is_eval != run->is_eval) {
        const char *m = c->srv->busy_err;
        if (!m)
            m = "BUSY Redis is busy running a script.";
        dice_reply_error(c, m, strlen(m));
        return;
    }
    run->killed = true;
    dice_reply_ok(c);
}

/* Reply the error a run ended with (the value at the top of the stack). */
static void reply_run_error(dice_client_t *c, lua_State *L, dice__run *run) {
    if (!lua_istable(L, -1)) {
        const char *m = lua_tostring(L, -1);
        dice__reply_errorf(c, "ERR Error running script %s, %.100s", run->name,
                           m ? m : "execution failure");
        return;
    }
    int t = lua_gettop(L);
    size_t n = 0, sl = 0;
    const char *msg = field_str(L, t, "err", &n);
    const char *source = field_str(L, t, "source", &sl);
    lua_pushliteral(L, "line");
    lua_rawget(L, t);
    const char *line = lua_isnil(L, -1) ? NULL : lua_tostring(L, -1);
    if (!msg)
        msg = "ERR unknown error", n = strlen(msg);
    if (line && source) {
        dice__reply_errorf(c, "%.*s script: %s, on %s:%s.", (int)n, msg,
                           run->name, source, line);
    } else {
        reply_error_text(c, msg, n);
    }
    lua_pop(L, 1);
}

/* A global array (KEYS, ARGV) of argv[from..to) into base. */
static void set_array(lua_State *L, int base, const char *name, int from,
                      int to, const char *const *argv, const size_t *argvlen) {
    lua_pushstring(L, name);
    lua_createtable(L, to - from, 0);
    for (int i = from; i < to; i++) {
        lua_pushlstring(L, argv[i], argvlen[i]);
        lua_rawseti(L, -2, i - from + 1);
    }
    lua_rawset(L, base);
}

void dice__engine_run(dice__engine *e, dice__run *run, int ref, int nkeys,
                      int argc, const char *const *argv,
                      const size_t *argvlen) {
    dice__scripting *sc = e->sc;
    dice_server_t *srv = sc->srv;
    lua_State *L = e->L;
    dice_client_t *c = run->caller;
    int top = lua_gettop(L);
    registry_get(L, &KEY_HANDLER);
    int handler = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    if (!e->functions) {
        registry_get(L, &KEY_BASE);
        int base = lua_gettop(L);
        set_array(L, base, "KEYS", 3, 3 + nkeys, argv, argvlen);
        set_array(L, base, "ARGV", 3 + nkeys, argc, argv, argvlen);
        lua_pop(L, 1);
    } else {
        /* A function gets (keys, args) as two tables. */
        for (int pass = 0; pass < 2; pass++) {
            int from = pass ? 3 + nkeys : 3, to = pass ? argc : 3 + nkeys;
            lua_createtable(L, to - from, 0);
            for (int i = from; i < to; i++) {
                lua_pushlstring(L, argv[i], argvlen[i]);
                lua_rawseti(L, -2, i - from + 1);
            }
        }
    }
    lua_pushlightuserdata(L, &KEY_ENGINE);
    lua_pushlightuserdata(L, e);
    lua_rawset(L, LUA_REGISTRYINDEX);
    /* The script's client starts where the caller is. */
    dice_client_t *cl = sc->client;
    cl->db = c->db;
    cl->authenticated = true;
    cl->flags |= CLIENT_DENY_BLOCKING;
    run->L = L;
    run->resp = 2;
    run->caller_mask = -1;
    run->start_ms = dice__mono_ms();
    sc->run = run;
    lua_sethook(L, busy_hook, LUA_MASKCOUNT, HOOK_PERIOD);
    int rc = lua_pcall(L, e->functions ? 2 : 0, 1, handler);
    lua_sethook(L, NULL, 0, 0);
    sc->run = NULL;
    if (run->timedout) {
        srv->busy_err = NULL;
        dice__server_refuse(srv, DICE__REFUSE_BUSY, false);
        if (run->caller_mask >= 0 && c->conn.fd >= 0 &&
            !(c->flags & CLIENT_CLOSED))
            dice__conn_set_mask(&c->conn, run->caller_mask);
    }
    if (rc != 0)
        reply_run_error(c, L, run);
    else
        reply_lua(c, L, run->resp);
    lua_settop(L, top);
    /* Redis steps the collector every 50 runs. */
    if (++e->runs % 50 == 0)
        lua_gc(L, LUA_GCSTEP, 50);
}
