/* Scripting commands: EVAL EVALSHA EVAL_RO EVALSHA_RO, SCRIPT, FCALL
 * FCALL_RO and FUNCTION. Only the descriptors live here; the handlers are
 * the scripting layer's (lib/scripting/eval.c, function.c), which owns
 * the Lua states. Without Lua (DICE_WITH_LUA
 * off) none of them is registered, so COMMAND, INFO and the docs show no
 * scripting command. */
#include "commands/commands_internal.h"

#ifdef DICE_WITH_LUA

#include "scripting/scripting_internal.h"

#include <stdint.h>

#define F_EVAL                                                                 \
    (DICE_CMD_NOSCRIPT | DICE_CMD_STALE | DICE_CMD_SKIP_MONITOR |              \
     DICE_CMD_NO_MANDATORY_KEYS | DICE_CMD_MOVABLE_KEYS)
#define EVAL_DOC "Depends on the script that is executed."
#define FCALL_DOC "Depends on the function that is executed."
#define ALL_NODES "request_policy:all_nodes response_policy:all_succeeded"
#define ALL_SHARDS "request_policy:all_shards response_policy:all_succeeded"
#define KILL_TIPS "request_policy:all_shards response_policy:one_succeeded"

static const char *const script_help[] = {
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script "
    "cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is "
    "determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
};

/* SCRIPT HELP */
static DICE__CMD_FN(cmd_script_help) {
    dice__reply_help(c, script_help, DICE__COUNT(script_help));
}

#define S DICE_ACL_SCRIPTING
static const char *const function_help[] = {
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using "
    "LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is "
    "determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can "
    "be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is "
    "possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. "
    "On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing "
    "libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this "
    "option there is a chance of failure",
    "      in case of functions name collision with another library).",
    "HELP",
    "    Prints this help.",
};

/* FUNCTION HELP */
static DICE__CMD_FN(cmd_function_help) {
    dice__reply_help(c, function_help, DICE__COUNT(function_help));
}

static const dice__cmd_desc function_subs[] = {
    {"load", -3, DICE_CMD_WRITE | DICE_CMD_DENYOOM | DICE_CMD_NOSCRIPT, 0, 0, 0,
     dice__cmd_function, "load",
     "Create a function with the given arguments (name, code, description)",
     "7.0.0", "O(1) (considering compilation time is redundant)", S, ALL_SHARDS,
     NULL, NULL},
    {"kill", 2, DICE_CMD_NOSCRIPT | DICE_CMD_ALLOW_BUSY, 0, 0, 0,
     dice__cmd_function, "kill", "Kill the function currently in execution.",
     "7.0.0", "O(1)", S, KILL_TIPS, NULL, NULL},
    {"list", -2, DICE_CMD_NOSCRIPT, 0, 0, 0, dice__cmd_function, "list",
     "List information about all the functions", "7.0.0",
     "O(N) where N is the number of functions", S,
     "nondeterministic_output_order", NULL, NULL},
    {"restore", -3, DICE_CMD_WRITE | DICE_CMD_DENYOOM | DICE_CMD_NOSCRIPT, 0, 0,
     0, dice__cmd_function, "restore",
     "Restore all the functions on the given payload", "7.0.0",
     "O(N) where N is the number of functions on the payload", S, ALL_SHARDS,
     NULL, NULL},
    {"delete", 3, DICE_CMD_WRITE | DICE_CMD_NOSCRIPT, 0, 0, 0,
     dice__cmd_function, "delete", "Delete a function by name", "7.0.0", "O(1)",
     S, ALL_SHARDS, NULL, NULL},
    {"flush", -2, DICE_CMD_WRITE | DICE_CMD_NOSCRIPT, 0, 0, 0,
     dice__cmd_function, "flush", "Deleting all functions", "7.0.0",
     "O(N) where N is the number of functions deleted", S, ALL_SHARDS, NULL,
     NULL},
    {"help", 2, DICE_CMD_LOADING | DICE_CMD_STALE, 0, 0, 0, cmd_function_help,
     NULL, "Show helpful text about the different subcommands", "7.0.0", "O(1)",
     S, NULL, NULL, NULL},
    {"dump", 2, DICE_CMD_NOSCRIPT, 0, 0, 0, dice__cmd_function, "dump",
     "Dump all functions into a serialized binary payload", "7.0.0",
     "O(N) where N is the number of functions", S, NULL, NULL, NULL},
    {"stats", 2, DICE_CMD_NOSCRIPT | DICE_CMD_ALLOW_BUSY, 0, 0, 0,
     dice__cmd_function, "stats",
     "Return information about the function currently running (name, "
     "description, duration)",
     "7.0.0", "O(1)", S,
     "nondeterministic_output request_policy:all_shards "
     "response_policy:special",
     NULL, NULL},
};

#undef S

