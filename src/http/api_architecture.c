/*
 * api_architecture.c — the architecture feedback of issue 12: the findings
 * (GET /api/v1/insights/architecture), the dependency graph of a scope
 * as JSON, Graphviz DOT or SVG drawn here (GET /api/v1/graph), and the
 * daily counts of every finding (GET /api/v1/insights/history, from the
 * snapshots http/snapshot.c takes into the store). The first two read
 * the shared catalog snapshot of the reports (api_responsibilities.c) and
 * the release trains of the last 30 days (cached for a minute: the
 * deployments they come from change slowly and reading them costs a scan
 * of the events), then compute with insights/graph.h and architecture.h.
 * The graph is kept while the catalog snapshot is the same (the scan cache
 * hands out the same array until something changes): building it is two
 * thirds of the work.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "http/api_common.h"
#include "http/findings.h"
#include "http/graph_svg.h"
#include "http/http_int.h"
#include "insights/architecture.h"
#include "insights/graph.h"
#include "insights/ownership.h"
#include "insights/postmortem.h"
#include "store/store_history.h"
#include "util/timeutil.h"

#define TRAINS_TTL_MS 60000

static struct {
    pthread_mutex_t mu;
    int64_t at_ms;
    json_t *trains;
} trains_cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The release trains (a new reference), or NULL after queueing the error. */
static json_t *trains_of(cw_app *app, cw_resp *resp)
{
    int64_t now = cw_now_ms();
    json_t *t = NULL;
    cw_diag d = {{0}};
    cw_err err = CW_OK;
    pthread_mutex_lock(&trains_cache.mu);
    if (!trains_cache.trains || now - trains_cache.at_ms > TRAINS_TTL_MS ||
        now < trains_cache.at_ms) {
        json_t *fresh = NULL;
        err = cw_trains_load(app->store, app->cfg.production_env, now, &fresh, &d);
        if (!err) {
            json_decref(trains_cache.trains);
            trains_cache.trains = fresh;
            trains_cache.at_ms = now;
        }
    }
    if (!err)
        t = json_incref(trains_cache.trains);
    pthread_mutex_unlock(&trains_cache.mu);
    if (err)
        cw_resp_error(resp, err, &d);
    return t;
}

/* A graph shared by requests, counted: freed by the last one to let go. */
typedef struct {
    cw_graph *g;
    json_t *arr;     /* the catalog snapshot it was built from (a reference) */
    unsigned refs;
} shared_graph;

static struct {
    pthread_mutex_t mu;
    shared_graph *cur;
} graph_cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void graph_release(shared_graph *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&graph_cache.mu);
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&graph_cache.mu);
    if (last) {
        cw_graph_free(s->g);
        json_decref(s->arr);
        free(s);
    }
}

/* The graph of the snapshot arr (items, n), from the cache or built. */
static shared_graph *graph_of(json_t *arr, json_t *const *items, size_t n, cw_diag *d,
                              cw_err *err)
{
    pthread_mutex_lock(&graph_cache.mu);
    shared_graph *s = graph_cache.cur;
    if (s && s->arr == arr) /* the cache holds arr: its address is not reused */
        s->refs++;
    else
        s = NULL;
    pthread_mutex_unlock(&graph_cache.mu);
    if (s)
        return s;
    s = calloc(1, sizeof *s);
    if (!s) {
        *err = cw_fail(d, CW_ERR_NOMEM, "out of memory building the dependency graph");
        return NULL;
    }
    *err = cw_graph_build(items, n, &s->g, d);
    if (*err) {
        free(s);
        return NULL;
    }
    s->arr = json_incref(arr);
    s->refs = 2; /* the cache's and the caller's */
    pthread_mutex_lock(&graph_cache.mu);
    shared_graph *old = graph_cache.cur;
    graph_cache.cur = s;
    pthread_mutex_unlock(&graph_cache.mu);
    graph_release(old);
    return s;
}

/* What both routes compute; owned by the caller (compute_free). */
typedef struct {
    json_t *arr;
    json_t **items;
    size_t n;
    shared_graph *shared;
    const cw_graph *g;
    json_t *result;
} computed;

static void compute_free(computed *c)
{
    graph_release(c->shared);
    json_decref(c->result);
    free(c->items);
    json_decref(c->arr);
    memset(c, 0, sizeof *c);
}

static bool compute(cw_app *app, cw_resp *resp, computed *c)
{
    memset(c, 0, sizeof *c);
    if (!cw_api_catalog(app, resp, &c->arr, &c->items, &c->n, NULL))
        return false;
    json_t *trains = trains_of(app, resp);
    if (!trains) {
        compute_free(c);
        return false;
    }
    cw_diag d = {{0}};
    cw_err err = CW_OK;
    cw_arch_train *tv = NULL;
    size_t nt = 0;
    c->shared = graph_of(c->arr, c->items, c->n, &d, &err);
    if (!err)
        err = cw_trains_view(trains, &tv, &nt, &d);
    if (!err) {
        c->g = c->shared->g;
        err = cw_arch_check(c->g, c->items, c->n, tv, nt, &app->cfg.arch, &c->result, &d);
    }
    free(tv);
    json_decref(trains);
    if (err) {
        cw_resp_error(resp, err, &d);
        compute_free(c);
        return false;
    }
    return true;
}

