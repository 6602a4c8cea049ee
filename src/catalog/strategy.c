/*
 * strategy.c — the shape of the strategy kinds Goal, Hypothesis, Decision
 * and KPI (strategy.h): every field present must be of the right type and
 * value; a field that is missing is a problem only where nothing can be
 * done without it (a Hypothesis without a metric, a Decision without a
 * status, a KPI without a source). What makes a Goal S.M.A.R.T. is judged
 * by the insight, not here. Metric and label names follow the rules of
 * events/metric.h (restated: the catalog layer does not use events).
 */
#include "catalog/strategy.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "catalog/kinds.h"
#include "catalog/scope.h"
#include "util/duration.h"

#define METRIC_NAME_MAX 200
#define LABEL_VALUE_MAX 1024
#define LABELS_MAX 32

static bool no_controls(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

static bool metric_name_ok(const json_t *v)
{
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    return s && n == json_string_length(v) && n >= 1 && n <= METRIC_NAME_MAX && no_controls(s);
}

static bool one_of(const char *s, const char *const *set)
{
    for (; s && *set; set++)
        if (!strcmp(s, *set))
            return true;
    return false;
}

static void check_date(const json_t *spec, const char *key, const char *path, cw_issue_list *out)
{
    const json_t *v = json_object_get(spec, key);
    int64_t t;
    if (v && (!json_is_string(v) || !cw_date_parse(json_string_value(v), &t)))
        cw__issue(out, path, "must be a date (2025-06-30) or an RFC 3339 date-time");
}

static void check_duration(const json_t *obj, const char *key, const char *path,
                           cw_issue_list *out)
{
    const json_t *v = json_object_get(obj, key);
    int64_t ms;
    if (v && (!json_is_string(v) || !cw_duration_parse(json_string_value(v), &ms)))
        cw__issue(out, path, "must be a duration such as 7d, 12h, 1w or 90m");
}

static void check_text(const json_t *obj, const char *key, const char *path, cw_issue_list *out)
{
    const json_t *v = json_object_get(obj, key);
    if (v && (!json_is_string(v) || !*json_string_value(v)))
        cw__issue(out, path, "must be a non-empty string");
}

static void check_members(const json_t *obj, const char *path, const char *const *known,
                          cw_issue_list *out)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        if (!one_of(key, known)) {
            char clip[72];
            cw__clip(key, clip);
            cw__issue(out, path, "unknown member '%s'", clip);
        }
    }
}

/* spec.metric of Goals and Hypotheses: which series measures it. */
static void check_metric(const json_t *spec, const char *path, cw_issue_list *out)
{
    static const char *const members[] = {"name", "labels", "scope", "aggregate", "window", NULL};
    static const char *const aggs[] = {"last", "avg", "min", "max", "sum", "count", NULL};
    const json_t *m = json_object_get(spec, "metric");
    if (!m)
        return;
    char p[128];
    if (!json_is_object(m)) {
        cw__issue(out, path, "must be an object {name, labels, scope, aggregate, window}");
        return;
    }
    check_members(m, path, members, out);
    const json_t *name = json_object_get(m, "name");
    snprintf(p, sizeof p, "%s.name", path);
    if (!name)
        cw__issue(out, p, "required: the metric series that measures it");
    else if (!metric_name_ok(name))
        cw__issue(out, p, "must be a metric name: 1 to %d characters without control characters",
                  METRIC_NAME_MAX);
    const json_t *labels = json_object_get(m, "labels");
    snprintf(p, sizeof p, "%s.labels", path);
    if (labels && !json_is_object(labels)) {
        cw__issue(out, p, "must be an object of label names to strings");
    } else if (labels) {
        if (json_object_size(labels) > LABELS_MAX)
            cw__issue(out, p, "at most %d labels", LABELS_MAX);
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)labels, k, v) {
            char lp[256], clip[72];
            cw__clip(k, clip);
            snprintf(lp, sizeof lp, "%s.%s", p, clip);
            size_t kl = strlen(k);
            if (!kl || kl > METRIC_NAME_MAX || !no_controls(k) || !strncmp(k, "__", 2))
                cw__issue(out, lp, "not a label name (names starting with __ are reserved)");
            else if (!json_is_string(v) || json_string_length(v) > LABEL_VALUE_MAX ||
                     strlen(json_string_value(v)) != json_string_length(v))
                cw__issue(out, lp, "must be a string of at most %d bytes", LABEL_VALUE_MAX);
        }
    }
    const json_t *scope = json_object_get(m, "scope");
    snprintf(p, sizeof p, "%s.scope", path);
    cw_scope sc;
    if (scope && (!json_is_string(scope) || cw_scope_parse(json_string_value(scope), &sc, NULL)))
        cw__issue(out, p, "must be org or a Group, System or Component ref");
    else if (scope && json_object_get(labels, "scope"))
        cw__issue(out, p, "given twice (also as labels.scope)");
    const json_t *agg = json_object_get(m, "aggregate");
    snprintf(p, sizeof p, "%s.aggregate", path);
    if (agg && !one_of(json_string_value(agg), aggs))
        cw__issue(out, p, "must be one of last, avg, min, max, sum, count");
    snprintf(p, sizeof p, "%s.window", path);
    check_duration(m, "window", p, out);
}

