/* The SERVER family: COMMAND (and its introspection sub-commands), INFO,
 * CONFIG, TIME and SHUTDOWN, answering as redis-server 7.0
 * does. Also the command metadata (group, ACL categories, key specs) that
 * COMMAND INFO / DOCS describe. */
#include "commands/commands_internal.h"
#ifdef DICE_WITH_LUA
#include "scripting/scripting_internal.h"
#endif
#include "core/sha1.h"
#include "server/evict.h"

#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define COMPAT_VERSION "7.0.15"

static size_t popcount(unsigned v) {
    size_t n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

/* Tips are stored space-separated; count and emit them as a set. */
static void reply_tips(dice_client_t *c, const char *tips) {
    size_t n = 0;
    for (const char *p = tips; p && *p;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        n++;
        while (*p && *p != ' ')
            p++;
    }
    dice_reply_set(c, n);
    for (const char *p = tips; p && *p;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *s = p;
        while (*p && *p != ' ')
            p++;
        dice_reply_bulk(c, s, (size_t)(p - s));
    }
}

static void reply_keyspec_flags(dice_client_t *c, unsigned flags) {
    dice_reply_set(c, popcount(flags));
    for (unsigned i = 0; dice__keyspec_flag_name(i); i++)
        if (flags & (1u << i))
            dice_reply_simple(c, dice__keyspec_flag_name(i),
                              strlen(dice__keyspec_flag_name(i)));
}

/* One key spec's map, as Redis 7.0's addReplyCommandKeySpecs writes it. */
static void reply_key_spec(dice_client_t *c, const dice__key_spec *ks) {
    dice_reply_map(c, ks->notes ? 4 : 3);
    if (ks->notes) {
        dice_reply_cstr(c, "notes");
        dice_reply_cstr(c, ks->notes);
    }
    dice_reply_cstr(c, "flags");
    reply_keyspec_flags(c, ks->flags);
    dice_reply_cstr(c, "begin_search");
    dice_reply_map(c, 2);
    dice_reply_cstr(c, "type");
    if (ks->bs_type == DICE__BS_INDEX) {
        dice_reply_cstr(c, "index");
        dice_reply_cstr(c, "spec");
        dice_reply_map(c, 1);
        dice_reply_cstr(c, "index");
        dice_reply_int(c, ks->bs_index);
    } else if (ks->bs_type == DICE__BS_KEYWORD) {
        dice_reply_cstr(c, "keyword");
        dice_reply_cstr(c, "spec");
        dice_reply_map(c, 2);
        dice_reply_cstr(c, "keyword");
        dice_reply_cstr(c, ks->bs_keyword);
        dice_reply_cstr(c, "startfrom");
        dice_reply_int(c, ks->bs_index);
    } else {
        dice_reply_cstr(c, "unknown");
        dice_reply_cstr(c, "spec");
        dice_reply_map(c, 0);
    }
    static const char *const fk_names[2][3] = {
        {"lastkey", "keystep", "limit"}, {"keynumidx", "firstkey", "keystep"}};
    dice_reply_cstr(c, "find_keys");
    dice_reply_map(c, 2);
    dice_reply_cstr(c, "type");
    if (ks->fk_type == DICE__FK_UNKNOWN) {
        dice_reply_cstr(c, "unknown");
        dice_reply_cstr(c, "spec");
        dice_reply_map(c, 0);
        return;
    }
    dice_reply_cstr(c, ks->fk_type == DICE__FK_RANGE ? "range" : "keynum");
    dice_reply_cstr(c, "spec");
    dice_reply_map(c, 3);
    for (int i = 0; i < 3; i++) {
        dice_reply_cstr(c, fk_names[ks->fk_type][i]);
        dice_reply_int(c, ks->fk[i]);
    }
}

/* The command's own key specs (Redis's, from its family's table) in
 * *specs, or one derived from first/last/step into *derived: an index
 * begin-search and a range find-keys, the form Redis uses for fixed key
 * positions, with access flags approximated from the command flags (RO access
 * for readonly, RW update for write). */
static int key_specs(const dice_command_t *cmd, dice__key_spec *derived,
                     const dice__key_spec **specs) {
    if (cmd->nkeyspecs > 0) {
        *specs = cmd->keyspecs;
        return cmd->nkeyspecs;
    }
    if (cmd->first_key <= 0)
        return 0;
    unsigned fl = 0;
    if (cmd->flags & DICE_CMD_WRITE)
        fl = DICE__KS_RW | DICE__KS_UPDATE;
    else if (cmd->flags & DICE_CMD_READONLY)
        fl = DICE__KS_RO | DICE__KS_ACCESS;
    else if (cmd->flags & DICE_CMD_PUBSUB)
        /* The shard channels of SSUBSCRIBE and friends: positions Redis
         * routes by, which are not keys. */
        fl = DICE__KS_NOT_KEY;
    dice__key_spec ks = DICE__KS_RANGE(
        fl, cmd->first_key,
        cmd->last_key < 0 ? cmd->last_key : cmd->last_key - cmd->first_key,
        cmd->key_step > 0 ? cmd->key_step : 1, 0);
    *derived = ks;
    *specs = derived;
    return 1;
}

static void reply_key_specs(dice_client_t *c, const dice_command_t *cmd) {
    dice__key_spec derived;
    const dice__key_spec *specs;
    int n = key_specs(cmd, &derived, &specs);
    dice_reply_set(c, (size_t)n);
    for (int i = 0; i < n; i++)
        reply_key_spec(c, &specs[i]);
}

/* COMMAND INFO's 10-element entry. */
static void reply_command_info(dice_client_t *c, const dice_command_t *cmd) {
    dice_reply_array(c, 10);
    dice_reply_cstr(c, cmd->fullname);
    dice_reply_int(c, cmd->arity);
    unsigned f = 0, bit;
    const char *fname;
    for (unsigned i = 0; dice__command_flag_at(i, &bit); i++)
        f |= cmd->flags & (1u << bit);
    dice_reply_set(c, popcount(f));
    for (unsigned i = 0; (fname = dice__command_flag_at(i, &bit)); i++)
        if (f & (1u << bit))
            dice_reply_simple(c, fname, strlen(fname));
    dice_reply_int(c, cmd->first_key);
    dice_reply_int(c, cmd->last_key);
    dice_reply_int(c, cmd->key_step);
    unsigned a = dice__command_acl(cmd);
    dice_reply_set(c, popcount(a));
    for (unsigned i = 0; dice__acl_category_name(i); i++) {
        if (a & (1u << i)) {
            char cat[32];
            int n =
                snprintf(cat, sizeof(cat), "@%s", dice__acl_category_name(i));
            dice_reply_simple(c, cat, (size_t)n);
        }
    }
    reply_tips(c, cmd->tips);
    reply_key_specs(c, cmd);
    if (cmd->nsubs == 0) {
        dice_reply_set(c, 0);
        return;
    }
    dice_reply_array(c, cmd->nsubs);
    for (size_t i = 0; i < cmd->nsubs; i++)
        reply_command_info(c, cmd->subs[i]);
}

/* COMMAND DOCS's map for one command: the fields we know. A command with
 * no group (registered by a host) is reported in Redis's "module" group,
 * which is what it is to a client: not one of Redis's own. */
static void reply_command_docs(dice_client_t *c, const dice_command_t *cmd) {
    size_t n =
        2 + (cmd->since != NULL) + (cmd->complexity != NULL) + (cmd->nsubs > 0);
    dice_reply_map(c, n);
    dice_reply_cstr(c, "summary");
    dice_reply_cstr(c, cmd->summary ? cmd->summary : "");
    if (cmd->since) {
        dice_reply_cstr(c, "since");
        dice_reply_cstr(c, cmd->since);
    }
    dice_reply_cstr(c, "group");
    dice_reply_cstr(c, cmd->group ? cmd->group : "module");
    if (cmd->complexity) {
        dice_reply_cstr(c, "complexity");
        dice_reply_cstr(c, cmd->complexity);
    }
    if (cmd->nsubs > 0) {
        dice_reply_cstr(c, "subcommands");
        dice_reply_map(c, cmd->nsubs);
        for (size_t i = 0; i < cmd->nsubs; i++) {
            dice_reply_cstr(c, cmd->subs[i]->fullname);
            reply_command_docs(c, cmd->subs[i]);
        }
    }
}

/* ---- COMMAND ------------------------------------------------------------ */

static DICE__CMD_FN(cmd_command) {
    const dice_cmdtable_t *t = &c->srv->commands;
    dice_reply_array(c, t->count);
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i])
            reply_command_info(c, t->slots[i]);
}

static DICE__CMD_FN(cmd_command_count) {
    dice_reply_int(c, (long long)c->srv->commands.count);
}

