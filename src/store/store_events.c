/*
 * store_events.c — the public events functions of store.h (and
 * events_async.h): argument checks,
 * scope parsing, reducing decoded events to rows (in the caller's thread),
 * group commit, and the backend-independent assembly of the delivery
 * insights' input arrays (events_impl.h).
 *
 * Group commit: callers queue their batch (rows whose strings are copies)
 * and one leader per store at a time takes every queued batch of that store
 * (up to a cap), writes them in one transaction and marks them done after
 * the commit. Blocking callers (cw_store_events_put) wait on their own
 * condition variable; when no one leads their store, the first of them
 * leads, and hands over to the next waiter when its own batch is done.
 * Async callers (cw_store_events_put_async, events_async.h) do not wait:
 * when their store has no leader, they hand it to a committer thread
 * (started on demand, at most GC_MAX_THREADS, leaving after GC_IDLE_SECONDS
 * without work), which commits that store's queue until it is empty and
 * calls each async batch back after its commit, outside the lock. No batch
 * is reported done before the transaction holding it has committed. The
 * queue is process-wide (blocking nodes live on the callers' stacks, async
 * ones on the heap, and name their store), so a store needs no extra state
 * for it; a store must not be closed while batches for it are queued.
 *
 * Audit: a batch may carry its request's audit record (prepared in the
 * caller's thread, store_audit.h). The backend's put inserts the records of
 * its stored batches in the same transaction when it supports it (it sets
 * audit_id); the leader appends any left over for the whole group in one
 * transaction right after the commit, before the next group of the store,
 * so record ids follow commit order either way.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events/events.h"
#include "store/events_async.h"
#include "store/events_impl.h"
#include "store/store.h"
#include "store/store_audit.h"
#include "store/store_common.h"
#include "util/buf.h"
#include "util/strmap.h"
#include "util/timeutil.h"

#define GC_MAX_ROWS 50000     /* rows per group transaction (at least one batch) */
#define GC_MAX_BATCHES 512

/* ---- arena ------------------------------------------------------------------------ */

struct cw__arena_chunk {
    cw__arena_chunk *next;
    max_align_t align_;
    /* data follows */
};

#define ARENA_CHUNK (256u << 10)

void *cw__arena_alloc(cw__arena *a, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    size_t at = (a->used + 15) & ~(size_t)15; /* strings may have left it unaligned */
    if (a->head && at <= a->cap)
        a->used = at;
    if (!a->head || at > a->cap || a->cap - a->used < need) {
        size_t cap = need > ARENA_CHUNK ? need : ARENA_CHUNK;
        cw__arena_chunk *c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = a->head;
        a->head = c;
        a->used = 0;
        a->cap = cap;
    }
    char *p = (char *)(a->head + 1) + a->used;
    a->used += need;
    return p;
}

