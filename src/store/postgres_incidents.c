/*
 * postgres_incidents.c — incidents in PostgreSQL (store_incidents.h): the
 * same statements as SQLite (store_incidents.c, "?N" turned into "$N"),
 * run through the pool's transactions. The intake hook runs inside the
 * events' transaction; the one-time derivation from older events locks
 * its flag row so that instances starting together derive once; a
 * transition locks its incident's row.
 */
#include "store/postgres_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "store/incidents_impl.h"
#include "util/timeutil.h"

#define MAX_PARAMS 16

/* ---- statements ---------------------------------------------------------------------- */

/* Runs the shared SQL with cw__sql_param values; *out as cw__pg_exec. */
static cw_err exec(cw__pg_conn *c, const char *sql, const cw__sql_param *prm, int n, PGresult **out,
                   cw_diag *d)
{
    char ints[MAX_PARAMS][24];
    const char *p[MAX_PARAMS];
    if (n > MAX_PARAMS)
        return cw_fail(d, CW_ERR_INTERNAL, "incidents: too many parameters");
    for (int i = 0; i < n; i++)
        p[i] = cw__param_is_null(&prm[i]) ? NULL
               : prm[i].text              ? prm[i].text
                                          : cw__pg_i64(ints[i], prm[i].i);
    cw_buf pg;
    cw_buf_init(&pg, 0);
    if (cw__incident_sql_pg(sql, &pg)) {
        cw_buf_free(&pg);
        return cw_fail(d, CW_ERR_NOMEM, "incidents: out of memory");
    }
    cw_err err = cw__pg_exec(c, cw_buf_cstr(&pg), n, p, out, d);
    cw_buf_free(&pg);
    return err;
}

/* The first column of the first row into *id (0 without a row). */
static cw_err exec_id(cw__pg_conn *c, const char *sql, const cw__sql_param *prm, int n,
                      int64_t *id, cw_diag *d)
{
    PGresult *r = NULL;
    cw_err err = exec(c, sql, prm, n, &r, d);
    *id = !err && PQntuples(r) > 0 ? cw__pg_int(r, 0, 0) : 0;
    PQclear(r);
    return err;
}

static cw__text val(const PGresult *r, int row, int col)
{
    if (cw__pg_isnull(r, row, col))
        return (cw__text){NULL, 0};
    return (cw__text){PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col)};
}

static int64_t int_val(const PGresult *r, int row, int col)
{
    return cw__pg_isnull(r, row, col) ? 0 : cw__pg_int(r, row, col);
}

static cw_err incident_row(const PGresult *r, int i, cw_incident *out, cw_diag *d)
{
    cw__incident_cols c = {
        .id = cw__pg_int(r, i, 0),
        .source = val(r, i, 1),
        .subject_id = val(r, i, 2),
        .group_key = val(r, i, 3),
        .title = val(r, i, 4),
        .severity = val(r, i, 5),
        .severity_raw = val(r, i, 6),
        .state = val(r, i, 7),
        .start_ms = int_val(r, i, 8),
        .detected_ms = int_val(r, i, 9),
        .resolved_ms = int_val(r, i, 10),
        .updated_ms = int_val(r, i, 11),
        .service_id = val(r, i, 12),
        .artifact_id = val(r, i, 13),
        .environment = val(r, i, 14),
        .component_ref = val(r, i, 15),
        .owner_ref = val(r, i, 16),
    };
    return cw__incident_fill(out, &c, d);
}

/* ---- intake ---------------------------------------------------------------------------- */

cw_err cw__pg_incident_event(struct cw__pg_conn *c, const char *body, int64_t now_ms, cw_diag *d)
{
    cw__incident_values v;
    cw_diag ignored;
    if (cw__incident_values_from_body(body, now_ms, &v, &ignored))
        return CW_OK; /* not an incident event after all: nothing to derive */
    int64_t id = 0;
    cw_err err = exec_id(c, cw__incident_upsert_sql, v.ups, 13, &id, d);
    if (!err) {
        v.tl[0] = (cw__sql_param){NULL, id};
        err = exec(c, cw__incident_timeline_sql, v.tl, 8, NULL, d);
    }
    cw__incident_values_free(&v);
    return err;
}

