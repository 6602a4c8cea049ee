/*
 * sql_tokens.c — API tokens (store.h) on both backends, through the
 * statement layer (sql.h): only the SHA-256 of a secret is stored; lookups
 * by hash use the UNIQUE index. Every operation but the batched "last
 * used" update is one statement. Arguments arrive checked (store.c).
 */
#include "store/sql.h"

#include <stdlib.h>
#include <string.h>

#define TOKEN_COLS "id, name, role, team, created_at, last_used_at, revoked_at, sources"

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void row_to_token(cw__sql_stmt *st, cw_token *t)
{
    memset(t, 0, sizeof *t);
    t->id = cw__sql_int(st, 0);
    copy_str(t->name, sizeof t->name, cw__sql_text(st, 1));
    copy_str(t->role, sizeof t->role, cw__sql_text(st, 2));
    copy_str(t->team, sizeof t->team, cw__sql_text(st, 3));
    t->created_at = cw__sql_int(st, 4);
    t->last_used_at = cw__sql_int(st, 5); /* NULL reads as 0 */
    t->revoked_at = cw__sql_int(st, 6);
    copy_str(t->sources, sizeof t->sources, cw__sql_text(st, 7));
}

typedef struct {
    const char *name, *role, *team, *sources, *hash;
    int64_t now;
    cw_token *out;
} create_ctx;

static cw_err create_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    create_ctx *x = ctx;
    if (!cw__sql_text_ok(c, x->name))
        return cw_fail(d, CW_ERR_INVALID, "name: not valid UTF-8");
    if (!cw__sql_text_ok(c, x->team))
        return cw_fail(d, CW_ERR_INVALID, "team: not valid UTF-8");
    if (!cw__sql_text_ok(c, x->sources))
        return cw_fail(d, CW_ERR_INVALID, "sources: not valid UTF-8");
    cw__sql_stmt st;
    bool row = false;
    cw_err err = cw__sql_prepare(c,
                                 "INSERT INTO tokens (name, role, team, hash, created_at, "
                                 "sources) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING " TOKEN_COLS,
                                 &st, d);
    if (!err) {
        cw__sql_bind_vals(&st,
                          (const cw__sqlv[]){CW__SQL_TEXT(x->name), CW__SQL_TEXT(x->role),
                                             CW__SQL_TEXT(x->team), CW__SQL_TEXT(x->hash),
                                             CW__SQL_INT(x->now), CW__SQL_TEXT(x->sources)},
                          6);
        err = cw__sql_step(&st, &row, d);
    }
    if (!err && row) {
        row_to_token(&st, x->out);
        err = cw__sql_run(&st, d);
    } else if (!err) {
        err = cw_fail(d, CW_ERR_IO, "database: token create returned no row");
    }
    cw__sql_done(&st);
    if (err == CW_ERR_CONFLICT)
        err = cw_fail(d, CW_ERR_CONFLICT, "hash: a token with this secret already exists");
    return err;
}

static cw_err tok_create(cw_store *s, const char *name, const char *role, const char *team,
                         const char *sources, const char *secret_hash, int64_t now,
                         cw_token *out, cw_diag *d)
{
    create_ctx x = {name, role, team, sources, secret_hash, now, out};
    return cw__sql_tx(s, CW__SQL_WRITE_ONE, create_tx, &x, d);
}

typedef struct {
    const char *hash;
    cw_token *out;
} find_ctx;

static cw_err find_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    find_ctx *x = ctx;
    cw__sql_stmt st;
    bool row = false;
    cw_err err = cw__sql_prepare(c,
                                 "SELECT " TOKEN_COLS " FROM tokens "
                                 "WHERE hash = ?1 AND revoked_at IS NULL",
                                 &st, d);
    if (!err) {
        cw__sql_bind_text(&st, 1, x->hash);
        err = cw__sql_step(&st, &row, d);
    }
    if (!err && row)
        row_to_token(&st, x->out);
    else if (!err)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "token: not found or revoked");
    cw__sql_done(&st);
    return err;
}

