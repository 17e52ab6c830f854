/* The PUBSUB family: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH,
 * the sharded SSUBSCRIBE SUNSUBSCRIBE SPUBLISH, and PUBSUB CHANNELS /
 * NUMSUB / NUMPAT / SHARDCHANNELS / SHARDNUMSUB / HELP, answering byte for
 * byte like redis-server 7.0. The subscriptions themselves and delivery
 * are the pub/sub layer's (lib/pubsub/pubsub.c).
 *
 * Confirmations are pushes: a RESP2 client sees them as arrays, a RESP3
 * client as '>' pushes, among its ordinary replies. The count in a
 * (un)subscribe confirmation is the client's channels plus patterns, or
 * its shard channels for the sharded forms, as Redis counts them. */
#include "commands/commands_internal.h"

#include <string.h>

/* ---- API ---------------------------------------------------------------- */

/* What each kind's confirmations are called. */
static const char *const SUB_NAME[3] = {"subscribe", "psubscribe",
                                        "ssubscribe"};
static const char *const UNSUB_NAME[3] = {"unsubscribe", "punsubscribe",
                                          "sunsubscribe"};

static long long sub_count(const dice_client_t *c, dice__ps_kind kind) {
    if (kind == DICE__PS_SHARD)
        return (long long)dice__pubsub_count(c, DICE__PS_SHARD);
    return (long long)(dice__pubsub_count(c, DICE__PS_CHANNEL) +
                       dice__pubsub_count(c, DICE__PS_PATTERN));
}

/* [type, name or null, count] as a push. */
static void confirm(dice_client_t *c, const char *type, const char *name,
                    size_t len, long long count) {
    dice_reply_push(c, 3);
    dice_reply_bulk(c, type, strlen(type));
    if (name)
        dice_reply_bulk(c, name, len);
    else
        dice_reply_null(c);
    dice_reply_int(c, count);
}

static void subscribe_generic(dice_client_t *c, int argc,
                              const char *const *argv, const size_t *argvlen,
                              dice__ps_kind kind) {
    if (dice__pubsub_attach(c->srv) < 0) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    for (int j = 1; j < argc; j++) {
        if (dice__pubsub_subscribe(c, kind, argv[j], argvlen[j]) < 0) {
            dice__reply_err(c, DICE__ERR_NOMEM);
            return;
        }
        confirm(c, SUB_NAME[kind], argv[j], argvlen[j], sub_count(c, kind));
    }
}

/* Redis's pubsubUnsubscribeAll*: one confirmation per subscription, in
 * the order they were made, or a single one with a null name and the
 * count when there was none. */
static void unsubscribe_all(dice_client_t *c, dice__ps_kind kind, bool reply) {
    size_t n = dice__pubsub_count(c, kind);
    while (dice__pubsub_count(c, kind) > 0) {
        size_t len;
        const char *name = dice__pubsub_name(c, kind, 0, &len);
        /* The name is freed with the last subscriber: confirm first. */
        char stack[256];
        dice_buf_t copy;
        dice__buf_init(&copy);
        const char *keep = name;
        if (reply && len <= sizeof(stack)) {
            memcpy(stack, name, len);
            keep = stack;
        } else if (reply) {
            if (dice_buf_append(&copy, name, len) < 0) {
                dice__reply_err(c, DICE__ERR_NOMEM);
                return;
            }
            keep = copy.data;
        }
        dice__pubsub_unsubscribe(c, kind, name, len);
        if (reply)
            confirm(c, UNSUB_NAME[kind], keep, len, sub_count(c, kind));
        dice__buf_release(&copy);
    }
    if (n == 0 && reply)
        confirm(c, UNSUB_NAME[kind], NULL, 0, sub_count(c, kind));
}

static void unsubscribe_generic(dice_client_t *c, int argc,
                                const char *const *argv, const size_t *argvlen,
                                dice__ps_kind kind) {
    if (argc == 1) {
        unsubscribe_all(c, kind, true);
        return;
    }
    for (int j = 1; j < argc; j++) {
        dice__pubsub_unsubscribe(c, kind, argv[j], argvlen[j]);
        confirm(c, UNSUB_NAME[kind], argv[j], argvlen[j], sub_count(c, kind));
    }
}

/* ---- Commands ----------------------------------------------------------- */

/* SUBSCRIBE channel [channel ...] */
static DICE__CMD_FN(cmd_subscribe) {
    subscribe_generic(c, argc, argv, argvlen, DICE__PS_CHANNEL);
}

/* UNSUBSCRIBE [channel [channel ...]] */
static DICE__CMD_FN(cmd_unsubscribe) {
    unsubscribe_generic(c, argc, argv, argvlen, DICE__PS_CHANNEL);
}

/* PSUBSCRIBE pattern [pattern ...] */
static DICE__CMD_FN(cmd_psubscribe) {
    subscribe_generic(c, argc, argv, argvlen, DICE__PS_PATTERN);
}

/* PUNSUBSCRIBE [pattern [pattern ...]] */
static DICE__CMD_FN(cmd_punsubscribe) {
    unsubscribe_generic(c, argc, argv, argvlen, DICE__PS_PATTERN);
}

