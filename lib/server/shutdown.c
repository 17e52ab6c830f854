/* Stopping the server as redis-server 7.0's SHUTDOWN and SIGTERM do
 * (prepareForShutdown / finishShutdown): log, save when asked to, then
 * ask the host to stop (dice_server_shutdown: the host's callback, or the
 * loop stops; the before-sleep step of that last iteration still writes
 * the replies already made). Saving belongs to the persistence layer,
 * which plugs its save into srv->shutdown_save; without one there is
 * nothing to save.
 *
 * Redis makes a shutdown wait (up to shutdown-timeout seconds, unless
 * NOW) for lagging replicas, and SHUTDOWN ABORT cancels such a wait.
 * There are no replicas yet, so every shutdown is ready at once and none
 * is ever in progress: ABORT answers "No shutdown in progress.", as
 * redis-server does with no replica. */
#include "server/server_internal.h"

int dice__server_shutdown_save(dice_server_t *srv, unsigned flags) {
    /* NOSAVE too: the hook stops a running BGSAVE child, as Redis's
     * prepareForShutdown does whatever the options. */
    return srv->shutdown_save ? srv->shutdown_save(srv, flags) : 0;
}

int dice__server_shutdown_abort(dice_server_t *srv) {
    if (!srv->shutdown_deadline_ms)
        return DICE_ESTATE;
    srv->shutdown_deadline_ms = 0;
    srv->shutdown_flags = 0;
    dice_server_log(srv, DICE_LOG_WARNING, "Shutdown manually aborted.");
    return 0;
}

int dice_server_request_shutdown(dice_server_t *srv, unsigned flags) {
    if (!srv)
        return DICE_EINVAL;
    if (srv->shutdown_deadline_ms)
        return DICE_ESTATE;
    /* While the dataset loads at start, what is in memory is partial and
     * must not replace the file: never save then (Redis's
     * prepareForShutdown forces NOSAVE while loading). The load stops at
     * its next progress step and dice_server_start returns DICE_ECLOSED. */
    if (srv->rdb.loading && !srv->started)
        flags = (flags & ~(unsigned)DICE_SHUTDOWN_SAVE) | DICE_SHUTDOWN_NOSAVE;
    dice_server_log(srv, DICE_LOG_WARNING, "User requested shutdown...");
    int rc = dice__server_shutdown_save(srv, flags);
    if (rc < 0) {
        if (!(flags & DICE_SHUTDOWN_FORCE)) {
            dice_server_log(srv, DICE_LOG_WARNING,
                            "Error trying to save the DB, can't exit.");
            dice_server_log(srv, DICE_LOG_WARNING,
                            "Errors trying to shut down the server. Check "
                            "the logs for more information.");
            return rc;
        }
        dice_server_log(srv, DICE_LOG_WARNING,
                        "Error trying to save the DB. Exit anyway.");
    }
    dice_server_shutdown(srv);
    return 0;
}
