/*
 * store_common.h — backend-independent helpers shared by every store
 * implementation: entity keys, uid and etag generation, rendering an entity
 * with its relations as JSON text, the original-case value of a search row,
 * and the in-memory cache of rendered entities. Internal to src/store/.
 */
#ifndef CW_STORE_COMMON_H
#define CW_STORE_COMMON_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "util/buf.h"
#include "util/err.h"

/* Lower-cases ASCII letters in place (kinds, namespaces and names are ASCII). */
void cw__lower_ascii(char *s);

/*
 * Builds the lower-cased key "kind:namespace/name" for a lookup. A part that
 * is NULL, empty or longer than CW_NAME_MAX is CW_ERR_INVALID naming it.
 */
cw_err cw__entity_key(const char *kind, const char *ns, const char *name,
                      char out[CW_REF_MAX], cw_diag *d);

/* A random (version 4) UUID in its 36-character text form. */
cw_err cw__uuid4(char out[37], cw_diag *d);

/* The etag of a canonical JSON text: the first 32 hex digits of its SHA-256. */
cw_err cw__etag(const char *canonical, char out[48], cw_diag *d);

/*
 * Whether an If-Match value accepts the current etag: the bare etag, or an
 * HTTP If-Match field value — "*", quoted or weak (W/"…") tags, a
 * comma-separated list of them. A NULL if_match accepts anything.
 */
bool cw__etag_matches(const char *if_match, const char *etag);

/* The lower-case hex SHA-256 check used for token hashes: 64 hex digits. */
bool cw__is_sha256_hex(const char *s);

/*
 * The original-case text of search row (key, value) of entity, for facets:
 * the string in the entity the row came from, or the relation's display ref
 * for "relations.*" keys. NULL when it equals value or cannot be found
 * (callers then use value). Borrowed from entity or rels.
 */
const char *cw__search_original(const json_t *entity, const cw_relation_list *rels,
                                const char *key, const char *value);

/*
 * Appends v as compact JSON (object members in their insertion order). A
 * faster equivalent of json_dumps(v, JSON_COMPACT) for storing bodies.
 */
cw_err cw__json_compact(const json_t *v, cw_buf *out);

/* ---- relations as shown on an entity ----------------------------------------- */

typedef struct {
    char *type;   /* "ownedBy" */
    char *ref;    /* "group:default/Team-A" (display) */
    char *key;    /* "group:default/team-a" */
} cw__rel;

typedef struct {
    cw__rel *items;
    size_t len;
    size_t cap;
} cw__rel_vec;

/* Copies the three strings; NULL type is ignored (unknown inverse). */
cw_err cw__rel_vec_add(cw__rel_vec *v, const char *type, const char *ref,
                       const char *key);
void cw__rel_vec_reset(cw__rel_vec *v);
void cw__rel_vec_free(cw__rel_vec *v);

/*
 * Appends to out the stored body (compact JSON object text without
 * "relations") with "relations": [...] added: sorted by (type, key, ref),
 * deduplicated on (type, key), each {"type","targetRef","target":{kind,
 * namespace,name}}. Sorts rels in place.
 */
cw_err cw__render_entity(const char *body, size_t body_len, cw__rel_vec *rels,
                         cw_buf *out);

/* ---- rendered-entity cache ---------------------------------------------------
 * Maps entity key -> rendered JSON and etag, stamped with the generation
 * counter that the database holds and that every entity write bumps inside
 * its transaction. A reader reads the generation in the same snapshot as the
 * data it renders, so an entry is valid exactly when its generation is the
 * current one; writes from other processes (the CLI) are seen the same way.
 * Inserting an entry of a newer generation drops all older ones, so memory
 * holds one generation at most, and at most max_bytes of it.
 */
typedef struct cw__rcache cw__rcache;

cw_err cw__rcache_new(size_t max_bytes, cw__rcache **out);
void cw__rcache_free(cw__rcache *c);
/* On a hit returns true with a malloc'd copy in *json_out (caller frees)
 * and the etag copied to etag_out (if not NULL). */
bool cw__rcache_get(cw__rcache *c, const char *key, int64_t gen, char **json_out,
                    char etag_out[48]);
/* Best effort: failures to allocate simply do not cache. */
void cw__rcache_put(cw__rcache *c, const char *key, int64_t gen, const char *json,
                    size_t len, const char *etag);

/*
 * A cheaper validity check for backends that can read a change marker
 * without a transaction (SQLite: the commit counter in the WAL index). mark
 * records "at marker m the generation was gen" — gen must have been read
 * in a snapshot taken after m was read. get_marked then serves entries
 * while the marker is unchanged, without asking the database.
 */
void cw__rcache_mark(cw__rcache *c, uint32_t marker, int64_t gen);
bool cw__rcache_get_marked(cw__rcache *c, const char *key, uint32_t marker,
                           char **json_out, char etag_out[48]);

#endif
