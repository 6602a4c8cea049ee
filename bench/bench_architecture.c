/*
 * bench_architecture.c — what the architecture feedback of issue 12 costs,
 * each figure beside a baseline measured in the same run:
 *
 *   1. the dependency graph and every architecture finding over an
 *      organisation of N components (default 10,000) with 3 dependency
 *      edges each (30,000: two dependsOn, one consumed API), in 100 teams,
 *      500 systems and 50 domains, with databases, writers and cycles;
 *      baseline: the ownership findings (cw_ownership_check) over the same
 *      entities, another linear whole-catalog insight. Target: graph +
 *      findings <= 200 ms.
 *   2. the SVG of one 200-component system (layered, ~2.5 dependencies
 *      each, a few cycles, its APIs and databases), drawn by Graphviz as
 *      GET /api/v1/graph?format=svg does; baseline: the same subgraph
 *      rendered as JSON (format=json). Target: <= 1 s.
 *   3. the same for a 200-component tangle (three random dependencies
 *      each, cycles everywhere): its layered cost estimate sends it to
 *      sfdp (dot takes over a minute on such a graph).
 *
 * Prints numbers only; asserts nothing about time.
 * Usage: bench_architecture [components] [repetitions]   (10000 5)
 *        bench_architecture --write FILE [components]    the organisation as
 *        a JSON array of entities, for `conway import` (bench/architecture.sh)
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/catalog.h"
#include "http/graph_svg.h"
#include "insights/architecture.h"
#include "insights/graph.h"
#include "insights/ownership.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this thread: what a figure costs whatever else runs on a
 * shared machine (wall time there is several times longer). */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_architecture: %s: %s\n", what, msg);
    exit(1);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static size_t rnd(size_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (size_t)(rng % n);
}

typedef struct {
    json_t **items;
    size_t n, cap;
} list;

static void push(list *l, json_t *e)
{
    cw_diag d = {{0}};
    if (!e || cw_entity_validate(e, &d))
        die("entity", d.msg);
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->items = realloc(l->items, l->cap * sizeof *l->items);
        if (!l->items)
            die("memory", "out of memory");
    }
    l->items[l->n++] = e;
}

static void list_free(list *l)
{
    for (size_t i = 0; i < l->n; i++)
        json_decref(l->items[i]);
    free(l->items);
}

static json_t *named(const char *kind, const char *name, json_t *spec)
{
    return json_pack("{s:s, s:s, s:{s:s}, s:o}", "apiVersion", "backstage.io/v1alpha1", "kind",
                     kind, "metadata", "name", name, "spec", spec);
}

/*
 * An organisation of nc components: team t owns components t*per.., each
 * system holds nc/500 consecutive components, domains hold 10 systems.
 * Each component depends on two components (70% in its own system, else
 * anywhere) and consumes the API of a third; every 20th has a database
 * that components of neighbouring teams also use.
 */
static void organisation(list *l, size_t nc)
{
    size_t teams = 100, systems = 500, domains = 50, per_sys = nc / systems ? nc / systems : 1;
    char name[64], a[64], b[64], c[64];
    for (size_t t = 0; t < teams; t++) {
        snprintf(name, sizeof name, "team-%zu", t);
        push(l, named("Group", name, json_pack("{s:s, s:[]}", "type", "team", "children")));
    }
    for (size_t dm = 0; dm < domains; dm++) {
        snprintf(name, sizeof name, "dom-%zu", dm);
        snprintf(a, sizeof a, "team-%zu", dm % teams);
        push(l, named("Domain", name, json_pack("{s:s}", "owner", a)));
    }
    for (size_t s = 0; s < systems; s++) {
        snprintf(name, sizeof name, "sys-%zu", s);
        snprintf(a, sizeof a, "team-%zu", s % teams);
        snprintf(b, sizeof b, "dom-%zu", s / (systems / domains));
        push(l, named("System", name, json_pack("{s:s, s:s}", "owner", a, "domain", b)));
    }
    for (size_t i = 0; i < nc; i++) {
        size_t sys = i / per_sys % systems, team = i * teams / nc;
        snprintf(name, sizeof name, "svc-%zu", i);
        snprintf(a, sizeof a, "team-%zu", team);
        snprintf(b, sizeof b, "sys-%zu", sys);
        json_t *deps = json_array();
        for (int k = 0; k < 2; k++) {
            size_t t = rnd(10) < 7 ? sys * per_sys + rnd(per_sys) : rnd(nc);
            if (t == i || t >= nc)
                t = (i + 1 + (size_t)k) % nc;
            snprintf(c, sizeof c, "component:svc-%zu", t);
            json_array_append_new(deps, json_string(c));
        }
        if (i % 20 == 0) {
            snprintf(c, sizeof c, "resource:db-%zu", i / 20);
            json_array_append_new(deps, json_string(c));
        } else if (i % 20 == 1) {
            snprintf(c, sizeof c, "resource:db-%zu", i / 20 / 3 * 3);
            json_array_append_new(deps, json_string(c));
        }
        snprintf(c, sizeof c, "api-%zu", (i + 1 + rnd(nc - 1)) % nc);
        char own_api[64];
        snprintf(own_api, sizeof own_api, "api-%zu", i);
        json_t *e = named("Component", name,
                          json_pack("{s:s, s:s, s:s, s:s, s:o, s:[s], s:[s]}", "type", "service",
                                    "lifecycle", i % 97 ? "production" : "deprecated", "owner", a,
                                    "system", b, "dependsOn", deps, "providesApis", own_api,
                                    "consumesApis", c));
        if (i % 20 == 1) {
            snprintf(c, sizeof c, "resource:db-%zu", i / 20 / 3 * 3);
            json_object_set_new(json_object_get(e, "metadata"), "annotations",
                                json_pack("{s:s}", "conway.dev/writes", c));
        }
        push(l, e);
        snprintf(own_api, sizeof own_api, "api-%zu", i);
        push(l, named("API", own_api, json_pack("{s:s, s:s, s:s, s:s}", "type", "openapi",
                                                 "lifecycle", "production", "owner", a,
                                                 "definition", "openapi: 3.1.0")));
        if (i % 20 == 0) {
            snprintf(name, sizeof name, "db-%zu", i / 20);
            push(l, named("Resource", name, json_pack("{s:s, s:s}", "type", "database", "owner", a)));
        }
    }
}

