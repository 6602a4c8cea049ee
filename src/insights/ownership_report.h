/*
 * ownership_report.h — the answer of GET /api/v1/insights/ownership and
 * `conway check ownership --json`, built from (filtered) ownership
 * findings, so the API and the CLI say exactly the same. Pure.
 *
 *   {"findings": [...as given...],
 *    "summary": {"error": N, "warning": N, "total": N, "byRule": {rule: N}},
 *    "maxComponentsPerTeam": N,      the team-overload threshold used
 *    "entities": N}                  entities checked
 */
#ifndef CW_INSIGHTS_OWNERSHIP_REPORT_H
#define CW_INSIGHTS_OWNERSHIP_REPORT_H

#include <jansson.h>
#include <stddef.h>

#include "util/err.h"

/* *out (caller owns) shares the finding objects with findings. */
cw_err cw_ownership_report(const json_t *findings, size_t max_components_per_team,
                           size_t entities, json_t **out, cw_diag *d);

#endif
