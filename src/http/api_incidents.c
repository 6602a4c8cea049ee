/*
 * api_incidents.c — incidents (issue #13): Alertmanager's webhook
 * (POST /api/v1/hooks/alertmanager), the incident list and page
 * (GET /api/v1/incidents, /api/v1/incidents/{id}) and transitions and notes
 * (POST /api/v1/incidents/{id}/transitions). Incidents come from incident
 * CDEvents; an Alertmanager notification is turned into the incident events
 * it implies (events/alertmanager.h) and stored through the events intake,
 * so DORA counts it like any incident. Rules for users: docs/incidents.md.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "catalog/postmortem.h"
#include "events/alertmanager.h"
#include "events/events.h"
#include "events/incident.h"
#include "http/api_common.h"
#include "http/api_events.h"
#include "http/api_incidents.h"
#include "http/http_int.h"
#include "insights/delivery.h"
#include "insights/dora.h"
#include "insights/postmortem.h"
#include "store/store_incidents.h"
#include "store/store_scan.h"
#include "util/crypto.h"
#include "util/strmap.h"
#include "util/timeutil.h"

#define LIST_DEFAULT_LIMIT 100
#define LIST_MAX_LIMIT 1000
#define TIMELINE_MAX 2000
#define MAX_FAILURE_WINDOW_HOURS 8760
#define CONWAY_INCIDENTS_SOURCE "/conway/incidents"

/* ---- rendering ----------------------------------------------------------------------- */

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *time_or_null(int64_t ms)
{
    if (!ms)
        return json_null();
    char t[32];
    cw_time_format_compact(ms, t);
    return json_string(t);
}

/* json_object_set_new that remembers a failure (set_new takes v either way). */
static void put(json_t *o, const char *key, json_t *v, bool *ok)
{
    if (!v || json_object_set_new(o, key, v))
        *ok = false;
}

