/*
 * sqlite_ingest.c — webhook receivers, their deliveries and catalog
 * locations in SQLite (store_ingest.h; tables of migration 6). Writes go
 * through the one writer connection, so a claim is one UPDATE that no
 * other writer of this process can interleave with, and other processes
 * wait on SQLite's write lock.
 */
#include "store/sqlite_int.h"

#include <stdlib.h>
#include <string.h>

#include "store/ingest_impl.h"

#define HOOK_COLS "id, provider, name, team, incident_label, created_at, revoked_at"
#define LOC_COLS                                                                          \
    "id, type, target, origin, created_ms, status, error, failures, fetched_ms, ok_ms, " \
    "next_ms, etag, last_modified"

static char *dup_or_null(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return NULL;
    const char *t = cw__col_text(st, col);
    return strdup(t);
}

static void row_to_hook(sqlite3_stmt *st, cw_hook *h)
{
    memset(h, 0, sizeof *h);
    cw__ingest_copy(h->id, sizeof h->id, cw__col_text(st, 0));
    cw__ingest_copy(h->provider, sizeof h->provider, cw__col_text(st, 1));
    cw__ingest_copy(h->name, sizeof h->name, cw__col_text(st, 2));
    cw__ingest_copy(h->team, sizeof h->team, cw__col_text(st, 3));
    cw__ingest_copy(h->incident_label, sizeof h->incident_label, cw__col_text(st, 4));
    h->created_at = sqlite3_column_int64(st, 5);
    h->revoked_at = sqlite3_column_int64(st, 6);
}

/* Fills l from a row of LOC_COLS (+ content at column 13 when asked). */
static cw_err row_to_loc(sqlite3_stmt *st, bool with_content, cw_location *l, cw_diag *d)
{
    memset(l, 0, sizeof *l);
    cw__ingest_copy(l->id, sizeof l->id, cw__col_text(st, 0));
    cw__ingest_copy(l->type, sizeof l->type, cw__col_text(st, 1));
    l->target = strdup(cw__col_text(st, 2));
    cw__ingest_copy(l->origin, sizeof l->origin, cw__col_text(st, 3));
    l->created_ms = sqlite3_column_int64(st, 4);
    cw__ingest_copy(l->status, sizeof l->status, cw__col_text(st, 5));
    l->error = dup_or_null(st, 6);
    l->failures = sqlite3_column_int64(st, 7);
    l->fetched_ms = sqlite3_column_int64(st, 8);
    l->ok_ms = sqlite3_column_int64(st, 9);
    l->next_ms = sqlite3_column_int64(st, 10);
    l->etag = dup_or_null(st, 11);
    l->last_modified = dup_or_null(st, 12);
    if (with_content)
        l->content = dup_or_null(st, 13);
    bool oom = !l->target || (sqlite3_column_type(st, 6) != SQLITE_NULL && !l->error) ||
               (sqlite3_column_type(st, 11) != SQLITE_NULL && !l->etag) ||
               (sqlite3_column_type(st, 12) != SQLITE_NULL && !l->last_modified) ||
               (with_content && sqlite3_column_type(st, 13) != SQLITE_NULL && !l->content);
    if (oom) {
        cw_location_free(l);
        return cw_fail(d, CW_ERR_NOMEM, "locations: out of memory");
    }
    return CW_OK;
}

/* Runs one prepared statement to completion; the number of changed rows in
 * *changes (may be NULL). */
static cw_err exec_stmt(cw__sqlite_conn *c, sqlite3_stmt *st, int *changes, const char *what,
                        cw_diag *d)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    if (rc != SQLITE_DONE)
        return cw__sqlite_fail(c, rc, d, what);
    if (changes)
        *changes = sqlite3_changes(c->db);
    return CW_OK;
}

/* ---- webhook receivers --------------------------------------------------------------- */

