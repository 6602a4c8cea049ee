/*
 * postgres_tokens.c — API tokens in PostgreSQL: only the SHA-256 of a
 * secret is stored; lookups by hash use the UNIQUE index. Each operation is
 * one statement (autocommit). Arguments arrive checked (store.c).
 */
#include "store/postgres_int.h"

#include <stdlib.h>
#include <string.h>

#define TOKEN_COLS "id, name, role, team, created_at, last_used_at, revoked_at, sources"

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void row_to_token(const PGresult *r, int row, cw_token *t)
{
    memset(t, 0, sizeof *t);
    t->id = cw__pg_int(r, row, 0);
    copy_str(t->name, sizeof t->name, cw__pg_text(r, row, 1));
    copy_str(t->role, sizeof t->role, cw__pg_text(r, row, 2));
    copy_str(t->team, sizeof t->team, cw__pg_text(r, row, 3));
    t->created_at = cw__pg_int(r, row, 4);
    t->last_used_at = cw__pg_int(r, row, 5); /* NULL reads as 0 */
    t->revoked_at = cw__pg_int(r, row, 6);
    copy_str(t->sources, sizeof t->sources, cw__pg_text(r, row, 7));
}

static cw_err tok_create(cw_store *store, const char *name, const char *role,
                         const char *team, const char *sources, const char *secret_hash,
                         int64_t now, cw_token *out, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    if (s->read_only)
        return cw_fail(d, CW_ERR_UNSUPPORTED, "database: opened read-only");
    if (!cw__pg_utf8(name))
        return cw_fail(d, CW_ERR_INVALID, "name: not valid UTF-8");
    if (!cw__pg_utf8(team))
        return cw_fail(d, CW_ERR_INVALID, "team: not valid UTF-8");
    if (!cw__pg_utf8(sources))
        return cw_fail(d, CW_ERR_INVALID, "sources: not valid UTF-8");
    cw__pg_conn *c = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (err)
        return err;
    char nb[24];
    const char *p[] = {name, role, team, secret_hash, cw__pg_i64(nb, now), sources};
    PGresult *r = NULL;
    err = cw__pg_exec(c,
                      "INSERT INTO tokens (name, role, team, hash, created_at, sources) "
                      "VALUES ($1, $2, $3, $4, $5, $6) RETURNING " TOKEN_COLS,
                      6, p, &r, d);
    if (err == CW_ERR_CONFLICT)
        err = cw_fail(d, CW_ERR_CONFLICT, "hash: a token with this secret already exists");
    else if (!err && PQntuples(r) == 1)
        row_to_token(r, 0, out);
    else if (!err)
        err = cw_fail(d, CW_ERR_IO, "database: token create returned no row");
    PQclear(r);
    cw__pg_release(s, c);
    return err;
}

static cw_err tok_find(cw_store *store, const char *secret_hash, cw_token *out,
                       cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    cw__pg_conn *c = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (err)
        return err;
    const char *p[] = {secret_hash};
    PGresult *r = NULL;
    err = cw__pg_exec(c,
                      "SELECT " TOKEN_COLS " FROM tokens "
                      "WHERE hash = $1 AND revoked_at IS NULL",
                      1, p, &r, d);
    if (!err && PQntuples(r) == 1)
        row_to_token(r, 0, out);
    else if (!err)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "token: not found or revoked");
    PQclear(r);
    cw__pg_release(s, c);
    return err;
}

/* Runs an UPDATE of one token by id; NOT_FOUND when no such token exists.
 * One statement: the EXISTS arm tells "absent" from "already in the state". */
static cw_err tok_update(cw_store *store, const char *sql, int64_t id, int64_t now,
                         cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    if (s->read_only)
        return cw_fail(d, CW_ERR_UNSUPPORTED, "database: opened read-only");
    cw__pg_conn *c = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (err)
        return err;
    char nb[24], ib[24];
    const char *p[] = {cw__pg_i64(nb, now), cw__pg_i64(ib, id)};
    PGresult *r = NULL;
    err = cw__pg_exec(c, sql, 2, p, &r, d);
    if (!err && (PQntuples(r) != 1 || strcmp(cw__pg_text(r, 0, 0), "t") != 0))
        err = cw_fail(d, CW_ERR_NOT_FOUND, "token %lld: not found", (long long)id);
    PQclear(r);
    cw__pg_release(s, c);
    return err;
}

