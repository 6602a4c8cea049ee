/*
 * strategy_data.c — the strategy of a scope, assembled from the catalog,
 * the metric series and the strategy insight (strategy_data.h). Reads:
 * one catalog scan of the strategy kinds and Components, the creation
 * times of Goals, one series query per Goal (two per Hypothesis), and —
 * only when a Hypothesis names an artifact — the organisation's
 * deployments to find when it reached production.
 */
#include "http/strategy_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "catalog/scope.h"
#include "catalog/strategy.h"
#include "insights/dora.h"
#include "insights/strategy.h"
#include "store/store_metrics.h"
#include "store/store_scan.h"
#include "util/duration.h"
#include "util/timeutil.h"

#define DAY_MS 86400000LL
#define MAX_GOAL_DAYS 3650

typedef struct {
    const cw_strategy_ctx *c;
    json_t *all;                 /* the scanned entities */
    cw_entity_time *times;       /* Goals' creation times, by key */
    size_t ntimes;
    cw_delivery_data dd;         /* org deployments, for artifacts (lazy) */
    bool dd_loaded;
} loader;

static const char *const kinds[] = {"Goal", "Hypothesis", "Decision", "KPI", "Component"};

static const json_t *spec_of(const json_t *e) { return json_object_get(e, "spec"); }

static const char *kind_of(const json_t *e) { return json_string_value(json_object_get(e, "kind")); }

static const char *ns_of(const json_t *e)
{
    const char *ns = json_string_value(json_object_get(json_object_get(e, "metadata"), "namespace"));
    return ns ? ns : CW_DEFAULT_NAMESPACE;
}

static void key_of(const json_t *e, char out[CW_REF_MAX])
{
    cw_ref r;
    out[0] = '\0';
    if (cw_entity_ref(e, &r, NULL) == CW_OK)
        cw_ref_key(&r, out);
}

static void display_ref(const json_t *e, char out[CW_REF_MAX])
{
    cw_ref r;
    out[0] = '\0';
    if (cw_entity_ref(e, &r, NULL) == CW_OK)
        cw_ref_format(&r, out);
}

/* The key of a ref field of e's spec (default kind dk), "" when absent. */
static void field_key(const json_t *e, const char *field, const char *dk, char out[CW_REF_MAX])
{
    const char *v = json_string_value(json_object_get(spec_of(e), field));
    cw_ref r;
    out[0] = '\0';
    if (v && cw_ref_parse(v, dk, ns_of(e), &r, NULL) == CW_OK)
        cw_ref_key(&r, out);
}

/* The display ref of a ref field, or NULL JSON. */
static json_t *field_ref(const json_t *e, const char *field, const char *dk)
{
    const char *v = json_string_value(json_object_get(spec_of(e), field));
    cw_ref r;
    char out[CW_REF_MAX];
    if (!v || cw_ref_parse(v, dk, ns_of(e), &r, NULL) != CW_OK)
        return json_null();
    cw_ref_format(&r, out);
    return json_string(out);
}

/* The metric scope of a Goal/Hypothesis ("org" or an entity key), "" when none. */
static void metric_scope(const json_t *e, char out[CW_REF_MAX])
{
    const json_t *m = json_object_get(spec_of(e), "metric");
    const char *s = json_string_value(json_object_get(m, "scope"));
    if (!s)
        s = json_string_value(json_object_get(json_object_get(m, "labels"), "scope"));
    cw_scope sc;
    out[0] = '\0';
    if (s && cw_scope_parse(s, &sc, NULL) == CW_OK)
        snprintf(out, CW_REF_MAX, "%s", sc.kind == CW_SCOPE_ORG ? "org" : sc.key);
}

cw_err cw_strategy_scope_parse(const char *text, char key_out[CW_REF_MAX], char kind_out[32],
                               cw_diag *d)
{
    key_out[0] = kind_out[0] = '\0';
    if (!text || !strcmp(text, "org"))
        return CW_OK;
    cw_ref r;
    if (cw_ref_parse(text, "Group", CW_DEFAULT_NAMESPACE, &r, d))
        return CW_ERR_INVALID;
    if (strcasecmp(r.kind, "Group") && strcasecmp(r.kind, "System") &&
        strcasecmp(r.kind, "Domain") && strcasecmp(r.kind, "Component"))
        return cw_fail(d, CW_ERR_INVALID,
                       "scope: must be org or a Group, System, Domain or Component ref, not kind %s",
                       r.kind);
    cw_ref_key(&r, key_out);
    const char *canon = cw_kind_canonical(r.kind);
    snprintf(kind_out, 32, "%.31s", canon ? canon : "");
    return CW_OK;
}

