/*
 * sqlite_incidents.c — incidents in SQLite (store_incidents.h): the hook
 * the events intake calls for each incident CDEvent it newly stores (in
 * the events' transaction), the one-time derivation of incidents from
 * events stored before the table existed, and the reads and writes of
 * incidents, their alerts and timeline. The SQL is shared with PostgreSQL
 * (store_incidents.c); schema: migration "incidents" in sqlite_schema.c.
 */
#include "store/sqlite_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "store/incidents_impl.h"
#include "util/timeutil.h"

/* ---- statements ---------------------------------------------------------------------- */

static void bind_all(sqlite3_stmt *st, const cw__sql_param *p, int n)
{
    for (int i = 0; i < n; i++) {
        if (cw__param_is_null(&p[i]))
            sqlite3_bind_null(st, i + 1);
        else if (p[i].text)
            cw__bind_text(st, i + 1, p[i].text);
        else
            cw__bind_int64(st, i + 1, p[i].i);
    }
}

/* Runs a statement without rows (or reads the first column of its one
 * row into *id when id is not NULL; *id is 0 without a row). */
static cw_err run(cw__sqlite_conn *c, const char *sql, const cw__sql_param *p, int n, int64_t *id,
                  cw_diag *d)
{
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c, sql, &st, d);
    if (err)
        return err;
    bind_all(st, p, n);
    int rc = sqlite3_step(st);
    if (id)
        *id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "incidents");
    cw__sqlite_done(c, st);
    return err;
}

static cw__text col(sqlite3_stmt *st, int c)
{
    const char *t = (const char *)sqlite3_column_text(st, c);
    return (cw__text){t, t ? (size_t)sqlite3_column_bytes(st, c) : 0};
}

static int64_t int_col(sqlite3_stmt *st, int c)
{
    return sqlite3_column_type(st, c) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, c);
}

static cw_err incident_row(sqlite3_stmt *st, cw_incident *out, cw_diag *d)
{
    cw__incident_cols r = {
        .id = sqlite3_column_int64(st, 0),
        .source = col(st, 1),
        .subject_id = col(st, 2),
        .group_key = col(st, 3),
        .title = col(st, 4),
        .severity = col(st, 5),
        .severity_raw = col(st, 6),
        .state = col(st, 7),
        .start_ms = int_col(st, 8),
        .detected_ms = int_col(st, 9),
        .resolved_ms = int_col(st, 10),
        .updated_ms = int_col(st, 11),
        .service_id = col(st, 12),
        .artifact_id = col(st, 13),
        .environment = col(st, 14),
        .component_ref = col(st, 15),
        .owner_ref = col(st, 16),
    };
    return cw__incident_fill(out, &r, d);
}

/* ---- intake ---------------------------------------------------------------------------- */

cw_err cw__sqlite_incident_event(struct cw__sqlite_conn *c, const char *body, int64_t now_ms,
                                 cw_diag *d)
{
    cw__incident_values v;
    cw_diag ignored;
    if (cw__incident_values_from_body(body, now_ms, &v, &ignored))
        return CW_OK; /* not an incident event after all: nothing to derive */
    int64_t id = 0;
    cw_err err = run(c, cw__incident_upsert_sql, v.ups, 13, &id, d);
    if (!err) {
        v.tl[0] = (cw__sql_param){NULL, id};
        err = run(c, cw__incident_timeline_sql, v.tl, 8, NULL, d);
    }
    cw__incident_values_free(&v);
    return err;
}

/* Incidents of the events stored before the incidents table, once: the
 * flag is read first on a reader; the writer re-reads it. */
static cw_err backfill(cw_sqlite *s, cw_diag *d)
{
    int64_t todo = 0;
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    cw_err err = run(c, cw__incident_backfill_flag_sql, NULL, 0, &todo, d);
    cw__sqlite_read_release(s, c);
    if (err || todo != 0 || !s->writer)
        return err; /* done (1), or read-only: show what there is */
    if ((err = cw__sqlite_write_begin(s, &c, d)))
        return err;
    err = run(c, cw__incident_backfill_flag_sql, NULL, 0, &todo, d);
    if (!err && todo == 0) {
        sqlite3_stmt *st = NULL;
        int64_t now = cw_now_ms();
        /* bodies are copied first: no writes while the scan's statement is open */
        char **bodies = NULL;
        size_t n = 0, cap = 0;
        err = cw__sqlite_stmt(c, cw__incident_backfill_sql, &st, d);
        int rc = SQLITE_DONE;
        while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            if ((err = cw__grow((void **)&bodies, &cap, n, sizeof *bodies, d)))
                break;
            bool oom = false;
            bodies[n] = cw__text_dup(col(st, 0), &oom);
            if (oom || !bodies[n]) {
                err = cw_fail(d, CW_ERR_NOMEM, "incidents: out of memory");
                break;
            }
            n++;
        }
        if (!err && rc != SQLITE_DONE)
            err = cw__sqlite_fail(c, rc, d, "incident events");
        cw__sqlite_done(c, st);
        for (size_t i = 0; !err && i < n; i++)
            err = cw__sqlite_incident_event(c, bodies[i], now, d);
        for (size_t i = 0; i < n; i++)
            free(bodies[i]);
        free(bodies);
        if (!err)
            err = run(c, cw__incident_backfill_done_sql, NULL, 0, NULL, d);
    }
    return cw__sqlite_write_end(s, c, err, d);
}

