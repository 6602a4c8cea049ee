/*
 * sqlite_entities.c — catalog entities in SQLite: put (single or batch, one
 * transaction), get with relations in both directions (served from the
 * rendered-entity cache when the data generation is unchanged), delete,
 * filtered/paged queries, facets and counts.
 *
 * Incoming relations are never written onto the target's rows: they are
 * derived at read time by joining the relations table on target_key, so a
 * relation to an entity that does not exist yet "resolves" the moment it
 * arrives, and a filter on relations.ownerof finds the group from the
 * components' ownedBy rows.
 */
#include "store/sqlite_int.h"
#include "store/store_rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_QUERY_PARAMS 30000 /* below SQLite's 32766 bound variables */

/* ---- put ----------------------------------------------------------------------------- */

/* Buffers reused by every entity of a batch: growing fresh ones per entity
 * costs more than filling them. */
typedef struct {
    cw_buf canon;          /* canonical JSON, for the etag */
    cw_buf body;           /* entities.body */
    cw_buf blob;           /* entities.search_rows */
} put_scratch;

static void scratch_init(put_scratch *sc)
{
    cw_buf_init(&sc->canon, 0);
    cw_buf_init(&sc->body, 0);
    cw_buf_init(&sc->blob, 0);
}

static void scratch_free(put_scratch *sc)
{
    cw_buf_free(&sc->canon);
    cw_buf_free(&sc->body);
    cw_buf_free(&sc->blob);
}

/* What one entity turns into before it touches the database. */
typedef struct {
    cw__entity_ident id;
    cw__entity_derived x;
    cw__srow *srows;       /* rows with original case, borrowed strings */
    size_t nsrows;
    cw_buf *blob;          /* entities.search_rows (the batch's scratch) */
    cw_buf *body;          /* entities.body (the batch's scratch) */
} prepared_entity;

static void prepared_free(prepared_entity *p)
{
    cw__entity_derived_free(&p->x);
    free(p->srows);
}

/* Derives body, relations, search rows and texts from a validated entity
 * whose metadata.uid/etag are already set. */
static cw_err prepare_rows(json_t *e, prepared_entity *p, cw_diag *d)
{
    cw_buf_reset(p->body);
    cw_err err = cw__entity_derive(e, &p->x, p->body, d);
    if (err)
        return err;
    const cw_search_rows *rows = &p->x.rows;
    p->srows = calloc(rows->len ? rows->len : 1, sizeof *p->srows);
    if (!p->srows)
        return cw_fail(d, CW_ERR_NOMEM, "entity: out of memory");
    for (size_t i = 0; i < rows->len; i++) {
        cw__srow *r = &p->srows[i];
        r->key = rows->items[i].key;
        r->value = rows->items[i].value;
        r->original = rows->items[i].original;
    }
    p->nsrows = rows->len;
    cw__srows_normalize(p->srows, &p->nsrows);
    cw_buf_reset(p->blob);
    err = cw__search_blob(p->srows, p->nsrows, p->blob);
    if (err)
        return cw_fail(d, err, "entity: cannot encode search rows");
    return CW_OK;
}

static cw_err step_done(cw__sqlite_conn *c, sqlite3_stmt *st, cw_diag *d, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return cw__sqlite_fail(c, rc, d, what);
    return CW_OK;
}

/* Runs one cached statement with one integer parameter to completion. */
static cw_err exec_id(cw__sqlite_conn *c, const char *sql, int64_t id, cw_diag *d)
{
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c, sql, &st, d);
    if (!err) {
        cw__bind_int64(st, 1, id);
        err = step_done(c, st, d, "entity write");
    }
    cw__sqlite_done(c, st);
    return err;
}

/* Puts one entity inside the caller's write transaction; its search rows
 * are queued on sb. *changed is set when the database was modified. */
