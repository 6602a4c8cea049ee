/*
 * store.c — the public cw_store_* functions of store.h: choose a backend from
 * the URL, check arguments once for every backend, and dispatch through the
 * vtable (store_impl.h).
 */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "store/events_impl.h"
#include "store/store_common.h"
#include "store/event_codec.h"
#include "store/store_impl.h"

/* ---- opening ------------------------------------------------------------------- */

static bool has_prefix_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

cw_err cw_store_open(const char *url, const cw_store_options *opt, cw_store **out,
                     cw_diag *d)
{
    static const cw_store_options defaults = {0};
    if (!out)
        return cw_fail(d, CW_ERR_INVALID, "store: no output handle");
    *out = NULL;
    if (!url || !*url)
        return cw_fail(d, CW_ERR_INVALID, "database: empty URL or path");
    if (!opt)
        opt = &defaults;
    if (opt->pool_size < 0 || opt->pool_size > 256)
        return cw_fail(d, CW_ERR_INVALID, "database: pool size %d is not in 0..256",
                       opt->pool_size);
    cw_err err;
    if (has_prefix_ci(url, "postgres://") || has_prefix_ci(url, "postgresql://")) {
#ifdef CONWAY_HAVE_PG
        err = cw__pg_open(url, opt, out, d);
#else
        return cw_fail(d, CW_ERR_UNSUPPORTED,
                       "database: this conway was built without PostgreSQL (libpq); "
                       "use a SQLite file path");
#endif
    } else if (strstr(url, "://")) {
        /* "mysql://…", "sqlite:///x.db": a URL of a kind conway does not
         * speak would otherwise become a SQLite file of that odd name */
        const char *colon = strchr(url, ':');
        return cw_fail(d, CW_ERR_UNSUPPORTED,
                       "database: unsupported URL scheme '%.*s': give a SQLite file path "
                       "(conway.db, /var/lib/conway/conway.db) or a postgres:// or "
                       "postgresql:// URL",
                       (int)(colon - url > 32 ? 32 : colon - url), url);
    } else if (!strcmp(url, ":memory:") || !strncmp(url, "file:", 5)) {
        return cw__sqlite_open(url, opt, out, d); /* refused there */
    } else {
        /* the "in use" lock (store_backup.c): a restore never replaces a
         * database that is open here */
        int lock_fd = -1;
        err = cw__db_lock(url, false, 10000, opt->read_only, &lock_fd, d);
        if (err)
            return err;
        err = cw__sqlite_open(url, opt, out, d);
        if (err) {
            cw__db_unlock(lock_fd);
            return err;
        }
        (*out)->use_locked = true;
        (*out)->use_lock_fd = lock_fd;
    }
    if (!err && (*out)->vt->events &&
        (cw__gc_new(*out, &(*out)->gc) || cw__codec_new(&(*out)->codec))) {
        cw_store_close(*out);
        *out = NULL;
        err = cw_fail(d, CW_ERR_NOMEM, "database: out of memory");
    }
    if (!err && (*out)->vt->heartbeats && cw__hbgc_new(*out, &(*out)->hbgc)) {
        cw_store_close(*out);
        *out = NULL;
        err = cw_fail(d, CW_ERR_NOMEM, "database: out of memory");
    }
    if (!err && (*out)->vt->events && (err = (*out)->vt->events->dicts_open(*out, d))) {
        cw_store_close(*out);
        *out = NULL;
    }
    return err;
}

void cw_store_close(cw_store *s)
{
    if (!s)
        return;
    bool locked = s->use_locked;
    int lock_fd = s->use_lock_fd;
    cw__gc_close(s->gc); /* commits what is still queued */
    s->gc = NULL;
    cw__codec_free(s->codec);
    s->codec = NULL;
    cw__hbgc_free(s->hbgc); /* writes what is still queued */
    s->hbgc = NULL;
    s->vt->core->close(s);
    if (locked)
        cw__db_unlock(lock_fd);
}

const char *cw_store_backend(const cw_store *s) { return s ? s->vt->backend : "none"; }

cw_err cw_store_ping(cw_store *s, cw_diag *d)
{
    const cw_store_core_ops *ops;
    STORE_OPS(s, core, ops, d);
    return ops->ping(s, d);
}

cw_err cw_store_schema_version(cw_store *s, int *out, cw_diag *d)
{
    const cw_store_core_ops *ops;
    STORE_OPS(s, core, ops, d);
    if (!out)
        return cw_fail(d, CW_ERR_INVALID, "store: no output for the schema version");
    return ops->schema_version(s, out, d);
}

cw_err cw_store_size_bytes(cw_store *s, int64_t *out, cw_diag *d)
{
    const cw_store_core_ops *ops;
    STORE_OPS(s, core, ops, d);
    if (!out)
        return cw_fail(d, CW_ERR_INVALID, "store: no output for the size");
    return ops->size_bytes(s, out, d);
}

/* ---- entities ------------------------------------------------------------------ */

