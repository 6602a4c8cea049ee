/*
 * store_incidents.c — the public incidents functions (store_incidents.h):
 * argument checks shared by every backend, then dispatch through the
 * vtable; plus the backend-neutral half (incidents_impl.h): the SQL both
 * engines run, the values an incident CDEvent writes, and rows → structs.
 */
#include "store/incidents_impl.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/alertmanager.h"
#include "events/incident.h"
#include "store/store_common.h"
#include "util/utf8.h"

/* ---- SQL ------------------------------------------------------------------------------ */

/* Merging an event into its incident: earliest detected, latest resolved,
 * the start is the detected time once known (else the earliest event), a
 * resolved event resolves an open incident, first values stay, the latest
 * severity given wins. */
#define MERGED_DETECTED                                                                    \
    "CASE WHEN excluded.detected_ms IS NULL THEN incidents.detected_ms"                   \
    " WHEN incidents.detected_ms IS NULL OR excluded.detected_ms < incidents.detected_ms" \
    " THEN excluded.detected_ms ELSE incidents.detected_ms END"

const char cw__incident_upsert_sql[] =
    "INSERT INTO incidents (source, subject_id, group_key, title, severity, severity_raw,"
    " state, start_ms, detected_ms, resolved_ms, service_id, artifact_id, environment,"
    " created_ms, updated_ms)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
    " CASE WHEN CAST(?9 AS BIGINT) IS NULL THEN 'triggered' ELSE 'resolved' END,"
    " CAST(?7 AS BIGINT), CAST(?8 AS BIGINT), CAST(?9 AS BIGINT), ?10, ?11, ?12,"
    " CAST(?13 AS BIGINT), CAST(?13 AS BIGINT))"
    " ON CONFLICT (source, subject_id) DO UPDATE SET"
    " group_key = COALESCE(incidents.group_key, excluded.group_key),"
    " title = COALESCE(incidents.title, excluded.title),"
    " severity = CASE WHEN excluded.severity_raw IS NULL THEN incidents.severity"
    "  ELSE excluded.severity END,"
    " severity_raw = COALESCE(excluded.severity_raw, incidents.severity_raw),"
    " detected_ms = " MERGED_DETECTED ","
    " start_ms = CASE WHEN (" MERGED_DETECTED ") IS NOT NULL THEN (" MERGED_DETECTED ")"
    "  WHEN excluded.start_ms < incidents.start_ms THEN excluded.start_ms"
    "  ELSE incidents.start_ms END,"
    " resolved_ms = CASE WHEN excluded.resolved_ms IS NULL THEN incidents.resolved_ms"
    "  WHEN incidents.resolved_ms IS NULL OR excluded.resolved_ms > incidents.resolved_ms"
    "  THEN excluded.resolved_ms ELSE incidents.resolved_ms END,"
    " state = CASE WHEN excluded.resolved_ms IS NOT NULL"
    "  AND incidents.state IN ('triggered', 'acknowledged', 'mitigated') THEN 'resolved'"
    "  ELSE incidents.state END,"
    " service_id = COALESCE(incidents.service_id, excluded.service_id),"
    " artifact_id = COALESCE(incidents.artifact_id, excluded.artifact_id),"
    " environment = COALESCE(incidents.environment, excluded.environment),"
    " updated_ms = excluded.updated_ms"
    " RETURNING id";

const char cw__incident_timeline_sql[] =
    "INSERT INTO incident_timeline (incident_id, at_ms, kind, actor, from_state, to_state,"
    " text, ref) VALUES (CAST(?1 AS BIGINT), CAST(?2 AS BIGINT), ?3, ?4, ?5, ?6, ?7, ?8)"
    " ON CONFLICT (incident_id, kind, ref) DO NOTHING";

