/*
 * prometheus.c — the KPI poller of prometheus.h: one thread, libcurl easy
 * requests to the configured Prometheus only, answers parsed by
 * events/metric_prom.c and stored through store_metrics.h.
 */
#include "ingest/prometheus.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "catalog/catalog.h"
#include "catalog/strategy.h"
#include "events/metric.h"
#include "store/store_metrics.h"
#include "store/store_scan.h"
#include "util/duration.h"
#include "util/log.h"
#include "util/timeutil.h"

#define SCAN_EVERY_MS 2000
#define MAX_KPIS 10000

typedef struct {
    char key[CW_REF_MAX];
    int64_t last_end;        /* end of the last successful fetch; 0 = none */
    int64_t next_due;
    bool seen;               /* in the latest catalog scan */
    /* what the last fetches did (cw_prom_fetch_state) */
    int64_t last_attempt_ms, last_success_ms, last_error_ms;
    int64_t last_samples;    /* stored by the last successful fetch */
    char last_error[sizeof ((cw_diag *)0)->msg];
} kpi_state;

struct cw_prom {
    char *url;               /* without a trailing '/' */
    int64_t tick_ms;
    long timeout_s;
    size_t max_answer;
    cw_store *store;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    /* written by the thread only, under state_mu; read by
     * cw_prom_fetch_state (request threads) under it */
    pthread_mutex_t state_mu;
    kpi_state *kpis;
    size_t nkpis, cap;
    json_t *catalog;         /* the KPI entities of the latest scan */
    int64_t scanned_ms;
};

void cw_prom_window(int64_t now, int64_t step, int64_t lookback, int64_t last_end,
                    int64_t *start, int64_t *end)
{
    int64_t e = now / step * step;
    int64_t s = last_end ? last_end - step : e - lookback;
    s = s / step * step;
    if (e - s > (int64_t)(CW_PROM_MAX_POINTS - 1) * step)
        s = e - (int64_t)(CW_PROM_MAX_POINTS - 1) * step;
    *start = s;
    *end = e;
}

static cw_err seconds(cw_buf *out, int64_t ms)
{
    return cw_buf_printf(out, "%s%" PRId64 ".%03d", ms < 0 ? "-" : "", (ms < 0 ? -ms : ms) / 1000,
                         (int)((ms < 0 ? -ms : ms) % 1000));
}

cw_err cw_prom_range_url(const char *base, const char *query, int64_t start_ms, int64_t end_ms,
                         int64_t step_ms, cw_buf *out)
{
    cw_err err = cw_buf_puts(out, base);
    if (!err)
        err = cw_buf_puts(out, "/api/v1/query_range?query=");
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)query; *p && !err; p++) {
        /* RFC 3986 unreserved characters stay, everything else is %XX */
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            err = cw_buf_putc(out, (char)*p);
        } else {
            char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            err = cw_buf_append(out, enc, 3);
        }
    }
    if (!err)
        err = cw_buf_puts(out, "&start=");
    if (!err)
        err = seconds(out, start_ms);
    if (!err)
        err = cw_buf_puts(out, "&end=");
    if (!err)
        err = seconds(out, end_ms);
    if (!err)
        err = cw_buf_puts(out, "&step=");
    if (!err)
        err = seconds(out, step_ms);
    return err;
}

/* ---- one request ------------------------------------------------------------------------- */

typedef struct {
    cw_buf body;
    bool too_large;
} answer;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ctx)
{
    answer *a = ctx;
    size_t n = size * nmemb;
    if (cw_buf_append(&a->body, ptr, n)) {
        a->too_large = true;
        return 0; /* aborts the transfer */
    }
    return n;
}

static cw_err http_get(cw_prom *p, const char *url, answer *a, long *status, cw_diag *d)
{
    CURL *c = curl_easy_init();
    if (!c)
        return cw_fail(d, CW_ERR_NOMEM, "libcurl: cannot create a request");
    char ua[64];
    snprintf(ua, sizeof ua, "conway/%s", CONWAY_VERSION);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, p->timeout_s);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, p->timeout_s);
    curl_easy_setopt(c, CURLOPT_USERAGENT, ua);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(c);
    cw_err err = CW_OK;
    if (a->too_large)
        err = cw_fail(d, CW_ERR_TOO_LARGE, "the answer is larger than %zu bytes", p->max_answer);
    else if (rc != CURLE_OK)
        err = cw_fail(d, CW_ERR_IO, "%s", *errbuf ? errbuf : curl_easy_strerror(rc));
    else
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(c);
    return err;
}

