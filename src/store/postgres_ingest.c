/*
 * postgres_ingest.c — webhook receivers, their deliveries and catalog
 * locations in PostgreSQL (store_ingest.h; tables of migration 6). Single
 * statements run on their own; what needs several (deleting a location,
 * replacing its entities) runs in one transaction through cw__pg_write.
 * A claim is one UPDATE … WHERE claim expired … FOR UPDATE SKIP LOCKED, so
 * two instances asking at once never get the same location.
 */
#include "store/postgres_int.h"

#include <stdlib.h>
#include <string.h>

#include "store/ingest_impl.h"

#define HOOK_COLS "id, provider, name, team, incident_label, created_at, revoked_at"
#define LOC_COLS                                                                          \
    "id, type, target, origin, created_ms, status, error, failures, fetched_ms, ok_ms, " \
    "next_ms, etag, last_modified"

static cw_err read_only(cw_pg *s, cw_diag *d)
{
    return s->read_only ? cw_fail(d, CW_ERR_UNSUPPORTED, "database: opened read-only") : CW_OK;
}

static char *dup_or_null(const PGresult *r, int row, int col, bool *oom)
{
    if (cw__pg_isnull(r, row, col))
        return NULL;
    char *s = strdup(cw__pg_text(r, row, col));
    if (!s)
        *oom = true;
    return s;
}

static void row_to_hook(const PGresult *r, int row, cw_hook *h)
{
    memset(h, 0, sizeof *h);
    cw__ingest_copy(h->id, sizeof h->id, cw__pg_text(r, row, 0));
    cw__ingest_copy(h->provider, sizeof h->provider, cw__pg_text(r, row, 1));
    cw__ingest_copy(h->name, sizeof h->name, cw__pg_text(r, row, 2));
    cw__ingest_copy(h->team, sizeof h->team, cw__pg_text(r, row, 3));
    cw__ingest_copy(h->incident_label, sizeof h->incident_label, cw__pg_text(r, row, 4));
    h->created_at = cw__pg_int(r, row, 5);
    h->revoked_at = cw__pg_int(r, row, 6);
}

static cw_err row_to_loc(const PGresult *r, int row, bool with_content, cw_location *l,
                         cw_diag *d)
{
    memset(l, 0, sizeof *l);
    bool oom = false;
    cw__ingest_copy(l->id, sizeof l->id, cw__pg_text(r, row, 0));
    cw__ingest_copy(l->type, sizeof l->type, cw__pg_text(r, row, 1));
    l->target = dup_or_null(r, row, 2, &oom);
    cw__ingest_copy(l->origin, sizeof l->origin, cw__pg_text(r, row, 3));
    l->created_ms = cw__pg_int(r, row, 4);
    cw__ingest_copy(l->status, sizeof l->status, cw__pg_text(r, row, 5));
    l->error = dup_or_null(r, row, 6, &oom);
    l->failures = cw__pg_int(r, row, 7);
    l->fetched_ms = cw__pg_int(r, row, 8);
    l->ok_ms = cw__pg_int(r, row, 9);
    l->next_ms = cw__pg_int(r, row, 10);
    l->etag = dup_or_null(r, row, 11, &oom);
    l->last_modified = dup_or_null(r, row, 12, &oom);
    if (with_content)
        l->content = dup_or_null(r, row, 13, &oom);
    if (oom || !l->target) {
        cw_location_free(l);
        return cw_fail(d, CW_ERR_NOMEM, "locations: out of memory");
    }
    return CW_OK;
}

/* One statement on a pooled connection; *out as cw__pg_exec. */
static cw_err one(cw_pg *s, const char *sql, int n, const char *const *p, PGresult **out,
                  cw_diag *d)
{
    cw__pg_conn *c = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (err)
        return err;
    err = cw__pg_exec(c, sql, n, p, out, d);
    cw__pg_release(s, c);
    return err;
}

/* ---- webhook receivers --------------------------------------------------------------- */

