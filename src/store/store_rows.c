/*
 * store_rows.c — the backend-neutral half of the SQLite and PostgreSQL
 * stores: row conversion from plain column values, SQL assembly by
 * dialect, checks before SQL, link index, migration loop
 * (store_rows.h).
 */
#include "store/store_rows.h"

#include "store/event_codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- plain column values ------------------------------------------------------ */

char *cw__text_dup(cw__text t, bool *oom)
{
    if (!t.s)
        return NULL;
    char *p = malloc(t.n + 1);
    if (!p) {
        *oom = true;
        return NULL;
    }
    memcpy(p, t.s, t.n);
    p[t.n] = '\0';
    return p;
}

char *cw__dup_lower(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) {
        memcpy(p, s, n);
        cw__lower_ascii(p);
    }
    return p;
}

uint64_t cw__hash_sql(const char *sql)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *sql; sql++) {
        h ^= (unsigned char)*sql;
        h *= 1099511628211ULL;
    }
    return h;
}

/* ---- scopes --------------------------------------------------------------------- */

/* The Components partOf a System (sys) or ownedBy a Group, directly. */
static void direct_ids_sql(bool sys, const char *param, char *out, size_t cap)
{
    snprintf(out, cap,
             "SELECT r.entity_id FROM relations r JOIN entities e ON e.id = r.entity_id"
             " WHERE r.target_key = %s AND r.inverse_lc = '%s' AND r.type = '%s'"
             " AND e.kind = 'Component'",
             param, sys ? "haspart" : "ownerof", sys ? "partOf" : "ownedBy");
}

void cw__scope_ids_sql(const cw_scope *sc, const char *param, char *out, size_t cap)
{
    switch (sc ? sc->kind : CW_SCOPE_ORG) {
    case CW_SCOPE_COMPONENT:
        snprintf(out, cap, "SELECT id FROM entities WHERE key = %s AND kind = 'Component'",
                 param);
        break;
    case CW_SCOPE_GROUP:
        if (!sc->direct_only) {
            /* the group and its descendants: a child names its parent
             * (childOf) or a parent its child (parentOf); UNION keeps a
             * cycle in the catalog from recursing for ever */
            snprintf(out, cap,
                     "WITH RECURSIVE sub(k) AS (SELECT key FROM entities WHERE key = %s"
                     " UNION SELECT CASE WHEN r.type = 'childOf' THEN e.key ELSE r.target_key END"
                     " FROM relations r JOIN entities e ON e.id = r.entity_id JOIN sub"
                     " ON (r.type = 'childOf' AND r.target_key = sub.k AND e.kind = 'Group')"
                     " OR (r.type = 'parentOf' AND e.key = sub.k))"
                     " SELECT r.entity_id FROM relations r JOIN entities e ON e.id = r.entity_id"
                     " WHERE r.target_key IN (SELECT k FROM sub) AND r.inverse_lc = 'ownerof'"
                     " AND r.type = 'ownedBy' AND e.kind = 'Component'",
                     param);
            break;
        }
        direct_ids_sql(false, param, out, cap); /* the Components the group owns itself */
        break;
    case CW_SCOPE_SYSTEM:
        direct_ids_sql(true, param, out, cap);
        break;
    case CW_SCOPE_ORG:
    default:
        snprintf(out, cap, "SELECT id FROM entities WHERE kind = 'Component'");
        break;
    }
}

void cw__delivery_components_sql(const cw_scope *sc, const char *param, char *out, size_t cap)
{
    char scope_sql[1024];
    cw__scope_ids_sql(sc, param, scope_sql, sizeof scope_sql);
    snprintf(out, cap,
             "SELECT e.id, e.ref, (SELECT r.target_ref FROM relations r"
             " WHERE r.entity_id = e.id AND r.type = 'ownedBy' ORDER BY r.target_key LIMIT 1)"
             " FROM entities e WHERE e.id IN (%s) ORDER BY e.key",
             scope_sql);
}

/* ---- events: listing -------------------------------------------------------------- */

const char *cw__link_name(int kind)
{
    return kind == CW_LINK_SERVICE ? "service" : kind == CW_LINK_REPOSITORY ? "repository" : NULL;
}

