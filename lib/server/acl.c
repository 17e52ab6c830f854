/* Users and permissions, as Redis 7.0's ACL (see acl.h for where the
 * check sits). A user has flags, SHA-256 password hashes and selectors;
 * a selector has a command bitmap indexed by dice_command.acl_id (plus
 * first-argument exceptions), key patterns with read/write permissions and
 * channel patterns. Rules are applied to a copy of the user, so a SETUSER
 * with a bad rule changes nothing. */
#include "server/acl.h"
#include "core/sha1.h"
#include "server/server_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* ---- Small string builder ------------------------------------------------ */

typedef struct sb {
    char *p;
    size_t len, cap;
    bool oom;
} sb;

static void sb_add(sb *b, const char *s, size_t n) {
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 128;
        while (nc < b->len + n + 1)
            nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}
static void sb_cstr(sb *b, const char *s) {
    sb_add(b, s, strlen(s));
}
/* The text, or NULL when out of memory; an empty builder gives "". */
static char *sb_done(sb *b) {
    if (b->oom) {
        free(b->p);
        return NULL;
    }
    if (!b->p)
        return strdup("");
    return b->p;
}
/* Drop one trailing space. */
static void sb_trim(sb *b) {
    if (b->len && b->p[b->len - 1] == ' ')
        b->p[--b->len] = '\0';
}

static char *dupn(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static bool word_eq(const char *s, size_t n, const char *lit) {
    return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

/* ---- Commands --------------------------------------------------------------
 */

static void visit_cmd(dice_command_t *cmd, dice__acl_cmd_visit fn, void *arg) {
    fn(cmd, arg);
    for (size_t i = 0; i < cmd->nsubs; i++)
        fn(cmd->subs[i], arg);
}

struct visit_arg {
    dice__acl_cmd_visit fn;
    void *arg;
};

static void visit_removed(dice_command_t *cmd, void *arg) {
    struct visit_arg *va = arg;
    visit_cmd(cmd, va->fn, va->arg);
}

/* Every command ACL rules know (Redis's orig_commands): those in the table
 * and those rename-command removed. */
void dice__acl_visit_commands(dice_server_t *srv, dice__acl_cmd_visit fn,
                              void *arg) {
    const dice_cmdtable_t *t = &srv->commands;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i])
            visit_cmd(t->slots[i], fn, arg);
    struct visit_arg va = {fn, arg};
    dice__cmdtable_visit_removed(t, visit_removed, &va);
}

/* A command by "name" or "name|sub" as ACL rules name it (Redis's
 * ACLLookupCommand, over the original names: a command renamed by
 * rename-command keeps its old name here): NULL when unknown, or for
 * "name|x" when name has no sub-commands. */
static dice_command_t *lookup_cmd(dice_server_t *srv, const char *s, size_t n) {
    const char *bar = memchr(s, '|', n);
    if (!bar)
        return dice__cmdtable_find_orig(&srv->commands, s, n);
    if (memchr(bar + 1, '|', n - (size_t)(bar + 1 - s)))
        return NULL;
    dice_command_t *p =
        dice__cmdtable_find_orig(&srv->commands, s, (size_t)(bar - s));
    if (!p || p->nsubs == 0)
        return NULL;
    return dice__command_find_sub(p, bar + 1, n - (size_t)(bar + 1 - s));
}

/* ---- Selectors -------------------------------------------------------------
 */

static bool sel_bit(const dice__acl_selector *s, unsigned id) {
    size_t w = id / 64;
    if (w >= s->nwords)
        return (s->flags & DICE__SEL_FUTURE) != 0;
    return (s->bits[w] >> (id % 64)) & 1;
}

static bool sel_grow(dice__acl_selector *s, size_t words) {
    if (words <= s->nwords)
        return true;
    uint64_t *nb = realloc(s->bits, words * sizeof(*nb));
    if (!nb)
        return false;
    uint64_t fill = (s->flags & DICE__SEL_FUTURE) ? ~0ULL : 0;
    for (size_t i = s->nwords; i < words; i++)
        nb[i] = fill;
    s->bits = nb;
    s->nwords = words;
    return true;
}

static bool sel_set_bit(dice__acl_selector *s, unsigned id, bool on) {
    if (!on)
        s->flags &= ~DICE__SEL_ALLCOMMANDS;
    if (!sel_grow(s, id / 64 + 1))
        return false;
    if (on)
        s->bits[id / 64] |= 1ULL << (id % 64);
    else
        s->bits[id / 64] &= ~(1ULL << (id % 64));
    return true;
}

static void fa_free(dice__acl_firstargs *f) {
    for (size_t i = 0; i < f->n; i++)
        free(f->args[i]);
    free(f->args);
}

static void sel_reset_fa(dice__acl_selector *s, unsigned id) {
    for (size_t i = 0; i < s->nfa; i++) {
        if (s->fa[i].id == id) {
            fa_free(&s->fa[i]);
            s->fa[i] = s->fa[--s->nfa];
            return;
        }
    }
}

static void sel_reset_all_fa(dice__acl_selector *s) {
    for (size_t i = 0; i < s->nfa; i++)
        fa_free(&s->fa[i]);
    free(s->fa);
    s->fa = NULL;
    s->nfa = 0;
}

static const dice__acl_firstargs *sel_fa(const dice__acl_selector *s,
                                         unsigned id) {
    for (size_t i = 0; i < s->nfa; i++)
        if (s->fa[i].id == id)
            return &s->fa[i];
    return NULL;
}

static bool sel_add_fa(dice__acl_selector *s, unsigned id, const char *arg,
                       size_t n) {
    dice__acl_firstargs *f = (dice__acl_firstargs *)sel_fa(s, id);
    if (!f) {
        dice__acl_firstargs *nf = realloc(s->fa, (s->nfa + 1) * sizeof(*nf));
        if (!nf)
            return false;
        s->fa = nf;
        f = &s->fa[s->nfa++];
        f->id = id;
        f->args = NULL;
        f->n = 0;
    }
    for (size_t i = 0; i < f->n; i++)
        if (strlen(f->args[i]) == n && strncasecmp(f->args[i], arg, n) == 0)
            return true;
    char **na = realloc(f->args, (f->n + 1) * sizeof(*na));
    if (!na)
        return false;
    f->args = na;
    if (!(f->args[f->n] = dupn(arg, n)))
        return false;
    f->n++;
    return true;
}

/* Allow or deny a command, and all its sub-commands when it has them
 * (Redis's ACLChangeSelectorPerm). */
static bool sel_change(dice__acl_selector *s, const dice_command_t *cmd,
                       bool on) {
    if (!sel_set_bit(s, cmd->acl_id, on))
        return false;
    sel_reset_fa(s, cmd->acl_id);
    for (size_t i = 0; i < cmd->nsubs; i++)
        if (!sel_set_bit(s, cmd->subs[i]->acl_id, on))
            return false;
    return true;
}

typedef struct cat_op {
    dice__acl_selector *s;
    unsigned cat;
    bool on, ok;
    unsigned long non, noff; /* counting */
} cat_op;

static void cat_apply(dice_command_t *cmd, void *arg) {
    cat_op *op = arg;
    if (dice__command_acl(cmd) & op->cat)
        if (!sel_change(op->s, cmd, op->on))
            op->ok = false;
}

static bool sel_all(dice__acl_selector *s, bool on) {
    if (on)
        s->flags |= DICE__SEL_ALLCOMMANDS | DICE__SEL_FUTURE;
    else
        s->flags &= ~(DICE__SEL_ALLCOMMANDS | DICE__SEL_FUTURE);
    for (size_t i = 0; i < s->nwords; i++)
        s->bits[i] = on ? ~0ULL : 0;
    sel_reset_all_fa(s);
    return true;
}

static void pats_free(dice__acl_pattern *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(p[i].pat);
    free(p);
}

static void sel_clear(dice__acl_selector *s) {
    free(s->bits);
    sel_reset_all_fa(s);
    pats_free(s->keys, s->nkeys);
    pats_free(s->chans, s->nchans);
    memset(s, 0, sizeof(*s));
}

static bool pats_copy(dice__acl_pattern **dst, const dice__acl_pattern *src,
                      size_t n) {
    *dst = NULL;
    if (!n)
        return true;
    *dst = calloc(n, sizeof(**dst));
    if (!*dst)
        return false;
    for (size_t i = 0; i < n; i++) {
        (*dst)[i] = src[i];
        if (!((*dst)[i].pat = dupn(src[i].pat, src[i].len)))
            return false;
    }
    return true;
}

