/* Functions, as Redis 7.0's functions.c and function_lua.c: libraries
 * loaded with FUNCTION LOAD, their functions called with FCALL / FCALL_RO,
 * FUNCTION DELETE/LIST/DUMP/RESTORE/FLUSH/STATS/KILL, and the libraries'
 * place in snapshots.
 *
 * A library is its code ("#!lua name=<lib>" and Lua), run once in the
 * functions' engine (a Lua state apart from EVAL's) with the load
 * environment: the only names it sees are redis.register_function,
 * redis.log and the version constants, so it can only declare functions.
 * Each function is its callback, kept in the registry, run later with
 * (keys, args) and the usual globals. Functions are found by name in one
 * chained table rebuilt whenever the set of libraries changes (rare),
 * which keeps FCALL a hash lookup.
 *
 * FUNCTION DUMP's payload is Redis's: for each library the FUNCTION2
 * opcode (245) and its code as an RDB string, then the RDB version (2
 * bytes) and the CRC-64 of it all, so payloads go both ways between
 * redis-server and this server; RDB snapshots hold the same records after
 * their aux fields. */
#include "keyspace/db_internal.h"
#include "scripting/scripting_internal.h"
#include "types/rdb.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* FUNCTION LOAD stops code that runs longer than this (Redis's). */
#define LOAD_TIMEOUT_MS 500
/* Longest library code a payload may hold (Redis's proto-max-bulk-len
 * default). */
#define CODE_MAX (512u * 1024 * 1024)
#define OP_FUNCTION2 245
#define OP_FUNCTION 246

typedef struct dice__fn {
    char *name;
    size_t nlen;
    char *desc; /* NULL: none */
    size_t dlen;
    unsigned flags; /* DICE__SF_* */
    int ref;        /* the callback, in the registry */
    dice__flib *lib;
    struct dice__fn *hnext;
} dice__fn;

struct dice__flib {
    char *name;
    char *code;
    size_t codelen;
    dice__fn *fns;
    size_t nfns, cap;
    dice__flib *next;
};

/* The function flags, in the order FUNCTION LIST shows them. */
static const struct {
    const char *name;
    unsigned flag;
} FLAGS[] = {{"no-writes", DICE__SF_NO_WRITES},
             {"allow-oom", DICE__SF_ALLOW_OOM},
             {"allow-stale", DICE__SF_ALLOW_STALE},
             {"no-cluster", DICE__SF_NO_CLUSTER},
             {"allow-cross-slot-keys", DICE__SF_ALLOW_CROSS_SLOT}};
#define NFLAGS (sizeof(FLAGS) / sizeof(FLAGS[0]))

/* ---- Libraries ----------------------------------------------------------- */

static void lib_free(dice__scripting *sc, dice__flib *lib) {
    if (!lib)
        return;
    for (size_t i = 0; i < lib->nfns; i++) {
        dice__fn *f = &lib->fns[i];
        if (sc->fn.L)
            luaL_unref(sc->fn.L, LUA_REGISTRYINDEX, f->ref);
        free(f->name);
        free(f->desc);
    }
    free(lib->fns);
    free(lib->name);
    free(lib->code);
    free(lib);
}

static void list_free(dice__scripting *sc, dice__flib *l) {
    while (l) {
        dice__flib *n = l->next;
        lib_free(sc, l);
        l = n;
    }
}

static dice__flib *list_find(dice__flib *l, const char *name, size_t n) {
    for (; l; l = l->next)
        if (strlen(l->name) == n && memcmp(l->name, name, n) == 0)
            return l;
    return NULL;
}

static size_t name_hash(const char *s, size_t n) {
    size_t h = 5381;
    for (size_t i = 0; i < n; i++)
        h = h * 33 + (unsigned char)s[i];
    return h;
}

static dice__fn *fn_find(dice__scripting *sc, const char *name, size_t n) {
    if (!sc->fn_cap)
        return NULL;
    for (dice__fn *f = sc->fn_tab[name_hash(name, n) & (sc->fn_cap - 1)]; f;
         f = f->hnext)
        if (f->nlen == n && memcmp(f->name, name, n) == 0)
            return f;
    return NULL;
}

/* Rebuild the table of functions and the counts after sc->libs changed
 * (the old table stays if a bigger one cannot be had: chains get long). */
