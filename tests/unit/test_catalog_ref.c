/*
 * test_catalog_ref.c — entity references (Backstage's parseRefString /
 * parseEntityRef rules), kind canonicalisation and every catalog validator
 * at its edges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "catalog/catalog.h"

static void rep(char *out, char c, size_t n)
{
    memset(out, c, n);
    out[n] = '\0';
}

static void expect_ref(const char *text, const char *dk, const char *dns, const char *kind,
                       const char *ns, const char *name)
{
    cw_ref r;
    cw_diag d = {""};
    cw_err err = cw_ref_parse(text, dk, dns, &r, &d);
    if (err)
        fail_msg("%s: %s", text, d.msg);
    assert_string_equal(r.kind, kind);
    assert_string_equal(r.namespace_, ns);
    assert_string_equal(r.name, name);
}

static void expect_ref_error(const char *text, const char *dk, const char *needle)
{
    cw_ref r;
    cw_diag d = {""};
    assert_int_equal(cw_ref_parse(text, dk, NULL, &r, &d), CW_ERR_INVALID);
    if (!strstr(d.msg, needle))
        fail_msg("ref %s: message \"%s\" lacks \"%s\"", text ? text : "(null)", d.msg, needle);
}

static void test_ref_parse_backstage_cases(void **state)
{
    (void)state;
    expect_ref("component:default/foo", NULL, NULL, "Component", "default", "foo");
    expect_ref("Component:ns1/Foo", NULL, NULL, "Component", "ns1", "Foo");
    expect_ref("foo", "Group", NULL, "Group", "default", "foo");
    expect_ref("foo", "Group", "other", "Group", "other", "foo");
    expect_ref("ns/foo", "User", "other", "User", "ns", "foo");
    expect_ref("user:foo", "Group", "x", "User", "x", "foo");
    /* a:b:c: the first colon splits the kind; the name keeps the rest. */
    expect_ref("a:b:c", NULL, NULL, "a", "default", "b:c");
    /* a slash before the colon makes the rest the name. */
    expect_ref("ns/x:y", "Component", NULL, "Component", "ns", "x:y");
    expect_ref("a/b/c", "Component", NULL, "Component", "a", "b/c");
    expect_ref("k:a/b:c/d", NULL, NULL, "k", "a", "b:c/d");
    /* known kinds take their canonical spelling, unknown keep theirs */
    expect_ref("api:x", NULL, NULL, "API", "default", "x");
    expect_ref("MyKind:x", NULL, NULL, "MyKind", "default", "x");
    expect_ref("responsibilities:x", NULL, NULL, "Responsibilities", "default", "x");
}

static void test_ref_parse_errors(void **state)
{
    (void)state;
    expect_ref_error("", "Group", "must not be empty");
    expect_ref_error(NULL, "Group", "must not be empty");
    expect_ref_error(":x", "Group", "was not on the form");
    expect_ref_error("k:", "Group", "was not on the form");
    expect_ref_error("/x", "Group", "was not on the form");
    expect_ref_error("k:/x", "Group", "was not on the form");
    expect_ref_error("k:ns/", "Group", "was not on the form");
    expect_ref_error("ns/", "Group", "was not on the form");
    expect_ref_error("foo", NULL, "missing or empty kind");
    expect_ref_error("ns/foo", NULL, "missing or empty kind");
    expect_ref_error("a\nb", "Group", "control character");
}

static void test_ref_parse_lengths(void **state)
{
    (void)state;
    char name[80], text[200];
    rep(name, 'n', 63);
    snprintf(text, sizeof text, "group:default/%s", name);
    expect_ref(text, NULL, NULL, "Group", "default", name);
    rep(name, 'n', 64);
    snprintf(text, sizeof text, "group:default/%s", name);
    expect_ref_error(text, NULL, "name is longer than 63");
    snprintf(text, sizeof text, "%s:x", name);
    expect_ref_error(text, NULL, "kind is longer than 63");
    snprintf(text, sizeof text, "group:%s/x", name);
    expect_ref_error(text, NULL, "namespace is longer than 63");
}

static void test_ref_format_and_key(void **state)
{
    (void)state;
    cw_ref r;
    char out[CW_REF_MAX];
    assert_int_equal(cw_ref_parse("Group:Default/Team-A", NULL, NULL, &r, NULL), CW_OK);
    cw_ref_format(&r, out);
    assert_string_equal(out, "group:default/Team-A");
    cw_ref_key(&r, out);
    assert_string_equal(out, "group:default/team-a");

    assert_true(cw_ref_text_to_key("Component:Default/Foo", out));
    assert_string_equal(out, "component:default/foo");
    assert_true(cw_ref_text_to_key("a:b/c:d", out));
    assert_string_equal(out, "a:b/c:d");
    assert_false(cw_ref_text_to_key("foo", out));
    assert_false(cw_ref_text_to_key("group:foo", out));
    assert_false(cw_ref_text_to_key("default/foo", out));
    assert_false(cw_ref_text_to_key("group:/foo", out));
    assert_false(cw_ref_text_to_key("", out));
    assert_false(cw_ref_text_to_key(NULL, out));
}

