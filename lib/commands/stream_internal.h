/* What the two halves of the stream family share (lib/commands/stream.c:
 * the entry commands; lib/commands/stream_group.c: XREAD, consumer groups
 * and XINFO): ID parsing as Redis parses IDs, the replies of IDs and
 * entries, and lookups. */
#ifndef DICE_COMMANDS_STREAM_INTERNAL_H
#define DICE_COMMANDS_STREAM_INTERNAL_H

#include "commands/commands_internal.h"
#include "keyspace/keyspace_internal.h"
#include "types/listpack.h"
#include "types/stream.h"

extern const char dice__xerr_invalid_id[];

/* An ID argument as Redis's streamGenericParseIDOrReply: "-" and "+"
 * (refused when strict), "<ms>", "<ms>-<seq>" (missing_seq when no seq),
 * and, when seq_given is not NULL, "<ms>-*" (*seq_given false). 0 or -1;
 * the _or_reply form replies "Invalid stream ID ...". */
int dice__xparse_id(const char *arg, size_t n, dice__sid *id,
                    uint64_t missing_seq, bool strict, bool *seq_given);
int dice__xparse_id_or_reply(dice_client_t *c, const char *arg, size_t n,
                             dice__sid *id, uint64_t missing_seq, bool strict,
                             bool *seq_given);
/* An interval bound: "(" makes it exclusive (*excl) and strict. */
int dice__xparse_interval_or_reply(dice_client_t *c, const char *arg, size_t n,
                                   dice__sid *id, bool *excl,
                                   uint64_t missing_seq);
/* The next / previous ID: 0, or -1 at the end of the ID space. */
int dice__sid_incr(dice__sid *id);
int dice__sid_decr(dice__sid *id);

void dice__xreply_id(dice_client_t *c, const dice__sid *id);
/* [id, [field, value ...]] for the iterator's current entry. */
void dice__xreply_entry(dice_client_t *c, dice__stream_iter *it,
                        const dice__sid *id, int64_t nf);
/* The array of entries start..end (count 0: all). Returns how many. */
size_t dice__xreply_range(dice_client_t *c, dice__stream *s,
                          const dice__sid *start, const dice__sid *end,
                          size_t count, bool rev);

dice__stream_limits dice__xlimits(dice_client_t *c);
/* The stream at key for a write, created when missing; NULL after
 * replying (WRONGTYPE, out of memory). */
dice__stream *dice__xlookup_create(dice_client_t *c, const char *key,
                                   size_t klen, int *created);
/* After a write: WATCH, blocked clients, the dirty counter. An empty
 * stream stays (Redis keeps them). */
void dice__xwritten(dice_client_t *c, const char *key, size_t klen);

/* lib/commands/stream_group.c */
int dice__builtin_stream_groups(dice_server_t *srv);

#endif
