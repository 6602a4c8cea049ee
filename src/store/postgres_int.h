/*
 * postgres_int.h — internals shared by the PostgreSQL backend's files
 * (postgres.c, postgres_schema.c, postgres_entities.c, postgres_events.c…,
 * and postgres_sql.c, the statement layer's half on PostgreSQL): the handle, the connection pool, statements
 * prepared once per connection, error mapping, transactions with retries
 * and the migration list.
 *
 * Concurrency model: every call borrows one pooled connection for its whole
 * duration (lazily connected, reconnected after a failure). Writes run in
 * READ COMMITTED transactions through cw__pg_write, which re-runs the whole
 * transaction on serialization failures (40001) and deadlocks (40P01) — and
 * when a body asks for it (e.g. a unique key raced by another instance).
 * Entity writes additionally lock the entity generation row first, so they
 * are serialised across every instance on the database, as SQLite's single
 * writer serialises them, and reads validate caches against it.
 */
#ifndef CW_POSTGRES_INT_H
#define CW_POSTGRES_INT_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store_common.h"
#include "store/store_impl.h"

#define CW_PG_DEFAULT_POOL 8       /* when the options give no size */
#define CW_PG_STMT_CACHE 128       /* prepared statements kept per connection */
#define CW_PG_TX_ATTEMPTS 32       /* tries of one transaction before giving up: a hot
                                      row on a loaded machine can lose many races */

typedef struct {
    uint64_t hash;
    const char *from;              /* the caller's text it was last asked by
                                      (found again by address) */
    char *sql;                     /* owned copy of the text (as the caller
                                      wrote it: sql.h's dialect, or $N) */
    char name[16];                 /* server-side name, "cw<n>" */
    int nparams;
} cw__pg_stmt;

typedef struct cw__pg_conn {
    PGconn *pg;                    /* NULL until first used */
    cw__pg_stmt stmts[CW_PG_STMT_CACHE];
    size_t nstmts;
    unsigned next_name;
    bool retry;                    /* the current transaction should be re-run */
    char sqlstate[6];              /* of the last failed statement, "" if none */
    struct cw__pg_conn *next_free;
    struct cw_store *owner;        /* the store whose pool holds it */
} cw__pg_conn;

typedef struct cw_pg {
    cw_store base;                 /* first: a cw_store * is a cw_pg * */
    char *url;
    bool read_only;

    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;
    cw__pg_conn *conns;            /* array of nconns */
    int nconns;
    cw__pg_conn *free_conns;       /* stack of idle connections */

    cw__rcache *rcache;            /* rendered entities */
} cw_pg;

static inline cw_pg *cw__pg(cw_store *s) { return (cw_pg *)s; }

/* Opens a store on a postgres:// URL (also declared in store_impl.h). */
cw_err cw__pg_open(const char *url, const cw_store_options *opt, cw_store **out,
                   cw_diag *d);

/* ---- errors ------------------------------------------------------------------ */

/*
 * Maps a failed result (or, with res NULL, the connection's error) to
 * cw_err and fills d with "database: <first line of the server's message>";
 * the statement sql (may be NULL) and the full message are logged, never put
 * into d, whose text can reach a client. Unique
 * violations are CW_ERR_CONFLICT, serialization failures and deadlocks
 * CW_ERR_BUSY (and mark the transaction for a retry), writes refused by a
 * read-only transaction CW_ERR_UNSUPPORTED, lost connections CW_ERR_IO.
 */
cw_err cw__pg_fail(cw__pg_conn *c, const PGresult *res, cw_diag *d, const char *sql);

/* ---- connections ------------------------------------------------------------- */

/* Borrows a connection (connecting it if needed), waiting while all are in use. */
cw_err cw__pg_acquire(cw_pg *s, cw__pg_conn **out, cw_diag *d);
/* Gives it back; a transaction left open is rolled back, a broken
 * connection is closed so that the next borrower reconnects. */
void cw__pg_release(cw_pg *s, cw__pg_conn *c);

/* ---- statements ----------------------------------------------------------------
 * params are text values (NULL = SQL NULL); results are in text format.
 * *out (may be NULL when the caller wants no rows) receives a result of
 * status TUPLES_OK or COMMAND_OK that the caller PQclear()s.
 */
/* A statement whose text is one of a finite set (constants): prepared once
 * per connection, executed by name afterwards. */
cw_err cw__pg_exec(cw__pg_conn *c, const char *sql, int n, const char *const *params,
                   PGresult **out, cw_diag *d);
/* The statement cached for sql on c, or NULL. */
const cw__pg_stmt *cw__pg_stmt_find(cw__pg_conn *c, const char *sql);
/* Prepares text (what the server runs for sql, nparams parameters) and
 * caches it under sql; *out NULL (and CW_OK) when the cache is full: the
 * caller then runs text unprepared. */
cw_err cw__pg_stmt_add(cw__pg_conn *c, const char *sql, const char *text, int nparams,
                       const cw__pg_stmt **out, cw_diag *d);
