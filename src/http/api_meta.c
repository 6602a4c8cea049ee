/*
 * api_meta.c — routes about the server itself: liveness, readiness (the
 * database, and the RabbitMQ broker when consuming), Prometheus metrics, the OpenAPI document, and the embedded web UI.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "http/assets.h"
#include "http/http_int.h"
#include "util/crypto.h"
#ifdef CONWAY_HAVE_AMQP
#include "ingest/amqp.h"
#endif

static void get_healthz(cw_app *app, cw_req *req, cw_resp *resp)
{
    (void)app;
    (void)req;
    cw_resp_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

#ifdef CONWAY_HAVE_AMQP
static void amqp_check(void *ctx, const cw_amqp_status *st)
{
    if (st->state != CW_AMQP_UP)
        *(bool *)ctx = true;
}

static void amqp_add(void *ctx, const cw_amqp_status *st)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "status", cw_amqp_state_name(st->state), "broker",
                          st->broker, "queue", st->queue);
    if (o && st->detail[0] && st->state != CW_AMQP_UP)
        json_object_set_new(o, "detail", json_string(st->detail));
    json_array_append_new((json_t *)ctx, o);
}

/* checks.amqp: the RabbitMQ consumer of this process (the first one when
 * several run), absent without --amqp. */
static void amqp_checks(json_t *checks)
{
    json_t *arr = json_array();
    if (cw_amqp_each_status(amqp_add, arr) > 0 && json_array_size(arr) > 0)
        json_object_set(checks, "amqp", json_array_get(arr, 0));
    json_decref(arr);
}
#endif

static void get_readyz(cw_app *app, cw_req *req, cw_resp *resp)
{
    (void)req;
    cw_diag d = {{0}};
    cw_err err = cw_store_ping(app->store, &d);
    json_t *checks = json_object();
    json_object_set_new(checks, "database",
                        json_pack("{s:s, s:s}", "backend", cw_store_backend(app->store), "status",
                                  err ? "down" : "up"));
    if (err) {
        json_object_set_new(json_object_get(checks, "database"), "detail", json_string(d.msg));
        cw_resp_problem_ext(resp, 503, json_pack("{s:o}", "checks", checks),
                            "the database does not answer: %s", d.msg);
        return;
    }
    /* a broker away does not stop HTTP: still 200, but said so */
    bool degraded = false;
#ifdef CONWAY_HAVE_AMQP
    cw_amqp_each_status(amqp_check, &degraded);
    amqp_checks(checks);
#endif
    cw_resp_json(resp, 200, json_pack("{s:s, s:o}", "status", degraded ? "degraded" : "ready",
                                      "checks", checks));
}

static void get_metrics(cw_app *app, cw_req *req, cw_resp *resp)
{
    (void)req;
    cw_buf_reset(&resp->body);
    if (cw_metrics_render(app->metrics, app, &resp->body)) {
        cw_resp_problem(resp, 500, "cannot render metrics");
        return;
    }
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

/* ETags of the embedded assets, computed once. */
static char (*asset_etags)[24];
static pthread_once_t asset_once = PTHREAD_ONCE_INIT;

static void compute_asset_etags(void)
{
    size_t n = 0;
    while (cw_assets[n].path)
        n++;
    static char storage[256][24];
    asset_etags = storage;
    for (size_t i = 0; i < n && i < 256; i++) {
        char hex[65];
        cw_sha256_hex(cw_assets[i].data, cw_assets[i].len, hex);
        snprintf(storage[i], sizeof storage[i], "\"%.16s\"", hex);
    }
}

static bool serve_asset(const char *path, cw_req *req, cw_resp *resp)
{
    pthread_once(&asset_once, compute_asset_etags);
    for (size_t i = 0; cw_assets[i].path && i < 256; i++) {
        if (strcmp(cw_assets[i].path, path) != 0)
            continue;
        const char *inm = cw_req_header(req, "If-None-Match");
        cw_resp_header(resp, "ETag", asset_etags[i]);
        /* Assets are not content-hashed by name: revalidate every time, which
         * costs one 304 per asset instead of stale UI after an upgrade. */
        cw_resp_header(resp, "Cache-Control", "no-cache");
        if (strstr(cw_assets[i].path, ".html"))
            cw_resp_header(resp, "Content-Security-Policy",
                           "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
        if (inm && !strcmp(inm, asset_etags[i])) {
            resp->status = 304;
            resp->content_type = NULL;
            return true;
        }
        resp->status = 200;
        resp->content_type = cw_assets[i].content_type;
        resp->static_body = cw_assets[i].data;
        resp->static_len = cw_assets[i].len;
        return true;
    }
    return false;
}

static void get_openapi(cw_app *app, cw_req *req, cw_resp *resp)
{
    (void)app;
    if (!serve_asset("/openapi.json", req, resp))
        cw_resp_problem(resp, 404, "the OpenAPI document is not built into this binary");
}

bool cw_ui_serve(cw_req *req, cw_resp *resp)
{
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
        return false;
    if (!strncmp(req->path, "/api/", 5) || !strcmp(req->path, "/api"))
        return false;
    if (serve_asset(req->path, req, resp))
        return true;
    /* Other paths are UI routes (History API) unless they name a missing
     * asset file; entity names may contain dots ("jane.doe"), so only real
     * asset extensions count. */
    static const char *const asset_ext[] = {".js", ".css", ".svg", ".html", ".json", ".ico",
                                            ".png", ".map", ".txt"};
    size_t plen = strlen(req->path);
    for (size_t i = 0; i < sizeof asset_ext / sizeof asset_ext[0]; i++) {
        size_t elen = strlen(asset_ext[i]);
        if (plen > elen && !strcmp(req->path + plen - elen, asset_ext[i]))
            return false;
    }
    return serve_asset("/index.html", req, resp);
}

static const char *const no_params[] = {NULL};

const cw_route cw_routes_meta[] = {
    {"GET", "/healthz", get_healthz, CW_AUTH_PUBLIC, no_params},
    {"GET", "/readyz", get_readyz, CW_AUTH_PUBLIC, no_params},
    {"GET", "/metrics", get_metrics, CW_AUTH_PUBLIC, no_params},
    {"GET", "/api/v1/openapi.json", get_openapi, CW_AUTH_PUBLIC, no_params},
    {NULL, NULL, NULL, 0, NULL},
};
