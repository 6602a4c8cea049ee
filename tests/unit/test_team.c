/*
 * test_team.c — the team report (insights/team.h) over the demo
 * organisation, read from the demo/org YAML files both as written (spec only) and
 * with store-style relations in both directions, plus small hand-built
 * catalogs for the edge cases (members only through relations, invalid
 * annotations, not a team, unknown group).
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
#include "fixtures.h"
#include "insights/team.h"

static json_t *report(json_t *all, const char *team, const cw_ownership_opts *opts)
{
    size_t n = json_array_size(all);
    json_t **items = calloc(n ? n : 1, sizeof *items);
    assert_non_null(items);
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(all, i);
    json_t *out = NULL;
    cw_diag d = {""};
    cw_err err = cw_team_report(items, n, team, opts, NULL, &out, &d);
    free(items);
    if (err)
        fail_msg("%s: %s", team, d.msg);
    return out;
}

/* "a,b,c" of a JSON array of strings. */
static const char *joined(const json_t *arr)
{
    static char buf[8192];
    size_t o = 0;
    buf[0] = '\0';
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v) {
        const char *s = json_is_string(v) ? json_string_value(v)
                                          : json_string_value(json_object_get(v, "ref"));
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", i ? "," : "", s ? s : "?");
        if (o >= sizeof buf)
            break;
    }
    return buf;
}

static bool has_note(const json_t *rep, const char *needle)
{
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(rep, "notes"), i, v) {
        if (strstr(json_string_value(v), needle))
            return true;
    }
    return false;
}

static size_t count_rule(const json_t *rep, const char *rule)
{
    size_t i, n = 0;
    const json_t *v;
    json_array_foreach(json_object_get(rep, "findings"), i, v) {
        if (!strcmp(json_string_value(json_object_get(v, "rule")), rule))
            n++;
    }
    return n;
}

static json_int_t load_int(const json_t *rep, const char *field)
{
    return json_integer_value(json_object_get(json_object_get(rep, "load"), field));
}

