/*
 * http_int.h — what route handlers see: the request, the response they fill,
 * the shared application state, and helpers that turn errors into RFC 9457
 * problem answers. Handlers never touch libmicrohttpd directly.
 */
#ifndef CW_HTTP_INT_H
#define CW_HTTP_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/server.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

typedef struct cw_metrics cw_metrics;
typedef struct cw_token_uses cw_token_uses;

/* Shared, long-lived state of a running server. */
typedef struct cw_app {
    cw_server_config cfg;
    cw_store *store;
    cw_metrics *metrics;
    int64_t started_ms;
    cw_token_uses *token_uses;     /* tokens' last use, written in the background */
} cw_app;

typedef enum {
    CW_ROLE_NONE = 0,
    CW_ROLE_VIEWER,
    CW_ROLE_INGEST,
    CW_ROLE_EDITOR,
    CW_ROLE_ADMIN
} cw_role;

typedef struct {
    const char *key;
    const char *value;
} cw_kv;

#define CW_MAX_PATH_PARAMS 4
#define CW_MAX_QUERY_PARAMS 64
#define CW_MAX_EXTRA_HEADERS 8

typedef struct {
    const char *method;            /* "GET", ... */
    const char *path;              /* decoded path, without query */
    const char *route;             /* route pattern matched, for logs/metrics */
    char request_id[40];
    const char *params[CW_MAX_PATH_PARAMS]; /* {kind}, {namespace}, ... in order */
    size_t nparams;
    cw_kv query[CW_MAX_QUERY_PARAMS];
    size_t nquery;
    bool query_overflow;           /* more than CW_MAX_QUERY_PARAMS given */
    const char *(*header)(void *conn, const char *name); /* case-insensitive */
    void *conn;
    const char *body;              /* NUL-terminated, may contain NULs */
    size_t body_len;
    /* Authentication result. */
    bool authenticated;
    cw_token token;                /* valid when authenticated */
    cw_role role;
    void *srv_ctx;                 /* the server's per-request state (cw_req_defer) */
} cw_req;

typedef struct {
    int status;
    const char *content_type;      /* static string */
    cw_buf body;
    cw_kv headers[CW_MAX_EXTRA_HEADERS]; /* values owned by the response */
    size_t nheaders;
    const unsigned char *static_body; /* served without copy when set */
    size_t static_len;
    struct cw_stream *stream;      /* a streamed body (bounded.h) when set */
} cw_resp;

typedef void (*cw_handler)(cw_app *app, cw_req *req, cw_resp *resp);

typedef enum {
    CW_AUTH_PUBLIC = 0,   /* no token needed (health, metrics, UI assets) */
    CW_AUTH_READ,         /* any token, or none with --public-read */
    CW_AUTH_INGEST,       /* ingest, editor or admin */
    CW_AUTH_WRITE,        /* editor or admin */
    CW_AUTH_ADMIN
} cw_auth_level;

typedef struct {
    const char *method;
    const char *pattern;          /* "/api/v1/entities/{kind}/{namespace}/{name}" */
    cw_handler handler;
    cw_auth_level auth;
    const char *const *allowed_query; /* NULL-terminated; NULL = any */
} cw_route;

/* What request body a route takes, judged from the headers before any of
 * it is read (server.c): a larger one gets 413, a body route's request
 * without a length 411. */
typedef enum {
    CW_BODY_NONE = 0,     /* none: a body announced gets 413 */
    CW_BODY_DOC,          /* one document (an entity, a list of refs): 1 MiB, or --max-body if smaller */
    CW_BODY_BULK          /* imports, events, CODEOWNERS: --max-body */
} cw_body_kind;

#define CW_DOC_BODY_MAX ((size_t)1 << 20)

/* The body a route takes: the router's table (server.c) of the routes that
 * take one; every other route takes none. */
cw_body_kind cw_route_body(const cw_route *r);
/* Largest body of a route with that kind under cfg, in bytes. */
size_t cw_body_limit(const cw_server_config *cfg, cw_body_kind kind);

/* Route tables, one per api_*.c, terminated by a {NULL} entry. */
extern const cw_route cw_routes_meta[];
extern const cw_route cw_routes_entities[];
extern const cw_route cw_routes_backstage[];
extern const cw_route cw_routes_responsibilities[];
extern const cw_route cw_routes_events[];
extern const cw_route cw_routes_insights[];
extern const cw_route cw_routes_hooks[];
extern const cw_route cw_routes_locations[];
extern const cw_route cw_routes_incidents[];
extern const cw_route cw_routes_metrics[];
extern const cw_route cw_routes_strategy[];
extern const cw_route cw_routes_architecture[];
extern const cw_route cw_routes_heartbeats[];
extern const cw_route cw_routes_scorecards[];
extern const cw_route cw_routes_initiatives[];
extern const cw_route cw_routes_tokens[];

/* The ownership findings plus the heartbeat findings (insights/
 * heartbeat_findings.h) over the same catalog, sorted (api_heartbeats.c):
 * *out a new array. Queues the error and returns false on failure. */
bool cw_api_with_heartbeat_findings(cw_app *app, json_t *const *items, size_t n,
                                    const json_t *findings, json_t **out, cw_resp *resp);