static bool sel_copy(dice__acl_selector *d, const dice__acl_selector *s) {
    memset(d, 0, sizeof(*d));
    d->flags = s->flags;
    if (s->nwords) {
        if (!(d->bits = malloc(s->nwords * sizeof(uint64_t))))
            return false;
        memcpy(d->bits, s->bits, s->nwords * sizeof(uint64_t));
        d->nwords = s->nwords;
    }
    for (size_t i = 0; i < s->nfa; i++)
        for (size_t j = 0; j < s->fa[i].n; j++)
            if (!sel_add_fa(d, s->fa[i].id, s->fa[i].args[j],
                            strlen(s->fa[i].args[j])))
                return false;
    if (!pats_copy(&d->keys, s->keys, s->nkeys))
        return false;
    d->nkeys = s->nkeys;
    if (!pats_copy(&d->chans, s->chans, s->nchans))
        return false;
    d->nchans = s->nchans;
    return true;
}

static bool pat_add(dice__acl_pattern **v, size_t *n, const char *p, size_t len,
                    unsigned perm) {
    for (size_t i = 0; i < *n; i++) {
        if ((*v)[i].len == len && memcmp((*v)[i].pat, p, len) == 0) {
            (*v)[i].perm |= perm;
            return true;
        }
    }
    dice__acl_pattern *nv = realloc(*v, (*n + 1) * sizeof(*nv));
    if (!nv)
        return false;
    *v = nv;
    if (!(nv[*n].pat = dupn(p, len)))
        return false;
    nv[*n].len = len;
    nv[*n].perm = perm;
    (*n)++;
    return true;
}

/* Errors of rules, Redis's ACLSetUserStringError texts. */
enum {
    E_OK = 0,
    E_NOENT,
    E_SYNTAX,
    E_KEYS_ALL,
    E_CHANS_ALL,
    E_NOPASS,
    E_BADHASH,
    E_CHILD,
    E_NOMEM,
    E_DUP
};
static const char *const rule_errors[] = {
    [E_NOENT] = "Unknown command or category name in ACL",
    [E_SYNTAX] = "Syntax error",
    [E_KEYS_ALL] = "Adding a pattern after the * pattern (or the 'allkeys' "
                   "flag) is not valid and does not have any effect. Try "
                   "'resetkeys' to start with an empty list of patterns",
    [E_CHANS_ALL] = "Adding a pattern after the * pattern (or the "
                    "'allchannels' flag) is not valid and does not have any "
                    "effect. Try 'resetchannels' to start with an empty list "
                    "of channels",
    [E_NOPASS] = "The password you are trying to remove from the user does "
                 "not exist",
    [E_BADHASH] = "The password hash must be exactly 64 characters and "
                  "contain only lowercase hexadecimal characters",
    [E_CHILD] = "Allowing first-arg of a subcommand is not supported",
    [E_NOMEM] = "Out of memory",
    [E_DUP] = "Duplicate user found. A user can only be defined once in "
              "config files",
};

static unsigned category_bit(const char *s, size_t n) {
    for (unsigned b = 0; dice__acl_category_name(b); b++)
        if (word_eq(s, n, dice__acl_category_name(b)))
            return 1u << b;
    return 0;
}

/* A key or channel pattern may hold no white space or NUL (Redis's
 * ACLStringHasSpaces): ACL LIST and the ACL file separate rules with
 * spaces, and a pattern that had one would not read back. */
static bool has_space(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (isspace((unsigned char)p[i]) || p[i] == '\0')
            return true;
    return false;
}

/* One selector rule (Redis's ACLSetSelector). */
static int sel_rule(dice_server_t *srv, dice__acl_selector *s, const char *op,
                    size_t n) {
    if (word_eq(op, n, "allkeys")) {
        s->flags |= DICE__SEL_ALLKEYS;
        pats_free(s->keys, s->nkeys);
        s->keys = NULL;
        s->nkeys = 0;
    } else if (word_eq(op, n, "resetkeys")) {
        s->flags &= ~DICE__SEL_ALLKEYS;
        pats_free(s->keys, s->nkeys);
        s->keys = NULL;
        s->nkeys = 0;
    } else if (word_eq(op, n, "allchannels")) {
        s->flags |= DICE__SEL_ALLCHANNELS;
        pats_free(s->chans, s->nchans);
        s->chans = NULL;
        s->nchans = 0;
    } else if (word_eq(op, n, "resetchannels")) {
        s->flags &= ~DICE__SEL_ALLCHANNELS;
        pats_free(s->chans, s->nchans);
        s->chans = NULL;
        s->nchans = 0;
    } else if (word_eq(op, n, "allcommands") || word_eq(op, n, "+@all")) {
        sel_all(s, true);
    } else if (word_eq(op, n, "nocommands") || word_eq(op, n, "-@all")) {
        sel_all(s, false);
    } else if (n > 0 && (op[0] == '~' || op[0] == '%')) {
        if (s->flags & DICE__SEL_ALLKEYS)
            return E_KEYS_ALL;
        unsigned perm = 0;
        size_t off = 1;
        if (op[0] == '~') {
            perm = DICE__ACL_PERM_R | DICE__ACL_PERM_W;
        } else {
            for (; off < n; off++) {
                char ch = (char)toupper((unsigned char)op[off]);
                if (ch == 'R')
                    perm |= DICE__ACL_PERM_R;
                else if (ch == 'W')
                    perm |= DICE__ACL_PERM_W;
                else if (op[off] == '~') {
                    off++;
                    break;
                } else
                    return E_SYNTAX;
            }
            if (!perm)
                return E_SYNTAX;
        }
        const char *p = op + off;
        size_t pl = off <= n ? n - off : 0;
        if (has_space(p, pl))
            return E_SYNTAX;
        if (pl == 1 && p[0] == '*' &&
            perm == (DICE__ACL_PERM_R | DICE__ACL_PERM_W)) {
            return sel_rule(srv, s, "allkeys", 7);
        }
        if (!pat_add(&s->keys, &s->nkeys, p, pl, perm))
            return E_NOMEM;
    } else if (n > 0 && op[0] == '&') {
        if (s->flags & DICE__SEL_ALLCHANNELS)
            return E_CHANS_ALL;
        if (has_space(op + 1, n - 1))
            return E_SYNTAX;
        if (n == 2 && op[1] == '*')
            return sel_rule(srv, s, "allchannels", 11);
        if (!pat_add(&s->chans, &s->nchans, op + 1, n - 1, 0))
            return E_NOMEM;
    } else if (n > 1 && (op[0] == '+' || op[0] == '-') && op[1] == '@') {
        unsigned cat = category_bit(op + 2, n - 2);
        if (!cat)
            return E_NOENT;
        cat_op c = {s, cat, op[0] == '+', true, 0, 0};
        dice__acl_visit_commands(srv, cat_apply, &c);
        if (!c.ok)
            return E_NOMEM;
    } else if (n > 0 && op[0] == '+') {
        const char *name = op + 1;
        size_t nl = n - 1;
        const char *bar = NULL;
        for (size_t i = nl; i > 0; i--)
            if (name[i - 1] == '|') {
                bar = name + i - 1;
                break;
            }
        if (!bar) {
            dice_command_t *cmd = lookup_cmd(srv, name, nl);
            if (!cmd)
                return E_NOENT;
            if (!sel_change(s, cmd, true))
                return E_NOMEM;
            return E_OK;
        }
        size_t base = (size_t)(bar - name);
        const char *sub = bar + 1;
        size_t subl = nl - base - 1;
        dice_command_t *cmd = lookup_cmd(srv, name, base);
        if (!cmd)
            return E_NOENT;
        if (cmd->parent)
            return E_CHILD;
        if (subl == 0)
            return E_SYNTAX;
        if (cmd->nsubs > 0) {
            dice_command_t *sc = dice__command_find_sub(cmd, sub, subl);
            if (!sc)
                return E_NOENT;
            if (!sel_change(s, sc, true))
                return E_NOMEM;
        } else {
            /* A first argument of a command otherwise denied (Redis
             * deprecates it but 7.0 accepts it). */
            if (!sel_add_fa(s, cmd->acl_id, sub, subl))
                return E_NOMEM;
        }
    } else if (n > 0 && op[0] == '-') {
        dice_command_t *cmd = lookup_cmd(srv, op + 1, n - 1);
        if (!cmd)
            return E_NOENT;
        if (!sel_change(s, cmd, false))
            return E_NOMEM;
    } else {
        return E_SYNTAX;
    }
    return E_OK;
}

