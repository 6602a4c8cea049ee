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

#include "store/event_codec.h"
#include "store/events_impl.h"
#include "store/incidents_impl.h"
#include "store/sql.h"
#include "store/store_rows.h"
#include "util/strmap.h"
#include "util/timeutil.h"

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

/* The event_envs, event_sources, event_types or event_links row of a key
 * (cw__key_row_fn). */
static cw_err key_row(void *ctx, int kind, const char *value, int64_t *out, bool *inserted,
                      cw_diag *d)
{
    if (kind == CW__KEY_ENV)
        return lookup_or_insert(ctx, "SELECT id FROM event_envs WHERE name = ?",
                                "INSERT INTO event_envs (name) VALUES (?) RETURNING id", 0,
                                value, out, inserted, d);
    if (kind == CW__KEY_SOURCE)
        return lookup_or_insert(ctx, "SELECT id FROM event_sources WHERE name = ?",
                                "INSERT INTO event_sources (name) VALUES (?) RETURNING id", 0,
                                value, out, inserted, d);
    if (kind == CW__KEY_TYPE)
        return lookup_or_insert(ctx, "SELECT id FROM event_types WHERE name = ?",
                                "INSERT INTO event_types (name) VALUES (?) RETURNING id", 0,
                                value, out, inserted, d);
    return lookup_or_insert(ctx, "SELECT id FROM event_links WHERE kind = ? AND value = ?",
                            "INSERT INTO event_links (kind, value) VALUES (?, ?) RETURNING id",
                            kind, value, out, inserted, d);
}

/* ---- delivery rows (migration "delivery rows") ------------------------------------------- */

/* Steps st (bound by the caller) to completion and resets it. */
static cw_err step_reset(cw__sqlite_conn *c, sqlite3_stmt *st, cw_diag *d, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? CW_OK : cw__sqlite_fail(c, rc, d, what);
}

static void bind_id(sqlite3_stmt *st, int i, int64_t id)
{
    if (id)
        cw__bind_int64(st, i, id);
    else
        sqlite3_bind_null(st, i);
}

/*
 * The delivery row of a stored event (seq: its events.id; env and link 0
 * when none), and what it changes in the others: a deployment's listed
 * ids claim their changes, an incident naming an artifact marks the
 * deployments of that artifact.
 */