char *cw__arena_strndup(cw__arena *a, const char *s, size_t n)
{
    size_t need = n + 1;
    char *p;
    /* strings need no alignment: pack them */
    if (a->head && a->cap - a->used >= need) {
        p = (char *)(a->head + 1) + a->used;
        a->used += need;
    } else {
        p = cw__arena_alloc(a, need);
        if (!p)
            return NULL;
    }
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void cw__arena_free(cw__arena *a)
{
    while (a->head) {
        cw__arena_chunk *n = a->head->next;
        free(a->head);
        a->head = n;
    }
    a->used = a->cap = 0;
}

/* ---- scopes ------------------------------------------------------------------------ */

cw_err cw_scope_parse(const char *text, cw_scope *out, cw_diag *d)
{
    memset(out, 0, sizeof *out);
    if (!text || !*text)
        return cw_fail(d, CW_ERR_INVALID, "scope: must not be empty (use 'org' or an entity ref)");
    if (!strcmp(text, "org")) {
        out->kind = CW_SCOPE_ORG;
        return CW_OK;
    }
    cw_ref ref;
    cw_diag rd = {{0}};
    if (cw_ref_parse(text, "Component", NULL, &ref, &rd))
        return cw_fail(d, CW_ERR_INVALID, "scope: %s", rd.msg);
    if (!strcmp(ref.kind, "Component"))
        out->kind = CW_SCOPE_COMPONENT;
    else if (!strcmp(ref.kind, "System"))
        out->kind = CW_SCOPE_SYSTEM;
    else if (!strcmp(ref.kind, "Group"))
        out->kind = CW_SCOPE_GROUP;
    else
        return cw_fail(d, CW_ERR_INVALID,
                       "scope: '%s' is a %s; use 'org', a Component, a System or a Group", text,
                       ref.kind);
    cw_ref_key(&ref, out->key);
    return CW_OK;
}

/* ---- rows -------------------------------------------------------------------------- */

static int kind_of(const cw_event *ev, int *cls)
{
    static const struct {
        const char *subject, *predicate;
        int kind, cls;
    } table[] = {
        {"service", "deployed", CW__EVK_DEPLOYED, CW__EVC_SERVICE},
        {"service", "upgraded", CW__EVK_UPGRADED, CW__EVC_SERVICE},
        {"service", "rolledback", CW__EVK_ROLLEDBACK, CW__EVC_SERVICE},
        {"change", "created", CW__EVK_CHANGE_CREATED, CW__EVC_CHANGE},
        {"change", "merged", CW__EVK_CHANGE_MERGED, CW__EVC_CHANGE},
        {"incident", "detected", CW__EVK_INCIDENT_DETECTED, CW__EVC_INCIDENT},
        {"incident", "reported", CW__EVK_INCIDENT_REPORTED, CW__EVC_INCIDENT},
        {"incident", "resolved", CW__EVK_INCIDENT_RESOLVED, CW__EVC_INCIDENT},
    };
    *cls = CW__EVC_NONE;
    if (!ev->known)
        return CW__EVK_NONE;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (cw_event_is(ev, table[i].subject, table[i].predicate)) {
            *cls = table[i].cls;
            return table[i].kind;
        }
    return CW__EVK_NONE;
}

/* Every string of a row, as offsets into the text buffer until it stops
 * moving; (size_t)-1 for an absent one. */
enum { RT_SOURCE, RT_ID, RT_TYPE, RT_SUBJECT, RT_CHAIN, RT_ENV, RT_ARTIFACT, RT_LINK, RT_BODY,
       RT_CHANGES, RT_N };
typedef struct {
    size_t at[RT_N];
} row_text;

#define RT_NONE ((size_t)-1)

static cw_err put_text(cw_buf *text, const char *v, size_t *at)
{
    *at = RT_NONE;
    if (!v)
        return CW_OK;
    size_t pos = text->len;
    cw_err err = cw_buf_append(text, v, strlen(v) + 1); /* with its NUL */
    if (!err)
        *at = pos;
    return err;
}

static const char *text_at(const cw_buf *text, size_t at)
{
    return at == RT_NONE ? NULL : text->data + at;
}

/* Rows for events[0..n): every string is copied into text (the rows borrow
 * from it), so the events may be freed as soon as this returns. */
static cw_err make_rows(const cw_event *events, size_t n, cw__event_row *rows, cw_buf *text,
                        cw_diag *d)
{
    row_text *off = malloc(n * sizeof *off);
    if (!off)
        return cw_fail(d, CW_ERR_NOMEM, "events: out of memory");
    cw_err err = CW_OK;
    for (size_t i = 0; i < n; i++) {
        const cw_event *ev = &events[i];
        cw__event_row *r = &rows[i];
        size_t *at = off[i].at;
        if (!ev->raw || !ev->source || !ev->id || !ev->type || !ev->subject_id) {
            err = cw_fail(d, CW_ERR_INVALID, "events[%zu]: not a decoded event", i);
            goto out;
        }
        memset(r, 0, sizeof *r);
        r->time_ms = ev->time_ms;
        r->kind = kind_of(ev, &r->cls);
        cw_event_link_key key;
        cw_event_service_key(ev, &key);
        r->link_kind = (int)key.kind;
        const char *link = key.kind == CW_LINK_SERVICE      ? key.service_id
                           : key.kind == CW_LINK_REPOSITORY ? key.repository_id
                                                            : NULL;
        if (!link)
            r->link_kind = CW_LINK_NONE;
        if (!(err = put_text(text, ev->source, &at[RT_SOURCE])) &&
            !(err = put_text(text, ev->id, &at[RT_ID])) &&
            !(err = put_text(text, ev->type, &at[RT_TYPE])) &&
            !(err = put_text(text, ev->subject_id, &at[RT_SUBJECT])) &&
            !(err = put_text(text, ev->chain_id, &at[RT_CHAIN])) &&
            !(err = put_text(text, ev->environment_id, &at[RT_ENV])) &&
            !(err = put_text(text, ev->artifact_id, &at[RT_ARTIFACT])) &&
            !(err = put_text(text, link, &at[RT_LINK]))) {
            at[RT_BODY] = text->len;
            /* the decoder kept the text when it was compact already */
            err = ev->compact ? cw_buf_append(text, ev->compact, strlen(ev->compact))
                              : cw__json_compact(ev->raw, text);
        }
        if (!err)
            err = cw_buf_putc(text, '\0');
        at[RT_CHANGES] = RT_NONE;
        const json_t *ch = NULL;
        if (!err && (r->kind == CW__EVK_DEPLOYED || r->kind == CW__EVK_UPGRADED) &&
            (ch = cw_event_custom_changes(ev)) && json_is_array(ch)) {
            at[RT_CHANGES] = text->len;
            err = cw__json_compact(ch, text);
            if (!err)
                err = cw_buf_putc(text, '\0');
        }
        if (err) {
            err = cw_fail(d, err, "events[%zu]: %s while serialising", i,
                          err == CW_ERR_TOO_LARGE ? "too large" : "out of memory");
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const size_t *at = off[i].at;
        cw__event_row *r = &rows[i];
        r->source = text_at(text, at[RT_SOURCE]);
        r->id = text_at(text, at[RT_ID]);
        r->type = text_at(text, at[RT_TYPE]);
        r->subject_id = text_at(text, at[RT_SUBJECT]);
        r->chain_id = text_at(text, at[RT_CHAIN]);
        r->environment = text_at(text, at[RT_ENV]);
        r->artifact_id = text_at(text, at[RT_ARTIFACT]);
        r->link_value = text_at(text, at[RT_LINK]);
        r->body = text_at(text, at[RT_BODY]);
        r->changes = text_at(text, at[RT_CHANGES]);
    }
out:
    free(off);
    return err;
}

/* ---- audit rows inside a backend's events transaction -------------------------------- */

cw_err cw__events_audit_rows(cw__event_batch *const *batches, size_t n,
                             cw__audit_insert_fn insert, void *conn, cw_diag *d)
{
    int64_t now = cw_now_ms();
    for (size_t i = 0; i < n; i++) {
        cw__event_batch *b = batches[i];
        b->audit_id = 0;
        if (!b->audit || b->err)
            continue;
        cw_err err = cw__audit_row_finish(b->audit, b->res.accepted, b->res.duplicates,
                                          b->res.conflicts, now, d);
        if (!err)
            err = insert(conn, b->audit, &b->audit_id, d);
        if (err)
            return err;
    }
    return CW_OK;
}

/* ---- group commit ---------------------------------------------------------------------- */

typedef struct gc_node {
    cw_store *s;
    const struct cw_store_event_ops *ops;
    cw__event_batch *batch;
    bool done;
    bool async;
    pthread_cond_t cv;         /* blocking callers: done, or it may lead next */
    cw_events_done_fn cb;      /* async callers: one of the two */
    cw_events_audited_fn cb_audited;
    void *arg;
    struct gc_node *next;
} gc_node;

/* An async call's node and everything its rows point into but the events. */
typedef struct {
    gc_node node;
    cw__event_batch batch;
    cw__event_row *rows;
    cw_buf text;
} gc_async;

/* Who commits a store's queue: a blocking caller (on its stack) or a job
 * for a committer thread (on the heap, assigned once a thread takes it). */
typedef struct gc_leader {
    cw_store *s;
    const struct cw_store_event_ops *ops;
    bool job, assigned;
    struct gc_leader *next;
} gc_leader;

#define GC_MAX_THREADS 8
#define GC_IDLE_SECONDS 5

static pthread_mutex_t gc_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gc_work_cv = PTHREAD_COND_INITIALIZER; /* a job is waiting */
static gc_node *gc_head;
static gc_leader *gc_leaders;
static size_t gc_threads, gc_idle;           /* committer threads, of which idle */
static uint64_t gc_txs, gc_batches, gc_rows; /* under gc_mu */

void cw__events_gc_stats(uint64_t *txs, uint64_t *batches, uint64_t *rows)
{
    pthread_mutex_lock(&gc_mu);
    *txs = gc_txs;
    *batches = gc_batches;
    *rows = gc_rows;
    pthread_mutex_unlock(&gc_mu);
}

static bool gc_has_leader(const cw_store *s)
{
    for (gc_leader *l = gc_leaders; l; l = l->next)
        if (l->s == s)
            return true;
    return false;
}

static gc_node *gc_oldest(const cw_store *s)
{
    for (gc_node *nd = gc_head; nd; nd = nd->next)
        if (nd->s == s)
            return nd;
    return NULL;
}

static void gc_unlink_leader(gc_leader *lead)
{
    for (gc_leader **pp = &gc_leaders; *pp; pp = &(*pp)->next)
        if (*pp == lead) {
            *pp = lead->next;
            return;
        }
}

static void gc_append(gc_node *nd)
{
    gc_node **tail = &gc_head;
    while (*tail)
        tail = &(*tail)->next;
    *tail = nd;
}

static void gc_finish_async(gc_async *a)
{
    cw__event_batch *b = &a->batch;
    if (a->node.cb_audited)
        a->node.cb_audited(a->node.arg, b->err, &b->res, b->audit_id,
                           b->err ? &b->diag : &b->audit_diag);
    else
        a->node.cb(a->node.arg, b->err, &b->res, &b->diag);
    cw__audit_row_free(b->audit);
    cw_buf_free(&a->text);
    free(a->rows);
    free(a);
}

/* Runs the callbacks of completed async nodes (gc_mu NOT held). */
static void gc_run_callbacks(gc_node *list)
{
    while (list) {
        gc_node *next = list->next;
        gc_finish_async((gc_async *)list);
        list = next;
    }
}

/*
 * After the commit of batches[0..k) (gc_mu NOT held, s still led by the
 * caller, so groups append in commit order): the audit rows of the stored
 * batches the backend did not insert itself, in one transaction, in batch
 * order. A failure leaves those batches stored with audit_id 0 and the
 * reason in audit_diag.
 */
static void gc_audit_group(cw_store *s, cw__event_batch *const *batches, size_t k)
{
    cw__audit_row *rows[GC_MAX_BATCHES];
    int64_t ids[GC_MAX_BATCHES];
    cw__event_batch *owners[GC_MAX_BATCHES];
    size_t m = 0;
    int64_t now = cw_now_ms();
    for (size_t i = 0; i < k; i++) {
        cw__event_batch *b = batches[i];
        if (!b->audit || b->err || b->audit_id)
            continue;
        cw_diag cd = {{0}};
        if (cw__audit_row_finish(b->audit, b->res.accepted, b->res.duplicates, b->res.conflicts,
                                 now, &cd)) {
            b->audit_diag = cd;
            continue;
        }
        owners[m] = b;
        ids[m] = 0;
        rows[m++] = b->audit;
    }
    if (m == 0)
        return;
    cw_diag ad = {{0}};
    cw_err err = cw__audit_append_rows(s, rows, m, ids, &ad);
    for (size_t i = 0; i < m; i++) {
        owners[i]->audit_id = err ? 0 : ids[i];
        if (err)
            owners[i]->audit_diag = ad;
    }
}

/*
 * With gc_mu held and s led by the caller: takes s's queued batches in
 * arrival order (up to the caps), commits them in one transaction and marks
 * them done, waking the blocking callers among them. The completed async
 * nodes are pushed on *done_async for the caller to call back after
 * unlocking. Returns with gc_mu held.
 */
static void gc_commit_group(cw_store *s, const struct cw_store_event_ops *ops,
                            gc_node **done_async)
{
    cw__event_batch *taken[GC_MAX_BATCHES];
    gc_node *nodes[GC_MAX_BATCHES];
    size_t k = 0, rows = 0;
    for (gc_node **pp = &gc_head; *pp && k < GC_MAX_BATCHES;) {
        gc_node *nd = *pp;
        if (nd->s != s) {
            pp = &nd->next;
            continue;
        }
        if (k > 0 && rows + nd->batch->n > GC_MAX_ROWS)
            break;
        rows += nd->batch->n;
        nodes[k] = nd;
        taken[k++] = nd->batch;
        *pp = nd->next;
    }
    if (k == 0)
        return;
    gc_txs++;
    gc_batches += k;
    gc_rows += rows;
    pthread_mutex_unlock(&gc_mu);

    cw_diag d = {{0}};
    for (size_t i = 0; i < k; i++)
        taken[i]->audit_id = 0;
    cw_err err = ops->put(s, taken, k, cw_now_ms(), &d);
    if (err)
        for (size_t i = 0; i < k; i++) {
            taken[i]->err = err;
            taken[i]->diag = d;
            taken[i]->audit_id = 0;
            memset(&taken[i]->res, 0, sizeof taken[i]->res);
        }
    else
        gc_audit_group(s, taken, k);

    /* Blocking callers cannot leave before we unlock, so their nodes stay
     * valid while we signal them. */
    pthread_mutex_lock(&gc_mu);
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

static void *gc_committer(void *arg);

/*
 * With gc_mu held and s without a leader: makes a committer thread lead s.
 * Returns false when no thread exists and none can be started (the caller
 * must then lead s itself).
 */
static bool gc_start_job(cw_store *s, const struct cw_store_event_ops *ops)
{
    size_t waiting = 0;
    for (gc_leader *l = gc_leaders; l; l = l->next)
        waiting += l->job && !l->assigned;
    if (gc_idle <= waiting && gc_threads < GC_MAX_THREADS) {
        pthread_attr_t at;
        pthread_t th;
        bool ok = pthread_attr_init(&at) == 0;
        if (ok) {
            pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
            ok = pthread_create(&th, &at, gc_committer, NULL) == 0;
            pthread_attr_destroy(&at);
        }
        if (ok)
            gc_threads++;
    }
    if (gc_threads == 0)
        return false;
    gc_leader *job = calloc(1, sizeof *job);
    if (!job)
        return false;
    *job = (gc_leader){.s = s, .ops = ops, .job = true, .next = gc_leaders};
    gc_leaders = job;
    pthread_cond_signal(&gc_work_cv);
    return true;
}

/* With gc_mu held, after a blocking caller stopped leading s: whoever is
 * next commits. Returns false when the caller must go on leading. */
static bool gc_hand_off(cw_store *s, const struct cw_store_event_ops *ops)
{
    gc_node *next = gc_oldest(s);
    if (!next)
        return true;
    if (!next->async) {
        pthread_cond_signal(&next->cv);
        return true;
    }
    return gc_start_job(s, ops);
}

/* A committer thread: takes jobs, commits the job's store until its queue
 * is empty, and leaves after GC_IDLE_SECONDS without work. */
static void *gc_committer(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&gc_mu);
    for (;;) {
        gc_leader *job = NULL;
        for (gc_leader *l = gc_leaders; l && !job; l = l->next)
            if (l->job && !l->assigned)
                job = l;
        if (!job) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += GC_IDLE_SECONDS;
            gc_idle++;
            int rc = pthread_cond_timedwait(&gc_work_cv, &gc_mu, &until);
            gc_idle--;
            if (rc == 0)
                continue;
            bool any = false;
            for (gc_leader *l = gc_leaders; l && !any; l = l->next)
                any = l->job && !l->assigned;
            if (any)
                continue;
            break;
        }
        job->assigned = true;
        while (gc_oldest(job->s)) {
            gc_node *done = NULL;
            gc_commit_group(job->s, job->ops, &done);
            pthread_mutex_unlock(&gc_mu);
            gc_run_callbacks(done);
            pthread_mutex_lock(&gc_mu);
        }
        gc_unlink_leader(job);
        free(job);
    }
    gc_threads--;
    pthread_mutex_unlock(&gc_mu);
    return NULL;
}

/* Blocking form: queue, then either wait or lead. Each blocking caller
 * sleeps on its own condition variable, so a commit wakes exactly the
 * callers it completed plus the one that commits next. */
static void group_commit(cw_store *s, const struct cw_store_event_ops *ops, cw__event_batch *b)
{
    gc_node me = {.s = s, .ops = ops, .batch = b};
    pthread_cond_init(&me.cv, NULL);
    pthread_mutex_lock(&gc_mu);
    gc_append(&me);
    bool lead_more = false;
    while (!me.done || lead_more) {
        if (gc_has_leader(s)) {
            if (me.done)
                break;
            pthread_cond_wait(&me.cv, &gc_mu);
            continue;
        }
        gc_leader lead = {.s = s, .ops = ops, .next = gc_leaders};
        gc_leaders = &lead;
        gc_node *done = NULL;
        gc_commit_group(s, ops, &done);
        gc_unlink_leader(&lead);
        lead_more = !gc_hand_off(s, ops);
        pthread_mutex_unlock(&gc_mu);
        gc_run_callbacks(done);
        pthread_mutex_lock(&gc_mu);
    }
    pthread_mutex_unlock(&gc_mu);
    pthread_cond_destroy(&me.cv);
}

/* An empty batch with an audit entry: the record alone, counts 0. */
static cw_err audit_empty(cw_store *s, cw__audit_row *row, int64_t *id, cw_diag *ad)
{
    *id = 0;
    cw_err err = cw__audit_row_finish(row, 0, 0, 0, cw_now_ms(), ad);
    if (err)
        return err;
    return cw__audit_append_rows(s, &row, 1, id, ad);
}

cw_err cw_store_events_put_audited(cw_store *s, const cw_event *events, size_t n,
                                   const cw_audit_entry *audit, cw_event_put_result *res,
                                   int64_t *audit_id, cw_diag *d)
{
    const struct cw_store_event_ops *ops;
    STORE_OPS(s, events, ops, d);
    if (!res)
        return cw_fail(d, CW_ERR_INVALID, "store: no result for the events");
    memset(res, 0, sizeof *res);
    if (audit_id)
        *audit_id = 0;
    if (n && !events)
        return cw_fail(d, CW_ERR_INVALID, "store: no events");
    cw_err err = CW_OK;
    cw__event_row *rows = NULL;
    cw__audit_row *arow = NULL;
    cw_buf text;
    cw_buf_init(&text, (size_t)1 << 30);
    if (audit && (err = cw__audit_row_prepare(audit, &arow, d)))
        goto out;
    if (n == 0) {
        int64_t id = 0;
        cw_diag ad = {{0}};
        if (arow && audit_empty(s, arow, &id, &ad) && d)
            *d = ad;
        if (audit_id)
            *audit_id = id;
        goto out;
    }
    rows = malloc(n * sizeof *rows);
    if (!rows) {
        err = cw_fail(d, CW_ERR_NOMEM, "events: out of memory");
        goto out;
    }
    err = make_rows(events, n, rows, &text, d);
    if (err)
        goto out;
    cw__event_batch b = {.rows = rows, .n = n, .audit = arow};
    group_commit(s, ops, &b);
    if (b.err) {
        err = b.err;
        if (d)
            *d = b.diag;
        goto out;
    }
    *res = b.res;
    if (audit_id)
        *audit_id = b.audit_id;
    if (arow && !b.audit_id && d)
        *d = b.audit_diag;
out:
    cw__audit_row_free(arow);
    cw_buf_free(&text);
    free(rows);
    return err;
}

cw_err cw_store_events_put(cw_store *s, const cw_event *events, size_t n,
                           cw_event_put_result *res, cw_diag *d)
{
    return cw_store_events_put_audited(s, events, n, NULL, res, NULL, d);
}

/* The async forms: exactly one of done and done_audited. */
static cw_err put_async(cw_store *s, const cw_event *events, size_t n,
                        const cw_audit_entry *audit, cw_events_done_fn done,
                        cw_events_audited_fn done_audited, void *arg, cw_diag *d)
{
    const struct cw_store_event_ops *ops;
    STORE_OPS(s, events, ops, d);
    if (!done && !done_audited)
        return cw_fail(d, CW_ERR_INVALID, "store: no completion for the events");
    if (n && !events)
        return cw_fail(d, CW_ERR_INVALID, "store: no events");
    cw_err err = CW_OK;
    cw__audit_row *arow = NULL;
    if (audit && (err = cw__audit_row_prepare(audit, &arow, d)))
        return err;
    if (n == 0) {
        cw_event_put_result none = {0};
        cw_diag nd = {{0}};
        int64_t id = 0;
        if (arow)
            audit_empty(s, arow, &id, &nd);
        cw__audit_row_free(arow);
        if (done_audited)
            done_audited(arg, CW_OK, &none, id, &nd);
        else
            done(arg, CW_OK, &none, &nd);
        return CW_OK;
    }
    gc_async *a = calloc(1, sizeof *a);
    if (!a) {
        cw__audit_row_free(arow);
        return cw_fail(d, CW_ERR_NOMEM, "events: out of memory");
    }
    cw_buf_init(&a->text, (size_t)1 << 30);
    a->rows = malloc(n * sizeof *a->rows);
    if (!a->rows) {
        err = cw_fail(d, CW_ERR_NOMEM, "events: out of memory");
        goto fail;
    }
    err = make_rows(events, n, a->rows, &a->text, d);
    if (err)
        goto fail;
    a->batch = (cw__event_batch){.rows = a->rows, .n = n, .audit = arow};
    a->node = (gc_node){.s = s, .ops = ops, .batch = &a->batch, .async = true, .cb = done,
                        .cb_audited = done_audited, .arg = arg};
    pthread_mutex_lock(&gc_mu);
    gc_append(&a->node);
    if (!gc_has_leader(s) && !gc_start_job(s, ops)) {
        /* no committer thread could be had: commit here */
        gc_leader lead = {.s = s, .ops = ops, .next = gc_leaders};
        gc_leaders = &lead;
        while (gc_oldest(s)) {
            gc_node *fin = NULL;
            gc_commit_group(s, ops, &fin);
            pthread_mutex_unlock(&gc_mu);
            gc_run_callbacks(fin);
            pthread_mutex_lock(&gc_mu);
        }
        gc_unlink_leader(&lead);
    }
    pthread_mutex_unlock(&gc_mu);
    return CW_OK;
fail:
    cw__audit_row_free(arow);
    cw_buf_free(&a->text);
    free(a->rows);
    free(a);
    return err;
}

cw_err cw_store_events_put_async(cw_store *s, const cw_event *events, size_t n,
                                 cw_events_done_fn done, void *arg, cw_diag *d)
{
    if (!done)
        return cw_fail(d, CW_ERR_INVALID, "store: no completion for the events");
    return put_async(s, events, n, NULL, done, NULL, arg, d);
}

cw_err cw_store_events_put_async_audited(cw_store *s, const cw_event *events, size_t n,
                                         const cw_audit_entry *audit,
                                         cw_events_audited_fn done, void *arg, cw_diag *d)
{
    if (!done)
        return cw_fail(d, CW_ERR_INVALID, "store: no completion for the events");
    return put_async(s, events, n, audit, NULL, done, arg, d);
}

/* ---- reads ------------------------------------------------------------------------------- */

cw_err cw_store_events_query(cw_store *s, const cw_event_query *q, cw_event_list *out,
                             cw_diag *d)
{
    const struct cw_store_event_ops *ops;
    STORE_OPS(s, events, ops, d);
    if (!q || !out)
        return cw_fail(d, CW_ERR_INVALID, "store: no query or output");
    memset(out, 0, sizeof *out);
    if (q->limit == 0)
        return CW_OK;
    if (q->from_ms >= q->to_ms)
        return cw_fail(d, CW_ERR_INVALID, "to: must be later than from");
    return ops->query(s, q, out, d);
}

void cw_event_list_free(cw_event_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->len; i++) {
        cw_stored_event *e = &l->items[i];
        free(e->source);
        free(e->id);
        free(e->type);
        free(e->subject_id);
        free(e->chain_id);
        free(e->environment);
        free(e->artifact_id);
        free(e->link_value);
        free(e->component_ref);
        free(e->body);
    }
    free(l->items);
    l->items = NULL;
    l->len = 0;
}

