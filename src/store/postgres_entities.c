/*
 * postgres_entities.c — catalog entities in PostgreSQL: put (single or
 * batch, one transaction, relation and search rows written in bulk with
 * unnest), get with relations in both directions (one statement, one
 * snapshot; served from the rendered-entity cache while the entity
 * generation is unchanged), delete, filtered/paged queries, facets and
 * counts — the same observable behaviour as sqlite_entities.c.
 *
 * Cache validity across instances: every entity write locks and bumps the
 * generation row inside its transaction, and every read takes the
 * generation in the same snapshot as the data it renders, so a cached
 * rendering is served only while no instance has committed an entity
 * change since. (LISTEN/NOTIFY was not used: a notification arrives
 * asynchronously, so a reader could not know that it had already received
 * the one for a commit that precedes its read; the generation costs one
 * indexed single-row read instead.)
 */
#include "store/postgres_int.h"
#include "store/store_rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/strmap.h"

#define RENDER_CHUNK 500 /* entities rendered per batched read */

/* ---- put ------------------------------------------------------------------------------- */

/* What one entity turns into before it touches the database. */
typedef struct {
    json_t *e;             /* borrowed */
    const char *if_match;  /* borrowed, may be NULL */
    cw__entity_ident id;
    /* filled inside the transaction (reset on a retry) */
    cw__entity_derived x;
    char *body;
} pent;

static void pent_reset(pent *p)
{
    cw__entity_derived_free(&p->x);
    free(p->body);
    p->body = NULL;
}

/* The state of one distinct key during a batch. */
typedef struct {
    bool exists;
    int64_t id;
    char uid[40];
    char etag[48];
    long latest;           /* index of the last put that rewrote it, -1 none */
} kstate;

typedef struct {
    pent *ents;
    size_t n;
    cw_put_result *results;
    int64_t now;
    /* per attempt */
    cw_strmap keys;        /* key -> 1 + index into ks */
    kstate *ks;
    size_t nks;
} put_ctx;

/* The parts computed once, before the transaction: ref, keys, etag. */
static cw_err pent_init(pent *p, json_t *e, const char *if_match, cw_diag *d)
{
    memset(p, 0, sizeof *p);
    p->e = e;
    p->if_match = if_match;
    cw_buf canon;
    cw_buf_init(&canon, 0);
    cw_err err = cw__entity_identify(e, &p->id, &canon, d);
    cw_buf_free(&canon);
    return err;
}

/* Derives body, relations, search rows and texts once uid/etag are set. */
static cw_err pent_rows(pent *p, cw_diag *d)
{
    pent_reset(p);
    cw_buf body;
    cw_buf_init(&body, 0);
    cw_err err = cw__entity_derive(p->e, &p->x, &body, d);
    if (!err && !(p->body = cw_buf_steal(&body, NULL)))
        err = cw_fail(d, CW_ERR_NOMEM, "entity: out of memory");
    cw_buf_free(&body);
    return err;
}

static void put_ctx_reset(put_ctx *x)
{
    cw_strmap_free(&x->keys);
    free(x->ks);
    x->ks = NULL;
    x->nks = 0;
}

/* Reads the stored state of every key of the batch in one statement. */
static cw_err load_keys(cw__pg_conn *c, put_ctx *x, cw_diag *d)
{
    cw__pg_array keys;
    cw__pg_array_init(&keys);
    PGresult *r = NULL;
    cw_err err = CW_OK;
    x->ks = calloc(x->n ? x->n : 1, sizeof *x->ks);
    if (!x->ks)
        err = CW_ERR_NOMEM;
    for (size_t i = 0; !err && i < x->n; i++) {
        bool inserted = false;
        err = cw_strmap_put_new(&x->keys, x->ents[i].id.key, (void *)(uintptr_t)(x->nks + 1),
                                NULL, &inserted);
        if (!err && inserted) {
            x->ks[x->nks].latest = -1;
            x->nks++;
            err = cw__pg_array_add(&keys, x->ents[i].id.key);
        }
    }
    const char *arr = err ? NULL : cw__pg_array_text(&keys);
    if (err || !arr) {
        cw__pg_array_free(&keys);
        return cw_fail(d, CW_ERR_NOMEM, "entities: out of memory");
    }
    const char *p[] = {arr};
    err = cw__pg_exec(c, "SELECT key, id, uid, etag FROM entities WHERE key = ANY($1::text[])",
                      1, p, &r, d);
    for (int i = 0; !err && i < PQntuples(r); i++) {
        uintptr_t slot = (uintptr_t)cw_strmap_get(&x->keys, cw__pg_text(r, i, 0));
        if (!slot)
            continue;
        kstate *k = &x->ks[slot - 1];
        k->exists = true;
        k->id = cw__pg_int(r, i, 1);
        snprintf(k->uid, sizeof k->uid, "%s", cw__pg_text(r, i, 2));
        snprintf(k->etag, sizeof k->etag, "%s", cw__pg_text(r, i, 3));
    }
    PQclear(r);
    cw__pg_array_free(&keys);
    return err;
}