const char cw__incident_alert_upsert_sql[] =
    "INSERT INTO incident_alerts (incident_id, fingerprint, status, starts_ms, ends_ms,"
    " labels, annotations, generator_url, updated_ms)"
    " VALUES (CAST(?1 AS BIGINT), ?2, ?3, CAST(?4 AS BIGINT), CAST(?5 AS BIGINT), ?6, ?7, ?8,"
    " CAST(?9 AS BIGINT))"
    " ON CONFLICT (incident_id, fingerprint) DO UPDATE SET status = excluded.status,"
    " starts_ms = excluded.starts_ms, ends_ms = excluded.ends_ms, labels = excluded.labels,"
    " annotations = excluded.annotations, generator_url = excluded.generator_url,"
    " updated_ms = excluded.updated_ms";

/* the row lock orders concurrent transitions of one incident (PostgreSQL) */
const char cw__incident_state_sql[] =
    "SELECT state, resolved_ms FROM incidents WHERE id = CAST(?1 AS BIGINT) FOR UPDATE";

const char cw__incident_update_sql[] =
    "UPDATE incidents SET state = ?1, updated_ms = CAST(?2 AS BIGINT),"
    " resolved_ms = CASE WHEN ?1 = 'resolved' AND resolved_ms IS NULL"
    "  THEN CAST(?2 AS BIGINT) ELSE resolved_ms END"
    " WHERE id = CAST(?3 AS BIGINT)";

const char cw__incident_touch_sql[] =
    "UPDATE incidents SET updated_ms = CAST(?1 AS BIGINT) WHERE id = CAST(?2 AS BIGINT)";

const char cw__incident_id_by_key_sql[] =
    "SELECT id FROM incidents WHERE source = ?1 AND subject_id = ?2";

const char cw__incident_timeline_list_sql[] =
    "SELECT id, at_ms, kind, actor, from_state, to_state, text, ref FROM incident_timeline"
    " WHERE incident_id = CAST(?1 AS BIGINT) ORDER BY at_ms DESC, id DESC"
    " LIMIT CAST(?2 AS BIGINT)";

const char cw__incident_alerts_list_sql[] =
    "SELECT fingerprint, status, starts_ms, ends_ms, labels, annotations, generator_url,"
    " updated_ms FROM incident_alerts WHERE incident_id = CAST(?1 AS BIGINT)"
    " ORDER BY CASE WHEN status = 'firing' THEN 0 ELSE 1 END, starts_ms, fingerprint";

/* cls 3 = CW__EVC_INCIDENT (events_impl.h) */
const char cw__incident_backfill_sql[] =
    "SELECT dict_id, doc FROM events WHERE cls = 3 ORDER BY id";
const char cw__incident_backfill_flag_sql[] =
    "SELECT value FROM cw_meta WHERE name = 'incidents_backfill'";
/* instances starting together derive once: the flag row is locked */
const char cw__incident_backfill_lock_sql[] =
    "SELECT value FROM cw_meta WHERE name = 'incidents_backfill' FOR UPDATE";
const char cw__incident_backfill_done_sql[] =
    "UPDATE cw_meta SET value = 1 WHERE name = 'incidents_backfill'";

const char *cw__incident_get_sql(int by)
{
    switch (by) {
    case CW__INC_BY_ID:
        return "SELECT " CW__INCIDENT_COLS CW__INCIDENT_FROM " WHERE i.id = CAST(?1 AS BIGINT)";
    case CW__INC_BY_GROUP:
        return "SELECT " CW__INCIDENT_COLS CW__INCIDENT_FROM
               " WHERE i.group_key = ?1 AND i.source = ?2 ORDER BY i.id DESC LIMIT 1";
    default:
        return "SELECT " CW__INCIDENT_COLS CW__INCIDENT_FROM
               " WHERE i.source = ?1 AND i.subject_id = ?2";
    }
}

