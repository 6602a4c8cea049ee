/*
 * series.h — one way to read any metric series, whatever holds it: the
 * built-in DORA series (insights/dora_series.h) are computed from the
 * delivery insight for the window asked; every other name is read from the
 * store (store/store_metrics.h). The metrics API, goals, hypotheses, the
 * report and /metrics all read series through here, so a goal on
 * conway_dora_deployments_per_day and one on a pushed KPI are evaluated
 * alike.
 */
#ifndef CW_HTTP_SERIES_H
#define CW_HTTP_SERIES_H

#include <jansson.h>
#include <stdbool.h>

#include "catalog/scope.h"
#include "events/metric.h"
#include "insights/delivery.h"
#include "store/store.h"
#include "store/store_metrics.h"
#include "util/err.h"

typedef struct {
    cw_store *store;
    const char *production_env;   /* --production-env; NULL = "prod*" */
    int failure_window_hours;     /* DORA's; 0 = the default (24) */
} cw_series_source;

/* Whether name is a built-in (computed) series. */
bool cw_series_builtin(const char *name);

/*
 * The points of q (see store_metrics.h for the step semantics). For a
 * built-in DORA series: the only label is scope (absent = "org"; another
 * label matches nothing), the step must be a whole number of days
 * (CW_ERR_INVALID naming step), the window is widened to whole UTC days,
 * and a scope that does not exist is CW_ERR_NOT_FOUND naming it.
 */
cw_err cw_series_query(const cw_series_source *src, const cw_metric_query *q,
                       cw_metric_result *out, cw_diag *d);

/* The delivery inputs of a scope (NULL: org) for the DORA insight and the
 * hypotheses' artifacts: the store's rows through insights/delivery.h's
 * collector. *dd is empty on error (free it either way). */
cw_err cw_series_delivery_load(const cw_series_source *src, const cw_scope *scope,
                               unsigned what, cw_delivery_data *dd, cw_diag *d);

/* [{"time": RFC 3339, "value": number}, ...] (NULL when out of memory). */
json_t *cw_series_points_json(const cw_metric_point *p, size_t n);

/* {"labels": {...}, "points": [...]} for each series of r, as an array. */
json_t *cw_series_result_json(const cw_metric_result *r);

#endif