/* Writes the entity row of ents[i]; relation and search rows come later. */
static cw_err put_one(cw__pg_conn *c, put_ctx *x, size_t i, bool *changed, cw_diag *d)
{
    pent *p = &x->ents[i];
    cw_put_result *res = &x->results[i];
    kstate *k = &x->ks[(uintptr_t)cw_strmap_get(&x->keys, p->id.key) - 1];
    memset(res, 0, sizeof *res);

    cw_err err = cw__entity_if_match(p->id.disp, k->exists, k->etag, p->if_match, d);
    if (err)
        return err;
    char uid[40];
    bool existed = k->exists;
    if (k->exists)
        memcpy(uid, k->uid, sizeof uid);
    else if ((err = cw__uuid4(uid, d)))
        return err;
    if ((err = cw__entity_set_server_fields(p->e, uid, p->id.etag, d)))
        return err;
    snprintf(res->uid, sizeof res->uid, "%s", uid);
    snprintf(res->etag, sizeof res->etag, "%s", p->id.etag);
    if (k->exists && !strcmp(k->etag, p->id.etag)) {
        res->status = CW_PUT_UNCHANGED;
        return CW_OK;
    }
    if ((err = pent_rows(p, d)))
        return err;

    char nb[24], ib[24];
    const char *prm[] = {p->id.disp,      p->id.ref.kind,   p->id.ref.namespace_, p->id.ref.name,
                         p->id.etag,      p->body,       p->x.text_name,      p->x.text_title,
                         p->x.text_desc, cw__pg_i64(nb, x->now), NULL, NULL};
    PGresult *r = NULL;
    if (k->exists) {
        prm[10] = cw__pg_i64(ib, k->id);
        err = cw__pg_exec(c,
                          "UPDATE entities SET ref = $1, kind = $2, namespace = $3, "
                          "name = $4, etag = $5, body = $6, text_name = $7, "
                          "text_title = $8, text_desc = $9, updated_at = $10 "
                          "WHERE id = $11",
                          11, prm, NULL, d);
    } else {
        prm[10] = uid;
        prm[11] = p->id.key;
        err = cw__pg_exec(c,
                          "INSERT INTO entities (ref, kind, namespace, name, etag, body, "
                          "text_name, text_title, text_desc, updated_at, created_at, "
                          "uid, key) "
                          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12) "
                          "RETURNING id",
                          12, prm, &r, d);
        if (!err && PQntuples(r) == 1) {
            k->id = cw__pg_int(r, 0, 0);
            k->exists = true;
            memcpy(k->uid, uid, sizeof k->uid);
        } else if (!err) {
            err = cw_fail(d, CW_ERR_IO, "database: entity insert returned no id");
        }
        PQclear(r);
    }
    if (err)
        return err;
    memcpy(k->etag, p->id.etag, sizeof k->etag);
    k->latest = (long)i;
    /* a key put twice in one batch: created, then updated */
    res->status = existed ? CW_PUT_UPDATED : CW_PUT_CREATED;
    *changed = true;
    return CW_OK;
}

/* Replaces the relation and search rows of every entity the batch rewrote
 * with those of its last put: two deletes and two bulk inserts. */
