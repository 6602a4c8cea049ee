/*
 * api_scorecards.c — the scorecard routes of issue #15:
 *   GET /api/v1/entities/{kind}/{namespace}/{name}/facts   an entity's facts document
 *   GET /api/v1/scorecards                                 every Scorecard with its summary
 *   GET /api/v1/scorecards/{name}/results                  per entity level and checks,
 *        ?scope=&level=&cursor=&limit=&namespace=&now=      roll-ups per team/system/domain
 * Each request reads the organisation-wide inputs once (http/facts.h) and
 * evaluates from them; nothing is stored (the daily history is the
 * snapshot's). Bad parameters are 400 problems naming the parameter.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "http/api_common.h"
#include "http/api_events.h"
#include "http/facts.h"
#include "http/http_int.h"
#include "http/scorecards.h"
#include "util/timeutil.h"

#define RESULTS_DEFAULT_LIMIT 100
#define RESULTS_MAX_LIMIT 1000

static cw_findings_cfg findings_cfg(const cw_app *app)
{
    cw_findings_cfg c = {.arch = &app->cfg.arch,
                         .max_components_per_team = app->cfg.max_components_per_team,
                         .production_env = app->cfg.production_env,
                         .postmortem_severity = app->cfg.postmortem_severity,
                         .postmortem_days = app->cfg.postmortem_days,
                         .restore_test_days = app->cfg.restore_test_days};
    return c;
}

/* Loads the batch at ?now= (default: now); false after queueing the error. */
static bool batch(cw_app *app, cw_req *req, cw_resp *resp, cw_facts_batch **out)
{
    int64_t now = cw_now_ms();
    bool has_now;
    *out = NULL;
    if (!cw_api_time_param(req, resp, "now", &now, &has_now))
        return false;
    cw_findings_cfg cfg = findings_cfg(app);
    cw_diag d = {{0}};
    cw_err err = cw_facts_batch_load(app->store, &cfg, now, out, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        return false;
    }
    return true;
}

static void get_facts(cw_app *app, cw_req *req, cw_resp *resp)
{
    char text[3 * (CW_NAME_MAX + 1) + 4];
    snprintf(text, sizeof text, "%.63s:%.63s/%.63s", req->params[0], req->params[1], req->params[2]);
    cw_ref ref;
    cw_diag d = {{0}};
    if (cw_ref_parse(text, NULL, NULL, &ref, &d) != CW_OK) {
        cw_resp_problem(resp, 400, "path: %s", d.msg);
        return;
    }
    char key[CW_REF_MAX];
    cw_ref_key(&ref, key);
    cw_facts_batch *b = NULL;
    if (!batch(app, req, resp, &b))
        return;
    const json_t *e = cw_facts_batch_entity(b, key);
    json_t *facts = NULL;
    cw_err err = CW_OK;
    if (!e)
        err = cw_fail(&d, CW_ERR_NOT_FOUND, "no entity %s", key);
    else
        err = cw_facts_of(b, e, &facts, &d);
    cw_facts_batch_free(b);
    if (err) {
        cw_resp_error(resp, err, &d);
        return;
    }
    cw_resp_json(resp, 200, facts);
}

static void get_scorecards(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_facts_batch *b = NULL;
    if (!batch(app, req, resp, &b))
        return;
    cw_scorecard **cards = NULL;
    size_t n = 0;
    cw_diag d = {{0}};
    cw_err err = cw_scorecards_load(b, &cards, &n, &d);
    json_t *items = json_array();
    if (!err && !items)
        err = cw_fail(&d, CW_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !err && i < n; i++) {
        json_t *cj = NULL, *rows = NULL;
        err = cw_scorecard_json(cards[i], &cj);
        if (!err)
            err = cw_scorecard_run(b, cards[i], false, &rows, &d);
        if (!err) {
            json_t *s = cw_scorecard_summary(cards[i], rows);
            if (!s || json_object_set_new(cj, "summary", s) || json_array_append(items, cj))
                err = cw_fail(&d, CW_ERR_NOMEM, "out of memory");
        }
        json_decref(cj);
        json_decref(rows);
    }
    cw_scorecards_free(cards, n);
    cw_facts_batch_free(b);
    if (err) {
        json_decref(items);
        cw_resp_error(resp, err, &d);
        return;
    }
    cw_resp_json(resp, 200, json_pack("{s:o}", "items", items));
}

