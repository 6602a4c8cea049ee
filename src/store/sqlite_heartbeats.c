/*
 * sqlite_heartbeats.c — heartbeats in SQLite (store_heartbeats.h). One
 * process owns the file's writes through the single writer connection, so
 * claiming due heartbeats needs no row locks: the evaluation runs in one
 * write transaction. Arguments arrive checked (store_heartbeats.c).
 */
#include "store/sqlite_int.h"
#include "store/store_heartbeats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HB_COLS                                                                             \
    "id, key, ref, slug, owner_key, etag, owner, target, depends_on, purpose, sched_kind, " \
    "period_s, grace_s, cron, tz, status, last_ping_ms, last_success_ms, last_start_ms, "    \
    "last_start_rid, last_duration_ms, n_pings, alert_after_ms, ping_key_hash IS NOT NULL, " \
    "created_ms"

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Reads a row (HB_COLS from column 0); *id_out the row id. */
static cw_err read_row(sqlite3_stmt *st, cw_hb_row *r, int64_t *id_out, cw_diag *d)
{
    memset(r, 0, sizeof *r);
    if (id_out)
        *id_out = sqlite3_column_int64(st, 0);
    copy_str(r->key, sizeof r->key, cw__col_text(st, 1));
    copy_str(r->ref, sizeof r->ref, cw__col_text(st, 2));
    copy_str(r->slug, sizeof r->slug, cw__col_text(st, 3));
    copy_str(r->owner_key, sizeof r->owner_key, cw__col_text(st, 4));
    copy_str(r->etag, sizeof r->etag, cw__col_text(st, 5));
    copy_str(r->spec.owner, sizeof r->spec.owner, cw__col_text(st, 6));
    copy_str(r->spec.target, sizeof r->spec.target, cw__col_text(st, 7));
    copy_str(r->spec.depends_on, sizeof r->spec.depends_on, cw__col_text(st, 8));
    r->spec.purpose = (cw_hb_purpose)sqlite3_column_int(st, 9);
    r->spec.sched.kind = (cw_hb_sched_kind)sqlite3_column_int(st, 10);
    r->spec.sched.period_s = sqlite3_column_int64(st, 11);
    r->spec.sched.grace_s = sqlite3_column_int64(st, 12);
    copy_str(r->spec.sched.cron, sizeof r->spec.sched.cron, cw__col_text(st, 13));
    copy_str(r->spec.sched.tz, sizeof r->spec.sched.tz, cw__col_text(st, 14));
    r->state.status = (cw_hb_status)sqlite3_column_int(st, 15);
    r->state.last_ping_ms = sqlite3_column_int64(st, 16);
    r->state.last_success_ms = sqlite3_column_int64(st, 17);
    r->state.last_start_ms = sqlite3_column_int64(st, 18);
    copy_str(r->state.last_start_rid, sizeof r->state.last_start_rid, cw__col_text(st, 19));
    r->state.last_duration_ms = sqlite3_column_int64(st, 20);
    r->state.n_pings = sqlite3_column_int64(st, 21);
    r->state.alert_after_ms = sqlite3_column_int64(st, 22); /* NULL reads as 0 */
    r->has_ping_key = sqlite3_column_int(st, 23) != 0;
    r->created_ms = sqlite3_column_int64(st, 24);
    return cw__hb_row_ready(r, d);
}

static void bind_due(sqlite3_stmt *st, int idx, int64_t due)
{
    if (due)
        cw__bind_int64(st, idx, due);
    else
        sqlite3_bind_null(st, idx);
}

/* Writes a row's state back (by id). */
static cw_err save_state(cw__sqlite_conn *c, int64_t id, const cw_hb_state *s, cw_diag *d)
{
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c,
                                 "UPDATE hb SET status = ?, last_ping_ms = ?, last_success_ms = ?, "
                                 "last_start_ms = ?, last_start_rid = ?, last_duration_ms = ?, "
                                 "n_pings = ?, alert_after_ms = ? WHERE id = ?",
                                 &st, d);
    if (err)
        return err;
    cw__bind_int64(st, 1, s->status);
    cw__bind_int64(st, 2, s->last_ping_ms);
    cw__bind_int64(st, 3, s->last_success_ms);
    cw__bind_int64(st, 4, s->last_start_ms);
    cw__bind_text(st, 5, s->last_start_rid);
    cw__bind_int64(st, 6, s->last_duration_ms);
    cw__bind_int64(st, 7, s->n_pings);
    bind_due(st, 8, s->alert_after_ms);
    cw__bind_int64(st, 9, id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "heartbeat update");
    cw__sqlite_done(c, st);
    return err;
}

