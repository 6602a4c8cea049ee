/*
 * postgres_metrics.c — metric series and samples in PostgreSQL
 * (store_metrics.h): the tables of sqlite_metrics.c; samples go in with
 * one INSERT … SELECT FROM unnest(…) per chunk, series are found or
 * created one by one (ON CONFLICT DO NOTHING, so two instances creating
 * the same series meet on the unique key). Queries run in one read-only
 * snapshot (cw__pg_read). Arguments arrive checked (store_metrics.c).
 */
#include "store/metrics_impl.h"
#include "store/postgres_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLE_CHUNK 5000

typedef struct {
    const cw_metric_batch *b;
    int64_t now;
    int64_t *ids;
    cw_metric_put_result *res;
} put_ctx;

static cw_err series_id(cw__pg_conn *c, const cw_metric_series *ser, int64_t now, int64_t *id,
                        bool *created, cw_diag *d)
{
    *created = false;
    const char *p[] = {ser->name, ser->labels_json, NULL};
    PGresult *r = NULL;
    cw_err err = cw__pg_exec(c, "SELECT id FROM metric_series WHERE name = $1 AND labels = $2", 2,
                             p, &r, d);
    if (!err && PQntuples(r) == 1) {
        *id = cw__pg_int(r, 0, 0);
        PQclear(r);
        return CW_OK;
    }
    PQclear(r);
    r = NULL;
    if (err)
        return err;
    if ((err = cw__pg_exec(c, "SELECT count(*) FROM metric_series WHERE name = $1", 1, p, &r, d)))
        return err;
    int64_t count = cw__pg_int(r, 0, 0);
    PQclear(r);
    r = NULL;
    if (count >= CW_METRIC_MAX_SERIES_PER_NAME)
        return cw_fail(d, CW_ERR_TOO_LARGE,
                       "metric '%.100s': more than %d label sets; drop a label whose values "
                       "keep changing (ids, timestamps)",
                       ser->name, CW_METRIC_MAX_SERIES_PER_NAME);
    char nb[24];
    p[2] = cw__pg_i64(nb, now);
    if ((err = cw__pg_exec(c,
                           "INSERT INTO metric_series (name, labels, created_ms) "
                           "VALUES ($1, $2, $3) ON CONFLICT (name, labels) DO NOTHING RETURNING id",
                           3, p, &r, d)))
        return err;
    if (PQntuples(r) == 1) {
        *id = cw__pg_int(r, 0, 0);
        *created = true;
        PQclear(r);
        return CW_OK;
    }
    PQclear(r);
    r = NULL;
    /* another transaction created it meanwhile (and has committed: ON
     * CONFLICT waited for it) */
    if ((err = cw__pg_exec(c, "SELECT id FROM metric_series WHERE name = $1 AND labels = $2", 2, p,
                           &r, d)))
        return err;
    if (PQntuples(r) == 1)
        *id = cw__pg_int(r, 0, 0);
    else
        err = cw_fail(d, CW_ERR_IO, "database: metric series vanished while being created");
    PQclear(r);
    return err;
}

static cw_err put_tx(cw__pg_conn *c, void *ctx, cw_diag *d)
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
    cw__pg_array ids, ts, vs;
    cw__pg_array_init(&ids);
    cw__pg_array_init(&ts);
    cw__pg_array_init(&vs);
    for (size_t at = 0; at < b->nsamples && !err; at += SAMPLE_CHUNK) {
        cw__pg_array_reset(&ids);
        cw__pg_array_reset(&ts);
        cw__pg_array_reset(&vs);
        size_t end = at + SAMPLE_CHUNK < b->nsamples ? at + SAMPLE_CHUNK : b->nsamples;
        for (size_t i = at; i < end && !err; i++) {
            char num[40];
            snprintf(num, sizeof num, "%.17g", b->samples[i].value);
            if (cw__pg_array_add_i64(&ids, x->ids[b->samples[i].series]) ||
                cw__pg_array_add_i64(&ts, b->samples[i].time_ms) || cw__pg_array_add(&vs, num))
                err = cw_fail(d, CW_ERR_NOMEM, "metrics: out of memory");
        }
        const char *p[] = {cw__pg_array_text(&ids), cw__pg_array_text(&ts),
                           cw__pg_array_text(&vs)};
        if (!err && (!p[0] || !p[1] || !p[2]))
            err = cw_fail(d, CW_ERR_NOMEM, "metrics: out of memory");
        if (!err)
            err = cw__pg_exec(c,
                              "INSERT INTO metric_samples (series_id, t, v) SELECT * FROM "
                              "unnest($1::bigint[], $2::bigint[], $3::float8[]) "
                              "ON CONFLICT (series_id, t) DO UPDATE SET v = excluded.v",
                              3, p, NULL, d);
    }
    cw__pg_array_free(&ids);
    cw__pg_array_free(&ts);
    cw__pg_array_free(&vs);
    if (!err)
        x->res->samples = b->nsamples;
    return err;
}

