/*
 * sqlite_metrics.c — metric series and samples in SQLite (store_metrics.h):
 * series in metric_series (name, canonical labels), samples in the
 * WITHOUT ROWID table metric_samples keyed by (series_id, t), so a
 * sample costs its three numbers and a step aggregate reads one range of
 * the primary key. Arguments arrive checked (store_metrics.c).
 */
#include "store/metrics_impl.h"
#include "store/sqlite_int.h"

#include <stdlib.h>
#include <string.h>

static cw_err step_done(cw__sqlite_conn *c, sqlite3_stmt *st, cw_diag *d, const char *what)
{
    int rc = sqlite3_step(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? CW_OK : cw__sqlite_fail(c, rc, d, what);
}

/* The id of series (name, labels), inserting it when new (within the
 * cardinality cap of its name). */
static cw_err series_id(cw__sqlite_conn *c, const cw_metric_series *ser, int64_t now,
                        int64_t *id, bool *created, cw_diag *d)
{
    sqlite3_stmt *st = NULL;
    *created = false;
    cw_err err = cw__sqlite_stmt(c, "SELECT id FROM metric_series WHERE name = ? AND labels = ?",
                                 &st, d);
    if (err)
        return err;
    cw__bind_text(st, 1, ser->name);
    cw__bind_text(st, 2, ser->labels_json);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        cw__sqlite_done(c, st);
        return CW_OK;
    }
    if (rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "metric series lookup");
    cw__sqlite_done(c, st);
    if (err)
        return err;
    if ((err = cw__sqlite_stmt(c, "SELECT count(*) FROM metric_series WHERE name = ?", &st, d)))
        return err;
    cw__bind_text(st, 1, ser->name);
    rc = sqlite3_step(st);
    int64_t count = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    if (rc != SQLITE_ROW)
        err = cw__sqlite_fail(c, rc, d, "metric series count");
    cw__sqlite_done(c, st);
    if (err)
        return err;
    if (count >= CW_METRIC_MAX_SERIES_PER_NAME)
        return cw_fail(d, CW_ERR_TOO_LARGE,
                       "metric '%.100s': more than %d label sets; drop a label whose values "
                       "keep changing (ids, timestamps)",
                       ser->name, CW_METRIC_MAX_SERIES_PER_NAME);
    if ((err = cw__sqlite_stmt(c,
                               "INSERT INTO metric_series (name, labels, created_ms) "
                               "VALUES (?, ?, ?) RETURNING id",
                               &st, d)))
        return err;
    cw__bind_text(st, 1, ser->name);
    cw__bind_text(st, 2, ser->labels_json);
    cw__bind_int64(st, 3, now);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        *created = true;
        rc = sqlite3_step(st);
    }
    if (rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "metric series insert");
    cw__sqlite_done(c, st);
    return err;
}

static cw_err m_put(cw_store *store, const cw_metric_batch *b, int64_t now,
                    cw_metric_put_result *res, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    int64_t *ids = malloc(b->nseries * sizeof *ids);
    if (!ids)
        return cw_fail(d, CW_ERR_NOMEM, "metrics: out of memory");
    cw__sqlite_conn *c;
    cw_err err = cw__sqlite_write_begin(s, &c, d);
    if (err) {
        free(ids);
        return err;
    }
    sqlite3_stmt *st = NULL;
    for (size_t i = 0; i < b->nseries && !err; i++) {
        bool created = false;
        err = series_id(c, &b->series[i], now, &ids[i], &created, d);
        res->series_new += created;
    }
    if (!err)
        err = cw__sqlite_stmt(c,
                              "INSERT INTO metric_samples (series_id, t, v) VALUES (?, ?, ?) "
                              "ON CONFLICT (series_id, t) DO UPDATE SET v = excluded.v",
                              &st, d);
    for (size_t i = 0; i < b->nsamples && !err; i++) {
        const cw_metric_sample *x = &b->samples[i];
        sqlite3_reset(st);
        cw__bind_int64(st, 1, ids[x->series]);
        cw__bind_int64(st, 2, x->time_ms);
        sqlite3_bind_double(st, 3, x->value);
        err = step_done(c, st, d, "metric sample insert");
    }
    cw__sqlite_done(c, st);
    free(ids);
    err = cw__sqlite_write_end(s, c, err, d);
    if (err)
        memset(res, 0, sizeof *res);
    else
        res->samples = b->nsamples;
    return err;
}

static cw_err load_series(cw__sqlite_conn *c, const char *name, cw__metric_row **out, size_t *n,
                          cw_diag *d)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    cw__metric_row *rows = NULL;
    size_t len = 0, cap = 0;
    cw_err err = cw__sqlite_stmt(c, "SELECT id, labels FROM metric_series WHERE name = ?", &st, d);
    if (err)
        return err;
    cw__bind_text(st, 1, name);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 16;
            cw__metric_row *p = realloc(rows, nc * sizeof *p);
            if (!p) {
                err = cw_fail(d, CW_ERR_NOMEM, "metrics: out of memory");
                break;
            }
            rows = p;
            cap = nc;
        }
        rows[len].id = sqlite3_column_int64(st, 0);
        rows[len].labels_json = strdup(cw__col_text(st, 1));
        if (!rows[len++].labels_json) {
            err = cw_fail(d, CW_ERR_NOMEM, "metrics: out of memory");
            break;
        }
    }
    if (!err && rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "metric series list");
    cw__sqlite_done(c, st);
    if (err) {
        cw__metric_rows_free(rows, len);
        return err;
    }
    *out = rows;
    *n = len;
    return CW_OK;
}

