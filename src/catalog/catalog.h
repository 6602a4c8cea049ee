/*
 * catalog.h — the Backstage-compatible entity model: entity references,
 * validation, relations and search keys. Pure: no I/O, no globals beyond
 * constant tables. Entities are jansson objects in Backstage's envelope
 * ({apiVersion, kind, metadata, spec}); this module checks and normalises
 * them and derives everything the store indexes.
 *
 * Case: names, namespaces and kinds compare ignoring case (ASCII), as in
 * Backstage. A "key" is the fully lower-cased "kind:namespace/name" used for
 * comparisons and uniqueness; a "ref" string keeps the name's case and
 * lower-cases kind and namespace ("component:default/Foo").
 */
#ifndef CW_CATALOG_H
#define CW_CATALOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

#define CW_NAME_MAX 63            /* Backstage: names, namespaces, kinds */
#define CW_REF_MAX 256            /* "kind:namespace/name" plus NUL, with room */
#define CW_DEFAULT_NAMESPACE "default"

typedef struct {
    char kind[CW_NAME_MAX + 1];       /* as written in the entity kind table: "Component" */
    char namespace_[CW_NAME_MAX + 1]; /* as written */
    char name[CW_NAME_MAX + 1];       /* as written */
} cw_ref;

/*
 * Parses "[kind:][namespace/]name" with Backstage's rules (standards.md §7).
 * default_kind may be NULL, in which case a ref without a kind is an error
 * (e.g. dependsOn entries). A missing namespace becomes default_ns or
 * "default". Parts longer than CW_NAME_MAX are rejected. The kind is
 * canonicalised to the known kind's spelling when it names a known kind
 * ("component" -> "Component"). On error d names the rule broken.
 * Like Backstage, characters are not validated, except that control
 * characters (below 0x20 and 0x7f) are rejected so keys stay printable.
 * Case folding is ASCII only.
 */
cw_err cw_ref_parse(const char *text, const char *default_kind,
                    const char *default_ns, cw_ref *out, cw_diag *d);

/* "component:default/Foo" (kind and namespace lower-cased). */
void cw_ref_format(const cw_ref *r, char out[CW_REF_MAX]);
/* "component:default/foo" (everything lower-cased): the comparison key. */
void cw_ref_key(const cw_ref *r, char out[CW_REF_MAX]);
/* Lower-cases any ref string into its key form; returns false when it does
 * not parse as a full kind:namespace/name ref. */
bool cw_ref_text_to_key(const char *text, char out[CW_REF_MAX]);
/* The ref of an entity (from kind/metadata.namespace/metadata.name). */
cw_err cw_entity_ref(const json_t *entity, cw_ref *out, cw_diag *d);

/* Known kind's canonical spelling ("Component") for any case, or NULL. */
const char *cw_kind_canonical(const char *kind);

/* Whether a team-scoped token may write entities of this kind (any case):
 * the kinds whose ownership is a catalog concept (Component, API, Resource,
 * System, Domain and conway's kinds with an owner). Not Group, User,
 * Location, Template or kinds conway does not know. The names, for
 * messages: cw_kind_team_writable_names(). */
bool cw_kind_team_writable(const char *kind);
const char *cw_kind_team_writable_names(void);

/* Validation rules of Backstage (standards.md §7); each returns true when valid. */
bool cw_valid_name(const char *s);
bool cw_valid_namespace(const char *s);
bool cw_valid_kind(const char *s);
bool cw_valid_api_version(const char *s);
bool cw_valid_label_key(const char *s);   /* also annotation keys */
bool cw_valid_label_value(const char *s);
bool cw_valid_tag(const char *s);

/* One validation problem. text is the full "<path>: <rule>" message. */
typedef struct {
    char path[128];   /* "metadata.tags[1]", "spec.owner", "" for the root */
    char text[384];
} cw_issue;

typedef struct {
    cw_issue *items;
    size_t len;
    size_t cap;
    size_t dropped;   /* issues beyond CW_ISSUES_MAX, counted not kept */
    bool nomem;       /* an issue could not be stored for lack of memory */
} cw_issue_list;

#define CW_ISSUES_MAX 64

void cw_issue_list_free(cw_issue_list *l);

