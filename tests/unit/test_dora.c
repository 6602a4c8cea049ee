/*
 * test_dora.c — the DORA metric rules of issue #3 on hand-computed
 * scenarios: no deployments, changes merged after the last deployment,
 * explicit attribution, rollback then redeploy, incidents naming artifacts
 * or falling in (or out of) the failure window, unresolved incidents,
 * nearest-rank percentiles, UTC daily buckets and level boundaries; plus the
 * JSON shape.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "insights/dora.h"
#include "insights/insights_int.h"
#include "util/timeutil.h"

#define H 3600000LL
#define DAY (24 * H)

static int64_t ts(const char *s)
{
    int64_t ms;
    if (!cw_time_parse_rfc3339(s, &ms))
        fail_msg("bad time %s", s);
    return ms;
}

/* Window: May 2024 (31 days). */
static cw_dora_params may(void)
{
    return (cw_dora_params){ts("2024-05-01T00:00:00Z"), ts("2024-06-01T00:00:00Z"), 24};
}

static cw_dora_result run(const cw_dora_input *in, cw_dora_params p)
{
    cw_dora_result r;
    cw_diag d = {""};
    if (cw_dora_compute(in, &p, &r, &d))
        fail_msg("dora: %s", d.msg);
    return r;
}

static void assert_nan(double v)
{
    if (!isnan(v))
        fail_msg("expected NAN, got %f", v);
}

static void assert_dbl(double got, double want)
{
    if (fabs(got - want) > 1e-9)
        fail_msg("expected %.9f, got %.9f", want, got);
}

static void test_percentile_nearest_rank(void **state)
{
    (void)state;
    int64_t v[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    assert_int_equal(cw_percentile_nearest_rank(v, 10, 50), 5);
    assert_int_equal(cw_percentile_nearest_rank(v, 10, 90), 9);
    assert_int_equal(cw_percentile_nearest_rank(v, 10, 100), 10);
    assert_int_equal(cw_percentile_nearest_rank(v, 1, 50), 1);
    assert_int_equal(cw_percentile_nearest_rank(v, 1, 90), 1);
    assert_int_equal(cw_percentile_nearest_rank(v, 2, 50), 1);
    assert_int_equal(cw_percentile_nearest_rank(v, 2, 90), 2);
    assert_int_equal(cw_percentile_nearest_rank(v, 3, 50), 2);
    assert_int_equal(cw_percentile_nearest_rank(v, 5, 90), 5);
}

static void test_no_deployments(void **state)
{
    (void)state;
    cw_dora_input in = {.ncomponents = 2};
    cw_dora_result r = run(&in, may());
    assert_int_equal(r.deployments, 0);
    assert_dbl(r.deployment_frequency_per_day, 0.0);
    assert_int_equal(r.deployment_days, 0);
    assert_nan(r.change_failure_rate);
    assert_nan(r.lead_time_p50_s);
    assert_nan(r.lead_time_p90_s);
    assert_int_equal(r.lead_time_count, 0);
    assert_nan(r.ttr_p50_s);
    assert_int_equal(r.open_incidents, 0);
    assert_int_equal(r.level_deployment_frequency, CW_DORA_LEVEL_LOW);
    assert_int_equal(r.level_lead_time, CW_DORA_LEVEL_NONE);
    assert_int_equal(r.level_change_failure_rate, CW_DORA_LEVEL_NONE);
    assert_int_equal(r.level_time_to_restore, CW_DORA_LEVEL_NONE);
    assert_int_equal(r.ndaily, 31);
    assert_string_equal(r.daily[0].date, "2024-05-01");
    assert_string_equal(r.daily[30].date, "2024-05-31");
    assert_nan(r.daily[3].lead_time_p50_s);

    json_t *j;
    assert_int_equal(cw_dora_to_json(&r, "org", &j), CW_OK);
    assert_true(json_is_null(json_object_get(j, "changeFailureRate")));
    assert_true(json_is_null(json_object_get(json_object_get(j, "leadTimeSeconds"), "p50")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "leadTimeSeconds"), "count")), 0);
    assert_true(json_is_null(json_object_get(json_object_get(j, "level"), "leadTime")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "level"),
                                                          "deploymentFrequency")),
                        "low");
    json_decref(j);
    cw_dora_result_free(&r);
}

