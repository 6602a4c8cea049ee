/*
 * api_heartbeats.c — heartbeats over HTTP.
 *
 * The ping API, with healthchecks.io's URLs and answers (public: the key in
 * the URL is the secret):
 *   /ping/{uuid}                       success
 *   /ping/{uuid}/start | /fail | /log  a run starts, fails, or a message
 *   /ping/{uuid}/{0-255}               an exit status: 0 success, else fail
 *   /ping/{team-key}/{slug}[/start|/fail|/log|/{0-255}]
 * GET, HEAD and POST; ?rid=UUID pairs a start with its end; the first 100 KiB
 * of a body is kept. Answers "OK"; an unknown key "not found" (404); a bad
 * exit status or slug "invalid url format", a bad rid "invalid uuid format"
 * (400); two heartbeats of one team with the slug "ambiguous slug" (409);
 * "rate limited" (429) beyond CW_PING_BURST pings of one key in a row.
 *
 * The management API (reads for viewers, changes for editors of the owning
 * team): GET /api/v1/heartbeats, GET /api/v1/heartbeats/{ns}/{name} (with
 * its last pings and status changes), POST …/pause, …/resume, …/ping-key
 * (a new key, shown once), POST /api/v1/teams/{ns}/{name}/ping-key (the
 * team's slug key, shown once).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "catalog/heartbeat.h"
#include "http/api_common.h"
#include "http/http_int.h"
#include "insights/heartbeat_findings.h"
#include "store/store_heartbeats.h"
#include "store/store_scan.h"
#include "util/crypto.h"
#include "util/duration.h"
#include "util/timeutil.h"
#include "util/utf8.h"

/* ---- keeping the rows in step with the catalog ------------------------------------ */

static struct {
    pthread_mutex_t mu;
    cw_store *store;
    int64_t gen;
} synced = {.mu = PTHREAD_MUTEX_INITIALIZER, .gen = -1};

/* Syncs heartbeat rows with the catalog when it changed since the last
 * sync of this process (the scheduler also does, every few seconds). */
static bool ensure_synced(cw_app *app, cw_resp *resp)
{
    cw_diag d = {{0}};
    int64_t gen = 0;
    cw_err err = cw_store_hb_catalog_gen(app->store, &gen, &d);
    pthread_mutex_lock(&synced.mu);
    if (!err && (synced.store != app->store || synced.gen != gen)) {
        err = cw_store_hb_sync(app->store, cw_now_ms(), NULL, &d);
        if (!err) {
            synced.store = app->store;
            synced.gen = gen;
        }
    }
    pthread_mutex_unlock(&synced.mu);
    if (err) {
        cw_resp_error(resp, err, &d);
        return false;
    }
    return true;
}

/* ---- ping rate limit ------------------------------------------------------------ */

#define CW_PING_BURST 120.0     /* pings of one key in a row */
#define CW_PING_REFILL 2.0      /* per second after that */
#define RL_SLOTS 4096

/* Token buckets in a fixed table indexed by the key's hash: bounded memory
 * whatever keys arrive; two keys sharing a slot share a bucket. */
static struct {
    pthread_mutex_t mu;
    struct {
        uint64_t tag;
        double tokens;
        int64_t at_ms;
    } slot[RL_SLOTS];
} limiter = {.mu = PTHREAD_MUTEX_INITIALIZER};

