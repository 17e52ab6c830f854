/* Settings by name, as redis.conf and CONFIG GET/SET spell them: parsing
 * of values (memory units, enums, booleans), the config file reader, and
 * the inline-style argument splitter both use. */
#include "dice/db.h"
#include "server/server_internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dice_settings_init(dice_settings_t *s) {
    memset(s, 0, sizeof(*s));
    s->bind = strdup("127.0.0.1");
    s->port = 7379;
    s->maxclients = 0;
    s->proto_max_bulk_len = 512LL * 1024 * 1024;
    s->max_multibulk = 1024 * 1024;
    s->inline_max = 64 * 1024;
    s->query_buf_limit = 1024LL * 1024 * 1024;
    s->output_pause = 1024 * 1024;
    s->databases = 16;
    s->loglevel = DICE_LOG_NOTICE;
    s->tcp_backlog = 511;
    s->hz = 10;
}

void dice_settings_free(dice_settings_t *s) {
    free(s->bind);
    free(s->requirepass);
    free(s->dir);
    free(s->logfile);
    memset(s, 0, sizeof(*s));
}

/* ---- Value parsing ------------------------------------------------------ */

/* Redis 7.0's memory notation (memtoull): digits only (no sign, no
 * spaces), then nothing or one of b, k, kb, m, mb, g, gb, case-insensitive
 * (k = 1000, kb = 1024). "mb" alone is 0 mb. Returns false when the text
 * is not of that shape; *overflow is set (and *out undefined) when it is
 * but the number does not fit a long long, which Redis reports as out of
 * the setting's range. */
static bool parse_memory(const char *v, long long *out, bool *overflow) {
    static const struct {
        const char *u;
        unsigned long long m;
    } units[] = {{"", 1},
                 {"b", 1},
                 {"k", 1000ULL},
                 {"kb", 1024ULL},
                 {"m", 1000000ULL},
                 {"mb", 1024ULL * 1024},
                 {"g", 1000000000ULL},
                 {"gb", 1024ULL * 1024 * 1024}};
    *overflow = false;
    size_t digits = 0;
    while (v[digits] >= '0' && v[digits] <= '9')
        digits++;
    size_t i;
    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcasecmp(v + digits, units[i].u) == 0)
            break;
    /* Redis copies the digits into a 128-byte buffer first. */
    if (i == sizeof(units) / sizeof(units[0]) || digits >= 128)
        return false;
    unsigned long long n = 0;
    for (size_t d = 0; d < digits; d++) {
        unsigned dv = (unsigned)(v[d] - '0');
        if (n > (ULLONG_MAX - dv) / 10) {
            *overflow = true;
            return true;
        }
        n = n * 10 + dv;
    }
    /* Redis lets the product wrap; a value past 2^63 is out of range. */
    if (n > (unsigned long long)LLONG_MAX / units[i].m) {
        *overflow = true;
        return true;
    }
    *out = (long long)(n * units[i].m);
    return true;
}

/* Redis's strict integer syntax (string2ll): no sign but '-', no spaces,
 * no leading zeros, no "-0", within a long long. */
static bool parse_int(const char *v, long long *out) {
    return dice_resp_str2ll(v, strlen(v), out);
}

static const char *const loglevel_names[] = {"debug", "verbose", "notice",
                                             "warning", NULL};
/* enable-debug-command, enable-protected-configs: DICE_ALLOW_* order. */
static const char *const allow_names[] = {"no", "yes", "local", NULL};

/* ---- The table ---------------------------------------------------------- */

enum { T_INT, T_MEM, T_STR, T_ENUM };

enum {
    S_IMMUTABLE = 1u << 0, /* cannot change once the server is started */
    S_PROTECTED = 1u << 1  /* CONFIG SET needs enable-protected-configs */
};

typedef struct setting {
    const char *name;
    int type;
    unsigned flags; /* S_* */
    size_t off;     /* offset into dice_settings_t */
    int sz;         /* sizeof the int field */
    long long lo, hi;
    const char *const *names; /* T_ENUM: the values, NULL-terminated */
} setting_t;

