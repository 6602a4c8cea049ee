/*
 * test_catalog_parse.c — YAML/JSON catalog input: multi-document streams,
 * YAML 1.2 core-schema typing, keys, anchors and merge keys, syntax error
 * positions, and the limits (depth, nodes after alias expansion, documents)
 * that must stop hostile input early.
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
#include "util/buf.h"

static cw_err parse(const char *text, const cw_parse_limits *lim, json_t **out, cw_diag *d)
{
    d->msg[0] = '\0';
    return cw_parse_documents(text, strlen(text), lim, out, d);
}

static json_t *parse_ok(const char *text)
{
    json_t *docs = NULL;
    cw_diag d;
    cw_err err = parse(text, NULL, &docs, &d);
    if (err)
        fail_msg("parse failed (%s): %s", cw_err_name(err), d.msg);
    assert_true(json_is_array(docs));
    return docs;
}

static void expect_fail(const char *text, const cw_parse_limits *lim, cw_err want,
                        const char *needle)
{
    json_t *docs = (json_t *)1;
    cw_diag d;
    cw_err err = parse(text, lim, &docs, &d);
    if (err != want)
        fail_msg("want %s, got %s (%s) for: %.60s", cw_err_name(want), cw_err_name(err),
                 d.msg, text);
    assert_null(docs);
    if (needle && !strstr(d.msg, needle))
        fail_msg("message \"%s\" lacks \"%s\"", d.msg, needle);
}

static void test_multi_document(void **state)
{
    (void)state;
    json_t *docs = parse_ok("a: 1\n---\nb: 2\n---\n---\n# only a comment\n...\n---\nc: 3\n");
    assert_int_equal(json_array_size(docs), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(docs, 0), "a")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(docs, 2), "c")), 3);
    json_decref(docs);

    docs = parse_ok("");
    assert_int_equal(json_array_size(docs), 0);
    json_decref(docs);
    docs = parse_ok("---\nnull\n---\n~\n");
    assert_int_equal(json_array_size(docs), 0);
    json_decref(docs);
}

static void test_scalar_typing(void **state)
{
    (void)state;
    json_t *docs = parse_ok("t: true\nT: True\nf: FALSE\nn: null\nt2: ~\ne:\n"
                            "i: 12\nneg: -3\npos: +4\noct: 0o17\nhex: 0x1F\nlead: 0777\n"
                            "fl: 1.5\nexp: 1e3\ndot: .5\ninf: .inf\nnan: .NaN\nyes: yes\n"
                            "q: \"12\"\nsq: '1.0'\nstr: !!str 12\nns: ! 12\ntint: !!int \"12\"\n"
                            "under: 1_000\nbig: 99999999999999999999\nlit: |\n  12\n"
                            "min: -9223372036854775808\nver: 1.2.3\nhuge: 1e999\n");
    json_t *o = json_array_get(docs, 0);
    assert_true(json_is_true(json_object_get(o, "t")));
    assert_true(json_is_true(json_object_get(o, "T")));
    assert_true(json_is_false(json_object_get(o, "f")));
    assert_true(json_is_null(json_object_get(o, "n")));
    assert_true(json_is_null(json_object_get(o, "t2")));
    assert_true(json_is_null(json_object_get(o, "e")));
    assert_int_equal(json_integer_value(json_object_get(o, "i")), 12);
    assert_int_equal(json_integer_value(json_object_get(o, "neg")), -3);
    assert_int_equal(json_integer_value(json_object_get(o, "pos")), 4);
    assert_int_equal(json_integer_value(json_object_get(o, "oct")), 15);
    assert_int_equal(json_integer_value(json_object_get(o, "hex")), 31);
    assert_int_equal(json_integer_value(json_object_get(o, "lead")), 777);
    assert_true(json_is_real(json_object_get(o, "fl")));
    assert_true(json_real_value(json_object_get(o, "fl")) == 1.5);
    assert_true(json_real_value(json_object_get(o, "exp")) == 1000.0);
    assert_true(json_real_value(json_object_get(o, "dot")) == 0.5);
    assert_string_equal(json_string_value(json_object_get(o, "inf")), ".inf");
    assert_string_equal(json_string_value(json_object_get(o, "nan")), ".NaN");
    assert_string_equal(json_string_value(json_object_get(o, "yes")), "yes");
    assert_string_equal(json_string_value(json_object_get(o, "q")), "12");
    assert_string_equal(json_string_value(json_object_get(o, "sq")), "1.0");
    assert_string_equal(json_string_value(json_object_get(o, "str")), "12");
    assert_string_equal(json_string_value(json_object_get(o, "ns")), "12");
    assert_int_equal(json_integer_value(json_object_get(o, "tint")), 12);
    assert_string_equal(json_string_value(json_object_get(o, "under")), "1_000");
    assert_true(json_is_real(json_object_get(o, "big")));
    assert_string_equal(json_string_value(json_object_get(o, "lit")), "12\n");
    assert_true(json_integer_value(json_object_get(o, "min")) == INT64_MIN);
    assert_string_equal(json_string_value(json_object_get(o, "ver")), "1.2.3");
    assert_string_equal(json_string_value(json_object_get(o, "huge")), "1e999");
    json_decref(docs);

    expect_fail("a: !!int abc\n", NULL, CW_ERR_INVALID, "does not match its tag");
    expect_fail("a: !!bool 1\n", NULL, CW_ERR_INVALID, "line 1");
}

static void test_keys(void **state)
{
    (void)state;
    json_t *docs = parse_ok("1: a\ntrue: b\n\"q\": c\n");
    json_t *o = json_array_get(docs, 0);
    assert_string_equal(json_string_value(json_object_get(o, "1")), "a");
    assert_string_equal(json_string_value(json_object_get(o, "true")), "b");
    assert_string_equal(json_string_value(json_object_get(o, "q")), "c");
    json_decref(docs);

    expect_fail("? [a]\n: b\n", NULL, CW_ERR_INVALID, "mapping keys must be scalars");
    expect_fail("? {a: 1}\n: b\n", NULL, CW_ERR_INVALID, "mapping keys must be scalars");
    expect_fail("a: 1\nb: 2\na: 3\n", NULL, CW_ERR_INVALID,
                "line 3, column 4: duplicate mapping key \"a\"");
    expect_fail("x: &k a\n*k : b\n", NULL, CW_ERR_INVALID, "alias cannot be a mapping key");
    expect_fail("a: \"x\\0y\"\n", NULL, CW_ERR_INVALID, "NUL");
}

static void test_anchors_and_merge(void **state)
{
    (void)state;
    json_t *docs = parse_ok("base: &b {x: 1, y: 2}\n"
                            "m:\n  <<: *b\n  y: 3\n"
                            "first: &f {z: 1}\n"
                            "l:\n  <<: [*f, *b]\n  w: 0\n"
                            "list: &l [1, 2]\ncopy: *l\n"
                            "quoted:\n  \"<<\": 5\n");
    json_t *o = json_array_get(docs, 0);
    json_t *m = json_object_get(o, "m");
    assert_int_equal(json_object_size(m), 2);
    assert_int_equal(json_integer_value(json_object_get(m, "x")), 1);
    assert_int_equal(json_integer_value(json_object_get(m, "y")), 3);
    json_t *l = json_object_get(o, "l");
    assert_int_equal(json_object_size(l), 4);
    assert_int_equal(json_integer_value(json_object_get(l, "z")), 1);
    assert_int_equal(json_integer_value(json_object_get(l, "w")), 0);
    assert_true(json_equal(json_object_get(o, "copy"), json_object_get(o, "list")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "quoted"), "<<")),
                     5);
    json_decref(docs);

    expect_fail("a: *nope\n", NULL, CW_ERR_INVALID, "alias *nope refers to no complete anchor");
    expect_fail("a: &x [*x]\n", NULL, CW_ERR_INVALID, "refers to no complete anchor");
    expect_fail("s: &s 1\nm:\n  <<: *s\n", NULL, CW_ERR_INVALID, "merge key");
    /* anchors do not cross documents */
    expect_fail("a: &x 1\n---\nb: *x\n", NULL, CW_ERR_INVALID, "document 2");
}