static cw_err hook_create(cw_store *store, const cw_hook *h, const char *secret, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    cw_err err = read_only(s, d);
    if (err)
        return err;
    char cb[24];
    const char *p[] = {h->id,   h->provider, h->name, h->team, h->incident_label,
                       secret, cw__pg_i64(cb, h->created_at)};
    err = one(s,
              "INSERT INTO webhooks (id, provider, name, team, incident_label, secret, created_at)"
              " VALUES ($1, $2, $3, $4, $5, $6, $7)",
              7, p, NULL, d);
    if (err == CW_ERR_CONFLICT)
        err = cw_fail(d, CW_ERR_CONFLICT, "id: a receiver with this id exists");
    return err;
}

static cw_err hook_get(cw_store *store, const char *id, cw_hook *out, char **secret_out,
                       cw_diag *d)
{
    PGresult *r = NULL;
    const char *p[] = {id};
    cw_err err = one(cw__pg(store),
                     "SELECT " HOOK_COLS ", secret FROM webhooks WHERE id = $1 AND revoked_at IS NULL",
                     1, p, &r, d);
    if (!err && PQntuples(r) == 1) {
        row_to_hook(r, 0, out);
        if (secret_out && !(*secret_out = strdup(cw__pg_text(r, 0, 7))))
            err = cw_fail(d, CW_ERR_NOMEM, "webhooks: out of memory");
    } else if (!err) {
        err = cw_fail(d, CW_ERR_NOT_FOUND, "webhook receiver: not found or revoked");
    }
    PQclear(r);
    return err;
}

static cw_err hook_list(cw_store *store, cw_hook **out, size_t *n, cw_diag *d)
{
    PGresult *r = NULL;
    cw_err err = one(cw__pg(store), "SELECT " HOOK_COLS " FROM webhooks ORDER BY created_at, id",
                     0, NULL, &r, d);
    int rows = err ? 0 : PQntuples(r);
    cw_hook *arr = NULL;
    if (!err && !(arr = malloc((size_t)(rows ? rows : 1) * sizeof *arr)))
        err = cw_fail(d, CW_ERR_NOMEM, "webhooks: out of memory");
    for (int i = 0; !err && i < rows; i++)
        row_to_hook(r, i, &arr[i]);
    PQclear(r);
    if (err) {
        free(arr);
        return err;
    }
    *out = arr;
    *n = (size_t)rows;
    return CW_OK;
}

static cw_err hook_revoke(cw_store *store, const char *id, int64_t now, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    cw_err err = read_only(s, d);
    if (err)
        return err;
    char nb[24];
    const char *p[] = {cw__pg_i64(nb, now), id};
    PGresult *r = NULL;
    err = one(s,
              "WITH u AS (UPDATE webhooks SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"
              " RETURNING 1) SELECT EXISTS (SELECT 1 FROM webhooks WHERE id = $2)",
              2, p, &r, d);
    if (!err && (PQntuples(r) != 1 || strcmp(cw__pg_text(r, 0, 0), "t") != 0))
        err = cw_fail(d, CW_ERR_NOT_FOUND, "webhook receiver %s: not found", id);
    PQclear(r);
    return err;
}

static cw_err delivery_seen(cw_store *store, const char *hook_id, const char *delivery,
                            bool *seen, cw_diag *d)
{
    PGresult *r = NULL;
    const char *p[] = {hook_id, delivery};
    cw_err err = one(cw__pg(store),
                     "SELECT 1 FROM webhook_deliveries WHERE hook_id = $1 AND delivery = $2", 2, p,
                     &r, d);
    if (!err)
        *seen = PQntuples(r) > 0;
    PQclear(r);
    return err;
}

typedef struct {
    const cw_hook_delivery_rec *r;
    bool inserted;
} put_ctx;

