/*
 * store_incidents.h — incidents in the store (issue #13): one row per
 * incident, derived from the incident CDEvents the events intake stores
 * (Alertmanager notifications arrive as such events too, so DORA needs no
 * second rule), with the alerts of Alertmanager groups and a timeline of
 * events, alerts, transitions and notes. Implemented in store_incidents.c
 * (public functions, reading incident events) and <backend>_incidents.c.
 *
 * Storage decisions:
 * - An incident is unique by (source, subject id) as cw_incident_event_read
 *   gives them. Each incident CDEvent newly stored updates its incident in
 *   the events' own transaction (so an acknowledged event always has its
 *   incident): the detected time is the earliest detected/reported, the
 *   resolved time the latest resolved (the DORA metrics' rule), state
 *   triggered → resolved when a resolved event arrives for an open
 *   incident; the first service id, artifact, environment, title and group
 *   key seen stay; the latest severity given wins.
 * - Incidents that existed as events before this table (databases from
 *   older versions) are derived from the stored events once, by the first
 *   incidents call on a writable store.
 * - The component is the one the service id links to under the events'
 *   linking rules (docs/dora.md), decided when read, so fixing an
 *   annotation re-links incidents as it re-links events.
 * - Timeline entries of events and alerts are unique per incident (a
 *   re-delivered event or repeated notification adds nothing).
 */
#ifndef CW_STORE_INCIDENTS_H
#define CW_STORE_INCIDENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events/incident.h"
#include "store/store.h"

#define CW_INCIDENT_NOTE_MAX 4096     /* bytes of a note */
#define CW_INCIDENT_ACTOR_MAX 160     /* bytes of who made a change */

typedef struct {
    int64_t id;                /* conway's number for it */
    char *source, *subject_id; /* its key (subject_id is its "ref") */
    char *group_key;           /* Alertmanager groupKey, or NULL */
    char *title;               /* or NULL */
    char *severity;            /* critical|high|warning|low|info, or NULL */
    char *severity_raw;        /* as the tool wrote it, or NULL */
    cw_incident_state state;
    int64_t start_ms;          /* detected, else its first event's time */
    int64_t detected_ms;       /* 0: no detected/reported event */
    int64_t resolved_ms;       /* 0: not resolved */
    int64_t updated_ms;
    char *service_id, *artifact_id, *environment; /* or NULL */
    char *component_ref;       /* the Component it links to, or NULL */
    char *owner_ref;           /* that Component's owner, or NULL */
} cw_incident;

void cw_incident_free(cw_incident *i);

/* Bits of cw_incident_query.states / .severities. */
#define CW_INCIDENT_STATE_BIT(s) (1u << (unsigned)(s))
#define CW_INCIDENT_OPEN_STATES                                                  \
    (CW_INCIDENT_STATE_BIT(CW_INC_TRIGGERED) | CW_INCIDENT_STATE_BIT(CW_INC_ACKNOWLEDGED) | \
     CW_INCIDENT_STATE_BIT(CW_INC_MITIGATED))
#define CW_SEVERITY_BIT(s) (1u << (unsigned)(s))

typedef struct {
    const cw_scope *scope;     /* linked to a Component of it; NULL = any */
    unsigned states;           /* CW_INCIDENT_STATE_BIT set; 0 = any */
    unsigned severities;       /* CW_SEVERITY_BIT of known levels; 0 = any
                                  (CW_SEV_UNKNOWN's bit: no known severity) */
    int64_t from_ms, to_ms;    /* start in [from, to); INT64_MIN/MAX = open */
    int64_t resolved_before_ms; /* only resolved before this; 0 = no limit */
    const char *subject_id;    /* only incidents of this ref (any source); NULL = any */
    bool after;                /* keyset paging: only incidents older than */
    int64_t after_start_ms;    /*   (after_start_ms, after_id) in the */
    int64_t after_id;          /*   newest-first order */
    size_t limit;              /* max items */
} cw_incident_query;

typedef struct {
    cw_incident *items;        /* newest first: start, then id, descending */
    size_t len;
} cw_incident_list;

/* Lists incidents. A scope that does not exist is CW_ERR_NOT_FOUND. */
cw_err cw_store_incidents_query(cw_store *s, const cw_incident_query *q, cw_incident_list *out,
                                cw_diag *d);
void cw_incident_list_free(cw_incident_list *l);

