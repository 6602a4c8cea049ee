/*
 * sql_metrics.c — metric series and samples (store_metrics.h) on both
 * backends, through the statement layer (sql.h): series in metric_series
 * (name, canonical labels), samples in metric_samples keyed by
 * (series_id, t) (WITHOUT ROWID on SQLite), so a sample costs its three
 * numbers and a step aggregate reads one range of the key. Samples go in
 * as multi-row INSERTs (cw__sql_insert_rows: one round trip per thousand
 * samples on PostgreSQL). Series are
 * found or created one by one (ON CONFLICT DO NOTHING, so two instances
 * creating the same series meet on the unique key). Queries run in one
 * snapshot. Arguments arrive checked (store_metrics.c).
 */
#include "store/metrics_impl.h"
#include "store/sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing -------------------------------------------------------------------------- */

/* The id of series (name, labels), inserting it when new (within the
 * cardinality cap of its name). */
static cw_err series_id(cw__sql *c, const cw_metric_series *ser, int64_t now, int64_t *id,
                        bool *created, cw_diag *d)
{
    static const char by_labels[] = "SELECT id FROM metric_series WHERE name = ?1 AND labels = ?2";
    cw__sql_stmt st;
    bool row = false;
    *created = false;
    cw_err err = cw__sql_prepare(c, by_labels, &st, d);
    if (!err) {
        cw__sql_bind_text(&st, 1, ser->name);
        cw__sql_bind_text(&st, 2, ser->labels_json);
        err = cw__sql_step(&st, &row, d);
    }
    if (!err && row)
        *id = cw__sql_int(&st, 0);
    cw__sql_done(&st);
    if (err || row)
        return err;

    int64_t count = 0;
    err = cw__sql_prepare(c, "SELECT count(*) FROM metric_series WHERE name = ?1", &st, d);
    if (!err) {
        cw__sql_bind_text(&st, 1, ser->name);
        err = cw__sql_step(&st, &row, d);
    }
    if (!err && row)
        count = cw__sql_int(&st, 0);
    cw__sql_done(&st);
    if (err)
        return err;
    if (count >= CW_METRIC_MAX_SERIES_PER_NAME)
        return cw_fail(d, CW_ERR_TOO_LARGE,
                       "metric '%.100s': more than %d label sets; drop a label whose values "
                       "keep changing (ids, timestamps)",
                       ser->name, CW_METRIC_MAX_SERIES_PER_NAME);

    err = cw__sql_prepare(c,
                          "INSERT INTO metric_series (name, labels, created_ms) VALUES (?1, ?2, "
                          "?3) ON CONFLICT (name, labels) DO NOTHING RETURNING id",
                          &st, d);
    if (!err) {
        cw__sql_bind_text(&st, 1, ser->name);
        cw__sql_bind_text(&st, 2, ser->labels_json);
        cw__sql_bind_int(&st, 3, now);
        err = cw__sql_step(&st, &row, d);
    }
    if (!err && row) {
        *id = cw__sql_int(&st, 0);
        *created = true;
    }
    cw__sql_done(&st);
    if (err || row)
        return err;
    /* another transaction created it meanwhile (and has committed: ON
     * CONFLICT waited for it) */
    err = cw__sql_prepare(c, by_labels, &st, d);
    if (!err) {
        cw__sql_bind_text(&st, 1, ser->name);
        cw__sql_bind_text(&st, 2, ser->labels_json);
        err = cw__sql_step(&st, &row, d);
    }
    if (!err && row)
        *id = cw__sql_int(&st, 0);
    else if (!err)
        err = cw_fail(d, CW_ERR_IO, "database: metric series vanished while being created");
    cw__sql_done(&st);
    return err;
}

typedef struct {
    const cw_metric_batch *b;
    int64_t now;
    int64_t *ids;
    cw_metric_put_result *res;
} put_ctx;

static void sample_row(void *ctx, size_t i, cw__sqlv *v)
{
    const put_ctx *x = ctx;
    const cw_metric_sample *m = &x->b->samples[i];
    v[0] = CW__SQL_INT(x->ids[m->series]);
    v[1] = CW__SQL_INT(m->time_ms);
    v[2] = CW__SQL_DOUBLE(m->value);
}

