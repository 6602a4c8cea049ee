/*
 * sql.h — the statement layer both backends share (internal to src/store/):
 * a table's statements are written once, against this interface, and run
 * on SQLite and on PostgreSQL. Only the DDL (sqlite_schema.c,
 * postgres_schema.c) is written per backend.
 *
 * One SQL text for both engines, translated once per connection when it is
 * prepared (never on the hot path: statements are cached per connection,
 * found again by the address of their text):
 * - placeholders are written "?" or "?N" (SQLite's style); PostgreSQL gets
 *   "$N";
 * - "FOR UPDATE", "FOR UPDATE SKIP LOCKED" and "FOR UPDATE NOWAIT" are
 *   PostgreSQL row locks; on SQLite, whose single writer serialises every
 *   write transaction, they are dropped;
 * - what both engines accept is written as is: ON CONFLICT … DO UPDATE …
 *   excluded.col, RETURNING, CAST(? AS BIGINT) where a parameter's type
 *   cannot be inferred ("? IS NULL", "? + ?"), TRUE/FALSE.
 * Values: integers bind as int64; text as UTF-8 (NULL pointer: SQL NULL);
 * blobs as bytes (blob / bytea); a boolean column reads as 0 or 1 through
 * cw__sql_int. PostgreSQL keeps the statements prepared (PQprepare once,
 * then executed by name), parameters in text form but blobs in binary.
 *
 * Transactions: the caller hands a function to cw__sql_tx, which runs it
 * on the right connection (a pooled reader, SQLite's one writer, a pooled
 * PostgreSQL connection) between BEGIN and COMMIT, and rolls back when it
 * fails. On PostgreSQL a write transaction is run again after a
 * serialization failure or deadlock (postgres_int.h): fn must reset its
 * outputs at its start.
 *
 * Errors follow util/err.h: every call that can fail returns cw_err and
 * fills d with "database: …" (never the SQL text, which is logged on
 * PostgreSQL). A failed bind is kept in the statement and returned by the
 * next step, so binding needs no checks of its own.
 */
#ifndef CW_STORE_SQL_H
#define CW_STORE_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store_impl.h"
#include "util/buf.h"
#include "util/err.h"

/* One connection inside one transaction (opaque to a table's code). */
typedef struct cw__sql cw__sql;

/* ---- transactions ------------------------------------------------------------- */

typedef enum {
    CW__SQL_READ,      /* read only, one snapshot for every statement */
    CW__SQL_READ_ONE,  /* read only, one statement: no BEGIN/COMMIT around it */
    CW__SQL_WRITE,     /* a read-write transaction, waiting for the writer */
    CW__SQL_WRITE_TRY, /* the same, CW_ERR_BUSY at once when the writer is
                          busy (SQLite; PostgreSQL does not wait anyway) */
    CW__SQL_WRITE_ONE, /* one write statement, atomic by itself: PostgreSQL
                          runs it without BEGIN/COMMIT (and without retries) */
} cw__sql_mode;

typedef cw_err (*cw__sql_fn)(cw__sql *c, void *ctx, cw_diag *d);

/*
 * Runs fn on a connection of s in a transaction of the given mode: commits
 * when fn returns CW_OK (writes durably, before returning), rolls back
 * otherwise. A store opened read-only answers writes CW_ERR_UNSUPPORTED.
 */
cw_err cw__sql_tx(cw_store *s, cw__sql_mode mode, cw__sql_fn fn, void *ctx, cw_diag *d);

/* The backend's name, "sqlite" or "postgres" (for tests and logs only:
 * table code never branches on it). */
const char *cw__sql_backend(const cw__sql *c);
/* The store the transaction runs on. */
cw_store *cw__sql_store(const cw__sql *c);

/* Whether the backend can hold s as text: anything on SQLite, well-formed
 * UTF-8 on PostgreSQL (a lookup by anything else finds nothing there, and
 * the server refuses the statement). */
bool cw__sql_text_ok(const cw__sql *c, const char *s);

/* A lock on key held until the transaction ends, serialising work across
 * instances (pg_advisory_xact_lock); nothing on SQLite, whose one writer
 * serialises write transactions already. */
cw_err cw__sql_lock(cw__sql *c, int64_t key, cw_diag *d);

/* ---- statements ------------------------------------------------------------------ */

/* Parameters of one statement at the most (PostgreSQL's protocol allows
 * 65535, SQLite 32766); up to CW__SQL_INLINE_PARAMS need no allocation. */
#define CW__SQL_MAX_PARAMS 30000
#define CW__SQL_INLINE_PARAMS 32

/*
 * A statement in use: lives on the caller's stack from cw__sql_prepare to
 * cw__sql_done (always call done, on every path, once prepare returned
 * CW_OK or not). The fields belong to the backends.
 */
