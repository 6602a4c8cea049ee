/*
 * store_heartbeats.c — the public heartbeat functions of
 * store_heartbeats.h: arguments checked once, the catalog sync (entities
 * read by the backend, specs read here), dispatch to the backend.
 */
#include "store/store_heartbeats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_common.h"
#include "store/store_impl.h"

static bool key_ok(const char *key) { return key && *key && strlen(key) < CW_REF_MAX; }

static void lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s + 32);
}

cw_err cw__hb_row_ready(cw_hb_row *row, cw_diag *d)
{
    cw_err err = cw_hb_schedule_load(&row->spec.sched, d);
    if (err)
        cw_diag_prefix(d, "%s", row->ref);
    return err;
}

cw_err cw_store_hb_catalog_gen(cw_store *s, int64_t *gen, cw_diag *d)
{
    const struct cw_store_hb_ops *ops;
    STORE_OPS(s, heartbeats, ops, d);
    return ops->catalog_gen(s, gen, d);
}

static void free_strs(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* One batch of cw_store_hb_sync: up to CW_HB_SYNC_BATCH changed entities
 * after `after` (*last the last one's key, "" when none was left) and as
 * many gone rows, applied in one transaction. */
static cw_err sync_batch(cw_store *s, const struct cw_store_hb_ops *ops, const char *after,
                         int64_t now_ms, char *last, bool *more, cw_hb_sync_result *res,
                         cw_diag *d)
{
    char **texts = NULL, **etags = NULL, **gone = NULL;
    size_t n = 0, ngone = 0, k = 0;
    cw_hb_row *rows = NULL;
    last[0] = '\0';
    cw_err err = ops->changed(s, after, CW_HB_SYNC_BATCH, &texts, &etags, &n, last, &gone,
                              &ngone, d);
    if (err)
        return err;
    rows = calloc(n ? n : 1, sizeof *rows);
    if (!rows) {
        err = cw_fail(d, CW_ERR_NOMEM, "heartbeats: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_loads(texts[i], 0, NULL);
        cw_diag rd = {{0}};
        if (!e || cw_hb_row_from_entity(e, &rows[k], &rd) != CW_OK) {
            /* a spec that was valid when stored but cannot be read now
             * (a zone gone from the system): keep the old row */
            res->invalid++;
            json_decref(e);
            continue;
        }
        snprintf(rows[k].etag, sizeof rows[k].etag, "%s", etags[i]);
        json_decref(e);
        k++;
    }
    if ((k || ngone) && !(err = ops->apply(s, rows, k, gone, ngone, now_ms, d)))
        res->batches++;
    if (!err) {
        res->updated += k; /* the backend does not tell new from changed */
        res->removed += ngone;
        /* gone rows are deleted by apply: the next batch finds the rest */
        *more = n == CW_HB_SYNC_BATCH || ngone == CW_HB_SYNC_BATCH;
    }
out:
    free(rows);
    free_strs(texts, n);
    free_strs(etags, n);
    free_strs(gone, ngone);
    return err;
}

cw_err cw_store_hb_sync(cw_store *s, int64_t now_ms, cw_hb_sync_result *res, cw_diag *d)
{
    const struct cw_store_hb_ops *ops;
    STORE_OPS(s, heartbeats, ops, d);
    cw_hb_sync_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    char after[CW_REF_MAX] = "", last[CW_REF_MAX];
    bool more = true;
    cw_err err = CW_OK;
    while (!err && more) {
        more = false;
        err = sync_batch(s, ops, after, now_ms, last, &more, res, d);
        /* an unreadable entity stays changed: the cursor passes it */
        if (last[0])
            memcpy(after, last, sizeof after);
    }
    return err;
}

cw_err cw_store_hb_get(cw_store *s, const char *key, cw_hb_row *out, cw_diag *d)
{
    const struct cw_store_hb_ops *ops;
    STORE_OPS(s, heartbeats, ops, d);
    if (!key_ok(key) || !out)
        return cw_fail(d, CW_ERR_INVALID, "heartbeat: bad key");
    char k[CW_REF_MAX];
    snprintf(k, sizeof k, "%s", key);
    lower(k);
    return ops->get(s, k, out, d);
}

cw_err cw_store_hb_list(cw_store *s, cw_hb_row **out, size_t *n, cw_diag *d)
{
    const struct cw_store_hb_ops *ops;
    STORE_OPS(s, heartbeats, ops, d);
    if (!out || !n)
        return cw_fail(d, CW_ERR_INVALID, "heartbeats: no output");
    *out = NULL;
    *n = 0;
    return ops->list(s, out, n, d);
}

cw_err cw_store_hb_pings(cw_store *s, const char *key, size_t limit, cw_hb_ping_rec **out,
                         size_t *n, cw_diag *d)
{
    const struct cw_store_hb_ops *ops;
    STORE_OPS(s, heartbeats, ops, d);
    if (!key_ok(key) || !out || !n)
        return cw_fail(d, CW_ERR_INVALID, "heartbeat pings: bad arguments");
    *out = NULL;
    *n = 0;
    char k[CW_REF_MAX];
    snprintf(k, sizeof k, "%s", key);
    lower(k);
    return ops->pings(s, k, limit ? limit : CW_HB_PINGS_KEPT, out, n, d);
}

void cw_hb_pings_free(cw_hb_ping_rec *p, size_t n)
{
    for (size_t i = 0; p && i < n; i++)
        free(p[i].body);
    free(p);
}

cw_err cw_store_hb_flips(cw_store *s, const char *key, size_t limit, cw_hb_flip_rec **out,
                         size_t *n, cw_diag *d)
{
    const struct cw_store_hb_ops *ops;
    STORE_OPS(s, heartbeats, ops, d);
    if ((key && !key_ok(key)) || !out || !n)
        return cw_fail(d, CW_ERR_INVALID, "heartbeat flips: bad arguments");
    *out = NULL;
    *n = 0;
    char k[CW_REF_MAX];
    if (key) {
        snprintf(k, sizeof k, "%s", key);
        lower(k);
    }
    return ops->flips(s, key ? k : NULL, limit ? limit : 100, out, n, d);
}

cw_err cw_store_hb_set_key(cw_store *s, const char *key, const char *hash, cw_diag *d)
{
    const struct cw_store_hb_ops *ops;
    STORE_OPS(s, heartbeats, ops, d);
    if (!key_ok(key) || !cw__is_sha256_hex(hash))
        return cw_fail(d, CW_ERR_INVALID, "heartbeat key: bad arguments");
    char k[CW_REF_MAX];
    snprintf(k, sizeof k, "%s", key);
    lower(k);
    return ops->set_key(s, k, hash, d);
}

cw_err cw_store_hb_set_team_key(cw_store *s, const char *team_key, const char *hash,
                                int64_t now_ms, cw_diag *d)
{
    const struct cw_store_hb_ops *ops;
    STORE_OPS(s, heartbeats, ops, d);
    if (!key_ok(team_key) || !cw__is_sha256_hex(hash))
        return cw_fail(d, CW_ERR_INVALID, "team ping key: bad arguments");
    char k[CW_REF_MAX];
    snprintf(k, sizeof k, "%s", team_key);
    lower(k);
    return ops->set_team_key(s, k, hash, now_ms, d);
}

cw_err cw_store_hb_ping(cw_store *s, const cw_hb_ping_in *in, size_t n, cw_hb_ping_out *out,
                        cw_diag *d)
{
    const struct cw_store_hb_ops *ops;
    STORE_OPS(s, heartbeats, ops, d);
    if (!n)
        return CW_OK;
    if (!in || !out)
        return cw_fail(d, CW_ERR_INVALID, "pings: no input or output");
    for (size_t i = 0; i < n; i++) {
        const cw_hb_ping_in *p = &in[i];
        bool by_key = p->key_hash && cw__is_sha256_hex(p->key_hash);
        bool by_slug = p->team_hash && cw__is_sha256_hex(p->team_hash) && p->slug &&
                       *p->slug && strlen(p->slug) <= CW_NAME_MAX;
        if (!by_key && !by_slug)
            return cw_fail(d, CW_ERR_INVALID, "pings[%zu]: no key", i);
        if ((unsigned)p->kind > CW_PING_LOG || p->body_len > CW_HB_BODY_MAX ||
            (p->body_len && !p->body) || !p->method || !p->remote || !p->ua ||
            (p->rid && strlen(p->rid) > CW_HB_RID_MAX))
            return cw_fail(d, CW_ERR_INVALID, "pings[%zu]: bad arguments", i);
    }
    memset(out, 0, n * sizeof *out);
    return ops->ping(s, in, n, out, d);
}

cw_err cw_store_hb_control(cw_store *s, const char *key, cw_hb_op op, int64_t now_ms,
                           cw_hb_row *out, cw_diag *d)
{
    const struct cw_store_hb_ops *ops;
    STORE_OPS(s, heartbeats, ops, d);
    if (!key_ok(key) || !out || (op != CW_HB_OP_PAUSE && op != CW_HB_OP_RESUME))
        return cw_fail(d, CW_ERR_INVALID, "heartbeat control: bad arguments");
    char k[CW_REF_MAX];
    snprintf(k, sizeof k, "%s", key);
    lower(k);
    return ops->control(s, k, op, now_ms, out, d);
}

cw_err cw_store_hb_evaluate_due(cw_store *s, int64_t now_ms, size_t max, size_t *nevaluated,
                                size_t *nflips, cw_diag *d)
{
    const struct cw_store_hb_ops *ops;
    STORE_OPS(s, heartbeats, ops, d);
    size_t a, b;
    return ops->evaluate_due(s, now_ms, max ? max : 500, nevaluated ? nevaluated : &a,
                             nflips ? nflips : &b, d);
}

cw_err cw_store_hb_next_due(cw_store *s, int64_t *due_ms, cw_diag *d)
{
    const struct cw_store_hb_ops *ops;
    STORE_OPS(s, heartbeats, ops, d);
    if (!due_ms)
        return cw_fail(d, CW_ERR_INVALID, "heartbeats: no output");
    *due_ms = 0;
    return ops->next_due(s, due_ms, d);
}

/* ---- notifications ------------------------------------------------------------ */

void cw_hb_deliveries_free(cw_hb_delivery *dl, size_t n)
{
    if (!dl)
        return;
    for (size_t i = 0; i < n; i++) {
        free(dl[i].url);
        free(dl[i].body);
    }
    free(dl);
}

cw_err cw_store_hb_flips_pending(cw_store *s, size_t limit, cw_hb_flip_rec **out, size_t *n,
                                 cw_diag *d)
{
    const struct cw_store_hb_ops *ops;
    STORE_OPS(s, heartbeats, ops, d);
    if (!out || !n)
        return cw_fail(d, CW_ERR_INVALID, "heartbeat flips: no output");
    *out = NULL;
    *n = 0;
    return ops->flips_pending(s, limit ? limit : 100, out, n, d);
}

cw_err cw_store_hb_notify_take(cw_store *s, int64_t flip_id, const char *key,
                               const cw_hb_delivery_new *dl, size_t n, int64_t now_ms,
                               bool *taken, cw_diag *d)
{
    const struct cw_store_hb_ops *ops;
    STORE_OPS(s, heartbeats, ops, d);
    if (!taken || !key || !key_ok(key) || (n && !dl))
        return cw_fail(d, CW_ERR_INVALID, "heartbeat notification: bad arguments");
    for (size_t i = 0; i < n; i++)
        if (!dl[i].url || !dl[i].body)
            return cw_fail(d, CW_ERR_INVALID, "heartbeat notification: no URL or body");
    *taken = false;
    return ops->notify_take(s, flip_id, key, dl, n, now_ms, taken, d);
}

cw_err cw_store_hb_notify_claim(cw_store *s, int64_t now_ms, int64_t lease_ms, size_t max,
                                cw_hb_delivery **out, size_t *n, cw_diag *d)
{
    const struct cw_store_hb_ops *ops;
    STORE_OPS(s, heartbeats, ops, d);
    if (!out || !n || !max || lease_ms <= 0)
        return cw_fail(d, CW_ERR_INVALID, "heartbeat notification: bad arguments");
    *out = NULL;
    *n = 0;
    return ops->notify_claim(s, now_ms, lease_ms, max, out, n, d);
}

cw_err cw_store_hb_notify_finish(cw_store *s, int64_t id, cw_hb_dl_state state,
                                 int64_t next_due_ms, int status, const char *error,
                                 int64_t now_ms, cw_diag *d)
{
    const struct cw_store_hb_ops *ops;
    STORE_OPS(s, heartbeats, ops, d);
    if (state != CW_HB_DL_PENDING && state != CW_HB_DL_DELIVERED && state != CW_HB_DL_DEAD)
        return cw_fail(d, CW_ERR_INVALID, "heartbeat notification: bad state");
    char e[200];
    snprintf(e, sizeof e, "%s", error ? error : "");
    return ops->notify_finish(s, id, state, next_due_ms, status, e, now_ms, d);
}

cw_err cw_store_hb_notify_list(cw_store *s, int state, size_t limit, cw_hb_delivery **out,
                               size_t *n, cw_diag *d)
{
    const struct cw_store_hb_ops *ops;
    STORE_OPS(s, heartbeats, ops, d);
    if (!out || !n || state < -1 || state > CW_HB_DL_DEAD)
        return cw_fail(d, CW_ERR_INVALID, "heartbeat notification: bad arguments");
    *out = NULL;
    *n = 0;
    return ops->notify_list(s, state, limit ? limit : 100, out, n, d);
}

cw_err cw_store_hb_flips_skip(cw_store *s, const int64_t *ids, size_t n, int64_t now_ms,
                              size_t *nskipped, cw_diag *d)
{
    const struct cw_store_hb_ops *ops;
    STORE_OPS(s, heartbeats, ops, d);
    size_t k = 0;
    if (nskipped)
        *nskipped = 0;
    if (!n)
        return CW_OK;
    if (!ids)
        return cw_fail(d, CW_ERR_INVALID, "heartbeat flips: no ids");
    cw_err err = ops->flips_skip(s, ids, n, now_ms, &k, d);
    if (!err && nskipped)
        *nskipped = k;
    return err;
}
