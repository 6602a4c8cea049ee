/*
 * store_gc.c — the group commit of event batches (events_impl.h). Its state
 * belongs to the store handle (one cw__gc per store, created by
 * cw_store_open and drained by cw_store_close), so stores never share a
 * lock or a queue and closing a store with batches queued is safe: the
 * close commits them (calling the async ones back) and waits for the
 * store's committer thread before anything is freed.
 *
 * Callers queue their batch (rows whose strings are copies) and one leader
 * at a time takes every queued batch (up to a cap), writes them in one
 * transaction and marks them done after the commit. Blocking callers
 * (cw__gc_put) wait on their own condition variable; when no one leads,
 * the first of them leads, and hands over to the next waiter when its own
 * batch is done. Async callers (cw__gc_put_async) do not wait: when no one
 * leads, they hand the queue to the store's committer thread (started on
 * demand, leaving after GC_IDLE_SECONDS without work), which commits until
 * the queue is empty and calls each async batch back after its commit,
 * outside the lock. No batch is reported done before the transaction
 * holding it has committed.
 *
 * Audit: a batch may carry its request's audit record; every backend's put
 * inserts the records of its stored batches in the same transaction (and
 * fails the transaction when one cannot be stored), so record ids follow
 * commit order.
 */
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/events_impl.h"
#include "store/store_audit.h"
#include "store/store_common.h"
#include "util/timeutil.h"

#define GC_MAX_ROWS 50000     /* rows per group transaction (at least one batch) */
#define GC_MAX_BATCHES 512
#define GC_IDLE_SECONDS 5

struct cw__gc {
    cw_store *s;
    const struct cw_store_event_ops *ops;
    pthread_mutex_t mu;
    pthread_cond_t work_cv;    /* committer: a job, or closing */
    cw__gc_node *head, *tail;  /* queued batches, arrival order */
    bool led;                  /* someone is committing the queue */
    bool job;                  /* the committer thread is asked to lead */
    bool thread;               /* a committer thread runs (or is leaving) */
    bool joinable;             /* `th` must be joined before another starts */
    bool closing;
    pthread_t th;
    bool held;                 /* mu is held (by `holder`): assert-only */
    pthread_t holder;
    uint64_t txs, batches, rows;
};

/* The lock, with the holder recorded for the "lock held" assertions
 * (docs/asserts.md). */
static void gc_lock(cw__gc *g)
{
    pthread_mutex_lock(&g->mu);
    g->held = true;
    g->holder = pthread_self();
}

static void gc_unlock(cw__gc *g)
{
    assert(g->held && pthread_equal(g->holder, pthread_self()));
    g->held = false;
    pthread_mutex_unlock(&g->mu);
}

#ifndef NDEBUG
/* Only the asserts ask; release builds (NDEBUG) have no caller. */
static bool gc_owned(const cw__gc *g) { return g->held && pthread_equal(g->holder, pthread_self()); }
#endif

/* pthread_cond_wait releases and retakes mu: the holder changes meanwhile. */
static void gc_wait(cw__gc *g, pthread_cond_t *cv)
{
    assert(gc_owned(g));
    g->held = false;
    pthread_cond_wait(cv, &g->mu);
    g->held = true;
    g->holder = pthread_self();
}

static int gc_timedwait(cw__gc *g, pthread_cond_t *cv, const struct timespec *until)
{
    assert(gc_owned(g));
    g->held = false;
    int rc = pthread_cond_timedwait(cv, &g->mu, until);
    g->held = true;
    g->holder = pthread_self();
    return rc;
}

cw_err cw__gc_new(cw_store *s, cw__gc **out)
{
    cw__gc *g = calloc(1, sizeof *g);
    if (!g)
        return CW_ERR_NOMEM;
    g->s = s;
    g->ops = s->vt->events;
    if (pthread_mutex_init(&g->mu, NULL)) {
        free(g);
        return CW_ERR_NOMEM;
    }
    if (pthread_cond_init(&g->work_cv, NULL)) {
        pthread_mutex_destroy(&g->mu);
        free(g);
        return CW_ERR_NOMEM;
    }
    *out = g;
    return CW_OK;
}

