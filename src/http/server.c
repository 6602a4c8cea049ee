/*
 * server.c — libmicrohttpd glue: accepts connections on a thread pool,
 * judges each request by its head alone (Host, body framing, route, method,
 * query, token and role, the route's body limit, the memory held by bodies
 * in flight) and answers those it refuses before reading any of their body;
 * then collects the body within its limit, calls the route's handler, sends
 * its response, and writes one JSON log line and the metrics for each
 * request. Nothing here knows about entities or events.
 *
 * Deferred answers (http_int.h): a handler may leave its request waiting
 * for work done on another thread; the connection is suspended (no worker
 * thread waits) and resumed when the work completes, then answered.
 *
 * Header deadline: libmicrohttpd's only timeout is an idle one, reset by
 * every byte received, so a client trickling its head a byte at a time
 * would hold its connection for ever. Every connection is tracked through
 * libmicrohttpd's connection notifications; a guard thread shuts down the
 * socket of one still waiting for a complete request head --header-timeout
 * after it opened or after its previous answer was sent, and libmicrohttpd,
 * which owns the socket, then sees it end and closes it.
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/bounded.h"
#include "http/http_int.h"
#include "http/judge.h"
#include "http/token_use.h"
#include "util/crypto.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/utf8.h"

/* One open connection, for the header deadline: created and freed by
 * libmicrohttpd's connection notifications (it is the connection's socket
 * context), read by the guard thread; every field under hg_mu. */
typedef struct conn_rec {
    struct conn_rec *prev, *next;
    int fd;                      /* libmicrohttpd's; never closed here */
    int64_t since_ns;            /* when the current wait for a head began */
    bool in_head;                /* waiting for a (complete) request head */
    bool cut;                    /* shut down by the guard */
    char client[INET6_ADDRSTRLEN];
} conn_rec;

struct cw_server {
    struct MHD_Daemon *daemon;
    cw_app app;
    unsigned port;
    bool check_host;     /* Host must name loopback or an --allowed-host */
    /* bytes of request bodies let in and not yet released: what their
     * buffers may grow to (--max-inflight-body) */
    atomic_size_t body_held;
    /* header deadline (hg_*): hg_mu guards the list and its records */
    pthread_mutex_t hg_mu;
    pthread_cond_t hg_cv;
    conn_rec *hg_conns;
    pthread_t hg_thread;
    bool hg_running;
    bool hg_stop;
    /* Deferred requests: df_mu guards every conn_ctx's df_* flags and the
     * counters; df_cv is signalled when a counter drops. */
    pthread_mutex_t df_mu;
    pthread_cond_t df_cv;
    size_t df_pending;   /* deferred, not yet completed */
    size_t df_inflight;  /* deferred, not yet answered and released */
    bool stopping;       /* no new deferrals */
};

/* Per-request state, owned by MHD's connection slot and freed in
 * on_completed, never by a handler (an orphaned deferred request, whose
 * connection went away before its work completed, is freed by
 * cw_deferred_complete instead). */
typedef struct {
    cw_buf body;
    bool too_large;      /* a chunked body went past its route's limit */
    int64_t start_ns;
    /* judged from the head (judge) */
    const cw_route *route;   /* the route; NULL when answered at once */
    bool body_announced;     /* Content-Length > 0 or chunked */
    size_t held;             /* bytes counted in body_held */
    char request_id[40];
    bool authenticated;
    cw_token token;
    cw_role role;
    /* deferral (http_int.h) */
    cw_server *srv;
    struct MHD_Connection *conn;
    bool df_active;      /* deferred and not yet finished */
    bool df_completed;   /* the work has ended (under df_mu) */
    bool df_suspended;   /* the connection is suspended (under df_mu) */
    bool df_orphan;      /* MHD released the request before completion */
    cw_finish_fn df_finish;
    void *df_state;
    cw_req df_req;       /* what finish sees of the request */
} conn_ctx;

static void cx_free(conn_ctx *cx);

void cw_server_config_default(cw_server_config *c)
{
    memset(c, 0, sizeof *c);
    c->listen = "127.0.0.1:7700";
    c->threads = 16;
    c->max_body = 16u << 20;
    c->max_header = 64u << 10;
    c->timeout_seconds = 30;
    c->max_connections = 1024;
    c->public_read = false;
    c->production_env = "prod*";
    c->max_components_per_team = 8;
    cw_arch_opts_default(&c->arch);
    c->max_inflight_body = (size_t)256 << 20;
    c->header_timeout_seconds = 10;
    c->max_conns_per_ip = 64;
    c->postmortem_severity = 0; /* critical */
    c->postmortem_days = -1;    /* 5 */
}

size_t cw_body_limit(const cw_server_config *cfg, cw_body_kind kind)
{
    switch (kind) {
    case CW_BODY_DOC: return cfg->max_body < CW_DOC_BODY_MAX ? cfg->max_body : CW_DOC_BODY_MAX;
    case CW_BODY_BULK: return cfg->max_body;
    case CW_BODY_NONE: break;
    }
    return 0;
}

static const cw_route *const route_tables[] = {
    cw_routes_meta,
    cw_routes_entities,
    cw_routes_backstage,
    cw_routes_responsibilities,
    cw_routes_events,
    cw_routes_insights,
    cw_routes_hooks,
    cw_routes_locations,
    cw_routes_incidents,
    cw_routes_metrics,
    cw_routes_strategy,
    cw_routes_architecture,
    cw_routes_heartbeats,
    cw_routes_scorecards,
    cw_routes_initiatives,
    cw_routes_tokens,
};