static cw_err check_entity_arg(const json_t *e, cw_diag *d)
{
    if (!json_is_object(e))
        return cw_fail(d, CW_ERR_INVALID, "entity: not a JSON object");
    return CW_OK;
}

cw_err cw_store_entity_put(cw_store *s, json_t *entity, const char *if_match,
                           cw_put_result *res, cw_diag *d)
{
    const cw_store_entity_ops *ops;
    STORE_OPS(s, entities, ops, d);
    cw_err err = check_entity_arg(entity, d);
    if (err)
        return err;
    cw_put_result local;
    json_t *const one[1] = {entity};
    const char *const im[1] = {if_match};
    return ops->put(s, one, if_match ? im : NULL, 1, res ? res : &local, d);
}

cw_err cw_store_entity_put_many(cw_store *s, json_t *const *entities, size_t n,
                                cw_put_result *results, cw_diag *d)
{
    const cw_store_entity_ops *ops;
    STORE_OPS(s, entities, ops, d);
    if (n == 0)
        return CW_OK;
    if (!entities || !results)
        return cw_fail(d, CW_ERR_INVALID, "entities: no input or result array");
    for (size_t i = 0; i < n; i++) {
        cw_err err = check_entity_arg(entities[i], d);
        if (err) {
            cw_diag_prefix(d, "entities[%zu]", i);
            return err;
        }
    }
    return ops->put(s, entities, NULL, n, results, d);
}

cw_err cw_store_entity_get(cw_store *s, const char *kind, const char *ns,
                           const char *name, char **json_out, char etag_out[48],
                           cw_diag *d)
{
    const cw_store_entity_ops *ops;
    STORE_OPS(s, entities, ops, d);
    if (!json_out)
        return cw_fail(d, CW_ERR_INVALID, "store: no output for the entity");
    *json_out = NULL;
    char key[CW_REF_MAX];
    cw_err err = cw__entity_key(kind, ns, name, key, d);
    if (err)
        return err;
    return ops->get(s, key, json_out, etag_out, d);
}

cw_err cw_store_entity_delete(cw_store *s, const char *kind, const char *ns,
                              const char *name, const char *if_match, cw_diag *d)
{
    const cw_store_entity_ops *ops;
    STORE_OPS(s, entities, ops, d);
    char key[CW_REF_MAX];
    cw_err err = cw__entity_key(kind, ns, name, key, d);
    if (err)
        return err;
    return ops->del(s, key, if_match, d);
}

static cw_err check_filter(const cw_filter *f, cw_diag *d)
{
    if (!f)
        return CW_OK;
    if (f->n && !f->clauses)
        return cw_fail(d, CW_ERR_INVALID, "filter: clauses missing");
    for (size_t i = 0; i < f->n; i++) {
        const cw_filter_clause *c = &f->clauses[i];
        if (c->n && !c->conds)
            return cw_fail(d, CW_ERR_INVALID, "filter[%zu]: conditions missing", i);
        for (size_t j = 0; j < c->n; j++) {
            const cw_filter_cond *k = &c->conds[j];
            if (!k->key || !*k->key)
                return cw_fail(d, CW_ERR_INVALID, "filter[%zu][%zu]: empty key", i, j);
            if (k->nvalues && !k->values)
                return cw_fail(d, CW_ERR_INVALID, "filter[%zu].%s: values missing", i,
                               k->key);
            for (size_t v = 0; v < k->nvalues; v++)
                if (!k->values[v])
                    return cw_fail(d, CW_ERR_INVALID, "filter[%zu].%s: NULL value", i,
                                   k->key);
        }
    }
    return CW_OK;
}

cw_err cw_store_entity_query(cw_store *s, const cw_entity_query *q,
                             cw_entity_page *out, cw_diag *d)
{
    const cw_store_entity_ops *ops;
    STORE_OPS(s, entities, ops, d);
    if (!q || !out)
        return cw_fail(d, CW_ERR_INVALID, "query: no query or output");
    memset(out, 0, sizeof *out);
    cw_err err = check_filter(q->filter, d);
    if (err)
        return err;
    if (q->after_key && q->order_key)
        return cw_fail(d, CW_ERR_INVALID,
                       "after: keyset paging works only in entity key order");
    return ops->query(s, q, out, d);
}

cw_err cw_store_entity_facets(cw_store *s, const char *const *keys, size_t nkeys,
                              const cw_filter *filter, json_t **out, cw_diag *d)
{
    const cw_store_entity_ops *ops;
    STORE_OPS(s, entities, ops, d);
    if (!out)
        return cw_fail(d, CW_ERR_INVALID, "facets: no output");
    *out = NULL;
    if (nkeys && !keys)
        return cw_fail(d, CW_ERR_INVALID, "facets: keys missing");
    for (size_t i = 0; i < nkeys; i++)
        if (!keys[i] || !*keys[i])
            return cw_fail(d, CW_ERR_INVALID, "facet[%zu]: empty key", i);
    cw_err err = check_filter(filter, d);
    if (err)
        return err;
    return ops->facets(s, keys, nkeys, filter, out, d);
}

