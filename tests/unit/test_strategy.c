/* test_strategy.c — the strategy kinds: their validation in the catalog
 * (src/catalog/strategy.c: every wrong field named), and what the insight
 * makes of them (src/insights/strategy.c): each S.M.A.R.T. letter, goal
 * status on series with known steps and noise (the projection recomputed
 * here), hypothesis verdicts, decision findings and tools on hold. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "catalog/catalog.h"
#include "catalog/strategy.h"
#include "fixtures.h"
#include "insights/strategy.h"
#include "util/timeutil.h"

#define DAY 86400000LL
#define T0 1735689600000LL /* 2025-01-01 */

/* Validates an entity written with ' for "; returns the problems text. */
static cw_err validate(const char *text, cw_diag *d)
{
    char *json = strdup(text);
    for (char *p = json; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_error_t je;
    json_t *e = json_loads(json, 0, &je);
    free(json);
    if (!e)
        fail_msg("test JSON: %s", je.text);
    cw_err err = cw_entity_validate(e, d);
    json_decref(e);
    return err;
}

#define GOAL(spec) "{'apiVersion':'conway.dev/v1','kind':'Goal','metadata':{'name':'g'},'spec':" spec "}"
#define HYP(spec) "{'apiVersion':'conway.dev/v1','kind':'Hypothesis','metadata':{'name':'h'},'spec':" spec "}"
#define DEC(spec) "{'apiVersion':'conway.dev/v1','kind':'Decision','metadata':{'name':'d'},'spec':" spec "}"
#define KPI(spec) "{'apiVersion':'conway.dev/v1','kind':'KPI','metadata':{'name':'conv-rate'},'spec':" spec "}"

static void test_kind_validation(void **state)
{
    (void)state;
    cw_diag d = {{0}};
    static const char *const ok[] = {
        GOAL("{'owner':'payments','stakeholders':['product'],'statement':'More checkouts',"
             "'metric':{'name':'conv','labels':{'team':'pay'},'aggregate':'avg','window':'7d'},"
             "'baseline':{'value':2.1,'date':'2025-01-01'},'target':{'value':2.5,'direction':'increase'},"
             "'deadline':'2025-06-30'}"),
        GOAL("{}"), /* not SMART, but stored: the findings say why */
        GOAL("{'metric':{'name':'conway_dora_deployments_per_day','scope':'group:default/pay'}}"),
        HYP("{'change':'One-page checkout','changeAt':'2025-03-01T00:00:00Z','metric':{'name':'conv'},"
            "'expected':{'direction':'increase','size':0.2,'unit':'relative'},'windowBefore':'14d',"
            "'windowAfter':'2w','alpha':0.01,'step':'1d'}"),
        HYP("{'change':'x','artifact':'pkg:oci/a@1','metric':{'name':'m'},'expected':{'direction':'decrease'}}"),
        DEC("{'status':'accepted','options':['rabbitmq',{'name':'kafka','description':'log'}],"
            "'chosen':'rabbitmq','criteria':[{'name':'ops','weight':2,'scores':{'rabbitmq':4,'kafka':2}}],"
            "'evidence':[{'url':'https://x.example/a','option':'rabbitmq','stance':'against'}],"
            "'tools':['rabbitmq',{'name':'mongodb','status':'hold'}],'system':'payments',"
            "'needs':['async'],'values':['simple'],'principles':['p'],'practices':['q']}"),
        DEC("{'status':'proposed'}"),
        KPI("{'source':'prometheus','query':'sum(up)','step':'1h'}"),
        KPI("{'source':'push','metric':'conversion'}"),
    };
    for (size_t i = 0; i < FX_LEN(ok); i++)
        if (validate(ok[i], &d) != CW_OK)
            fail_msg("%zu: %s", i, d.msg);

    static const struct {
        const char *in, *msg;
    } bad[] = {
        {GOAL("{'metric':'conv'}"), "spec.metric: must be an object {name, labels, scope, aggregate, window}"},
        {GOAL("{'metric':{'labels':{'__a':'x','b':1}}}"),
         "spec.metric: unknown member 'labels'"}, /* placeholder, replaced below */
        {GOAL("{'metric':{'name':'m','scope':'api:default/x'}}"),
         "spec.metric.scope: must be org or a Group, System or Component ref"},
        {GOAL("{'metric':{'name':'m','aggregate':'median','window':'soon'}}"),
         "spec.metric.aggregate: must be one of last, avg, min, max, sum, count; "
         "spec.metric.window: must be a duration such as 7d, 12h, 1w or 90m"},
        {GOAL("{'baseline':{'value':'2'},'target':{'value':1,'direction':'up'}}"),
         "spec.baseline.value: required, a number; spec.target.direction: required: increase or "
         "decrease"},
        {GOAL("{'baseline':{'value':3,'date':'2025-01-01'},'target':{'value':2,'direction':'increase'},"
              "'deadline':'2024-12-01'}"),
         "spec.target.value: a goal to increase from the baseline 3 needs a target above it, not 2; "
         "spec.deadline: must be after the baseline's date (2025-01-01)"},
        {GOAL("{'deadline':'next year','statement':''}"),
         "spec.statement: must be a non-empty string; spec.deadline: must be a date (2025-06-30) "
         "or an RFC 3339 date-time"},
        {GOAL("{'stakeholders':'product'}"), "spec.stakeholders: must be an array of strings"},
        {HYP("{}"), "spec.change: required: the change believed to cause the outcome; spec.metric: "
                    "required: the metric series that will show the outcome; spec.changeAt: "
                    "required (or spec.artifact, whose first production deployment is the change); "
                    "spec.expected: required: {direction, size, unit}"},
        {HYP("{'change':'c','changeAt':'2025-03-01','metric':{'name':'m'},'expected':{'direction':'up',"
             "'size':-1,'unit':'percent'},'alpha':0.9,'windowAfter':'0d'}"),
         "spec.expected.direction: required: increase or decrease; spec.expected.size: must be a "
         "number of at least 0; spec.expected.unit: must be relative (0.2 = 20%) or absolute; "
         "spec.windowAfter: must be a duration such as 7d, 12h, 1w or 90m; spec.alpha: must be a "
         "number above 0 and at most 0.5 (default 0.05)"},
        {DEC("{'options':['a','a'],'chosen':'b'}"),
         "spec.status: required: proposed, accepted, superseded or on-hold; spec.options[1]: 'a' is "
         "listed twice; spec.chosen: 'b' is not one of spec.options"},
        {DEC("{'status':'accepted','options':['a','b'],'criteria':[{'name':'c','weight':0,"
             "'scores':{'z':1}}],'evidence':[{'url':'ftp://x','stance':'maybe'}],"
             "'tools':[{'name':'m','status':'retire'}]}"),
         "spec.chosen: required when the decision is accepted; spec.criteria[0].weight: must be a "
         "number above 0 (default 1); spec.criteria[0].scores.z: 'z' is not one of spec.options; "
         "spec.evidence[0].url: required: an http(s) URL; spec.evidence[0].stance: required: for, "
         "against or neutral (about the option); spec.tools[0].status: must be adopt, trial, "
         "assess or hold"},
        {KPI("{'source':'prometheus'}"), "spec.query: required: the PromQL expression conway asks Prometheus"},
        {KPI("{'source':'graphite','metric':'conway_x','step':'x'}"),
         "spec.source: required: prometheus (conway queries it) or push (samples are POSTed to "
         "/api/v1/metrics); spec.step: must be a duration such as 7d, 12h, 1w or 90m; "
         "spec.metric: names starting with conway_ are conway's own series"},
        {"{'apiVersion':'backstage.io/v1alpha1','kind':'Goal','metadata':{'name':'g'},'spec':{}}",
         "apiVersion: \"backstage.io/v1alpha1\" is not supported for kind Goal (use conway.dev/v1)"},
    };
    for (size_t i = 0; i < FX_LEN(bad); i++) {
        if (i == 1)
            continue;
        assert_int_equal(validate(bad[i].in, &d), CW_ERR_INVALID);
        if (strcmp(d.msg, bad[i].msg))
            fail_msg("%zu:\n got  %s\n want %s", i, d.msg, bad[i].msg);
    }
    assert_int_equal(validate(GOAL("{'metric':{'labels':{'__a':'x','b':1}}}"), &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "spec.metric.name: required: the metric series that measures it; "
                               "spec.metric.labels.__a: not a label name (names starting with __ "
                               "are reserved); spec.metric.labels.b: must be a string of at most "
                               "1024 bytes");
    /* relations: Goals and Decisions belong to their owners, Decisions to systems */
    json_t *dec = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:s}}", "apiVersion", "conway.dev/v1",
                            "kind", "Decision", "metadata", "name", "d", "spec", "status", "proposed",
                            "owner", "platform", "system", "payments");
    assert_int_equal(cw_entity_validate(dec, &d), CW_OK);
    cw_relation_list rels = {0};
    assert_int_equal(cw_entity_relations(dec, &rels, &d), CW_OK);
    assert_int_equal(rels.len, 2);
    assert_string_equal(rels.items[0].type, "ownedBy");
    assert_string_equal(rels.items[1].type, "partOf");
    assert_string_equal(rels.items[1].target_ref, "system:default/payments");
    cw_relation_list_free(&rels);
    json_decref(dec);
    char name[201];
    json_t *k = json_pack("{s:{s:s}, s:{}}", "metadata", "name", "conv-rate.v2", "spec");
    cw_kpi_metric_name(k, name);
    assert_string_equal(name, "conv_rate_v2");
    json_decref(k);
}

