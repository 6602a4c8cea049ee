/*
 * test_catalog.c — entity validation (messages naming fields, per-kind
 * required fields, limits, normalisation), relations for each kind and the
 * inverse table, search rows, canonical JSON, and every Backstage example
 * file under tests/data/backstage loaded and validated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "util/buf.h"

/* ---- helpers ------------------------------------------------------------- */

static json_t *yaml1(const char *text)
{
    json_t *docs = NULL;
    cw_diag d;
    cw_err err = cw_parse_documents(text, strlen(text), NULL, &docs, &d);
    if (err)
        fail_msg("parse: %s", d.msg);
    assert_int_equal(json_array_size(docs), 1);
    json_t *e = json_incref(json_array_get(docs, 0));
    json_decref(docs);
    return e;
}

static void expect_valid(const char *yaml)
{
    json_t *e = yaml1(yaml);
    cw_diag d = {""};
    if (cw_entity_validate(e, &d) != CW_OK)
        fail_msg("expected valid, got: %s\n%s", d.msg, yaml);
    json_decref(e);
}

/* Validation must fail and the message must contain needle. */
static void expect_invalid(const char *yaml, const char *needle)
{
    json_t *e = yaml1(yaml);
    cw_diag d = {""};
    assert_int_equal(cw_entity_validate(e, &d), CW_ERR_INVALID);
    if (!strstr(d.msg, needle))
        fail_msg("message \"%s\" lacks \"%s\"", d.msg, needle);
    json_decref(e);
}

#define COMPONENT_HEAD "apiVersion: backstage.io/v1alpha1\nkind: Component\n"
#define GOOD_SPEC "spec:\n  type: service\n  lifecycle: production\n  owner: team-a\n"

static bool has_issue(const cw_issue_list *l, const char *path)
{
    for (size_t i = 0; i < l->len; i++)
        if (strcmp(l->items[i].path, path) == 0)
            return true;
    return false;
}

/* ---- validation ------------------------------------------------------------ */

static void test_validate_minimal_and_normalise(void **state)
{
    (void)state;
    json_t *e = yaml1("apiVersion: backstage.io/v1alpha1\nkind: component\n"
                      "metadata:\n  name: foo\n  uid: abc\n  etag: x\n  generation: 3\n"
                      "relations: []\nstatus: {}\n" GOOD_SPEC);
    cw_diag d = {""};
    assert_int_equal(cw_entity_validate(e, &d), CW_OK);
    json_t *meta = json_object_get(e, "metadata");
    assert_string_equal(json_string_value(json_object_get(meta, "namespace")), "default");
    assert_string_equal(json_string_value(json_object_get(e, "kind")), "Component");
    assert_null(json_object_get(meta, "uid"));
    assert_null(json_object_get(meta, "etag"));
    assert_null(json_object_get(meta, "generation"));
    assert_null(json_object_get(e, "relations"));
    assert_null(json_object_get(e, "status"));
    json_decref(e);

    /* an invalid entity is not normalised */
    e = yaml1("apiVersion: backstage.io/v1alpha1\nkind: component\nmetadata:\n  name: foo\n");
    assert_int_equal(cw_entity_validate(e, &d), CW_ERR_INVALID);
    assert_string_equal(json_string_value(json_object_get(e, "kind")), "component");
    assert_null(json_object_get(json_object_get(e, "metadata"), "namespace"));
    json_decref(e);
}

static void test_validate_envelope(void **state)
{
    (void)state;
    json_t *s = json_string("x");
    cw_diag d;
    assert_int_equal(cw_entity_validate(s, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "must be a JSON object"));
    json_decref(s);

    expect_invalid("kind: Component\nmetadata:\n  name: a\n" GOOD_SPEC, "apiVersion: required");
    expect_invalid("apiVersion: 1\nkind: Component\nmetadata:\n  name: a\n" GOOD_SPEC,
                   "apiVersion: must be a string");
    expect_invalid("apiVersion: a/b/c\nkind: Component\nmetadata:\n  name: a\n" GOOD_SPEC,
                   "apiVersion: \"a/b/c\" is not a valid apiVersion");
    expect_invalid("apiVersion: conway.dev/v1\nkind: Component\nmetadata:\n  name: a\n" GOOD_SPEC,
                   "apiVersion: \"conway.dev/v1\" is not supported for kind Component");
    expect_invalid("apiVersion: backstage.io/v1alpha1\nmetadata:\n  name: a\n", "kind: required");
    expect_invalid("apiVersion: backstage.io/v1alpha1\nkind: 3\nmetadata:\n  name: a\n",
                   "kind: must be a string");
    expect_invalid("apiVersion: backstage.io/v1alpha1\nkind: My-Kind\nmetadata:\n  name: a\n",
                   "kind: \"My-Kind\" is not a valid kind");
    expect_invalid(COMPONENT_HEAD GOOD_SPEC, "metadata: required");
    expect_invalid(COMPONENT_HEAD "metadata: [a]\n" GOOD_SPEC, "metadata: must be an object");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\nspec: [1]\n", "spec: must be an object");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\n", "spec: required for kind Component");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\n" GOOD_SPEC "extra: 1\n",
                   "unknown top-level field \"extra\"");
}

