/* The ACL command and its sub-commands (SETUSER GETUSER DELUSER LIST USERS
 * WHOAMI CAT GENPASS LOG DRYRUN SAVE LOAD HELP), answering as Redis 7.0's
 * acl.c does. Users, rules, the check and the log live in the server layer
 * (lib/server/acl.c); this file only parses and replies. */
#include "commands/commands_internal.h"
#include "core/sha1.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* ---- API ---------------------------------------------------------------- */

static void reply_subcommand_error(dice_client_t *c, const char *const *argv,
                                   const size_t *argvlen) {
    int n = argvlen[1] < 128 ? (int)argvlen[1] : 128;
    dice__reply_errorf(c,
                       "ERR unknown subcommand or wrong number of arguments "
                       "for '%.*s'. Try ACL HELP.",
                       n, argv[1]);
}

/* Reply with a malloc'd text as a bulk string, and free it. */
static void reply_owned(dice_client_t *c, char *s) {
    if (!s) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    dice_reply_bulk(c, s, strlen(s));
    free(s);
}

/* ---- Commands ----------------------------------------------------------- */

/* ACL SETUSER <username> [<rule> ...] */
static DICE__CMD_FN(cmd_acl_setuser) {
    char err[1024];
    if (dice__acl_setuser(c->srv, argv[2], argvlen[2], argc - 3, argv + 3,
                          argvlen + 3, err, sizeof(err)) < 0) {
        dice__reply_errstr(c, err);
        return;
    }
    dice_reply_ok(c);
}

/* ACL GETUSER <username> */
static DICE__CMD_FN(cmd_acl_getuser) {
    dice_server_t *srv = c->srv;
    dice__acl_user *u = dice__acl_find(srv, argv[2], argvlen[2]);
    if (!u) {
        dice_reply_null(c);
        return;
    }
    dice_reply_map(c, 6);
    dice_reply_cstr(c, "flags");
    size_t nf = 1 + !!(u->flags & DICE__USER_NOPASS) +
                !!(u->flags & DICE__USER_SKIP_SANITIZE) +
                !!(u->flags & DICE__USER_SANITIZE);
    dice_reply_set(c, nf);
    dice_reply_cstr(c, (u->flags & DICE__USER_ON) ? "on" : "off");
    if (u->flags & DICE__USER_NOPASS)
        dice_reply_cstr(c, "nopass");
    if (u->flags & DICE__USER_SKIP_SANITIZE)
        dice_reply_cstr(c, "skip-sanitize-payload");
    if (u->flags & DICE__USER_SANITIZE)
        dice_reply_cstr(c, "sanitize-payload");
    dice_reply_cstr(c, "passwords");
    dice_reply_array(c, u->npass);
    for (size_t i = 0; i < u->npass; i++) {
        char hex[65];
        dice__hex(u->pass[i], DICE__SHA256_LEN, hex);
        dice_reply_bulk(c, hex, 64);
    }
    dice_reply_cstr(c, "commands");
    reply_owned(c, dice__acl_describe_cmds(srv, &u->sel[0]));
    dice_reply_cstr(c, "keys");
    reply_owned(c, dice__acl_describe_keys(&u->sel[0]));
    dice_reply_cstr(c, "channels");
    reply_owned(c, dice__acl_describe_chans(&u->sel[0], false));
    dice_reply_cstr(c, "selectors");
    dice_reply_array(c, u->nsel - 1);
    for (size_t i = 1; i < u->nsel; i++) {
        dice_reply_map(c, 3);
        dice_reply_cstr(c, "commands");
        reply_owned(c, dice__acl_describe_cmds(srv, &u->sel[i]));
        dice_reply_cstr(c, "keys");
        reply_owned(c, dice__acl_describe_keys(&u->sel[i]));
        dice_reply_cstr(c, "channels");
        reply_owned(c, dice__acl_describe_chans(&u->sel[i], false));
    }
}

/* ACL DELUSER <username> [<username> ...] */
static DICE__CMD_FN(cmd_acl_deluser) {
    for (int i = 2; i < argc; i++) {
        if (argvlen[i] == 7 && memcmp(argv[i], "default", 7) == 0) {
            dice__reply_errstr(c, "ERR The 'default' user cannot be removed");
            return;
        }
    }
    long long n = 0;
    for (int i = 2; i < argc; i++)
        n += dice__acl_deluser(c->srv, argv[i], argvlen[i]);
    dice_reply_int(c, n);
}

