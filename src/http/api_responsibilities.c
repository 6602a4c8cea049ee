/*
 * api_responsibilities.c — "the buck always stops somewhere": teams
 * (GET /api/v1/teams/{namespace}/{name}), the effective RACI matrix of a
 * Component, System or Domain (GET /api/v1/raci/{kind}/{namespace}/{name}),
 * ownership findings (GET /api/v1/insights/ownership), CODEOWNERS checks
 * (POST /api/v1/codeowners) and the audit log (GET /api/v1/audit, admin).
 * Reports read the catalog through store_scan.h and compute with the pure
 * functions of insights/ and ingest/codeowners.h.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "http/api_common.h"
#include "http/api_events.h"
#include "http/api_incidents.h"
#include "http/bounded.h"
#include "http/http_int.h"
#include "ingest/codeowners.h"
#include "insights/ownership.h"
#include "insights/ownership_report.h"
#include "insights/postmortem.h"
#include "insights/raci.h"
#include "insights/team.h"
#include "store/store_audit.h"
#include "store/store_scan.h"
#include "util/crypto.h"
#include "util/timeutil.h"

static cw_ownership_opts ownership_opts(const cw_app *app)
{
    cw_ownership_opts o = {.max_components_per_team = app->cfg.max_components_per_team
                                                          ? app->cfg.max_components_per_team
                                                          : CW_OWNERSHIP_DEFAULT_MAX_COMPONENTS};
    return o;
}

static cw_postmortem_opts postmortem_opts(const cw_app *app)
{
    cw_postmortem_opts o = {.threshold = (cw_severity)app->cfg.postmortem_severity,
                            .days = app->cfg.postmortem_days,
                            .now_ms = cw_now_ms()};
    return o;
}

/* The ownership findings with the incident and postmortem ones merged in
 * (a new reference in *out); false after queueing the error. */
static bool with_incident_findings(cw_app *app, cw_resp *resp, json_t *const *items, size_t n,
                                   const json_t *ownership, json_t **out)
{
    cw_postmortem_opts po = postmortem_opts(app);
    json_t *pm = NULL;
    cw_diag d = {{0}};
    cw_err err = cw_incident_findings(app->store, items, n, &po, &pm, NULL, &d);
    if (!err)
        err = cw_findings_merge(ownership, pm, out, &d);
    json_decref(pm);
    if (err) {
        cw_resp_error(resp, err, &d);
        return false;
    }
    return true;
}

/* Every entity as a C array borrowing from *arr_out (both owned by the
 * caller: free(items), json_decref(arr)). Queues the error on failure. */
static bool items_of(json_t *arr, cw_resp *resp, json_t ***items_out, size_t *n_out)
{
    size_t n = json_array_size(arr);
    json_t **items = malloc((n ? n : 1) * sizeof *items);
    if (!items) {
        cw_resp_problem(resp, 500, "out of memory reading the catalog");
        return false;
    }
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(arr, i);
    *items_out = items;
    *n_out = n;
    return true;
}

static bool load_kinds(cw_app *app, cw_resp *resp, const char *const *kinds, size_t nkinds,
                       json_t **arr_out, json_t ***items_out, size_t *n_out)
{
    cw_diag d = {{0}};
    cw_err err = cw_store_scan(app->store, kinds, nkinds, 0, arr_out, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        return false;
    }
    if (items_of(*arr_out, resp, items_out, n_out))
        return true;
    json_decref(*arr_out);
    *arr_out = NULL;
    return false;
}

/*
 * The whole-catalog reports share one cache per process (a server serves
 * one store): the parsed catalog (store_scan.h: only changed entities are
 * parsed again) and the ownership findings of its current version, so a
 * report over 10,000 entities costs a store read and a comparison unless
 * the catalog changed. The mutex serialises cache updates; the snapshot
 * and findings handed out are immutable and shared.
 */
