/*
 * raci.h — the Responsibilities kind (apiVersion conway.dev/v1): who is
 * responsible, accountable, consulted and informed for each activity around
 * a Component, System or Domain; its validation; and the effective RACI
 * matrix of an entity after inheritance (component -> system -> domain).
 * Pure: no I/O. The HTTP handlers and the store call these functions.
 *
 *   apiVersion: conway.dev/v1
 *   kind: Responsibilities
 *   metadata: {name: payments}
 *   spec:
 *     target: system:default/payments     # Component, System or Domain
 *     activities:
 *       incident-resolution:
 *         responsible: [group:default/payments-team]   # at least one
 *         accountable: group:default/payments-team     # exactly one
 *         consulted: [group:default/sre]               # optional
 *         informed: [user:default/cto]                 # optional
 *
 * Reference defaulting (decided here, documented in docs/responsibilities.md):
 *  - spec.target has no default kind: it must say component:, system: or
 *    domain: (a bare name is ambiguous between the three).
 *  - people refs (responsible/accountable/consulted/informed) default to kind
 *    Group, like spec.owner, and must be of kind Group or User.
 *  - a missing namespace defaults to the Responsibilities entity's own
 *    namespace (Backstage's rule for relations), "default" when it has none.
 */
#ifndef CW_INSIGHTS_RACI_H
#define CW_INSIGHTS_RACI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "catalog/catalog.h"
#include "util/buf.h"
#include "util/err.h"

#define CW_RACI_API_VERSION "conway.dev/v1"
#define CW_RACI_KIND "Responsibilities"

/* The standard activities, in the order reports list them. */
#define CW_RACI_NSTANDARD 9
extern const char *const cw_raci_standard_activities[CW_RACI_NSTANDARD];

/*
 * The set of known activity names: always the standard ones, plus the
 * organisation's own (extra). A zero-initialised set (or a NULL pointer
 * wherever a set is taken) is exactly the standard activities. The set owns
 * copies of the extra names.
 */
typedef struct {
    char **extra;  /* owned, sorted, unique, none of them standard */
    size_t len;
    size_t cap;
} cw_activity_set;

void cw_activity_set_init(cw_activity_set *s);
void cw_activity_set_free(cw_activity_set *s);

/* Activity names follow the DNS-label rule, like namespaces: 1-63 chars of
 * [a-z0-9] separated by single '-' ("incident-resolution", "cost-control"). */
bool cw_activity_name_valid(const char *name);

/*
 * Adds an organisation activity. Standard names and names already present are
 * accepted silently (no duplicate). CW_ERR_INVALID (set unchanged) when the
 * name breaks the rule above, d naming it; CW_ERR_NOMEM when out of memory.
 */
cw_err cw_activity_set_add(cw_activity_set *s, const char *name, cw_diag *d);

/* Whether name is known; s may be NULL (standard set). Case-sensitive. */
bool cw_activity_set_has(const cw_activity_set *s, const char *name);

/* Whether name is one of the standard activities. */
bool cw_activity_is_standard(const char *name);

/* Appends "ci-cd, mechanical-sympathy, ..., <extras>" to out. */
cw_err cw_activity_set_describe(const cw_activity_set *s, cw_buf *out);

/*
 * Validates a Responsibilities entity: apiVersion conway.dev/v1, kind
 * Responsibilities, then the spec rules (check_spec below). Does not modify
 * the entity and does not check metadata (the catalog validator does).
 * known may be NULL for the standard activities only.
 * Returns CW_OK, CW_ERR_INVALID with every problem in d as
 * "<field path>: <rule>" joined by "; " (truncated to fit), or CW_ERR_NOMEM.
 * Example: "spec.activities.incident-resolution.accountable: exactly one
 * accountable is required".
 */
cw_err cw_responsibilities_validate(json_t *entity, const cw_activity_set *known,
                                    cw_diag *d);

/*
 * The same spec rules, collecting every problem into out (appended, at most
 * CW_ISSUES_MAX kept, the rest counted in out->dropped; out->nomem set when
 * an issue could not be stored). spec may be NULL (reported as missing); ns
 * is the entity's namespace (NULL = "default") used to default refs.
 * Rules: spec.target a ref with an explicit kind Component, System or
 * Domain; spec.activities a non-empty object whose keys are known
 * activities; each activity an object with only responsible, accountable,
 * consulted, informed; accountable exactly one ref string; responsible a
 * non-empty array of refs; consulted and informed arrays of refs; every ref
 * of kind Group or User; no ref twice in one list.
 */
void cw_responsibilities_check_spec(const json_t *spec, const char *ns,
                                    const cw_activity_set *known, cw_issue_list *out);

/*
 * Process-wide activity registry for the catalog validator, which has no way
 * to pass a set: cw_responsibilities_validate_default and
 * cw_responsibilities_kind_check use the standard activities plus the names
 * registered here. Call cw_raci_register_activities once at startup, BEFORE
 * any thread validates entities (it is not synchronised); a later call
 * replaces the previous extra names. CW_ERR_INVALID (registry unchanged) when
 * a name is invalid: check names first with cw_activity_set_add for a
 * detailed message. n == 0 clears the registry.
 */
cw_err cw_raci_register_activities(const char *const *names, size_t n);
/* The registered set (standard + registered extras); never NULL. */
const cw_activity_set *cw_raci_registered_activities(void);
/* Frees the registry (tests and clean shutdown). */
void cw_raci_registry_reset(void);

/* cw_responsibilities_validate with the registered activity set: the
 * function for the catalog's per-kind rule table. */
cw_err cw_responsibilities_validate_default(json_t *entity, cw_diag *d);

/* The same checks shaped like the catalog's cw_kind_check_fn
 * (src/catalog/kinds.h), using the registered activity set. */
void cw_responsibilities_kind_check(const json_t *entity, const json_t *spec,
                                    const char *ns, cw_issue_list *out);

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
