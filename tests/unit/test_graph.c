/*
 * test_graph.c — the dependency graph (insights/graph.h): strongly
 * connected components and shortest cycles on hand-built graphs (cycles of
 * 2, 3 and 1,000 nodes, self-loops, disconnected parts, a 200,000-node
 * chain that would overflow a recursive Tarjan), and the catalog graph:
 * dependsOn in both spellings, API edges to every provider, APIs nobody
 * provides, writes, stored relations, dangling targets, owners, systems
 * and domains, scopes with depth, the JSON and DOT renderers, and input
 * order independence.
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

#include "fixtures.h"
#include "insights/graph.h"

/* ---- hand-built digraphs ----------------------------------------------------------- */

typedef struct {
    cw_digraph g;
    uint32_t *start, *adj;
    uint32_t *comp;
    size_t ncomp;
} dg;

/* A digraph of n nodes from edges (from, to) pairs; successors in the
 * order given per node. */
static dg *dg_new(size_t n, const uint32_t *edges, size_t nedges)
{
    dg *x = calloc(1, sizeof *x);
    assert_non_null(x);
    x->start = calloc(n + 1, sizeof *x->start);
    x->adj = malloc((nedges ? nedges : 1) * sizeof *x->adj);
    x->comp = malloc((n ? n : 1) * sizeof *x->comp);
    assert_non_null(x->start);
    assert_non_null(x->adj);
    assert_non_null(x->comp);
    for (size_t i = 0; i < nedges; i++)
        x->start[edges[2 * i] + 1]++;
    for (size_t v = 0; v < n; v++)
        x->start[v + 1] += x->start[v];
    uint32_t *fill = calloc(n + 1, sizeof *fill);
    assert_non_null(fill);
    for (size_t i = 0; i < nedges; i++) {
        uint32_t f = edges[2 * i];
        x->adj[x->start[f] + fill[f]++] = edges[2 * i + 1];
    }
    free(fill);
    x->g = (cw_digraph){.n = n, .start = x->start, .adj = x->adj};
    cw_diag d = {""};
    assert_int_equal(cw_digraph_scc(&x->g, x->comp, &x->ncomp, &d), CW_OK);
    return x;
}

static void dg_free(dg *x)
{
    free(x->start);
    free(x->adj);
    free(x->comp);
    free(x);
}

/* The shortest cycle of the component holding node v, as "a,b,c". */
static const char *cycle_of(const dg *x, uint32_t v, bool *exact, size_t budget)
{
    static char buf[16384];
    uint32_t *cyc = NULL;
    size_t len = 0;
    cw_diag d = {""};
    uint32_t *members = malloc(x->g.n * sizeof *members);
    size_t nm = 0;
    assert_non_null(members);
    for (uint32_t w = 0; w < x->g.n; w++)
        if (x->comp[w] == x->comp[v])
            members[nm++] = w;
    assert_int_equal(cw_digraph_shortest_cycle(&x->g, x->comp, members, nm, budget, &cyc, &len,
                                               exact, &d),
                     CW_OK);
    free(members);
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < len; i++) {
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%u", i ? "," : "", cyc[i]);
        assert_true(o < sizeof buf);
    }
    free(cyc);
    return buf;
}

static size_t comp_size(const dg *x, uint32_t v)
{
    size_t n = 0;
    for (size_t i = 0; i < x->g.n; i++)
        n += x->comp[i] == x->comp[v];
    return n;
}

