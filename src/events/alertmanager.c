/*
 * alertmanager.c — decoding Alertmanager webhook notifications (version 4)
 * and planning their effect on the group's incident (alertmanager.h).
 */
#include "events/alertmanager.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/incident.h"
#include "util/crypto.h"
#include "util/timeutil.h"

/* Go's zero time.Time, which Alertmanager sends as the endsAt of an alert
 * that has not ended: 0001-01-01T00:00:00Z. Anything at or before the
 * Unix epoch is read as "not ended" (no real alert ends in 1970). */
#define NOT_ENDED_BEFORE_MS 1

static cw_err bad(cw_diag *d, const char *path, const char *rule)
{
    return cw_fail(d, CW_ERR_INVALID, "%s: %s", path, rule);
}

/* An optional member that must be an object of strings when present. */
static cw_err string_object(const json_t *o, const char *path, bool required, cw_diag *d)
{
    if (!o)
        return required ? bad(d, path, "required") : CW_OK;
    if (!json_is_object(o))
        return bad(d, path, "must be an object of strings");
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        if (!json_is_string(v))
            return cw_fail(d, CW_ERR_INVALID, "%s.%.64s: must be a string", path, k);
    }
    return CW_OK;
}

static cw_err opt_string(const json_t *o, const char *key, const char *path, const char **out,
                         cw_diag *d)
{
    const json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return CW_OK;
    if (!json_is_string(v))
        return bad(d, path, "must be a string");
    *out = json_string_value(v);
    return CW_OK;
}

static cw_err status_of(const json_t *o, const char *path, bool *firing, cw_diag *d)
{
    const char *s = json_string_value(json_object_get(o, "status"));
    if (!s)
        return bad(d, path, json_object_get(o, "status") ? "must be \"firing\" or \"resolved\""
                                                          : "required");
    if (!strcmp(s, "firing"))
        *firing = true;
    else if (!strcmp(s, "resolved"))
        *firing = false;
    else
        return bad(d, path, "must be \"firing\" or \"resolved\"");
    return CW_OK;
}

static cw_err time_of(const json_t *o, const char *key, const char *path, bool required,
                      int64_t *out, cw_diag *d)
{
    const json_t *v = json_object_get(o, key);
    *out = 0;
    if (!v)
        return required ? bad(d, path, "required") : CW_OK;
    const char *s = json_string_value(v);
    if (!s || !cw_time_parse_rfc3339(s, out))
        return bad(d, path, "not an RFC 3339 date-time");
    return CW_OK;
}

static cw_err decode_alert(const json_t *a, size_t i, cw_am_alert *out, cw_diag *d)
{
    char path[64];
    cw_err err;
#define AT(member) (snprintf(path, sizeof path, "alerts[%zu]%s", i, member), path)
    if (!json_is_object(a))
        return bad(d, AT(""), "must be an object");
    if ((err = status_of(a, AT(".status"), &out->firing, d)))
        return err;
    out->labels = json_object_get(a, "labels");
    if ((err = string_object(out->labels, AT(".labels"), true, d)))
        return err;
    out->annotations = json_object_get(a, "annotations");
    if ((err = string_object(out->annotations, AT(".annotations"), false, d)))
        return err;
    if ((err = time_of(a, "startsAt", AT(".startsAt"), true, &out->starts_ms, d)) ||
        (err = time_of(a, "endsAt", AT(".endsAt"), false, &out->ends_ms, d)))
        return err;
    if (out->ends_ms < NOT_ENDED_BEFORE_MS)
        out->ends_ms = 0;
    if ((err = opt_string(a, "fingerprint", AT(".fingerprint"), &out->fingerprint, d)) ||
        (err = opt_string(a, "generatorURL", AT(".generatorURL"), &out->generator_url, d)))
        return err;
#undef AT
    return CW_OK;
}

void cw_am_notification_free(cw_am_notification *n)
{
    if (!n)
        return;
    json_decref(n->root);
    free(n->alerts);
    memset(n, 0, sizeof *n);
}

