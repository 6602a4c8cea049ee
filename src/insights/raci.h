/*
 * raci.h — the effective RACI matrix of an entity after inheritance
 * (component -> system -> domain), from an index of Responsibilities
 * entities. The kind itself, its activity sets and its validation are
 * catalog rules (catalog/responsibilities.h, included here). Pure: no I/O.
 */
#ifndef CW_INSIGHTS_RACI_H
#define CW_INSIGHTS_RACI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "catalog/catalog.h"
#include "catalog/responsibilities.h"
#include "util/err.h"

/* ---- effective RACI ------------------------------------------------------- */

/*
 * An index of Responsibilities entities by the key of their target, built
 * once over a catalog and queried for many entities. Entities of other kinds
 * in the input are ignored, as are Responsibilities whose spec.target does
 * not parse. The index borrows the entities: they must outlive it.
 * When several Responsibilities declare the same activity for the same
 * target, the one whose own ref sorts first (by key) wins, so the answer
 * never depends on input order. A declaration whose accountable is not a
 * string (only possible for unvalidated input) is ignored.
 */
typedef struct cw_raci_index cw_raci_index;

cw_err cw_raci_index_build(json_t *const *entities, size_t n, cw_raci_index **out,
                           cw_diag *d);
void cw_raci_index_free(cw_raci_index *ix);

/*
 * The declaration of activity for the target with key target_key (a
 * lower-cased "kind:ns/name"), or NULL. *resp_out (may be NULL) receives the
 * Responsibilities entity that declared it. Borrowed pointers.
 */
const json_t *cw_raci_index_lookup(const cw_raci_index *ix, const char *target_key,
                                   const char *activity, const json_t **resp_out);

/*
 * The effective matrix of target (a Component, System or Domain entity):
 * per activity, the target's own declaration wins, else its system's, else
 * its domain's. system_ref and domain_ref name the inheritance chain and may
 * be NULL: for a Component pass its spec.system and that system's
 * spec.domain; for a System pass NULL and its spec.domain; for a Domain
 * NULL and NULL (passing one that does not apply is CW_ERR_INVALID). Bare
 * names default to kinds System and Domain and to the target's namespace.
 *
 * *out (caller owns) is the body of GET /api/v1/raci/{kind}/{ns}/{name}:
 *   {"entityRef": "component:default/pay-api",
 *    "activities": [{"activity", "responsible": [...], "accountable",
 *                    "consulted": [...], "informed": [...],
 *                    "source": {"responsibilities": "responsibilities:default/payments",
 *                               "target": "system:default/payments",
 *                               "inherited": true}}, ...],
 *    "missing": ["data-durability", ...]}
 * Activities come in standard order, then organisation activities by name;
 * refs are written in full ("group:default/sre"); missing lists the
 * standard activities that have no accountable after inheritance.
 */
cw_err cw_raci_index_effective(const cw_raci_index *ix, const json_t *target,
                               const char *system_ref, const char *domain_ref,
                               json_t **out, cw_diag *d);

/* One-shot form: builds an index over resps (Responsibilities entities that
 * target the entity, its system or its domain; others are ignored). */
cw_err cw_raci_effective(const json_t *target, const char *system_ref,
                         const char *domain_ref, json_t *const *resps, size_t nresps,
                         json_t **out, cw_diag *d);

#endif
