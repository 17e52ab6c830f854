/* Settings by name, as redis.conf and CONFIG GET/SET spell them. Each
 * setting is one entry of the table below that says everything about it:
 * its kind (how text becomes a value and a value text), default, range,
 * flags, and the callbacks that carry its side effects, as Redis's
 * createIntConfig("hz", ..., updateHZ). The code around the table knows no
 * setting by name. Also here: the config file reader, and the inline-style
 * argument splitter it uses. */
#include "dice/db.h"
#include "server/blocking.h"
#include "server/evict.h"
#include "server/server_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- Value parsing ------------------------------------------------------ */

/* Redis 7.0's memory notation (memtoull): digits only (no sign, no
 * spaces), then nothing or one of b, k, kb, m, mb, g, gb, case-insensitive
 * (k = 1000, kb = 1024). "mb" alone is 0 mb. Returns false when the text
 * is not of that shape; *overflow is set (and *out undefined) when it is
 * but the number does not fit a long long, which Redis reports as out of
 * the setting's range. */
bool dice__parse_memory(const char *v, long long *out, bool *overflow) {
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
    return dice__str2ll(v, strlen(v), out);
}

/* ---- Kinds of setting --------------------------------------------------- */

typedef struct setting setting_t;
struct rewrite;

/* A value read from text, before it is stored: a number (int, memory, bool
 * and enum kinds; an enum's is the index of its name) or a malloc'd string
 * (NULL for "none"). */
typedef struct setting_value {
    long long n;
    char *s;
    dice__obuf_limit obuf[DICE__OBUF_CLASSES]; /* the OBUF kind's */
} setting_value_t;

/* How text becomes a value: 0, or DICE_EINVAL with Redis's reason in
 * srv->cfg_err. */
typedef int (*setting_parse_fn)(dice_server_t *srv, const setting_t *st,
                                const char *text, setting_value_t *out);
/* How the stored value is shown (snprintf's contract). */
typedef int (*setting_format_fn)(dice_server_t *srv, const setting_t *st,
                                 char *buf, size_t size);

/* Every kind, once: its tag, its parser and its formatter. */
#define SETTING_KINDS(X)                                                       \
    X(INT, parse_int_value, format_number)                                     \
    X(MEM, parse_mem_value, format_number)                                     \
    X(MEMPCT, parse_mempct_value, format_mempct)                               \
    X(BOOL, parse_bool_value, format_bool)                                     \
    X(ENUM, parse_enum_value, format_enum)                                     \
    X(STR, parse_str_value, format_str)                                        \
    X(NOTIFY, parse_notify_value, format_notify)                               \
    X(OBUF, parse_obuf_value, format_obuf)                                     \
    X(OCTAL, parse_octal_value, format_octal)

enum {
#define X(tag, parse, format) K_##tag,
    SETTING_KINDS(X)
#undef X
};

enum {
    S_IMMUTABLE = 1u << 0,  /* cannot change once the server is started */
    S_KEYSPACE = 1u << 1,   /* cannot change once the keyspace exists */
    S_PROTECTED = 1u << 2,  /* CONFIG SET needs enable-protected-configs */
    S_EMPTY_NONE = 1u << 3, /* a string: "" stores NULL ("no password") */
    S_PCTL = 1u << 4 /* a string of percentiles (latency-tracking-info-...) */
};

struct setting {
    const char *name;
    int kind; /* K_* */
    unsigned flags;
    size_t off; /* of the field in dice_settings_t */
    int sz;     /* sizeof the field (int or long long for numbers) */
    long long def;
    const char *sdef;         /* a string's default, NULL for none */
    long long lo, hi;         /* int and memory kinds */
    const char *const *names; /* enum kind: the values, NULL-terminated */
    /* Refuse a number before it is stored, for a change something beyond
     * the table has a say in (0, or DICE_E* with the reason in cfg_err).
     * It changes nothing (it may log why). NULL: any value in range. */
    int (*check)(dice_server_t *srv, long long v);
    /* The same for a string's text (the kind's parser has accepted it). */
    int (*check_str)(dice_server_t *srv, const char *text);
    /* The side effect of a stored value. Run after every change, and for
     * every setting when CONFIG SET rolls back, so it cannot fail. */
    void (*apply)(dice_server_t *srv);
    /* The number CONFIG GET shows, when that is not the stored one. */
    long long (*shown)(dice_server_t *srv);
    /* Redis's older name, accepted everywhere the name is and listed
     * beside it by CONFIG GET patterns (NULL: none). */
    const char *alias;
    /* How CONFIG REWRITE writes the setting, when its kind's way is not
     * Redis's (see rewrite_setting): calls rw_line once per line, in
     * order, or not at all to drop the setting's old lines. */
    void (*rewrite)(dice_server_t *srv, const setting_t *st,
                    struct rewrite *rw);
};

static void *field(dice_settings_t *s, const setting_t *st) {
    return (char *)s + st->off;
}

static void set_number(dice_settings_t *s, const setting_t *st, long long v) {
    if (st->sz == sizeof(int))
        *(int *)field(s, st) = (int)v;
    else
        *(long long *)field(s, st) = v;
}

static long long get_number(dice_settings_t *s, const setting_t *st) {
    return st->sz == sizeof(int) ? *(int *)field(s, st)
                                 : *(long long *)field(s, st);
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

static int parse_int_value(dice_server_t *srv, const setting_t *st,
                           const char *text, setting_value_t *out) {
    /* Redis 7.0's two texts: not a number, or out of the range. */
    if (!parse_int(text, &out->n))
        return config_fail(srv, "argument couldn't be parsed into an integer");
    if (out->n < st->lo || out->n > st->hi)
        return config_range_fail(srv, st);
    return 0;
}

/* Redis's OCTAL_CONFIG (unixsocketperm): digits 0-7, shown without the
 * leading zero. */
static int parse_octal_value(dice_server_t *srv, const setting_t *st,
                             const char *text, setting_value_t *out) {
    long long v = 0;
    if (!*text)
        return config_fail(srv, "argument couldn't be parsed into an integer");
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '7' || v > (LLONG_MAX >> 3))
            return config_fail(srv,
                               "argument couldn't be parsed into an integer");
        v = v * 8 + (*p - '0');
    }
    out->n = v;
    if (out->n < st->lo || out->n > st->hi)
        return config_range_fail(srv, st);
    return 0;
}

static int parse_mem_value(dice_server_t *srv, const setting_t *st,
                           const char *text, setting_value_t *out) {
    bool overflow;
    if (!dice__parse_memory(text, &out->n, &overflow))
        return config_fail(srv, "argument must be a memory value");
    if (overflow || out->n < st->lo || out->n > st->hi)
        return config_range_fail(srv, st);
    return 0;
}

/* Redis's memory-or-percent value (maxmemory-clients): bytes, or "N%"
 * of maxmemory stored as -N, shown back as "N%" ("0%" is 0). */
static int parse_mempct_value(dice_server_t *srv, const setting_t *st,
                              const char *text, setting_value_t *out) {
    size_t len = strlen(text);
    if (len > 1 && text[len - 1] == '%') {
        long long pct = 0;
        size_t i = 0;
        for (; i + 1 < len && text[i] >= '0' && text[i] <= '9' && pct <= 100;
             i++)
            pct = pct * 10 + (text[i] - '0');
        if (i + 1 != len)
            return config_fail(srv,
                               "argument must be a memory or percent value");
        if (pct > 100)
            return config_fail(
                srv, "percentage argument must be less or equal to 100");
        out->n = -pct;
        return 0;
    }
    bool overflow;
    if (!dice__parse_memory(text, &out->n, &overflow))
        return config_fail(srv, "argument must be a memory or percent value");
    if (overflow || out->n < st->lo || out->n > st->hi)
        return config_range_fail(srv, st);
    return 0;
}

