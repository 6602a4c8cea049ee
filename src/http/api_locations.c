/*
 * api_locations.c — Backstage's location API under /api/catalog (enough
 * for @backstage/catalog-client's addLocation, getLocations,
 * getLocationById, getLocationByEntity, removeLocationById and
 * refreshEntity) and conway's view of every location with its fetch state
 * (GET /api/v1/locations). Fetching itself is ingest/locations.h.
 *
 * As Backstage does, a location registered through the API gets a
 * Location entity of its own ("generated-<hash>", annotated
 * backstage.io/managed-by-location), which carries the fetch state; only
 * url locations can be registered this way (a file target would let a
 * client read the server's files).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "http/api_common.h"
#include "http/http_int.h"
#include "ingest/locations.h"
#include "store/store_ingest.h"
#include "util/crypto.h"
#include "util/timeutil.h"

static json_t *location_json(const cw_location *l)
{
    return json_pack("{s:s, s:s, s:s}", "id", l->id, "type", l->type, "target", l->target);
}

/* The generated Location entity of a registered location. */
static void generated_name(const char *target, char out[64])
{
    char hash[65];
    cw_sha256_hex(target, strlen(target), hash);
    snprintf(out, 64, "generated-%.40s", hash);
}

static bool team_scoped(const cw_req *req, cw_resp *resp)
{
    if (req->authenticated && req->token.team[0]) {
        cw_resp_problem(resp, 403, "a team-scoped token may not register or remove locations "
                                   "(they hold any team's entities)");
        return true;
    }
    return false;
}

static void add_location(cw_app *app, cw_req *req, cw_resp *resp)
{
    if (team_scoped(req, resp))
        return;
    const char *dry = cw_req_query(req, "dryRun");
    if (dry && strcmp(dry, "false") != 0) {
        cw_resp_problem(resp, 400, "query parameter 'dryRun': not supported; register the "
                                   "location and read its entities once fetched");
        return;
    }
    json_t *in = cw_req_json_body(req, resp);
    if (!in)
        return;
    const char *type = json_string_value(json_object_get(in, "type"));
    const char *target = json_string_value(json_object_get(in, "target"));
    cw_location loc;
    memset(&loc, 0, sizeof loc);
    cw_diag d = {{0}};
    cw_err err = CW_OK;
    if (!json_is_object(in) || !target) {
        cw_resp_problem(resp, 400, "target: required (a string)");
        goto out;
    }
    if (type && strcmp(type, "url") != 0) {
        cw_resp_problem(resp, 400, "type: only url locations can be registered through the API");
        goto out;
    }
    if (strncmp(target, "https://", 8) && strncmp(target, "http://", 7)) {
        cw_resp_problem(resp, 400, "target: must be an http(s) URL");
        goto out;
    }
    bool created = false;
    err = cw_store_location_add(app->store, "url", target, "api", cw_now_ms(), &loc, &created, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        goto out;
    }
    if (!created) {
        cw_resp_problem(resp, 409, "Location url:%.1000s already exists (id %s)", target, loc.id);
        goto out;
    }
    char name[64];
    generated_name(target, name);
    char mbl[CW_LOCATION_TARGET_MAX + 8];
    snprintf(mbl, sizeof mbl, "url:%s", target);
    json_t *e = json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s}}, s:{s:s, s:s}}", "apiVersion",
                          "backstage.io/v1alpha1", "kind", "Location", "metadata", "name", name,
                          "annotations", "backstage.io/managed-by-location", mbl,
                          "backstage.io/managed-by-origin-location", mbl, "spec", "type", "url",
                          "target", target);
    cw_put_result pr;
    err = e ? cw_entity_validate(e, &d) : cw_fail(&d, CW_ERR_NOMEM, "out of memory");
    if (!err)
        err = cw_store_entity_put(app->store, e, NULL, &pr, &d);
    json_decref(e);
    if (err) {
        cw_diag dd;
        (void)cw_store_location_delete(app->store, loc.id, NULL, &dd);
        cw_resp_error(resp, err, &d);
        goto out;
    }
    cw_refresher_kick(app->cfg.refresher);
    char ref[96];
    snprintf(ref, sizeof ref, "location:default/%s", name);
    json_t *refs = json_pack("[s]", ref);
    json_t *detail = json_pack("{s:s, s:s}", "location", loc.id, "target", target);
    cw_api_audit_detail(app, req, "location.create", refs, detail);
    json_decref(refs);
    json_decref(detail);
    char path[96];
    snprintf(path, sizeof path, "/api/catalog/locations/%s", loc.id);
    cw_resp_header(resp, "Location", path);
    cw_resp_json(resp, 201, json_pack("{s:o, s:[]}", "location", location_json(&loc), "entities"));
