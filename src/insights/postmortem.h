/*
 * postmortem.h — what conway checks about incidents and their postmortems
 * (issue #13): every serious incident gets a postmortem, every lesson an
 * action item, every action item an owner who exists, answers for the
 * activity it touches, and does it on time. Pure: the caller hands in the
 * catalog's entities (Postmortems, Groups, Users, Components, Systems,
 * Responsibilities...) and the incidents (from the store), and gets findings
 * in the shape of the ownership findings (ownership.h), so they share the
 * answer of GET /api/v1/insights/ownership and `conway check`.
 *
 * Rules (severity in brackets):
 *  incident-without-postmortem [error]  a resolved incident (state resolved,
 *        not closed) of severity at or above the threshold (default
 *        critical), resolved at least `days` days ago (default 5), that no
 *        Postmortem names in spec.incidents.
 *  action-overdue [error]               an action item still open or in
 *        progress after its due date (the whole due day), against its owner.
 *  action-owner-unknown [error]         an action item whose owner is no
 *        Group or User of the catalog.
 *  action-owner-not-accountable [warning] an action item with an activity
 *        whose owner is neither accountable nor responsible for that
 *        activity (after inheritance: component, system, domain) on a
 *        component of the postmortem's incidents; a User counts when a
 *        Group they belong to is.
 *  postmortem-without-actions [error]   a Postmortem with no action items.
 *
 * Findings: {"rule", "severity", "entityRef", "detail", "owner"?, ...}:
 * entityRef is the Postmortem (action and postmortem rules) or the
 * incident's Component ("incident:<ref>" when it has none); "owner" is the
 * action item's owner, or the incident's owning team, so that filtering by
 * team finds them; "actionItem" {id, title, owner, due, status, activity?}
 * or "incident" {id, ref, title, severity, resolvedAt} say what they are
 * about. Sorted by rule, then entity, then detail.
 */
#ifndef CW_INSIGHTS_POSTMORTEM_H
#define CW_INSIGHTS_POSTMORTEM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events/incident.h"
#include "util/err.h"

#define CW_POSTMORTEM_DEFAULT_DAYS 5
#define CW_POSTMORTEM_MAX_DAYS 3650

/* The postmortem rules, sorted. */
#define CW_POSTMORTEM_NRULES 5
extern const char *const cw_postmortem_rules[CW_POSTMORTEM_NRULES];

/* An incident as the rules see it (strings borrowed). */
typedef struct {
    int64_t id;
    const char *ref;            /* subject id: what spec.incidents names */
    const char *title;          /* or NULL */
    cw_severity severity;
    cw_incident_state state;
    int64_t resolved_ms;        /* 0: not resolved */
    const char *component_ref;  /* or NULL */
    const char *owner_ref;      /* or NULL */
} cw_pm_incident;

typedef struct {
    cw_severity threshold;      /* CW_SEV_UNKNOWN = the default, critical */
    int days;                   /* < 0: the default, 5 */
    int64_t now_ms;
} cw_postmortem_opts;

/*
 * The findings of the rules above over entities (the whole catalog, as the
 * store renders it; relations optional) and incidents. *out (caller owns)
 * is a JSON array, sorted. CW_ERR_NOMEM only.
 */
cw_err cw_postmortem_check(json_t *const *entities, size_t n, const cw_pm_incident *incidents,
                           size_t nincidents, const cw_postmortem_opts *opts, json_t **out,
                           cw_diag *d);

/*
 * The Postmortems among entities whose spec.incidents names ref, by entity
 * ref: [{"entityRef", "title"?, "summary", "actionItems": N,
 * "openActionItems": N}]. *out caller owns.
 */
cw_err cw_postmortems_naming(json_t *const *entities, size_t n, const char *ref, json_t **out,
                             cw_diag *d);

/*
 * The action items still owed (open or in progress) by the team team_ref
 * or by its members (Users that are members of it), overdue first (by due
 * date), then by due date, postmortem and id:
 * [{"postmortem", "id", "title", "owner", "due", "status", "overdue",
 *   "daysOverdue" (when overdue), "activity"?, "issueUrl"?}].
 * CW_ERR_INVALID when team_ref does not parse. team_ref NULL: everyone's
 * (the organisation's report).
 */
cw_err cw_postmortem_team_actions(json_t *const *entities, size_t n, const char *team_ref,
                                  int64_t now_ms, json_t **out, cw_diag *d);

/*
 * The incident findings and the ownership findings in one array, sorted as
 * each of them is (rule, entity, detail). Either may be NULL. *out (caller
 * owns) shares the finding objects.
 */
cw_err cw_findings_merge(const json_t *a, const json_t *b, json_t **out, cw_diag *d);

#endif
