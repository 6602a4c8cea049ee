/*
 * sql_audit.c — the audit log (store_audit.h) on both backends, through the
 * statement layer (sql.h): one row per write in `audit`, its entity refs
 * indexed by key in `audit_refs`, newest-first keyset paging by id.
 * Triggers in each schema make both tables append-only. Arguments arrive
 * checked (store_audit.c). Rows are inserted in a transaction of their
 * own, or in an events put's (cw__sql_events_audit).
 */
#include "store/events_impl.h"
#include "store/sql.h"
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

typedef struct {
    const char *const *keys;   /* the row's non-empty ref keys */
    int64_t id;
} refs_ctx;

static void ref_row(void *ctx, size_t i, cw__sqlv *v)
{
    const refs_ctx *x = ctx;
    v[0] = CW__SQL_TEXT(x->keys[i]);
    v[1] = CW__SQL_INT(x->id);
}

/* One row inside the caller's transaction. */
static cw_err insert_row(cw__sql *c, const cw__audit_row *a, int64_t *id_out, cw_diag *d)
{
    cw__sql_stmt st;
    bool row = false;
    int64_t id = 0;
    cw_err err = cw__sql_prepare(c,
                                 "INSERT INTO audit (at, actor, token_id, token_name, action, "
                                 "entity_refs, request_id, detail) VALUES (?1, ?2, ?3, ?4, ?5, "
                                 "?6, ?7, ?8) RETURNING id",
                                 &st, d);
    if (!err) {
        cw__sql_bind_vals(&st,
                          (const cw__sqlv[]){CW__SQL_INT(a->at_ms), CW__SQL_TEXT(a->actor),
                                             CW__SQL_INT_IF(a->token_id > 0, a->token_id),
                                             CW__SQL_TEXT(a->token_name),
                                             CW__SQL_TEXT(a->action), CW__SQL_TEXT(a->refs_json),
                                             CW__SQL_TEXT(a->request_id),
                                             CW__SQL_TEXT(a->detail_json)},
                          8);
        err = cw__sql_step(&st, &row, d);
    }
    if (!err && row) {
        id = cw__sql_int(&st, 0);
        err = cw__sql_run(&st, d);
    } else if (!err) {
        err = cw_fail(d, CW_ERR_IO, "database: audit append returned no id");
    }
    cw__sql_done(&st);
    if (err)
        return err;
    *id_out = id;
    if (!a->nrefs)
        return CW_OK;
    const char **keys = malloc(a->nrefs * sizeof *keys);
    if (!keys)
        return cw_fail(d, CW_ERR_NOMEM, "audit: out of memory");
    size_t n = 0;
    for (size_t i = 0; i < a->nrefs; i++)
        if (a->refs_keys[i][0])
            keys[n++] = a->refs_keys[i];
    refs_ctx x = {keys, id};
    /* the same entity twice in one record is indexed once */
    err = cw__sql_insert_rows(c, "INSERT INTO audit_refs (ref_key, audit_id) VALUES ",
                              " ON CONFLICT DO NOTHING", 2, n, ref_row, &x, NULL, d);
    free(keys);
    return err;
}

typedef struct {
    const cw__audit_row *const *rows;
    size_t n;
    int64_t *ids;
} append_ctx;

static cw_err append_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    append_ctx *x = ctx;
    cw_err err = CW_OK;
    for (size_t i = 0; !err && i < x->n; i++)
        err = insert_row(c, x->rows[i], &x->ids[i], d);
    return err;
}

static cw_err au_append(cw_store *s, const cw__audit_row *const *rows, size_t n, int64_t *ids,
                        cw_diag *d)
{
    append_ctx x = {rows, n, ids};
    return cw__sql_tx(s, CW__SQL_WRITE, append_tx, &x, d);
}

static cw_err insert_row_cb(void *conn, const cw__audit_row *a, int64_t *id_out, cw_diag *d)
{
    return insert_row(conn, a, id_out, d);
}

cw_err cw__sql_events_audit(cw__sql *c, cw__event_batch *const *batches, size_t n, cw_diag *d)
{
    return cw__events_audit_rows(batches, n, insert_row_cb, c, d);
}

typedef struct {
    const cw_audit_query *q;
    const char *entity_key;
    cw_audit_page *out;
} query_ctx;