typedef struct cw__sql_stmt {
    cw__sql *c;
    const char *sql;           /* as the caller wrote it */
    void *h;                   /* the engine's statement: sqlite3_stmt *, or
                                  the PostgreSQL statement's name */
    char *text;                /* PostgreSQL: translated text run unprepared
                                  (statement cache full); owned */
    cw_err err;                /* the first failed bind (sticky) */
    int bad;                   /* its parameter number */
    bool started, finished;
    int64_t changes;
    /* PostgreSQL: the parameters until the first step (in the inline
     * arrays, or allocated for more), then the result */
    int nparams;
    const char **vals;
    int *lens, *fmts;
    char (*nums)[32];
    void *heap;
    const char *vals_in[CW__SQL_INLINE_PARAMS];
    int lens_in[CW__SQL_INLINE_PARAMS];
    int fmts_in[CW__SQL_INLINE_PARAMS];
    char nums_in[CW__SQL_INLINE_PARAMS][32];
    void *res;
    int row, nrows;
    cw_buf scratch;            /* a decoded bytea column */
} cw__sql_stmt;

/* Prepares sql (a constant, or any text that outlives the statement). */
cw_err cw__sql_prepare(cw__sql *c, const char *sql, cw__sql_stmt *st, cw_diag *d);
/* The same for a text built at run time in one of many shapes (filters):
 * parsed for this use only, never cached. */
cw_err cw__sql_prepare_once(cw__sql *c, const char *sql, cw__sql_stmt *st, cw_diag *d);

/* Parameters are numbered from 1. Text and blobs are not copied: keep
 * them alive until done. Unbound parameters are NULL. */
void cw__sql_bind_int(cw__sql_stmt *st, int i, int64_t v);
void cw__sql_bind_double(cw__sql_stmt *st, int i, double v);
void cw__sql_bind_text(cw__sql_stmt *st, int i, const char *s);     /* NULL: SQL NULL */
void cw__sql_bind_blob(cw__sql_stmt *st, int i, const void *p, size_t n); /* p NULL: NULL */
void cw__sql_bind_null(cw__sql_stmt *st, int i);

/* The next row: *row true with a row to read, false when there are no
 * more (then cw__sql_changes is known). Runs the statement on first call. */
cw_err cw__sql_step(cw__sql_stmt *st, bool *row, cw_diag *d);
/* Steps to the end, ignoring rows (INSERT, UPDATE, DELETE). */
cw_err cw__sql_run(cw__sql_stmt *st, cw_diag *d);

/* Columns of the current row, numbered from 0. NULL reads as 0, "" and
 * (NULL, 0); text and blobs are valid until the next step or done (a blob
 * on PostgreSQL: until the next blob column read, too). */
int64_t cw__sql_int(cw__sql_stmt *st, int col);
double cw__sql_double(cw__sql_stmt *st, int col);
const char *cw__sql_text(cw__sql_stmt *st, int col);
/* The text with its length in bytes; NULL (and 0) for SQL NULL. */
const char *cw__sql_textn(cw__sql_stmt *st, int col, size_t *len);
bool cw__sql_null(cw__sql_stmt *st, int col);
/* CW_ERR_IO when a PostgreSQL bytea column cannot be decoded, NOMEM. */
cw_err cw__sql_blob(cw__sql_stmt *st, int col, const void **p, size_t *n, cw_diag *d);

/* Rows changed by the finished INSERT/UPDATE/DELETE (for a new row's id,
 * write RETURNING id). */
int64_t cw__sql_changes(const cw__sql_stmt *st);

void cw__sql_done(cw__sql_stmt *st);

/* ---- whole statements from a list of values ------------------------------------------ */

typedef enum {
    CW__SQLV_NULL,
    CW__SQLV_INT,
    CW__SQLV_TEXT,
    CW__SQLV_BLOB,
    CW__SQLV_DOUBLE
} cw__sqlv_kind;

typedef struct {
    cw__sqlv_kind kind;
    int64_t i;
    const void *p;
    size_t n;
    double f;
} cw__sqlv;

#define CW__SQL_NULL ((cw__sqlv){CW__SQLV_NULL, 0, NULL, 0, 0})
#define CW__SQL_INT(v) ((cw__sqlv){CW__SQLV_INT, (int64_t)(v), NULL, 0, 0})
/* text s, NULL as SQL NULL */
#define CW__SQL_TEXT(s) ((cw__sqlv){CW__SQLV_TEXT, 0, (s), 0, 0})
#define CW__SQL_BLOB(p, n) ((cw__sqlv){CW__SQLV_BLOB, 0, (p), (n), 0})
#define CW__SQL_DOUBLE(v) ((cw__sqlv){CW__SQLV_DOUBLE, 0, NULL, 0, (v)})
/* v when cond holds, else SQL NULL */
#define CW__SQL_INT_IF(cond, v) ((cond) ? CW__SQL_INT(v) : CW__SQL_NULL)

/* Binds vals[0..n) to parameters 1..n. */
void cw__sql_bind_vals(cw__sql_stmt *st, const cw__sqlv *vals, size_t n);

/*
 * Prepares sql, binds the values, runs it to the end and returns the
 * number of rows it changed in *changes (may be NULL):
 *     err = CW__SQL_EXEC(c, &n, d, "UPDATE t SET a = ?1 WHERE id = ?2",
 *                        CW__SQL_TEXT(a), CW__SQL_INT(id));
 */
