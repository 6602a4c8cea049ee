/*
 * alertmanager.h — Prometheus Alertmanager's webhook notification
 * (payload version 4, notify/webhook in the Alertmanager sources) as an
 * incident source (issue #13): decoding and checking the payload, and
 * planning what a notification does to the incident of its alert group.
 * Pure: no I/O. The HTTP route (POST /api/v1/hooks/alertmanager) looks up
 * the group's latest incident, plans, records the planned incident CDEvents
 * through the normal events intake, then the alerts. Rules for users:
 * docs/incidents.md.
 *
 * Payload (unknown members are ignored, as Alertmanager adds some in new
 * versions: truncatedAlerts, notification_reason, routeLabels):
 *   {"version": "4", "groupKey": "...", "status": "firing"|"resolved",
 *    "receiver": "...", "groupLabels": {..}, "commonLabels": {..},
 *    "commonAnnotations": {..}, "externalURL": "...",
 *    "alerts": [{"status": "firing"|"resolved", "labels": {..},
 *                "annotations": {..}, "startsAt": RFC 3339,
 *                "endsAt": RFC 3339 (Go's zero time 0001-01-01T00:00:00Z
 *                for an alert that has not ended), "generatorURL": "...",
 *                "fingerprint": "..."}]}
 */
#ifndef CW_EVENTS_ALERTMANAGER_H
#define CW_EVENTS_ALERTMANAGER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define CW_AM_MAX_ALERTS 5000        /* per notification; more is CW_ERR_TOO_LARGE */
#define CW_AM_SOURCE "/conway/alertmanager" /* context.source of the events conway records */

typedef struct {
    bool firing;                 /* status */
    const json_t *labels;        /* object of strings (borrowed) */
    const json_t *annotations;   /* object of strings, or NULL */
    int64_t starts_ms;
    int64_t ends_ms;             /* 0 when the alert has not ended */
    const char *fingerprint;     /* NULL when absent */
    const char *generator_url;   /* NULL when absent */
} cw_am_alert;

typedef struct {
    json_t *root;                /* the whole payload (owned) */
    const char *group_key;
    bool firing;                 /* status of the group */
    const char *receiver, *external_url;   /* NULL when absent */
    const json_t *group_labels, *common_labels, *common_annotations; /* or NULL */
    cw_am_alert *alerts;         /* owned */
    size_t nalerts;
} cw_am_notification;

/*
 * Decodes a webhook body. CW_ERR_INVALID with d naming the member
 * ("alerts[2].startsAt: not an RFC 3339 date-time", "version: must be
 * \"4\"", "body: line 1, column 3: ..."), CW_ERR_TOO_LARGE beyond
 * CW_AM_MAX_ALERTS. Checked: version "4"; groupKey a non-empty string;
 * status firing|resolved; alerts a non-empty array of objects, each with
 * status firing|resolved, labels an object of strings, annotations (when
 * present) an object of strings, startsAt a date-time, endsAt (when present)
 * a date-time, fingerprint and generatorURL (when present) strings; the
 * group objects (groupLabels, commonLabels, commonAnnotations), when present,
 * objects of strings. On error *out is zeroed.
 */
cw_err cw_am_decode(const char *body, size_t len, cw_am_notification *out, cw_diag *d);
void cw_am_notification_free(cw_am_notification *n);

/* The label (or annotation) value of an object of strings, or NULL. */
const char *cw_am_label(const json_t *labels, const char *name);

/*
 * The component the group is about: the first of the labels
 * conway_component, component, service in commonLabels; else the first
 * alert (firing ones before resolved ones, in payload order) that has one
 * of them (same order). NULL when none names one. The value is linked to
 * the catalog as an incident's service.id (docs/dora.md).
 */
const char *cw_am_component(const cw_am_notification *n);
/* The group's severity label: commonLabels.severity, else the highest on
 * the scale of incident.h among the alerts' severity labels (the first
 * unknown word when none is on the scale); NULL when no alert has one. */
const char *cw_am_severity(const cw_am_notification *n);
/* The environment: label environment, else env (commonLabels, then the
 * first alert that has one); NULL when none. */
const char *cw_am_environment(const cw_am_notification *n);
/* A one-line title into out: commonAnnotations.summary, else the first
 * alert's summary annotation, else "alertname=... (N alerts)". */
void cw_am_title(const cw_am_notification *n, char *out, size_t cap);

/* What conway knows of the group's latest incident. */
typedef struct {
    bool exists;
    int64_t number;              /* 1, 2, ...: its episode within the group */
    bool ended;                  /* resolved or closed */
    int64_t resolved_ms;         /* when it was resolved (0 when not) */
} cw_am_previous;

/*
 * What a notification does. An alert group has one incident at a time: a
 * firing notification belongs to the latest incident of its group unless
 * that one has ended and some firing alert started after it ended; then a
 * new incident (episode number + 1) starts at the earliest such startsAt.
 * The incident's detected time is the earliest startsAt of the firing
 * alerts that opened it. A resolved notification resolves the group's
 * open incident at the latest endsAt of its alerts (now_ms when none has
 * one); with no open incident it first opens one at its earliest startsAt
 * (a notification arriving after a restart, or an episode that started and
 * ended between two notifications), unless the latest incident covers
 * those alerts already.
 */
typedef struct {
    int64_t number;              /* the incident's episode number */
    bool detect;                 /* record incident.detected at detected_ms */
    int64_t detected_ms;
    bool resolve;                /* record incident.resolved at resolved_ms */
    int64_t resolved_ms;
} cw_am_plan;

void cw_am_plan_make(const cw_am_notification *n, const cw_am_previous *prev, int64_t now_ms,
                     cw_am_plan *out);

/* The incident subject id of a group's episode: "am-<16 hex of the
 * SHA-256 of the groupKey>-<number>" (out >= 48 bytes). */
void cw_am_subject_id(const char *group_key, int64_t number, char out[48]);

/*
 * The incident CDEvents of a plan (0, 1 or 2, detected first) as new JSON
 * values appended to out (a JSON array), with context.source
 * CW_AM_SOURCE, context.id "<subject>/detected" or "<subject>/resolved"
 * (so a retried notification is a duplicate), the component label as
 * service.id, the environment label (or "unknown"), the title as
 * description, and customData {severity, title, groupKey, receiver,
 * externalURL}. CW_ERR_NOMEM only.
 */
cw_err cw_am_plan_events(const cw_am_notification *n, const cw_am_plan *plan, json_t *out);

#endif
