/*
 * sql_history.c — the findings history (store_history.h) on both backends,
 * through the statement layer (sql.h). The day's claim is INSERT … ON
 * CONFLICT DO NOTHING in the transaction that stores the counts: on
 * PostgreSQL a second instance claiming the same day waits on the first
 * one's uncommitted row, then finds it and stores nothing (READ COMMITTED,
 * no serialization failure); on SQLite the one writer decides the same way.
 */
#include "store/sql.h"
#include "store/store_history.h"

#include <string.h>

typedef struct {
    int64_t day, now_ms;
    const cw_finding_count *rows;
    size_t n;
    bool taken;
} put_ctx;

static void count_row(void *ctx, size_t i, cw__sqlv *v)
{
    const put_ctx *x = ctx;
    const cw_finding_count *f = &x->rows[i];
    v[0] = CW__SQL_INT(x->day);
    v[1] = CW__SQL_TEXT(f->kind);
    v[2] = CW__SQL_TEXT(f->rule);
    v[3] = CW__SQL_TEXT(f->severity);
    v[4] = CW__SQL_TEXT(f->scope);
    v[5] = CW__SQL_INT(f->count);
}

static cw_err put_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    put_ctx *x = ctx;
    x->taken = false; /* a retried transaction starts over */
    for (size_t i = 0; i < x->n; i++) {
        const cw_finding_count *f = &x->rows[i];
        if (!cw__sql_text_ok(c, f->kind) || !cw__sql_text_ok(c, f->rule) ||
            !cw__sql_text_ok(c, f->severity) || !cw__sql_text_ok(c, f->scope))
            return cw_fail(d, CW_ERR_INVALID, "rows[%zu]: not UTF-8", i);
    }
    int64_t claimed = 0;
    cw_err err = CW__SQL_EXEC(c, &claimed, d,
                              "INSERT INTO finding_snapshots (day, taken_at) VALUES (?1, ?2) "
                              "ON CONFLICT (day) DO NOTHING",
                              CW__SQL_INT(x->day), CW__SQL_INT(x->now_ms));
    if (err || !claimed)
        return err; /* taken before: store nothing */
    err = cw__sql_insert_rows(c,
                              "INSERT INTO finding_counts (day, kind, rule, severity, scope, "
                              "count) VALUES ",
                              "", 6, x->n, count_row, x, NULL, d);
    if (!err)
        x->taken = true;
    return err;
}

static cw_err hi_put(cw_store *s, int64_t day, int64_t now_ms, const cw_finding_count *rows,
                     size_t n, bool *taken, cw_diag *d)
{
    put_ctx x = {.day = day, .now_ms = now_ms, .rows = rows, .n = n};
    cw_err err = cw__sql_tx(s, CW__SQL_WRITE, put_tx, &x, d);
    *taken = !err && x.taken;
    return err;
}

typedef struct {
    int64_t day;
    bool *has;
} has_ctx;

static cw_err has_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    has_ctx *x = ctx;
    cw__sql_stmt st;
    cw_err err = cw__sql_prepare(c, "SELECT 1 FROM finding_snapshots WHERE day = ?1", &st, d);
    if (!err) {
        cw__sql_bind_int(&st, 1, x->day);
        err = cw__sql_step(&st, x->has, d);
    }
    cw__sql_done(&st);
    return err;
}

static cw_err hi_has(cw_store *s, int64_t day, bool *has, cw_diag *d)
{
    has_ctx x = {day, has};
    return cw__sql_tx(s, CW__SQL_READ_ONE, has_tx, &x, d);
}

typedef struct {
    const cw_history_query *q;
    cw_history *out;
} query_ctx;

static cw_err query_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    query_ctx *x = ctx;
    const cw_history_query *q = x->q;
    cw_history_free(x->out);
    size_t cap_days = 0, cap_rows = 0;
    cw__sql_stmt st;
    bool row = false;
    cw_err err = cw__sql_prepare(c,
                                 "SELECT day FROM finding_snapshots WHERE day BETWEEN ?1 AND ?2 "
                                 "ORDER BY day",
                                 &st, d);
    if (!err) {
        cw__sql_bind_int(&st, 1, q->from_day);
        cw__sql_bind_int(&st, 2, q->to_day);
    }
    while (!err && !(err = cw__sql_step(&st, &row, d)) && row)
        err = cw__history_add_day(x->out, &cap_days, cw__sql_int(&st, 0), d);
    cw__sql_done(&st);
    /* text the database cannot hold was never stored */
    if (err || !cw__sql_text_ok(c, q->scope) || !cw__sql_text_ok(c, q->rule))
        return err;
    err = cw__sql_prepare(c,
                          q->rule ? "SELECT day, kind, rule, severity, count FROM finding_counts "
                                    "WHERE day BETWEEN ?1 AND ?2 AND scope = ?3 AND rule = ?4 "
                                    "ORDER BY day, kind, rule, severity"
                                  : "SELECT day, kind, rule, severity, count FROM finding_counts "
                                    "WHERE day BETWEEN ?1 AND ?2 AND scope = ?3 "
                                    "ORDER BY day, kind, rule, severity",
                          &st, d);
    if (!err) {
        cw__sql_bind_int(&st, 1, q->from_day);
        cw__sql_bind_int(&st, 2, q->to_day);
        cw__sql_bind_text(&st, 3, q->scope);
        if (q->rule)
            cw__sql_bind_text(&st, 4, q->rule);
    }
    while (!err && !(err = cw__sql_step(&st, &row, d)) && row)
        err = cw__history_add_row(x->out, &cap_rows, cw__sql_int(&st, 0), cw__sql_text(&st, 1),
                                  cw__sql_text(&st, 2), cw__sql_text(&st, 3),
                                  cw__sql_int(&st, 4), d);
    cw__sql_done(&st);
    return err;
}

static cw_err hi_query(cw_store *s, const cw_history_query *q, cw_history *out, cw_diag *d)
{
    query_ctx x = {q, out};
    return cw__sql_tx(s, CW__SQL_READ, query_tx, &x, d);
}

const cw_store_history_ops cw__sql_history_ops = {
    .put = hi_put,
    .has = hi_has,
    .query = hi_query,
};