cw_err cw__sql_exec(cw__sql *c, const char *sql, const cw__sqlv *vals, size_t n,
                    int64_t *changes, cw_diag *d);
#define CW__SQL_EXEC(c, changes, d, sql, ...)                                          \
    cw__sql_exec((c), (sql), (const cw__sqlv[]){__VA_ARGS__},                           \
                 sizeof((const cw__sqlv[]){__VA_ARGS__}) / sizeof(cw__sqlv), (changes), (d))

/* ---- rows into arrays ------------------------------------------------------------------ */

/* Room for element len of *items (cap elements of size bytes allocated):
 * *items reallocated (doubled, 16 at first) when full. CW_ERR_NOMEM in d. */
cw_err cw__grow(void **items, size_t *cap, size_t len, size_t size, cw_diag *d);

/* ---- many rows at once --------------------------------------------------------------- */

/* Fills vals[0..ncols) with the values of row i (text and blobs borrowed:
 * they must stay valid until cw__sql_insert_rows returns). */
typedef void (*cw__sql_row_fn)(void *ctx, size_t i, cw__sqlv *vals);

/*
 * Inserts n rows of ncols values (at most 64): "<head>(?, ?…), (…)…<tail>",
 * e.g. head "INSERT INTO t (a, b) VALUES " and tail "" or " ON CONFLICT
 * (a) DO UPDATE SET b = excluded.b", in statements of 1000, 100, 10 and 1
 * rows, each kept prepared: one round trip per thousand rows on
 * PostgreSQL, what an INSERT … SELECT FROM unnest(arrays) costs, and
 * one cached statement per row count on SQLite. *changes (may be NULL)
 * the rows changed.
 */
cw_err cw__sql_insert_rows(cw__sql *c, const char *head, const char *tail, int ncols, size_t n,
                           cw__sql_row_fn row, void *ctx, int64_t *changes, cw_diag *d);

/* ---- dialect: the text each engine runs (pure; sql.c) ---------------------------- */

/* The PostgreSQL text of a statement: "?N" and "?" become "$N" outside
 * quotes and comments; *nparams the highest parameter number. A malloc'd
 * string, NULL when out of memory. */
char *cw__sql_to_pg(const char *sql, int *nparams);
/* The SQLite text: "FOR UPDATE [SKIP LOCKED | NOWAIT]" outside quotes removed.
 * A malloc'd string, NULL when out of memory. */
char *cw__sql_to_sqlite(const char *sql);

/* ---- for the backends (sqlite_sql.c, postgres_sql.c) -------------------------------- */

typedef struct cw__sql_ops {
    const char *backend;
    bool utf8_only;
    cw_err (*tx)(cw_store *s, cw__sql_mode mode, cw__sql_fn fn, void *ctx, cw_diag *d);
    cw_err (*lock)(cw__sql *c, int64_t key, cw_diag *d);
    /* once: not cached, for texts built at run time */
    cw_err (*prepare)(cw__sql *c, const char *sql, bool once, cw__sql_stmt *st, cw_diag *d);
    void (*bind_int)(cw__sql_stmt *st, int i, int64_t v);
    void (*bind_double)(cw__sql_stmt *st, int i, double v);
    void (*bind_text)(cw__sql_stmt *st, int i, const char *s);
    void (*bind_blob)(cw__sql_stmt *st, int i, const void *p, size_t n);
    void (*bind_null)(cw__sql_stmt *st, int i);
    cw_err (*step)(cw__sql_stmt *st, bool *row, cw_diag *d);
    int64_t (*col_int)(cw__sql_stmt *st, int col);
    double (*col_double)(cw__sql_stmt *st, int col);
    const char *(*col_text)(cw__sql_stmt *st, int col, size_t *len); /* NULL: SQL NULL */
    bool (*col_null)(cw__sql_stmt *st, int col);
    cw_err (*col_blob)(cw__sql_stmt *st, int col, const void **p, size_t *n, cw_diag *d);
    void (*done)(cw__sql_stmt *st);
    /* What tables on this layer need of the backend besides statements:
     * the events' link rows matched against the current catalog
     * (<backend>_events.c), before a read that joins them. */
    cw_err (*links_fresh)(cw_store *s, cw_diag *d);
} cw__sql_ops;

struct cw__sql {
    const cw__sql_ops *ops;
    void *conn;                /* cw__sqlite_conn * / cw__pg_conn * */
    cw_store *store;
};

/* The events' link rows matched against the current catalog. */
cw_err cw__sql_links_fresh(cw_store *s, cw_diag *d);

/* Reads event dictionary id (cw__dict_load_fn of event_codec.h; ctx is
 * the cw__sql *). */
cw_err cw__sql_load_dict(void *ctx, int64_t id, cw_buf *out, cw_diag *d);

extern const cw__sql_ops cw__sqlite_sql_ops;
extern const cw__sql_ops cw__pg_sql_ops;

#endif
