/*
 * test_codeowners.c — CODEOWNERS parsing and matching: every case of the
 * hmarr/codeowners vectors (tests/data/codeowners/patterns.json), GitHub's
 * documented examples and rules (last match wins, owner-less lines, inline
 * comments, invalid lines, the 3 MB limit), root owners and the comparison
 * with a catalog owner (codeowners-mismatch).
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

#include "ingest/codeowners.h"

static cw_codeowners *parse_ok(const char *text)
{
    cw_codeowners *co = NULL;
    cw_diag d = {""};
    cw_err err = cw_codeowners_parse(text, strlen(text), &co, &d);
    if (err)
        fail_msg("parse failed: %s", d.msg);
    assert_non_null(co);
    return co;
}

/* Owners of path joined by ' ', "" when unowned. */
static const char *owners(const cw_codeowners *co, const char *path)
{
    static char buf[512];
    size_t n = 0;
    char *const *o = cw_codeowners_owners_of(co, path, &n);
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, sizeof buf - len, "%s%s", i ? " " : "", o[i]);
    }
    if (n == 0)
        assert_null(o);
    return buf;
}

static bool pattern_matches(const char *pattern, const char *path)
{
    bool m = false;
    cw_diag d = {""};
    cw_err err = cw_codeowners_pattern_match(pattern, path, &m, &d);
    if (err)
        fail_msg("pattern %s: %s", pattern, d.msg);
    return m;
}

static void test_shared_vectors(void **state)
{
    (void)state;
    json_error_t jerr;
    json_t *cases = json_load_file(CONWAY_TEST_DATA "/codeowners/patterns.json", 0, &jerr);
    if (!cases)
        fail_msg("patterns.json: %s", jerr.text);
    assert_true(json_is_array(cases));
    assert_int_equal(json_array_size(cases), 30);
    size_t i, checked = 0, failures = 0;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *pattern = json_string_value(json_object_get(c, "pattern"));
        assert_non_null(pattern);
        /* Also through a parsed file, as a rule with one owner. */
        char line[256];
        snprintf(line, sizeof line, "%s @owner\n", pattern);
        cw_codeowners *co = parse_ok(line);
        assert_int_equal(co->nrules, 1);
        assert_int_equal(co->nerrors, 0);
        const char *path;
        json_t *expected;
        json_object_foreach(json_object_get(c, "paths"), path, expected) {
            bool want = json_is_true(expected);
            bool got = pattern_matches(pattern, path);
            bool via_file = cw_codeowners_owners_of(co, path, NULL) != NULL;
            if (got != want || via_file != want) {
                print_error("case \"%s\": pattern %s, path %s: expected %s, got %s/%s\n", name,
                            pattern, path, want ? "match" : "no match", got ? "match" : "no",
                            via_file ? "match" : "no");
                failures++;
            }
            checked++;
        }
        cw_codeowners_free(co);
    }
    json_decref(cases);
    assert_int_equal(failures, 0);
    assert_true(checked >= 150);
}

static void test_github_doc_examples(void **state)
{
    (void)state;
    cw_codeowners *co = parse_ok(
        "# This is a comment.\n"
        "*       @global-owner1 @global-owner2\n"
        "*.js    @js-owner #This is an inline comment.\n"
        "*.go docs@example.com\n"
        "*.txt @octo-org/octocats\n"
        "/build/logs/ @doctocat\n"
        "docs/*  docs@example.com\n"
        "apps/ @octocat\n"
        "/docs/ @doctocat\n"
        "/scripts/ @doctocat @octocat\n"
        "**/logs @octocat\n"
        "/apps/ @octocat\n"
        "/apps/github\n");
    assert_int_equal(co->nerrors, 0);
    assert_int_equal(co->nrules, 12);
    assert_string_equal(owners(co, "README.md"), "@global-owner1 @global-owner2");
    assert_string_equal(owners(co, "src/app.js"), "@js-owner");
    assert_string_equal(owners(co, "main.go"), "docs@example.com");
    assert_string_equal(owners(co, "notes/a.txt"), "@octo-org/octocats");
    /* /build/logs/ is also matched by the later **\/logs rule. */
    assert_string_equal(owners(co, "build/logs/x.log"), "@octocat");
    assert_string_equal(owners(co, "deeply/nested/logs/x"), "@octocat");
    /* "/docs/" comes after "docs/<star>" and wins for everything in docs. */
    assert_string_equal(owners(co, "docs/getting-started.md"), "@doctocat");
    assert_string_equal(owners(co, "docs/build-app/troubleshooting.md"), "@doctocat");
    assert_string_equal(owners(co, "scripts/deploy.sh"), "@doctocat @octocat");
    assert_string_equal(owners(co, "web/apps/x.ts"), "@octocat");
    /* The last matching line has no owners: unowned, no fallback. */
    assert_string_equal(owners(co, "apps/github"), "");
    assert_string_equal(owners(co, "apps/github/deep/file.rb"), "");
    assert_null(cw_codeowners_match(co, ""));
    const cw_codeowners_rule *r = cw_codeowners_match(co, "apps/github/x");
    assert_non_null(r);
    assert_int_equal(r->line, 13);
    assert_int_equal(r->nowners, 0);
    cw_codeowners_free(co);
}

