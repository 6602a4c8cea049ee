/*
 * delivery.h — the model of delivery, shared by the store (which reads it)
 * and the insights (which interpret it) so that neither includes the other
 * (docs/layers.md):
 *
 * - the stored rows: the interpreted event kinds, and one row per stored
 *   event of the service, change and incident classes, as the store streams
 *   them into a cw_delivery_sink (cw_store_delivery_scan, store.h). Ids
 *   (entity, link key, environment) are the store's; the sink maps them.
 * - the computed rows: production deployments, rollbacks, changes and
 *   incidents of a set of components, each naming its component by index,
 *   which insights/delivery.h assembles from the stored rows and
 *   insights/dora.h, coupling.h and undeployed.h compute from.
 */
#ifndef CW_EVENTS_DELIVERY_H
#define CW_EVENTS_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* ---- stored rows ----------------------------------------------------------------- */

/* Interpreted event kinds, as stored (0: stored and listed, never interpreted). */
enum {
    CW_EVK_NONE = 0,
    CW_EVK_DEPLOYED = 1,
    CW_EVK_UPGRADED = 2,
    CW_EVK_ROLLEDBACK = 3,
    CW_EVK_CHANGE_CREATED = 4,
    CW_EVK_CHANGE_MERGED = 5,
    CW_EVK_INCIDENT_DETECTED = 6,
    CW_EVK_INCIDENT_REPORTED = 7,
    CW_EVK_INCIDENT_RESOLVED = 8
};

/* What a delivery scan reads (bits). */
#define CW_DELIVERY_DEPLOYMENTS 1u  /* production deployed/upgraded */
#define CW_DELIVERY_ROLLBACKS 2u    /* production rolledback */
#define CW_DELIVERY_CHANGES 4u      /* change.created/merged, per change */
#define CW_DELIVERY_INCIDENTS 8u    /* incident.*, per incident subject id */
#define CW_DELIVERY_ALL 15u

struct cw_scope; /* catalog/scope.h */

typedef struct {
    const struct cw_scope *scope; /* NULL = org */
    const char *production_env;   /* --production-env pattern; NULL = "prod*" */
    unsigned what;                /* CW_DELIVERY_* bits */
} cw_delivery_query;

/* A text column: s NULL when absent; not NUL-terminated; borrowed. */
typedef struct {
    const char *s;
    size_t n;
} cw_delivery_text;

/* A stored event of the service class (deployed, upgraded, rolledback). */
typedef struct {
    int64_t link;                 /* link key id; 0 = none */
    int kind;                     /* CW_EVK_* */
    int64_t time_ms;
    int64_t env;                  /* environment id; 0 = none */
    cw_delivery_text artifact, chain;
    const char *changes;          /* customData.changes as compact JSON, or NULL */
} cw_delivery_service_row;

/* A stored event of the change or incident class. */
typedef struct {
    int64_t link;                 /* link key id; 0 = none */
    int kind;                     /* CW_EVK_* */
    int64_t time_ms;
    cw_delivery_text subject;     /* the change's / incident's subject.id */
    cw_delivery_text artifact;    /* incidents: artifactId named, if any */
} cw_delivery_subject_row;

/*
 * Where a delivery scan streams its rows, in this order: begin; the
 * scope's components in key order; bounds; the matched link keys and every
 * environment; then the rows of the classes asked for (service rows;
 * change rows with one change's rows consecutive per link key; every
 * incident row of the organisation, whatever the scope, since one
 * incident's events need not all name its service). begin may come again
 * (the store retries a transaction from the start): the sink then forgets
 * everything before it. A callback's error ends the scan with that error
 * (the callback fills d).
 */
typedef struct {
    cw_err (*begin)(void *ctx, cw_diag *d);
    /* id: the store's entity id; owner_ref: first ownedBy target or NULL */
    cw_err (*component)(void *ctx, int64_t id, const char *ref, const char *owner_ref,
                        cw_diag *d);
    /* link key and environment ids are 1..max_link and 1..max_env */
    cw_err (*bounds)(void *ctx, int64_t max_link, int64_t max_env, cw_diag *d);
    /* a link key matched to a component (any component: *wanted says
     * whether its rows belong to the scan's scope); link_kind CW_LINK_* */
    cw_err (*link)(void *ctx, int64_t link, int64_t component_id, int link_kind, bool *wanted,
                   cw_diag *d);
    cw_err (*environment)(void *ctx, int64_t env, const char *name, cw_diag *d);
    cw_err (*service)(void *ctx, const cw_delivery_service_row *r, cw_diag *d);
    cw_err (*change)(void *ctx, const cw_delivery_subject_row *r, cw_diag *d);
    cw_err (*incident)(void *ctx, const cw_delivery_subject_row *r, cw_diag *d);
} cw_delivery_sink;

/* ---- computed rows --------------------------------------------------------------- */

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
