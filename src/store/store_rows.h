/*
 * store_rows.h — the backend-neutral half of the SQLite and PostgreSQL
 * stores (internal to src/store/): rows turned into structs from plain
 * column values, SQL assembly parameterised by a small dialect (event
 * filters, entity pages, scopes), checks made before any SQL runs, the
 * link-key index, the delivery scan's shared SQL and the migration loop. A backend keeps its SQL text, binding and stepping, reads each
 * column into the plain values below and hands them over.
 */
#ifndef CW_STORE_ROWS_H
#define CW_STORE_ROWS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/events_impl.h"
#include "store/store_common.h"
#include "util/strmap.h"

/* ---- plain column values ------------------------------------------------------ */

/* A text column as the engine returned it: s NULL for SQL NULL; borrowed. */
typedef struct {
    const char *s;
    size_t n;
} cw__text;

/* A malloc'd NUL-terminated copy of t, or NULL for SQL NULL; sets *oom
 * (and returns NULL) when the copy cannot be made. */
char *cw__text_dup(cw__text t, bool *oom);

/* A malloc'd copy of s with ASCII letters lower-cased; NULL when out of memory. */
char *cw__dup_lower(const char *s);

/* The key of a statement cache entry: FNV-1a of the SQL text. */
uint64_t cw__hash_sql(const char *sql);

/* ---- small SQL dialect ---------------------------------------------------------- */

/* One bound value of assembled SQL: text (borrowed), or an integer. */
typedef struct {
    const char *text;      /* NULL: the value is i */
    int64_t i;
} cw__sql_param;

/* What differs in the text of the SQL both engines otherwise share. */
typedef struct {
    char placeholder;          /* '?' for "?N" (SQLite), '$' for "$N" (PostgreSQL) */
    const char *true_lit;      /* "1" / "true" */
    /* a WHERE condition "column starts with p", p the placeholder twice */
    const char *prefix_fmt;    /* e.g. "substr(e.type, 1, length(%s)) = %s" */
    const char *resolved;      /* event_links.resolved as a condition */
    /* "(time, seq) older than (a, b)", a and b placeholders */
    const char *older_fmt;
} cw__sql_dialect;

/* ---- scopes --------------------------------------------------------------------- */

/*
 * SQL selecting the entity ids of a scope's Components into out; param is
 * the placeholder text the scope's key is bound to ("?1", "$2"); the whole
 * organisation takes no parameter.
 */
void cw__scope_ids_sql(const cw_scope *sc, const char *param, char *out, size_t cap);

/* SQL listing the scope's Components in key order: id, ref and the first
 * ownedBy target (or NULL); the key is bound to param as above. */
void cw__delivery_components_sql(const cw_scope *sc, const char *param, char *out, size_t cap);

/* ---- events: listing -------------------------------------------------------------- */

/* "service", "repository" or NULL (static) for a CW_LINK_* kind. */
const char *cw__link_name(int kind);

/* The columns of an event as listed, in the order cw__event_list_sql selects them. */
typedef struct {
    int64_t seq, time_ms, received_ms;
    cw__text source, id, type, subject_id, chain_id, environment, artifact_id;
    int link_kind;             /* 0 when NULL */
    cw__text link_value, component_ref, body;
} cw__event_cols;

/*
 * Fills e (zeroed first) with copies of r's values. A failed copy or a
 * missing required column (source, id, type, subject, body) is
 * CW_ERR_NOMEM in d; what was copied stays owned by e either way.
 */
cw_err cw__stored_event_fill(cw_stored_event *e, const cw__event_cols *r, cw_diag *d);

/*
 * The SQL listing the events q selects, newest first, in dialect dl, and
 * its values: params (up to CW__EVENT_QUERY_PARAMS) numbered 1.. in order.
 * The columns are those of cw__event_cols. CW_ERR_NOMEM in d on failure.
 */
#define CW__EVENT_QUERY_PARAMS 8
cw_err cw__event_list_sql(const cw_event_query *q, const cw__sql_dialect *dl, cw_buf *sql,
                          cw__sql_param params[CW__EVENT_QUERY_PARAMS], int *nparams,
                          cw_diag *d);

/* One row of the unmatched-keys listing into k (k->value owned by k). */
cw_err cw__unmatched_key_fill(cw_unmatched_key *k, int link_kind, cw__text value,
                              int64_t events, int64_t last_ms, cw_diag *d);

/* Hands keys[0..len) over to *out / *n, or frees them when err is set. */
cw_err cw__unmatched_keys_done(cw_err err, cw_unmatched_key *keys, size_t len,
                               cw_unmatched_key **out, size_t *n);

