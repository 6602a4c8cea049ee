/*
 * postgres_events.c — CDEvents in PostgreSQL, the same behaviour as
 * sqlite_events.c: group-committed intake (each request's rows written with
 * one INSERT … SELECT FROM unnest … ON CONFLICT (source, event_id) DO
 * NOTHING, inside its own savepoint), listing with keyset paging, unmatched
 * link keys, and the delivery insights' inputs streamed through a cursor.
 *
 * Idempotency across instances is the database's: when two instances
 * insert the same (source, id) at once, the second waits for the first to
 * commit and then does nothing (a duplicate); if the first rolls back, the
 * second stores it. Deadlocks between instances (two requests inserting the
 * same new events in opposite orders) abort one transaction, which
 * cw__pg_write runs again.
 *
 * Linking follows sqlite_events.c: event_links rows hold the matched
 * Component, recomputed when the catalog generation moved. A full re-match
 * takes the entity lock first, so the catalog cannot change under it and
 * the generation it records is the one it read.
 */
#include "store/postgres_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/events_impl.h"
#include "store/incidents_impl.h"
#include "store/store_rows.h"
#include "util/strmap.h"

#define FETCH_ROWS 10000 /* rows per cursor fetch when streaming */

static cw_err oom(cw_diag *d) { return cw_fail(d, CW_ERR_NOMEM, "events: out of memory"); }

/* A column as a plain value (s NULL for SQL NULL). */
static cw__text val(const PGresult *r, int row, int col)
{
    if (cw__pg_isnull(r, row, col))
        return (cw__text){NULL, 0};
    return (cw__text){PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col)};
}

/* A text column or NULL. */
static const char *text_or_null(const PGresult *r, int row, int col)
{
    return cw__pg_isnull(r, row, col) ? NULL : cw__pg_text(r, row, col);
}

/* A link or environment id column; 0 for NULL. */
static int64_t id_val(const PGresult *r, int row, int col)
{
    return cw__pg_isnull(r, row, col) ? 0 : cw__pg_int(r, row, col);
}

/* An integer from a one-row statement without parameters. */
static cw_err read_int(void *conn, const char *sql, int64_t *out, cw_diag *d)
{
    cw__pg_conn *c = conn;
    PGresult *r = NULL;
    cw_err err = cw__pg_exec(c, sql, 0, NULL, &r, d);
    if (!err && PQntuples(r) == 1)
        *out = cw__pg_int(r, 0, 0);
    else if (!err)
        err = cw_fail(d, CW_ERR_IO, "database: a single-value query returned no row");
    PQclear(r);
    return err;
}

/* Streams the rows of a query through a cursor (inside the caller's
 * transaction), FETCH_ROWS at a time, calling fn for each row. */
typedef cw_err (*row_fn)(void *ctx, const PGresult *r, int row, cw_diag *d);

static cw_err each_row(cw__pg_conn *c, const char *sql, int n, const char *const *params,
                       row_fn fn, void *ctx, cw_diag *d)
{
    cw_buf decl;
    cw_buf_init(&decl, 0);
    cw_err err = cw_buf_printf(&decl, "DECLARE cw_rows NO SCROLL CURSOR FOR %s", sql);
    if (err) {
        cw_buf_free(&decl);
        return oom(d);
    }
    err = cw__pg_exec_dyn(c, cw_buf_cstr(&decl), n, params, NULL, d);
    cw_buf_free(&decl);
    while (!err) {
        PGresult *r = NULL;
        err = cw__pg_exec(c, "FETCH 10000 FROM cw_rows", 0, NULL, &r, d);
        int rows = err ? 0 : PQntuples(r);
        for (int i = 0; !err && i < rows; i++)
            err = fn(ctx, r, i, d);
        PQclear(r);
        if (rows < FETCH_ROWS)
            break;
    }
    if (!err)
        err = cw__pg_cmd(c, "CLOSE cw_rows", d);
    return err;
}

/* ---- linking ------------------------------------------------------------------------------- */

static cw_err link_index_load(cw__pg_conn *c, cw__link_index *x, cw_diag *d)
{
    memset(x, 0, sizeof *x);
    PGresult *r = NULL;
    /* only string annotations count, as SQLite's json_extract typed TEXT */
    cw_err err = cw__pg_exec(
        c,
        "SELECT id, name,"
        " CASE WHEN json_typeof(a->'conway.dev/service-id') = 'string'"
        "  THEN a->>'conway.dev/service-id' END,"
        " CASE WHEN json_typeof(a->'conway.dev/repository') = 'string'"
        "  THEN a->>'conway.dev/repository' END,"
        " CASE WHEN json_typeof(a->'github.com/project-slug') = 'string'"
        "  THEN a->>'github.com/project-slug'"
        "  WHEN json_typeof(a->'gitlab.com/project-slug') = 'string'"
        "  THEN a->>'gitlab.com/project-slug' END"
        " FROM (SELECT id, name, key, body::json->'metadata'->'annotations' AS a"
        "  FROM entities WHERE kind = 'Component') x ORDER BY key",
        0, NULL, &r, d);
    for (int i = 0; !err && i < PQntuples(r); i++) {
        err = cw__link_index_add(x, cw__pg_int(r, i, 0), cw__pg_text(r, i, 1),
                                 text_or_null(r, i, 2), text_or_null(r, i, 3),
                                 text_or_null(r, i, 4));
        if (err)
            err = cw_fail(d, err, "events: out of memory indexing the catalog");
    }
    PQclear(r);
    if (err)
        cw__link_index_free(x);
    return err;
}

