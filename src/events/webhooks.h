/*
 * webhooks.h — translating GitHub and GitLab webhook deliveries into
 * CDEvents, as conway stores them (events.h), so that a repository host can
 * feed DORA, undeployed work and release coupling with no code on the
 * user's side. The tables of what becomes what are in docs/webhooks.md.
 * Pure: no I/O, no clock (the caller passes the time of receipt), no
 * globals beyond constant tables.
 *
 * Every CDEvent made here passes cw_cdevent_decode as a known type of the
 * v0.5.1 spec (tests/unit/test_webhooks.c checks it), so stored webhook
 * events are interpreted exactly like posted ones:
 * - change events carry subject.content.repository.id = the repository's
 *   "owner/name" (GitHub full_name, GitLab path_with_namespace), which links
 *   them to the Component whose github.com/project-slug,
 *   gitlab.com/project-slug or conway.dev/repository names it;
 * - deployments, pipeline runs and incidents name the same "owner/name" as
 *   their service (subject.id of service.deployed, content.service.id of
 *   incidents), matched by the same annotations first (events.h);
 * - context.id is "<delivery>.<n>" (n counts the events of one delivery
 *   from 0) and context.source the repository's web URL, so a redelivery
 *   stores nothing twice;
 * - customData["conway.dev/webhook"] records where the event came from:
 *   {"provider", "event", "action", "delivery"}.
 */
#ifndef CW_WEBHOOKS_H
#define CW_WEBHOOKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

#define CW_WEBHOOK_DEFAULT_INCIDENT_LABEL "incident"
/* The longest delivery id accepted (GitHub sends a 36-character GUID). */
#define CW_WEBHOOK_DELIVERY_MAX 128
/* The most events one delivery may become (a push lists at most 20
 * commits on both hosts; anything beyond this is cut and said so). */
#define CW_WEBHOOK_MAX_EVENTS 256

typedef enum {
    CW_WEBHOOK_GITHUB = 1,
    CW_WEBHOOK_GITLAB = 2
} cw_webhook_provider;

/* "github" / "gitlab"; NULL for anything else. */
const char *cw_webhook_provider_name(cw_webhook_provider p);
/* Parses "github" / "gitlab" (exactly); 0 otherwise. */
cw_webhook_provider cw_webhook_provider_parse(const char *s);

typedef struct {
    /* The event name: GitHub's X-GitHub-Event ("pull_request"), GitLab's
     * X-Gitlab-Event ("Merge Request Hook"). GitLab payloads are
     * classified by their object_kind; the header may be NULL there. */
    const char *event;
    /* Delivery id (X-GitHub-Delivery, GitLab's Idempotency-Key or
     * X-Gitlab-Event-UUID): 1..CW_WEBHOOK_DELIVERY_MAX printable ASCII
     * characters without spaces. Required. */
    const char *delivery;
    /* GitHub issues carrying this label (compared ignoring ASCII case) are
     * incidents; NULL or "" = CW_WEBHOOK_DEFAULT_INCIDENT_LABEL. GitLab
     * incidents are issues of type Incident, or with this label. */
    const char *incident_label;
    /* When the delivery arrived (Unix ms): the time of an event whose
     * payload carries none. */
    int64_t received_ms;
} cw_webhook_delivery;

typedef struct {
    json_t *events;        /* array of CDEvents, owned; empty when ignored */
    /* "pull_request.closed", "push", "Merge Request Hook.merge"…: what was
     * received, for logs (at most 95 bytes, cut) */
    char what[96];
    /* NULL when events were made; otherwise why the delivery makes none
     * (a static sentence, e.g. "pull_request action 'labeled' is not
     * translated"), for the answer and the documentation table */
    const char *ignored;
    /* true when the event name (or GitLab object_kind) is none of those
     * translated at all, as opposed to a known one whose action or state
     * makes no event */
    bool unknown_type;
    /* a push listed more commits than CW_WEBHOOK_MAX_EVENTS */
    bool truncated;
} cw_webhook_result;

void cw_webhook_result_free(cw_webhook_result *r);

/*
 * Translates one delivery. payload is the parsed body (any JSON value).
 * CW_OK with out->events (maybe empty, then out->ignored says why);
 * CW_ERR_INVALID when an event of a translated kind lacks a field it needs,
 * d naming it relative to the payload ("pull_request.html_url: required");
 * CW_ERR_NOMEM. On error *out holds nothing to free.
 */
cw_err cw_webhook_github(const cw_webhook_delivery *in, const json_t *payload,
                         cw_webhook_result *out, cw_diag *d);
cw_err cw_webhook_gitlab(const cw_webhook_delivery *in, const json_t *payload,
                         cw_webhook_result *out, cw_diag *d);

/* Whether a delivery id is acceptable (see cw_webhook_delivery). */
bool cw_webhook_delivery_id_valid(const char *id);

/*
 * The time a webhook payload gives: RFC 3339, or GitLab's
 * "2016-08-12 15:23:28 UTC" / "2021-04-28 21:50:00 +0200". False when
 * text is neither.
 */
bool cw_webhook_parse_time(const char *text, int64_t *ms_out);

#endif
