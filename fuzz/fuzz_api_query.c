/*
 * fuzz_api_query.c — libFuzzer target for every GET route's query-parameter
 * handling: native list filters, cursors (native, Backstage `after` and
 * by-query cursors, coupling cursors), limits, orders, fields and facets. The input is
 * "route-index\nkey=value\nkey=value..." and is handed to the real handler
 * with a real SQLite store holding a few entities. Any answer must be a
 * well-formed status; 5xx answers and crashes are findings.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "http/bounded.h"
#include "http/http_int.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cw_app app;
static const cw_route *routes[64];
static size_t nroutes;

static void setup(void)
{
    char path[] = "/tmp/conway-fuzz-api-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        abort();
    close(fd);
    unlink(path);
    cw_diag d;
    if (cw_store_open(path, NULL, &app.store, &d))
        abort();
    static const char *const yaml =
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team-a}\n"
        "spec: {type: team, children: []}\n---\n"
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: svc-a, tags: [go]}\n"
        "spec: {type: service, lifecycle: production, owner: team-a, system: sys}\n---\n"
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: svc-b, title: B}\n"
        "spec: {type: library, lifecycle: experimental, owner: user:bob, dependsOn: [component:svc-a]}\n";
    json_t *docs = NULL;
    cw_parse_limits lim;
    cw_parse_limits_default(&lim);
    if (cw_parse_documents(yaml, strlen(yaml), &lim, &docs, &d))
        abort();
    for (size_t i = 0; i < json_array_size(docs); i++) {
        json_t *e = json_array_get(docs, i);
        cw_put_result r;
        if (cw_entity_validate(e, &d) || cw_store_entity_put(app.store, e, NULL, &r, &d))
            abort();
    }
    json_decref(docs);
    cw_server_config_default(&app.cfg);
    app.cfg.public_read = true;
    size_t nt = 0;
    const cw_route *const *tables = cw_route_tables(&nt);
    for (size_t t = 0; t < nt; t++)
        for (const cw_route *r = tables[t]; r->method && nroutes < 64; r++)
            if (!strcmp(r->method, "GET") && strncmp(r->pattern, "/metrics", 8) &&
                strncmp(r->pattern, "/readyz", 7) && r->auth != CW_AUTH_ADMIN)
                routes[nroutes++] = r;
}

static const char *no_header(void *conn, const char *name)
{
    (void)conn;
    (void)name;
    return NULL;
}

/* Splits off the next line (may be empty); NULL at the end. */
static char *next_line(char **cursor)
{
    char *start = *cursor;
    if (!start)
        return NULL;
    char *nl = strchr(start, '\n');
    if (nl) {
        *nl = '\0';
        *cursor = nl + 1;
    } else {
        *cursor = NULL;
    }
    return start;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!app.store)
        setup();
    if (size == 0 || size > 8192 || nroutes == 0)
        return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    cw_req req;
    memset(&req, 0, sizeof req);
    req.method = "GET";
    req.header = no_header;
    snprintf(req.request_id, sizeof req.request_id, "fuzz");
    char *next = text;
    char *line = next_line(&next);
    const cw_route *route = routes[(line ? (unsigned char)line[0] : 0) % nroutes];
    req.route = route->pattern;
    req.path = route->pattern;
    /* Path parameters are fixed names of the seeded entities. */
    static const char *const params[] = {"component", "default", "svc-a", "x"};
    for (size_t i = 0; i < CW_MAX_PATH_PARAMS; i++)
        req.params[i] = params[i];
    req.nparams = CW_MAX_PATH_PARAMS;
    while ((line = next_line(&next)) && req.nquery < CW_MAX_QUERY_PARAMS) {
        char *eq = strchr(line, '=');
        if (eq)
            *eq = '\0';
        req.query[req.nquery].key = line;
        req.query[req.nquery].value = eq ? eq + 1 : "";
        req.nquery++;
    }
    cw_resp resp;
    memset(&resp, 0, sizeof resp);
    resp.status = 200;
    cw_buf_init(&resp.body, 0);
    if (cw_req_check_query(&req, &resp)) /* as the server's dispatch does */
        route->handler(&app, &req, &resp);
    if (resp.status >= 500 && resp.status != 503)
        abort();
    cw__stream_release(&resp); /* a streamed answer that was not sent */
    cw_buf_free(&resp.body);
    for (size_t i = 0; i < resp.nheaders; i++)
        free((void *)resp.headers[i].value);
    free(text);
    return 0;
}