static cw_err write_rows(cw__pg_conn *c, put_ctx *x, cw_diag *d)
{
    cw__pg_array ids, a1, a2, a3, a4, a5;
    cw__pg_array_init(&ids);
    cw__pg_array_init(&a1);
    cw__pg_array_init(&a2);
    cw__pg_array_init(&a3);
    cw__pg_array_init(&a4);
    cw__pg_array_init(&a5);
    cw_err err = CW_OK;
    for (size_t i = 0; !err && i < x->nks; i++)
        if (x->ks[i].latest >= 0)
            err = cw__pg_array_add_i64(&ids, x->ks[i].id);
    if (!ids.n)
        goto out;
    const char *ida = err ? NULL : cw__pg_array_text(&ids);
    if (!ida) {
        err = CW_ERR_NOMEM;
        goto out;
    }
    const char *p1[] = {ida};
    if ((err = cw__pg_exec(c, "DELETE FROM relations WHERE entity_id = ANY($1::bigint[])", 1,
                           p1, NULL, d)) ||
        (err = cw__pg_exec(c, "DELETE FROM search WHERE entity_id = ANY($1::bigint[])", 1, p1,
                           NULL, d)))
        goto out;

    /* relations */
    for (size_t i = 0; !err && i < x->nks; i++) {
        if (x->ks[i].latest < 0)
            continue;
        const pent *p = &x->ents[x->ks[i].latest];
        for (size_t j = 0; !err && j < p->x.rels.len; j++) {
            const cw_relation *rel = &p->x.rels.items[j];
            const char *inv = cw_relation_inverse(rel->type);
            char *inv_lc = inv ? cw__dup_lower(inv) : NULL;
            if (inv && !inv_lc) {
                err = CW_ERR_NOMEM;
                break;
            }
            if ((err = cw__pg_array_add_i64(&a1, x->ks[i].id)) ||
                (err = cw__pg_array_add(&a2, rel->type)) ||
                (err = cw__pg_array_add(&a3, inv_lc)) ||
                (err = cw__pg_array_add(&a4, rel->target_key)))
                ;
            else
                err = cw__pg_array_add(&a5, rel->target_ref);
            free(inv_lc);
        }
    }
    if (!err && a1.n) {
        const char *p5[] = {cw__pg_array_text(&a1), cw__pg_array_text(&a2),
                            cw__pg_array_text(&a3), cw__pg_array_text(&a4),
                            cw__pg_array_text(&a5)};
        if (!p5[0] || !p5[1] || !p5[2] || !p5[3] || !p5[4]) {
            err = CW_ERR_NOMEM;
            goto out;
        }
        if ((err = cw__pg_exec(c,
                               "INSERT INTO relations (entity_id, type, inverse_lc, "
                               "target_key, target_ref) SELECT * FROM unnest($1::bigint[], "
                               "$2::text[], $3::text[], $4::text[], $5::text[]) "
                               "ON CONFLICT DO NOTHING",
                               5, p5, NULL, d)))
            goto out;
    }

    /* search rows */
    cw__pg_array_reset(&a1);
    cw__pg_array_reset(&a2);
    cw__pg_array_reset(&a3);
    cw__pg_array_reset(&a4);
    cw__pg_array_reset(&a5);
    for (size_t i = 0; !err && i < x->nks; i++) {
        if (x->ks[i].latest < 0)
            continue;
        const pent *p = &x->ents[x->ks[i].latest];
        for (size_t j = 0; !err && j < p->x.rows.len; j++) {
            const cw_search_row *row = &p->x.rows.items[j];
            const char *orig = cw__search_original(p->e, &p->x.rels, row->key, row->value);
            if ((err = cw__pg_array_add(&a1, row->key)) ||
                (err = cw__pg_array_add(&a2, row->value ? row->value : "")) ||
                (err = cw__pg_array_add_i64(&a3, x->ks[i].id)) ||
                (err = cw__pg_array_add(&a4, row->value ? "f" : "t")))
                ;
            else
                err = cw__pg_array_add(&a5, orig);
        }
    }
    if (!err && a1.n) {
        const char *p5[] = {cw__pg_array_text(&a1), cw__pg_array_text(&a2),
                            cw__pg_array_text(&a3), cw__pg_array_text(&a4),
                            cw__pg_array_text(&a5)};
        if (!p5[0] || !p5[1] || !p5[2] || !p5[3] || !p5[4]) {
            err = CW_ERR_NOMEM;
            goto out;
        }
        /* one primary key for '' and a null leaf: the first row wins */
        err = cw__pg_exec(c,
                          "INSERT INTO search (key, value, entity_id, is_null, original) "
                          "SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], "
                          "$4::boolean[], $5::text[]) ON CONFLICT DO NOTHING",
                          5, p5, NULL, d);
    }
out:
    if (err == CW_ERR_NOMEM)
        cw_fail(d, err, "entities: out of memory");
    cw__pg_array_free(&ids);
    cw__pg_array_free(&a1);
    cw__pg_array_free(&a2);
    cw__pg_array_free(&a3);
    cw__pg_array_free(&a4);
    cw__pg_array_free(&a5);
    return err;
}

