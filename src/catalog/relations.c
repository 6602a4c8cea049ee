/*
 * relations.c — the outgoing relations of an entity, derived from its spec
 * as Backstage's BuiltinKindsEntityProcessor does (spec.owner -> ownedBy,
 * spec.system -> partOf, ...), driven by the kind table in kinds.c, and the
 * table of inverse relation types.
 */
#include "catalog/catalog.h"
#include "catalog/kinds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *type, *inverse;
} inverse_pairs[] = {
    {"ownedBy", "ownerOf"},         {"ownerOf", "ownedBy"},
    {"partOf", "hasPart"},          {"hasPart", "partOf"},
    {"dependsOn", "dependencyOf"},  {"dependencyOf", "dependsOn"},
    {"providesApi", "apiProvidedBy"}, {"apiProvidedBy", "providesApi"},
    {"consumesApi", "apiConsumedBy"}, {"apiConsumedBy", "consumesApi"},
    {"memberOf", "hasMember"},      {"hasMember", "memberOf"},
    {"childOf", "parentOf"},        {"parentOf", "childOf"},
};

const char *cw_relation_inverse(const char *type)
{
    if (!type)
        return NULL;
    for (size_t i = 0; i < sizeof inverse_pairs / sizeof inverse_pairs[0]; i++)
        if (strcmp(inverse_pairs[i].type, type) == 0)
            return inverse_pairs[i].inverse;
    return NULL;
}

void cw_relation_list_free(cw_relation_list *list)
{
    free(list->items);
    list->items = NULL;
    list->len = list->cap = 0;
}

static cw_err push(cw_relation_list *list, const char *type, const cw_ref *ref)
{
    if (list->len == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 8;
        cw_relation *items = realloc(list->items, cap * sizeof *items);
        if (!items)
            return CW_ERR_NOMEM;
        list->items = items;
        list->cap = cap;
    }
    cw_relation *r = &list->items[list->len++];
    r->type = type;
    cw_ref_format(ref, r->target_ref);
    cw_ref_key(ref, r->target_key);
    return CW_OK;
}

static cw_err add_ref(cw_relation_list *list, const cw_spec_field *f, const json_t *val,
                      const char *ns, const char *path, cw_diag *d)
{
    cw_ref ref;
    if (!json_is_string(val))
        return cw_fail(d, CW_ERR_INVALID, "%s: must be a string (an entity reference)", path);
    cw_err err = cw_ref_parse(json_string_value(val), f->default_kind, ns, &ref, d);
    if (err) {
        cw_diag_prefix(d, "%s", path);
        return err;
    }
    if (push(list, f->relation, &ref) != CW_OK)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory computing relations");
    return CW_OK;
}

static int cmp_rel(const void *a, const void *b)
{
    const cw_relation *x = a, *y = b;
    int c = strcmp(x->type, y->type);
    return c ? c : strcmp(x->target_key, y->target_key);
}

/* Sorts by (type, key) and drops repeats; of two refs differing only in the
 * case of the name, either display form may survive. */
static void dedupe(cw_relation_list *list, size_t from)
{
    size_t n = list->len - from;
    if (n < 2)
        return;
    cw_relation *items = list->items + from;
    qsort(items, n, sizeof *items, cmp_rel);
    size_t w = 1;
    for (size_t i = 1; i < n; i++)
        if (cmp_rel(&items[w - 1], &items[i]) != 0)
            items[w++] = items[i];
    list->len = from + w;
}

cw_err cw_entity_relations(const json_t *entity, cw_relation_list *list, cw_diag *d)
{
    const json_t *kind = json_object_get(entity, "kind");
    const json_t *spec = json_object_get(entity, "spec");
    const json_t *meta = json_object_get(entity, "metadata");
    const json_t *nsv = json_object_get(meta, "namespace");
    const char *ns = json_is_string(nsv) && json_string_length(nsv) ? json_string_value(nsv)
                                                                    : CW_DEFAULT_NAMESPACE;
    size_t from = list->len;
    char path[128];
    cw_err err = CW_OK;
    if (!json_is_string(kind))
        return cw_fail(d, CW_ERR_INVALID, "kind: must be a string");
    if (!json_is_object(spec))
        return CW_OK;
    const cw_kind_rule *rule = cw__kind_rule(json_string_value(kind));
    if (!rule)
        rule = cw__unknown_kind_rule();
    for (size_t i = 0; i < rule->nfields && !err; i++) {
        const cw_spec_field *f = &rule->fields[i];
        const json_t *val = json_object_get(spec, f->name);
        if (!f->relation || !val)
            continue;
        if (f->type == CW_FIELD_REF) {
            snprintf(path, sizeof path, "spec.%s", f->name);
            err = add_ref(list, f, val, ns, path, d);
        } else if (f->type == CW_FIELD_REF_LIST) {
            if (!json_is_array(val)) {
                err = cw_fail(d, CW_ERR_INVALID, "spec.%s: must be an array", f->name);
                break;
            }
            size_t j;
            const json_t *item;
            json_array_foreach(val, j, item) {
                snprintf(path, sizeof path, "spec.%s[%zu]", f->name, j);
                err = add_ref(list, f, item, ns, path, d);
                if (err)
                    break;
            }
        }
    }
    if (err) {
        list->len = from;
        return err;
    }
    dedupe(list, from);
    return CW_OK;
}