static cw_err put_delivery(cw__sqlite_conn *c, const cw__event_row *r, int64_t seq, int64_t env,
                           int64_t link, cw_diag *d)
{
    sqlite3_stmt *st = NULL;
    cw_err err = CW_OK;
    switch (r->cls) {
    case CW__EVC_SERVICE:
        err = cw__sqlite_stmt(
            c,
            "INSERT INTO delivery_service (time_ms, seq, link_id, env_id, kind, artifact_id,"
            " artifact_h, chain_id, changes, incident_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?9,"
            " ?7, ?8, (SELECT min(time_ms) FROM delivery_incidents WHERE artifact_id = ?6))",
            &st, d);
        if (err)
            return err;
        cw__bind_int64(st, 1, r->time_ms);
        cw__bind_int64(st, 2, seq);
        bind_id(st, 3, link);
        cw__bind_int64(st, 4, env); /* 0: none (part of the key) */
        cw__bind_int64(st, 5, r->kind);
        cw__bind_text(st, 6, r->artifact_id);
        cw__bind_text(st, 7, r->chain_id);
        cw__bind_text(st, 8, r->changes);
        if (r->artifact_id)
            cw__bind_int64(st, 9, cw__hash64(r->artifact_id, strlen(r->artifact_id)));
        else
            sqlite3_bind_null(st, 9);
        err = step_reset(c, st, d, "delivery row");
        cw__sqlite_done(c, st);
        st = NULL;
        if (!err && r->artifact_id)
            err = cw__sqlite_stmt(c, "UPDATE delivery_incidents SET artifact_first_ms = ?2"
                                     " WHERE artifact_id = ?1"
                                     " AND (artifact_first_ms IS NULL OR artifact_first_ms > ?2)",
                                  &st, d);
        if (!err && st) {
            cw__bind_text(st, 1, r->artifact_id);
            cw__bind_int64(st, 2, r->time_ms);
            err = step_reset(c, st, d, "delivery row");
            cw__sqlite_done(c, st);
            st = NULL;
        }
        const char *id = r->change_ids;
        for (size_t i = 0; !err && i < r->nchange_ids; i++, id += strlen(id) + 1) {
            err = cw__sqlite_stmt(c, "INSERT OR IGNORE INTO delivery_claims (change_id, env_id,"
                                     " time_ms, seq) VALUES (?1, ?2, ?3, ?4)", &st, d);
            if (!err) {
                cw__bind_text(st, 1, id);
                cw__bind_int64(st, 2, env);
                cw__bind_int64(st, 3, r->time_ms);
                cw__bind_int64(st, 4, seq);
                err = step_reset(c, st, d, "delivery claim");
                cw__sqlite_done(c, st);
                st = NULL;
            }
            if (!err)
                err = cw__sqlite_stmt(c, "UPDATE delivery_changes SET claim_ms = ?2"
                                         " WHERE subject_id = ?1 AND (claim_ms IS NULL OR claim_ms > ?2)",
                                      &st, d);
            if (!err) {
                cw__bind_text(st, 1, id);
                cw__bind_int64(st, 2, r->time_ms);
                err = step_reset(c, st, d, "delivery claim");
                cw__sqlite_done(c, st);
                st = NULL;
            }
        }
        return err;
    case CW__EVC_CHANGE:
        if (!link || (r->kind != CW_EVK_CHANGE_CREATED && r->kind != CW_EVK_CHANGE_MERGED))
            return CW_OK; /* a change no component can own */
        err = cw__sqlite_stmt(
            c,
            "INSERT INTO delivery_changes (subject_id, link_id, created_ms, merged_ms, claim_ms)"
            " VALUES (?1, ?2, ?3, ?4,"
            " (SELECT min(time_ms) FROM delivery_claims WHERE change_id = ?1))"
            " ON CONFLICT (subject_id, link_id) DO UPDATE SET"
            " created_ms = CASE WHEN excluded.created_ms < coalesce(created_ms, excluded.created_ms + 1)"
            "  THEN excluded.created_ms ELSE created_ms END,"
            " merged_ms = CASE WHEN excluded.merged_ms < coalesce(merged_ms, excluded.merged_ms + 1)"
            "  THEN excluded.merged_ms ELSE merged_ms END",
            &st, d);
        if (err)
            return err;
        cw__bind_text(st, 1, r->subject_id);
        cw__bind_int64(st, 2, link);
        if (r->kind == CW_EVK_CHANGE_CREATED) {
            cw__bind_int64(st, 3, r->time_ms);
            sqlite3_bind_null(st, 4);
        } else {
            sqlite3_bind_null(st, 3);
            cw__bind_int64(st, 4, r->time_ms);
        }
        err = step_reset(c, st, d, "delivery change");
        cw__sqlite_done(c, st);
        return err;
    case CW__EVC_INCIDENT:
        /* the subject's earliest event moves when this one is earlier */
        err = cw__sqlite_stmt(c, "UPDATE delivery_incidents SET first_ms = ?2"
                                 " WHERE subject_id = ?1 AND first_ms > ?2", &st, d);
        if (err)
            return err;
        cw__bind_text(st, 1, r->subject_id);
        cw__bind_int64(st, 2, r->time_ms);
        err = step_reset(c, st, d, "delivery incident");
        cw__sqlite_done(c, st);
        st = NULL;
        if (!err)
            err = cw__sqlite_stmt(
                c,
                "INSERT INTO delivery_incidents (time_ms, seq, link_id, kind, subject_id,"
                " artifact_id, first_ms, artifact_first_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
                " min(?1, coalesce((SELECT min(first_ms) FROM delivery_incidents"
                "  WHERE subject_id = ?5), ?1)),"
                " (SELECT min(time_ms) FROM delivery_service WHERE artifact_h = ?7"
                "  AND artifact_id = ?6))",
                &st, d);
        if (err)
            return err;
        cw__bind_int64(st, 1, r->time_ms);
        cw__bind_int64(st, 2, seq);
        bind_id(st, 3, link);
        cw__bind_int64(st, 4, r->kind);
        cw__bind_text(st, 5, r->subject_id);
        cw__bind_text(st, 6, r->artifact_id);
        if (r->artifact_id)
            cw__bind_int64(st, 7, cw__hash64(r->artifact_id, strlen(r->artifact_id)));
        else
            sqlite3_bind_null(st, 7);
        err = step_reset(c, st, d, "delivery incident");
        cw__sqlite_done(c, st);
        st = NULL;
        if (err || !r->artifact_id)
            return err;
        err = cw__sqlite_stmt(c, "UPDATE delivery_service SET incident_ms = ?2"
                                 " WHERE artifact_h = ?3 AND artifact_id = ?1"
                                 " AND (incident_ms IS NULL OR incident_ms > ?2)",
                              &st, d);
        if (err)
            return err;
        cw__bind_text(st, 1, r->artifact_id);
        cw__bind_int64(st, 2, r->time_ms);
        cw__bind_int64(st, 3, cw__hash64(r->artifact_id, strlen(r->artifact_id)));
        err = step_reset(c, st, d, "delivery incident");
        cw__sqlite_done(c, st);
        return err;
    default:
        return CW_OK;
    }
}

