/*
 * sql_heartbeats.c — heartbeats (store_heartbeats.h) on both backends,
 * through the statement layer (sql.h); the tables are created by each
 * backend's schema (sqlite_schema.c, postgres_schema.c). Arguments arrive
 * checked (store_heartbeats.c).
 *
 * Concurrency: on PostgreSQL several instances may share the database. A
 * ping, a sync and a pause lock their heartbeat's row (SELECT … FOR
 * UPDATE), and the scheduler claims due rows and the notifier claims
 * deliveries with FOR UPDATE SKIP LOCKED, so an instance never evaluates a
 * row another one is evaluating or pinging, and every flip is recorded
 * once. On SQLite the one writer runs these transactions one at a time and
 * the row locks are dropped from the text.
 */
#include "store/sql.h"
#include "store/store_heartbeats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HB_COLS                                                                             \
    "id, key, ref, slug, owner_key, etag, owner, target, depends_on, purpose, sched_kind, " \
    "period_s, grace_s, cron, tz, status, last_ping_ms, last_success_ms, last_start_ms, "    \
    "last_start_rid, last_duration_ms, n_pings, alert_after_ms, ping_key_hash IS NOT NULL, " \
    "created_ms, wake_ms"

#define DL_COLS                                                                       \
    "id, flip_id, hb_key, url, body, state, attempts, due_ms, created_ms, done_ms, " \
    "last_status, last_error"

#define FLIP_COLS "f.id, h.key, f.at_ms, f.from_status, f.to_status, f.reason, f.processed_ms"

/* A row whose schedule does not load is looked at again this much later. */
#define HB_UNREADABLE_RETRY_MS 60000

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static char *dup(const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (p)
        memcpy(p, s, n + 1);
    return p;
}

/* Where a row stands, as read: its id, and what decides its place in the
 * scheduler's index (hb_wake: wake_ms, and status, which takes down rows
 * out of it). */
typedef struct {
    int64_t id;
    int64_t wake_ms;           /* 0: NULL, not in the index */
    cw_hb_status status;
} hb_place;

/* Reads a row (HB_COLS from column 0); *at (when wanted) where it stands. */
static cw_err read_row(cw__sql_stmt *st, cw_hb_row *r, hb_place *at, cw_diag *d)
{
    memset(r, 0, sizeof *r);
    copy_str(r->key, sizeof r->key, cw__sql_text(st, 1));
    copy_str(r->ref, sizeof r->ref, cw__sql_text(st, 2));
    copy_str(r->slug, sizeof r->slug, cw__sql_text(st, 3));
    copy_str(r->owner_key, sizeof r->owner_key, cw__sql_text(st, 4));
    copy_str(r->etag, sizeof r->etag, cw__sql_text(st, 5));
    copy_str(r->spec.owner, sizeof r->spec.owner, cw__sql_text(st, 6));
    copy_str(r->spec.target, sizeof r->spec.target, cw__sql_text(st, 7));
    copy_str(r->spec.depends_on, sizeof r->spec.depends_on, cw__sql_text(st, 8));
    r->spec.purpose = (cw_hb_purpose)cw__sql_int(st, 9);
    r->spec.sched.kind = (cw_hb_sched_kind)cw__sql_int(st, 10);
    r->spec.sched.period_s = cw__sql_int(st, 11);
    r->spec.sched.grace_s = cw__sql_int(st, 12);
    copy_str(r->spec.sched.cron, sizeof r->spec.sched.cron, cw__sql_text(st, 13));
    copy_str(r->spec.sched.tz, sizeof r->spec.sched.tz, cw__sql_text(st, 14));
    r->state.status = (cw_hb_status)cw__sql_int(st, 15);
    r->state.last_ping_ms = cw__sql_int(st, 16);
    r->state.last_success_ms = cw__sql_int(st, 17);
    r->state.last_start_ms = cw__sql_int(st, 18);
    copy_str(r->state.last_start_rid, sizeof r->state.last_start_rid, cw__sql_text(st, 19));
    r->state.last_duration_ms = cw__sql_int(st, 20);
    r->state.n_pings = cw__sql_int(st, 21);
    r->state.alert_after_ms = cw__sql_int(st, 22); /* NULL reads as 0 */
    r->has_ping_key = cw__sql_int(st, 23) != 0;
    r->created_ms = cw__sql_int(st, 24);
    if (at)
        *at = (hb_place){cw__sql_int(st, 0), cw__sql_int(st, 25), r->state.status};
    return cw__hb_row_ready(r, d);
}

/* The one row of a heartbeat by key (HB_COLS), locked for the transaction
 * on PostgreSQL; *found false when there is none. */
static cw_err load_row(cw__sql *c, const char *key, cw_hb_row *row, hb_place *at, bool *found,
                       cw_diag *d)
{
    cw__sql_stmt st;
    *found = false;
    cw_err err = cw__sql_prepare(c, "SELECT " HB_COLS " FROM hb WHERE key = ?1 FOR UPDATE", &st, d);
    if (!err) {
        cw__sql_bind_text(&st, 1, key);
        err = cw__sql_step(&st, found, d);
    }
    if (!err && *found)
        err = read_row(&st, row, at, d);
    cw__sql_done(&st);
    return err;
}

/*
 * The wake time a row's new state needs. exact: the due time itself (the
 * scheduler, a sync, pause and resume). Otherwise (a ping) the old wake
 * time is kept while it is not later than the new due time: a ping usually
 * only pushes the due time later, and leaving wake_ms and status as they
 * were leaves the index's pages alone (pings write half the pages they
 * did); the scheduler looks at the row early once and sets it then.
 */
static int64_t wake_for(const hb_place *at, const cw_hb_state *s, bool exact)
{
    if (!s->alert_after_ms)
        return 0;
    if (exact || !at->wake_ms || (at->status == CW_HB_DOWN && s->status != CW_HB_DOWN) ||
        s->alert_after_ms < at->wake_ms)
        return s->alert_after_ms;
    return at->wake_ms;
}

