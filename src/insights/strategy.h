/*
 * strategy.h — what the strategy kinds (catalog/strategy.h) say once the
 * numbers are in (issue #16): whether a Goal is S.M.A.R.T. and how it is
 * doing, whether a Hypothesis held, and what to question about Decisions.
 * Pure: the caller (http/strategy_data.c) reads the entities and the metric
 * points and hands them in. Rules written out in docs/strategy.md.
 *
 * Findings share the shape of the other insights' findings:
 *   {"rule", "severity", "entityRef", "detail", "owner"?, ...}
 *  goal-not-smart (warning)          one per missing letter ("letter": S|M|A|R|T)
 *  decision-single-option (warning)  fewer than two options were weighed
 *  decision-no-counter-evidence (warning)  no evidence against the chosen option
 *  decision-not-best-scored (warning) another option scores higher on the
 *                                    decision's own criteria
 *  tool-on-hold (warning)            a Component uses (tag or annotation) a tool
 *                                    an accepted Decision put on hold
 */
#ifndef CW_INSIGHTS_STRATEGY_H
#define CW_INSIGHTS_STRATEGY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events/metric.h"
#include "insights/stats.h"
#include "util/err.h"

#define CW_STRATEGY_NRULES 5
extern const char *const cw_strategy_rules[CW_STRATEGY_NRULES];

/* ---- goals ---------------------------------------------------------------------------- */

typedef enum {
    CW_GOAL_UNKNOWN = 0,    /* no target, or no data yet */
    CW_GOAL_ON_TRACK,
    CW_GOAL_AT_RISK,
    CW_GOAL_OFF_TRACK,
    CW_GOAL_ACHIEVED,
    CW_GOAL_MISSED
} cw_goal_status;

#define CW_GOAL_NSTATUS 6
/* "unknown", "on-track", "at-risk", "off-track", "achieved", "missed" */
const char *cw_goal_status_name(cw_goal_status s);

/* The numbers of a Goal's spec (absent ones flagged false). */
typedef struct {
    bool has_baseline, has_baseline_date, has_target, has_deadline;
    double baseline;
    int64_t baseline_ms;
    double target;
    bool increase;              /* target.direction */
    int64_t deadline_ms;
    int64_t window_ms;          /* spec.metric.window (0: none) */
} cw_goal_numbers;

/* Reads them from a Goal entity (validated by the catalog). */
void cw_goal_numbers_read(const json_t *goal, cw_goal_numbers *out);

/*
 * The status of a goal from its metric's daily points pts[0..n) (sorted by
 * time) as of now:
 *  - the points are first smoothed when window_ms > 0 (each the mean of the
 *    points in (t − window, t]);
 *  - achieved: the latest value at or before min(now, deadline) meets the
 *    target (≥ for increase, ≤ for decrease);
 *  - missed: the deadline has passed and it was not met;
 *  - otherwise the least-squares line through the points since the
 *    baseline's date (the baseline itself counts as a point when fewer than
 *    two are there) is projected to the deadline: on-track when the
 *    projection meets the target, at-risk when it covers at least half the
 *    way from the start (the baseline, or the line's value at the first
 *    point) to the target, off-track below that;
 *  - unknown: no target, or no point yet.
 * *projection (caller owns; never NULL on CW_OK) says what decided it:
 *   {"method", "reason", "points", "current"?: {time, value}, "slopePerDay"?,
 *    "projectedValue"?, "projectedAt"?, "start"?, "progress"?, "planned"?}
 */
cw_err cw_goal_evaluate(const cw_goal_numbers *g, const cw_metric_point *pts, size_t n,
                        int64_t now_ms, cw_goal_status *status, json_t **projection);

/*
 * The goal-not-smart findings of a goal (appended to findings): S when
 * spec.statement is missing; M when spec.metric or spec.target is missing
 * or the metric has no data (has_data false); A without spec.owner; R
 * without a stakeholder; T without spec.deadline, or when the deadline was
 * not after created_ms. entity_ref names it.
 */
cw_err cw_goal_smart_findings(const json_t *goal, const char *entity_ref, int64_t created_ms,
                              bool has_data, json_t *findings);

/* ---- hypotheses ------------------------------------------------------------------------ */

typedef enum {
    CW_VERDICT_INCONCLUSIVE = 0,
    CW_VERDICT_SUPPORTED,
    CW_VERDICT_REFUTED
} cw_verdict;

const char *cw_verdict_name(cw_verdict v);

typedef struct {
    bool increase;              /* expected.direction */
    double size;                /* expected.size (0: any change) */
    bool relative;              /* expected.unit (default relative) */
    double alpha;               /* default 0.05 */
    int64_t change_ms;          /* when the change happened (0: unknown) */
    int64_t before_ms, after_ms; /* windowBefore / windowAfter (default 14 days) */
    int64_t step_ms;            /* one observation per step (default 1 day) */
} cw_hypothesis_numbers;

void cw_hypothesis_numbers_read(const json_t *hyp, cw_hypothesis_numbers *out);

/*
 * The verdict from the observations before the change (b) and after it (a):
 *  - inconclusive when the change time is unknown, the after window has not
 *    ended by now, or either side has fewer than 3 observations;
 *  - supported: a is larger (increase) / smaller (decrease) than b by the
 *    one-sided Mann–Whitney test at alpha, and the Hodges–Lehmann shift
 *    reaches the expected size (relative: size × the median before);
 *  - refuted: the same test shows that a, moved back by the expected size,
 *    is smaller (increase) / larger (decrease) than b at alpha: the change
 *    is clearly less than expected, or goes the other way;
 *  - inconclusive otherwise.
 * *detail (caller owns): {"verdict", "reason", "test": {…cw_mwu…},
 *   "effect": {beforeMedian, afterMedian, shift, relativeShift,
 *   expectedShift, probabilityOfSuperiority, rankBiserial}, ...}
 */
cw_err cw_hypothesis_evaluate(const cw_hypothesis_numbers *h, const double *before, size_t nb,
                              const double *after, size_t na, int64_t now_ms, cw_verdict *verdict,
                              json_t **detail);

/* ---- decisions -------------------------------------------------------------------------- */

/*
 * Findings about decisions[0..nd) (decision-*) and about components[0..nc)
 * using a tool an accepted decision put on hold (tool-on-hold: a tag equal
 * to the tool's name, or an annotation value naming it as a whole word,
 * ignoring case). Appended to findings, sorted by rule then entity.
 */
cw_err cw_decision_findings(json_t *const *decisions, size_t nd, json_t *const *components,
                            size_t nc, json_t *findings);

/* The options of a decision with their weighted scores:
 * [{"name", "chosen", "score"?}] (score: Σ weight·score / Σ weight over the
 * criteria scoring it). */
json_t *cw_decision_options(const json_t *decision);

/* Sorts findings by rule, then entityRef, then detail. */
void cw_strategy_sort_findings(json_t *findings);

#endif
