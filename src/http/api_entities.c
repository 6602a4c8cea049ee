/*
 * api_entities.c — the native catalog API under /api/v1: list with filters
 * and cursor paging (pages end early past their byte budget, bounded.h),
 * read/upsert/delete one entity with ETags, and bulk import of YAML/JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/filter.h"
#include "http/api_common.h"
#include "http/bounded.h"
#include "http/http_int.h"
#include "ingest/locations.h"
#include "ingest/catalog_import.h"
#include "util/crypto.h"

#define LIST_DEFAULT_LIMIT 100
#define LIST_MAX_LIMIT 1000

/* Cursor: base64url("k1:" + last entity key). Opaque to clients. */
static char *make_cursor(const char *key)
{
    char tmp[CW_REF_MAX + 8];
    int n = snprintf(tmp, sizeof tmp, "k1:%s", key);
    return cw_base64url_encode(tmp, (size_t)n);
}

static bool parse_cursor(const char *cursor, char key[CW_REF_MAX])
{
    size_t len = 0;
    unsigned char *raw = cw_base64url_decode(cursor, &len);
    bool ok = raw && len > 3 && len < CW_REF_MAX + 3 && !memcmp(raw, "k1:", 3) &&
              memchr(raw, '\0', len) == NULL;
    if (ok) {
        memcpy(key, raw + 3, len - 3);
        key[len - 3] = '\0';
        char check[CW_REF_MAX];
        ok = cw_ref_text_to_key(key, check) && !strcmp(check, key);
    }
    free(raw);
    return ok;
}

/* Adds a native filter parameter to f: repeated values mean "any of". A
 * ref-valued parameter is resolved with its default kind into the full key.
 * Returns false after queueing a 400. */
static bool add_native_filter(cw_filter_owned *f, const cw_req *req, cw_resp *resp,
                              const char *param, const char *key, const char *default_kind)
{
    const char *values[16];
    char keys[16][CW_REF_MAX];
    size_t n = cw_req_query_all(req, param, values, 16);
    if (n == 0)
        return true;
    for (size_t i = 0; i < n; i++) {
        cw_diag d = {{0}};
        if (!*values[i]) {
            cw_resp_problem(resp, 400, "query parameter '%s' must not be empty", param);
            return false;
        }
        if (default_kind) {
            cw_ref ref;
            if (cw_ref_parse(values[i], default_kind, NULL, &ref, &d)) {
                cw_resp_problem(resp, 400, "query parameter '%s': %s", param, d.msg);
                return false;
            }
            cw_ref_key(&ref, keys[i]);
            values[i] = keys[i];
        }
    }
    cw_diag d = {{0}};
    cw_err err = cw_filter_add_any(f, key, values, n, &d);
    if (err) {
        cw_resp_problem(resp, cw_http_status_of(err), "query parameter '%s': %s", param, d.msg);
        return false;
    }
    return true;
}