static bool rate_ok(const char *hash_hex, int64_t now_ms)
{
    uint64_t tag = 0;
    for (int i = 0; i < 16; i++) {
        char c = hash_hex[i];
        tag = tag << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    size_t i = tag % RL_SLOTS;
    pthread_mutex_lock(&limiter.mu);
    if (limiter.slot[i].tag != tag) {
        limiter.slot[i].tag = tag;
        limiter.slot[i].tokens = CW_PING_BURST;
        limiter.slot[i].at_ms = now_ms;
    }
    double t = limiter.slot[i].tokens +
               (double)(now_ms - limiter.slot[i].at_ms) / 1000.0 * CW_PING_REFILL;
    if (t > CW_PING_BURST)
        t = CW_PING_BURST;
    limiter.slot[i].at_ms = now_ms;
    bool ok = t >= 1.0;
    limiter.slot[i].tokens = ok ? t - 1.0 : t;
    pthread_mutex_unlock(&limiter.mu);
    return ok;
}

/* ---- the ping API ------------------------------------------------------------------ */

static void text_answer(cw_resp *resp, int status, const char *text)
{
    resp->status = status;
    resp->content_type = "text/plain; charset=utf-8";
    cw_buf_reset(&resp->body);
    cw_buf_append(&resp->body, text, strlen(text));
    cw_resp_header(resp, "Access-Control-Allow-Origin", "*");
}

/* Lower-case canonical UUID text. */
static bool is_uuid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

/* healthchecks' rid check: any case, with or without dashes as Python's UUID() reads it;
 * conway takes the canonical form in either case. */
static bool is_uuid_any_case(const char *s)
{
    char low[40];
    size_t n = strlen(s);
    if (n != 36)
        return false;
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    return is_uuid(low);
}

/* Django's slug: [-a-zA-Z0-9_]+ */
static bool is_slug(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return false;
    return true;
}

/* An action segment: start, fail, log, or digits (an exit status). */
static bool parse_action(const char *s, cw_ping_kind *kind, int *exit_status, bool *too_big)
{
    *exit_status = -1;
    *too_big = false;
    if (!strcmp(s, "start"))
        *kind = CW_PING_START;
    else if (!strcmp(s, "fail"))
        *kind = CW_PING_FAIL;
    else if (!strcmp(s, "log"))
        *kind = CW_PING_LOG;
    else {
        if (!*s)
            return false;
        long v = 0;
        for (const char *p = s; *p; p++) {
            if (*p < '0' || *p > '9')
                return false;
            if (v < 100000)
                v = v * 10 + (*p - '0');
        }
        *too_big = v > 255;
        *exit_status = (int)v;
        *kind = v == 0 ? CW_PING_SUCCESS : CW_PING_FAIL;
    }
    return true;
}

/* The answer to a written ping (the same whether it waited or was deferred). */
static void answer_ping(cw_app *app, cw_resp *resp, cw_err err, const cw_hb_ping_out *out)
{
    if (err) {
        text_answer(resp, cw_http_status_of(err), "error");
        return;
    }
    if (out->err == CW_ERR_NOT_FOUND || out->err == CW_ERR_INVALID) {
        text_answer(resp, 404, "not found");
        return;
    }
    if (out->err == CW_ERR_CONFLICT) {
        text_answer(resp, 409, "ambiguous slug");
        return;
    }
    if (out->alert_after_ms && app->cfg.on_heartbeat_due)
        app->cfg.on_heartbeat_due(app->cfg.on_heartbeat_due_ctx, out->alert_after_ms);
    char limit[24];
    snprintf(limit, sizeof limit, "%u", CW_HB_BODY_MAX);
    cw_resp_header(resp, "Ping-Body-Limit", limit);
    text_answer(resp, 200, "OK");
}

/*
 * A deferred ping (the request thread does not wait for the commit): the
 * ping's inputs copied out of the request, whose path parameters and body
 * do not outlive the handler.
 */
typedef struct {
    cw_deferred *df;
    cw_hb_ping_in in;
    cw_hb_ping_out out;
    cw_err err;
    cw_diag diag;
    char hash[65], slug[CW_NAME_MAX + 1], rid[40], remote[64], ua[CW_HB_UA_MAX + 1];
    unsigned char body[]; /* in.body_len bytes */
} ping_job;

static void ping_written(void *arg)
{
    ping_job *j = arg;
    cw_deferred_complete(j->df); /* j may be gone after this */
}

static void ping_finish(cw_app *app, cw_req *req, cw_resp *resp, void *state)
{
    (void)req;
    ping_job *j = state;
    answer_ping(app, resp, j->err, &j->out);
    free(j);
}

/* Queues the ping and defers the answer; false when it cannot (the caller
 * then waits in place). */
static bool ping_deferred(cw_app *app, cw_req *req, const cw_hb_ping_in *in)
{
    /* what the copies cannot hold is refused by the store: in place */
    if ((in->slug && strlen(in->slug) > CW_NAME_MAX) || strlen(in->remote) >= 64 ||
        strlen(in->ua) > CW_HB_UA_MAX || (in->rid && strlen(in->rid) >= 40))
        return false;
    ping_job *j = malloc(sizeof *j + in->body_len);
    if (!j)
        return false;
    memset(j, 0, sizeof *j);
    j->in = *in;
    snprintf(j->hash, sizeof j->hash, "%s", in->key_hash ? in->key_hash : in->team_hash);
    snprintf(j->slug, sizeof j->slug, "%s", in->slug ? in->slug : "");
    snprintf(j->rid, sizeof j->rid, "%s", in->rid ? in->rid : "");
    snprintf(j->remote, sizeof j->remote, "%s", in->remote);
    snprintf(j->ua, sizeof j->ua, "%s", in->ua);
    if (in->body_len)
        memcpy(j->body, in->body, in->body_len);
    j->in.key_hash = in->key_hash ? j->hash : NULL;
    j->in.team_hash = in->key_hash ? NULL : j->hash;
    j->in.slug = in->slug ? j->slug : NULL;
    j->in.rid = j->rid;
    j->in.remote = j->remote;
    j->in.ua = j->ua;
    j->in.body = in->body_len ? j->body : NULL;
    j->df = cw_req_defer(req, ping_finish, j);
    if (!j->df) {
        free(j);
        return false;
    }
    if (cw_store_hb_ping_async(app->store, &j->in, &j->out, &j->err, &j->diag, ping_written,
                               j)) {
        cw_deferred_cancel(j->df);
        free(j);
        return false;
    }
    return true;
}

static void ping(cw_app *app, cw_req *req, cw_resp *resp)
{
    const char *a = req->params[0], *b = req->nparams > 1 ? req->params[1] : NULL,
               *c = req->nparams > 2 ? req->params[2] : NULL;
    cw_ping_kind kind = CW_PING_SUCCESS;
    int exit_status = -1;
    bool too_big = false;
    const char *key = NULL, *team = NULL, *slug = NULL;
    if (!b) {
        if (!is_uuid(a)) {
            text_answer(resp, 404, "not found");
            return;
        }
        key = a;
    } else if (!c && is_uuid(a) && parse_action(b, &kind, &exit_status, &too_big)) {
        key = a; /* the UUID form wins, as in healthchecks' URL table */
    } else {
        team = a;
        slug = b;
        kind = CW_PING_SUCCESS;
        exit_status = -1;
        if (c && !parse_action(c, &kind, &exit_status, &too_big)) {
            text_answer(resp, 404, "not found");
            return;
        }
        if (!is_slug(team) || !is_slug(slug)) {
            text_answer(resp, 404, "not found");
            return;
        }
        for (const char *p = slug; *p; p++)
            if (*p >= 'A' && *p <= 'Z') {
                text_answer(resp, 400, "invalid url format");
                return;
            }
    }
    if (too_big) {
        text_answer(resp, 400, "invalid url format");
        return;
    }
    const char *rid = cw_req_query(req, "rid");
    char rid_low[40] = "";
    if (rid) {
        if (!is_uuid_any_case(rid)) {
            text_answer(resp, 400, "invalid uuid format");
            return;
        }
        for (size_t i = 0; i <= 36; i++)
            rid_low[i] = (char)(rid[i] >= 'A' && rid[i] <= 'Z' ? rid[i] + 32 : rid[i]);
    }
    char hash[65];
    const char *secret = key ? key : team;
    cw_sha256_hex(secret, strlen(secret), hash);
    int64_t now = cw_now_ms();
    if (!rate_ok(hash, now)) {
        cw_resp_header(resp, "Retry-After", "1");
        text_answer(resp, 429, "rate limited");
        return;
    }
    char remote[64];
    cw_req_client_addr(req, remote, sizeof remote);
    const char *ua = cw_req_header(req, "User-Agent");
    char ua_buf[CW_HB_UA_MAX + 1];
    snprintf(ua_buf, sizeof ua_buf, "%s", ua ? ua : "");
    if (!cw_utf8_valid(ua_buf, strlen(ua_buf)))
        ua_buf[0] = '\0';
    size_t keep = req->body_len < CW_HB_BODY_MAX ? req->body_len : CW_HB_BODY_MAX;
    cw_hb_ping_in in = {
        .key_hash = key ? hash : NULL,
        .team_hash = key ? NULL : hash,
        .slug = slug,
        .kind = kind,
        .exit_status = exit_status,
        .rid = rid_low,
        .method = !strcmp(req->method, "POST") ? "POST" : !strcmp(req->method, "HEAD") ? "HEAD" : "GET",
        .remote = remote,
        .ua = ua_buf,
        .body = req->body,
        .body_len = keep,
        .body_size = req->body_len,
        .now_ms = now,
    };
    if (ping_deferred(app, req, &in))
        return;
    cw_hb_ping_out out;
    cw_diag d = {{0}};
    cw_err err = cw_store_hb_ping_grouped(app->store, &in, &out, &d);
    answer_ping(app, resp, err, &out);
}

/* ---- rendering -------------------------------------------------------------------- */

static json_t *time_or_null(int64_t ms)
{
    if (!ms)
        return json_null();
    char t[32];
    cw_time_format_ms(ms, t);
    return json_string(t);
}

static json_t *ref_or_null(const char *ref) { return ref[0] ? json_string(ref) : json_null(); }

json_t *cw_api_heartbeat_json(const cw_hb_row *r, int64_t now_ms);

json_t *cw_api_heartbeat_json(const cw_hb_row *r, int64_t now_ms)
{
    const cw_hb_schedule *s = &r->spec.sched;
    char grace[32], period[32];
    cw_duration_format(s->grace_s * 1000, grace);
    json_t *sched;
    if (s->kind == CW_HB_SCHED_CRON) {
        sched = json_pack("{s:s, s:s, s:s, s:s, s:I}", "kind", "cron", "cron", s->cron, "tz",
                          s->tz[0] ? s->tz : "UTC", "grace", grace, "graceSeconds",
                          (json_int_t)s->grace_s);
    } else {
        cw_duration_format(s->period_s * 1000, period);
        sched = json_pack("{s:s, s:s, s:I, s:s, s:I}", "kind", "period", "period", period,
                          "periodSeconds", (json_int_t)s->period_s, "grace", grace,
                          "graceSeconds", (json_int_t)s->grace_s);
    }
    bool loaded = s->kind != CW_HB_SCHED_CRON || s->zone;
    cw_hb_shown shown = loaded ? cw_hb_shown_status(s, &r->state, now_ms)
                               : (cw_hb_shown)r->state.status;
    int64_t expected = loaded ? cw_hb_grace_start(s, &r->state, false) : 0;
    return json_pack(
        "{s:s, s:s, s:o, s:s, s:o, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:b}",
        "entityRef", r->ref, "owner", r->spec.owner, "target", ref_or_null(r->spec.target),
        "purpose", cw_hb_purpose_name(r->spec.purpose), "dependsOn",
        ref_or_null(r->spec.depends_on), "schedule", sched, "status", cw_hb_shown_name(shown),
        "storedStatus", cw_hb_status_name(r->state.status), "lastPing",
        time_or_null(r->state.last_ping_ms), "lastSuccess", time_or_null(r->state.last_success_ms),
        "runningSince", time_or_null(r->state.last_start_ms), "lastDurationMs",
        r->state.last_duration_ms >= 0 ? json_integer(r->state.last_duration_ms) : json_null(),
        "nextExpected", time_or_null(expected), "downAt", time_or_null(r->state.alert_after_ms),
        "pings", (json_int_t)r->state.n_pings, "hasPingKey", r->has_ping_key);
}

static json_t *ping_json(const cw_hb_ping_rec *p)
{
    char when[32];
    cw_time_format_ms(p->at_ms, when);
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:I}", "n", (json_int_t)p->n, "time",
                          when, "kind", cw_ping_kind_name(p->kind), "method", p->method, "remote",
                          p->remote, "userAgent", p->ua, "bodySize", (json_int_t)p->body_size);
    if (!o)
        return NULL;
    json_object_set_new(o, "exitStatus", p->exit_status >= 0 ? json_integer(p->exit_status)
                                                             : json_null());
    json_object_set_new(o, "rid", p->rid[0] ? json_string(p->rid) : json_null());
    json_object_set_new(o, "durationMs", p->duration_ms >= 0 ? json_integer(p->duration_ms)
                                                             : json_null());
    if (p->body_len && cw_utf8_valid((const char *)p->body, p->body_len)) {
        json_object_set_new(o, "body", json_stringn((const char *)p->body, p->body_len));
    } else if (p->body_len) {
        char *b64 = cw_base64url_encode(p->body, p->body_len);
        json_object_set_new(o, "bodyBase64url", b64 ? json_string(b64) : json_null());
        free(b64);
    } else {
        json_object_set_new(o, "body", json_null());
    }
    return o;
}

