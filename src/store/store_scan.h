/*
 * store_scan.h — reading a whole slice of the catalog at once, for reports
 * that must see every entity (ownership findings, team load, effective
 * RACI): pages through cw_store_entity_query with keyset cursors and parses
 * each rendered entity (with its relations in both directions).
 *
 * Ownership: the caller owns *out (a JSON array) and the index built from
 * it; the index borrows the array's entities.
 */
#ifndef CW_STORE_SCAN_H
#define CW_STORE_SCAN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/err.h"
#include "util/strmap.h"

/* Entities read per query page. */
#define CW_SCAN_PAGE 2000

/*
 * One entity by kind/namespace/name (any case), parsed: cw_store_entity_get's
 * JSON (relations included) in *out (caller owns). CW_ERR_NOT_FOUND when
 * absent; CW_ERR_INTERNAL when the stored text is not JSON.
 */
cw_err cw_store_entity_load(cw_store *s, const char *kind, const char *ns, const char *name,
                            json_t **out, cw_diag *d);

/*
 * Every entity whose kind is one of kinds (lower-case or any case; NULL or
 * nkinds == 0 for every kind), in entity key order, as a JSON array of
 * objects. Stops with CW_ERR_TOO_LARGE beyond max entities (0 = no limit).
 * Entities change between pages only if a write lands meanwhile: each page
 * is one snapshot, the whole is not.
 */
cw_err cw_store_scan(cw_store *s, const char *const *kinds, size_t nkinds, size_t max,
                     json_t **out, cw_diag *d);

/*
 * A cache of parsed entities for repeated whole-catalog reads (a server's
 * reports): each read still asks the store for every entity, but parses
 * only the entities whose rendered text (relations included) differs from
 * the previous read, and hands out the same snapshot array while nothing
 * changed. Memory: one copy of each rendered entity plus its parsed form.
 * Thread-safe: reads are serialised by the cache's mutex; snapshots are
 * immutable and may be used by many threads at once (jansson 2.14 counts
 * references atomically).
 */
typedef struct cw_scan_cache cw_scan_cache;

cw_err cw_scan_cache_new(cw_scan_cache **out);
void cw_scan_cache_free(cw_scan_cache *c);

/*
 * Every entity of s (as cw_store_scan with no kind filter) in *out (a new
 * reference: json_decref it; never modify it or its entities). *version
 * (may be NULL) is a number that changes exactly when the snapshot
 * differs from the previous read's, so results computed from a snapshot
 * can be cached by it. Using the cache with another store starts afresh.
 */
cw_err cw_scan_cache_read(cw_scan_cache *c, cw_store *s, json_t **out, uint64_t *version,
                          cw_diag *d);

#endif
