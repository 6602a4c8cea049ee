/*
 * sql.c — the backend-neutral half of the statement layer (sql.h): the
 * calls a table's code makes, passed to the backend of the connection, and
 * the translation of one SQL text into each engine's dialect.
 */
#include "store/sql.h"
#include "util/utf8.h"

#include <stdlib.h>
#include <string.h>

cw_err cw__sql_tx(cw_store *s, cw__sql_mode mode, cw__sql_fn fn, void *ctx, cw_diag *d)
{
    if (!s)
        return cw_fail(d, CW_ERR_INVALID, "store: no store handle");
    if (!s->vt->sql)
        return cw_fail(d, CW_ERR_UNSUPPORTED, "store: the %s backend has no statement layer",
                       s->vt->backend);
    return s->vt->sql->tx(s, mode, fn, ctx, d);
}

const char *cw__sql_backend(const cw__sql *c) { return c->ops->backend; }

cw_store *cw__sql_store(const cw__sql *c) { return c->store; }

cw_err cw__sql_links_fresh(cw_store *s, cw_diag *d)
{
    if (!s->vt->sql || !s->vt->sql->links_fresh)
        return CW_OK;
    return s->vt->sql->links_fresh(s, d);
}

cw_err cw__sql_load_dict(void *ctx, int64_t id, cw_buf *out, cw_diag *d)
{
    cw__sql_stmt st;
    bool row = false;
    const void *p = NULL;
    size_t n = 0;
    cw_err err = cw__sql_prepare(ctx, "SELECT dict FROM event_dicts WHERE id = ?1", &st, d);
    if (!err) {
        cw__sql_bind_int(&st, 1, id);
        err = cw__sql_step(&st, &row, d);
    }
    if (!err && !row)
        err = cw_fail(d, CW_ERR_IO, "events: dictionary %lld is missing", (long long)id);
    if (!err)
        err = cw__sql_blob(&st, 0, &p, &n, d);
    if (!err && cw_buf_append(out, p, n))
        err = cw_fail(d, CW_ERR_NOMEM, "events: out of memory");
    cw__sql_done(&st);
    return err;
}

bool cw__sql_text_ok(const cw__sql *c, const char *s)
{
    return !c->ops->utf8_only || !s || cw_utf8_valid(s, strlen(s));
}

cw_err cw__sql_lock(cw__sql *c, int64_t key, cw_diag *d) { return c->ops->lock(c, key, d); }

static cw_err prepare(cw__sql *c, const char *sql, bool once, cw__sql_stmt *st, cw_diag *d)
{
    st->c = c;
    st->sql = sql;
    st->h = NULL;
    st->text = NULL;
    st->err = CW_OK;
    st->bad = 0;
    st->started = st->finished = false;
    st->changes = 0;
    st->nparams = 0;
    st->vals = NULL;
    st->lens = st->fmts = NULL;
    st->nums = NULL;
    st->heap = NULL;
    st->res = NULL;
    st->row = st->nrows = 0;
    cw_buf_init(&st->scratch, 0);
    return c->ops->prepare(c, sql, once, st, d);
}

cw_err cw__sql_prepare(cw__sql *c, const char *sql, cw__sql_stmt *st, cw_diag *d)
{
    return prepare(c, sql, false, st, d);
}

cw_err cw__sql_prepare_once(cw__sql *c, const char *sql, cw__sql_stmt *st, cw_diag *d)
{
    return prepare(c, sql, true, st, d);
}

void cw__sql_bind_int(cw__sql_stmt *st, int i, int64_t v) { st->c->ops->bind_int(st, i, v); }

void cw__sql_bind_double(cw__sql_stmt *st, int i, double v)
{
    st->c->ops->bind_double(st, i, v);
}

void cw__sql_bind_text(cw__sql_stmt *st, int i, const char *s)
{
    st->c->ops->bind_text(st, i, s);
}

void cw__sql_bind_blob(cw__sql_stmt *st, int i, const void *p, size_t n)
{
    st->c->ops->bind_blob(st, i, p, n);
}

void cw__sql_bind_null(cw__sql_stmt *st, int i) { st->c->ops->bind_null(st, i); }