static void test_syntax_errors(void **state)
{
    (void)state;
    expect_fail("a: [1, 2\nb: : :\n", NULL, CW_ERR_INVALID,
                "document 1: line 2, column 2: did not find expected ',' or ']' while "
                "parsing a flow sequence (line 1, column 4)");
    expect_fail("a: 1\n---\nb: [\n", NULL, CW_ERR_INVALID, "document 2: line");
    expect_fail("a: 'unterminated\n", NULL, CW_ERR_INVALID, "line ");
    expect_fail("key: value\n  bad indent: x\n", NULL, CW_ERR_INVALID,
                "document 1: line 2, column 13: mapping values are not allowed");
}

static char *nested(size_t depth, bool flow)
{
    cw_buf b;
    cw_buf_init(&b, 0);
    /* flow: "x: [[...]]", the mapping being the first level */
    if (flow)
        cw_buf_puts(&b, "x: ");
    for (size_t i = 0; i + (flow ? 1 : 0) < depth; i++) {
        if (flow)
            cw_buf_putc(&b, '[');
        else
            cw_buf_printf(&b, "%*sk:\n", (int)(2 * i), "");
    }
    if (flow)
        for (size_t i = 0; i + 1 < depth; i++)
            cw_buf_putc(&b, ']');
    else
        cw_buf_printf(&b, "%*sleaf\n", (int)(2 * depth), "");
    return cw_buf_steal(&b, NULL);
}

