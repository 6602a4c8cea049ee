/*
 * postgres_heartbeats.c — heartbeats in PostgreSQL (store_heartbeats.h).
 * Several instances may share the database: a ping locks its heartbeat's
 * row (SELECT … FOR UPDATE), and the scheduler claims due rows with FOR
 * UPDATE SKIP LOCKED, so an instance never evaluates a row another one is
 * evaluating or pinging, and every flip is recorded once. Ping bodies go
 * to bytea through its hex text form. Arguments arrive checked
 * (store_heartbeats.c).
 */
#include "store/postgres_int.h"
#include "store/store_heartbeats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HB_COLS                                                                             \
    "id, key, ref, slug, owner_key, etag, owner, target, depends_on, purpose, sched_kind, " \
    "period_s, grace_s, cron, tz, status, last_ping_ms, last_success_ms, last_start_ms, "    \
    "last_start_rid, last_duration_ms, n_pings, alert_after_ms, "                           \
    "(ping_key_hash IS NOT NULL)::int, created_ms"

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static cw_err read_row(const PGresult *r, int i, cw_hb_row *o, int64_t *id_out, cw_diag *d)
{
    memset(o, 0, sizeof *o);
    if (id_out)
        *id_out = cw__pg_int(r, i, 0);
    copy_str(o->key, sizeof o->key, cw__pg_text(r, i, 1));
    copy_str(o->ref, sizeof o->ref, cw__pg_text(r, i, 2));
    copy_str(o->slug, sizeof o->slug, cw__pg_text(r, i, 3));
    copy_str(o->owner_key, sizeof o->owner_key, cw__pg_text(r, i, 4));
    copy_str(o->etag, sizeof o->etag, cw__pg_text(r, i, 5));
    copy_str(o->spec.owner, sizeof o->spec.owner, cw__pg_text(r, i, 6));
    copy_str(o->spec.target, sizeof o->spec.target, cw__pg_text(r, i, 7));
    copy_str(o->spec.depends_on, sizeof o->spec.depends_on, cw__pg_text(r, i, 8));
    o->spec.purpose = (cw_hb_purpose)cw__pg_int(r, i, 9);
    o->spec.sched.kind = (cw_hb_sched_kind)cw__pg_int(r, i, 10);
    o->spec.sched.period_s = cw__pg_int(r, i, 11);
    o->spec.sched.grace_s = cw__pg_int(r, i, 12);
    copy_str(o->spec.sched.cron, sizeof o->spec.sched.cron, cw__pg_text(r, i, 13));
    copy_str(o->spec.sched.tz, sizeof o->spec.sched.tz, cw__pg_text(r, i, 14));
    o->state.status = (cw_hb_status)cw__pg_int(r, i, 15);
    o->state.last_ping_ms = cw__pg_int(r, i, 16);
    o->state.last_success_ms = cw__pg_int(r, i, 17);
    o->state.last_start_ms = cw__pg_int(r, i, 18);
    copy_str(o->state.last_start_rid, sizeof o->state.last_start_rid, cw__pg_text(r, i, 19));
    o->state.last_duration_ms = cw__pg_int(r, i, 20);
    o->state.n_pings = cw__pg_int(r, i, 21);
    o->state.alert_after_ms = cw__pg_int(r, i, 22); /* NULL reads as 0 */
    o->has_ping_key = cw__pg_int(r, i, 23) != 0;
    o->created_ms = cw__pg_int(r, i, 24);
    return cw__hb_row_ready(o, d);
}

static cw_err save_state(cw__pg_conn *c, int64_t id, const cw_hb_state *s, cw_diag *d)
{
    char b[8][24];
    const char *p[] = {cw__pg_i64(b[0], s->status),
                       cw__pg_i64(b[1], s->last_ping_ms),
                       cw__pg_i64(b[2], s->last_success_ms),
                       cw__pg_i64(b[3], s->last_start_ms),
                       s->last_start_rid,
                       cw__pg_i64(b[4], s->last_duration_ms),
                       cw__pg_i64(b[5], s->n_pings),
                       s->alert_after_ms ? cw__pg_i64(b[6], s->alert_after_ms) : NULL,
                       cw__pg_i64(b[7], id)};
    return cw__pg_exec(c,
                       "UPDATE hb SET status = $1, last_ping_ms = $2, last_success_ms = $3, "
                       "last_start_ms = $4, last_start_rid = $5, last_duration_ms = $6, "
                       "n_pings = $7, alert_after_ms = $8 WHERE id = $9",
                       9, p, NULL, d);
}

static cw_err add_flip(cw__pg_conn *c, int64_t id, const cw_hb_flip *f, cw_diag *d)
{
    char b[4][24];
    const char *p[] = {cw__pg_i64(b[0], id), cw__pg_i64(b[1], f->at_ms), cw__pg_i64(b[2], f->from),
                       cw__pg_i64(b[3], f->to), f->reason};
    return cw__pg_exec(c,
                       "INSERT INTO hb_flips (hb_id, at_ms, from_status, to_status, reason) "
                       "VALUES ($1, $2, $3, $4, $5)",
                       5, p, NULL, d);
}

