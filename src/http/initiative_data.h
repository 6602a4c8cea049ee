/*
 * initiative_data.h — the initiatives of the catalog (kind Initiative,
 * issue #15) with their progress, assembled: the scorecard judged now over
 * the initiative's scope (scorecard_snapshot.h), the daily scorecard
 * snapshots since the start (store_scorecard_history.h) as a burn-up, and
 * the projection to the deadline (insights/initiative.h). Serves
 * GET /api/v1/initiatives and GET /api/v1/initiatives/{name}.
 *
 * An initiative:
 *   {"entityRef", "name", "namespace", "title", "owner", "scorecard",
 *    "target": {"level"} | {"checks": [...]}, "filter": [...], "start",
 *    "deadline",
 *    "progress": {"done", "total", "share"},
 *    "pace": {"verdict", "onPace", "reason", "sharePerDay"?, "projectedShare"?,
 *             "requiredSharePerDay", "daysLeft", "pointsUsed"},
 *    "burnup": [{"day", "done", "total"}],        (detail only)
 *    "teams": [{"team", "remaining", "total"}],   (detail only)
 *    "remaining": [{"entityRef", "owner", "level"}], "remainingTotal",
 *                                                  (detail only; at most 200)
 *    "problems": ["spec.targetLevel: ..."]}
 * The scope is the scorecard's own filter narrowed by spec.filter; an
 * entity counts on a past day when it is in today's scope and that day's
 * snapshot judged it.
 */
#ifndef CW_HTTP_INITIATIVE_DATA_H
#define CW_HTTP_INITIATIVE_DATA_H

#include <jansson.h>
#include <stdint.h>

#include "http/findings.h"
#include "store/store.h"
#include "util/err.h"

#define CW_INITIATIVE_REMAINING_MAX 200

typedef struct {
    cw_store *store;
    const cw_findings_cfg *cfg;  /* may be NULL: defaults */
    int64_t now_ms;
} cw_initiative_ctx;

/* {"items": [initiative without burnup, teams, remaining]}, by ref. */
cw_err cw_initiatives_list(const cw_initiative_ctx *c, json_t **out, cw_diag *d);

/* One initiative in full; CW_ERR_NOT_FOUND when there is none. */
cw_err cw_initiative_view(const cw_initiative_ctx *c, const char *ns, const char *name,
                          json_t **out, cw_diag *d);

#endif