static void test_lead_time_and_merged_after_last_deployment(void **state)
{
    (void)state;
    cw_dora_deployment deps[] = {
        {0, ts("2024-04-20T10:00:00Z"), "a0", NULL, NULL, 0}, /* before the window */
        {0, ts("2024-05-02T10:00:00Z"), "a1", NULL, NULL, 0},
        {1, ts("2024-05-02T11:00:00Z"), "b1", NULL, NULL, 0},
    };
    cw_dora_change ch[] = {
        /* merged before the previous deployment: belongs to it (outside window) */
        {0, "c0", ts("2024-04-10T10:00:00Z"), ts("2024-04-15T10:00:00Z")},
        /* in (prev, this]: created 1 day before the deployment -> 86400 s */
        {0, "c1", ts("2024-05-01T10:00:00Z"), ts("2024-05-01T12:00:00Z")},
        /* no created event: from merged, 2 h */
        {0, "c2", 0, ts("2024-05-02T08:00:00Z")},
        /* merged exactly at the deployment time: included, 4 h from created */
        {0, "c3", ts("2024-05-02T06:00:00Z"), ts("2024-05-02T10:00:00Z")},
        /* merged after the last deployment: undeployed, no lead time */
        {0, "c4", ts("2024-05-03T10:00:00Z"), ts("2024-05-03T12:00:00Z")},
        /* created but never merged: not attributed implicitly */
        {0, "c5", ts("2024-05-01T00:00:00Z"), 0},
        /* other component: 30 min */
        {1, "d1", ts("2024-05-02T10:30:00Z"), ts("2024-05-02T10:45:00Z")},
        /* created after its deployment (clock skew): non-positive, ignored */
        {1, "d2", ts("2024-05-02T11:00:00Z"), ts("2024-05-02T10:50:00Z")},
    };
    cw_dora_input in = {.ncomponents = 2, .deployments = deps, .ndeployments = 3,
                        .changes = ch, .nchanges = 8};
    cw_dora_result r = run(&in, may());
    assert_int_equal(r.deployments, 2);
    assert_int_equal(r.deployment_days, 1);
    assert_dbl(r.deployment_frequency_per_day, 2.0 / 31.0);
    /* Lead times: 1800, 7200, 14400, 86400 -> p50 rank 2 = 7200, p90 rank 4. */
    assert_int_equal(r.lead_time_count, 4);
    assert_dbl(r.lead_time_p50_s, 7200);
    assert_dbl(r.lead_time_p90_s, 86400);
    assert_int_equal(r.level_lead_time, CW_DORA_LEVEL_ELITE);
    assert_dbl(r.daily[1].lead_time_p50_s, 7200);
    assert_int_equal(r.daily[1].deployments, 2);
    assert_nan(r.daily[2].lead_time_p50_s);
    assert_int_equal(r.failed_deployments, 0);
    assert_dbl(r.change_failure_rate, 0.0);
    cw_dora_result_free(&r);
}

static void test_explicit_changes(void **state)
{
    (void)state;
    const char *const d2_ids[] = {"c3", "c9", "x1"};
    const char *const d3_ids[] = {"c3"};
    cw_dora_deployment deps[] = {
        {0, ts("2024-05-02T10:00:00Z"), NULL, NULL, NULL, 0},
        {0, ts("2024-05-04T10:00:00Z"), NULL, NULL, d2_ids, 3},
        {0, ts("2024-05-06T10:00:00Z"), NULL, NULL, d3_ids, 1}, /* redeploy lists c3 again */
        {0, ts("2024-05-08T10:00:00Z"), NULL, NULL, NULL, 0},
    };
    cw_dora_change ch[] = {
        {0, "c1", ts("2024-05-01T10:00:00Z"), ts("2024-05-02T09:00:00Z")}, /* D1: 24 h */
        /* merged in (D1, D2] but D2 is explicit and does not list it: it is
         * never attributed (D3/D4 windows start later). */
        {0, "c2", ts("2024-05-03T09:00:00Z"), ts("2024-05-03T10:00:00Z")},
        {0, "c3", ts("2024-05-03T10:00:00Z"), ts("2024-05-03T12:00:00Z")}, /* D2: 24 h */
        /* the same id in another component: the same component wins */
        {1, "c3", ts("2024-04-01T10:00:00Z"), ts("2024-04-01T12:00:00Z")},
        /* listed but merged after the listing deployment: lead <= 0, ignored */
        {0, "c9", ts("2024-05-05T10:00:00Z"), ts("2024-05-05T11:00:00Z")},
        /* listed id of another component only: found there */
        {1, "x1", ts("2024-05-03T22:00:00Z"), ts("2024-05-03T23:00:00Z")}, /* D2: 12 h */
        {0, "c5", ts("2024-05-07T10:00:00Z"), ts("2024-05-07T12:00:00Z")}, /* D4: 24 h */
    };
    cw_dora_input in = {.ncomponents = 2, .deployments = deps, .ndeployments = 4,
                        .changes = ch, .nchanges = 7};
    cw_dora_result r = run(&in, may());
    /* c1 86400, c3 86400, x1 43200, c5 86400; c3 counts once (at D2). */
    assert_int_equal(r.lead_time_count, 4);
    assert_dbl(r.lead_time_p50_s, 86400);
    assert_dbl(r.daily[3].lead_time_p50_s, 43200); /* May 4: 43200, 86400 -> rank 1 */
    assert_nan(r.daily[5].lead_time_p50_s);         /* May 6: c3 already counted */
    assert_int_equal(r.level_lead_time, CW_DORA_LEVEL_HIGH);
    cw_dora_result_free(&r);
}

