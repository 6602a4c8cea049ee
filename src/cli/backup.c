/*
 * backup.c — `conway backup OUT`, `conway backup --verify OUT` and
 * `conway restore IN`: online snapshots of the SQLite database, proving a
 * backup is intact (and how it compares with the live database), and
 * putting a backup back in place of a stopped database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "store/store.h"

static const char backup_help[] =
    "usage: conway backup [--db URL] [--quiet] OUT\n"
    "       conway backup --verify [--db URL] OUT\n"
    "\n"
    "Writes a consistent snapshot of the SQLite database to OUT while a server\n"
    "keeps serving and writing (SQLite's online backup API; nothing is\n"
    "blocked). The copy is written to OUT.tmp, checked (integrity, foreign keys,\n"
    "the row count of every table against the snapshot), synced to disk and\n"
    "then renamed to OUT, so OUT is always either the previous file or a\n"
    "complete, verified backup. Every write acknowledged before the command\n"
    "started is in it.\n"
    "\n"
    "--verify checks an existing backup without changing anything: integrity,\n"
    "foreign keys, a conway schema this program understands, and the rows of\n"
    "each table. With --db (or CONWAY_DB) it also compares the row counts with\n"
    "that database and exits 1 when they differ (expected when the database\n"
    "has been written since the backup was taken).\n"
    "\n"
    "PostgreSQL databases are backed up with pg_dump or base backups with WAL\n"
    "archiving instead; see docs/operations.md.\n"
    "\n"
    "Options:\n"
    "  --db URL    SQLite file (env CONWAY_DB; default conway.db)\n"
    "  --verify    check OUT instead of writing it\n"
    "  -q, --quiet no progress, only errors (and the summary of --verify)\n";

static const char restore_help[] =
    "usage: conway restore [--db URL] IN\n"
    "\n"
    "Replaces the SQLite database with the backup IN. Refuses while a conway\n"
    "server or command has the database open: every conway process holds a\n"
    "shared lock on DB.lock while it uses DB, and restore needs it exclusively\n"
    "(stop the server first). IN is verified first (as 'conway backup\n"
    "--verify'); it is then copied next to the database, checked again and\n"
    "renamed into place, after removing the old database's -wal and -shm\n"
    "files. The previous contents of the database are lost: take a backup of\n"
    "it first if you may need them.\n"
    "\n"
    "Exit status: 0 restored; 1 the backup or the copy failed verification or\n"
    "could not be written (the database is left as it was); 2 usage error;\n"
    "3 the database is in use by a conway process (stop it and run again).\n"
    "\n"
    "Options:\n"
    "  --db URL    SQLite file to replace (env CONWAY_DB; default conway.db)\n";

#define PG_HINT                                                                          \
    "a PostgreSQL database is backed up with pg_dump / pg_restore, or base backups "     \
    "with WAL archiving for point-in-time recovery (see docs/operations.md)"

static bool is_pg_url(const char *url)
{
    return !strncasecmp(url, "postgres://", 11) || !strncasecmp(url, "postgresql://", 13);
}

static void print_tables(FILE *f, const cw_backup_report *rep, bool compared)
{
    if (compared)
        fprintf(f, "  %-32s %12s %12s\n", "TABLE", "BACKUP", "DATABASE");
    else
        fprintf(f, "  %-32s %12s\n", "TABLE", "ROWS");
    for (size_t i = 0; i < rep->ntables; i++) {
        const cw_backup_table *t = &rep->tables[i];
        char b[32], s[32];
        if (t->rows < 0)
            snprintf(b, sizeof b, "missing");
        else
            snprintf(b, sizeof b, "%lld", (long long)t->rows);
        if (!compared) {
            fprintf(f, "  %-32s %12s\n", t->name, b);
            continue;
        }
        if (t->source_rows < 0)
            snprintf(s, sizeof s, "missing");
        else
            snprintf(s, sizeof s, "%lld", (long long)t->source_rows);
        fprintf(f, "  %-32s %12s %12s%s\n", t->name, b, s,
                t->rows != t->source_rows ? "  differs" : "");
    }
}

static void show_progress(void *ctx, int64_t done, int64_t total)
{
    (void)ctx;
    fprintf(stderr, "\rcopying %lld/%lld pages", (long long)done, (long long)total);
    fflush(stderr);
}

static int do_verify(const char *db, const char *out)
{
    /* compare only with a database named explicitly: the default path may
     * be a database that never existed (and must not be created here) */
    const char *url = db && *db ? db : getenv("CONWAY_DB");
    cw_store *store = NULL;
    cw_diag d = {{0}};
    if (url && *url && is_pg_url(url)) {
        fputs("conway backup --verify: " PG_HINT "\n", stderr);
        return 1;
    }
    if (url && *url) {
        cw_store_options opt = {.read_only = true};
        if (cw_store_open(url, &opt, &store, &d)) {
            fprintf(stderr, "conway backup --verify: cannot open database %s: %s\n", cw_cli_shown_url(url).s, d.msg);
            return 1;
        }
    }
    cw_backup_report rep = {0};
    int rc = 1;
    if (cw_store_backup_verify(out, store, &rep, &d)) {
        fprintf(stderr, "conway backup --verify: %s\n", d.msg);
        goto out;
    }
    printf("%s: intact conway database, schema version %d, %lld pages of %lld bytes\n", out,
           rep.schema_version, (long long)rep.pages, (long long)rep.page_size);
    print_tables(stdout, &rep, store != NULL);
    if (store && rep.mismatches) {
        printf("%zu table(s) differ from %s (it has been written since the backup, or the "
               "backup is not of this database)\n",
               rep.mismatches, url);
        goto out;
    }
    if (store)
        printf("row counts match %s\n", url);
    rc = 0;
