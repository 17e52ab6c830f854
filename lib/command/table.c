/* Command table: registration, allocation-free case-insensitive lookup,
 * sub-command dispatch and Redis's rejection texts. */
#include "server/server_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline unsigned char fold(unsigned char ch) {
    return (ch >= 'A' && ch <= 'Z') ? (unsigned char)(ch | 0x20) : ch;
}

/* FNV-1a over the case-folded bytes: names are short, and folding while
 * hashing is what lets lookup skip a lowercased copy of argv[0]. */
static uint64_t name_hash(const char *s, size_t len) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= fold((unsigned char)s[i]);
        h *= 1099511628211ULL;
    }
    return h;
}

/* name is stored lower case, so only the probe side needs folding. */
static bool name_eq(const dice_command_t *cmd, const char *s, size_t len) {
    if (cmd->namelen != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (cmd->name[i] != (char)fold((unsigned char)s[i]))
            return false;
    return true;
}

void dice__cmdtable_init(dice_cmdtable_t *t) {
    memset(t, 0, sizeof(*t));
}

static void command_free(dice_command_t *cmd) {
    if (!cmd)
        return;
    for (size_t i = 0; i < cmd->nsubs; i++)
        command_free(cmd->subs[i]);
    free(cmd->subs);
    if (cmd->fullname != cmd->name)
        free(cmd->fullname);
    free(cmd->name);
    free(cmd->summary);
    free(cmd);
}

static void retire(dice_cmdtable_t *t, dice_command_t *cmd) {
    cmd->next_retired = t->retired;
    t->retired = cmd;
}

void dice__cmdtable_free(dice_cmdtable_t *t) {
    for (size_t i = 0; i < t->cap; i++)
        command_free(t->slots[i]);
    while (t->retired) {
        dice_command_t *next = t->retired->next_retired;
        command_free(t->retired);
        t->retired = next;
    }
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

static size_t find_slot(const dice_cmdtable_t *t, const char *name,
                        size_t len) {
    size_t mask = t->cap - 1;
    size_t i = (size_t)name_hash(name, len) & mask;
    while (t->slots[i] && !name_eq(t->slots[i], name, len))
        i = (i + 1) & mask;
    return i;
}

dice_command_t *dice__cmdtable_find(const dice_cmdtable_t *t, const char *name,
                                    size_t len) {
    if (t->cap == 0)
        return NULL;
    return t->slots[find_slot(t, name, len)];
}

static int table_grow(dice_cmdtable_t *t) {
    size_t nc = t->cap ? t->cap * 2 : 256;
    dice_command_t **ns = calloc(nc, sizeof(*ns));
    if (!ns)
        return DICE_ENOMEM;
    dice_cmdtable_t nt = {ns, nc, 0, t->gen + 1, t->retired};
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i]) {
            nt.slots[find_slot(&nt, t->slots[i]->name, t->slots[i]->namelen)] =
                t->slots[i];
            nt.count++;
        }
    free(t->slots);
    *t = nt;
    return 0;
}

/* Removal from linear probing: re-insert the rest of the cluster so no
 * later entry is cut off from its home slot. */
static void table_remove_at(dice_cmdtable_t *t, size_t i) {
    size_t mask = t->cap - 1;
    t->slots[i] = NULL;
    t->count--;
    for (size_t j = (i + 1) & mask; t->slots[j]; j = (j + 1) & mask) {
        dice_command_t *cmd = t->slots[j];
        t->slots[j] = NULL;
        t->slots[find_slot(t, cmd->name, cmd->namelen)] = cmd;
    }
}

static dice_command_t *command_new(const char *name, int arity, unsigned flags,
                                   int first, int last, int step,
                                   dice_command_fn fn, void *arg,
                                   const char *summary) {
    dice_command_t *cmd = calloc(1, sizeof(*cmd));
    if (!cmd)
        return NULL;
    cmd->namelen = strlen(name);
    cmd->name = malloc(cmd->namelen + 1);
    if (!cmd->name) {
        free(cmd);
        return NULL;
    }
    for (size_t i = 0; i <= cmd->namelen; i++)
        cmd->name[i] = (char)fold((unsigned char)name[i]);
    cmd->fullname = cmd->name;
    cmd->arity = arity;
    cmd->flags = flags;
    cmd->first_key = first;
    cmd->last_key = last;
    cmd->key_step = step;
    cmd->fn = fn;
    cmd->arg = arg;
    if (summary && !(cmd->summary = strdup(summary))) {
        command_free(cmd);
        return NULL;
    }
    return cmd;
}

