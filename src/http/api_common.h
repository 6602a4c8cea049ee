/*
 * api_common.h — checks and records shared by every writing route:
 * team-scoped write permission and the audit trail.
 *
 * Team-scoped tokens (`conway token create --role editor --team GROUP`)
 * may create, change and delete only entities of the kinds a team owns
 * (cw_kind_team_writable: Component, API, Resource, System, Domain and
 * conway's kinds with an owner; never Group, User or Location), and of
 * those only:
 *  - entities whose spec.owner is that team, before AND after the change
 *    (so an entity can be neither taken from nor handed over to another
 *    team);
 *  - Responsibilities whose spec.target exists and is owned by that team,
 *    before and after the change.
 * Everything else is CW_ERR_FORBIDDEN (403) with a detail naming the field,
 * the token's team and the owner found. Tokens without a team are limited
 * only by their role (checked by the server before the handler runs).
 */
#ifndef CW_API_COMMON_H
#define CW_API_COMMON_H

#include <jansson.h>
#include <stdbool.h>

#include "events/events.h"
#include "http/http_int.h"
#include "store/store_audit.h"

/* Whether the request's token may create/change/delete `entity` (and the
 * stored entity of the same ref, if any). CW_ERR_FORBIDDEN with d saying why. */
cw_err cw_api_check_write_entity(cw_app *app, const cw_req *req, const json_t *entity,
                                 cw_diag *d);
/* Same, queueing a 403 problem and returning false when refused. */
bool cw_api_may_write_entity(cw_app *app, const cw_req *req, cw_resp *resp,
                             const json_t *entity);

/*
 * Whether a team-scoped token may act on the entity with key ref_key (a
 * lower-cased kind:namespace/name) without changing it — e.g. checking a
 * CODEOWNERS file against it: the stored entity must be owned by the team
 * (or, for Responsibilities, target an entity it owns). CW_ERR_NOT_FOUND
 * when it does not exist; CW_ERR_FORBIDDEN with d saying why.
 */
cw_err cw_api_check_team_entity(cw_app *app, const cw_req *req, const json_t *stored,
                                cw_diag *d);

/*
 * Issue #10: whether the request's token may store these entities (one PUT,
 * or every document of an import) without two Components claiming one
 * link key (events.h: service id, name, repository, project slug). For a
 * team-scoped token, a write after which one of its Components would share
 * a key with another Component is CW_ERR_CONFLICT (409) with d naming the
 * field, the key and the Component that holds it (and *ext, when not NULL,
 * {"conflictsWith", "linkKey": {"kind", "value"}} for the problem answer);
 * conflicts that were there before the write are not its doing and pass.
 * Other tokens pass: their write is stored, the key then links to nothing
 * and the ownership finding link-key-conflict names both Components.
 */
cw_err cw_api_check_link_keys(cw_app *app, const cw_req *req, json_t *const *entities, size_t n,
                              json_t **ext, cw_diag *d);

/*
 * Issue #10: whether the request's token may send these events. A token
 * bound to source prefixes (`conway token create --source`) may send only
 * events whose context.source starts with one of them; a team-scoped token
 * only events that link (events.h, as the store links them now) to a
 * Component its team owns, so events naming nothing, a key no Component or
 * several claim, or another team's Component are refused.
 * CW_ERR_FORBIDDEN (403) with d naming the event's index ("events[3]...")
 * and why; the request is all or nothing, so one such event refuses it.
 */
cw_err cw_api_check_events(cw_app *app, const cw_req *req, const cw_event *events, size_t n,
                           cw_diag *d);

/*
 * Audit records. Each appends one row to the store's audit log (time,
 * token id and name, action, entity refs, request id; see
 * store/store_audit.h) and writes the same as a log line. Call them right
 * after the write they record has committed. A failure to store the row is
 * logged as an error and does not change the answer: the write itself has
 * already happened. More than CW_AUDIT_MAX_REFS refs are cut to that many,
 * with the full count in detail.refsTotal.
 *   cw_api_audit       one entity (its ref from kind/metadata)
 *   cw_api_audit_refs  an array of ref strings (borrowed; may be NULL)
 *   cw_api_audit_detail  refs plus a detail object (borrowed; may be NULL)
 */
void cw_api_audit(cw_app *app, const cw_req *req, const char *action, const json_t *entity);
void cw_api_audit_refs(cw_app *app, const cw_req *req, const char *action, const json_t *refs);
void cw_api_audit_detail(cw_app *app, const cw_req *req, const char *action,
                         const json_t *refs, const json_t *detail);

/*
 * The two halves of the above, for a write that stores its audit record
 * itself (the events intake passes the entry to the store, which inserts it
 * with the events): cw_api_audit_build fills out->entry from the request
 * (refs cut to CW_AUDIT_MAX_REFS as above; out borrows from req, refs and
 * detail, and owns what it adds: cw_api_audit_rec_free);
 * cw_api_audit_log writes the log line of a record stored (err CW_OK, id)
 * or not (err, d says why).
 */
typedef struct {
    cw_audit_entry entry;
    size_t nrefs;               /* refs given, before any cut */
    json_t *own_refs, *own_detail;
} cw_api_audit_rec;

void cw_api_audit_build(const cw_req *req, const char *action, const json_t *refs,
                        const json_t *detail, cw_api_audit_rec *out);
void cw_api_audit_log(const cw_req *req, const cw_api_audit_rec *r, cw_err err, int64_t id,
                      const cw_diag *d);
void cw_api_audit_rec_free(cw_api_audit_rec *r);

/*
 * The whole catalog as the reports read it (api_responsibilities.c): the
 * shared snapshot, parsed again only where entities changed. *arr
 * (json_decref) and *items (free, borrowing arr's entities) are the
 * caller's; ownership_findings (may be NULL) receives the ownership
 * findings over it (a new reference). False after queueing the error.
 */
bool cw_api_catalog(cw_app *app, cw_resp *resp, json_t **arr, json_t ***items, size_t *n,
                    json_t **ownership_findings);

/*
 * The one pagination shape of the lists (docs/api.md): limit and cursor in,
 * "items", "totalItems" and "nextCursor" (null on the last page) out. For
 * lists built whole in memory the cursor is an opaque offset.
 */
typedef struct {
    size_t offset, limit;
} cw_api_page;

/* Reports (findings, undeployed components) answer everything unless a
 * smaller limit is asked for. */
#define REPORT_PAGE_MAX 100000

/* The cursor's text: base64url of "o1:" and the offset in decimal. decode
 * takes any text (outside input: fuzz/fuzz_page_cursor.c) and is false,
 * *offset 0, for anything encode cannot have made but leading zeros; encode
 * answers malloc'd text (NULL when out of memory). */
bool cw_api_cursor_decode(const char *text, uint64_t *offset);
char *cw_api_cursor_encode(uint64_t offset);

/* limit (1..max, default def) and cursor (one this list returned); false
 * after queueing a 400 naming the parameter. */
bool cw_api_page_params(const cw_req *req, cw_resp *resp, uint64_t def, uint64_t max,
                        cw_api_page *pg);

/* Keeps the page of body's array under key ("items" for lists; a report's
 * own name, e.g. "findings") and sets "totalItems" and "nextCursor".
 * CW_ERR_NOMEM on failure. */
cw_err cw_api_page_body(json_t *body, const char *key, const cw_api_page *pg);

/* Pages body (cw_api_page_body) and answers 200 with it; body NULL or out
 * of memory answers 500. Takes body. */
void cw_api_page_reply(cw_resp *resp, json_t *body, const char *key, const cw_api_page *pg);

#endif
