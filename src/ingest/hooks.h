/*
 * hooks.h — creating webhook receivers (shared by `conway hook create` and
 * POST /api/v1/hooks) and verifying a delivery's credentials (the HTTP
 * receiver). A receiver gets a random id (its URL path
 * /api/v1/hooks/<provider>/<id>) and a random secret shown once: GitHub
 * signs each delivery with it (X-Hub-Signature-256: HMAC-SHA256 of the
 * body), GitLab sends it back as X-Gitlab-Token. How each is stored is in
 * store/store_ingest.h.
 */
#ifndef CW_INGEST_HOOKS_H
#define CW_INGEST_HOOKS_H

#include <stdbool.h>
#include <stddef.h>

#include "events/webhooks.h"
#include "store/store.h"
#include "store/store_ingest.h"
#include "util/err.h"

#define CW_HOOK_SECRET_TEXT 64   /* bytes of a secret's text, with NUL */
/* Bytes of a delivery's body kept with its record (larger: size only). */
#define CW_HOOK_PAYLOAD_MAX (64u << 10)

typedef struct {
    const char *provider;        /* "github" | "gitlab" */
    const char *name;            /* 1-127 characters */
    const char *team;            /* NULL or a group ref ("platform", group:default/platform) */
    const char *incident_label;  /* NULL = the default */
    int64_t now_s;
} cw_hook_spec;

/* Creates a receiver: *out and, shown once, secret (the text GitHub or
 * GitLab must be given). CW_ERR_INVALID naming the field ("provider",
 * "name", "team", "incidentLabel"). */
cw_err cw_hook_new(cw_store *s, const cw_hook_spec *spec, cw_hook *out,
                   char secret[CW_HOOK_SECRET_TEXT], cw_diag *d);

/* "/api/v1/hooks/<provider>/<id>" into out. */
void cw_hook_path(const cw_hook *h, char *out, size_t cap);

/*
 * Whether a delivery carries the receiver's credential, in constant time:
 * GitHub: signature is X-Hub-Signature-256 ("sha256=<64 hex>") and must
 * equal the HMAC-SHA256 of body under stored (the secret); GitLab: token is
 * X-Gitlab-Token and its SHA-256 must equal stored. A missing header is
 * false.
 */
bool cw_hook_verify(cw_webhook_provider p, const char *stored, const char *signature,
                    const char *token, const char *body, size_t len);

#endif
