/*
 * dora.c — DORA metrics over plain arrays (rules in dora.h and docs/dora.md).
 * One sort of each input, then linear passes and binary searches.
 */
#include "insights/dora.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "insights/insights_int.h"
#include "util/timeutil.h"

#define DAY_MS 86400000LL
#define HOUR_S 3600.0
#define DAY_S 86400.0

/* ---- levels --------------------------------------------------------------- */

/*
 * Thresholds of the 2024 Accelerate State of DevOps Report (DORA, Google
 * Cloud), performance clusters elite/high/medium/low, as summarised in
 * standards.md §3.2 (OctopusDeploy blog, 2024-10-23). Each metric gets the
 * best cluster whose published value it meets:
 * - deployment frequency: elite "on demand (multiple deploys per day)" = more
 *   than 1/day; high "between once per day and once per week" = >= 1/7 per
 *   day; medium "between once per week and once per month" = >= 1/30 per day;
 *   else low.
 * - lead time (p50): elite < 1 day; high < 1 week; medium < 1 month (30 d);
 *   else low ("1 – 6 months").
 * - change failure rate: elite <= 5 %; high <= 20 %; else low (40 %). The
 *   2024 medium cluster's rate (10 %) is lower than high's (20 %), so any
 *   rate that meets medium also meets high: medium is never the best.
 * - time to restore (p50): elite < 1 hour; high < 1 day; else low. Medium
 *   publishes the same "less than one day" as high, so it is never the best.
 */
cw_dora_level cw_dora_level_deployment_frequency(double per_day)
{
    if (isnan(per_day))
        return CW_DORA_LEVEL_NONE;
    if (per_day > 1.0)
        return CW_DORA_LEVEL_ELITE;
    if (per_day >= 1.0 / 7.0)
        return CW_DORA_LEVEL_HIGH;
    if (per_day >= 1.0 / 30.0)
        return CW_DORA_LEVEL_MEDIUM;
    return CW_DORA_LEVEL_LOW;
}

cw_dora_level cw_dora_level_lead_time(double s)
{
    if (isnan(s))
        return CW_DORA_LEVEL_NONE;
    if (s < DAY_S)
        return CW_DORA_LEVEL_ELITE;
    if (s < 7 * DAY_S)
        return CW_DORA_LEVEL_HIGH;
    if (s < 30 * DAY_S)
        return CW_DORA_LEVEL_MEDIUM;
    return CW_DORA_LEVEL_LOW;
}

cw_dora_level cw_dora_level_change_failure_rate(double rate)
{
    if (isnan(rate))
        return CW_DORA_LEVEL_NONE;
    /* Compared in whole basis points so 0.05 and 0.2 are met exactly. */
    double bp = round(rate * 10000.0);
    if (bp <= 500)
        return CW_DORA_LEVEL_ELITE;
    if (bp <= 2000)
        return CW_DORA_LEVEL_HIGH;
    return CW_DORA_LEVEL_LOW;
}

cw_dora_level cw_dora_level_time_to_restore(double s)
{
    if (isnan(s))
        return CW_DORA_LEVEL_NONE;
    if (s < HOUR_S)
        return CW_DORA_LEVEL_ELITE;
    if (s < DAY_S)
        return CW_DORA_LEVEL_HIGH;
    return CW_DORA_LEVEL_LOW;
}

const char *cw_dora_level_name(cw_dora_level l)
{
    switch (l) {
    case CW_DORA_LEVEL_ELITE: return "elite";
    case CW_DORA_LEVEL_HIGH: return "high";
    case CW_DORA_LEVEL_MEDIUM: return "medium";
    case CW_DORA_LEVEL_LOW: return "low";
    case CW_DORA_LEVEL_NONE: break;
    }
    return NULL;
}

