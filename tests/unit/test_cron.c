/* test_cron.c — cron expressions (src/util/cron.c): the grammar healthchecks
 * (cronsim) accepts and refuses, known next runs, daylight-saving
 * transitions handled as Debian cron and cronsim do, and, for random
 * expressions in UTC, agreement with a minute-by-minute search. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/cron.h"
#include "util/timeutil.h"
#include "util/tz.h"

static int64_t at(const char *rfc3339)
{
    int64_t ms;
    assert_true(cw_time_parse_rfc3339(rfc3339, &ms));
    return ms / 1000;
}

static void expect_runs(const char *expr, const char *zone, const char *after,
                        const char *const *want, size_t n)
{
    cw_cron c;
    cw_diag d = {{0}};
    const cw_tz *tz;
    if (cw_cron_parse(expr, &c, &d) != CW_OK)
        fail_msg("%s: %s", expr, d.msg);
    assert_int_equal(cw_tz_get(zone, &tz, &d), CW_OK);
    int64_t t = at(after);
    for (size_t i = 0; i < n; i++) {
        int64_t next;
        assert_int_equal(cw_cron_next(&c, tz, t, &next), CW_OK);
        char text[32];
        cw_time_format_compact(next * 1000, text);
        if (strcmp(text, want[i]))
            fail_msg("%s in %s after %s, run %zu: got %s, want %s", expr, zone, after, i, text,
                     want[i]);
        t = next;
    }
}

static void test_grammar(void **state)
{
    (void)state;
    static const char *const good[] = {
        "* * * * *", "0 0 L * *", "0 0 LW * *", "0 0 * * 5L", "0 0 * * MON#2",
        "*/15 9-17 * * MON-FRI", "0 0 1,15 * *", "0 0 * JAN,jul *", "0 0 * * 7",
        "0 0 5/10 * *", "0 0 L/2 * *", "0 0 * * sun#1", "0-59/7 0-23/5 */3 * *",
        "  1   2   3   4   5  ", "0 0 29 2 *", "05 04 * * *", "0 0 * * 0L", "0 0 * * 7#5",
        "0 0 30 1-3 *", "0 0 * * */2",
    };
    static const char *const bad[] = {
        "", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *",
        "* * 32 * *", "* * * 13 *", "* * * * 8", "0 0 31 2 *", "0 0 30 2 *",
        "*/0 * * * *", "5-1 * * * *", "* * * * 8L", "* * * * MON#6", "* * * * L",
        "* * * * MONL", "* * 1#2 * *", "* * * * 1-5#2", "1,,2 * * * *", "a * * * *",
        "* * * FOO *", "* * * * 5LL", "* * */20 * 1L", "* * * * #1", "- * * * *",
        "1-2-3 * * * *", "* * * * ?", "0 0 31 2,4 *", "*/ * * * *", "\x01 * * * *",
    };
    cw_cron c;
    cw_diag d = {{0}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (cw_cron_parse(good[i], &c, &d) != CW_OK)
            fail_msg("refused \"%s\": %s", good[i], d.msg);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (cw_cron_parse(bad[i], &c, &d) == CW_OK)
            fail_msg("accepted \"%s\"", bad[i]);
    assert_int_equal(cw_cron_parse("* * * * 9", &c, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "day-of-week"));
    assert_int_equal(cw_cron_parse("0 0 31 2 *", &c, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "day-of-month"));
}

static void test_known_runs(void **state)
{
    (void)state;
    const char *const every_15[] = {"2026-03-01T10:15:00Z", "2026-03-01T10:30:00Z",
                                    "2026-03-01T10:45:00Z"};
    expect_runs("*/15 * * * *", "UTC", "2026-03-01T10:00:00Z", every_15, 3);
    /* the same second is not "after" */
    const char *const daily[] = {"2026-03-02T03:00:00Z", "2026-03-03T03:00:00Z"};
    expect_runs("0 3 * * *", "UTC", "2026-03-01T03:00:00Z", daily, 2);
    const char *const mon5[] = {"2044-02-29T00:00:00Z", "2072-02-29T00:00:00Z"};
    expect_runs("0 0 * 2 MON#5", "UTC", "2020-01-01T00:00:00Z", mon5, 2);
    /* both day fields restricted: either matches (13th OR Friday) */
    const char *const or_days[] = {"2026-03-06T00:00:00Z", "2026-03-13T00:00:00Z",
                                   "2026-03-20T00:00:00Z"};
    expect_runs("0 0 13 * FRI", "UTC", "2026-03-01T00:00:00Z", or_days, 3);
    /* a field starting with '*' makes it AND: Fridays that are odd days */
    const char *const and_days[] = {"2026-03-13T00:00:00Z", "2026-03-27T00:00:00Z"};
    expect_runs("0 0 */2 * FRI", "UTC", "2026-03-01T00:00:00Z", and_days, 2);
    const char *const last[] = {"2026-02-28T23:00:00Z", "2026-03-31T23:00:00Z"};
    expect_runs("0 23 L * *", "UTC", "2026-02-01T00:00:00Z", last, 2);
    /* last weekday: 2026-05-31 is a Sunday, so Friday the 29th */
    const char *const lastwd[] = {"2026-05-29T00:00:00Z", "2026-06-30T00:00:00Z"};
    expect_runs("0 0 LW * *", "UTC", "2026-05-01T00:00:00Z", lastwd, 2);
    const char *const lastfri[] = {"2026-05-29T12:00:00Z", "2026-06-26T12:00:00Z"};
    expect_runs("0 12 * * 5L", "UTC", "2026-05-01T00:00:00Z", lastfri, 2);
    /* a zone with a fixed offset: 9:00 in Kolkata is 3:30 UTC */
    const char *const kolkata[] = {"2026-03-02T03:30:00Z"};
    expect_runs("0 9 * * *", "Asia/Kolkata", "2026-03-01T04:00:00Z", kolkata, 1);
}