static void test_depth_limit(void **state)
{
    (void)state;
    cw_parse_limits lim;
    cw_parse_limits_default(&lim);
    assert_int_equal(lim.max_depth, 64);
    char *ok = nested(64, true), *deep = nested(65, true);
    json_t *docs = parse_ok(ok);
    json_decref(docs);
    expect_fail(deep, &lim, CW_ERR_TOO_LARGE, "nesting deeper than 64");
    free(ok);
    free(deep);
    /* block style: 64 nested mappings, the leaf a scalar */
    ok = nested(64, false);
    deep = nested(65, false);
    docs = parse_ok(ok);
    json_decref(docs);
    expect_fail(deep, &lim, CW_ERR_TOO_LARGE, "nesting deeper");
    free(ok);
    free(deep);
    /* very deep input fails at our limit, not in the parser or the stack */
    deep = nested(100000, true);
    expect_fail(deep, NULL, CW_ERR_TOO_LARGE, "nesting deeper than 64");
    free(deep);
    /* aliases count with the depth they expand to */
    expect_fail("a: &x [[[[[[[[[[1]]]]]]]]]]\nb: [[[[[[[[[[*x]]]]]]]]]]\n",
                &(cw_parse_limits){15, 1000, 10}, CW_ERR_TOO_LARGE, "after alias expansion");
}

static void test_billion_laughs(void **state)
{
    (void)state;
    const char *bomb = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
                       "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                       "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                       "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                       "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                       "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                       "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
                       "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
                       "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
    expect_fail(bomb, NULL, CW_ERR_TOO_LARGE, "nodes (after alias expansion)");

    /* Small expansions are fine until the node limit. */
    cw_parse_limits lim = {64, 40, 10};
    json_t *docs = NULL;
    cw_diag d;
    assert_int_equal(parse("a: &a [1,2,3]\nb: [*a,*a]\n", &lim, &docs, &d), CW_OK);
    json_decref(docs);
    lim.max_nodes = 14; /* map 1 + keys 2 + a 4 + b 1 + 2*4 = 16 */
    expect_fail("a: &a [1,2,3]\nb: [*a,*a]\n", &lim, CW_ERR_TOO_LARGE, "more than 14 nodes");
}

static void test_stream_alias_budget(void **state)
{
    (void)state;
    const char *doc = "a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a]\nc: [*b,*b]\n";
    cw_parse_limits lim = {64, 200, 1000};
    json_t *docs = NULL;
    cw_diag d;
    assert_int_equal(parse(doc, &lim, &docs, &d), CW_OK);
    json_decref(docs);
    cw_buf b;
    cw_buf_init(&b, 0);
    for (int i = 0; i < 100; i++)
        cw_buf_printf(&b, "---\n%s", doc);
    expect_fail(cw_buf_cstr(&b), &lim, CW_ERR_TOO_LARGE, "aliases expand to too many nodes");
    cw_buf_free(&b);
}

static void test_document_limit(void **state)
{
    (void)state;
    cw_parse_limits lim = {64, 1000, 3};
    json_t *docs = NULL;
    cw_diag d;
    assert_int_equal(parse("a: 1\n---\nb: 1\n---\nc: 1\n", &lim, &docs, &d), CW_OK);
    assert_int_equal(json_array_size(docs), 3);
    json_decref(docs);
    expect_fail("a: 1\n---\nb: 1\n---\nc: 1\n---\nd: 1\n", &lim, CW_ERR_TOO_LARGE,
                "more than 3 documents");
    expect_fail("[{\"a\":1},{\"a\":1},{\"a\":1},{\"a\":1}]", &lim, CW_ERR_TOO_LARGE,
                "more than 3 documents");
}