static void test_validate_metadata(void **state)
{
    (void)state;
    expect_invalid(COMPONENT_HEAD "metadata:\n  title: x\n" GOOD_SPEC, "metadata.name: required");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: 12\n" GOOD_SPEC,
                   "metadata.name: must be a string");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: my component\n" GOOD_SPEC,
                   "metadata.name: \"my component\" is not a valid entity name (1-63 characters "
                   "[A-Za-z0-9] separated by [-_.])");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\n  namespace: Bad_NS\n" GOOD_SPEC,
                   "metadata.namespace: \"Bad_NS\" is not a valid namespace");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\n  title: ''\n" GOOD_SPEC,
                   "metadata.title: must not be empty");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\n  description: [x]\n" GOOD_SPEC,
                   "metadata.description: must be a string");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\n  labels: [x]\n" GOOD_SPEC,
                   "metadata.labels: must be an object of strings");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\n  labels:\n    bad key: x\n" GOOD_SPEC,
                   "metadata.labels: key \"bad key\" is not a valid label key");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\n  labels:\n    k: bad value\n" GOOD_SPEC,
                   "metadata.labels.k: \"bad value\" is not a valid label value");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\n  labels:\n    k: 1\n" GOOD_SPEC,
                   "metadata.labels.k: must be a string");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\n  annotations:\n    k: true\n" GOOD_SPEC,
                   "metadata.annotations.k: must be a string");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\n  annotations:\n    a/b/c: x\n" GOOD_SPEC,
                   "metadata.annotations: key \"a/b/c\" is not a valid annotation key");
    expect_valid(COMPONENT_HEAD "metadata:\n  name: a\n  annotations:\n    x.io/k: any text at all\n"
                 GOOD_SPEC);
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\n  tags: java\n" GOOD_SPEC,
                   "metadata.tags: must be an array of strings");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\n  tags: [java, 3]\n" GOOD_SPEC,
                   "metadata.tags[1]: must be a string");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\n  tags: [Java]\n" GOOD_SPEC,
                   "metadata.tags[0]: \"Java\" is not a valid tag");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\n  links: {url: x}\n" GOOD_SPEC,
                   "metadata.links: must be an array of objects");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\n  links: [x]\n" GOOD_SPEC,
                   "metadata.links[0]: must be an object with a url");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\n  links: [{title: t}]\n" GOOD_SPEC,
                   "metadata.links[0].url: required");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\n  links: [{url: 3}]\n" GOOD_SPEC,
                   "metadata.links[0].url: must be a string");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\n  links: [{url: u, icon: ''}]\n" GOOD_SPEC,
                   "metadata.links[0].icon: must not be empty");
    expect_valid(COMPONENT_HEAD "metadata:\n  name: a\n  links: [{url: u, title: t, icon: i, "
                 "type: admin}]\n  custom: {anything: [1]}\n" GOOD_SPEC);
}

static void test_validate_limits(void **state)
{
    (void)state;
    cw_buf b;
    cw_diag d;
    json_t *e = yaml1(COMPONENT_HEAD "metadata:\n  name: a\n" GOOD_SPEC);
    json_t *meta = json_object_get(e, "metadata");
    char *big = malloc(64 * 1024 + 2);
    memset(big, 'x', 64 * 1024 + 1);
    big[64 * 1024] = '\0';
    json_object_set_new(meta, "description", json_string(big));
    assert_int_equal(cw_entity_validate(e, &d), CW_OK);
    big[64 * 1024] = 'x';
    big[64 * 1024 + 1] = '\0';
    json_object_set_new(meta, "description", json_string(big));
    assert_int_equal(cw_entity_validate(e, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "metadata.description: is longer than 65536 bytes"));
    free(big);
    json_object_del(meta, "description");

    json_t *tags = json_array();
    for (int i = 0; i < 1000; i++)
        json_array_append_new(tags, json_string("t"));
    json_object_set_new(meta, "tags", tags);
    assert_int_equal(cw_entity_validate(e, &d), CW_OK);
    json_array_append_new(tags, json_string("t"));
    assert_int_equal(cw_entity_validate(e, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "metadata.tags: has more than 1000 tags"));
    json_object_del(meta, "tags");

    json_t *links = json_array();
    for (int i = 0; i < 1001; i++)
        json_array_append_new(links, json_pack("{s:s}", "url", "u"));
    json_object_set_new(meta, "links", links);
    assert_int_equal(cw_entity_validate(e, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "metadata.links: has more than 1000 links"));
    json_decref(e);

    /* many problems: all reported in the list, the message stays bounded */
    cw_buf_init(&b, 0);
    cw_buf_puts(&b, COMPONENT_HEAD "metadata:\n  name: a\n  tags:\n");
    for (int i = 0; i < 100; i++)
        cw_buf_puts(&b, "    - Bad Tag\n");
    cw_buf_puts(&b, GOOD_SPEC);
    e = yaml1(cw_buf_cstr(&b));
    cw_buf_free(&b);
    cw_issue_list issues = {0};
    assert_int_equal(cw_entity_validate_all(e, &issues, &d), CW_ERR_INVALID);
    assert_int_equal(issues.len, CW_ISSUES_MAX);
    assert_int_equal(issues.dropped, 100 - CW_ISSUES_MAX);
    assert_true(strlen(d.msg) < sizeof d.msg);
    assert_non_null(strstr(d.msg, "metadata.tags[0]"));
    cw_issue_list_free(&issues);
    json_decref(e);
}