#define F(field)                                                               \
    offsetof(dice_settings_t, field), (int)sizeof(((dice_settings_t *)0)->field)
static const setting_t settings[] = {
    {"bind", T_STR, S_IMMUTABLE, F(bind), 0, 0, NULL},
    {"port", T_INT, S_IMMUTABLE, F(port), 0, 65535, NULL},
    {"maxclients", T_INT, 0, F(maxclients), 1, 4294967295LL, NULL},
    {"proto-max-bulk-len", T_MEM, 0, F(proto_max_bulk_len), 1024 * 1024,
     LLONG_MAX, NULL},
    {"client-query-buffer-limit", T_MEM, 0, F(query_buf_limit), 1024 * 1024,
     LLONG_MAX, NULL},
    {"client-output-pause-limit", T_MEM, 0, F(output_pause), 1024, LLONG_MAX,
     NULL},
    {"databases", T_INT, S_IMMUTABLE, F(databases), 1, INT_MAX, NULL},
    {"loglevel", T_ENUM, 0, F(loglevel), 0, 0, loglevel_names},
    {"logfile", T_STR, S_IMMUTABLE, F(logfile), 0, 0, NULL},
    {"tcp-backlog", T_INT, S_IMMUTABLE, F(tcp_backlog), 0, INT_MAX, NULL},
    /* Redis takes any hz from 0 and clamps it to 1..500 (updateHZ). */
    {"hz", T_INT, 0, F(hz), 0, INT_MAX, NULL},
    {"timeout", T_INT, 0, F(timeout), 0, INT_MAX, NULL},
    {"requirepass", T_STR, 0, F(requirepass), 0, 0, NULL},
    {"dir", T_STR, S_PROTECTED, F(dir), 0, 0, NULL},
    {"enable-debug-command", T_ENUM, S_IMMUTABLE, F(enable_debug_cmd), 0, 0,
     allow_names},
    {"enable-protected-configs", T_ENUM, S_IMMUTABLE,
     F(enable_protected_configs), 0, 0, allow_names},
};
#undef F

static const setting_t *find_setting(const char *name) {
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
        if (strcasecmp(settings[i].name, name) == 0)
            return &settings[i];
    return NULL;
}

static void set_int_field(dice_settings_t *s, const setting_t *st,
                          long long v) {
    char *p = (char *)s + st->off;
    if (st->sz == sizeof(int))
        *(int *)p = (int)v;
    else
        *(long long *)p = v;
}

static long long get_int_field(const dice_settings_t *s, const setting_t *st) {
    const char *p = (const char *)s + st->off;
    return st->sz == sizeof(int) ? *(const int *)p : *(const long long *)p;
}

static int config_fail(dice_server_t *srv, const char *msg) {
    snprintf(srv->cfg_err, sizeof(srv->cfg_err), "%s", msg);
    return DICE_EINVAL;
}

static int config_range_fail(dice_server_t *srv, const setting_t *st) {
    snprintf(srv->cfg_err, sizeof(srv->cfg_err),
             "argument must be between %lld and %lld inclusive", st->lo,
             st->hi);
    return DICE_EINVAL;
}

/* Redis's text for an enum value that is none of the names. */
static int config_enum_fail(dice_server_t *srv, const setting_t *st) {
    size_t used =
        (size_t)snprintf(srv->cfg_err, sizeof(srv->cfg_err),
                         "argument(s) must be one of the following: ");
    for (size_t i = 0; st->names[i] && used < sizeof(srv->cfg_err); i++)
        used +=
            (size_t)snprintf(srv->cfg_err + used, sizeof(srv->cfg_err) - used,
                             "%s%s", i ? ", " : "", st->names[i]);
    return DICE_EINVAL;
}

/* Check a change that the operating system has a say in, before it is
 * stored: maxclients must fit the open-file limit. */
static int config_validate(dice_server_t *srv, const setting_t *st,
                           long long v) {
    if (strcmp(st->name, "maxclients") == 0 && srv->started &&
        dice_server_check_maxclients(srv, v) < 0)
        return DICE_EINVAL;
    return 0;
}

