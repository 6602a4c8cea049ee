/* test_store_metrics.c — metric series and samples in the store
 * (store_metrics.h) on every backend: step aggregates checked against a
 * brute-force computation over the same samples, replacement of a sample,
 * label matching and the answer's bounds (series, points), the cardinality
 * cap of one name (all or nothing), the list of names, and the creation
 * times of entities. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "events/metric.h"
#include "fixtures.h"
#include "store/store_metrics.h"

#define T0 1735689600000LL /* 2025-01-01 */
#define HOUR 3600000LL

static uint64_t rng = 88172645463325252ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void add(cw_metric_batch *b, const char *name, const char *team, int64_t t, double v)
{
    cw_metric_label l[2] = {{"team", (char *)team}, {"env", "prod"}};
    cw_diag d = {{0}};
    assert_int_equal(cw_metric_batch_add(b, name, l, team ? 2 : 0, t, v, 0, &d), CW_OK);
}

/* The brute-force aggregate of samples (ts, vs)[0..n) in [t, end). */
static bool brute(const int64_t *ts, const double *vs, size_t n, int64_t t, int64_t end,
                  cw_metric_agg agg, double *out)
{
    double acc = 0, best = 0;
    int64_t last_t = INT64_MIN;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (ts[i] < t || ts[i] >= end)
            continue;
        if (!k || (agg == CW_AGG_MIN ? vs[i] < best : vs[i] > best))
            best = vs[i];
        if (ts[i] > last_t) {
            last_t = ts[i];
            if (agg == CW_AGG_LAST)
                *out = vs[i];
        }
        acc += vs[i];
        k++;
    }
    if (!k)
        return false;
    if (agg == CW_AGG_AVG)
        *out = acc / (double)k;
    else if (agg == CW_AGG_SUM)
        *out = acc;
    else if (agg == CW_AGG_COUNT)
        *out = (double)k;
    else if (agg == CW_AGG_MIN || agg == CW_AGG_MAX)
        *out = best;
    return true;
}

static void test_steps_match_brute_force(void **state)
{
    fx_store *f = *state;
    enum { N = 600 };
    int64_t ts[N];
    double vs[N];
    cw_metric_batch b = {0};
    for (size_t i = 0; i < N; i++) {
        /* irregular times over ~10 days, some before the window */
        ts[i] = T0 - 12 * HOUR + (int64_t)(next_rand() % (240 * HOUR));
        vs[i] = (double)(int64_t)(next_rand() % 2000000) / 1000.0 - 500.0;
        add(&b, "kpi_conversion", "payments", ts[i], vs[i]);
    }
    /* a second series and another name that must not leak into the answer */
    add(&b, "kpi_conversion", "growth", T0 + HOUR, 99);
    add(&b, "kpi_other", "payments", T0 + HOUR, 77);
    cw_metric_batch_finish(&b);
    /* times drawn twice keep the later value: mirror that in the arrays */
    for (size_t i = 0; i < N; i++)
        for (size_t j = i + 1; j < N; j++)
            if (ts[j] == ts[i])
                ts[i] = INT64_MIN / 2; /* the earlier one is gone */
    cw_diag d = {{0}};
    cw_metric_put_result res;
    assert_int_equal(cw_store_metrics_put(f->s, &b, &res, &d), CW_OK);
    assert_int_equal(res.samples, b.nsamples);
    assert_int_equal(res.series_new, 3);
    cw_metric_batch_free(&b);

    cw_metric_labels want = {0};
    assert_int_equal(cw_metric_labels_parse("team=\"payments\"", &want, &d), CW_OK);
    static const int64_t steps[] = {HOUR, 6 * HOUR, 24 * HOUR, 7 * 24 * HOUR};
    for (size_t si = 0; si < FX_LEN(steps); si++) {
        for (int agg = CW_AGG_LAST; agg <= CW_AGG_COUNT; agg++) {
            cw_metric_query q = {.name = "kpi_conversion", .match = &want, .from_ms = T0,
                                 .to_ms = T0 + 200 * HOUR, .step_ms = steps[si],
                                 .agg = (cw_metric_agg)agg};
            cw_metric_result r;
            assert_int_equal(cw_store_metrics_query(f->s, &q, &r, &d), CW_OK);
            assert_int_equal(r.nseries, 1);
            assert_string_equal(r.series[0].labels_json, "{\"env\":\"prod\",\"team\":\"payments\"}");
            size_t k = 0;
            for (int64_t t = q.from_ms; t < q.to_ms; t += q.step_ms) {
                double want_v;
                if (!brute(ts, vs, N, t, t + q.step_ms < q.to_ms ? t + q.step_ms : q.to_ms, q.agg,
                           &want_v))
                    continue;
                assert_true(k < r.series[0].npoints);
                assert_int_equal(r.series[0].points[k].time_ms, t);
                double got = r.series[0].points[k].value;
                if (fabs(got - want_v) > 1e-9 * (1 + fabs(want_v)))
                    fail_msg("step %lld agg %s at %lld: %.17g != %.17g", (long long)q.step_ms,
                             cw_metric_agg_name(q.agg), (long long)t, got, want_v);
                k++;
            }
            assert_int_equal(k, r.series[0].npoints);
            cw_metric_result_free(&r);
        }
    }
    cw_metric_labels_free(&want);
}

