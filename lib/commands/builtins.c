/* dice_command_add_builtins: the built-in families a host selects. */
#include "commands/commands_internal.h"

/* Strings, keys, expiry and transactions (WATCH) need the server's keyspace:
 * create it first. */
static int builtin_keyspace(dice_server_t *srv) {
    int rc = dice__server_keyspace_attach(srv);
    if (rc == 0)
        rc = dice__builtin_strings(srv);
    if (rc == 0)
        rc = dice__builtin_keys(srv);
    if (rc == 0)
        rc = dice__builtin_transactions(srv);
    if (rc == 0)
        rc = dice__builtin_hashes(srv);
    if (rc == 0)
        rc = dice__builtin_zsets(srv);
    if (rc == 0)
        rc = dice__builtin_lists(srv);
    if (rc == 0)
        rc = dice__builtin_sets(srv);
    return rc;
}

int dice_command_add_builtins(dice_server_t *srv, unsigned mask) {
    int rc = 0;
    if ((mask & DICE_BUILTIN_CONNECTION) &&
        (rc = dice__builtin_connection(srv)) < 0)
        return rc;
    if ((mask & DICE_BUILTIN_SERVER) &&
        ((rc = dice__builtin_server(srv)) < 0 ||
         (rc = dice__builtin_introspect(srv)) < 0 ||
         (rc = dice__builtin_debug(srv)) < 0))
        return rc;
    if ((mask & DICE_BUILTIN_KEYSPACE) && (rc = builtin_keyspace(srv)) < 0)
        return rc;
    if ((mask & DICE_BUILTIN_PUBSUB) && (rc = dice__builtin_pubsub(srv)) < 0)
        return rc;
    return 0;
}
