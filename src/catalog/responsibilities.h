/*
 * responsibilities.h — the Responsibilities kind (apiVersion conway.dev/v1)
 * as the catalog sees it: who is responsible, accountable, consulted and
 * informed for each activity around a Component, System or Domain; the set
 * of known activities (the standard ones plus the organisation's own, which
 * the caller passes to validation: there is no process-wide registry) and
 * the kind's validation. Pure: no I/O. The effective matrix after
 * inheritance is an insight (insights/raci.h).
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
#ifndef CW_CATALOG_RESPONSIBILITIES_H
#define CW_CATALOG_RESPONSIBILITIES_H

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
typedef struct cw_activity_set {
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

/* The checks shaped like the catalog's cw_kind_check_fn (catalog/kinds.h):
 * cw_responsibilities_check_spec with the caller's activity set. */
void cw__responsibilities_kind_check(const json_t *entity, const json_t *spec, const char *ns,
                                     const cw_activity_set *known, cw_issue_list *out);

#endif