static void test_validate_kind_required_fields(void **state)
{
    (void)state;
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\nspec:\n  type: service\n  lifecycle: x\n",
                   "spec.owner: required for kind Component");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\nspec:\n  lifecycle: x\n  owner: o\n",
                   "spec.type: required for kind Component");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\nspec:\n  type: s\n  owner: o\n",
                   "spec.lifecycle: required for kind Component");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\nspec:\n  type: ''\n  lifecycle: x\n"
                   "  owner: o\n", "spec.type: must be a non-empty string");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\nspec:\n  type: s\n  lifecycle: x\n"
                   "  owner: [o]\n", "spec.owner: must be a non-empty string");

#define HEAD(kind) "apiVersion: backstage.io/v1alpha1\nkind: " kind "\nmetadata:\n  name: a\n"
    expect_invalid(HEAD("API") "spec:\n  type: openapi\n  lifecycle: x\n  owner: o\n",
                   "spec.definition: required for kind API");
    expect_valid(HEAD("API") "spec:\n  type: openapi\n  lifecycle: x\n  owner: o\n  definition: d\n");
    expect_invalid(HEAD("Resource") "spec:\n  owner: o\n", "spec.type: required for kind Resource");
    expect_invalid(HEAD("Resource") "spec:\n  type: db\n", "spec.owner: required for kind Resource");
    expect_valid(HEAD("Resource") "spec:\n  type: db\n  owner: o\n");
    expect_invalid(HEAD("System") "spec: {}\n", "spec.owner: required for kind System");
    expect_valid(HEAD("System") "spec:\n  owner: o\n");
    expect_invalid(HEAD("Domain") "spec: {}\n", "spec.owner: required for kind Domain");
    expect_valid(HEAD("Domain") "spec:\n  owner: o\n  subdomainOf: d\n");
    expect_invalid(HEAD("Group") "spec:\n  children: []\n", "spec.type: required for kind Group");
    expect_invalid(HEAD("Group") "spec:\n  type: team\n", "spec.children: required for kind Group");
    expect_invalid(HEAD("Group") "spec:\n  type: team\n  children: x\n",
                   "spec.children: must be an array of strings");
    expect_valid(HEAD("Group") "spec:\n  type: team\n  children: []\n");
    expect_invalid(HEAD("User"), "spec: required for kind User");
    expect_valid(HEAD("User") "spec: {}\n");
    expect_invalid(HEAD("User") "spec:\n  memberOf: team-a\n",
                   "spec.memberOf: must be an array of strings");
    expect_invalid(HEAD("Location") "spec:\n  type: url\n",
                   "spec: kind Location requires spec.target or spec.targets");
    expect_valid(HEAD("Location") "spec:\n  target: ./x.yaml\n");
    expect_valid(HEAD("Location") "spec:\n  targets: [./x.yaml]\n  presence: optional\n");
    expect_invalid(HEAD("Location") "spec:\n  targets: [3]\n", "spec.targets[0]: must be a non-empty");
    expect_invalid(HEAD("Location") "spec:\n  target: x\n  presence: maybe\n",
                   "spec.presence: must be \"required\" or \"optional\"");
#undef HEAD
    expect_valid("apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: t\n"
                 "spec:\n  type: service\n  owner: team-a\n  steps: []\n");
    expect_invalid("apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n"
                   "  name: t\nspec:\n  owner: team-a\n", "spec.type: required for kind Template");
}

static void test_validate_refs_in_spec(void **state)
{
    (void)state;
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\n" GOOD_SPEC "  dependsOn: [db]\n",
                   "spec.dependsOn[0]: entity reference \"db\" had missing or empty kind");
    expect_valid(COMPONENT_HEAD "metadata:\n  name: a\n" GOOD_SPEC
                 "  dependsOn: ['resource:db']\n  providesApis: [x]\n  consumesApis: [api:y]\n"
                 "  system: s\n  subcomponentOf: c\n  dependencyOf: ['component:z']\n");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\n" GOOD_SPEC "  system: 'a:'\n",
                   "spec.system: entity reference \"a:\" was not on the form");
    expect_invalid(COMPONENT_HEAD "metadata:\n  name: a\n" GOOD_SPEC "  providesApis: ['']\n",
                   "spec.providesApis[0]: must be a non-empty string");
    expect_invalid("apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: g\n"
                   "spec:\n  type: team\n  children: []\n  parent: ':x'\n",
                   "spec.parent: entity reference");
}

