/* The CONNECTION family: PING ECHO QUIT HELLO AUTH SELECT RESET and CLIENT
 * with its sub-commands, answering byte for byte as redis-server 7.0 does
 * (CLIENT SETINFO as 7.2 does, since clients send it on connect). */
#include "commands/commands_internal.h"
#include "server/acl.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The Redis version we answer for in HELLO and INFO. Clients switch
 * features on this, so it names the release whose behaviour we copy. */
#define COMPAT_VERSION "7.0.15"

/* ---- Helpers ------------------------------------------------------------ */

/* AUTH and HELLO AUTH: the ACL user's password (lib/server/acl.c compares
 * SHA-256 digests in constant time and logs a failure, naming the command
 * as typed, argv[0]); on success c runs as that user. */
static bool auth_check(dice_client_t *c, const char *const *argv,
                       const size_t *argvlen, const char *user, size_t ulen,
                       const char *pass, size_t plen) {
    if (!dice__acl_authenticate(c, argv[0], argvlen[0], user, ulen, pass, plen))
        return false;
    dice__client_sync_auth(c);
    return true;
}

static void set_authenticated(dice_client_t *c, bool on) {
    c->authenticated = on;
    dice__client_sync_auth(c);
}

/* Redis accepts only printable ASCII without spaces in client names (and
 * library names/versions): '!' .. '~'. */
static bool name_ok(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (s[i] < '!' || s[i] > '~')
            return false;
    return true;
}

/* Replace *slot with a copy of s (NULL when len is 0). false on ENOMEM. */
static bool set_str(char **slot, const char *s, size_t len) {
    char *copy = NULL;
    if (len > 0) {
        copy = malloc(len + 1);
        if (!copy)
            return false;
        memcpy(copy, s, len);
        copy[len] = '\0';
    }
    free(*slot);
    *slot = copy;
    return true;
}

/* CLIENT SETNAME's rules; replies with the error and returns false. */
static bool client_setname(dice_client_t *c, const char *s, size_t len) {
    if (!name_ok(s, len)) {
        dice__reply_errstr(
            c, "ERR Client names cannot contain spaces, newlines or "
               "special characters.");
        return false;
    }
    if (!set_str(&c->name, s, len)) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return false;
    }
    return true;
}

/* ---- PING ECHO QUIT SELECT ---------------------------------------------- */

static DICE__CMD_FN(cmd_ping) {
    if (argc > 2) {
        dice__reply_errstr(c,
                           "ERR wrong number of arguments for 'ping' command");
        return;
    }
    /* A RESP2 subscriber's stream is pushes: PING answers as one, the
     * array [pong, message or ""]. */
    if ((c->flags & CLIENT_PUBSUB) && c->proto == 2) {
        dice_reply_array(c, 2);
        dice_reply_bulk(c, "pong", 4);
        dice_reply_bulk(c, argc == 2 ? argv[1] : "",
                        argc == 2 ? argvlen[1] : 0);
    } else if (argc == 1) {
        dice_reply_simple(c, "PONG", 4);
    } else {
        dice_reply_bulk(c, argv[1], argvlen[1]);
    }
}

static DICE__CMD_FN(cmd_echo) {
    dice_reply_bulk(c, argv[1], argvlen[1]);
}

static DICE__CMD_FN(cmd_quit) {
    dice_reply_ok(c);
    dice_client_close_after_reply(c);
}

static DICE__CMD_FN(cmd_select) {
    long long id;
    /* Redis reads the index as an int (getIntFromObjectOrReply), with
     * its own text for a number outside the int range. */
    if (dice__parse_ll_or_reply(c, argv[1], argvlen[1], &id) < 0)
        return;
    if (id < -2147483648LL || id > 2147483647LL) {
        dice__reply_errstr(c, "ERR value is out of range, value must between "
                              "-2147483648 and 2147483647");
        return;
    }
    if (id < 0 || id >= c->srv->cfg.databases) {
        dice__reply_errstr(c, "ERR DB index is out of range");
        return;
    }
    c->db = (int)id;
    dice_reply_ok(c);
}

/* ---- AUTH HELLO RESET --------------------------------------------------- */

static DICE__CMD_FN(cmd_auth) {
    dice_server_t *srv = c->srv;
    if (argc > 3) {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return;
    }
    bool ok;
    if (argc == 2) {
        if (srv->acl.def->flags & DICE__USER_NOPASS) {
            dice__reply_errstr(
                c, "ERR AUTH <password> called without any password "
                   "configured for the default user. Are you sure "
                   "your configuration is correct?");
            return;
        }
        ok = auth_check(c, argv, argvlen, "default", 7, argv[1], argvlen[1]);
    } else {
        ok = auth_check(c, argv, argvlen, argv[1], argvlen[1], argv[2],
                        argvlen[2]);
    }
    if (!ok) {
        dice__reply_errstr(
            c, "WRONGPASS invalid username-password pair or user is "
               "disabled.");
        return;
    }
    dice_reply_ok(c);
}

