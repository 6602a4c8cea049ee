/*
 * store_metrics.c — the public functions of store_metrics.h: arguments
 * checked once for every backend, dispatch through the vtable; and the
 * backend-neutral half of metrics_impl.h.
 */
#include "store/metrics_impl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/timeutil.h"

const char *cw__metric_agg_sql(cw_metric_agg a)
{
    switch (a) {
    case CW_AGG_AVG: return "avg(v)";
    case CW_AGG_MIN: return "min(v)";
    case CW_AGG_MAX: return "max(v)";
    case CW_AGG_SUM: return "sum(v)";
    case CW_AGG_COUNT: return "count(*)";
    case CW_AGG_LAST: break;
    }
    return "max(v)";
}

cw_err cw_store_metrics_put(cw_store *s, const cw_metric_batch *b, cw_metric_put_result *res,
                            cw_diag *d)
{
    const struct cw_store_metric_ops *ops;
    STORE_OPS(s, metrics, ops, d);
    cw_metric_put_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    if (!b)
        return cw_fail(d, CW_ERR_INVALID, "metrics: no batch");
    if (!b->nsamples)
        return CW_OK;
    return ops->put(s, b, cw_now_ms(), res, d);
}

cw_err cw_store_metrics_query(cw_store *s, const cw_metric_query *q, cw_metric_result *out,
                              cw_diag *d)
{
    const struct cw_store_metric_ops *ops;
    STORE_OPS(s, metrics, ops, d);
    memset(out, 0, sizeof *out);
    if (!q || !q->name || !cw_metric_name_valid(q->name, strlen(q->name)))
        return cw_fail(d, CW_ERR_INVALID, "name: not a metric name");
    if (q->to_ms <= q->from_ms)
        return cw_fail(d, CW_ERR_INVALID, "to: must be later than from");
    if (q->step_ms <= 0)
        return cw_fail(d, CW_ERR_INVALID, "step: must be positive");
    cw_metric_query qq = *q;
    if (!qq.max_series)
        qq.max_series = CW_METRIC_DEFAULT_MAX_SERIES;
    if (!qq.max_points)
        qq.max_points = CW_METRIC_MAX_POINTS;
    if (cw__metric_steps(&qq) > (int64_t)qq.max_points)
        return cw_fail(d, CW_ERR_TOO_LARGE,
                       "step: %lld steps from 'from' to 'to'; at most %zu points are answered, "
                       "choose a larger step",
                       (long long)cw__metric_steps(&qq), qq.max_points);
    cw_err err = ops->query(s, &qq, out, d);
    if (err)
        cw_metric_result_free(out);
    return err;
}

void cw_metric_result_free(cw_metric_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nseries; i++) {
        cw_metric_labels_free(&r->series[i].labels);
        free(r->series[i].labels_json);
        free(r->series[i].points);
    }
    free(r->series);
    memset(r, 0, sizeof *r);
}

cw_err cw_store_metrics_names(cw_store *s, cw_metric_name_info **out, size_t *n, cw_diag *d)
{
    const struct cw_store_metric_ops *ops;
    STORE_OPS(s, metrics, ops, d);
    *out = NULL;
    *n = 0;
    return ops->names(s, out, n, d);
}

void cw_metric_names_free(cw_metric_name_info *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i].name);
    free(v);
}

cw_err cw_store_entity_times(cw_store *s, const char *kind, cw_entity_time **out, size_t *n,
                             cw_diag *d)
{
    const struct cw_store_metric_ops *ops;
    STORE_OPS(s, metrics, ops, d);
    *out = NULL;
    *n = 0;
    char lc[CW_NAME_MAX + 1];
    size_t len = kind ? strlen(kind) : 0;
    if (!len || len > CW_NAME_MAX)
        return cw_fail(d, CW_ERR_INVALID, "kind: not a kind");
    for (size_t i = 0; i <= len; i++)
        lc[i] = (char)tolower((unsigned char)kind[i]);
    return ops->entity_times(s, lc, out, n, d);
}

/* ---- backend-neutral half --------------------------------------------------------- */

void cw__metric_rows_free(cw__metric_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        free(rows[i].labels_json);
    free(rows);
}

int64_t cw__metric_steps(const cw_metric_query *q)
{
    return (q->to_ms - q->from_ms + q->step_ms - 1) / q->step_ms;
}

static int cmp_row(const void *a, const void *b)
{
    return strcmp(((const cw__metric_row *)a)->labels_json, ((const cw__metric_row *)b)->labels_json);
}

cw_err cw__metric_select(const cw_metric_query *q, cw__metric_row *rows, size_t n,
                         cw_metric_result *out, int64_t **ids, cw_diag *d)
{
    *ids = NULL;
    if (n > 1)
        qsort(rows, n, sizeof *rows, cmp_row);
    cw_metric_result_series *series = calloc(n ? n : 1, sizeof *series);
    int64_t *idv = calloc(n ? n : 1, sizeof *idv);
    if (!series || !idv) {
        free(series);
        free(idv);
        return cw_fail(d, CW_ERR_NOMEM, "metrics: out of memory");
    }
    out->series = series;
    cw_err err = CW_OK;
    for (size_t i = 0; i < n && !err; i++) {
        cw_metric_labels l = {0};
        if (cw_metric_labels_from_text(rows[i].labels_json, &l, d)) {
            err = cw_fail(d, CW_ERR_IO, "metrics: stored labels of series %lld do not parse",
                          (long long)rows[i].id);
            break;
        }
        if (q->match && !cw_metric_labels_match(&l, q->match)) {
            cw_metric_labels_free(&l);
            continue;
        }
        out->series_total++;
        if (out->nseries >= q->max_series) {
            cw_metric_labels_free(&l);
            continue;
        }
        cw_metric_result_series *rs = &series[out->nseries];
        rs->labels = l;
        rs->labels_json = rows[i].labels_json; /* taken from the row */
        rows[i].labels_json = NULL;
        idv[out->nseries++] = rows[i].id;
    }
    if (!err && (int64_t)out->nseries * cw__metric_steps(q) > (int64_t)q->max_points)
        err = cw_fail(d, CW_ERR_TOO_LARGE,
                      "step: %zu series of %lld steps each is more than the %zu points answered; "
                      "choose a larger step or narrower labels",
                      out->nseries, (long long)cw__metric_steps(q), q->max_points);
    if (err) {
        free(idv);
        return err;
    }
    *ids = idv;
    return CW_OK;
}

cw_err cw__metric_point_add(cw_metric_result_series *rs, int64_t t, double v, size_t *cap)
{
    if (rs->npoints == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        cw_metric_point *p = realloc(rs->points, nc * sizeof *p);
        if (!p)
            return CW_ERR_NOMEM;
        rs->points = p;
        *cap = nc;
    }
    rs->points[rs->npoints++] = (cw_metric_point){t, v};
    return CW_OK;
}
