/*
 * hb_notify.h — what a heartbeat notification says and how it is signed
 * (pure: no I/O, the time is an argument). The delivery itself (libcurl,
 * the outgoing-address policy, the claimed queue) builds on this.
 *
 * A notification is one JSON object, posted as the body of a webhook:
 *
 *   {"type": "heartbeat.down", "at": "2026-12-07T01:00:00.000Z",
 *    "heartbeat": {"ref": …, "owner": …, "target": …, "purpose": "backup"},
 *    "status": "down", "previous": "up", "reason": "timeout",
 *    "accountable": ["group:default/dba"],
 *    "text": "…"}                        <- Slack-compatible incoming webhook
 *
 * The signature header is X-Conway-Signature: t=<unix seconds>,v1=<hex>,
 * where hex is HMAC-SHA256 under the subscription's secret of the text
 * "<t>.<body>" (as Stripe signs): a receiver recomputes it, compares in
 * constant time and refuses a t too far from its clock, so a captured
 * delivery cannot be replayed later.
 */
#ifndef CW_INSIGHTS_HB_NOTIFY_H
#define CW_INSIGHTS_HB_NOTIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/heartbeat.h"
#include "util/err.h"

#define CW_NOTIFY_SIG_HEADER "X-Conway-Signature"
#define CW_NOTIFY_SIG_MAX 96               /* "t=<20 digits>,v1=<64 hex>" and NUL */
#define CW_NOTIFY_MAX_ATTEMPTS 8           /* then the delivery is dead-lettered */
#define CW_NOTIFY_TOLERANCE_S 300          /* what receivers should accept */

typedef struct {
    const char *ref;               /* the heartbeat, display ref */
    const char *owner;             /* its owner */
    const char *target;            /* "" when none */
    cw_hb_purpose purpose;
    cw_hb_status from, to;
    const char *reason;            /* "timeout", "fail", "ping", ... */
    int64_t at_ms;                 /* when the status changed */
    const char *const *accountable;/* data-durability accountable teams */
    size_t naccountable;
} cw_notify_event;

/* The event type of a status change: "heartbeat.down" or "heartbeat.up";
 * NULL when the change is not notified (new, paused). */
const char *cw_notify_type(cw_hb_status from, cw_hb_status to);

/* The payload of ev (a new object, NULL on OOM). */
json_t *cw_notify_payload(const cw_notify_event *ev);

/* The X-Conway-Signature value for body sent at unix time t. */
cw_err cw_notify_sign(const void *secret, size_t secret_len, int64_t t, const void *body,
                      size_t len, char out[CW_NOTIFY_SIG_MAX], cw_diag *d);

/* Whether header is a valid signature of body under secret made within
 * tolerance_s of now (seconds): what a receiver checks. */
bool cw_notify_verify(const void *secret, size_t secret_len, const char *header,
                      const void *body, size_t len, int64_t now_s, int64_t tolerance_s);

/* The wait before attempt n+1 after n failed attempts (n >= 1): 10 s,
 * 30 s, 1.5 min, ... tripling, at most 1 h; -1 once CW_NOTIFY_MAX_ATTEMPTS
 * attempts have failed (dead letter). */
int64_t cw_notify_backoff_ms(int failed_attempts);

/* Whether the child's alert is suppressed: its parent (dependsOn) is down. */
bool cw_notify_suppressed(bool has_parent, cw_hb_status parent_status);

#endif