/* ACL LIST */
static DICE__CMD_FN(cmd_acl_list) {
    dice_server_t *srv = c->srv;
    dice_reply_array(c, srv->acl.nusers);
    for (size_t i = 0; i < srv->acl.nusers; i++) {
        dice__acl_user *u = srv->acl.users[i];
        char *d = dice__acl_describe_user(srv, u);
        if (!d) {
            dice_reply_bulk(c, "", 0);
            continue;
        }
        size_t n = 5 + u->namelen + 1 + strlen(d);
        char *line = malloc(n + 1);
        if (line) {
            snprintf(line, n + 1, "user %s %s", u->name, d);
            dice_reply_bulk(c, line, n);
        } else {
            dice_reply_bulk(c, "", 0);
        }
        free(line);
        free(d);
    }
}

/* ACL USERS */
static DICE__CMD_FN(cmd_acl_users) {
    dice_server_t *srv = c->srv;
    dice_reply_array(c, srv->acl.nusers);
    for (size_t i = 0; i < srv->acl.nusers; i++)
        dice_reply_bulk(c, srv->acl.users[i]->name, srv->acl.users[i]->namelen);
}

/* ACL WHOAMI */
static DICE__CMD_FN(cmd_acl_whoami) {
    dice_reply_bulk(c, c->user->name, c->user->namelen);
}

typedef struct cat_walk {
    dice_client_t *c;
    unsigned cat;
    size_t n;
} cat_walk;

static void cat_emit(dice_command_t *cmd, void *arg) {
    cat_walk *w = arg;
    if (dice__command_acl(cmd) & w->cat) {
        if (w->c)
            dice_reply_cstr(w->c, cmd->fullname);
        w->n++;
    }
}

/* ACL CAT [<category>] */
static DICE__CMD_FN(cmd_acl_cat) {
    if (argc > 3) {
        reply_subcommand_error(c, argv, argvlen);
        return;
    }
    if (argc == 2) {
        unsigned n = 0;
        while (dice__acl_category_name(n))
            n++;
        dice_reply_array(c, n);
        for (unsigned i = 0; i < n; i++)
            dice_reply_cstr(c, dice__acl_category_name(i));
        return;
    }
    unsigned cat = 0;
    for (unsigned b = 0; dice__acl_category_name(b); b++) {
        const char *name = dice__acl_category_name(b);
        if (strlen(name) == argvlen[2] &&
            strncasecmp(name, argv[2], argvlen[2]) == 0)
            cat = 1u << b;
    }
    if (!cat) {
        dice__reply_errorf(c, "ERR Unknown category '%.*s'",
                           (int)(argvlen[2] > 128 ? 128 : argvlen[2]), argv[2]);
        return;
    }
    cat_walk w = {NULL, cat, 0};
    dice__acl_visit_commands(c->srv, cat_emit, &w);
    dice_reply_array(c, w.n);
    w.c = c;
    dice__acl_visit_commands(c->srv, cat_emit, &w);
}

/* ACL GENPASS [<bits>] */
static DICE__CMD_FN(cmd_acl_genpass) {
    if (argc > 3) {
        reply_subcommand_error(c, argv, argvlen);
        return;
    }
    long long bits = 256;
    if (argc == 3 && dice__parse_ll_or_reply(c, argv[2], argvlen[2], &bits) < 0)
        return;
    if (bits <= 0 || bits > 4096) {
        dice__reply_errstr(c, "ERR ACL GENPASS argument must be the number of "
                              "bits for the output password, a positive "
                              "number up to 4096");
        return;
    }
    size_t chars = (size_t)(bits + 3) / 4;
    uint8_t raw[512];
    size_t nraw = (chars + 1) / 2;
    size_t got = 0;
    while (got < nraw) {
        ssize_t r = getrandom(raw + got, nraw - got, 0);
        if (r <= 0) {
            dice__reply_errstr(c, "ERR can't read random bytes");
            return;
        }
        got += (size_t)r;
    }
    char hex[1025];
    dice__hex(raw, nraw, hex);
    dice_reply_bulk(c, hex, chars);
}