cw_err cw_store_events_unmatched_keys(cw_store *s, size_t max, cw_unmatched_key **out,
                                      size_t *n, cw_diag *d)
{
    const struct cw_store_event_ops *ops;
    STORE_OPS(s, events, ops, d);
    if (!out || !n)
        return cw_fail(d, CW_ERR_INVALID, "store: no output");
    *out = NULL;
    *n = 0;
    if (max == 0)
        return CW_OK;
    return ops->unmatched_keys(s, max, out, n, d);
}

void cw_unmatched_keys_free(cw_unmatched_key *k, size_t n)
{
    for (size_t i = 0; k && i < n; i++)
        free(k[i].value);
    free(k);
}

cw_err cw_store_link_owners(cw_store *s, cw_link_owners *out, cw_diag *d)
{
    const struct cw_store_event_ops *ops;
    STORE_OPS(s, events, ops, d);
    if (!out)
        return cw_fail(d, CW_ERR_INVALID, "store: no output");
    memset(out, 0, sizeof *out);
    if (!ops->link_owners)
        return cw_fail(d, CW_ERR_UNSUPPORTED, "store: link owners not supported");
    cw_err err = ops->link_owners(s, out, d);
    if (err)
        cw_link_owners_free(out);
    return err;
}

cw_err cw_store_catalog_gen(cw_store *s, int64_t *out, cw_diag *d)
{
    const struct cw_store_event_ops *ops;
    STORE_OPS(s, events, ops, d);
    if (!out)
        return cw_fail(d, CW_ERR_INVALID, "store: no output");
    if (!ops->catalog_gen)
        return cw_fail(d, CW_ERR_UNSUPPORTED, "store: catalog generation not supported");
    return ops->catalog_gen(s, out, d);
}

