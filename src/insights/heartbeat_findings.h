/*
 * heartbeat_findings.h — ownership findings about heartbeats ("backups
 * that fail silently"), in the shape of ownership.h's findings so that they
 * join them in GET /api/v1/insights/ownership, the team page and `conway
 * check ownership`. Pure: the caller hands in the catalog and the stored
 * heartbeat rows (store_heartbeats.h) and the time.
 *
 * Rules:
 *  heartbeat-down (error)         a heartbeat is down (by the clock, also
 *                                 before the scheduler recorded it); owner:
 *                                 its owner; teams: the accountable for
 *                                 data-durability of its target (RACI, after
 *                                 inheritance target -> system -> domain)
 *  heartbeat-without-target (warning) no spec.target, or a target that does
 *                                 not exist in the catalog
 *  untested-backup (warning)      a production Resource of spec.type
 *                                 database (spec.lifecycle production, or a
 *                                 production Component depends on it) with no
 *                                 backup heartbeat, or with one but no
 *                                 restore-test heartbeat that succeeded
 *                                 within restore_test_days
 */
#ifndef CW_INSIGHTS_HEARTBEAT_FINDINGS_H
#define CW_INSIGHTS_HEARTBEAT_FINDINGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/heartbeat.h"
#include "util/err.h"

#define CW_HB_RESTORE_TEST_DAYS 30

typedef struct {
    int restore_test_days;     /* 0 = CW_HB_RESTORE_TEST_DAYS */
} cw_hb_findings_opts;

/* Appends the findings to out (a JSON array). */
cw_err cw_heartbeat_findings(json_t *const *entities, size_t n, const cw_hb_row *rows,
                             size_t nrows, int64_t now_ms, const cw_hb_findings_opts *opts,
                             json_t *out, cw_diag *d);

/*
 * The catalog entities heartbeat-down's accountable depends on, for a
 * caller that hands cw_heartbeat_findings only those (the notifier, one
 * heartbeat at a time): besides every Responsibilities entity, the target
 * itself and the System it names; its Domain is looked up by key only.
 * Writes the System's key (lower-case "system:ns/name") of target (the
 * target's entity, or NULL) to key; false when there is none.
 */
bool cw_hb_accountable_system(const json_t *target, char key[CW_REF_MAX]);

/* Sorts findings by rule, then entity ref, then detail (the order of
 * cw_ownership_check), in place. */
void cw_findings_sort(json_t *findings);

#endif
