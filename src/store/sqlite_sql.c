/*
 * sqlite_sql.c — the statement layer (sql.h) on SQLite: transactions on a
 * pooled reader or the one writer (sqlite_int.h), statements from the
 * connection's cache (which drops PostgreSQL's row locks when it prepares
 * a text), values bound and read with the engine's own types.
 */
#include "store/sql.h"
#include "store/sqlite_int.h"

#include <stdlib.h>
#include <string.h>

#include "store/incidents_impl.h"

static cw__sqlite_conn *conn(const cw__sql_stmt *st) { return st->c->conn; }
static sqlite3_stmt *stmt(const cw__sql_stmt *st) { return st->h; }

static cw_err sql_tx(cw_store *store, cw__sql_mode mode, cw__sql_fn fn, void *ctx, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sql c = {&cw__sqlite_sql_ops, NULL, store};
    cw_err err;
    if (mode == CW__SQL_READ || mode == CW__SQL_READ_ONE) {
        cw__sqlite_conn *r = cw__sqlite_read_acquire(s);
        c.conn = r;
        err = mode == CW__SQL_READ ? cw__sqlite_read_begin(r, d) : CW_OK;
        if (!err)
            err = fn(&c, ctx, d);
        if (mode == CW__SQL_READ)
            cw__sqlite_read_end(r);
        cw__sqlite_read_release(s, r);
        return err;
    }
    cw__sqlite_conn *w = NULL;
    err = mode == CW__SQL_WRITE_TRY ? cw__sqlite_write_try_begin(s, &w, d)
                                    : cw__sqlite_write_begin(s, &w, d);
    if (err)
        return err;
    c.conn = w;
    err = fn(&c, ctx, d);
    return cw__sqlite_write_end(s, w, err, d);
}

/* One writer serialises every write transaction of the file already. */
static cw_err sql_lock(cw__sql *c, int64_t key, cw_diag *d)
{
    (void)c;
    (void)key;
    (void)d;
    return CW_OK;
}

static cw_err sql_prepare(cw__sql *c, const char *sql, bool once, cw__sql_stmt *st, cw_diag *d)
{
    sqlite3_stmt *h = NULL;
    if (!once) {
        cw_err err = cw__sqlite_stmt(c->conn, sql, &h, d);
        st->h = h;
        return err;
    }
    /* not in the cache: cw__sqlite_done finalises it */
    char *text = strstr(sql, " FOR UPDATE") ? cw__sql_to_sqlite(sql) : NULL;
    cw__sqlite_conn *sc = c->conn;
    int rc = sqlite3_prepare_v2(sc->db, text ? text : sql, -1, &h, NULL);
    free(text);
    st->h = h;
    return rc == SQLITE_OK ? CW_OK : cw__sqlite_fail(sc, rc, d, "prepare");
}

static void bound(cw__sql_stmt *st, int i, int rc)
{
    if (rc == SQLITE_OK || st->err)
        return;
    st->err = rc == SQLITE_NOMEM ? CW_ERR_NOMEM
              : rc == SQLITE_TOOBIG ? CW_ERR_TOO_LARGE
                                    : CW_ERR_INTERNAL;
    st->bad = i;
}

static void sql_bind_int(cw__sql_stmt *st, int i, int64_t v)
{
    bound(st, i, sqlite3_bind_int64(stmt(st), i, (sqlite3_int64)v));
}

static void sql_bind_double(cw__sql_stmt *st, int i, double v)
{
    bound(st, i, sqlite3_bind_double(stmt(st), i, v));
}

static void sql_bind_text(cw__sql_stmt *st, int i, const char *s)
{
    bound(st, i, cw__bind_text(stmt(st), i, s));
}

static void sql_bind_blob(cw__sql_stmt *st, int i, const void *p, size_t n)
{
    bound(st, i,
          p ? sqlite3_bind_blob64(stmt(st), i, p, (sqlite3_uint64)n, SQLITE_STATIC)
            : sqlite3_bind_null(stmt(st), i));
}

static void sql_bind_null(cw__sql_stmt *st, int i)
{
    bound(st, i, sqlite3_bind_null(stmt(st), i));
}

static cw_err sql_step(cw__sql_stmt *st, bool *row, cw_diag *d)
{
    st->started = true;
    int rc = sqlite3_step(stmt(st));
    if (rc == SQLITE_ROW) {
        *row = true;
        return CW_OK;
    }
    st->finished = true;
    if (rc == SQLITE_DONE) {
        st->changes = sqlite3_changes64(conn(st)->db);
        return CW_OK;
    }
    return cw__sqlite_fail(conn(st), rc, d, "statement");
}

static int64_t sql_col_int(cw__sql_stmt *st, int col)
{
    return sqlite3_column_int64(stmt(st), col);
}

static double sql_col_double(cw__sql_stmt *st, int col)
{
    return sqlite3_column_double(stmt(st), col);
}

static const char *sql_col_text(cw__sql_stmt *st, int col, size_t *len)
{
    const char *t = (const char *)sqlite3_column_text(stmt(st), col);
    *len = t ? (size_t)sqlite3_column_bytes(stmt(st), col) : 0;
    return t;
}

static bool sql_col_null(cw__sql_stmt *st, int col)
{
    return sqlite3_column_type(stmt(st), col) == SQLITE_NULL;
}

static cw_err sql_col_blob(cw__sql_stmt *st, int col, const void **p, size_t *n, cw_diag *d)
{
    (void)d;
    *p = sqlite3_column_blob(stmt(st), col);
    *n = *p ? (size_t)sqlite3_column_bytes(stmt(st), col) : 0;
    return CW_OK;
}

static void sql_done(cw__sql_stmt *st)
{
    cw__sqlite_done(conn(st), stmt(st));
    st->h = NULL;
}

static cw_err links_fresh(cw_store *s, cw_diag *d)
{
    return cw__sqlite_links_fresh(cw__sqlite(s), d);
}

const cw__sql_ops cw__sqlite_sql_ops = {
    .backend = "sqlite",
    .utf8_only = false,
    .tx = sql_tx,
    .lock = sql_lock,
    .prepare = sql_prepare,
    .bind_int = sql_bind_int,
    .bind_double = sql_bind_double,
    .bind_text = sql_bind_text,
    .bind_blob = sql_bind_blob,
    .bind_null = sql_bind_null,
    .step = sql_step,
    .col_int = sql_col_int,
    .col_double = sql_col_double,
    .col_text = sql_col_text,
    .col_null = sql_col_null,
    .col_blob = sql_col_blob,
    .done = sql_done,
    .links_fresh = links_fresh,
};