cw_err cw_am_decode(const char *body, size_t len, cw_am_notification *out, cw_diag *d)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    cw_err err = CW_OK;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return cw_fail(d, CW_ERR_INVALID, "body: line %d, column %d: %s", je.line, je.column,
                       je.text);
    out->root = root;
    if (!json_is_object(root)) {
        err = bad(d, "body", "must be a JSON object (an Alertmanager webhook notification)");
        goto out;
    }
    const char *version = json_string_value(json_object_get(root, "version"));
    if (!version || strcmp(version, "4")) {
        err = bad(d, "version", "must be \"4\" (Alertmanager's webhook payload version)");
        goto out;
    }
    out->group_key = json_string_value(json_object_get(root, "groupKey"));
    if (!out->group_key || !*out->group_key) {
        err = bad(d, "groupKey", json_object_get(root, "groupKey") ? "must be a non-empty string"
                                                                   : "required");
        goto out;
    }
    if ((err = status_of(root, "status", &out->firing, d)) ||
        (err = opt_string(root, "receiver", "receiver", &out->receiver, d)) ||
        (err = opt_string(root, "externalURL", "externalURL", &out->external_url, d)))
        goto out;
    out->group_labels = json_object_get(root, "groupLabels");
    out->common_labels = json_object_get(root, "commonLabels");
    out->common_annotations = json_object_get(root, "commonAnnotations");
    if ((err = string_object(out->group_labels, "groupLabels", false, d)) ||
        (err = string_object(out->common_labels, "commonLabels", false, d)) ||
        (err = string_object(out->common_annotations, "commonAnnotations", false, d)))
        goto out;
    const json_t *alerts = json_object_get(root, "alerts");
    if (!json_is_array(alerts) || json_array_size(alerts) == 0) {
        err = bad(d, "alerts", alerts ? "must be a non-empty array" : "required");
        goto out;
    }
    size_t n = json_array_size(alerts);
    if (n > CW_AM_MAX_ALERTS) {
        err = cw_fail(d, CW_ERR_TOO_LARGE, "alerts: %zu alerts, more than the limit of %d", n,
                      CW_AM_MAX_ALERTS);
        goto out;
    }
    out->alerts = calloc(n, sizeof *out->alerts);
    if (!out->alerts) {
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory decoding the notification");
        goto out;
    }
    for (size_t i = 0; i < n && !err; i++)
        err = decode_alert(json_array_get(alerts, i), i, &out->alerts[i], d);
    out->nalerts = n;
out:
    if (err)
        cw_am_notification_free(out);
    return err;
}

/* ---- reading the group -------------------------------------------------------------- */

const char *cw_am_label(const json_t *labels, const char *name)
{
    const char *v = json_string_value(json_object_get(labels, name));
    return v && *v ? v : NULL;
}

/* The first of names found in labels. */
static const char *first_label(const json_t *labels, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = cw_am_label(labels, names[i]);
        if (v)
            return v;
    }
    return NULL;
}

/* The first of names in commonLabels, else in the alerts (firing first). */
static const char *group_label(const cw_am_notification *n, const char *const *names, size_t k)
{
    const char *v = first_label(n->common_labels, names, k);
    for (int pass = 0; !v && pass < 2; pass++)
        for (size_t i = 0; !v && i < n->nalerts; i++)
            if (n->alerts[i].firing == (pass == 0))
                v = first_label(n->alerts[i].labels, names, k);
    return v;
}

const char *cw_am_component(const cw_am_notification *n)
{
    static const char *const names[] = {"conway_component", "component", "service"};
    return group_label(n, names, 3);
}

const char *cw_am_environment(const cw_am_notification *n)
{
    static const char *const names[] = {"environment", "env"};
    return group_label(n, names, 2);
}

const char *cw_am_severity(const cw_am_notification *n)
{
    const char *v = cw_am_label(n->common_labels, "severity"), *first = NULL;
    if (v)
        return v;
    cw_severity best = CW_SEV_UNKNOWN;
    for (size_t i = 0; i < n->nalerts; i++) {
        const char *s = cw_am_label(n->alerts[i].labels, "severity");
        if (!s)
            continue;
        if (!first)
            first = s;
        cw_severity sev = cw_severity_parse(s);
        if (sev > best) {
            best = sev;
            v = s;
        }
    }
    return v ? v : first;
}

