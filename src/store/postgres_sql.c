/*
 * postgres_sql.c — the statement layer (sql.h) on PostgreSQL: transactions
 * through the pool (postgres_int.h: writes re-run on serialization
 * failures), statements translated to "$N" once and prepared once per
 * connection, executed by name with the parameters in text form (blobs in
 * binary), results in text form: integers parsed, booleans as 0/1, bytea
 * decoded from its hex form.
 */
#include "store/postgres_int.h"
#include "store/incidents_impl.h"
#include "store/sql.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cw__pg_conn *conn(const cw__sql_stmt *st) { return st->c->conn; }
static PGresult *result(const cw__sql_stmt *st) { return st->res; }

typedef struct {
    cw__sql_fn fn;
    void *ctx;
} tx_call;

static cw_err tx_body(cw__pg_conn *pc, void *ctx, cw_diag *d)
{
    tx_call *x = ctx;
    cw__sql c = {&cw__pg_sql_ops, pc, pc->owner};
    return x->fn(&c, x->ctx, d);
}

static cw_err sql_tx(cw_store *store, cw__sql_mode mode, cw__sql_fn fn, void *ctx, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    tx_call x = {fn, ctx};
    switch (mode) {
    case CW__SQL_READ: return cw__pg_read(s, tx_body, &x, d);
    case CW__SQL_WRITE:
    case CW__SQL_WRITE_TRY: return cw__pg_write(s, tx_body, &x, d);
    case CW__SQL_WRITE_ONE:
        if (s->read_only)
            return cw_fail(d, CW_ERR_UNSUPPORTED, "database: opened read-only");
        break;
    case CW__SQL_READ_ONE: break;
    }
    /* one statement commits on its own: no BEGIN and COMMIT round trips */
    cw__pg_conn *pc = NULL;
    cw_err err = cw__pg_acquire(s, &pc, d);
    if (err)
        return err;
    err = tx_body(pc, &x, d);
    cw__pg_release(s, pc);
    return err;
}

static cw_err sql_lock(cw__sql *c, int64_t key, cw_diag *d)
{
    char b[24];
    const char *p[] = {cw__pg_i64(b, key)};
    return cw__pg_exec(c->conn, "SELECT pg_advisory_xact_lock($1::bigint)", 1, p, NULL, d);
}

static cw_err sql_prepare(cw__sql *c, const char *sql, bool once, cw__sql_stmt *st, cw_diag *d)
{
    const cw__pg_stmt *e = once ? NULL : cw__pg_stmt_find(c->conn, sql);
    int n = e ? e->nparams : 0;
    if (!e) {
        char *text = cw__sql_to_pg(sql, &n);
        if (!text)
            return cw_fail(d, CW_ERR_NOMEM, "database: out of memory preparing a statement");
        if (n > CW__SQL_MAX_PARAMS) {
            free(text);
            return cw_fail(d, CW_ERR_INTERNAL, "database: more than %d parameters",
                           CW__SQL_MAX_PARAMS);
        }
        cw_err err = once ? CW_OK : cw__pg_stmt_add(c->conn, sql, text, n, &e, d);
        if (err || e)
            free(text);
        else
            st->text = text; /* once, or the cache is full: run it unprepared */
        if (err)
            return err;
    }
    st->h = e ? (void *)e->name : NULL;
    st->nparams = n;
    if (n <= CW__SQL_INLINE_PARAMS) {
        st->vals = st->vals_in;
        st->lens = st->lens_in;
        st->fmts = st->fmts_in;
        st->nums = st->nums_in;
    } else {
        /* one block: the pointers first, then the numbers' text */
        size_t k = (size_t)n;
        char *b = malloc(k * (sizeof *st->vals + 2 * sizeof(int) + sizeof *st->nums));
        if (!b)
            return cw_fail(d, CW_ERR_NOMEM, "database: out of memory binding");
        st->heap = b;
        st->vals = (const char **)(void *)b;
        st->nums = (char(*)[32])(void *)(b + k * sizeof *st->vals);
        st->lens = (int *)(void *)(b + k * (sizeof *st->vals + sizeof *st->nums));
        st->fmts = st->lens + k;
    }
    for (int i = 0; i < n; i++) {
        st->vals[i] = NULL;
        st->lens[i] = 0;
        st->fmts[i] = 0;
    }
    return CW_OK;
}

/* The slot of parameter i, or -1 (then the statement fails at its step). */
static int slot(cw__sql_stmt *st, int i)
{
    if (i >= 1 && i <= st->nparams)
        return i - 1;
    if (!st->err) {
        st->err = CW_ERR_INTERNAL;
        st->bad = i;
    }
    return -1;
}