static cw_err put_one(cw__sqlite_conn *c, cw__search_batch *sb, put_scratch *sc, json_t *e,
                      const char *if_match, int64_t now, cw_put_result *res, bool *changed,
                      cw_diag *d)
{
    prepared_entity p;
    memset(&p, 0, sizeof p);
    p.body = &sc->body;
    p.blob = &sc->blob;
    sqlite3_stmt *sel = NULL, *wr = NULL;
    char uid[40] = "", old_etag[48] = "";
    void *old_rows = NULL;
    size_t old_len = 0;
    int64_t id = 0;
    bool exists = false;

    cw_err err = cw__entity_identify(e, &p.id, &sc->canon, d);
    if (err)
        goto out;

    err = cw__sqlite_stmt(c, "SELECT id, uid, etag, search_rows FROM entities WHERE key = ?",
                          &sel, d);
    if (err)
        goto out;
    cw__bind_text(sel, 1, p.id.key);
    int rc = sqlite3_step(sel);
    if (rc == SQLITE_ROW) {
        exists = true;
        id = sqlite3_column_int64(sel, 0);
        snprintf(uid, sizeof uid, "%s", cw__col_text(sel, 1));
        snprintf(old_etag, sizeof old_etag, "%s", cw__col_text(sel, 2));
        if (strcmp(old_etag, p.id.etag) != 0) {
            /* kept past the statement's reset: the rows to replace */
            old_len = (size_t)sqlite3_column_bytes(sel, 3);
            old_rows = malloc(old_len ? old_len : 1);
            if (!old_rows) {
                err = cw_fail(d, CW_ERR_NOMEM, "entity: out of memory");
                goto out;
            }
            if (old_len)
                memcpy(old_rows, sqlite3_column_blob(sel, 3), old_len);
        }
    } else if (rc != SQLITE_DONE) {
        err = cw__sqlite_fail(c, rc, d, "entity lookup");
        goto out;
    }
    cw__sqlite_done(c, sel);
    sel = NULL;

    if ((err = cw__entity_if_match(p.id.disp, exists, old_etag, if_match, d)))
        goto out;
    if (!exists && (err = cw__uuid4(uid, d)))
        goto out;
    if ((err = cw__entity_set_server_fields(e, uid, p.id.etag, d)))
        goto out;
    snprintf(res->uid, sizeof res->uid, "%s", uid);
    snprintf(res->etag, sizeof res->etag, "%s", p.id.etag);
    if (exists && !strcmp(old_etag, p.id.etag)) {
        res->status = CW_PUT_UNCHANGED;
        goto out;
    }
    if ((err = prepare_rows(e, &p, d)))
        goto out;

    if (exists) {
        err = cw__sqlite_stmt(c,
                              "UPDATE entities SET ref = ?, kind = ?, namespace = ?, "
                              "name = ?, etag = ?, body = ?, text_name = ?, "
                              "text_title = ?, text_desc = ?, updated_at = ?, "
                              "search_rows = ? WHERE id = ?",
                              &wr, d);
    } else {
        err = cw__sqlite_stmt(c,
                              "INSERT INTO entities (ref, kind, namespace, name, etag, "
                              "body, text_name, text_title, text_desc, updated_at, "
                              "search_rows, id, uid, key, created_at) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)",
                              &wr, d);
    }
    if (err)
        goto out;
    cw__bind_text(wr, 1, p.id.disp);
    cw__bind_text(wr, 2, p.id.ref.kind);
    cw__bind_text(wr, 3, p.id.ref.namespace_);
    cw__bind_text(wr, 4, p.id.ref.name);
    cw__bind_text(wr, 5, p.id.etag);
    sqlite3_bind_text(wr, 6, cw_buf_cstr(p.body), (int)p.body->len, SQLITE_STATIC);
    cw__bind_text(wr, 7, p.x.text_name);
    cw__bind_text(wr, 8, p.x.text_title);
    cw__bind_text(wr, 9, p.x.text_desc);
    cw__bind_int64(wr, 10, now);
    sqlite3_bind_blob(wr, 11, p.blob->len ? p.blob->data : "", (int)p.blob->len,
                      SQLITE_STATIC);
    if (exists) {
        cw__bind_int64(wr, 12, id);
    } else {
        cw__bind_text(wr, 12, uid);
        cw__bind_text(wr, 13, p.id.key);
        cw__bind_int64(wr, 14, now);
    }
    if ((err = step_done(c, wr, d, exists ? "entity update" : "entity insert")))
        goto out;
    if (exists) {
        if ((err = exec_id(c, "DELETE FROM relations WHERE entity_id = ?", id, d)))
            goto out;
    } else {
        id = sqlite3_last_insert_rowid(c->db);
    }
    err = cw__search_batch_relations(sb, id, &p.x.rels);
    if (!err)
        err = cw__search_batch_diff(sb, id, old_rows, old_len, p.srows, p.nsrows);
    if (err) {
        cw_fail(d, err, "entity %s: %s", p.id.disp,
                err == CW_ERR_IO ? "stored search rows are corrupt" : "out of memory");
        goto out;
    }
    res->status = exists ? CW_PUT_UPDATED : CW_PUT_CREATED;
    *changed = true;
out:
    cw__sqlite_done(c, sel);
    cw__sqlite_done(c, wr);
    free(old_rows);
    prepared_free(&p);
    return err;
}