static void test_docs_star_direct_children(void **state)
{
    (void)state;
    cw_codeowners *co = parse_ok("docs/* @docs\n");
    assert_string_equal(owners(co, "docs/getting-started.md"), "@docs");
    assert_string_equal(owners(co, "docs/build-app/troubleshooting.md"), "");
    assert_string_equal(owners(co, "other/docs/x.md"), "");
    cw_codeowners_free(co);
}

static void test_last_match_wins_no_merge(void **state)
{
    (void)state;
    cw_codeowners *co = parse_ok("* @a @b\n/src/ @c\n/src/*.c @d\n");
    assert_string_equal(owners(co, "src/x.c"), "@d");
    assert_string_equal(owners(co, "src/x.h"), "@c");
    assert_string_equal(owners(co, "Makefile"), "@a @b");
    cw_codeowners_free(co);
}

static void test_whitespace_crlf_comments(void **state)
{
    (void)state;
    cw_codeowners *co = parse_ok("\r\n   # indented comment\r\n\t*.md\t@writers  # docs\r\n"
                                 "  \t  \r\n/bin/ @ops#not-a-comment-start\n/lib/ @ops #\n");
    /* "@ops#not-a-comment-start" is one token and not a valid owner. */
    assert_int_equal(co->nrules, 2);
    assert_int_equal(co->nerrors, 1);
    assert_int_equal(co->errors[0].line, 5);
    assert_non_null(strstr(co->errors[0].detail, "invalid owner"));
    assert_string_equal(owners(co, "a/b/c.md"), "@writers");
    assert_string_equal(owners(co, "lib/x"), "@ops");
    assert_string_equal(owners(co, "bin/x"), "");
    assert_int_equal(co->rules[0].line, 3);
    cw_codeowners_free(co);
}

static void test_escapes_and_case(void **state)
{
    (void)state;
    cw_codeowners *co = parse_ok("my\\ file.txt @space\nREADME @upper\n\\#hash @h\n"
                                 "f\\[x\\] @br\n");
    assert_string_equal(owners(co, "my file.txt"), "@space");
    assert_string_equal(owners(co, "dir/my file.txt"), "@space");
    assert_string_equal(owners(co, "my"), "");
    assert_string_equal(owners(co, "README"), "@upper");
    assert_string_equal(owners(co, "readme"), "");
    assert_string_equal(owners(co, "f[x]"), "@br");
    /* Escaping a leading '#' is not supported by GitHub: reported, skipped. */
    assert_int_equal(co->nerrors, 1);
    assert_int_equal(co->errors[0].line, 3);
    assert_non_null(strstr(co->errors[0].detail, "leading '#'"));
    cw_codeowners_free(co);
    assert_true(pattern_matches("f?o", "f\xc3\xa9o"));  /* '?' is one character */
    assert_false(pattern_matches("f?o", "fo"));
    assert_true(pattern_matches("a***b", "axyzb"));     /* "***" is a plain '*' */
    assert_false(pattern_matches("a***b", "ax/yb"));
    assert_true(pattern_matches("/a/**/b/**", "a/b/c"));
    assert_false(pattern_matches("/a/**/b/**", "a/b"));
    assert_true(pattern_matches("**", "any/thing"));
    assert_true(pattern_matches("/**", "x"));
    assert_true(pattern_matches("/src", "/src/main.c"));  /* a leading '/' on a path is ignored */
    assert_false(pattern_matches("*", "/"));
}

