/*
 * delivery.h — the model of delivery, shared by the store (which reads it)
 * and the insights (which interpret it) so that neither includes the other
 * (docs/layers.md):
 *
 * - the stored rows: the interpreted event kinds; one row per stored
 *   event of the service and incident classes and one per change and link
 *   key, as the store streams them into a cw_delivery_sink
 *   (cw_store_delivery_scan, store.h), selected by time and key as the sink
 *   asks. Ids (entity, link key, environment) are the store's; the sink
 *   maps them.
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
    /* the window the answer is about, [from, to); when to <= from (e.g.
     * both 0) the whole history. The sink decides which rows outside it
     * the rules still need (insights/delivery.h). */
    int64_t from_ms, to_ms;
} cw_delivery_query;

/* A text column: s NULL when absent; not NUL-terminated; borrowed. */
typedef struct {
    const char *s;
    size_t n;
} cw_delivery_text;

/*
 * The stored rows. The store keeps them up to date at intake, one table
 * each (docs/store.md): nothing in them depends on the catalog or on which
 * environments are production, so they never need recomputing.
 */

/* A stored event of the service class (deployed, upgraded, rolledback). */
typedef struct {
    int64_t seq;                  /* the event's arrival number: unique */
    int64_t link;                 /* link key id; 0 = none */
    int kind;                     /* CW_EVK_* */
    int64_t time_ms;
    int64_t env;                  /* environment id; 0 = none */
    cw_delivery_text artifact, chain;
    const char *changes;          /* customData.changes as compact JSON, or NULL */
    bool has_incident;            /* an incident event names this artifact: */
    int64_t incident_ms;          /*   the earliest such event's time */
} cw_delivery_service_row;

/* One change (a change.created/merged subject id) under one link key: its
 * events folded into the earliest time of each kind. */
typedef struct {
    int64_t link;                 /* link key id (never 0: changes without one are not kept) */
    cw_delivery_text subject;     /* the change's subject.id */
    bool has_created, has_merged;
    int64_t created_ms, merged_ms; /* earliest change.created / change.merged */
    bool has_claim;               /* a deployment lists this subject id in its */
    int64_t claim_ms;             /*   customData.changes: the earliest one's time */
} cw_delivery_change_row;

/* A stored event of the incident class. */
typedef struct {
    int64_t seq;                  /* the event's arrival number: unique */
    int64_t link;                 /* link key id; 0 = none */
    int kind;                     /* CW_EVK_* */
    int64_t time_ms;
    cw_delivery_text subject;     /* the incident's subject.id */
    cw_delivery_text artifact;    /* artifactId named, if any */
    int64_t first_ms;             /* the earliest event of this subject.id */
    bool has_artifact_first;      /* a service event names the artifact: */
    int64_t artifact_first_ms;    /*   the earliest one's time */
} cw_delivery_incident_row;

/*
 * What the sink asks the store to read next: rows selected by time and by
 * key only (the rules that decide what is needed are the sink's). Arrays
 * are the sink's and stay valid until its next call. Times are Unix ms.
 */
typedef enum {
    CW_DSEL_END = 0,
    CW_DSEL_SERVICE_TIME,       /* service rows with from <= time < to */
    CW_DSEL_SERVICE_NEAREST,    /* per links[i]: the latest row with time < times[i]
                                   (before), or the first with time >= times[i] */
    CW_DSEL_SERVICE_ARTIFACT,   /* service rows whose artifact is one of keys */
    CW_DSEL_SERVICE_CLAIM,      /* service rows with time < to whose
                                   customData.changes lists one of keys */
    CW_DSEL_CHANGE_MERGED,      /* per links[i]: changes merged in (times[i], to) */
    CW_DSEL_CHANGE_LINK,        /* every change of links (links NULL: of every link) */
    CW_DSEL_CHANGE_SUBJECT,     /* changes whose subject is one of keys */
    CW_DSEL_INCIDENT_TIME,      /* incident rows with from <= time < to */
    CW_DSEL_INCIDENT_SUBJECT,   /* incident rows whose subject is one of keys */
    CW_DSEL_INCIDENT_ARTIFACT   /* incident rows naming one of keys */
} cw_delivery_sel_kind;

typedef struct {
    cw_delivery_sel_kind kind;
    int64_t from_ms, to_ms;
    /* service selections: only rows of these kinds (bit 1 << CW_EVK_*) and
     * environments; and of links, unless links is NULL (any link) */
    unsigned kinds;
    const int64_t *envs;
    size_t nenvs;
    const int64_t *links;
    size_t nlinks;
    const int64_t *times;       /* per link (NEAREST, CHANGE_MERGED) */
    bool before;                /* NEAREST: the latest before, else the first at or after */
    const cw_delivery_text *keys;
    size_t nkeys;
} cw_delivery_select;

/* Whether a service row of kind and environment env is one s asks for (a
 * store may read more and drop the rest with this). */
static inline bool cw_delivery_select_keeps(const cw_delivery_select *s, int kind, int64_t env)
{
    if (kind < 0 || kind > 31 || !(s->kinds & (1u << kind)))
        return false;
    for (size_t i = 0; i < s->nenvs; i++)
        if (s->envs[i] == env)
            return true;
    return false;
}

/*
 * Where a delivery scan streams its rows: begin; the scope's components in
 * key order; bounds; the matched link keys and every environment; then,
 * until next answers CW_DSEL_END, the rows of each selection next asks for
 * (service, change or incident rows, in any order; a row may come again in
 * a later selection). begin may come again (the store retries a
 * transaction from the start): the sink then forgets everything before it.
 * Every selection of one scan reads the same snapshot. A callback's error
 * ends the scan with that error (the callback fills d).
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
    cw_err (*next)(void *ctx, cw_delivery_select *sel, cw_diag *d);
    cw_err (*service)(void *ctx, const cw_delivery_service_row *r, cw_diag *d);
    cw_err (*change)(void *ctx, const cw_delivery_change_row *r, cw_diag *d);
    cw_err (*incident)(void *ctx, const cw_delivery_incident_row *r, cw_diag *d);
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
