/*
 * test_architecture.c — the architecture findings (insights/architecture.h):
 * each rule positive and negative on hand-built catalogs (cycles through
 * dependsOn and through APIs, shared datastores read and written by
 * teams, cross-team shares at and above the threshold, spread over
 * systems and domains, release trains, fan-in/fan-out against the 95th
 * percentile and the floor, deprecated dependencies), severities and
 * their parser, silencing, filters, the report, graph marks, and the
 * demo organisation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fixtures.h"
#include "http/findings.h"
#include "insights/architecture.h"
#include "insights/graph.h"

typedef struct {
    json_t *items[512];
    size_t n;
    cw_graph *g;
    json_t *result;
} cat;

static int cat_setup(void **state)
{
    cat *c = calloc(1, sizeof *c);
    assert_non_null(c);
    *state = c;
    return 0;
}

static int cat_teardown(void **state)
{
    cat *c = *state;
    for (size_t i = 0; i < c->n; i++)
        json_decref(c->items[i]);
    cw_graph_free(c->g);
    json_decref(c->result);
    free(c);
    return 0;
}

static void add(cat *c, json_t *e)
{
    assert_non_null(e);
    assert_true(c->n < FX_LEN(c->items));
    c->items[c->n++] = e;
}

/* A production service; deps a JSON array literal with ' for ", extra
 * more spec members (starting with ',') or "". */
static json_t *svc(const char *name, const char *owner, const char *system, const char *deps,
                   const char *extra)
{
    char sys[128] = "";
    if (system)
        snprintf(sys, sizeof sys, ",'system':'%s'", system);
    return fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Component','metadata':"
                     "{'name':'%s'},'spec':{'type':'service','lifecycle':'production',"
                     "'owner':'%s'%s,'dependsOn':%s%s}}",
                     name, owner, sys, deps, extra);
}

static json_t *resource(const char *name, const char *type, const char *owner, const char *deps)
{
    return fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Resource','metadata':"
                     "{'name':'%s'},'spec':{'type':'%s','owner':'%s','dependsOn':%s}}",
                     name, type, owner, deps);
}

static void annotate(json_t *e, const char *key, const char *value)
{
    json_t *md = json_object_get(e, "metadata");
    if (!json_object_get(md, "annotations"))
        json_object_set_new(md, "annotations", json_object());
    json_object_set_new(json_object_get(md, "annotations"), key, json_string(value));
}

static const json_t *run_opts(cat *c, const cw_arch_opts *o, const cw_arch_train *trains,
                              size_t ntrains)
{
    cw_graph_free(c->g);
    json_decref(c->result);
    c->g = NULL;
    c->result = NULL;
    cw_diag d = {""};
    if (cw_graph_build(c->items, c->n, &c->g, &d) != CW_OK)
        fail_msg("graph: %s", d.msg);
    if (cw_arch_check(c->g, c->items, c->n, trains, ntrains, o, &c->result, &d) != CW_OK)
        fail_msg("check: %s", d.msg);
    return json_object_get(c->result, "findings");
}

static const json_t *run(cat *c) { return run_opts(c, NULL, NULL, 0); }

/* "entityRef|severity" of rule's findings joined by ';' (silenced ones
 * with "|silenced:<reason>"). */
static const char *of_rule(const json_t *findings, const char *rule)
{
    static char buf[8192];
    size_t o = 0, i;
    const json_t *f;
    buf[0] = '\0';
    json_array_foreach(findings, i, f) {
        if (strcmp(json_string_value(json_object_get(f, "rule")), rule) != 0)
            continue;
        const char *reason =
            json_string_value(json_object_get(json_object_get(f, "silenced"), "reason"));
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s|%s%s%s", o ? ";" : "",
                              json_string_value(json_object_get(f, "entityRef")),
                              json_string_value(json_object_get(f, "severity")),
                              reason ? "|silenced:" : "", reason ? reason : "");
        assert_true(o < sizeof buf);
    }
    return buf;
}

static const json_t *first_of(const json_t *findings, const char *rule)
{
    size_t i;
    const json_t *f;
    json_array_foreach(findings, i, f) {
        if (strcmp(json_string_value(json_object_get(f, "rule")), rule) == 0)
            return f;
    }
    fail_msg("no %s finding", rule);
    return NULL;
}