static DICE__CMD_FN(cmd_command_info) {
    if (argc == 2) {
        cmd_command(c, argc, argv, argvlen, arg);
        return;
    }
    dice_reply_array(c, (size_t)(argc - 2));
    for (int i = 2; i < argc; i++) {
        dice_command_t *cmd =
            dice__cmdtable_lookup_full(&c->srv->commands, argv[i], argvlen[i]);
        if (cmd)
            reply_command_info(c, cmd);
        else
            dice_reply_null(c);
    }
}

static DICE__CMD_FN(cmd_command_docs) {
    const dice_cmdtable_t *t = &c->srv->commands;
    if (argc == 2) {
        dice_reply_map(c, t->count);
        for (size_t i = 0; i < t->cap; i++) {
            if (t->slots[i]) {
                dice_reply_cstr(c, t->slots[i]->fullname);
                reply_command_docs(c, t->slots[i]);
            }
        }
        return;
    }
    /* Unknown names are left out, so count first. */
    size_t n = 0;
    for (int i = 2; i < argc; i++)
        if (dice__cmdtable_lookup_full(&c->srv->commands, argv[i], argvlen[i]))
            n++;
    dice_reply_map(c, n);
    for (int i = 2; i < argc; i++) {
        dice_command_t *cmd =
            dice__cmdtable_lookup_full(&c->srv->commands, argv[i], argvlen[i]);
        if (cmd) {
            dice_reply_cstr(c, cmd->fullname);
            reply_command_docs(c, cmd);
        }
    }
}

enum { FILTER_NONE, FILTER_MODULE, FILTER_ACLCAT, FILTER_PATTERN };

static bool list_match(const dice_command_t *cmd, int kind, const char *v,
                       size_t vlen) {
    switch (kind) {
    case FILTER_MODULE:
        return false; /* no command here comes from a Redis module */
    case FILTER_ACLCAT: {
        unsigned a = dice__command_acl(cmd);
        for (unsigned i = 0; dice__acl_category_name(i); i++)
            if ((a & (1u << i)) &&
                dice__eqci(v, vlen, dice__acl_category_name(i)))
                return true;
        return false;
    }
    case FILTER_PATTERN:
        return dice_glob_match(v, vlen, cmd->fullname, strlen(cmd->fullname),
                               1) != 0;
    default: return true;
    }
}

static DICE__CMD_FN(cmd_command_list) {
    int kind = FILTER_NONE;
    const char *v = NULL;
    size_t vlen = 0;
    if (argc == 5 && dice__eqci(argv[2], argvlen[2], "filterby")) {
        if (dice__eqci(argv[3], argvlen[3], "module"))
            kind = FILTER_MODULE;
        else if (dice__eqci(argv[3], argvlen[3], "aclcat"))
            kind = FILTER_ACLCAT;
        else if (dice__eqci(argv[3], argvlen[3], "pattern"))
            kind = FILTER_PATTERN;
        v = argv[4];
        vlen = argvlen[4];
    }
    if (argc != 2 && kind == FILTER_NONE) {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return;
    }
    /* Two passes (count, then reply) keep this allocation-free. */
    const dice_cmdtable_t *t = &c->srv->commands;
    for (int pass = 0; pass < 2; pass++) {
        size_t n = 0;
        for (size_t i = 0; i < t->cap; i++) {
            const dice_command_t *cmd = t->slots[i];
            if (!cmd)
                continue;
            if (list_match(cmd, kind, v, vlen)) {
                if (pass)
                    dice_reply_cstr(c, cmd->fullname);
                n++;
            }
            for (size_t j = 0; j < cmd->nsubs; j++) {
                if (list_match(cmd->subs[j], kind, v, vlen)) {
                    if (pass)
                        dice_reply_cstr(c, cmd->subs[j]->fullname);
                    n++;
                }
            }
        }
        if (!pass)
            dice_reply_array(c, n);
    }
}

/* Keys of a call found by walking its key specs, as Redis 7.0's
 * getKeysUsingKeySpecs: positions into pos and each key's spec flags into
 * flags (at most max). Returns how many, or -1 when a spec cannot be
 * followed (an unknown or incomplete one, or a range past the arguments),
 * for the caller to fall back on the command's own key function; with
 * partial, such a spec is skipped instead. */
static int keys_by_specs(const dice__key_spec *specs, int nspecs, int argc,
                         const char *const *argv, const size_t *argvlen,
                         int *pos, unsigned *flags, int max, int partial) {
    int n = 0;
    for (int j = 0; j < nspecs; j++) {
        const dice__key_spec *ks = &specs[j];
        if (ks->flags & DICE__KS_NOT_KEY)
            continue;
        if (ks->flags & DICE__KS_INCOMPLETE) {
            if (partial)
                continue;
            return -1;
        }
        int first = 0;
        if (ks->bs_type == DICE__BS_INDEX) {
            first = ks->bs_index;
        } else if (ks->bs_type == DICE__BS_KEYWORD) {
            /* Forward from startfrom, or backward from argc+startfrom. */
            int from = ks->bs_index > 0 ? ks->bs_index : argc + ks->bs_index;
            int to = ks->bs_index > 0 ? argc - 1 : 0;
            for (int i = from; i != to; i += from <= to ? 1 : -1) {
                if (i >= argc || i < 1)
                    break;
                if (dice__opt_is(argv[i], argvlen[i], ks->bs_keyword)) {
                    first = i + 1;
                    break;
                }
            }
            if (!first)
                continue;
        } else {
            {
                if (partial)
                    continue;
                return -1;
            }
        }
        int last, step;
        if (ks->fk_type == DICE__FK_RANGE) {
            step = ks->fk[1];
            if (ks->fk[0] >= 0)
                last = first + ks->fk[0];
            else if (!ks->fk[2])
                last = argc + ks->fk[0];
            else
                last = first + ((argc - first) / ks->fk[2] + ks->fk[0]);
        } else if (ks->fk_type == DICE__FK_KEYNUM) {
            step = ks->fk[2];
            long long nk;
            if (ks->fk[0] >= argc || first + ks->fk[0] >= argc ||
                !dice__str2ll(argv[first + ks->fk[0]],
                              argvlen[first + ks->fk[0]], &nk) ||
                nk < 0 || nk > argc) {
                if (partial)
                    continue;
                return -1;
            }
            first += ks->fk[1];
            last = first + (int)nk - 1;
        } else {
            {
                if (partial)
                    continue;
                return -1;
            }
        }
        if (last >= argc || last < first || first >= argc) {
            if (partial)
                continue;
            return -1;
        }
        for (int i = first; i <= last; i += step > 0 ? step : 1) {
            if (n == max)
                return n;
            pos[n] = i;
            flags[n++] = ks->flags;
        }
    }
    return n;
}

/* The flags of a key found by the command's own key function: what
 * Redis's key functions say for the commands whose specs have
 * variable_flags (SET with or without GET, BITFIELD with or without a
 * write), else the specs' flags. */
static unsigned variable_key_flags(const dice_command_t *cmd, int argc,
                                   const char *const *argv,
                                   const size_t *argvlen,
                                   const dice__key_spec *specs, int nspecs) {
    if (strcmp(cmd->fullname, "set") == 0) {
        for (int i = 3; i < argc; i++)
            if (dice__opt_is(argv[i], argvlen[i], "get"))
                return DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_UPDATE;
        return DICE__KS_OW | DICE__KS_UPDATE;
    }
    if (strcmp(cmd->fullname, "bitfield") == 0) {
        for (int i = 2; i < argc; i++) {
            int rest = argc - i - 1;
            if (dice__opt_is(argv[i], argvlen[i], "get") && rest >= 2)
                i += 2;
            else if (dice__opt_is(argv[i], argvlen[i], "overflow") && rest >= 1)
                i += 1;
            else /* a write, or a syntax error: not read-only */
                return DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_UPDATE;
        }
        return DICE__KS_RO | DICE__KS_ACCESS;
    }
    return nspecs > 0 ? specs[0].flags & ~DICE__KS_VARIABLE_FLAGS : 0;
}

/* Flags for the keys the command's key function found when its specs
 * could not be followed (SORT's STORE is an "unknown" spec): a key some
 * followable spec finds has that spec's flags, the others those of the
 * last spec that cannot be followed (the destination, listed last), as
 * Redis's key functions give them (sortGetKeys: RO access, then the
 * STORE key OW update). */
static void fallback_flags(const dice_command_t *cmd, int argc,
                           const char *const *argv, const size_t *argvlen,
                           const dice__key_spec *specs, int nspecs,
                           const int *pos, unsigned *flags, int n) {
    unsigned all = 0;
    for (int i = 0; i < nspecs; i++)
        all |= specs[i].flags;
    if (all & DICE__KS_VARIABLE_FLAGS) {
        unsigned f =
            variable_key_flags(cmd, argc, argv, argvlen, specs, nspecs);
        for (int i = 0; i < n; i++)
            flags[i] = f;
        return;
    }
    unsigned other = 0;
    for (int i = nspecs - 1; i >= 0; i--)
        if (specs[i].bs_type == DICE__BS_UNKNOWN ||
            specs[i].fk_type == DICE__FK_UNKNOWN ||
            (specs[i].flags & DICE__KS_INCOMPLETE)) {
            other = specs[i].flags & ~DICE__KS_INCOMPLETE;
            break;
        }
    int spos[64];
    unsigned sfl[64];
    int sn =
        keys_by_specs(specs, nspecs, argc, argv, argvlen, spos, sfl, 64, 1);
    for (int i = 0; i < n; i++) {
        flags[i] = other;
        for (int j = 0; j < sn; j++)
            if (spos[j] == pos[i]) {
                flags[i] = sfl[j];
                break;
            }
    }
}