static bool valid_name(const char *name) {
    if (!name || !*name)
        return false;
    for (const char *p = name; *p; p++)
        if (isspace((unsigned char)*p) || *p == '|')
            return false;
    return true;
}

int dice_command_add(dice_server_t *srv, const char *name, int arity,
                     unsigned flags, int first_key, int last_key, int key_step,
                     dice_command_fn fn, void *arg, const char *summary) {
    if (!srv || !valid_name(name) || arity == 0)
        return DICE_EINVAL;
    dice_cmdtable_t *t = &srv->commands;
    if ((t->count + 1) * 2 > t->cap && table_grow(t) < 0)
        return DICE_ENOMEM;
    dice_command_t *cmd = command_new(name, arity, flags, first_key, last_key,
                                      key_step, fn, arg, summary);
    if (!cmd)
        return DICE_ENOMEM;
    size_t i = find_slot(t, cmd->name, cmd->namelen);
    if (t->slots[i]) {
        retire(t, t->slots[i]);
        t->count--;
    }
    t->slots[i] = cmd;
    t->count++;
    t->gen++;
    return 0;
}

int dice_command_add_sub(dice_server_t *srv, const char *parent,
                         const char *name, int arity, unsigned flags,
                         int first_key, int last_key, int key_step,
                         dice_command_fn fn, void *arg, const char *summary) {
    if (!srv || !parent || !valid_name(name) || arity == 0 || !fn)
        return DICE_EINVAL;
    dice_command_t *p =
        dice__cmdtable_find(&srv->commands, parent, strlen(parent));
    if (!p)
        return DICE_ENOENT;
    dice_command_t *cmd = command_new(name, arity, flags, first_key, last_key,
                                      key_step, fn, arg, summary);
    if (!cmd)
        return DICE_ENOMEM;
    size_t flen = p->namelen + 1 + cmd->namelen;
    cmd->fullname = malloc(flen + 1);
    if (!cmd->fullname) {
        cmd->fullname = cmd->name;
        command_free(cmd);
        return DICE_ENOMEM;
    }
    memcpy(cmd->fullname, p->name, p->namelen);
    cmd->fullname[p->namelen] = '|';
    memcpy(cmd->fullname + p->namelen + 1, cmd->name, cmd->namelen + 1);
    cmd->parent = p;
    srv->commands.gen++;
    for (size_t i = 0; i < p->nsubs; i++) {
        if (strcmp(p->subs[i]->name, cmd->name) == 0) {
            /* Detached from its parent, retired like a top-level one. */
            p->subs[i]->parent = NULL;
            retire(&srv->commands, p->subs[i]);
            p->subs[i] = cmd;
            return 0;
        }
    }
    dice_command_t **ns = realloc(p->subs, (p->nsubs + 1) * sizeof(*ns));
    if (!ns) {
        command_free(cmd);
        return DICE_ENOMEM;
    }
    p->subs = ns;
    p->subs[p->nsubs++] = cmd;
    return 0;
}

int dice_command_remove(dice_server_t *srv, const char *name) {
    dice_cmdtable_t *t = &srv->commands;
    if (!name || t->cap == 0)
        return DICE_ENOENT;
    size_t i = find_slot(t, name, strlen(name));
    if (!t->slots[i])
        return DICE_ENOENT;
    retire(t, t->slots[i]);
    table_remove_at(t, i);
    t->gen++;
    return 0;
}

size_t dice_command_count(dice_server_t *srv) {
    return srv->commands.count;
}

dice_command_t *dice__command_find_sub(const dice_command_t *parent,
                                       const char *name, size_t len) {
    for (size_t i = 0; i < parent->nsubs; i++)
        if (name_eq(parent->subs[i], name, len))
            return parent->subs[i];
    return NULL;
}

static bool arity_ok(const dice_command_t *cmd, int argc) {
    return cmd->arity > 0 ? argc == cmd->arity : argc >= -cmd->arity;
}

