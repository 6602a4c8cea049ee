/*
 * strategy.c — goal status, S.M.A.R.T. findings, hypothesis verdicts and
 * decision findings (strategy.h). Every number a status or verdict rests
 * on goes into its JSON detail, so a reader can redo the sum.
 */
#include "insights/strategy.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "util/duration.h"
#include "util/timeutil.h"

#define DAY_MS 86400000.0
#define DEFAULT_WINDOW_MS (14 * 86400000LL)
#define MIN_OBSERVATIONS 3

const char *const cw_strategy_rules[CW_STRATEGY_NRULES] = {
    "decision-no-counter-evidence", "decision-not-best-scored", "decision-single-option",
    "goal-not-smart", "tool-on-hold",
};

static const char *const status_names[CW_GOAL_NSTATUS] = {"unknown",  "on-track", "at-risk",
                                                          "off-track", "achieved", "missed"};

const char *cw_goal_status_name(cw_goal_status s)
{
    return (unsigned)s < CW_GOAL_NSTATUS ? status_names[s] : "unknown";
}

const char *cw_verdict_name(cw_verdict v)
{
    return v == CW_VERDICT_SUPPORTED ? "supported" : v == CW_VERDICT_REFUTED ? "refuted"
                                                                             : "inconclusive";
}

static const json_t *spec_of(const json_t *e) { return json_object_get(e, "spec"); }

static bool date_of(const json_t *obj, const char *key, int64_t *out)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s && cw_date_parse(s, out);
}

static bool duration_of(const json_t *obj, const char *key, int64_t *out)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s && cw_duration_parse(s, out);
}

/* "component:default/Name" of an entity, "" when it has none. */
static void ref_of(const json_t *e, char out[CW_REF_MAX])
{
    cw_ref r;
    out[0] = '\0';
    if (cw_entity_ref(e, &r, NULL) == CW_OK)
        cw_ref_format(&r, out);
}

/* The owner ref of an entity in display form (kind Group by default). */
static bool owner_of(const json_t *e, char out[CW_REF_MAX])
{
    const char *o = json_string_value(json_object_get(spec_of(e), "owner"));
    const char *ns = json_string_value(json_object_get(json_object_get(e, "metadata"), "namespace"));
    cw_ref r;
    if (!o || cw_ref_parse(o, "Group", ns, &r, NULL) != CW_OK)
        return false;
    cw_ref_format(&r, out);
    return true;
}

