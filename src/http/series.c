/*
 * series.c — reading a metric series from wherever it lives (series.h):
 * the DORA built-ins by loading the scope's delivery data, computing DORA
 * over the whole UTC days of the window and turning the daily figures into
 * points; everything else from the store.
 */
#include "http/series.h"

#include <stdlib.h>
#include <string.h>

#include "insights/delivery.h"
#include "insights/dora.h"
#include "insights/dora_series.h"
#include "util/timeutil.h"

#define DAY_MS 86400000LL

bool cw_series_builtin(const char *name) { return cw_dora_series_find(name) >= 0; }

static int64_t floor_day(int64_t ms) { return (ms >= 0 ? ms / DAY_MS : -((-ms + DAY_MS - 1) / DAY_MS)) * DAY_MS; }

cw_err cw_series_delivery_load(const cw_series_source *src, const cw_scope *scope, unsigned what,
                               cw_delivery_data *dd, cw_diag *d)
{
    cw_delivery_query dq = {.scope = scope, .production_env = src->production_env, .what = what};
    memset(dd, 0, sizeof *dd);
    cw_delivery_collector *col = NULL;
    cw_err err = cw_delivery_collector_new(&dq, &col, d);
    if (!err)
        err = cw_store_delivery_scan(src->store, &dq, cw_delivery_collector_sink(), col, d);
    if (!err)
        err = cw_delivery_collector_finish(col, dd, d);
    cw_delivery_collector_free(col);
    return err;
}

static cw_err dora_query(const cw_series_source *src, const cw_metric_query *q, int which,
                         cw_metric_result *out, cw_diag *d)
{
    const char *scope_text = "org";
    for (size_t i = 0; q->match && i < q->match->len; i++) {
        if (strcmp(q->match->items[i].name, "scope"))
            return CW_OK; /* no DORA series has another label */
        scope_text = q->match->items[i].value;
    }
    if (q->step_ms % DAY_MS)
        return cw_fail(d, CW_ERR_INVALID, "step: DORA series are daily; the step must be a whole "
                                          "number of days (1d, 7d, …)");
    cw_scope sc;
    cw_err err = cw_scope_parse(scope_text, &sc, d);
    if (err)
        return err;
    int64_t from = floor_day(q->from_ms);
    int64_t to = floor_day(q->to_ms - 1) + DAY_MS;
    if ((to - from) / DAY_MS > CW_DORA_MAX_DAYS)
        return cw_fail(d, CW_ERR_INVALID, "from: DORA series cover at most %d days",
                       CW_DORA_MAX_DAYS);
    cw_delivery_data dd;
    if ((err = cw_series_delivery_load(src, &sc, CW_DELIVERY_ALL, &dd, d))) {
        cw_delivery_data_free(&dd);
        return err;
    }
    cw_dora_params p = {.from_ms = from, .to_ms = to,
                        .failure_window_hours = src->failure_window_hours
                                                    ? src->failure_window_hours
                                                    : CW_DORA_DEFAULT_FAILURE_WINDOW_HOURS};
    cw_dora_result r;
    err = cw_dora_compute(&dd.in, &p, &r, d);
    cw_metric_point *daily = NULL, *pts = NULL;
    size_t ndaily = 0, npts = 0;
    if (!err) {
        err = cw_dora_series_daily(&r, &dd.in, which, &daily, &ndaily);
        cw_dora_result_free(&r);
    }
    cw_delivery_data_free(&dd);
    if (!err)
        err = cw_metric_points_bucket(daily, ndaily, from, to, q->step_ms, q->agg, &pts, &npts);
    free(daily);
    if (err)
        return err == CW_ERR_NOMEM ? cw_fail(d, err, "metrics: out of memory") : err;
    out->series = calloc(1, sizeof *out->series);
    cw_metric_label l = {"scope", sc.kind == CW_SCOPE_ORG ? "org" : sc.key};
    cw_metric_labels one = {&l, 1};
    cw_buf j;
    cw_buf_init(&j, 0);
    if (!out->series || cw_metric_labels_json(&one, &j) ||
        cw_metric_labels_from_text(j.data, &out->series[0].labels, d)) {
        free(pts);
        cw_buf_free(&j);
        return cw_fail(d, CW_ERR_NOMEM, "metrics: out of memory");
    }
    out->series[0].labels_json = cw_buf_steal(&j, NULL);
    out->series[0].points = pts;
    out->series[0].npoints = npts;
    out->nseries = 1;
    out->series_total = 1;
    return CW_OK;
}

cw_err cw_series_query(const cw_series_source *src, const cw_metric_query *q,
                       cw_metric_result *out, cw_diag *d)
{
    memset(out, 0, sizeof *out);
    int which = cw_dora_series_find(q->name);
    if (which < 0)
        return cw_store_metrics_query(src->store, q, out, d);
    if (q->to_ms <= q->from_ms || q->step_ms <= 0)
        return cw_fail(d, CW_ERR_INVALID, "step: must be positive, and to later than from");
    cw_err err = dora_query(src, q, which, out, d);
    if (err)
        cw_metric_result_free(out);
    return err;
}

json_t *cw_series_points_json(const cw_metric_point *p, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        char t[32];
        cw_time_format_compact(p[i].time_ms, t);
        if (json_array_append_new(arr, json_pack("{s:s, s:f}", "time", t, "value", p[i].value))) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

json_t *cw_series_result_json(const cw_metric_result *r)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < r->nseries; i++) {
        const cw_metric_result_series *s = &r->series[i];
        json_t *labels = json_object();
        for (size_t j = 0; labels && j < s->labels.len; j++)
            json_object_set_new(labels, s->labels.items[j].name,
                                json_string(s->labels.items[j].value));
        json_t *pts = cw_series_points_json(s->points, s->npoints);
        if (!labels || !pts ||
            json_array_append_new(arr, json_pack("{s:o, s:o}", "labels", labels, "points", pts))) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}