static cw_err delivery_put_tx(cw__pg_conn *c, void *arg, cw_diag *d)
{
    put_ctx *x = arg;
    const cw_hook_delivery_rec *r = x->r;
    char rb[24], eb[24], pb[24], kb[24];
    const char *p[] = {r->hook_id,      r->delivery, cw__pg_i64(rb, r->received_ms),
                       r->what,         r->outcome,  r->detail,
                       cw__pg_i64(eb, (int64_t)r->events), r->payload,
                       cw__pg_i64(pb, (int64_t)r->payload_bytes)};
    PGresult *res = NULL;
    cw_err err = cw__pg_exec(c,
                             "INSERT INTO webhook_deliveries (hook_id, delivery, received_ms, what,"
                             " outcome, detail, events, payload, payload_bytes)"
                             " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING"
                             " RETURNING 1",
                             9, p, &res, d);
    x->inserted = !err && PQntuples(res) > 0;
    PQclear(res);
    if (err)
        return err;
    const char *q[] = {r->hook_id, cw__pg_i64(kb, r->received_ms - CW_HOOK_DELIVERY_KEEP_MS)};
    return cw__pg_exec(c, "DELETE FROM webhook_deliveries WHERE hook_id = $1 AND received_ms < $2",
                       2, q, NULL, d);
}

static cw_err delivery_put(cw_store *store, const cw_hook_delivery_rec *r, bool *inserted,
                           cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    cw_err err = read_only(s, d);
    if (err)
        return err;
    put_ctx x = {r, false};
    err = cw__pg_write(s, delivery_put_tx, &x, d);
    *inserted = x.inserted;
    return err;
}

static cw_err deliveries(cw_store *store, const char *hook_id, size_t limit, json_t **out,
                         cw_diag *d)
{
    char lb[24];
    const char *p[] = {hook_id, cw__pg_i64(lb, (int64_t)limit)};
    PGresult *r = NULL;
    cw_err err = one(cw__pg(store),
                     "SELECT delivery, received_ms, what, outcome, detail, events, payload_bytes,"
                     " payload FROM webhook_deliveries WHERE hook_id = $1"
                     " ORDER BY received_ms DESC, delivery LIMIT $2",
                     2, p, &r, d);
    json_t *arr = err ? NULL : json_array();
    if (!err && !arr)
        err = cw_fail(d, CW_ERR_NOMEM, "deliveries: out of memory");
    for (int i = 0; !err && i < PQntuples(r); i++) {
        json_t *row = json_pack(
            "{s:s, s:I, s:s, s:s, s:s?, s:I, s:I, s:s?}", "delivery", cw__pg_text(r, i, 0),
            "receivedMs", (json_int_t)cw__pg_int(r, i, 1), "what", cw__pg_text(r, i, 2),
            "outcome", cw__pg_text(r, i, 3), "detail",
            cw__pg_isnull(r, i, 4) ? NULL : cw__pg_text(r, i, 4), "events",
            (json_int_t)cw__pg_int(r, i, 5), "payloadBytes", (json_int_t)cw__pg_int(r, i, 6),
            "payload", cw__pg_isnull(r, i, 7) ? NULL : cw__pg_text(r, i, 7));
        if (!row || json_array_append_new(arr, row))
            err = cw_fail(d, CW_ERR_NOMEM, "deliveries: out of memory");
    }
    PQclear(r);
    if (err) {
        json_decref(arr);
        return err;
    }
    *out = arr;
    return CW_OK;
}

/* ---- catalog locations -------------------------------------------------------------- */

static cw_err loc_read(cw__pg_conn *c, const char *id, const char *type, const char *target,
                       bool with_content, cw_location *out, cw_diag *d)
{
    PGresult *r = NULL;
    cw_err err;
    if (id) {
        const char *p[] = {id};
        err = cw__pg_exec(c,
                          with_content
                              ? "SELECT " LOC_COLS ", content FROM catalog_locations WHERE id = $1"
                              : "SELECT " LOC_COLS " FROM catalog_locations WHERE id = $1",
                          1, p, &r, d);
    } else {
        const char *p[] = {type, target};
        err = cw__pg_exec(c,
                          "SELECT " LOC_COLS " FROM catalog_locations WHERE type = $1 AND target = $2",
                          2, p, &r, d);
    }
    if (!err && PQntuples(r) == 1)
        err = row_to_loc(r, 0, with_content && id, out, d);
    else if (!err)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "location: not found");
    PQclear(r);
    return err;
}