cw_err cw__stored_event_fill(cw_stored_event *e, const cw__event_cols *r, cw__codec *codec,
                             cw_err (*load)(void *ctx, int64_t id, cw_buf *out, cw_diag *d),
                             void *load_ctx, cw_buf *scratch, cw_diag *d)
{
    bool oom = false;
    memset(e, 0, sizeof *e);
    e->seq = r->seq;
    e->time_ms = r->time_ms;
    e->received_ms = r->received_ms;
    e->source = cw__text_dup(r->source, &oom);
    e->type = cw__text_dup(r->type, &oom);
    e->environment = cw__text_dup(r->environment, &oom);
    e->link = cw__link_name(r->link_kind);
    e->link_value = cw__text_dup(r->link_value, &oom);
    e->component_ref = cw__text_dup(r->component_ref, &oom);
    cw_buf id;
    cw_buf_init(&id, 0);
    if (!r->key || cw__event_key_text(r->key, r->key_len, &id) == CW_ERR_IO) {
        cw_buf_free(&id);
        return cw_fail(d, CW_ERR_IO, "events: a stored event is damaged (key)");
    }
    e->id = cw_buf_error(&id) ? NULL : cw_buf_steal(&id, NULL);
    cw_buf_free(&id);
    cw__event_doc doc;
    cw_err err = cw__codec_decode(codec, r->dict_id, r->doc, r->doc_len, load, load_ctx, scratch,
                                  &doc, d);
    if (err)
        return err;
    e->subject_id = strdup(doc.subject);
    e->chain_id = doc.chain ? strdup(doc.chain) : NULL;
    e->artifact_id = doc.artifact ? strdup(doc.artifact) : NULL;
    e->body = cw__text_dup((cw__text){doc.body, doc.body_len}, &oom);
    if (oom || !e->source || !e->id || !e->type || !e->subject_id || !e->body ||
        (doc.chain && !e->chain_id) || (doc.artifact && !e->artifact_id))
        return cw_fail(d, CW_ERR_NOMEM, "events: out of memory");
    return CW_OK;
}

/* Appends the placeholder of the next parameter, bound to p. */
static cw_err put_param(cw_buf *sql, const cw__sql_dialect *dl, cw__sql_param *params,
                        int *n, cw__sql_param p, char ph[16])
{
    params[*n] = p;
    ++*n;
    snprintf(ph, 16, "%c%d", dl->placeholder, *n);
    return cw_buf_puts(sql, ph);
}