static void expect_invalid_line(const char *text, const char *needle)
{
    cw_codeowners *co = parse_ok(text);
    assert_int_equal(co->nrules, 1); /* the valid "* @base" line */
    assert_int_equal(co->nerrors, 1);
    assert_int_equal(co->errors[0].line, 2);
    if (!strstr(co->errors[0].detail, needle))
        fail_msg("%s: detail \"%s\" lacks \"%s\"", text, co->errors[0].detail, needle);
    /* The invalid line is skipped: the earlier rule still applies. */
    assert_string_equal(owners(co, "x/y"), "@base");
    cw_codeowners_free(co);
}

static void test_invalid_lines(void **state)
{
    (void)state;
    expect_invalid_line("* @base\n!x/y @neg\n", "negation");
    expect_invalid_line("* @base\nx/y @bad owner\n", "invalid owner \"owner\"");
    expect_invalid_line("* @base\nx/y @org/team/extra\n", "invalid owner");
    expect_invalid_line("* @base\nx/y not-an-email@\n", "invalid owner");
    expect_invalid_line("* @base\nx/y a@b.c\n", "invalid owner");  /* TLD of one letter */
    expect_invalid_line("* @base\nx/y\\\n", "unfinished escape");
    expect_invalid_line("* @base\n/ @root\n", "names no file");

    bool m;
    cw_diag d = {""};
    assert_int_equal(cw_codeowners_pattern_match("!foo", "foo", &m, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "negation"));
}

static void test_nul_line_counted(void **state)
{
    (void)state;
    static const char text[] = "* @base\nx/\0y @nul\n*.c @c\n";
    cw_codeowners *co = NULL;
    cw_diag d = {""};
    assert_int_equal(cw_codeowners_parse(text, sizeof text - 1, &co, &d), CW_OK);
    assert_int_equal(co->nrules, 2);
    assert_int_equal(co->nerrors, 1);
    assert_int_equal(co->errors[0].line, 2);
    assert_string_equal(owners(co, "a.c"), "@c");
    cw_codeowners_free(co);
}

static void test_owner_kinds(void **state)
{
    (void)state;
    assert_int_equal(cw_codeowner_classify("@octocat"), CW_CODEOWNER_USER);
    assert_int_equal(cw_codeowner_classify("@my_user-1"), CW_CODEOWNER_USER);
    assert_int_equal(cw_codeowner_classify("@octo-org/octocats"), CW_CODEOWNER_TEAM);
    assert_int_equal(cw_codeowner_classify("@octo-org/team_x"), CW_CODEOWNER_TEAM);
    assert_int_equal(cw_codeowner_classify("@octo_org/team"), CW_CODEOWNER_INVALID);
    assert_int_equal(cw_codeowner_classify("@/team"), CW_CODEOWNER_INVALID);
    assert_int_equal(cw_codeowner_classify("@org/"), CW_CODEOWNER_INVALID);
    assert_int_equal(cw_codeowner_classify("@"), CW_CODEOWNER_INVALID);
    assert_int_equal(cw_codeowner_classify("docs@example.com"), CW_CODEOWNER_EMAIL);
    assert_int_equal(cw_codeowner_classify("a.b+c%d_e-f@sub.example.co.uk"), CW_CODEOWNER_EMAIL);
    assert_int_equal(cw_codeowner_classify("a@example.toolongtld"), CW_CODEOWNER_INVALID);
    assert_int_equal(cw_codeowner_classify("a@.com"), CW_CODEOWNER_INVALID);
    assert_int_equal(cw_codeowner_classify("@example.com"), CW_CODEOWNER_INVALID);
    assert_int_equal(cw_codeowner_classify("plain"), CW_CODEOWNER_INVALID);

    char ref[CW_REF_MAX];
    assert_true(cw_codeowner_to_ref("@acme/Payments-Team", NULL, ref));
    assert_string_equal(ref, "group:default/Payments-Team");
    assert_true(cw_codeowner_to_ref("@alice", "finance", ref));
    assert_string_equal(ref, "user:finance/alice");
    assert_false(cw_codeowner_to_ref("ops@example.com", NULL, ref));
    char longteam[100] = "@org/";
    memset(longteam + 5, 't', 64);
    longteam[69] = '\0';
    assert_false(cw_codeowner_to_ref(longteam, NULL, ref));
}

