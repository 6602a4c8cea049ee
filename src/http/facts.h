/*
 * facts.h — the facts document of an entity (issue #15): everything conway
 * knows about it in one JSON document that scorecard rules
 * (catalog/rule.h) read by path. The inputs that span the organisation
 * (the catalog, the RACI index, every finding, the delivery rows, the
 * incidents, the heartbeats) are read and computed once per batch; each
 * entity's document is then assembled from them. Used by
 * GET /api/v1/entities/{kind}/{ns}/{name}/facts, the scorecard results and
 * `conway check scorecard`. Every field is documented in docs/scorecards.md.
 *
 *   {"ref", "kind", "entity" (as stored, with relations),
 *    "owner", "relations": {type: [refs]},
 *    "raci": {"activities": {activity: {accountable, responsible, consulted,
 *             informed, inherited}}, "missing": [...]} | null,
 *    "dora": {... 30 days, the entity's own scope ...} | null,
 *    "undeployed": {"count", "oldestMergedAt", "ageSeconds"} | null,
 *    "findings": {"count", "rules", "byKind", "items"},
 *    "incidents": {"open", "last90Days", "items"},
 *    "heartbeats": {"count", "up", "down", "byPurpose", "items"},
 *    "links": {"runbook", "dashboard", "docs", "repo", "other"},
 *    "apis": {"provided", "providedCount", "providedWithoutDefinition"}}
 */
#ifndef CW_HTTP_FACTS_H
#define CW_HTTP_FACTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "http/findings.h"
#include "store/store.h"
#include "util/err.h"

#define CW_FACTS_DORA_DAYS 30
#define CW_FACTS_INCIDENT_DAYS 90
#define CW_FACTS_MAX_ITEMS 20      /* incidents and findings listed per entity */

typedef struct cw_facts_batch cw_facts_batch;

/* Reads and computes the organisation-wide inputs at now_ms. cfg may be
 * NULL (defaults). Free with cw_facts_batch_free. */
cw_err cw_facts_batch_load(cw_store *s, const cw_findings_cfg *cfg, int64_t now_ms,
                           cw_facts_batch **out, cw_diag *d);
void cw_facts_batch_free(cw_facts_batch *b);

/* The catalog the batch read (borrowed; entities in key order). */
json_t *const *cw_facts_batch_entities(const cw_facts_batch *b, size_t *n);

/* The stored entity with this key ("component:default/orders", lower-case),
 * borrowed, or NULL. */
const json_t *cw_facts_batch_entity(const cw_facts_batch *b, const char *key);

/* The time the batch was loaded at (Unix ms). */
int64_t cw_facts_batch_now(const cw_facts_batch *b);

/* The facts document of entity (one of the batch's; a new reference to a
 * document the batch keeps, so evaluating several Scorecards builds it
 * once: do not modify it). A batch serves one thread at a time. */
cw_err cw_facts_of(const cw_facts_batch *b, const json_t *entity, json_t **out, cw_diag *d);

#endif
