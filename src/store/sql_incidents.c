/*
 * sql_incidents.c — incidents (store_incidents.h) on both backends,
 * through the statement layer (sql.h): the hook the events intake calls
 * for each incident CDEvent it newly stores (in the events' transaction),
 * the one-time derivation of incidents from events stored before the
 * table existed, and the reads and writes of incidents, their alerts and
 * timeline. The SQL and the values are in store_incidents.c; the tables in
 * each backend's schema (migration "incidents").
 *
 * Concurrency on PostgreSQL: the derivation locks its flag row, so that
 * instances starting together derive once; a transition locks its
 * incident's row.
 */
#include "store/event_codec.h"
#include "store/incidents_impl.h"
#include "store/sql.h"

#include <stdlib.h>
#include <string.h>

#include "util/timeutil.h"

/* ---- statements ---------------------------------------------------------------------- */

static void bind_params(cw__sql_stmt *st, const cw__sql_param *p, int n)
{
    for (int i = 0; i < n; i++) {
        if (cw__param_is_null(&p[i]))
            cw__sql_bind_null(st, i + 1);
        else if (p[i].text)
            cw__sql_bind_text(st, i + 1, p[i].text);
        else
            cw__sql_bind_int(st, i + 1, p[i].i);
    }
}

/* Runs a statement to its end; *id (when not NULL) the first column of
 * its first row, 0 without a row. */
static cw_err run(cw__sql *c, const char *sql, const cw__sql_param *p, int n, int64_t *id,
                  cw_diag *d)
{
    cw__sql_stmt st;
    bool row = false;
    cw_err err = cw__sql_prepare(c, sql, &st, d);
    if (!err) {
        bind_params(&st, p, n);
        err = cw__sql_step(&st, &row, d);
    }
    if (id)
        *id = !err && row ? cw__sql_int(&st, 0) : 0;
    if (!err && row)
        err = cw__sql_run(&st, d);
    cw__sql_done(&st);
    return err;
}

static cw__text col(cw__sql_stmt *st, int c)
{
    size_t n = 0;
    const char *t = cw__sql_textn(st, c, &n);
    return (cw__text){t, n};
}

static cw_err incident_row(cw__sql_stmt *st, cw_incident *out, cw_diag *d)
{
    cw__incident_cols r = {
        .id = cw__sql_int(st, 0),
        .source = col(st, 1),
        .subject_id = col(st, 2),
        .group_key = col(st, 3),
        .title = col(st, 4),
        .severity = col(st, 5),
        .severity_raw = col(st, 6),
        .state = col(st, 7),
        .start_ms = cw__sql_int(st, 8), /* NULL reads as 0 */
        .detected_ms = cw__sql_int(st, 9),
        .resolved_ms = cw__sql_int(st, 10),
        .updated_ms = cw__sql_int(st, 11),
        .service_id = col(st, 12),
        .artifact_id = col(st, 13),
        .environment = col(st, 14),
        .component_ref = col(st, 15),
        .owner_ref = col(st, 16),
    };
    return cw__incident_fill(out, &r, d);
}

/* ---- intake ---------------------------------------------------------------------------- */

cw_err cw__incident_event(cw__sql *c, const char *body, int64_t now_ms, cw_diag *d)
{
    cw__incident_values v;
    cw_diag ignored;
    if (cw__incident_values_from_body(body, now_ms, &v, &ignored))
        return CW_OK; /* not an incident event after all: nothing to derive */
    int64_t id = 0;
    cw_err err = run(c, cw__incident_upsert_sql, v.ups, 13, &id, d);
    if (!err) {
        v.tl[0] = (cw__sql_param){NULL, id};
        err = run(c, cw__incident_timeline_sql, v.tl, 8, NULL, d);
    }
    cw__incident_values_free(&v);
    return err;
}

typedef struct {
    char **bodies;
    size_t n, cap;
} body_list;

static void bodies_free(body_list *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->bodies[i]);
    free(b->bodies);
    memset(b, 0, sizeof *b);
}

