/*
 * api_incidents.h — the JSON of an incident as every incident route
 * answers it (api_incidents.c), for reuse by other routes.
 */
#ifndef CW_API_INCIDENTS_H
#define CW_API_INCIDENTS_H

#include <jansson.h>

#include "insights/postmortem.h"
#include "store/store_incidents.h"

/* {"id", "ref", "source", "title", "state", "severity", "severityLabel",
 *  "component", "owner", "service", "environment", "artifactId",
 *  "alertGroup", "startedAt", "detectedAt", "resolvedAt", "updatedAt",
 *  "timeToRestoreSeconds", "links": {"self"}}; NULL when out of memory. */
json_t *cw_api_incident_json(const cw_incident *i);

/*
 * The incident and postmortem findings (insights/postmortem.h) of the
 * catalog `entities` at o->now_ms, with the incidents the rules need read
 * from the store: the resolved ones at or above the threshold resolved long
 * enough ago, and those the Postmortems name. Shared by
 * GET /api/v1/insights/ownership and `conway check postmortems`.
 * *nincidents (may be NULL) receives how many incidents were checked.
 */
cw_err cw_incident_findings(cw_store *s, json_t *const *entities, size_t n,
                            const cw_postmortem_opts *o, json_t **out, size_t *nincidents,
                            cw_diag *d);

#endif