static cw_err ent_put(cw_store *store, json_t *const *entities, const char *const *if_match,
                      size_t n, cw_put_result *results, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c;
    cw_err err = cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    int64_t now = (int64_t)time(NULL);
    bool changed = false;
    cw__search_batch *sb = NULL;
    put_scratch sc;
    scratch_init(&sc);
    if (cw__search_batch_new(&sb) != CW_OK)
        err = cw_fail(d, CW_ERR_NOMEM, "entities: out of memory");
    for (size_t i = 0; i < n && !err; i++) {
        memset(&results[i], 0, sizeof results[i]);
        err = put_one(c, sb, &sc, entities[i], if_match ? if_match[i] : NULL, now,
                      &results[i], &changed, d);
        if (err && n > 1)
            cw_diag_prefix(d, "entities[%zu]", i);
    }
    if (!err)
        err = cw__search_batch_apply(sb, c, d);
    if (!err && changed)
        err = cw__sqlite_entity_gen_bump(c, d);
    cw__search_batch_free(sb);
    scratch_free(&sc);
    return cw__sqlite_write_end(s, c, err, d);
}

/* ---- get ------------------------------------------------------------------------------ */

/* Renders one stored entity with its relations in both directions. */
static cw_err render_row(cw__sqlite_conn *c, int64_t id, const char *key, const char *body,
                         size_t body_len, cw__rel_vec *rels, cw_buf *out, cw_diag *d)
{
    sqlite3_stmt *st = NULL;
    cw__rel_vec_reset(rels);
    /* outgoing rows (0) and others' rows pointing here (1), shown inverted */
    cw_err err = cw__sqlite_stmt(c,
                                 "SELECT type, target_ref, target_key, 0 FROM relations "
                                 "WHERE entity_id = ?1 "
                                 "UNION ALL "
                                 "SELECT r.type, s.ref, s.key, 1 FROM relations r "
                                 "JOIN entities s ON s.id = r.entity_id "
                                 "WHERE r.target_key = ?2",
                                 &st, d);
    int rc = SQLITE_DONE;
    if (!err) {
        cw__bind_int64(st, 1, id);
        cw__bind_text(st, 2, key);
        while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *type = cw__col_text(st, 0);
            if (sqlite3_column_int(st, 3))
                type = cw_relation_inverse(type);
            err = cw__rel_vec_add(rels, type, cw__col_text(st, 1), cw__col_text(st, 2));
        }
        if (!err && rc != SQLITE_DONE)
            err = cw__sqlite_fail(c, rc, d, "relations");
    }
    cw__sqlite_done(c, st);
    if (!err) {
        err = cw__render_entity(body, body_len, rels, out);
        if (err)
            cw_fail(d, err, "entity %s: cannot render", key);
    }
    if (err == CW_ERR_NOMEM)
        cw_fail(d, err, "entity: out of memory");
    return err;
}