static void test_scc_small_cycles(void **state)
{
    (void)state;
    /* 0<->1 (2-cycle); 2->3->4->2 (3-cycle); 4->5 leaves; 6 self-loop;
     * 7 alone; 8->9 a chain */
    const uint32_t e[] = {0, 1, 1, 0, 2, 3, 3, 4, 4, 2, 4, 5, 6, 6, 8, 9};
    dg *x = dg_new(10, e, FX_LEN(e) / 2);
    assert_int_equal(x->ncomp, 7);
    assert_int_equal(x->comp[0], x->comp[1]);
    assert_int_equal(comp_size(x, 0), 2);
    assert_int_equal(x->comp[2], x->comp[3]);
    assert_int_equal(x->comp[3], x->comp[4]);
    assert_int_equal(comp_size(x, 2), 3);
    assert_int_not_equal(x->comp[4], x->comp[5]);
    assert_int_equal(comp_size(x, 5), 1);
    assert_int_equal(comp_size(x, 6), 1);
    assert_int_not_equal(x->comp[8], x->comp[9]);
    /* reverse topological order: 5 (a sink) closes before its source 4 */
    assert_true(x->comp[5] < x->comp[4]);
    assert_true(x->comp[9] < x->comp[8]);
    bool exact = false;
    assert_string_equal(cycle_of(x, 1, &exact, 0), "0,1");
    assert_true(exact);
    assert_string_equal(cycle_of(x, 4, &exact, 0), "2,3,4");
    /* a self-loop is no cycle; nor is a node alone */
    assert_string_equal(cycle_of(x, 6, &exact, 0), "");
    assert_string_equal(cycle_of(x, 7, &exact, 0), "");
    assert_string_equal(cycle_of(x, 9, &exact, 0), "");
    dg_free(x);
}

static void test_shortest_cycle_in_a_tangle(void **state)
{
    (void)state;
    /* a 6-cycle 0..5 with chords making 1->2->4->1 (length 3) and a
     * self-loop on 3; the cycle through 0 alone is longer */
    const uint32_t e[] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 0, 2, 4, 4, 1, 3, 3};
    dg *x = dg_new(6, e, FX_LEN(e) / 2);
    assert_int_equal(x->ncomp, 1);
    bool exact = false;
    assert_string_equal(cycle_of(x, 0, &exact, 0), "1,2,4");
    assert_true(exact);
    /* a two-cycle anywhere wins over everything */
    const uint32_t e2[] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 0, 2, 4, 4, 1, 5, 4};
    dg *y = dg_new(6, e2, FX_LEN(e2) / 2);
    assert_string_equal(cycle_of(y, 0, &exact, 0), "4,5");
    dg_free(x);
    dg_free(y);
}

static void test_thousand_node_cycle(void **state)
{
    (void)state;
    enum { N = 1000 };
    uint32_t e[2 * (N + 1)];
    /* nodes 0..999 in a ring, entered from an extra node 1000 */
    for (uint32_t i = 0; i < N; i++) {
        e[2 * i] = i;
        e[2 * i + 1] = (i + 1) % N;
    }
    e[2 * N] = N;
    e[2 * N + 1] = 17;
    dg *x = dg_new(N + 1, e, N + 1);
    assert_int_equal(x->ncomp, 2);
    assert_int_equal(comp_size(x, 0), N);
    bool exact = false;
    const char *c = cycle_of(x, 500, &exact, 0);
    assert_true(exact);
    assert_int_equal(strncmp(c, "0,1,2,", 6), 0);
    assert_non_null(strstr(c, ",998,999"));
    assert_int_equal(strlen(c), strlen(strstr(c, "0,1,2,"))); /* starts at the smallest */
    /* a small budget still gives a valid cycle, marked inexact */
    c = cycle_of(x, 3, &exact, 10);
    assert_false(exact);
    assert_int_equal(strncmp(c, "0,1,2,", 6), 0);
    dg_free(x);
}

static void test_long_chain_and_disconnected(void **state)
{
    (void)state;
    /* a 200,000-node path closed into one cycle, and 50,000 isolated nodes */
    enum { N = 200000, ISO = 50000 };
    uint32_t *e = malloc(2 * N * sizeof *e);
    assert_non_null(e);
    for (uint32_t i = 0; i < N; i++) {
        e[2 * i] = i;
        e[2 * i + 1] = i + 1 < N ? i + 1 : 0;
    }
    dg *x = dg_new(N + ISO, e, N);
    assert_int_equal(x->ncomp, 1 + ISO);
    assert_int_equal(comp_size(x, 12345), N);
    /* the same path open: every node its own component */
    e[2 * (N - 1) + 1] = N - 1; /* a self-loop at the end instead */
    dg *y = dg_new(N, e, N);
    assert_int_equal(y->ncomp, N);
    free(e);
    dg_free(x);
    dg_free(y);
}

