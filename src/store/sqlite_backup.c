/*
 * sqlite_backup.c — the SQLite side of backup and restore (store.h):
 * online snapshots with SQLite's backup API, the checks that prove a backup
 * file is an intact conway database (integrity, foreign keys, schema
 * version, row counts per table) and the safe replacement of a database
 * file by a backup (copy next to it, check, remove stale WAL files, rename).
 */
#include "store/sqlite_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Pages copied per backup step: small enough to report progress often, big
 * enough that the per-step overhead does not matter. */
#define BACKUP_CHUNK_PAGES 1024
#define BUSY_RETRIES 1000

/* ---- helpers ------------------------------------------------------------------------ */

static cw_err db_fail(sqlite3 *db, int rc, cw_diag *d, const char *what, const char *path)
{
    cw_err err;
    switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT: err = CW_ERR_INVALID; break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: err = CW_ERR_BUSY; break;
    case SQLITE_NOMEM: err = CW_ERR_NOMEM; break;
    case SQLITE_CANTOPEN: err = CW_ERR_IO; break;
    default: err = CW_ERR_IO; break;
    }
    if ((rc & 0xff) == SQLITE_NOTADB)
        return cw_fail(d, err, "%s: not a SQLite database", path);
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    return cw_fail(d, err, "%s: %s: %s", path, what, msg);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static cw_err suffixed(const char *path, const char *suffix, char out[4096], cw_diag *d)
{
    int n = snprintf(out, 4096, "%s%s", path, suffix);
    if (n < 0 || n >= 4096)
        return cw_fail(d, CW_ERR_INVALID, "%s: path too long", path);
    return CW_OK;
}

/* Removes path; a missing file is fine. */
static cw_err remove_file(const char *path, cw_diag *d)
{
    if (unlink(path) == 0 || errno == ENOENT)
        return CW_OK;
    return cw_fail(d, CW_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
}

/* fsync of a file, or with dir = true of the directory holding it, so that a
 * rename survives a power cut. */
static cw_err sync_path(const char *path, bool dir, cw_diag *d)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    const char *target = dir ? dirname(copy) : path;
    int fd = open(target, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
    if (fd < 0)
        return cw_fail(d, CW_ERR_IO, "cannot open %s to sync it: %s", target, strerror(errno));
    cw_err err = CW_OK;
    if (fsync(fd) != 0)
        err = cw_fail(d, CW_ERR_IO, "cannot sync %s: %s", target, strerror(errno));
    close(fd);
    return err;
}

/* Runs a statement that answers one integer. */
static cw_err query_int(sqlite3 *db, const char *sql, int64_t *out, cw_diag *d,
                        const char *path)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        }
    }
    cw_err err = rc == SQLITE_OK ? CW_OK : db_fail(db, rc, d, sql, path);
    sqlite3_finalize(st);
    return err;
}

static cw_err exec_sql(sqlite3 *db, const char *sql, cw_diag *d, const char *path)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? CW_OK : db_fail(db, rc, d, sql, path);
}

/* Row counts of every table (not SQLite's own), sorted by name. The caller
 * runs this inside a read transaction when it needs one snapshot. */
static cw_err table_rows_db(sqlite3 *db, cw_backup_report *rep, cw_diag *d, const char *path)
{
    free(rep->tables);
    rep->tables = NULL;
    rep->ntables = 0;
    size_t cap = 0;
    sqlite3_stmt *st = NULL;
    cw_err err = CW_OK;
    int rc = sqlite3_prepare_v2(db,
                                "SELECT name FROM sqlite_schema WHERE type = 'table' AND "
                                "name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_fail(db, rc, d, "listing tables", path);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        size_t len = name ? strlen(name) : 0;
        if (!len || len >= CW_BACKUP_TABLE_NAME_MAX) {
            err = cw_fail(d, CW_ERR_INVALID, "%s: a table name is empty or too long", path);
            goto out;
        }
        if (rep->ntables == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            cw_backup_table *t = realloc(rep->tables, ncap * sizeof *t);
            if (!t) {
                err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
                goto out;
            }
            rep->tables = t;
            cap = ncap;
        }
        cw_backup_table *t = &rep->tables[rep->ntables];
        memset(t, 0, sizeof *t);
        memcpy(t->name, name, len + 1);
        t->source_rows = -1;
        char *sql = sqlite3_mprintf("SELECT count(*) FROM \"%w\"", name);
        if (!sql) {
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
            goto out;
        }
        err = query_int(db, sql, &t->rows, d, path);
        sqlite3_free(sql);
        if (err)
            goto out;
        rep->ntables++;
    }
    if (rc != SQLITE_DONE)
        err = db_fail(db, rc, d, "listing tables", path);
out:
    sqlite3_finalize(st);
    return err;
}

