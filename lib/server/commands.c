/* The server's command table as the public API and the dispatcher see
 * it: registration by hosts and families, and resolving a client's argv to
 * the command to run, with Redis's rejection texts. */
#include "server/server_internal.h"

#include <ctype.h>
#include <string.h>

/* A host's registration is a descriptor without documentation. */
static int add_host_command(dice_server_t *srv, const char *parent,
                            const char *name, int arity, unsigned flags,
                            int first_key, int last_key, int key_step,
                            dice_command_fn fn, void *arg,
                            const char *summary) {
    dice__cmd_desc d = {.name = name,
                        .arity = arity,
                        .flags = flags & ~DICE__CMD_INTERNAL_MASK,
                        .first_key = first_key,
                        .last_key = last_key,
                        .step = key_step,
                        .fn = fn,
                        .arg = arg,
                        .summary = summary};
    return dice__cmdtable_add(&srv->commands, parent, NULL, &d);
}

int dice_command_add(dice_server_t *srv, const char *name, int arity,
                     unsigned flags, int first_key, int last_key, int key_step,
                     dice_command_fn fn, void *arg, const char *summary) {
    if (!srv)
        return DICE_EINVAL;
    return add_host_command(srv, NULL, name, arity, flags, first_key, last_key,
                            key_step, fn, arg, summary);
}

int dice_command_add_sub(dice_server_t *srv, const char *parent,
                         const char *name, int arity, unsigned flags,
                         int first_key, int last_key, int key_step,
                         dice_command_fn fn, void *arg, const char *summary) {
    if (!srv || !parent)
        return DICE_EINVAL;
    return add_host_command(srv, parent, name, arity, flags, first_key,
                            last_key, key_step, fn, arg, summary);
}

int dice_command_remove(dice_server_t *srv, const char *name) {
    return dice__cmdtable_remove(&srv->commands, name);
}

size_t dice_command_count(dice_server_t *srv) {
    return srv->commands.count;
}

