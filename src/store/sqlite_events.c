/*
 * sqlite_events.c — CDEvents in SQLite: group-committed intake with
 * ON CONFLICT DO NOTHING on (source, event_id), event listing with keyset
 * paging, unmatched link keys, and streaming the delivery insights' inputs
 * out of one covering index (schema: migration "events" in sqlite_schema.c).
 *
 * Linking: events store a link id (event_links: one row per distinct
 * service id / repository id) and the link row stores the matched Component.
 * The links were computed at a catalog generation (cw_meta event_link_gen);
 * when the catalog has changed since (entity_gen differs), every link row
 * is matched again — work proportional to the distinct keys, not to the
 * events — before events are read or written. New keys are matched in the
 * transaction that brings them.
 */
#include "store/sqlite_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/events_impl.h"
#include "store/incidents_impl.h"
#include "store/store_rows.h"
#include "util/strmap.h"

/* ---- statements -------------------------------------------------------------------------- */

static cw_err step_done(cw__sqlite_conn *c, sqlite3_stmt *st, cw_diag *d, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return CW_OK;
    return cw__sqlite_fail(c, rc, d, what);
}

static cw_err run(cw__sqlite_conn *c, const char *sql, cw_diag *d)
{
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c, sql, &st, d);
    if (!err)
        err = step_done(c, st, d, sql);
    cw__sqlite_done(c, st);
    return err;
}

/* An integer from a one-row statement without parameters. */
static cw_err read_int(void *conn, const char *sql, int64_t *out, cw_diag *d)
{
    cw__sqlite_conn *c = conn;
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c, sql, &st, d);
    if (err)
        return err;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        err = cw__sqlite_fail(c, rc, d, "read");
    cw__sqlite_done(c, st);
    return err;
}

/* A column as a plain value (s NULL for SQL NULL). */
static cw__text col(sqlite3_stmt *st, int c)
{
    const char *t = (const char *)sqlite3_column_text(st, c);
    return (cw__text){t, t ? (size_t)sqlite3_column_bytes(st, c) : 0};
}

/* A text column, NULL unless it holds text. */
static const char *text_or_null(sqlite3_stmt *st, int c)
{
    return sqlite3_column_type(st, c) == SQLITE_TEXT ? cw__col_text(st, c) : NULL;
}

/* ---- linking ------------------------------------------------------------------------------- */

static cw_err link_index_load(cw__sqlite_conn *c, cw__link_index *x, cw_diag *d)
{
    memset(x, 0, sizeof *x);
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(
        c,
        "SELECT id, name,"
        " json_extract(body, '$.metadata.annotations.\"conway.dev/service-id\"'),"
        " json_extract(body, '$.metadata.annotations.\"conway.dev/repository\"'),"
        " COALESCE(json_extract(body, '$.metadata.annotations.\"github.com/project-slug\"'),"
        "  json_extract(body, '$.metadata.annotations.\"gitlab.com/project-slug\"'))"
        " FROM entities WHERE kind = 'Component' ORDER BY key",
        &st, d);
    if (err)
        return err;
    int rc;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        err = cw__link_index_add(x, sqlite3_column_int64(st, 0), cw__col_text(st, 1),
                                 text_or_null(st, 2), text_or_null(st, 3), text_or_null(st, 4));
        if (err)
            err = cw_fail(d, err, "events: out of memory indexing the catalog");
    }
    if (!err && rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "catalog index");
    cw__sqlite_done(c, st);
    if (err)
        cw__link_index_free(x);
    return err;
}

static cw_err ev_catalog_gen(cw_store *store, int64_t *out, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    cw_err err = cw__sqlite_entity_gen(c, out, d);
    cw__sqlite_read_release(s, c);
    return err;
}