static struct {
    pthread_mutex_t mu;
    cw_scan_cache *scan;
    uint64_t version;       /* of findings */
    size_t max;             /* max_components_per_team of findings */
    json_t *findings;
} reports = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The catalog (*arr, *items, *n as for items_of) and, when findings is not
 * NULL, the ownership findings over it (a new reference). */
static bool catalog_snapshot(cw_app *app, cw_resp *resp, json_t **arr, json_t ***items,
                             size_t *n, json_t **findings)
{
    *arr = NULL;
    *items = NULL;
    *n = 0;
    if (findings)
        *findings = NULL;
    cw_diag d = {{0}};
    cw_err err = CW_OK;
    uint64_t version = 0;
    cw_ownership_opts opts = ownership_opts(app);
    pthread_mutex_lock(&reports.mu);
    if (!reports.scan && cw_scan_cache_new(&reports.scan))
        err = cw_fail(&d, CW_ERR_NOMEM, "out of memory reading the catalog");
    if (!err)
        err = cw_scan_cache_read(reports.scan, app->store, arr, &version, &d);
    if (!err && !items_of(*arr, resp, items, n)) {
        pthread_mutex_unlock(&reports.mu);
        json_decref(*arr);
        *arr = NULL;
        return false;
    }
    if (!err && findings) {
        if (!reports.findings || reports.version != version ||
            reports.max != opts.max_components_per_team) {
            json_t *fresh = NULL;
            err = cw_ownership_check(*items, *n, &opts, &fresh, &d);
            if (!err) {
                json_decref(reports.findings);
                reports.findings = fresh;
                reports.version = version;
                reports.max = opts.max_components_per_team;
            }
        }
        if (!err)
            *findings = json_incref(reports.findings);
    }
    pthread_mutex_unlock(&reports.mu);
    if (err) {
        free(*items);
        json_decref(*arr);
        *items = NULL;
        *arr = NULL;
        cw_resp_error(resp, err, &d);
        return false;
    }
    return true;
}

bool cw_api_catalog(cw_app *app, cw_resp *resp, json_t **arr, json_t ***items, size_t *n,
                    json_t **ownership_findings)
{
    return catalog_snapshot(app, resp, arr, items, n, ownership_findings);
}

/* ---- teams ------------------------------------------------------------------ */

static void get_team(cw_app *app, cw_req *req, cw_resp *resp)
{
    char text[CW_REF_MAX * 2];
    snprintf(text, sizeof text, "group:%s/%s", req->params[0], req->params[1]);
    cw_ref ref;
    cw_diag d = {{0}};
    if (cw_ref_parse(text, NULL, NULL, &ref, &d) != CW_OK) {
        cw_resp_problem(resp, 400, "path: %s", d.msg);
        return;
    }
    json_t *arr = NULL, *out = NULL, *findings = NULL;
    json_t **items = NULL;
    size_t n = 0;
    if (!catalog_snapshot(app, resp, &arr, &items, &n, &findings))
        return;
    json_t *hb_merged = NULL;
    if (!cw_api_with_heartbeat_findings(app, items, n, findings, &hb_merged, resp)) {
        free(items);
        json_decref(arr);
        json_decref(findings);
        return;
    }
    json_decref(findings);
    findings = hb_merged;
    cw_ownership_opts opts = ownership_opts(app);
    json_t *merged = NULL, *actions = NULL;
    if (!with_incident_findings(app, resp, items, n, findings, &merged))
        goto out;
    cw_err err = cw_team_report(items, n, text, &opts, merged, &out, &d);
    /* the action items the team owes, overdue first */
    if (!err && (err = cw_postmortem_team_actions(items, n, text, cw_now_ms(), &actions, &d)) == CW_OK &&
        json_object_set_new(out, "actionItems", actions))
        err = cw_fail(&d, CW_ERR_NOMEM, "out of memory building the team report");
    if (err == CW_ERR_INVALID) /* the group exists but is no team */
        cw_resp_problem(resp, 404, "%s", d.msg);
    else if (err)
        cw_resp_error(resp, err, &d);
    else
        cw_resp_json(resp, 200, json_incref(out));
out:
    json_decref(out);
    json_decref(merged);
    free(items);
    json_decref(arr);
    json_decref(findings);
}