/* ---- management --------------------------------------------------------------------- */

static bool key_of_path(cw_req *req, cw_resp *resp, char key[CW_REF_MAX])
{
    char text[CW_REF_MAX * 2];
    snprintf(text, sizeof text, "heartbeat:%s/%s", req->params[0], req->params[1]);
    cw_ref r;
    cw_diag d = {{0}};
    if (cw_ref_parse(text, NULL, NULL, &r, &d)) {
        cw_resp_problem(resp, 400, "path: %s", d.msg);
        return false;
    }
    cw_ref_key(&r, key);
    return true;
}

static bool load_row(cw_app *app, cw_req *req, cw_resp *resp, cw_hb_row *row, char key[CW_REF_MAX])
{
    if (!key_of_path(req, resp, key) || !ensure_synced(app, resp))
        return false;
    cw_diag d = {{0}};
    cw_err err = cw_store_hb_get(app->store, key, row, &d);
    if (err == CW_ERR_NOT_FOUND) {
        cw_resp_problem(resp, 404, "heartbeat %s:%s/%s does not exist", "heartbeat",
                        req->params[0], req->params[1]);
        return false;
    }
    if (err) {
        cw_resp_error(resp, err, &d);
        return false;
    }
    return true;
}

/* Editors scoped to a team may act only on their team's heartbeats. */
static bool may_change(cw_app *app, cw_req *req, cw_resp *resp)
{
    if (!req->authenticated || !req->token.team[0])
        return true;
    json_t *e = NULL;
    cw_diag d = {{0}};
    cw_err err = cw_store_entity_load(app->store, "Heartbeat", req->params[0], req->params[1],
                                      &e, &d);
    if (!err)
        err = cw_api_check_team_entity(app, req, e, &d);
    json_decref(e);
    if (err) {
        cw_resp_error(resp, err, &d);
        return false;
    }
    return true;
}

