/* test_heartbeat.c — the Heartbeat kind (src/catalog/heartbeat.c): spec
 * validation naming each wrong field, durations, and the state machine
 * (new -> up -> grace -> down, paused, started) driven by an explicit
 * clock, with healthchecks' timing rules for period and cron schedules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "catalog/catalog.h"
#include "catalog/heartbeat.h"
#include "util/duration.h"
#include "util/timeutil.h"

#define MIN 60000LL
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

static int64_t at_ms(const char *rfc3339)
{
    int64_t ms;
    assert_true(cw_time_parse_rfc3339(rfc3339, &ms));
    return ms;
}

static json_t *entity(const char *spec_json)
{
    char text[2048];
    snprintf(text, sizeof text,
             "{\"apiVersion\":\"conway.dev/v1\",\"kind\":\"Heartbeat\","
             "\"metadata\":{\"name\":\"orders-db-backup\"},\"spec\":%s}",
             spec_json);
    json_error_t je;
    json_t *e = json_loads(text, 0, &je);
    if (!e)
        fail_msg("bad test JSON: %s", je.text);
    return e;
}

/* Validates and returns the joined messages ("" when valid). */
static const char *validate(const char *spec_json, char *buf, size_t cap)
{
    json_t *e = entity(spec_json);
    cw_diag d = {{0}};
    cw_err err = cw_entity_validate(e, &d);
    snprintf(buf, cap, "%s", err ? d.msg : "");
    json_decref(e);
    return buf;
}