/* SSUBSCRIBE shardchannel [shardchannel ...] */
static DICE__CMD_FN(cmd_ssubscribe) {
    subscribe_generic(c, argc, argv, argvlen, DICE__PS_SHARD);
}

/* SUNSUBSCRIBE [shardchannel [shardchannel ...]] */
static DICE__CMD_FN(cmd_sunsubscribe) {
    unsubscribe_generic(c, argc, argv, argvlen, DICE__PS_SHARD);
}

/* PUBLISH channel message */
static DICE__CMD_FN(cmd_publish) {
    dice_reply_int(c, dice__pubsub_publish(c->srv, DICE__PS_CHANNEL, argv[1],
                                           argvlen[1], argv[2], argvlen[2]));
}

/* SPUBLISH shardchannel message */
static DICE__CMD_FN(cmd_spublish) {
    dice_reply_int(c, dice__pubsub_publish(c->srv, DICE__PS_SHARD, argv[1],
                                           argvlen[1], argv[2], argvlen[2]));
}

/* Redis's addReplySubcommandSyntaxError. */
static void subcommand_syntax_error(dice_client_t *c, const char *const *argv,
                                    const size_t *argvlen) {
    char upper[64];
    size_t n = argvlen[0] < sizeof(upper) - 1 ? argvlen[0] : sizeof(upper) - 1;
    for (size_t i = 0; i < n; i++)
        upper[i] =
            (char)(argv[0][i] >= 'a' && argv[0][i] <= 'z' ? argv[0][i] - 32
                                                          : argv[0][i]);
    upper[n] = '\0';
    int sl = argvlen[1] < 128 ? (int)argvlen[1] : 128;
    dice__reply_errorf(c,
                       "ERR unknown subcommand or wrong number of arguments "
                       "for '%.*s'. Try %s HELP.",
                       sl, argv[1], upper);
}

static void add_name(void *arg, const char *name, size_t len) {
    dice_reply_bulk(arg, name, len);
}

static void channels_generic(dice_client_t *c, int argc,
                             const char *const *argv, const size_t *argvlen,
                             dice__ps_kind kind) {
    if (argc > 3) {
        subcommand_syntax_error(c, argv, argvlen);
        return;
    }
    const char *pat = argc == 3 ? argv[2] : NULL;
    size_t plen = argc == 3 ? argvlen[2] : 0;
    size_t n = dice__pubsub_channels(c->srv, kind, pat, plen, NULL, NULL);
    dice_reply_array(c, n);
    dice__pubsub_channels(c->srv, kind, pat, plen, add_name, c);
}

static void numsub_generic(dice_client_t *c, int argc, const char *const *argv,
                           const size_t *argvlen, dice__ps_kind kind) {
    dice_reply_array(c, (size_t)(argc - 2) * 2);
    for (int j = 2; j < argc; j++) {
        dice_reply_bulk(c, argv[j], argvlen[j]);
        dice_reply_int(c, (long long)dice__pubsub_subscribers(
                              c->srv, kind, argv[j], argvlen[j]));
    }
}

/* PUBSUB CHANNELS [pattern] */
static DICE__CMD_FN(cmd_pubsub_channels) {
    channels_generic(c, argc, argv, argvlen, DICE__PS_CHANNEL);
}

/* PUBSUB NUMSUB [channel [channel ...]] */
static DICE__CMD_FN(cmd_pubsub_numsub) {
    numsub_generic(c, argc, argv, argvlen, DICE__PS_CHANNEL);
}

/* PUBSUB NUMPAT */
static DICE__CMD_FN(cmd_pubsub_numpat) {
    dice_reply_int(c, (long long)dice__pubsub_numpat(c->srv));
}

/* PUBSUB SHARDCHANNELS [pattern] */
static DICE__CMD_FN(cmd_pubsub_shardchannels) {
    channels_generic(c, argc, argv, argvlen, DICE__PS_SHARD);
}

/* PUBSUB SHARDNUMSUB [shardchannel [shardchannel ...]] */
static DICE__CMD_FN(cmd_pubsub_shardnumsub) {
    numsub_generic(c, argc, argv, argvlen, DICE__PS_SHARD);
}

/* PUBSUB HELP */
static DICE__CMD_FN(cmd_pubsub_help) {
    static const char *const lines[] = {
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> "
        "(default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, "
        "excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a "
        "<pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level "
        "channel(s)",
        "HELP",
        "    Prints this help."};
    dice__reply_help(c, lines, sizeof(lines) / sizeof(lines[0]));
}

/* ---- Registration ------------------------------------------------------- */

enum {
    PS = DICE_CMD_PUBSUB,
    LS = DICE_CMD_LOADING | DICE_CMD_STALE,
    SUB = DICE_CMD_PUBSUB | DICE_CMD_NOSCRIPT | DICE_CMD_LOADING |
          DICE_CMD_STALE | DICE__CMD_SUBSCRIBER_OK,
    PUB = DICE_CMD_PUBSUB | DICE_CMD_LOADING | DICE_CMD_STALE | DICE_CMD_FAST
};

#define G "pubsub"