/* Reads entity id's body and etag and renders it into out. */
static cw_err load_rendered(cw__sqlite_conn *c, int64_t id, const char *key,
                            cw__rel_vec *rels, cw_buf *out, char etag[48], cw_diag *d)
{
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c, "SELECT body, etag FROM entities WHERE id = ?", &st, d);
    if (err)
        return err;
    cw__bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(etag, 48, "%s", cw__col_text(st, 1));
        err = render_row(c, id, key, cw__col_text(st, 0), (size_t)sqlite3_column_bytes(st, 0),
                         rels, out, d);
    } else {
        err = cw__sqlite_fail(c, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc, d, "entity body");
    }
    cw__sqlite_done(c, st);
    return err;
}

static cw_err ent_get(cw_store *store, const char *key, char **json_out, char etag_out[48],
                      cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    uint32_t marker = 0;
    bool marked = cw__sqlite_marker(s, &marker);
    /* no commit since the cache was last validated: answer from memory */
    if (marked && cw__rcache_get_marked(s->rcache, key, marker, json_out, etag_out))
        return CW_OK;
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL;
    cw__rel_vec rels = {0};
    cw_buf out;
    cw_buf_init(&out, 0);
    char etag[48] = "";
    int64_t gen = 0;

    /* one snapshot for the generation and the data; gen is read after the
     * marker, as cw__rcache_mark requires */
    cw_err err = cw__sqlite_read_begin(c, d);
    if (!err)
        err = cw__sqlite_entity_gen(c, &gen, d);
    if (!err && marked)
        cw__rcache_mark(s->rcache, marker, gen);
    if (err || cw__rcache_get(s->rcache, key, gen, json_out, etag_out))
        goto out;
    err = cw__sqlite_stmt(c, "SELECT id, body, etag FROM entities WHERE key = ?", &st, d);
    if (err)
        goto out;
    cw__bind_text(st, 1, key);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        err = cw_fail(d, CW_ERR_NOT_FOUND, "%s: not found", key);
        goto out;
    }
    if (rc != SQLITE_ROW) {
        err = cw__sqlite_fail(c, rc, d, "entity get");
        goto out;
    }
    snprintf(etag, sizeof etag, "%s", cw__col_text(st, 2));
    err = render_row(c, sqlite3_column_int64(st, 0), key, cw__col_text(st, 1),
                     (size_t)sqlite3_column_bytes(st, 1), &rels, &out, d);
    if (err)
        goto out;
    cw__rcache_put(s->rcache, key, gen, out.data, out.len, etag);
    if (etag_out)
        memcpy(etag_out, etag, sizeof etag);
    *json_out = cw_buf_steal(&out, NULL);
out:
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    cw__rel_vec_free(&rels);
    cw_buf_free(&out);
    return err;
}

/* ---- delete ---------------------------------------------------------------------------- */

static cw_err ent_del(cw_store *store, const char *key, const char *if_match, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c;
    cw_err err = cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    sqlite3_stmt *st = NULL;
    cw__search_batch *sb = NULL;
    err = cw__sqlite_stmt(c, "SELECT id, etag, search_rows FROM entities WHERE key = ?", &st,
                          d);
    if (err)
        goto out;
    cw__bind_text(st, 1, key);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        err = cw_fail(d, CW_ERR_NOT_FOUND, "%s: not found", key);
        goto out;
    }
    if (rc != SQLITE_ROW) {
        err = cw__sqlite_fail(c, rc, d, "entity lookup");
        goto out;
    }
    int64_t id = sqlite3_column_int64(st, 0);
    if ((err = cw__entity_if_match(key, true, cw__col_text(st, 1), if_match, d)))
        goto out;
    if ((err = cw__search_batch_new(&sb))) {
        cw_fail(d, err, "entity: out of memory");
        goto out;
    }
    err = cw__search_batch_diff(sb, id, sqlite3_column_blob(st, 2),
                                (size_t)sqlite3_column_bytes(st, 2), NULL, 0);
    if (err) {
        cw_fail(d, err, "entity %s: %s", key,
                err == CW_ERR_IO ? "stored search rows are corrupt" : "out of memory");
        goto out;
    }
    cw__sqlite_done(c, st);
    st = NULL;
    /* relations go with it (ON DELETE CASCADE), search rows through sb */
    if (!(err = exec_id(c, "DELETE FROM entities WHERE id = ?", id, d)) &&
        !(err = cw__search_batch_apply(sb, c, d)))
        err = cw__sqlite_entity_gen_bump(c, d);