static DICE__CMD_FN(cmd_hello) {
    dice_server_t *srv = c->srv;
    long long ver = 0;
    int next = 1;
    if (argc >= 2) {
        if (!dice__str2ll(argv[1], argvlen[1], &ver)) {
            dice__reply_errstr(
                c, "ERR Protocol version is not an integer or out of "
                   "range");
            return;
        }
        next = 2;
        if (ver < 2 || ver > 3) {
            dice__reply_errstr(c, "NOPROTO unsupported protocol version");
            return;
        }
    }
    /* Options act as they are read, as in Redis 7.0: an AUTH that succeeds
     * or a name that is set stays so even if a later option is wrong. */
    for (int j = next; j < argc; j++) {
        int more = argc - j - 1;
        if (dice__eqci(argv[j], argvlen[j], "AUTH") && more >= 2) {
            if (!auth_check(c, argv, argvlen, argv[j + 1], argvlen[j + 1],
                            argv[j + 2], argvlen[j + 2])) {
                dice__reply_errstr(
                    c, "WRONGPASS invalid username-password pair or user "
                       "is disabled.");
                return;
            }
            j += 2;
        } else if (dice__eqci(argv[j], argvlen[j], "SETNAME") && more >= 1) {
            if (!client_setname(c, argv[j + 1], argvlen[j + 1]))
                return;
            j += 1;
        } else {
            dice__reply_errorf(c, "ERR Syntax error in HELLO option '%.*s'",
                               (int)argvlen[j], argv[j]);
            return;
        }
    }
    if (!c->authenticated && dice__acl_auth_required(srv)) {
        dice__reply_errstr(
            c, "NOAUTH HELLO must be called with the client already "
               "authenticated, otherwise the HELLO AUTH <user> <pass> "
               "option can be used to authenticate the client and "
               "select the RESP protocol version at the same time");
        return;
    }
    if (ver)
        c->proto = (int)ver;
    dice_reply_map(c, 7);
    dice_reply_cstr(c, "server");
    dice_reply_cstr(c, "redis");
    dice_reply_cstr(c, "version");
    dice_reply_cstr(c, COMPAT_VERSION);
    dice_reply_cstr(c, "proto");
    dice_reply_int(c, c->proto);
    dice_reply_cstr(c, "id");
    dice_reply_int(c, (long long)c->id);
    dice_reply_cstr(c, "mode");
    dice_reply_cstr(c, "standalone");
    dice_reply_cstr(c, "role");
    dice_reply_cstr(c, "master");
    dice_reply_cstr(c, "modules");
    dice_reply_array(c, 0);
}

static DICE__CMD_FN(cmd_reset) {
    /* Back to a fresh connection's state; with a password set, that means
     * unauthenticated again (Redis's clearClientConnectionState). */
    dice__multi_discard(c); /* leaves MULTI and unwatches */
    if (c->flags & CLIENT_TRACKING)
        dice__tracking_disable(c);
    c->flags &= ~(CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP_NEXT);
    c->db = 0;
    c->proto = 2;
    dice__pubsub_drop_client(c);
    free(c->name);
    c->name = NULL;
    c->user = c->srv->acl.def; /* Redis's clientSetDefaultAuth */
    dice__acl_client_refresh(c);
    set_authenticated(c, !dice__acl_auth_required(c->srv));
    dice_reply_simple(c, "RESET", 5);
}

/* ---- CLIENT ------------------------------------------------------------- */

static DICE__CMD_FN(cmd_client_id) {
    dice_reply_int(c, (long long)c->id);
}

static DICE__CMD_FN(cmd_client_setname) {
    if (client_setname(c, argv[2], argvlen[2]))
        dice_reply_ok(c);
}

static DICE__CMD_FN(cmd_client_getname) {
    if (c->name)
        dice_reply_cstr(c, c->name);
    else
        dice_reply_null(c);
}

/* Redis 7.2's CLIENT SETINFO LIB-NAME|LIB-VER value. */
static DICE__CMD_FN(cmd_client_setinfo) {
    char **slot;
    int an = (int)argvlen[2];
    if (dice__eqci(argv[2], argvlen[2], "lib-name")) {
        slot = &c->lib_name;
    } else if (dice__eqci(argv[2], argvlen[2], "lib-ver")) {
        slot = &c->lib_ver;
    } else {
        dice__reply_errorf(c, "ERR Unrecognized option '%.*s'", an, argv[2]);
        return;
    }
    if (!name_ok(argv[3], argvlen[3])) {
        dice__reply_errorf(c,
                           "ERR %.*s cannot contain spaces, newlines or "
                           "special characters.",
                           an, argv[2]);
        return;
    }
    if (!set_str(slot, argv[3], argvlen[3])) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    dice_reply_ok(c);
}