static cw_err add_flip(cw__sqlite_conn *c, int64_t id, const cw_hb_flip *f, cw_diag *d)
{
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c,
                                 "INSERT INTO hb_flips (hb_id, at_ms, from_status, to_status, "
                                 "reason) VALUES (?, ?, ?, ?, ?)",
                                 &st, d);
    if (err)
        return err;
    cw__bind_int64(st, 1, id);
    cw__bind_int64(st, 2, f->at_ms);
    cw__bind_int64(st, 3, f->from);
    cw__bind_int64(st, 4, f->to);
    cw__bind_text(st, 5, f->reason);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "heartbeat flip");
    cw__sqlite_done(c, st);
    return err;
}

/* ---- catalog sync -------------------------------------------------------------- */

static cw_err hb_catalog_gen(cw_store *store, int64_t *gen, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    cw_err err = cw__sqlite_entity_gen(c, gen, d);
    cw__sqlite_read_release(s, c);
    return err;
}

static cw_err push(char ***arr, size_t *n, size_t *cap, const char *s)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        char **p = realloc(*arr, nc * sizeof *p);
        if (!p)
            return CW_ERR_NOMEM;
        *arr = p;
        *cap = nc;
    }
    size_t len = strlen(s);
    char *copy = malloc(len + 1);
    if (!copy)
        return CW_ERR_NOMEM;
    memcpy(copy, s, len + 1);
    (*arr)[(*n)++] = copy;
    return CW_OK;
}

static cw_err hb_changed(cw_store *store, char ***texts, char ***etags, size_t *ntexts,
                         char ***gone, size_t *ngone, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL, *gs = NULL;
    size_t n = 0, cap = 0, ne = 0, ecap = 0, g = 0, gcap = 0;
    char **t = NULL, **e = NULL, **gk = NULL;
    cw_err err = cw__sqlite_read_begin(c, d);
    if (err)
        goto out;
    /* entity keys sort by kind first: the range is every Heartbeat */
    err = cw__sqlite_stmt(c,
                          "SELECT e.body, e.etag FROM entities e LEFT JOIN hb h ON h.key = e.key "
                          "WHERE e.key >= 'heartbeat:' AND e.key < 'heartbeat;' "
                          "AND (h.id IS NULL OR h.etag <> e.etag)",
                          &st, d);
    if (err)
        goto out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (push(&t, &n, &cap, cw__col_text(st, 0)) || push(&e, &ne, &ecap, cw__col_text(st, 1))) {
            err = cw_fail(d, CW_ERR_NOMEM, "heartbeats: out of memory");
            goto out;
        }
    }
    if (rc != SQLITE_DONE) {
        err = cw__sqlite_fail(c, rc, d, "heartbeat sync");
        goto out;
    }
    err = cw__sqlite_stmt(c,
                          "SELECT h.key FROM hb h WHERE NOT EXISTS "
                          "(SELECT 1 FROM entities e WHERE e.key = h.key)",
                          &gs, d);
    if (err)
        goto out;
    while ((rc = sqlite3_step(gs)) == SQLITE_ROW)
        if (push(&gk, &g, &gcap, cw__col_text(gs, 0))) {
            err = cw_fail(d, CW_ERR_NOMEM, "heartbeats: out of memory");
            goto out;
        }
    if (rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "heartbeat sync");
out:
    cw__sqlite_done(c, st);
    cw__sqlite_done(c, gs);
    cw__sqlite_read_end(c);
    cw__sqlite_read_release(s, c);
    if (err) {
        for (size_t i = 0; i < n; i++)
            free(t[i]);
        for (size_t i = 0; i < ne; i++)
            free(e[i]);
        free(t);
        free(e);
        for (size_t i = 0; i < g; i++)
            free(gk[i]);
        free(gk);
        return err;
    }
    *texts = t;
    *etags = e;
    *ntexts = n;
    *gone = gk;
    *ngone = g;
    return CW_OK;
}

