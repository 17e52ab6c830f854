/* What every layer may use: small macros and the one home of each shared
 * parser and formatter. Nothing here knows of loops, clients or keys. */
#ifndef DICE_CORE_INTERNAL_H
#define DICE_CORE_INTERNAL_H

#include "dice/common.h"

/* Elements of a static array. */
#define DICE__COUNT(a) (sizeof(a) / sizeof((a)[0]))

#endif
