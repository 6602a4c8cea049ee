/*
 * snapshot.h — the daily findings snapshot of a running server: a thread
 * that, at start and then every interval, takes today's snapshot into the
 * store's history unless it is there already (http/findings.h), then the
 * scorecards' (http/scorecard_snapshot.h) likewise. Which
 * instance stores a day is decided by the claim in the database
 * (store/store_history.h), not by the timers: any number of servers on
 * one PostgreSQL database store each day once.
 */
#ifndef CW_HTTP_SNAPSHOT_H
#define CW_HTTP_SNAPSHOT_H

#include "http/findings.h"
#include "store/store.h"
#include "util/err.h"

#define CW_SNAPSHOT_DEFAULT_INTERVAL 600 /* seconds */

typedef struct cw_snapshotter cw_snapshotter;

/* Starts the thread; cfg (copied) and its strings, and s, must outlive it.
 * interval_s > 0. */
cw_err cw_snapshotter_start(cw_store *s, const cw_findings_cfg *cfg, unsigned interval_s,
                            cw_snapshotter **out, cw_diag *d);
/* Wakes and joins the thread (after the snapshot it may be taking); NULL
 * is allowed. */
void cw_snapshotter_stop(cw_snapshotter *sn);

#endif