/* A JSON value compact, sorted keys (static buffer, one at a time). */
static const char *compact(const json_t *v)
{
    static char buf[8192];
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    assert_non_null(s);
    snprintf(buf, sizeof buf, "%s", s);
    free(s);
    return buf;
}

static json_int_t num(const json_t *f, const char *name)
{
    return json_integer_value(json_object_get(json_object_get(f, "numbers"), name));
}

/* ---- dependency-cycle ------------------------------------------------------------------ */

static void test_cycles(void **state)
{
    cat *c = *state;
    /* a -> b -> c -> a across two teams, with a chord a -> c; d -> e -> d
     * through an API; f depends on itself only; g -> a is outside */
    add(c, svc("a", "team-x", NULL, "['component:b','component:c']", ""));
    add(c, svc("b", "team-x", NULL, "['component:c']", ""));
    add(c, svc("c", "team-y", NULL, "['component:a']", ""));
    add(c, svc("d", "team-z", NULL, "[]", ",'consumesApis':['e-api'],'providesApis':['d-api']"));
    add(c, svc("e", "team-z", NULL, "[]", ",'consumesApis':['d-api'],'providesApis':['e-api']"));
    add(c, svc("f", "team-z", NULL, "['component:f']", ""));
    add(c, svc("g", "team-z", NULL, "['component:a']", ""));
    const json_t *fs = run(c);
    assert_string_equal(of_rule(fs, "dependency-cycle"),
                        "component:default/a|error;component:default/d|error");
    const json_t *f = first_of(fs, "dependency-cycle");
    assert_string_equal(compact(json_object_get(f, "cycle")),
                        "[\"component:default/a\",\"component:default/c\"]");
    assert_string_equal(compact(json_object_get(f, "entities")),
                        "[\"component:default/a\",\"component:default/b\",\"component:default/c\"]");
    assert_string_equal(compact(json_object_get(f, "teams")),
                        "[\"group:default/team-x\",\"group:default/team-y\"]");
    assert_int_equal(num(f, "entities"), 3);
    assert_int_equal(num(f, "cycleLength"), 2);
    assert_string_equal(json_string_value(json_object_get(f, "detail")),
                        "3 entities depend on each other in a cycle; a shortest cycle has 2: "
                        "component:default/a -> component:default/c -> component:default/a. "
                        "None of them can be changed or released on its own");
    assert_int_equal(json_integer_value(json_object_get(c->result, "cycles")), 2);
    /* silenced by any member of the cycle */
    annotate(c->items[1], "conway.dev/silence-dependency-cycle", "being split up in Q3");
    fs = run(c);
    assert_string_equal(of_rule(fs, "dependency-cycle"),
                        "component:default/a|error|silenced:being split up in Q3;"
                        "component:default/d|error");
    assert_string_equal(compact(json_object_get(first_of(fs, "dependency-cycle"), "silenced")),
                        "{\"by\":\"component:default/b\",\"reason\":\"being split up in Q3\"}");
    /* an empty reason silences nothing; another rule's annotation neither */
    annotate(c->items[1], "conway.dev/silence-dependency-cycle", "");
    annotate(c->items[0], "conway.dev/silence-fan-in", "irrelevant");
    fs = run(c);
    assert_string_equal(of_rule(fs, "dependency-cycle"),
                        "component:default/a|error;component:default/d|error");
}

/* ---- shared-datastore ---------------------------------------------------------------------- */