static cw_err tok_find(cw_store *s, const char *secret_hash, cw_token *out, cw_diag *d)
{
    find_ctx x = {secret_hash, out};
    return cw__sql_tx(s, CW__SQL_READ_ONE, find_tx, &x, d);
}

typedef struct {
    const char *sql;
    int64_t id, now;
} update_ctx;

/* One UPDATE of a token by id that touches its row whenever it exists:
 * no row changed means no such token. */
static cw_err update_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    update_ctx *x = ctx;
    int64_t changed = 0;
    cw_err err = CW__SQL_EXEC(c, &changed, d, x->sql, CW__SQL_INT(x->now), CW__SQL_INT(x->id));
    if (!err && changed == 0)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "token %lld: not found", (long long)x->id);
    return err;
}

static cw_err tok_touch(cw_store *s, int64_t id, int64_t now, cw_diag *d)
{
    update_ctx x = {"UPDATE tokens SET last_used_at = ?1 WHERE id = ?2", id, now};
    return cw__sql_tx(s, CW__SQL_WRITE_ONE, update_tx, &x, d);
}

static cw_err tok_revoke(cw_store *s, int64_t id, int64_t now, cw_diag *d)
{
    /* revoking twice keeps the first revocation time */
    update_ctx x = {"UPDATE tokens SET revoked_at = coalesce(revoked_at, ?1) WHERE id = ?2", id,
                    now};
    return cw__sql_tx(s, CW__SQL_WRITE_ONE, update_tx, &x, d);
}

typedef struct {
    const cw_token_use *uses;
    size_t n;
    bool nowait;
} touch_ctx;

static cw_err touch_many_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    touch_ctx *x = ctx;
    cw_err err = CW_OK;
    /* nowait: a row another instance holds is not waited for (PostgreSQL:
     * lock class 55, CW_ERR_BUSY); SQLite's writer was taken without
     * waiting already */
    const char *sql = x->nowait ? "UPDATE tokens SET last_used_at = ?1 WHERE id = ?2 AND "
                                  "(last_used_at IS NULL OR last_used_at < ?1) AND id IN "
                                  "(SELECT id FROM tokens WHERE id = ?2 FOR UPDATE NOWAIT)"
                                : "UPDATE tokens SET last_used_at = ?1 WHERE id = ?2 AND "
                                  "(last_used_at IS NULL OR last_used_at < ?1)";
    for (size_t i = 0; !err && i < x->n; i++)
        err = CW__SQL_EXEC(c, NULL, d, sql, CW__SQL_INT(x->uses[i].at),
                           CW__SQL_INT(x->uses[i].id));
    return err;
}

static cw_err tok_touch_many(cw_store *s, const cw_token_use *uses, size_t n, bool nowait,
                             cw_diag *d)
{
    touch_ctx x = {uses, n, nowait};
    return cw__sql_tx(s, nowait ? CW__SQL_WRITE_TRY : CW__SQL_WRITE, touch_many_tx, &x, d);
}

typedef struct {
    cw_token *arr;
    size_t len, cap;
} list_ctx;

static cw_err list_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    list_ctx *x = ctx;
    cw__sql_stmt st;
    bool row = false;
    cw_err err = cw__sql_prepare(c, "SELECT " TOKEN_COLS " FROM tokens ORDER BY id", &st, d);
    while (!err && !(err = cw__sql_step(&st, &row, d)) && row) {
        if ((err = cw__grow((void **)&x->arr, &x->cap, x->len, sizeof *x->arr, d)))
            break;
        row_to_token(&st, &x->arr[x->len++]);
    }
    cw__sql_done(&st);
    return err;
}

static cw_err tok_list(cw_store *s, cw_token **out, size_t *n, cw_diag *d)
{
    list_ctx x = {0};
    cw_err err = cw__sql_tx(s, CW__SQL_READ_ONE, list_tx, &x, d);
    if (err) {
        free(x.arr);
        return err;
    }
    *out = x.arr;
    *n = x.len;
    return CW_OK;
}

const cw_store_token_ops cw__sql_token_ops = {
    .create = tok_create,
    .find = tok_find,
    .touch = tok_touch,
    .list = tok_list,
    .revoke = tok_revoke,
    .touch_many = tok_touch_many,
};