static json_t *entity(const char *text)
{
    char *json = strdup(text);
    for (char *p = json; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_t *e = json_loads(json, 0, NULL);
    free(json);
    assert_non_null(e);
    return e;
}

static void test_smart_letters(void **state)
{
    (void)state;
    const char *full = GOAL("{'owner':'pay','stakeholders':['product'],'statement':'s','metric':{'name':'m'},"
                            "'target':{'value':2,'direction':'increase'},'deadline':'2025-06-30'}");
    json_t *g = entity(full);
    json_t *f = json_array();
    assert_int_equal(cw_goal_smart_findings(g, "goal:default/g", T0, true, f), CW_OK);
    assert_int_equal(json_array_size(f), 0);
    /* no data: M */
    assert_int_equal(cw_goal_smart_findings(g, "goal:default/g", T0, false, f), CW_OK);
    assert_int_equal(json_array_size(f), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(f, 0), "letter")), "M");
    assert_string_equal(json_string_value(json_object_get(json_array_get(f, 0), "detail")),
                        "not measurable: the metric m has no data");
    assert_string_equal(json_string_value(json_object_get(json_array_get(f, 0), "owner")),
                        "group:default/pay");
    assert_string_equal(json_string_value(json_object_get(json_array_get(f, 0), "entityRef")),
                        "goal:default/g");
    /* a deadline that had passed when the goal was created: T */
    json_array_clear(f);
    assert_int_equal(cw_goal_smart_findings(g, "goal:default/g", T0 + 200 * DAY, true, f), CW_OK);
    assert_int_equal(json_array_size(f), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(f, 0), "detail")),
                        "not time-bound: the deadline 2025-06-30 was not in the future when the "
                        "goal was created (2025-07-20)");
    json_decref(g);
    /* every letter */
    g = entity(GOAL("{}"));
    json_array_clear(f);
    assert_int_equal(cw_goal_smart_findings(g, "goal:default/g", T0, true, f), CW_OK);
    const char *letters = "SMART";
    assert_int_equal(json_array_size(f), 5);
    for (size_t i = 0; i < 5; i++) {
        char l[2] = {letters[i], 0};
        assert_string_equal(json_string_value(json_object_get(json_array_get(f, i), "letter")), l);
        assert_string_equal(json_string_value(json_object_get(json_array_get(f, i), "rule")),
                            "goal-not-smart");
    }
    json_decref(g);
    /* metric without target is not measurable either */
    g = entity(GOAL("{'metric':{'name':'m'}}"));
    json_array_clear(f);
    assert_int_equal(cw_goal_smart_findings(g, "goal:default/g", T0, true, f), CW_OK);
    assert_string_equal(json_string_value(json_object_get(json_array_get(f, 1), "detail")),
                        "not measurable: spec.target is missing: the value that counts as done");
    json_decref(g);
    json_decref(f);
}