static int format_mempct(dice_server_t *srv, const setting_t *st, char *buf,
                         size_t size) {
    long long v = get_number(&srv->cfg, st);
    return v < 0 ? snprintf(buf, size, "%lld%%", -v)
                 : snprintf(buf, size, "%lld", v);
}

static int parse_bool_value(dice_server_t *srv, const setting_t *st,
                            const char *text, setting_value_t *out) {
    (void)st;
    if (strcasecmp(text, "yes") == 0)
        out->n = 1;
    else if (strcasecmp(text, "no") == 0)
        out->n = 0;
    else
        return config_fail(srv, "argument must be 'yes' or 'no'");
    return 0;
}

static int parse_enum_value(dice_server_t *srv, const setting_t *st,
                            const char *text, setting_value_t *out) {
    for (out->n = 0; st->names[out->n]; out->n++)
        if (strcasecmp(text, st->names[out->n]) == 0)
            return 0;
    /* Redis's text lists every name. */
    size_t used =
        (size_t)snprintf(srv->cfg_err, sizeof(srv->cfg_err),
                         "argument(s) must be one of the following: ");
    for (size_t i = 0; st->names[i] && used < sizeof(srv->cfg_err); i++)
        used +=
            (size_t)snprintf(srv->cfg_err + used, sizeof(srv->cfg_err) - used,
                             "%s%s", i ? ", " : "", st->names[i]);
    return DICE_EINVAL;
}

static int parse_str_value(dice_server_t *srv, const setting_t *st,
                           const char *text, setting_value_t *out) {
    out->s = NULL;
    if (st->check_str) {
        int rc = st->check_str(srv, text);
        if (rc < 0)
            return rc;
    }
    if (!*text && (st->flags & S_EMPTY_NONE))
        return 0;
    if ((st->flags & S_PCTL) && dice__intro_check_pctl(text) < 0)
        return config_fail(srv, "Invalid latency-tracking-info-percentiles "
                                "parameters");
    out->s = strdup(text);
    return out->s ? 0 : DICE_ENOMEM;
}

static int format_number(dice_server_t *srv, const setting_t *st, char *buf,
                         size_t size) {
    long long v = st->shown ? st->shown(srv) : get_number(&srv->cfg, st);
    return snprintf(buf, size, "%lld", v);
}

static int format_octal(dice_server_t *srv, const setting_t *st, char *buf,
                        size_t size) {
    return snprintf(buf, size, "%llo",
                    (unsigned long long)get_number(&srv->cfg, st));
}

static int format_bool(dice_server_t *srv, const setting_t *st, char *buf,
                       size_t size) {
    return snprintf(buf, size, "%s", get_number(&srv->cfg, st) ? "yes" : "no");
}

static int format_enum(dice_server_t *srv, const setting_t *st, char *buf,
                       size_t size) {
    return snprintf(buf, size, "%s", st->names[get_number(&srv->cfg, st)]);
}

static int format_str(dice_server_t *srv, const setting_t *st, char *buf,
                      size_t size) {
    const char *s = *(char **)field(&srv->cfg, st);
    return snprintf(buf, size, "%s", s ? s : "");
}

/* notify-keyspace-events: Redis's keyspaceEventsStringToFlags, letters
 * in any order, 'A' for every class of DICE__NOTIFY_ALL. */
static int parse_notify_value(dice_server_t *srv, const setting_t *st,
                              const char *text, setting_value_t *out) {
    (void)st;
    static const struct {
        char letter;
        int bit;
    } letters[] = {
#define LETTER(name, bit, letter) {letter, DICE__NOTIFY_##name},
        DICE__NOTIFY_MAP(LETTER)
#undef LETTER
    };
    int flags = 0;
    for (const char *p = text; *p; p++) {
        if (*p == 'A') {
            flags |= DICE__NOTIFY_ALL;
            continue;
        }
        size_t i;
        for (i = 0; i < sizeof(letters) / sizeof(letters[0]); i++)
            if (letters[i].letter == *p)
                break;
        if (i == sizeof(letters) / sizeof(letters[0]))
            return config_fail(srv, "Invalid event class character. Use "
                                    "'Ag$lshzxeKEtmdn'.");
        flags |= letters[i].bit;
    }
    out->n = flags;
    return 0;
}

/* Redis's keyspaceEventsFlagsToString: "A" or the class letters in its
 * order (g$lshzxetdn), then K, E, m. ("An" shows as "A", as in Redis.) */
static int format_notify(dice_server_t *srv, const setting_t *st, char *buf,
                         size_t size) {
    (void)st;
    static const struct {
        char letter;
        int bit;
    } order[] = {{'g', DICE__NOTIFY_GENERIC}, {'$', DICE__NOTIFY_STRING},
                 {'l', DICE__NOTIFY_LIST},    {'s', DICE__NOTIFY_SET},
                 {'h', DICE__NOTIFY_HASH},    {'z', DICE__NOTIFY_ZSET},
                 {'x', DICE__NOTIFY_EXPIRED}, {'e', DICE__NOTIFY_EVICTED},
                 {'t', DICE__NOTIFY_STREAM},  {'d', DICE__NOTIFY_MODULE},
                 {'n', DICE__NOTIFY_NEW}},
      tail[] = {{'K', DICE__NOTIFY_KEYSPACE},
                {'E', DICE__NOTIFY_KEYEVENT},
                {'m', DICE__NOTIFY_KEY_MISS}};
    int flags = srv->cfg.notify_flags;
    char out[32];
    size_t n = 0;
    if ((flags & DICE__NOTIFY_ALL) == DICE__NOTIFY_ALL) {
        out[n++] = 'A';
    } else {
        for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
            if (flags & order[i].bit)
                out[n++] = order[i].letter;
    }
    for (size_t i = 0; i < sizeof(tail) / sizeof(tail[0]); i++)
        if (flags & tail[i].bit)
            out[n++] = tail[i].letter;
    out[n] = '\0';
    return snprintf(buf, size, "%s", out);
}

/* client-output-buffer-limit: groups of "<class> <hard> <soft> <seconds>"
 * (Redis's setConfigClientOutputBufferLimitOption), each replacing its
 * class's limits; the other classes keep theirs. All groups are checked
 * before any is taken. Classes: normal, replica (or slave), pubsub. */
