/*
 * filter_match.c — answering a cw_filter for one entity in memory, from the
 * same search rows the store indexes, so a scorecard's spec.filter selects
 * exactly what GET /api/v1/entities?filter= would.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/filter.h"

/* Whether rows hold (key, value), or key at all when value is NULL. A
 * linear walk: an entity has tens of rows. */
static bool has_row(const cw_search_rows *rows, const char *key, const char *value)
{
    for (size_t i = 0; i < rows->len; i++)
        if (strcmp(rows->items[i].key, key) == 0 &&
            (!value || (rows->items[i].value && strcmp(rows->items[i].value, value) == 0)))
            return true;
    return false;
}

bool cw_filter_matches_entity(const cw_filter *f, const json_t *entity)
{
    if (!f || f->n == 0)
        return true;
    cw_relation_list rels = {0};
    size_t n = json_array_size(json_object_get(entity, "relations"));
    bool matched = false;
    if (n) {
        rels.items = calloc(n, sizeof *rels.items);
        if (!rels.items)
            return false;
        rels.cap = n;
    }
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(entity, "relations"), i, r) {
        const char *type = json_string_value(json_object_get(r, "type"));
        const char *target = json_string_value(json_object_get(r, "targetRef"));
        char key[CW_REF_MAX];
        if (!type || !target || !cw_ref_text_to_key(target, key))
            continue;
        cw_relation *x = &rels.items[rels.len++];
        x->type = type;
        memcpy(x->target_key, key, sizeof key);
        memcpy(x->target_ref, key, sizeof key);
    }
    cw_search_rows rows = {0};
    if (cw_entity_search_rows(entity, &rels, &rows) != CW_OK)
        goto out;
    for (size_t c = 0; c < f->n && !matched; c++) {
        const cw_filter_clause *cl = &f->clauses[c];
        bool all = true;
        for (size_t k = 0; k < cl->n && all; k++) {
            const cw_filter_cond *cond = &cl->conds[k];
            bool any = false;
            if (cond->nvalues == 0)
                any = has_row(&rows, cond->key, NULL);
            for (size_t v = 0; v < cond->nvalues && !any; v++)
                any = has_row(&rows, cond->key, cond->values[v]);
            all = any;
        }
        matched = all;
    }
out:
    cw_search_rows_free(&rows);
    free(rels.items);
    return matched;
}
