/*
 * sqlite_tokens.c — API tokens in SQLite: only the SHA-256 of a secret is
 * stored; lookups by hash use the UNIQUE index. Arguments arrive checked
 * (store.c).
 */
#include "store/sqlite_int.h"

#include <stdlib.h>
#include <string.h>

#define TOKEN_COLS "id, name, role, team, created_at, last_used_at, revoked_at, sources"

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void row_to_token(sqlite3_stmt *st, cw_token *t)
{
    memset(t, 0, sizeof *t);
    t->id = sqlite3_column_int64(st, 0);
    copy_str(t->name, sizeof t->name, cw__col_text(st, 1));
    copy_str(t->role, sizeof t->role, cw__col_text(st, 2));
    copy_str(t->team, sizeof t->team, cw__col_text(st, 3));
    t->created_at = sqlite3_column_int64(st, 4);
    t->last_used_at = sqlite3_column_int64(st, 5); /* NULL reads as 0 */
    t->revoked_at = sqlite3_column_int64(st, 6);
    copy_str(t->sources, sizeof t->sources, cw__col_text(st, 7));
}

static cw_err tok_create(cw_store *store, const char *name, const char *role,
                         const char *team, const char *sources, const char *secret_hash,
                         int64_t now, cw_token *out, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c;
    cw_err err = cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    sqlite3_stmt *st = NULL;
    err = cw__sqlite_stmt(c,
                          "INSERT INTO tokens (name, role, team, hash, created_at, sources) "
                          "VALUES (?, ?, ?, ?, ?, ?) RETURNING " TOKEN_COLS,
                          &st, d);
    if (err)
        goto out;
    cw__bind_text(st, 1, name);
    cw__bind_text(st, 2, role);
    cw__bind_text(st, 3, team);
    cw__bind_text(st, 4, secret_hash);
    cw__bind_int64(st, 5, now);
    cw__bind_text(st, 6, sources);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        row_to_token(st, out);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
        err = cw_fail(d, CW_ERR_CONFLICT, "hash: a token with this secret already exists");
    else if (rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "token create");
out:
    cw__sqlite_done(c, st);
    return cw__sqlite_write_end(s, c, err, d);
}

static cw_err tok_find(cw_store *store, const char *secret_hash, cw_token *out,
                       cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c,
                                 "SELECT " TOKEN_COLS " FROM tokens "
                                 "WHERE hash = ? AND revoked_at IS NULL",
                                 &st, d);
    if (err)
        goto out;
    cw__bind_text(st, 1, secret_hash);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        row_to_token(st, out);
    else if (rc == SQLITE_DONE)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "token: not found or revoked");
    else
        err = cw__sqlite_fail(c, rc, d, "token find");
out:
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    return err;
}

/* Runs an UPDATE of one token by id; NOT_FOUND when no such token exists. */
static cw_err tok_update(cw_store *store, const char *sql, int64_t id, int64_t now,
                         const char *what, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c;
    cw_err err = cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    sqlite3_stmt *st = NULL, *ex = NULL;
    err = cw__sqlite_stmt(c, sql, &st, d);
    if (err)
        goto out;
    cw__bind_int64(st, 1, now);
    cw__bind_int64(st, 2, id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
        err = cw__sqlite_fail(c, rc, d, what);
        goto out;
    }
    if (sqlite3_changes(c->db) > 0)
        goto out;
    /* nothing changed: absent, or already in the requested state */
    err = cw__sqlite_stmt(c, "SELECT 1 FROM tokens WHERE id = ?", &ex, d);
    if (err)
        goto out;
    cw__bind_int64(ex, 1, id);
    rc = sqlite3_step(ex);
    if (rc == SQLITE_DONE)
        err = cw_fail(d, CW_ERR_NOT_FOUND, "token %lld: not found", (long long)id);
    else if (rc != SQLITE_ROW)
        err = cw__sqlite_fail(c, rc, d, what);
out:
    cw__sqlite_done(c, ex);
    cw__sqlite_done(c, st);
    return cw__sqlite_write_end(s, c, err, d);
}

static cw_err tok_touch(cw_store *store, int64_t id, int64_t now, cw_diag *d)
{
    return tok_update(store, "UPDATE tokens SET last_used_at = ? WHERE id = ?", id, now,
                      "token touch", d);
}

static cw_err tok_revoke(cw_store *store, int64_t id, int64_t now, cw_diag *d)
{
    /* revoking twice keeps the first revocation time */
    return tok_update(store,
                      "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                      id, now, "token revoke", d);
}

static cw_err tok_touch_many(cw_store *store, const cw_token_use *uses, size_t n, bool nowait,
                             cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c;
    cw_err err = nowait ? cw__sqlite_write_try_begin(s, &c, d) : cw__sqlite_write_begin(s, &c, d);
    if (err)
        return err;
    sqlite3_stmt *st = NULL;
    err = cw__sqlite_stmt(c,
                          "UPDATE tokens SET last_used_at = ?1 WHERE id = ?2 AND "
                          "(last_used_at IS NULL OR last_used_at < ?1)",
                          &st, d);
    for (size_t i = 0; !err && i < n; i++) {
        cw__bind_int64(st, 1, uses[i].at);
        cw__bind_int64(st, 2, uses[i].id);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            err = cw__sqlite_fail(c, rc, d, "token touch");
        sqlite3_reset(st);
    }
    cw__sqlite_done(c, st);
    return cw__sqlite_write_end(s, c, err, d);
}

static cw_err tok_list(cw_store *store, cw_token **out, size_t *n, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(store);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL;
    cw_token *arr = NULL;
    size_t len = 0, cap = 0;
    cw_err err = cw__sqlite_stmt(c, "SELECT " TOKEN_COLS " FROM tokens ORDER BY id", &st,
                                 d);
    if (err)
        goto out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            cw_token *p = realloc(arr, ncap * sizeof *p);
            if (!p) {
                err = cw_fail(d, CW_ERR_NOMEM, "tokens: out of memory");
                goto out;
            }
            arr = p;
            cap = ncap;
        }
        row_to_token(st, &arr[len++]);
    }
    if (rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "token list");
out:
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

const cw_store_token_ops cw__sqlite_token_ops = {
    .create = tok_create,
    .find = tok_find,
    .touch = tok_touch,
    .list = tok_list,
    .revoke = tok_revoke,
    .touch_many = tok_touch_many,
};