static cw_err ev_link_owners(cw_store *store, cw_link_owners *out, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    /* the generation first: the rows are at least that new */
    cw_err err = cw__sqlite_entity_gen(c, &out->gen, d);
    if (!err)
        err = cw__sqlite_stmt(
        c,
        "SELECT ref, " CW__LINK_OWNERS_OWNER_SQL ", name,"
        " json_extract(body, '$.metadata.annotations.\"conway.dev/service-id\"'),"
        " json_extract(body, '$.metadata.annotations.\"conway.dev/repository\"'),"
        " COALESCE(json_extract(body, '$.metadata.annotations.\"github.com/project-slug\"'),"
        "  json_extract(body, '$.metadata.annotations.\"gitlab.com/project-slug\"'))"
        " FROM entities e WHERE kind = 'Component' ORDER BY key",
        &st, d);
    int rc = SQLITE_DONE;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (cw__link_owner_add(out, &cap, cw__col_text(st, 0), text_or_null(st, 1),
                               cw__col_text(st, 2), text_or_null(st, 3), text_or_null(st, 4),
                               text_or_null(st, 5)))
            err = cw_fail(d, CW_ERR_NOMEM, "link owners: out of memory");
    }
    if (!err && rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "link owners");
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    return err;
}

typedef struct {
    int64_t link, comp; /* comp -1: none */
} link_update;

/* Matches link rows against the catalog: all of them, or only those not
 * matched yet; then records the catalog generation they reflect. */
static cw_err links_refresh(cw__sqlite_conn *c, bool all, cw_diag *d)
{
    cw__link_index x;
    link_update *ups = NULL;
    size_t nups = 0, cap = 0;
    sqlite3_stmt *st = NULL;
    cw_err err = link_index_load(c, &x, d);
    if (err)
        return err;
    err = cw__sqlite_stmt(c,
                          all ? "SELECT id, kind, value, component_id, resolved FROM event_links"
                              : "SELECT id, kind, value, component_id, resolved FROM event_links"
                                " WHERE resolved = 0",
                          &st, d);
    if (err)
        goto out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        bool oom = false;
        int64_t comp =
            cw__link_index_resolve(&x, sqlite3_column_int(st, 1), cw__col_text(st, 2), &oom);
        if (oom) {
            err = cw_fail(d, CW_ERR_NOMEM, "events: out of memory linking");
            goto out;
        }
        int64_t cur = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 3);
        if (cur == comp && sqlite3_column_int(st, 4))
            continue;
        if (nups == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            link_update *p = realloc(ups, ncap * sizeof *p);
            if (!p) {
                err = cw_fail(d, CW_ERR_NOMEM, "events: out of memory linking");
                goto out;
            }
            ups = p;
            cap = ncap;
        }
        ups[nups++] = (link_update){sqlite3_column_int64(st, 0), comp};
    }
    if (rc != SQLITE_DONE) {
        err = cw__sqlite_fail(c, rc, d, "event links");
        goto out;
    }
    cw__sqlite_done(c, st);
    st = NULL;
    /* applied after the scan: no update while the table is being read */
    err = cw__sqlite_stmt(c,
                          "UPDATE event_links SET component_id = ?, resolved = 1 WHERE id = ?",
                          &st, d);
    for (size_t i = 0; !err && i < nups; i++) {
        if (ups[i].comp < 0)
            sqlite3_bind_null(st, 1);
        else
            cw__bind_int64(st, 1, ups[i].comp);
        cw__bind_int64(st, 2, ups[i].link);
        err = step_done(c, st, d, "event link update");
        sqlite3_reset(st);
    }
    if (!err && all)
        err = run(c,
                  "UPDATE cw_meta SET value = (SELECT value FROM cw_meta WHERE name = 'entity_gen')"
                  " WHERE name = 'event_link_gen'",
                  d);
out:
    cw__sqlite_done(c, st);
    free(ups);
    cw__link_index_free(&x);
    return err;
}

#define LINKS_STALE_SQL                                                            \
    "SELECT (SELECT value FROM cw_meta WHERE name = 'entity_gen') IS NOT "         \
    "(SELECT value FROM cw_meta WHERE name = 'event_link_gen')"

/* Before reading: re-match the links if the catalog changed since. */
static cw_err links_ensure_fresh(cw_sqlite *s, cw_diag *d)
{
    int64_t stale = 0;
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    cw_err err = read_int(c, LINKS_STALE_SQL, &stale, d);
    cw__sqlite_read_release(s, c);
    if (err || !stale || !s->writer)
        return err; /* read-only: show the links as last computed */
    err = cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    err = read_int(c, LINKS_STALE_SQL, &stale, d);
    if (!err && stale)
        err = links_refresh(c, true, d);
    return cw__sqlite_write_end(s, c, err, d);
}