static void test_validate_conway_and_unknown_kinds(void **state)
{
    (void)state;
    const char *kinds[] = {"Scorecard", "Goal", "Hypothesis", "Decision", "KPI"};
    char y[256];
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        snprintf(y, sizeof y, "apiVersion: conway.dev/v1\nkind: %s\nmetadata:\n  name: x\nspec: {}\n",
                 kinds[i]);
        /* the strategy kinds' own rules: src/catalog/strategy.c (test_strategy) */
        if (!strcmp(kinds[i], "Hypothesis"))
            expect_invalid(y, "spec.change: required");
        else if (!strcmp(kinds[i], "Decision"))
            expect_invalid(y, "spec.status: required");
        else if (!strcmp(kinds[i], "KPI"))
            expect_invalid(y, "spec.source: required");
        else if (!strcmp(kinds[i], "Scorecard"))   /* src/catalog/scorecard.c (test_scorecard) */
            expect_invalid(y, "spec.levels: required");
        else
            expect_valid(y);
        snprintf(y, sizeof y, "apiVersion: conway.dev/v1\nkind: %s\nmetadata:\n  name: x\n", kinds[i]);
        expect_invalid(y, "spec: required for kind");
        snprintf(y, sizeof y, "apiVersion: backstage.io/v1alpha1\nkind: %s\nmetadata:\n  name: x\n"
                 "spec: {}\n", kinds[i]);
        expect_invalid(y, "is not supported for kind");
    }
    /* Heartbeat: its spec rules come from src/catalog/heartbeat.c */
    expect_invalid("apiVersion: conway.dev/v1\nkind: Heartbeat\nmetadata:\n  name: h\nspec: {}\n",
                   "spec.owner: required for kind Heartbeat");
    expect_invalid("apiVersion: conway.dev/v1\nkind: Heartbeat\nmetadata:\n  name: h\nspec: {}\n",
                   "spec: a schedule is required");
    expect_valid("apiVersion: conway.dev/v1\nkind: Heartbeat\nmetadata:\n  name: h\n"
                 "spec:\n  owner: team-a\n  purpose: job\n  period: 1d\n  grace: 1h\n");
    /* Responsibilities: its spec rules come from src/insights/raci.c */
    expect_invalid("apiVersion: conway.dev/v1\nkind: Responsibilities\nmetadata:\n  name: r\n"
                   "spec: {}\n", "spec.target: ");
    expect_invalid("apiVersion: conway.dev/v1\nkind: Responsibilities\nmetadata:\n  name: r\n",
                   "spec: required for kind Responsibilities");
    expect_valid("apiVersion: conway.dev/v1\nkind: responsibilities\nmetadata:\n  name: r\n"
                 "spec:\n  target: system:default/payments\n  activities:\n"
                 "    incident-resolution:\n      responsible: [payments-team]\n"
                 "      accountable: group:default/payments-team\n");
    /* unknown kinds with a valid kind format are kept with their spelling */
    json_t *e = yaml1("apiVersion: example.com/v2\nkind: Widget\nmetadata:\n  name: w\n");
    cw_diag d;
    assert_int_equal(cw_entity_validate(e, &d), CW_OK);
    assert_string_equal(json_string_value(json_object_get(e, "kind")), "Widget");
    json_decref(e);
    expect_invalid("apiVersion: example.com/v2\nkind: Widget\nmetadata:\n  name: w\n"
                   "spec:\n  owner: ':'\n", "spec.owner: entity reference");
}

/* Issue #10: the kinds a team-scoped token may write are exactly those whose
 * ownership is a catalog concept; the message lists the same ones. */
static void test_kind_team_writable(void **state)
{
    (void)state;
    const char *yes[] = {"Component", "api", "RESOURCE", "System", "Domain", "Responsibilities",
                         "postmortem", "Heartbeat", "Scorecard", "Goal", "Hypothesis", "Decision"};
    const char *no[] = {"Group", "user", "Location", "Template", "Widget", "", NULL};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (!cw_kind_team_writable(yes[i]))
            fail_msg("%s should be writable by a team", yes[i]);
        /* named in the message (canonical spelling) */
        const char *canon = cw_kind_canonical(yes[i]);
        assert_non_null(canon);
        assert_non_null(strstr(cw_kind_team_writable_names(), canon));
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (cw_kind_team_writable(no[i]))
            fail_msg("%s should not be writable by a team", no[i] ? no[i] : "NULL");
    assert_null(strstr(cw_kind_team_writable_names(), "Group"));
    assert_null(strstr(cw_kind_team_writable_names(), "User"));
    assert_null(strstr(cw_kind_team_writable_names(), "Location"));
}

static void test_validate_collects_all(void **state)
{
    (void)state;
    json_t *e = yaml1(COMPONENT_HEAD "metadata:\n  name: bad name\n  tags: [ok, Not OK]\n"
                      "spec:\n  type: service\n  lifecycle: x\n");
    cw_issue_list issues = {0};
    cw_diag d;
    assert_int_equal(cw_entity_validate_all(e, &issues, &d), CW_ERR_INVALID);
    assert_int_equal(issues.len, 3);
    assert_true(has_issue(&issues, "metadata.name"));
    assert_true(has_issue(&issues, "metadata.tags[1]"));
    assert_true(has_issue(&issues, "spec.owner"));
    assert_non_null(strstr(d.msg, "metadata.name: "));
    assert_non_null(strstr(d.msg, "; metadata.tags[1]: "));
    assert_non_null(strstr(d.msg, "; spec.owner: required for kind Component"));
    cw_issue_list_free(&issues);
    json_decref(e);
}