static const dice__cmd_desc script_cmds[] = {
    {"eval", -3, F_EVAL, 0, 0, 0, dice__cmd_eval, (void *)(uintptr_t)0,
     "Execute a Lua script server side", "2.6.0", EVAL_DOC, DICE_ACL_SCRIPTING,
     NULL, NULL, dice__script_getkeys},
    {"evalsha", -3, F_EVAL, 0, 0, 0, dice__cmd_eval, (void *)(uintptr_t)1,
     "Execute a Lua script server side", "2.6.0", EVAL_DOC, DICE_ACL_SCRIPTING,
     NULL, NULL, dice__script_getkeys},
    {"eval_ro", -3, F_EVAL | DICE_CMD_READONLY, 0, 0, 0, dice__cmd_eval,
     (void *)(uintptr_t)2, "Execute a read-only Lua script server side",
     "7.0.0", EVAL_DOC, DICE_ACL_SCRIPTING, NULL, NULL, dice__script_getkeys},
    {"evalsha_ro", -3, F_EVAL | DICE_CMD_READONLY, 0, 0, 0, dice__cmd_eval,
     (void *)(uintptr_t)3, "Execute a read-only Lua script server side",
     "7.0.0", EVAL_DOC, DICE_ACL_SCRIPTING, NULL, NULL, dice__script_getkeys},
    {"fcall", -3, F_EVAL, 0, 0, 0, dice__cmd_fcall, (void *)(uintptr_t)0,
     "Invoke a function", "7.0.0", FCALL_DOC, DICE_ACL_SCRIPTING, NULL, NULL,
     dice__script_getkeys},
    {"fcall_ro", -3, F_EVAL | DICE_CMD_READONLY, 0, 0, 0, dice__cmd_fcall,
     (void *)(uintptr_t)1, "Invoke a read-only function", "7.0.0", FCALL_DOC,
     DICE_ACL_SCRIPTING, NULL, NULL, dice__script_getkeys},

    {"function", -2, 0, 0, 0, 0, NULL, NULL,
     "A container for function commands", "7.0.0", "Depends on subcommand.", 0,
     NULL, NULL, NULL},

    {"script", -2, 0, 0, 0, 0, NULL, NULL,
     "A container for Lua scripts management commands", "2.6.0",
     "Depends on subcommand.", 0, NULL, NULL, NULL},
};

#define S DICE_ACL_SCRIPTING
static const dice__cmd_desc script_subs[] = {
    {"load", 3, DICE_CMD_NOSCRIPT | DICE_CMD_STALE, 0, 0, 0, dice__cmd_script,
     "load", "Load the specified Lua script into the script cache", "2.6.0",
     "O(N) with N being the length in bytes of the script body.", S, ALL_NODES,
     NULL, NULL},
    {"kill", 2, DICE_CMD_NOSCRIPT | DICE_CMD_ALLOW_BUSY, 0, 0, 0,
     dice__cmd_script, "kill", "Kill the script currently in execution.",
     "2.6.0", "O(1)", S, KILL_TIPS, NULL, NULL},
    {"exists", -3, DICE_CMD_NOSCRIPT, 0, 0, 0, dice__cmd_script, "exists",
     "Check existence of scripts in the script cache.", "2.6.0",
     "O(N) with N being the number of scripts to check (so checking a single "
     "script is an O(1) operation).",
     S, "request_policy:all_shards response_policy:agg_logical_and", NULL,
     NULL},
    {"flush", -2, DICE_CMD_NOSCRIPT, 0, 0, 0, dice__cmd_script, "flush",
     "Remove all the scripts from the script cache.", "2.6.0",
     "O(N) with N being the number of scripts in cache", S, ALL_NODES, NULL,
     NULL},
    {"help", 2, DICE_CMD_LOADING | DICE_CMD_STALE, 0, 0, 0, cmd_script_help,
     NULL, "Show helpful text about the different subcommands", "5.0.0", "O(1)",
     S, NULL, NULL, NULL},
    {"debug", 3, DICE_CMD_NOSCRIPT, 0, 0, 0, dice__cmd_script, "debug",
     "Set the debug mode for executed scripts.", "3.2.0", "O(1)", S, NULL, NULL,
     NULL},
};

#undef S

#define KS_OF(a) a, (int)DICE__COUNT(a)
static const dice__key_spec ks_rw[] = {
    {"We cannot tell how the keys will be used so we assume the worst, RW and "
     "UPDATE",
     DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_UPDATE,
     DICE__BS_INDEX,
     2,
     NULL,
     DICE__FK_KEYNUM,
     {0, 1, 1}}};
static const dice__key_spec ks_rw_nonotes[] = {DICE__KS_KEYNUM(
    DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_UPDATE, 2, 0, 1, 1)};
static const dice__key_spec ks_ro[] = {
    {"We cannot tell how the keys will be used so we assume the worst, RO and "
     "ACCESS",
     DICE__KS_RO | DICE__KS_ACCESS,
     DICE__BS_INDEX,
     2,
     NULL,
     DICE__FK_KEYNUM,
     {0, 1, 1}}};
static const dice__key_spec ks_ro_nonotes[] = {
    DICE__KS_KEYNUM(DICE__KS_RO | DICE__KS_ACCESS, 2, 0, 1, 1)};
static const dice__cmd_keyspecs script_keyspecs[] = {
    {"eval", KS_OF(ks_rw)},    {"evalsha", KS_OF(ks_rw_nonotes)},
    {"eval_ro", KS_OF(ks_ro)}, {"evalsha_ro", KS_OF(ks_ro_nonotes)},
    {"fcall", KS_OF(ks_rw)},   {"fcall_ro", KS_OF(ks_ro)},
};
#undef KS_OF

int dice__builtin_scripting(dice_server_t *srv) {
    int rc = dice__command_register(srv, NULL, "scripting", script_cmds,
                                    DICE__COUNT(script_cmds));
    if (rc == 0)
        rc = dice__command_register(srv, "script", "scripting", script_subs,
                                    DICE__COUNT(script_subs));
    if (rc == 0)
        rc = dice__command_register(srv, "function", "scripting", function_subs,
                                    DICE__COUNT(function_subs));
    if (rc == 0) {
        srv->functions_save = dice__functions_save;
        srv->functions_load = dice__functions_load;
    }
    if (rc == 0)
        rc = dice__command_set_keyspecs(srv, script_keyspecs,
                                        DICE__COUNT(script_keyspecs));
    return rc;
}

#else

int dice__builtin_scripting(dice_server_t *srv) {
    (void)srv;
    return 0;
}

#endif