/* CLIENT NO-EVICT ON|OFF: whether maxmemory-clients may close this client
 * (lib/server/client_evict.c; the 'e' of CLIENT LIST). */
static DICE__CMD_FN(cmd_client_no_evict) {
    if (dice__eqci(argv[2], argvlen[2], "on")) {
        c->flags |= CLIENT_NO_EVICT;
    } else if (dice__eqci(argv[2], argvlen[2], "off")) {
        c->flags &= ~CLIENT_NO_EVICT;
    } else {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return;
    }
    dice_reply_ok(c);
}

/* Redis's addReplySubcommandSyntaxError, for the sub-commands whose
 * argument count their handler checks. */
static void reply_subcommand_syntax(dice_client_t *c, const char *sub,
                                    size_t len) {
    int n = len < 128 ? (int)len : 128;
    dice__reply_errorf(c,
                       "ERR unknown subcommand or wrong number of arguments "
                       "for '%.*s'. Try CLIENT HELP.",
                       n, sub);
}

/* CLIENT REPLY ON|OFF|SKIP */
static DICE__CMD_FN(cmd_client_reply) {
    (void)argc;
    if (dice__eqci(argv[2], argvlen[2], "on")) {
        c->flags &= ~(CLIENT_REPLY_SKIP | CLIENT_REPLY_OFF);
        dice_reply_ok(c);
    } else if (dice__eqci(argv[2], argvlen[2], "off")) {
        c->flags |= CLIENT_REPLY_OFF;
    } else if (dice__eqci(argv[2], argvlen[2], "skip")) {
        if (!(c->flags & CLIENT_REPLY_OFF))
            c->flags |= CLIENT_REPLY_SKIP_NEXT;
    } else {
        dice__reply_err(c, DICE__ERR_SYNTAX);
    }
}

/* CLIENT PAUSE <timeout> [WRITE|ALL] */
static DICE__CMD_FN(cmd_client_pause) {
    if (argc > 4) {
        reply_subcommand_syntax(c, argv[1], argvlen[1]);
        return;
    }
    int type = DICE__PAUSE_ALL;
    if (argc == 4) {
        if (dice__eqci(argv[3], argvlen[3], "write")) {
            type = DICE__PAUSE_WRITE;
        } else if (!dice__eqci(argv[3], argvlen[3], "all")) {
            dice__reply_errstr(c, "ERR CLIENT PAUSE mode must be WRITE or ALL");
            return;
        }
    }
    long long ms;
    if (!dice__str2ll(argv[2], argvlen[2], &ms)) {
        dice__reply_errstr(c, "ERR timeout is not an integer or out of range");
        return;
    }
    if (ms < 0) {
        dice__reply_errstr(c, "ERR timeout is negative");
        return;
    }
    dice_loop_t *loop = c->srv->loop;
    uint64_t now = dice_loop_now_ms(loop);
    /* Redis 7.0 adds the time with no overflow check, and a sum that wraps
     * is an end already past: the pause lasts until it is next checked. */
    uint64_t end = ms > LLONG_MAX - (long long)dice_loop_unix_ms(loop)
                       ? now
                       : now + (uint64_t)ms;
    if (dice__pause_start(c->srv, type, end) < 0) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    dice_reply_ok(c);
}

/* CLIENT UNPAUSE */
static DICE__CMD_FN(cmd_client_unpause) {
    dice__pause_end(c->srv);
    dice_reply_ok(c);
}

/* CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN]
 * [OPTOUT] [NOLOOP]: Redis 7.0's checks, in its order. */