static void test_empty_graph(void **state)
{
    (void)state;
    dg *x = dg_new(0, NULL, 0);
    assert_int_equal(x->ncomp, 0);
    dg_free(x);
}

/* ---- the catalog graph ---------------------------------------------------------------- */

typedef struct {
    json_t *items[64];
    size_t n;
    cw_graph *g;
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
    free(c);
    return 0;
}

static void add(cat *c, json_t *e)
{
    assert_non_null(e);
    assert_true(c->n < FX_LEN(c->items));
    c->items[c->n++] = e;
}

static cw_graph *build_graph(cat *c)
{
    cw_graph_free(c->g);
    c->g = NULL;
    cw_diag d = {""};
    if (cw_graph_build(c->items, c->n, &c->g, &d) != CW_OK)
        fail_msg("build: %s", d.msg);
    return c->g;
}

/* Every edge as "from>to:type[:api][:w]" (names only), joined by ' '. */
static const char *edges_text(const cw_graph *g)
{
    static char buf[8192];
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < g->nedges; i++) {
        const cw_graph_edge *e = &g->edges[i];
        const char *f = strrchr(g->nodes[e->from].ref, '/') + 1;
        const char *t = strrchr(g->nodes[e->to].ref, '/') + 1;
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s>%s:%s%s%s%s", o ? " " : "", f, t,
                              cw_graph_edge_types[e->type], e->api >= 0 ? ":" : "",
                              e->api >= 0 ? strrchr(g->nodes[e->api].ref, '/') + 1 : "",
                              e->writes ? ":w" : "");
        assert_true(o < sizeof buf);
    }
    return buf;
}

static const cw_graph_node *node(const cw_graph *g, const char *key)
{
    long i = cw_graph_find(g, key);
    if (i < 0)
        fail_msg("no node %s", key);
    return &g->nodes[i];
}

