/*
 * metrics.c — the server's own Prometheus metrics: requests by route and
 * status, a latency histogram per route, and gauges read at scrape time
 * (entities by kind, database size, uptime, the RabbitMQ consumers'
 * counters). Text exposition format 0.0.4.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"
#include "http/metrics_strategy.h"
#include "store/store_heartbeats.h"
#include "util/timeutil.h"
#ifdef CONWAY_HAVE_AMQP
#include "ingest/amqp.h"
#endif

static const double latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                         0.05,   0.1,   0.25,   0.5,   1,    2.5};
#define NBUCKETS (sizeof latency_buckets / sizeof latency_buckets[0])
#define MAX_SERIES 512

typedef struct {
    const char *method; /* static strings from the route table or MHD */
    char route[128];
    int status;
    unsigned long long count;
} req_series;

typedef struct {
    char route[128];
    unsigned long long buckets[NBUCKETS];
    unsigned long long count;
    double sum;
} lat_series;

struct cw_metrics {
    pthread_mutex_t mu;
    req_series reqs[MAX_SERIES];
    size_t nreqs;
    lat_series lats[MAX_SERIES];
    size_t nlats;
    unsigned long long dropped; /* observations beyond MAX_SERIES */
    unsigned long long webhooks[2][7]; /* provider x outcome */
};

/* What became of a webhook delivery (api_hooks.c). */
const char *const cw_metrics_webhook_outcomes[] = {"stored",       "ignored", "unknown",
                                                   "duplicate",    "invalid", "unauthorized",
                                                   "failed",       NULL};
static const char *const webhook_providers[] = {"github", "gitlab"};

void cw_metrics_webhook(cw_metrics *m, const char *provider, const char *outcome)
{
    for (size_t p = 0; p < 2; p++) {
        if (strcmp(webhook_providers[p], provider) != 0)
            continue;
        for (size_t o = 0; cw_metrics_webhook_outcomes[o]; o++) {
            if (strcmp(cw_metrics_webhook_outcomes[o], outcome) != 0)
                continue;
            pthread_mutex_lock(&m->mu);
            m->webhooks[p][o]++;
            pthread_mutex_unlock(&m->mu);
            return;
        }
    }
}

cw_err cw_metrics_new(cw_metrics **out)
{
    cw_metrics *m = calloc(1, sizeof *m);
    if (!m)
        return CW_ERR_NOMEM;
    pthread_mutex_init(&m->mu, NULL);
    *out = m;
    return CW_OK;
}

void cw_metrics_free(cw_metrics *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static const char *method_const(const char *method)
{
    static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(known[i], method))
            return known[i];
    return "OTHER";
}

void cw_metrics_observe(cw_metrics *m, const char *method, const char *route, int status,
                        double seconds)
{
    const char *meth = method_const(method);
    pthread_mutex_lock(&m->mu);
    req_series *rs = NULL;
    for (size_t i = 0; i < m->nreqs; i++)
        if (m->reqs[i].status == status && m->reqs[i].method == meth &&
            !strcmp(m->reqs[i].route, route)) {
            rs = &m->reqs[i];
            break;
        }
    if (!rs && m->nreqs < MAX_SERIES) {
        rs = &m->reqs[m->nreqs++];
        rs->method = meth;
        snprintf(rs->route, sizeof rs->route, "%s", route);
        rs->status = status;
    }
    lat_series *ls = NULL;
    for (size_t i = 0; i < m->nlats; i++)
        if (!strcmp(m->lats[i].route, route)) {
            ls = &m->lats[i];
            break;
        }
    if (!ls && m->nlats < MAX_SERIES) {
        ls = &m->lats[m->nlats++];
        snprintf(ls->route, sizeof ls->route, "%s", route);
    }
    if (rs)
        rs->count++;
    else
        m->dropped++;
    if (ls) {
        for (size_t b = 0; b < NBUCKETS; b++)
            if (seconds <= latency_buckets[b])
                ls->buckets[b]++;
        ls->count++;
        ls->sum += seconds;
    }
    pthread_mutex_unlock(&m->mu);
}

/* Label values here come from route patterns and kinds; escape anyway. */
static void put_label(cw_buf *out, const char *v)
{
    for (const char *p = v; *p; p++) {
        if (*p == '\\' || *p == '"')
            cw_buf_putc(out, '\\');
        if (*p == '\n') {
            cw_buf_puts(out, "\\n");
            continue;
        }
        cw_buf_putc(out, *p);
    }
}