int dice__reply_arity_error(dice_client_t *c, const dice_command_t *cmd) {
    return dice__reply_errorf(
        c, "ERR wrong number of arguments for '%s' command", cmd->fullname);
}

dice_command_t *dice__command_resolve(dice_client_t *c, int argc,
                                      const char *const *argv,
                                      const size_t *argvlen) {
    const dice_cmdtable_t *t = &c->srv->commands;
    dice_command_t *cmd = c->cmd_cache;
    if (!cmd || c->cmd_cache_gen != t->gen ||
        !name_eq(cmd, argv[0], argvlen[0])) {
        cmd = dice__cmdtable_find(t, argv[0], argvlen[0]);
        c->cmd_cache = cmd;
        c->cmd_cache_gen = t->gen;
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
        return NULL;
    }
    if (cmd->nsubs > 0 && argc >= 2) {
        dice_command_t *sub = dice__command_find_sub(cmd, argv[1], argvlen[1]);
        if (!sub) {
            char upper[64];
            size_t n = cmd->namelen < sizeof(upper) - 1 ? cmd->namelen
                                                        : sizeof(upper) - 1;
            for (size_t i = 0; i < n; i++)
                upper[i] = (char)toupper((unsigned char)cmd->name[i]);
            upper[n] = '\0';
            int sl = argvlen[1] < 128 ? (int)argvlen[1] : 128;
            dice__reply_errorf(c, "ERR unknown subcommand '%.*s'. Try %s HELP.",
                               sl, argv[1], upper);
            return NULL;
        }
        cmd = sub;
    }
    if (!arity_ok(cmd, argc) || !cmd->fn) {
        dice__reply_arity_error(c, cmd);
        return NULL;
    }
    /* Redis checks authentication after the command and its arity. A
     * client stays unauthenticated only while a password is set, so a
     * password removed by CONFIG SET frees it. */
    if (!c->authenticated) {
        bool need = c->srv->cfg.requirepass != NULL;
        dice__client_sync_auth(c);
        if (need && !(cmd->flags & DICE_CMD_NOAUTH)) {
            dice_reply_error(c, "NOAUTH Authentication required.", 31);
            return NULL;
        }
    }
    return cmd;
}

int dice__command_key_positions(const dice_command_t *cmd, int argc, int *pos,
                                int max) {
    if (cmd->first_key <= 0)
        return 0;
    int last = cmd->last_key;
    if (last < 0)
        last = argc + last;
    if (cmd->first_key >= argc || last >= argc)
        return -1;
    int step = cmd->key_step > 0 ? cmd->key_step : 1;
    int n = 0;
    for (int i = cmd->first_key; i <= last && n < max; i += step)
        pos[n++] = i;
    return n;
}

int dice_command_add_entries(dice_server_t *srv, const char *parent,
                             const char *group, const dice_cmd_entry_t *e,
                             size_t n) {
    for (size_t i = 0; i < n; i++) {
        int rc = parent
                     ? dice_command_add_sub(srv, parent, e[i].name, e[i].arity,
                                            e[i].flags, 0, 0, 0, e[i].fn, NULL,
                                            e[i].summary)
                     : dice_command_add(srv, e[i].name, e[i].arity, e[i].flags,
                                        0, 0, 0, e[i].fn, NULL, e[i].summary);
        if (rc < 0)
            return rc;
        char full[64];
        snprintf(full, sizeof(full), "%s%s%s", parent ? parent : "",
                 parent ? "|" : "", e[i].name);
        rc = dice_command_set_doc(srv, full, group, e[i].since, e[i].complexity,
                                  e[i].acl, e[i].tips);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int dice_command_add_builtins(dice_server_t *srv, unsigned mask) {
    int rc = 0;
    if ((mask & DICE_BUILTIN_CONNECTION) &&
        (rc = dice__builtin_connection(srv)) < 0)
        return rc;
    if ((mask & DICE_BUILTIN_SERVER) && (rc = dice__builtin_server(srv)) < 0)
        return rc;
    if ((mask & DICE_BUILTIN_KEYSPACE) && (rc = dice_builtin_keyspace(srv)) < 0)
        return rc;
    return 0;
}