/*
 * Like cw_entity_validate, but collects every problem found into issues
 * (which must be zero-initialised or previously used; it is appended to).
 * Returns CW_OK when no problem was found, CW_ERR_INVALID otherwise (d then
 * holds all messages joined by "; ", truncated to fit), CW_ERR_NOMEM when
 * the list cannot grow. Normalisation happens only when valid.
 */
cw_err cw_entity_validate_all(json_t *entity, cw_issue_list *issues, cw_diag *d);

/* The organisation's RACI activities (catalog/responsibilities.h). */
struct cw_activity_set;

/* cw_entity_validate_all and cw_entity_validate with the activity set that
 * Responsibilities entities are checked against (NULL = the standard
 * activities only, which is what the forms without _with use). */
cw_err cw_entity_validate_all_with(json_t *entity, const struct cw_activity_set *activities,
                                   cw_issue_list *issues, cw_diag *d);
cw_err cw_entity_validate_with(json_t *entity, const struct cw_activity_set *activities,
                               cw_diag *d);

/*
 * Validates an entity in place and normalises it: fills metadata.namespace
 * with "default" when missing, canonicalises the kind's spelling, removes
 * server-owned fields that the client must not set (metadata.uid,
 * metadata.etag, metadata.generation, relations, status). Checks the
 * envelope (only apiVersion, kind, metadata, spec at the top level),
 * metadata formats and sizes (description and annotation values up to
 * 64 KiB, title 1 KiB, at most 1000 labels, annotations, tags and links),
 * the apiVersions each known kind accepts (backstage.io/v1alpha1|v1beta1;
 * Template: scaffolder.backstage.io/v1beta3; conway kinds: conway.dev/v1)
 * and the spec fields of each kind (Component: type, lifecycle, owner; API:
 * type, lifecycle, owner, definition; Resource: type, owner; System: owner;
 * Domain: owner; Group: type, children; User: spec, memberOf optional;
 * Location: target or targets; Template: type; conway.dev/v1 kinds: spec,
 * Responsibilities with the rules of catalog/responsibilities.h). Every entity
 * reference in spec must parse (dependsOn/dependencyOf need a kind).
 * Unknown kinds with a valid kind are accepted with their own spelling.
 * On error returns CW_ERR_INVALID and d says "<field path>: <rule>" for
 * every problem, joined by "; " (e.g. "spec.owner: required for kind
 * Component"); the entity is then not normalised.
 */
cw_err cw_entity_validate(json_t *entity, cw_diag *d);

/* A relation from this entity to target (both directions are derived from it). */
typedef struct {
    const char *type;           /* static string: "ownedBy", "dependsOn", ... */
    char target_ref[CW_REF_MAX]; /* display form, "group:default/Team-A" */
    char target_key[CW_REF_MAX]; /* lower-cased key */
} cw_relation;

typedef struct {
    cw_relation *items;
    size_t len;
    size_t cap;
} cw_relation_list;

/*
 * Computes the outgoing relations of a validated entity from its spec
 * (spec.owner -> ownedBy, spec.system/domain/subdomainOf/subcomponentOf ->
 * partOf, dependsOn, dependencyOf, providesApis -> providesApi, consumesApis
 * -> consumesApi, memberOf, parent -> childOf, children -> parentOf, members
 * -> hasMember), as Backstage's BuiltinKindsEntityProcessor does. Refs
 * without a namespace take the entity's own namespace. Relations are
 * appended to list (zero-initialised or reused), sorted by (type, key)
 * without duplicates. Caller owns list (free with cw_relation_list_free).
 * Refs that do not parse are an error naming the field (list unchanged).
 */
cw_err cw_entity_relations(const json_t *entity, cw_relation_list *list, cw_diag *d);
void cw_relation_list_free(cw_relation_list *list);
/* The inverse relation type ("ownedBy" -> "ownerOf"), or NULL if unknown. */
const char *cw_relation_inverse(const char *type);

/* One indexable (key, value) pair, both lower-cased; Backstage search rules.
 * key and value share one allocation owned by the row list: free them only
 * through cw_search_rows_free. */