static DICE__CMD_FN(cmd_client_tracking) {
    long long redir = 0;
    unsigned options = 0;
    size_t np = 0;
    const char **prefix = NULL;
    size_t *plen = NULL;
    if (argc > 3) {
        prefix = malloc((size_t)argc * sizeof(*prefix));
        plen = malloc((size_t)argc * sizeof(*plen));
        if (!prefix || !plen) {
            dice__reply_err(c, DICE__ERR_NOMEM);
            goto out;
        }
    }
    for (int j = 3; j < argc; j++) {
        bool more = j < argc - 1;
        const char *o = argv[j];
        size_t ol = argvlen[j];
        if (more && dice__eqci(o, ol, "redirect")) {
            j++;
            if (redir != 0) {
                dice__reply_errstr(c, "ERR A client can only redirect to a "
                                      "single other client");
                goto out;
            }
            if (!dice__str2ll(argv[j], argvlen[j], &redir)) {
                dice__reply_err(c, DICE__ERR_NOT_INT);
                goto out;
            }
            if (redir <= 0 || !dice__client_by_id(c->srv, (uint64_t)redir)) {
                dice__reply_errstr(c, "ERR The client ID you want redirect to "
                                      "does not exist");
                goto out;
            }
        } else if (dice__eqci(o, ol, "bcast")) {
            options |= CLIENT_TRACKING_BCAST;
        } else if (dice__eqci(o, ol, "optin")) {
            options |= CLIENT_TRACKING_OPTIN;
        } else if (dice__eqci(o, ol, "optout")) {
            options |= CLIENT_TRACKING_OPTOUT;
        } else if (dice__eqci(o, ol, "noloop")) {
            options |= CLIENT_TRACKING_NOLOOP;
        } else if (more && dice__eqci(o, ol, "prefix")) {
            j++;
            prefix[np] = argv[j];
            plen[np++] = argvlen[j];
        } else {
            dice__reply_err(c, DICE__ERR_SYNTAX);
            goto out;
        }
    }
    if (dice__eqci(argv[2], argvlen[2], "on")) {
        const char *err = NULL;
        unsigned f = c->flags;
        if (!(options & CLIENT_TRACKING_BCAST) && np)
            err = "ERR PREFIX option requires BCAST mode to be enabled";
        else if ((f & CLIENT_TRACKING) &&
                 !(f & CLIENT_TRACKING_BCAST) !=
                     !(options & CLIENT_TRACKING_BCAST))
            err = "ERR You can't switch BCAST mode on/off before disabling "
                  "tracking for this client, and then re-enabling it with a "
                  "different mode.";
        else if ((options & CLIENT_TRACKING_BCAST) &&
                 (options & (CLIENT_TRACKING_OPTIN | CLIENT_TRACKING_OPTOUT)))
            err = "ERR OPTIN and OPTOUT are not compatible with BCAST";
        else if ((options & CLIENT_TRACKING_OPTIN) &&
                 (options & CLIENT_TRACKING_OPTOUT))
            err = "ERR You can't specify both OPTIN mode and OPTOUT mode";
        else if (((options & CLIENT_TRACKING_OPTIN) &&
                  (f & CLIENT_TRACKING_OPTOUT)) ||
                 ((options & CLIENT_TRACKING_OPTOUT) &&
                  (f & CLIENT_TRACKING_OPTIN)))
            err = "ERR You can't switch OPTIN/OPTOUT mode before disabling "
                  "tracking for this client, and then re-enabling it with a "
                  "different mode.";
        if (err) {
            dice__reply_errstr(c, err);
            goto out;
        }
        if ((options & CLIENT_TRACKING_BCAST) &&
            dice__tracking_prefix_clash(c, prefix, plen, np))
            goto out;
        if (dice__tracking_enable(c, (uint64_t)redir, options, prefix, plen,
                                  np) < 0) {
            dice__reply_err(c, DICE__ERR_NOMEM);
            goto out;
        }
    } else if (dice__eqci(argv[2], argvlen[2], "off")) {
        dice__tracking_disable(c);
    } else {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        goto out;
    }
    dice_reply_ok(c);
out:
    free(prefix);
    free(plen);
}

/* CLIENT CACHING YES|NO */
static DICE__CMD_FN(cmd_client_caching) {
    (void)argc;
    if (!(c->flags & CLIENT_TRACKING)) {
        dice__reply_errstr(c, "ERR CLIENT CACHING can be called only when the "
                              "client is in tracking mode with OPTIN or OPTOUT "
                              "mode enabled");
        return;
    }
    if (dice__eqci(argv[2], argvlen[2], "yes")) {
        if (!(c->flags & CLIENT_TRACKING_OPTIN)) {
            dice__reply_errstr(c, "ERR CLIENT CACHING YES is only valid when "
                                  "tracking is enabled in OPTIN mode.");
            return;
        }
    } else if (dice__eqci(argv[2], argvlen[2], "no")) {
        if (!(c->flags & CLIENT_TRACKING_OPTOUT)) {
            dice__reply_errstr(c, "ERR CLIENT CACHING NO is only valid when "
                                  "tracking is enabled in OPTOUT mode.");
            return;
        }
    } else {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return;
    }
    c->flags |= CLIENT_TRACKING_CACHING;
    dice_reply_ok(c);
}