/* ACL LOG [<count> | RESET] */
static DICE__CMD_FN(cmd_acl_log) {
    dice_server_t *srv = c->srv;
    if (argc > 3) {
        reply_subcommand_error(c, argv, argvlen);
        return;
    }
    long long count = 10;
    if (argc == 3) {
        if (dice__eqci(argv[2], argvlen[2], "reset")) {
            dice__acl_log_reset(srv);
            dice_reply_ok(c);
            return;
        }
        if (dice__parse_ll_or_reply(c, argv[2], argvlen[2], &count) < 0)
            return;
        if (count < 0)
            count = 0;
    }
    size_t n = srv->acl.nlog < (size_t)count ? srv->acl.nlog : (size_t)count;
    uint64_t now = (uint64_t)dice_loop_unix_ms(srv->loop);
    dice_reply_array(c, n);
    for (size_t i = 0; i < n; i++) {
        const dice__acl_log_entry *e = &srv->acl.log[i];
        dice_reply_map(c, 7);
        dice_reply_cstr(c, "count");
        dice_reply_int(c, (long long)e->count);
        dice_reply_cstr(c, "reason");
        dice_reply_cstr(c, dice__acl_reason_name(e->reason));
        dice_reply_cstr(c, "context");
        dice_reply_cstr(c, e->context == DICE__ACL_CTX_LUA     ? "lua"
                           : e->context == DICE__ACL_CTX_MULTI ? "multi"
                                                               : "toplevel");
        dice_reply_cstr(c, "object");
        dice_reply_cstr(c, e->object);
        dice_reply_cstr(c, "username");
        dice_reply_cstr(c, e->username);
        dice_reply_cstr(c, "age-seconds");
        dice_reply_double(
            c, (double)(now >= e->ctime_ms ? now - e->ctime_ms : 0) / 1000);
        dice_reply_cstr(c, "client-info");
        dice_reply_cstr(c, e->cinfo);
    }
}

/* ACL DRYRUN <username> <command> [<arg> ...] */
static DICE__CMD_FN(cmd_acl_dryrun) {
    dice_server_t *srv = c->srv;
    dice__acl_user *u = dice__acl_find(srv, argv[2], argvlen[2]);
    if (!u) {
        dice__reply_errorf(c, "ERR User '%.*s' not found",
                           (int)(argvlen[2] > 128 ? 128 : argvlen[2]), argv[2]);
        return;
    }
    int cargc = argc - 3;
    const char *const *cargv = argv + 3;
    const size_t *cargvlen = argvlen + 3;
    dice_command_t *cmd =
        dice__cmdtable_find(&srv->commands, cargv[0], cargvlen[0]);
    if (cmd && cmd->nsubs > 0 && cargc >= 2)
        cmd = dice__command_find_sub(cmd, cargv[1], cargvlen[1]);
    if (!cmd) {
        dice__reply_errorf(c, "ERR Command '%.*s' not found",
                           (int)(cargvlen[0] > 128 ? 128 : cargvlen[0]),
                           cargv[0]);
        return;
    }
    if (cmd->arity > 0 ? cargc != cmd->arity : cargc < -cmd->arity) {
        dice__reply_errorf(c, "ERR wrong number of arguments for '%s' command",
                           cmd->fullname);
        return;
    }
    int idx = 0;
    int r = dice__acl_check(srv, u, cmd, cargc, cargv, cargvlen, &idx);
    if (r == DICE__ACL_OK) {
        dice_reply_ok(c);
        return;
    }
    char *msg;
    size_t len;
    char stack[512];
    if (r == DICE__ACL_DENIED_CMD) {
        len = (size_t)snprintf(stack, sizeof(stack),
                               "This user has no permissions to run the '%s' "
                               "command",
                               cmd->fullname);
    } else {
        len = (size_t)snprintf(
            stack, sizeof(stack),
            "This user has no permissions to access the '%.*s' %s",
            (int)(cargvlen[idx] > 256 ? 256 : cargvlen[idx]), cargv[idx],
            r == DICE__ACL_DENIED_KEY ? "key" : "channel");
    }
    msg = stack;
    dice_reply_bulk(c, msg, len < sizeof(stack) ? len : sizeof(stack) - 1);
}

static const char *const no_aclfile =
    "ERR This Redis instance is not configured to use an ACL file. You may "
    "want to specify users via the ACL SETUSER command and then issue a "
    "CONFIG REWRITE (assuming you have a Redis configuration file set) in "
    "order to store users in the Redis configuration.";

/* ACL SAVE */
static DICE__CMD_FN(cmd_acl_save) {
    if (!c->srv->cfg.aclfile || !*c->srv->cfg.aclfile) {
        dice__reply_errstr(c, no_aclfile);
        return;
    }
    char err[512];
    if (dice__acl_save(c->srv, err, sizeof(err)) < 0) {
        dice__reply_errstr(c, err);
        return;
    }
    dice_reply_ok(c);
}