out:
    cw__sqlite_done(c, st);
    cw__search_batch_free(sb);
    return cw__sqlite_write_end(s, c, err, d);
}

/* ---- SQL building for filters ----------------------------------------------------------- */

static void qb_value_list(cw__qb *b, const cw_filter_cond *k)
{
    cw__qb_sql(b, "(");
    for (size_t v = 0; v < k->nvalues; v++) {
        if (v)
            cw__qb_sql(b, ",");
        cw__qb_param(b, k->values[v]);
    }
    cw__qb_sql(b, ")");
}

/* Appends a SELECT of the ids (column "id") of entities matching one
 * condition; compound (a UNION) for relations.* keys. */
static void qb_cond_set(cw__qb *b, const cw_filter_cond *k)
{
    cw__qb_sql(b, "SELECT entity_id AS id FROM search WHERE key = ");
    cw__qb_param(b, k->key);
    if (k->nvalues) {
        cw__qb_sql(b, " AND value IN ");
        qb_value_list(b, k);
        /* '' is also how a null leaf is stored: keep those out */
        if (cw__has_empty_value(k))
            cw__qb_sql(b, " AND NOT is_null");
    }
    if (!cw__is_relation_key(k->key))
        return;
    /* plus the inverse of others' outgoing relations: ownerOf from ownedBy */
    if (k->nvalues) {
        cw__qb_sql(b, " UNION SELECT t.id FROM entities s "
                  "JOIN relations r ON r.entity_id = s.id "
                  "JOIN entities t ON t.key = r.target_key WHERE s.key IN ");
        qb_value_list(b, k);
        cw__qb_sql(b, " AND r.inverse_lc = ");
    } else {
        cw__qb_sql(b, " UNION SELECT t.id FROM relations r "
                  "JOIN entities t ON t.key = r.target_key WHERE r.inverse_lc = ");
    }
    cw__qb_param(b, k->key + 10);
}

/*
 * Appends a SELECT of the ids of the entities matching filter (n > 0): the
 * UNION of the clauses, each the INTERSECT of its conditions. Compound
 * SELECTs associate left to right in SQLite, so nested ones are wrapped in
 * subqueries. Reading only the search table's primary key, it never
 * touches the (wide) entity rows.
 */
static void qb_set(cw__qb *b, const cw_filter *f)
{
    for (size_t i = 0; i < f->n; i++) {
        const cw_filter_clause *cl = &f->clauses[i];
        bool wrap_clause = f->n > 1 && cl->n > 1;
        if (i)
            cw__qb_sql(b, " UNION ");
        if (wrap_clause)
            cw__qb_sql(b, "SELECT id FROM (");
        if (cl->n == 0)
            cw__qb_sql(b, "SELECT id FROM entities");
        for (size_t j = 0; j < cl->n; j++) {
            const cw_filter_cond *k = &cl->conds[j];
            bool wrap = cw__is_relation_key(k->key) && (cl->n > 1 || f->n > 1);
            if (j)
                cw__qb_sql(b, " INTERSECT ");
            if (wrap)
                cw__qb_sql(b, "SELECT id FROM (");
            qb_cond_set(b, k);
            if (wrap)
                cw__qb_sql(b, ")");
        }
        if (wrap_clause)
            cw__qb_sql(b, ")");
    }
}

static const cw__qb_dialect sqlite_qb = {
    .numbered = false,
    .max_params = MAX_QUERY_PARAMS,
    .true_lit = "1",
    .find_open = "instr(",
    .find_close = ")",
    /* '+' keeps the planner walking the key index in order instead of
     * fetching every match and sorting */
    .key_order_id = "+e.id",
    .set = qb_set,
};