/* Whether e belongs to the scope (see strategy_data.h). */
static bool in_scope(const json_t *e, const char *scope_key)
{
    if (!*scope_key)
        return true;
    char k[CW_REF_MAX];
    field_key(e, "owner", "Group", k);
    if (!strcmp(k, scope_key))
        return true;
    const char *kind = kind_of(e);
    if (kind && !strcmp(kind, "Decision")) {
        field_key(e, "system", "System", k);
        if (!strcmp(k, scope_key))
            return true;
        field_key(e, "domain", "Domain", k);
        return !strcmp(k, scope_key);
    }
    if (kind && !strcmp(kind, "Component")) {
        field_key(e, "system", "System", k);
        return !strcmp(k, scope_key);
    }
    metric_scope(e, k);
    return !strcmp(k, scope_key);
}

static int64_t floor_day(int64_t ms) { return cw_day_of_ms(ms) * DAY_MS; }

/* The metric query of a Goal/Hypothesis: name and matchers (metric.labels
 * plus metric.scope as the scope label). */
static cw_err metric_of(const json_t *e, const char **name, cw_metric_labels *match,
                        cw_metric_agg *agg, cw_diag *d)
{
    const json_t *m = json_object_get(spec_of(e), "metric");
    *name = json_string_value(json_object_get(m, "name"));
    *agg = CW_AGG_AVG;
    const char *a = json_string_value(json_object_get(m, "aggregate"));
    if (a)
        cw_metric_agg_parse(a, agg);
    if (!*name)
        return cw_fail(d, CW_ERR_INVALID, "spec.metric.name is missing");
    json_t *labels = json_object_get(m, "labels");
    labels = labels ? json_deep_copy(labels) : json_object();
    char sk[CW_REF_MAX];
    metric_scope(e, sk);
    if (labels && *sk)
        json_object_set_new(labels, "scope", json_string(sk));
    cw_err err = labels ? cw_metric_labels_from_json(labels, "spec.metric.labels", match, d)
                        : cw_fail(d, CW_ERR_NOMEM, "out of memory");
    json_decref(labels);
    return err;
}

/* The points of e's metric over [from, to) at step; *matched series. */
static cw_err points_of(loader *L, const json_t *e, int64_t from, int64_t to, int64_t step,
                        cw_metric_point **pts, size_t *n, size_t *matched, cw_diag *d)
{
    *pts = NULL;
    *n = 0;
    *matched = 0;
    const char *name;
    cw_metric_labels match = {0};
    cw_metric_agg agg;
    cw_err err = metric_of(e, &name, &match, &agg, d);
    if (err)
        return err;
    cw_metric_query q = {.name = name, .match = &match, .from_ms = from, .to_ms = to,
                         .step_ms = step, .agg = agg, .max_series = 1};
    cw_metric_result r;
    err = cw_series_query(&L->c->src, &q, &r, d);
    cw_metric_labels_free(&match);
    if (err)
        return err;
    *matched = r.series_total;
    if (r.nseries) {
        *pts = r.series[0].points;
        *n = r.series[0].npoints;
        r.series[0].points = NULL;
    }
    cw_metric_result_free(&r);
    return CW_OK;
}

static int64_t created_of(const loader *L, const char *key)
{
    for (size_t i = 0; i < L->ntimes; i++)
        if (!strcmp(L->times[i].key, key))
            return L->times[i].created_ms;
    return 0;
}

static void copy_member(json_t *dst, const json_t *src, const char *key)
{
    json_t *v = json_object_get(src, key);
    json_object_set_new(dst, key, v ? json_deep_copy(v) : json_null());
}