static void add_in_list(cw_buf *sql, const char *column, unsigned bits, int lo, int hi,
                        const char *(*name)(int))
{
    cw_buf_printf(sql, " AND %s IN (", column);
    bool first = true;
    for (int v = lo; v <= hi; v++) {
        if (!(bits & (1u << v)) || !name(v))
            continue;
        /* names are the model's own constants: safe to inline */
        cw_buf_printf(sql, "%s'%s'", first ? "" : ", ", name(v));
        first = false;
    }
    cw_buf_puts(sql, ")");
}

static const char *state_name(int v) { return cw_incident_state_name((cw_incident_state)v); }
static const char *sev_name(int v) { return cw_severity_name((cw_severity)v); }

cw_err cw__incident_list_sql(const cw_incident_query *q, cw_buf *sql,
                             cw__sql_param params[CW__INCIDENT_QUERY_PARAMS], int *np, cw_diag *d)
{
    int n = 0;
    cw_buf_reset(sql);
    cw_buf_puts(sql, "SELECT " CW__INCIDENT_COLS CW__INCIDENT_FROM " WHERE 1 = 1");
    if (q->scope && q->scope->kind != CW_SCOPE_ORG) {
        char param[8], ids[1024];
        snprintf(param, sizeof param, "?%d", n + 1);
        params[n++] = (cw__sql_param){q->scope->key, 0};
        cw__scope_ids_sql(q->scope, param, ids, sizeof ids);
        cw_buf_printf(sql, " AND l.component_id IN (%s)", ids);
    }
    if (q->states)
        add_in_list(sql, "i.state", q->states, 0, CW_INC_NSTATES - 1, state_name);
    if (q->severities) {
        bool unknown = q->severities & CW_SEVERITY_BIT(CW_SEV_UNKNOWN);
        unsigned known = q->severities & ~CW_SEVERITY_BIT(CW_SEV_UNKNOWN);
        if (known && unknown) {
            cw_buf_puts(sql, " AND (i.severity IS NULL OR 1 = 1");
            add_in_list(sql, "i.severity", known, CW_SEV_INFO, CW_SEV_CRITICAL, sev_name);
            cw_buf_puts(sql, ")");
        } else if (known) {
            add_in_list(sql, "i.severity", known, CW_SEV_INFO, CW_SEV_CRITICAL, sev_name);
        } else {
            cw_buf_puts(sql, " AND i.severity IS NULL");
        }
    }
    if (q->from_ms != INT64_MIN) {
        params[n++] = (cw__sql_param){NULL, q->from_ms};
        cw_buf_printf(sql, " AND i.start_ms >= CAST(?%d AS BIGINT)", n);
    }
    if (q->to_ms != INT64_MAX) {
        params[n++] = (cw__sql_param){NULL, q->to_ms};
        cw_buf_printf(sql, " AND i.start_ms < CAST(?%d AS BIGINT)", n);
    }
    if (q->subject_id) {
        params[n++] = (cw__sql_param){q->subject_id, 0};
        cw_buf_printf(sql, " AND i.subject_id = ?%d", n);
    }
    if (q->resolved_before_ms) {
        params[n++] = (cw__sql_param){NULL, q->resolved_before_ms};
        cw_buf_printf(sql, " AND i.resolved_ms < CAST(?%d AS BIGINT)", n);
    }
    if (q->after) {
        params[n++] = (cw__sql_param){NULL, q->after_start_ms};
        params[n++] = (cw__sql_param){NULL, q->after_id};
        cw_buf_printf(sql,
                      " AND (i.start_ms < CAST(?%d AS BIGINT) OR (i.start_ms = CAST(?%d AS BIGINT)"
                      " AND i.id < CAST(?%d AS BIGINT)))",
                      n - 1, n - 1, n);
    }
    params[n++] = (cw__sql_param){NULL, (int64_t)(q->limit > INT64_MAX ? INT64_MAX : q->limit)};
    if (cw_buf_printf(sql, " ORDER BY i.start_ms DESC, i.id DESC LIMIT CAST(?%d AS BIGINT)", n))
        return cw_fail(d, CW_ERR_NOMEM, "incidents: out of memory");
    *np = n;
    return CW_OK;
}