static void reindex(dice__scripting *sc) {
    size_t nf = 0, nl = 0, bytes = 0;
    for (dice__flib *l = sc->libs; l; l = l->next) {
        nf += l->nfns;
        nl++;
        bytes += sizeof(*l) + strlen(l->name) + l->codelen +
                 l->nfns * sizeof(dice__fn);
        for (size_t i = 0; i < l->nfns; i++)
            bytes += l->fns[i].nlen + l->fns[i].dlen;
    }
    size_t cap = 16;
    while (cap < nf * 2)
        cap *= 2;
    if (cap != sc->fn_cap) {
        dice__fn **t = calloc(cap, sizeof(*t));
        if (t) {
            free(sc->fn_tab);
            sc->fn_tab = t;
            sc->fn_cap = cap;
        }
    }
    memset(sc->fn_tab, 0, sc->fn_cap * sizeof(*sc->fn_tab));
    for (dice__flib *l = sc->libs; l; l = l->next)
        for (size_t i = 0; i < l->nfns; i++) {
            dice__fn *f = &l->fns[i];
            size_t k = name_hash(f->name, f->nlen) & (sc->fn_cap - 1);
            f->hnext = sc->fn_tab[k];
            sc->fn_tab[k] = f;
        }
    sc->nlibs = nl;
    sc->nfuncs = nf;
    sc->libs_bytes = bytes + sc->fn_cap * sizeof(*sc->fn_tab);
}

void dice__functions_free(dice__scripting *sc) {
    list_free(sc, sc->libs);
    sc->libs = NULL;
    free(sc->fn_tab);
    sc->fn_tab = NULL;
    sc->fn_cap = sc->nlibs = sc->nfuncs = sc->libs_bytes = 0;
}

static bool valid_name(const char *s, size_t n) {
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '_'))
            return false;
    }
    return true;
}

static const char NAME_ERR[] =
    "Library names can only contain letters, numbers, or underscores(_) and "
    "must be at least one character long";

/* The library name of code's first line ("#!lua name=<lib>"): 0 with
 * *name (malloc'd) and *skip (bytes before the newline), or -1 with
 * Redis's error in err. */
static int parse_meta(const char *code, size_t len, char **name, size_t *skip,
                      char *err, size_t errsize) {
    *name = NULL;
    if (len < 2 || code[0] != '#' || code[1] != '!') {
        snprintf(err, errsize, "ERR Missing library metadata");
        return -1;
    }
    const char *nl = memchr(code, '\n', len);
    if (!nl) {
        snprintf(err, errsize, "ERR Invalid library metadata");
        return -1;
    }
    *skip = (size_t)(nl - code);
    char **parts = NULL;
    int n = dice__split_args(code, *skip, &parts);
    if (n <= 0) {
        snprintf(err, errsize, "ERR Invalid library metadata");
        return -1;
    }
    int rc = 0;
    if (strcmp(parts[0] + 2, "lua") != 0) {
        snprintf(err, errsize, "ERR Engine '%s' not found", parts[0] + 2);
        rc = -1;
    }
    for (int j = 1; rc == 0 && j < n; j++) {
        if (strncasecmp(parts[j], "name=", 5) != 0) {
            snprintf(err, errsize, "ERR Invalid metadata value given: %s",
                     parts[j]);
            rc = -1;
        } else if (*name) {
            snprintf(err, errsize,
                     "ERR Invalid metadata value, name argument was given "
                     "multiple times");
            rc = -1;
        } else {
            *name = strdup(parts[j] + 5);
            if (!*name) {
                snprintf(err, errsize, "ERR out of memory");
                rc = -1;
            }
        }
    }
    dice__split_free(parts, n);
    if (rc == 0 && !*name) {
        snprintf(err, errsize, "ERR Library name was not given");
        rc = -1;
    }
    if (rc == 0 && !valid_name(*name, strlen(*name))) {
        snprintf(err, errsize, "ERR %s", NAME_ERR);
        rc = -1;
    }
    if (rc < 0) {
        free(*name);
        *name = NULL;
    }
    return rc;
}

/* Raise Redis's error table for a literal from register_function. */
static int reg_error(lua_State *L, const char *msg) {
    dice__lua_push_error(L, msg, strlen(msg));
    return lua_error(L);
}

