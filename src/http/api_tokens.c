/*
 * api_tokens.c — API tokens over the API (admin only; docs/api.md
 * "Tokens"), so that `conway token list|create|revoke --server` need not
 * open the database:
 *   GET    /api/v1/tokens       the tokens, paged {items, nextCursor}; never
 *                               a secret or its hash
 *   POST   /api/v1/tokens       {role, name?, team?, sources?,
 *                               allowMissingTeam?} -> 201 with the secret,
 *                               the only time it is shown
 *   DELETE /api/v1/tokens/{id}  revokes at once (204)
 * The rules are `conway token create`'s: --team only for editor and ingest
 * tokens and naming a Group in the catalog, sources only for the roles that
 * send events. Creating and revoking are audited (token.create,
 * token.revoke) like the CLI's, with the admin's token as the actor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "http/api_common.h"
#include "http/http_int.h"
#include "store/store.h"
#include "util/crypto.h"
#include "util/prefix_list.h"
#include "util/timeutil.h"

#define TOKENS_PAGE_MAX 1000
#define SOURCES_MAX 32

/* A JSON array of the prefixes in s (one per line). */
static json_t *sources_json(const char *s)
{
    json_t *arr = json_array();
    for (const char *p = s; arr && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        json_array_append_new(arr, json_stringn(p, n));
        p += n + (nl ? 1 : 0);
    }
    return arr;
}

/* The token as the API shows it: the shape of `conway token list -o json`. */
static json_t *token_json(const cw_token *t)
{
    char c[32], u[32];
    cw_time_format_compact(t->created_at * 1000, c);
    if (t->last_used_at)
        cw_time_format_compact(t->last_used_at * 1000, u);
    json_t *src = sources_json(t->sources);
    if (!src)
        return NULL;
    return json_pack("{s:I, s:s, s:s, s:s?, s:s, s:s?, s:o, s:s}", "id", (json_int_t)t->id,
                     "name", t->name, "role", t->role, "team", t->team[0] ? t->team : NULL,
                     "created", c, "lastUsed", t->last_used_at ? u : NULL, "sources", src,
                     "status", t->revoked_at ? "revoked" : "active");
}

static void audit_token(cw_app *app, const cw_req *req, const char *action, const cw_token *t)
{
    json_t *refs = json_array();
    if (refs && t->team[0])
        json_array_append_new(refs, json_string(t->team));
    json_t *detail = json_pack("{s:I, s:s, s:s, s:s?}", "tokenId", (json_int_t)t->id, "name",
                               t->name, "role", t->role, "team", t->team[0] ? t->team : NULL);
    if (detail && t->sources[0])
        json_object_set_new(detail, "sources", sources_json(t->sources));
    cw_api_audit_detail(app, req, action, refs, detail);
    json_decref(refs);
    json_decref(detail);
}

static void list_tokens(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_api_page pg;
    if (!cw_api_page_params(req, resp, TOKENS_PAGE_MAX, TOKENS_PAGE_MAX, &pg))
        return;
    cw_token *all = NULL;
    size_t n = 0;
    cw_diag d = {{0}};
    cw_err err = cw_store_token_list(app->store, &all, &n, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; items && i < n; i++) {
        json_t *t = token_json(&all[i]);
        if (!t || json_array_append_new(items, t)) {
            json_decref(items);
            items = NULL;
        }
    }
    free(all);
    cw_api_page_reply(resp, items ? json_pack("{s:o}", "items", items) : NULL, "items", &pg);
}

/* What a create request asks for, checked; false after queueing the 4xx. */
typedef struct {
    const char *role, *name;
    char team[CW_REF_MAX];
    cw_ref team_ref;
    bool allow_missing_team;
    char sources[CW_TOKEN_SOURCES_MAX];
} create_req;

