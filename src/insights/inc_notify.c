/*
 * inc_notify.c — the payloads of inc_notify.h: the fields a receiver reads
 * and a one-line text a person reads in Slack.
 */
#include "insights/inc_notify.h"

#include <stdio.h>
#include <stdlib.h>

#include "util/timeutil.h"

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v && *v)
        json_object_set_new(o, k, json_string(v));
}

static void set_time(json_t *o, const char *k, int64_t ms)
{
    char t[32];
    cw_time_format_ms(ms, t);
    json_object_set_new(o, k, json_string(t));
}

/* p with its "text" from a formatted line; NULL (p released) on OOM. */
static json_t *with_text(json_t *p, char *text)
{
    if (!p || !text || json_object_set_new(p, "text", json_string(text))) {
        json_decref(p);
        p = NULL;
    }
    free(text);
    return p;
}

json_t *cw_notify_incident_payload(const cw_notify_incident *inc, bool resolved, int64_t at_ms)
{
    json_t *p = json_object(), *i = json_object();
    if (!p || !i) {
        json_decref(p);
        json_decref(i);
        return NULL;
    }
    json_object_set_new(p, "type", json_string(resolved ? "incident.resolved" : "incident.opened"));
    set_time(p, "at", at_ms);
    json_object_set_new(i, "id", json_integer(inc->id));
    set_str(i, "ref", inc->ref);
    set_str(i, "source", inc->source);
    set_str(i, "title", inc->title);
    set_str(i, "severity", inc->severity);
    set_str(i, "state", inc->state);
    set_time(i, "startedAt", inc->start_ms);
    if (inc->resolved_ms)
        set_time(i, "resolvedAt", inc->resolved_ms);
    set_str(i, "component", inc->component);
    set_str(i, "owner", inc->owner);
    json_object_set_new(p, "incident", i);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f) {
        fprintf(f, "Incident %s %s", inc->ref ? inc->ref : "?", resolved ? "RESOLVED" : "OPENED");
        if (inc->severity && *inc->severity)
            fprintf(f, " (%s)", inc->severity);
        if (inc->title && *inc->title)
            fprintf(f, ": %s", inc->title);
        if (inc->component && *inc->component)
            fprintf(f, " — %s", inc->component);
        if (inc->owner && *inc->owner)
            fprintf(f, ", owned by %s", inc->owner);
        if (fclose(f)) {
            free(text);
            text = NULL;
        }
    }
    return with_text(p, text);
}

json_t *cw_notify_action_payload(const char *postmortem, const json_t *item, const char *owner,
                                 int64_t at_ms)
{
    json_t *p = json_object(), *a = json_object();
    if (!p || !a) {
        json_decref(p);
        json_decref(a);
        return NULL;
    }
    const char *id = json_string_value(json_object_get(item, "id"));
    const char *title = json_string_value(json_object_get(item, "title"));
    const char *due = json_string_value(json_object_get(item, "due"));
    const char *status = json_string_value(json_object_get(item, "status"));
    json_object_set_new(p, "type", json_string("action-item.overdue"));
    set_time(p, "at", at_ms);
    set_str(a, "postmortem", postmortem);
    set_str(a, "id", id);
    set_str(a, "title", title);
    set_str(a, "owner", owner);
    set_str(a, "due", due);
    set_str(a, "status", status ? status : "open");
    set_str(a, "activity", json_string_value(json_object_get(item, "activity")));
    set_str(a, "issueUrl", json_string_value(json_object_get(item, "issueUrl")));
    json_object_set_new(p, "actionItem", a);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f) {
        fprintf(f, "Action item %s of %s is OVERDUE (due %s): %s — owner %s", id ? id : "?",
                postmortem ? postmortem : "?", due ? due : "?", title ? title : "?",
                owner ? owner : "?");
        if (fclose(f)) {
            free(text);
            text = NULL;
        }
    }
    return with_text(p, text);
}