void cw_link_owners_free(cw_link_owners *o)
{
    for (size_t i = 0; o && i < o->len; i++)
        free(o->items[i].ref); /* the block holding every string of the item */
    if (o) {
        free(o->items);
        memset(o, 0, sizeof *o);
    }
}

cw_err cw_store_delivery_load(cw_store *s, const cw_delivery_query *q, cw_delivery_data *out,
                              cw_diag *d)
{
    const struct cw_store_event_ops *ops;
    STORE_OPS(s, events, ops, d);
    if (!q || !out)
        return cw_fail(d, CW_ERR_INVALID, "store: no query or output");
    memset(out, 0, sizeof *out);
    cw_diag pd = {{0}};
    if (cw_env_pattern_validate(q->production_env, &pd))
        return cw_fail(d, CW_ERR_INVALID, "production environment pattern: %s", pd.msg);
    return ops->delivery(s, q, out, d);
}

/* ---- delivery data ------------------------------------------------------------------------ */

typedef struct {
    cw__arena arena;
    cw_dora_deployment *deps;
    cw_dora_rollback *rbs;
    cw_dora_change *chs;
    cw_dora_incident *incs;
} delivery_priv;

typedef struct {
    cw_dora_incident inc;
    int64_t comp_ms;     /* time of the event that gave the component */
    int64_t art_ms;      /* time of the event that gave the artifact */
} incident_acc;

