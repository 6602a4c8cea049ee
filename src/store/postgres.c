/*
 * postgres.c — the PostgreSQL backend's foundation: connecting (libpq, any
 * postgres:// URL libpq accepts), the lazily filled connection pool,
 * statements prepared once per connection, error mapping, transactions
 * retried on serialization failures and deadlocks, migrations at open, the
 * core operations (ping, schema version, size) and the backend's vtable.
 */
#include "store/store_history.h"
#include "store/postgres_int.h"
#include "store/ingest_impl.h"
#include "store/incidents_impl.h"
#include "store/metrics_impl.h"
#include "store/sql.h"
#include "store/store_audit.h"
#include "store/store_heartbeats.h"
#include "store/store_rows.h"
#include "util/log.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RCACHE_MAX_BYTES ((size_t)64 << 20)

/* ---- errors -------------------------------------------------------------------- */

static bool state_prefix(const char *st, const char *prefix)
{
    return strncmp(st, prefix, strlen(prefix)) == 0;
}

/* The first line of a server or libpq message, without its trailing newline. */
static void first_line(const char *msg, char *out, size_t cap)
{
    if (!msg)
        msg = "";
    size_t n = strcspn(msg, "\n");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, msg, n);
    out[n] = '\0';
}

/* The server's full message (all lines: DETAIL, HINT…) goes to the log only. */
static void log_failure(cw_log_level level, const char *sqlstate, const char *message,
                        const char *sql)
{
    json_t *f = json_pack("{s:s, s:s, s:s}", "sqlstate", sqlstate ? sqlstate : "", "error",
                          message ? message : "", "statement", sql ? sql : "");
    cw_log(level, "database error", f);
}

cw_err cw__pg_fail(cw__pg_conn *c, const PGresult *res, cw_diag *d, const char *sql)
{
    const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *full = res ? PQresultErrorMessage(res) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char msg[300];
    /* the primary message has no "ERROR:" prefix and no DETAIL (row values) */
    first_line(primary && *primary ? primary : full, msg, sizeof msg);
    if (!msg[0] && c && c->pg) {
        full = PQerrorMessage(c->pg);
        first_line(full, msg, sizeof msg);
    }
    if (!msg[0])
        snprintf(msg, sizeof msg, "no answer from the server");
    bool retryable = st && (!strcmp(st, "40001") || !strcmp(st, "40P01"));
    if (c) {
        snprintf(c->sqlstate, sizeof c->sqlstate, "%s", st ? st : "");
        if (retryable)
            c->retry = true;
    }
    cw_err err;
    if (c && c->pg && PQstatus(c->pg) != CONNECTION_OK)
        err = CW_ERR_IO;
    else if (!st)
        err = CW_ERR_IO;
    else if (!strcmp(st, "23505"))
        err = CW_ERR_CONFLICT;
    else if (state_prefix(st, "23") || state_prefix(st, "22"))
        err = CW_ERR_INVALID;
    else if (!strcmp(st, "40001") || !strcmp(st, "40P01") || state_prefix(st, "55") ||
             !strcmp(st, "57014") || !strcmp(st, "53300"))
        err = CW_ERR_BUSY;
    else if (!strcmp(st, "25006"))
        err = CW_ERR_UNSUPPORTED;
    else if (!strcmp(st, "53200"))
        err = CW_ERR_NOMEM;
    else if (state_prefix(st, "54"))
        err = CW_ERR_TOO_LARGE;
    else if (state_prefix(st, "42") || state_prefix(st, "26") || state_prefix(st, "34"))
        err = CW_ERR_INTERNAL;
    else
        err = CW_ERR_IO;
    /* serialization failures are retried; conflicts and busy answers are
     * expected under load */
    cw_log_level level = retryable ? CW_LOG_DEBUG
                         : err == CW_ERR_CONFLICT || err == CW_ERR_BUSY ? CW_LOG_WARN
                                                                       : CW_LOG_ERROR;
    log_failure(level, st, full && *full ? full : msg, sql);
    /* the detail can reach a client (problem+json): never the statement */
    return cw_fail(d, err, "database: %s", msg);
}

/* ---- results ------------------------------------------------------------------- */

const char *cw__pg_text(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return "";
    return PQgetvalue(r, row, col);
}