static void test_size_limit(void **state)
{
    (void)state;
    size_t n = CW_CODEOWNERS_MAX_BYTES;
    char *big = malloc(n);
    assert_non_null(big);
    /* Comment lines of 99 '#' and a newline. */
    for (size_t i = 0; i < n; i++)
        big[i] = (i % 100 == 99) ? '\n' : '#';
    cw_codeowners *co = NULL;
    cw_diag d = {""};
    assert_int_equal(cw_codeowners_parse(big, n, &co, &d), CW_ERR_TOO_LARGE);
    assert_null(co);
    assert_non_null(strstr(d.msg, "3 MB"));
    assert_int_equal(cw_codeowners_parse(big, n - 1, &co, &d), CW_OK);
    assert_int_equal(co->nrules, 0);
    assert_int_equal(co->nerrors, 0);
    cw_codeowners_free(co);
    free(big);
}

static void test_many_errors_bounded(void **state)
{
    (void)state;
    static const char line[] = "!x @a\n";
    size_t ll = sizeof line - 1;
    char *text = malloc(150 * ll + 1);
    assert_non_null(text);
    for (size_t i = 0; i < 150; i++)
        memcpy(text + i * ll, line, ll);
    text[150 * ll] = '\0';
    cw_codeowners *co = parse_ok(text);
    assert_int_equal(co->nerrors, CW_CODEOWNERS_MAX_ERRORS);
    assert_int_equal(co->errors_dropped, 150 - CW_CODEOWNERS_MAX_ERRORS);
    assert_int_equal(co->errors[99].line, 100);
    cw_codeowners_free(co);
    free(text);
}

static void test_root_owners(void **state)
{
    (void)state;
    size_t n = 0;
    char *const *o;

    cw_codeowners *co = parse_ok("* @acme/platform @bob\n*.md @writers\n/README @docs\n");
    o = cw_codeowners_root_owners(co, &n);
    assert_int_equal(n, 2);
    assert_string_equal(o[0], "@acme/platform");
    assert_int_equal(cw_codeowners_root_rule(co)->line, 1);
    cw_codeowners_free(co);

    /* No catch-all rule: the root has no default owner. */
    co = parse_ok("/src/ @dev\n*.md @writers\n*/ @dirs\n");
    assert_null(cw_codeowners_root_rule(co));
    assert_null(cw_codeowners_root_owners(co, &n));
    assert_int_equal(n, 0);
    cw_codeowners_free(co);

    /* A later owner-less catch-all leaves the root unowned. */
    co = parse_ok("* @a\n/** \n");
    assert_int_equal(cw_codeowners_root_rule(co)->line, 2);
    assert_null(cw_codeowners_root_owners(co, &n));
    cw_codeowners_free(co);

    static const char *const roots[] = {"/*", "**", "/**", "**/*", "/**/*", "*"};
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "%s @r\n/docs/ @d\n", roots[i]);
        co = parse_ok(text);
        o = cw_codeowners_root_owners(co, &n);
        if (n != 1)
            fail_msg("%s should give the root an owner", roots[i]);
        assert_string_equal(o[0], "@r");
        cw_codeowners_free(co);
    }
}

static json_t *component(const char *name, const char *ns, const char *owner)
{
    json_t *e = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s}}", "apiVersion",
                          "backstage.io/v1alpha1", "kind", "Component", "metadata", "name", name,
                          "spec", "type", "service", "lifecycle", "production");
    if (ns)
        json_object_set_new(json_object_get(e, "metadata"), "namespace", json_string(ns));
    if (owner)
        json_object_set_new(json_object_get(e, "spec"), "owner", json_string(owner));
    return e;
}

static json_t *check(const char *text, json_t *entity)
{
    cw_codeowners *co = parse_ok(text);
    json_t *f = NULL;
    cw_diag d = {""};
    cw_err err = cw_codeowners_check_owner(co, entity, &f, &d);
    if (err)
        fail_msg("check: %s", d.msg);
    cw_codeowners_free(co);
    json_decref(entity);
    return f;
}

static const char *detail(const json_t *f)
{
    return json_string_value(json_object_get(f, "detail"));
}

