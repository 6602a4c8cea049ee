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
static cw_err read_int(cw__sqlite_conn *c, const char *sql, int64_t *out, cw_diag *d)
{
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

static char *dup_col(sqlite3_stmt *st, int col, bool *oom)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    if (!t)
        return NULL;
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    char *p = malloc(n + 1);
    if (!p) {
        *oom = true;
        return NULL;
    }
    memcpy(p, t, n);
    p[n] = '\0';
    return p;
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

static cw_err link_index_load(cw__sqlite_conn *c, link_index *x, cw_diag *d)
{
    memset(x, 0, sizeof *x);
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(
        c,
        "SELECT id, name,"
        " json_extract(body, '$.metadata.annotations.\"conway.dev/service-id\"'),"
        " json_extract(body, '$.metadata.annotations.\"conway.dev/repository\"'),"
        " json_extract(body, '$.metadata.annotations.\"github.com/project-slug\"')"
        " FROM entities WHERE kind = 'Component' ORDER BY key",
        &st, d);
    if (err)
        return err;
    int rc;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        const char *name = cw__col_text(st, 1);
        err = put_lower(&x->name, name, id);
        if (!err && sqlite3_column_type(st, 2) == SQLITE_TEXT)
            err = cw_strmap_put_new(&x->service_id, cw__col_text(st, 2),
                                    (void *)(intptr_t)(id + 1), NULL, NULL);
        for (int col = 3; !err && col <= 4; col++)
            if (sqlite3_column_type(st, col) == SQLITE_TEXT)
                err = put_lower(&x->repo, cw__col_text(st, col), id);
        if (err)
            err = cw_fail(d, err, "events: out of memory indexing the catalog");
    }
    if (!err && rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "catalog index");
    cw__sqlite_done(c, st);
    if (err)
        link_index_free(x);
    return err;
}