int64_t cw__pg_int(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    return (int64_t)strtoll(PQgetvalue(r, row, col), NULL, 10);
}

bool cw__pg_isnull(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) != 0;
}

const char *cw__pg_i64(char *buf, int64_t v)
{
    snprintf(buf, 24, "%lld", (long long)v);
    return buf;
}

bool cw__pg_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        size_t n;
        unsigned min;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1;
            min = 0x80;
            c &= 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2;
            min = 0x800;
            c &= 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3;
            min = 0x10000;
            c &= 0x07;
        } else {
            return false;
        }
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            c = (c << 6) | (p[i] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return false;
        p += n + 1;
    }
    return true;
}

/* ---- array literals --------------------------------------------------------------- */

void cw__pg_array_init(cw__pg_array *a)
{
    cw_buf_init(&a->buf, 0);
    a->n = 0;
    a->closed = false;
}

void cw__pg_array_free(cw__pg_array *a)
{
    cw_buf_free(&a->buf);
    a->n = 0;
    a->closed = false;
}

void cw__pg_array_reset(cw__pg_array *a)
{
    cw_buf_reset(&a->buf);
    a->n = 0;
    a->closed = false;
}

/* Reopens a literal closed by cw__pg_array_text. */
static void reopen(cw__pg_array *a)
{
    if (a->closed) {
        a->buf.data[--a->buf.len] = '\0';
        a->closed = false;
    }
}

cw_err cw__pg_array_add(cw__pg_array *a, const char *s)
{
    reopen(a);
    cw_err err = cw_buf_putc(&a->buf, a->n ? ',' : '{');
    if (err)
        return err;
    if (!s) {
        err = cw_buf_puts(&a->buf, "NULL");
    } else {
        /* always quoted: only " and \ need escaping inside the quotes */
        err = cw_buf_putc(&a->buf, '"');
        for (const char *p = s; !err && *p; p++) {
            if (*p == '"' || *p == '\\')
                err = cw_buf_putc(&a->buf, '\\');
            if (!err)
                err = cw_buf_putc(&a->buf, *p);
        }
        if (!err)
            err = cw_buf_putc(&a->buf, '"');
    }
    if (!err)
        a->n++;
    return err;
}

cw_err cw__pg_array_addn(cw__pg_array *a, const char *s, size_t n)
{
    reopen(a);
    cw_err err = cw_buf_putc(&a->buf, a->n ? ',' : '{');
    if (!err)
        err = cw_buf_putc(&a->buf, '"');
    for (size_t i = 0; !err && i < n; i++) {
        if (s[i] == '"' || s[i] == '\\')
            err = cw_buf_putc(&a->buf, '\\');
        if (!err)
            err = cw_buf_putc(&a->buf, s[i]);
    }
    if (!err)
        err = cw_buf_putc(&a->buf, '"');
    if (!err)
        a->n++;
    return err;
}

cw_err cw__pg_array_add_bytea(cw__pg_array *a, const void *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *b = p;
    reopen(a);
    /* "\\x<hex>": bytea's hex input, its backslash escaped for the array */
    cw_err err = cw_buf_putc(&a->buf, a->n ? ',' : '{');
    if (!err)
        err = cw_buf_puts(&a->buf, "\"\\\\x");
    for (size_t i = 0; !err && i < n; i++) {
        char h[2] = {hex[b[i] >> 4], hex[b[i] & 15]};
        err = cw_buf_add(&a->buf, h, 2);
    }
    if (!err)
        err = cw_buf_putc(&a->buf, '"');
    if (!err)
        a->n++;
    return err;
}

cw_err cw__pg_bytea(const PGresult *r, int row, int col, cw_buf *out)
{
    const char *t = PQgetvalue(r, row, col);
    size_t n = (size_t)PQgetlength(r, row, col);
    cw_buf_reset(out);
    if (n < 2 || t[0] != '\\' || t[1] != 'x' || n % 2)
        return CW_ERR_IO;
    for (size_t i = 2; i < n; i += 2) {
        int hi = t[i] <= '9' ? t[i] - '0' : (t[i] | 32) - 'a' + 10;
        int lo = t[i + 1] <= '9' ? t[i + 1] - '0' : (t[i + 1] | 32) - 'a' + 10;
        if (hi < 0 || hi > 15 || lo < 0 || lo > 15)
            return CW_ERR_IO;
        char c = (char)(hi << 4 | lo);
        cw_buf_add(out, &c, 1);
    }
    return cw_buf_error(out);
}