/* ---- findings ------------------------------------------------------------------------ */

/* Checks the filter parameters before any work; false after queueing a 400. */
static bool filter_ok(cw_resp *resp, const cw_arch_filter *f)
{
    cw_diag d = {{0}};
    json_t *empty = json_array(), *kept = NULL;
    cw_err err = empty ? cw_arch_filter_findings(empty, f, &kept, &d)
                       : cw_fail(&d, CW_ERR_NOMEM, "out of memory");
    json_decref(empty);
    json_decref(kept);
    if (err) {
        cw_resp_problem(resp, err == CW_ERR_INVALID ? 400 : cw_http_status_of(err), "%s", d.msg);
        return false;
    }
    return true;
}

static void get_architecture(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_arch_filter f = {
        .rule = cw_req_query(req, "rule"),
        .severity = cw_req_query(req, "severity"),
        .team = cw_req_query(req, "team"),
    };
    cw_api_page pg;
    if (!filter_ok(resp, &f) || !cw_api_page_params(req, resp, REPORT_PAGE_MAX, REPORT_PAGE_MAX, &pg))
        return;
    computed c;
    if (!compute(app, resp, &c))
        return;
    cw_diag d = {{0}};
    json_t *kept = NULL, *body = NULL;
    cw_err err = cw_arch_filter_findings(json_object_get(c.result, "findings"), &f, &kept, &d);
    if (!err)
        err = cw_arch_report(c.result, kept, &app->cfg.arch, &body, &d);
    if (err)
        cw_resp_error(resp, err, &d);
    else
        cw_api_page_reply(resp, body, "findings", &pg); /* the summary counts them all */
    json_decref(kept);
    compute_free(&c);
}

/* ---- the graph ------------------------------------------------------------------------- */

enum { FMT_JSON, FMT_DOT, FMT_SVG };

/* Whether ref (a finding's) is a marked node or the scope itself. */
static bool touches(const cw_graph *g, const uint8_t *mark, const char *scope_key, const char *ref)
{
    char key[CW_REF_MAX];
    if (!ref || !cw_ref_text_to_key(ref, key))
        return false;
    if (scope_key && strcmp(key, scope_key) == 0)
        return true;
    long v = cw_graph_find(g, key);
    return v >= 0 && mark[v];
}

/* The findings that name a node of the subgraph or the scope. */
static json_t *findings_in(const cw_graph *g, const uint8_t *mark, const char *scope_key,
                           const json_t *findings)
{
    json_t *out = json_array();
    size_t i;
    const json_t *f;
    json_array_foreach(findings, i, f) {
        bool in = touches(g, mark, scope_key, json_string_value(json_object_get(f, "entityRef")));
        const char *lists[] = {"entities", "teams"};
        for (size_t l = 0; l < 2 && !in; l++) {
            size_t j;
            const json_t *v;
            json_array_foreach(json_object_get(f, lists[l]), j, v) {
                /* a team is "in" only when it is the scope */
                const char *ref = json_string_value(v);
                char key[CW_REF_MAX];
                if (l == 1 ? (scope_key && ref && cw_ref_text_to_key(ref, key) &&
                              strcmp(key, scope_key) == 0)
                           : touches(g, mark, scope_key, ref)) {
                    in = true;
                    break;
                }
            }
        }
        if (in && out && json_array_append(out, (json_t *)f)) {
            json_decref(out);
            out = NULL;
        }
    }
    return out;
}

