/*
 * api_insights.c — the delivery insights under /api/v1/insights: DORA
 * metrics, undeployed work and release coupling. Each route validates its
 * parameters, streams the scope's stored rows from one snapshot
 * (cw_store_delivery_scan) into the insight's collector (insights/delivery.h,
 * which owns the rules), runs the pure computation (insights/dora.h,
 * undeployed.h, coupling.h) and answers with its JSON renderer. Production
 * environments follow --production-env. Coupling answers one page of pairs
 * (limit, cursor) at a time.
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "events/events.h"
#include "http/api_common.h"
#include "http/api_events.h"
#include "http/http_int.h"
#include "insights/coupling.h"
#include "insights/delivery.h"
#include "insights/dora.h"
#include "insights/undeployed.h"
#include "util/crypto.h"
#include "util/timeutil.h"

#define DAY_MS 86400000LL
#define DEFAULT_WINDOW_DAYS 30
#define MAX_FAILURE_WINDOW_HOURS 8760      /* a year */
#define MAX_COUPLING_WINDOW_MINUTES 10080  /* a week */
#define MAX_LIST_CAP 1000
#define COUPLING_DEFAULT_LIMIT 100
#define COUPLING_MAX_LIMIT 1000

/* The window [from, to): defaults to the 30 days up to now. */
static bool window_params(const cw_req *req, cw_resp *resp, int64_t *from, int64_t *to)
{
    bool has_from, has_to;
    if (!cw_api_time_param(req, resp, "from", from, &has_from) ||
        !cw_api_time_param(req, resp, "to", to, &has_to))
        return false;
    if (!has_to)
        *to = has_from && *from > cw_now_ms() ? *from + DEFAULT_WINDOW_DAYS * DAY_MS : cw_now_ms();
    if (!has_from)
        *from = *to - DEFAULT_WINDOW_DAYS * DAY_MS;
    if (*to <= *from) {
        cw_resp_problem(resp, 400, "query parameter 'to': must be later than 'from'");
        return false;
    }
    if ((*to - *from) / DAY_MS >= CW_DORA_MAX_DAYS) {
        cw_resp_problem(resp, 400, "query parameter 'from': the window from 'from' to 'to' is "
                        "longer than %d days", CW_DORA_MAX_DAYS);
        return false;
    }
    return true;
}

static bool production_pattern_ok(const cw_app *app, cw_resp *resp)
{
    cw_diag d = {{0}};
    if (cw_env_pattern_validate(app->cfg.production_env, &d)) {
        cw_resp_problem(resp, 500, "server configuration: --production-env: %s", d.msg);
        return false;
    }
    return true;
}

/* Loads the scope's delivery data for the window [from, to) (to <= from:
 * the whole history): the store's rows streamed into the insight's
 * collector. False after queueing the error. */
static bool load(cw_app *app, cw_resp *resp, const cw_scope *sc, unsigned what, int64_t from,
                 int64_t to, cw_delivery_data *dd)
{
    cw_delivery_query q = {.scope = sc, .production_env = app->cfg.production_env, .what = what,
                           .from_ms = from, .to_ms = to};
    cw_diag d = {{0}};
    cw_delivery_collector *c = NULL;
    memset(dd, 0, sizeof *dd);
    cw_err err = cw_delivery_collector_new(&q, &c, &d);
    if (!err)
        err = cw_store_delivery_scan(app->store, &q, cw_delivery_collector_sink(), c, &d);
    if (!err)
        err = cw_delivery_collector_finish(c, dd, &d);
    cw_delivery_collector_free(c);
    if (err) {
        cw_api_store_error(resp, err, &d, "scope");
        return false;
    }
    return true;
}

static const char *scope_text(const cw_scope *sc) { return sc->kind == CW_SCOPE_ORG ? "org" : sc->key; }

static void answer(cw_resp *resp, cw_err err, json_t *body)
{
    if (err) {
        cw_resp_problem(resp, 500, "out of memory while building the answer");
        return;
    }
    cw_resp_json(resp, 200, body);
}