static void test_replace_match_and_bounds(void **state)
{
    fx_store *f = *state;
    cw_metric_batch b = {0};
    cw_diag d = {{0}};
    add(&b, "m", "a", T0, 1);
    add(&b, "m", "b", T0, 2);
    add(&b, "m", "c", T0, 3);
    add(&b, "m", NULL, T0, 4);
    cw_metric_batch_finish(&b);
    assert_int_equal(cw_store_metrics_put(f->s, &b, NULL, &d), CW_OK);
    cw_metric_batch_free(&b);
    /* the same sample again replaces the value; a new series is counted */
    add(&b, "m", "a", T0, 10);
    cw_metric_batch_finish(&b);
    cw_metric_put_result res;
    assert_int_equal(cw_store_metrics_put(f->s, &b, &res, &d), CW_OK);
    assert_int_equal(res.series_new, 0);
    cw_metric_batch_free(&b);

    cw_metric_query q = {.name = "m", .from_ms = T0, .to_ms = T0 + HOUR, .step_ms = HOUR};
    cw_metric_result r;
    assert_int_equal(cw_store_metrics_query(f->s, &q, &r, &d), CW_OK);
    assert_int_equal(r.nseries, 4);
    assert_int_equal(r.series_total, 4);
    assert_string_equal(r.series[0].labels_json, "{\"env\":\"prod\",\"team\":\"a\"}");
    assert_true(r.series[0].points[0].value == 10);
    assert_string_equal(r.series[3].labels_json, "{}");
    cw_metric_result_free(&r);
    /* at most max_series, counted all the same */
    q.max_series = 2;
    assert_int_equal(cw_store_metrics_query(f->s, &q, &r, &d), CW_OK);
    assert_int_equal(r.nseries, 2);
    assert_int_equal(r.series_total, 4);
    cw_metric_result_free(&r);
    /* the point budget: 4 series x 3000 steps */
    q.max_series = 0;
    q.to_ms = T0 + 3000 * HOUR;
    assert_int_equal(cw_store_metrics_query(f->s, &q, &r, &d), CW_ERR_TOO_LARGE);
    assert_string_equal(d.msg, "step: 4 series of 3000 steps each is more than the 11000 points "
                               "answered; choose a larger step or narrower labels");
    q.to_ms = T0 + 20000 * HOUR;
    assert_int_equal(cw_store_metrics_query(f->s, &q, &r, &d), CW_ERR_TOO_LARGE);
    assert_string_equal(d.msg, "step: 20000 steps from 'from' to 'to'; at most 11000 points are "
                               "answered, choose a larger step");
    /* unknown names answer nothing */
    q.name = "nothing";
    q.to_ms = T0 + HOUR;
    assert_int_equal(cw_store_metrics_query(f->s, &q, &r, &d), CW_OK);
    assert_int_equal(r.nseries, 0);
    cw_metric_result_free(&r);

    cw_metric_name_info *names = NULL;
    size_t n = 0;
    assert_int_equal(cw_store_metrics_names(f->s, &names, &n, &d), CW_OK);
    assert_int_equal(n, 1);
    assert_string_equal(names[0].name, "m");
    assert_int_equal(names[0].series, 4);
    assert_int_equal(names[0].first_ms, T0);
    assert_int_equal(names[0].last_ms, T0);
    cw_metric_names_free(names, n);
}