static void test_shared_datastore(void **state)
{
    cat *c = *state;
    /* users-db: read by three teams, written by nobody declared -> warning
     * orders-db: written by two teams (annotation, resource dependsOn) -> error
     * own-db: two components of one team -> nothing
     * sessions: type cache, shared -> only with --datastore-types cache */
    add(c, svc("a", "team-a", NULL, "['resource:users-db','resource:own-db','resource:sessions']", ""));
    add(c, svc("a2", "team-a", NULL, "['resource:own-db']", ""));
    add(c, svc("b", "team-b", NULL, "['resource:users-db','resource:orders-db','resource:sessions']", ""));
    add(c, svc("c", "team-c", NULL, "['resource:users-db']", ""));
    json_t *w = svc("w", "team-w", NULL, "['resource:orders-db']", "");
    annotate(w, "conway.dev/writes", "orders-db");
    add(c, w);
    add(c, resource("users-db", "database", "team-platform", "[]"));
    add(c, resource("orders-db", "database", "team-b", "['component:b']"));
    add(c, resource("own-db", "database", "team-a", "[]"));
    add(c, resource("sessions", "cache", "team-a", "[]"));
    const json_t *fs = run(c);
    assert_string_equal(of_rule(fs, "shared-datastore"),
                        "resource:default/orders-db|error;resource:default/users-db|warning");
    const json_t *f = first_of(fs, "shared-datastore");
    assert_string_equal(compact(json_object_get(f, "writers")),
                        "[\"component:default/b\",\"component:default/w\"]");
    assert_string_equal(compact(json_object_get(f, "teams")),
                        "[\"group:default/team-b\",\"group:default/team-w\"]");
    assert_string_equal(compact(json_object_get(f, "entities")),
                        "[\"resource:default/orders-db\",\"component:default/b\",\"component:default/w\"]");
    assert_int_equal(num(f, "writerTeams"), 2);
    assert_non_null(strstr(json_string_value(json_object_get(f, "detail")),
                           "2 teams write to it (group:default/team-b, group:default/team-w)"));
    /* one writing team: a warning that says so */
    json_object_set_new(json_object_get(json_object_get(w, "metadata"), "annotations"),
                        "conway.dev/writes", json_string("other-db"));
    fs = run(c);
    assert_string_equal(of_rule(fs, "shared-datastore"),
                        "resource:default/orders-db|warning;resource:default/users-db|warning");
    assert_non_null(strstr(json_string_value(json_object_get(first_of(fs, "shared-datastore"),
                                                             "detail")),
                           "written by one of them"));
    /* configurable types; case-insensitive */
    cw_arch_opts o;
    cw_arch_opts_default(&o);
    cw_diag d = {""};
    assert_int_equal(cw_arch_parse_datastore_types(" DATABASE , Cache", &o, &d), CW_OK);
    assert_int_equal(o.ndatastore_types, 2);
    fs = run_opts(c, &o, NULL, 0);
    assert_string_equal(of_rule(fs, "shared-datastore"),
                        "resource:default/orders-db|warning;resource:default/sessions|warning;"
                        "resource:default/users-db|warning");
    /* silenced on the resource only */
    annotate(c->items[5], "conway.dev/silence-shared-datastore", "read replicas, migration planned");
    fs = run(c);
    assert_string_equal(of_rule(fs, "shared-datastore"),
                        "resource:default/orders-db|warning;resource:default/users-db|warning|"
                        "silenced:read replicas, migration planned");
}

/* ---- cross-team-dependency and congruence -------------------------------------------------- */