/* Entity id of the Component a link key matches, or -1 (events.h rules). */
static int64_t link_resolve(const link_index *x, int kind, const char *value, bool *oom)
{
    char buf[256], *heap = NULL;
    intptr_t v = 0;
    if (kind == CW_LINK_SERVICE) {
        v = (intptr_t)cw_strmap_get(&x->service_id, value);
        if (!v) {
            char *k = lower_copy(value, buf, sizeof buf, &heap);
            if (!k) {
                *oom = true;
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
            *oom = true;
            return -1;
        }
        v = (intptr_t)cw_strmap_get(&x->repo, k);
    }
    free(heap);
    return v ? (int64_t)v - 1 : -1;
}

typedef struct {
    int64_t link, comp; /* comp -1: none */
} link_update;

/* Matches link rows against the catalog: all of them, or only those not
 * matched yet; then records the catalog generation they reflect. */
static cw_err links_refresh(cw__sqlite_conn *c, bool all, cw_diag *d)
{
    link_index x;
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
        int64_t comp = link_resolve(&x, sqlite3_column_int(st, 1), cw__col_text(st, 2), &oom);
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
    link_index_free(&x);
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

/* ---- put --------------------------------------------------------------------------------------- */

/* Ids of environments and link keys seen in this transaction. */
typedef struct {
    cw_strmap env;    /* name -> id */
    cw_strmap link;   /* "<kind>:<value>" -> id */
    bool new_links;
} put_cache;

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

static cw_err env_id(cw__sqlite_conn *c, put_cache *pc, const char *name, int64_t *out,
                     cw_diag *d)
{
    void *v = cw_strmap_get(&pc->env, name);
    if (v) {
        *out = (int64_t)(intptr_t)v;
        return CW_OK;
    }
    bool ins;
    cw_err err = lookup_or_insert(c, "SELECT id FROM event_envs WHERE name = ?",
                                  "INSERT INTO event_envs (name) VALUES (?) RETURNING id", 0,
                                  name, out, &ins, d);
    if (!err && cw_strmap_put(&pc->env, name, (void *)(intptr_t)*out))
        err = cw_fail(d, CW_ERR_NOMEM, "events: out of memory");
    return err;
}

static cw_err link_id(cw__sqlite_conn *c, put_cache *pc, int kind, const char *value,
                      int64_t *out, cw_diag *d)
{
    size_t n = strlen(value);
    char buf[300], *key = buf;
    if (n + 3 > sizeof buf && !(key = malloc(n + 3)))
        return cw_fail(d, CW_ERR_NOMEM, "events: out of memory");
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
    err = lookup_or_insert(c, "SELECT id FROM event_links WHERE kind = ? AND value = ?",
                           "INSERT INTO event_links (kind, value) VALUES (?, ?) RETURNING id",
                           kind, value, out, &ins, d);
    if (err)
        goto out;
    pc->new_links |= ins;
    if (cw_strmap_put(&pc->link, key, (void *)(intptr_t)*out))
        err = cw_fail(d, CW_ERR_NOMEM, "events: out of memory");
out:
    if (key != buf)
        free(key);
    return err;
}

#define INSERT_EVENT_SQL                                                                     \
    "INSERT INTO events (source, event_id, type, subject_id, time_ms, received_ms, chain_id," \
    " env_id, artifact_id, link_id, cls, kind, changes, body)"                               \
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"                                     \
    " ON CONFLICT (source, event_id) DO NOTHING"

static cw_err put_row(cw__sqlite_conn *c, put_cache *pc, sqlite3_stmt *ins,
                      const cw__event_row *r, int64_t now_ms, bool *stored, cw_diag *d)
{
    int64_t env = 0, link = 0;
    cw_err err = CW_OK;
    if (r->environment && (err = env_id(c, pc, r->environment, &env, d)))
        return err;
    if (r->link_value && r->link_kind && (err = link_id(c, pc, r->link_kind, r->link_value, &link, d)))
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

static cw_err put_batch(cw__sqlite_conn *c, put_cache *pc, cw__event_batch *b, int64_t now_ms)
{
    memset(&b->res, 0, sizeof b->res);
    b->err = CW_OK;
    sqlite3_stmt *ins = NULL;
    cw_err err = run(c, "SAVEPOINT events_batch", &b->diag);
    if (err)
        return err;
    err = cw__sqlite_stmt(c, INSERT_EVENT_SQL, &ins, &b->diag);
    for (size_t i = 0; !err && i < b->n; i++) {
        bool stored = false;
        err = put_row(c, pc, ins, &b->rows[i], now_ms, &stored, &b->diag);
        if (err)
            cw_diag_prefix(&b->diag, "events[%zu]", i);
        else if (stored)
            b->res.accepted++;
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
        cw_strmap_free(&pc->env);
        cw_strmap_free(&pc->link);
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
    put_cache pc;
    memset(&pc, 0, sizeof pc);
    for (size_t i = 0; !err && i < n; i++) {
        err = put_batch(c, &pc, batches[i], now_ms);
        if (err)
            *d = batches[i]->diag;
    }
    int64_t stale = 0;
    if (!err)
        err = read_int(c, LINKS_STALE_SQL, &stale, d);
    if (!err && (stale || pc.new_links))
        err = links_refresh(c, stale != 0, d);
    cw_strmap_free(&pc.env);
    cw_strmap_free(&pc.link);
    return cw__sqlite_write_end(s, c, err, d);
}

/* ---- scopes ------------------------------------------------------------------------------------------ */

/* SQL selecting the entity ids of a scope's Components into out; the
 * scope's key is bound to parameter `param` ("?1"). */
static void scope_ids_sql(const cw_scope *sc, const char *param, char *out, size_t cap)
{
    switch (sc ? sc->kind : CW_SCOPE_ORG) {
    case CW_SCOPE_COMPONENT:
        snprintf(out, cap, "SELECT id FROM entities WHERE key = %s AND kind = 'Component'",
                 param);
        break;
    case CW_SCOPE_SYSTEM:
    case CW_SCOPE_GROUP: {
        bool sys = sc->kind == CW_SCOPE_SYSTEM;
        snprintf(out, cap,
                 "SELECT r.entity_id FROM relations r JOIN entities e ON e.id = r.entity_id"
                 " WHERE r.target_key = %s AND r.inverse_lc = '%s' AND r.type = '%s'"
                 " AND e.kind = 'Component'",
                 param, sys ? "haspart" : "ownerof", sys ? "partOf" : "ownedBy");
        break;
    }
    case CW_SCOPE_ORG:
    default:
        snprintf(out, cap, "SELECT id FROM entities WHERE kind = 'Component' AND %s IS NOT NULL",
                 param);
        break;
    }
}

/* CW_ERR_NOT_FOUND unless the scope's entity exists. */
static cw_err scope_check(cw__sqlite_conn *c, const cw_scope *sc, cw_diag *d)
{
    if (!sc || sc->kind == CW_SCOPE_ORG)
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

static const char *link_name(int kind)
{
    return kind == CW_LINK_SERVICE ? "service" : kind == CW_LINK_REPOSITORY ? "repository" : NULL;
}

static cw_err ev_query(cw_store *store, const cw_event_query *q, cw_event_list *out, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw_err err = links_ensure_fresh(s, d);
    if (err)
        return err;
    cw_buf sql;
    cw_buf_init(&sql, 0);
    cw_buf_puts(&sql,
                "SELECT e.id, e.time_ms, e.received_ms, e.source, e.event_id, e.type,"
                " e.subject_id, e.chain_id, v.name, e.artifact_id, l.kind, l.value, c.ref, e.body"
                " FROM events e"
                " LEFT JOIN event_envs v ON v.id = e.env_id"
                " LEFT JOIN event_links l ON l.id = e.link_id"
                " LEFT JOIN entities c ON c.id = l.component_id"
                " WHERE 1");
    if (q->type_prefix)
        cw_buf_puts(&sql, " AND substr(e.type, 1, length(?1)) = ?1");
    if (q->unmatched)
        cw_buf_puts(&sql, " AND e.link_id IN (SELECT id FROM event_links"
                          " WHERE component_id IS NULL AND resolved = 1)");
    else if (q->scope) {
        char scope_sql[512];
        scope_ids_sql(q->scope, "?2", scope_sql, sizeof scope_sql);
        cw_buf_printf(&sql, " AND e.link_id IN (SELECT id FROM event_links"
                            " WHERE component_id IN (%s))",
                      scope_sql);
    }
    if (q->environment)
        cw_buf_puts(&sql, " AND e.env_id = (SELECT id FROM event_envs WHERE name = ?3)");
    if (q->from_ms != INT64_MIN)
        cw_buf_puts(&sql, " AND e.time_ms >= ?4");
    if (q->to_ms != INT64_MAX)
        cw_buf_puts(&sql, " AND e.time_ms < ?5");
    if (q->after)
        cw_buf_puts(&sql, " AND (e.time_ms, e.id) < (?6, ?7)");
    if (cw_buf_puts(&sql, " ORDER BY e.time_ms DESC, e.id DESC LIMIT ?8")) {
        cw_buf_free(&sql);
        return cw_fail(d, CW_ERR_NOMEM, "events: out of memory");
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
    if (q->type_prefix)
        cw__bind_text(st, 1, q->type_prefix);
    cw__bind_text(st, 2, q->scope ? q->scope->key : "");
    cw__bind_text(st, 3, q->environment);
    cw__bind_int64(st, 4, q->from_ms);
    cw__bind_int64(st, 5, q->to_ms);
    cw__bind_int64(st, 6, q->after_time_ms);
    cw__bind_int64(st, 7, q->after_seq);
    cw__bind_int64(st, 8, q->limit > INT64_MAX ? INT64_MAX : (int64_t)q->limit);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap || !items) {
            size_t ncap = len == cap ? cap * 2 : cap;
            cw_stored_event *p = realloc(items, (ncap ? ncap : 16) * sizeof *p);
            if (!p) {
                err = cw_fail(d, CW_ERR_NOMEM, "events: out of memory");
                goto out;
            }
            items = p;
            cap = ncap ? ncap : 16;
        }
        cw_stored_event *e = &items[len];
        memset(e, 0, sizeof *e);
        len++;
        bool oom = false;
        e->seq = sqlite3_column_int64(st, 0);
        e->time_ms = sqlite3_column_int64(st, 1);
        e->received_ms = sqlite3_column_int64(st, 2);
        e->source = dup_col(st, 3, &oom);
        e->id = dup_col(st, 4, &oom);
        e->type = dup_col(st, 5, &oom);
        e->subject_id = dup_col(st, 6, &oom);
        e->chain_id = dup_col(st, 7, &oom);
        e->environment = dup_col(st, 8, &oom);
        e->artifact_id = dup_col(st, 9, &oom);
        e->link = link_name(sqlite3_column_int(st, 10));
        e->link_value = dup_col(st, 11, &oom);
        e->component_ref = dup_col(st, 12, &oom);
        e->body = dup_col(st, 13, &oom);
        if (oom || !e->source || !e->id || !e->type || !e->subject_id || !e->body) {
            err = cw_fail(d, CW_ERR_NOMEM, "events: out of memory");
            goto out;
        }
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
    cw__bind_int64(st, 1, max > INT64_MAX ? INT64_MAX : (int64_t)max);
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
        bool oom = false;
        cw_unmatched_key *k = &keys[len++];
        k->link = link_name(sqlite3_column_int(st, 0));
        k->value = dup_col(st, 1, &oom);
        k->events = (size_t)sqlite3_column_int64(st, 2);
        k->last_ms = sqlite3_column_int64(st, 3);
        if (oom || !k->value || !k->link) {
            err = cw_fail(d, oom ? CW_ERR_NOMEM : CW_ERR_INTERNAL, "events: unmatched keys");
            goto out;
        }
    }
    if (rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "unmatched keys");
out:
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
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
    int32_t *comp;       /* link id -> component index or -1 */
    size_t nlinks;
    bool *prod;          /* environment id -> production */
    size_t nenvs;
    cw_buf scope_links;  /* JSON array of the scope's link ids */
} delivery_maps;

static int32_t comp_of(const delivery_maps *m, sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return -1;
    int64_t l = sqlite3_column_int64(st, col);
    return l > 0 && (size_t)l < m->nlinks ? m->comp[l] : -1;
}

static bool is_prod(const delivery_maps *m, sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return false;
    int64_t e = sqlite3_column_int64(st, col);
    return e > 0 && (size_t)e < m->nenvs && m->prod[e];
}

static cw_err load_components(cw__sqlite_conn *c, const cw_scope *sc, cw__delivery_builder *b,
                              id_idx **ids_out, size_t *n_out, cw_diag *d)
{
    char scope_sql[512], sql[1024];
    scope_ids_sql(sc, "?1", scope_sql, sizeof scope_sql);
    snprintf(sql, sizeof sql,
             "SELECT e.id, e.ref, (SELECT r.target_ref FROM relations r"
             " WHERE r.entity_id = e.id AND r.type = 'ownedBy' ORDER BY r.target_key LIMIT 1)"
             " FROM entities e WHERE e.id IN (%s) ORDER BY e.key",
             scope_sql);
    sqlite3_stmt *st = NULL;
    id_idx *ids = NULL;
    size_t n = 0, cap = 0;
    cw_err err = cw__sqlite_stmt(c, sql, &st, d);
    if (err)
        return err;
    cw__bind_text(st, 1, sc ? sc->key : "");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            id_idx *p = realloc(ids, ncap * sizeof *p);
            if (!p) {
                err = CW_ERR_NOMEM;
                break;
            }
            ids = p;
            cap = ncap;
        }
        if (n >= INT32_MAX) {
            err = CW_ERR_TOO_LARGE;
            break;
        }
        ids[n] = (id_idx){sqlite3_column_int64(st, 0), (int32_t)n};
        const unsigned char *owner = sqlite3_column_text(st, 2);
        err = cw__delivery_add_component(b, cw__col_text(st, 1), (const char *)owner);
        if (err)
            break;
        n++;
    }
    if (err)
        err = cw_fail(d, err, "delivery: out of memory loading components");
    else if (rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "components");
    cw__sqlite_done(c, st);
    if (err) {
        free(ids);
        return err;
    }
    if (n)
        qsort(ids, n, sizeof *ids, id_idx_cmp);
    *ids_out = ids;
    *n_out = n;
    return CW_OK;
}

static cw_err load_maps(cw__sqlite_conn *c, const cw_delivery_query *q, const id_idx *ids,
                        size_t nids, delivery_maps *m, cw__delivery_builder *b, cw_diag *d)
{
    int32_t *repo_links = nids ? calloc(nids, sizeof *repo_links) : NULL;
    if (nids && !repo_links)
        return cw_fail(d, CW_ERR_NOMEM, "delivery: out of memory");
    int64_t maxl = 0, maxe = 0;
    cw_err err = read_int(c, "SELECT coalesce(max(id), 0) FROM event_links", &maxl, d);
    if (!err)
        err = read_int(c, "SELECT coalesce(max(id), 0) FROM event_envs", &maxe, d);
    if (err)
        goto out;
    m->nlinks = (size_t)maxl + 1;
    m->nenvs = (size_t)maxe + 1;
    m->comp = malloc(m->nlinks * sizeof *m->comp);
    m->prod = calloc(m->nenvs, sizeof *m->prod);
    if (!m->comp || !m->prod) {
        err = cw_fail(d, CW_ERR_NOMEM, "delivery: out of memory");
        goto out;
    }
    for (size_t i = 0; i < m->nlinks; i++)
        m->comp[i] = -1;
    sqlite3_stmt *st = NULL;
    err = cw__sqlite_stmt(c, "SELECT id, component_id, kind FROM event_links"
                             " WHERE component_id IS NOT NULL", &st, d);
    if (err)
        goto out;
    cw_buf_puts(&m->scope_links, "[");
    bool first = true;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t l = sqlite3_column_int64(st, 0);
        id_idx key = {sqlite3_column_int64(st, 1), 0};
        const id_idx *hit = nids ? bsearch(&key, ids, nids, sizeof *ids, id_idx_cmp) : NULL;
        if (!hit || l <= 0 || (size_t)l >= m->nlinks)
            continue;
        m->comp[l] = hit->idx;
        cw_buf_printf(&m->scope_links, "%s%lld", first ? "" : ",", (long long)l);
        first = false;
        /* changes reach a component under each of its repository keys */
        if (sqlite3_column_int(st, 2) == CW_LINK_REPOSITORY && ++repo_links[hit->idx] == 2 &&
            cw__delivery_mark_multi_link(b, hit->idx)) {
            err = cw_fail(d, CW_ERR_NOMEM, "delivery: out of memory");
            break;
        }
    }
    cw__sqlite_done(c, st);
    if (err)
        goto out;
    if (rc != SQLITE_DONE) {
        err = cw__sqlite_fail(c, rc, d, "event links");
        goto out;
    }
    if (cw_buf_puts(&m->scope_links, "]")) {
        err = cw_fail(d, CW_ERR_NOMEM, "delivery: out of memory");
        goto out;
    }
    st = NULL;
    err = cw__sqlite_stmt(c, "SELECT id, name FROM event_envs", &st, d);
    if (err)
        goto out;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t e = sqlite3_column_int64(st, 0);
        if (e > 0 && (size_t)e < m->nenvs)
            m->prod[e] = cw_env_is_production(cw__col_text(st, 1), q->production_env);
    }
    cw__sqlite_done(c, st);
    if (rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "environments");
out:
    free(repo_links);
    return err;
}