/* ---- Users -----------------------------------------------------------------
 */

static void user_free(dice__acl_user *u) {
    if (!u)
        return;
    free(u->name);
    free(u->pass);
    for (size_t i = 0; i < u->nsel; i++)
        sel_clear(&u->sel[i]);
    free(u->sel);
    free(u);
}

static bool pubsub_default_all(const dice_server_t *srv) {
    return srv->cfg.acl_pubsub_default == 1;
}

/* A new user as Redis creates one: off, no passwords, no commands, no
 * keys, channels as acl-pubsub-default says. */
static dice__acl_user *user_new(dice_server_t *srv, const char *name,
                                size_t n) {
    dice__acl_user *u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    u->sel = calloc(1, sizeof(*u->sel));
    if (!(u->name = dupn(name, n)) || !u->sel) {
        user_free(u);
        return NULL;
    }
    u->namelen = n;
    u->nsel = 1;
    if (pubsub_default_all(srv))
        u->sel[0].flags |= DICE__SEL_ALLCHANNELS;
    return u;
}

static dice__acl_user *user_copy(const dice__acl_user *u) {
    dice__acl_user *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->flags = u->flags;
    d->namelen = u->namelen;
    d->name = dupn(u->name, u->namelen);
    if (u->npass) {
        d->pass = malloc(u->npass * DICE__SHA256_LEN);
        if (d->pass)
            memcpy(d->pass, u->pass, u->npass * DICE__SHA256_LEN);
    }
    d->npass = d->pass ? u->npass : 0;
    d->sel = calloc(u->nsel, sizeof(*d->sel));
    if (!d->name || (u->npass && !d->pass) || !d->sel) {
        user_free(d);
        return NULL;
    }
    for (size_t i = 0; i < u->nsel; i++) {
        d->nsel = i + 1;
        if (!sel_copy(&d->sel[i], &u->sel[i])) {
            user_free(d);
            return NULL;
        }
    }
    d->unrestricted = u->unrestricted;
    return d;
}

static void user_update_cache(dice__acl_user *u) {
    const dice__acl_selector *r = &u->sel[0];
    unsigned all =
        DICE__SEL_ALLKEYS | DICE__SEL_ALLCHANNELS | DICE__SEL_ALLCOMMANDS;
    u->unrestricted = (r->flags & all) == all;
}

