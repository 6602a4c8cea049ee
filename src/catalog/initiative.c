/*
 * initiative.c — the shape of the Initiative kind (initiative.h). The
 * scorecard and owner references are checked by the kind table (kinds.c);
 * here: a target (a level or a list of checks, exactly one of them), the
 * scope as the catalog filter syntax, and start and deadline as dates with
 * the deadline after the start. Whether the scorecard exists and has that
 * level or those checks is known only with the catalog at hand: the API
 * says so when it computes the progress (an initiative may be imported
 * before its scorecard).
 */
#include "catalog/initiative.h"

#include <stdio.h>
#include <string.h>

#include "catalog/filter.h"
#include "catalog/kinds.h"
#include "util/duration.h"

static bool id_ok(const json_t *v)
{
    const char *s = json_string_value(v);
    if (!s || !*s || strlen(s) != json_string_length(v) || strlen(s) >= CW_INITIATIVE_ID_MAX)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

static void check_target(const json_t *spec, cw_issue_list *out)
{
    const json_t *level = json_object_get(spec, "targetLevel");
    const json_t *checks = json_object_get(spec, "checks");
    if (!level && !checks) {
        cw__issue(out, "spec.targetLevel",
                  "required (or spec.checks): the level, or the checks, every entity in scope "
                  "is to reach");
        return;
    }
    if (level && checks)
        cw__issue(out, "spec.checks", "give spec.targetLevel or spec.checks, not both");
    if (level && !id_ok(level))
        cw__issue(out, "spec.targetLevel",
                  "must be a level name of the scorecard: 1 to %d characters without control "
                  "characters",
                  CW_INITIATIVE_ID_MAX - 1);
    if (!checks)
        return;
    if (!json_is_array(checks) || !json_array_size(checks)) {
        cw__issue(out, "spec.checks", "must be a non-empty list of check ids of the scorecard");
        return;
    }
    if (json_array_size(checks) > CW_INITIATIVE_CHECKS_MAX)
        cw__issue(out, "spec.checks", "at most %d checks", CW_INITIATIVE_CHECKS_MAX);
    size_t i;
    const json_t *c;
    json_array_foreach(checks, i, c) {
        char path[48];
        snprintf(path, sizeof path, "spec.checks[%zu]", i);
        if (!id_ok(c)) {
            cw__issue(out, path,
                      "must be a check id of the scorecard: 1 to %d characters without control "
                      "characters",
                      CW_INITIATIVE_ID_MAX - 1);
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (json_equal(json_array_get(checks, j), c)) {
                cw__issue(out, path, "names the same check as spec.checks[%zu]", j);
                break;
            }
    }
}

static void check_filter(const json_t *spec, cw_issue_list *out)
{
    const json_t *f = json_object_get(spec, "filter");
    if (!f)
        return;
    const char *params[CW_FILTER_MAX_CLAUSES];
    size_t n = 0;
    if (json_is_string(f)) {
        params[n++] = json_string_value(f);
    } else if (json_is_array(f) && json_array_size(f) >= 1 &&
               json_array_size(f) <= CW_FILTER_MAX_CLAUSES) {
        size_t i;
        const json_t *c;
        json_array_foreach(f, i, c) {
            if (!json_is_string(c)) {
                char path[48];
                snprintf(path, sizeof path, "spec.filter[%zu]", i);
                cw__issue(out, path, "must be a filter string such as kind=component");
                return;
            }
            params[n++] = json_string_value(c);
        }
    } else {
        cw__issue(out, "spec.filter",
                  "must be a filter string (kind=component,spec.lifecycle=production) or a list "
                  "of 1 to %d of them (ORed)",
                  CW_FILTER_MAX_CLAUSES);
        return;
    }
    cw_filter_owned *parsed = NULL;
    cw_diag d = {{0}};
    if (cw_filter_parse_backstage(params, n, &parsed, &d) != CW_OK)
        cw__issue(out, "spec.filter", "%s", d.msg);
    cw_filter_owned_free(parsed);
}

void cw__initiative_kind_check(const json_t *entity, const json_t *spec, const char *ns,
                               const struct cw_activity_set *activities, cw_issue_list *out)
{
    (void)entity;
    (void)ns;
    (void)activities;
    if (!spec)
        return;
    const char *sc = json_string_value(json_object_get(spec, "scorecard"));
    cw_ref ref;
    cw_diag d = {{0}};
    if (sc && cw_ref_parse(sc, "Scorecard", ns, &ref, &d) == CW_OK &&
        strcmp(ref.kind, "Scorecard") != 0) {
        char clip[72];
        cw__clip(ref.kind, clip);
        cw__issue(out, "spec.scorecard", "must name a Scorecard, not a %s", clip);
    }
    check_target(spec, out);
    check_filter(spec, out);
    int64_t start = 0, deadline = 0;
    bool have_start = false, have_deadline = false;
    static const char *const dates[] = {"start", "deadline"};
    for (size_t i = 0; i < 2; i++) {
        char path[32];
        snprintf(path, sizeof path, "spec.%s", dates[i]);
        const json_t *v = json_object_get(spec, dates[i]);
        int64_t t;
        if (!v)
            cw__issue(out, path, "required: a date (2026-12-31) or an RFC 3339 date-time");
        else if (!json_is_string(v) || !cw_date_parse(json_string_value(v), &t))
            cw__issue(out, path, "must be a date (2026-12-31) or an RFC 3339 date-time");
        else if (i == 0)
            start = t, have_start = true;
        else
            deadline = t, have_deadline = true;
    }
    if (have_start && have_deadline && deadline <= start)
        cw__issue(out, "spec.deadline", "must be after spec.start (%s)",
                  json_string_value(json_object_get(spec, "start")));
}
