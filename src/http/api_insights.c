/*
 * api_insights.c — the delivery insights under /api/v1/insights: DORA
 * metrics, undeployed work and release coupling. Each route validates its
 * parameters, streams the scope's stored rows from one snapshot
 * (cw_store_delivery_scan) into the insight's collector (insights/delivery.h,
 * which owns the rules), runs the pure computation (insights/dora.h,
 * undeployed.h, coupling.h) and answers with its JSON renderer. Production environments follow --production-env.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "events/events.h"
#include "http/api_events.h"
#include "http/http_int.h"
#include "insights/coupling.h"
#include "insights/delivery.h"
#include "insights/dora.h"
#include "insights/undeployed.h"
#include "util/timeutil.h"

#define DAY_MS 86400000LL
#define DEFAULT_WINDOW_DAYS 30
#define MAX_FAILURE_WINDOW_HOURS 8760      /* a year */
#define MAX_COUPLING_WINDOW_MINUTES 10080  /* a week */
#define MAX_LIST_CAP 1000

/* The window [from, to): defaults to the 30 days up to now. */
static bool window_params(const cw_req *req, cw_resp *resp, int64_t *from, int64_t *to)
{
    bool has_from, has_to;
    if (!cw_api_time_param(req, resp, "from", from, &has_from) ||
        !cw_api_time_param(req, resp, "to", to, &has_to))
        return false;
    if (!has_to)
        *to = has_from && *from > cw_now_ms() ? *from + DEFAULT_WINDOW_DAYS * DAY_MS : cw_now_ms();
    if (!has_from)
        *from = *to - DEFAULT_WINDOW_DAYS * DAY_MS;
    if (*to <= *from) {
        cw_resp_problem(resp, 400, "query parameter 'to': must be later than 'from'");
        return false;
    }
    if ((*to - *from) / DAY_MS >= CW_DORA_MAX_DAYS) {
        cw_resp_problem(resp, 400, "query parameter 'from': the window from 'from' to 'to' is "
                        "longer than %d days", CW_DORA_MAX_DAYS);
        return false;
    }
    return true;
}

static bool production_pattern_ok(const cw_app *app, cw_resp *resp)
{
    cw_diag d = {{0}};
    if (cw_env_pattern_validate(app->cfg.production_env, &d)) {
        cw_resp_problem(resp, 500, "server configuration: --production-env: %s", d.msg);
        return false;
    }
    return true;
}

/* Loads the scope's delivery data: the store's rows streamed into the
 * insight's collector. False after queueing the error. */
static bool load(cw_app *app, cw_resp *resp, const cw_scope *sc, unsigned what,
                 cw_delivery_data *dd)
{
    cw_delivery_query q = {.scope = sc, .production_env = app->cfg.production_env, .what = what};
    cw_diag d = {{0}};
    cw_delivery_collector *c = NULL;
    memset(dd, 0, sizeof *dd);
    cw_err err = cw_delivery_collector_new(&q, &c, &d);
    if (!err)
        err = cw_store_delivery_scan(app->store, &q, cw_delivery_collector_sink(), c, &d);
    if (!err)
        err = cw_delivery_collector_finish(c, dd, &d);
    cw_delivery_collector_free(c);
    if (err) {
        cw_api_store_error(resp, err, &d, "scope");
        return false;
    }
    return true;
}

static const char *scope_text(const cw_scope *sc) { return sc->kind == CW_SCOPE_ORG ? "org" : sc->key; }

static void answer(cw_resp *resp, cw_err err, json_t *body)
{
    if (err) {
        cw_resp_problem(resp, 500, "out of memory while building the answer");
        return;
    }
    cw_resp_json(resp, 200, body);
}

static void get_dora(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_scope sc;
    cw_dora_params p = {0};
    uint64_t fwh;
    if (!cw_api_scope_param(req, resp, "scope", &sc) ||
        !window_params(req, resp, &p.from_ms, &p.to_ms) ||
        !cw_req_query_uint(req, resp, "failureWindowHours", CW_DORA_DEFAULT_FAILURE_WINDOW_HOURS,
                           0, MAX_FAILURE_WINDOW_HOURS, &fwh) ||
        !production_pattern_ok(app, resp))
        return;
    p.failure_window_hours = (int)fwh;
    cw_delivery_data dd;
    if (!load(app, resp, &sc, CW_DELIVERY_ALL, &dd))
        return;
    cw_dora_result r;
    cw_diag d = {{0}};
    cw_err err = cw_dora_compute(&dd.in, &p, &r, &d);
    cw_delivery_data_free(&dd);
    if (err) {
        cw_resp_error(resp, err, &d);
        return;
    }
    json_t *body = NULL;
    err = cw_dora_to_json(&r, scope_text(&sc), &body);
    cw_dora_result_free(&r);
    answer(resp, err, body);
}