static cw_err tok_touch(cw_store *store, int64_t id, int64_t now, cw_diag *d)
{
    return tok_update(store,
                      "WITH u AS (UPDATE tokens SET last_used_at = $1 WHERE id = $2 "
                      "RETURNING 1) SELECT EXISTS (SELECT 1 FROM tokens WHERE id = $2)",
                      id, now, d);
}

static cw_err tok_touch_many(cw_store *store, const cw_token_use *uses, size_t n, bool nowait,
                             cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    if (s->read_only)
        return cw_fail(d, CW_ERR_UNSUPPORTED, "database: opened read-only");
    cw__pg_array ids, ats;
    cw__pg_array_init(&ids);
    cw__pg_array_init(&ats);
    cw_err err = CW_OK;
    for (size_t i = 0; !err && i < n; i++)
        if (cw__pg_array_add_i64(&ids, uses[i].id) || cw__pg_array_add_i64(&ats, uses[i].at))
            err = cw_fail(d, CW_ERR_NOMEM, "tokens: out of memory");
    const char *p[] = {cw__pg_array_text(&ids), cw__pg_array_text(&ats)};
    if (!err && (!p[0] || !p[1]))
        err = cw_fail(d, CW_ERR_NOMEM, "tokens: out of memory");
    cw__pg_conn *c = NULL;
    if (!err)
        err = cw__pg_acquire(s, &c, d);
    PGresult *r = NULL;
    /* the rows are locked first, without waiting when asked (lock class 55:
     * CW_ERR_BUSY), then updated in the same statement */
    if (!err)
        err = cw__pg_exec(c,
                          nowait ? "UPDATE tokens t SET last_used_at = u.at"
                                   " FROM unnest($1::bigint[], $2::bigint[]) AS u(id, at)"
                                   " WHERE t.id = u.id AND (t.last_used_at IS NULL OR"
                                   " t.last_used_at < u.at) AND t.id IN (SELECT id FROM tokens"
                                   " WHERE id = ANY($1::bigint[]) FOR UPDATE NOWAIT)"
                                 : "UPDATE tokens t SET last_used_at = u.at"
                                   " FROM unnest($1::bigint[], $2::bigint[]) AS u(id, at)"
                                   " WHERE t.id = u.id AND (t.last_used_at IS NULL OR"
                                   " t.last_used_at < u.at)",
                          2, p, &r, d);
    PQclear(r);
    if (c)
        cw__pg_release(s, c);
    cw__pg_array_free(&ids);
    cw__pg_array_free(&ats);
    return err;
}

static cw_err tok_revoke(cw_store *store, int64_t id, int64_t now, cw_diag *d)
{
    /* revoking twice keeps the first revocation time */
    return tok_update(store,
                      "WITH u AS (UPDATE tokens SET revoked_at = $1 WHERE id = $2 "
                      "AND revoked_at IS NULL RETURNING 1) "
                      "SELECT EXISTS (SELECT 1 FROM tokens WHERE id = $2)",
                      id, now, d);
}

static cw_err tok_list(cw_store *store, cw_token **out, size_t *n, cw_diag *d)
{
    cw_pg *s = cw__pg(store);
    cw__pg_conn *c = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (err)
        return err;
    PGresult *r = NULL;
    cw_token *arr = NULL;
    err = cw__pg_exec(c, "SELECT " TOKEN_COLS " FROM tokens ORDER BY id", 0, NULL, &r, d);
    int rows = err ? 0 : PQntuples(r);
    if (!err) {
        arr = malloc((size_t)(rows ? rows : 1) * sizeof *arr);
        if (!arr)
            err = cw_fail(d, CW_ERR_NOMEM, "tokens: out of memory");
    }
    for (int i = 0; !err && i < rows; i++)
        row_to_token(r, i, &arr[i]);
    PQclear(r);
    cw__pg_release(s, c);
    if (err) {
        free(arr);
        return err;
    }
    *out = arr;
    *n = (size_t)rows;
    return CW_OK;
}

const cw_store_token_ops cw__pg_token_ops = {
    .create = tok_create,
    .find = tok_find,
    .touch = tok_touch,
    .list = tok_list,
    .revoke = tok_revoke,
    .touch_many = tok_touch_many,
};