struct cw__delivery_builder {
    cw__arena arena;
    char **refs, **owners;
    size_t ncomp, capcomp;
    cw_dora_deployment *deps;
    size_t ndeps, capdeps;
    cw_dora_rollback *rbs;
    size_t nrbs, caprbs;
    cw_dora_change *chs;
    size_t nchs, capchs;
    incident_acc *incs;
    size_t nincs, capincs;
    cw_strmap inc_index;  /* incident id -> index + 1 */
    bool *multi;          /* per component: changes under several link keys */
    cw_strmap chg_index;  /* "<comp>:<id>" -> index + 1, for multi components */
};

/* Grows *arr (element size sz) to hold one more; false when out of memory. */
static bool grow(void **arr, size_t *cap, size_t len, size_t sz)
{
    if (len < *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 256;
    void *p = realloc(*arr, ncap * sz);
    if (!p)
        return false;
    *arr = p;
    *cap = ncap;
    return true;
}

cw_err cw__delivery_builder_new(cw__delivery_builder **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? CW_OK : CW_ERR_NOMEM;
}

void cw__delivery_builder_free(cw__delivery_builder *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->ncomp; i++) {
        free(b->refs[i]);
        free(b->owners[i]);
    }
    free(b->refs);
    free(b->owners);
    free(b->deps);
    free(b->rbs);
    free(b->chs);
    free(b->incs);
    cw_strmap_free(&b->inc_index);
    free(b->multi);
    cw_strmap_free(&b->chg_index);
    cw__arena_free(&b->arena);
    free(b);
}