cw_err cw__sqlite_links_fresh(cw_sqlite *s, cw_diag *d) { return links_ensure_fresh(s, d); }

/* ---- put --------------------------------------------------------------------------------------- */

static cw_err lookup_or_insert(cw__sqlite_conn *c, const char *select_sql, const char *insert_sql,
                               int kind, const char *value, int64_t *out, bool *inserted,
                               cw_diag *d)
{
    sqlite3_stmt *st = NULL;
    *inserted = false;
    cw_err err = cw__sqlite_stmt(c, select_sql, &st, d);
    if (err)
        return err;
    int i = 1;
    if (kind)
        cw__bind_int64(st, i++, kind);
    cw__bind_text(st, i, value);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        cw__sqlite_done(c, st);
        return CW_OK;
    }
    cw__sqlite_done(c, st);
    if (rc != SQLITE_DONE)
        return cw__sqlite_fail(c, rc, d, "lookup");
    st = NULL;
    err = cw__sqlite_stmt(c, insert_sql, &st, d);
    if (err)
        return err;
    i = 1;
    if (kind)
        cw__bind_int64(st, i++, kind);
    cw__bind_text(st, i, value);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        *inserted = true;
    } else {
        err = cw__sqlite_fail(c, rc, d, "insert");
    }
    cw__sqlite_done(c, st);
    return err;
}

/* The event_envs row (kind 0) or event_links row of a key (cw__key_row_fn). */
static cw_err key_row(void *ctx, int kind, const char *value, int64_t *out, bool *inserted,
                      cw_diag *d)
{
    if (!kind)
        return lookup_or_insert(ctx, "SELECT id FROM event_envs WHERE name = ?",
                                "INSERT INTO event_envs (name) VALUES (?) RETURNING id", 0,
                                value, out, inserted, d);
    return lookup_or_insert(ctx, "SELECT id FROM event_links WHERE kind = ? AND value = ?",
                            "INSERT INTO event_links (kind, value) VALUES (?, ?) RETURNING id",
                            kind, value, out, inserted, d);
}

#define INSERT_EVENT_SQL                                                                     \
    "INSERT INTO events (source, event_id, type, subject_id, time_ms, received_ms, chain_id," \
    " env_id, artifact_id, link_id, cls, kind, changes, body)"                               \
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"                                     \
    " ON CONFLICT (source, event_id) DO NOTHING"

/* After an insert that stored nothing: whether the stored event of the
 * row's (source, id) has another body. */
static cw_err body_differs(cw__sqlite_conn *c, const cw__event_row *r, bool *differs, cw_diag *d)
{
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c, "SELECT body FROM events WHERE source = ? AND event_id = ?",
                                 &st, d);
    if (err)
        return err;
    cw__bind_text(st, 1, r->source);
    cw__bind_text(st, 2, r->id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *differs = !cw__event_body_same((const char *)sqlite3_column_text(st, 0),
                                        (size_t)sqlite3_column_bytes(st, 0), r->body);
    else
        err = cw__sqlite_fail(c, rc == SQLITE_DONE ? SQLITE_INTERNAL : rc, d,
                              "stored event of a duplicate");
    cw__sqlite_done(c, st);
    return err;
}