/* Writes a row's state back (by id); status and wake_ms only when they
 * change, since either moves the row in the scheduler's index. */
static cw_err save_state(cw__sql *c, const hb_place *at, const cw_hb_state *s, bool exact,
                         cw_diag *d)
{
    int64_t wake = wake_for(at, s, exact);
    if (wake == at->wake_ms && s->status == at->status)
        return CW__SQL_EXEC(c, NULL, d,
                            "UPDATE hb SET last_ping_ms = ?1, last_success_ms = ?2, "
                            "last_start_ms = ?3, last_start_rid = ?4, last_duration_ms = ?5, "
                            "n_pings = ?6, alert_after_ms = ?7 WHERE id = ?8",
                            CW__SQL_INT(s->last_ping_ms), CW__SQL_INT(s->last_success_ms),
                            CW__SQL_INT(s->last_start_ms), CW__SQL_TEXT(s->last_start_rid),
                            CW__SQL_INT(s->last_duration_ms), CW__SQL_INT(s->n_pings),
                            CW__SQL_INT_IF(s->alert_after_ms != 0, s->alert_after_ms),
                            CW__SQL_INT(at->id));
    return CW__SQL_EXEC(c, NULL, d,
                        "UPDATE hb SET status = ?1, last_ping_ms = ?2, last_success_ms = ?3, "
                        "last_start_ms = ?4, last_start_rid = ?5, last_duration_ms = ?6, "
                        "n_pings = ?7, alert_after_ms = ?8, wake_ms = ?9 WHERE id = ?10",
                        CW__SQL_INT(s->status), CW__SQL_INT(s->last_ping_ms),
                        CW__SQL_INT(s->last_success_ms), CW__SQL_INT(s->last_start_ms),
                        CW__SQL_TEXT(s->last_start_rid), CW__SQL_INT(s->last_duration_ms),
                        CW__SQL_INT(s->n_pings),
                        CW__SQL_INT_IF(s->alert_after_ms != 0, s->alert_after_ms),
                        CW__SQL_INT_IF(wake != 0, wake), CW__SQL_INT(at->id));
}

static cw_err add_flip(cw__sql *c, int64_t id, const cw_hb_flip *f, cw_diag *d)
{
    return CW__SQL_EXEC(c, NULL, d,
                        "INSERT INTO hb_flips (hb_id, at_ms, from_status, to_status, reason) "
                        "VALUES (?1, ?2, ?3, ?4, ?5)",
                        CW__SQL_INT(id), CW__SQL_INT(f->at_ms), CW__SQL_INT(f->from),
                        CW__SQL_INT(f->to), CW__SQL_TEXT(f->reason));
}

/* ---- catalog sync -------------------------------------------------------------- */

static cw_err gen_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    int64_t *gen = ctx;
    cw__sql_stmt st;
    bool row = false;
    cw_err err =
        cw__sql_prepare(c, "SELECT value FROM cw_meta WHERE name = 'entity_gen'", &st, d);
    if (!err)
        err = cw__sql_step(&st, &row, d);
    if (!err && !row)
        err = cw_fail(d, CW_ERR_IO, "database: the entity generation row is missing");
    if (!err)
        *gen = cw__sql_int(&st, 0);
    cw__sql_done(&st);
    return err;
}

static cw_err hb_catalog_gen(cw_store *s, int64_t *gen, cw_diag *d)
{
    return cw__sql_tx(s, CW__SQL_READ_ONE, gen_tx, gen, d);
}

typedef struct {
    const char *after;         /* in: the cursor */
    size_t max;
    char **t, **e, **g;        /* bodies and etags (n), gone keys (ng) */
    size_t n, ng, tcap, ecap, gcap;
    char last[CW_REF_MAX];
} changed_ctx;

static void changed_reset(changed_ctx *x)
{
    for (size_t i = 0; i < x->n; i++) {
        free(x->t[i]);
        free(x->e[i]);
    }
    for (size_t i = 0; i < x->ng; i++)
        free(x->g[i]);
    free(x->t);
    free(x->e);
    free(x->g);
    x->t = x->e = x->g = NULL;
    x->n = x->ng = x->tcap = x->ecap = x->gcap = 0;
    x->last[0] = '\0';
}

static cw_err changed_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    changed_ctx *x = ctx;
    changed_reset(x);
    cw__sql_stmt st;
    bool row = false;
    /* entity keys sort by kind first: the range is every Heartbeat */
    cw_err err = cw__sql_prepare(c,
                                 "SELECT e.body, e.etag, e.key FROM entities e LEFT JOIN hb h "
                                 "ON h.key = e.key WHERE e.key > ?1 AND e.key >= 'heartbeat:' "
                                 "AND e.key < 'heartbeat;' AND (h.id IS NULL OR h.etag <> "
                                 "e.etag) ORDER BY e.key LIMIT ?2",
                                 &st, d);
    if (!err) {
        cw__sql_bind_text(&st, 1, x->after);
        cw__sql_bind_int(&st, 2, (int64_t)x->max);
    }
    while (!err && !(err = cw__sql_step(&st, &row, d)) && row) {
        if ((err = cw__grow((void **)&x->t, &x->tcap, x->n, sizeof *x->t, d)) ||
            (err = cw__grow((void **)&x->e, &x->ecap, x->n, sizeof *x->e, d)))
            break;
        x->t[x->n] = dup(cw__sql_text(&st, 0));
        x->e[x->n] = dup(cw__sql_text(&st, 1));
        copy_str(x->last, sizeof x->last, cw__sql_text(&st, 2));
        x->n++;
        if (!x->t[x->n - 1] || !x->e[x->n - 1])
            err = cw_fail(d, CW_ERR_NOMEM, "heartbeats: out of memory");
    }
    cw__sql_done(&st);
    if (!err)
        err = cw__sql_prepare(c,
                              "SELECT h.key FROM hb h WHERE NOT EXISTS "
                              "(SELECT 1 FROM entities e WHERE e.key = h.key) LIMIT ?1",
                              &st, d);
    if (!err)
        cw__sql_bind_int(&st, 1, (int64_t)x->max);
    while (!err && !(err = cw__sql_step(&st, &row, d)) && row) {
        if ((err = cw__grow((void **)&x->g, &x->gcap, x->ng, sizeof *x->g, d)))
            break;
        x->g[x->ng] = dup(cw__sql_text(&st, 0));
        if (!x->g[x->ng++])
            err = cw_fail(d, CW_ERR_NOMEM, "heartbeats: out of memory");
    }
    cw__sql_done(&st);
    return err;
}

