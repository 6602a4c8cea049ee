/*
 * strategy.h — the strategy kinds (apiVersion conway.dev/v1, issue #16) as
 * the catalog sees them: their shape, checked like every other kind so a
 * wrong field is a 400 problem naming it. Whether a Goal is S.M.A.R.T., its
 * status, a Hypothesis' verdict and a Decision's findings are insights
 * (insights/strategy.h): a goal that is not SMART is still stored, with a
 * goal-not-smart finding, so people can write it down first and sharpen it.
 * Pure: no I/O. Rules written out for users in docs/strategy.md.
 *
 *   kind: Goal
 *   spec:
 *     owner: group:default/payments            # A: someone to achieve it
 *     stakeholders: [group:default/product]    # R: someone it matters to
 *     statement: Raise checkout conversion to 2.5% by the end of June   # S
 *     metric: {name: checkout_conversion, labels: {team: payments}}     # M
 *       # (or {name: conway_dora_deployments_per_day, scope: group:default/payments};
 *       #  optional aggregate: last|avg|min|max|sum|count, window: 7d)
 *     baseline: {value: 2.1, date: 2025-01-01}
 *     target: {value: 2.5, direction: increase}  # or decrease
 *     deadline: 2025-06-30                       # T
 *
 *   kind: Hypothesis
 *   spec:
 *     owner: group:default/payments
 *     change: One-page checkout                  # text or an entity ref
 *     changeAt: 2025-03-01T00:00:00Z             # or artifact: its first production deployment
 *     artifact: pkg:oci/checkout@sha256:…
 *     outcome: conversion up 20%
 *     metric: {name: checkout_conversion}
 *     expected: {direction: increase, size: 0.2, unit: relative}   # or absolute
 *     windowBefore: 14d
 *     windowAfter: 14d
 *     alpha: 0.05
 *
 *   kind: Decision
 *   spec:
 *     owner: group:default/platform
 *     system: system:default/payments            # and/or domain: (ADR browsing)
 *     status: accepted                           # proposed|accepted|superseded|on-hold
 *     needs: [...]  values: [...]  principles: [...]  practices: [...]
 *     options: [{name: rabbitmq}, {name: kafka}] # or plain names
 *     chosen: rabbitmq
 *     criteria: [{name: operability, weight: 3, scores: {rabbitmq: 4, kafka: 2}}]
 *     evidence: [{url: https://…, option: rabbitmq, stance: against}]   # for|against|neutral
 *     tools: [{name: rabbitmq, status: adopt}, {name: mongodb, status: hold}]
 *
 *   kind: KPI
 *   spec:
 *     owner: group:default/payments
 *     source: prometheus                         # or push (POST /api/v1/metrics)
 *     query: sum(rate(checkout_completed_total[1h])) / sum(rate(checkout_started_total[1h]))
 *     step: 1h
 *     metric: checkout_conversion                # the series stored (default: name, - → _)
 */
#ifndef CW_CATALOG_STRATEGY_H
#define CW_CATALOG_STRATEGY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "catalog/catalog.h"

struct cw_activity_set;

/* Kind checks for the kind table (kinds.c). */
void cw__goal_kind_check(const json_t *entity, const json_t *spec, const char *ns,
                         const struct cw_activity_set *activities, cw_issue_list *out);
void cw__hypothesis_kind_check(const json_t *entity, const json_t *spec, const char *ns,
                               const struct cw_activity_set *activities, cw_issue_list *out);
void cw__decision_kind_check(const json_t *entity, const json_t *spec, const char *ns,
                             const struct cw_activity_set *activities, cw_issue_list *out);
void cw__kpi_kind_check(const json_t *entity, const json_t *spec, const char *ns,
                        const struct cw_activity_set *activities, cw_issue_list *out);

/* The series name a KPI stores its samples under: spec.metric, else the
 * entity's name with '-' and '.' turned into '_'. out >= 201 bytes. */
void cw_kpi_metric_name(const json_t *kpi, char out[201]);

#endif
