/*
 * events_impl.h — the events domain behind store.h (internal to src/store/):
 * the backend-independent row an event is reduced to before it reaches a
 * backend, the unit of group commit, the operations a backend implements,
 * and a small string arena the loaders share.
 *
 * store_events.c turns decoded events into rows in the caller's thread
 * (so serialisation runs in parallel), queues them, and one leader at a
 * time (a blocking caller or a committer thread) hands every queued batch
 * of a store to ops->put in a single transaction.
 */
#ifndef CW_EVENTS_IMPL_H
#define CW_EVENTS_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "store/store_impl.h"

/* Interpreted event kinds (0: stored and listed, never interpreted). The
 * class groups the kinds the delivery loaders read together. */
enum {
    CW__EVK_NONE = 0,
    CW__EVK_DEPLOYED = 1,
    CW__EVK_UPGRADED = 2,
    CW__EVK_ROLLEDBACK = 3,
    CW__EVK_CHANGE_CREATED = 4,
    CW__EVK_CHANGE_MERGED = 5,
    CW__EVK_INCIDENT_DETECTED = 6,
    CW__EVK_INCIDENT_REPORTED = 7,
    CW__EVK_INCIDENT_RESOLVED = 8
};
enum { CW__EVC_NONE = 0, CW__EVC_SERVICE = 1, CW__EVC_CHANGE = 2, CW__EVC_INCIDENT = 3 };

/* One event as a backend stores it. Strings borrowed (NULL = absent). */
typedef struct {
    const char *source, *id, *type, *subject_id;
    const char *chain_id, *environment, *artifact_id;
    int64_t time_ms;
    int kind;                 /* CW__EVK_* */
    int cls;                  /* CW__EVC_* */
    int link_kind;            /* cw_link_kind */
    const char *link_value;   /* service id or repository id; NULL when none */
    const char *changes;      /* deployments: customData.changes as compact
                                 JSON (array of strings), else NULL */
    const char *body;         /* compact JSON of the CDEvent */
} cw__event_row;

struct cw__audit_row;

/* One request's events: all or nothing. The backend fills res, err, diag.
 * audit: the request's audit record (store_audit.h), or NULL. A backend
 * that inserts it in the events' own transaction sets audit_id (its counts
 * set with cw__audit_row_set_counts, and the batch failing when the row
 * cannot be stored); otherwise store_events.c appends the audit rows of the
 * group's stored batches in one transaction right after the commit. */
typedef struct {
    const cw__event_row *rows;
    size_t n;
    cw_event_put_result res;
    cw_err err;
    cw_diag diag;
    struct cw__audit_row *audit;
    int64_t audit_id;         /* 0: not (yet) stored */
    cw_diag audit_diag;       /* why the audit row was not stored */
} cw__event_batch;

struct cw_store_event_ops {
    /*
     * Writes the batches in ONE transaction, committed (fsync'd) before it
     * returns. Each batch is all or nothing on its own (a failing batch sets
     * its err and is rolled back alone). Returns an error only when the
     * transaction as a whole failed; then no batch was stored and the
     * caller marks every batch with that error.
     */
    cw_err (*put)(cw_store *s, cw__event_batch *const *batches, size_t n, int64_t now_ms,
                  cw_diag *d);
    cw_err (*query)(cw_store *s, const cw_event_query *q, cw_event_list *out, cw_diag *d);
    cw_err (*unmatched_keys)(cw_store *s, size_t max, cw_unmatched_key **out, size_t *n,
                             cw_diag *d);
    cw_err (*delivery)(cw_store *s, const cw_delivery_query *q, cw_delivery_data *out,
                       cw_diag *d);
    /* cw_store_link_owners; out is zeroed; rows added with cw__link_owner_add,
     * out->gen read before the rows */
    cw_err (*link_owners)(cw_store *s, cw_link_owners *out, cw_diag *d);
    cw_err (*catalog_gen)(cw_store *s, int64_t *out, cw_diag *d);
};

/*
 * For a backend's put, inside its open transaction after the batches: the
 * audit rows of the batches stored (err == CW_OK), in batch order; sets
 * each one's audit_id. An error means the transaction must fail (the rows
 * are part of it). Implemented in <backend>_audit.c.
 */
