/*
 * sqlite.c — the SQLite backend's foundation: opening the file with the
 * durability and concurrency settings (WAL, synchronous=FULL, foreign keys,
 * busy timeout), the reader pool and the single writer (sqlite_int.h), the
 * per-connection statement cache, migrations at open, the core operations
 * (ping, schema version, size) and the backend's vtable.
 */
#include "store/sqlite_int.h"
#include "store/incidents_impl.h"
#include "store/ingest_impl.h"
#include "store/metrics_impl.h"
#include "store/store_audit.h"
#include "store/store_history.h"
#include "store/store_rows.h"
#include "store/sql.h"
#include "store/store_heartbeats.h"
#include "store/event_codec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define RCACHE_MAX_BYTES ((size_t)64 << 20)

/* ---- errors -------------------------------------------------------------------- */

cw_err cw__sqlite_fail(cw__sqlite_conn *c, int rc, cw_diag *d, const char *what)
{
    cw_err err;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: err = CW_ERR_BUSY; break;
    case SQLITE_NOMEM: err = CW_ERR_NOMEM; break;
    case SQLITE_CONSTRAINT: err = CW_ERR_CONFLICT; break;
    case SQLITE_TOOBIG: err = CW_ERR_TOO_LARGE; break;
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
    case SQLITE_ERROR: err = CW_ERR_INTERNAL; break;
    default: err = CW_ERR_IO; break;
    }
    const char *msg = c && c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc);
    return cw_fail(d, err, "database: %s: %s", what, msg);
}

/* ---- statements ---------------------------------------------------------------- */

cw_err cw__sqlite_stmt(cw__sqlite_conn *c, const char *sql, sqlite3_stmt **out,
                       cw_diag *d)
{
    c->tick++;
    cw__sqlite_cached_stmt *hit = NULL;
    for (size_t i = 0; !hit && i < c->nstmts; i++)
        if (c->stmts[i].from == sql && strcmp(c->stmts[i].sql, sql) == 0)
            hit = &c->stmts[i];
    uint64_t h = hit ? hit->hash : cw__hash_sql(sql);
    for (size_t i = 0; i < c->nstmts; i++) {
        cw__sqlite_cached_stmt *e = hit ? hit : &c->stmts[i];
        if (e->hash != h || strcmp(e->sql, sql) != 0)
            continue;
        e->from = sql;
        if (e->busy)
            goto transient; /* nested use of the same text on this connection */
        e->busy = true;
        e->last_use = c->tick;
        *out = e->st;
        return CW_OK;
    }

    /* Not cached: take a free slot or the least recently used idle one. */
    cw__sqlite_cached_stmt *slot = NULL;
    if (c->nstmts < CW_SQLITE_STMT_CACHE) {
        slot = &c->stmts[c->nstmts];
    } else {
        for (size_t i = 0; i < c->nstmts; i++) {
            cw__sqlite_cached_stmt *e = &c->stmts[i];
            if (!e->busy && (!slot || e->last_use < slot->last_use))
                slot = e;
        }
        if (!slot)
            goto transient;
    }
    size_t len = strlen(sql);
    char *copy = malloc(len + 1);
    if (!copy)
        return cw_fail(d, CW_ERR_NOMEM, "database: out of memory preparing a statement");
    memcpy(copy, sql, len + 1);
    /* the shared dialect (sql.h): PostgreSQL's row locks mean nothing here */
    char *text = strstr(sql, " FOR UPDATE") ? cw__sql_to_sqlite(sql) : NULL;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(c->db, text ? text : sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
                                NULL);
    free(text);
    if (rc != SQLITE_OK) {
        free(copy);
        return cw__sqlite_fail(c, rc, d, "prepare");
    }
    if (slot == &c->stmts[c->nstmts]) {
        c->nstmts++;
    } else {
        sqlite3_finalize(slot->st);
        free(slot->sql);
    }
    slot->hash = h;
    slot->from = sql;
    slot->sql = copy;
    slot->st = st;
    slot->busy = true;
    slot->last_use = c->tick;
    *out = st;
    return CW_OK;

transient:;
    char *ttext = strstr(sql, " FOR UPDATE") ? cw__sql_to_sqlite(sql) : NULL;
    int trc = sqlite3_prepare_v2(c->db, ttext ? ttext : sql, -1, out, NULL);
    free(ttext);
    if (trc != SQLITE_OK)
        return cw__sqlite_fail(c, trc, d, "prepare");
    return CW_OK;
}