static bool check_sources(const json_t *v, cw_resp *resp, char out[CW_TOKEN_SOURCES_MAX])
{
    size_t o = 0, i;
    const json_t *e;
    out[0] = '\0';
    if (!json_is_array(v)) {
        cw_resp_problem(resp, 400, "sources: must be an array of context.source prefixes");
        return false;
    }
    if (json_array_size(v) > SOURCES_MAX) {
        cw_resp_problem(resp, 400, "sources: at most %d prefixes", SOURCES_MAX);
        return false;
    }
    json_array_foreach(v, i, e) {
        const char *p = json_string_value(e);
        size_t n = p ? json_string_length(e) : 0;
        if (!p || !n) {
            cw_resp_problem(resp, 400, "sources[%zu]: must be a non-empty string", i);
            return false;
        }
        switch (cw_prefix_list_append(out, CW_TOKEN_SOURCES_MAX, &o, p, n)) {
        case CW_PREFIX_OK:
            break;
        case CW_PREFIX_CONTROL:
            cw_resp_problem(resp, 400, "sources[%zu]: control character in a prefix", i);
            return false;
        case CW_PREFIX_EMPTY: /* refused above */
        case CW_PREFIX_FULL:
            cw_resp_problem(resp, 400, "sources: at most %d characters in all",
                            CW_TOKEN_SOURCES_MAX - 2);
            return false;
        }
    }
    return true;
}

static bool check_create(const json_t *in, cw_resp *resp, create_req *c)
{
    static const char *const fields[] = {"role", "name", "team", "sources", "allowMissingTeam"};
    const char *key;
    const json_t *val;
    if (!json_is_object(in)) {
        cw_resp_problem(resp, 400, "request body: must be an object {role, name?, team?, "
                                   "sources?, allowMissingTeam?}");
        return false;
    }
    json_object_foreach((json_t *)in, key, val) {
        bool known = false;
        for (size_t i = 0; i < sizeof fields / sizeof fields[0] && !known; i++)
            known = !strcmp(key, fields[i]);
        if (!known) {
            cw_resp_problem(resp, 400, "%.100s: unknown field (role, name, team, sources, "
                                       "allowMissingTeam)", key);
            return false;
        }
    }
    const json_t *role = json_object_get(in, "role"), *name = json_object_get(in, "name"),
                 *team = json_object_get(in, "team"), *src = json_object_get(in, "sources"),
                 *missing = json_object_get(in, "allowMissingTeam");
    c->role = json_string_value(role);
    if (!c->role || (strcmp(c->role, "viewer") && strcmp(c->role, "ingest") &&
                     strcmp(c->role, "editor") && strcmp(c->role, "admin"))) {
        cw_resp_problem(resp, 400, "role: %s", role ? "must be viewer, ingest, editor or admin"
                                                    : "required (viewer, ingest, editor or admin)");
        return false;
    }
    bool sends = !strcmp(c->role, "editor") || !strcmp(c->role, "ingest");
    if (name && !json_is_null(name)) {
        c->name = json_string_value(name);
        size_t n = c->name ? json_string_length(name) : 0;
        bool ok = c->name && n > 0 && n < sizeof ((cw_token *)0)->name;
        for (size_t k = 0; ok && k < n; k++)
            ok = (unsigned char)c->name[k] >= 0x20 && c->name[k] != 0x7f;
        if (!ok) {
            cw_resp_problem(resp, 400, "name: must be a string of 1 to %zu characters without "
                                       "control characters", sizeof ((cw_token *)0)->name - 1);
            return false;
        }
    }
    if (missing && !json_is_boolean(missing)) {
        cw_resp_problem(resp, 400, "allowMissingTeam: must be true or false");
        return false;
    }
    c->allow_missing_team = json_is_true(missing);
    if (team && !json_is_null(team)) {
        const char *t = json_string_value(team);
        cw_diag d = {{0}};
        if (!t) {
            cw_resp_problem(resp, 400, "team: must be a group ref such as group:default/payments");
            return false;
        }
        /* issue #10: a scope that nothing enforces is worse than none */
        if (!sends) {
            cw_resp_problem(resp, 400, "team: applies to editor and ingest tokens only: %s",
                            !strcmp(c->role, "viewer")
                                ? "a viewer reads the whole catalog"
                                : "an admin token is never limited to a team");
            return false;
        }
        if (cw_ref_parse(t, "Group", NULL, &c->team_ref, &d) ||
            strcasecmp(c->team_ref.kind, "Group")) {
            cw_resp_problem(resp, 400, "team: %s",
                            d.msg[0] ? d.msg : "must be a group ref such as group:default/payments");
            return false;
        }
        cw_ref_key(&c->team_ref, c->team);
    }
    if (src && !json_is_null(src)) {
        if (!sends) {
            cw_resp_problem(resp, 400, "sources: applies to ingest and editor tokens only (the "
                                       "roles that send events)");
            return false;
        }
        if (!check_sources(src, resp, c->sources))
            return false;
    }
    return true;
}

