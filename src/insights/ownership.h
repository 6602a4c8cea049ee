/*
 * ownership.h — ownership findings over a whole catalog ("the buck always
 * stops somewhere"): owners that do not exist, components owned by one
 * person, teams without members or with too much to run, production
 * components with an activity nobody is accountable for, resources shared
 * by several teams and owned by none of them, users in no group.
 * Pure: the caller hands in every entity (as the store returns them) and
 * gets findings back; the HTTP handler (GET /api/v1/insights/ownership) and
 * the CLI (conway check ownership) format and filter them.
 */
#ifndef CW_INSIGHTS_OWNERSHIP_H
#define CW_INSIGHTS_OWNERSHIP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define CW_OWNERSHIP_DEFAULT_MAX_COMPONENTS 8

/* Rule names, sorted (the order findings come in); heartbeat-down,
 * heartbeat-without-target and untested-backup come from
 * insights/heartbeat_findings.h, joined by the callers. */
#define CW_OWNERSHIP_NRULES 13
/* location-unreachable fires at this many failed fetches in a row. */
#define CW_OWNERSHIP_FETCH_FAILURES 3
extern const char *const cw_ownership_rules[CW_OWNERSHIP_NRULES];

typedef struct {
    /* team-overload fires above this many production components; 0 = 8. */
    size_t max_components_per_team;
} cw_ownership_opts;

/*
 * Computes the findings over entities (Backstage envelope objects, each
 * optionally with "relations": [{type, targetRef, target: {kind, namespace,
 * name}}] in both directions as the store renders them; relations only add
 * to what spec says, so entities read from files work too). Responsibilities
 * entities among them give the RACI for no-accountable. Entities without a
 * kind or name are skipped. opts may be NULL.
 *
 * *out (caller owns) is a JSON array of findings sorted by rule, then
 * entity key, then detail:
 *   {"rule", "severity": "error"|"warning", "entityRef", "detail",
 *    "owner"?      the entity's owner ref, when it has one,
 *    "activities"? no-accountable: the standard activities without accountable,
 *    "teams"?      shared-resource-owner: the owners of the using components}
 *
 * Rules (a ref's kind and namespace default as in Backstage: spec.owner to
 * Group, memberOf to Group, members to User, the entity's namespace):
 *  owner-missing (error)         spec.owner is absent on a Component, API,
 *                                Resource, System or Domain, does not parse,
 *                                is not a Group or User, or names none that exists
 *  owner-is-user (warning)       spec.owner is a User: bus factor one
 *  team-without-members (warning) a Group of spec.type "team" with no existing
 *                                User member (User spec.memberOf, Group
 *                                spec.members, memberOf/hasMember relations)
 *  no-accountable (error)        a Component with spec.lifecycle "production"
 *                                has a standard activity with no accountable
 *                                after inheritance (component, its system,
 *                                that system's domain)
 *  shared-resource-owner (warning) a Resource that components of two or more
 *                                owners depend on (spec.dependsOn or dependsOn
 *                                relations) and whose owner is none of them
 *  team-overload (warning)       a Group that owns more than
 *                                max_components_per_team production Components
 *  orphan-user (warning)         a User that is a member of no existing Group
 *  orphan-entity (warning)       an entity annotated backstage.io/orphan: "true" (its
 *                                location no longer holds it; ingest/locations.h)
 *  location-unreachable (warning) a Location annotated conway.dev/fetch-failures of
 *                                CW_OWNERSHIP_FETCH_FAILURES or more
 *  link-key-conflict (error)     two Components claim one link key (events.h:
 *                                a service id, name or repository an event
 *                                could carry matches both), so events carrying
 *                                it link to neither; "entities" names both,
 *                                "teams" their owners, "linkKey" {kind, value}
 * Runs in time roughly linear in the number of entities and references.
 */
cw_err cw_ownership_check(json_t *const *entities, size_t n, const cw_ownership_opts *opts,
                          json_t **out, cw_diag *d);

/* Same, over a JSON array of entities. */
cw_err cw_ownership_check_array(const json_t *entities, const cw_ownership_opts *opts,
                                json_t **out, cw_diag *d);

typedef struct {
    const char *rule;      /* NULL or one of cw_ownership_rules */
    const char *severity;  /* NULL, "error" or "warning" */
    const char *team;      /* NULL or a group ref (default kind Group, namespace
                              "default"): findings about that entity, owned by
                              it, or naming it in "teams" */
    const json_t *team_keys; /* NULL or a set (object key -> anything) of group
                                keys: with team, findings about any of them
                                (the team and its descendant groups) */
} cw_ownership_filter;

/*
 * Keeps the findings matching every given criterion, in order. *out (caller
 * owns) shares the finding objects with the input. CW_ERR_INVALID naming the
 * parameter ("rule: unknown rule \"x\"; known rules: ...") for a bad filter.
 */
cw_err cw_ownership_filter_findings(const json_t *findings, const cw_ownership_filter *f,
                                    json_t **out, cw_diag *d);

/* Whether any finding has severity "error" (the CLI's exit status). */
bool cw_ownership_has_errors(const json_t *findings);

#endif