/* Prepares b's SQL on c and binds its strings from index first. */
static cw_err qb_prepare(cw__sqlite_conn *c, const cw__qb *b, int first, sqlite3_stmt **st,
                         cw_diag *d)
{
    cw_err err = cw__sqlite_stmt(c, cw_buf_cstr(&b->sql), st, d);
    for (size_t i = 0; !err && i < b->n; i++)
        if (cw__bind_text(*st, first + (int)i, b->vals[i]) != SQLITE_OK)
            err = cw__sqlite_fail(c, sqlite3_errcode(c->db), d, "bind");
    return err;
}

/* ---- query ------------------------------------------------------------------------------ */

static cw_err page_push(cw_entity_page *p, size_t *cap, char *item, char *key)
{
    if (p->len == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        char **ni = realloc(p->items, ncap * sizeof *ni);
        if (!ni)
            return CW_ERR_NOMEM;
        p->items = ni;
        char **nk = realloc(p->keys, ncap * sizeof *nk);
        if (!nk)
            return CW_ERR_NOMEM;
        p->keys = nk;
        *cap = ncap;
    }
    p->items[p->len] = item;
    p->keys[p->len] = key;
    p->len++;
    return CW_OK;
}

/* Appends the rendered entity (id, key) to out, from the cache when valid. */
static cw_err page_add(cw_sqlite *s, cw__sqlite_conn *c, int64_t gen, int64_t id,
                       const char *key, cw__rel_vec *rels, cw_buf *buf, cw_entity_page *out,
                       size_t *cap, cw_diag *d)
{
    char etag[48];
    char *item = NULL, *k = cw__dup_lower(key);
    cw_err err = k ? CW_OK : cw_fail(d, CW_ERR_NOMEM, "query: out of memory");
    if (!err && !cw__rcache_get(s->rcache, key, gen, &item, NULL)) {
        cw_buf_reset(buf);
        err = load_rendered(c, id, key, rels, buf, etag, d);
        if (!err) {
            cw__rcache_put(s->rcache, key, gen, buf->data, buf->len, etag);
            item = malloc(buf->len + 1);
            if (item)
                memcpy(item, buf->data, buf->len + 1);
            else
                err = cw_fail(d, CW_ERR_NOMEM, "query: out of memory");
        }
    }
    if (!err && page_push(out, cap, item, k) != CW_OK)
        err = cw_fail(d, CW_ERR_NOMEM, "query: out of memory");
    if (err) {
        free(item);
        free(k);
    }
    return err;
}

/* Filter without text, in entity key order: evaluated as id sets. */
static cw_err query_by_ids(cw_sqlite *s, cw__sqlite_conn *c, int64_t gen,
                           const cw_entity_query *q, cw_entity_page *out, cw_diag *d)
{
    cw__idset m = {0};
    cw__keyed *page = NULL;
    size_t npage = 0, cap = 0;
    cw__rel_vec rels = {0};
    cw_buf buf;
    cw_buf_init(&buf, 0);
    cw_err err = cw__sqlite_filter_ids(c, q->filter, &m, d);
    if (!err) {
        out->total = m.len;
        err = cw__sqlite_page_ids(c, &m, q->after_key, q->order_desc, q->offset, q->limit,
                                  &page, &npage, d);
    }
    for (size_t i = 0; !err && i < npage; i++)
        err = page_add(s, c, gen, page[i].id, page[i].key, &rels, &buf, out, &cap, d);
    cw__keyed_free(page, npage);
    cw__idset_free(&m);
    cw__rel_vec_free(&rels);
    cw_buf_free(&buf);
    return err;
}