static bool filter_ok(const cw_hb_row *r, const char *owner_key, const char *target_key,
                      const char *status, int64_t now)
{
    char k[CW_REF_MAX];
    if (owner_key && strcmp(r->owner_key, owner_key))
        return false;
    if (target_key && (!cw_ref_text_to_key(r->spec.target[0] ? r->spec.target : "x:y/z", k) ||
                       strcmp(k, target_key)))
        return false;
    if (status) {
        bool loaded = r->spec.sched.kind != CW_HB_SCHED_CRON || r->spec.sched.zone;
        cw_hb_shown s = loaded ? cw_hb_shown_status(&r->spec.sched, &r->state, now)
                               : (cw_hb_shown)r->state.status;
        if (strcmp(cw_hb_shown_name(s), status))
            return false;
    }
    return true;
}

static bool ref_param(cw_req *req, cw_resp *resp, const char *name, const char *default_kind,
                      char key[CW_REF_MAX], const char **out)
{
    const char *v = cw_req_query(req, name);
    *out = NULL;
    if (!v)
        return true;
    cw_ref r;
    cw_diag d = {{0}};
    if (cw_ref_parse(v, default_kind, NULL, &r, &d)) {
        cw_resp_problem(resp, 400, "query parameter '%s': %s", name, d.msg);
        return false;
    }
    cw_ref_key(&r, key);
    *out = key;
    return true;
}