static cw_err hook_create(cw_store *store, const cw_hook *h, const char *secret, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c;
    cw_err err = cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    sqlite3_stmt *st = NULL;
    err = cw__sqlite_stmt(c,
                          "INSERT INTO webhooks (id, provider, name, team, incident_label, secret,"
                          " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                          &st, d);
    if (!err) {
        cw__bind_text(st, 1, h->id);
        cw__bind_text(st, 2, h->provider);
        cw__bind_text(st, 3, h->name);
        cw__bind_text(st, 4, h->team);
        cw__bind_text(st, 5, h->incident_label);
        cw__bind_text(st, 6, secret);
        cw__bind_int64(st, 7, h->created_at);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
            err = cw_fail(d, CW_ERR_CONFLICT, "id: a receiver with this id exists");
        else if (rc != SQLITE_DONE)
            err = cw__sqlite_fail(c, rc, d, "webhook create");
    }
    cw__sqlite_done(c, st);
    return cw__sqlite_write_end(s, c, err, d);
}

static cw_err hook_get(cw_store *store, const char *id, cw_hook *out, char **secret_out,
                       cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c,
                                 "SELECT " HOOK_COLS ", secret FROM webhooks"
                                 " WHERE id = ? AND revoked_at IS NULL",
                                 &st, d);
    if (!err) {
        cw__bind_text(st, 1, id);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            row_to_hook(st, out);
            if (secret_out && !(*secret_out = strdup(cw__col_text(st, 7))))
                err = cw_fail(d, CW_ERR_NOMEM, "webhooks: out of memory");
        } else if (rc == SQLITE_DONE) {
            err = cw_fail(d, CW_ERR_NOT_FOUND, "webhook receiver: not found or revoked");
        } else {
            err = cw__sqlite_fail(c, rc, d, "webhook get");
        }
    }
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    return err;
}

static cw_err hook_list(cw_store *store, cw_hook **out, size_t *n, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL;
    cw_hook *arr = NULL;
    size_t len = 0, cap = 0;
    cw_err err = cw__sqlite_stmt(c, "SELECT " HOOK_COLS " FROM webhooks ORDER BY created_at, id",
                                 &st, d);
    int rc = SQLITE_DONE;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            cw_hook *p = realloc(arr, ncap * sizeof *p);
            if (!p) {
                err = cw_fail(d, CW_ERR_NOMEM, "webhooks: out of memory");
                break;
            }
            arr = p;
            cap = ncap;
        }
        row_to_hook(st, &arr[len++]);
    }
    if (!err && rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "webhook list");
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    if (err) {
        free(arr);
        return err;
    }
    *out = arr;
    *n = len;
    return CW_OK;
}

static cw_err hook_revoke(cw_store *store, const char *id, int64_t now, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c;
    cw_err err = cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    sqlite3_stmt *st = NULL;
    int found = 0;
    err = cw__sqlite_stmt(c, "SELECT count(*) FROM webhooks WHERE id = ?", &st, d);
    if (!err) {
        cw__bind_text(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW)
            found = sqlite3_column_int(st, 0);
    }
    cw__sqlite_done(c, st);
    st = NULL;
    if (!err && !found)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "webhook receiver %s: not found", id);
    if (!err)
        err = cw__sqlite_stmt(c,
                              "UPDATE webhooks SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                              &st, d);
    if (!err) {
        cw__bind_int64(st, 1, now);
        cw__bind_text(st, 2, id);
        err = exec_stmt(c, st, NULL, "webhook revoke", d);
    }
    cw__sqlite_done(c, st);
    return cw__sqlite_write_end(s, c, err, d);
}

static cw_err delivery_seen(cw_store *store, const char *hook_id, const char *delivery,
                            bool *seen, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(
        c, "SELECT 1 FROM webhook_deliveries WHERE hook_id = ? AND delivery = ?", &st, d);
    if (!err) {
        cw__bind_text(st, 1, hook_id);
        cw__bind_text(st, 2, delivery);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            *seen = true;
        else if (rc != SQLITE_DONE)
            err = cw__sqlite_fail(c, rc, d, "delivery seen");
    }
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    return err;
}

