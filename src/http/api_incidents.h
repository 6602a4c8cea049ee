/*
 * api_incidents.h — the JSON of an incident as every incident route
 * answers it (api_incidents.c), for reuse by other routes.
 */
#ifndef CW_API_INCIDENTS_H
#define CW_API_INCIDENTS_H

#include <jansson.h>

#include "store/store_incidents.h"

/* {"id", "ref", "source", "title", "state", "severity", "severityLabel",
 *  "component", "owner", "service", "environment", "artifactId",
 *  "alertGroup", "startedAt", "detectedAt", "resolvedAt", "updatedAt",
 *  "timeToRestoreSeconds", "links": {"self"}}; NULL when out of memory. */
json_t *cw_api_incident_json(const cw_incident *i);

#endif