cw_err cw__pg_array_add_i64(cw__pg_array *a, int64_t v)
{
    char b[24];
    reopen(a);
    cw_err err = cw_buf_putc(&a->buf, a->n ? ',' : '{');
    if (!err)
        err = cw_buf_puts(&a->buf, cw__pg_i64(b, v));
    if (!err)
        a->n++;
    return err;
}

const char *cw__pg_array_text(cw__pg_array *a)
{
    if (!a->n)
        return "{}";
    if (!a->closed) {
        if (cw_buf_putc(&a->buf, '}'))
            return NULL;
        a->closed = true;
    }
    return a->buf.data;
}

/* ---- statements ---------------------------------------------------------------- */

static void stmts_clear(cw__pg_conn *c)
{
    for (size_t i = 0; i < c->nstmts; i++)
        free(c->stmts[i].sql);
    c->nstmts = 0;
}

/* Takes ownership of res: hands it out or clears it. */
static cw_err finish(cw__pg_conn *c, PGresult *res, PGresult **out, cw_diag *d,
                     const char *sql)
{
    ExecStatusType st = PQresultStatus(res);
    if (res && (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)) {
        c->sqlstate[0] = '\0';
        if (out)
            *out = res;
        else
            PQclear(res);
        return CW_OK;
    }
    cw_err err = res ? cw__pg_fail(c, res, d, sql)
                     : cw_fail(d, CW_ERR_NOMEM, "database: out of memory");
    PQclear(res);
    return err;
}

cw_err cw__pg_exec_dyn(cw__pg_conn *c, const char *sql, int n, const char *const *params,
                       PGresult **out, cw_diag *d)
{
    if (out)
        *out = NULL;
    PGresult *res = PQexecParams(c->pg, sql, n, NULL, params, NULL, NULL, 0);
    return finish(c, res, out, d, sql);
}

const cw__pg_stmt *cw__pg_stmt_find(cw__pg_conn *c, const char *sql)
{
    /* most callers pass constants: found again by address, without hashing */
    for (size_t i = 0; i < c->nstmts; i++)
        if (c->stmts[i].from == sql && !strcmp(c->stmts[i].sql, sql))
            return &c->stmts[i];
    uint64_t h = cw__hash_sql(sql);
    for (size_t i = 0; i < c->nstmts; i++)
        if (c->stmts[i].hash == h && !strcmp(c->stmts[i].sql, sql)) {
            c->stmts[i].from = sql;
            return &c->stmts[i];
        }
    return NULL;
}

cw_err cw__pg_stmt_add(cw__pg_conn *c, const char *sql, const char *text, int nparams,
                       const cw__pg_stmt **out, cw_diag *d)
{
    *out = NULL;
    if (c->nstmts == CW_PG_STMT_CACHE)
        return CW_OK;
    size_t len = strlen(sql) + 1;
    char *copy = malloc(len);
    if (!copy)
        return cw_fail(d, CW_ERR_NOMEM, "database: out of memory preparing a statement");
    memcpy(copy, sql, len);
    cw__pg_stmt *e = &c->stmts[c->nstmts];
    snprintf(e->name, sizeof e->name, "cw%u", c->next_name++);
    cw_err err = finish(c, PQprepare(c->pg, e->name, text, 0, NULL), NULL, d, text);
    if (err) {
        free(copy);
        return err;
    }
    e->hash = cw__hash_sql(sql);
    e->sql = copy;
    e->from = sql;
    e->nparams = nparams;
    c->nstmts++;
    *out = e;
    return CW_OK;
}

cw_err cw__pg_exec(cw__pg_conn *c, const char *sql, int n, const char *const *params,
                   PGresult **out, cw_diag *d)
{
    if (out)
        *out = NULL;
    const cw__pg_stmt *e = cw__pg_stmt_find(c, sql);
    if (!e) {
        cw_err err = cw__pg_stmt_add(c, sql, sql, n, &e, d);
        if (err)
            return err;
        if (!e)
            return cw__pg_exec_dyn(c, sql, n, params, out, d);
    }
    PGresult *res = PQexecPrepared(c->pg, e->name, n, params, NULL, NULL, 0);
    return finish(c, res, out, d, sql);
}

