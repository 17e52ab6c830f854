/* EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT: the script cache and the
 * shebang, as Redis 7.0's eval.c.
 *
 * A script is compiled once, as a Lua function of chunk "@user_script"
 * (its shebang line blanked out but its newline kept, so line numbers are
 * the user's), and kept in the Lua registry under its SHA-1. Scripts that
 * SCRIPT LOAD made stay until SCRIPT FLUSH; those that EVAL made are
 * bounded: past EVAL_MAX of them the least recently used is dropped (Redis
 * 7.0 keeps them all, which lets a client that builds scripts on the fly
 * grow the server without end; 7.4 bounds them the same way). */
#include "core/sha1.h"
#include "scripting/scripting_internal.h"
#include "server/evict.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_MAX 500

struct dice__script {
    char sha[41];
    unsigned flags; /* DICE__SF_* */
    int ref;        /* the function, in the registry */
    size_t len;     /* body bytes */
    bool from_eval; /* made by EVAL (bounded), not SCRIPT LOAD */
    dice__script *next;
    dice__script *eprev, *enext; /* EVAL-made, oldest first */
};

/* ---- The layer's state --------------------------------------------------- */

static void scripting_free(dice_server_t *srv);

dice__scripting *dice__scripting_get(dice_server_t *srv) {
    if (srv->scripting)
        return srv->scripting;
    dice__scripting *sc = calloc(1, sizeof(*sc));
    if (!sc)
        return NULL;
    sc->srv = srv;
    if (dice__engine_init(sc, &sc->eval, false) < 0 ||
        dice__engine_init(sc, &sc->fn, true) < 0 ||
        dice_session_new(srv, 2, &sc->session) < 0) {
        dice__engine_close(&sc->eval);
        dice__engine_close(&sc->fn);
        free(sc);
        return NULL;
    }
    sc->client = dice_session_client(sc->session);
    sc->client->flags |= CLIENT_SCRIPT | CLIENT_DENY_BLOCKING;
    srv->scripting = sc;
    srv->scripting_free = scripting_free;
    return sc;
}

static void cache_clear(dice__scripting *sc) {
    for (size_t i = 0; i < sc->tab_cap; i++) {
        dice__script *s = sc->tab[i];
        while (s) {
            dice__script *n = s->next;
            free(s);
            s = n;
        }
    }
    free(sc->tab);
    sc->tab = NULL;
    sc->tab_cap = sc->nscripts = sc->scripts_bytes = sc->neval = 0;
    sc->eval_oldest = sc->eval_newest = NULL;
}

static void scripting_free(dice_server_t *srv) {
    dice__scripting *sc = srv->scripting;
    if (!sc)
        return;
    /* The session went with the server's clients. */
    cache_clear(sc);
    dice__functions_free(sc);
    dice__engine_close(&sc->eval);
    dice__engine_close(&sc->fn);
    free(sc->argv);
    free(sc->argvlen);
    free(sc);
    srv->scripting = NULL;
}

/* ---- The cache ----------------------------------------------------------- */

static size_t sha_slot(const char *sha, size_t cap) {
    size_t h = 0;
    for (int i = 0; i < 12; i++)
        h = h * 16 + (size_t)(sha[i] <= '9' ? sha[i] - '0' : sha[i] - 'a' + 10);
    return h & (cap - 1);
}

static dice__script *cache_find(dice__scripting *sc, const char *sha) {
    if (!sc->tab_cap)
        return NULL;
    for (dice__script *s = sc->tab[sha_slot(sha, sc->tab_cap)]; s; s = s->next)
        if (memcmp(s->sha, sha, 40) == 0)
            return s;
    return NULL;
}

static bool cache_grow(dice__scripting *sc) {
    size_t nc = sc->tab_cap ? sc->tab_cap * 2 : 64;
    dice__script **nt = calloc(nc, sizeof(*nt));
    if (!nt)
        return false;
    for (size_t i = 0; i < sc->tab_cap; i++) {
        dice__script *s = sc->tab[i];
        while (s) {
            dice__script *n = s->next;
            size_t k = sha_slot(s->sha, nc);
            s->next = nt[k];
            nt[k] = s;
            s = n;
        }
    }
    free(sc->tab);
    sc->tab = nt;
    sc->tab_cap = nc;
    return true;
}