void cw__sqlite_done(cw__sqlite_conn *c, sqlite3_stmt *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < c->nstmts; i++) {
        if (c->stmts[i].st == st) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            c->stmts[i].busy = false;
            return;
        }
    }
    sqlite3_finalize(st);
}

cw_err cw__sqlite_exec(cw__sqlite_conn *c, const char *sql, cw_diag *d)
{
    char *msg = NULL;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK)
        return CW_OK;
    cw_err err = cw__sqlite_fail(c, rc, d, "exec");
    if (msg)
        cw_fail(d, err, "database: %s", msg);
    sqlite3_free(msg);
    return err;
}

int cw__bind_text(sqlite3_stmt *st, int idx, const char *s)
{
    return s ? sqlite3_bind_text(st, idx, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, idx);
}

int cw__bind_int64(sqlite3_stmt *st, int idx, int64_t v)
{
    return sqlite3_bind_int64(st, idx, (sqlite3_int64)v);
}

const char *cw__col_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : "";
}

/* Steps a cached one-shot statement (BEGIN, COMMIT…) to completion. */
static cw_err run_simple(cw__sqlite_conn *c, const char *sql, cw_diag *d)
{
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c, sql, &st, d);
    if (err)
        return err;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        err = cw__sqlite_fail(c, rc, d, sql);
    cw__sqlite_done(c, st);
    return err;
}