/* A statement built at run time (filters): parsed on every call. */
cw_err cw__pg_exec_dyn(cw__pg_conn *c, const char *sql, int n, const char *const *params,
                       PGresult **out, cw_diag *d);
/* Runs SQL without parameters (one or more statements). */
cw_err cw__pg_cmd(cw__pg_conn *c, const char *sql, cw_diag *d);

/* Value helpers over a result: text ("" for NULL), int64 (0 for NULL). */
const char *cw__pg_text(const PGresult *r, int row, int col);
int64_t cw__pg_int(const PGresult *r, int row, int col);
bool cw__pg_isnull(const PGresult *r, int row, int col);
/* Whether s is well-formed UTF-8: the only text a UTF8 database holds, so
 * a lookup by anything else finds nothing (and must not reach the server,
 * which would refuse the statement). */
bool cw__pg_utf8(const char *s);
/* Formats v as decimal text into buf (at least 24 bytes); returns buf. */
const char *cw__pg_i64(char *buf, int64_t v);

/* A PostgreSQL text[] literal built from C strings (for = ANY($1) and
 * unnest): {"a","b\"c",NULL}. */
typedef struct {
    cw_buf buf;
    size_t n;
    bool closed;            /* the final '}' is in buf */
} cw__pg_array;

void cw__pg_array_init(cw__pg_array *a);
void cw__pg_array_free(cw__pg_array *a);
void cw__pg_array_reset(cw__pg_array *a);
/* s NULL appends SQL NULL. */
cw_err cw__pg_array_add(cw__pg_array *a, const char *s);
/* n bytes of s (not NUL-terminated), quoted. */
cw_err cw__pg_array_addn(cw__pg_array *a, const char *s, size_t n);
cw_err cw__pg_array_add_i64(cw__pg_array *a, int64_t v);
/* n bytes as a bytea element (hex). */
cw_err cw__pg_array_add_bytea(cw__pg_array *a, const void *p, size_t n);
/* A bytea column (hex text) as bytes in out (reset first); CW_ERR_IO when
 * it is not hex. */
cw_err cw__pg_bytea(const PGresult *r, int row, int col, cw_buf *out);
/* The literal ("{}" when empty; NULL when out of memory); valid until the
 * next change. Adding after it is allowed. */
const char *cw__pg_array_text(cw__pg_array *a);

/* ---- transactions ------------------------------------------------------------- */

typedef cw_err (*cw__pg_tx_fn)(cw__pg_conn *c, void *ctx, cw_diag *d);

/*
 * Runs fn inside BEGIN … COMMIT on a pooled connection. On CW_OK the
 * transaction is committed (durably: synchronous_commit is never off for
 * conway's sessions) before cw__pg_write returns. When fn or the commit
 * fails with a serialization failure or deadlock, or fn set c->retry, the
 * transaction is rolled back and fn runs again (after a short randomised
 * backoff), up to CW_PG_TX_ATTEMPTS times: fn must reset its outputs.
 */
cw_err cw__pg_write(cw_pg *s, cw__pg_tx_fn fn, void *ctx, cw_diag *d);
/* Runs fn in a read-only REPEATABLE READ transaction: one snapshot. */
cw_err cw__pg_read(cw_pg *s, cw__pg_tx_fn fn, void *ctx, cw_diag *d);

/* ---- schema ------------------------------------------------------------------ */

typedef struct {
    int version;            /* 1, 2, 3…: equal to its position + 1 */
    const char *what;       /* one line, for errors */
    const char *sql;        /* one or more statements */
} cw__pg_migration;

/* The one ordered list of migrations (postgres_schema.c); domains append. */
extern const cw__pg_migration cw__pg_migrations[];
extern const size_t cw__pg_nmigrations;

/* Applies the pending migrations, one transaction each, under an advisory
 * lock so that instances starting together migrate once. */
cw_err cw__pg_migrate(cw__pg_conn *c, cw_diag *d);
/* The version recorded in the database (0 when never migrated). */
cw_err cw__pg_version(cw__pg_conn *c, int *out, cw_diag *d);

/* ---- entity generation ---------------------------------------------------------- */

/* Reads the entity generation (in the caller's snapshot). */
cw_err cw__pg_entity_gen(cw__pg_conn *c, int64_t *out, cw_diag *d);
/* Locks the generation row: the first statement of every entity write
 * transaction, serialising them across instances. */
cw_err cw__pg_entity_lock(cw__pg_conn *c, cw_diag *d);
/* Bumps it (after the lock) when the transaction changed entities. */
cw_err cw__pg_entity_gen_bump(cw__pg_conn *c, cw_diag *d);

/* Reads event dictionary id on connection ctx into out (cw__dict_load_fn,
 * event_codec.h; postgres_events.c). */
cw_err cw__pg_load_dict(void *ctx, int64_t id, cw_buf *out, cw_diag *d);

/* ---- domain ops (one per postgres_<domain>.c) ------------------------------------ */
extern const cw_store_entity_ops cw__pg_entity_ops;
extern const struct cw_store_event_ops cw__pg_event_ops;   /* postgres_events.c */

#endif