static cw_err backfill_tx(cw__pg_conn *c, void *arg, cw_diag *d)
{
    (void)arg;
    PGresult *r = NULL;
    cw_buf sql;
    cw_buf_init(&sql, 0);
    cw_err err = cw_buf_printf(&sql, "%s FOR UPDATE", cw__incident_backfill_flag_sql)
                     ? cw_fail(d, CW_ERR_NOMEM, "incidents: out of memory")
                     : CW_OK;
    int64_t todo = 1;
    if (!err)
        err = exec_id(c, cw_buf_cstr(&sql), NULL, 0, &todo, d);
    cw_buf_free(&sql);
    if (err || todo != 0)
        return err;
    if ((err = exec(c, cw__incident_backfill_sql, NULL, 0, &r, d)))
        return err;
    int64_t now = cw_now_ms();
    for (int i = 0; !err && i < PQntuples(r); i++)
        err = cw__pg_incident_event(c, cw__pg_text(r, i, 0), now, d);
    PQclear(r);
    if (!err)
        err = exec(c, cw__incident_backfill_done_sql, NULL, 0, NULL, d);
    return err;
}

/* Before every incidents call: derived from old events, links fresh. */
static cw_err ready(cw_pg *s, cw_diag *d)
{
    cw__pg_conn *c = NULL;
    int64_t todo = 1;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (!err)
        err = exec_id(c, cw__incident_backfill_flag_sql, NULL, 0, &todo, d);
    cw__pg_release(s, c);
    if (!err && todo == 0 && !s->read_only)
        err = cw__pg_write(s, backfill_tx, NULL, d);
    return err ? err : cw__pg_links_fresh(s, d);
}

/* ---- reads ------------------------------------------------------------------------------ */

typedef struct {
    const cw_incident_query *q;
    cw_incident_list *out;
} query_ctx;

static cw_err query_tx(cw__pg_conn *c, void *arg, cw_diag *d)
{
    query_ctx *x = arg;
    cw_incident_list_free(x->out);
    cw__sql_param p[CW__INCIDENT_QUERY_PARAMS];
    int np = 0;
    cw_buf sql;
    cw_buf_init(&sql, 0);
    PGresult *r = NULL;
    cw_err err = cw__incident_list_sql(x->q, &sql, p, &np, d);
    if (!err && x->q->scope && x->q->scope->kind != CW_SCOPE_ORG) {
        const cw__sql_param key = {x->q->scope->key, 0};
        int64_t one = 0;
        err = exec_id(c, "SELECT 1 FROM entities WHERE key = ?1", &key, 1, &one, d);
        if (!err && !one)
            err = cw_fail(d, CW_ERR_NOT_FOUND, "scope: %s does not exist", x->q->scope->key);
    }
    if (!err)
        err = exec(c, cw_buf_cstr(&sql), p, np, &r, d);
    cw_buf_free(&sql);
    int rows = err ? 0 : PQntuples(r);
    if (rows && !(x->out->items = calloc((size_t)rows, sizeof *x->out->items)))
        err = cw_fail(d, CW_ERR_NOMEM, "incidents: out of memory");
    for (int i = 0; !err && i < rows; i++)
        err = incident_row(r, i, &x->out->items[x->out->len++], d);
    PQclear(r);
    return err;
}