/* ---- values --------------------------------------------------------------------------- */

static cw__sql_param text_p(const char *s) { return (cw__sql_param){s, 0}; }
static cw__sql_param int_p(int64_t i) { return (cw__sql_param){NULL, i}; }
static cw__sql_param null_p(void) { return (cw__sql_param){NULL, CW__PARAM_NULL_I}; }

/* Copies s into out (cap bytes) cutting at a character boundary. */
static void copy_cut(char *out, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(out, s, n);
    out[n] = '\0';
}

void cw__incident_values_free(cw__incident_values *v)
{
    json_decref(v->root);
    v->root = NULL;
}

cw_err cw__incident_values_from_body(const char *body, int64_t now_ms, cw__incident_values *v,
                                     cw_diag *d)
{
    memset(v, 0, sizeof *v);
    json_error_t je;
    v->root = json_loads(body, 0, &je);
    if (!v->root)
        return cw_fail(d, CW_ERR_INVALID, "incident event: stored body is not JSON");
    cw_incident_event ie;
    cw_err err = cw_incident_event_read(v->root, &ie, d);
    if (err) {
        cw__incident_values_free(v);
        return err;
    }
    bool resolved = ie.kind == CW_INC_EV_RESOLVED;
    const char *sev = ie.severity ? cw_severity_name(cw_severity_parse(ie.severity)) : NULL;
    cw__sql_param *u = v->ups;
    u[0] = text_p(ie.source);
    u[1] = text_p(ie.subject_id);
    u[2] = ie.group_key ? text_p(ie.group_key) : null_p();
    u[3] = ie.title ? text_p(ie.title) : null_p();
    u[4] = sev ? text_p(sev) : null_p();
    u[5] = ie.severity ? text_p(ie.severity) : null_p();
    u[6] = int_p(ie.time_ms);
    u[7] = resolved ? null_p() : int_p(ie.time_ms);
    u[8] = resolved ? int_p(ie.time_ms) : null_p();
    u[9] = ie.service_id ? text_p(ie.service_id) : null_p();
    u[10] = ie.artifact_id ? text_p(ie.artifact_id) : null_p();
    u[11] = ie.environment ? text_p(ie.environment) : null_p();
    u[12] = int_p(now_ms);
    const char *what = ie.kind == CW_INC_EV_DETECTED   ? "incident.detected"
                       : ie.kind == CW_INC_EV_REPORTED ? "incident.reported"
                                                       : "incident.resolved";
    char text[600];
    snprintf(text, sizeof text, "%s%s%s", what, ie.description ? ": " : "",
             ie.description ? ie.description : "");
    copy_cut(v->text, sizeof v->text, text);
    char ref[1100];
    snprintf(ref, sizeof ref, "%s %s", ie.event_source, ie.event_id);
    copy_cut(v->ref, sizeof v->ref, ref);
    cw__sql_param *t = v->tl;
    t[0] = null_p(); /* the incident id, set by the backend */
    t[1] = int_p(ie.time_ms);
    t[2] = text_p("event");
    t[3] = text_p(ie.event_source);
    t[4] = null_p();
    t[5] = null_p();
    t[6] = text_p(v->text);
    t[7] = text_p(v->ref);
    return CW_OK;
}