static cw_err hb_changed(cw_store *s, const char *after, size_t max, char ***texts,
                         char ***etags, size_t *ntexts, char *last, char ***gone, size_t *ngone,
                         cw_diag *d)
{
    changed_ctx x = {.after = after, .max = max};
    cw_err err = cw__sql_tx(s, CW__SQL_READ, changed_tx, &x, d);
    if (err) {
        changed_reset(&x);
        return err;
    }
    *texts = x.t;
    *etags = x.e;
    *ntexts = x.n;
    *gone = x.g;
    *ngone = x.ng;
    copy_str(last, CW_REF_MAX, x.last);
    return CW_OK;
}

typedef struct {
    const cw_hb_row *rows;
    size_t n;
    char *const *gone;
    size_t ngone;
    int64_t now_ms;
} apply_ctx;

static cw_err upsert(cw__sql *c, const cw_hb_row *r, int64_t now_ms, cw_diag *d)
{
    cw_hb_state state;
    cw_hb_state_init(&state);
    cw_hb_row old;
    hb_place at = {0};
    bool found = false;
    cw_diag od = {{0}};
    /* the old schedule may not load: the state does */
    cw_err err = load_row(c, r->key, &old, &at, &found, &od);
    if (err && !found) {
        *d = od;
        return err;
    }
    if (found)
        state = old.state;
    cw_hb_reschedule(&r->spec.sched, &state);
    /* a new row races with another instance's sync: the unique key
     * decides and the loser updates instead */
    return CW__SQL_EXEC(
        c, NULL, d,
        "INSERT INTO hb (ref, slug, owner_key, etag, owner, target, depends_on, purpose, "
        "sched_kind, period_s, grace_s, cron, tz, alert_after_ms, key, created_ms, wake_ms) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?14) "
        "ON CONFLICT (key) DO "
        "UPDATE SET ref = excluded.ref, slug = excluded.slug, owner_key = excluded.owner_key, "
        "etag = excluded.etag, owner = excluded.owner, target = excluded.target, depends_on = "
        "excluded.depends_on, purpose = excluded.purpose, sched_kind = excluded.sched_kind, "
        "period_s = excluded.period_s, grace_s = excluded.grace_s, cron = excluded.cron, "
        "tz = excluded.tz, alert_after_ms = excluded.alert_after_ms, wake_ms = excluded.wake_ms",
        CW__SQL_TEXT(r->ref), CW__SQL_TEXT(r->slug), CW__SQL_TEXT(r->owner_key),
        CW__SQL_TEXT(r->etag), CW__SQL_TEXT(r->spec.owner), CW__SQL_TEXT(r->spec.target),
        CW__SQL_TEXT(r->spec.depends_on), CW__SQL_INT(r->spec.purpose),
        CW__SQL_INT(r->spec.sched.kind), CW__SQL_INT(r->spec.sched.period_s),
        CW__SQL_INT(r->spec.sched.grace_s), CW__SQL_TEXT(r->spec.sched.cron),
        CW__SQL_TEXT(r->spec.sched.tz),
        CW__SQL_INT_IF(state.alert_after_ms != 0, state.alert_after_ms), CW__SQL_TEXT(r->key),
        CW__SQL_INT(now_ms));
}

static cw_err apply_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    apply_ctx *x = ctx;
    cw_err err = CW_OK;
    for (size_t i = 0; i < x->n && !err; i++)
        err = upsert(c, &x->rows[i], x->now_ms, d);
    static const char *const del[] = {
        "DELETE FROM hb_pings WHERE hb_id = (SELECT id FROM hb WHERE key = ?1)",
        "DELETE FROM hb_flips WHERE hb_id = (SELECT id FROM hb WHERE key = ?1)",
        "DELETE FROM hb WHERE key = ?1",
    };
    for (size_t i = 0; i < x->ngone && !err; i++)
        for (size_t k = 0; k < 3 && !err; k++)
            err = CW__SQL_EXEC(c, NULL, d, del[k], CW__SQL_TEXT(x->gone[i]));
    return err;
}

static cw_err hb_apply(cw_store *s, const cw_hb_row *rows, size_t n, char *const *gone,
                       size_t ngone, int64_t now_ms, cw_diag *d)
{
    apply_ctx x = {rows, n, gone, ngone, now_ms};
    return cw__sql_tx(s, CW__SQL_WRITE, apply_tx, &x, d);
}

/* ---- reading ---------------------------------------------------------------- */

typedef struct {
    const char *key;
    cw_hb_row *row;
} get_ctx;

static cw_err get_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    get_ctx *x = ctx;
    if (!cw__sql_text_ok(c, x->key))
        return cw_fail(d, CW_ERR_NOT_FOUND, "heartbeat: not found");
    cw__sql_stmt st;
    bool row = false;
    cw_err err = cw__sql_prepare(c, "SELECT " HB_COLS " FROM hb WHERE key = ?1", &st, d);
    if (!err) {
        cw__sql_bind_text(&st, 1, x->key);
        err = cw__sql_step(&st, &row, d);
    }
    if (!err && !row)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "heartbeat %s: not found", x->key);
    if (!err)
        err = read_row(&st, x->row, NULL, d);
    cw__sql_done(&st);
    return err;
}

