/*
 * test_graph_svg.c — drawing graphs with Graphviz (http/graph_svg.h): the
 * demo organisation and generated tangles (cycles, API edges, writes,
 * missing nodes, every node on one rank) laid out and rendered without
 * heap errors (run under ASan in CI), the same graph from four threads at
 * once, an empty graph, DOT Graphviz cannot read, and the output cap; and
 * the worker process (this test binary run as `graph-worker`): the same
 * drawings, a refused graph that keeps the worker, a runaway layout killed
 * at its timeout with the next drawing in a fresh worker, replacement
 * after max_drawings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fixtures.h"
#include "http/graph_svg.h"
#include "insights/architecture.h"
#include "insights/graph.h"

#ifdef CONWAY_HAVE_GVC

/* Graphviz 2.43 and the font libraries under it leak in every layout (the
 * reason conway serve draws in a worker process); LeakSanitizer is told so
 * for this test binary, which draws in-process too. */
const char *__lsan_default_suppressions(void);
__attribute__((used)) const char *__lsan_default_suppressions(void)
{
    return "leak:libgvc.so\nleak:libgvplugin\nleak:libcgraph.so\nleak:libcdt.so\n"
           "leak:libfontconfig.so\nleak:libpango\nleak:libcairo.so\nleak:libglib\n"
           "leak:libgobject\nleak:libharfbuzz\nleak:libfreetype\nleak:libexpat\n";
}

/* The DOT of entities (every node, findings marked; caller frees) and
 * the engine that draws it. */
static char *dot_of(json_t *const *items, size_t n, const char **engine)
{
    cw_graph *g = NULL;
    json_t *res = NULL;
    cw_diag d = {""};
    assert_int_equal(cw_graph_build(items, n, &g, &d), CW_OK);
    assert_int_equal(cw_arch_check(g, items, n, NULL, 0, NULL, &res, &d), CW_OK);
    cw_graph_marks m = {0};
    assert_int_equal(cw_arch_marks(g, json_object_get(res, "findings"), &m, &d), CW_OK);
    cw_buf b;
    cw_buf_init(&b, 0);
    assert_int_equal(cw_graph_to_dot(g, NULL, &m, &b, &d), CW_OK);
    *engine = cw_graph_svg_engine(cw_graph_layered_cost(g, NULL));
    cw_arch_marks_free(&m);
    json_decref(res);
    cw_graph_free(g);
    return cw_buf_steal(&b, NULL);
}

static char *svg_of(const char *dot, const char *engine)
{
    cw_buf b;
    cw_buf_init(&b, 0);
    cw_diag d = {""};
    if (cw_graph_svg(dot, engine, &b, &d) != CW_OK)
        fail_msg("svg: %s", d.msg);
    return cw_buf_steal(&b, NULL);
}

static void test_demo_organisation(void **state)
{
    (void)state;
    json_t *all = fx_demo_load();
    if (!all)
        skip();
    size_t n = json_array_size(all);
    json_t **items = malloc(n * sizeof *items);
    assert_non_null(items);
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(all, i);
    const char *engine;
    char *dot = dot_of(items, n, &engine);
    assert_string_equal(engine, "dot");
    char *svg = svg_of(dot, engine);
    assert_non_null(strstr(svg, "<svg "));
    assert_non_null(strstr(svg, "xlink:href=\"/entity/component/default/playlist-service\""));
    assert_non_null(strstr(svg, "class=\"edge edge&#45;dependsOn cycle\""));
    assert_non_null(strstr(svg, "class=\"cluster system\""));
    free(svg);
    free(dot);
    free(items);
    json_decref(all);
}

/* A generated system: n components in one system with dependsOn, API and
 * write edges (several per rank), some to missing entities. */