void cw__alert_values_make(int64_t incident_id, const cw_incident_alert_in *a, int64_t now_ms,
                           cw__alert_values *v)
{
    memset(v, 0, sizeof *v);
    const char *status = a->firing ? "firing" : "resolved";
    int64_t at = a->firing ? a->starts_ms : (a->ends_ms ? a->ends_ms : now_ms);
    cw__sql_param *u = v->up;
    u[0] = int_p(incident_id);
    u[1] = text_p(a->fingerprint);
    u[2] = text_p(status);
    u[3] = int_p(a->starts_ms);
    u[4] = a->ends_ms ? int_p(a->ends_ms) : null_p();
    u[5] = text_p(a->labels);
    u[6] = a->annotations ? text_p(a->annotations) : null_p();
    u[7] = a->generator_url ? text_p(a->generator_url) : null_p();
    u[8] = int_p(now_ms);
    char text[600];
    snprintf(text, sizeof text, "%s %s", a->summary ? a->summary : "alert", status);
    copy_cut(v->text, sizeof v->text, text);
    /* one entry per change of the alert: a repeated notification adds none */
    char ref[300];
    snprintf(ref, sizeof ref, "%s/%s/%" PRId64, a->fingerprint, status, a->starts_ms);
    copy_cut(v->ref, sizeof v->ref, ref);
    cw__sql_param *t = v->tl;
    t[0] = int_p(incident_id);
    t[1] = int_p(at);
    t[2] = text_p("alert");
    t[3] = text_p("alertmanager");
    t[4] = null_p();
    t[5] = null_p();
    t[6] = text_p(v->text);
    t[7] = text_p(v->ref);
}

void cw__change_values_make(int64_t incident_id, const cw_incident_change *c,
                            cw_incident_state from, cw__change_values *v)
{
    cw__sql_param *t = v->tl;
    t[0] = int_p(incident_id);
    t[1] = int_p(c->now_ms);
    t[2] = text_p(c->has_to ? "transition" : "note");
    t[3] = text_p(c->actor);
    t[4] = c->has_to ? text_p(cw_incident_state_name(from)) : null_p();
    t[5] = c->has_to ? text_p(cw_incident_state_name(c->to)) : null_p();
    t[6] = c->note ? text_p(c->note) : null_p();
    t[7] = null_p(); /* transitions and notes never collide */
}

/* ---- rows ------------------------------------------------------------------------------ */

void cw_incident_free(cw_incident *i)
{
    if (!i)
        return;
    free(i->source);
    free(i->subject_id);
    free(i->group_key);
    free(i->title);
    free(i->severity);
    free(i->severity_raw);
    free(i->service_id);
    free(i->artifact_id);
    free(i->environment);
    free(i->component_ref);
    free(i->owner_ref);
    memset(i, 0, sizeof *i);
}

void cw_incident_list_free(cw_incident_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->len; i++)
        cw_incident_free(&l->items[i]);
    free(l->items);
    l->items = NULL;
    l->len = 0;
}

cw_err cw__incident_fill(cw_incident *out, const cw__incident_cols *c, cw_diag *d)
{
    bool oom = false;
    memset(out, 0, sizeof *out);
    out->id = c->id;
    out->start_ms = c->start_ms;
    out->detected_ms = c->detected_ms;
    out->resolved_ms = c->resolved_ms;
    out->updated_ms = c->updated_ms;
    out->source = cw__text_dup(c->source, &oom);
    out->subject_id = cw__text_dup(c->subject_id, &oom);
    out->group_key = cw__text_dup(c->group_key, &oom);
    out->title = cw__text_dup(c->title, &oom);
    out->severity = cw__text_dup(c->severity, &oom);
    out->severity_raw = cw__text_dup(c->severity_raw, &oom);
    out->service_id = cw__text_dup(c->service_id, &oom);
    out->artifact_id = cw__text_dup(c->artifact_id, &oom);
    out->environment = cw__text_dup(c->environment, &oom);
    out->component_ref = cw__text_dup(c->component_ref, &oom);
    out->owner_ref = cw__text_dup(c->owner_ref, &oom);
    if (oom || !out->source || !out->subject_id)
        return cw_fail(d, CW_ERR_NOMEM, "incidents: out of memory");
    char state[16] = "";
    if (c->state.s && c->state.n < sizeof state)
        memcpy(state, c->state.s, c->state.n);
    if (!cw_incident_state_parse(state, &out->state))
        return cw_fail(d, CW_ERR_IO, "incidents: stored state \"%s\" is not one conway knows",
                       state);
    return CW_OK;
}

