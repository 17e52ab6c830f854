/* Error texts and version queries. */
#include "dice/common.h"

const char *dice_strerror(int err) {
    switch (err) {
    case DICE_OK: return "success";
#define DICE_ERRNO_TEXT(name, value, text)                                     \
    case DICE_##name: return text;
        DICE_ERRNO_MAP(DICE_ERRNO_TEXT)
#undef DICE_ERRNO_TEXT
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