void cw_am_title(const cw_am_notification *n, char *out, size_t cap)
{
    const char *s = cw_am_label(n->common_annotations, "summary");
    for (size_t i = 0; !s && i < n->nalerts; i++)
        s = cw_am_label(n->alerts[i].annotations, "summary");
    if (s) {
        snprintf(out, cap, "%s", s);
    } else {
        const char *name = cw_am_label(n->common_labels, "alertname");
        if (!name && n->nalerts)
            name = cw_am_label(n->alerts[0].labels, "alertname");
        snprintf(out, cap, "alertname=%s (%zu alert%s)", name ? name : "?", n->nalerts,
                 n->nalerts == 1 ? "" : "s");
    }
    /* a cut may have split a multi-byte character: drop its head */
    size_t len = strlen(out);
    if (len + 1 == cap) {
        size_t i = len;
        while (i > 0 && ((unsigned char)out[i - 1] & 0xC0) == 0x80)
            i--;
        if (i > 0 && ((unsigned char)out[i - 1] & 0x80)) {
            unsigned char lead = (unsigned char)out[i - 1];
            size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
            if (len - (i - 1) < need)
                out[i - 1] = '\0';
        }
    }
}

/* ---- planning ---------------------------------------------------------------------- */

void cw_am_plan_make(const cw_am_notification *n, const cw_am_previous *prev, int64_t now_ms,
                     cw_am_plan *out)
{
    memset(out, 0, sizeof *out);
    bool open = prev->exists && !prev->ended;
    /* the earliest start of the alerts that began after the latest incident
     * ended (all of them when there is none): those of a new episode */
    int64_t after = prev->exists && prev->ended ? prev->resolved_ms : INT64_MIN;
    int64_t first_new = 0, last_end = 0;
    bool any_new = false;
    for (size_t i = 0; i < n->nalerts; i++) {
        const cw_am_alert *a = &n->alerts[i];
        if (n->firing && !a->firing)
            continue; /* a firing group's resolved alerts open nothing */
        if (a->starts_ms > after && (!any_new || a->starts_ms < first_new)) {
            first_new = a->starts_ms;
            any_new = true;
        }
        if (a->ends_ms > last_end)
            last_end = a->ends_ms;
    }
    out->number = prev->exists ? prev->number : 1;
    if (!open && any_new) {
        out->number = prev->exists ? prev->number + 1 : 1;
        out->detect = true;
        out->detected_ms = first_new;
    }
    if (!n->firing) {
        out->resolve = true;
        out->resolved_ms = last_end ? last_end : now_ms;
        if (out->detect && out->resolved_ms < out->detected_ms)
            out->resolved_ms = out->detected_ms;
    }
}

void cw_am_subject_id(const char *group_key, int64_t number, char out[48])
{
    char hex[65];
    cw_sha256_hex(group_key, strlen(group_key), hex);
    snprintf(out, 48, "am-%.16s-%lld", hex, (long long)number);
}

cw_err cw_am_plan_events(const cw_am_notification *n, const cw_am_plan *plan, json_t *out)
{
    char subject[48], id[64], title[256];
    cw_am_subject_id(n->group_key, plan->number, subject);
    cw_am_title(n, title, sizeof title);
    json_t *extra = json_object();
    if (!extra)
        return CW_ERR_NOMEM;
    bool ok = true;
    if (n->receiver && json_object_set_new(extra, "receiver", json_string(n->receiver)))
        ok = false;
    if (n->external_url && json_object_set_new(extra, "externalURL", json_string(n->external_url)))
        ok = false;
    cw_incident_cdevent_spec sp = {
        .event_source = CW_AM_SOURCE,
        .subject_id = subject,
        .environment = cw_am_environment(n),
        .service_id = cw_am_component(n),
        .description = title,
        .severity = cw_am_severity(n),
        .title = title,
        .group_key = n->group_key,
        .extra = extra,
    };
    for (int k = 0; ok && k < 2; k++) {
        if (k == 0 ? !plan->detect : !plan->resolve)
            continue;
        sp.kind = k == 0 ? CW_INC_EV_DETECTED : CW_INC_EV_RESOLVED;
        sp.time_ms = k == 0 ? plan->detected_ms : plan->resolved_ms;
        snprintf(id, sizeof id, "%s/%s", subject, k == 0 ? "detected" : "resolved");
        sp.event_id = id;
        json_t *ev = cw_incident_cdevent_build(&sp);
        if (!ev || json_array_append_new(out, ev))
            ok = false;
    }
    json_decref(extra);
    return ok ? CW_OK : CW_ERR_NOMEM;
}