const cw_route *const *cw_route_tables(size_t *n)
{
    *n = sizeof route_tables / sizeof route_tables[0];
    return route_tables;
}

/* The routes that take a request body, and how large one may be; judge()
 * refuses any other body before reading it. (test_routes checks that each
 * names a route and that every POST and PUT route is here.) */
static const struct {
    const char *method, *pattern;
    cw_body_kind body;
} body_routes[] = {
    {"PUT", "/api/v1/entities/{kind}/{namespace}/{name}", CW_BODY_DOC},
    {"POST", "/api/catalog/entities/by-refs", CW_BODY_DOC},
    {"POST", "/api/v1/import", CW_BODY_BULK},
    {"POST", "/api/v1/events", CW_BODY_BULK},
    {"POST", "/api/v1/codeowners", CW_BODY_BULK},
    {"POST", "/api/v1/hooks/github/{id}", CW_BODY_BULK},
    {"POST", "/api/v1/hooks/gitlab/{id}", CW_BODY_BULK},
    {"POST", "/api/v1/hooks", CW_BODY_DOC},
    {"POST", "/api/catalog/locations", CW_BODY_DOC},
    {"POST", "/api/catalog/refresh", CW_BODY_DOC},
    {"POST", "/api/v1/hooks/alertmanager", CW_BODY_BULK},
    {"POST", "/api/v1/incidents/{id}/transitions", CW_BODY_DOC},
    {"POST", "/api/v1/metrics", CW_BODY_BULK},
    {"POST", "/api/v1/tokens", CW_BODY_DOC},
    /* heartbeat pings: the first 100 KiB of a body is kept (api_heartbeats.c) */
    {"POST", "/ping/{key}", CW_BODY_DOC},
    {"POST", "/ping/{key}/{action}", CW_BODY_DOC},
    {"POST", "/ping/{key}/{slug}/{action}", CW_BODY_DOC},
    /* heartbeat commands: any body is ignored */
    {"POST", "/api/v1/heartbeats/{namespace}/{name}/pause", CW_BODY_DOC},
    {"POST", "/api/v1/heartbeats/{namespace}/{name}/resume", CW_BODY_DOC},
    {"POST", "/api/v1/heartbeats/{namespace}/{name}/ping-key", CW_BODY_DOC},
    {"POST", "/api/v1/teams/{namespace}/{name}/ping-key", CW_BODY_DOC},
};

cw_body_kind cw_route_body(const cw_route *r)
{
    for (size_t i = 0; i < sizeof body_routes / sizeof body_routes[0]; i++)
        if (!strcmp(body_routes[i].method, r->method) && !strcmp(body_routes[i].pattern, r->pattern))
            return body_routes[i].body;
    return CW_BODY_NONE;
}

/* Matches path against a pattern with {param} segments; fills params. */
static bool route_match(const char *pattern, const char *path, cw_req *req)
{
    const char *p = pattern, *s = path;
    size_t np = 0;
    static __thread char segbuf[CW_MAX_PATH_PARAMS][256];
    while (*p && *s) {
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            const char *se = strchr(s, '/');
            size_t len = se ? (size_t)(se - s) : strlen(s);
            if (!pe || len == 0 || len >= sizeof segbuf[0] || np >= CW_MAX_PATH_PARAMS)
                return false;
            memcpy(segbuf[np], s, len);
            segbuf[np][len] = '\0';
            req->params[np] = segbuf[np];
            np++;
            p = pe + 1;
            s += len;
            continue;
        }
        if (*p != *s)
            return false;
        p++;
        s++;
    }
    if (*p || *s)
        return false;
    req->nparams = np;
    return true;
}

static const char *conn_header(void *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    cw_req *req = cls;
    if (req->nquery >= CW_MAX_QUERY_PARAMS) {
        req->query_overflow = true;
        return MHD_NO;
    }
    req->query[req->nquery].key = key;
    req->query[req->nquery].value = value ? value : "";
    req->nquery++;
    return MHD_YES;
}

static cw_role role_of_token(const cw_token *t) { return cw_role_parse(t->role); }

/* Checks the bearer token against the route's level. Returns false after
 * queueing 401/403. */