/* CLIENT GETREDIR: the redirection id, 0 for none, -1 when not tracking. */
static DICE__CMD_FN(cmd_client_getredir) {
    dice_reply_int(c, (c->flags & CLIENT_TRACKING)
                          ? (long long)dice__tracking_redir(c)
                          : -1);
}

/* CLIENT TRACKINGINFO */
static DICE__CMD_FN(cmd_client_trackinginfo) {
    unsigned f = c->flags;
    const char *flags[8];
    size_t nf = 0;
    flags[nf++] = (f & CLIENT_TRACKING) ? "on" : "off";
    if (f & CLIENT_TRACKING_BCAST)
        flags[nf++] = "bcast";
    if (f & CLIENT_TRACKING_OPTIN) {
        flags[nf++] = "optin";
        if (f & CLIENT_TRACKING_CACHING)
            flags[nf++] = "caching-yes";
    }
    if (f & CLIENT_TRACKING_OPTOUT) {
        flags[nf++] = "optout";
        if (f & CLIENT_TRACKING_CACHING)
            flags[nf++] = "caching-no";
    }
    if (f & CLIENT_TRACKING_NOLOOP)
        flags[nf++] = "noloop";
    if (f & CLIENT_TRACKING_BROKEN_REDIR)
        flags[nf++] = "broken_redirect";
    dice_reply_map(c, 3);
    dice_reply_cstr(c, "flags");
    dice_reply_set(c, nf);
    for (size_t i = 0; i < nf; i++)
        dice_reply_cstr(c, flags[i]);
    dice_reply_cstr(c, "redirect");
    dice_reply_int(c, (f & CLIENT_TRACKING) ? (long long)dice__tracking_redir(c)
                                            : -1);
    dice_reply_cstr(c, "prefixes");
    const char *p;
    size_t len;
    size_t n = dice__tracking_prefixes(c, 0, &p, &len);
    dice_reply_array(c, n);
    for (size_t i = 0; i < n; i++) {
        dice__tracking_prefixes(c, i, &p, &len);
        dice_reply_bulk(c, p, len);
    }
}

static size_t argv_total(int argc, const size_t *argvlen) {
    size_t n = 0;
    for (int i = 0; i < argc; i++)
        n += argvlen[i];
    return n;
}

static void reply_text(dice_client_t *c, dice_buf_t *b) {
    dice_reply_verbatim(c, "txt", b->data ? b->data : "", b->len);
    dice__buf_release(b);
}

static DICE__CMD_FN(cmd_client_info) {
    dice_buf_t b;
    dice__buf_init(&b);
    dice__client_info_line(&b, c, c, argv_total(argc, argvlen));
    dice_buf_append(&b, "\n", 1);
    reply_text(c, &b);
}

/* Client types, as CLIENT LIST/KILL TYPE name them (Redis's
 * getClientType): no replication yet, so no client is a master or a
 * replica. */
enum {
    CTYPE_NORMAL = 0,
    CTYPE_PUBSUB = 1,
    CTYPE_REPLICA = 2,
    CTYPE_MASTER = 3,
    CTYPE_UNKNOWN = -1
};

static int client_type_by_name(const char *s, size_t len) {
    if (dice__eqci(s, len, "normal"))
        return CTYPE_NORMAL;
    if (dice__eqci(s, len, "pubsub"))
        return CTYPE_PUBSUB;
    if (dice__eqci(s, len, "slave") || dice__eqci(s, len, "replica"))
        return CTYPE_REPLICA;
    if (dice__eqci(s, len, "master"))
        return CTYPE_MASTER;
    return CTYPE_UNKNOWN;
}

static int client_type(const dice_client_t *c) {
    return (c->flags & CLIENT_PUBSUB) ? CTYPE_PUBSUB : CTYPE_NORMAL;
}

/* Oldest client first, as Redis lists them: the list is newest-first. */
static dice_client_t *oldest_client(dice_server_t *srv) {
    dice_client_t *cl = srv->clients;
    while (cl && cl->next)
        cl = cl->next;
    return cl;
}

static dice_client_t *client_by_id(dice_server_t *srv, long long id) {
    return id > 0 ? dice__client_by_id(srv, (uint64_t)id) : NULL;
}