static void test_rollback_then_redeploy(void **state)
{
    (void)state;
    cw_dora_deployment deps[] = {
        {0, ts("2024-05-02T10:00:00Z"), "a1", NULL, NULL, 0},
        {0, ts("2024-05-02T12:00:00Z"), "a2", NULL, NULL, 0}, /* redeploy after rollback */
        {0, ts("2024-05-03T10:00:00Z"), "a3", NULL, NULL, 0},
        {0, ts("2024-05-04T10:00:00Z"), "a4", NULL, NULL, 0},
        {1, ts("2024-05-02T09:00:00Z"), "b1", NULL, NULL, 0},
    };
    cw_dora_rollback rb[] = {
        {0, ts("2024-05-02T11:00:00Z")}, /* fails a1 */
        {0, ts("2024-05-04T10:00:00Z")}, /* at a4's own time: fails a4 */
        {1, ts("2024-05-01T09:00:00Z")}, /* before b1: fails nothing */
    };
    cw_dora_input in = {.ncomponents = 2, .deployments = deps, .ndeployments = 5,
                        .rollbacks = rb, .nrollbacks = 3};
    cw_dora_result r = run(&in, may());
    assert_int_equal(r.deployments, 5);
    assert_int_equal(r.failed_deployments, 2);
    assert_dbl(r.change_failure_rate, 0.4);
    assert_int_equal(r.daily[1].failed_deployments, 1);
    assert_int_equal(r.daily[3].failed_deployments, 1);
    assert_int_equal(r.level_change_failure_rate, CW_DORA_LEVEL_LOW);

    /* A rollback exactly at the next deployment's time belongs to the next. */
    cw_dora_rollback rb2[] = {{0, ts("2024-05-02T12:00:00Z")}};
    in.rollbacks = rb2;
    in.nrollbacks = 1;
    cw_dora_result_free(&r);
    cw_dora_result r2 = run(&in, may());
    assert_int_equal(r2.failed_deployments, 1);
    assert_int_equal(r2.daily[1].failed_deployments, 1);
    cw_dora_result_free(&r2);
}

static void test_incidents_naming_artifacts(void **state)
{
    (void)state;
    cw_dora_deployment deps[] = {
        {0, ts("2024-05-02T10:00:00Z"), "pkg:a@1", NULL, NULL, 0},
        {0, ts("2024-05-03T10:00:00Z"), "pkg:a@2", NULL, NULL, 0},
        {0, ts("2024-05-10T10:00:00Z"), "pkg:a@1", NULL, NULL, 0}, /* a@1 again */
        {0, ts("2024-05-12T10:00:00Z"), "pkg:a@3", NULL, NULL, 0},
    };
    cw_dora_incident inc[] = {
        /* names a@2 three weeks after its deployment (and after later ones) */
        {"i1", 0, ts("2024-05-25T10:00:00Z"), ts("2024-05-25T11:00:00Z"), "pkg:a@2"},
        /* names a@1 after its second deployment: marks that one only */
        {"i2", 0, ts("2024-05-11T10:00:00Z"), ts("2024-05-11T10:30:00Z"), "pkg:a@1"},
        /* names an artifact never deployed: falls back to the time rule, but
         * it starts 5 days after the latest deployment: fails nothing */
        {"i3", 0, ts("2024-05-17T10:00:00Z"), 0, "pkg:zzz"},
    };
    cw_dora_input in = {.ncomponents = 1, .deployments = deps, .ndeployments = 4,
                        .incidents = inc, .nincidents = 3};
    cw_dora_result r = run(&in, may());
    assert_int_equal(r.failed_deployments, 2);
    assert_int_equal(r.daily[1].failed_deployments, 0); /* first a@1 deployment */
    assert_int_equal(r.daily[2].failed_deployments, 1); /* a@2 */
    assert_int_equal(r.daily[9].failed_deployments, 1); /* second a@1 */
    assert_int_equal(r.daily[11].failed_deployments, 0);
    assert_int_equal(r.open_incidents, 1);
    /* TTR: 3600 and 1800 -> p50 rank 1 = 1800, p90 rank 2 = 3600. */
    assert_int_equal(r.ttr_count, 2);
    assert_dbl(r.ttr_p50_s, 1800);
    assert_dbl(r.ttr_p90_s, 3600);
    assert_int_equal(r.level_time_to_restore, CW_DORA_LEVEL_ELITE);

    /* An incident naming an artifact fails the deployment even when it comes
     * after the window: pass it and the window's deployment fails. */
    cw_dora_params p = {ts("2024-05-01T00:00:00Z"), ts("2024-05-05T00:00:00Z"), 24};
    cw_dora_result r2 = run(&in, p);
    assert_int_equal(r2.deployments, 2);
    assert_int_equal(r2.failed_deployments, 1);
    assert_int_equal(r2.ttr_count, 0); /* i1 started after this window */
    cw_dora_result_free(&r2);
    cw_dora_result_free(&r);
}

