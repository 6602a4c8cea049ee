/*
 * store_audit.c — the public cw_store_audit_* functions (store_audit.h):
 * argument checks shared by every backend, ref keys for the entity index,
 * the prepared rows an events put inserts later (store_audit.h), then
 * dispatch through the vtable.
 */
#include "store/store_audit.h"

#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "store/store_common.h"
#include "store/store_impl.h"
#include "util/timeutil.h"

static bool valid_action(const char *a)
{
    size_t n = a ? strlen(a) : 0;
    if (n == 0 || n >= CW_AUDIT_ACTION_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = a[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return false;
    }
    return true;
}

static bool valid_actor(const char *a)
{
    return !strcmp(a, "token") || !strcmp(a, "cli") || !strcmp(a, "anonymous");
}

/* The comparison key of a ref as written in an audit record: a full ref
 * is lower-cased; anything else gets no key (stored, not indexed). */
static void ref_key_of(const char *text, char out[CW_REF_MAX])
{
    if (!cw_ref_text_to_key(text, out))
        out[0] = '\0';
}

void cw__audit_row_free(cw__audit_row *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->refs_keys && i < r->nrefs; i++)
        free(r->refs_keys[i]);
    free(r->refs_keys);
    free(r->token_name);
    free(r->refs_json);
    free(r->request_id);
    free(r->detail_json);
    json_decref(r->detail);
    free(r);
}

static char *dup_opt(const char *v, bool *oom)
{
    if (!v)
        return NULL;
    char *c = strdup(v);
    if (!c)
        *oom = true;
    return c;
}

cw_err cw__audit_row_prepare(const cw_audit_entry *e, cw__audit_row **out, cw_diag *d)
{
    *out = NULL;
    if (!e)
        return cw_fail(d, CW_ERR_INVALID, "audit: no record");
    if (!valid_action(e->action))
        return cw_fail(d, CW_ERR_INVALID,
                       "action: must be 1-%d characters of a-z, 0-9, '.', '_' or '-'",
                       CW_AUDIT_ACTION_MAX - 1);
    const char *actor = e->actor ? e->actor : e->token_id > 0 ? "token" : "anonymous";
    if (!valid_actor(actor))
        return cw_fail(d, CW_ERR_INVALID, "actor: must be token, cli or anonymous");
    if (e->token_id < 0)
        return cw_fail(d, CW_ERR_INVALID, "tokenId: must not be negative");
    const char *tname = e->token_name && *e->token_name ? e->token_name : NULL;
    if (tname && strlen(tname) >= CW_AUDIT_NAME_MAX)
        return cw_fail(d, CW_ERR_INVALID, "tokenName: longer than %d characters",
                       CW_AUDIT_NAME_MAX - 1);
    const char *rid = e->request_id && *e->request_id ? e->request_id : NULL;
    if (rid && strlen(rid) >= CW_AUDIT_REQID_MAX)
        return cw_fail(d, CW_ERR_INVALID, "requestId: longer than %d characters",
                       CW_AUDIT_REQID_MAX - 1);
    if (e->refs && !json_is_array(e->refs))
        return cw_fail(d, CW_ERR_INVALID, "entityRefs: must be an array of entity refs");
    if (e->detail && !json_is_object(e->detail))
        return cw_fail(d, CW_ERR_INVALID, "detail: must be an object");
    size_t nrefs = e->refs ? json_array_size(e->refs) : 0;
    if (nrefs > CW_AUDIT_MAX_REFS)
        return cw_fail(d, CW_ERR_TOO_LARGE, "entityRefs: more than %d refs in one record",
                       CW_AUDIT_MAX_REFS);

    cw_err err = CW_OK;
    cw_buf refs_json;
    cw_buf_init(&refs_json, 0);
    cw__audit_row *r = calloc(1, sizeof *r);
    if (!r)
        return cw_fail(d, CW_ERR_NOMEM, "audit: out of memory");
    r->at_ms = e->at_ms;
    r->actor = !strcmp(actor, "token") ? "token" : !strcmp(actor, "cli") ? "cli" : "anonymous";
    r->token_id = e->token_id;
    memcpy(r->action, e->action, strlen(e->action) + 1);
    r->event_counts = e->event_counts;
    bool oom = false;
    r->token_name = dup_opt(tname, &oom);
    r->request_id = dup_opt(rid, &oom);
    if (nrefs && !(r->refs_keys = calloc(nrefs, sizeof *r->refs_keys)))
        oom = true;
    if (oom) {
        err = cw_fail(d, CW_ERR_NOMEM, "audit: out of memory");
        goto out;
    }
    r->nrefs = nrefs;
    for (size_t i = 0; i < nrefs; i++) {
        const char *t = json_string_value(json_array_get(e->refs, i));
        if (!t) {
            err = cw_fail(d, CW_ERR_INVALID, "entityRefs[%zu]: must be a string", i);
            goto out;
        }
        char k[CW_REF_MAX];
        ref_key_of(t, k);
        r->refs_keys[i] = strdup(k);
        if (!r->refs_keys[i]) {
            err = cw_fail(d, CW_ERR_NOMEM, "audit: out of memory");
            goto out;
        }
    }
    json_t *empty = NULL;
    const json_t *refs = e->refs;
    if (!refs)
        refs = empty = json_array();
    err = refs ? cw__json_compact(refs, &refs_json)
               : cw_fail(d, CW_ERR_NOMEM, "audit: out of memory");
    json_decref(empty);
    if (err) {
        cw_fail(d, err, "entityRefs: cannot be encoded");
        goto out;
    }
    r->refs_json = strdup(cw_buf_cstr(&refs_json));
    if (!r->refs_json) {
        err = cw_fail(d, CW_ERR_NOMEM, "audit: out of memory");
        goto out;
    }
    if (e->detail && e->event_counts) {
        /* a copy: the caller's object may change or go before the commit */
        r->detail = json_deep_copy(e->detail);
        if (!r->detail) {
            err = cw_fail(d, CW_ERR_NOMEM, "audit: out of memory");
            goto out;
        }
    } else if (e->detail) {
        r->detail_json = json_dumps(e->detail, JSON_COMPACT | JSON_SORT_KEYS);
        if (!r->detail_json) {
            err = cw_fail(d, CW_ERR_INVALID, "detail: cannot be encoded as JSON");
            goto out;
        }
    }
out:
    cw_buf_free(&refs_json);
    if (err)
        cw__audit_row_free(r);
    else
        *out = r;
    return err;
}

