/*
 * dora_series.h — the DORA figures as daily metric series (issue #16): the
 * built-in series every goal, hypothesis, dashboard and report can use
 * like any KPI, computed from the DORA insight (dora.h) for the days asked
 * instead of being stored a second time.
 *
 *   conway_dora_deployments_per_day        production deployments that day
 *   conway_dora_failed_deployments_per_day those of them that failed
 *   conway_dora_change_failure_rate        failed / deployments (days with deployments)
 *   conway_dora_lead_time_seconds          median lead time of that day's deployments
 *   conway_dora_time_to_restore_seconds    median time to restore of the incidents
 *                                          that started that day and are resolved
 *
 * Each has one label, scope ("org", "group:default/payments",
 * "system:default/shop", "component:default/cart"). A point's time is the
 * start of its UTC day. Days without a value (no deployment, no incident)
 * give no point, except the two counts, which are 0 on a quiet day.
 * Pure: no I/O.
 */
#ifndef CW_INSIGHTS_DORA_SERIES_H
#define CW_INSIGHTS_DORA_SERIES_H

#include <stdbool.h>
#include <stddef.h>

#include "events/metric.h"
#include "insights/dora.h"
#include "util/err.h"

#define CW_DORA_NSERIES 5
#define CW_DORA_SERIES_PREFIX "conway_dora_"

extern const char *const cw_dora_series_names[CW_DORA_NSERIES];
/* One-line description of each series (for listings and /metrics HELP). */
extern const char *const cw_dora_series_help[CW_DORA_NSERIES];

/* The index of a built-in DORA series name, -1 for any other name. */
int cw_dora_series_find(const char *name);

/*
 * The daily points of series `which` over r's window (r computed by
 * cw_dora_compute over whole UTC days, in the input it was computed from).
 * *out (caller frees; NULL when empty) sorted by time. CW_ERR_NOMEM.
 */
cw_err cw_dora_series_daily(const cw_dora_result *r, const cw_dora_input *in, int which,
                            cw_metric_point **out, size_t *n);

#endif