static json_t *tangle(size_t n, unsigned seed)
{
    json_t *all = json_array();
    uint64_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        char name[32], deps[512];
        size_t o = (size_t)snprintf(deps, sizeof deps, "[");
        for (int k = 0; k < 3; k++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            size_t t = (size_t)(x >> 33) % (n + 5); /* beyond n: missing */
            o += (size_t)snprintf(deps + o, sizeof deps - o, "%s'component:c%zu'", k ? "," : "", t);
        }
        snprintf(deps + o, sizeof deps - o, ",'resource:db%zu']", i % 7);
        snprintf(name, sizeof name, "c%zu", i);
        json_array_append_new(
            all, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Component','metadata':"
                           "{'name':'%s','annotations':{'conway.dev/writes':'db%zu'}},'spec':"
                           "{'type':'service','lifecycle':'production','owner':'team-%zu',"
                           "'system':'%s','dependsOn':%s,'providesApis':['api%zu'],"
                           "'consumesApis':['api%zu','api%zu']}}",
                           name, i % 7, i % 9, i % 3 ? "s1" : "s2", deps, i, (i * 7 + 3) % n,
                           (i * 13 + 1) % (n + 2)));
    }
    for (size_t r = 0; r < 7; r++)
        json_array_append_new(all, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':"
                                             "'Resource','metadata':{'name':'db%zu'},'spec':"
                                             "{'type':'database','owner':'team-0'}}",
                                             r));
    return all;
}

static void test_tangles(void **state)
{
    (void)state;
    const size_t sizes[] = {1, 2, 5, 40, 200};
    for (size_t s = 0; s < FX_LEN(sizes); s++) {
        json_t *all = tangle(sizes[s], (unsigned)s + 1);
        size_t n = json_array_size(all);
        json_t **items = malloc(n * sizeof *items);
        assert_non_null(items);
        for (size_t i = 0; i < n; i++)
            items[i] = json_array_get(all, i);
        const char *engine;
        char *dot = dot_of(items, n, &engine);
        /* the big tangle is drawn force-directed; small ones layered */
        assert_string_equal(engine, sizes[s] >= 200 ? "sfdp" : "dot");
        char *svg = svg_of(dot, engine);
        assert_non_null(strstr(svg, "</svg>"));
        /* both engines draw it without heap errors */
        free(svg);
        if (sizes[s] < 200)
            svg = svg_of(dot, "sfdp");
        else
            svg = NULL;
        free(svg);
        free(dot);
        free(items);
        json_decref(all);
    }
}

static void *draw(void *dot)
{
    for (int i = 0; i < 3; i++)
        free(svg_of(dot, i % 2 ? "sfdp" : "dot"));
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    json_t *all = tangle(30, 9);
    size_t n = json_array_size(all);
    json_t **items = malloc(n * sizeof *items);
    assert_non_null(items);
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(all, i);
    const char *engine;
    char *dot = dot_of(items, n, &engine);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, draw, dot), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    free(dot);
    free(items);
    json_decref(all);
}

static void test_bad_input_and_cap(void **state)
{
    (void)state;
    cw_buf b;
    cw_buf_init(&b, 0);
    cw_diag d = {""};
    assert_int_equal(cw_graph_svg("digraph { a -> ", "dot", &b, &d), CW_ERR_INVALID);
    assert_int_equal(cw_graph_svg("not dot at all", "dot", &b, &d), CW_ERR_INVALID);
    assert_int_equal(b.len, 0);
    /* an empty graph draws */
    char *svg = svg_of("digraph conway {\n}\n", "dot");
    assert_non_null(strstr(svg, "<svg "));
    free(svg);
    /* the output cap is respected */
    cw_buf small;
    cw_buf_init(&small, 64);
    assert_int_equal(cw_graph_svg("digraph { a -> b }", "dot", &small, &d), CW_ERR_TOO_LARGE);
    cw_buf_free(&small);
    cw_buf_free(&b);
}

static size_t count_of(const char *text, const char *what)
{
    size_t n = 0;
    for (const char *p = strstr(text, what); p; p = strstr(p + 1, what))
        n++;
    return n;
}

/* ---- the worker process --------------------------------------------------------------- */

static int worker_on(void **state)
{
    (void)state;
    cw_diag d = {""};
    cw_graph_worker_cfg cfg = {.exe = "/proc/self/exe", .timeout_ms = 20000, .max_drawings = 3};
    return cw_graph_worker_start(&cfg, &d) == CW_OK ? 0 : -1;
}

static int worker_off(void **state)
{
    (void)state;
    cw_graph_worker_stop();
    return 0;
}