/* Before every incidents call: derived from old events, links fresh. */
static cw_err ready(cw_sqlite *s, cw_diag *d)
{
    cw_err err = backfill(s, d);
    return err ? err : cw__sqlite_links_fresh(s, d);
}

/* ---- reads ------------------------------------------------------------------------------ */

static cw_err scope_exists(cw__sqlite_conn *c, const cw_scope *sc, cw_diag *d)
{
    if (!sc || sc->kind == CW_SCOPE_ORG)
        return CW_OK;
    cw__sql_param p = {sc->key, 0};
    int64_t one = 0;
    cw_err err = run(c, "SELECT 1 FROM entities WHERE key = ?1", &p, 1, &one, d);
    if (!err && !one)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "scope: %s does not exist", sc->key);
    return err;
}

static cw_err inc_query(cw_store *store, const cw_incident_query *q, cw_incident_list *out,
                        cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw_err err = ready(s, d);
    if (err)
        return err;
    cw_buf sql;
    cw_buf_init(&sql, 0);
    cw__sql_param p[CW__INCIDENT_QUERY_PARAMS];
    int np = 0;
    size_t cap = 0;
    sqlite3_stmt *st = NULL;
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    if ((err = cw__incident_list_sql(q, &sql, p, &np, d)) || (err = cw__sqlite_read_begin(c, d)) ||
        (err = scope_exists(c, q->scope, d)) ||
        (err = cw__sqlite_stmt(c, cw_buf_cstr(&sql), &st, d)))
        goto out;
    bind_all(st, p, np);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((err = cw__grow((void **)&out->items, &cap, out->len, sizeof *out->items, d)) ||
            (err = incident_row(st, &out->items[out->len++], d)))
            goto out;
    }
    if (rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "incident list");
out:
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    cw_buf_free(&sql);
    if (err)
        cw_incident_list_free(out);
    return err;
}

static cw_err get_on(cw__sqlite_conn *c, const cw__incident_lookup *k, cw_incident *out,
                     cw_diag *d)
{
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c, cw__incident_get_sql(k->by), &st, d);
    if (err)
        return err;
    if (k->by == CW__INC_BY_ID) {
        cw__bind_int64(st, 1, k->id);
    } else {
        cw__bind_text(st, 1, k->a);
        cw__bind_text(st, 2, k->b);
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        err = incident_row(st, out, d);
    else if (rc == SQLITE_DONE)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "incident: no such incident");
    else
        err = cw__sqlite_fail(c, rc, d, "incident");
    cw__sqlite_done(c, st);
    if (err)
        cw_incident_free(out);
    return err;
}

static cw_err inc_get(cw_store *store, const cw__incident_lookup *k, cw_incident *out, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw_err err = ready(s, d);
    if (err)
        return err;
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    err = get_on(c, k, out, d);
    cw__sqlite_read_release(s, c);
    return err;
}

static cw_err exists(cw__sqlite_conn *c, int64_t id, cw_diag *d)
{
    cw__sql_param p = {NULL, id};
    int64_t state_rows = 0;
    cw_err err = run(c, "SELECT count(*) FROM incidents WHERE id = ?1", &p, 1, &state_rows, d);
    if (!err && !state_rows)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "incident: no such incident");
    return err;
}

static cw_err inc_timeline(cw_store *store, int64_t id, size_t max, cw_incident_entry **out,
                           size_t *n, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw_err err = ready(s, d);
    if (err)
        return err;
    size_t cap = 0, len = 0;
    cw_incident_entry *items = NULL;
    sqlite3_stmt *st = NULL;
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    if ((err = cw__sqlite_read_begin(c, d)) || (err = exists(c, id, d)) ||
        (err = cw__sqlite_stmt(c, cw__incident_timeline_list_sql, &st, d)))
        goto out;
    cw__bind_int64(st, 1, id);
    cw__bind_int64(st, 2, max > INT64_MAX ? INT64_MAX : (int64_t)max);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cw__entry_cols r = {
            .id = sqlite3_column_int64(st, 0),
            .at_ms = sqlite3_column_int64(st, 1),
            .kind = col(st, 2),
            .actor = col(st, 3),
            .from_state = col(st, 4),
            .to_state = col(st, 5),
            .text = col(st, 6),
            .ref = col(st, 7),
        };
        if ((err = cw__grow((void **)&items, &cap, len, sizeof *items, d)) ||
            (err = cw__entry_fill(&items[len++], &r, d)))
            goto out;
    }
    if (rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "incident timeline");
out:
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    if (err) {
        cw_incident_entries_free(items, len);
        return err;
    }
    /* read newest first (to keep the newest when cut): oldest first now */
    for (size_t i = 0; i < len / 2; i++) {
        cw_incident_entry t = items[i];
        items[i] = items[len - 1 - i];
        items[len - 1 - i] = t;
    }
    *out = items;
    *n = len;
    return CW_OK;
}

