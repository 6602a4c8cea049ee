/*
 * webhook_int.h — what the GitHub and GitLab translators (webhook_github.c,
 * webhook_gitlab.c) share: reading payload fields with errors that name
 * them, and building the CDEvents (webhook_common.c). Not for use outside
 * src/events/.
 */
#ifndef CW_WEBHOOK_INT_H
#define CW_WEBHOOK_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "events/webhooks.h"

/* One delivery being translated. */
typedef struct {
    const cw_webhook_delivery *in;
    cw_webhook_result *out;
    const char *provider;   /* "github" / "gitlab" */
    const char *event;      /* customData event name */
    const char *action;     /* customData action, or NULL */
    const char *source;     /* context.source of every event */
} cw__hook;

/* Member `key` of obj as a non-empty string, or NULL. */
const char *cw__hk_str(const json_t *obj, const char *key);
/* The object at obj[key], or NULL. */
const json_t *cw__hk_obj(const json_t *obj, const char *key);
/* A required non-empty string; CW_ERR_INVALID "<path>: required". */
cw_err cw__hk_need_str(const json_t *obj, const char *key, const char *path, const char **out,
                       cw_diag *d);
/* A required object; CW_ERR_INVALID "<path>: required (an object)". */
cw_err cw__hk_need_obj(const json_t *obj, const char *key, const char *path,
                       const json_t **out, cw_diag *d);
/* The time in obj[key] (see cw_webhook_parse_time), else fallback. */
int64_t cw__hk_time(const json_t *obj, const char *key, int64_t fallback);
/* ASCII case-insensitive equality. */
bool cw__hk_ieq(const char *a, const char *b);

/* Replaces every byte of s outside printable ASCII by '?' (what a client
 * sent in a header may be anything; it is logged and answered). */
void cw__hk_printable(char *s);

/* Marks the delivery as making no event, for `why` (static text). */
void cw__hk_ignore(cw__hook *h, const char *why);

/*
 * Appends one CDEvent to h->out->events: context (specversion 0.5.1, id
 * "<delivery>.<n>", h->source, type "dev.cdevents.<type>", timestamp),
 * subject {id, content}, customData with the provenance. content is
 * stolen (also on error). CW_ERR_NOMEM only; past CW_WEBHOOK_MAX_EVENTS
 * the event is dropped and out->truncated set.
 */
cw_err cw__hk_emit(cw__hook *h, const char *type, const char *subject_id, int64_t time_ms,
                   json_t *content, cw_diag *d);

/* {"id": id, "source": source?} as CDEvents repository / service / environment
 * references (source omitted when NULL). NULL when out of memory. */
json_t *cw__hk_ref(const char *id, const char *source);

#endif