out:
    cw_location_free(&loc);
    json_decref(in);
}

static void list_locations(cw_app *app, cw_req *req, cw_resp *resp)
{
    (void)req;
    cw_location *all = NULL;
    size_t n = 0;
    cw_diag d = {{0}};
    cw_err err = cw_store_location_list(app->store, &all, &n, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, json_pack("{s:o}", "data", location_json(&all[i])));
    cw_locations_free(all, n);
    cw_resp_json(resp, 200, arr);
}

static void get_location(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_location loc;
    cw_diag d = {{0}};
    cw_err err = cw_store_location_get(app->store, req->params[0], false, &loc, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        return;
    }
    cw_resp_json(resp, 200, location_json(&loc));
    cw_location_free(&loc);
}

static void location_by_entity(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_ref r;
    char key[CW_REF_MAX], text[CW_REF_MAX + 8];
    cw_diag d = {{0}};
    snprintf(text, sizeof text, "%s:%s/%s", req->params[0], req->params[1], req->params[2]);
    if (cw_ref_parse(text, NULL, NULL, &r, &d)) {
        cw_resp_problem(resp, 400, "%s", d.msg);
        return;
    }
    cw_ref_key(&r, key);
    json_t *ids = NULL;
    cw_location loc;
    memset(&loc, 0, sizeof loc);
    cw_err err = cw_store_location_of_entity(app->store, key, &ids, &d);
    if (!err && json_array_size(ids) == 0)
        err = cw_fail(&d, CW_ERR_NOT_FOUND, "no location provides %s", key);
    if (!err)
        err = cw_store_location_get(app->store, json_string_value(json_array_get(ids, 0)), false,
                                    &loc, &d);
    json_decref(ids);
    if (err) {
        cw_resp_error(resp, err, &d);
        return;
    }
    cw_resp_json(resp, 200, location_json(&loc));
    cw_location_free(&loc);
}

static void remove_location(cw_app *app, cw_req *req, cw_resp *resp)
{
    if (team_scoped(req, resp))
        return;
    cw_location loc;
    memset(&loc, 0, sizeof loc);
    json_t *orphans = NULL;
    cw_diag d = {{0}};
    cw_err err = cw_store_location_get(app->store, req->params[0], false, &loc, &d);
    if (!err)
        err = cw_store_location_delete(app->store, loc.id, &orphans, &d);
    bool del = app->cfg.locations && app->cfg.locations->delete_orphans;
    size_t n = 0;
    if (!err)
        err = cw_orphans(app->store, orphans, del, &n, &d);
    if (!err && !strcmp(loc.origin, "api")) {
        char name[64];
        generated_name(loc.target, name);
        err = cw_store_entity_delete(app->store, "Location", "default", name, NULL, &d);
        if (err == CW_ERR_NOT_FOUND)
            err = CW_OK;
    }
    json_decref(orphans);
    if (err) {
        cw_location_free(&loc);
        cw_resp_error(resp, err, &d);
        return;
    }
    json_t *detail = json_pack("{s:s, s:s, s:I}", "location", loc.id, "target", loc.target,
                               "orphaned", (json_int_t)n);
    cw_api_audit_detail(app, req, "location.delete", NULL, detail);
    json_decref(detail);
    cw_location_free(&loc);
    resp->status = 204;
}

