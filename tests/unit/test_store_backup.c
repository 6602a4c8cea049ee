/*
 * test_store_backup.c — backup, verify and restore of the SQLite store
 * (store.h) on real files: snapshots that match the source, backups taken
 * while another thread keeps writing, the checks that reject damaged or
 * foreign files, the "in use" lock that keeps restore away from an open
 * database, a restore that drops the old database's stale WAL, and a store
 * that keeps SQLite's WAL-index lock while other processes come and go.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <spawn.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#include "catalog/catalog.h"
#include "fixtures.h"
#include "store/store.h"

typedef struct {
    char dir[256];
    char db[320];
    char out[320];
} env;

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    assert_non_null(e);
    fx_tmpdir(e->dir, sizeof e->dir);
    snprintf(e->db, sizeof e->db, "%s/conway.db", e->dir);
    snprintf(e->out, sizeof e->out, "%s/backup.db", e->dir);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    fx_tmpdir_remove(e->dir);
    free(e);
    return 0;
}

static cw_store *open_store(const char *path, bool read_only)
{
    cw_store_options opt = {.read_only = read_only};
    cw_store *s = NULL;
    cw_diag d = {{0}};
    cw_err err = cw_store_open(path, &opt, &s, &d);
    if (err)
        fail_msg("open %s: %s", path, d.msg);
    return s;
}

static void put_component(cw_store *s, const char *name)
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"apiVersion\":\"backstage.io/v1alpha1\",\"kind\":\"Component\","
             "\"metadata\":{\"name\":\"%s\"},\"spec\":{\"type\":\"service\","
             "\"lifecycle\":\"production\",\"owner\":\"group:default/team-a\"}}",
             name);
    json_t *ent = json_loads(text, 0, NULL);
    assert_non_null(ent);
    cw_diag d = {{0}};
    if (cw_entity_validate(ent, &d))
        fail_msg("validate %s: %s", name, d.msg);
    cw_put_result res;
    if (cw_store_entity_put(s, ent, NULL, &res, &d))
        fail_msg("put %s: %s", name, d.msg);
    json_decref(ent);
}

static bool has_component(cw_store *s, const char *name)
{
    char *json = NULL;
    cw_diag d = {{0}};
    cw_err err = cw_store_entity_get(s, "component", "default", name, &json, NULL, &d);
    free(json);
    if (err && err != CW_ERR_NOT_FOUND)
        fail_msg("get %s: %s", name, d.msg);
    return err == CW_OK;
}

static int64_t rows_of(const cw_backup_report *r, const char *table)
{
    for (size_t i = 0; i < r->ntables; i++)
        if (!strcmp(r->tables[i].name, table))
            return r->tables[i].rows;
    fail_msg("table %s not in the report", table);
    return -1;
}

static bool exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* ---- backup and verify ------------------------------------------------------------- */

static void test_backup_matches_source(void **state)
{
    env *e = *state;
    cw_store *s = open_store(e->db, false);
    for (int i = 0; i < 25; i++) {
        char name[32];
        snprintf(name, sizeof name, "svc-%02d", i);
        put_component(s, name);
    }
    cw_backup_report rep = {0};
    cw_diag d = {{0}};
    assert_int_equal(cw_store_backup(s, e->out, NULL, NULL, &rep, &d), CW_OK);
    assert_int_equal(rows_of(&rep, "entities"), 25);
    assert_true(rep.schema_version >= 1);
    assert_true(rep.pages > 0);
    cw_backup_report_free(&rep);
    /* no temporary file left; the backup is one self-contained file */
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s.tmp", e->out);
    assert_false(exists(tmp));
    snprintf(tmp, sizeof tmp, "%s-wal", e->out);
    assert_false(exists(tmp));

    assert_int_equal(cw_store_backup_verify(e->out, s, &rep, &d), CW_OK);
    assert_int_equal(rep.mismatches, 0);
    assert_int_equal(rows_of(&rep, "entities"), 25);
    cw_backup_report_free(&rep);

    /* the live database moves on: verify reports the tables that differ */
    put_component(s, "svc-late");
    assert_int_equal(cw_store_backup_verify(e->out, s, &rep, &d), CW_OK);
    assert_true(rep.mismatches >= 1);
    bool entities_differ = false;
    for (size_t i = 0; i < rep.ntables; i++)
        if (!strcmp(rep.tables[i].name, "entities"))
            entities_differ = rep.tables[i].rows == 25 && rep.tables[i].source_rows == 26;
    assert_true(entities_differ);
    cw_backup_report_free(&rep);

    /* the backup opens as a store and holds the data */
    cw_store *b = open_store(e->out, true);
    assert_true(has_component(b, "svc-00"));
    assert_true(has_component(b, "svc-24"));
    assert_false(has_component(b, "svc-late"));
    cw_store_close(b);
    cw_store_close(s);
}