cw_err cw__audit_row_set_counts(cw__audit_row *r, size_t accepted, size_t duplicates,
                                size_t conflicts, cw_diag *d)
{
    json_t *o = r->detail ? json_incref(r->detail) : json_object();
    cw_err err = CW_OK;
    if (!o || json_object_set_new(o, "accepted", json_integer((json_int_t)accepted)) ||
        json_object_set_new(o, "duplicates", json_integer((json_int_t)duplicates)) ||
        json_object_set_new(o, "conflicts", json_integer((json_int_t)conflicts))) {
        err = cw_fail(d, CW_ERR_NOMEM, "audit: out of memory");
        goto out;
    }
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) {
        err = cw_fail(d, CW_ERR_INVALID, "detail: cannot be encoded as JSON");
        goto out;
    }
    free(r->detail_json);
    r->detail_json = text;
out:
    json_decref(o);
    return err;
}

cw_err cw__audit_row_finish(cw__audit_row *r, size_t accepted, size_t duplicates,
                            size_t conflicts, int64_t now_ms, cw_diag *d)
{
    if (!r->at_ms)
        r->at_ms = now_ms;
    return r->event_counts
               ? cw__audit_row_set_counts(r, accepted, duplicates, conflicts, d)
               : CW_OK;
}

cw_err cw__audit_append_rows(cw_store *s, cw__audit_row *const *rows, size_t n, int64_t *ids,
                             cw_diag *d)
{
    const cw_store_audit_ops *ops;
    STORE_OPS(s, audit, ops, d);
    if (n == 0)
        return CW_OK;
    int64_t now = cw_now_ms();
    for (size_t i = 0; i < n; i++)
        if (!rows[i]->at_ms)
            rows[i]->at_ms = now;
    return ops->append(s, (const cw__audit_row *const *)rows, n, ids, d);
}

cw_err cw_store_audit_append(cw_store *s, const cw_audit_entry *e, int64_t *id_out,
                             cw_diag *d)
{
    const cw_store_audit_ops *ops;
    STORE_OPS(s, audit, ops, d);
    (void)ops;
    if (e && e->event_counts)
        return cw_fail(d, CW_ERR_INVALID, "detail: event counts belong to an events put");
    cw__audit_row *r = NULL;
    cw_err err = cw__audit_row_prepare(e, &r, d);
    if (err)
        return err;
    int64_t id = 0;
    err = cw__audit_append_rows(s, &r, 1, &id, d);
    if (!err && id_out)
        *id_out = id;
    cw__audit_row_free(r);
    return err;
}

void cw_audit_query_init(cw_audit_query *q)
{
    memset(q, 0, sizeof *q);
    q->from_ms = INT64_MIN;
    q->to_ms = INT64_MAX;
    q->limit = 100;
}

cw_err cw_store_audit_query(cw_store *s, const cw_audit_query *q, cw_audit_page *out,
                            cw_diag *d)
{
    const cw_store_audit_ops *ops;
    STORE_OPS(s, audit, ops, d);
    if (!q || !out)
        return cw_fail(d, CW_ERR_INVALID, "audit: no query or output");
    memset(out, 0, sizeof *out);
    if (q->limit < 1 || q->limit > CW_AUDIT_PAGE_MAX)
        return cw_fail(d, CW_ERR_INVALID, "limit: must be between 1 and %d",
                       CW_AUDIT_PAGE_MAX);
    if (q->token_id < 0)
        return cw_fail(d, CW_ERR_INVALID, "tokenId: must not be negative");
    if (q->before_id < 0)
        return cw_fail(d, CW_ERR_INVALID, "cursor: must not be negative");
    char key[CW_REF_MAX];
    if (q->entity_ref && !cw_ref_text_to_key(q->entity_ref, key))
        return cw_fail(d, CW_ERR_INVALID,
                       "entityRef: \"%.200s\" is not a full kind:namespace/name ref",
                       q->entity_ref);
    return ops->query(s, q, q->entity_ref ? key : NULL, out, d);
}

void cw_audit_page_free(cw_audit_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->len; i++) {
        free(p->items[i].refs_json);
        free(p->items[i].detail_json);
    }
    free(p->items);
    memset(p, 0, sizeof *p);
}
