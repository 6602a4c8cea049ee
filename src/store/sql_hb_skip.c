/*
 * sql_hb_skip.c — status changes that notify nobody taken in one
 * transaction (store_heartbeats.h, cw_store_hb_flips_skip), on the
 * statement layer (both backends). Apart from sql_heartbeats.c: the
 * notifier drains thousands of them at once (a fresh catalog's first
 * pings) without a commit each. With several instances on PostgreSQL each
 * change is taken by one of them (the row lock makes the second wait, then
 * see processed_ms set).
 */
#include "store/sql.h"
#include "store/store_heartbeats.h"

typedef struct {
    const int64_t *ids;
    size_t n;
    int64_t now_ms;
    size_t skipped;
} skip_ctx;

static cw_err skip_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    skip_ctx *x = ctx;
    x->skipped = 0; /* a retried transaction starts again */
    cw_err err = CW_OK;
    for (size_t i = 0; !err && i < x->n; i++) {
        int64_t changed = 0;
        err = CW__SQL_EXEC(c, &changed, d,
                           "UPDATE hb_flips SET processed_ms = ?1 WHERE id = ?2 AND "
                           "processed_ms IS NULL",
                           CW__SQL_INT(x->now_ms), CW__SQL_INT(x->ids[i]));
        if (!err && changed == 1)
            x->skipped++;
    }
    return err;
}

cw_err cw__sql_hb_flips_skip(cw_store *s, const int64_t *ids, size_t n, int64_t now_ms,
                             size_t *nskipped, cw_diag *d)
{
    skip_ctx x = {ids, n, now_ms, 0};
    cw_err err = cw__sql_tx(s, CW__SQL_WRITE, skip_tx, &x, d);
    *nskipped = err ? 0 : x.skipped;
    return err;
}