typedef struct {
    cw_store *s;
    volatile int stop;
    volatile int written; /* components svc-0 .. svc-(written-1) are committed */
} writer_ctx;

static void *writer(void *arg)
{
    writer_ctx *w = arg;
    while (!w->stop) {
        char name[32];
        snprintf(name, sizeof name, "w-%05d", w->written);
        put_component(w->s, name);
        __atomic_store_n(&w->written, w->written + 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

static void count_progress(void *ctx, int64_t done, int64_t total)
{
    int *calls = ctx;
    assert_true(done <= total);
    (*calls)++;
}

static void test_backup_under_writes(void **state)
{
    env *e = *state;
    cw_store *s = open_store(e->db, false);
    /* enough data that the copy takes several chunks */
    for (int i = 0; i < 400; i++) {
        char name[32];
        snprintf(name, sizeof name, "base-%04d", i);
        put_component(s, name);
    }
    writer_ctx w = {s, 0, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, writer, &w), 0);
    while (__atomic_load_n(&w.written, __ATOMIC_ACQUIRE) < 20)
        usleep(1000);
    int before = __atomic_load_n(&w.written, __ATOMIC_ACQUIRE);
    int calls = 0;
    cw_backup_report rep = {0};
    cw_diag d = {{0}};
    /* a second handle, as `conway backup` opens next to a running server */
    cw_store *bs = open_store(e->db, true);
    cw_err err = cw_store_backup(bs, e->out, count_progress, &calls, &rep, &d);
    int after = __atomic_load_n(&w.written, __ATOMIC_ACQUIRE);
    w.stop = 1;
    pthread_join(th, NULL);
    if (err)
        fail_msg("backup: %s", d.msg);
    assert_true(calls >= 1);
    int64_t n = rows_of(&rep, "entities");
    assert_true(n >= 400 + before);
    assert_true(n <= 400 + after + 1);
    cw_backup_report_free(&rep);
    cw_store_close(bs);

    /* every write committed before the backup started is in it */
    cw_store *b = open_store(e->out, true);
    for (int i = 0; i < before; i++) {
        char name[32];
        snprintf(name, sizeof name, "w-%05d", i);
        assert_true(has_component(b, name));
    }
    cw_store_close(b);
    assert_int_equal(cw_store_backup_verify(e->out, NULL, &rep, &d), CW_OK);
    assert_int_equal(rows_of(&rep, "entities"), n);
    cw_backup_report_free(&rep);
    cw_store_close(s);
}

static void test_backup_failure_leaves_nothing(void **state)
{
    env *e = *state;
    cw_store *s = open_store(e->db, false);
    put_component(s, "one");
    char bad[400];
    snprintf(bad, sizeof bad, "%s/no-such-dir/backup.db", e->dir);
    cw_diag d = {{0}};
    assert_int_not_equal(cw_store_backup(s, bad, NULL, NULL, NULL, &d), CW_OK);
    assert_non_null(strstr(d.msg, "no-such-dir"));
    /* an existing backup is kept when a new one cannot be made */
    assert_int_equal(cw_store_backup(s, e->out, NULL, NULL, NULL, &d), CW_OK);
    assert_int_equal(cw_store_backup(s, e->db, NULL, NULL, NULL, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "database itself"));
    cw_backup_report rep = {0};
    assert_int_equal(cw_store_backup_verify(e->out, NULL, &rep, &d), CW_OK);
    cw_backup_report_free(&rep);
    cw_store_close(s);
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void test_verify_rejects_bad_files(void **state)
{
    env *e = *state;
    cw_backup_report rep = {0};
    cw_diag d = {{0}};
    char p[400];

    snprintf(p, sizeof p, "%s/missing.db", e->dir);
    assert_int_equal(cw_store_backup_verify(p, NULL, &rep, &d), CW_ERR_NOT_FOUND);

    snprintf(p, sizeof p, "%s/text.db", e->dir);
    write_file(p, "hello, not a database\n", 22);
    assert_int_equal(cw_store_backup_verify(p, NULL, &rep, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "not a SQLite database"));

    /* a SQLite file that is not conway's */
    snprintf(p, sizeof p, "%s/other.db", e->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(a); INSERT INTO t VALUES (1)", NULL,
                                  NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(cw_store_backup_verify(p, NULL, &rep, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "not a conway database"));

    /* a schema from the future */
    cw_store *s = open_store(e->db, false);
    put_component(s, "one");
    assert_int_equal(cw_store_backup(s, e->out, NULL, NULL, NULL, &d), CW_OK);
    cw_store_close(s);
    assert_int_equal(sqlite3_open(e->out, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 9999", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(cw_store_backup_verify(e->out, NULL, &rep, &d), CW_ERR_UNSUPPORTED);
    assert_non_null(strstr(d.msg, "newer"));

    /* damaged pages: overwrite the middle of a multi-page backup */
    s = open_store(e->db, false);
    for (int i = 0; i < 200; i++) {
        char name[32];
        snprintf(name, sizeof name, "bulk-%03d", i);
        put_component(s, name);
    }
    assert_int_equal(cw_store_backup(s, e->out, NULL, NULL, &rep, &d), CW_OK);
    int64_t pages = rep.pages, psize = rep.page_size;
    cw_backup_report_free(&rep);
    cw_store_close(s);
    assert_true(pages > 8);
    int fd = open(e->out, O_WRONLY);
    assert_true(fd >= 0);
    char junk[4096];
    memset(junk, 0xA5, sizeof junk);
    for (int64_t pg = 2; pg < pages; pg += 2)
        assert_int_equal(pwrite(fd, junk, (size_t)psize < sizeof junk ? (size_t)psize : sizeof junk,
                                (off_t)(pg * psize)),
                         (ssize_t)((size_t)psize < sizeof junk ? (size_t)psize : sizeof junk));
    close(fd);
    cw_err err = cw_store_backup_verify(e->out, NULL, &rep, &d);
    assert_int_not_equal(err, CW_OK);
    assert_null(rep.tables);
}

/* ---- restore ---------------------------------------------------------------------- */

static void test_restore_refuses_open_database(void **state)
{
    env *e = *state;
    cw_store *s = open_store(e->db, false);
    put_component(s, "kept");
    cw_diag d = {{0}};
    assert_int_equal(cw_store_backup(s, e->out, NULL, NULL, NULL, &d), CW_OK);
    put_component(s, "after-backup");
    /* any open handle, even read-only, keeps restore away */
    assert_int_equal(cw_store_restore(e->db, e->out, NULL, &d), CW_ERR_BUSY);
    assert_non_null(strstr(d.msg, "in use"));
    cw_store *ro = open_store(e->db, true);
    cw_store_close(s);
    assert_int_equal(cw_store_restore(e->db, e->out, NULL, &d), CW_ERR_BUSY);
    cw_store_close(ro);

    cw_backup_report rep = {0};
    assert_int_equal(cw_store_restore(e->db, e->out, &rep, &d), CW_OK);
    assert_int_equal(rows_of(&rep, "entities"), 1);
    cw_backup_report_free(&rep);
    s = open_store(e->db, false);
    assert_true(has_component(s, "kept"));
    assert_false(has_component(s, "after-backup"));
    cw_store_close(s);
}

static void test_restore_drops_stale_wal(void **state)
{
    env *e = *state;
    cw_store *s = open_store(e->db, false);
    put_component(s, "in-backup");
    cw_diag d = {{0}};
    assert_int_equal(cw_store_backup(s, e->out, NULL, NULL, NULL, &d), CW_OK);
    cw_store_close(s);
    /* a database left by a crash: committed pages still in its WAL */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(e->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;"
                                  "CREATE TABLE junk(a); INSERT INTO junk VALUES (randomblob(9000));",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    char wal[400];
    snprintf(wal, sizeof wal, "%s-wal", e->db);
    /* copy the WAL aside before close checkpoints it, then put it back */
    char saved[400];
    snprintf(saved, sizeof saved, "%s/saved-wal", e->dir);
    char cmd[1000];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", wal, saved);
    assert_int_equal(system(cmd), 0);
    sqlite3_close(db);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", saved, wal);
    assert_int_equal(system(cmd), 0);
    assert_true(exists(wal));

    assert_int_equal(cw_store_restore(e->db, e->out, NULL, &d), CW_OK);
    assert_false(exists(wal));
    cw_backup_report rep = {0};
    assert_int_equal(cw_store_backup_verify(e->db, NULL, &rep, &d), CW_OK);
    for (size_t i = 0; i < rep.ntables; i++)
        assert_string_not_equal(rep.tables[i].name, "junk");
    cw_backup_report_free(&rep);
    s = open_store(e->db, false);
    assert_true(has_component(s, "in-backup"));
    cw_store_close(s);
}

static void test_restore_rejects_bad_backup(void **state)
{
    env *e = *state;
    cw_store *s = open_store(e->db, false);
    put_component(s, "precious");
    cw_store_close(s);
    char p[400];
    snprintf(p, sizeof p, "%s/garbage.db", e->dir);
    write_file(p, "SQLite format 3\0garbage garbage garbage", 39);
    cw_diag d = {{0}};
    assert_int_not_equal(cw_store_restore(e->db, p, NULL, &d), CW_OK);
    assert_non_null(strstr(d.msg, "the backup cannot be used"));
    assert_int_equal(cw_store_restore(e->db, e->db, NULL, &d), CW_ERR_INVALID);
    assert_int_equal(cw_store_restore("postgres://localhost/x", p, NULL, &d), CW_ERR_UNSUPPORTED);
    assert_non_null(strstr(d.msg, "pg_dump"));
    /* the database is untouched */
    s = open_store(e->db, false);
    assert_true(has_component(s, "precious"));
    cw_store_close(s);
}

typedef struct {
    int fd;
} unlock_ctx;

static void *unlock_later(void *arg)
{
    unlock_ctx *u = arg;
    usleep(300 * 1000);
    close(u->fd);
    return NULL;
}

static void test_open_waits_for_restore(void **state)
{
    env *e = *state;
    char lock[400];
    snprintf(lock, sizeof lock, "%s.lock", e->db);
    unlock_ctx u = {open(lock, O_RDWR | O_CREAT, 0644)};
    assert_true(u.fd >= 0);
    assert_int_equal(flock(u.fd, LOCK_EX), 0); /* as a restore holds it */
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, unlock_later, &u), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cw_store *s = open_store(e->db, false); /* waits, then opens */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_join(th, NULL);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(waited >= 0.2);
    cw_store_close(s);
}

/* Whether this process holds a POSIX lock on path (Linux /proc/locks). */
static bool holds_posix_lock(const char *path)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    FILE *f = fopen("/proc/locks", "r");
    assert_non_null(f);
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        long pid = 0;
        unsigned long long ino = 0;
        char kind[16];
        /* "3: POSIX  ADVISORY  READ 13944 fe:00:10969564 128 128" */
        if (sscanf(line, "%*[^:]: %15s %*s %*s %ld %*x:%*x:%llu", kind, &pid, &ino) == 3)
            found = !strcmp(kind, "POSIX") && pid == (long)getpid() &&
                    ino == (unsigned long long)sb.st_ino;
    }
    fclose(f);
    return found;
}

/* A server and a CLI command share the database: SQLite's shared lock on the
 * WAL index must stay held by the open store (a process that sees none
 * believes itself the first, truncates the -shm and crashes the other). */
static void test_open_store_keeps_the_wal_index_lock(void **state)
{
    env *e = *state;
    cw_store *s = open_store(e->db, false);
    put_component(s, "first");
    char shm[400];
    snprintf(shm, sizeof shm, "%s-shm", e->db);
    assert_true(holds_posix_lock(shm));
    /* another process opens, writes and closes while this one keeps writing */
    for (int round = 0; round < 3; round++) {
        /* the test binary itself, in child mode (see main): a separate
         * program, as `conway import` next to a server */
        char name[32];
        snprintf(name, sizeof name, "child-%d", round);
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        assert_true(n > 0);
        self[n] = '\0';
        char *args[] = {self, "--child-put", e->db, name, NULL};
        pid_t pid;
        assert_int_equal(posix_spawn(&pid, self, NULL, NULL, args, environ), 0);
        for (int i = 0; i < 20; i++) {
            char pname[32];
            snprintf(pname, sizeof pname, "parent-%d-%d", round, i);
            put_component(s, pname);
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        put_component(s, "after-child");
        assert_true(has_component(s, name));
    }
    assert_true(holds_posix_lock(shm));
    cw_store_close(s);
    cw_backup_report rep = {0};
    cw_diag d = {{0}};
    assert_int_equal(cw_store_backup_verify(e->db, NULL, &rep, &d), CW_OK);
    assert_int_equal(rows_of(&rep, "entities"), 1 + 3 * 20 + 1 + 3);
    cw_backup_report_free(&rep);
}

/* Child mode for test_open_store_keeps_the_wal_index_lock: opens the
 * database, puts one component, closes. Exit status 0 on success. */
static int child_put(const char *db, const char *name)
{
    cw_store *s = NULL;
    cw_diag d = {{0}};
    cw_store_options opt = {0};
    if (cw_store_open(db, &opt, &s, &d)) {
        fprintf(stderr, "child: open: %s\n", d.msg);
        return 2;
    }
    char text[512];
    snprintf(text, sizeof text,
             "{\"apiVersion\":\"backstage.io/v1alpha1\",\"kind\":\"Component\","
             "\"metadata\":{\"name\":\"%s\"},\"spec\":{\"type\":\"service\","
             "\"lifecycle\":\"production\",\"owner\":\"team-a\"}}",
             name);
    json_t *ent = json_loads(text, 0, NULL);
    int code = 0;
    if (!ent || cw_entity_validate(ent, &d) || cw_store_entity_put(s, ent, NULL, NULL, &d)) {
        fprintf(stderr, "child: put: %s\n", d.msg);
        code = 3;
    }
    json_decref(ent);
    cw_store_close(s);
    return code;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "--child-put"))
        return child_put(argv[2], argv[3]);
    const struct CMUnitTest tests[] = {
        T(test_backup_matches_source),
        T(test_backup_under_writes),
        T(test_backup_failure_leaves_nothing),
        T(test_verify_rejects_bad_files),
        T(test_restore_refuses_open_database),
        T(test_restore_drops_stale_wal),
        T(test_restore_rejects_bad_backup),
        T(test_open_waits_for_restore),
        T(test_open_store_keeps_the_wal_index_lock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