static void test_incident_failure_window(void **state)
{
    (void)state;
    cw_dora_deployment deps[] = {
        {0, ts("2024-05-02T10:00:00Z"), NULL, NULL, NULL, 0},
        {0, ts("2024-05-05T10:00:00Z"), NULL, NULL, NULL, 0},
        {0, ts("2024-05-08T10:00:00Z"), NULL, NULL, NULL, 0},
        {1, ts("2024-05-02T10:00:00Z"), NULL, NULL, NULL, 0},
    };
    cw_dora_incident inc[] = {
        {"in", 0, ts("2024-05-03T09:00:00Z"), ts("2024-05-03T10:00:00Z"), NULL},    /* 23 h: fails D1 */
        {"edge", 0, ts("2024-05-06T10:00:00Z"), ts("2024-05-06T12:00:00Z"), NULL},  /* 24 h exactly: fails D2 */
        {"out", 0, ts("2024-05-09T11:00:00Z"), ts("2024-05-09T14:00:00Z"), NULL},   /* 25 h: fails nothing */
        {"nocomp", -1, ts("2024-05-02T11:00:00Z"), ts("2024-05-02T12:00:00Z"), NULL},
        {"early", 1, ts("2024-05-01T10:00:00Z"), 0, NULL}, /* before any deployment */
        {"old", 1, ts("2024-04-30T10:00:00Z"), ts("2024-05-02T10:00:00Z"), NULL},
    };
    cw_dora_input in = {.ncomponents = 2, .deployments = deps, .ndeployments = 4,
                        .incidents = inc, .nincidents = 6};
    cw_dora_result r = run(&in, may());
    assert_int_equal(r.failed_deployments, 2);
    assert_int_equal(r.daily[1].failed_deployments, 1);
    assert_int_equal(r.daily[4].failed_deployments, 1);
    assert_int_equal(r.daily[7].failed_deployments, 0);
    /* TTR of incidents started in May: 1 h, 2 h, 3 h, 1 h; "early" is open;
     * "old" started in April. Sorted 3600,3600,7200,10800: p50 rank 2, p90 rank 4. */
    assert_int_equal(r.ttr_count, 4);
    assert_int_equal(r.open_incidents, 1);
    assert_dbl(r.ttr_p50_s, 3600);
    assert_dbl(r.ttr_p90_s, 10800);
    assert_int_equal(r.level_time_to_restore, CW_DORA_LEVEL_HIGH);
    cw_dora_result_free(&r);

    /* With a 12 h (or 0 h) window none of them fails a deployment. */
    cw_dora_params p = may();
    p.failure_window_hours = 12;
    r = run(&in, p);
    assert_int_equal(r.failed_deployments, 0);
    cw_dora_result_free(&r);
    p.failure_window_hours = 0;
    r = run(&in, p);
    assert_int_equal(r.failed_deployments, 0);
    cw_dora_result_free(&r);
}

/* The incident page's "likely cause" is the deployment the change failure
 * rate counts as failed: the same rule, one function. */
static void test_incident_causes(void **state)
{
    (void)state;
    cw_dora_deployment deps[] = {
        {0, ts("2024-05-02T10:00:00Z"), "pkg:a@1", NULL, NULL, 0}, /* 0 */
        {0, ts("2024-05-05T10:00:00Z"), "pkg:a@2", NULL, NULL, 0}, /* 1 */
        {0, ts("2024-05-08T10:00:00Z"), "pkg:a@1", NULL, NULL, 0}, /* 2: a@1 again */
        {1, ts("2024-05-02T10:00:00Z"), "pkg:b@1", NULL, NULL, 0}, /* 3 */
    };
    cw_dora_incident inc[] = {
        /* names a@2 long after: that deployment, whatever came since */
        {"named", 0, ts("2024-05-20T10:00:00Z"), 0, "pkg:a@2"},
        /* names a@1 after its second deployment: the latest at or before */
        {"named-twice", 0, ts("2024-05-09T10:00:00Z"), 0, "pkg:a@1"},
        /* names a@1 before any deployment of it: its earliest */
        {"named-early", 0, ts("2024-05-01T10:00:00Z"), 0, "pkg:a@1"},
        /* no artifact, 23 h after deployment 1 */
        {"window", 0, ts("2024-05-06T09:00:00Z"), 0, NULL},
        /* exactly 24 h after deployment 2: still inside */
        {"edge", 0, ts("2024-05-09T10:00:00Z"), 0, NULL},
        /* 25 h after deployment 2: none */
        {"late", 0, ts("2024-05-09T11:00:00Z"), 0, NULL},
        /* an artifact never deployed: falls back to the window (2 h after 3) */
        {"unknown-art", 1, ts("2024-05-02T12:00:00Z"), 0, "pkg:zzz"},
        /* no component, no artifact: none */
        {"nocomp", -1, ts("2024-05-02T11:00:00Z"), 0, NULL},
        /* before the component's first deployment: none */
        {"early", 1, ts("2024-05-01T10:00:00Z"), 0, NULL},
    };
    long want[] = {1, 2, 0, 1, 2, -1, 3, -1, -1};
    cw_dora_input in = {.ncomponents = 2, .deployments = deps, .ndeployments = 4,
                        .incidents = inc, .nincidents = 9};
    long cause[9];
    cw_diag d = {""};
    assert_int_equal(cw_dora_incident_causes(&in, 24, cause, &d), CW_OK);
    for (size_t i = 0; i < 9; i++)
        if (cause[i] != want[i])
            fail_msg("%s: cause %ld, want %ld", inc[i].incident_id, cause[i], want[i]);
    /* the failure rate counts exactly the deployments that are some cause */
    cw_dora_result r = run(&in, may());
    assert_int_equal(r.failed_deployments, 4);
    cw_dora_result_free(&r);
    /* a shorter window drops the time-rule causes, not the named ones */
    assert_int_equal(cw_dora_incident_causes(&in, 12, cause, &d), CW_OK);
    long want12[] = {1, 2, 0, -1, -1, -1, 3, -1, -1};
    for (size_t i = 0; i < 9; i++)
        if (cause[i] != want12[i])
            fail_msg("12 h, %s: cause %ld, want %ld", inc[i].incident_id, cause[i], want12[i]);
    assert_int_equal(cw_dora_incident_causes(&in, -1, cause, &d), CW_ERR_INVALID);
    inc[0].component = 7;
    assert_int_equal(cw_dora_incident_causes(&in, 24, cause, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "incidents[0].component"));
}