static cw_err ev_catalog_gen(cw_store *store, int64_t *out, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    cw__pg_conn *c = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (err)
        return err;
    err = cw__pg_entity_gen(c, out, d);
    cw__pg_release(s, c);
    return err;
}

static cw_err ev_link_owners(cw_store *store, cw_link_owners *out, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    cw__pg_conn *c = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (err)
        return err;
    PGresult *r = NULL;
    size_t cap = 0;
    /* the generation first: the rows are at least that new */
    err = cw__pg_entity_gen(c, &out->gen, d);
    /* only string annotations count, as SQLite's json_extract typed TEXT */
    if (!err)
        err = cw__pg_exec(
        c,
        "SELECT ref, " CW__LINK_OWNERS_OWNER_SQL ", name,"
        " CASE WHEN json_typeof(a->'conway.dev/service-id') = 'string'"
        "  THEN a->>'conway.dev/service-id' END,"
        " CASE WHEN json_typeof(a->'conway.dev/repository') = 'string'"
        "  THEN a->>'conway.dev/repository' END,"
        " CASE WHEN json_typeof(a->'github.com/project-slug') = 'string'"
        "  THEN a->>'github.com/project-slug'"
        "  WHEN json_typeof(a->'gitlab.com/project-slug') = 'string'"
        "  THEN a->>'gitlab.com/project-slug' END"
        " FROM (SELECT id, ref, name, key, body::json->'metadata'->'annotations' AS a"
        "  FROM entities WHERE kind = 'Component') e ORDER BY key",
        0, NULL, &r, d);
    for (int i = 0; !err && i < PQntuples(r); i++)
        if (cw__link_owner_add(out, &cap, cw__pg_text(r, i, 0), text_or_null(r, i, 1),
                               cw__pg_text(r, i, 2), text_or_null(r, i, 3),
                               text_or_null(r, i, 4), text_or_null(r, i, 5)))
            err = cw_fail(d, CW_ERR_NOMEM, "link owners: out of memory");
    PQclear(r);
    cw__pg_release(s, c);
    return err;
}

/* Matches link rows against the catalog: all of them, or only those not
 * matched yet; a full pass then records the catalog generation. A full
 * pass must run under the entity lock (the caller takes it). */
static cw_err links_refresh(cw__pg_conn *c, bool all, cw_diag *d)
{
    cw__link_index x;
    PGresult *r = NULL;
    cw__pg_array ids, comps;
    cw__pg_array_init(&ids);
    cw__pg_array_init(&comps);
    cw_err err = link_index_load(c, &x, d);
    if (err)
        return err;
    err = cw__pg_exec(c,
                      all ? "SELECT id, kind, value, component_id, resolved FROM event_links "
                            "ORDER BY id"
                          : "SELECT id, kind, value, component_id, resolved FROM event_links "
                            "WHERE NOT resolved ORDER BY id",
                      0, NULL, &r, d);
    for (int i = 0; !err && i < PQntuples(r); i++) {
        bool failed = false;
        int64_t comp =
            cw__link_index_resolve(&x, (int)cw__pg_int(r, i, 1), cw__pg_text(r, i, 2), &failed);
        if (failed) {
            err = oom(d);
            break;
        }
        int64_t cur = cw__pg_isnull(r, i, 3) ? -1 : cw__pg_int(r, i, 3);
        if (cur == comp && !strcmp(cw__pg_text(r, i, 4), "t"))
            continue;
        char cb[24];
        if (cw__pg_array_add_i64(&ids, cw__pg_int(r, i, 0)) ||
            cw__pg_array_add(&comps, comp < 0 ? NULL : cw__pg_i64(cb, comp)))
            err = oom(d);
    }
    PQclear(r);
    if (!err && ids.n) {
        const char *p[] = {cw__pg_array_text(&ids), cw__pg_array_text(&comps)};
        if (!p[0] || !p[1])
            err = oom(d);
        else
            err = cw__pg_exec(c,
                              "UPDATE event_links l SET component_id = u.comp, resolved = true"
                              " FROM unnest($1::bigint[], $2::bigint[]) AS u(id, comp)"
                              " WHERE l.id = u.id",
                              2, p, NULL, d);
    }
    if (!err && all)
        err = cw__pg_exec(c,
                          "UPDATE cw_meta SET value = (SELECT value FROM cw_meta"
                          " WHERE name = 'entity_gen') WHERE name = 'event_link_gen'",
                          0, NULL, NULL, d);
    cw__pg_array_free(&ids);
    cw__pg_array_free(&comps);
    cw__link_index_free(&x);
    return err;
}

#define LINKS_STALE_SQL                                                                \
    "SELECT ((SELECT value FROM cw_meta WHERE name = 'entity_gen') IS DISTINCT FROM " \
    "(SELECT value FROM cw_meta WHERE name = 'event_link_gen'))::int"

/* Re-matches every link if the catalog changed since the last pass. */
static cw_err refresh_if_stale(cw__pg_conn *c, cw_diag *d)
{
    int64_t stale = 0;
    cw_err err = read_int(c, LINKS_STALE_SQL, &stale, d);
    if (err || !stale)
        return err;
    /* under the lock: re-read, another instance may have done it */
    if ((err = cw__pg_entity_lock(c, d)) || (err = read_int(c, LINKS_STALE_SQL, &stale, d)))
        return err;
    return stale ? links_refresh(c, true, d) : CW_OK;
}

static cw_err refresh_tx(cw__pg_conn *c, void *arg, cw_diag *d)
{
    (void)arg;
    return refresh_if_stale(c, d);
}

