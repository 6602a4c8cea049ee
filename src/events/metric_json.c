/*
 * metric_json.c — the JSON form of metric samples (metric.h):
 *
 *   [{"name": "checkout_conversion", "labels": {"team": "payments"},
 *     "time": "2025-03-01T00:00:00Z", "value": 0.021}, ...]
 *
 * name and value are required; labels and time optional ("time" is an
 * RFC 3339 date-time or an integer of Unix milliseconds; absent: the
 * request's time). "value" is a JSON number, or one of the strings "NaN",
 * "+Inf", "-Inf" (counted and dropped like in the text format). Members
 * other than these four are refused, so a misspelt "lables" is not lost
 * silently.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/metric.h"
#include "util/timeutil.h"

static cw_err element(const json_t *e, size_t i, const cw_metric_parse_opts *o,
                      cw_metric_batch *out, cw_diag *d)
{
    if (!json_is_object(e))
        return cw_fail(d, CW_ERR_INVALID, "[%zu]: must be an object {name, labels, time, value}", i);
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)e, key, v) {
        if (strcmp(key, "name") && strcmp(key, "labels") && strcmp(key, "time") &&
            strcmp(key, "value"))
            return cw_fail(d, CW_ERR_INVALID,
                           "[%zu].%.64s: unknown member (known: name, labels, time, value)", i, key);
    }
    const json_t *name = json_object_get(e, "name");
    if (!json_is_string(name))
        return cw_fail(d, CW_ERR_INVALID, "[%zu].name: required, a string", i);
    if (strlen(json_string_value(name)) != json_string_length(name))
        return cw_fail(d, CW_ERR_INVALID, "[%zu].name: contains a NUL character", i);
    const json_t *value = json_object_get(e, "value");
    double x;
    if (json_is_number(value)) {
        x = json_number_value(value);
    } else if (json_is_string(value)) {
        const char *s = json_string_value(value);
        if (!strcmp(s, "NaN"))
            x = NAN;
        else if (!strcmp(s, "+Inf") || !strcmp(s, "Inf"))
            x = INFINITY;
        else if (!strcmp(s, "-Inf"))
            x = -INFINITY;
        else
            return cw_fail(d, CW_ERR_INVALID,
                           "[%zu].value: a number (or \"NaN\", \"+Inf\", \"-Inf\")", i);
    } else {
        return cw_fail(d, CW_ERR_INVALID, "[%zu].value: required, a number", i);
    }
    int64_t t = o->default_time_ms;
    const json_t *time = json_object_get(e, "time");
    if (json_is_string(time)) {
        if (!cw_time_parse_rfc3339(json_string_value(time), &t))
            return cw_fail(d, CW_ERR_INVALID,
                           "[%zu].time: '%.40s' is not an RFC 3339 date-time "
                           "(e.g. 2025-03-01T00:00:00Z)",
                           i, json_string_value(time));
    } else if (json_is_integer(time)) {
        t = json_integer_value(time);
    } else if (time) {
        return cw_fail(d, CW_ERR_INVALID,
                       "[%zu].time: an RFC 3339 date-time or integer Unix milliseconds", i);
    }
    char path[48];
    snprintf(path, sizeof path, "[%zu].labels", i);
    cw_metric_labels set;
    cw_err err = cw_metric_labels_from_json(json_object_get(e, "labels"), path, &set, d);
    if (err)
        return err;
    err = cw_metric_batch_add(out, json_string_value(name), set.items, set.len, t, x,
                              o->max_samples, d);
    cw_metric_labels_free(&set);
    if (err)
        cw_diag_prefix(d, "[%zu]", i);
    return err;
}

cw_err cw_metric_parse_json(const char *text, size_t len, const cw_metric_parse_opts *o,
                            cw_metric_batch *out, cw_diag *d)
{
    static const cw_metric_parse_opts defaults = {0};
    if (!o)
        o = &defaults;
    json_error_t je;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        return cw_fail(d, CW_ERR_INVALID, "line %d, column %d: %s", je.line, je.column, je.text);
    cw_err err = CW_OK;
    if (!json_is_array(doc)) {
        err = cw_fail(d, CW_ERR_INVALID, "the body must be a JSON array of samples "
                                         "[{name, labels, time, value}]");
    } else {
        size_t max = o->max_samples ? o->max_samples : CW_METRIC_DEFAULT_MAX_SAMPLES;
        if (json_array_size(doc) > max)
            err = cw_fail(d, CW_ERR_TOO_LARGE, "more than %zu samples in one request", max);
        for (size_t i = 0; i < json_array_size(doc) && !err; i++)
            err = element(json_array_get(doc, i), i, o, out, d);
    }
    json_decref(doc);
    if (err)
        cw_metric_batch_free(out);
    else
        cw_metric_batch_finish(out);
    return err;
}