static json_t *base_item(const json_t *e)
{
    char ref[CW_REF_MAX];
    display_ref(e, ref);
    const json_t *md = json_object_get(e, "metadata");
    const char *title = json_string_value(json_object_get(md, "title"));
    return json_pack("{s:s, s:s?, s:o}", "entityRef", ref, "title", title, "owner",
                     field_ref(e, "owner", "Group"));
}

static cw_err goal_item(loader *L, const json_t *g, json_t *findings, json_t **out)
{
    int64_t now = L->c->now_ms;
    cw_goal_numbers num;
    cw_goal_numbers_read(g, &num);
    char key[CW_REF_MAX], ref[CW_REF_MAX];
    key_of(g, key);
    display_ref(g, ref);
    int64_t created = created_of(L, key);
    /* the days to read: from the baseline (or 90 days back) to now or the
     * deadline, plus the smoothing window before */
    int64_t to = num.has_deadline && num.deadline_ms < now ? num.deadline_ms : now;
    to = floor_day(to) + DAY_MS;
    int64_t from = num.has_baseline_date ? num.baseline_ms : now - 90 * DAY_MS;
    from = floor_day(from - num.window_ms);
    if (from < to - MAX_GOAL_DAYS * DAY_MS)
        from = to - MAX_GOAL_DAYS * DAY_MS;
    if (from >= to)
        from = to - DAY_MS;
    json_t *item = base_item(g);
    if (!item)
        return CW_ERR_NOMEM;
    const json_t *spec = spec_of(g);
    copy_member(item, spec, "statement");
    copy_member(item, spec, "stakeholders");
    copy_member(item, spec, "metric");
    copy_member(item, spec, "baseline");
    copy_member(item, spec, "target");
    copy_member(item, spec, "deadline");
    cw_metric_point *pts = NULL;
    size_t n = 0, matched = 0;
    cw_diag d = {{0}};
    bool has_data = false;
    if (json_object_get(spec, "metric")) {
        cw_err err = points_of(L, g, from, to, DAY_MS, &pts, &n, &matched, &d);
        if (err == CW_ERR_NOMEM) {
            json_decref(item);
            return err;
        }
        if (err)
            json_object_set_new(item, "error", json_string(d.msg));
        /* a DORA series exists once its scope does; a stored one once it has samples */
        has_data = !err && (n > 0 || (matched > 0 && cw_series_builtin(json_string_value(
                                                        json_object_get(json_object_get(spec, "metric"), "name")))));
    }
    json_object_set_new(item, "seriesMatched", json_integer((json_int_t)matched));
    cw_goal_status st;
    json_t *proj = NULL;
    cw_err err = cw_goal_evaluate(&num, pts, n, now, &st, &proj);
    json_t *own = json_array();
    if (!err && own)
        err = cw_goal_smart_findings(g, ref, created, has_data, own);
    if (!err && !own)
        err = CW_ERR_NOMEM;
    if (!err) {
        json_t *smart = json_pack("{s:b, s:b, s:b, s:b, s:b}", "S", 1, "M", 1, "A", 1, "R", 1, "T", 1);
        for (size_t i = 0; smart && i < json_array_size(own); i++) {
            json_t *f = json_array_get(own, i);
            json_object_set_new(smart, json_string_value(json_object_get(f, "letter")), json_false());
            json_array_append(findings, f);
        }
        json_object_set_new(item, "status", json_string(cw_goal_status_name(st)));
        json_object_set_new(item, "projection", proj);
        proj = NULL;
        json_object_set_new(item, "smart", smart);
        json_object_set_new(item, "findings", own);
        own = NULL;
        json_object_set_new(item, "points", cw_series_points_json(pts, n));
        if (created) {
            char t[32];
            cw_time_format_compact(created, t);
            json_object_set_new(item, "created", json_string(t));
        }
    }
    json_decref(own);
    json_decref(proj);
    free(pts);
    if (err) {
        json_decref(item);
        return err;
    }
    *out = item;
    return CW_OK;
}

/* When an artifact first reached production (0: never), from the
 * organisation's deployments (loaded once). */