static cw_err loc_add(cw_store *store, const char *id, const char *type, const char *target,
                      const char *origin, int64_t now_ms, cw_location *out, bool *created,
                      cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    cw_err err = read_only(s, d);
    if (err)
        return err;
    if (!cw__pg_utf8(target))
        return cw_fail(d, CW_ERR_INVALID, "target: not valid UTF-8");
    cw__pg_conn *c = NULL;
    if ((err = cw__pg_acquire(s, &c, d)))
        return err;
    char nb[24];
    const char *p[] = {id, type, target, origin, cw__pg_i64(nb, now_ms)};
    PGresult *r = NULL;
    err = cw__pg_exec(c,
                      "INSERT INTO catalog_locations (id, type, target, origin, created_ms)"
                      " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING 1",
                      5, p, &r, d);
    *created = !err && PQntuples(r) > 0;
    PQclear(r);
    if (!err)
        err = loc_read(c, NULL, type, target, false, out, d);
    cw__pg_release(s, c);
    return err;
}

static cw_err loc_get(cw_store *store, const char *id, const char *type, const char *target,
                      bool with_content, cw_location *out, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    if ((id && !cw__pg_utf8(id)) || (target && !cw__pg_utf8(target)))
        return cw_fail(d, CW_ERR_NOT_FOUND, "location: not found");
    cw__pg_conn *c = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (err)
        return err;
    err = loc_read(c, id, type, target, with_content, out, d);
    cw__pg_release(s, c);
    return err;
}

static cw_err loc_list(cw_store *store, cw_location **out, size_t *n, cw_diag *d)
{
    PGresult *r = NULL;
    cw_err err = one(cw__pg(store),
                     "SELECT " LOC_COLS " FROM catalog_locations ORDER BY created_ms, id", 0, NULL,
                     &r, d);
    int rows = err ? 0 : PQntuples(r);
    cw_location *arr = NULL;
    size_t len = 0;
    if (!err && !(arr = calloc((size_t)(rows ? rows : 1), sizeof *arr)))
        err = cw_fail(d, CW_ERR_NOMEM, "locations: out of memory");
    for (int i = 0; !err && i < rows; i++) {
        err = row_to_loc(r, i, false, &arr[len], d);
        if (!err)
            len++;
    }
    PQclear(r);
    if (err) {
        cw_locations_free(arr, len);
        return err;
    }
    *out = arr;
    *n = len;
    return CW_OK;
}

/* The keys location id provides that no other location does, absent from
 * keep (NULL: none kept), appended to arr. */
static cw_err orphans_of(cw__pg_conn *c, const char *id, const json_t *keep, json_t *arr,
                         cw_diag *d)
{
    const char *p[] = {id};
    PGresult *r = NULL;
    cw_err err = cw__pg_exec(
        c,
        "SELECT entity_key FROM location_entities le WHERE location_id = $1 AND NOT EXISTS"
        " (SELECT 1 FROM location_entities o WHERE o.entity_key = le.entity_key"
        "  AND o.location_id <> le.location_id) ORDER BY entity_key",
        1, p, &r, d);
    for (int i = 0; !err && i < PQntuples(r); i++) {
        const char *key = cw__pg_text(r, i, 0);
        bool kept = false;
        size_t k;
        json_t *v;
        json_array_foreach(keep, k, v) {
            if (!strcmp(json_string_value(v), key)) {
                kept = true;
                break;
            }
        }
        if (!kept && json_array_append_new(arr, json_string(key)))
            err = cw_fail(d, CW_ERR_NOMEM, "locations: out of memory");
    }
    PQclear(r);
    return err;
}

typedef struct {
    const char *id;
    const json_t *keys;   /* entities_set: the new set */
    json_t *out;          /* orphans / gone */
    size_t out_len0;      /* its length before the transaction (reset on retry) */
} loc_tx;

static void reset_out(loc_tx *x)
{
    while (json_array_size(x->out) > x->out_len0)
        json_array_remove(x->out, json_array_size(x->out) - 1);
}