static cw_err put_row(cw__sqlite_conn *c, cw__event_ids *pc, sqlite3_stmt *ins,
                      const cw__event_row *r, int64_t now_ms, bool *stored, cw_diag *d)
{
    int64_t env = 0, link = 0;
    cw_err err = CW_OK;
    if (r->environment && (err = cw__event_env_id(pc, r->environment, key_row, c, &env, d)))
        return err;
    if (r->link_value && r->link_kind &&
        (err = cw__event_link_id(pc, r->link_kind, r->link_value, key_row, c, &link, d)))
        return err;
    cw__bind_text(ins, 1, r->source);
    cw__bind_text(ins, 2, r->id);
    cw__bind_text(ins, 3, r->type);
    cw__bind_text(ins, 4, r->subject_id);
    cw__bind_int64(ins, 5, r->time_ms);
    cw__bind_int64(ins, 6, now_ms);
    cw__bind_text(ins, 7, r->chain_id);
    if (r->environment)
        cw__bind_int64(ins, 8, env);
    else
        sqlite3_bind_null(ins, 8);
    cw__bind_text(ins, 9, r->artifact_id);
    if (r->link_value && r->link_kind)
        cw__bind_int64(ins, 10, link);
    else
        sqlite3_bind_null(ins, 10);
    cw__bind_int64(ins, 11, r->cls);
    cw__bind_int64(ins, 12, r->kind);
    cw__bind_text(ins, 13, r->changes);
    cw__bind_text(ins, 14, r->body);
    int rc = sqlite3_step(ins);
    if (rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "event insert");
    else
        *stored = sqlite3_changes(c->db) > 0;
    sqlite3_reset(ins);
    return err;
}

static cw_err put_batch(cw__sqlite_conn *c, cw__event_ids *pc, cw__event_batch *b, int64_t now_ms)
{
    memset(&b->res, 0, sizeof b->res);
    b->err = CW_OK;
    sqlite3_stmt *ins = NULL;
    cw_err err = run(c, "SAVEPOINT events_batch", &b->diag);
    if (err)
        return err;
    err = cw__sqlite_stmt(c, INSERT_EVENT_SQL, &ins, &b->diag);
    for (size_t i = 0; !err && i < b->n; i++) {
        bool stored = false, differs = false;
        err = put_row(c, pc, ins, &b->rows[i], now_ms, &stored, &b->diag);
        /* a new incident event updates its incident in this transaction */
        if (!err && stored && b->rows[i].cls == CW__EVC_INCIDENT)
            err = cw__sqlite_incident_event(c, b->rows[i].body, now_ms, &b->diag);
        if (!err && !stored)
            err = body_differs(c, &b->rows[i], &differs, &b->diag);
        if (err)
            cw_diag_prefix(&b->diag, "events[%zu]", i);
        else if (stored)
            b->res.accepted++;
        else if (differs)
            b->res.conflicts++;
        else
            b->res.duplicates++;
    }
    cw__sqlite_done(c, ins);
    if (err) {
        /* this request alone is undone; the transaction goes on */
        memset(&b->res, 0, sizeof b->res);
        b->err = err;
        cw_diag ignored;
        if (run(c, "ROLLBACK TO events_batch", &ignored) ||
            run(c, "RELEASE events_batch", &ignored))
            return err; /* cannot recover the transaction */
        /* ids cached from the undone part may no longer exist */
        cw__event_ids_clear(pc);
        return CW_OK;
    }
    return run(c, "RELEASE events_batch", &b->diag);
}

static cw_err ev_put(cw_store *store, cw__event_batch *const *batches, size_t n, int64_t now_ms,
                     cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c;
    cw_err err = cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    cw__event_ids pc;
    memset(&pc, 0, sizeof pc);
    for (size_t i = 0; !err && i < n; i++) {
        err = put_batch(c, &pc, batches[i], now_ms);
        if (err)
            *d = batches[i]->diag;
    }
    if (!err)
        err = cw__sqlite_events_audit(c, batches, n, d);
    int64_t stale = 0;
    if (!err)
        err = read_int(c, LINKS_STALE_SQL, &stale, d);
    if (!err && (stale || pc.new_links))
        err = links_refresh(c, stale != 0, d);
    cw__event_ids_clear(&pc);
    return cw__sqlite_write_end(s, c, err, d);
}

/* ---- scopes ------------------------------------------------------------------------------------------ */

/* CW_ERR_NOT_FOUND unless the scope's entity exists. */
static cw_err scope_check(cw__sqlite_conn *c, const cw_scope *sc, cw_diag *d)
{
    if (!cw_scope_is_entity(sc))
        return CW_OK;
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c, "SELECT 1 FROM entities WHERE key = ?", &st, d);
    if (err)
        return err;
    cw__bind_text(st, 1, sc->key);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "scope: %s does not exist", sc->key);
    else if (rc != SQLITE_ROW)
        err = cw__sqlite_fail(c, rc, d, "scope");
    cw__sqlite_done(c, st);
    return err;
}