cw_err cw__sql_step(cw__sql_stmt *st, bool *row, cw_diag *d)
{
    *row = false;
    if (st->err)
        return cw_fail(d, st->err, "database: cannot bind parameter %d", st->bad);
    if (st->finished)
        return CW_OK;
    return st->c->ops->step(st, row, d);
}

cw_err cw__sql_run(cw__sql_stmt *st, cw_diag *d)
{
    bool row = true;
    cw_err err = CW_OK;
    while (!err && row)
        err = cw__sql_step(st, &row, d);
    return err;
}

int64_t cw__sql_int(cw__sql_stmt *st, int col) { return st->c->ops->col_int(st, col); }

double cw__sql_double(cw__sql_stmt *st, int col) { return st->c->ops->col_double(st, col); }

const char *cw__sql_text(cw__sql_stmt *st, int col)
{
    size_t n;
    const char *t = st->c->ops->col_text(st, col, &n);
    return t ? t : "";
}

const char *cw__sql_textn(cw__sql_stmt *st, int col, size_t *len)
{
    const char *t = st->c->ops->col_text(st, col, len);
    if (!t)
        *len = 0;
    return t;
}

bool cw__sql_null(cw__sql_stmt *st, int col) { return st->c->ops->col_null(st, col); }

cw_err cw__sql_blob(cw__sql_stmt *st, int col, const void **p, size_t *n, cw_diag *d)
{
    return st->c->ops->col_blob(st, col, p, n, d);
}

int64_t cw__sql_changes(const cw__sql_stmt *st) { return st->changes; }

void cw__sql_done(cw__sql_stmt *st)
{
    if (!st->c)
        return;
    st->c->ops->done(st);
    free(st->text);
    st->text = NULL;
    free(st->heap);
    st->heap = NULL;
    cw_buf_free(&st->scratch);
    st->c = NULL;
}

static void bind_one(cw__sql_stmt *st, int i, const cw__sqlv *v)
{
    switch (v->kind) {
    case CW__SQLV_INT: cw__sql_bind_int(st, i, v->i); break;
    case CW__SQLV_TEXT: cw__sql_bind_text(st, i, v->p); break;
    case CW__SQLV_BLOB: cw__sql_bind_blob(st, i, v->p, v->n); break;
    case CW__SQLV_DOUBLE: cw__sql_bind_double(st, i, v->f); break;
    case CW__SQLV_NULL: cw__sql_bind_null(st, i); break;
    }
}

void cw__sql_bind_vals(cw__sql_stmt *st, const cw__sqlv *vals, size_t n)
{
    for (size_t k = 0; k < n; k++)
        bind_one(st, (int)k + 1, &vals[k]);
}

cw_err cw__sql_exec(cw__sql *c, const char *sql, const cw__sqlv *vals, size_t n,
                    int64_t *changes, cw_diag *d)
{
    cw__sql_stmt st;
    cw_err err = cw__sql_prepare(c, sql, &st, d);
    if (!err) {
        cw__sql_bind_vals(&st, vals, n);
        err = cw__sql_run(&st, d);
    }
    if (changes)
        *changes = err ? 0 : st.changes;
    cw__sql_done(&st);
    return err;
}

/* ---- rows into arrays ----------------------------------------------------------------- */

cw_err cw__grow(void **items, size_t *cap, size_t len, size_t size, cw_diag *d)
{
    if (len < *cap)
        return CW_OK;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = realloc(*items, ncap * size);
    if (!p)
        return cw_fail(d, CW_ERR_NOMEM, "database: out of memory");
    *items = p;
    *cap = ncap;
    return CW_OK;
}

/* ---- many rows at once ---------------------------------------------------------------- */

