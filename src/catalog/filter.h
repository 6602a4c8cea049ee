/*
 * filter.h — the entity filter (cw_filter: the model the store answers,
 * store.h) and turning query parameters into one:
 * Backstage's `filter=` syntax, plus conditions added one by one (what the
 * HTTP layer does for conway's own parameters such as kind or owner).
 * Pure: no I/O.
 *
 * Semantics (Backstage's entity filter): every `filter` parameter is one
 * clause and clauses are ORed. A clause is a comma-separated list of
 * conditions "key=value" or a bare "key" (the key exists), ANDed; the same
 * key twice in one clause means any of its values. Keys and values are
 * trimmed of surrounding whitespace and matched lower-cased (ASCII).
 */
#ifndef CW_CATALOG_FILTER_H
#define CW_CATALOG_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define CW_FILTER_MAX_CLAUSES 100
#define CW_FILTER_MAX_CONDS 100     /* per clause, counting each value */
#define CW_FILTER_MAX_KEY 200       /* longer keys are never indexed */
#define CW_FILTER_MAX_VALUE 200     /* longer values are never indexed */

/* Filters in Backstage's model: an OR of clauses, each an AND of conditions
 * on search keys (see cw_entity_search_rows). Keys and values lower-case. */
typedef struct {
    const char *key;          /* "kind", "spec.type", "relations.ownedby", ... */
    const char *const *values; /* match any of these; nvalues == 0: key exists */
    size_t nvalues;
} cw_filter_cond;

typedef struct {
    cw_filter_cond *conds;
    size_t n;
} cw_filter_clause;

typedef struct {
    cw_filter_clause *clauses;
    size_t n;                 /* 0 = match everything */
} cw_filter;

struct cw_filter_mem;
struct json_t;

/* A cw_filter together with the memory behind it. `filter` may be passed to
 * the store as is; everything it points to is owned by this object. */
typedef struct cw_filter_owned {
    cw_filter filter;
    struct cw_filter_mem *mem;   /* private */
} cw_filter_owned;

/*
 * Parses n `filter` parameter values (already URL-decoded). n == 0 gives a
 * filter with no clauses, which matches everything. Empty clauses, empty
 * conditions ("a=1,,b=2"), empty keys ("=x") or values ("a="), control
 * characters and exceeded bounds are CW_ERR_INVALID with d naming the
 * problem. On success *out is the caller's (free with cw_filter_owned_free);
 * on error *out is NULL.
 */
cw_err cw_filter_parse_backstage(const char *const *params, size_t n,
                                 cw_filter_owned **out, cw_diag *d);

/*
 * ANDs one condition into every clause (creating the single clause when the
 * filter has none): key equals value, or key exists when value is NULL. Key
 * and value are trimmed and lower-cased like parsed ones. On error the
 * filter is unchanged.
 */
cw_err cw_filter_add_condition(cw_filter_owned *f, const char *key, const char *value,
                               cw_diag *d);

/* Like cw_filter_add_condition with "key is any of values" (nvalues >= 1). */
cw_err cw_filter_add_any(cw_filter_owned *f, const char *key, const char *const *values,
                         size_t nvalues, cw_diag *d);

/*
 * conway's own list parameters, each one condition:
 *   kind -> kind, namespace -> metadata.namespace, name -> metadata.name,
 *   owner -> relations.ownedby (value as an entity ref key, default kind
 *   Group), system -> relations.partof (default kind System),
 *   type -> spec.type, lifecycle -> spec.lifecycle, tag -> metadata.tags.
 * cw_filter_is_native_param says whether name is one of them;
 * cw_filter_add_native ANDs the condition in (CW_ERR_INVALID for another
 * name or a value that is not a valid reference).
 */
bool cw_filter_is_native_param(const char *name);
cw_err cw_filter_add_native(cw_filter_owned *f, const char *name, const char *value,
                            cw_diag *d);

void cw_filter_owned_free(cw_filter_owned *f);

/*
 * Whether a stored entity (with its "relations": [{type, targetRef}] as the
 * store renders it) matches f, in memory, by the same search rows the store
 * indexes (cw_entity_search_rows): what the store's filter would answer
 * for that entity. A filter with no clauses matches everything; false when
 * memory runs out (filter_match.c, issue #15's scorecard scopes).
 */
bool cw_filter_matches_entity(const cw_filter *f, const struct json_t *entity);

#endif