cw_err cw__pg_cmd(cw__pg_conn *c, const char *sql, cw_diag *d)
{
    return finish(c, PQexec(c->pg, sql), NULL, d, sql);
}

/* ---- connections ------------------------------------------------------------------ */

static void quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static void conn_close(cw__pg_conn *c)
{
    stmts_clear(c);
    if (c->pg)
        PQfinish(c->pg);
    c->pg = NULL;
}

static cw_err conn_open(cw_pg *s, cw__pg_conn *c, cw_diag *d)
{
    conn_close(c);
    const char *keys[] = {"dbname", "fallback_application_name", "client_encoding", NULL};
    const char *vals[] = {s->url, "conway", "UTF8", NULL};
    c->pg = PQconnectdbParams(keys, vals, 1);
    if (!c->pg)
        return cw_fail(d, CW_ERR_NOMEM, "database: out of memory connecting");
    if (PQstatus(c->pg) != CONNECTION_OK) {
        char msg[300];
        first_line(PQerrorMessage(c->pg), msg, sizeof msg);
        conn_close(c);
        return cw_fail(d, CW_ERR_IO, "database: cannot connect: %s", msg);
    }
    PQsetNoticeProcessor(c->pg, quiet_notices, NULL);
    /* acknowledged means committed: never let a server default of
     * synchronous_commit=off through (stronger settings are kept) */
    cw_err err = cw__pg_cmd(c,
                            "SET client_min_messages = warning;"
                            "SELECT set_config('synchronous_commit', 'on', false) "
                            "WHERE current_setting('synchronous_commit') = 'off'",
                            d);
    if (!err && s->read_only)
        err = cw__pg_cmd(c, "SET default_transaction_read_only = on", d);
    if (err)
        conn_close(c);
    return err;
}

cw_err cw__pg_acquire(cw_pg *s, cw__pg_conn **out, cw_diag *d)
{
    pthread_mutex_lock(&s->pool_mu);
    while (!s->free_conns)
        pthread_cond_wait(&s->pool_cv, &s->pool_mu);
    cw__pg_conn *c = s->free_conns;
    s->free_conns = c->next_free;
    pthread_mutex_unlock(&s->pool_mu);
    c->retry = false;
    c->sqlstate[0] = '\0';
    cw_err err = CW_OK;
    if (c->pg && PQstatus(c->pg) == CONNECTION_OK) {
        /* an idle connection (conway never LISTENs) has nothing to read
         * unless the server is closing it (restart, termination, idle
         * timeout): notice that here rather than mid-query */
        struct pollfd pfd = {PQsocket(c->pg), POLLIN, 0};
        if (poll(&pfd, 1, 0) != 0)
            conn_close(c);
    }
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK)
        err = conn_open(s, c, d);
    if (err) {
        cw__pg_release(s, c);
        *out = NULL;
        return err;
    }
    *out = c;
    return CW_OK;
}

