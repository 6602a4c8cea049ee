/*
 * store_hb_gc.c — the group commit of pings (store_heartbeats.h,
 * cw_store_hb_ping_grouped). A ping is one small write; committing each in
 * its own transaction makes the commit (an fsync on SQLite, a round trip
 * and a WAL flush on PostgreSQL) the ping API's whole cost. Here the
 * request threads that ping at the same time share one transaction:
 *
 *   each caller queues its ping (in and out stay the caller's until it is
 *   done); when no one leads, a blocking caller (cw_store_hb_ping_grouped)
 *   leads itself, and an async one (cw_store_hb_ping_async: the server's
 *   deferred answers, no request thread waits) wakes the store's committer
 *   thread to lead. The leader takes every queued ping (up to HBGC_MAX),
 *   writes them with cw_store_hb_ping in one transaction, and after the
 *   commit marks each done: it wakes the blocking callers, hands the queue
 *   to the next leader, and calls the async callers back outside the lock.
 *   So no ping is answered before the transaction holding it has
 *   committed, and a lone ping is written at once (no timer, no added
 *   latency when there is no load). With async callers a group is as large
 *   as the pings that arrived during the previous commit, not bounded by
 *   the request threads.
 *
 * A group whose transaction fails as a whole (one ping's bad arguments, a
 * deadlock between instances on PostgreSQL, a full disk) is written again
 * one ping per transaction, so each caller gets its own ping's answer.
 * Pings are written in the order of their keys' hashes: two instances
 * batching the same heartbeats lock their rows in the same order; the
 * pings of one heartbeat keep their arrival order.
 *
 * The state belongs to the store handle (created by cw_store_open; the
 * committer thread starts on the first async ping; cw_store_close writes
 * what is queued, then joins it).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_common.h"
#include "store/store_heartbeats.h"
#include "store/store_impl.h"

#define HBGC_MAX 256 /* pings per group transaction */

typedef struct hbgc_node {
    const cw_hb_ping_in *in;
    cw_hb_ping_out *out;
    cw_err err;
    cw_diag diag;
    bool done;
    pthread_cond_t cv;                 /* blocking callers */
    cw_hb_ping_cb cb;                  /* async callers (node allocated here) ... */
    void *arg;
    cw_err *err_out;                   /* ... and where their answer goes */
    cw_diag *diag_out;
    size_t seq;                        /* place in its group (arrival order) */
    struct hbgc_node *next;
} hbgc_node;

struct cw__hbgc {
    cw_store *s;
    pthread_mutex_t mu;
    pthread_cond_t work_cv;            /* the committer: a queue to lead, or closing */
    hbgc_node *head, *tail;
    bool led;
    bool thread, closing;
    pthread_t th;
    uint64_t txs, pings;
};