static void test_cross_team(void **state)
{
    cat *c = *state;
    /* team-a: a1 -> b1, a1 -> b2, a2 -> c1, a2 -> a1: 3 of 4 cross (0.75)
     * team-b: b1 -> a1, b1 -> b2: 1 of 2 (0.5, not above)
     * team-c: no edges; resources do not count */
    add(c, svc("a1", "team-a", NULL, "['component:b1','component:b2','resource:db']", ""));
    add(c, svc("a2", "team-a", NULL, "['component:c1','component:a1']", ""));
    add(c, svc("b1", "team-b", NULL, "['component:a1','component:b2']", ""));
    add(c, svc("b2", "team-b", NULL, "[]", ""));
    add(c, svc("c1", "team-c", NULL, "[]", ""));
    add(c, resource("db", "database", "team-c", "[]"));
    const json_t *fs = run(c);
    assert_string_equal(of_rule(fs, "cross-team-dependency"), "group:default/team-a|warning");
    const json_t *f = first_of(fs, "cross-team-dependency");
    assert_int_equal(num(f, "edges"), 4);
    assert_int_equal(num(f, "crossTeamEdges"), 3);
    assert_string_equal(compact(json_object_get(f, "teams")),
                        "[\"group:default/team-a\",\"group:default/team-b\",\"group:default/team-c\"]");
    assert_string_equal(compact(json_object_get(f, "entities")),
                        "[\"group:default/team-a\",\"component:default/b1\",\"component:default/b2\","
                        "\"component:default/c1\"]");
    assert_string_equal(json_string_value(json_object_get(f, "detail")),
                        "75% of the dependencies of its components (3 of 4) point to components of "
                        "other teams (group:default/team-b, group:default/team-c), above the "
                        "threshold of 50%: the team boundary does not match the service boundaries");
    /* the organisation: 4 of 6 edges cross teams, congruence 1/3 */
    const json_t *cg = json_object_get(c->result, "congruence");
    assert_int_equal(json_integer_value(json_object_get(cg, "edges")), 6);
    assert_int_equal(json_integer_value(json_object_get(cg, "crossTeamEdges")), 4);
    assert_true(fabs(json_real_value(json_object_get(cg, "congruence")) - 1.0 / 3.0) < 1e-9);
    assert_int_equal(json_array_size(json_object_get(cg, "teams")), 3);
    /* a lower threshold flags team-b too; 0.75 is not above 0.75 */
    cw_arch_opts o;
    cw_arch_opts_default(&o);
    o.cross_team_threshold = 0.4;
    assert_string_equal(of_rule(run_opts(c, &o, NULL, 0), "cross-team-dependency"),
                        "group:default/team-a|warning;group:default/team-b|warning");
    o.cross_team_threshold = 0.75;
    assert_string_equal(of_rule(run_opts(c, &o, NULL, 0), "cross-team-dependency"), "");
}

/* ---- team-spread --------------------------------------------------------------------------- */

static void test_team_spread(void **state)
{
    cat *c = *state;
    const char *systems[] = {"s1", "s2", "s3", "s4"};
    const char *domains[] = {"d1", "d1", "d2", "d3"};
    for (size_t i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "x%zu", i);
        add(c, svc(name, "team-x", systems[i], "[]", ""));
        snprintf(name, sizeof name, "y%zu", i);
        add(c, svc(name, "team-y", systems[i < 3 ? i : 0], "[]", ""));
        add(c, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'System','metadata':"
                         "{'name':'%s'},'spec':{'owner':'team-x','domain':'%s'}}",
                         systems[i], domains[i]));
    }
    const json_t *fs = run(c);
    /* team-x: 4 systems (> 3) in 3 domains; team-y: 3 systems, not more */
    assert_string_equal(of_rule(fs, "team-spread"), "group:default/team-x|warning");
    const json_t *f = first_of(fs, "team-spread");
    assert_int_equal(num(f, "systems"), 4);
    assert_int_equal(num(f, "domains"), 3);
    assert_string_equal(compact(json_object_get(f, "entities")),
                        "[\"group:default/team-x\",\"system:default/s1\",\"system:default/s2\","
                        "\"system:default/s3\",\"system:default/s4\",\"domain:default/d1\","
                        "\"domain:default/d2\",\"domain:default/d3\"]");
    cw_arch_opts o;
    cw_arch_opts_default(&o);
    o.team_spread_max = 2;
    assert_string_equal(of_rule(run_opts(c, &o, NULL, 0), "team-spread"),
                        "group:default/team-x|warning;group:default/team-y|warning");
}

/* ---- cross-team-release-train -------------------------------------------------------------- */

static void test_release_trains(void **state)
{
    cat *c = *state;
    add(c, svc("a", "team-a", NULL, "[]", ""));
    add(c, svc("b", "team-b", NULL, "[]", ""));
    add(c, svc("a2", "team-a", NULL, "[]", ""));
    const char *mixed[] = {"component:default/b", "component:default/a"};
    const char *same[] = {"component:default/a", "component:default/a2"};
    const char *unknown[] = {"component:default/a", "component:default/ghost"};
    cw_arch_train trains[] = {{mixed, 2}, {same, 2}, {unknown, 2}};
    const json_t *fs = run_opts(c, NULL, trains, 3);
    assert_string_equal(of_rule(fs, "cross-team-release-train"), "component:default/a|warning");
    const json_t *f = first_of(fs, "cross-team-release-train");
    assert_string_equal(compact(json_object_get(f, "entities")),
                        "[\"component:default/a\",\"component:default/b\"]");
    assert_string_equal(compact(json_object_get(f, "teams")),
                        "[\"group:default/team-a\",\"group:default/team-b\"]");
    assert_int_equal(num(f, "teams"), 2);
}