/* COMMAND GETKEYS / GETKEYSANDFLAGS: Redis's commandGetKeys. */
static void getkeys(dice_client_t *c, int argc, const char *const *argv,
                    const size_t *argvlen, int with_flags) {
    int cargc = argc - 2;
    const char *const *cargv = argv + 2;
    const size_t *clen = argvlen + 2;
    dice_command_t *cmd =
        dice__cmdtable_find(&c->srv->commands, cargv[0], clen[0]);
    if (cmd && cmd->nsubs > 0 && cargc >= 2)
        cmd = dice__command_find_sub(cmd, cargv[1], clen[1]);
    if (!cmd) {
        dice__reply_errstr(c, "ERR Invalid command specified");
        return;
    }
    dice__key_spec derived;
    const dice__key_spec *specs;
    int nspecs = key_specs(cmd, &derived, &specs);
    unsigned all = 0;
    int some_key = 0;
    for (int i = 0; i < nspecs; i++) {
        all |= specs[i].flags;
        some_key |= !(specs[i].flags & DICE__KS_NOT_KEY);
    }
    /* Redis's doesCommandHaveKeys: a key function, or a spec that is not
     * not_key (SSUBSCRIBE's shard channels are not keys). */
    if (!cmd->getkeys && !some_key) {
        dice__reply_errstr(c, "ERR The command has no key arguments");
        return;
    }
    if ((cmd->arity > 0 && cmd->arity != cargc) || cargc < -cmd->arity) {
        dice__reply_errstr(
            c, "ERR Invalid number of arguments specified for command");
        return;
    }
    /* Redis prefers the key specs when some are keys and none has
     * variable flags; else, or when they cannot be followed, the
     * command's key function. */
    int pos[64];
    unsigned flags[64];
    int n = -1;
    if (some_key && !(all & DICE__KS_VARIABLE_FLAGS))
        n = keys_by_specs(specs, nspecs, cargc, cargv, clen, pos, flags, 64, 0);
    /* Redis falls back only to a key function; specs that cannot be
     * followed (PFMERGE k0: its source range is empty) make no keys;
     * SET and BITFIELD (variable flags) have key functions in Redis. */
    if (n < 0 &&
        (cmd->getkeys || !some_key || (all & DICE__KS_VARIABLE_FLAGS))) {
        n = dice__command_key_positions(cmd, cargc, cargv, clen, pos, 64);
        fallback_flags(cmd, cargc, cargv, clen, specs, nspecs, pos, flags, n);
    }
    if (n <= 0 && (cmd->flags & DICE_CMD_NO_MANDATORY_KEYS)) {
        dice_reply_array(c, 0); /* EVAL with numkeys 0 names no key */
        return;
    }
    if (n <= 0) {
        dice__reply_errstr(c, "ERR Invalid arguments specified for command");
        return;
    }
    if (n < 64) {
        dice_reply_array(c, (size_t)n);
        for (int i = 0; i < n; i++) {
            if (with_flags)
                dice_reply_array(c, 2);
            dice_reply_bulk(c, cargv[pos[i]], clen[pos[i]]);
            if (with_flags)
                reply_keyspec_flags(c, flags[i]);
        }
        return;
    }
    /* Many keys: walk the same rule without a fixed array (commands with
     * fixed positions: MSET, DEL...; their one spec's flags). */
    int last = cmd->last_key < 0 ? cargc + cmd->last_key : cmd->last_key;
    int step = cmd->key_step > 0 ? cmd->key_step : 1;
    size_t cnt = 0;
    for (int i = cmd->first_key; i <= last; i += step)
        cnt++;
    dice_reply_array(c, cnt);
    for (int i = cmd->first_key; i <= last; i += step) {
        if (with_flags)
            dice_reply_array(c, 2);
        dice_reply_bulk(c, cargv[i], clen[i]);
        if (with_flags)
            reply_keyspec_flags(c, flags[0]);
    }
}

/* COMMAND GETKEYS command [arg ...] */
static DICE__CMD_FN(cmd_command_getkeys) {
    getkeys(c, argc, argv, argvlen, 0);
}

/* COMMAND GETKEYSANDFLAGS command [arg ...] */
static DICE__CMD_FN(cmd_command_getkeysandflags) {
    getkeys(c, argc, argv, argvlen, 1);
}

static const char *const command_help[] = {
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Describe every command, as COMMAND INFO does.",
    "COUNT",
    "    Reply with the number of commands.",
    "LIST [FILTERBY (MODULE <name>|ACLCAT <category>|PATTERN <glob>)]",
    "    Reply with the names of the commands and sub-commands.",
    "INFO [<command-name> ...]",
    "    Describe the named commands (every command when none is named).",
    "DOCS [<command-name> ...]",
    "    Reply with the documentation of the named commands (or all).",
    "GETKEYS <full-command>",
    "    Reply with the keys the given command line would access.",
    "GETKEYSANDFLAGS <full-command>",
    "    Reply with the keys the given command line would access, each with "
    "its flags.",
    "HELP",
    "    Print this help.",
};

static DICE__CMD_FN(cmd_command_help) {
    dice__reply_help(c, command_help,
                     sizeof(command_help) / sizeof(command_help[0]));
}

/* ---- INFO --------------------------------------------------------------- */

enum {
    SEC_SERVER = 1u << 0,
    SEC_CLIENTS = 1u << 1,
    SEC_MEMORY = 1u << 2,
    SEC_PERSISTENCE = 1u << 3,
    SEC_STATS = 1u << 4,
    SEC_REPLICATION = 1u << 5,
    SEC_CPU = 1u << 6,
    SEC_MODULES = 1u << 7,
    SEC_COMMANDSTATS = 1u << 8,
    SEC_ERRORSTATS = 1u << 9,
    SEC_CLUSTER = 1u << 10,
    SEC_KEYSPACE = 1u << 11,
    SEC_LATENCYSTATS = 1u << 12,
    SEC_DEFAULT = SEC_SERVER | SEC_CLIENTS | SEC_MEMORY | SEC_PERSISTENCE |
                  SEC_STATS | SEC_REPLICATION | SEC_CPU | SEC_MODULES |
                  SEC_ERRORSTATS | SEC_CLUSTER | SEC_KEYSPACE,
    SEC_ALL = SEC_DEFAULT | SEC_COMMANDSTATS | SEC_LATENCYSTATS
};

static const struct {
    const char *name;
    unsigned bit;
} sections[] = {{"server", SEC_SERVER},
                {"clients", SEC_CLIENTS},
                {"memory", SEC_MEMORY},
                {"persistence", SEC_PERSISTENCE},
                {"stats", SEC_STATS},
                {"replication", SEC_REPLICATION},
                {"cpu", SEC_CPU},
                {"modules", SEC_MODULES},
                {"commandstats", SEC_COMMANDSTATS},
                {"errorstats", SEC_ERRORSTATS},
                {"latencystats", SEC_LATENCYSTATS},
                {"cluster", SEC_CLUSTER},
                {"keyspace", SEC_KEYSPACE}};

/* Redis's bytesToHuman: B, then K/M/G/T/P with two decimals. */
static void bytes_human(char *out, size_t size, unsigned long long n) {
    static const char units[] = "KMGTP";
    if (n < 1024) {
        snprintf(out, size, "%lluB", n);
        return;
    }
    double d = (double)n / 1024;
    size_t u = 0;
    while (d >= 1024 && u + 1 < sizeof(units) - 1) {
        d /= 1024;
        u++;
    }
    snprintf(out, size, "%.2f%c", d, units[u]);
}

static unsigned long long rss_memory(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%llu %llu", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (unsigned long long)sysconf(_SC_PAGESIZE);
}

/* A stable 40-hex-digit id for this server object (run_id, replid):
 * Redis draws them at random; a mix of start time and pid serves. */
static void server_hex_id(dice_server_t *srv, unsigned salt, char out[41]) {
    uint64_t x = (uint64_t)srv->start_unix_ms * 0x9E3779B97F4A7C15ULL ^
                 ((uint64_t)getpid() << 32) ^ salt;
    for (int i = 0; i < 40; i++) {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
        x ^= x >> 29;
        out[i] = "0123456789abcdef"[x & 15];
    }
    out[40] = '\0';
}