static cw_err ent_query(cw_store *store, const cw_entity_query *q, cw_entity_page *out,
                        cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *cnt = NULL, *pg = NULL;
    cw__qb cq, pq;
    cw__qb_init(&cq, &sqlite_qb);
    cw__qb_init(&pq, &sqlite_qb);
    cw__rel_vec rels = {0};
    cw_buf buf;
    cw_buf_init(&buf, 0);
    size_t cap = 0;
    int64_t gen = 0;

    bool text = q->text && *q->text;
    if (cw__has_filter(q->filter) && !text) {
        cw__qb_sql(&cq, "SELECT count(*) FROM (");
        qb_set(&cq, q->filter);
        cw__qb_sql(&cq, ")");
    } else {
        cw__qb_count(&cq, q);
    }
    cw__qb_page(&pq, q);
    cw__qb_sql(&pq, " LIMIT ? OFFSET ?");

    cw_err err = CW_OK;
    if (cq.err || pq.err) {
        err = cw__qb_error(cq.err ? &cq : &pq, d);
        goto out;
    }
    if ((err = cw__sqlite_read_begin(c, d)) || (err = cw__sqlite_entity_gen(c, &gen, d)))
        goto out;
    if (cw__has_filter(q->filter) && !text && !q->order_key) {
        err = query_by_ids(s, c, gen, q, out, d);
        goto out;
    }

    if ((err = qb_prepare(c, &cq, 1, &cnt, d)))
        goto out;
    int rc = sqlite3_step(cnt);
    if (rc != SQLITE_ROW) {
        err = cw__sqlite_fail(c, rc, d, "query count");
        goto out;
    }
    out->total = (size_t)sqlite3_column_int64(cnt, 0);
    if (q->limit == 0)
        goto out;

    if ((err = qb_prepare(c, &pq, 1, &pg, d)))
        goto out;
    cw__bind_int64(pg, (int)pq.n + 1, cw__clamp64(q->limit));
    cw__bind_int64(pg, (int)pq.n + 2, cw__clamp64(q->offset));
    while ((rc = sqlite3_step(pg)) == SQLITE_ROW) {
        err = page_add(s, c, gen, sqlite3_column_int64(pg, 0), cw__col_text(pg, 1), &rels,
                       &buf, out, &cap, d);
        if (err)
            goto out;
    }
    if (rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "query");
out:
    cw__sqlite_done(c, cnt);
    cw__sqlite_done(c, pg);
    cw__sqlite_read_release(s, c);
    cw__qb_free(&cq);
    cw__qb_free(&pq);
    cw__rel_vec_free(&rels);
    cw_buf_free(&buf);
    if (err)
        cw_entity_page_free(out);
    return err;
}

/* ---- facets and counts ------------------------------------------------------------------- */

static cw_err ent_facets(cw_store *store, const char *const *keys, size_t nkeys,
                         const cw_filter *filter, json_t **out, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    json_t *res = json_object();
    if (!res)
        return cw_fail(d, CW_ERR_NOMEM, "facets: out of memory");
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    cw__idset members = {0};
    /* one snapshot; the filter is evaluated once for all keys */
    cw_err err = cw__sqlite_read_begin(c, d);
    if (!err && cw__has_filter(filter))
        err = cw__sqlite_filter_ids(c, filter, &members, d);
    for (size_t i = 0; !err && i < nkeys; i++) {
        json_t *arr = json_array();
        if (!arr || json_object_set_new(res, keys[i], arr)) {
            err = cw_fail(d, CW_ERR_NOMEM, "facets: out of memory");
            break;
        }
        err = cw__sqlite_facet(c, keys[i], cw__has_filter(filter) ? &members : NULL, arr, d);
    }
    cw__idset_free(&members);
    cw__sqlite_read_release(s, c);
    if (err) {
        json_decref(res);
        return err;
    }
    *out = res;
    return CW_OK;
}

static cw_err ent_counts(cw_store *store, json_t **out, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    json_t *res = json_object();
    if (!res)
        return cw_fail(d, CW_ERR_NOMEM, "counts: out of memory");
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c, CW__ENTITY_COUNTS_SQL, &st, d);
    int rc = SQLITE_DONE;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW)
        err = cw__counts_add(res, cw__col_text(st, 0), sqlite3_column_int64(st, 1), d);
    if (!err && rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "counts");
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    if (err) {
        json_decref(res);
        return err;
    }
    *out = res;
    return CW_OK;
}

const cw_store_entity_ops cw__sqlite_entity_ops = {
    .put = ent_put,
    .get = ent_get,
    .del = ent_del,
    .query = ent_query,
    .facets = ent_facets,
    .counts = ent_counts,
};