/* ---- listing ------------------------------------------------------------------------------------------ */

static const cw__sql_dialect sqlite_dialect = {
    .placeholder = '?',
    .true_lit = "1",
    .prefix_fmt = "substr(e.type, 1, length(%s)) = %s",
    .resolved = "resolved = 1",
    .older_fmt = "(e.time_ms, e.id) < (%s, %s)",
};

static cw_err ev_query(cw_store *store, const cw_event_query *q, cw_event_list *out, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw_err err = links_ensure_fresh(s, d);
    if (err)
        return err;
    cw_buf sql;
    cw_buf_init(&sql, 0);
    cw__sql_param p[CW__EVENT_QUERY_PARAMS];
    int np = 0;
    if ((err = cw__event_list_sql(q, &sqlite_dialect, &sql, p, &np, d))) {
        cw_buf_free(&sql);
        return err;
    }

    size_t cap = q->limit < 1024 ? q->limit : 1024, len = 0;
    cw_stored_event *items = NULL;
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL;
    err = cw__sqlite_read_begin(c, d);
    if (!err && !q->unmatched)
        err = scope_check(c, q->scope, d);
    if (!err)
        err = cw__sqlite_stmt(c, cw_buf_cstr(&sql), &st, d);
    if (err)
        goto out;
    for (int i = 0; i < np; i++) {
        if (p[i].text)
            cw__bind_text(st, i + 1, p[i].text);
        else
            cw__bind_int64(st, i + 1, p[i].i);
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap || !items) {
            size_t ncap = len == cap ? cap * 2 : cap;
            cw_stored_event *grown = realloc(items, (ncap ? ncap : 16) * sizeof *grown);
            if (!grown) {
                err = cw_fail(d, CW_ERR_NOMEM, "events: out of memory");
                goto out;
            }
            items = grown;
            cap = ncap ? ncap : 16;
        }
        cw__event_cols r = {
            .seq = sqlite3_column_int64(st, 0),
            .time_ms = sqlite3_column_int64(st, 1),
            .received_ms = sqlite3_column_int64(st, 2),
            .source = col(st, 3),
            .id = col(st, 4),
            .type = col(st, 5),
            .subject_id = col(st, 6),
            .chain_id = col(st, 7),
            .environment = col(st, 8),
            .artifact_id = col(st, 9),
            .link_kind = sqlite3_column_int(st, 10),
            .link_value = col(st, 11),
            .component_ref = col(st, 12),
            .body = col(st, 13),
        };
        if ((err = cw__stored_event_fill(&items[len++], &r, d)))
            goto out;
    }
    if (rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "event list");
out:
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    cw_buf_free(&sql);
    out->items = items;
    out->len = len;
    if (err)
        cw_event_list_free(out);
    return err;
}

static cw_err ev_unmatched_keys(cw_store *store, size_t max, cw_unmatched_key **out, size_t *n,
                                cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw_err err = links_ensure_fresh(s, d);
    if (err)
        return err;
    cw_unmatched_key *keys = NULL;
    size_t len = 0, cap = 0;
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL;
    err = cw__sqlite_stmt(c,
                          "SELECT l.kind, l.value, count(*), max(e.time_ms)"
                          " FROM event_links l JOIN events e ON e.link_id = l.id"
                          " WHERE l.component_id IS NULL AND l.resolved = 1"
                          " GROUP BY l.id ORDER BY count(*) DESC, l.value LIMIT ?",
                          &st, d);
    if (err)
        goto out;
    cw__bind_int64(st, 1, cw__clamp64(max));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            cw_unmatched_key *p = realloc(keys, ncap * sizeof *p);
            if (!p) {
                err = cw_fail(d, CW_ERR_NOMEM, "events: out of memory");
                goto out;
            }
            keys = p;
            cap = ncap;
        }
        err = cw__unmatched_key_fill(&keys[len++], sqlite3_column_int(st, 0), col(st, 1),
                                     sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3),
                                     d);
        if (err)
            goto out;
    }
    if (rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "unmatched keys");