static uint64_t rs = 0x2545F4914F6CDD1DULL;
static double noise(void) /* uniform in [-1, 1) */
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (double)(rs >> 11) / 4503599627370496.0 - 1.0;
}

/* status of a goal (baseline 100 on T0, target 200 increase, deadline
 * T0+100d) on 50 daily points value = 100 + slope·day + amp·noise, now
 * T0+50d; checks the projection against a least-squares fit done here. */
static cw_goal_status run_goal(double slope, double amp, double *projected, double *progress)
{
    cw_goal_numbers g = {.has_baseline = true, .has_baseline_date = true, .has_target = true,
                         .has_deadline = true, .baseline = 100, .baseline_ms = T0, .target = 200,
                         .increase = true, .deadline_ms = T0 + 100 * DAY};
    cw_metric_point pts[50];
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < 50; i++) {
        pts[i].time_ms = T0 + i * DAY;
        pts[i].value = 100 + slope * i + amp * noise();
        sx += i;
        sy += pts[i].value;
        sxx += (double)i * i;
        sxy += i * pts[i].value;
    }
    double b = (50 * sxy - sx * sy) / (50 * sxx - sx * sx), a = (sy - b * sx) / 50;
    double want_proj = a + b * 100, want_prog = (want_proj - 100) / 100;
    cw_goal_status st;
    json_t *p = NULL;
    assert_int_equal(cw_goal_evaluate(&g, pts, 50, T0 + 50 * DAY - 1, &st, &p), CW_OK);
    *projected = json_real_value(json_object_get(p, "projectedValue"));
    *progress = json_real_value(json_object_get(p, "progress"));
    if (st != CW_GOAL_ACHIEVED) {
        if (fabs(*projected - want_proj) > 1e-9 * fabs(want_proj) || fabs(*progress - want_prog) > 1e-9)
            fail_msg("projection %.12g/%.12g, computed here %.12g/%.12g", *projected, *progress,
                     want_proj, want_prog);
        assert_string_equal(json_string_value(json_object_get(p, "method")), "least-squares");
    }
    json_decref(p);
    return st;
}

