/*
 * api_hooks.c — GitHub and GitLab webhook receivers under /api/v1/hooks
 * (docs/webhooks.md) and their administration.
 *
 * POST /api/v1/hooks/{github|gitlab}/{id} carries no bearer token (neither
 * host can send one): the route is public to the router and the delivery
 * itself is the credential — GitHub's X-Hub-Signature-256 over the body,
 * GitLab's X-Gitlab-Token (ingest/hooks.h). An unknown or revoked receiver
 * and a bad credential answer the same 401. A verified delivery is
 * translated (events/webhooks.h), stored through the events intake with
 * its audit record, and recorded by its delivery id, so a delivery sent
 * again is answered 200 without storing anything. Deliveries that make no
 * event (unknown types or actions) are answered 200 with the reason, never
 * an error that makes the host retry. Every outcome is counted in /metrics
 * (conway_webhook_deliveries_total).
 *
 * The intake waits for the group commit on its worker thread (blocking
 * form): webhook deliveries are few, and recording the delivery must
 * follow the commit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "events/events.h"
#include "events/webhooks.h"
#include "http/api_common.h"
#include "http/http_int.h"
#include "ingest/hooks.h"
#include "store/events_async.h"
#include "store/store_ingest.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/timeutil.h"
#include "util/utf8.h"

#define DELIVERIES_DEFAULT 50
#define DELIVERIES_MAX 500

/* ---- receiving ------------------------------------------------------------------------ */

static void count(cw_app *app, cw_webhook_provider p, const char *outcome)
{
    cw_metrics_webhook(app->metrics, cw_webhook_provider_name(p), outcome);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* GitHub's "application/x-www-form-urlencoded" delivery: payload=<JSON>,
 * percent-encoded with '+' for spaces. The JSON text into out. */
static bool form_payload(const char *body, size_t len, cw_buf *out)
{
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if ((size_t)(stop - p) >= 8 && !memcmp(p, "payload=", 8)) {
            for (const char *c = p + 8; c < stop; c++) {
                char v = *c;
                if (v == '+') {
                    v = ' ';
                } else if (v == '%') {
                    if (stop - c < 3 || hexval(c[1]) < 0 || hexval(c[2]) < 0)
                        return false;
                    v = (char)(hexval(c[1]) * 16 + hexval(c[2]));
                    c += 2;
                }
                if (cw_buf_putc(out, v))
                    return false;
            }
            return true;
        }
        p = stop + 1;
    }
    return false;
}

/* The delivery id the host gives, or NULL. */
static const char *delivery_id(const cw_req *req, cw_webhook_provider p)
{
    if (p == CW_WEBHOOK_GITHUB)
        return cw_req_header(req, "X-GitHub-Delivery");
    const char *k = cw_req_header(req, "Idempotency-Key");
    return k && *k ? k : cw_req_header(req, "X-Gitlab-Event-UUID");
}

static void answer_unauthorized(cw_app *app, cw_resp *resp, cw_webhook_provider p)
{
    count(app, p, "unauthorized");
    cw_resp_problem(resp, 401,
                    p == CW_WEBHOOK_GITHUB
                        ? "the delivery is not signed with this receiver's secret "
                          "(X-Hub-Signature-256), or there is no such receiver"
                        : "the delivery does not carry this receiver's secret token "
                          "(X-Gitlab-Token), or there is no such receiver");
}

/* Records the delivery (its payload when small enough); a failure to record
 * is logged by the caller's answer only: the events are stored. */
static void record(cw_app *app, const cw_hook *h, const char *delivery, const char *what,
                   const char *outcome, const char *detail, size_t events, const char *text,
                   size_t len, int64_t now)
{
    cw_hook_delivery_rec r = {.hook_id = h->id, .delivery = delivery, .received_ms = now,
                              .what = what[0] ? what : "(none)", .outcome = outcome,
                              .detail = detail, .events = events,
                              .payload = len <= CW_HOOK_PAYLOAD_MAX ? text : NULL,
                              .payload_bytes = len};
    cw_diag d = {{0}};
    bool inserted;
    (void)cw_store_hook_delivery_put(app->store, &r, &inserted, &d);
}