/* ---- catalog sync -------------------------------------------------------------- */

static cw_err hb_catalog_gen(cw_store *store, int64_t *gen, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    cw__pg_conn *c = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (err)
        return err;
    err = cw__pg_entity_gen(c, gen, d);
    cw__pg_release(s, c);
    return err;
}

typedef struct {
    char **t, **e, **g;
    size_t n, ng;
} changed_ctx;

static void changed_reset(changed_ctx *x)
{
    for (size_t i = 0; i < x->n; i++) {
        free(x->t[i]);
        free(x->e[i]);
    }
    for (size_t i = 0; i < x->ng; i++)
        free(x->g[i]);
    free(x->t);
    free(x->e);
    free(x->g);
    memset(x, 0, sizeof *x);
}

static char *dup(const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (p)
        memcpy(p, s, n + 1);
    return p;
}

static cw_err changed_tx(cw__pg_conn *c, void *ctx, cw_diag *d)
{
    changed_ctx *x = ctx;
    changed_reset(x);
    PGresult *r = NULL, *g = NULL;
    cw_err err = cw__pg_exec(c,
                             "SELECT e.body, e.etag FROM entities e LEFT JOIN hb h ON h.key = e.key "
                             "WHERE e.key >= 'heartbeat:' AND e.key < 'heartbeat;' "
                             "AND (h.id IS NULL OR h.etag <> e.etag)",
                             0, NULL, &r, d);
    if (!err)
        err = cw__pg_exec(c,
                          "SELECT h.key FROM hb h WHERE NOT EXISTS "
                          "(SELECT 1 FROM entities e WHERE e.key = h.key)",
                          0, NULL, &g, d);
    if (err)
        goto out;
    int n = PQntuples(r), ng = PQntuples(g);
    x->t = calloc((size_t)n + 1, sizeof *x->t);
    x->e = calloc((size_t)n + 1, sizeof *x->e);
    x->g = calloc((size_t)ng + 1, sizeof *x->g);
    if (!x->t || !x->e || !x->g) {
        err = cw_fail(d, CW_ERR_NOMEM, "heartbeats: out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++, x->n++) {
        x->t[i] = dup(cw__pg_text(r, i, 0));
        x->e[i] = dup(cw__pg_text(r, i, 1));
        if (!x->t[i] || !x->e[i]) {
            x->n++;
            err = cw_fail(d, CW_ERR_NOMEM, "heartbeats: out of memory");
            goto out;
        }
    }
    for (int i = 0; i < ng; i++, x->ng++)
        if (!(x->g[i] = dup(cw__pg_text(g, i, 0)))) {
            err = cw_fail(d, CW_ERR_NOMEM, "heartbeats: out of memory");
            goto out;
        }
out:
    PQclear(r);
    PQclear(g);
    return err;
}

static cw_err hb_changed(cw_store *store, char ***texts, char ***etags, size_t *ntexts,
                         char ***gone, size_t *ngone, cw_diag *d)
{
    changed_ctx x = {0};
    cw_err err = cw__pg_read(cw__pg(store), changed_tx, &x, d);
    if (err) {
        changed_reset(&x);
        return err;
    }
    *texts = x.t;
    *etags = x.e;
    *ntexts = x.n;
    *gone = x.g;
    *ngone = x.ng;
    return CW_OK;
}

typedef struct {
    const cw_hb_row *rows;
    size_t n;
    char *const *gone;
    size_t ngone;
    int64_t now_ms;
} apply_ctx;

static cw_err upsert(cw__pg_conn *c, const cw_hb_row *r, int64_t now_ms, cw_diag *d)
{
    const char *kp[] = {r->key};
    PGresult *res = NULL;
    cw_err err = cw__pg_exec(c, "SELECT " HB_COLS " FROM hb WHERE key = $1 FOR UPDATE", 1, kp,
                             &res, d);
    if (err)
        return err;
    cw_hb_state state;
    cw_hb_state_init(&state);
    int64_t id = 0;
    if (PQntuples(res) == 1) {
        cw_hb_row old;
        cw_diag od = {{0}};
        read_row(res, 0, &old, &id, &od);
        state = old.state;
    }
    PQclear(res);
    cw_hb_reschedule(&r->spec.sched, &state);
    char b[8][24];
    const char *p[] = {r->ref,
                       r->slug,
                       r->owner_key,
                       r->etag,
                       r->spec.owner,
                       r->spec.target,
                       r->spec.depends_on,
                       cw__pg_i64(b[0], r->spec.purpose),
                       cw__pg_i64(b[1], r->spec.sched.kind),
                       cw__pg_i64(b[2], r->spec.sched.period_s),
                       cw__pg_i64(b[3], r->spec.sched.grace_s),
                       r->spec.sched.cron,
                       r->spec.sched.tz,
                       state.alert_after_ms ? cw__pg_i64(b[4], state.alert_after_ms) : NULL,
                       r->key,
                       cw__pg_i64(b[5], now_ms)};
    /* a new row races with another instance's sync: the unique key
     * decides and the loser updates instead */
    return cw__pg_exec(c,
                       "INSERT INTO hb (ref, slug, owner_key, etag, owner, target, depends_on, "
                       "purpose, sched_kind, period_s, grace_s, cron, tz, alert_after_ms, key, "
                       "created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
                       "$13, $14, $15, $16) ON CONFLICT (key) DO UPDATE SET ref = $1, slug = $2, "
                       "owner_key = $3, etag = $4, owner = $5, target = $6, depends_on = $7, "
                       "purpose = $8, sched_kind = $9, period_s = $10, grace_s = $11, cron = $12, "
                       "tz = $13, alert_after_ms = $14",
                       16, p, NULL, d);
}

static cw_err apply_tx(cw__pg_conn *c, void *ctx, cw_diag *d)
{
    apply_ctx *x = ctx;
    cw_err err = CW_OK;
    for (size_t i = 0; i < x->n && !err; i++)
        err = upsert(c, &x->rows[i], x->now_ms, d);
    static const char *const del[] = {
        "DELETE FROM hb_pings WHERE hb_id = (SELECT id FROM hb WHERE key = $1)",
        "DELETE FROM hb_flips WHERE hb_id = (SELECT id FROM hb WHERE key = $1)",
        "DELETE FROM hb WHERE key = $1",
    };
    for (size_t i = 0; i < x->ngone && !err; i++)
        for (size_t k = 0; k < 3 && !err; k++) {
            const char *p[] = {x->gone[i]};
            err = cw__pg_exec(c, del[k], 1, p, NULL, d);
        }
    return err;
}

static cw_err hb_apply(cw_store *store, const cw_hb_row *rows, size_t n, char *const *gone,
                       size_t ngone, int64_t now_ms, cw_diag *d)
{
    apply_ctx x = {rows, n, gone, ngone, now_ms};
    return cw__pg_write(cw__pg(store), apply_tx, &x, d);
}

/* ---- reading ---------------------------------------------------------------- */

static cw_err hb_get(cw_store *store, const char *key, cw_hb_row *out, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    if (!cw__pg_utf8(key))
        return cw_fail(d, CW_ERR_NOT_FOUND, "heartbeat: not found");
    cw__pg_conn *c = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (err)
        return err;
    const char *p[] = {key};
    PGresult *r = NULL;
    err = cw__pg_exec(c, "SELECT " HB_COLS " FROM hb WHERE key = $1", 1, p, &r, d);
    if (!err && PQntuples(r) == 1)
        err = read_row(r, 0, out, NULL, d);
    else if (!err)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "heartbeat %s: not found", key);
    PQclear(r);
    cw__pg_release(s, c);
    return err;
}

