/* test_initiative.c — the Initiative kind: its validation in the catalog
 * (src/catalog/initiative.c: every wrong field named) and its progress
 * (src/insights/initiative.c): who is at the target, the projection on
 * burn-ups whose slope is known exactly, each verdict, and the remaining
 * entities per team. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "catalog/catalog.h"
#include "fixtures.h"
#include "insights/initiative.h"

/* Validates an entity written with ' for "; d holds the problems. */
static cw_err validate(const char *text, cw_diag *d)
{
    char *json = strdup(text);
    for (char *p = json; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_error_t je;
    json_t *e = json_loads(json, 0, &je);
    free(json);
    if (!e)
        fail_msg("test JSON: %s", je.text);
    cw_err err = cw_entity_validate(e, d);
    json_decref(e);
    return err;
}

#define INI(spec) \
    "{'apiVersion':'conway.dev/v1','kind':'Initiative','metadata':{'name':'i'},'spec':" spec "}"

static void test_kind_validation(void **state)
{
    (void)state;
    cw_diag d = {{0}};
    static const char *const ok[] = {
        INI("{'scorecard':'production-readiness','targetLevel':'silver','owner':'platform',"
            "'filter':'kind=component,spec.lifecycle=production','start':'2026-11-01',"
            "'deadline':'2027-01-31'}"),
        INI("{'scorecard':'scorecard:default/prr','checks':['runbook','dashboard'],"
            "'filter':['kind=component','kind=api'],'start':'2026-11-01T00:00:00Z',"
            "'deadline':'2026-11-02'}"),
        INI("{'scorecard':'prr','targetLevel':'gold','start':'2026-11-01','deadline':'2026-12-01'}"),
    };
    for (size_t i = 0; i < FX_LEN(ok); i++)
        if (validate(ok[i], &d) != CW_OK)
            fail_msg("%zu: %s", i, d.msg);

    static const struct {
        const char *in, *msg;
    } bad[] = {
        {INI("{}"),
         "spec.scorecard: required for kind Initiative; spec.targetLevel: required (or "
         "spec.checks): the level, or the checks, every entity in scope is to reach; spec.start: "
         "required: a date (2026-12-31) or an RFC 3339 date-time; spec.deadline: required: a date "
         "(2026-12-31) or an RFC 3339 date-time"},
        {INI("{'scorecard':'prr','targetLevel':'silver','checks':['a'],'start':'2026-11-01',"
             "'deadline':'2026-11-01'}"),
         "spec.checks: give spec.targetLevel or spec.checks, not both; spec.deadline: must be "
         "after spec.start (2026-11-01)"},
        {INI("{'scorecard':'prr','checks':['a','','a',3],'start':'soon','deadline':'2026-11-01'}"),
         "spec.checks[1]: must be a check id of the scorecard: 1 to 127 characters without "
         "control characters; spec.checks[2]: names the same check as spec.checks[0]; "
         "spec.checks[3]: must be a check id of the scorecard: 1 to 127 characters without "
         "control characters; spec.start: must be a date (2026-12-31) or an RFC 3339 date-time"},
        {INI("{'scorecard':'prr','checks':[],'start':'2026-11-01','deadline':'2026-12-01'}"),
         "spec.checks: must be a non-empty list of check ids of the scorecard"},
        {INI("{'scorecard':'prr','targetLevel':'a\\nb','filter':'kind=','start':'2026-11-01',"
             "'deadline':'2026-12-01'}"),
         NULL /* the filter parser's own words follow spec.filter */},
        {INI("{'scorecard':'prr','targetLevel':'s','filter':{'kind':'component'},"
             "'start':'2026-11-01','deadline':'2026-12-01'}"),
         "spec.filter: must be a filter string (kind=component,spec.lifecycle=production) or a "
         "list of 1 to 100 of them (ORed)"},
        {INI("{'scorecard':'prr','targetLevel':'s','filter':['kind=api',1],"
             "'start':'2026-11-01','deadline':'2026-12-01'}"),
         "spec.filter[1]: must be a filter string such as kind=component"},
        {INI("{'scorecard':'group:default/x','targetLevel':'s','start':'2026-11-01',"
             "'deadline':'2026-12-01'}"),
         NULL /* a ref of the wrong kind: the kind table's words */},
        {"{'apiVersion':'backstage.io/v1alpha1','kind':'Initiative','metadata':{'name':'i'},"
         "'spec':{'scorecard':'prr','targetLevel':'s','start':'2026-11-01','deadline':'2026-12-01'}}",
         "apiVersion: \"backstage.io/v1alpha1\" is not supported for kind Initiative (use "
         "conway.dev/v1)"},
    };
    for (size_t i = 0; i < FX_LEN(bad); i++) {
        if (validate(bad[i].in, &d) != CW_ERR_INVALID)
            fail_msg("%zu: accepted", i);
        if (bad[i].msg && strcmp(d.msg, bad[i].msg))
            fail_msg("%zu:\n got  %s\n want %s", i, d.msg, bad[i].msg);
    }
    assert_int_equal(validate(bad[4].in, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "spec.targetLevel: must be a level name"));
    assert_non_null(strstr(d.msg, "spec.filter: "));
    assert_int_equal(validate(bad[7].in, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "spec.scorecard"));

    /* relations: an initiative belongs to its owner */
    json_t *e = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:s, s:s, s:s}}", "apiVersion",
                          "conway.dev/v1", "kind", "Initiative", "metadata", "name", "i", "spec",
                          "scorecard", "prr", "targetLevel", "silver", "owner", "platform",
                          "start", "2026-11-01", "deadline", "2027-01-31");
    assert_int_equal(cw_entity_validate(e, &d), CW_OK);
    cw_relation_list rels = {0};
    assert_int_equal(cw_entity_relations(e, &rels, &d), CW_OK);
    assert_int_equal(rels.len, 1);
    assert_string_equal(rels.items[0].type, "ownedBy");
    assert_string_equal(rels.items[0].target_ref, "group:default/platform");
    cw_relation_list_free(&rels);
    json_decref(e);
    assert_true(cw_kind_team_writable("Initiative"));
}