static const dice__cmd_desc PUBSUB_CMDS[] = {
    {"subscribe", -2, SUB, 0, 0, 0, cmd_subscribe, NULL,
     "Listen for messages published to the given channels", "2.0.0",
     "O(N) where N is the number of channels to subscribe to.", 0, NULL, G,
     NULL},
    {"unsubscribe", -1, SUB, 0, 0, 0, cmd_unsubscribe, NULL,
     "Stop listening for messages posted to the given channels", "2.0.0",
     "O(N) where N is the number of clients already subscribed to a channel.",
     0, NULL, G, NULL},
    {"psubscribe", -2, SUB, 0, 0, 0, cmd_psubscribe, NULL,
     "Listen for messages published to channels matching the given patterns",
     "2.0.0",
     "O(N) where N is the number of patterns the client is already "
     "subscribed to.",
     0, NULL, G, NULL},
    {"punsubscribe", -1, SUB, 0, 0, 0, cmd_punsubscribe, NULL,
     "Stop listening for messages posted to channels matching the given "
     "patterns",
     "2.0.0",
     "O(N+M) where N is the number of patterns the client is already "
     "subscribed and M is the number of total patterns subscribed in the "
     "system (by any client).",
     0, NULL, G, NULL},
    {"publish", 3, PUB, 0, 0, 0, cmd_publish, NULL,
     "Post a message to a channel", "2.0.0",
     "O(N+M) where N is the number of clients subscribed to the receiving "
     "channel and M is the total number of subscribed patterns (by any "
     "client).",
     0, NULL, G, NULL},
    {"ssubscribe", -2, SUB, 1, -1, 1, cmd_ssubscribe, NULL,
     "Listen for messages published to the given shard channels", "7.0.0",
     "O(N) where N is the number of shard channels to subscribe to.", 0, NULL,
     G, NULL},
    {"sunsubscribe", -1, SUB, 1, -1, 1, cmd_sunsubscribe, NULL,
     "Stop listening for messages posted to the given shard channels", "7.0.0",
     "O(N) where N is the number of clients already subscribed to a shard "
     "channel.",
     0, NULL, G, NULL},
    {"spublish", 3, PUB, 1, 1, 1, cmd_spublish, NULL,
     "Post a message to a shard channel", "7.0.0",
     "O(N) where N is the number of clients subscribed to the receiving shard "
     "channel.",
     0, NULL, G, NULL},
};

static const dice__cmd_desc PUBSUB_CMD = {"pubsub",
                                          -2,
                                          0,
                                          0,
                                          0,
                                          0,
                                          NULL,
                                          NULL,
                                          "A container for Pub/Sub commands",
                                          "2.8.0",
                                          "Depends on subcommand.",
                                          0,
                                          NULL,
                                          G,
                                          NULL};

static const dice__cmd_desc PUBSUB_SUBS[] = {
    {"channels", -2, PS | LS, 0, 0, 0, cmd_pubsub_channels, NULL,
     "List active channels", "2.8.0",
     "O(N) where N is the number of active channels, and assuming constant "
     "time pattern matching (relatively short channels and patterns)",
     0, NULL, G, NULL},
    {"numsub", -2, PS | LS, 0, 0, 0, cmd_pubsub_numsub, NULL,
     "Get the count of subscribers for channels", "2.8.0",
     "O(N) for the NUMSUB subcommand, where N is the number of requested "
     "channels",
     0, NULL, G, NULL},
    {"numpat", 2, PS | LS, 0, 0, 0, cmd_pubsub_numpat, NULL,
     "Get the count of unique patterns pattern subscriptions", "2.8.0", "O(1)",
     0, NULL, G, NULL},
    {"shardchannels", -2, PS | LS, 0, 0, 0, cmd_pubsub_shardchannels, NULL,
     "List active shard channels", "7.0.0",
     "O(N) where N is the number of active shard channels, and assuming "
     "constant time pattern matching (relatively short shard channels).",
     0, NULL, G, NULL},
    {"shardnumsub", -2, PS | LS, 0, 0, 0, cmd_pubsub_shardnumsub, NULL,
     "Get the count of subscribers for shard channels", "7.0.0",
     "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested "
     "shard channels",
     0, NULL, G, NULL},
    {"help", 2, LS, 0, 0, 0, cmd_pubsub_help, NULL,
     "Show helpful text about the different subcommands", "6.2.0", "O(1)", 0,
     NULL, G, NULL},
};

#undef G

int dice__builtin_pubsub(dice_server_t *srv) {
    int rc = dice__pubsub_attach(srv);
    if (rc == 0)
        rc = dice__command_register(srv, NULL, NULL, PUBSUB_CMDS,
                                    sizeof(PUBSUB_CMDS) /
                                        sizeof(PUBSUB_CMDS[0]));
    if (rc == 0)
        rc = dice__command_register(srv, NULL, NULL, &PUBSUB_CMD, 1);
    if (rc == 0)
        rc = dice__command_register(srv, "pubsub", NULL, PUBSUB_SUBS,
                                    sizeof(PUBSUB_SUBS) /
                                        sizeof(PUBSUB_SUBS[0]));
    return rc;
}