static void sql_bind_int(cw__sql_stmt *st, int i, int64_t v)
{
    int k = slot(st, i);
    if (k >= 0) {
        st->vals[k] = cw__pg_i64(st->nums[k], v);
        st->fmts[k] = 0;
    }
}

static void sql_bind_double(cw__sql_stmt *st, int i, double v)
{
    int k = slot(st, i);
    if (k >= 0) {
        /* round trip exact; nan and inf are read by float8in too */
        snprintf(st->nums[k], sizeof st->nums[k], "%.17g", v);
        st->vals[k] = st->nums[k];
        st->fmts[k] = 0;
    }
}

static void sql_bind_text(cw__sql_stmt *st, int i, const char *s)
{
    int k = slot(st, i);
    if (k >= 0) {
        st->vals[k] = s;
        st->fmts[k] = 0;
    }
}

static void sql_bind_blob(cw__sql_stmt *st, int i, const void *p, size_t n)
{
    int k = slot(st, i);
    if (k < 0)
        return;
    if (n > INT_MAX) {
        if (!st->err) {
            st->err = CW_ERR_TOO_LARGE;
            st->bad = i;
        }
        return;
    }
    st->vals[k] = p;
    st->lens[k] = (int)n;
    st->fmts[k] = 1; /* binary: the bytes as they are */
}

static void sql_bind_null(cw__sql_stmt *st, int i)
{
    int k = slot(st, i);
    if (k >= 0)
        st->vals[k] = NULL;
}

static cw_err sql_step(cw__sql_stmt *st, bool *row, cw_diag *d)
{
    cw__pg_conn *c = conn(st);
    if (!st->started) {
        st->started = true;
        PGresult *res =
            st->h ? PQexecPrepared(c->pg, st->h, st->nparams, st->vals, st->lens, st->fmts, 0)
                  : PQexecParams(c->pg, st->text, st->nparams, NULL, st->vals, st->lens,
                                 st->fmts, 0);
        ExecStatusType status = PQresultStatus(res);
        if (!res || (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)) {
            st->finished = true;
            cw_err err = res ? cw__pg_fail(c, res, d, st->text ? st->text : st->sql)
                             : cw_fail(d, CW_ERR_NOMEM, "database: out of memory");
            PQclear(res);
            return err;
        }
        c->sqlstate[0] = '\0';
        st->res = res;
        st->nrows = status == PGRES_TUPLES_OK ? PQntuples(res) : 0;
        st->row = -1;
        st->changes = strtoll(PQcmdTuples(res), NULL, 10);
    }
    if (++st->row < st->nrows) {
        *row = true;
        return CW_OK;
    }
    st->finished = true;
    return CW_OK;
}

static int64_t sql_col_int(cw__sql_stmt *st, int col)
{
    if (PQgetisnull(result(st), st->row, col))
        return 0;
    const char *v = PQgetvalue(result(st), st->row, col);
    if (v[0] == 't' && !v[1]) /* a boolean column */
        return 1;
    if (v[0] == 'f' && !v[1])
        return 0;
    return (int64_t)strtoll(v, NULL, 10);
}

static double sql_col_double(cw__sql_stmt *st, int col)
{
    if (PQgetisnull(result(st), st->row, col))
        return 0;
    return strtod(PQgetvalue(result(st), st->row, col), NULL);
}

static const char *sql_col_text(cw__sql_stmt *st, int col, size_t *len)
{
    if (PQgetisnull(result(st), st->row, col)) {
        *len = 0;
        return NULL;
    }
    *len = (size_t)PQgetlength(result(st), st->row, col);
    return PQgetvalue(result(st), st->row, col);
}

static bool sql_col_null(cw__sql_stmt *st, int col)
{
    return PQgetisnull(result(st), st->row, col) != 0;
}

static cw_err sql_col_blob(cw__sql_stmt *st, int col, const void **p, size_t *n, cw_diag *d)
{
    *p = NULL;
    *n = 0;
    if (PQgetisnull(result(st), st->row, col))
        return CW_OK;
    cw_err err = cw__pg_bytea(result(st), st->row, col, &st->scratch);
    if (err)
        return cw_fail(d, err, "database: a bytea column could not be read");
    *p = st->scratch.len ? (const void *)st->scratch.data : "";
    *n = st->scratch.len;
    return CW_OK;
}

static void sql_done(cw__sql_stmt *st)
{
    PQclear(st->res);
    st->res = NULL;
}

static cw_err links_fresh(cw_store *s, cw_diag *d) { return cw__pg_links_fresh(cw__pg(s), d); }

const cw__sql_ops cw__pg_sql_ops = {
    .backend = "postgres",
    .utf8_only = true,
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