/* The copy must hold exactly the snapshot's tables and rows. */
static cw_err same_rows(const cw_backup_report *copy, const cw_backup_report *snap,
                        const char *what, cw_diag *d)
{
    if (copy->ntables != snap->ntables)
        return cw_fail(d, CW_ERR_IO, "%s has %zu tables, the original %zu", what,
                       copy->ntables, snap->ntables);
    for (size_t i = 0; i < copy->ntables; i++) {
        const cw_backup_table *a = &copy->tables[i], *b = &snap->tables[i];
        if (strcmp(a->name, b->name) != 0)
            return cw_fail(d, CW_ERR_IO, "%s has table %s where the original has %s", what,
                           a->name, b->name);
        if (a->rows != b->rows)
            return cw_fail(d, CW_ERR_IO, "%s: table %s has %lld rows, the original %lld",
                           what, a->name, (long long)a->rows, (long long)b->rows);
    }
    return CW_OK;
}

/* Copies every page of src into the fresh file dst_path (created), stepping
 * in chunks, then makes the copy a self-contained rollback-journal file. */
static cw_err copy_db(sqlite3 *src, const char *src_path, const char *dst_path,
                      cw_backup_progress_fn progress, void *ctx, cw_diag *d)
{
    sqlite3 *dst = NULL;
    sqlite3_backup *b = NULL;
    cw_err err = CW_OK;
    /* Created here with mode 0600 (its -journal follows it), not by SQLite
     * with 0644 minus the umask: a backup holds the audit log and the token
     * hashes. The callers removed any leftover first. */
    int fd = cw__create_private(dst_path);
    if (fd < 0)
        return cw_fail(d, CW_ERR_IO, "%s: create: %s", dst_path, strerror(errno));
    close(fd);
    int rc = sqlite3_open_v2(dst_path, &dst,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        err = db_fail(dst, rc, d, "create", dst_path);
        goto out;
    }
    sqlite3_busy_timeout(dst, CW_SQLITE_BUSY_TIMEOUT_MS);
    if ((err = exec_sql(dst, "PRAGMA synchronous=FULL", d, dst_path)))
        goto out;
    b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b) {
        err = db_fail(dst, sqlite3_errcode(dst), d, "backup", dst_path);
        goto out;
    }
    int busy = 0;
    do {
        rc = sqlite3_backup_step(b, BACKUP_CHUNK_PAGES);
        if (progress && (rc == SQLITE_OK || rc == SQLITE_DONE)) {
            int total = sqlite3_backup_pagecount(b);
            progress(ctx, (int64_t)(total - sqlite3_backup_remaining(b)), (int64_t)total);
        }
        if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && ++busy < BUSY_RETRIES)
            sleep_ms(10);
        else if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            break;
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    int frc = sqlite3_backup_finish(b);
    b = NULL;
    if (rc != SQLITE_DONE) {
        err = db_fail(rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? src : dst, rc, d,
                      "copying pages", src_path);
        goto out;
    }
    if (frc != SQLITE_OK) {
        err = db_fail(dst, frc, d, "finishing the copy", dst_path);
        goto out;
    }
    /* The copy carries the source's WAL flag; a backup is one file. */
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(dst, "PRAGMA journal_mode=DELETE", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        err = db_fail(dst, rc, d, "journal_mode=DELETE", dst_path);
    else if (strcmp((const char *)sqlite3_column_text(st, 0), "delete") != 0)
        err = cw_fail(d, CW_ERR_IO, "%s: cannot leave WAL mode", dst_path);
    sqlite3_finalize(st);
out:
    if (b)
        sqlite3_backup_finish(b);
    if (dst && sqlite3_close(dst) != SQLITE_OK && !err)
        err = cw_fail(d, CW_ERR_IO, "%s: cannot close the copy", dst_path);
    return err;
}

static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* ---- checks on a file ------------------------------------------------------------- */

