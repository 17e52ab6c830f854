/* libdice umbrella header: includes every public subsystem. */
#ifndef DICE_DICE_H
#define DICE_DICE_H

#include "dice/command.h"
#include "dice/common.h"
#include "dice/db.h"
#include "dice/loop.h"
#include "dice/resp.h"
#include "dice/server.h"
#include "dice/session.h"

#endif