static cw_err put_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    put_ctx *x = ctx;
    const cw_metric_batch *b = x->b;
    memset(x->res, 0, sizeof *x->res);
    cw_err err = CW_OK;
    for (size_t i = 0; i < b->nseries && !err; i++) {
        bool created = false;
        err = series_id(c, &b->series[i], x->now, &x->ids[i], &created, d);
        x->res->series_new += created;
    }
    if (!err)
        err = cw__sql_insert_rows(c, "INSERT INTO metric_samples (series_id, t, v) VALUES ",
                                  " ON CONFLICT (series_id, t) DO UPDATE SET v = excluded.v", 3,
                                  b->nsamples, sample_row, x, NULL, d);
    if (!err)
        x->res->samples = b->nsamples;
    return err;
}

static cw_err m_put(cw_store *s, const cw_metric_batch *b, int64_t now,
                    cw_metric_put_result *res, cw_diag *d)
{
    put_ctx x = {b, now, malloc((b->nseries ? b->nseries : 1) * sizeof(int64_t)), res};
    cw_err err = x.ids ? cw__sql_tx(s, CW__SQL_WRITE, put_tx, &x, d)
                       : cw_fail(d, CW_ERR_NOMEM, "metrics: out of memory");
    free(x.ids);
    if (err)
        memset(res, 0, sizeof *res);
    return err;
}

/* ---- reading -------------------------------------------------------------------------- */

typedef struct {
    const cw_metric_query *q;
    cw_metric_result *out;
} query_ctx;

static cw_err load_series(cw__sql *c, const char *name, cw__metric_row **out, size_t *n,
                          cw_diag *d)
{
    cw__sql_stmt st;
    bool row = false;
    cw__metric_row *rows = NULL;
    size_t len = 0, cap = 0;
    cw_err err = cw__sql_prepare(c, "SELECT id, labels FROM metric_series WHERE name = ?1", &st, d);
    if (!err)
        cw__sql_bind_text(&st, 1, name);
    while (!err && !(err = cw__sql_step(&st, &row, d)) && row) {
        if ((err = cw__grow((void **)&rows, &cap, len, sizeof *rows, d)))
            break;
        rows[len].id = cw__sql_int(&st, 0);
        rows[len].labels_json = strdup(cw__sql_text(&st, 1));
        if (!rows[len++].labels_json)
            err = cw_fail(d, CW_ERR_NOMEM, "metrics: out of memory");
    }
    cw__sql_done(&st);
    if (err) {
        cw__metric_rows_free(rows, len);
        return err;
    }
    *out = rows;
    *n = len;
    return CW_OK;
}

static cw_err load_points(cw__sql *c, const cw_metric_query *q, int64_t id,
                          cw_metric_result_series *rs, cw_diag *d)
{
    char sql[512];
    if (q->agg == CW_AGG_LAST)
        snprintf(sql, sizeof sql,
                 "SELECT s.t, s.v FROM metric_samples s JOIN (SELECT max(t) AS mt FROM "
                 "metric_samples WHERE series_id = ?1 AND t >= ?2 AND t < ?3 GROUP BY "
                 "(t - CAST(?2 AS BIGINT)) / CAST(?4 AS BIGINT)) m ON s.t = m.mt "
                 "WHERE s.series_id = ?1 ORDER BY s.t");
    else
        snprintf(sql, sizeof sql,
                 "SELECT (t - CAST(?2 AS BIGINT)) / CAST(?4 AS BIGINT) AS b, %s FROM "
                 "metric_samples WHERE series_id = ?1 AND t >= ?2 AND t < ?3 GROUP BY b "
                 "ORDER BY b",
                 cw__metric_agg_sql(q->agg));
    cw__sql_stmt st;
    bool row = false;
    size_t cap = 0;
    /* one text per aggregate: cached like a constant */
    cw_err err = cw__sql_prepare(c, sql, &st, d);
    if (!err) {
        cw__sql_bind_int(&st, 1, id);
        cw__sql_bind_int(&st, 2, q->from_ms);
        cw__sql_bind_int(&st, 3, q->to_ms);
        cw__sql_bind_int(&st, 4, q->step_ms);
    }
    while (!err && !(err = cw__sql_step(&st, &row, d)) && row) {
        /* the step's start, from the sample's time (last) or the step's index */
        int64_t x = cw__sql_int(&st, 0);
        int64_t t = q->from_ms +
                    (q->agg == CW_AGG_LAST ? (x - q->from_ms) / q->step_ms : x) * q->step_ms;
        if (cw__metric_point_add(rs, t, cw__sql_double(&st, 1), &cap))
            err = cw_fail(d, CW_ERR_NOMEM, "metrics: out of memory");
    }
    cw__sql_done(&st);
    return err;
}