static bool authenticate(cw_app *app, const cw_route *route, cw_req *req, cw_resp *resp)
{
    /* public routes answer everybody alike: a stale token a client happens
     * to send must not turn /healthz into a 401 */
    if (route->auth == CW_AUTH_PUBLIC)
        return true;
    const char *auth = cw_req_header(req, "Authorization");
    if (auth) {
        if (strncasecmp(auth, "Bearer ", 7) != 0) {
            cw_resp_header(resp, "WWW-Authenticate", "Bearer");
            cw_resp_problem(resp, 401, "Authorization: expected 'Bearer <token>'");
            return false;
        }
        const char *secret = auth + 7;
        while (*secret == ' ')
            secret++;
        char hash[65];
        cw_sha256_hex(secret, strlen(secret), hash);
        cw_diag d = {{0}};
        cw_err err = cw_store_token_find(app->store, hash, &req->token, &d);
        if (err == CW_ERR_NOT_FOUND) {
            cw_resp_header(resp, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
            cw_resp_problem(resp, 401, "Authorization: the token is unknown or revoked");
            return false;
        }
        if (err) {
            cw_resp_error(resp, err, &d);
            return false;
        }
        req->authenticated = true;
        req->role = role_of_token(&req->token);
        int64_t now = cw_now_ms() / 1000;
        /* Recording every use would turn each read into a write; a minute
         * of precision is plenty for "last used". Noted in memory and
         * written in the background: bookkeeping never holds up a request
         * (token_use.h). */
        if (now - req->token.last_used_at >= 60)
            cw_token_uses_note(app->token_uses, req->token.id, now);
    }
    cw_role need;
    switch (route->auth) {
    case CW_AUTH_PUBLIC: return true;
    case CW_AUTH_READ:
        if (app->cfg.public_read)
            return true;
        need = CW_ROLE_VIEWER;
        break;
    case CW_AUTH_INGEST: need = CW_ROLE_INGEST; break;
    case CW_AUTH_WRITE: need = CW_ROLE_EDITOR; break;
    case CW_AUTH_ADMIN: need = CW_ROLE_ADMIN; break;
    default: need = CW_ROLE_ADMIN; break;
    }
    if (!req->authenticated) {
        cw_resp_header(resp, "WWW-Authenticate", "Bearer");
        cw_resp_problem(resp, 401, "this request needs a bearer token (Authorization: Bearer <token>)");
        return false;
    }
    bool ok;
    if (need == CW_ROLE_INGEST)
        ok = req->role == CW_ROLE_INGEST || req->role == CW_ROLE_EDITOR || req->role == CW_ROLE_ADMIN;
    else if (need == CW_ROLE_VIEWER)
        ok = req->role != CW_ROLE_NONE;
    else
        ok = req->role >= need && req->role != CW_ROLE_INGEST;
    if (!ok) {
        cw_resp_problem(resp, 403, "the token's role '%s' may not do this; it needs '%s'%s",
                        cw_role_name(req->role), cw_role_name(need),
                        need == CW_ROLE_EDITOR ? " or 'admin'" : "");
        return false;
    }
    return true;
}

/* The route of the request's method and path, with its path parameters
 * filled; NULL after answering 404 or 405 (or serving a UI asset). */
static const cw_route *find_route(cw_req *req, cw_resp *resp)
{
    const cw_route *found = NULL;
    bool path_matched = false;
    char allow[128] = "";
    for (size_t t = 0; t < sizeof route_tables / sizeof route_tables[0] && !found; t++) {
        for (const cw_route *r = route_tables[t]; r->method; r++) {
            if (!route_match(r->pattern, req->path, req))
                continue;
            path_matched = true;
            if (!strcmp(r->method, req->method) ||
                (!strcmp(req->method, "HEAD") && !strcmp(r->method, "GET"))) {
                found = r;
                break;
            }
            size_t l = strlen(allow);
            snprintf(allow + l, sizeof allow - l, "%s%s", l ? ", " : "", r->method);
        }
    }
    if (!found) {
        if (path_matched) {
            req->route = "method-not-allowed";
            cw_resp_header(resp, "Allow", allow);
            cw_resp_problem(resp, 405, "method %s is not allowed here; allowed: %s", req->method,
                            allow);
        } else if (cw_ui_serve(req, resp)) {
            req->route = "ui";
        } else {
            req->route = "not-found";
            cw_resp_problem(resp, 404, "no such resource: %s", req->path);
        }
        return NULL;
    }
    /* Rematch to refill params of the found route (the loop may have
     * matched later patterns). */
    route_match(found->pattern, req->path, req);
    req->route = found->pattern;
    return found;
}

/* Path parameters and query of the request against its route; false after
 * answering 400. */
static bool check_request(const cw_route *found, cw_req *req, cw_resp *resp)
{
    if (!cw_req_check_query(req, resp))
        return false;
    /* names in the path reach the database (PostgreSQL refuses bytes that
     * are not UTF-8) and the answers: the same 400 on every backend */
    for (size_t i = 0; i < req->nparams; i++) {
        if (!cw_utf8_valid(req->params[i], strlen(req->params[i]))) {
            cw_resp_problem(resp, 400, "the path is not valid UTF-8 (segment %zu)", i + 1);
            return false;
        }
    }
    if (req->query_overflow) {
        cw_resp_problem(resp, 400, "too many query parameters (at most %d)", CW_MAX_QUERY_PARAMS);
        return false;
    }
    if (found->allowed_query) {
        for (size_t i = 0; i < req->nquery; i++) {
            bool ok = false;
            for (const char *const *a = found->allowed_query; *a && !ok; a++)
                ok = !strcmp(*a, req->query[i].key);
            if (!ok) {
                cw_buf list;
                cw_buf_init(&list, 4096);
                for (const char *const *a = found->allowed_query; *a; a++)
                    cw_buf_printf(&list, "%s%s", a == found->allowed_query ? "" : ", ", *a);
                cw_resp_problem(resp, 400, "unknown query parameter '%.100s'; this route accepts: %s",
                                req->query[i].key, list.len ? cw_buf_cstr(&list) : "none");
                cw_buf_free(&list);
                return false;
            }
        }
    }
    return true;
}

static void make_request_id(cw_req *req)
{
    const char *given = cw_req_header(req, "X-Request-Id");
    if (given) {
        size_t n = strlen(given);
        bool ok = n > 0 && n < sizeof req->request_id;
        for (size_t i = 0; ok && i < n; i++)
            ok = isalnum((unsigned char)given[i]) || given[i] == '-' || given[i] == '_' || given[i] == '.';
        if (ok) {
            memcpy(req->request_id, given, n + 1);
            return;
        }
    }
    unsigned char r[8];
    if (cw_random_bytes(r, sizeof r))
        memset(r, 0, sizeof r);
    snprintf(req->request_id, sizeof req->request_id, "%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1],
             r[2], r[3], r[4], r[5], r[6], r[7]);
}

static enum MHD_Result send_response(struct MHD_Connection *conn, cw_req *req, cw_resp *resp)
{
    struct MHD_Response *mr;
    if (resp->stream) {
        mr = cw__stream_response(resp);
    } else if (resp->static_body) {
        mr = MHD_create_response_from_buffer(resp->static_len, (void *)resp->static_body,
                                             MHD_RESPMEM_PERSISTENT);
    } else {
        size_t len = 0;
        char *data = cw_buf_steal(&resp->body, &len);
        if (!data)
            return MHD_NO;
        mr = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
        if (!mr)
            free(data);
    }
    if (!mr)
        return MHD_NO;
    if (resp->content_type)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    MHD_add_response_header(mr, "X-Request-Id", req->request_id);
    MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
    for (size_t i = 0; i < resp->nheaders; i++)
        MHD_add_response_header(mr, resp->headers[i].key, resp->headers[i].value);
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)resp->status, mr);
    MHD_destroy_response(mr);
    return rc;
}