static void test_cardinality_cap(void **state)
{
    fx_store *f = *state;
    cw_metric_batch b = {0};
    cw_diag d = {{0}};
    char team[32];
    for (int i = 0; i < CW_METRIC_MAX_SERIES_PER_NAME; i++) {
        snprintf(team, sizeof team, "t%04d", i);
        add(&b, "wide", team, T0, i);
    }
    cw_metric_batch_finish(&b);
    assert_int_equal(cw_store_metrics_put(f->s, &b, NULL, &d), CW_OK);
    cw_metric_batch_free(&b);
    /* one more label set (with a sample of a known series): nothing is stored */
    add(&b, "wide", "t0000", T0 + 1, 5);
    add(&b, "wide", "extra", T0, 1);
    cw_metric_batch_finish(&b);
    assert_int_equal(cw_store_metrics_put(f->s, &b, NULL, &d), CW_ERR_TOO_LARGE);
    assert_string_equal(d.msg, "metric 'wide': more than 1000 label sets; drop a label whose "
                               "values keep changing (ids, timestamps)");
    cw_metric_batch_free(&b);
    cw_metric_labels want = {0};
    assert_int_equal(cw_metric_labels_parse("team=\"t0000\"", &want, &d), CW_OK);
    cw_metric_query q = {.name = "wide", .match = &want, .from_ms = T0, .to_ms = T0 + HOUR,
                         .step_ms = 1, .agg = CW_AGG_COUNT, .max_points = 1000000};
    q.to_ms = T0 + 10;
    cw_metric_result r;
    assert_int_equal(cw_store_metrics_query(f->s, &q, &r, &d), CW_OK);
    assert_int_equal(r.nseries, 1);
    assert_int_equal(r.series[0].npoints, 1); /* the T0 + 1 sample was not stored */
    cw_metric_result_free(&r);
    cw_metric_labels_free(&want);
}

static void test_entity_times(void **state)
{
    fx_store *f = *state;
    cw_diag d = {{0}};
    json_t *g = fx_entity("{'apiVersion':'conway.dev/v1','kind':'Goal','metadata':{'name':'g1'},"
                          "'spec':{'owner':'team-a'}}");
    json_t *c = fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Component',"
                          "'metadata':{'name':'goal'},'spec':{'type':'service',"
                          "'lifecycle':'production','owner':'team-a'}}");
    cw_put_result pr;
    int64_t before = (int64_t)time(NULL) * 1000;
    assert_int_equal(cw_store_entity_put(f->s, g, NULL, &pr, &d), CW_OK);
    assert_int_equal(cw_store_entity_put(f->s, c, NULL, &pr, &d), CW_OK);
    cw_entity_time *v = NULL;
    size_t n = 0;
    assert_int_equal(cw_store_entity_times(f->s, "Goal", &v, &n, &d), CW_OK);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].key, "goal:default/g1");
    assert_true(v[0].created_ms >= before - 1000 && v[0].created_ms <= before + 5000);
    free(v);
    json_decref(g);
    json_decref(c);
}

int main(void)
{
#define T(fn) FX_STORE_TEST(fn)
    const struct CMUnitTest tests[] = {
        T(test_steps_match_brute_force),
        T(test_replace_match_and_bounds),
        T(test_cardinality_cap),
        T(test_entity_times),
    };
    return fx_run_backends("store metrics", tests, FX_LEN(tests));
}
