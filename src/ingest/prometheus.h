/*
 * prometheus.h — KPIs read from Prometheus (issue #16): for every KPI
 * entity with spec.source "prometheus", a thread of `conway serve
 * --prometheus-url URL` asks Prometheus' range query API
 * (GET <url>/api/v1/query_range) for spec.query at spec.step, on a
 * schedule (spec.interval), and stores the answer as the KPI's series
 * (store_metrics.h), so goals and hypotheses can use it.
 *
 * Outgoing requests go to the configured URL only: the KPI gives the
 * PromQL expression, never a URL; redirects are not followed; only http
 * and https are spoken; answers are bounded in size and time.
 *
 * Schedule: the catalog's KPIs are re-read every few seconds; a KPI is
 * fetched when due (first at once, then every spec.interval, default 5m).
 * The first fetch reads spec.lookback (default 7d) back; later ones from
 * the end of the previous fetch (one step before it, so the last point is
 * refreshed). Times are aligned to the step, so every fetch evaluates the
 * same instants and a sample fetched twice is the same sample. A failure
 * is logged and retried at the next interval; the rest carry on.
 */
#ifndef CW_INGEST_PROMETHEUS_H
#define CW_INGEST_PROMETHEUS_H

#include <jansson.h>
#include <stdint.h>

#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

#define CW_PROM_DEFAULT_STEP_MS 3600000LL        /* 1h */
#define CW_PROM_DEFAULT_INTERVAL_MS 300000LL     /* 5m */
#define CW_PROM_DEFAULT_LOOKBACK_MS (7 * 86400000LL)
#define CW_PROM_MAX_POINTS 11000                 /* per series and request, as Prometheus */
#define CW_PROM_DEFAULT_MAX_ANSWER ((size_t)16 << 20)

typedef struct {
    const char *url;        /* http(s)://host[:port][/path prefix] */
    int64_t tick_ms;        /* how often due KPIs are looked for; 0 = 1000 */
    long timeout_s;         /* per request; 0 = 10 */
    size_t max_answer;      /* bytes of one answer; 0 = CW_PROM_DEFAULT_MAX_ANSWER */
} cw_prom_config;

typedef struct cw_prom cw_prom;

/* Checks the URL (CW_ERR_INVALID naming --prometheus-url) and starts the
 * thread. The store is borrowed and must outlive it. */
cw_err cw_prom_start(const cw_prom_config *cfg, cw_store *store, cw_prom **out, cw_diag *d);
/* Stops the thread (a request under way ends within its timeout) and frees
 * everything. NULL is a no-op. */
void cw_prom_stop(cw_prom *p);

/*
 * What this instance's fetches did, per KPI (by entity key):
 *   {"kpi:default/conv": {"state": "ok"|"error"|"pending", "lastAttemptAt",
 *    "lastSuccessAt"?, "samples"? (stored by it), "lastErrorAt"?,
 *    "lastError"?}}
 * "error" when the last attempt failed. A new object (caller's), NULL when
 * out of memory; prom may be NULL (an empty object). void * so that it
 * serves as the server's kpi_fetch_state callback.
 */
json_t *cw_prom_fetch_state(void *prom);

/* The window of a fetch (pure): [*start, *end], both multiples of step,
 * end the last step at or before now, at most CW_PROM_MAX_POINTS steps;
 * from last_end − step when a previous fetch ended at last_end (0: none),
 * else lookback before end. */
void cw_prom_window(int64_t now, int64_t step, int64_t lookback, int64_t last_end,
                    int64_t *start, int64_t *end);

/* Appends base/api/v1/query_range?query=…&start=…&end=…&step=… (times in
 * seconds) to out, the query percent-encoded (pure). */
cw_err cw_prom_range_url(const char *base, const char *query, int64_t start_ms, int64_t end_ms,
                         int64_t step_ms, cw_buf *out);

#endif
