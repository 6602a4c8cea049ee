/* ownership_report.c — the ownership findings answer (ownership_report.h). */
#include "insights/ownership_report.h"

#include <string.h>

cw_err cw_ownership_report(const json_t *findings, size_t max_components_per_team,
                           size_t entities, json_t **out, cw_diag *d)
{
    *out = NULL;
    if (!json_is_array(findings))
        return cw_fail(d, CW_ERR_INVALID, "findings: must be an array");
    json_int_t nerr = 0, nwarn = 0;
    json_t *by_rule = json_object();
    json_t *body = NULL;
    size_t i;
    const json_t *f;
    if (!by_rule)
        goto nomem;
    json_array_foreach(findings, i, f) {
        const char *sev = json_string_value(json_object_get(f, "severity"));
        const char *rule = json_string_value(json_object_get(f, "rule"));
        if (sev && !strcmp(sev, "error"))
            nerr++;
        else
            nwarn++;
        if (!rule)
            continue;
        json_int_t c = json_integer_value(json_object_get(by_rule, rule));
        if (json_object_set_new(by_rule, rule, json_integer(c + 1)))
            goto nomem;
    }
    body = json_pack("{s:O, s:{s:I, s:I, s:I, s:O}, s:I, s:I}", "findings", findings,
                     "summary", "error", nerr, "warning", nwarn, "total",
                     (json_int_t)json_array_size(findings), "byRule", by_rule,
                     "maxComponentsPerTeam", (json_int_t)max_components_per_team, "entities",
                     (json_int_t)entities);
    if (!body)
        goto nomem;
    json_decref(by_rule);
    *out = body;
    return CW_OK;
nomem:
    json_decref(by_rule);
    return cw_fail(d, CW_ERR_NOMEM, "out of memory rendering ownership findings");
}