static void list_entities(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_filter_owned *f = NULL;
    cw_entity_page page = {0};
    cw_buf out;
    cw_buf_init(&out, 0);
    uint64_t limit;
    char after[CW_REF_MAX];
    const char *cursor = cw_req_query(req, "cursor");
    if (!cw_req_query_uint(req, resp, "limit", LIST_DEFAULT_LIMIT, 1, LIST_MAX_LIMIT, &limit))
        goto out;
    if (cursor && !parse_cursor(cursor, after)) {
        cw_resp_problem(resp, 400, "query parameter 'cursor': not a cursor issued by this server");
        goto out;
    }
    cw_diag d = {{0}};
    if (cw_filter_parse_backstage(NULL, 0, &f, &d)) {
        cw_resp_problem(resp, 500, "%s", d.msg);
        goto out;
    }
    if (!add_native_filter(f, req, resp, "kind", "kind", NULL) ||
        !add_native_filter(f, req, resp, "namespace", "metadata.namespace", NULL) ||
        !add_native_filter(f, req, resp, "owner", "relations.ownedby", "Group") ||
        !add_native_filter(f, req, resp, "system", "relations.partof", "System") ||
        !add_native_filter(f, req, resp, "type", "spec.type", NULL) ||
        !add_native_filter(f, req, resp, "lifecycle", "spec.lifecycle", NULL) ||
        !add_native_filter(f, req, resp, "tag", "metadata.tags", NULL))
        goto out;
    const char *q = cw_req_query(req, "q");
    if (q && strlen(q) > 200) {
        cw_resp_problem(resp, 400, "query parameter 'q': at most 200 characters");
        goto out;
    }
    /* Read in chunks until the page has `limit` entities or passes its
     * byte budget (bounded.h); one more than asked tells whether a next
     * page exists. */
    cw_entity_query query = {
        .filter = &f->filter,
        .text = q && *q ? q : NULL,
        .after_key = cursor ? after : NULL,
    };
    size_t shown = 0, total = 0;
    bool more = false, first = true;
    char last[CW_REF_MAX] = "";
    cw_err err = cw_buf_puts(&out, "{\"items\":[");
    while (!err) {
        size_t want = cw_page_chunk((size_t)limit - shown, shown, out.len);
        query.limit = want + 1;
        cw_entity_page_free(&page);
        if ((err = cw_store_entity_query(app->store, &query, &page, &d))) {
            cw_resp_error(resp, err, &d);
            goto out;
        }
        if (first)
            total = page.total;
        first = false;
        size_t n = page.len < want ? page.len : want, i = 0;
        while (i < n && !err && !cw_page_full(out.len)) {
            if (shown && (err = cw_buf_putc(&out, ',')))
                break;
            err = cw_buf_puts(&out, page.items[i]);
            i++;
            shown++;
        }
        if (i)
            snprintf(last, sizeof last, "%s", page.keys[i - 1]);
        more = page.len > i; /* read past what is shown */
        if (err || !more || shown == limit || cw_page_full(out.len))
            break;
        query.after_key = last;
    }
    if (!err)
        err = cw_buf_printf(&out, "],\"totalItems\":%zu,\"nextCursor\":", total);
    if (!err && more) {
        char *next = make_cursor(last);
        err = next ? cw_buf_json_str(&out, next) : CW_ERR_NOMEM;
        free(next);
    } else if (!err) {
        err = cw_buf_puts(&out, "null");
    }
    if (!err)
        err = cw_buf_putc(&out, '}');
    if (err) {
        cw_resp_error(resp, err, NULL);
        goto out;
    }
    cw_resp_json_text(resp, 200, cw_buf_cstr(&out), out.len);
out:
    cw_buf_free(&out);
    cw_entity_page_free(&page);
    cw_filter_owned_free(f);
}

static void get_entity(cw_app *app, cw_req *req, cw_resp *resp)
{
    char *json = NULL;
    char etag[48];
    cw_diag d = {{0}};
    cw_err err = cw_store_entity_get(app->store, req->params[0], req->params[1], req->params[2],
                                     &json, etag, &d);
    if (err == CW_ERR_NOT_FOUND) {
        cw_resp_problem(resp, 404, "entity %s:%s/%s does not exist", req->params[0], req->params[1],
                        req->params[2]);
        return;
    }
    if (err) {
        cw_resp_error(resp, err, &d);
        return;
    }
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\"", etag);
    cw_resp_header(resp, "ETag", quoted);
    const char *inm = cw_req_header(req, "If-None-Match");
    if (inm && !strcmp(inm, quoted)) {
        resp->status = 304;
        free(json);
        return;
    }
    cw_resp_json_text(resp, 200, json, strlen(json));
    free(json);
}

/* Strips quotes and a weak prefix from an If-Match value. "*" stays "*". */
static const char *etag_value(const char *header, char out[64])
{
    if (!header)
        return NULL;
    if (!strncmp(header, "W/", 2))
        header += 2;
    size_t n = strlen(header);
    if (n >= 2 && header[0] == '"' && header[n - 1] == '"') {
        header++;
        n -= 2;
    }
    if (n >= 64)
        n = 63;
    memcpy(out, header, n);
    out[n] = '\0';
    return out;
}

static bool same_ci(const char *a, const char *b) { return strcasecmp(a, b) == 0; }