static cw_err hb_get(cw_store *s, const char *key, cw_hb_row *out, cw_diag *d)
{
    get_ctx x = {key, out};
    return cw__sql_tx(s, CW__SQL_READ_ONE, get_tx, &x, d);
}

typedef struct {
    cw_hb_row *arr;
    size_t n, cap;
} list_ctx;

static cw_err list_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    list_ctx *x = ctx;
    cw__sql_stmt st;
    bool row = false;
    cw_err err = cw__sql_prepare(c, "SELECT " HB_COLS " FROM hb ORDER BY key", &st, d);
    while (!err && !(err = cw__sql_step(&st, &row, d)) && row) {
        if ((err = cw__grow((void **)&x->arr, &x->cap, x->n, sizeof *x->arr, d)))
            break;
        cw_diag rd = {{0}};
        /* a row whose schedule cannot load now is still listed */
        read_row(&st, &x->arr[x->n++], NULL, &rd);
    }
    cw__sql_done(&st);
    return err;
}

static cw_err hb_list(cw_store *s, cw_hb_row **out, size_t *n, cw_diag *d)
{
    list_ctx x = {0};
    cw_err err = cw__sql_tx(s, CW__SQL_READ_ONE, list_tx, &x, d);
    if (err) {
        free(x.arr);
        return err;
    }
    *out = x.arr;
    *n = x.n;
    return CW_OK;
}

typedef struct {
    const char *key;
    size_t limit;
    cw_hb_ping_rec *arr;
    size_t n, cap;
} pings_ctx;

static cw_err pings_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    pings_ctx *x = ctx;
    if (!cw__sql_text_ok(c, x->key))
        return CW_OK;
    cw__sql_stmt st;
    bool row = false;
    cw_err err = cw__sql_prepare(c,
                                 "SELECT p.n, p.at_ms, p.kind, p.exit_status, p.rid, p.method, "
                                 "p.remote, p.ua, p.duration_ms, p.body_size, p.body "
                                 "FROM hb_pings p JOIN hb h ON h.id = p.hb_id WHERE h.key = ?1 "
                                 "ORDER BY p.n DESC LIMIT ?2",
                                 &st, d);
    if (!err) {
        cw__sql_bind_text(&st, 1, x->key);
        cw__sql_bind_int(&st, 2, (int64_t)x->limit);
    }
    while (!err && !(err = cw__sql_step(&st, &row, d)) && row && x->n < x->limit) {
        if ((err = cw__grow((void **)&x->arr, &x->cap, x->n, sizeof *x->arr, d)))
            break;
        cw_hb_ping_rec *p = &x->arr[x->n++];
        memset(p, 0, sizeof *p);
        p->n = cw__sql_int(&st, 0);
        p->at_ms = cw__sql_int(&st, 1);
        p->kind = (cw_ping_kind)cw__sql_int(&st, 2);
        p->exit_status = cw__sql_null(&st, 3) ? -1 : (int)cw__sql_int(&st, 3);
        copy_str(p->rid, sizeof p->rid, cw__sql_text(&st, 4));
        copy_str(p->method, sizeof p->method, cw__sql_text(&st, 5));
        copy_str(p->remote, sizeof p->remote, cw__sql_text(&st, 6));
        copy_str(p->ua, sizeof p->ua, cw__sql_text(&st, 7));
        p->duration_ms = cw__sql_null(&st, 8) ? -1 : cw__sql_int(&st, 8);
        p->body_size = (size_t)cw__sql_int(&st, 9);
        const void *body = NULL;
        size_t blen = 0;
        err = cw__sql_blob(&st, 10, &body, &blen, d);
        if (!err && blen) {
            p->body = malloc(blen + 1);
            if (!p->body) {
                err = cw_fail(d, CW_ERR_NOMEM, "pings: out of memory");
                break;
            }
            memcpy(p->body, body, blen);
            p->body[blen] = 0;
            p->body_len = blen;
        }
    }
    cw__sql_done(&st);
    return err;
}

static cw_err hb_pings(cw_store *s, const char *key, size_t limit, cw_hb_ping_rec **out,
                       size_t *n, cw_diag *d)
{
    pings_ctx x = {key, limit, NULL, 0, 0};
    cw_err err = cw__sql_tx(s, CW__SQL_READ_ONE, pings_tx, &x, d);
    if (err) {
        cw_hb_pings_free(x.arr, x.n);
        return err;
    }
    *out = x.arr;
    *n = x.n;
    return CW_OK;
}

typedef struct {
    const char *key;           /* NULL: every heartbeat */
    size_t limit;
    bool pending;              /* not yet processed, oldest first */
    cw_hb_flip_rec *arr;
    size_t n, cap;
} flips_ctx;

static cw_err flips_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    flips_ctx *x = ctx;
    if (x->key && !cw__sql_text_ok(c, x->key))
        return CW_OK;
    cw__sql_stmt st;
    bool row = false;
    const char *sql = x->pending ? "SELECT " FLIP_COLS " FROM hb_flips f JOIN hb h ON "
                                   "h.id = f.hb_id WHERE f.processed_ms IS NULL "
                                   "ORDER BY f.id LIMIT ?1"
                      : x->key   ? "SELECT " FLIP_COLS " FROM hb_flips f JOIN hb h ON "
                                   "h.id = f.hb_id WHERE h.key = ?2 ORDER BY f.id DESC LIMIT ?1"
                                 : "SELECT " FLIP_COLS " FROM hb_flips f JOIN hb h ON "
                                   "h.id = f.hb_id ORDER BY f.id DESC LIMIT ?1";
    cw_err err = cw__sql_prepare(c, sql, &st, d);
    if (!err) {
        cw__sql_bind_int(&st, 1, (int64_t)x->limit);
        if (x->key && !x->pending)
            cw__sql_bind_text(&st, 2, x->key);
    }
    while (!err && !(err = cw__sql_step(&st, &row, d)) && row && x->n < x->limit) {
        if ((err = cw__grow((void **)&x->arr, &x->cap, x->n, sizeof *x->arr, d)))
            break;
        cw_hb_flip_rec *f = &x->arr[x->n++];
        memset(f, 0, sizeof *f);
        f->id = cw__sql_int(&st, 0);
        copy_str(f->key, sizeof f->key, cw__sql_text(&st, 1));
        f->at_ms = cw__sql_int(&st, 2);
        f->from = (cw_hb_status)cw__sql_int(&st, 3);
        f->to = (cw_hb_status)cw__sql_int(&st, 4);
        copy_str(f->reason, sizeof f->reason, cw__sql_text(&st, 5));
        f->processed_ms = cw__sql_int(&st, 6);
    }
    cw__sql_done(&st);
    return err;
}

