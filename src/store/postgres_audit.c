/*
 * postgres_audit.c — the audit log in PostgreSQL: one row per write in
 * `audit`, its entity refs indexed by key in `audit_refs`, newest-first
 * keyset paging by id. Triggers in the schema (postgres_schema.c) make
 * both tables append-only. Arguments arrive checked (store_audit.c). Rows
 * are inserted in a transaction of their own, or in an events put's
 * (cw__pg_events_audit).
 */
#include "store/postgres_int.h"
#include "store/events_impl.h"
#include "store/store_audit.h"

#include <stdlib.h>
#include <string.h>

#define AUDIT_COLS "a.id, a.at, a.actor, a.token_id, a.token_name, a.action, " \
                   "a.entity_refs, a.request_id, a.detail"

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* One row inside the caller's transaction. */
static cw_err insert_row(cw__pg_conn *c, const cw__audit_row *x, int64_t *id_out, cw_diag *d)
{
    char at[24], tok[24];
    const char *p[] = {cw__pg_i64(at, x->at_ms),
                       x->actor,
                       x->token_id > 0 ? cw__pg_i64(tok, x->token_id) : NULL,
                       x->token_name,
                       x->action,
                       x->refs_json,
                       x->request_id,
                       x->detail_json};
    PGresult *r = NULL;
    cw_err err = cw__pg_exec(c,
                             "INSERT INTO audit (at, actor, token_id, token_name, action, "
                             "entity_refs, request_id, detail) "
                             "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                             8, p, &r, d);
    int64_t id = err ? 0 : cw__pg_int(r, 0, 0);
    PQclear(r);
    if (err)
        return err;
    *id_out = id;
    if (!x->nrefs)
        return CW_OK;
    cw__pg_array keys;
    cw__pg_array_init(&keys);
    for (size_t i = 0; !err && i < x->nrefs; i++)
        if (x->refs_keys[i][0])
            err = cw__pg_array_add(&keys, x->refs_keys[i]);
    const char *arr = err ? NULL : cw__pg_array_text(&keys);
    if (!arr)
        err = cw_fail(d, CW_ERR_NOMEM, "audit: out of memory");
    else if (keys.n) {
        char idb[24];
        const char *q[] = {arr, cw__pg_i64(idb, id)};
        /* the same entity twice in one record is indexed once */
        err = cw__pg_exec(c,
                          "INSERT INTO audit_refs (ref_key, audit_id) "
                          "SELECT DISTINCT k, $2::bigint FROM unnest($1::text[]) AS k",
                          2, q, NULL, d);
    }
    cw__pg_array_free(&keys);
    return err;
}

typedef struct {
    const cw__audit_row *const *rows;
    size_t n;
    int64_t *ids;
} append_ctx;

static cw_err append_tx(cw__pg_conn *c, void *arg, cw_diag *d)
{
    append_ctx *x = arg;
    cw_err err = CW_OK;
    for (size_t i = 0; !err && i < x->n; i++)
        err = insert_row(c, x->rows[i], &x->ids[i], d);
    return err;
}

static cw_err au_append(cw_store *store, const cw__audit_row *const *rows, size_t n,
                        int64_t *ids, cw_diag *d)
{
    append_ctx x = {rows, n, ids};
    return cw__pg_write(cw__pg(store), append_tx, &x, d);
}

static cw_err insert_row_cb(void *conn, const cw__audit_row *a, int64_t *id_out, cw_diag *d)
{
    return insert_row(conn, a, id_out, d);
}

cw_err cw__pg_events_audit(cw__pg_conn *c, cw__event_batch *const *batches, size_t n, cw_diag *d)
{
    return cw__events_audit_rows(batches, n, insert_row_cb, c, d);
}

static cw_err au_query(cw_store *store, const cw_audit_query *q, const char *entity_key,
                       cw_audit_page *out, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    /* an entity ref that is not UTF-8 was never recorded */
    if (entity_key && !cw__pg_utf8(entity_key)) {
        memset(out, 0, sizeof *out);
        return CW_OK;
    }
    /* only the conditions in use appear in the text; each combination is
     * one statement prepared once per connection */
    char b[24], tk[24], fr[24], to[24], lim[24];
    const char *p[8];
    int n = 0;
    cw_buf sql;
    cw_buf_init(&sql, 0);
    cw_buf_puts(&sql, "SELECT " AUDIT_COLS " FROM audit a WHERE true");
    if (q->before_id > 0) {
        p[n++] = cw__pg_i64(b, q->before_id);
        cw_buf_printf(&sql, " AND a.id < $%d", n);
    }
    if (q->action) {
        p[n++] = q->action;
        cw_buf_printf(&sql, " AND a.action = $%d", n);
    }
    if (q->token_id > 0) {
        p[n++] = cw__pg_i64(tk, q->token_id);
        cw_buf_printf(&sql, " AND a.token_id = $%d", n);
    }
    if (q->from_ms != INT64_MIN) {
        p[n++] = cw__pg_i64(fr, q->from_ms);
        cw_buf_printf(&sql, " AND a.at >= $%d", n);
    }
    if (q->to_ms != INT64_MAX) {
        p[n++] = cw__pg_i64(to, q->to_ms);
        cw_buf_printf(&sql, " AND a.at < $%d", n);
    }
    if (entity_key) {
        p[n++] = entity_key;
        cw_buf_printf(&sql, " AND a.id IN (SELECT audit_id FROM audit_refs WHERE ref_key = $%d)",
                      n);
    }
    p[n++] = cw__pg_i64(lim, (int64_t)q->limit + 1);
    cw_buf_printf(&sql, " ORDER BY a.id DESC LIMIT $%d", n);
    /* one check for every piece: the buffer's error is sticky, so no
     * condition can be missing from SQL that is run */
    cw_err err = cw_buf_error(&sql);
    if (err) {
        cw_buf_free(&sql);
        return cw_fail(d, CW_ERR_NOMEM, "audit: out of memory");
    }
    cw__pg_conn *c = NULL;
    PGresult *r = NULL;
    cw_audit_record *items = NULL;
    size_t len = 0;
    bool more = false;
    if ((err = cw__pg_acquire(s, &c, d)) ||
        (err = cw__pg_exec(c, cw_buf_cstr(&sql), n, p, &r, d)))
        goto out;
    items = calloc(q->limit ? q->limit : 1, sizeof *items);
    if (!items) {
        err = cw_fail(d, CW_ERR_NOMEM, "audit: out of memory");
        goto out;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        if (len == q->limit) {
            more = true;
            break;
        }
        cw_audit_record *rec = &items[len++];
        rec->id = cw__pg_int(r, i, 0);
        rec->at_ms = cw__pg_int(r, i, 1);
        copy_str(rec->actor, sizeof rec->actor, cw__pg_text(r, i, 2));
        rec->token_id = cw__pg_int(r, i, 3);
        copy_str(rec->token_name, sizeof rec->token_name, cw__pg_text(r, i, 4));
        copy_str(rec->action, sizeof rec->action, cw__pg_text(r, i, 5));
        copy_str(rec->request_id, sizeof rec->request_id, cw__pg_text(r, i, 7));
        rec->refs_json = strdup(cw__pg_text(r, i, 6));
        rec->detail_json = cw__pg_isnull(r, i, 8) ? NULL : strdup(cw__pg_text(r, i, 8));
        if (!rec->refs_json || (!cw__pg_isnull(r, i, 8) && !rec->detail_json)) {
            err = cw_fail(d, CW_ERR_NOMEM, "audit: out of memory");
            goto out;
        }
    }
out:
    PQclear(r);
    cw__pg_release(s, c);
    cw_buf_free(&sql);
    out->items = items;
    out->len = len;
    out->more = more;
    if (err)
        cw_audit_page_free(out);
    return err;
}

const cw_store_audit_ops cw__pg_audit_ops = {
    .append = au_append,
    .query = au_query,
};