static void resp_init(cw_resp *resp)
{
    memset(resp, 0, sizeof *resp);
    resp->status = 200;
    cw_buf_init(&resp->body, 0);
}

static void resp_release(cw_resp *resp)
{
    cw__stream_release(resp);
    cw_buf_free(&resp->body);
    for (size_t i = 0; i < resp->nheaders; i++)
        free((void *)resp->headers[i].value);
}

/* s as a JSON string for the log: as it is when it is UTF-8, otherwise with
 * its stray bytes (and '%') percent-encoded, so that a path that is not
 * UTF-8 is logged all the same (jansson refuses such strings). */
static json_t *log_string(const char *s)
{
    size_t n = strlen(s);
    if (cw_utf8_valid(s, n))
        return json_stringn(s, n);
    cw_buf b;
    cw_buf_init(&b, 0);
    json_t *j = cw_utf8_escape(&b, s, n) ? NULL : json_stringn(cw_buf_cstr(&b), b.len);
    cw_buf_free(&b);
    return j;
}

static void log_request(cw_app *app, const cw_req *req, const cw_resp *resp, double seconds)
{
    cw_metrics_observe(app->metrics, req->method, req->route ? req->route : "unknown",
                       resp->status, seconds);
    cw_log_level lvl = resp->status >= 500 ? CW_LOG_ERROR : CW_LOG_INFO;
    if ((int)lvl < (int)cw_log_get_level())
        return;
    json_t *f = json_pack("{s:o?, s:o?, s:s, s:i, s:f, s:s}", "method", log_string(req->method),
                          "path", log_string(req->path), "route",
                          req->route ? req->route : "unknown", "status", resp->status,
                          "durationMs", seconds * 1000.0, "requestId", req->request_id);
    if (f && req->authenticated)
        json_object_set_new(f, "tokenId", json_integer(req->token.id));
    cw_log(lvl, "request", f);
}

/* Logs a request whose body did not arrive within --timeout (as 408, for
 * the metrics) and tells libmicrohttpd to close the connection. */
static enum MHD_Result cut_off(cw_app *app, conn_ctx *cx, const char *method, const char *url)
{
    cw_req req;
    memset(&req, 0, sizeof req);
    req.method = method;
    req.path = url;
    req.route = "body-timeout";
    memcpy(req.request_id, cx->request_id, sizeof req.request_id);
    cw_resp resp;
    resp_init(&resp);
    cw_resp_problem(&resp, 408, "request body not received within %u seconds; connection closed",
                    app->cfg.timeout_seconds);
    log_request(app, &req, &resp, (double)(cw_mono_ns() - cx->start_ns) / 1e9);
    resp_release(&resp);
    return MHD_NO;
}

/* ---- deferred answers ---------------------------------------------------------- */

cw_deferred *cw_req_defer(cw_req *req, cw_finish_fn finish, void *state)
{
    conn_ctx *cx = req->srv_ctx;
    if (!cx || !cx->srv || !finish || cx->df_active)
        return NULL;
    cw_server *srv = cx->srv;
    pthread_mutex_lock(&srv->df_mu);
    bool ok = !srv->stopping;
    if (ok) {
        srv->df_pending++;
        srv->df_inflight++;
        cx->df_active = true;
        cx->df_completed = cx->df_suspended = cx->df_orphan = false;
        cx->df_finish = finish;
        cx->df_state = state;
    }
    pthread_mutex_unlock(&srv->df_mu);
    return ok ? (cw_deferred *)cx : NULL;
}

void cw_deferred_cancel(cw_deferred *df)
{
    conn_ctx *cx = (conn_ctx *)df;
    cw_server *srv = cx->srv;
    pthread_mutex_lock(&srv->df_mu);
    if (cx->df_active && !cx->df_completed) {
        cx->df_active = false;
        srv->df_pending--;
        srv->df_inflight--;
        pthread_cond_broadcast(&srv->df_cv);
    }
    pthread_mutex_unlock(&srv->df_mu);
}

/* Runs finish with an answer nobody will read (the client has gone), for
 * the state's sake, and releases the deferral. */
static void finish_unanswered(conn_ctx *cx)
{
    cw_resp resp;
    memset(&resp, 0, sizeof resp);
    resp.status = 200;
    cw_buf_init(&resp.body, 0);
    cx->df_req.header = NULL;
    cx->df_req.conn = NULL;
    cx->df_finish(&cx->srv->app, &cx->df_req, &resp, cx->df_state);
    cw_buf_free(&resp.body);
    for (size_t i = 0; i < resp.nheaders; i++)
        free((void *)resp.headers[i].value);
    cx->df_active = false;
    pthread_mutex_lock(&cx->srv->df_mu);
    cx->srv->df_inflight--;
    pthread_cond_broadcast(&cx->srv->df_cv);
    pthread_mutex_unlock(&cx->srv->df_mu);
}