static cw_err backfill_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    body_list *b = ctx;
    bodies_free(b);
    int64_t todo = 1;
    cw_err err = run(c, cw__incident_backfill_lock_sql, NULL, 0, &todo, d);
    if (err || todo != 0)
        return err;
    /* bodies are copied first: no writes while the scan's statement is open */
    cw__sql_stmt st;
    bool row = false;
    cw_buf scratch;
    cw_buf_init(&scratch, 0);
    err = cw__sql_prepare(c, cw__incident_backfill_sql, &st, d);
    while (!err && !(err = cw__sql_step(&st, &row, d)) && row) {
        const void *doc_p = NULL;
        size_t doc_n = 0;
        cw__event_doc doc;
        if ((err = cw__grow((void **)&b->bodies, &b->cap, b->n, sizeof *b->bodies, d)) ||
            (err = cw__sql_blob(&st, 1, &doc_p, &doc_n, d)) ||
            (err = cw__codec_decode(cw__sql_store(c)->codec, cw__sql_int(&st, 0), doc_p, doc_n,
                                    cw__sql_load_dict, c, &scratch, &doc, d)))
            break;
        bool oom = false;
        b->bodies[b->n] = cw__text_dup((cw__text){doc.body, doc.body_len}, &oom);
        if (oom || !b->bodies[b->n]) {
            err = cw_fail(d, CW_ERR_NOMEM, "incidents: out of memory");
            break;
        }
        b->n++;
    }
    cw__sql_done(&st);
    cw_buf_free(&scratch);
    int64_t now = cw_now_ms();
    for (size_t i = 0; !err && i < b->n; i++)
        err = cw__incident_event(c, b->bodies[i], now, d);
    if (!err)
        err = run(c, cw__incident_backfill_done_sql, NULL, 0, NULL, d);
    return err;
}

static cw_err flag_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    return run(c, cw__incident_backfill_flag_sql, NULL, 0, ctx, d);
}

/* Before every incidents call: incidents derived from the events stored
 * before the table (once: the flag is read first, then again under its
 * lock), and the events' links matched against the current catalog. */
static cw_err ready(cw_store *s, cw_diag *d)
{
    int64_t todo = 1;
    cw_err err = cw__sql_tx(s, CW__SQL_READ_ONE, flag_tx, &todo, d);
    if (!err && todo == 0) {
        body_list b = {0};
        cw_diag wd = {{0}};
        err = cw__sql_tx(s, CW__SQL_WRITE, backfill_tx, &b, &wd);
        bodies_free(&b);
        if (err == CW_ERR_UNSUPPORTED)
            err = CW_OK; /* opened read-only: show what there is */
        else if (err)
            *d = wd;
    }
    return err ? err : cw__sql_links_fresh(s, d);
}

/* ---- reads ------------------------------------------------------------------------------ */

typedef struct {
    const cw_incident_query *q;
    cw_incident_list *out;
    size_t cap;
} query_ctx;

static cw_err query_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    query_ctx *x = ctx;
    const cw_incident_query *q = x->q;
    cw_incident_list_free(x->out);
    x->cap = 0;
    bool scoped = q->scope && q->scope->kind != CW_SCOPE_ORG;
    if (scoped && !cw__sql_text_ok(c, q->scope->key))
        return cw_fail(d, CW_ERR_NOT_FOUND, "scope: %s does not exist", q->scope->key);
    if (q->subject_id && !cw__sql_text_ok(c, q->subject_id))
        return CW_OK; /* text the database cannot hold names no stored incident */
    cw_buf sql;
    cw_buf_init(&sql, 0);
    cw__sql_param p[CW__INCIDENT_QUERY_PARAMS];
    int np = 0;
    cw_err err = cw__incident_list_sql(q, &sql, p, &np, d);
    if (!err && scoped) {
        cw__sql_param key = {q->scope->key, 0};
        int64_t one = 0;
        err = run(c, "SELECT 1 FROM entities WHERE key = ?1", &key, 1, &one, d);
        if (!err && !one)
            err = cw_fail(d, CW_ERR_NOT_FOUND, "scope: %s does not exist", q->scope->key);
    }
    cw__sql_stmt st;
    bool row = false;
    if (!err) {
        /* one of a few shapes (which filters are set): cached like constants */
        err = cw__sql_prepare(c, cw_buf_cstr(&sql), &st, d);
        if (!err)
            bind_params(&st, p, np);
        while (!err && !(err = cw__sql_step(&st, &row, d)) && row)
            if ((err = cw__grow((void **)&x->out->items, &x->cap, x->out->len,
                                sizeof *x->out->items, d)) ||
                (err = incident_row(&st, &x->out->items[x->out->len++], d)))
                break;
        cw__sql_done(&st);
    }
    cw_buf_free(&sql);
    return err;
}