static int parse_obuf_value(dice_server_t *srv, const setting_t *st,
                            const char *text, setting_value_t *out) {
    (void)st;
    memcpy(out->obuf, srv->cfg.obuf, sizeof(out->obuf));
    char **argv = NULL;
    int argc = dice__split_args(text, strlen(text), &argv);
    if (argc < 0 || argc % 4) {
        dice__split_free(argv, argc);
        return config_fail(srv, "Wrong number of arguments in buffer limit "
                                "configuration.");
    }
    int rc = 0;
    for (int j = 0; j < argc && rc == 0; j += 4) {
        int cls;
        if (strcasecmp(argv[j], "normal") == 0)
            cls = DICE__OBUF_NORMAL;
        else if (strcasecmp(argv[j], "replica") == 0 ||
                 strcasecmp(argv[j], "slave") == 0)
            cls = DICE__OBUF_REPLICA;
        else if (strcasecmp(argv[j], "pubsub") == 0)
            cls = DICE__OBUF_PUBSUB;
        else {
            rc = config_fail(srv, "Invalid client class specified in buffer "
                                  "limit configuration.");
            break;
        }
        long long hard, soft, secs;
        bool o1, o2;
        char *end;
        errno = 0;
        secs = strtoll(argv[j + 3], &end, 10);
        if (!dice__parse_memory(argv[j + 1], &hard, &o1) || o1 ||
            !dice__parse_memory(argv[j + 2], &soft, &o2) || o2 || errno ||
            *end != '\0' || end == argv[j + 3] || secs < 0) {
            rc = config_fail(srv, "Error in hard, soft or soft_seconds "
                                  "setting in buffer limit configuration.");
            break;
        }
        out->obuf[cls].hard = hard;
        out->obuf[cls].soft = soft;
        out->obuf[cls].soft_seconds = secs;
    }
    dice__split_free(argv, argc);
    return rc;
}

/* As Redis prints it: every class, bytes, the replica class as "slave". */
static int format_obuf(dice_server_t *srv, const setting_t *st, char *buf,
                       size_t size) {
    (void)st;
    const dice__obuf_limit *l = srv->cfg.obuf;
    return snprintf(buf, size,
                    "normal %lld %lld %lld slave %lld %lld %lld pubsub %lld "
                    "%lld %lld",
                    l[0].hard, l[0].soft, l[0].soft_seconds, l[1].hard,
                    l[1].soft, l[1].soft_seconds, l[2].hard, l[2].soft,
                    l[2].soft_seconds);
}

static const struct {
    setting_parse_fn parse;
    setting_format_fn format;
} kinds[] = {
#define X(tag, parse, format) [K_##tag] = {parse, format},
    SETTING_KINDS(X)
#undef X
};

/* ---- Side effects ------------------------------------------------------- */

/* hz is a hint: Redis takes any value from 0 and clamps it (updateHZ). */
static void apply_hz(dice_server_t *srv) {
    if (srv->cfg.hz < 1)
        srv->cfg.hz = 1;
    if (srv->cfg.hz > 500)
        srv->cfg.hz = 500;
    dice__server_arm_crons(srv);
}

void dice__server_apply_enc_limits(dice_server_t *srv) {
    if (!srv->keyspace)
        return;
    const dice_settings_t *c = &srv->cfg;
    dice__enc_limits l = {
        .list_max_listpack_size = c->list_max_listpack_size,
        .list_compress_depth = c->list_compress_depth,
        .hash_max_listpack_entries = c->hash_max_listpack_entries,
        .hash_max_listpack_value = c->hash_max_listpack_value,
        .set_max_intset_entries = c->set_max_intset_entries,
        .zset_max_listpack_entries = c->zset_max_listpack_entries,
        .zset_max_listpack_value = c->zset_max_listpack_value,
        .hll_sparse_max_bytes = c->hll_sparse_max_bytes,
        .stream_node_max_bytes = c->stream_node_max_bytes,
        .stream_node_max_entries = c->stream_node_max_entries,
    };
    dice__keyspace_set_limits(srv->keyspace, &l);
}

/* save: pairs of <seconds> <changes>, Redis's "Invalid save parameters". */
static int check_save(dice_server_t *srv, const char *text) {
    dice__save_point *p;
    size_t n;
    int rc = dice__rdb_parse_save(text, &p, &n);
    free(p);
    if (rc == DICE_EINVAL)
        return config_fail(srv, "Invalid save parameters");
    return rc;
}

/* appendfsync's names, in Redis's order (DICE__FSYNC_*). */
static const char *const fsync_names[] = {"everysec", "always", "no", NULL};

/* appendfilename, appenddirname: a name, not a path (Redis's
 * isValidAOFfilename / isValidAOFdirname). */
static int check_aof_name(dice_server_t *srv, const char *text) {
    if (!text || !*text || strchr(text, '/') || !strcmp(text, ".") ||
        !strcmp(text, ".."))
        return config_fail(srv, "appendfilename can't be a path, just a "
                                "filename");
    return 0;
}

/* dbfilename: a name, not a path (Redis's isValidDBfilename). */
static int check_dbfilename(dice_server_t *srv, const char *text) {
    if (strchr(text, '/'))
        return config_fail(srv, "dbfilename can't be a path, just a filename");
    return 0;
}

static long long shown_maxclients(dice_server_t *srv) {
    return (long long)dice__server_effective_maxclients(srv);
}

/* ---- The table ---------------------------------------------------------- */

/* CONFIG REWRITE's ways for settings whose kind's way is not Redis's. */
static void rewrite_bind(dice_server_t *srv, const setting_t *st,
                         struct rewrite *rw);
static void rewrite_dir(dice_server_t *srv, const setting_t *st,
                        struct rewrite *rw);
static void rewrite_pctl(dice_server_t *srv, const setting_t *st,
                         struct rewrite *rw);
static void rewrite_maxclients(dice_server_t *srv, const setting_t *st,
                               struct rewrite *rw);
static void rewrite_save(dice_server_t *srv, const setting_t *st,
                         struct rewrite *rw);

static const char *const loglevel_names[] = {"debug", "verbose", "notice",
                                             "warning", NULL};
/* acl-pubsub-default: what new users' channels start as. */
static const char *const pubsub_default_names[] = {"resetchannels",
                                                   "allchannels", NULL};
/* enable-debug-command, enable-module-command, enable-protected-configs:
 * DICE_ALLOW_* order. */
static const char *const allow_names[] = {"no", "yes", "local", NULL};
/* maxmemory-policy: DICE__MAXMEMORY_* order (lib/server/evict.h). */
static const char *const maxmemory_policy_names[] = {
    "volatile-lru",   "volatile-lfu", "volatile-random",
    "volatile-ttl",   "allkeys-lru",  "allkeys-lfu",
    "allkeys-random", "noeviction",   NULL};
/* tls-auth-clients: DICE__TLS_AUTH_* order. */
static const char *const tls_auth_names[] = {"no", "yes", "optional", NULL};

#define FIELD(f)                                                               \
    .off = offsetof(dice_settings_t, f),                                       \
    .sz = (int)sizeof(((dice_settings_t *)0)->f)
#define MB (1024LL * 1024)