static void rollback_if_open(cw__sqlite_conn *c)
{
    if (!sqlite3_get_autocommit(c->db))
        (void)sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- readers and the writer ------------------------------------------------------ */

cw__sqlite_conn *cw__sqlite_read_acquire(cw_sqlite *s)
{
    pthread_mutex_lock(&s->pool_mu);
    while (!s->free_readers)
        pthread_cond_wait(&s->pool_cv, &s->pool_mu);
    cw__sqlite_conn *c = s->free_readers;
    s->free_readers = c->next_free;
    pthread_mutex_unlock(&s->pool_mu);
    return c;
}

void cw__sqlite_read_release(cw_sqlite *s, cw__sqlite_conn *c)
{
    if (!c)
        return;
    if (!sqlite3_get_autocommit(c->db))
        cw__sqlite_read_end(c);
    pthread_mutex_lock(&s->pool_mu);
    c->next_free = s->free_readers;
    s->free_readers = c;
    pthread_cond_signal(&s->pool_cv);
    pthread_mutex_unlock(&s->pool_mu);
}

cw_err cw__sqlite_read_begin(cw__sqlite_conn *c, cw_diag *d)
{
    return run_simple(c, "BEGIN", d);
}

void cw__sqlite_read_end(cw__sqlite_conn *c)
{
    if (run_simple(c, "COMMIT", NULL) != CW_OK)
        rollback_if_open(c);
}

cw_err cw__sqlite_write_begin(cw_sqlite *s, cw__sqlite_conn **out, cw_diag *d)
{
    *out = NULL;
    if (!s->writer)
        return cw_fail(d, CW_ERR_UNSUPPORTED, "database: opened read-only");
    pthread_mutex_lock(&s->write_mu);
    cw_err err = run_simple(s->writer, "BEGIN IMMEDIATE", d);
    if (err) {
        rollback_if_open(s->writer);
        pthread_mutex_unlock(&s->write_mu);
        return err;
    }
    *out = s->writer;
    return CW_OK;
}

cw_err cw__sqlite_write_try_begin(cw_sqlite *s, cw__sqlite_conn **out, cw_diag *d)
{
    *out = NULL;
    if (!s->writer)
        return cw_fail(d, CW_ERR_UNSUPPORTED, "database: opened read-only");
    if (pthread_mutex_trylock(&s->write_mu) != 0)
        return cw_fail(d, CW_ERR_BUSY, "database: the writer is in use");
    /* a busy timeout of 0 for the lock only: once held, the transaction's
     * own statements do not wait for other writers */
    sqlite3_busy_timeout(s->writer->db, 0);
    int rc = sqlite3_exec(s->writer->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    sqlite3_busy_timeout(s->writer->db, CW_SQLITE_BUSY_TIMEOUT_MS);
    if (rc != SQLITE_OK) {
        cw_err err = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED
                         ? cw_fail(d, CW_ERR_BUSY, "database: locked by another writer")
                         : cw__sqlite_fail(s->writer, rc, d, "BEGIN IMMEDIATE");
        rollback_if_open(s->writer);
        pthread_mutex_unlock(&s->write_mu);
        return err;
    }
    *out = s->writer;
    return CW_OK;
}

cw_err cw__sqlite_write_end(cw_sqlite *s, cw__sqlite_conn *c, cw_err rc, cw_diag *d)
{
    if (rc == CW_OK)
        rc = run_simple(c, "COMMIT", d);
    rollback_if_open(c);
    pthread_mutex_unlock(&s->write_mu);
    return rc;
}

/* ---- change marker ---------------------------------------------------------------- *
 * The unix VFS keeps the WAL index in "<db>-shm", mapped by every connection;
 * its layout is documented in SQLite's walformat.html: the header (native
 * byte order) starts with iVersion (u32, 3007000), an unused u32, iChange
 * (u32, incremented by each commit), isInit (u8). Writers update the second
 * copy of the header first and this first copy last, so the first copy
 * only ever shows committed states. We map it read-only after one of our
 * own connections has opened it: a connection holds the file's shared lock,
 * so SQLite will not truncate or re-initialise it under us while open.
 *
 * The descriptor we map it with stays open until every connection of this
 * handle is closed: SQLite's locks on the file are POSIX record locks, which
 * belong to the process, and closing ANY descriptor of the file drops all of
 * them. Closing ours early released SQLite's shared lock on the "dead man
 * switch" byte, so the next process to open the database (a CLI command next
 * to a running server) believed itself the first, truncated the -shm under
 * the server and crashed it (SIGBUS in sqlite3WalFrames).
 */
#define SHM_MAP_BYTES 4096
#define WALINDEX_VERSION 3007000u

static void shm_map(cw_sqlite *s)
{
    char p[4096];
    int n = snprintf(p, sizeof p, "%s-shm", s->path);
    if (n < 0 || (size_t)n >= sizeof p)
        return;
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    s->shm_fd = fd; /* closed by sqlite_close after the connections (see above) */
    struct stat sb;
    void *m = MAP_FAILED;
    if (fstat(fd, &sb) == 0 && sb.st_size >= SHM_MAP_BYTES)
        m = mmap(NULL, SHM_MAP_BYTES, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        return;
    uint32_t version;
    memcpy(&version, m, sizeof version);
    if (version != WALINDEX_VERSION || ((const unsigned char *)m)[12] != 1) {
        munmap(m, SHM_MAP_BYTES);
        return;
    }
    s->shm = m;
}

bool cw__sqlite_marker(cw_sqlite *s, uint32_t *out)
{
    if (!s->shm)
        return false;
    *out = __atomic_load_n((const uint32_t *)((const char *)s->shm + 8), __ATOMIC_ACQUIRE);
    return true;
}

/* ---- opening and closing ---------------------------------------------------------- */

static void conn_close(cw__sqlite_conn *c)
{
    for (size_t i = 0; i < c->nstmts; i++) {
        sqlite3_finalize(c->stmts[i].st);
        free(c->stmts[i].sql);
    }
    c->nstmts = 0;
    if (c->db)
        sqlite3_close_v2(c->db);
    c->db = NULL;
}

static cw_err conn_open(cw__sqlite_conn *c, const char *path, int flags, bool writer,
                        cw_diag *d)
{
    memset(c, 0, sizeof *c);
    int rc = sqlite3_open_v2(path, &c->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        cw_err err = cw__sqlite_fail(c, rc, d, "open");
        cw_diag_prefix(d, "%s", path);
        conn_close(c);
        return err;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, CW_SQLITE_BUSY_TIMEOUT_MS);
    cw_err err = cw__sqlite_exec(c, "PRAGMA foreign_keys=ON", d);
    if (!err && writer) {
        /* journal_mode answers the mode in force: insist on WAL */
        sqlite3_stmt *st = NULL;
        rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            err = cw__sqlite_fail(c, rc, d, "journal_mode=WAL");
        else if (strcmp(cw__col_text(st, 0), "wal") != 0)
            err = cw_fail(d, CW_ERR_IO, "database: %s: cannot use WAL mode (got %s)",
                          path, cw__col_text(st, 0));
        sqlite3_finalize(st);
        if (!err)
            err = cw__sqlite_exec(c, "PRAGMA synchronous=FULL", d);
    }
    /* No connection maps the file: each reads it through its own cache, so
     * the process's memory is bounded by those caches whatever the
     * database's size (a mapping counts every page a scan touched in the
     * server's RSS until it exits: 380 MB after the delivery questions over
     * 1M events; copying pages with pread costs those questions ~5%,
     * bench/RESULTS.md). The writer keeps the pages a large transaction
     * dirties (random keys touch most index pages). */
    if (!err)
        err = cw__sqlite_exec(c, writer ? "PRAGMA cache_size=-65536"
                                        : "PRAGMA cache_size=-8192", d);
    if (!err)
        err = cw__sqlite_exec(c, "PRAGMA mmap_size=0", d);
    if (!err && !writer)
        err = cw__sqlite_exec(c, "PRAGMA query_only=ON", d);
    /* a WAL that grew while a long read held the checkpoints back is cut
     * back when it starts over, not kept at its largest (sqlite_checkpoint.c) */
    if (!err && writer) {
        char limit[64];
        snprintf(limit, sizeof limit, "PRAGMA journal_size_limit=%d", CW__CKPT_WAL_FILE_MAX);
        err = cw__sqlite_exec(c, limit, d);
    }
    if (err)
        conn_close(c);
    return err;
}

static void sqlite_close(cw_store *st)
{
    cw_sqlite *s = cw__sqlite(st);
    if (!s)
        return;
    if (s->shm)
        munmap(s->shm, SHM_MAP_BYTES); /* before our connections let go of it */
    if (s->writer)
        cw__sqlite_ckpt_stop(s);
    for (int i = 0; s->readers && i < s->nreaders; i++)
        conn_close(&s->readers[i]);
    free(s->readers);
    if (s->writer) {
        conn_close(s->writer);
        free(s->writer);
    }
    if (s->shm_fd >= 0)
        close(s->shm_fd); /* only now: it would drop the connections' locks */
    cw__rcache_free(s->rcache);
    pthread_mutex_destroy(&s->write_mu);
    pthread_mutex_destroy(&s->pool_mu);
    pthread_cond_destroy(&s->pool_cv);
    free(s->path);
    free(s);
}

static const cw_store_vtable sqlite_vtable;
static cw_err sqlite_ping(cw_store *st, cw_diag *d);

/* cw_hash64(text): the hash stored beside artifact ids (event_codec.h). */
static void fn_hash64(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *t = (const char *)sqlite3_value_text(argv[0]);
    if (!t)
        sqlite3_result_null(ctx);
    else
        sqlite3_result_int64(ctx, cw__hash64(t, (size_t)sqlite3_value_bytes(argv[0])));
}

/* cw_event_key(text): the stored key of a context.id (event_codec.h). */
static void fn_event_key(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *id = (const char *)sqlite3_value_text(argv[0]);
    if (!id) {
        sqlite3_result_null(ctx);
        return;
    }
    size_t cap = strlen(id) + CW__KEY_UUID_LEN;
    unsigned char *key = malloc(cap);
    if (!key) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    size_t n = cw__event_key(id, key, cap);
    sqlite3_result_blob(ctx, key, (int)n, free);
}

cw_err cw__sqlite_open(const char *path, const cw_store_options *opt, cw_store **out,
                       cw_diag *d)
{
    *out = NULL;
    if (!strcmp(path, ":memory:") || !strncmp(path, "file:", 5))
        return cw_fail(d, CW_ERR_INVALID,
                       "database: \"%s\": give a file path (every connection of the "
                       "pool must reach the same database)", path);
    if (!sqlite3_threadsafe())
        return cw_fail(d, CW_ERR_UNSUPPORTED,
                       "database: the SQLite library was built without thread support");
    cw_sqlite *s = calloc(1, sizeof *s);
    if (!s)
        return cw_fail(d, CW_ERR_NOMEM, "database: out of memory");
    s->shm_fd = -1;
    s->base.vt = &sqlite_vtable;
    s->read_only = opt->read_only;
    pthread_mutex_init(&s->write_mu, NULL);
    pthread_mutex_init(&s->pool_mu, NULL);
    pthread_cond_init(&s->pool_cv, NULL);
    cw_err err = CW_OK;
    size_t plen = strlen(path);
    s->path = malloc(plen + 1);
    if (!s->path || cw__rcache_new(RCACHE_MAX_BYTES, &s->rcache) != CW_OK) {
        err = cw_fail(d, CW_ERR_NOMEM, "database: out of memory");
        goto out;
    }
    memcpy(s->path, path, plen + 1);

    if (!s->read_only) {
        s->writer = calloc(1, sizeof *s->writer);
        if (!s->writer) {
            err = cw_fail(d, CW_ERR_NOMEM, "database: out of memory");
            goto out;
        }
        /* SQLite would create the file 0644 minus the umask; created here
         * (empty, which SQLite takes for a new database) it is 0600, and
         * SQLite gives the -wal, -shm and -journal files it creates the
         * database file's mode. Only a file made here is closed here: closing
         * a descriptor of a file this process has open drops SQLite's POSIX
         * locks on it (see shm_map). Other failures (EEXIST included) are
         * left to SQLite's own open below, which says why. */
        int fd = cw__create_private(path);
        if (fd >= 0)
            close(fd);
        err = conn_open(s->writer, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, true,
                        d);
        if (err) {
            free(s->writer);
            s->writer = NULL;
            goto out;
        }
        /* migrations "delivery rows" and "compact events" use these */
        if (sqlite3_create_function(s->writer->db, "cw_event_key", 1,
                                    SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, fn_event_key, NULL,
                                    NULL) != SQLITE_OK) {
            err = cw__sqlite_fail(s->writer, SQLITE_NOMEM, d, "cw_event_key");
            goto out;
        }
        if (sqlite3_create_function(s->writer->db, "cw_hash64", 1,
                                    SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, fn_hash64, NULL,
                                    NULL) != SQLITE_OK) {
            err = cw__sqlite_fail(s->writer, SQLITE_NOMEM, d, "cw_hash64");
            goto out;
        }
        err = cw__sqlite_migrate(s->writer, d);
        if (!err)
            err = cw__sqlite_ckpt_start(s, d);
        if (err)
            goto out;
    }

    s->nreaders = opt->pool_size > 0 ? opt->pool_size : CW_SQLITE_DEFAULT_READERS;
    s->readers = calloc((size_t)s->nreaders, sizeof *s->readers);
    if (!s->readers) {
        err = cw_fail(d, CW_ERR_NOMEM, "database: out of memory");
        goto out;
    }
    int rflags = s->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    for (int i = 0; i < s->nreaders; i++) {
        err = conn_open(&s->readers[i], path, rflags, false, d);
        if (err) {
            s->nreaders = i;
            goto out;
        }
        s->readers[i].next_free = s->free_readers;
        s->free_readers = &s->readers[i];
    }

    if (s->read_only) {
        /* still refuse a schema newer than this program understands */
        int v = 0;
        cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
        sqlite3_stmt *st = NULL;
        err = cw__sqlite_stmt(c, "PRAGMA user_version", &st, d);
        if (!err) {
            int rc = sqlite3_step(st);
            if (rc == SQLITE_ROW)
                v = sqlite3_column_int(st, 0);
            else
                err = cw__sqlite_fail(c, rc, d, "user_version");
        }
        cw__sqlite_done(c, st);
        cw__sqlite_read_release(s, c);
        if (!err && v > (int)cw__sqlite_nmigrations)
            err = cw_fail(d, CW_ERR_UNSUPPORTED,
                          "database: schema version %d is newer than this program's %zu",
                          v, cw__sqlite_nmigrations);
        if (err)
            goto out;
    }
    /* a first read makes our connections open the WAL index before we map it */
    if ((err = sqlite_ping(&s->base, d)))
        goto out;
    shm_map(s);
    *out = &s->base;
out:
    if (err)
        sqlite_close(&s->base);
    return err;
}

/* ---- core operations ---------------------------------------------------------------- */

static cw_err read_int(cw_sqlite *s, const char *sql, int64_t *out, cw_diag *d)
{
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c, sql, &st, d);
    if (!err) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            *out = sqlite3_column_int64(st, 0);
        else
            err = cw__sqlite_fail(c, rc, d, "read");
    }
    cw__sqlite_done(c, st);
    cw__sqlite_read_release(s, c);
    return err;
}

static cw_err sqlite_ping(cw_store *st, cw_diag *d)
{
    int64_t v = 0;
    /* touches the schema, so a corrupt or vanished file is noticed */
    return read_int(cw__sqlite(st), "SELECT count(*) FROM sqlite_schema", &v, d);
}

static cw_err sqlite_schema_version(cw_store *st, int *out, cw_diag *d)
{
    int64_t v = 0;
    cw_err err = read_int(cw__sqlite(st), "PRAGMA user_version", &v, d);
    if (!err)
        *out = (int)v;
    return err;
}

static cw_err sqlite_size_bytes(cw_store *st, int64_t *out, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(st);
    struct stat sb;
    if (stat(s->path, &sb) != 0)
        return cw_fail(d, CW_ERR_IO, "database: %s: %s", s->path, strerror(errno));
    int64_t total = (int64_t)sb.st_size;
    char wal[4096];
    int n = snprintf(wal, sizeof wal, "%s-wal", s->path);
    if (n > 0 && (size_t)n < sizeof wal && stat(wal, &sb) == 0)
        total += (int64_t)sb.st_size;
    *out = total;
    return CW_OK;
}

/* ---- entity generation --------------------------------------------------------------- */

cw_err cw__sqlite_entity_gen(cw__sqlite_conn *c, int64_t *out, cw_diag *d)
{
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(
        c, "SELECT value FROM cw_meta WHERE name = 'entity_gen'", &st, d);
    if (err)
        return err;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        err = cw__sqlite_fail(c, rc, d, "entity generation");
    cw__sqlite_done(c, st);
    return err;
}

cw_err cw__sqlite_entity_gen_bump(cw__sqlite_conn *c, cw_diag *d)
{
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(
        c, "UPDATE cw_meta SET value = value + 1 WHERE name = 'entity_gen'", &st, d);
    if (err)
        return err;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "entity generation");
    cw__sqlite_done(c, st);
    return err;
}

