/*
 * postmortem.h — the Postmortem kind (apiVersion conway.dev/v1, issue #13):
 * what was learnt from one or more incidents, and the action items that
 * turn each lesson into someone's work, with an owner and a due date.
 *
 *   apiVersion: conway.dev/v1
 *   kind: Postmortem
 *   metadata: {name: db-outage-2017-01-31}
 *   spec:
 *     owner: group:default/sre            # optional, like other conway kinds
 *     incidents: [INC-2017-0131]          # subject ids of the incidents (>= 1)
 *     summary: ...                        # required
 *     impact: ...
 *     timeline: [{at: 2017-01-31T21:00:00Z, text: ...}]
 *     whys: [...]                         # the five whys
 *     contributingFactors: [...]
 *     lessons: [...]
 *     actionItems:
 *       - id: AI-1                        # unique in the postmortem
 *         title: Test backup restores     # required
 *         owner: group:default/dba        # required: a Group or User ref
 *         due: 2017-02-28                 # required: YYYY-MM-DD or RFC 3339
 *         activity: data-durability       # optional: a RACI activity
 *         issueUrl: https://...           # optional: http(s)
 *         status: open                    # open | in-progress | done | wont-do
 *         doneAt: 2017-02-20              # optional, when done / wont-do
 *
 * Validation is the catalog's (cw_entity_validate calls
 * cw_postmortem_kind_check through the kind table), so a bad Postmortem is
 * refused on import and PUT like any entity, every wrong field named in
 * the problem answer. Pure: no I/O.
 */
#ifndef CW_CATALOG_POSTMORTEM_H
#define CW_CATALOG_POSTMORTEM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "catalog/catalog.h"

#define CW_POSTMORTEM_KIND "Postmortem"
#define CW_POSTMORTEM_MAX_ITEMS 1000   /* per list (incidents, actionItems, ...) */
#define CW_POSTMORTEM_ID_MAX 63        /* action item ids */
#define CW_POSTMORTEM_INCIDENT_MAX 256 /* an incident id */

typedef enum {
    CW_ACTION_OPEN = 0,
    CW_ACTION_IN_PROGRESS,
    CW_ACTION_DONE,
    CW_ACTION_WONT_DO
} cw_action_status;

/* "open", "in-progress", "done", "wont-do". */
const char *cw_action_status_name(cw_action_status s);
bool cw_action_status_parse(const char *name, cw_action_status *out);
/* Open or in progress: work still owed. */
static inline bool cw_action_status_pending(cw_action_status s)
{
    return s == CW_ACTION_OPEN || s == CW_ACTION_IN_PROGRESS;
}

/*
 * A due date or done date: "YYYY-MM-DD" (a calendar date, UTC) or an RFC
 * 3339 date-time. *ms_out is the start of the date (or the instant);
 * *end_ms_out (may be NULL) the first millisecond after it: the end of the
 * day for a date, the instant itself for a date-time. An action is overdue
 * from *end_ms_out on.
 */
bool cw_postmortem_date_parse(const char *text, int64_t *ms_out, int64_t *end_ms_out);

/*
 * The spec rules, shaped like the catalog's cw_kind_check_fn (kinds.h):
 * every problem is appended to out as "<path>: <rule>". ns defaults the
 * namespace of owner refs; an action item's activity must be one of
 * `activities` (catalog/responsibilities.h; NULL = the standard ones).
 */
struct cw_activity_set;
void cw_postmortem_kind_check(const json_t *entity, const json_t *spec, const char *ns,
                              const struct cw_activity_set *activities, cw_issue_list *out);

#endif
