/* test_output.c — the CLI's table cells and YAML (src/cli/output.c): YAML
 * that reads back as the same document (nested objects, arrays of objects,
 * empty collections, strings that YAML would otherwise take for other
 * types), sorted keys, and table cells. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "catalog/catalog.h"
#include "cli/output.h"

static void expect_yaml(const char *json, const char *want)
{
    json_error_t je;
    json_t *doc = json_loads(json, JSON_DECODE_ANY, &je);
    assert_non_null(doc);
    cw_buf b;
    cw_buf_init(&b, 0);
    cw_out_yaml(&b, doc);
    assert_int_equal(cw_buf_error(&b), CW_OK);
    if (strcmp(b.data, want) != 0)
        fail_msg("YAML of %s:\n%s\nwanted:\n%s", json, b.data, want);
    cw_buf_free(&b);
    json_decref(doc);
}

static void test_yaml_shapes(void **state)
{
    (void)state;
    expect_yaml("{\"b\": 1, \"a\": \"yes\", \"c\": null}", "a: \"yes\"\nb: 1\nc: null\n");
    expect_yaml("{\"spec\": {\"owner\": \"team-a\", \"tags\": [\"x\", \"y\"]}, \"e\": [], \"o\": {}}",
                "e: []\no: {}\nspec:\n  owner: \"team-a\"\n  tags:\n  - \"x\"\n  - \"y\"\n");
    expect_yaml("[{\"id\": 1, \"n\": {\"k\": true}}, {\"id\": 2}]",
                "- id: 1\n  n:\n    k: true\n- id: 2\n");
    expect_yaml("{\"checks\": [{\"a\": 1, \"b\": [1, 2]}]}",
                "checks:\n- a: 1\n  b:\n  - 1\n  - 2\n");
    expect_yaml("{\"key with space\": \"line\\nbreak\"}", "\"key with space\": \"line\\nbreak\"\n");
    expect_yaml("[]", "[]\n");
    expect_yaml("\"text\"", "\"text\"\n");
    expect_yaml("[[1, 2], 3]", "-\n  - 1\n  - 2\n- 3\n");
    expect_yaml("{\"m\": [[\"a\"], {\"k\": []}]}", "m:\n-\n  - \"a\"\n- k: []\n");
}

/* conway's own YAML 1.2 reader (catalog/parse.c) reads the YAML back as
 * the very document: strings stay strings, numbers numbers. */
static void test_yaml_round_trip(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{\"m\": [[\"a\", {\"x\": [1, {\"y\": \"z\"}]}], {\"k\": []}], \"q\": {\"r\": [[[]]]}}",
        "[[[\"deep\"]], {\"a\": {\"b\": {\"c\": [1.5, -2, 0.1]}}}, \"no\", \"0o17\", \"null\"]",
        "{\"key: colon\": \"- dash\", \"#\": \"# hash\", \"u\": \"\u00e9\u2603\", \"t\": true, \"n\": null}",
        "{\"lastUsed\": null, \"sources\": [], \"id\": 12, \"created\": \"2026-12-07T00:21:38Z\"}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        json_error_t je;
        json_t *doc = json_loads(docs[i], 0, &je);
        assert_non_null(doc);
        cw_buf b;
        cw_buf_init(&b, 0);
        cw_out_yaml(&b, doc);
        json_t *back = NULL;
        cw_diag d = {{0}};
        if (cw_parse_documents(b.data, b.len, NULL, &back, &d) != CW_OK)
            fail_msg("%s\n%s", d.msg, b.data);
        if (!json_equal(json_array_get(back, 0), doc))
            fail_msg("read back differently:\n%s", b.data);
        json_decref(back);
        json_decref(doc);
        cw_buf_free(&b);
    }
}

static void expect_cell(const char *json, const char *want)
{
    json_error_t je;
    json_t *v = json_loads(json, JSON_DECODE_ANY, &je);
    assert_non_null(v);
    cw_buf b;
    cw_buf_init(&b, 0);
    cw_out_cell(&b, v);
    assert_string_equal(b.data ? b.data : "", want);
    cw_buf_free(&b);
    json_decref(v);
}

static void test_cells(void **state)
{
    (void)state;
    expect_cell("\"a\\tb\\u001b[31m\"", "a?b?[31m"); /* no control character reaches a terminal */
    expect_cell("0.038377000000000001", "0.03838");
    expect_cell("12", "12");
    expect_cell("[\"x\", \"y\", 3]", "x,y,3");
    expect_cell("[]", "-");
    expect_cell("\"\"", "-");
    expect_cell("null", "-");
    expect_cell("true", "yes");
    expect_cell("{\"p50\": 1, \"p90\": 2}", "p50=1 p90=2");
}

static void test_paths(void **state)
{
    (void)state;
    json_t *row = json_pack("{s:{s:s}, s:i}", "spec", "owner", "team-a", "n", 3);
    assert_string_equal(json_string_value(cw_out_at(row, "spec.owner")), "team-a");
    assert_null(cw_out_at(row, "spec.system"));
    assert_null(cw_out_at(row, "n.deeper"));
    assert_ptr_equal(cw_out_at(row, ""), row);
    json_decref(row);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml_shapes),
        cmocka_unit_test(test_yaml_round_trip),
        cmocka_unit_test(test_cells),
        cmocka_unit_test(test_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
