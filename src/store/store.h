/*
 * store.h — conway's one storage interface. Every implementation (SQLite in
 * sqlite*.c, PostgreSQL in postgres*.c) provides the same behaviour, checked
 * by the conformance suite in tests/unit/test_store_conformance.c. No SQL
 * leaves src/store/. All functions are safe to call from many threads at once.
 *
 * Durability: a function that writes returns CW_OK only after the write is
 * committed to disk.
 *
 * Ownership: strings and arrays returned through out-parameters belong to the
 * caller, freed with the matching *_free function; inputs are borrowed.
 */
#ifndef CW_STORE_H
#define CW_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "catalog/filter.h"
#include "catalog/scope.h"
#include "util/err.h"

typedef struct cw_store cw_store;

/* ---- opening -------------------------------------------------------------- */

typedef struct {
    int pool_size;        /* connections for readers; 0 = default */
    bool read_only;       /* open without migrating (e.g. backup verify) */
} cw_store_options;

/* url is a file path (SQLite) or "postgres://..." / "postgresql://...".
 * Creates the database if needed and runs schema migrations. */
cw_err cw_store_open(const char *url, const cw_store_options *opt, cw_store **out,
                     cw_diag *d);
void cw_store_close(cw_store *s);
/* "sqlite" or "postgres". */
const char *cw_store_backend(const cw_store *s);
/* A cheap round trip proving the database answers (for /readyz). */
cw_err cw_store_ping(cw_store *s, cw_diag *d);
/* Schema version recorded in the database. */
cw_err cw_store_schema_version(cw_store *s, int *out, cw_diag *d);
/* Bytes used by the database (for /metrics). */
cw_err cw_store_size_bytes(cw_store *s, int64_t *out, cw_diag *d);

/* ---- entities ------------------------------------------------------------- */

typedef enum {
    CW_PUT_CREATED = 1,
    CW_PUT_UPDATED,
    CW_PUT_UNCHANGED
} cw_put_status;

typedef struct {
    cw_put_status status;
    char uid[40];
    char etag[48];
} cw_put_result;

/*
 * Inserts or replaces an entity that has passed cw_entity_validate. Names are
 * unique per (kind, namespace) ignoring case: a put with another case of an
 * existing name replaces that entity (keeping its uid). If if_match is not
 * NULL the current etag must equal it (CW_ERR_PRECONDITION otherwise;
 * CW_ERR_PRECONDITION too when if_match is given and the entity does not
 * exist). An unchanged entity is not rewritten. The store assigns
 * metadata.uid and metadata.etag and computes relations.
 * if_match may be the bare etag or an HTTP If-Match field value ("*",
 * quoted or W/ tags, a comma-separated list). The entity's metadata.uid and
 * metadata.etag are set in place.
 */
cw_err cw_store_entity_put(cw_store *s, json_t *entity, const char *if_match,
                           cw_put_result *res, cw_diag *d);

/* Puts many entities in one transaction (import). results has n slots.
 * All or nothing: on error nothing is written and d names the entity index. */
cw_err cw_store_entity_put_many(cw_store *s, json_t *const *entities, size_t n,
                                cw_put_result *results, cw_diag *d);

/*
 * Reads one entity by kind/namespace/name (any case). *json_out is the stored
 * entity with metadata.uid, metadata.etag and "relations": [{type, targetRef,
 * target: {kind, namespace, name}}] in both directions, as JSON text.
 * CW_ERR_NOT_FOUND when absent. etag_out (may be NULL) receives the etag.
 */
cw_err cw_store_entity_get(cw_store *s, const char *kind, const char *ns,
                           const char *name, char **json_out, char etag_out[48],
                           cw_diag *d);

/* Deletes; if_match as for put. CW_ERR_NOT_FOUND when absent. Relations that
 * point at the deleted entity from others are kept (they are dangling again). */
cw_err cw_store_entity_delete(cw_store *s, const char *kind, const char *ns,
                              const char *name, const char *if_match, cw_diag *d);

/* Filters: cw_filter (catalog/filter.h). */
typedef struct {
    const cw_filter *filter;  /* may be NULL */
    const char *text;         /* case-insensitive substring of name, title or
                                 description; NULL for none */
    const char *order_key;    /* search key to sort by; NULL = entity key */
    bool order_desc;
    size_t offset;            /* rows to skip (offset paging) */
    const char *after_key;    /* keyset paging when order_key is NULL: only
                                 entities whose key sorts after this */
    size_t limit;             /* max items returned; 0 = none (count only) */
} cw_entity_query;

