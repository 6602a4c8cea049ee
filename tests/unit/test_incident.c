/*
 * test_incident.c — the incident model of issue #13 (events/incident.h):
 * every lifecycle transition (the whole 5x5 matrix), state names, the
 * severity scale and its aliases, reading the incident key and details
 * from incident CDEvents, and the incident CDEvents conway builds passing
 * the same decoder as any tool's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "events/events.h"
#include "events/incident.h"
#include "util/timeutil.h"

static void test_lifecycle_matrix(void **state)
{
    (void)state;
    /* rows: from, columns: to (triggered, acknowledged, mitigated, resolved, closed) */
    static const int allowed[CW_INC_NSTATES][CW_INC_NSTATES] = {
        {0, 1, 1, 1, 0}, /* triggered: forward, but not straight to closed */
        {0, 0, 1, 1, 0}, /* acknowledged */
        {0, 0, 0, 1, 0}, /* mitigated */
        {0, 0, 0, 0, 1}, /* resolved: only closed */
        {0, 0, 0, 0, 0}, /* closed is final */
    };
    for (int f = 0; f < CW_INC_NSTATES; f++) {
        for (int t = 0; t < CW_INC_NSTATES; t++) {
            cw_diag d = {""};
            cw_err err = cw_incident_transition_check((cw_incident_state)f, (cw_incident_state)t, &d);
            if (allowed[f][t] ? err != CW_OK : err != CW_ERR_CONFLICT)
                fail_msg("%s -> %s: got %s (%s)", cw_incident_state_name((cw_incident_state)f),
                         cw_incident_state_name((cw_incident_state)t), cw_err_name(err), d.msg);
            if (!err)
                continue;
            /* the detail names the field and the states */
            assert_non_null(strstr(d.msg, "to: "));
            assert_non_null(strstr(d.msg, cw_incident_state_name((cw_incident_state)f)));
        }
    }
    cw_diag d = {""};
    assert_int_equal(cw_incident_transition_check(CW_INC_MITIGATED, CW_INC_ACKNOWLEDGED, &d),
                     CW_ERR_CONFLICT);
    assert_string_equal(d.msg, "to: an incident cannot go from mitigated to acknowledged "
                               "(allowed: resolved)");
    assert_int_equal(cw_incident_transition_check(CW_INC_CLOSED, CW_INC_TRIGGERED, &d),
                     CW_ERR_CONFLICT);
    assert_non_null(strstr(d.msg, "closed is final"));
    assert_int_equal(cw_incident_transition_check(CW_INC_RESOLVED, CW_INC_RESOLVED, &d),
                     CW_ERR_CONFLICT);
    assert_string_equal(d.msg, "to: the incident is already resolved");
    assert_int_equal(cw_incident_transition_check(CW_INC_TRIGGERED, CW_INC_NSTATES, &d),
                     CW_ERR_CONFLICT);
}

static void test_state_names(void **state)
{
    (void)state;
    const char *names[] = {"triggered", "acknowledged", "mitigated", "resolved", "closed"};
    for (int i = 0; i < CW_INC_NSTATES; i++) {
        cw_incident_state s;
        assert_string_equal(cw_incident_state_name((cw_incident_state)i), names[i]);
        assert_true(cw_incident_state_parse(names[i], &s));
        assert_int_equal(s, i);
        assert_int_equal(cw_incident_state_open(s), i < 3);
    }
    cw_incident_state s;
    assert_false(cw_incident_state_parse("Resolved", &s));
    assert_false(cw_incident_state_parse("", &s));
    assert_false(cw_incident_state_parse(NULL, &s));
    assert_null(cw_incident_state_name(CW_INC_NSTATES));
}