cw__arena *cw__delivery_arena(cw__delivery_builder *b) { return &b->arena; }

cw_err cw__delivery_add_component(cw__delivery_builder *b, const char *ref, const char *owner)
{
    if (b->ncomp == b->capcomp) {
        size_t cap = b->capcomp ? b->capcomp * 2 : 64;
        char **r = realloc(b->refs, cap * sizeof *r);
        if (!r)
            return CW_ERR_NOMEM;
        b->refs = r;
        char **o = realloc(b->owners, cap * sizeof *o);
        if (!o)
            return CW_ERR_NOMEM;
        b->owners = o;
        b->capcomp = cap;
    }
    char *rc = strdup(ref);
    char *oc = owner && *owner ? strdup(owner) : NULL;
    if (!rc || (owner && *owner && !oc)) {
        free(rc);
        free(oc);
        return CW_ERR_NOMEM;
    }
    b->refs[b->ncomp] = rc;
    b->owners[b->ncomp] = oc;
    b->ncomp++;
    return CW_OK;
}

/* Parses the stored customData.changes (a compact JSON array of strings). */
static cw_err parse_change_ids(cw__arena *a, const char *json, const char *const **out,
                               size_t *n)
{
    *out = NULL;
    *n = 0;
    json_t *arr = json_loads(json, JSON_DECODE_ANY, NULL);
    if (!json_is_array(arr)) {
        json_decref(arr);
        return CW_OK; /* not interpretable: implicit attribution */
    }
    size_t len = json_array_size(arr), k = 0;
    const char **ids = len ? cw__arena_alloc(a, len * sizeof *ids) : NULL;
    if (len && !ids) {
        json_decref(arr);
        return CW_ERR_NOMEM;
    }
    for (size_t i = 0; i < len; i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_string(v))
            continue;
        ids[k] = cw__arena_strndup(a, json_string_value(v), json_string_length(v));
        if (!ids[k]) {
            json_decref(arr);
            return CW_ERR_NOMEM;
        }
        k++;
    }
    json_decref(arr);
    *out = k ? ids : NULL;
    *n = k;
    return CW_OK;
}

