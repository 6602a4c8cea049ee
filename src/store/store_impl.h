/*
 * store_impl.h — what a storage backend provides behind store.h. A backend's
 * handle embeds `struct cw_store` as its first member; the public cw_store_*
 * functions in store*.c check arguments once and dispatch through the vtable.
 *
 * The vtable is grouped by domain (core, entities, tokens, events, audit,
 * backup…): a domain is one pointer to a table of operations, declared here
 * or in the domain's own header (events_impl.h, store_audit.h). A domain is
 * implemented once for both backends on the statement layer (sql.h, in
 * sql_<domain>.c: tokens, audit, heartbeats, incidents, metrics, history),
 * or per backend where the engines' strengths differ enough to matter
 * (sqlite_events.c, postgres_entities.c…: the hot intake paths). Both
 * backends implement every domain; one that cannot do what a domain asks
 * answers CW_ERR_UNSUPPORTED from its ops (as PostgreSQL's backup does), so
 * callers never test which backend they have. A NULL domain makes the
 * dispatcher answer CW_ERR_UNSUPPORTED too.
 *
 * Adding a domain (docs/store.md, "Adding a table"):
 *   1. declare `struct cw_store_<domain>_ops` (in store_impl.h or its own
 *      header) and its slot below;
 *   2. write the public functions (e.g. store_events.c) with STORE_OPS();
 *   3. implement the ops once in sql_<domain>.c and point both vtables'
 *      slot at them (sqlite.c, postgres.c).
 */
#ifndef CW_STORE_IMPL_H
#define CW_STORE_IMPL_H

#include "store/store.h"

typedef struct cw_store_vtable cw_store_vtable;
typedef struct cw__gc cw__gc;
typedef struct cw__hbgc cw__hbgc;

struct cw_store {
    const cw_store_vtable *vt;
    /* The group commit of event batches (store_gc.c): created by
     * cw_store_open once the backend is open, drained and freed by
     * cw_store_close before the backend closes; NULL without events. */
    cw__gc *gc;
    /* How event documents are compressed (event_codec.h): created by
     * cw_store_open once the backend is open, freed by cw_store_close. */
    struct cw__codec *codec;
    /* The group commit of pings (store_hb_gc.c): created by cw_store_open
     * when the backend has heartbeats, freed by cw_store_close. */
    cw__hbgc *hbgc;
    /* The shared "in use" lock on "<file>.lock" (store_backup.c), taken and
     * released by cw_store_open/close; backends leave these alone. */
    bool use_locked;
    int use_lock_fd;
};

/* store_hb_gc.c: the ping group commit (its committer thread starts on the
 * first async ping; free writes what is queued and joins it). */
cw_err cw__hbgc_new(cw_store *s, cw__hbgc **out);
void cw__hbgc_free(cw__hbgc *g);

/* ---- core: lifetime and health ---------------------------------------------- */
typedef struct cw_store_core_ops {
    /* Frees everything the backend holds, including the handle itself. */
    void (*close)(cw_store *s);
    cw_err (*ping)(cw_store *s, cw_diag *d);
    cw_err (*schema_version)(cw_store *s, int *out, cw_diag *d);
    cw_err (*size_bytes)(cw_store *s, int64_t *out, cw_diag *d);
} cw_store_core_ops;

/* ---- entities ----------------------------------------------------------------- */
typedef struct cw_store_entity_ops {
    /*
     * Puts n validated entities in one transaction, all or nothing.
     * if_match is NULL or has n slots (each NULL or an etag). On error d
     * names the index "entities[i]" when n > 1.
     */
    cw_err (*put)(cw_store *s, json_t *const *entities, const char *const *if_match,
                  size_t n, cw_put_result *results, cw_diag *d);
    /* key is the lower-cased "kind:namespace/name" (checked by the caller). */
    cw_err (*get)(cw_store *s, const char *key, char **json_out, char etag_out[48],
                  cw_diag *d);
    cw_err (*del)(cw_store *s, const char *key, const char *if_match, cw_diag *d);
    cw_err (*query)(cw_store *s, const cw_entity_query *q, cw_entity_page *out,
                    cw_diag *d);
    cw_err (*facets)(cw_store *s, const char *const *keys, size_t nkeys,
                     const cw_filter *filter, json_t **out, cw_diag *d);
    cw_err (*counts)(cw_store *s, json_t **out, cw_diag *d);
} cw_store_entity_ops;

/* ---- tokens ------------------------------------------------------------------- */
typedef struct cw_store_token_ops {
    /* Arguments are checked by the caller (lengths, role, hash format). */
    cw_err (*create)(cw_store *s, const char *name, const char *role, const char *team,
                     const char *sources, const char *secret_hash, int64_t now, cw_token *out,
                     cw_diag *d);
    cw_err (*find)(cw_store *s, const char *secret_hash, cw_token *out, cw_diag *d);
    cw_err (*touch)(cw_store *s, int64_t id, int64_t now, cw_diag *d);
    cw_err (*list)(cw_store *s, cw_token **out, size_t *n, cw_diag *d);
    cw_err (*revoke)(cw_store *s, int64_t id, int64_t now, cw_diag *d);
    cw_err (*touch_many)(cw_store *s, const cw_token_use *uses, size_t n, bool nowait,
                         cw_diag *d);
} cw_store_token_ops;

