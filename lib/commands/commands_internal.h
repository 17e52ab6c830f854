/* The built-in command families (connection, server, strings, keys) and
 * what they share: one spelling of each error text, the parsers that reply
 * on failure, the handler signature, and their registration entry points.
 * A family declares its commands as a table of dice__cmd_desc (see
 * lib/command/command_internal.h) and registers it with
 * dice__command_register(). */
#ifndef DICE_COMMANDS_INTERNAL_H
#define DICE_COMMANDS_INTERNAL_H

#include "core/core_internal.h"
#include "server/server_internal.h"

#include <stdbool.h>

/* A command handler's signature: every family's handlers are declared
 * with it, so a handler that ignores some of its arguments needs no
 * (void) casts. */
#define DICE__CMD_FN(name)                                                     \
    void name(dice_client_t *c, int argc, const char *const *argv,             \
              const size_t *argvlen, void *arg) __attribute__((unused))

/* Built-in families, registered by dice_command_add_builtins
 * (lib/commands/builtins.c). */
int dice_builtin_connection(dice_server_t *srv);
int dice_builtin_server(dice_server_t *srv);
/* The keyspace families: lib/commands/string.c and lib/commands/keys.c,
 * registered once the server has a keyspace. */
int dice_builtin_strings(dice_server_t *srv);
int dice_builtin_keys(dice_server_t *srv);
/* The client's selected database. (Dispatch has already set the
 * keyspace's "now" from the loop's cached wall clock.) */
dice_db_t *dice_cmd_db(dice_client_t *c);

/* Small helpers shared by command families (lib/commands/helpers.c). */
bool dice_eqci(const char *a, size_t alen, const char *lit);
int dice_parse_ll(const char *s, size_t len, long long *out);
bool dice_opt_is(const char *arg, size_t len, const char *lit);
/* Error reply from a NUL-terminated message ("ERR ..."). */
int dice_reply_errstr(dice_client_t *c, const char *msg);
/* A HELP reply: an array of simple strings. */
void dice_reply_help(dice_client_t *c, const char *const *lines, size_t n);
/* printf-style append to a buffer. */
int dice_buf_printf(dice_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