static cw_err upsert(cw__sqlite_conn *c, const cw_hb_row *r, int64_t now_ms, cw_diag *d)
{
    sqlite3_stmt *sel = NULL, *st = NULL;
    cw_err err = cw__sqlite_stmt(c, "SELECT " HB_COLS " FROM hb WHERE key = ?", &sel, d);
    if (err)
        return err;
    cw__bind_text(sel, 1, r->key);
    int rc = sqlite3_step(sel);
    cw_hb_state state;
    cw_hb_state_init(&state);
    int64_t id = 0;
    if (rc == SQLITE_ROW) {
        cw_hb_row old;
        cw_diag od = {{0}};
        read_row(sel, &old, &id, &od); /* the old schedule may not load: the state does */
        state = old.state;
    } else if (rc != SQLITE_DONE) {
        err = cw__sqlite_fail(c, rc, d, "heartbeat sync");
        goto out;
    }
    cw_hb_reschedule(&r->spec.sched, &state);
    if (id) {
        err = cw__sqlite_stmt(c,
                              "UPDATE hb SET ref = ?, slug = ?, owner_key = ?, etag = ?, owner = ?, "
                              "target = ?, depends_on = ?, purpose = ?, sched_kind = ?, "
                              "period_s = ?, grace_s = ?, cron = ?, tz = ?, alert_after_ms = ? "
                              "WHERE id = ?",
                              &st, d);
    } else {
        err = cw__sqlite_stmt(c,
                              "INSERT INTO hb (ref, slug, owner_key, etag, owner, target, "
                              "depends_on, purpose, sched_kind, period_s, grace_s, cron, tz, "
                              "alert_after_ms, key, created_ms) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                              &st, d);
    }
    if (err)
        goto out;
    cw__bind_text(st, 1, r->ref);
    cw__bind_text(st, 2, r->slug);
    cw__bind_text(st, 3, r->owner_key);
    cw__bind_text(st, 4, r->etag);
    cw__bind_text(st, 5, r->spec.owner);
    cw__bind_text(st, 6, r->spec.target);
    cw__bind_text(st, 7, r->spec.depends_on);
    cw__bind_int64(st, 8, r->spec.purpose);
    cw__bind_int64(st, 9, r->spec.sched.kind);
    cw__bind_int64(st, 10, r->spec.sched.period_s);
    cw__bind_int64(st, 11, r->spec.sched.grace_s);
    cw__bind_text(st, 12, r->spec.sched.cron);
    cw__bind_text(st, 13, r->spec.sched.tz);
    bind_due(st, 14, state.alert_after_ms);
    if (id) {
        cw__bind_int64(st, 15, id);
    } else {
        cw__bind_text(st, 15, r->key);
        cw__bind_int64(st, 16, now_ms);
    }
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "heartbeat sync");
out:
    cw__sqlite_done(c, sel);
    cw__sqlite_done(c, st);
    return err;
}

static cw_err hb_apply(cw_store *store, const cw_hb_row *rows, size_t n, char *const *gone,
                       size_t ngone, int64_t now_ms, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c;
    cw_err err = cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    for (size_t i = 0; i < n && !err; i++)
        err = upsert(c, &rows[i], now_ms, d);
    static const char *const del[] = {
        "DELETE FROM hb_pings WHERE hb_id = (SELECT id FROM hb WHERE key = ?)",
        "DELETE FROM hb_flips WHERE hb_id = (SELECT id FROM hb WHERE key = ?)",
        "DELETE FROM hb WHERE key = ?",
    };
    for (size_t i = 0; i < ngone && !err; i++)
        for (size_t k = 0; k < 3 && !err; k++) {
            sqlite3_stmt *st = NULL;
            err = cw__sqlite_stmt(c, del[k], &st, d);
            if (err)
                break;
            cw__bind_text(st, 1, gone[i]);
            int rc = sqlite3_step(st);
            if (rc != SQLITE_DONE)
                err = cw__sqlite_fail(c, rc, d, "heartbeat removal");
            cw__sqlite_done(c, st);
        }
    return cw__sqlite_write_end(s, c, err, d);
}

/* ---- reading ---------------------------------------------------------------- */

static cw_err hb_get(cw_store *store, const char *key, cw_hb_row *out, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c, "SELECT " HB_COLS " FROM hb WHERE key = ?", &st, d);
    if (!err) {
        cw__bind_text(st, 1, key);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            err = read_row(st, out, NULL, d);
        else if (rc == SQLITE_DONE)
            err = cw_fail(d, CW_ERR_NOT_FOUND, "heartbeat %s: not found", key);
        else
            err = cw__sqlite_fail(c, rc, d, "heartbeat get");
    }
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    return err;
}

static cw_err hb_list(cw_store *store, cw_hb_row **out, size_t *n, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL;
    cw_hb_row *arr = NULL;
    size_t len = 0, cap = 0;
    cw_err err = cw__sqlite_stmt(c, "SELECT " HB_COLS " FROM hb ORDER BY key", &st, d);
    int rc = SQLITE_DONE;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 64;
            cw_hb_row *p = realloc(arr, nc * sizeof *p);
            if (!p) {
                err = cw_fail(d, CW_ERR_NOMEM, "heartbeats: out of memory");
                break;
            }
            arr = p;
            cap = nc;
        }
        cw_diag rd = {{0}};
        /* a row whose schedule cannot load now is still listed */
        read_row(st, &arr[len++], NULL, &rd);
    }
    if (!err && rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "heartbeat list");
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    if (err) {
        free(arr);
        return err;
    }
    *out = arr;
    *n = len;
    return CW_OK;
}