/* Apply a change that has effects beyond the stored value. */
static void config_applied(dice_server_t *srv, const setting_t *st) {
    if (st->off == offsetof(dice_settings_t, hz)) {
        if (srv->cfg.hz < 1)
            srv->cfg.hz = 1;
        if (srv->cfg.hz > 500)
            srv->cfg.hz = 500;
        dice_server_arm_crons(srv);
    }
    if (strcmp(st->name, "maxclients") == 0 && srv->started)
        srv->maxclients_effective = (size_t)srv->cfg.maxclients;
    /* New request limits hold for the next command parsed: the shared
     * parser's and every client's own. */
    if (st->off == offsetof(dice_settings_t, proto_max_bulk_len) &&
        srv->parser) {
        dice_server_apply_limits(srv, srv->parser);
        for (dice_client_t *c = srv->clients; c; c = c->next)
            if (c->parser)
                dice_server_apply_limits(srv, c->parser);
    }
}

/* True (with the error text set) if st cannot change now. The keyspace is
 * sized when the built-in keyspace commands are added: after that,
 * "databases" is as fixed as a started server's port. A protected setting
 * is refused to a client that enable-protected-configs does not allow (c
 * NULL is the host itself, which may set anything). */
static bool setting_frozen(dice_server_t *srv, const setting_t *st,
                           const dice_client_t *c) {
    if (((st->flags & S_IMMUTABLE) && srv->started) ||
        (st->off == offsetof(dice_settings_t, databases) && srv->keyspace)) {
        snprintf(srv->cfg_err, sizeof(srv->cfg_err),
                 "can't set immutable config");
        return true;
    }
    if ((st->flags & S_PROTECTED) && c &&
        !dice_client_allowed(c, srv->cfg.enable_protected_configs)) {
        snprintf(srv->cfg_err, sizeof(srv->cfg_err),
                 "can't set protected config");
        return true;
    }
    return false;
}

int dice_config_check(dice_server_t *srv, const char *name,
                      const dice_client_t *c) {
    const setting_t *st = find_setting(name);
    if (!st)
        return DICE_ENOENT;
    return setting_frozen(srv, st, c) ? DICE_ESTATE : 0;
}

const char *dice_config_name(const char *name) {
    const setting_t *st = find_setting(name);
    return st ? st->name : NULL;
}

int dice_config_snapshot(dice_server_t *srv, dice_settings_t *out) {
    *out = srv->cfg;
    out->bind = out->requirepass = out->dir = out->logfile = NULL;
    const char *src[] = {srv->cfg.bind, srv->cfg.requirepass, srv->cfg.dir,
                         srv->cfg.logfile};
    char **dst[] = {&out->bind, &out->requirepass, &out->dir, &out->logfile};
    for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
        if (src[i] && !(*dst[i] = strdup(src[i]))) {
            dice_settings_free(out);
            return DICE_ENOMEM;
        }
    }
    return 0;
}

void dice_config_restore(dice_server_t *srv, dice_settings_t *saved) {
    dice_settings_free(&srv->cfg);
    srv->cfg = *saved;
    memset(saved, 0, sizeof(*saved));
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
        config_applied(srv, &settings[i]);
}

