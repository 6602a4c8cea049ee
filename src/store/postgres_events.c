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

#include "store/event_codec.h"
#include "store/events_impl.h"
#include "store/incidents_impl.h"
#include "store/sql.h"
#include "store/store_rows.h"
#include "util/strmap.h"
#include "util/timeutil.h"

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
    if (kind == CW__KEY_ENV) {
        const char *p[] = {value};
        return lookup_or_insert(ctx, "SELECT id FROM event_envs WHERE name = $1",
                                "INSERT INTO event_envs (name) VALUES ($1) "
                                "ON CONFLICT (name) DO NOTHING RETURNING id",
                                1, p, out, inserted, d);
    }
    if (kind == CW__KEY_SOURCE) {
        const char *p[] = {value};
        return lookup_or_insert(ctx, "SELECT id FROM event_sources WHERE name = $1",
                                "INSERT INTO event_sources (name) VALUES ($1) "
                                "ON CONFLICT (name) DO NOTHING RETURNING id",
                                1, p, out, inserted, d);
    }
    if (kind == CW__KEY_TYPE) {
        const char *p[] = {value};
        return lookup_or_insert(ctx, "SELECT id FROM event_types WHERE name = $1",
                                "INSERT INTO event_types (name) VALUES ($1) "
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

#define NCOLS 10

#define INSERT_EVENTS_SQL                                                                    \
    "INSERT INTO events (time_ms, received_ms, source_id, event_key, type_id, env_id,"      \
    " link_id, cls, dict_id, doc)"                                                           \
    " SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::bytea[], $5::int[],"  \
    " $6::int[], $7::int[], $8::smallint[], $9::int[], $10::bytea[])"                        \
    " ON CONFLICT (source_id, event_key) DO NOTHING"

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

/* The stored key of context.id into out (event_codec.h). */
static cw_err stored_key(const char *id, cw_buf *out)
{
    size_t cap = strlen(id) + CW__KEY_UUID_LEN;
    cw_buf_reset(out);
    for (size_t i = 0; i < cap; i++)
        cw_buf_putc(out, 0);
    if (cw_buf_error(out))
        return CW_ERR_NOMEM;
    cw_buf_truncate(out, cw__event_key(id, (unsigned char *)out->data, cap));
    return CW_OK;
}

/* The key of an event in the map of inserted ones: "<source id>:<key as
 * the server writes bytea>". */
static cw_err event_key(cw_buf *k, int64_t source, const void *key, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *b = key;
    cw_buf_reset(k);
    cw_buf_printf(k, "%lld:\\x", (long long)source);
    for (size_t i = 0; i < n; i++) {
        char h[2] = {hex[b[i] >> 4], hex[b[i] & 15]};
        cw_buf_add(k, h, 2);
    }
    return cw_buf_error(k);
}

/* ---- delivery rows (migration "delivery rows") ---------------------------------------------- */

/* A stored event that brings delivery rows: its row and its events.id. */
typedef struct {
    const cw__event_row *r;
    int64_t seq, env, link;
    int64_t source;           /* event_sources.id */
} stored_row;

typedef struct {
    int64_t link;
    const char *subject;
    bool has_created, has_merged;
    int64_t created, merged;
} change_fold;

static int fold_cmp(const void *a, const void *b)
{
    const change_fold *x = a, *y = b;
    int c = strcmp(x->subject, y->subject);
    return c ? c : (x->link > y->link) - (x->link < y->link);
}

/*
 * The delivery rows of the stored events, and what they change in the
 * others: a deployment's listed ids claim their changes, an incident that
 * names an artifact marks the deployments of that artifact. Each of those
 * hints is read from the other table when a row is written and pushed to
 * the rows already there, so two instances writing the two halves at once
 * could each miss the other's: the upkeep takes a transaction-scoped
 * advisory lock first (the rest of the events' transaction runs in
 * parallel). Change events fold per (subject, link) first: one statement
 * may not update a row twice.
 */
static cw_err put_delivery(cw__pg_conn *c, const stored_row *rows, size_t n, cw_diag *d)
{
    enum { I_T, I_SEQ, I_LINK, I_KIND, I_SUBJ, I_ART, S_ENV, S_T, S_SEQ, S_LINK, S_KIND, S_ART,
           S_CHAIN, S_CHANGES, C_ID, C_ENV, C_T, C_SEQ, G_SUBJ, G_LINK, G_CREATED, G_MERGED, NARR };
    cw__pg_array a[NARR];
    for (int k = 0; k < NARR; k++)
        cw__pg_array_init(&a[k]);
    change_fold *folds = NULL;
    size_t nf = 0, ninc = 0, nsvc = 0, nclaims = 0;
    cw_err err = CW_OK;
    char b1[24], b2[24], b3[24], b4[24];
    for (size_t i = 0; !err && i < n; i++) {
        const cw__event_row *r = rows[i].r;
        const char *t = cw__pg_i64(b1, r->time_ms), *seq = cw__pg_i64(b2, rows[i].seq);
        const char *link = rows[i].link ? cw__pg_i64(b3, rows[i].link) : NULL;
        char kb[24];
        const char *kind = cw__pg_i64(kb, r->kind);
        if (r->cls == CW__EVC_INCIDENT) {
            const char *v[] = {t, seq, link, kind, r->subject_id, r->artifact_id};
            for (int k = 0; !err && k < 6; k++)
                err = cw__pg_array_add(&a[I_T + k], v[k]);
            ninc++;
        } else if (r->cls == CW__EVC_SERVICE) {
            const char *env = cw__pg_i64(b4, rows[i].env); /* 0: none (part of the key) */
            const char *v[] = {env, t, seq, link, kind, r->artifact_id, r->chain_id, r->changes};
            for (int k = 0; !err && k < 8; k++)
                err = cw__pg_array_add(&a[S_ENV + k], v[k]);
            const char *id = r->change_ids;
            for (size_t j = 0; !err && j < r->nchange_ids; j++, id += strlen(id) + 1) {
                if (!(err = cw__pg_array_add(&a[C_ID], id)) &&
                    !(err = cw__pg_array_add(&a[C_ENV], env)) &&
                    !(err = cw__pg_array_add(&a[C_T], t)))
                    err = cw__pg_array_add(&a[C_SEQ], seq);
                nclaims++;
            }
            nsvc++;
        } else if (r->cls == CW__EVC_CHANGE && rows[i].link &&
                   (r->kind == CW_EVK_CHANGE_CREATED || r->kind == CW_EVK_CHANGE_MERGED)) {
            if (!(nf % 256)) {
                change_fold *p = realloc(folds, (nf + 256) * sizeof *p);
                if (!p) {
                    err = CW_ERR_NOMEM;
                    break;
                }
                folds = p;
            }
            bool created = r->kind == CW_EVK_CHANGE_CREATED;
            folds[nf++] = (change_fold){rows[i].link, r->subject_id, created, !created,
                                        r->time_ms, r->time_ms};
        }
    }
    if (nf) {
        qsort(folds, nf, sizeof *folds, fold_cmp);
        for (size_t i = 0; !err && i < nf;) {
            change_fold f = folds[i];
            size_t j = i + 1;
            for (; j < nf && folds[j].link == f.link && !strcmp(folds[j].subject, f.subject); j++) {
                if (folds[j].has_created && (!f.has_created || folds[j].created < f.created)) {
                    f.has_created = true;
                    f.created = folds[j].created;
                }
                if (folds[j].has_merged && (!f.has_merged || folds[j].merged < f.merged)) {
                    f.has_merged = true;
                    f.merged = folds[j].merged;
                }
            }
            if (!(err = cw__pg_array_add(&a[G_SUBJ], f.subject)) &&
                !(err = cw__pg_array_add_i64(&a[G_LINK], f.link)) &&
                !(err = cw__pg_array_add(&a[G_CREATED], f.has_created ? cw__pg_i64(b1, f.created)
                                                                      : NULL)))
                err = cw__pg_array_add(&a[G_MERGED], f.has_merged ? cw__pg_i64(b1, f.merged) : NULL);
            i = j;
        }
    }
    const char *p[NARR];
    for (int k = 0; !err && k < NARR; k++)
        if (!(p[k] = cw__pg_array_text(&a[k])))
            err = CW_ERR_NOMEM;
    if (err) {
        err = oom(d);
        goto out;
    }
    /* any constant key: 0x63776476, "cwdv" */
    if (ninc || nsvc || nf)
        err = cw__pg_exec(c, "SELECT pg_advisory_xact_lock(1668769910)", 0, NULL, NULL, d);
    if (!err && ninc) {
        /* an incident's earliest event moves when one of these is earlier */
        const char *q[] = {p[I_SUBJ], p[I_T]};
        err = cw__pg_exec(c,
                          "UPDATE delivery_incidents g SET first_ms = u.t"
                          " FROM (SELECT s, min(t) AS t FROM unnest($1::text[], $2::bigint[])"
                          "  AS x(s, t) GROUP BY s) u"
                          " WHERE g.subject_id = u.s AND g.first_ms > u.t",
                          2, q, NULL, d);
    }
    if (!err && ninc)
        err = cw__pg_exec(c,
                          "INSERT INTO delivery_incidents (time_ms, seq, link_id, kind,"
                          " subject_id, artifact_id, first_ms, artifact_first_ms)"
                          " SELECT u.*, least(min(u.t) OVER (PARTITION BY u.subj),"
                          "  (SELECT min(i.first_ms) FROM delivery_incidents i"
                          "   WHERE i.subject_id = u.subj)),"
                          " (SELECT min(v.time_ms) FROM delivery_service v"
                          "  WHERE v.artifact_h = hashtextextended(u.a, 0) AND v.artifact_id = u.a)"
                          " FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::int[],"
                          " $5::text[], $6::text[]) AS u(t, s, l, k, subj, a)",
                          6, &p[I_T], NULL, d);
    if (!err && nsvc)
        err = cw__pg_exec(c,
                          "INSERT INTO delivery_service (env_id, time_ms, seq, link_id, kind,"
                          " artifact_id, chain_id, changes, artifact_h, incident_ms)"
                          " SELECT u.*, hashtextextended(u.a, 0),"
                          " (SELECT min(i.time_ms) FROM delivery_incidents i"
                          "  WHERE i.artifact_id = u.a)"
                          " FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[],"
                          " $5::int[], $6::text[], $7::text[], $8::text[])"
                          " AS u(e, t, s, l, k, a, ch, cs)",
                          8, &p[S_ENV], NULL, d);
    if (!err && nsvc) {
        const char *q[] = {p[S_ART], p[S_T]};
        err = cw__pg_exec(c,
                          "UPDATE delivery_incidents i SET artifact_first_ms = u.t"
                          " FROM (SELECT a, min(t) AS t FROM unnest($1::text[], $2::bigint[])"
                          "  AS x(a, t) WHERE a IS NOT NULL GROUP BY a) u"
                          " WHERE i.artifact_id = u.a"
                          " AND (i.artifact_first_ms IS NULL OR i.artifact_first_ms > u.t)",
                          2, q, NULL, d);
    }
    if (!err && ninc) {
        const char *q[] = {p[I_ART], p[I_T]};
        err = cw__pg_exec(c,
                          "UPDATE delivery_service s SET incident_ms = u.t"
                          " FROM (SELECT a, min(t) AS t FROM unnest($1::text[], $2::bigint[])"
                          "  AS x(a, t) WHERE a IS NOT NULL GROUP BY a) u"
                          " WHERE s.artifact_h = hashtextextended(u.a, 0) AND s.artifact_id = u.a"
                          " AND (s.incident_ms IS NULL OR s.incident_ms > u.t)",
                          2, q, NULL, d);
    }
    if (!err && nclaims)
        err = cw__pg_exec(c,
                          "INSERT INTO delivery_claims (change_id, env_id, time_ms, seq)"
                          " SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[],"
                          " $4::bigint[]) ON CONFLICT DO NOTHING",
                          4, &p[C_ID], NULL, d);
    if (!err && nf)
        err = cw__pg_exec(c,
                          "INSERT INTO delivery_changes (subject_id, link_id, created_ms,"
                          " merged_ms, claim_ms)"
                          " SELECT u.*, (SELECT min(time_ms) FROM delivery_claims"
                          "  WHERE change_id = u.s)"
                          " FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[])"
                          " AS u(s, l, c, m)"
                          " ON CONFLICT (subject_id, link_id) DO UPDATE SET"
                          " created_ms = least(delivery_changes.created_ms, excluded.created_ms),"
                          " merged_ms = least(delivery_changes.merged_ms, excluded.merged_ms)",
                          4, &p[G_SUBJ], NULL, d);
    if (!err && nclaims)
        err = cw__pg_exec(c,
                          "UPDATE delivery_changes g SET claim_ms = u.t"
                          " FROM (SELECT id, min(t) AS t FROM unnest($1::text[], $2::bigint[])"
                          "  AS x(id, t) GROUP BY id) u"
                          " WHERE g.subject_id = u.id AND (g.claim_ms IS NULL OR g.claim_ms > u.t)",
                          2, (const char *[]){p[C_ID], p[C_T]}, NULL, d);
out:
    free(folds);
    for (int k = 0; k < NARR; k++)
        cw__pg_array_free(&a[k]);
    return err;
}

/*
 * Of the rows that stored nothing (dup[k] for the k-th row of the
 * batches): those whose stored event has another body, marked 2 in dup
 * (a conflict, not a duplicate). One statement for all of them.
 */
static cw_err mark_conflicts(cw__pg_conn *c, cw__event_batch *const *bs, size_t nb,
                             const stored_row *st, char *dup, cw_diag *d)
{
    cw__pg_array src, keys;
    cw__pg_array_init(&src);
    cw__pg_array_init(&keys);
    cw_strmap bodies;
    memset(&bodies, 0, sizeof bodies);
    cw_buf key, kb, scratch, docb;
    cw_buf_init(&key, 0);
    cw_buf_init(&kb, 0);
    cw_buf_init(&scratch, 0);
    cw_buf_init(&docb, 0);
    PGresult *r = NULL;
    cw_err err = CW_OK;
    size_t k = 0, ndup = 0;
    for (size_t b = 0; !err && b < nb; b++)
        for (size_t i = 0; !err && i < bs[b]->n; i++, k++) {
            if (!dup[k])
                continue;
            if (stored_key(bs[b]->rows[i].id, &kb) ||
                cw__pg_array_add_i64(&src, st[k].source) ||
                cw__pg_array_add_bytea(&keys, kb.data, kb.len))
                err = oom(d);
            ndup++;
        }
    if (err || !ndup)
        goto out;
    const char *p[] = {cw__pg_array_text(&src), cw__pg_array_text(&keys)};
    if (!p[0] || !p[1]) {
        err = oom(d);
        goto out;
    }
    err = cw__pg_exec(c,
                      "SELECT source_id, event_key, dict_id, doc FROM events"
                      " WHERE (source_id, event_key) IN"
                      " (SELECT * FROM unnest($1::int[], $2::bytea[]))",
                      2, p, &r, d);
    for (int i = 0; !err && i < PQntuples(r); i++) {
        cw_buf_reset(&key);
        if (cw_buf_printf(&key, "%s:%s", cw__pg_text(r, i, 0), cw__pg_text(r, i, 1)) ||
            cw_strmap_put(&bodies, key.data, (void *)(intptr_t)(i + 1)))
            err = oom(d);
    }
    k = 0;
    for (size_t b = 0; !err && b < nb; b++)
        for (size_t i = 0; !err && i < bs[b]->n; i++, k++) {
            if (!dup[k])
                continue;
            const cw__event_row *row = &bs[b]->rows[i];
            if (stored_key(row->id, &kb) || event_key(&key, st[k].source, kb.data, kb.len)) {
                err = oom(d);
                break;
            }
            intptr_t at = (intptr_t)cw_strmap_get(&bodies, key.data);
            if (!at)
                continue;
            cw__event_doc doc;
            if (cw__pg_bytea(r, (int)at - 1, 3, &docb)) {
                err = cw_fail(d, CW_ERR_IO, "events: a stored event is damaged (bytea)");
                break;
            }
            err = cw__codec_decode(c->owner->codec, cw__pg_int(r, (int)at - 1, 2), docb.data,
                                   docb.len, cw__pg_load_dict, c, &scratch, &doc, d);
            if (!err && !cw__event_body_same(doc.body, doc.body_len, row->body))
                dup[k] = 2;
        }
out:
    PQclear(r);
    cw_strmap_free(&bodies);
    cw_buf_free(&key);
    cw_buf_free(&kb);
    cw_buf_free(&scratch);
    cw_buf_free(&docb);
    cw__pg_array_free(&src);
    cw__pg_array_free(&keys);
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
    for (size_t b = 0; b < nb; b++)
        total += bs[b]->n;
    /* per row: its environment and link ids, then its events.id when stored */
    stored_row *st = malloc((total ? total : 1) * sizeof *st);
    stored_row *dl = malloc((total ? total : 1) * sizeof *dl); /* those stored now */
    int64_t *seqs = NULL;
    size_t nseqs = 0, nst = 0;
    if (!st || !dl)
        err = oom(d);
    total = 0;
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
            int64_t source = 0, type = 0;
            if ((err = cw__event_name_id(pc, CW__KEY_SOURCE, r->source, key_row, c, &source, d)) ||
                (err = cw__event_name_id(pc, CW__KEY_TYPE, r->type, key_row, c, &type, d)))
                break;
            if (stored_key(r->id, &key)) {
                err = oom(d);
                break;
            }
            char t[24], sb[24], ty[24], e[24], l[24], cl[24], di[24];
            const char *v[NCOLS] = {cw__pg_i64(t, r->time_ms),
                                    now,
                                    cw__pg_i64(sb, source),
                                    NULL, /* event_key: bytea, below */
                                    cw__pg_i64(ty, type),
                                    r->environment ? cw__pg_i64(e, env) : NULL,
                                    linked ? cw__pg_i64(l, link) : NULL,
                                    cw__pg_i64(cl, r->cls),
                                    cw__pg_i64(di, r->dict_id),
                                    NULL /* doc: bytea, below */};
            for (int j = 0; !err && j < NCOLS; j++) {
                cw_err e2 = j == 3   ? cw__pg_array_add_bytea(&col[j], key.data, key.len)
                            : j == 9 ? cw__pg_array_add_bytea(&col[j], r->doc, r->doc_len)
                                     : cw__pg_array_add(&col[j], v[j]);
                if (e2)
                    err = oom(d);
            }
            st[total] = (stored_row){r, 0, env, linked ? link : 0, source};
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
            err = cw__pg_exec(c, INSERT_EVENTS_SQL " RETURNING id, source_id, event_key", NCOLS, p,
                              &r, d);
    }
    int nret = err || !r ? 0 : PQntuples(r);
    if (nret && !(seqs = malloc((size_t)nret * sizeof *seqs)))
        err = oom(d);
    for (int i = 0; !err && i < nret; i++) {
        seqs[nseqs] = cw__pg_int(r, i, 0);
        cw_buf_reset(&key);
        if (cw_buf_printf(&key, "%s:%s", cw__pg_text(r, i, 1), cw__pg_text(r, i, 2)) ||
            cw_strmap_put(&inserted, key.data, (void *)(uintptr_t)++nseqs))
            err = oom(d);
    }
    cw_buf kb;
    cw_buf_init(&kb, 0);
    char *dup = !err && total ? calloc(total, 1) : NULL;
    if (!err && total && !dup)
        err = oom(d);
    size_t rn = 0;
    for (size_t b = 0; !err && b < nb; b++) {
        for (size_t i = 0; !err && i < bs[b]->n; i++, rn++) {
            const cw__event_row *row = &bs[b]->rows[i];
            if (stored_key(row->id, &kb) || event_key(&key, st[rn].source, kb.data, kb.len)) {
                err = oom(d);
                break;
            }
            /* claimed once: the value turns from its seq's index + 1 to 0 */
            size_t k = (size_t)(uintptr_t)cw_strmap_get(&inserted, key.data);
            if (k) {
                cw_strmap_put(&inserted, key.data, NULL);
                bs[b]->res.accepted++;
                if (row->cls) {
                    dl[nst] = st[rn];
                    dl[nst++].seq = seqs[k - 1];
                }
                /* a new incident event updates its incident in this transaction */
                if (row->cls == CW__EVC_INCIDENT)
                    err = cw__incident_event(&(cw__sql){&cw__pg_sql_ops, c, c->owner},
                                             row->body, now_ms, d);
            } else {
                dup[rn] = 1;
            }
        }
    }
    cw_buf_free(&kb);
    if (!err && total)
        err = mark_conflicts(c, bs, nb, st, dup, d);
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
    if (!err && nst)
        err = put_delivery(c, dl, nst, d);
    free(st);
    free(dl);
    free(seqs);
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
    bool train;            /* no dictionary in use yet */
    cw_buf dict;           /* the one trained (or found) in this transaction */
    int64_t dict_id;
} put_ctx;

cw_err cw__pg_load_dict(void *ctx, int64_t id, cw_buf *out, cw_diag *d)
{
    cw__pg_conn *c = ctx;
    char ib[24];
    const char *p[] = {cw__pg_i64(ib, id)};
    PGresult *r = NULL;
    cw_err err = cw__pg_exec(c, "SELECT dict FROM event_dicts WHERE id = $1", 1, p, &r, d);
    if (!err && PQntuples(r) != 1)
        err = cw_fail(d, CW_ERR_IO, "events: dictionary %lld is missing", (long long)id);
    if (!err) {
        cw_buf tmp;
        cw_buf_init(&tmp, 0);
        if (cw__pg_bytea(r, 0, 0, &tmp))
            err = cw_fail(d, CW_ERR_IO, "events: dictionary %lld is damaged", (long long)id);
        else if (cw_buf_append(out, tmp.data ? tmp.data : "", tmp.len))
            err = oom(d);
        cw_buf_free(&tmp);
    }
    PQclear(r);
    return err;
}

/*
 * Inside the events' transaction, while no dictionary is in use: once
 * CW__DICT_SAMPLES events are stored uncompressed, a dictionary is trained
 * from the oldest of them (unless one is stored already), saved, and those
 * events are compressed with it; *id and *dict say which the codec takes
 * after the commit.
 */
static cw_err dict_train(cw__pg_conn *c, cw_buf *dict, int64_t *id, cw_diag *d)
{
    int64_t have = 0;
    *id = 0;
    cw_err err = read_int(c, "SELECT coalesce(max(id), 0) FROM event_dicts", &have, d);
    if (!err && have) {
        err = cw__pg_load_dict(c, have, dict, d);
        if (!err)
            *id = have;
        return err;
    }
    int64_t plain = 0;
    if (!err)
        err = read_int(c, "SELECT count(*) FROM (SELECT 1 FROM events WHERE dict_id = 0 LIMIT "
                          CW__DICT_SAMPLES_SQL ") x", &plain, d);
    if (err || plain < CW__DICT_SAMPLES)
        return err;
    /* one trainer at a time across instances; the second finds the first's */
    if ((err = cw__pg_exec(c, "SELECT pg_advisory_xact_lock(1668769911)", 0, NULL, NULL, d)) ||
        (err = read_int(c, "SELECT coalesce(max(id), 0) FROM event_dicts", &have, d)))
        return err;
    if (have) {
        err = cw__pg_load_dict(c, have, dict, d);
        if (!err)
            *id = have;
        return err;
    }
    PGresult *r = NULL;
    err = cw__pg_exec(c, "SELECT id, doc FROM events WHERE dict_id = 0 ORDER BY id LIMIT "
                         CW__DICT_SAMPLES_SQL, 0, NULL, &r, d);
    int n = err ? 0 : PQntuples(r);
    void **docs = n ? calloc((size_t)n, sizeof *docs) : NULL;
    size_t *lens = n ? calloc((size_t)n, sizeof *lens) : NULL;
    if (n && (!docs || !lens))
        err = oom(d);
    cw_buf b;
    cw_buf_init(&b, 0);
    for (int i = 0; !err && i < n; i++) {
        if (cw__pg_bytea(r, i, 1, &b)) {
            err = cw_fail(d, CW_ERR_IO, "events: a stored event is damaged (bytea)");
            break;
        }
        lens[i] = b.len;
        if (!(docs[i] = malloc(b.len ? b.len : 1))) {
            err = oom(d);
            break;
        }
        memcpy(docs[i], b.data, b.len);
    }
    if (!err)
        err = cw__codec_train((const void *const *)docs, lens, (size_t)n, dict, d);
    cw__pg_array one;
    cw__pg_array_init(&one);
    PGresult *ins = NULL;
    if (!err && cw__pg_array_add_bytea(&one, dict->data ? dict->data : "", dict->len))
        err = oom(d);
    if (!err) {
        char now[24];
        /* the array's one element, as a bytea parameter */
        const char *p[] = {cw__pg_array_text(&one), cw__pg_i64(now, cw_now_ms())};
        err = cw__pg_exec(c, "INSERT INTO event_dicts (dict, created_ms)"
                             " SELECT ($1::bytea[])[1], $2 RETURNING id", 2, p, &ins, d);
        if (!err)
            *id = cw__pg_int(ins, 0, 0);
    }
    PQclear(ins);
    cw__pg_array_free(&one);
    /* the samples themselves are compressed with it too */
    cw__codec *tmp = NULL;
    cw__codec_ctx *cx = NULL;
    cw_buf out, scratch;
    cw_buf_init(&out, 0);
    cw_buf_init(&scratch, 0);
    cw__pg_array ids, ds, dd;
    cw__pg_array_init(&ids);
    cw__pg_array_init(&ds);
    cw__pg_array_init(&dd);
    if (!err && cw__codec_new(&tmp))
        err = oom(d);
    if (!err)
        err = cw__codec_use(tmp, *id, dict->data, dict->len, d);
    for (int i = 0; !err && i < n; i++) {
        cw__event_doc doc;
        int64_t used;
        cw_buf_reset(&out);
        err = cw__codec_decode(tmp, 0, docs[i], lens[i], NULL, NULL, &scratch, &doc, d);
        if (!err)
            err = cw__codec_encode(tmp, &cx, doc.subject, doc.chain, doc.artifact, doc.body,
                                   doc.body_len, &out, &used, d);
        if (!err && (cw__pg_array_add_i64(&ids, cw__pg_int(r, i, 0)) ||
                     cw__pg_array_add_i64(&ds, used) ||
                     cw__pg_array_add_bytea(&dd, out.data, out.len)))
            err = oom(d);
    }
    if (!err && n) {
        const char *p[] = {cw__pg_array_text(&ids), cw__pg_array_text(&ds), cw__pg_array_text(&dd)};
        err = cw__pg_exec(c, "UPDATE events e SET dict_id = u.dict_id, doc = u.doc"
                             " FROM unnest($1::bigint[], $2::int[], $3::bytea[]) AS u(id, dict_id, doc)"
                             " WHERE e.id = u.id", 3, p, NULL, d);
    }
    cw__pg_array_free(&ids);
    cw__pg_array_free(&ds);
    cw__pg_array_free(&dd);
    cw_buf_free(&out);
    cw_buf_free(&scratch);
    cw__codec_ctx_free(cx);
    cw__codec_free(tmp);
    cw_buf_free(&b);
    for (int i = 0; docs && i < n; i++)
        free(docs[i]);
    free(docs);
    free(lens);
    PQclear(r);
    if (err)
        *id = 0;
    return err;
}

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
        err = cw__sql_events_audit(&(cw__sql){&cw__pg_sql_ops, c, c->owner}, x->batches, x->n,
                                   d);
    put_cache_free(&pc);
    /* the first events stored train the dictionary the next ones use */
    cw_buf_reset(&x->dict);
    x->dict_id = 0;
    if (!err && x->train)
        err = dict_train(c, &x->dict, &x->dict_id, d);
    return err;
}