out:
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    return cw__unmatched_keys_done(err, keys, len, out, n);
}

/* ---- delivery inputs ------------------------------------------------------------------------------------ */

/* A link or environment id column; 0 for NULL. */
static int64_t id_col(sqlite3_stmt *st, int c)
{
    return sqlite3_column_type(st, c) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, c);
}

/* One delivery scan: the query, the sink and its ctx. */
typedef struct {
    const cw_delivery_query *q;
    const cw_delivery_sink *sink;
    void *ctx;
} scan;

static cw_err scan_components(cw__sqlite_conn *c, const scan *x, cw_diag *d)
{
    const cw_scope *sc = x->q->scope;
    char sql[1024];
    cw__delivery_components_sql(sc, "?1", sql, sizeof sql);
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c, sql, &st, d);
    if (err)
        return err;
    if (cw_scope_is_entity(sc))
        cw__bind_text(st, 1, sc->key);
    int rc;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW)
        err = x->sink->component(x->ctx, sqlite3_column_int64(st, 0), cw__col_text(st, 1),
                                 (const char *)sqlite3_column_text(st, 2), d);
    if (!err && rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "components");
    cw__sqlite_done(c, st);
    return err;
}

/* Bounds, links and environments; scope_links gets the JSON array of the
 * link ids the sink wants. */
static cw_err scan_maps(cw__sqlite_conn *c, const scan *x, cw_buf *scope_links, cw_diag *d)
{
    int64_t max_link = 0, max_env = 0;
    cw_err err = read_int(c, CW__DELIVERY_MAX_LINK_SQL, &max_link, d);
    if (!err)
        err = read_int(c, CW__DELIVERY_MAX_ENV_SQL, &max_env, d);
    if (!err)
        err = x->sink->bounds(x->ctx, max_link, max_env, d);
    if (err)
        return err;
    sqlite3_stmt *st = NULL;
    err = cw__sqlite_stmt(c, CW__DELIVERY_LINKS_SQL, &st, d);
    if (err)
        return err;
    cw_buf_puts(scope_links, "[");
    bool first = true;
    int rc;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t link = sqlite3_column_int64(st, 0);
        bool wanted = false;
        err = x->sink->link(x->ctx, link, sqlite3_column_int64(st, 1), sqlite3_column_int(st, 2),
                            &wanted, d);
        if (!err && wanted) {
            cw_buf_printf(scope_links, "%s%lld", first ? "" : ",", (long long)link);
            first = false;
        }
    }
    cw__sqlite_done(c, st);
    if (err)
        return err;
    if (rc != SQLITE_DONE)
        return cw__sqlite_fail(c, rc, d, "event links");
    if (cw_buf_puts(scope_links, "]"))
        return cw_fail(d, CW_ERR_NOMEM, "delivery: out of memory");
    st = NULL;
    err = cw__sqlite_stmt(c, "SELECT id, name FROM event_envs", &st, d);
    if (err)
        return err;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW)
        err = x->sink->environment(x->ctx, sqlite3_column_int64(st, 0), cw__col_text(st, 1), d);
    cw__sqlite_done(c, st);
    if (!err && rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "environments");
    return err;
}

/* Prepares the query of one event class, filtered by the scope's links
 * unless org-wide (then the sink skips rows outside the catalog). */
static cw_err class_stmt(cw__sqlite_conn *c, const char *cols, int cls, const char *order,
                         const cw_buf *scope_links, sqlite3_stmt **st, cw_diag *d)
{
    char sql[512];
    /* "cls > 0" repeats the partial index's condition so the planner uses it */
    snprintf(sql, sizeof sql, "SELECT %s FROM events WHERE cls > 0 AND cls = %d%s%s", cols, cls,
             scope_links ? " AND link_id IN (SELECT value FROM json_each(?1))" : "", order);
    cw_err err = cw__sqlite_stmt(c, sql, st, d);
    if (!err && scope_links)
        cw__bind_text(*st, 1, cw_buf_cstr(scope_links));
    return err;
}