typedef struct {
    char **items;             /* JSON texts as cw_store_entity_get gives */
    char **keys;              /* matching entity keys, same order */
    size_t len;
    size_t total;             /* all matches ignoring offset/after/limit */
} cw_entity_page;

cw_err cw_store_entity_query(cw_store *s, const cw_entity_query *q,
                             cw_entity_page *out, cw_diag *d);
void cw_entity_page_free(cw_entity_page *p);

/* Facets: for each key, the distinct values with counts among entities
 * matching filter. *out is a JSON object {key: [{"value":v,"count":n}]},
 * values as stored in the entity (original case), caller owns it. */
cw_err cw_store_entity_facets(cw_store *s, const char *const *keys, size_t nkeys,
                              const cw_filter *filter, json_t **out, cw_diag *d);

/* {"Component": 40, ...}: entity counts by kind. Caller owns *out. */
cw_err cw_store_entity_counts(cw_store *s, json_t **out, cw_diag *d);

/* ---- tokens --------------------------------------------------------------- */

#define CW_TOKEN_SOURCES_MAX 1024

typedef struct {
    int64_t id;
    char name[128];
    char role[16];              /* admin | editor | viewer | ingest */
    char team[CW_REF_MAX];      /* "" or the key of the group it is scoped to */
    /* "" or the context.source prefixes the token may send events under,
     * one per line (issue #10) */
    char sources[CW_TOKEN_SOURCES_MAX];
    int64_t created_at;         /* unix seconds */
    int64_t last_used_at;       /* 0 = never */
    int64_t revoked_at;         /* 0 = active */
} cw_token;

/* Stores a token by the hex SHA-256 of its secret; never the secret. */
cw_err cw_store_token_create(cw_store *s, const char *name, const char *role,
                             const char *team, const char *secret_hash,
                             cw_token *out, cw_diag *d);
/* Same, bound to source prefixes: sources is "" (any) or prefixes one per
 * line, each non-empty and without control characters, shorter than
 * CW_TOKEN_SOURCES_MAX in all; CW_ERR_INVALID naming the prefix otherwise. */
cw_err cw_store_token_create_sources(cw_store *s, const char *name, const char *role,
                                     const char *team, const char *sources,
                                     const char *secret_hash, cw_token *out, cw_diag *d);
/* Finds an active (not revoked) token by hash; CW_ERR_NOT_FOUND otherwise. */
cw_err cw_store_token_find(cw_store *s, const char *secret_hash, cw_token *out,
                           cw_diag *d);
cw_err cw_store_token_touch(cw_store *s, int64_t id, int64_t now, cw_diag *d);

/* One token's last use (unix seconds). */
typedef struct {
    int64_t id;
    int64_t at;
} cw_token_use;

/*
 * Records many last uses (ids unique) in one transaction: each token's last_used_at
 * becomes the later of its value and `at` (unknown ids are skipped). With
 * nowait the call never waits for a lock someone else holds (another
 * process's write, a row being revoked): it answers CW_ERR_BUSY at once,
 * having written nothing, for the caller to try again later. Bookkeeping
 * that must not hold up requests (issue #10) uses it from a background
 * thread (http/token_use.c).
 */
cw_err cw_store_token_touch_many(cw_store *s, const cw_token_use *uses, size_t n, bool nowait,
                                 cw_diag *d);
/* All tokens, revoked ones included, by id; *out is one array: free() it. */
cw_err cw_store_token_list(cw_store *s, cw_token **out, size_t *n, cw_diag *d);
cw_err cw_store_token_revoke(cw_store *s, int64_t id, int64_t now, cw_diag *d);

/* ==== backup and restore (store_backup.c, sqlite_backup.c) ==================== *
 * SQLite only: the PostgreSQL backend answers CW_ERR_UNSUPPORTED and points
 * to pg_dump / point-in-time recovery (docs/operations.md).
 *
 * The "in use" lock: every cw_store_open of a SQLite file holds a shared
 * flock(2) on "<file>.lock" until cw_store_close. cw_store_restore takes it
 * exclusively without waiting, so it never replaces a database that a
 * server, an import or any other conway command has open; an open that
 * meets a running restore waits for it (up to 10 s).
 */