static void test_daily_buckets_across_midnight(void **state)
{
    (void)state;
    cw_dora_deployment deps[] = {
        {0, ts("2024-05-01T23:59:59.999Z"), NULL, NULL, NULL, 0},
        {0, ts("2024-05-02T00:00:00Z"), NULL, NULL, NULL, 0},
        {0, ts("2024-05-02T23:00:00+02:00"), NULL, NULL, NULL, 0}, /* 21:00Z, May 2 */
        {0, ts("2024-05-03T01:30:00+02:00"), NULL, NULL, NULL, 0}, /* 23:30Z, May 2 */
        {0, ts("2024-05-03T01:59:59Z"), NULL, NULL, NULL, 0},
        {0, ts("2024-05-03T02:00:00Z"), NULL, NULL, NULL, 0},      /* at `to`: excluded */
        {0, ts("2024-05-01T21:59:59Z"), NULL, NULL, NULL, 0},      /* before `from` */
    };
    cw_dora_change ch[] = {
        {0, "a", 0, ts("2024-05-01T23:00:00Z")}, /* -> 23:59:59.999, 3599.999 s */
        {0, "b", 0, ts("2024-05-02T20:00:00Z")}, /* -> 21:00Z: 3600 */
        {0, "c", 0, ts("2024-05-02T20:30:00Z")}, /* -> 21:00Z: 1800 */
    };
    cw_dora_input in = {.ncomponents = 1, .deployments = deps, .ndeployments = 7,
                        .changes = ch, .nchanges = 3};
    cw_dora_params p = {ts("2024-05-01T22:00:00Z"), ts("2024-05-03T02:00:00Z"), 24};
    cw_dora_result r = run(&in, p);
    assert_int_equal(r.ndaily, 3);
    assert_string_equal(r.daily[0].date, "2024-05-01");
    assert_string_equal(r.daily[1].date, "2024-05-02");
    assert_string_equal(r.daily[2].date, "2024-05-03");
    assert_int_equal(r.daily[0].deployments, 1);
    assert_int_equal(r.daily[1].deployments, 3);
    assert_int_equal(r.daily[2].deployments, 1);
    assert_int_equal(r.deployments, 5);
    assert_int_equal(r.deployment_days, 3);
    /* 28 hours = 7/6 days: 5 / (7/6) = 30/7 per day. */
    assert_dbl(r.deployment_frequency_per_day, 30.0 / 7.0);
    assert_int_equal(r.level_deployment_frequency, CW_DORA_LEVEL_ELITE);
    /* Day 1: a (3599.999 s). Day 2: b and c both go to the 21:00Z deployment
     * (merged 20:00 and 20:30, both <= 21:00): 3600 and 1800 -> p50 1800. */
    assert_dbl(r.daily[0].lead_time_p50_s, 3599.999);
    assert_dbl(r.daily[1].lead_time_p50_s, 1800);
    assert_nan(r.daily[2].lead_time_p50_s);
    cw_dora_result_free(&r);
}

static void test_levels_at_boundaries(void **state)
{
    (void)state;
    /* Deployment frequency, deployments per day. */
    assert_int_equal(cw_dora_level_deployment_frequency(1.0001), CW_DORA_LEVEL_ELITE);
    assert_int_equal(cw_dora_level_deployment_frequency(1.0), CW_DORA_LEVEL_HIGH);
    assert_int_equal(cw_dora_level_deployment_frequency(1.0 / 7.0), CW_DORA_LEVEL_HIGH);
    assert_int_equal(cw_dora_level_deployment_frequency(1.0 / 7.0 - 1e-9), CW_DORA_LEVEL_MEDIUM);
    assert_int_equal(cw_dora_level_deployment_frequency(1.0 / 30.0), CW_DORA_LEVEL_MEDIUM);
    assert_int_equal(cw_dora_level_deployment_frequency(1.0 / 30.0 - 1e-9), CW_DORA_LEVEL_LOW);
    assert_int_equal(cw_dora_level_deployment_frequency(0), CW_DORA_LEVEL_LOW);
    /* Lead time p50, seconds. */
    assert_int_equal(cw_dora_level_lead_time(86399.999), CW_DORA_LEVEL_ELITE);
    assert_int_equal(cw_dora_level_lead_time(86400), CW_DORA_LEVEL_HIGH);
    assert_int_equal(cw_dora_level_lead_time(604799), CW_DORA_LEVEL_HIGH);
    assert_int_equal(cw_dora_level_lead_time(604800), CW_DORA_LEVEL_MEDIUM);
    assert_int_equal(cw_dora_level_lead_time(2591999), CW_DORA_LEVEL_MEDIUM);
    assert_int_equal(cw_dora_level_lead_time(2592000), CW_DORA_LEVEL_LOW);
    assert_int_equal(cw_dora_level_lead_time(NAN), CW_DORA_LEVEL_NONE);
    /* Change failure rate: 2024's medium (10 %) is below high (20 %). */
    assert_int_equal(cw_dora_level_change_failure_rate(0.0), CW_DORA_LEVEL_ELITE);
    assert_int_equal(cw_dora_level_change_failure_rate(0.05), CW_DORA_LEVEL_ELITE);
    assert_int_equal(cw_dora_level_change_failure_rate(1.0 / 19.0), CW_DORA_LEVEL_HIGH);
    assert_int_equal(cw_dora_level_change_failure_rate(0.10), CW_DORA_LEVEL_HIGH);
    assert_int_equal(cw_dora_level_change_failure_rate(0.2), CW_DORA_LEVEL_HIGH);
    assert_int_equal(cw_dora_level_change_failure_rate(0.2001), CW_DORA_LEVEL_LOW);
    assert_int_equal(cw_dora_level_change_failure_rate(1.0), CW_DORA_LEVEL_LOW);
    assert_int_equal(cw_dora_level_change_failure_rate(NAN), CW_DORA_LEVEL_NONE);
    /* 1 of 20 deployments is exactly 5 %. */
    assert_int_equal(cw_dora_level_change_failure_rate(1.0 / 20.0), CW_DORA_LEVEL_ELITE);
    /* Time to restore p50, seconds. */
    assert_int_equal(cw_dora_level_time_to_restore(3599.999), CW_DORA_LEVEL_ELITE);
    assert_int_equal(cw_dora_level_time_to_restore(3600), CW_DORA_LEVEL_HIGH);
    assert_int_equal(cw_dora_level_time_to_restore(86399), CW_DORA_LEVEL_HIGH);
    assert_int_equal(cw_dora_level_time_to_restore(86400), CW_DORA_LEVEL_LOW);
    assert_string_equal(cw_dora_level_name(CW_DORA_LEVEL_MEDIUM), "medium");
    assert_null(cw_dora_level_name(CW_DORA_LEVEL_NONE));
}