static cw_err hb_pings(cw_store *store, const char *key, size_t limit, cw_hb_ping_rec **out,
                       size_t *n, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL;
    cw_hb_ping_rec *arr = NULL;
    size_t len = 0;
    cw_err err = cw__sqlite_read_begin(c, d);
    if (!err)
        err = cw__sqlite_stmt(c,
                              "SELECT p.n, p.at_ms, p.kind, p.exit_status, p.rid, p.method, "
                              "p.remote, p.ua, p.duration_ms, p.body_size, p.body "
                              "FROM hb_pings p JOIN hb h ON h.id = p.hb_id WHERE h.key = ? "
                              "ORDER BY p.n DESC LIMIT ?",
                              &st, d);
    if (err)
        goto out;
    cw__bind_text(st, 1, key);
    cw__bind_int64(st, 2, (int64_t)limit);
    arr = calloc(limit, sizeof *arr);
    if (!arr) {
        err = cw_fail(d, CW_ERR_NOMEM, "pings: out of memory");
        goto out;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && len < limit) {
        cw_hb_ping_rec *p = &arr[len++];
        p->n = sqlite3_column_int64(st, 0);
        p->at_ms = sqlite3_column_int64(st, 1);
        p->kind = (cw_ping_kind)sqlite3_column_int(st, 2);
        p->exit_status = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 3);
        copy_str(p->rid, sizeof p->rid, cw__col_text(st, 4));
        copy_str(p->method, sizeof p->method, cw__col_text(st, 5));
        copy_str(p->remote, sizeof p->remote, cw__col_text(st, 6));
        copy_str(p->ua, sizeof p->ua, cw__col_text(st, 7));
        p->duration_ms = sqlite3_column_type(st, 8) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 8);
        p->body_size = (size_t)sqlite3_column_int64(st, 9);
        int blen = sqlite3_column_bytes(st, 10);
        if (blen > 0) {
            p->body = malloc((size_t)blen + 1);
            if (!p->body) {
                err = cw_fail(d, CW_ERR_NOMEM, "pings: out of memory");
                goto out;
            }
            memcpy(p->body, sqlite3_column_blob(st, 10), (size_t)blen);
            p->body[blen] = 0;
            p->body_len = (size_t)blen;
        }
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        err = cw__sqlite_fail(c, rc, d, "heartbeat pings");
out:
    cw__sqlite_done(c, st);
    cw__sqlite_read_end(c);
    cw__sqlite_read_release(s, c);
    if (err) {
        cw_hb_pings_free(arr, len);
        return err;
    }
    *out = arr;
    *n = len;
    return CW_OK;
}

static cw_err hb_flips(cw_store *store, const char *key, size_t limit, cw_hb_flip_rec **out,
                       size_t *n, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL;
    cw_hb_flip_rec *arr = calloc(limit, sizeof *arr);
    size_t len = 0;
    cw_err err = arr ? CW_OK : cw_fail(d, CW_ERR_NOMEM, "flips: out of memory");
    if (!err)
        err = cw__sqlite_stmt(c,
                              key ? "SELECT f.id, h.key, f.at_ms, f.from_status, f.to_status, "
                                    "f.reason, f.processed_ms FROM hb_flips f JOIN hb h ON "
                                    "h.id = f.hb_id WHERE h.key = ? ORDER BY f.id DESC LIMIT ?"
                                  : "SELECT f.id, h.key, f.at_ms, f.from_status, f.to_status, "
                                    "f.reason, f.processed_ms FROM hb_flips f JOIN hb h ON "
                                    "h.id = f.hb_id WHERE ? IS NULL ORDER BY f.id DESC LIMIT ?",
                              &st, d);
    if (!err) {
        if (key)
            cw__bind_text(st, 1, key);
        else
            sqlite3_bind_null(st, 1);
        cw__bind_int64(st, 2, (int64_t)limit);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW && len < limit) {
            cw_hb_flip_rec *f = &arr[len++];
            f->id = sqlite3_column_int64(st, 0);
            copy_str(f->key, sizeof f->key, cw__col_text(st, 1));
            f->at_ms = sqlite3_column_int64(st, 2);
            f->from = (cw_hb_status)sqlite3_column_int(st, 3);
            f->to = (cw_hb_status)sqlite3_column_int(st, 4);
            copy_str(f->reason, sizeof f->reason, cw__col_text(st, 5));
            f->processed_ms = sqlite3_column_int64(st, 6);
        }
        if (rc != SQLITE_DONE && rc != SQLITE_ROW)
            err = cw__sqlite_fail(c, rc, d, "heartbeat flips");
    }
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    if (err) {
        free(arr);
        return err;
    }
    *out = arr;
    *n = len;
    return CW_OK;
}

/* ---- writing ---------------------------------------------------------------- */