static cw_err delivery_put(cw_store *store, const cw_hook_delivery_rec *r, bool *inserted,
                           cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c;
    cw_err err = cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    sqlite3_stmt *st = NULL;
    int changes = 0;
    err = cw__sqlite_stmt(c,
                          "INSERT INTO webhook_deliveries (hook_id, delivery, received_ms, what,"
                          " outcome, detail, events, payload, payload_bytes)"
                          " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                          &st, d);
    if (!err) {
        cw__bind_text(st, 1, r->hook_id);
        cw__bind_text(st, 2, r->delivery);
        cw__bind_int64(st, 3, r->received_ms);
        cw__bind_text(st, 4, r->what);
        cw__bind_text(st, 5, r->outcome);
        cw__bind_text(st, 6, r->detail);
        cw__bind_int64(st, 7, (int64_t)r->events);
        cw__bind_text(st, 8, r->payload);
        cw__bind_int64(st, 9, (int64_t)r->payload_bytes);
        err = exec_stmt(c, st, &changes, "delivery put", d);
    }
    cw__sqlite_done(c, st);
    st = NULL;
    if (!err)
        err = cw__sqlite_stmt(c,
                              "DELETE FROM webhook_deliveries WHERE hook_id = ? AND received_ms < ?",
                              &st, d);
    if (!err) {
        cw__bind_text(st, 1, r->hook_id);
        cw__bind_int64(st, 2, r->received_ms - CW_HOOK_DELIVERY_KEEP_MS);
        err = exec_stmt(c, st, NULL, "delivery prune", d);
    }
    cw__sqlite_done(c, st);
    *inserted = changes > 0;
    return cw__sqlite_write_end(s, c, err, d);
}

static cw_err deliveries(cw_store *store, const char *hook_id, size_t limit, json_t **out,
                         cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    cw_err err = arr ? cw__sqlite_stmt(c,
                                       "SELECT delivery, received_ms, what, outcome, detail, events,"
                                       " payload_bytes, payload FROM webhook_deliveries"
                                       " WHERE hook_id = ? ORDER BY received_ms DESC, delivery"
                                       " LIMIT ?",
                                       &st, d)
                     : cw_fail(d, CW_ERR_NOMEM, "deliveries: out of memory");
    int rc = SQLITE_DONE;
    if (!err) {
        cw__bind_text(st, 1, hook_id);
        cw__bind_int64(st, 2, (int64_t)limit);
    }
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *row = json_pack(
            "{s:s, s:I, s:s, s:s, s:s?, s:I, s:I, s:s?}", "delivery", cw__col_text(st, 0),
            "receivedMs", (json_int_t)sqlite3_column_int64(st, 1), "what", cw__col_text(st, 2), "outcome",
            cw__col_text(st, 3), "detail",
            sqlite3_column_type(st, 4) == SQLITE_NULL ? NULL : cw__col_text(st, 4), "events",
            (json_int_t)sqlite3_column_int64(st, 5), "payloadBytes",
            (json_int_t)sqlite3_column_int64(st, 6), "payload",
            sqlite3_column_type(st, 7) == SQLITE_NULL ? NULL : cw__col_text(st, 7));
        if (!row || json_array_append_new(arr, row))
            err = cw_fail(d, CW_ERR_NOMEM, "deliveries: out of memory");
    }
    if (!err && rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "deliveries");
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    if (err) {
        json_decref(arr);
        return err;
    }
    *out = arr;
    return CW_OK;
}

/* ---- catalog locations -------------------------------------------------------------- */

/* One location by id, or by (type, target), on connection c. */
static cw_err loc_read(cw__sqlite_conn *c, const char *id, const char *type, const char *target,
                       bool with_content, cw_location *out, cw_diag *d)
{
    sqlite3_stmt *st = NULL;
    const char *sql = id ? (with_content ? "SELECT " LOC_COLS ", content FROM catalog_locations"
                                           " WHERE id = ?"
                                         : "SELECT " LOC_COLS " FROM catalog_locations WHERE id = ?")
                         : "SELECT " LOC_COLS " FROM catalog_locations WHERE type = ? AND target = ?";
    cw_err err = cw__sqlite_stmt(c, sql, &st, d);
    if (err)
        return err;
    if (id) {
        cw__bind_text(st, 1, id);
    } else {
        cw__bind_text(st, 1, type);
        cw__bind_text(st, 2, target);
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        err = row_to_loc(st, with_content && id, out, d);
    else if (rc == SQLITE_DONE)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "location: not found");
    else
        err = cw__sqlite_fail(c, rc, d, "location");
    cw__sqlite_done(c, st);
    return err;
}