static cw_err inc_query(cw_store *store, const cw_incident_query *q, cw_incident_list *out,
                        cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    if (q->scope && q->scope->kind != CW_SCOPE_ORG && !cw__pg_utf8(q->scope->key))
        return cw_fail(d, CW_ERR_NOT_FOUND, "scope: %s does not exist", q->scope->key);
    if (q->subject_id && !cw__pg_utf8(q->subject_id))
        return CW_OK; /* text that is not UTF-8 names no stored incident */
    cw_err err = ready(s, d);
    query_ctx x = {q, out};
    if (!err)
        err = cw__pg_read(s, query_tx, &x, d);
    if (err)
        cw_incident_list_free(out);
    return err;
}

static cw_err get_on(cw__pg_conn *c, const cw__incident_lookup *k, cw_incident *out, cw_diag *d)
{
    cw_incident_free(out);
    cw__sql_param p[2] = {{k->a, 0}, {k->b, 0}};
    if (k->by == CW__INC_BY_ID)
        p[0] = (cw__sql_param){NULL, k->id};
    PGresult *r = NULL;
    cw_err err = exec(c, cw__incident_get_sql(k->by), p, k->by == CW__INC_BY_ID ? 1 : 2, &r, d);
    if (!err && PQntuples(r) == 0)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "incident: no such incident");
    if (!err)
        err = incident_row(r, 0, out, d);
    PQclear(r);
    return err;
}

typedef struct {
    const cw__incident_lookup *k;
    cw_incident *out;
} get_ctx;

static cw_err get_tx(cw__pg_conn *c, void *arg, cw_diag *d)
{
    get_ctx *x = arg;
    return get_on(c, x->k, x->out, d);
}

static cw_err inc_get(cw_store *store, const cw__incident_lookup *k, cw_incident *out, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    if (k->by != CW__INC_BY_ID && (!cw__pg_utf8(k->a) || !cw__pg_utf8(k->b)))
        return cw_fail(d, CW_ERR_NOT_FOUND, "incident: no such incident");
    cw_err err = ready(s, d);
    get_ctx x = {k, out};
    if (!err)
        err = cw__pg_read(s, get_tx, &x, d);
    if (err)
        cw_incident_free(out);
    return err;
}

static cw_err exists(cw__pg_conn *c, int64_t id, cw_diag *d)
{
    cw__sql_param p = {NULL, id};
    int64_t one = 0;
    cw_err err = exec_id(c, "SELECT 1 FROM incidents WHERE id = CAST(?1 AS BIGINT)", &p, 1, &one, d);
    if (!err && !one)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "incident: no such incident");
    return err;
}

typedef struct {
    int64_t id;
    size_t max;
    cw_incident_entry *items;
    size_t len;
    cw_incident_alert *alerts;
    size_t nalerts;
} list_ctx;

static cw_err timeline_tx(cw__pg_conn *c, void *arg, cw_diag *d)
{
    list_ctx *x = arg;
    cw_incident_entries_free(x->items, x->len);
    x->items = NULL;
    x->len = 0;
    cw__sql_param p[2] = {{NULL, x->id}, {NULL, x->max > INT64_MAX ? INT64_MAX : (int64_t)x->max}};
    PGresult *r = NULL;
    cw_err err = exists(c, x->id, d);
    if (!err)
        err = exec(c, cw__incident_timeline_list_sql, p, 2, &r, d);
    int rows = err ? 0 : PQntuples(r);
    if (rows && !(x->items = calloc((size_t)rows, sizeof *x->items)))
        err = cw_fail(d, CW_ERR_NOMEM, "incidents: out of memory");
    /* read newest first (to keep the newest when cut): stored oldest first */
    for (int i = 0; !err && i < rows; i++) {
        int row = rows - 1 - i;
        cw__entry_cols e = {
            .id = cw__pg_int(r, row, 0),
            .at_ms = cw__pg_int(r, row, 1),
            .kind = val(r, row, 2),
            .actor = val(r, row, 3),
            .from_state = val(r, row, 4),
            .to_state = val(r, row, 5),
            .text = val(r, row, 6),
            .ref = val(r, row, 7),
        };
        err = cw__entry_fill(&x->items[x->len++], &e, d);
    }
    PQclear(r);
    return err;
}