static void list_heartbeats(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_api_page pg;
    if (!cw_api_page_params(req, resp, 1000, 1000, &pg))
        return;
    char ok[CW_REF_MAX], tk[CW_REF_MAX];
    const char *owner_key, *target_key;
    const char *status = cw_req_query(req, "status");
    static const char *const statuses[] = {"new", "up", "grace", "down", "paused", "started"};
    if (status) {
        bool known = false;
        for (size_t i = 0; i < 6 && !known; i++)
            known = !strcmp(status, statuses[i]);
        if (!known) {
            cw_resp_problem(resp, 400, "query parameter 'status': must be one of new, up, grace, "
                            "down, paused, started");
            return;
        }
    }
    if (!ref_param(req, resp, "owner", "Group", ok, &owner_key) ||
        !ref_param(req, resp, "target", NULL, tk, &target_key) || !ensure_synced(app, resp))
        return;
    cw_hb_row *rows = NULL;
    size_t n = 0;
    cw_diag d = {{0}};
    cw_err err = cw_store_hb_list(app->store, &rows, &n, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        return;
    }
    int64_t now = cw_now_ms();
    json_t *items = json_array();
    json_t *counts = json_object();
    for (size_t i = 0; i < n && items; i++) {
        if (!filter_ok(&rows[i], owner_key, target_key, status, now))
            continue;
        json_t *o = cw_api_heartbeat_json(&rows[i], now);
        if (!o || json_array_append_new(items, o)) {
            json_decref(items);
            items = NULL;
            break;
        }
        const char *st = json_string_value(json_object_get(o, "status"));
        json_int_t c = json_integer_value(json_object_get(counts, st));
        json_object_set_new(counts, st, json_integer(c + 1));
    }
    free(rows);
    json_t *body = items && counts ? json_pack("{s:o, s:o}", "items", items, "counts", counts)
                                   : NULL;
    cw_api_page_reply(resp, body, "items", &pg);
}