static void test_entity_ref(void **state)
{
    (void)state;
    cw_ref r;
    cw_diag d;
    json_t *e = json_pack("{s:s, s:{s:s}}", "kind", "component", "metadata", "name", "Foo");
    assert_int_equal(cw_entity_ref(e, &r, &d), CW_OK);
    assert_string_equal(r.kind, "Component");
    assert_string_equal(r.namespace_, "default");
    assert_string_equal(r.name, "Foo");
    json_object_set_new(json_object_get(e, "metadata"), "namespace", json_string("prod"));
    assert_int_equal(cw_entity_ref(e, &r, &d), CW_OK);
    assert_string_equal(r.namespace_, "prod");
    json_object_del(json_object_get(e, "metadata"), "name");
    assert_int_equal(cw_entity_ref(e, &r, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "metadata.name"));
    json_decref(e);
}

static void test_kind_canonical(void **state)
{
    (void)state;
    const char *known[] = {"Component", "API", "Resource", "System", "Domain",
                           "Group", "User", "Location", "Template", "Responsibilities",
                           "Heartbeat", "Scorecard", "Goal", "Hypothesis", "Decision"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        char low[64];
        size_t n = strlen(known[i]);
        for (size_t j = 0; j <= n; j++)
            low[j] = (char)((known[i][j] >= 'A' && known[i][j] <= 'Z') ? known[i][j] + 32
                                                                       : known[i][j]);
        assert_string_equal(cw_kind_canonical(low), known[i]);
        assert_string_equal(cw_kind_canonical(known[i]), known[i]);
    }
    assert_null(cw_kind_canonical("Widget"));
    assert_null(cw_kind_canonical(""));
    assert_null(cw_kind_canonical(NULL));
}

static void test_valid_name(void **state)
{
    (void)state;
    char s[80];
    assert_true(cw_valid_name("a"));
    assert_true(cw_valid_name("A"));
    assert_true(cw_valid_name("9"));
    assert_true(cw_valid_name("my-component_v2.0"));
    assert_true(cw_valid_name("a--b"));
    assert_true(cw_valid_name("a._-b"));
    rep(s, 'a', 63);
    assert_true(cw_valid_name(s));
    rep(s, 'a', 64);
    assert_false(cw_valid_name(s));
    assert_false(cw_valid_name(""));
    assert_false(cw_valid_name(NULL));
    assert_false(cw_valid_name("-a"));
    assert_false(cw_valid_name("a-"));
    assert_false(cw_valid_name("_a"));
    assert_false(cw_valid_name("a."));
    assert_false(cw_valid_name("my component"));
    assert_false(cw_valid_name("a/b"));
    assert_false(cw_valid_name("a:b"));
    assert_false(cw_valid_name("caf\xc3\xa9"));
}

static void test_valid_namespace(void **state)
{
    (void)state;
    char s[80];
    assert_true(cw_valid_namespace("default"));
    assert_true(cw_valid_namespace("a-b-c"));
    assert_true(cw_valid_namespace("0"));
    rep(s, 'z', 63);
    assert_true(cw_valid_namespace(s));
    rep(s, 'z', 64);
    assert_false(cw_valid_namespace(s));
    assert_false(cw_valid_namespace(""));
    assert_false(cw_valid_namespace("Default"));
    assert_false(cw_valid_namespace("a--b"));
    assert_false(cw_valid_namespace("-a"));
    assert_false(cw_valid_namespace("a-"));
    assert_false(cw_valid_namespace("a_b"));
    assert_false(cw_valid_namespace("a.b"));
}

static void test_valid_kind(void **state)
{
    (void)state;
    char s[80];
    assert_true(cw_valid_kind("Component"));
    assert_true(cw_valid_kind("x"));
    assert_true(cw_valid_kind("Kind2"));
    rep(s, 'K', 63);
    assert_true(cw_valid_kind(s));
    rep(s, 'K', 64);
    assert_false(cw_valid_kind(s));
    assert_false(cw_valid_kind(""));
    assert_false(cw_valid_kind("2Kind"));
    assert_false(cw_valid_kind("My-Kind"));
    assert_false(cw_valid_kind("My_Kind"));
    assert_false(cw_valid_kind("My Kind"));
}