void cw_incident_entries_free(cw_incident_entry *e, size_t n)
{
    for (size_t i = 0; e && i < n; i++) {
        free(e[i].actor);
        free(e[i].from_state);
        free(e[i].to_state);
        free(e[i].text);
        free(e[i].ref);
    }
    free(e);
}

static const char *entry_kind(cw__text k)
{
    static const char *const kinds[] = {"event", "alert", "transition", "note"};
    for (size_t i = 0; k.s && i < 4; i++)
        if (k.n == strlen(kinds[i]) && !memcmp(k.s, kinds[i], k.n))
            return kinds[i];
    return NULL;
}

cw_err cw__entry_fill(cw_incident_entry *out, const cw__entry_cols *c, cw_diag *d)
{
    bool oom = false;
    memset(out, 0, sizeof *out);
    out->id = c->id;
    out->at_ms = c->at_ms;
    out->kind = entry_kind(c->kind);
    out->actor = cw__text_dup(c->actor, &oom);
    out->from_state = cw__text_dup(c->from_state, &oom);
    out->to_state = cw__text_dup(c->to_state, &oom);
    out->text = cw__text_dup(c->text, &oom);
    out->ref = cw__text_dup(c->ref, &oom);
    if (oom)
        return cw_fail(d, CW_ERR_NOMEM, "incidents: out of memory");
    if (!out->kind)
        return cw_fail(d, CW_ERR_IO, "incidents: a timeline entry of unknown kind");
    return CW_OK;
}

void cw_incident_alerts_free(cw_incident_alert *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++) {
        free(a[i].fingerprint);
        free(a[i].labels);
        free(a[i].annotations);
        free(a[i].generator_url);
    }
    free(a);
}

cw_err cw__alert_fill(cw_incident_alert *out, const cw__alert_cols *c, cw_diag *d)
{
    bool oom = false;
    memset(out, 0, sizeof *out);
    out->fingerprint = cw__text_dup(c->fingerprint, &oom);
    out->firing = c->status.s && c->status.n == 6 && !memcmp(c->status.s, "firing", 6);
    out->starts_ms = c->starts_ms;
    out->ends_ms = c->ends_ms;
    out->labels = cw__text_dup(c->labels, &oom);
    out->annotations = cw__text_dup(c->annotations, &oom);
    out->generator_url = cw__text_dup(c->generator_url, &oom);
    out->updated_ms = c->updated_ms;
    if (oom || !out->fingerprint || !out->labels)
        return cw_fail(d, CW_ERR_NOMEM, "incidents: out of memory");
    return CW_OK;
}

/* ---- public functions ------------------------------------------------------------------- */

#define OPS(s, ops, d)                                                                        \
    do {                                                                                      \
        if (!(s))                                                                             \
            return cw_fail((d), CW_ERR_INVALID, "store: no store handle");                   \
        (ops) = (s)->vt->incidents;                                                           \
        if (!(ops))                                                                           \
            return cw_fail((d), CW_ERR_UNSUPPORTED,                                           \
                           "store: the %s backend does not implement incidents",              \
                           (s)->vt->backend);                                                 \
    } while (0)

cw_err cw_store_incidents_query(cw_store *s, const cw_incident_query *q, cw_incident_list *out,
                                cw_diag *d)
{
    memset(out, 0, sizeof *out);
    const struct cw_store_incident_ops *ops;
    OPS(s, ops, d);
    if (!q || q->limit == 0)
        return cw_fail(d, CW_ERR_INVALID, "limit: must be at least 1");
    if (q->from_ms >= q->to_ms)
        return cw_fail(d, CW_ERR_INVALID, "to: must be later than from");
    return ops->query(s, q, out, d);
}

static cw_err get(cw_store *s, const cw__incident_lookup *k, cw_incident *out, cw_diag *d)
{
    memset(out, 0, sizeof *out);
    const struct cw_store_incident_ops *ops;
    OPS(s, ops, d);
    return ops->get(s, k, out, d);
}

