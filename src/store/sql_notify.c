/*
 * sql_notify.c — the notification claims of store_notify.h on both
 * backends, through the statement layer (sql.h). A claim is one UPDATE of
 * a NULL column (incidents) or one INSERT … ON CONFLICT DO NOTHING
 * (notify_once) in the transaction that queues the deliveries: on
 * PostgreSQL a second instance taking the same one waits for the first
 * one's row lock, then changes nothing and queues nothing; on SQLite the
 * one writer decides the same way.
 */
#include "store/store_notify.h"

#include <stdlib.h>
#include <string.h>

#include "store/sql.h"
#include "store/store_impl.h"

/* The deliveries of a claim this transaction won, due now. */
static cw_err queue(cw__sql *c, const char *key, const cw_hb_delivery_new *dl, size_t n,
                    int64_t now_ms, cw_diag *d)
{
    cw_err err = CW_OK;
    for (size_t i = 0; !err && i < n; i++) {
        if (!cw__sql_text_ok(c, dl[i].url) || !cw__sql_text_ok(c, dl[i].body))
            err = cw_fail(d, CW_ERR_INVALID, "delivery: not valid UTF-8");
        else
            err = CW__SQL_EXEC(c, NULL, d,
                               "INSERT INTO hb_deliveries (flip_id, hb_key, url, body, due_ms, "
                               "created_ms) VALUES (0, ?1, ?2, ?3, ?4, ?4)",
                               CW__SQL_TEXT(key), CW__SQL_TEXT(dl[i].url),
                               CW__SQL_TEXT(dl[i].body), CW__SQL_INT(now_ms));
    }
    return err;
}

typedef struct {
    const cw_incident_news *news;
    const char *key;
    const cw_hb_delivery_new *dl;
    size_t n;
    int64_t now_ms;
    bool taken;
} take_ctx;

static cw_err incident_take_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    take_ctx *x = ctx;
    x->taken = false; /* a retried transaction starts over */
    if (!cw__sql_text_ok(c, x->key))
        return cw_fail(d, CW_ERR_INVALID, "notification key: not valid UTF-8");
    int64_t changed = 0;
    cw_err err =
        x->news->resolved
            ? CW__SQL_EXEC(c, &changed, d,
                           "UPDATE incidents SET notified_resolved_ms = ?1 WHERE id = ?2 AND "
                           "notified_resolved_ms IS NULL AND notified_open_ms IS NOT NULL",
                           CW__SQL_INT(x->now_ms), CW__SQL_INT(x->news->id))
            : CW__SQL_EXEC(c, &changed, d,
                           "UPDATE incidents SET notified_open_ms = ?1 WHERE id = ?2 AND "
                           "notified_open_ms IS NULL",
                           CW__SQL_INT(x->now_ms), CW__SQL_INT(x->news->id));
    x->taken = !err && changed == 1;
    if (x->taken)
        err = queue(c, x->key, x->dl, x->n, x->now_ms, d);
    return err;
}

static cw_err once_take_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    take_ctx *x = ctx;
    x->taken = false;
    if (!cw__sql_text_ok(c, x->key))
        return cw_fail(d, CW_ERR_INVALID, "notification key: not valid UTF-8");
    int64_t changed = 0;
    cw_err err = CW__SQL_EXEC(c, &changed, d,
                              "INSERT INTO notify_once (key, taken_ms) VALUES (?1, ?2) "
                              "ON CONFLICT (key) DO NOTHING",
                              CW__SQL_TEXT(x->key), CW__SQL_INT(x->now_ms));
    x->taken = !err && changed == 1;
    if (x->taken)
        err = queue(c, x->key, x->dl, x->n, x->now_ms, d);
    return err;
}

/* The deliveries live with the heartbeats' (store_heartbeats.h): a backend
 * without them has none of these either. */
static cw_err check(cw_store *s, const char *key, cw_diag *d)
{
    const struct cw_store_hb_ops *ops;
    STORE_OPS(s, heartbeats, ops, d);
    (void)ops;
    if (!key || !*key || strlen(key) >= 1024)
        return cw_fail(d, CW_ERR_INVALID, "notification key: 1 to 1023 bytes");
    return CW_OK;
}

cw_err cw_store_incident_notify_take(cw_store *s, const cw_incident_news *news,
                                     const char *key, const cw_hb_delivery_new *dl, size_t n,
                                     int64_t now_ms, bool *taken, cw_diag *d)
{
    *taken = false;
    cw_err err = check(s, key, d);
    if (err)
        return err;
    take_ctx x = {news, key, dl, n, now_ms, false};
    err = cw__sql_tx(s, CW__SQL_WRITE, incident_take_tx, &x, d);
    *taken = !err && x.taken;
    return err;
}

cw_err cw_store_notify_once_take(cw_store *s, const char *key, const cw_hb_delivery_new *dl,
                                 size_t n, int64_t now_ms, bool *taken, cw_diag *d)
{
    *taken = false;
    cw_err err = check(s, key, d);
    if (err)
        return err;
    take_ctx x = {NULL, key, dl, n, now_ms, false};
    err = cw__sql_tx(s, CW__SQL_WRITE, once_take_tx, &x, d);
    *taken = !err && x.taken;
    return err;
}

typedef struct {
    size_t limit;
    cw_incident_news *arr;
    size_t n, cap;
} news_ctx;

static cw_err read_news(cw__sql *c, news_ctx *x, const char *sql, bool resolved, cw_diag *d)
{
    cw__sql_stmt st;
    cw_err err = cw__sql_prepare(c, sql, &st, d);
    if (err)
        return err;
    cw__sql_bind_int(&st, 1, (int64_t)x->limit);
    bool row = false;
    while (!(err = cw__sql_step(&st, &row, d)) && row) {
        if ((err = cw__grow((void **)&x->arr, &x->cap, x->n, sizeof *x->arr, d)))
            break;
        x->arr[x->n++] = (cw_incident_news){cw__sql_int(&st, 0), resolved};
    }
    cw__sql_done(&st);
    return err;
}

static cw_err news_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    news_ctx *x = ctx;
    x->n = 0;
    /* both read through the partial indexes of migration 15 */
    cw_err err = read_news(c, x,
                           "SELECT id FROM incidents WHERE notified_open_ms IS NULL "
                           "ORDER BY id LIMIT ?1",
                           false, d);
    if (!err)
        err = read_news(c, x,
                        "SELECT id FROM incidents WHERE notified_resolved_ms IS NULL AND "
                        "notified_open_ms IS NOT NULL AND state IN ('resolved', 'closed') "
                        "ORDER BY id LIMIT ?1",
                        true, d);
    return err;
}

cw_err cw_store_incident_news(cw_store *s, size_t limit, cw_incident_news **out, size_t *n,
                              cw_diag *d)
{
    *out = NULL;
    *n = 0;
    const struct cw_store_hb_ops *ops;
    STORE_OPS(s, heartbeats, ops, d);
    (void)ops;
    news_ctx x = {limit ? limit : 1, NULL, 0, 0};
    cw_err err = cw__sql_tx(s, CW__SQL_READ, news_tx, &x, d);
    if (err) {
        free(x.arr);
        return err;
    }
    *out = x.arr;
    *n = x.n;
    return CW_OK;
}