static cw_err hb_list(cw_store *store, cw_hb_row **out, size_t *n, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    cw__pg_conn *c = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (err)
        return err;
    PGresult *r = NULL;
    cw_hb_row *arr = NULL;
    err = cw__pg_exec(c, "SELECT " HB_COLS " FROM hb ORDER BY key", 0, NULL, &r, d);
    if (!err) {
        int rows = PQntuples(r);
        arr = calloc((size_t)rows + 1, sizeof *arr);
        if (!arr)
            err = cw_fail(d, CW_ERR_NOMEM, "heartbeats: out of memory");
        for (int i = 0; !err && i < rows; i++) {
            cw_diag rd = {{0}};
            read_row(r, i, &arr[i], NULL, &rd);
        }
        if (!err)
            *n = (size_t)rows;
    }
    PQclear(r);
    cw__pg_release(s, c);
    if (err) {
        free(arr);
        return err;
    }
    *out = arr;
    return CW_OK;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static cw_err hb_pings(cw_store *store, const char *key, size_t limit, cw_hb_ping_rec **out,
                       size_t *n, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    if (!cw__pg_utf8(key))
        return CW_OK;
    cw__pg_conn *c = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (err)
        return err;
    char lb[24];
    const char *p[] = {key, cw__pg_i64(lb, (int64_t)limit)};
    PGresult *r = NULL;
    cw_hb_ping_rec *arr = NULL;
    size_t len = 0;
    err = cw__pg_exec(c,
                      "SELECT p.n, p.at_ms, p.kind, p.exit_status, p.rid, p.method, p.remote, "
                      "p.ua, p.duration_ms, p.body_size, p.body FROM hb_pings p JOIN hb h ON "
                      "h.id = p.hb_id WHERE h.key = $1 ORDER BY p.n DESC LIMIT $2",
                      2, p, &r, d);
    if (err)
        goto out;
    int rows = PQntuples(r);
    arr = calloc((size_t)rows + 1, sizeof *arr);
    if (!arr) {
        err = cw_fail(d, CW_ERR_NOMEM, "pings: out of memory");
        goto out;
    }
    for (int i = 0; i < rows; i++) {
        cw_hb_ping_rec *q = &arr[len++];
        q->n = cw__pg_int(r, i, 0);
        q->at_ms = cw__pg_int(r, i, 1);
        q->kind = (cw_ping_kind)cw__pg_int(r, i, 2);
        q->exit_status = cw__pg_isnull(r, i, 3) ? -1 : (int)cw__pg_int(r, i, 3);
        copy_str(q->rid, sizeof q->rid, cw__pg_text(r, i, 4));
        copy_str(q->method, sizeof q->method, cw__pg_text(r, i, 5));
        copy_str(q->remote, sizeof q->remote, cw__pg_text(r, i, 6));
        copy_str(q->ua, sizeof q->ua, cw__pg_text(r, i, 7));
        q->duration_ms = cw__pg_isnull(r, i, 8) ? -1 : cw__pg_int(r, i, 8);
        q->body_size = (size_t)cw__pg_int(r, i, 9);
        const char *hex = cw__pg_text(r, i, 10); /* "\x4142…" */
        size_t hl = strlen(hex);
        if (hl > 2 && hex[0] == '\\' && hex[1] == 'x') {
            size_t bl = (hl - 2) / 2;
            q->body = malloc(bl + 1);
            if (!q->body) {
                err = cw_fail(d, CW_ERR_NOMEM, "pings: out of memory");
                goto out;
            }
            for (size_t k = 0; k < bl; k++)
                q->body[k] = (unsigned char)(hexval(hex[2 + 2 * k]) << 4 | hexval(hex[3 + 2 * k]));
            q->body[bl] = 0;
            q->body_len = bl;
        }
    }
out:
    PQclear(r);
    cw__pg_release(s, c);
    if (err) {
        cw_hb_pings_free(arr, len);
        return err;
    }
    *out = arr;
    *n = len;
    return CW_OK;
}

static cw_err hb_flips(cw_store *store, const char *key, size_t limit, cw_hb_flip_rec **out,
                       size_t *n, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    if (key && !cw__pg_utf8(key))
        return CW_OK;
    cw__pg_conn *c = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (err)
        return err;
    char lb[24];
    const char *p[] = {key, cw__pg_i64(lb, (int64_t)limit)};
    PGresult *r = NULL;
    cw_hb_flip_rec *arr = NULL;
    err = cw__pg_exec(c,
                      "SELECT f.id, h.key, f.at_ms, f.from_status, f.to_status, f.reason, "
                      "f.processed_ms FROM hb_flips f JOIN hb h ON h.id = f.hb_id "
                      "WHERE $1::text IS NULL OR h.key = $1 ORDER BY f.id DESC LIMIT $2",
                      2, p, &r, d);
    if (!err) {
        int rows = PQntuples(r);
        arr = calloc((size_t)rows + 1, sizeof *arr);
        if (!arr)
            err = cw_fail(d, CW_ERR_NOMEM, "flips: out of memory");
        for (int i = 0; !err && i < rows; i++) {
            cw_hb_flip_rec *f = &arr[i];
            f->id = cw__pg_int(r, i, 0);
            copy_str(f->key, sizeof f->key, cw__pg_text(r, i, 1));
            f->at_ms = cw__pg_int(r, i, 2);
            f->from = (cw_hb_status)cw__pg_int(r, i, 3);
            f->to = (cw_hb_status)cw__pg_int(r, i, 4);
            copy_str(f->reason, sizeof f->reason, cw__pg_text(r, i, 5));
            f->processed_ms = cw__pg_int(r, i, 6);
        }
        if (!err)
            *n = (size_t)rows;
    }
    PQclear(r);
    cw__pg_release(s, c);
    if (err) {
        free(arr);
        return err;
    }
    *out = arr;
    return CW_OK;
}

/* ---- writing ---------------------------------------------------------------- */

static cw_err hb_set_key(cw_store *store, const char *key, const char *hash, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    if (!cw__pg_utf8(key))
        return cw_fail(d, CW_ERR_NOT_FOUND, "heartbeat: not found");
    cw__pg_conn *c = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (err)
        return err;
    const char *p[] = {key, hash};
    PGresult *r = NULL;
    err = cw__pg_exec(c, "UPDATE hb SET ping_key_hash = $2 WHERE key = $1", 2, p, &r, d);
    if (!err && strcmp(PQcmdTuples(r), "1"))
        err = cw_fail(d, CW_ERR_NOT_FOUND, "heartbeat: not found");
    PQclear(r);
    cw__pg_release(s, c);
    return err;
}

static cw_err hb_set_team_key(cw_store *store, const char *team_key, const char *hash,
                              int64_t now_ms, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    if (!cw__pg_utf8(team_key))
        return cw_fail(d, CW_ERR_INVALID, "team: not valid UTF-8");
    cw__pg_conn *c = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (err)
        return err;
    char b[24];
    const char *p[] = {team_key, hash, cw__pg_i64(b, now_ms)};
    err = cw__pg_exec(c,
                      "INSERT INTO hb_team_keys (team, key_hash, created_ms) VALUES ($1, $2, $3) "
                      "ON CONFLICT (team) DO UPDATE SET key_hash = $2, created_ms = $3",
                      3, p, NULL, d);
    cw__pg_release(s, c);
    return err;
}

typedef struct {
    const cw_hb_ping_in *in;
    size_t n;
    cw_hb_ping_out *out;
    cw_buf hex;
} ping_ctx;

static cw_err find_for_ping(cw__pg_conn *c, const cw_hb_ping_in *p, cw_hb_row *row, int64_t *id,
                            cw_diag *d)
{
    PGresult *r = NULL;
    cw_err err;
    if (p->key_hash) {
        const char *q[] = {p->key_hash};
        err = cw__pg_exec(c, "SELECT " HB_COLS " FROM hb WHERE ping_key_hash = $1 FOR UPDATE", 1,
                          q, &r, d);
    } else {
        if (!cw__pg_utf8(p->slug))
            return cw_fail(d, CW_ERR_NOT_FOUND, "not found");
        const char *q[] = {p->slug, p->team_hash};
        err = cw__pg_exec(c,
                          "SELECT " HB_COLS " FROM hb WHERE slug = $1 AND owner_key = "
                          "(SELECT team FROM hb_team_keys WHERE key_hash = $2) LIMIT 2 FOR UPDATE",
                          2, q, &r, d);
    }
    if (err)
        return err;
    int rows = PQntuples(r);
    if (rows == 0)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "not found");
    else if (rows > 1)
        err = cw_fail(d, CW_ERR_CONFLICT, "ambiguous slug");
    else
        err = read_row(r, 0, row, id, d);
    PQclear(r);
    return err;
}