cw_err cw__event_list_sql(const cw_event_query *q, const cw__sql_dialect *dl, cw_buf *sql,
                          cw__sql_param params[CW__EVENT_QUERY_PARAMS], int *nparams,
                          cw_diag *d)
{
    char ph[16], ph2[16];
    int n = 0;
    cw_err err = cw_buf_printf(
        sql,
        "SELECT e.id, e.time_ms, e.received_ms, s.name, e.event_key, t.name,"
        " v.name, l.kind, l.value, c.ref, e.dict_id, e.doc"
        " FROM events e"
        " JOIN event_sources s ON s.id = e.source_id"
        " JOIN event_types t ON t.id = e.type_id"
        " LEFT JOIN event_envs v ON v.id = e.env_id"
        " LEFT JOIN event_links l ON l.id = e.link_id"
        " LEFT JOIN entities c ON c.id = l.component_id"
        " WHERE %s",
        dl->true_lit);
    if (!err && q->type_prefix) {
        params[n++] = (cw__sql_param){q->type_prefix, 0};
        snprintf(ph, sizeof ph, "%c%d", dl->placeholder, n);
        err = cw_buf_puts(sql, " AND e.type_id IN (SELECT id FROM event_types WHERE ");
        if (!err)
            err = cw_buf_printf(sql, dl->prefix_fmt, ph, ph);
        if (!err)
            err = cw_buf_puts(sql, ")");
    }
    if (!err && q->unmatched) {
        err = cw_buf_printf(sql, " AND e.link_id IN (SELECT id FROM event_links"
                                 " WHERE component_id IS NULL AND %s)",
                            dl->resolved);
    } else if (!err && q->scope) {
        char scope_sql[1024];
        ph[0] = '\0';
        if (cw_scope_is_entity(q->scope)) {
            params[n++] = (cw__sql_param){q->scope->key, 0};
            snprintf(ph, sizeof ph, "%c%d", dl->placeholder, n);
        }
        cw__scope_ids_sql(q->scope, ph, scope_sql, sizeof scope_sql);
        err = cw_buf_printf(sql, " AND e.link_id IN (SELECT id FROM event_links"
                                 " WHERE component_id IN (%s))",
                            scope_sql);
    } else if (!err && q->service_id) {
        err = cw_buf_printf(sql, " AND e.link_id IN (SELECT id FROM event_links WHERE kind = %d"
                                 " AND value = ",
                            CW_LINK_SERVICE);
        if (!err)
            err = put_param(sql, dl, params, &n, (cw__sql_param){q->service_id, 0}, ph);
        if (!err)
            err = cw_buf_puts(sql, ")");
    }
    if (!err && q->environment) {
        err = cw_buf_puts(sql, " AND e.env_id = (SELECT id FROM event_envs WHERE name = ");
        if (!err)
            err = put_param(sql, dl, params, &n, (cw__sql_param){q->environment, 0}, ph);
        if (!err)
            err = cw_buf_puts(sql, ")");
    }
    if (!err && q->from_ms != INT64_MIN) {
        err = cw_buf_puts(sql, " AND e.time_ms >= ");
        if (!err)
            err = put_param(sql, dl, params, &n, (cw__sql_param){NULL, q->from_ms}, ph);
    }
    if (!err && q->to_ms != INT64_MAX) {
        err = cw_buf_puts(sql, " AND e.time_ms < ");
        if (!err)
            err = put_param(sql, dl, params, &n, (cw__sql_param){NULL, q->to_ms}, ph);
    }
    if (!err && q->after) {
        params[n++] = (cw__sql_param){NULL, q->after_time_ms};
        snprintf(ph, sizeof ph, "%c%d", dl->placeholder, n);
        params[n++] = (cw__sql_param){NULL, q->after_seq};
        snprintf(ph2, sizeof ph2, "%c%d", dl->placeholder, n);
        err = cw_buf_puts(sql, " AND ");
        if (!err)
            err = cw_buf_printf(sql, dl->older_fmt, ph, ph2);
    }
    if (!err)
        err = cw_buf_puts(sql, " ORDER BY e.time_ms DESC, e.id DESC LIMIT ");
    if (!err)
        err = put_param(sql, dl, params, &n, (cw__sql_param){NULL, cw__clamp64(q->limit)}, ph);
    *nparams = n;
    return err ? cw_fail(d, CW_ERR_NOMEM, "events: out of memory") : CW_OK;
}

cw_err cw__unmatched_key_fill(cw_unmatched_key *k, int link_kind, cw__text value,
                              int64_t events, int64_t last_ms, cw_diag *d)
{
    bool oom = false;
    k->link = cw__link_name(link_kind);
    k->value = cw__text_dup(value, &oom);
    k->events = (size_t)events;
    k->last_ms = last_ms;
    if (oom || !k->value || !k->link)
        return cw_fail(d, oom ? CW_ERR_NOMEM : CW_ERR_INTERNAL, "events: unmatched keys");
    return CW_OK;
}

cw_err cw__unmatched_keys_done(cw_err err, cw_unmatched_key *keys, size_t len,
                               cw_unmatched_key **out, size_t *n)
{
    if (err) {
        cw_unmatched_keys_free(keys, len);
        return err;
    }
    *out = keys;
    *n = len;
    return CW_OK;
}

bool cw__event_body_same(const char *stored, size_t stored_len, const char *incoming)
{
    if (!stored || !incoming)
        return false;
    if (strlen(incoming) == stored_len && !memcmp(stored, incoming, stored_len))
        return true;
    json_t *a = json_loadb(stored, stored_len, JSON_DECODE_ANY, NULL);
    json_t *b = a ? json_loads(incoming, JSON_DECODE_ANY, NULL) : NULL;
    bool same = a && b && json_equal(a, b);
    json_decref(a);
    json_decref(b);
    return same;
}