static cw_err read_flips(cw_store *s, flips_ctx *x, cw_hb_flip_rec **out, size_t *n, cw_diag *d)
{
    cw_err err = cw__sql_tx(s, CW__SQL_READ_ONE, flips_tx, x, d);
    if (err) {
        free(x->arr);
        return err;
    }
    *out = x->arr;
    *n = x->n;
    return CW_OK;
}

static cw_err hb_flips(cw_store *s, const char *key, size_t limit, cw_hb_flip_rec **out,
                       size_t *n, cw_diag *d)
{
    flips_ctx x = {key, limit, false, NULL, 0, 0};
    return read_flips(s, &x, out, n, d);
}

static cw_err hb_flips_pending(cw_store *s, size_t limit, cw_hb_flip_rec **out, size_t *n,
                               cw_diag *d)
{
    flips_ctx x = {NULL, limit, true, NULL, 0, 0};
    return read_flips(s, &x, out, n, d);
}

/* ---- writing ---------------------------------------------------------------- */

typedef struct {
    const char *sql;
    cw__sqlv vals[3];          /* key, hash[, time] */
    size_t nvals;
    const char *what;
    bool must_change;          /* no row changed: CW_ERR_NOT_FOUND */
} update_ctx;

static cw_err update_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    update_ctx *x = ctx;
    if (!cw__sql_text_ok(c, x->vals[0].p))
        return x->must_change ? cw_fail(d, CW_ERR_NOT_FOUND, "%s: not found", x->what)
                              : cw_fail(d, CW_ERR_INVALID, "%s: not valid UTF-8", x->what);
    int64_t changed = 0;
    cw_err err = cw__sql_exec(c, x->sql, x->vals, x->nvals, &changed, d);
    if (err == CW_ERR_CONFLICT)
        return cw_fail(d, CW_ERR_CONFLICT, "%s: the key is in use", x->what);
    if (!err && x->must_change && changed == 0)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "%s: not found", x->what);
    return err;
}

static cw_err hb_set_key(cw_store *s, const char *key, const char *hash, cw_diag *d)
{
    update_ctx x = {"UPDATE hb SET ping_key_hash = ?2 WHERE key = ?1",
                    {CW__SQL_TEXT(key), CW__SQL_TEXT(hash)},
                    2,
                    "heartbeat",
                    true};
    return cw__sql_tx(s, CW__SQL_WRITE_ONE, update_tx, &x, d);
}

static cw_err hb_set_team_key(cw_store *s, const char *team_key, const char *hash,
                              int64_t now_ms, cw_diag *d)
{
    update_ctx x = {"INSERT INTO hb_team_keys (team, key_hash, created_ms) VALUES (?1, ?2, ?3) "
                    "ON CONFLICT (team) DO UPDATE SET key_hash = excluded.key_hash, "
                    "created_ms = excluded.created_ms",
                    {CW__SQL_TEXT(team_key), CW__SQL_TEXT(hash), CW__SQL_INT(now_ms)},
                    3,
                    "team ping key",
                    false};
    return cw__sql_tx(s, CW__SQL_WRITE_ONE, update_tx, &x, d);
}

/* Finds and locks the heartbeat of one ping. CW_ERR_NOT_FOUND /
 * CW_ERR_CONFLICT (two heartbeats of the team with that slug). */
static cw_err find_for_ping(cw__sql *c, const cw_hb_ping_in *p, cw_hb_row *row, hb_place *at,
                            cw_diag *d)
{
    if (!p->key_hash && !cw__sql_text_ok(c, p->slug))
        return cw_fail(d, CW_ERR_NOT_FOUND, "not found");
    cw__sql_stmt st;
    bool found = false, more = false;
    cw_err err = cw__sql_prepare(c,
                                 p->key_hash ? "SELECT " HB_COLS " FROM hb WHERE "
                                               "ping_key_hash = ?1 FOR UPDATE"
                                             : "SELECT " HB_COLS " FROM hb WHERE slug = ?1 AND "
                                               "owner_key = (SELECT team FROM hb_team_keys "
                                               "WHERE key_hash = ?2) LIMIT 2 FOR UPDATE",
                                 &st, d);
    if (!err) {
        if (p->key_hash) {
            cw__sql_bind_text(&st, 1, p->key_hash);
        } else {
            cw__sql_bind_text(&st, 1, p->slug);
            cw__sql_bind_text(&st, 2, p->team_hash);
        }
        err = cw__sql_step(&st, &found, d);
    }
    if (!err && !found)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "not found");
    if (!err)
        err = read_row(&st, row, at, d);
    if (!err && !p->key_hash && !cw__sql_step(&st, &more, d) && more)
        err = cw_fail(d, CW_ERR_CONFLICT, "ambiguous slug");
    cw__sql_done(&st);
    return err;
}