static cw_err put_tx(cw__pg_conn *c, void *arg, cw_diag *d)
{
    put_ctx *x = arg;
    put_ctx_reset(x);
    bool changed = false;
    cw_err err = cw__pg_entity_lock(c, d);
    if (!err)
        err = load_keys(c, x, d);
    for (size_t i = 0; !err && i < x->n; i++) {
        err = put_one(c, x, i, &changed, d);
        if (err && x->n > 1)
            cw_diag_prefix(d, "entities[%zu]", i);
    }
    if (!err && changed)
        err = write_rows(c, x, d);
    if (!err && changed)
        err = cw__pg_entity_gen_bump(c, d);
    return err;
}

static cw_err ent_put(cw_store *store, json_t *const *entities, const char *const *if_match,
                      size_t n, cw_put_result *results, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    put_ctx x;
    memset(&x, 0, sizeof x);
    x.n = n;
    x.results = results;
    x.now = (int64_t)time(NULL);
    x.ents = calloc(n ? n : 1, sizeof *x.ents);
    if (!x.ents)
        return cw_fail(d, CW_ERR_NOMEM, "entities: out of memory");
    cw_err err = CW_OK;
    size_t ninit = 0;
    for (; ninit < n && !err; ninit++) {
        err = pent_init(&x.ents[ninit], entities[ninit], if_match ? if_match[ninit] : NULL, d);
        if (err && n > 1)
            cw_diag_prefix(d, "entities[%zu]", ninit);
    }
    if (!err)
        err = cw__pg_write(s, put_tx, &x, d);
    for (size_t i = 0; i < ninit; i++)
        pent_reset(&x.ents[i]);
    put_ctx_reset(&x);
    free(x.ents);
    return err;
}

/* ---- rendering ------------------------------------------------------------------------- */

/* Renders entity rows as answered by RENDER_SQL for one entity (rows of kind
 * 0: body, etag; 1: outgoing type, ref, key; 2: incoming type, ref, key). */
typedef struct {
    int64_t id;
    size_t slot;           /* the caller's index */
    const char *body;      /* points into the current result */
    const char *etag;
    cw__rel_vec rels;
} rendering;

static int cmp_rendering(const void *a, const void *b)
{
    int64_t x = ((const rendering *)a)->id, y = ((const rendering *)b)->id;
    return (x > y) - (x < y);
}

static rendering *find_rendering(rendering *v, size_t n, int64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].id < id)
            lo = mid + 1;
        else if (v[mid].id > id)
            hi = mid;
        else
            return &v[mid];
    }
    return NULL;
}

/* Adds one result row (kind, id, a, b, c) to its rendering. */
static cw_err absorb_row(rendering *rd, const PGresult *r, int i)
{
    const char *kind = cw__pg_text(r, i, 0);
    const char *a = cw__pg_text(r, i, 2), *b = cw__pg_text(r, i, 3),
               *cc = cw__pg_text(r, i, 4);
    if (kind[0] == '0') {
        rd->body = a;
        rd->etag = b;
        return CW_OK;
    }
    if (kind[0] == '1')
        return cw__rel_vec_add(&rd->rels, a, b, cc);
    return cw__rel_vec_add(&rd->rels, cw_relation_inverse(a), b, cc);
}

/* Entities by id with their relations in both directions, one statement. */
#define RENDER_BY_IDS                                                                   \
    "SELECT 0, e.id, e.body, e.etag, NULL FROM entities e "                             \
    "WHERE e.id = ANY($1::bigint[]) "                                                   \
    "UNION ALL SELECT 1, r.entity_id, r.type, r.target_ref, r.target_key "              \
    "FROM relations r WHERE r.entity_id = ANY($1::bigint[]) "                           \
    "UNION ALL SELECT 2, t.id, r.type, s.ref, s.key FROM entities t "                   \
    "JOIN relations r ON r.target_key = t.key JOIN entities s ON s.id = r.entity_id "   \
    "WHERE t.id = ANY($1::bigint[])"

/*
 * Renders the entities v[0..n) (ids set, any order; sorted here) and calls
 * emit for each with its text. Missing entities are CW_ERR_IO (they were
 * listed in the same snapshot).
 */
typedef cw_err (*emit_fn)(void *ctx, size_t slot, const char *json, size_t len,
                          const char *etag, cw_diag *d);