static void receive(cw_app *app, cw_req *req, cw_resp *resp, cw_webhook_provider p)
{
    cw_hook h;
    char *secret = NULL;
    cw_buf form;
    cw_buf_init(&form, 0);
    json_t *payload = NULL, *detail = NULL, *body = NULL;
    cw_webhook_result tr = {0};
    cw_event *evs = NULL;
    size_t nev = 0;
    cw_diag d = {{0}};
    int64_t now = cw_now_ms();

    cw_err err = cw_store_hook_get(app->store, req->params[0], &h, &secret, &d);
    if (err == CW_ERR_NOT_FOUND || (!err && strcmp(h.provider, cw_webhook_provider_name(p)))) {
        answer_unauthorized(app, resp, p);
        goto out;
    }
    if (err) {
        count(app, p, "failed");
        cw_resp_error(resp, err, &d);
        goto out;
    }
    if (!cw_hook_verify(p, secret, cw_req_header(req, "X-Hub-Signature-256"),
                        cw_req_header(req, "X-Gitlab-Token"), req->body, req->body_len)) {
        answer_unauthorized(app, resp, p);
        goto out;
    }
    /* the body: JSON, or GitHub's form encoding of it */
    const char *text = req->body;
    size_t len = req->body_len;
    const char *ct = cw_req_header(req, "Content-Type");
    if (p == CW_WEBHOOK_GITHUB && ct && !strncasecmp(ct, "application/x-www-form-urlencoded", 33)) {
        if (!form_payload(req->body, req->body_len, &form)) {
            count(app, p, "invalid");
            cw_resp_problem(resp, 400, "request body: a form without a payload field");
            goto out;
        }
        text = cw_buf_cstr(&form);
        len = form.len;
    }
    json_error_t je;
    payload = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!payload) {
        count(app, p, "invalid");
        cw_resp_problem(resp, 400, "request body: invalid JSON at line %d, column %d: %s",
                        je.line, je.column, je.text);
        goto out;
    }
    /* a host that sends no delivery id gets one from the body: the same
     * body is then the same delivery */
    char derived[72];
    const char *delivery = delivery_id(req, p);
    if (!delivery || !*delivery) {
        char hash[65];
        cw_sha256_hex(req->body, req->body_len, hash);
        snprintf(derived, sizeof derived, "sha256-%.40s", hash);
        delivery = derived;
    }
    if (!cw_webhook_delivery_id_valid(delivery)) {
        count(app, p, "invalid");
        cw_resp_problem(resp, 400, "%s: must be 1-%d printable characters without spaces",
                        p == CW_WEBHOOK_GITHUB ? "X-GitHub-Delivery" : "X-Gitlab-Event-UUID",
                        CW_WEBHOOK_DELIVERY_MAX);
        goto out;
    }
    bool seen = false;
    if ((err = cw_store_hook_delivery_seen(app->store, h.id, delivery, &seen, &d))) {
        count(app, p, "failed");
        cw_resp_error(resp, err, &d);
        goto out;
    }
    if (seen) {
        count(app, p, "duplicate");
        body = json_pack("{s:s, s:s, s:b}", "delivery", delivery, "status", "duplicate",
                         "duplicate", 1);
        cw_resp_json(resp, 200, body);
        body = NULL;
        goto out;
    }
    cw_webhook_delivery in = {.event = p == CW_WEBHOOK_GITHUB
                                           ? cw_req_header(req, "X-GitHub-Event")
                                           : cw_req_header(req, "X-Gitlab-Event"),
                              .delivery = delivery,
                              .incident_label = h.incident_label[0] ? h.incident_label : NULL,
                              .received_ms = now};
    err = p == CW_WEBHOOK_GITHUB ? cw_webhook_github(&in, payload, &tr, &d)
                                 : cw_webhook_gitlab(&in, payload, &tr, &d);
    if (err) {
        count(app, p, err == CW_ERR_INVALID ? "invalid" : "failed");
        if (err == CW_ERR_INVALID)
            cw_resp_problem(resp, 400, "payload: %s", d.msg);
        else
            cw_resp_error(resp, err, &d);
        goto out;
    }
    nev = json_array_size(tr.events);
    if (!nev) {
        count(app, p, tr.unknown_type ? "unknown" : "ignored");
        record(app, &h, delivery, tr.what, "ignored", tr.ignored, 0, text, len, now);
        body = json_pack("{s:s, s:s, s:s, s:i, s:s}", "delivery", delivery, "status", "ignored",
                         "what", tr.what, "events", 0, "reason", tr.ignored);
        cw_resp_json(resp, 200, body);
        body = NULL;
        goto out;
    }
    /* every event passes the intake's own checks */
    evs = calloc(nev, sizeof *evs);
    if (!evs) {
        count(app, p, "failed");
        cw_resp_problem(resp, 500, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nev; i++) {
        if ((err = cw_cdevent_decode(json_array_get(tr.events, i), &evs[i], &d))) {
            count(app, p, "invalid");
            cw_resp_problem(resp, 400, "payload: %s gives an event that is not valid: %s",
                            tr.what, d.msg);
            goto out;
        }
    }
    detail = json_pack("{s:s, s:s, s:s, s:s}", "receiver", h.id, "provider", h.provider,
                       "delivery", delivery, "what", tr.what);
    cw_api_audit_rec rec;
    cw_api_audit_build(req, "webhook.receive", NULL, detail, &rec);
    rec.entry.event_counts = true;
    cw_event_put_result res = {0};
    int64_t audit_id = 0;
    err = cw_store_events_put_audited(app->store, evs, nev, &rec.entry, &res, &audit_id, &d);
    if (!err)
        cw_api_audit_log(req, &rec, audit_id ? CW_OK : CW_ERR_INTERNAL, audit_id, &d);
    cw_api_audit_rec_free(&rec);
    if (err) {
        count(app, p, "failed");
        cw_resp_error(resp, err, &d);
        goto out;
    }
    count(app, p, "stored");
    record(app, &h, delivery, tr.what, "stored", NULL, nev, text, len, now);
    body = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:b}", "delivery", delivery, "status",
                     "stored", "what", tr.what, "events", (json_int_t)nev, "accepted",
                     (json_int_t)res.accepted, "duplicates", (json_int_t)res.duplicates,
                     "truncated", tr.truncated);
    cw_resp_json(resp, 200, body);
    body = NULL;
