/*
 * server.c — libmicrohttpd glue: accepts connections on a thread pool,
 * collects the (bounded) request body, authenticates, routes to a handler,
 * sends its response, and writes one JSON log line and the metrics for each
 * request. Nothing here knows about entities or events.
 *
 * Deferred answers (http_int.h): a handler may leave its request waiting
 * for work done on another thread; the connection is suspended (no worker
 * thread waits) and resumed when the work completes, then answered.
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "http/http_int.h"
#include "util/crypto.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/utf8.h"

struct cw_server {
    struct MHD_Daemon *daemon;
    cw_app app;
    unsigned port;
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
    bool too_large;
    int64_t start_ns;
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
}

static const cw_route *const route_tables[] = {
    cw_routes_meta,
    cw_routes_entities,
    cw_routes_backstage,
    cw_routes_responsibilities,
    cw_routes_events,
    cw_routes_insights,
    cw_routes_architecture,
};

const cw_route *const *cw_route_tables(size_t *n)
{
    *n = sizeof route_tables / sizeof route_tables[0];
    return route_tables;
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
         * of precision is plenty for "last used". */
        if (now - req->token.last_used_at >= 60)
            (void)cw_store_token_touch(app->store, req->token.id, now, &d);
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

static void dispatch(cw_app *app, cw_req *req, cw_resp *resp)
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
        return;
    }
    /* Rematch to refill params of the found route (the loop may have
     * matched later patterns). */
    route_match(found->pattern, req->path, req);
    req->route = found->pattern;
    if (!cw_req_check_query(req, resp))
        return;
    /* names in the path reach the database (PostgreSQL refuses bytes that
     * are not UTF-8) and the answers: the same 400 on every backend */
    for (size_t i = 0; i < req->nparams; i++) {
        if (!cw_utf8_valid(req->params[i], strlen(req->params[i]))) {
            cw_resp_problem(resp, 400, "the path is not valid UTF-8 (segment %zu)", i + 1);
            return;
        }
    }
    if (req->query_overflow) {
        cw_resp_problem(resp, 400, "too many query parameters (at most %d)", CW_MAX_QUERY_PARAMS);
        return;
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
                return;
            }
        }
    }
    if (!authenticate(app, found, req, resp))
        return;
    found->handler(app, req, resp);
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
    if (resp->static_body) {
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
    cw_buf_free(&resp->body);
    for (size_t i = 0; i < resp->nheaders; i++)
        free((void *)resp->headers[i].value);
}

static void log_request(cw_app *app, const cw_req *req, const cw_resp *resp, double seconds)
{
    cw_metrics_observe(app->metrics, req->method, req->route ? req->route : "unknown",
                       resp->status, seconds);
    cw_log_level lvl = resp->status >= 500 ? CW_LOG_ERROR : CW_LOG_INFO;
    if ((int)lvl < (int)cw_log_get_level())
        return;
    json_t *f = json_pack("{s:s, s:s, s:s, s:i, s:f, s:s}", "method", req->method, "path",
                          req->path, "route", req->route ? req->route : "unknown", "status",
                          resp->status, "durationMs", seconds * 1000.0, "requestId",
                          req->request_id);
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
    make_request_id(&req);
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
        cw_buf_free(&cx->body);
        free(cx);
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
        cx = calloc(1, sizeof *cx);
        if (!cx)
            return MHD_NO;
        cx->srv = srv;
        cx->conn = conn;
        cx->start_ns = cw_mono_ns();
        cw_buf_init(&cx->body, app->cfg.max_body);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end;
            unsigned long long n = strtoull(cl, &end, 10);
            if (*end == '\0' && n > app->cfg.max_body)
                cx->too_large = true;
        }
        *con_cls = cx;
        if (!cx->too_large)
            return MHD_YES;
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
        /* Past the limit the rest is read and dropped (within the same
         * deadline), so that the client gets its 413 at the end. */
        if (!cx->too_large && cw_buf_append(&cx->body, upload_data, *upload_data_size)) {
            cx->too_large = true;
            cw_buf_free(&cx->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }

    cw_req req;
    memset(&req, 0, sizeof req);
    req.method = method;
    req.path = url;
    req.header = conn_header;
    req.conn = conn;
    req.body = cw_buf_cstr(&cx->body);
    req.body_len = cx->body.len;
    req.srv_ctx = cx;
    make_request_id(&req);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_query, &req);

    cw_resp resp;
    resp_init(&resp);
    if (cx->too_large) {
        req.route = "too-large";
        cw_resp_problem(&resp, 413, "request body exceeds the limit of %zu bytes",
                        app->cfg.max_body);
        cw_resp_header(&resp, "Connection", "close");
    } else {
        dispatch(app, &req, &resp);
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
    double seconds = (double)(cw_mono_ns() - cx->start_ns) / 1e9;
    log_request(app, &req, &resp, seconds);
    enum MHD_Result rc = send_response(conn, &req, &resp);
    resp_release(&resp);
    return rc;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
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
    cw_buf_free(&cx->body);
    free(cx);
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

cw_err cw_server_start(const cw_server_config *cfg, cw_store *store, cw_server **out,
                       cw_diag *d)
{
    cw_err err = CW_OK;
    cw_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&srv->df_mu, NULL);
    pthread_cond_init(&srv->df_cv, NULL);
    srv->app.cfg = *cfg;
    srv->app.store = store;
    srv->app.started_ms = cw_now_ms();
    err = cw_metrics_new(&srv->app.metrics);
    if (err) {
        cw_fail(d, err, "cannot allocate metrics");
        goto fail;
    }
    struct sockaddr_storage ss;
    socklen_t sslen;
    bool ipv6 = false;
    err = parse_listen(cfg->listen, &ss, &sslen, &ipv6, d);
    if (err)
        goto fail;
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
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
        MHD_OPTION_END);
    if (!srv->daemon) {
        err = cw_fail(d, CW_ERR_IO, "cannot listen on %s (address in use or not permitted?)",
                      cfg->listen);
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : 0;
    *out = srv;
    return CW_OK;
fail:
    cw_metrics_free(srv->app.metrics);
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
    MHD_stop_daemon(s->daemon);
    cw_metrics_free(s->app.metrics);
    pthread_cond_destroy(&s->df_cv);
    pthread_mutex_destroy(&s->df_mu);
    free(s);
}
