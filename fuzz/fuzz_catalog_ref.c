/*
 * fuzz_catalog_ref.c — libFuzzer target for entity references and the name
 * validators: parsing must never overflow the fixed-size parts, and a parsed
 * ref must format to text whose key equals the ref's key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *text, const char *dk, const char *dns)
{
    cw_ref r;
    cw_diag d;
    char ref[CW_REF_MAX], key[CW_REF_MAX], key2[CW_REF_MAX];
    if (cw_ref_parse(text, dk, dns, &r, &d) != CW_OK)
        return;
    if (!r.kind[0] || !r.namespace_[0] || !r.name[0])
        abort();
    cw_ref_format(&r, ref);
    cw_ref_key(&r, key);
    if (!cw_ref_text_to_key(ref, key2) || strcmp(key, key2) != 0)
        abort();
    /* The full form parses back to the same parts. */
    cw_ref again;
    if (cw_ref_parse(ref, NULL, NULL, &again, &d) != CW_OK)
        abort();
    if (strcmp(again.name, r.name) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    check(text, NULL, NULL);
    check(text, "Group", NULL);
    check(text, "component", "other-ns");
    char key[CW_REF_MAX];
    (void)cw_ref_text_to_key(text, key);
    (void)cw_kind_canonical(text);
    bool name = cw_valid_name(text);
    (void)cw_valid_namespace(text);
    (void)cw_valid_kind(text);
    (void)cw_valid_api_version(text);
    (void)cw_valid_label_key(text);
    (void)cw_valid_label_value(text);
    (void)cw_valid_tag(text);
    if (name && (strlen(text) > CW_NAME_MAX || !cw_valid_label_value(text)))
        abort();
    free(text);
    return 0;
}
