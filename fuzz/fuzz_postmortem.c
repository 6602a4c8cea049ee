/*
 * fuzz_postmortem.c — libFuzzer target for the Postmortem kind
 * (catalog/postmortem.h): any JSON object is put in a Postmortem envelope
 * as its spec (or taken whole when it already has a kind) and validated by
 * the catalog, which must either accept it or name its problems; dates are
 * parsed from the input's strings too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "catalog/catalog.h"
#include "catalog/postmortem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return 0;
    json_t *entity = root;
    if (!json_object_get(root, "kind")) {
        entity = json_pack("{s:s, s:s, s:{s:s}, s:O}", "apiVersion", "conway.dev/v1", "kind",
                           "Postmortem", "metadata", "name", "pm", "spec", root);
        if (!entity) {
            json_decref(root);
            return 0;
        }
    } else {
        json_incref(entity);
    }
    cw_diag d;
    cw_err err = cw_entity_validate(entity, &d);
    if (err != CW_OK && err != CW_ERR_INVALID && err != CW_ERR_NOMEM)
        abort();
    if (err == CW_ERR_INVALID && d.msg[0] == '\0')
        abort();
    const char *s = json_string_value(root);
    int64_t a, b;
    if (s && cw_postmortem_date_parse(s, &a, &b) && b < a)
        abort();
    json_decref(entity);
    json_decref(root);
    return 0;
}
