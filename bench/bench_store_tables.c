/*
 * bench_store_tables.c — the store's table operations (tokens, heartbeats,
 * metrics) through the public API, on SQLite and, when a URL is given, on
 * PostgreSQL: what the statement layer (src/store/sql.h) must not make
 * slower. Each figure is operations per second over a fixed count:
 *   - token find (the lookup of every authenticated request);
 *   - heartbeat ping (one write transaction: row lock, state, log, flip);
 *   - heartbeat get;
 *   - metrics put of 20,000 samples over 20 series (one transaction);
 *   - metrics query, avg over 60 steps of one series.
 * Each is measured REPEAT times and the best kept: on a machine shared with
 * other work the best run is the one least disturbed. Prints numbers only;
 * asserts nothing about time.
 *
 * Usage: bench_store_tables [postgres-url]
 *   The PostgreSQL URL must name a database the bench may create and drop
 *   the schema bench_store_tables in.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "events/metric.h"
#include "store/store.h"
#include "store/store_heartbeats.h"
#include "store/store_metrics.h"
#include "util/crypto.h"

#define FINDS 5000
#define PINGS 1000
#define GETS 5000
#define SAMPLES 20000
#define PUTS REPEAT /* each put is one measurement */
#define QUERIES 500
#define REPEAT 5

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_store_tables: %s: %s\n", what, msg);
    exit(1);
}

static void check(cw_err err, const char *what, const cw_diag *d)
{
    if (err)
        die(what, d->msg);
}

static void report(const char *backend, const char *what, int n, const double *secs)
{
    double best = secs[0];
    for (int i = 1; i < REPEAT; i++)
        if (secs[i] < best)
            best = secs[i];
    printf("| %s | %s | %d | %.0f |\n", backend, what, n, n / best);
}

static void run(const char *backend, const char *url)
{
    cw_diag d = {{0}};
    cw_store *s = NULL;
    check(cw_store_open(url, NULL, &s, &d), "open", &d);

    /* tokens */
    char hash[65];
    cw_sha256_hex("bench-secret", 12, hash);
    cw_token tok;
    check(cw_store_token_create(s, "bench", "admin", "", hash, &tok, &d), "token", &d);
    double secs[REPEAT];
    for (int r = 0; r < REPEAT; r++) {
        double t0 = now_s();
        for (int i = 0; i < FINDS; i++)
            check(cw_store_token_find(s, hash, &tok, &d), "token find", &d);
        secs[r] = now_s() - t0;
    }
    report(backend, "token find", FINDS, secs);

    /* heartbeats */
    json_error_t je;
    json_t *e = json_loads("{\"apiVersion\":\"conway.dev/v1\",\"kind\":\"Heartbeat\","
                           "\"metadata\":{\"name\":\"nightly\"},\"spec\":{\"owner\":"
                           "\"group:default/team-a\",\"purpose\":\"backup\",\"target\":"
                           "\"resource:default/db\",\"period\":\"1h\",\"grace\":\"10m\"}}",
                           0, &je);
    if (!e)
        die("entity", je.text);
    check(cw_store_entity_put(s, e, NULL, NULL, &d), "heartbeat entity", &d);
    json_decref(e);
    cw_hb_sync_result sr;
    int64_t base = 1767225600000; /* 2026-01-01 */
    check(cw_store_hb_sync(s, base, &sr, &d), "sync", &d);
    char key_hash[65];
    cw_sha256_hex("ping-key", 8, key_hash);
    check(cw_store_hb_set_key(s, "heartbeat:default/nightly", key_hash, &d), "set key", &d);
    for (int r = 0; r < REPEAT; r++) {
        double t0 = now_s();
        for (int i = 0; i < PINGS; i++) {
            cw_hb_ping_in in = {.key_hash = key_hash, .kind = CW_PING_SUCCESS, .exit_status = -1,
                                .method = "POST", .remote = "127.0.0.1", .ua = "bench",
                                .body = "ok", .body_len = 2, .body_size = 2,
                                .now_ms = base + 60000 * (int64_t)(r * PINGS + i)};
            cw_hb_ping_out out;
            check(cw_store_hb_ping(s, &in, 1, &out, &d), "ping", &d);
            if (out.err)
                die("ping", "not found");
        }
        secs[r] = now_s() - t0;
    }
    report(backend, "heartbeat ping", PINGS, secs);
    for (int r = 0; r < REPEAT; r++) {
        double t0 = now_s();
        for (int i = 0; i < GETS; i++) {
            cw_hb_row row;
            check(cw_store_hb_get(s, "heartbeat:default/nightly", &row, &d), "hb get", &d);
        }
        secs[r] = now_s() - t0;
    }
    report(backend, "heartbeat get", GETS, secs);

    /* metrics */
    for (int p = 0; p < PUTS; p++) {
        cw_metric_batch b = {0};
        for (int i = 0; i < SAMPLES; i++) {
            char v[16];
            snprintf(v, sizeof v, "s%d", i % 20);
            cw_metric_label l = {"series", v};
            check(cw_metric_batch_add(&b, "bench_metric", &l, 1,
                                      base + 1000 * (int64_t)(p * SAMPLES + i), i * 0.5, 0, &d),
                  "batch", &d);
        }
        cw_metric_batch_finish(&b);
        cw_metric_put_result res;
        double t0 = now_s();
        check(cw_store_metrics_put(s, &b, &res, &d), "metrics put", &d);
        secs[p] = now_s() - t0;
        cw_metric_batch_free(&b);
    }
    report(backend, "metric samples put (20,000 per put)", SAMPLES, secs);
    cw_metric_label m = {"series", "s3"};
    cw_metric_labels match = {&m, 1};
    cw_metric_query q = {.name = "bench_metric",
                         .match = &match,
                         .from_ms = base,
                         .to_ms = base + 1000LL * PUTS * SAMPLES,
                         .step_ms = 1000LL * PUTS * SAMPLES / 60,
                         .agg = CW_AGG_AVG};
    for (int r = 0; r < REPEAT; r++) {
        double t0 = now_s();
        for (int i = 0; i < QUERIES; i++) {
            cw_metric_result res = {0};
            check(cw_store_metrics_query(s, &q, &res, &d), "metrics query", &d);
            if (res.nseries != 1)
                die("metrics query", "not one series");
            cw_metric_result_free(&res);
        }
        secs[r] = now_s() - t0;
    }
    report(backend, "metric query (avg, 60 steps)", QUERIES, secs);
    cw_store_close(s);
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/bench_store_tables_XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp", "failed");
    char path[128];
    snprintf(path, sizeof path, "%s/conway.db", dir);
    printf("| backend | operation | count | per second |\n|---|---|---:|---:|\n");
    run("sqlite", path);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_store_tables: could not remove %s\n", dir);
    if (argc > 1) {
        /* a schema of its own, made afresh */
        char url[1024], sql[256];
        snprintf(sql, sizeof sql,
                 "psql -q '%s' -c 'DROP SCHEMA IF EXISTS bench_store_tables CASCADE; "
                 "CREATE SCHEMA bench_store_tables' >/dev/null",
                 argv[1]);
        if (system(sql) != 0)
            die("psql", "could not create the schema bench_store_tables");
        snprintf(url, sizeof url, "%s%coptions=-csearch_path%%3Dbench_store_tables", argv[1],
                 strchr(argv[1], '?') ? '&' : '?');
        run("postgres", url);
    }
    return 0;
}
