/* MODULE: Redis 7.0's module commands on a server that loads no modules.
 * LIST is always empty; LOAD and LOADEX fail as Redis's do for a library
 * it cannot load, and UNLOAD as for a name no module has. The three are
 * protected: enable-module-command decides who may run them (in the
 * dispatcher, lib/server/commands.c), as Redis does. */
#include "commands/commands_internal.h"

/* ---- Commands ------------------------------------------------------------ */

/* MODULE LIST */
static DICE__CMD_FN(cmd_module_list) {
    (void)argc, (void)argv, (void)argvlen;
    dice_reply_array(c, 0);
}

/* MODULE LOAD path [arg ...], MODULE LOADEX path [CONFIG name value ...]
 * [ARGS arg ...]: whatever the arguments, as Redis answers for a library
 * that cannot be loaded (it checks LOADEX's syntax only in the log). */
static DICE__CMD_FN(cmd_module_load) {
    (void)argc, (void)argvlen;
    dice__logf(c->srv, DICE_LOG_WARNING,
               "Module %.*s failed to load: this server loads no modules",
               (int)argvlen[2], argv[2]);
    dice__reply_errstr(
        c, "ERR Error loading the extension. Please check the server logs.");
}

/* MODULE UNLOAD name */
static DICE__CMD_FN(cmd_module_unload) {
    (void)argc, (void)argv, (void)argvlen;
    dice__reply_errstr(
        c, "ERR Error unloading module: no such module with that name");
}

static const char *const module_help[] = {
    "MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LIST",
    "    Return a list of loaded modules.",
    "LOAD <path> [<arg> ...]",
    "    Load a module library from <path>, passing to it any optional "
    "arguments.",
    "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
    "    Load a module library from <path>, while passing it module "
    "configurations and optional arguments.",
    "UNLOAD <name>",
    "    Unload a module.",
    "HELP",
    "    Prints this help.",
};

/* MODULE HELP */
static DICE__CMD_FN(cmd_module_help) {
    (void)argc, (void)argv, (void)argvlen;
    dice__reply_help(c, module_help, DICE__COUNT(module_help));
}

#define F_MOD (DICE_CMD_ADMIN | DICE_CMD_NOSCRIPT)
#define F_LOAD (F_MOD | DICE_CMD_NO_ASYNC_LOADING | DICE_CMD_PROTECTED)

static const dice__cmd_desc top[] = {
    {"module", -2, 0, 0, 0, 0, NULL, NULL, "A container for module commands",
     "4.0.0", "Depends on subcommand.", 0, NULL, NULL, NULL},
};

static const dice__cmd_desc module_subs[] = {
    {"list", 2, F_MOD, 0, 0, 0, cmd_module_list, NULL,
     "List all modules loaded by the server", "4.0.0",
     "O(N) where N is the number of loaded modules.", 0,
     "nondeterministic_output_order", NULL, NULL},
    {"load", -3, F_LOAD, 0, 0, 0, cmd_module_load, NULL, "Load a module",
     "4.0.0", "O(1)", 0, NULL, NULL, NULL},
    {"loadex", -3, F_LOAD, 0, 0, 0, cmd_module_load, NULL,
     "Load a module with extended parameters", "7.0.0", "O(1)", 0, NULL, NULL,
     NULL},
    {"unload", 3, F_LOAD, 0, 0, 0, cmd_module_unload, NULL, "Unload a module",
     "4.0.0", "O(1)", 0, NULL, NULL, NULL},
    {"help", 2, DICE_CMD_LOADING | DICE_CMD_STALE, 0, 0, 0, cmd_module_help,
     NULL, "Show helpful text about the different subcommands", "5.0.0", "O(1)",
     0, NULL, NULL, NULL},
};

int dice__builtin_module(dice_server_t *srv) {
    int rc = dice__command_register(srv, NULL, "server", top, DICE__COUNT(top));
    if (rc == 0)
        rc = dice__command_register(srv, "module", "server", module_subs,
                                    DICE__COUNT(module_subs));
    return rc;
}
