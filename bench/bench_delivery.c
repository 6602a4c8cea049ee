/*
 * bench_delivery.c — the delivery insights in-process, as the HTTP routes
 * run them (the store's rows streamed into the collector, the pure
 * computation, the JSON answer), over a database bench/generate-scale.mjs
 * filled: for instruction counts under callgrind and for the split of the
 * time between reading rows and computing, which bench/delivery.sh (through
 * the real server) does not show. Prints per question the rows the
 * collector kept and the best / median wall time of REPS runs.
 *
 * Usage: bench_delivery DB [QUESTION...] [--reps N] [--to ISO]
 *   QUESTION: dora-org, dora-org-90d, dora-comp, dora-group, undeployed-org,
 *             coupling-org (default: dora-org dora-comp)
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/scope.h"
#include "insights/coupling.h"
#include "insights/delivery.h"
#include "insights/dora.h"
#include "insights/undeployed.h"
#include "store/store.h"
#include "util/timeutil.h"

#define DAY_MS 86400000LL

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_delivery: %s: %s\n", what, msg);
    exit(1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    const char *name, *scope;
    int kind;      /* 0 DORA, 1 undeployed, 2 coupling */
    int days;
} question;

static const question QUESTIONS[] = {
    {"dora-org", "org", 0, 30},
    {"dora-org-90d", "org", 0, 90},
    {"dora-comp", "component:default/svc-0003", 0, 30},
    {"dora-group", "group:default/team-042", 0, 30},
    {"undeployed-org", "org", 1, 0},
    {"coupling-org", "org", 2, 30},
};

/* One answer: load, compute, JSON; times of load and compute into t. */
static size_t run(cw_store *s, const question *qu, int64_t to, double t[2])
{
    cw_scope sc;
    cw_diag d = {{0}};
    if (cw_scope_parse(qu->scope, &sc, &d))
        die(qu->scope, d.msg);
    int64_t from = to - qu->days * DAY_MS;
    unsigned what = qu->kind == 0   ? CW_DELIVERY_ALL
                    : qu->kind == 1 ? CW_DELIVERY_DEPLOYMENTS | CW_DELIVERY_CHANGES
                                    : CW_DELIVERY_DEPLOYMENTS;
    cw_delivery_query q = {.scope = &sc, .what = what,
                           .from_ms = qu->kind == 1 ? 0 : from, .to_ms = qu->kind == 1 ? 0 : to};
    double t0 = now_ms();
    cw_delivery_collector *c = NULL;
    cw_delivery_data dd;
    if (cw_delivery_collector_new(&q, &c, &d) ||
        cw_store_delivery_scan(s, &q, cw_delivery_collector_sink(), c, &d) ||
        cw_delivery_collector_finish(c, &dd, &d))
        die(qu->name, d.msg);
    cw_delivery_collector_free(c);
    double t1 = now_ms();
    size_t rows = dd.in.ndeployments + dd.in.nrollbacks + dd.in.nchanges + dd.in.nincidents;
    json_t *j = NULL;
    if (qu->kind == 0) {
        cw_dora_params p = {.from_ms = from, .to_ms = to, .failure_window_hours = 24};
        cw_dora_result r;
        if (cw_dora_compute(&dd.in, &p, &r, &d) || cw_dora_to_json(&r, qu->scope, &j))
            die(qu->name, d.msg);
        cw_dora_result_free(&r);
    } else if (qu->kind == 1) {
        cw_undeployed_result r;
        if (cw_undeployed_compute(&dd.in, to, 50, &r, &d) ||
            cw_undeployed_to_json(&r, (const char *const *)dd.component_refs, to, &j))
            die(qu->name, d.msg);
        cw_undeployed_free(&r);
    } else {
        cw_coupling_params p = {.from_ms = from, .to_ms = to, .window_ms = 15 * 60000,
                                .min_together = 5, .min_confidence = 0.8};
        cw_coupling_result r;
        if (cw_coupling_compute(&dd.in, &p, &r, &d) ||
            cw_coupling_to_json(&r, (const char *const *)dd.component_refs,
                                (const char *const *)dd.owner_refs, &j))
            die(qu->name, d.msg);
        cw_coupling_free(&r);
    }
    char *text = json_dumps(j, JSON_COMPACT);
    free(text);
    json_decref(j);
    cw_delivery_data_free(&dd);
    t[0] = t1 - t0;
    t[1] = now_ms() - t1;
    return rows;
}

int main(int argc, char **argv)
{
    const char *db = NULL;
    const char *names[16];
    size_t nnames = 0;
    int reps = 5;
    int64_t to = 0;
    cw_diag d = {{0}};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]) > 0 ? atoi(argv[i]) : 1;
        else if (!strcmp(argv[i], "--to") && i + 1 < argc) {
            if (!cw_time_parse_rfc3339(argv[++i], &to))
                die("--to", "not an RFC 3339 time");
        } else if (!db)
            db = argv[i];
        else if (nnames < 16)
            names[nnames++] = argv[i];
    }
    if (!db)
        die("usage", "bench_delivery DB [QUESTION...] [--reps N] [--to ISO]");
    if (!to && !cw_time_parse_rfc3339("2026-12-01T00:00:00Z", &to))
        die("--to", "bad default");
    if (!nnames) {
        names[nnames++] = "dora-org";
        names[nnames++] = "dora-comp";
    }
    cw_store *s = NULL;
    if (cw_store_open(db, NULL, &s, &d))
        die(db, d.msg);
    printf("%-16s %8s %10s %10s %10s\n", "question", "rows", "best_ms", "median_ms",
           "load_ms");
    for (size_t n = 0; n < nnames; n++) {
        const question *qu = NULL;
        for (size_t k = 0; k < sizeof QUESTIONS / sizeof QUESTIONS[0]; k++)
            if (!strcmp(QUESTIONS[k].name, names[n]))
                qu = &QUESTIONS[k];
        if (!qu)
            die(names[n], "unknown question");
        double *tot = calloc((size_t)reps, sizeof *tot), *ld = calloc((size_t)reps, sizeof *ld);
        if (!tot || !ld)
            die("memory", "out of memory");
        size_t rows = 0;
        for (int r = 0; r < reps; r++) {
            double t[2];
            rows = run(s, qu, to, t);
            tot[r] = t[0] + t[1];
            ld[r] = t[0];
        }
        qsort(tot, (size_t)reps, sizeof *tot, cmp_double);
        qsort(ld, (size_t)reps, sizeof *ld, cmp_double);
        printf("%-16s %8zu %10.1f %10.1f %10.1f\n", qu->name, rows, tot[0],
               tot[(reps - 1) / 2], ld[(reps - 1) / 2]);
        free(tot);
        free(ld);
    }
    cw_store_close(s);
    return 0;
}