static cw_err log_ping(cw__sql *c, int64_t id, const cw_hb_ping_in *p, const cw_hb_state *after,
                       int64_t duration_ms, cw_diag *d)
{
    cw_err err = CW__SQL_EXEC(
        c, NULL, d,
        "INSERT INTO hb_pings (hb_id, n, at_ms, kind, exit_status, rid, method, remote, ua, "
        "duration_ms, body_size, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        CW__SQL_INT(id), CW__SQL_INT(after->n_pings), CW__SQL_INT(p->now_ms),
        CW__SQL_INT(p->kind), CW__SQL_INT_IF(p->exit_status >= 0, p->exit_status),
        CW__SQL_TEXT(p->rid && *p->rid ? p->rid : NULL), CW__SQL_TEXT(p->method),
        CW__SQL_TEXT(p->remote), CW__SQL_TEXT(p->ua),
        CW__SQL_INT_IF(duration_ms >= 0, duration_ms), CW__SQL_INT((int64_t)p->body_size),
        CW__SQL_BLOB(p->body_len ? p->body : NULL, p->body_len));
    /* the ping that falls out of the kept window */
    if (!err && after->n_pings > CW_HB_PINGS_KEPT)
        err = CW__SQL_EXEC(c, NULL, d, "DELETE FROM hb_pings WHERE hb_id = ?1 AND n <= ?2",
                           CW__SQL_INT(id), CW__SQL_INT(after->n_pings - CW_HB_PINGS_KEPT));
    return err;
}

typedef struct {
    const cw_hb_ping_in *in;
    size_t n;
    cw_hb_ping_out *out;
} ping_ctx;

static cw_err ping_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    ping_ctx *x = ctx;
    memset(x->out, 0, x->n * sizeof *x->out);
    cw_err err = CW_OK;
    for (size_t i = 0; i < x->n && !err; i++) {
        const cw_hb_ping_in *p = &x->in[i];
        if (!cw__sql_text_ok(c, p->method) || !cw__sql_text_ok(c, p->remote) ||
            !cw__sql_text_ok(c, p->ua) || !cw__sql_text_ok(c, p->rid)) {
            x->out[i].err = CW_ERR_INVALID;
            continue;
        }
        cw_hb_row row;
        hb_place at = {0};
        cw_diag pd = {{0}};
        cw_err perr = find_for_ping(c, p, &row, &at, &pd);
        if (perr == CW_ERR_NOT_FOUND || perr == CW_ERR_CONFLICT) {
            x->out[i].err = perr;
            continue;
        }
        if (perr) {
            *d = pd;
            return perr;
        }
        cw_hb_apply_ping(&row.spec.sched, &row.state, p->kind, p->rid, p->now_ms,
                         &x->out[i].flip);
        int64_t duration = (p->kind == CW_PING_SUCCESS || p->kind == CW_PING_FAIL)
                               ? row.state.last_duration_ms
                               : -1;
        err = save_state(c, &at, &row.state, false, d);
        if (!err)
            err = log_ping(c, at.id, p, &row.state, duration, d);
        if (!err && x->out[i].flip.flipped)
            err = add_flip(c, at.id, &x->out[i].flip, d);
        copy_str(x->out[i].key, sizeof x->out[i].key, row.key);
        x->out[i].alert_after_ms = row.state.alert_after_ms;
    }
    return err;
}

static cw_err hb_ping(cw_store *s, const cw_hb_ping_in *in, size_t n, cw_hb_ping_out *out,
                      cw_diag *d)
{
    ping_ctx x = {in, n, out};
    return cw__sql_tx(s, CW__SQL_WRITE, ping_tx, &x, d);
}

typedef struct {
    const char *key;
    cw_hb_op op;
    int64_t now_ms;
    cw_hb_row *out;
} control_ctx;

static cw_err control_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    control_ctx *x = ctx;
    if (!cw__sql_text_ok(c, x->key))
        return cw_fail(d, CW_ERR_NOT_FOUND, "heartbeat: not found");
    hb_place at = {0};
    bool found = false;
    cw_err err = load_row(c, x->key, x->out, &at, &found, d);
    if (!err && !found)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "heartbeat %s: not found", x->key);
    cw_hb_flip f = {0};
    if (!err) {
        if (x->op == CW_HB_OP_PAUSE)
            cw_hb_pause(&x->out->state, x->now_ms, &f);
        else
            err = cw_hb_resume(&x->out->state, x->now_ms, &f, d);
    }
    if (!err)
        err = save_state(c, &at, &x->out->state, true, d);
    if (!err && f.flipped)
        err = add_flip(c, at.id, &f, d);
    return err;
}

static cw_err hb_control(cw_store *s, const char *key, cw_hb_op op, int64_t now_ms,
                         cw_hb_row *out, cw_diag *d)
{
    control_ctx x = {key, op, now_ms, out};
    return cw__sql_tx(s, CW__SQL_WRITE, control_tx, &x, d);
}

typedef struct {
    int64_t now_ms;
    size_t max;
    size_t nevaluated, nflips;
    cw_hb_row *rows;
    hb_place *at;
    int64_t *late;             /* ids of rows whose schedule did not load */
} due_ctx;

static cw_err due_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    due_ctx *x = ctx;
    x->nevaluated = x->nflips = 0;
    cw__sql_stmt st;
    bool row = false;
    size_t k = 0;
    /* rows another instance is evaluating or pinging are skipped, not waited for */
    cw_err err = cw__sql_prepare(c,
                                 "SELECT " HB_COLS " FROM hb WHERE wake_ms IS NOT NULL "
                                 "AND status <> 2 AND wake_ms <= ?1 ORDER BY "
                                 "wake_ms LIMIT ?2 FOR UPDATE SKIP LOCKED",
                                 &st, d);
    if (!err) {
        cw__sql_bind_int(&st, 1, x->now_ms);
        cw__sql_bind_int(&st, 2, (int64_t)x->max);
    }
    size_t nlate = 0;
    while (!err && !(err = cw__sql_step(&st, &row, d)) && row && k + nlate < x->max) {
        cw_diag rd = {{0}};
        if (read_row(&st, &x->rows[k], &x->at[k], &rd) == CW_OK)
            k++;
        else /* its schedule does not load now (a zone gone from the system) */
            x->late[nlate++] = x->at[k].id;
    }
    cw__sql_done(&st);
    /* such a row is looked at again later, not at every wake: left at its
     * past wake time it would stay first in line, the scheduler would wake
     * at once, and a batch of them would hide the due rows behind */
    for (size_t i = 0; i < nlate && !err; i++)
        err = CW__SQL_EXEC(c, NULL, d, "UPDATE hb SET wake_ms = ?1 WHERE id = ?2",
                           CW__SQL_INT(x->now_ms + HB_UNREADABLE_RETRY_MS),
                           CW__SQL_INT(x->late[i]));
    for (size_t i = 0; i < k && !err; i++) {
        cw_hb_flip f;
        cw_hb_evaluate(&x->rows[i].spec.sched, &x->rows[i].state, x->now_ms, &f);
        err = save_state(c, &x->at[i], &x->rows[i].state, true, d);
        if (!err && f.flipped) {
            err = add_flip(c, x->at[i].id, &f, d);
            x->nflips++;
        }
    }
    x->nevaluated = k;
    return err;
}

