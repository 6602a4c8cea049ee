/*
 * locations.h — catalogs fetched from their repositories: Location targets
 * of type url (from Location entities, from the Backstage location API, or
 * `conway import`) are fetched when registered and then every
 * --refresh-interval; their content is imported, the Location targets it
 * holds are registered in turn, and the entities a location no longer holds
 * become orphans. With several instances on one database, each refresh is
 * done by the one instance that claimed it (store_ingest.h).
 *
 * Orphans: an entity a location (url or file) provided at its previous
 * import and no longer holds — and that no other location provides — gets
 * Backstage's annotation backstage.io/orphan: "true" (finding
 * orphan-entity), or is deleted with delete_orphans. When it comes back,
 * its import replaces it without the annotation.
 *
 * Fetch state on the Location: every Location entity whose spec.target (or
 * spec.targets) is the url gets, while fetching fails, the annotations
 * conway.dev/fetch-error (the reason) and conway.dev/fetch-failures (failed
 * fetches in a row, counted up to CW_OWNERSHIP_FETCH_FAILURES, when the
 * finding location-unreachable appears); they go at the next success. The
 * entities keep their last good content meanwhile. GET /api/v1/locations
 * shows the state of every location.
 */
#ifndef CW_INGEST_LOCATIONS_H
#define CW_INGEST_LOCATIONS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "ingest/fetch.h"
#include "store/store.h"
#include "store/store_ingest.h"
#include "util/err.h"

#define CW_LOCATIONS_DEFAULT_INTERVAL_MS (15LL * 60 * 1000)
#define CW_LOCATIONS_POLL_MS 1000

struct cw_activity_set;

typedef struct cw_locations_config {
    cw_fetch_policy policy;
    int64_t interval_ms;         /* --refresh-interval; 0 = the default */
    bool delete_orphans;         /* --delete-orphans */
} cw_locations_config;

/* The absolute URL of a Location target found in a file fetched from base
 * (relative targets resolve as URLs do: "./x.yaml", "../y/z.yaml", "/a");
 * false when it cannot be made or does not fit. */
bool cw_location_resolve(const char *base, const char *target, char *out, size_t cap);

/*
 * Registers the url targets of the Location entities an import reported
 * (cw_import_report.locations: {target, type}), relative ones resolved
 * against base (NULL: only absolute http(s) URLs count), as locations of
 * origin "entity", due at once. *registered (may be NULL) counts the new
 * ones.
 */
cw_err cw_locations_register(cw_store *s, const json_t *report_locations, const char *base,
                             size_t *registered, cw_diag *d);

/*
 * Records that location id now provides the entities of an import report
 * (its refs, and the refs of documents that failed validation, which keep
 * their last good version), and orphans — or deletes — the entities it no
 * longer provides. *orphaned (may be NULL) counts them.
 */
cw_err cw_location_provides(cw_store *s, const char *id, const json_t *refs,
                            const json_t *errors, bool delete_orphans, size_t *orphaned,
                            cw_diag *d);

/* Marks the entities of keys (lower-cased refs) as orphans, or deletes
 * them; entities already gone are skipped. *n (may be NULL) counts them. */
cw_err cw_orphans(cw_store *s, const json_t *keys, bool delete_orphans, size_t *n, cw_diag *d);

/* Fetches location id (which owner has claimed) once and imports what it
 * holds (see above); records the outcome on the location and its Location
 * entities. CW_OK also when the fetch failed (that is recorded); an error
 * only when the store fails. */
cw_err cw_location_refresh(cw_store *s, const cw_locations_config *cfg,
                           const struct cw_activity_set *activities, const char *id,
                           const char *owner, cw_diag *d);

/* The background refresher of `conway serve`: claims due url locations
 * every CW_LOCATIONS_POLL_MS (or at once when kicked) and refreshes them.
 * cfg and activities must outlive it. */
typedef struct cw_refresher cw_refresher;

cw_err cw_refresher_start(cw_store *s, const cw_locations_config *cfg,
                          const struct cw_activity_set *activities, cw_refresher **out,
                          cw_diag *d);
/* Wakes it now (a location was registered or a refresh asked for). NULL ok. */
void cw_refresher_kick(cw_refresher *r);
/* Stops it after the refresh under way; NULL ok. */
void cw_refresher_stop(cw_refresher *r);

#endif