static const setting_t settings[] = {
    {"bind", K_STR, S_IMMUTABLE, FIELD(bind), .sdef = "127.0.0.1",
     .rewrite = rewrite_bind},
    {"port", K_INT, S_IMMUTABLE, FIELD(port), .def = 7379, .lo = 0,
     .hi = 65535},
    /* 0 until the server starts: what the open-file limit allows. */
    {"maxclients", K_INT, 0, FIELD(maxclients), .def = 0, .lo = 1,
     .hi = 4294967295LL, .check = dice__server_check_maxclients,
     .apply = dice__server_apply_maxclients, .shown = shown_maxclients,
     .rewrite = rewrite_maxclients},
    {"proto-max-bulk-len", K_MEM, 0, FIELD(proto_max_bulk_len), .def = 512 * MB,
     .lo = MB, .hi = LLONG_MAX, .apply = dice__server_apply_request_limits},
    {"client-query-buffer-limit", K_MEM, 0, FIELD(query_buf_limit),
     .def = 1024 * MB, .lo = MB, .hi = LLONG_MAX},
    {"client-output-pause-limit", K_MEM, 0, FIELD(output_pause), .def = MB,
     .lo = 1024, .hi = LLONG_MAX, .apply = dice__server_apply_output_limits},
    /* Redis's defaults: normal 0 0 0, replica 256mb 64mb 60, pubsub 32mb
     * 8mb 60 (dice__settings_init). */
    {"client-output-buffer-limit", K_OBUF, 0, FIELD(obuf)},
    {"notify-keyspace-events", K_NOTIFY, 0, FIELD(notify_flags), .def = 0},
    /* The keyspace is sized when the built-in keyspace commands are
     * added: after that, databases is as fixed as a started server's port. */
    {"databases", K_INT, S_IMMUTABLE | S_KEYSPACE, FIELD(databases), .def = 16,
     .lo = 1, .hi = INT_MAX},
    {"loglevel", K_ENUM, 0, FIELD(loglevel), .def = DICE_LOG_NOTICE,
     .names = loglevel_names},
    {"logfile", K_STR, S_IMMUTABLE, FIELD(logfile)},
    {"unixsocket", K_STR, S_IMMUTABLE | S_EMPTY_NONE, FIELD(unixsocket)},
    {"unixsocketperm", K_OCTAL, S_IMMUTABLE, FIELD(unixsocketperm), .def = 0,
     .lo = 0, .hi = 0777},
    /* TLS (lib/server/conn_tls.c): a change rebuilds the context when
     * it is committed (all of one CONFIG SET together), as Redis's
     * applyTlsCfg; tls-port opens or closes the TLS listener. */
    {"tls-port", K_INT, 0, FIELD(tls_port), .def = 0, .lo = 0, .hi = 65535,
     .apply = dice__server_tls_changed},
    {"tls-cert-file", K_STR, S_EMPTY_NONE, FIELD(tls_cert_file),
     .apply = dice__server_tls_changed},
    {"tls-key-file", K_STR, S_EMPTY_NONE, FIELD(tls_key_file),
     .apply = dice__server_tls_changed},
    {"tls-key-file-pass", K_STR, S_EMPTY_NONE, FIELD(tls_key_file_pass),
     .apply = dice__server_tls_changed},
    {"tls-client-cert-file", K_STR, S_EMPTY_NONE, FIELD(tls_client_cert_file),
     .apply = dice__server_tls_changed},
    {"tls-client-key-file", K_STR, S_EMPTY_NONE, FIELD(tls_client_key_file),
     .apply = dice__server_tls_changed},
    {"tls-client-key-file-pass", K_STR, S_EMPTY_NONE,
     FIELD(tls_client_key_file_pass), .apply = dice__server_tls_changed},
    {"tls-dh-params-file", K_STR, S_EMPTY_NONE, FIELD(tls_dh_params_file),
     .apply = dice__server_tls_changed},
    {"tls-ca-cert-file", K_STR, S_EMPTY_NONE, FIELD(tls_ca_cert_file),
     .apply = dice__server_tls_changed},
    {"tls-ca-cert-dir", K_STR, S_EMPTY_NONE, FIELD(tls_ca_cert_dir),
     .apply = dice__server_tls_changed},
    {"tls-protocols", K_STR, S_EMPTY_NONE, FIELD(tls_protocols),
     .apply = dice__server_tls_changed},
    {"tls-ciphers", K_STR, S_EMPTY_NONE, FIELD(tls_ciphers),
     .apply = dice__server_tls_changed},
    {"tls-ciphersuites", K_STR, S_EMPTY_NONE, FIELD(tls_ciphersuites),
     .apply = dice__server_tls_changed},
    {"tls-auth-clients", K_ENUM, 0, FIELD(tls_auth_clients),
     .def = DICE__TLS_AUTH_YES, .names = tls_auth_names},
    {"tls-prefer-server-ciphers", K_BOOL, 0, FIELD(tls_prefer_server_ciphers),
     .def = 0, .apply = dice__server_tls_changed},
    {"tls-session-caching", K_BOOL, 0, FIELD(tls_session_caching), .def = 1,
     .apply = dice__server_tls_changed},
    {"tls-session-cache-size", K_INT, 0, FIELD(tls_session_cache_size),
     .def = 20480, .lo = 0, .hi = INT_MAX, .apply = dice__server_tls_changed},
    {"tls-session-cache-timeout", K_INT, 0, FIELD(tls_session_cache_timeout),
     .def = 300, .lo = 0, .hi = INT_MAX, .apply = dice__server_tls_changed},
    {"tls-replication", K_BOOL, 0, FIELD(tls_replication), .def = 0,
     .apply = dice__server_tls_changed},
    {"tls-cluster", K_BOOL, 0, FIELD(tls_cluster), .def = 0,
     .apply = dice__server_tls_changed},
    {"tracking-table-max-keys", K_INT, 0, FIELD(tracking_max_keys),
     .def = 1000000, .lo = 0, .hi = LLONG_MAX, .apply = dice__tracking_limit},
    {"tcp-backlog", K_INT, S_IMMUTABLE, FIELD(tcp_backlog), .def = 511, .lo = 0,
     .hi = INT_MAX},
    {"hz", K_INT, 0, FIELD(hz), .def = 10, .lo = 0, .hi = INT_MAX,
     .apply = apply_hz},
    {"timeout", K_INT, 0, FIELD(timeout), .def = 0, .lo = 0, .hi = INT_MAX},
    {"tcp-keepalive", K_INT, 0, FIELD(tcp_keepalive), .def = 300, .lo = 0,
     .hi = INT_MAX},
    {"busy-reply-threshold", K_INT, 0, FIELD(busy_reply_threshold),
     .alias = "lua-time-limit", .def = 5000, .lo = 0, .hi = LONG_MAX},
    /* The default user's password (resetpass, then >pass or nopass). */
    {"requirepass", K_STR, S_EMPTY_NONE, FIELD(requirepass),
     .apply = dice__acl_apply_requirepass},
    {"aclfile", K_STR, S_IMMUTABLE, FIELD(aclfile)},
    {"acllog-max-len", K_INT, 0, FIELD(acllog_max_len), .def = 128, .lo = 0,
     .hi = LONG_MAX},
    {"acl-pubsub-default", K_ENUM, 0, FIELD(acl_pubsub_default), .def = 0,
     .names = pubsub_default_names},
    {"protected-mode", K_BOOL, 0, FIELD(protected_mode), .def = 1},
    {"dir", K_STR, S_PROTECTED, FIELD(dir), .rewrite = rewrite_dir},
    /* Snapshots (lib/server/rdb.c), with Redis 7.0's defaults but for
     * save: a library writes no file unless its host asks (dice-server
     * sets Redis's "3600 1 300 100 60 10000"). */
    {"save", K_STR, 0, FIELD(save), .sdef = "", .check_str = check_save,
     .rewrite = rewrite_save, .apply = dice__rdb_apply_save},
    {"dbfilename", K_STR, S_PROTECTED, FIELD(dbfilename), .sdef = "dump.rdb",
     .check_str = check_dbfilename},
    {"rdbcompression", K_BOOL, 0, FIELD(rdbcompression), .def = 1},
    {"rdbchecksum", K_BOOL, S_IMMUTABLE, FIELD(rdbchecksum), .def = 1},
    {"stop-writes-on-bgsave-error", K_BOOL, 0, FIELD(stop_writes_on_bgsave_err),
     .def = 1, .apply = dice__rdb_update_denied},
    /* The append-only file (lib/server/aof.c), Redis 7.0's defaults. */
    {"appendonly", K_BOOL, 0, FIELD(appendonly), .def = 0,
     .check = dice__aof_check_enable, .apply = dice__aof_apply_enable},
    {"appendfilename", K_STR, S_IMMUTABLE, FIELD(appendfilename),
     .sdef = "appendonly.aof", .check_str = check_aof_name},
    {"appenddirname", K_STR, S_IMMUTABLE, FIELD(appenddirname),
     .sdef = "appendonlydir", .check_str = check_aof_name},
    {"appendfsync", K_ENUM, 0, FIELD(appendfsync), .def = DICE__FSYNC_EVERYSEC,
     .names = fsync_names},
    {"aof-use-rdb-preamble", K_BOOL, 0, FIELD(aof_use_rdb_preamble), .def = 1},
    {"aof-load-truncated", K_BOOL, 0, FIELD(aof_load_truncated), .def = 1},
    {"aof-timestamp-enabled", K_BOOL, 0, FIELD(aof_timestamp_enabled),
     .def = 0},
    {"no-appendfsync-on-rewrite", K_BOOL, 0, FIELD(no_appendfsync_on_rewrite),
     .def = 0},
    {"aof-rewrite-incremental-fsync", K_BOOL, 0,
     FIELD(aof_rewrite_incremental_fsync), .def = 1},
    {"auto-aof-rewrite-percentage", K_INT, 0, FIELD(auto_aof_rewrite_perc),
     .def = 100, .lo = 0, .hi = INT_MAX},
    {"auto-aof-rewrite-min-size", K_MEM, 0, FIELD(auto_aof_rewrite_min_size),
     .def = 64 * MB, .lo = 0, .hi = LLONG_MAX},
    {"enable-debug-command", K_ENUM, S_IMMUTABLE, FIELD(enable_debug_cmd),
     .def = DICE_ALLOW_NO, .names = allow_names},
    {"enable-module-command", K_ENUM, S_IMMUTABLE, FIELD(enable_module_cmd),
     .def = DICE_ALLOW_NO, .names = allow_names},
    {"enable-protected-configs", K_ENUM, S_IMMUTABLE,
     FIELD(enable_protected_configs), .def = DICE_ALLOW_NO,
     .names = allow_names},
    /* Collection encodings (Redis 7.0 has no set-max-listpack-*: 7.2). The
     * two *-value ones take memory notation, as in Redis. */
    {"list-max-listpack-size", K_INT, 0, FIELD(list_max_listpack_size),
     .alias = "list-max-ziplist-size", .def = -2, .lo = INT_MIN, .hi = INT_MAX,
     .apply = dice__server_apply_enc_limits},
    {"list-compress-depth", K_INT, 0, FIELD(list_compress_depth), .def = 0,
     .lo = 0, .hi = INT_MAX, .apply = dice__server_apply_enc_limits},
    {"hash-max-listpack-entries", K_INT, 0, FIELD(hash_max_listpack_entries),
     .alias = "hash-max-ziplist-entries", .def = 512, .lo = 0, .hi = LLONG_MAX,
     .apply = dice__server_apply_enc_limits},
    {"hash-max-listpack-value", K_MEM, 0, FIELD(hash_max_listpack_value),
     .alias = "hash-max-ziplist-value", .def = 64, .lo = 0, .hi = LLONG_MAX,
     .apply = dice__server_apply_enc_limits},
    {"set-max-intset-entries", K_INT, 0, FIELD(set_max_intset_entries),
     .def = 512, .lo = 0, .hi = LLONG_MAX,
     .apply = dice__server_apply_enc_limits},
    {"zset-max-listpack-entries", K_INT, 0, FIELD(zset_max_listpack_entries),
     .alias = "zset-max-ziplist-entries", .def = 128, .lo = 0, .hi = LLONG_MAX,
     .apply = dice__server_apply_enc_limits},
    {"zset-max-listpack-value", K_MEM, 0, FIELD(zset_max_listpack_value),
     .alias = "zset-max-ziplist-value", .def = 64, .lo = 0, .hi = LLONG_MAX,
     .apply = dice__server_apply_enc_limits},
    /* A sparse HyperLogLog past this many bytes (header included) turns
     * dense; memory notation, as in Redis. */
    {"hll-sparse-max-bytes", K_MEM, 0, FIELD(hll_sparse_max_bytes), .def = 3000,
     .lo = 0, .hi = LLONG_MAX, .apply = dice__server_apply_enc_limits},
    {"stream-node-max-bytes", K_MEM, 0, FIELD(stream_node_max_bytes),
     .def = 4096, .lo = 0, .hi = LLONG_MAX,
     .apply = dice__server_apply_enc_limits},
    {"stream-node-max-entries", K_INT, 0, FIELD(stream_node_max_entries),
     .def = 100, .lo = 0, .hi = LLONG_MAX,
     .apply = dice__server_apply_enc_limits},
    /* Which drops of big values free them on the lazy-free thread
     * (lib/server/lazyfree.c); all "no" in Redis 7.0. */
    /* The memory limit (lib/server/evict.c): a lower maxmemory evicts at
     * once; the policy picks the keyspace's clock (LRU or LFU). */
    {"maxmemory", K_MEM, 0, FIELD(maxmemory), .def = 0, .lo = 0,
     .hi = LLONG_MAX, .apply = dice__evict_apply},
    /* Client eviction (lib/server/client_evict.c): bytes or a percentage
     * of maxmemory, 0 for none. */
    {"maxmemory-clients", K_MEMPCT, 0, FIELD(maxmemory_clients), .def = 0,
     .lo = 0, .hi = LLONG_MAX, .apply = dice__client_evict_apply},
    {"maxmemory-policy", K_ENUM, 0, FIELD(maxmemory_policy),
     .def = DICE__MAXMEMORY_NOEVICTION, .names = maxmemory_policy_names,
     .apply = dice__evict_apply},
    {"maxmemory-samples", K_INT, 0, FIELD(maxmemory_samples), .def = 5, .lo = 1,
     .hi = INT_MAX},
    {"maxmemory-eviction-tenacity", K_INT, 0,
     FIELD(maxmemory_eviction_tenacity), .def = 10, .lo = 0, .hi = 100},
    {"lfu-log-factor", K_INT, 0, FIELD(lfu_log_factor), .def = 10, .lo = 0,
     .hi = INT_MAX, .apply = dice__evict_apply},
    {"lfu-decay-time", K_INT, 0, FIELD(lfu_decay_time), .def = 1, .lo = 0,
     .hi = INT_MAX, .apply = dice__evict_apply},
    {"lazyfree-lazy-eviction", K_BOOL, 0, FIELD(lazy_eviction), .def = 0,
     .apply = dice__lazyfree_apply},
    {"lazyfree-lazy-expire", K_BOOL, 0, FIELD(lazy_expire), .def = 0,
     .apply = dice__lazyfree_apply},
    {"lazyfree-lazy-server-del", K_BOOL, 0, FIELD(lazy_server_del), .def = 0,
     .apply = dice__lazyfree_apply},
    {"lazyfree-lazy-user-del", K_BOOL, 0, FIELD(lazy_user_del), .def = 0},
    {"lazyfree-lazy-user-flush", K_BOOL, 0, FIELD(lazy_user_flush), .def = 0,
     .apply = dice__lazyfree_apply},
    {"slowlog-log-slower-than", K_INT, 0, FIELD(slowlog_slower_than),
     .def = 10000, .lo = -1, .hi = LLONG_MAX, .apply = dice__intro_apply},
    {"slowlog-max-len", K_INT, 0, FIELD(slowlog_max_len), .def = 128, .lo = 0,
     .hi = LONG_MAX, .apply = dice__intro_apply},
    {"latency-monitor-threshold", K_INT, 0, FIELD(latency_threshold), .def = 0,
     .lo = 0, .hi = LLONG_MAX, .apply = dice__intro_apply},
    {"latency-tracking", K_BOOL, 0, FIELD(latency_tracking), .def = 1,
     .apply = dice__intro_apply},
    {"latency-tracking-info-percentiles", K_STR, S_PCTL, FIELD(latency_pctl),
     .sdef = "50 99 99.9", .apply = dice__intro_apply, .rewrite = rewrite_pctl},
    {"shutdown-timeout", K_INT, 0, FIELD(shutdown_timeout), .def = 10, .lo = 0,
     .hi = INT_MAX},
};
#undef FIELD
#undef MB

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static const setting_t *find_setting(const char *name) {
    for (size_t i = 0; i < NSETTINGS; i++)
        if (strcasecmp(settings[i].name, name) == 0 ||
            (settings[i].alias && strcasecmp(settings[i].alias, name) == 0))
            return &settings[i];
    return NULL;
}