static void test_catalog_edges(void **state)
{
    cat *c = *state;
    add(c, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Component','metadata':{'name':'a'},"
                     "'spec':{'type':'service','lifecycle':'production','owner':'team-a','system':'s1',"
                     "'dependsOn':['component:b','resource:db'],'consumesApis':['api-x','api-none']}}"));
    add(c, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Component','metadata':{'name':'b'},"
                     "'spec':{'type':'service','lifecycle':'production','owner':'team-b',"
                     "'providesApis':['api-x'],'dependencyOf':['component:c']}}"));
    add(c, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Component','metadata':{'name':'c',"
                     "'annotations':{'conway.dev/writes':'db, resource:default/other-db'}},"
                     "'spec':{'type':'service','lifecycle':'production','owner':'user:ann',"
                     "'providesApis':['api-x'],'subcomponentOf':'a','dependsOn':['component:c']}}"));
    add(c, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'API','metadata':{'name':'api-x'},"
                     "'spec':{'type':'openapi','lifecycle':'deprecated','owner':'team-b','definition':'x'}}"));
    add(c, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Resource','metadata':{'name':'db'},"
                     "'spec':{'type':'database','owner':'team-a','dependsOn':['component:b']}}"));
    add(c, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'System','metadata':{'name':'s1'},"
                     "'spec':{'owner':'team-a','domain':'d1'}}"));
    add(c, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Domain','metadata':{'name':'d1'},"
                     "'spec':{'owner':'team-a'}}"));
    add(c, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Group','metadata':{'name':'team-a'},"
                     "'spec':{'type':'team','children':[]}}"));
    cw_graph *g = build_graph(c);
    /* a: dependsOn b and db; api-x provided by b and c: one edge to each;
     * api-none has no provider: the edge goes to the API itself (missing).
     * b is a dependency of c; db names b in dependsOn: b writes db; c
     * declares writes to db and other-db; c depends on itself. */
    assert_string_equal(edges_text(g),
                        "a>api-none:consumesApi:api-none a>b:dependsOn a>b:consumesApi:api-x "
                        "a>c:consumesApi:api-x a>db:dependsOn b>api-x:providesApi b>db:dependsOn:w "
                        "c>api-x:providesApi c>a:subcomponentOf c>b:dependsOn c>c:dependsOn "
                        "c>db:dependsOn:w c>other-db:dependsOn:w");
    assert_int_equal(g->nnodes, 7);
    assert_false(node(g, "api:default/api-none")->exists);
    assert_false(node(g, "resource:default/other-db")->exists);
    assert_true(node(g, "resource:default/db")->exists);
    assert_true(node(g, "component:default/c")->self_loop);
    assert_false(node(g, "component:default/a")->self_loop);
    const cw_graph_node *a = node(g, "component:default/a");
    assert_string_equal(a->kind, "Component");
    assert_string_equal(a->lifecycle, "production");
    assert_string_equal(g->owners[a->owner].ref, "group:default/team-a");
    assert_true(g->owners[a->owner].exists);
    assert_string_equal(g->systems[a->system].ref, "system:default/s1");
    assert_string_equal(g->domains[g->systems[a->system].domain].ref, "domain:default/d1");
    const cw_graph_node *cn = node(g, "component:default/c");
    assert_string_equal(g->owners[cn->owner].ref, "user:default/ann");
    assert_false(g->owners[cn->owner].exists);
    assert_int_equal(cn->system, -1);
    /* dependency adjacency: distinct targets, no self-loops; reversed too */
    long ia = cw_graph_find(g, "component:default/a");
    long ib = cw_graph_find(g, "component:default/b");
    assert_int_equal(g->dep.start[ia + 1] - g->dep.start[ia], 4); /* b, c, db, api-none */
    long ic = cw_graph_find(g, "component:default/c");
    assert_int_equal(g->dep.start[ic + 1] - g->dep.start[ic], 3); /* b, db, other-db */
    assert_int_equal(g->dep_in.start[ib + 1] - g->dep_in.start[ib], 2); /* a, c */
    long idb = cw_graph_find(g, "resource:default/db");
    assert_int_equal(g->dep_in.start[idb + 1] - g->dep_in.start[idb], 3); /* a, b, c */
}

static void test_stored_relations_only(void **state)
{
    cat *c = *state;
    /* entities as another catalog might give them: relations, no spec refs */
    add(c, json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s}, s:[{s:s, s:s}, {s:s, s:{s:s, s:s, s:s}}]}",
                     "apiVersion", "backstage.io/v1alpha1", "kind", "Component", "metadata",
                     "name", "x", "spec", "type", "service", "owner", "team-a", "relations",
                     "type", "dependsOn", "targetRef", "component:default/y", "type",
                     "consumesApi", "target", "kind", "api", "namespace", "default", "name", "z-api"));
    add(c, json_pack("{s:s, s:s, s:{s:s}, s:{s:s}, s:[{s:s, s:s}]}", "apiVersion",
                     "backstage.io/v1alpha1", "kind", "API", "metadata", "name", "z-api", "spec",
                     "type", "grpc", "relations", "type", "apiProvidedBy", "targetRef",
                     "component:default/y"));
    add(c, json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "backstage.io/v1alpha1",
                     "kind", "Component", "metadata", "name", "y", "spec", "type", "service"));
    cw_graph *g = build_graph(c);
    assert_string_equal(edges_text(g), "x>y:dependsOn x>y:consumesApi:z-api y>z-api:providesApi");
}