/* ---- fan-in / fan-out ------------------------------------------------------------------------ */

static void test_fan(void **state)
{
    cat *c = *state;
    /* 40 leaf services; 12 of them depend on hub; big depends on 11 */
    char deps[1024];
    size_t o = (size_t)snprintf(deps, sizeof deps, "[");
    for (size_t i = 0; i < 40; i++) {
        char name[16];
        snprintf(name, sizeof name, "s%02zu", i);
        add(c, svc(name, "team-a", NULL, i < 12 ? "['component:hub']" : "[]", ""));
        if (i < 11)
            o += (size_t)snprintf(deps + o, sizeof deps - o, "%s'component:%s'", i ? "," : "", name);
    }
    snprintf(deps + o, sizeof deps - o, "]");
    add(c, svc("hub", "team-h", NULL, "[]", ""));
    add(c, svc("big", "team-b", NULL, deps, ""));
    const json_t *fs = run(c);
    assert_string_equal(of_rule(fs, "fan-in"), "component:default/hub|warning");
    assert_string_equal(of_rule(fs, "fan-out"), "component:default/big|warning");
    const json_t *f = first_of(fs, "fan-in");
    assert_int_equal(num(f, "dependents"), 12);
    assert_int_equal(num(f, "floor"), 10);
    assert_int_equal(num(f, "p95"), 1); /* the leaves big depends on have one dependent */
    assert_string_equal(compact(json_object_get(f, "teams")), "[\"group:default/team-h\"]");
    /* under the floor nothing is a hot spot */
    cw_arch_opts op;
    cw_arch_opts_default(&op);
    op.fan_floor = 13;
    fs = run_opts(c, &op, NULL, 0);
    assert_string_equal(of_rule(fs, "fan-in"), "");
    assert_string_equal(of_rule(fs, "fan-out"), "");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(c->result, "fan"), "inP95")), 1);
}

/* ---- deprecated-dependency -------------------------------------------------------------------- */

static void test_deprecated(void **state)
{
    cat *c = *state;
    add(c, svc("user", "team-a", NULL, "['component:old']", ",'consumesApis':['old-api','new-api']"));
    add(c, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Component','metadata':"
                     "{'name':'old'},'spec':{'type':'service','lifecycle':'deprecated',"
                     "'owner':'team-b','providesApis':['new-api']}}"));
    add(c, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'API','metadata':"
                     "{'name':'old-api'},'spec':{'type':'openapi','lifecycle':'deprecated',"
                     "'owner':'team-c','definition':'x'}}"));
    add(c, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Component','metadata':"
                     "{'name':'trial'},'spec':{'type':'service','lifecycle':'experimental',"
                     "'owner':'team-a','dependsOn':['component:old']}}"));
    const json_t *fs = run(c);
    assert_string_equal(of_rule(fs, "deprecated-dependency"), "component:default/user|warning");
    const json_t *f = first_of(fs, "deprecated-dependency");
    assert_string_equal(compact(json_object_get(f, "entities")),
                        "[\"component:default/user\",\"api:default/old-api\",\"component:default/old\"]");
    assert_int_equal(num(f, "deprecated"), 2);
    assert_string_equal(compact(json_object_get(f, "teams")),
                        "[\"group:default/team-a\",\"group:default/team-b\",\"group:default/team-c\"]");
}

/* ---- severities, filters, the report ---------------------------------------------------------- */

