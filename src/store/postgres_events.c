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
#include "util/strmap.h"

#define FETCH_ROWS 10000 /* rows per cursor fetch when streaming */

static cw_err oom(cw_diag *d) { return cw_fail(d, CW_ERR_NOMEM, "events: out of memory"); }

static char *dup_val(const PGresult *r, int row, int col, bool *failed)
{
    if (PQgetisnull(r, row, col))
        return NULL;
    const char *v = PQgetvalue(r, row, col);
    size_t n = (size_t)PQgetlength(r, row, col);
    char *p = malloc(n + 1);
    if (!p) {
        *failed = true;
        return NULL;
    }
    memcpy(p, v, n);
    p[n] = '\0';
    return p;
}

/* An integer from a one-row statement without parameters. */
static cw_err read_int(cw__pg_conn *c, const char *sql, int64_t *out, cw_diag *d)
{
    PGresult *r = NULL;
    cw_err err = cw__pg_exec(c, sql, 0, NULL, &r, d);
    if (!err && PQntuples(r) == 1)
        *out = cw__pg_int(r, 0, 0);
    else if (!err)
        err = cw_fail(d, CW_ERR_IO, "database: no row for %.40s", sql);
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

static char lower_c(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }

/* Lower-cased copy into buf (or a malloc'd one when too long; *heap set). */
static char *lower_copy(const char *s, char *buf, size_t cap, char **heap)
{
    size_t n = strlen(s);
    char *p = buf;
    *heap = NULL;
    if (n >= cap) {
        p = *heap = malloc(n + 1);
        if (!p)
            return NULL;
    }
    for (size_t i = 0; i < n; i++)
        p[i] = lower_c(s[i]);
    p[n] = '\0';
    return p;
}

/* The catalog as the link rules see it: maps to entity id + 1. The first
 * Component in key order wins a tie, as cw_link_match's lowest index. */
typedef struct {
    cw_strmap service_id;  /* exact annotation value */
    cw_strmap name;        /* lower-cased metadata.name */
    cw_strmap repo;        /* lower-cased repository / project slug */
} link_index;

static void link_index_free(link_index *x)
{
    cw_strmap_free(&x->service_id);
    cw_strmap_free(&x->name);
    cw_strmap_free(&x->repo);
}

static cw_err put_lower(cw_strmap *m, const char *v, int64_t id)
{
    char buf[256], *heap;
    char *k = lower_copy(v, buf, sizeof buf, &heap);
    if (!k)
        return CW_ERR_NOMEM;
    cw_err err = cw_strmap_put_new(m, k, (void *)(intptr_t)(id + 1), NULL, NULL);
    free(heap);
    return err;
}

static cw_err link_index_load(cw__pg_conn *c, link_index *x, cw_diag *d)
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
        "  THEN a->>'github.com/project-slug' END"
        " FROM (SELECT id, name, key, body::json->'metadata'->'annotations' AS a"
        "  FROM entities WHERE kind = 'Component') x ORDER BY key",
        0, NULL, &r, d);
    for (int i = 0; !err && i < PQntuples(r); i++) {
        int64_t id = cw__pg_int(r, i, 0);
        err = put_lower(&x->name, cw__pg_text(r, i, 1), id);
        if (!err && !cw__pg_isnull(r, i, 2))
            err = cw_strmap_put_new(&x->service_id, cw__pg_text(r, i, 2),
                                    (void *)(intptr_t)(id + 1), NULL, NULL);
        for (int col = 3; !err && col <= 4; col++)
            if (!cw__pg_isnull(r, i, col))
                err = put_lower(&x->repo, cw__pg_text(r, i, col), id);
        if (err)
            err = cw_fail(d, err, "events: out of memory indexing the catalog");
    }
    PQclear(r);
    if (err)
        link_index_free(x);
    return err;
}

/* Entity id of the Component a link key matches, or -1 (events.h rules). */
static int64_t link_resolve(const link_index *x, int kind, const char *value, bool *failed)
{
    char buf[256], *heap = NULL;
    intptr_t v = 0;
    if (kind == CW_LINK_SERVICE) {
        v = (intptr_t)cw_strmap_get(&x->service_id, value);
        if (!v) {
            char *k = lower_copy(value, buf, sizeof buf, &heap);
            if (!k) {
                *failed = true;
                return -1;
            }
            v = (intptr_t)cw_strmap_get(&x->name, k);
            const char *slash = strrchr(k, '/');
            if (!v && slash && slash[1])
                v = (intptr_t)cw_strmap_get(&x->name, slash + 1);
        }
    } else if (kind == CW_LINK_REPOSITORY) {
        char *k = lower_copy(value, buf, sizeof buf, &heap);
        if (!k) {
            *failed = true;
            return -1;
        }
        v = (intptr_t)cw_strmap_get(&x->repo, k);
    }
    free(heap);
    return v ? (int64_t)v - 1 : -1;
}