static cw_err run_update(cw_store *store, const char *sql, const char *a, const char *b,
                         int64_t num, bool with_num, const char *what, bool must_change,
                         cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c;
    cw_err err = cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    sqlite3_stmt *st = NULL;
    err = cw__sqlite_stmt(c, sql, &st, d);
    if (!err) {
        cw__bind_text(st, 1, a);
        cw__bind_text(st, 2, b);
        if (with_num)
            cw__bind_int64(st, 3, num);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_CONSTRAINT_UNIQUE)
            err = cw_fail(d, CW_ERR_CONFLICT, "%s: the key is in use", what);
        else if (rc != SQLITE_DONE)
            err = cw__sqlite_fail(c, rc, d, what);
        else if (must_change && sqlite3_changes(c->db) == 0)
            err = cw_fail(d, CW_ERR_NOT_FOUND, "%s: not found", what);
    }
    cw__sqlite_done(c, st);
    return cw__sqlite_write_end(s, c, err, d);
}

static cw_err hb_set_key(cw_store *store, const char *key, const char *hash, cw_diag *d)
{
    return run_update(store, "UPDATE hb SET ping_key_hash = ?2 WHERE key = ?1", key, hash, 0,
                      false, "heartbeat", true, d);
}

static cw_err hb_set_team_key(cw_store *store, const char *team_key, const char *hash,
                              int64_t now_ms, cw_diag *d)
{
    return run_update(store,
                      "INSERT INTO hb_team_keys (team, key_hash, created_ms) VALUES (?1, ?2, ?3) "
                      "ON CONFLICT (team) DO UPDATE SET key_hash = excluded.key_hash, "
                      "created_ms = excluded.created_ms",
                      team_key, hash, now_ms, true, "team ping key", false, d);
}

/* Finds the heartbeat of one ping on the writer. CW_ERR_NOT_FOUND /
 * CW_ERR_CONFLICT (two heartbeats of the team with that slug). */
static cw_err find_for_ping(cw__sqlite_conn *c, const cw_hb_ping_in *p, cw_hb_row *row,
                            int64_t *id, cw_diag *d)
{
    sqlite3_stmt *st = NULL;
    cw_err err;
    if (p->key_hash) {
        err = cw__sqlite_stmt(c, "SELECT " HB_COLS " FROM hb WHERE ping_key_hash = ?", &st, d);
        if (err)
            return err;
        cw__bind_text(st, 1, p->key_hash);
    } else {
        err = cw__sqlite_stmt(c,
                              "SELECT " HB_COLS " FROM hb WHERE slug = ? AND owner_key = "
                              "(SELECT team FROM hb_team_keys WHERE key_hash = ?) LIMIT 2",
                              &st, d);
        if (err)
            return err;
        cw__bind_text(st, 1, p->slug);
        cw__bind_text(st, 2, p->team_hash);
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        err = read_row(st, row, id, d);
        if (!err && !p->key_hash && sqlite3_step(st) == SQLITE_ROW)
            err = cw_fail(d, CW_ERR_CONFLICT, "ambiguous slug");
    } else if (rc == SQLITE_DONE) {
        err = cw_fail(d, CW_ERR_NOT_FOUND, "not found");
    } else {
        err = cw__sqlite_fail(c, rc, d, "ping");
    }
    cw__sqlite_done(c, st);
    return err;
}