/* Prepares the query of one event class, filtered by the scope's links
 * unless org-wide (then rows outside the catalog are skipped in C). */
static cw_err class_stmt(cw__sqlite_conn *c, const char *cols, int cls, const char *order,
                         bool scoped, const delivery_maps *m, sqlite3_stmt **st, cw_diag *d)
{
    char sql[512];
    /* "cls > 0" repeats the partial index's condition so the planner uses it */
    snprintf(sql, sizeof sql, "SELECT %s FROM events WHERE cls > 0 AND cls = %d%s%s", cols, cls,
             scoped ? " AND link_id IN (SELECT value FROM json_each(?1))" : "", order);
    cw_err err = cw__sqlite_stmt(c, sql, st, d);
    if (!err && scoped)
        cw__bind_text(*st, 1, cw_buf_cstr(&m->scope_links));
    return err;
}

static const char *col_str(sqlite3_stmt *st, int col, size_t *len)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    *len = t ? (size_t)sqlite3_column_bytes(st, col) : 0;
    return t;
}

static cw_err load_service_events(cw__sqlite_conn *c, const cw_delivery_query *q, bool scoped,
                                  const delivery_maps *m, cw__delivery_builder *b, cw_diag *d)
{
    sqlite3_stmt *st = NULL;
    cw_err err = class_stmt(c, "link_id, kind, time_ms, env_id, artifact_id, chain_id, changes",
                            CW__EVC_SERVICE, "", scoped, m, &st, d);
    if (err)
        return err;
    int rc;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int32_t comp = comp_of(m, st, 0);
        if (comp < 0 || !is_prod(m, st, 3))
            continue;
        int kind = sqlite3_column_int(st, 1);
        int64_t t = sqlite3_column_int64(st, 2);
        if (kind == CW__EVK_ROLLEDBACK) {
            if (q->what & CW_DELIVERY_ROLLBACKS)
                err = cw__delivery_add_rollback(b, comp, t);
        } else if (q->what & CW_DELIVERY_DEPLOYMENTS) {
            size_t alen, clen;
            const char *art = col_str(st, 4, &alen);
            const char *chain = col_str(st, 5, &clen);
            err = cw__delivery_add_deployment(b, comp, t, art, alen, chain, clen,
                                              (const char *)sqlite3_column_text(st, 6));
        }
    }
    if (err)
        err = cw_fail(d, err, "delivery: out of memory loading deployments");
    else if (rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "deployments");
    cw__sqlite_done(c, st);
    return err;
}