static cw_err render_ids(cw__pg_conn *c, rendering *v, size_t n, emit_fn emit, void *ctx,
                         cw_diag *d)
{
    qsort(v, n, sizeof *v, cmp_rendering);
    cw__pg_array ids;
    cw__pg_array_init(&ids);
    cw_buf out;
    cw_buf_init(&out, 0);
    cw_err err = CW_OK;
    for (size_t from = 0; !err && from < n; from += RENDER_CHUNK) {
        size_t to = n - from > RENDER_CHUNK ? from + RENDER_CHUNK : n;
        cw__pg_array_reset(&ids);
        for (size_t i = from; !err && i < to; i++) {
            v[i].body = v[i].etag = NULL;
            cw__rel_vec_reset(&v[i].rels);
            err = cw__pg_array_add_i64(&ids, v[i].id);
        }
        const char *p[] = {err ? NULL : cw__pg_array_text(&ids)};
        if (!p[0]) {
            err = cw_fail(d, CW_ERR_NOMEM, "entities: out of memory");
            break;
        }
        PGresult *r = NULL;
        if ((err = cw__pg_exec(c, RENDER_BY_IDS, 1, p, &r, d)))
            break;
        for (int i = 0; !err && i < PQntuples(r); i++) {
            rendering *rd = find_rendering(v + from, to - from, cw__pg_int(r, i, 1));
            if (rd && absorb_row(rd, r, i))
                err = cw_fail(d, CW_ERR_NOMEM, "entities: out of memory");
        }
        for (size_t i = from; !err && i < to; i++) {
            if (!v[i].body) {
                err = cw_fail(d, CW_ERR_IO, "database: entity %lld vanished while reading",
                              (long long)v[i].id);
                break;
            }
            cw_buf_reset(&out);
            err = cw__render_entity(v[i].body, strlen(v[i].body), &v[i].rels, &out);
            if (err) {
                cw_fail(d, err, "entity %lld: cannot render", (long long)v[i].id);
                break;
            }
            err = emit(ctx, v[i].slot, out.data, out.len, v[i].etag, d);
        }
        PQclear(r);
    }
    cw__pg_array_free(&ids);
    cw_buf_free(&out);
    return err;
}

/* ---- get --------------------------------------------------------------------------------- */

static cw_err ent_get(cw_store *store, const char *key, char **json_out, char etag_out[48],
                      cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    if (!cw__pg_utf8(key))
        return cw_fail(d, CW_ERR_NOT_FOUND, "%s: not found", key);
    cw__pg_conn *c = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (err)
        return err;
    PGresult *r = NULL;
    rendering rd;
    memset(&rd, 0, sizeof rd);
    cw_buf out;
    cw_buf_init(&out, 0);
    int64_t gen = 0;
    if ((err = cw__pg_entity_gen(c, &gen, d)) ||
        cw__rcache_get(s->rcache, key, gen, json_out, etag_out))
        goto out;
    /* miss: data and generation from one statement, hence one snapshot */
    const char *p[] = {key};
    err = cw__pg_exec(c,
                      "SELECT 0, 0, e.body, e.etag, (SELECT value FROM cw_meta "
                      "WHERE name = 'entity_gen')::text FROM entities e WHERE e.key = $1 "
                      "UNION ALL SELECT 1, 0, r.type, r.target_ref, r.target_key "
                      "FROM entities e JOIN relations r ON r.entity_id = e.id "
                      "WHERE e.key = $1 "
                      "UNION ALL SELECT 2, 0, r.type, s.ref, s.key FROM relations r "
                      "JOIN entities s ON s.id = r.entity_id WHERE r.target_key = $1",
                      1, p, &r, d);
    for (int i = 0; !err && i < PQntuples(r); i++) {
        if (cw__pg_text(r, i, 0)[0] == '0')
            gen = cw__pg_int(r, i, 4);
        if (absorb_row(&rd, r, i))
            err = cw_fail(d, CW_ERR_NOMEM, "entity: out of memory");
    }
    if (err)
        goto out;
    if (!rd.body) {
        err = cw_fail(d, CW_ERR_NOT_FOUND, "%s: not found", key);
        goto out;
    }
    err = cw__render_entity(rd.body, strlen(rd.body), &rd.rels, &out);
    if (err) {
        cw_fail(d, err, "entity %s: cannot render", key);
        goto out;
    }
    cw__rcache_put(s->rcache, key, gen, out.data, out.len, rd.etag);
    if (etag_out)
        snprintf(etag_out, 48, "%s", rd.etag);
    *json_out = cw_buf_steal(&out, NULL);
out:
    PQclear(r);
    cw__pg_release(s, c);
    cw__rel_vec_free(&rd.rels);
    cw_buf_free(&out);
    return err;
}