cw_err cw_store_incident_get(cw_store *s, int64_t id, cw_incident *out, cw_diag *d)
{
    cw__incident_lookup k = {.by = CW__INC_BY_ID, .id = id};
    return get(s, &k, out, d);
}

cw_err cw_store_incident_by_group(cw_store *s, const char *group_key, cw_incident *out,
                                  cw_diag *d)
{
    if (!group_key || !*group_key)
        return cw_fail(d, CW_ERR_INVALID, "groupKey: required");
    cw__incident_lookup k = {.by = CW__INC_BY_GROUP, .a = group_key, .b = CW_AM_SOURCE};
    return get(s, &k, out, d);
}

cw_err cw_store_incident_by_key(cw_store *s, const char *source, const char *subject_id,
                                cw_incident *out, cw_diag *d)
{
    if (!source || !subject_id)
        return cw_fail(d, CW_ERR_INVALID, "incident: source and subject id required");
    cw__incident_lookup k = {.by = CW__INC_BY_KEY, .a = source, .b = subject_id};
    return get(s, &k, out, d);
}

cw_err cw_store_incident_timeline(cw_store *s, int64_t id, size_t max, cw_incident_entry **out,
                                  size_t *n, cw_diag *d)
{
    *out = NULL;
    *n = 0;
    const struct cw_store_incident_ops *ops;
    OPS(s, ops, d);
    if (max == 0)
        return CW_OK;
    return ops->timeline(s, id, max, out, n, d);
}

cw_err cw_store_incident_alerts(cw_store *s, int64_t id, cw_incident_alert **out, size_t *n,
                                cw_diag *d)
{
    *out = NULL;
    *n = 0;
    const struct cw_store_incident_ops *ops;
    OPS(s, ops, d);
    return ops->alerts(s, id, out, n, d);
}

cw_err cw_store_incident_alerts_put(cw_store *s, const char *source, const char *subject_id,
                                    const cw_incident_alert_in *alerts, size_t n, int64_t now_ms,
                                    cw_diag *d)
{
    const struct cw_store_incident_ops *ops;
    OPS(s, ops, d);
    if (!source || !subject_id)
        return cw_fail(d, CW_ERR_INVALID, "incident: source and subject id required");
    for (size_t i = 0; i < n; i++)
        if (!alerts[i].fingerprint || !*alerts[i].fingerprint || !alerts[i].labels)
            return cw_fail(d, CW_ERR_INVALID, "alerts[%zu]: fingerprint and labels required", i);
    return ops->alerts_put(s, source, subject_id, alerts, n, now_ms, d);
}

static bool text_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    return n >= 1 && n <= max && cw_utf8_valid(s, n);
}

cw_err cw_store_incident_change(cw_store *s, const cw_incident_change *c, cw_incident *after,
                                cw_diag *d)
{
    if (after)
        memset(after, 0, sizeof *after);
    const struct cw_store_incident_ops *ops;
    OPS(s, ops, d);
    if (!c->has_to && !c->note)
        return cw_fail(d, CW_ERR_INVALID, "body: give \"to\" (a state) or \"note\" (a text), or both");
    if (c->has_to && (unsigned)c->to >= CW_INC_NSTATES)
        return cw_fail(d, CW_ERR_INVALID, "to: not a state");
    if (c->note && !text_ok(c->note, CW_INCIDENT_NOTE_MAX))
        return cw_fail(d, CW_ERR_INVALID, "note: must be 1 to %d bytes of UTF-8 text",
                       CW_INCIDENT_NOTE_MAX);
    if (!c->actor || !text_ok(c->actor, CW_INCIDENT_ACTOR_MAX))
        return cw_fail(d, CW_ERR_INVALID, "actor: must be 1 to %d bytes of UTF-8 text",
                       CW_INCIDENT_ACTOR_MAX);
    return ops->change(s, c, after, d);
}
