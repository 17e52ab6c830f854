/* The append-only file's internal interface, shared by its four files:
 *
 *   aof.c           feeding, writing and fsync (the group commit under
 *                   appendfsync always, the everysec thread), start-up,
 *                   turning it on and off, the cron, INFO
 *   aof_manifest.c  paths inside appenddirname and the manifest
 *   aof_load.c      loading the base and incr files at start
 *   aof_bg.c        writing a base, BGREWRITEAOF's child and the switch
 *                   to the new base
 *
 * The server core's entry points (dice__aof_startup, dice__aof_flush...)
 * are in server_internal.h. */
#ifndef DICE_SERVER_AOF_H
#define DICE_SERVER_AOF_H

#include "server/server_internal.h"

#include <stdbool.h>
#include <stddef.h>

static inline long long dice__aof_unix_s(dice_server_t *srv) {
    return (long long)(dice_loop_unix_ms(srv->loop) / 1000);
}

/* ---- aof_manifest.c ---- */

/* appendfilename, or its default. */
const char *dice__aof_name(dice_server_t *srv);
/* dir/appenddirname into buf. */
const char *dice__aof_dir(dice_server_t *srv, char *buf, size_t cap);
/* dir/appenddirname/name into buf (empty when it does not fit). */
const char *dice__aof_path(dice_server_t *srv, const char *name, char *buf,
                           size_t cap);
/* temp-<appendfilename>.incr's path into buf (CONFIG SET appendonly yes
 * writes there until the first base is installed). */
const char *dice__aof_temp_incr(dice_server_t *srv, char *buf, size_t cap);
int dice__aof_sync_dir(dice_server_t *srv);
/* Size of a file of the directory, 0 when it cannot be stat'ed. */
long long dice__aof_file_size(dice_server_t *srv, const char *name);
/* Create the directory if needed: 0 or DICE_ESYS (logged). */
int dice__aof_make_dir(dice_server_t *srv);
/* cur_size and incr_size from the files the manifest names. */
void dice__aof_recompute_sizes(dice_server_t *srv);
/* write(2) until done: 0 or -1 with errno. */
int dice__aof_write_all(int fd, const char *p, size_t n);
void dice__aof_manifest_clear(dice__aof_state *a);
/* Append an incr file (name copied) to the manifest in memory. */
int dice__aof_add_incr(dice__aof_state *a, const char *name, long long seq);
/* Append a history file; takes name (freed on failure). */
int dice__aof_add_history(dice__aof_state *a, char *name);
/* Write the manifest atomically: 0 or DICE_ENOMEM / DICE_ESYS (logged). */
int dice__aof_manifest_persist(dice_server_t *srv);
/* Read the manifest: 0, DICE_ENOENT when there is none, DICE_EPROTO when
 * it is malformed (logged). */
int dice__aof_manifest_load(dice_server_t *srv);
/* Delete the history files and persist the manifest without them. */
void dice__aof_delete_history(dice_server_t *srv);

/* ---- aof.c ---- */

/* Switch writing to a new incr file, persisting the manifest when
 * persist: 0 or negative. */
int dice__aof_new_incr(dice_server_t *srv, bool persist);

/* ---- aof_load.c ---- */

/* Load the base and incr files the manifest names: 0 or negative
 * (logged). */
int dice__aof_load_all(dice_server_t *srv);

/* ---- aof_bg.c ---- */

/* Write the keyspace as a base file at path, fsync'd: 0 or negative with
 * errno set. */
int dice__aof_write_base(dice_server_t *srv, const char *path);
/* The base file's name for seq into buf. */
void dice__aof_base_name(dice_server_t *srv, long long seq, char *buf,
                         size_t cap);
/* The rewrite child exited with status: install its base or count the
 * failure. */
void dice__aof_child_done(dice_server_t *srv, int status);

#endif