static cw_err load_points(cw__sqlite_conn *c, const cw_metric_query *q, int64_t id,
                          cw_metric_result_series *rs, cw_diag *d)
{
    char sql[512];
    if (q->agg == CW_AGG_LAST)
        snprintf(sql, sizeof sql,
                 "SELECT s.t, s.v FROM metric_samples s JOIN (SELECT max(t) AS mt FROM "
                 "metric_samples WHERE series_id = ?1 AND t >= ?2 AND t < ?3 GROUP BY (t - ?2) / ?4) m"
                 " ON s.t = m.mt WHERE s.series_id = ?1 ORDER BY s.t");
    else
        snprintf(sql, sizeof sql,
                 "SELECT (t - ?2) / ?4 AS b, %s FROM metric_samples "
                 "WHERE series_id = ?1 AND t >= ?2 AND t < ?3 GROUP BY b ORDER BY b",
                 cw__metric_agg_sql(q->agg));
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c, sql, &st, d);
    if (err)
        return err;
    cw__bind_int64(st, 1, id);
    cw__bind_int64(st, 2, q->from_ms);
    cw__bind_int64(st, 3, q->to_ms);
    cw__bind_int64(st, 4, q->step_ms);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        /* the step's start, from the sample's time (last) or the step's index */
        int64_t x = sqlite3_column_int64(st, 0);
        int64_t t = q->from_ms +
                    (q->agg == CW_AGG_LAST ? (x - q->from_ms) / q->step_ms : x) * q->step_ms;
        if (cw__metric_point_add(rs, t, sqlite3_column_double(st, 1), &cap)) {
            err = cw_fail(d, CW_ERR_NOMEM, "metrics: out of memory");
            break;
        }
    }
    if (!err && rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "metric points");
    cw__sqlite_done(c, st);
    return err;
}

static cw_err m_query(cw_store *store, const cw_metric_query *q, cw_metric_result *out,
                      cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    cw__metric_row *rows = NULL;
    size_t n = 0;
    int64_t *ids = NULL;
    cw_err err = cw__sqlite_read_begin(c, d);
    if (err)
        goto out;
    if ((err = load_series(c, q->name, &rows, &n, d)) ||
        (err = cw__metric_select(q, rows, n, out, &ids, d)))
        goto end;
    for (size_t i = 0; i < out->nseries && !err; i++)
        err = load_points(c, q, ids[i], &out->series[i], d);
end:
    cw__sqlite_read_end(c);
out:
    cw__sqlite_read_release(s, c);
    cw__metric_rows_free(rows, n);
    free(ids);
    return err;
}

static cw_err m_names(cw_store *store, cw_metric_name_info **out, size_t *n, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL;
    cw_metric_name_info *v = NULL;
    size_t len = 0, cap = 0;
    cw_err err = cw__sqlite_stmt(
        c,
        "SELECT name, count(*), min(f), max(l) FROM (SELECT s.name AS name,"
        " (SELECT min(t) FROM metric_samples WHERE series_id = s.id) AS f,"
        " (SELECT max(t) FROM metric_samples WHERE series_id = s.id) AS l"
        " FROM metric_series s) GROUP BY name ORDER BY name",
        &st, d);
    int rc = SQLITE_DONE;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 16;
            cw_metric_name_info *p = realloc(v, nc * sizeof *p);
            if (!p) {
                err = cw_fail(d, CW_ERR_NOMEM, "metrics: out of memory");
                break;
            }
            v = p;
            cap = nc;
        }
        cw_metric_name_info *x = &v[len];
        x->name = strdup(cw__col_text(st, 0));
        x->series = (size_t)sqlite3_column_int64(st, 1);
        x->first_ms = sqlite3_column_int64(st, 2);
        x->last_ms = sqlite3_column_int64(st, 3);
        len++;
        if (!x->name)
            err = cw_fail(d, CW_ERR_NOMEM, "metrics: out of memory");
    }
    if (!err && rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "metric names");
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
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
    cw_sqlite *s = cw__sqlite(store);
    char lo[CW_NAME_MAX + 2], hi[CW_NAME_MAX + 2];
    snprintf(lo, sizeof lo, "%s:", kind_lc);
    snprintf(hi, sizeof hi, "%s;", kind_lc); /* ';' follows ':' */
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL;
    cw_entity_time *v = NULL;
    size_t len = 0, cap = 0;
    cw_err err = cw__sqlite_stmt(c,
                                 "SELECT key, created_at, updated_at FROM entities "
                                 "WHERE key >= ? AND key < ? ORDER BY key",
                                 &st, d);
    int rc = SQLITE_DONE;
    if (!err) {
        cw__bind_text(st, 1, lo);
        cw__bind_text(st, 2, hi);
    }
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 16;
            cw_entity_time *p = realloc(v, nc * sizeof *p);
            if (!p) {
                err = cw_fail(d, CW_ERR_NOMEM, "entities: out of memory");
                break;
            }
            v = p;
            cap = nc;
        }
        snprintf(v[len].key, sizeof v[len].key, "%s", cw__col_text(st, 0));
        v[len].created_ms = sqlite3_column_int64(st, 1) * 1000; /* stored in seconds */
        v[len].updated_ms = sqlite3_column_int64(st, 2) * 1000;
        len++;
    }
    if (!err && rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "entity times");
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    if (err) {
        free(v);
        return err;
    }
    *out = v;
    *n = len;
    return CW_OK;
}

const struct cw_store_metric_ops cw__sqlite_metric_ops = {
    .put = m_put,
    .query = m_query,
    .names = m_names,
    .entity_times = m_entity_times,
};