static cw_err load_changes(cw__sqlite_conn *c, bool scoped, const delivery_maps *m,
                           cw__delivery_builder *b, cw_diag *d)
{
    sqlite3_stmt *st = NULL;
    cw_err err = class_stmt(c, "link_id, subject_id, kind, time_ms", CW__EVC_CHANGE,
                            " ORDER BY link_id, subject_id", scoped, m, &st, d);
    if (err)
        return err;
    int rc;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int32_t comp = comp_of(m, st, 0);
        if (comp < 0)
            continue;
        size_t n;
        const char *id = col_str(st, 1, &n);
        err = cw__delivery_add_change_event(b, comp, id ? id : "", n, sqlite3_column_int(st, 2),
                                            sqlite3_column_int64(st, 3));
    }
    if (err)
        err = cw_fail(d, err, "delivery: out of memory loading changes");
    else if (rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "changes");
    cw__sqlite_done(c, st);
    return err;
}

static cw_err load_incidents(cw__sqlite_conn *c, const delivery_maps *m, cw__delivery_builder *b,
                             cw_diag *d)
{
    /* every incident event: one incident's events need not all name its
     * service, so the scope is applied per incident afterwards */
    sqlite3_stmt *st = NULL;
    cw_err err = class_stmt(c, "link_id, subject_id, kind, time_ms, artifact_id",
                            CW__EVC_INCIDENT, "", false, m, &st, d);
    if (err)
        return err;
    int rc;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t n, alen;
        const char *id = col_str(st, 1, &n);
        const char *art = col_str(st, 4, &alen);
        err = cw__delivery_add_incident_event(b, comp_of(m, st, 0), id ? id : "", n,
                                              sqlite3_column_int(st, 2),
                                              sqlite3_column_int64(st, 3), art, alen);
    }
    if (err)
        err = cw_fail(d, err, "delivery: out of memory loading incidents");
    else if (rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "incidents");
    cw__sqlite_done(c, st);
    return err;
}

