/* catalog_import.c — parse, validate and store a catalog text (see header). */
#include "ingest/catalog_import.h"

#include <stdio.h>
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

bool cw_import_is_entity_doc(const json_t *doc)
{
    return json_is_object(doc) && json_is_string(json_object_get(doc, "apiVersion")) &&
           json_is_string(json_object_get(doc, "kind"));
}

/* Replaces a parse error of a file's text by one that keeps only where
 * parsing stopped. It relies on the documented shape of cw_parse_documents'
 * messages ("document N: line L, column C: reason", "line L, column C:
 * reason", "document N: reason"); whatever follows the position may quote
 * the text (a duplicate key, jansson's "near '...'") and is dropped. */
static void parse_error_without_text(cw_err err, cw_diag *d)
{
    size_t doc = 0, line = 0, col = 0;
    bool have_doc = false, have_pos = false;
    const char *p = d->msg;
    int used = 0;
    if (sscanf(p, "document %zu:%n", &doc, &used) == 1 && used > 0) {
        have_doc = true;
        p += used;
        p += strspn(p, " ");
    }
    used = 0;
    if (sscanf(p, "line %zu, column %zu:%n", &line, &col, &used) == 2 && used > 0)
        have_pos = true;
    /* Lines count in the whole file, so the document adds nothing to them
     * (and the parser counts documents from 1, the import report from 0). */
    char where[96] = "";
    if (have_pos)
        snprintf(where, sizeof where, " at line %zu, column %zu", line, col);
    else if (have_doc)
        snprintf(where, sizeof where, " in document %zu (counted from 1)", doc);
    if (err == CW_ERR_TOO_LARGE)
        cw_fail(d, err, "not a catalog file: it passes a parse limit (nesting depth, nodes or "
                        "documents)%s; its text is not shown", where);
    else
        cw_fail(d, err, "not a catalog file: it is not valid YAML or JSON%s; its text is not shown",
                where);
}

/* What a document that does not declare itself an entity is missing. */
static const char *not_entity_reason(const json_t *doc)
{
    if (!json_is_object(doc))
        return "not a catalog entity (the document is not a mapping)";
    if (!json_is_string(json_object_get(doc, "apiVersion")))
        return "not a catalog entity (no apiVersion string)";
    return "not a catalog entity (no kind string)";
}

static cw_err import_docs(cw_store *s, const char *text, size_t len,
                          const struct cw_activity_set *activities, cw_import_hook hook,
                          void *hook_ctx, bool from_file, cw_import_report *r, cw_diag *d)
{
    cw_err err = CW_OK;
    json_t *docs = NULL;
    json_t **valid = NULL;
    cw_put_result *results = NULL;
    cw_parse_limits lim;
    cw_parse_limits_default(&lim);
    err = cw_parse_documents(text, len, &lim, &docs, d);
    if (err) {
        if (from_file && (err == CW_ERR_INVALID || err == CW_ERR_TOO_LARGE))
            parse_error_without_text(err, d);
        goto out;
    }
    size_t n = json_array_size(docs);
    if (from_file && n > 0) {
        bool any = false;
        for (size_t i = 0; i < n && !any; i++)
            any = cw_import_is_entity_doc(json_array_get(docs, i));
        if (!any) {
            err = cw_fail(d, CW_ERR_INVALID,
                          "not a catalog file: no document has a string apiVersion and kind; "
                          "its text is not shown");
            goto out;
        }
    }
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
        if (from_file && !cw_import_is_entity_doc(doc)) {
            /* Nothing of it is quoted, not even a ref guessed from it. */
            json_array_append_new(r->errors, json_pack("{s:i, s:n, s:s}", "document", (json_int_t)i,
                                                       "entityRef", "detail",
                                                       not_entity_reason(doc)));
            continue;
        }
        if (!json_is_object(doc))
            verr = cw_fail(&vd, CW_ERR_INVALID, "document is not an object");
        else
            verr = cw_entity_validate_with(doc, activities, &vd);
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

cw_err cw_import_text(cw_store *s, const char *text, size_t len,
                      const struct cw_activity_set *activities, cw_import_hook hook,
                      void *hook_ctx, cw_import_report *r, cw_diag *d)
{
    return import_docs(s, text, len, activities, hook, hook_ctx, false, r, d);
}

cw_err cw_import_file_text(cw_store *s, const char *text, size_t len, cw_import_report *r,
                           cw_diag *d)
{
    return import_docs(s, text, len, NULL, NULL, NULL, true, r, d);
}