/* ---- events: link index ------------------------------------------------------------ */

cw_err cw__link_index_add(cw__link_index *x, int64_t id, const char *name,
                          const char *service_id, const char *repo, const char *slug)
{
    if (!x->idx && cw_link_index_new(&x->idx))
        return CW_ERR_NOMEM;
    cw_link_component c = {name, service_id, repo, slug, NULL};
    return cw_link_index_add(x->idx, id, &c);
}

int64_t cw__link_index_resolve(const cw__link_index *x, int kind, const char *value, bool *oom)
{
    if (!x->idx)
        return -1;
    cw_event_link_key key;
    cw_link_key_of((cw_link_kind)kind, value, &key);
    int64_t id = cw_link_index_resolve(x->idx, &key, oom);
    return id >= 0 ? id : -1;
}

void cw__link_index_free(cw__link_index *x)
{
    cw_link_index_free(x->idx);
    x->idx = NULL;
}

cw_err cw__link_owner_add(cw_link_owners *l, size_t *cap, const char *ref, const char *owner_key,
                          const char *name, const char *service_id, const char *repo,
                          const char *slug)
{
    if (l->len == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        cw_link_owner *p = realloc(l->items, ncap * sizeof *p);
        if (!p)
            return CW_ERR_NOMEM;
        l->items = p;
        *cap = ncap;
    }
    /* one block holding every string, starting with ref (freed through it) */
    const char *vals[7] = {ref, ref, owner_key, name, service_id, repo, slug};
    size_t len = 0;
    for (int i = 0; i < 7; i++)
        len += vals[i] ? strlen(vals[i]) + 1 : 0;
    char *mem = malloc(len);
    if (!mem)
        return CW_ERR_NOMEM;
    cw_link_owner *o = &l->items[l->len++];
    memset(o, 0, sizeof *o);
    char *p = mem;
    char *out[7] = {0};
    for (int i = 0; i < 7; i++) {
        if (!vals[i])
            continue;
        size_t n = strlen(vals[i]) + 1;
        memcpy(p, vals[i], n);
        out[i] = p;
        p += n;
    }
    cw__lower_ascii(out[1]);
    o->ref = out[0];
    o->key = out[1];
    o->owner_key = out[2];
    o->link.name = out[3];
    o->link.service_id = out[4];
    o->link.repository = out[5];
    o->link.project_slug = out[6];
    return CW_OK;
}

/* ---- events: ids of environments and link keys ------------------------------------------ */

/* "<kind>:<value>" in buf, or a malloc'd copy when too long (*heap set). */
static char *link_key(int kind, const char *value, char *buf, size_t cap, char **heap)
{
    size_t n = strlen(value);
    char *key = buf;
    *heap = NULL;
    if (n + 3 > cap && !(key = *heap = malloc(n + 3)))
        return NULL;
    key[0] = (char)('0' + kind);
    key[1] = ':';
    memcpy(key + 2, value, n + 1);
    return key;
}

static cw_err ids_oom(cw_diag *d) { return cw_fail(d, CW_ERR_NOMEM, "events: out of memory"); }

cw_err cw__event_env_id(cw__event_ids *x, const char *name, cw__key_row_fn fn, void *ctx,
                        int64_t *out, cw_diag *d)
{
    void *v = cw_strmap_get(&x->env, name);
    if (v) {
        *out = (int64_t)(intptr_t)v;
        return CW_OK;
    }
    bool ins;
    cw_err err = fn(ctx, 0, name, out, &ins, d);
    if (!err && cw_strmap_put(&x->env, name, (void *)(intptr_t)*out))
        err = ids_oom(d);
    return err;
}

cw_err cw__event_link_id(cw__event_ids *x, int kind, const char *value, cw__key_row_fn fn,
                         void *ctx, int64_t *out, cw_diag *d)
{
    char buf[300], *heap;
    char *key = link_key(kind, value, buf, sizeof buf, &heap);
    if (!key)
        return ids_oom(d);
    cw_err err = CW_OK;
    void *v = cw_strmap_get(&x->link, key);
    if (v) {
        *out = (int64_t)(intptr_t)v;
        goto out;
    }
    bool ins;
    err = fn(ctx, kind, value, out, &ins, d);
    if (err)
        goto out;
    x->new_links |= ins;
    if (cw_strmap_put(&x->link, key, (void *)(intptr_t)*out))
        err = ids_oom(d);
out:
    free(heap);
    return err;
}

