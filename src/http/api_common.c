/* api_common.c — team-scoped write checks and audit records (see header). */
#include "http/api_common.h"

#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "util/log.h"

/* Key of the owner of an entity ("" when it has none). */
static void owner_key_of(const json_t *entity, char out[CW_REF_MAX])
{
    out[0] = '\0';
    const char *owner = json_string_value(json_object_get(json_object_get(entity, "spec"), "owner"));
    cw_ref ref;
    if (owner && cw_ref_parse(owner, "Group", NULL, &ref, NULL) == CW_OK)
        cw_ref_key(&ref, out);
}

cw_err cw_api_check_write_entity(cw_app *app, const cw_req *req, const json_t *entity,
                                 cw_diag *d)
{
    if (!req->authenticated || !req->token.team[0])
        return CW_OK;
    const char *team = req->token.team;
    char owner[CW_REF_MAX];
    owner_key_of(entity, owner);
    if (strcmp(owner, team) != 0)
        return cw_fail(d, CW_ERR_FORBIDDEN,
                       "spec.owner: this token is scoped to %s and may only write entities that "
                       "team owns (owner here: %s)",
                       team, owner[0] ? owner : "none");
    cw_ref ref;
    if (cw_entity_ref(entity, &ref, NULL))
        return CW_OK;
    char *stored = NULL;
    cw_diag gd;
    if (cw_store_entity_get(app->store, ref.kind, ref.namespace_, ref.name, &stored, NULL, &gd))
        return CW_OK; /* new entity */
    json_t *old = json_loads(stored, 0, NULL);
    free(stored);
    char old_owner[CW_REF_MAX] = "";
    if (old)
        owner_key_of(old, old_owner);
    json_decref(old);
    if (strcmp(old_owner, team) != 0)
        return cw_fail(d, CW_ERR_FORBIDDEN,
                       "this token is scoped to %s and the stored entity belongs to %s", team,
                       old_owner[0] ? old_owner : "no team");
    return CW_OK;
}

bool cw_api_may_write_entity(cw_app *app, const cw_req *req, cw_resp *resp,
                             const json_t *entity)
{
    cw_diag d = {{0}};
    cw_err err = cw_api_check_write_entity(app, req, entity, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        return false;
    }
    return true;
}

static void audit(const cw_req *req, const char *action, json_t *refs)
{
    json_t *f = json_pack("{s:s, s:o, s:s}", "action", action, "entityRefs", refs, "requestId",
                          req->request_id);
    if (f && req->authenticated) {
        json_object_set_new(f, "tokenId", json_integer(req->token.id));
        json_object_set_new(f, "tokenName", json_string(req->token.name));
    }
    cw_log(CW_LOG_INFO, "audit", f);
}

void cw_api_audit(cw_app *app, const cw_req *req, const char *action, const json_t *entity)
{
    (void)app;
    cw_ref ref;
    char text[CW_REF_MAX];
    json_t *refs = json_array();
    if (cw_entity_ref(entity, &ref, NULL) == CW_OK) {
        cw_ref_format(&ref, text);
        json_array_append_new(refs, json_string(text));
    }
    audit(req, action, refs);
}

void cw_api_audit_refs(cw_app *app, const cw_req *req, const char *action, const json_t *refs)
{
    (void)app;
    audit(req, action, json_deep_copy(refs));
}