#define INSERT_EVENT_SQL                                                                     \
    "INSERT INTO events (time_ms, received_ms, source_id, event_key, type_id, env_id,"       \
    " link_id, cls, dict_id, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"                     \
    " ON CONFLICT (source_id, event_key) DO NOTHING"

/* After an insert that stored nothing: whether the stored event of the
 * row's (source, id) has another body. */
/* Reads dictionary id on the caller's connection (cw__dict_load_fn). */
cw_err cw__sqlite_load_dict(void *ctx, int64_t id, cw_buf *out, cw_diag *d)
{
    cw__sqlite_conn *c = ctx;
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c, "SELECT dict FROM event_dicts WHERE id = ?", &st, d);
    if (err)
        return err;
    cw__bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        err = cw_buf_append(out, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0))
                  ? cw_fail(d, CW_ERR_NOMEM, "events: out of memory")
                  : CW_OK;
    else
        err = rc == SQLITE_DONE ? cw_fail(d, CW_ERR_IO, "events: dictionary %lld is missing",
                                          (long long)id)
                                : cw__sqlite_fail(c, rc, d, "dictionary");
    cw__sqlite_done(c, st);
    return err;
}

/* After an insert that stored nothing: whether the stored event of the
 * row's (source, id) has another body. */
static cw_err body_differs(cw_store *store, cw__sqlite_conn *c, const cw__event_row *r,
                           int64_t source_id, const unsigned char *key, size_t key_len,
                           bool *differs, cw_diag *d)
{
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(
        c, "SELECT dict_id, doc FROM events WHERE source_id = ? AND event_key = ?", &st, d);
    if (err)
        return err;
    cw__bind_int64(st, 1, source_id);
    sqlite3_bind_blob(st, 2, key, (int)key_len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        cw_buf scratch;
        cw_buf_init(&scratch, 0);
        cw__event_doc doc;
        err = cw__codec_decode(store->codec, sqlite3_column_int64(st, 0),
                               sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1),
                               cw__sqlite_load_dict, c, &scratch, &doc, d);
        if (!err)
            *differs = !cw__event_body_same(doc.body, doc.body_len, r->body);
        cw_buf_free(&scratch);
    } else {
        err = cw__sqlite_fail(c, rc == SQLITE_DONE ? SQLITE_INTERNAL : rc, d,
                              "stored event of a duplicate");
    }
    cw__sqlite_done(c, st);
    return err;
}

static cw_err put_row(cw_store *store, cw__sqlite_conn *c, cw__event_ids *pc, sqlite3_stmt *ins,
                      const cw__event_row *r, int64_t now_ms, bool *stored, bool *differs,
                      cw_diag *d)
{
    int64_t env = 0, link = 0, source = 0, type = 0;
    cw_err err = CW_OK;
    if (r->environment && (err = cw__event_env_id(pc, r->environment, key_row, c, &env, d)))
        return err;
    if (r->link_value && r->link_kind &&
        (err = cw__event_link_id(pc, r->link_kind, r->link_value, key_row, c, &link, d)))
        return err;
    if ((err = cw__event_name_id(pc, CW__KEY_SOURCE, r->source, key_row, c, &source, d)) ||
        (err = cw__event_name_id(pc, CW__KEY_TYPE, r->type, key_row, c, &type, d)))
        return err;
    unsigned char kbuf[256], *key = kbuf;
    size_t klen = strlen(r->id) + 1;
    if (klen > sizeof kbuf && !(key = malloc(klen)))
        return cw_fail(d, CW_ERR_NOMEM, "events: out of memory");
    klen = cw__event_key(r->id, key, klen > sizeof kbuf ? klen : sizeof kbuf);
    cw__bind_int64(ins, 1, r->time_ms);
    cw__bind_int64(ins, 2, now_ms);
    cw__bind_int64(ins, 3, source);
    sqlite3_bind_blob(ins, 4, key, (int)klen, SQLITE_STATIC);
    cw__bind_int64(ins, 5, type);
    if (r->environment)
        cw__bind_int64(ins, 6, env);
    else
        sqlite3_bind_null(ins, 6);
    if (r->link_value && r->link_kind)
        cw__bind_int64(ins, 7, link);
    else
        sqlite3_bind_null(ins, 7);
    cw__bind_int64(ins, 8, r->cls);
    cw__bind_int64(ins, 9, r->dict_id);
    sqlite3_bind_blob(ins, 10, r->doc, (int)r->doc_len, SQLITE_STATIC);
    int rc = sqlite3_step(ins);
    if (rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "event insert");
    else
        *stored = sqlite3_changes(c->db) > 0;
    sqlite3_reset(ins);
    if (!err && *stored && r->cls)
        err = put_delivery(c, r, sqlite3_last_insert_rowid(c->db),
                           r->environment ? env : 0, r->link_value && r->link_kind ? link : 0, d);
    if (!err && !*stored)
        err = body_differs(store, c, r, source, key, klen, differs, d);
    if (key != kbuf)
        free(key);
    return err;
}