static cw_delivery_text text_col(sqlite3_stmt *st, int i)
{
    cw__text t = col(st, i);
    return (cw_delivery_text){t.s, t.n};
}

static cw_err scan_service_events(cw__sqlite_conn *c, const scan *x, const cw_buf *scope_links,
                                  cw_diag *d)
{
    sqlite3_stmt *st = NULL;
    cw_err err = class_stmt(c, "link_id, kind, time_ms, env_id, artifact_id, chain_id, changes",
                            CW__EVC_SERVICE, "", scope_links, &st, d);
    if (err)
        return err;
    int rc;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        cw_delivery_service_row r = {
            .link = id_col(st, 0),
            .kind = sqlite3_column_int(st, 1),
            .time_ms = sqlite3_column_int64(st, 2),
            .env = id_col(st, 3),
            .artifact = text_col(st, 4),
            .chain = text_col(st, 5),
            .changes = (const char *)sqlite3_column_text(st, 6),
        };
        err = x->sink->service(x->ctx, &r, d);
    }
    if (!err && rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "deployments");
    cw__sqlite_done(c, st);
    return err;
}

/* Change rows (cls CW__EVC_CHANGE, no artifact column) or incident rows. */
static cw_err scan_subjects(cw__sqlite_conn *c, const scan *x, int cls,
                            const cw_buf *scope_links, cw_diag *d)
{
    bool changes = cls == CW__EVC_CHANGE;
    sqlite3_stmt *st = NULL;
    cw_err err = class_stmt(c,
                            changes ? "link_id, subject_id, kind, time_ms"
                                    : "link_id, subject_id, kind, time_ms, artifact_id",
                            cls, changes ? " ORDER BY link_id, subject_id" : "", scope_links,
                            &st, d);
    if (err)
        return err;
    int rc;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        cw_delivery_subject_row r = {
            .link = id_col(st, 0),
            .subject = text_col(st, 1),
            .kind = sqlite3_column_int(st, 2),
            .time_ms = sqlite3_column_int64(st, 3),
            .artifact = changes ? (cw_delivery_text){NULL, 0} : text_col(st, 4),
        };
        err = changes ? x->sink->change(x->ctx, &r, d) : x->sink->incident(x->ctx, &r, d);
    }
    if (!err && rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, changes ? "changes" : "incidents");
    cw__sqlite_done(c, st);
    return err;
}

static cw_err ev_delivery(cw_store *store, const cw_delivery_query *q,
                          const cw_delivery_sink *sink, void *ctx, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw_err err = links_ensure_fresh(s, d);
    if (err)
        return err;
    scan x = {q, sink, ctx};
    cw_buf links;
    cw_buf_init(&links, 0);
    const cw_buf *scope_links = cw_scope_is_entity(q->scope) ? &links : NULL;
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    err = cw__sqlite_read_begin(c, d);
    if (!err)
        err = scope_check(c, q->scope, d);
    if (!err)
        err = sink->begin(ctx, d);
    if (!err)
        err = scan_components(c, &x, d);
    if (!err)
        err = scan_maps(c, &x, &links, d);
    if (!err && (q->what & (CW_DELIVERY_DEPLOYMENTS | CW_DELIVERY_ROLLBACKS)))
        err = scan_service_events(c, &x, scope_links, d);
    if (!err && (q->what & CW_DELIVERY_CHANGES))
        err = scan_subjects(c, &x, CW__EVC_CHANGE, scope_links, d);
    /* every incident event: one incident's events need not all name its
     * service, so the sink applies the scope per incident */
    if (!err && (q->what & CW_DELIVERY_INCIDENTS))
        err = scan_subjects(c, &x, CW__EVC_INCIDENT, NULL, d);
    cw__sqlite_read_release(s, c);
    cw_buf_free(&links);
    return err;
}

const struct cw_store_event_ops cw__sqlite_event_ops = {
    .put = ev_put,
    .query = ev_query,
    .unmatched_keys = ev_unmatched_keys,
    .delivery = ev_delivery,
    .link_owners = ev_link_owners,
    .catalog_gen = ev_catalog_gen,
};