static void check_demo(json_t *all)
{
    /* team-playback: stream-aligned, PM and TL both members */
    json_t *r = report(all, "group:default/team-playback", NULL);
    assert_string_equal(json_string_value(json_object_get(r, "entityRef")),
                        "group:default/team-playback");
    assert_string_equal(json_string_value(json_object_get(r, "teamType")), "stream-aligned");
    assert_string_equal(json_string_value(json_object_get(r, "parent")),
                        "group:default/listening-tribe");
    json_t *pm = json_object_get(r, "productManager");
    assert_string_equal(json_string_value(json_object_get(pm, "ref")), "user:default/raj.patel");
    assert_true(json_is_true(json_object_get(pm, "exists")));
    assert_true(json_is_true(json_object_get(pm, "member")));
    json_t *tl = json_object_get(r, "techLead");
    assert_string_equal(json_string_value(json_object_get(tl, "ref")),
                        "user:default/lena.hoffmann");
    assert_true(json_is_true(json_object_get(tl, "member")));
    const char *members = joined(json_object_get(r, "members"));
    assert_non_null(strstr(members, "user:default/raj.patel"));
    assert_non_null(strstr(members, "user:default/lena.hoffmann"));
    assert_non_null(strstr(members, "user:default/mira.kovac"));
    assert_null(strstr(members, "user:default/jonas.berg"));
    json_t *owns = json_object_get(r, "owns");
    assert_string_equal(joined(json_object_get(owns, "Component")),
                        "component:default/entitlement-service,component:default/playback-service,"
                        "component:default/player-sdk,"
                        "component:default/stream-delivery-service,component:default/web-player");
    assert_string_equal(joined(json_object_get(owns, "System")), "system:default/playback");
    assert_int_equal(load_int(r, "components"), 5);
    assert_int_equal(load_int(r, "productionComponents"), 5);
    assert_int_equal(load_int(r, "systems"), 1);
    assert_int_equal(load_int(r, "maxComponentsPerTeam"), 8);
    assert_true(json_is_false(json_object_get(json_object_get(r, "load"), "overloaded")));
    /* on call through the playback system's Responsibilities: also for
     * lyrics-service, which a person owns but which is in the system */
    json_t *oncall = json_object_get(json_object_get(r, "load"), "onCall");
    assert_string_equal(json_string_value(json_object_get(oncall, "activity")),
                        "incident-resolution");
    assert_int_equal(json_integer_value(json_object_get(oncall, "count")), 6);
    assert_non_null(strstr(joined(json_object_get(oncall, "components")),
                           "component:default/lyrics-service"));
    /* accountable for ci-cd, logging, monitoring, incident-resolution and
     * data-durability of the playback system: 5 activities x 6 components */
    assert_int_equal(load_int(r, "accountableActivities"), 30);
    /* RACI roles: the playback system's declaration, by activity */
    json_t *raci = json_object_get(r, "raci");
    size_t i;
    json_t *row;
    size_t nplayback = 0;
    json_array_foreach(raci, i, row) {
        if (strcmp(json_string_value(json_object_get(row, "target")), "system:default/playback"))
            continue;
        nplayback++;
        assert_string_equal(json_string_value(json_object_get(row, "responsibilities")),
                            "responsibilities:default/playback");
        const char *act = json_string_value(json_object_get(row, "activity"));
        const char *roles = joined(json_object_get(row, "roles"));
        if (!strcmp(act, "incident-resolution"))
            assert_string_equal(roles, "responsible,accountable");
        if (!strcmp(act, "mechanical-sympathy"))
            assert_null(strstr(roles, "accountable")); /* lena.hoffmann is */
    }
    assert_int_equal(nplayback, 7);
    /* the findings that concern it: the shared legacy-users-db its
     * entitlement-service uses; nothing else (lyrics-service is owned by a
     * person, not by the team) */
    assert_int_equal(json_array_size(json_object_get(r, "findings")), 1);
    assert_int_equal(count_rule(r, "shared-resource-owner"), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(r, "findings"), 0), "entityRef")),
                        "resource:default/legacy-users-db");
    assert_false(has_note(r, "no product manager"));
    json_decref(r);

    /* team-content: overloaded, its royalties components lack accountables */
    r = report(all, "team-content", NULL);
    assert_int_equal(load_int(r, "productionComponents"), 13);
    assert_true(json_is_true(json_object_get(json_object_get(r, "load"), "overloaded")));
    assert_int_equal(count_rule(r, "team-overload"), 1);
    assert_int_equal(count_rule(r, "no-accountable"), 4);
    json_decref(r);
    cw_ownership_opts opts = {.max_components_per_team = 20};
    r = report(all, "team-content", &opts);
    assert_true(json_is_false(json_object_get(json_object_get(r, "load"), "overloaded")));
    assert_int_equal(count_rule(r, "team-overload"), 0);
    json_decref(r);

    /* team-data-governance: no members, no PM, no TL */
    r = report(all, "group:default/team-data-governance", NULL);
    assert_int_equal(json_array_size(json_object_get(r, "members")), 0);
    assert_true(json_is_null(json_object_get(r, "productManager")));
    assert_true(json_is_null(json_object_get(r, "techLead")));
    assert_string_equal(json_string_value(json_object_get(r, "teamType")), "enabling");
    assert_true(has_note(r, "no product manager"));
    assert_true(has_note(r, "no tech lead"));
    assert_true(has_note(r, "no members"));
    assert_int_equal(count_rule(r, "team-without-members"), 1);
    assert_int_equal(load_int(r, "components"), 0);
    json_decref(r);

    /* leadership: a team without annotations */
    r = report(all, "leadership", NULL);
    assert_true(json_is_null(json_object_get(r, "teamType")));
    assert_true(has_note(r, "no team type"));
    json_decref(r);

    /* team-sre: responsible for incident resolution wherever a
     * Responsibilities covers it, i.e. every production component except
     * those of the royalties system */
    r = report(all, "team-sre", NULL);
    size_t expected = 0;
    json_t *e;
    json_array_foreach(all, i, e) {
        json_t *spec = json_object_get(e, "spec");
        const char *sys = json_string_value(json_object_get(spec, "system"));
        if (strcmp(json_string_value(json_object_get(e, "kind")), "Component") ||
            strcmp(json_string_value(json_object_get(spec, "lifecycle")), "production") ||
            (sys && !strcmp(sys, "royalties")))
            continue;
        expected++;
    }
    assert_true(expected > 20);
    oncall = json_object_get(json_object_get(r, "load"), "onCall");
    assert_int_equal(json_integer_value(json_object_get(oncall, "count")), expected);
    assert_int_equal(load_int(r, "accountableActivities"), 0);
    json_decref(r);
}

