/*
 * undeployed.h — the inventory of undeployed work (issue #3): per component,
 * the merged changes that no production deployment has picked up yet, under
 * the same attribution rule as DORA lead time (dora.h), so a change is either
 * in a deployment's lead time or in this list, never both. Pure.
 */
#ifndef CW_UNDEPLOYED_H
#define CW_UNDEPLOYED_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "insights/dora.h"
#include "util/err.h"

#define CW_UNDEPLOYED_DEFAULT_LIST_CAP 50

typedef struct {
    const char *change_id;     /* borrowed from the input */
    int64_t merged_ms;
} cw_undeployed_change;

typedef struct {
    int32_t component;
    size_t count;              /* all undeployed merged changes */
    int64_t oldest_merged_ms;
    int64_t age_seconds;       /* now - oldest merge, never negative */
    cw_undeployed_change *changes; /* oldest first, at most list_cap */
    size_t nchanges;
} cw_undeployed_item;

typedef struct {
    cw_undeployed_item *items; /* components with count > 0, oldest first:
                                  age desc, then component index */
    size_t len;
    cw_undeployed_change *storage_; /* backs every items[i].changes */
} cw_undeployed_result;

/*
 * Uses in->deployments (production deployments only) and in->changes; other
 * arrays are ignored. list_cap 0 = CW_UNDEPLOYED_DEFAULT_LIST_CAP. Errors as
 * cw_dora_compute (component out of range). Free with cw_undeployed_free.
 */
cw_err cw_undeployed_compute(const cw_dora_input *in, int64_t now_ms, size_t list_cap,
                             cw_undeployed_result *out, cw_diag *d);
void cw_undeployed_free(cw_undeployed_result *r);

/*
 * {"now": t, "components": [{"component": ref, "count": n, "oldestMergedAt": t,
 * "ageSeconds": n, "changes": [{"id": s, "mergedAt": t}], "truncated": b}]}
 * component_refs[i] names component i. Caller owns *out.
 */
cw_err cw_undeployed_to_json(const cw_undeployed_result *r, const char *const *component_refs,
                             int64_t now_ms, json_t **out);

#endif