static void create_token(cw_app *app, cw_req *req, cw_resp *resp)
{
    json_t *in = cw_req_json_body(req, resp);
    if (!in)
        return;
    create_req c = {0};
    cw_diag d = {{0}};
    json_t *out = NULL;
    char secret[CW_TOKEN_SECRET_TEXT] = "", hash[65];
    if (!check_create(in, resp, &c))
        goto done;
    if (c.team[0] && !c.allow_missing_team) {
        /* a token scoped to a team nobody can find is a typo, not a scope */
        char *doc = NULL;
        cw_err err = cw_store_entity_get(app->store, "Group", c.team_ref.namespace_,
                                         c.team_ref.name, &doc, NULL, &d);
        free(doc);
        if (err == CW_ERR_NOT_FOUND) {
            cw_resp_problem(resp, 422, "team: %s is not in the catalog (import the team first, "
                                       "or give allowMissingTeam: true)", c.team);
            goto done;
        }
        if (err) {
            cw_resp_error(resp, err, &d);
            goto done;
        }
    }
    cw_err err = cw_token_secret_new(secret, hash);
    if (err) {
        cw_fail(&d, err, "no secure randomness available");
        cw_resp_error(resp, err, &d);
        goto done;
    }
    cw_token tok;
    err = cw_store_token_create_sources(app->store, c.name ? c.name : c.role, c.role, c.team,
                                        c.sources, hash, &tok, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        goto done;
    }
    audit_token(app, req, "token.create", &tok);
    out = token_json(&tok);
    if (out)
        json_object_set_new(out, "secret", json_string(secret));
    char loc[64];
    snprintf(loc, sizeof loc, "/api/v1/tokens/%lld", (long long)tok.id);
    cw_resp_header(resp, "Location", loc);
    cw_resp_header(resp, "Cache-Control", "no-store");
    cw_resp_json(resp, 201, out);
done:
    memset(secret, 0, sizeof secret);
    json_decref(in);
}

static void revoke_token(cw_app *app, cw_req *req, cw_resp *resp)
{
    const char *p = req->params[0];
    int64_t id = 0;
    bool ok = *p && strlen(p) <= 18;
    for (; ok && *p; p++) {
        ok = *p >= '0' && *p <= '9';
        id = id * 10 + (*p - '0');
    }
    if (!ok || id <= 0) {
        cw_resp_problem(resp, 404, "token %.40s: not found (give the numeric id from GET "
                                   "/api/v1/tokens)", req->params[0]);
        return;
    }
    cw_diag d = {{0}};
    cw_err err = cw_store_token_revoke(app->store, id, cw_now_ms() / 1000, &d);
    if (err == CW_ERR_NOT_FOUND) {
        cw_resp_problem(resp, 404, "token %lld: not found", (long long)id);
        return;
    }
    if (err) {
        cw_resp_error(resp, err, &d);
        return;
    }
    cw_token t = {.id = id};
    cw_token *all = NULL;
    size_t n = 0;
    if (cw_store_token_list(app->store, &all, &n, &d) == CW_OK)
        for (size_t i = 0; i < n; i++)
            if (all[i].id == id)
                t = all[i];
    free(all);
    audit_token(app, req, "token.revoke", &t);
    resp->status = 204;
}

static const char *const no_params[] = {NULL};
static const char *const page_params[] = {"limit", "cursor", NULL};

const cw_route cw_routes_tokens[] = {
    {"GET", "/api/v1/tokens", list_tokens, CW_AUTH_ADMIN, page_params},
    {"POST", "/api/v1/tokens", create_token, CW_AUTH_ADMIN, no_params},
    {"DELETE", "/api/v1/tokens/{id}", revoke_token, CW_AUTH_ADMIN, no_params},
    {NULL, NULL, NULL, 0, NULL},
};
