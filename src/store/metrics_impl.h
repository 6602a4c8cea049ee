/*
 * metrics_impl.h — the operations behind store_metrics.h (sql_metrics.c,
 * both backends), and the logic they use (store_metrics.c): choosing the matching series, the point
 * budget, and the SQL text of the step aggregates.
 */
#ifndef CW_STORE_METRICS_IMPL_H
#define CW_STORE_METRICS_IMPL_H

#include "store/store_impl.h"
#include "store/store_metrics.h"

struct cw_store_metric_ops {
    /* b is parsed and finished (metric.h); arguments checked by the caller. */
    cw_err (*put)(cw_store *s, const cw_metric_batch *b, int64_t now_ms,
                  cw_metric_put_result *res, cw_diag *d);
    /* q checked (window, step, limits defaulted). */
    cw_err (*query)(cw_store *s, const cw_metric_query *q, cw_metric_result *out, cw_diag *d);
    cw_err (*names)(cw_store *s, cw_metric_name_info **out, size_t *n, cw_diag *d);
    /* kind_lc lower-cased */
    cw_err (*entity_times)(cw_store *s, const char *kind_lc, cw_entity_time **out, size_t *n,
                           cw_diag *d);
};

/* Both backends' ops, on the statement layer (sql_metrics.c). */
extern const struct cw_store_metric_ops cw__sql_metric_ops;

/* One stored series of the queried name. */
typedef struct {
    int64_t id;
    char *labels_json;        /* owned */
} cw__metric_row;

void cw__metric_rows_free(cw__metric_row *rows, size_t n);

/*
 * From the stored series of q->name (any order), builds out->series: the
 * matching ones by labels_json, at most q->max_series (out->series_total
 * counts them all), ids[i] the store id of out->series[i] (ids owned by the
 * caller, free()). CW_ERR_TOO_LARGE when the points of the kept series
 * could exceed q->max_points (d names the step); CW_ERR_IO for stored
 * labels that do not parse.
 */
cw_err cw__metric_select(const cw_metric_query *q, cw__metric_row *rows, size_t n,
                         cw_metric_result *out, int64_t **ids, cw_diag *d);

/* Steps of the window: ceil((to - from) / step). */
int64_t cw__metric_steps(const cw_metric_query *q);

/* Appends a point to series (NOMEM: unchanged). */
cw_err cw__metric_point_add(cw_metric_result_series *rs, int64_t t, double v, size_t *cap);

/* The aggregate function of a non-last query ("avg(v)", …, "count(*)"). */
const char *cw__metric_agg_sql(cw_metric_agg a);

#endif
