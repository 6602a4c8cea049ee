/*
 * sqlite_int.h — internals shared by the SQLite backend's files
 * (sqlite.c, sqlite_schema.c, sqlite_entities.c, sqlite_events.c…, and
 * sqlite_sql.c, the statement layer's half on SQLite): the handle, the pool of
 * reader connections, the single writer connection, the per-connection
 * prepared-statement cache, error mapping and the migration list.
 *
 * Concurrency model: any number of threads read, each borrowing one reader
 * connection for the duration of a call (cw__sqlite_read_acquire/release);
 * all in-process writes go through ONE writer connection held under a mutex
 * for the whole transaction (cw__sqlite_write_begin/end), so threads of this
 * process never race for SQLite's write lock. Other processes (the CLI
 * writing while a server runs) wait on busy_timeout.
 */
#ifndef CW_SQLITE_INT_H
#define CW_SQLITE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store_common.h"
#include "store/store_impl.h"

#define CW_SQLITE_STMT_CACHE 64       /* cached statements per connection */
#define CW_SQLITE_BUSY_TIMEOUT_MS 10000
#define CW_SQLITE_DEFAULT_READERS 8

typedef struct {
    uint64_t hash;
    const char *from;        /* the caller's text it was last asked by: most
                                callers pass constants, found again by address
                                (and a comparison) without hashing the text */
    char *sql;               /* owned copy of the text */
    sqlite3_stmt *st;
    bool busy;               /* handed out and not yet returned */
    uint64_t last_use;
} cw__sqlite_cached_stmt;

typedef struct cw__sqlite_conn {
    sqlite3 *db;
    cw__sqlite_cached_stmt stmts[CW_SQLITE_STMT_CACHE];
    size_t nstmts;
    uint64_t tick;
    struct cw__sqlite_conn *next_free;
} cw__sqlite_conn;

typedef struct cw__sqlite_ckpt cw__sqlite_ckpt;

typedef struct cw_sqlite {
    cw_store base;                    /* first: a cw_store * is a cw_sqlite * */
    char *path;
    bool read_only;

    pthread_mutex_t write_mu;         /* held from write_begin to write_end */
    cw__sqlite_conn *writer;          /* NULL when read_only */
    cw__sqlite_ckpt *ckpt;            /* the writer's checkpoints, or NULL */

    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;
    cw__sqlite_conn *readers;         /* array of nreaders */
    int nreaders;
    cw__sqlite_conn *free_readers;    /* stack of idle readers */

    cw__rcache *rcache;               /* rendered entities */
    void *shm;                        /* read-only view of the WAL index, or NULL */
    int shm_fd;                       /* descriptor of that view, -1; kept open
                                         until the connections close (sqlite.c) */
} cw_sqlite;

static inline cw_sqlite *cw__sqlite(cw_store *s) { return (cw_sqlite *)s; }

/*
 * The WAL index's commit counter (iChange of the wal-index header, which
 * every commit of any connection in any process increments): a change
 * marker readable without a transaction or a system call. False when not
 * available (then callers use the database-held generation alone).
 */
bool cw__sqlite_marker(cw_sqlite *s, uint32_t *out);

/*
 * WAL checkpoints on a thread of their own instead of in the committing
 * writer (sqlite_checkpoint.c). Start after the writer is open and
 * migrated; stop before it closes (its later commits checkpoint as SQLite
 * does by default).
 */
cw_err cw__sqlite_ckpt_start(cw_sqlite *s, cw_diag *d);
void cw__sqlite_ckpt_stop(cw_sqlite *s);
/* What the checkpoints did so far, for tests. */
typedef struct {
    uint64_t by_thread, by_writer; /* WAL pages copied back by each */
    uint64_t writer_largest;       /* the most the writer copied at once: what a commit waited for */
    uint64_t forced;               /* writer checkpoints at CW__CKPT_WAL_MAX_PAGES */
} cw__sqlite_ckpt_counts;
void cw__sqlite_ckpt_stats(cw_sqlite *s, cw__sqlite_ckpt_counts *out);