static cw_err inc_timeline(cw_store *store, int64_t id, size_t max, cw_incident_entry **out,
                           size_t *n, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    list_ctx x = {.id = id, .max = max};
    cw_err err = ready(s, d);
    if (!err)
        err = cw__pg_read(s, timeline_tx, &x, d);
    if (err) {
        cw_incident_entries_free(x.items, x.len);
        return err;
    }
    *out = x.items;
    *n = x.len;
    return CW_OK;
}

static cw_err alerts_tx(cw__pg_conn *c, void *arg, cw_diag *d)
{
    list_ctx *x = arg;
    cw_incident_alerts_free(x->alerts, x->nalerts);
    x->alerts = NULL;
    x->nalerts = 0;
    cw__sql_param p = {NULL, x->id};
    PGresult *r = NULL;
    cw_err err = exists(c, x->id, d);
    if (!err)
        err = exec(c, cw__incident_alerts_list_sql, &p, 1, &r, d);
    int rows = err ? 0 : PQntuples(r);
    if (rows && !(x->alerts = calloc((size_t)rows, sizeof *x->alerts)))
        err = cw_fail(d, CW_ERR_NOMEM, "incidents: out of memory");
    for (int i = 0; !err && i < rows; i++) {
        cw__alert_cols a = {
            .fingerprint = val(r, i, 0),
            .status = val(r, i, 1),
            .starts_ms = int_val(r, i, 2),
            .ends_ms = int_val(r, i, 3),
            .labels = val(r, i, 4),
            .annotations = val(r, i, 5),
            .generator_url = val(r, i, 6),
            .updated_ms = int_val(r, i, 7),
        };
        err = cw__alert_fill(&x->alerts[x->nalerts++], &a, d);
    }
    PQclear(r);
    return err;
}

static cw_err inc_alerts(cw_store *store, int64_t id, cw_incident_alert **out, size_t *n,
                         cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    list_ctx x = {.id = id};
    cw_err err = ready(s, d);
    if (!err)
        err = cw__pg_read(s, alerts_tx, &x, d);
    if (err) {
        cw_incident_alerts_free(x.alerts, x.nalerts);
        return err;
    }
    *out = x.alerts;
    *n = x.nalerts;
    return CW_OK;
}

/* ---- writes ----------------------------------------------------------------------------- */

typedef struct {
    const char *source, *subject_id;
    const cw_incident_alert_in *alerts;
    size_t n;
    int64_t now_ms;
} alerts_put_ctx;

static cw_err alerts_put_tx(cw__pg_conn *c, void *arg, cw_diag *d)
{
    alerts_put_ctx *x = arg;
    cw__sql_param key[2] = {{x->source, 0}, {x->subject_id, 0}};
    int64_t id = 0;
    cw_err err = exec_id(c, cw__incident_id_by_key_sql, key, 2, &id, d);
    if (!err && !id)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "incident: no incident %s %s", x->source,
                      x->subject_id);
    for (size_t i = 0; !err && i < x->n; i++) {
        cw__alert_values v;
        cw__alert_values_make(id, &x->alerts[i], x->now_ms, &v);
        err = exec(c, cw__incident_alert_upsert_sql, v.up, 9, NULL, d);
        if (!err)
            err = exec(c, cw__incident_timeline_sql, v.tl, 8, NULL, d);
    }
    if (!err) {
        cw__sql_param t[2] = {{NULL, x->now_ms}, {NULL, id}};
        err = exec(c, cw__incident_touch_sql, t, 2, NULL, d);
    }
    return err;
}