static void info_server(dice_server_t *srv, dice_buf_t *b) {
    struct utsname un;
    if (uname(&un) < 0)
        memset(&un, 0, sizeof(un));
    char exe[512] = "";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = '\0';
    char runid[41];
    server_hex_id(srv, 1, runid);
    uint64_t up = (dice_loop_now_ms(srv->loop) - srv->start_ms) / 1000;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int hz = srv->cfg.hz;
    /* The command clock (lib/server/server_internal.h), named as Redis
     * names its monotonic clocks. */
    char clock_name[64];
#if defined(__x86_64__) || defined(__i386__)
    snprintf(clock_name, sizeof(clock_name), "X86 TSC @ %llu ticks/us",
             (unsigned long long)(((uint64_t)1000 << DICE__NS_SHIFT) /
                                  srv->intro.ns_mult));
#elif defined(__aarch64__)
    snprintf(clock_name, sizeof(clock_name), "ARM CNTVCT @ %llu ticks/us",
             (unsigned long long)(((uint64_t)1000 << DICE__NS_SHIFT) /
                                  srv->intro.ns_mult));
#else
    snprintf(clock_name, sizeof(clock_name), "POSIX clock_gettime");
#endif
    dice__buf_printf(b,
                     "# Server\r\n"
                     "redis_version:" COMPAT_VERSION "\r\n"
                     "redis_git_sha1:00000000\r\n"
                     "redis_git_dirty:0\r\n"
                     "redis_build_id:0\r\n"
                     "redis_mode:standalone\r\n"
                     "os:%s %s %s\r\n"
                     "arch_bits:%d\r\n"
                     "monotonic_clock:%s\r\n"
                     "multiplexing_api:epoll\r\n"
                     "atomicvar_api:c11-builtin\r\n"
                     "gcc_version:%d.%d.%d\r\n"
                     "process_id:%ld\r\n"
                     "process_supervised:no\r\n"
                     "run_id:%s\r\n"
                     "tcp_port:%d\r\n"
                     "server_time_usec:%lld\r\n"
                     "uptime_in_seconds:%llu\r\n"
                     "uptime_in_days:%llu\r\n"
                     "hz:%d\r\n"
                     "configured_hz:%d\r\n"
                     "lru_clock:%llu\r\n"
                     "executable:%s\r\n"
                     "config_file:%s\r\n"
                     "io_threads_active:0\r\n"
                     "dice_version:%s\r\n"
                     "dice_tls:%s\r\n",
                     un.sysname, un.release, un.machine,
                     (int)(sizeof(void *) * 8), clock_name,
#ifdef __GNUC__
                     __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__,
#else
                     0, 0, 0,
#endif
                     (long)getpid(), runid, srv->cfg.port,
                     (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000,
                     (unsigned long long)up, (unsigned long long)(up / 86400),
                     hz, hz, (unsigned long long)(ts.tv_sec & ((1 << 24) - 1)),
                     exe, srv->config_file ? srv->config_file : "",
                     dice_version_string(),
                     dice__tls_available() ? "yes" : "no");
}

static void info_clients(dice_server_t *srv, dice_buf_t *b) {
    size_t connected = 0, blocked = 0, max_in = 0, max_out = 0;
    unsigned long long trk[4];
    dice__tracking_stats(srv, trk);
    for (dice_client_t *cl = srv->clients; cl; cl = cl->next) {
        if (cl->flags & CLIENT_CLOSED)
            continue;
        connected++;
        if (cl->flags & (CLIENT_HELD | CLIENT_BLOCKED))
            blocked++;
        /* The largest now, with the largest of the last seconds below
         * (Redis's clientsCron samples every client each second). */
        if (cl->qcap > max_in)
            max_in = cl->qcap;
        if (cl->out.cap > max_out)
            max_out = cl->out.cap;
    }
    size_t pin, pout;
    dice__client_peaks(srv, &pin, &pout);
    if (pin > max_in)
        max_in = pin;
    if (pout > max_out)
        max_out = pout;
    dice__buf_printf(b,
                     "# Clients\r\n"
                     "connected_clients:%zu\r\n"
                     "cluster_connections:0\r\n"
                     "maxclients:%zu\r\n"
                     "client_recent_max_input_buffer:%zu\r\n"
                     "client_recent_max_output_buffer:%zu\r\n"
                     "blocked_clients:%zu\r\n"
                     "tracking_clients:%llu\r\n"
                     "clients_in_timeout_table:0\r\n",
                     connected, dice__server_effective_maxclients(srv), max_in,
                     max_out, blocked, trk[0]);
}

/* Redis 7.0's memory section, from what the allocator holds (the host's
 * counter or mallinfo2: lib/server/evict.c) and the kernel's resident
 * size; no replication, AOF buffers or cluster links, so those are 0.
 * (Lua's figures are the scripting layer's, not shown here.) */
static void info_memory(dice_server_t *srv, dice_buf_t *b) {
    unsigned long long used = dice__server_used_memory(srv), rss = rss_memory();
    if (used > srv->info_mem_peak)
        srv->info_mem_peak = used;
    unsigned long long peak = srv->info_mem_peak;
    unsigned long long startup =
        srv->mem_startup < used ? srv->mem_startup : used;
    unsigned long long clients = 0;
    for (dice_client_t *cl = srv->clients; cl; cl = cl->next)
        clients += sizeof(*cl) + cl->qcap + cl->out.cap;
    unsigned long long overhead = startup + clients;
    if (overhead > used)
        overhead = used;
    unsigned long long dataset = used - overhead;
    struct mallinfo2 mi = mallinfo2();
    unsigned long long active = (unsigned long long)(mi.arena + mi.hblkhd);
    if (active < used)
        active = used;
    char h_used[32], h_rss[32], h_peak[32], h_sys[32], h_max[32];
    unsigned long long sys = (unsigned long long)sysconf(_SC_PHYS_PAGES) *
                             (unsigned long long)sysconf(_SC_PAGESIZE);
    unsigned long long maxmem = (unsigned long long)srv->cfg.maxmemory;
    bytes_human(h_used, sizeof(h_used), used);
    bytes_human(h_rss, sizeof(h_rss), rss);
    bytes_human(h_peak, sizeof(h_peak), peak);
    bytes_human(h_sys, sizeof(h_sys), sys);
    bytes_human(h_max, sizeof(h_max), maxmem);
    double net = used > startup ? (double)(used - startup) : 0;
    dice__buf_printf(b,
                     "# Memory\r\n"
                     "used_memory:%llu\r\n"
                     "used_memory_human:%s\r\n"
                     "used_memory_rss:%llu\r\n"
                     "used_memory_rss_human:%s\r\n"
                     "used_memory_peak:%llu\r\n"
                     "used_memory_peak_human:%s\r\n"
                     "used_memory_peak_perc:%.2f%%\r\n"
                     "used_memory_overhead:%llu\r\n"
                     "used_memory_startup:%llu\r\n"
                     "used_memory_dataset:%llu\r\n"
                     "used_memory_dataset_perc:%.2f%%\r\n"
                     "allocator_allocated:%llu\r\n"
                     "allocator_active:%llu\r\n"
                     "allocator_resident:%llu\r\n"
                     "total_system_memory:%llu\r\n"
                     "total_system_memory_human:%s\r\n",
                     used, h_used, rss, h_rss, peak, h_peak,
                     peak ? (double)used * 100 / (double)peak : 0.0, overhead,
                     startup, dataset,
                     net > 0 ? (double)dataset * 100 / net : 0.0, used, active,
                     rss, sys, h_sys);
    /* The scripting fields (Redis 7.0's, where Redis puts them). */
#ifdef DICE_WITH_LUA
    dice__scripting_info(srv, b);
#endif
    dice__buf_printf(
        b,
        "maxmemory:%llu\r\n"
        "maxmemory_human:%s\r\n"
        "maxmemory_policy:%s\r\n"
        "allocator_frag_ratio:%.2f\r\n"
        "allocator_frag_bytes:%llu\r\n"
        "allocator_rss_ratio:%.2f\r\n"
        "allocator_rss_bytes:%lld\r\n"
        "rss_overhead_ratio:1.00\r\n"
        "rss_overhead_bytes:0\r\n"
        "mem_fragmentation_ratio:%.2f\r\n"
        "mem_fragmentation_bytes:%lld\r\n"
        "mem_not_counted_for_evict:0\r\n"
        "mem_replication_backlog:0\r\n"
        "mem_total_replication_buffers:0\r\n"
        "mem_clients_slaves:0\r\n"
        "mem_clients_normal:%llu\r\n"
        "mem_cluster_links:0\r\n"
        "mem_aof_buffer:0\r\n"
        "mem_allocator:libc\r\n"
        "active_defrag_running:0\r\n"
        "lazyfree_pending_objects:%zu\r\n"
        "lazyfreed_objects:%llu\r\n",
        maxmem, h_max, dice__evict_policy_name(srv->cfg.maxmemory_policy),
        used ? (double)active / (double)used : 0.0, active - used,
        active ? (double)rss / (double)active : 0.0,
        (long long)rss - (long long)active,
        used ? (double)rss / (double)used : 0.0,
        (long long)rss - (long long)used, clients, dice__lazyfree_pending(srv),
        (unsigned long long)dice__lazyfree_freed(srv));
}

static void info_persistence(dice_server_t *srv, dice_buf_t *b) {
    dice__buf_printf(b, "# Persistence\r\n");
    dice__rdb_info(srv, b);
    dice__aof_info(srv, b);
    dice__rdb_loading_info(srv, b);
}

/* Every command run counts one call of its command. */
static unsigned long long commands_processed(dice_server_t *srv) {
    unsigned long long n = 0;
    const dice_cmdtable_t *t = &srv->commands;
    for (size_t i = 0; i < t->cap; i++) {
        const dice_command_t *cmd = t->slots[i];
        if (!cmd)
            continue;
        n += cmd->calls;
        for (size_t j = 0; j < cmd->nsubs; j++)
            n += cmd->subs[j]->calls;
    }
    return n;
}

static void info_stats(dice_server_t *srv, dice_buf_t *b) {
    const dice_stats_t *s = &srv->stats;
    dice__buf_printf(b,
                     "# Stats\r\n"
                     "total_connections_received:%llu\r\n"
                     "total_commands_processed:%llu\r\n"
                     "instantaneous_ops_per_sec:0\r\n"
                     "total_net_input_bytes:%llu\r\n"
                     "total_net_output_bytes:%llu\r\n"
                     "total_net_repl_input_bytes:0\r\n"
                     "total_net_repl_output_bytes:0\r\n"
                     "instantaneous_input_kbps:0.00\r\n"
                     "instantaneous_output_kbps:0.00\r\n"
                     "instantaneous_input_repl_kbps:0.00\r\n"
                     "instantaneous_output_repl_kbps:0.00\r\n"
                     "rejected_connections:%llu\r\n"
                     "sync_full:0\r\n"
                     "sync_partial_ok:0\r\n"
                     "sync_partial_err:0\r\n",
                     (unsigned long long)s->connections_received,
                     (unsigned long long)commands_processed(srv),
                     (unsigned long long)s->net_input_bytes,
                     (unsigned long long)s->net_output_bytes,
                     (unsigned long long)s->rejected_connections);
    uint64_t expired = 0, hits = 0, misses = 0;
    unsigned long long ev_keys, ev_total, ev_cur;
    dice__evict_stats(srv, &ev_keys, &ev_total, &ev_cur);
    if (srv->keyspace)
        dice_keyspace_stats(srv->keyspace, &expired, &hits, &misses);
    dice__buf_printf(b,
                     "expired_keys:%llu\r\n"
                     "expired_stale_perc:0.00\r\n"
                     "expired_time_cap_reached_count:0\r\n"
                     "expire_cycle_cpu_milliseconds:0\r\n"
                     "evicted_keys:%llu\r\n"
                     "evicted_clients:%llu\r\n"
                     "total_eviction_exceeded_time:%llu\r\n"
                     "current_eviction_exceeded_time:%llu\r\n"
                     "keyspace_hits:%llu\r\n"
                     "keyspace_misses:%llu\r\n",
                     (unsigned long long)expired, ev_keys, srv->evicted_clients,
                     ev_total, ev_cur, (unsigned long long)hits,
                     (unsigned long long)misses);
    unsigned long long trk[4];
    dice__tracking_stats(srv, trk);
    dice__buf_printf(b,
                     "pubsub_channels:0\r\n"
                     "pubsub_patterns:0\r\n"
                     "pubsubshard_channels:0\r\n"
                     "latest_fork_usec:0\r\n"
                     "total_forks:0\r\n"
                     "migrate_cached_sockets:0\r\n"
                     "slave_expires_tracked_keys:0\r\n"
                     "active_defrag_hits:0\r\n"
                     "active_defrag_misses:0\r\n"
                     "active_defrag_key_hits:0\r\n"
                     "active_defrag_key_misses:0\r\n"
                     "total_active_defrag_time:0\r\n"
                     "current_active_defrag_time:0\r\n"
                     "tracking_total_keys:%llu\r\n"
                     "tracking_total_items:%llu\r\n"
                     "tracking_total_prefixes:%llu\r\n"
                     "unexpected_error_replies:%llu\r\n"
                     "total_error_replies:%llu\r\n"
                     "dump_payload_sanitizations:0\r\n"
                     "total_reads_processed:%llu\r\n"
                     "total_writes_processed:%llu\r\n"
                     "io_threaded_reads_processed:0\r\n"
                     "io_threaded_writes_processed:0\r\n"
                     "reply_buffer_shrinks:0\r\n"
                     "reply_buffer_expands:0\r\n",
                     trk[1], trk[2], trk[3],
                     (unsigned long long)s->unexpected_errors,
                     (unsigned long long)srv->intro.error_replies,
                     (unsigned long long)s->reads_processed,
                     (unsigned long long)s->writes_processed);
}

/* One "dbN:keys=..,expires=..,avg_ttl=.." line per non-empty database. */
static void info_keyspace(dice_server_t *srv, dice_buf_t *b) {
    if (!srv->keyspace)
        return;
    int n = dice_keyspace_ndbs(srv->keyspace);
    for (int i = 0; i < n; i++) {
        dice_db_t *db = dice_keyspace_db(srv->keyspace, i);
        size_t keys = dice_db_size(db);
        if (keys == 0)
            continue;
        dice__buf_printf(b, "db%d:keys=%zu,expires=%zu,avg_ttl=%lld\r\n", i,
                         keys, dice_db_expires(db),
                         (long long)dice_db_avg_ttl(db));
    }
}

static void info_replication(dice_server_t *srv, dice_buf_t *b) {
    char replid[41];
    server_hex_id(srv, 2 + (srv->repl_id_gen << 8), replid);
    dice__buf_printf(
        b,
        "# Replication\r\n"
        "role:master\r\n"
        "connected_slaves:0\r\n"
        "master_failover_state:no-failover\r\n"
        "master_replid:%s\r\n"
        "master_replid2:0000000000000000000000000000000000000000\r\n"
        "master_repl_offset:0\r\n"
        "second_repl_offset:-1\r\n"
        "repl_backlog_active:0\r\n"
        "repl_backlog_size:1048576\r\n"
        "repl_backlog_first_byte_offset:0\r\n"
        "repl_backlog_histlen:0\r\n",
        replid);
}

static void info_cpu(dice_buf_t *b) {
    struct rusage self, kids;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    struct rusage th;
    if (getrusage(RUSAGE_THREAD, &th) < 0)
        th = self;
    dice__buf_printf(b,
                     "# CPU\r\n"
                     "used_cpu_sys:%ld.%06ld\r\n"
                     "used_cpu_user:%ld.%06ld\r\n"
                     "used_cpu_sys_children:%ld.%06ld\r\n"
                     "used_cpu_user_children:%ld.%06ld\r\n"
                     "used_cpu_sys_main_thread:%ld.%06ld\r\n"
                     "used_cpu_user_main_thread:%ld.%06ld\r\n",
                     (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec,
                     (long)self.ru_utime.tv_sec, (long)self.ru_utime.tv_usec,
                     (long)kids.ru_stime.tv_sec, (long)kids.ru_stime.tv_usec,
                     (long)kids.ru_utime.tv_sec, (long)kids.ru_utime.tv_usec,
                     (long)th.ru_stime.tv_sec, (long)th.ru_stime.tv_usec,
                     (long)th.ru_utime.tv_sec, (long)th.ru_utime.tv_usec);
}

/* Redis 7.0's cmdstat line, for a command called or refused. */
static void info_cmdstat(dice_server_t *b_srv, dice_buf_t *b,
                         const dice_command_t *cmd) {
    if (cmd->calls || cmd->rejected_calls || cmd->failed_calls) {
        unsigned long long usec = dice__ticks_to_ns(b_srv, cmd->ticks) / 1000;
        dice__buf_printf(b,
                         "cmdstat_%s:calls=%llu,usec=%llu,usec_per_call=%.2f,"
                         "rejected_calls=%llu,failed_calls=%llu\r\n",
                         cmd->fullname, (unsigned long long)cmd->calls, usec,
                         cmd->calls ? (double)usec / (double)cmd->calls : 0.0,
                         (unsigned long long)cmd->rejected_calls,
                         (unsigned long long)cmd->failed_calls);
    }
    for (size_t i = 0; i < cmd->nsubs; i++)
        info_cmdstat(b_srv, b, cmd->subs[i]);
}

/* Redis's latency_percentiles_usec_<cmd> line, from the histogram. */
static void info_latencystat(dice_server_t *srv, dice_buf_t *b,
                             const dice_command_t *cmd) {
    if (cmd->hist_own && cmd->calls) {
        dice__buf_printf(b, "latency_percentiles_usec_%s:", cmd->fullname);
        for (int i = 0; i < srv->intro.npctl; i++) {
            char p[32];
            dice__format_pctl(p, sizeof(p), srv->intro.pctl[i]);
            dice__buf_printf(
                b, "%sp%s=%.3f", i ? "," : "", p,
                (double)dice__ticks_to_ns(
                    srv, dice__hist_percentile(cmd->hist, cmd->calls,
                                               srv->intro.pctl[i])) /
                    1000.0);
        }
        dice_buf_append(b, "\r\n", 2);
    }
    for (size_t i = 0; i < cmd->nsubs; i++)
        info_latencystat(srv, b, cmd->subs[i]);
}

static void info_generate(dice_server_t *srv, unsigned which, dice_buf_t *b) {
    bool first = true;
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
        unsigned bit = sections[i].bit;
        if (!(which & bit))
            continue;
        /* Sections are separated by an empty line. */
        if (!first)
            dice_buf_append(b, "\r\n", 2);
        first = false;
        switch (bit) {
        case SEC_SERVER: info_server(srv, b); break;
        case SEC_CLIENTS: info_clients(srv, b); break;
        case SEC_MEMORY: info_memory(srv, b); break;
        case SEC_PERSISTENCE: info_persistence(srv, b); break;
        case SEC_STATS: info_stats(srv, b); break;
        case SEC_REPLICATION: info_replication(srv, b); break;
        case SEC_CPU: info_cpu(b); break;
        case SEC_MODULES: dice__buf_printf(b, "# Modules\r\n"); break;
        case SEC_COMMANDSTATS: {
            dice__buf_printf(b, "# Commandstats\r\n");
            const dice_cmdtable_t *t = &srv->commands;
            for (size_t j = 0; j < t->cap; j++)
                if (t->slots[j])
                    info_cmdstat(srv, b, t->slots[j]);
            break;
        }
        case SEC_ERRORSTATS:
            dice__buf_printf(b, "# Errorstats\r\n");
            for (size_t j = 0; j < srv->intro.nerrs; j++)
                dice__buf_printf(b, "errorstat_%s:count=%llu\r\n",
                                 srv->intro.errs[j].code,
                                 (unsigned long long)srv->intro.errs[j].count);
            break;
        case SEC_LATENCYSTATS: {
            dice__buf_printf(b, "# Latencystats\r\n");
            const dice_cmdtable_t *t = &srv->commands;
            for (size_t j = 0; j < t->cap; j++)
                if (t->slots[j])
                    info_latencystat(srv, b, t->slots[j]);
            break;
        }
        case SEC_CLUSTER:
            dice__buf_printf(b, "# Cluster\r\ncluster_enabled:0\r\n");
            break;
        case SEC_KEYSPACE:
            dice__buf_printf(b, "# Keyspace\r\n");
            info_keyspace(srv, b);
            break;
        }
    }
}

static DICE__CMD_FN(cmd_info) {
    unsigned which = argc == 1 ? SEC_DEFAULT : 0;
    for (int i = 1; i < argc; i++) {
        if (dice__eqci(argv[i], argvlen[i], "default"))
            which |= SEC_DEFAULT;
        else if (dice__eqci(argv[i], argvlen[i], "all") ||
                 dice__eqci(argv[i], argvlen[i], "everything"))
            which |= SEC_ALL;
        else
            for (size_t j = 0; j < sizeof(sections) / sizeof(sections[0]); j++)
                if (dice__eqci(argv[i], argvlen[i], sections[j].name))
                    which |= sections[j].bit;
    }
    dice_buf_t b;
    dice__buf_init(&b);
    info_generate(c->srv, which, &b);
    dice_reply_verbatim(c, "txt", b.data ? b.data : "", b.len);
    dice__buf_release(&b);
}

/* ---- CONFIG ------------------------------------------------------------- */

typedef struct {
    char **names;
    char **values;
    size_t n, cap;
    bool oom;
} cfg_acc_t;

/* Collect matches; several patterns may match one setting, which Redis
 * reports once. */
static void cfg_collect(void *arg, const char *name, const char *value) {
    cfg_acc_t *a = arg;
    for (size_t i = 0; i < a->n; i++)
        if (strcasecmp(a->names[i], name) == 0)
            return;
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 16;
        char **nn = realloc(a->names, nc * sizeof(*nn));
        if (nn)
            a->names = nn;
        char **nv = realloc(a->values, nc * sizeof(*nv));
        if (nv)
            a->values = nv;
        if (!nn || !nv) {
            a->oom = true;
            return;
        }
        a->cap = nc;
    }
    a->names[a->n] = strdup(name);
    a->values[a->n] = strdup(value);
    if (!a->names[a->n] || !a->values[a->n]) {
        free(a->names[a->n]);
        free(a->values[a->n]);
        a->oom = true;
        return;
    }
    a->n++;
}