/* ---- migrations ----------------------------------------------------------------------- */

static cw_err user_version(void *conn, int *out, cw_diag *d)
{
    cw__sqlite_conn *c = conn;
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c, "PRAGMA user_version", &st, d);
    if (err)
        return err;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int(st, 0);
    else
        err = cw__sqlite_fail(c, rc, d, "user_version");
    cw__sqlite_done(c, st);
    return err;
}

static void mig_step(size_t i, int *version, const char **what, const char **sql)
{
    const cw__sqlite_migration *m = &cw__sqlite_migrations[i];
    *version = m->version;
    *what = m->what;
    *sql = m->sql;
}

/* Another process may be migrating the same file: the write lock
 * serialises them, and the version is re-read under it. */
static cw_err mig_begin(void *conn, int *out, cw_diag *d)
{
    cw_err err = cw__sqlite_exec(conn, "BEGIN IMMEDIATE", d);
    return err ? err : user_version(conn, out, d);
}

static cw_err mig_exec(void *conn, const char *sql, cw_diag *d)
{
    return cw__sqlite_exec(conn, sql, d);
}

static cw_err mig_set_version(void *conn, int version, cw_diag *d)
{
    char set[64];
    snprintf(set, sizeof set, "PRAGMA user_version = %d", version);
    return cw__sqlite_exec(conn, set, d);
}

