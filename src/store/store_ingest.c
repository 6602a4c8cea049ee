/*
 * store_ingest.c — the public functions of store_ingest.h: arguments checked
 * once for every backend, then dispatched through the vtable
 * (ingest_impl.h).
 */
#include <stdlib.h>
#include <string.h>

#include "store/ingest_impl.h"
#include "util/crypto.h"
#include "util/utf8.h"

void cw__ingest_copy(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

/* 1..max-1 bytes of UTF-8 without control characters. */
static bool good_text(const char *s, size_t max)
{
    if (!s || !*s)
        return false;
    size_t n = strlen(s);
    if (n >= max || !cw_utf8_valid(s, n))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static bool good_id(const char *s)
{
    if (!s || !*s || strlen(s) >= CW_HOOK_ID_MAX)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return false;
    return true;
}

/* ---- webhook receivers --------------------------------------------------------------- */

cw_err cw_store_hook_create(cw_store *s, const cw_hook *h, const char *secret, cw_diag *d)
{
    const cw_store_ingest_ops *ops;
    STORE_OPS(s, ingest, ops, d);
    if (!h || !good_id(h->id))
        return cw_fail(d, CW_ERR_INVALID, "id: 1-%d characters of [A-Za-z0-9_-]",
                       CW_HOOK_ID_MAX - 1);
    if (strcmp(h->provider, "github") != 0 && strcmp(h->provider, "gitlab") != 0)
        return cw_fail(d, CW_ERR_INVALID, "provider: must be github or gitlab");
    if (!good_text(h->name, CW_HOOK_NAME_MAX))
        return cw_fail(d, CW_ERR_INVALID, "name: 1-%d characters, no control characters",
                       CW_HOOK_NAME_MAX - 1);
    if (h->incident_label[0] && !good_text(h->incident_label, CW_HOOK_LABEL_MAX))
        return cw_fail(d, CW_ERR_INVALID,
                       "incidentLabel: 1-%d characters, no control characters",
                       CW_HOOK_LABEL_MAX - 1);
    if (h->team[0] && !good_text(h->team, CW_REF_MAX))
        return cw_fail(d, CW_ERR_INVALID, "team: not a group key");
    if (!good_text(secret, CW_HOOK_SECRET_MAX))
        return cw_fail(d, CW_ERR_INVALID, "secret: 1-%d printable characters",
                       CW_HOOK_SECRET_MAX - 1);
    return ops->hook_create(s, h, secret, d);
}

cw_err cw_store_hook_get(cw_store *s, const char *id, cw_hook *out, char **secret_out,
                         cw_diag *d)
{
    const cw_store_ingest_ops *ops;
    STORE_OPS(s, ingest, ops, d);
    if (secret_out)
        *secret_out = NULL;
    if (!out)
        return cw_fail(d, CW_ERR_INVALID, "store: no output for the receiver");
    if (!good_id(id))
        return cw_fail(d, CW_ERR_NOT_FOUND, "webhook receiver: not found");
    return ops->hook_get(s, id, out, secret_out, d);
}

cw_err cw_store_hook_list(cw_store *s, cw_hook **out, size_t *n, cw_diag *d)
{
    const cw_store_ingest_ops *ops;
    STORE_OPS(s, ingest, ops, d);
    if (!out || !n)
        return cw_fail(d, CW_ERR_INVALID, "store: no output for the receivers");
    *out = NULL;
    *n = 0;
    return ops->hook_list(s, out, n, d);
}

cw_err cw_store_hook_revoke(cw_store *s, const char *id, int64_t now, cw_diag *d)
{
    const cw_store_ingest_ops *ops;
    STORE_OPS(s, ingest, ops, d);
    if (!good_id(id))
        return cw_fail(d, CW_ERR_NOT_FOUND, "webhook receiver: not found");
    return ops->hook_revoke(s, id, now, d);
}

cw_err cw_store_hook_delivery_seen(cw_store *s, const char *hook_id, const char *delivery,
                                   bool *seen, cw_diag *d)
{
    const cw_store_ingest_ops *ops;
    STORE_OPS(s, ingest, ops, d);
    *seen = false;
    if (!good_id(hook_id) || !good_text(delivery, 256))
        return cw_fail(d, CW_ERR_INVALID, "delivery: not a receiver id and delivery id");
    return ops->delivery_seen(s, hook_id, delivery, seen, d);
}

cw_err cw_store_hook_delivery_put(cw_store *s, const cw_hook_delivery_rec *r, bool *inserted,
                                  cw_diag *d)
{
    const cw_store_ingest_ops *ops;
    STORE_OPS(s, ingest, ops, d);
    bool ins = false;
    if (!r || !good_id(r->hook_id) || !good_text(r->delivery, 256) ||
        !good_text(r->what, 256) || !r->outcome ||
        (r->payload && !cw_utf8_valid(r->payload, strlen(r->payload))) ||
        (r->detail && !cw_utf8_valid(r->detail, strlen(r->detail))))
        return cw_fail(d, CW_ERR_INVALID, "delivery: incomplete or not UTF-8");
    cw_err err = ops->delivery_put(s, r, &ins, d);
    if (inserted)
        *inserted = ins;
    return err;
}

cw_err cw_store_hook_deliveries(cw_store *s, const char *hook_id, size_t limit, json_t **out,
                                cw_diag *d)
{
    const cw_store_ingest_ops *ops;
    STORE_OPS(s, ingest, ops, d);
    *out = NULL;
    if (!good_id(hook_id))
        return cw_fail(d, CW_ERR_NOT_FOUND, "webhook receiver: not found");
    json_t *rows = NULL;
    cw_err err = ops->deliveries(s, hook_id, limit ? limit : 1, &rows, d);
    if (err)
        return err;
    /* the payload was stored as the body's text: hand it out parsed */
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        const char *text = json_string_value(json_object_get(row, "payload"));
        json_t *parsed = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
        json_object_set_new(row, "payload", parsed ? parsed : json_null());
    }
    *out = rows;
    return CW_OK;
}

/* ---- catalog locations ------------------------------------------------------------- */

void cw_location_free(cw_location *l)
{
    if (!l)
        return;
    free(l->target);
    free(l->error);
    free(l->etag);
    free(l->last_modified);
    free(l->content);
    memset(l, 0, sizeof *l);
}

void cw_locations_free(cw_location *l, size_t n)
{
    for (size_t i = 0; l && i < n; i++)
        cw_location_free(&l[i]);
    free(l);
}

/* A random (version 4) UUID as Backstage gives its locations. */
static cw_err new_uuid(char out[37])
{
    unsigned char b[16];
    if (cw_random_bytes(b, sizeof b))
        return CW_ERR_INTERNAL;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
    return CW_OK;
}

static cw_err check_location(const char *type, const char *target, cw_diag *d)
{
    if (!type || (strcmp(type, "url") != 0 && strcmp(type, "file") != 0))
        return cw_fail(d, CW_ERR_INVALID, "type: must be url or file");
    if (!good_text(target, CW_LOCATION_TARGET_MAX))
        return cw_fail(d, CW_ERR_INVALID,
                       "target: 1-%d bytes of UTF-8 without control characters",
                       CW_LOCATION_TARGET_MAX - 1);
    return CW_OK;
}

cw_err cw_store_location_add(cw_store *s, const char *type, const char *target,
                             const char *origin, int64_t now_ms, cw_location *out,
                             bool *created, cw_diag *d)
{
    const cw_store_ingest_ops *ops;
    STORE_OPS(s, ingest, ops, d);
    cw_err err = check_location(type, target, d);
    if (err)
        return err;
    if (!origin || (strcmp(origin, "api") && strcmp(origin, "entity") && strcmp(origin, "cli")))
        return cw_fail(d, CW_ERR_INVALID, "origin: must be api, entity or cli");
    char id[37];
    if (new_uuid(id))
        return cw_fail(d, CW_ERR_INTERNAL, "location: no secure randomness for an id");
    cw_location local;
    bool made = false;
    memset(&local, 0, sizeof local);
    err = ops->loc_add(s, id, type, target, origin, now_ms, out ? out : &local, &made, d);
    cw_location_free(&local);
    if (created)
        *created = made;
    return err;
}

cw_err cw_store_location_get(cw_store *s, const char *id, bool with_content, cw_location *out,
                             cw_diag *d)
{
    const cw_store_ingest_ops *ops;
    STORE_OPS(s, ingest, ops, d);
    memset(out, 0, sizeof *out);
    if (!id || !*id || strlen(id) >= sizeof out->id || !cw_utf8_valid(id, strlen(id)))
        return cw_fail(d, CW_ERR_NOT_FOUND, "location: not found");
    return ops->loc_get(s, id, NULL, NULL, with_content, out, d);
}

cw_err cw_store_location_find(cw_store *s, const char *type, const char *target,
                              cw_location *out, cw_diag *d)
{
    const cw_store_ingest_ops *ops;
    STORE_OPS(s, ingest, ops, d);
    memset(out, 0, sizeof *out);
    cw_err err = check_location(type, target, d);
    if (err)
        return err;
    return ops->loc_get(s, NULL, type, target, false, out, d);
}

cw_err cw_store_location_list(cw_store *s, cw_location **out, size_t *n, cw_diag *d)
{
    const cw_store_ingest_ops *ops;
    STORE_OPS(s, ingest, ops, d);
    *out = NULL;
    *n = 0;
    return ops->loc_list(s, out, n, d);
}

/* Runs op with a fresh JSON array for its output, handed out on success. */
#define WITH_ARRAY(outp, call)                                         \
    do {                                                               \
        json_t *arr_ = json_array();                                   \
        if (!arr_)                                                     \
            return cw_fail(d, CW_ERR_NOMEM, "store: out of memory");   \
        cw_err e_ = (call);                                            \
        if (e_ || !(outp))                                             \
            json_decref(arr_);                                         \
        else                                                           \
            *(outp) = arr_;                                            \
        return e_;                                                     \
    } while (0)

cw_err cw_store_location_delete(cw_store *s, const char *id, json_t **orphans, cw_diag *d)
{
    const cw_store_ingest_ops *ops;
    STORE_OPS(s, ingest, ops, d);
    if (orphans)
        *orphans = NULL;
    if (!id || !*id || strlen(id) >= 40 || !cw_utf8_valid(id, strlen(id)))
        return cw_fail(d, CW_ERR_NOT_FOUND, "location: not found");
    WITH_ARRAY(orphans, ops->loc_delete(s, id, arr_, d));
}

cw_err cw_store_location_claim(cw_store *s, const char *owner, int64_t now_ms,
                               int64_t lease_ms, size_t max, json_t **ids, cw_diag *d)
{
    const cw_store_ingest_ops *ops;
    STORE_OPS(s, ingest, ops, d);
    *ids = NULL;
    if (!good_text(owner, 128) || lease_ms <= 0 || max == 0)
        return cw_fail(d, CW_ERR_INVALID, "claim: owner, lease and count required");
    WITH_ARRAY(ids, ops->loc_claim(s, owner, now_ms, lease_ms, max, arr_, d));
}

cw_err cw_store_location_due(cw_store *s, const char *id, cw_diag *d)
{
    const cw_store_ingest_ops *ops;
    STORE_OPS(s, ingest, ops, d);
    if (!id || !*id || strlen(id) >= 40 || !cw_utf8_valid(id, strlen(id)))
        return cw_fail(d, CW_ERR_NOT_FOUND, "location: not found");
    return ops->loc_due(s, id, d);
}

cw_err cw_store_location_fetched(cw_store *s, const char *id, const char *owner,
                                 const cw_location_fetch *f, int64_t *failures, cw_diag *d)
{
    const cw_store_ingest_ops *ops;
    STORE_OPS(s, ingest, ops, d);
    int64_t local = 0;
    if (!id || !owner || !f || !f->status ||
        (strcmp(f->status, "ok") && strcmp(f->status, "error") &&
         strcmp(f->status, "not-allowed")))
        return cw_fail(d, CW_ERR_INVALID, "fetch: status must be ok, error or not-allowed");
    if (f->changed && (!f->content || !cw_utf8_valid(f->content, strlen(f->content))))
        return cw_fail(d, CW_ERR_INVALID, "fetch: the content is not UTF-8 text");
    if ((f->error && !cw_utf8_valid(f->error, strlen(f->error))) ||
        (f->etag && !good_text(f->etag, 1024)) ||
        (f->last_modified && !good_text(f->last_modified, 256)))
        return cw_fail(d, CW_ERR_INVALID, "fetch: an error or validator is not text");
    return ops->loc_fetched(s, id, owner, f, failures ? failures : &local, d);
}

cw_err cw_store_location_entities_set(cw_store *s, const char *id, const json_t *keys,
                                      json_t **gone, cw_diag *d)
{
    const cw_store_ingest_ops *ops;
    STORE_OPS(s, ingest, ops, d);
    if (gone)
        *gone = NULL;
    if (!json_is_array(keys))
        return cw_fail(d, CW_ERR_INVALID, "keys: must be an array");
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) {
        if (!json_is_string(k) || !good_text(json_string_value(k), CW_REF_MAX))
            return cw_fail(d, CW_ERR_INVALID, "keys[%zu]: not an entity key", i);
    }
    WITH_ARRAY(gone, ops->loc_entities_set(s, id, keys, arr_, d));
}

cw_err cw_store_location_of_entity(cw_store *s, const char *entity_key, json_t **ids,
                                   cw_diag *d)
{
    const cw_store_ingest_ops *ops;
    STORE_OPS(s, ingest, ops, d);
    *ids = NULL;
    if (!good_text(entity_key, CW_REF_MAX))
        return cw_fail(d, CW_ERR_INVALID, "entity: not an entity key");
    WITH_ARRAY(ids, ops->loc_of_entity(s, entity_key, arr_, d));
}