bool cw_api_dora_params(cw_app *app, const cw_req *req, cw_resp *resp, cw_dora_params *p)
{
    uint64_t fwh;
    memset(p, 0, sizeof *p);
    if (!window_params(req, resp, &p->from_ms, &p->to_ms) ||
        !cw_req_query_uint(req, resp, "failureWindowHours", CW_DORA_DEFAULT_FAILURE_WINDOW_HOURS,
                           0, MAX_FAILURE_WINDOW_HOURS, &fwh) ||
        !production_pattern_ok(app, resp))
        return false;
    p->failure_window_hours = (int)fwh;
    return true;
}

bool cw_api_dora_json(cw_app *app, cw_resp *resp, const cw_scope *sc, const cw_dora_params *p,
                      json_t **out)
{
    *out = NULL;
    cw_delivery_data dd;
    if (!load(app, resp, sc, CW_DELIVERY_ALL, p->from_ms, p->to_ms, &dd))
        return false;
    cw_dora_result r;
    cw_diag d = {{0}};
    cw_err err = cw_dora_compute(&dd.in, p, &r, &d);
    cw_delivery_data_free(&dd);
    if (err) {
        cw_resp_error(resp, err, &d);
        return false;
    }
    err = cw_dora_to_json(&r, scope_text(sc), out);
    cw_dora_result_free(&r);
    if (err) {
        cw_resp_problem(resp, 500, "out of memory while building the answer");
        return false;
    }
    return true;
}

static void get_dora(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_scope sc;
    cw_dora_params p;
    json_t *body = NULL;
    if (!cw_api_scope_param(req, resp, "scope", &sc) || !cw_api_dora_params(app, req, resp, &p) ||
        !cw_api_dora_json(app, resp, &sc, &p, &body))
        return;
    cw_resp_json(resp, 200, body);
}

/* Each listed component's owner (its first ownedBy target, or null): the
 * team column of the UI. dd's components are in key order: their refs
 * compared without case. */
