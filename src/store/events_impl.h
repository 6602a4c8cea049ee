/*
 * events_impl.h — the events domain behind store.h (internal to src/store/):
 * the backend-independent row an event is reduced to before it reaches a
 * backend, the unit of group commit and the operations a backend
 * implements.
 *
 * store_events.c turns decoded events into rows in the caller's thread
 * (so serialisation runs in parallel), queues them, and one leader at a
 * time (a blocking caller or a committer thread) hands every queued batch
 * of a store to ops->put in a single transaction.
 */
#ifndef CW_EVENTS_IMPL_H
#define CW_EVENTS_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events/delivery.h"
#include "store/events_async.h"
#include "store/store_impl.h"
#include "util/buf.h"

/* Interpreted event kinds are the model's CW_EVK_* (events/delivery.h),
 * stored as they are. The class groups the kinds a delivery scan reads
 * together. */
enum { CW__EVC_NONE = 0, CW__EVC_SERVICE = 1, CW__EVC_CHANGE = 2, CW__EVC_INCIDENT = 3 };

/* One event as a backend stores it. Strings borrowed (NULL = absent). */
typedef struct {
    const char *source, *id, *type, *subject_id;
    const char *chain_id, *environment, *artifact_id;
    int64_t time_ms;
    int kind;                 /* CW_EVK_* */
    int cls;                  /* CW__EVC_* */
    int link_kind;            /* cw_link_kind */
    const char *link_value;   /* service id or repository id; NULL when none */
    const char *changes;      /* deployments: customData.changes as compact
                                 JSON (array of strings), else NULL */
    const char *change_ids;   /* its string elements, each NUL-terminated,
                                 one after the other (nchange_ids of them) */
    size_t nchange_ids;
    const char *body;         /* compact JSON of the CDEvent */
    /* as stored (event_codec.h): the envelope of subject, chain, artifact
     * and body, compressed with dictionary dict_id (0: not compressed) */
    const void *doc;
    size_t doc_len;
    int64_t dict_id;
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
    /* cw_store_delivery_scan */
    cw_err (*delivery)(cw_store *s, const cw_delivery_query *q, const cw_delivery_sink *sink,
                       void *ctx, cw_diag *d);
    /* cw_store_link_owners; out is zeroed; rows added with cw__link_owner_add,
     * out->gen read before the rows */
    cw_err (*link_owners)(cw_store *s, cw_link_owners *out, cw_diag *d);
    cw_err (*catalog_gen)(cw_store *s, int64_t *out, cw_diag *d);
    /* At open: hands s->codec the newest dictionary, if any (event_codec.h). */
    cw_err (*dicts_open)(cw_store *s, cw_diag *d);
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
/* The audit rows of the batches stored on c, the put's open transaction
 * (c wraps the backend's connection, sql.h; sql_audit.c). */
struct cw__sql;
cw_err cw__sql_events_audit(struct cw__sql *c, cw__event_batch *const *batches, size_t n,
                            cw_diag *d);

/* Rows for events[0..n): every string is copied into text (the rows borrow
 * from it), so the events may be freed as soon as this returns. d names the
 * event at fault. event_rows.c. */
struct cw__codec;
cw_err cw__event_rows_make(struct cw__codec *codec, const cw_event *events, size_t n,
                           cw__event_row *rows,
                           cw_buf *text, cw_diag *d);

/* ---- group commit (store_gc.c) ----------------------------------------------------- */

/* A queued batch. Blocking ones live on their caller's stack; async ones
 * are the first member of a cw__gc_async. */
typedef struct cw__gc_node {
    cw__event_batch *batch;
    bool done;
    bool async;
    pthread_cond_t cv;            /* blocking callers: done, or it may lead next */
    cw_events_done_fn cb;         /* async callers: one of the two */
    cw_events_audited_fn cb_audited;
    void *arg;
    struct cw__gc_node *next;
} cw__gc_node;

/* An async request: its node, batch and everything the rows point into
 * but the events. Owned by the group commit once submitted; freed after
 * its callback. */
typedef struct {
    cw__gc_node node;             /* first: the queue holds &node */
    cw__event_batch batch;
    cw__event_row *rows;          /* owned */
    cw_buf text;                  /* owned */
} cw__gc_async;

/* The group commit of one store (s->gc): created by cw_store_open, closed
 * by cw_store_close, which first commits every queued batch (calling the
 * async ones back) and waits for the store's committer thread. */
cw_err cw__gc_new(cw_store *s, cw__gc **out);
void cw__gc_close(cw__gc *g);
/* Queues b and returns when the transaction holding it has committed or
 * failed (b->err). */
void cw__gc_put(cw__gc *g, cw__event_batch *b);
/* Queues a (cb or cb_audited, and arg set; batch filled) and returns at
 * once; the group commit owns a from here. */
void cw__gc_put_async(cw__gc *g, cw__gc_async *a);
/* Frees an async request that was never queued (or after its callback). */
void cw__gc_async_free(cw__gc_async *a);
/* Group-commit counters of the store since it opened: transactions,
 * batches (requests) and rows they carried (benchmarks, tests). */
void cw__gc_stats(cw__gc *g, uint64_t *txs, uint64_t *batches, uint64_t *rows);

#endif