void cw_deferred_complete(cw_deferred *df)
{
    conn_ctx *cx = (conn_ctx *)df;
    cw_server *srv = cx->srv;
    struct MHD_Connection *conn = cx->conn;
    pthread_mutex_lock(&srv->df_mu);
    cx->df_completed = true;
    bool resume = cx->df_suspended, orphan = cx->df_orphan;
    cx->df_suspended = false;
    srv->df_pending--;
    pthread_cond_broadcast(&srv->df_cv);
    pthread_mutex_unlock(&srv->df_mu);
    /* from here on the connection's thread may answer and free cx */
    if (resume) {
        MHD_resume_connection(conn);
    } else if (orphan) {
        finish_unanswered(cx);
        cx_free(cx);
    }
}

/* The work of a deferred request has completed: finish writes the answer. */
static enum MHD_Result answer_deferred(cw_app *app, conn_ctx *cx, struct MHD_Connection *conn)
{
    cw_req *req = &cx->df_req;
    req->header = conn_header;
    req->conn = conn;
    cw_resp resp;
    resp_init(&resp);
    cx->df_finish(app, req, &resp, cx->df_state);
    cx->df_active = false;
    double seconds = (double)(cw_mono_ns() - cx->start_ns) / 1e9;
    log_request(app, req, &resp, seconds);
    enum MHD_Result rc = send_response(conn, req, &resp);
    resp_release(&resp);
    pthread_mutex_lock(&cx->srv->df_mu);
    cx->srv->df_inflight--; /* answered (or given up on): stop need not wait for it */
    pthread_cond_broadcast(&cx->srv->df_cv);
    pthread_mutex_unlock(&cx->srv->df_mu);
    return rc;
}

/* ---- judging a request by its head --------------------------------------------- */

/* Counts bytes against --max-inflight-body; false when they do not fit. */
static bool body_hold(cw_server *srv, size_t n)
{
    size_t cap = srv->app.cfg.max_inflight_body;
    size_t cur = atomic_load(&srv->body_held);
    do {
        if (cap && (cur > cap || n > cap - cur))
            return false;
    } while (!atomic_compare_exchange_weak(&srv->body_held, &cur, cur + n));
    return true;
}

/* Frees a request's state and gives back what its body held. */
static void cx_free(conn_ctx *cx)
{
    if (cx->held)
        atomic_fetch_sub(&cx->srv->body_held, cx->held);
    cw_buf_free(&cx->body);
    free(cx);
}

/* The header fields judge() looks at, every occurrence. */
#define HEAD_VALUES 8
typedef struct {
    const char *cl[HEAD_VALUES];
    size_t ncl;
    const char *te[HEAD_VALUES];
    size_t nte;
    size_t nhost;
} head_scan;

static enum MHD_Result scan_head(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind;
    head_scan *h = cls;
    if (!value)
        value = "";
    if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
        if (h->ncl < HEAD_VALUES)
            h->cl[h->ncl++] = value;
    } else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
        if (h->nte < HEAD_VALUES)
            h->te[h->nte++] = value;
    } else if (!strcasecmp(key, MHD_HTTP_HEADER_HOST)) {
        h->nhost++;
    }
    return MHD_YES;
}

/* Decides, from the request head alone, whether the request may go on: its
 * Host, body framing, route and method, path and query, token and role, and
 * the body its route takes (none, or up to the route's limit, counted
 * against --max-inflight-body). Returns true with what the rest of the
 * request needs kept in cx; false after writing the answer to resp, which
 * is sent before any of the body is read. */
static bool judge(cw_server *srv, conn_ctx *cx, cw_req *req, cw_resp *resp)
{
    cw_app *app = &srv->app;
    head_scan hs;
    memset(&hs, 0, sizeof hs);
    MHD_get_connection_values(cx->conn, MHD_HEADER_KIND, scan_head, &hs);
    cw_framing fr;
    char why[256];
    int status = cw_framing_judge(hs.cl, hs.ncl, hs.te, hs.nte, &fr, why, sizeof why);
    cx->body_announced = fr.chunked || (fr.has_length && fr.length > 0) || status;
    if (status) {
        req->route = "bad-framing";
        cw_resp_problem(resp, status, "%s", why);
        return false;
    }
    if (hs.nhost > 1) {
        req->route = "bad-framing";
        cw_resp_problem(resp, 400, "the request has more than one Host header");
        return false;
    }
    if (srv->check_host) {
        const char *host = conn_header(cx->conn, MHD_HTTP_HEADER_HOST);
        if (!cw_host_allowed(host, app->cfg.allowed_hosts, app->cfg.nallowed_hosts)) {
            req->route = "misdirected";
            cw_resp_problem(resp, 421,
                            "Host '%.100s' is not a name of this server: listening on a loopback "
                            "address, it answers to localhost, 127.0.0.1 and [::1] only "
                            "(--allowed-host adds names)",
                            host);
            return false;
        }
    }
    const cw_route *found = find_route(req, resp);
    if (!found || !check_request(found, req, resp) || !authenticate(app, found, req, resp))
        return false;
    cw_body_kind kind = cw_route_body(found);
    size_t limit = cw_body_limit(&app->cfg, kind);
    if (kind == CW_BODY_NONE && cx->body_announced) {
        req->route = "too-large";
        cw_resp_problem(resp, 413, "%s %s takes no request body", found->method, found->pattern);
        return false;
    }
    if (kind != CW_BODY_NONE && !fr.chunked && !fr.has_length) {
        cw_resp_problem(resp, 411,
                        "this request needs its body's Content-Length (or Transfer-Encoding: "
                        "chunked)");
        return false;
    }
    if (fr.has_length && fr.length > limit) {
        req->route = "too-large";
        cw_resp_problem(resp, 413, "request body exceeds the limit of %zu bytes", limit);
        return false;
    }
    /* what the body's buffer may grow to: its length, or the route's limit
     * for a chunked one */
    size_t want = fr.chunked ? limit : (size_t)fr.length;
    if (want && !body_hold(srv, want)) {
        cw_resp_header(resp, "Retry-After", "1");
        cw_resp_problem(resp, 503,
                        "the server holds as much request body data as it may "
                        "(--max-inflight-body %zu bytes); retry shortly",
                        app->cfg.max_inflight_body);
        return false;
    }
    cx->held = want;
    cw_buf_init(&cx->body, want ? want : 1);
    cx->route = found;
    cx->authenticated = req->authenticated;
    cx->token = req->token;
    cx->role = req->role;
    return true;
}

