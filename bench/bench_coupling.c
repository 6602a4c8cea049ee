/*
 * bench_coupling.c — release coupling when every component is deployed
 * with every other (issue #10): N components (default 2,000), each deployed
 * once in each of R rounds (default 5) a day apart, all of a round within
 * N × 10 ms, so every pair of components is "together" R times:
 * N(N-1)/2 pairs, all flagged.
 *
 * Prints, for the page the API answers (limit 100: the first page and one
 * a million pairs deep) and for the same computation keeping every pair
 * (limit 0, the same-run baseline: what an unpaged answer must hold before
 * it is rendered), the best wall time of 3 and the growth of the process's
 * peak resident memory (ru_maxrss) each caused. Pure computation: no store,
 * no JSON.
 *
 * usage: bench_coupling [COMPONENTS] [ROUNDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "insights/coupling.h"

#define DAY_MS 86400000LL

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_coupling: %s: %s\n", what, msg);
    exit(1);
}

typedef struct {
    double best_ms;
    long peak_growth_kb;
    size_t npairs, total;
} run_result;

/* Best of 3 runs of one page; the peak memory growth over `before`. */
static run_result run(const cw_dora_input *in, cw_coupling_params p, long before)
{
    run_result rr = {1e300, 0, 0, 0};
    for (int k = 0; k < 3; k++) {
        cw_coupling_result r;
        cw_diag d = {{0}};
        double t0 = now_s();
        if (cw_coupling_compute(in, &p, &r, &d))
            die("compute", d.msg);
        double ms = (now_s() - t0) * 1000;
        if (ms < rr.best_ms)
            rr.best_ms = ms;
        rr.npairs = r.npairs;
        rr.total = r.total_pairs;
        cw_coupling_free(&r);
    }
    rr.peak_growth_kb = peak_kb() - before;
    return rr;
}

int main(int argc, char **argv)
{
    size_t nc = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000;
    size_t rounds = argc > 2 ? strtoul(argv[2], NULL, 10) : 5;
    if (nc < 2 || rounds < 1)
        die("usage", "bench_coupling [COMPONENTS >= 2] [ROUNDS >= 1]");
    int64_t base = 1793491200000LL; /* 2026-11-01T00:00:00Z */
    cw_dora_deployment *deps = calloc(nc * rounds, sizeof *deps);
    if (!deps)
        die("input", "out of memory");
    for (size_t r = 0; r < rounds; r++)
        for (size_t c = 0; c < nc; c++)
            deps[r * nc + c] = (cw_dora_deployment){(int32_t)c,
                                                    base + (int64_t)r * DAY_MS + (int64_t)c * 10,
                                                    NULL, NULL, NULL, 0};
    cw_dora_input in = {.ncomponents = nc, .deployments = deps, .ndeployments = nc * rounds};
    cw_coupling_params p = {.from_ms = base - DAY_MS, .to_ms = base + (int64_t)(rounds + 1) * DAY_MS,
                            .window_ms = 15 * 60000, .min_together = 5, .min_confidence = 0.8,
                            .limit = 100};
    printf("input: %zu components, %zu deployments (%zu rounds), %zu pairs\n", nc, nc * rounds,
           rounds, nc * (nc - 1) / 2);

    long before = peak_kb();
    run_result first = run(&in, p, before);
    /* a page a million pairs deep (or half way for smaller inputs) */
    size_t deep = nc * (nc - 1) / 2 > 2000000 ? 1000000 : nc * (nc - 1) / 4;
    size_t a = 0, left = deep;
    while (left >= nc - 1 - a) {
        left -= nc - 1 - a;
        a++;
    }
    cw_coupling_cursor cur = {true, rounds, rounds, 2 * (int64_t)a, 2 * (int64_t)(a + 1 + left)};
    p.after = &cur;
    run_result later = run(&in, p, before);
    p.after = NULL;
    p.limit = 0;
    long before_all = peak_kb();
    run_result all = run(&in, p, before_all);

    printf("page of 100, first:             %8.1f ms, peak RSS +%6.1f MiB (%zu pairs of %zu)\n",
           first.best_ms, (double)first.peak_growth_kb / 1024, first.npairs, first.total);
    printf("page of 100, %zu pairs deep: %8.1f ms, peak RSS +%6.1f MiB (%zu pairs)\n", deep,
           later.best_ms, (double)later.peak_growth_kb / 1024, later.npairs);
    printf("baseline, every pair kept:      %8.1f ms, peak RSS +%6.1f MiB (%zu pairs)\n",
           all.best_ms, (double)all.peak_growth_kb / 1024, all.npairs);
    printf("page / baseline: time %.2fx, memory %.3fx\n", first.best_ms / all.best_ms,
           all.peak_growth_kb ? (double)first.peak_growth_kb / (double)all.peak_growth_kb : 0.0);
    free(deps);
    return 0;
}
