/*
 * findings.h — connecting the store to the findings (the caller above
 * both, as DESIGN.md's layers want): the release trains of the coupling
 * insight read from the store's deployments, the graph plus architecture
 * findings of a catalog, and the daily snapshot of every finding's counts
 * into the store's history (store/store_history.h). Used by the HTTP
 * routes (api_architecture.c), the snapshot thread (snapshot.c) and
 * `conway check architecture`.
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
#include "store/store_history.h"
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

/* ---- the daily snapshot ------------------------------------------------------------ */

/* Counts of findings for the history, owning their strings. */
typedef struct {
    cw_finding_count *rows;
    size_t n;
    char *text_;              /* backs every string of rows */
} cw_counts;

/*
 * Counts findings (a JSON array of findings of one kind, "architecture" or
 * "ownership") per (kind, rule, severity, scope) into c, adding to what it
 * holds (start from a zeroed cw_counts; finish with cw_counts_seal). Scope
 * "org" counts every finding; a team scope (an owner key) counts the
 * findings naming it: in "teams", as "owner", or as the subject when the
 * subject is a Group. Silenced findings count under severity "silenced".
 * The tally is kept in tally (a JSON object the caller creates and frees).
 */
cw_err cw_counts_add(json_t *tally, const char *kind, const json_t *findings, cw_diag *d);
/* The tally as rows (c owned by the caller: cw_counts_free). */
cw_err cw_counts_seal(const json_t *tally, cw_counts *c, cw_diag *d);
void cw_counts_free(cw_counts *c);

typedef struct {
    const cw_arch_opts *arch;           /* NULL = defaults */
    size_t max_components_per_team;     /* team-overload; 0 = 8 */
    const char *production_env;         /* NULL = "prod*" */
    int postmortem_severity;            /* a cw_severity; 0 = critical */
    int postmortem_days;                /* < 0 = 5 */
    int restore_test_days;              /* untested-backup; 0 = 30 */
} cw_findings_cfg;

/*
 * Takes the findings snapshot of the day of now_ms (UTC) unless the store
 * has it already: reads the catalog, the release trains and the incidents,
 * computes the ownership, postmortem (incident and postmortem rules) and
 * heartbeat findings (as GET /api/v1/insights/ownership merges them) and
 * the architecture findings, counts them (kinds "ownership", "postmortem",
 * "heartbeat", "architecture") and stores the counts with the day's claim
 * (cw_store_history_put). *taken says whether this
 * call stored the day, *rows (may be NULL) how many rows.
 */
cw_err cw_findings_snapshot(cw_store *s, const cw_findings_cfg *cfg, int64_t now_ms, bool *taken,
                            size_t *rows, cw_diag *d);

#endif