/*
 * Writes one request's rows. careful: inside its own savepoint, so that a
 * failing request is undone alone while the transaction goes on. Otherwise
 * (the usual case) without one: a savepoint keeps a copy of every page its
 * request touches, which for large groups costs more than the rows; a
 * failure then sets *again and the caller runs the group again, careful.
 */
static cw_err put_batch(cw_store *store, cw__sqlite_conn *c, cw__event_ids *pc,
                        cw__event_batch *b, int64_t now_ms, bool careful, bool *again)
{
    memset(&b->res, 0, sizeof b->res);
    b->err = CW_OK;
    sqlite3_stmt *ins = NULL;
    cw_err err = careful ? run(c, "SAVEPOINT events_batch", &b->diag) : CW_OK;
    if (err)
        return err;
    err = cw__sqlite_stmt(c, INSERT_EVENT_SQL, &ins, &b->diag);
    for (size_t i = 0; !err && i < b->n; i++) {
        bool stored = false, differs = false;
        err = put_row(store, c, pc, ins, &b->rows[i], now_ms, &stored, &differs, &b->diag);
        /* a new incident event updates its incident in this transaction */
        if (!err && stored && b->rows[i].cls == CW__EVC_INCIDENT)
            err = cw__incident_event(&(cw__sql){&cw__sqlite_sql_ops, c, store},
                                     b->rows[i].body, now_ms, &b->diag);
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
    if (err && !careful) {
        *again = true;
        return CW_OK;
    }
    if (!careful)
        return CW_OK;
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

/*
 * Inside the write transaction, while no dictionary is in use: once
 * CW__DICT_SAMPLES events are stored uncompressed, a dictionary is trained
 * from the oldest of them (unless another process stored one already),
 * saved, and those events are compressed with it; *id and *dict say which
 * the codec takes after the commit.
 */
static cw_err dict_train(cw_store *store, cw__sqlite_conn *c, cw_buf *dict, int64_t *id,
                         cw_diag *d)
{
    int64_t have = 0;
    cw_err err = read_int(c, "SELECT coalesce(max(id), 0) FROM event_dicts", &have, d);
    if (!err && have) {
        err = cw__sqlite_load_dict(c, have, dict, d);
        if (!err)
            *id = have;
        return err;
    }
    int64_t plain = 0;
    if (!err)
        err = read_int(c, "SELECT count(*) FROM (SELECT 1 FROM events WHERE dict_id = 0 LIMIT "
                          CW__DICT_SAMPLES_SQL ")",
                       &plain, d);
    if (err || plain < CW__DICT_SAMPLES)
        return err;
    int64_t *ids = malloc(CW__DICT_SAMPLES * sizeof *ids);
    void **docs = calloc(CW__DICT_SAMPLES, sizeof *docs);
    size_t *lens = malloc(CW__DICT_SAMPLES * sizeof *lens), n = 0;
    sqlite3_stmt *st = NULL;
    if (!ids || !docs || !lens) {
        err = cw_fail(d, CW_ERR_NOMEM, "events: out of memory training a dictionary");
        goto out;
    }
    err = cw__sqlite_stmt(c, "SELECT id, doc FROM events WHERE dict_id = 0 ORDER BY id LIMIT "
                             CW__DICT_SAMPLES_SQL, &st, d);
    int rc = SQLITE_DONE;
    while (!err && n < CW__DICT_SAMPLES && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        ids[n] = sqlite3_column_int64(st, 0);
        lens[n] = (size_t)sqlite3_column_bytes(st, 1);
        if (!(docs[n] = malloc(lens[n] ? lens[n] : 1))) {
            err = cw_fail(d, CW_ERR_NOMEM, "events: out of memory training a dictionary");
            break;
        }
        memcpy(docs[n], sqlite3_column_blob(st, 1), lens[n]);
        n++;
    }
    if (!err && rc != SQLITE_ROW && rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "dictionary samples");
    cw__sqlite_done(c, st);
    st = NULL;
    if (!err)
        err = cw__codec_train((const void *const *)docs, lens, n, dict, d);
    if (!err)
        err = cw__sqlite_stmt(c, "INSERT INTO event_dicts (dict, created_ms) VALUES (?, ?)"
                                 " RETURNING id", &st, d);
    if (!err) {
        sqlite3_bind_blob(st, 1, dict->len ? dict->data : "", (int)dict->len, SQLITE_STATIC);
        cw__bind_int64(st, 2, cw_now_ms());
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            *id = sqlite3_column_int64(st, 0);
        else
            err = cw__sqlite_fail(c, rc, d, "dictionary");
        cw__sqlite_done(c, st);
        st = NULL;
    }
    /* the samples themselves are compressed with it too */
    cw__codec *tmp = NULL;
    cw__codec_ctx *cx = NULL;
    cw_buf out;
    cw_buf_init(&out, 0);
    if (!err && cw__codec_new(&tmp))
        err = cw_fail(d, CW_ERR_NOMEM, "events: out of memory");
    if (!err)
        err = cw__codec_use(tmp, *id, dict->data, dict->len, d);
    if (!err)
        err = cw__sqlite_stmt(c, "UPDATE events SET dict_id = ?, doc = ? WHERE id = ?", &st, d);
    cw_buf scratch;
    cw_buf_init(&scratch, 0);
    for (size_t i = 0; !err && i < n; i++) {
        cw__event_doc doc;
        int64_t used;
        cw_buf_reset(&out);
        err = cw__codec_decode(tmp, 0, docs[i], lens[i], NULL, NULL, &scratch, &doc, d);
        if (!err)
            err = cw__codec_encode(tmp, &cx, doc.subject, doc.chain, doc.artifact, doc.body,
                                   doc.body_len, &out, &used, d);
        if (err)
            break;
        cw__bind_int64(st, 1, used);
        sqlite3_bind_blob(st, 2, out.data, (int)out.len, SQLITE_STATIC);
        cw__bind_int64(st, 3, ids[i]);
        err = step_reset(c, st, d, "dictionary samples");
    }
    cw__sqlite_done(c, st);
    st = NULL;
    cw_buf_free(&scratch);
    cw_buf_free(&out);
    cw__codec_ctx_free(cx);
    cw__codec_free(tmp);
out:
    cw__sqlite_done(c, st);
    for (size_t i = 0; docs && i < n; i++)
        free(docs[i]);
    free(ids);
    free(docs);
    free(lens);
    if (err)
        *id = 0;
    return err;
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
    bool again = false;
    for (size_t i = 0; !err && !again && i < n; i++) {
        err = put_batch(store, c, &pc, batches[i], now_ms, false, &again);
        if (err)
            *d = batches[i]->diag;
    }
    if (!err && again) {
        /* a request failed: everything again, each request on its own */
        cw__event_ids_clear(&pc);
        err = run(c, "ROLLBACK", d);
        if (!err)
            err = run(c, "BEGIN IMMEDIATE", d);
        for (size_t i = 0; !err && i < n; i++) {
            err = put_batch(store, c, &pc, batches[i], now_ms, true, &again);
            if (err)
                *d = batches[i]->diag;
        }
    }
    if (!err)
        err = cw__sql_events_audit(&(cw__sql){&cw__sqlite_sql_ops, c, store}, batches, n, d);
    int64_t stale = 0;
    if (!err)
        err = read_int(c, LINKS_STALE_SQL, &stale, d);
    if (!err && (stale || pc.new_links))
        err = links_refresh(c, stale != 0, d);
    cw__event_ids_clear(&pc);
    /* the first events stored train the dictionary the next ones use */
    cw_buf dict;
    cw_buf_init(&dict, 0);
    int64_t dict_id = 0;
    if (!err && !cw__codec_current(store->codec))
        err = dict_train(store, c, &dict, &dict_id, d);
    err = cw__sqlite_write_end(s, c, err, d);
    if (!err && dict_id)
        err = cw__codec_use(store->codec, dict_id, dict.data, dict.len, d);
    cw_buf_free(&dict);
    return err;
}

static cw_err ev_dicts_open(cw_store *store, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c, "SELECT id, dict FROM event_dicts ORDER BY id DESC LIMIT 1",
                                 &st, d);
    if (!err) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            err = cw__codec_use(store->codec, sqlite3_column_int64(st, 0),
                                sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), d);
        else if (rc != SQLITE_DONE)
            err = cw__sqlite_fail(c, rc, d, "dictionaries");
    }
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    return err;
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
    .prefix_fmt = "substr(name, 1, length(%s)) = %s",
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
    cw_buf scratch;
    cw_buf_init(&scratch, 0);
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
            .key = sqlite3_column_blob(st, 4),
            .key_len = (size_t)sqlite3_column_bytes(st, 4),
            .type = col(st, 5),
            .environment = col(st, 6),
            .link_kind = sqlite3_column_int(st, 7),
            .link_value = col(st, 8),
            .component_ref = col(st, 9),
            .dict_id = sqlite3_column_int64(st, 10),
            .doc = sqlite3_column_blob(st, 11),
            .doc_len = (size_t)sqlite3_column_bytes(st, 11),
        };
        if ((err = cw__stored_event_fill(&items[len++], &r, store->codec, cw__sqlite_load_dict, c, &scratch,
                                         d)))
            goto out;
    }
    if (rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "event list");
