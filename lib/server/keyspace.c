/* The server's keyspace: created on demand, and kept by a periodic cron
 * (active expiry, incremental rehashing) at the server's hz. */
#include "server/blocking.h"
#include "server/evict.h"
#include "server/server_internal.h"

dice_keyspace_t *dice_server_keyspace(dice_server_t *srv) {
    return srv->keyspace;
}

/* Every 1000/hz ms, like Redis's serverCron: reclaim expired keys nobody
 * touches, within a quarter of the period (Redis's slow cycle spends up to
 * 25% of CPU), then give table rehashing a millisecond. */
static void keyspace_cron(dice_loop_t *loop, uint64_t id, void *arg) {
    (void)id;
    dice_server_t *srv = arg;
    int hz = srv->cfg.hz > 0 ? srv->cfg.hz : 10;
    long budget_us = 250000L / hz;
    /* CLIENT PAUSE keeps the dataset still: no active expiry meanwhile (as
     * Redis's activeExpireCycle under a pause). */
    if (srv->pause_type == DICE__PAUSE_OFF && !srv->no_active_expire)
        dice_keyspace_active_expire(srv->keyspace, dice_loop_unix_ms(loop),
                                    budget_us);
    dice_keyspace_rehash(srv->keyspace, 1000);
    dice__aof_cron(srv);
    dice__rdb_cron(srv);
}

int dice__keyspace_arm_cron(dice_server_t *srv, uint64_t period_ms) {
    if (srv->ks_cron_id)
        dice_loop_timer_cancel(srv->loop, srv->ks_cron_id);
    srv->ks_cron_id = 0;
    return dice_loop_timer_add(srv->loop, period_ms, period_ms, keyspace_cron,
                               srv, &srv->ks_cron_id);
}

/* A key added to a db: the pub/sub layer's "new" event, when attached. */
static void on_new(void *ctx, int db, const char *key, size_t klen) {
    dice_server_t *srv = ctx;
    if (srv->pubsub_hooks.key_new)
        srv->pubsub_hooks.key_new(srv, db, key, klen);
}

int dice__server_keyspace_attach(dice_server_t *srv) {
    if (srv->keyspace)
        return 0;
    int rc = dice_keyspace_new(&srv->keyspace, (int)srv->cfg.databases);
    if (rc < 0)
        return rc;
    dice__propagate_attach(srv);
    dice__keyspace_on_new(srv->keyspace, on_new, srv);
    dice__server_apply_enc_limits(srv);
    dice__lazyfree_apply(srv);
    dice__evict_apply(srv);
    dice__keyspace_pause_expiry(srv->keyspace,
                                srv->pause_type != DICE__PAUSE_OFF);
    int hz = srv->cfg.hz > 0 ? srv->cfg.hz : 10;
    return dice__keyspace_arm_cron(srv, 1000 / (uint64_t)hz);
}