/* ---- relations ------------------------------------------------------------- */

static bool has_rel(const cw_relation_list *l, const char *type, const char *key)
{
    for (size_t i = 0; i < l->len; i++)
        if (strcmp(l->items[i].type, type) == 0 && strcmp(l->items[i].target_key, key) == 0)
            return true;
    return false;
}

static cw_relation_list rels_of(const char *yaml)
{
    json_t *e = yaml1(yaml);
    cw_diag d = {""};
    if (cw_entity_validate(e, &d) != CW_OK)
        fail_msg("invalid: %s", d.msg);
    cw_relation_list l = {0};
    if (cw_entity_relations(e, &l, &d) != CW_OK)
        fail_msg("relations: %s", d.msg);
    json_decref(e);
    return l;
}

static void test_relations_component(void **state)
{
    (void)state;
    cw_relation_list l = rels_of(COMPONENT_HEAD "metadata:\n  name: c\n" GOOD_SPEC
                                 "  system: Sys\n  subcomponentOf: parent\n"
                                 "  providesApis: [a1, 'api:other/a2']\n  consumesApis: [b1]\n"
                                 "  dependsOn: ['resource:db', 'Component:x']\n"
                                 "  dependencyOf: ['component:y']\n");
    assert_int_equal(l.len, 9);
    assert_true(has_rel(&l, "ownedBy", "group:default/team-a"));
    assert_true(has_rel(&l, "partOf", "system:default/sys"));
    assert_true(has_rel(&l, "partOf", "component:default/parent"));
    assert_true(has_rel(&l, "providesApi", "api:default/a1"));
    assert_true(has_rel(&l, "providesApi", "api:other/a2"));
    assert_true(has_rel(&l, "consumesApi", "api:default/b1"));
    assert_true(has_rel(&l, "dependsOn", "resource:default/db"));
    assert_true(has_rel(&l, "dependsOn", "component:default/x"));
    assert_true(has_rel(&l, "dependencyOf", "component:default/y"));
    for (size_t i = 0; i < l.len; i++)
        if (strcmp(l.items[i].target_key, "system:default/sys") == 0)
            assert_string_equal(l.items[i].target_ref, "system:default/Sys");
    cw_relation_list_free(&l);
}

static void test_relations_other_kinds(void **state)
{
    (void)state;
#define HEAD(kind) "apiVersion: backstage.io/v1alpha1\nkind: " kind "\nmetadata:\n  name: n\n"
    /* Each entity, how many relations it has and some of them (type, key). */
    static const struct {
        const char *yaml;
        size_t len;
        const char *rels[5][2];
    } cases[] = {
        {HEAD("API") "spec:\n  type: grpc\n  lifecycle: x\n  owner: user:bob\n  definition: d\n"
                     "  system: s\n",
         2, {{"ownedBy", "user:default/bob"}, {"partOf", "system:default/s"}}},
        {HEAD("Resource") "spec:\n  type: db\n  owner: o\n  system: s\n"
                          "  dependsOn: ['resource:r2']\n  dependencyOf: ['component:c']\n",
         4,
         {{"partOf", "system:default/s"},
          {"dependsOn", "resource:default/r2"},
          {"dependencyOf", "component:default/c"}}},
        {HEAD("System") "spec:\n  owner: o\n  domain: dom\n", 2,
         {{"partOf", "domain:default/dom"}}},
        {HEAD("Domain") "spec:\n  owner: o\n  subdomainOf: top\n", 2,
         {{"partOf", "domain:default/top"}}},
        {HEAD("Domain") "spec:\n  owner: o\n", 1, {{0}}},
        {HEAD("Group") "spec:\n  type: team\n  parent: org\n  children: [c1, c2]\n"
                       "  members: [alice, 'user:ops/bob']\n",
         5,
         {{"childOf", "group:default/org"},
          {"parentOf", "group:default/c1"},
          {"parentOf", "group:default/c2"},
          {"hasMember", "user:default/alice"},
          {"hasMember", "user:ops/bob"}}},
        {HEAD("User") "spec:\n  memberOf: [team-a, 'group:other/x']\n", 2,
         {{"memberOf", "group:default/team-a"}, {"memberOf", "group:other/x"}}},
        {HEAD("Location") "spec:\n  targets: [a]\n", 0, {{0}}},
        {"apiVersion: conway.dev/v1\nkind: Heartbeat\nmetadata:\n  name: h\n"
         "spec:\n  owner: team-b\n  purpose: backup\n  period: 1d\n  grace: 1h\n"
         "  target: resource:default/db\n  dependsOn: other\n",
         1, {{"ownedBy", "group:default/team-b"}}},
    };
#undef HEAD
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cw_relation_list l = rels_of(cases[i].yaml);
        if (l.len != cases[i].len)
            fail_msg("case %zu: %zu relations, want %zu", i, l.len, cases[i].len);
        for (size_t k = 0; k < 5 && cases[i].rels[k][0]; k++)
            if (!has_rel(&l, cases[i].rels[k][0], cases[i].rels[k][1]))
                fail_msg("case %zu: no %s %s", i, cases[i].rels[k][0], cases[i].rels[k][1]);
        cw_relation_list_free(&l);
    }
}