static void eval_unlink(dice__scripting *sc, dice__script *s) {
    if (s->eprev)
        s->eprev->enext = s->enext;
    else
        sc->eval_oldest = s->enext;
    if (s->enext)
        s->enext->eprev = s->eprev;
    else
        sc->eval_newest = s->eprev;
    s->eprev = s->enext = NULL;
    sc->neval--;
}

static void eval_append(dice__scripting *sc, dice__script *s) {
    s->eprev = sc->eval_newest;
    s->enext = NULL;
    if (sc->eval_newest)
        sc->eval_newest->enext = s;
    else
        sc->eval_oldest = s;
    sc->eval_newest = s;
    sc->neval++;
}

static void cache_remove(dice__scripting *sc, dice__script *s) {
    dice__script **pp = &sc->tab[sha_slot(s->sha, sc->tab_cap)];
    while (*pp != s)
        pp = &(*pp)->next;
    *pp = s->next;
    if (s->from_eval)
        eval_unlink(sc, s);
    luaL_unref(sc->eval.L, LUA_REGISTRYINDEX, s->ref);
    sc->nscripts--;
    sc->scripts_bytes -= s->len + sizeof(*s);
    free(s);
}

static void sha_of(const char *body, size_t len, char out[41]) {
    dice__sha1 h;
    uint8_t d[DICE__SHA1_LEN];
    dice__sha1_init(&h);
    dice__sha1_update(&h, body, len);
    dice__sha1_final(&h, d);
    dice__hex(d, DICE__SHA1_LEN, out);
    out[40] = '\0';
}

int dice__shebang_flags(const char *body, size_t len, unsigned *flags,
                        size_t *skip, char *err, size_t errsize) {
    *flags = DICE__SF_COMPAT;
    *skip = 0;
    if (len < 2 || body[0] != '#' || body[1] != '!')
        return 0;
    const char *nl = memchr(body, '\n', len);
    if (!nl) {
        snprintf(err, errsize, "ERR Invalid script shebang");
        return -1;
    }
    *skip = (size_t)(nl - body);
    char **parts = NULL;
    int n = dice__split_args(body, *skip, &parts);
    int rc = 0;
    if (n <= 0) {
        snprintf(err, errsize, "ERR Invalid engine in script shebang");
        rc = -1;
    } else if (strcmp(parts[0], "#!lua") != 0) {
        snprintf(err, errsize, "ERR Unexpected engine in script shebang: %s",
                 parts[0]);
        rc = -1;
    }
    static const struct {
        const char *name;
        unsigned flag;
    } names[] = {{"no-writes", DICE__SF_NO_WRITES},
                 {"allow-oom", DICE__SF_ALLOW_OOM},
                 {"allow-stale", DICE__SF_ALLOW_STALE},
                 {"no-cluster", DICE__SF_NO_CLUSTER},
                 {"allow-cross-slot-keys", DICE__SF_ALLOW_CROSS_SLOT}};
    unsigned f = 0;
    for (int j = 1; rc == 0 && j < n; j++) {
        if (strncmp(parts[j], "flags=", 6) != 0) {
            snprintf(err, errsize, "ERR Unknown lua shebang option: %s",
                     parts[j]);
            rc = -1;
            break;
        }
        const char *p = parts[j] + 6;
        while (rc == 0 && *p) {
            const char *e = strchr(p, ',');
            size_t l = e ? (size_t)(e - p) : strlen(p);
            size_t k;
            for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
                if (strlen(names[k].name) == l &&
                    memcmp(names[k].name, p, l) == 0)
                    break;
            if (k == sizeof(names) / sizeof(names[0])) {
                snprintf(err, errsize,
                         "ERR Unexpected flag in script shebang: %.*s", (int)l,
                         p);
                rc = -1;
            } else {
                f |= names[k].flag;
            }
            p += l;
            if (*p == ',')
                p++;
        }
    }
    if (n > 0)
        dice__split_free(parts, n);
    if (rc == 0)
        *flags = f;
    return rc;
}

/* The cached script of body, compiled and added when new; NULL with the
 * error replied. */
