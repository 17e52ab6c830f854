/* dice-server's allocation counter (alloc.c). */
#ifndef DICE_SERVER_ALLOC_H
#define DICE_SERVER_ALLOC_H

#include "dice/server.h"

/* Give srv the program's count of allocated bytes (when the build counts:
 * not under a sanitizer). */
void dice_server_count_memory(dice_server_t *srv);

#endif