/* Before reading: re-match the links if the catalog changed since. */
static cw_err links_ensure_fresh(cw_pg *s, cw_diag *d)
{
    int64_t stale = 0;
    cw__pg_conn *c = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (!err)
        err = read_int(c, LINKS_STALE_SQL, &stale, d);
    cw__pg_release(s, c);
    if (err || !stale || s->read_only)
        return err; /* read-only: show the links as last computed */
    return cw__pg_write(s, refresh_tx, NULL, d);
}

cw_err cw__pg_links_fresh(cw_pg *s, cw_diag *d) { return links_ensure_fresh(s, d); }

/* ---- put ------------------------------------------------------------------------------------- */

static void put_cache_free(cw__event_ids *pc)
{
    cw__event_ids_clear(pc);
    pc->new_links = false;
}

/* The id of a row by its unique key, inserted when missing (without using
 * up identity values for keys that exist). */
static cw_err lookup_or_insert(cw__pg_conn *c, const char *select_sql, const char *insert_sql,
                               int n, const char *const *params, int64_t *out, bool *inserted,
                               cw_diag *d)
{
    PGresult *r = NULL;
    *inserted = false;
    for (int attempt = 0; attempt < 2; attempt++) {
        cw_err err = cw__pg_exec(c, select_sql, n, params, &r, d);
        if (!err && PQntuples(r) == 1) {
            *out = cw__pg_int(r, 0, 0);
            PQclear(r);
            return CW_OK;
        }
        PQclear(r);
        r = NULL;
        if (err)
            return err;
        /* another transaction may insert it meanwhile: DO NOTHING then,
         * and the select finds it (it waited for that commit) */
        err = cw__pg_exec(c, insert_sql, n, params, &r, d);
        if (!err && PQntuples(r) == 1) {
            *out = cw__pg_int(r, 0, 0);
            *inserted = true;
            PQclear(r);
            return CW_OK;
        }
        PQclear(r);
        r = NULL;
        if (err)
            return err;
    }
    return cw_fail(d, CW_ERR_BUSY, "database: a key row vanished while inserting");
}

/* The event_envs row (kind 0) or event_links row of a key (cw__key_row_fn). */
static cw_err key_row(void *ctx, int kind, const char *value, int64_t *out, bool *inserted,
                      cw_diag *d)
{
    if (!kind) {
        const char *p[] = {value};
        return lookup_or_insert(ctx, "SELECT id FROM event_envs WHERE name = $1",
                                "INSERT INTO event_envs (name) VALUES ($1) "
                                "ON CONFLICT (name) DO NOTHING RETURNING id",
                                1, p, out, inserted, d);
    }
    char kb[24];
    const char *p[] = {cw__pg_i64(kb, kind), value};
    return lookup_or_insert(ctx, "SELECT id FROM event_links WHERE kind = $1 AND value = $2",
                            "INSERT INTO event_links (kind, value) VALUES ($1, $2) "
                            "ON CONFLICT (kind, value) DO NOTHING RETURNING id",
                            2, p, out, inserted, d);
}

#define NCOLS 14

#define INSERT_EVENTS_SQL                                                                    \
    "INSERT INTO events (source, event_id, type, subject_id, time_ms, received_ms, chain_id," \
    " env_id, artifact_id, link_id, cls, kind, changes, body)"                               \
    " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],"   \
    " $6::bigint[], $7::text[], $8::bigint[], $9::text[], $10::bigint[], $11::int[],"       \
    " $12::int[], $13::text[], $14::text[])"                                                 \
    " ON CONFLICT (source, event_id) DO NOTHING"

/* Fills the transaction's id caches for every environment and link key
 * of the batches with two statements each (a SELECT, and an INSERT of the
 * missing ones), instead of a lookup per row. Keys it leaves out (a race
 * with another instance) are looked up row by row later. */