static dice__script *script_create(dice_client_t *c, dice__scripting *sc,
                                   const char *body, size_t len,
                                   bool from_eval) {
    char sha[41];
    sha_of(body, len, sha);
    dice__script *s = cache_find(sc, sha);
    if (s) {
        if (s->from_eval) {
            eval_unlink(sc, s);
            if (from_eval)
                eval_append(sc, s);
            else
                s->from_eval = false;
        }
        return s;
    }
    unsigned flags;
    size_t skip;
    char err[256];
    if (dice__shebang_flags(body, len, &flags, &skip, err, sizeof(err)) < 0) {
        dice_reply_error(c, err, strlen(err));
        return NULL;
    }
    lua_State *L = sc->eval.L;
    if (dice__engine_compile(&sc->eval, body + skip, len - skip,
                             "@user_script") < 0) {
        const char *m = lua_tostring(L, -1);
        dice__reply_errorf(c, "ERR Error compiling script (new function): %s",
                           m ? m : "?");
        lua_pop(L, 1);
        return NULL;
    }
    if (sc->nscripts + 1 > sc->tab_cap / 2 && !cache_grow(sc)) {
        lua_pop(L, 1);
        DICE__REPLY_LIT(c, "ERR out of memory");
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        lua_pop(L, 1);
        DICE__REPLY_LIT(c, "ERR out of memory");
        return NULL;
    }
    memcpy(s->sha, sha, 41);
    s->flags = flags;
    s->len = len;
    s->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    s->from_eval = from_eval;
    size_t k = sha_slot(sha, sc->tab_cap);
    s->next = sc->tab[k];
    sc->tab[k] = s;
    sc->nscripts++;
    sc->scripts_bytes += len + sizeof(*s);
    if (from_eval) {
        eval_append(sc, s);
        if (sc->neval > EVAL_MAX)
            cache_remove(sc, sc->eval_oldest);
    }
    return s;
}

/* ---- Running ------------------------------------------------------------- */

bool dice__run_refuse_oom(dice_client_t *c, unsigned flags) {
    /* Redis's scriptFlagsToCmdFlags makes such a script denyoom. */
    if ((flags & (DICE__SF_COMPAT | DICE__SF_ALLOW_OOM | DICE__SF_NO_WRITES)) ||
        !c->srv->oom_check || !c->srv->oom_state)
        return false;
    dice_reply_error(c, DICE__OOM_TEXT, sizeof(DICE__OOM_TEXT) - 1);
    return true;
}

bool dice__run_prepare(dice_client_t *c, dice__run *run, unsigned flags,
                       bool ro, bool is_eval) {
    memset(run, 0, sizeof(*run));
    run->caller = c;
    run->is_eval = is_eval;
    run->flags = flags;
    run->repl = 3;
    bool declared = !(flags & DICE__SF_COMPAT);
    if (declared && !(flags & DICE__SF_NO_WRITES) && ro) {
        static const char m[] =
            "ERR Can not execute a script with write flag using *_ro command.";
        dice_reply_error(c, m, sizeof(m) - 1);
        return false;
    }
    run->readonly = ro || (declared && (flags & DICE__SF_NO_WRITES));
    run->allow_oom = (flags & DICE__SF_ALLOW_OOM) ||
                     (declared && (flags & DICE__SF_NO_WRITES));
    /* Past dice__run_refuse_oom this is reached only if the state moved
     * since (Redis's own check here, with its own text). */
    if (declared && !run->allow_oom && c->srv->oom_check && c->srv->oom_state) {
        static const char m[] =
            "OOM allow-oom flag is not set on the script, can not run it "
            "when used memory > 'maxmemory'";
        dice_reply_error(c, m, sizeof(m) - 1);
        return false;
    }
    return true;
}

/* numkeys at argv[2]: the count, or -1 with the error replied. */
static long long parse_numkeys(dice_client_t *c, int argc,
                               const char *const *argv, const size_t *argvlen) {
    long long n;
    if (!dice__str2ll(argv[2], argvlen[2], &n)) {
        DICE__REPLY_LIT(c, "ERR value is not an integer or out of range");
        return -1;
    }
    if (n > argc - 3) {
        DICE__REPLY_LIT(
            c, "ERR Number of keys can't be greater than number of args");
        return -1;
    }
    if (n < 0) {
        DICE__REPLY_LIT(c, "ERR Number of keys can't be negative");
        return -1;
    }
    return n;
}

int dice__script_getkeys(int argc, const char *const *argv,
                         const size_t *argvlen, int *pos, int max) {
    long long n;
    if (argc < 3 || !dice__str2ll(argv[2], argvlen[2], &n) || n < 0 ||
        n > argc - 3)
        return -1;
    int k = 0;
    for (long long i = 0; i < n && k < max; i++)
        pos[k++] = 3 + (int)i;
    return k;
}