static cw_err log_ping(cw__sqlite_conn *c, int64_t id, const cw_hb_ping_in *p,
                       const cw_hb_state *st_after, int64_t duration_ms, cw_diag *d)
{
    sqlite3_stmt *st = NULL, *del = NULL;
    cw_err err = cw__sqlite_stmt(c,
                                 "INSERT INTO hb_pings (hb_id, n, at_ms, kind, exit_status, rid, "
                                 "method, remote, ua, duration_ms, body_size, body) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                 &st, d);
    if (err)
        return err;
    cw__bind_int64(st, 1, id);
    cw__bind_int64(st, 2, st_after->n_pings);
    cw__bind_int64(st, 3, p->now_ms);
    cw__bind_int64(st, 4, p->kind);
    if (p->exit_status >= 0)
        cw__bind_int64(st, 5, p->exit_status);
    cw__bind_text(st, 6, p->rid && *p->rid ? p->rid : NULL);
    cw__bind_text(st, 7, p->method);
    cw__bind_text(st, 8, p->remote);
    cw__bind_text(st, 9, p->ua);
    if (duration_ms >= 0)
        cw__bind_int64(st, 10, duration_ms);
    cw__bind_int64(st, 11, (int64_t)p->body_size);
    if (p->body_len)
        sqlite3_bind_blob(st, 12, p->body, (int)p->body_len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "ping log");
    /* the ping that falls out of the kept window */
    if (!err && st_after->n_pings > CW_HB_PINGS_KEPT) {
        err = cw__sqlite_stmt(c, "DELETE FROM hb_pings WHERE hb_id = ? AND n <= ?", &del, d);
        if (!err) {
            cw__bind_int64(del, 1, id);
            cw__bind_int64(del, 2, st_after->n_pings - CW_HB_PINGS_KEPT);
            rc = sqlite3_step(del);
            if (rc != SQLITE_DONE)
                err = cw__sqlite_fail(c, rc, d, "ping log");
        }
    }
    cw__sqlite_done(c, st);
    cw__sqlite_done(c, del);
    return err;
}

static cw_err hb_ping(cw_store *store, const cw_hb_ping_in *in, size_t n, cw_hb_ping_out *out,
                      cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c;
    cw_err err = cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    for (size_t i = 0; i < n && !err; i++) {
        const cw_hb_ping_in *p = &in[i];
        cw_hb_row row;
        int64_t id = 0;
        cw_diag pd = {{0}};
        cw_err perr = find_for_ping(c, p, &row, &id, &pd);
        if (perr == CW_ERR_NOT_FOUND || perr == CW_ERR_CONFLICT) {
            out[i].err = perr;
            continue;
        }
        if (perr) {
            err = perr;
            *d = pd;
            break;
        }
        cw_hb_apply_ping(&row.spec.sched, &row.state, p->kind, p->rid, p->now_ms, &out[i].flip);
        int64_t duration = (p->kind == CW_PING_SUCCESS || p->kind == CW_PING_FAIL)
                               ? row.state.last_duration_ms
                               : -1;
        err = save_state(c, id, &row.state, d);
        if (!err)
            err = log_ping(c, id, p, &row.state, duration, d);
        if (!err && out[i].flip.flipped)
            err = add_flip(c, id, &out[i].flip, d);
        copy_str(out[i].key, sizeof out[i].key, row.key);
        out[i].alert_after_ms = row.state.alert_after_ms;
    }
    return cw__sqlite_write_end(s, c, err, d);
}

static cw_err hb_control(cw_store *store, const char *key, cw_hb_op op, int64_t now_ms,
                         cw_hb_row *out, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c;
    cw_err err = cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    sqlite3_stmt *st = NULL;
    int64_t id = 0;
    err = cw__sqlite_stmt(c, "SELECT " HB_COLS " FROM hb WHERE key = ?", &st, d);
    if (!err) {
        cw__bind_text(st, 1, key);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            err = read_row(st, out, &id, d);
        else if (rc == SQLITE_DONE)
            err = cw_fail(d, CW_ERR_NOT_FOUND, "heartbeat %s: not found", key);
        else
            err = cw__sqlite_fail(c, rc, d, "heartbeat control");
    }
    cw__sqlite_done(c, st);
    cw_hb_flip f = {0};
    if (!err) {
        if (op == CW_HB_OP_PAUSE)
            cw_hb_pause(&out->state, now_ms, &f);
        else
            err = cw_hb_resume(&out->state, now_ms, &f, d);
    }
    if (!err)
        err = save_state(c, id, &out->state, d);
    if (!err && f.flipped)
        err = add_flip(c, id, &f, d);
    return cw__sqlite_write_end(s, c, err, d);
}

static cw_err hb_evaluate_due(cw_store *store, int64_t now_ms, size_t max, size_t *nevaluated,
                              size_t *nflips, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c;
    *nevaluated = *nflips = 0;
    cw_err err = cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    sqlite3_stmt *st = NULL;
    cw_hb_row *rows = calloc(max, sizeof *rows);
    int64_t *ids = calloc(max, sizeof *ids);
    size_t k = 0;
    if (!rows || !ids) {
        err = cw_fail(d, CW_ERR_NOMEM, "heartbeats: out of memory");
        goto out;
    }
    err = cw__sqlite_stmt(c,
                          "SELECT " HB_COLS " FROM hb WHERE alert_after_ms IS NOT NULL "
                          "AND status <> 2 AND alert_after_ms <= ? ORDER BY alert_after_ms LIMIT ?",
                          &st, d);
    if (err)
        goto out;
    cw__bind_int64(st, 1, now_ms);
    cw__bind_int64(st, 2, (int64_t)max);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && k < max) {
        cw_diag rd = {{0}};
        if (read_row(st, &rows[k], &ids[k], &rd) == CW_OK)
            k++;
    }
    cw__sqlite_done(c, st);
    st = NULL;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        err = cw__sqlite_fail(c, rc, d, "heartbeat evaluation");
        goto out;
    }
    for (size_t i = 0; i < k && !err; i++) {
        cw_hb_flip f;
        cw_hb_evaluate(&rows[i].spec.sched, &rows[i].state, now_ms, &f);
        err = save_state(c, ids[i], &rows[i].state, d);
        if (!err && f.flipped) {
            err = add_flip(c, ids[i], &f, d);
            (*nflips)++;
        }
    }
    *nevaluated = k;