static void get_heartbeat(cw_app *app, cw_req *req, cw_resp *resp)
{
    uint64_t npings;
    if (!cw_req_query_uint(req, resp, "pings", 20, 0, CW_HB_PINGS_KEPT, &npings))
        return;
    cw_hb_row row;
    char key[CW_REF_MAX];
    if (!load_row(app, req, resp, &row, key))
        return;
    json_t *o = cw_api_heartbeat_json(&row, cw_now_ms());
    json_t *pings = json_array(), *flips = json_array();
    cw_hb_ping_rec *p = NULL;
    cw_hb_flip_rec *f = NULL;
    size_t np = 0, nf = 0;
    cw_diag d = {{0}};
    cw_err err = npings ? cw_store_hb_pings(app->store, key, npings, &p, &np, &d) : CW_OK;
    if (!err)
        err = cw_store_hb_flips(app->store, key, 20, &f, &nf, &d);
    for (size_t i = 0; !err && i < np; i++)
        json_array_append_new(pings, ping_json(&p[i]));
    for (size_t i = 0; !err && i < nf; i++) {
        char when[32];
        cw_time_format_ms(f[i].at_ms, when);
        json_array_append_new(flips, json_pack("{s:s, s:s, s:s, s:s}", "time", when, "from",
                                               cw_hb_status_name(f[i].from), "to",
                                               cw_hb_status_name(f[i].to), "reason", f[i].reason));
    }
    cw_hb_pings_free(p, np);
    free(f);
    if (err) {
        json_decref(o);
        json_decref(pings);
        json_decref(flips);
        cw_resp_error(resp, err, &d);
        return;
    }
    json_object_set_new(o, "lastPings", pings);
    json_object_set_new(o, "statusChanges", flips);
    cw_resp_json(resp, 200, o);
}

static void control(cw_app *app, cw_req *req, cw_resp *resp, cw_hb_op op)
{
    cw_hb_row row;
    char key[CW_REF_MAX];
    if (!load_row(app, req, resp, &row, key) || !may_change(app, req, resp))
        return;
    cw_diag d = {{0}};
    cw_err err = cw_store_hb_control(app->store, key, op, cw_now_ms(), &row, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        return;
    }
    json_t *refs = json_pack("[s]", row.ref);
    cw_api_audit_refs(app, req, op == CW_HB_OP_PAUSE ? "heartbeat.pause" : "heartbeat.resume",
                      refs);
    json_decref(refs);
    cw_resp_json(resp, 200, cw_api_heartbeat_json(&row, cw_now_ms()));
}

static void pause_heartbeat(cw_app *app, cw_req *req, cw_resp *resp)
{
    control(app, req, resp, CW_HB_OP_PAUSE);
}

static void resume_heartbeat(cw_app *app, cw_req *req, cw_resp *resp)
{
    control(app, req, resp, CW_HB_OP_RESUME);
}

/* A random (version 4) UUID from OpenSSL's generator, as healthchecks' keys. */
static cw_err uuid4(char out[37])
{
    unsigned char b[16];
    cw_err err = cw_random_bytes(b, sizeof b);
    if (err)
        return err;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
    return CW_OK;
}

static void new_ping_key(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_hb_row row;
    char key[CW_REF_MAX], uuid[37], hash[65];
    if (!load_row(app, req, resp, &row, key) || !may_change(app, req, resp))
        return;
    cw_diag d = {{0}};
    cw_err err = uuid4(uuid);
    if (!err) {
        cw_sha256_hex(uuid, strlen(uuid), hash);
        err = cw_store_hb_set_key(app->store, key, hash, &d);
    }
    if (err) {
        cw_resp_error(resp, err, &d);
        return;
    }
    json_t *refs = json_pack("[s]", row.ref);
    cw_api_audit_refs(app, req, "heartbeat.ping-key", refs);
    json_decref(refs);
    char url[64];
    snprintf(url, sizeof url, "/ping/%s", uuid);
    cw_resp_header(resp, "Cache-Control", "no-store");
    cw_resp_json(resp, 201, json_pack("{s:s, s:s, s:s, s:s}", "entityRef", row.ref, "pingKey",
                                      uuid, "pingPath", url, "note",
                                      "shown once: conway keeps only its hash; a new key "
                                      "replaces this one"));
}