static int64_t artifact_time(loader *L, const char *artifact)
{
    if (!L->dd_loaded) {
        L->dd_loaded = true;
        cw_diag d;
        if (cw_series_delivery_load(&L->c->src, NULL, CW_DELIVERY_DEPLOYMENTS, &L->dd, &d)) {
            cw_delivery_data_free(&L->dd);
            memset(&L->dd, 0, sizeof L->dd);
        }
    }
    int64_t best = 0;
    for (size_t i = 0; i < L->dd.in.ndeployments; i++) {
        const cw_dora_deployment *x = &L->dd.in.deployments[i];
        if (x->artifact_id && !strcmp(x->artifact_id, artifact) && (!best || x->time_ms < best))
            best = x->time_ms;
    }
    return best;
}

static double *values_of(const cw_metric_point *p, size_t n)
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; v && i < n; i++)
        v[i] = p[i].value;
    return v;
}

static cw_err hypothesis_item(loader *L, const json_t *h, json_t **out)
{
    cw_hypothesis_numbers num;
    cw_hypothesis_numbers_read(h, &num);
    const json_t *spec = spec_of(h);
    const char *artifact = json_string_value(json_object_get(spec, "artifact"));
    if (!num.change_ms && artifact)
        num.change_ms = artifact_time(L, artifact);
    json_t *item = base_item(h);
    if (!item)
        return CW_ERR_NOMEM;
    copy_member(item, spec, "change");
    copy_member(item, spec, "outcome");
    copy_member(item, spec, "metric");
    copy_member(item, spec, "expected");
    copy_member(item, spec, "artifact");
    char t[32];
    if (num.change_ms) {
        cw_time_format_compact(num.change_ms, t);
        json_object_set_new(item, "changeAt", json_string(t));
    } else {
        json_object_set_new(item, "changeAt", json_null());
    }
    cw_metric_point *bp = NULL, *ap = NULL;
    size_t nb = 0, na = 0, matched = 0;
    cw_diag d = {{0}};
    cw_err err = CW_OK;
    if (num.change_ms) {
        err = points_of(L, h, num.change_ms - num.before_ms, num.change_ms, num.step_ms, &bp, &nb,
                        &matched, &d);
        if (!err)
            err = points_of(L, h, num.change_ms, num.change_ms + num.after_ms, num.step_ms, &ap,
                            &na, &matched, &d);
        if (err && err != CW_ERR_NOMEM) {
            json_object_set_new(item, "error", json_string(d.msg));
            free(bp);
            free(ap);
            bp = ap = NULL;
            nb = na = 0;
            err = CW_OK;
        }
    }
    double *bv = values_of(bp, nb), *av = values_of(ap, na);
    cw_verdict v = CW_VERDICT_INCONCLUSIVE;
    json_t *detail = NULL;
    if (!err && (!bv || !av))
        err = CW_ERR_NOMEM;
    if (!err)
        err = cw_hypothesis_evaluate(&num, bv, nb, av, na, L->c->now_ms, &v, &detail);
    if (!err) {
        json_object_set_new(item, "verdict", json_string(cw_verdict_name(v)));
        json_object_set_new(item, "detail", detail);
        json_object_set_new(item, "before", cw_series_points_json(bp, nb));
        json_object_set_new(item, "after", cw_series_points_json(ap, na));
    }
    free(bv);
    free(av);
    free(bp);
    free(ap);
    if (err) {
        json_decref(item);
        return err;
    }
    *out = item;
    return CW_OK;
}

static json_t *decision_item(const json_t *dec)
{
    json_t *item = base_item(dec);
    if (!item)
        return NULL;
    const json_t *spec = spec_of(dec);
    static const char *const copied[] = {"status", "date", "needs", "values", "principles",
                                         "practices", "chosen", "criteria", "evidence", "tools"};
    for (size_t i = 0; i < sizeof copied / sizeof copied[0]; i++)
        copy_member(item, spec, copied[i]);
    json_object_set_new(item, "system", field_ref(dec, "system", "System"));
    json_object_set_new(item, "domain", field_ref(dec, "domain", "Domain"));
    json_object_set_new(item, "supersededBy", field_ref(dec, "supersededBy", "Decision"));
    json_object_set_new(item, "options", cw_decision_options(dec));
    const char *desc = json_string_value(json_object_get(json_object_get(dec, "metadata"), "description"));
    if (desc)
        json_object_set_new(item, "description", json_string(desc));
    return item;
}