static void test_severities(void **state)
{
    cat *c = *state;
    add(c, svc("a", "team-x", NULL, "['component:b']", ""));
    add(c, svc("b", "team-y", NULL, "['component:a']", ""));
    cw_arch_opts o;
    cw_arch_opts_default(&o);
    cw_diag d = {""};
    assert_int_equal(cw_arch_parse_severities("dependency-cycle = warning, cross-team-dependency=off",
                                              &o, &d),
                     CW_OK);
    const json_t *fs = run_opts(c, &o, NULL, 0);
    assert_string_equal(of_rule(fs, "dependency-cycle"), "component:default/a|warning");
    assert_string_equal(of_rule(fs, "cross-team-dependency"), "");
    assert_false(cw_arch_has_errors(fs));
    assert_int_equal(cw_arch_parse_severities("dependency-cycle=default,cross-team-dependency=ERROR",
                                              &o, &d),
                     CW_OK);
    fs = run_opts(c, &o, NULL, 0);
    assert_string_equal(of_rule(fs, "cross-team-dependency"),
                        "group:default/team-x|error;group:default/team-y|error");
    assert_true(cw_arch_has_errors(fs));
    /* bad input leaves the options as they were */
    uint8_t before[CW_ARCH_NRULES];
    memcpy(before, o.severity, sizeof before);
    const char *bad[][2] = {
        {"dependency-cycle=warning,cycles=off",
         "unknown rule \"cycles\"; known rules: cross-team-dependency, cross-team-release-train, "
         "dependency-cycle, deprecated-dependency, fan-in, fan-out, shared-datastore, team-spread"},
        {"fan-in", "\"fan-in\": expected rule=severity"},
        {"fan-in=loud", "fan-in: severity \"loud\" is not error, warning, off or default"},
        {",", "empty item: expected rule=severity"},
        {"", "empty item: expected rule=severity"},
    };
    for (size_t i = 0; i < FX_LEN(bad); i++) {
        assert_int_equal(cw_arch_parse_severities(bad[i][0], &o, &d), CW_ERR_INVALID);
        assert_string_equal(d.msg, bad[i][1]);
        assert_memory_equal(before, o.severity, sizeof before);
    }
    assert_int_equal(cw_arch_parse_severities("fan-in=off,", &o, &d), CW_OK); /* trailing comma */
    const char *bad_types[][2] = {
        {"", "empty type: expected type[,type...]"},
        {"database,,cache", "empty type: expected type[,type...]"},
        {"data base", "type \"data base\": only letters, digits, '-', '_' and '.'"},
        {"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", "at most 16 types"},
    };
    for (size_t i = 0; i < FX_LEN(bad_types); i++) {
        assert_int_equal(cw_arch_parse_datastore_types(bad_types[i][0], &o, &d), CW_ERR_INVALID);
        assert_string_equal(d.msg, bad_types[i][1]);
        assert_int_equal(o.ndatastore_types, 1);
    }
}

