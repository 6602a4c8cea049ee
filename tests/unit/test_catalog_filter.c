/*
 * test_catalog_filter.c — Backstage `filter=` parsing into cw_filter, the
 * conditions the HTTP layer adds (generic and conway's native parameters),
 * and the bounds on untrusted filter input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "catalog/filter.h"
#include "util/buf.h"

static const cw_filter_cond *cond(const cw_filter *f, size_t clause, const char *key)
{
    assert_true(clause < f->n);
    const cw_filter_clause *c = &f->clauses[clause];
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->conds[i].key, key) == 0)
            return &c->conds[i];
    return NULL;
}

static cw_filter_owned *parse_ok(const char *const *params, size_t n)
{
    cw_filter_owned *f = NULL;
    cw_diag d = {""};
    if (cw_filter_parse_backstage(params, n, &f, &d) != CW_OK)
        fail_msg("parse failed: %s", d.msg);
    assert_non_null(f);
    return f;
}

static void expect_invalid(const char *param, const char *needle)
{
    cw_filter_owned *f = (cw_filter_owned *)1;
    cw_diag d = {""};
    assert_int_equal(cw_filter_parse_backstage(&param, 1, &f, &d), CW_ERR_INVALID);
    assert_null(f);
    if (!strstr(d.msg, needle))
        fail_msg("filter \"%s\": message \"%s\" lacks \"%s\"", param, d.msg, needle);
}

static void test_parse_clauses(void **state)
{
    (void)state;
    const char *params[] = {" Kind = Component , spec.TYPE=service,spec.type=Website ",
                            "metadata.annotations.backstage.io/x", "kind=api,kind"};
    cw_filter_owned *f = parse_ok(params, 3);
    const cw_filter *flt = &f->filter;
    assert_int_equal(flt->n, 3);

    assert_int_equal(flt->clauses[0].n, 2);
    const cw_filter_cond *c = cond(flt, 0, "kind");
    assert_non_null(c);
    assert_int_equal(c->nvalues, 1);
    assert_string_equal(c->values[0], "component");
    c = cond(flt, 0, "spec.type");
    assert_non_null(c);
    assert_int_equal(c->nvalues, 2);
    assert_string_equal(c->values[0], "service");
    assert_string_equal(c->values[1], "website");

    assert_int_equal(flt->clauses[1].n, 1);
    c = cond(flt, 1, "metadata.annotations.backstage.io/x");
    assert_non_null(c);
    assert_int_equal(c->nvalues, 0);

    /* a bare key next to values of the same key: the values decide */
    assert_int_equal(flt->clauses[2].n, 1);
    c = cond(flt, 2, "kind");
    assert_int_equal(c->nvalues, 1);
    assert_string_equal(c->values[0], "api");
    cw_filter_owned_free(f);

    /* values may contain '=' (only the first one splits) */
    const char *eqp = "metadata.annotations.a=b=c";
    f = parse_ok(&eqp, 1);
    assert_string_equal(cond(&f->filter, 0, "metadata.annotations.a")->values[0], "b=c");
    cw_filter_owned_free(f);
}

static void test_parse_empty_means_all(void **state)
{
    (void)state;
    cw_filter_owned *f = parse_ok(NULL, 0);
    assert_int_equal(f->filter.n, 0);
    cw_filter_owned_free(f);
    cw_filter_owned_free(NULL);
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_invalid("", "filter 1 is empty");
    expect_invalid("   ", "filter 1 is empty");
    expect_invalid("kind=a,,spec.type=b", "filter 1: condition 2 is empty");
    expect_invalid("kind=a,", "condition 2 is empty");
    expect_invalid(",kind=a", "condition 1 is empty");
    expect_invalid("=x", "empty key");
    expect_invalid(" = x", "empty key");
    expect_invalid("kind=", "condition 1 \"kind=\": empty value");
    expect_invalid("kind=a\nb", "control character");

    char key[300];
    memset(key, 'k', 201);
    key[201] = '\0';
    expect_invalid(key, "longer than 200");
    memset(key, 'k', 200);
    key[200] = '\0';
    cw_filter_owned *f = parse_ok((const char *const[]){key}, 1);
    cw_filter_owned_free(f);
    char kv[300] = "k=";
    memset(kv + 2, 'v', 201);
    kv[203] = '\0';
    expect_invalid(kv, "value \"vvvv");

    cw_buf b;
    cw_buf_init(&b, 0);
    for (int i = 0; i < 100; i++)
        cw_buf_printf(&b, "%sk%d=v", i ? "," : "", i);
    f = parse_ok((const char *const[]){cw_buf_cstr(&b)}, 1);
    assert_int_equal(f->filter.clauses[0].n, 100);
    cw_filter_owned_free(f);
    cw_buf_puts(&b, ",k=v");
    expect_invalid(cw_buf_cstr(&b), "more than 100 conditions");
    cw_buf_free(&b);

    const char *many[101];
    for (int i = 0; i < 101; i++)
        many[i] = "kind=a";
    f = (cw_filter_owned *)1;
    cw_diag d;
    assert_int_equal(cw_filter_parse_backstage(many, 101, &f, &d), CW_ERR_INVALID);
    assert_null(f);
    assert_non_null(strstr(d.msg, "more than 100 filters"));
    f = parse_ok(many, 100);
    assert_int_equal(f->filter.n, 100);
    cw_filter_owned_free(f);

    const char *with_null[] = {"kind=a", NULL};
    assert_int_equal(cw_filter_parse_backstage(with_null, 2, &f, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "filter 2 is empty"));
}

