/*
 * fuzz_raci.c — libFuzzer target for Responsibilities validation, the
 * effective RACI and the ownership findings, from JSON input. An object is
 * validated as a Responsibilities entity (standard and extended activity
 * sets) and used as the only declaration for a fixed component; an array is
 * treated as a whole catalog: every element is validated, the ownership
 * findings are computed and filtered, and the effective RACI of each
 * Component, System and Domain in it is computed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "insights/ownership.h"
#include "insights/raci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void effective_of(json_t *target, json_t *const *resps, size_t n)
{
    json_t *spec = json_object_get(target, "spec");
    const char *kind = json_string_value(json_object_get(target, "kind"));
    const char *sys = NULL, *dom = NULL;
    if (kind && strcmp(kind, "Component") == 0)
        sys = json_string_value(json_object_get(spec, "system"));
    if (kind && strcmp(kind, "Domain") != 0)
        dom = json_string_value(json_object_get(spec, "domain"));
    json_t *out = NULL;
    if (cw_raci_effective(target, sys, dom, resps, n, &out, NULL) == CW_OK && !out)
        abort();
    json_decref(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return 0;
    cw_activity_set extra;
    cw_activity_set_init(&extra);
    (void)cw_activity_set_add(&extra, "cost-control", NULL);
    if (json_is_object(root)) {
        (void)cw_responsibilities_validate(root, NULL, NULL);
        (void)cw_responsibilities_validate(root, &extra, NULL);
        json_t *c = json_pack("{s:s, s:{s:s}, s:{s:s}}", "kind", "Component", "metadata", "name",
                              "pay-api", "spec", "system", "payments");
        if (c) {
            effective_of(c, &root, 1);
            json_object_set_new(json_object_get(c, "spec"), "domain", json_string("money"));
            json_t *out = NULL;
            (void)cw_raci_effective(c, "payments", "money", &root, 1, &out, NULL);
            json_decref(out);
        }
        json_decref(c);
    } else if (json_is_array(root)) {
        size_t n = json_array_size(root);
        json_t **items = malloc((n ? n : 1) * sizeof *items);
        if (items) {
            for (size_t i = 0; i < n; i++) {
                items[i] = json_array_get(root, i);
                (void)cw_responsibilities_validate(items[i], &extra, NULL);
            }
            for (size_t i = 0; i < n && i < 32; i++)
                effective_of(items[i], items, n);
            json_t *findings = NULL;
            cw_ownership_opts opts = {2};
            if (cw_ownership_check(items, n, &opts, &findings, NULL) == CW_OK) {
                static const cw_ownership_filter filters[] = {
                    {"owner-missing", NULL, NULL, NULL},
                    {NULL, "warning", "team-a", NULL},
                    {NULL, NULL, "group:default/team-b", NULL},
                };
                for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
                    json_t *out = NULL;
                    (void)cw_ownership_filter_findings(findings, &filters[i], &out, NULL);
                    json_decref(out);
                }
                (void)cw_ownership_has_errors(findings);
            }
            json_decref(findings);
            free(items);
        }
    }
    cw_activity_set_free(&extra);
    json_decref(root);
    return 0;
}