static bool number_of(const json_t *obj, const char *key, double *out)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return true;
}

static const char *const directions[] = {"increase", "decrease", NULL};

void cw__goal_kind_check(const json_t *entity, const json_t *spec, const char *ns,
                         const struct cw_activity_set *activities, cw_issue_list *out)
{
    (void)entity;
    (void)ns;
    (void)activities;
    if (!spec)
        return;
    check_metric(spec, "spec.metric", out);
    double base = NAN, target = NAN;
    const json_t *b = json_object_get(spec, "baseline");
    if (b) {
        static const char *const members[] = {"value", "date", NULL};
        if (!json_is_object(b)) {
            cw__issue(out, "spec.baseline", "must be an object {value, date}");
        } else {
            check_members(b, "spec.baseline", members, out);
            if (!number_of(b, "value", &base))
                cw__issue(out, "spec.baseline.value", "required, a number");
            if (json_object_get(b, "date"))
                check_date(b, "date", "spec.baseline.date", out);
        }
    }
    const json_t *t = json_object_get(spec, "target");
    const char *dir = NULL;
    if (t) {
        static const char *const members[] = {"value", "direction", NULL};
        if (!json_is_object(t)) {
            cw__issue(out, "spec.target", "must be an object {value, direction}");
        } else {
            check_members(t, "spec.target", members, out);
            if (!number_of(t, "value", &target))
                cw__issue(out, "spec.target.value", "required, a number");
            dir = json_string_value(json_object_get(t, "direction"));
            if (!one_of(dir, directions)) {
                cw__issue(out, "spec.target.direction", "required: increase or decrease");
                dir = NULL;
            }
        }
    }
    if (dir && !isnan(base) && !isnan(target)) {
        bool up = !strcmp(dir, "increase");
        if (up ? target <= base : target >= base)
            cw__issue(out, "spec.target.value",
                      "a goal to %s from the baseline %g needs a target %s it, not %g", dir, base,
                      up ? "above" : "below", target);
    }
    check_date(spec, "deadline", "spec.deadline", out);
    int64_t bd, dl;
    const char *bds = json_string_value(json_object_get(b, "date"));
    const char *dls = json_string_value(json_object_get(spec, "deadline"));
    if (bds && dls && cw_date_parse(bds, &bd) && cw_date_parse(dls, &dl) && dl <= bd)
        cw__issue(out, "spec.deadline", "must be after the baseline's date (%s)", bds);
}

