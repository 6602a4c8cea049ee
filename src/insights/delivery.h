/*
 * delivery.h — the delivery insights' rules over stored rows: which stored
 * events count and for which component. A collector is a cw_delivery_sink
 * (events/delivery.h) that the caller hands to cw_store_delivery_scan; it
 * maps link keys to the scope's components, decides which environments
 * are production (the caller's --production-env pattern), keeps production
 * deployments and rollbacks, aggregates changes per (component, subject.id)
 * and incidents per subject.id, and finishes into the plain arrays
 * insights/dora.h, coupling.h and undeployed.h compute from. Pure: no I/O,
 * no SQL; unit-tested by feeding rows directly (tests/unit/test_delivery.c).
 *
 * The rules (docs/dora.md):
 * - A service row counts when its link key matches a component of the
 *   scope and its environment is production; rolledback rows are
 *   rollbacks, deployed/upgraded rows deployments (each when asked for).
 * - Changes: per (component, subject.id), the earliest created and the
 *   earliest merged time. A component whose changes arrive under several
 *   repository keys has its change rows merged by id wherever they come;
 *   otherwise one change's rows are consecutive.
 * - Incidents: per subject.id over all its events: start = first
 *   detected/reported, resolved = the latest resolved; the component and
 *   the artifact come from the earliest event naming one. A scoped load
 *   keeps the incidents of its components; an org load keeps every
 *   incident (component -1 when it names none).
 * - A time of 0 (the epoch instant) is moved to 1 ms: 0 means unknown in
 *   the plain arrays.
 */
#ifndef CW_INSIGHTS_DELIVERY_H
#define CW_INSIGHTS_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>

#include "events/delivery.h"
#include "util/err.h"

/*
 * The inputs of the delivery insights for a scope: components
 * 0..ncomponents-1 sorted by ref, with their owners, and the computed rows.
 */
typedef struct {
    size_t ncomponents;
    char **component_refs;       /* "component:default/Name" */
    char **owner_refs;           /* ownedBy target ref, or NULL */
    cw_dora_input in;            /* arrays owned by this struct */
    void *priv_;                 /* backing storage */
} cw_delivery_data;

void cw_delivery_data_free(cw_delivery_data *dd);

typedef struct cw_delivery_collector cw_delivery_collector;

/* A collector for q (borrowed: it must outlive the collector).
 * CW_ERR_INVALID when q->production_env is not a valid pattern. */
cw_err cw_delivery_collector_new(const cw_delivery_query *q, cw_delivery_collector **out,
                                 cw_diag *d);
/* The sink to scan into, with the collector as its ctx. */
const cw_delivery_sink *cw_delivery_collector_sink(void);
/* Moves the result into *out (the caller frees it with cw_delivery_data_free). */
cw_err cw_delivery_collector_finish(cw_delivery_collector *c, cw_delivery_data *out,
                                    cw_diag *d);
void cw_delivery_collector_free(cw_delivery_collector *c);

#endif
