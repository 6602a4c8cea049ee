/*
 * store_scorecard_history.c — the daily scorecard snapshot
 * (store_scorecard_history.h) on both backends through the statement layer
 * (sql.h): arguments checked here once, then one write transaction that
 * claims (day, scorecard) and stores the rows, or one read transaction that
 * streams a range. The tables (scorecard_snapshots, scorecard_levels) are
 * migration 14 of each backend's schema.
 */
#include "store/store_scorecard_history.h"

#include <stdlib.h>
#include <string.h>

#include "store/sql.h"
#include "store/store_impl.h"
#include "util/timeutil.h"

static bool text_ok(const char *s, size_t max, bool empty_ok)
{
    if (!s || (!*s && !empty_ok))
        return false;
    size_t n = strnlen(s, max);
    if (n >= max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static bool day_ok(int64_t day) { return day >= 0 && day <= 2932896; /* to 9999-12-31 */ }

static int cmp_entity(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

typedef struct {
    int64_t day, now_ms;
    const char *scorecard, *checks;
    const cw_scorecard_level_row *rows;
    size_t n;
    bool taken;
} put_ctx;

static void level_row(void *ctx, size_t i, cw__sqlv *vals)
{
    const put_ctx *p = ctx;
    const cw_scorecard_level_row *r = &p->rows[i];
    vals[0] = CW__SQL_TEXT(p->scorecard);
    vals[1] = CW__SQL_INT(p->day);
    vals[2] = CW__SQL_TEXT(r->entity);
    vals[3] = CW__SQL_TEXT(r->level);
    vals[4] = CW__SQL_TEXT(r->passed ? r->passed : "");
}

static cw_err put_tx(cw__sql *c, void *arg, cw_diag *d)
{
    put_ctx *p = arg;
    p->taken = false; /* run again after a serialization failure */
    bool ok = cw__sql_text_ok(c, p->scorecard) && cw__sql_text_ok(c, p->checks);
    for (size_t i = 0; ok && i < p->n; i++)
        ok = cw__sql_text_ok(c, p->rows[i].entity) && cw__sql_text_ok(c, p->rows[i].level) &&
             (!p->rows[i].passed || cw__sql_text_ok(c, p->rows[i].passed));
    if (!ok)
        return cw_fail(d, CW_ERR_INVALID, "scorecard snapshot: text that is not UTF-8");
    int64_t claimed = 0;
    cw_err err = CW__SQL_EXEC(c, &claimed, d,
                              "INSERT INTO scorecard_snapshots (day, scorecard, taken_at, checks) "
                              "VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                              CW__SQL_INT(p->day), CW__SQL_TEXT(p->scorecard),
                              CW__SQL_INT(p->now_ms), CW__SQL_TEXT(p->checks));
    if (err || !claimed)
        return err;
    /* many rows per statement: one round trip per thousand on PostgreSQL */
    err = cw__sql_insert_rows(c, "INSERT INTO scorecard_levels (scorecard, day, entity, level, "
                                 "passed) VALUES ",
                              "", 5, p->n, level_row, p, NULL, d);
    if (!err)
        p->taken = true;
    return err;
}

cw_err cw_store_scorecard_snapshot_put(cw_store *s, int64_t day, const char *scorecard,
                                       const char *checks, const cw_scorecard_level_row *rows,
                                       size_t n, bool *taken, cw_diag *d)
{
    *taken = false;
    if (!s)
        return cw_fail(d, CW_ERR_INVALID, "store: no store handle");
    if (!day_ok(day))
        return cw_fail(d, CW_ERR_INVALID, "day: %lld is out of range", (long long)day);
    if (!text_ok(scorecard, CW_SCHIST_NAME_MAX, false))
        return cw_fail(d, CW_ERR_INVALID,
                       "scorecard: required text without control characters, within %d bytes",
                       CW_SCHIST_NAME_MAX - 1);
    if (!text_ok(checks, CW_SCHIST_CHECKS_MAX, true))
        return cw_fail(d, CW_ERR_INVALID,
                       "checks: text without control characters, within %d bytes",
                       CW_SCHIST_CHECKS_MAX - 1);
    if (n > CW_SCHIST_MAX_ROWS)
        return cw_fail(d, CW_ERR_INVALID, "rows: more than %d", CW_SCHIST_MAX_ROWS);
    for (size_t i = 0; i < n; i++) {
        const cw_scorecard_level_row *r = &rows[i];
        const char *bad = !text_ok(r->entity, CW_REF_MAX, false)                   ? "entity"
                          : !text_ok(r->level, CW_SCHIST_LEVEL_MAX, true)          ? "level"
                          : r->passed && !text_ok(r->passed, CW_SCHIST_PASSED_MAX, true) ? "passed"
                                                                                     : NULL;
        if (bad)
            return cw_fail(d, CW_ERR_INVALID,
                           "rows[%zu].%s: %stext without control characters, within its length",
                           i, bad, strcmp(bad, "entity") ? "" : "required ");
    }
    const char **keys = malloc((n ? n : 1) * sizeof *keys);
    if (!keys)
        return cw_fail(d, CW_ERR_NOMEM, "scorecard snapshot: out of memory");
    for (size_t i = 0; i < n; i++)
        keys[i] = rows[i].entity;
    qsort(keys, n, sizeof *keys, cmp_entity);
    for (size_t i = 1; i < n; i++)
        if (!strcmp(keys[i - 1], keys[i])) {
            cw_err err = cw_fail(d, CW_ERR_INVALID, "rows: entity %.200s is given twice", keys[i]);
            free(keys);
            return err;
        }
    free(keys);
    put_ctx p = {.day = day, .now_ms = cw_now_ms(), .scorecard = scorecard,
                 .checks = checks ? checks : "", .rows = rows, .n = n};
    cw_err err = cw__sql_tx(s, CW__SQL_WRITE, put_tx, &p, d);
    if (!err)
        *taken = p.taken;
    return err;
}

typedef struct {
    int64_t day;
    const char *scorecard;
    bool has;
} has_ctx;

static cw_err has_tx(cw__sql *c, void *arg, cw_diag *d)
{
    has_ctx *h = arg;
    cw__sql_stmt st;
    h->has = false;
    if (!cw__sql_text_ok(c, h->scorecard))
        return CW_OK; /* the backend could not hold it: it is not there */
    cw_err err = cw__sql_prepare(
        c, "SELECT 1 FROM scorecard_snapshots WHERE day = ?1 AND scorecard = ?2", &st, d);
    if (!err) {
        cw__sql_bind_int(&st, 1, h->day);
        cw__sql_bind_text(&st, 2, h->scorecard);
        err = cw__sql_step(&st, &h->has, d);
    }
    cw__sql_done(&st);
    return err;
}

cw_err cw_store_scorecard_snapshot_has(cw_store *s, int64_t day, const char *scorecard,
                                       bool *has, cw_diag *d)
{
    *has = false;
    if (!s)
        return cw_fail(d, CW_ERR_INVALID, "store: no store handle");
    if (!day_ok(day) || !text_ok(scorecard, CW_SCHIST_NAME_MAX, false))
        return CW_OK; /* nothing that cannot be stored was stored */
    has_ctx h = {day, scorecard, false};
    cw_err err = cw__sql_tx(s, CW__SQL_READ_ONE, has_tx, &h, d);
    *has = !err && h.has;
    return err;
}

typedef struct {
    const cw_scorecard_history_query *q;
    cw_schist_day_fn on_day;
    cw_schist_row_fn on_row;
    void *ctx;
} each_ctx;

static cw_err each_tx(cw__sql *c, void *arg, cw_diag *d)
{
    each_ctx *e = arg;
    cw__sql_stmt days, rows;
    bool have_rows = false;
    cw_err err = cw__sql_prepare(c,
                                 "SELECT day, checks FROM scorecard_snapshots WHERE scorecard = ?1 "
                                 "AND day BETWEEN ?2 AND ?3 ORDER BY day",
                                 &days, d);
    if (!err) {
        cw__sql_bind_text(&days, 1, e->q->scorecard);
        cw__sql_bind_int(&days, 2, e->q->from_day);
        cw__sql_bind_int(&days, 3, e->q->to_day);
        err = cw__sql_prepare(c,
                              "SELECT day, entity, level, passed FROM scorecard_levels WHERE "
                              "scorecard = ?1 AND day BETWEEN ?2 AND ?3 ORDER BY day, entity",
                              &rows, d);
        have_rows = true; /* done() is due whether prepare succeeded or not */
    }
    if (!err) {
        cw__sql_bind_text(&rows, 1, e->q->scorecard);
        cw__sql_bind_int(&rows, 2, e->q->from_day);
        cw__sql_bind_int(&rows, 3, e->q->to_day);
    }
    /* merge the two ordered streams: a day's header before its rows */
    bool day_row = false, level_row = false;
    if (!err)
        err = cw__sql_step(&days, &day_row, d);
    if (!err)
        err = cw__sql_step(&rows, &level_row, d);
    while (!err && (day_row || level_row)) {
        if (day_row && (!level_row || cw__sql_int(&days, 0) <= cw__sql_int(&rows, 0))) {
            if (e->on_day)
                err = e->on_day(e->ctx, cw__sql_int(&days, 0), cw__sql_text(&days, 1), d);
            if (!err)
                err = cw__sql_step(&days, &day_row, d);
        } else {
            if (e->on_row)
                err = e->on_row(e->ctx, cw__sql_int(&rows, 0), cw__sql_text(&rows, 1),
                                cw__sql_text(&rows, 2), cw__sql_text(&rows, 3), d);
            if (!err)
                err = cw__sql_step(&rows, &level_row, d);
        }
    }
    if (have_rows)
        cw__sql_done(&rows);
    cw__sql_done(&days);
    return err;
}

cw_err cw_store_scorecard_history_each(cw_store *s, const cw_scorecard_history_query *q,
                                       cw_schist_day_fn on_day, cw_schist_row_fn on_row,
                                       void *ctx, cw_diag *d)
{
    if (!s)
        return cw_fail(d, CW_ERR_INVALID, "store: no store handle");
    if (!text_ok(q->scorecard, CW_SCHIST_NAME_MAX, false))
        return cw_fail(d, CW_ERR_INVALID, "scorecard: required, without control characters");
    if (!day_ok(q->from_day) || !day_ok(q->to_day) || q->to_day < q->from_day)
        return cw_fail(d, CW_ERR_INVALID, "from, to: a range of days with from <= to");
    if (q->to_day - q->from_day >= CW_SCHIST_MAX_DAYS)
        return cw_fail(d, CW_ERR_INVALID, "from, to: at most %d days", CW_SCHIST_MAX_DAYS);
    each_ctx e = {q, on_day, on_row, ctx};
    return cw__sql_tx(s, CW__SQL_READ, each_tx, &e, d);
}