void cw__hypothesis_kind_check(const json_t *entity, const json_t *spec, const char *ns,
                               const struct cw_activity_set *activities, cw_issue_list *out)
{
    (void)entity;
    (void)ns;
    (void)activities;
    if (!spec)
        return;
    if (!json_object_get(spec, "change"))
        cw__issue(out, "spec.change", "required: the change believed to cause the outcome");
    if (!json_object_get(spec, "metric"))
        cw__issue(out, "spec.metric", "required: the metric series that will show the outcome");
    check_metric(spec, "spec.metric", out);
    check_date(spec, "changeAt", "spec.changeAt", out);
    check_text(spec, "artifact", "spec.artifact", out);
    if (!json_object_get(spec, "changeAt") && !json_object_get(spec, "artifact"))
        cw__issue(out, "spec.changeAt",
                  "required (or spec.artifact, whose first production deployment is the change)");
    const json_t *e = json_object_get(spec, "expected");
    if (!e) {
        cw__issue(out, "spec.expected", "required: {direction, size, unit}");
    } else if (!json_is_object(e)) {
        cw__issue(out, "spec.expected", "must be an object {direction, size, unit}");
    } else {
        static const char *const members[] = {"direction", "size", "unit", NULL};
        static const char *const units[] = {"relative", "absolute", NULL};
        check_members(e, "spec.expected", members, out);
        if (!one_of(json_string_value(json_object_get(e, "direction")), directions))
            cw__issue(out, "spec.expected.direction", "required: increase or decrease");
        double size;
        const json_t *sz = json_object_get(e, "size");
        if (sz && (!number_of(e, "size", &size) || !(size >= 0) || !isfinite(size)))
            cw__issue(out, "spec.expected.size", "must be a number of at least 0");
        const json_t *u = json_object_get(e, "unit");
        if (u && !one_of(json_string_value(u), units))
            cw__issue(out, "spec.expected.unit", "must be relative (0.2 = 20%%) or absolute");
    }
    check_duration(spec, "step", "spec.step", out);
    check_duration(spec, "windowBefore", "spec.windowBefore", out);
    check_duration(spec, "windowAfter", "spec.windowAfter", out);
    const json_t *a = json_object_get(spec, "alpha");
    double alpha;
    if (a && (!number_of(spec, "alpha", &alpha) || !(alpha > 0 && alpha <= 0.5)))
        cw__issue(out, "spec.alpha", "must be a number above 0 and at most 0.5 (default 0.05)");
}

static void check_option_name(const json_t *v, const json_t *names, const char *path,
                              cw_issue_list *out)
{
    const char *s = json_string_value(v);
    if (!s) {
        cw__issue(out, path, "must be the name of one of spec.options");
        return;
    }
    for (size_t i = 0; i < json_array_size(names); i++)
        if (!strcmp(s, json_string_value(json_array_get(names, i))))
            return;
    char clip[72];
    cw__clip(s, clip);
    cw__issue(out, path, "'%s' is not one of spec.options", clip);
}