static void refresh_entity(cw_app *app, cw_req *req, cw_resp *resp)
{
    json_t *in = cw_req_json_body(req, resp);
    if (!in)
        return;
    const char *ref_text = json_string_value(json_object_get(in, "entityRef"));
    cw_ref r;
    cw_diag d = {{0}};
    char key[CW_REF_MAX];
    json_t *ids = NULL;
    char *text = NULL;
    cw_err err = CW_OK;
    if (!ref_text) {
        cw_resp_problem(resp, 400, "entityRef: required (a string)");
        goto out;
    }
    if (cw_ref_parse(ref_text, NULL, NULL, &r, &d)) {
        cw_resp_problem(resp, 400, "entityRef: %s", d.msg);
        goto out;
    }
    cw_ref_key(&r, key);
    err = cw_store_entity_get(app->store, r.kind, r.namespace_, r.name, &text, NULL, &d);
    if (!err)
        err = cw_store_location_of_entity(app->store, key, &ids, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        goto out;
    }
    /* a Location entity refreshes its own url targets too */
    json_t *e = json_loads(text, 0, NULL);
    const json_t *spec = json_object_get(e, "spec");
    json_t *targets = json_array();
    if (json_string_value(json_object_get(spec, "target")))
        json_array_append(targets, json_object_get(spec, "target"));
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(spec, "targets"), i, t) {
        if (json_is_string(t))
            json_array_append(targets, t);
    }
    if (!strcasecmp(r.kind, "Location")) {
        json_array_foreach(targets, i, t) {
            cw_location loc;
            if (cw_store_location_find(app->store, "url", json_string_value(t), &loc, &d) == CW_OK) {
                json_array_append_new(ids, json_string(loc.id));
                cw_location_free(&loc);
            }
        }
    }
    json_decref(targets);
    json_decref(e);
    size_t due = 0;
    json_array_foreach(ids, i, t) {
        cw_location loc;
        if (cw_store_location_get(app->store, json_string_value(t), false, &loc, &d) == CW_OK) {
            if (!strcmp(loc.type, "url") && cw_store_location_due(app->store, loc.id, &d) == CW_OK)
                due++;
            cw_location_free(&loc);
        }
    }
    cw_refresher_kick(app->cfg.refresher);
    cw_resp_json(resp, 200, json_pack("{s:s, s:I}", "entityRef", key, "locations", (json_int_t)due));
out:
    free(text);
    json_decref(ids);
    json_decref(in);
}

static void list_state(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_api_page pg;
    if (!cw_api_page_params(req, resp, 1000, 1000, &pg))
        return;
    cw_location *all = NULL;
    size_t n = 0;
    cw_diag d = {{0}};
    cw_err err = cw_store_location_list(app->store, &all, &n, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; items && i < n; i++) {
        const cw_location *l = &all[i];
        char f[32], o[32], nx[32];
        cw_time_format_compact(l->fetched_ms, f);
        cw_time_format_compact(l->ok_ms, o);
        cw_time_format_compact(l->next_ms, nx);
        bool url = !strcmp(l->type, "url");
        json_array_append_new(
            items, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:I, s:s?, s:s?, s:s?}", "id", l->id,
                             "type", l->type, "target", l->target, "origin", l->origin, "status",
                             url ? l->status : "file", "error", l->error, "failures",
                             (json_int_t)l->failures, "fetchedAt", l->fetched_ms ? f : NULL,
                             "lastSuccessAt", l->ok_ms ? o : NULL, "nextFetchAt",
                             url && l->next_ms ? nx : NULL));
    }
    cw_locations_free(all, n);
    cw_api_page_reply(resp, json_pack("{s:o}", "items", items), "items", &pg);
}

static const char *const no_params[] = {NULL};
static const char *const add_params[] = {"dryRun", NULL};
static const char *const page_params[] = {"limit", "cursor", NULL};

const cw_route cw_routes_locations[] = {
    {"POST", "/api/catalog/locations", add_location, CW_AUTH_WRITE, add_params},
    {"GET", "/api/catalog/locations", list_locations, CW_AUTH_READ, no_params},
    {"GET", "/api/catalog/locations/{id}", get_location, CW_AUTH_READ, no_params},
    {"GET", "/api/catalog/locations/by-entity/{kind}/{namespace}/{name}", location_by_entity,
     CW_AUTH_READ, no_params},
    {"DELETE", "/api/catalog/locations/{id}", remove_location, CW_AUTH_WRITE, no_params},
    {"POST", "/api/catalog/refresh", refresh_entity, CW_AUTH_WRITE, no_params},
    {"GET", "/api/v1/locations", list_state, CW_AUTH_READ, page_params},
    {NULL, NULL, NULL, 0, NULL},
};
