/* hooks.c — webhook receivers: creation and credential checks (hooks.h). */
#include "ingest/hooks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "util/crypto.h"

void cw_hook_path(const cw_hook *h, char *out, size_t cap)
{
    snprintf(out, cap, "/api/v1/hooks/%s/%s", h->provider, h->id);
}

/* n random bytes as base64url text into out (cap bytes). */
static cw_err random_text(size_t n, char *out, size_t cap)
{
    unsigned char raw[48];
    if (n > sizeof raw || cw_random_bytes(raw, n))
        return CW_ERR_INTERNAL;
    char *enc = cw_base64url_encode(raw, n);
    if (!enc)
        return CW_ERR_NOMEM;
    snprintf(out, cap, "%s", enc);
    free(enc);
    return CW_OK;
}

cw_err cw_hook_new(cw_store *s, const cw_hook_spec *spec, cw_hook *out,
                   char secret[CW_HOOK_SECRET_TEXT], cw_diag *d)
{
    memset(out, 0, sizeof *out);
    secret[0] = '\0';
    cw_webhook_provider p = cw_webhook_provider_parse(spec->provider);
    if (!p)
        return cw_fail(d, CW_ERR_INVALID, "provider: must be github or gitlab");
    if (!spec->name || !*spec->name || strlen(spec->name) >= sizeof out->name)
        return cw_fail(d, CW_ERR_INVALID, "name: required, 1-%zu characters",
                       sizeof out->name - 1);
    snprintf(out->provider, sizeof out->provider, "%s", cw_webhook_provider_name(p));
    snprintf(out->name, sizeof out->name, "%s", spec->name);
    if (spec->team && *spec->team) {
        cw_ref ref;
        cw_diag rd = {{0}};
        if (cw_ref_parse(spec->team, "Group", NULL, &ref, &rd) || strcasecmp(ref.kind, "Group"))
            return cw_fail(d, CW_ERR_INVALID, "team: %s",
                           rd.msg[0] ? rd.msg : "must be a group ref such as group:default/platform");
        cw_ref_key(&ref, out->team);
    }
    if (spec->incident_label) {
        if (!*spec->incident_label || strlen(spec->incident_label) >= sizeof out->incident_label)
            return cw_fail(d, CW_ERR_INVALID, "incidentLabel: 1-%zu characters",
                           sizeof out->incident_label - 1);
        snprintf(out->incident_label, sizeof out->incident_label, "%s", spec->incident_label);
    }
    out->created_at = spec->now_s;
    char stored[72];
    cw_err err = random_text(12, out->id, sizeof out->id);
    if (!err)
        err = random_text(32, secret, CW_HOOK_SECRET_TEXT);
    if (err)
        return cw_fail(d, err, "webhook: no secure randomness for an id and a secret");
    /* GitHub needs the key to check a signature; GitLab's token is only
     * compared, so its hash is enough (store_ingest.h) */
    if (p == CW_WEBHOOK_GITHUB)
        snprintf(stored, sizeof stored, "%s", secret);
    else
        cw_sha256_hex(secret, strlen(secret), stored);
    err = cw_store_hook_create(s, out, stored, d);
    if (err)
        secret[0] = '\0';
    return err;
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool cw_hook_verify(cw_webhook_provider p, const char *stored, const char *signature,
                    const char *token, const char *body, size_t len)
{
    char want[65];
    if (!stored)
        return false;
    if (p == CW_WEBHOOK_GITHUB) {
        if (!signature || strncmp(signature, "sha256=", 7) != 0 || strlen(signature) != 71)
            return false;
        char got[65];
        for (int i = 0; i < 64; i++) {
            char c = signature[7 + i];
            if (!is_hex(c))
                return false;
            got[i] = (c >= 'A' && c <= 'F') ? (char)(c + 32) : c;
        }
        got[64] = '\0';
        if (cw_hmac_sha256_hex(stored, strlen(stored), body, len, want))
            return false;
        return cw_consttime_equal(got, want, 64);
    }
    if (p == CW_WEBHOOK_GITLAB) {
        if (!token || strlen(stored) != 64)
            return false;
        cw_sha256_hex(token, strlen(token), want);
        return cw_consttime_equal(want, stored, 64);
    }
    return false;
}