static void test_relations_namespace_and_dedupe(void **state)
{
    (void)state;
    /* refs without a namespace default to the entity's own namespace */
    cw_relation_list l = rels_of(COMPONENT_HEAD "metadata:\n  name: c\n  namespace: prod\n"
                                 "spec:\n  type: s\n  lifecycle: l\n  owner: team-a\n"
                                 "  system: default/s\n"
                                 "  providesApis: [a, A, 'api:prod/a', 'API:PROD/A']\n");
    assert_int_equal(l.len, 3);
    assert_true(has_rel(&l, "ownedBy", "group:prod/team-a"));
    assert_true(has_rel(&l, "partOf", "system:default/s"));
    assert_true(has_rel(&l, "providesApi", "api:prod/a"));
    cw_relation_list_free(&l);

    /* an unparsable ref is an error naming the field, the list is unchanged */
    json_t *e = yaml1(COMPONENT_HEAD "metadata:\n  name: c\n" GOOD_SPEC "  dependsOn: [x]\n");
    l = (cw_relation_list){0};
    cw_diag d;
    assert_int_equal(cw_entity_relations(e, &l, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "spec.dependsOn[0]"));
    assert_int_equal(l.len, 0);
    cw_relation_list_free(&l);
    json_decref(e);
}

static void test_relation_inverse(void **state)
{
    (void)state;
    const char *pairs[][2] = {{"ownedBy", "ownerOf"},         {"partOf", "hasPart"},
                              {"dependsOn", "dependencyOf"},  {"providesApi", "apiProvidedBy"},
                              {"consumesApi", "apiConsumedBy"}, {"memberOf", "hasMember"},
                              {"childOf", "parentOf"}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        assert_string_equal(cw_relation_inverse(pairs[i][0]), pairs[i][1]);
        assert_string_equal(cw_relation_inverse(pairs[i][1]), pairs[i][0]);
    }
    assert_null(cw_relation_inverse("likes"));
    assert_null(cw_relation_inverse("ownedby"));
    assert_null(cw_relation_inverse(NULL));
}

/* ---- search rows and canonical JSON ------------------------------------------ */

static const char *row_value(const cw_search_rows *r, const char *key, size_t nth)
{
    for (size_t i = 0; i < r->len; i++)
        if (strcmp(r->items[i].key, key) == 0 && nth-- == 0)
            return r->items[i].value ? r->items[i].value : "(null)";
    return NULL;
}

static size_t row_count(const cw_search_rows *r, const char *key)
{
    size_t n = 0;
    for (size_t i = 0; i < r->len; i++)
        n += strcmp(r->items[i].key, key) == 0;
    return n;
}

static void test_search_rows(void **state)
{
    (void)state;
    char long_value[260];
    memset(long_value, 'v', 201);
    long_value[201] = '\0';
    cw_buf b;
    cw_buf_init(&b, 0);
    cw_buf_printf(&b, COMPONENT_HEAD "metadata:\n  name: Foo\n  uid: U-1\n  etag: e1\n"
                  "  tags: [java, Java-Not-A-Tag, java]\n"
                  "  annotations:\n    backstage.io/techdocs-ref: URL:x\n"
                  "  links: [{url: 'https://A'}, {url: 'https://b'}]\n"
                  "  long: %s\n  edge: %.200s\n"
                  "spec:\n  type: Service\n  lifecycle: production\n  owner: team-a\n"
                  "  n: 3\n  r: 1.5\n  flag: false\n  nothing: null\n  empty: []\n"
                  "  profile: {displayName: X}\n",
                  long_value, long_value);
    json_t *e = yaml1(cw_buf_cstr(&b));
    cw_buf_free(&b);
    cw_relation_list rels = {0};
    cw_diag d;
    assert_int_equal(cw_entity_relations(e, &rels, &d), CW_OK);
    cw_search_rows r = {0};
    assert_int_equal(cw_entity_search_rows(e, &rels, &r), CW_OK);

    assert_string_equal(row_value(&r, "kind", 0), "component");
    assert_string_equal(row_value(&r, "apiversion", 0), "backstage.io/v1alpha1");
    assert_string_equal(row_value(&r, "metadata.name", 0), "foo");
    assert_int_equal(row_count(&r, "metadata.name"), 1);
    assert_string_equal(row_value(&r, "metadata.namespace", 0), "default");
    assert_string_equal(row_value(&r, "metadata.uid", 0), "u-1");
    assert_null(row_value(&r, "metadata.etag", 0));
    assert_int_equal(row_count(&r, "metadata.tags"), 2); /* sorted, unique */
    assert_string_equal(row_value(&r, "metadata.tags", 0), "java");
    assert_string_equal(row_value(&r, "metadata.tags", 1), "java-not-a-tag");
    assert_string_equal(row_value(&r, "metadata.tags.java", 0), "true");
    assert_string_equal(row_value(&r, "metadata.annotations.backstage.io/techdocs-ref", 0), "url:x");
    assert_int_equal(row_count(&r, "metadata.links.url"), 2);
    assert_string_equal(row_value(&r, "metadata.links.url", 0), "https://a");
    assert_null(row_value(&r, "metadata.long", 0));
    assert_int_equal(strlen(row_value(&r, "metadata.edge", 0)), 200);
    assert_string_equal(row_value(&r, "spec.type", 0), "service");
    assert_string_equal(row_value(&r, "spec.n", 0), "3");
    assert_string_equal(row_value(&r, "spec.r", 0), "1.5");
    assert_string_equal(row_value(&r, "spec.flag", 0), "false");
    assert_string_equal(row_value(&r, "spec.nothing", 0), "(null)");
    assert_null(row_value(&r, "spec.empty", 0));
    assert_string_equal(row_value(&r, "spec.profile.displayname", 0), "x");
    assert_string_equal(row_value(&r, "relations.ownedby", 0), "group:default/team-a");
    for (size_t i = 1; i < r.len; i++) {
        int c = strcmp(r.items[i - 1].key, r.items[i].key);
        assert_true(c <= 0);
    }
    cw_search_rows_free(&r);
    assert_int_equal(r.len, 0);
    cw_relation_list_free(&rels);
    json_decref(e);

    /* namespace defaults even on an entity that was not normalised */
    e = json_pack("{s:s, s:{s:s}}", "kind", "X", "metadata", "name", "n");
    r = (cw_search_rows){0};
    assert_int_equal(cw_entity_search_rows(e, NULL, &r), CW_OK);
    assert_string_equal(row_value(&r, "metadata.namespace", 0), "default");
    cw_search_rows_free(&r);
    json_decref(e);
}