static void test_filter_and_report(void **state)
{
    cat *c = *state;
    add(c, svc("a", "team-x", NULL, "['component:b']", ""));
    add(c, svc("b", "team-y", NULL, "['component:a','resource:db']", ""));
    add(c, svc("z", "team-z", NULL, "['resource:db']", ""));
    add(c, resource("db", "database", "team-z", "[]"));
    json_t *bcomp = c->items[1];
    annotate(bcomp, "conway.dev/silence-dependency-cycle", "accepted");
    const json_t *fs = run(c);
    assert_false(cw_arch_has_errors(fs)); /* the only error is silenced */
    cw_diag d = {""};
    json_t *kept = NULL;
    cw_arch_filter f = {.team = "team-z"};
    assert_int_equal(cw_arch_filter_findings(fs, &f, &kept, &d), CW_OK);
    assert_string_equal(of_rule(kept, "shared-datastore"), "resource:default/db|warning");
    assert_int_equal(json_array_size(kept), 1);
    json_decref(kept);
    f = (cw_arch_filter){.rule = "dependency-cycle", .severity = "error"};
    assert_int_equal(cw_arch_filter_findings(fs, &f, &kept, &d), CW_OK);
    assert_int_equal(json_array_size(kept), 1);
    cw_arch_opts o;
    cw_arch_opts_default(&o);
    json_t *body = NULL;
    assert_int_equal(cw_arch_report(c->result, kept, &o, &body, &d), CW_OK);
    const json_t *sum = json_object_get(body, "summary");
    assert_int_equal(json_integer_value(json_object_get(sum, "silenced")), 1);
    assert_int_equal(json_integer_value(json_object_get(sum, "error")), 0);
    assert_int_equal(json_integer_value(json_object_get(sum, "total")), 1);
    const json_t *th = json_object_get(body, "thresholds");
    assert_string_equal(compact(json_object_get(th, "datastoreTypes")), "[\"database\"]");
    assert_string_equal(json_string_value(json_object_get(json_object_get(th, "severities"),
                                                          "fan-in")),
                        "default");
    assert_non_null(json_object_get(body, "congruence"));
    json_decref(body);
    json_decref(kept);
    const struct {
        cw_arch_filter f;
        const char *msg;
    } bad[] = {
        {{.rule = "cycle"}, "rule: unknown rule \"cycle\"; known rules: "},
        {{.severity = "info"}, "severity: must be \"error\" or \"warning\""},
        {{.team = "group:"}, "team: "},
    };
    for (size_t i = 0; i < FX_LEN(bad); i++) {
        assert_int_equal(cw_arch_filter_findings(fs, &bad[i].f, &kept, &d), CW_ERR_INVALID);
        assert_int_equal(strncmp(d.msg, bad[i].msg, strlen(bad[i].msg)), 0);
        assert_null(kept);
    }
    /* marks: silenced findings are not drawn; the shared db is a warning */
    cw_graph_marks m = {0};
    assert_int_equal(cw_arch_marks(c->g, fs, &m, &d), CW_OK);
    assert_int_equal(m.node_level[cw_graph_find(c->g, "resource:default/db")], 1);
    assert_int_equal(m.node_level[cw_graph_find(c->g, "component:default/a")], 0);
    for (size_t e = 0; e < c->g->nedges; e++)
        assert_int_equal(m.edge_cycle[e], 0);
    cw_arch_marks_free(&m);
    json_object_del(json_object_get(json_object_get(bcomp, "metadata"), "annotations"),
                    "conway.dev/silence-dependency-cycle");
    fs = run(c);
    assert_int_equal(cw_arch_marks(c->g, fs, &m, &d), CW_OK);
    assert_int_equal(m.node_level[cw_graph_find(c->g, "component:default/a")], 2);
    size_t cyc = 0;
    for (size_t e = 0; e < c->g->nedges; e++)
        cyc += m.edge_cycle[e];
    assert_int_equal(cyc, 2);
    cw_arch_marks_free(&m);
}

/* ---- counting for the history (http/findings.h) ------------------------------------------ */

static int cmp_line(const void *a, const void *b) { return strcmp(a, b); }

static void test_counts(void **state)
{
    (void)state;
    json_t *own = json_loads(
        "[{\"rule\":\"owner-missing\",\"severity\":\"error\",\"entityRef\":\"component:default/a\","
        "\"owner\":\"group:default/Team-A\"},"
        " {\"rule\":\"owner-missing\",\"severity\":\"error\",\"entityRef\":\"component:default/b\"},"
        " {\"rule\":\"team-overload\",\"severity\":\"warning\",\"entityRef\":\"group:default/team-a\","
        "\"owner\":\"group:default/org\"},"
        " {\"rule\":\"shared-resource-owner\",\"severity\":\"warning\",\"entityRef\":\"resource:default/db\","
        "\"teams\":[\"group:default/team-a\",\"group:default/team-b\"],\"owner\":\"group:default/team-a\"}]",
        0, NULL);
    json_t *arch = json_loads(
        "[{\"rule\":\"dependency-cycle\",\"severity\":\"error\",\"entityRef\":\"component:default/a\","
        "\"teams\":[\"group:default/team-a\"],\"silenced\":{\"reason\":\"r\",\"by\":\"component:default/a\"}}]",
        0, NULL);
    json_t *tally = json_object();
    assert_non_null(own);
    assert_non_null(arch);
    cw_diag d = {""};
    assert_int_equal(cw_counts_add(tally, "ownership", own, &d), CW_OK);
    assert_int_equal(cw_counts_add(tally, "architecture", arch, &d), CW_OK);
    cw_counts c;
    assert_int_equal(cw_counts_seal(tally, &c, &d), CW_OK);
    char lines[32][160];
    for (size_t i = 0; i < c.n; i++)
        snprintf(lines[i], sizeof lines[i], "%s %s %s %s %lld", c.rows[i].kind, c.rows[i].rule,
                 c.rows[i].severity, c.rows[i].scope, (long long)c.rows[i].count);
    qsort(lines, c.n, sizeof lines[0], cmp_line);
    char all[4096] = "";
    for (size_t i = 0; i < c.n; i++) {
        strncat(all, lines[i], sizeof all - strlen(all) - 2);
        strncat(all, "\n", sizeof all - strlen(all) - 1);
    }
    assert_string_equal(all,
                        "architecture dependency-cycle silenced group:default/team-a 1\n"
                        "architecture dependency-cycle silenced org 1\n"
                        "ownership owner-missing error group:default/team-a 1\n"
                        "ownership owner-missing error org 2\n"
                        "ownership shared-resource-owner warning group:default/team-a 1\n"
                        "ownership shared-resource-owner warning group:default/team-b 1\n"
                        "ownership shared-resource-owner warning org 1\n"
                        "ownership team-overload warning group:default/org 1\n"
                        "ownership team-overload warning group:default/team-a 1\n"
                        "ownership team-overload warning org 1\n");
    cw_counts_free(&c);
    json_decref(tally);
    json_decref(own);
    json_decref(arch);
}