static cw_err prefill(cw__pg_conn *c, cw__event_ids *pc, cw__event_batch *const *bs, size_t nb,
                      cw_diag *d)
{
    cw__pg_array names, kinds, values;
    cw__pg_array_init(&names);
    cw__pg_array_init(&kinds);
    cw__pg_array_init(&values);
    cw_strmap seen_env, seen_link;
    memset(&seen_env, 0, sizeof seen_env);
    memset(&seen_link, 0, sizeof seen_link);
    cw_buf key;
    cw_buf_init(&key, 0);
    cw_err err = CW_OK;
    for (size_t b = 0; !err && b < nb; b++) {
        for (size_t i = 0; !err && i < bs[b]->n; i++) {
            const cw__event_row *r = &bs[b]->rows[i];
            bool ins = false;
            if (r->environment && !cw__event_env_cached(pc, r->environment) &&
                !(err = cw_strmap_put_new(&seen_env, r->environment, (void *)1, NULL, &ins)) &&
                ins)
                err = cw__pg_array_add(&names, r->environment);
            if (err || !r->link_value || !r->link_kind)
                continue;
            cw_buf_reset(&key);
            if ((err = cw_buf_printf(&key, "%d:%s", r->link_kind, r->link_value)))
                break;
            if (!cw__event_link_cached(pc, r->link_kind, r->link_value) &&
                !(err = cw_strmap_put_new(&seen_link, key.data, (void *)1, NULL, &ins)) && ins) {
                char kb[24];
                if (!(err = cw__pg_array_add(&kinds, cw__pg_i64(kb, r->link_kind))))
                    err = cw__pg_array_add(&values, r->link_value);
            }
        }
    }
    if (err) {
        err = oom(d);
        goto out;
    }
    static const char *const env_sql[] = {
        "SELECT id, name FROM event_envs WHERE name = ANY($1::text[])",
        "INSERT INTO event_envs (name) SELECT DISTINCT unnest($1::text[]) "
        "ON CONFLICT (name) DO NOTHING RETURNING id, name"};
    static const char *const link_sql[] = {
        "SELECT id, kind, value FROM event_links WHERE (kind, value) IN "
        "(SELECT * FROM unnest($1::int[], $2::text[]))",
        "INSERT INTO event_links (kind, value) SELECT DISTINCT * FROM "
        "unnest($1::int[], $2::text[]) ON CONFLICT (kind, value) DO NOTHING "
        "RETURNING id, kind, value"};
    for (int step = 0; names.n && !err && step < 2; step++) {
        PGresult *r = NULL;
        const char *p[] = {cw__pg_array_text(&names)};
        if (!p[0] || (err = cw__pg_exec(c, env_sql[step], 1, p, &r, d)))
            break;
        for (int i = 0; !err && i < PQntuples(r); i++)
            if (cw__event_env_put(pc, cw__pg_text(r, i, 1), cw__pg_int(r, i, 0)))
                err = oom(d);
        bool all = step == 0 && (size_t)PQntuples(r) == names.n;
        PQclear(r);
        if (all)
            break;
    }
    for (int step = 0; kinds.n && !err && step < 2; step++) {
        PGresult *r = NULL;
        const char *p[] = {cw__pg_array_text(&kinds), cw__pg_array_text(&values)};
        if (!p[0] || !p[1] || (err = cw__pg_exec(c, link_sql[step], 2, p, &r, d)))
            break;
        for (int i = 0; !err && i < PQntuples(r); i++)
            if (cw__event_link_put(pc, (int)cw__pg_int(r, i, 1), cw__pg_text(r, i, 2),
                                   cw__pg_int(r, i, 0)))
                err = oom(d);
        if (step == 1 && PQntuples(r) > 0)
            pc->new_links = true;
        bool all = step == 0 && (size_t)PQntuples(r) == kinds.n;
        PQclear(r);
        if (all)
            break;
    }
out:
    cw__pg_array_free(&names);
    cw__pg_array_free(&kinds);
    cw__pg_array_free(&values);
    cw_strmap_free(&seen_env);
    cw_strmap_free(&seen_link);
    cw_buf_free(&key);
    return err;
}

/* The key of an event in the map of inserted ones: "<len>:<source><id>". */
static cw_err event_key(cw_buf *k, const char *source, const char *id)
{
    cw_buf_reset(k);
    return cw_buf_printf(k, "%zu:%s%s", strlen(source), source, id);
}

/*
 * Of the rows that stored nothing (dup[k] for the k-th row of the
 * batches): those whose stored event has another body, marked 2 in dup
 * (a conflict, not a duplicate). One statement for all of them.
 */
static cw_err mark_conflicts(cw__pg_conn *c, cw__event_batch *const *bs, size_t nb, char *dup,
                             cw_diag *d)
{
    cw__pg_array src, ids;
    cw__pg_array_init(&src);
    cw__pg_array_init(&ids);
    cw_strmap bodies;
    memset(&bodies, 0, sizeof bodies);
    cw_buf key;
    cw_buf_init(&key, 0);
    PGresult *r = NULL;
    cw_err err = CW_OK;
    size_t k = 0, ndup = 0;
    for (size_t b = 0; !err && b < nb; b++)
        for (size_t i = 0; !err && i < bs[b]->n; i++, k++) {
            if (!dup[k])
                continue;
            if (cw__pg_array_add(&src, bs[b]->rows[i].source) ||
                cw__pg_array_add(&ids, bs[b]->rows[i].id))
                err = oom(d);
            ndup++;
        }
    if (err || !ndup)
        goto out;
    const char *p[] = {cw__pg_array_text(&src), cw__pg_array_text(&ids)};
    if (!p[0] || !p[1]) {
        err = oom(d);
        goto out;
    }
    err = cw__pg_exec(c,
                      "SELECT source, event_id, body FROM events WHERE (source, event_id) IN "
                      "(SELECT * FROM unnest($1::text[], $2::text[]))",
                      2, p, &r, d);
    for (int i = 0; !err && i < PQntuples(r); i++)
        if (event_key(&key, cw__pg_text(r, i, 0), cw__pg_text(r, i, 1)) ||
            cw_strmap_put(&bodies, key.data, (void *)(intptr_t)(i + 1)))
            err = oom(d);
    k = 0;
    for (size_t b = 0; !err && b < nb; b++)
        for (size_t i = 0; !err && i < bs[b]->n; i++, k++) {
            if (!dup[k])
                continue;
            const cw__event_row *row = &bs[b]->rows[i];
            if (event_key(&key, row->source, row->id)) {
                err = oom(d);
                break;
            }
            intptr_t at = (intptr_t)cw_strmap_get(&bodies, key.data);
            if (at && !cw__event_body_same(PQgetvalue(r, (int)at - 1, 2),
                                           (size_t)PQgetlength(r, (int)at - 1, 2), row->body))
                dup[k] = 2;
        }
out:
    PQclear(r);
    cw_strmap_free(&bodies);
    cw_buf_free(&key);
    cw__pg_array_free(&src);
    cw__pg_array_free(&ids);
    return err;
}

/*
 * The rows of the batches as column arrays, written with one statement;
 * each batch's accepted/duplicate counts come from the rows the statement
 * returns (the first occurrence of a key in the statement is the one
 * inserted, later ones and stored ones are duplicates, or conflicts when
 * their body differs from the stored one).
 */