void cw__decision_kind_check(const json_t *entity, const json_t *spec, const char *ns,
                             const struct cw_activity_set *activities, cw_issue_list *out)
{
    (void)entity;
    (void)ns;
    (void)activities;
    static const char *const statuses[] = {"proposed", "accepted", "superseded", "on-hold", NULL};
    static const char *const stances[] = {"for", "against", "neutral", NULL};
    static const char *const rings[] = {"adopt", "trial", "assess", "hold", NULL};
    if (!spec)
        return;
    char p[128];
    const char *status = json_string_value(json_object_get(spec, "status"));
    if (!one_of(status, statuses))
        cw__issue(out, "spec.status", "required: proposed, accepted, superseded or on-hold");
    /* option names, collected for the references below */
    json_t *names = json_array();
    const json_t *opts = json_object_get(spec, "options");
    if (opts && !json_is_array(opts))
        cw__issue(out, "spec.options", "must be an array of option names or {name, description}");
    for (size_t i = 0; i < json_array_size(opts); i++) {
        const json_t *o = json_array_get(opts, i);
        const json_t *name = json_is_object(o) ? json_object_get(o, "name") : o;
        snprintf(p, sizeof p, "spec.options[%zu]%s", i, json_is_object(o) ? ".name" : "");
        if (!json_is_string(name) || !*json_string_value(name)) {
            cw__issue(out, p, "must be a non-empty name");
            continue;
        }
        if (json_is_object(o)) {
            static const char *const members[] = {"name", "description", NULL};
            snprintf(p, sizeof p, "spec.options[%zu]", i);
            check_members(o, p, members, out);
            snprintf(p, sizeof p, "spec.options[%zu].description", i);
            check_text(o, "description", p, out);
        }
        for (size_t j = 0; j < json_array_size(names); j++)
            if (!strcmp(json_string_value(name), json_string_value(json_array_get(names, j)))) {
                char clip[72];
                cw__clip(json_string_value(name), clip);
                cw__issue(out, p, "'%s' is listed twice", clip);
            }
        json_array_append(names, (json_t *)name);
    }
    const json_t *chosen = json_object_get(spec, "chosen");
    if (chosen)
        check_option_name(chosen, names, "spec.chosen", out);
    else if (status && !strcmp(status, "accepted"))
        cw__issue(out, "spec.chosen", "required when the decision is accepted");
    const json_t *crit = json_object_get(spec, "criteria");
    if (crit && !json_is_array(crit))
        cw__issue(out, "spec.criteria", "must be an array of {name, weight, scores}");
    for (size_t i = 0; i < json_array_size(crit); i++) {
        const json_t *c = json_array_get(crit, i);
        static const char *const members[] = {"name", "weight", "scores", NULL};
        snprintf(p, sizeof p, "spec.criteria[%zu]", i);
        if (!json_is_object(c)) {
            cw__issue(out, p, "must be an object {name, weight, scores}");
            continue;
        }
        check_members(c, p, members, out);
        snprintf(p, sizeof p, "spec.criteria[%zu].name", i);
        if (!json_is_string(json_object_get(c, "name")) ||
            !*json_string_value(json_object_get(c, "name")))
            cw__issue(out, p, "required, a non-empty string");
        double w;
        snprintf(p, sizeof p, "spec.criteria[%zu].weight", i);
        if (json_object_get(c, "weight") && (!number_of(c, "weight", &w) || !(w > 0) || !isfinite(w)))
            cw__issue(out, p, "must be a number above 0 (default 1)");
        const json_t *sc = json_object_get(c, "scores");
        snprintf(p, sizeof p, "spec.criteria[%zu].scores", i);
        if (!json_is_object(sc)) {
            cw__issue(out, p, "required: an object of option names to numbers");
            continue;
        }
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)sc, k, v) {
            char clip[72], sp[256];
            cw__clip(k, clip);
            snprintf(sp, sizeof sp, "%s.%s", p, clip);
            json_t *kj = json_string(k);
            check_option_name(kj, names, sp, out);
            json_decref(kj);
            if (!json_is_number(v) || !isfinite(json_number_value(v)))
                cw__issue(out, sp, "must be a number");
        }
    }
    const json_t *ev = json_object_get(spec, "evidence");
    if (ev && !json_is_array(ev))
        cw__issue(out, "spec.evidence", "must be an array of {url, title, option, stance}");
    for (size_t i = 0; i < json_array_size(ev); i++) {
        const json_t *e = json_array_get(ev, i);
        static const char *const members[] = {"url", "title", "option", "stance", NULL};
        snprintf(p, sizeof p, "spec.evidence[%zu]", i);
        if (!json_is_object(e)) {
            cw__issue(out, p, "must be an object {url, title, option, stance}");
            continue;
        }
        check_members(e, p, members, out);
        const char *url = json_string_value(json_object_get(e, "url"));
        snprintf(p, sizeof p, "spec.evidence[%zu].url", i);
        if (!url || (strncasecmp(url, "https://", 8) && strncasecmp(url, "http://", 7)) ||
            !no_controls(url) || strlen(url) > 2048)
            cw__issue(out, p, "required: an http(s) URL");
        snprintf(p, sizeof p, "spec.evidence[%zu].title", i);
        check_text(e, "title", p, out);
        snprintf(p, sizeof p, "spec.evidence[%zu].stance", i);
        if (!one_of(json_string_value(json_object_get(e, "stance")), stances))
            cw__issue(out, p, "required: for, against or neutral (about the option)");
        snprintf(p, sizeof p, "spec.evidence[%zu].option", i);
        const json_t *o = json_object_get(e, "option");
        if (o)
            check_option_name(o, names, p, out);
    }
    const json_t *tools = json_object_get(spec, "tools");
    if (tools && !json_is_array(tools))
        cw__issue(out, "spec.tools", "must be an array of tool names or {name, status}");
    for (size_t i = 0; i < json_array_size(tools); i++) {
        const json_t *t = json_array_get(tools, i);
        const json_t *name = json_is_object(t) ? json_object_get(t, "name") : t;
        snprintf(p, sizeof p, "spec.tools[%zu]%s", i, json_is_object(t) ? ".name" : "");
        if (!json_is_string(name) || !*json_string_value(name) || json_string_length(name) > 200)
            cw__issue(out, p, "must be a tool name (1 to 200 characters)");
        if (json_is_object(t)) {
            static const char *const members[] = {"name", "status", NULL};
            snprintf(p, sizeof p, "spec.tools[%zu]", i);
            check_members(t, p, members, out);
            snprintf(p, sizeof p, "spec.tools[%zu].status", i);
            const json_t *st = json_object_get(t, "status");
            if (st && !one_of(json_string_value(st), rings))
                cw__issue(out, p, "must be adopt, trial, assess or hold");
        }
    }
    check_date(spec, "date", "spec.date", out);
    json_decref(names);
}

