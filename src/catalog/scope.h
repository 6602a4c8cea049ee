/*
 * scope.h — a set of Components that insights and event listings are asked
 * about: the whole catalog, one Component, the Components that are partOf a
 * System, or those ownedBy a Group or (by default) its descendant groups. Pure: no I/O (whether the entity exists
 * is the store's question).
 */
#ifndef CW_CATALOG_SCOPE_H
#define CW_CATALOG_SCOPE_H

#include <stdbool.h>

#include "catalog/catalog.h"
#include "util/err.h"

typedef enum {
    CW_SCOPE_ORG = 0,
    CW_SCOPE_COMPONENT,
    CW_SCOPE_SYSTEM,
    CW_SCOPE_GROUP
} cw_scope_kind;

typedef struct cw_scope {
    cw_scope_kind kind;
    char key[CW_REF_MAX];  /* lower-cased entity key; "" for org */
    /* a Group's own Components only; false (the default) includes the
     * Components of its descendant groups (childOf/parentOf) */
    bool direct_only;
} cw_scope;

/* Parses "org" or an entity ref (a bare name means a Component) into a
 * scope. CW_ERR_INVALID for other kinds or a malformed ref. */
cw_err cw_scope_parse(const char *text, cw_scope *out, cw_diag *d);

/* Whether sc names an entity (not NULL, not the whole organisation). */
bool cw_scope_is_entity(const cw_scope *sc);

#endif
