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

void dice__settings_init(dice_settings_t *s) {
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

void dice__settings_free(dice_settings_t *s) {
    free(s->bind);
    free(s->requirepass);
    free(s->dir);
    free(s->logfile);
    memset(s, 0, sizeof(*s));
}

/* ---- Value parsing ------------------------------------------------------ */

/* Redis's memory notation: a plain number of bytes, or a number with k, kb,
 * m, mb, g, gb (k = 1000, kb = 1024), case-insensitive. */
static bool parse_memory(const char *v, long long *out) {
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (end == v || errno || n < 0)
        return false;
    long long mul = 1;
    if (*end) {
        static const struct {
            const char *u;
            long long m;
        } units[] = {{"k", 1000LL},       {"kb", 1024LL},
                     {"m", 1000000LL},    {"mb", 1024LL * 1024},
                     {"g", 1000000000LL}, {"gb", 1024LL * 1024 * 1024}};
        size_t i;
        for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
            if (strcasecmp(end, units[i].u) == 0)
                break;
        if (i == sizeof(units) / sizeof(units[0]))
            return false;
        mul = units[i].m;
    }
    if (n > LLONG_MAX / mul)
        return false;
    *out = n * mul;
    return true;
}

static bool parse_int(const char *v, long long lo, long long hi,
                      long long *out) {
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (end == v || *end || errno || n < lo || n > hi)
        return false;
    *out = n;
    return true;
}

static const char *const loglevels[] = {"debug", "verbose", "notice",
                                        "warning"};

/* ---- The table ---------------------------------------------------------- */

enum { T_INT, T_MEM, T_STR, T_LOGLEVEL, T_IGNORED };

typedef struct setting {
    const char *name;
    int type;
    bool immutable; /* cannot change once the server is started */
    size_t off;     /* offset into dice_settings_t */
    int sz;         /* sizeof the int field */
    long long lo, hi;
} setting_t;

#define F(field)                                                               \
    offsetof(dice_settings_t, field), (int)sizeof(((dice_settings_t *)0)->field)
static const setting_t settings[] = {
    {"bind", T_STR, true, F(bind), 0, 0},
    {"port", T_INT, true, F(port), 0, 65535},
    {"maxclients", T_INT, false, F(maxclients), 1, 4294967295LL},
    {"proto-max-bulk-len", T_MEM, false, F(proto_max_bulk_len), 1024 * 1024,
     LLONG_MAX},
    {"client-query-buffer-limit", T_MEM, false, F(query_buf_limit), 1024 * 1024,
     LLONG_MAX},
    {"client-output-pause-limit", T_MEM, false, F(output_pause), 1024,
     LLONG_MAX},
    {"databases", T_INT, true, F(databases), 1, INT_MAX},
    {"loglevel", T_LOGLEVEL, false, F(loglevel), 0, 3},
    {"logfile", T_STR, true, F(logfile), 0, 0},
    {"tcp-backlog", T_INT, true, F(tcp_backlog), 0, INT_MAX},
    {"hz", T_INT, false, F(hz), 1, 500},
    {"timeout", T_INT, false, F(timeout), 0, INT_MAX},
    {"requirepass", T_STR, false, F(requirepass), 0, 0},
    {"dir", T_STR, false, F(dir), 0, 0},
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

static int config_fail(dice_server_t *srv, const char *fmt, const char *a) {
    snprintf(srv->cfg_err, sizeof(srv->cfg_err), fmt, a);
    return DICE_EINVAL;
}

static int config_range_fail(dice_server_t *srv, const setting_t *st) {
    snprintf(srv->cfg_err, sizeof(srv->cfg_err),
             "argument must be between %lld and %lld inclusive", st->lo,
             st->hi);
    return DICE_EINVAL;
}

/* Apply a change that has effects beyond the stored value. */
static void config_applied(dice_server_t *srv, const setting_t *st) {
    if (st->off == offsetof(dice_settings_t, hz))
        dice__server_arm_crons(srv);
    if (strcmp(st->name, "maxclients") == 0 && srv->started)
        srv->maxclients_effective = dice__server_effective_maxclients(srv);
    /* New request limits hold for the next command parsed: the shared
     * parser's and every client's own. */
    if (st->off == offsetof(dice_settings_t, proto_max_bulk_len) &&
        srv->parser) {
        dice__server_apply_limits(srv, srv->parser);
        for (dice_client_t *c = srv->clients; c; c = c->next)
            if (c->parser)
                dice__server_apply_limits(srv, c->parser);
    }
}

/* True (with the error text set) if st cannot change now. The keyspace is
 * sized when the built-in keyspace commands are added: after that,
 * "databases" is as fixed as a started server's port. */
static bool setting_frozen(dice_server_t *srv, const setting_t *st) {
    if ((st->immutable && srv->started) ||
        (st->off == offsetof(dice_settings_t, databases) && srv->keyspace)) {
        snprintf(srv->cfg_err, sizeof(srv->cfg_err),
                 "can't set immutable config");
        return true;
    }
    return false;
}

int dice__config_check(dice_server_t *srv, const char *name) {
    const setting_t *st = find_setting(name);
    if (!st)
        return DICE_ENOENT;
    return setting_frozen(srv, st) ? DICE_ESTATE : 0;
}

int dice__config_snapshot(dice_server_t *srv, dice_settings_t *out) {
    *out = srv->cfg;
    out->bind = out->requirepass = out->dir = out->logfile = NULL;
    const char *src[] = {srv->cfg.bind, srv->cfg.requirepass, srv->cfg.dir,
                         srv->cfg.logfile};
    char **dst[] = {&out->bind, &out->requirepass, &out->dir, &out->logfile};
    for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
        if (src[i] && !(*dst[i] = strdup(src[i]))) {
            dice__settings_free(out);
            return DICE_ENOMEM;
        }
    }
    return 0;
}

void dice__config_restore(dice_server_t *srv, dice_settings_t *saved) {
    dice__settings_free(&srv->cfg);
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
    if (setting_frozen(srv, st))
        return DICE_ESTATE;
    long long v;
    switch (st->type) {
    case T_INT:
        /* Redis 7.0's two texts: not a number, or out of the range. */
        if (!parse_int(value, LLONG_MIN, LLONG_MAX, &v))
            return config_fail(srv,
                               "argument couldn't be parsed into an "
                               "integer%s",
                               "");
        if (v < st->lo || v > st->hi)
            return config_range_fail(srv, st);
        set_int_field(&srv->cfg, st, v);
        break;
    case T_MEM:
        if (!parse_memory(value, &v))
            return config_fail(srv, "argument must be a memory value%s", "");
        if (v < st->lo || v > st->hi)
            return config_range_fail(srv, st);
        set_int_field(&srv->cfg, st, v);
        break;
    case T_LOGLEVEL:
        for (v = 0; v < 4; v++)
            if (strcasecmp(value, loglevels[v]) == 0)
                break;
        if (v == 4)
            return config_fail(srv,
                               "argument(s) must be one of the "
                               "following: debug, verbose, notice, warning%s",
                               "");
        srv->cfg.loglevel = (int)v;
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
            v = (long long)dice__server_effective_maxclients(srv);
        return snprintf(buf, size, "%lld", v);
    }
    case T_LOGLEVEL:
        return snprintf(buf, size, "%s", loglevels[srv->cfg.loglevel]);
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

char *dice__config_value(dice_server_t *srv, const char *name) {
    const setting_t *st = find_setting(name);
    return st ? setting_value(srv, st) : NULL;
}

void dice__config_visit(dice_server_t *srv, const char *pattern, size_t plen,
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
        int argc = dice__split_args(line, (size_t)n, &argv);
        if (argc < 0) {
            snprintf(srv->cfg_err, sizeof(srv->cfg_err),
                     "%s:%d: Unbalanced quotes in configuration line", path,
                     lineno);
            rc = DICE_EINVAL;
            break;
        }
        if (argc == 0 || argv[0][0] == '#') {
            dice__split_free(argv, argc);
            continue;
        }
        /* Several values ("bind a b") are joined back with spaces. */
        size_t total = 1;
        for (int i = 1; i < argc; i++)
            total += strlen(argv[i]) + 1;
        char *value = calloc(1, total);
        if (!value) {
            dice__split_free(argv, argc);
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
        dice__split_free(argv, argc);
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

void dice__split_free(char **v, int n) {
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Same quoting rules as inline commands: "..." with C-like escapes and
 * \xHH, '...' with only \' escaped; a closing quote must end the word. */
int dice__split_args(const char *line, size_t len, char ***out) {
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
            dice__split_free(nv ? nv : v, n);
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
            dice__split_free(v, n);
            return -1;
        }
    }
    *out = v;
    return n;
}
