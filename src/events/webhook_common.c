/*
 * webhook_common.c — the parts of webhook translation both providers share:
 * field access with errors that name the field, the payload time formats,
 * and building the CDEvents (webhooks.h, webhook_int.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/webhook_int.h"
#include "util/timeutil.h"

#define SPEC_VERSION "0.5.1"

/* The type versions of the v0.5.1 spec (events_types.c): what conway
 * checks in full and interprets. */
static const struct {
    const char *type;
    const char *version;
} type_versions[] = {
    {"change.created", "0.4.0"},     {"change.merged", "0.3.0"},
    {"change.abandoned", "0.3.0"},   {"service.deployed", "0.3.0"},
    {"pipelinerun.finished", "0.3.0"}, {"artifact.published", "0.3.0"},
    {"incident.detected", "0.3.0"},  {"incident.resolved", "0.3.0"},
};

const char *cw_webhook_provider_name(cw_webhook_provider p)
{
    switch (p) {
    case CW_WEBHOOK_GITHUB: return "github";
    case CW_WEBHOOK_GITLAB: return "gitlab";
    }
    return NULL;
}

cw_webhook_provider cw_webhook_provider_parse(const char *s)
{
    if (s && !strcmp(s, "github"))
        return CW_WEBHOOK_GITHUB;
    if (s && !strcmp(s, "gitlab"))
        return CW_WEBHOOK_GITLAB;
    return (cw_webhook_provider)0;
}

void cw_webhook_result_free(cw_webhook_result *r)
{
    if (!r)
        return;
    json_decref(r->events);
    memset(r, 0, sizeof *r);
}

bool cw_webhook_delivery_id_valid(const char *id)
{
    if (!id || !*id)
        return false;
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++, n++)
        if (*p <= 0x20 || *p >= 0x7f || n >= CW_WEBHOOK_DELIVERY_MAX)
            return false;
    return true;
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

bool cw_webhook_parse_time(const char *text, int64_t *ms_out)
{
    if (!text)
        return false;
    if (cw_time_parse_rfc3339(text, ms_out))
        return true;
    /* GitLab: "YYYY-MM-DD HH:MM:SS UTC" or "YYYY-MM-DD HH:MM:SS +HHMM" */
    size_t n = strlen(text);
    if (n < 23 || text[10] != ' ' || text[19] != ' ')
        return false;
    char iso[40];
    memcpy(iso, text, 19);
    iso[10] = 'T';
    const char *zone = text + 20;
    size_t zl = n - 20;
    if (zl == 3 && !strcmp(zone, "UTC")) {
        memcpy(iso + 19, "Z", 2);
    } else if (zl == 5 && (zone[0] == '+' || zone[0] == '-') && digits(zone + 1, 4)) {
        iso[19] = zone[0];
        iso[20] = zone[1];
        iso[21] = zone[2];
        iso[22] = ':';
        iso[23] = zone[3];
        iso[24] = zone[4];
        iso[25] = '\0';
    } else {
        return false;
    }
    return cw_time_parse_rfc3339(iso, ms_out);
}

const char *cw__hk_str(const json_t *obj, const char *key)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_string(v) && json_string_length(v) > 0 &&
                   strlen(json_string_value(v)) == json_string_length(v)
               ? json_string_value(v)
               : NULL;
}

const json_t *cw__hk_obj(const json_t *obj, const char *key)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_object(v) ? v : NULL;
}

cw_err cw__hk_need_str(const json_t *obj, const char *key, const char *path, const char **out,
                       cw_diag *d)
{
    *out = cw__hk_str(obj, key);
    if (!*out)
        return cw_fail(d, CW_ERR_INVALID, "%s: required (a non-empty string)", path);
    return CW_OK;
}

cw_err cw__hk_need_obj(const json_t *obj, const char *key, const char *path,
                       const json_t **out, cw_diag *d)
{
    *out = cw__hk_obj(obj, key);
    if (!*out)
        return cw_fail(d, CW_ERR_INVALID, "%s: required (an object)", path);
    return CW_OK;
}

int64_t cw__hk_time(const json_t *obj, const char *key, int64_t fallback)
{
    int64_t ms;
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    /* GitHub's push payload gives repository.pushed_at in Unix seconds */
    if (json_is_integer(v) && json_integer_value(v) > 0 &&
        json_integer_value(v) < 253402300800LL)
        return (int64_t)json_integer_value(v) * 1000;
    return cw_webhook_parse_time(cw__hk_str(obj, key), &ms) ? ms : fallback;
}

bool cw__hk_ieq(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char ca = (unsigned char)*a, cb = (unsigned char)*b;
        if (ca >= 'A' && ca <= 'Z')
            ca = (unsigned char)(ca + 32);
        if (cb >= 'A' && cb <= 'Z')
            cb = (unsigned char)(cb + 32);
        if (ca != cb)
            return false;
        if (!ca)
            return true;
    }
}

void cw__hk_printable(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            *s = '?';
}

void cw__hk_ignore(cw__hook *h, const char *why)
{
    if (!h->out->ignored)
        h->out->ignored = why;
}

json_t *cw__hk_ref(const char *id, const char *source)
{
    json_t *o = json_pack("{s:s}", "id", id);
    if (o && source && json_object_set_new(o, "source", json_string(source))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static const char *version_of(const char *type)
{
    for (size_t i = 0; i < sizeof type_versions / sizeof type_versions[0]; i++)
        if (!strcmp(type_versions[i].type, type))
            return type_versions[i].version;
    return NULL;
}

cw_err cw__hk_emit(cw__hook *h, const char *type, const char *subject_id, int64_t time_ms,
                   json_t *content, cw_diag *d)
{
    cw_webhook_result *out = h->out;
    const char *version = version_of(type);
    if (!content || !version) {
        json_decref(content);
        return cw_fail(d, content ? CW_ERR_INTERNAL : CW_ERR_NOMEM,
                       content ? "webhook: no version for %s" : "webhook: out of memory", type);
    }
    size_t n = json_array_size(out->events);
    if (n >= CW_WEBHOOK_MAX_EVENTS) {
        out->truncated = true;
        json_decref(content);
        return CW_OK;
    }
    char id[CW_WEBHOOK_DELIVERY_MAX + 24], full[96], ts[32];
    snprintf(id, sizeof id, "%s.%zu", h->in->delivery, n);
    snprintf(full, sizeof full, "dev.cdevents.%s.%s", type, version);
    cw_time_format_compact(time_ms, ts);
    json_t *prov = json_pack("{s:s, s:s, s:s*, s:s}", "provider", h->provider, "event",
                             h->event, "action", h->action, "delivery", h->in->delivery);
    json_t *ev = prov ? json_pack("{s:{s:s, s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:o}, s:{s:o}}",
                                  "context", "specversion", SPEC_VERSION, "id", id, "source",
                                  h->source, "type", full, "timestamp", ts, "subject", "id",
                                  subject_id, "source", h->source, "content", content,
                                  "customData", "conway.dev/webhook", prov)
                      : NULL;
    if (!prov)
        json_decref(content);
    if (!ev || json_array_append_new(out->events, ev))
        return cw_fail(d, CW_ERR_NOMEM, "webhook: out of memory");
    return CW_OK;
}
