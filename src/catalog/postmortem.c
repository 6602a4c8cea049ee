/*
 * postmortem.c — validation of the Postmortem kind (postmortem.h). Each
 * rule names the exact field it is about, and all problems are reported
 * at once, as for every other kind.
 */
#include "catalog/postmortem.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "catalog/kinds.h"
#include "catalog/responsibilities.h"
#include "util/buf.h"
#include "util/strmap.h"
#include "util/timeutil.h"

static const char *const status_names[] = {"open", "in-progress", "done", "wont-do"};

const char *cw_action_status_name(cw_action_status s)
{
    return (unsigned)s < 4 ? status_names[s] : "open";
}

bool cw_action_status_parse(const char *name, cw_action_status *out)
{
    for (int i = 0; name && i < 4; i++)
        if (!strcmp(name, status_names[i])) {
            *out = (cw_action_status)i;
            return true;
        }
    return false;
}

bool cw_postmortem_date_parse(const char *text, int64_t *ms_out, int64_t *end_ms_out)
{
    if (!text)
        return false;
    size_t n = strlen(text);
    if (n == 10) {
        /* YYYY-MM-DD: the whole day, UTC */
        char full[32];
        for (size_t i = 0; i < 10; i++) {
            bool dash = i == 4 || i == 7;
            if (dash ? text[i] != '-' : (text[i] < '0' || text[i] > '9'))
                return false;
        }
        snprintf(full, sizeof full, "%sT00:00:00Z", text);
        if (!cw_time_parse_rfc3339(full, ms_out))
            return false;
        if (end_ms_out)
            *end_ms_out = *ms_out + 86400000LL;
        return true;
    }
    if (n > 40 || !cw_time_parse_rfc3339(text, ms_out))
        return false;
    if (end_ms_out)
        *end_ms_out = *ms_out;
    return true;
}

/* ---- rules ------------------------------------------------------------------------- */

static void path_at(char out[128], const char *list, size_t i, const char *field)
{
    if (field)
        snprintf(out, 128, "spec.%s[%zu].%s", list, i, field);
    else
        snprintf(out, 128, "spec.%s[%zu]", list, i);
}

static bool nonempty_string(const json_t *v) { return json_is_string(v) && json_string_length(v); }

/* A list of non-empty strings (texts, whys, lessons); absent is fine. */
static void check_text_list(const json_t *spec, const char *name, cw_issue_list *out)
{
    const json_t *list = json_object_get(spec, name);
    char path[128];
    if (!list)
        return;
    snprintf(path, sizeof path, "spec.%s", name);
    if (!json_is_array(list)) {
        cw__issue(out, path, "must be an array of texts");
        return;
    }
    if (json_array_size(list) > CW_POSTMORTEM_MAX_ITEMS) {
        cw__issue(out, path, "at most %d entries", CW_POSTMORTEM_MAX_ITEMS);
        return;
    }
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v) {
        if (!nonempty_string(v)) {
            path_at(path, name, i, NULL);
            cw__issue(out, path, "must be a non-empty text");
        }
    }
}

static void check_incidents(const json_t *spec, cw_issue_list *out)
{
    const json_t *list = json_object_get(spec, "incidents");
    if (!list) {
        cw__issue(out, "spec.incidents", "required: the ids of the incidents this postmortem is "
                                         "about (as GET /api/v1/incidents shows them in \"ref\")");
        return;
    }
    if (!json_is_array(list) || json_array_size(list) == 0) {
        cw__issue(out, "spec.incidents", "must be a non-empty array of incident ids");
        return;
    }
    if (json_array_size(list) > CW_POSTMORTEM_MAX_ITEMS) {
        cw__issue(out, "spec.incidents", "at most %d incidents", CW_POSTMORTEM_MAX_ITEMS);
        return;
    }
    cw_strmap seen;
    cw_strmap_init(&seen);
    size_t i;
    const json_t *v;
    char path[128];
    json_array_foreach(list, i, v) {
        path_at(path, "incidents", i, NULL);
        if (!nonempty_string(v) || json_string_length(v) > CW_POSTMORTEM_INCIDENT_MAX) {
            cw__issue(out, path, "must be an incident id (1 to %d characters)",
                      CW_POSTMORTEM_INCIDENT_MAX);
            continue;
        }
        bool inserted = false;
        if (cw_strmap_put_new(&seen, json_string_value(v), NULL, NULL, &inserted)) {
            out->nomem = true;
            break;
        }
        if (!inserted) {
            char shown[72];
            cw__clip(json_string_value(v), shown);
            cw__issue(out, path, "\"%s\" is listed twice", shown);
        }
    }
    cw_strmap_free(&seen);
}