/* ---- the demo organisation ------------------------------------------------------------------- */

static void test_demo_organisation(void **state)
{
    (void)state;
    json_t *all = fx_demo_load();
    if (!all)
        skip();
    fx_add_relations(all);
    size_t n = json_array_size(all);
    json_t **items = malloc(n * sizeof *items);
    assert_non_null(items);
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(all, i);
    cw_graph *g = NULL;
    json_t *res = NULL;
    cw_diag d = {""};
    assert_int_equal(cw_graph_build(items, n, &g, &d), CW_OK);
    const char *train[] = {"component:default/subscription-service",
                           "component:default/entitlement-service"};
    cw_arch_train trains[] = {{train, 2}};
    assert_int_equal(cw_arch_check(g, items, n, trains, 1, NULL, &res, &d), CW_OK);
    const json_t *fs = json_object_get(res, "findings");
    /* the deliberate smells of demo/README.md */
    assert_string_equal(of_rule(fs, "dependency-cycle"), "component:default/listening-history-service|error");
    assert_string_equal(compact(json_object_get(first_of(fs, "dependency-cycle"), "cycle")),
                        "[\"component:default/listening-history-service\","
                        "\"component:default/playlist-service\","
                        "\"component:default/recommendation-service\"]");
    assert_string_equal(of_rule(fs, "shared-datastore"), "resource:default/legacy-users-db|error");
    assert_string_equal(of_rule(fs, "team-spread"), "group:default/team-growth|warning");
    assert_string_equal(of_rule(fs, "cross-team-release-train"),
                        "component:default/entitlement-service|warning");
    assert_string_equal(of_rule(fs, "deprecated-dependency"), "component:default/payout-exporter|warning");
    assert_string_equal(of_rule(fs, "cross-team-dependency"),
                        "group:default/team-growth|warning;group:default/team-playback|warning;"
                        "group:default/team-recommendations|warning");
    assert_string_equal(of_rule(fs, "fan-in"), "");
    assert_string_equal(of_rule(fs, "fan-out"), "");
    assert_int_equal(json_array_size(fs), 8);
    const json_t *shared = first_of(fs, "shared-datastore");
    assert_string_equal(compact(json_object_get(shared, "writers")),
                        "[\"component:default/referral-service\","
                        "\"component:default/subscription-service\"]");
    const json_t *cg = json_object_get(res, "congruence");
    assert_int_equal(json_integer_value(json_object_get(cg, "edges")), 35);
    assert_int_equal(json_integer_value(json_object_get(cg, "crossTeamEdges")), 16);
    json_decref(res);
    cw_graph_free(g);
    free(items);
    json_decref(all);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, cat_setup, cat_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_cycles),         T(test_shared_datastore), T(test_cross_team),
        T(test_team_spread),    T(test_release_trains),   T(test_fan),
        T(test_deprecated),     T(test_severities),       T(test_filter_and_report),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_demo_organisation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