static cw_err loc_add(cw_store *store, const char *id, const char *type, const char *target,
                      const char *origin, int64_t now_ms, cw_location *out, bool *created,
                      cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c;
    cw_err err = cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    sqlite3_stmt *st = NULL;
    int changes = 0;
    err = cw__sqlite_stmt(c,
                          "INSERT INTO catalog_locations (id, type, target, origin, created_ms)"
                          " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                          &st, d);
    if (!err) {
        cw__bind_text(st, 1, id);
        cw__bind_text(st, 2, type);
        cw__bind_text(st, 3, target);
        cw__bind_text(st, 4, origin);
        cw__bind_int64(st, 5, now_ms);
        err = exec_stmt(c, st, &changes, "location add", d);
    }
    cw__sqlite_done(c, st);
    *created = changes > 0;
    if (!err)
        err = loc_read(c, NULL, type, target, false, out, d);
    return cw__sqlite_write_end(s, c, err, d);
}

static cw_err loc_get(cw_store *store, const char *id, const char *type, const char *target,
                      bool with_content, cw_location *out, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    cw_err err = loc_read(c, id, type, target, with_content, out, d);
    cw__sqlite_read_release(s, c);
    return err;
}

static cw_err loc_list(cw_store *store, cw_location **out, size_t *n, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL;
    cw_location *arr = NULL;
    size_t len = 0, cap = 0;
    cw_err err = cw__sqlite_stmt(
        c, "SELECT " LOC_COLS " FROM catalog_locations ORDER BY created_ms, id", &st, d);
    int rc = SQLITE_DONE;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            cw_location *p = realloc(arr, ncap * sizeof *p);
            if (!p) {
                err = cw_fail(d, CW_ERR_NOMEM, "locations: out of memory");
                break;
            }
            arr = p;
            cap = ncap;
        }
        err = row_to_loc(st, false, &arr[len], d);
        if (!err)
            len++;
    }
    if (!err && rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "location list");
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    if (err) {
        cw_locations_free(arr, len);
        return err;
    }
    *out = arr;
    *n = len;
    return CW_OK;
}

/* Appends the keys location id provides and no other location does to arr
 * (the orphans if id stopped providing them); only keys absent from keep
 * (a JSON array, or NULL) count. */
static cw_err orphans_of(cw__sqlite_conn *c, const char *id, const json_t *keep, json_t *arr,
                         cw_diag *d)
{
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(
        c,
        "SELECT entity_key FROM location_entities le WHERE location_id = ? AND NOT EXISTS"
        " (SELECT 1 FROM location_entities o WHERE o.entity_key = le.entity_key"
        "  AND o.location_id <> le.location_id) ORDER BY entity_key",
        &st, d);
    if (err)
        return err;
    cw__bind_text(st, 1, id);
    int rc;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = cw__col_text(st, 0);
        bool kept = false;
        size_t i;
        json_t *k;
        json_array_foreach(keep, i, k) {
            if (!strcmp(json_string_value(k), key)) {
                kept = true;
                break;
            }
        }
        if (!kept && json_array_append_new(arr, json_string(key)))
            err = cw_fail(d, CW_ERR_NOMEM, "locations: out of memory");
    }
    if (!err && rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "location entities");
    cw__sqlite_done(c, st);
    return err;
}

static cw_err run_id(cw__sqlite_conn *c, const char *sql, const char *id, int *changes,
                     cw_diag *d)
{
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c, sql, &st, d);
    if (!err) {
        cw__bind_text(st, 1, id);
        err = exec_stmt(c, st, changes, sql, d);
    }
    cw__sqlite_done(c, st);
    return err;
}

static cw_err loc_delete(cw_store *store, const char *id, json_t *orphans, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c;
    cw_err err = cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    int changes = 0;
    err = orphans_of(c, id, NULL, orphans, d);
    if (!err)
        err = run_id(c, "DELETE FROM location_entities WHERE location_id = ?", id, NULL, d);
    if (!err)
        err = run_id(c, "DELETE FROM catalog_locations WHERE id = ?", id, &changes, d);
    if (!err && !changes)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "location %s: not found", id);
    return cw__sqlite_write_end(s, c, err, d);
}

static cw_err loc_claim(cw_store *store, const char *owner, int64_t now_ms, int64_t lease_ms,
                        size_t max, json_t *ids, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c;
    cw_err err = cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    sqlite3_stmt *st = NULL;
    err = cw__sqlite_stmt(c,
                          "UPDATE catalog_locations SET claimed_by = ?, claim_until = ?"
                          " WHERE id IN (SELECT id FROM catalog_locations WHERE type = 'url'"
                          "  AND next_ms <= ? AND claim_until < ? ORDER BY next_ms, id LIMIT ?)"
                          " RETURNING id",
                          &st, d);
    int rc = SQLITE_DONE;
    if (!err) {
        cw__bind_text(st, 1, owner);
        cw__bind_int64(st, 2, now_ms + lease_ms);
        cw__bind_int64(st, 3, now_ms);
        cw__bind_int64(st, 4, now_ms);
        cw__bind_int64(st, 5, (int64_t)max);
    }
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW)
        if (json_array_append_new(ids, json_string(cw__col_text(st, 0))))
            err = cw_fail(d, CW_ERR_NOMEM, "locations: out of memory");
    if (!err && rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "location claim");
    cw__sqlite_done(c, st);
    return cw__sqlite_write_end(s, c, err, d);
}

