/* test_prometheus.c — the pure parts of the KPI poller (src/ingest/
 * prometheus.c): the window of each fetch (aligned to the step, bounded,
 * overlapping the previous one by a step) and the query_range URL. The
 * poller itself runs against a real Prometheus in tests/api/prometheus. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ingest/prometheus.h"

static void test_window(void **state)
{
    (void)state;
    int64_t s, e;
    /* first fetch: a lookback of 1h at 1m steps, end at the last whole minute */
    cw_prom_window(3600000 * 5 + 59999, 60000, 3600000, 0, &s, &e);
    assert_int_equal(e, 3600000 * 5 + 0);
    assert_int_equal(s, 3600000 * 4);
    /* later: one step before the previous end */
    cw_prom_window(3600000 * 6 + 1, 60000, 3600000, 3600000 * 5, &s, &e);
    assert_int_equal(s, 3600000 * 5 - 60000);
    assert_int_equal(e, 3600000 * 6);
    /* at most 11000 points */
    cw_prom_window(100000000000LL, 1000, 86400000LL * 365, 0, &s, &e);
    assert_int_equal((e - s) / 1000 + 1, CW_PROM_MAX_POINTS);
    assert_int_equal(s % 1000, 0);
}

static void test_url(void **state)
{
    (void)state;
    cw_buf b;
    cw_buf_init(&b, 0);
    assert_int_equal(cw_prom_range_url("http://p:9090/prom", "sum(rate(x{a=\"b c\"}[5m])) / 2", 1000,
                                       61500, 15000, &b),
                     CW_OK);
    assert_string_equal(b.data, "http://p:9090/prom/api/v1/query_range?query=sum%28rate%28x%7Ba%3D"
                                "%22b%20c%22%7D%5B5m%5D%29%29%20%2F%202&start=1.000&end=61.500"
                                "&step=15.000");
    cw_buf_reset(&b);
    assert_int_equal(cw_prom_range_url("http://p", "up", -1500, 0, 1, &b), CW_OK);
    assert_string_equal(b.data, "http://p/api/v1/query_range?query=up&start=-1.500&end=0.000&step=0.001");
    cw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