static void test_durations(void **state)
{
    (void)state;
    /* the heartbeat spec reads main's parser (milliseconds) in whole seconds */
    int64_t ms;
    assert_true(cw_duration_parse("90s", &ms));
    assert_int_equal(ms, 90000);
    assert_true(cw_duration_parse("1h30m", &ms));
    assert_int_equal(ms, 5400000);
    assert_true(cw_duration_parse("2w1d", &ms));
    assert_int_equal(ms, 15LL * 86400000);
    assert_true(cw_duration_parse("3600", &ms));
    assert_int_equal(ms, 3600000);
    static const char *const bad[] = {"", "1x", "h", "1m1h", "1h1h", "-5m", "1.5h", "1h 30m",
                                      "99999999999999w", "5s3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (cw_duration_parse(bad[i], &ms))
            fail_msg("accepted \"%s\"", bad[i]);
    char out[32];
    cw_duration_format(129600000, out);
    assert_string_equal(out, "1d12h");
    cw_duration_format(61000, out);
    assert_string_equal(out, "1m1s");
}

static void test_validation(void **state)
{
    (void)state;
    char buf[600];
    assert_string_equal(validate("{\"owner\":\"team-a\",\"purpose\":\"backup\","
                                 "\"target\":\"resource:default/orders-db\","
                                 "\"period\":\"1d\",\"grace\":\"1h\"}",
                                 buf, sizeof buf),
                        "");
    assert_string_equal(validate("{\"owner\":\"team-a\",\"purpose\":\"job\","
                                 "\"cron\":\"0 3 * * *\",\"tz\":\"Europe/Berlin\",\"grace\":3600}",
                                 buf, sizeof buf),
                        "");
    static const struct {
        const char *spec, *want;
    } cases[] = {
        {"{\"purpose\":\"backup\",\"period\":\"1d\",\"grace\":\"1h\"}", "spec.owner: required"},
        {"{\"owner\":\"a\",\"purpose\":\"nightly\",\"period\":\"1d\",\"grace\":\"1h\"}",
         "spec.purpose: must be backup, restore-test or job"},
        {"{\"owner\":\"a\",\"purpose\":\"job\",\"grace\":\"1h\"}", "spec: a schedule is required"},
        {"{\"owner\":\"a\",\"purpose\":\"job\",\"period\":\"1d\",\"cron\":\"* * * * *\","
         "\"grace\":\"1h\"}",
         "not both"},
        {"{\"owner\":\"a\",\"purpose\":\"job\",\"period\":\"1d\"}", "spec.grace: required"},
        {"{\"owner\":\"a\",\"purpose\":\"job\",\"period\":\"10s\",\"grace\":\"1h\"}",
         "spec.period: must be between 60s and 365d"},
        {"{\"owner\":\"a\",\"purpose\":\"job\",\"period\":\"1q\",\"grace\":\"1h\"}",
         "spec.period: \"1q\" is not a duration"},
        {"{\"owner\":\"a\",\"purpose\":\"job\",\"cron\":\"0 3 * *\",\"grace\":\"1h\"}",
         "spec.cron: cron: expected 5 fields"},
        {"{\"owner\":\"a\",\"purpose\":\"job\",\"cron\":\"0 3 * * *\",\"tz\":\"Mars/Olympus\","
         "\"grace\":\"1h\"}",
         "spec.tz: time zone Mars/Olympus: not in the tz database"},
        {"{\"owner\":\"a\",\"purpose\":\"job\",\"period\":\"1d\",\"tz\":\"UTC\",\"grace\":\"1h\"}",
         "spec.tz: only applies to a cron schedule"},
        {"{\"owner\":\"a\",\"purpose\":\"job\",\"period\":\"1d\",\"grace\":\"1h\","
         "\"target\":\"orders-db\"}",
         "spec.target:"},
        {"{\"owner\":\"a\",\"purpose\":\"job\",\"period\":\"1d\",\"grace\":\"1h\","
         "\"target\":\"system:default/orders\"}",
         "spec.target: must be a Resource or a Component"},
        {"{\"owner\":\"a\",\"purpose\":\"job\",\"period\":\"1d\",\"grace\":\"1h\","
         "\"dependsOn\":\"orders-db-backup\"}",
         "spec.dependsOn: a heartbeat cannot depend on itself"},
        {"{\"owner\":\"a\",\"purpose\":\"job\",\"period\":\"1d\",\"grace\":\"1h\","
         "\"peroid\":\"1d\"}",
         "spec: unknown field \"peroid\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        validate(cases[i].spec, buf, sizeof buf);
        if (!strstr(buf, cases[i].want))
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, buf, cases[i].want);
    }
}

static void test_spec_read(void **state)
{
    (void)state;
    json_t *e = entity("{\"owner\":\"team-a\",\"purpose\":\"restore-test\","
                       "\"target\":\"resource:orders-db\",\"dependsOn\":\"nightly\","
                       "\"cron\":\"0 3 * * *\",\"grace\":\"30m\"}");
    cw_hb_spec sp;
    cw_diag d = {{0}};
    assert_int_equal(cw_hb_spec_read(e, &sp, &d), CW_OK);
    assert_string_equal(sp.owner, "group:default/team-a");
    assert_string_equal(sp.target, "resource:default/orders-db");
    assert_string_equal(sp.depends_on, "heartbeat:default/nightly");
    assert_int_equal(sp.purpose, CW_HB_PURPOSE_RESTORE_TEST);
    assert_int_equal(sp.sched.kind, CW_HB_SCHED_CRON);
    assert_string_equal(sp.sched.tz, "UTC");
    assert_int_equal(sp.sched.grace_s, 1800);
    json_decref(e);
}

static cw_hb_schedule period_sched(int64_t period_s, int64_t grace_s)
{
    cw_hb_schedule s = {.kind = CW_HB_SCHED_PERIOD, .period_s = period_s, .grace_s = grace_s};
    cw_diag d = {{0}};
    assert_int_equal(cw_hb_schedule_load(&s, &d), CW_OK);
    return s;
}

static void test_period_lifecycle(void **state)
{
    (void)state;
    cw_hb_schedule s = period_sched(86400, 3600);
    cw_hb_state st;
    cw_hb_state_init(&st);
    cw_hb_flip f;
    int64_t t0 = at_ms("2026-03-01T03:00:00Z");
    /* new: never alerts */
    assert_int_equal(cw_hb_shown_status(&s, &st, t0), CW_HB_SHOW_NEW);
    assert_int_equal(cw_hb_down_at(&s, &st), 0);
    cw_hb_evaluate(&s, &st, t0 + 10 * DAY, &f);
    assert_false(f.flipped);
    /* first ping: up, due at ping + period + grace */
    cw_hb_apply_ping(&s, &st, CW_PING_SUCCESS, NULL, t0, &f);
    assert_true(f.flipped);
    assert_int_equal(f.from, CW_HB_NEW);
    assert_int_equal(f.to, CW_HB_UP);
    assert_int_equal(st.alert_after_ms, t0 + DAY + HOUR);
    assert_int_equal(cw_hb_shown_status(&s, &st, t0 + DAY - 1), CW_HB_SHOW_UP);
    assert_int_equal(cw_hb_shown_status(&s, &st, t0 + DAY), CW_HB_SHOW_GRACE);
    assert_int_equal(cw_hb_shown_status(&s, &st, t0 + DAY + HOUR), CW_HB_SHOW_DOWN);
    /* the scheduler does nothing before the due time, then flips once */
    cw_hb_evaluate(&s, &st, t0 + DAY + HOUR - 1, &f);
    assert_false(f.flipped);
    assert_int_equal(st.status, CW_HB_UP);
    cw_hb_evaluate(&s, &st, t0 + DAY + HOUR + 5000, &f);
    assert_true(f.flipped);
    assert_int_equal(f.to, CW_HB_DOWN);
    assert_string_equal(f.reason, "timeout");
    assert_int_equal(f.at_ms, t0 + DAY + HOUR); /* when it went down, not when noticed */
    assert_int_equal(st.alert_after_ms, 0);
    cw_hb_evaluate(&s, &st, t0 + 3 * DAY, &f);
    assert_false(f.flipped);
    /* a ping brings it back up */
    cw_hb_apply_ping(&s, &st, CW_PING_SUCCESS, NULL, t0 + 3 * DAY, &f);
    assert_true(f.flipped);
    assert_int_equal(f.from, CW_HB_DOWN);
    assert_int_equal(f.to, CW_HB_UP);
    /* a fail ping is down at once; log pings change nothing */
    cw_hb_apply_ping(&s, &st, CW_PING_LOG, NULL, t0 + 3 * DAY + MIN, &f);
    assert_false(f.flipped);
    cw_hb_apply_ping(&s, &st, CW_PING_FAIL, NULL, t0 + 3 * DAY + 2 * MIN, &f);
    assert_true(f.flipped);
    assert_string_equal(f.reason, "fail");
    assert_int_equal(st.status, CW_HB_DOWN);
    assert_int_equal(st.alert_after_ms, 0);
    assert_int_equal(st.n_pings, 4);
}

static void test_runs_and_rid(void **state)
{
    (void)state;
    cw_hb_schedule s = period_sched(86400, 3600);
    cw_hb_state st;
    cw_hb_state_init(&st);
    cw_hb_flip f;
    int64_t t0 = at_ms("2026-03-01T03:00:00Z");
    /* a start on a new heartbeat: down if it never ends within grace */
    cw_hb_apply_ping(&s, &st, CW_PING_START, "r1", t0, &f);
    assert_false(f.flipped);
    assert_int_equal(cw_hb_shown_status(&s, &st, t0 + MIN), CW_HB_SHOW_STARTED);
    assert_int_equal(st.alert_after_ms, t0 + HOUR);
    /* the end with the same rid measures the run */
    cw_hb_apply_ping(&s, &st, CW_PING_SUCCESS, "r1", t0 + 20 * MIN, &f);
    assert_int_equal(st.last_duration_ms, 20 * MIN);
    assert_int_equal(st.last_start_ms, 0);
    assert_int_equal(st.alert_after_ms, t0 + 20 * MIN + DAY + HOUR);
    /* an overlapping run: a success with another rid leaves the start open */
    cw_hb_apply_ping(&s, &st, CW_PING_START, "r2", t0 + DAY, &f);
    cw_hb_apply_ping(&s, &st, CW_PING_SUCCESS, "r3", t0 + DAY + MIN, &f);
    assert_int_equal(st.last_start_ms, t0 + DAY);
    assert_int_equal(st.last_duration_ms, -1);
    /* the open start now decides the due time: down at start + grace */
    assert_int_equal(st.alert_after_ms, t0 + DAY + HOUR);
    cw_hb_evaluate(&s, &st, t0 + DAY + HOUR, &f);
    assert_true(f.flipped);
    assert_int_equal(f.to, CW_HB_DOWN);
    assert_int_equal(f.at_ms, t0 + DAY + HOUR);
    /* a fail with any rid ends the run */
    cw_hb_apply_ping(&s, &st, CW_PING_SUCCESS, "r2", t0 + DAY + 2 * HOUR, &f);
    assert_int_equal(st.status, CW_HB_UP);
    assert_int_equal(st.last_duration_ms, 2 * HOUR);
    cw_hb_apply_ping(&s, &st, CW_PING_START, "r4", t0 + 2 * DAY, &f);
    cw_hb_apply_ping(&s, &st, CW_PING_FAIL, "other", t0 + 2 * DAY + MIN, &f);
    assert_int_equal(st.last_start_ms, 0);
    assert_int_equal(st.status, CW_HB_DOWN);
}

static void test_cron_timing(void **state)
{
    (void)state;
    cw_hb_schedule s = {.kind = CW_HB_SCHED_CRON, .grace_s = 1800};
    snprintf(s.cron, sizeof s.cron, "0 3 * * *");
    snprintf(s.tz, sizeof s.tz, "Europe/Berlin");
    cw_diag d = {{0}};
    assert_int_equal(cw_hb_schedule_load(&s, &d), CW_OK);
    cw_hb_state st;
    cw_hb_state_init(&st);
    cw_hb_flip f;
    /* pinged at 03:00:20 Berlin (02:00:20Z) on 2026-03-28; next run 03:00
     * Berlin on 03-29, which is after the change to summer time: 01:00Z */
    cw_hb_apply_ping(&s, &st, CW_PING_SUCCESS, NULL, at_ms("2026-03-28T02:00:20Z"), &f);
    assert_int_equal(cw_hb_grace_start(&s, &st, true), at_ms("2026-03-29T01:00:00Z"));
    assert_int_equal(st.alert_after_ms, at_ms("2026-03-29T01:30:00Z"));
    assert_int_equal(cw_hb_shown_status(&s, &st, at_ms("2026-03-29T01:10:00Z")), CW_HB_SHOW_GRACE);
    cw_hb_evaluate(&s, &st, at_ms("2026-03-29T01:30:00Z"), &f);
    assert_true(f.flipped);
    assert_int_equal(f.at_ms, at_ms("2026-03-29T01:30:00Z"));
}

static void test_pause_resume(void **state)
{
    (void)state;
    cw_hb_schedule s = period_sched(3600, 600);
    cw_hb_state st;
    cw_hb_state_init(&st);
    cw_hb_flip f;
    cw_diag d = {{0}};
    int64_t t0 = at_ms("2026-03-01T00:00:00Z");
    assert_int_equal(cw_hb_resume(&st, t0, &f, &d), CW_ERR_CONFLICT);
    cw_hb_apply_ping(&s, &st, CW_PING_SUCCESS, NULL, t0, &f);
    cw_hb_pause(&st, t0 + MIN, &f);
    assert_true(f.flipped);
    assert_int_equal(st.alert_after_ms, 0);
    cw_hb_evaluate(&s, &st, t0 + DAY, &f);
    assert_false(f.flipped);
    assert_int_equal(cw_hb_shown_status(&s, &st, t0 + DAY), CW_HB_SHOW_PAUSED);
    /* a ping resumes, as in healthchecks */
    cw_hb_apply_ping(&s, &st, CW_PING_SUCCESS, NULL, t0 + DAY, &f);
    assert_int_equal(f.from, CW_HB_PAUSED);
    assert_int_equal(f.to, CW_HB_UP);
    cw_hb_pause(&st, t0 + DAY + MIN, &f);
    assert_int_equal(cw_hb_resume(&st, t0 + DAY + 2 * MIN, &f, &d), CW_OK);
    assert_int_equal(st.status, CW_HB_NEW);
    assert_int_equal(st.last_ping_ms, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),       cmocka_unit_test(test_validation),
        cmocka_unit_test(test_spec_read),       cmocka_unit_test(test_period_lifecycle),
        cmocka_unit_test(test_runs_and_rid),    cmocka_unit_test(test_cron_timing),
        cmocka_unit_test(test_pause_resume),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    cw_tz_cache_reset();
    return rc;
}