/* ---- delete -------------------------------------------------------------------------------- */

typedef struct {
    const char *key;
    const char *if_match;
} del_ctx;

static cw_err del_tx(cw__pg_conn *c, void *arg, cw_diag *d)
{
    del_ctx *x = arg;
    cw_err err = cw__pg_entity_lock(c, d);
    if (err)
        return err;
    PGresult *r = NULL;
    const char *p[] = {x->key};
    err = cw__pg_exec(c, "SELECT id, etag FROM entities WHERE key = $1", 1, p, &r, d);
    if (!err && PQntuples(r) != 1)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "%s: not found", x->key);
    if (!err && !cw__etag_matches(x->if_match, cw__pg_text(r, 0, 1)))
        err = cw_fail(d, CW_ERR_PRECONDITION, "If-Match: %s has etag \"%s\", not \"%s\"",
                      x->key, cw__pg_text(r, 0, 1), x->if_match);
    if (!err) {
        /* relations and search rows go with it (ON DELETE CASCADE) */
        const char *q[] = {cw__pg_text(r, 0, 0)};
        err = cw__pg_exec(c, "DELETE FROM entities WHERE id = $1", 1, q, NULL, d);
    }
    PQclear(r);
    if (!err)
        err = cw__pg_entity_gen_bump(c, d);
    return err;
}

static cw_err ent_del(cw_store *store, const char *key, const char *if_match, cw_diag *d)
{
    if (!cw__pg_utf8(key))
        return cw_fail(d, CW_ERR_NOT_FOUND, "%s: not found", key);
    del_ctx x = {key, if_match};
    return cw__pg_write(cw__pg(store), del_tx, &x, d);
}

/* ---- SQL building for filters ------------------------------------------------------------- */

/* "$n" bound to the decimal text of v. */
static void qb_int(cw__qb *b, int64_t v)
{
    char *t = malloc(24);
    if (t)
        cw__pg_i64(t, v);
    cw__qb_take(b, t, "");
}

/* "$n::text[]" bound to the lower-cased values of k. */
static void qb_values(cw__qb *b, const cw_filter_cond *k)
{
    cw__pg_array a;
    cw__pg_array_init(&a);
    cw_err err = CW_OK;
    for (size_t v = 0; !err && v < k->nvalues; v++) {
        char *low = cw__dup_lower(k->values[v]);
        err = low ? cw__pg_array_add(&a, cw__pg_utf8(low) ? low : NULL) : CW_ERR_NOMEM;
        free(low);
    }
    const char *text = err ? NULL : cw__pg_array_text(&a);
    char *copy = NULL;
    if (text) {
        size_t len = strlen(text) + 1;
        copy = malloc(len);
        if (copy)
            memcpy(copy, text, len);
    }
    cw__pg_array_free(&a);
    cw__qb_take(b, copy, "::text[]");
}

/* A parenthesised SELECT of the ids (column "id") matching one condition. */
static void qb_cond_set(cw__qb *b, const cw_filter_cond *k)
{
    cw__qb_sql(b, "(SELECT entity_id AS id FROM search WHERE key = ");
    cw__qb_param(b, k->key);
    if (k->nvalues) {
        cw__qb_sql(b, " AND value = ANY(");
        qb_values(b, k);
        cw__qb_sql(b, ")");
        /* '' is also how a null leaf is stored: keep those out */
        if (cw__has_empty_value(k))
            cw__qb_sql(b, " AND NOT is_null");
    }
    if (cw__is_relation_key(k->key)) {
        /* plus the inverse of others' outgoing relations: ownerOf from ownedBy */
        if (k->nvalues) {
            cw__qb_sql(b, " UNION SELECT t.id FROM entities s "
                      "JOIN relations r ON r.entity_id = s.id "
                      "JOIN entities t ON t.key = r.target_key WHERE s.key = ANY(");
            qb_values(b, k);
            cw__qb_sql(b, ") AND r.inverse_lc = ");
        } else {
            cw__qb_sql(b, " UNION SELECT t.id FROM relations r "
                      "JOIN entities t ON t.key = r.target_key WHERE r.inverse_lc = ");
        }
        cw__qb_param(b, k->key + 10);
    }
    cw__qb_sql(b, ")");
}

/* A SELECT of the ids matching filter (n > 0): the UNION of the clauses,
 * each the INTERSECT of its conditions, every operand parenthesised. */
