/*
 * sqlite_audit.c — the audit log in SQLite: one row per write in `audit`,
 * its entity refs indexed by key in `audit_refs`, newest-first keyset
 * paging by id. Triggers in the schema (sqlite_schema.c) make both tables
 * append-only. Arguments arrive checked (store_audit.c). Rows are inserted
 * in a transaction of their own, or in an events put's (cw__sqlite_events_audit).
 */
#include "store/sqlite_int.h"
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

/* One row on the writer, inside the caller's transaction. */
static cw_err insert_row(cw__sqlite_conn *c, const cw__audit_row *a, int64_t *id_out,
                         cw_diag *d)
{
    sqlite3_stmt *st = NULL, *rs = NULL;
    cw_err err = cw__sqlite_stmt(c,
                                 "INSERT INTO audit (at, actor, token_id, token_name, action, "
                                 "entity_refs, request_id, detail) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                 &st, d);
    if (err)
        goto out;
    cw__bind_int64(st, 1, a->at_ms);
    cw__bind_text(st, 2, a->actor);
    if (a->token_id > 0)
        cw__bind_int64(st, 3, a->token_id);
    cw__bind_text(st, 4, a->token_name);
    cw__bind_text(st, 5, a->action);
    cw__bind_text(st, 6, a->refs_json);
    cw__bind_text(st, 7, a->request_id);
    cw__bind_text(st, 8, a->detail_json);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
        err = cw__sqlite_fail(c, rc, d, "audit append");
        goto out;
    }
    int64_t id = (int64_t)sqlite3_last_insert_rowid(c->db);
    if (a->nrefs) {
        /* the same entity twice in one record is indexed once */
        err = cw__sqlite_stmt(c,
                              "INSERT OR IGNORE INTO audit_refs (ref_key, audit_id) "
                              "VALUES (?, ?)",
                              &rs, d);
        if (err)
            goto out;
        for (size_t i = 0; i < a->nrefs; i++) {
            if (!a->refs_keys[i][0])
                continue;
            cw__bind_text(rs, 1, a->refs_keys[i]);
            cw__bind_int64(rs, 2, id);
            rc = sqlite3_step(rs);
            sqlite3_reset(rs);
            if (rc != SQLITE_DONE) {
                err = cw__sqlite_fail(c, rc, d, "audit refs");
                goto out;
            }
        }
    }
    *id_out = id;
out:
    cw__sqlite_done(c, rs);
    cw__sqlite_done(c, st);
    return err;
}

static cw_err au_append(cw_store *store, const cw__audit_row *const *rows, size_t n,
                        int64_t *ids, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c;
    cw_err err = cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    for (size_t i = 0; !err && i < n; i++)
        err = insert_row(c, rows[i], &ids[i], d);
    return cw__sqlite_write_end(s, c, err, d);
}

static cw_err insert_row_cb(void *conn, const cw__audit_row *a, int64_t *id_out, cw_diag *d)
{
    return insert_row(conn, a, id_out, d);
}

cw_err cw__sqlite_events_audit(cw__sqlite_conn *c, cw__event_batch *const *batches, size_t n,
                               cw_diag *d)
{
    return cw__events_audit_rows(batches, n, insert_row_cb, c, d);
}

static void row_to_record(sqlite3_stmt *st, cw_audit_record *r)
{
    r->id = sqlite3_column_int64(st, 0);
    r->at_ms = sqlite3_column_int64(st, 1);
    copy_str(r->actor, sizeof r->actor, cw__col_text(st, 2));
    r->token_id = sqlite3_column_int64(st, 3); /* NULL reads as 0 */
    copy_str(r->token_name, sizeof r->token_name, cw__col_text(st, 4));
    copy_str(r->action, sizeof r->action, cw__col_text(st, 5));
    copy_str(r->request_id, sizeof r->request_id, cw__col_text(st, 7));
}

static cw_err au_query(cw_store *store, const cw_audit_query *q, const char *entity_key,
                       cw_audit_page *out, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    /* Only the conditions in use appear in the text, so each combination is
     * one cached statement the planner can serve from its index. */
    cw_buf sql;
    cw_buf_init(&sql, 0);
    cw_buf_puts(&sql, "SELECT " AUDIT_COLS " FROM audit a WHERE 1");
    if (q->before_id > 0)
        cw_buf_puts(&sql, " AND a.id < :before");
    if (q->action)
        cw_buf_puts(&sql, " AND a.action = :action");
    if (q->token_id > 0)
        cw_buf_puts(&sql, " AND a.token_id = :token");
    if (q->from_ms != INT64_MIN)
        cw_buf_puts(&sql, " AND a.at >= :from");
    if (q->to_ms != INT64_MAX)
        cw_buf_puts(&sql, " AND a.at < :to");
    if (entity_key)
        cw_buf_puts(&sql, " AND a.id IN (SELECT audit_id FROM audit_refs WHERE ref_key = :ref)");
    cw_buf_puts(&sql, " ORDER BY a.id DESC LIMIT :limit");
    /* one check for every piece: the buffer's error is sticky, so no
     * condition can be missing from SQL that is run */
    cw_err err = cw_buf_error(&sql);
    if (err) {
        cw_buf_free(&sql);
        return cw_fail(d, CW_ERR_NOMEM, "audit: out of memory");
    }

    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL;
    cw_audit_record *items = NULL;
    size_t len = 0;
    bool more = false;
    err = cw__sqlite_stmt(c, cw_buf_cstr(&sql), &st, d);
    if (err)
        goto out;
    int idx;
    if ((idx = sqlite3_bind_parameter_index(st, ":before")))
        cw__bind_int64(st, idx, q->before_id);
    if ((idx = sqlite3_bind_parameter_index(st, ":action")))
        cw__bind_text(st, idx, q->action);
    if ((idx = sqlite3_bind_parameter_index(st, ":token")))
        cw__bind_int64(st, idx, q->token_id);
    if ((idx = sqlite3_bind_parameter_index(st, ":from")))
        cw__bind_int64(st, idx, q->from_ms);
    if ((idx = sqlite3_bind_parameter_index(st, ":to")))
        cw__bind_int64(st, idx, q->to_ms);
    if ((idx = sqlite3_bind_parameter_index(st, ":ref")))
        cw__bind_text(st, idx, entity_key);
    cw__bind_int64(st, sqlite3_bind_parameter_index(st, ":limit"), (int64_t)q->limit + 1);
    items = calloc(q->limit, sizeof *items);
    if (!items) {
        err = cw_fail(d, CW_ERR_NOMEM, "audit: out of memory");
        goto out;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == q->limit) {
            more = true;
            continue;
        }
        cw_audit_record *r = &items[len];
        row_to_record(st, r);
        r->refs_json = strdup(cw__col_text(st, 6));
        const char *detail = (const char *)sqlite3_column_text(st, 8);
        r->detail_json = detail ? strdup(detail) : NULL;
        len++;
        if (!r->refs_json || (detail && !r->detail_json)) {
            err = cw_fail(d, CW_ERR_NOMEM, "audit: out of memory");
            goto out;
        }
    }
    if (rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "audit query");
out:
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    cw_buf_free(&sql);
    out->items = items;
    out->len = len;
    out->more = more;
    if (err)
        cw_audit_page_free(out);
    return err;
}

const cw_store_audit_ops cw__sqlite_audit_ops = {
    .append = au_append,
    .query = au_query,
};