out:
    cw__sqlite_done(c, st);
    free(rows);
    free(ids);
    return cw__sqlite_write_end(s, c, err, d);
}

static cw_err hb_next_due(cw_store *store, int64_t *due_ms, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c,
                                 "SELECT min(alert_after_ms) FROM hb WHERE "
                                 "alert_after_ms IS NOT NULL AND status <> 2",
                                 &st, d);
    if (!err) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            *due_ms = sqlite3_column_int64(st, 0);
        else
            err = cw__sqlite_fail(c, rc, d, "heartbeat due");
    }
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    return err;
}

/* ---- notifications ---------------------------------------------------------- */

#define DL_COLS                                                                       \
    "id, flip_id, hb_key, url, body, state, attempts, due_ms, created_ms, done_ms, " \
    "last_status, last_error"

static cw_err read_dl(sqlite3_stmt *st, cw_hb_delivery *x, cw_diag *d)
{
    x->id = sqlite3_column_int64(st, 0);
    x->flip_id = sqlite3_column_int64(st, 1);
    copy_str(x->key, sizeof x->key, cw__col_text(st, 2));
    x->url = strdup(cw__col_text(st, 3));
    x->body = strdup(cw__col_text(st, 4));
    x->state = (cw_hb_dl_state)sqlite3_column_int(st, 5);
    x->attempts = sqlite3_column_int(st, 6);
    x->due_ms = sqlite3_column_int64(st, 7);
    x->created_ms = sqlite3_column_int64(st, 8);
    x->done_ms = sqlite3_column_int64(st, 9);
    x->last_status = sqlite3_column_int(st, 10);
    copy_str(x->last_error, sizeof x->last_error, cw__col_text(st, 11));
    if (!x->url || !x->body)
        return cw_fail(d, CW_ERR_NOMEM, "deliveries: out of memory");
    return CW_OK;
}

/* Rows of a prepared statement into a new array of at most limit. */
static cw_err read_dls(cw__sqlite_conn *c, sqlite3_stmt *st, size_t limit,
                       cw_hb_delivery **out, size_t *n, cw_diag *d)
{
    cw_hb_delivery *arr = calloc(limit, sizeof *arr);
    size_t len = 0;
    cw_err err = arr ? CW_OK : cw_fail(d, CW_ERR_NOMEM, "deliveries: out of memory");
    int rc = SQLITE_DONE;
    while (!err && len < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
        err = read_dl(st, &arr[len++], d);
    if (!err && rc != SQLITE_DONE && rc != SQLITE_ROW)
        err = cw__sqlite_fail(c, rc, d, "deliveries");
    if (err) {
        cw_hb_deliveries_free(arr, len);
        return err;
    }
    *out = arr;
    *n = len;
    return CW_OK;
}

static cw_err hb_flips_pending(cw_store *store, size_t limit, cw_hb_flip_rec **out, size_t *n,
                               cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL;
    cw_hb_flip_rec *arr = calloc(limit, sizeof *arr);
    size_t len = 0;
    cw_err err = arr ? CW_OK : cw_fail(d, CW_ERR_NOMEM, "flips: out of memory");
    if (!err)
        err = cw__sqlite_stmt(c,
                              "SELECT f.id, h.key, f.at_ms, f.from_status, f.to_status, "
                              "f.reason FROM hb_flips f JOIN hb h ON h.id = f.hb_id "
                              "WHERE f.processed_ms IS NULL ORDER BY f.id LIMIT ?",
                              &st, d);
    if (!err) {
        cw__bind_int64(st, 1, (int64_t)limit);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW && len < limit) {
            cw_hb_flip_rec *f = &arr[len++];
            f->id = sqlite3_column_int64(st, 0);
            copy_str(f->key, sizeof f->key, cw__col_text(st, 1));
            f->at_ms = sqlite3_column_int64(st, 2);
            f->from = (cw_hb_status)sqlite3_column_int(st, 3);
            f->to = (cw_hb_status)sqlite3_column_int(st, 4);
            copy_str(f->reason, sizeof f->reason, cw__col_text(st, 5));
        }
        if (rc != SQLITE_DONE && rc != SQLITE_ROW)
            err = cw__sqlite_fail(c, rc, d, "pending flips");
    }
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    if (err) {
        free(arr);
        return err;
    }
    *out = arr;
    *n = len;
    return CW_OK;
}