/* One system of n components on `layers` layers (dependencies go to lower
 * layers, plus `back` edges upwards), or a tangle (layers 0: anywhere). */
static void system_of(list *l, size_t n, size_t layers, size_t back)
{
    char name[64], c[64];
    push(l, named("System", "big", json_pack("{s:s}", "owner", "team-a")));
    for (size_t i = 0; i < n; i++) {
        size_t layer = layers ? i * layers / n : 0, hi = layers ? (layer + 1) * n / layers : n;
        json_t *deps = json_array();
        size_t want = layers ? (i % 2 ? 2 : 3) : 3;
        for (size_t k = 0; k < want && (!layers || hi < n); k++) {
            size_t t = layers ? hi + rnd(n - hi) : rnd(n);
            snprintf(c, sizeof c, "component:c%zu", t);
            json_array_append_new(deps, json_string(c));
        }
        if (layers && i < back) {
            snprintf(c, sizeof c, "component:c%zu", n - 1 - i * 7 % (n / 2));
            json_array_append_new(deps, json_string(c));
        }
        snprintf(name, sizeof name, "c%zu", i);
        push(l, named("Component", name,
                      json_pack("{s:s, s:s, s:s, s:s, s:o}", "type", "service", "lifecycle",
                                "production", "owner", i % 3 ? "team-a" : "team-b", "system", "big",
                                "dependsOn", deps)));
    }
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_d);
    return v[n / 2];
}

static void bench_org(size_t nc, size_t reps)
{
    list l = {0};
    organisation(&l, nc);
    double *tg = calloc(reps, sizeof *tg), *tf = calloc(reps, sizeof *tf),
           *to = calloc(reps, sizeof *to), *co = calloc(reps, sizeof *co),
           *cs = calloc(reps, sizeof *cs);
    size_t nfind = 0, nedges = 0, ndep = 0;
    cw_diag d = {{0}};
    for (size_t r = 0; r < reps; r++) {
        double t0 = now_s(), c0 = cpu_s();
        json_t *own = NULL;
        if (cw_ownership_check(l.items, l.n, NULL, &own, &d))
            die("ownership", d.msg);
        double t1 = now_s(), c1 = cpu_s();
        cw_graph *g = NULL;
        if (cw_graph_build(l.items, l.n, &g, &d))
            die("graph", d.msg);
        double t2 = now_s();
        json_t *res = NULL;
        if (cw_arch_check(g, l.items, l.n, NULL, 0, NULL, &res, &d))
            die("architecture", d.msg);
        double t3 = now_s(), c3 = cpu_s();
        to[r] = t1 - t0;
        tg[r] = t2 - t1;
        tf[r] = t3 - t2;
        co[r] = c1 - c0;
        cs[r] = c3 - c1;
        nfind = json_array_size(json_object_get(res, "findings"));
        nedges = g->nedges;
        ndep = g->dep.start[g->nnodes];
        json_decref(res);
        json_decref(own);
        cw_graph_free(g);
    }
    double sum[64];
    for (size_t r = 0; r < reps && r < 64; r++)
        sum[r] = tg[r] + tf[r];
    printf("organisation: %zu entities, %zu components, %zu graph edges (%zu distinct "
           "dependencies), %zu findings; median of %zu\n",
           l.n, nc, nedges, ndep, nfind, reps);
    double mo = median(to, reps), mg = median(tg, reps), mf = median(tf, reps),
           ms = median(sum, reps < 64 ? reps : 64);
    printf("  baseline: ownership findings       %8.1f ms\n", mo * 1e3);
    printf("  graph build                        %8.1f ms\n", mg * 1e3);
    printf("  architecture findings              %8.1f ms\n", mf * 1e3);
    printf("  graph + findings                   %8.1f ms  (%.2fx the baseline; target 200 ms)\n",
           ms * 1e3, ms / mo);
    double mco = median(co, reps), mcs = median(cs, reps);
    printf("  CPU time: baseline %.1f ms, graph + findings %.1f ms (%.2fx)\n", mco * 1e3,
           mcs * 1e3, mcs / mco);
    free(co);
    free(cs);
    free(tg);
    free(tf);
    free(to);
    list_free(&l);
}

