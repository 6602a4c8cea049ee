/*
 * insights_int.h — helpers shared by dora.c, undeployed.c and coupling.c:
 * a string → index hash map over borrowed strings, the per-component
 * deployment index, and the change attribution rule of issue #3 (used by
 * both DORA lead time and the undeployed inventory so they always agree).
 * Not for use outside src/insights/.
 */
#ifndef CW_INSIGHTS_INT_H
#define CW_INSIGHTS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "insights/dora.h"
#include "util/err.h"

/* Chained hash of borrowed strings; an entry's value is its insertion
 * number (0..len). */
typedef struct {
    uint32_t *heads;       /* nbuckets, entry + 1 or 0 */
    uint32_t *next;        /* per entry, entry + 1 or 0 */
    const char **keys;     /* per entry */
    uint32_t *hashes;      /* per entry */
    size_t len, cap, nbuckets;
} cw__strmap;

cw_err cw__strmap_init(cw__strmap *m, size_t expected);
void cw__strmap_free(cw__strmap *m);
/* Entry number of key, or -1. */
long cw__strmap_find(const cw__strmap *m, const char *key);
/* Entry number of key, inserting it when absent (key is borrowed). */
cw_err cw__strmap_intern(cw__strmap *m, const char *key, uint32_t *out);
/* Iterates the entries that share key's chain slot: first/next give entry
 * numbers of entries with an equal key only (-1 at the end). Used when
 * several inputs share a key and are all inserted (cw__strmap_add). */
cw_err cw__strmap_add(cw__strmap *m, const char *key);
long cw__strmap_first(const cw__strmap *m, const char *key);
long cw__strmap_next(const cw__strmap *m, long entry);

/* Deployments sorted by (component, time, input index). */
typedef struct {
    uint32_t *order;       /* ndeployments input indices in sorted order */
    size_t *comp_start;    /* ncomponents + 1 offsets into order */
    size_t n, ncomponents;
} cw__dep_index;

/* Fails with CW_ERR_INVALID when a component is out of range. */
cw_err cw__dep_index_build(const cw_dora_input *in, cw__dep_index *ix, cw_diag *d);
void cw__dep_index_free(cw__dep_index *ix);

/*
 * For every change, the input index of the deployment it is attributed to
 * (the earliest one when several apply), or -1 (*att_out malloc'd, nchanges
 * entries; the caller frees it).
 */
cw_err cw__attribute_changes(const cw_dora_input *in, const cw__dep_index *ix, int64_t **att_out,
                             cw_diag *d);

/* A sort record: ordered by (key, time, idx). */
typedef struct {
    int32_t key;    /* component, group, day... (non-negative) */
    uint32_t idx;   /* input index */
    int64_t time;
} cw__sort_key;

/*
 * Sorts by (key, time) with LSD radix passes (stable, so records given in
 * ascending idx keep that order on ties): O(n) per pass, a few passes.
 * nkeys bounds key (0 <= key < nkeys). Fails only on allocation.
 */
cw_err cw__sort_keys(cw__sort_key *v, size_t n, size_t nkeys);
/* Ascending sort of int64 values, radix as above. */
cw_err cw__sort_i64(int64_t *v, size_t n);

int cw__cmp_i64(const void *a, const void *b);

#endif