/* ---- Settings objects --------------------------------------------------- */

int dice__settings_init(dice_settings_t *s) {
    memset(s, 0, sizeof(*s));
    /* Limits of the request parser that are not redis.conf settings. */
    s->inline_max = 64 * 1024;
    for (size_t i = 0; i < NSETTINGS; i++) {
        const setting_t *st = &settings[i];
        if (st->kind == K_OBUF) {
            static const dice__obuf_limit def[DICE__OBUF_CLASSES] = {
                [DICE__OBUF_NORMAL] = {0, 0, 0},
                [DICE__OBUF_REPLICA] = {256LL << 20, 64LL << 20, 60},
                [DICE__OBUF_PUBSUB] = {32LL << 20, 8LL << 20, 60}};
            memcpy(field(s, st), def, sizeof(def));
        } else if (st->kind != K_STR) {
            set_number(s, st, st->def);
        } else if (st->sdef && !(*(char **)field(s, st) = strdup(st->sdef))) {
            dice__settings_free(s);
            return DICE_ENOMEM;
        }
    }
    return 0;
}

void dice__settings_free(dice_settings_t *s) {
    for (size_t i = 0; i < NSETTINGS; i++)
        if (settings[i].kind == K_STR)
            free(*(char **)field(s, &settings[i]));
    memset(s, 0, sizeof(*s));
}