static void test_json_input(void **state)
{
    (void)state;
    json_t *docs = parse_ok("  {\"kind\": \"Component\", \"n\": 1.5}");
    assert_int_equal(json_array_size(docs), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(docs, 0), "kind")),
                        "Component");
    json_decref(docs);
    docs = parse_ok("\xEF\xBB\xBF[{\"a\": 1}, null, {\"b\": [true]}]");
    assert_int_equal(json_array_size(docs), 2);
    json_decref(docs);
    /* JSON is strict: YAML flow style at the start is a JSON error */
    expect_fail("{a: 1, b: [x, y]}", NULL, CW_ERR_INVALID, "line 1, column 2");
    /* flow style after a YAML document start marker is YAML */
    docs = parse_ok("--- {a: 1, b: [x, y]}");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(docs, 0), "a")), 1);
    json_decref(docs);

    expect_fail("{\"a\": 1, \"a\": 2}", NULL, CW_ERR_INVALID, "duplicate");
    expect_fail("{\"a\": }", NULL, CW_ERR_INVALID, "line 1, column");

    cw_parse_limits lim = {5, 1000, 10};
    expect_fail("[{\"a\":[[[[[1]]]]]}]", &lim, CW_ERR_TOO_LARGE, "nesting deeper than 5");
    docs = NULL;
    cw_diag d;
    assert_int_equal(parse("[{\"a\":[[[1]]]}]", &lim, &docs, &d), CW_OK);
    json_decref(docs);
    lim.max_nodes = 5;
    expect_fail("{\"a\":[1,2,3,4,5]}", &lim, CW_ERR_TOO_LARGE, "more than 5 nodes");
    /* ours applies below jansson's own depth limit (2048)... */
    cw_buf b;
    cw_buf_init(&b, 0);
    for (int i = 0; i < 100; i++)
        cw_buf_putc(&b, '[');
    for (int i = 0; i < 100; i++)
        cw_buf_putc(&b, ']');
    expect_fail(cw_buf_cstr(&b), NULL, CW_ERR_TOO_LARGE, "nesting deeper than 64");
    /* ...and beyond it jansson's refusal is a limit error too */
    cw_buf_reset(&b);
    for (int i = 0; i < 3000; i++)
        cw_buf_putc(&b, '[');
    for (int i = 0; i < 3000; i++)
        cw_buf_putc(&b, ']');
    expect_fail(cw_buf_cstr(&b), NULL, CW_ERR_TOO_LARGE, "depth");
    cw_buf_free(&b);
}

static void test_not_nul_terminated(void **state)
{
    (void)state;
    const char buf[] = {'a', ':', ' ', '1', '\n', 'b', ':', ' ', '2'};
    json_t *docs = NULL;
    cw_diag d;
    assert_int_equal(cw_parse_documents(buf, 7, NULL, &docs, &d), CW_OK);
    json_t *o = json_array_get(docs, 0);
    assert_int_equal(json_object_size(o), 2);
    assert_true(json_is_null(json_object_get(o, "b")));
    json_decref(docs);
}

/* Regression (fuzz_catalog_parse): the former parser, libfyaml 0.7.12,
 * looped forever on invalid UTF-8 in a directive such as "%\xff"; such
 * input is refused up front with the exact position. */