int dice_server_config_set(dice_server_t *srv, const char *name,
                           const char *value) {
    if (!srv || !name || !value)
        return DICE_EINVAL;
    const setting_t *st = find_setting(name);
    if (!st) {
        snprintf(srv->cfg_err, sizeof(srv->cfg_err), "Unknown argument '%s'",
                 name);
        return DICE_ENOENT;
    }
    if (setting_frozen(srv, st, NULL))
        return DICE_ESTATE;
    long long v;
    bool overflow;
    switch (st->type) {
    case T_INT:
        /* Redis 7.0's two texts: not a number, or out of the range. */
        if (!parse_int(value, &v))
            return config_fail(srv,
                               "argument couldn't be parsed into an integer");
        if (v < st->lo || v > st->hi)
            return config_range_fail(srv, st);
        if (config_validate(srv, st, v) < 0)
            return DICE_EINVAL;
        set_int_field(&srv->cfg, st, v);
        break;
    case T_MEM:
        if (!parse_memory(value, &v, &overflow))
            return config_fail(srv, "argument must be a memory value");
        if (overflow || v < st->lo || v > st->hi)
            return config_range_fail(srv, st);
        set_int_field(&srv->cfg, st, v);
        break;
    case T_ENUM:
        for (v = 0; st->names[v]; v++)
            if (strcasecmp(value, st->names[v]) == 0)
                break;
        if (!st->names[v])
            return config_enum_fail(srv, st);
        set_int_field(&srv->cfg, st, v);
        break;
    case T_STR: {
        char **field = (char **)((char *)&srv->cfg + st->off);
        char *copy = NULL;
        /* An empty requirepass means "no password", as in Redis. */
        if (*value || strcmp(st->name, "requirepass") != 0) {
            copy = strdup(value);
            if (!copy)
                return DICE_ENOMEM;
        }
        free(*field);
        *field = copy;
        break;
    }
    }
    config_applied(srv, st);
    return 0;
}

static int format_setting(dice_server_t *srv, const setting_t *st, char *buf,
                          size_t size) {
    switch (st->type) {
    case T_INT:
    case T_MEM: {
        long long v = get_int_field(&srv->cfg, st);
        if (strcmp(st->name, "maxclients") == 0 && v == 0)
            v = (long long)dice_server_effective_maxclients(srv);
        return snprintf(buf, size, "%lld", v);
    }
    case T_ENUM:
        return snprintf(buf, size, "%s",
                        st->names[get_int_field(&srv->cfg, st)]);
    case T_STR: {
        char *const *field = (char *const *)((const char *)&srv->cfg + st->off);
        return snprintf(buf, size, "%s", *field ? *field : "");
    }
    }
    return 0;
}

int dice_server_config_get(dice_server_t *srv, const char *name, char *buf,
                           size_t size) {
    const setting_t *st = find_setting(name);
    if (!st)
        return DICE_ENOENT;
    return format_setting(srv, st, buf, size);
}

/* The whole value of st, malloc'd (strings such as requirepass have no
 * length limit). NULL when out of memory. */
static char *setting_value(dice_server_t *srv, const setting_t *st) {
    int n = format_setting(srv, st, NULL, 0);
    char *v = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (v)
        format_setting(srv, st, v, (size_t)n + 1);
    return v;
}

char *dice_config_value(dice_server_t *srv, const char *name) {
    const setting_t *st = find_setting(name);
    return st ? setting_value(srv, st) : NULL;
}

void dice_config_visit(dice_server_t *srv, const char *pattern, size_t plen,
                       dice_config_visit_fn fn, void *arg) {
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
        const setting_t *st = &settings[i];
        if (!dice_glob_match(pattern, plen, st->name, strlen(st->name), 1))
            continue;
        char *val = setting_value(srv, st);
        fn(arg, st->name, val ? val : "");
        free(val);
    }
}

const char *dice_server_config_error(dice_server_t *srv) {
    return srv->cfg_err;
}

/* ---- Config file ------------------------------------------------------- */