static cw_err ev_delivery(cw_store *store, const cw_delivery_query *q, cw_delivery_data *out,
                          cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw_err err = links_ensure_fresh(s, d);
    if (err)
        return err;
    cw__delivery_builder *b = NULL;
    id_idx *ids = NULL;
    size_t nids = 0;
    delivery_maps m;
    memset(&m, 0, sizeof m);
    cw_buf_init(&m.scope_links, 0);
    bool org = !q->scope || q->scope->kind == CW_SCOPE_ORG;
    if (cw__delivery_builder_new(&b))
        return cw_fail(d, CW_ERR_NOMEM, "delivery: out of memory");
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    err = cw__sqlite_read_begin(c, d);
    if (!err)
        err = scope_check(c, q->scope, d);
    if (!err)
        err = load_components(c, q->scope, b, &ids, &nids, d);
    if (!err)
        err = load_maps(c, q, ids, nids, &m, b, d);
    if (!err && (q->what & (CW_DELIVERY_DEPLOYMENTS | CW_DELIVERY_ROLLBACKS)))
        err = load_service_events(c, q, !org, &m, b, d);
    if (!err && (q->what & CW_DELIVERY_CHANGES))
        err = load_changes(c, !org, &m, b, d);
    if (!err && (q->what & CW_DELIVERY_INCIDENTS))
        err = load_incidents(c, &m, b, d);
    cw__sqlite_read_release(s, c);
    if (!err) {
        err = cw__delivery_finish(b, org, out, d);
        b = NULL;
    }
    cw__delivery_builder_free(b);
    free(ids);
    free(m.comp);
    free(m.prod);
    cw_buf_free(&m.scope_links);
    return err;
}

const struct cw_store_event_ops cw__sqlite_event_ops = {
    .put = ev_put,
    .query = ev_query,
    .unmatched_keys = ev_unmatched_keys,
    .delivery = ev_delivery,
};
