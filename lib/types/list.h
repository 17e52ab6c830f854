/* The list type (lib/types/list.c): Redis 7.0's quicklist, a doubly
 * linked list of nodes that each hold a listpack (lib/types/listpack.h) of
 * consecutive elements. Every list is a quicklist, even of one element: in
 * Redis 7.0 OBJECT ENCODING of a list is always "quicklist" (the
 * "listpack" encoding of small lists came with 7.2).
 *
 * Node sizes follow list-max-listpack-size (the fill, fixed when the list
 * is created, as in Redis): negative -1..-5 caps each node's listpack at
 * 4, 8, 16, 32 or 64 KB; positive caps its entry count (and its size at 8
 * KB). An element that does not fit any node gets a node of its own.
 * list-compress-depth (fixed at creation too) keeps the nodes farther
 * than depth nodes from either end LZF-compressed (lib/core/lzf.c), by
 * Redis 7.0's rules: a node of at least 48 bytes whose compressed form
 * saves more than 8 of them. A compressed node is expanded when a
 * position lands in it; the list keeps at most one such node open (the
 * last one landed in) and compresses it again when another is opened or
 * when it is in the way of a node change at the ends.
 *
 * Positions: a dice__list_pos names one element (its node and its entry
 * in the node's listpack). It stays valid until the list is changed other
 * than through the function that hands back an updated position. */
#ifndef DICE_TYPES_LIST_H
#define DICE_TYPES_LIST_H

#include "dice/db.h"
#include "types/listpack.h"

#include <stddef.h>
#include <stdint.h>

/* Ends of a list (LPUSH/RPUSH, LEFT/RIGHT). */
enum { DICE__LIST_HEAD = 0, DICE__LIST_TAIL = 1 };

typedef struct dice__qlnode {
    struct dice__qlnode *prev, *next;
    unsigned char *lp; /* the listpack; its LZF form while csz != 0 */
    uint32_t sz;       /* dice__lp_bytes of the listpack */
    uint32_t count;    /* entries in the listpack */
    uint32_t csz;      /* bytes at lp while compressed, else 0 */
} dice__qlnode;

typedef struct dice__list {
    dice__qlnode *head, *tail;
    size_t count;       /* elements */
    size_t nnodes;      /* nodes */
    int fill;           /* list-max-listpack-size when created */
    int depth;          /* list-compress-depth when created */
    dice__qlnode *open; /* compressible node expanded for access, or NULL */
} dice__list;

typedef struct dice__list_pos {
    struct dice__list *list; /* set by dice__list_end / dice__list_index */
    dice__qlnode *node;
    unsigned char *p; /* entry in node->lp; NULL: no element */
} dice__list_pos;

/* The RDB object types a list is written as / read from. */
#define DICE__RDB_TYPE_LIST 1
#define DICE__RDB_TYPE_LIST_QUICKLIST_2 18

/* The list type's methods (registered by lib/commands/list.c). */
extern const dice_type_methods dice__list_methods;

/* A new empty list (caller owns it; dice__list_free), NULL out of
 * memory. fill is clamped to Redis's -5..32767. */
dice__list *dice__list_new(int fill, int depth);
void dice__list_free(dice__list *l);
/* A deep copy, NULL out of memory. */
dice__list *dice__list_dup(const dice__list *l);
static inline size_t dice__list_len(const dice__list *l) {
    return l->count;
}

/* Add an element at one end. Returns 0 or DICE_ENOMEM (list unchanged). */
int dice__list_push(dice__list *l, int where, const char *s, size_t n);
/* Delete the element at one end (the list must not be empty). */
void dice__list_pop(dice__list *l, int where);

/* Position of the element at one end, or of the element at index (0
 * first, -1 last). Return 1, or 0 when there is none (pos->p NULL). */
int dice__list_end(dice__list *l, int where, dice__list_pos *pos);
int dice__list_index(dice__list *l, long long index, dice__list_pos *pos);
/* Step pos to the next element towards the tail (dir TAIL) or the head
 * (dir HEAD): 1, or 0 past the end (pos->p NULL). */
int dice__list_step(dice__list_pos *pos, int dir);
/* The element at pos: a string's bytes (into the listpack) with *len, or
 * NULL with *iv for an integer, as dice__lp_get. */
static inline const unsigned char *
dice__list_get(const dice__list_pos *pos, uint32_t *len, long long *iv) {
    return dice__lp_get(pos->p, len, iv);
}

/* Delete the element at pos; pos moves to the element that followed it in
 * direction dir (p NULL if none). */
void dice__list_delete(dice__list *l, dice__list_pos *pos, int dir);
/* Insert s before (DICE__LP_BEFORE) or after (DICE__LP_AFTER) the element
 * at pos (pos is invalid afterwards). 0 or DICE_ENOMEM. */
int dice__list_insert(dice__list *l, dice__list_pos *pos, int where,
                      const char *s, size_t n);
/* Replace the element at pos (pos is invalid afterwards). 0 or
 * DICE_ENOMEM (unchanged). */
int dice__list_replace(dice__list *l, dice__list_pos *pos, const char *s,
                       size_t n);
/* Delete n elements from index start (0 <= start; n clipped to the end). */
void dice__list_delete_range(dice__list *l, size_t start, size_t n);

/* Bytes the list uses (MEMORY USAGE). */
size_t dice__list_mem(const dice__list *l);

#endif