int dice_server_config_load(dice_server_t *srv, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(srv->cfg_err, sizeof(srv->cfg_err),
                 "Fatal error, can't open config file '%s': %s", path,
                 strerror(errno));
        return DICE_ESYS;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, rc = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        /* Comments first, as Redis: a "#" line may hold any quote. */
        size_t lead = 0;
        while (lead < (size_t)n && isspace((unsigned char)line[lead]))
            lead++;
        if (lead == (size_t)n || line[lead] == '#')
            continue;
        char **argv = NULL;
        int argc = dice_split_args(line, (size_t)n, &argv);
        if (argc < 0) {
            snprintf(srv->cfg_err, sizeof(srv->cfg_err),
                     "%s:%d: Unbalanced quotes in configuration line", path,
                     lineno);
            rc = DICE_EINVAL;
            break;
        }
        if (argc == 0 || argv[0][0] == '#') {
            dice_split_free(argv, argc);
            continue;
        }
        /* Several values ("bind a b") are joined back with spaces. */
        size_t total = 1;
        for (int i = 1; i < argc; i++)
            total += strlen(argv[i]) + 1;
        char *value = calloc(1, total);
        if (!value) {
            dice_split_free(argv, argc);
            rc = DICE_ENOMEM;
            break;
        }
        for (int i = 1; i < argc; i++) {
            if (i > 1)
                strcat(value, " ");
            strcat(value, argv[i]);
        }
        rc = dice_server_config_set(srv, argv[0], value);
        if (rc < 0) {
            /* Prefix the setter's reason with where it came from; the
             * result is cut to the error buffer's size. */
            char full[sizeof(srv->cfg_err) * 3];
            snprintf(full, sizeof(full), "%s:%d: '%.64s': %s", path, lineno,
                     argv[0], srv->cfg_err);
            size_t n = strlen(full);
            if (n >= sizeof(srv->cfg_err))
                n = sizeof(srv->cfg_err) - 1;
            memcpy(srv->cfg_err, full, n);
            srv->cfg_err[n] = '\0';
        }
        free(value);
        dice_split_free(argv, argc);
        if (rc < 0)
            break;
    }
    free(line);
    fclose(f);
    return rc;
}

/* ---- Argument splitting ------------------------------------------------- */

static int hexval(int ch) {
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower(ch);
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

void dice_split_free(char **v, int n) {
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Same quoting rules as inline commands: "..." with C-like escapes and
 * \xHH, '...' with only \' escaped; a closing quote must end the word. */
int dice_split_args(const char *line, size_t len, char ***out) {
    char **v = NULL;
    int n = 0;
    size_t i = 0;
    *out = NULL;
    for (;;) {
        while (i < len && isspace((unsigned char)line[i]))
            i++;
        if (i >= len)
            break;
        char *word = malloc(len - i + 1);
        char **nv = realloc(v, (size_t)(n + 1) * sizeof(*nv));
        if (!word || !nv) {
            free(word);
            dice_split_free(nv ? nv : v, n);
            return -1;
        }
        v = nv;
        size_t w = 0;
        int inq = 0; /* 0, '"' or '\'' */
        bool bad = false;
        for (; i < len; i++) {
            char ch = line[i];
            if (inq == '"') {
                if (ch == '\\' && i + 3 < len && line[i + 1] == 'x' &&
                    hexval((unsigned char)line[i + 2]) >= 0 &&
                    hexval((unsigned char)line[i + 3]) >= 0) {
                    word[w++] = (char)(hexval((unsigned char)line[i + 2]) * 16 +
                                       hexval((unsigned char)line[i + 3]));
                    i += 3;
                } else if (ch == '\\' && i + 1 < len) {
                    i++;
                    switch (line[i]) {
                    case 'n': word[w++] = '\n'; break;
                    case 'r': word[w++] = '\r'; break;
                    case 't': word[w++] = '\t'; break;
                    case 'b': word[w++] = '\b'; break;
                    case 'a': word[w++] = '\a'; break;
                    default: word[w++] = line[i]; break;
                    }
                } else if (ch == '"') {
                    if (i + 1 < len && !isspace((unsigned char)line[i + 1]))
                        bad = true;
                    inq = 0;
                    i++;
                    break;
                } else {
                    word[w++] = ch;
                }
            } else if (inq == '\'') {
                if (ch == '\\' && i + 1 < len && line[i + 1] == '\'') {
                    word[w++] = '\'';
                    i++;
                } else if (ch == '\'') {
                    if (i + 1 < len && !isspace((unsigned char)line[i + 1]))
                        bad = true;
                    inq = 0;
                    i++;
                    break;
                } else {
                    word[w++] = ch;
                }
            } else if (isspace((unsigned char)ch)) {
                break;
            } else if (ch == '"' || ch == '\'') {
                inq = ch;
            } else {
                word[w++] = ch;
            }
        }
        word[w] = '\0';
        v[n++] = word;
        if (inq || bad) {
            dice_split_free(v, n);
            return -1;
        }
    }
    *out = v;
    return n;
}