/* Fetches and stores one KPI; *end_out the end of the window fetched. */
static cw_err fetch(cw_prom *p, const json_t *kpi, int64_t last_end, int64_t now,
                    int64_t *end_out, size_t *stored, cw_diag *d)
{
    const json_t *spec = json_object_get(kpi, "spec");
    const char *query = json_string_value(json_object_get(spec, "query"));
    int64_t step = CW_PROM_DEFAULT_STEP_MS, lookback = CW_PROM_DEFAULT_LOOKBACK_MS;
    const char *s = json_string_value(json_object_get(spec, "step"));
    if (s)
        cw_duration_parse(s, &step);
    s = json_string_value(json_object_get(spec, "lookback"));
    if (s)
        cw_duration_parse(s, &lookback);
    if (!query)
        return cw_fail(d, CW_ERR_INVALID, "spec.query is missing");
    int64_t start, end;
    cw_prom_window(now, step, lookback, last_end, &start, &end);
    cw_buf url;
    cw_buf_init(&url, 64 << 10);
    answer a;
    cw_buf_init(&a.body, p->max_answer);
    a.too_large = false;
    long status = 0;
    cw_metric_batch b = {0};
    cw_err err = cw_prom_range_url(p->url, query, start, end, step, &url);
    if (err)
        err = cw_fail(d, err, "the query is too long for a URL");
    if (!err)
        err = http_get(p, url.data, &a, &status, d);
    char name[201];
    cw_kpi_metric_name(kpi, name);
    if (!err) {
        cw_metric_parse_opts o = {.max_samples = 0, .default_time_ms = now};
        err = cw_metric_parse_query_range(a.body.data ? a.body.data : "", a.body.len, name, &o, &b,
                                          d);
        if (err && status != 200)
            cw_diag_prefix(d, "HTTP %ld", status);
        else if (!err && status != 200)
            err = cw_fail(d, CW_ERR_IO, "HTTP %ld", status);
    }
    cw_metric_put_result res = {0};
    if (!err)
        err = cw_store_metrics_put(p->store, &b, &res, d);
    if (!err) {
        *end_out = end;
        *stored = res.samples;
    }
    cw_metric_batch_free(&b);
    cw_buf_free(&a.body);
    cw_buf_free(&url);
    return err;
}

/* ---- the schedule -------------------------------------------------------------------------- */

static kpi_state *state_of(cw_prom *p, const char *key)
{
    for (size_t i = 0; i < p->nkpis; i++)
        if (!strcmp(p->kpis[i].key, key))
            return &p->kpis[i];
    if (p->nkpis >= MAX_KPIS)
        return NULL;
    if (p->nkpis == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 16;
        kpi_state *v = realloc(p->kpis, nc * sizeof *v);
        if (!v)
            return NULL;
        p->kpis = v;
        p->cap = nc;
    }
    kpi_state *k = &p->kpis[p->nkpis++];
    memset(k, 0, sizeof *k);
    snprintf(k->key, sizeof k->key, "%s", key);
    return k;
}

static void rescan(cw_prom *p, int64_t now)
{
    static const char *const kinds[] = {"KPI"};
    json_t *arr = NULL;
    cw_diag d = {{0}};
    if (cw_store_scan(p->store, kinds, 1, MAX_KPIS, &arr, &d)) {
        cw_log(CW_LOG_WARN, "kpi catalog read failed", json_pack("{s:s}", "error", d.msg));
        return;
    }
    json_decref(p->catalog);
    p->catalog = arr;
    p->scanned_ms = now;
    pthread_mutex_lock(&p->state_mu);
    /* forget KPIs that are gone (a new one of the same name starts afresh) */
    for (size_t i = 0; i < p->nkpis; i++)
        p->kpis[i].seen = false;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char key[CW_REF_MAX];
        cw_ref r;
        if (cw_entity_ref(json_array_get(arr, i), &r, NULL))
            continue;
        cw_ref_key(&r, key);
        kpi_state *k = state_of(p, key);
        if (k)
            k->seen = true;
    }
    size_t w = 0;
    for (size_t i = 0; i < p->nkpis; i++)
        if (p->kpis[i].seen)
            p->kpis[w++] = p->kpis[i];
    p->nkpis = w;
    pthread_mutex_unlock(&p->state_mu);
}

static void run_due(cw_prom *p, int64_t now)
{
    for (size_t i = 0; i < json_array_size(p->catalog); i++) {
        const json_t *kpi = json_array_get(p->catalog, i);
        const json_t *spec = json_object_get(kpi, "spec");
        const char *source = json_string_value(json_object_get(spec, "source"));
        if (!source || strcmp(source, "prometheus"))
            continue;
        char key[CW_REF_MAX], ref[CW_REF_MAX];
        cw_ref r;
        if (cw_entity_ref(kpi, &r, NULL))
            continue;
        cw_ref_key(&r, key);
        cw_ref_format(&r, ref);
        /* only this thread changes the array: k stays valid while it
         * fetches without the lock */
        pthread_mutex_lock(&p->state_mu);
        kpi_state *k = state_of(p, key);
        bool due = k && now >= k->next_due;
        int64_t interval = CW_PROM_DEFAULT_INTERVAL_MS;
        const char *iv = json_string_value(json_object_get(spec, "interval"));
        if (iv)
            cw_duration_parse(iv, &interval);
        if (due) {
            k->next_due = now + interval;
            k->last_attempt_ms = now;
        }
        pthread_mutex_unlock(&p->state_mu);
        if (!due)
            continue;
        int64_t end = 0;
        size_t stored = 0;
        cw_diag d = {{0}};
        cw_err err = fetch(p, kpi, k->last_end, now, &end, &stored, &d);
        int64_t done = cw_now_ms();
        pthread_mutex_lock(&p->state_mu);
        if (err) {
            k->last_error_ms = done;
            snprintf(k->last_error, sizeof k->last_error, "%s", d.msg);
        } else {
            k->last_end = end;
            k->last_success_ms = done;
            k->last_samples = (int64_t)stored;
        }
        pthread_mutex_unlock(&p->state_mu);
        if (err)
            cw_log(CW_LOG_WARN, "kpi fetch failed", json_pack("{s:s, s:s}", "kpi", ref, "error", d.msg));
        else
            cw_log(CW_LOG_INFO, "kpi fetched", json_pack("{s:s, s:I}", "kpi", ref, "samples", (json_int_t)stored));
        pthread_mutex_lock(&p->mu);
        bool stop = p->stop;
        pthread_mutex_unlock(&p->mu);
        if (stop)
            return;
    }
}

