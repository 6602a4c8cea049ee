/*
 * delivery.h — the model of delivery: the rows the delivery insights
 * (insights/dora.h, coupling.h, undeployed.h) compute from. Production
 * deployments, rollbacks, changes and incidents of a set of components,
 * each naming its component by index. They belong to the model so that the
 * store, which reads them, and the insights, which interpret them, never
 * include each other (docs/layers.md).
 */
#ifndef CW_EVENTS_DELIVERY_H
#define CW_EVENTS_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int32_t component;              /* index into the scope's components */
    int64_t time_ms;
    const char *artifact_id;        /* NULL when unknown */
    const char *chain_id;           /* NULL when none (used by coupling) */
    const char *const *change_ids;  /* customData.changes; NULL/0 = implicit */
    size_t nchange_ids;
} cw_dora_deployment;

typedef struct {
    int32_t component;
    int64_t time_ms;
} cw_dora_rollback;

typedef struct {
    int32_t component;
    const char *change_id;          /* the change's subject.id */
    int64_t created_ms;             /* change.created; 0 = unknown */
    int64_t merged_ms;              /* change.merged; 0 = not merged */
} cw_dora_change;

/* One entry per incident subject.id, aggregated by the caller. */
typedef struct {
    const char *incident_id;        /* subject.id (informative) */
    int32_t component;              /* -1 when it names no known component */
    int64_t start_ms;               /* first detected/reported; 0 = unknown */
    int64_t resolved_ms;            /* incident.resolved (the latest); 0 = open */
    const char *artifact_id;        /* artifactId named by any of its events, or NULL */
} cw_dora_incident;

/* All arrays borrowed; components are 0..ncomponents-1 (incidents may say -1). */
typedef struct {
    size_t ncomponents;
    const cw_dora_deployment *deployments;
    size_t ndeployments;
    const cw_dora_rollback *rollbacks;
    size_t nrollbacks;
    const cw_dora_change *changes;
    size_t nchanges;
    const cw_dora_incident *incidents;
    size_t nincidents;
} cw_dora_input;

#endif
