/* Functions: FUNCTION LOAD/DELETE/LIST/DUMP/RESTORE/FLUSH/STATS/KILL and
 * FCALL / FCALL_RO, libraries in the engine of their own. */
#include "scripting/scripting_internal.h"

void dice__functions_free(dice__scripting *sc) {
    (void)sc;
}

void dice__cmd_function(dice_client_t *c, int argc, const char *const *argv,
                        const size_t *argvlen, void *arg) {
    (void)argc, (void)argv, (void)argvlen, (void)arg;
    DICE__REPLY_LIT(c, "ERR not yet");
}

void dice__cmd_fcall(dice_client_t *c, int argc, const char *const *argv,
                     const size_t *argvlen, void *arg) {
    (void)argc, (void)argv, (void)argvlen, (void)arg;
    DICE__REPLY_LIT(c, "ERR not yet");
}