/* A copy of the Lua string at idx (as lua_tolstring: numbers too). */
static char *dup_lua(lua_State *L, int idx, size_t *n) {
    const char *s = lua_tolstring(L, idx, n);
    char *d = malloc(*n + 1);
    if (d) {
        memcpy(d, s, *n);
        d[*n] = '\0';
    }
    return d;
}

/* redis.register_function(name, callback) or
 * redis.register_function{function_name=, callback=, flags=, description=}
 * while a library loads (only the load environment has it). */
int dice__fn_register(lua_State *L) {
    dice__engine *e = lua_touserdata(L, lua_upvalueindex(1));
    dice__flib *lib = e->sc->loading;
    if (!lib)
        return reg_error(L, "redis.register_function can only be called on "
                            "FUNCTION LOAD command");
    int argc = lua_gettop(L);
    int name_idx = 0, cb_idx = 0, desc_idx = 0;
    unsigned flags = 0;
    if (argc < 1 || argc > 2)
        return reg_error(
            L, "wrong number of arguments to redis.register_function");
    if (argc == 1) {
        if (!lua_istable(L, 1))
            return reg_error(
                L, "calling redis.register_function with a single argument is "
                   "only applicable to Lua table (representing named "
                   "arguments).");
        lua_pushnil(L);
        while (lua_next(L, 1)) {
            /* key at -2, value at -1; keep both on the stack for later */
            /* (A number key is no name: lua_tostring would change it in
             * place and break the traversal.) */
            if (!lua_isstring(L, -2))
                return reg_error(L, "named argument key given to "
                                    "redis.register_function is not a string");
            const char *k =
                lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
            int v = lua_gettop(L);
            if (strcasecmp(k, "function_name") == 0) {
                if (!lua_isstring(L, v))
                    return reg_error(
                        L, "function_name argument given to "
                           "redis.register_function must be a string");
                name_idx = v;
            } else if (strcasecmp(k, "description") == 0) {
                if (!lua_isstring(L, v))
                    return reg_error(L, "description argument given to "
                                        "redis.register_function must be a "
                                        "string");
                desc_idx = v;
            } else if (strcasecmp(k, "callback") == 0) {
                if (!lua_isfunction(L, v))
                    return reg_error(L, "callback argument given to "
                                        "redis.register_function must be a "
                                        "function");
                cb_idx = v;
            } else if (strcasecmp(k, "flags") == 0) {
                if (!lua_istable(L, v))
                    return reg_error(L, "flags argument to "
                                        "redis.register_function must be a "
                                        "table representing function flags");
                for (int j = 1;; j++) {
                    lua_rawgeti(L, v, j);
                    if (lua_isnil(L, -1)) {
                        lua_pop(L, 1);
                        break;
                    }
                    size_t k2;
                    for (k2 = 0; k2 < NFLAGS; k2++)
                        if (lua_type(L, -1) == LUA_TSTRING &&
                            strcmp(lua_tostring(L, -1), FLAGS[k2].name) == 0)
                            break;
                    if (k2 == NFLAGS)
                        return reg_error(L, "unknown flag given");
                    flags |= FLAGS[k2].flag;
                    lua_pop(L, 1);
                }
            } else {
                return reg_error(
                    L, "unknown argument given to redis.register_function");
            }
            /* The next key: a copy of this one on top. */
            lua_pushvalue(L, v - 1);
        }
        if (!name_idx)
            return reg_error(
                L, "redis.register_function must get a function name argument");
        if (!cb_idx)
            return reg_error(
                L, "redis.register_function must get a callback argument");
    } else {
        if (!lua_isstring(L, 1))
            return reg_error(L, "first argument to redis.register_function "
                                "must be a string");
        if (!lua_isfunction(L, 2))
            return reg_error(L, "second argument to redis.register_function "
                                "must be a function");
        name_idx = 1;
        cb_idx = 2;
    }
    size_t nlen;
    const char *name = lua_tolstring(L, name_idx, &nlen);
    if (!valid_name(name, nlen))
        return reg_error(L, NAME_ERR);
    for (size_t i = 0; i < lib->nfns; i++)
        if (lib->fns[i].nlen == nlen &&
            memcmp(lib->fns[i].name, name, nlen) == 0)
            return reg_error(L, "Function already exists in the library");
    if (lib->nfns == lib->cap) {
        size_t nc = lib->cap ? lib->cap * 2 : 4;
        dice__fn *nf = realloc(lib->fns, nc * sizeof(*nf));
        if (!nf)
            return reg_error(L, "out of memory");
        lib->fns = nf;
        lib->cap = nc;
    }
    dice__fn f = {0};
    f.name = dup_lua(L, name_idx, &f.nlen);
    if (desc_idx)
        f.desc = dup_lua(L, desc_idx, &f.dlen);
    if (!f.name || (desc_idx && !f.desc)) {
        free(f.name);
        free(f.desc);
        return reg_error(L, "out of memory");
    }
    f.flags = flags;
    f.lib = lib;
    lua_pushvalue(L, cb_idx);
    f.ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lib->fns[lib->nfns++] = f;
    return 0;
}