/* fetch_state: this instance's KPI fetch state (may be NULL) */
static json_t *kpi_item(const json_t *k, const json_t *fetch_state)
{
    json_t *item = base_item(k);
    if (!item)
        return NULL;
    cw_ref r;
    char key[CW_REF_MAX];
    json_t *fs = NULL;
    if (fetch_state && !cw_entity_ref(k, &r, NULL)) {
        cw_ref_key(&r, key);
        fs = json_object_get(fetch_state, key);
    }
    if (fs)
        json_object_set(item, "fetch", fs);
    const json_t *spec = spec_of(k);
    copy_member(item, spec, "source");
    copy_member(item, spec, "query");
    copy_member(item, spec, "step");
    copy_member(item, spec, "unit");
    char name[201];
    cw_kpi_metric_name(k, name);
    json_object_set_new(item, "metric", json_string(name));
    return item;
}

static void count(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    json_object_set_new(obj, key, json_integer(v ? json_integer_value(v) + 1 : 1));
}

static cw_err load(loader *L, const cw_strategy_ctx *c, cw_diag *d)
{
    memset(L, 0, sizeof *L);
    L->c = c;
    cw_err err = cw_store_scan(c->src.store, kinds, sizeof kinds / sizeof kinds[0], 0, &L->all, d);
    if (!err)
        err = cw_store_entity_times(c->src.store, "Goal", &L->times, &L->ntimes, d);
    return err;
}

static void unload(loader *L)
{
    json_decref(L->all);
    free(L->times);
    if (L->dd_loaded)
        cw_delivery_data_free(&L->dd);
}

static cw_err scope_exists(const cw_strategy_ctx *c, const char *scope_key, cw_diag *d)
{
    if (!*scope_key)
        return CW_OK;
    cw_ref r;
    if (cw_ref_parse(scope_key, NULL, NULL, &r, d))
        return CW_ERR_INVALID;
    char *json = NULL;
    cw_err err = cw_store_entity_get(c->src.store, r.kind, r.namespace_, r.name, &json, NULL, d);
    free(json);
    if (err == CW_ERR_NOT_FOUND)
        return cw_fail(d, err, "scope: %s does not exist", scope_key);
    return err;
}