cw_err cw__hbgc_new(cw_store *s, cw__hbgc **out)
{
    cw__hbgc *g = calloc(1, sizeof *g);
    if (!g)
        return CW_ERR_NOMEM;
    g->s = s;
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

void cw__hbgc_free(cw__hbgc *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    g->closing = true;
    bool joined = g->thread;
    pthread_cond_signal(&g->work_cv);
    pthread_mutex_unlock(&g->mu);
    if (joined) /* it writes what is still queued first */
        pthread_join(g->th, NULL);
    pthread_cond_destroy(&g->work_cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

void cw_store_hb_ping_stats(cw_store *s, uint64_t *txs, uint64_t *pings)
{
    *txs = *pings = 0;
    if (!s || !s->hbgc)
        return;
    pthread_mutex_lock(&s->hbgc->mu);
    *txs = s->hbgc->txs;
    *pings = s->hbgc->pings;
    pthread_mutex_unlock(&s->hbgc->mu);
}

static const char *order_key(const cw_hb_ping_in *p)
{
    return p->key_hash ? p->key_hash : p->team_hash ? p->team_hash : "";
}

static int by_key(const void *a, const void *b)
{
    const hbgc_node *x = *(hbgc_node *const *)a, *y = *(hbgc_node *const *)b;
    int c = strcmp(order_key(x->in), order_key(y->in));
    if (!c && x->in->slug && y->in->slug)
        c = strcmp(x->in->slug, y->in->slug);
    /* stable: pings of one heartbeat keep their arrival order */
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* One ping in its own transaction. */
static void write_one(cw_store *s, hbgc_node *nd)
{
    nd->err = cw_store_hb_ping(s, nd->in, 1, nd->out, &nd->diag);
}

/*
 * Writes the n nodes (mu NOT held): one transaction when the arrays can be
 * had, and when it fails as a whole, each alone. Returns the transactions
 * made.
 */
static uint64_t write_group(cw_store *s, hbgc_node **nodes, size_t n)
{
    if (n == 1) {
        write_one(s, nodes[0]);
        return 1;
    }
    qsort(nodes, n, sizeof *nodes, by_key);
    cw_hb_ping_in *in = malloc(n * sizeof *in);
    cw_hb_ping_out *out = malloc(n * sizeof *out);
    cw_err err = CW_ERR_NOMEM;
    cw_diag d = {{0}};
    if (in && out) {
        for (size_t i = 0; i < n; i++)
            in[i] = *nodes[i]->in;
        err = cw_store_hb_ping(s, in, n, out, &d);
    }
    uint64_t txs = 1;
    if (!err) {
        for (size_t i = 0; i < n; i++) {
            *nodes[i]->out = out[i];
            nodes[i]->err = CW_OK;
        }
    } else {
        for (size_t i = 0; i < n; i++)
            write_one(s, nodes[i]);
        txs += n;
    }
    free(in);
    free(out);
    return txs;
}

/* The next leader: a blocking caller at the head, else the committer. */
static void hand_over(cw__hbgc *g)
{
    if (!g->head)
        return;
    if (g->head->cb)
        pthread_cond_signal(&g->work_cv);
    else
        pthread_cond_signal(&g->head->cv);
}

/*
 * Leads one group (mu held on entry and on return; released while
 * writing). The async nodes of the group are returned in *cbs (a list
 * through next) to be called back once mu is released.
 */
static void lead(cw__hbgc *g, hbgc_node **cbs)
{
    g->led = true;
    hbgc_node *group[HBGC_MAX];
    size_t n = 0;
    while (g->head && n < HBGC_MAX) {
        g->head->seq = n;
        group[n++] = g->head;
        g->head = g->head->next;
    }
    if (!g->head)
        g->tail = NULL;
    pthread_mutex_unlock(&g->mu);
    uint64_t txs = write_group(g->s, group, n);
    pthread_mutex_lock(&g->mu);
    g->txs += txs;
    g->pings += n;
    *cbs = NULL;
    for (size_t i = n; i-- > 0;) {
        hbgc_node *nd = group[i];
        nd->done = true;
        if (nd->cb) {
            nd->next = *cbs;
            *cbs = nd;
        } else {
            pthread_cond_signal(&nd->cv);
        }
    }
    g->led = false;
    hand_over(g);
}

/* Calls the async callers back (mu NOT held); frees their nodes. */
static void call_back(hbgc_node *cbs)
{
    while (cbs) {
        hbgc_node *nd = cbs;
        cbs = nd->next;
        *nd->err_out = nd->err;
        if (nd->err)
            *nd->diag_out = nd->diag;
        nd->cb(nd->arg);
        free(nd);
    }
}

static void *committer(void *arg)
{
    cw__hbgc *g = arg;
    pthread_mutex_lock(&g->mu);
    for (;;) {
        if (g->head && !g->led) {
            hbgc_node *cbs;
            lead(g, &cbs);
            pthread_mutex_unlock(&g->mu);
            call_back(cbs);
            pthread_mutex_lock(&g->mu);
            continue;
        }
        if (g->closing && !g->head && !g->led)
            break;
        pthread_cond_wait(&g->work_cv, &g->mu);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

static void append(cw__hbgc *g, hbgc_node *nd)
{
    nd->next = NULL;
    if (g->tail)
        g->tail->next = nd;
    else
        g->head = nd;
    g->tail = nd;
}

cw_err cw_store_hb_ping_grouped(cw_store *s, const cw_hb_ping_in *in, cw_hb_ping_out *out,
                                cw_diag *d)
{
    if (!s || !in || !out)
        return cw_fail(d, CW_ERR_INVALID, "ping: no store, input or output");
    cw__hbgc *g = s->hbgc;
    if (!g)
        return cw_store_hb_ping(s, in, 1, out, d);
    hbgc_node me = {.in = in, .out = out};
    if (pthread_cond_init(&me.cv, NULL))
        return cw_store_hb_ping(s, in, 1, out, d);
    pthread_mutex_lock(&g->mu);
    append(g, &me);
    while (!me.done) {
        if (g->led) {
            pthread_cond_wait(&me.cv, &g->mu);
            continue;
        }
        hbgc_node *cbs; /* lead: the queue holds this caller's ping */
        lead(g, &cbs);
        if (cbs) {
            pthread_mutex_unlock(&g->mu);
            call_back(cbs);
            pthread_mutex_lock(&g->mu);
        }
    }
    pthread_mutex_unlock(&g->mu);
    pthread_cond_destroy(&me.cv);
    if (me.err)
        *d = me.diag;
    return me.err;
}

cw_err cw_store_hb_ping_async(cw_store *s, const cw_hb_ping_in *in, cw_hb_ping_out *out,
                              cw_err *err, cw_diag *d, cw_hb_ping_cb cb, void *arg)
{
    if (!s || !in || !out || !err || !d || !cb)
        return CW_ERR_INVALID;
    cw__hbgc *g = s->hbgc;
    if (!g)
        return CW_ERR_UNSUPPORTED;
    hbgc_node *nd = calloc(1, sizeof *nd);
    if (!nd)
        return CW_ERR_NOMEM;
    *nd = (hbgc_node){.in = in, .out = out, .cb = cb, .arg = arg, .err_out = err,
                      .diag_out = d};
    pthread_mutex_lock(&g->mu);
    if (g->closing) {
        pthread_mutex_unlock(&g->mu);
        free(nd);
        return CW_ERR_UNSUPPORTED;
    }
    if (!g->thread) {
        if (pthread_create(&g->th, NULL, committer, g)) {
            pthread_mutex_unlock(&g->mu);
            free(nd);
            return CW_ERR_IO;
        }
        g->thread = true;
    }
    append(g, nd);
    if (!g->led)
        pthread_cond_signal(&g->work_cv);
    pthread_mutex_unlock(&g->mu);
    return CW_OK;
}
