/*
 * test_raci.c — the Responsibilities kind: every validation rule with the
 * exact field its message names, activity sets and the process-wide
 * registry, and the effective RACI matrix with inheritance (component own
 * vs system vs domain, partial overrides per activity, missing activities,
 * deterministic choice between competing declarations).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "catalog/catalog.h"
#include "fixtures.h"
#include "insights/raci.h"

/* JSON with single quotes for readability: J("{'a': 1}"). */
static json_t *J(const char *text)
{
    size_t n = strlen(text);
    char *s = malloc(n + 1);
    assert_non_null(s);
    for (size_t i = 0; i <= n; i++)
        s[i] = text[i] == '\'' ? '"' : text[i];
    json_error_t err;
    json_t *v = json_loads(s, 0, &err);
    if (!v)
        fail_msg("bad test JSON (%s): %s", err.text, s);
    free(s);
    return v;
}

/* A Responsibilities entity with the given spec (JSON text, single quotes). */
static json_t *resp(const char *name, const char *ns, const char *spec)
{
    json_t *e = J("{'apiVersion': 'conway.dev/v1', 'kind': 'Responsibilities',"
                  " 'metadata': {}}");
    json_t *meta = json_object_get(e, "metadata");
    json_object_set_new(meta, "name", json_string(name));
    if (ns)
        json_object_set_new(meta, "namespace", json_string(ns));
    json_object_set_new(e, "spec", J(spec));
    return e;
}

#define GOOD_ROW "{'responsible': ['group:default/payments-team'], " \
                 "'accountable': 'group:default/payments-team', "   \
                 "'consulted': ['group:default/sre'], 'informed': ['user:default/cto']}"

/* Validates a spec with the standard set; returns the diagnostic text. */
static cw_err validate_spec(const char *spec, const cw_activity_set *known, cw_diag *d)
{
    json_t *e = resp("payments", NULL, spec);
    cw_err err = cw_responsibilities_validate(e, known, d);
    json_decref(e);
    return err;
}

static void expect_invalid(const char *spec, const char *message)
{
    cw_diag d = {""};
    cw_err err = validate_spec(spec, NULL, &d);
    if (err != CW_ERR_INVALID)
        fail_msg("expected invalid (%s), got %s", message, cw_err_name(err));
    if (strcmp(d.msg, message) != 0)
        fail_msg("expected\n  %s\ngot\n  %s", message, d.msg);
}

static void expect_invalid_containing(const char *spec, const char *needle)
{
    cw_diag d = {""};
    assert_int_equal(validate_spec(spec, NULL, &d), CW_ERR_INVALID);
    if (!strstr(d.msg, needle))
        fail_msg("\"%s\" lacks \"%s\"", d.msg, needle);
}

static void expect_valid(const char *spec)
{
    cw_diag d = {""};
    cw_err err = validate_spec(spec, NULL, &d);
    if (err)
        fail_msg("expected valid: %s", d.msg);
}

/* ---- validation ----------------------------------------------------------- */

static void test_valid_issue_example(void **state)
{
    (void)state;
    expect_valid("{'target': 'system:default/payments',"
                 " 'activities': {'incident-resolution': " GOOD_ROW "}}");
    /* Optional lists may be absent or empty; kinds and namespaces default. */
    expect_valid("{'target': 'Component:pay-api', 'activities': {"
                 " 'logging': {'responsible': ['payments-team', 'user:bob'],"
                 "             'accountable': 'payments-team', 'consulted': []},"
                 " 'security': {'responsible': ['group:other/sec'], 'accountable': 'user:alice'}}}");
    expect_valid("{'target': 'domain:default/money', 'activities': {'ci-cd': " GOOD_ROW "}}");
    for (size_t i = 0; i < CW_RACI_NSTANDARD; i++) {
        char spec[512];
        snprintf(spec, sizeof spec, "{'target': 'component:x', 'activities': {'%s': %s}}",
                 cw_raci_standard_activities[i], GOOD_ROW);
        expect_valid(spec);
    }
}

