/*
 * dora_series.c — DORA figures per UTC day as metric points (see
 * dora_series.h). Deployments, failures and lead times come from the
 * result's daily rows; time to restore is grouped here by the day each
 * incident started, like the window rule of dora.h.
 */
#include "insights/dora_series.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/timeutil.h"

#define DAY_MS 86400000LL

const char *const cw_dora_series_names[CW_DORA_NSERIES] = {
    "conway_dora_deployments_per_day",
    "conway_dora_failed_deployments_per_day",
    "conway_dora_change_failure_rate",
    "conway_dora_lead_time_seconds",
    "conway_dora_time_to_restore_seconds",
};

const char *const cw_dora_series_help[CW_DORA_NSERIES] = {
    "Production deployments per UTC day.",
    "Failed production deployments per UTC day.",
    "Failed / all production deployments of the day (days with deployments).",
    "Median lead time for changes of the day's deployments, in seconds.",
    "Median time to restore of the incidents that started that day, in seconds.",
};

int cw_dora_series_find(const char *name)
{
    for (int i = 0; name && i < CW_DORA_NSERIES; i++)
        if (!strcmp(name, cw_dora_series_names[i]))
            return i;
    return -1;
}

typedef struct {
    int64_t day, ttr_ms;
} restore;

static int cmp_restore(const void *a, const void *b)
{
    const restore *x = a, *y = b;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    return x->ttr_ms < y->ttr_ms ? -1 : x->ttr_ms > y->ttr_ms;
}

/* Median time to restore per start day, for incidents started in the
 * window; appends to v. */
static cw_err ttr_points(const cw_dora_result *r, const cw_dora_input *in, cw_metric_point *v,
                         size_t *k)
{
    size_t n = 0;
    restore *rs = malloc((in->nincidents ? in->nincidents : 1) * sizeof *rs);
    int64_t *vals = malloc((in->nincidents ? in->nincidents : 1) * sizeof *vals);
    if (!rs || !vals) {
        free(rs);
        free(vals);
        return CW_ERR_NOMEM;
    }
    for (size_t i = 0; i < in->nincidents; i++) {
        const cw_dora_incident *x = &in->incidents[i];
        if (!x->start_ms || !x->resolved_ms || x->resolved_ms <= x->start_ms ||
            x->start_ms < r->from_ms || x->start_ms >= r->to_ms)
            continue;
        rs[n++] = (restore){cw_day_of_ms(x->start_ms), x->resolved_ms - x->start_ms};
    }
    qsort(rs, n, sizeof *rs, cmp_restore);
    for (size_t i = 0; i < n;) {
        size_t m = 0;
        size_t j = i;
        for (; j < n && rs[j].day == rs[i].day; j++)
            vals[m++] = rs[j].ttr_ms;
        v[(*k)++] = (cw_metric_point){rs[i].day * DAY_MS,
                                      (double)cw_percentile_nearest_rank(vals, m, 50) / 1000.0};
        i = j;
    }
    free(rs);
    free(vals);
    return CW_OK;
}

cw_err cw_dora_series_daily(const cw_dora_result *r, const cw_dora_input *in, int which,
                            cw_metric_point **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t cap = r->ndaily + (in ? in->nincidents : 0) + 1;
    cw_metric_point *v = malloc(cap * sizeof *v);
    if (!v)
        return CW_ERR_NOMEM;
    size_t k = 0;
    for (size_t i = 0; which != 4 && i < r->ndaily; i++) {
        const cw_dora_day *day = &r->daily[i];
        int64_t t = day->day * DAY_MS;
        switch (which) {
        case 0: v[k++] = (cw_metric_point){t, (double)day->deployments}; break;
        case 1: v[k++] = (cw_metric_point){t, (double)day->failed_deployments}; break;
        case 2:
            if (day->deployments)
                v[k++] = (cw_metric_point){t, (double)day->failed_deployments /
                                                  (double)day->deployments};
            break;
        case 3:
            if (!isnan(day->lead_time_p50_s))
                v[k++] = (cw_metric_point){t, day->lead_time_p50_s};
            break;
        default: break;
        }
    }
    if (which == 4 && in) {
        cw_err err = ttr_points(r, in, v, &k);
        if (err) {
            free(v);
            return err;
        }
    }
    if (!k) {
        free(v);
        return CW_OK;
    }
    *out = v;
    *n = k;
    return CW_OK;
}