static cw_err query_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    query_ctx *x = ctx;
    cw_metric_result_free(x->out);
    if (!cw__sql_text_ok(c, x->q->name))
        return CW_OK; /* nothing is stored under a name the database cannot hold */
    cw__metric_row *rows = NULL;
    int64_t *ids = NULL;
    size_t n = 0;
    cw_err err = load_series(c, x->q->name, &rows, &n, d);
    if (!err)
        err = cw__metric_select(x->q, rows, n, x->out, &ids, d);
    for (size_t i = 0; !err && i < x->out->nseries; i++)
        err = load_points(c, x->q, ids[i], &x->out->series[i], d);
    cw__metric_rows_free(rows, n);
    free(ids);
    return err;
}

static cw_err m_query(cw_store *s, const cw_metric_query *q, cw_metric_result *out, cw_diag *d)
{
    query_ctx x = {q, out};
    return cw__sql_tx(s, CW__SQL_READ, query_tx, &x, d);
}

typedef struct {
    cw_metric_name_info *v;
    size_t len, cap;
} names_ctx;

static cw_err names_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    names_ctx *x = ctx;
    cw__sql_stmt st;
    bool row = false;
    cw_err err = cw__sql_prepare(
        c,
        "SELECT name, count(*), min(f), max(l) FROM (SELECT s.name AS name,"
        " (SELECT min(t) FROM metric_samples WHERE series_id = s.id) AS f,"
        " (SELECT max(t) FROM metric_samples WHERE series_id = s.id) AS l"
        " FROM metric_series s) x GROUP BY name ORDER BY name",
        &st, d);
    while (!err && !(err = cw__sql_step(&st, &row, d)) && row) {
        if ((err = cw__grow((void **)&x->v, &x->cap, x->len, sizeof *x->v, d)))
            break;
        cw_metric_name_info *m = &x->v[x->len++];
        m->name = strdup(cw__sql_text(&st, 0));
        m->series = (size_t)cw__sql_int(&st, 1);
        m->first_ms = cw__sql_int(&st, 2);
        m->last_ms = cw__sql_int(&st, 3);
        if (!m->name)
            err = cw_fail(d, CW_ERR_NOMEM, "metrics: out of memory");
    }
    cw__sql_done(&st);
    return err;
}

static cw_err m_names(cw_store *s, cw_metric_name_info **out, size_t *n, cw_diag *d)
{
    names_ctx x = {0};
    cw_err err = cw__sql_tx(s, CW__SQL_READ_ONE, names_tx, &x, d);
    if (err) {
        cw_metric_names_free(x.v, x.len);
        return err;
    }
    *out = x.v;
    *n = x.len;
    return CW_OK;
}

typedef struct {
    const char *lo, *hi;
    cw_entity_time *v;
    size_t len, cap;
} times_ctx;

static cw_err times_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    times_ctx *x = ctx;
    if (!cw__sql_text_ok(c, x->lo))
        return CW_OK;
    cw__sql_stmt st;
    bool row = false;
    cw_err err = cw__sql_prepare(c,
                                 "SELECT key, created_at, updated_at FROM entities "
                                 "WHERE key >= ?1 AND key < ?2 ORDER BY key",
                                 &st, d);
    if (!err) {
        cw__sql_bind_text(&st, 1, x->lo);
        cw__sql_bind_text(&st, 2, x->hi);
    }
    while (!err && !(err = cw__sql_step(&st, &row, d)) && row) {
        if ((err = cw__grow((void **)&x->v, &x->cap, x->len, sizeof *x->v, d)))
            break;
        cw_entity_time *t = &x->v[x->len++];
        snprintf(t->key, sizeof t->key, "%s", cw__sql_text(&st, 0));
        t->created_ms = cw__sql_int(&st, 1) * 1000; /* stored in seconds */
        t->updated_ms = cw__sql_int(&st, 2) * 1000;
    }
    cw__sql_done(&st);
    return err;
}

static cw_err m_entity_times(cw_store *s, const char *kind_lc, cw_entity_time **out, size_t *n,
                             cw_diag *d)
{
    char lo[CW_NAME_MAX + 2], hi[CW_NAME_MAX + 2];
    snprintf(lo, sizeof lo, "%s:", kind_lc);
    snprintf(hi, sizeof hi, "%s;", kind_lc); /* ';' follows ':' */
    times_ctx x = {lo, hi, NULL, 0, 0};
    cw_err err = cw__sql_tx(s, CW__SQL_READ_ONE, times_tx, &x, d);
    if (err) {
        free(x.v);
        return err;
    }
    *out = x.v;
    *n = x.len;
    return CW_OK;
}

const struct cw_store_metric_ops cw__sql_metric_ops = {
    .put = m_put,
    .query = m_query,
    .names = m_names,
    .entity_times = m_entity_times,
};