int dice__command_register(dice_server_t *srv, const char *parent,
                           const char *group, const dice__cmd_desc *d,
                           size_t n) {
    for (size_t i = 0; i < n; i++) {
        int rc = dice__cmdtable_add(&srv->commands, parent, group, &d[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int dice__command_set_keyspecs(dice_server_t *srv, const dice__cmd_keyspecs *t,
                               size_t n) {
    for (size_t i = 0; i < n; i++) {
        dice_command_t *cmd = dice__cmdtable_lookup_full(
            &srv->commands, t[i].name, strlen(t[i].name));
        if (!cmd)
            return DICE_ENOENT;
        cmd->keyspecs = t[i].specs;
        cmd->nkeyspecs = t[i].n;
    }
    return 0;
}

static bool arity_ok(const dice_command_t *cmd, int argc) {
    return cmd->arity > 0 ? argc == cmd->arity : argc >= -cmd->arity;
}

int dice__reply_arity_error(dice_client_t *c, const dice_command_t *cmd) {
    if (cmd->flags & DICE__CMD_EXEC) {
        dice__multi_discard(c);
        return dice__reply_errorf(c,
                                  "EXECABORT Transaction discarded because of: "
                                  "wrong number of arguments for '%s' command",
                                  cmd->fullname);
    }
    return dice__reply_errorf(
        c, "ERR wrong number of arguments for '%s' command", cmd->fullname);
}

/* A command's name in upper case, as Redis's errors show it (cut to
 * size): the name it is called by, or after rename-command its original
 * (fullname), as each error has it. */
static void upper_name(const char *name, char *out, size_t size) {
    size_t n = strlen(name);
    if (n > size - 1)
        n = size - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)toupper((unsigned char)name[i]);
    out[n] = '\0';
}

/* The checks that refuse a resolved command for who is asking: DEBUG's
 * protection, authentication, a RESP2 subscriber's context, in Redis's
 * order. Out of line: a client that needs none of them (the common case)
 * pays one test in dice__command_resolve. Returns cmd or NULL after
 * replying. */
static __attribute__((noinline)) dice_command_t *
refuse_for_client(dice_client_t *c, dice_command_t *cmd, int argc,
                  const char *const *argv, const size_t *argvlen) {
    /* Protected commands (sub-commands inherit it from their parent when
     * registered) are refused before authentication is checked, as Redis
     * does. */
    if (cmd->flags & DICE_CMD_PROTECTED) {
        /* MODULE's protected sub-commands follow enable-module-command;
         * DEBUG and a host's protected commands enable-debug-command. */
        char upper[64];
        upper_name((cmd->parent ? cmd->parent : cmd)->fullname, upper,
                   sizeof(upper));
        int module = strcmp(upper, "MODULE") == 0;
        if (!dice__client_allowed(c, module ? c->srv->cfg.enable_module_cmd
                                            : c->srv->cfg.enable_debug_cmd)) {
            dice__reply_errorf(c,
                               "ERR %s command not allowed. If the %s option "
                               "is set to \"local\", you can run it from a "
                               "local connection, otherwise you need to set "
                               "this option in the configuration file, and "
                               "then restart the server.",
                               upper,
                               module ? "enable-module-command"
                                      : "enable-debug-command");
            return NULL;
        }
    }
    /* Redis checks authentication after the command and its arity. A
     * client stays unauthenticated only while a password is set, so a
     * password removed by CONFIG SET frees it. */
    if (!c->authenticated) {
        bool need = dice__acl_auth_required(c->srv);
        dice__client_sync_auth(c);
        if (need && !(cmd->flags & DICE_CMD_NOAUTH)) {
            if (cmd->flags & DICE__CMD_EXEC) {
                dice__multi_discard(c);
                dice__reply_errorf(c, "EXECABORT Transaction discarded "
                                      "because of: NOAUTH Authentication "
                                      "required.");
                return NULL;
            }
            dice_reply_error(c, "NOAUTH Authentication required.", 31);
            return NULL;
        }
    }
    /* The user's permissions (lib/server/acl.c), after authentication,
     * as Redis's ACLCheckAllPerm in processCommand. */
    if ((c->flags & CLIENT_ACL) &&
        !dice__acl_check_client(c, cmd, argc, argv, argvlen))
        return NULL;
    /* A RESP2 subscriber's connection carries pushes: only commands whose
     * replies fit in that stream may run (RESP3 tells pushes apart). */
    if (__builtin_expect((c->flags & CLIENT_PUBSUB) != 0, 0) && c->proto == 2 &&
        !(cmd->flags & DICE__CMD_SUBSCRIBER_OK)) {
        dice__reply_errorf(c,
                           "ERR Can't execute '%s': only (P|S)SUBSCRIBE / "
                           "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed "
                           "in this context",
                           cmd->fullname);
        return NULL;
    }
    return cmd;
}

/* A command refused after its error reply (Redis's rejectCommand): its
 * rejected_calls, and the error is not the next command's failure. cmd
 * is NULL for an unknown command or sub-command. */
static __attribute__((noinline)) void rejected(dice_client_t *c,
                                               dice_command_t *cmd) {
    if (cmd)
        cmd->rejected_calls++;
    dice__intro_errors_seen(c->srv);
}

dice_command_t *dice__command_resolve_full(dice_client_t *c, int argc,
                                           const char *const *argv,
                                           const size_t *argvlen) {
    const dice_cmdtable_t *t = &c->srv->commands;
    dice_command_t *cmd = c->cmd_cache;
    if (!cmd || c->cmd_cache_gen != t->gen ||
        !dice__command_name_eq(cmd, argv[0], argvlen[0])) {
        cmd = dice__cmdtable_find(t, argv[0], argvlen[0]);
        c->cmd_cache = cmd;
        c->cmd_cache_gen = t->gen;
        /* Cached from here on: give it its histogram now (the table's
         * generation moves when latency-tracking is turned on). */
        if (cmd && !cmd->hist_own)
            dice__intro_attach_hist(c->srv, cmd);
    }
    if (!cmd) {
        /* Redis quotes up to 128 bytes of the name and then arguments while
         * the list is still shorter than 128 bytes. */
        char args[512];
        size_t used = 0;
        for (int i = 1; i < argc && used < 128; i++) {
            size_t room = 128 - used;
            size_t n = argvlen[i] < room ? argvlen[i] : room;
            if (used + n + 3 >= sizeof(args))
                break;
            args[used++] = '\'';
            memcpy(args + used, argv[i], n);
            used += n;
            args[used++] = '\'';
            args[used++] = ' ';
        }
        args[used] = '\0';
        int nl = argvlen[0] < 128 ? (int)argvlen[0] : 128;
        dice__reply_errorf(c,
                           "ERR unknown command '%.*s', with args beginning "
                           "with: %s",
                           nl, argv[0], args);
        rejected(c, NULL);
        return NULL;
    }
    if (cmd->nsubs > 0 && argc >= 2) {
        dice_command_t *sub = dice__command_find_sub(cmd, argv[1], argvlen[1]);
        if (!sub) {
            char upper[64];
            upper_name(cmd->name, upper, sizeof(upper));
            int sl = argvlen[1] < 128 ? (int)argvlen[1] : 128;
            dice__reply_errorf(c, "ERR unknown subcommand '%.*s'. Try %s HELP.",
                               sl, argv[1], upper);
            rejected(c, NULL);
            return NULL;
        }
        cmd = sub;
        if (!cmd->hist_own)
            dice__intro_attach_hist(c->srv, cmd);
    }
    if (!arity_ok(cmd, argc) || !cmd->fn) {
        dice__reply_arity_error(c, cmd);
        rejected(c, cmd);
        return NULL;
    }
    if (__builtin_expect((cmd->flags & DICE_CMD_PROTECTED) ||
                             !c->authenticated ||
                             (c->flags & (CLIENT_PUBSUB | CLIENT_ACL)),
                         0)) {
        dice_command_t *ok = refuse_for_client(c, cmd, argc, argv, argvlen);
        if (!ok)
            rejected(c, cmd);
        return ok;
    }
    return cmd;
}