static void test_valid_api_version(void **state)
{
    (void)state;
    char s[300];
    assert_true(cw_valid_api_version("backstage.io/v1alpha1"));
    assert_true(cw_valid_api_version("conway.dev/v1"));
    assert_true(cw_valid_api_version("v1"));
    assert_true(cw_valid_api_version("a-b.c/V1"));
    assert_false(cw_valid_api_version(""));
    assert_false(cw_valid_api_version("a/b/c"));
    assert_false(cw_valid_api_version("/v1"));
    assert_false(cw_valid_api_version("backstage.io/"));
    assert_false(cw_valid_api_version("Backstage.io/v1"));
    assert_false(cw_valid_api_version("back_stage.io/v1"));
    assert_false(cw_valid_api_version("a..b/v1"));
    assert_false(cw_valid_api_version("a.io/v1-alpha"));
    rep(s, 'v', 63);
    assert_true(cw_valid_api_version(s));
    rep(s, 'v', 64);
    assert_false(cw_valid_api_version(s));
    /* prefix: up to 253 characters of labels */
    size_t o = 0;
    for (int i = 0; i < 4; i++) {
        memset(s + o, 'a', 62);
        o += 62;
        s[o++] = '.';
    }
    s[o - 1] = '\0'; /* 4*62 + 3 dots = 251 */
    char av[320];
    snprintf(av, sizeof av, "%s/v1", s);
    assert_true(cw_valid_api_version(av));
    snprintf(av, sizeof av, "%s.ab/v1", s); /* 254 */
    assert_false(cw_valid_api_version(av));
}

static void test_valid_label_key_value(void **state)
{
    (void)state;
    char s[80], k[160];
    assert_true(cw_valid_label_key("foo"));
    assert_true(cw_valid_label_key("goVersion"));
    assert_true(cw_valid_label_key("example.com/foo"));
    assert_true(cw_valid_label_key("backstage.io/techdocs-ref"));
    assert_true(cw_valid_label_key("Foo_Bar.baz"));
    assert_false(cw_valid_label_key(""));
    assert_false(cw_valid_label_key("example.com/"));
    assert_false(cw_valid_label_key("/foo"));
    assert_false(cw_valid_label_key("a/b/c"));
    assert_false(cw_valid_label_key("Example.com/foo"));
    assert_false(cw_valid_label_key("-x"));
    assert_false(cw_valid_label_key("a b"));
    rep(s, 'x', 63);
    snprintf(k, sizeof k, "example.com/%s", s);
    assert_true(cw_valid_label_key(k));
    rep(s, 'x', 64);
    snprintf(k, sizeof k, "example.com/%s", s);
    assert_false(cw_valid_label_key(k));

    assert_true(cw_valid_label_value(""));
    assert_true(cw_valid_label_value("go1.15.3"));
    assert_true(cw_valid_label_value("music"));
    assert_false(cw_valid_label_value("a b"));
    assert_false(cw_valid_label_value("-a"));
    assert_false(cw_valid_label_value(NULL));
}

static void test_valid_tag(void **state)
{
    (void)state;
    char s[80];
    assert_true(cw_valid_tag("java"));
    assert_true(cw_valid_tag("c++"));
    assert_true(cw_valid_tag("c#"));
    assert_true(cw_valid_tag("a:b"));
    assert_true(cw_valid_tag("a-b-c"));
    assert_true(cw_valid_tag("go1"));
    rep(s, 't', 63);
    assert_true(cw_valid_tag(s));
    rep(s, 't', 64);
    assert_false(cw_valid_tag(s));
    assert_false(cw_valid_tag(""));
    assert_false(cw_valid_tag("Java"));
    assert_false(cw_valid_tag("go 1.15.3"));
    assert_false(cw_valid_tag("go1.15"));
    assert_false(cw_valid_tag("a--b"));
    assert_false(cw_valid_tag("-a"));
    assert_false(cw_valid_tag("a-"));
    assert_false(cw_valid_tag("a_b"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ref_parse_backstage_cases),
        cmocka_unit_test(test_ref_parse_errors),
        cmocka_unit_test(test_ref_parse_lengths),
        cmocka_unit_test(test_ref_format_and_key),
        cmocka_unit_test(test_entity_ref),
        cmocka_unit_test(test_kind_canonical),
        cmocka_unit_test(test_valid_name),
        cmocka_unit_test(test_valid_namespace),
        cmocka_unit_test(test_valid_kind),
        cmocka_unit_test(test_valid_api_version),
        cmocka_unit_test(test_valid_label_key_value),
        cmocka_unit_test(test_valid_tag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