void cw__gc_stats(cw__gc *g, uint64_t *txs, uint64_t *batches, uint64_t *rows)
{
    gc_lock(g);
    *txs = g->txs;
    *batches = g->batches;
    *rows = g->rows;
    gc_unlock(g);
}

static void gc_append(cw__gc *g, cw__gc_node *nd)
{
    assert(gc_owned(g));
    nd->next = NULL;
    if (g->tail)
        g->tail->next = nd;
    else
        g->head = nd;
    g->tail = nd;
}

static void gc_finish_async(cw__gc_async *a)
{
    cw__event_batch *b = &a->batch;
    if (a->node.cb_audited)
        a->node.cb_audited(a->node.arg, b->err, &b->res, b->audit_id,
                           b->err ? &b->diag : &b->audit_diag);
    else
        a->node.cb(a->node.arg, b->err, &b->res, &b->diag);
    cw__gc_async_free(a);
}

/* Runs the callbacks of completed async nodes (mu NOT held). */
static void gc_run_callbacks(cw__gc_node *list)
{
    while (list) {
        cw__gc_node *next = list->next;
        gc_finish_async((cw__gc_async *)list);
        list = next;
    }
}

/*
 * With mu held and the queue led by the caller: takes the oldest queued
 * batches (up to the caps), commits them in one transaction and marks them
 * done, waking the blocking callers among them. The completed async nodes
 * are pushed on *done_async for the caller to call back after unlocking.
 * Returns with mu held.
 */
static void gc_commit_group(cw__gc *g, cw__gc_node **done_async)
{
    assert(gc_owned(g) && g->led);
    cw__event_batch *taken[GC_MAX_BATCHES];
    cw__gc_node *nodes[GC_MAX_BATCHES];
    size_t k = 0, rows = 0;
    while (g->head && k < GC_MAX_BATCHES) {
        cw__gc_node *nd = g->head;
        if (k > 0 && rows + nd->batch->n > GC_MAX_ROWS)
            break;
        rows += nd->batch->n;
        nodes[k] = nd;
        taken[k++] = nd->batch;
        g->head = nd->next;
        if (!g->head)
            g->tail = NULL;
    }
    if (k == 0)
        return;
    g->txs++;
    g->batches += k;
    g->rows += rows;
    gc_unlock(g);

    cw_diag d = {{0}};
    for (size_t i = 0; i < k; i++)
        taken[i]->audit_id = 0;
    cw_err err = g->ops->put(g->s, taken, k, cw_now_ms(), &d);
    if (err)
        for (size_t i = 0; i < k; i++) {
            taken[i]->err = err;
            taken[i]->diag = d;
            taken[i]->audit_id = 0;
            memset(&taken[i]->res, 0, sizeof taken[i]->res);
        }

    /* Blocking callers cannot leave before we unlock, so their nodes stay
     * valid while we signal them. */
    gc_lock(g);
    for (size_t i = 0; i < k; i++) {
        nodes[i]->done = true;
        if (nodes[i]->async) {
            nodes[i]->next = *done_async;
            *done_async = nodes[i];
        } else {
            pthread_cond_signal(&nodes[i]->cv);
        }
    }
}

/* With mu held and the queue led by the caller: commits until it is empty,
 * running callbacks between groups (mu released meanwhile). */
static void gc_drain(cw__gc *g)
{
    assert(gc_owned(g) && g->led);
    while (g->head) {
        cw__gc_node *done = NULL;
        gc_commit_group(g, &done);
        gc_unlock(g);
        gc_run_callbacks(done);
        gc_lock(g);
    }
}