out:
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    cw_buf_free(&sql);
    cw_buf_free(&scratch);
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
    char sql[2048];
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

/* Bounds, links and environments. */
static cw_err scan_maps(cw__sqlite_conn *c, const scan *x, cw_diag *d)
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
    int rc;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        bool wanted = false;
        err = x->sink->link(x->ctx, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                            sqlite3_column_int(st, 2), &wanted, d);
    }
    cw__sqlite_done(c, st);
    if (err)
        return err;
    if (rc != SQLITE_DONE)
        return cw__sqlite_fail(c, rc, d, "event links");
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

static cw_delivery_text text_col(sqlite3_stmt *st, int i)
{
    cw__text t = col(st, i);
    return (cw_delivery_text){t.s, t.n};
}

/* A selection's arrays as the JSON text json_each() reads. */
static cw_err json_ids(cw_buf *b, const int64_t *v, size_t n)
{
    cw_buf_reset(b);
    cw_buf_putc(b, '[');
    for (size_t i = 0; i < n; i++)
        cw_buf_printf(b, "%s%lld", i ? "," : "", (long long)v[i]);
    cw_buf_putc(b, ']');
    return cw_buf_error(b);
}

static cw_err json_pairs(cw_buf *b, const int64_t *v, const int64_t *t, size_t n)
{
    cw_buf_reset(b);
    cw_buf_putc(b, '[');
    for (size_t i = 0; i < n; i++)
        cw_buf_printf(b, "%s[%lld,%lld]", i ? "," : "", (long long)v[i], (long long)t[i]);
    cw_buf_putc(b, ']');
    return cw_buf_error(b);
}