out:
    cw_backup_report_free(&rep);
    cw_store_close(store);
    return rc;
}

int cw_cmd_backup(int argc, char **argv)
{
    const char *db = NULL, *verify = NULL, *quiet = NULL;
    cw_opt opts[] = {{"db", true, &db},
                     {"verify", false, &verify},
                     {"quiet", false, &quiet},
                     {NULL, false, NULL}};
    const char *pos[2];
    size_t npos;
    bool help;
    if (!cw_opts_parse("backup", argc, argv, 2, opts, pos, 2, &npos, &help))
        return 2;
    if (help) {
        fputs(backup_help, stdout);
        return 0;
    }
    if (npos != 1) {
        fputs("conway backup: give exactly one backup file (try --help)\n", stderr);
        return 2;
    }
    if (verify)
        return do_verify(db, pos[0]);

    const char *url = cw_cli_db_url(db);
    if (is_pg_url(url)) {
        fputs("conway backup: " PG_HINT "\n", stderr);
        return 1;
    }
    cw_store *store = NULL;
    cw_diag d = {{0}};
    /* read-only: never migrate (or create) the database being backed up */
    cw_store_options opt = {.read_only = true};
    if (cw_store_open(url, &opt, &store, &d)) {
        fprintf(stderr, "conway backup: cannot open database %s: %s\n", cw_cli_shown_url(url).s, d.msg);
        return 1;
    }
    bool tty = !quiet && isatty(STDERR_FILENO);
    cw_backup_report rep = {0};
    int rc = 1;
    cw_err err = cw_store_backup(store, pos[0], tty ? show_progress : NULL, NULL, &rep, &d);
    if (tty)
        fputc('\n', stderr);
    if (err) {
        fprintf(stderr, "conway backup: %s\n", d.msg);
        goto out;
    }
    if (!quiet) {
        printf("backed up %s to %s: schema version %d, %lld pages of %lld bytes, verified\n", cw_cli_shown_url(url).s,
               pos[0], rep.schema_version, (long long)rep.pages, (long long)rep.page_size);
        print_tables(stdout, &rep, false);
    }
    rc = 0;
out:
    cw_backup_report_free(&rep);
    cw_store_close(store);
    return rc;
}

int cw_cmd_restore(int argc, char **argv)
{
    const char *db = NULL;
    cw_opt opts[] = {{"db", true, &db}, {NULL, false, NULL}};
    const char *pos[2];
    size_t npos;
    bool help;
    if (!cw_opts_parse("restore", argc, argv, 2, opts, pos, 2, &npos, &help))
        return 2;
    if (help) {
        fputs(restore_help, stdout);
        return 0;
    }
    if (npos != 1) {
        fputs("conway restore: give exactly one backup file (try --help)\n", stderr);
        return 2;
    }
    const char *url = cw_cli_db_url(db);
    cw_backup_report rep = {0};
    cw_diag d = {{0}};
    cw_err err = cw_store_restore(url, pos[0], &rep, &d);
    if (err) {
        fprintf(stderr, "conway restore: %s\n", d.msg);
        cw_backup_report_free(&rep);
        return err == CW_ERR_BUSY ? 3 : 1;
    }
    printf("restored %s from %s: schema version %d, %lld pages, verified\n", cw_cli_shown_url(url).s, pos[0],
           rep.schema_version, (long long)rep.pages);
    print_tables(stdout, &rep, false);
    cw_backup_report_free(&rep);
    return 0;
}