static cw_err inc_alerts_put(cw_store *store, const char *source, const char *subject_id,
                             const cw_incident_alert_in *alerts, size_t n, int64_t now_ms,
                             cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    if (!cw__pg_utf8(source) || !cw__pg_utf8(subject_id))
        return cw_fail(d, CW_ERR_NOT_FOUND, "incident: no such incident");
    for (size_t i = 0; i < n; i++)
        if (!cw__pg_utf8(alerts[i].fingerprint) || !cw__pg_utf8(alerts[i].labels) ||
            (alerts[i].annotations && !cw__pg_utf8(alerts[i].annotations)) ||
            (alerts[i].generator_url && !cw__pg_utf8(alerts[i].generator_url)) ||
            (alerts[i].summary && !cw__pg_utf8(alerts[i].summary)))
            return cw_fail(d, CW_ERR_INVALID, "alerts[%zu]: text must be UTF-8", i);
    cw_err err = ready(s, d);
    alerts_put_ctx x = {source, subject_id, alerts, n, now_ms};
    if (!err)
        err = cw__pg_write(s, alerts_put_tx, &x, d);
    return err;
}

typedef struct {
    const cw_incident_change *ch;
    cw_incident *after;
} change_ctx;

static cw_err change_tx(cw__pg_conn *c, void *arg, cw_diag *d)
{
    change_ctx *x = arg;
    const cw_incident_change *ch = x->ch;
    cw_buf sql;
    cw_buf_init(&sql, 0);
    PGresult *r = NULL;
    cw__sql_param idp = {NULL, ch->id};
    cw_incident_state from = CW_INC_TRIGGERED;
    /* the row lock orders concurrent transitions of one incident */
    cw_err err = cw_buf_printf(&sql, "%s FOR UPDATE", cw__incident_state_sql)
                     ? cw_fail(d, CW_ERR_NOMEM, "incidents: out of memory")
                     : CW_OK;
    if (!err)
        err = exec(c, cw_buf_cstr(&sql), &idp, 1, &r, d);
    cw_buf_free(&sql);
    if (!err && PQntuples(r) == 0)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "incident: no such incident");
    else if (!err && !cw_incident_state_parse(cw__pg_text(r, 0, 0), &from))
        err = cw_fail(d, CW_ERR_IO, "incident: stored state is not one conway knows");
    PQclear(r);
    if (!err && ch->has_to)
        err = cw_incident_transition_check(from, ch->to, d);
    if (!err && ch->has_to) {
        cw__sql_param u[3] = {{cw_incident_state_name(ch->to), 0}, {NULL, ch->now_ms},
                              {NULL, ch->id}};
        err = exec(c, cw__incident_update_sql, u, 3, NULL, d);
    } else if (!err) {
        cw__sql_param t[2] = {{NULL, ch->now_ms}, {NULL, ch->id}};
        err = exec(c, cw__incident_touch_sql, t, 2, NULL, d);
    }
    if (!err) {
        cw__change_values v;
        cw__change_values_make(ch->id, ch, from, &v);
        err = exec(c, cw__incident_timeline_sql, v.tl, 8, NULL, d);
    }
    if (!err && x->after) {
        cw__incident_lookup k = {.by = CW__INC_BY_ID, .id = ch->id};
        err = get_on(c, &k, x->after, d);
    }
    return err;
}

static cw_err inc_change(cw_store *store, const cw_incident_change *ch, cw_incident *after,
                         cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    if (!cw__pg_utf8(ch->actor) || (ch->note && !cw__pg_utf8(ch->note)))
        return cw_fail(d, CW_ERR_INVALID, "note: must be UTF-8 text");
    cw_err err = ready(s, d);
    change_ctx x = {ch, after};
    if (!err)
        err = cw__pg_write(s, change_tx, &x, d);
    if (err && after)
        cw_incident_free(after);
    return err;
}

const struct cw_store_incident_ops cw__pg_incident_ops = {
    .query = inc_query,
    .get = inc_get,
    .timeline = inc_timeline,
    .alerts = inc_alerts,
    .alerts_put = inc_alerts_put,
    .change = inc_change,
};