/* FUNCTION LOAD's time limit (Redis's luaEngineLoadHook). */
static void load_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    lua_getfield(L, LUA_REGISTRYINDEX, "__dice_load_start");
    uint64_t start = (uint64_t)lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (dice__mono_ms() - start > LOAD_TIMEOUT_MS) {
        /* Raised on every instruction from now on: no pcall keeps it. */
        lua_sethook(L, load_hook, LUA_MASKLINE | LUA_MASKCOUNT, 1);
        dice__lua_push_error(L, "FUNCTION LOAD timeout", 21);
        lua_error(L);
    }
}

/* A library from code, run in the load environment: NULL with Redis's
 * error in err. A library of the same name in against is an error unless
 * replace; its functions are not checked here (see collides). */
static dice__flib *lib_create(dice__scripting *sc, const char *code, size_t len,
                              dice__flib *against, bool replace, char *err,
                              size_t errsize) {
    char *name;
    size_t skip;
    if (parse_meta(code, len, &name, &skip, err, errsize) < 0)
        return NULL;
    if (!replace && list_find(against, name, strlen(name))) {
        snprintf(err, errsize, "ERR Library '%s' already exists", name);
        free(name);
        return NULL;
    }
    dice__flib *lib = calloc(1, sizeof(*lib));
    if (lib)
        lib->code = malloc(len ? len : 1);
    if (!lib || !lib->code) {
        free(lib);
        free(name);
        snprintf(err, errsize, "ERR out of memory");
        return NULL;
    }
    memcpy(lib->code, code, len);
    lib->codelen = len;
    lib->name = name;
    lua_State *L = sc->fn.L;
    int top = lua_gettop(L);
    if (dice__engine_compile(&sc->fn, code + skip, len - skip,
                             "@user_function") < 0) {
        snprintf(err, errsize, "ERR Error compiling function: %s",
                 lua_tostring(L, -1));
        lua_settop(L, top);
        lib_free(sc, lib);
        return NULL;
    }
    sc->loading = lib;
    dice__engine_loading(&sc->fn, true);
    lua_pushnumber(L, (lua_Number)dice__mono_ms());
    lua_setfield(L, LUA_REGISTRYINDEX, "__dice_load_start");
    lua_sethook(L, load_hook, LUA_MASKCOUNT, 100000);
    int rc = lua_pcall(L, 0, 0, 0);
    lua_sethook(L, NULL, 0, 0);
    dice__engine_loading(&sc->fn, false);
    sc->loading = NULL;
    if (rc != 0) {
        const char *m = NULL;
        if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "err");
            m = lua_tostring(L, -1);
            snprintf(err, errsize, "ERR Error registering functions: %s",
                     m ? m : "unknown error");
        } else {
            m = lua_tostring(L, -1);
            snprintf(err, errsize, "ERR Error registering functions: ERR %s",
                     m ? m : "unknown error");
        }
        lua_settop(L, top);
        lib_free(sc, lib);
        return NULL;
    }
    lua_settop(L, top);
    if (lib->nfns == 0) {
        snprintf(err, errsize, "ERR No functions registered");
        lib_free(sc, lib);
        return NULL;
    }
    return lib;
}

/* Whether a function of lib has the name of one in sc's libraries other
 * than those (besides) that are to be replaced: err says which. */
