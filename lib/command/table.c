/* Command table: registration from descriptors and allocation-free,
 * case-insensitive lookup of commands and sub-commands. */
#include "command/command_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a over the case-folded bytes: names are short, and folding while
 * hashing is what lets lookup skip a lowercased copy of argv[0]. */
static uint64_t name_hash(const char *s, size_t len) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= dice__fold((unsigned char)s[i]);
        h *= 1099511628211ULL;
    }
    return h;
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
    if (cmd->hist_own)
        free(cmd->hist);
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
    while (t->slots[i] && !dice__command_name_eq(t->slots[i], name, len))
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
    dice_cmdtable_t nt = {
        ns, nc, 0, t->gen + 1, t->retired, t->next_acl_id, t->nrenamed};
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

/* cmd's name_word and name_fold, from its name (see dice_command). */
static void set_name_words(dice_command_t *cmd) {
    cmd->name_word = cmd->name_fold = 0;
    if (cmd->namelen == 0 || cmd->namelen > 8)
        return;
    char fold[8];
    for (size_t i = 0; i < cmd->namelen; i++)
        fold[i] = (cmd->name[i] >= 'a' && cmd->name[i] <= 'z') ? 0x20 : 0;
    cmd->name_word = dice__name_word(cmd->name, cmd->namelen);
    cmd->name_fold = dice__name_word(fold, cmd->namelen);
}

