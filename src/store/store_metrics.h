/*
 * store_metrics.h — metric series and their samples (issue #16: KPIs), on
 * both backends (sql_metrics.c, on the statement layer), plus the creation
 * times of entities that goals need (a goal is time-bound when its deadline
 * was in the future when it was created).
 *
 * Storage: a series is (name, canonical labels JSON) with an id; a sample
 * is (series id, time, value) and nothing else, keyed by (series, time):
 * the same sample stored again replaces the value. Values are finite
 * doubles (events/metric.h drops the rest before they get here).
 *
 * Queries answer points, never raw samples: the window [from, to) is cut
 * into steps, and each point at t = from + k·step aggregates the samples
 * of [t, t + step) (last, avg, min, max, sum or count), computed by the
 * database. Steps without samples give no point. So an answer's size
 * follows from, to and step, not the number of samples, and is bounded:
 * more than max_points points in all is CW_ERR_TOO_LARGE naming the step.
 */
#ifndef CW_STORE_METRICS_H
#define CW_STORE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "events/metric.h"
#include "store/store.h"
#include "util/err.h"

#define CW_METRIC_MAX_SERIES_PER_NAME 1000  /* distinct label sets of one name */
#define CW_METRIC_MAX_POINTS 11000          /* points in one answer, as Prometheus */
#define CW_METRIC_DEFAULT_MAX_SERIES 100    /* series in one answer */

typedef struct {
    size_t samples;         /* stored (new or replacing an earlier value) */
    size_t series_new;      /* series seen for the first time */
} cw_metric_put_result;

/*
 * Stores a parsed batch in one transaction, all or nothing. A name that
 * would get more than CW_METRIC_MAX_SERIES_PER_NAME label sets is
 * CW_ERR_TOO_LARGE naming it (nothing stored). Durable on CW_OK.
 */
cw_err cw_store_metrics_put(cw_store *s, const cw_metric_batch *b, cw_metric_put_result *res,
                            cw_diag *d);

typedef struct {
    const char *name;
    const cw_metric_labels *match;  /* series having all these labels; NULL = all */
    int64_t from_ms, to_ms;         /* window [from, to), to > from */
    int64_t step_ms;                /* > 0 */
    cw_metric_agg agg;
    size_t max_series;              /* 0 = CW_METRIC_DEFAULT_MAX_SERIES */
    size_t max_points;              /* 0 = CW_METRIC_MAX_POINTS */
} cw_metric_query;

typedef struct {
    cw_metric_labels labels;
    char *labels_json;              /* canonical */
    cw_metric_point *points;        /* by time */
    size_t npoints;
} cw_metric_result_series;

typedef struct {
    cw_metric_result_series *series; /* by labels_json */
    size_t nseries;
    size_t series_total;            /* matching series, also those beyond max_series */
} cw_metric_result;

/* Points of every matching series (by labels). A name without series is
 * an empty answer, not an error. */
cw_err cw_store_metrics_query(cw_store *s, const cw_metric_query *q, cw_metric_result *out,
                              cw_diag *d);
void cw_metric_result_free(cw_metric_result *r);

typedef struct {
    char *name;
    size_t series;
    int64_t first_ms, last_ms;      /* times of the oldest and newest sample (0 when none) */
} cw_metric_name_info;

/* Every stored metric name with its number of series and the span of its
 * samples, by name (cost: the number of series, not of samples). */
cw_err cw_store_metrics_names(cw_store *s, cw_metric_name_info **out, size_t *n, cw_diag *d);
void cw_metric_names_free(cw_metric_name_info *v, size_t n);

/* ---- entity creation times ---------------------------------------------------------- */

typedef struct {
    char key[CW_REF_MAX];           /* lower-cased kind:namespace/name */
    int64_t created_ms, updated_ms;
} cw_entity_time;

/* When each entity of a kind (any case: "Goal") was first stored and last
 * changed, by key. */
cw_err cw_store_entity_times(cw_store *s, const char *kind, cw_entity_time **out, size_t *n,
                             cw_diag *d);

#endif
