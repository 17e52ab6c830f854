/* The TRANSACTIONS family: MULTI, EXEC, DISCARD, WATCH and UNWATCH, as
 * redis-server 7.0 answers them. The transaction state, the queueing done
 * by the dispatcher and the watched-key tables are the server's
 * (lib/server/multi.c); these are the commands over them. */
#include "commands/commands_internal.h"

/* ---- Transaction API ---------------------------------------------------- */

/* Commands every transaction command shares: allowed while loading and
 * stale, never from scripts. Redis runs MULTI, EXEC, DISCARD and WATCH at
 * once even between MULTI and EXEC (DICE__CMD_TXN_NOW); UNWATCH is
 * queued. */
#define F_TXN (DICE_CMD_NOSCRIPT | DICE_CMD_LOADING | DICE_CMD_STALE)
#define F_TXN_FAST (F_TXN | DICE_CMD_FAST | DICE_CMD_ALLOW_BUSY)

/* ---- Transaction commands ----------------------------------------------- */

/* MULTI */
static DICE__CMD_FN(cmd_multi) {
    if (c->flags & CLIENT_MULTI) {
        dice__reply_errstr(c, "ERR MULTI calls can not be nested");
        return;
    }
    if (dice__multi_begin(c) < 0) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    dice_reply_ok(c);
}

/* EXEC */
static DICE__CMD_FN(cmd_exec) {
    if (!(c->flags & CLIENT_MULTI)) {
        dice__reply_errstr(c, "ERR EXEC without MULTI");
        return;
    }
    dice__multi_exec(c);
}

/* DISCARD */
static DICE__CMD_FN(cmd_discard) {
    if (!(c->flags & CLIENT_MULTI)) {
        dice__reply_errstr(c, "ERR DISCARD without MULTI");
        return;
    }
    dice__multi_discard(c);
    dice_reply_ok(c);
}

/* WATCH key [key ...] */
static DICE__CMD_FN(cmd_watch) {
    if (c->flags & CLIENT_MULTI) {
        dice__reply_errstr(c, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    /* No point in watching more once the transaction is bound to fail. */
    if (!(c->flags & CLIENT_DIRTY_CAS)) {
        for (int i = 1; i < argc; i++) {
            if (dice__watch_key(c, argv[i], argvlen[i]) < 0) {
                dice__reply_err(c, DICE__ERR_NOMEM);
                return;
            }
        }
    }
    dice_reply_ok(c);
}

/* UNWATCH */
static DICE__CMD_FN(cmd_unwatch) {
    dice__unwatch_all(c);
    c->flags &= ~CLIENT_DIRTY_CAS;
    dice_reply_ok(c);
}

static const dice__cmd_desc txn_cmds[] = {
    {"multi", 1, F_TXN_FAST | DICE__CMD_TXN_NOW, 0, 0, 0, cmd_multi, NULL,
     "Start a transaction: queue the following commands until EXEC", "1.2.0",
     "O(1)", 0, NULL, NULL, NULL},
    {"exec", 1,
     F_TXN | DICE_CMD_SKIP_SLOWLOG | DICE__CMD_TXN_NOW | DICE__CMD_EXEC, 0, 0,
     0, cmd_exec, NULL,
     "Run the queued commands of the transaction, unless a watched key "
     "changed",
     "1.2.0", "Depends on commands in the transaction", 0, NULL, NULL, NULL},
    {"discard", 1, F_TXN_FAST | DICE__CMD_TXN_NOW, 0, 0, 0, cmd_discard, NULL,
     "Drop the queued commands of the transaction", "2.0.0",
     "O(N), when N is the number of queued commands", 0, NULL, NULL, NULL},
    {"watch", -2, F_TXN_FAST | DICE__CMD_TXN_NOW, 1, -1, 1, cmd_watch, NULL,
     "Make the next EXEC fail if any of these keys changes first", "2.2.0",
     "O(1) for every key.", 0, NULL, NULL, NULL},
    {"unwatch", 1, F_TXN_FAST, 0, 0, 0, cmd_unwatch, NULL,
     "Stop watching every key this connection watches", "2.2.0", "O(1)", 0,
     NULL, NULL, NULL},
};

#define KS_OF(a) a, (int)DICE__COUNT(a)

/* Redis 7.0's key specs, for COMMAND INFO, where they differ from the
 * one derived from first/last/step (see lib/commands/server.c). */
static const dice__key_spec ks_watch[] = {
    DICE__KS_RANGE(DICE__KS_RO, 1, -1, 1, 0)};
static const dice__cmd_keyspecs multi_keyspecs[] = {
    {"watch", KS_OF(ks_watch)},
};
#undef KS_OF

int dice__builtin_transactions(dice_server_t *srv) {
    int krc = dice__command_register(srv, NULL, "transactions", txn_cmds,
                                     DICE__COUNT(txn_cmds));
    if (krc < 0)
        return krc;
    return dice__command_set_keyspecs(srv, multi_keyspecs,
                                      DICE__COUNT(multi_keyspecs));
}