static void new_team_key(cw_app *app, cw_req *req, cw_resp *resp)
{
    char text[CW_REF_MAX * 2], team[CW_REF_MAX];
    snprintf(text, sizeof text, "group:%s/%s", req->params[0], req->params[1]);
    cw_ref r;
    cw_diag d = {{0}};
    if (cw_ref_parse(text, NULL, NULL, &r, &d)) {
        cw_resp_problem(resp, 400, "path: %s", d.msg);
        return;
    }
    cw_ref_key(&r, team);
    char *stored = NULL;
    cw_err err = cw_store_entity_get(app->store, "Group", r.namespace_, r.name, &stored, NULL, &d);
    if (err == CW_ERR_NOT_FOUND) {
        cw_resp_problem(resp, 404, "group %s does not exist", team);
        return;
    }
    free(stored);
    if (err) {
        cw_resp_error(resp, err, &d);
        return;
    }
    if (req->authenticated && req->token.team[0] && strcmp(req->token.team, team)) {
        cw_resp_problem(resp, 403, "this token is scoped to %s and may not create the ping key "
                        "of %s", req->token.team, team);
        return;
    }
    /* a slug key: 22 characters of [-_a-zA-Z0-9], like healthchecks' */
    unsigned char raw[16];
    err = cw_random_bytes(raw, sizeof raw);
    char *k = err ? NULL : cw_base64url_encode(raw, sizeof raw);
    char hash[65];
    if (!k) {
        cw_resp_problem(resp, 500, "cannot make a key");
        return;
    }
    cw_sha256_hex(k, strlen(k), hash);
    err = cw_store_hb_set_team_key(app->store, team, hash, cw_now_ms(), &d);
    if (err) {
        free(k);
        cw_resp_error(resp, err, &d);
        return;
    }
    char ref[CW_REF_MAX];
    cw_ref_format(&r, ref);
    json_t *refs = json_pack("[s]", ref);
    cw_api_audit_refs(app, req, "heartbeat.team-ping-key", refs);
    json_decref(refs);
    char path[96];
    snprintf(path, sizeof path, "/ping/%s/{slug}", k);
    cw_resp_header(resp, "Cache-Control", "no-store");
    cw_resp_json(resp, 201, json_pack("{s:s, s:s, s:s, s:s}", "team", ref, "pingKey", k,
                                      "pingPath", path, "note",
                                      "shown once: the slug of a heartbeat is its lower-cased "
                                      "name; a new key replaces this one"));
    free(k);
}

/* ---- routes -------------------------------------------------------------------- */

static const char *const no_params[] = {NULL};
/* GET /api/v1/heartbeats/deliveries?state=: the outgoing notifications,
 * newest first; state=dead is the dead-letter list. Admins only: a URL may
 * carry its receiver's secret (Slack's do). */
