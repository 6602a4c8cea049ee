/*
 * api_initiatives.c — initiatives (issue #15): GET /api/v1/initiatives
 * lists them with their progress and pace; GET /api/v1/initiatives/{name}
 * (namespace= for another namespace than default) answers one with its
 * burn-up, the entities remaining per team and which ones remain.
 * initiative_data.c assembles both. now= evaluates as of another time (the
 * snapshots stay those the store has).
 */
#include <string.h>

#include "catalog/catalog.h"
#include "http/api_events.h"
#include "http/http_int.h"
#include "http/initiative_data.h"
#include "util/timeutil.h"

static bool ctx_of(cw_app *app, cw_req *req, cw_resp *resp, cw_findings_cfg *cfg,
                   cw_initiative_ctx *c)
{
    bool given;
    memset(cfg, 0, sizeof *cfg);
    cfg->arch = &app->cfg.arch;
    cfg->max_components_per_team = app->cfg.max_components_per_team;
    cfg->production_env = app->cfg.production_env;
    cfg->postmortem_severity = app->cfg.postmortem_severity;
    cfg->postmortem_days = app->cfg.postmortem_days;
    cfg->restore_test_days = app->cfg.restore_test_days;
    c->store = app->store;
    c->cfg = cfg;
    c->now_ms = cw_now_ms();
    return cw_api_time_param(req, resp, "now", &c->now_ms, &given);
}

static void list_initiatives(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_findings_cfg cfg;
    cw_initiative_ctx c;
    if (!ctx_of(app, req, resp, &cfg, &c))
        return;
    json_t *body = NULL;
    cw_diag d = {{0}};
    cw_err err = cw_initiatives_list(&c, &body, &d);
    if (err)
        cw_resp_error(resp, err, &d);
    else
        cw_resp_json(resp, 200, body);
}

static void get_initiative(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_findings_cfg cfg;
    cw_initiative_ctx c;
    const char *ns;
    if (!ctx_of(app, req, resp, &cfg, &c) || !cw_api_text_param(req, resp, "namespace", &ns))
        return;
    if (!ns)
        ns = CW_DEFAULT_NAMESPACE;
    if (!cw_valid_namespace(ns)) {
        cw_resp_problem(resp, 400, "query parameter 'namespace': not a namespace");
        return;
    }
    json_t *body = NULL;
    cw_diag d = {{0}};
    cw_err err = cw_initiative_view(&c, ns, req->params[0], &body, &d);
    if (err)
        cw_resp_error(resp, err, &d);
    else
        cw_resp_json(resp, 200, body);
}

static const char *const list_params[] = {"now", NULL};
static const char *const one_params[] = {"namespace", "now", NULL};

const cw_route cw_routes_initiatives[] = {
    {"GET", "/api/v1/initiatives", list_initiatives, CW_AUTH_READ, list_params},
    {"GET", "/api/v1/initiatives/{name}", get_initiative, CW_AUTH_READ, one_params},
    {NULL, NULL, NULL, 0, NULL},
};