static void bench_svg(const char *what, size_t layers, size_t back, size_t reps)
{
    list l = {0};
    system_of(&l, 200, layers, back);
    cw_diag d = {{0}};
    cw_graph *g = NULL;
    json_t *res = NULL;
    if (cw_graph_build(l.items, l.n, &g, &d) ||
        cw_arch_check(g, l.items, l.n, NULL, 0, NULL, &res, &d))
        die("graph", d.msg);
    uint8_t *mark = malloc(g->nnodes);
    size_t count = 0;
    if (!mark || cw_graph_scope(g, "system:default/big", 1, mark, &count, &d))
        die("scope", d.msg);
    cw_graph_marks m = {0};
    if (cw_arch_marks(g, json_object_get(res, "findings"), &m, &d))
        die("marks", d.msg);
    size_t cost = cw_graph_layered_cost(g, mark);
    const char *engine = cw_graph_svg_engine(cost);
    double *tj = calloc(reps, sizeof *tj), *ts = calloc(reps, sizeof *ts);
    double *cj = calloc(reps, sizeof *cj), *csv = calloc(reps, sizeof *csv);
    size_t svg_len = 0;
    for (size_t r = 0; r < reps; r++) {
        double t0 = now_s(), c0 = cpu_s();
        json_t *j = NULL;
        if (cw_graph_to_json(g, mark, &m, &j, &d))
            die("json", d.msg);
        char *text = json_dumps(j, JSON_COMPACT);
        free(text);
        json_decref(j);
        double t1 = now_s(), c1 = cpu_s();
        cw_buf dot, svg;
        cw_buf_init(&dot, 0);
        cw_buf_init(&svg, 0);
        if (cw_graph_to_dot(g, mark, &m, &dot, &d) ||
            cw_graph_svg(cw_buf_cstr(&dot), engine, &svg, &d))
            die("svg", d.msg);
        double t2 = now_s(), c2 = cpu_s();
        cj[r] = c1 - c0;
        csv[r] = c2 - c1;
        svg_len = svg.len;
        cw_buf_free(&dot);
        cw_buf_free(&svg);
        tj[r] = t1 - t0;
        ts[r] = t2 - t1;
    }
    printf("%s: %zu nodes, %zu edges drawn, layered cost %zu -> %s; median of %zu\n", what, count,
           g->nedges, cost, engine, reps);
    double mj = median(tj, reps), msv = median(ts, reps);
    printf("  baseline: the same subgraph as JSON %7.1f ms\n", mj * 1e3);
    printf("  DOT + SVG (%s)                   %8.1f ms  (%zu bytes; target 1000 ms)\n", engine,
           msv * 1e3, svg_len);
    printf("  CPU time: JSON %.1f ms, DOT + SVG %.1f ms\n", median(cj, reps) * 1e3,
           median(csv, reps) * 1e3);
    free(cj);
    free(csv);
    free(tj);
    free(ts);
    cw_arch_marks_free(&m);
    free(mark);
    json_decref(res);
    cw_graph_free(g);
    list_free(&l);
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "--write")) {
        size_t n = argc > 3 ? strtoul(argv[3], NULL, 10) : 10000;
        list l = {0};
        organisation(&l, n < 1000 ? 1000 : n);
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < l.n; i++)
            json_array_append(arr, l.items[i]);
        if (!arr || json_dump_file(arr, argv[2], JSON_COMPACT))
            die("write", argv[2]);
        json_decref(arr);
        list_free(&l);
        return 0;
    }
    size_t nc = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    size_t reps = argc > 2 ? strtoul(argv[2], NULL, 10) : 5;
    if (nc < 1000 || reps < 1 || reps > 64)
        die("usage", "bench_architecture [components >= 1000] [repetitions 1-64]");
    bench_org(nc, reps);
    bench_svg("a 200-component layered system", 6, 5, reps);
    bench_svg("a 200-component tangle", 0, 0, reps);
    return 0;
}