static cw_err put_rows(cw__pg_conn *c, cw__event_ids *pc, cw__event_batch *const *bs, size_t nb,
                       int64_t now_ms, cw_diag *d)
{
    cw__pg_array col[NCOLS];
    for (int k = 0; k < NCOLS; k++)
        cw__pg_array_init(&col[k]);
    cw_strmap inserted;
    memset(&inserted, 0, sizeof inserted);
    cw_buf key;
    cw_buf_init(&key, 0);
    char now[24];
    cw__pg_i64(now, now_ms);
    cw_err err = CW_OK;
    size_t total = 0;
    for (size_t b = 0; !err && b < nb; b++) {
        memset(&bs[b]->res, 0, sizeof bs[b]->res);
        for (size_t i = 0; !err && i < bs[b]->n; i++) {
            const cw__event_row *r = &bs[b]->rows[i];
            int64_t env = 0, link = 0;
            if (r->environment &&
                (err = cw__event_env_id(pc, r->environment, key_row, c, &env, d)))
                break;
            bool linked = r->link_value && r->link_kind;
            if (linked &&
                (err = cw__event_link_id(pc, r->link_kind, r->link_value, key_row, c, &link, d)))
                break;
            char t[24], e[24], l[24], cl[24], k[24];
            const char *v[NCOLS] = {r->source,
                                    r->id,
                                    r->type,
                                    r->subject_id,
                                    cw__pg_i64(t, r->time_ms),
                                    now,
                                    r->chain_id,
                                    r->environment ? cw__pg_i64(e, env) : NULL,
                                    r->artifact_id,
                                    linked ? cw__pg_i64(l, link) : NULL,
                                    cw__pg_i64(cl, r->cls),
                                    cw__pg_i64(k, r->kind),
                                    r->changes,
                                    r->body};
            for (int j = 0; !err && j < NCOLS; j++)
                if (cw__pg_array_add(&col[j], v[j]))
                    err = oom(d);
            total++;
        }
    }
    PGresult *r = NULL;
    if (!err && total) {
        const char *p[NCOLS];
        for (int k = 0; k < NCOLS && !err; k++)
            if (!(p[k] = cw__pg_array_text(&col[k])))
                err = oom(d);
        if (!err)
            err = cw__pg_exec(c, INSERT_EVENTS_SQL " RETURNING source, event_id", NCOLS, p, &r,
                              d);
    }
    for (int i = 0; !err && r && i < PQntuples(r); i++)
        if (event_key(&key, cw__pg_text(r, i, 0), cw__pg_text(r, i, 1)) ||
            cw_strmap_put(&inserted, key.data, (void *)1))
            err = oom(d);
    char *dup = !err && total ? calloc(total, 1) : NULL;
    if (!err && total && !dup)
        err = oom(d);
    size_t rn = 0;
    for (size_t b = 0; !err && b < nb; b++) {
        for (size_t i = 0; !err && i < bs[b]->n; i++, rn++) {
            const cw__event_row *row = &bs[b]->rows[i];
            if (event_key(&key, row->source, row->id)) {
                err = oom(d);
                break;
            }
            /* claimed once: the value turns from 1 to 2 */
            if (cw_strmap_get(&inserted, key.data) == (void *)1) {
                cw_strmap_put(&inserted, key.data, (void *)2);
                bs[b]->res.accepted++;
                /* a new incident event updates its incident in this transaction */
                if (row->cls == CW__EVC_INCIDENT)
                    err = cw__pg_incident_event(c, row->body, now_ms, d);
            } else {
                dup[rn] = 1;
            }
        }
    }
    if (!err && total)
        err = mark_conflicts(c, bs, nb, dup, d);
    rn = 0;
    for (size_t b = 0; !err && b < nb; b++)
        for (size_t i = 0; i < bs[b]->n; i++, rn++) {
            if (dup[rn] == 1)
                bs[b]->res.duplicates++;
            else if (dup[rn] == 2)
                bs[b]->res.conflicts++;
        }
    free(dup);
    PQclear(r);
    cw_strmap_free(&inserted);
    cw_buf_free(&key);
    for (int k = 0; k < NCOLS; k++)
        cw__pg_array_free(&col[k]);
    return err;
}

static bool tx_failed(const cw__pg_conn *c)
{
    return c->retry || !c->pg || PQstatus(c->pg) != CONNECTION_OK;
}

/* After the request's statement failed: writes its rows one by one (inside
 * the savepoint, rolled back by the caller) to name the row at fault. */
static void name_failing_row(cw__pg_conn *c, cw__event_ids *pc, cw__event_batch *b, int64_t now_ms)
{
    cw_diag ignored;
    if (cw__pg_cmd(c, "ROLLBACK TO SAVEPOINT events_batch", &ignored))
        return;
    put_cache_free(pc);
    for (size_t i = 0; i < b->n; i++) {
        cw__event_batch one = {.rows = &b->rows[i], .n = 1};
        cw__event_batch *const pone[1] = {&one};
        cw_err err = put_rows(c, pc, pone, 1, now_ms, &one.diag);
        if (err) {
            if (!tx_failed(c)) {
                b->diag = one.diag;
                cw_diag_prefix(&b->diag, "events[%zu]", i);
            }
            return;
        }
    }
}