static int hexv(char ch) {
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

static bool parse_hash(const char *s, size_t n, uint8_t out[32]) {
    if (n != 64)
        return false;
    for (size_t i = 0; i < 32; i++) {
        int hi = hexv(s[2 * i]), lo = hexv(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static ssize_t pass_find(const dice__acl_user *u, const uint8_t h[32]) {
    for (size_t i = 0; i < u->npass; i++)
        if (memcmp(u->pass[i], h, 32) == 0)
            return (ssize_t)i;
    return -1;
}

static int pass_add(dice__acl_user *u, const uint8_t h[32]) {
    u->flags &= ~DICE__USER_NOPASS;
    if (pass_find(u, h) >= 0)
        return E_OK;
    uint8_t(*np)[32] = realloc(u->pass, (u->npass + 1) * 32);
    if (!np)
        return E_NOMEM;
    u->pass = np;
    memcpy(u->pass[u->npass++], h, 32);
    return E_OK;
}

static int pass_del(dice__acl_user *u, const uint8_t h[32]) {
    ssize_t i = pass_find(u, h);
    if (i < 0)
        return E_NOPASS;
    memmove(u->pass[i], u->pass[i + 1], (u->npass - (size_t)i - 1) * 32);
    u->npass--;
    return E_OK;
}

static void pass_clear(dice__acl_user *u) {
    free(u->pass);
    u->pass = NULL;
    u->npass = 0;
}

static void clear_selectors(dice__acl_user *u) {
    for (size_t i = 1; i < u->nsel; i++)
        sel_clear(&u->sel[i]);
    u->nsel = 1;
}

/* Words of a selector's "(...)" body, split at spaces. */
static int selector_rule(dice_server_t *srv, dice__acl_user *u, const char *op,
                         size_t n) {
    dice__acl_selector s = {0};
    if (pubsub_default_all(srv))
        s.flags |= DICE__SEL_ALLCHANNELS;
    size_t i = 1, end = n - 1;
    while (i < end) {
        while (i < end && op[i] == ' ')
            i++;
        size_t j = i;
        while (j < end && op[j] != ' ')
            j++;
        if (j > i) {
            int e = sel_rule(srv, &s, op + i, j - i);
            if (e) {
                sel_clear(&s);
                return e;
            }
        }
        i = j;
    }
    dice__acl_selector *ns = realloc(u->sel, (u->nsel + 1) * sizeof(*ns));
    if (!ns) {
        sel_clear(&s);
        return E_NOMEM;
    }
    u->sel = ns;
    u->sel[u->nsel++] = s;
    return E_OK;
}

/* One user rule (Redis's ACLSetUser). */
static int user_rule(dice_server_t *srv, dice__acl_user *u, const char *op,
                     size_t n) {
    uint8_t h[32];
    if (word_eq(op, n, "on")) {
        u->flags |= DICE__USER_ON;
    } else if (word_eq(op, n, "off")) {
        u->flags &= ~DICE__USER_ON;
    } else if (word_eq(op, n, "skip-sanitize-payload")) {
        u->flags = (u->flags & ~DICE__USER_SANITIZE) | DICE__USER_SKIP_SANITIZE;
    } else if (word_eq(op, n, "sanitize-payload")) {
        u->flags = (u->flags & ~DICE__USER_SKIP_SANITIZE) | DICE__USER_SANITIZE;
    } else if (word_eq(op, n, "nopass")) {
        u->flags |= DICE__USER_NOPASS;
        pass_clear(u);
    } else if (word_eq(op, n, "resetpass")) {
        u->flags &= ~DICE__USER_NOPASS;
        pass_clear(u);
    } else if (n > 0 && op[0] == '>') {
        dice__sha256_digest(op + 1, n - 1, h);
        return pass_add(u, h);
    } else if (n > 0 && op[0] == '#') {
        if (!parse_hash(op + 1, n - 1, h))
            return E_BADHASH;
        return pass_add(u, h);
    } else if (n > 0 && op[0] == '<') {
        dice__sha256_digest(op + 1, n - 1, h);
        return pass_del(u, h);
    } else if (n > 0 && op[0] == '!') {
        if (!parse_hash(op + 1, n - 1, h))
            return E_BADHASH;
        return pass_del(u, h);
    } else if (n >= 2 && op[0] == '(' && op[n - 1] == ')') {
        return selector_rule(srv, u, op, n);
    } else if (word_eq(op, n, "clearselectors")) {
        clear_selectors(u);
    } else if (word_eq(op, n, "reset")) {
        static const char *const seq[] = {
            "resetpass", "resetkeys",      "resetchannels",   "off",
            "-@all",     "clearselectors", "sanitize-payload"};
        for (size_t i = 0; i < DICE__COUNT(seq); i++) {
            int e = user_rule(srv, u, seq[i], strlen(seq[i]));
            if (e)
                return e;
        }
        if (pubsub_default_all(srv))
            return user_rule(srv, u, "allchannels", 11);
    } else {
        return sel_rule(srv, &u->sel[0], op, n);
    }
    return E_OK;
}

static size_t user_index(const dice__acl *a, const char *name, size_t n,
                         bool *found) {
    size_t lo = 0, hi = a->nusers;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const dice__acl_user *u = a->users[mid];
        size_t m = u->namelen < n ? u->namelen : n;
        int c = memcmp(u->name, name, m);
        if (c == 0)
            c = u->namelen < n ? -1 : u->namelen > n ? 1 : 0;
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

dice__acl_user *dice__acl_find(dice_server_t *srv, const char *name,
                               size_t len) {
    bool found;
    size_t i = user_index(&srv->acl, name, len, &found);
    return found ? srv->acl.users[i] : NULL;
}

static bool user_insert(dice__acl *a, dice__acl_user *u) {
    bool found;
    size_t i = user_index(a, u->name, u->namelen, &found);
    if (found) {
        a->users[i] = u;
        return true;
    }
    if (a->nusers == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 8;
        dice__acl_user **nu = realloc(a->users, nc * sizeof(*nu));
        if (!nu)
            return false;
        a->users = nu;
        a->cap = nc;
    }
    memmove(a->users + i + 1, a->users + i,
            (a->nusers - i) * sizeof(*a->users));
    a->users[i] = u;
    a->nusers++;
    return true;
}

static void refresh_clients_of(dice_server_t *srv, const dice__acl_user *old,
                               dice__acl_user *nu) {
    for (int list = 0; list < 2; list++)
        for (dice_client_t *c = list ? srv->sessions : srv->clients; c;
             c = c->next)
            if (c->user == old) {
                c->user = nu;
                dice__acl_client_refresh(c);
            }
}

/* Join ACL SETUSER's arguments so that a selector split by the client
 * ("(+get", "~x)") is one rule again (Redis's ACLMergeSelectorArguments).
 * Returns the rules (each malloc'd) or NULL with err set. */
static char **merge_args(int argc, const char *const *argv,
                         const size_t *argvlen, int *outc, char *err,
                         size_t errsize) {
    char **out = calloc((size_t)argc + 1, sizeof(*out));
    int n = 0;
    if (!out) {
        snprintf(err, errsize, "ERR Out of memory");
        return NULL;
    }
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        size_t al = argvlen[i];
        if (al > 0 && a[0] == '(' && a[al - 1] != ')') {
            sb b = {0};
            sb_add(&b, a, al);
            int j = i + 1;
            bool closed = false;
            for (; j < argc; j++) {
                sb_add(&b, " ", 1);
                sb_add(&b, argv[j], argvlen[j]);
                if (argvlen[j] > 0 && argv[j][argvlen[j] - 1] == ')') {
                    closed = true;
                    break;
                }
            }
            if (!closed) {
                free(b.p);
                snprintf(err, errsize,
                         "ERR Unmatched parenthesis in acl selector starting "
                         "at '%.*s'.",
                         (int)(al > 200 ? 200 : al), a);
                for (int k = 0; k < n; k++)
                    free(out[k]);
                free(out);
                return NULL;
            }
            out[n++] = sb_done(&b);
            i = j;
        } else {
            out[n++] = dupn(a, al);
        }
    }
    for (int k = 0; k < n; k++) {
        if (!out[k]) {
            for (int m = 0; m < n; m++)
                free(out[m]);
            free(out);
            snprintf(err, errsize, "ERR Out of memory");
            return NULL;
        }
    }
    *outc = n;
    return out;
}

static bool name_ok(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (isspace((unsigned char)s[i]) || s[i] == '\0')
            return false;
    return true;
}

/* Apply rules to a copy of u (or a new user); the copy in *out. */
static int apply_rules(dice_server_t *srv, const dice__acl_user *u,
                       const char *name, size_t namelen, int argc,
                       const char *const *argv, const size_t *argvlen,
                       dice__acl_user **out, char *err, size_t errsize) {
    int nr = 0;
    char **rules = merge_args(argc, argv, argvlen, &nr, err, errsize);
    if (!rules)
        return -1;
    dice__acl_user *w = u ? user_copy(u) : user_new(srv, name, namelen);
    int rc = 0;
    if (!w) {
        snprintf(err, errsize, "ERR Out of memory");
        rc = -1;
    }
    for (int i = 0; rc == 0 && i < nr; i++) {
        int e = user_rule(srv, w, rules[i], strlen(rules[i]));
        if (e) {
            snprintf(err, errsize,
                     "ERR Error in ACL SETUSER modifier '%.*s': %s",
                     (int)(strlen(rules[i]) > 300 ? 300 : strlen(rules[i])),
                     rules[i], rule_errors[e]);
            rc = -1;
        }
    }
    for (int i = 0; i < nr; i++)
        free(rules[i]);
    free(rules);
    if (rc < 0) {
        user_free(w);
        return -1;
    }
    user_update_cache(w);
    *out = w;
    return 0;
}

int dice__acl_setuser(dice_server_t *srv, const char *name, size_t namelen,
                      int argc, const char *const *argv, const size_t *argvlen,
                      char *err, size_t errsize) {
    if (!name_ok(name, namelen)) {
        snprintf(err, errsize,
                 "ERR Usernames can't contain spaces or null characters");
        return -1;
    }
    dice__acl_user *old = dice__acl_find(srv, name, namelen);
    dice__acl_user *w;
    if (apply_rules(srv, old, name, namelen, argc, argv, argvlen, &w, err,
                    errsize) < 0)
        return -1;
    if (!user_insert(&srv->acl, w)) {
        user_free(w);
        snprintf(err, errsize, "ERR Out of memory");
        return -1;
    }
    if (old) {
        if (old == srv->acl.def)
            srv->acl.def = w;
        refresh_clients_of(srv, old, w);
        user_free(old);
    }
    return 0;
}

/* Clients of a deleted user (or of one an ACL LOAD replaced) are closed
 * after the reply of the command running now, and meanwhile belong to the
 * default user, unauthenticated, as in Redis. */
static void kill_clients_of(dice_server_t *srv, const dice__acl_user *u) {
    for (int list = 0; list < 2; list++)
        for (dice_client_t *c = list ? srv->sessions : srv->clients; c;
             c = c->next) {
            if (c->user != u)
                continue;
            c->user = srv->acl.def;
            c->authenticated = false;
            dice__acl_client_refresh(c);
            if (!(c->flags & CLIENT_SESSION))
                dice_client_close_after_reply(c);
        }
}

bool dice__acl_deluser(dice_server_t *srv, const char *name, size_t len) {
    bool found;
    size_t i = user_index(&srv->acl, name, len, &found);
    if (!found || srv->acl.users[i] == srv->acl.def)
        return false;
    dice__acl_user *u = srv->acl.users[i];
    memmove(srv->acl.users + i, srv->acl.users + i + 1,
            (srv->acl.nusers - i - 1) * sizeof(*srv->acl.users));
    srv->acl.nusers--;
    kill_clients_of(srv, u);
    user_free(u);
    return true;
}

/* ---- Describing ------------------------------------------------------------
 */

static void describe_keys(sb *b, const dice__acl_selector *s) {
    if (s->flags & DICE__SEL_ALLKEYS) {
        sb_cstr(b, "~* ");
        return;
    }
    for (size_t i = 0; i < s->nkeys; i++) {
        unsigned p = s->keys[i].perm;
        sb_cstr(b, p == DICE__ACL_PERM_R   ? "%R~"
                   : p == DICE__ACL_PERM_W ? "%W~"
                                           : "~");
        sb_add(b, s->keys[i].pat, s->keys[i].len);
        sb_add(b, " ", 1);
    }
}

static void describe_chans(sb *b, const dice__acl_selector *s, bool reset) {
    if (s->flags & DICE__SEL_ALLCHANNELS) {
        sb_cstr(b, "&* ");
        return;
    }
    if (reset)
        sb_cstr(b, "resetchannels ");
    for (size_t i = 0; i < s->nchans; i++) {
        sb_add(b, "&", 1);
        sb_add(b, s->chans[i].pat, s->chans[i].len);
        sb_add(b, " ", 1);
    }
}

typedef struct desc_op {
    dice_server_t *srv;
    const dice__acl_selector *real;
    dice__acl_selector *fake;
    sb *b;
    unsigned cat;
    unsigned long on, off, absent, present;
} desc_op;

/* For one category: commands the user has that the rules so far do not
 * give (on), and commands the user lacks (off). A category is written
 * when it adds more than it would wrongly add (or the reverse for -@). */
static void count_cat(dice_command_t *cmd, void *arg) {
    desc_op *d = arg;
    if (dice__command_acl(cmd) & d->cat) {
        bool real = sel_bit(d->real, cmd->acl_id);
        bool fake = sel_bit(d->fake, cmd->acl_id);
        if (real && !fake)
            d->on++;
        else if (!real && fake)
            d->off++;
        else if (!real)
            d->absent++;
        else
            d->present++;
    }
}

/* Emit the single-command differences between the user's bitmap and what
 * the rules written so far give (Redis walks its command dict; its order
 * there is hash order, ours the table's). */
static void single_cmd(dice_command_t *cmd, desc_op *d) {
    bool ub = sel_bit(d->real, cmd->acl_id);
    bool fb = sel_bit(d->fake, cmd->acl_id);
    if (ub != fb) {
        sb_add(d->b, ub ? "+" : "-", 1);
        sb_cstr(d->b, cmd->fullname);
        sb_add(d->b, " ", 1);
        sel_change(d->fake, cmd, ub);
    }
    for (size_t i = 0; i < cmd->nsubs; i++)
        single_cmd(cmd->subs[i], d);
    const dice__acl_firstargs *fa = sel_fa(d->real, cmd->acl_id);
    if (!ub && fa) {
        for (size_t j = 0; j < fa->n; j++) {
            sb_add(d->b, "+", 1);
            sb_cstr(d->b, cmd->fullname);
            sb_add(d->b, "|", 1);
            sb_cstr(d->b, fa->args[j]);
            sb_add(d->b, " ", 1);
        }
    }
}

/* single_cmd for a command rename-command removed (ACL rules still know
 * it by its name, as Redis's orig_commands do). */
static void single_removed(dice_command_t *cmd, void *arg) {
    single_cmd(cmd, arg);
}

static void describe_cmds(dice_server_t *srv, sb *b,
                          const dice__acl_selector *s) {
    dice__acl_selector fake = {0};
    bool additive = !(s->flags & DICE__SEL_FUTURE);
    sb_cstr(b, additive ? "-@all " : "+@all ");
    sel_all(&fake, !additive);
    desc_op d = {srv, s, &fake, b, 0, 0, 0, 0, 0};
    for (unsigned bit = 0; dice__acl_category_name(bit); bit++) {
        d.cat = 1u << bit;
        d.on = d.off = d.absent = d.present = 0;
        dice__acl_visit_commands(srv, count_cat, &d);
        /* +@cat gains the "on" commands and wrongly adds the absent ones;
         * -@cat removes the "off" ones and wrongly removes the present. */
        if ((additive && d.on > d.absent) || (!additive && d.off > d.present)) {
            cat_op c = {&fake, d.cat, additive, true, 0, 0};
            dice__acl_visit_commands(srv, cat_apply, &c);
            sb_cstr(b, additive ? "+@" : "-@");
            sb_cstr(b, dice__acl_category_name(bit));
            sb_add(b, " ", 1);
        }
    }
    const dice_cmdtable_t *t = &srv->commands;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i])
            single_cmd(t->slots[i], &d);
    dice__cmdtable_visit_removed(t, single_removed, &d);
    sel_clear(&fake);
    sb_trim(b);
}

char *dice__acl_describe_cmds(dice_server_t *srv, const dice__acl_selector *s) {
    sb b = {0};
    describe_cmds(srv, &b, s);
    return sb_done(&b);
}

char *dice__acl_describe_keys(const dice__acl_selector *s) {
    sb b = {0};
    describe_keys(&b, s);
    sb_trim(&b);
    return sb_done(&b);
}

char *dice__acl_describe_chans(const dice__acl_selector *s, bool reset) {
    sb b = {0};
    describe_chans(&b, s, reset);
    sb_trim(&b);
    return sb_done(&b);
}

static void describe_selector(dice_server_t *srv, sb *b,
                              const dice__acl_selector *s) {
    describe_keys(b, s);
    describe_chans(b, s, true);
    describe_cmds(srv, b, s);
}

char *dice__acl_describe_user(dice_server_t *srv, const dice__acl_user *u) {
    sb b = {0};
    sb_cstr(&b, (u->flags & DICE__USER_ON) ? "on " : "off ");
    if (u->flags & DICE__USER_NOPASS)
        sb_cstr(&b, "nopass ");
    if (u->flags & DICE__USER_SKIP_SANITIZE)
        sb_cstr(&b, "skip-sanitize-payload ");
    if (u->flags & DICE__USER_SANITIZE)
        sb_cstr(&b, "sanitize-payload ");
    for (size_t i = 0; i < u->npass; i++) {
        char hex[65];
        dice__hex(u->pass[i], 32, hex);
        sb_add(&b, "#", 1);
        sb_add(&b, hex, 64);
        sb_add(&b, " ", 1);
    }
    describe_selector(srv, &b, &u->sel[0]);
    for (size_t i = 1; i < u->nsel; i++) {
        sb_cstr(&b, " (");
        describe_selector(srv, &b, &u->sel[i]);
        sb_add(&b, ")", 1);
    }
    return sb_done(&b);
}

/* ---- Checking
 * ---------------------------------------------------------------- */

/* Read/write permission a key of these key-spec flags needs (Redis's
 * ACLSelectorCheckKey). */
static unsigned needed_perm(unsigned ksf) {
    unsigned p = 0;
    if (ksf & DICE__KS_ACCESS)
        p |= DICE__ACL_PERM_R;
    if (ksf & (DICE__KS_INSERT | DICE__KS_DELETE | DICE__KS_UPDATE))
        p |= DICE__ACL_PERM_W;
    return p;
}

static bool key_ok(const dice__acl_selector *s, const char *k, size_t kl,
                   unsigned ksf) {
    unsigned need = needed_perm(ksf);
    for (size_t i = 0; i < s->nkeys; i++) {
        if ((s->keys[i].perm & need) != need)
            continue;
        if (dice_glob_match(s->keys[i].pat, s->keys[i].len, k, kl, 0))
            return true;
    }
    return false;
}

static bool chan_ok(const dice__acl_selector *s, const char *ch, size_t n,
                    bool pattern) {
    for (size_t i = 0; i < s->nchans; i++) {
        const dice__acl_pattern *p = &s->chans[i];
        if (pattern) {
            if (p->len == n && memcmp(p->pat, ch, n) == 0)
                return true;
        } else if (dice_glob_match(p->pat, p->len, ch, n, 0)) {
            return true;
        }
    }
    return false;
}

#define MAX_KEYS 256

typedef struct keyref {
    int pos;
    unsigned flags;
} keyref;

/* Keys of one spec (Redis's getKeysUsingKeySpecs for one spec): false
 * when the spec cannot be followed (unknown begin or find). */
static bool spec_keys(const dice__key_spec *ks, int argc,
                      const char *const *argv, const size_t *argvlen,
                      keyref *out, int *n) {
    int first;
    if (ks->bs_type == DICE__BS_INDEX) {
        first = ks->bs_index;
    } else if (ks->bs_type == DICE__BS_KEYWORD) {
        int start = ks->bs_index > 0 ? ks->bs_index : argc + ks->bs_index;
        int end = ks->bs_index > 0 ? argc - 1 : 0;
        first = -1;
        for (int i = start; i != end; i = start <= end ? i + 1 : i - 1) {
            if (i >= argc || i < 1)
                break;
            if (dice__fold((unsigned char)argv[i][0]) ==
                    dice__fold((unsigned char)ks->bs_keyword[0]) &&
                strlen(ks->bs_keyword) == argvlen[i] &&
                strncasecmp(argv[i], ks->bs_keyword, argvlen[i]) == 0) {
                first = i + 1;
                break;
            }
        }
        if (first < 0)
            return true;
    } else {
        return false;
    }
    int last, step;
    if (ks->fk_type == DICE__FK_RANGE) {
        int lastkey = ks->fk[0], limit = ks->fk[2];
        step = ks->fk[1];
        if (lastkey >= 0)
            last = first + lastkey;
        else if (limit <= 1)
            last = argc + lastkey;
        else
            last = first + ((argc - first) / limit + lastkey);
    } else if (ks->fk_type == DICE__FK_KEYNUM) {
        int idx = first + ks->fk[0];
        long long nk;
        if (idx >= argc || !dice__str2ll(argv[idx], argvlen[idx], &nk) ||
            nk < 0 || nk > argc)
            return true;
        first += ks->fk[1];
        last = first + (int)nk - 1;
        step = ks->fk[2];
    } else {
        return false;
    }
    if (step < 1)
        step = 1;
    for (int i = first; i <= last && *n < MAX_KEYS; i += step) {
        if (i >= argc || i < first)
            break;
        out[*n].pos = i;
        out[*n].flags = ks->flags;
        (*n)++;
    }
    return true;
}

/* Commands whose key access depends on their arguments
 * (VARIABLE_FLAGS): Redis's setGetKeys and bitfieldGetKeys. */
static unsigned variable_flags(const dice_command_t *cmd, int argc,
                               const char *const *argv, const size_t *argvlen,
                               unsigned spec) {
    if (strcmp(cmd->fullname, "set") == 0) {
        for (int i = 3; i < argc; i++)
            if (word_eq(argv[i], argvlen[i], "get"))
                return DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_UPDATE;
        return DICE__KS_OW | DICE__KS_UPDATE;
    }
    if (strcmp(cmd->fullname, "bitfield") == 0) {
        unsigned f = 0;
        for (int i = 2; i < argc; i++) {
            if (word_eq(argv[i], argvlen[i], "get"))
                f |= DICE__KS_ACCESS;
            else if (word_eq(argv[i], argvlen[i], "set") ||
                     word_eq(argv[i], argvlen[i], "incrby"))
                f |= DICE__KS_UPDATE;
        }
        /* Any write makes the key read-write (bitfieldGetKeys). */
        return (f & DICE__KS_UPDATE)
                   ? DICE__KS_RW | DICE__KS_ACCESS | DICE__KS_UPDATE
                   : DICE__KS_RO | DICE__KS_ACCESS;
    }
    return spec;
}

/* Every key of a call with the flags Redis gives it. */
static int command_keys(const dice_command_t *cmd, int argc,
                        const char *const *argv, const size_t *argvlen,
                        keyref *out) {
    int n = 0;
    if (cmd->nkeyspecs == 0) {
        unsigned fl = 0;
        if (cmd->flags & DICE_CMD_WRITE)
            fl = DICE__KS_RW | DICE__KS_UPDATE;
        else if (cmd->flags & DICE_CMD_READONLY)
            fl = DICE__KS_RO | DICE__KS_ACCESS;
        else if (cmd->flags & DICE_CMD_PUBSUB)
            return 0; /* shard channels: not keys */
        int pos[MAX_KEYS];
        int k = dice__command_key_positions(cmd, argc, argv, argvlen, pos,
                                            MAX_KEYS);
        for (int i = 0; i < k; i++) {
            out[n].pos = pos[i];
            out[n].flags = fl;
            n++;
        }
        return n;
    }
    unsigned rest = 0; /* flags of specs that could not be followed */
    unsigned all = 0;
    for (int i = 0; i < cmd->nkeyspecs; i++) {
        const dice__key_spec *ks = &cmd->keyspecs[i];
        all |= ks->flags;
        if (ks->flags & DICE__KS_NOT_KEY)
            continue;
        /* The last spec that cannot be followed stands for the keys only
         * the command's key finder knows (SORT's STORE key is last). */
        if (!spec_keys(ks, argc, argv, argvlen, out, &n) ||
            (ks->flags & DICE__KS_INCOMPLETE))
            rest = ks->flags;
    }
    if (all & DICE__KS_VARIABLE_FLAGS)
        for (int i = 0; i < n; i++)
            out[i].flags =
                variable_flags(cmd, argc, argv, argvlen, out[i].flags);
    if (cmd->getkeys) {
        /* Positions the specs did not give come from the command's own
         * key finder, with the flags of the specs it stands in for. */
        int pos[MAX_KEYS];
        int k = cmd->getkeys(argc, argv, argvlen, pos, MAX_KEYS);
        for (int i = 0; i < k && n < MAX_KEYS; i++) {
            bool seen = false;
            for (int j = 0; j < n && !seen; j++)
                seen = out[j].pos == pos[i];
            if (!seen) {
                out[n].pos = pos[i];
                out[n].flags = rest ? rest : all;
                n++;
            }
        }
    }
    return n;
}

/* The channels of PUBLISH/SPUBLISH (argument 1) and the subscribe
 * commands (every argument; PSUBSCRIBE's are patterns). */
static int command_channels(const dice_command_t *cmd, int argc, int *first,
                            int *last, bool *pattern) {
    const char *n = cmd->fullname;
    *pattern = false;
    if (!strcmp(n, "publish") || !strcmp(n, "spublish")) {
        *first = *last = 1;
        return 1;
    }
    if (!strcmp(n, "subscribe") || !strcmp(n, "ssubscribe") ||
        !strcmp(n, "psubscribe")) {
        *pattern = n[0] == 'p';
        *first = 1;
        *last = argc - 1;
        return 1;
    }
    return 0;
}

static int selector_check(const dice__acl_selector *s,
                          const dice_command_t *cmd, int argc,
                          const char *const *argv, const size_t *argvlen,
                          int *idx) {
    if (!(s->flags & DICE__SEL_ALLCOMMANDS) &&
        !(cmd->flags & DICE_CMD_NOAUTH) && !sel_bit(s, cmd->acl_id)) {
        const dice__acl_firstargs *fa = sel_fa(s, cmd->acl_id);
        bool ok = false;
        for (size_t i = 0; fa && argc >= 2 && i < fa->n && !ok; i++)
            ok = strlen(fa->args[i]) == argvlen[1] &&
                 strncasecmp(fa->args[i], argv[1], argvlen[1]) == 0;
        if (!ok)
            return DICE__ACL_DENIED_CMD;
    }
    if (!(s->flags & DICE__SEL_ALLKEYS) &&
        (cmd->first_key > 0 || cmd->getkeys || cmd->nkeyspecs > 0)) {
        keyref keys[MAX_KEYS];
        int n = command_keys(cmd, argc, argv, argvlen, keys);
        for (int i = 0; i < n; i++) {
            int p = keys[i].pos;
            if (!key_ok(s, argv[p], argvlen[p], keys[i].flags)) {
                *idx = p;
                return DICE__ACL_DENIED_KEY;
            }
        }
    }
    if (!(s->flags & DICE__SEL_ALLCHANNELS)) {
        int first, last;
        bool pattern;
        if (command_channels(cmd, argc, &first, &last, &pattern))
            for (int i = first; i <= last && i < argc; i++)
                if (!chan_ok(s, argv[i], argvlen[i], pattern)) {
                    *idx = i;
                    return DICE__ACL_DENIED_CHANNEL;
                }
    }
    return DICE__ACL_OK;
}

int dice__acl_check(dice_server_t *srv, const dice__acl_user *u,
                    const dice_command_t *cmd, int argc,
                    const char *const *argv, const size_t *argvlen, int *idx) {
    (void)srv;
    if (u->unrestricted)
        return DICE__ACL_OK;
    /* Any selector may allow; when none does, the most relevant denial
     * (the highest DICE__ACL_DENIED_*: channel > key > command) is the
     * one reported, as Redis's ACLCheckAllUserCommandPerm. */
    int worst = DICE__ACL_OK;
    int worst_idx = 0;
    for (size_t i = 0; i < u->nsel; i++) {
        int k = 0;
        int r = selector_check(&u->sel[i], cmd, argc, argv, argvlen, &k);
        if (r == DICE__ACL_OK)
            return DICE__ACL_OK;
        if (r > worst) {
            worst = r;
            worst_idx = k;
        }
    }
    *idx = worst_idx;
    return worst;
}

bool dice__acl_check_client(dice_client_t *c, const dice_command_t *cmd,
                            int argc, const char *const *argv,
                            const size_t *argvlen) {
    int idx = 0;
    int r = dice__acl_check(c->srv, c->user, cmd, argc, argv, argvlen, &idx);
    if (r == DICE__ACL_OK)
        return true;
    const char *obj = cmd->fullname;
    size_t objlen = strlen(obj);
    if (r != DICE__ACL_DENIED_CMD) {
        obj = argv[idx];
        objlen = argvlen[idx];
    }
    /* As Redis, which sets the client's last command when it looks the
     * command up: the log's client info (and CLIENT LIST) name it. */
    c->last_cmd = cmd->fullname;
    dice__acl_log_add(c, r, obj, objlen, c->user->name, c->user->namelen);
    const char *why = r == DICE__ACL_DENIED_CMD ? NULL
                      : r == DICE__ACL_DENIED_KEY
                          ? "NOPERM this user has no permissions to "
                            "access one of the keys used as "
                            "arguments"
                          : "NOPERM this user has no permissions to "
                            "access one of the channels used as "
                            "arguments";
    if (cmd->flags & DICE__CMD_EXEC) {
        dice__multi_discard(c);
        if (why)
            dice__reply_errorf(c,
                               "EXECABORT Transaction discarded because "
                               "of: %s",
                               why);
        else
            dice__reply_errorf(c,
                               "EXECABORT Transaction discarded because of: "
                               "NOPERM this user has no permissions to run "
                               "the '%s' command",
                               cmd->fullname);
    } else if (why) {
        dice_reply_error(c, why, strlen(why));
    } else {
        dice__reply_errorf(c,
                           "NOPERM this user has no permissions to run the "
                           "'%s' command",
                           cmd->fullname);
    }
    return false;
}

static void log_add(dice_client_t *c, int reason, int ctx, const char *object,
                    size_t objlen, const char *username, size_t ulen);

int dice__acl_check_script(dice_client_t *caller, const dice_command_t *cmd,
                           int argc, const char *const *argv,
                           const size_t *argvlen) {
    const dice__acl_user *u = caller->user;
    int idx = 0;
    int r = dice__acl_check(caller->srv, u, cmd, argc, argv, argvlen, &idx);
    if (r == DICE__ACL_OK)
        return r;
    if (r == DICE__ACL_DENIED_CMD)
        log_add(caller, r, DICE__ACL_CTX_LUA, cmd->fullname,
                strlen(cmd->fullname), u->name, u->namelen);
    else
        log_add(caller, r, DICE__ACL_CTX_LUA, argv[idx], argvlen[idx], u->name,
                u->namelen);
    return r;
}

void dice__acl_client_refresh(dice_client_t *c) {
    if (!c->user || c->user->unrestricted)
        c->flags &= ~CLIENT_ACL;
    else
        c->flags |= CLIENT_ACL;
}

bool dice__acl_auth_required(const dice_server_t *srv) {
    const dice__acl_user *d = srv->acl.def;
    return !(d->flags & DICE__USER_NOPASS) || !(d->flags & DICE__USER_ON);
}

bool dice__acl_authenticate(dice_client_t *c, const char *cmd, size_t cmdlen,
                            const char *user, size_t ulen, const char *pass,
                            size_t plen) {
    dice__acl_user *u = dice__acl_find(c->srv, user, ulen);
    bool ok = false;
    if (u && (u->flags & DICE__USER_ON)) {
        if (u->flags & DICE__USER_NOPASS) {
            ok = true;
        } else {
            uint8_t h[32];
            dice__sha256_digest(pass, plen, h);
            /* Every hash is compared, each in constant time. */
            for (size_t i = 0; i < u->npass; i++)
                ok |= dice__ct_equal(u->pass[i], h, 32);
        }
    }
    if (!ok) {
        dice__acl_log_add(c, DICE__ACL_DENIED_AUTH, cmd, cmdlen, user, ulen);
        return false;
    }
    c->user = u;
    c->authenticated = true;
    dice__acl_client_refresh(c);
    return true;
}

void dice__acl_apply_requirepass(dice_server_t *srv) {
    dice__acl_user *d = srv->acl.def;
    const char *p = srv->cfg.requirepass;
    /* Redis: resetpass, then >password, or nopass when empty. */
    pass_clear(d);
    d->flags &= ~DICE__USER_NOPASS;
    if (p && *p) {
        uint8_t h[32];
        dice__sha256_digest(p, strlen(p), h);
        pass_add(d, h);
    } else {
        d->flags |= DICE__USER_NOPASS;
    }
}

/* ---- Log ------------------------------------------------------------------
 */

const char *dice__acl_reason_name(int reason) {
    switch (reason) {
    case DICE__ACL_DENIED_CMD: return "command";
    case DICE__ACL_DENIED_KEY: return "key";
    case DICE__ACL_DENIED_CHANNEL: return "channel";
    default: return "auth";
    }
}

static void log_entry_free(dice__acl_log_entry *e) {
    free(e->object);
    free(e->username);
    free(e->cinfo);
}

void dice__acl_log_reset(dice_server_t *srv) {
    for (size_t i = 0; i < srv->acl.nlog; i++)
        log_entry_free(&srv->acl.log[i]);
    free(srv->acl.log);
    srv->acl.log = NULL;
    srv->acl.nlog = 0;
}

/* Redis groups an entry with an equal one (reason, context, object,
 * user) less than 60 s old: count + 1, fresh time and client, to the
 * front. */
void dice__acl_log_add(dice_client_t *c, int reason, const char *object,
                       size_t objlen, const char *username, size_t ulen) {
    int ctx = (c->flags & (CLIENT_MULTI | CLIENT_IN_EXEC))
                  ? DICE__ACL_CTX_MULTI
                  : DICE__ACL_CTX_TOPLEVEL;
    log_add(c, reason, ctx, object, objlen, username, ulen);
}

static void log_add(dice_client_t *c, int reason, int ctx, const char *object,
                    size_t objlen, const char *username, size_t ulen) {
    dice_server_t *srv = c->srv;
    dice__acl *a = &srv->acl;
    size_t max = (size_t)srv->cfg.acllog_max_len;
    if (max == 0)
        return;
    uint64_t now = dice_loop_unix_ms(srv->loop) > 0
                       ? (uint64_t)dice_loop_unix_ms(srv->loop)
                       : 0;
    dice_buf_t b;
    dice__buf_init(&b);
    dice__client_info_line(&b, c, c, 0);
    char *cinfo = dupn(b.data ? (const char *)b.data : "", b.len);
    dice__buf_release(&b);
    if (!cinfo)
        return;
    for (size_t i = 0; i < a->nlog; i++) {
        dice__acl_log_entry *e = &a->log[i];
        if (e->reason == reason && e->context == ctx &&
            strlen(e->object) == objlen &&
            memcmp(e->object, object, objlen) == 0 &&
            strlen(e->username) == ulen &&
            memcmp(e->username, username, ulen) == 0 &&
            now - e->ctime_ms < 60000) {
            dice__acl_log_entry keep = *e;
            keep.count++;
            keep.ctime_ms = now;
            free(keep.cinfo);
            keep.cinfo = cinfo;
            memmove(a->log + 1, a->log, i * sizeof(*a->log));
            a->log[0] = keep;
            return;
        }
    }
    dice__acl_log_entry e = {
        1, reason, ctx, dupn(object, objlen), dupn(username, ulen), now, cinfo};
    if (!e.object || !e.username) {
        log_entry_free(&e);
        return;
    }
    if (a->nlog >= max) {
        while (a->nlog >= max)
            log_entry_free(&a->log[--a->nlog]);
    } else {
        dice__acl_log_entry *nl = realloc(a->log, (a->nlog + 1) * sizeof(*nl));
        if (!nl) {
            log_entry_free(&e);
            return;
        }
        a->log = nl;
    }
    memmove(a->log + 1, a->log, a->nlog * sizeof(*a->log));
    a->log[0] = e;
    a->nlog++;
}

/* ---- ACL file ---------------------------------------------------------------
 */

/* The words of a line, split at spaces (an ACL file has no quoting). */
static int split_words(char *line, const char **w, size_t *wl, int max) {
    int n = 0;
    char *p = line;
    while (*p && n < max) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (!*p)
            break;
        char *s = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            p++;
        w[n] = s;
        wl[n] = (size_t)(p - s);
        n++;
    }
    return n;
}

/* Users from lines ("user <name> rules..."), into a fresh set with a
 * default user made as at startup. Returns 0 or -1 with err set ("where:
 * why"). */
static int users_from_lines(dice_server_t *srv, char **lines, size_t nlines,
                            const char *where, dice__acl *out, char *err,
                            size_t errsize) {
    memset(out, 0, sizeof(*out));
    /* The default user stays as it is (requirepass included) unless a
     * line defines it. */
    dice__acl_user *def = user_copy(srv->acl.def);
    if (!def || !user_insert(out, def)) {
        user_free(def);
        snprintf(err, errsize, "ERR Out of memory");
        return -1;
    }
    out->def = def;
    bool def_seen = false;
    enum { MAXW = 1024 };
    const char **w = malloc(MAXW * sizeof(*w));
    size_t *wl = malloc(MAXW * sizeof(*wl));
    int rc = 0;
    for (size_t li = 0; rc == 0 && w && wl && li < nlines; li++) {
        char *copy = strdup(lines[li]);
        if (!copy) {
            rc = -1;
            snprintf(err, errsize, "ERR Out of memory");
            break;
        }
        int n = split_words(copy, w, wl, MAXW);
        if (n == 0 || w[0][0] == '#') {
            free(copy);
            continue;
        }
        if (!word_eq(w[0], wl[0], "user") || n < 2) {
            snprintf(err, errsize,
                     "%s:%zu: line should start with user keyword", where,
                     li + 1);
            rc = -1;
        } else if (!name_ok(w[1], wl[1])) {
            snprintf(
                err, errsize,
                "%s:%zu: Usernames can't contain spaces or null characters",
                where, li + 1);
            rc = -1;
        } else {
            dice__acl_user *old = NULL;
            bool found;
            size_t idx = user_index(out, w[1], wl[1], &found);
            if (found)
                old = out->users[idx];
            bool is_def = old == def;
            if (old && (!is_def || def_seen)) {
                snprintf(err, errsize, "%s:%zu: %s", where, li + 1,
                         rule_errors[E_DUP]);
                rc = -1;
            } else {
                char e2[512];
                dice__acl_user *nu;
                /* A user line starts from a fresh user, the default one
                 * too (Redis resets it first). */
                dice__acl_user *fresh = user_new(srv, w[1], wl[1]);
                if (!fresh || apply_rules(srv, fresh, w[1], wl[1], n - 2, w + 2,
                                          wl + 2, &nu, e2, sizeof(e2)) < 0) {
                    snprintf(err, errsize, "%s:%zu: %s", where, li + 1,
                             fresh ? e2 + 4 : "Out of memory");
                    rc = -1;
                } else {
                    user_insert(out, nu);
                    if (is_def) {
                        out->def = nu;
                        def_seen = true;
                        user_free(def);
                        def = nu;
                    }
                }
                user_free(fresh);
            }
        }
        free(copy);
    }
    free(w);
    free(wl);
    if (rc < 0) {
        for (size_t i = 0; i < out->nusers; i++)
            user_free(out->users[i]);
        free(out->users);
        memset(out, 0, sizeof(*out));
    }
    return rc;
}

static void users_free(dice__acl *a) {
    for (size_t i = 0; i < a->nusers; i++)
        user_free(a->users[i]);
    free(a->users);
    a->users = NULL;
    a->nusers = a->cap = 0;
}

static int read_lines(const char *path, char ***lines, size_t *n) {
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    *lines = NULL;
    *n = 0;
    while (getline(&line, &cap, f) >= 0) {
        char **nl = realloc(*lines, (*n + 1) * sizeof(*nl));
        if (!nl)
            break;
        *lines = nl;
        (*lines)[(*n)++] = strdup(line);
    }
    free(line);
    fclose(f);
    return 0;
}

static void lines_free(char **l, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

/* Replace the server's users with set (Redis keeps the default user's
 * object and kills the clients of every other old user). */
static void users_replace(dice_server_t *srv, dice__acl *set) {
    dice__acl old = srv->acl;
    srv->acl.users = set->users;
    srv->acl.nusers = set->nusers;
    srv->acl.cap = set->cap;
    srv->acl.def = set->def;
    for (size_t i = 0; i < old.nusers; i++) {
        dice__acl_user *u = old.users[i];
        if (u == old.def)
            refresh_clients_of(srv, u, srv->acl.def);
        else
            kill_clients_of(srv, u);
        user_free(u);
    }
    free(old.users);
}

int dice__acl_load(dice_server_t *srv, char *err, size_t errsize) {
    const char *path = srv->cfg.aclfile;
    char **lines;
    size_t n;
    if (read_lines(path, &lines, &n) < 0) {
        snprintf(err, errsize, "ERR Error loading ACLs, opening file '%s': %s",
                 path, strerror(errno));
        return -1;
    }
    dice__acl set;
    char e[1024];
    int rc = users_from_lines(srv, lines, n, path, &set, e, sizeof(e));
    lines_free(lines, n);
    if (rc < 0) {
        snprintf(err, errsize, "ERR %s", strncmp(e, "ERR ", 4) ? e : e + 4);
        return -1;
    }
    users_replace(srv, &set);
    return 0;
}

int dice__acl_save(dice_server_t *srv, char *err, size_t errsize) {
    const char *path = srv->cfg.aclfile;
    sb b = {0};
    for (size_t i = 0; i < srv->acl.nusers; i++) {
        dice__acl_user *u = srv->acl.users[i];
        char *d = dice__acl_describe_user(srv, u);
        sb_cstr(&b, "user ");
        sb_add(&b, u->name, u->namelen);
        sb_add(&b, " ", 1);
        sb_cstr(&b, d ? d : "");
        sb_add(&b, "\n", 1);
        free(d);
    }
    char *text = sb_done(&b);
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 32);
    int rc = -1;
    if (text && tmp) {
        snprintf(tmp, pl + 32, "%s.tmp-%d", path, (int)getpid());
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            size_t len = strlen(text), off = 0;
            while (off < len) {
                ssize_t w = write(fd, text + off, len - off);
                if (w <= 0)
                    break;
                off += (size_t)w;
            }
            if (off == len && fsync(fd) == 0 && close(fd) == 0) {
                fd = -1;
                rc = rename(tmp, path) == 0 ? 0 : -1;
            }
            if (fd >= 0)
                close(fd);
            if (rc < 0)
                unlink(tmp);
        }
    }
    if (rc < 0) {
        dice__logf(srv, DICE_LOG_WARNING, "Error saving ACLs to %s: %s", path,
                   strerror(errno));
        snprintf(err, errsize,
                 "ERR There was an error trying to save the ACLs. Please "
                 "check the server logs for more information");
    }
    free(tmp);
    free(text);
    return rc;
}