static cw_err hb_evaluate_due(cw_store *s, int64_t now_ms, size_t max, size_t *nevaluated,
                              size_t *nflips, cw_diag *d)
{
    *nevaluated = *nflips = 0;
    due_ctx x = {now_ms, max, 0, 0, calloc(max ? max : 1, sizeof(cw_hb_row)),
                 calloc(max ? max : 1, sizeof(hb_place)), calloc(max ? max : 1, sizeof(int64_t))};
    cw_err err = x.rows && x.at && x.late
                     ? cw__sql_tx(s, CW__SQL_WRITE, due_tx, &x, d)
                     : cw_fail(d, CW_ERR_NOMEM, "heartbeats: out of memory");
    free(x.rows);
    free(x.at);
    free(x.late);
    if (!err) {
        *nevaluated = x.nevaluated;
        *nflips = x.nflips;
    }
    return err;
}

static cw_err next_due_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    int64_t *due = ctx;
    cw__sql_stmt st;
    bool row = false;
    cw_err err = cw__sql_prepare(c,
                                 "SELECT min(wake_ms) FROM hb WHERE "
                                 "wake_ms IS NOT NULL AND status <> 2",
                                 &st, d);
    if (!err)
        err = cw__sql_step(&st, &row, d);
    if (!err && row)
        *due = cw__sql_int(&st, 0);
    cw__sql_done(&st);
    return err;
}

static cw_err hb_next_due(cw_store *s, int64_t *due_ms, cw_diag *d)
{
    return cw__sql_tx(s, CW__SQL_READ_ONE, next_due_tx, due_ms, d);
}

/* ---- notifications ---------------------------------------------------------- */

/* The rows of a statement (DL_COLS) into x->arr, at most limit. */
typedef struct {
    cw_hb_delivery *arr;
    size_t n, cap;
} dl_list;

static cw_err read_dls(cw__sql_stmt *st, size_t limit, dl_list *l, cw_diag *d)
{
    bool row = false;
    cw_err err;
    while (!(err = cw__sql_step(st, &row, d)) && row && l->n < limit) {
        if ((err = cw__grow((void **)&l->arr, &l->cap, l->n, sizeof *l->arr, d)))
            return err;
        cw_hb_delivery *x = &l->arr[l->n++];
        memset(x, 0, sizeof *x);
        x->id = cw__sql_int(st, 0);
        x->flip_id = cw__sql_int(st, 1);
        copy_str(x->key, sizeof x->key, cw__sql_text(st, 2));
        x->url = dup(cw__sql_text(st, 3));
        x->body = dup(cw__sql_text(st, 4));
        x->state = (cw_hb_dl_state)cw__sql_int(st, 5);
        x->attempts = (int)cw__sql_int(st, 6);
        x->due_ms = cw__sql_int(st, 7);
        x->created_ms = cw__sql_int(st, 8);
        x->done_ms = cw__sql_int(st, 9);
        x->last_status = (int)cw__sql_int(st, 10);
        copy_str(x->last_error, sizeof x->last_error, cw__sql_text(st, 11));
        if (!x->url || !x->body)
            return cw_fail(d, CW_ERR_NOMEM, "deliveries: out of memory");
    }
    return err;
}

static void dl_list_reset(dl_list *l)
{
    cw_hb_deliveries_free(l->arr, l->n);
    memset(l, 0, sizeof *l);
}

typedef struct {
    int64_t flip_id;
    const char *key;
    const cw_hb_delivery_new *dl;
    size_t n;
    int64_t now_ms;
    bool taken;
} take_ctx;

static cw_err take_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    take_ctx *x = ctx;
    x->taken = false;
    if (!cw__sql_text_ok(c, x->key))
        return cw_fail(d, CW_ERR_INVALID, "heartbeat: not valid UTF-8");
    int64_t changed = 0;
    /* the row lock makes a second instance wait, then see processed_ms set */
    cw_err err = CW__SQL_EXEC(c, &changed, d,
                              "UPDATE hb_flips SET processed_ms = ?1 WHERE id = ?2 AND "
                              "processed_ms IS NULL",
                              CW__SQL_INT(x->now_ms), CW__SQL_INT(x->flip_id));
    x->taken = !err && changed == 1;
    for (size_t i = 0; !err && x->taken && i < x->n; i++) {
        if (!cw__sql_text_ok(c, x->dl[i].url) || !cw__sql_text_ok(c, x->dl[i].body))
            err = cw_fail(d, CW_ERR_INVALID, "delivery: not valid UTF-8");
        else
            err = CW__SQL_EXEC(c, NULL, d,
                               "INSERT INTO hb_deliveries (flip_id, hb_key, url, body, due_ms, "
                               "created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                               CW__SQL_INT(x->flip_id), CW__SQL_TEXT(x->key),
                               CW__SQL_TEXT(x->dl[i].url), CW__SQL_TEXT(x->dl[i].body),
                               CW__SQL_INT(x->now_ms));
    }
    return err;
}