static cw_err put_batch(cw__pg_conn *c, cw__event_ids *pc, cw__event_batch *b, int64_t now_ms)
{
    memset(&b->res, 0, sizeof b->res);
    b->err = CW_OK;
    cw_err err = cw__pg_cmd(c, "SAVEPOINT events_batch", &b->diag);
    if (err)
        return err;
    cw__event_batch *const pb[1] = {b};
    err = put_rows(c, pc, pb, 1, now_ms, &b->diag);
    if (!err)
        return cw__pg_cmd(c, "RELEASE SAVEPOINT events_batch", &b->diag);
    if (!tx_failed(c))
        name_failing_row(c, pc, b, now_ms);
    /* a deadlock or a lost connection fails the transaction (retried);
     * anything else fails this request alone */
    if (tx_failed(c))
        return err;
    memset(&b->res, 0, sizeof b->res);
    b->err = err;
    cw_diag ignored;
    if (cw__pg_cmd(c, "ROLLBACK TO SAVEPOINT events_batch; RELEASE SAVEPOINT events_batch",
                   &ignored))
        return err; /* cannot recover the transaction */
    /* ids cached from the undone part may no longer exist */
    put_cache_free(pc);
    return CW_OK;
}

typedef struct {
    cw__event_batch *const *batches;
    size_t n;
    int64_t now_ms;
    bool careful;          /* one savepoint per request (after a failure) */
} put_ctx;

/*
 * The usual case writes every request of the group commit with one
 * statement. If that fails for a reason other than a deadlock or a lost
 * connection, the transaction runs again in careful mode: each request in
 * its own savepoint, so that only the failing one fails.
 */
static cw_err put_tx(cw__pg_conn *c, void *arg, cw_diag *d)
{
    put_ctx *x = arg;
    cw__event_ids pc;
    memset(&pc, 0, sizeof pc);
    cw_err err = refresh_if_stale(c, d);
    if (!err)
        err = prefill(c, &pc, x->batches, x->n, d);
    if (!err && !x->careful) {
        for (size_t i = 0; i < x->n; i++)
            x->batches[i]->err = CW_OK;
        err = put_rows(c, &pc, x->batches, x->n, x->now_ms, d);
        if (err && !tx_failed(c) && x->n > 0) {
            x->careful = true;
            c->retry = true;
        }
    } else {
        for (size_t i = 0; !err && i < x->n; i++) {
            err = put_batch(c, &pc, x->batches[i], x->now_ms);
            if (err)
                *d = x->batches[i]->diag;
        }
    }
    if (!err && pc.new_links)
        err = links_refresh(c, false, d);
    if (!err)
        err = cw__pg_events_audit(c, x->batches, x->n, d);
    put_cache_free(&pc);
    return err;
}

static cw_err ev_put(cw_store *store, cw__event_batch *const *batches, size_t n, int64_t now_ms,
                     cw_diag *d)
{
    put_ctx x = {batches, n, now_ms, false};
    return cw__pg_write(cw__pg(store), put_tx, &x, d);
}

/* ---- scopes ------------------------------------------------------------------------------------------ */

/* CW_ERR_NOT_FOUND unless the scope's entity exists. */
static cw_err scope_check(cw__pg_conn *c, const cw_scope *sc, cw_diag *d)
{
    if (!cw_scope_is_entity(sc))
        return CW_OK;
    PGresult *r = NULL;
    const char *p[] = {sc->key};
    cw_err err = cw__pg_exec(c, "SELECT 1 FROM entities WHERE key = $1", 1, p, &r, d);
    if (!err && PQntuples(r) == 0)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "scope: %s does not exist", sc->key);
    PQclear(r);
    return err;
}

/* ---- listing ------------------------------------------------------------------------------------------ */

static const cw__sql_dialect pg_dialect = {
    .placeholder = '$',
    .true_lit = "true",
    .prefix_fmt = "left(e.type, length(%s)) = %s",
    .resolved = "resolved",
    .older_fmt = "(e.time_ms, e.id) < (%s::bigint, %s::bigint)",
};

typedef struct {
    const cw_event_query *q;
    cw_event_list *out;
} query_ctx;

static cw_err query_tx(cw__pg_conn *c, void *arg, cw_diag *d)
{
    query_ctx *x = arg;
    const cw_event_query *q = x->q;
    cw_event_list_free(x->out);
    cw__sql_param prm[CW__EVENT_QUERY_PARAMS];
    char ints[CW__EVENT_QUERY_PARAMS][24];
    const char *p[CW__EVENT_QUERY_PARAMS];
    int n = 0;
    cw_buf sql;
    cw_buf_init(&sql, 0);
    cw_err err = cw__event_list_sql(q, &pg_dialect, &sql, prm, &n, d);
    for (int i = 0; !err && i < n; i++)
        p[i] = prm[i].text ? prm[i].text : cw__pg_i64(ints[i], prm[i].i);
    PGresult *r = NULL;
    if (!err && !q->unmatched)
        err = scope_check(c, q->scope, d);
    if (!err)
        err = cw__pg_exec_dyn(c, cw_buf_cstr(&sql), n, p, &r, d);
    cw_buf_free(&sql);
    int rows = err ? 0 : PQntuples(r);
    cw_stored_event *items = rows ? calloc((size_t)rows, sizeof *items) : NULL;
    if (rows && !items)
        err = oom(d);
    size_t len = 0;
    for (int i = 0; !err && i < rows; i++) {
        cw__event_cols row = {
            .seq = cw__pg_int(r, i, 0),
            .time_ms = cw__pg_int(r, i, 1),
            .received_ms = cw__pg_int(r, i, 2),
            .source = val(r, i, 3),
            .id = val(r, i, 4),
            .type = val(r, i, 5),
            .subject_id = val(r, i, 6),
            .chain_id = val(r, i, 7),
            .environment = val(r, i, 8),
            .artifact_id = val(r, i, 9),
            .link_kind = (int)id_val(r, i, 10),
            .link_value = val(r, i, 11),
            .component_ref = val(r, i, 12),
            .body = val(r, i, 13),
        };
        err = cw__stored_event_fill(&items[len++], &row, d);
    }
    PQclear(r);
    x->out->items = items;
    x->out->len = len;
    return err;
}