static cw_err inc_query(cw_store *s, const cw_incident_query *q, cw_incident_list *out,
                        cw_diag *d)
{
    query_ctx x = {q, out, 0};
    cw_err err = ready(s, d);
    if (!err)
        err = cw__sql_tx(s, CW__SQL_READ, query_tx, &x, d);
    if (err)
        cw_incident_list_free(out);
    return err;
}

static cw_err get_on(cw__sql *c, const cw__incident_lookup *k, cw_incident *out, cw_diag *d)
{
    cw_incident_free(out);
    if (k->by != CW__INC_BY_ID && (!cw__sql_text_ok(c, k->a) || !cw__sql_text_ok(c, k->b)))
        return cw_fail(d, CW_ERR_NOT_FOUND, "incident: no such incident");
    cw__sql_stmt st;
    bool row = false;
    cw_err err = cw__sql_prepare(c, cw__incident_get_sql(k->by), &st, d);
    if (!err) {
        if (k->by == CW__INC_BY_ID) {
            cw__sql_bind_int(&st, 1, k->id);
        } else {
            cw__sql_bind_text(&st, 1, k->a);
            cw__sql_bind_text(&st, 2, k->b);
        }
        err = cw__sql_step(&st, &row, d);
    }
    if (!err && !row)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "incident: no such incident");
    if (!err)
        err = incident_row(&st, out, d);
    cw__sql_done(&st);
    return err;
}

typedef struct {
    const cw__incident_lookup *k;
    cw_incident *out;
} get_ctx;

static cw_err get_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    get_ctx *x = ctx;
    return get_on(c, x->k, x->out, d);
}

static cw_err inc_get(cw_store *s, const cw__incident_lookup *k, cw_incident *out, cw_diag *d)
{
    get_ctx x = {k, out};
    cw_err err = ready(s, d);
    if (!err)
        err = cw__sql_tx(s, CW__SQL_READ_ONE, get_tx, &x, d);
    if (err)
        cw_incident_free(out);
    return err;
}

static cw_err exists(cw__sql *c, int64_t id, cw_diag *d)
{
    cw__sql_param p = {NULL, id};
    int64_t one = 0;
    cw_err err = run(c, "SELECT 1 FROM incidents WHERE id = CAST(?1 AS BIGINT)", &p, 1, &one, d);
    if (!err && !one)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "incident: no such incident");
    return err;
}

typedef struct {
    int64_t id;
    size_t max;
    cw_incident_entry *items;
    size_t len, cap;
    cw_incident_alert *alerts;
    size_t nalerts, acap;
} list_ctx;