static cw_err log_ping(cw__pg_conn *c, ping_ctx *x, int64_t id, const cw_hb_ping_in *p,
                       const cw_hb_state *st, int64_t duration_ms, cw_diag *d)
{
    static const char digits[] = "0123456789abcdef";
    cw_buf_reset(&x->hex);
    cw_err err = CW_OK;
    if (p->body_len) {
        if (cw_buf_append(&x->hex, "\\x", 2))
            err = CW_ERR_NOMEM;
        const unsigned char *b = p->body;
        for (size_t i = 0; !err && i < p->body_len; i++) {
            char two[2] = {digits[b[i] >> 4], digits[b[i] & 15]};
            if (cw_buf_append(&x->hex, two, 2))
                err = CW_ERR_NOMEM;
        }
        if (err)
            return cw_fail(d, CW_ERR_NOMEM, "ping: out of memory");
    }
    char b[8][24];
    const char *q[] = {cw__pg_i64(b[0], id),
                       cw__pg_i64(b[1], st->n_pings),
                       cw__pg_i64(b[2], p->now_ms),
                       cw__pg_i64(b[3], p->kind),
                       p->exit_status >= 0 ? cw__pg_i64(b[4], p->exit_status) : NULL,
                       p->rid && *p->rid ? p->rid : NULL,
                       p->method,
                       p->remote,
                       p->ua,
                       duration_ms >= 0 ? cw__pg_i64(b[5], duration_ms) : NULL,
                       cw__pg_i64(b[6], (int64_t)p->body_size),
                       p->body_len ? cw_buf_cstr(&x->hex) : NULL};
    err = cw__pg_exec(c,
                      "INSERT INTO hb_pings (hb_id, n, at_ms, kind, exit_status, rid, method, "
                      "remote, ua, duration_ms, body_size, body) VALUES ($1, $2, $3, $4, $5, $6, "
                      "$7, $8, $9, $10, $11, $12::bytea)",
                      12, q, NULL, d);
    if (!err && st->n_pings > CW_HB_PINGS_KEPT) {
        const char *dq[] = {b[0], cw__pg_i64(b[7], st->n_pings - CW_HB_PINGS_KEPT)};
        err = cw__pg_exec(c, "DELETE FROM hb_pings WHERE hb_id = $1 AND n <= $2", 2, dq, NULL, d);
    }
    return err;
}