static void get_graph(cw_app *app, cw_req *req, cw_resp *resp)
{
    const char *scope = cw_req_query(req, "scope");
    const char *format = cw_req_query(req, "format");
    uint64_t depth;
    char scope_key[CW_REF_MAX] = "", scope_ref[CW_REF_MAX] = "org";
    int fmt = FMT_JSON;
    if (!cw_req_query_uint(req, resp, "depth", 1, 0, CW_GRAPH_MAX_DEPTH, &depth))
        return;
    if (format && !strcmp(format, "dot"))
        fmt = FMT_DOT;
    else if (format && !strcmp(format, "svg"))
        fmt = FMT_SVG;
    else if (format && strcmp(format, "json") != 0) {
        cw_resp_problem(resp, 400, "query parameter 'format': must be json, dot or svg");
        return;
    }
    if (scope && strcmp(scope, "org") != 0) {
        cw_ref r;
        cw_diag pd = {{0}};
        if (!*scope || cw_ref_parse(scope, "Component", CW_DEFAULT_NAMESPACE, &r, &pd) != CW_OK) {
            cw_resp_problem(resp, 400, "query parameter 'scope': %s",
                            *scope ? pd.msg : "must be \"org\" or an entity reference");
            return;
        }
        cw_ref_key(&r, scope_key);
        cw_ref_format(&r, scope_ref);
    }
    computed c;
    if (!compute(app, resp, &c))
        return;
    cw_diag d = {{0}};
    cw_graph_marks marks = {0};
    json_t *body = NULL, *found = NULL;
    cw_buf dot;
    cw_buf_init(&dot, 64u << 20);
    uint8_t *mark = malloc(c.g->nnodes ? c.g->nnodes : 1);
    size_t count = 0;
    cw_err err = mark ? CW_OK : cw_fail(&d, CW_ERR_NOMEM, "out of memory scoping the graph");
    if (!err)
        err = cw_graph_scope(c.g, scope_key[0] ? scope_key : NULL, (unsigned)depth, mark, &count,
                             &d);
    if (err == CW_ERR_NOT_FOUND) {
        cw_resp_problem(resp, 404, "query parameter 'scope': %s names nothing in the dependency "
                        "graph (a Component, API or Resource, a System, Domain, or the owner "
                        "of one)", scope_ref);
        goto out;
    }
    if (!err && fmt == FMT_SVG && count > CW_GRAPH_SVG_MAX_NODES) {
        cw_resp_problem(resp, 413, "the graph of %s at depth %u has %zu nodes, more than the %d "
                        "that are drawn; narrow the scope or the depth, or ask for format=json "
                        "or format=dot", scope_ref, (unsigned)depth, count, CW_GRAPH_SVG_MAX_NODES);
        goto out;
    }
    if (!err)
        err = cw_arch_marks(c.g, json_object_get(c.result, "findings"), &marks, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        goto out;
    }
    if (fmt == FMT_JSON) {
        err = cw_graph_to_json(c.g, mark, &marks, &body, &d);
        found = err ? NULL : findings_in(c.g, mark, scope_key[0] ? scope_key : NULL,
                                         json_object_get(c.result, "findings"));
        if (!err && (!found || json_object_set_new(body, "findings", found) ||
                     json_object_set_new(body, "scope", json_string(scope_ref)) ||
                     json_object_set_new(body, "depth", json_integer((json_int_t)depth))))
            err = cw_fail(&d, CW_ERR_NOMEM, "out of memory rendering the graph");
        if (err) {
            json_decref(body);
            cw_resp_error(resp, err, &d);
        } else {
            cw_resp_json(resp, 200, body);
        }
        goto out;
    }
    err = cw_graph_to_dot(c.g, mark, &marks, &dot, &d);
    if (!err && fmt == FMT_DOT) {
        resp->status = 200;
        resp->content_type = "text/vnd.graphviz; charset=utf-8";
        cw_buf_reset(&resp->body);
        err = cw_buf_append(&resp->body, dot.data, dot.len);
        if (err)
            err = cw_fail(&d, err, "out of memory answering");
    } else if (!err) {
        const char *engine = cw_graph_svg_engine(cw_graph_layered_cost(c.g, mark));
        cw_buf_reset(&resp->body);
        err = cw_graph_svg(cw_buf_cstr(&dot), engine, &resp->body, &d);
        if (!err) {
            resp->status = 200;
            resp->content_type = "image/svg+xml";
            cw_resp_header(resp, "X-Graph-Layout", engine);
        }
    }
    if (err) {
        cw_buf_reset(&resp->body);
        if (err == CW_ERR_UNSUPPORTED)
            cw_resp_problem(resp, 501, "%s", d.msg);
        else
            cw_resp_error(resp, err, &d);
    }
out:
    cw_arch_marks_free(&marks);
    cw_buf_free(&dot);
    free(mark);
    compute_free(&c);
}

/* ---- history --------------------------------------------------------------------------- */

#define HISTORY_DEFAULT_DAYS 90

/* A YYYY-MM-DD parameter; false after queueing a 400. */
static bool day_param(const cw_req *req, cw_resp *resp, const char *key, int64_t def,
                      int64_t *out)
{
    const char *v = cw_req_query(req, key);
    *out = def;
    if (!v)
        return true;
    if (!cw_day_parse(v, out)) {
        cw_resp_problem(resp, 400, "query parameter '%s': '%.40s' is not a date (YYYY-MM-DD)",
                        key, v);
        return false;
    }
    return true;
}

static bool known_rule(const char *rule)
{
    if (cw_arch_rule_index(rule) >= 0)
        return true;
    for (size_t i = 0; i < CW_OWNERSHIP_NRULES; i++)
        if (!strcmp(rule, cw_ownership_rules[i]))
            return true;
    for (size_t i = 0; i < CW_POSTMORTEM_NRULES; i++)
        if (!strcmp(rule, cw_postmortem_rules[i]))
            return true;
    return false;
}