void cw__pg_release(cw_pg *s, cw__pg_conn *c)
{
    if (!c)
        return;
    if (c->pg && PQstatus(c->pg) == CONNECTION_OK &&
        PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        PQclear(PQexec(c->pg, "ROLLBACK"));
    if (c->pg && (PQstatus(c->pg) != CONNECTION_OK ||
                  PQtransactionStatus(c->pg) != PQTRANS_IDLE))
        conn_close(c);
    pthread_mutex_lock(&s->pool_mu);
    c->next_free = s->free_conns;
    s->free_conns = c;
    pthread_cond_signal(&s->pool_cv);
    pthread_mutex_unlock(&s->pool_mu);
}

/* ---- transactions -------------------------------------------------------------------- */

static bool conn_lost(const cw__pg_conn *c)
{
    return !c->pg || PQstatus(c->pg) != CONNECTION_OK;
}

/* COMMIT of a transaction that had failed answers ROLLBACK: an error too. */
static cw_err commit(cw__pg_conn *c, cw_diag *d)
{
    PGresult *res = PQexec(c->pg, "COMMIT");
    if (PQresultStatus(res) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        PQclear(res);
        return cw_fail(d, CW_ERR_INTERNAL, "database: the transaction had failed");
    }
    return finish(c, res, NULL, d, "COMMIT");
}

static void backoff(int attempt)
{
    static _Thread_local unsigned seed;
    if (!seed)
        seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)&seed;
    seed = seed * 1103515245u + 12345u;
    long cap_us = 1000L << (attempt < 7 ? attempt : 7); /* up to 128 ms */
    long us = 200 + (long)((seed >> 8) % (unsigned long)cap_us);
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static cw_err run_tx(cw_pg *s, const char *begin, cw__pg_tx_fn fn, void *ctx, cw_diag *d)
{
    cw__pg_conn *c = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (err)
        return err;
    for (int attempt = 0;; attempt++) {
        c->retry = false;
        bool began = false;
        err = cw__pg_cmd(c, begin, d);
        if (!err) {
            began = true;
            err = fn(c, ctx, d);
        }
        if (!err)
            err = commit(c, d);
        if (!err)
            break;
        bool lost = conn_lost(c);
        if (!lost && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
            PQclear(PQexec(c->pg, "ROLLBACK"));
        if (attempt + 1 >= CW_PG_TX_ATTEMPTS)
            break;
        if (lost && !began) {
            /* an idle pooled connection died (server restart): reconnect once */
            cw_diag d2;
            if (attempt > 0 || conn_open(s, c, &d2) != CW_OK)
                break;
            continue;
        }
        if (lost || !c->retry)
            break;
        backoff(attempt);
    }
    cw__pg_release(s, c);
    return err;
}

cw_err cw__pg_write(cw_pg *s, cw__pg_tx_fn fn, void *ctx, cw_diag *d)
{
    if (s->read_only)
        return cw_fail(d, CW_ERR_UNSUPPORTED, "database: opened read-only");
    return run_tx(s, "BEGIN", fn, ctx, d);
}

cw_err cw__pg_read(cw_pg *s, cw__pg_tx_fn fn, void *ctx, cw_diag *d)
{
    return run_tx(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", fn, ctx, d);
}

/* ---- entity generation ------------------------------------------------------------------ */

cw_err cw__pg_entity_gen(cw__pg_conn *c, int64_t *out, cw_diag *d)
{
    PGresult *r = NULL;
    cw_err err = cw__pg_exec(c, "SELECT value FROM cw_meta WHERE name = 'entity_gen'", 0,
                             NULL, &r, d);
    if (err)
        return err;
    if (PQntuples(r) == 1)
        *out = cw__pg_int(r, 0, 0);
    else
        err = cw_fail(d, CW_ERR_IO, "database: the entity generation row is missing");
    PQclear(r);
    return err;
}

cw_err cw__pg_entity_lock(cw__pg_conn *c, cw_diag *d)
{
    return cw__pg_exec(c, "SELECT value FROM cw_meta WHERE name = 'entity_gen' FOR UPDATE", 0,
                       NULL, NULL, d);
}

cw_err cw__pg_entity_gen_bump(cw__pg_conn *c, cw_diag *d)
{
    return cw__pg_exec(c, "UPDATE cw_meta SET value = value + 1 WHERE name = 'entity_gen'", 0,
                       NULL, NULL, d);
}

/* ---- migrations ------------------------------------------------------------------------- */

/* Any key unique to conway: "conwaysc" as an integer. */
#define MIGRATION_LOCK "7164933093545370467"

static cw_err ensure_version_table(cw__pg_conn *c, cw_diag *d)
{
    return cw__pg_cmd(c,
                      "CREATE TABLE IF NOT EXISTS cw_schema_version ("
                      "  id integer PRIMARY KEY CHECK (id = 1),"
                      "  version integer NOT NULL);"
                      "INSERT INTO cw_schema_version (id, version) VALUES (1, 0) "
                      "ON CONFLICT (id) DO NOTHING",
                      d);
}

/* The recorded version; not prepared, as the table may not exist yet. */
static cw_err stored_version(cw__pg_conn *c, int *out, cw_diag *d)
{
    PGresult *r = NULL;
    cw_err err = cw__pg_exec_dyn(c, "SELECT version FROM cw_schema_version WHERE id = 1", 0,
                                 NULL, &r, d);
    if (!err)
        *out = PQntuples(r) == 1 ? (int)cw__pg_int(r, 0, 0) : 0;
    PQclear(r);
    return err;
}

cw_err cw__pg_version(cw__pg_conn *c, int *out, cw_diag *d)
{
    PGresult *r = NULL;
    /* to_regclass answers NULL when the table is not on the search path */
    cw_err err = cw__pg_exec(c, "SELECT to_regclass('cw_schema_version') IS NOT NULL", 0,
                             NULL, &r, d);
    bool exists = !err && PQntuples(r) == 1 && !strcmp(cw__pg_text(r, 0, 0), "t");
    PQclear(r);
    *out = 0;
    if (!err && exists)
        err = stored_version(c, out, d);
    return err;
}

static void mig_step(size_t i, int *version, const char **what, const char **sql)
{
    const cw__pg_migration *m = &cw__pg_migrations[i];
    *version = m->version;
    *what = m->what;
    *sql = m->sql;
}

static cw_err mig_read_version(void *conn, int *out, cw_diag *d)
{
    return cw__pg_version(conn, out, d);
}

/* Instances starting together wait on the advisory lock; the version is
 * re-read under it, so each step runs once. */
static cw_err mig_begin(void *conn, int *out, cw_diag *d)
{
    cw_err err = cw__pg_cmd(conn, "BEGIN; SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ")", d);
    if (!err)
        err = ensure_version_table(conn, d);
    return err ? err : stored_version(conn, out, d);
}

static cw_err mig_exec(void *conn, const char *sql, cw_diag *d)
{
    return cw__pg_cmd(conn, sql, d);
}

static cw_err mig_set_version(void *conn, int version, cw_diag *d)
{
    char set[96];
    snprintf(set, sizeof set, "UPDATE cw_schema_version SET version = %d WHERE id = 1",
             version);
    return cw__pg_cmd(conn, set, d);
}

static cw_err mig_commit(void *conn, cw_diag *d) { return commit(conn, d); }

static void mig_rollback(void *conn)
{
    cw__pg_conn *c = conn;
    if (!conn_lost(c))
        PQclear(PQexec(c->pg, "ROLLBACK"));
}

cw_err cw__pg_migrate(cw__pg_conn *c, cw_diag *d)
{
    const cw__migrator m = {
        .conn = c,
        .n = cw__pg_nmigrations,
        .step = mig_step,
        .read_version = mig_read_version,
        .begin = mig_begin,
        .exec = mig_exec,
        .set_version = mig_set_version,
        .commit = mig_commit,
        .rollback = mig_rollback,
    };
    return cw__migrate(&m, d);
}

/* ---- opening and closing ------------------------------------------------------------------ */

static void pg_close(cw_store *st)
{
    cw_pg *s = cw__pg(st);
    if (!s)
        return;
    for (int i = 0; s->conns && i < s->nconns; i++)
        conn_close(&s->conns[i]);
    free(s->conns);
    cw__rcache_free(s->rcache);
    pthread_mutex_destroy(&s->pool_mu);
    pthread_cond_destroy(&s->pool_cv);
    free(s->url);
    free(s);
}

static const cw_store_vtable pg_vtable;

cw_err cw__pg_open(const char *url, const cw_store_options *opt, cw_store **out, cw_diag *d)
{
    *out = NULL;
    cw_pg *s = calloc(1, sizeof *s);
    if (!s)
        return cw_fail(d, CW_ERR_NOMEM, "database: out of memory");
    s->base.vt = &pg_vtable;
    s->read_only = opt->read_only;
    pthread_mutex_init(&s->pool_mu, NULL);
    pthread_cond_init(&s->pool_cv, NULL);
    cw_err err = CW_OK;
    size_t len = strlen(url) + 1;
    s->url = malloc(len);
    s->nconns = opt->pool_size > 0 ? opt->pool_size : CW_PG_DEFAULT_POOL;
    s->conns = calloc((size_t)s->nconns, sizeof *s->conns);
    if (!s->url || !s->conns || cw__rcache_new(RCACHE_MAX_BYTES, &s->rcache) != CW_OK) {
        err = cw_fail(d, CW_ERR_NOMEM, "database: out of memory");
        goto out;
    }
    memcpy(s->url, url, len);
    for (int i = s->nconns - 1; i >= 0; i--) {
        s->conns[i].owner = &s->base;
        s->conns[i].next_free = s->free_conns;
        s->free_conns = &s->conns[i];
    }

    cw__pg_conn *c = NULL;
    if ((err = cw__pg_acquire(s, &c, d)))
        goto out;
    if (s->read_only) {
        int v = 0;
        err = cw__pg_version(c, &v, d);
        if (!err && v > (int)cw__pg_nmigrations)
            err = cw_fail(d, CW_ERR_UNSUPPORTED,
                          "database: schema version %d is newer than this program's %zu", v,
                          cw__pg_nmigrations);
        else if (!err && v == 0)
            err = cw_fail(d, CW_ERR_NOT_FOUND, "database: no conway schema in this database");
    } else {
        err = cw__pg_migrate(c, d);
    }
    cw__pg_release(s, c);
    if (err)
        goto out;
    *out = &s->base;
out:
    if (err)
        pg_close(&s->base);
    return err;
}

/* ---- core operations ---------------------------------------------------------------------- */

static cw_err read_int(cw_pg *s, const char *sql, int64_t *out, cw_diag *d)
{
    cw__pg_conn *c = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (err)
        return err;
    PGresult *r = NULL;
    err = cw__pg_exec(c, sql, 0, NULL, &r, d);
    if (!err && PQntuples(r) == 1)
        *out = cw__pg_int(r, 0, 0);
    else if (!err)
        err = cw_fail(d, CW_ERR_IO, "database: no answer");
    PQclear(r);
    cw__pg_release(s, c);
    return err;
}

static cw_err pg_ping(cw_store *st, cw_diag *d)
{
    int64_t v = 0;
    /* touches the schema, so a dropped table is noticed */
    return read_int(cw__pg(st), "SELECT count(*) FROM cw_schema_version", &v, d);
}

static cw_err pg_schema_version(cw_store *st, int *out, cw_diag *d)
{
    cw_pg *s = cw__pg(st);
    cw__pg_conn *c = NULL;
    cw_err err = cw__pg_acquire(s, &c, d);
    if (err)
        return err;
    err = cw__pg_version(c, out, d);
    cw__pg_release(s, c);
    return err;
}

static cw_err pg_size_bytes(cw_store *st, int64_t *out, cw_diag *d)
{
    return read_int(cw__pg(st), "SELECT pg_database_size(current_database())", out, d);
}

/* ---- vtable ------------------------------------------------------------------------------- */

static const cw_store_core_ops pg_core_ops = {
    .close = pg_close,
    .ping = pg_ping,
    .schema_version = pg_schema_version,
    .size_bytes = pg_size_bytes,
};

/* Backup: PostgreSQL's own tools do it; the answer says which. */
static cw_err pg_backup_unsupported(cw_diag *d)
{
    return cw_fail(d, CW_ERR_UNSUPPORTED,
                   "a PostgreSQL database is backed up with PostgreSQL's own tools: pg_dump / "
                   "pg_restore, or base backups with WAL archiving for point-in-time recovery "
                   "(see docs/operations.md)");
}

static cw_err pg_backup(cw_store *s, const char *out_path, cw_backup_progress_fn progress,
                        void *progress_ctx, cw_backup_report *rep, cw_diag *d)
{
    return pg_backup_unsupported(d);
}

static cw_err pg_table_rows(cw_store *s, cw_backup_report *rep, cw_diag *d)
{
    return pg_backup_unsupported(d);
}

static const cw_store_backup_ops pg_backup_ops = {
    .backup = pg_backup,
    .table_rows = pg_table_rows,
};

/* Each domain implemented in a postgres_<domain>.c adds its line here. */
static const cw_store_vtable pg_vtable = {
    .backend = "postgres",
    .core = &pg_core_ops,
    .backup = &pg_backup_ops,
    .entities = &cw__pg_entity_ops,
    .tokens = &cw__sql_token_ops,
    .events = &cw__pg_event_ops,
    .audit = &cw__sql_audit_ops,
    .heartbeats = &cw__sql_hb_ops,
    .sql = &cw__pg_sql_ops,
    .ingest = &cw__pg_ingest_ops,
    .incidents = &cw__sql_incident_ops,
    .metrics = &cw__sql_metric_ops,
    .history = &cw__sql_history_ops,
};