static DICE__CMD_FN(cmd_config_get) {
    cfg_acc_t a = {0};
    for (int i = 2; i < argc; i++) {
        /* Redis 7.0 reads a pattern as a C string: the test for glob
         * characters and the match itself stop at its first NUL ("p?rt\0x"
         * matches port). A name without glob characters is looked up
         * directly, whole, and reported as the client spelled it; no
         * setting's name holds a NUL or reaches 128 bytes. */
        const char *nul = memchr(argv[i], '\0', argvlen[i]);
        size_t clen = nul ? (size_t)(nul - argv[i]) : argvlen[i];
        if (!memchr(argv[i], '*', clen) && !memchr(argv[i], '?', clen) &&
            !memchr(argv[i], '[', clen)) {
            char name[128];
            if (nul || argvlen[i] >= sizeof(name))
                continue;
            memcpy(name, argv[i], argvlen[i]);
            name[argvlen[i]] = '\0';
            char *val = dice__config_value(c->srv, name);
            if (val)
                cfg_collect(&a, name, val);
            free(val);
            continue;
        }
        dice__config_visit(c->srv, argv[i], clen, cfg_collect, &a);
    }
    if (a.oom) {
        dice__reply_err(c, DICE__ERR_NOMEM);
    } else {
        dice_reply_map(c, a.n);
        for (size_t i = 0; i < a.n; i++) {
            dice_reply_cstr(c, a.names[i]);
            dice_reply_cstr(c, a.values[i]);
        }
    }
    for (size_t i = 0; i < a.n; i++) {
        free(a.names[i]);
        free(a.values[i]);
    }
    free(a.names);
    free(a.values);
}