static dice_command_t *command_new(dice_cmdtable_t *t, const dice__cmd_desc *d,
                                   const char *group) {
    const char *name = d->name;
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
        cmd->name[i] = (char)dice__fold((unsigned char)name[i]);
    set_name_words(cmd);
    cmd->fullname = cmd->name;
    cmd->acl_id = t->next_acl_id++;
    cmd->arity = d->arity;
    cmd->flags = d->flags;
    cmd->first_key = d->first_key;
    cmd->last_key = d->last_key;
    cmd->key_step = d->step;
    cmd->fn = d->fn;
    cmd->arg = (void *)d->arg;
    cmd->group = d->group ? d->group : group;
    cmd->since = d->since;
    cmd->complexity = d->complexity;
    cmd->acl = d->acl;
    cmd->tips = d->tips;
    cmd->getkeys = d->getkeys;
    if (d->summary && !(cmd->summary = strdup(d->summary))) {
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

static int add_top(dice_cmdtable_t *t, const dice__cmd_desc *d,
                   const char *group) {
    if ((t->count + 1) * 2 > t->cap && table_grow(t) < 0)
        return DICE_ENOMEM;
    dice_command_t *cmd = command_new(t, d, group);
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

static int add_sub(dice_cmdtable_t *t, const char *parent,
                   const dice__cmd_desc *d, const char *group) {
    dice_command_t *p = dice__cmdtable_find(t, parent, strlen(parent));
    if (!p)
        return DICE_ENOENT;
    dice_command_t *cmd = command_new(t, d, group);
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
    /* Dispatch tests one flag word: a protected parent's sub-commands are
     * protected too. */
    cmd->flags |= p->flags & DICE_CMD_PROTECTED;
    t->gen++;
    for (size_t i = 0; i < p->nsubs; i++) {
        if (strcmp(p->subs[i]->name, cmd->name) == 0) {
            /* Detached from its parent, retired like a top-level one. */
            p->subs[i]->parent = NULL;
            retire(t, p->subs[i]);
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

int dice__cmdtable_add(dice_cmdtable_t *t, const char *parent,
                       const char *group, const dice__cmd_desc *d) {
    if (!d || !valid_name(d->name) || d->arity == 0)
        return DICE_EINVAL;
    if (!parent)
        return add_top(t, d, group);
    /* A sub-command without a handler could never run. */
    if (!d->fn)
        return DICE_EINVAL;
    return add_sub(t, parent, d, group);
}

/* As Redis's rename-command: only the key commands are dispatched by
 * changes; the command keeps its full name (and its sub-commands theirs),
 * which COMMAND INFO, ACL rules, ACL CAT and the stats show. */
int dice__cmdtable_rename(dice_cmdtable_t *t, const char *name,
                          const char *newname) {
    if (!name || t->cap == 0)
        return DICE_ENOENT;
    size_t i = find_slot(t, name, strlen(name));
    if (!t->slots[i])
        return DICE_ENOENT;
    dice_command_t *cmd = t->slots[i];
    if (!*newname) {
        if (!cmd->renamed)
            t->nrenamed++;
        cmd->renamed = true;
        return dice__cmdtable_remove(t, name);
    }
    if (!valid_name(newname))
        return DICE_EINVAL;
    size_t nl = strlen(newname);
    if (dice__cmdtable_find(t, newname, nl))
        return DICE_EEXIST;
    char *nn = malloc(nl + 1);
    if (!nn)
        return DICE_ENOMEM;
    for (size_t k = 0; k <= nl; k++)
        nn[k] = (char)dice__fold((unsigned char)newname[k]);
    table_remove_at(t, i);
    if (cmd->fullname == cmd->name)
        cmd->fullname = cmd->name; /* the old name, kept */
    else
        free(cmd->name);
    cmd->name = nn;
    cmd->namelen = nl;
    set_name_words(cmd);
    if (!cmd->renamed)
        t->nrenamed++;
    cmd->renamed = true;
    size_t j = find_slot(t, nn, nl);
    t->slots[j] = cmd;
    t->count++;
    t->gen++;
    return 0;
}

static bool fullname_eq(const dice_command_t *cmd, const char *s, size_t n) {
    if (strlen(cmd->fullname) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (cmd->fullname[i] != (char)dice__fold((unsigned char)s[i]))
            return false;
    return true;
}

dice_command_t *dice__cmdtable_find_orig(const dice_cmdtable_t *t,
                                         const char *name, size_t len) {
    dice_command_t *cmd = dice__cmdtable_find(t, name, len);
    if (t->nrenamed == 0 || (cmd && !cmd->renamed))
        return cmd;
    /* Renames are few and this is for ACL rules, not dispatch: scan. */
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i] && t->slots[i]->renamed &&
            fullname_eq(t->slots[i], name, len))
            return t->slots[i];
    for (dice_command_t *r = t->retired; r; r = r->next_retired)
        if (r->renamed && !r->parent && fullname_eq(r, name, len))
            return r;
    return NULL;
}

void dice__cmdtable_visit_removed(const dice_cmdtable_t *t,
                                  void (*fn)(dice_command_t *, void *),
                                  void *arg) {
    if (t->nrenamed == 0)
        return;
    for (dice_command_t *r = t->retired; r; r = r->next_retired)
        if (r->renamed && !r->parent)
            fn(r, arg);
}

int dice__cmdtable_remove(dice_cmdtable_t *t, const char *name) {
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

dice_command_t *dice__command_find_sub(const dice_command_t *parent,
                                       const char *name, size_t len) {
    for (size_t i = 0; i < parent->nsubs; i++)
        if (dice__command_name_eq(parent->subs[i], name, len))
            return parent->subs[i];
    return NULL;
}

dice_command_t *dice__cmdtable_lookup_full(const dice_cmdtable_t *t,
                                           const char *name, size_t len) {
    const char *bar = memchr(name, '|', len);
    if (!bar)
        return dice__cmdtable_find(t, name, len);
    dice_command_t *p = dice__cmdtable_find(t, name, (size_t)(bar - name));
    if (!p)
        return NULL;
    return dice__command_find_sub(p, bar + 1, len - (size_t)(bar - name) - 1);
}

int dice__command_key_positions(const dice_command_t *cmd, int argc,
                                const char *const *argv, const size_t *argvlen,
                                int *pos, int max) {
    if (cmd->getkeys)
        return cmd->getkeys(argc, argv, argvlen, pos, max);
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