json_t *cw_api_incident_json(const cw_incident *i)
{
    json_t *o = json_object();
    bool ok = o != NULL;
    char self[64];
    snprintf(self, sizeof self, "/api/v1/incidents/%" PRId64, i->id);
    put(o, "id", json_integer(i->id), &ok);
    put(o, "ref", json_string(i->subject_id), &ok);
    put(o, "source", json_string(i->source), &ok);
    put(o, "title", str_or_null(i->title), &ok);
    put(o, "state", json_string(cw_incident_state_name(i->state)), &ok);
    put(o, "severity", str_or_null(i->severity), &ok);
    put(o, "severityLabel", str_or_null(i->severity_raw), &ok);
    put(o, "component", str_or_null(i->component_ref), &ok);
    put(o, "owner", str_or_null(i->owner_ref), &ok);
    put(o, "service", str_or_null(i->service_id), &ok);
    put(o, "environment", str_or_null(i->environment), &ok);
    put(o, "artifactId", str_or_null(i->artifact_id), &ok);
    put(o, "alertGroup", str_or_null(i->group_key), &ok);
    put(o, "startedAt", time_or_null(i->start_ms), &ok);
    put(o, "detectedAt", time_or_null(i->detected_ms), &ok);
    put(o, "resolvedAt", time_or_null(i->resolved_ms), &ok);
    put(o, "updatedAt", time_or_null(i->updated_ms), &ok);
    put(o, "timeToRestoreSeconds",
        i->resolved_ms && i->start_ms && i->resolved_ms >= i->start_ms
            ? json_real((double)(i->resolved_ms - i->start_ms) / 1000.0)
            : json_null(),
        &ok);
    put(o, "links", json_pack("{s:s}", "self", self), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- shared parameters -------------------------------------------------------------- */

/* The {id} path parameter: a positive number; false after queueing a 400. */
static bool id_param(const cw_req *req, cw_resp *resp, int64_t *out)
{
    const char *s = req->params[0];
    char *end = NULL;
    long long v = s && *s >= '1' && *s <= '9' && strlen(s) <= 18 ? strtoll(s, &end, 10) : 0;
    if (v <= 0 || !end || *end) {
        cw_resp_problem(resp, 400, "path: incident id \"%.40s\" is not a positive number", s ? s : "");
        return false;
    }
    *out = v;
    return true;
}

/* Every Postmortem of the catalog (*arr and *items owned by the caller). */
static bool postmortems(cw_app *app, cw_resp *resp, json_t **arr, json_t ***items, size_t *n)
{
    static const char *const kinds[] = {CW_POSTMORTEM_KIND};
    cw_diag d = {{0}};
    *items = NULL;
    *n = 0;
    cw_err err = cw_store_scan(app->store, kinds, 1, 0, arr, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        return false;
    }
    *n = json_array_size(*arr);
    *items = malloc((*n ? *n : 1) * sizeof **items);
    if (!*items) {
        json_decref(*arr);
        cw_resp_problem(resp, 500, "out of memory reading postmortems");
        return false;
    }
    for (size_t i = 0; i < *n; i++)
        (*items)[i] = json_array_get(*arr, i);
    return true;
}

/* ---- GET /api/v1/incidents ---------------------------------------------------------- */

/* Cursor: base64url("i1:<start_ms>:<id>") of the last item shown. */
static char *make_cursor(const cw_incident *i)
{
    char tmp[64];
    int n = snprintf(tmp, sizeof tmp, "i1:%" PRId64 ":%" PRId64, i->start_ms, i->id);
    return cw_base64url_encode(tmp, (size_t)n);
}

static bool parse_cursor(const char *cursor, int64_t *start, int64_t *id)
{
    size_t len = 0;
    unsigned char *raw = cw_base64url_decode(cursor, &len);
    bool ok = raw && len > 3 && len < 60 && !memcmp(raw, "i1:", 3) && !memchr(raw, '\0', len);
    if (ok) {
        char *end = NULL;
        long long a = strtoll((const char *)raw + 3, &end, 10);
        ok = end && *end == ':' && end > (char *)raw + 3;
        if (ok) {
            char *end2 = NULL;
            long long b = strtoll(end + 1, &end2, 10);
            ok = end2 == (char *)raw + len && end2 > end + 1 && b > 0;
            *start = a;
            *id = b;
        }
    }
    free(raw);
    return ok;
}

/* "open", a state, or a comma-separated list of them. */
static bool states_param(const cw_req *req, cw_resp *resp, unsigned *out)
{
    const char *v = cw_req_query(req, "state");
    *out = 0;
    if (!v)
        return true;
    char buf[256];
    if (strlen(v) >= sizeof buf)
        goto bad;
    memcpy(buf, v, strlen(v) + 1);
    for (char *p = buf, *next; p; p = next) {
        next = strchr(p, ',');
        if (next)
            *next++ = '\0';
        cw_incident_state s;
        if (!strcmp(p, "open"))
            *out |= CW_INCIDENT_OPEN_STATES;
        else if (cw_incident_state_parse(p, &s))
            *out |= CW_INCIDENT_STATE_BIT(s);
        else
            goto bad;
    }
    return true;
bad:
    cw_resp_problem(resp, 400,
                    "query parameter 'state': '%.60s' is not one of open, triggered, "
                    "acknowledged, mitigated, resolved, closed (comma-separated)",
                    v);
    return false;
}

static bool severities_param(const cw_req *req, cw_resp *resp, unsigned *out)
{
    const char *v = cw_req_query(req, "severity");
    *out = 0;
    if (!v)
        return true;
    char buf[256];
    if (strlen(v) >= sizeof buf)
        goto bad;
    memcpy(buf, v, strlen(v) + 1);
    for (char *p = buf, *next; p; p = next) {
        next = strchr(p, ',');
        if (next)
            *next++ = '\0';
        cw_severity s;
        if (!strcmp(p, "none"))
            *out |= CW_SEVERITY_BIT(CW_SEV_UNKNOWN);
        else if (cw_severity_name_parse(p, &s))
            *out |= CW_SEVERITY_BIT(s);
        else
            goto bad;
    }
    return true;
bad:
    cw_resp_problem(resp, 400,
                    "query parameter 'severity': '%.60s' is not one of critical, high, warning, "
                    "low, info, none (comma-separated)",
                    v);
    return false;
}

static void list_incidents(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_incident_query q = {.from_ms = INT64_MIN, .to_ms = INT64_MAX};
    cw_scope sc;
    const char *scope = NULL;
    bool has_from, has_to;
    uint64_t limit;
    if (!cw_req_query_uint(req, resp, "limit", LIST_DEFAULT_LIMIT, 1, LIST_MAX_LIMIT, &limit) ||
        !cw_api_text_param(req, resp, "scope", &scope) ||
        !cw_api_text_param(req, resp, "ref", &q.subject_id) || !states_param(req, resp, &q.states) ||
        !severities_param(req, resp, &q.severities) ||
        !cw_api_time_param(req, resp, "from", &q.from_ms, &has_from) ||
        !cw_api_time_param(req, resp, "to", &q.to_ms, &has_to))
        return;
    if (!has_from)
        q.from_ms = INT64_MIN;
    if (!has_to)
        q.to_ms = INT64_MAX;
    if (q.from_ms >= q.to_ms) {
        cw_resp_problem(resp, 400, "query parameter 'to': must be later than 'from'");
        return;
    }
    if (scope) {
        if (!cw_api_scope_param(req, resp, "scope", &sc))
            return;
        q.scope = &sc;
    }
    const char *cursor = cw_req_query(req, "cursor");
    if (cursor) {
        if (!parse_cursor(cursor, &q.after_start_ms, &q.after_id)) {
            cw_resp_problem(resp, 400, "query parameter 'cursor': not a cursor issued by this server");
            return;
        }
        q.after = true;
    }
    q.limit = (size_t)limit + 1; /* one more tells whether a next page exists */
    cw_incident_list l = {0};
    cw_diag d = {{0}};
    cw_err err = cw_store_incidents_query(app->store, &q, &l, &d);
    if (err) {
        cw_api_store_error(resp, err, &d, "scope");
        return;
    }
    size_t shown = l.len > limit ? (size_t)limit : l.len;
    json_t *items = json_array();
    bool ok = items != NULL;
    for (size_t i = 0; ok && i < shown; i++)
        if (json_array_append_new(items, cw_api_incident_json(&l.items[i])))
            ok = false;
    char *next = l.len > limit ? make_cursor(&l.items[shown - 1]) : NULL;
    json_t *body = ok ? json_pack("{s:O, s:o}", "items", items, "nextCursor", str_or_null(next))
                      : NULL;
    free(next);
    json_decref(items);
    cw_incident_list_free(&l);
    if (!body) {
        cw_resp_problem(resp, 500, "out of memory while building the answer");
        return;
    }
    cw_resp_json(resp, 200, body);
}

/* ---- GET /api/v1/incidents/{id} ------------------------------------------------------- */

/*
 * The deployment the incident most likely caused, under the DORA failure
 * rule itself (cw_dora_incident_causes): null when none, or when the
 * incident is not among the delivery inputs of its component.
 */
static json_t *likely_cause(cw_app *app, const cw_incident *inc, int window_hours, cw_err *err,
                            cw_diag *d)
{
    *err = CW_OK;
    if (!inc->component_ref && !inc->artifact_id)
        return json_null();
    cw_scope sc = {.kind = CW_SCOPE_ORG};
    if (inc->component_ref && cw_scope_parse(inc->component_ref, &sc, NULL))
        return json_null();
    cw_delivery_query q = {.scope = &sc,
                           .production_env = app->cfg.production_env,
                           .what = CW_DELIVERY_DEPLOYMENTS | CW_DELIVERY_INCIDENTS};
    cw_delivery_data dd;
    cw_delivery_collector *col = NULL;
    memset(&dd, 0, sizeof dd);
    *err = cw_delivery_collector_new(&q, &col, d);
    if (!*err)
        *err = cw_store_delivery_scan(app->store, &q, cw_delivery_collector_sink(), col, d);
    if (!*err)
        *err = cw_delivery_collector_finish(col, &dd, d);
    cw_delivery_collector_free(col);
    if (*err == CW_ERR_NOT_FOUND) {
        *err = CW_OK; /* the component went away meanwhile */
        return json_null();
    }
    if (*err)
        return NULL;
    json_t *out = json_null();
    long *cause = malloc((dd.in.nincidents ? dd.in.nincidents : 1) * sizeof *cause);
    if (!cause) {
        *err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
        cw_delivery_data_free(&dd);
        return NULL;
    }
    *err = cw_dora_incident_causes(&dd.in, window_hours, cause, d);
    for (size_t i = 0; !*err && i < dd.in.nincidents; i++) {
        const cw_dora_incident *di = &dd.in.incidents[i];
        if (!di->incident_id || strcmp(di->incident_id, inc->subject_id) || cause[i] < 0)
            continue;
        const cw_dora_deployment *dep = &dd.in.deployments[cause[i]];
        bool by_artifact = di->artifact_id && dep->artifact_id &&
                           !strcmp(di->artifact_id, dep->artifact_id);
        char t[32];
        cw_time_format_compact(dep->time_ms, t);
        json_decref(out);
        out = json_pack("{s:s, s:s, s:o, s:s, s:I}", "component",
                        dd.component_refs[dep->component], "deployedAt", t, "artifactId",
                        str_or_null(dep->artifact_id), "rule",
                        by_artifact ? "artifact" : "failure-window", "failureWindowHours",
                        (json_int_t)window_hours);
        if (!out)
            *err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
        break;
    }
    free(cause);
    cw_delivery_data_free(&dd);
    if (*err) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static json_t *timeline_json(const cw_incident_entry *e, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        char t[32];
        cw_time_format_compact(e[i].at_ms, t);
        json_t *o = json_pack("{s:s, s:s, s:o, s:o}", "at", t, "kind", e[i].kind, "actor",
                              str_or_null(e[i].actor), "text", str_or_null(e[i].text));
        if (o && e[i].from_state)
            json_object_set_new(o, "from", json_string(e[i].from_state));
        if (o && e[i].to_state)
            json_object_set_new(o, "to", json_string(e[i].to_state));
        if (o && e[i].ref)
            json_object_set_new(o, "ref", json_string(e[i].ref));
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *json_or_null(const char *text)
{
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    return v ? v : json_null();
}

static json_t *alerts_json(const cw_incident_alert *a, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "fingerprint",
                              a[i].fingerprint, "status", a[i].firing ? "firing" : "resolved",
                              "startsAt", time_or_null(a[i].starts_ms), "endsAt",
                              time_or_null(a[i].ends_ms), "labels", json_or_null(a[i].labels),
                              "annotations", json_or_null(a[i].annotations), "generatorURL",
                              str_or_null(a[i].generator_url));
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static void get_incident(cw_app *app, cw_req *req, cw_resp *resp)
{
    int64_t id;
    uint64_t fwh;
    if (!id_param(req, resp, &id) ||
        !cw_req_query_uint(req, resp, "failureWindowHours", CW_DORA_DEFAULT_FAILURE_WINDOW_HOURS,
                           0, MAX_FAILURE_WINDOW_HOURS, &fwh))
        return;
    cw_incident inc = {0};
    cw_incident_entry *tl = NULL;
    cw_incident_alert *al = NULL;
    size_t ntl = 0, nal = 0, npm = 0;
    json_t *pm_arr = NULL, *body = NULL, *cause = NULL, *named = NULL;
    json_t **pm_items = NULL;
    cw_diag d = {{0}};
    cw_err err = cw_store_incident_get(app->store, id, &inc, &d);
    if (err == CW_ERR_NOT_FOUND) {
        cw_resp_problem(resp, 404, "incident %" PRId64 " does not exist", id);
        return;
    }
    if (!err)
        err = cw_store_incident_timeline(app->store, id, TIMELINE_MAX, &tl, &ntl, &d);
    if (!err)
        err = cw_store_incident_alerts(app->store, id, &al, &nal, &d);
    if (!err)
        cause = likely_cause(app, &inc, (int)fwh, &err, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        goto out;
    }
    if (!postmortems(app, resp, &pm_arr, &pm_items, &npm))
        goto out;
    if ((err = cw_postmortems_naming(pm_items, npm, inc.subject_id, &named, &d))) {
        cw_resp_error(resp, err, &d);
        goto out;
    }
    body = cw_api_incident_json(&inc);
    bool ok = body != NULL;
    if (ok) {
        put(body, "likelyCause", json_incref(cause), &ok);
        put(body, "timeline", timeline_json(tl, ntl), &ok);
        put(body, "alerts", alerts_json(al, nal), &ok);
        put(body, "postmortems", json_incref(named), &ok);
    }
    if (!ok) {
        cw_resp_problem(resp, 500, "out of memory while building the answer");
        goto out;
    }
    cw_resp_json(resp, 200, body);
    body = NULL;
out:
    json_decref(body);
    json_decref(cause);
    json_decref(named);
    free(pm_items);
    json_decref(pm_arr);
    cw_incident_entries_free(tl, ntl);
    cw_incident_alerts_free(al, nal);
    cw_incident_free(&inc);
}

/* ---- POST /api/v1/incidents/{id}/transitions ------------------------------------------- */

/* Records the manual resolution as an incident.resolved CDEvent (under
 * conway's own source, naming the incident's source as subject.source) so
 * that DORA's time to restore sees it like any resolution. */
static cw_err record_resolution(cw_app *app, const cw_incident *inc, int64_t now, cw_diag *d)
{
    char id[96];
    snprintf(id, sizeof id, "%" PRId64 "/resolved/%" PRId64, inc->id, now);
    cw_incident_cdevent_spec sp = {
        .kind = CW_INC_EV_RESOLVED,
        .event_source = CONWAY_INCIDENTS_SOURCE,
        .event_id = id,
        .subject_source = inc->source,
        .subject_id = inc->subject_id,
        .time_ms = now,
        .environment = inc->environment,
        .service_id = inc->service_id,
        .description = "resolved in conway",
    };
    json_t *j = cw_incident_cdevent_build(&sp);
    if (!j)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory");
    cw_event ev;
    cw_err err = cw_cdevent_decode(j, &ev, d);
    json_decref(j);
    if (err)
        return err;
    cw_event_put_result r;
    err = cw_store_events_put(app->store, &ev, 1, &r, d);
    cw_event_free(&ev);
    return err;
}

static bool team_may_change(const cw_req *req, cw_resp *resp, const cw_incident *inc)
{
    if (!req->authenticated || !req->token.team[0])
        return true;
    char owner[CW_REF_MAX] = "";
    if (inc->owner_ref && !cw_ref_text_to_key(inc->owner_ref, owner))
        owner[0] = '\0';
    if (owner[0] && !strcmp(owner, req->token.team))
        return true;
    cw_resp_problem(resp, 403,
                    "this token is scoped to %s and incident %" PRId64 " belongs to %s: only the "
                    "owning team of its component changes it",
                    req->token.team, inc->id,
                    inc->owner_ref ? inc->owner_ref : "no team (its component is unknown)");
    return false;
}

static void post_transition(cw_app *app, cw_req *req, cw_resp *resp)
{
    int64_t id;
    if (!id_param(req, resp, &id))
        return;
    json_t *body = cw_req_json_body(req, resp);
    if (!body)
        return;
    cw_incident inc = {0}, after = {0};
    json_t *pm_arr = NULL, *named = NULL;
    json_t **pm_items = NULL;
    size_t npm = 0;
    cw_diag d = {{0}};
    cw_err err;
    if (!json_is_object(body)) {
        cw_resp_problem(resp, 400, "request body: must be an object {\"to\", \"note\"}");
        goto out;
    }
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v) {
        if (strcmp(k, "to") && strcmp(k, "note") && strcmp(k, "postmortemNotRequired")) {
            cw_resp_problem(resp, 400,
                            "request body: unknown field \"%.60s\" (allowed: to, note, "
                            "postmortemNotRequired)",
                            k);
            goto out;
        }
    }
    const json_t *to = json_object_get(body, "to"), *note = json_object_get(body, "note");
    const json_t *not_required = json_object_get(body, "postmortemNotRequired");
    cw_incident_change ch = {.id = id, .now_ms = cw_now_ms()};
    if (to && !cw_incident_state_parse(json_string_value(to), &ch.to)) {
        cw_resp_problem(resp, 400,
                        "to: must be one of triggered, acknowledged, mitigated, resolved, closed");
        goto out;
    }
    ch.has_to = to != NULL;
    if (note && (!json_is_string(note) || json_string_length(note) == 0 ||
                 json_string_length(note) > CW_INCIDENT_NOTE_MAX ||
                 memchr(json_string_value(note), '\0', json_string_length(note)))) {
        cw_resp_problem(resp, 400, "note: must be a text of 1 to %d bytes", CW_INCIDENT_NOTE_MAX);
        goto out;
    }
    ch.note = json_string_value(note);
    if (not_required && !json_is_boolean(not_required)) {
        cw_resp_problem(resp, 400, "postmortemNotRequired: must be true or false");
        goto out;
    }
    if (!ch.has_to && !ch.note) {
        cw_resp_problem(resp, 400, "request body: give \"to\" (the next state), \"note\", or both");
        goto out;
    }
    err = cw_store_incident_get(app->store, id, &inc, &d);
    if (err == CW_ERR_NOT_FOUND) {
        cw_resp_problem(resp, 404, "incident %" PRId64 " does not exist", id);
        goto out;
    }
    if (err) {
        cw_resp_error(resp, err, &d);
        goto out;
    }
    if (!team_may_change(req, resp, &inc))
        goto out;
    /* the lifecycle first (the store checks it again, atomically) */
    if (ch.has_to && (err = cw_incident_transition_check(inc.state, ch.to, &d))) {
        cw_resp_problem(resp, cw_http_status_of(err), "%s", d.msg);
        goto out;
    }
    /* closed means "postmortem done or not required": say which */
    if (ch.has_to && ch.to == CW_INC_CLOSED) {
        if (!postmortems(app, resp, &pm_arr, &pm_items, &npm))
            goto out;
        if ((err = cw_postmortems_naming(pm_items, npm, inc.subject_id, &named, &d))) {
            cw_resp_error(resp, err, &d);
            goto out;
        }
        bool waived = json_is_true(not_required);
        if (waived && !ch.note) {
            cw_resp_problem(resp, 400, "note: required with postmortemNotRequired, to say why");
            goto out;
        }
        if (!waived && json_array_size(named) == 0) {
            cw_resp_problem(resp, 409,
                            "to: incident %" PRId64 " cannot be closed: no Postmortem lists \"%.200s\" "
                            "in spec.incidents; write one, or send \"postmortemNotRequired\": true "
                            "with a note saying why",
                            id, inc.subject_id);
            goto out;
        }
    }
    char actor[CW_INCIDENT_ACTOR_MAX];
    snprintf(actor, sizeof actor, "%s", req->authenticated ? req->token.name : "anonymous");
    ch.actor = actor;
    err = cw_store_incident_change(app->store, &ch, &after, &d);
    if (err) {
        cw_resp_problem(resp, cw_http_status_of(err), "%s", d.msg);
        goto out;
    }
    if (ch.has_to && ch.to == CW_INC_RESOLVED && (err = record_resolution(app, &after, ch.now_ms, &d))) {
        /* the transition stands; DORA will see the tool's own resolution */
        cw_resp_problem(resp, 500, "the incident is resolved, but its resolution event could "
                                   "not be recorded: %s", d.msg);
        goto out;
    }
    json_t *refs = after.component_ref ? json_pack("[s]", after.component_ref) : json_array();
    json_t *detail = json_pack("{s:I, s:s, s:o, s:o}", "incident", (json_int_t)id, "ref",
                               after.subject_id, "from",
                               ch.has_to ? json_string(cw_incident_state_name(inc.state)) : json_null(),
                               "to", ch.has_to ? json_string(cw_incident_state_name(ch.to)) : json_null());
    cw_api_audit_detail(app, req, ch.has_to ? "incident.transition" : "incident.note", refs, detail);
    json_decref(refs);
    json_decref(detail);
    json_t *out = cw_api_incident_json(&after);
    if (!out)
        cw_resp_problem(resp, 500, "out of memory while building the answer");
    else
        cw_resp_json(resp, 200, out);
out:
    json_decref(body);
    json_decref(named);
    free(pm_items);
    json_decref(pm_arr);
    cw_incident_free(&inc);
    cw_incident_free(&after);
}

/* ---- POST /api/v1/hooks/alertmanager ---------------------------------------------------- */

/* Episode number of an Alertmanager incident's subject id (am-<hash>-<n>). */
static int64_t episode_of(const char *subject)
{
    const char *dash = strrchr(subject, '-');
    char *end = NULL;
    long long n = dash ? strtoll(dash + 1, &end, 10) : 0;
    return end && !*end && n > 0 ? n : 1;
}

/* The alerts of a notification as the store records them; their text is
 * kept in *texts (owned by the caller, one JSON array). */
static cw_err alerts_in(const cw_am_notification *n, cw_incident_alert_in *out, json_t *texts)
{
    for (size_t i = 0; i < n->nalerts; i++) {
        const cw_am_alert *a = &n->alerts[i];
        char *labels = json_dumps(a->labels, JSON_COMPACT | JSON_SORT_KEYS);
        char *ann = a->annotations ? json_dumps(a->annotations, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        char fp[24], summary[512];
        const char *fingerprint = a->fingerprint && *a->fingerprint ? a->fingerprint : NULL;
        if (!fingerprint && labels) {
            /* Alertmanager always sends one; a hand-made payload may not */
            char hex[65];
            cw_sha256_hex(labels, strlen(labels), hex);
            snprintf(fp, sizeof fp, "%.16s", hex);
            fingerprint = fp;
        }
        const char *name = cw_am_label(a->labels, "alertname");
        const char *sum = cw_am_label(a->annotations, "summary");
        snprintf(summary, sizeof summary, "%s%s%s", name ? name : "alert", sum ? ": " : "",
                 sum ? sum : "");
        json_t *keep = json_pack("[s?, s?, s, s]", labels, ann, fingerprint, summary);
        free(labels);
        free(ann);
        if (!keep || json_array_append_new(texts, keep))
            return CW_ERR_NOMEM;
        out[i] = (cw_incident_alert_in){
            .fingerprint = json_string_value(json_array_get(keep, 2)),
            .firing = a->firing,
            .starts_ms = a->starts_ms,
            .ends_ms = a->ends_ms,
            .labels = json_string_value(json_array_get(keep, 0)),
            .annotations = json_string_value(json_array_get(keep, 1)),
            .generator_url = a->generator_url,
            .summary = json_string_value(json_array_get(keep, 3)),
        };
        if (!out[i].labels)
            return CW_ERR_NOMEM;
    }
    return CW_OK;
}

static void post_alertmanager(cw_app *app, cw_req *req, cw_resp *resp)
{
    static const char *const json_types[] = {"application/json", NULL};
    if (!cw_req_content_type(req, resp, json_types, "application/json"))
        return;
    cw_am_notification n;
    cw_diag d = {{0}};
    cw_err err = cw_am_decode(req->body, req->body_len, &n, &d);
    if (err) {
        cw_resp_problem(resp, err == CW_ERR_INVALID ? 400 : cw_http_status_of(err), "%s", d.msg);
        return;
    }
    cw_incident prev = {0}, now_inc = {0};
    cw_am_previous p = {0};
    json_t *evjson = NULL, *texts = NULL, *refs = NULL, *detail = NULL;
    cw_event *evs = NULL;
    size_t nev = 0;
    cw_incident_alert_in *ins = NULL;
    cw_event_put_result res = {0};
    err = cw_store_incident_by_group(app->store, n.group_key, &prev, &d);
    if (err && err != CW_ERR_NOT_FOUND) {
        cw_resp_error(resp, err, &d);
        goto out;
    }
    if (!err) {
        p.exists = true;
        p.number = episode_of(prev.subject_id);
        p.ended = !cw_incident_state_open(prev.state);
        p.resolved_ms = prev.resolved_ms;
    }
    int64_t now = cw_now_ms();
    cw_am_plan plan;
    cw_am_plan_make(&n, &p, now, &plan);
    evjson = json_array();
    if (!evjson || cw_am_plan_events(&n, &plan, evjson)) {
        cw_resp_problem(resp, 500, "out of memory");
        goto out;
    }
    evs = calloc(json_array_size(evjson) + 1, sizeof *evs);
    if (!evs) {
        cw_resp_problem(resp, 500, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(evjson); i++) {
        if ((err = cw_cdevent_decode(json_array_get(evjson, i), &evs[nev], &d))) {
            /* the payload decoded, so this is conway's own doing */
            cw_resp_problem(resp, 500, "the notification's incident event is not valid: %s", d.msg);
            goto out;
        }
        nev++;
    }
    /* a token bound to a team or to sources feeds only what it could send as
     * events: the group's detected event, recorded now or not, is checked
     * as POST /api/v1/events checks events (its source is CW_AM_SOURCE) */
    if (req->authenticated && (req->token.team[0] || req->token.sources[0])) {
        cw_am_plan probe = plan;
        probe.detect = true;
        probe.resolve = false;
        json_t *pj = json_array();
        cw_event pe = {0};
        if (!pj || cw_am_plan_events(&n, &probe, pj) ||
            cw_cdevent_decode(json_array_get(pj, 0), &pe, &d)) {
            json_decref(pj);
            cw_resp_problem(resp, 500, "the notification's incident event is not valid");
            goto out;
        }
        err = cw_api_check_events(app, req, &pe, 1, &d);
        cw_event_free(&pe);
        json_decref(pj);
        if (err) {
            cw_resp_error(resp, err, &d);
            goto out;
        }
    }
    if (nev && (err = cw_store_events_put(app->store, evs, nev, &res, &d))) {
        cw_resp_error(resp, err, &d);
        goto out;
    }
    char subject[48];
    cw_am_subject_id(n.group_key, plan.number, subject);
    err = cw_store_incident_by_key(app->store, CW_AM_SOURCE, subject, &now_inc, &d);
    if (err == CW_ERR_NOT_FOUND) {
        /* nothing fires and nothing was known: nothing to record */
        json_t *body = json_pack("{s:n, s:I, s:I}", "incident", "accepted", (json_int_t)res.accepted,
                                 "duplicates", (json_int_t)res.duplicates);
        cw_resp_json(resp, 200, body);
        goto out;
    }
    if (err) {
        cw_resp_error(resp, err, &d);
        goto out;
    }
    /* nor may a team's token add alerts to another team's incident */
    if (!team_may_change(req, resp, &now_inc))
        goto out;
    texts = json_array();
    ins = calloc(n.nalerts, sizeof *ins);
    if (!texts || !ins || alerts_in(&n, ins, texts)) {
        cw_resp_problem(resp, 500, "out of memory");
        goto out;
    }
    err = cw_store_incident_alerts_put(app->store, CW_AM_SOURCE, subject, ins, n.nalerts, now, &d);
    if (!err) {
        cw_incident_free(&now_inc);
        err = cw_store_incident_by_key(app->store, CW_AM_SOURCE, subject, &now_inc, &d);
    }
    if (err) {
        cw_resp_error(resp, err, &d);
        goto out;
    }
    refs = now_inc.component_ref ? json_pack("[s]", now_inc.component_ref) : json_array();
    detail = json_pack("{s:I, s:s, s:s, s:I}", "incident", (json_int_t)now_inc.id, "ref",
                       now_inc.subject_id, "status", n.firing ? "firing" : "resolved", "alerts",
                       (json_int_t)n.nalerts);
    cw_api_audit_detail(app, req, "alertmanager.notify", refs, detail);
    json_t *body = json_pack("{s:o, s:I, s:I}", "incident", cw_api_incident_json(&now_inc),
                             "accepted", (json_int_t)res.accepted, "duplicates",
                             (json_int_t)res.duplicates);
    if (!body)
        cw_resp_problem(resp, 500, "out of memory while building the answer");
    else
        cw_resp_json(resp, 200, body);
out:
    for (size_t i = 0; i < nev; i++)
        cw_event_free(&evs[i]);
    free(evs);
    free(ins);
    json_decref(texts);
    json_decref(evjson);
    json_decref(refs);
    json_decref(detail);
    cw_incident_free(&prev);
    cw_incident_free(&now_inc);
    cw_am_notification_free(&n);
}

/* ---- findings -------------------------------------------------------------------------- */

#define FINDINGS_MAX_INCIDENTS 100000
#define DAY_MS 86400000LL

/* Appends the incidents of l not seen yet (by id) to *all; l's items move. */
static cw_err take(cw_incident_list *l, cw_strmap *seen, cw_incident **all, size_t *n, size_t *cap)
{
    for (size_t i = 0; i < l->len; i++) {
        char key[24];
        snprintf(key, sizeof key, "%" PRId64, l->items[i].id);
        bool inserted = false;
        if (cw_strmap_put_new(seen, key, NULL, NULL, &inserted))
            return CW_ERR_NOMEM;
        if (!inserted)
            continue;
        if (*n == *cap) {
            size_t ncap = *cap ? *cap * 2 : 64;
            cw_incident *grown = realloc(*all, ncap * sizeof *grown);
            if (!grown)
                return CW_ERR_NOMEM;
            *all = grown;
            *cap = ncap;
        }
        (*all)[(*n)++] = l->items[i];
        memset(&l->items[i], 0, sizeof l->items[i]);
    }
    return CW_OK;
}

cw_err cw_incident_findings(cw_store *s, json_t *const *entities, size_t n,
                            const cw_postmortem_opts *o, json_t **out, size_t *nincidents,
                            cw_diag *d)
{
    *out = NULL;
    cw_severity threshold = o->threshold != CW_SEV_UNKNOWN ? o->threshold : CW_SEV_DEFAULT_THRESHOLD;
    int days = o->days >= 0 ? o->days : CW_POSTMORTEM_DEFAULT_DAYS;
    cw_incident *all = NULL;
    cw_pm_incident *pm = NULL;
    size_t len = 0, cap = 0;
    cw_strmap seen, refs;
    cw_strmap_init(&seen);
    cw_strmap_init(&refs);
    cw_incident_list l = {0};
    /* resolved at or above the threshold, long enough ago */
    cw_incident_query q = {.from_ms = INT64_MIN, .to_ms = INT64_MAX,
                           .states = CW_INCIDENT_STATE_BIT(CW_INC_RESOLVED),
                           .resolved_before_ms = o->now_ms - (int64_t)days * DAY_MS + 1,
                           .limit = FINDINGS_MAX_INCIDENTS};
    for (int sev = threshold; sev <= CW_SEV_CRITICAL; sev++)
        q.severities |= CW_SEVERITY_BIT(sev);
    cw_err err = cw_store_incidents_query(s, &q, &l, d);
    if (!err && take(&l, &seen, &all, &len, &cap))
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory reading incidents");
    cw_incident_list_free(&l);
    /* those the Postmortems name (their components, for the RACI rule) */
    for (size_t i = 0; !err && i < n; i++) {
        const char *kind = json_string_value(json_object_get(entities[i], "kind"));
        if (!kind || strcasecmp(kind, CW_POSTMORTEM_KIND))
            continue;
        size_t j;
        const json_t *v;
        json_array_foreach(json_object_get(json_object_get(entities[i], "spec"), "incidents"), j, v) {
            bool inserted = false;
            if (!json_is_string(v))
                continue;
            if (cw_strmap_put_new(&refs, json_string_value(v), NULL, NULL, &inserted)) {
                err = cw_fail(d, CW_ERR_NOMEM, "out of memory reading incidents");
                break;
            }
            if (!inserted)
                continue;
            cw_incident_query one = {.from_ms = INT64_MIN, .to_ms = INT64_MAX,
                                     .subject_id = json_string_value(v), .limit = 16};
            if ((err = cw_store_incidents_query(s, &one, &l, d)))
                break;
            if (take(&l, &seen, &all, &len, &cap))
                err = cw_fail(d, CW_ERR_NOMEM, "out of memory reading incidents");
            cw_incident_list_free(&l);
        }
    }
    if (!err && !(pm = calloc(len ? len : 1, sizeof *pm)))
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory reading incidents");
    for (size_t i = 0; !err && i < len; i++)
        pm[i] = (cw_pm_incident){all[i].id, all[i].subject_id, all[i].title,
                                 cw_severity_parse(all[i].severity), all[i].state,
                                 all[i].resolved_ms, all[i].component_ref, all[i].owner_ref};
    cw_postmortem_opts eff = {threshold, days, o->now_ms};
    if (!err)
        err = cw_postmortem_check(entities, n, pm, len, &eff, out, d);
    if (nincidents)
        *nincidents = len;
    free(pm);
    for (size_t i = 0; i < len; i++)
        cw_incident_free(&all[i]);
    free(all);
    cw_strmap_free(&seen);
    cw_strmap_free(&refs);
    return err;
}

/* ---- routes -------------------------------------------------------------------------- */

static const char *const list_params[] = {"scope", "ref",   "state",  "severity",
                                          "from",  "to",    "limit",  "cursor",
                                          "descendants", NULL};
static const char *const get_params[] = {"failureWindowHours", NULL};
static const char *const no_params[] = {NULL};

const cw_route cw_routes_incidents[] = {
    {"POST", "/api/v1/hooks/alertmanager", post_alertmanager, CW_AUTH_INGEST, no_params},
    {"GET", "/api/v1/incidents", list_incidents, CW_AUTH_READ, list_params},
    {"GET", "/api/v1/incidents/{id}", get_incident, CW_AUTH_READ, get_params},
    {"POST", "/api/v1/incidents/{id}/transitions", post_transition, CW_AUTH_WRITE, no_params},
    {NULL, NULL, NULL, 0, NULL},
};
