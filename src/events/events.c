/*
 * events.c — validating one plain CDEvent and turning it into a cw_event
 * (the envelope rules and type parsing; content rules are in
 * events_types.c). See events.h for the policy.
 */
#include "events/events.h"

#include <stdlib.h>
#include <string.h>

#include "events/events_int.h"
#include "util/timeutil.h"

void cw_event_free(cw_event *ev)
{
    if (!ev)
        return;
    json_decref(ev->raw);
    free(ev->compact);
    memset(ev, 0, sizeof *ev);
}

size_t cw_event_json_size(const cw_event *ev)
{
    if (ev->compact)
        return strlen(ev->compact);
    /* jansson's compact form, counted without being written anywhere */
    return ev->raw ? json_dumpb(ev->raw, NULL, 0, JSON_COMPACT) : 0;
}

cw_err cw_event_check_size(const cw_event *ev, size_t max, cw_diag *d)
{
    size_t n = cw_event_json_size(ev);
    if (n <= max)
        return CW_OK;
    return cw_fail(d, CW_ERR_TOO_LARGE,
                   "the event is %zu bytes of JSON, more than the limit of %zu "
                   "(--max-event-bytes)",
                   n, max);
}

int cw_event_key_cmp(const cw_event *a, const cw_event *b)
{
    int c = strcmp(a->source, b->source);
    return c ? c : strcmp(a->id, b->id);
}

bool cw_event_is(const cw_event *ev, const char *subject_kind, const char *predicate)
{
    return ev->known && strcmp(ev->subject_kind, subject_kind) == 0 &&
           strcmp(ev->predicate, predicate) == 0;
}

const json_t *cw_event_custom_changes(const cw_event *ev)
{
    const json_t *cd = json_object_get(ev->raw, "customData");
    const json_t *ch = json_is_object(cd) ? json_object_get(cd, "changes") : NULL;
    return json_is_array(ch) ? ch : NULL;
}