static cw_err inc_alerts(cw_store *store, int64_t id, cw_incident_alert **out, size_t *n,
                         cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw_err err = ready(s, d);
    if (err)
        return err;
    size_t cap = 0, len = 0;
    cw_incident_alert *items = NULL;
    sqlite3_stmt *st = NULL;
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    if ((err = cw__sqlite_read_begin(c, d)) || (err = exists(c, id, d)) ||
        (err = cw__sqlite_stmt(c, cw__incident_alerts_list_sql, &st, d)))
        goto out;
    cw__bind_int64(st, 1, id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cw__alert_cols r = {
            .fingerprint = col(st, 0),
            .status = col(st, 1),
            .starts_ms = int_col(st, 2),
            .ends_ms = int_col(st, 3),
            .labels = col(st, 4),
            .annotations = col(st, 5),
            .generator_url = col(st, 6),
            .updated_ms = int_col(st, 7),
        };
        if ((err = cw__grow((void **)&items, &cap, len, sizeof *items, d)) ||
            (err = cw__alert_fill(&items[len++], &r, d)))
            goto out;
    }
    if (rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "incident alerts");
out:
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    if (err) {
        cw_incident_alerts_free(items, len);
        return err;
    }
    *out = items;
    *n = len;
    return CW_OK;
}

/* ---- writes ----------------------------------------------------------------------------- */

static cw_err inc_alerts_put(cw_store *store, const char *source, const char *subject_id,
                             const cw_incident_alert_in *alerts, size_t n, int64_t now_ms,
                             cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw_err err = ready(s, d);
    if (err)
        return err;
    cw__sqlite_conn *c;
    if ((err = cw__sqlite_write_begin(s, &c, d)))
        return err;
    cw__sql_param key[2] = {{source, 0}, {subject_id, 0}};
    int64_t id = 0;
    err = run(c, cw__incident_id_by_key_sql, key, 2, &id, d);
    if (!err && !id)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "incident: no incident %s %s", source, subject_id);
    for (size_t i = 0; !err && i < n; i++) {
        cw__alert_values v;
        cw__alert_values_make(id, &alerts[i], now_ms, &v);
        err = run(c, cw__incident_alert_upsert_sql, v.up, 9, NULL, d);
        if (!err)
            err = run(c, cw__incident_timeline_sql, v.tl, 8, NULL, d);
    }
    if (!err) {
        cw__sql_param t[2] = {{NULL, now_ms}, {NULL, id}};
        err = run(c, cw__incident_touch_sql, t, 2, NULL, d);
    }
    return cw__sqlite_write_end(s, c, err, d);
}

static cw_err inc_change(cw_store *store, const cw_incident_change *ch, cw_incident *after,
                         cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw_err err = ready(s, d);
    if (err)
        return err;
    cw__sqlite_conn *c;
    if ((err = cw__sqlite_write_begin(s, &c, d)))
        return err;
    sqlite3_stmt *st = NULL;
    cw_incident_state from = CW_INC_TRIGGERED;
    err = cw__sqlite_stmt(c, cw__incident_state_sql, &st, d);
    if (!err) {
        cw__bind_int64(st, 1, ch->id);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            err = cw_fail(d, CW_ERR_NOT_FOUND, "incident: no such incident");
        else if (rc != SQLITE_ROW)
            err = cw__sqlite_fail(c, rc, d, "incident state");
        else if (!cw_incident_state_parse((const char *)sqlite3_column_text(st, 0), &from))
            err = cw_fail(d, CW_ERR_IO, "incident: stored state is not one conway knows");
        cw__sqlite_done(c, st);
    }
    if (!err && ch->has_to)
        err = cw_incident_transition_check(from, ch->to, d);
    if (!err && ch->has_to) {
        cw__sql_param u[3] = {{cw_incident_state_name(ch->to), 0}, {NULL, ch->now_ms},
                              {NULL, ch->id}};
        err = run(c, cw__incident_update_sql, u, 3, NULL, d);
    } else if (!err) {
        cw__sql_param t[2] = {{NULL, ch->now_ms}, {NULL, ch->id}};
        err = run(c, cw__incident_touch_sql, t, 2, NULL, d);
    }
    if (!err) {
        cw__change_values v;
        cw__change_values_make(ch->id, ch, from, &v);
        err = run(c, cw__incident_timeline_sql, v.tl, 8, NULL, d);
    }
    if (!err && after) {
        cw__incident_lookup k = {.by = CW__INC_BY_ID, .id = ch->id};
        err = get_on(c, &k, after, d);
    }
    err = cw__sqlite_write_end(s, c, err, d);
    if (err && after)
        cw_incident_free(after);
    return err;
}

const struct cw_store_incident_ops cw__sqlite_incident_ops = {
    .query = inc_query,
    .get = inc_get,
    .timeline = inc_timeline,
    .alerts = inc_alerts,
    .alerts_put = inc_alerts_put,
    .change = inc_change,
};