void cw__kpi_kind_check(const json_t *entity, const json_t *spec, const char *ns,
                        const struct cw_activity_set *activities, cw_issue_list *out)
{
    (void)ns;
    (void)activities;
    static const char *const sources[] = {"prometheus", "push", NULL};
    if (!spec)
        return;
    const char *source = json_string_value(json_object_get(spec, "source"));
    if (!one_of(source, sources))
        cw__issue(out, "spec.source", "required: prometheus (conway queries it) or push "
                                      "(samples are POSTed to /api/v1/metrics)");
    const json_t *q = json_object_get(spec, "query");
    if (source && !strcmp(source, "prometheus") && !q)
        cw__issue(out, "spec.query", "required: the PromQL expression conway asks Prometheus");
    if (q && (!json_is_string(q) || !*json_string_value(q) || json_string_length(q) > 8192 ||
              strlen(json_string_value(q)) != json_string_length(q)))
        cw__issue(out, "spec.query", "must be a PromQL expression of at most 8192 bytes");
    check_duration(spec, "step", "spec.step", out);
    check_duration(spec, "interval", "spec.interval", out);
    check_duration(spec, "lookback", "spec.lookback", out);
    const json_t *m = json_object_get(spec, "metric");
    if (m && !metric_name_ok(m))
        cw__issue(out, "spec.metric", "must be a metric name: 1 to %d characters without control "
                                      "characters", METRIC_NAME_MAX);
    else if (m && !strncmp(json_string_value(m), "conway_", 7))
        cw__issue(out, "spec.metric", "names starting with conway_ are conway's own series");
    char name[201];
    cw_kpi_metric_name(entity, name);
    if (!m && !strncmp(name, "conway_", 7))
        cw__issue(out, "spec.metric", "required: the KPI's name would make a conway_ series name");
    check_text(spec, "unit", "spec.unit", out);
}

void cw_kpi_metric_name(const json_t *kpi, char out[201])
{
    const char *m = json_string_value(json_object_get(json_object_get(kpi, "spec"), "metric"));
    const char *n = json_string_value(json_object_get(json_object_get(kpi, "metadata"), "name"));
    snprintf(out, 201, "%s", m ? m : n ? n : "");
    if (m)
        return;
    for (char *p = out; *p; p++)
        if (*p == '-' || *p == '.')
            *p = '_';
}
