/*
 * events_async.h — event intake that does not hold the caller's thread
 * while the group commit runs: the events are reduced to rows in the
 * caller's thread, queued, and the store's committer thread (store_gc.c) writes
 * them with the other queued batches in one transaction and then calls
 * back. Used by the HTTP intake so that a worker thread never waits for
 * fsync; cw_store_events_put (store.h) is the blocking form over the same
 * queue. Both backends are served (the queue sits above store ops).
 */
#ifndef CW_EVENTS_ASYNC_H
#define CW_EVENTS_ASYNC_H

#include <stddef.h>

#include "events/events.h"
#include "store/store.h"
#include "store/store_audit.h"
#include "util/err.h"

/*
 * Called exactly once per accepted call, after the transaction holding the
 * events committed (err == CW_OK, res filled) or failed (err and d say why;
 * nothing of the batch was stored). res and d are valid only during the
 * call. It runs on a committer thread, or on another caller's thread that
 * was committing, or (when the call had nothing to commit) on the caller's
 * own thread before cw_store_events_put_async returns: it must not block
 * for long and must not call back into the events intake.
 */
typedef void (*cw_events_done_fn)(void *arg, cw_err err, const cw_event_put_result *res,
                                  const cw_diag *d);

/*
 * Queues events[0..n) (all or nothing, as cw_store_events_put) and returns
 * without waiting for the commit. The events are only read during the
 * call (their strings and compact text are copied into the queued rows),
 * so the caller may free them at once, while the commit runs. Returns an error, and then never calls done, when the arguments
 * are wrong or the rows cannot be built (d names the event), or when
 * memory runs out.
 */
cw_err cw_store_events_put_async(cw_store *s, const cw_event *events, size_t n,
                                 cw_events_done_fn done, void *arg, cw_diag *d);

/*
 * The same with the request's audit record (e.g. action "events.ingest"),
 * NULL for none. The entry is checked and copied before the call returns
 * (an invalid one: CW_ERR_INVALID naming the field, nothing queued); with
 * audit->event_counts its detail gains the batch's "accepted" and
 * "duplicates". The record is stored only when the batch is: a refused
 * batch has none. Records of one group are stored in the order of its
 * batches, so ids increase in commit order. done receives the record's id;
 * audit_id is 0 with err == CW_OK when the events committed but the record
 * could not be stored (d->msg says why; "" when there was no entry).
 * An empty batch with an entry stores the record (counts 0) and calls
 * back at once.
 */
typedef void (*cw_events_audited_fn)(void *arg, cw_err err, const cw_event_put_result *res,
                                     int64_t audit_id, const cw_diag *d);

cw_err cw_store_events_put_async_audited(cw_store *s, const cw_event *events, size_t n,
                                         const cw_audit_entry *audit,
                                         cw_events_audited_fn done, void *arg, cw_diag *d);

/* Blocking form of the above (cw_store_events_put with an audit entry).
 * *audit_id (may be NULL) as the callback's audit_id; when the record could
 * not be stored after the events committed, CW_OK is returned and d (may be
 * NULL) says why. */
cw_err cw_store_events_put_audited(cw_store *s, const cw_event *events, size_t n,
                                   const cw_audit_entry *audit, cw_event_put_result *res,
                                   int64_t *audit_id, cw_diag *d);

#endif