static cw_err hb_notify_take(cw_store *store, int64_t flip_id, const char *key,
                             const cw_hb_delivery_new *dl, size_t n, int64_t now_ms, bool *taken,
                             cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c;
    cw_err err = cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    sqlite3_stmt *st = NULL;
    err = cw__sqlite_stmt(c, "UPDATE hb_flips SET processed_ms = ? WHERE id = ? AND "
                             "processed_ms IS NULL", &st, d);
    if (!err) {
        cw__bind_int64(st, 1, now_ms);
        cw__bind_int64(st, 2, flip_id);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            err = cw__sqlite_fail(c, rc, d, "take flip");
        else
            *taken = sqlite3_changes(c->db) == 1;
    }
    cw__sqlite_done(c, st);
    st = NULL;
    for (size_t i = 0; !err && *taken && i < n; i++) {
        err = cw__sqlite_stmt(c, "INSERT INTO hb_deliveries (flip_id, hb_key, url, body, due_ms, "
                                 "created_ms) VALUES (?, ?, ?, ?, ?, ?)", &st, d);
        if (err)
            break;
        cw__bind_int64(st, 1, flip_id);
        cw__bind_text(st, 2, key);
        cw__bind_text(st, 3, dl[i].url);
        cw__bind_text(st, 4, dl[i].body);
        cw__bind_int64(st, 5, now_ms);
        cw__bind_int64(st, 6, now_ms);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            err = cw__sqlite_fail(c, rc, d, "queue delivery");
        cw__sqlite_done(c, st);
        st = NULL;
    }
    if (err)
        *taken = false;
    return cw__sqlite_write_end(s, c, err, d);
}

/* One writer owns the file, so the claim is a write transaction: no other
 * claim can interleave. */
static cw_err hb_notify_claim(cw_store *store, int64_t now_ms, int64_t lease_ms, size_t max,
                              cw_hb_delivery **out, size_t *n, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c;
    cw_err err = cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    sqlite3_stmt *st = NULL;
    err = cw__sqlite_stmt(c,
                          "UPDATE hb_deliveries SET lease_ms = ?1 + ?2, attempts = attempts + 1 "
                          "WHERE id IN (SELECT id FROM hb_deliveries WHERE state = 0 AND "
                          "due_ms <= ?1 AND lease_ms <= ?1 ORDER BY due_ms, id LIMIT ?3) "
                          "RETURNING " DL_COLS,
                          &st, d);
    if (!err) {
        cw__bind_int64(st, 1, now_ms);
        cw__bind_int64(st, 2, lease_ms);
        cw__bind_int64(st, 3, (int64_t)max);
        err = read_dls(c, st, max, out, n, d);
    }
    cw__sqlite_done(c, st);
    if (err) {
        cw_hb_deliveries_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return cw__sqlite_write_end(s, c, err, d);
}

static cw_err hb_notify_finish(cw_store *store, int64_t id, cw_hb_dl_state state,
                               int64_t next_due_ms, int status, const char *error,
                               int64_t now_ms, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c;
    cw_err err = cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    sqlite3_stmt *st = NULL;
    err = cw__sqlite_stmt(c,
                          "UPDATE hb_deliveries SET state = ?2, due_ms = CASE WHEN ?2 = 0 THEN ?3 "
                          "ELSE due_ms END, lease_ms = 0, last_status = ?4, last_error = ?5, "
                          "done_ms = CASE WHEN ?2 = 0 THEN 0 ELSE ?6 END WHERE id = ?1",
                          &st, d);
    if (!err) {
        cw__bind_int64(st, 1, id);
        cw__bind_int64(st, 2, (int64_t)state);
        cw__bind_int64(st, 3, next_due_ms);
        cw__bind_int64(st, 4, status);
        cw__bind_text(st, 5, error);
        cw__bind_int64(st, 6, now_ms);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            err = cw__sqlite_fail(c, rc, d, "finish delivery");
        else if (sqlite3_changes(c->db) == 0)
            err = cw_fail(d, CW_ERR_NOT_FOUND, "delivery %lld: not found", (long long)id);
    }
    cw__sqlite_done(c, st);
    return cw__sqlite_write_end(s, c, err, d);
}

static cw_err hb_notify_list(cw_store *store, int state, size_t limit, cw_hb_delivery **out,
                             size_t *n, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c,
                                 "SELECT " DL_COLS " FROM hb_deliveries WHERE ?1 < 0 OR "
                                 "state = ?1 ORDER BY id DESC LIMIT ?2",
                                 &st, d);
    if (!err) {
        cw__bind_int64(st, 1, state);
        cw__bind_int64(st, 2, (int64_t)limit);
        err = read_dls(c, st, limit, out, n, d);
    }
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    return err;
}

const struct cw_store_hb_ops cw__sqlite_hb_ops = {
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
    .flips_skip = cw__sqlite_hb_flips_skip,
};