cw_err cw__event_name_id(cw__event_ids *x, int kind, const char *name, cw__key_row_fn fn,
                         void *ctx, int64_t *out, cw_diag *d)
{
    cw_strmap *m = kind == CW__KEY_SOURCE ? &x->source : &x->type;
    void *v = cw_strmap_get(m, name);
    if (v) {
        *out = (int64_t)(intptr_t)v;
        return CW_OK;
    }
    bool ins;
    cw_err err = fn(ctx, kind, name, out, &ins, d);
    if (!err && cw_strmap_put(m, name, (void *)(intptr_t)*out))
        err = ids_oom(d);
    return err;
}

bool cw__event_env_cached(const cw__event_ids *x, const char *name)
{
    return cw_strmap_get(&x->env, name) != NULL;
}

bool cw__event_link_cached(const cw__event_ids *x, int kind, const char *value)
{
    char buf[300], *heap;
    char *key = link_key(kind, value, buf, sizeof buf, &heap);
    bool hit = key && cw_strmap_get(&x->link, key);
    free(heap);
    return hit;
}

cw_err cw__event_env_put(cw__event_ids *x, const char *name, int64_t id)
{
    return cw_strmap_put(&x->env, name, (void *)(intptr_t)id);
}

cw_err cw__event_link_put(cw__event_ids *x, int kind, const char *value, int64_t id)
{
    char buf[300], *heap;
    char *key = link_key(kind, value, buf, sizeof buf, &heap);
    cw_err err = key ? cw_strmap_put(&x->link, key, (void *)(intptr_t)id) : CW_ERR_NOMEM;
    free(heap);
    return err;
}

void cw__event_ids_clear(cw__event_ids *x)
{
    cw_strmap_free(&x->env);
    cw_strmap_free(&x->link);
    cw_strmap_free(&x->source);
    cw_strmap_free(&x->type);
}

/* ---- entities: before the SQL ------------------------------------------------------------ */

cw_err cw__entity_identify(json_t *e, cw__entity_ident *id, cw_buf *canon, cw_diag *d)
{
    cw_err err = cw_entity_ref(e, &id->ref, d);
    if (err)
        return err;
    cw_ref_key(&id->ref, id->key);
    cw_ref_format(&id->ref, id->disp);
    json_object_del(e, "relations"); /* server-owned: rendered on read */
    cw_buf_reset(canon);
    if (cw_entity_canonical_json_into(e, canon) != CW_OK)
        return cw_fail(d, CW_ERR_NOMEM, "entity: out of memory");
    return cw__etag(cw_buf_cstr(canon), id->etag, d);
}

cw_err cw__entity_set_server_fields(json_t *e, const char *uid, const char *etag, cw_diag *d)
{
    json_t *md = json_object_get(e, "metadata");
    if (!json_is_object(md))
        return cw_fail(d, CW_ERR_INVALID, "metadata: must be an object");
    if (json_object_set_new(md, "uid", json_string(uid)) ||
        json_object_set_new(md, "etag", json_string(etag)))
        return cw_fail(d, CW_ERR_NOMEM, "entity: out of memory");
    return CW_OK;
}

cw_err cw__entity_if_match(const char *disp, bool exists, const char *cur,
                           const char *if_match, cw_diag *d)
{
    if (if_match && !exists)
        return cw_fail(d, CW_ERR_PRECONDITION, "If-Match: %s does not exist", disp);
    if (exists && !cw__etag_matches(if_match, cur))
        return cw_fail(d, CW_ERR_PRECONDITION, "If-Match: %s has etag \"%s\", not \"%s\"",
                       disp, cur, if_match);
    return CW_OK;
}

static const char *str_member(const json_t *obj, const char *name)
{
    const char *v = json_string_value(json_object_get(obj, name));
    return v ? v : "";
}

