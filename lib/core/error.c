/* Error texts and version queries. */
#include "dice/common.h"

const char *dice_strerror(int err) {
    switch (err) {
    case DICE_OK: return "success";
    case DICE_ENOMEM: return "out of memory";
    case DICE_EINVAL: return "invalid argument";
    case DICE_ENOENT: return "no such item";
    case DICE_EEXIST: return "item already exists";
    case DICE_EAGAIN: return "incomplete input";
    case DICE_EPROTO: return "protocol error";
    case DICE_ELIMIT: return "limit exceeded";
    case DICE_ESYS: return "system call failed (see errno)";
    case DICE_ECLOSED: return "closed";
    case DICE_ERANGE: return "value out of range";
    case DICE_EWRONGTYPE: return "wrong type";
    case DICE_ESTATE: return "invalid in current state";
    }
    return "unknown error";
}

unsigned dice_version(void) {
    return DICE_VERSION_HEX;
}

#define DICE_STR2(x) #x
#define DICE_STR(x) DICE_STR2(x)
const char *dice_version_string(void) {
    return DICE_STR(DICE_VERSION_MAJOR) "." DICE_STR(
        DICE_VERSION_MINOR) "." DICE_STR(DICE_VERSION_PATCH);
}