static const char *or_empty(const char *s) { return s ? s : ""; }

/* The DORA answer's headline figures for one row of a comparison. */
static json_t *dora_summary(const json_t *dora)
{
    static const char *const keep[] = {"deployments",      "deploymentFrequencyPerDay",
                                       "leadTimeSeconds",  "changeFailureRate",
                                       "failedDeployments", "timeToRestoreSeconds",
                                       "openIncidents",    "level"};
    json_t *o = json_object();
    for (size_t i = 0; o && i < sizeof keep / sizeof *keep; i++) {
        json_t *v = json_object_get(dora, keep[i]);
        if (v && json_object_set(o, keep[i], v)) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* One group of a comparison: its ref, title, type, rolled-up DORA and the
 * findings about it and its descendants. NULL after queueing the error. */
static json_t *comparison_row(cw_app *app, cw_resp *resp, json_t *const *items, size_t n,
                              const json_t *findings, const json_t *g, const cw_dora_params *p)
{
    cw_ref r;
    cw_diag d = {{0}};
    char ref[CW_REF_MAX];
    json_t *row = NULL, *dora = NULL, *keys = NULL, *mine = NULL;
    if (cw_entity_ref(g, &r, &d)) {
        cw_resp_error(resp, CW_ERR_INVALID, &d);
        return NULL;
    }
    cw_ref_format(&r, ref);
    cw_scope sc = {.kind = CW_SCOPE_GROUP};
    cw_ref_key(&r, sc.key);
    if (!cw_api_dora_json(app, resp, &sc, p, &dora))
        return NULL;
    cw_ownership_filter f = {.team = ref};
    cw_err err = cw_group_descendants(items, n, ref, &keys, &d);
    f.team_keys = keys;
    if (!err)
        err = cw_ownership_filter_findings(findings, &f, &mine, &d);
    const json_t *md = json_object_get(g, "metadata"), *spec = json_object_get(g, "spec");
    const json_t *title = json_object_get(md, "title");
    size_t errors = 0, i;
    json_t *v;
    json_array_foreach(mine, i, v)
        errors += !strcmp(or_empty(json_string_value(json_object_get(v, "severity"))), "error");
    if (!err) {
        row = json_pack("{s:s, s:O?, s:O?, s:o, s:I, s:I, s:I}", "entityRef", ref, "title",
                        title, "type", json_object_get(spec, "type"), "dora", dora_summary(dora),
                        "groups", (json_int_t)json_object_size(keys), "findings",
                        (json_int_t)json_array_size(mine), "findingErrors", (json_int_t)errors);
        if (!row)
            err = cw_fail(&d, CW_ERR_NOMEM, "out of memory building the comparison");
    }
    if (err)
        cw_resp_error(resp, err, &d);
    json_decref(dora);
    json_decref(keys);
    json_decref(mine);
    return row;
}

/* GET /api/v1/teams/{namespace}/{name}/comparison: the group's child groups
 * side by side, each rated on itself and its descendants, and the group's
 * own roll-up as "group". */
static void get_team_comparison(cw_app *app, cw_req *req, cw_resp *resp)
{
    char text[CW_REF_MAX * 2];
    snprintf(text, sizeof text, "group:%s/%s", req->params[0], req->params[1]);
    cw_ref ref;
    cw_diag d = {{0}};
    cw_dora_params p;
    if (cw_ref_parse(text, NULL, NULL, &ref, &d) != CW_OK) {
        cw_resp_problem(resp, 400, "path: %s", d.msg);
        return;
    }
    if (!cw_api_dora_params(app, req, resp, &p))
        return;
    json_t *arr = NULL, *findings = NULL, *children = NULL, *list = NULL, *body = NULL;
    json_t *self = NULL, *hb = NULL, *merged = NULL;
    json_t **items = NULL;
    size_t n = 0;
    if (!catalog_snapshot(app, resp, &arr, &items, &n, &findings))
        return;
    if (!cw_api_with_heartbeat_findings(app, items, n, findings, &hb, resp) ||
        !with_incident_findings(app, resp, items, n, hb, &merged))
        goto out;
    cw_err err = cw_group_children(items, n, text, &children, &d);
    if (err) {
        if (err == CW_ERR_NOT_FOUND)
            cw_resp_problem(resp, 404, "no Group %s in the catalog", text);
        else
            cw_resp_error(resp, err, &d);
        goto out;
    }
    const json_t *parent = NULL;
    char key[CW_REF_MAX], k[CW_REF_MAX];
    cw_ref_key(&ref, key);
    for (size_t i = 0; i < n && !parent; i++) {
        cw_ref er;
        if (!strcasecmp(or_empty(json_string_value(json_object_get(items[i], "kind"))), "Group") &&
            cw_entity_ref(items[i], &er, NULL) == CW_OK) {
            cw_ref_key(&er, k);
            if (!strcmp(k, key))
                parent = items[i];
        }
    }
    if (!parent || !(self = comparison_row(app, resp, items, n, merged, parent, &p)))
        goto out;
    list = json_array();
    size_t i;
    json_t *g;
    json_array_foreach(children, i, g) {
        json_t *row = comparison_row(app, resp, items, n, merged, g, &p);
        if (!row)
            goto out;
        if (json_array_append_new(list, row)) {
            cw_resp_problem(resp, 500, "out of memory building the comparison");
            goto out;
        }
    }
    char from[32], to[32];
    cw_time_format_compact(p.from_ms, from);
    cw_time_format_compact(p.to_ms, to);
    body = json_pack("{s:O, s:s, s:s, s:O, s:I, s:n}", "group", self, "from", from, "to", to,
                     "items", list, "totalItems", (json_int_t)json_array_size(list), "nextCursor");
    if (!body)
        cw_resp_problem(resp, 500, "out of memory building the comparison");
    else
        cw_resp_json(resp, 200, json_incref(body));
out:
    json_decref(body);
    json_decref(self);
    json_decref(list);
    json_decref(children);
    json_decref(merged);
    json_decref(hb);
    free(items);
    json_decref(arr);
    json_decref(findings);
}

/* ---- RACI --------------------------------------------------------------------- */

static json_t *load_one(cw_app *app, const char *kind, const char *ns, const char *name,
                        cw_err *err, cw_diag *d)
{
    json_t *e = NULL;
    *err = cw_store_entity_load(app->store, kind, ns, name, &e, d);
    return e;
}

static const char *ns_of(const json_t *e)
{
    const char *ns = json_string_value(json_object_get(json_object_get(e, "metadata"), "namespace"));
    return ns && *ns ? ns : CW_DEFAULT_NAMESPACE;
}

static void get_raci(cw_app *app, cw_req *req, cw_resp *resp)
{
    const char *kind = req->params[0];
    if (strcasecmp(kind, "component") && strcasecmp(kind, "system") &&
        strcasecmp(kind, "domain")) {
        cw_resp_problem(resp, 400,
                        "kind: RACI applies to a Component, System or Domain, not \"%.60s\"",
                        kind);
        return;
    }
    cw_diag d = {{0}};
    cw_err err;
    json_t *target = NULL, *system = NULL, *arr = NULL, *out = NULL;
    json_t **items = NULL;
    size_t n = 0;
    target = load_one(app, kind, req->params[1], req->params[2], &err, &d);
    if (err == CW_ERR_NOT_FOUND) {
        cw_resp_problem(resp, 404, "entity %s:%s/%s does not exist", kind, req->params[1],
                        req->params[2]);
        goto out;
    }
    if (err) {
        cw_resp_error(resp, err, &d);
        goto out;
    }
    /* the inheritance chain: a component's system, and that system's domain */
    const json_t *spec = json_object_get(target, "spec");
    const char *system_ref = NULL, *domain_ref = NULL;
    if (!strcasecmp(kind, "component")) {
        system_ref = json_string_value(json_object_get(spec, "system"));
        cw_ref sr;
        if (system_ref && cw_ref_parse(system_ref, "System", ns_of(target), &sr, NULL) == CW_OK &&
            !strcasecmp(sr.kind, "System")) {
            cw_diag sd = {{0}};
            cw_err serr;
            system = load_one(app, sr.kind, sr.namespace_, sr.name, &serr, &sd);
            if (serr && serr != CW_ERR_NOT_FOUND) {
                cw_resp_error(resp, serr, &sd);
                goto out;
            }
            if (system)
                domain_ref = json_string_value(json_object_get(json_object_get(system, "spec"), "domain"));
        }
    } else if (!strcasecmp(kind, "system")) {
        domain_ref = json_string_value(json_object_get(spec, "domain"));
    }
    static const char *const kinds[] = {CW_RACI_KIND};
    if (!load_kinds(app, resp, kinds, 1, &arr, &items, &n))
        goto out;
    err = cw_raci_effective(target, system_ref, domain_ref, items, n, &out, &d);
    if (err) {
        /* a system or domain ref that does not parse is the stored entity's fault */
        cw_resp_problem(resp, err == CW_ERR_INVALID ? 422 : cw_http_status_of(err), "%s",
                        d.msg);
        goto out;
    }
    cw_resp_json(resp, 200, out);
out:
    free(items);
    json_decref(arr);
    json_decref(target);
    json_decref(system);
}

/* ---- ownership findings ----------------------------------------------------------- */

/* descendants=true|false (default true); false after queueing a 400. */
static bool descendants_param(const cw_req *req, cw_resp *resp, bool *direct_only)
{
    const char *v = cw_req_query(req, "descendants");
    *direct_only = false;
    if (!v)
        return true;
    if (strcmp(v, "true") && strcmp(v, "false")) {
        cw_resp_problem(resp, 400, "query parameter 'descendants': '%.40s' is not true or false", v);
        return false;
    }
    *direct_only = !strcmp(v, "false");
    return true;
}

static void get_ownership(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_ownership_filter f = {
        .rule = cw_req_query(req, "rule"),
        .severity = cw_req_query(req, "severity"),
        .team = cw_req_query(req, "team"),
    };
    cw_diag d = {{0}};
    json_t *arr = NULL, *all = NULL, *kept = NULL, *team_keys = NULL;
    json_t **items = NULL;
    size_t n = 0;
    bool direct_only = false;
    cw_api_page pg;
    if (!descendants_param(req, resp, &direct_only) ||
        !cw_api_page_params(req, resp, REPORT_PAGE_MAX, REPORT_PAGE_MAX, &pg))
        return;
    /* bad filters answer 400 before the catalog is read */
    json_t *empty = json_array();
    cw_err err = cw_ownership_filter_findings(empty, &f, &kept, &d);
    json_decref(empty);
    json_decref(kept);
    kept = NULL;
    cw_ref tr;
    if (!err && f.team &&
        (cw_ref_parse(f.team, "Group", NULL, &tr, NULL) || strcasecmp(tr.kind, "Group")))
        err = cw_fail(&d, CW_ERR_INVALID,
                      "team: \"%.200s\" is not a Group reference (e.g. team-payments or "
                      "group:default/team-payments)",
                      f.team);
    if (err) {
        cw_resp_problem(resp, err == CW_ERR_INVALID ? 400 : cw_http_status_of(err), "%s", d.msg);
        return;
    }
    if (!catalog_snapshot(app, resp, &arr, &items, &n, &all))
        return;
    json_t *hb_merged = NULL;
    if (!cw_api_with_heartbeat_findings(app, items, n, all, &hb_merged, resp))
        goto out;
    json_decref(all);
    all = hb_merged;
    cw_ownership_opts opts = ownership_opts(app);
    /* incident and postmortem findings depend on the time and the
     * incidents, so they are computed afresh (no cache) */
    json_t *merged = NULL;
    if (!with_incident_findings(app, resp, items, n, all, &merged))
        goto out;
    json_decref(all);
    all = merged;
    /* a team's findings cover its descendant groups unless descendants=false */
    if (f.team && !direct_only &&
        (err = cw_group_descendants(items, n, f.team, &team_keys, &d)) != CW_OK) {
        cw_resp_error(resp, err, &d);
        goto out;
    }
    f.team_keys = team_keys;
    err = cw_ownership_filter_findings(all, &f, &kept, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        goto out;
    }
    json_t *body = NULL;
    err = cw_ownership_report(kept, opts.max_components_per_team, n, &body, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        goto out;
    }
    cw_postmortem_opts po = postmortem_opts(app);
    const char *sev = cw_severity_name(po.threshold != CW_SEV_UNKNOWN ? po.threshold
                                                                     : CW_SEV_DEFAULT_THRESHOLD);
    if (json_object_set_new(body, "postmortemSeverity", json_string(sev)) ||
        json_object_set_new(body, "postmortemDays",
                            json_integer(po.days >= 0 ? po.days : CW_POSTMORTEM_DEFAULT_DAYS))) {
        json_decref(body);
        cw_resp_problem(resp, 500, "out of memory rendering findings");
        goto out;
    }
    if (cw_api_page_body(body, "findings", &pg)) { /* the summary counts them all */
        json_decref(body);
        cw_resp_problem(resp, 500, "out of memory rendering findings");
        goto out;
    }
    /* grows with the catalog: written as the client reads, from findings
     * shared with the cache (bounded.h) */
    cw_resp_json_stream(req, resp, 200, body);
out:
    free(items);
    json_decref(arr);
    json_decref(all);
    json_decref(kept);
    json_decref(team_keys);
}

/* ---- CODEOWNERS ------------------------------------------------------------------ */

static void post_codeowners(cw_app *app, cw_req *req, cw_resp *resp)
{
    const char *component = cw_req_query(req, "component");
    if (!component || !*component) {
        cw_resp_problem(resp, 400,
                        "query parameter 'component': required, the catalog entity whose "
                        "repository the CODEOWNERS file belongs to (e.g. component:default/pay-api)");
        return;
    }
    cw_ref ref;
    cw_diag d = {{0}};
    if (cw_ref_parse(component, "Component", NULL, &ref, &d) != CW_OK) {
        cw_resp_problem(resp, 400, "query parameter 'component': %s", d.msg);
        return;
    }
    if (strcasecmp(ref.kind, "Component")) {
        cw_resp_problem(resp, 400, "query parameter 'component': \"%.200s\" is not a Component",
                        component);
        return;
    }
    if (memchr(req->body, '\0', req->body_len)) {
        cw_resp_problem(resp, 400, "request body: contains a NUL byte; expected CODEOWNERS text");
        return;
    }
    cw_err err;
    cw_codeowners *co = NULL;
    json_t *report = NULL, *refs = NULL, *detail = NULL;
    json_t *entity = load_one(app, ref.kind, ref.namespace_, ref.name, &err, &d);
    char text[CW_REF_MAX];
    cw_ref_format(&ref, text);
    if (err == CW_ERR_NOT_FOUND) {
        cw_resp_problem(resp, 404, "query parameter 'component': %s does not exist", text);
        goto out;
    }
    if (err) {
        cw_resp_error(resp, err, &d);
        goto out;
    }
    err = cw_api_check_team_entity(app, req, entity, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        goto out;
    }
    err = cw_codeowners_parse(req->body, req->body_len, &co, &d);
    if (!err)
        err = cw_codeowners_report(co, entity, &report, &d);
    if (err) {
        cw_resp_problem(resp, cw_http_status_of(err), "request body: %s", d.msg);
        goto out;
    }
    refs = json_pack("[s]", text);
    detail = json_pack("{s:I, s:I}", "findings",
                       (json_int_t)json_array_size(json_object_get(report, "findings")), "rules",
                       (json_int_t)co->nrules);
    cw_api_audit_detail(app, req, "codeowners.check", refs, detail);
    cw_resp_json(resp, 200, report);
    report = NULL;
out:
    cw_codeowners_free(co);
    json_decref(report);
    json_decref(refs);
    json_decref(detail);
    json_decref(entity);
}

/* ---- audit --------------------------------------------------------------------- */

#define AUDIT_DEFAULT_LIMIT 100

/* Cursor: base64url("a1:" + id of the last record shown). Opaque to clients. */
static bool parse_audit_cursor(const char *cursor, int64_t *id)
{
    size_t len = 0;
    unsigned char *raw = cw_base64url_decode(cursor, &len);
    bool ok = raw && len > 3 && len < 24 && !memcmp(raw, "a1:", 3);
    if (ok) {
        char *end = NULL;
        long long v = strtoll((const char *)raw + 3, &end, 10);
        ok = end == (const char *)raw + len && v > 0 && raw[3] >= '0' && raw[3] <= '9';
        if (ok)
            *id = (int64_t)v;
    }
    free(raw);
    return ok;
}

static bool time_param(const cw_req *req, cw_resp *resp, const char *key, int64_t *out)
{
    const char *v = cw_req_query(req, key);
    if (!v)
        return true;
    if (!cw_time_parse_rfc3339(v, out)) {
        cw_resp_problem(resp, 400,
                        "query parameter '%s': '%.60s' is not an RFC 3339 date-time "
                        "(e.g. 2026-03-01T00:00:00Z)",
                        key, v);
        return false;
    }
    return true;
}

static json_t *record_json(const cw_audit_record *r)
{
    char when[32];
    cw_time_format_ms(r->at_ms, when);
    json_t *refs = json_loads(r->refs_json, 0, NULL);
    json_t *o = json_pack("{s:I, s:s, s:s, s:o, s:o, s:s, s:o, s:o}", "id", (json_int_t)r->id,
                          "time", when, "actor", r->actor, "tokenId",
                          r->token_id ? json_integer(r->token_id) : json_null(), "tokenName",
                          r->token_name[0] ? json_string(r->token_name) : json_null(), "action",
                          r->action, "entityRefs", refs ? refs : json_array(), "requestId",
                          r->request_id[0] ? json_string(r->request_id) : json_null());
    if (o && r->detail_json) {
        json_t *detail = json_loads(r->detail_json, 0, NULL);
        if (detail)
            json_object_set_new(o, "detail", detail);
    }
    return o;
}

static void get_audit(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_audit_query q;
    cw_audit_query_init(&q);
    uint64_t limit, token_id;
    if (!cw_req_query_uint(req, resp, "limit", AUDIT_DEFAULT_LIMIT, 1, CW_AUDIT_PAGE_MAX, &limit) ||
        !cw_req_query_uint(req, resp, "tokenId", 0, 1, INT64_MAX, &token_id) ||
        !time_param(req, resp, "from", &q.from_ms) || !time_param(req, resp, "to", &q.to_ms))
        return;
    q.limit = (size_t)limit;
    q.token_id = (int64_t)token_id;
    q.action = cw_req_query(req, "action");
    if (q.action && !*q.action) {
        cw_resp_problem(resp, 400, "query parameter 'action': must not be empty");
        return;
    }
    const char *eref = cw_req_query(req, "entityRef");
    char key[CW_REF_MAX];
    if (eref) {
        cw_ref r;
        cw_diag rd = {{0}};
        if (cw_ref_parse(eref, NULL, NULL, &r, &rd) != CW_OK) {
            cw_resp_problem(resp, 400,
                            "query parameter 'entityRef': %s (give kind:namespace/name, e.g. "
                            "component:default/pay-api)",
                            rd.msg);
            return;
        }
        cw_ref_key(&r, key);
        q.entity_ref = key;
    }
    const char *cursor = cw_req_query(req, "cursor");
    if (cursor && !parse_audit_cursor(cursor, &q.before_id)) {
        cw_resp_problem(resp, 400, "query parameter 'cursor': not a cursor issued by this server");
        return;
    }
    /* Read in chunks until the page has `limit` records or passes its byte
     * budget (bounded.h): a record may hold thousands of refs. */
    cw_diag d = {{0}};
    cw_buf out;
    cw_buf_init(&out, 0);
    size_t shown = 0;
    bool more = false;
    int64_t last_id = 0;
    cw_err err = cw_buf_puts(&out, "{\"items\":[");
    while (!err) {
        cw_audit_page page;
        q.limit = cw_page_chunk((size_t)limit - shown, shown, out.len);
        if ((err = cw_store_audit_query(app->store, &q, &page, &d))) {
            cw_resp_error(resp, err, &d);
            cw_buf_free(&out);
            return;
        }
        size_t i = 0;
        for (; i < page.len && !err && !cw_page_full(out.len); i++, shown++) {
            json_t *rec = record_json(&page.items[i]);
            char *text = rec ? json_dumps(rec, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
            json_decref(rec);
            if (!text)
                err = CW_ERR_NOMEM;
            if (!err && shown)
                err = cw_buf_putc(&out, ',');
            if (!err)
                err = cw_buf_puts(&out, text);
            free(text);
        }
        if (i)
            last_id = page.items[i - 1].id;
        more = i < page.len || page.more;
        cw_audit_page_free(&page);
        if (!more || shown == limit || cw_page_full(out.len))
            break;
        q.before_id = last_id;
    }
    if (!err)
        err = cw_buf_puts(&out, "],\"nextCursor\":");
    if (!err && more && last_id) {
        char tmp[32];
        int nn = snprintf(tmp, sizeof tmp, "a1:%" PRId64, last_id);
        char *enc = cw_base64url_encode(tmp, (size_t)nn);
        err = enc ? cw_buf_json_str(&out, enc) : CW_ERR_NOMEM;
        free(enc);
    } else if (!err) {
        err = cw_buf_puts(&out, "null");
    }
    if (!err)
        err = cw_buf_putc(&out, '}');
    if (err)
        cw_resp_problem(resp, 500, "out of memory rendering the audit log");
    else
        cw_resp_json_text(resp, 200, cw_buf_cstr(&out), out.len);
    cw_buf_free(&out);
}

/* ---- routes -------------------------------------------------------------------- */

static const char *const no_params[] = {NULL};
static const char *const ownership_params[] = {"rule",        "severity", "team",
                                               "descendants", "limit",    "cursor", NULL};
static const char *const codeowners_params[] = {"component", NULL};
static const char *const comparison_params[] = {"from", "to", "failureWindowHours", NULL};
static const char *const audit_params[] = {"action", "tokenId", "entityRef", "from",
                                           "to",     "limit",   "cursor",    NULL};

const cw_route cw_routes_responsibilities[] = {
    {"GET", "/api/v1/teams/{namespace}/{name}", get_team, CW_AUTH_READ, no_params},
    {"GET", "/api/v1/teams/{namespace}/{name}/comparison", get_team_comparison, CW_AUTH_READ,
     comparison_params},
    {"GET", "/api/v1/raci/{kind}/{namespace}/{name}", get_raci, CW_AUTH_READ, no_params},
    {"GET", "/api/v1/insights/ownership", get_ownership, CW_AUTH_READ, ownership_params},
    {"POST", "/api/v1/codeowners", post_codeowners, CW_AUTH_WRITE, codeowners_params},
    {"GET", "/api/v1/audit", get_audit, CW_AUTH_ADMIN, audit_params},
    {NULL, NULL, NULL, 0, NULL},
};