/* Matches link rows against the catalog: all of them, or only those not
 * matched yet; a full pass then records the catalog generation. A full
 * pass must run under the entity lock (the caller takes it). */
static cw_err links_refresh(cw__pg_conn *c, bool all, cw_diag *d)
{
    link_index x;
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
        int64_t comp = link_resolve(&x, (int)cw__pg_int(r, i, 1), cw__pg_text(r, i, 2), &failed);
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
    link_index_free(&x);
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

/* ---- put ------------------------------------------------------------------------------------- */

/* Ids of environments and link keys seen in this transaction. */
typedef struct {
    cw_strmap env;    /* name -> id */
    cw_strmap link;   /* "<kind>:<value>" -> id */
    bool new_links;
} put_cache;

static void put_cache_free(put_cache *pc)
{
    cw_strmap_free(&pc->env);
    cw_strmap_free(&pc->link);
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

static cw_err env_id(cw__pg_conn *c, put_cache *pc, const char *name, int64_t *out, cw_diag *d)
{
    void *v = cw_strmap_get(&pc->env, name);
    if (v) {
        *out = (int64_t)(intptr_t)v;
        return CW_OK;
    }
    bool ins;
    const char *p[] = {name};
    cw_err err = lookup_or_insert(c, "SELECT id FROM event_envs WHERE name = $1",
                                  "INSERT INTO event_envs (name) VALUES ($1) "
                                  "ON CONFLICT (name) DO NOTHING RETURNING id",
                                  1, p, out, &ins, d);
    if (!err && cw_strmap_put(&pc->env, name, (void *)(intptr_t)*out))
        err = oom(d);
    return err;
}

static cw_err link_id(cw__pg_conn *c, put_cache *pc, int kind, const char *value, int64_t *out,
                      cw_diag *d)
{
    size_t n = strlen(value);
    char buf[300], *key = buf;
    if (n + 3 > sizeof buf && !(key = malloc(n + 3)))
        return oom(d);
    key[0] = (char)('0' + kind);
    key[1] = ':';
    memcpy(key + 2, value, n + 1);
    cw_err err = CW_OK;
    void *v = cw_strmap_get(&pc->link, key);
    if (v) {
        *out = (int64_t)(intptr_t)v;
        goto out;
    }
    bool ins;
    char kb[24];
    const char *p[] = {cw__pg_i64(kb, kind), value};
    err = lookup_or_insert(c, "SELECT id FROM event_links WHERE kind = $1 AND value = $2",
                           "INSERT INTO event_links (kind, value) VALUES ($1, $2) "
                           "ON CONFLICT (kind, value) DO NOTHING RETURNING id",
                           2, p, out, &ins, d);
    if (err)
        goto out;
    pc->new_links |= ins;
    if (cw_strmap_put(&pc->link, key, (void *)(intptr_t)*out))
        err = oom(d);
out:
    if (key != buf)
        free(key);
    return err;
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
static cw_err prefill(cw__pg_conn *c, put_cache *pc, cw__event_batch *const *bs, size_t nb,
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
            if (r->environment && !cw_strmap_get(&pc->env, r->environment) &&
                !(err = cw_strmap_put_new(&seen_env, r->environment, (void *)1, NULL, &ins)) &&
                ins)
                err = cw__pg_array_add(&names, r->environment);
            if (err || !r->link_value || !r->link_kind)
                continue;
            cw_buf_reset(&key);
            if ((err = cw_buf_printf(&key, "%d:%s", r->link_kind, r->link_value)))
                break;
            if (!cw_strmap_get(&pc->link, key.data) &&
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
            if (cw_strmap_put(&pc->env, cw__pg_text(r, i, 1),
                              (void *)(intptr_t)cw__pg_int(r, i, 0)))
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
        for (int i = 0; !err && i < PQntuples(r); i++) {
            cw_buf_reset(&key);
            if (cw_buf_printf(&key, "%s:%s", cw__pg_text(r, i, 1), cw__pg_text(r, i, 2)) ||
                cw_strmap_put(&pc->link, key.data, (void *)(intptr_t)cw__pg_int(r, i, 0)))
                err = oom(d);
        }
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
 * The rows of the batches as column arrays, written with one statement;
 * each batch's accepted/duplicate counts come from the rows the statement
 * returns (the first occurrence of a key in the statement is the one
 * inserted, later ones and stored ones are duplicates).
 */
static cw_err put_rows(cw__pg_conn *c, put_cache *pc, cw__event_batch *const *bs, size_t nb,
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
            if (r->environment && (err = env_id(c, pc, r->environment, &env, d)))
                break;
            bool linked = r->link_value && r->link_kind;
            if (linked && (err = link_id(c, pc, r->link_kind, r->link_value, &link, d)))
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
    for (size_t b = 0; !err && b < nb; b++) {
        for (size_t i = 0; !err && i < bs[b]->n; i++) {
            const cw__event_row *row = &bs[b]->rows[i];
            if (event_key(&key, row->source, row->id)) {
                err = oom(d);
                break;
            }
            /* claimed once: the value turns from 1 to 2 */
            if (cw_strmap_get(&inserted, key.data) == (void *)1) {
                cw_strmap_put(&inserted, key.data, (void *)2);
                bs[b]->res.accepted++;
            } else {
                bs[b]->res.duplicates++;
            }
        }
    }
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
static void name_failing_row(cw__pg_conn *c, put_cache *pc, cw__event_batch *b, int64_t now_ms)
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

static cw_err put_batch(cw__pg_conn *c, put_cache *pc, cw__event_batch *b, int64_t now_ms)
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
    put_cache pc;
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

/* SQL selecting the entity ids of a scope's Components; the scope's key is
 * parameter $param (unused for the whole organisation). */
static void scope_ids_sql(const cw_scope *sc, int param, char *out, size_t cap)
{
    switch (sc ? sc->kind : CW_SCOPE_ORG) {
    case CW_SCOPE_COMPONENT:
        snprintf(out, cap, "SELECT id FROM entities WHERE key = $%d AND kind = 'Component'",
                 param);
        break;
    case CW_SCOPE_SYSTEM:
    case CW_SCOPE_GROUP: {
        bool sys = sc->kind == CW_SCOPE_SYSTEM;
        snprintf(out, cap,
                 "SELECT r.entity_id FROM relations r JOIN entities e ON e.id = r.entity_id"
                 " WHERE r.target_key = $%d AND r.inverse_lc = '%s' AND r.type = '%s'"
                 " AND e.kind = 'Component'",
                 param, sys ? "haspart" : "ownerof", sys ? "partOf" : "ownedBy");
        break;
    }
    case CW_SCOPE_ORG:
    default:
        snprintf(out, cap, "SELECT id FROM entities WHERE kind = 'Component'");
        break;
    }
}

static bool scoped(const cw_scope *sc) { return sc && sc->kind != CW_SCOPE_ORG; }

/* CW_ERR_NOT_FOUND unless the scope's entity exists. */
static cw_err scope_check(cw__pg_conn *c, const cw_scope *sc, cw_diag *d)
{
    if (!scoped(sc))
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

static const char *link_name(int kind)
{
    return kind == CW_LINK_SERVICE ? "service" : kind == CW_LINK_REPOSITORY ? "repository" : NULL;
}

typedef struct {
    const cw_event_query *q;
    cw_event_list *out;
} query_ctx;

static cw_err query_tx(cw__pg_conn *c, void *arg, cw_diag *d)
{
    query_ctx *x = arg;
    const cw_event_query *q = x->q;
    cw_event_list_free(x->out);
    char b1[24], b2[24], b3[24], b4[24], b5[24];
    const char *p[8];
    int n = 0;
    cw_buf sql;
    cw_buf_init(&sql, 0);
    cw_buf_puts(&sql,
                "SELECT e.id, e.time_ms, e.received_ms, e.source, e.event_id, e.type,"
                " e.subject_id, e.chain_id, v.name, e.artifact_id, l.kind, l.value, c.ref, e.body"
                " FROM events e"
                " LEFT JOIN event_envs v ON v.id = e.env_id"
                " LEFT JOIN event_links l ON l.id = e.link_id"
                " LEFT JOIN entities c ON c.id = l.component_id"
                " WHERE true");
    if (q->type_prefix) {
        p[n++] = q->type_prefix;
        cw_buf_printf(&sql, " AND left(e.type, length($%d)) = $%d", n, n);
    }
    if (q->unmatched) {
        cw_buf_puts(&sql, " AND e.link_id IN (SELECT id FROM event_links"
                          " WHERE component_id IS NULL AND resolved)");
    } else if (q->scope) {
        char scope_sql[512];
        if (scoped(q->scope))
            p[n++] = q->scope->key;
        scope_ids_sql(q->scope, n, scope_sql, sizeof scope_sql);
        cw_buf_printf(&sql, " AND e.link_id IN (SELECT id FROM event_links"
                            " WHERE component_id IN (%s))",
                      scope_sql);
    }
    if (q->environment) {
        p[n++] = q->environment;
        cw_buf_printf(&sql, " AND e.env_id = (SELECT id FROM event_envs WHERE name = $%d)", n);
    }
    if (q->from_ms != INT64_MIN) {
        p[n++] = cw__pg_i64(b1, q->from_ms);
        cw_buf_printf(&sql, " AND e.time_ms >= $%d", n);
    }
    if (q->to_ms != INT64_MAX) {
        p[n++] = cw__pg_i64(b2, q->to_ms);
        cw_buf_printf(&sql, " AND e.time_ms < $%d", n);
    }
    if (q->after) {
        p[n++] = cw__pg_i64(b3, q->after_time_ms);
        p[n++] = cw__pg_i64(b4, q->after_seq);
        cw_buf_printf(&sql, " AND (e.time_ms, e.id) < ($%d::bigint, $%d::bigint)", n - 1, n);
    }
    p[n++] = cw__pg_i64(b5, q->limit > INT64_MAX ? INT64_MAX : (int64_t)q->limit);
    cw_err err = cw_buf_printf(&sql, " ORDER BY e.time_ms DESC, e.id DESC LIMIT $%d", n);
    if (err) {
        cw_buf_free(&sql);
        return oom(d);
    }
    PGresult *r = NULL;
    if (!q->unmatched)
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
        cw_stored_event *e = &items[len++];
        bool failed = false;
        e->seq = cw__pg_int(r, i, 0);
        e->time_ms = cw__pg_int(r, i, 1);
        e->received_ms = cw__pg_int(r, i, 2);
        e->source = dup_val(r, i, 3, &failed);
        e->id = dup_val(r, i, 4, &failed);
        e->type = dup_val(r, i, 5, &failed);
        e->subject_id = dup_val(r, i, 6, &failed);
        e->chain_id = dup_val(r, i, 7, &failed);
        e->environment = dup_val(r, i, 8, &failed);
        e->artifact_id = dup_val(r, i, 9, &failed);
        e->link = cw__pg_isnull(r, i, 10) ? NULL : link_name((int)cw__pg_int(r, i, 10));
        e->link_value = dup_val(r, i, 11, &failed);
        e->component_ref = dup_val(r, i, 12, &failed);
        e->body = dup_val(r, i, 13, &failed);
        if (failed || !e->source || !e->id || !e->type || !e->subject_id || !e->body)
            err = oom(d);
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
    *scope_bad = q->scope && !q->unmatched && scoped(q->scope) && !cw__pg_utf8(q->scope->key);
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
    const char *p[] = {cw__pg_i64(mb, max > INT64_MAX ? INT64_MAX : (int64_t)max)};
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
    for (int i = 0; i < rows; i++) {
        bool failed = false;
        cw_unmatched_key *k = &keys[len++];
        k->link = link_name((int)cw__pg_int(r, i, 0));
        k->value = dup_val(r, i, 1, &failed);
        k->events = (size_t)cw__pg_int(r, i, 2);
        k->last_ms = cw__pg_int(r, i, 3);
        if (failed || !k->value || !k->link) {
            err = cw_fail(d, failed ? CW_ERR_NOMEM : CW_ERR_INTERNAL, "events: unmatched keys");
            goto out;
        }
    }
out:
    PQclear(r);
    cw__pg_release(s, c);
    if (err) {
        cw_unmatched_keys_free(keys, len);
        return err;
    }
    *out = keys;
    *n = len;
    return CW_OK;
}

/* ---- delivery inputs ------------------------------------------------------------------------------------ */

typedef struct {
    int64_t id;
    int32_t idx;
} id_idx;

static int id_idx_cmp(const void *a, const void *b)
{
    const id_idx *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* Small dense arrays indexed by link id / environment id. */
typedef struct {
    int32_t *comp;         /* link id -> component index or -1 */
    size_t nlinks;
    bool *prod;            /* environment id -> production */
    size_t nenvs;
    cw__pg_array scope_links; /* the scope's link ids */
} delivery_maps;

static int32_t comp_of(const delivery_maps *m, const PGresult *r, int row, int col)
{
    if (cw__pg_isnull(r, row, col))
        return -1;
    int64_t l = cw__pg_int(r, row, col);
    return l > 0 && (size_t)l < m->nlinks ? m->comp[l] : -1;
}

static bool is_prod(const delivery_maps *m, const PGresult *r, int row, int col)
{
    if (cw__pg_isnull(r, row, col))
        return false;
    int64_t e = cw__pg_int(r, row, col);
    return e > 0 && (size_t)e < m->nenvs && m->prod[e];
}

static const char *val(const PGresult *r, int row, int col, size_t *len)
{
    if (cw__pg_isnull(r, row, col)) {
        *len = 0;
        return NULL;
    }
    *len = (size_t)PQgetlength(r, row, col);
    return PQgetvalue(r, row, col);
}

static cw_err load_components(cw__pg_conn *c, const cw_scope *sc, cw__delivery_builder *b,
                              id_idx **ids_out, size_t *n_out, cw_diag *d)
{
    char scope_sql[512], sql[1024];
    scope_ids_sql(sc, 1, scope_sql, sizeof scope_sql);
    snprintf(sql, sizeof sql,
             "SELECT e.id, e.ref, (SELECT r.target_ref FROM relations r"
             " WHERE r.entity_id = e.id AND r.type = 'ownedBy' ORDER BY r.target_key LIMIT 1)"
             " FROM entities e WHERE e.id IN (%s) ORDER BY e.key",
             scope_sql);
    PGresult *r = NULL;
    const char *p[] = {scoped(sc) ? sc->key : NULL};
    cw_err err = cw__pg_exec(c, sql, scoped(sc) ? 1 : 0, p, &r, d);
    if (err)
        return err;
    size_t n = (size_t)PQntuples(r);
    id_idx *ids = n ? malloc(n * sizeof *ids) : NULL;
    if (n && !ids)
        err = CW_ERR_NOMEM;
    if (!err && n >= INT32_MAX)
        err = CW_ERR_TOO_LARGE;
    for (size_t i = 0; !err && i < n; i++) {
        ids[i] = (id_idx){cw__pg_int(r, (int)i, 0), (int32_t)i};
        err = cw__delivery_add_component(b, cw__pg_text(r, (int)i, 1),
                                         cw__pg_isnull(r, (int)i, 2) ? NULL
                                                                      : cw__pg_text(r, (int)i, 2));
    }
    PQclear(r);
    if (err) {
        free(ids);
        return cw_fail(d, err, "delivery: out of memory loading components");
    }
    if (n)
        qsort(ids, n, sizeof *ids, id_idx_cmp);
    *ids_out = ids;
    *n_out = n;
    return CW_OK;
}

static cw_err load_maps_links(cw__pg_conn *c, const cw_delivery_query *q, const id_idx *ids,
                              size_t nids, delivery_maps *m, cw__delivery_builder *b,
                              int32_t *repo_links, cw_diag *d)
{
    int64_t maxl = 0, maxe = 0;
    cw_err err = read_int(c, "SELECT coalesce(max(id), 0) FROM event_links", &maxl, d);
    if (!err)
        err = read_int(c, "SELECT coalesce(max(id), 0) FROM event_envs", &maxe, d);
    if (err)
        return err;
    m->nlinks = (size_t)maxl + 1;
    m->nenvs = (size_t)maxe + 1;
    m->comp = malloc(m->nlinks * sizeof *m->comp);
    m->prod = calloc(m->nenvs, sizeof *m->prod);
    if (!m->comp || !m->prod)
        return cw_fail(d, CW_ERR_NOMEM, "delivery: out of memory");
    for (size_t i = 0; i < m->nlinks; i++)
        m->comp[i] = -1;
    PGresult *r = NULL;
    err = cw__pg_exec(c,
                      "SELECT id, component_id, kind FROM event_links"
                      " WHERE component_id IS NOT NULL",
                      0, NULL, &r, d);
    for (int i = 0; !err && i < PQntuples(r); i++) {
        int64_t l = cw__pg_int(r, i, 0);
        id_idx key = {cw__pg_int(r, i, 1), 0};
        const id_idx *hit = nids ? bsearch(&key, ids, nids, sizeof *ids, id_idx_cmp) : NULL;
        if (!hit || l <= 0 || (size_t)l >= m->nlinks)
            continue;
        m->comp[l] = hit->idx;
        if (cw__pg_array_add_i64(&m->scope_links, l))
            err = cw_fail(d, CW_ERR_NOMEM, "delivery: out of memory");
        /* changes reach a component under each of its repository keys */
        else if (cw__pg_int(r, i, 2) == CW_LINK_REPOSITORY && ++repo_links[hit->idx] == 2 &&
                 cw__delivery_mark_multi_link(b, hit->idx))
            err = cw_fail(d, CW_ERR_NOMEM, "delivery: out of memory");
    }
    PQclear(r);
    r = NULL;
    if (!err)
        err = cw__pg_exec(c, "SELECT id, name FROM event_envs", 0, NULL, &r, d);
    for (int i = 0; !err && i < PQntuples(r); i++) {
        int64_t e = cw__pg_int(r, i, 0);
        if (e > 0 && (size_t)e < m->nenvs)
            m->prod[e] = cw_env_is_production(cw__pg_text(r, i, 1), q->production_env);
    }
    PQclear(r);
    return err;
}

static cw_err load_maps(cw__pg_conn *c, const cw_delivery_query *q, const id_idx *ids,
                        size_t nids, delivery_maps *m, cw__delivery_builder *b, cw_diag *d)
{
    int32_t *repo_links = nids ? calloc(nids, sizeof *repo_links) : NULL;
    if (nids && !repo_links)
        return cw_fail(d, CW_ERR_NOMEM, "delivery: out of memory");
    cw_err err = load_maps_links(c, q, ids, nids, m, b, repo_links, d);
    free(repo_links);
    return err;
}

typedef struct {
    const cw_delivery_query *q;
    delivery_maps *m;
    cw__delivery_builder *b;
} load_ctx;

/* Streams the rows of one event class, filtered by the scope's links
 * unless org-wide (then rows outside the catalog are skipped in C). */
static cw_err each_of_class(cw__pg_conn *c, const char *cols, int cls, const char *order,
                            bool by_scope, load_ctx *x, row_fn fn, cw_diag *d)
{
    char sql[512];
    /* "cls > 0" repeats the partial index's condition so the planner uses it */
    snprintf(sql, sizeof sql, "SELECT %s FROM events WHERE cls > 0 AND cls = %d%s%s", cols, cls,
             by_scope ? " AND link_id = ANY($1::bigint[])" : "", order);
    const char *p[1] = {NULL};
    if (by_scope && !(p[0] = cw__pg_array_text(&x->m->scope_links)))
        return cw_fail(d, CW_ERR_NOMEM, "delivery: out of memory");
    return each_row(c, sql, by_scope ? 1 : 0, p, fn, x, d);
}

static cw_err service_row(void *arg, const PGresult *r, int i, cw_diag *d)
{
    load_ctx *x = arg;
    int32_t comp = comp_of(x->m, r, i, 0);
    if (comp < 0 || !is_prod(x->m, r, i, 3))
        return CW_OK;
    int kind = (int)cw__pg_int(r, i, 1);
    int64_t t = cw__pg_int(r, i, 2);
    cw_err err = CW_OK;
    if (kind == CW__EVK_ROLLEDBACK) {
        if (x->q->what & CW_DELIVERY_ROLLBACKS)
            err = cw__delivery_add_rollback(x->b, comp, t);
    } else if (x->q->what & CW_DELIVERY_DEPLOYMENTS) {
        size_t alen, clen;
        const char *art = val(r, i, 4, &alen);
        const char *chain = val(r, i, 5, &clen);
        err = cw__delivery_add_deployment(x->b, comp, t, art, alen, chain, clen,
                                          cw__pg_isnull(r, i, 6) ? NULL : cw__pg_text(r, i, 6));
    }
    return err ? cw_fail(d, err, "delivery: out of memory loading deployments") : CW_OK;
}

static cw_err change_row(void *arg, const PGresult *r, int i, cw_diag *d)
{
    load_ctx *x = arg;
    int32_t comp = comp_of(x->m, r, i, 0);
    if (comp < 0)
        return CW_OK;
    size_t n;
    const char *id = val(r, i, 1, &n);
    cw_err err = cw__delivery_add_change_event(x->b, comp, id ? id : "", n,
                                               (int)cw__pg_int(r, i, 2), cw__pg_int(r, i, 3));
    return err ? cw_fail(d, err, "delivery: out of memory loading changes") : CW_OK;
}

static cw_err incident_row(void *arg, const PGresult *r, int i, cw_diag *d)
{
    load_ctx *x = arg;
    size_t n, alen;
    const char *id = val(r, i, 1, &n);
    const char *art = val(r, i, 4, &alen);
    cw_err err = cw__delivery_add_incident_event(x->b, comp_of(x->m, r, i, 0), id ? id : "", n,
                                                 (int)cw__pg_int(r, i, 2), cw__pg_int(r, i, 3),
                                                 art, alen);
    return err ? cw_fail(d, err, "delivery: out of memory loading incidents") : CW_OK;
}

typedef struct {
    const cw_delivery_query *q;
    cw__delivery_builder *b;
    id_idx *ids;
    size_t nids;
    delivery_maps m;
} delivery_ctx;

static void delivery_ctx_reset(delivery_ctx *x)
{
    free(x->ids);
    free(x->m.comp);
    free(x->m.prod);
    cw__pg_array_free(&x->m.scope_links);
    x->ids = NULL;
    x->nids = 0;
    memset(&x->m, 0, sizeof x->m);
    cw__pg_array_init(&x->m.scope_links);
}

static cw_err delivery_tx(cw__pg_conn *c, void *arg, cw_diag *d)
{
    delivery_ctx *x = arg;
    const cw_delivery_query *q = x->q;
    delivery_ctx_reset(x);
    cw__delivery_builder_free(x->b);
    x->b = NULL;
    if (cw__delivery_builder_new(&x->b))
        return cw_fail(d, CW_ERR_NOMEM, "delivery: out of memory");
    bool org = !scoped(q->scope);
    load_ctx lc = {q, &x->m, x->b};
    cw_err err = scope_check(c, q->scope, d);
    if (!err)
        err = load_components(c, q->scope, x->b, &x->ids, &x->nids, d);
    if (!err)
        err = load_maps(c, q, x->ids, x->nids, &x->m, x->b, d);
    if (!err && (q->what & (CW_DELIVERY_DEPLOYMENTS | CW_DELIVERY_ROLLBACKS)))
        err = each_of_class(c, "link_id, kind, time_ms, env_id, artifact_id, chain_id, changes",
                            CW__EVC_SERVICE, " ORDER BY link_id, subject_id, time_ms, id", !org, &lc, service_row, d);
    if (!err && (q->what & CW_DELIVERY_CHANGES))
        err = each_of_class(c, "link_id, subject_id, kind, time_ms", CW__EVC_CHANGE,
                            " ORDER BY link_id, subject_id, time_ms, id", !org, &lc, change_row, d);
    /* every incident event: one incident's events need not all name its
     * service, so the scope is applied per incident afterwards */
    if (!err && (q->what & CW_DELIVERY_INCIDENTS))
        err = each_of_class(c, "link_id, subject_id, kind, time_ms, artifact_id",
                            CW__EVC_INCIDENT, " ORDER BY link_id, subject_id, time_ms, id", false, &lc, incident_row, d);
    return err;
}

static cw_err ev_delivery(cw_store *store, const cw_delivery_query *q, cw_delivery_data *out,
                          cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    if (scoped(q->scope) && !cw__pg_utf8(q->scope->key))
        return cw_fail(d, CW_ERR_NOT_FOUND, "scope: %s does not exist", q->scope->key);
    cw_err err = links_ensure_fresh(s, d);
    if (err)
        return err;
    delivery_ctx x;
    memset(&x, 0, sizeof x);
    x.q = q;
    cw__pg_array_init(&x.m.scope_links);
    err = cw__pg_read(s, delivery_tx, &x, d);
    if (!err) {
        err = cw__delivery_finish(x.b, !scoped(q->scope), out, d);
        x.b = NULL;
    }
    cw__delivery_builder_free(x.b);
    delivery_ctx_reset(&x);
    cw__pg_array_free(&x.m.scope_links);
    return err;
}

const struct cw_store_event_ops cw__pg_event_ops = {
    .put = ev_put,
    .query = ev_query,
    .unmatched_keys = ev_unmatched_keys,
    .delivery = ev_delivery,
};