static DICE__CMD_FN(cmd_client_list) {
    dice_server_t *srv = c->srv;
    size_t amem = argv_total(argc, argvlen);
    dice_buf_t b;
    dice__buf_init(&b);
    if (argc == 4 && dice__eqci(argv[2], argvlen[2], "type")) {
        int type = client_type_by_name(argv[3], argvlen[3]);
        if (type == CTYPE_UNKNOWN) {
            int n = (int)argvlen[3];
            dice__reply_errorf(c, "ERR Unknown client type '%.*s'", n, argv[3]);
            return;
        }
        {
            for (dice_client_t *cl = oldest_client(srv); cl; cl = cl->prev) {
                if ((cl->flags & CLIENT_CLOSED) || client_type(cl) != type)
                    continue;
                dice__client_info_line(&b, cl, c, amem);
                dice_buf_append(&b, "\n", 1);
            }
        }
    } else if (argc > 3 && dice__eqci(argv[2], argvlen[2], "id")) {
        for (int j = 3; j < argc; j++) {
            long long id;
            if (!dice__str2ll(argv[j], argvlen[j], &id)) {
                dice__buf_release(&b);
                dice__reply_errstr(c, "ERR Invalid client ID");
                return;
            }
            dice_client_t *cl = client_by_id(srv, id);
            if (cl) {
                dice__client_info_line(&b, cl, c, amem);
                dice_buf_append(&b, "\n", 1);
            }
        }
    } else if (argc != 2) {
        dice__reply_err(c, DICE__ERR_SYNTAX);
        return;
    } else {
        for (dice_client_t *cl = oldest_client(srv); cl; cl = cl->prev) {
            if (cl->flags & CLIENT_CLOSED)
                continue;
            dice__client_info_line(&b, cl, c, amem);
            dice_buf_append(&b, "\n", 1);
        }
    }
    reply_text(c, &b);
}

/* CLIENT KILL ip:port (old form: may kill the caller, replies +OK or an
 * error) and CLIENT KILL <filter> <value> ... (new form: replies with the
 * count, skips the caller unless SKIPME no). The caller, if killed, is
 * closed after its reply is written. */
static DICE__CMD_FN(cmd_client_kill) {
    dice_server_t *srv = c->srv;
    const char *addr = NULL, *laddr = NULL;
    size_t addrlen = 0, laddrlen = 0;
    int type = CTYPE_UNKNOWN;
    long long id = 0;
    bool skipme = true;
    const struct dice__acl_user *user = NULL;
    if (argc == 3) {
        addr = argv[2];
        addrlen = argvlen[2];
        skipme = false;
    } else {
        for (int i = 2; i < argc; i += 2) {
            bool more = argc > i + 1;
            const char *o = argv[i];
            size_t ol = argvlen[i];
            if (more && dice__eqci(o, ol, "id")) {
                if (!dice__str2ll(argv[i + 1], argvlen[i + 1], &id) || id < 1) {
                    dice__reply_errstr(
                        c, "ERR client-id should be greater than 0");
                    return;
                }
            } else if (more && dice__eqci(o, ol, "type")) {
                type = client_type_by_name(argv[i + 1], argvlen[i + 1]);
                if (type == CTYPE_UNKNOWN) {
                    int n = (int)argvlen[i + 1];
                    dice__reply_errorf(c, "ERR Unknown client type '%.*s'", n,
                                       argv[i + 1]);
                    return;
                }
            } else if (more && dice__eqci(o, ol, "addr")) {
                addr = argv[i + 1];
                addrlen = argvlen[i + 1];
            } else if (more && dice__eqci(o, ol, "laddr")) {
                laddr = argv[i + 1];
                laddrlen = argvlen[i + 1];
            } else if (more && dice__eqci(o, ol, "user")) {
                user = dice__acl_find(srv, argv[i + 1], argvlen[i + 1]);
                if (!user) {
                    int n = (int)argvlen[i + 1];
                    dice__reply_errorf(c, "ERR No such user '%.*s'", n,
                                       argv[i + 1]);
                    return;
                }
            } else if (more && dice__eqci(o, ol, "skipme")) {
                if (dice__eqci(argv[i + 1], argvlen[i + 1], "yes")) {
                    skipme = true;
                } else if (dice__eqci(argv[i + 1], argvlen[i + 1], "no")) {
                    skipme = false;
                } else {
                    dice__reply_err(c, DICE__ERR_SYNTAX);
                    return;
                }
            } else {
                dice__reply_err(c, DICE__ERR_SYNTAX);
                return;
            }
        }
    }
    long long killed = 0;
    bool kill_self = false;
    dice_client_t *cl = srv->clients;
    while (cl) {
        dice_client_t *next = cl->next;
        if ((cl->flags & CLIENT_CLOSED) ||
            (addr && (strlen(cl->addr) != addrlen ||
                      memcmp(cl->addr, addr, addrlen) != 0)) ||
            (laddr && (strlen(cl->laddr) != laddrlen ||
                       memcmp(cl->laddr, laddr, laddrlen) != 0)) ||
            (type != CTYPE_UNKNOWN && client_type(cl) != type) ||
            (id != 0 && (long long)cl->id != id) ||
            (user && cl->user != user) || (cl == c && skipme)) {
            cl = next;
            continue;
        }
        if (cl == c)
            kill_self = true;
        else
            dice__client_free_now(cl);
        killed++;
        cl = next;
    }
    if (argc == 3) {
        if (killed == 0)
            dice__reply_errstr(c, "ERR No such client");
        else
            dice_reply_ok(c);
    } else {
        dice_reply_int(c, killed);
    }
    if (kill_self)
        dice_client_close_after_reply(c);
}

