/*
 * incident.c — the incident lifecycle, the severity scale, reading incident
 * CDEvents and building the ones conway records (contracts in incident.h).
 */
#include "events/incident.h"

#include <string.h>

#include "events/events_int.h"
#include "util/timeutil.h"

/* ---- lifecycle ------------------------------------------------------------------- */

static const char *const state_names[CW_INC_NSTATES] = {"triggered", "acknowledged", "mitigated",
                                                        "resolved", "closed"};

const char *cw_incident_state_name(cw_incident_state s)
{
    return (unsigned)s < CW_INC_NSTATES ? state_names[s] : NULL;
}

bool cw_incident_state_parse(const char *name, cw_incident_state *out)
{
    for (int i = 0; name && i < CW_INC_NSTATES; i++)
        if (!strcmp(name, state_names[i])) {
            *out = (cw_incident_state)i;
            return true;
        }
    return false;
}

bool cw_incident_state_open(cw_incident_state s) { return s < CW_INC_RESOLVED; }

static bool allowed(cw_incident_state from, cw_incident_state to)
{
    if (from >= CW_INC_NSTATES || to >= CW_INC_NSTATES || to <= from)
        return false;
    /* closed means "postmortem done or not required": only after resolution */
    return to != CW_INC_CLOSED || from == CW_INC_RESOLVED;
}

cw_err cw_incident_transition_check(cw_incident_state from, cw_incident_state to, cw_diag *d)
{
    if (allowed(from, to))
        return CW_OK;
    char next[96] = "";
    size_t o = 0;
    for (int s = 0; s < CW_INC_NSTATES; s++) {
        if (!allowed(from, (cw_incident_state)s))
            continue;
        const char *n = state_names[s];
        size_t len = strlen(n);
        if (o + len + 3 >= sizeof next)
            break;
        if (o) {
            memcpy(next + o, ", ", 2);
            o += 2;
        }
        memcpy(next + o, n, len);
        o += len;
        next[o] = '\0';
    }
    const char *f = cw_incident_state_name(from), *t = cw_incident_state_name(to);
    if (from == to)
        return cw_fail(d, CW_ERR_CONFLICT, "to: the incident is already %s", f ? f : "?");
    return cw_fail(d, CW_ERR_CONFLICT, "to: an incident cannot go from %s to %s (allowed: %s)",
                   f ? f : "?", t ? t : "?", o ? next : "none, closed is final");
}

/* ---- severity -------------------------------------------------------------------- */

typedef struct {
    const char *word;
    cw_severity sev;
} sev_word;

static const sev_word sev_words[] = {
    {"critical", CW_SEV_CRITICAL}, {"crit", CW_SEV_CRITICAL},    {"fatal", CW_SEV_CRITICAL},
    {"emergency", CW_SEV_CRITICAL}, {"page", CW_SEV_CRITICAL},   {"sev0", CW_SEV_CRITICAL},
    {"sev1", CW_SEV_CRITICAL},     {"p0", CW_SEV_CRITICAL},      {"p1", CW_SEV_CRITICAL},
    {"high", CW_SEV_HIGH},         {"error", CW_SEV_HIGH},       {"err", CW_SEV_HIGH},
    {"major", CW_SEV_HIGH},        {"sev2", CW_SEV_HIGH},        {"p2", CW_SEV_HIGH},
    {"warning", CW_SEV_WARNING},   {"warn", CW_SEV_WARNING},     {"medium", CW_SEV_WARNING},
    {"moderate", CW_SEV_WARNING},  {"sev3", CW_SEV_WARNING},     {"p3", CW_SEV_WARNING},
    {"low", CW_SEV_LOW},           {"minor", CW_SEV_LOW},        {"sev4", CW_SEV_LOW},
    {"p4", CW_SEV_LOW},            {"info", CW_SEV_INFO},        {"informational", CW_SEV_INFO},
    {"notice", CW_SEV_INFO},       {"sev5", CW_SEV_INFO},        {"p5", CW_SEV_INFO},
};

cw_severity cw_severity_parse(const char *raw)
{
    if (!raw)
        return CW_SEV_UNKNOWN;
    /* "SEV-1" and "sev_1" read as "sev1"; longer words are unknown anyway */
    char w[16];
    size_t o = 0;
    for (size_t i = 0; raw[i]; i++) {
        char c = raw[i];
        if ((c == '-' || c == '_') && o == 3 && (raw[i + 1] >= '0' && raw[i + 1] <= '9'))
            continue;
        if (o + 1 >= sizeof w)
            return CW_SEV_UNKNOWN;
        w[o++] = c;
    }
    w[o] = '\0';
    for (size_t i = 0; i < sizeof sev_words / sizeof sev_words[0]; i++)
        if (cw__ieq(w, sev_words[i].word))
            return sev_words[i].sev;
    return CW_SEV_UNKNOWN;
}

const char *cw_severity_name(cw_severity s)
{
    switch (s) {
    case CW_SEV_CRITICAL: return "critical";
    case CW_SEV_HIGH: return "high";
    case CW_SEV_WARNING: return "warning";
    case CW_SEV_LOW: return "low";
    case CW_SEV_INFO: return "info";
    case CW_SEV_UNKNOWN: break;
    }
    return NULL;
}