#ifdef CONWAY_HAVE_AMQP
#define MAX_CONSUMERS 8

typedef struct {
    cw_amqp_status st[MAX_CONSUMERS];
    size_t n;
} amqp_snap;

static void snap_one(void *ctx, const cw_amqp_status *st)
{
    amqp_snap *s = ctx;
    if (s->n < MAX_CONSUMERS)
        s->st[s->n++] = *st;
}

/* The RabbitMQ consumers' counters (ingest/amqp.h), by queue. */
static void put_amqp(cw_buf *out)
{
    amqp_snap s = {.n = 0};
    cw_amqp_each_status(snap_one, &s);
    if (!s.n)
        return;
    cw_buf_puts(out, "# HELP conway_amqp_connected Whether the consumer is connected to the broker.\n"
                     "# TYPE conway_amqp_connected gauge\n");
    for (size_t i = 0; i < s.n; i++) {
        cw_buf_puts(out, "conway_amqp_connected{queue=\"");
        put_label(out, s.st[i].queue);
        cw_buf_printf(out, "\"} %d\n", s.st[i].state == CW_AMQP_UP);
    }
    cw_buf_puts(out, "# HELP conway_amqp_messages_total AMQP messages by outcome: acked after "
                     "commit, malformed (dead-lettered), requeued after a storage failure.\n"
                     "# TYPE conway_amqp_messages_total counter\n");
    for (size_t i = 0; i < s.n; i++) {
        const char *names[] = {"received", "acked", "malformed", "requeued"};
        uint64_t vals[] = {s.st[i].messages, s.st[i].acked, s.st[i].malformed,
                           s.st[i].requeued};
        for (size_t k = 0; k < 4; k++) {
            cw_buf_puts(out, "conway_amqp_messages_total{queue=\"");
            put_label(out, s.st[i].queue);
            cw_buf_printf(out, "\",outcome=\"%s\"} %llu\n", names[k],
                          (unsigned long long)vals[k]);
        }
    }
    cw_buf_puts(out, "# HELP conway_amqp_events_total Events taken from AMQP: stored, "
                     "duplicate (already stored, absorbed), or conflict (a known source and id "
                     "with another body, not stored).\n"
                     "# TYPE conway_amqp_events_total counter\n");
    for (size_t i = 0; i < s.n; i++) {
        cw_buf_puts(out, "conway_amqp_events_total{queue=\"");
        put_label(out, s.st[i].queue);
        cw_buf_printf(out, "\",outcome=\"stored\"} %llu\n",
                      (unsigned long long)s.st[i].events_stored);
        cw_buf_puts(out, "conway_amqp_events_total{queue=\"");
        put_label(out, s.st[i].queue);
        cw_buf_printf(out, "\",outcome=\"duplicate\"} %llu\n",
                      (unsigned long long)s.st[i].events_duplicate);
        cw_buf_puts(out, "conway_amqp_events_total{queue=\"");
        put_label(out, s.st[i].queue);
        cw_buf_printf(out, "\",outcome=\"conflict\"} %llu\n",
                      (unsigned long long)s.st[i].events_conflict);
    }
    cw_buf_puts(out, "# HELP conway_amqp_reconnects_total Connections to the broker made after "
                     "the first.\n"
                     "# TYPE conway_amqp_reconnects_total counter\n");
    for (size_t i = 0; i < s.n; i++) {
        cw_buf_puts(out, "conway_amqp_reconnects_total{queue=\"");
        put_label(out, s.st[i].queue);
        cw_buf_printf(out, "\"} %llu\n", (unsigned long long)s.st[i].reconnects);
    }
}
#endif