static void qb_set(cw__qb *b, const cw_filter *f)
{
    for (size_t i = 0; i < f->n; i++) {
        const cw_filter_clause *cl = &f->clauses[i];
        if (i)
            cw__qb_sql(b, " UNION ");
        cw__qb_sql(b, "(");
        if (cl->n == 0)
            cw__qb_sql(b, "SELECT id FROM entities");
        for (size_t j = 0; j < cl->n; j++) {
            if (j)
                cw__qb_sql(b, " INTERSECT ");
            qb_cond_set(b, &cl->conds[j]);
        }
        cw__qb_sql(b, ")");
    }
}

static const cw__qb_dialect pg_qb = {
    .numbered = true,
    .value_ok = cw__pg_utf8,
    .true_lit = "true",
    .find_open = "strpos(",
    .find_close = ") > 0",
    .key_order_id = "e.id",
    .set = qb_set,
};

static cw_err qb_run(cw__pg_conn *c, const cw__qb *b, PGresult **out, cw_diag *d)
{
    if (b->err)
        return cw__qb_error(b, d);
    return cw__pg_exec_dyn(c, cw_buf_cstr(&b->sql), (int)b->n, (const char *const *)b->vals,
                           out, d);
}

/* ---- query ----------------------------------------------------------------------------------- */

typedef struct {
    cw_pg *s;
    const cw_entity_query *q;
    cw_entity_page *out;
    int64_t gen;
} query_ctx;

static cw_err emit_item(void *arg, size_t slot, const char *json, size_t len,
                        const char *etag, cw_diag *d)
{
    query_ctx *x = arg;
    cw__rcache_put(x->s->rcache, x->out->keys[slot], x->gen, json, len, etag);
    char *copy = malloc(len + 1);
    if (!copy)
        return cw_fail(d, CW_ERR_NOMEM, "query: out of memory");
    memcpy(copy, json, len + 1);
    x->out->items[slot] = copy;
    return CW_OK;
}

static cw_err query_tx(cw__pg_conn *c, void *arg, cw_diag *d)
{
    query_ctx *x = arg;
    const cw_entity_query *q = x->q;
    cw_entity_page *out = x->out;
    cw_entity_page_free(out);
    cw__qb cq, pq;
    cw__qb_init(&cq, &pg_qb);
    cw__qb_init(&pq, &pg_qb);
    PGresult *r = NULL;
    rendering *miss = NULL;
    size_t nmiss = 0;

    cw__qb_count(&cq, q);
    cw__qb_page(&pq, q);
    cw__qb_sql(&pq, " LIMIT ");
    qb_int(&pq, cw__clamp64(q->limit));
    cw__qb_sql(&pq, " OFFSET ");
    qb_int(&pq, cw__clamp64(q->offset));
    cw_err err;

    if ((err = cw__pg_entity_gen(c, &x->gen, d)))
        goto out;
    if ((err = qb_run(c, &cq, &r, d)))
        goto out;
    out->total = (size_t)cw__pg_int(r, 0, 0);
    PQclear(r);
    r = NULL;
    if (q->limit == 0)
        goto out;
    if ((err = qb_run(c, &pq, &r, d)))
        goto out;
    size_t rows = (size_t)PQntuples(r);
    out->items = calloc(rows ? rows : 1, sizeof *out->items);
    out->keys = calloc(rows ? rows : 1, sizeof *out->keys);
    miss = calloc(rows ? rows : 1, sizeof *miss);
    if (!out->items || !out->keys || !miss) {
        err = cw_fail(d, CW_ERR_NOMEM, "query: out of memory");
        goto out;
    }
    out->len = rows;
    for (size_t i = 0; i < rows; i++) {
        const char *key = cw__pg_text(r, (int)i, 1);
        if (!(out->keys[i] = cw__dup_lower(key))) {
            err = cw_fail(d, CW_ERR_NOMEM, "query: out of memory");
            goto out;
        }
        if (!cw__rcache_get(x->s->rcache, key, x->gen, &out->items[i], NULL)) {
            miss[nmiss].id = cw__pg_int(r, (int)i, 0);
            miss[nmiss].slot = i;
            nmiss++;
        }
    }
    if (nmiss)
        err = render_ids(c, miss, nmiss, emit_item, x, d);
out:
    for (size_t i = 0; miss && i < nmiss; i++)
        cw__rel_vec_free(&miss[i].rels);
    free(miss);
    PQclear(r);
    cw__qb_free(&cq);
    cw__qb_free(&pq);
    return err;
}