static cw_err add_owners(json_t *body, const cw_delivery_data *dd)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(body, "components"), i, c) {
        const char *ref = json_string_value(json_object_get(c, "component"));
        size_t lo = 0, hi = dd->ncomponents;
        while (ref && lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (strcasecmp(dd->component_refs[mid], ref) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        const char *owner = ref && lo < dd->ncomponents && !strcasecmp(dd->component_refs[lo], ref)
                                ? dd->owner_refs[lo]
                                : NULL;
        if (json_object_set_new(c, "owner", owner ? json_string(owner) : json_null()))
            return CW_ERR_NOMEM;
    }
    return CW_OK;
}

static void get_undeployed(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_scope sc;
    int64_t now = cw_now_ms();
    bool has_now;
    uint64_t cap;
    cw_api_page pg;
    /* limit/cursor page the components, as every list (docs/api.md);
     * changes caps the changes listed per component */
    if (!cw_api_scope_param(req, resp, "scope", &sc) ||
        !cw_api_time_param(req, resp, "now", &now, &has_now) ||
        !cw_req_query_uint(req, resp, "changes", CW_UNDEPLOYED_DEFAULT_LIST_CAP, 1, MAX_LIST_CAP,
                           &cap) ||
        !cw_api_page_params(req, resp, REPORT_PAGE_MAX, REPORT_PAGE_MAX, &pg) ||
        !production_pattern_ok(app, resp))
        return;
    cw_delivery_data dd;
    if (!load(app, resp, &sc, CW_DELIVERY_DEPLOYMENTS | CW_DELIVERY_CHANGES, 0, 0, &dd))
        return;
    cw_undeployed_result r;
    cw_diag d = {{0}};
    cw_err err = cw_undeployed_compute(&dd.in, now, (size_t)cap, &r, &d);
    json_t *body = NULL;
    if (!err) {
        err = cw_undeployed_to_json(&r, (const char *const *)dd.component_refs, now, &body);
        cw_undeployed_free(&r);
        if (!err)
            err = add_owners(body, &dd);
        if (err) {
            json_decref(body);
            answer(resp, err, NULL);
        } else
            cw_api_page_reply(resp, body, "components", &pg); /* takes body */
    } else {
        cw_resp_error(resp, err, &d);
    }
    cw_delivery_data_free(&dd);
}

/* A number in [min, max]; false after queueing a 400. */
static bool real_param(const cw_req *req, cw_resp *resp, const char *key, double def, double min,
                       double max, double *out)
{
    const char *v = cw_req_query(req, key);
    *out = def;
    if (!v)
        return true;
    char *end = NULL;
    double x = strtod(v, &end);
    bool ok = *v && end && *end == '\0' && strlen(v) <= 32 && isfinite(x) && x >= min && x <= max &&
              ((*v >= '0' && *v <= '9') || *v == '.');
    if (!ok) {
        cw_resp_problem(resp, 400, "query parameter '%s': '%.40s' is not a number between %g and %g",
                        key, v, min, max);
        return false;
    }
    *out = x;
    return true;
}

/* ---- coupling pages ---------------------------------------------------------------- */

/*
 * The coupling cursor names the last pair shown by its place in the order:
 * base64url("c1:<flagged 0|1>:<together>:<min count>:<key a> <key b>") with
 * the components' entity keys (lower-cased refs), so that it keeps its
 * place when components come and go between pages.
 */
static char *coupling_cursor(const cw_coupling_pair *p, const char *const *refs)
{
    cw_coupling_cursor c;
    cw_coupling_cursor_of(p, &c);
    cw_buf b;
    cw_buf_init(&b, 4 * CW_REF_MAX);
    cw_err err = cw_buf_printf(&b, "c1:%d:%zu:%zu:", c.flagged ? 1 : 0, c.together, c.min_count);
    for (const char *s = refs[p->a]; *s && !err; s++)
        err = cw_buf_putc(&b, (char)tolower((unsigned char)*s));
    if (!err)
        err = cw_buf_putc(&b, ' ');
    for (const char *s = refs[p->b]; *s && !err; s++)
        err = cw_buf_putc(&b, (char)tolower((unsigned char)*s));
    char *out = err ? NULL : cw_base64url_encode(cw_buf_cstr(&b), b.len);
    cw_buf_free(&b);
    return out;
}

/* Compares a component ref with an entity key as the store orders keys
 * (bytes of the lower-cased ref). */
static int cmp_ref_key(const char *ref, const char *key)
{
    for (;; ref++, key++) {
        unsigned char r = (unsigned char)tolower((unsigned char)*ref), k = (unsigned char)*key;
        if (r != k || !r)
            return (r > k) - (r < k);
    }
}

/* The position of key among refs (sorted by key): 2i for refs[i], 2i - 1
 * between refs[i - 1] and refs[i] (coupling.h). */
static int64_t key_position(const char *key, const char *const *refs, size_t n)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_ref_key(refs[mid], key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    bool found = lo < n && cmp_ref_key(refs[lo], key) == 0;
    return 2 * (int64_t)lo - (found ? 0 : 1);
}

static bool parse_size(const char *s, const char *end, size_t *out)
{
    if (s == end || end - s > 19)
        return false;
    uint64_t v = 0;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = (size_t)v;
    return true;
}

/* Decodes the cursor text into the keys and counts; positions come later,
 * from the loaded components. */
typedef struct {
    bool flagged;
    size_t together, min_count;
    char key_a[CW_REF_MAX], key_b[CW_REF_MAX];
} coupling_after;

static bool parse_coupling_cursor(const char *text, coupling_after *out)
{
    size_t len = 0;
    unsigned char *raw = cw_base64url_decode(text, &len);
    bool ok = raw && len > 9 && len < 64 + 2 * CW_REF_MAX && !memcmp(raw, "c1:", 3) &&
              (raw[3] == '0' || raw[3] == '1') && raw[4] == ':' && !memchr(raw, '\0', len);
    if (ok) {
        const char *s = (const char *)raw + 5, *end = (const char *)raw + len;
        const char *c1 = memchr(s, ':', (size_t)(end - s));
        const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
        const char *sp = c2 ? memchr(c2 + 1, ' ', (size_t)(end - c2 - 1)) : NULL;
        ok = sp && parse_size(s, c1, &out->together) && parse_size(c1 + 1, c2, &out->min_count) &&
             out->together >= 1 && out->min_count >= out->together &&
             (size_t)(sp - c2 - 1) < CW_REF_MAX && (size_t)(end - sp - 1) < CW_REF_MAX &&
             sp > c2 + 1 && end > sp + 1;
        if (ok) {
            out->flagged = raw[3] == '1';
            memcpy(out->key_a, c2 + 1, (size_t)(sp - c2 - 1));
            out->key_a[sp - c2 - 1] = '\0';
            memcpy(out->key_b, sp + 1, (size_t)(end - sp - 1));
            out->key_b[end - sp - 1] = '\0';
            ok = strcmp(out->key_a, out->key_b) < 0;
        }
    }
    free(raw);
    return ok;
}

static void get_coupling(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_scope sc;
    cw_coupling_params p = {0};
    uint64_t minutes, together, limit;
    coupling_after after;
    const char *cursor = cw_req_query(req, "cursor");
    if (!cw_api_scope_param(req, resp, "scope", &sc) ||
        !window_params(req, resp, &p.from_ms, &p.to_ms) ||
        !cw_req_query_uint(req, resp, "windowMinutes", 15, 0, MAX_COUPLING_WINDOW_MINUTES,
                           &minutes) ||
        !cw_req_query_uint(req, resp, "minTogether", 5, 1, 1000000000, &together) ||
        !real_param(req, resp, "minConfidence", 0.8, 0.0, 1.0, &p.min_confidence) ||
        !cw_req_query_uint(req, resp, "limit", COUPLING_DEFAULT_LIMIT, 1, COUPLING_MAX_LIMIT,
                           &limit) ||
        !production_pattern_ok(app, resp))
        return;
    if (cursor && !parse_coupling_cursor(cursor, &after)) {
        cw_resp_problem(resp, 400, "query parameter 'cursor': not a cursor issued by this server");
        return;
    }
    p.window_ms = (int64_t)minutes * 60000;
    p.min_together = (size_t)together;
    p.limit = (size_t)limit;
    cw_delivery_data dd;
    if (!load(app, resp, &sc, CW_DELIVERY_DEPLOYMENTS, p.from_ms, p.to_ms, &dd))
        return;
    const char *const *refs = (const char *const *)dd.component_refs;
    cw_coupling_cursor cur;
    if (cursor) {
        cur = (cw_coupling_cursor){after.flagged, after.together, after.min_count,
                                   key_position(after.key_a, refs, dd.ncomponents),
                                   key_position(after.key_b, refs, dd.ncomponents)};
        p.after = &cur;
    }
    cw_coupling_result r;
    cw_diag d = {{0}};
    cw_err err = cw_coupling_compute(&dd.in, &p, &r, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        cw_delivery_data_free(&dd);
        return;
    }
    json_t *body = NULL;
    char *next = NULL;
    err = cw_coupling_to_json(&r, refs, (const char *const *)dd.owner_refs, &body);
    if (!err && r.more && !(next = coupling_cursor(&r.pairs[r.npairs - 1], refs)))
        err = CW_ERR_NOMEM;
    if (!err && json_object_set_new(body, "nextCursor", next ? json_string(next) : json_null()))
        err = CW_ERR_NOMEM;
    /* the lists' member for the count (docs/api.md); totalPairs stays */
    if (!err && json_is_integer(json_object_get(body, "totalPairs")) &&
        json_object_set(body, "totalItems", json_object_get(body, "totalPairs")))
        err = CW_ERR_NOMEM;
    if (err) {
        json_decref(body);
        body = NULL;
    }
    answer(resp, err, body);
    free(next);
    cw_coupling_free(&r);
    cw_delivery_data_free(&dd);
}

static const char *const dora_params[] = {"scope", "from", "to", "failureWindowHours",
                                          "descendants", NULL};
static const char *const undeployed_params[] = {"scope", "now", "changes", "limit", "cursor", "descendants", NULL};
static const char *const coupling_params[] = {"scope",         "from",        "to",
                                              "windowMinutes", "minTogether", "minConfidence",
                                              "limit",         "cursor",      "descendants",
                                              NULL};

const cw_route cw_routes_insights[] = {
    {"GET", "/api/v1/insights/dora", get_dora, CW_AUTH_READ, dora_params},
    {"GET", "/api/v1/insights/undeployed", get_undeployed, CW_AUTH_READ, undeployed_params},
    {"GET", "/api/v1/insights/coupling", get_coupling, CW_AUTH_READ, coupling_params},
    {NULL, NULL, NULL, 0, NULL},
};