int dice__config_snapshot(dice_server_t *srv, dice_settings_t *out) {
    *out = srv->cfg;
    for (size_t i = 0; i < NSETTINGS; i++)
        if (settings[i].kind == K_STR)
            *(char **)field(out, &settings[i]) = NULL;
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (settings[i].kind != K_STR)
            continue;
        const char *src = *(char **)field(&srv->cfg, &settings[i]);
        char **dst = field(out, &settings[i]);
        if (src && !(*dst = strdup(src))) {
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
    for (size_t i = 0; i < NSETTINGS; i++)
        if (settings[i].apply)
            settings[i].apply(srv);
    /* The context in use was built from these values: nothing to rebuild
     * (a failed commit never replaced it). */
    srv->tls_dirty = false;
}

/* ---- Getting and setting ------------------------------------------------ */

/* True (with the error text set) if st cannot change now. A protected
 * setting is refused to a client that enable-protected-configs does not
 * allow (c NULL is the host itself, which may set anything). */
static bool setting_frozen(dice_server_t *srv, const setting_t *st,
                           const dice_client_t *c) {
    if (((st->flags & S_IMMUTABLE) && srv->started) ||
        ((st->flags & S_KEYSPACE) && srv->keyspace)) {
        snprintf(srv->cfg_err, sizeof(srv->cfg_err),
                 "can't set immutable config");
        return true;
    }
    if ((st->flags & S_PROTECTED) && c &&
        !dice__client_allowed(c, srv->cfg.enable_protected_configs)) {
        snprintf(srv->cfg_err, sizeof(srv->cfg_err),
                 "can't set protected config");
        return true;
    }
    return false;
}

int dice__config_check(dice_server_t *srv, const char *name,
                       const dice_client_t *c) {
    const setting_t *st = find_setting(name);
    if (!st)
        return DICE_ENOENT;
    return setting_frozen(srv, st, c) ? DICE_ESTATE : 0;
}

/* An alias is its own name in Redis 7.0's replies and errors. */
const char *dice__config_name(const char *name) {
    const setting_t *st = find_setting(name);
    if (st && st->alias && strcasecmp(st->alias, name) == 0)
        return st->alias;
    return st ? st->name : NULL;
}

int dice_server_config_set(dice_server_t *srv, const char *name,
                           const char *value) {
    if (!srv || !name || !value)
        return DICE_EINVAL;
    /* Directives of the config file (and --user, --rename-command) that
     * are no settings: kept for when the server starts. */
    if (!srv->started && strcasecmp(name, "user") == 0)
        return dice__acl_config_user(srv, value);
    if (!srv->started && strcasecmp(name, "rename-command") == 0)
        return dice__acl_config_rename(srv, value);
    const setting_t *st = find_setting(name);
    if (!st) {
        snprintf(srv->cfg_err, sizeof(srv->cfg_err), "Unknown argument '%s'",
                 name);
        return DICE_ENOENT;
    }
    if (setting_frozen(srv, st, NULL))
        return DICE_ESTATE;
    setting_value_t v = {0, NULL, {{0, 0, 0}}};
    int rc = kinds[st->kind].parse(srv, st, value, &v);
    if (rc == 0 && st->check)
        rc = st->check(srv, v.n);
    if (rc < 0) {
        free(v.s);
        return rc;
    }
    if (st->kind == K_STR) {
        char **f = field(&srv->cfg, st);
        free(*f);
        *f = v.s;
    } else if (st->kind == K_OBUF) {
        memcpy(field(&srv->cfg, st), v.obuf, sizeof(v.obuf));
    } else {
        set_number(&srv->cfg, st, v.n);
    }
    if (st->apply)
        st->apply(srv);
    if (srv->tls_dirty && !srv->cfg_commit_name)
        srv->cfg_commit_name = st->name;
    /* Outside CONFIG SET's batch (the host's own call), what the change
     * leaves to do is done now. */
    if (srv->cfg_batch == 0)
        return dice__config_commit(srv);
    return 0;
}

static int format_setting(dice_server_t *srv, const setting_t *st, char *buf,
                          size_t size) {
    return kinds[st->kind].format(srv, st, buf, size);
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
    for (size_t i = 0; i < NSETTINGS; i++) {
        const setting_t *st = &settings[i];
        bool name =
            dice_glob_match(pattern, plen, st->name, strlen(st->name), 1);
        bool alias = st->alias && dice_glob_match(pattern, plen, st->alias,
                                                  strlen(st->alias), 1);
        if (!name && !alias)
            continue;
        char *val = setting_value(srv, st);
        if (name)
            fn(arg, st->name, val ? val : "");
        if (alias)
            fn(arg, st->alias, val ? val : "");
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
    /* Kept for CONFIG REWRITE and INFO, absolute as Redis keeps it. */
    char *abs = realpath(path, NULL);
    if (!abs)
        abs = strdup(path);
    if (abs) {
        free(srv->config_file);
        srv->config_file = abs;
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

/* ---- CONFIG REWRITE ----------------------------------------------------- */

/* Redis 7.0's rewrite of the file the server was started with: the old
 * file's lines (trimmed) are kept in order; each line of a known setting
 * belongs to it (an alias's line to the setting), and each setting, in
 * the table's order, writes its current lines over its own old ones, one
 * by one; lines it does not reuse are blanked, and lines it has no old
 * line for are appended after "# Generated by CONFIG REWRITE" (once per
 * file), but only when the value is not the default ("force"). A line
 * that names no setting, or does not parse, is kept as "# ??? <line>".
 * Runs of empty lines are written as one. */

#define REWRITE_SIGNATURE "# Generated by CONFIG REWRITE"

typedef struct rewrite {
    char **line;
    int *owner; /* setting index; -1 none; -2 rewritten by its setting */
    size_t n, cap;
    bool signed_; /* the old file already has the signature line */
    bool nomem;
    dice_buf_t *b; /* the line being made */
} rewrite_t;

/* Append line (taken) with its owner. */
static void rw_append(rewrite_t *rw, char *line, int owner) {
    if (!line) {
        rw->nomem = true;
        return;
    }
    if (rw->n == rw->cap) {
        size_t cap = rw->cap ? rw->cap * 2 : 64;
        char **l = realloc(rw->line, cap * sizeof(*l));
        if (l)
            rw->line = l;
        int *o = l ? realloc(rw->owner, cap * sizeof(*o)) : NULL;
        if (!o) {
            free(line);
            rw->nomem = true;
            return;
        }
        rw->owner = o;
        rw->cap = cap;
    }
    rw->line[rw->n] = line;
    rw->owner[rw->n++] = owner;
}

/* The next line of setting st is b's text: over its next old line, or
 * appended when force (the value is not its default). Clears b. */
static void rw_line(rewrite_t *rw, const setting_t *st, dice_buf_t *b,
                    bool force) {
    int si = (int)(st - settings);
    size_t len = dice_buf_len(b);
    char *text = malloc(len + 1);
    if (text) {
        memcpy(text, dice_buf_data(b), len);
        text[len] = '\0';
    }
    dice_buf_clear(b);
    if (!text) {
        rw->nomem = true;
        return;
    }
    for (size_t i = 0; i < rw->n; i++) {
        if (rw->owner[i] == si) {
            free(rw->line[i]);
            rw->line[i] = text;
            rw->owner[i] = -2;
            return;
        }
    }
    if (!force) {
        free(text);
        return;
    }
    if (!rw->signed_) {
        rw_append(rw, strdup(REWRITE_SIGNATURE), -1);
        rw->signed_ = true;
    }
    rw_append(rw, text, -2);
}

/* "name " into b. */
static void rw_name(dice_buf_t *b, const setting_t *st) {
    dice_buf_append(b, st->name, strlen(st->name));
    dice_buf_append(b, " ", 1);
}

/* Redis's rewriteConfigFormatMemory: the largest of gb, mb, kb that
 * divides the value, else bytes. */
static void rw_memory(dice_buf_t *b, long long v) {
    static const struct {
        long long m;
        const char *u;
    } units[] = {{1LL << 30, "gb"}, {1LL << 20, "mb"}, {1LL << 10, "kb"}};
    char num[32];
    int n = 0;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && !n; i++)
        if (v && v % units[i].m == 0)
            n = snprintf(num, sizeof(num), "%lld%s", v / units[i].m,
                         units[i].u);
    if (!n)
        n = snprintf(num, sizeof(num), "%lld", v);
    dice_buf_append(b, num, (size_t)n);
}

/* bind: the addresses as given, unquoted ("bind 127.0.0.1 ::1"). */
static void rewrite_bind(dice_server_t *srv, const setting_t *st,
                         rewrite_t *rw) {
    const char *v = *(char **)field(&srv->cfg, st);
    if (!v)
        return;
    dice_buf_t *b = rw->b;
    rw_name(b, st);
    dice_buf_append(b, v, strlen(v));
    rw_line(rw, st, b, !st->sdef || strcmp(v, st->sdef) != 0);
}

/* dir: always written, the working directory when the setting is not set
 * (Redis chdirs to dir and writes getcwd()). */
static void rewrite_dir(dice_server_t *srv, const setting_t *st,
                        rewrite_t *rw) {
    const char *v = *(char **)field(&srv->cfg, st);
    char cwd[4096];
    if (!v && !(v = getcwd(cwd, sizeof(cwd))))
        return;
    dice_buf_t *b = rw->b;
    rw_name(b, st);
    dice__buf_catrepr(b, v, strlen(v));
    rw_line(rw, st, b, true);
}

/* latency-tracking-info-percentiles: always written by Redis 7.0, the
 * numbers unquoted, "" when there are none. */
static void rewrite_pctl(dice_server_t *srv, const setting_t *st,
                         rewrite_t *rw) {
    const char *v = *(char **)field(&srv->cfg, st);
    dice_buf_t *b = rw->b;
    rw_name(b, st);
    if (v && *v)
        dice_buf_append(b, v, strlen(v));
    else
        dice_buf_append(b, "\"\"", 2);
    rw_line(rw, st, b, true);
}

/* maxclients: written when it is not what the open-file limit gave a
 * server that left it unset. */
static void rewrite_maxclients(dice_server_t *srv, const setting_t *st,
                               rewrite_t *rw) {
    char val[32];
    int n = format_setting(srv, st, val, sizeof(val));
    long long v = get_number(&srv->cfg, st);
    rw_name(rw->b, st);
    dice_buf_append(rw->b, val, (size_t)n);
    rw_line(rw, st, rw->b, v != st->def && v != srv->maxclients_auto);
}

/* save: one "save <seconds> <changes>" line per point, or save "" when
 * there is none, always written (Redis's rewriteConfigSaveOption: an
 * absent line would mean the defaults at the next start). */
static void rewrite_save(dice_server_t *srv, const setting_t *st,
                         rewrite_t *rw) {
    if (srv->rdb.npoints == 0) {
        rw_name(rw->b, st);
        dice_buf_append(rw->b, "\"\"", 2);
        rw_line(rw, st, rw->b, true);
        return;
    }
    for (size_t i = 0; i < srv->rdb.npoints; i++) {
        rw_name(rw->b, st);
        char num[48];
        int n =
            snprintf(num, sizeof(num), "%lld %lld", srv->rdb.points[i].seconds,
                     srv->rdb.points[i].changes);
        dice_buf_append(rw->b, num, (size_t)n);
        rw_line(rw, st, rw->b, true);
    }
}

/* Redis's rewriteConfig*Option for each kind of setting. */
static void rewrite_setting(dice_server_t *srv, const setting_t *st,
                            rewrite_t *rw) {
    if (st->rewrite) {
        st->rewrite(srv, st, rw);
        return;
    }
    dice_buf_t *b = rw->b;
    dice_settings_t *cfg = &srv->cfg;
    char val[64];
    switch (st->kind) {
    case K_INT:
    case K_BOOL:
    case K_ENUM: {
        int n = format_setting(srv, st, val, sizeof(val));
        rw_name(b, st);
        dice_buf_append(b, val, (size_t)n);
        rw_line(rw, st, b, get_number(cfg, st) != st->def);
        break;
    }
    case K_MEM:
        rw_name(b, st);
        rw_memory(b, get_number(cfg, st));
        rw_line(rw, st, b, get_number(cfg, st) != st->def);
        break;
    case K_MEMPCT: {
        long long v = get_number(cfg, st);
        rw_name(b, st);
        if (v < 0) {
            int n = format_mempct(srv, st, val, sizeof(val));
            dice_buf_append(b, val, (size_t)n);
        } else {
            rw_memory(b, v);
        }
        rw_line(rw, st, b, v != st->def);
        break;
    }
    case K_STR: {
        /* A string that is not set has no line at all, so that it is not
         * set again at the next start. */
        const char *v = *(char **)field(cfg, st);
        if (!v)
            break;
        rw_name(b, st);
        dice__buf_catrepr(b, v, strlen(v));
        rw_line(rw, st, b, !st->sdef || strcmp(v, st->sdef) != 0);
        break;
    }
    case K_NOTIFY: {
        int n = format_notify(srv, st, val, sizeof(val));
        rw_name(b, st);
        dice__buf_catrepr(b, val, (size_t)n);
        rw_line(rw, st, b, cfg->notify_flags != 0);
        break;
    }
    case K_OBUF: {
        /* One line per class that is not at its default. */
        static const char *const cls[DICE__OBUF_CLASSES] = {
            [DICE__OBUF_NORMAL] = "normal",
            [DICE__OBUF_REPLICA] = "replica",
            [DICE__OBUF_PUBSUB] = "pubsub"};
        dice_settings_t def;
        if (dice__settings_init(&def) < 0) {
            rw->nomem = true;
            break;
        }
        for (int k = 0; k < DICE__OBUF_CLASSES; k++) {
            const dice__obuf_limit *l = &cfg->obuf[k], *d = &def.obuf[k];
            rw_name(b, st);
            dice_buf_append(b, cls[k], strlen(cls[k]));
            dice_buf_append(b, " ", 1);
            rw_memory(b, l->hard);
            dice_buf_append(b, " ", 1);
            rw_memory(b, l->soft);
            int n = snprintf(val, sizeof(val), " %lld", l->soft_seconds);
            dice_buf_append(b, val, (size_t)n);
            rw_line(rw, st, b,
                    l->hard != d->hard || l->soft != d->soft ||
                        l->soft_seconds != d->soft_seconds);
        }
        dice__settings_free(&def);
        break;
    }
    }
}

/* Trim " \t\r\n" at both ends, in place. */
static char *rw_trim(char *s) {
    size_t n = strlen(s);
    while (n && strchr(" \t\r\n", s[n - 1]))
        s[--n] = '\0';
    size_t lead = strspn(s, " \t\r\n");
    memmove(s, s + lead, n - lead + 1);
    return s;
}

/* The old file into rw (a missing file is an empty one). 0 or DICE_ESYS
 * (errno set). */
static int rw_read(rewrite_t *rw, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : DICE_ESYS;
    char *buf = NULL;
    size_t cap = 0;
    while (getline(&buf, &cap, f) >= 0 && !rw->nomem) {
        char *line = rw_trim(buf);
        if (line[0] == '#' || line[0] == '\0') {
            if (strcmp(line, REWRITE_SIGNATURE) == 0)
                rw->signed_ = true;
            rw_append(rw, strdup(line), -1);
            continue;
        }
        char **argv = NULL;
        int argc = dice__split_args(line, strlen(line), &argv);
        const setting_t *st = argc > 0 ? find_setting(argv[0]) : NULL;
        dice__split_free(argv, argc);
        if (!st) {
            /* Unparsable, or not ours: kept as a comment, as Redis. */
            size_t n = strlen(line);
            char *c = malloc(n + 7);
            if (c) {
                memcpy(c, "# ??? ", 6);
                memcpy(c + 6, line, n + 1);
            }
            rw_append(rw, c, -1);
            continue;
        }
        rw_append(rw, strdup(line), (int)(st - settings));
    }
    int err = ferror(f) ? errno : 0;
    free(buf);
    fclose(f);
    if (err) {
        errno = err;
        return DICE_ESYS;
    }
    /* Redis ends the old content with an empty line (runs of them are
     * written as one), before what it appends. */
    rw_append(rw, strdup(""), -1);
    return 0;
}

/* Write content to path atomically: a temporary file beside it, written,
 * fsync'd, renamed over it, and the directory fsync'd. 0 or DICE_ESYS
 * (errno set). */
static int rw_write_file(const char *path, const char *content, size_t len) {
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 8);
    if (!tmp) {
        errno = ENOMEM;
        return DICE_ESYS;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".XXXXXX", 8);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        free(tmp);
        return DICE_ESYS;
    }
    int rc = 0;
    size_t off = 0;
    while (off < len && rc == 0) {
        ssize_t w = write(fd, content + off, len - off);
        if (w < 0 && errno != EINTR)
            rc = DICE_ESYS;
        else if (w > 0)
            off += (size_t)w;
    }
    mode_t um = umask(0);
    umask(um);
    if (rc == 0 &&
        (fsync(fd) < 0 || fchmod(fd, 0644 & ~um) < 0 || rename(tmp, path) < 0))
        rc = DICE_ESYS;
    int err = errno;
    close(fd);
    if (rc < 0) {
        unlink(tmp);
    } else {
        /* The rename itself reaches the disk with the directory. */
        char *slash = strrchr(tmp, '/');
        const char *dir = ".";
        if (slash) {
            *slash = '\0';
            dir = slash == tmp ? "/" : tmp;
        }
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            if (fsync(dfd) < 0) {
                err = errno;
                rc = DICE_ESYS;
            }
            close(dfd);
        }
    }
    free(tmp);
    errno = err;
    return rc;
}