typedef struct {
    char *key;   /* e.g. "spec.type", "metadata.tags", "relations.ownedby" */
    char *value; /* e.g. "service"; NULL for a key whose value is null/absent */
    /* The original-case text value came from, when it differs from value:
     * what cw_search_original gives for (key, value). Borrowed from the
     * entity or the relation list the rows were built from. */
    const char *original;
} cw_search_row;

typedef struct {
    cw_search_row *items;
    size_t len;
    size_t cap;
} cw_search_rows;

/*
 * Flattens an entity into search rows the way Backstage's search table does:
 * every scalar leaf under metadata and spec (arrays contribute one row per
 * element under the same key, and an array of strings also gives
 * "<key>.<element>" = "true"), kind, apiVersion, metadata.name,
 * metadata.namespace (defaulted), metadata.uid, plus
 * "relations.<type lower-cased>" = target key for every relation given
 * (outgoing and incoming, as known at write time). metadata.etag,
 * metadata.generation, relations and status of the entity itself are not
 * indexed. Keys or values longer than 200 characters are skipped. Rows are
 * sorted by (key, value) and unique. rels may be NULL. *out must be
 * zero-initialised; on error it is left empty.
 */
cw_err cw_entity_search_rows(const json_t *entity, const cw_relation_list *rels,
                             cw_search_rows *out);
void cw_search_rows_free(cw_search_rows *rows);

/*
 * The original-case text of search row (key, value) of entity, for facets:
 * the first string (in document order) at the row's path whose lower case
 * is value (object member names may contain dots, so every member that is
 * a prefix of the path is tried), or for "relations.*" keys the target ref
 * of the first relation of rels with that type and target key. NULL when
 * that text equals value or nothing matches. Borrowed from entity or rels.
 */
const char *cw_search_original(const json_t *entity, const cw_relation_list *rels,
                               const char *key, const char *value);

/*
 * Canonical serialisation used to compute an etag: the entity without
 * metadata.uid/etag/generation, relations and status, keys sorted, compact.
 * Returns a malloc'd string, NULL when out of memory or not an object.
 */
char *cw_entity_canonical_json(const json_t *entity);
/* The same text appended to out (which stays as it was on failure):
 * CW_ERR_INVALID for a non-object or a string that is not UTF-8,
 * CW_ERR_NOMEM, CW_ERR_TOO_LARGE. */
cw_err cw_entity_canonical_json_into(const json_t *entity, cw_buf *out);

/* ---- YAML / JSON input ---------------------------------------------------- */

typedef struct {
    size_t max_depth;        /* nesting depth of mappings/sequences (default 64) */
    size_t max_nodes;        /* nodes per document after alias expansion (default 100000) */
    size_t max_documents;    /* documents per stream (default 100000) */
} cw_parse_limits;

void cw_parse_limits_default(cw_parse_limits *l);

/*
 * Parses a YAML stream (one or more documents) or JSON text into a JSON
 * array with one element per document (JSON input: an object is one
 * document, an array is one document per element). Empty (null) documents
 * are skipped. Aliases are expanded within the node limit; exceeding any
 * limit is CW_ERR_TOO_LARGE naming it. Besides the per-document limit, the
 * nodes added by expanding aliases over the whole stream may not exceed
 * max_nodes + len. An expanded alias shares (does not copy) the anchored
 * node, so a subtree may appear at several places of one document. A syntax
 * error is CW_ERR_INVALID with "document N: line L, column C: reason" in d.
 * lim may be NULL for the defaults. Caller owns *out.
 *
 * YAML scalars follow the YAML 1.2 core schema: plain null/~/empty, true/
 * false, integers (decimal, 0o octal, 0x hex) and floats become JSON types;
 * quoted and block scalars, and anything tagged !!str or !, stay strings;
 * .inf/.nan stay strings (JSON has no such numbers). Mapping keys must be
 * scalars and unique; merge keys (<<) are applied. NUL characters are
 * rejected. Input whose first non-space character is '{' or '[' is JSON
 * (strict, duplicate keys rejected; syntax errors "line L, column C: ...";
 * nesting beyond jansson's own limit of 2048 is CW_ERR_TOO_LARGE too).
 */
cw_err cw_parse_documents(const char *text, size_t len, const cw_parse_limits *lim,
                          json_t **out, cw_diag *d);

#endif