static void get_undeployed(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_scope sc;
    int64_t now = cw_now_ms();
    bool has_now;
    uint64_t cap;
    if (!cw_api_scope_param(req, resp, "scope", &sc) ||
        !cw_api_time_param(req, resp, "now", &now, &has_now) ||
        !cw_req_query_uint(req, resp, "limit", CW_UNDEPLOYED_DEFAULT_LIST_CAP, 1, MAX_LIST_CAP,
                           &cap) ||
        !production_pattern_ok(app, resp))
        return;
    cw_delivery_data dd;
    if (!load(app, resp, &sc, CW_DELIVERY_DEPLOYMENTS | CW_DELIVERY_CHANGES, &dd))
        return;
    cw_undeployed_result r;
    cw_diag d = {{0}};
    cw_err err = cw_undeployed_compute(&dd.in, now, (size_t)cap, &r, &d);
    json_t *body = NULL;
    if (!err) {
        err = cw_undeployed_to_json(&r, (const char *const *)dd.component_refs, now, &body);
        cw_undeployed_free(&r);
        answer(resp, err, body);
    } else {
        cw_resp_error(resp, err, &d);
    }
    cw_delivery_data_free(&dd);
}

/* A number in [min, max]; false after queueing a 400. */
static bool real_param(const cw_req *req, cw_resp *resp, const char *key, double def, double min,
                       double max, double *out)
{
    const char *v = cw_req_query(req, key);
    *out = def;
    if (!v)
        return true;
    char *end = NULL;
    double x = strtod(v, &end);
    bool ok = *v && end && *end == '\0' && strlen(v) <= 32 && isfinite(x) && x >= min && x <= max &&
              ((*v >= '0' && *v <= '9') || *v == '.');
    if (!ok) {
        cw_resp_problem(resp, 400, "query parameter '%s': '%.40s' is not a number between %g and %g",
                        key, v, min, max);
        return false;
    }
    *out = x;
    return true;
}

static void get_coupling(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_scope sc;
    cw_coupling_params p = {0};
    uint64_t minutes, together;
    if (!cw_api_scope_param(req, resp, "scope", &sc) ||
        !window_params(req, resp, &p.from_ms, &p.to_ms) ||
        !cw_req_query_uint(req, resp, "windowMinutes", 15, 0, MAX_COUPLING_WINDOW_MINUTES,
                           &minutes) ||
        !cw_req_query_uint(req, resp, "minTogether", 5, 1, 1000000000, &together) ||
        !real_param(req, resp, "minConfidence", 0.8, 0.0, 1.0, &p.min_confidence) ||
        !production_pattern_ok(app, resp))
        return;
    p.window_ms = (int64_t)minutes * 60000;
    p.min_together = (size_t)together;
    cw_delivery_data dd;
    if (!load(app, resp, &sc, CW_DELIVERY_DEPLOYMENTS, &dd))
        return;
    cw_coupling_result r;
    cw_diag d = {{0}};
    cw_err err = cw_coupling_compute(&dd.in, &p, &r, &d);
    json_t *body = NULL;
    if (!err) {
        err = cw_coupling_to_json(&r, (const char *const *)dd.component_refs,
                                  (const char *const *)dd.owner_refs, &body);
        cw_coupling_free(&r);
        answer(resp, err, body);
    } else {
        cw_resp_error(resp, err, &d);
    }
    cw_delivery_data_free(&dd);
}

static const char *const dora_params[] = {"scope", "from", "to", "failureWindowHours", NULL};
static const char *const undeployed_params[] = {"scope", "now", "limit", NULL};
static const char *const coupling_params[] = {"scope", "from", "to", "windowMinutes",
                                              "minTogether", "minConfidence", NULL};

const cw_route cw_routes_insights[] = {
    {"GET", "/api/v1/insights/dora", get_dora, CW_AUTH_READ, dora_params},
    {"GET", "/api/v1/insights/undeployed", get_undeployed, CW_AUTH_READ, undeployed_params},
    {"GET", "/api/v1/insights/coupling", get_coupling, CW_AUTH_READ, coupling_params},
    {NULL, NULL, NULL, 0, NULL},
};