static const char *dup_opt(cw__arena *a, const char *s, size_t n, bool *oom)
{
    if (!s)
        return NULL;
    const char *c = cw__arena_strndup(a, s, n);
    if (!c)
        *oom = true;
    return c;
}

cw_err cw__delivery_add_deployment(cw__delivery_builder *b, int32_t comp, int64_t time_ms,
                                   const char *artifact_id, size_t artifact_len,
                                   const char *chain_id, size_t chain_len,
                                   const char *change_ids_json)
{
    if (!grow((void **)&b->deps, &b->capdeps, b->ndeps, sizeof *b->deps))
        return CW_ERR_NOMEM;
    cw_dora_deployment *dp = &b->deps[b->ndeps];
    memset(dp, 0, sizeof *dp);
    bool oom = false;
    dp->component = comp;
    dp->time_ms = time_ms;
    dp->artifact_id = dup_opt(&b->arena, artifact_id, artifact_len, &oom);
    dp->chain_id = dup_opt(&b->arena, chain_id, chain_len, &oom);
    if (oom)
        return CW_ERR_NOMEM;
    if (change_ids_json) {
        cw_err err = parse_change_ids(&b->arena, change_ids_json, &dp->change_ids,
                                      &dp->nchange_ids);
        if (err)
            return err;
    }
    b->ndeps++;
    return CW_OK;
}

cw_err cw__delivery_add_rollback(cw__delivery_builder *b, int32_t comp, int64_t time_ms)
{
    if (!grow((void **)&b->rbs, &b->caprbs, b->nrbs, sizeof *b->rbs))
        return CW_ERR_NOMEM;
    b->rbs[b->nrbs].component = comp;
    b->rbs[b->nrbs].time_ms = time_ms;
    b->nrbs++;
    return CW_OK;
}

static void min_time(int64_t *slot, int64_t t)
{
    if (*slot == 0 || t < *slot)
        *slot = t;
}

cw_err cw__delivery_mark_multi_link(cw__delivery_builder *b, int32_t comp)
{
    if (comp < 0 || (size_t)comp >= b->ncomp)
        return CW_ERR_INVALID;
    if (!b->multi && !(b->multi = calloc(b->ncomp, sizeof *b->multi)))
        return CW_ERR_NOMEM;
    b->multi[comp] = true;
    return CW_OK;
}

/* The entry of (comp, id) among a multi-link component's changes, or NULL
 * after registering index next for it. */
static cw_err multi_lookup(cw__delivery_builder *b, int32_t comp, const char *id, size_t id_len,
                           cw_dora_change **found)
{
    *found = NULL;
    size_t klen = id_len + 16;
    char *key = malloc(klen);
    if (!key)
        return CW_ERR_NOMEM;
    int n = snprintf(key, klen, "%d:", (int)comp);
    memcpy(key + n, id, id_len);
    key[(size_t)n + id_len] = '\0';
    size_t idx = (size_t)(uintptr_t)cw_strmap_get(&b->chg_index, key);
    cw_err err = CW_OK;
    if (idx)
        *found = &b->chs[idx - 1];
    else
        err = cw_strmap_put(&b->chg_index, key, (void *)(uintptr_t)(b->nchs + 1));
    free(key);
    return err;
}