static json_t *finding(const char *rule, const json_t *about, const char *extra_key,
                       json_t *extra_value, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static json_t *finding(const char *rule, const json_t *about, const char *extra_key,
                       json_t *extra_value, const char *fmt, ...)
{
    char ref[CW_REF_MAX], owner[CW_REF_MAX], detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    ref_of(about, ref);
    json_t *f = json_pack("{s:s, s:s, s:s, s:s}", "rule", rule, "severity", "warning", "entityRef",
                          ref, "detail", detail);
    if (f && owner_of(about, owner))
        json_object_set_new(f, "owner", json_string(owner));
    if (f && extra_key)
        json_object_set_new(f, extra_key, extra_value);
    else
        json_decref(extra_value);
    return f;
}

/* ---- goals ------------------------------------------------------------------------------- */

void cw_goal_numbers_read(const json_t *goal, cw_goal_numbers *out)
{
    memset(out, 0, sizeof *out);
    const json_t *spec = spec_of(goal);
    const json_t *b = json_object_get(spec, "baseline");
    const json_t *bv = json_object_get(b, "value");
    if (json_is_number(bv)) {
        out->has_baseline = true;
        out->baseline = json_number_value(bv);
    }
    out->has_baseline_date = date_of(b, "date", &out->baseline_ms);
    const json_t *t = json_object_get(spec, "target");
    const json_t *tv = json_object_get(t, "value");
    const char *dir = json_string_value(json_object_get(t, "direction"));
    if (json_is_number(tv) && dir) {
        out->has_target = true;
        out->target = json_number_value(tv);
        out->increase = strcmp(dir, "decrease") != 0;
    }
    out->has_deadline = date_of(spec, "deadline", &out->deadline_ms);
    duration_of(json_object_get(spec, "metric"), "window", &out->window_ms);
}

static bool meets(const cw_goal_numbers *g, double v)
{
    return g->increase ? v >= g->target : v <= g->target;
}

static void fmt_time(int64_t ms, char out[32]) { cw_time_format_compact(ms, out); }

static void fmt_day(int64_t ms, char out[16]) { cw_day_format(cw_day_of_ms(ms), out); }

cw_err cw_goal_evaluate(const cw_goal_numbers *g, const cw_metric_point *pts, size_t n,
                        int64_t now_ms, cw_goal_status *status, json_t **projection)
{
    *status = CW_GOAL_UNKNOWN;
    *projection = NULL;
    double *xs = malloc((n + 1) * sizeof *xs), *ys = malloc((n + 1) * sizeof *ys);
    int64_t *ts = malloc((n + 1) * sizeof *ts);
    json_t *p = json_object();
    if (!xs || !ys || !ts || !p) {
        free(xs);
        free(ys);
        free(ts);
        json_decref(p);
        return CW_ERR_NOMEM;
    }
    int64_t until = g->has_deadline && g->deadline_ms < now_ms ? g->deadline_ms : now_ms;
    /* the points that count: since the baseline's date, up to now/deadline,
     * smoothed over the window */
    size_t k = 0;
    size_t lo = 0;
    double run = 0;
    for (size_t i = 0; i < n; i++) {
        run += pts[i].value;
        while (g->window_ms > 0 && pts[lo].time_ms <= pts[i].time_ms - g->window_ms)
            run -= pts[lo++].value;
        if (g->window_ms <= 0) {
            run = pts[i].value;
            lo = i;
        }
        if ((g->has_baseline_date && pts[i].time_ms < g->baseline_ms) || pts[i].time_ms > until)
            continue;
        ts[k] = pts[i].time_ms;
        ys[k] = run / (double)(i - lo + 1);
        k++;
    }
    char t1[32], t2[32];
    cw_goal_status st = CW_GOAL_UNKNOWN;
    const char *method = "none";
    char reason[400];
    json_object_set_new(p, "points", json_integer((json_int_t)k));
    if (!g->has_target) {
        snprintf(reason, sizeof reason, "no target: spec.target {value, direction} is missing");
        goto done;
    }
    if (k) {
        fmt_time(ts[k - 1], t1);
        json_object_set_new(p, "current", json_pack("{s:s, s:f}", "time", t1, "value", ys[k - 1]));
    }
    if (k && meets(g, ys[k - 1])) {
        st = CW_GOAL_ACHIEVED;
        method = "latest value";
        snprintf(reason, sizeof reason, "the latest value, %g on %.10s, meets the target %g", ys[k - 1],
                 t1, g->target);
        goto done;
    }
    if (g->has_deadline && now_ms >= g->deadline_ms) {
        st = CW_GOAL_MISSED;
        method = "latest value";
        fmt_day(g->deadline_ms, t2);
        if (k)
            snprintf(reason, sizeof reason,
                     "the deadline %s has passed; the latest value before it, %g, does not meet "
                     "the target %g",
                     t2, ys[k - 1], g->target);
        else
            snprintf(reason, sizeof reason, "the deadline %s has passed without data", t2);
        goto done;
    }
    if (!k) {
        snprintf(reason, sizeof reason, "no data yet");
        goto done;
    }
    if (!g->has_deadline) {
        snprintf(reason, sizeof reason, "no deadline to project the trend to");
        goto done;
    }
    /* the trend; the baseline counts as a point when fewer than two */
    size_t m = k;
    int64_t t0 = g->has_baseline_date ? g->baseline_ms : ts[0];
    if (m < 2 && g->has_baseline && g->has_baseline_date && g->baseline_ms < ts[0]) {
        memmove(ts + 1, ts, m * sizeof *ts);
        memmove(ys + 1, ys, m * sizeof *ys);
        ts[0] = g->baseline_ms;
        ys[0] = g->baseline;
        m++;
    }
    for (size_t i = 0; i < m; i++)
        xs[i] = (double)(ts[i] - t0) / DAY_MS;
    cw_linfit fit;
    if (!cw_least_squares(xs, ys, m, &fit)) {
        snprintf(reason, sizeof reason, "one point so far: no trend yet");
        goto done;
    }
    method = "least-squares";
    double xd = (double)(g->deadline_ms - t0) / DAY_MS;
    double projected = fit.intercept + fit.slope * xd;
    double start = g->has_baseline ? g->baseline : fit.intercept;
    double gap = g->target - start;
    double progress;
    if (g->increase ? gap > 0 : gap < 0)
        progress = (projected - start) / gap;
    else
        progress = meets(g, projected) ? 1 : 0;
    fmt_day(g->deadline_ms, t2);
    json_object_set_new(p, "pointsFitted", json_integer((json_int_t)m));
    json_object_set_new(p, "slopePerDay", json_real(fit.slope));
    json_object_set_new(p, "projectedValue", json_real(projected));
    json_object_set_new(p, "projectedAt", json_string(t2));
    json_object_set_new(p, "start", json_real(start));
    json_object_set_new(p, "progress", json_real(progress));
    if (g->deadline_ms > t0) {
        double planned = start + gap * (double)(now_ms - t0) / (double)(g->deadline_ms - t0);
        json_object_set_new(p, "planned", json_real(planned));
    }
    if (meets(g, projected)) {
        st = CW_GOAL_ON_TRACK;
        snprintf(reason, sizeof reason,
                 "the trend of %zu points reaches %g by %s, meeting the target %g", m, projected, t2,
                 g->target);
    } else if (progress >= 0.5) {
        st = CW_GOAL_AT_RISK;
        snprintf(reason, sizeof reason,
                 "the trend of %zu points reaches %g by %s: %.0f%% of the way from %g to the "
                 "target %g",
                 m, projected, t2, progress * 100, start, g->target);
    } else {
        st = CW_GOAL_OFF_TRACK;
        snprintf(reason, sizeof reason,
                 "the trend of %zu points reaches only %g by %s: %.0f%% of the way from %g to "
                 "the target %g",
                 m, projected, t2, progress * 100, start, g->target);
    }
done:
    json_object_set_new(p, "method", json_string(method));
    json_object_set_new(p, "reason", json_string(reason));
    free(xs);
    free(ys);
    free(ts);
    *status = st;
    *projection = p;
    return CW_OK;
}

cw_err cw_goal_smart_findings(const json_t *goal, const char *entity_ref, int64_t created_ms,
                              bool has_data, json_t *findings)
{
    (void)entity_ref;
    const json_t *spec = spec_of(goal);
    json_t *add[6] = {NULL};
    size_t na = 0;
#define LETTER(l, ...) (add[na++] = finding("goal-not-smart", goal, "letter", json_string(l), __VA_ARGS__))
    if (!json_is_string(json_object_get(spec, "statement")))
        LETTER("S", "not specific: spec.statement is missing: say in words what is to change");
    if (!json_object_get(spec, "metric"))
        LETTER("M", "not measurable: spec.metric is missing: name the series that measures it");
    else if (!json_object_get(spec, "target"))
        LETTER("M", "not measurable: spec.target is missing: the value that counts as done");
    else if (!has_data)
        LETTER("M", "not measurable: the metric %.200s has no data",
               json_string_value(json_object_get(json_object_get(spec, "metric"), "name")));
    if (!json_object_get(spec, "owner"))
        LETTER("A", "not achievable: spec.owner is missing: who will achieve it");
    if (!json_array_size(json_object_get(spec, "stakeholders")))
        LETTER("R", "not relevant: spec.stakeholders is empty: who it matters to");
    int64_t deadline;
    if (!date_of(spec, "deadline", &deadline)) {
        LETTER("T", "not time-bound: spec.deadline is missing");
    } else if (created_ms && deadline <= created_ms) {
        char dd[16], cd[16];
        fmt_day(deadline, dd);
        fmt_day(created_ms, cd);
        LETTER("T", "not time-bound: the deadline %s was not in the future when the goal was "
                    "created (%s)",
               dd, cd);
    }
#undef LETTER
    cw_err err = CW_OK;
    for (size_t i = 0; i < na; i++)
        if (!add[i] || json_array_append_new(findings, add[i]))
            err = CW_ERR_NOMEM;
    return err;
}

/* ---- hypotheses ---------------------------------------------------------------------------- */

void cw_hypothesis_numbers_read(const json_t *hyp, cw_hypothesis_numbers *out)
{
    memset(out, 0, sizeof *out);
    const json_t *spec = spec_of(hyp);
    const json_t *e = json_object_get(spec, "expected");
    const char *dir = json_string_value(json_object_get(e, "direction"));
    out->increase = !dir || strcmp(dir, "decrease") != 0;
    const json_t *sz = json_object_get(e, "size");
    out->size = json_is_number(sz) ? json_number_value(sz) : 0;
    const char *unit = json_string_value(json_object_get(e, "unit"));
    out->relative = !unit || strcmp(unit, "absolute") != 0;
    const json_t *a = json_object_get(spec, "alpha");
    out->alpha = json_is_number(a) ? json_number_value(a) : 0.05;
    if (!date_of(spec, "changeAt", &out->change_ms))
        out->change_ms = 0;
    if (!duration_of(spec, "windowBefore", &out->before_ms))
        out->before_ms = DEFAULT_WINDOW_MS;
    if (!duration_of(spec, "windowAfter", &out->after_ms))
        out->after_ms = DEFAULT_WINDOW_MS;
    if (!duration_of(spec, "step", &out->step_ms))
        out->step_ms = (int64_t)DAY_MS;
}

static json_t *test_json(const cw_mwu *t)
{
    return json_pack("{s:s, s:I, s:I, s:f, s:b, s:b, s:f, s:f, s:f}", "name", "mann-whitney-u",
                     "nBefore", (json_int_t)t->n2, "nAfter", (json_int_t)t->n1, "u", t->u, "exact",
                     t->exact, "ties", t->ties, "pGreater", t->p_greater, "pLess", t->p_less,
                     "pTwoSided", t->p_two_sided);
}

cw_err cw_hypothesis_evaluate(const cw_hypothesis_numbers *h, const double *before, size_t nb,
                              const double *after, size_t na, int64_t now_ms, cw_verdict *verdict,
                              json_t **detail)
{
    *verdict = CW_VERDICT_INCONCLUSIVE;
    *detail = NULL;
    json_t *d = json_pack("{s:I, s:I, s:f}", "nBefore", (json_int_t)nb, "nAfter", (json_int_t)na,
                          "alpha", h->alpha);
    if (!d)
        return CW_ERR_NOMEM;
    char reason[512], t[32];
    cw_verdict v = CW_VERDICT_INCONCLUSIVE;
    double *b = NULL, *a = NULL, *shifted = NULL;
    cw_err err = CW_OK;
    if (!h->change_ms) {
        snprintf(reason, sizeof reason,
                 "the change time is unknown: give spec.changeAt, or an spec.artifact that "
                 "reached production");
        goto done;
    }
    if (now_ms < h->change_ms + h->after_ms) {
        fmt_time(h->change_ms + h->after_ms, t);
        snprintf(reason, sizeof reason, "collecting: the window after the change ends on %s", t);
        goto done;
    }
    if (nb < MIN_OBSERVATIONS || na < MIN_OBSERVATIONS) {
        snprintf(reason, sizeof reason,
                 "too little data: %zu observations before the change and %zu after (at least %d "
                 "each)",
                 nb, na, MIN_OBSERVATIONS);
        goto done;
    }
    b = malloc(nb * sizeof *b);
    a = malloc(na * sizeof *a);
    shifted = malloc(na * sizeof *shifted);
    if (!a || !b || !shifted) {
        err = CW_ERR_NOMEM;
        goto done;
    }
    memcpy(b, before, nb * sizeof *b);
    memcpy(a, after, na * sizeof *a);
    double hl = cw_hodges_lehmann(after, na, before, nb);
    double med_b = cw_median(b, nb), med_a = cw_median(a, na);
    double expected = h->relative ? h->size * fabs(med_b) : h->size;
    double sign = h->increase ? 1 : -1;
    cw_mwu test, shortfall;
    if (cw_mann_whitney(after, na, before, nb, &test)) {
        err = CW_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < na; i++)
        shifted[i] = after[i] - sign * expected;
    if (cw_mann_whitney(shifted, na, before, nb, &shortfall)) {
        err = CW_ERR_NOMEM;
        goto done;
    }
    double p_dir = h->increase ? test.p_greater : test.p_less;
    double p_short = h->increase ? shortfall.p_less : shortfall.p_greater;
    json_t *tj = test_json(&test);
    json_object_set_new(tj, "pExpectedDirection", json_real(p_dir));
    json_object_set_new(tj, "pShortOfExpected", json_real(p_short));
    json_object_set_new(d, "test", tj);
    json_t *eff = json_pack("{s:f, s:f, s:f, s:f, s:f, s:f}", "beforeMedian", med_b, "afterMedian",
                            med_a, "shift", hl, "expectedShift", sign * expected,
                            "probabilityOfSuperiority", test.prob_superiority, "rankBiserial",
                            test.rank_biserial);
    if (eff)
        json_object_set_new(eff, "relativeShift", med_b != 0 ? json_real(hl / fabs(med_b)) : json_null());
    json_object_set_new(d, "effect", eff);
    const char *dir = h->increase ? "higher" : "lower";
    if (p_dir < h->alpha && sign * hl >= expected) {
        v = CW_VERDICT_SUPPORTED;
        snprintf(reason, sizeof reason,
                 "after the change the metric is %s (median %g, was %g; typical shift %+g, "
                 "expected %+g), and a difference this large would happen by chance with "
                 "probability %.3g < %g",
                 dir, med_a, med_b, hl, sign * expected, p_dir, h->alpha);
    } else if (p_short < h->alpha) {
        v = CW_VERDICT_REFUTED;
        snprintf(reason, sizeof reason,
                 "the shift after the change (%+g; median %g, was %g) is clearly short of the "
                 "expected %+g: probability %.3g < %g that it is only bad luck",
                 hl, med_a, med_b, sign * expected, p_short, h->alpha);
    } else {
        snprintf(reason, sizeof reason,
                 "no clear answer yet: the shift is %+g (median %g, was %g; expected %+g); "
                 "probability %.3g that it is chance (needs < %g), so collect more data or "
                 "widen the windows",
                 hl, med_a, med_b, sign * expected, p_dir, h->alpha);
    }
done:
    free(a);
    free(b);
    free(shifted);
    if (err) {
        json_decref(d);
        return err;
    }
    json_object_set_new(d, "verdict", json_string(cw_verdict_name(v)));
    json_object_set_new(d, "reason", json_string(reason));
    *verdict = v;
    *detail = d;
    return CW_OK;
}

/* ---- decisions ---------------------------------------------------------------------------- */

static const char *option_name(const json_t *o)
{
    return json_is_object(o) ? json_string_value(json_object_get(o, "name")) : json_string_value(o);
}

json_t *cw_decision_options(const json_t *decision)
{
    const json_t *spec = spec_of(decision);
    const json_t *opts = json_object_get(spec, "options");
    const char *chosen = json_string_value(json_object_get(spec, "chosen"));
    const json_t *crit = json_object_get(spec, "criteria");
    json_t *out = json_array();
    for (size_t i = 0; out && i < json_array_size(opts); i++) {
        const char *name = option_name(json_array_get(opts, i));
        if (!name)
            continue;
        double sum = 0, wsum = 0;
        for (size_t c = 0; c < json_array_size(crit); c++) {
            const json_t *cr = json_array_get(crit, c);
            const json_t *w = json_object_get(cr, "weight");
            const json_t *s = json_object_get(json_object_get(cr, "scores"), name);
            if (!json_is_number(s))
                continue;
            double wv = json_is_number(w) ? json_number_value(w) : 1;
            sum += wv * json_number_value(s);
            wsum += wv;
        }
        json_t *o = json_pack("{s:s, s:b}", "name", name, "chosen", chosen && !strcmp(chosen, name));
        if (o && wsum > 0)
            json_object_set_new(o, "score", json_real(sum / wsum));
        json_array_append_new(out, o);
    }
    return out;
}

/* Whether text names tool as a whole word, ignoring case. */
static bool names_tool(const char *text, const char *tool)
{
    size_t tl = strlen(tool);
    for (const char *p = text; p && *p; p++) {
        if (strncasecmp(p, tool, tl))
            continue;
        bool left = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        bool right = !(isalnum((unsigned char)p[tl]) || p[tl] == '_');
        if (left && right)
            return true;
    }
    return false;
}

/* How component c uses tool ("tag", "annotation <key>"), or NULL. */
static const char *uses_tool(const json_t *c, const char *tool, char *how, size_t cap)
{
    const json_t *md = json_object_get(c, "metadata");
    const json_t *tags = json_object_get(md, "tags");
    for (size_t i = 0; i < json_array_size(tags); i++) {
        const char *t = json_string_value(json_array_get(tags, i));
        if (t && !strcasecmp(t, tool)) {
            snprintf(how, cap, "tag %s", t);
            return how;
        }
    }
    const char *k;
    const json_t *v;
    json_object_foreach(json_object_get(md, "annotations"), k, v) {
        if (names_tool(json_string_value(v), tool)) {
            snprintf(how, cap, "annotation %.100s", k);
            return how;
        }
    }
    return NULL;
}

static cw_err decision_own_findings(const json_t *dec, json_t *findings)
{
    const json_t *spec = spec_of(dec);
    const char *status = json_string_value(json_object_get(spec, "status"));
    if (status && !strcmp(status, "superseded"))
        return CW_OK; /* history: nobody acts on it any more */
    json_t *opts = cw_decision_options(dec);
    if (!opts)
        return CW_ERR_NOMEM;
    cw_err err = CW_OK;
    json_t *f = NULL;
    size_t nopts = json_array_size(opts);
    if (nopts < 2) {
        f = finding("decision-single-option", dec, NULL, NULL,
                    nopts ? "only one option (%.100s) was weighed: a decision needs alternatives"
                          : "no options were weighed%s: a decision needs at least two",
                    nopts ? json_string_value(json_object_get(json_array_get(opts, 0), "name")) : "");
        if (!f || json_array_append_new(findings, f))
            err = CW_ERR_NOMEM;
    }
    const char *chosen = json_string_value(json_object_get(spec, "chosen"));
    if (!err && chosen) {
        bool against = false;
        const json_t *ev = json_object_get(spec, "evidence");
        for (size_t i = 0; i < json_array_size(ev); i++) {
            const json_t *e = json_array_get(ev, i);
            const char *o = json_string_value(json_object_get(e, "option"));
            const char *s = json_string_value(json_object_get(e, "stance"));
            if (o && s && !strcmp(o, chosen) && !strcmp(s, "against"))
                against = true;
        }
        if (!against) {
            f = finding("decision-no-counter-evidence", dec, "option", json_string(chosen),
                        "no evidence against the chosen option %.100s: look for the strongest "
                        "case against it before committing (confirmation bias)",
                        chosen);
            if (!f || json_array_append_new(findings, f))
                err = CW_ERR_NOMEM;
        }
        /* the chosen option's score against the best other one */
        double mine = NAN, best = NAN;
        const char *best_name = NULL;
        for (size_t i = 0; i < nopts; i++) {
            const json_t *o = json_array_get(opts, i);
            const json_t *s = json_object_get(o, "score");
            if (!json_is_number(s))
                continue;
            double x = json_number_value(s);
            if (json_is_true(json_object_get(o, "chosen")))
                mine = x;
            else if (isnan(best) || x > best) {
                best = x;
                best_name = json_string_value(json_object_get(o, "name"));
            }
        }
        if (!err && !isnan(mine) && !isnan(best) && best > mine) {
            f = finding("decision-not-best-scored", dec, "option", json_string(best_name),
                        "the chosen option %.100s scores %.3g on the decision's own criteria, "
                        "below %.100s (%.3g): say why, or reconsider",
                        chosen, mine, best_name, best);
            if (!f || json_array_append_new(findings, f))
                err = CW_ERR_NOMEM;
        }
    }
    json_decref(opts);
    return err;
}

cw_err cw_decision_findings(json_t *const *decisions, size_t nd, json_t *const *components,
                            size_t nc, json_t *findings)
{
    cw_err err = CW_OK;
    for (size_t i = 0; i < nd && !err; i++) {
        const json_t *dec = decisions[i];
        err = decision_own_findings(dec, findings);
        const json_t *spec = spec_of(dec);
        const char *status = json_string_value(json_object_get(spec, "status"));
        if (err || !status || strcmp(status, "accepted"))
            continue;
        const json_t *tools = json_object_get(spec, "tools");
        char dref[CW_REF_MAX];
        ref_of(dec, dref);
        for (size_t t = 0; t < json_array_size(tools) && !err; t++) {
            const json_t *tool = json_array_get(tools, t);
            const char *ring = json_string_value(json_object_get(tool, "status"));
            const char *name = option_name(tool);
            if (!name || !ring || strcmp(ring, "hold"))
                continue;
            for (size_t c = 0; c < nc && !err; c++) {
                char how[160];
                if (!uses_tool(components[c], name, how, sizeof how))
                    continue;
                json_t *f = finding("tool-on-hold", components[c], "decision", json_string(dref),
                                    "uses %.100s (%s), which %s put on hold", name, how, dref);
                if (f)
                    json_object_set_new(f, "tool", json_string(name));
                if (!f || json_array_append_new(findings, f))
                    err = CW_ERR_NOMEM;
            }
        }
    }
    return err;
}

static int cmp_finding(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    static const char *const keys[] = {"rule", "entityRef", "detail"};
    for (size_t i = 0; i < 3; i++) {
        const char *s = json_string_value(json_object_get(x, keys[i]));
        const char *t = json_string_value(json_object_get(y, keys[i]));
        int c = strcmp(s ? s : "", t ? t : "");
        if (c)
            return c;
    }
    return 0;
}

void cw_strategy_sort_findings(json_t *findings)
{
    size_t n = json_array_size(findings);
    json_t **v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return; /* unsorted, still complete */
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(findings, i));
    qsort(v, n, sizeof *v, cmp_finding);
    json_array_clear(findings);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(findings, v[i]);
    free(v);
}
