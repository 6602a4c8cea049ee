/* catalog_import.c — parse, validate and store a catalog text (see header). */
#include "ingest/catalog_import.h"

#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"

void cw_import_report_init(cw_import_report *r)
{
    memset(r, 0, sizeof *r);
    r->errors = json_array();
    r->locations = json_array();
    r->refs = json_array();
}

void cw_import_report_free(cw_import_report *r)
{
    json_decref(r->errors);
    json_decref(r->locations);
    json_decref(r->refs);
    memset(r, 0, sizeof *r);
}

/* Best-effort ref of an entity that may be invalid, for error reports. */
static json_t *guess_ref(const json_t *doc)
{
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    json_t *meta = json_object_get(doc, "metadata");
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    if (!kind || !name)
        return json_null();
    cw_ref ref;
    char text[CW_REF_MAX + 8];
    if (strlen(kind) > CW_NAME_MAX || strlen(name) > CW_NAME_MAX || (ns && strlen(ns) > CW_NAME_MAX))
        return json_null();
    memset(&ref, 0, sizeof ref);
    memcpy(ref.kind, kind, strlen(kind) + 1);
    memcpy(ref.namespace_, ns ? ns : CW_DEFAULT_NAMESPACE, strlen(ns ? ns : CW_DEFAULT_NAMESPACE) + 1);
    memcpy(ref.name, name, strlen(name) + 1);
    cw_ref_format(&ref, text);
    return json_string(text);
}

static void add_location_targets(const json_t *doc, size_t index, cw_import_report *r)
{
    json_t *spec = json_object_get(doc, "spec");
    const char *type = json_string_value(json_object_get(spec, "type"));
    json_t *target = json_object_get(spec, "target");
    json_t *targets = json_object_get(spec, "targets");
    json_t *all = json_array();
    if (json_is_string(target))
        json_array_append(all, target);
    size_t i;
    json_t *t;
    json_array_foreach(targets, i, t) {
        if (json_is_string(t))
            json_array_append(all, t);
    }
    json_array_foreach(all, i, t) {
        json_array_append_new(r->locations,
                              json_pack("{s:i, s:O, s:s}", "document", (json_int_t)index, "target", t,
                                        "type", type ? type : "url"));
    }
    json_decref(all);
}

cw_err cw_import_text(cw_store *s, const char *text, size_t len, cw_import_hook hook,
                      void *hook_ctx, cw_import_report *r, cw_diag *d)
{
    cw_err err = CW_OK;
    json_t *docs = NULL;
    json_t **valid = NULL;
    cw_put_result *results = NULL;
    cw_parse_limits lim;
    cw_parse_limits_default(&lim);
    err = cw_parse_documents(text, len, &lim, &docs, d);
    if (err)
        goto out;
    size_t n = json_array_size(docs);
    valid = calloc(n ? n : 1, sizeof *valid);
    results = calloc(n ? n : 1, sizeof *results);
    if (!valid || !results) {
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
        goto out;
    }
    size_t nvalid = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *doc = json_array_get(docs, i);
        cw_diag vd = {{0}};
        cw_err verr;
        if (!json_is_object(doc))
            verr = cw_fail(&vd, CW_ERR_INVALID, "document is not an object");
        else
            verr = cw_entity_validate(doc, &vd);
        if (!verr && hook) {
            verr = hook(hook_ctx, doc, &vd);
            if (verr == CW_ERR_FORBIDDEN) {
                /* A permission refusal is not a bad document: the whole
                 * request is refused and nothing is stored. */
                err = cw_fail(d, verr, "document %zu: %s", i, vd.msg);
                goto out;
            }
        }
        if (verr) {
            json_array_append_new(r->errors, json_pack("{s:i, s:o, s:s}", "document", (json_int_t)i,
                                                       "entityRef", guess_ref(doc), "detail", vd.msg));
            continue;
        }
        const char *kind = json_string_value(json_object_get(doc, "kind"));
        if (kind && !strcmp(kind, "Location"))
            add_location_targets(doc, i, r);
        valid[nvalid] = doc;
        nvalid++;
    }
    if (hook && nvalid) {
        /* the last call sees the documents together (entity NULL) */
        cw_diag vd = {{0}};
        cw_err verr = hook(hook_ctx, NULL, &vd);
        if (verr) {
            err = cw_fail(d, verr, "%s", vd.msg);
            goto out;
        }
    }
    if (nvalid) {
        err = cw_store_entity_put_many(s, valid, nvalid, results, d);
        if (err)
            goto out;
    }
    for (size_t k = 0; k < nvalid; k++) {
        switch (results[k].status) {
        case CW_PUT_CREATED: r->created++; break;
        case CW_PUT_UPDATED: r->updated++; break;
        case CW_PUT_UNCHANGED: r->unchanged++; break;
        }
        cw_ref ref;
        char reftext[CW_REF_MAX];
        if (cw_entity_ref(valid[k], &ref, NULL) == CW_OK) {
            cw_ref_format(&ref, reftext);
            json_array_append_new(r->refs, json_string(reftext));
        }
    }
out:
    free(valid);
    free(results);
    json_decref(docs);
    return err;
}
