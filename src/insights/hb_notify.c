/*
 * hb_notify.c — heartbeat notification payloads, their signature and the
 * retry schedule (hb_notify.h).
 */
#include "insights/hb_notify.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/crypto.h"
#include "util/timeutil.h"

const char *cw_notify_type(cw_hb_status from, cw_hb_status to)
{
    if (to == CW_HB_DOWN && from != CW_HB_DOWN)
        return "heartbeat.down";
    /* up again after being down; the first ping of a new one is no news */
    if (to == CW_HB_UP && from == CW_HB_DOWN)
        return "heartbeat.up";
    return NULL;
}

json_t *cw_notify_payload(const cw_notify_event *ev)
{
    const char *type = cw_notify_type(ev->from, ev->to);
    char at[32];
    cw_time_format_ms(ev->at_ms, at);
    json_t *acc = json_array();
    for (size_t i = 0; acc && i < ev->naccountable; i++)
        json_array_append_new(acc, json_string(ev->accountable[i]));
    bool down = ev->to == CW_HB_DOWN;
    const char *target = ev->target ? ev->target : "";
    /* Slack renders text; other receivers read the fields */
    char *text = NULL;
    size_t tl = 0;
    FILE *f = open_memstream(&text, &tl);
    if (f) {
        fprintf(f, "%s Heartbeat %s (%s) is %s", down ? ":red_circle:" : ":large_green_circle:",
                ev->ref, cw_hb_purpose_name(ev->purpose), down ? "DOWN" : "up again");
        if (down && ev->reason && *ev->reason)
            fprintf(f, " (%s)", !strcmp(ev->reason, "timeout") ? "no ping in time" : ev->reason);
        if (*target)
            fprintf(f, "; it protects %s", target);
        fprintf(f, ". Owner: %s", ev->owner);
        if (ev->naccountable) {
            fputs("; accountable for data durability: ", f);
            for (size_t i = 0; i < ev->naccountable; i++)
                fprintf(f, "%s%s", i ? ", " : "", ev->accountable[i]);
        }
        fprintf(f, ". Since %s.", at);
        if (fclose(f) != 0) {
            free(text);
            text = NULL;
        }
    }
    json_t *out = NULL;
    if (acc && text)
        out = json_pack("{s:s?, s:s, s:{s:s, s:s, s:s, s:s}, s:s, s:s, s:s, s:O, s:s}", "type",
                        type, "at", at, "heartbeat", "ref", ev->ref, "owner", ev->owner,
                        "target", target, "purpose", cw_hb_purpose_name(ev->purpose), "status",
                        cw_hb_status_name(ev->to), "previous", cw_hb_status_name(ev->from),
                        "reason", ev->reason ? ev->reason : "", "accountable", acc, "text",
                        text);
    json_decref(acc);
    free(text);
    return out;
}

/* HMAC-SHA256 hex of "<t>.<body>" under secret. */
static cw_err mac(const void *secret, size_t secret_len, int64_t t, const void *body, size_t len,
                  char hex[65], cw_diag *d)
{
    char prefix[24];
    int pl = snprintf(prefix, sizeof prefix, "%" PRId64 ".", t);
    char *msg = malloc((size_t)pl + len + 1);
    if (!msg)
        return cw_fail(d, CW_ERR_NOMEM, "signature: out of memory");
    memcpy(msg, prefix, (size_t)pl);
    if (len)
        memcpy(msg + pl, body, len);
    cw_err err = cw_hmac_sha256_hex(secret, secret_len, msg, (size_t)pl + len, hex);
    free(msg);
    if (err)
        return cw_fail(d, err, "signature: HMAC failed");
    return CW_OK;
}

cw_err cw_notify_sign(const void *secret, size_t secret_len, int64_t t, const void *body,
                      size_t len, char out[CW_NOTIFY_SIG_MAX], cw_diag *d)
{
    char hex[65];
    cw_err err = mac(secret, secret_len, t, body, len, hex, d);
    if (err)
        return err;
    snprintf(out, CW_NOTIFY_SIG_MAX, "t=%" PRId64 ",v1=%s", t, hex);
    return CW_OK;
}

bool cw_notify_verify(const void *secret, size_t secret_len, const char *header,
                      const void *body, size_t len, int64_t now_s, int64_t tolerance_s)
{
    if (!header || strncmp(header, "t=", 2) != 0)
        return false;
    const char *p = header + 2;
    int64_t t = 0;
    size_t digits = 0;
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        if (digits >= 18)
            return false;
        t = t * 10 + (*p - '0');
    }
    if (!digits || strncmp(p, ",v1=", 4) != 0)
        return false;
    p += 4;
    if (strlen(p) != 64)
        return false;
    if (t > now_s + tolerance_s || t < now_s - tolerance_s)
        return false;
    char hex[65];
    cw_diag d = {{0}};
    if (mac(secret, secret_len, t, body, len, hex, &d))
        return false;
    return cw_consttime_equal(hex, p, 64);
}

int64_t cw_notify_backoff_ms(int failed_attempts)
{
    if (failed_attempts >= CW_NOTIFY_MAX_ATTEMPTS)
        return -1;
    int64_t ms = 10000;
    for (int i = 1; i < failed_attempts && ms < 3600000; i++)
        ms *= 3;
    return ms > 3600000 ? 3600000 : ms;
}

bool cw_notify_suppressed(bool has_parent, cw_hb_status parent_status)
{
    return has_parent && parent_status == CW_HB_DOWN;
}