static void test_worker_draws_the_same(void **state)
{
    (void)state;
    json_t *all = tangle(40, 3);
    size_t n = json_array_size(all);
    json_t **items = malloc(n * sizeof *items);
    assert_non_null(items);
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(all, i);
    const char *engine;
    char *dot = dot_of(items, n, &engine);
    char *there = svg_of(dot, engine); /* the worker */
    cw_graph_worker_stop();
    char *here = svg_of(dot, engine);
    assert_int_equal(worker_on(NULL), 0);
    /* the same drawing (coordinates may differ: Graphviz keeps state
     * between layouts in one process) */
    assert_int_equal(count_of(there, "<g id=\"n"), count_of(here, "<g id=\"n"));
    assert_int_equal(count_of(there, "<g id=\"e"), count_of(here, "<g id=\"e"));
    assert_int_equal(count_of(there, "xlink:href=\"/entity/"), count_of(here, "xlink:href=\"/entity/"));
    assert_true(count_of(there, "<g id=\"n") >= 40);
    /* a graph Graphviz refuses is an error from the worker, which stays */
    cw_buf b;
    cw_buf_init(&b, 0);
    cw_diag d = {""};
    assert_int_equal(cw_graph_svg("digraph { a -> ", "dot", &b, &d), CW_ERR_INVALID);
    assert_int_equal(b.len, 0);
    assert_int_equal(cw_graph_svg("digraph { a -> b }", "rubbish", &b, &d), CW_ERR_INVALID);
    /* more than max_drawings (3): the worker is replaced, drawing goes on */
    for (int i = 0; i < 5; i++) {
        char *again = svg_of(dot, engine);
        assert_int_equal(count_of(again, "<g id=\"n"), count_of(here, "<g id=\"n"));
        free(again);
    }
    cw_buf_free(&b);
    free(there);
    free(here);
    free(dot);
    free(items);
    json_decref(all);
}

static void test_worker_runaway_is_stopped(void **state)
{
    (void)state;
    /* dot on the 200-node tangle takes well over a minute */
    json_t *all = tangle(200, 5);
    size_t n = json_array_size(all);
    json_t **items = malloc(n * sizeof *items);
    assert_non_null(items);
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(all, i);
    const char *engine;
    char *dot = dot_of(items, n, &engine);
    cw_graph_worker_cfg cfg = {.exe = "/proc/self/exe", .timeout_ms = 1500};
    cw_diag d = {""};
    assert_int_equal(cw_graph_worker_start(&cfg, &d), CW_OK);
    cw_buf b;
    cw_buf_init(&b, 0);
    int64_t t0 = (int64_t)time(NULL);
    assert_int_equal(cw_graph_svg(dot, "dot", &b, &d), CW_ERR_BUSY);
    assert_true((int64_t)time(NULL) - t0 < 10);
    assert_non_null(strstr(d.msg, "took longer than 1500 ms"));
    assert_int_equal(b.len, 0);
    /* the next drawing gets a fresh worker */
    char *svg = svg_of("digraph conway { a -> b }\n", "dot");
    assert_non_null(strstr(svg, "</svg>"));
    free(svg);
    cw_buf_free(&b);
    free(dot);
    free(items);
    json_decref(all);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "graph-worker") == 0)
        return cw_graph_worker_main();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_organisation),
        cmocka_unit_test(test_tangles),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_bad_input_and_cap),
    };
    const struct CMUnitTest worker_tests[] = {
        cmocka_unit_test(test_demo_organisation),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_worker_draws_the_same),
        cmocka_unit_test(test_worker_runaway_is_stopped),
    };
    int failed = cmocka_run_group_tests_name("in process", tests, NULL, NULL);
    return failed + cmocka_run_group_tests_name("worker process", worker_tests, worker_on,
                                                worker_off);
}

#else

static void test_unsupported(void **state)
{
    (void)state;
    cw_buf b;
    cw_buf_init(&b, 0);
    cw_diag d = {""};
    assert_int_equal(cw_graph_svg("digraph {}", "dot", &b, &d), CW_ERR_UNSUPPORTED);
    cw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_unsupported)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
