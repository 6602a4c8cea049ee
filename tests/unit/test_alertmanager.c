/*
 * test_alertmanager.c — Alertmanager webhook notifications (issue #13,
 * events/alertmanager.h): the example payloads of tests/data/alertmanager
 * decode with every field; each broken field is named; the group's
 * component, severity, environment and title; how a notification opens,
 * joins or resolves the group's incident (the episode rules); and the
 * incident CDEvents it records pass the ordinary CDEvents decoder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/alertmanager.h"
#include "events/events.h"
#include "events/incident.h"
#include "util/timeutil.h"

#define DATA CONWAY_TEST_DATA "/alertmanager/"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static int64_t ts(const char *s)
{
    int64_t ms;
    if (!cw_time_parse_rfc3339(s, &ms))
        fail_msg("bad time %s", s);
    return ms;
}

static void check_example(const char *file)
{
    size_t len;
    char *body = read_file(file, &len);
    cw_am_notification n;
    cw_diag d = {""};
    assert_int_equal(cw_am_decode(body, len, &n, &d), CW_OK);
    assert_string_equal(n.group_key, "{}/{env=\"production\"}:{alertname=\"HighErrorRate\"}");
    assert_true(n.firing);
    assert_string_equal(n.receiver, "delivery-events");
    assert_string_equal(n.external_url, "http://alertmanager:9093");
    assert_int_equal(n.nalerts, 2);
    assert_true(n.alerts[0].firing);
    /* nanoseconds are cut to milliseconds; Go's zero time is "not ended" */
    assert_int_equal(n.alerts[0].starts_ms, ts("2026-08-20T10:00:00.123Z"));
    assert_int_equal(n.alerts[0].ends_ms, 0);
    assert_string_equal(n.alerts[0].fingerprint, "3f1c2b9a7d4e5f60");
    assert_non_null(n.alerts[0].generator_url);
    assert_false(n.alerts[1].firing);
    assert_int_equal(n.alerts[1].ends_ms, ts("2026-08-20T09:55:00Z"));
    assert_string_equal(cw_am_label(n.alerts[1].labels, "service"), "cart");
    /* commonLabels name no component: the first firing alert's service */
    assert_string_equal(cw_am_component(&n), "checkout");
    assert_string_equal(cw_am_severity(&n), "critical");
    assert_string_equal(cw_am_environment(&n), "production");
    char title[256];
    cw_am_title(&n, title, sizeof title);
    assert_string_equal(title, "checkout 5xx ratio above 5%"); /* first alert's summary */
    cw_am_notification_free(&n);
    free(body);
}

static void test_examples(void **state)
{
    (void)state;
    check_example(DATA "webhook_v4_pre-v0.32.constructed.json");
    check_example(DATA "webhook_v4_v0.34.constructed.json");
}

/* A minimal valid payload with one alert, with `fields` spliced in. */
static cw_err decode_with(const char *top, const char *alert, cw_am_notification *n, cw_diag *d)
{
    char body[2048];
    snprintf(body, sizeof body,
             "{\"version\":\"4\",\"groupKey\":\"g\",\"status\":\"firing\"%s,"
             "\"alerts\":[{\"status\":\"firing\",\"labels\":{\"alertname\":\"A\"},"
             "\"startsAt\":\"2026-01-01T00:00:00Z\"%s}]}",
             top, alert);
    return cw_am_decode(body, strlen(body), n, d);
}