/* Findings handed in by the caller give the same report as computed ones. */
static void check_given_findings(json_t *all)
{
    size_t n = json_array_size(all);
    json_t **items = calloc(n, sizeof *items);
    assert_non_null(items);
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(all, i);
    json_t *findings = NULL, *given = NULL;
    cw_diag d = {""};
    assert_int_equal(cw_ownership_check(items, n, NULL, &findings, &d), CW_OK);
    assert_int_equal(cw_team_report(items, n, "team-commerce", NULL, findings, &given, &d), CW_OK);
    json_t *computed = report(all, "team-commerce", NULL);
    assert_true(json_equal(given, computed));
    assert_int_equal(count_rule(given, "no-accountable"), 3);
    json_decref(given);
    json_decref(computed);
    json_decref(findings);
    free(items);
}

static void test_demo_teams(void **state)
{
    (void)state;
    json_t *all = fx_demo_load();
    if (!all)
        skip();
    check_given_findings(all);
    check_demo(all);
    fx_add_relations(all);
    check_demo(all);
    json_decref(all);
}

static json_t *yaml_all(const char *text)
{
    json_t *docs = NULL;
    cw_diag d = {""};
    if (cw_parse_documents(text, strlen(text), NULL, &docs, &d) != CW_OK)
        fail_msg("%s", d.msg);
    return docs;
}

static void test_errors_and_edges(void **state)
{
    (void)state;
    json_t *all = yaml_all(
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: eng\n"
        "spec:\n  type: department\n  children: []\n"
        "---\n"
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: t1\n"
        "  annotations:\n    conway.dev/team-type: squad\n"
        "    conway.dev/product-manager: 'group:eng'\n"
        "    conway.dev/tech-lead: ghost\n"
        "spec:\n  type: Team\n  children: []\n  members: [ann]\n"
        "---\n"
        "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: ann\n"
        "spec:\n  memberOf: []\n"
        "---\n"
        "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: bob\n"
        "spec:\n  memberOf: []\n"
        "---\n"
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: c1\n"
        "spec:\n  type: service\n  lifecycle: Production\n  owner: t1\n");
    size_t n = json_array_size(all);
    json_t *items[8];
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(all, i);
    /* bob is a member only through a relation (as the store shows it) */
    json_object_set_new(items[3], "relations",
                        json_pack("[{s:s, s:s}]", "type", "memberOf", "targetRef",
                                  "group:default/t1"));
    json_t *out = NULL;
    cw_diag d = {""};
    assert_int_equal(cw_team_report(items, n, "group:default/t1", NULL, NULL, &out, &d), CW_OK);
    assert_string_equal(joined(json_object_get(out, "members")),
                        "user:default/ann,user:default/bob");
    assert_string_equal(json_string_value(json_object_get(out, "teamType")), "squad");
    assert_true(has_note(out, "is not a Team Topologies type"));
    assert_true(has_note(out, "conway.dev/product-manager: \"group:eng\" is not a User reference"));
    assert_true(has_note(out, "the tech lead user:default/ghost does not exist"));
    json_t *tl = json_object_get(out, "techLead");
    assert_true(json_is_false(json_object_get(tl, "exists")));
    assert_int_equal(load_int(out, "productionComponents"), 1); /* lifecycle ignores case */
    json_decref(out);

    assert_int_equal(cw_team_report(items, n, "group:default/eng", NULL, NULL, &out, &d),
                     CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "is not a team: its spec.type is \"department\""));
    assert_null(out);
    assert_int_equal(cw_team_report(items, n, "group:default/nobody", NULL, NULL, &out, &d),
                     CW_ERR_NOT_FOUND);
    assert_non_null(strstr(d.msg, "group:default/nobody does not exist"));
    assert_int_equal(cw_team_report(items, n, "user:default/ann", NULL, NULL, &out, &d),
                     CW_ERR_INVALID);
    assert_int_equal(cw_team_report(items, n, "a:b:c/d/e", NULL, NULL, &out, &d), CW_ERR_INVALID);
    json_decref(all);
}