/* EVAL script numkeys [key ...] [arg ...]
 * EVALSHA sha1 numkeys [key ...] [arg ...]
 * EVAL_RO / EVALSHA_RO: the same, read-only. arg: bit 0 = by sha, bit 1 =
 * read-only. */
#define NOSCRIPT_ERR "NOSCRIPT No matching script. Please use EVAL."

void dice__cmd_eval(dice_client_t *c, int argc, const char *const *argv,
                    const size_t *argvlen, void *arg) {
    uintptr_t mode = (uintptr_t)arg;
    /* EVAL is skip-monitor: it shows itself, before what it runs. */
    dice__monitor_feed_now(c, argc, argv, argvlen);
    dice__scripting *sc = dice__scripting_get(c->srv);
    if (!sc) {
        DICE__REPLY_LIT(c, "ERR out of memory");
        return;
    }
    /* Redis's evalShaCommand: a sha not 40 long matches nothing, said
     * before numkeys is looked at. */
    if ((mode & 1) && argvlen[1] != 40) {
        DICE__REPLY_LIT(c, NOSCRIPT_ERR);
        return;
    }
    /* The script first, for its flags: Redis's evalGetCommandFlags judges
     * them (-OOM) before numkeys is parsed. */
    char sha[41];
    dice__script *s = NULL;
    if (!(mode & 1)) {
        sha_of(argv[1], argvlen[1], sha);
        s = cache_find(sc, sha);
    } else if (argvlen[1] == 40) {
        for (int i = 0; i < 40; i++) {
            char ch = argv[1][i];
            sha[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch | 0x20) : ch;
        }
        sha[40] = '\0';
        s = cache_find(sc, sha);
    }
    unsigned flags = s ? s->flags : DICE__SF_COMPAT;
    if (!s && !(mode & 1) && c->srv->oom_check && c->srv->oom_state) {
        /* A new script's shebang (a bad one leaves it to compilation). */
        size_t skip;
        char err[256];
        if (dice__shebang_flags(argv[1], argvlen[1], &flags, &skip, err,
                                sizeof(err)) < 0)
            flags = DICE__SF_COMPAT;
    }
    if (dice__run_refuse_oom(c, flags))
        return;
    long long nkeys = parse_numkeys(c, argc, argv, argvlen);
    if (nkeys < 0)
        return;
    if (s) {
        if (s->from_eval) {
            eval_unlink(sc, s);
            eval_append(sc, s);
        }
    } else if (mode & 1) {
        DICE__REPLY_LIT(c, NOSCRIPT_ERR);
        return;
    } else {
        s = script_create(c, sc, argv[1], argvlen[1], true);
        if (!s)
            return;
    }
    dice__run run;
    if (!dice__run_prepare(c, &run, s->flags, (mode & 2) != 0, true))
        return;
    run.name = s->sha;
    /* The script's writes go out as the commands it ran, in MULTI/EXEC. */
    dice__propagate_wrap(c);
    dice__engine_run(&sc->eval, &run, s->ref, (int)nkeys, argc, argv, argvlen);
}

/* ---- SCRIPT -------------------------------------------------------------- */

static void script_flush(dice__scripting *sc) {
    /* Redis starts a new Lua state: what scripts left in it goes too. */
    cache_clear(sc);
    dice__engine_close(&sc->eval);
    if (dice__engine_init(sc, &sc->eval, false) < 0)
        dice__logf(sc->srv, DICE_LOG_WARNING,
                   "Out of memory: cannot recreate the Lua state");
}

/* SCRIPT LOAD script | EXISTS sha1 [sha1 ...] | FLUSH [ASYNC|SYNC] | KILL
 * | HELP; arg names the sub-command. */
