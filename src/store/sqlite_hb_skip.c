/*
 * sqlite_hb_skip.c — SQLite: status changes that notify nobody taken in one
 * transaction (store_heartbeats.h, cw_store_hb_flips_skip). Apart from
 * sqlite_heartbeats.c so that the notifier can drain thousands of them (a
 * fresh catalog's first pings) without a commit each.
 */
#include "store/sqlite_int.h"
#include "store/store_heartbeats.h"

cw_err cw__sqlite_hb_flips_skip(cw_store *store, const int64_t *ids, size_t n, int64_t now_ms,
                                size_t *nskipped, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c;
    cw_err err = cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    size_t k = 0;
    for (size_t i = 0; !err && i < n; i++) {
        sqlite3_stmt *st = NULL;
        err = cw__sqlite_stmt(c, "UPDATE hb_flips SET processed_ms = ? WHERE id = ? AND "
                                 "processed_ms IS NULL", &st, d);
        if (err)
            break;
        cw__bind_int64(st, 1, now_ms);
        cw__bind_int64(st, 2, ids[i]);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            err = cw__sqlite_fail(c, rc, d, "skip flip");
        else
            k += (size_t)sqlite3_changes(c->db);
        cw__sqlite_done(c, st);
    }
    err = cw__sqlite_write_end(s, c, err, d);
    *nskipped = err ? 0 : k;
    return err;
}