static void *loop(void *arg)
{
    cw_prom *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        pthread_mutex_unlock(&p->mu);
        int64_t now = cw_now_ms();
        if (!p->catalog || now - p->scanned_ms >= SCAN_EVERY_MS)
            rescan(p, now);
        run_due(p, now);
        pthread_mutex_lock(&p->mu);
        if (p->stop)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (p->tick_ms % 1000) * 1000000;
        ts.tv_sec += p->tick_ms / 1000 + ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static bool url_ok(const char *url)
{
    if (!url || strlen(url) > 2048 || (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8)))
        return false;
    for (const char *s = url; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f || *s == '?' || *s == '#')
            return false;
    CURLU *u = curl_url();
    bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK;
    char *host = NULL;
    ok = ok && curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && *host;
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

cw_err cw_prom_start(const cw_prom_config *cfg, cw_store *store, cw_prom **out, cw_diag *d)
{
    *out = NULL;
    if (!url_ok(cfg->url))
        return cw_fail(d, CW_ERR_INVALID,
                       "--prometheus-url: '%.200s' is not an http:// or https:// URL of a host "
                       "(without ? or #)",
                       cfg->url ? cfg->url : "");
    if (curl_global_init(CURL_GLOBAL_DEFAULT))
        return cw_fail(d, CW_ERR_IO, "libcurl: global initialisation failed");
    cw_prom *p = calloc(1, sizeof *p);
    if (!p || !(p->url = strdup(cfg->url))) {
        free(p);
        return cw_fail(d, CW_ERR_NOMEM, "out of memory");
    }
    size_t n = strlen(p->url);
    while (n && p->url[n - 1] == '/')
        p->url[--n] = '\0';
    p->tick_ms = cfg->tick_ms > 0 ? cfg->tick_ms : 1000;
    p->timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s : 10;
    p->max_answer = cfg->max_answer ? cfg->max_answer : CW_PROM_DEFAULT_MAX_ANSWER;
    p->store = store;
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->state_mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->thread, NULL, loop, p)) {
        pthread_mutex_destroy(&p->state_mu);
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        free(p->url);
        free(p);
        return cw_fail(d, CW_ERR_IO, "cannot start the Prometheus thread");
    }
    *out = p;
    return CW_OK;
}

void cw_prom_stop(cw_prom *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->state_mu);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    json_decref(p->catalog);
    free(p->kpis);
    free(p->url);
    free(p);
}

json_t *cw_prom_fetch_state(void *prom)
{
    cw_prom *p = prom;
    json_t *out = json_object();
    if (!p || !out)
        return out;
    pthread_mutex_lock(&p->state_mu);
    for (size_t i = 0; i < p->nkpis; i++) {
        const kpi_state *k = &p->kpis[i];
        if (!k->last_attempt_ms)
            continue;
        char at[3][40];
        cw_time_format_ms(k->last_attempt_ms, at[0]);
        json_t *o = json_pack("{s:s}", "lastAttemptAt", at[0]);
        bool failing = k->last_error_ms > k->last_success_ms;
        if (o && k->last_success_ms) {
            cw_time_format_ms(k->last_success_ms, at[1]);
            json_object_set_new(o, "lastSuccessAt", json_string(at[1]));
            json_object_set_new(o, "samples", json_integer(k->last_samples));
        }
        if (o && k->last_error_ms) {
            cw_time_format_ms(k->last_error_ms, at[2]);
            json_object_set_new(o, "lastErrorAt", json_string(at[2]));
            json_object_set_new(o, "lastError", json_string(k->last_error));
        }
        if (o)
            json_object_set_new(o, "state", json_string(failing ? "error"
                                                        : k->last_success_ms ? "ok" : "pending"));
        if (!o || json_object_set_new(out, k->key, o)) {
            json_decref(out);
            out = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&p->state_mu);
    return out;
}
