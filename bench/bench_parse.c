/*
 * bench_parse.c — what parsing catalog files costs (cw_parse_documents,
 * libyaml events turned into JSON with conway's limits and YAML 1.2 scalar
 * rules), for N generated components (default 10,000, the shape of
 * bench/catalog.sh's import), beside a baseline measured in the same run:
 * the same documents as one JSON array through the same function (jansson).
 * The ratio says how much the YAML path costs over plain JSON parsing of
 * identical content. Each figure is the best of R repetitions (default 5).
 * Prints numbers only; asserts nothing about time.
 *
 * Usage: bench_parse [components] [repetitions]
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/catalog.h"
#include "util/buf.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static cw_err generate(size_t n, cw_buf *yaml, cw_buf *json)
{
    cw_err err = cw_buf_putc(json, '[');
    for (size_t i = 0; i < n && !err; i++) {
        err = cw_buf_printf(yaml,
                            "---\napiVersion: backstage.io/v1alpha1\nkind: Component\n"
                            "metadata:\n  name: svc-%zu\n"
                            "  description: Generated service number %zu\n"
                            "  tags: [bench, t%zu]\n"
                            "  annotations:\n    conway.dev/service-id: svc-%zu\n"
                            "spec:\n  type: service\n  lifecycle: production\n"
                            "  owner: team-%zu\n  system: system-%zu\n"
                            "  dependsOn:\n    - component:svc-%zu\n",
                            i, i, i % 20, i, i % 50, i % 30, (i + 1) % n);
        if (!err)
            err = cw_buf_printf(
                json,
                "%s{\"apiVersion\":\"backstage.io/v1alpha1\",\"kind\":\"Component\","
                "\"metadata\":{\"name\":\"svc-%zu\",\"description\":\"Generated service "
                "number %zu\",\"tags\":[\"bench\",\"t%zu\"],\"annotations\":"
                "{\"conway.dev/service-id\":\"svc-%zu\"}},\"spec\":{\"type\":\"service\","
                "\"lifecycle\":\"production\",\"owner\":\"team-%zu\",\"system\":"
                "\"system-%zu\",\"dependsOn\":[\"component:svc-%zu\"]}}",
                i ? "," : "", i, i, i % 20, i, i % 50, i % 30, (i + 1) % n);
    }
    if (!err)
        err = cw_buf_putc(json, ']');
    return err;
}

/* Best time of reps parses; checks the document count every time. */
static int best_parse(const cw_buf *text, size_t expect, int reps, double *best)
{
    cw_parse_limits lim;
    cw_parse_limits_default(&lim);
    lim.max_documents = expect + 1;
    *best = 1e30;
    for (int r = 0; r < reps; r++) {
        json_t *docs = NULL;
        cw_diag d = {""};
        double t0 = now_s();
        cw_err err = cw_parse_documents(text->data, text->len, &lim, &docs, &d);
        double t = now_s() - t0;
        if (err || json_array_size(docs) != expect) {
            fprintf(stderr, "bench_parse: parse failed: %s\n", err ? d.msg : "wrong count");
            json_decref(docs);
            return -1;
        }
        json_decref(docs);
        if (t < *best)
            *best = t;
    }
    return 0;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
    long reps = argc > 2 ? strtol(argv[2], NULL, 10) : 5;
    if (n < 1 || n > 10000000 || reps < 1 || reps > 1000) {
        fprintf(stderr, "usage: bench_parse [components 1..10000000] [repetitions 1..1000]\n");
        return 2;
    }
    int rc = 1;
    cw_buf yaml, json;
    cw_buf_init(&yaml, 0);
    cw_buf_init(&json, 0);
    double ty, tj;
    if (generate((size_t)n, &yaml, &json) != CW_OK) {
        fprintf(stderr, "bench_parse: out of memory\n");
        goto out;
    }
    if (best_parse(&json, (size_t)n, (int)reps, &tj) || best_parse(&yaml, (size_t)n, (int)reps, &ty))
        goto out;
    printf("parse %ld components, best of %ld\n", n, reps);
    printf("  baseline JSON (jansson): %8.1f ms  %7.1f MB/s  %9.0f entities/s\n", tj * 1e3,
           (double)json.len / tj / 1e6, (double)n / tj);
    printf("  YAML (libyaml + rules):  %8.1f ms  %7.1f MB/s  %9.0f entities/s  ratio %.2f\n",
           ty * 1e3, (double)yaml.len / ty / 1e6, (double)n / ty, ty / tj);
    rc = 0;
out:
    cw_buf_free(&yaml);
    cw_buf_free(&json);
    return rc;
}