/* The graph's JSON, compact and with sorted keys. */
static char *graph_json(const cw_graph *g, const uint8_t *mark)
{
    json_t *j = NULL;
    cw_diag d = {""};
    assert_int_equal(cw_graph_to_json(g, mark, NULL, &j, &d), CW_OK);
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    assert_non_null(s);
    return s;
}

static void test_order_independent(void **state)
{
    cat *c = *state;
    const char *names[] = {"n3", "n1", "n2", "n0", "n4"};
    for (size_t i = 0; i < FX_LEN(names); i++) {
        char deps[128];
        snprintf(deps, sizeof deps, "['component:n%zu','component:n%zu']", (i * 3 + 1) % 5,
                 (i + 2) % 5);
        add(c, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Component','metadata':"
                         "{'name':'%s'},'spec':{'type':'service','lifecycle':'production',"
                         "'owner':'t%zu','system':'s%zu','dependsOn':%s,'consumesApis':['a%zu'],"
                         "'providesApis':['a%zu']}}",
                         names[i], i % 2, i % 3, deps, i % 2, (i + 1) % 2));
    }
    char *first = graph_json(build_graph(c), NULL);
    /* reverse the input */
    for (size_t i = 0; i < c->n / 2; i++) {
        json_t *t = c->items[i];
        c->items[i] = c->items[c->n - 1 - i];
        c->items[c->n - 1 - i] = t;
    }
    char *second = graph_json(build_graph(c), NULL);
    assert_string_equal(first, second);
    free(first);
    free(second);
}

static json_t *comp(const char *name, const char *owner, const char *system, const char *deps)
{
    return fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Component','metadata':"
                     "{'name':'%s'},'spec':{'type':'service','lifecycle':'production',"
                     "'owner':'%s'%s%s%s,'dependsOn':%s}}",
                     name, owner, system ? ",'system':'" : "", system ? system : "",
                     system ? "'" : "", deps);
}

/* The marked nodes' names ("name=2" for scope nodes), joined by ','. */
static const char *scope_text(const cw_graph *g, const char *key, unsigned depth, cw_err *err)
{
    static char buf[4096];
    uint8_t mark[64];
    size_t count = 0;
    cw_diag d = {""};
    assert_true(g->nnodes <= sizeof mark);
    *err = cw_graph_scope(g, key, depth, mark, &count, &d);
    size_t o = 0, seen = 0;
    buf[0] = '\0';
    for (size_t v = 0; !*err && v < g->nnodes; v++) {
        if (!mark[v])
            continue;
        seen++;
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s%s", o ? "," : "",
                              strrchr(g->nodes[v].ref, '/') + 1, mark[v] == 2 ? "=2" : "");
    }
    if (!*err)
        assert_int_equal(seen, count);
    return buf;
}

