/*
 * store_events.c — the public events functions of store.h (and
 * events_async.h): argument checks, reducing decoded events to rows (in the
 * caller's thread), group commit, and the delivery scan's entry point
 * (the rows go to the caller's sink; the rules are insights/delivery.c).

 *
 * The group commit that writes the rows is store_gc.c (its state is the
 * store handle's); reducing events to rows is event_rows.c.
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
    err = cw__event_rows_make(events, n, rows, &text, d);
    if (err)
        goto out;
    cw__event_batch b = {.rows = rows, .n = n, .audit = arow};
    cw__gc_put(s->gc, &b);
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
    cw__gc_async *a = calloc(1, sizeof *a);
    if (!a) {
        cw__audit_row_free(arow);
        return cw_fail(d, CW_ERR_NOMEM, "events: out of memory");
    }
    a->batch.audit = arow;
    cw_buf_init(&a->text, (size_t)1 << 30);
    a->rows = malloc(n * sizeof *a->rows);
    if (!a->rows) {
        cw__gc_async_free(a);
        return cw_fail(d, CW_ERR_NOMEM, "events: out of memory");
    }
    err = cw__event_rows_make(events, n, a->rows, &a->text, d);
    if (err) {
        cw__gc_async_free(a);
        return err;
    }
    a->batch.rows = a->rows;
    a->batch.n = n;
    a->node.cb = done;
    a->node.cb_audited = done_audited;
    a->node.arg = arg;
    cw__gc_put_async(s->gc, a);
    return CW_OK;
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

cw_err cw_store_delivery_scan(cw_store *s, const cw_delivery_query *q,
                              const cw_delivery_sink *sink, void *ctx, cw_diag *d)
{
    const struct cw_store_event_ops *ops;
    STORE_OPS(s, events, ops, d);
    if (!q || !sink)
        return cw_fail(d, CW_ERR_INVALID, "store: no query or sink");
    return ops->delivery(s, q, sink, ctx, d);
}