/* Whether an event arriving with a stored event's (source, id) is the same
 * event: the same compact text, or the same JSON value (member order
 * aside). Otherwise it is a conflict, not a duplicate. */
bool cw__event_body_same(const char *stored, size_t stored_len, const char *incoming);

/* ---- events: link index ------------------------------------------------------------ */

/* The catalog as the link rules see it (events.h, cw_link_index): a key
 * that several Components claim links to none of them. Zero it before use. */
typedef struct {
    cw_link_index *idx;    /* created by the first add */
} cw__link_index;

/* Adds Component id; service_id, repo and slug are NULL when absent (or not
 * strings). Fails only with CW_ERR_NOMEM. */
cw_err cw__link_index_add(cw__link_index *x, int64_t id, const char *name,
                          const char *service_id, const char *repo, const char *slug);
/* Entity id of the one Component a link key matches, or -1 (none, or
 * several); *oom set when a lower-cased copy could not be made. */
int64_t cw__link_index_resolve(const cw__link_index *x, int kind, const char *value, bool *oom);
void cw__link_index_free(cw__link_index *x);

/* Appends one Component to a cw_link_owners list (strings copied; owner_key,
 * service_id, repo and slug may be NULL). CW_ERR_NOMEM only. */
cw_err cw__link_owner_add(cw_link_owners *l, size_t *cap, const char *ref, const char *owner_key,
                          const char *name, const char *service_id, const char *repo,
                          const char *slug);

/* The columns both backends select for it, in this order: ref, owner key,
 * name, then the three annotations (text when they are strings). */
#define CW__LINK_OWNERS_OWNER_SQL                                                     \
    "(SELECT target_key FROM relations r WHERE r.entity_id = e.id AND"                \
    " r.type = 'ownedBy' ORDER BY target_key LIMIT 1)"

/* ---- events: ids of environments and link keys within one transaction ---------------- */

typedef struct {
    cw_strmap env;         /* name -> id */
    cw_strmap link;        /* "<kind>:<value>" -> id */
    bool new_links;        /* a link row was inserted */
} cw__event_ids;

/* Finds or creates the row of environment `value` (kind 0) or of link key
 * (kind, value): its id, and whether it was inserted. */
typedef cw_err (*cw__key_row_fn)(void *ctx, int kind, const char *value, int64_t *out,
                                 bool *inserted, cw_diag *d);

/* The id of an environment / link key: from the cache, else through fn
 * (then cached; a link insertion sets new_links). */
cw_err cw__event_env_id(cw__event_ids *x, const char *name, cw__key_row_fn fn, void *ctx,
                        int64_t *out, cw_diag *d);
cw_err cw__event_link_id(cw__event_ids *x, int kind, const char *value, cw__key_row_fn fn,
                         void *ctx, int64_t *out, cw_diag *d);
/* Cache lookups and fills without the database (CW_ERR_NOMEM only). */
bool cw__event_env_cached(const cw__event_ids *x, const char *name);
bool cw__event_link_cached(const cw__event_ids *x, int kind, const char *value);
cw_err cw__event_env_put(cw__event_ids *x, const char *name, int64_t id);
cw_err cw__event_link_put(cw__event_ids *x, int kind, const char *value, int64_t id);
/* Forgets every id (after a rollback they may no longer exist). */
void cw__event_ids_clear(cw__event_ids *x);

/* ---- events: delivery rows -------------------------------------------------------------- */

/* The matched link rows (id, component_id, kind) for the sink's link. */
#define CW__DELIVERY_LINKS_SQL \
    "SELECT id, component_id, kind FROM event_links WHERE component_id IS NOT NULL"
#define CW__DELIVERY_MAX_LINK_SQL "SELECT coalesce(max(id), 0) FROM event_links"
#define CW__DELIVERY_MAX_ENV_SQL "SELECT coalesce(max(id), 0) FROM event_envs"

/* ---- entities: before the SQL ------------------------------------------------------------ */

/* What identifies an entity being put: computed once from the document. */
typedef struct {
    cw_ref ref;
    char key[CW_REF_MAX];      /* lower-cased "kind:namespace/name" */
    char disp[CW_REF_MAX];     /* as written */
    char etag[48];             /* of the canonical JSON */
} cw__entity_ident;

/* Fills id from e, dropping e's server-owned "relations"; canon is scratch
 * space for the canonical JSON. */
cw_err cw__entity_identify(json_t *e, cw__entity_ident *id, cw_buf *canon, cw_diag *d);

/* Sets metadata.uid and metadata.etag. */
cw_err cw__entity_set_server_fields(json_t *e, const char *uid, const char *etag, cw_diag *d);

/*
 * The If-Match check of a put or a delete of entity disp whose stored etag
 * is cur (exists false: not stored). CW_ERR_PRECONDITION in d when refused.
 */