/* Once the WAL holds CW__CKPT_WAL_PAGES, the writer copies what the thread
 * left, if that is at most CW__CKPT_INLINE_PAGES; from CW__CKPT_WAL_MAX_PAGES
 * on it copies whatever it can (sqlite_checkpoint.c says why). The writer's
 * WAL file is cut back to CW__CKPT_WAL_FILE_MAX bytes when it starts over. */
#define CW__CKPT_WAL_PAGES 4096
#define CW__CKPT_INLINE_PAGES 256
#define CW__CKPT_WAL_MAX_PAGES 16384
#define CW__CKPT_WAL_FILE_MAX (32 * 1024 * 1024)

/* ---- errors ------------------------------------------------------------------ */

/* Maps a SQLite result code to cw_err and fills d with "what: sqlite message". */
cw_err cw__sqlite_fail(cw__sqlite_conn *c, int rc, cw_diag *d, const char *what);

/* ---- connections ------------------------------------------------------------- */

/* Borrows an idle reader connection, waiting while all are in use. */
cw__sqlite_conn *cw__sqlite_read_acquire(cw_sqlite *s);
/* Gives it back; rolls back a transaction left open by an error path. */
void cw__sqlite_read_release(cw_sqlite *s, cw__sqlite_conn *c);
/* A read transaction on a reader: one consistent snapshot for several
 * statements. read_end never fails in a way that matters to the reader. */
cw_err cw__sqlite_read_begin(cw__sqlite_conn *c, cw_diag *d);
void cw__sqlite_read_end(cw__sqlite_conn *c);

/*
 * Locks the writer and starts BEGIN IMMEDIATE on it. On CW_OK the caller
 * owns the writer until write_end, which commits when rc is CW_OK (fsync'd:
 * synchronous=FULL) and otherwise rolls back, unlocks, and returns the final
 * result (rc, or the commit's error). CW_ERR_UNSUPPORTED when read_only.
 */
cw_err cw__sqlite_write_begin(cw_sqlite *s, cw__sqlite_conn **out, cw_diag *d);
/* Same, but never waits: CW_ERR_BUSY at once when this process's writer is
 * in use or another process holds the database's write lock. */
cw_err cw__sqlite_write_try_begin(cw_sqlite *s, cw__sqlite_conn **out, cw_diag *d);
cw_err cw__sqlite_write_end(cw_sqlite *s, cw__sqlite_conn *c, cw_err rc, cw_diag *d);

/* ---- statements ---------------------------------------------------------------
 * Prepared statements are cached per connection by their SQL text. stmt()
 * returns a statement ready for binding; done() resets and clears it (always
 * call it, on every path). A statement already handed out on this
 * connection is prepared afresh and finalised by done().
 */
cw_err cw__sqlite_stmt(cw__sqlite_conn *c, const char *sql, sqlite3_stmt **out,
                       cw_diag *d);
void cw__sqlite_done(cw__sqlite_conn *c, sqlite3_stmt *st);
/* Runs SQL without results (one or more statements; not cached). */
cw_err cw__sqlite_exec(cw__sqlite_conn *c, const char *sql, cw_diag *d);

/* Binding helpers; text is bound SQLITE_STATIC: keep it alive until done(). */
int cw__bind_text(sqlite3_stmt *st, int idx, const char *s);
int cw__bind_int64(sqlite3_stmt *st, int idx, int64_t v);
/* Column text or "" (never NULL). */
const char *cw__col_text(sqlite3_stmt *st, int col);

/* ---- schema ------------------------------------------------------------------ */

typedef struct {
    int version;            /* 1, 2, 3…: equal to its position + 1 */
    const char *what;       /* one line, for errors */
    const char *sql;        /* one or more statements */
} cw__sqlite_migration;

/* The one ordered list of migrations (sqlite_schema.c); domains append. */
extern const cw__sqlite_migration cw__sqlite_migrations[];
extern const size_t cw__sqlite_nmigrations;

/* Applies the pending migrations on the writer, one transaction each. */
cw_err cw__sqlite_migrate(cw__sqlite_conn *c, cw_diag *d);

/* ---- search rows (sqlite_search.c) ---------------------------------------------- */

/* One search row: key and value lower-cased, value NULL for a null leaf,
 * original = the original-case text when it differs from value. */