static void test_json_shape(void **state)
{
    (void)state;
    cw_dora_deployment deps[] = {{0, ts("2024-05-02T10:00:00Z"), "a", NULL, NULL, 0},
                                 {0, ts("2024-05-03T10:00:00Z"), "b", NULL, NULL, 0}};
    cw_dora_change ch[] = {{0, "c", ts("2024-05-02T09:00:00Z"), ts("2024-05-02T09:30:00Z")}};
    cw_dora_rollback rb[] = {{0, ts("2024-05-02T11:00:00Z")}};
    cw_dora_incident inc[] = {{"i", 0, ts("2024-05-03T10:30:00Z"), ts("2024-05-03T11:00:00Z"), NULL}};
    cw_dora_input in = {1, deps, 2, rb, 1, ch, 1, inc, 1};
    cw_dora_params p = {ts("2024-05-02T00:00:00Z"), ts("2024-05-04T00:00:00Z"), 24};
    cw_dora_result r = run(&in, p);
    json_t *j;
    assert_int_equal(cw_dora_to_json(&r, "component:default/shop", &j), CW_OK);
    char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));
    const char *want =
        "{\"scope\":\"component:default/shop\",\"from\":\"2024-05-02T00:00:00Z\","
        "\"to\":\"2024-05-04T00:00:00Z\",\"deployments\":2,\"deploymentFrequencyPerDay\":1.0,"
        "\"deploymentDays\":2,\"leadTimeSeconds\":{\"p50\":3600.0,\"p90\":3600.0,\"count\":1},"
        "\"changeFailureRate\":1.0,\"failedDeployments\":2,"
        "\"timeToRestoreSeconds\":{\"p50\":1800.0,\"p90\":1800.0,\"count\":1},\"openIncidents\":0,"
        "\"level\":{\"deploymentFrequency\":\"high\",\"leadTime\":\"elite\","
        "\"changeFailureRate\":\"low\",\"timeToRestore\":\"elite\"},"
        "\"daily\":[{\"date\":\"2024-05-02\",\"deployments\":1,\"failedDeployments\":1,"
        "\"leadTimeP50Seconds\":3600.0},{\"date\":\"2024-05-03\",\"deployments\":1,"
        "\"failedDeployments\":1,\"leadTimeP50Seconds\":null}]}";
    assert_string_equal(text, want);
    free(text);
    json_decref(j);
    cw_dora_result_free(&r);
}