/* Children named by spec.parent, spec.children or a childOf relation; the
 * descendants' walk ends at a cycle. */
static void test_group_hierarchy(void **state)
{
    (void)state;
    json_t *all = yaml_all(
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: dept\n"
        "spec:\n  type: department\n  children: [b]\n"
        "---\n"
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: a\n"
        "spec:\n  type: team\n  parent: dept\n  children: []\n"
        "---\n"
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: b\n"
        "spec:\n  type: team\n  children: []\n"
        "---\n"
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: a1\n"
        "spec:\n  type: team\n  children: []\n"
        "---\n"
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: loop\n"
        "spec:\n  type: team\n  parent: a1\n  children: [a]\n");
    size_t n = json_array_size(all);
    json_t *items[8];
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(all, i);
    /* a1 is a's child only through a relation (as the store shows it) */
    json_object_set_new(items[3], "relations",
                        json_pack("[{s:s, s:s}]", "type", "childOf", "targetRef",
                                  "group:default/a"));
    json_t *out = NULL;
    cw_diag d = {""};
    assert_int_equal(cw_group_children(items, n, "group:default/dept", &out, &d), CW_OK);
    assert_int_equal(json_array_size(out), 2);
    assert_ptr_equal(json_array_get(out, 0), items[1]);
    assert_ptr_equal(json_array_get(out, 1), items[2]);
    json_decref(out);
    assert_int_equal(cw_group_children(items, n, "dept", &out, &d), CW_OK);
    assert_int_equal(json_array_size(out), 2);
    json_decref(out);
    assert_int_equal(cw_group_children(items, n, "group:default/none", &out, &d),
                     CW_ERR_NOT_FOUND);
    assert_null(out);
    assert_int_equal(cw_group_children(items, n, "", &out, &d), CW_ERR_INVALID);

    /* dept > a > a1 > loop > a (a cycle), dept > b */
    assert_int_equal(cw_group_descendants(items, n, "group:default/dept", &out, &d), CW_OK);
    assert_int_equal(json_object_size(out), 5);
    assert_non_null(json_object_get(out, "group:default/loop"));
    json_decref(out);
    assert_int_equal(cw_group_descendants(items, n, "group:default/a1", &out, &d), CW_OK);
    assert_int_equal(json_object_size(out), 3); /* a1, loop, a (through the cycle) */
    assert_null(json_object_get(out, "group:default/dept"));
    json_decref(out);
    assert_int_equal(cw_group_descendants(items, n, "group:default/b", &out, &d), CW_OK);
    assert_int_equal(json_object_size(out), 1);
    json_decref(out);
    assert_int_equal(cw_group_descendants(items, n, "group:default/ghost", &out, &d), CW_OK);
    assert_int_equal(json_object_size(out), 1);
    json_decref(out);
    json_decref(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_teams),
        cmocka_unit_test(test_errors_and_edges),
        cmocka_unit_test(test_group_hierarchy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
