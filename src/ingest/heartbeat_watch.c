/*
 * heartbeat_watch.c — the scheduler thread of heartbeat_watch.h: a loop of
 * (sync if the catalog changed, evaluate what is due, read the next due
 * time, sleep until it or a poke), with every failure logged and retried
 * after a pause rather than ending the loop.
 */
#include "ingest/heartbeat_watch.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "store/store_heartbeats.h"
#include "util/log.h"
#include "util/timeutil.h"

#define BATCH 500               /* heartbeats per evaluation transaction */
#define RETRY_MS 5000           /* after a store error */

struct cw_hb_watch {
    cw_store *store;
    cw_hb_watch_config cfg;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* CLOCK_MONOTONIC */
    bool stop;
    int64_t wake_at_ms;         /* wall-clock time the thread sleeps until */
    int64_t pending_ms;         /* earliest due time poked since the last wake; 0 */
    bool poked;
};

static int64_t now_of(const cw_hb_watch *w)
{
    return w->cfg.now_ms ? w->cfg.now_ms() : cw_now_ms();
}

static void log_err(const char *what, const cw_diag *d)
{
    cw_log(CW_LOG_ERROR, what, json_pack("{s:s, s:s}", "component", "heartbeats", "error", d->msg));
}

/* Waits until the wall-clock time until_ms, a poke or stop. */
static void sleep_until(cw_hb_watch *w, int64_t until_ms)
{
    pthread_mutex_lock(&w->mu);
    /* a due time poked while the thread was busy counts too */
    if (w->pending_ms && w->pending_ms < until_ms)
        until_ms = w->pending_ms;
    w->pending_ms = 0;
    w->wake_at_ms = until_ms;
    while (!w->stop && !w->poked) {
        int64_t left = until_ms - now_of(w);
        if (left <= 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t ns = ts.tv_nsec + (left % 1000) * 1000000;
        ts.tv_sec += left / 1000 + ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&w->cv, &w->mu, &ts);
    }
    w->poked = false;
    w->wake_at_ms = 0;
    pthread_mutex_unlock(&w->mu);
}

static void *run(void *arg)
{
    cw_hb_watch *w = arg;
    int64_t gen = -1, next_check = 0;
    int64_t check_every = w->cfg.catalog_check_ms > 0 ? w->cfg.catalog_check_ms : 2000;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        bool stop = w->stop;
        pthread_mutex_unlock(&w->mu);
        if (stop)
            break;
        cw_diag d = {{0}};
        int64_t now = now_of(w);
        if (now >= next_check) {
            int64_t g = 0;
            if (cw_store_hb_catalog_gen(w->store, &g, &d) == CW_OK && g != gen) {
                cw_hb_sync_result r;
                if (cw_store_hb_sync(w->store, now, &r, &d) == CW_OK)
                    gen = g;
                else
                    log_err("heartbeat sync failed", &d);
            }
            next_check = now + check_every;
        }
        size_t ev = 0, flips = 0, total_flips = 0;
        cw_err err;
        do {
            err = cw_store_hb_evaluate_due(w->store, now_of(w), BATCH, &ev, &flips, &d);
            total_flips += flips;
        } while (!err && ev == BATCH);
        if (total_flips)
            cw_log(CW_LOG_INFO, "heartbeat transitions",
                   json_pack("{s:s, s:I}", "component", "heartbeats", "flips",
                             (json_int_t)total_flips));
        int64_t due = 0;
        if (!err)
            err = cw_store_hb_next_due(w->store, &due, &d);
        int64_t until = next_check;
        if (err) {
            log_err("heartbeat evaluation failed", &d);
            until = now_of(w) + RETRY_MS;
        } else if (due && due < until) {
            until = due;
        }
        sleep_until(w, until);
    }
    return NULL;
}

cw_err cw_hb_watch_start(cw_store *store, const cw_hb_watch_config *cfg, cw_hb_watch **out,
                         cw_diag *d)
{
    cw_hb_watch *w = calloc(1, sizeof *w);
    if (!w)
        return cw_fail(d, CW_ERR_NOMEM, "heartbeat scheduler: out of memory");
    w->store = store;
    if (cfg)
        w->cfg = *cfg;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&w->mu, NULL);
    if (pthread_create(&w->thread, NULL, run, w) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return cw_fail(d, CW_ERR_IO, "heartbeat scheduler: cannot start its thread");
    }
    *out = w;
    return CW_OK;
}

void cw_hb_watch_due(void *watch, int64_t due_ms)
{
    cw_hb_watch *w = watch;
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    if (w->wake_at_ms) {
        if (due_ms < w->wake_at_ms) {
            w->poked = true;
            pthread_cond_signal(&w->cv);
        }
    } else if (!w->pending_ms || due_ms < w->pending_ms) {
        w->pending_ms = due_ms;
    }
    pthread_mutex_unlock(&w->mu);
}

void cw_hb_watch_stop(cw_hb_watch *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
