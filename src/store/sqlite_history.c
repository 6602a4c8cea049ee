/*
 * sqlite_history.c — the findings history in SQLite (store_history.h): the
 * day's claim row and its counts in one write transaction (SQLite has one
 * writer, so the claim is decided by the row already being there or not).
 */
#include "store/sqlite_int.h"
#include "store/store_history.h"

#include <string.h>

static cw_err hi_put(cw_store *store, int64_t day, int64_t now_ms, const cw_finding_count *rows,
                     size_t n, bool *taken, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c;
    sqlite3_stmt *claim = NULL, *ins = NULL;
    cw_err err = cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    err = cw__sqlite_stmt(c,
                          "INSERT INTO finding_snapshots (day, taken_at) VALUES (?, ?) "
                          "ON CONFLICT (day) DO NOTHING",
                          &claim, d);
    if (err)
        goto out;
    cw__bind_int64(claim, 1, day);
    cw__bind_int64(claim, 2, now_ms);
    int rc = sqlite3_step(claim);
    if (rc != SQLITE_DONE) {
        err = cw__sqlite_fail(c, rc, d, "history claim");
        goto out;
    }
    if (sqlite3_changes(c->db) == 0)
        goto out; /* taken before: store nothing */
    err = cw__sqlite_stmt(c,
                          "INSERT INTO finding_counts (day, kind, rule, severity, scope, count) "
                          "VALUES (?, ?, ?, ?, ?, ?)",
                          &ins, d);
    for (size_t i = 0; !err && i < n; i++) {
        cw__bind_int64(ins, 1, day);
        cw__bind_text(ins, 2, rows[i].kind);
        cw__bind_text(ins, 3, rows[i].rule);
        cw__bind_text(ins, 4, rows[i].severity);
        cw__bind_text(ins, 5, rows[i].scope);
        cw__bind_int64(ins, 6, rows[i].count);
        rc = sqlite3_step(ins);
        sqlite3_reset(ins);
        if (rc != SQLITE_DONE)
            err = cw__sqlite_fail(c, rc, d, "history counts");
    }
    if (!err)
        *taken = true;
out:
    cw__sqlite_done(c, ins);
    cw__sqlite_done(c, claim);
    err = cw__sqlite_write_end(s, c, err, d);
    if (err)
        *taken = false;
    return err;
}

static cw_err hi_has(cw_store *store, int64_t day, bool *has, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c, "SELECT 1 FROM finding_snapshots WHERE day = ?", &st, d);
    if (!err) {
        cw__bind_int64(st, 1, day);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            *has = true;
        else if (rc != SQLITE_DONE)
            err = cw__sqlite_fail(c, rc, d, "history day");
    }
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    return err;
}

static cw_err hi_query(cw_store *store, const cw_history_query *q, cw_history *out, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *days = NULL, *st = NULL;
    size_t cap_days = 0, cap_rows = 0;
    int rc = SQLITE_DONE;
    /* one snapshot for both statements */
    cw_err err = cw__sqlite_read_begin(c, d);
    if (err) {
        cw__sqlite_read_release(s, c);
        return err;
    }
    err = cw__sqlite_stmt(c,
                          "SELECT day FROM finding_snapshots WHERE day BETWEEN ? AND ? "
                          "ORDER BY day",
                          &days, d);
    if (err)
        goto out;
    cw__bind_int64(days, 1, q->from_day);
    cw__bind_int64(days, 2, q->to_day);
    while (!err && (rc = sqlite3_step(days)) == SQLITE_ROW)
        err = cw__history_add_day(out, &cap_days, sqlite3_column_int64(days, 0), d);
    if (!err && rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "history days");
    if (err)
        goto out;
    err = cw__sqlite_stmt(c,
                          q->rule ? "SELECT day, kind, rule, severity, count FROM finding_counts "
                                    "WHERE scope = ? AND day BETWEEN ? AND ? AND rule = ? "
                                    "ORDER BY day, kind, rule, severity"
                                  : "SELECT day, kind, rule, severity, count FROM finding_counts "
                                    "WHERE scope = ? AND day BETWEEN ? AND ? "
                                    "ORDER BY day, kind, rule, severity",
                          &st, d);
    if (err)
        goto out;
    cw__bind_text(st, 1, q->scope);
    cw__bind_int64(st, 2, q->from_day);
    cw__bind_int64(st, 3, q->to_day);
    if (q->rule)
        cw__bind_text(st, 4, q->rule);
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW)
        err = cw__history_add_row(out, &cap_rows, sqlite3_column_int64(st, 0),
                                  cw__col_text(st, 1), cw__col_text(st, 2), cw__col_text(st, 3),
                                  sqlite3_column_int64(st, 4), d);
    if (!err && rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "history counts");
out:
    cw__sqlite_done(c, st);
    cw__sqlite_done(c, days);
    cw__sqlite_read_end(c);
    cw__sqlite_read_release(s, c);
    return err;
}

const cw_store_history_ops cw__sqlite_history_ops = {
    .put = hi_put,
    .has = hi_has,
    .query = hi_query,
};