static cw_err ping_tx(cw__pg_conn *c, void *ctx, cw_diag *d)
{
    ping_ctx *x = ctx;
    memset(x->out, 0, x->n * sizeof *x->out);
    cw_err err = CW_OK;
    for (size_t i = 0; i < x->n && !err; i++) {
        const cw_hb_ping_in *p = &x->in[i];
        if (!cw__pg_utf8(p->method) || !cw__pg_utf8(p->remote) || !cw__pg_utf8(p->ua) ||
            (p->rid && !cw__pg_utf8(p->rid))) {
            x->out[i].err = CW_ERR_INVALID;
            continue;
        }
        cw_hb_row row;
        int64_t id = 0;
        cw_diag pd = {{0}};
        cw_err perr = find_for_ping(c, p, &row, &id, &pd);
        if (perr == CW_ERR_NOT_FOUND || perr == CW_ERR_CONFLICT) {
            x->out[i].err = perr;
            continue;
        }
        if (perr) {
            *d = pd;
            return perr;
        }
        cw_hb_apply_ping(&row.spec.sched, &row.state, p->kind, p->rid, p->now_ms, &x->out[i].flip);
        int64_t duration = (p->kind == CW_PING_SUCCESS || p->kind == CW_PING_FAIL)
                               ? row.state.last_duration_ms
                               : -1;
        err = save_state(c, id, &row.state, d);
        if (!err)
            err = log_ping(c, x, id, p, &row.state, duration, d);
        if (!err && x->out[i].flip.flipped)
            err = add_flip(c, id, &x->out[i].flip, d);
        copy_str(x->out[i].key, sizeof x->out[i].key, row.key);
        x->out[i].alert_after_ms = row.state.alert_after_ms;
    }
    return err;
}