static void check_timeline(const json_t *spec, cw_issue_list *out)
{
    const json_t *list = json_object_get(spec, "timeline");
    if (!list)
        return;
    if (!json_is_array(list)) {
        cw__issue(out, "spec.timeline", "must be an array of {at, text} entries");
        return;
    }
    if (json_array_size(list) > CW_POSTMORTEM_MAX_ITEMS) {
        cw__issue(out, "spec.timeline", "at most %d entries", CW_POSTMORTEM_MAX_ITEMS);
        return;
    }
    size_t i;
    const json_t *v;
    char path[128];
    json_array_foreach(list, i, v) {
        if (!json_is_object(v)) {
            path_at(path, "timeline", i, NULL);
            cw__issue(out, path, "must be an object {at, text}");
            continue;
        }
        const char *k;
        const json_t *f;
        json_object_foreach((json_t *)v, k, f) {
            if (strcmp(k, "at") && strcmp(k, "text")) {
                char shown[72];
                cw__clip(k, shown);
                path_at(path, "timeline", i, NULL);
                cw__issue(out, path, "unknown field \"%s\" (allowed: at, text)", shown);
            }
        }
        int64_t ms;
        const json_t *at = json_object_get(v, "at");
        path_at(path, "timeline", i, "at");
        if (!at)
            cw__issue(out, path, "required: when it happened (YYYY-MM-DD or RFC 3339 date-time)");
        else if (!cw_postmortem_date_parse(json_string_value(at), &ms, NULL))
            cw__issue(out, path, "not a date (YYYY-MM-DD) or RFC 3339 date-time");
        path_at(path, "timeline", i, "text");
        if (!nonempty_string(json_object_get(v, "text")))
            cw__issue(out, path, "required: a non-empty text saying what happened");
    }
}

static const char *const item_fields[] = {"id",     "title",    "owner",  "due",
                                          "activity", "issueUrl", "status", "doneAt"};

static bool item_field_known(const char *k)
{
    for (size_t i = 0; i < sizeof item_fields / sizeof item_fields[0]; i++)
        if (!strcmp(k, item_fields[i]))
            return true;
    return false;
}

