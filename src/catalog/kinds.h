/*
 * kinds.h — internal to src/catalog/: the table of known entity kinds and
 * their spec rules, shared by validation (validate.c) and relation
 * derivation (relations.c) so the two can never disagree.
 *
 * To give a kind its own rules: describe its simple spec fields in a
 * cw_spec_field array and/or write a cw_kind_check_fn, then point its row in
 * the table in kinds.c at them. Reference fields listed with a relation type
 * produce relations automatically.
 */
#ifndef CW_CATALOG_KINDS_H
#define CW_CATALOG_KINDS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "catalog/catalog.h"

typedef enum {
    CW_FIELD_STRING,      /* non-empty string */
    CW_FIELD_STRING_LIST, /* array of non-empty strings */
    CW_FIELD_REF,         /* entity reference string */
    CW_FIELD_REF_LIST,    /* array of entity reference strings */
    CW_FIELD_OBJECT,      /* JSON object (contents not checked) */
    CW_FIELD_ARRAY        /* JSON array (contents not checked) */
} cw_field_type;

typedef struct {
    const char *name;          /* key under spec */
    cw_field_type type;
    bool required;
    const char *default_kind;  /* refs: kind when the ref has none; NULL = must be explicit */
    const char *relation;      /* refs: relation type produced, or NULL */
} cw_spec_field;

/* Extra checks beyond the field table. spec is the entity's spec object (or
 * NULL when absent), ns its namespace, activities the caller's activity set
 * (NULL = the standard ones). Report problems with cw__issue. */
typedef void (*cw_kind_check_fn)(const json_t *entity, const json_t *spec, const char *ns,
                                 const struct cw_activity_set *activities, cw_issue_list *out);

typedef struct {
    const char *kind;                 /* canonical spelling */
    const char *const *api_versions;  /* NULL-terminated list accepted; NULL = any */
    bool spec_required;
    const cw_spec_field *fields;
    size_t nfields;
    cw_kind_check_fn check;           /* may be NULL */
} cw_kind_rule;

/* The rule of a kind (any case), or NULL for kinds conway does not know. */
const cw_kind_rule *cw__kind_rule(const char *kind);

/* The rule applied to kinds conway does not know (spec.owner if present). */
const cw_kind_rule *cw__unknown_kind_rule(void);

/* Adds an issue "<path>: <message>" (just "<message>" for an empty path).
 * Ignores NULL lists; sets l->nomem if the list cannot grow. */
void cw__issue(cw_issue_list *l, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Printable, shortened copy of untrusted text for messages (64 chars + "..."). */
void cw__clip(const char *s, char out[72]);

#endif