static cw_err json_keys(cw_buf *b, const cw_delivery_text *k, size_t n)
{
    cw_buf_reset(b);
    cw_buf_putc(b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            cw_buf_putc(b, ',');
        cw_buf_json_strn(b, k[i].s, k[i].n);
    }
    cw_buf_putc(b, ']');
    return cw_buf_error(b);
}

/*
 * The SQL of each selection. Parameters: ?1 from, ?2 to, ?3 kinds (bits),
 * ?4 environments, ?5 links (or (link, time) pairs), ?6 keys; a statement
 * binds the ones it names.
 */
#define SVC_COLS "time_ms, seq, link_id, env_id, kind, artifact_id, chain_id, changes, incident_ms"
#define SVC_COLS_S                                                                            \
    "s.time_ms, s.seq, s.link_id, s.env_id, s.kind, s.artifact_id, s.chain_id, s.changes,"  \
    " s.incident_ms"
/* "+": a filter on each row, never the key the rows are found by (that is
 * the link, artifact or claim index) */
#define SVC_WHERE(p)                                                                          \
    "((1 << " p "kind) & ?3) != 0 AND +" p "env_id IN (SELECT value FROM json_each(?4))"
#define SVC_LINKS(p) " AND (?5 IS NULL OR +" p "link_id IN (SELECT value FROM json_each(?5)))"
#define SVC_NEAREST(cmp, dir)                                                                 \
    "SELECT " SVC_COLS_S " FROM json_each(?5) p JOIN delivery_service s"                     \
    " ON (s.env_id, s.time_ms, s.seq) = (SELECT x.env_id, x.time_ms, x.seq"                  \
    " FROM delivery_service x"                                                                \
    " WHERE x.link_id = json_extract(p.value, '$[0]')"                                        \
    " AND x.time_ms " cmp " json_extract(p.value, '$[1]') AND " SVC_WHERE("x.")               \
    " ORDER BY x.time_ms " dir ", x.seq " dir " LIMIT 1)"
#define CHG_COLS "link_id, subject_id, created_ms, merged_ms, claim_ms"
#define INC_COLS                                                                              \
    "time_ms, seq, link_id, kind, subject_id, artifact_id, first_ms, artifact_first_ms"

