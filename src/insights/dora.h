/*
 * dora.h — the four DORA delivery metrics of issue #3, computed purely from
 * plain arrays (the model's delivery rows, events/delivery.h), plus the
 * rendering of the result in the JSON shape. The rules are written
 * out for users in docs/dora.md; in short:
 *
 * - Deployments are production service.deployed/upgraded events, rollbacks
 *   production service.rolledback events: the caller passes only those.
 * - Change attribution: a deployment whose change_ids list is non-empty owns
 *   exactly those changes (looked up by change id, preferring a change of the
 *   same component); any other deployment owns every merged change of its
 *   component merged after the component's previous deployment and at or
 *   before it. A change attributed to several deployments counts at the
 *   earliest one. Lead time = deployment time − created time (merged time
 *   when created is unknown); non-positive lead times are ignored.
 * - A deployment failed when a rollback of its component happens at or after
 *   it and before the component's next deployment; or when an incident names
 *   its artifact (the latest deployment of that artifact at or before the
 *   incident start, else its earliest); or when an incident that names no
 *   deployed artifact starts at most failure_window_hours after it and it is
 *   the component's latest deployment at or before that start.
 * - Time to restore: per incident, resolved − start; an incident belongs to
 *   the window in which it started; unresolved ones are openIncidents.
 * - Percentiles are nearest-rank (rank ⌈p·n/100⌉ of the sorted values).
 * - Window [from, to): a deployment counts when from <= time < to. Pass all
 *   deployments, rollbacks, changes and incidents of the scope, including
 *   those before `from` (previous deployments decide attribution) and after
 *   `to` (an incident naming an artifact fails it whenever it happens).
 *
 * "No data" is NAN in doubles (isnan) and CW_DORA_LEVEL_NONE in levels;
 * cw_dora_to_json renders both as JSON null.
 *
 * Times are Unix milliseconds; 0 means unknown where noted. Cost: sorting
 * plus linear passes and binary searches, O(n log n) overall.
 */
#ifndef CW_DORA_H
#define CW_DORA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events/delivery.h"
#include "util/err.h"

#define CW_DORA_DEFAULT_FAILURE_WINDOW_HOURS 24
#define CW_DORA_MAX_DAYS 3660  /* longest window (daily buckets) */

typedef struct {
    int64_t from_ms, to_ms;         /* window [from, to), to > from */
    int failure_window_hours;       /* >= 0; the default is 24 */
} cw_dora_params;

typedef enum {
    CW_DORA_LEVEL_NONE = 0,         /* no data: JSON null */
    CW_DORA_LEVEL_LOW,
    CW_DORA_LEVEL_MEDIUM,
    CW_DORA_LEVEL_HIGH,
    CW_DORA_LEVEL_ELITE
} cw_dora_level;

typedef struct {
    int64_t day;                    /* days since the epoch (UTC) */
    char date[16];                  /* "YYYY-MM-DD" */
    size_t deployments;
    size_t failed_deployments;
    double lead_time_p50_s;         /* NAN when no lead time that day */
} cw_dora_day;

typedef struct {
    int64_t from_ms, to_ms;
    size_t deployments;
    double deployment_frequency_per_day;
    size_t deployment_days;         /* distinct UTC dates with a deployment */
    double lead_time_p50_s, lead_time_p90_s; /* NAN when count == 0 */
    size_t lead_time_count;
    double change_failure_rate;     /* NAN when no deployments */
    size_t failed_deployments;
    double ttr_p50_s, ttr_p90_s;    /* NAN when count == 0 */
    size_t ttr_count;
    size_t open_incidents;
    cw_dora_level level_deployment_frequency, level_lead_time,
        level_change_failure_rate, level_time_to_restore;
    cw_dora_day *daily;             /* owned; one per UTC date in the window */
    size_t ndaily;
} cw_dora_result;

/*
 * Computes the metrics. CW_ERR_INVALID when to <= from, the window is longer
 * than CW_DORA_MAX_DAYS, failure_window_hours < 0, or a component index is out
 * of range (d names the array element). On success the caller frees *out with
 * cw_dora_result_free; on error *out is empty.
 */
cw_err cw_dora_compute(const cw_dora_input *in, const cw_dora_params *p, cw_dora_result *out,
                       cw_diag *d);
void cw_dora_result_free(cw_dora_result *r);

/*
 * The deployment each incident failed, under exactly the rule the change
 * failure rate uses (rules 2 and 3 of docs/dora.md): cause[i] (nincidents
 * slots, filled by the call) is the input index of the deployment
 * incidents[i] names by artifact, else of the component's latest
 * deployment at or before the incident's start when it is at most
 * failure_window_hours earlier; -1 when neither. The incident page shows it
 * as the incident's likely cause. CW_ERR_INVALID as cw_dora_compute for a
 * bad component index or a negative window.
 */
cw_err cw_dora_incident_causes(const cw_dora_input *in, int failure_window_hours, long *cause,
                               cw_diag *d);

/* Levels (standards.md §3.2: 2024 Accelerate State of DevOps clusters). */
cw_dora_level cw_dora_level_deployment_frequency(double per_day);
cw_dora_level cw_dora_level_lead_time(double p50_seconds);
cw_dora_level cw_dora_level_change_failure_rate(double rate);
cw_dora_level cw_dora_level_time_to_restore(double p50_seconds);
/* "elite", "high", "medium", "low", or NULL for NONE. */
const char *cw_dora_level_name(cw_dora_level l);

/* Nearest-rank percentile (0 < pct <= 100) of sorted[0..n), n > 0. */
int64_t cw_percentile_nearest_rank(const int64_t *sorted, size_t n, int pct);

/*
 * The JSON: {"scope","from","to","deployments",
 * "deploymentFrequencyPerDay","deploymentDays","leadTimeSeconds":{p50,p90,
 * count},"changeFailureRate","failedDeployments","timeToRestoreSeconds":{...},
 * "openIncidents","level":{...},"daily":[{date,deployments,failedDeployments,
 * leadTimeP50Seconds}]}. Caller owns *out.
 */
cw_err cw_dora_to_json(const cw_dora_result *r, const char *scope, json_t **out);

#endif
