/*
 * store_notify.h — the claims of the notifications that are not about a
 * heartbeat (issue 14, docs/incidents.md "Notifications"): an incident
 * opened, an incident resolved, a postmortem action item overdue. Each is
 * taken once, also with several instances on one database, in the
 * transaction that queues its deliveries on the heartbeat notifications'
 * queue (hb_deliveries, store_heartbeats.h: the same claims, retries and
 * dead letters; flip_id 0, the key naming the incident or action item):
 * - incidents: the columns notified_open_ms / notified_resolved_ms
 *   (migration 15), set once; those not yet set are found by partial
 *   indexes, so looking for news costs as much as there is news;
 * - anything else: a row of notify_once under a key the caller chooses
 *   (an action item overdue: its postmortem, id and due date).
 * Implemented once for both backends in sql_notify.c.
 */
#ifndef CW_STORE_NOTIFY_H
#define CW_STORE_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "store/store_heartbeats.h"

typedef struct {
    int64_t id;                /* the incident */
    bool resolved;             /* its resolution (else its opening) */
} cw_incident_news;

/* Incident openings and resolutions not yet taken, openings first, at
 * most limit of each; a resolution only once the opening was taken. */
cw_err cw_store_incident_news(cw_store *s, size_t limit, cw_incident_news **out, size_t *n,
                              cw_diag *d);

/*
 * Takes an incident's opening (or resolution): in one transaction marks it
 * notified unless it is already, and only then queues the n deliveries
 * (due now, under key). *taken says whether this call took it. n may be 0
 * (nobody subscribed, or history too old to announce).
 */
cw_err cw_store_incident_notify_take(cw_store *s, const cw_incident_news *news,
                                     const char *key, const cw_hb_delivery_new *dl, size_t n,
                                     int64_t now_ms, bool *taken, cw_diag *d);

/* The same for a notification known by its key alone (notify_once). */
cw_err cw_store_notify_once_take(cw_store *s, const char *key, const cw_hb_delivery_new *dl,
                                 size_t n, int64_t now_ms, bool *taken, cw_diag *d);

#endif