static void test_reached(void **state)
{
    (void)state;
    static const char *const levels[] = {"bronze", "silver", "gold"};
    cw_initiative_target t = {levels, 3, "silver", NULL, 0};
    assert_true(cw_initiative_reached(&t, "gold", NULL, 0));
    assert_true(cw_initiative_reached(&t, "silver", NULL, 0));
    assert_false(cw_initiative_reached(&t, "bronze", NULL, 0));
    assert_false(cw_initiative_reached(&t, "", NULL, 0));
    assert_false(cw_initiative_reached(&t, NULL, NULL, 0));
    assert_false(cw_initiative_reached(&t, "platinum", NULL, 0)); /* a level no longer there */
    t.target_level = "platinum"; /* a target the scorecard lacks: nobody reaches it */
    assert_false(cw_initiative_reached(&t, "gold", NULL, 0));
    assert_int_equal(cw_initiative_level_rank(&t, "gold"), 2);
    assert_int_equal(cw_initiative_level_rank(&t, "Gold"), -1);

    static const char *const checks[] = {"runbook", "dashboard"};
    cw_initiative_target c = {levels, 3, NULL, checks, 2};
    static const char *const all[] = {"owner", "dashboard", "runbook"};
    static const char *const some[] = {"runbook", "owner"};
    assert_true(cw_initiative_reached(&c, NULL, all, 3));
    assert_false(cw_initiative_reached(&c, "gold", some, 2)); /* the level does not matter */
    assert_false(cw_initiative_reached(&c, NULL, NULL, 0));
}

