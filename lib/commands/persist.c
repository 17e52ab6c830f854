/* Snapshots and serialized values: SAVE BGSAVE LASTSAVE, DUMP RESTORE and
 * DEBUG RELOAD, as redis-server 7.0 answers them (its rdb.c, cluster.c
 * and debug.c). The files and the child are the server's
 * (lib/server/rdb.c); the payload format is the types layer's
 * (lib/types/rdb_file.c). */
#include "commands/commands_internal.h"
#include "keyspace/db_internal.h"
#include "types/rdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- API -------------------------------------------------------------- */

typedef struct membuf {
    char *p;
    size_t len, cap;
} membuf;

static int membuf_write(void *ctx, const void *d, size_t n) {
    membuf *b = ctx;
    if (b->cap - b->len < n) {
        size_t c = b->cap ? b->cap * 2 : 256;
        while (c - b->len < n)
            c *= 2;
        char *q = realloc(b->p, c);
        if (!q)
            return DICE_ENOMEM;
        b->p = q;
        b->cap = c;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
    return 0;
}

/* Redis's shared.err: a bare "-ERR". */
static void reply_bare_err(dice_client_t *c) {
    dice_reply_error(c, "ERR", 3);
}

/* ---- Commands --------------------------------------------------------- */

/* SAVE */
static DICE__CMD_FN(cmd_save) {
    (void)argc, (void)argv, (void)argvlen, (void)arg;
    if (c->srv->rdb.child > 0) {
        dice__reply_errstr(c, "ERR Background save already in progress");
        return;
    }
    if (dice__rdb_save(c->srv, NULL) == 0)
        dice_reply_ok(c);
    else
        reply_bare_err(c);
}

/* BGSAVE [SCHEDULE] */
static DICE__CMD_FN(cmd_bgsave) {
    (void)arg;
    bool schedule = false;
    if (argc > 1) {
        if (argc == 2 && dice__eqci(argv[1], argvlen[1], "schedule")) {
            schedule = true;
        } else {
            dice__reply_err(c, DICE__ERR_SYNTAX);
            return;
        }
    }
    dice_server_t *srv = c->srv;
    if (srv->rdb.child > 0) {
        dice__reply_errstr(c, "ERR Background save already in progress");
    } else if (srv->aof.child > 0 && !schedule) {
        dice__reply_errstr(c, "ERR Another child process is active (AOF?): "
                              "can't BGSAVE right now. Use BGSAVE SCHEDULE in "
                              "order to schedule a BGSAVE whenever possible.");
    } else if (srv->aof.child > 0 || (c->flags & CLIENT_IN_EXEC)) {
        /* Redis forks no child inside a transaction: the cron will. */
        srv->rdb.scheduled = true;
        dice_reply_simple(c, "Background saving scheduled", 27);
    } else if (dice__rdb_bgsave(srv) == 0) {
        dice_reply_simple(c, "Background saving started", 25);
    } else {
        reply_bare_err(c);
    }
}

/* BGREWRITEAOF */
static DICE__CMD_FN(cmd_bgrewriteaof) {
    (void)argc, (void)argv, (void)argvlen, (void)arg;
    dice_server_t *srv = c->srv;
    if (srv->aof.child > 0) {
        dice__reply_errstr(c, "ERR Background append only file rewriting "
                              "already in progress");
    } else if (srv->rdb.child > 0 || (c->flags & CLIENT_IN_EXEC)) {
        /* The cron starts it once no child runs (Redis's
         * aof_rewrite_scheduled). */
        srv->aof.scheduled = true;
        dice_reply_simple(c, "Background append only file rewriting scheduled",
                          47);
    } else if (dice__aof_rewrite(srv) == 0) {
        dice_reply_simple(c, "Background append only file rewriting started",
                          45);
    } else {
        dice__reply_errstr(c, "ERR Can't execute an AOF background rewriting. "
                              "Please check the server logs for more "
                              "information.");
    }
}

/* LASTSAVE */
static DICE__CMD_FN(cmd_lastsave) {
    (void)argc, (void)argv, (void)argvlen, (void)arg;
    dice_reply_int(c, c->srv->rdb.lastsave);
}

/* DUMP <key> */
static DICE__CMD_FN(cmd_dump) {
    (void)argc, (void)arg;
    dice_db_t *db = dice__cmd_db(c);
    uint8_t *e = dice__ks_lookup(db, argv[1], argvlen[1], NULL, NULL,
                                 LK_TOUCH | LK_STATS);
    if (!e) {
        dice_reply_null(c);
        return;
    }
    membuf b = {0};
    int rc = dice__rdb_dump(c->srv->keyspace, e, c->srv->cfg.rdbcompression,
                            membuf_write, &b);
    if (rc == 0)
        dice_reply_bulk(c, b.p, b.len);
    else if (rc == DICE_ENOMEM)
        dice__reply_err(c, DICE__ERR_NOMEM);
    else
        dice__reply_errstr(c, "ERR this value cannot be serialized");
    free(b.p);
}

/* RESTORE <key> <ttl> <serialized-value> [REPLACE] [ABSTTL]
 *   [IDLETIME <seconds>] [FREQ <frequency>] */
static DICE__CMD_FN(cmd_restore) {
    (void)arg;
    bool replace = false, absttl = false;
    long long idle = -1, freq = -1, ttl;
    for (int j = 4; j < argc; j++) {
        bool more = j + 1 < argc;
        if (dice__eqci(argv[j], argvlen[j], "replace")) {
            replace = true;
        } else if (dice__eqci(argv[j], argvlen[j], "absttl")) {
            absttl = true;
        } else if (dice__eqci(argv[j], argvlen[j], "idletime") && more &&
                   freq == -1) {
            if (dice__parse_ll_or_reply(c, argv[j + 1], argvlen[j + 1], &idle) <
                0)
                return;
            if (idle < 0) {
                dice__reply_errstr(c, "ERR Invalid IDLETIME value, must be "
                                      ">= 0");
                return;
            }
            j++;
        } else if (dice__eqci(argv[j], argvlen[j], "freq") && more &&
                   idle == -1) {
            if (dice__parse_ll_or_reply(c, argv[j + 1], argvlen[j + 1], &freq) <
                0)
                return;
            if (freq < 0 || freq > 255) {
                dice__reply_errstr(c, "ERR Invalid FREQ value, must be >= 0 "
                                      "and <= 255");
                return;
            }
            j++;
        } else {
            dice__reply_err(c, DICE__ERR_SYNTAX);
            return;
        }
    }
    dice_db_t *db = dice__cmd_db(c);
    dice_keyspace_t *ks = c->srv->keyspace;
    const char *key = argv[1];
    size_t klen = argvlen[1];
    if (!replace && dice__ks_lookup(db, key, klen, NULL, NULL, 0)) {
        dice__reply_errstr(c, "BUSYKEY Target key name already exists.");
        return;
    }
    if (dice__parse_ll_or_reply(c, argv[2], argvlen[2], &ttl) < 0)
        return;
    if (ttl < 0) {
        dice__reply_errstr(c, "ERR Invalid TTL value, must be >= 0");
        return;
    }
    const uint8_t *p = (const uint8_t *)argv[3];
    size_t n = argvlen[3];
    if (dice__rdb_verify_payload(p, n) < 0) {
        dice__reply_errstr(c, "ERR DUMP payload version or checksum are wrong");
        return;
    }
    int dt;
    void *obj;
    size_t used;
    if (n < 11 || dice__rdb_type_of(p[0]) < 0 || p[0] > 19 ||
        dice__rdb_load_object(ks, p[0], p + 1, n - 11, &used, &dt, &obj) < 0) {
        dice__reply_errstr(c, "ERR Bad data format");
        return;
    }
    bool deleted = replace && dice_db_delete(db, key, klen) == 1;
    if (ttl && !absttl)
        ttl += dice_keyspace_now(ks);
    if (ttl && ttl < dice_keyspace_now(ks)) {
        /* Already expired: nothing is created, and a replaced key is gone,
         * which is what propagates (Redis's checkAlreadyExpired). */
        dice__rdb_free_object(ks, dt, obj);
        if (deleted) {
            const char *del = c->srv->cfg.lazy_server_del ? "UNLINK" : "DEL";
            const char *pv[2] = {del, key};
            size_t pl[2] = {strlen(del), klen};
            dice_client_propagate(c, 2, pv, pl);
            dice__cmd_notify(c, DICE__NOTIFY_GENERIC, "del", key, klen);
        }
        dice_reply_ok(c);
        return;
    }
    int rc =
        dice__rdb_store(db, key, klen, dt, obj, ttl ? ttl : -1, freq, idle);
    if (rc < 0) {
        dice__reply_err(c, DICE__ERR_NOMEM);
        return;
    }
    if (ttl && !absttl && dice__propagating(c)) {
        /* The TTL propagates as the absolute time it became. */
        char t[24];
        int tl = snprintf(t, sizeof(t), "%lld", ttl);
        const char *pv[DICE__RESTORE_MAX_ARGS + 1];
        size_t pl[DICE__RESTORE_MAX_ARGS + 1];
        int m = argc < DICE__RESTORE_MAX_ARGS ? argc : DICE__RESTORE_MAX_ARGS;
        for (int i = 0; i < m; i++)
            pv[i] = argv[i], pl[i] = argvlen[i];
        pv[2] = t, pl[2] = (size_t)tl;
        pv[m] = "ABSTTL", pl[m] = 6;
        dice_client_propagate(c, m + 1, pv, pl);
    }
    dice__cmd_notify(c, DICE__NOTIFY_GENERIC, "restore", key, klen);
    dice_reply_ok(c);
}

/* DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, empty, load back. */
void dice__debug_reload(dice_client_t *c, int argc, const char *const *argv,
                        const size_t *argvlen) {
    bool save = true, flush = true;
    for (int j = 2; j < argc; j++) {
        if (dice__eqci(argv[j], argvlen[j], "merge") ||
            dice__eqci(argv[j], argvlen[j], "noflush"))
            flush = false;
        else if (dice__eqci(argv[j], argvlen[j], "nosave"))
            save = false;
        else {
            dice__reply_errstr(c, "ERR DEBUG RELOAD only supports the MERGE, "
                                  "NOFLUSH and NOSAVE options.");
            return;
        }
    }
    dice_server_t *srv = c->srv;
    if (save && dice__rdb_save(srv, NULL) < 0) {
        reply_bare_err(c);
        return;
    }
    dice_keyspace_t *ks = srv->keyspace;
    uint64_t dirty = ks->dirty;
    if (flush)
        dice_keyspace_flushall(ks);
    ks->dirty = dirty; /* reloading is no change to propagate */
    char path[4096];
    const char *dir = srv->cfg.dir;
    snprintf(path, sizeof(path), "%s%s%s", dir && *dir ? dir : "",
             dir && *dir ? "/" : "",
             srv->cfg.dbfilename ? srv->cfg.dbfilename : "dump.rdb");
    int rc = dice__rdb_load_file(srv, path, false);
    if (rc < 0) {
        dice__reply_errstr(c, "ERR Error trying to load the RDB dump, check "
                              "server logs.");
        return;
    }
    dice__logf(srv, DICE_LOG_WARNING, "DB reloaded by DEBUG RELOAD");
    dice_reply_ok(c);
}

/* The save before a shutdown (srv->shutdown_save, called by
 * lib/server/shutdown.c with the DICE_SHUTDOWN_* flags): a running
 * child is stopped, then the snapshot is written when SAVE was given or
 * save points are set, unless NOSAVE. 0, or negative when the save
 * failed (dice_server_request_shutdown logs and, without FORCE, keeps
 * the server running). */
static int shutdown_save(dice_server_t *srv, unsigned flags) {
    dice__rdb_kill_child(srv);
    /* The append-only file: the rewrite child goes, the buffer is written
     * and fsync'd (Redis's prepareForShutdown). */
    dice__aof_shutdown(srv);
    if (!srv->keyspace || (flags & DICE_SHUTDOWN_NOSAVE) ||
        (!(flags & DICE_SHUTDOWN_SAVE) && srv->rdb.npoints == 0))
        return 0;
    dice__logf(srv, DICE_LOG_NOTICE,
               "Saving the final RDB snapshot before exiting.");
    return dice__rdb_save(srv, NULL) == 0 ? 0 : DICE_ESYS;
}

#define GEN "generic"
#define SRV "server"
#define O1 "O(1)"
#define ADMIN (DICE_CMD_ADMIN | DICE_CMD_NOSCRIPT | DICE_CMD_NO_ASYNC_LOADING)
#define SERIAL_COMPLEXITY(what) "O(1) to " what " and additional O(N*M) to "

static const dice__cmd_desc PERSIST_CMDS[] = {
    {"save", 1, ADMIN | DICE_CMD_NO_MULTI, 0, 0, 0, cmd_save, NULL,
     "Synchronously save the dataset to disk", "1.0.0",
     "O(N) where N is the total number of keys in all databases", 0, NULL, SRV,
     NULL},
    {"bgsave", -1, ADMIN, 0, 0, 0, cmd_bgsave, NULL,
     "Asynchronously save the dataset to disk", "1.0.0", O1, 0, NULL, SRV,
     NULL},
    {"bgrewriteaof", 1, ADMIN, 0, 0, 0, cmd_bgrewriteaof, NULL,
     "Asynchronously rewrite the append-only file", "1.0.0", O1, 0, NULL, SRV,
     NULL},
    {"lastsave", 1, DICE_CMD_LOADING | DICE_CMD_STALE | DICE_CMD_FAST, 0, 0, 0,
     cmd_lastsave, NULL,
     "Get the UNIX time stamp of the last successful save to disk", "1.0.0", O1,
     DICE_ACL_ADMIN | DICE_ACL_DANGEROUS, "nondeterministic_output", SRV, NULL},
    {"dump", 2, DICE_CMD_READONLY, 1, 1, 1, cmd_dump, NULL,
     "Return a serialized version of the value stored at the specified key.",
     "2.6.0",
     "O(1) to access the key and additional O(N*M) to serialize it, where N "
     "is the number of Redis objects composing the value and M their average "
     "size. For small string values the time complexity is thus O(1)+O(1*M) "
     "where M is small, so simply O(1).",
     DICE_ACL_KEYSPACE, "nondeterministic_output", GEN, NULL},
    {"restore", -4, DICE_CMD_WRITE | DICE_CMD_DENYOOM, 1, 1, 1, cmd_restore,
     NULL,
     "Create a key using the provided serialized value, previously obtained "
     "using DUMP.",
     "2.6.0",
     "O(1) to create the new key and additional O(N*M) to reconstruct the "
     "serialized value, where N is the number of Redis objects composing the "
     "value and M their average size. For small string values the time "
     "complexity is thus O(1)+O(1*M) where M is small, so simply O(1). "
     "However for sorted set values the complexity is O(N*M*log(N)) because "
     "inserting values into sorted sets is O(log(N)).",
     DICE_ACL_KEYSPACE | DICE_ACL_DANGEROUS, NULL, GEN, NULL},
};

#define KS_OF(a) a, (int)DICE__COUNT(a)
static const dice__key_spec ks_dump[] = {
    DICE__KS_RANGE(DICE__KS_RO | DICE__KS_ACCESS, 1, 0, 1, 0)};
static const dice__key_spec ks_restore[] = {
    DICE__KS_RANGE(DICE__KS_OW | DICE__KS_UPDATE, 1, 0, 1, 0)};
static const dice__cmd_keyspecs persist_keyspecs[] = {
    {"dump", KS_OF(ks_dump)},
    {"restore", KS_OF(ks_restore)},
};
#undef KS_OF

int dice__builtin_persist(dice_server_t *srv) {
    srv->shutdown_save = shutdown_save;
    int rc = dice__command_register(srv, NULL, NULL, PERSIST_CMDS,
                                    DICE__COUNT(PERSIST_CMDS));
    if (rc < 0)
        return rc;
    return dice__command_set_keyspecs(srv, persist_keyspecs,
                                      DICE__COUNT(persist_keyspecs));
}