/* All route tables the server dispatches over (for the OpenAPI drift test). */
const cw_route *const *cw_route_tables(size_t *n);

/* ---- deferred answers ----------------------------------------------------------
 * A handler that waits for work done elsewhere (the events group commit)
 * need not hold its worker thread: it calls cw_req_defer, starts the work
 * and returns; the server then suspends the connection. Whoever ends the
 * work calls cw_deferred_complete once, from any thread (possibly before
 * the handler has returned). The server then calls finish(app, req, resp,
 * state) on a worker thread to write the answer (blocking work is allowed
 * there) and sends it. finish runs exactly once, also when the client has
 * gone meanwhile (resp is then dropped), and takes over state; req then
 * carries the method, path, request id and authentication, not the
 * headers, path parameters or query. cw_server_stop waits for every
 * deferred request to complete before it stops the daemon.
 */
typedef struct cw_deferred cw_deferred;
typedef void (*cw_finish_fn)(cw_app *app, cw_req *req, cw_resp *resp, void *state);

/* NULL when this request cannot be deferred (the server is stopping, or the
 * request did not come through the server): the handler then waits in
 * place. */
cw_deferred *cw_req_defer(cw_req *req, cw_finish_fn finish, void *state);
/* The work could not start after all: undoes cw_req_defer (before the
 * handler returns); the handler answers in resp and keeps its state. */
void cw_deferred_cancel(cw_deferred *df);
/* The work has ended; the answer is written by finish. Exactly once. */
void cw_deferred_complete(cw_deferred *df);

/* ---- request helpers ------------------------------------------------------ */

/* First value of a query parameter, or NULL. */
const char *cw_req_query(const cw_req *req, const char *key);
/* All values of a repeated query parameter; returns how many were stored. */
size_t cw_req_query_all(const cw_req *req, const char *key, const char **out, size_t max);
/* Parses an unsigned integer query parameter within [min, max], using def
 * when absent. On bad input queues a 400 problem and returns false. */
bool cw_req_query_uint(const cw_req *req, cw_resp *resp, const char *key, uint64_t def,
                       uint64_t min, uint64_t max, uint64_t *out);
const char *cw_req_header(const cw_req *req, const char *name);
/* The client's IP address as text ("" when unknown); out has >= 64 bytes. */
void cw_req_client_addr(const cw_req *req, char *out, size_t cap);
/* Every query key and value must be valid UTF-8 (JSON answers echo them).
 * Queues a 400 and returns false otherwise. */
bool cw_req_check_query(const cw_req *req, cw_resp *resp);

/* ---- response helpers ----------------------------------------------------- */

void cw_resp_header(cw_resp *resp, const char *key, const char *value);
/* JSON answer; steals `body`. */
void cw_resp_json(cw_resp *resp, int status, json_t *body);
/* JSON answer from ready-made text (copied). */
void cw_resp_json_text(cw_resp *resp, int status, const char *text, size_t len);
/* RFC 9457 answer: {"type":"about:blank","title":<status phrase>,"status":..,"detail":..}. */
void cw_resp_problem(cw_resp *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same with extension members merged in (steals ext). */
void cw_resp_problem_ext(cw_resp *resp, int status, json_t *ext, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Maps a core error to its HTTP status and writes the problem with d's text. */
void cw_resp_error(cw_resp *resp, cw_err err, const cw_diag *d);
int cw_http_status_of(cw_err err);
const char *cw_http_reason(int status);

/* Checks the Content-Type's media type against `accepted` (NULL-terminated,
 * lower case; an entry "+json" matches any type with that suffix). A
 * request without Content-Type passes. Otherwise queues a 415 saying
 * `expected` and returns false. */
bool cw_req_content_type(const cw_req *req, cw_resp *resp, const char *const *accepted,
                         const char *expected);

/* Parses the request body as a JSON value with depth limits (415 unless the
 * Content-Type is absent, application/json, +json or text/plain). On
 * failure queues a 400 problem naming line/column and returns NULL. */
json_t *cw_req_json_body(const cw_req *req, cw_resp *resp);

/* Serves an embedded UI asset (or index.html for UI routes) for GET/HEAD
 * outside /api/; returns false when the path is not the UI's. */
bool cw_ui_serve(cw_req *req, cw_resp *resp);

/* ---- auth ----------------------------------------------------------------- */

const char *cw_role_name(cw_role r);
cw_role cw_role_parse(const char *s);

/* ---- metrics -------------------------------------------------------------- */

cw_err cw_metrics_new(cw_metrics **out);
void cw_metrics_free(cw_metrics *m);
void cw_metrics_observe(cw_metrics *m, const char *method, const char *route, int status,
                        double seconds);
/* Counts one webhook delivery by provider ("github", "gitlab") and outcome
 * (one of cw_metrics_webhook_outcomes; others are dropped). */
void cw_metrics_webhook(cw_metrics *m, const char *provider, const char *outcome);
extern const char *const cw_metrics_webhook_outcomes[];
/* Renders the Prometheus text exposition of the server's metrics. */
cw_err cw_metrics_render(cw_metrics *m, cw_app *app, cw_buf *out);

#endif