static void test_severity_scale(void **state)
{
    (void)state;
    struct {
        const char *raw;
        cw_severity want;
    } cases[] = {
        {"critical", CW_SEV_CRITICAL}, {"CRITICAL", CW_SEV_CRITICAL}, {"page", CW_SEV_CRITICAL},
        {"SEV-1", CW_SEV_CRITICAL},    {"sev_1", CW_SEV_CRITICAL},    {"P1", CW_SEV_CRITICAL},
        {"sev0", CW_SEV_CRITICAL},     {"error", CW_SEV_HIGH},        {"Major", CW_SEV_HIGH},
        {"sev2", CW_SEV_HIGH},         {"warning", CW_SEV_WARNING},   {"warn", CW_SEV_WARNING},
        {"medium", CW_SEV_WARNING},    {"low", CW_SEV_LOW},           {"minor", CW_SEV_LOW},
        {"info", CW_SEV_INFO},         {"informational", CW_SEV_INFO}, {"p5", CW_SEV_INFO},
        {"", CW_SEV_UNKNOWN},          {"bad", CW_SEV_UNKNOWN},       {"criticality", CW_SEV_UNKNOWN},
        {"sev-", CW_SEV_UNKNOWN},      {"a-very-long-severity-word", CW_SEV_UNKNOWN},
        {NULL, CW_SEV_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (cw_severity_parse(cases[i].raw) != cases[i].want)
            fail_msg("%s: got %d, want %d", cases[i].raw ? cases[i].raw : "NULL",
                     (int)cw_severity_parse(cases[i].raw), (int)cases[i].want);
    /* the scale is ordered */
    assert_true(CW_SEV_CRITICAL > CW_SEV_HIGH && CW_SEV_HIGH > CW_SEV_WARNING &&
                CW_SEV_WARNING > CW_SEV_LOW && CW_SEV_LOW > CW_SEV_INFO &&
                CW_SEV_INFO > CW_SEV_UNKNOWN);
    cw_severity s;
    assert_true(cw_severity_name_parse("high", &s));
    assert_int_equal(s, CW_SEV_HIGH);
    assert_false(cw_severity_name_parse("error", &s)); /* thresholds use the five names */
    assert_false(cw_severity_name_parse("Critical", &s));
    assert_null(cw_severity_name(CW_SEV_UNKNOWN));
    assert_string_equal(cw_severity_name(CW_SEV_WARNING), "warning");
}

static json_t *load(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!j)
        fail_msg("bad JSON: %s", je.text);
    return j;
}

static void test_event_read(void **state)
{
    (void)state;
    /* the spec's own example: subject.source gives the key's source */
    json_t *ev = load("{\"context\":{\"specversion\":\"0.5.1\",\"id\":\"e1\","
                      "\"source\":\"/monitoring/prod1\","
                      "\"type\":\"dev.cdevents.incident.detected.0.3.0\","
                      "\"timestamp\":\"2022-11-11T13:52:20.079Z\"},"
                      "\"subject\":{\"id\":\"incident-123\",\"source\":\"/pager\","
                      "\"content\":{\"description\":\"Response time above 100ms\","
                      "\"environment\":{\"id\":\"prod1\"},\"service\":{\"id\":\"myApp\"},"
                      "\"artifactId\":\"pkg:oci/myapp@1\"}},"
                      "\"customData\":{\"severity\":\"SEV-2\",\"groupKey\":\"{}:{a=\\\"b\\\"}\"}}");
    cw_incident_event ie;
    cw_diag d = {""};
    assert_int_equal(cw_incident_event_read(ev, &ie, &d), CW_OK);
    assert_int_equal(ie.kind, CW_INC_EV_DETECTED);
    assert_string_equal(ie.source, "/pager");
    assert_string_equal(ie.event_source, "/monitoring/prod1");
    assert_string_equal(ie.event_id, "e1");
    assert_string_equal(ie.subject_id, "incident-123");
    int64_t t;
    assert_true(cw_time_parse_rfc3339("2022-11-11T13:52:20.079Z", &t));
    assert_int_equal(ie.time_ms, t);
    assert_string_equal(ie.service_id, "myApp");
    assert_string_equal(ie.artifact_id, "pkg:oci/myapp@1");
    assert_string_equal(ie.environment, "prod1");
    assert_string_equal(ie.severity, "SEV-2");
    assert_string_equal(ie.title, "Response time above 100ms"); /* the description */
    assert_string_equal(ie.group_key, "{}:{a=\"b\"}");
    json_decref(ev);

    /* without subject.source the context's source is the key's; customData
     * that is a string is ignored */
    ev = load("{\"context\":{\"id\":\"e2\",\"source\":\"/tool\","
              "\"type\":\"dev.cdevents.incident.resolved.0.2.0\","
              "\"timestamp\":\"2024-01-01T00:00:00Z\"},"
              "\"subject\":{\"id\":\"i-9\",\"content\":{}},\"customData\":\"text\"}");
    assert_int_equal(cw_incident_event_read(ev, &ie, &d), CW_OK);
    assert_int_equal(ie.kind, CW_INC_EV_RESOLVED);
    assert_string_equal(ie.source, "/tool");
    assert_null(ie.service_id);
    assert_null(ie.severity);
    assert_null(ie.title);
    json_decref(ev);

    ev = load("{\"context\":{\"id\":\"e3\",\"source\":\"/ci\","
              "\"type\":\"dev.cdevents.service.deployed.0.3.0\","
              "\"timestamp\":\"2024-01-01T00:00:00Z\"},\"subject\":{\"id\":\"x\"}}");
    assert_int_equal(cw_incident_event_read(ev, &ie, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "context.type: not an incident event");
    json_decref(ev);
    ev = load("{\"context\":{\"id\":\"e3\",\"source\":\"/ci\","
              "\"type\":\"dev.cdevents.incident.reported.0.3.0\","
              "\"timestamp\":\"yesterday\"},\"subject\":{\"id\":\"x\"}}");
    assert_int_equal(cw_incident_event_read(ev, &ie, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "context.timestamp: not an RFC 3339 date-time");
    json_decref(ev);
}

/* What conway records is a valid CDEvent of a known type, read back the
 * same way as any tool's. */
static void test_build_round_trip(void **state)
{
    (void)state;
    json_t *extra = json_pack("{s:s}", "receiver", "conway");
    cw_incident_cdevent_spec sp = {
        .kind = CW_INC_EV_RESOLVED,
        .event_source = "/conway/incidents",
        .event_id = "resolved-7",
        .subject_source = "/pager",
        .subject_id = "INC-7",
        .time_ms = 1700000000123LL,
        .service_id = "checkout",
        .description = "Checkout errors",
        .severity = "critical",
        .title = "Checkout errors",
        .group_key = "gk",
        .extra = extra,
    };
    json_t *j = cw_incident_cdevent_build(&sp);
    assert_non_null(j);
    cw_event ev;
    cw_diag d = {""};
    assert_int_equal(cw_cdevent_decode(j, &ev, &d), CW_OK);
    assert_true(ev.known);
    assert_true(cw_event_is(&ev, "incident", "resolved"));
    assert_string_equal(ev.service_id, "checkout");
    assert_string_equal(ev.environment_id, "unknown"); /* required by the spec */
    assert_int_equal(ev.time_ms, 1700000000123LL);
    cw_incident_event ie;
    assert_int_equal(cw_incident_event_read(ev.raw, &ie, &d), CW_OK);
    assert_string_equal(ie.source, "/pager");
    assert_string_equal(ie.subject_id, "INC-7");
    assert_string_equal(ie.severity, "critical");
    assert_string_equal(ie.group_key, "gk");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "customData"),
                                                          "receiver")),
                        "conway");
    cw_event_free(&ev);
    json_decref(j);
    json_decref(extra);

    /* the smallest: a detected event with no service, severity or extras */
    cw_incident_cdevent_spec small = {.kind = CW_INC_EV_DETECTED, .event_source = "/x",
                                      .event_id = "1", .subject_id = "s", .time_ms = 0,
                                      .environment = "prod"};
    j = cw_incident_cdevent_build(&small);
    assert_non_null(j);
    assert_null(json_object_get(j, "customData"));
    assert_int_equal(cw_cdevent_decode(j, &ev, &d), CW_OK);
    assert_true(cw_event_is(&ev, "incident", "detected"));
    assert_null(ev.service_id);
    assert_string_equal(ev.environment_id, "prod");
    cw_event_free(&ev);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifecycle_matrix),
        cmocka_unit_test(test_state_names),
        cmocka_unit_test(test_severity_scale),
        cmocka_unit_test(test_event_read),
        cmocka_unit_test(test_build_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
