/* The memory limit (lib/server/evict.c): maxmemory and its eviction
 * policies, as Redis's evict.c, and the server's figure of used memory. */
#ifndef DICE_SERVER_EVICT_H
#define DICE_SERVER_EVICT_H

#include "server/server_internal.h"

#include <stdbool.h>
#include <stdint.h>

/* maxmemory-policy values, in Redis's order of the names. */
enum {
    DICE__MAXMEMORY_VOLATILE_LRU = 0,
    DICE__MAXMEMORY_VOLATILE_LFU = 1,
    DICE__MAXMEMORY_VOLATILE_RANDOM = 2,
    DICE__MAXMEMORY_VOLATILE_TTL = 3,
    DICE__MAXMEMORY_ALLKEYS_LRU = 4,
    DICE__MAXMEMORY_ALLKEYS_LFU = 5,
    DICE__MAXMEMORY_ALLKEYS_RANDOM = 6,
    DICE__MAXMEMORY_NOEVICTION = 7
};

/* Redis's shared.oomerr (without the leading '-'). */
#define DICE__OOM_TEXT "OOM command not allowed when used memory > 'maxmemory'."

/* Results of dice__evict_perform, as Redis's EVICT_*. */
enum { DICE__EVICT_OK = 0, DICE__EVICT_RUNNING = 1, DICE__EVICT_FAIL = 2 };

/* Evict keys per the policy until used memory is under maxmemory, within
 * the time maxmemory-eviction-tenacity allows (then a timer carries on
 * between iterations). Each evicted key is propagated as DEL (UNLINK with
 * lazyfree-lazy-eviction), fires "evicted" and invalidates tracking
 * clients. FAIL when over the limit with nothing left to evict. */
int dice__evict_perform(dice_server_t *srv);
/* The dispatcher's check before a command while maxmemory is set (Redis's
 * processCommand): evicts, records srv->oom_state, and refuses cmd with
 * -OOM when it is denyoom (or an EXEC of a denyoom command, or any command
 * queued in MULTI) and nothing could be evicted. Returns true when
 * refused (the error replied). */
bool dice__evict_refuse(dice_client_t *c, const dice_command_t *cmd);
/* Settings' apply (maxmemory, maxmemory-policy, lfu-*) and keyspace
 * attach: pushes the clock mode and LFU parameters to the keyspace, and
 * evicts at once when the new limit is below what is used. */
void dice__evict_apply(dice_server_t *srv);
/* Bytes the allocator holds for the process: the host's counter
 * (dice_server_set_memory_fn), else glibc's mallinfo2 (the resident size
 * under an allocator it does not see). */
unsigned long long dice__server_used_memory(dice_server_t *srv);
/* INFO stats: keys evicted, and ms spent over the limit in all and in
 * the current stretch (Redis's *_eviction_exceeded_time). */
void dice__evict_stats(dice_server_t *srv, unsigned long long *evicted,
                       unsigned long long *total_ms,
                       unsigned long long *current_ms);
void dice__evict_reset_stats(dice_server_t *srv);
/* The policy's name (INFO maxmemory_policy). */
const char *dice__evict_policy_name(int policy);
void dice__evict_free(dice_server_t *srv);

#endif
