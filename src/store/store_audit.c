/*
 * store_audit.c — the public cw_store_audit_* functions (store_audit.h):
 * argument checks shared by every backend, ref keys for the entity index,
 * then dispatch through the vtable.
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

cw_err cw_store_audit_append(cw_store *s, const cw_audit_entry *e, int64_t *id_out,
                             cw_diag *d)
{
    const cw_store_audit_ops *ops;
    STORE_OPS(s, audit, ops, d);
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
    char **keys = NULL;
    char *detail_json = NULL;
    cw_buf refs_json;
    cw_buf_init(&refs_json, 0);
    if (nrefs) {
        keys = calloc(nrefs, sizeof *keys);
        if (!keys) {
            err = cw_fail(d, CW_ERR_NOMEM, "audit: out of memory");
            goto out;
        }
    }
    for (size_t i = 0; i < nrefs; i++) {
        const char *r = json_string_value(json_array_get(e->refs, i));
        if (!r) {
            err = cw_fail(d, CW_ERR_INVALID, "entityRefs[%zu]: must be a string", i);
            goto out;
        }
        char k[CW_REF_MAX];
        ref_key_of(r, k);
        keys[i] = strdup(k);
        if (!keys[i]) {
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
    if (e->detail) {
        detail_json = json_dumps(e->detail, JSON_COMPACT | JSON_SORT_KEYS);
        if (!detail_json) {
            err = cw_fail(d, CW_ERR_INVALID, "detail: cannot be encoded as JSON");
            goto out;
        }
    }
    int64_t at = e->at_ms ? e->at_ms : cw_now_ms();
    int64_t local_id = 0;
    err = ops->append(s, at, actor, e->token_id, tname, e->action, cw_buf_cstr(&refs_json),
                      keys, nrefs, rid, detail_json, id_out ? id_out : &local_id, d);
out:
    for (size_t i = 0; keys && i < nrefs; i++)
        free(keys[i]);
    free(keys);
    free(detail_json);
    cw_buf_free(&refs_json);
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
