/*
 * metric_prom.c — the answer of Prometheus' range query API
 * (GET /api/v1/query_range) into a metric batch (metric.h):
 *
 *   {"status": "success", "data": {"resultType": "matrix",
 *    "result": [{"metric": {"__name__": "x", "job": "a"},
 *                "values": [[1435781430.781, "1"], ...]}]}}
 *
 * Every series is stored under the one name the KPI gives; its labels are
 * the result's labels without __name__. An error answer ({"status":
 * "error", "errorType", "error"}) becomes CW_ERR_INVALID quoting
 * Prometheus' message, so the KPI's problem is visible where it is read.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/metric.h"

static bool prom_float(const char *s, double *out)
{
    if (!s || !*s || strlen(s) > 64)
        return false;
    if (!strcmp(s, "NaN")) {
        *out = NAN;
        return true;
    }
    if (!strcmp(s, "+Inf") || !strcmp(s, "Inf")) {
        *out = INFINITY;
        return true;
    }
    if (!strcmp(s, "-Inf")) {
        *out = -INFINITY;
        return true;
    }
    char *end = NULL;
    double v = strtod(s, &end);
    if (*end || !((*s >= '0' && *s <= '9') || *s == '-' || *s == '+' || *s == '.'))
        return false;
    *out = v;
    return true;
}

static cw_err one_series(const json_t *r, size_t i, const char *name, const cw_metric_parse_opts *o,
                         cw_metric_batch *out, cw_diag *d)
{
    const json_t *metric = json_object_get(r, "metric");
    const json_t *values = json_object_get(r, "values");
    if (!json_is_object(metric) || !json_is_array(values))
        return cw_fail(d, CW_ERR_INVALID, "data.result[%zu]: needs metric {} and values []", i);
    if (json_object_size(metric) > CW_METRIC_LABELS_MAX + 1)
        return cw_fail(d, CW_ERR_TOO_LARGE, "data.result[%zu].metric: more than %d labels", i,
                       CW_METRIC_LABELS_MAX);
    cw_metric_label labels[CW_METRIC_LABELS_MAX + 1];
    size_t n = 0;
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)metric, k, v) {
        if (!strcmp(k, "__name__"))
            continue;
        if (!json_is_string(v))
            return cw_fail(d, CW_ERR_INVALID, "data.result[%zu].metric.%.64s: must be a string", i, k);
        labels[n].name = (char *)k;
        labels[n].value = (char *)json_string_value(v);
        n++;
    }
    for (size_t j = 0; j < json_array_size(values); j++) {
        const json_t *pair = json_array_get(values, j);
        const json_t *ts = json_array_get(pair, 0);
        double sec, x;
        if (!json_is_array(pair) || json_array_size(pair) != 2 || !json_is_number(ts) ||
            !prom_float(json_string_value(json_array_get(pair, 1)), &x))
            return cw_fail(d, CW_ERR_INVALID,
                           "data.result[%zu].values[%zu]: must be [seconds, \"value\"]", i, j);
        sec = json_number_value(ts);
        if (!isfinite(sec) || fabs(sec) > 9.0e12)
            return cw_fail(d, CW_ERR_INVALID, "data.result[%zu].values[%zu]: time out of range", i, j);
        cw_err err = cw_metric_batch_add(out, name, labels, n, (int64_t)llround(sec * 1000.0), x,
                                         o->max_samples, d);
        if (err) {
            cw_diag_prefix(d, "data.result[%zu]", i);
            return err;
        }
    }
    return CW_OK;
}

cw_err cw_metric_parse_query_range(const char *text, size_t len, const char *name,
                                   const cw_metric_parse_opts *o, cw_metric_batch *out,
                                   cw_diag *d)
{
    static const cw_metric_parse_opts defaults = {0};
    if (!o)
        o = &defaults;
    json_error_t je;
    json_t *doc = json_loadb(text, len, 0, &je);
    if (!doc)
        return cw_fail(d, CW_ERR_INVALID, "the answer is not JSON (line %d, column %d: %s)", je.line,
                       je.column, je.text);
    cw_err err = CW_OK;
    const char *status = json_string_value(json_object_get(doc, "status"));
    const json_t *data = json_object_get(doc, "data");
    const char *type = json_string_value(json_object_get(data, "resultType"));
    const json_t *result = json_object_get(data, "result");
    if (status && !strcmp(status, "error")) {
        const char *et = json_string_value(json_object_get(doc, "errorType"));
        const char *msg = json_string_value(json_object_get(doc, "error"));
        err = cw_fail(d, CW_ERR_INVALID, "Prometheus: %.40s: %.300s", et ? et : "error",
                      msg ? msg : "(no message)");
    } else if (!status || strcmp(status, "success")) {
        err = cw_fail(d, CW_ERR_INVALID, "status: must be \"success\" or \"error\"");
    } else if (!type || strcmp(type, "matrix") || !json_is_array(result)) {
        err = cw_fail(d, CW_ERR_INVALID, "data: a range query answers resultType \"matrix\" with a "
                                         "result array, not %.20s",
                      type ? type : "nothing");
    } else {
        for (size_t i = 0; i < json_array_size(result) && !err; i++)
            err = one_series(json_array_get(result, i), i, name, o, out, d);
    }
    json_decref(doc);
    if (err)
        cw_metric_batch_free(out);
    else
        cw_metric_batch_finish(out);
    return err;
}