static void test_canonical_json(void **state)
{
    (void)state;
    json_t *a = json_loads("{\"kind\":\"Component\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":"
                           "\"x\",\"uid\":\"1\",\"etag\":\"2\",\"labels\":{\"b\":\"1\",\"a\":\"2\"}},"
                           "\"spec\":{\"z\":[3,{\"y\":1,\"x\":2}],\"a\":null},\"relations\":[],"
                           "\"status\":{}}", 0, NULL);
    json_t *b = json_loads("{\"spec\":{\"a\":null,\"z\":[3,{\"x\":2,\"y\":1}]},\"metadata\":{\"labels\""
                           ":{\"a\":\"2\",\"b\":\"1\"},\"name\":\"x\",\"etag\":\"other\"},"
                           "\"apiVersion\":\"v1\",\"kind\":\"Component\"}", 0, NULL);
    char *ca = cw_entity_canonical_json(a), *cb = cw_entity_canonical_json(b);
    assert_non_null(ca);
    assert_string_equal(ca, cb);
    assert_string_equal(ca, "{\"apiVersion\":\"v1\",\"kind\":\"Component\",\"metadata\":{\"labels\":"
                            "{\"a\":\"2\",\"b\":\"1\"},\"name\":\"x\"},\"spec\":{\"a\":null,\"z\":"
                            "[3,{\"x\":2,\"y\":1}]}}");
    /* the input is not modified */
    assert_non_null(json_object_get(json_object_get(a, "metadata"), "uid"));
    assert_non_null(json_object_get(a, "relations"));
    free(ca);
    free(cb);
    json_object_set_new(json_object_get(b, "spec"), "a", json_integer(1));
    cb = cw_entity_canonical_json(b);
    ca = cw_entity_canonical_json(a);
    assert_string_not_equal(ca, cb);
    free(ca);
    free(cb);
    json_decref(a);
    json_decref(b);
    json_t *s = json_string("x");
    assert_null(cw_entity_canonical_json(s));
    json_decref(s);
}

/* ---- the Backstage example files ------------------------------------------------ */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cw_buf b;
    char chunk[4096];
    size_t n;
    if (!f)
        fail_msg("cannot open %s", path);
    cw_buf_init(&b, 0);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        assert_int_equal(cw_buf_append(&b, chunk, n), CW_OK);
    fclose(f);
    return cw_buf_steal(&b, len);
}

static json_t *find_entity(json_t *docs, const char *kind, const char *name, const char *ns)
{
    size_t i;
    json_t *e;
    json_array_foreach(docs, i, e) {
        json_t *m = json_object_get(e, "metadata");
        const char *n = json_string_value(json_object_get(m, "namespace"));
        if (strcmp(json_string_value(json_object_get(e, "kind")), kind) == 0 &&
            strcmp(json_string_value(json_object_get(m, "name")), name) == 0 &&
            strcmp(n ? n : "default", ns) == 0)
            return e;
    }
    return NULL;
}