typedef struct {
    const char *key;
    const char *value;
    const char *original;
} cw__srow;

/* Row changes queued during one write transaction (owned strings). */
typedef struct cw__search_batch cw__search_batch;

cw_err cw__search_batch_new(cw__search_batch **out);
void cw__search_batch_free(cw__search_batch *b);
/*
 * Queues the change of entity id's rows from those in old_blob (its
 * entities.search_rows; NULL/0 for a new entity) to rows (n; sorted and
 * deduplicated in place, may be 0 to remove them all). CW_ERR_IO when the
 * old blob is corrupt.
 */
cw_err cw__search_batch_diff(cw__search_batch *b, int64_t id, const void *old_blob,
                             size_t old_len, cw__srow *rows, size_t n);
/* Queues id's outgoing relations (its old rows must already be deleted);
 * a later call for the same id in this batch replaces them. */
cw_err cw__search_batch_relations(cw__search_batch *b, int64_t id,
                                  const cw_relation_list *rels);
/* Writes the queued changes in primary-key order and empties the queue. */
cw_err cw__search_batch_apply(cw__search_batch *b, cw__sqlite_conn *c, cw_diag *d);
/* Sorts rows by primary key and drops rows sharing one (keeps the first). */
void cw__srows_normalize(cw__srow *rows, size_t *n);
/* Encodes rows as the entities.search_rows blob (appends to out). */
cw_err cw__search_blob(const cw__srow *rows, size_t n, cw_buf *out);
/*
 * Whether the rows of a search_rows blob include one for key (lower case)
 * whose value is one of vals (lower case; '' never matches a null leaf),
 * or any row for key when nvals is 0: a filter condition checked on one
 * entity without the search table. CW_ERR_IO when the blob is corrupt.
 */
cw_err cw__search_blob_match(const void *blob, size_t len, const char *key,
                             char *const *vals, size_t nvals, bool *match);

/* ---- filters as id sets (sqlite_query.c) ------------------------------------------ */

typedef struct {
    int64_t *v;          /* entity ids, ascending, unique */
    size_t len, cap;
    char **keys;         /* NULL, or each member's entity key (owned): known
                            when the filter read every member's row anyway */
} cw__idset;

typedef struct {
    int64_t id;
    char *key;           /* owned */
} cw__keyed;

void cw__idset_free(cw__idset *s);
void cw__keyed_free(cw__keyed *arr, size_t n);
/* The ids of the entities matching f (f->n > 0), inside the caller's read
 * transaction. */
cw_err cw__sqlite_filter_ids(cw__sqlite_conn *c, const cw_filter *f, cw__idset *out,
                             cw_diag *d);
/* The page [offset, offset+limit) of m's members in entity key order (after
 * after_key when given), with their keys. *out is owned by the caller. */
cw_err cw__sqlite_page_ids(cw__sqlite_conn *c, const cw__idset *m, const char *after_key,
                           bool desc, size_t offset, size_t limit, cw__keyed **out,
                           size_t *nout, cw_diag *d);

/* Appends {"value","count"} objects for one facet key to arr: entities per
 * value, among filter's members (all entities when filter is NULL). */
cw_err cw__sqlite_facet(cw__sqlite_conn *c, const char *key, const cw__idset *filter,
                        json_t *arr, cw_diag *d);

/* Reads event dictionary id on connection ctx into out (cw__dict_load_fn,
 * event_codec.h; sqlite_events.c). */
cw_err cw__sqlite_load_dict(void *ctx, int64_t id, cw_buf *out, cw_diag *d);

/* ---- domain ops (one per sqlite_<domain>.c) ------------------------------------ */
extern const cw_store_entity_ops cw__sqlite_entity_ops;

/*
 * Generation of the entity data: bumped in every write transaction that
 * changes entities or relations, read inside read transactions to validate
 * the rendered-entity cache (see store_common.h).
 */
cw_err cw__sqlite_entity_gen(cw__sqlite_conn *c, int64_t *out, cw_diag *d);
cw_err cw__sqlite_entity_gen_bump(cw__sqlite_conn *c, cw_diag *d);

#endif
