/*
 * test_postmortem_findings.c — the incident and postmortem findings of
 * issue #13 (insights/postmortem.h), each rule on a small catalog: an
 * incident without postmortem (threshold, days, closed or named ones
 * spared), overdue action items (the whole due day counts), owners that do
 * not exist, owners not accountable for the activity after RACI
 * inheritance (members of the accountable team count), postmortems without
 * action items; the postmortems of an incident, a team's open action items
 * with overdue first, and merging with the ownership findings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "fixtures.h"
#include "insights/ownership.h"
#include "insights/postmortem.h"
#include "util/timeutil.h"

#define DAY 86400000LL

static int64_t ts(const char *s)
{
    int64_t ms;
    if (!cw_time_parse_rfc3339(s, &ms))
        fail_msg("bad time %s", s);
    return ms;
}

/* The catalog: two teams with members, components with RACI through a
 * system, and three postmortems. */
static json_t *catalog(void)
{
    json_t *all = json_array();
    const char *docs[] = {
        "{'apiVersion':'backstage.io/v1alpha1','kind':'Group','metadata':{'name':'dba'},"
        "'spec':{'type':'team','children':[],'members':['alice']}}",
        "{'apiVersion':'backstage.io/v1alpha1','kind':'Group','metadata':{'name':'sre'},"
        "'spec':{'type':'team','children':[]}}",
        "{'apiVersion':'backstage.io/v1alpha1','kind':'User','metadata':{'name':'alice'},"
        "'spec':{'memberOf':['dba']}}",
        "{'apiVersion':'backstage.io/v1alpha1','kind':'User','metadata':{'name':'bob'},"
        "'spec':{'memberOf':['sre']}}",
        "{'apiVersion':'backstage.io/v1alpha1','kind':'System','metadata':{'name':'data'},"
        "'spec':{'owner':'dba'}}",
        "{'apiVersion':'backstage.io/v1alpha1','kind':'Component','metadata':{'name':'db'},"
        "'spec':{'type':'database','lifecycle':'production','owner':'dba','system':'data'}}",
        /* data-durability: dba accountable, declared on the system */
        "{'apiVersion':'conway.dev/v1','kind':'Responsibilities','metadata':{'name':'data'},"
        "'spec':{'target':'system:data','activities':{'data-durability':{'responsible':['dba'],"
        "'accountable':'dba'},'monitoring':{'responsible':['sre'],'accountable':'sre'}}}}",
        "{'apiVersion':'conway.dev/v1','kind':'Postmortem','metadata':{'name':'outage'},"
        "'spec':{'owner':'dba','incidents':['INC-1'],'summary':'db wiped',"
        "'actionItems':["
        /* overdue: due 2017-02-10, open on 2017-02-11 */
        "{'id':'AI-1','title':'Test restores','owner':'dba','due':'2017-02-10',"
        "'activity':'data-durability'},"
        /* due today: not yet overdue */
        "{'id':'AI-2','title':'Alert on empty backups','owner':'user:alice','due':'2017-02-11',"
        "'activity':'data-durability','status':'in-progress'},"
        /* done long ago: never overdue */
        "{'id':'AI-3','title':'Write it up','owner':'sre','due':'2017-02-01','status':'done',"
        "'doneAt':'2017-02-01'},"
        /* owner unknown (reported as such, not also as not accountable) */
        "{'id':'AI-4','title':'Hire','owner':'group:recruiting','due':'2017-12-31',"
        "'activity':'data-durability'},"
        /* sre is not accountable for data-durability on db */
        "{'id':'AI-5','title':'Backups monitored','owner':'sre','due':'2017-03-01',"
        "'activity':'data-durability'},"
        /* bob is in sre: accountable for monitoring */
        "{'id':'AI-6','title':'Dashboards','owner':'user:bob','due':'2017-03-01',"
        "'activity':'monitoring'},"
        /* nobody declared for security on db: not accountable either */
        "{'id':'AI-7','title':'Rotate keys','owner':'dba','due':'2017-03-01',"
        "'activity':'security'}]}}",
        "{'apiVersion':'conway.dev/v1','kind':'Postmortem','metadata':{'name':'no-actions'},"
        "'spec':{'incidents':['INC-2'],'summary':'s','lessons':['we learnt']}}",
        "{'apiVersion':'conway.dev/v1','kind':'Postmortem','metadata':{'name':'other'},"
        "'spec':{'incidents':['INC-1','INC-3'],'summary':'s','actionItems':["
        "{'id':'X','title':'t','owner':'dba','due':'2017-01-01','status':'wont-do'}]}}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
        json_array_append_new(all, fx_entity("%s", docs[i]));
    fx_add_relations(all);
    return all;
}

static const cw_pm_incident incidents[] = {
    /* named by postmortems */
    {1, "INC-1", "db wiped", CW_SEV_CRITICAL, CW_INC_RESOLVED, 1485900000000LL,
     "component:default/db", "group:default/dba"},
    {2, "INC-2", NULL, CW_SEV_CRITICAL, CW_INC_CLOSED, 1485900000000LL, NULL, NULL},
    /* critical, resolved 2017-02-01, none: a finding on 2017-02-11 */
    {3, "INC-9", "replication lag", CW_SEV_CRITICAL, CW_INC_RESOLVED, 1485907200000LL,
     "component:default/db", "group:default/dba"},
    /* only high: below the default threshold */
    {4, "INC-10", NULL, CW_SEV_HIGH, CW_INC_RESOLVED, 1485907200000LL, NULL, NULL},
    /* critical but closed (not required): spared */
    {5, "INC-11", NULL, CW_SEV_CRITICAL, CW_INC_CLOSED, 1485907200000LL, NULL, NULL},
    /* critical, resolved 2017-02-08: only 3 days ago */
    {6, "INC-12", NULL, CW_SEV_CRITICAL, CW_INC_RESOLVED, 1486512000000LL, NULL, NULL},
    /* critical, still open */
    {7, "INC-13", NULL, CW_SEV_CRITICAL, CW_INC_MITIGATED, 0, NULL, NULL},
};

static json_t *check(json_t *all, cw_severity threshold, int days, const char *now)
{
    size_t n = json_array_size(all);
    json_t *items[32];
    assert_true(n <= 32);
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(all, i);
    cw_postmortem_opts o = {threshold, days, ts(now)};
    json_t *out = NULL;
    cw_diag d = {""};
    assert_int_equal(cw_postmortem_check(items, n, incidents, FX_LEN(incidents), &o, &out, &d),
                     CW_OK);
    return out;
}

/* The findings of one rule as "entity|owner|id-or-ref" strings. */
static size_t of_rule(const json_t *findings, const char *rule, char keys[][160], size_t max)
{
    size_t n = 0, i;
    const json_t *f;
    json_array_foreach(findings, i, f) {
        if (strcmp(json_string_value(json_object_get(f, "rule")), rule))
            continue;
        const json_t *ai = json_object_get(f, "actionItem");
        const json_t *inc = json_object_get(f, "incident");
        const char *owner = json_string_value(json_object_get(f, "owner"));
        assert_true(n < max);
        snprintf(keys[n++], 160, "%s|%s|%s", json_string_value(json_object_get(f, "entityRef")),
                 owner ? owner : "-",
                 ai ? json_string_value(json_object_get(ai, "id"))
                    : inc ? json_string_value(json_object_get(inc, "ref")) : "-");
    }
    return n;
}

static void test_incident_without_postmortem(void **state)
{
    (void)state;
    json_t *all = catalog();
    char k[16][160];
    json_t *f = check(all, CW_SEV_UNKNOWN, -1, "2017-02-11T12:00:00Z"); /* defaults */
    assert_int_equal(of_rule(f, "incident-without-postmortem", k, 16), 1);
    assert_string_equal(k[0], "component:default/db|group:default/dba|INC-9");
    const json_t *first = NULL;
    size_t i;
    json_t *x;
    json_array_foreach(f, i, x) {
        if (!strcmp(json_string_value(json_object_get(x, "rule")), "incident-without-postmortem"))
            first = x;
    }
    assert_string_equal(json_string_value(json_object_get(first, "severity")), "error");
    assert_non_null(strstr(json_string_value(json_object_get(first, "detail")),
                           "critical incident INC-9 (replication lag)"));
    json_decref(f);
    /* threshold high: INC-10 (no component) too */
    f = check(all, CW_SEV_HIGH, 5, "2017-02-11T12:00:00Z");
    assert_int_equal(of_rule(f, "incident-without-postmortem", k, 16), 2);
    assert_string_equal(k[0], "component:default/db|group:default/dba|INC-9");
    assert_string_equal(k[1], "incident:INC-10|-|INC-10");
    json_decref(f);
    /* 2 days: INC-12 (resolved 3 days ago) too */
    f = check(all, CW_SEV_CRITICAL, 2, "2017-02-11T12:00:00Z");
    assert_int_equal(of_rule(f, "incident-without-postmortem", k, 16), 2);
    json_decref(f);
    /* exactly 5 days after INC-9's resolution: due now */
    f = check(all, CW_SEV_CRITICAL, 5, "2017-02-06T00:00:00Z");
    assert_int_equal(of_rule(f, "incident-without-postmortem", k, 16), 1);
    json_decref(f);
    f = check(all, CW_SEV_CRITICAL, 5, "2017-02-05T23:59:59Z");
    assert_int_equal(of_rule(f, "incident-without-postmortem", k, 16), 0);
    json_decref(f);
    json_decref(all);
}

static void test_action_rules(void **state)
{
    (void)state;
    json_t *all = catalog();
    char k[16][160];
    json_t *f = check(all, CW_SEV_CRITICAL, 5, "2017-02-11T12:00:00Z");
    /* overdue: AI-1 (due the day before); not AI-2 (due today), not AI-3
     * (done), not X (wont-do), not AI-4 (due at the end of the year) */
    size_t n = of_rule(f, "action-overdue", k, 16);
    assert_int_equal(n, 1);
    assert_string_equal(k[0], "postmortem:default/outage|group:default/dba|AI-1");
    /* the next day AI-2 is overdue too (owned by a person) */
    json_decref(f);
    f = check(all, CW_SEV_CRITICAL, 5, "2017-02-12T00:00:00Z");
    n = of_rule(f, "action-overdue", k, 16);
    assert_int_equal(n, 2);
    assert_string_equal(k[1], "postmortem:default/outage|user:default/alice|AI-2");
    json_decref(f);

    f = check(all, CW_SEV_CRITICAL, 5, "2017-02-11T12:00:00Z");
    n = of_rule(f, "action-owner-unknown", k, 16);
    assert_int_equal(n, 1);
    assert_string_equal(k[0], "postmortem:default/outage|group:default/recruiting|AI-4");

    /* AI-5 (sre, data-durability) and AI-7 (nobody declared for security);
     * AI-1 (dba), AI-2 (alice, a member of dba) and AI-6 (bob of sre,
     * monitoring) answer for theirs */
    n = of_rule(f, "action-owner-not-accountable", k, 16);
    assert_int_equal(n, 2);
    assert_string_equal(k[0], "postmortem:default/outage|group:default/sre|AI-5");
    assert_string_equal(k[1], "postmortem:default/outage|group:default/dba|AI-7");
    size_t i;
    json_t *x;
    json_array_foreach(f, i, x) {
        if (strcmp(json_string_value(json_object_get(x, "rule")), "action-owner-not-accountable"))
            continue;
        assert_string_equal(json_string_value(json_object_get(x, "severity")), "warning");
        assert_string_equal(json_string_value(json_object_get(x, "component")),
                            "component:default/db");
    }

    n = of_rule(f, "postmortem-without-actions", k, 16);
    assert_int_equal(n, 1);
    assert_string_equal(k[0], "postmortem:default/no-actions|-|-");

    /* sorted by rule, then entity */
    const char *last = "";
    json_array_foreach(f, i, x) {
        const char *rule = json_string_value(json_object_get(x, "rule"));
        assert_true(strcmp(last, rule) <= 0);
        last = rule;
    }
    json_decref(f);
    json_decref(all);
}

static void test_naming_and_team_actions(void **state)
{
    (void)state;
    json_t *all = catalog();
    size_t n = json_array_size(all);
    json_t *items[32];
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(all, i);
    json_t *out = NULL;
    cw_diag d = {""};
    assert_int_equal(cw_postmortems_naming(items, n, "INC-1", &out, &d), CW_OK);
    assert_int_equal(json_array_size(out), 2);
    const json_t *first = json_array_get(out, 0);
    assert_string_equal(json_string_value(json_object_get(first, "entityRef")),
                        "postmortem:default/outage");
    assert_int_equal(json_integer_value(json_object_get(first, "actionItems")), 7);
    assert_int_equal(json_integer_value(json_object_get(first, "openActionItems")), 6);
    json_decref(out);
    assert_int_equal(cw_postmortems_naming(items, n, "INC-404", &out, &d), CW_OK);
    assert_int_equal(json_array_size(out), 0);
    json_decref(out);

    /* dba owes AI-1 (overdue), AI-2 (alice is a member), AI-7; sorted
     * overdue first, then by due date */
    assert_int_equal(cw_postmortem_team_actions(items, n, "dba", ts("2017-02-11T12:00:00Z"), &out, &d),
                     CW_OK);
    assert_int_equal(json_array_size(out), 3);
    const char *want[] = {"AI-1", "AI-2", "AI-7"};
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(out, i), "id")),
                            want[i]);
    assert_true(json_is_true(json_object_get(json_array_get(out, 0), "overdue")));
    assert_int_equal(json_integer_value(json_object_get(json_array_get(out, 0), "daysOverdue")), 1);
    assert_true(json_is_false(json_object_get(json_array_get(out, 1), "overdue")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(out, 1), "owner")),
                        "user:default/alice");
    json_decref(out);
    /* a later day: AI-2 overdue too, AI-7 still not */
    assert_int_equal(cw_postmortem_team_actions(items, n, "group:default/dba",
                                                ts("2017-02-20T00:00:00Z"), &out, &d),
                     CW_OK);
    assert_true(json_is_true(json_object_get(json_array_get(out, 1), "overdue")));
    assert_true(json_is_false(json_object_get(json_array_get(out, 2), "overdue")));
    json_decref(out);
    /* sre: AI-5, and AI-6 of bob, a member (AI-3 is done) */
    assert_int_equal(cw_postmortem_team_actions(items, n, "sre", ts("2017-02-11T12:00:00Z"), &out, &d),
                     CW_OK);
    assert_int_equal(json_array_size(out), 2);
    json_decref(out);
    assert_int_equal(cw_postmortem_team_actions(items, n, "group:", 0, &out, &d), CW_ERR_INVALID);
    json_decref(all);
}

