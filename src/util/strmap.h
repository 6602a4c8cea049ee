/*
 * strmap.h — a small string-keyed hash map (open addressing, linear probing)
 * for insights that must join thousands of entities by key without quadratic
 * loops. Keys are copied and owned by the map; values are borrowed pointers
 * (or small integers cast to pointers) that the map never frees.
 *
 * Not thread-safe: one map per computation. Keys are compared byte-exactly;
 * callers pass lower-cased entity keys when they want case-insensitive joins.
 */
#ifndef CW_STRMAP_H
#define CW_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

typedef struct {
    char *key;    /* owned copy; NULL marks an empty slot */
    void *value;  /* borrowed */
} cw_strmap_slot;

typedef struct {
    cw_strmap_slot *slots;
    size_t cap;   /* power of two, or 0 before the first insert */
    size_t len;
} cw_strmap;

/* A zero-initialised cw_strmap is an empty map; init just does that. */
void cw_strmap_init(cw_strmap *m);
/* Frees the keys and the table (not the values); the map is empty again. */
void cw_strmap_free(cw_strmap *m);

/*
 * Inserts key -> value, replacing the value of an existing key. Returns
 * CW_ERR_NOMEM (map unchanged) when the table or the key copy cannot be
 * allocated.
 */
cw_err cw_strmap_put(cw_strmap *m, const char *key, void *value);

/*
 * Inserts key -> value only when key is absent. *existing (may be NULL)
 * receives the slot's value afterwards (the old one when present) and
 * *inserted whether a new entry was made.
 */
cw_err cw_strmap_put_new(cw_strmap *m, const char *key, void *value, void **existing,
                         bool *inserted);

/* The value of key, or NULL when absent (a stored NULL reads the same;
 * use cw_strmap_has to tell them apart). */
void *cw_strmap_get(const cw_strmap *m, const char *key);
bool cw_strmap_has(const cw_strmap *m, const char *key);

/* Iteration: for (size_t i = 0; i < m->cap; i++) if (m->slots[i].key) ...
 * Order is unspecified; sort when output order matters. */

#endif