static void test_dst(void **state)
{
    (void)state;
    /* New York springs forward at 2:00 on 2026-03-08: a job at 2:30 runs at
     * 3:00 EDT that day (the first minute after the jump) */
    const char *const spring[] = {"2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z",
                                  "2026-03-09T06:30:00Z"};
    expect_runs("30 2 * * *", "America/New_York", "2026-03-07T00:00:00Z", spring, 3);
    /* and falls back on 2026-11-01: a job at 1:30 runs once, in the first pass */
    const char *const fall[] = {"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"};
    expect_runs("30 1 * * *", "America/New_York", "2026-11-01T00:00:00Z", fall, 2);
    /* an expression that is not at a fixed time steps through real time and
     * runs in both passes of the repeated hour */
    const char *const every30[] = {"2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z",
                                   "2026-11-01T06:00:00Z", "2026-11-01T06:30:00Z",
                                   "2026-11-02T06:00:00Z"};
    expect_runs("*/30 1 * * *", "America/New_York", "2026-11-01T04:00:00Z", every30, 5);
    /* ... and skips the hour that does not exist */
    const char *const skipped[] = {"2026-03-09T06:00:00Z"};
    expect_runs("*/30 2 * * *", "America/New_York", "2026-03-08T05:00:00Z", skipped, 1);
    /* Lord Howe moves by 30 minutes (2:00 -> 2:30 on 2026-10-04): 2:15 that
     * day runs at 2:30 (+11:00), the next day at 2:15 (values checked against
     * cronsim) */
    const char *const lh[] = {"2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"};
    expect_runs("15 2 * * *", "Australia/Lord_Howe", "2026-10-03T00:00:00Z", lh, 2);
    /* Berlin: 2:30 does not exist on 2026-03-29 */
    const char *const berlin[] = {"2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"};
    expect_runs("30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", berlin, 2);
}

/* Whether minute m (UTC) matches c, straight from the definitions. */
static bool matches(const cw_cron *c, int64_t m)
{
    int64_t days = m / 1440;
    int rem = (int)(m % 1440);
    int64_t y;
    int mo, d;
    cw_civil_from_days(days, &y, &mo, &d);
    int wd = cw_weekday_of_days(days);
    if (!(c->minutes >> (rem % 60) & 1) || !(c->hours >> (rem / 60) & 1) || !(c->months >> mo & 1))
        return false;
    int dim = cw_days_in_month(y, mo);
    int lastwd = dim;
    int wlast = cw_weekday_of_days(cw_days_from_civil(y, mo, dim));
    if (wlast == 0)
        lastwd = dim - 2;
    else if (wlast == 6)
        lastwd = dim - 1;
    bool dom = (c->dom >> d & 1) || (c->dom_last && d == dim) || (c->dom_lastwd && d == lastwd);
    bool dow = (c->dow >> wd & 1) || ((c->dow_last >> wd & 1) && d + 7 > dim) ||
               (c->dow_nth[wd] >> ((d + 6) / 7) & 1);
    return c->day_and ? dom && dow : dom || dow;
}

static void test_random_against_search(void **state)
{
    (void)state;
    static const char *const fields[5][8] = {
        {"*", "0", "*/7", "5-50/15", "0,30", "59", "10-20", "*/1"},
        {"*", "0", "*/5", "9-17", "3,15", "23", "0-23/6", "12"},
        {"*", "1", "*/10", "L", "LW", "15", "28-31", "1,15"},
        {"*", "1", "*/3", "FEB", "JUN-AUG", "12", "1,7", "*/2"},
        {"*", "0", "MON-FRI", "5L", "MON#2", "SUN", "1,3,5", "*/2"},
    };
    srand(42);
    cw_diag d = {{0}};
    for (int i = 0; i < 300; i++) {
        char expr[128];
        snprintf(expr, sizeof expr, "%s %s %s %s %s", fields[0][rand() % 8],
                 fields[1][rand() % 8], fields[2][rand() % 8], fields[3][rand() % 8],
                 fields[4][rand() % 8]);
        cw_cron c;
        if (cw_cron_parse(expr, &c, &d) != CW_OK)
            continue;
        int64_t after = 1767225600 + (int64_t)(rand() % 1000) * 86400 + rand() % 86400;
        int64_t next;
        assert_int_equal(cw_cron_next(&c, cw_tz_utc(), after, &next), CW_OK);
        /* the first matching minute after `after`, searched one by one */
        int64_t m = after / 60 + 1;
        while (!matches(&c, m))
            m++;
        if (next != m * 60)
            fail_msg("%s after %lld: got %lld, search %lld", expr, (long long)after,
                     (long long)next, (long long)(m * 60));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grammar),
        cmocka_unit_test(test_known_runs),
        cmocka_unit_test(test_dst),
        cmocka_unit_test(test_random_against_search),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    cw_tz_cache_reset();
    return rc;
}
