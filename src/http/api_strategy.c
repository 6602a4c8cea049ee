/*
 * api_strategy.c — the strategy of a team, a system or the organisation
 * (issue #16): GET /api/v1/strategy?scope= answers its Goals with status,
 * Hypotheses with verdicts, Decisions and KPIs, and the findings about
 * them; GET /api/v1/strategy/goals/{namespace}/{name} and
 * …/hypotheses/{namespace}/{name} answer one with its points. Everything
 * is assembled by strategy_data.c, as for the report, which
 * GET /api/v1/report?scope=&format=html|md answers (report_data.c builds
 * it, insights/report.c writes it, exactly as `conway report` does).
 */
#include <string.h>

#include "http/api_events.h"
#include "http/http_int.h"
#include "http/report_data.h"
#include "http/strategy_data.h"
#include "insights/report.h"
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
    c->kpi_fetch_state = app->cfg.kpi_fetch_state;
    c->kpi_fetch_state_ctx = app->cfg.kpi_fetch_state_ctx;
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

static void get_report(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_strategy_ctx c;
    const char *scope, *format = cw_req_query(req, "format");
    cw_report_format fmt;
    if (!ctx_of(app, req, resp, &c) || !cw_api_text_param(req, resp, "scope", &scope))
        return;
    if (!cw_report_format_parse(format, &fmt)) {
        cw_resp_problem(resp, 400, "query parameter 'format': '%.20s' is not html or md", format);
        return;
    }
    json_t *model = NULL;
    cw_diag d = {{0}};
    cw_err err = cw_report_model(&c, scope ? scope : "org", app->cfg.max_components_per_team,
                                 &model, &d);
    if (err == CW_ERR_INVALID) {
        const char *detail = strncmp(d.msg, "scope: ", 7) ? d.msg : d.msg + 7;
        cw_resp_problem(resp, 400, "query parameter 'scope': %s", detail);
        return;
    }
    if (err) {
        cw_api_store_error(resp, err, &d, "scope");
        return;
    }
    err = cw_report_render(model, fmt, &resp->body);
    json_decref(model);
    if (err) {
        cw_buf_reset(&resp->body);
        cw_resp_problem(resp, 500, "the report could not be written (%s)", cw_err_name(err));
        return;
    }
    resp->status = 200;
    resp->content_type = fmt == CW_REPORT_HTML ? "text/html; charset=utf-8"
                                               : "text/markdown; charset=utf-8";
    if (fmt == CW_REPORT_HTML) /* no script at all; the page's own styles only */
        cw_resp_header(resp, "Content-Security-Policy",
                       "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
}

static const char *const strategy_params[] = {"scope", "now", NULL};
static const char *const report_params[] = {"scope", "format", "now", NULL};
static const char *const item_params[] = {"now", NULL};

const cw_route cw_routes_strategy[] = {
    {"GET", "/api/v1/strategy", get_strategy, CW_AUTH_READ, strategy_params},
    {"GET", "/api/v1/strategy/goals/{namespace}/{name}", get_goal, CW_AUTH_READ, item_params},
    {"GET", "/api/v1/strategy/hypotheses/{namespace}/{name}", get_hypothesis, CW_AUTH_READ,
     item_params},
    {"GET", "/api/v1/report", get_report, CW_AUTH_READ, report_params},
    {NULL, NULL, NULL, 0, NULL},
};