static void test_goal_status(void **state)
{
    (void)state;
    double proj, prog;
    assert_int_equal(run_goal(1.2, 5, &proj, &prog), CW_GOAL_ON_TRACK);   /* reaches ~220 */
    assert_int_equal(run_goal(0.7, 5, &proj, &prog), CW_GOAL_AT_RISK);    /* ~170: 70% */
    assert_int_equal(run_goal(0.2, 5, &proj, &prog), CW_GOAL_OFF_TRACK);  /* ~120 */
    assert_int_equal(run_goal(-0.5, 5, &proj, &prog), CW_GOAL_OFF_TRACK); /* going down */
    assert_int_equal(run_goal(2.5, 1, &proj, &prog), CW_GOAL_ACHIEVED);   /* 222 by day 49 */

    /* a step: flat at 100, then 210 from day 30: achieved by the latest value */
    cw_goal_numbers g = {.has_baseline = true, .has_baseline_date = true, .has_target = true,
                         .has_deadline = true, .baseline = 100, .baseline_ms = T0, .target = 200,
                         .increase = true, .deadline_ms = T0 + 100 * DAY};
    cw_metric_point pts[40];
    for (int i = 0; i < 40; i++)
        pts[i] = (cw_metric_point){T0 + i * DAY, i < 30 ? 100 : 210};
    cw_goal_status st;
    json_t *p;
    assert_int_equal(cw_goal_evaluate(&g, pts, 40, T0 + 45 * DAY, &st, &p), CW_OK);
    assert_int_equal(st, CW_GOAL_ACHIEVED);
    assert_string_equal(json_string_value(json_object_get(p, "reason")),
                        "the latest value, 210 on 2025-02-09, meets the target 200");
    json_decref(p);
    /* a one-day spike achieves nothing once a 7-day window smooths it */
    for (int i = 0; i < 40; i++)
        pts[i] = (cw_metric_point){T0 + i * DAY, i == 39 ? 250 : 100 + 1.5 * i};
    assert_int_equal(cw_goal_evaluate(&g, pts, 40, T0 + 40 * DAY, &st, &p), CW_OK);
    assert_int_equal(st, CW_GOAL_ACHIEVED);
    json_decref(p);
    g.window_ms = 7 * DAY;
    assert_int_equal(cw_goal_evaluate(&g, pts, 40, T0 + 40 * DAY, &st, &p), CW_OK);
    assert_int_equal(st, CW_GOAL_ON_TRACK);
    /* the mean of days 33..39 */
    assert_true(fabs(json_real_value(json_object_get(json_object_get(p, "current"), "value")) -
                     (149.5 + 151 + 152.5 + 154 + 155.5 + 157 + 250) / 7.0) < 1e-9);
    json_decref(p);
    g.window_ms = 0;
    /* the deadline passed: missed, judged by the value at the deadline */
    assert_int_equal(cw_goal_evaluate(&g, pts, 30, T0 + 200 * DAY, &st, &p), CW_OK);
    assert_int_equal(st, CW_GOAL_MISSED);
    json_decref(p);
    assert_int_equal(cw_goal_evaluate(&g, pts, 0, T0 + 200 * DAY, &st, &p), CW_OK);
    assert_int_equal(st, CW_GOAL_MISSED);
    assert_string_equal(json_string_value(json_object_get(p, "reason")),
                        "the deadline 2025-04-11 has passed without data");
    json_decref(p);
    /* no data yet, no target: unknown */
    assert_int_equal(cw_goal_evaluate(&g, pts, 0, T0 + DAY, &st, &p), CW_OK);
    assert_int_equal(st, CW_GOAL_UNKNOWN);
    json_decref(p);
    g.has_target = false;
    assert_int_equal(cw_goal_evaluate(&g, pts, 10, T0 + 10 * DAY, &st, &p), CW_OK);
    assert_int_equal(st, CW_GOAL_UNKNOWN);
    json_decref(p);
    /* one point: the baseline makes the second */
    g.has_target = true;
    pts[0] = (cw_metric_point){T0 + 10 * DAY, 130};
    assert_int_equal(cw_goal_evaluate(&g, pts, 1, T0 + 10 * DAY, &st, &p), CW_OK);
    assert_int_equal(st, CW_GOAL_ON_TRACK); /* 3/day: 400 by day 100 */
    assert_true(fabs(json_real_value(json_object_get(p, "projectedValue")) - 400) < 1e-9);
    json_decref(p);
    /* decrease: lead time from 48 h down to 24 h */
    cw_goal_numbers down = {.has_baseline = true, .has_baseline_date = true, .has_target = true,
                            .has_deadline = true, .baseline = 48, .baseline_ms = T0, .target = 24,
                            .increase = false, .deadline_ms = T0 + 60 * DAY};
    for (int i = 0; i < 20; i++)
        pts[i] = (cw_metric_point){T0 + i * DAY, 48 - 0.5 * i};
    assert_int_equal(cw_goal_evaluate(&down, pts, 20, T0 + 20 * DAY, &st, &p), CW_OK);
    assert_int_equal(st, CW_GOAL_ON_TRACK); /* 18 by day 60 */
    json_decref(p);
    for (int i = 0; i < 20; i++)
        pts[i] = (cw_metric_point){T0 + i * DAY, 48 - 0.25 * i};
    assert_int_equal(cw_goal_evaluate(&down, pts, 20, T0 + 20 * DAY, &st, &p), CW_OK);
    assert_int_equal(st, CW_GOAL_AT_RISK); /* 33 by day 60: 62.5% of the way */
    json_decref(p);
}