/* Text that is not UTF-8 names nothing stored: a scope key is then an
 * entity that does not exist, a filter matches no event. */
static bool query_text_ok(const cw_event_query *q, bool *scope_bad)
{
    *scope_bad = q->scope && !q->unmatched && cw_scope_is_entity(q->scope) && !cw__pg_utf8(q->scope->key);
    return (!q->type_prefix || cw__pg_utf8(q->type_prefix)) &&
           (!q->environment || cw__pg_utf8(q->environment));
}

static cw_err ev_query(cw_store *store, const cw_event_query *q, cw_event_list *out, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    memset(out, 0, sizeof *out);
    bool scope_bad;
    bool text_ok = query_text_ok(q, &scope_bad);
    if (scope_bad)
        return cw_fail(d, CW_ERR_NOT_FOUND, "scope: %s does not exist", q->scope->key);
    if (!text_ok)
        return CW_OK;
    cw_err err = links_ensure_fresh(s, d);
    query_ctx x = {q, out};
    if (!err)
        err = cw__pg_read(s, query_tx, &x, d);
    if (err)
        cw_event_list_free(out);
    return err;
}

static cw_err ev_unmatched_keys(cw_store *store, size_t max, cw_unmatched_key **out, size_t *n,
                                cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    cw_err err = links_ensure_fresh(s, d);
    if (err)
        return err;
    cw_unmatched_key *keys = NULL;
    size_t len = 0;
    cw__pg_conn *c = NULL;
    PGresult *r = NULL;
    char mb[24];
    const char *p[] = {cw__pg_i64(mb, cw__clamp64(max))};
    if ((err = cw__pg_acquire(s, &c, d)) ||
        (err = cw__pg_exec(c,
                           "SELECT l.kind, l.value, count(*), max(e.time_ms)"
                           " FROM event_links l JOIN events e ON e.link_id = l.id"
                           " WHERE l.component_id IS NULL AND l.resolved"
                           " GROUP BY l.id ORDER BY count(*) DESC, l.value LIMIT $1",
                           1, p, &r, d)))
        goto out;
    int rows = PQntuples(r);
    keys = rows ? calloc((size_t)rows, sizeof *keys) : NULL;
    if (rows && !keys) {
        err = oom(d);
        goto out;
    }
    for (int i = 0; !err && i < rows; i++)
        err = cw__unmatched_key_fill(&keys[len++], (int)cw__pg_int(r, i, 0), val(r, i, 1),
                                     cw__pg_int(r, i, 2), cw__pg_int(r, i, 3), d);
out:
    PQclear(r);
    cw__pg_release(s, c);
    return cw__unmatched_keys_done(err, keys, len, out, n);
}

/* ---- delivery inputs ------------------------------------------------------------------------------------ */

/* One delivery scan: the query, the sink and its ctx, and the link ids the
 * sink wants (scoped scans). */
typedef struct {
    const cw_delivery_query *q;
    const cw_delivery_sink *sink;
    void *ctx;
    cw__pg_array scope_links;
} scan;

static cw_err scan_components(cw__pg_conn *c, scan *x, cw_diag *d)
{
    const cw_scope *sc = x->q->scope;
    char sql[1024];
    cw__delivery_components_sql(sc, "$1", sql, sizeof sql);
    PGresult *r = NULL;
    const char *p[] = {cw_scope_is_entity(sc) ? sc->key : NULL};
    cw_err err = cw__pg_exec(c, sql, cw_scope_is_entity(sc) ? 1 : 0, p, &r, d);
    for (int i = 0; !err && i < PQntuples(r); i++)
        err = x->sink->component(x->ctx, cw__pg_int(r, i, 0), cw__pg_text(r, i, 1),
                                 text_or_null(r, i, 2), d);
    PQclear(r);
    return err;
}

/* Bounds, links (collecting the wanted ones) and environments. */
static cw_err scan_maps(cw__pg_conn *c, scan *x, cw_diag *d)
{
    int64_t max_link = 0, max_env = 0;
    cw_err err = read_int(c, CW__DELIVERY_MAX_LINK_SQL, &max_link, d);
    if (!err)
        err = read_int(c, CW__DELIVERY_MAX_ENV_SQL, &max_env, d);
    if (!err)
        err = x->sink->bounds(x->ctx, max_link, max_env, d);
    if (err)
        return err;
    PGresult *r = NULL;
    err = cw__pg_exec(c, CW__DELIVERY_LINKS_SQL, 0, NULL, &r, d);
    for (int i = 0; !err && i < PQntuples(r); i++) {
        bool wanted = false;
        int64_t link = cw__pg_int(r, i, 0);
        err = x->sink->link(x->ctx, link, cw__pg_int(r, i, 1), (int)cw__pg_int(r, i, 2),
                            &wanted, d);
        if (!err && wanted && cw__pg_array_add_i64(&x->scope_links, link))
            err = cw_fail(d, CW_ERR_NOMEM, "delivery: out of memory");
    }
    PQclear(r);
    r = NULL;
    if (!err)
        err = cw__pg_exec(c, "SELECT id, name FROM event_envs", 0, NULL, &r, d);
    for (int i = 0; !err && i < PQntuples(r); i++)
        err = x->sink->environment(x->ctx, cw__pg_int(r, i, 0), cw__pg_text(r, i, 1), d);
    PQclear(r);
    return err;
}