int dice__config_rewrite(dice_server_t *srv) {
    if (!srv->config_file)
        return DICE_ESTATE;
    rewrite_t rw = {0};
    dice_buf_t *out = NULL;
    if (dice_buf_new(&rw.b) < 0 || dice_buf_new(&out) < 0) {
        dice_buf_free(rw.b);
        errno = ENOMEM;
        return DICE_ESYS;
    }
    int rc = rw_read(&rw, srv->config_file);
    for (size_t i = 0; rc == 0 && i < NSETTINGS; i++)
        rewrite_setting(srv, &settings[i], &rw);
    bool was_empty = false;
    for (size_t i = 0; rc == 0 && i < rw.n; i++) {
        /* Old lines of a setting that it did not reuse go. */
        const char *line = rw.owner[i] >= 0 ? "" : rw.line[i];
        if (!*line && was_empty)
            continue;
        was_empty = !*line;
        dice_buf_append(out, line, strlen(line));
        dice_buf_append(out, "\n", 1);
    }
    if (rc == 0 && rw.nomem) {
        errno = ENOMEM;
        rc = DICE_ESYS;
    }
    if (rc == 0)
        rc = rw_write_file(srv->config_file, dice_buf_data(out),
                           dice_buf_len(out));
    int err = errno;
    for (size_t i = 0; i < rw.n; i++)
        free(rw.line[i]);
    free(rw.line);
    free(rw.owner);
    dice_buf_free(rw.b);
    dice_buf_free(out);
    errno = err;
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
