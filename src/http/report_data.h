/*
 * report_data.h — the model of the shareable report (insights/report.h):
 * the strategy of the scope (strategy_data.h), DORA over the last 30 days
 * and the 30 before (for teams, systems, components and the organisation),
 * and the ownership findings of a team (all of them for the organisation),
 * the findings history and the postmortem action items of a team or the
 * organisation, and the scorecard levels (per team for the organisation).
 * Used by GET /api/v1/report and `conway report`, so both say the same.
 */
#ifndef CW_HTTP_REPORT_DATA_H
#define CW_HTTP_REPORT_DATA_H

#include <jansson.h>

#include "http/strategy_data.h"
#include "util/err.h"

/* scope_text: "org" or a Group, System, Domain or Component ref (as
 * cw_strategy_scope_parse takes). CW_ERR_INVALID / CW_ERR_NOT_FOUND name
 * the scope. max_components_per_team: the ownership threshold (0 = 8). */
cw_err cw_report_model(const cw_strategy_ctx *c, const char *scope_text,
                       unsigned max_components_per_team, json_t **out, cw_diag *d);

#endif
