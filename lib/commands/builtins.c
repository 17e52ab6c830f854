/* dice_command_add_builtins: the built-in families a host selects. */
#include "commands/commands_internal.h"

/* The server families (DICE_BUILTIN_SERVER), one line each. */
static int (*const server_families[])(dice_server_t *) = {
    dice__builtin_server,     /* server.c */
    dice__builtin_introspect, /* introspect.c */
    dice__builtin_debug,      /* debug.c */
    dice__builtin_module,     /* module.c */
    dice__builtin_acl,        /* acl.c */
};

/* The families that need the server's keyspace, in registration order
 * (strings, keys and transactions first: WATCH and the collections build
 * on them). One line per family, so families land without touching each
 * other's lines. */
static int (*const keyspace_families[])(dice_server_t *) = {
    dice__builtin_strings,      /* string.c */
    dice__builtin_keys,         /* keys.c */
    dice__builtin_transactions, /* multi.c */
    dice__builtin_hashes,       /* hash.c */
    dice__builtin_zsets,        /* zset.c */
    dice__builtin_lists,        /* list.c */
    dice__builtin_sets,         /* set.c */
    dice__builtin_geo,          /* geo.c */
    dice__builtin_sort,         /* sort.c */
    dice__builtin_bitmaps,      /* bitops.c */
    dice__builtin_hyperloglog,  /* hyperloglog.c */
    dice__builtin_streams,      /* stream.c, stream_group.c */
    dice__builtin_scripting,    /* scripting.c (lib/scripting/) */
    dice__builtin_persist,      /* persist.c */
};

/* Create the keyspace first, then register each family. */
static int builtin_keyspace(dice_server_t *srv) {
    int rc = dice__server_keyspace_attach(srv);
    for (size_t i = 0; rc == 0 && i < sizeof(keyspace_families) /
                                          sizeof(keyspace_families[0]);
         i++)
        rc = keyspace_families[i](srv);
    return rc;
}

int dice_command_add_builtins(dice_server_t *srv, unsigned mask) {
    int rc = 0;
    if ((mask & DICE_BUILTIN_CONNECTION) &&
        (rc = dice__builtin_connection(srv)) < 0)
        return rc;
    for (size_t i = 0; (mask & DICE_BUILTIN_SERVER) &&
                       i < sizeof(server_families) / sizeof(server_families[0]);
         i++)
        if ((rc = server_families[i](srv)) < 0)
            return rc;
    if ((mask & DICE_BUILTIN_KEYSPACE) && (rc = builtin_keyspace(srv)) < 0)
        return rc;
    if ((mask & DICE_BUILTIN_PUBSUB) && (rc = dice__builtin_pubsub(srv)) < 0)
        return rc;
    return 0;
}
