/*
 * test_inc_notify.c — the payloads of incident and action item
 * notifications (insights/inc_notify.h): every field a receiver reads, the
 * Slack text, absent values left out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "insights/inc_notify.h"

#define T0 1780000000000LL /* 2026-05-28T20:26:40Z */

static const char *str(const json_t *o, const char *path1, const char *path2)
{
    const json_t *v = json_object_get(o, path1);
    if (path2)
        v = json_object_get(v, path2);
    return json_string_value(v);
}

static void test_incident(void **state)
{
    (void)state;
    cw_notify_incident inc = {.id = 12, .ref = "INC-7", .source = "/pager", .title = "Checkout errors",
                              .severity = "critical", .state = "triggered", .start_ms = T0,
                              .component = "component:default/checkout",
                              .owner = "group:default/team-shop"};
    json_t *p = cw_notify_incident_payload(&inc, false, T0);
    assert_non_null(p);
    assert_string_equal(str(p, "type", NULL), "incident.opened");
    assert_string_equal(str(p, "at", NULL), "2026-05-28T20:26:40.000Z");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "incident"), "id")), 12);
    assert_string_equal(str(p, "incident", "ref"), "INC-7");
    assert_string_equal(str(p, "incident", "startedAt"), "2026-05-28T20:26:40.000Z");
    assert_null(json_object_get(json_object_get(p, "incident"), "resolvedAt"));
    assert_string_equal(str(p, "text", NULL),
                        "Incident INC-7 OPENED (critical): Checkout errors — "
                        "component:default/checkout, owned by group:default/team-shop");
    json_decref(p);

    inc.resolved_ms = T0 + 60000;
    inc.state = "resolved";
    inc.title = inc.severity = inc.component = NULL;
    p = cw_notify_incident_payload(&inc, true, inc.resolved_ms);
    assert_string_equal(str(p, "type", NULL), "incident.resolved");
    assert_string_equal(str(p, "incident", "resolvedAt"), "2026-05-28T20:27:40.000Z");
    assert_null(json_object_get(json_object_get(p, "incident"), "title"));
    assert_null(json_object_get(json_object_get(p, "incident"), "severity"));
    assert_string_equal(str(p, "text", NULL),
                        "Incident INC-7 RESOLVED, owned by group:default/team-shop");
    json_decref(p);
}

static void test_action(void **state)
{
    (void)state;
    json_t *item = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", "AI-3", "title", "Test restores",
                             "owner", "dba", "due", "2026-05-27", "issueUrl",
                             "https://issues.example/3");
    json_t *p = cw_notify_action_payload("postmortem:default/outage", item, "group:default/dba", T0);
    assert_non_null(p);
    assert_string_equal(str(p, "type", NULL), "action-item.overdue");
    assert_string_equal(str(p, "actionItem", "postmortem"), "postmortem:default/outage");
    assert_string_equal(str(p, "actionItem", "owner"), "group:default/dba");
    assert_string_equal(str(p, "actionItem", "status"), "open"); /* the default */
    assert_string_equal(str(p, "actionItem", "issueUrl"), "https://issues.example/3");
    assert_null(json_object_get(json_object_get(p, "actionItem"), "activity"));
    assert_string_equal(str(p, "text", NULL),
                        "Action item AI-3 of postmortem:default/outage is OVERDUE (due "
                        "2026-05-27): Test restores — owner group:default/dba");
    json_decref(p);
    json_decref(item);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_incident),
        cmocka_unit_test(test_action),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
