/*
 * entity_facts.h — the pure parts of an entity's facts document (issue #15,
 * http/facts.h assembles the whole): its links by type, its relations by
 * type, and filing findings under the entities they name. No I/O; unit
 * tested in tests/unit/test_entity_facts.c. Fields: docs/scorecards.md.
 */
#ifndef CW_INSIGHTS_ENTITY_FACTS_H
#define CW_INSIGHTS_ENTITY_FACTS_H

#include <jansson.h>

#include "util/err.h"

/* Appends v (a new reference, stolen; NULL = out of memory) to the array
 * at map[key], creating it. */
cw_err cw_facts_push(json_t *map, const char *key, json_t *v);

/* The type of a metadata.links entry: its `type`, else a word of its
 * title, icon or URL (in that order): "runbook", "dashboard", "docs",
 * "repo", or "other". */
const char *cw_link_type(const json_t *link);

/* {"runbook": [...], "dashboard": [...], "docs": [...], "repo": [...],
 *  "other": [...]} of the entity's metadata.links ({url, title}) plus the
 * annotations backstage.io/source-location and github.com/project-slug
 * (repo), backstage.io/techdocs-ref (docs) and conway.dev/runbook
 * (runbook) as {url, annotation}. *out is the caller's even on failure. */
cw_err cw_facts_links(const json_t *entity, json_t **out);

/* {type: [targetRef, ...]} of the entity's stored relations. *out is the
 * caller's even on failure. */
cw_err cw_facts_relations(const json_t *entity, json_t **out);

/* Files every finding of findings under each entity key it names
 * (entityRef and entities[], each once) in map (key -> array), as a copy
 * with "kind" set. */
cw_err cw_facts_file_findings(json_t *map, const char *kind, const json_t *findings);

#endif