/* The request as handlers see it, on any call for it. */
static void request_init(cw_req *req, conn_ctx *cx, const char *method, const char *url)
{
    memset(req, 0, sizeof *req);
    req->method = method;
    req->path = url;
    req->header = conn_header;
    req->conn = cx->conn;
    req->srv_ctx = cx;
    MHD_get_connection_values(cx->conn, MHD_GET_ARGUMENT_KIND, collect_query, req);
}

/* Logs and sends an answer made in this call. */
static enum MHD_Result answer_now(cw_app *app, conn_ctx *cx, cw_req *req, cw_resp *resp)
{
    double seconds = (double)(cw_mono_ns() - cx->start_ns) / 1e9;
    log_request(app, req, resp, seconds);
    enum MHD_Result rc = send_response(cx->conn, req, resp);
    resp_release(resp);
    return rc;
}

static void head_phase(cw_server *srv, struct MHD_Connection *conn, bool in_head);

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    cw_server *srv = cls;
    cw_app *app = &srv->app;
    conn_ctx *cx = *con_cls;
    if (!cx) {
        /* the head has arrived, none of the body has been read */
        cx = calloc(1, sizeof *cx);
        if (!cx)
            return MHD_NO;
        cx->srv = srv;
        cx->conn = conn;
        cx->start_ns = cw_mono_ns();
        cw_buf_init(&cx->body, 1);
        *con_cls = cx;
        head_phase(srv, conn, false);
        cw_req req;
        request_init(&req, cx, method, url);
        make_request_id(&req);
        memcpy(cx->request_id, req.request_id, sizeof cx->request_id);
        cw_resp resp;
        resp_init(&resp);
        if (judge(srv, cx, &req, &resp)) {
            resp_release(&resp);
            return MHD_YES;
        }
        /* libmicrohttpd does not read a body after an early answer: the
         * connection cannot carry another request */
        if (cx->body_announced)
            cw_resp_header(&resp, "Connection", "close");
        return answer_now(app, cx, &req, &resp);
    }
    if (cx->df_active)
        return answer_deferred(app, cx, conn);
    if (*upload_data_size) {
        /* --timeout bounds the whole body, not only each pause in it (that
         * is libmicrohttpd's idle timeout): a body trickled byte by byte
         * must not hold its connection for ever. libmicrohttpd cannot
         * answer in the middle of a body, so the connection is closed. */
        if (app->cfg.timeout_seconds &&
            cw_mono_ns() - cx->start_ns > (int64_t)app->cfg.timeout_seconds * 1000000000LL)
            return cut_off(app, cx, method, url);
        /* A chunked body past its limit: the rest is read and dropped
         * (within the same deadline), so that the client gets its 413 at
         * the end. (A Content-Length body never passes it: judged above.) */
        if (!cx->too_large && cw_buf_append(&cx->body, upload_data, *upload_data_size)) {
            cx->too_large = true;
            cw_buf_free(&cx->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }

    cw_req req;
    request_init(&req, cx, method, url);
    memcpy(req.request_id, cx->request_id, sizeof req.request_id);
    req.body = cw_buf_cstr(&cx->body);
    req.body_len = cx->body.len;
    req.authenticated = cx->authenticated;
    req.token = cx->token;
    req.role = cx->role;

    cw_resp resp;
    resp_init(&resp);
    if (cx->too_large) {
        req.route = "too-large";
        cw_resp_problem(&resp, 413, "request body exceeds the limit of %zu bytes",
                        cw_body_limit(&app->cfg, cw_route_body(cx->route)));
        cw_resp_header(&resp, "Connection", "close");
    } else {
        route_match(cx->route->pattern, url, &req);
        req.route = cx->route->pattern;
        cx->route->handler(app, &req, &resp);
    }
    if (cx->df_active) {
        /* what finish may use later; the rest points into buffers that
         * do not outlive this call */
        cx->df_req = req;
        cx->df_req.nparams = 0;
        memset(cx->df_req.params, 0, sizeof cx->df_req.params);
        cx->df_req.nquery = 0;
        cx->df_req.body = NULL;
        cx->df_req.body_len = 0;
        resp_release(&resp);
        pthread_mutex_lock(&srv->df_mu);
        bool wait = !cx->df_completed;
        if (wait) {
            MHD_suspend_connection(conn);
            cx->df_suspended = true;
        }
        pthread_mutex_unlock(&srv->df_mu);
        if (wait)
            return MHD_YES;
        return answer_deferred(app, cx, conn);
    }
    return answer_now(app, cx, &req, &resp);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    cw_server *srv = cls;
    /* the answer is sent (or given up on): the connection waits for its
     * next request head from now */
    head_phase(srv, conn, true);
    conn_ctx *cx = *con_cls;
    if (!cx)
        return;
    *con_cls = NULL;
    if (cx->df_active) {
        /* the connection went away between the deferral and the answer */
        pthread_mutex_lock(&cx->srv->df_mu);
        bool orphan = !cx->df_completed;
        cx->df_orphan = orphan;
        pthread_mutex_unlock(&cx->srv->df_mu);
        if (orphan)
            return; /* cw_deferred_complete finishes and frees it */
        finish_unanswered(cx);
    }
    cx_free(cx);
}

/* ---- header deadline ------------------------------------------------------------ */

/* libmicrohttpd's connection notification: tracks each open connection. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    cw_server *srv = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        conn_rec *r = calloc(1, sizeof *r);
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!r || !fd) {
            free(r); /* untracked: only the idle timeout bounds it */
            return;
        }
        r->fd = fd->connect_fd;
        r->since_ns = cw_mono_ns();
        r->in_head = true;
        const union MHD_ConnectionInfo *ca =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = ca ? ca->client_addr : NULL;
        if (sa && sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                      r->client, sizeof r->client);
        else if (sa && sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                      r->client, sizeof r->client);
        pthread_mutex_lock(&srv->hg_mu);
        r->next = srv->hg_conns;
        if (r->next)
            r->next->prev = r;
        srv->hg_conns = r;
        pthread_mutex_unlock(&srv->hg_mu);
        *socket_context = r;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        /* libmicrohttpd closes the socket only after this returns, so the
         * guard never shuts down a descriptor that was reused meanwhile */
        conn_rec *r = *socket_context;
        if (!r)
            return;
        pthread_mutex_lock(&srv->hg_mu);
        if (r->prev)
            r->prev->next = r->next;
        else
            srv->hg_conns = r->next;
        if (r->next)
            r->next->prev = r->prev;
        pthread_mutex_unlock(&srv->hg_mu);
        *socket_context = NULL;
        free(r);
    }
}