/* One incident by id; CW_ERR_NOT_FOUND when there is none. */
cw_err cw_store_incident_get(cw_store *s, int64_t id, cw_incident *out, cw_diag *d);
/* The latest incident (highest id) conway recorded for an Alertmanager
 * group (source CW_AM_SOURCE); CW_ERR_NOT_FOUND when none. */
cw_err cw_store_incident_by_group(cw_store *s, const char *group_key, cw_incident *out,
                                  cw_diag *d);
/* One incident by its key; CW_ERR_NOT_FOUND when none. */
cw_err cw_store_incident_by_key(cw_store *s, const char *source, const char *subject_id,
                                cw_incident *out, cw_diag *d);

/* ---- timeline --------------------------------------------------------------------- */

typedef struct {
    int64_t id;
    int64_t at_ms;
    const char *kind;          /* "event", "alert", "transition", "note" (static) */
    char *actor;               /* who: token name, event source; or NULL */
    char *from_state, *to_state; /* transitions, or NULL */
    char *text;                /* what: event type and description, alert
                                  status and summary, the note; or NULL */
    char *ref;                 /* events: "<source> <id>"; alerts: fingerprint */
} cw_incident_entry;

/* The incident's timeline in time order (at, then id); at most max entries
 * (the newest kept when more). CW_ERR_NOT_FOUND when no such incident. */
cw_err cw_store_incident_timeline(cw_store *s, int64_t id, size_t max, cw_incident_entry **out,
                                  size_t *n, cw_diag *d);
void cw_incident_entries_free(cw_incident_entry *e, size_t n);

/* ---- Alertmanager alerts ---------------------------------------------------------- */

typedef struct {
    char *fingerprint;
    bool firing;
    int64_t starts_ms, ends_ms;    /* ends 0: not ended */
    char *labels, *annotations;    /* JSON objects as text; annotations may be NULL */
    char *generator_url;           /* or NULL */
    int64_t updated_ms;
} cw_incident_alert;

/* The incident's alerts, firing first, then by start. */
cw_err cw_store_incident_alerts(cw_store *s, int64_t id, cw_incident_alert **out, size_t *n,
                                cw_diag *d);
void cw_incident_alerts_free(cw_incident_alert *a, size_t n);

typedef struct {
    const char *fingerprint;       /* required, unique in the notification */
    bool firing;
    int64_t starts_ms, ends_ms;
    const char *labels;            /* JSON object text, required */
    const char *annotations;       /* or NULL */
    const char *generator_url;     /* or NULL */
    const char *summary;           /* for the timeline: alertname and summary */
} cw_incident_alert_in;

/*
 * Records the alerts of one notification on the incident (source,
 * subject_id), in one transaction: each alert's row is created or updated
 * to what the notification says, and each change of an alert (it fires,
 * it resolves) adds one timeline entry at the alert's own time (startsAt,
 * endsAt; now_ms when a resolved alert has no endsAt). CW_ERR_NOT_FOUND
 * when the incident does not exist.
 */
cw_err cw_store_incident_alerts_put(cw_store *s, const char *source, const char *subject_id,
                                    const cw_incident_alert_in *alerts, size_t n, int64_t now_ms,
                                    cw_diag *d);

/* ---- transitions and notes -------------------------------------------------------- */

typedef struct {
    int64_t id;
    bool has_to;               /* a transition to `to`; else a note alone */
    cw_incident_state to;
    const char *note;          /* NULL or 1..CW_INCIDENT_NOTE_MAX bytes */
    const char *actor;         /* who (1..CW_INCIDENT_ACTOR_MAX bytes) */
    int64_t now_ms;
} cw_incident_change;

/*
 * Applies a transition (checked with cw_incident_transition_check against
 * the state read in the same transaction) and/or a note, adding one
 * timeline entry (kind "transition" with from/to, the note as its text; or
 * kind "note"). A transition to resolved sets the resolved time to now_ms
 * when no event resolved it. *after (may be NULL) receives the incident as
 * it is afterwards. CW_ERR_NOT_FOUND, CW_ERR_CONFLICT (the transition is not
 * allowed; d as cw_incident_transition_check), CW_ERR_INVALID (neither a
 * transition nor a note, or a note/actor too long).
 */
cw_err cw_store_incident_change(cw_store *s, const cw_incident_change *c, cw_incident *after,
                                cw_diag *d);

#endif
