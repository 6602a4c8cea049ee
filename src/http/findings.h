/*
 * findings.h — connecting the store to the architecture findings (the
 * caller above both, as DESIGN.md's layers want): the release trains of
 * the coupling insight read from the store's deployments, and the graph
 * plus findings of a catalog. Used by the HTTP routes (api_architecture.c),
 * the daily findings snapshot (snapshot.c) and `conway check architecture`.
 */
#ifndef CW_HTTP_FINDINGS_H
#define CW_HTTP_FINDINGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "insights/architecture.h"
#include "insights/graph.h"
#include "store/store.h"
#include "util/err.h"

/* The coupling window the trains come from: the 30 days up to now, with
 * the coupling insight's defaults (15 minutes, 5 together, 0.8). */
#define CW_TRAINS_WINDOW_DAYS 30

/*
 * The release trains over production deployments (production_env as
 * --production-env; NULL = "prod*") of the CW_TRAINS_WINDOW_DAYS days up to
 * now_ms, as a JSON array of arrays of component refs (caller owns).
 */
cw_err cw_trains_load(cw_store *s, const char *production_env, int64_t now_ms, json_t **out,
                      cw_diag *d);

/* cw_arch_train views of such an array (borrowing its strings); *trains
 * (one allocation) is freed with free(). */
cw_err cw_trains_view(const json_t *trains, cw_arch_train **out, size_t *n, cw_diag *d);

/*
 * The graph of items and the architecture findings over it (cw_arch_check's
 * result, caller owns both: cw_graph_free, json_decref). trains is such an
 * array or NULL.
 */
cw_err cw_architecture_compute(json_t *const *items, size_t n, const json_t *trains,
                               const cw_arch_opts *opts, cw_graph **g_out, json_t **result,
                               cw_diag *d);

#endif