static cw_err hb_ping(cw_store *store, const cw_hb_ping_in *in, size_t n, cw_hb_ping_out *out,
                      cw_diag *d)
{
    ping_ctx x = {in, n, out, {0}};
    cw_buf_init(&x.hex, 0);
    cw_err err = cw__pg_write(cw__pg(store), ping_tx, &x, d);
    cw_buf_free(&x.hex);
    return err;
}

typedef struct {
    const char *key;
    cw_hb_op op;
    int64_t now_ms;
    cw_hb_row *out;
} control_ctx;

static cw_err control_tx(cw__pg_conn *c, void *ctx, cw_diag *d)
{
    control_ctx *x = ctx;
    const char *p[] = {x->key};
    PGresult *r = NULL;
    cw_err err = cw__pg_exec(c, "SELECT " HB_COLS " FROM hb WHERE key = $1 FOR UPDATE", 1, p, &r,
                             d);
    if (err)
        return err;
    int64_t id = 0;
    if (PQntuples(r) != 1)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "heartbeat %s: not found", x->key);
    else
        err = read_row(r, 0, x->out, &id, d);
    PQclear(r);
    cw_hb_flip f = {0};
    if (!err) {
        if (x->op == CW_HB_OP_PAUSE)
            cw_hb_pause(&x->out->state, x->now_ms, &f);
        else
            err = cw_hb_resume(&x->out->state, x->now_ms, &f, d);
    }
    if (!err)
        err = save_state(c, id, &x->out->state, d);
    if (!err && f.flipped)
        err = add_flip(c, id, &f, d);
    return err;
}

static cw_err hb_control(cw_store *store, const char *key, cw_hb_op op, int64_t now_ms,
                         cw_hb_row *out, cw_diag *d)
{
    if (!cw__pg_utf8(key))
        return cw_fail(d, CW_ERR_NOT_FOUND, "heartbeat: not found");
    control_ctx x = {key, op, now_ms, out};
    return cw__pg_write(cw__pg(store), control_tx, &x, d);
}

typedef struct {
    int64_t now_ms;
    size_t max;
    size_t nevaluated, nflips;
} due_ctx;

static cw_err due_tx(cw__pg_conn *c, void *ctx, cw_diag *d)
{
    due_ctx *x = ctx;
    x->nevaluated = x->nflips = 0;
    char b[2][24];
    const char *p[] = {cw__pg_i64(b[0], x->now_ms), cw__pg_i64(b[1], (int64_t)x->max)};
    PGresult *r = NULL;
    /* rows another instance is evaluating or pinging are skipped, not waited for */
    cw_err err = cw__pg_exec(c,
                             "SELECT " HB_COLS " FROM hb WHERE alert_after_ms IS NOT NULL "
                             "AND status <> 2 AND alert_after_ms <= $1 ORDER BY alert_after_ms "
                             "LIMIT $2 FOR UPDATE SKIP LOCKED",
                             2, p, &r, d);
    if (err)
        return err;
    int rows = PQntuples(r);
    for (int i = 0; i < rows && !err; i++) {
        cw_hb_row row;
        int64_t id;
        cw_diag rd = {{0}};
        if (read_row(r, i, &row, &id, &rd) != CW_OK)
            continue;
        cw_hb_flip f;
        cw_hb_evaluate(&row.spec.sched, &row.state, x->now_ms, &f);
        err = save_state(c, id, &row.state, d);
        if (!err && f.flipped) {
            err = add_flip(c, id, &f, d);
            x->nflips++;
        }
        x->nevaluated++;
    }
    PQclear(r);
    return err;
}

static cw_err hb_evaluate_due(cw_store *store, int64_t now_ms, size_t max, size_t *nevaluated,
                              size_t *nflips, cw_diag *d)
{
    due_ctx x = {now_ms, max, 0, 0};
    cw_err err = cw__pg_write(cw__pg(store), due_tx, &x, d);
    *nevaluated = err ? 0 : x.nevaluated;
    *nflips = err ? 0 : x.nflips;
    return err;
}

static cw_err hb_next_due(cw_store *store, int64_t *due_ms, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    cw__pg_conn *c = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (err)
        return err;
    PGresult *r = NULL;
    err = cw__pg_exec(c,
                      "SELECT min(alert_after_ms) FROM hb WHERE alert_after_ms IS NOT NULL "
                      "AND status <> 2",
                      0, NULL, &r, d);
    if (!err && PQntuples(r) == 1)
        *due_ms = cw__pg_int(r, 0, 0);
    PQclear(r);
    cw__pg_release(s, c);
    return err;
}

/* ---- notifications ---------------------------------------------------------- */

#define DL_COLS                                                                       \
    "id, flip_id, hb_key, url, body, state, attempts, due_ms, created_ms, done_ms, " \
    "last_status, last_error"