static void put_entity(cw_app *app, cw_req *req, cw_resp *resp)
{
    json_t *entity = cw_req_json_body(req, resp);
    if (!entity)
        return;
    cw_diag d = {{0}};
    char *json = NULL;
    if (!json_is_object(entity)) {
        cw_resp_problem(resp, 400, "request body: expected one entity as a JSON object");
        goto out;
    }
    cw_err err = cw_entity_validate_with(entity, app->cfg.activities, &d);
    if (err) {
        cw_resp_problem(resp, 422, "%s", d.msg);
        goto out;
    }
    cw_ref ref;
    if (cw_entity_ref(entity, &ref, &d)) {
        cw_resp_problem(resp, 422, "%s", d.msg);
        goto out;
    }
    if (!same_ci(ref.kind, req->params[0]) || !same_ci(ref.namespace_, req->params[1]) ||
        !same_ci(ref.name, req->params[2])) {
        cw_resp_problem(resp, 400,
                        "the entity in the body (%s:%s/%s) is not the one in the URL (%s:%s/%s)",
                        ref.kind, ref.namespace_, ref.name, req->params[0], req->params[1],
                        req->params[2]);
        goto out;
    }
    if (!cw_api_may_write_entity(app, req, resp, entity))
        goto out;
    json_t *ext = NULL;
    err = cw_api_check_link_keys(app, req, &entity, 1, &ext, &d);
    if (err) {
        cw_resp_problem_ext(resp, cw_http_status_of(err), ext, "%s", d.msg);
        goto out;
    }
    char ifm_buf[64];
    const char *if_match = etag_value(cw_req_header(req, "If-Match"), ifm_buf);
    if (if_match && !strcmp(if_match, "*"))
        if_match = NULL;
    cw_put_result res;
    err = cw_store_entity_put(app->store, entity, if_match, &res, &d);
    if (err == CW_ERR_PRECONDITION) {
        cw_resp_problem(resp, 412, "%s%s", strncmp(d.msg, "If-Match: ", 10) ? "If-Match: " : "",
                        d.msg[0] ? d.msg : "the entity has changed");
        goto out;
    }
    if (err) {
        cw_resp_error(resp, err, &d);
        goto out;
    }
    char etag[48];
    err = cw_store_entity_get(app->store, ref.kind, ref.namespace_, ref.name, &json, etag, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        goto out;
    }
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\"", etag);
    cw_resp_header(resp, "ETag", quoted);
    if (res.status != CW_PUT_UNCHANGED)
        cw_api_audit(app, req, res.status == CW_PUT_CREATED ? "entity.create" : "entity.update",
                     entity);
    cw_resp_json_text(resp, res.status == CW_PUT_CREATED ? 201 : 200, json, strlen(json));
out:
    free(json);
    json_decref(entity);
}

static void delete_entity(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_diag d = {{0}};
    char *json = NULL;
    json_t *entity = NULL;
    cw_err err = cw_store_entity_get(app->store, req->params[0], req->params[1], req->params[2],
                                     &json, NULL, &d);
    if (err == CW_ERR_NOT_FOUND) {
        cw_resp_problem(resp, 404, "entity %s:%s/%s does not exist", req->params[0], req->params[1],
                        req->params[2]);
        goto out;
    }
    if (err) {
        cw_resp_error(resp, err, &d);
        goto out;
    }
    entity = json_loads(json, 0, NULL);
    if (!entity) {
        cw_resp_problem(resp, 500, "stored entity is not valid JSON");
        goto out;
    }
    if (!cw_api_may_write_entity(app, req, resp, entity))
        goto out;
    char ifm_buf[64];
    const char *if_match = etag_value(cw_req_header(req, "If-Match"), ifm_buf);
    if (if_match && !strcmp(if_match, "*"))
        if_match = NULL;
    err = cw_store_entity_delete(app->store, req->params[0], req->params[1], req->params[2],
                                 if_match, &d);
    if (err == CW_ERR_PRECONDITION) {
        cw_resp_problem(resp, 412, "%s%s", strncmp(d.msg, "If-Match: ", 10) ? "If-Match: " : "",
                        d.msg[0] ? d.msg : "the entity has changed");
        goto out;
    }
    if (err) {
        cw_resp_error(resp, err, &d);
        goto out;
    }
    cw_api_audit(app, req, "entity.delete", entity);
    resp->status = 204;
out:
    free(json);
    json_decref(entity);
}

typedef struct {
    cw_app *app;
    cw_req *req;
    json_t **ok;        /* the documents the checks let through, in order */
    size_t nok, cap;
} import_hook_ctx;

/* Per document: the write permission; at the end (entity NULL): the link
 * keys of all of them together, as they would be once stored. */