/* Marks the connection as waiting for a request head (from now) or not. */
static void head_phase(cw_server *srv, struct MHD_Connection *conn, bool in_head)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    conn_rec *r = ci ? ci->socket_context : NULL;
    if (!r)
        return;
    pthread_mutex_lock(&srv->hg_mu);
    r->in_head = in_head;
    r->since_ns = cw_mono_ns();
    pthread_mutex_unlock(&srv->hg_mu);
}

/* The guard thread: cuts off connections whose head is late. */
static void *header_guard(void *arg)
{
    cw_server *srv = arg;
    int64_t deadline = (int64_t)srv->app.cfg.header_timeout_seconds * 1000000000LL;
    int64_t period = deadline / 8;
    if (period > 1000000000LL)
        period = 1000000000LL;
    if (period < 50000000LL)
        period = 50000000LL;
    pthread_mutex_lock(&srv->hg_mu);
    while (!srv->hg_stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        int64_t ns = (int64_t)until.tv_nsec + period;
        until.tv_sec += (time_t)(ns / 1000000000LL);
        until.tv_nsec = (long)(ns % 1000000000LL);
        pthread_cond_timedwait(&srv->hg_cv, &srv->hg_mu, &until);
        int64_t now = cw_mono_ns();
        for (conn_rec *r = srv->hg_conns; r && !srv->hg_stop; r = r->next) {
            if (!r->in_head || r->cut || now - r->since_ns < deadline)
                continue;
            /* the descriptor is libmicrohttpd's: shut down, not closed */
            shutdown(r->fd, SHUT_RDWR);
            r->cut = true;
            double seconds = (double)(now - r->since_ns) / 1e9;
            cw_metrics_observe(srv->app.metrics, "", "header-timeout", 408, seconds);
            if (CW_LOG_INFO >= cw_log_get_level())
                cw_log(CW_LOG_INFO, "request",
                       json_pack("{s:s, s:i, s:f, s:s}", "route", "header-timeout", "status", 408,
                                 "durationMs", seconds * 1000.0, "client", r->client));
        }
    }
    pthread_mutex_unlock(&srv->hg_mu);
    return NULL;
}

static void header_guard_stop(cw_server *srv)
{
    if (!srv->hg_running)
        return;
    pthread_mutex_lock(&srv->hg_mu);
    srv->hg_stop = true;
    pthread_cond_broadcast(&srv->hg_cv);
    pthread_mutex_unlock(&srv->hg_mu);
    pthread_join(srv->hg_thread, NULL);
    srv->hg_running = false;
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    cw_log(CW_LOG_WARN, msg, json_pack("{s:s}", "component", "http"));
}

/* Parses "host:port", "[v6]:port" or ":port" into a socket address. */
static cw_err parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len,
                           bool *ipv6, cw_diag *d)
{
    char host[256];
    const char *port;
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (!close || close[1] != ':' || (size_t)(close - listen - 1) >= sizeof host)
            return cw_fail(d, CW_ERR_INVALID, "--listen: '%s' is not [ADDR]:PORT", listen);
        memcpy(host, listen + 1, (size_t)(close - listen - 1));
        host[close - listen - 1] = '\0';
        port = close + 2;
    } else {
        const char *colon = strrchr(listen, ':');
        if (!colon || (size_t)(colon - listen) >= sizeof host)
            return cw_fail(d, CW_ERR_INVALID, "--listen: '%s' is not ADDR:PORT", listen);
        memcpy(host, listen, (size_t)(colon - listen));
        host[colon - listen] = '\0';
        port = colon + 1;
    }
    char *end;
    long p = strtol(port, &end, 10);
    if (!*port || *end || p < 0 || p > 65535)
        return cw_fail(d, CW_ERR_INVALID, "--listen: port '%s' is not a number 0-65535", port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (rc != 0 || !res)
        return cw_fail(d, CW_ERR_INVALID, "--listen: cannot resolve '%s': %s", host,
                       gai_strerror(rc));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    *ipv6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    return CW_OK;
}