/* CLIENT UNBLOCK <client-id> [TIMEOUT|ERROR]: end the wait of a client
 * blocked in a blocking command, as if it timed out (the default) or with
 * an -UNBLOCKED error. :1 if it was blocked, else :0. */
static DICE__CMD_FN(cmd_client_unblock) {
    long long id;
    if (argc > 4) {
        reply_subcommand_syntax(c, argv[1], argvlen[1]);
        return;
    }
    if (!dice__str2ll(argv[2], argvlen[2], &id)) {
        dice__reply_err(c, DICE__ERR_NOT_INT);
        return;
    }
    int how = DICE__UNBLOCK_TIMEOUT;
    if (argc == 4) {
        if (dice__eqci(argv[3], argvlen[3], "error")) {
            how = DICE__UNBLOCK_ERROR;
        } else if (!dice__eqci(argv[3], argvlen[3], "timeout")) {
            dice__reply_errstr(
                c, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    }
    dice_client_t *cl = client_by_id(c->srv, id);
    dice_reply_int(c, cl ? dice__client_unblock(cl, how) : 0);
}

/* Redis 7.0.15's CLIENT HELP, line for line. */
static const char *const client_help[] = {
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT "
    "modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "HELP",
    "    Prints this help.",
};

static DICE__CMD_FN(cmd_client_help) {
    dice__reply_help(c, client_help,
                     sizeof(client_help) / sizeof(client_help[0]));
}

/* ---- Registration ------------------------------------------------------- */

#define F_CONN_NOAUTH                                                          \
    (DICE_CMD_NOSCRIPT | DICE_CMD_LOADING | DICE_CMD_STALE | DICE_CMD_FAST |   \
     DICE_CMD_NOAUTH | DICE_CMD_ALLOW_BUSY)
#define F_CLIENT (DICE_CMD_NOSCRIPT | DICE_CMD_LOADING | DICE_CMD_STALE)
#define F_CLIENT_ADMIN (DICE_CMD_ADMIN | F_CLIENT)

static const dice__cmd_desc top[] = {
    /* CLIENT only groups its sub-commands. */
    {"client", -2, 0, 0, 0, 0, NULL, NULL,
     "A container for connection commands", "2.4.0", "Depends on subcommand.",
     0, NULL, NULL, NULL},
    {"ping", -1, DICE_CMD_FAST | DICE__CMD_SUBSCRIBER_OK, 0, 0, 0, cmd_ping,
     NULL, "Check the connection: PONG, or the given message", "1.0.0", "O(1)",
     0, "request_policy:all_shards response_policy:all_succeeded", NULL, NULL},
    {"echo", 2, DICE_CMD_LOADING | DICE_CMD_STALE | DICE_CMD_FAST, 0, 0, 0,
     cmd_echo, NULL, "Reply with the given string", "1.0.0", "O(1)", 0, NULL,
     NULL, NULL},
    {"quit", -1, F_CONN_NOAUTH | DICE__CMD_TXN_NOW | DICE__CMD_SUBSCRIBER_OK, 0,
     0, 0, cmd_quit, NULL, "Close this connection once the reply is sent",
     "1.0.0", "O(1)", 0, NULL, NULL, NULL},
    {"hello", -1, F_CONN_NOAUTH, 0, 0, 0, cmd_hello, NULL,
     "Choose the protocol (2 or 3), optionally authenticate and name the "
     "connection, and describe the server",
     "6.0.0", "O(1)", 0, NULL, NULL, NULL},
    {"auth", -2, F_CONN_NOAUTH, 0, 0, 0, cmd_auth, NULL,
     "Authenticate this connection with a password", "1.0.0",
     "O(N) where N is the number of passwords defined for the user", 0, NULL,
     NULL, NULL},
    {"select", 2, DICE_CMD_LOADING | DICE_CMD_STALE | DICE_CMD_FAST, 0, 0, 0,
     cmd_select, NULL, "Switch this connection to another numbered database",
     "1.0.0", "O(1)", 0, NULL, NULL, NULL},
    {"reset", 1, F_CONN_NOAUTH | DICE__CMD_TXN_NOW | DICE__CMD_SUBSCRIBER_OK, 0,
     0, 0, cmd_reset, NULL, "Return this connection to its initial state",
     "6.2.0", "O(1)", 0, NULL, NULL, NULL},
};

static const dice__cmd_desc client_subs[] = {
    {"id", 2, F_CLIENT, 0, 0, 0, cmd_client_id, NULL,
     "Get this connection's unique id", "5.0.0", "O(1)", 0, NULL, NULL, NULL},
    {"setname", 3, F_CLIENT, 0, 0, 0, cmd_client_setname, NULL,
     "Name this connection", "2.6.9", "O(1)", 0, NULL, NULL, NULL},
    {"getname", 2, F_CLIENT, 0, 0, 0, cmd_client_getname, NULL,
     "Get the name of this connection", "2.6.9", "O(1)", 0, NULL, NULL, NULL},
    {"setinfo", 4, F_CLIENT, 0, 0, 0, cmd_client_setinfo, NULL,
     "Record the client library's name or version for this connection", "7.2.0",
     "O(1)", 0, NULL, NULL, NULL},
    {"info", 2, F_CLIENT, 0, 0, 0, cmd_client_info, NULL,
     "Describe this connection in CLIENT LIST form", "6.2.0", "O(1)", 0,
     "nondeterministic_output", NULL, NULL},
    {"list", -2, F_CLIENT_ADMIN, 0, 0, 0, cmd_client_list, NULL,
     "Describe the open connections, one per line", "2.4.0",
     "O(N) where N is the number of client connections", 0,
     "nondeterministic_output", NULL, NULL},
    {"kill", -3, F_CLIENT_ADMIN, 0, 0, 0, cmd_client_kill, NULL,
     "Close the connections matching an address or filters", "2.4.0",
     "O(N) where N is the number of client connections", 0, NULL, NULL, NULL},
    {"unblock", -3, F_CLIENT_ADMIN, 0, 0, 0, cmd_client_unblock, NULL,
     "Unblock a client blocked in a blocking command from another "
     "connection",
     "5.0.0", "O(log N) where N is the number of client connections", 0, NULL,
     NULL, NULL},
    {"reply", 3, F_CLIENT, 0, 0, 0, cmd_client_reply, NULL,
     "Instruct the server whether to reply to commands", "3.2.0", "O(1)", 0,
     NULL, NULL, NULL},
    {"pause", -3, F_CLIENT_ADMIN, 0, 0, 0, cmd_client_pause, NULL,
     "Stop processing commands from clients for some time", "2.9.50", "O(1)", 0,
     NULL, NULL, NULL},
    {"unpause", 2, F_CLIENT_ADMIN, 0, 0, 0, cmd_client_unpause, NULL,
     "Resume processing of clients that were paused", "6.2.0",
     "O(N) Where N is the number of paused clients", 0, NULL, NULL, NULL},
    {"tracking", -3, F_CLIENT, 0, 0, 0, cmd_client_tracking, NULL,
     "Enable or disable server assisted client side caching support", "6.0.0",
     "O(1). Some options may introduce additional complexity.", 0, NULL, NULL,
     NULL},
    {"caching", 3, F_CLIENT, 0, 0, 0, cmd_client_caching, NULL,
     "Instruct the server about tracking or not keys in the next request",
     "6.0.0", "O(1)", 0, NULL, NULL, NULL},
    {"getredir", 2, F_CLIENT, 0, 0, 0, cmd_client_getredir, NULL,
     "Get tracking notifications redirection client ID if any", "6.0.0", "O(1)",
     0, NULL, NULL, NULL},
    {"trackinginfo", 2, F_CLIENT, 0, 0, 0, cmd_client_trackinginfo, NULL,
     "Return information about server assisted client side caching for the "
     "current connection",
     "6.2.0", "O(1)", 0, NULL, NULL, NULL},
    {"no-evict", 3, F_CLIENT_ADMIN, 0, 0, 0, cmd_client_no_evict, NULL,
     "Set whether this connection may be evicted", "7.0.0", "O(1)", 0, NULL,
     NULL, NULL},
    {"help", 2, DICE_CMD_LOADING | DICE_CMD_STALE, 0, 0, 0, cmd_client_help,
     NULL, "Describe the CLIENT sub-commands", "5.0.0", "O(1)", 0, NULL, NULL,
     NULL},
};

int dice__builtin_connection(dice_server_t *srv) {
    int rc =
        dice__command_register(srv, NULL, "connection", top, DICE__COUNT(top));
    if (rc == 0)
        rc = dice__command_register(srv, "client", "connection", client_subs,
                                    DICE__COUNT(client_subs));
    return rc;
}
