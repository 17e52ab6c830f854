/* The pub/sub layer: who is subscribed to what (channels, patterns and
 * shard channels, server-wide and per client), message delivery, and
 * keyspace notifications, which are messages the server publishes itself.
 * The commands (SUBSCRIBE, PUBLISH, PUBSUB...) are lib/commands/pubsub.c;
 * the server core reaches this layer only through srv->pubsub_hooks, set
 * by dice__pubsub_attach. */
#ifndef DICE_PUBSUB_INTERNAL_H
#define DICE_PUBSUB_INTERNAL_H

#include "server/server_internal.h"

#include <stdbool.h>
#include <stddef.h>

/* The three kinds of subscription. */
typedef enum dice__ps_kind {
    DICE__PS_CHANNEL = 0, /* SUBSCRIBE: messages of one channel */
    DICE__PS_PATTERN = 1, /* PSUBSCRIBE: channels matching a glob */
    DICE__PS_SHARD = 2    /* SSUBSCRIBE: shard channels (SPUBLISH) */
} dice__ps_kind;

/* Give the server its pub/sub state and hooks (once; later calls do
 * nothing). 0 or DICE_ENOMEM. */
int dice__pubsub_attach(dice_server_t *srv);

/* Subscribe c to name (a channel, pattern or shard channel). Returns 1 if
 * it is a new subscription, 0 if c had it already, DICE_ENOMEM. Sets
 * CLIENT_PUBSUB. Nothing is replied. */
int dice__pubsub_subscribe(dice_client_t *c, dice__ps_kind kind,
                           const char *name, size_t len);
/* Remove one subscription: 1 if c had it, else 0. Clears CLIENT_PUBSUB
 * with the last subscription of any kind. Nothing is replied. */
int dice__pubsub_unsubscribe(dice_client_t *c, dice__ps_kind kind,
                             const char *name, size_t len);
/* Number of c's subscriptions of one kind. */
size_t dice__pubsub_count(const dice_client_t *c, dice__ps_kind kind);
/* The name of c's i-th subscription of a kind (in the order made), for
 * the UNSUBSCRIBE-everything forms. */
const char *dice__pubsub_name(const dice_client_t *c, dice__ps_kind kind,
                              size_t i, size_t *len);
/* Drop every subscription of c with no reply (RESET, disconnect). */
void dice__pubsub_drop_client(dice_client_t *c);

/* Deliver msg on channel to its subscribers (kind CHANNEL: also to
 * matching patterns' subscribers, as "pmessage"; kind SHARD: "smessage"
 * to the shard channel's subscribers), in subscription order, as Redis.
 * Returns the number of receivers (a client reached through two
 * subscriptions counts twice, as in Redis). */
long long dice__pubsub_publish(dice_server_t *srv, dice__ps_kind kind,
                               const char *chan, size_t clen, const char *msg,
                               size_t mlen);

/* Channels (kind CHANNEL or SHARD) with subscribers, whose names match
 * pattern (NULL: all); fn is called for each. Returns how many. */
size_t dice__pubsub_channels(
    dice_server_t *srv, dice__ps_kind kind, const char *pat, size_t plen,
    void (*fn)(void *arg, const char *name, size_t len), void *arg);
/* Subscribers of one channel of a kind (patterns: clients subscribed to
 * exactly that pattern), and the number of distinct patterns. */
size_t dice__pubsub_subscribers(dice_server_t *srv, dice__ps_kind kind,
                                const char *name, size_t len);
size_t dice__pubsub_numpat(dice_server_t *srv);

/* ---- keyspace notifications ---------------------------------------------

 * Redis's notifyKeyspaceEvent: a write command calls it at its end, once
 * per event, after its change is made (see lib/commands/commands_internal.h
 * for how a family does it). cls is one DICE__NOTIFY_* class; event the
 * event's name ("set", "del", "lpush"...); db the key's database. Publishes
 * the event on __keyspace@<db>__:<key> (with 'K') and the key on
 * __keyevent@<db>__:<event> (with 'E'), when notify-keyspace-events
 * selects the class. Inline so that a disabled class costs one test. */
void dice__notify_fire(dice_server_t *srv, int cls, const char *event,
                       const char *key, size_t klen, int db);
static inline void dice__notify(dice_server_t *srv, int cls, const char *event,
                                const char *key, size_t klen, int db) {
    if (__builtin_expect((srv->cfg.notify_flags & cls) != 0, 0))
        dice__notify_fire(srv, cls, event, key, klen, db);
}

#endif