int64_t cw_percentile_nearest_rank(const int64_t *sorted, size_t n, int pct)
{
    size_t rank = ((size_t)pct * n + 99) / 100;
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

/* ---- computation ---------------------------------------------------------- */

/* Last position in [lo, hi) whose time <= t, or -1; times ascending. */
static long last_at_or_before(const cw_dora_input *in, const uint32_t *order, size_t lo, size_t hi,
                              int64_t t)
{
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (in->deployments[order[mid]].time_ms <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (long)lo - 1;
}

static long last_keyed_at_or_before(const cw__sort_key *k, size_t lo, size_t hi, int64_t t)
{
    size_t first = lo;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (k[mid].time <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == first ? -1 : (long)lo - 1;
}

static double pctl_s(const int64_t *sorted, size_t n, int pct)
{
    return n ? (double)cw_percentile_nearest_rank(sorted, n, pct) / 1000.0 : NAN;
}

/* Marks deployments followed by a rollback before their next deployment. */
static cw_err mark_rollbacks(const cw_dora_input *in, const cw__dep_index *ix, bool *failed,
                             cw_diag *d)
{
    size_t nr = in->nrollbacks, nc = in->ncomponents;
    cw__sort_key *rb = malloc((nr ? nr : 1) * sizeof *rb);
    size_t *rstart = calloc(nc + 1, sizeof *rstart);
    cw_err err = CW_OK;
    if (!rb || !rstart) {
        err = CW_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < nr; i++) {
        int32_t c = in->rollbacks[i].component;
        if (c < 0 || (size_t)c >= nc) {
            err = cw_fail(d, CW_ERR_INVALID, "rollbacks[%zu].component: %d out of range", i, (int)c);
            goto out;
        }
        rb[i] = (cw__sort_key){c, (uint32_t)i, in->rollbacks[i].time_ms};
        rstart[c + 1]++;
    }
    if ((err = cw__sort_keys(rb, nr, nc)))
        goto out;
    for (size_t c = 0; c < nc; c++)
        rstart[c + 1] += rstart[c];
    for (size_t c = 0; c < nc; c++) {
        size_t rp = rstart[c], rend = rstart[c + 1];
        size_t end = ix->comp_start[c + 1];
        for (size_t pos = ix->comp_start[c]; pos < end && rp < rend; pos++) {
            int64_t t = in->deployments[ix->order[pos]].time_ms;
            int64_t next = pos + 1 < end ? in->deployments[ix->order[pos + 1]].time_ms : INT64_MAX;
            while (rp < rend && rb[rp].time < t)
                rp++;
            if (rp < rend && rb[rp].time < next)
                failed[ix->order[pos]] = true;
        }
    }
out:
    free(rb);
    free(rstart);
    return err;
}

/*
 * The deployment each incident failed (the DORA failure rule, docs/dora.md):
 * the one whose artifact it names (the latest deployment of that artifact at
 * or before the incident started, else that artifact's earliest), else the
 * component's latest deployment at or before the start when it is at most
 * window_ms earlier. cause[i] is a deployment input index or -1. Used both
 * by the change failure rate and by the incident page's "likely cause", so
 * the two can never disagree.
 */
static cw_err incident_causes(const cw_dora_input *in, const cw__dep_index *ix, int64_t window_ms,
                              long *cause, cw_diag *d)
{
    cw_err err = CW_OK;
    cw__strmap arts = {0};
    cw__sort_key *byart = NULL;
    size_t *gstart = NULL, nk = 0;
    bool named = false;
    for (size_t i = 0; i < in->nincidents; i++) {
        int32_t c = in->incidents[i].component;
        if (c < -1 || (c >= 0 && (size_t)c >= in->ncomponents))
            return cw_fail(d, CW_ERR_INVALID, "incidents[%zu].component: %d out of range", i, (int)c);
        named |= in->incidents[i].artifact_id != NULL;
        cause[i] = -1;
    }
    if (named) {
        /* Deployments grouped by artifact, each group in time order. */
        if ((err = cw__strmap_init(&arts, in->ndeployments / 4 + 16)))
            goto out;
        byart = malloc((in->ndeployments ? in->ndeployments : 1) * sizeof *byart);
        if (!byart) {
            err = CW_ERR_NOMEM;
            goto out;
        }
        for (size_t k = 0; k < in->ndeployments; k++) {
            const char *a = in->deployments[k].artifact_id;
            uint32_t g;
            if (!a)
                continue;
            if ((err = cw__strmap_intern(&arts, a, &g)))
                goto out;
            byart[nk++] = (cw__sort_key){(int32_t)g, (uint32_t)k, in->deployments[k].time_ms};
        }
        if ((err = cw__sort_keys(byart, nk, arts.len)))
            goto out;
        gstart = calloc(arts.len + 1, sizeof *gstart);
        if (!gstart) {
            err = CW_ERR_NOMEM;
            goto out;
        }
        for (size_t i = 0; i < nk; i++)
            gstart[byart[i].key + 1]++;
        for (size_t g = 0; g < arts.len; g++)
            gstart[g + 1] += gstart[g];
    }
    for (size_t i = 0; i < in->nincidents; i++) {
        const cw_dora_incident *inc = &in->incidents[i];
        long g = inc->artifact_id && gstart ? cw__strmap_find(&arts, inc->artifact_id) : -1;
        if (g >= 0) {
            long pos = last_keyed_at_or_before(byart, gstart[g], gstart[g + 1], inc->start_ms);
            cause[i] = (long)byart[pos >= 0 ? (size_t)pos : gstart[g]].idx;
            continue;
        }
        if (inc->component < 0 || inc->start_ms == 0)
            continue;
        size_t lo = ix->comp_start[inc->component], hi = ix->comp_start[inc->component + 1];
        long pos = last_at_or_before(in, ix->order, lo, hi, inc->start_ms);
        if (pos < (long)lo)
            continue;
        size_t k = ix->order[pos];
        if (inc->start_ms - in->deployments[k].time_ms <= window_ms)
            cause[i] = (long)k;
    }
out:
    cw__strmap_free(&arts);
    free(byart);
    free(gstart);
    return err;
}

/* Marks deployments failed by incidents (by artifact, else by time window). */
static cw_err mark_incidents(const cw_dora_input *in, const cw__dep_index *ix, int64_t window_ms,
                             bool *failed, cw_diag *d)
{
    long *cause = malloc((in->nincidents ? in->nincidents : 1) * sizeof *cause);
    if (!cause)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory computing DORA metrics");
    cw_err err = incident_causes(in, ix, window_ms, cause, d);
    for (size_t i = 0; !err && i < in->nincidents; i++)
        if (cause[i] >= 0)
            failed[cause[i]] = true;
    free(cause);
    return err;
}

cw_err cw_dora_incident_causes(const cw_dora_input *in, int failure_window_hours, long *cause,
                               cw_diag *d)
{
    if (failure_window_hours < 0)
        return cw_fail(d, CW_ERR_INVALID, "failureWindowHours: must not be negative");
    cw__dep_index ix = {0};
    cw_err err = cw__dep_index_build(in, &ix, d);
    if (!err)
        err = incident_causes(in, &ix, (int64_t)failure_window_hours * 3600000LL, cause, d);
    cw__dep_index_free(&ix);
    return err;
}

void cw_dora_result_free(cw_dora_result *r)
{
    if (!r)
        return;
    free(r->daily);
    memset(r, 0, sizeof *r);
}

cw_err cw_dora_compute(const cw_dora_input *in, const cw_dora_params *p, cw_dora_result *out,
                       cw_diag *d)
{
    cw_err err = CW_OK;
    cw__dep_index ix = {0};
    bool *failed = NULL;
    int64_t *att = NULL, *values = NULL;
    cw__sort_key *per_day = NULL;
    memset(out, 0, sizeof *out);
    if (p->to_ms <= p->from_ms)
        return cw_fail(d, CW_ERR_INVALID, "to: must be after from");
    int64_t first_day = cw_day_of_ms(p->from_ms), last_day = cw_day_of_ms(p->to_ms - 1);
    if (last_day - first_day + 1 > CW_DORA_MAX_DAYS)
        return cw_fail(d, CW_ERR_INVALID, "to: window longer than %d days", CW_DORA_MAX_DAYS);
    if (p->failure_window_hours < 0)
        return cw_fail(d, CW_ERR_INVALID, "failureWindowHours: must not be negative");

    out->from_ms = p->from_ms;
    out->to_ms = p->to_ms;
    out->ndaily = (size_t)(last_day - first_day + 1);
    out->daily = calloc(out->ndaily, sizeof *out->daily);
    failed = calloc(in->ndeployments ? in->ndeployments : 1, sizeof *failed);
    if (!out->daily || !failed) {
        err = CW_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < out->ndaily; i++) {
        out->daily[i].day = first_day + (int64_t)i;
        cw_day_format(out->daily[i].day, out->daily[i].date);
        out->daily[i].lead_time_p50_s = NAN;
    }
    if ((err = cw__dep_index_build(in, &ix, d)) || (err = mark_rollbacks(in, &ix, failed, d)) ||
        (err = mark_incidents(in, &ix, (int64_t)p->failure_window_hours * 3600000LL, failed, d)))
        goto out;

    /* Deployments in the window. */
    for (size_t k = 0; k < in->ndeployments; k++) {
        int64_t t = in->deployments[k].time_ms;
        if (t < p->from_ms || t >= p->to_ms)
            continue;
        cw_dora_day *day = &out->daily[cw_day_of_ms(t) - first_day];
        if (day->deployments++ == 0)
            out->deployment_days++;
        out->deployments++;
        if (failed[k]) {
            day->failed_deployments++;
            out->failed_deployments++;
        }
    }
    double days = (double)(p->to_ms - p->from_ms) / (double)DAY_MS;
    out->deployment_frequency_per_day = (double)out->deployments / days;
    out->change_failure_rate =
        out->deployments ? (double)out->failed_deployments / (double)out->deployments : NAN;

    /* Lead times of the changes first deployed in the window. */
    if ((err = cw__attribute_changes(in, &ix, &att, d)))
        goto out;
    size_t nvals = in->nchanges > in->nincidents ? in->nchanges : in->nincidents;
    values = malloc((nvals ? nvals : 1) * sizeof *values);
    per_day = malloc((in->nchanges ? in->nchanges : 1) * sizeof *per_day);
    if (!values || !per_day) {
        err = CW_ERR_NOMEM;
        goto out;
    }
    size_t nlt = 0;
    for (size_t c = 0; c < in->nchanges; c++) {
        if (att[c] < 0)
            continue;
        int64_t t = in->deployments[att[c]].time_ms;
        if (t < p->from_ms || t >= p->to_ms)
            continue;
        const cw_dora_change *ch = &in->changes[c];
        int64_t start = ch->created_ms ? ch->created_ms : ch->merged_ms;
        if (start == 0 || t - start <= 0)
            continue;
        per_day[nlt] = (cw__sort_key){(int32_t)(cw_day_of_ms(t) - first_day), (uint32_t)c, t - start};
        values[nlt++] = t - start;
    }
    if ((err = cw__sort_i64(values, nlt)) || (err = cw__sort_keys(per_day, nlt, out->ndaily)))
        goto out;
    out->lead_time_count = nlt;
    out->lead_time_p50_s = pctl_s(values, nlt, 50);
    out->lead_time_p90_s = pctl_s(values, nlt, 90);
    for (size_t i = 0; i < nlt;) {
        size_t j = i;
        while (j < nlt && per_day[j].key == per_day[i].key)
            j++;
        /* Nearest rank within the day's sorted run. */
        size_t n = j - i, rank = (50 * n + 99) / 100;
        out->daily[per_day[i].key].lead_time_p50_s =
            (double)per_day[i + (rank ? rank : 1) - 1].time / 1000.0;
        i = j;
    }

    /* Time to restore of incidents started in the window. */
    size_t nttr = 0;
    for (size_t i = 0; i < in->nincidents; i++) {
        const cw_dora_incident *inc = &in->incidents[i];
        if (inc->start_ms == 0 || inc->start_ms < p->from_ms || inc->start_ms >= p->to_ms)
            continue;
        if (inc->resolved_ms == 0)
            out->open_incidents++;
        else if (inc->resolved_ms >= inc->start_ms)
            values[nttr++] = inc->resolved_ms - inc->start_ms;
    }
    if ((err = cw__sort_i64(values, nttr)))
        goto out;
    out->ttr_count = nttr;
    out->ttr_p50_s = pctl_s(values, nttr, 50);
    out->ttr_p90_s = pctl_s(values, nttr, 90);

    out->level_deployment_frequency =
        cw_dora_level_deployment_frequency(out->deployment_frequency_per_day);
    out->level_lead_time = cw_dora_level_lead_time(out->lead_time_p50_s);
    out->level_change_failure_rate = cw_dora_level_change_failure_rate(out->change_failure_rate);
    out->level_time_to_restore = cw_dora_level_time_to_restore(out->ttr_p50_s);
out:
    cw__dep_index_free(&ix);
    free(failed);
    free(att);
    free(values);
    free(per_day);
    if (err)
        cw_dora_result_free(out);
    return err;
}

/* ---- JSON ----------------------------------------------------------------- */

static json_t *num_or_null(double v) { return isnan(v) ? json_null() : json_real(v); }

static json_t *level_json(cw_dora_level l)
{
    const char *n = cw_dora_level_name(l);
    return n ? json_string(n) : json_null();
}

static json_t *time_json(int64_t ms)
{
    char buf[32];
    cw_time_format_compact(ms, buf);
    return json_string(buf);
}

/* json_object_set_new with failure tracking: *ok turns false on any error. */
static void put(json_t *obj, const char *key, json_t *v, bool *ok)
{
    if (!v || json_object_set_new(obj, key, v) != 0)
        *ok = false;
}

static json_t *pct_json(double p50, double p90, size_t count, bool *ok)
{
    json_t *o = json_object();
    if (!o) {
        *ok = false;
        return NULL;
    }
    put(o, "p50", num_or_null(p50), ok);
    put(o, "p90", num_or_null(p90), ok);
    put(o, "count", json_integer((json_int_t)count), ok);
    return o;
}

cw_err cw_dora_to_json(const cw_dora_result *r, const char *scope, json_t **out)
{
    bool ok = true;
    json_t *o = json_object(), *level = json_object(), *daily = json_array();
    if (!o || !level || !daily) {
        json_decref(o);
        json_decref(level);
        json_decref(daily);
        return CW_ERR_NOMEM;
    }
    put(o, "scope", json_string(scope ? scope : ""), &ok);
    put(o, "from", time_json(r->from_ms), &ok);
    put(o, "to", time_json(r->to_ms), &ok);
    put(o, "deployments", json_integer((json_int_t)r->deployments), &ok);
    put(o, "deploymentFrequencyPerDay", num_or_null(r->deployment_frequency_per_day), &ok);
    put(o, "deploymentDays", json_integer((json_int_t)r->deployment_days), &ok);
    put(o, "leadTimeSeconds",
        pct_json(r->lead_time_p50_s, r->lead_time_p90_s, r->lead_time_count, &ok), &ok);
    put(o, "changeFailureRate", num_or_null(r->change_failure_rate), &ok);
    put(o, "failedDeployments", json_integer((json_int_t)r->failed_deployments), &ok);
    put(o, "timeToRestoreSeconds", pct_json(r->ttr_p50_s, r->ttr_p90_s, r->ttr_count, &ok), &ok);
    put(o, "openIncidents", json_integer((json_int_t)r->open_incidents), &ok);
    put(level, "deploymentFrequency", level_json(r->level_deployment_frequency), &ok);
    put(level, "leadTime", level_json(r->level_lead_time), &ok);
    put(level, "changeFailureRate", level_json(r->level_change_failure_rate), &ok);
    put(level, "timeToRestore", level_json(r->level_time_to_restore), &ok);
    put(o, "level", level, &ok);
    for (size_t i = 0; ok && i < r->ndaily; i++) {
        const cw_dora_day *dy = &r->daily[i];
        json_t *e = json_object();
        if (!e) {
            ok = false;
            break;
        }
        put(e, "date", json_string(dy->date), &ok);
        put(e, "deployments", json_integer((json_int_t)dy->deployments), &ok);
        put(e, "failedDeployments", json_integer((json_int_t)dy->failed_deployments), &ok);
        put(e, "leadTimeP50Seconds", num_or_null(dy->lead_time_p50_s), &ok);
        if (json_array_append_new(daily, e) != 0)
            ok = false;
    }
    put(o, "daily", daily, &ok);
    if (!ok) {
        json_decref(o);
        return CW_ERR_NOMEM;
    }
    *out = o;
    return CW_OK;
}