static cw_err m_put(cw_store *store, const cw_metric_batch *b, int64_t now,
                    cw_metric_put_result *res, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    if (s->read_only)
        return cw_fail(d, CW_ERR_UNSUPPORTED, "database: opened read-only");
    put_ctx x = {b, now, malloc(b->nseries * sizeof(int64_t)), res};
    if (!x.ids)
        return cw_fail(d, CW_ERR_NOMEM, "metrics: out of memory");
    cw_err err = cw__pg_write(s, put_tx, &x, d);
    free(x.ids);
    if (err)
        memset(res, 0, sizeof *res);
    return err;
}

typedef struct {
    const cw_metric_query *q;
    cw_metric_result *out;
} query_ctx;

static cw_err load_points(cw__pg_conn *c, const cw_metric_query *q, int64_t id,
                          cw_metric_result_series *rs, cw_diag *d)
{
    char sql[512];
    if (q->agg == CW_AGG_LAST)
        snprintf(sql, sizeof sql,
                 "SELECT s.t, s.v FROM metric_samples s JOIN (SELECT max(t) AS mt FROM "
                 "metric_samples WHERE series_id = $1 AND t >= $2 AND t < $3 GROUP BY "
                 "(t - $2::bigint) / $4::bigint) m ON s.t = m.mt WHERE s.series_id = $1 "
                 "ORDER BY s.t");
    else
        snprintf(sql, sizeof sql,
                 "SELECT (t - $2::bigint) / $4::bigint AS b, %s FROM metric_samples "
                 "WHERE series_id = $1 AND t >= $2 AND t < $3 GROUP BY b ORDER BY b",
                 cw__metric_agg_sql(q->agg));
    char b1[24], b2[24], b3[24], b4[24];
    const char *p[] = {cw__pg_i64(b1, id), cw__pg_i64(b2, q->from_ms), cw__pg_i64(b3, q->to_ms),
                       cw__pg_i64(b4, q->step_ms)};
    PGresult *r = NULL;
    cw_err err = cw__pg_exec(c, sql, 4, p, &r, d);
    size_t cap = 0;
    for (int i = 0; !err && i < PQntuples(r); i++) {
        int64_t x = cw__pg_int(r, i, 0);
        int64_t t = q->from_ms +
                    (q->agg == CW_AGG_LAST ? (x - q->from_ms) / q->step_ms : x) * q->step_ms;
        if (cw__metric_point_add(rs, t, strtod(cw__pg_text(r, i, 1), NULL), &cap))
            err = cw_fail(d, CW_ERR_NOMEM, "metrics: out of memory");
    }
    PQclear(r);
    return err;
}

static cw_err query_tx(cw__pg_conn *c, void *ctx, cw_diag *d)
{
    query_ctx *x = ctx;
    cw_metric_result_free(x->out);
    const char *p[] = {x->q->name};
    PGresult *r = NULL;
    cw__metric_row *rows = NULL;
    int64_t *ids = NULL;
    size_t n = 0;
    cw_err err = cw__pg_exec(c, "SELECT id, labels FROM metric_series WHERE name = $1", 1, p, &r,
                             d);
    if (!err) {
        n = (size_t)PQntuples(r);
        rows = calloc(n ? n : 1, sizeof *rows);
        if (!rows)
            err = cw_fail(d, CW_ERR_NOMEM, "metrics: out of memory");
        for (size_t i = 0; !err && i < n; i++) {
            rows[i].id = cw__pg_int(r, (int)i, 0);
            rows[i].labels_json = strdup(cw__pg_text(r, (int)i, 1));
            if (!rows[i].labels_json)
                err = cw_fail(d, CW_ERR_NOMEM, "metrics: out of memory");
        }
    }
    PQclear(r);
    if (!err)
        err = cw__metric_select(x->q, rows, n, x->out, &ids, d);
    for (size_t i = 0; !err && i < x->out->nseries; i++)
        err = load_points(c, x->q, ids[i], &x->out->series[i], d);
    cw__metric_rows_free(rows, n);
    free(ids);
    return err;
}

