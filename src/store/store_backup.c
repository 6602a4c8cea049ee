/*
 * store_backup.c — the public backup, verify and restore functions of
 * store.h (dispatch and argument checks, the PostgreSQL answer), the
 * "in use" lock file that keeps a restore from replacing a database that
 * some conway process has open, and the creation of private (0600) files.
 * The SQLite work is in sqlite_backup.c.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store_impl.h"

#define PG_BACKUP_HINT                                                                   \
    "a PostgreSQL database is backed up with PostgreSQL's own tools: pg_dump / "      \
    "pg_restore, or base backups with WAL archiving for point-in-time recovery "       \
    "(see docs/operations.md)"

static bool is_pg_url(const char *url)
{
    return !strncasecmp(url, "postgres://", 11) || !strncasecmp(url, "postgresql://", 13);
}

/* ---- the "in use" lock ---------------------------------------------------------- */

cw_err cw__db_lock(const char *db_path, bool exclusive, int wait_ms, bool best_effort,
                   int *fd_out, cw_diag *d)
{
    *fd_out = -1;
    char path[4096];
    int n = snprintf(path, sizeof path, "%s.lock", db_path);
    if (n < 0 || (size_t)n >= sizeof path)
        return cw_fail(d, CW_ERR_INVALID, "database: path too long: %s", db_path);
    /* a read-only open of a missing database fails anyway: leave no lock file */
    if (best_effort && access(db_path, F_OK) != 0 && errno == ENOENT)
        return CW_OK;
    int fd = cw__create_private(path);
    if (fd < 0 && errno == EEXIST)
        fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0 && best_effort && (errno == EACCES || errno == EROFS || errno == EPERM))
        return CW_OK; /* read-only place: nobody can replace the database there anyway */
    if (fd < 0)
        return cw_fail(d, CW_ERR_IO, "database: cannot open the lock file %s: %s", path,
                       strerror(errno));
    int op = (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB;
    int waited = 0;
    for (;;) {
        if (flock(fd, op) == 0)
            break;
        if (errno == EINTR)
            continue;
        int e = errno;
        if (e != EWOULDBLOCK || exclusive || waited >= wait_ms) {
            close(fd);
            if (e != EWOULDBLOCK)
                return cw_fail(d, CW_ERR_IO, "database: cannot lock %s: %s", path,
                               strerror(e));
            if (exclusive)
                return cw_fail(d, CW_ERR_BUSY,
                               "database %s is in use (a conway server or command has it "
                               "open; %s is locked): stop it first",
                               db_path, path);
            return cw_fail(d, CW_ERR_BUSY,
                           "database %s is being restored (%s is locked exclusively); "
                           "try again when the restore has finished",
                           db_path, path);
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        waited += 20;
    }
    *fd_out = fd;
    return CW_OK;
}

void cw__db_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}

/* ---- reports ---------------------------------------------------------------------- */

/* Fills source_rows of rep from src (both sorted by name) and counts the
 * differences, adding the tables only the source has. */
static cw_err compare_rows(cw_backup_report *rep, const cw_backup_report *src, cw_diag *d)
{
    size_t extra = 0;
    for (size_t j = 0; j < src->ntables; j++) {
        bool found = false;
        for (size_t i = 0; i < rep->ntables && !found; i++)
            found = !strcmp(rep->tables[i].name, src->tables[j].name);
        extra += !found;
    }
    if (extra) {
        cw_backup_table *t = realloc(rep->tables, (rep->ntables + extra) * sizeof *t);
        if (!t)
            return cw_fail(d, CW_ERR_NOMEM, "backup: out of memory");
        rep->tables = t;
    }
    size_t nrep = rep->ntables;
    for (size_t i = 0; i < nrep; i++)
        rep->tables[i].source_rows = -1;
    for (size_t j = 0; j < src->ntables; j++) {
        cw_backup_table *match = NULL;
        for (size_t i = 0; i < nrep && !match; i++)
            if (!strcmp(rep->tables[i].name, src->tables[j].name))
                match = &rep->tables[i];
        if (!match) {
            match = &rep->tables[rep->ntables++];
            memcpy(match->name, src->tables[j].name, sizeof match->name);
            match->rows = -1; /* absent from the backup */
        }
        match->source_rows = src->tables[j].rows;
    }
    rep->mismatches = 0;
    for (size_t i = 0; i < rep->ntables; i++)
        if (rep->tables[i].rows != rep->tables[i].source_rows)
            rep->mismatches++;
    return CW_OK;
}

/* ---- public functions ----------------------------------------------------------- */

cw_err cw_store_backup(cw_store *s, const char *out_path, cw_backup_progress_fn progress,
                       void *progress_ctx, cw_backup_report *rep, cw_diag *d)
{
    if (!s)
        return cw_fail(d, CW_ERR_INVALID, "store: no store handle");
    const cw_store_backup_ops *ops;
    STORE_OPS(s, backup, ops, d);
    if (!out_path || !*out_path)
        return cw_fail(d, CW_ERR_INVALID, "backup: no output file given");
    cw_backup_report local = {0};
    cw_err err = ops->backup(s, out_path, progress, progress_ctx, rep ? rep : &local, d);
    cw_backup_report_free(&local);
    return err;
}

cw_err cw_store_backup_verify(const char *backup_path, cw_store *source,
                              cw_backup_report *rep, cw_diag *d)
{
    if (!backup_path || !*backup_path)
        return cw_fail(d, CW_ERR_INVALID, "verify: no backup file given");
    if (!rep)
        return cw_fail(d, CW_ERR_INVALID, "verify: no report");
    memset(rep, 0, sizeof *rep);
    const cw_store_backup_ops *ops = NULL;
    if (source)
        STORE_OPS(source, backup, ops, d);
    cw_backup_report src = {0};
    cw_err err = CW_OK;
    /* the source first: a backend that cannot count (PostgreSQL) says so
     * before the file is read */
    if (source && (err = ops->table_rows(source, &src, d)))
        return err;
    err = cw__sqlite_backup_inspect(backup_path, rep, d);
    if (!err && source)
        err = compare_rows(rep, &src, d);
    cw_backup_report_free(&src);
    return err;
}

cw_err cw_store_restore(const char *url, const char *in_path, cw_backup_report *rep,
                        cw_diag *d)
{
    if (!url || !*url)
        return cw_fail(d, CW_ERR_INVALID, "restore: no database given");
    if (!in_path || !*in_path)
        return cw_fail(d, CW_ERR_INVALID, "restore: no backup file given");
    if (is_pg_url(url))
        return cw_fail(d, CW_ERR_UNSUPPORTED, "%s", PG_BACKUP_HINT);
    if (!strcmp(url, ":memory:") || !strncmp(url, "file:", 5))
        return cw_fail(d, CW_ERR_INVALID, "restore: \"%s\": give a file path", url);
    cw_backup_report local = {0};
    int fd = -1;
    cw_err err = cw__db_lock(url, true, 0, false, &fd, d);
    if (!err)
        err = cw__sqlite_restore_file(url, in_path, rep ? rep : &local, d);
    cw__db_unlock(fd);
    cw_backup_report_free(&local);
    return err;
}