static char *dup_arg(const char *s, size_t len) {
    char *p = malloc(len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

/* CONFIG SET name value [name value ...]: every name is checked first
 * (unknown, immutable, repeated) without changing anything, then the
 * values are applied in order; if one fails, a snapshot of all settings
 * taken before is put back, so the command takes effect whole or not at
 * all. */
static DICE__CMD_FN(cmd_config_set) {
    dice_server_t *srv = c->srv;
    if ((argc & 1) != 0) {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return;
    }
    int npairs = (argc - 2) / 2;
    char **names = calloc((size_t)npairs, sizeof(char *));
    char **values = calloc((size_t)npairs, sizeof(char *));
    dice_settings_t saved;
    int have_saved = 0;
    if (!names || !values)
        goto oom;
    for (int i = 0; i < npairs; i++) {
        const char *n = argv[2 + 2 * i];
        size_t nl = argvlen[2 + 2 * i];
        names[i] = dup_arg(n, nl);
        values[i] = dup_arg(argv[3 + 2 * i], argvlen[3 + 2 * i]);
        if (!names[i] || !values[i])
            goto oom;
        /* As Redis: an unknown, immutable, protected or repeated setting
         * is named as the client spelled it; a bad value (below) by the
         * setting's own name. */
        int rc = memchr(n, '\0', nl) ? DICE_ENOENT
                                     : dice__config_check(srv, names[i], c);
        if (rc == DICE_ENOENT) {
            dice__reply_errorf(c,
                               "ERR Unknown option or number of arguments "
                               "for CONFIG SET - '%.*s'",
                               (int)nl, n);
            goto out;
        }
        if (rc < 0) {
            dice__reply_errorf(c,
                               "ERR CONFIG SET failed (possibly related to "
                               "argument '%s') - %s",
                               names[i], dice_server_config_error(srv));
            goto out;
        }
        for (int j = 0; j < i; j++) {
            if (strcasecmp(names[j], names[i]) == 0) {
                dice__reply_errorf(c,
                                   "ERR CONFIG SET failed (possibly related "
                                   "to argument '%s') - duplicate parameter",
                                   names[i]);
                goto out;
            }
        }
    }
    if (dice__config_snapshot(srv, &saved) < 0)
        goto oom;
    have_saved = 1;
    /* Side effects that need all the new values at once (a TLS context
     * from a new certificate and its key) wait for the commit. */
    srv->cfg_batch++;
    for (int i = 0; i < npairs; i++) {
        if (dice_server_config_set(srv, names[i], values[i]) < 0) {
            srv->cfg_batch--;
            srv->cfg_commit_name = NULL;
            dice__reply_errorf(c,
                               "ERR CONFIG SET failed (possibly related to "
                               "argument '%s') - %s",
                               dice__config_name(names[i]),
                               dice_server_config_error(srv));
            dice__config_restore(srv, &saved);
            have_saved = 0;
            goto out;
        }
    }
    srv->cfg_batch--;
    if (dice__config_commit(srv) < 0) {
        const char *arg = srv->cfg_commit_name;
        srv->cfg_commit_name = NULL;
        dice__reply_errorf(c,
                           "ERR CONFIG SET failed (possibly related to "
                           "argument '%s') - %s",
                           arg ? arg : "", dice_server_config_error(srv));
        dice__config_restore(srv, &saved);
        have_saved = 0;
        goto out;
    }
    dice_reply_ok(c);
    goto out;
oom:
    dice__reply_err(c, DICE__ERR_NOMEM);
out:
    if (have_saved)
        dice__settings_free(&saved);
    for (int i = 0; i < npairs && names; i++) {
        free(names[i]);
        if (values)
            free(values[i]);
    }
    free(names);
    free(values);
}

static DICE__CMD_FN(cmd_config_resetstat) {
    dice_server_t *srv = c->srv;
    memset(&srv->stats, 0, sizeof(srv->stats));
    srv->info_mem_peak = 0;
    if (srv->keyspace)
        dice_keyspace_reset_stats(srv->keyspace);
    dice__intro_resetstat(srv);
    dice__evict_reset_stats(srv);
    srv->evicted_clients = 0;
    dice_reply_ok(c);
}

/* CONFIG REWRITE: the file the server was started with, rewritten as
 * Redis 7.0 does (lib/server/config.c). */
static DICE__CMD_FN(cmd_config_rewrite) {
    dice_server_t *srv = c->srv;
    int rc = dice__config_rewrite(srv);
    if (rc == DICE_ESTATE) {
        dice__reply_errstr(c, "ERR The server is running without a config "
                              "file");
        return;
    }
    if (rc < 0) {
        const char *why = strerror(errno);
        dice__logf(srv, DICE_LOG_WARNING, "CONFIG REWRITE failed: %s", why);
        dice__reply_errorf(c, "ERR Rewriting config file: %s", why);
        return;
    }
    dice__logf(srv, DICE_LOG_NOTICE, "CONFIG REWRITE executed with success.");
    dice_reply_ok(c);
}

static const char *const config_help[] = {
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Prints this help.",
};

static DICE__CMD_FN(cmd_config_help) {
    dice__reply_help(c, config_help,
                     sizeof(config_help) / sizeof(config_help[0]));
}

/* ---- MEMORY ------------------------------------------------------------- */

/* MEMORY USAGE key [SAMPLES count]: nil for a missing key. Redis parses the
 * options in pairs, so an odd option is a syntax error, and a negative
 * count too. The figure is libdice's own accounting (entry, table slots,
 * heap bytes), not Redis's jemalloc sizes. */
static DICE__CMD_FN(cmd_memory_usage) {
    long long samples = 5;
    for (int i = 3; i < argc; i++) {
        if (dice__opt_is(argv[i], argvlen[i], "samples") && i + 1 < argc) {
            if (!dice__str2ll(argv[i + 1], argvlen[i + 1], &samples)) {
                dice__reply_err(c, DICE__ERR_NOT_INT);
                return;
            }
            if (samples < 0) {
                dice__reply_err(c, DICE__ERR_SYNTAX);
                return;
            }
            i++;
        } else {
            dice__reply_err(c, DICE__ERR_SYNTAX);
            return;
        }
    }
    size_t bytes;
    if (!c->srv->keyspace ||
        dice_db_memory_usage(dice__cmd_db(c), argv[2], argvlen[2],
                             (size_t)samples, &bytes) < 0)
        dice_reply_null(c);
    else
        dice_reply_int(c, (long long)bytes);
}

static const char *const memory_help[] = {
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.",
};

static DICE__CMD_FN(cmd_memory_help) {
    dice__reply_help(c, memory_help,
                     sizeof(memory_help) / sizeof(memory_help[0]));
}

/* LOLWUT [VERSION version [arg ...]]: Redis 7.0 draws art for versions 5
 * (Schotter: columns, squares per row, squares per column) and 6 (a
 * skyline: columns, rows), lib/commands/lolwut.c; every version gets the
 * closing line, which is all Redis 7.0 prints for the others (its own
 * version, 7, included). */
static DICE__CMD_FN(cmd_lolwut) {
    long long ver = 7;
    if (argc >= 3 && dice__opt_is(argv[1], argvlen[1], "version") &&
        dice__parse_ll_or_reply(c, argv[2], argvlen[2], &ver) < 0)
        return;
    static const char line[] = "Redis ver. " COMPAT_VERSION "\n";
    if (ver != 5 && ver != 6) {
        dice_reply_verbatim(c, "txt", line, sizeof(line) - 1);
        return;
    }
    long long a[3];
    int na = 0;
    for (int i = 3; i < argc && na < (ver == 5 ? 3 : 2); i++, na++)
        if (dice__parse_ll_or_reply(c, argv[i], argvlen[i], &a[na]) < 0)
            return;
    /* A different picture each call, as Redis's: chance from the clock
     * and the client. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t seed = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
                    ((uint64_t)(uintptr_t)c << 16);
    char *art;
    size_t n;
    if (dice__lolwut_art((int)ver, a, na, seed, &art, &n) < 0) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    char *all = realloc(art, n + sizeof(line) - 1);
    if (!all) {
        free(art);
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    memcpy(all + n, line, sizeof(line) - 1);
    dice_reply_verbatim(c, "txt", all, n + sizeof(line) - 1);
    free(all);
}

/* WAIT numreplicas timeout: with no replicas the count of replicas that
 * acknowledged is 0; asking for more waits out the timeout (0: forever)
 * as Redis does, unless the client may not block (MULTI). */
static int wait_retry(dice_client_t *c, const char *key, size_t klen,
                      void *pd) {
    (void)c, (void)key, (void)klen, (void)pd;
    return 0;
}

static void wait_timeout(dice_client_t *c, void *pd) {
    (void)pd;
    dice_reply_int(c, 0);
}

static DICE__CMD_FN(cmd_wait) {
    long long n;
    int64_t deadline;
    if (dice__parse_ll_or_reply(c, argv[1], argvlen[1], &n) < 0 ||
        dice__block_timeout_parse(c, argv[2], argvlen[2], DICE__TIMEOUT_MS,
                                  &deadline) < 0)
        return;
    if (n <= 0 || !dice__client_may_block(c)) {
        dice_reply_int(c, 0);
        return;
    }
    /* Blocked on a key no one waits for (the machinery wants one): its
     * writes find the client still waiting. */
    static const char key[] = "\0wait";
    const char *keys[1] = {key};
    size_t klens[1] = {sizeof(key) - 1};
    dice__block_spec spec = {wait_retry, wait_timeout, NULL, NULL};
    dice__client_block(c, 1, keys, klens, deadline, &spec);
}

/* ---- TIME SHUTDOWN ------------------------------------------------------- */

static DICE__CMD_FN(cmd_time) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char s[32], u[32];
    int sl = snprintf(s, sizeof(s), "%lld", (long long)ts.tv_sec);
    int ul = snprintf(u, sizeof(u), "%ld", (long)(ts.tv_nsec / 1000));
    dice_reply_array(c, 2);
    dice_reply_bulk(c, s, (size_t)sl);
    dice_reply_bulk(c, u, (size_t)ul);
}

/* SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT], as redis-server 7.0:
 * the options are checked, then dice_server_request_shutdown() saves if
 * asked to and stops the server. On success Redis exits without
 * answering; here the connection is closed with no reply (the replies
 * of earlier commands still go out) and the host stops. */
static DICE__CMD_FN(cmd_shutdown) {
    unsigned flags = 0;
    bool abort_ = false;
    for (int i = 1; i < argc; i++) {
        if (dice__eqci(argv[i], argvlen[i], "nosave"))
            flags |= DICE_SHUTDOWN_NOSAVE;
        else if (dice__eqci(argv[i], argvlen[i], "save"))
            flags |= DICE_SHUTDOWN_SAVE;
        else if (dice__eqci(argv[i], argvlen[i], "now"))
            flags |= DICE_SHUTDOWN_NOW;
        else if (dice__eqci(argv[i], argvlen[i], "force"))
            flags |= DICE_SHUTDOWN_FORCE;
        else if (dice__eqci(argv[i], argvlen[i], "abort"))
            abort_ = true;
        else {
            dice__reply_err(c, DICE__ERR_SYNTAX);
            return;
        }
    }
    if ((abort_ && flags) ||
        ((flags & DICE_SHUTDOWN_NOSAVE) && (flags & DICE_SHUTDOWN_SAVE))) {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return;
    }
    if (abort_) {
        if (dice__server_shutdown_abort(c->srv) == 0)
            dice_reply_ok(c);
        else
            dice__reply_errstr(c, "ERR No shutdown in progress.");
        return;
    }
    if (!(flags & DICE_SHUTDOWN_NOW) && (c->flags & CLIENT_DENY_BLOCKING)) {
        dice__reply_errstr(c, "ERR SHUTDOWN without NOW or ABORT isn't "
                              "allowed for DENY BLOCKING client");
        return;
    }
    /* A busy script: only SHUTDOWN NOSAVE may stop the server (Redis's
     * shutdownCommand answers the BUSY error otherwise). */
    if (c->srv->busy_err && !(flags & DICE_SHUTDOWN_NOSAVE)) {
        dice__reply_errstr(c, c->srv->busy_err);
        return;
    }
    if (dice_server_request_shutdown(c->srv, flags) < 0) {
        dice__reply_errstr(c, "ERR Errors trying to SHUTDOWN. Check logs.");
        return;
    }
    dice_client_close_after_reply(c);
}

/* ---- Registration ------------------------------------------------------- */

#define F_LS (DICE_CMD_LOADING | DICE_CMD_STALE)
#define F_ADMIN (DICE_CMD_ADMIN | DICE_CMD_NOSCRIPT | F_LS)
#define ORDER_TIP "nondeterministic_output_order"

static const dice__cmd_desc top[] = {
    /* COMMAND answers by itself (everything) and has sub-commands;
     * CONFIG only groups its own. */
    {"command", -1, F_LS, 0, 0, 0, cmd_command, NULL, "Describe every command",
     "2.8.13", "O(N) where N is the total number of Redis commands",
     DICE_ACL_CONNECTION, ORDER_TIP, NULL, NULL},
    {"config", -2, 0, 0, 0, 0, NULL, NULL,
     "A container for server configuration commands", "2.0.0",
     "Depends on subcommand.", 0, NULL, NULL, NULL},
    {"info", -1, F_LS, 0, 0, 0, cmd_info, NULL,
     "Report the server's state and counters, by section", "1.0.0", "O(1)",
     DICE_ACL_DANGEROUS,
     "nondeterministic_output request_policy:all_shards "
     "response_policy:special",
     NULL, NULL},
    {"lolwut", -1, DICE_CMD_READONLY | DICE_CMD_FAST, 0, 0, 0, cmd_lolwut, NULL,
     "Display some computer art and the Redis version", "5.0.0", NULL, 0, NULL,
     "server", NULL},
    {"wait", 3, DICE_CMD_NOSCRIPT, 0, 0, 0, cmd_wait, NULL,
     "Wait for the synchronous replication of all the write commands sent "
     "in the context of the current connection",
     "3.0.0", "O(1)", DICE_ACL_CONNECTION | DICE__ACL_NOGROUP,
     "request_policy:all_shards response_policy:agg_min", "generic", NULL},
    {"time", 1, F_LS | DICE_CMD_FAST, 0, 0, 0, cmd_time, NULL,
     "Reply with the server's clock: seconds and microseconds", "2.6.0", "O(1)",
     0, "nondeterministic_output", NULL, NULL},
    {"shutdown", -1, F_ADMIN | DICE_CMD_NO_MULTI | DICE_CMD_ALLOW_BUSY, 0, 0, 0,
     cmd_shutdown, NULL, "Stop the server", "1.0.0",
     "O(N) when saving, where N is the total number of keys in all databases "
     "when saving data, otherwise O(1)",
     0, NULL, NULL, NULL},
    {"memory", -2, 0, 0, 0, 0, NULL, NULL,
     "A container for memory diagnostics commands", "4.0.0",
     "Depends on subcommand.", 0, NULL, NULL, NULL},
};

static const dice__cmd_desc command_subs[] = {
    {"count", 2, F_LS, 0, 0, 0, cmd_command_count, NULL,
     "Reply with the number of commands", "2.8.13", "O(1)", DICE_ACL_CONNECTION,
     NULL, NULL, NULL},
    {"info", -2, F_LS, 0, 0, 0, cmd_command_info, NULL,
     "Describe the named commands, or all of them", "2.8.13",
     "O(N) where N is the number of commands to look up", DICE_ACL_CONNECTION,
     ORDER_TIP, NULL, NULL},
    {"docs", -2, F_LS, 0, 0, 0, cmd_command_docs, NULL,
     "Reply with the documentation of the named commands, or all of them",
     "7.0.0", "O(N) where N is the number of commands to look up",
     DICE_ACL_CONNECTION, ORDER_TIP, NULL, NULL},
    {"list", -2, F_LS, 0, 0, 0, cmd_command_list, NULL,
     "Reply with the command names, optionally filtered", "7.0.0",
     "O(N) where N is the total number of Redis commands", DICE_ACL_CONNECTION,
     ORDER_TIP, NULL, NULL},
    {"getkeys", -4, F_LS, 0, 0, 0, cmd_command_getkeys, NULL,
     "Reply with the keys a full command line would access", "2.8.13",
     "O(N) where N is the number of arguments to the command",
     DICE_ACL_CONNECTION, NULL, NULL, NULL},
    {"getkeysandflags", -4, F_LS, 0, 0, 0, cmd_command_getkeysandflags, NULL,
     "Reply with the keys a full command line would access, and their "
     "flags",
     "7.0.0", "O(N) where N is the number of arguments to the command",
     DICE_ACL_CONNECTION, NULL, NULL, NULL},
    {"help", 2, F_LS, 0, 0, 0, cmd_command_help, NULL,
     "Describe the COMMAND sub-commands", "5.0.0", "O(1)", DICE_ACL_CONNECTION,
     NULL, NULL, NULL},
};

static const dice__cmd_desc memory_subs[] = {
    {"usage", -3, DICE_CMD_READONLY, 2, 2, 1, cmd_memory_usage, NULL,
     "Estimate the memory usage of a key", "4.0.0",
     "O(N) where N is the number of samples.", 0, NULL, NULL, NULL},
    {"help", 2, F_LS, 0, 0, 0, cmd_memory_help, NULL,
     "Show helpful text about the different subcommands", "4.0.0", "O(1)", 0,
     NULL, NULL, NULL},
};

static const dice__cmd_desc config_subs[] = {
    {"get", -3, F_ADMIN, 0, 0, 0, cmd_config_get, NULL,
     "Reply with the settings matching glob patterns", "2.0.0",
     "O(N) when N is the number of configuration parameters provided", 0, NULL,
     NULL, NULL},
    {"set", -4, F_ADMIN, 0, 0, 0, cmd_config_set, NULL,
     "Change one or more settings", "2.0.0",
     "O(N) when N is the number of configuration parameters provided", 0,
     "request_policy:all_nodes response_policy:all_succeeded", NULL, NULL},
    {"resetstat", 2, F_ADMIN, 0, 0, 0, cmd_config_resetstat, NULL,
     "Zero the counters INFO reports", "2.0.0", "O(1)", 0, NULL, NULL, NULL},
    {"rewrite", 2, F_ADMIN, 0, 0, 0, cmd_config_rewrite, NULL,
     "Write the settings back to the configuration file", "2.8.0", "O(1)", 0,
     NULL, NULL, NULL},
    {"help", 2, F_LS, 0, 0, 0, cmd_config_help, NULL,
     "Describe the CONFIG sub-commands", "5.0.0", "O(1)", 0, NULL, NULL, NULL},
};

#define KS_OF(a) a, (int)DICE__COUNT(a)

/* Redis 7.0's key specs, for COMMAND INFO, where they differ from the
 * one derived from first/last/step (see lib/commands/server.c). */
static const dice__key_spec ks_memory_usage[] = {
    DICE__KS_RANGE(DICE__KS_RO, 2, 0, 1, 0)};
static const dice__cmd_keyspecs server_keyspecs[] = {
    {"memory|usage", KS_OF(ks_memory_usage)},
};
#undef KS_OF

int dice__builtin_server(dice_server_t *srv) {
    int rc = dice__command_register(srv, NULL, "server", top, DICE__COUNT(top));
    if (rc == 0)
        rc = dice__command_register(srv, "command", "server", command_subs,
                                    DICE__COUNT(command_subs));
    if (rc == 0)
        rc = dice__command_register(srv, "config", "server", config_subs,
                                    DICE__COUNT(config_subs));
    if (rc == 0)
        rc = dice__command_register(srv, "memory", "server", memory_subs,
                                    DICE__COUNT(memory_subs));
    if (rc == 0)
        rc = dice__command_set_keyspecs(srv, server_keyspecs,
                                        DICE__COUNT(server_keyspecs));
    return rc;
}
