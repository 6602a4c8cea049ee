/*
 * initiative.h — the Initiative kind (apiVersion conway.dev/v1, issue #15)
 * as the catalog sees it: its shape, checked on import like every other
 * kind so that a wrong field is a 400 problem naming it. Its progress (the
 * share of scoped entities at the target, the burn-up, the projection to
 * the deadline) is an insight (insights/initiative.h). Pure: no I/O.
 * Written out for users in docs/initiatives.md.
 *
 *   kind: Initiative
 *   spec:
 *     scorecard: production-readiness          # a Scorecard ref (required)
 *     targetLevel: silver                      # or checks: [runbook, dashboard]
 *     filter: kind=component,spec.lifecycle=production   # or a list (ORed)
 *     owner: group:default/platform
 *     start: 2026-11-01                        # required
 *     deadline: 2027-01-31                     # required, after start
 */
#ifndef CW_CATALOG_INITIATIVE_H
#define CW_CATALOG_INITIATIVE_H

#include <jansson.h>

#include "catalog/catalog.h"

struct cw_activity_set;

#define CW_INITIATIVE_CHECKS_MAX 100  /* spec.checks[] entries */
#define CW_INITIATIVE_ID_MAX 128      /* bytes of a level name or check id, with NUL */

/* Kind check for the kind table (kinds.c). */
void cw__initiative_kind_check(const json_t *entity, const json_t *spec, const char *ns,
                               const struct cw_activity_set *activities, cw_issue_list *out);

#endif
