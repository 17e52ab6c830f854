/* What a command's descriptor implies beyond itself: the names of its
 * flags and ACL categories (from the one list of each), and the
 * categories Redis derives from flags and doc group. */
#include "command/command_internal.h"

#include <string.h>

static const char *const flag_names[] = {
#define FLAG_NAME(name, bit, text) [bit] = text,
    DICE_CMD_FLAG_MAP(FLAG_NAME)
#undef FLAG_NAME
};

static const struct {
    unsigned bit;
    const char *name;
} flag_order[] = {
#define FLAG_AT(name, bit, text) {bit, text},
    DICE_CMD_FLAG_MAP(FLAG_AT)
#undef FLAG_AT
};

const char *dice__command_flag_at(unsigned i, unsigned *bit) {
    if (i >= sizeof(flag_order) / sizeof(flag_order[0]))
        return NULL;
    *bit = flag_order[i].bit;
    return flag_order[i].name;
}

static const char *const acl_names[] = {
#define ACL_NAME(name, bit, text) [bit] = text,
    DICE__ACL_MAP(ACL_NAME)
#undef ACL_NAME
};

static const char *const keyspec_flag_names[] = {
#define KSF_NAME(name, bit, text) [bit] = text,
    DICE__KSF_MAP(KSF_NAME)
#undef KSF_NAME
};

const char *dice__keyspec_flag_name(unsigned bit) {
    return bit < sizeof(keyspec_flag_names) / sizeof(keyspec_flag_names[0])
               ? keyspec_flag_names[bit]
               : NULL;
}

const char *dice__command_flag_name(unsigned bit) {
    return bit < sizeof(flag_names) / sizeof(flag_names[0]) ? flag_names[bit]
                                                            : NULL;
}

const char *dice__acl_category_name(unsigned bit) {
    return bit < sizeof(acl_names) / sizeof(acl_names[0]) ? acl_names[bit]
                                                          : NULL;
}

/* The category a Redis doc group implies for its commands. */
static unsigned group_acl(const char *group) {
    static const struct {
        const char *group;
        unsigned acl;
    } map[] = {{"string", DICE_ACL_STRING},
               {"generic", DICE_ACL_KEYSPACE},
               {"list", DICE_ACL_LIST},
               {"hash", DICE_ACL_HASH},
               {"set", DICE_ACL_SET},
               {"sorted_set", DICE_ACL_SORTEDSET},
               {"bitmap", DICE_ACL_BITMAP},
               {"hyperloglog", DICE_ACL_HYPERLOGLOG},
               {"geo", DICE_ACL_GEO},
               {"stream", DICE_ACL_STREAM},
               {"connection", DICE_ACL_CONNECTION},
               {"transactions", DICE_ACL_TRANSACTION},
               {"scripting", DICE_ACL_SCRIPTING}};
    if (!group)
        return 0;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i].group, group) == 0)
            return map[i].acl;
    return 0;
}

/* Redis's rules: categories implied by flags, then the group's, then the
 * explicit ones. A container (sub-commands, no handler of its own) gets
 * only the flag-implied ones, as Redis shows for CLIENT and CONFIG. */
unsigned dice__command_acl(const dice_command_t *cmd) {
    unsigned a = cmd->acl;
    unsigned f = cmd->flags;
    if (f & DICE_CMD_WRITE)
        a |= DICE_ACL_WRITE;
    /* Redis leaves scripting commands (EVAL_RO, FCALL_RO) out of @read. */
    if ((f & DICE_CMD_READONLY) && !(a & DICE_ACL_SCRIPTING))
        a |= DICE_ACL_READ;
    if (f & DICE_CMD_ADMIN)
        a |= DICE_ACL_ADMIN | DICE_ACL_DANGEROUS;
    if (f & DICE_CMD_PUBSUB)
        a |= DICE_ACL_PUBSUB;
    if (f & DICE_CMD_BLOCKING)
        a |= DICE_ACL_BLOCKING;
    a |= (f & DICE_CMD_FAST) ? DICE_ACL_FAST : DICE_ACL_SLOW;
    if (!(cmd->nsubs > 0 && !cmd->fn) && !(a & DICE__ACL_NOGROUP))
        a |= group_acl(cmd->group);
    return a & ~DICE__ACL_NOGROUP;
}