/* True when the socket address is a loopback one (127.0.0.0/8, ::1, or
 * ::ffff:127.x.y.z). */
static bool addr_is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)ss;
        return ((const unsigned char *)&a->sin_addr.s_addr)[0] == 127;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)ss;
        return IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) ||
               (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && a->sin6_addr.s6_addr[12] == 127);
    }
    return false;
}

/* Why listening on the address failed, from a bind of our own made as
 * libmicrohttpd makes it (it only logs the reason): an errno, or 0. */
static int bind_error(const struct sockaddr_storage *ss, socklen_t len)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    int on = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (ss->ss_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    int e = bind(fd, (const struct sockaddr *)ss, len) ? errno : 0;
    close(fd);
    return e;
}

cw_err cw_server_start(const cw_server_config *cfg, cw_store *store, cw_server **out,
                       cw_diag *d)
{
    cw_err err = CW_OK;
    cw_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&srv->df_mu, NULL);
    pthread_cond_init(&srv->df_cv, NULL);
    pthread_mutex_init(&srv->hg_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&srv->hg_cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&srv->body_held, 0);
    srv->app.cfg = *cfg;
    srv->app.store = store;
    srv->app.started_ms = cw_now_ms();
    err = cw_metrics_new(&srv->app.metrics);
    if (err) {
        cw_fail(d, err, "cannot allocate metrics");
        goto fail;
    }
    err = cw_token_uses_start(store, 0, &srv->app.token_uses, d);
    if (err)
        goto fail;
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    bool ipv6 = false;
    err = parse_listen(cfg->listen, &ss, &sslen, &ipv6, d);
    if (err)
        goto fail;
    srv->check_host = addr_is_loopback(&ss) || cfg->nallowed_hosts > 0;
    if (cfg->header_timeout_seconds) {
        if (pthread_create(&srv->hg_thread, NULL, header_guard, srv)) {
            err = cw_fail(d, CW_ERR_INTERNAL, "cannot start the header deadline thread");
            goto fail;
        }
        srv->hg_running = true;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME;
    if (ipv6)
        flags |= MHD_USE_IPv6;
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, srv, /* first, or MHD warns */
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cfg->threads ? cfg->threads : 1),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->timeout_seconds,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg->max_header,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->max_conns_per_ip,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
        /* no MHD_OPTION_LISTENING_ADDRESS_REUSE: with it a second server
         * could bind the same port and take half of the requests */
        MHD_OPTION_END);
    if (!srv->daemon) {
        int e = bind_error(&ss, sslen);
        if (e == EADDRINUSE)
            err = cw_fail(d, CW_ERR_IO,
                          "cannot listen on %s: address already in use (is another server "
                          "running on it?)",
                          cfg->listen);
        else if (e)
            err = cw_fail(d, CW_ERR_IO, "cannot listen on %s: %s", cfg->listen, strerror(e));
        else
            err = cw_fail(d, CW_ERR_IO, "cannot listen on %s (see the log above)", cfg->listen);
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : 0;
    *out = srv;
    return CW_OK;
fail:
    header_guard_stop(srv);
    cw_token_uses_stop(srv->app.token_uses);
    cw_metrics_free(srv->app.metrics);
    pthread_cond_destroy(&srv->hg_cv);
    pthread_mutex_destroy(&srv->hg_mu);
    pthread_cond_destroy(&srv->df_cv);
    pthread_mutex_destroy(&srv->df_mu);
    free(srv);
    return err;
}

unsigned cw_server_port(const cw_server *s) { return s->port; }

void cw_server_stop(cw_server *s)
{
    if (!s)
        return;
    /* libmicrohttpd must not be stopped with suspended connections: every
     * deferred request's work is waited for (the group commit always ends),
     * then, for a bounded time, its answer being sent. New requests are
     * served in place meanwhile. */
    pthread_mutex_lock(&s->df_mu);
    s->stopping = true;
    while (s->df_pending)
        pthread_cond_wait(&s->df_cv, &s->df_mu);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    while (s->df_inflight && pthread_cond_timedwait(&s->df_cv, &s->df_mu, &until) == 0)
        ;
    pthread_mutex_unlock(&s->df_mu);
    header_guard_stop(s);
    MHD_stop_daemon(s->daemon); /* its close notifications free the conn_recs */
    cw_token_uses_stop(s->app.token_uses); /* after the daemon: no more notes */
    cw_metrics_free(s->app.metrics);
    pthread_cond_destroy(&s->hg_cv);
    pthread_mutex_destroy(&s->hg_mu);
    pthread_cond_destroy(&s->df_cv);
    pthread_mutex_destroy(&s->df_mu);
    free(s);
}

void cw_req_client_addr(const cw_req *req, char *out, size_t cap)
{
    out[0] = '\0';
    const union MHD_ConnectionInfo *ca =
        req->conn ? MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS) : NULL;
    const struct sockaddr *sa = ca ? ca->client_addr : NULL;
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)cap);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)cap);
}