out:
    for (size_t i = 0; evs && i < nev; i++)
        cw_event_free(&evs[i]);
    free(evs);
    cw_webhook_result_free(&tr);
    json_decref(payload);
    json_decref(detail);
    json_decref(body);
    cw_buf_free(&form);
    free(secret);
}

static void receive_github(cw_app *app, cw_req *req, cw_resp *resp)
{
    receive(app, req, resp, CW_WEBHOOK_GITHUB);
}

static void receive_gitlab(cw_app *app, cw_req *req, cw_resp *resp)
{
    receive(app, req, resp, CW_WEBHOOK_GITLAB);
}

/* ---- administration ------------------------------------------------------------------- */

static json_t *hook_json(const cw_hook *h)
{
    char path[128], created[32], revoked[32];
    cw_hook_path(h, path, sizeof path);
    cw_time_format_compact(h->created_at * 1000, created);
    cw_time_format_compact(h->revoked_at * 1000, revoked);
    return json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s, s:s, s:s?}", "id", h->id, "provider",
                     h->provider, "name", h->name, "team", h->team[0] ? h->team : NULL,
                     "incidentLabel", h->incident_label[0] ? h->incident_label : NULL, "path",
                     path, "createdAt", created, "revokedAt", h->revoked_at ? revoked : NULL);
}

static const char *opt_string(const json_t *obj, const char *key, bool *bad)
{
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_string(v)) {
        *bad = true;
        return NULL;
    }
    return json_string_value(v);
}

static void create_hook(cw_app *app, cw_req *req, cw_resp *resp)
{
    json_t *in = cw_req_json_body(req, resp);
    if (!in)
        return;
    if (!json_is_object(in)) {
        cw_resp_problem(resp, 400, "request body: must be an object {provider, name, team?, "
                                   "incidentLabel?}");
        json_decref(in);
        return;
    }
    static const char *const fields[] = {"provider", "name", "team", "incidentLabel"};
    const char *v[4];
    for (size_t i = 0; i < 4; i++) {
        bool bad = false;
        v[i] = opt_string(in, fields[i], &bad);
        if (bad) {
            cw_resp_problem(resp, 400, "%s: must be a string", fields[i]);
            json_decref(in);
            return;
        }
    }
    const char *key;
    json_t *val;
    json_object_foreach(in, key, val) {
        bool known = false;
        for (size_t i = 0; i < 4 && !known; i++)
            known = !strcmp(key, fields[i]);
        if (!known) {
            cw_resp_problem(resp, 400, "%.100s: unknown field (provider, name, team, "
                                       "incidentLabel)", key);
            json_decref(in);
            return;
        }
    }
    if (!v[0] || !v[1]) {
        cw_resp_problem(resp, 400, "%s: required", v[0] ? "name" : "provider");
        json_decref(in);
        return;
    }
    cw_hook_spec spec = {.provider = v[0], .name = v[1], .team = v[2], .incident_label = v[3],
                         .now_s = cw_now_ms() / 1000};
    cw_hook h;
    char secret[CW_HOOK_SECRET_TEXT];
    cw_diag d = {{0}};
    cw_err err = cw_hook_new(app->store, &spec, &h, secret, &d);
    json_decref(in);
    if (err) {
        cw_resp_error(resp, err, &d);
        return;
    }
    json_t *refs = json_array();
    if (refs && h.team[0])
        json_array_append_new(refs, json_string(h.team));
    json_t *detail = json_pack("{s:s, s:s, s:s}", "receiver", h.id, "provider", h.provider,
                               "name", h.name);
    cw_api_audit_detail(app, req, "webhook.create", refs, detail);
    json_decref(refs);
    json_decref(detail);
    json_t *out = hook_json(&h);
    if (out)
        json_object_set_new(out, "secret", json_string(secret));
    char path[128];
    cw_hook_path(&h, path, sizeof path);
    cw_resp_header(resp, "Location", path);
    cw_resp_json(resp, 201, out);
}

