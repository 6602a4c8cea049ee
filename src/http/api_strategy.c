/*
 * api_strategy.c — the strategy of a team, a system or the organisation
 * (issue #16): GET /api/v1/strategy?scope= answers its Goals with status,
 * Hypotheses with verdicts, Decisions and KPIs, and the findings about
 * them; GET /api/v1/strategy/goals/{namespace}/{name} and
 * …/hypotheses/{namespace}/{name} answer one with its points. Everything
 * is assembled by strategy_data.c, as for the report.
 */
#include <string.h>

#include "http/api_events.h"
#include "http/http_int.h"
#include "http/strategy_data.h"
#include "util/timeutil.h"

/* The strategy context of a request: "now" (RFC 3339) evaluates as of
 * another time. False after queueing the problem. */
static bool ctx_of(cw_app *app, cw_req *req, cw_resp *resp, cw_strategy_ctx *c)
{
    bool given;
    memset(c, 0, sizeof *c);
    c->src.store = app->store;
    c->src.production_env = app->cfg.production_env;
    c->now_ms = cw_now_ms();
    return cw_api_time_param(req, resp, "now", &c->now_ms, &given);
}

static void get_strategy(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_strategy_ctx c;
    const char *scope;
    if (!ctx_of(app, req, resp, &c) || !cw_api_text_param(req, resp, "scope", &scope))
        return;
    char key[CW_REF_MAX], kind[32];
    cw_diag d = {{0}};
    if (cw_strategy_scope_parse(scope, key, kind, &d)) {
        const char *detail = strncmp(d.msg, "scope: ", 7) ? d.msg : d.msg + 7;
        cw_resp_problem(resp, 400, "query parameter 'scope': %s", detail);
        return;
    }
    json_t *body = NULL;
    cw_err err = cw_strategy_view(&c, key, &body, &d);
    if (err)
        cw_api_store_error(resp, err, &d, "scope");
    else
        cw_resp_json(resp, 200, body);
}

static void get_item(cw_app *app, cw_req *req, cw_resp *resp, const char *kind)
{
    cw_strategy_ctx c;
    if (!ctx_of(app, req, resp, &c))
        return;
    json_t *body = NULL;
    cw_diag d = {{0}};
    cw_err err = cw_strategy_item(&c, kind, req->params[0], req->params[1], &body, &d);
    if (err)
        cw_resp_error(resp, err, &d);
    else
        cw_resp_json(resp, 200, body);
}

static void get_goal(cw_app *app, cw_req *req, cw_resp *resp) { get_item(app, req, resp, "goal"); }

static void get_hypothesis(cw_app *app, cw_req *req, cw_resp *resp)
{
    get_item(app, req, resp, "hypothesis");
}

static const char *const strategy_params[] = {"scope", "now", NULL};
static const char *const item_params[] = {"now", NULL};

const cw_route cw_routes_strategy[] = {
    {"GET", "/api/v1/strategy", get_strategy, CW_AUTH_READ, strategy_params},
    {"GET", "/api/v1/strategy/goals/{namespace}/{name}", get_goal, CW_AUTH_READ, item_params},
    {"GET", "/api/v1/strategy/hypotheses/{namespace}/{name}", get_hypothesis, CW_AUTH_READ,
     item_params},
    {NULL, NULL, NULL, 0, NULL},
};