/* The store's committer thread: leads the queue whenever asked, and leaves
 * after GC_IDLE_SECONDS without work or when the store closes. */
static void *gc_committer(void *arg)
{
    cw__gc *g = arg;
    gc_lock(g);
    for (;;) {
        if (g->job) {
            g->job = false;
            g->led = true;
            gc_drain(g);
            g->led = false;
            continue;
        }
        if (g->closing)
            break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += GC_IDLE_SECONDS;
        if (gc_timedwait(g, &g->work_cv, &until) != 0 && !g->job)
            break;
    }
    g->thread = false;
    gc_unlock(g);
    return NULL;
}

/*
 * With mu held and no one leading: asks the committer thread to lead,
 * starting it when needed. Returns false when no thread can be had (the
 * caller must then lead itself).
 */
static bool gc_start_job(cw__gc *g)
{
    assert(gc_owned(g) && !g->led);
    if (g->closing)
        return false;
    if (!g->thread) {
        if (g->joinable) {
            /* the previous thread has left the loop; reap it */
            pthread_join(g->th, NULL);
            g->joinable = false;
        }
        if (pthread_create(&g->th, NULL, gc_committer, g) != 0)
            return false;
        g->thread = g->joinable = true;
    }
    g->job = true;
    pthread_cond_signal(&g->work_cv);
    return true;
}

/* With mu held, after a blocking caller stopped leading: whoever is next
 * commits. Returns false when the caller must go on leading. */
static bool gc_hand_off(cw__gc *g)
{
    assert(gc_owned(g) && !g->led);
    cw__gc_node *next = g->head;
    if (!next)
        return true;
    if (!next->async) {
        pthread_cond_signal(&next->cv);
        return true;
    }
    return gc_start_job(g);
}

void cw__gc_put(cw__gc *g, cw__event_batch *b)
{
    cw__gc_node me = {.batch = b};
    pthread_cond_init(&me.cv, NULL);
    gc_lock(g);
    gc_append(g, &me);
    bool lead_more = false;
    while (!me.done || lead_more) {
        if (g->led || g->job) {
            if (me.done)
                break;
            gc_wait(g, &me.cv);
            continue;
        }
        g->led = true;
        cw__gc_node *done = NULL;
        gc_commit_group(g, &done);
        g->led = false;
        lead_more = !gc_hand_off(g);
        gc_unlock(g);
        gc_run_callbacks(done);
        gc_lock(g);
    }
    gc_unlock(g);
    pthread_cond_destroy(&me.cv);
}

void cw__gc_put_async(cw__gc *g, cw__gc_async *a)
{
    a->node.batch = &a->batch;
    a->node.async = true;
    gc_lock(g);
    gc_append(g, &a->node);
    if (!g->led && !g->job && !gc_start_job(g)) {
        /* no committer thread could be had: commit here */
        g->led = true;
        gc_drain(g);
        g->led = false;
    }
    gc_unlock(g);
}

void cw__gc_async_free(cw__gc_async *a)
{
    if (!a)
        return;
    cw__audit_row_free(a->batch.audit);
    cw_buf_free(&a->text);
    free(a->rows);
    free(a);
}

void cw__gc_close(cw__gc *g)
{
    if (!g)
        return;
    gc_lock(g);
    g->closing = true;
    /* whatever is still queued is committed (and called back) first: by
     * the leader at work, or here */
    while (g->head || g->led || g->job) {
        if (!g->led && !g->job) {
            g->led = true;
            gc_drain(g);
            g->led = false;
            continue;
        }
        gc_unlock(g);
        struct timespec pause = {0, 1000000}; /* 1 ms: the leader finishes its group */
        nanosleep(&pause, NULL);
        gc_lock(g);
    }
    pthread_cond_broadcast(&g->work_cv);
    bool join = g->joinable;
    gc_unlock(g);
    if (join)
        pthread_join(g->th, NULL);
    pthread_cond_destroy(&g->work_cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}