static cw_err delete_tx(cw__pg_conn *c, void *arg, cw_diag *d)
{
    loc_tx *x = arg;
    reset_out(x);
    const char *p[] = {x->id};
    PGresult *r = NULL;
    cw_err err = orphans_of(c, x->id, NULL, x->out, d);
    if (!err)
        err = cw__pg_exec(c, "DELETE FROM location_entities WHERE location_id = $1", 1, p, NULL, d);
    if (!err)
        err = cw__pg_exec(c, "DELETE FROM catalog_locations WHERE id = $1 RETURNING 1", 1, p, &r,
                          d);
    if (!err && PQntuples(r) == 0)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "location %s: not found", x->id);
    PQclear(r);
    return err;
}

static cw_err loc_delete(cw_store *store, const char *id, json_t *orphans, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    cw_err err = read_only(s, d);
    if (err)
        return err;
    if (!cw__pg_utf8(id))
        return cw_fail(d, CW_ERR_NOT_FOUND, "location: not found");
    loc_tx x = {id, NULL, orphans, json_array_size(orphans)};
    return cw__pg_write(s, delete_tx, &x, d);
}

static cw_err loc_claim(cw_store *store, const char *owner, int64_t now_ms, int64_t lease_ms,
                        size_t max, json_t *ids, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    cw_err err = read_only(s, d);
    if (err)
        return err;
    char ub[24], nb[24], mb[24];
    const char *p[] = {owner, cw__pg_i64(ub, now_ms + lease_ms), cw__pg_i64(nb, now_ms),
                       cw__pg_i64(mb, (int64_t)max)};
    PGresult *r = NULL;
    /* SKIP LOCKED: rows another instance is claiming this instant are left
     * to it; the claim_until test makes a claim exclusive for its lease */
    err = one(s,
              "UPDATE catalog_locations SET claimed_by = $1, claim_until = $2"
              " WHERE id IN (SELECT id FROM catalog_locations WHERE type = 'url'"
              "  AND next_ms <= $3 AND claim_until < $3 ORDER BY next_ms, id LIMIT $4"
              "  FOR UPDATE SKIP LOCKED)"
              " AND claim_until < $3 RETURNING id",
              4, p, &r, d);
    for (int i = 0; !err && i < PQntuples(r); i++)
        if (json_array_append_new(ids, json_string(cw__pg_text(r, i, 0))))
            err = cw_fail(d, CW_ERR_NOMEM, "locations: out of memory");
    PQclear(r);
    return err;
}

static cw_err loc_due(cw_store *store, const char *id, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    cw_err err = read_only(s, d);
    if (err)
        return err;
    if (!cw__pg_utf8(id))
        return cw_fail(d, CW_ERR_NOT_FOUND, "location: not found");
    const char *p[] = {id};
    PGresult *r = NULL;
    err = one(s, "UPDATE catalog_locations SET next_ms = 0 WHERE id = $1 RETURNING 1", 1, p, &r,
              d);
    if (!err && PQntuples(r) == 0)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "location %s: not found", id);
    PQclear(r);
    return err;
}

static cw_err loc_fetched(cw_store *store, const char *id, const char *owner,
                          const cw_location_fetch *f, int64_t *failures, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    cw_err err = read_only(s, d);
    if (err)
        return err;
    bool ok = !strcmp(f->status, "ok");
    char fb[24], nb[24];
    const char *p[] = {f->status,
                       ok ? NULL : f->error,
                       cw__pg_i64(fb, f->fetched_ms),
                       cw__pg_i64(nb, f->next_ms),
                       ok && f->changed ? "t" : "f",
                       f->content,
                       f->etag,
                       f->last_modified,
                       owner,
                       id};
    PGresult *r = NULL;
    err = one(s,
              "UPDATE catalog_locations SET status = $1, error = $2, fetched_ms = $3,"
              " next_ms = $4,"
              " failures = CASE WHEN $1 = 'ok' THEN 0 ELSE failures + 1 END,"
              " ok_ms = CASE WHEN $1 = 'ok' THEN $3::bigint ELSE ok_ms END,"
              " content = CASE WHEN $5::boolean THEN $6 ELSE content END,"
              " etag = CASE WHEN $5::boolean THEN $7 ELSE etag END,"
              " last_modified = CASE WHEN $5::boolean THEN $8 ELSE last_modified END,"
              " claimed_by = CASE WHEN claimed_by = $9 THEN NULL ELSE claimed_by END,"
              " claim_until = CASE WHEN claimed_by = $9 THEN 0 ELSE claim_until END"
              " WHERE id = $10 RETURNING failures",
              10, p, &r, d);
    if (!err && PQntuples(r) == 1)
        *failures = cw__pg_int(r, 0, 0);
    else if (!err)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "location %s: not found", id);
    PQclear(r);
    return err;
}