#define CW_BACKUP_TABLE_NAME_MAX 128

typedef struct {
    char name[CW_BACKUP_TABLE_NAME_MAX];
    int64_t rows;            /* rows in the backup (or the restored copy) */
    int64_t source_rows;     /* rows in the source; -1 when not compared or absent */
} cw_backup_table;

typedef struct {
    int schema_version;
    int64_t pages;
    int64_t page_size;
    cw_backup_table *tables; /* sorted by name; owned, see cw_backup_report_free */
    size_t ntables;
    size_t mismatches;       /* tables whose rows differ from the source's, or
                                that exist on one side only */
} cw_backup_report;

void cw_backup_report_free(cw_backup_report *r);

/* Progress of a copy, called after each chunk of pages. */
typedef void (*cw_backup_progress_fn)(void *ctx, int64_t copied_pages,
                                      int64_t total_pages);

/*
 * Online backup: copies one consistent snapshot of s to out_path while
 * other connections and processes keep reading and writing (SQLite's backup
 * API, stepped in chunks inside one read transaction, so concurrent commits
 * never restart it). The copy goes to "<out_path>.tmp", is checked (integrity
 * and, per table, the snapshot's row count), made durable, then renamed
 * over out_path; on failure out_path is untouched and the temporary file is
 * removed. Every write committed before the call is in the backup.
 * rep (may be NULL) receives the copy's figures; progress may be NULL.
 */
cw_err cw_store_backup(cw_store *s, const char *out_path, cw_backup_progress_fn progress,
                       void *progress_ctx, cw_backup_report *rep, cw_diag *d);

/*
 * Checks a backup file without changing it: opens it read-only, runs the
 * integrity and foreign-key checks, requires a conway schema this program
 * understands, and counts each table's rows. With a source store (may be
 * NULL) also counts the source's rows and records differences in
 * rep->mismatches (still CW_OK: a live source moves on after a backup).
 * CW_ERR_INVALID naming the problem when the file is not an intact conway
 * database.
 */
cw_err cw_store_backup_verify(const char *backup_path, cw_store *source,
                              cw_backup_report *rep, cw_diag *d);

/*
 * Replaces the database at url with the backup in_path: verifies in_path
 * (as cw_store_backup_verify), refuses with CW_ERR_BUSY while anything
 * holds the database open (the "in use" lock above), copies the backup
 * next to the database, checks the copy, removes the old database's stale
 * -wal/-shm/-journal files and renames the copy into place. A crash at any
 * point leaves either the old database or the restored one. rep (may be
 * NULL) receives the restored copy's figures.
 */
cw_err cw_store_restore(const char *url, const char *in_path, cw_backup_report *rep,
                        cw_diag *d);
/* ==== end of backup and restore ============================================== */

/* ==== events (issue #3) ======================================================
 * CDEvents intake, listing, and the stored rows the delivery insights
 * read (events/delivery.h, streamed into insights/delivery.h's sink by the
 * caller). Implemented in store_events.c (public functions and group
 * commit) and <backend>_events.c.
 *
 * Storage decisions:
 * - An event is unique by (context.source, context.id), enforced by the
 *   database; storing it again is a duplicate, not an error (a conflict
 *   when its body differs: same JSON value, key order aside, is the same).
 * - The environment id is stored, not whether it is production: production
 *   is decided at query time with the caller's --production-env pattern, so
 *   changing the pattern re-classifies history.
 * - The link key (service id or repository id, events.h) is stored; which
 *   Component it matches is kept per distinct key and recomputed from the
 *   catalog whenever the catalog changed since (checked on every event read
 *   and write), so fixing an annotation makes earlier events match.
 */
#include "events/delivery.h"
#include "events/events.h"

typedef struct {
    size_t accepted;      /* newly stored */
    size_t duplicates;    /* already stored, or repeated within the request,
                             with the same body (a retried delivery) */
    size_t conflicts;     /* issue #10: an event of a known (source, id) with
                             another body: not stored (the first one stays),
                             counted apart so that a pipeline whose ids were
                             taken first is told, not silently dropped */
} cw_event_put_result;

/*
 * Stores n decoded events (cw_events_decode_*) all or nothing and returns
 * CW_OK only after they are committed to disk. Concurrent callers share
 * transactions (group commit): each waits until the transaction holding
 * its events has committed; a failing request does not fail the others.
 */