static cw_err query_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    query_ctx *x = ctx;
    const cw_audit_query *q = x->q;
    cw_audit_page *out = x->out;
    /* an entity ref the database cannot hold was never recorded */
    if (x->entity_key && !cw__sql_text_ok(c, x->entity_key))
        return CW_OK;
    /* Only the conditions in use appear in the text, so each combination is
     * one cached statement the planner can serve from its index. */
    cw__sqlv v[8];
    int n = 0;
    cw_buf sql;
    cw_buf_init(&sql, 0);
    cw_buf_puts(&sql, "SELECT " AUDIT_COLS " FROM audit a WHERE 1 = 1");
    if (q->before_id > 0) {
        v[n++] = CW__SQL_INT(q->before_id);
        cw_buf_printf(&sql, " AND a.id < ?%d", n);
    }
    if (q->action) {
        v[n++] = CW__SQL_TEXT(q->action);
        cw_buf_printf(&sql, " AND a.action = ?%d", n);
    }
    if (q->token_id > 0) {
        v[n++] = CW__SQL_INT(q->token_id);
        cw_buf_printf(&sql, " AND a.token_id = ?%d", n);
    }
    if (q->from_ms != INT64_MIN) {
        v[n++] = CW__SQL_INT(q->from_ms);
        cw_buf_printf(&sql, " AND a.at >= ?%d", n);
    }
    if (q->to_ms != INT64_MAX) {
        v[n++] = CW__SQL_INT(q->to_ms);
        cw_buf_printf(&sql, " AND a.at < ?%d", n);
    }
    if (x->entity_key) {
        v[n++] = CW__SQL_TEXT(x->entity_key);
        cw_buf_printf(&sql, " AND a.id IN (SELECT audit_id FROM audit_refs WHERE ref_key = ?%d)",
                      n);
    }
    v[n++] = CW__SQL_INT((int64_t)q->limit + 1);
    cw_buf_printf(&sql, " ORDER BY a.id DESC LIMIT ?%d", n);
    /* one check for every piece: the buffer's error is sticky, so no
     * condition can be missing from SQL that is run */
    if (cw_buf_error(&sql)) {
        cw_buf_free(&sql);
        return cw_fail(d, CW_ERR_NOMEM, "audit: out of memory");
    }
    cw__sql_stmt st;
    bool row = false;
    cw_err err = cw__sql_prepare(c, cw_buf_cstr(&sql), &st, d);
    if (!err) {
        cw__sql_bind_vals(&st, v, (size_t)n);
        out->items = calloc(q->limit ? q->limit : 1, sizeof *out->items);
        if (!out->items)
            err = cw_fail(d, CW_ERR_NOMEM, "audit: out of memory");
    }
    while (!err && !(err = cw__sql_step(&st, &row, d)) && row) {
        if (out->len == q->limit) {
            out->more = true;
            break;
        }
        cw_audit_record *r = &out->items[out->len++];
        r->id = cw__sql_int(&st, 0);
        r->at_ms = cw__sql_int(&st, 1);
        copy_str(r->actor, sizeof r->actor, cw__sql_text(&st, 2));
        r->token_id = cw__sql_int(&st, 3); /* NULL reads as 0 */
        copy_str(r->token_name, sizeof r->token_name, cw__sql_text(&st, 4));
        copy_str(r->action, sizeof r->action, cw__sql_text(&st, 5));
        copy_str(r->request_id, sizeof r->request_id, cw__sql_text(&st, 7));
        r->refs_json = strdup(cw__sql_text(&st, 6));
        bool has_detail = !cw__sql_null(&st, 8);
        r->detail_json = has_detail ? strdup(cw__sql_text(&st, 8)) : NULL;
        if (!r->refs_json || (has_detail && !r->detail_json))
            err = cw_fail(d, CW_ERR_NOMEM, "audit: out of memory");
    }
    cw__sql_done(&st);
    cw_buf_free(&sql);
    return err;
}

static cw_err au_query(cw_store *s, const cw_audit_query *q, const char *entity_key,
                       cw_audit_page *out, cw_diag *d)
{
    query_ctx x = {q, entity_key, out};
    cw_err err = cw__sql_tx(s, CW__SQL_READ_ONE, query_tx, &x, d);
    if (err)
        cw_audit_page_free(out);
    return err;
}

const cw_store_audit_ops cw__sql_audit_ops = {
    .append = au_append,
    .query = au_query,
};