cw_err cw__sql_insert_rows(cw__sql *c, const char *head, const char *tail, int ncols, size_t n,
                           cw__sql_row_fn row, void *ctx, int64_t *changes, cw_diag *d)
{
    static const size_t chunks[] = {1000, 100, 10, 1};
    if (changes)
        *changes = 0;
    if (ncols < 1 || ncols > 64)
        return cw_fail(d, CW_ERR_INTERNAL, "database: %d columns to insert", ncols);
    cw__sqlv vals[64];
    cw_buf sql;
    cw_buf_init(&sql, 0);
    cw_err err = CW_OK;
    size_t at = 0;
    for (size_t k = 0; k < sizeof chunks / sizeof *chunks && !err; k++) {
        size_t m = chunks[k];
        if (n - at < m)
            continue;
        /* the text of m rows: the same text each time, so the statement
         * cache finds it (by its hash) prepared */
        cw_buf_reset(&sql);
        cw_buf_puts(&sql, head);
        for (size_t r = 0; r < m; r++) {
            cw_buf_puts(&sql, r ? ", (" : "(");
            for (int j = 0; j < ncols; j++)
                cw_buf_puts(&sql, j ? ", ?" : "?");
            cw_buf_putc(&sql, ')');
        }
        cw_buf_puts(&sql, tail);
        if (cw_buf_error(&sql)) {
            err = cw_fail(d, CW_ERR_NOMEM, "database: out of memory");
            break;
        }
        for (; !err && n - at >= m; at += m) {
            cw__sql_stmt st;
            err = cw__sql_prepare(c, sql.data, &st, d);
            for (size_t r = 0; !err && r < m; r++) {
                row(ctx, at + r, vals);
                for (int j = 0; j < ncols; j++)
                    bind_one(&st, (int)r * ncols + j + 1, &vals[j]);
            }
            if (!err)
                err = cw__sql_run(&st, d);
            if (!err && changes)
                *changes += st.changes;
            cw__sql_done(&st);
        }
    }
    cw_buf_free(&sql);
    return err;
}

/* ---- dialect ------------------------------------------------------------------------ */

/* The length of the quoted string, identifier or comment at p, or 0 when p
 * starts none. An unterminated one runs to the end. */
static size_t skip_quoted(const char *p)
{
    if (*p == '\'' || *p == '"') {
        char q = *p;
        size_t i = 1;
        for (;;) {
            if (!p[i])
                return i;
            if (p[i] == q) {
                if (p[i + 1] == q) { /* doubled quote inside */
                    i += 2;
                    continue;
                }
                return i + 1;
            }
            i++;
        }
    }
    if (p[0] == '-' && p[1] == '-')
        return strcspn(p, "\n");
    if (p[0] == '/' && p[1] == '*') {
        const char *e = strstr(p + 2, "*/");
        return e ? (size_t)(e + 2 - p) : strlen(p);
    }
    return 0;
}

/* The text of sql for PostgreSQL (pg: "?N" and "?" as "$N", *nparams the
 * highest number) or for SQLite (row locks dropped). */
static char *rewrite(const char *sql, bool pg, int *nparams)
{
    static const char *const locks[] = {" FOR UPDATE SKIP LOCKED", " FOR UPDATE NOWAIT",
                                        " FOR UPDATE"};
    cw_buf out;
    cw_buf_init(&out, 0);
    int max = 0;
    for (const char *p = sql; *p;) {
        size_t q = skip_quoted(p);
        if (q) {
            cw_buf_append(&out, p, q);
            p += q;
        } else if (pg && *p == '?') {
            p++;
            int num = 0;
            bool numbered = false;
            while (*p >= '0' && *p <= '9' && num < 100000) {
                num = num * 10 + (*p++ - '0');
                numbered = true;
            }
            if (!numbered)
                num = max + 1; /* SQLite: a bare "?" is one more than the largest so far */
            if (num > max)
                max = num;
            cw_buf_printf(&out, "$%d", num);
        } else {
            size_t drop = 0;
            for (size_t k = 0; !pg && !drop && k < sizeof locks / sizeof *locks; k++) {
                size_t n = strlen(locks[k]);
                if (strncmp(p, locks[k], n) != 0)
                    continue;
                char after = p[n]; /* within the text: p matched n bytes */
                if (!((after >= 'A' && after <= 'Z') || (after >= 'a' && after <= 'z') ||
                      (after >= '0' && after <= '9') || after == '_'))
                    drop = n;
            }
            if (!drop)
                cw_buf_append(&out, p, 1);
            p += drop ? drop : 1;
        }
    }
    if (nparams)
        *nparams = max;
    char *s = cw_buf_error(&out) ? NULL : cw_buf_steal(&out, NULL);
    cw_buf_free(&out);
    return s;
}

char *cw__sql_to_pg(const char *sql, int *nparams) { return rewrite(sql, true, nparams); }

char *cw__sql_to_sqlite(const char *sql) { return rewrite(sql, false, NULL); }