static void test_errors_name_the_field(void **state)
{
    (void)state;
    struct {
        const char *body;     /* a whole body, or NULL to use top/alert */
        const char *top, *alert;
        cw_err err;
        const char *detail;
    } cases[] = {
        {"[]", NULL, NULL, CW_ERR_INVALID, "body: must be a JSON object"},
        {"{", NULL, NULL, CW_ERR_INVALID, "body: line 1"},
        {"{\"version\":\"3\",\"groupKey\":\"g\",\"status\":\"firing\",\"alerts\":[]}", NULL, NULL,
         CW_ERR_INVALID, "version: must be \"4\""},
        {"{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[]}", NULL, NULL, CW_ERR_INVALID,
         "groupKey: required"},
        {"{\"version\":\"4\",\"groupKey\":\"\",\"status\":\"firing\",\"alerts\":[]}", NULL, NULL,
         CW_ERR_INVALID, "groupKey: must be a non-empty string"},
        {"{\"version\":\"4\",\"groupKey\":\"g\",\"status\":\"on\",\"alerts\":[]}", NULL, NULL,
         CW_ERR_INVALID, "status: must be \"firing\" or \"resolved\""},
        {"{\"version\":\"4\",\"groupKey\":\"g\",\"status\":\"firing\",\"alerts\":[]}", NULL, NULL,
         CW_ERR_INVALID, "alerts: must be a non-empty array"},
        {"{\"version\":\"4\",\"groupKey\":\"g\",\"status\":\"firing\"}", NULL, NULL,
         CW_ERR_INVALID, "alerts: required"},
        {NULL, ",\"commonLabels\":{\"a\":1}", "", CW_ERR_INVALID, "commonLabels.a: must be a string"},
        {NULL, ",\"groupLabels\":[]", "", CW_ERR_INVALID, "groupLabels: must be an object of strings"},
        {NULL, ",\"receiver\":5", "", CW_ERR_INVALID, "receiver: must be a string"},
        {NULL, "", ",\"startsAt\":\"soon\"", CW_ERR_INVALID, ""}, /* duplicate key */
        {NULL, "", ",\"endsAt\":\"2026-13-01T00:00:00Z\"", CW_ERR_INVALID,
         "alerts[0].endsAt: not an RFC 3339 date-time"},
        {NULL, "", ",\"annotations\":{\"summary\":[1]}", CW_ERR_INVALID,
         "alerts[0].annotations.summary: must be a string"},
        {NULL, "", ",\"fingerprint\":7", CW_ERR_INVALID, "alerts[0].fingerprint: must be a string"},
        {NULL, "", ",\"generatorURL\":{}", CW_ERR_INVALID,
         "alerts[0].generatorURL: must be a string"},
        {"{\"version\":\"4\",\"groupKey\":\"g\",\"status\":\"firing\",\"alerts\":[{\"status\":"
         "\"firing\",\"startsAt\":\"2026-01-01T00:00:00Z\"}]}",
         NULL, NULL, CW_ERR_INVALID, "alerts[0].labels: required"},
        {"{\"version\":\"4\",\"groupKey\":\"g\",\"status\":\"firing\",\"alerts\":[{\"status\":"
         "\"firing\",\"labels\":{}}]}",
         NULL, NULL, CW_ERR_INVALID, "alerts[0].startsAt: required"},
        {"{\"version\":\"4\",\"groupKey\":\"g\",\"status\":\"firing\",\"alerts\":[{\"status\":"
         "\"firing\",\"labels\":{},\"startsAt\":\"2026-01-01T00:00:00Z\"},7]}",
         NULL, NULL, CW_ERR_INVALID, "alerts[1]: must be an object"},
        {"{\"version\":\"4\",\"groupKey\":\"g\",\"status\":\"firing\",\"alerts\":[{\"labels\":{},"
         "\"startsAt\":\"2026-01-01T00:00:00Z\"}]}",
         NULL, NULL, CW_ERR_INVALID, "alerts[0].status: required"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cw_am_notification n;
        cw_diag d = {""};
        cw_err err = cases[i].body
                         ? cw_am_decode(cases[i].body, strlen(cases[i].body), &n, &d)
                         : decode_with(cases[i].top, cases[i].alert, &n, &d);
        if (err != cases[i].err || !strstr(d.msg, cases[i].detail))
            fail_msg("case %zu: got %s \"%s\", want %s \"%s\"", i, cw_err_name(err), d.msg,
                     cw_err_name(cases[i].err), cases[i].detail);
        assert_null(n.root);
        assert_null(n.alerts);
    }
    /* the whole valid shape, to be sure the cases above fail for their reason */
    cw_am_notification n;
    cw_diag d = {""};
    assert_int_equal(decode_with(",\"receiver\":null", ",\"endsAt\":\"0001-01-01T00:00:00Z\"", &n,
                                 &d),
                     CW_OK);
    assert_int_equal(n.alerts[0].ends_ms, 0);
    assert_null(n.receiver);
    cw_am_notification_free(&n);
}

static void test_too_many_alerts(void **state)
{
    (void)state;
    size_t cap = 64 + (size_t)(CW_AM_MAX_ALERTS + 1) * 80;
    char *body = malloc(cap);
    assert_non_null(body);
    size_t o = (size_t)snprintf(body, cap,
                                "{\"version\":\"4\",\"groupKey\":\"g\",\"status\":\"firing\","
                                "\"alerts\":[");
    for (int i = 0; i <= CW_AM_MAX_ALERTS; i++)
        o += (size_t)snprintf(body + o, cap - o,
                              "%s{\"status\":\"firing\",\"labels\":{},\"startsAt\":"
                              "\"2026-01-01T00:00:00Z\"}",
                              i ? "," : "");
    o += (size_t)snprintf(body + o, cap - o, "]}");
    cw_am_notification n;
    cw_diag d = {""};
    assert_int_equal(cw_am_decode(body, o, &n, &d), CW_ERR_TOO_LARGE);
    assert_non_null(strstr(d.msg, "alerts:"));
    free(body);
}

static void decode_ok(const char *body, cw_am_notification *n)
{
    cw_diag d = {""};
    if (cw_am_decode(body, strlen(body), n, &d))
        fail_msg("decode: %s", d.msg);
}

static void test_group_fields(void **state)
{
    (void)state;
    cw_am_notification n;
    /* conway_component wins over component and service, in commonLabels */
    decode_ok("{\"version\":\"4\",\"groupKey\":\"g\",\"status\":\"firing\","
              "\"commonLabels\":{\"service\":\"s\",\"conway_component\":\"component:default/pay\","
              "\"component\":\"c\",\"environment\":\"prod-eu\",\"env\":\"x\"},"
              "\"alerts\":[{\"status\":\"firing\",\"labels\":{\"severity\":\"warning\","
              "\"alertname\":\"Slow\"},\"startsAt\":\"2026-01-01T00:00:00Z\"},"
              "{\"status\":\"firing\",\"labels\":{\"severity\":\"page\"},"
              "\"startsAt\":\"2026-01-01T00:00:00Z\"},"
              "{\"status\":\"firing\",\"labels\":{\"severity\":\"weird\"},"
              "\"startsAt\":\"2026-01-01T00:00:00Z\"}]}",
              &n);
    assert_string_equal(cw_am_component(&n), "component:default/pay");
    assert_string_equal(cw_am_environment(&n), "prod-eu");
    /* no common severity: the highest on the scale among the alerts */
    assert_string_equal(cw_am_severity(&n), "page");
    char title[64];
    cw_am_title(&n, title, sizeof title);
    assert_string_equal(title, "alertname=Slow (3 alerts)");
    cw_am_notification_free(&n);

    /* resolved alerts name the component only when no firing one does */
    decode_ok("{\"version\":\"4\",\"groupKey\":\"g\",\"status\":\"firing\","
              "\"alerts\":[{\"status\":\"resolved\",\"labels\":{\"service\":\"old\","
              "\"severity\":\"unheard-of\"},\"startsAt\":\"2026-01-01T00:00:00Z\"},"
              "{\"status\":\"firing\",\"labels\":{\"component\":\"new\"},"
              "\"startsAt\":\"2026-01-01T00:00:00Z\"}]}",
              &n);
    assert_string_equal(cw_am_component(&n), "new");
    assert_null(cw_am_environment(&n));
    assert_string_equal(cw_am_severity(&n), "unheard-of"); /* kept as written */
    cw_am_notification_free(&n);

    decode_ok("{\"version\":\"4\",\"groupKey\":\"g\",\"status\":\"firing\","
              "\"commonAnnotations\":{\"summary\":\"\\u00e9\\u00e9\\u00e9\\u00e9\"},"
              "\"alerts\":[{\"status\":\"firing\",\"labels\":{},"
              "\"startsAt\":\"2026-01-01T00:00:00Z\"}]}",
              &n);
    assert_null(cw_am_component(&n));
    assert_null(cw_am_severity(&n));
    /* a cut never splits a character: 6 bytes of room hold two of them */
    char small[6];
    cw_am_title(&n, small, sizeof small);
    assert_string_equal(small, "\xc3\xa9\xc3\xa9");
    cw_am_notification_free(&n);
}

/* A notification: status and, per alert, "F@start" or "R@start-end" (hours). */
static void notification(cw_am_notification *n, bool firing, const char *alerts)
{
    char body[4096];
    size_t o = (size_t)snprintf(body, sizeof body,
                                "{\"version\":\"4\",\"groupKey\":\"grp\",\"status\":\"%s\","
                                "\"alerts\":[",
                                firing ? "firing" : "resolved");
    const char *p = alerts;
    bool first = true;
    while (*p) {
        char st = *p;
        int start = 0, end = 0;
        int used = 0;
        if (st == 'F')
            sscanf(p, "F@%d%n", &start, &used);
        else
            sscanf(p, "R@%d-%d%n", &start, &end, &used);
        assert_true(used > 0);
        p += used;
        while (*p == ' ')
            p++;
        char s[32], e[32];
        cw_time_format_ms(ts("2026-03-01T00:00:00Z") + start * 3600000LL, s);
        cw_time_format_ms(ts("2026-03-01T00:00:00Z") + end * 3600000LL, e);
        o += (size_t)snprintf(body + o, sizeof body - o,
                              "%s{\"status\":\"%s\",\"labels\":{},\"startsAt\":\"%s\","
                              "\"endsAt\":\"%s\"}",
                              first ? "" : ",", st == 'F' ? "firing" : "resolved", s,
                              st == 'F' ? "0001-01-01T00:00:00Z" : e);
        first = false;
    }
    snprintf(body + o, sizeof body - o, "]}");
    decode_ok(body, n);
}

static int64_t at(int hours) { return ts("2026-03-01T00:00:00Z") + hours * 3600000LL; }

static void test_plan(void **state)
{
    (void)state;
    cw_am_notification n;
    cw_am_plan p;
    const int64_t now = at(100);

    /* first firing: incident 1, detected at the earliest start */
    notification(&n, true, "F@3 F@2 R@1-2");
    cw_am_previous none = {0};
    cw_am_plan_make(&n, &none, now, &p);
    assert_int_equal(p.number, 1);
    assert_true(p.detect);
    assert_int_equal(p.detected_ms, at(2)); /* the resolved alert opens nothing */
    assert_false(p.resolve);

    /* the same group firing again while incident 1 is open: joins it */
    cw_am_previous open1 = {.exists = true, .number = 1};
    cw_am_plan_make(&n, &open1, now, &p);
    assert_int_equal(p.number, 1);
    assert_false(p.detect);
    assert_false(p.resolve);
    cw_am_notification_free(&n);

    /* resolved: incident 1 resolved at the latest endsAt */
    notification(&n, false, "R@2-5 R@3-4");
    cw_am_plan_make(&n, &open1, now, &p);
    assert_int_equal(p.number, 1);
    assert_false(p.detect);
    assert_true(p.resolve);
    assert_int_equal(p.resolved_ms, at(5));
    /* a resolved notification with nothing known: opens and resolves one */
    cw_am_plan_make(&n, &none, now, &p);
    assert_int_equal(p.number, 1);
    assert_true(p.detect);
    assert_int_equal(p.detected_ms, at(2));
    assert_true(p.resolve);
    assert_int_equal(p.resolved_ms, at(5));
    /* repeated after incident 1 ended (a retry): same incident, same time */
    cw_am_previous ended1 = {.exists = true, .number = 1, .ended = true, .resolved_ms = at(5)};
    cw_am_plan_make(&n, &ended1, now, &p);
    assert_int_equal(p.number, 1);
    assert_false(p.detect);
    assert_true(p.resolve);
    assert_int_equal(p.resolved_ms, at(5));
    cw_am_notification_free(&n);

    /* firing again after incident 1 ended: incident 2 */
    notification(&n, true, "F@7");
    cw_am_plan_make(&n, &ended1, now, &p);
    assert_int_equal(p.number, 2);
    assert_true(p.detect);
    assert_int_equal(p.detected_ms, at(7));
    cw_am_notification_free(&n);

    /* incident 1 resolved by hand at 4 while an alert that started at 2 still
     * fires: the repeated notification stays with incident 1 */
    cw_am_previous manual = {.exists = true, .number = 1, .ended = true, .resolved_ms = at(4)};
    notification(&n, true, "F@2");
    cw_am_plan_make(&n, &manual, now, &p);
    assert_int_equal(p.number, 1);
    assert_false(p.detect);
    cw_am_notification_free(&n);
    /* ... but an alert that started after that opens incident 2 at its start */
    notification(&n, true, "F@2 F@6");
    cw_am_plan_make(&n, &manual, now, &p);
    assert_int_equal(p.number, 2);
    assert_true(p.detect);
    assert_int_equal(p.detected_ms, at(6));
    cw_am_notification_free(&n);

    /* a resolved notification whose alerts have no endsAt: resolved now */
    char body[512];
    snprintf(body, sizeof body,
             "{\"version\":\"4\",\"groupKey\":\"g\",\"status\":\"resolved\",\"alerts\":"
             "[{\"status\":\"resolved\",\"labels\":{},\"startsAt\":\"2026-03-01T01:00:00Z\"}]}");
    decode_ok(body, &n);
    cw_am_plan_make(&n, &open1, now, &p);
    assert_true(p.resolve);
    assert_int_equal(p.resolved_ms, now);
    cw_am_notification_free(&n);
}

static void test_subject_id(void **state)
{
    (void)state;
    char a[48], b[48], c[48];
    cw_am_subject_id("{}:{alertname=\"A\"}", 1, a);
    cw_am_subject_id("{}:{alertname=\"A\"}", 2, b);
    cw_am_subject_id("{}:{alertname=\"B\"}", 1, c);
    assert_int_equal(strlen(a), strlen("am-0123456789abcdef-1"));
    assert_memory_equal(a, b, 19);   /* same group, same hash */
    assert_string_equal(a + 19, "-1");
    assert_string_equal(b + 19, "-2");
    assert_memory_not_equal(a, c, 19);
    assert_int_equal(strncmp(a, "am-", 3), 0);
}

static void test_plan_events(void **state)
{
    (void)state;
    size_t len;
    char *body = read_file(DATA "webhook_v4_v0.34.constructed.json", &len);
    cw_am_notification n;
    cw_diag d = {""};
    assert_int_equal(cw_am_decode(body, len, &n, &d), CW_OK);
    cw_am_plan p = {.number = 3, .detect = true, .detected_ms = at(1), .resolve = true,
                    .resolved_ms = at(2)};
    json_t *arr = json_array();
    assert_int_equal(cw_am_plan_events(&n, &p, arr), CW_OK);
    assert_int_equal(json_array_size(arr), 2);
    char subject[48];
    cw_am_subject_id(n.group_key, 3, subject);
    for (size_t i = 0; i < 2; i++) {
        cw_event ev;
        if (cw_cdevent_decode(json_array_get(arr, i), &ev, &d))
            fail_msg("event %zu: %s", i, d.msg);
        assert_true(ev.known);
        assert_true(cw_event_is(&ev, "incident", i == 0 ? "detected" : "resolved"));
        assert_string_equal(ev.source, CW_AM_SOURCE);
        assert_string_equal(ev.subject_id, subject);
        assert_int_equal(ev.time_ms, at((int)i + 1));
        assert_string_equal(ev.service_id, "checkout");
        assert_string_equal(ev.environment_id, "production");
        char id[64];
        snprintf(id, sizeof id, "%s/%s", subject, i == 0 ? "detected" : "resolved");
        assert_string_equal(ev.id, id);
        cw_incident_event ie;
        assert_int_equal(cw_incident_event_read(ev.raw, &ie, &d), CW_OK);
        assert_string_equal(ie.severity, "critical");
        assert_string_equal(ie.group_key, n.group_key);
        assert_string_equal(ie.title, "checkout 5xx ratio above 5%");
        cw_event_free(&ev);
    }
    json_decref(arr);
    /* a plan that records nothing adds nothing */
    arr = json_array();
    cw_am_plan none = {.number = 1};
    assert_int_equal(cw_am_plan_events(&n, &none, arr), CW_OK);
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
    cw_am_notification_free(&n);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_examples),
        cmocka_unit_test(test_errors_name_the_field),
        cmocka_unit_test(test_too_many_alerts),
        cmocka_unit_test(test_group_fields),
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_subject_id),
        cmocka_unit_test(test_plan_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