static void test_compact_form(void **state)
{
    (void)state;
    char out[8];
    bool p[9] = {true, false, true, false, false, false, false, true, true};
    assert_true(cw_passed_encode(p, 9, out, sizeof out));
    assert_string_equal(out, "581"); /* 0101 -> 5, 0001 in bit 3 -> 8, check 8 -> 1 */
    for (size_t i = 0; i < 9; i++)
        assert_int_equal(cw_passed_has(out, i), p[i]);
    assert_false(cw_passed_has(out, 9));
    assert_false(cw_passed_has(out, 400)); /* past the end */
    assert_false(cw_passed_has("", 0));
    assert_false(cw_passed_has(NULL, 0));
    assert_false(cw_passed_has("z", 0));
    assert_true(cw_passed_has("F", 3));
    assert_true(cw_passed_encode(p, 0, out, 1));
    assert_string_equal(out, "");
    assert_false(cw_passed_encode(p, 9, out, 3)); /* needs 4 bytes */

    /* a snapshot row against a list of checks: found by id in that day's list */
    static const char *const levels[] = {"bronze", "silver"};
    static const char *const checks[] = {"runbook", "dashboard"};
    cw_initiative_target t = {levels, 2, NULL, checks, 2};
    json_t *day = json_pack("[s, s, s]", "owner", "dashboard", "runbook");
    assert_true(cw_initiative_reached_snapshot(&t, "", day, "6"));   /* checks 1 and 2 */
    assert_false(cw_initiative_reached_snapshot(&t, "", day, "2"));  /* dashboard only */
    json_t *older = json_pack("[s, s]", "owner", "dashboard"); /* no runbook check yet */
    assert_false(cw_initiative_reached_snapshot(&t, "silver", older, "f"));
    cw_initiative_target lv = {levels, 2, "silver", NULL, 0};
    assert_true(cw_initiative_reached_snapshot(&lv, "silver", older, ""));
    assert_false(cw_initiative_reached_snapshot(&lv, "bronze", older, "f"));
    json_decref(day);
    json_decref(older);
}

#define S 20000 /* the start day */