cw_err cw_store_entity_counts(cw_store *s, json_t **out, cw_diag *d)
{
    const cw_store_entity_ops *ops;
    STORE_OPS(s, entities, ops, d);
    if (!out)
        return cw_fail(d, CW_ERR_INVALID, "counts: no output");
    *out = NULL;
    return ops->counts(s, out, d);
}

/* ---- tokens -------------------------------------------------------------------- */

static bool valid_role(const char *r)
{
    return r && (!strcmp(r, "admin") || !strcmp(r, "editor") || !strcmp(r, "viewer") ||
                 !strcmp(r, "ingest"));
}

cw_err cw_store_token_create(cw_store *s, const char *name, const char *role,
                             const char *team, const char *secret_hash,
                             cw_token *out, cw_diag *d)
{
    return cw_store_token_create_sources(s, name, role, team, "", secret_hash, out, d);
}

/* Prefixes one per line: each non-empty, no other control characters. */
static cw_err check_sources(const char *sources, cw_diag *d)
{
    if (strlen(sources) >= CW_TOKEN_SOURCES_MAX)
        return cw_fail(d, CW_ERR_INVALID, "sources: longer than %d characters in all",
                       CW_TOKEN_SOURCES_MAX - 1);
    if (!*sources)
        return CW_OK;
    size_t k = 1;
    for (const char *p = sources;; k++) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n == 0)
            return cw_fail(d, CW_ERR_INVALID, "sources: prefix %zu is empty", k);
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
                return cw_fail(d, CW_ERR_INVALID,
                               "sources: prefix %zu contains a control character", k);
        if (!nl)
            return CW_OK;
        p = nl + 1;
    }
}

cw_err cw_store_token_create_sources(cw_store *s, const char *name, const char *role,
                                     const char *team, const char *sources,
                                     const char *secret_hash, cw_token *out, cw_diag *d)
{
    const cw_store_token_ops *ops;
    STORE_OPS(s, tokens, ops, d);
    if (!name || !*name)
        return cw_fail(d, CW_ERR_INVALID, "name: must not be empty");
    if (strlen(name) >= sizeof out->name)
        return cw_fail(d, CW_ERR_INVALID, "name: longer than %zu characters",
                       sizeof out->name - 1);
    if (!valid_role(role))
        return cw_fail(d, CW_ERR_INVALID,
                       "role: must be one of admin, editor, viewer, ingest");
    if (!team)
        team = "";
    if (strlen(team) >= sizeof out->team)
        return cw_fail(d, CW_ERR_INVALID, "team: longer than %zu characters",
                       sizeof out->team - 1);
    if (!sources)
        sources = "";
    cw_err err = check_sources(sources, d);
    if (err)
        return err;
    if (!cw__is_sha256_hex(secret_hash))
        return cw_fail(d, CW_ERR_INVALID,
                       "hash: must be the 64 lower-case hex digits of a SHA-256");
    cw_token local;
    return ops->create(s, name, role, team, sources, secret_hash, (int64_t)time(NULL),
                       out ? out : &local, d);
}

cw_err cw_store_token_find(cw_store *s, const char *secret_hash, cw_token *out,
                           cw_diag *d)
{
    const cw_store_token_ops *ops;
    STORE_OPS(s, tokens, ops, d);
    if (!out)
        return cw_fail(d, CW_ERR_INVALID, "token: no output");
    if (!cw__is_sha256_hex(secret_hash))
        return cw_fail(d, CW_ERR_NOT_FOUND, "token: not found");
    return ops->find(s, secret_hash, out, d);
}

cw_err cw_store_token_touch(cw_store *s, int64_t id, int64_t now, cw_diag *d)
{
    const cw_store_token_ops *ops;
    STORE_OPS(s, tokens, ops, d);
    return ops->touch(s, id, now, d);
}

cw_err cw_store_token_touch_many(cw_store *s, const cw_token_use *uses, size_t n, bool nowait,
                                 cw_diag *d)
{
    const cw_store_token_ops *ops;
    STORE_OPS(s, tokens, ops, d);
    if (n == 0)
        return CW_OK;
    if (!uses)
        return cw_fail(d, CW_ERR_INVALID, "tokens: no uses");
    if (!ops->touch_many)
        return cw_fail(d, CW_ERR_UNSUPPORTED, "tokens: touch_many not supported");
    return ops->touch_many(s, uses, n, nowait, d);
}

cw_err cw_store_token_list(cw_store *s, cw_token **out, size_t *n, cw_diag *d)
{
    const cw_store_token_ops *ops;
    STORE_OPS(s, tokens, ops, d);
    if (!out || !n)
        return cw_fail(d, CW_ERR_INVALID, "tokens: no output");
    *out = NULL;
    *n = 0;
    return ops->list(s, out, n, d);
}

cw_err cw_store_token_revoke(cw_store *s, int64_t id, int64_t now, cw_diag *d)
{
    const cw_store_token_ops *ops;
    STORE_OPS(s, tokens, ops, d);
    return ops->revoke(s, id, now, d);
}
