/*
 * incident.h — the incident model of issue #13, shared by the store (which
 * keeps incidents), the insights (postmortem findings) and the HTTP layer:
 *
 * - the lifecycle triggered → acknowledged → mitigated → resolved → closed
 *   and which transitions a person may make;
 * - the severity scale (critical > high > warning > low > info) onto which
 *   the free-form severities of alerting and incident tools are mapped;
 * - what an incident CDEvent says about its incident (the key, times,
 *   service, severity and Alertmanager group it carries), read the same way
 *   by the store's intake and by the Alertmanager mapping;
 * - building the incident CDEvents conway itself records (Alertmanager
 *   notifications and manual resolutions), so that every incident reaches
 *   the DORA metrics through the one events intake.
 * Pure: no I/O. Rules for users: docs/incidents.md.
 */
#ifndef CW_EVENTS_INCIDENT_H
#define CW_EVENTS_INCIDENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* ---- lifecycle ------------------------------------------------------------------- */

typedef enum {
    CW_INC_TRIGGERED = 0,
    CW_INC_ACKNOWLEDGED,
    CW_INC_MITIGATED,
    CW_INC_RESOLVED,
    CW_INC_CLOSED,
    CW_INC_NSTATES
} cw_incident_state;

/* "triggered", ... ; NULL for a value out of range. */
const char *cw_incident_state_name(cw_incident_state s);
/* Exact lower-case name; false when unknown. */
bool cw_incident_state_parse(const char *name, cw_incident_state *out);
/* Whether the incident is still being handled (triggered, acknowledged or
 * mitigated): an "open" incident. */
bool cw_incident_state_open(cw_incident_state s);

/*
 * Whether a person may move an incident from `from` to `to`. Allowed: any
 * move forward along triggered → acknowledged → mitigated → resolved
 * (skipping states is fine: a short incident goes straight to resolved),
 * and resolved → closed. closed is final; nothing moves backwards (a
 * recurrence is a new incident). CW_ERR_CONFLICT with d naming both states
 * and the states allowed from `from` otherwise (to == from included).
 */
cw_err cw_incident_transition_check(cw_incident_state from, cw_incident_state to, cw_diag *d);

/* ---- severity -------------------------------------------------------------------- */

typedef enum {
    CW_SEV_UNKNOWN = 0, /* missing, or a word conway does not know */
    CW_SEV_INFO,
    CW_SEV_LOW,
    CW_SEV_WARNING,
    CW_SEV_HIGH,
    CW_SEV_CRITICAL
} cw_severity;

#define CW_SEV_DEFAULT_THRESHOLD CW_SEV_CRITICAL

/*
 * Maps a tool's severity word onto the scale, ignoring ASCII case:
 *   critical  critical crit fatal emergency page sev0 sev1 p0 p1
 *   high      high error err major sev2 p2
 *   warning   warning warn medium moderate sev3 p3
 *   low       low minor sev4 p4
 *   info      info informational notice sev5 p5
 * ("sev-1" and "sev_1" are read as "sev1"). NULL or anything else is
 * CW_SEV_UNKNOWN.
 */
cw_severity cw_severity_parse(const char *raw);
/* "critical", ...; NULL for CW_SEV_UNKNOWN. */
const char *cw_severity_name(cw_severity s);
/* Exactly one of the five names (lower case): the form of thresholds and
 * filters. false otherwise. */
bool cw_severity_name_parse(const char *name, cw_severity *out);

/* ---- what an incident CDEvent says ------------------------------------------------ */

typedef enum {
    CW_INC_EV_DETECTED = 1,
    CW_INC_EV_REPORTED,
    CW_INC_EV_RESOLVED
} cw_incident_event_kind;

/*
 * An incident is identified by (source, id): subject.source when the event
 * gives one (the CDEvents default for a subject's source is the context's),
 * else context.source; and subject.id. Everything else is optional:
 * subject.content.service.id, .artifactId, .environment.id, .description;
 * customData.severity, customData.title and customData.groupKey (strings;
 * conway's Alertmanager events set them). All pointers borrow from the
 * event JSON.
 */
typedef struct {
    cw_incident_event_kind kind;
    const char *source;
    const char *subject_id;
    int64_t time_ms;            /* context.timestamp */
    const char *event_source;   /* context.source */
    const char *event_id;       /* context.id */
    const char *service_id;
    const char *artifact_id;
    const char *environment;
    const char *description;
    const char *severity;       /* as written */
    const char *title;          /* customData.title, else description */
    const char *group_key;      /* Alertmanager groupKey */
} cw_incident_event;

/*
 * Reads an incident CDEvent (already validated by cw_cdevent_decode) of
 * type dev.cdevents.incident.{detected,reported,resolved}.*. CW_ERR_INVALID
 * when it is not one, or lacks the envelope fields (d says which).
 */
cw_err cw_incident_event_read(const json_t *cdevent, cw_incident_event *out, cw_diag *d);

/* ---- incident CDEvents conway records --------------------------------------------- */

/* The CDEvents type versions conway writes (spec 0.5.1). */
#define CW_INCIDENT_DETECTED_TYPE "dev.cdevents.incident.detected.0.3.0"
#define CW_INCIDENT_RESOLVED_TYPE "dev.cdevents.incident.resolved.0.3.0"

typedef struct {
    cw_incident_event_kind kind;   /* DETECTED or RESOLVED */
    const char *event_source;      /* context.source (a URI reference) */
    const char *event_id;          /* context.id, unique within event_source */
    const char *subject_source;    /* subject.source; NULL = event_source */
    const char *subject_id;
    int64_t time_ms;
    const char *environment;       /* required by the spec; NULL = "unknown" */
    const char *service_id;        /* NULL: the incident names no service */
    const char *description;       /* NULL: none */
    const char *severity;          /* customData.severity, NULL: none */
    const char *title;             /* customData.title, NULL: none */
    const char *group_key;         /* customData.groupKey, NULL: none */
    json_t *extra;                 /* more customData members, borrowed; NULL */
} cw_incident_cdevent_spec;

/* A new CDEvent (caller owns) in the shape of the spec's examples; NULL
 * when out of memory. The caller decodes it with cw_cdevent_decode. */
json_t *cw_incident_cdevent_build(const cw_incident_cdevent_spec *spec);

#endif