static void list_deliveries(cw_app *app, cw_req *req, cw_resp *resp)
{
    const char *state = cw_req_query(req, "state");
    static const char *const states[] = {"pending", "delivered", "dead"};
    int st = -1;
    for (int i = 0; state && i < 3; i++)
        if (!strcmp(state, states[i]))
            st = i;
    if (state && st < 0) {
        cw_resp_problem(resp, 400, "query parameter 'state': must be one of pending, delivered, "
                                   "dead");
        return;
    }
    cw_api_page pg;
    if (!cw_api_page_params(req, resp, 100, 1000, &pg))
        return;
    /* the rows up to the end of the page; the page is cut from them */
    uint64_t limit = (uint64_t)pg.offset + pg.limit + 1;
    cw_hb_delivery *dl = NULL;
    size_t n = 0;
    cw_diag d = {{0}};
    cw_err err = cw_store_hb_notify_list(app->store, st, (size_t)limit, &dl, &n, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n && items; i++) {
        char created[32], due[32], done[32];
        cw_time_format_ms(dl[i].created_ms, created);
        cw_time_format_ms(dl[i].due_ms, due);
        cw_time_format_ms(dl[i].done_ms, done);
        json_t *payload = json_loads(dl[i].body, 0, NULL);
        json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:i, s:s, s:s?, s:s?, s:i, s:s, s:o*}", "id",
                              (json_int_t)dl[i].id, "heartbeat", dl[i].key, "url", dl[i].url,
                              "state", states[dl[i].state < 3 ? dl[i].state : 0], "attempts",
                              dl[i].attempts, "created", created,
                              "nextAttempt", dl[i].state == CW_HB_DL_PENDING ? due : NULL,
                              "finished", dl[i].state != CW_HB_DL_PENDING ? done : NULL,
                              "lastStatus", dl[i].last_status, "lastError", dl[i].last_error,
                              "payload", payload);
        if (!o || json_array_append_new(items, o)) {
            json_decref(items);
            items = NULL;
        }
    }
    cw_hb_deliveries_free(dl, n);
    json_t *body = items ? json_pack("{s:o}", "items", items) : NULL;
    /* rows beyond the page only tell that there is a next one: no total */
    if (!body || cw_api_page_body(body, "items", &pg)) {
        json_decref(body);
        cw_resp_problem(resp, 500, "out of memory listing deliveries");
        return;
    }
    json_object_del(body, "totalItems");
    cw_resp_json(resp, 200, body);
}

static const char *const list_params[] = {"owner", "target", "status", "limit", "cursor", NULL};
static const char *const get_params[] = {"pings", NULL};
static const char *const delivery_params[] = {"state", "limit", "cursor", NULL};

const cw_route cw_routes_heartbeats[] = {
    /* healthchecks ignores query parameters it does not know: so does conway */
    {"GET", "/ping/{key}", ping, CW_AUTH_PUBLIC, NULL},
    {"POST", "/ping/{key}", ping, CW_AUTH_PUBLIC, NULL},
    {"GET", "/ping/{key}/{action}", ping, CW_AUTH_PUBLIC, NULL},
    {"POST", "/ping/{key}/{action}", ping, CW_AUTH_PUBLIC, NULL},
    {"GET", "/ping/{key}/{slug}/{action}", ping, CW_AUTH_PUBLIC, NULL},
    {"POST", "/ping/{key}/{slug}/{action}", ping, CW_AUTH_PUBLIC, NULL},
    {"GET", "/api/v1/heartbeats", list_heartbeats, CW_AUTH_READ, list_params},
    {"GET", "/api/v1/heartbeats/deliveries", list_deliveries, CW_AUTH_ADMIN, delivery_params},
    {"GET", "/api/v1/heartbeats/{namespace}/{name}", get_heartbeat, CW_AUTH_READ, get_params},
    {"POST", "/api/v1/heartbeats/{namespace}/{name}/pause", pause_heartbeat, CW_AUTH_WRITE,
     no_params},
    {"POST", "/api/v1/heartbeats/{namespace}/{name}/resume", resume_heartbeat, CW_AUTH_WRITE,
     no_params},
    {"POST", "/api/v1/heartbeats/{namespace}/{name}/ping-key", new_ping_key, CW_AUTH_WRITE,
     no_params},
    {"POST", "/api/v1/teams/{namespace}/{name}/ping-key", new_team_key, CW_AUTH_WRITE, no_params},
    {NULL, NULL, NULL, 0, NULL},
};

/* ---- findings --------------------------------------------------------------------- */

bool cw_api_with_heartbeat_findings(cw_app *app, json_t *const *items, size_t n,
                                    const json_t *findings, json_t **out, cw_resp *resp)
{
    *out = NULL;
    if (!ensure_synced(app, resp))
        return false;
    cw_hb_row *rows = NULL;
    size_t nrows = 0;
    cw_diag d = {{0}};
    cw_err err = cw_store_hb_list(app->store, &rows, &nrows, &d);
    json_t *merged = err ? NULL : json_array();
    if (!err && (!merged || json_array_extend(merged, (json_t *)findings)))
        err = cw_fail(&d, CW_ERR_NOMEM, "out of memory");
    if (!err) {
        cw_hb_findings_opts o = {.restore_test_days = app->cfg.restore_test_days};
        err = cw_heartbeat_findings(items, n, rows, nrows, cw_now_ms(), &o, merged, &d);
    }
    free(rows);
    if (err) {
        json_decref(merged);
        cw_resp_error(resp, err, &d);
        return false;
    }
    *out = merged;
    return true;
}