bool cw_severity_name_parse(const char *name, cw_severity *out)
{
    for (int s = CW_SEV_INFO; name && s <= CW_SEV_CRITICAL; s++)
        if (!strcmp(name, cw_severity_name((cw_severity)s))) {
            *out = (cw_severity)s;
            return true;
        }
    return false;
}

/* ---- reading incident CDEvents ---------------------------------------------------- */

static const char *str_at(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : NULL;
}

cw_err cw_incident_event_read(const json_t *ev, cw_incident_event *out, cw_diag *d)
{
    memset(out, 0, sizeof *out);
    const json_t *ctx = json_object_get(ev, "context"), *subj = json_object_get(ev, "subject");
    const json_t *content = json_object_get(subj, "content");
    const json_t *custom = json_object_get(ev, "customData");
    const char *type = str_at(ctx, "type");
    static const char prefix[] = "dev.cdevents.incident.";
    if (!type || strncmp(type, prefix, sizeof prefix - 1))
        return cw_fail(d, CW_ERR_INVALID, "context.type: not an incident event");
    const char *pred = type + sizeof prefix - 1;
    if (!strncmp(pred, "detected.", 9))
        out->kind = CW_INC_EV_DETECTED;
    else if (!strncmp(pred, "reported.", 9))
        out->kind = CW_INC_EV_REPORTED;
    else if (!strncmp(pred, "resolved.", 9))
        out->kind = CW_INC_EV_RESOLVED;
    else
        return cw_fail(d, CW_ERR_INVALID, "context.type: not an incident event");
    out->event_source = str_at(ctx, "source");
    out->event_id = str_at(ctx, "id");
    out->subject_id = str_at(subj, "id");
    out->source = str_at(subj, "source");
    if (!out->source)
        out->source = out->event_source;
    const char *ts = str_at(ctx, "timestamp");
    if (!out->event_source || !out->event_id || !out->subject_id)
        return cw_fail(d, CW_ERR_INVALID, "%s: required",
                       !out->event_source ? "context.source"
                       : !out->event_id   ? "context.id"
                                          : "subject.id");
    if (!ts || !cw_time_parse_rfc3339(ts, &out->time_ms))
        return cw_fail(d, CW_ERR_INVALID, "context.timestamp: not an RFC 3339 date-time");
    out->service_id = str_at(json_object_get(content, "service"), "id");
    out->artifact_id = str_at(content, "artifactId");
    out->environment = str_at(json_object_get(content, "environment"), "id");
    out->description = str_at(content, "description");
    if (json_is_object(custom)) {
        out->severity = str_at(custom, "severity");
        out->title = str_at(custom, "title");
        out->group_key = str_at(custom, "groupKey");
    }
    if (!out->title)
        out->title = out->description;
    return CW_OK;
}

/* ---- building incident CDEvents --------------------------------------------------- */

/* json_object_set_new that remembers a failure. */
static void put(json_t *o, const char *key, json_t *v, bool *ok)
{
    /* set_new takes v even when it fails (or o is NULL) */
    if (!v || json_object_set_new(o, key, v))
        *ok = false;
}

json_t *cw_incident_cdevent_build(const cw_incident_cdevent_spec *sp)
{
    bool ok = true;
    char ts[32];
    cw_time_format_ms(sp->time_ms, ts);
    json_t *ev = json_object(), *ctx = json_object(), *subj = json_object(),
           *content = json_object(), *env = json_object(), *custom = json_object();
    put(ctx, "specversion", json_string("0.5.1"), &ok);
    put(ctx, "id", json_string(sp->event_id), &ok);
    put(ctx, "source", json_string(sp->event_source), &ok);
    put(ctx, "type",
        json_string(sp->kind == CW_INC_EV_RESOLVED ? CW_INCIDENT_RESOLVED_TYPE
                                                   : CW_INCIDENT_DETECTED_TYPE),
        &ok);
    put(ctx, "timestamp", json_string(ts), &ok);
    put(subj, "id", json_string(sp->subject_id), &ok);
    if (sp->subject_source)
        put(subj, "source", json_string(sp->subject_source), &ok);
    if (sp->description)
        put(content, "description", json_string(sp->description), &ok);
    put(env, "id", json_string(sp->environment ? sp->environment : "unknown"), &ok);
    put(content, "environment", json_incref(env), &ok);
    if (sp->service_id)
        put(content, "service", json_pack("{s:s}", "id", sp->service_id), &ok);
    put(subj, "content", json_incref(content), &ok);
    if (sp->extra && custom && json_object_update(custom, sp->extra))
        ok = false;
    if (sp->severity)
        put(custom, "severity", json_string(sp->severity), &ok);
    if (sp->title)
        put(custom, "title", json_string(sp->title), &ok);
    if (sp->group_key)
        put(custom, "groupKey", json_string(sp->group_key), &ok);
    put(ev, "context", json_incref(ctx), &ok);
    put(ev, "subject", json_incref(subj), &ok);
    if (json_object_size(custom)) {
        put(ev, "customData", json_incref(custom), &ok);
        put(ev, "customDataContentType", json_string("application/json"), &ok);
    }
    json_decref(ctx);
    json_decref(subj);
    json_decref(content);
    json_decref(env);
    json_decref(custom);
    if (!ok) {
        json_decref(ev);
        return NULL;
    }
    return ev;
}