static cw_err import_hook(void *ctx, const json_t *entity, cw_diag *d)
{
    import_hook_ctx *c = ctx;
    if (!entity)
        return cw_api_check_link_keys(c->app, c->req, c->ok, c->nok, NULL, d);
    cw_err err = cw_api_check_write_entity(c->app, c->req, entity, d);
    if (err || !c->req->token.team[0])
        return err;
    if (c->nok == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        json_t **p = realloc(c->ok, cap * sizeof *p);
        if (!p)
            return cw_fail(d, CW_ERR_NOMEM, "out of memory");
        c->ok = p;
        c->cap = cap;
    }
    c->ok[c->nok++] = (json_t *)entity; /* read only; the documents outlive the import */
    return CW_OK;
}

static void post_import(cw_app *app, cw_req *req, cw_resp *resp)
{
    static const char *const types[] = {"application/yaml", "application/x-yaml", "text/yaml",
                                        "text/x-yaml", "application/json", "text/plain",
                                        "+json", "+yaml", NULL};
    if (!cw_req_content_type(req, resp, types, "application/yaml or application/json"))
        return;
    if (req->body_len == 0) {
        cw_resp_problem(resp, 400, "request body: expected YAML or JSON entities, got an empty body");
        return;
    }
    if (memchr(req->body, '\0', req->body_len)) {
        cw_resp_problem(resp, 400, "request body: contains a NUL byte; expected YAML or JSON text");
        return;
    }
    cw_import_report rep;
    cw_import_report_init(&rep);
    cw_diag d = {{0}};
    import_hook_ctx hc = {app, req, NULL, 0, 0};
    cw_err err = cw_import_text(app->store, req->body, req->body_len, app->cfg.activities,
                                import_hook, &hc, &rep, &d);
    free(hc.ok);
    if (err) {
        if (err == CW_ERR_FORBIDDEN || err == CW_ERR_CONFLICT)
            cw_resp_problem(resp, cw_http_status_of(err), "%s", d.msg);
        else
            cw_resp_problem(resp, cw_http_status_of(err), "request body: %s", d.msg);
        goto out;
    }
    size_t nerr = json_array_size(rep.errors);
    if (rep.created + rep.updated > 0)
        cw_api_audit_refs(app, req, "catalog.import", rep.refs);
    /* url targets of Location entities are fetched (ingest/locations.h) */
    size_t registered = 0;
    if (cw_locations_register(app->store, rep.locations, NULL, &registered, &d) == CW_OK &&
        registered)
        cw_refresher_kick(app->cfg.refresher);
    json_t *body = json_pack("{s:i, s:i, s:i, s:i, s:O, s:i}", "imported",
                             (json_int_t)(rep.created + rep.updated), "created",
                             (json_int_t)rep.created, "updated", (json_int_t)rep.updated,
                             "unchanged", (json_int_t)rep.unchanged, "errors", rep.errors,
                             "locationsRegistered", (json_int_t)registered);
    if (nerr && rep.created + rep.updated + rep.unchanged == 0 && body)
        /* rejected whole: a problem, the report as its extension members */
        cw_resp_problem_ext(
            resp, 422, body,
            "no document was imported: %zu document%s rejected (all in errors); document %d: %s",
            nerr, nerr == 1 ? " was" : "s were",
            (int)json_integer_value(json_object_get(json_array_get(rep.errors, 0), "document")),
            json_string_value(json_object_get(json_array_get(rep.errors, 0), "detail"))
                ? json_string_value(json_object_get(json_array_get(rep.errors, 0), "detail"))
                : "invalid");
    else
        cw_resp_json(resp, nerr ? 422 : 200, body);
out:
    cw_import_report_free(&rep);
}

static const char *const list_params[] = {"kind", "namespace", "owner", "system", "type",
                                          "lifecycle", "tag", "q", "limit", "cursor", NULL};
static const char *const no_params[] = {NULL};

const cw_route cw_routes_entities[] = {
    {"GET", "/api/v1/entities", list_entities, CW_AUTH_READ, list_params},
    {"GET", "/api/v1/entities/{kind}/{namespace}/{name}", get_entity, CW_AUTH_READ, no_params},
    {"PUT", "/api/v1/entities/{kind}/{namespace}/{name}", put_entity, CW_AUTH_WRITE, no_params},
    {"DELETE", "/api/v1/entities/{kind}/{namespace}/{name}", delete_entity, CW_AUTH_WRITE, no_params},
    {"POST", "/api/v1/import", post_import, CW_AUTH_WRITE, no_params},
    {NULL, NULL, NULL, 0, NULL},
};