static cw_err loc_due(cw_store *store, const char *id, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c;
    cw_err err = cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    int changes = 0;
    err = run_id(c, "UPDATE catalog_locations SET next_ms = 0 WHERE id = ?", id, &changes, d);
    if (!err && !changes)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "location %s: not found", id);
    return cw__sqlite_write_end(s, c, err, d);
}

static cw_err loc_fetched(cw_store *store, const char *id, const char *owner,
                          const cw_location_fetch *f, int64_t *failures, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c;
    cw_err err = cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    sqlite3_stmt *st = NULL;
    bool ok = !strcmp(f->status, "ok");
    /* ok: new content and validators (or the old ones kept when unchanged);
     * otherwise the last good content stays */
    err = cw__sqlite_stmt(
        c,
        "UPDATE catalog_locations SET status = ?1, error = ?2, fetched_ms = ?3, next_ms = ?4,"
        " failures = CASE WHEN ?1 = 'ok' THEN 0 ELSE failures + 1 END,"
        " ok_ms = CASE WHEN ?1 = 'ok' THEN ?3 ELSE ok_ms END,"
        " content = CASE WHEN ?5 THEN ?6 ELSE content END,"
        " etag = CASE WHEN ?5 THEN ?7 ELSE etag END,"
        " last_modified = CASE WHEN ?5 THEN ?8 ELSE last_modified END,"
        " claimed_by = CASE WHEN claimed_by = ?9 THEN NULL ELSE claimed_by END,"
        " claim_until = CASE WHEN claimed_by = ?9 THEN 0 ELSE claim_until END"
        " WHERE id = ?10 RETURNING failures",
        &st, d);
    if (!err) {
        cw__bind_text(st, 1, f->status);
        cw__bind_text(st, 2, ok ? NULL : f->error);
        cw__bind_int64(st, 3, f->fetched_ms);
        cw__bind_int64(st, 4, f->next_ms);
        sqlite3_bind_int(st, 5, ok && f->changed);
        cw__bind_text(st, 6, f->content);
        cw__bind_text(st, 7, f->etag);
        cw__bind_text(st, 8, f->last_modified);
        cw__bind_text(st, 9, owner);
        cw__bind_text(st, 10, id);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *failures = sqlite3_column_int64(st, 0);
            rc = sqlite3_step(st);
        } else if (rc == SQLITE_DONE) {
            err = cw_fail(d, CW_ERR_NOT_FOUND, "location %s: not found", id);
        }
        if (!err && rc != SQLITE_DONE)
            err = cw__sqlite_fail(c, rc, d, "location fetched");
    }
    cw__sqlite_done(c, st);
    return cw__sqlite_write_end(s, c, err, d);
}

static cw_err loc_entities_set(cw_store *store, const char *id, const json_t *keys, json_t *gone,
                               cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c;
    cw_err err = cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    cw_location l;
    memset(&l, 0, sizeof l);
    err = loc_read(c, id, NULL, NULL, false, &l, d);
    cw_location_free(&l);
    if (!err)
        err = orphans_of(c, id, keys, gone, d);
    if (!err)
        err = run_id(c, "DELETE FROM location_entities WHERE location_id = ?", id, NULL, d);
    sqlite3_stmt *st = NULL;
    if (!err)
        err = cw__sqlite_stmt(c,
                              "INSERT INTO location_entities (location_id, entity_key) VALUES (?, ?)"
                              " ON CONFLICT DO NOTHING",
                              &st, d);
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) {
        if (err)
            break;
        cw__bind_text(st, 1, id);
        cw__bind_text(st, 2, json_string_value(k));
        err = exec_stmt(c, st, NULL, "location entities", d);
        sqlite3_reset(st);
    }
    cw__sqlite_done(c, st);
    return cw__sqlite_write_end(s, c, err, d);
}

static cw_err loc_of_entity(cw_store *store, const char *entity_key, json_t *ids, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c,
                                 "SELECT location_id FROM location_entities WHERE entity_key = ?"
                                 " ORDER BY location_id",
                                 &st, d);
    int rc = SQLITE_DONE;
    if (!err)
        cw__bind_text(st, 1, entity_key);
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW)
        if (json_array_append_new(ids, json_string(cw__col_text(st, 0))))
            err = cw_fail(d, CW_ERR_NOMEM, "locations: out of memory");
    if (!err && rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "location of entity");
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    return err;
}

const cw_store_ingest_ops cw__sqlite_ingest_ops = {
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
