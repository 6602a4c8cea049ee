/*
 * fuzz_catalog_parse.c — libFuzzer target for catalog input: YAML/JSON
 * parsing with limits, then validation, relations, search rows and the
 * canonical JSON of every document, checking the invariants that callers
 * rely on (valid entities always yield relations and rows).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(json_t *doc)
{
    cw_diag d;
    cw_ref ref;
    cw_relation_list rels = {0};
    cw_search_rows rows = {0};
    cw_issue_list issues = {0};

    /* Derived data must not crash even on entities that fail validation. */
    (void)cw_entity_relations(doc, &rels, &d);
    cw_relation_list_free(&rels);
    (void)cw_entity_search_rows(doc, NULL, &rows);
    cw_search_rows_free(&rows);

    cw_err err = cw_entity_validate_all(doc, &issues, &d);
    if (err == CW_ERR_INVALID && issues.len == 0)
        abort(); /* an invalid entity always says why */
    cw_issue_list_free(&issues);
    if (err != CW_OK)
        return;
    if (cw_entity_ref(doc, &ref, &d) != CW_OK)
        abort();
    if (cw_entity_relations(doc, &rels, &d) != CW_OK)
        abort(); /* validation checked every reference */
    if (cw_entity_search_rows(doc, &rels, &rows) != CW_OK)
        abort();
    for (size_t i = 1; i < rows.len; i++)
        if (strcmp(rows.items[i - 1].key, rows.items[i].key) > 0)
            abort();
    char *canon = cw_entity_canonical_json(doc);
    if (!canon)
        abort();
    /* Validating again is idempotent. */
    if (cw_entity_validate(doc, &d) != CW_OK)
        abort();
    char *canon2 = cw_entity_canonical_json(doc);
    if (!canon2 || strcmp(canon, canon2) != 0)
        abort();
    free(canon);
    free(canon2);
    cw_search_rows_free(&rows);
    cw_relation_list_free(&rels);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cw_parse_limits lim;
    cw_parse_limits_default(&lim);
    lim.max_nodes = 20000; /* keep each run quick */
    json_t *docs = NULL;
    cw_diag d;
    cw_err err = cw_parse_documents((const char *)data, size, &lim, &docs, &d);
    if (err != CW_OK) {
        if (docs)
            abort();
        return 0;
    }
    size_t i;
    json_t *doc;
    json_array_foreach(docs, i, doc)
        exercise(doc);
    json_decref(docs);
    return 0;
}
