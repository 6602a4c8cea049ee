/*
 * scorecards.h — evaluating the catalog's Scorecards (catalog/scorecard.h)
 * over the facts of the entities in their scope (http/facts.h), and the
 * roll-ups per team, system and domain. Shared by GET /api/v1/scorecards…
 * (api_scorecards.c) and `conway check scorecard` (cli/check.c).
 */
#ifndef CW_HTTP_SCORECARDS_H
#define CW_HTTP_SCORECARDS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "catalog/scorecard.h"
#include "http/facts.h"
#include "util/err.h"

/* The batch's Scorecard entities, parsed (a stored one that no longer
 * parses is skipped). *cards is the caller's: cw_scorecards_free. */
cw_err cw_scorecards_load(const cw_facts_batch *b, cw_scorecard ***cards, size_t *n, cw_diag *d);
void cw_scorecards_free(cw_scorecard **cards, size_t n);

/* The Scorecard named name (namespace ns, NULL = any; the first by
 * namespace then), or CW_ERR_NOT_FOUND. *out is the caller's. */
cw_err cw_scorecard_find(const cw_facts_batch *b, const char *name, const char *ns,
                         cw_scorecard **out, cw_diag *d);

/*
 * Evaluates card over every entity of the batch its spec.filter selects
 * (Scorecards themselves excluded), in entity key order, at the batch's
 * time. *out: a JSON array of
 *   {"entityRef", "kind", "owner", "system", "domain",   (refs or null)
 *    + cw_scorecard_result_json's members (level, levelIndex, nextLevel,
 *      passed, failed, exempt, checks[] with values when with_values)}
 */
cw_err cw_scorecard_run(const cw_facts_batch *b, const cw_scorecard *card, bool with_values,
                        json_t **out, cw_diag *d);

/* Whether a result row belongs to scope (an entity key): the entity itself,
 * its owner, its system or its domain. NULL scope: every row. */
bool cw_scorecard_row_in_scope(const json_t *row, const char *scope_key);

/*
 * The summary of rows: {"entities", "none", "averageLevel",
 * "levels": [{"name", "count", "share"}], "checks": [{"id", "pass", "fail",
 * "exempt"}]} where count is the number of entities that reached at least
 * that level, averageLevel the mean of levelIndex + 1 (0 for an entity
 * with no level) and checks how many entities pass, fail or are exempt
 * from each check, in card order.
 */
json_t *cw_scorecard_summary(const cw_scorecard *card, const json_t *rows);

/* {"teams": [...], "systems": [...], "domains": [...]}: per owner, system
 * and domain the summary plus "ref" and "worst" (up to 5 entity refs,
 * lowest level first). */
json_t *cw_scorecard_rollups(const cw_scorecard *card, const json_t *rows);

#endif