/* The rows of r into a new array. */
static cw_err read_dls(PGresult *r, cw_hb_delivery **out, size_t *n, cw_diag *d)
{
    int rows = PQntuples(r);
    cw_hb_delivery *arr = calloc((size_t)rows + 1, sizeof *arr);
    if (!arr)
        return cw_fail(d, CW_ERR_NOMEM, "deliveries: out of memory");
    size_t len = 0;
    cw_err err = CW_OK;
    for (int i = 0; i < rows && !err; i++) {
        cw_hb_delivery *x = &arr[len++];
        x->id = cw__pg_int(r, i, 0);
        x->flip_id = cw__pg_int(r, i, 1);
        copy_str(x->key, sizeof x->key, cw__pg_text(r, i, 2));
        x->url = dup(cw__pg_text(r, i, 3));
        x->body = dup(cw__pg_text(r, i, 4));
        x->state = (cw_hb_dl_state)cw__pg_int(r, i, 5);
        x->attempts = (int)cw__pg_int(r, i, 6);
        x->due_ms = cw__pg_int(r, i, 7);
        x->created_ms = cw__pg_int(r, i, 8);
        x->done_ms = cw__pg_int(r, i, 9);
        x->last_status = (int)cw__pg_int(r, i, 10);
        copy_str(x->last_error, sizeof x->last_error, cw__pg_text(r, i, 11));
        if (!x->url || !x->body)
            err = cw_fail(d, CW_ERR_NOMEM, "deliveries: out of memory");
    }
    if (err) {
        cw_hb_deliveries_free(arr, len);
        return err;
    }
    *out = arr;
    *n = len;
    return CW_OK;
}

static cw_err hb_flips_pending(cw_store *store, size_t limit, cw_hb_flip_rec **out, size_t *n,
                               cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    cw__pg_conn *c = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (err)
        return err;
    char lb[24];
    const char *p[] = {cw__pg_i64(lb, (int64_t)limit)};
    PGresult *r = NULL;
    cw_hb_flip_rec *arr = NULL;
    err = cw__pg_exec(c,
                      "SELECT f.id, h.key, f.at_ms, f.from_status, f.to_status, f.reason "
                      "FROM hb_flips f JOIN hb h ON h.id = f.hb_id "
                      "WHERE f.processed_ms IS NULL ORDER BY f.id LIMIT $1",
                      1, p, &r, d);
    if (!err) {
        int rows = PQntuples(r);
        arr = calloc((size_t)rows + 1, sizeof *arr);
        if (!arr)
            err = cw_fail(d, CW_ERR_NOMEM, "flips: out of memory");
        for (int i = 0; !err && i < rows; i++) {
            cw_hb_flip_rec *f = &arr[i];
            f->id = cw__pg_int(r, i, 0);
            copy_str(f->key, sizeof f->key, cw__pg_text(r, i, 1));
            f->at_ms = cw__pg_int(r, i, 2);
            f->from = (cw_hb_status)cw__pg_int(r, i, 3);
            f->to = (cw_hb_status)cw__pg_int(r, i, 4);
            copy_str(f->reason, sizeof f->reason, cw__pg_text(r, i, 5));
        }
        if (!err)
            *n = (size_t)rows;
    }
    PQclear(r);
    cw__pg_release(s, c);
    if (err) {
        free(arr);
        return err;
    }
    *out = arr;
    return CW_OK;
}

typedef struct {
    int64_t flip_id;
    const char *key;
    const cw_hb_delivery_new *dl;
    size_t n;
    int64_t now_ms;
    bool taken;
} take_ctx;

static cw_err take_tx(cw__pg_conn *c, void *ctx, cw_diag *d)
{
    take_ctx *x = ctx;
    x->taken = false;
    char b[2][24];
    const char *p[] = {cw__pg_i64(b[0], x->now_ms), cw__pg_i64(b[1], x->flip_id)};
    PGresult *r = NULL;
    /* the row lock makes a second instance wait, then see processed_ms set */
    cw_err err = cw__pg_exec(c, "UPDATE hb_flips SET processed_ms = $1 WHERE id = $2 AND "
                                "processed_ms IS NULL", 2, p, &r, d);
    if (!err)
        x->taken = !strcmp(PQcmdTuples(r), "1");
    PQclear(r);
    for (size_t i = 0; !err && x->taken && i < x->n; i++) {
        if (!cw__pg_utf8(x->dl[i].url) || !cw__pg_utf8(x->dl[i].body))
            return cw_fail(d, CW_ERR_INVALID, "delivery: not valid UTF-8");
        const char *q[] = {b[1], x->key, x->dl[i].url, x->dl[i].body, b[0]};
        err = cw__pg_exec(c,
                          "INSERT INTO hb_deliveries (flip_id, hb_key, url, body, due_ms, "
                          "created_ms) VALUES ($1, $2, $3, $4, $5, $5)",
                          5, q, NULL, d);
    }
    return err;
}