cw_err cw_strategy_view(const cw_strategy_ctx *c, const char *scope_key, json_t **out,
                        cw_diag *d)
{
    *out = NULL;
    cw_err err = scope_exists(c, scope_key, d);
    if (err)
        return err;
    loader L;
    if ((err = load(&L, c, d))) {
        unload(&L);
        return err;
    }
    json_t *goals = json_array(), *hyps = json_array(), *decs = json_array(), *kpis = json_array();
    json_t *findings = json_array();
    json_t *sg = json_object(), *sh = json_object(), *sf = json_object();
    json_t *fetch_state = c->kpi_fetch_state ? c->kpi_fetch_state(c->kpi_fetch_state_ctx) : NULL;
    size_t n = json_array_size(L.all);
    json_t **dv = calloc(n ? n : 1, sizeof *dv), **cv = calloc(n ? n : 1, sizeof *cv);
    size_t nd = 0, nc = 0;
    if (!goals || !hyps || !decs || !kpis || !findings || !sg || !sh || !sf || !dv || !cv)
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n && !err; i++) {
        json_t *e = json_array_get(L.all, i);
        const char *kind = kind_of(e);
        if (!kind || !in_scope(e, scope_key))
            continue;
        json_t *item = NULL;
        if (!strcmp(kind, "Goal")) {
            err = goal_item(&L, e, findings, &item);
            if (!err) {
                count(sg, json_string_value(json_object_get(item, "status")));
                json_array_append_new(goals, item);
            }
        } else if (!strcmp(kind, "Hypothesis")) {
            err = hypothesis_item(&L, e, &item);
            if (!err) {
                count(sh, json_string_value(json_object_get(item, "verdict")));
                json_array_append_new(hyps, item);
            }
        } else if (!strcmp(kind, "Decision")) {
            dv[nd++] = e;
            json_array_append_new(decs, decision_item(e));
        } else if (!strcmp(kind, "KPI")) {
            json_array_append_new(kpis, kpi_item(e, fetch_state));
        } else if (!strcmp(kind, "Component")) {
            cv[nc++] = e;
        }
    }
    /* tools on hold: the accepted decisions of the whole organisation apply
     * to the scope's components */
    if (!err && *scope_key) {
        nd = 0;
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_array_get(L.all, i);
            if (kind_of(e) && !strcmp(kind_of(e), "Decision"))
                dv[nd++] = e;
        }
        json_t *tmp = json_array();
        err = tmp ? cw_decision_findings(dv, nd, cv, nc, tmp) : CW_ERR_NOMEM;
        for (size_t i = 0; !err && i < json_array_size(tmp); i++) {
            json_t *f = json_array_get(tmp, i);
            const char *rule = json_string_value(json_object_get(f, "rule"));
            const char *ref = json_string_value(json_object_get(f, "entityRef"));
            /* a decision's own findings only when the decision is in scope */
            bool keep = !strcmp(rule, "tool-on-hold");
            for (size_t j = 0; !keep && j < json_array_size(decs); j++)
                keep = !strcmp(ref, json_string_value(json_object_get(json_array_get(decs, j), "entityRef")));
            if (keep)
                json_array_append(findings, f);
        }
        json_decref(tmp);
    } else if (!err) {
        err = cw_decision_findings(dv, nd, cv, nc, findings);
    }
    if (!err) {
        cw_strategy_sort_findings(findings);
        for (size_t i = 0; i < json_array_size(findings); i++)
            count(sf, json_string_value(json_object_get(json_array_get(findings, i), "rule")));
        char asof[32];
        cw_time_format_compact(c->now_ms, asof);
        *out = json_pack("{s:s, s:s, s:{s:O, s:O, s:I, s:O}, s:O, s:O, s:O, s:O, s:O}", "scope",
                         *scope_key ? scope_key : "org", "asOf", asof, "summary", "goals", sg,
                         "hypotheses", sh, "decisions", (json_int_t)json_array_size(decs),
                         "findings", sf, "goals", goals, "hypotheses", hyps, "decisions", decs,
                         "kpis", kpis, "findings", findings);
        if (!*out)
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
    } else if (err == CW_ERR_NOMEM) {
        cw_fail(d, err, "out of memory");
    }
    json_decref(goals);
    json_decref(hyps);
    json_decref(decs);
    json_decref(kpis);
    json_decref(fetch_state);
    json_decref(findings);
    json_decref(sg);
    json_decref(sh);
    json_decref(sf);
    free(dv);
    free(cv);
    unload(&L);
    return err;
}

cw_err cw_strategy_item(const cw_strategy_ctx *c, const char *kind, const char *ns,
                        const char *name, json_t **out, cw_diag *d)
{
    *out = NULL;
    char *text = NULL;
    const char *canon = !strcasecmp(kind, "goal") ? "Goal" : "Hypothesis";
    cw_err err = cw_store_entity_get(c->src.store, canon, ns, name, &text, NULL, d);
    if (err == CW_ERR_NOT_FOUND)
        return cw_fail(d, err, "%s:%s/%s does not exist", !strcmp(canon, "Goal") ? "goal" : "hypothesis",
                       ns, name);
    if (err)
        return err;
    json_t *e = json_loads(text, 0, NULL);
    free(text);
    if (!e)
        return cw_fail(d, CW_ERR_IO, "stored entity does not parse");
    loader L;
    memset(&L, 0, sizeof L);
    L.c = c;
    err = cw_store_entity_times(c->src.store, canon, &L.times, &L.ntimes, d);
    json_t *item = NULL, *findings = json_array();
    if (!err && !findings)
        err = CW_ERR_NOMEM;
    if (!err)
        err = !strcmp(canon, "Goal") ? goal_item(&L, e, findings, &item) : hypothesis_item(&L, e, &item);
    if (err == CW_ERR_NOMEM)
        cw_fail(d, err, "out of memory");
    json_decref(findings);
    json_decref(e);
    unload(&L);
    if (!err)
        *out = item;
    return err;
}