static const char *select_sql(const cw_delivery_select *s)
{
    switch (s->kind) {
    case CW_DSEL_SERVICE_TIME:
        /* kinds are checked on each row (cheaper than in SQL) */
        if (!s->links)
            return "SELECT " SVC_COLS " FROM delivery_service"
                   " WHERE env_id IN (SELECT value FROM json_each(?4))"
                   " AND time_ms >= ?1 AND time_ms < ?2";
        return "SELECT " SVC_COLS " FROM delivery_service"
               " WHERE link_id IN (SELECT value FROM json_each(?5))"
               " AND time_ms >= ?1 AND time_ms < ?2"
               " AND +env_id IN (SELECT value FROM json_each(?4))";
    case CW_DSEL_SERVICE_NEAREST:
        return s->before ? SVC_NEAREST("<", "DESC") : SVC_NEAREST(">=", "ASC");
    case CW_DSEL_SERVICE_ARTIFACT:
        /* ?7: [hash, artifact] pairs (the index is on the hash) */
        return "SELECT " SVC_COLS_S " FROM json_each(?7) p JOIN delivery_service s"
               " ON s.artifact_h = json_extract(p.value, '$[0]')"
               " AND s.artifact_id = json_extract(p.value, '$[1]') AND " SVC_WHERE("s.")
               SVC_LINKS("s.");
    case CW_DSEL_SERVICE_CLAIM:
        return "SELECT " SVC_COLS_S " FROM delivery_claims c JOIN delivery_service s"
               " ON s.env_id = c.env_id AND s.time_ms = c.time_ms AND s.seq = c.seq"
               " WHERE c.change_id IN (SELECT value FROM json_each(?6)) AND c.time_ms < ?2"
               " AND " SVC_WHERE("s.") SVC_LINKS("s.");
    case CW_DSEL_CHANGE_MERGED:
        return "SELECT c.link_id, c.subject_id, c.created_ms, c.merged_ms, c.claim_ms"
               " FROM json_each(?5) p JOIN delivery_changes c"
               " ON c.link_id = json_extract(p.value, '$[0]')"
               " AND c.merged_ms > json_extract(p.value, '$[1]') AND c.merged_ms < ?2";
    case CW_DSEL_CHANGE_LINK:
        if (!s->links)
            return "SELECT " CHG_COLS " FROM delivery_changes";
        return "SELECT " CHG_COLS " FROM delivery_changes"
               " WHERE link_id IN (SELECT value FROM json_each(?5))";
    case CW_DSEL_CHANGE_SUBJECT:
        return "SELECT " CHG_COLS " FROM delivery_changes"
               " WHERE subject_id IN (SELECT value FROM json_each(?6))";
    case CW_DSEL_INCIDENT_TIME:
        return "SELECT " INC_COLS " FROM delivery_incidents WHERE time_ms >= ?1 AND time_ms < ?2";
    case CW_DSEL_INCIDENT_SUBJECT:
        return "SELECT " INC_COLS " FROM delivery_incidents"
               " WHERE subject_id IN (SELECT value FROM json_each(?6))";
    case CW_DSEL_INCIDENT_ARTIFACT:
        return "SELECT " INC_COLS " FROM delivery_incidents"
               " WHERE artifact_id IN (SELECT value FROM json_each(?6))";
    case CW_DSEL_END:
        break;
    }
    return NULL;
}

static cw_err row_to_sink(const scan *x, const cw_delivery_select *s, sqlite3_stmt *st,
                          cw_diag *d)
{
    switch (s->kind) {
    case CW_DSEL_SERVICE_TIME:
    case CW_DSEL_SERVICE_NEAREST:
    case CW_DSEL_SERVICE_ARTIFACT:
    case CW_DSEL_SERVICE_CLAIM: {
        if (s->kind == CW_DSEL_SERVICE_TIME &&
            !cw_delivery_select_keeps(s, sqlite3_column_int(st, 4), id_col(st, 3)))
            return CW_OK;
        cw_delivery_service_row r = {
            .time_ms = sqlite3_column_int64(st, 0),
            .seq = sqlite3_column_int64(st, 1),
            .link = id_col(st, 2),
            .env = id_col(st, 3),
            .kind = sqlite3_column_int(st, 4),
            .artifact = text_col(st, 5),
            .chain = text_col(st, 6),
            .changes = (const char *)sqlite3_column_text(st, 7),
            .has_incident = sqlite3_column_type(st, 8) != SQLITE_NULL,
            .incident_ms = sqlite3_column_int64(st, 8),
        };
        return x->sink->service(x->ctx, &r, d);
    }
    case CW_DSEL_CHANGE_MERGED:
    case CW_DSEL_CHANGE_LINK:
    case CW_DSEL_CHANGE_SUBJECT: {
        cw_delivery_change_row r = {
            .link = id_col(st, 0),
            .subject = text_col(st, 1),
            .has_created = sqlite3_column_type(st, 2) != SQLITE_NULL,
            .created_ms = sqlite3_column_int64(st, 2),
            .has_merged = sqlite3_column_type(st, 3) != SQLITE_NULL,
            .merged_ms = sqlite3_column_int64(st, 3),
            .has_claim = sqlite3_column_type(st, 4) != SQLITE_NULL,
            .claim_ms = sqlite3_column_int64(st, 4),
        };
        return x->sink->change(x->ctx, &r, d);
    }
    default: {
        cw_delivery_incident_row r = {
            .time_ms = sqlite3_column_int64(st, 0),
            .seq = sqlite3_column_int64(st, 1),
            .link = id_col(st, 2),
            .kind = sqlite3_column_int(st, 3),
            .subject = text_col(st, 4),
            .artifact = text_col(st, 5),
            .first_ms = sqlite3_column_int64(st, 6),
            .has_artifact_first = sqlite3_column_type(st, 7) != SQLITE_NULL,
            .artifact_first_ms = sqlite3_column_int64(st, 7),
        };
        return x->sink->incident(x->ctx, &r, d);
    }
    }
}