static cw_err m_query(cw_store *store, const cw_metric_query *q, cw_metric_result *out,
                      cw_diag *d)
{
    if (!cw__pg_utf8(q->name))
        return CW_OK; /* nothing stored under a name that is not UTF-8 */
    query_ctx x = {q, out};
    return cw__pg_read(cw__pg(store), query_tx, &x, d);
}

static cw_err m_names(cw_store *store, cw_metric_name_info **out, size_t *n, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    cw__pg_conn *c = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (err)
        return err;
    PGresult *r = NULL;
    err = cw__pg_exec(c,
                      "SELECT name, count(*), min(f), max(l) FROM (SELECT s.name AS name,"
                      " (SELECT min(t) FROM metric_samples WHERE series_id = s.id) AS f,"
                      " (SELECT max(t) FROM metric_samples WHERE series_id = s.id) AS l"
                      " FROM metric_series s) x GROUP BY name ORDER BY name",
                      0, NULL, &r, d);
    cw_metric_name_info *v = NULL;
    size_t len = 0;
    if (!err) {
        size_t rows = (size_t)PQntuples(r);
        v = calloc(rows ? rows : 1, sizeof *v);
        if (!v)
            err = cw_fail(d, CW_ERR_NOMEM, "metrics: out of memory");
        for (size_t i = 0; !err && i < rows; i++, len++) {
            v[i].name = strdup(cw__pg_text(r, (int)i, 0));
            v[i].series = (size_t)cw__pg_int(r, (int)i, 1);
            v[i].first_ms = cw__pg_int(r, (int)i, 2);
            v[i].last_ms = cw__pg_int(r, (int)i, 3);
            if (!v[i].name)
                err = cw_fail(d, CW_ERR_NOMEM, "metrics: out of memory");
        }
    }
    PQclear(r);
    cw__pg_release(s, c);
    if (err) {
        cw_metric_names_free(v, len);
        return err;
    }
    *out = v;
    *n = len;
    return CW_OK;
}

static cw_err m_entity_times(cw_store *store, const char *kind_lc, cw_entity_time **out,
                             size_t *n, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    char lo[CW_NAME_MAX + 2], hi[CW_NAME_MAX + 2];
    snprintf(lo, sizeof lo, "%s:", kind_lc);
    snprintf(hi, sizeof hi, "%s;", kind_lc); /* ';' follows ':' */
    if (!cw__pg_utf8(lo))
        return CW_OK;
    cw__pg_conn *c = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (err)
        return err;
    const char *p[] = {lo, hi};
    PGresult *r = NULL;
    err = cw__pg_exec(c,
                      "SELECT key, created_at, updated_at FROM entities "
                      "WHERE key >= $1 AND key < $2 ORDER BY key",
                      2, p, &r, d);
    cw_entity_time *v = NULL;
    size_t len = 0;
    if (!err) {
        len = (size_t)PQntuples(r);
        v = calloc(len ? len : 1, sizeof *v);
        if (!v)
            err = cw_fail(d, CW_ERR_NOMEM, "entities: out of memory");
        for (size_t i = 0; !err && i < len; i++) {
            snprintf(v[i].key, sizeof v[i].key, "%s", cw__pg_text(r, (int)i, 0));
            v[i].created_ms = cw__pg_int(r, (int)i, 1) * 1000; /* stored in seconds */
            v[i].updated_ms = cw__pg_int(r, (int)i, 2) * 1000;
        }
    }
    PQclear(r);
    cw__pg_release(s, c);
    if (err) {
        free(v);
        return err;
    }
    *out = v;
    *n = len;
    return CW_OK;
}

const struct cw_store_metric_ops cw__pg_metric_ops = {
    .put = m_put,
    .query = m_query,
    .names = m_names,
    .entity_times = m_entity_times,
};