/* ACL LOAD */
static DICE__CMD_FN(cmd_acl_load) {
    if (!c->srv->cfg.aclfile || !*c->srv->cfg.aclfile) {
        dice__reply_errstr(c, no_aclfile);
        return;
    }
    char err[1024];
    if (dice__acl_load(c->srv, err, sizeof(err)) < 0) {
        dice__reply_errstr(c, err);
        return;
    }
    dice_reply_ok(c);
}

static const char *const acl_help[] = {
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command "
    "categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without "
    "executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` "
    "argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
};

/* ACL HELP */
static DICE__CMD_FN(cmd_acl_help) {
    dice__reply_help(c, acl_help, DICE__COUNT(acl_help));
}

/* ---- Registration ------------------------------------------------------- */

#define F_LS (DICE_CMD_LOADING | DICE_CMD_STALE)
#define F_NS (DICE_CMD_NOSCRIPT | F_LS)
#define F_ADM (DICE_CMD_ADMIN | F_NS)
#define USERS_N "O(N). Where N is the number of configured users."

static const dice__cmd_desc top[] = {
    {"acl", -2, 0, 0, 0, 0, NULL, NULL,
     "A container for Access List Control "
     "commands",
     "6.0.0", "Depends on subcommand.", 0, NULL, NULL, NULL},
};

static const dice__cmd_desc acl_subs[] = {
    {"cat", -2, F_NS, 0, 0, 0, cmd_acl_cat, NULL,
     "List the ACL categories or the commands inside a category", "6.0.0",
     "O(1) since the categories and commands are a fixed set.", 0, NULL, NULL,
     NULL},
    {"deluser", -3, F_ADM, 0, 0, 0, cmd_acl_deluser, NULL,
     "Remove the specified ACL users and the associated rules", "6.0.0",
     "O(1) amortized time considering the typical user.", 0, NULL, NULL, NULL},
    {"dryrun", -4, F_ADM, 0, 0, 0, cmd_acl_dryrun, NULL,
     "Returns whether the user can execute the given command without "
     "executing the command.",
     "7.0.0", "O(1).", 0, NULL, NULL, NULL},
    {"genpass", -2, F_NS, 0, 0, 0, cmd_acl_genpass, NULL,
     "Generate a pseudorandom secure password to use for ACL users", "6.0.0",
     "O(1)", 0, NULL, NULL, NULL},
    {"getuser", 3, F_ADM, 0, 0, 0, cmd_acl_getuser, NULL,
     "Get the rules for a specific ACL user", "6.0.0",
     "O(N). Where N is the number of password, command and pattern rules "
     "that the user has.",
     0, NULL, NULL, NULL},
    {"help", 2, F_LS, 0, 0, 0, cmd_acl_help, NULL,
     "Show helpful text about the different subcommands", "6.0.0", "O(1)", 0,
     NULL, NULL, NULL},
    {"list", 2, F_ADM, 0, 0, 0, cmd_acl_list, NULL,
     "List the current ACL rules in ACL config file format", "6.0.0", USERS_N,
     0, NULL, NULL, NULL},
    {"load", 2, F_ADM, 0, 0, 0, cmd_acl_load, NULL,
     "Reload the ACLs from the configured ACL file", "6.0.0", USERS_N, 0, NULL,
     NULL, NULL},
    {"log", -2, F_ADM, 0, 0, 0, cmd_acl_log, NULL,
     "List latest events denied because of ACLs in place", "6.0.0",
     "O(N) with N being the number of entries shown.", 0, NULL, NULL, NULL},
    {"save", 2, F_ADM, 0, 0, 0, cmd_acl_save, NULL,
     "Save the current ACL rules in the configured ACL file", "6.0.0", USERS_N,
     0, NULL, NULL, NULL},
    {"setuser", -3, F_ADM, 0, 0, 0, cmd_acl_setuser, NULL,
     "Modify or create the rules for a specific ACL user", "6.0.0",
     "O(N). Where N is the number of rules provided.", 0, NULL, NULL, NULL},
    {"users", 2, F_ADM, 0, 0, 0, cmd_acl_users, NULL,
     "List the username of all the configured ACL rules", "6.0.0", USERS_N, 0,
     NULL, NULL, NULL},
    {"whoami", 2, F_NS, 0, 0, 0, cmd_acl_whoami, NULL,
     "Return the name of the user associated to the current connection",
     "6.0.0", "O(1)", 0, NULL, NULL, NULL},
};

int dice__builtin_acl(dice_server_t *srv) {
    int rc = dice__command_register(srv, NULL, "server", top, DICE__COUNT(top));
    if (rc == 0)
        rc = dice__command_register(srv, "acl", "server", acl_subs,
                                    DICE__COUNT(acl_subs));
    return rc;
}