static void test_mismatch(void **state)
{
    (void)state;
    json_t *f;
    /* Agreement: the team part of @org/team names the group, any case. */
    assert_null(check("* @acme/Payments-Team\n", component("pay", NULL, "payments-team")));
    assert_null(check("* @acme/payments-team\n",
                      component("pay", NULL, "group:default/payments-team")));
    /* One of several root owners is enough. */
    assert_null(check("* ops@example.com @acme/sre @acme/payments\n",
                      component("pay", NULL, "payments")));
    /* A user owner maps to a user of that name. */
    assert_null(check("* @alice\n", component("pay", NULL, "user:alice")));
    /* Owners map in the entity's namespace. */
    assert_null(check("* @acme/payments\n", component("pay", "finance", "payments")));
    f = check("* @acme/payments\n", component("pay", "finance", "group:default/payments"));
    assert_non_null(f);
    json_decref(f);

    f = check("# default owners\n* @acme/platform ops@example.com\n/src/ @acme/payments\n",
              component("pay-api", NULL, "payments"));
    assert_non_null(f);
    assert_string_equal(json_string_value(json_object_get(f, "rule")), "codeowners-mismatch");
    assert_string_equal(json_string_value(json_object_get(f, "severity")), "warning");
    assert_string_equal(json_string_value(json_object_get(f, "entityRef")),
                        "component:default/pay-api");
    assert_string_equal(json_string_value(json_object_get(f, "owner")),
                        "group:default/payments");
    assert_int_equal(json_integer_value(json_object_get(f, "line")), 2);
    assert_int_equal(json_array_size(json_object_get(f, "rootOwners")), 2);
    assert_string_equal(detail(f),
                        "the catalog owner group:default/payments is not among the owners of "
                        "the repository root in CODEOWNERS (line 2: @acme/platform = "
                        "group:default/platform, ops@example.com = no catalog equivalent)");
    json_decref(f);

    f = check("/src/ @acme/payments\n", component("pay", NULL, "payments"));
    assert_non_null(f);
    assert_non_null(strstr(detail(f), "no default owner"));
    assert_non_null(strstr(detail(f), "group:default/payments"));
    assert_null(json_object_get(f, "line"));
    json_decref(f);

    f = check("* @acme/payments\n*\n", component("pay", NULL, "payments"));
    assert_non_null(f);
    assert_non_null(strstr(detail(f), "unowned (line 2 has no owners)"));
    json_decref(f);

    f = check("* @acme/payments\n", component("pay", NULL, NULL));
    assert_non_null(f);
    assert_non_null(strstr(detail(f), "the catalog names no owner"));
    assert_null(json_object_get(f, "owner"));
    json_decref(f);

    /* Nothing on either side: nothing to compare. */
    assert_null(check("/src/ @a\n", component("pay", NULL, NULL)));
}

static void test_report(void **state)
{
    (void)state;
    cw_codeowners *co = parse_ok("* @acme/platform\n!bad @x\n/src/ @acme/payments\n");
    json_t *e = component("pay-api", NULL, "payments");
    json_t *r = NULL;
    cw_diag d = {""};
    assert_int_equal(cw_codeowners_report(co, e, &r, &d), CW_OK);
    assert_string_equal(json_string_value(json_object_get(r, "entityRef")),
                        "component:default/pay-api");
    assert_int_equal(json_integer_value(json_object_get(r, "rules")), 2);
    assert_int_equal(json_integer_value(json_object_get(r, "rootLine")), 1);
    json_t *errs = json_object_get(r, "errors");
    assert_int_equal(json_array_size(errs), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(errs, 0), "line")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(r, "rootOwners"), 0)),
                        "@acme/platform");
    assert_int_equal(json_array_size(json_object_get(r, "findings")), 1);
    json_decref(r);

    /* An entity without kind/name is rejected, naming the field. */
    json_t *bad = json_pack("{s:{}}", "metadata");
    assert_int_equal(cw_codeowners_report(co, bad, &r, &d), CW_ERR_INVALID);
    assert_null(r);
    assert_non_null(strstr(d.msg, "kind"));
    json_decref(bad);
    json_decref(e);
    cw_codeowners_free(co);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_vectors),
        cmocka_unit_test(test_github_doc_examples),
        cmocka_unit_test(test_docs_star_direct_children),
        cmocka_unit_test(test_last_match_wins_no_merge),
        cmocka_unit_test(test_whitespace_crlf_comments),
        cmocka_unit_test(test_escapes_and_case),
        cmocka_unit_test(test_invalid_lines),
        cmocka_unit_test(test_nul_line_counted),
        cmocka_unit_test(test_owner_kinds),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_many_errors_bounded),
        cmocka_unit_test(test_root_owners),
        cmocka_unit_test(test_mismatch),
        cmocka_unit_test(test_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