/* ---- Lifetime
 * ---------------------------------------------------------------- */

int dice__acl_init(dice_server_t *srv) {
    dice__acl_user *def = user_new(srv, "default", 7);
    if (!def || !user_insert(&srv->acl, def)) {
        user_free(def);
        return DICE_ENOMEM;
    }
    srv->acl.def = def;
    def->flags |= DICE__USER_ON | DICE__USER_NOPASS;
    def->sel[0].flags |= DICE__SEL_ALLKEYS | DICE__SEL_ALLCHANNELS;
    sel_all(&def->sel[0], true);
    user_update_cache(def);
    return 0;
}

void dice__acl_free(dice_server_t *srv) {
    users_free(&srv->acl);
    dice__acl_log_reset(srv);
    lines_free(srv->acl.cfg_users, srv->acl.ncfg_users);
    lines_free(srv->acl.renames, srv->acl.nrenames);
}

static int push_line(char ***v, size_t *n, const char *value) {
    char **nv = realloc(*v, (*n + 1) * sizeof(*nv));
    if (!nv)
        return DICE_ENOMEM;
    *v = nv;
    if (!(nv[*n] = strdup(value)))
        return DICE_ENOMEM;
    (*n)++;
    return 0;
}

int dice__acl_config_user(dice_server_t *srv, const char *value) {
    size_t n = strlen(value) + 6;
    char *line = malloc(n);
    if (!line)
        return DICE_ENOMEM;
    snprintf(line, n, "user %s", value);
    int rc = push_line(&srv->acl.cfg_users, &srv->acl.ncfg_users, line);
    free(line);
    return rc;
}

