/*
 * postgres_hb_skip.c — PostgreSQL: status changes that notify nobody taken
 * in one transaction (store_heartbeats.h, cw_store_hb_flips_skip); with
 * several instances each change is taken by one of them (the row lock
 * makes the second wait, then see processed_ms set).
 */
#include "store/postgres_int.h"
#include "store/store_heartbeats.h"

#include <string.h>

typedef struct {
    const int64_t *ids;
    size_t n;
    int64_t now_ms;
    size_t skipped;
} skip_ctx;

static cw_err skip_tx(cw__pg_conn *c, void *ctx, cw_diag *d)
{
    skip_ctx *x = ctx;
    x->skipped = 0; /* a retried transaction starts again */
    cw_err err = CW_OK;
    char b[2][24];
    for (size_t i = 0; !err && i < x->n; i++) {
        const char *p[] = {cw__pg_i64(b[0], x->now_ms), cw__pg_i64(b[1], x->ids[i])};
        PGresult *r = NULL;
        err = cw__pg_exec(c, "UPDATE hb_flips SET processed_ms = $1 WHERE id = $2 AND "
                             "processed_ms IS NULL", 2, p, &r, d);
        if (!err)
            x->skipped += !strcmp(PQcmdTuples(r), "1");
        PQclear(r);
    }
    return err;
}

cw_err cw__pg_hb_flips_skip(cw_store *store, const int64_t *ids, size_t n, int64_t now_ms,
                            size_t *nskipped, cw_diag *d)
{
    skip_ctx x = {ids, n, now_ms, 0};
    cw_err err = cw__pg_write(cw__pg(store), skip_tx, &x, d);
    *nskipped = err ? 0 : x.skipped;
    return err;
}
