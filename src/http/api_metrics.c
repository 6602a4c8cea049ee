/*
 * api_metrics.c — KPIs as metric series (issue #16): POST /api/v1/metrics
 * takes samples as JSON or in the Prometheus text / OpenMetrics formats
 * (events/metric.h) and stores them (store_metrics.h); GET /api/v1/metrics
 * lists the series names (stored and built-in); GET /api/v1/metrics/{name}
 * answers a series' points over a window, one per step (series.h), for
 * stored KPIs and the built-in DORA series alike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/metric.h"
#include "util/duration.h"
#include "http/api_common.h"
#include "http/api_events.h"
#include "http/http_int.h"
#include "http/series.h"
#include "insights/dora_series.h"
#include "store/store_metrics.h"
#include "util/timeutil.h"

#define DAY_MS 86400000LL
#define DEFAULT_WINDOW_MS (30 * DAY_MS)
#define AUTO_POINTS 500
#define MAX_LIMIT 1000

static void post_metrics(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_metric_batch b = {0};
    cw_metric_parse_opts o = {.default_time_ms = cw_now_ms()};
    cw_diag d = {{0}};
    cw_err err = cw_metric_decode(cw_req_header(req, "Content-Type"), req->body, req->body_len,
                                  &o, &b, &d);
    if (err) {
        int status = err == CW_ERR_INVALID       ? 400
                     : err == CW_ERR_TOO_LARGE   ? 413
                     : err == CW_ERR_UNSUPPORTED ? 415
                                                 : cw_http_status_of(err);
        cw_resp_problem(resp, status, "%s", d.msg);
        return;
    }
    for (size_t i = 0; i < b.nseries; i++)
        if (!strncmp(b.series[i].name, "conway_", 7)) {
            cw_resp_problem(resp, 400,
                            "name '%.100s': names starting with conway_ are conway's own "
                            "(built-in) series",
                            b.series[i].name);
            cw_metric_batch_free(&b);
            return;
        }
    cw_metric_put_result res;
    err = cw_store_metrics_put(app->store, &b, &res, &d);
    if (err == CW_ERR_TOO_LARGE) {
        cw_resp_problem(resp, 422, "%s", d.msg);
    } else if (err) {
        cw_resp_error(resp, err, &d);
    } else {
        json_t *detail = json_pack("{s:I, s:I, s:I}", "samples", (json_int_t)res.samples,
                                   "series", (json_int_t)b.nseries, "newSeries",
                                   (json_int_t)res.series_new);
        cw_api_audit_detail(app, req, "metrics.ingest", NULL, detail);
        json_decref(detail);
        cw_resp_json(resp, 200,
                     json_pack("{s:I, s:I, s:I, s:I, s:I}", "accepted", (json_int_t)res.samples,
                               "series", (json_int_t)b.nseries, "newSeries",
                               (json_int_t)res.series_new, "nonFinite", (json_int_t)b.nonfinite,
                               "replaced", (json_int_t)b.replaced));
    }
    cw_metric_batch_free(&b);
}

static void get_names(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_api_page pg;
    if (!cw_api_page_params(req, resp, 1000, 1000, &pg))
        return;
    cw_metric_name_info *v = NULL;
    size_t n = 0;
    cw_diag d = {{0}};
    cw_err err = cw_store_metrics_names(app->store, &v, &n, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        return;
    }
    json_t *names = json_array();
    for (int i = 0; names && i < CW_DORA_NSERIES; i++)
        json_array_append_new(names, json_pack("{s:s, s:b, s:s, s:[s]}", "name",
                                               cw_dora_series_names[i], "builtin", 1,
                                               "description", cw_dora_series_help[i], "labels",
                                               "scope"));
    for (size_t i = 0; names && i < n; i++) {
        char first[32], last[32];
        cw_time_format_compact(v[i].first_ms, first);
        cw_time_format_compact(v[i].last_ms, last);
        json_array_append_new(names, json_pack("{s:s, s:b, s:I, s:s, s:s}", "name", v[i].name,
                                               "builtin", 0, "series", (json_int_t)v[i].series,
                                               "firstSample", first, "lastSample", last));
    }
    cw_metric_names_free(v, n);
    if (!names) {
        cw_resp_problem(resp, 500, "out of memory");
        return;
    }
    /* "items" as every list; "names", the page again, for older clients */
    json_t *body = json_pack("{s:o}", "items", names);
    if (body && (cw_api_page_body(body, "items", &pg) ||
                 json_object_set(body, "names", json_object_get(body, "items")))) {
        json_decref(body);
        body = NULL;
    }
    if (!body) {
        cw_resp_problem(resp, 500, "out of memory");
        return;
    }
    cw_resp_json(resp, 200, body);
}

