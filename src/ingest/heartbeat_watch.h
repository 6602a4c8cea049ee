/*
 * heartbeat_watch.h — the heartbeat scheduler of `conway serve`: one thread
 * that sleeps until the earliest due time of a heartbeat that is not down
 * (an indexed read), then lets the store evaluate exactly the heartbeats
 * that are due (cw_store_hb_evaluate_due) and records their transitions.
 * It never reads the heartbeats that are not due. Pings that bring a due
 * time forward wake it (cw_hb_watch_due). Every few seconds it also checks
 * the catalog's generation and, when it changed, syncs the heartbeat rows
 * with the Heartbeat entities. Several instances on one PostgreSQL
 * database each run one: the store's claim makes every transition happen
 * once.
 */
#ifndef CW_INGEST_HEARTBEAT_WATCH_H
#define CW_INGEST_HEARTBEAT_WATCH_H

#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

typedef struct cw_hb_watch cw_hb_watch;

typedef struct {
    int64_t catalog_check_ms;   /* how often to look for catalog changes; 0 = 2000 */
    int64_t (*now_ms)(void);    /* the clock; NULL = the wall clock */
} cw_hb_watch_config;

/* Starts the thread. The store must outlive the watcher. */
cw_err cw_hb_watch_start(cw_store *store, const cw_hb_watch_config *cfg, cw_hb_watch **out,
                         cw_diag *d);
/* A heartbeat is now due at due_ms: wake earlier if needed (any thread;
 * shaped for cw_server_config.on_heartbeat_due). */
void cw_hb_watch_due(void *watch, int64_t due_ms);
/* Stops and joins the thread; NULL is fine. */
void cw_hb_watch_stop(cw_hb_watch *w);

#endif