static bool collides(dice__scripting *sc, const dice__flib *lib,
                     dice__flib *besides, char *err, size_t errsize) {
    for (size_t i = 0; i < lib->nfns; i++) {
        dice__fn *f = fn_find(sc, lib->fns[i].name, lib->fns[i].nlen);
        if (f && !list_find(besides, f->lib->name, strlen(f->lib->name))) {
            snprintf(err, errsize, "ERR Function %s already exists", f->name);
            return true;
        }
    }
    return false;
}

/* Take lib (whose collisions were checked) into sc, replacing the one of
 * its name. */
static void lib_commit(dice__scripting *sc, dice__flib *lib) {
    dice__flib **pp = &sc->libs;
    while (*pp && strcmp((*pp)->name, lib->name) != 0)
        pp = &(*pp)->next;
    if (*pp) {
        dice__flib *old = *pp;
        *pp = old->next;
        lib_free(sc, old);
    }
    lib->next = sc->libs;
    sc->libs = lib;
}

/* FUNCTION LOAD's work: the new library's name, or NULL with err. */
static dice__flib *load_library(dice__scripting *sc, const char *code,
                                size_t len, bool replace, char *err,
                                size_t errsize) {
    dice__flib *lib =
        lib_create(sc, code, len, sc->libs, replace, err, errsize);
    if (!lib)
        return NULL;
    /* Its own old version's functions are no collision. */
    lib->next = NULL;
    dice__flib self = {.name = lib->name};
    if (collides(sc, lib, &self, err, errsize)) {
        lib_free(sc, lib);
        return NULL;
    }
    lib_commit(sc, lib);
    reindex(sc);
    return lib;
}

/* ---- Snapshots ----------------------------------------------------------- */