static void test_scope_and_depth(void **state)
{
    cat *c = *state;
    /* a chain p1 -> p2 -> q1 -> q2 -> r1 across systems sp, sq, sr; sp and sq in domain d */
    add(c, comp("p1", "team-p", "sp", "['component:p2']"));
    add(c, comp("p2", "team-p", "sp", "['component:q1']"));
    add(c, comp("q1", "team-q", "sq", "['component:q2']"));
    add(c, comp("q2", "team-q", "sq", "['component:r1']"));
    add(c, comp("r1", "team-p", "sr", "[]"));
    add(c, comp("lone", "team-z", NULL, "[]"));
    add(c, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'System','metadata':"
                     "{'name':'sp'},'spec':{'owner':'team-p','domain':'d'}}"));
    add(c, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'System','metadata':"
                     "{'name':'sq'},'spec':{'owner':'team-q','domain':'d'}}"));
    cw_graph *g = build_graph(c);
    cw_err err;
    assert_string_equal(scope_text(g, "system:default/sq", 0, &err), "q1=2,q2=2");
    assert_string_equal(scope_text(g, "system:default/sq", 1, &err), "p2,q1=2,q2=2,r1");
    assert_string_equal(scope_text(g, "system:default/sq", 2, &err), "p1,p2,q1=2,q2=2,r1");
    assert_string_equal(scope_text(g, "domain:default/d", 0, &err), "p1=2,p2=2,q1=2,q2=2");
    assert_string_equal(scope_text(g, "group:default/team-p", 0, &err), "p1=2,p2=2,r1=2");
    assert_string_equal(scope_text(g, "component:default/r1", 1, &err), "q2,r1=2");
    assert_string_equal(scope_text(g, "component:default/lone", 3, &err), "lone=2");
    assert_string_equal(scope_text(g, "org", 0, &err), "lone=2,p1=2,p2=2,q1=2,q2=2,r1=2");
    assert_string_equal(scope_text(g, NULL, 0, &err), "lone=2,p1=2,p2=2,q1=2,q2=2,r1=2");
    scope_text(g, "component:default/nope", 1, &err);
    assert_int_equal(err, CW_ERR_NOT_FOUND);
    scope_text(g, "system:default/sq", CW_GRAPH_MAX_DEPTH + 1, &err);
    assert_int_equal(err, CW_ERR_INVALID);
    /* the subgraph's JSON keeps the edges between marked nodes only */
    uint8_t mark[64];
    size_t count;
    cw_diag d = {""};
    assert_int_equal(cw_graph_scope(g, "system:default/sq", 0, mark, &count, &d), CW_OK);
    char *j = graph_json(g, mark);
    assert_non_null(strstr(j, "\"from\":\"component:default/q1\",\"to\":\"component:default/q2\""));
    assert_null(strstr(j, "component:default/p2"));
    assert_non_null(strstr(j, "\"domain\":\"domain:default/d\""));
    assert_non_null(strstr(j, "\"scope\":true"));
    free(j);
}

static void test_dot_output(void **state)
{
    cat *c = *state;
    /* a dependency on a ref with characters DOT and URLs must not see raw */
    add(c, comp("web", "team-a", "shop", "['component:default/we\\\"ird name<x>&\\\\y']"));
    cw_graph *g = build_graph(c);
    cw_buf b;
    cw_buf_init(&b, 1 << 20);
    cw_diag d = {""};
    uint8_t lv[8] = {0};
    lv[cw_graph_find(g, "component:default/web")] = 2;
    cw_graph_marks marks = {.node_level = lv};
    assert_int_equal(cw_graph_to_dot(g, NULL, &marks, &b, &d), CW_OK);
    const char *dot = cw_buf_cstr(&b);
    assert_non_null(strstr(dot, "subgraph cluster_0 {\n    label=\"shop\""));
    assert_non_null(strstr(dot, "URL=\"/entity/component/default/web\""));
    assert_non_null(strstr(dot, "finding-error"));
    assert_non_null(strstr(dot, "label=\"we\\\"ird name<x>&\\\\y\""));
    assert_non_null(strstr(dot, "URL=\"/entity/component/default/we%22ird%20name%3Cx%3E%26%5Cy\""));
    assert_non_null(strstr(dot, "class=\"node-component missing\""));
    /* a cap too small is CW_ERR_TOO_LARGE, not a truncated graph */
    cw_buf small;
    cw_buf_init(&small, 100);
    assert_int_equal(cw_graph_to_dot(g, NULL, NULL, &small, &d), CW_ERR_TOO_LARGE);
    cw_buf_free(&small);
    cw_buf_free(&b);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, cat_setup, cat_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scc_small_cycles),
        cmocka_unit_test(test_shortest_cycle_in_a_tangle),
        cmocka_unit_test(test_thousand_node_cycle),
        cmocka_unit_test(test_long_chain_and_disconnected),
        cmocka_unit_test(test_empty_graph),
        T(test_catalog_edges),
        T(test_stored_relations_only),
        T(test_order_independent),
        T(test_scope_and_depth),
        T(test_dot_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