static void test_invalid_utf8(void **state)
{
    (void)state;
    expect_fail("%\xff\xff\xff", NULL, CW_ERR_INVALID, "line 1, column 2: invalid UTF-8");
    expect_fail("a: 1\n...\n%\x80", NULL, CW_ERR_INVALID, "line 3, column 2: invalid UTF-8");
    expect_fail("a: 1\nb: \xc0\x80\n", NULL, CW_ERR_INVALID, "line 2, column 4: invalid UTF-8");
    expect_fail("a: \xed\xa0\x80\n", NULL, CW_ERR_INVALID, "invalid UTF-8");     /* surrogate */
    expect_fail("a: \xf4\x90\x80\x80\n", NULL, CW_ERR_INVALID, "invalid UTF-8"); /* > U+10FFFF */
    expect_fail("a: \xe2\x82", NULL, CW_ERR_INVALID, "line 1, column 4: invalid UTF-8");
    expect_fail("{\"a\": \"\xff\"}", NULL, CW_ERR_INVALID, "line 1");
    json_t *docs = NULL;
    cw_diag d;
    assert_int_equal(cw_parse_documents("a: 1\0", 6, NULL, &docs, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "line 1, column 5: NUL characters are not allowed"));
    /* Regression (fuzz_catalog_parse): control characters made the former
     * parser crash while formatting an error; YAML does not allow them. */
    expect_fail("a: &a [a+,-*\x12\x12" "b,0kb\n", NULL, CW_ERR_INVALID,
                "line 1, column 13: character U+0012 is not allowed in YAML");
    expect_fail("a: x\x7f\n", NULL, CW_ERR_INVALID, "character U+007F");
    expect_fail("a: \xc2\x80\n", NULL, CW_ERR_INVALID, "character U+0080");
    expect_fail("a: \xef\xbf\xbe\n", NULL, CW_ERR_INVALID, "character U+FFFE");
    docs = parse_ok("\xef\xbb\xbf" "a:\tb\xc2\x85\r\n");
    assert_int_equal(json_array_size(docs), 1);
    json_decref(docs);
    docs = parse_ok("name: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n");
    assert_string_equal(json_string_value(json_object_get(json_array_get(docs, 0), "name")),
                        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    json_decref(docs);
}

/* Block scalars as catalog descriptions use them: literal, folded, with
 * chomping indicators and an explicit indentation; tabs inside content. */
static void test_block_scalars(void **state)
{
    (void)state;
    json_t *docs = parse_ok("literal: |\n  line one\n    indented\n\n  last\n"
                            "folded: >-\n  folded\n  into one\n\n  paragraph two\n"
                            "keep: |+\n  kept\n\n"
                            "explicit: |2\n    four spaces\n"
                            "tabbed: |\n  a\tb\n"
                            "after: done\n");
    json_t *o = json_array_get(docs, 0);
    assert_string_equal(json_string_value(json_object_get(o, "literal")),
                        "line one\n  indented\n\nlast\n");
    assert_string_equal(json_string_value(json_object_get(o, "folded")),
                        "folded into one\nparagraph two");
    assert_string_equal(json_string_value(json_object_get(o, "keep")), "kept\n\n");
    assert_string_equal(json_string_value(json_object_get(o, "explicit")), "  four spaces\n");
    assert_string_equal(json_string_value(json_object_get(o, "tabbed")), "a\tb\n");
    assert_string_equal(json_string_value(json_object_get(o, "after")), "done");
    json_decref(docs);
    expect_fail("a: |\n  x\n y: 1\n", NULL, CW_ERR_INVALID, "document 1: line 3");
}

/* Regression (fuzz_catalog_parse): the former parser, libfyaml 0.7.12,
 * returned wrong text for single-quoted scalars with adjacent '' escapes
 * (expected results checked against PyYAML). */
static void test_single_quoted(void **state)
{
    (void)state;
    json_t *docs = parse_ok("a: '''''x'\n"
                            "b: 'x''''''''''''''''''''y'\n"
                            "c: 'it''s  \n   folded''\n\n  twice '\n"
                            "d: 'plain, no escapes'\n"
                            "e: ''''\n"
                            "f: [ 'p''q', '' ]\n"
                            "g: 'a''\r\n b'\n"
                            "h: 'x\r\r\n\n\r\n\n\r\n\r  y'\n");
    json_t *o = json_array_get(docs, 0);
    assert_string_equal(json_string_value(json_object_get(o, "a")), "''x");
    assert_string_equal(json_string_value(json_object_get(o, "b")), "x''''''''''y");
    assert_string_equal(json_string_value(json_object_get(o, "c")), "it's folded'\ntwice ");
    assert_string_equal(json_string_value(json_object_get(o, "d")), "plain, no escapes");
    assert_string_equal(json_string_value(json_object_get(o, "e")), "'");
    json_t *f = json_object_get(o, "f");
    assert_string_equal(json_string_value(json_array_get(f, 0)), "p'q");
    assert_string_equal(json_string_value(json_array_get(f, 1)), "");
    assert_string_equal(json_string_value(json_object_get(o, "g")), "a' b");
    assert_string_equal(json_string_value(json_object_get(o, "h")), "x\n\n\n\n\n\ny");
    json_decref(docs);
    /* keys are scalars like any other */
    docs = parse_ok("'k''1': v\n");
    assert_string_equal(json_string_value(json_object_get(json_array_get(docs, 0), "k'1")), "v");
    json_decref(docs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multi_document),
        cmocka_unit_test(test_scalar_typing),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_anchors_and_merge),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_billion_laughs),
        cmocka_unit_test(test_stream_alias_budget),
        cmocka_unit_test(test_document_limit),
        cmocka_unit_test(test_json_input),
        cmocka_unit_test(test_not_nul_terminated),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_block_scalars),
        cmocka_unit_test(test_single_quoted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