static cw_err hb_notify_take(cw_store *s, int64_t flip_id, const char *key,
                             const cw_hb_delivery_new *dl, size_t n, int64_t now_ms, bool *taken,
                             cw_diag *d)
{
    take_ctx x = {flip_id, key, dl, n, now_ms, false};
    cw_err err = cw__sql_tx(s, CW__SQL_WRITE, take_tx, &x, d);
    *taken = !err && x.taken;
    return err;
}

typedef struct {
    int64_t now_ms, lease_ms;
    size_t max;
    dl_list out;
} claim_ctx;

static cw_err claim_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    claim_ctx *x = ctx;
    dl_list_reset(&x->out); /* a retried transaction starts again */
    cw__sql_stmt st;
    /* rows another instance is claiming are skipped, not waited for */
    cw_err err = cw__sql_prepare(c,
                                 "UPDATE hb_deliveries SET lease_ms = CAST(?1 AS BIGINT) + "
                                 "CAST(?2 AS BIGINT), attempts = attempts + 1 WHERE id IN "
                                 "(SELECT id FROM hb_deliveries WHERE state = 0 AND due_ms <= ?1 "
                                 "AND lease_ms <= ?1 ORDER BY due_ms, id LIMIT ?3 "
                                 "FOR UPDATE SKIP LOCKED) RETURNING " DL_COLS,
                                 &st, d);
    if (!err) {
        cw__sql_bind_int(&st, 1, x->now_ms);
        cw__sql_bind_int(&st, 2, x->lease_ms);
        cw__sql_bind_int(&st, 3, (int64_t)x->max);
        err = read_dls(&st, x->max, &x->out, d);
    }
    cw__sql_done(&st);
    return err;
}

static cw_err hb_notify_claim(cw_store *s, int64_t now_ms, int64_t lease_ms, size_t max,
                              cw_hb_delivery **out, size_t *n, cw_diag *d)
{
    claim_ctx x = {now_ms, lease_ms, max, {0}};
    cw_err err = cw__sql_tx(s, CW__SQL_WRITE, claim_tx, &x, d);
    if (err) {
        dl_list_reset(&x.out);
        return err;
    }
    *out = x.out.arr;
    *n = x.out.n;
    return CW_OK;
}

typedef struct {
    int64_t id;
    cw_hb_dl_state state;
    int64_t next_due_ms;
    int status;
    const char *error;
    int64_t now_ms;
} finish_ctx;

static cw_err finish_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    finish_ctx *x = ctx;
    int64_t changed = 0;
    cw_err err = CW__SQL_EXEC(
        c, &changed, d,
        "UPDATE hb_deliveries SET state = CAST(?2 AS INTEGER), due_ms = CASE WHEN "
        "CAST(?2 AS INTEGER) = 0 THEN CAST(?3 AS BIGINT) ELSE due_ms END, lease_ms = 0, "
        "last_status = CAST(?4 AS INTEGER), last_error = ?5, done_ms = CASE WHEN "
        "CAST(?2 AS INTEGER) = 0 THEN CAST(0 AS BIGINT) ELSE CAST(?6 AS BIGINT) END "
        "WHERE id = CAST(?1 AS BIGINT)",
        CW__SQL_INT(x->id), CW__SQL_INT((int64_t)x->state), CW__SQL_INT(x->next_due_ms),
        CW__SQL_INT(x->status),
        CW__SQL_TEXT(cw__sql_text_ok(c, x->error) ? x->error : "(not UTF-8)"),
        CW__SQL_INT(x->now_ms));
    if (!err && changed == 0)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "delivery %lld: not found", (long long)x->id);
    return err;
}

static cw_err hb_notify_finish(cw_store *s, int64_t id, cw_hb_dl_state state,
                               int64_t next_due_ms, int status, const char *error,
                               int64_t now_ms, cw_diag *d)
{
    finish_ctx x = {id, state, next_due_ms, status, error, now_ms};
    return cw__sql_tx(s, CW__SQL_WRITE_ONE, finish_tx, &x, d);
}

typedef struct {
    int state;
    size_t limit;
    dl_list out;
} dl_list_ctx;

static cw_err notify_list_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    dl_list_ctx *x = ctx;
    cw__sql_stmt st;
    cw_err err = cw__sql_prepare(c,
                                 "SELECT " DL_COLS " FROM hb_deliveries WHERE "
                                 "CAST(?1 AS INTEGER) < 0 OR state = CAST(?1 AS INTEGER) "
                                 "ORDER BY id DESC LIMIT ?2",
                                 &st, d);
    if (!err) {
        cw__sql_bind_int(&st, 1, x->state);
        cw__sql_bind_int(&st, 2, (int64_t)x->limit);
        err = read_dls(&st, x->limit, &x->out, d);
    }
    cw__sql_done(&st);
    return err;
}

static cw_err hb_notify_list(cw_store *s, int state, size_t limit, cw_hb_delivery **out,
                             size_t *n, cw_diag *d)
{
    dl_list_ctx x = {state, limit, {0}};
    cw_err err = cw__sql_tx(s, CW__SQL_READ_ONE, notify_list_tx, &x, d);
    if (err) {
        dl_list_reset(&x.out);
        return err;
    }
    *out = x.out.arr;
    *n = x.out.n;
    return CW_OK;
}

const struct cw_store_hb_ops cw__sql_hb_ops = {
    .catalog_gen = hb_catalog_gen,
    .changed = hb_changed,
    .apply = hb_apply,
    .get = hb_get,
    .list = hb_list,
    .pings = hb_pings,
    .flips = hb_flips,
    .set_key = hb_set_key,
    .set_team_key = hb_set_team_key,
    .ping = hb_ping,
    .control = hb_control,
    .evaluate_due = hb_evaluate_due,
    .next_due = hb_next_due,
    .flips_pending = hb_flips_pending,
    .notify_take = hb_notify_take,
    .notify_claim = hb_notify_claim,
    .notify_finish = hb_notify_finish,
    .notify_list = hb_notify_list,
    .flips_skip = cw__sql_hb_flips_skip,
};