cw_err cw_store_events_put(cw_store *s, const cw_event *events, size_t n,
                           cw_event_put_result *res, cw_diag *d);

typedef struct {
    const char *type_prefix;  /* context.type starts with it; NULL = any */
    const cw_scope *scope;    /* linked to a Component of it; NULL = any */
    const char *service_id;   /* without scope: the event names this service
                                 id (link kind service); NULL = any */
    const char *environment;  /* environment id, exactly; NULL = any */
    int64_t from_ms, to_ms;   /* context.timestamp in [from, to);
                                 INT64_MIN / INT64_MAX for open ends */
    bool unmatched;           /* only events whose link key matches no
                                 Component (scope is then ignored) */
    bool after;               /* keyset paging: only events older than */
    int64_t after_time_ms;    /*   (after_time_ms, after_seq) in the */
    int64_t after_seq;        /*   newest-first order */
    size_t limit;             /* max items */
} cw_event_query;

typedef struct {
    int64_t seq;              /* arrival order, unique */
    int64_t time_ms;          /* context.timestamp */
    int64_t received_ms;      /* when it was stored */
    char *source, *id, *type, *subject_id;
    char *chain_id, *environment, *artifact_id; /* NULL when absent */
    const char *link;         /* "service", "repository" or NULL (static) */
    char *link_value;         /* the id matched against the catalog */
    char *component_ref;      /* matched Component ("component:ns/Name") or NULL */
    char *body;               /* the CDEvent as stored (compact JSON) */
} cw_stored_event;

typedef struct {
    cw_stored_event *items;   /* newest first: time, then seq, descending */
    size_t len;
} cw_event_list;

/* Lists events. A scope that does not exist is CW_ERR_NOT_FOUND. */
cw_err cw_store_events_query(cw_store *s, const cw_event_query *q, cw_event_list *out,
                             cw_diag *d);
void cw_event_list_free(cw_event_list *l);

/* One link key that matches no Component, with its events. */
typedef struct {
    const char *link;         /* "service" or "repository" (static) */
    char *value;
    size_t events;
    int64_t last_ms;          /* newest context.timestamp */
} cw_unmatched_key;

/* All unmatched keys, most events first (then value); at most max. */
cw_err cw_store_events_unmatched_keys(cw_store *s, size_t max, cw_unmatched_key **out,
                                      size_t *n, cw_diag *d);
void cw_unmatched_keys_free(cw_unmatched_key *k, size_t n);

/*
 * Streams the stored inputs of the delivery insights for q->scope (and
 * q->what; q->production_env is the sink's business) into sink, over the
 * whole history (the computations need earlier deployments and later
 * incidents), in the order cw_delivery_sink (events/delivery.h) describes,
 * from one consistent snapshot. Only interpreted (known) event types. The
 * store applies no rule: which rows count, and for which component, is
 * decided by the sink (insights/delivery.h). A scope that does not exist
 * is CW_ERR_NOT_FOUND.
 */
cw_err cw_store_delivery_scan(cw_store *s, const cw_delivery_query *q,
                              const cw_delivery_sink *sink, void *ctx, cw_diag *d);

/*
 * Who claims which link key (issue #10): every Component as the link rules
 * see it (events.h: name and the three annotations), with its ref and its
 * owner's key (the ownedBy relation's target), sorted by entity key. The
 * checks of team-scoped writers (a write that would make two Components
 * claim one key) and of team-scoped ingest tokens (an event must link to
 * one of the team's Components) build a cw_link_index over it. One pass
 * over the Components.
 */
typedef struct {
    char *ref;                /* "component:ns/Name" */
    char *key;                /* lower-cased ref */
    char *owner_key;          /* "group:ns/name" (lower case), or NULL */
    cw_link_component link;   /* strings owned with the rest */
} cw_link_owner;

typedef struct {
    cw_link_owner *items;
    size_t len;
    int64_t gen;              /* cw_store_catalog_gen when it was read (or
                                 earlier: the list is at least that new) */
} cw_link_owners;

cw_err cw_store_link_owners(cw_store *s, cw_link_owners *out, cw_diag *d);
void cw_link_owners_free(cw_link_owners *o);

/* A number that grows with every entity write, by any process: what was
 * computed from the catalog at one value holds while it stays the same.
 * One indexed read. */
cw_err cw_store_catalog_gen(cw_store *s, int64_t *out, cw_diag *d);

#endif