static cw_err timeline_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    list_ctx *x = ctx;
    cw_incident_entries_free(x->items, x->len);
    x->items = NULL;
    x->len = x->cap = 0;
    cw__sql_param p[2] = {{NULL, x->id}, {NULL, x->max > INT64_MAX ? INT64_MAX : (int64_t)x->max}};
    cw__sql_stmt st;
    bool row = false;
    cw_err err = exists(c, x->id, d);
    if (err)
        return err;
    err = cw__sql_prepare(c, cw__incident_timeline_list_sql, &st, d);
    if (!err)
        bind_params(&st, p, 2);
    while (!err && !(err = cw__sql_step(&st, &row, d)) && row) {
        cw__entry_cols r = {
            .id = cw__sql_int(&st, 0),
            .at_ms = cw__sql_int(&st, 1),
            .kind = col(&st, 2),
            .actor = col(&st, 3),
            .from_state = col(&st, 4),
            .to_state = col(&st, 5),
            .text = col(&st, 6),
            .ref = col(&st, 7),
        };
        if ((err = cw__grow((void **)&x->items, &x->cap, x->len, sizeof *x->items, d)) ||
            (err = cw__entry_fill(&x->items[x->len++], &r, d)))
            break;
    }
    cw__sql_done(&st);
    return err;
}

static cw_err inc_timeline(cw_store *s, int64_t id, size_t max, cw_incident_entry **out,
                           size_t *n, cw_diag *d)
{
    list_ctx x = {.id = id, .max = max};
    cw_err err = ready(s, d);
    if (!err)
        err = cw__sql_tx(s, CW__SQL_READ, timeline_tx, &x, d);
    if (err) {
        cw_incident_entries_free(x.items, x.len);
        return err;
    }
    /* read newest first (to keep the newest when cut): oldest first now */
    for (size_t i = 0; i < x.len / 2; i++) {
        cw_incident_entry t = x.items[i];
        x.items[i] = x.items[x.len - 1 - i];
        x.items[x.len - 1 - i] = t;
    }
    *out = x.items;
    *n = x.len;
    return CW_OK;
}

static cw_err alerts_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    list_ctx *x = ctx;
    cw_incident_alerts_free(x->alerts, x->nalerts);
    x->alerts = NULL;
    x->nalerts = x->acap = 0;
    cw__sql_stmt st;
    bool row = false;
    cw_err err = exists(c, x->id, d);
    if (err)
        return err;
    err = cw__sql_prepare(c, cw__incident_alerts_list_sql, &st, d);
    if (!err)
        cw__sql_bind_int(&st, 1, x->id);
    while (!err && !(err = cw__sql_step(&st, &row, d)) && row) {
        cw__alert_cols r = {
            .fingerprint = col(&st, 0),
            .status = col(&st, 1),
            .starts_ms = cw__sql_int(&st, 2),
            .ends_ms = cw__sql_int(&st, 3),
            .labels = col(&st, 4),
            .annotations = col(&st, 5),
            .generator_url = col(&st, 6),
            .updated_ms = cw__sql_int(&st, 7),
        };
        if ((err = cw__grow((void **)&x->alerts, &x->acap, x->nalerts, sizeof *x->alerts, d)) ||
            (err = cw__alert_fill(&x->alerts[x->nalerts++], &r, d)))
            break;
    }
    cw__sql_done(&st);
    return err;
}

static cw_err inc_alerts(cw_store *s, int64_t id, cw_incident_alert **out, size_t *n,
                         cw_diag *d)
{
    list_ctx x = {.id = id};
    cw_err err = ready(s, d);
    if (!err)
        err = cw__sql_tx(s, CW__SQL_READ, alerts_tx, &x, d);
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

static cw_err alerts_put_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    alerts_put_ctx *x = ctx;
    if (!cw__sql_text_ok(c, x->source) || !cw__sql_text_ok(c, x->subject_id))
        return cw_fail(d, CW_ERR_NOT_FOUND, "incident: no such incident");
    for (size_t i = 0; i < x->n; i++) {
        const cw_incident_alert_in *a = &x->alerts[i];
        if (!cw__sql_text_ok(c, a->fingerprint) || !cw__sql_text_ok(c, a->labels) ||
            !cw__sql_text_ok(c, a->annotations) || !cw__sql_text_ok(c, a->generator_url) ||
            !cw__sql_text_ok(c, a->summary))
            return cw_fail(d, CW_ERR_INVALID, "alerts[%zu]: text must be UTF-8", i);
    }
    cw__sql_param key[2] = {{x->source, 0}, {x->subject_id, 0}};
    int64_t id = 0;
    cw_err err = run(c, cw__incident_id_by_key_sql, key, 2, &id, d);
    if (!err && !id)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "incident: no incident %s %s", x->source,
                      x->subject_id);
    for (size_t i = 0; !err && i < x->n; i++) {
        cw__alert_values v;
        cw__alert_values_make(id, &x->alerts[i], x->now_ms, &v);
        err = run(c, cw__incident_alert_upsert_sql, v.up, 9, NULL, d);
        if (!err)
            err = run(c, cw__incident_timeline_sql, v.tl, 8, NULL, d);
    }
    if (!err) {
        cw__sql_param t[2] = {{NULL, x->now_ms}, {NULL, id}};
        err = run(c, cw__incident_touch_sql, t, 2, NULL, d);
    }
    return err;
}