static cw_err ent_query(cw_store *store, const cw_entity_query *q, cw_entity_page *out,
                        cw_diag *d)
{
    query_ctx x = {cw__pg(store), q, out, 0};
    cw_err err = cw__pg_read(x.s, query_tx, &x, d);
    if (err)
        cw_entity_page_free(out);
    return err;
}

/* ---- facets and counts ------------------------------------------------------------------- */

static cw_err facet_one(cw__pg_conn *c, const char *key, const cw_filter *f, json_t *arr,
                        cw_diag *d)
{
    cw__qb b;
    cw__qb_init(&b, &pg_qb);
    PGresult *r = NULL;
    cw__qb_sql(&b, "SELECT o, count(DISTINCT eid) AS n FROM ("
               "SELECT s.entity_id AS eid, coalesce(s.original, s.value) AS o "
               "FROM search s WHERE s.key = ");
    cw__qb_param(&b, key);
    cw__qb_sql(&b, " AND NOT s.is_null");
    cw__qb_filter_in(&b, "s.entity_id", f);
    if (cw__is_relation_key(key)) {
        cw__qb_sql(&b, " UNION ALL SELECT t.id, src.ref FROM relations r "
                   "JOIN entities src ON src.id = r.entity_id "
                   "JOIN entities t ON t.key = r.target_key WHERE r.inverse_lc = ");
        cw__qb_param(&b, key + 10);
        cw__qb_filter_in(&b, "t.id", f);
    }
    /* byte order on ties, as the SQLite backend's strcmp */
    cw__qb_sql(&b, ") x GROUP BY o ORDER BY n DESC, o COLLATE \"C\"");
    cw_err err = qb_run(c, &b, &r, d);
    for (int i = 0; !err && i < PQntuples(r); i++) {
        json_t *o = json_pack("{s:s, s:I}", "value", cw__pg_text(r, i, 0), "count",
                              (json_int_t)cw__pg_int(r, i, 1));
        if (!o || json_array_append_new(arr, o))
            err = cw_fail(d, CW_ERR_NOMEM, "facets: out of memory");
    }
    PQclear(r);
    cw__qb_free(&b);
    return err;
}

typedef struct {
    const char *const *keys;
    size_t nkeys;
    const cw_filter *filter;
    json_t *res;
} facets_ctx;

static cw_err facets_tx(cw__pg_conn *c, void *arg, cw_diag *d)
{
    facets_ctx *x = arg;
    json_decref(x->res);
    x->res = json_object();
    if (!x->res)
        return cw_fail(d, CW_ERR_NOMEM, "facets: out of memory");
    cw_err err = CW_OK;
    for (size_t i = 0; !err && i < x->nkeys; i++) {
        json_t *arr = json_array();
        if (!arr || json_object_set_new(x->res, x->keys[i], arr))
            return cw_fail(d, CW_ERR_NOMEM, "facets: out of memory");
        err = facet_one(c, x->keys[i], x->filter, arr, d);
    }
    return err;
}

static cw_err ent_facets(cw_store *store, const char *const *keys, size_t nkeys,
                         const cw_filter *filter, json_t **out, cw_diag *d)
{
    facets_ctx x = {keys, nkeys, filter, NULL};
    cw_err err = cw__pg_read(cw__pg(store), facets_tx, &x, d);
    if (err) {
        json_decref(x.res);
        return err;
    }
    *out = x.res;
    return CW_OK;
}

static cw_err ent_counts(cw_store *store, json_t **out, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    json_t *res = json_object();
    if (!res)
        return cw_fail(d, CW_ERR_NOMEM, "counts: out of memory");
    cw__pg_conn *c = NULL;
    PGresult *r = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (!err)
        err = cw__pg_exec(c, CW__ENTITY_COUNTS_SQL, 0, NULL, &r, d);
    for (int i = 0; !err && i < PQntuples(r); i++)
        err = cw__counts_add(res, cw__pg_text(r, i, 0), cw__pg_int(r, i, 1), d);
    PQclear(r);
    cw__pg_release(s, c);
    if (err) {
        json_decref(res);
        return err;
    }
    *out = res;
    return CW_OK;
}

const cw_store_entity_ops cw__pg_entity_ops = {
    .put = ent_put,
    .get = ent_get,
    .del = ent_del,
    .query = ent_query,
    .facets = ent_facets,
    .counts = ent_counts,
};
