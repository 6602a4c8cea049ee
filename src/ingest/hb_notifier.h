/*
 * hb_notifier.h — outgoing webhooks when a heartbeat goes down or up
 * again (docs/heartbeats.md, "Notifications"). One thread in `conway
 * serve`:
 * 1. takes the status changes the store recorded (each once, also with
 *    several instances: cw_store_hb_notify_take), finds the subscribers —
 *    the URLs in spec.notify of the owning Group and of the Groups
 *    accountable for the data durability of the target — and queues one
 *    delivery per URL; a change of a heartbeat whose dependsOn parent is
 *    down is taken with no delivery (suppressed);
 * 2. claims due deliveries (cw_store_hb_notify_claim) and POSTs each,
 *    signed (X-Conway-Signature, insights/hb_notify.h), under the outgoing
 *    policy of ingest/fetch.h (--notify-allow prefixes; never loopback,
 *    link-local or private addresses unless a prefix names one or
 *    --notify-allow-private); a failure is retried with backoff and after
 *    CW_NOTIFY_MAX_ATTEMPTS attempts becomes a dead letter
 *    (GET /api/v1/heartbeats/deliveries).
 * The same thread queues the notifications of incidents and postmortem
 * action items (ingest/inc_notifier.h) on the same queue.
 */
#ifndef CW_INGEST_HB_NOTIFIER_H
#define CW_INGEST_HB_NOTIFIER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest/fetch.h"
#include "store/store.h"
#include "util/err.h"

typedef struct cw_hb_notifier cw_hb_notifier;

typedef struct {
    cw_fetch_policy policy;     /* --notify-allow; borrowed */
    const char *secret;         /* signing key; borrowed; "" signs with an empty key */
    int64_t interval_ms;        /* how often to look for work; 0 = 1000 */
} cw_hb_notifier_config;

cw_err cw_hb_notifier_start(cw_store *store, const cw_hb_notifier_config *cfg,
                            cw_hb_notifier **out, cw_diag *d);
/* Stops and joins the thread; NULL is fine. */
void cw_hb_notifier_stop(cw_hb_notifier *n);

/* Adds the http(s) URLs of spec.notify of the Group ref (any case) among
 * the entities all to urls[0..*n) (borrowed from all; no repeats; at most
 * max). Nothing when ref is no Group of all. */
void cw_notify_group_urls(json_t *all, const char *ref, const char **urls, size_t *n, size_t max);

#endif