cw_err cw__entity_if_match(const char *disp, bool exists, const char *cur,
                           const char *if_match, cw_diag *d);

/* What is stored besides the entity row's identity (owned by the caller
 * once filled; cw__entity_derived_free releases it). */
typedef struct {
    cw_relation_list rels;
    cw_search_rows rows;
    char *text_name, *text_title, *text_desc;  /* lower-cased */
} cw__entity_derived;

/* Derives relations, search rows and texts from e (uid/etag set), and
 * appends its stored body (compact JSON) to body. */
cw_err cw__entity_derive(json_t *e, cw__entity_derived *x, cw_buf *body, cw_diag *d);
void cw__entity_derived_free(cw__entity_derived *x);

/* ---- entities: query assembly -------------------------------------------------------------- */

typedef struct cw__qb cw__qb;

/* How an engine writes the parts of an entity query that differ. */
typedef struct {
    bool numbered;             /* "$n" placeholders, else "?" */
    size_t max_params;         /* 0: no bound */
    bool (*value_ok)(const char *v); /* NULL, or false when v is bound as NULL */
    const char *true_lit;      /* "1" / "true" */
    /* the text search on one column c: find_open c ", " value find_close */
    const char *find_open, *find_close;
    /* how the page query writes e.id when it walks the key order */
    const char *key_order_id;
    /* appends a SELECT of the ids (column "id") of the entities matching f */
    void (*set)(cw__qb *b, const cw_filter *f);
} cw__qb_dialect;

/* SQL text plus the strings bound to its placeholders in order (owned). */
struct cw__qb {
    const cw__qb_dialect *dl;
    cw_buf sql;
    char **vals;
    size_t n, cap;
    cw_err err;                /* sticky: the first failure */
};

void cw__qb_init(cw__qb *b, const cw__qb_dialect *dl);
void cw__qb_free(cw__qb *b);
void cw__qb_sql(cw__qb *b, const char *s);
/* Appends a placeholder (then cast, for "$n") bound to v, which b owns from
 * now on (NULL: out of memory). */
void cw__qb_take(cw__qb *b, char *v, const char *cast);
/* A placeholder bound to the lower-cased copy of v. */
void cw__qb_param(cw__qb *b, const char *v);
/* The failure recorded in b, put in d. */
cw_err cw__qb_error(const cw__qb *b, cw_diag *d);

bool cw__has_filter(const cw_filter *f);
bool cw__is_relation_key(const char *key);
bool cw__has_empty_value(const cw_filter_cond *k);

/* " AND col IN (<ids matching f>)" when f has clauses. */
void cw__qb_filter_in(cw__qb *b, const char *col, const cw_filter *f);
/* The count of the entities q matches (filter and text) over entities e. */
void cw__qb_count(cw__qb *b, const cw_entity_query *q);
/* "SELECT e.id, e.key" of q's page in its order, up to (without) LIMIT. */
void cw__qb_page(cw__qb *b, const cw_entity_query *q);

/* size_t as a non-negative int64 (saturating). */
int64_t cw__clamp64(size_t v);

/* ---- counts ---------------------------------------------------------------------------------- */

/* The entities per kind, the first spelling of each (case-insensitive) kind. */
#define CW__ENTITY_COUNTS_SQL                                                        \
    "SELECT min(kind), count(*) FROM entities GROUP BY lower(kind) ORDER BY 1"

/* Adds one row of the kind counts (first spelling of a kind, count) to res. */
cw_err cw__counts_add(json_t *res, const char *kind, int64_t n, cw_diag *d);

/* ---- migrations ------------------------------------------------------------------------------ */

/* How an engine records and applies its schema version (conn is the
 * backend's connection). */
typedef struct {
    void *conn;
    size_t n;                  /* migrations known to this program */
    /* migration i: its version (must be i + 1), one line saying what, SQL */
    void (*step)(size_t i, int *version, const char **what, const char **sql);
    cw_err (*read_version)(void *conn, int *out, cw_diag *d);
    /* opens the migration transaction (serialised with other processes)
     * and reads the version again inside it */
    cw_err (*begin)(void *conn, int *out, cw_diag *d);
    cw_err (*exec)(void *conn, const char *sql, cw_diag *d);
    cw_err (*set_version)(void *conn, int version, cw_diag *d);
    cw_err (*commit)(void *conn, cw_diag *d);
    void (*rollback)(void *conn);
} cw__migrator;

/* Applies the pending migrations, one transaction each; a database newer
 * than the program is CW_ERR_UNSUPPORTED. */
cw_err cw__migrate(const cw__migrator *m, cw_diag *d);

#endif