static cw_err hb_notify_take(cw_store *store, int64_t flip_id, const char *key,
                             const cw_hb_delivery_new *dl, size_t n, int64_t now_ms, bool *taken,
                             cw_diag *d)
{
    if (!cw__pg_utf8(key))
        return cw_fail(d, CW_ERR_INVALID, "heartbeat: not valid UTF-8");
    take_ctx x = {flip_id, key, dl, n, now_ms, false};
    cw_err err = cw__pg_write(cw__pg(store), take_tx, &x, d);
    *taken = !err && x.taken;
    return err;
}

typedef struct {
    int64_t now_ms, lease_ms;
    size_t max;
    cw_hb_delivery *out;
    size_t n;
} claim_ctx;

static cw_err claim_tx(cw__pg_conn *c, void *ctx, cw_diag *d)
{
    claim_ctx *x = ctx;
    cw_hb_deliveries_free(x->out, x->n); /* a retried transaction starts again */
    x->out = NULL;
    x->n = 0;
    char b[3][24];
    const char *p[] = {cw__pg_i64(b[0], x->now_ms), cw__pg_i64(b[1], x->lease_ms),
                       cw__pg_i64(b[2], (int64_t)x->max)};
    PGresult *r = NULL;
    /* rows another instance is claiming are skipped, not waited for */
    cw_err err = cw__pg_exec(c,
                             "UPDATE hb_deliveries SET lease_ms = $1::bigint + $2::bigint, "
                             "attempts = attempts + 1 "
                             "WHERE id IN (SELECT id FROM hb_deliveries WHERE state = 0 AND "
                             "due_ms <= $1 AND lease_ms <= $1 ORDER BY due_ms, id LIMIT $3 "
                             "FOR UPDATE SKIP LOCKED) RETURNING " DL_COLS,
                             3, p, &r, d);
    if (!err)
        err = read_dls(r, &x->out, &x->n, d);
    PQclear(r);
    return err;
}

static cw_err hb_notify_claim(cw_store *store, int64_t now_ms, int64_t lease_ms, size_t max,
                              cw_hb_delivery **out, size_t *n, cw_diag *d)
{
    claim_ctx x = {now_ms, lease_ms, max, NULL, 0};
    cw_err err = cw__pg_write(cw__pg(store), claim_tx, &x, d);
    if (err) {
        cw_hb_deliveries_free(x.out, x.n);
        return err;
    }
    *out = x.out;
    *n = x.n;
    return CW_OK;
}

static cw_err hb_notify_finish(cw_store *store, int64_t id, cw_hb_dl_state state,
                               int64_t next_due_ms, int status, const char *error,
                               int64_t now_ms, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    cw__pg_conn *c = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (err)
        return err;
    char b[5][24];
    const char *p[] = {cw__pg_i64(b[0], id), cw__pg_i64(b[1], (int64_t)state),
                       cw__pg_i64(b[2], next_due_ms), cw__pg_i64(b[3], status),
                       cw__pg_utf8(error) ? error : "(not UTF-8)", cw__pg_i64(b[4], now_ms)};
    PGresult *r = NULL;
    err = cw__pg_exec(c,
                      "UPDATE hb_deliveries SET state = $2::int, due_ms = CASE WHEN $2::int = 0 "
                      "THEN $3::bigint ELSE due_ms END, lease_ms = 0, last_status = $4::int, "
                      "last_error = $5, done_ms = CASE WHEN $2::int = 0 THEN 0::bigint "
                      "ELSE $6::bigint END WHERE id = $1::bigint",
                      6, p, &r, d);
    if (!err && strcmp(PQcmdTuples(r), "1"))
        err = cw_fail(d, CW_ERR_NOT_FOUND, "delivery %lld: not found", (long long)id);
    PQclear(r);
    cw__pg_release(s, c);
    return err;
}

static cw_err hb_notify_list(cw_store *store, int state, size_t limit, cw_hb_delivery **out,
                             size_t *n, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    cw__pg_conn *c = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (err)
        return err;
    char b[2][24];
    const char *p[] = {cw__pg_i64(b[0], state), cw__pg_i64(b[1], (int64_t)limit)};
    PGresult *r = NULL;
    err = cw__pg_exec(c,
                      "SELECT " DL_COLS " FROM hb_deliveries WHERE $1::int < 0 OR "
                      "state = $1::int ORDER BY id DESC LIMIT $2",
                      2, p, &r, d);
    if (!err)
        err = read_dls(r, out, n, d);
    PQclear(r);
    cw__pg_release(s, c);
    return err;
}

const struct cw_store_hb_ops cw__pg_hb_ops = {
    .catalog_gen = hb_catalog_gen,
    .changed = hb_changed,
    .apply = hb_apply,
    .get = hb_get,
    .list = hb_list,
    .pings = hb_pings,
    .flips = hb_flips,
    .set_key = hb_set_key,
    .set_team_key = hb_set_team_key,
    .ping = hb_ping,
    .control = hb_control,
    .evaluate_due = hb_evaluate_due,
    .next_due = hb_next_due,
    .flips_pending = hb_flips_pending,
    .notify_take = hb_notify_take,
    .notify_claim = hb_notify_claim,
    .notify_finish = hb_notify_finish,
    .notify_list = hb_notify_list,
    .flips_skip = cw__pg_hb_flips_skip,
};