static void test_merge_with_ownership(void **state)
{
    (void)state;
    json_t *all = catalog();
    json_t *own = NULL, *pm = check(all, CW_SEV_CRITICAL, 5, "2017-02-11T12:00:00Z"), *merged = NULL;
    cw_diag d = {""};
    assert_int_equal(cw_ownership_check_array(all, NULL, &own, &d), CW_OK);
    assert_int_equal(cw_findings_merge(own, pm, &merged, &d), CW_OK);
    assert_int_equal(json_array_size(merged), json_array_size(own) + json_array_size(pm));
    size_t i;
    json_t *x;
    const char *last = "";
    json_array_foreach(merged, i, x) {
        const char *rule = json_string_value(json_object_get(x, "rule"));
        assert_true(strcmp(last, rule) <= 0);
        last = rule;
    }
    /* the ownership filter knows the postmortem rules, and the team filter
     * finds an action item by its owner */
    cw_ownership_filter flt = {.rule = "action-overdue"};
    json_t *kept = NULL;
    assert_int_equal(cw_ownership_filter_findings(merged, &flt, &kept, &d), CW_OK);
    assert_int_equal(json_array_size(kept), 1);
    json_decref(kept);
    flt = (cw_ownership_filter){.team = "recruiting"};
    assert_int_equal(cw_ownership_filter_findings(merged, &flt, &kept, &d), CW_OK);
    assert_int_equal(json_array_size(kept), 1);
    json_decref(kept);
    flt = (cw_ownership_filter){.rule = "action-late"};
    assert_int_equal(cw_ownership_filter_findings(merged, &flt, &kept, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "incident-without-postmortem"));
    json_decref(merged);
    json_decref(own);
    json_decref(pm);
    json_decref(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_incident_without_postmortem),
        cmocka_unit_test(test_action_rules),
        cmocka_unit_test(test_naming_and_team_actions),
        cmocka_unit_test(test_merge_with_ownership),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