static cw_err mig_commit(void *conn, cw_diag *d) { return cw__sqlite_exec(conn, "COMMIT", d); }

static void mig_rollback(void *conn) { rollback_if_open(conn); }

cw_err cw__sqlite_migrate(cw__sqlite_conn *c, cw_diag *d)
{
    const cw__migrator m = {
        .conn = c,
        .n = cw__sqlite_nmigrations,
        .step = mig_step,
        .read_version = user_version,
        .begin = mig_begin,
        .exec = mig_exec,
        .set_version = mig_set_version,
        .commit = mig_commit,
        .rollback = mig_rollback,
    };
    return cw__migrate(&m, d);
}

/* ---- vtable ----------------------------------------------------------------------- */

static const cw_store_core_ops sqlite_core_ops = {
    .close = sqlite_close,
    .ping = sqlite_ping,
    .schema_version = sqlite_schema_version,
    .size_bytes = sqlite_size_bytes,
};

extern const cw_store_backup_ops cw__sqlite_backup_ops; /* sqlite_backup.c */

extern const struct cw_store_event_ops cw__sqlite_event_ops; /* sqlite_events.c */

/* Each domain implemented in a sqlite_<domain>.c adds its line here. */
static const cw_store_vtable sqlite_vtable = {
    .backend = "sqlite",
    .core = &sqlite_core_ops,
    .entities = &cw__sqlite_entity_ops,
    .tokens = &cw__sql_token_ops,
    .events = &cw__sqlite_event_ops,
    .backup = &cw__sqlite_backup_ops,
    .audit = &cw__sql_audit_ops,
    .heartbeats = &cw__sql_hb_ops,
    .sql = &cw__sqlite_sql_ops,
    .ingest = &cw__sqlite_ingest_ops,
    .incidents = &cw__sql_incident_ops,
    .metrics = &cw__sql_metric_ops,
    .history = &cw__sql_history_ops,
};