static void test_hypothesis_verdicts(void **state)
{
    (void)state;
    cw_hypothesis_numbers h = {.increase = true, .size = 0.2, .relative = true, .alpha = 0.05,
                               .change_ms = T0, .before_ms = 14 * DAY, .after_ms = 14 * DAY,
                               .step_ms = DAY};
    double before[14], after[14];
    for (int i = 0; i < 14; i++) {
        before[i] = 100 + 3 * noise();
        after[i] = 130 + 3 * noise(); /* +30%: supported */
    }
    cw_verdict v;
    json_t *dj;
    assert_int_equal(cw_hypothesis_evaluate(&h, before, 14, after, 14, T0 + 20 * DAY, &v, &dj), CW_OK);
    assert_int_equal(v, CW_VERDICT_SUPPORTED);
    assert_true(json_is_true(json_object_get(json_object_get(dj, "test"), "exact")));
    json_decref(dj);
    for (int i = 0; i < 14; i++)
        after[i] = 104 + 3 * noise(); /* +4%: clearly short of +20%: refuted */
    assert_int_equal(cw_hypothesis_evaluate(&h, before, 14, after, 14, T0 + 20 * DAY, &v, &dj), CW_OK);
    assert_int_equal(v, CW_VERDICT_REFUTED);
    json_decref(dj);
    for (int i = 0; i < 14; i++)
        after[i] = 112 + 30 * noise(); /* noisy: neither */
    for (int i = 0; i < 3; i++)
        before[i] = 100 + 30 * noise();
    assert_int_equal(cw_hypothesis_evaluate(&h, before, 3, after, 3, T0 + 20 * DAY, &v, &dj), CW_OK);
    assert_int_equal(v, CW_VERDICT_INCONCLUSIVE);
    json_decref(dj);
    /* not enough data, window still open, unknown change */
    assert_int_equal(cw_hypothesis_evaluate(&h, before, 2, after, 14, T0 + 20 * DAY, &v, &dj), CW_OK);
    assert_int_equal(v, CW_VERDICT_INCONCLUSIVE);
    assert_string_equal(json_string_value(json_object_get(dj, "reason")),
                        "too little data: 2 observations before the change and 14 after (at "
                        "least 3 each)");
    json_decref(dj);
    assert_int_equal(cw_hypothesis_evaluate(&h, before, 14, after, 14, T0 + 5 * DAY, &v, &dj), CW_OK);
    assert_string_equal(json_string_value(json_object_get(dj, "reason")),
                        "collecting: the window after the change ends on 2025-01-15T00:00:00Z");
    json_decref(dj);
    /* decrease, absolute: lead time down by at least 5 h */
    cw_hypothesis_numbers dn = h;
    dn.increase = false;
    dn.relative = false;
    dn.size = 5;
    for (int i = 0; i < 14; i++) {
        before[i] = 30 + noise();
        after[i] = 20 + noise();
    }
    assert_int_equal(cw_hypothesis_evaluate(&dn, before, 14, after, 14, T0 + 20 * DAY, &v, &dj), CW_OK);
    assert_int_equal(v, CW_VERDICT_SUPPORTED);
    json_decref(dj);
    for (int i = 0; i < 14; i++)
        after[i] = 33 + noise(); /* went up: refuted */
    assert_int_equal(cw_hypothesis_evaluate(&dn, before, 14, after, 14, T0 + 20 * DAY, &v, &dj), CW_OK);
    assert_int_equal(v, CW_VERDICT_REFUTED);
    json_decref(dj);
    /* numbers from a spec */
    json_t *e = entity(HYP("{'changeAt':'2025-01-01','expected':{'direction':'decrease','size':3,'unit':'absolute'},"
                           "'windowAfter':'7d','alpha':0.01}"));
    cw_hypothesis_numbers r;
    cw_hypothesis_numbers_read(e, &r);
    assert_false(r.increase);
    assert_false(r.relative);
    assert_true(r.size == 3 && r.alpha == 0.01);
    assert_int_equal(r.change_ms, T0);
    assert_int_equal(r.before_ms, 14 * DAY);
    assert_int_equal(r.after_ms, 7 * DAY);
    json_decref(e);
}

