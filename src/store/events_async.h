/*
 * events_async.h — event intake that does not hold the caller's thread
 * while the group commit runs: the events are reduced to rows in the
 * caller's thread, queued, and a committer thread (store_events.c) writes
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

#endif