static void test_add_condition(void **state)
{
    (void)state;
    cw_diag d;
    /* onto no clauses: creates the single clause */
    cw_filter_owned *f = parse_ok(NULL, 0);
    assert_int_equal(cw_filter_add_condition(f, "Kind", " Component ", &d), CW_OK);
    assert_int_equal(cw_filter_add_condition(f, "metadata.uid", NULL, &d), CW_OK);
    assert_int_equal(f->filter.n, 1);
    assert_int_equal(f->filter.clauses[0].n, 2);
    assert_string_equal(cond(&f->filter, 0, "kind")->values[0], "component");
    assert_int_equal(cond(&f->filter, 0, "metadata.uid")->nvalues, 0);
    assert_int_equal(cw_filter_add_condition(f, "", "x", &d), CW_ERR_INVALID);
    assert_int_equal(cw_filter_add_condition(f, "k", "", &d), CW_ERR_INVALID);
    assert_int_equal(f->filter.clauses[0].n, 2); /* unchanged by failures */
    cw_filter_owned_free(f);

    /* onto parsed clauses: ANDed into every one */
    const char *params[] = {"kind=component", "kind=api,spec.type=grpc"};
    f = parse_ok(params, 2);
    assert_int_equal(cw_filter_add_condition(f, "metadata.namespace", "default", &d), CW_OK);
    const char *vals[] = {"a", "B"};
    assert_int_equal(cw_filter_add_any(f, "metadata.name", vals, 2, &d), CW_OK);
    for (size_t i = 0; i < 2; i++) {
        assert_string_equal(cond(&f->filter, i, "metadata.namespace")->values[0], "default");
        const cw_filter_cond *c = cond(&f->filter, i, "metadata.name");
        assert_int_equal(c->nvalues, 2);
        assert_string_equal(c->values[1], "b");
    }
    assert_int_equal(f->filter.clauses[0].n, 3);
    assert_int_equal(f->filter.clauses[1].n, 4);
    cw_filter_owned_free(f);
}

static void test_native_params(void **state)
{
    (void)state;
    cw_diag d = {""};
    cw_filter_owned *f = parse_ok(NULL, 0);
    assert_true(cw_filter_is_native_param("owner"));
    assert_true(cw_filter_is_native_param("kind"));
    assert_false(cw_filter_is_native_param("filter"));
    assert_false(cw_filter_is_native_param(NULL));
    assert_int_equal(cw_filter_add_native(f, "kind", "Component", &d), CW_OK);
    assert_int_equal(cw_filter_add_native(f, "namespace", "prod", &d), CW_OK);
    assert_int_equal(cw_filter_add_native(f, "owner", "Team-A", &d), CW_OK);
    assert_int_equal(cw_filter_add_native(f, "system", "other/Sys", &d), CW_OK);
    assert_int_equal(cw_filter_add_native(f, "type", "service", &d), CW_OK);
    assert_int_equal(cw_filter_add_native(f, "lifecycle", "production", &d), CW_OK);
    assert_int_equal(cw_filter_add_native(f, "tag", "java", &d), CW_OK);
    const cw_filter *flt = &f->filter;
    assert_string_equal(cond(flt, 0, "kind")->values[0], "component");
    assert_string_equal(cond(flt, 0, "metadata.namespace")->values[0], "prod");
    assert_string_equal(cond(flt, 0, "relations.ownedby")->values[0], "group:default/team-a");
    assert_string_equal(cond(flt, 0, "relations.partof")->values[0], "system:other/sys");
    assert_string_equal(cond(flt, 0, "spec.type")->values[0], "service");
    assert_string_equal(cond(flt, 0, "spec.lifecycle")->values[0], "production");
    assert_string_equal(cond(flt, 0, "metadata.tags")->values[0], "java");

    assert_int_equal(cw_filter_add_native(f, "owner", "user:bob", &d), CW_OK);
    assert_string_equal(flt->clauses[0].conds[flt->clauses[0].n - 1].values[0],
                        "user:default/bob");
    assert_int_equal(cw_filter_add_native(f, "owner", "a:", &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "owner: entity reference"));
    assert_int_equal(cw_filter_add_native(f, "color", "red", &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "\"color\" is not a filter parameter"));
    cw_filter_owned_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_clauses),
        cmocka_unit_test(test_parse_empty_means_all),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_add_condition),
        cmocka_unit_test(test_native_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
