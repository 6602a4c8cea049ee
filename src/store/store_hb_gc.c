/*
 * store_hb_gc.c — the group commit of pings (store_heartbeats.h,
 * cw_store_hb_ping_grouped). A ping is one small write; committing each in
 * its own transaction makes the commit (an fsync on SQLite, a round trip
 * and a WAL flush on PostgreSQL) the ping API's whole cost. Here the
 * request threads that ping at the same time share one transaction:
 *
 *   each caller queues its ping (in and out stay the caller's: it waits)
 *   and waits on its own condition variable; when no one leads, the first
 *   caller leads: it takes every queued ping (up to HBGC_MAX), writes them
 *   with cw_store_hb_ping in one transaction, and after the commit marks
 *   each done and wakes its caller, then wakes the next queued caller to
 *   lead. So no ping is answered before the transaction holding it has
 *   committed, and a lone ping is written at once (no timer, no added
 *   latency when there is no load).
 *
 * A group whose transaction fails as a whole (one ping's bad arguments, a
 * deadlock between instances on PostgreSQL, a full disk) is written again
 * one ping per transaction, so each caller gets its own ping's answer.
 * Pings are written in the order of their keys' hashes: two instances
 * batching the same heartbeats lock their rows in the same order.
 *
 * The state belongs to the store handle (created by cw_store_open, freed by
 * cw_store_close once no request runs).
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
    pthread_cond_t cv;
    struct hbgc_node *next;
} hbgc_node;

struct cw__hbgc {
    pthread_mutex_t mu;
    hbgc_node *head, *tail;
    bool led;
    uint64_t txs, pings;
};

cw_err cw__hbgc_new(cw__hbgc **out)
{
    cw__hbgc *g = calloc(1, sizeof *g);
    if (!g)
        return CW_ERR_NOMEM;
    if (pthread_mutex_init(&g->mu, NULL)) {
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
    return c;
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
    if (g->tail)
        g->tail->next = &me;
    else
        g->head = &me;
    g->tail = &me;
    while (!me.done) {
        if (g->led) {
            pthread_cond_wait(&me.cv, &g->mu);
            continue;
        }
        /* lead: take the queue (this caller's ping is in it) */
        g->led = true;
        hbgc_node *group[HBGC_MAX];
        size_t n = 0;
        while (g->head && n < HBGC_MAX) {
            group[n++] = g->head;
            g->head = g->head->next;
        }
        if (!g->head)
            g->tail = NULL;
        pthread_mutex_unlock(&g->mu);
        uint64_t txs = write_group(s, group, n);
        pthread_mutex_lock(&g->mu);
        g->txs += txs;
        g->pings += n;
        for (size_t i = 0; i < n; i++) {
            group[i]->done = true;
            if (group[i] != &me)
                pthread_cond_signal(&group[i]->cv);
        }
        g->led = false;
        if (g->head) /* the next caller leads */
            pthread_cond_signal(&g->head->cv);
    }
    pthread_mutex_unlock(&g->mu);
    pthread_cond_destroy(&me.cv);
    if (me.err)
        *d = me.diag;
    return me.err;
}