cw_err cw_metrics_render(cw_metrics *m, cw_app *app, cw_buf *out)
{
    pthread_mutex_lock(&m->mu);
    cw_buf_puts(out, "# HELP conway_http_requests_total HTTP requests handled, by route and status.\n"
                     "# TYPE conway_http_requests_total counter\n");
    for (size_t i = 0; i < m->nreqs; i++) {
        cw_buf_printf(out, "conway_http_requests_total{method=\"%s\",route=\"", m->reqs[i].method);
        put_label(out, m->reqs[i].route);
        cw_buf_printf(out, "\",status=\"%d\"} %llu\n", m->reqs[i].status, m->reqs[i].count);
    }
    cw_buf_puts(out, "# HELP conway_http_request_duration_seconds Time to answer a request.\n"
                     "# TYPE conway_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < m->nlats; i++) {
        for (size_t b = 0; b < NBUCKETS; b++) {
            cw_buf_puts(out, "conway_http_request_duration_seconds_bucket{route=\"");
            put_label(out, m->lats[i].route);
            cw_buf_printf(out, "\",le=\"%g\"} %llu\n", latency_buckets[b], m->lats[i].buckets[b]);
        }
        cw_buf_puts(out, "conway_http_request_duration_seconds_bucket{route=\"");
        put_label(out, m->lats[i].route);
        cw_buf_printf(out, "\",le=\"+Inf\"} %llu\n", m->lats[i].count);
        cw_buf_puts(out, "conway_http_request_duration_seconds_sum{route=\"");
        put_label(out, m->lats[i].route);
        cw_buf_printf(out, "\"} %.9g\n", m->lats[i].sum);
        cw_buf_puts(out, "conway_http_request_duration_seconds_count{route=\"");
        put_label(out, m->lats[i].route);
        cw_buf_printf(out, "\"} %llu\n", m->lats[i].count);
    }
    cw_buf_puts(out, "# HELP conway_webhook_deliveries_total Webhook deliveries by provider and "
                     "outcome: stored (events made and stored), ignored (a known type that makes "
                     "no event), unknown (a type not translated), duplicate (delivered before), "
                     "invalid (refused with 400), unauthorized (401: unknown receiver, bad "
                     "signature or token), failed (the store refused).\n"
                     "# TYPE conway_webhook_deliveries_total counter\n");
    for (size_t p = 0; p < 2; p++)
        for (size_t o = 0; cw_metrics_webhook_outcomes[o]; o++)
            cw_buf_printf(out, "conway_webhook_deliveries_total{provider=\"%s\",outcome=\"%s\"} %llu\n",
                          webhook_providers[p], cw_metrics_webhook_outcomes[o], m->webhooks[p][o]);
    pthread_mutex_unlock(&m->mu);

    cw_diag d;
    json_t *counts = NULL;
    cw_buf_puts(out, "# HELP conway_entities Catalog entities by kind.\n"
                     "# TYPE conway_entities gauge\n");
    if (cw_store_entity_counts(app->store, &counts, &d) == CW_OK) {
        const char *kind;
        json_t *v;
        json_object_foreach(counts, kind, v) {
            cw_buf_puts(out, "conway_entities{kind=\"");
            put_label(out, kind);
            cw_buf_printf(out, "\"} %lld\n", (long long)json_integer_value(v));
        }
        json_decref(counts);
    }
    int64_t size = 0;
    if (cw_store_size_bytes(app->store, &size, &d) == CW_OK)
        cw_buf_printf(out, "# HELP conway_database_size_bytes Size of the database.\n"
                           "# TYPE conway_database_size_bytes gauge\n"
                           "conway_database_size_bytes %lld\n",
                      (long long)size);
    uint64_t hb_txs, hb_pings;
    cw_store_hb_ping_stats(app->store, &hb_txs, &hb_pings);
    cw_buf_printf(out, "# HELP conway_heartbeat_pings_total Pings written (the ping API).\n"
                       "# TYPE conway_heartbeat_pings_total counter\n"
                       "conway_heartbeat_pings_total %llu\n"
                       "# HELP conway_heartbeat_ping_transactions_total Transactions that wrote "
                       "them (the group commit: several pings a transaction under load).\n"
                       "# TYPE conway_heartbeat_ping_transactions_total counter\n"
                       "conway_heartbeat_ping_transactions_total %llu\n",
                  (unsigned long long)hb_pings, (unsigned long long)hb_txs);
#ifdef CONWAY_HAVE_AMQP
    put_amqp(out);
#endif
    cw_metrics_render_strategy(app, out);
    cw_buf_printf(out, "# HELP conway_uptime_seconds Seconds since the server started.\n"
                       "# TYPE conway_uptime_seconds gauge\n"
                       "conway_uptime_seconds %.3f\n",
                  (double)(cw_now_ms() - app->started_ms) / 1000.0);
    /* every append above checked at once: the buffer's error is sticky */
    return cw_buf_error(out);
}
