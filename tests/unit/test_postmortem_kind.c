/*
 * test_postmortem_kind.c — the Postmortem kind (issue #13,
 * catalog/postmortem.h) through the catalog's own validator: a complete
 * postmortem passes and keeps its fields, and every wrong or missing field
 * is named in the detail, all problems of one entity at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/postmortem.h"
#include "catalog/responsibilities.h"
#include "util/timeutil.h"

/* A postmortem with spec_body as its spec (single quotes for double). */
static json_t *postmortem(const char *spec_body)
{
    char text[8192];
    snprintf(text, sizeof text,
             "{'apiVersion':'conway.dev/v1','kind':'Postmortem',"
             "'metadata':{'name':'db-outage'},'spec':%s}",
             spec_body);
    for (char *p = text; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_error_t je;
    json_t *e = json_loads(text, 0, &je);
    if (!e)
        fail_msg("bad JSON %s: %s", text, je.text);
    return e;
}

#define GOOD_ITEM "{'id':'AI-1','title':'Test restores','owner':'dba','due':'2017-02-28'}"

static void test_complete_postmortem(void **state)
{
    (void)state;
    json_t *e = postmortem(
        "{'owner':'group:default/sre','incidents':['INC-1','am-0123456789abcdef-1'],"
        "'summary':'The primary was wiped.','impact':'6 hours of data lost.',"
        "'timeline':[{'at':'2017-01-31T21:00:00Z','text':'Spam load begins'},"
        "{'at':'2017-02-01','text':'Restored'}],"
        "'whys':['a','b','c','d','e'],'contributingFactors':['x'],'lessons':['y'],"
        "'actionItems':[{'id':'AI-1','title':'Test restores','owner':'group:dba',"
        "'due':'2017-02-28','activity':'data-durability','issueUrl':'https://example.com/1',"
        "'status':'done','doneAt':'2017-02-20'},"
        "{'id':'AI_2.b','title':'Alert on empty backups','owner':'user:default/alice',"
        "'due':'2017-03-01T12:00:00Z','status':'in-progress'}]}");
    cw_diag d = {""};
    assert_int_equal(cw_entity_validate(e, &d), CW_OK);
    assert_string_equal(json_string_value(json_object_get(e, "kind")), "Postmortem");
    /* its owner is a relation like any owned entity's */
    cw_relation_list rels = {0};
    assert_int_equal(cw_entity_relations(e, &rels, &d), CW_OK);
    bool owned = false;
    for (size_t i = 0; i < rels.len; i++)
        owned |= !strcmp(rels.items[i].type, "ownedBy") &&
                 !strcmp(rels.items[i].target_key, "group:default/sre");
    assert_true(owned);
    cw_relation_list_free(&rels);
    json_decref(e);

    /* the smallest valid one: incidents and a summary */
    e = postmortem("{'incidents':['i'],'summary':'s'}");
    assert_int_equal(cw_entity_validate(e, &d), CW_OK);
    json_decref(e);
    /* the wrong apiVersion */
    e = postmortem("{'incidents':['i'],'summary':'s'}");
    json_object_set_new(e, "apiVersion", json_string("backstage.io/v1alpha1"));
    assert_int_equal(cw_entity_validate(e, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "apiVersion"));
    json_decref(e);
}

/* Each case: a spec and the text its detail must contain. */
static void test_every_field_named(void **state)
{
    (void)state;
    struct {
        const char *spec;
        const char *detail;
    } cases[] = {
        {"{'summary':'s'}", "spec.incidents: required"},
        {"{'incidents':[],'summary':'s'}", "spec.incidents: must be a non-empty array"},
        {"{'incidents':'INC-1','summary':'s'}", "spec.incidents: must be a non-empty array"},
        {"{'incidents':['a',''],'summary':'s'}", "spec.incidents[1]: must be an incident id"},
        {"{'incidents':['a','a'],'summary':'s'}", "spec.incidents[1]: \"a\" is listed twice"},
        {"{'incidents':['a']}", "spec.summary: required"},
        {"{'incidents':['a'],'summary':''}", "spec.summary: must be a non-empty text"},
        {"{'incidents':['a'],'summary':'s','impact':3}", "spec.impact: must be a non-empty text"},
        {"{'incidents':['a'],'summary':'s','whys':'why'}", "spec.whys: must be an array of texts"},
        {"{'incidents':['a'],'summary':'s','lessons':['ok',2]}", "spec.lessons[1]: must be a non-empty text"},
        {"{'incidents':['a'],'summary':'s','contributingFactors':[null]}",
         "spec.contributingFactors[0]: must be a non-empty text"},
        {"{'incidents':['a'],'summary':'s','actionitems':[]}", "spec.actionitems: unknown field"},
        {"{'incidents':['a'],'summary':'s','timeline':[{'text':'x'}]}", "spec.timeline[0].at: required"},
        {"{'incidents':['a'],'summary':'s','timeline':[{'at':'noon','text':'x'}]}",
         "spec.timeline[0].at: not a date"},
        {"{'incidents':['a'],'summary':'s','timeline':[{'at':'2017-01-31'}]}",
         "spec.timeline[0].text: required"},
        {"{'incidents':['a'],'summary':'s','timeline':[{'at':'2017-01-31','text':'x','who':'y'}]}",
         "spec.timeline[0]: unknown field \"who\""},
        {"{'incidents':['a'],'summary':'s','actionItems':{}}",
         "spec.actionItems: must be an array of action items"},
        {"{'incidents':['a'],'summary':'s','actionItems':['x']}",
         "spec.actionItems[0]: must be an object"},
        {"{'incidents':['a'],'summary':'s','actionItems':[{'title':'t','owner':'o','due':'2017-01-01'}]}",
         "spec.actionItems[0].id: required"},
        {"{'incidents':['a'],'summary':'s','actionItems':[{'id':'has space','title':'t','owner':'o','due':'2017-01-01'}]}",
         "spec.actionItems[0].id: must be 1 to 63 characters"},
        {"{'incidents':['a'],'summary':'s','actionItems':[" GOOD_ITEM "," GOOD_ITEM "]}",
         "spec.actionItems[1].id: \"AI-1\" is used by another action item"},
        {"{'incidents':['a'],'summary':'s','actionItems':[{'id':'x','owner':'o','due':'2017-01-01'}]}",
         "spec.actionItems[0].title: required"},
        {"{'incidents':['a'],'summary':'s','actionItems':[{'id':'x','title':'t','due':'2017-01-01'}]}",
         "spec.actionItems[0].owner: required"},
        {"{'incidents':['a'],'summary':'s','actionItems':[{'id':'x','title':'t','owner':'component:db','due':'2017-01-01'}]}",
         "spec.actionItems[0].owner: must refer to a Group or User, not \"component:default/db\""},
        {"{'incidents':['a'],'summary':'s','actionItems':[{'id':'x','title':'t','owner':'a:b:c','due':'2017-01-01'}]}",
         "spec.actionItems[0].owner: "},
        {"{'incidents':['a'],'summary':'s','actionItems':[{'id':'x','title':'t','owner':'o'}]}",
         "spec.actionItems[0].due: required"},
        {"{'incidents':['a'],'summary':'s','actionItems':[{'id':'x','title':'t','owner':'o','due':'2017-02-30'}]}",
         "spec.actionItems[0].due: not a date"},
        {"{'incidents':['a'],'summary':'s','actionItems':[{'id':'x','title':'t','owner':'o','due':'next week'}]}",
         "spec.actionItems[0].due: not a date"},
        {"{'incidents':['a'],'summary':'s','actionItems':[{'id':'x','title':'t','owner':'o','due':'2017-01-01','activity':'on-call'}]}",
         "spec.actionItems[0].activity: unknown activity \"on-call\"; known activities: ci-cd"},
        {"{'incidents':['a'],'summary':'s','actionItems':[{'id':'x','title':'t','owner':'o','due':'2017-01-01','issueUrl':'javascript:alert(1)'}]}",
         "spec.actionItems[0].issueUrl: must be an http(s) URL"},
        {"{'incidents':['a'],'summary':'s','actionItems':[{'id':'x','title':'t','owner':'o','due':'2017-01-01','status':'closed'}]}",
         "spec.actionItems[0].status: must be one of open, in-progress, done, wont-do"},
        {"{'incidents':['a'],'summary':'s','actionItems':[{'id':'x','title':'t','owner':'o','due':'2017-01-01','doneAt':'2017-01-02'}]}",
         "spec.actionItems[0].doneAt: only for an action that is done or wont-do (status is open)"},
        {"{'incidents':['a'],'summary':'s','actionItems':[{'id':'x','title':'t','owner':'o','due':'2017-01-01','status':'done','doneAt':'soon'}]}",
         "spec.actionItems[0].doneAt: not a date"},
        {"{'incidents':['a'],'summary':'s','actionItems':[{'id':'x','title':'t','owner':'o','due':'2017-01-01','assignee':'bob'}]}",
         "spec.actionItems[0]: unknown field \"assignee\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *e = postmortem(cases[i].spec);
        cw_diag d = {""};
        cw_err err = cw_entity_validate(e, &d);
        if (err != CW_ERR_INVALID || !strstr(d.msg, cases[i].detail))
            fail_msg("case %zu: got %s \"%s\", want \"%s\"", i, cw_err_name(err), d.msg,
                     cases[i].detail);
        json_decref(e);
    }
    /* several problems: all reported */
    json_t *e = postmortem("{'incidents':[],'actionItems':[{'id':'x'}]}");
    cw_issue_list issues = {0};
    cw_diag d = {""};
    assert_int_equal(cw_entity_validate_all(e, &issues, &d), CW_ERR_INVALID);
    const char *want[] = {"spec.incidents", "spec.summary", "spec.actionItems[0].title",
                          "spec.actionItems[0].owner", "spec.actionItems[0].due"};
    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
        bool found = false;
        for (size_t i = 0; i < issues.len; i++)
            found |= !strcmp(issues.items[i].path, want[w]);
        if (!found)
            fail_msg("no issue at %s in \"%s\"", want[w], d.msg);
    }
    cw_issue_list_free(&issues);
    json_decref(e);
}

/* An organisation's own activity is known when the caller's set has it. */
static void test_organisation_activities(void **state)
{
    (void)state;
    json_t *e = postmortem("{'incidents':['a'],'summary':'s','actionItems':[{'id':'x',"
                           "'title':'t','owner':'o','due':'2017-01-01','activity':'cost-control'}]}");
    cw_diag d = {""};
    assert_int_equal(cw_entity_validate(e, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "unknown activity \"cost-control\""));
    cw_activity_set set;
    cw_activity_set_init(&set);
    assert_int_equal(cw_activity_set_add(&set, "cost-control", &d), CW_OK);
    json_decref(e);
    e = postmortem("{'incidents':['a'],'summary':'s','actionItems':[{'id':'x',"
                   "'title':'t','owner':'o','due':'2017-01-01','activity':'cost-control'}]}");
    assert_int_equal(cw_entity_validate_with(e, &set, &d), CW_OK);
    cw_activity_set_free(&set);
    json_decref(e);
}

static void test_dates_and_statuses(void **state)
{
    (void)state;
    int64_t ms, end;
    assert_true(cw_postmortem_date_parse("2017-02-28", &ms, &end));
    int64_t want;
    assert_true(cw_time_parse_rfc3339("2017-02-28T00:00:00Z", &want));
    assert_int_equal(ms, want);
    assert_int_equal(end, want + 86400000LL);
    assert_true(cw_postmortem_date_parse("2017-02-28T12:00:00+01:00", &ms, &end));
    assert_int_equal(ms, end);
    assert_false(cw_postmortem_date_parse("2017-2-28", &ms, &end));
    assert_false(cw_postmortem_date_parse("2017/02/28", &ms, &end));
    assert_false(cw_postmortem_date_parse("", &ms, &end));
    assert_false(cw_postmortem_date_parse(NULL, &ms, &end));
    cw_action_status s;
    assert_true(cw_action_status_parse("wont-do", &s));
    assert_int_equal(s, CW_ACTION_WONT_DO);
    assert_false(cw_action_status_pending(s));
    assert_true(cw_action_status_parse("in-progress", &s));
    assert_true(cw_action_status_pending(s));
    assert_false(cw_action_status_parse("Done", &s));
    assert_string_equal(cw_action_status_name(CW_ACTION_DONE), "done");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_complete_postmortem),
        cmocka_unit_test(test_every_field_named),
        cmocka_unit_test(test_organisation_activities),
        cmocka_unit_test(test_dates_and_statuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