/* The smallest "nice" step giving at most AUTO_POINTS points. */
static int64_t auto_step(int64_t window, bool builtin)
{
    static const int64_t nice[] = {60000LL,   300000LL,   900000LL,     1800000LL,   3600000LL,
                                   7200000LL, 21600000LL, 43200000LL,   DAY_MS,      7 * DAY_MS,
                                   30 * DAY_MS, 365 * DAY_MS};
    for (size_t i = 0; i < sizeof nice / sizeof nice[0]; i++) {
        if (builtin && nice[i] % DAY_MS)
            continue;
        if ((window + nice[i] - 1) / nice[i] <= AUTO_POINTS)
            return nice[i];
    }
    return 365 * DAY_MS;
}

static void get_metric(cw_app *app, cw_req *req, cw_resp *resp)
{
    const char *name = req->params[0];
    if (!cw_metric_name_valid(name, strlen(name))) {
        cw_resp_problem(resp, 400, "name: '%.64s' is not a metric name", name);
        return;
    }
    bool builtin = cw_series_builtin(name);
    cw_metric_labels match = {0};
    const char *labels = cw_req_query(req, "labels");
    cw_diag d = {{0}};
    if (labels && cw_metric_labels_parse(labels, &match, &d)) {
        cw_resp_problem(resp, 400, "query parameter 'labels': %s", d.msg);
        return;
    }
    int64_t from, to, step = 0;
    bool has_from, has_to;
    uint64_t limit;
    cw_metric_agg agg = builtin ? CW_AGG_AVG : CW_AGG_LAST;
    const char *step_text = cw_req_query(req, "step"), *agg_text = cw_req_query(req, "agg");
    if (!cw_api_time_param(req, resp, "from", &from, &has_from) ||
        !cw_api_time_param(req, resp, "to", &to, &has_to) ||
        !cw_req_query_uint(req, resp, "limit", CW_METRIC_DEFAULT_MAX_SERIES, 1, MAX_LIMIT, &limit))
        goto out;
    if (!has_to)
        to = has_from && from >= cw_now_ms() ? from + DEFAULT_WINDOW_MS : cw_now_ms();
    if (!has_from)
        from = to - DEFAULT_WINDOW_MS;
    if (to <= from) {
        cw_resp_problem(resp, 400, "query parameter 'to': must be later than 'from'");
        goto out;
    }
    if (step_text && !cw_duration_parse(step_text, &step)) {
        cw_resp_problem(resp, 400, "query parameter 'step': '%.40s' is not a duration (e.g. 15s, "
                        "5m, 1h, 1d, 1w, or seconds)", step_text);
        goto out;
    }
    if (!step)
        step = auto_step(to - from, builtin);
    if (agg_text && !cw_metric_agg_parse(agg_text, &agg)) {
        cw_resp_problem(resp, 400, "query parameter 'agg': '%.40s' is not one of last, avg, min, "
                        "max, sum, count", agg_text);
        goto out;
    }
    cw_metric_query q = {.name = name, .match = &match, .from_ms = from, .to_ms = to,
                         .step_ms = step, .agg = agg, .max_series = (size_t)limit};
    cw_series_source src = {app->store, app->cfg.production_env, 0};
    cw_metric_result r;
    cw_err err = cw_series_query(&src, &q, &r, &d);
    if (err == CW_ERR_TOO_LARGE || (err == CW_ERR_INVALID && !strncmp(d.msg, "step: ", 6))) {
        cw_resp_problem(resp, 400, "query parameter 'step': %s", d.msg + (strncmp(d.msg, "step: ", 6) ? 0 : 6));
        goto out;
    }
    if (err) {
        cw_api_store_error(resp, err, &d, "labels");
        goto out;
    }
    char f[32], t[32], st[32];
    cw_time_format_compact(from, f);
    cw_time_format_compact(to, t);
    cw_duration_format(step, st);
    json_t *series = cw_series_result_json(&r);
    json_t *body = series ? json_pack("{s:s, s:b, s:s, s:s, s:s, s:s, s:I, s:o}", "name", name,
                                      "builtin", builtin, "from", f, "to", t, "step", st, "agg",
                                      cw_metric_agg_name(agg), "seriesTotal",
                                      (json_int_t)r.series_total, "series", series)
                          : NULL;
    cw_metric_result_free(&r);
    if (!body)
        cw_resp_problem(resp, 500, "out of memory while building the answer");
    else
        cw_resp_json(resp, 200, body);
out:
    cw_metric_labels_free(&match);
}

static const char *const no_params[] = {NULL};
static const char *const page_params[] = {"limit", "cursor", NULL};
static const char *const metric_params[] = {"labels", "from", "to", "step", "agg", "limit", NULL};

const cw_route cw_routes_metrics[] = {
    {"POST", "/api/v1/metrics", post_metrics, CW_AUTH_INGEST, no_params},
    {"GET", "/api/v1/metrics", get_names, CW_AUTH_READ, page_params},
    {"GET", "/api/v1/metrics/{name}", get_metric, CW_AUTH_READ, metric_params},
    {NULL, NULL, NULL, 0, NULL},
};