cw_err cw__delivery_add_change_event(cw__delivery_builder *b, int32_t comp,
                                     const char *change_id, size_t id_len, int kind,
                                     int64_t time_ms)
{
    cw_dora_change *c = NULL;
    if (b->multi && comp >= 0 && (size_t)comp < b->ncomp && b->multi[comp]) {
        cw_err err = multi_lookup(b, comp, change_id, id_len, &c);
        if (err)
            return err;
    } else if (b->nchs) {
        c = &b->chs[b->nchs - 1];
        if (c->component != comp || strncmp(c->change_id, change_id, id_len) != 0 ||
            c->change_id[id_len] != '\0')
            c = NULL;
    }
    if (!c) {
        if (!grow((void **)&b->chs, &b->capchs, b->nchs, sizeof *b->chs))
            return CW_ERR_NOMEM;
        c = &b->chs[b->nchs];
        memset(c, 0, sizeof *c);
        c->component = comp;
        c->change_id = cw__arena_strndup(&b->arena, change_id, id_len);
        if (!c->change_id)
            return CW_ERR_NOMEM;
        b->nchs++;
    }
    /* 0 means unknown in the plain arrays: a change at the epoch instant is
     * moved by one millisecond rather than lost */
    if (time_ms == 0)
        time_ms = 1;
    if (kind == CW__EVK_CHANGE_CREATED)
        min_time(&c->created_ms, time_ms);
    else if (kind == CW__EVK_CHANGE_MERGED)
        min_time(&c->merged_ms, time_ms);
    return CW_OK;
}

cw_err cw__delivery_add_incident_event(cw__delivery_builder *b, int32_t comp,
                                       const char *incident_id, size_t id_len, int kind,
                                       int64_t time_ms, const char *artifact_id,
                                       size_t artifact_len)
{
    char stackkey[256];
    char *key = stackkey;
    if (id_len >= sizeof stackkey) {
        key = malloc(id_len + 1);
        if (!key)
            return CW_ERR_NOMEM;
    }
    memcpy(key, incident_id, id_len);
    key[id_len] = '\0';
    cw_err err = CW_OK;
    size_t idx = (size_t)(uintptr_t)cw_strmap_get(&b->inc_index, key);
    incident_acc *acc;
    if (idx == 0) {
        if (!grow((void **)&b->incs, &b->capincs, b->nincs, sizeof *b->incs)) {
            err = CW_ERR_NOMEM;
            goto out;
        }
        acc = &b->incs[b->nincs];
        memset(acc, 0, sizeof *acc);
        acc->inc.component = -1;
        acc->inc.incident_id = cw__arena_strndup(&b->arena, incident_id, id_len);
        if (!acc->inc.incident_id) {
            err = CW_ERR_NOMEM;
            goto out;
        }
        b->nincs++;
        err = cw_strmap_put(&b->inc_index, key, (void *)(uintptr_t)b->nincs);
        if (err)
            goto out;
    } else {
        acc = &b->incs[idx - 1];
    }
    if (time_ms == 0)
        time_ms = 1;
    if (kind == CW__EVK_INCIDENT_DETECTED || kind == CW__EVK_INCIDENT_REPORTED)
        min_time(&acc->inc.start_ms, time_ms);
    else if (kind == CW__EVK_INCIDENT_RESOLVED && time_ms > acc->inc.resolved_ms)
        acc->inc.resolved_ms = time_ms;
    /* the earliest event that names a component / an artifact decides */
    if (comp >= 0 && (acc->inc.component < 0 || time_ms < acc->comp_ms)) {
        acc->inc.component = comp;
        acc->comp_ms = time_ms;
    }
    if (artifact_id && (!acc->inc.artifact_id || time_ms < acc->art_ms)) {
        acc->inc.artifact_id = cw__arena_strndup(&b->arena, artifact_id, artifact_len);
        if (!acc->inc.artifact_id) {
            err = CW_ERR_NOMEM;
            goto out;
        }
        acc->art_ms = time_ms;
    }
out:
    if (key != stackkey)
        free(key);
    return err;
}

cw_err cw__delivery_finish(cw__delivery_builder *b, bool keep_unlinked_incidents,
                           cw_delivery_data *out, cw_diag *d)
{
    memset(out, 0, sizeof *out);
    delivery_priv *p = calloc(1, sizeof *p);
    cw_dora_incident *incs = b->nincs ? malloc(b->nincs * sizeof *incs) : NULL;
    if (!p || (b->nincs && !incs)) {
        free(p);
        free(incs);
        cw__delivery_builder_free(b);
        return cw_fail(d, CW_ERR_NOMEM, "delivery data: out of memory");
    }
    size_t ninc = 0;
    for (size_t i = 0; i < b->nincs; i++)
        if (keep_unlinked_incidents || b->incs[i].inc.component >= 0)
            incs[ninc++] = b->incs[i].inc;
    p->arena = b->arena;
    p->deps = b->deps;
    p->rbs = b->rbs;
    p->chs = b->chs;
    p->incs = incs;
    out->ncomponents = b->ncomp;
    out->component_refs = b->refs;
    out->owner_refs = b->owners;
    out->in = (cw_dora_input){
        .ncomponents = b->ncomp,
        .deployments = b->deps,
        .ndeployments = b->ndeps,
        .rollbacks = b->rbs,
        .nrollbacks = b->nrbs,
        .changes = b->chs,
        .nchanges = b->nchs,
        .incidents = incs,
        .nincidents = ninc,
    };
    out->priv_ = p;
    /* everything moved: release only the builder's own leftovers */
    free(b->incs);
    cw_strmap_free(&b->inc_index);
    free(b->multi);
    cw_strmap_free(&b->chg_index);
    free(b);
    return CW_OK;
}

void cw_delivery_data_free(cw_delivery_data *dd)
{
    if (!dd)
        return;
    for (size_t i = 0; i < dd->ncomponents; i++) {
        free(dd->component_refs[i]);
        free(dd->owner_refs[i]);
    }
    free(dd->component_refs);
    free(dd->owner_refs);
    delivery_priv *p = dd->priv_;
    if (p) {
        cw__arena_free(&p->arena);
        free(p->deps);
        free(p->rbs);
        free(p->chs);
        free(p->incs);
        free(p);
    }
    memset(dd, 0, sizeof *dd);
}