void dice__cmd_script(dice_client_t *c, int argc, const char *const *argv,
                      const size_t *argvlen, void *arg) {
    const char *sub = arg;
    dice__scripting *sc = dice__scripting_get(c->srv);
    if (!sc) {
        DICE__REPLY_LIT(c, "ERR out of memory");
        return;
    }
    if (strcmp(sub, "load") == 0) {
        dice__script *s = script_create(c, sc, argv[2], argvlen[2], false);
        if (s)
            dice_reply_bulk(c, s->sha, 40);
    } else if (strcmp(sub, "exists") == 0) {
        dice_reply_array(c, (size_t)(argc - 2));
        for (int i = 2; i < argc; i++) {
            char sha[41];
            bool found = false;
            if (argvlen[i] == 40) {
                for (int j = 0; j < 40; j++) {
                    char ch = argv[i][j];
                    sha[j] = (ch >= 'A' && ch <= 'Z') ? (char)(ch | 0x20) : ch;
                }
                found = cache_find(sc, sha) != NULL;
            }
            dice_reply_int(c, found);
        }
    } else if (strcmp(sub, "flush") == 0) {
        if (argc > 3 ||
            (argc == 3 &&
             !(argvlen[2] == 4 && strncasecmp(argv[2], "sync", 4) == 0) &&
             !(argvlen[2] == 5 && strncasecmp(argv[2], "async", 5) == 0))) {
            DICE__REPLY_LIT(c,
                            "ERR SCRIPT FLUSH only support SYNC|ASYNC option");
            return;
        }
        script_flush(sc);
        dice_reply_ok(c);
    } else if (strcmp(sub, "kill") == 0) {
        dice__script_kill(c, true);
    } else if (strcmp(sub, "debug") == 0) {
        if (argvlen[2] == 2 && strncasecmp(argv[2], "no", 2) == 0)
            dice_reply_ok(c);
        else if ((argvlen[2] == 3 && strncasecmp(argv[2], "yes", 3) == 0) ||
                 (argvlen[2] == 4 && strncasecmp(argv[2], "sync", 4) == 0))
            DICE__REPLY_LIT(c, "ERR The Lua debugger is not supported");
        else
            DICE__REPLY_LIT(c, "ERR Use SCRIPT DEBUG YES/SYNC/NO");
    }
}

/* Redis's bytesToHuman. */
static void human(char *out, size_t n, double v) {
    if (v < 1024)
        snprintf(out, n, "%lluB", (unsigned long long)v);
    else if (v < 1024.0 * 1024)
        snprintf(out, n, "%.2fK", v / 1024);
    else if (v < 1024.0 * 1024 * 1024)
        snprintf(out, n, "%.2fM", v / (1024.0 * 1024));
    else
        snprintf(out, n, "%.2fG", v / (1024.0 * 1024 * 1024));
}

static long long vm_bytes(lua_State *L) {
    return (long long)lua_gc(L, LUA_GCCOUNT, 0) * 1024 +
           lua_gc(L, LUA_GCCOUNTB, 0);
}

void dice__scripting_info(dice_server_t *srv, dice_buf_t *b) {
    dice__scripting *sc = srv->scripting;
    /* A fresh state's size as Redis reports it before the first script. */
    long long vm_eval = 32768, vm_fn = 32768;
    size_t scripts = 0, nscripts = 0, fbytes = 0, nfuncs = 0, nlibs = 0;
    if (sc) {
        vm_eval = vm_bytes(sc->eval.L);
        vm_fn = vm_bytes(sc->fn.L);
        scripts = sc->scripts_bytes;
        nscripts = sc->nscripts;
        fbytes = sc->libs_bytes;
        nfuncs = sc->nfuncs;
        nlibs = sc->nlibs;
    }
    char h_eval[32], h_total[32], h_scripts[32];
    human(h_eval, sizeof(h_eval), (double)vm_eval);
    human(h_total, sizeof(h_total), (double)(vm_eval + vm_fn));
    human(h_scripts, sizeof(h_scripts), (double)(scripts + fbytes));
    dice__buf_printf(b,
                     "used_memory_lua:%lld\r\n"
                     "used_memory_vm_eval:%lld\r\n"
                     "used_memory_lua_human:%s\r\n"
                     "used_memory_scripts_eval:%zu\r\n"
                     "number_of_cached_scripts:%zu\r\n"
                     "number_of_functions:%zu\r\n"
                     "number_of_libraries:%zu\r\n"
                     "used_memory_vm_functions:%lld\r\n"
                     "used_memory_vm_total:%lld\r\n"
                     "used_memory_vm_total_human:%s\r\n"
                     "used_memory_functions:%zu\r\n"
                     "used_memory_scripts:%zu\r\n"
                     "used_memory_scripts_human:%s\r\n",
                     vm_eval, vm_eval, h_eval, scripts, nscripts, nfuncs, nlibs,
                     vm_fn, vm_eval + vm_fn, h_total, fbytes, scripts + fbytes,
                     h_scripts);
}
