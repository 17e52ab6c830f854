/* The types layer (lib/types/): one file per data type, its data structure
 * and its C API, on the keyspace core (lib/keyspace/db_internal.h), and the
 * generic code that reaches every type through its dice_type_methods
 * (lib/types/type.c: OBJECT ENCODING, the method lookup, DEBUG DIGEST).
 *
 * The string type is built in: the keyspace stores its values itself
 * (inline in the entry, or in a RAW rawstr it frees and copies), so its
 * methods table is this layer's, not a registered one. Its methods receive
 * as obj the keyspace entry holding the value (a const uint8_t *); free and
 * copy are NULL (the keyspace's storage forms need neither), and
 * deserialize returns a rawstr the caller stores (dice__string_adopt) or
 * frees with free(). */
#ifndef DICE_TYPES_INTERNAL_H
#define DICE_TYPES_INTERNAL_H

#include "dice/db.h"
#include "keyspace/db_internal.h"

/* Version 1 methods of DICE_TYPE_STRING (lib/types/string.c). */
extern const dice_type_methods dice__string_methods;

/* Text of a string entry: int-encoded values are formatted into numbuf
 * (DICE_DB_NUMBUF bytes). *p points into the entry or numbuf. */
void dice__string_text(uint8_t *e, char *numbuf, const char **p, size_t *n);

/* Store a rawstr (from the string type's deserialize) as the string value
 * of key, replacing any value, no TTL. Takes r, even on failure. Returns 0
 * or DICE_ENOMEM. */
int dice__string_adopt(dice_db_t *db, const char *key, size_t klen, rawstr *r);

/* The methods and ctx in effect for a type (the string table for
 * DICE_TYPE_STRING), NULL when no table is registered. */
const dice_type_methods *dice__type_methods(const dice_keyspace_t *ks,
                                            unsigned type, void **ctx);

/* The obj argument the methods of e's type take: the entry for a string,
 * the stored object pointer otherwise. */
static inline const void *dice__type_obj(uint8_t *e) {
    return HDR_ENC(e[0]) == ENC_OBJ ? entry_ptr(e) : e;
}

#endif
