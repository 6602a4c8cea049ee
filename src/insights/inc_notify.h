/*
 * inc_notify.h — what the notifications of incidents and postmortem action
 * items say (issue 14; pure: no I/O, the time is an argument). They go out
 * as the heartbeat notifications do (hb_notify.h: same signature, retries
 * and dead letters), to the spec.notify URLs of the owning Group:
 *
 *   {"type": "incident.opened", "at": "2026-12-07T01:00:00.000Z",
 *    "incident": {"id": 12, "ref": "INC-1", "source": "/pager",
 *                 "title": "…", "severity": "critical", "state": "triggered",
 *                 "startedAt": "…", "resolvedAt": "…" (resolved),
 *                 "component": "component:default/api", "owner": "group:default/sre"},
 *    "text": "…"}                         <- Slack-compatible incoming webhook
 *   {"type": "incident.resolved", …}      (the same, with resolvedAt)
 *   {"type": "action-item.overdue", "at": …,
 *    "actionItem": {"postmortem": "postmortem:default/db-outage", "id": "AI-1",
 *                   "title": "…", "owner": "group:default/dba", "due": "2017-02-28",
 *                   "status": "open", "issueUrl": "…"?},
 *    "text": "…"}
 * Absent values are left out. Documented in docs/incidents.md.
 */
#ifndef CW_INSIGHTS_INC_NOTIFY_H
#define CW_INSIGHTS_INC_NOTIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* An incident as a notification shows it (strings borrowed; NULL: none). */
typedef struct {
    int64_t id;
    const char *ref, *source, *title, *severity, *state;
    int64_t start_ms, resolved_ms;  /* resolved 0: not resolved */
    const char *component, *owner;
} cw_notify_incident;

/* An incident's opening or resolution older than this when conway first
 * sees it (an import of history) is recorded as notified, not sent. */
#define CW_NOTIFY_STALE_MS (24LL * 3600 * 1000)

/* The payload of an incident opened (resolved false) or resolved, at_ms
 * being when (a new object, NULL on OOM). */
json_t *cw_notify_incident_payload(const cw_notify_incident *inc, bool resolved, int64_t at_ms);

/* The payload of an action item overdue: item is the Postmortem's
 * spec.actionItems entry (borrowed), postmortem its entity ref, owner the
 * item's owner as a full ref. NULL on OOM. */
json_t *cw_notify_action_payload(const char *postmortem, const json_t *item, const char *owner,
                                 int64_t at_ms);

#endif