static cw_err inc_alerts_put(cw_store *s, const char *source, const char *subject_id,
                             const cw_incident_alert_in *alerts, size_t n, int64_t now_ms,
                             cw_diag *d)
{
    alerts_put_ctx x = {source, subject_id, alerts, n, now_ms};
    cw_err err = ready(s, d);
    if (!err)
        err = cw__sql_tx(s, CW__SQL_WRITE, alerts_put_tx, &x, d);
    return err;
}

typedef struct {
    const cw_incident_change *ch;
    cw_incident *after;
} change_ctx;

static cw_err change_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    change_ctx *x = ctx;
    const cw_incident_change *ch = x->ch;
    if (!cw__sql_text_ok(c, ch->actor) || !cw__sql_text_ok(c, ch->note))
        return cw_fail(d, CW_ERR_INVALID, "note: must be UTF-8 text");
    cw_incident_state from = CW_INC_TRIGGERED;
    cw__sql_stmt st;
    bool row = false;
    cw_err err = cw__sql_prepare(c, cw__incident_state_sql, &st, d);
    if (!err) {
        cw__sql_bind_int(&st, 1, ch->id);
        err = cw__sql_step(&st, &row, d);
    }
    if (!err && !row)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "incident: no such incident");
    else if (!err && !cw_incident_state_parse(cw__sql_text(&st, 0), &from))
        err = cw_fail(d, CW_ERR_IO, "incident: stored state is not one conway knows");
    cw__sql_done(&st);
    if (!err && ch->has_to)
        err = cw_incident_transition_check(from, ch->to, d);
    if (!err && ch->has_to) {
        cw__sql_param u[3] = {{cw_incident_state_name(ch->to), 0}, {NULL, ch->now_ms},
                              {NULL, ch->id}};
        err = run(c, cw__incident_update_sql, u, 3, NULL, d);
    } else if (!err) {
        cw__sql_param t[2] = {{NULL, ch->now_ms}, {NULL, ch->id}};
        err = run(c, cw__incident_touch_sql, t, 2, NULL, d);
    }
    if (!err) {
        cw__change_values v;
        cw__change_values_make(ch->id, ch, from, &v);
        err = run(c, cw__incident_timeline_sql, v.tl, 8, NULL, d);
    }
    if (!err && x->after) {
        cw__incident_lookup k = {.by = CW__INC_BY_ID, .id = ch->id};
        err = get_on(c, &k, x->after, d);
    }
    return err;
}

static cw_err inc_change(cw_store *s, const cw_incident_change *ch, cw_incident *after,
                         cw_diag *d)
{
    change_ctx x = {ch, after};
    cw_err err = ready(s, d);
    if (!err)
        err = cw__sql_tx(s, CW__SQL_WRITE, change_tx, &x, d);
    if (err && after)
        cw_incident_free(after);
    return err;
}

const struct cw_store_incident_ops cw__sql_incident_ops = {
    .query = inc_query,
    .get = inc_get,
    .timeline = inc_timeline,
    .alerts = inc_alerts,
    .alerts_put = inc_alerts_put,
    .change = inc_change,
};