cw_err cw__entity_derive(json_t *e, cw__entity_derived *x, cw_buf *body, cw_diag *d)
{
    cw_err err = cw_entity_relations(e, &x->rels, d);
    if (err)
        return err;
    err = cw_entity_search_rows(e, &x->rels, &x->rows);
    if (err)
        return cw_fail(d, err, "entity: cannot compute search rows");
    json_t *md = json_object_get(e, "metadata");
    x->text_name = cw__dup_lower(str_member(md, "name"));
    x->text_title = cw__dup_lower(str_member(md, "title"));
    x->text_desc = cw__dup_lower(str_member(md, "description"));
    if ((err = cw__json_compact(e, body)))
        return cw_fail(d, err, "entity: cannot serialise");
    if (!x->text_name || !x->text_title || !x->text_desc)
        return cw_fail(d, CW_ERR_NOMEM, "entity: out of memory");
    return CW_OK;
}

void cw__entity_derived_free(cw__entity_derived *x)
{
    free(x->text_name);
    free(x->text_title);
    free(x->text_desc);
    cw_relation_list_free(&x->rels);
    cw_search_rows_free(&x->rows);
    memset(x, 0, sizeof *x);
}

/* ---- entities: query assembly -------------------------------------------------------------- */

void cw__qb_init(cw__qb *b, const cw__qb_dialect *dl)
{
    memset(b, 0, sizeof *b);
    b->dl = dl;
    cw_buf_init(&b->sql, 0);
}

void cw__qb_free(cw__qb *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->vals[i]);
    free(b->vals);
    cw_buf_free(&b->sql);
}

void cw__qb_sql(cw__qb *b, const char *s)
{
    if (!b->err)
        b->err = cw_buf_puts(&b->sql, s);
}

void cw__qb_take(cw__qb *b, char *v, const char *cast)
{
    if (!b->err && !v)
        b->err = CW_ERR_NOMEM;
    if (!b->err && b->dl->max_params && b->n >= b->dl->max_params)
        b->err = CW_ERR_TOO_LARGE;
    if (!b->err && b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        char **p = realloc(b->vals, cap * sizeof *p);
        if (!p)
            b->err = CW_ERR_NOMEM;
        else {
            b->vals = p;
            b->cap = cap;
        }
    }
    if (b->err) {
        free(v);
        return;
    }
    /* a value the engine cannot hold is in no row: NULL matches nothing either */
    if (b->dl->value_ok && !b->dl->value_ok(v)) {
        free(v);
        v = NULL;
    }
    b->vals[b->n++] = v;
    if (b->dl->numbered)
        b->err = cw_buf_printf(&b->sql, "$%zu%s", b->n, cast);
    else
        b->err = cw_buf_puts(&b->sql, "?");
}

void cw__qb_param(cw__qb *b, const char *v) { cw__qb_take(b, cw__dup_lower(v), ""); }

cw_err cw__qb_error(const cw__qb *b, cw_diag *d)
{
    if (b->err == CW_ERR_TOO_LARGE)
        return cw_fail(d, b->err, "filter: more than %zu values", b->dl->max_params);
    return cw_fail(d, b->err, "query: out of memory");
}

bool cw__has_filter(const cw_filter *f) { return f && f->n > 0; }

bool cw__is_relation_key(const char *key)
{
    return strncasecmp(key, "relations.", 10) == 0 && key[10];
}

bool cw__has_empty_value(const cw_filter_cond *k)
{
    for (size_t v = 0; v < k->nvalues; v++)
        if (!k->values[v][0])
            return true;
    return false;
}

void cw__qb_filter_in(cw__qb *b, const char *col, const cw_filter *f)
{
    if (!cw__has_filter(f))
        return;
    cw__qb_sql(b, " AND ");
    cw__qb_sql(b, col);
    cw__qb_sql(b, " IN (");
    b->dl->set(b, f);
    cw__qb_sql(b, ")");
}

/* " AND (text matches)" over entities e, when text is given. The find
 * functions have no metacharacters: % and _ in the text are literal. */
