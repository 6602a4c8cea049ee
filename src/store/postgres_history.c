/*
 * postgres_history.c — the findings history in PostgreSQL (store_history.h).
 * The day's claim is INSERT ... ON CONFLICT DO NOTHING RETURNING in the
 * transaction that stores the counts: a second instance claiming the same
 * day waits on the first one's uncommitted row, then finds it and stores
 * nothing (READ COMMITTED, no serialization failure). The counts go in one
 * statement over unnest()ed arrays.
 */
#include "store/postgres_int.h"
#include "store/store_history.h"

#include <string.h>

typedef struct {
    int64_t day, now_ms;
    const cw_finding_count *rows;
    size_t n;
    bool taken;
} put_ctx;

static cw_err put_tx(cw__pg_conn *c, void *arg, cw_diag *d)
{
    put_ctx *x = arg;
    x->taken = false; /* a retried transaction starts over */
    char day[24], now[24];
    const char *p[] = {cw__pg_i64(day, x->day), cw__pg_i64(now, x->now_ms)};
    PGresult *r = NULL;
    cw_err err = cw__pg_exec(c,
                             "INSERT INTO finding_snapshots (day, taken_at) VALUES ($1, $2) "
                             "ON CONFLICT (day) DO NOTHING RETURNING day",
                             2, p, &r, d);
    bool claimed = !err && PQntuples(r) == 1;
    PQclear(r);
    if (err || !claimed)
        return err;
    cw__pg_array kinds, rules, sevs, scopes, counts;
    cw__pg_array_init(&kinds);
    cw__pg_array_init(&rules);
    cw__pg_array_init(&sevs);
    cw__pg_array_init(&scopes);
    cw__pg_array_init(&counts);
    for (size_t i = 0; !err && i < x->n; i++) {
        const cw_finding_count *f = &x->rows[i];
        if (!cw__pg_utf8(f->kind) || !cw__pg_utf8(f->rule) || !cw__pg_utf8(f->severity) ||
            !cw__pg_utf8(f->scope))
            err = cw_fail(d, CW_ERR_INVALID, "rows[%zu]: not UTF-8", i);
        else if (cw__pg_array_add(&kinds, f->kind) || cw__pg_array_add(&rules, f->rule) ||
                 cw__pg_array_add(&sevs, f->severity) || cw__pg_array_add(&scopes, f->scope) ||
                 cw__pg_array_add_i64(&counts, f->count))
            err = cw_fail(d, CW_ERR_NOMEM, "history: out of memory");
    }
    if (!err && x->n) {
        const char *q[] = {day,
                           cw__pg_array_text(&kinds),
                           cw__pg_array_text(&rules),
                           cw__pg_array_text(&sevs),
                           cw__pg_array_text(&scopes),
                           cw__pg_array_text(&counts)};
        if (!q[1] || !q[2] || !q[3] || !q[4] || !q[5])
            err = cw_fail(d, CW_ERR_NOMEM, "history: out of memory");
        else
            err = cw__pg_exec(c,
                              "INSERT INTO finding_counts (day, kind, rule, severity, scope, count) "
                              "SELECT $1::bigint, k, r, s, sc, n FROM unnest($2::text[], "
                              "$3::text[], $4::text[], $5::text[], $6::bigint[]) AS t(k, r, s, sc, n)",
                              6, q, NULL, d);
    }
    cw__pg_array_free(&kinds);
    cw__pg_array_free(&rules);
    cw__pg_array_free(&sevs);
    cw__pg_array_free(&scopes);
    cw__pg_array_free(&counts);
    if (!err)
        x->taken = true;
    return err;
}

static cw_err hi_put(cw_store *store, int64_t day, int64_t now_ms, const cw_finding_count *rows,
                     size_t n, bool *taken, cw_diag *d)
{
    put_ctx x = {.day = day, .now_ms = now_ms, .rows = rows, .n = n};
    cw_err err = cw__pg_write(cw__pg(store), put_tx, &x, d);
    *taken = !err && x.taken;
    return err;
}

static cw_err hi_has(cw_store *store, int64_t day, bool *has, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    cw__pg_conn *c = NULL;
    PGresult *r = NULL;
    char db[24];
    const char *p[] = {cw__pg_i64(db, day)};
    cw_err err = cw__pg_acquire(s, &c, d);
    if (!err)
        err = cw__pg_exec(c, "SELECT 1 FROM finding_snapshots WHERE day = $1", 1, p, &r, d);
    if (!err)
        *has = PQntuples(r) > 0;
    PQclear(r);
    cw__pg_release(s, c);
    return err;
}

typedef struct {
    const cw_history_query *q;
    cw_history *out;
} query_ctx;

static cw_err query_tx(cw__pg_conn *c, void *arg, cw_diag *d)
{
    query_ctx *x = arg;
    const cw_history_query *q = x->q;
    cw_history_free(x->out);
    size_t cap_days = 0, cap_rows = 0;
    char from[24], to[24];
    const char *p[] = {cw__pg_i64(from, q->from_day), cw__pg_i64(to, q->to_day), q->scope,
                       q->rule};
    PGresult *r = NULL;
    cw_err err = cw__pg_exec(c,
                             "SELECT day FROM finding_snapshots WHERE day BETWEEN $1 AND $2 "
                             "ORDER BY day",
                             2, p, &r, d);
    for (int i = 0; !err && i < PQntuples(r); i++)
        err = cw__history_add_day(x->out, &cap_days, cw__pg_int(r, i, 0), d);
    PQclear(r);
    r = NULL;
    /* text that is not UTF-8 was never stored */
    if (err || !cw__pg_utf8(q->scope) || (q->rule && !cw__pg_utf8(q->rule)))
        return err;
    err = cw__pg_exec(c,
                      q->rule ? "SELECT day, kind, rule, severity, count FROM finding_counts "
                                "WHERE day BETWEEN $1 AND $2 AND scope = $3 AND rule = $4 "
                                "ORDER BY day, kind, rule, severity"
                              : "SELECT day, kind, rule, severity, count FROM finding_counts "
                                "WHERE day BETWEEN $1 AND $2 AND scope = $3 "
                                "ORDER BY day, kind, rule, severity",
                      q->rule ? 4 : 3, p, &r, d);
    for (int i = 0; !err && i < PQntuples(r); i++)
        err = cw__history_add_row(x->out, &cap_rows, cw__pg_int(r, i, 0), cw__pg_text(r, i, 1),
                                  cw__pg_text(r, i, 2), cw__pg_text(r, i, 3),
                                  cw__pg_int(r, i, 4), d);
    PQclear(r);
    return err;
}

static cw_err hi_query(cw_store *store, const cw_history_query *q, cw_history *out, cw_diag *d)
{
    query_ctx x = {q, out};
    return cw__pg_read(cw__pg(store), query_tx, &x, d);
}

const cw_store_history_ops cw__pg_history_ops = {
    .put = hi_put,
    .has = hi_has,
    .query = hi_query,
};