struct cw__sqlite_conn;
struct cw__pg_conn;
/* The loop both share: finishes each stored batch's row (counts, time) and
 * hands it to insert(conn, row, &audit_id, d), the backend's one-row insert
 * on the open transaction. store_events.c. */
typedef cw_err (*cw__audit_insert_fn)(void *conn, const struct cw__audit_row *row,
                                      int64_t *id_out, cw_diag *d);
cw_err cw__events_audit_rows(cw__event_batch *const *batches, size_t n,
                             cw__audit_insert_fn insert, void *conn, cw_diag *d);
cw_err cw__sqlite_events_audit(struct cw__sqlite_conn *c, cw__event_batch *const *batches,
                               size_t n, cw_diag *d);
cw_err cw__pg_events_audit(struct cw__pg_conn *c, cw__event_batch *const *batches, size_t n,
                           cw_diag *d);

/* Process-wide group-commit counters since start: transactions, batches
 * (requests) and rows they carried, every store together (benchmarks). */
void cw__events_gc_stats(uint64_t *txs, uint64_t *batches, uint64_t *rows);

/* ---- arena: many small strings freed at once ----------------------------------- */

typedef struct cw__arena_chunk cw__arena_chunk;

typedef struct {
    cw__arena_chunk *head;
    size_t used, cap;         /* of head */
} cw__arena;

/* Copies n bytes plus a NUL; NULL when out of memory. */
char *cw__arena_strndup(cw__arena *a, const char *s, size_t n);
/* Aligned raw memory; NULL when out of memory. */
void *cw__arena_alloc(cw__arena *a, size_t n);
void cw__arena_free(cw__arena *a);

/* ---- delivery data assembly (store_events.c) --------------------------------------
 * Backends stream rows into a builder; the builder owns growable arrays and
 * the arena, and finishes into a cw_delivery_data.
 */
typedef struct cw__delivery_builder cw__delivery_builder;

cw_err cw__delivery_builder_new(cw__delivery_builder **out);
void cw__delivery_builder_free(cw__delivery_builder *b);
cw__arena *cw__delivery_arena(cw__delivery_builder *b);
/* Components must be added first, in their final order. owner may be NULL. */
cw_err cw__delivery_add_component(cw__delivery_builder *b, const char *ref, const char *owner);
/* change_ids_json: the stored customData.changes text, or NULL. Strings
 * are copied. */
cw_err cw__delivery_add_deployment(cw__delivery_builder *b, int32_t comp, int64_t time_ms,
                                   const char *artifact_id, size_t artifact_len,
                                   const char *chain_id, size_t chain_len,
                                   const char *change_ids_json);
cw_err cw__delivery_add_rollback(cw__delivery_builder *b, int32_t comp, int64_t time_ms);
/* Declares that comp's changes arrive under several link keys (e.g. both
 * its repository and its project slug): its change rows are then merged by
 * id wherever they come, instead of only when consecutive. After the
 * components, before the changes. */
cw_err cw__delivery_mark_multi_link(cw__delivery_builder *b, int32_t comp);
/* Rows of one change come consecutively (same comp and change id) unless
 * its component was marked multi-link. */
cw_err cw__delivery_add_change_event(cw__delivery_builder *b, int32_t comp,
                                     const char *change_id, size_t id_len, int kind,
                                     int64_t time_ms);
/* Incident events in any order; comp -1 when the event names none. keep
 * decides afterwards which incidents stay (by their component). */
cw_err cw__delivery_add_incident_event(cw__delivery_builder *b, int32_t comp,
                                       const char *incident_id, size_t id_len, int kind,
                                       int64_t time_ms, const char *artifact_id,
                                       size_t artifact_len);
/* Moves everything into out (keeping incidents with comp >= 0 unless
 * keep_unlinked_incidents); the builder is freed either way. */
cw_err cw__delivery_finish(cw__delivery_builder *b, bool keep_unlinked_incidents,
                           cw_delivery_data *out, cw_diag *d);

#endif