int dice__acl_config_rename(dice_server_t *srv, const char *value) {
    return push_line(&srv->acl.renames, &srv->acl.nrenames, value);
}

static int apply_renames(dice_server_t *srv) {
    for (size_t i = 0; i < srv->acl.nrenames; i++) {
        char **argv = NULL;
        const char *v = srv->acl.renames[i];
        int argc = dice__split_args(v, strlen(v), &argv);
        int rc = 0;
        /* The file's `rename-command X ""` arrives as one word. */
        if (argc != 1 && argc != 2) {
            snprintf(srv->cfg_err, sizeof(srv->cfg_err),
                     "wrong number of arguments");
            rc = DICE_EINVAL;
        } else if ((rc = dice__cmdtable_rename(&srv->commands, argv[0],
                                               argc == 2 ? argv[1] : "")) < 0) {
            snprintf(srv->cfg_err, sizeof(srv->cfg_err),
                     rc == DICE_ENOENT ? "No such command in rename-command"
                                       : "Target command name already exists");
        }
        dice__split_free(argv, argc < 0 ? 0 : argc);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int start_users(dice_server_t *srv);

int dice__acl_start(dice_server_t *srv) {
    int rc = apply_renames(srv);
    if (rc == 0)
        rc = start_users(srv);
    /* A host sees the reason in dice_server_config_error; the log says it
     * too, as Redis's fatal config errors do. */
    if (rc < 0)
        dice__logf(srv, DICE_LOG_WARNING, "%s", srv->cfg_err);
    return rc;
}

static int start_users(dice_server_t *srv) {
    bool file = srv->cfg.aclfile && *srv->cfg.aclfile;
    if (file && srv->acl.ncfg_users) {
        snprintf(srv->cfg_err, sizeof(srv->cfg_err),
                 "Configuring users in the config file and an ACL file at "
                 "the same time is invalid: define either, not both.");
        return DICE_EINVAL;
    }
    char err[1024];
    if (file) {
        if (dice__acl_load(srv, err, sizeof(err)) < 0) {
            snprintf(srv->cfg_err, sizeof(srv->cfg_err), "%.250s", err + 4);
            return DICE_EINVAL;
        }
    } else if (srv->acl.ncfg_users) {
        dice__acl set;
        if (users_from_lines(srv, srv->acl.cfg_users, srv->acl.ncfg_users,
                             "config", &set, err, sizeof(err)) < 0) {
            snprintf(srv->cfg_err, sizeof(srv->cfg_err), "%.250s", err);
            return DICE_EINVAL;
        }
        users_replace(srv, &set);
    }
    return 0;
}