static void list_hooks(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_api_page pg;
    if (!cw_api_page_params(req, resp, 1000, 1000, &pg))
        return;
    cw_hook *all = NULL;
    size_t n = 0;
    cw_diag d = {{0}};
    cw_err err = cw_store_hook_list(app->store, &all, &n, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; items && i < n; i++)
        json_array_append_new(items, hook_json(&all[i]));
    free(all);
    cw_api_page_reply(resp, json_pack("{s:o}", "items", items), "items", &pg);
}

static void revoke_hook(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_diag d = {{0}};
    cw_err err = cw_store_hook_revoke(app->store, req->params[0], cw_now_ms() / 1000, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        return;
    }
    json_t *detail = json_pack("{s:s}", "receiver", req->params[0]);
    cw_api_audit_detail(app, req, "webhook.revoke", NULL, detail);
    json_decref(detail);
    resp->status = 204;
}

static void list_deliveries(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_api_page pg;
    if (!cw_api_page_params(req, resp, DELIVERIES_DEFAULT, DELIVERIES_MAX, &pg))
        return;
    /* the store keeps the latest DELIVERIES_MAX; pages are cut from them */
    uint64_t limit = DELIVERIES_MAX;
    cw_hook *all = NULL;
    size_t n = 0;
    bool found = false;
    cw_diag d = {{0}};
    cw_err err = cw_store_hook_list(app->store, &all, &n, &d);
    for (size_t i = 0; !err && i < n; i++)
        found = found || !strcmp(all[i].id, req->params[0]);
    free(all);
    if (!err && !found)
        err = cw_fail(&d, CW_ERR_NOT_FOUND, "webhook receiver %s: not found", req->params[0]);
    json_t *items = NULL;
    if (!err)
        err = cw_store_hook_deliveries(app->store, req->params[0], (size_t)limit, &items, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        return;
    }
    size_t i;
    json_t *row;
    json_array_foreach(items, i, row) {
        char t[32];
        cw_time_format_compact((int64_t)json_integer_value(json_object_get(row, "receivedMs")), t);
        json_object_set_new(row, "receivedAt", json_string(t));
        json_object_del(row, "receivedMs");
    }
    cw_api_page_reply(resp, json_pack("{s:o}", "items", items), "items", &pg);
}

static const char *const no_params[] = {NULL};
static const char *const limit_params[] = {"limit", "cursor", NULL};

const cw_route cw_routes_hooks[] = {
    {"POST", "/api/v1/hooks/github/{id}", receive_github, CW_AUTH_PUBLIC, NULL},
    {"POST", "/api/v1/hooks/gitlab/{id}", receive_gitlab, CW_AUTH_PUBLIC, NULL},
    {"GET", "/api/v1/hooks", list_hooks, CW_AUTH_ADMIN, limit_params},
    {"POST", "/api/v1/hooks", create_hook, CW_AUTH_ADMIN, no_params},
    {"DELETE", "/api/v1/hooks/{id}", revoke_hook, CW_AUTH_ADMIN, no_params},
    {"GET", "/api/v1/hooks/{id}/deliveries", list_deliveries, CW_AUTH_ADMIN, limit_params},
    {NULL, NULL, NULL, 0, NULL},
};