/* {"error", "warning", "silenced", "total", "byRule": {rule: {severity: n}}}
 * of one day, for the rows [from, to) of h. */
static json_t *day_json(const cw_history *h, int64_t day, size_t *row)
{
    char text[16];
    cw_day_format(day, text);
    json_int_t sev[3] = {0, 0, 0};
    json_t *by_rule = json_object();
    for (; by_rule && *row < h->nrows && h->rows[*row].day == day; (*row)++) {
        const cw_history_row *r = &h->rows[*row];
        int k = !strcmp(r->severity, "error") ? 0 : !strcmp(r->severity, "warning") ? 1 : 2;
        sev[k] += r->count;
        json_t *rule = json_object_get(by_rule, r->rule);
        if (!rule && json_object_set_new(by_rule, r->rule, rule = json_object())) {
            json_decref(by_rule);
            return NULL;
        }
        if (!rule || json_object_set_new(rule, r->severity, json_integer(r->count))) {
            json_decref(by_rule);
            return NULL;
        }
    }
    return by_rule ? json_pack("{s:s, s:I, s:I, s:I, s:I, s:o}", "day", text, "error", sev[0],
                               "warning", sev[1], "silenced", sev[2], "total", sev[0] + sev[1],
                               "byRule", by_rule)
                   : NULL;
}

static void get_history(cw_app *app, cw_req *req, cw_resp *resp)
{
    const char *rule = cw_req_query(req, "rule");
    const char *scope = cw_req_query(req, "scope");
    char scope_key[CW_REF_MAX] = "org";
    int64_t today = cw_day_of_ms(cw_now_ms()), from, to;
    if (rule && !known_rule(rule)) {
        cw_resp_problem(resp, 400, "query parameter 'rule': '%.64s' is no ownership, "
                        "postmortem or architecture rule", rule);
        return;
    }
    if (scope && strcmp(scope, "org") != 0) {
        cw_ref r;
        cw_diag pd = {{0}};
        if (!*scope || cw_ref_parse(scope, "Group", CW_DEFAULT_NAMESPACE, &r, &pd) != CW_OK) {
            cw_resp_problem(resp, 400, "query parameter 'scope': %s",
                            *scope ? pd.msg : "must be \"org\" or a team reference");
            return;
        }
        cw_ref_key(&r, scope_key);
    }
    if (!day_param(req, resp, "to", today, &to) ||
        !day_param(req, resp, "from", to - (HISTORY_DEFAULT_DAYS - 1), &from))
        return;
    if (to < from) {
        cw_resp_problem(resp, 400, "query parameter 'to': must not be before 'from'");
        return;
    }
    if (to - from >= CW_HISTORY_MAX_DAYS) {
        cw_resp_problem(resp, 400, "query parameter 'from': the range from 'from' to 'to' is "
                        "longer than %d days", CW_HISTORY_MAX_DAYS);
        return;
    }
    cw_history h;
    cw_diag d = {{0}};
    cw_history_query q = {.scope = scope_key, .rule = rule, .from_day = from, .to_day = to};
    cw_err err = cw_store_history_query(app->store, &q, &h, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        return;
    }
    char ftext[16], ttext[16];
    cw_day_format(from, ftext);
    cw_day_format(to, ttext);
    json_t *days = json_array();
    size_t row = 0;
    for (size_t i = 0; days && i < h.ndays; i++) {
        while (row < h.nrows && h.rows[row].day < h.days[i])
            row++; /* counts of a day without its claim: none are stored so */
        if (json_array_append_new(days, day_json(&h, h.days[i], &row))) {
            json_decref(days);
            days = NULL;
        }
    }
    cw_history_free(&h);
    json_t *body = days ? json_pack("{s:s, s:s?, s:s, s:s, s:o}", "scope", scope_key, "rule",
                                    rule, "from", ftext, "to", ttext, "days", days)
                        : NULL;
    cw_resp_json(resp, 200, body);
}

static const char *const architecture_params[] = {"rule", "severity", "team", "limit", "cursor",
                                                  NULL};
static const char *const graph_params[] = {"scope", "depth", "format", NULL};
static const char *const history_params[] = {"rule", "scope", "from", "to", NULL};

const cw_route cw_routes_architecture[] = {
    {"GET", "/api/v1/insights/architecture", get_architecture, CW_AUTH_READ, architecture_params},
    {"GET", "/api/v1/graph", get_graph, CW_AUTH_READ, graph_params},
    {"GET", "/api/v1/insights/history", get_history, CW_AUTH_READ, history_params},
    {NULL, NULL, NULL, 0, NULL},
};