int dice__functions_save(void *srv,
                         int (*put)(void *sink, const char *code, size_t len),
                         void *sink) {
    dice__scripting *sc = ((dice_server_t *)srv)->scripting;
    if (!sc)
        return 0;
    for (dice__flib *l = sc->libs; l; l = l->next) {
        int rc = put(sink, l->code, l->codelen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int dice__functions_load(void *srv, const char *code, size_t len, char *err,
                         size_t errsize) {
    dice__scripting *sc = dice__scripting_get(srv);
    if (!sc) {
        snprintf(err, errsize, "out of memory");
        return -1;
    }
    /* A library of the same name is replaced (DEBUG RELOAD keeps the ones
     * it had). */
    char e[256];
    if (!load_library(sc, code, len, true, e, sizeof(e))) {
        snprintf(err, errsize, "%s", e);
        return -1;
    }
    return 0;
}

/* ---- FCALL --------------------------------------------------------------- */

/* FCALL function numkeys [key ...] [arg ...]
 * FCALL_RO function numkeys [key ...] [arg ...] (arg 1) */
void dice__cmd_fcall(dice_client_t *c, int argc, const char *const *argv,
                     const size_t *argvlen, void *arg) {
    dice__scripting *sc = dice__scripting_get(c->srv);
    if (!sc) {
        DICE__REPLY_LIT(c, "ERR out of memory");
        return;
    }
    dice__fn *f = fn_find(sc, argv[1], argvlen[1]);
    if (!f) {
        DICE__REPLY_LIT(c, "ERR Function not found");
        return;
    }
    /* Judged by Redis's fcallGetCommandFlags before numkeys. */
    if (dice__run_refuse_oom(c, f->flags))
        return;
    long long nkeys;
    if (!dice__str2ll(argv[2], argvlen[2], &nkeys)) {
        DICE__REPLY_LIT(c, "ERR Bad number of keys provided");
        return;
    }
    if (nkeys > argc - 3) {
        DICE__REPLY_LIT(
            c, "ERR Number of keys can't be greater than number of args");
        return;
    }
    if (nkeys < 0) {
        DICE__REPLY_LIT(c, "ERR Number of keys can't be negative");
        return;
    }
    dice__run run;
    if (!dice__run_prepare(c, &run, f->flags, arg != NULL, false))
        return;
    run.name = f->name;
    run.argc = argc;
    run.argv = argv;
    run.argvlen = argvlen;
    dice__propagate_wrap(c);
    dice__engine_run(&sc->fn, &run, f->ref, (int)nkeys, argc, argv, argvlen);
}

/* ---- FUNCTION ------------------------------------------------------------ */

static bool arg_is(const char *a, size_t n, const char *lit) {
    return strlen(lit) == n && strncasecmp(a, lit, n) == 0;
}

static void reply_syntax(dice_client_t *c, const char *sub, size_t n) {
    dice__reply_errorf(c,
                       "ERR unknown subcommand or wrong number of arguments "
                       "for '%.*s'. Try FUNCTION HELP.",
                       (int)n, sub);
}

/* A write that changed no key: saved and propagated as it is. */
static void wrote(dice_client_t *c) {
    if (c->srv->keyspace)
        c->srv->keyspace->dirty++;
    dice__propagate_force(c);
}

static void reply_str(dice_client_t *c, const char *s) {
    dice_reply_bulk(c, s, strlen(s));
}

/* FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE] */
static void function_list(dice_client_t *c, dice__scripting *sc, int argc,
                          const char *const *argv, const size_t *argvlen) {
    bool withcode = false;
    const char *pat = NULL;
    size_t plen = 0;
    for (int i = 2; i < argc; i++) {
        if (!withcode && arg_is(argv[i], argvlen[i], "withcode")) {
            withcode = true;
        } else if (!pat && arg_is(argv[i], argvlen[i], "libraryname")) {
            if (i >= argc - 1) {
                DICE__REPLY_LIT(c, "ERR library name argument was not given");
                return;
            }
            pat = argv[++i];
            plen = argvlen[i];
        } else {
            dice__reply_errorf(c, "ERR Unknown argument %.*s", (int)argvlen[i],
                               argv[i]);
            return;
        }
    }
    size_t n = 0;
    for (dice__flib *l = sc->libs; l; l = l->next)
        if (!pat || dice_glob_match(pat, plen, l->name, strlen(l->name), 1))
            n++;
    dice_reply_array(c, n);
    for (dice__flib *l = sc->libs; l; l = l->next) {
        if (pat && !dice_glob_match(pat, plen, l->name, strlen(l->name), 1))
            continue;
        dice_reply_map(c, withcode ? 4 : 3);
        reply_str(c, "library_name");
        reply_str(c, l->name);
        reply_str(c, "engine");
        reply_str(c, "LUA");
        reply_str(c, "functions");
        dice_reply_array(c, l->nfns);
        for (size_t i = 0; i < l->nfns; i++) {
            const dice__fn *f = &l->fns[i];
            dice_reply_map(c, 3);
            reply_str(c, "name");
            dice_reply_bulk(c, f->name, f->nlen);
            reply_str(c, "description");
            if (f->desc)
                dice_reply_bulk(c, f->desc, f->dlen);
            else
                dice_reply_null(c);
            reply_str(c, "flags");
            size_t nf = 0;
            for (size_t k = 0; k < NFLAGS; k++)
                nf += (f->flags & FLAGS[k].flag) != 0;
            dice_reply_set(c, nf);
            for (size_t k = 0; k < NFLAGS; k++)
                if (f->flags & FLAGS[k].flag)
                    dice_reply_simple(c, FLAGS[k].name, strlen(FLAGS[k].name));
        }
        if (withcode) {
            reply_str(c, "library_code");
            dice_reply_bulk(c, l->code, l->codelen);
        }
    }
}

/* FUNCTION STATS */
static void function_stats(dice_client_t *c, dice__scripting *sc) {
    dice__run *run = sc->run;
    /* Redis: a running script (not function) makes this the BUSY error. */
    if (run && run->is_eval && c->srv->busy_err) {
        dice_reply_error(c, c->srv->busy_err, strlen(c->srv->busy_err));
        return;
    }
    dice_reply_map(c, 2);
    reply_str(c, "running_script");
    if (!run || run->is_eval) {
        dice_reply_null(c);
    } else {
        dice_reply_map(c, 3);
        reply_str(c, "name");
        reply_str(c, run->name);
        reply_str(c, "command");
        dice_reply_array(c, (size_t)run->argc);
        for (int i = 0; i < run->argc; i++)
            dice_reply_bulk(c, run->argv[i], run->argvlen[i]);
        reply_str(c, "duration_ms");
        dice_reply_int(c, (long long)(dice__mono_ms() - run->start_ms));
    }
    reply_str(c, "engines");
    dice_reply_map(c, 1);
    reply_str(c, "LUA");
    dice_reply_map(c, 2);
    reply_str(c, "libraries_count");
    dice_reply_int(c, (long long)sc->nlibs);
    reply_str(c, "functions_count");
    dice_reply_int(c, (long long)sc->nfuncs);
}

/* A growing buffer for FUNCTION DUMP (a dice_type_write_fn). */
typedef struct {
    uint8_t *p;
    size_t len, cap;
} membuf;

static int membuf_write(void *ctx, const void *data, size_t n) {
    membuf *b = ctx;
    if (b->len + n > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->len + n)
            nc *= 2;
        uint8_t *np = realloc(b->p, nc);
        if (!np)
            return DICE_ENOMEM;
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    return 0;
}

static int put_lib(void *sink, const char *code, size_t len) {
    uint8_t op = OP_FUNCTION2;
    int rc = dice__rdb_sink_write(sink, &op, 1);
    return rc == 0
               ? dice__rdb_write_string(dice__rdb_sink_write, sink, code, len)
               : rc;
}

/* FUNCTION DUMP */
static void function_dump(dice_client_t *c) {
    dice__rdb_sink *s = malloc(sizeof(*s));
    membuf b = {0};
    if (!s) {
        DICE__REPLY_LIT(c, "ERR out of memory");
        return;
    }
    dice__rdb_sink_init(s, membuf_write, &b, c->srv->cfg.rdbcompression, 1);
    int rc = dice__functions_save(c->srv, put_lib, s);
    uint8_t v[2] = {DICE__RDB_VERSION & 0xff, DICE__RDB_VERSION >> 8};
    if (rc == 0)
        rc = dice__rdb_sink_write(s, v, 2);
    if (rc == 0)
        rc = dice__rdb_sink_flush(s);
    if (rc == 0) {
        uint8_t crc[8];
        for (int i = 0; i < 8; i++)
            crc[i] = (uint8_t)(s->crc >> (8 * i));
        rc = membuf_write(&b, crc, 8);
    }
    dice__rdb_sink_release(s);
    free(s);
    if (rc < 0)
        DICE__REPLY_LIT(c, "ERR out of memory");
    else
        dice_reply_bulk(c, (const char *)b.p, b.len);
    free(b.p);
}

/* FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE] */
static void function_restore(dice_client_t *c, dice__scripting *sc, int argc,
                             const char *const *argv, const size_t *argvlen) {
    if (argc > 4) {
        reply_syntax(c, argv[1], argvlen[1]);
        return;
    }
    enum { APPEND, REPLACE, FLUSH } policy = APPEND;
    if (argc == 4) {
        if (arg_is(argv[3], argvlen[3], "flush"))
            policy = FLUSH;
        else if (arg_is(argv[3], argvlen[3], "append"))
            policy = APPEND;
        else if (arg_is(argv[3], argvlen[3], "replace"))
            policy = REPLACE;
        else {
            DICE__REPLY_LIT(c, "ERR Wrong restore policy given, value should "
                               "be either FLUSH, APPEND or REPLACE.");
            return;
        }
    }
    const uint8_t *p = (const uint8_t *)argv[2];
    size_t len = argvlen[2];
    if (dice__rdb_verify_payload(p, len) < 0) {
        DICE__REPLY_LIT(c, "ERR DUMP payload version or checksum are wrong");
        return;
    }
    char err[300] = "";
    dice__flib *tmp = NULL;
    size_t pos = 0, end = len - 10;
    while (pos < end && !err[0]) {
        unsigned op = p[pos++];
        if (op == OP_FUNCTION) {
            snprintf(err, sizeof(err), "ERR Failed loading engine name");
            break;
        }
        if (op != OP_FUNCTION2) {
            snprintf(err, sizeof(err), "ERR given type is not a function");
            break;
        }
        char nb[32], *owned = NULL;
        const char *code;
        size_t n, used;
        if (dice__rdb_read_string(p + pos, end - pos, CODE_MAX, nb, &owned,
                                  &code, &n, &used) < 0) {
            snprintf(err, sizeof(err), "ERR Failed loading library payload");
            break;
        }
        pos += used;
        dice__flib *lib = lib_create(sc, code, n, tmp, false, err, sizeof(err));
        free(owned);
        if (!lib)
            break;
        /* Two functions of one name within the payload. */
        for (dice__flib *t = tmp; t && !err[0]; t = t->next)
            for (size_t i = 0; i < lib->nfns && !err[0]; i++)
                for (size_t j = 0; j < t->nfns; j++)
                    if (lib->fns[i].nlen == t->fns[j].nlen &&
                        memcmp(lib->fns[i].name, t->fns[j].name,
                               t->fns[j].nlen) == 0) {
                        snprintf(err, sizeof(err),
                                 "ERR Function %s already exists",
                                 t->fns[j].name);
                        break;
                    }
        lib->next = tmp;
        tmp = lib;
    }
    if (!err[0] && policy != FLUSH) {
        for (dice__flib *t = tmp; t && !err[0]; t = t->next)
            if (policy == APPEND &&
                list_find(sc->libs, t->name, strlen(t->name)))
                snprintf(err, sizeof(err), "ERR Library %s already exists",
                         t->name);
        for (dice__flib *t = tmp; t && !err[0]; t = t->next)
            collides(sc, t, tmp, err, sizeof(err));
    }
    if (err[0]) {
        list_free(sc, tmp);
        dice_reply_error(c, err, strlen(err));
        return;
    }
    if (policy == FLUSH) {
        list_free(sc, sc->libs);
        sc->libs = NULL;
    }
    while (tmp) {
        dice__flib *n = tmp->next;
        lib_commit(sc, tmp);
        tmp = n;
    }
    reindex(sc);
    wrote(c);
    dice_reply_ok(c);
}

/* FUNCTION LOAD [REPLACE] code | DELETE library | LIST ... | FLUSH
 * [ASYNC|SYNC] | DUMP | RESTORE ... | STATS | KILL; arg names the
 * sub-command. */
void dice__cmd_function(dice_client_t *c, int argc, const char *const *argv,
                        const size_t *argvlen, void *arg) {
    const char *sub = arg;
    dice__scripting *sc = dice__scripting_get(c->srv);
    if (!sc) {
        DICE__REPLY_LIT(c, "ERR out of memory");
        return;
    }
    char err[300];
    if (strcmp(sub, "load") == 0) {
        bool replace = false;
        int i = 2;
        for (; i < argc - 1; i++) {
            if (arg_is(argv[i], argvlen[i], "replace")) {
                replace = true;
            } else {
                dice__reply_errorf(c, "ERR Unknown option given: %.*s",
                                   (int)argvlen[i], argv[i]);
                return;
            }
        }
        dice__flib *lib = load_library(sc, argv[argc - 1], argvlen[argc - 1],
                                       replace, err, sizeof(err));
        if (!lib) {
            dice_reply_error(c, err, strlen(err));
            return;
        }
        wrote(c);
        reply_str(c, lib->name);
    } else if (strcmp(sub, "delete") == 0) {
        dice__flib **pp = &sc->libs;
        while (*pp && !(strlen((*pp)->name) == argvlen[2] &&
                        memcmp((*pp)->name, argv[2], argvlen[2]) == 0))
            pp = &(*pp)->next;
        if (!*pp) {
            DICE__REPLY_LIT(c, "ERR Library not found");
            return;
        }
        dice__flib *l = *pp;
        *pp = l->next;
        lib_free(sc, l);
        reindex(sc);
        wrote(c);
        dice_reply_ok(c);
    } else if (strcmp(sub, "list") == 0) {
        function_list(c, sc, argc, argv, argvlen);
    } else if (strcmp(sub, "flush") == 0) {
        if (argc > 3) {
            reply_syntax(c, argv[1], argvlen[1]);
            return;
        }
        if (argc == 3 && !arg_is(argv[2], argvlen[2], "sync") &&
            !arg_is(argv[2], argvlen[2], "async")) {
            DICE__REPLY_LIT(
                c, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
            return;
        }
        list_free(sc, sc->libs);
        sc->libs = NULL;
        reindex(sc);
        lua_gc(sc->fn.L, LUA_GCCOLLECT, 0);
        wrote(c);
        dice_reply_ok(c);
    } else if (strcmp(sub, "dump") == 0) {
        function_dump(c);
    } else if (strcmp(sub, "restore") == 0) {
        function_restore(c, sc, argc, argv, argvlen);
    } else if (strcmp(sub, "stats") == 0) {
        function_stats(c, sc);
    } else if (strcmp(sub, "kill") == 0) {
        dice__script_kill(c, false);
    }
}
