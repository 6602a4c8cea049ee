/*
 * scope.c — parsing a scope ("org" or an entity ref) (scope.h).
 */
#include "catalog/scope.h"

#include <string.h>

cw_err cw_scope_parse(const char *text, cw_scope *out, cw_diag *d)
{
    memset(out, 0, sizeof *out);
    if (!text || !*text)
        return cw_fail(d, CW_ERR_INVALID, "scope: must not be empty (use 'org' or an entity ref)");
    if (!strcmp(text, "org")) {
        out->kind = CW_SCOPE_ORG;
        return CW_OK;
    }
    cw_ref ref;
    cw_diag rd = {{0}};
    if (cw_ref_parse(text, "Component", NULL, &ref, &rd))
        return cw_fail(d, CW_ERR_INVALID, "scope: %s", rd.msg);
    if (!strcmp(ref.kind, "Component"))
        out->kind = CW_SCOPE_COMPONENT;
    else if (!strcmp(ref.kind, "System"))
        out->kind = CW_SCOPE_SYSTEM;
    else if (!strcmp(ref.kind, "Group"))
        out->kind = CW_SCOPE_GROUP;
    else
        return cw_fail(d, CW_ERR_INVALID,
                       "scope: '%s' is a %s; use 'org', a Component, a System or a Group", text,
                       ref.kind);
    cw_ref_key(&ref, out->key);
    return CW_OK;
}

bool cw_scope_is_entity(const cw_scope *sc) { return sc && sc->kind != CW_SCOPE_ORG; }