static void test_decision_findings(void **state)
{
    (void)state;
    json_t *decs[3] = {
        entity(DEC("{'owner':'platform','status':'accepted','options':['rabbitmq','kafka'],'chosen':'kafka',"
                   "'criteria':[{'name':'ops','weight':3,'scores':{'rabbitmq':4,'kafka':2}},"
                   "{'name':'scale','weight':1,'scores':{'rabbitmq':2,'kafka':5}}],"
                   "'evidence':[{'url':'https://a.example','option':'kafka','stance':'for'}],"
                   "'tools':[{'name':'kafka','status':'adopt'},{'name':'mongodb','status':'hold'}]}")),
        entity(DEC("{'status':'proposed','options':['only'],'chosen':'only',"
                   "'evidence':[{'url':'https://b.example','option':'only','stance':'against'}],"
                   "'tools':[{'name':'redis','status':'hold'}]}")),
        entity(DEC("{'status':'superseded','options':['x']}")),
    };
    json_t *comps[3] = {
        entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Component','metadata':{'name':'a',"
               "'tags':['MongoDB']},'spec':{'owner':'team-a'}}"),
        entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Component','metadata':{'name':'b',"
               "'annotations':{'conway.dev/tools':'postgres, mongodb'}},'spec':{'owner':'team-b'}}"),
        entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Component','metadata':{'name':'c',"
               "'annotations':{'x':'mongodbx','y':'redis'}},'spec':{'owner':'team-c'}}"),
    };
    json_t *f = json_array();
    assert_int_equal(cw_decision_findings(decs, 3, comps, 3, f), CW_OK);
    cw_strategy_sort_findings(f);
    static const char *const want[][2] = {
        {"decision-no-counter-evidence", "decision:default/d"},
        {"decision-not-best-scored", "decision:default/d"},
        {"decision-single-option", "decision:default/d"},
        {"tool-on-hold", "component:default/a"},
        {"tool-on-hold", "component:default/b"},
    };
    assert_int_equal(json_array_size(f), FX_LEN(want));
    for (size_t i = 0; i < FX_LEN(want); i++) {
        assert_string_equal(json_string_value(json_object_get(json_array_get(f, i), "rule")), want[i][0]);
        assert_string_equal(json_string_value(json_object_get(json_array_get(f, i), "entityRef")),
                            want[i][1]);
    }
    assert_string_equal(json_string_value(json_object_get(json_array_get(f, 1), "detail")),
                        "the chosen option kafka scores 2.75 on the decision's own criteria, below "
                        "rabbitmq (3.5): say why, or reconsider");
    assert_string_equal(json_string_value(json_object_get(json_array_get(f, 3), "detail")),
                        "uses mongodb (tag MongoDB), which decision:default/d put on hold");
    assert_string_equal(json_string_value(json_object_get(json_array_get(f, 4), "detail")),
                        "uses mongodb (annotation conway.dev/tools), which decision:default/d put on "
                        "hold");
    assert_string_equal(json_string_value(json_object_get(json_array_get(f, 4), "owner")),
                        "group:default/team-b");
    json_t *opts = cw_decision_options(decs[0]);
    assert_true(json_is_true(json_object_get(json_array_get(opts, 1), "chosen")));
    assert_true(fabs(json_real_value(json_object_get(json_array_get(opts, 0), "score")) - 3.5) < 1e-12);
    json_decref(opts);
    json_decref(f);
    for (int i = 0; i < 3; i++) {
        json_decref(decs[i]);
        json_decref(comps[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_validation),   cmocka_unit_test(test_smart_letters),
        cmocka_unit_test(test_goal_status),       cmocka_unit_test(test_hypothesis_verdicts),
        cmocka_unit_test(test_decision_findings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