static void test_backstage_examples(void **state)
{
    (void)state;
    const char *dir = CONWAY_TEST_DATA "/backstage";
    DIR *dh = opendir(dir);
    assert_non_null(dh);
    struct dirent *de;
    size_t files = 0, entities = 0;
    bool saw_invalid = false;
    json_t *all = json_array();
    while ((de = readdir(dh)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        size_t len;
        char *text = read_file(path, &len);
        json_t *docs = NULL;
        cw_diag d = {""};
        if (cw_parse_documents(text, len, NULL, &docs, &d) != CW_OK)
            fail_msg("%s: %s", de->d_name, d.msg);
        free(text);
        files++;
        assert_true(json_array_size(docs) >= 1);
        size_t i;
        json_t *e;
        json_array_foreach(docs, i, e) {
            cw_issue_list issues = {0};
            cw_err err = cw_entity_validate_all(e, &issues, &d);
            if (strcmp(de->d_name, "invalid-component.yaml") == 0) {
                saw_invalid = true;
                assert_int_equal(err, CW_ERR_INVALID);
                /* exactly the name (a space) and the second tag (a space) */
                assert_int_equal(issues.len, 2);
                assert_string_equal(issues.items[0].path, "metadata.name");
                assert_string_equal(issues.items[1].path, "metadata.tags[1]");
                assert_non_null(strstr(d.msg, "\"invalid component\" is not a valid entity name"));
                assert_non_null(strstr(d.msg, "\"go 1.15.3\" is not a valid tag"));
            } else {
                if (err)
                    fail_msg("%s document %zu: %s", de->d_name, i + 1, d.msg);
                cw_relation_list rels = {0};
                cw_search_rows rows = {0};
                assert_int_equal(cw_entity_relations(e, &rels, &d), CW_OK);
                assert_int_equal(cw_entity_search_rows(e, &rels, &rows), CW_OK);
                assert_true(rows.len > 0);
                char *canon = cw_entity_canonical_json(e);
                assert_non_null(canon);
                free(canon);
                cw_search_rows_free(&rows);
                cw_relation_list_free(&rels);
                json_array_append(all, e);
                entities++;
            }
            cw_issue_list_free(&issues);
        }
        if (strcmp(de->d_name, "org.yaml") == 0)
            assert_int_equal(json_array_size(docs), 2);
        if (strcmp(de->d_name, "team-a-group.yaml") == 0)
            assert_int_equal(json_array_size(docs), 6);
        json_decref(docs);
    }
    closedir(dh);
    assert_true(files >= 12);
    assert_true(saw_invalid);
    assert_int_equal(entities, 17);

    /* Locations are valid entities with targets */
    json_t *loc = find_entity(all, "Location", "example-groups", "default");
    assert_non_null(loc);
    assert_int_equal(json_array_size(json_object_get(json_object_get(loc, "spec"), "targets")), 7);

    /* different-namespace.yaml: its owner "default/team-a" names the default namespace */
    json_t *dn = find_entity(all, "Component", "different-namespace", "alternative");
    assert_non_null(dn);
    cw_relation_list rels = {0};
    cw_diag d;
    assert_int_equal(cw_entity_relations(dn, &rels, &d), CW_OK);
    assert_int_equal(rels.len, 1);
    assert_true(has_rel(&rels, "ownedBy", "group:default/team-a"));
    cw_relation_list_free(&rels);

    /* the two users named guest live in different namespaces */
    json_t *g1 = find_entity(all, "User", "guest", "default");
    json_t *g2 = find_entity(all, "User", "guest", "development");
    assert_non_null(g1);
    assert_non_null(g2);
    assert_int_equal(cw_entity_relations(g2, &rels, &d), CW_OK);
    assert_true(has_rel(&rels, "memberOf", "group:default/team-a"));
    cw_relation_list_free(&rels);

    json_t *lookup = find_entity(all, "Component", "artist-lookup", "default");
    assert_int_equal(cw_entity_relations(lookup, &rels, &d), CW_OK);
    assert_int_equal(rels.len, 3);
    assert_true(has_rel(&rels, "ownedBy", "group:default/team-a"));
    assert_true(has_rel(&rels, "partOf", "system:default/artist-engagement-portal"));
    assert_true(has_rel(&rels, "dependsOn", "resource:default/artists-db"));
    cw_relation_list_free(&rels);

    json_t *team = find_entity(all, "Group", "team-a", "default");
    assert_int_equal(cw_entity_relations(team, &rels, &d), CW_OK);
    assert_int_equal(rels.len, 1);
    assert_true(has_rel(&rels, "childOf", "group:default/backstage"));
    cw_relation_list_free(&rels);
    json_decref(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_minimal_and_normalise),
        cmocka_unit_test(test_validate_envelope),
        cmocka_unit_test(test_validate_metadata),
        cmocka_unit_test(test_validate_limits),
        cmocka_unit_test(test_validate_kind_required_fields),
        cmocka_unit_test(test_validate_refs_in_spec),
        cmocka_unit_test(test_validate_conway_and_unknown_kinds),
        cmocka_unit_test(test_kind_team_writable),
        cmocka_unit_test(test_validate_collects_all),
        cmocka_unit_test(test_relations_component),
        cmocka_unit_test(test_relations_other_kinds),
        cmocka_unit_test(test_relations_namespace_and_dedupe),
        cmocka_unit_test(test_relation_inverse),
        cmocka_unit_test(test_search_rows),
        cmocka_unit_test(test_canonical_json),
        cmocka_unit_test(test_backstage_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