static void get_results(cw_app *app, cw_req *req, cw_resp *resp)
{
    uint64_t limit;
    size_t offset = 0;
    const char *cursor = cw_req_query(req, "cursor");
    const char *scope = cw_req_query(req, "scope");
    const char *level = cw_req_query(req, "level");
    const char *ns = cw_req_query(req, "namespace");
    char scope_key[CW_REF_MAX];
    cw_diag d = {{0}};
    if (!cw_req_query_uint(req, resp, "limit", RESULTS_DEFAULT_LIMIT, 1, RESULTS_MAX_LIMIT, &limit))
        return;
    uint64_t off = 0;
    /* the cursor every list uses (docs/api.md) */
    if (cursor && *cursor && (!cw_api_cursor_decode(cursor, &off) || off > SIZE_MAX)) {
        cw_resp_problem(resp, 400, "query parameter 'cursor': not a cursor this list returned "
                                   "(pass nextCursor of the previous page as it is)");
        return;
    }
    offset = (size_t)off;
    if (scope) {
        cw_ref r;
        if (cw_ref_parse(scope, "Group", NULL, &r, &d) != CW_OK) {
            cw_resp_problem(resp, 400, "query parameter 'scope': %s", d.msg);
            return;
        }
        cw_ref_key(&r, scope_key);
    }
    cw_facts_batch *b = NULL;
    if (!batch(app, req, resp, &b))
        return;
    cw_scorecard *card = NULL;
    json_t *rows = NULL, *kept = json_array(), *page = json_array();
    cw_err err = cw_scorecard_find(b, req->params[0], ns, &card, &d);
    int below = -1;
    if (!err && level) {
        below = cw_scorecard_level_index(card, level);
        if (below < 0) {
            cw_resp_problem(resp, 400, "query parameter 'level': '%.60s' is not a level of %s", level,
                            card->ref);
            goto out;
        }
    }
    if (!err)
        err = cw_scorecard_run(b, card, true, &rows, &d);
    if (!err && (!kept || !page))
        err = cw_fail(&d, CW_ERR_NOMEM, "out of memory");
    if (err) {
        cw_resp_error(resp, err, &d);
        goto out;
    }
    size_t i;
    json_t *r;
    json_t *in_scope = json_array();
    json_array_foreach(rows, i, r) {
        if (!cw_scorecard_row_in_scope(r, scope ? scope_key : NULL))
            continue;
        json_array_append(in_scope, r);
        if (below >= 0 && json_integer_value(json_object_get(r, "levelIndex")) >= below)
            continue;
        json_array_append(kept, r);
    }
    size_t total = json_array_size(kept);
    for (size_t k = offset; k < total && k < offset + limit; k++)
        json_array_append(page, json_array_get(kept, k));
    json_t *cj = NULL;
    if (cw_scorecard_json(card, &cj) != CW_OK) {
        json_decref(in_scope);
        cw_resp_problem(resp, 500, "out of memory while building the answer");
        goto out;
    }
    bool more = offset + limit < total;
    char *next = more ? cw_api_cursor_encode((uint64_t)(offset + limit)) : NULL;
    char now[32];
    cw_time_format_ms(cw_facts_batch_now(b), now);
    json_t *body = json_pack("{s:o, s:s, s:o, s:o, s:O, s:I, s:o}", "scorecard", cj, "evaluatedAt",
                             now, "summary", cw_scorecard_summary(card, in_scope), "rollups",
                             cw_scorecard_rollups(card, in_scope), "items", page, "totalItems",
                             (json_int_t)total, "nextCursor",
                             next ? json_string(next) : json_null());
    free(next);
    json_decref(in_scope);
    if (body && more && !next) { /* the cursor's text: out of memory */
        json_decref(body);
        body = NULL;
    }
    if (!body) {
        cw_resp_problem(resp, 500, "out of memory while building the answer");
        goto out;
    }
    cw_resp_json(resp, 200, body);
out:
    json_decref(page);
    json_decref(kept);
    json_decref(rows);
    cw_scorecard_free(card);
    cw_facts_batch_free(b);
}

static const char *const facts_params[] = {"now", NULL};
static const char *const list_params[] = {"now", NULL};
static const char *const results_params[] = {"scope", "level", "cursor", "limit", "namespace",
                                             "now", NULL};

const cw_route cw_routes_scorecards[] = {
    {"GET", "/api/v1/entities/{kind}/{namespace}/{name}/facts", get_facts, CW_AUTH_READ, facts_params},
    {"GET", "/api/v1/scorecards", get_scorecards, CW_AUTH_READ, list_params},
    {"GET", "/api/v1/scorecards/{name}/results", get_results, CW_AUTH_READ, results_params},
    {NULL, NULL, NULL, 0, NULL},
};