/* A present, non-null member (JSON null counts as absent for optional fields). */
static const json_t *member(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

static cw_err req_str(const json_t *obj, const char *key, const char *path, const char **out,
                      cw_diag *d)
{
    const json_t *v = member(obj, key);
    if (!v)
        return cw_fail(d, CW_ERR_INVALID, "%s: required", path);
    if (!json_is_string(v))
        return cw_fail(d, CW_ERR_INVALID, "%s: must be a string", path);
    if (!*json_string_value(v))
        return cw_fail(d, CW_ERR_INVALID, "%s: must not be empty", path);
    *out = json_string_value(v);
    return CW_OK;
}

static cw_err opt_str(const json_t *obj, const char *key, const char *path, const char **out,
                      cw_diag *d)
{
    *out = NULL;
    if (!member(obj, key))
        return CW_OK;
    return req_str(obj, key, path, out, d);
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

/* Parses one version number part (1–9 digits) into *out. */
static bool version_part(const char *s, size_t n, int *out)
{
    if (n == 0 || n > 9)
        return false;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

#define TYPE_SHAPE                                                                          \
    "context.type: not a CDEvents type (dev.cdevents.<subject>.<predicate>.<major>.<minor>." \
    "<patch>, or dev.cdeventsx.<tool>-<subject>.<predicate>.<major>.<minor>.<patch>)"

/* Splits context.type into subject, predicate and version. */
static cw_err parse_type(const char *type, cw_event *ev, cw_diag *d)
{
    const char *rest;
    if (strncmp(type, "dev.cdevents.", 13) == 0) {
        rest = type + 13;
    } else if (strncmp(type, "dev.cdeventsx.", 14) == 0) {
        rest = type + 14;
        ev->custom = true;
    } else {
        return cw_fail(d, CW_ERR_INVALID, TYPE_SHAPE);
    }
    const char *part[5];
    size_t len[5];
    const char *p = rest;
    for (int i = 0; i < 5; i++) {
        part[i] = p;
        while (*p && *p != '.')
            p++;
        len[i] = (size_t)(p - part[i]);
        if (len[i] == 0 || (i < 4 && *p != '.') || (i == 4 && *p != '\0'))
            return cw_fail(d, CW_ERR_INVALID, TYPE_SHAPE);
        if (*p)
            p++;
    }
    for (int i = 0; i < 2; i++)
        for (size_t k = 0; k < len[i]; k++)
            if (!name_char(part[i][k]))
                return cw_fail(d, CW_ERR_INVALID, TYPE_SHAPE);
    if (!version_part(part[2], len[2], &ev->version_major) ||
        !version_part(part[3], len[3], &ev->version_minor) ||
        !version_part(part[4], len[4], &ev->version_patch))
        return cw_fail(d, CW_ERR_INVALID, TYPE_SHAPE);
    if (ev->custom)
        return CW_OK;
    if (len[0] >= sizeof ev->subject_kind || len[1] >= sizeof ev->predicate)
        return cw_fail(d, CW_ERR_INVALID, "context.type: subject or predicate longer than %zu characters",
                       sizeof ev->subject_kind - 1);
    memcpy(ev->subject_kind, part[0], len[0]);
    ev->subject_kind[len[0]] = '\0';
    memcpy(ev->predicate, part[1], len[1]);
    ev->predicate[len[1]] = '\0';
    return CW_OK;
}

/* Index of the event's MAJOR.MINOR among t's released versions, or -1. */
static int version_index(const cw__type *t, const cw_event *ev)
{
    for (int i = 0; i < 5 && t->versions[i]; i++) {
        const char *v = t->versions[i];
        /* Table entries are single-digit "M.m.p". */
        if (v[0] - '0' == ev->version_major && v[2] - '0' == ev->version_minor)
            return i;
    }
    return -1;
}

static const char *content_str(const json_t *content, const char *obj_key, const char *key)
{
    const json_t *o = obj_key ? json_object_get(content, obj_key) : content;
    const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    return json_is_string(v) && *json_string_value(v) ? json_string_value(v) : NULL;
}

static cw_err check_custom_data(const json_t *root, const cw_event *ev, cw_diag *d)
{
    const json_t *cd = member(root, "customData");
    if (cd && !json_is_object(cd) && !json_is_string(cd))
        return cw_fail(d, CW_ERR_INVALID, "customData: must be an object or a base64 string");
    const json_t *ct = member(root, "customDataContentType");
    if (ct && !json_is_string(ct))
        return cw_fail(d, CW_ERR_INVALID, "customDataContentType: must be a string");
    if (!ev->known || strcmp(ev->subject_kind, "service") != 0 ||
        (strcmp(ev->predicate, "deployed") != 0 && strcmp(ev->predicate, "upgraded") != 0))
        return CW_OK;
    /* Explicit change attribution (issue #3) must be readable when given. */
    const json_t *ch = json_is_object(cd) ? member(cd, "changes") : NULL;
    if (!ch)
        return CW_OK;
    if (!json_is_array(ch))
        return cw_fail(d, CW_ERR_INVALID, "customData.changes: must be an array of change ids");
    size_t i;
    const json_t *item;
    json_array_foreach(ch, i, item) {
        if (!json_is_string(item) || !*json_string_value(item))
            return cw_fail(d, CW_ERR_INVALID, "customData.changes[%zu]: must be a non-empty string", i);
    }
    return CW_OK;
}

static cw_err decode(json_t *root, cw_event *ev, cw_diag *d)
{
    cw_err err;
    if (!json_is_object(root))
        return cw_fail(d, CW_ERR_INVALID, "must be a JSON object (a CDEvent)");
    const json_t *ctx = member(root, "context");
    if (!ctx)
        return cw_fail(d, CW_ERR_INVALID, "context: required");
    if (!json_is_object(ctx))
        return cw_fail(d, CW_ERR_INVALID, "context: must be an object");
    const json_t *subj = member(root, "subject");
    if (!subj)
        return cw_fail(d, CW_ERR_INVALID, "subject: required");
    if (!json_is_object(subj))
        return cw_fail(d, CW_ERR_INVALID, "subject: must be an object");

    if (member(ctx, "specversion")) {
        err = req_str(ctx, "specversion", "context.specversion", &ev->spec_version, d);
    } else if (member(ctx, "version")) {
        ev->legacy_envelope = true;
        err = req_str(ctx, "version", "context.version", &ev->spec_version, d);
    } else {
        err = cw_fail(d, CW_ERR_INVALID, "context.specversion: required");
    }
    if (err)
        return err;
    if ((err = req_str(ctx, "id", "context.id", &ev->id, d)) ||
        (err = req_str(ctx, "source", "context.source", &ev->source, d)))
        return err;
    if (!cw__is_uri_ref(ev->source))
        return cw_fail(d, CW_ERR_INVALID, "context.source: not a URI reference");
    if ((err = req_str(ctx, "type", "context.type", &ev->type, d)) ||
        (err = parse_type(ev->type, ev, d)))
        return err;
    const char *ts;
    if ((err = req_str(ctx, "timestamp", "context.timestamp", &ts, d)))
        return err;
    if (!cw_time_parse_rfc3339(ts, &ev->time_ms))
        return cw_fail(d, CW_ERR_INVALID, "context.timestamp: not an RFC 3339 date-time");
    if ((err = opt_str(ctx, "chainId", "context.chainId", &ev->chain_id, d)))
        return err;
    const char *schema_uri;
    if ((err = opt_str(ctx, "schemaUri", "context.schemaUri", &schema_uri, d)))
        return err;
    if (schema_uri && !cw__is_uri(schema_uri))
        return cw_fail(d, CW_ERR_INVALID, "context.schemaUri: not an absolute URI");
    const json_t *links = member(ctx, "links");
    if (links) {
        if (!json_is_array(links))
            return cw_fail(d, CW_ERR_INVALID, "context.links: must be an array");
        size_t i;
        const json_t *l;
        json_array_foreach(links, i, l) {
            if (!json_is_object(l))
                return cw_fail(d, CW_ERR_INVALID, "context.links[%zu]: must be an object", i);
        }
    }

    if ((err = req_str(subj, "id", "subject.id", &ev->subject_id, d)) ||
        (err = opt_str(subj, "source", "subject.source", &ev->subject_source, d)))
        return err;
    if (ev->subject_source && !cw__is_uri_ref(ev->subject_source))
        return cw_fail(d, CW_ERR_INVALID, "subject.source: not a URI reference");
    const char *subject_type;
    err = ev->legacy_envelope ? req_str(subj, "type", "subject.type", &subject_type, d)
                              : opt_str(subj, "type", "subject.type", &subject_type, d);
    if (err)
        return err;
    const json_t *content = member(subj, "content");
    if (!content)
        return cw_fail(d, CW_ERR_INVALID, "subject.content: required");
    if (!json_is_object(content))
        return cw_fail(d, CW_ERR_INVALID, "subject.content: must be an object");

    if (!ev->custom) {
        const cw__type *t = cw__type_find(ev->subject_kind, ev->predicate);
        int vi = t ? version_index(t, ev) : -1;
        if (vi >= 0) {
            ev->known = true;
            if ((err = cw__content_check(t, content, vi == 0, d)))
                return err;
        }
    }
    if ((err = check_custom_data(root, ev, d)))
        return err;

    ev->environment_id = content_str(content, "environment", "id");
    ev->artifact_id = content_str(content, NULL, "artifactId");
    ev->repository_id = content_str(content, "repository", "id");
    ev->service_id = content_str(content, "service", "id");
    return CW_OK;
}

cw_err cw_cdevent_decode(json_t *cdevent, cw_event *out, cw_diag *d)
{
    memset(out, 0, sizeof *out);
    cw_err err = decode(cdevent, out, d);
    if (err) {
        memset(out, 0, sizeof *out);
        return err;
    }
    out->raw = json_incref(cdevent);
    return CW_OK;
}