static void qb_text(cw__qb *b, const char *text)
{
    if (!text || !*text)
        return;
    static const char *const cols[] = {"e.text_name", "e.text_title", "e.text_desc"};
    cw__qb_sql(b, " AND (");
    for (int i = 0; i < 3; i++) {
        if (i)
            cw__qb_sql(b, " OR ");
        cw__qb_sql(b, b->dl->find_open);
        cw__qb_sql(b, cols[i]);
        cw__qb_sql(b, ", ");
        cw__qb_param(b, text);
        cw__qb_sql(b, b->dl->find_close);
    }
    cw__qb_sql(b, ")");
}

void cw__qb_count(cw__qb *b, const cw_entity_query *q)
{
    cw__qb_sql(b, "SELECT count(*) FROM entities e WHERE ");
    cw__qb_sql(b, b->dl->true_lit);
    cw__qb_filter_in(b, "e.id", q->filter);
    qb_text(b, q->text);
}

void cw__qb_page(cw__qb *b, const cw_entity_query *q)
{
    const char *dir = q->order_desc ? "DESC" : "ASC";
    /* ids and keys only: most items then come from the rendered-entity cache */
    cw__qb_sql(b, "SELECT e.id, e.key FROM entities e");
    if (q->order_key) {
        cw__qb_sql(b, " LEFT JOIN (SELECT entity_id AS oid, min(value) AS ov FROM search "
                      "WHERE key = ");
        cw__qb_param(b, q->order_key);
        cw__qb_sql(b, " AND NOT is_null GROUP BY entity_id) o ON o.oid = e.id");
    }
    cw__qb_sql(b, " WHERE ");
    cw__qb_sql(b, b->dl->true_lit);
    cw__qb_filter_in(b, q->order_key ? "e.id" : b->dl->key_order_id, q->filter);
    qb_text(b, q->text);
    if (q->after_key) {
        cw__qb_sql(b, q->order_desc ? " AND e.key < " : " AND e.key > ");
        cw__qb_param(b, q->after_key);
    }
    cw__qb_sql(b, " ORDER BY ");
    if (q->order_key) {
        cw__qb_sql(b, "o.ov ");
        cw__qb_sql(b, dir);
        cw__qb_sql(b, " NULLS LAST, e.key");
    } else {
        cw__qb_sql(b, "e.key ");
        cw__qb_sql(b, dir);
    }
}

int64_t cw__clamp64(size_t v) { return v > (size_t)INT64_MAX ? INT64_MAX : (int64_t)v; }

/* ---- counts ---------------------------------------------------------------------------------- */

cw_err cw__counts_add(json_t *res, const char *kind, int64_t n, cw_diag *d)
{
    if (json_object_set_new(res, kind, json_integer((json_int_t)n)))
        return cw_fail(d, CW_ERR_NOMEM, "counts: out of memory");
    return CW_OK;
}

/* ---- migrations ------------------------------------------------------------------------------ */

cw_err cw__migrate(const cw__migrator *m, cw_diag *d)
{
    const int latest = (int)m->n;
    int version;
    const char *what, *sql;
    for (size_t i = 0; i < m->n; i++) {
        m->step(i, &version, &what, &sql);
        if (version != (int)i + 1)
            return cw_fail(d, CW_ERR_INTERNAL,
                           "database: migration #%zu has version %d, expected %zu", i, version,
                           i + 1);
    }
    int v = 0;
    cw_err err = m->read_version(m->conn, &v, d);
    while (!err && v < latest) {
        /* another process may be migrating too: the version is re-read
         * inside the transaction, so each step runs once */
        err = m->begin(m->conn, &v, d);
        if (!err && v < latest) {
            m->step((size_t)v, &version, &what, &sql);
            err = m->exec(m->conn, sql, d);
            if (!err)
                err = m->set_version(m->conn, version, d);
            if (err)
                cw_diag_prefix(d, "schema migration %d (%s)", version, what);
        }
        if (!err)
            err = m->commit(m->conn, d);
        if (err)
            m->rollback(m->conn);
        if (!err)
            err = m->read_version(m->conn, &v, d);
    }
    if (!err && v > latest)
        err = cw_fail(d, CW_ERR_UNSUPPORTED,
                      "database: schema version %d is newer than this program's %d", v,
                      latest);
    return err;
}