static void test_invalid_input(void **state)
{
    (void)state;
    cw_dora_result r;
    cw_diag d = {""};
    cw_dora_input in = {.ncomponents = 1};
    cw_dora_params p = may();
    p.to_ms = p.from_ms;
    assert_int_equal(cw_dora_compute(&in, &p, &r, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "to: must be after from");
    p = may();
    p.from_ms -= 4000 * DAY;
    assert_int_equal(cw_dora_compute(&in, &p, &r, &d), CW_ERR_INVALID);
    p = may();
    p.failure_window_hours = -1;
    assert_int_equal(cw_dora_compute(&in, &p, &r, &d), CW_ERR_INVALID);
    cw_dora_deployment deps[] = {{0, 1, NULL, NULL, NULL, 0}, {3, 2, NULL, NULL, NULL, 0}};
    in.deployments = deps;
    in.ndeployments = 2;
    assert_int_equal(cw_dora_compute(&in, &(cw_dora_params){may().from_ms, may().to_ms, 24}, &r, &d),
                     CW_ERR_INVALID);
    assert_string_equal(d.msg, "deployments[1].component: 3 out of range");
    assert_null(r.daily);
    in.ndeployments = 1;
    cw_dora_incident inc[] = {{"i", 5, 1, 0, NULL}};
    in.incidents = inc;
    in.nincidents = 1;
    p = may();
    assert_int_equal(cw_dora_compute(&in, &p, &r, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "incidents[0].component: 5 out of range");
}

/* ---- cross-check against a direct, quadratic reading of the rules ---------- */

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Deployment order: (time, index). */
static bool before(const cw_dora_deployment *d, size_t a, size_t b)
{
    return d[a].time_ms < d[b].time_ms || (d[a].time_ms == d[b].time_ms && a < b);
}

static bool is_explicit(const cw_dora_deployment *d) { return d->nchange_ids > 0; }

/* The record an explicit id refers to: same component first, then lowest index. */
static long ref_change(const cw_dora_input *in, const char *id, int32_t comp)
{
    long best = -1;
    for (size_t i = 0; i < in->nchanges; i++) {
        if (strcmp(in->changes[i].change_id, id) != 0)
            continue;
        if (best < 0 || (in->changes[i].component == comp && in->changes[best].component != comp))
            best = (long)i;
    }
    return best;
}

/* At most two listed ids per deployment (as generated below). */
static void reference(const cw_dora_input *in, const cw_dora_params *p, size_t *failed_out,
                      size_t *lt_count, int64_t *lts)
{
    const cw_dora_deployment *d = in->deployments;
    size_t nd = in->ndeployments;
    bool *failed = calloc(nd, sizeof *failed);
    for (size_t k = 0; k < nd; k++) {
        /* next deployment of the component */
        long next = -1;
        for (size_t j = 0; j < nd; j++)
            if (d[j].component == d[k].component && before(d, k, j) &&
                (next < 0 || before(d, j, (size_t)next)))
                next = (long)j;
        int64_t next_t = next < 0 ? INT64_MAX : d[next].time_ms;
        for (size_t r = 0; r < in->nrollbacks; r++)
            if (in->rollbacks[r].component == d[k].component &&
                in->rollbacks[r].time_ms >= d[k].time_ms && in->rollbacks[r].time_ms < next_t)
                failed[k] = true;
    }
    for (size_t i = 0; i < in->nincidents; i++) {
        const cw_dora_incident *inc = &in->incidents[i];
        long latest = -1, earliest = -1;
        for (size_t k = 0; inc->artifact_id && k < nd; k++) {
            if (!d[k].artifact_id || strcmp(d[k].artifact_id, inc->artifact_id) != 0)
                continue;
            if (earliest < 0 || before(d, k, (size_t)earliest))
                earliest = (long)k;
            if (d[k].time_ms <= inc->start_ms && (latest < 0 || before(d, (size_t)latest, k)))
                latest = (long)k;
        }
        if (earliest >= 0) {
            failed[latest >= 0 ? latest : earliest] = true;
            continue;
        }
        if (inc->component < 0 || inc->start_ms == 0)
            continue;
        long prev = -1;
        for (size_t k = 0; k < nd; k++)
            if (d[k].component == inc->component && d[k].time_ms <= inc->start_ms &&
                (prev < 0 || before(d, (size_t)prev, k)))
                prev = (long)k;
        if (prev >= 0 && inc->start_ms - d[prev].time_ms <= (int64_t)p->failure_window_hours * H)
            failed[prev] = true;
    }
    size_t nf = 0;
    for (size_t k = 0; k < nd; k++)
        if (failed[k] && d[k].time_ms >= p->from_ms && d[k].time_ms < p->to_ms)
            nf++;
    *failed_out = nf;

    /* Which change record each listed id names (computed once). */
    long *named = malloc((nd * 2 + 1) * sizeof *named);
    for (size_t k = 0; k < nd; k++)
        for (size_t j = 0; j < d[k].nchange_ids && j < 2; j++)
            named[2 * k + j] = ref_change(in, d[k].change_ids[j], d[k].component);
    size_t nlt = 0;
    for (size_t c = 0; c < in->nchanges; c++) {
        const cw_dora_change *ch = &in->changes[c];
        long att = -1;
        if (ch->merged_ms) {
            long first = -1;
            for (size_t k = 0; k < nd; k++)
                if (d[k].component == ch->component && d[k].time_ms >= ch->merged_ms &&
                    (first < 0 || before(d, k, (size_t)first)))
                    first = (long)k;
            if (first >= 0 && !is_explicit(&d[first]))
                att = first;
        }
        for (size_t k = 0; k < nd; k++)
            for (size_t j = 0; j < d[k].nchange_ids; j++)
                if (named[2 * k + j] == (long)c &&
                    (att < 0 || before(d, k, (size_t)att)))
                    att = (long)k;
        if (att < 0 || d[att].time_ms < p->from_ms || d[att].time_ms >= p->to_ms)
            continue;
        int64_t start = ch->created_ms ? ch->created_ms : ch->merged_ms;
        if (start != 0 && d[att].time_ms - start > 0) /* no known start: no lead time */
            lts[nlt++] = d[att].time_ms - start;
    }
    qsort(lts, nlt, sizeof *lts, cw__cmp_i64);
    *lt_count = nlt;
    free(named);
    free(failed);
}

static void test_matches_reference(void **state)
{
    (void)state;
    enum { NC = 6, ND = 400, NCH = 1500, NR = 40, NI = 80 };
    int64_t base = ts("2024-03-01T00:00:00Z");
    for (int round = 0; round < 3; round++) {
        cw_dora_deployment *d = calloc(ND, sizeof *d);
        cw_dora_change *ch = calloc(NCH, sizeof *ch);
        cw_dora_rollback *rb = calloc(NR, sizeof *rb);
        cw_dora_incident *inc = calloc(NI, sizeof *inc);
        char (*ids)[16] = calloc(NCH, sizeof *ids);
        char (*arts)[16] = calloc(ND, sizeof *arts);
        const char **lists = calloc(ND * 2, sizeof *lists);
        /* Hour granularity makes equal times (ties) common. */
        for (size_t i = 0; i < NCH; i++) {
            snprintf(ids[i], sizeof ids[i], "c%zu", next_rand() % (NCH - 100));
            int64_t m = base + (int64_t)(next_rand() % (60 * 24)) * H;
            ch[i] = (cw_dora_change){(int32_t)(next_rand() % NC), ids[i],
                                     next_rand() % 4 ? m - (int64_t)(next_rand() % 48) * H : 0,
                                     next_rand() % 8 ? m : 0};
        }
        for (size_t i = 0; i < ND; i++) {
            snprintf(arts[i], sizeof arts[i], "a%zu", next_rand() % (ND / 2));
            d[i] = (cw_dora_deployment){(int32_t)(next_rand() % NC),
                                        base + (int64_t)(next_rand() % (60 * 24)) * H,
                                        next_rand() % 3 ? arts[i] : NULL, NULL, NULL, 0};
            if (round > 0 && next_rand() % 4 == 0) {
                lists[2 * i] = ids[next_rand() % NCH];
                lists[2 * i + 1] = ids[next_rand() % NCH];
                d[i].change_ids = &lists[2 * i];
                d[i].nchange_ids = 2;
            }
        }
        for (size_t i = 0; i < NR; i++)
            rb[i] = (cw_dora_rollback){(int32_t)(next_rand() % NC),
                                       base + (int64_t)(next_rand() % (60 * 24)) * H};
        for (size_t i = 0; i < NI; i++) {
            int64_t st = base + (int64_t)(next_rand() % (60 * 24)) * H;
            inc[i] = (cw_dora_incident){"i", (int32_t)(next_rand() % (NC + 1)) - 1, st,
                                        st + (int64_t)(next_rand() % 10) * H,
                                        next_rand() % 3 == 0 ? arts[next_rand() % ND] : NULL};
            if (next_rand() % 5 == 0)
                inc[i].artifact_id = "never-deployed";
        }
        cw_dora_input in = {NC, d, ND, rb, NR, ch, NCH, inc, NI};
        cw_dora_params p = {base + 10 * DAY, base + 50 * DAY, round == 2 ? 6 : 24};
        cw_dora_result r = run(&in, p);
        size_t nf, nlt;
        int64_t *lts = calloc(NCH, sizeof *lts);
        reference(&in, &p, &nf, &nlt, lts);
        assert_int_equal(r.failed_deployments, nf);
        assert_int_equal(r.lead_time_count, nlt);
        assert_true(nlt > 100);
        assert_dbl(r.lead_time_p50_s, (double)cw_percentile_nearest_rank(lts, nlt, 50) / 1000.0);
        assert_dbl(r.lead_time_p90_s, (double)cw_percentile_nearest_rank(lts, nlt, 90) / 1000.0);
        free(lts);
        cw_dora_result_free(&r);
        free(d);
        free(ch);
        free(rb);
        free(inc);
        free(ids);
        free(arts);
        free(lists);
    }
}

static int cmp_key_ref(const void *a, const void *b)
{
    const cw__sort_key *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

static void test_radix_sorts(void **state)
{
    (void)state;
    enum { N = 20000 };
    cw__sort_key *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    int64_t *v = malloc(N * sizeof *v), *w = malloc(N * sizeof *w);
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < N; i++) {
            /* Negative, huge and repeated times; keys 0..99. */
            int64_t t = round == 0   ? (int64_t)(next_rand() % 1000) - 500
                        : round == 1 ? (int64_t)next_rand()
                                     : 1714521600000LL + (int64_t)(next_rand() % 5000000000ULL);
            a[i] = (cw__sort_key){(int32_t)(next_rand() % 100), (uint32_t)i, t};
            v[i] = t;
        }
        memcpy(b, a, N * sizeof *a);
        memcpy(w, v, N * sizeof *v);
        assert_int_equal(cw__sort_keys(a, N, 100), CW_OK);
        qsort(b, N, sizeof *b, cmp_key_ref);
        assert_memory_equal(a, b, N * sizeof *a);
        assert_int_equal(cw__sort_i64(v, N), CW_OK);
        qsort(w, N, sizeof *w, cw__cmp_i64);
        assert_memory_equal(v, w, N * sizeof *v);
    }
    free(a);
    free(b);
    free(v);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percentile_nearest_rank),
        cmocka_unit_test(test_no_deployments),
        cmocka_unit_test(test_lead_time_and_merged_after_last_deployment),
        cmocka_unit_test(test_explicit_changes),
        cmocka_unit_test(test_rollback_then_redeploy),
        cmocka_unit_test(test_incidents_naming_artifacts),
        cmocka_unit_test(test_incident_failure_window),
        cmocka_unit_test(test_incident_causes),
        cmocka_unit_test(test_daily_buckets_across_midnight),
        cmocka_unit_test(test_levels_at_boundaries),
        cmocka_unit_test(test_json_shape),
        cmocka_unit_test(test_invalid_input),
        cmocka_unit_test(test_matches_reference),
        cmocka_unit_test(test_radix_sorts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
