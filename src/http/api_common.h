/*
 * api_common.h — checks and records shared by every writing route:
 * team-scoped write permission and the audit trail.
 */
#ifndef CW_API_COMMON_H
#define CW_API_COMMON_H

#include <jansson.h>
#include <stdbool.h>

#include "http/http_int.h"

/* Whether the request's token may create/change/delete `entity` (and the
 * stored entity of the same ref, if any). CW_ERR_FORBIDDEN with d saying why. */
cw_err cw_api_check_write_entity(cw_app *app, const cw_req *req, const json_t *entity,
                                 cw_diag *d);
/* Same, queueing a 403 problem and returning false when refused. */
bool cw_api_may_write_entity(cw_app *app, const cw_req *req, cw_resp *resp,
                             const json_t *entity);

/* Appends an audit record for a write to one entity / many refs. */
void cw_api_audit(cw_app *app, const cw_req *req, const char *action, const json_t *entity);
void cw_api_audit_refs(cw_app *app, const cw_req *req, const char *action, const json_t *refs);

#endif
