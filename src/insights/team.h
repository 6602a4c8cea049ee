/*
 * team.h — the picture of one team (a Group with spec.type "team") over a
 * whole catalog: who is in it, who leads it, what it owns, which RACI roles
 * it holds, how much it carries, and the ownership findings that concern
 * it. Pure: the caller hands in every entity (as the store renders them,
 * relations optional) and gets one JSON object back. It is the body of
 * GET /api/v1/teams/{namespace}/{name}.
 *
 * Team annotations (Team Topologies and the talk's "pair a product manager
 * with a tech lead in every team"):
 *   conway.dev/team-type        stream-aligned | platform | enabling |
 *                               complicated-subsystem
 *   conway.dev/product-manager  a User ref
 *   conway.dev/tech-lead        a User ref
 */
#ifndef CW_INSIGHTS_TEAM_H
#define CW_INSIGHTS_TEAM_H

#include <jansson.h>
#include <stddef.h>

#include "insights/ownership.h"
#include "util/err.h"

#define CW_TEAM_ANN_TYPE "conway.dev/team-type"
#define CW_TEAM_ANN_PM "conway.dev/product-manager"
#define CW_TEAM_ANN_TL "conway.dev/tech-lead"
/* The activity whose responsible/accountable parties are "on call". */
#define CW_TEAM_ONCALL_ACTIVITY "incident-resolution"

#define CW_TEAM_NTYPES 4
extern const char *const cw_team_types[CW_TEAM_NTYPES];

/*
 * The report of the team team_ref ("group:ns/name", or a bare name: kind
 * Group, namespace "default"). *out (caller owns):
 * {"entityRef", "title"?, "description"?,
 *  "teamType": "stream-aligned"|...|null  (the annotation as written),
 *  "productManager"|"techLead": {"ref", "exists", "member", "displayName"?}|null,
 *  "parent": ref|null,
 *  "members": [{"ref", "displayName"?, "email"?}]       existing Users, by ref,
 *  "owns": {"Component": [refs], "System": [...], ...}  existing entities whose
 *           owner is the team, by kind, each sorted,
 *  "raci": [{"target", "activity", "roles": ["responsible", "accountable",
 *            "consulted", "informed" (those it holds)], "responsibilities"}]
 *           every declaration naming the team, by target then activity,
 *  "load": {"components", "productionComponents", "systems",
 *           "maxComponentsPerTeam", "overloaded" (production > max),
 *           "onCall": {"activity": "incident-resolution", "count",
 *                      "components": [refs]}   production Components whose
 *                      incident resolution the team is responsible or
 *                      accountable for after inheritance (component ->
 *                      system -> domain),
 *           "accountableActivities": N   (production Component, standard
 *                      activity) pairs where the team is accountable after
 *                      inheritance},
 *  "findings": [...]   the ownership findings (cw_ownership_check) about
 *                      the team, what it owns or the resources it shares,
 *  "notes": ["..."]    missing or doubtful team annotations, no members}
 * Memberships come from User spec.memberOf, Group spec.members and
 * memberOf/hasMember relations; ownership from spec.owner and ownedBy/
 * ownerOf relations. CW_ERR_NOT_FOUND when there is no such Group;
 * CW_ERR_INVALID when team_ref does not parse or the Group is not of
 * spec.type "team" (d says which type it is). all_findings is the result
 * of cw_ownership_check over the same entities and opts when the caller
 * has it (it is only read), or NULL to compute it here.
 */
cw_err cw_team_report(json_t *const *entities, size_t n, const char *team_ref,
                      const cw_ownership_opts *opts, const json_t *all_findings,
                      json_t **out, cw_diag *d);

/*
 * The Groups whose parent is group_ref (spec.parent or a childOf relation,
 * or named in its spec.children / parentOf): *out (caller owns) is an array
 * sharing the entities, in catalog order. CW_ERR_NOT_FOUND when there is no
 * such Group, CW_ERR_INVALID when group_ref does not parse.
 */
cw_err cw_group_children(json_t *const *entities, size_t n, const char *group_ref, json_t **out,
                         cw_diag *d);

/*
 * The keys of group_ref and of every Group below it, as the set *out (a JSON
 * object key -> true, caller owns). A cycle in the catalog ends the walk; a
 * group not in the catalog gives the set of its own key only.
 */
cw_err cw_group_descendants(json_t *const *entities, size_t n, const char *group_ref,
                            json_t **out, cw_diag *d);

#endif