/* cmocka 1.1 has no assert_double_equal */
#define NEAR(a, b, eps)                                                            \
    do {                                                                           \
        double a_ = (a), b_ = (b);                                                 \
        if (!(fabs(a_ - b_) <= (eps)))                                             \
            fail_msg("%s = %.15g, want %.15g (line %d)", #a, a_, b_, __LINE__);     \
    } while (0)

/* A least-squares slope written out differently from the code: the
 * textbook (n Sxy - Sx Sy) / (n Sxx - Sx^2) on absolute days. */
static double ls_slope(const cw_burnup_point *p, size_t n)
{
    double nx = 0, sx = 0, sy = 0, sxy = 0, sxx = 0;
    for (size_t i = 0; i < n; i++) {
        double x = (double)p[i].day, y = (double)p[i].done / (double)p[i].total;
        nx++, sx += x, sy += y, sxy += x * y, sxx += x * x;
    }
    return (nx * sxy - sx * sy) / (nx * sxx - sx * sx);
}

static void test_projection(void **state)
{
    (void)state;
    cw_diag d = {{0}};
    cw_initiative_projection pr;
    cw_burnup_point p[12];

    /* 1 point a day on 100 entities: share 0.10 + 0.01 * day; 91 days left */
    for (int i = 0; i < 10; i++)
        p[i] = (cw_burnup_point){S + i, 10 + i, 100};
    assert_int_equal(cw_initiative_project(p, 10, S, S + 100, S + 9, &pr, &d), CW_OK);
    assert_int_equal(pr.verdict, CW_PACE_ON_PACE);
    assert_string_equal(cw_pace_name(pr.verdict), "on-pace");
    assert_true(pr.has_rate);
    NEAR(pr.rate_per_day, 0.01, 1e-12);
    NEAR(pr.share_now, 0.19, 1e-12);
    NEAR(pr.projected_share, 1.0, 1e-12); /* 0.19 + 0.91, clamped */
    NEAR(pr.required_rate, 0.81 / 91, 1e-12);
    assert_int_equal(pr.days_left, 91);
    assert_int_equal(pr.points_used, 10);
    assert_non_null(strstr(pr.reason, "19.0% at the target; at +1.00 points a day"));

    /* half that pace on 200 entities: 0.145 + 0.005 * 91 = 0.6 by the deadline */
    for (int i = 0; i < 10; i++)
        p[i] = (cw_burnup_point){S + i, 20 + i, 200};
    assert_int_equal(cw_initiative_project(p, 10, S, S + 100, S + 9, &pr, &d), CW_OK);
    assert_int_equal(pr.verdict, CW_PACE_BEHIND);
    NEAR(pr.rate_per_day, 0.005, 1e-12);
    NEAR(pr.projected_share, 0.6, 1e-12);
    assert_non_null(strstr(pr.reason, "reaches 60.0% by the deadline in 91 days"));

    /* noise, a missing day and a point before the start: the fit uses the
     * points of [start, today] only, and agrees with the textbook form */
    cw_burnup_point q[] = {{S - 3, 50, 50}, {S, 10, 100}, {S + 1, 14, 100}, {S + 3, 15, 100},
                           {S + 4, 22, 100}, {S + 5, 20, 100}, {S + 6, 0, 0}, {S + 7, 30, 110}};
    assert_int_equal(cw_initiative_project(q, FX_LEN(q), S, S + 30, S + 7, &pr, &d), CW_OK);
    assert_int_equal(pr.points_used, 6);
    static const cw_burnup_point used[] = {{S, 10, 100},     {S + 1, 14, 100}, {S + 3, 15, 100},
                                           {S + 4, 22, 100}, {S + 5, 20, 100}, {S + 7, 30, 110}};
    NEAR(pr.rate_per_day, ls_slope(used, FX_LEN(used)), 1e-9);
    NEAR(pr.share_now, 30.0 / 110, 1e-12);
    double want = 30.0 / 110 + pr.rate_per_day * 23;
    NEAR(pr.projected_share, want > 1 ? 1 : want, 1e-12);

    /* achieved, missed, not started, too few points, nothing in scope */
    cw_burnup_point a[] = {{S, 5, 10}, {S + 1, 10, 10}};
    assert_int_equal(cw_initiative_project(a, 2, S, S + 10, S + 1, &pr, &d), CW_OK);
    assert_int_equal(pr.verdict, CW_PACE_ACHIEVED);
    assert_string_equal(pr.reason, "all 10 entities in scope are at the target");
    assert_int_equal(cw_initiative_project(a, 1, S, S + 10, S + 12, &pr, &d), CW_OK);
    assert_int_equal(pr.verdict, CW_PACE_MISSED);
    assert_string_equal(pr.reason, "the deadline passed 2 days ago with 50.0% (5 of 10) at the target");
    assert_int_equal(cw_initiative_project(a, 1, S + 5, S + 10, S, &pr, &d), CW_OK);
    assert_int_equal(pr.verdict, CW_PACE_NOT_STARTED);
    assert_int_equal(cw_initiative_project(a, 1, S, S + 10, S, &pr, &d), CW_OK);
    assert_int_equal(pr.verdict, CW_PACE_UNKNOWN);
    assert_false(pr.has_rate);
    assert_non_null(strstr(pr.reason, "1 daily snapshot since the start"));
    assert_int_equal(cw_initiative_project(NULL, 0, S, S + 10, S, &pr, &d), CW_OK);
    assert_int_equal(pr.verdict, CW_PACE_UNKNOWN);
    assert_string_equal(pr.reason, "no entity in scope has been judged yet");

    /* bad input */
    cw_burnup_point b1[] = {{S + 1, 1, 2}, {S, 1, 2}};
    assert_int_equal(cw_initiative_project(b1, 2, S, S + 10, S, &pr, &d), CW_ERR_INVALID);
    cw_burnup_point b2[] = {{S, 3, 2}};
    assert_int_equal(cw_initiative_project(b2, 1, S, S + 10, S, &pr, &d), CW_ERR_INVALID);
    assert_int_equal(cw_initiative_project(a, 2, S, S, S, &pr, &d), CW_ERR_INVALID);
}

static void test_teams(void **state)
{
    (void)state;
    cw_diag d = {{0}};
    const char *teams[] = {"group:default/b", "group:default/a", NULL, "group:default/b",
                           "group:default/a", "group:default/c"};
    bool reached[] = {false, true, false, false, false, true};
    cw_team_remaining *t;
    size_t n;
    assert_int_equal(cw_initiative_teams(teams, reached, 6, &t, &n, &d), CW_OK);
    assert_int_equal(n, 4);
    assert_string_equal(t[0].team, "group:default/b");
    assert_int_equal(t[0].remaining, 2);
    assert_int_equal(t[0].total, 2);
    assert_string_equal(t[1].team, ""); /* 1 remaining: "" before group:default/a */
    assert_int_equal(t[1].remaining, 1);
    assert_string_equal(t[2].team, "group:default/a");
    assert_int_equal(t[2].remaining, 1);
    assert_int_equal(t[2].total, 2);
    assert_string_equal(t[3].team, "group:default/c");
    assert_int_equal(t[3].remaining, 0);
    free(t);
    assert_int_equal(cw_initiative_teams(NULL, NULL, 0, &t, &n, &d), CW_OK);
    assert_null(t);
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_validation),
        cmocka_unit_test(test_reached),
        cmocka_unit_test(test_compact_form),
        cmocka_unit_test(test_projection),
        cmocka_unit_test(test_teams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