cw_err cw__sqlite_backup_inspect(const char *path, cw_backup_report *rep, cw_diag *d)
{
    memset(rep, 0, sizeof *rep);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return cw_fail(d, errno == ENOENT ? CW_ERR_NOT_FOUND : CW_ERR_IO, "%s: %s", path,
                       strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return cw_fail(d, CW_ERR_INVALID, "%s: not a regular file", path);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    bool in_txn = false;
    cw_err err = CW_OK;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        err = db_fail(db, rc, d, "open", path);
        goto out;
    }
    sqlite3_busy_timeout(db, CW_SQLITE_BUSY_TIMEOUT_MS);
    /* one snapshot for every figure below */
    if ((err = exec_sql(db, "BEGIN", d, path)))
        goto out;
    in_txn = true;
    int64_t v = 0, has_meta = 0;
    if ((err = query_int(db, "PRAGMA user_version", &v, d, path)))
        goto out;
    if ((err = query_int(db,
                         "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
                         "name = 'cw_meta'",
                         &has_meta, d, path)))
        goto out;
    if (v < 1 || !has_meta) {
        err = cw_fail(d, CW_ERR_INVALID, "%s: not a conway database (no conway schema)", path);
        goto out;
    }
    if (v > (int64_t)cw__sqlite_nmigrations) {
        err = cw_fail(d, CW_ERR_UNSUPPORTED,
                      "%s: schema version %lld is newer than this program's %zu; use a newer "
                      "conway",
                      path, (long long)v, cw__sqlite_nmigrations);
        goto out;
    }
    rep->schema_version = (int)v;
    rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        err = db_fail(db, rc, d, "integrity check", path);
        goto out;
    }
    const char *verdict = (const char *)sqlite3_column_text(st, 0);
    if (!verdict || strcmp(verdict, "ok") != 0) {
        err = cw_fail(d, CW_ERR_INVALID, "%s: integrity check failed: %.300s", path,
                      verdict ? verdict : "(no answer)");
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    rc = sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        err = cw_fail(d, CW_ERR_INVALID,
                      "%s: foreign key check failed: row %lld of %s refers to a missing row "
                      "of %s",
                      path, (long long)sqlite3_column_int64(st, 1),
                      (const char *)sqlite3_column_text(st, 0),
                      (const char *)sqlite3_column_text(st, 2));
        goto out;
    }
    if (rc != SQLITE_DONE) {
        err = db_fail(db, rc, d, "foreign key check", path);
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if ((err = query_int(db, "PRAGMA page_count", &rep->pages, d, path)) ||
        (err = query_int(db, "PRAGMA page_size", &rep->page_size, d, path)))
        goto out;
    err = table_rows_db(db, rep, d, path);
out:
    sqlite3_finalize(st);
    if (in_txn)
        (void)sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (db)
        sqlite3_close(db);
    if (err) {
        free(rep->tables);
        memset(rep, 0, sizeof *rep);
    }
    return err;
}

/* ---- online backup (the store's backup domain) ------------------------------------ */

static cw_err sqlite_backup(cw_store *st, const char *out_path, cw_backup_progress_fn progress,
                            void *progress_ctx, cw_backup_report *rep, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(st);
    char tmp[4096], tmp_journal[4096];
    cw_err err;
    if ((err = suffixed(out_path, ".tmp", tmp, d)) ||
        (err = suffixed(tmp, "-journal", tmp_journal, d)))
        return err;
    if (same_file(out_path, s->path) || same_file(tmp, s->path))
        return cw_fail(d, CW_ERR_INVALID, "%s is the database itself", out_path);
    /* left over by an interrupted backup */
    if ((err = remove_file(tmp, d)) || (err = remove_file(tmp_journal, d)))
        return err;

    cw_backup_report snap = {0};
    bool made_tmp = false;
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    /* One read transaction pins one snapshot: the counts below and every
     * page the backup copies come from it, and commits by others (which
     * would restart a backup stepped outside a transaction) stay invisible.
     * In WAL mode this blocks no writer. */
    err = cw__sqlite_read_begin(c, d);
    if (!err)
        err = table_rows_db(c->db, &snap, d, s->path);
    if (!err) {
        made_tmp = true;
        err = copy_db(c->db, s->path, tmp, progress, progress_ctx, d);
    }
    cw__sqlite_read_end(c);
    cw__sqlite_read_release(s, c);
    if (err)
        goto out;
    if ((err = cw__sqlite_backup_inspect(tmp, rep, d)))
        goto out;
    if ((err = same_rows(rep, &snap, "the backup", d)))
        goto out;
    if ((err = sync_path(tmp, false, d)))
        goto out;
    if (rename(tmp, out_path) != 0) {
        err = cw_fail(d, CW_ERR_IO, "cannot rename %s to %s: %s", tmp, out_path,
                      strerror(errno));
        goto out;
    }
    made_tmp = false;
    err = sync_path(out_path, true, d);
out:
    if (made_tmp) {
        unlink(tmp);
        unlink(tmp_journal);
    }
    if (err) {
        free(rep->tables);
        memset(rep, 0, sizeof *rep);
    }
    cw_backup_report_free(&snap);
    return err;
}