/* Both backends' tokens, on the statement layer (sql_tokens.c). */
extern const cw_store_token_ops cw__sql_token_ops;

/* ---- backup (store_backup.c; SQLite in sqlite_backup.c) ------------------------ */
typedef struct cw_store_backup_ops {
    /* Arguments are checked by the caller; see cw_store_backup. */
    cw_err (*backup)(cw_store *s, const char *out_path, cw_backup_progress_fn progress,
                     void *progress_ctx, cw_backup_report *rep, cw_diag *d);
    /* Row counts per table (rep->tables[i].rows, sorted by name) in one snapshot. */
    cw_err (*table_rows)(cw_store *s, cw_backup_report *rep, cw_diag *d);
} cw_store_backup_ops;

/* Domains declared in their own headers (events_impl.h, store_audit.h). */
struct cw_store_event_ops;
struct cw_store_audit_ops;
struct cw_store_incident_ops;
struct cw_store_hb_ops;                         /* store_heartbeats.h */
struct cw_store_metric_ops;   /* metrics_impl.h */
struct cw__sql_ops;                             /* sql.h */

struct cw_store_vtable {
    const char *backend;                        /* "sqlite", "postgres" */
    const cw_store_core_ops *core;              /* never NULL */
    const cw_store_entity_ops *entities;
    const cw_store_token_ops *tokens;
    const struct cw_store_event_ops *events;    /* CDEvents */
    const struct cw_store_audit_ops *audit;     /* audit log */
    const cw_store_backup_ops *backup;          /* online backup (PostgreSQL: unsupported) */
    const struct cw_store_hb_ops *heartbeats;   /* heartbeats (store_heartbeats.h) */
    const struct cw_store_ingest_ops *ingest;   /* webhooks, locations (ingest_impl.h) */
    const struct cw_store_incident_ops *incidents; /* incidents (store_incidents.h) */
    const struct cw_store_metric_ops *metrics;  /* metric series (store_metrics.h) */
    const struct cw_store_history_ops *history; /* daily findings counts (store_history.h) */
    const struct cw__sql_ops *sql;              /* the statement layer (sql.h) */
};

/*
 * Fetches a domain's ops for s into `ops`, or returns CW_ERR_UNSUPPORTED
 * from the calling function when the backend lacks that domain. For use in
 * the public dispatch functions:
 *     const cw_store_entity_ops *ops;
 *     STORE_OPS(s, entities, ops, d);
 */
#define STORE_OPS(s, domain, ops, d)                                              \
    do {                                                                          \
        if (!(s))                                                                 \
            return cw_fail((d), CW_ERR_INVALID, "store: no store handle");        \
        (ops) = (s)->vt->domain;                                                  \
        if (!(ops))                                                               \
            return cw_fail((d), CW_ERR_UNSUPPORTED,                               \
                           "store: the %s backend does not implement " #domain,   \
                           (s)->vt->backend);                                     \
    } while (0)

/* ---- backends ---------------------------------------------------------------- */

/* Opens a SQLite file (created if missing unless opt->read_only). */
cw_err cw__sqlite_open(const char *path, const cw_store_options *opt, cw_store **out,
                       cw_diag *d);
/* Connects to a postgres:// URL (libpq syntax) and migrates unless
 * opt->read_only (postgres.c; built only when libpq is found). */
cw_err cw__pg_open(const char *url, const cw_store_options *opt, cw_store **out,
                   cw_diag *d);

/* SQLite files outside an open store (sqlite_backup.c): the checks of
 * cw_store_backup_verify on a file, and the file replacement of
 * cw_store_restore (the caller holds the exclusive "in use" lock). */
cw_err cw__sqlite_backup_inspect(const char *path, cw_backup_report *rep, cw_diag *d);
cw_err cw__sqlite_restore_file(const char *db_path, const char *in_path,
                               cw_backup_report *rep, cw_diag *d);

/* ---- the "in use" lock (store_backup.c) ---------------------------------------
 * flock(2) on "<db_path>.lock". Shared: waits up to wait_ms while an
 * exclusive holder has it; with best_effort (read-only opens) a lock file
 * that cannot be created (read-only directory) or a database that does not
 * exist is no error, and *fd_out is -1. Exclusive:
 * never waits; CW_ERR_BUSY when anyone holds it. */
cw_err cw__db_lock(const char *db_path, bool exclusive, int wait_ms, bool best_effort,
                   int *fd_out, cw_diag *d);
void cw__db_unlock(int fd);

/* Creates path with mode 0600 whatever the umask and returns its descriptor
 * (read-write, close-on-exec); -1 with errno on failure, EEXIST when it
 * exists already (an existing file keeps the mode its owner gave it). The
 * database and every file beside it hold the audit log and the token
 * hashes (store_backup.c). */
int cw__create_private(const char *path);

#endif