static cw_err ev_put(cw_store *store, cw__event_batch *const *batches, size_t n, int64_t now_ms,
                     cw_diag *d)
{
    put_ctx x = {batches, n, now_ms, false, !cw__codec_current(store->codec), {0}, 0};
    cw_buf_init(&x.dict, 0);
    cw_err err = cw__pg_write(cw__pg(store), put_tx, &x, d);
    if (!err && x.dict_id)
        err = cw__codec_use(store->codec, x.dict_id, x.dict.data, x.dict.len, d);
    cw_buf_free(&x.dict);
    return err;
}

static cw_err dicts_open_tx(cw__pg_conn *c, void *arg, cw_diag *d)
{
    (void)arg;
    int64_t id = 0;
    cw_err err = read_int(c, "SELECT coalesce(max(id), 0) FROM event_dicts", &id, d);
    if (err || !id)
        return err;
    cw_buf dict;
    cw_buf_init(&dict, 0);
    err = cw__pg_load_dict(c, id, &dict, d);
    if (!err)
        err = cw__codec_use(c->owner->codec, id, dict.data, dict.len, d);
    cw_buf_free(&dict);
    return err;
}

static cw_err ev_dicts_open(cw_store *store, cw_diag *d)
{
    return cw__pg_read(cw__pg(store), dicts_open_tx, NULL, d);
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
    .prefix_fmt = "left(name, length(%s)) = %s",
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
    cw_buf keyb, docb, scratch;
    cw_buf_init(&keyb, 0);
    cw_buf_init(&docb, 0);
    cw_buf_init(&scratch, 0);
    for (int i = 0; !err && i < rows; i++) {
        if (cw__pg_bytea(r, i, 4, &keyb) || cw__pg_bytea(r, i, 11, &docb)) {
            err = cw_fail(d, CW_ERR_IO, "events: a stored event is damaged (bytea)");
            break;
        }
        cw__event_cols row = {
            .seq = cw__pg_int(r, i, 0),
            .time_ms = cw__pg_int(r, i, 1),
            .received_ms = cw__pg_int(r, i, 2),
            .source = val(r, i, 3),
            .key = (const unsigned char *)keyb.data,
            .key_len = keyb.len,
            .type = val(r, i, 5),
            .environment = val(r, i, 6),
            .link_kind = (int)id_val(r, i, 7),
            .link_value = val(r, i, 8),
            .component_ref = val(r, i, 9),
            .dict_id = cw__pg_int(r, i, 10),
            .doc = docb.data,
            .doc_len = docb.len,
        };
        err = cw__stored_event_fill(&items[len++], &row, c->owner->codec, cw__pg_load_dict, c,
                                    &scratch, d);
    }
    cw_buf_free(&keyb);
    cw_buf_free(&docb);
    cw_buf_free(&scratch);
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

/* One delivery scan: the query, the sink and its ctx. */
typedef struct {
    const cw_delivery_query *q;
    const cw_delivery_sink *sink;
    void *ctx;
} scan;

static cw_err scan_components(cw__pg_conn *c, scan *x, cw_diag *d)
{
    const cw_scope *sc = x->q->scope;
    char sql[2048];
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

/* Bounds, links and environments. */
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
        err = x->sink->link(x->ctx, cw__pg_int(r, i, 0), cw__pg_int(r, i, 1),
                            (int)cw__pg_int(r, i, 2), &wanted, d);
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

static cw_delivery_text text_val(const PGresult *r, int row, int col)
{
    cw__text t = val(r, row, col);
    return (cw_delivery_text){t.s, t.n};
}

static cw_err service_row(void *arg, const PGresult *r, int i, cw_diag *d)
{
    scan *x = arg;
    cw_delivery_service_row row = {
        .time_ms = cw__pg_int(r, i, 0),
        .seq = cw__pg_int(r, i, 1),
        .link = id_val(r, i, 2),
        .env = id_val(r, i, 3),
        .kind = (int)cw__pg_int(r, i, 4),
        .artifact = text_val(r, i, 5),
        .chain = text_val(r, i, 6),
        .changes = text_or_null(r, i, 7),
        .has_incident = !cw__pg_isnull(r, i, 8),
        .incident_ms = cw__pg_int(r, i, 8),
    };
    return x->sink->service(x->ctx, &row, d);
}

static cw_err change_row(void *arg, const PGresult *r, int i, cw_diag *d)
{
    scan *x = arg;
    cw_delivery_change_row row = {
        .link = id_val(r, i, 0),
        .subject = text_val(r, i, 1),
        .has_created = !cw__pg_isnull(r, i, 2),
        .created_ms = cw__pg_int(r, i, 2),
        .has_merged = !cw__pg_isnull(r, i, 3),
        .merged_ms = cw__pg_int(r, i, 3),
        .has_claim = !cw__pg_isnull(r, i, 4),
        .claim_ms = cw__pg_int(r, i, 4),
    };
    return x->sink->change(x->ctx, &row, d);
}

static cw_err incident_row(void *arg, const PGresult *r, int i, cw_diag *d)
{
    scan *x = arg;
    cw_delivery_incident_row row = {
        .time_ms = cw__pg_int(r, i, 0),
        .seq = cw__pg_int(r, i, 1),
        .link = id_val(r, i, 2),
        .kind = (int)cw__pg_int(r, i, 3),
        .subject = text_val(r, i, 4),
        .artifact = text_val(r, i, 5),
        .first_ms = cw__pg_int(r, i, 6),
        .has_artifact_first = !cw__pg_isnull(r, i, 7),
        .artifact_first_ms = cw__pg_int(r, i, 7),
    };
    return x->sink->incident(x->ctx, &row, d);
}

#define SVC_COLS "time_ms, seq, link_id, env_id, kind, artifact_id, chain_id, changes, incident_ms"
#define SVC_COLS_S                                                                            \
    "s.time_ms, s.seq, s.link_id, s.env_id, s.kind, s.artifact_id, s.chain_id, s.changes,"  \
    " s.incident_ms"
#define CHG_COLS "link_id, subject_id, created_ms, merged_ms, claim_ms"
#define INC_COLS                                                                              \
    "time_ms, seq, link_id, kind, subject_id, artifact_id, first_ms, artifact_first_ms"
/* kinds $1, environments $2; the statement's own parameters follow */
#define SVC_WHERE(p) p "kind = ANY($1::int[]) AND " p "env_id = ANY($2::bigint[])"
#define SVC_NEAREST(cmp, dir)                                                                  \
    "SELECT s.* FROM unnest($3::bigint[], $4::bigint[]) AS p(link, t) CROSS JOIN LATERAL"     \
    " (SELECT " SVC_COLS " FROM delivery_service x WHERE x.link_id = p.link"                  \
    " AND x.time_ms " cmp " p.t AND " SVC_WHERE("x.")                                          \
    " ORDER BY x.time_ms " dir ", x.seq " dir " LIMIT 1) s"

/* A selection's SQL and its parameters' values (texts in bufs). */
static cw_err select_sql(const cw_delivery_select *s, cw__pg_array a[4], char nums[2][24],
                         const char **sql, const char *p[6], int *np)
{
    cw_err err = CW_OK;
    bool service = s->kind >= CW_DSEL_SERVICE_TIME && s->kind <= CW_DSEL_SERVICE_CLAIM;
    *np = 0;
    if (service) {
        for (int k = 0; !err && k < 32; k++)
            if (s->kinds & (1u << k))
                err = cw__pg_array_add_i64(&a[0], k);
        for (size_t i = 0; !err && i < s->nenvs; i++)
            err = cw__pg_array_add_i64(&a[1], s->envs[i]);
        p[(*np)++] = cw__pg_array_text(&a[0]);
        p[(*np)++] = cw__pg_array_text(&a[1]);
    }
    for (size_t i = 0; !err && s->links && i < s->nlinks; i++) {
        err = cw__pg_array_add_i64(&a[2], s->links[i]);
        if (!err && s->times)
            err = cw__pg_array_add_i64(&a[3], s->times[i]);
    }
    for (size_t i = 0; !err && i < s->nkeys; i++)
        err = cw__pg_array_addn(&a[2], s->keys[i].s, s->keys[i].n);
    if (err)
        return err;
    const char *from = cw__pg_i64(nums[0], s->from_ms), *to = cw__pg_i64(nums[1], s->to_ms);
    const char *arr = cw__pg_array_text(&a[2]), *times = cw__pg_array_text(&a[3]);
    switch (s->kind) {
    case CW_DSEL_SERVICE_TIME:
        p[(*np)++] = from;
        p[(*np)++] = to;
        if (!s->links) {
            *sql = "SELECT " SVC_COLS " FROM delivery_service WHERE time_ms >= $3"
                   " AND time_ms < $4 AND " SVC_WHERE("");
        } else {
            p[(*np)++] = arr;
            *sql = "SELECT " SVC_COLS " FROM delivery_service WHERE link_id = ANY($5::bigint[])"
                   " AND time_ms >= $3 AND time_ms < $4 AND " SVC_WHERE("");
        }
        break;
    case CW_DSEL_SERVICE_NEAREST:
        p[(*np)++] = arr;
        p[(*np)++] = times;
        *sql = s->before ? SVC_NEAREST("<", "DESC") : SVC_NEAREST(">=", "ASC");
        break;
    case CW_DSEL_SERVICE_ARTIFACT:
    case CW_DSEL_SERVICE_CLAIM: {
        /* keys, and links when the scan has a scope */
        cw__pg_array_reset(&a[3]);
        for (size_t i = 0; !err && s->links && i < s->nlinks; i++)
            err = cw__pg_array_add_i64(&a[3], s->links[i]);
        if (err)
            return err;
        p[(*np)++] = arr;
        bool claim = s->kind == CW_DSEL_SERVICE_CLAIM;
        if (claim)
            p[(*np)++] = to;
        if (s->links)
            p[(*np)++] = cw__pg_array_text(&a[3]);
        if (!claim)
            /* the index is on the artifact's hash */
            *sql = s->links ? "SELECT " SVC_COLS " FROM delivery_service"
                              " WHERE artifact_h = ANY(ARRAY(SELECT hashtextextended(k, 0)"
                              " FROM unnest($3::text[]) k)) AND artifact_id = ANY($3::text[])"
                              " AND " SVC_WHERE("") " AND link_id = ANY($4::bigint[])"
                            : "SELECT " SVC_COLS " FROM delivery_service"
                              " WHERE artifact_h = ANY(ARRAY(SELECT hashtextextended(k, 0)"
                              " FROM unnest($3::text[]) k)) AND artifact_id = ANY($3::text[])"
                              " AND " SVC_WHERE("");
        else
            *sql = s->links ? "SELECT " SVC_COLS_S " FROM delivery_claims c JOIN delivery_service s"
                              " ON s.env_id = c.env_id AND s.time_ms = c.time_ms AND s.seq = c.seq"
                              " WHERE c.change_id = ANY($3::text[]) AND c.time_ms < $4"
                              " AND " SVC_WHERE("s.") " AND s.link_id = ANY($5::bigint[])"
                            : "SELECT " SVC_COLS_S " FROM delivery_claims c JOIN delivery_service s"
                              " ON s.env_id = c.env_id AND s.time_ms = c.time_ms AND s.seq = c.seq"
                              " WHERE c.change_id = ANY($3::text[]) AND c.time_ms < $4"
                              " AND " SVC_WHERE("s.");
        break;
    }
    case CW_DSEL_CHANGE_MERGED:
        p[(*np)++] = arr;
        p[(*np)++] = times;
        p[(*np)++] = to;
        *sql = "SELECT c.link_id, c.subject_id, c.created_ms, c.merged_ms, c.claim_ms"
               " FROM unnest($1::bigint[], $2::bigint[]) AS p(link, t)"
               " JOIN delivery_changes c ON c.link_id = p.link AND c.merged_ms > p.t"
               " AND c.merged_ms < $3";
        break;
    case CW_DSEL_CHANGE_LINK:
        if (!s->links) {
            *sql = "SELECT " CHG_COLS " FROM delivery_changes";
        } else {
            p[(*np)++] = arr;
            *sql = "SELECT " CHG_COLS " FROM delivery_changes WHERE link_id = ANY($1::bigint[])";
        }
        break;
    case CW_DSEL_CHANGE_SUBJECT:
        p[(*np)++] = arr;
        *sql = "SELECT " CHG_COLS " FROM delivery_changes WHERE subject_id = ANY($1::text[])";
        break;
    case CW_DSEL_INCIDENT_TIME:
        p[(*np)++] = from;
        p[(*np)++] = to;
        *sql = "SELECT " INC_COLS " FROM delivery_incidents WHERE time_ms >= $1 AND time_ms < $2";
        break;
    case CW_DSEL_INCIDENT_SUBJECT:
        p[(*np)++] = arr;
        *sql = "SELECT " INC_COLS " FROM delivery_incidents WHERE subject_id = ANY($1::text[])";
        break;
    case CW_DSEL_INCIDENT_ARTIFACT:
        p[(*np)++] = arr;
        *sql = "SELECT " INC_COLS " FROM delivery_incidents WHERE artifact_id = ANY($1::text[])";
        break;
    default:
        return CW_ERR_INTERNAL;
    }
    for (int i = 0; i < *np; i++)
        if (!p[i])
            return CW_ERR_NOMEM;
    return CW_OK;
}

/* Reads one selection into the sink. */
static cw_err scan_select(cw__pg_conn *c, scan *x, const cw_delivery_select *s, cw_diag *d)
{
    cw__pg_array a[4];
    for (int k = 0; k < 4; k++)
        cw__pg_array_init(&a[k]);
    char nums[2][24];
    const char *sql = NULL, *p[6];
    int np = 0;
    cw_err err = select_sql(s, a, nums, &sql, p, &np);
    if (err == CW_ERR_INTERNAL)
        err = cw_fail(d, err, "delivery: unknown selection %d", (int)s->kind);
    else if (err)
        err = cw_fail(d, CW_ERR_NOMEM, "delivery: out of memory");
    row_fn fn = s->kind <= CW_DSEL_SERVICE_CLAIM    ? service_row
                : s->kind <= CW_DSEL_CHANGE_SUBJECT ? change_row
                                                    : incident_row;
    if (!err)
        err = each_row(c, sql, np, p, fn, x, d);
    for (int k = 0; k < 4; k++)
        cw__pg_array_free(&a[k]);
    return err;
}

static cw_err delivery_tx(cw__pg_conn *c, void *arg, cw_diag *d)
{
    scan *x = arg;
    const cw_delivery_query *q = x->q;
    cw_err err = scope_check(c, q->scope, d);
    if (!err)
        err = x->sink->begin(x->ctx, d);
    if (!err)
        err = scan_components(c, x, d);
    if (!err)
        err = scan_maps(c, x, d);
    while (!err) {
        cw_delivery_select sel;
        err = x->sink->next(x->ctx, &sel, d);
        if (err || sel.kind == CW_DSEL_END)
            break;
        err = scan_select(c, x, &sel, d);
    }
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
    return cw__pg_read(s, delivery_tx, &x, d);
}

const struct cw_store_event_ops cw__pg_event_ops = {
    .put = ev_put,
    .query = ev_query,
    .unmatched_keys = ev_unmatched_keys,
    .delivery = ev_delivery,
    .dicts_open = ev_dicts_open,
    .link_owners = ev_link_owners,
    .catalog_gen = ev_catalog_gen,
};