/* Streams the rows of one event class, filtered by the scope's links
 * unless org-wide (then the sink skips rows outside the catalog). */
static cw_err each_of_class(cw__pg_conn *c, const char *cols, int cls, const char *order,
                            cw__pg_array *scope_links, scan *x, row_fn fn, cw_diag *d)
{
    char sql[512];
    /* "cls > 0" repeats the partial index's condition so the planner uses it */
    snprintf(sql, sizeof sql, "SELECT %s FROM events WHERE cls > 0 AND cls = %d%s%s", cols, cls,
             scope_links ? " AND link_id = ANY($1::bigint[])" : "", order);
    const char *p[1] = {NULL};
    if (scope_links && !(p[0] = cw__pg_array_text(scope_links)))
        return cw_fail(d, CW_ERR_NOMEM, "delivery: out of memory");
    return each_row(c, sql, scope_links ? 1 : 0, p, fn, x, d);
}

static cw_delivery_text text_val(const PGresult *r, int row, int col)
{
    cw__text t = val(r, row, col);
    return (cw_delivery_text){t.s, t.n};
}

static cw_err service_row(void *arg, const PGresult *r, int i, cw_diag *d)
{
    scan *x = arg;
    cw_delivery_service_row row = {
        .link = id_val(r, i, 0),
        .kind = (int)cw__pg_int(r, i, 1),
        .time_ms = cw__pg_int(r, i, 2),
        .env = id_val(r, i, 3),
        .artifact = text_val(r, i, 4),
        .chain = text_val(r, i, 5),
        .changes = text_or_null(r, i, 6),
    };
    return x->sink->service(x->ctx, &row, d);
}

static cw_err change_row(void *arg, const PGresult *r, int i, cw_diag *d)
{
    scan *x = arg;
    cw_delivery_subject_row row = {
        .link = id_val(r, i, 0),
        .subject = text_val(r, i, 1),
        .kind = (int)cw__pg_int(r, i, 2),
        .time_ms = cw__pg_int(r, i, 3),
    };
    return x->sink->change(x->ctx, &row, d);
}

static cw_err incident_row(void *arg, const PGresult *r, int i, cw_diag *d)
{
    scan *x = arg;
    cw_delivery_subject_row row = {
        .link = id_val(r, i, 0),
        .subject = text_val(r, i, 1),
        .kind = (int)cw__pg_int(r, i, 2),
        .time_ms = cw__pg_int(r, i, 3),
        .artifact = text_val(r, i, 4),
    };
    return x->sink->incident(x->ctx, &row, d);
}

static cw_err delivery_tx(cw__pg_conn *c, void *arg, cw_diag *d)
{
    scan *x = arg;
    const cw_delivery_query *q = x->q;
    /* a retried transaction starts over: so does the sink */
    cw__pg_array_reset(&x->scope_links);
    cw__pg_array *by_scope = cw_scope_is_entity(q->scope) ? &x->scope_links : NULL;
    cw_err err = scope_check(c, q->scope, d);
    if (!err)
        err = x->sink->begin(x->ctx, d);
    if (!err)
        err = scan_components(c, x, d);
    if (!err)
        err = scan_maps(c, x, d);
    if (!err && (q->what & (CW_DELIVERY_DEPLOYMENTS | CW_DELIVERY_ROLLBACKS)))
        err = each_of_class(c, "link_id, kind, time_ms, env_id, artifact_id, chain_id, changes",
                            CW__EVC_SERVICE, " ORDER BY link_id, subject_id, time_ms, id",
                            by_scope, x, service_row, d);
    if (!err && (q->what & CW_DELIVERY_CHANGES))
        err = each_of_class(c, "link_id, subject_id, kind, time_ms", CW__EVC_CHANGE,
                            " ORDER BY link_id, subject_id, time_ms, id", by_scope, x,
                            change_row, d);
    /* every incident event: one incident's events need not all name its
     * service, so the sink applies the scope per incident */
    if (!err && (q->what & CW_DELIVERY_INCIDENTS))
        err = each_of_class(c, "link_id, subject_id, kind, time_ms, artifact_id",
                            CW__EVC_INCIDENT, " ORDER BY link_id, subject_id, time_ms, id", NULL,
                            x, incident_row, d);
    return err;
}

static cw_err ev_delivery(cw_store *store, const cw_delivery_query *q,
                          const cw_delivery_sink *sink, void *ctx, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    if (cw_scope_is_entity(q->scope) && !cw__pg_utf8(q->scope->key))
        return cw_fail(d, CW_ERR_NOT_FOUND, "scope: %s does not exist", q->scope->key);
    cw_err err = links_ensure_fresh(s, d);
    if (err)
        return err;
    scan x = {.q = q, .sink = sink, .ctx = ctx};
    cw__pg_array_init(&x.scope_links);
    err = cw__pg_read(s, delivery_tx, &x, d);
    cw__pg_array_free(&x.scope_links);
    return err;
}

const struct cw_store_event_ops cw__pg_event_ops = {
    .put = ev_put,
    .query = ev_query,
    .unmatched_keys = ev_unmatched_keys,
    .delivery = ev_delivery,
    .link_owners = ev_link_owners,
    .catalog_gen = ev_catalog_gen,
};