static bool valid_item_id(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > CW_POSTMORTEM_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static bool http_url(const char *s)
{
    if (!s)
        return false;
    size_t skip = !strncasecmp(s, "https://", 8) ? 8 : !strncasecmp(s, "http://", 7) ? 7 : 0;
    if (!skip || !s[skip] || s[skip] == '/')
        return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return false;
    return strlen(s) <= 2048;
}

static void check_owner(const json_t *v, const char *ns, const char *path, cw_issue_list *out)
{
    if (!v) {
        cw__issue(out, path, "required: the team or person who owns the action "
                             "(a Group or User reference, e.g. group:default/sre)");
        return;
    }
    cw_ref r;
    cw_diag d;
    if (!json_is_string(v)) {
        cw__issue(out, path, "must be an entity reference string (a Group or User)");
        return;
    }
    if (cw_ref_parse(json_string_value(v), "Group", ns, &r, &d) != CW_OK) {
        cw__issue(out, path, "%s", d.msg);
        return;
    }
    if (strcasecmp(r.kind, "Group") && strcasecmp(r.kind, "User")) {
        char ref[CW_REF_MAX], shown[72];
        cw_ref_format(&r, ref);
        cw__clip(ref, shown);
        cw__issue(out, path, "must refer to a Group or User, not \"%s\"", shown);
    }
}

static void check_item(const json_t *it, size_t i, const char *ns, const cw_activity_set *known,
                       cw_strmap *ids, cw_issue_list *out)
{
    char path[128], shown[72];
    if (!json_is_object(it)) {
        path_at(path, "actionItems", i, NULL);
        cw__issue(out, path, "must be an object {id, title, owner, due, ...}");
        return;
    }
    const char *k;
    const json_t *f;
    json_object_foreach((json_t *)it, k, f) {
        if (!item_field_known(k)) {
            cw__clip(k, shown);
            path_at(path, "actionItems", i, NULL);
            cw__issue(out, path,
                      "unknown field \"%s\" (allowed: id, title, owner, due, activity, issueUrl, "
                      "status, doneAt)",
                      shown);
        }
    }
    const json_t *id = json_object_get(it, "id");
    path_at(path, "actionItems", i, "id");
    if (!id) {
        cw__issue(out, path, "required: a short id, unique in this postmortem (e.g. AI-1)");
    } else if (!json_is_string(id) || !valid_item_id(json_string_value(id))) {
        cw__issue(out, path, "must be 1 to %d characters of A-Z, a-z, 0-9, '-', '_' and '.'",
                  CW_POSTMORTEM_ID_MAX);
    } else {
        bool inserted = false;
        if (cw_strmap_put_new(ids, json_string_value(id), NULL, NULL, &inserted))
            out->nomem = true;
        else if (!inserted)
            cw__issue(out, path, "\"%s\" is used by another action item", json_string_value(id));
    }
    path_at(path, "actionItems", i, "title");
    if (!nonempty_string(json_object_get(it, "title")))
        cw__issue(out, path, "required: a non-empty text saying what will be done");
    path_at(path, "actionItems", i, "owner");
    check_owner(json_object_get(it, "owner"), ns, path, out);
    const json_t *due = json_object_get(it, "due");
    int64_t ms;
    path_at(path, "actionItems", i, "due");
    if (!due)
        cw__issue(out, path, "required: the date it is due (YYYY-MM-DD)");
    else if (!cw_postmortem_date_parse(json_string_value(due), &ms, NULL))
        cw__issue(out, path, "not a date (YYYY-MM-DD) or RFC 3339 date-time");
    const json_t *act = json_object_get(it, "activity");
    path_at(path, "actionItems", i, "activity");
    if (act && !json_is_string(act)) {
        cw__issue(out, path, "must be the name of a RACI activity");
    } else if (act && !cw_activity_set_has(known, json_string_value(act))) {
        cw_buf names;
        cw_buf_init(&names, 4096);
        if (cw_activity_set_describe(known, &names))
            out->nomem = true;
        cw__clip(json_string_value(act), shown);
        cw__issue(out, path, "unknown activity \"%s\"; known activities: %s", shown,
                  cw_buf_cstr(&names));
        cw_buf_free(&names);
    }
    const json_t *url = json_object_get(it, "issueUrl");
    path_at(path, "actionItems", i, "issueUrl");
    if (url && !http_url(json_string_value(url)))
        cw__issue(out, path, "must be an http(s) URL");
    const json_t *st = json_object_get(it, "status");
    cw_action_status status = CW_ACTION_OPEN;
    path_at(path, "actionItems", i, "status");
    if (st && !cw_action_status_parse(json_string_value(st), &status))
        cw__issue(out, path, "must be one of open, in-progress, done, wont-do");
    const json_t *done = json_object_get(it, "doneAt");
    path_at(path, "actionItems", i, "doneAt");
    if (done) {
        if (!cw_postmortem_date_parse(json_string_value(done), &ms, NULL))
            cw__issue(out, path, "not a date (YYYY-MM-DD) or RFC 3339 date-time");
        else if (cw_action_status_pending(status))
            cw__issue(out, path, "only for an action that is done or wont-do (status is %s)",
                      cw_action_status_name(status));
    }
}

static void check_items(const json_t *spec, const char *ns, const cw_activity_set *known,
                        cw_issue_list *out)
{
    const json_t *list = json_object_get(spec, "actionItems");
    if (!list)
        return;
    if (!json_is_array(list)) {
        cw__issue(out, "spec.actionItems", "must be an array of action items");
        return;
    }
    if (json_array_size(list) > CW_POSTMORTEM_MAX_ITEMS) {
        cw__issue(out, "spec.actionItems", "at most %d action items", CW_POSTMORTEM_MAX_ITEMS);
        return;
    }
    cw_strmap ids;
    cw_strmap_init(&ids);
    size_t i;
    const json_t *it;
    json_array_foreach(list, i, it)
        check_item(it, i, ns, known, &ids, out);
    cw_strmap_free(&ids);
}

static const char *const spec_fields[] = {"owner",   "incidents", "summary",
                                          "impact",  "timeline",  "whys",
                                          "contributingFactors", "lessons", "actionItems"};

void cw_postmortem_kind_check(const json_t *entity, const json_t *spec, const char *ns,
                              const cw_activity_set *activities, cw_issue_list *out)
{
    (void)entity;
    if (!out || !spec)
        return;
    if (!json_is_object(spec)) {
        cw__issue(out, "spec", "must be an object");
        return;
    }
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)spec, k, v) {
        bool known = false;
        for (size_t i = 0; i < sizeof spec_fields / sizeof spec_fields[0] && !known; i++)
            known = !strcmp(k, spec_fields[i]);
        if (!known) {
            char shown[72], path[128];
            cw__clip(k, shown);
            snprintf(path, sizeof path, "spec.%s", shown);
            cw__issue(out, path,
                      "unknown field (allowed: owner, incidents, summary, impact, timeline, "
                      "whys, contributingFactors, lessons, actionItems)");
        }
    }
    check_incidents(spec, out);
    if (!json_object_get(spec, "summary"))
        cw__issue(out, "spec.summary", "required: what happened, in a few sentences");
    else if (!nonempty_string(json_object_get(spec, "summary")))
        cw__issue(out, "spec.summary", "must be a non-empty text");
    const json_t *impact = json_object_get(spec, "impact");
    if (impact && !nonempty_string(impact))
        cw__issue(out, "spec.impact", "must be a non-empty text");
    check_timeline(spec, out);
    check_text_list(spec, "whys", out);
    check_text_list(spec, "contributingFactors", out);
    check_text_list(spec, "lessons", out);
    check_items(spec, ns, activities, out);
}