static cw_err sqlite_table_rows(cw_store *st, cw_backup_report *rep, cw_diag *d)
{
    cw_sqlite *s = cw__sqlite(st);
    cw__sqlite_conn *c = cw__sqlite_read_acquire(s);
    cw_err err = cw__sqlite_read_begin(c, d);
    if (!err)
        err = table_rows_db(c->db, rep, d, s->path);
    cw__sqlite_read_end(c);
    cw__sqlite_read_release(s, c);
    return err;
}

const cw_store_backup_ops cw__sqlite_backup_ops = {
    .backup = sqlite_backup,
    .table_rows = sqlite_table_rows,
};

/* ---- restore ------------------------------------------------------------------------ */

cw_err cw__sqlite_restore_file(const char *db_path, const char *in_path,
                               cw_backup_report *rep, cw_diag *d)
{
    memset(rep, 0, sizeof *rep);
    char tmp[4096], tmp_journal[4096];
    cw_err err;
    if ((err = suffixed(db_path, ".restore-tmp", tmp, d)) ||
        (err = suffixed(tmp, "-journal", tmp_journal, d)))
        return err;
    if (same_file(db_path, in_path))
        return cw_fail(d, CW_ERR_INVALID, "%s is the database itself", in_path);

    cw_backup_report in = {0};
    sqlite3 *src = NULL;
    bool made_tmp = false;
    if ((err = cw__sqlite_backup_inspect(in_path, &in, d))) {
        cw_diag_prefix(d, "the backup cannot be used");
        goto out;
    }
    if ((err = remove_file(tmp, d)) || (err = remove_file(tmp_journal, d)))
        goto out;
    int rc = sqlite3_open_v2(in_path, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        err = db_fail(src, rc, d, "open", in_path);
        goto out;
    }
    made_tmp = true;
    if ((err = copy_db(src, in_path, tmp, NULL, NULL, d)))
        goto out;
    sqlite3_close(src);
    src = NULL;
    if ((err = cw__sqlite_backup_inspect(tmp, rep, d)) ||
        (err = same_rows(rep, &in, "the restored copy", d)) ||
        (err = sync_path(tmp, false, d)))
        goto out;
    /* The restored file keeps the mode the database had (its owner may
     * have chosen one); a new database stays 0600. */
    struct stat old;
    if (stat(db_path, &old) == 0 && chmod(tmp, old.st_mode & 0777) != 0) {
        err = cw_fail(d, CW_ERR_IO, "cannot set the mode of %s: %s", tmp, strerror(errno));
        goto out;
    }
    /* The old database's WAL must never be replayed into the restored file:
     * remove it (and the index and any rollback journal) before the rename.
     * Nobody has them open: the caller holds the exclusive lock. */
    static const char *const stale[] = {"-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof stale / sizeof stale[0]; i++) {
        char p[4096];
        if ((err = suffixed(db_path, stale[i], p, d)) || (err = remove_file(p, d)))
            goto out;
    }
    if (rename(tmp, db_path) != 0) {
        err = cw_fail(d, CW_ERR_IO, "cannot rename %s to %s: %s", tmp, db_path,
                      strerror(errno));
        goto out;
    }
    made_tmp = false;
    err = sync_path(db_path, true, d);
out:
    if (src)
        sqlite3_close(src);
    if (made_tmp) {
        unlink(tmp);
        unlink(tmp_journal);
    }
    if (err) {
        free(rep->tables);
        memset(rep, 0, sizeof *rep);
    }
    cw_backup_report_free(&in);
    return err;
}
