/* The scripting layer: Lua 5.1 (Debian's liblua5.1) as Redis 7.0 embeds
 * it, for EVAL and FUNCTION. Above the server core (it runs a script's
 * redis.call()s through the server's dispatch on an in-process client of
 * its own) and below the command families, which declare EVAL, SCRIPT,
 * FUNCTION and FCALL and call in here (lib/commands/scripting.c).
 *
 *   engine.c    one sandboxed Lua state: libraries, read-only globals,
 *               the redis.* API, the conversions between RESP replies and
 *               Lua values both ways, running one call with Redis's
 *               error texts, the hook that keeps the server answering
 *               while a script is busy, SCRIPT KILL
 *   eval.c      EVAL/EVALSHA(_RO), the script cache (SCRIPT LOAD, EXISTS,
 *               FLUSH), the shebang's flags
 *   function.c  FUNCTION LOAD/DELETE/LIST/DUMP/RESTORE/..., FCALL(_RO):
 *               libraries in a state of their own
 *   luabit.c    the "bit" library (our own; Redis bundles LuaBitOp)
 *   luacjson.c  the "cjson" library (our own; Redis bundles lua-cjson
 *               2.1.0, whose names, output and error texts it keeps)
 *   luacmsgpack.c, luastruct.c  the "cmsgpack" and "struct" libraries
 *               (our own; Redis bundles lua-cmsgpack and struct)
 *
 * Built only with DICE_WITH_LUA (CMake finds lua5.1 with pkg-config). */
#ifndef DICE_SCRIPTING_INTERNAL_H
#define DICE_SCRIPTING_INTERNAL_H

#include "dice/session.h"
#include "server/server_internal.h"

#include <lua.h>
#include <stdbool.h>
#include <stdint.h>

/* An error reply from a literal. */
#define DICE__REPLY_LIT(c, lit) dice_reply_error((c), (lit), sizeof(lit) - 1)

/* Script flags: the shebang's (#!lua flags=...) and the functions'. */
enum {
    DICE__SF_NO_WRITES = 1u << 0,
    DICE__SF_ALLOW_OOM = 1u << 1,
    DICE__SF_ALLOW_STALE = 1u << 2,
    DICE__SF_NO_CLUSTER = 1u << 3,
    DICE__SF_ALLOW_CROSS_SLOT = 1u << 4,
    /* An EVAL script without a shebang (Redis's EVAL_COMPAT_MODE). */
    DICE__SF_COMPAT = 1u << 5
};

/* One run of a script or function. */
typedef struct dice__run {
    dice_client_t *caller;
    const char *name; /* the sha (EVAL) or function name (FCALL) */
    bool is_eval;
    bool readonly;  /* EVAL_RO, FCALL_RO, no-writes */
    bool allow_oom; /* allow-oom or no-writes: maxmemory does not refuse */
    bool wrote;     /* a write command ran: SCRIPT KILL refuses */
    bool timedout;  /* past busy-reply-threshold */
    bool killed;    /* SCRIPT / FUNCTION KILL (or SHUTDOWN NOSAVE) */
    unsigned flags; /* DICE__SF_* of the script or function */
    int repl;       /* redis.set_repl: 0 none .. 3 all */
    int argc;       /* the caller's command (FUNCTION STATS) */
    const char *const *argv;
    const size_t *argvlen;
    int resp; /* redis.setresp */
    uint64_t start_ms;
    int caller_mask; /* the caller's fd mask while protected, or -1 */
    lua_State *L;
} dice__run;

/* One engine: a Lua state with the sandbox and the redis library. EVAL
 * has one, functions another (as Redis keeps two). */
typedef struct dice__engine {
    struct dice__scripting *sc;
    lua_State *L;
    bool functions; /* the functions' state (redis.register_function) */
    unsigned runs;
} dice__engine;

typedef struct dice__script dice__script;
typedef struct dice__flib dice__flib;

/* Redis's math.random generator (rand48). */
struct dice__rand48 {
    uint64_t x;
};

typedef struct dice__scripting {
    dice_server_t *srv;
    struct dice__rand48 rand;
    bool rand_init;
    dice__engine eval;
    dice__engine fn;
    /* The client a script's commands run on (a session's), and its argv
     * scratch. */
    dice_session_t *session;
    dice_client_t *client;
    const char **argv;
    size_t *argvlen;
    int argv_cap;
    dice__run *run; /* the running script, or NULL */
    /* Script cache (eval.c): chained hash on the sha. */
    dice__script **tab;
    size_t tab_cap, nscripts;
    size_t scripts_bytes;
    dice__script *eval_oldest, *eval_newest; /* EVAL-made, for the bound */
    size_t neval;
    /* Functions (function.c). */
    dice__flib *libs;
    size_t nlibs, nfuncs;
    size_t libs_bytes;
    dice__flib *loading; /* the library FUNCTION LOAD is running */
    uint64_t load_start_ms;
    struct dice__fn **fn_tab; /* every function, chained on its name */
    size_t fn_cap;
} dice__scripting;