/* Reads one selection into the sink. */
static cw_err scan_select(cw__sqlite_conn *c, const scan *x, const cw_delivery_select *s,
                          cw_buf *envs, cw_buf *links, cw_buf *keys, cw_diag *d)
{
    const char *sql = select_sql(s);
    if (!sql)
        return cw_fail(d, CW_ERR_INTERNAL, "delivery: unknown selection %d", (int)s->kind);
    bool pairs = s->kind == CW_DSEL_SERVICE_NEAREST || s->kind == CW_DSEL_CHANGE_MERGED;
    if (json_ids(envs, s->envs, s->nenvs) ||
        (pairs ? json_pairs(links, s->links, s->times, s->nlinks)
               : json_ids(links, s->links, s->nlinks)) ||
        json_keys(keys, s->keys, s->nkeys))
        return cw_fail(d, CW_ERR_NOMEM, "delivery: out of memory");
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c, sql, &st, d);
    if (err)
        return err;
    /* parameters a statement does not name are ignored (SQLITE_RANGE) */
    cw__bind_int64(st, 1, s->from_ms);
    cw__bind_int64(st, 2, s->to_ms);
    cw__bind_int64(st, 3, (int64_t)s->kinds);
    cw__bind_text(st, 4, cw_buf_cstr(envs));
    if (s->links)
        cw__bind_text(st, 5, cw_buf_cstr(links));
    cw__bind_text(st, 6, cw_buf_cstr(keys));
    if (s->kind == CW_DSEL_SERVICE_ARTIFACT) {
        /* the keys again, each with its hash */
        sqlite3_bind_null(st, 6);
        cw_buf_reset(keys);
        cw_buf_putc(keys, '[');
        for (size_t i = 0; i < s->nkeys; i++) {
            cw_buf_printf(keys, "%s[%lld,", i ? "," : "",
                          (long long)cw__hash64(s->keys[i].s, s->keys[i].n));
            cw_buf_json_strn(keys, s->keys[i].s, s->keys[i].n);
            cw_buf_putc(keys, ']');
        }
        cw_buf_putc(keys, ']');
        if (cw_buf_error(keys)) {
            cw__sqlite_done(c, st);
            return cw_fail(d, CW_ERR_NOMEM, "delivery: out of memory");
        }
        cw__bind_text(st, 7, cw_buf_cstr(keys));
    }
    int rc;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW)
        err = row_to_sink(x, s, st, d);
    if (!err && rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "delivery rows");
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
    cw_buf envs, links, keys;
    cw_buf_init(&envs, 0);
    cw_buf_init(&links, 0);
    cw_buf_init(&keys, 0);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    err = cw__sqlite_read_begin(c, d);
    if (!err)
        err = scope_check(c, q->scope, d);
    if (!err)
        err = sink->begin(ctx, d);
    if (!err)
        err = scan_components(c, &x, d);
    if (!err)
        err = scan_maps(c, &x, d);
    while (!err) {
        cw_delivery_select sel;
        err = sink->next(ctx, &sel, d);
        if (err || sel.kind == CW_DSEL_END)
            break;
        err = scan_select(c, &x, &sel, &envs, &links, &keys, d);
    }
    cw__sqlite_read_release(s, c);
    cw_buf_free(&envs);
    cw_buf_free(&links);
    cw_buf_free(&keys);
    return err;
}

const struct cw_store_event_ops cw__sqlite_event_ops = {
    .put = ev_put,
    .query = ev_query,
    .unmatched_keys = ev_unmatched_keys,
    .delivery = ev_delivery,
    .dicts_open = ev_dicts_open,
    .link_owners = ev_link_owners,
    .catalog_gen = ev_catalog_gen,
};
