/*
 * entity_facts.c — the pure parts of the facts document (entity_facts.h):
 * links by type, relations by type, findings filed under the entities they
 * name.
 */
#include "insights/entity_facts.h"

#include <string.h>

#include "catalog/catalog.h"

cw_err cw_facts_push(json_t *map, const char *key, json_t *v)
{
    if (!v)
        return CW_ERR_NOMEM;
    json_t *arr = json_object_get(map, key);
    if (!arr) {
        arr = json_array();
        if (!arr || json_object_set_new(map, key, arr) != 0) {
            json_decref(v);
            return CW_ERR_NOMEM;
        }
    }
    return json_array_append_new(arr, v) == 0 ? CW_OK : CW_ERR_NOMEM;
}

/* Files every finding of arr under each entity it names (entityRef and
 * entities[]), tagged with its kind. */
cw_err cw_facts_file_findings(json_t *map, const char *kind, const json_t *arr)
{
    size_t i;
    const json_t *f;
    json_array_foreach(arr, i, f) {
        json_t *seen = json_object();
        if (!seen)
            return CW_ERR_NOMEM;
        const char *refs[1] = {json_string_value(json_object_get(f, "entityRef"))};
        const json_t *more = json_object_get(f, "entities");
        size_t nmore = json_array_size(more);
        cw_err err = CW_OK;
        for (size_t k = 0; k < 1 + nmore && !err; k++) {
            const char *ref = k == 0 ? refs[0] : json_string_value(json_array_get(more, k - 1));
            char key[CW_REF_MAX];
            if (!ref || !cw_ref_text_to_key(ref, key) || json_object_get(seen, key))
                continue;
            json_object_set_new(seen, key, json_true());
            json_t *copy = json_copy((json_t *)f);
            if (copy && json_object_set_new(copy, "kind", json_string(kind)) != 0) {
                json_decref(copy);
                copy = NULL;
            }
            err = cw_facts_push(map, key, copy);
        }
        json_decref(seen);
        if (err)
            return err;
    }
    return CW_OK;
}

static const char *const link_types[] = {"runbook", "dashboard", "docs", "repo"};

/* The type of a metadata.links entry: its type, else words of its title,
 * its icon or its URL (in that order); "other" when nothing says. */
const char *cw_link_type(const json_t *l)
{
    const char *fields[] = {json_string_value(json_object_get(l, "type")),
                            json_string_value(json_object_get(l, "title")),
                            json_string_value(json_object_get(l, "icon")),
                            json_string_value(json_object_get(l, "url"))};
    static const struct {
        const char *word, *type;
    } words[] = {{"runbook", "runbook"},     {"playbook", "runbook"},  {"dashboard", "dashboard"},
                 {"grafana", "dashboard"},   {"docs", "docs"},         {"documentation", "docs"},
                 {"techdocs", "docs"},       {"repo", "repo"},         {"github", "repo"},
                 {"gitlab", "repo"},         {"source", "repo"}};
    for (size_t f = 0; f < 4; f++) {
        if (!fields[f])
            continue;
        for (size_t w = 0; w < sizeof words / sizeof words[0]; w++)
            if (strcasestr(fields[f], words[w].word))
                return words[w].type;
    }
    return "other";
}

cw_err cw_facts_links(const json_t *entity, json_t **out)
{
    json_t *o = json_object();
    *out = o;
    if (!o)
        return CW_ERR_NOMEM;
    for (size_t i = 0; i < 4; i++)
        if (json_object_set_new(o, link_types[i], json_array()) != 0)
            return CW_ERR_NOMEM;
    if (json_object_set_new(o, "other", json_array()) != 0)
        return CW_ERR_NOMEM;
    const json_t *meta = json_object_get(entity, "metadata");
    size_t i;
    const json_t *l;
    json_array_foreach(json_object_get(meta, "links"), i, l) {
        const char *url = json_string_value(json_object_get(l, "url"));
        if (!url)
            continue;
        const char *title = json_string_value(json_object_get(l, "title"));
        json_t *x = json_pack("{s:s, s:s?}", "url", url, "title", title);
        if (!x || json_array_append_new(json_object_get(o, cw_link_type(l)), x) != 0)
            return CW_ERR_NOMEM;
    }
    /* Backstage's annotations for the repository and the docs */
    const json_t *ann = json_object_get(meta, "annotations");
    const char *src = json_string_value(json_object_get(ann, "backstage.io/source-location"));
    const char *slug = json_string_value(json_object_get(ann, "github.com/project-slug"));
    const char *td = json_string_value(json_object_get(ann, "backstage.io/techdocs-ref"));
    const char *rb = json_string_value(json_object_get(ann, "conway.dev/runbook"));
    struct {
        const char *type, *url, *from;
    } extra[] = {{"repo", src, "backstage.io/source-location"},
                 {"repo", slug, "github.com/project-slug"},
                 {"docs", td, "backstage.io/techdocs-ref"},
                 {"runbook", rb, "conway.dev/runbook"}};
    for (size_t k = 0; k < 4; k++) {
        if (!extra[k].url)
            continue;
        json_t *x = json_pack("{s:s, s:s}", "url", extra[k].url, "annotation", extra[k].from);
        if (!x || json_array_append_new(json_object_get(o, extra[k].type), x) != 0)
            return CW_ERR_NOMEM;
    }
    return CW_OK;
}

/* {type: [targetRef...]} from the entity's relations. */
cw_err cw_facts_relations(const json_t *entity, json_t **out)
{
    json_t *o = json_object();
    *out = o;
    if (!o)
        return CW_ERR_NOMEM;
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(entity, "relations"), i, r) {
        const char *t = json_string_value(json_object_get(r, "type"));
        const char *target = json_string_value(json_object_get(r, "targetRef"));
        if (t && target && cw_facts_push(o, t, json_string(target)))
            return CW_ERR_NOMEM;
    }
    return CW_OK;
}