/* The layer's state of srv, created on first use (NULL when out of
 * memory). */
dice__scripting *dice__scripting_get(dice_server_t *srv);

/* Engines (engine.c). */
int dice__engine_init(dice__scripting *sc, dice__engine *e, bool functions);
void dice__engine_close(dice__engine *e);
/* Compile body as a function of chunk name "@user_script" (EVAL) and leave
 * it on the stack: 0, or -1 with the error message on the stack. */
int dice__engine_compile(dice__engine *e, const char *body, size_t len,
                         const char *chunk);
/* Run the function at ref (registry) with KEYS / ARGV set from
 * argv[first..first+nkeys) and the rest, for caller; the reply goes to
 * caller. name is the sha or the function's name (error texts). */
void dice__engine_run(dice__engine *e, dice__run *run, int ref, int nkeys,
                      int argc, const char *const *argv, const size_t *argvlen);
/* SCRIPT KILL (is_eval) and FUNCTION KILL. */
void dice__script_kill(dice_client_t *c, bool is_eval);
/* The redis library's functions into the table on top of the stack. */
void dice__engine_redis_lib(dice__engine *e);
/* Push Redis's error table {err="CODE msg"} for text (Redis's
 * luaPushErrorBuff: "-CODE msg" or "msg", which gets ERR). */
void dice__lua_push_error(lua_State *L, const char *text, size_t len);
/* If the value on top of the stack is a read-only proxy of a library table
 * (or the globals), replace it by the table behind it, for code that only
 * reads it (the encoders of cjson and cmsgpack), so they see what a script
 * walks with pairs(). Never hand the result to a script. */
void dice__lua_unproxy(lua_State *L);
/* While on, the globals of the functions' engine read through the load
 * environment (FUNCTION LOAD's), else through the usual ones. */
void dice__engine_loading(dice__engine *e, bool on);
/* redis.register_function (function.c; upvalue 1: the engine). */
int dice__fn_register(lua_State *L);
/* The cmsgpack and struct libraries (luacmsgpack.c, luastruct.c: our own,
 * Redis bundles lua-cmsgpack and Roberto's struct): each sets its global. */
int dice__luaopen_cmsgpack(lua_State *L);
int dice__luaopen_struct(lua_State *L);
/* The bit library. */
int dice__luaopen_bit(lua_State *L);
/* The cjson library (the global cjson; made read-only with the others). */
int dice__luaopen_cjson(lua_State *L);

/* Script flags from a shebang's first line: 0 with *flags and *skip (bytes
 * of the shebang line before its newline), or -1 with Redis's error text
 * in err. Without a shebang: DICE__SF_COMPAT, skip 0. */
int dice__shebang_flags(const char *body, size_t len, unsigned *flags,
                        size_t *skip, char *err, size_t errsize);
/* The -OOM Redis's processCommand gives a script or function before it
 * parses numkeys: flags declared (no EVAL compat mode), neither allow-oom
 * nor no-writes, and the server over maxmemory with nothing to evict.
 * True after replying it. */
bool dice__run_refuse_oom(dice_client_t *c, unsigned flags);
/* Prepare a run's flags (Redis's scriptPrepareForRun): false with the
 * error replied when it cannot run. */
bool dice__run_prepare(dice_client_t *c, dice__run *run, unsigned flags,
                       bool ro, bool is_eval);

/* Commands (eval.c, function.c), declared by lib/commands/scripting.c. */
void dice__cmd_eval(dice_client_t *c, int argc, const char *const *argv,
                    const size_t *argvlen, void *arg);
void dice__cmd_script(dice_client_t *c, int argc, const char *const *argv,
                      const size_t *argvlen, void *arg);
void dice__cmd_function(dice_client_t *c, int argc, const char *const *argv,
                        const size_t *argvlen, void *arg);
void dice__cmd_fcall(dice_client_t *c, int argc, const char *const *argv,
                     const size_t *argvlen, void *arg);
/* EVAL's and FCALL's keys (numkeys at argv[2]). */
int dice__script_getkeys(int argc, const char *const *argv,
                         const size_t *argvlen, int *pos, int max);
/* INFO memory (used_memory_vm_eval...) into b. */
void dice__scripting_info(dice_server_t *srv, dice_buf_t *b);
/* Functions freed with the layer (function.c). */
void dice__functions_free(dice__scripting *sc);
/* The snapshot hooks (dice_server_t's functions_save / functions_load). */
int dice__functions_save(void *srv,
                         int (*put)(void *sink, const char *code, size_t len),
                         void *sink);
int dice__functions_load(void *srv, const char *code, size_t len, char *err,
                         size_t errsize);
/* Milliseconds on the monotonic clock (engine.c). */
uint64_t dice__mono_ms(void);
/* Whether a script or function run may call a denyoom command when the
 * server is over maxmemory (Redis's scriptVerifyOOM): see engine.c. */
bool dice__run_allows_oom(const dice__run *run);

#endif