static cw_err entities_set_tx(cw__pg_conn *c, void *arg, cw_diag *d)
{
    loc_tx *x = arg;
    reset_out(x);
    const char *p[] = {x->id};
    PGresult *r = NULL;
    /* the location row is locked: concurrent replacements of one
     * location's set run one after the other */
    cw_err err = cw__pg_exec(c, "SELECT 1 FROM catalog_locations WHERE id = $1 FOR UPDATE", 1, p,
                             &r, d);
    if (!err && PQntuples(r) == 0)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "location %s: not found", x->id);
    PQclear(r);
    if (!err)
        err = orphans_of(c, x->id, x->keys, x->out, d);
    if (!err)
        err = cw__pg_exec(c, "DELETE FROM location_entities WHERE location_id = $1", 1, p, NULL, d);
    cw__pg_array keys;
    cw__pg_array_init(&keys);
    size_t i;
    json_t *k;
    json_array_foreach(x->keys, i, k) {
        if (!err && cw__pg_array_add(&keys, json_string_value(k)))
            err = cw_fail(d, CW_ERR_NOMEM, "locations: out of memory");
    }
    const char *arr = err ? NULL : cw__pg_array_text(&keys);
    if (!err && !arr)
        err = cw_fail(d, CW_ERR_NOMEM, "locations: out of memory");
    if (!err && keys.n) {
        const char *q[] = {x->id, arr};
        err = cw__pg_exec(c,
                          "INSERT INTO location_entities (location_id, entity_key)"
                          " SELECT DISTINCT $1::text, k FROM unnest($2::text[]) AS k",
                          2, q, NULL, d);
    }
    cw__pg_array_free(&keys);
    return err;
}

static cw_err loc_entities_set(cw_store *store, const char *id, const json_t *keys, json_t *gone,
                               cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    cw_err err = read_only(s, d);
    if (err)
        return err;
    if (!cw__pg_utf8(id))
        return cw_fail(d, CW_ERR_NOT_FOUND, "location: not found");
    loc_tx x = {id, keys, gone, json_array_size(gone)};
    return cw__pg_write(s, entities_set_tx, &x, d);
}

static cw_err loc_of_entity(cw_store *store, const char *entity_key, json_t *ids, cw_diag *d)
{
    const char *p[] = {entity_key};
    PGresult *r = NULL;
    cw_err err = one(cw__pg(store),
                     "SELECT location_id FROM location_entities WHERE entity_key = $1"
                     " ORDER BY location_id",
                     1, p, &r, d);
    for (int i = 0; !err && i < PQntuples(r); i++)
        if (json_array_append_new(ids, json_string(cw__pg_text(r, i, 0))))
            err = cw_fail(d, CW_ERR_NOMEM, "locations: out of memory");
    PQclear(r);
    return err;
}

const cw_store_ingest_ops cw__pg_ingest_ops = {
    .hook_create = hook_create,
    .hook_get = hook_get,
    .hook_list = hook_list,
    .hook_revoke = hook_revoke,
    .delivery_seen = delivery_seen,
    .delivery_put = delivery_put,
    .deliveries = deliveries,
    .loc_add = loc_add,
    .loc_get = loc_get,
    .loc_list = loc_list,
    .loc_delete = loc_delete,
    .loc_claim = loc_claim,
    .loc_due = loc_due,
    .loc_fetched = loc_fetched,
    .loc_entities_set = loc_entities_set,
    .loc_of_entity = loc_of_entity,
};
