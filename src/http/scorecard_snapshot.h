/*
 * scorecard_snapshot.h — every scorecard judged over its entities, for the
 * daily scorecard snapshot (store/store_scorecard_history.h) and the
 * initiatives (initiative_data.h): per entity in a scorecard's scope (its
 * spec.filter, optionally narrowed by a second filter) its key, owner,
 * level and which checks it passes (an active exemption counts as passed,
 * as for the level). The facts come from one batch (facts.h), read once for
 * all scorecards.
 *
 * The snapshot is taken by the server's daily findings snapshot thread
 * (snapshot.c), right after the findings: once per day and scorecard, the
 * claim in the database deciding which instance stores it.
 */
#ifndef CW_HTTP_SCORECARD_SNAPSHOT_H
#define CW_HTTP_SCORECARD_SNAPSHOT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "catalog/filter.h"
#include "catalog/scorecard.h"
#include "http/facts.h"
#include "http/findings.h"
#include "store/store.h"
#include "util/err.h"

typedef struct {
    const json_t *entity;      /* borrowed from the batch */
    char key[CW_REF_MAX];      /* "component:default/checkout" */
    char owner[CW_REF_MAX];    /* its ownedBy target's key, "" for none */
    int level;                 /* index into the card's levels, -1 for none */
    bool *passed;              /* one per card check: pass or exempt */
} cw_sc_row;

/*
 * Judges card over the batch's entities that cw_scorecard_run
 * (scorecards.h) judges — those its filter selects, Scorecards excluded —
 * and, when narrow is not NULL, that match narrow too, at the batch's
 * time. The same evaluation (cw_facts_of, cw_scorecard_eval) as the results
 * API, without its JSON. *rows (the caller's, cw_sc_rows_free) in the
 * batch's key order.
 */
cw_err cw_sc_rows(const cw_facts_batch *b, const cw_scorecard *card, const cw_filter *narrow,
                  cw_sc_row **rows, size_t *n, cw_diag *d);
void cw_sc_rows_free(cw_sc_row *rows, size_t n);

/*
 * Takes today's (now_ms, UTC) snapshot of every scorecard not snapshotted
 * yet today: *taken scorecards stored by this call, *rows their entity
 * rows (both may be NULL). Reads nothing more when every scorecard has its
 * day already.
 */
cw_err cw_scorecards_snapshot(cw_store *s, const cw_findings_cfg *cfg, int64_t now_ms,
                              size_t *taken, size_t *rows, cw_diag *d);

#endif