static void test_envelope(void **state)
{
    (void)state;
    cw_diag d = {""};
    json_t *e = resp("p", NULL, "{'target': 'system:p', 'activities': {'ci-cd': " GOOD_ROW "}}");
    json_object_set_new(e, "apiVersion", json_string("backstage.io/v1alpha1"));
    assert_int_equal(cw_responsibilities_validate(e, NULL, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg,
                        "apiVersion: must be \"conway.dev/v1\" for kind Responsibilities");
    json_object_set_new(e, "apiVersion", json_string("conway.dev/v1"));
    json_object_set_new(e, "kind", json_string("Component"));
    assert_int_equal(cw_responsibilities_validate(e, NULL, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "kind: must be Responsibilities");
    json_object_set_new(e, "kind", json_string("responsibilities")); /* kinds ignore case */
    assert_int_equal(cw_responsibilities_validate(e, NULL, &d), CW_OK);
    json_object_del(e, "spec");
    assert_int_equal(cw_responsibilities_validate(e, NULL, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "spec: required");
    json_object_set_new(e, "spec", json_string("x"));
    assert_int_equal(cw_responsibilities_validate(e, NULL, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "spec: must be an object");
    json_decref(e);
    json_t *arr = json_array();
    assert_int_equal(cw_responsibilities_validate(arr, NULL, &d), CW_ERR_INVALID);
    json_decref(arr);
}

static void test_target_rules(void **state)
{
    (void)state;
    expect_invalid("{'activities': {'ci-cd': " GOOD_ROW "}}",
                   "spec.target: required: the Component, System or Domain these "
                   "responsibilities are for");
    expect_invalid("{'target': 7, 'activities': {'ci-cd': " GOOD_ROW "}}",
                   "spec.target: must be an entity reference string");
    /* No default kind: a bare name is ambiguous. */
    expect_invalid_containing("{'target': 'payments', 'activities': {'ci-cd': " GOOD_ROW "}}",
                              "spec.target: entity reference \"payments\" had missing or "
                              "empty kind");
    expect_invalid("{'target': 'group:default/payments-team', 'activities': {'ci-cd': "
                   GOOD_ROW "}}",
                   "spec.target: must refer to a Component, System or Domain, not "
                   "\"group:default/payments-team\"");
    expect_invalid_containing("{'target': 'api:x', 'activities': {'ci-cd': " GOOD_ROW "}}",
                              "not \"api:default/x\"");
    expect_invalid("{'target': 'system:p', 'activities': {'logging': "
                   "{'responsible': ['api:x'], 'accountable': 'a'}}}",
                   "spec.activities.logging.responsible[0]: must refer to a Group or User, not "
                   "an API (\"api:default/x\")");
    expect_invalid_containing("{'target': 'system:', 'activities': {'ci-cd': " GOOD_ROW "}}",
                              "spec.target: entity reference \"system:\" was not on the form");
}

static void test_activities_rules(void **state)
{
    (void)state;
    expect_invalid("{'target': 'system:p'}",
                   "spec.activities: required: an object of activity -> RACI");
    expect_invalid("{'target': 'system:p', 'activities': ['ci-cd']}",
                   "spec.activities: must be an object of activity -> RACI");
    expect_invalid("{'target': 'system:p', 'activities': {}}",
                   "spec.activities: must declare at least one activity");
    expect_invalid("{'target': 'system:p', 'activities': {'ci-cd': 'group:a'}}",
                   "spec.activities.ci-cd: must be an object with responsible, accountable, "
                   "consulted, informed");
    expect_invalid("{'target': 'system:p', 'activities': {'on-call': " GOOD_ROW "}}",
                   "spec.activities.on-call: unknown activity \"on-call\"; known activities: "
                   "ci-cd, mechanical-sympathy, logging, monitoring, nfrs, change-management, "
                   "incident-resolution, data-durability, security");
    /* Activity names are case-sensitive. */
    expect_invalid_containing("{'target': 'system:p', 'activities': {'Logging': " GOOD_ROW "}}",
                              "spec.activities.Logging: unknown activity \"Logging\"");
    expect_invalid("{'target': 'system:p', 'activities': {'logging': "
                   "{'responsible': ['a'], 'accountable': 'a', 'acountable': 'b'}}}",
                   "spec.activities.logging: unknown field \"acountable\" (allowed: "
                   "responsible, accountable, consulted, informed)");
}

static void test_accountable_rules(void **state)
{
    (void)state;
    expect_invalid("{'target': 'system:p', 'activities': {'incident-resolution': "
                   "{'responsible': ['group:a']}}}",
                   "spec.activities.incident-resolution.accountable: exactly one accountable "
                   "is required");
    expect_invalid("{'target': 'system:p', 'activities': {'incident-resolution': "
                   "{'responsible': ['group:a'], 'accountable': null}}}",
                   "spec.activities.incident-resolution.accountable: exactly one accountable "
                   "is required");
    expect_invalid("{'target': 'system:p', 'activities': {'incident-resolution': "
                   "{'responsible': ['group:a'], 'accountable': ['group:a', 'group:b']}}}",
                   "spec.activities.incident-resolution.accountable: exactly one accountable "
                   "is required, got 2");
    expect_invalid("{'target': 'system:p', 'activities': {'incident-resolution': "
                   "{'responsible': ['group:a'], 'accountable': ['group:a']}}}",
                   "spec.activities.incident-resolution.accountable: exactly one accountable "
                   "is required, as a single entity reference string, not an array");
    expect_invalid("{'target': 'system:p', 'activities': {'logging': "
                   "{'responsible': ['group:a'], 'accountable': 3}}}",
                   "spec.activities.logging.accountable: must be an entity reference string");
    expect_invalid("{'target': 'system:p', 'activities': {'logging': "
                   "{'responsible': ['group:a'], 'accountable': 'component:default/x'}}}",
                   "spec.activities.logging.accountable: must refer to a Group or User, not a "
                   "Component (\"component:default/x\")");
    expect_invalid_containing("{'target': 'system:p', 'activities': {'logging': "
                              "{'responsible': ['group:a'], 'accountable': ''}}}",
                              "spec.activities.logging.accountable: entity reference must not "
                              "be empty");
}

static void test_people_lists(void **state)
{
    (void)state;
    expect_invalid("{'target': 'system:p', 'activities': {'monitoring': "
                   "{'accountable': 'group:a'}}}",
                   "spec.activities.monitoring.responsible: at least one responsible is "
                   "required");
    expect_invalid("{'target': 'system:p', 'activities': {'monitoring': "
                   "{'accountable': 'group:a', 'responsible': []}}}",
                   "spec.activities.monitoring.responsible: at least one responsible is "
                   "required");
    expect_invalid("{'target': 'system:p', 'activities': {'monitoring': "
                   "{'accountable': 'group:a', 'responsible': 'group:a'}}}",
                   "spec.activities.monitoring.responsible: must be an array of entity "
                   "references");
    expect_invalid("{'target': 'system:p', 'activities': {'monitoring': "
                   "{'accountable': 'group:a', 'responsible': ['group:a', 'system:p']}}}",
                   "spec.activities.monitoring.responsible[1]: must refer to a Group or User, "
                   "not a System (\"system:default/p\")");
    expect_invalid("{'target': 'system:p', 'activities': {'monitoring': "
                   "{'accountable': 'group:a', 'responsible': ['a', 'Group:default/A']}}}",
                   "spec.activities.monitoring.responsible[1]: \"group:default/A\" is listed "
                   "twice");
    expect_invalid("{'target': 'system:p', 'activities': {'nfrs': "
                   "{'accountable': 'a', 'responsible': ['a'], 'consulted': 'b'}}}",
                   "spec.activities.nfrs.consulted: must be an array of entity references");
    expect_invalid("{'target': 'system:p', 'activities': {'nfrs': "
                   "{'accountable': 'a', 'responsible': ['a'], 'informed': ['user:cto', 1]}}}",
                   "spec.activities.nfrs.informed[1]: must be an entity reference string");
    expect_invalid("{'target': 'system:p', 'activities': {'nfrs': "
                   "{'accountable': 'a', 'responsible': ['a'], 'informed': ['resource:db']}}}",
                   "spec.activities.nfrs.informed[0]: must refer to a Group or User, not a "
                   "Resource (\"resource:default/db\")");
    /* Bare names default to kind Group (so "sre" is group:default/sre). */
    expect_valid("{'target': 'system:p', 'activities': {'nfrs': "
                 "{'accountable': 'sre', 'responsible': ['sre'], 'consulted': ['user:x']}}}");
}

static void test_all_problems_reported(void **state)
{
    (void)state;
    expect_invalid("{'target': 'group:x', 'activities': {"
                   " 'logging': {'responsible': []},"
                   " 'dancing': {}}}",
                   "spec.target: must refer to a Component, System or Domain, not "
                   "\"group:default/x\"; "
                   "spec.activities.logging.accountable: exactly one accountable is required; "
                   "spec.activities.logging.responsible: at least one responsible is required; "
                   "spec.activities.dancing: unknown activity \"dancing\"; known activities: "
                   "ci-cd, mechanical-sympathy, logging, monitoring, nfrs, change-management, "
                   "incident-resolution, data-durability, security");

    /* The catalog-shaped check collects issues with their paths. */
    cw_issue_list issues = {0};
    json_t *spec = J("{'target': 'system:p', 'activities': {'logging': {'accountable': 'a'},"
                     " 'security': {'responsible': ['a'], 'accountable': ['a', 'b']}}}");
    cw__responsibilities_kind_check(NULL, spec, "default", NULL, &issues);
    assert_int_equal(issues.len, 2);
    assert_string_equal(issues.items[0].path, "spec.activities.logging.responsible");
    assert_string_equal(issues.items[1].path, "spec.activities.security.accountable");
    cw_issue_list_free(&issues);
    json_decref(spec);
}

static void test_activity_sets_and_validation(void **state)
{
    (void)state;
    cw_activity_set s;
    cw_diag d = {""};
    cw_activity_set_init(&s);
    assert_true(cw_activity_set_has(&s, "logging"));
    assert_true(cw_activity_set_has(NULL, "security"));
    assert_false(cw_activity_set_has(&s, "cost-control"));
    assert_int_equal(cw_activity_set_add(&s, "cost-control", &d), CW_OK);
    assert_int_equal(cw_activity_set_add(&s, "accessibility", &d), CW_OK);
    assert_int_equal(cw_activity_set_add(&s, "cost-control", &d), CW_OK); /* no duplicate */
    assert_int_equal(cw_activity_set_add(&s, "logging", &d), CW_OK);      /* standard: no-op */
    assert_int_equal(s.len, 2);
    assert_string_equal(s.extra[0], "accessibility");
    assert_int_equal(cw_activity_set_add(&s, "Cost_Control", &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "activity \"Cost_Control\""));
    assert_int_equal(cw_activity_set_add(&s, "-x", &d), CW_ERR_INVALID);
    assert_int_equal(cw_activity_set_add(&s, "a--b", &d), CW_ERR_INVALID);
    assert_int_equal(cw_activity_set_add(&s, "", &d), CW_ERR_INVALID);
    assert_int_equal(s.len, 2);
    assert_true(cw_activity_set_has(&s, "cost-control"));

    cw_buf b;
    cw_buf_init(&b, 0);
    assert_int_equal(cw_activity_set_describe(&s, &b), CW_OK);
    assert_string_equal(cw_buf_cstr(&b), "ci-cd, mechanical-sympathy, logging, monitoring, "
                                         "nfrs, change-management, incident-resolution, "
                                         "data-durability, security, accessibility, "
                                         "cost-control");
    cw_buf_free(&b);

    /* An organisation activity is valid with its set, not without. */
    const char *spec = "{'target': 'system:p', 'activities': {'cost-control': " GOOD_ROW "}}";
    assert_int_equal(validate_spec(spec, &s, &d), CW_OK);
    assert_int_equal(validate_spec(spec, NULL, &d), CW_ERR_INVALID);
    d.msg[0] = '\0';
    json_t *e = resp("p", NULL, "{'target': 'system:p', 'activities': {'on-call': 1}}");
    assert_int_equal(cw_responsibilities_validate(e, &s, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "known activities: ci-cd, mechanical-sympathy, logging, "
                                  "monitoring, nfrs, change-management, incident-resolution, "
                                  "data-durability, security, accessibility, cost-control"));
    json_decref(e);

    /* The caller's set reaches the catalog's validator (no process-wide
     * registry): the same entity is valid with it and invalid without. */
    e = resp("p", NULL, spec);
    assert_int_equal(cw_entity_validate(e, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "unknown activity \"cost-control\""));
    assert_int_equal(cw_entity_validate_with(e, &s, &d), CW_OK);
    json_decref(e);
    cw_activity_set_free(&s);
    e = resp("p", NULL, spec);
    assert_int_equal(cw_entity_validate_with(e, &s, &d), CW_ERR_INVALID); /* freed: standard */
    json_decref(e);
}

static void test_demo_responsibilities_valid(void **state)
{
    (void)state;
    json_t *docs = fx_demo_file("responsibilities");
    if (!docs)
        skip();
    cw_diag d = {""};
    assert_true(json_array_size(docs) >= 5);
    size_t i;
    json_t *e;
    json_array_foreach(docs, i, e) {
        if (cw_responsibilities_validate(e, NULL, &d) != CW_OK)
            fail_msg("demo Responsibilities #%zu: %s", i, d.msg);
    }
    json_decref(docs);
}

/* ---- effective RACI ------------------------------------------------------- */

static json_t *component(void)
{
    return J("{'apiVersion': 'backstage.io/v1alpha1', 'kind': 'Component',"
             " 'metadata': {'name': 'pay-api'},"
             " 'spec': {'type': 'service', 'lifecycle': 'production', 'owner': 'payments',"
             "          'system': 'payments'}}");
}

/* The effective row of activity, or NULL. */
static json_t *row_of(json_t *eff, const char *activity)
{
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(eff, "activities"), i, row) {
        if (strcmp(json_string_value(json_object_get(row, "activity")), activity) == 0)
            return row;
    }
    return NULL;
}

static const char *source_of(json_t *eff, const char *activity, const char *field)
{
    json_t *row = row_of(eff, activity);
    if (!row)
        fail_msg("no row for %s", activity);
    return json_string_value(json_object_get(json_object_get(row, "source"), field));
}

static json_t *effective(const json_t *target, const char *sys, const char *dom,
                         json_t **resps, size_t n)
{
    json_t *out = NULL;
    cw_diag d = {""};
    cw_err err = cw_raci_effective(target, sys, dom, resps, n, &out, &d);
    if (err)
        fail_msg("effective: %s", d.msg);
    return out;
}

static void free_all(json_t **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(v[i]);
}

#define ROW(team) "{'responsible': ['" team "'], 'accountable': '" team "'}"

static void test_inheritance(void **state)
{
    (void)state;
    json_t *resps[] = {
        /* The domain declares everything but data-durability. */
        resp("money", NULL,
             "{'target': 'domain:default/money', 'activities': {"
             " 'ci-cd': " ROW("dom") ", 'mechanical-sympathy': " ROW("dom") ","
             " 'logging': " ROW("dom") ", 'monitoring': " ROW("dom") ", 'nfrs': " ROW("dom") ","
             " 'change-management': " ROW("dom") ", 'incident-resolution': " ROW("dom") ","
             " 'security': " ROW("dom") "}}"),
        /* The system overrides two of them. */
        resp("payments", NULL,
             "{'target': 'system:payments', 'activities': {"
             " 'logging': " ROW("sys") ", 'incident-resolution': " ROW("sys") "}}"),
        /* The component overrides one. */
        resp("pay-api", NULL,
             "{'target': 'component:pay-api', 'activities': {'logging': " ROW("comp") "}}"),
        /* Unrelated: another component's. */
        resp("other", NULL,
             "{'target': 'component:other', 'activities': {'data-durability': " ROW("x") "}}"),
    };
    json_t *c = component();
    json_t *eff = effective(c, "payments", "domain:money", resps, 4);

    assert_string_equal(json_string_value(json_object_get(eff, "entityRef")),
                        "component:default/pay-api");
    assert_int_equal(json_array_size(json_object_get(eff, "activities")), 8);
    /* Activities come in standard order. */
    json_t *acts = json_object_get(eff, "activities");
    assert_string_equal(json_string_value(json_object_get(json_array_get(acts, 0), "activity")),
                        "ci-cd");
    assert_string_equal(json_string_value(json_object_get(json_array_get(acts, 7), "activity")),
                        "security");

    json_t *expected = J("{'activity': 'logging', 'responsible': ['group:default/comp'],"
                         " 'accountable': 'group:default/comp', 'consulted': [], 'informed': [],"
                         " 'source': {'responsibilities': 'responsibilities:default/pay-api',"
                         "            'target': 'component:default/pay-api', 'inherited': false}}");
    assert_true(json_equal(row_of(eff, "logging"), expected));
    json_decref(expected);

    assert_string_equal(source_of(eff, "incident-resolution", "target"), "system:default/payments");
    assert_string_equal(source_of(eff, "incident-resolution", "responsibilities"),
                        "responsibilities:default/payments");
    assert_true(json_is_true(json_object_get(json_object_get(row_of(eff, "incident-resolution"),
                                                             "source"), "inherited")));
    assert_string_equal(json_string_value(json_object_get(row_of(eff, "incident-resolution"),
                                                          "accountable")),
                        "group:default/sys");
    assert_string_equal(source_of(eff, "ci-cd", "target"), "domain:default/money");
    assert_string_equal(source_of(eff, "security", "target"), "domain:default/money");
    json_t *missing = json_object_get(eff, "missing");
    assert_int_equal(json_array_size(missing), 1);
    assert_string_equal(json_string_value(json_array_get(missing, 0)), "data-durability");
    json_decref(eff);

    /* Without the domain in the chain, only the component and system count. */
    eff = effective(c, "payments", NULL, resps, 4);
    assert_int_equal(json_array_size(json_object_get(eff, "activities")), 2);
    assert_int_equal(json_array_size(json_object_get(eff, "missing")), 7);
    json_decref(eff);

    /* A System target: system then domain. */
    json_t *sys = J("{'kind': 'System', 'metadata': {'name': 'payments'},"
                    " 'spec': {'owner': 'x', 'domain': 'money'}}");
    eff = effective(sys, NULL, "money", resps, 4);
    assert_string_equal(json_string_value(json_object_get(eff, "entityRef")),
                        "system:default/payments");
    assert_string_equal(json_string_value(json_object_get(row_of(eff, "logging"), "accountable")),
                        "group:default/sys");
    assert_true(json_is_false(json_object_get(json_object_get(row_of(eff, "logging"), "source"),
                                              "inherited")));
    assert_string_equal(source_of(eff, "nfrs", "target"), "domain:default/money");
    json_decref(eff);

    /* No declarations at all: everything standard is missing. */
    eff = effective(c, "payments", "money", NULL, 0);
    assert_int_equal(json_array_size(json_object_get(eff, "activities")), 0);
    assert_int_equal(json_array_size(json_object_get(eff, "missing")), CW_RACI_NSTANDARD);
    json_decref(eff);

    json_decref(sys);
    json_decref(c);
    free_all(resps, 4);
}

static void test_effective_refs_and_order(void **state)
{
    (void)state;
    json_t *resps[] = {
        /* In namespace ops: bare names default to group:ops/... */
        resp("zeta", "ops",
             "{'target': 'component:default/pay-api', 'activities': {"
             " 'monitoring': {'responsible': ['sre', 'user:ann'], 'accountable': 'sre',"
             "                'consulted': ['Group:Default/DBA'], 'informed': ['user:cto']},"
             " 'cost-control': " ROW("fin") ", 'accessibility': " ROW("ux") "}}"),
        /* Competing declaration of monitoring for the same target: the ref
         * that sorts first (responsibilities:default/alpha) wins. */
        resp("alpha", NULL,
             "{'target': 'component:pay-api', 'activities': {'monitoring': " ROW("alpha") "}}"),
        /* An unvalidated declaration without accountable is ignored. */
        resp("broken", NULL,
             "{'target': 'component:pay-api', 'activities': {'logging': {'responsible': ['b']}}}"),
        resp("sys", NULL, "{'target': 'system:payments', 'activities': {'logging': " ROW("s") "}}"),
    };
    json_t *c = component();
    json_t *eff = effective(c, "payments", NULL, resps, 4);
    assert_string_equal(json_string_value(json_object_get(row_of(eff, "monitoring"), "accountable")),
                        "group:default/alpha");
    assert_string_equal(source_of(eff, "logging", "target"), "system:default/payments");
    /* Organisation activities follow the standard ones, by name. */
    json_t *acts = json_object_get(eff, "activities");
    size_t n = json_array_size(acts);
    assert_int_equal(n, 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(acts, 2), "activity")),
                        "accessibility");
    assert_string_equal(json_string_value(json_object_get(json_array_get(acts, 3), "activity")),
                        "cost-control");
    assert_string_equal(source_of(eff, "cost-control", "responsibilities"),
                        "responsibilities:ops/zeta");
    assert_string_equal(json_string_value(json_object_get(row_of(eff, "cost-control"),
                                                          "accountable")),
                        "group:ops/fin");
    json_decref(eff);

    /* The same answer whatever the input order. */
    json_t *rev[] = {resps[3], resps[2], resps[1], resps[0]};
    eff = effective(c, "payments", NULL, rev, 4);
    assert_string_equal(json_string_value(json_object_get(row_of(eff, "monitoring"), "accountable")),
                        "group:default/alpha");
    json_decref(eff);

    /* With alpha gone, zeta's row shows every list normalised. */
    eff = effective(c, "payments", NULL, resps, 1);
    json_t *expected = J("{'activity': 'monitoring',"
                         " 'responsible': ['group:ops/sre', 'user:ops/ann'],"
                         " 'accountable': 'group:ops/sre', 'consulted': ['group:default/DBA'],"
                         " 'informed': ['user:ops/cto'],"
                         " 'source': {'responsibilities': 'responsibilities:ops/zeta',"
                         "            'target': 'component:default/pay-api', 'inherited': false}}");
    assert_true(json_equal(row_of(eff, "monitoring"), expected));
    json_decref(expected);
    json_decref(eff);
    json_decref(c);
    free_all(resps, 4);
}

static void test_effective_errors(void **state)
{
    (void)state;
    json_t *out = NULL;
    cw_diag d = {""};
    json_t *api = J("{'kind': 'API', 'metadata': {'name': 'x'}}");
    assert_int_equal(cw_raci_effective(api, NULL, NULL, NULL, 0, &out, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "kind: RACI applies to a Component, System or Domain, not an API");
    assert_null(out);
    json_t *sys = J("{'kind': 'System', 'metadata': {'name': 'x'}}");
    assert_int_equal(cw_raci_effective(sys, "other", NULL, NULL, 0, &out, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "system: only a Component inherits from a system");
    json_t *dom = J("{'kind': 'Domain', 'metadata': {'name': 'x'}}");
    assert_int_equal(cw_raci_effective(dom, NULL, "y", NULL, 0, &out, &d), CW_ERR_INVALID);
    json_t *c = component();
    assert_int_equal(cw_raci_effective(c, "group:x", NULL, NULL, 0, &out, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "system: must refer to a System, not a Group");
    assert_int_equal(cw_raci_effective(c, "payments", "domain:", NULL, 0, &out, &d),
                     CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "domain: entity reference"));
    json_t *noname = J("{'kind': 'Component', 'metadata': {}}");
    assert_int_equal(cw_raci_effective(noname, NULL, NULL, NULL, 0, &out, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "metadata.name: required");
    json_decref(noname);
    json_decref(c);
    json_decref(dom);
    json_decref(sys);
    json_decref(api);
}

static void test_index_lookup(void **state)
{
    (void)state;
    json_t *ents[] = {
        resp("b", NULL, "{'target': 'system:s', 'activities': {'nfrs': " ROW("b") "}}"),
        resp("a", NULL, "{'target': 'system:s', 'activities': {'nfrs': " ROW("a") "}}"),
        J("{'kind': 'Component', 'metadata': {'name': 'c'}, 'spec': {}}"),
        resp("bad-target", NULL, "{'target': 'nope', 'activities': {'nfrs': " ROW("z") "}}"),
    };
    cw_raci_index *ix = NULL;
    cw_diag d = {""};
    assert_int_equal(cw_raci_index_build(ents, 4, &ix, &d), CW_OK);
    const json_t *who = NULL;
    const json_t *row = cw_raci_index_lookup(ix, "system:default/s", "nfrs", &who);
    assert_non_null(row);
    assert_string_equal(json_string_value(json_object_get(row, "accountable")), "a");
    assert_ptr_equal(who, ents[1]);
    assert_null(cw_raci_index_lookup(ix, "system:default/s", "logging", &who));
    assert_null(who);
    assert_null(cw_raci_index_lookup(ix, "system:default/none", "nfrs", NULL));
    cw_raci_index_free(ix);
    free_all(ents, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_issue_example),
        cmocka_unit_test(test_envelope),
        cmocka_unit_test(test_target_rules),
        cmocka_unit_test(test_activities_rules),
        cmocka_unit_test(test_accountable_rules),
        cmocka_unit_test(test_people_lists),
        cmocka_unit_test(test_all_problems_reported),
        cmocka_unit_test(test_activity_sets_and_validation),
        cmocka_unit_test(test_demo_responsibilities_valid),
        cmocka_unit_test(test_inheritance),
        cmocka_unit_test(test_effective_refs_and_order),
        cmocka_unit_test(test_effective_errors),
        cmocka_unit_test(test_index_lookup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
