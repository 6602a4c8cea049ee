/*
 * fixtures.c — the unit tests' shared fixtures (fixtures.h): temp
 * directories, whole files, fresh stores per backend, entity literals and
 * the demo organisation. Linked into every unit test as conway_testsupport.
 */
#include "fixtures.h"

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/sqlite_int.h"
#ifdef CONWAY_HAVE_PG
#include "store/postgres_int.h"
#endif
#include "util/buf.h"

/* ---- files ------------------------------------------------------------------------------ */

void fx_tmpdir(char *dir, size_t cap)
{
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(dir, cap, "%s/cw-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_true(n > 0 && (size_t)n < cap);
    assert_non_null(mkdtemp(dir));
}

void fx_tmpdir_remove(const char *dir)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return;
    struct dirent *de;
    char p[1024];
    while ((de = readdir(dp))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    closedir(dp);
    if (rmdir(dir) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

char *fx_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    cw_buf b;
    cw_buf_init(&b, 0);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        assert_int_equal(cw_buf_append(&b, chunk, n), CW_OK);
    fclose(f);
    assert_int_equal(cw_buf_putc(&b, '\0'), CW_OK); /* an empty file is "" too */
    size_t got = 0;
    char *text = cw_buf_steal(&b, &got);
    if (len)
        *len = got - 1;
    return text;
}

cw_err fx_parse_file(const char *path, json_t **docs, cw_diag *d)
{
    size_t n = 0;
    char *text = fx_read_file(path, &n);
    if (!text)
        return cw_fail(d, CW_ERR_NOT_FOUND, "%s: cannot read the file", path);
    cw_parse_limits lim;
    cw_parse_limits_default(&lim);
    cw_err err = cw_parse_documents(text, n, &lim, docs, d);
    free(text);
    return err;
}

json_t *fx_yaml_dir_docs(const char *dir)
{
    DIR *dp = opendir(dir);
    if (!dp)
        fail_msg("cannot open %s", dir);
    json_t *all = json_array();
    assert_non_null(all);
    struct dirent *de;
    while ((de = readdir(dp))) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 5, ".yaml"))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        json_t *docs = NULL;
        cw_diag d = {""};
        cw_err err = fx_parse_file(path, &docs, &d);
        if (err == CW_ERR_NOT_FOUND)
            fail_msg("%s", d.msg);
        if (err)
            continue;
        json_array_extend(all, docs);
        json_decref(docs);
    }
    closedir(dp);
    return all;
}

/* ---- stores: SQLite ------------------------------------------------------------------------ */

static bool sqlite_available(void) { return true; }

static void *sqlite_make(void)
{
    fx_sqlite_db *c = calloc(1, sizeof *c);
    assert_non_null(c);
    fx_tmpdir(c->dir, sizeof c->dir);
    snprintf(c->path, sizeof c->path, "%s/conway.db", c->dir);
    return c;
}

static const char *sqlite_url(void *ctx) { return ((fx_sqlite_db *)ctx)->path; }

static void sqlite_destroy(void *ctx)
{
    fx_sqlite_db *c = ctx;
    fx_tmpdir_remove(c->dir);
    free(c);
}

static long long sqlite_raw_int(void *ctx, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;
    assert_int_equal(sqlite3_open_v2(sqlite_url(ctx), &db, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void sqlite_raw_exec(void *ctx, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(sqlite_url(ctx), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

const fx_backend fx_sqlite_backend = {
    "sqlite", sqlite_available, sqlite_make, sqlite_url, sqlite_destroy, sqlite_raw_int,
    sqlite_raw_exec,
};

/* ---- stores: PostgreSQL ----------------------------------------------------------------------- */

#ifdef CONWAY_HAVE_PG
PGconn *fx_pg_connect(const char *url)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("PostgreSQL: %s", PQerrorMessage(c));
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    return c;
}

long long fx_pg_int(const char *url, const char *sql)
{
    PGconn *c = fx_pg_connect(url);
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    long long v = st == PGRES_TUPLES_OK && PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10)
                                                        : -1;
    PQclear(r);
    PQfinish(c);
    return v;
}

static bool pg_available(void)
{
    const char *u = getenv("CONWAY_TEST_PG_URL");
    return u && *u;
}

static void *pg_make(void)
{
    static unsigned seq;
    fx_pg_db *c = calloc(1, sizeof *c);
    assert_non_null(c);
    snprintf(c->schema, sizeof c->schema, "cw_test_%ld_%u", (long)getpid(), seq++);
    const char *base = getenv("CONWAY_TEST_PG_URL");
    size_t cap = strlen(base) + 2 * sizeof c->schema + 64;
    c->url = malloc(cap);
    assert_non_null(c->url);
    snprintf(c->url, cap, "%s%coptions=-csearch_path%%3D%s&application_name=%s", base,
             strchr(base, '?') ? '&' : '?', c->schema, c->schema);
    char sql[256];
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", c->schema,
             c->schema);
    fx_pg_int(base, sql);
    return c;
}

static const char *pg_url(void *ctx) { return ((fx_pg_db *)ctx)->url; }

static void pg_destroy(void *ctx)
{
    fx_pg_db *c = ctx;
    char sql[160];
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", c->schema);
    fx_pg_int(getenv("CONWAY_TEST_PG_URL"), sql);
    free(c->url);
    free(c);
}

static long long pg_raw_int(void *ctx, const char *sql) { return fx_pg_int(pg_url(ctx), sql); }

static void pg_raw_exec(void *ctx, const char *sql) { fx_pg_int(pg_url(ctx), sql); }

const fx_backend fx_pg_backend = {
    "postgres", pg_available, pg_make, pg_url, pg_destroy, pg_raw_int, pg_raw_exec,
};
#endif

const fx_backend *const fx_backends[] = {
    &fx_sqlite_backend,
#ifdef CONWAY_HAVE_PG
    &fx_pg_backend,
#endif
};
const size_t fx_nbackends = FX_LEN(fx_backends);

/* ---- stores: the fixture ------------------------------------------------------------------------ */

const fx_backend *fx_current;

cw_store *fx_store_open(const char *url)
{
    cw_store *s = NULL;
    cw_diag d = {""};
    cw_err err = cw_store_open(url, NULL, &s, &d);
    if (err)
        fail_msg("open %s: %s: %s", url, cw_err_name(err), d.msg);
    return s;
}

const char *fx_store_url(const fx_store *f) { return f->b->url(f->ctx); }

void fx_store_at_version(fx_store *f, int version)
{
    cw_store_close(f->s);
    f->s = NULL;
    f->b->destroy(f->ctx);
    f->ctx = f->b->make();
    char set[96];
    if (!strcmp(f->b->name, "sqlite")) {
        assert_true(version >= 1 && (size_t)version <= cw__sqlite_nmigrations);
        for (int i = 0; i < version; i++)
            f->b->raw_exec(f->ctx, cw__sqlite_migrations[i].sql);
        snprintf(set, sizeof set, "PRAGMA user_version = %d", version);
        f->b->raw_exec(f->ctx, set);
        return;
    }
#ifdef CONWAY_HAVE_PG
    assert_true(version >= 1 && (size_t)version <= cw__pg_nmigrations);
    f->b->raw_exec(f->ctx, "CREATE TABLE cw_schema_version (id integer PRIMARY KEY"
                           " CHECK (id = 1), version integer NOT NULL)");
    for (int i = 0; i < version; i++)
        f->b->raw_exec(f->ctx, cw__pg_migrations[i].sql);
    snprintf(set, sizeof set, "INSERT INTO cw_schema_version (id, version) VALUES (1, %d)",
             version);
    f->b->raw_exec(f->ctx, set);
#endif
}

static int store_setup_on(void **state, const fx_backend *b)
{
    fx_store *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->b = b;
    f->ctx = b->make();
    f->s = fx_store_open(b->url(f->ctx));
    *state = f;
    return 0;
}

int fx_store_setup(void **state) { return store_setup_on(state, fx_current); }

int fx_sqlite_store_setup(void **state) { return store_setup_on(state, &fx_sqlite_backend); }

int fx_store_teardown(void **state)
{
    fx_store *f = *state;
    cw_store_close(f->s);
    f->b->destroy(f->ctx);
    free(f);
    return 0;
}

int fx_run_backends(const char *suite, const struct CMUnitTest *tests, size_t n)
{
    int failed = 0;
    for (size_t i = 0; i < fx_nbackends; i++) {
        fx_current = fx_backends[i];
        if (!fx_current->available())
            continue;
        char name[96];
        snprintf(name, sizeof name, "%s: %s", suite, fx_current->name);
        failed += _cmocka_run_group_tests(name, tests, n, NULL, NULL);
    }
    return failed;
}

/* ---- catalog ---------------------------------------------------------------------------------- */

json_t *fx_entity(const char *fmt, ...)
{
    char text[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof text);
    for (char *p = text; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_error_t je;
    json_t *e = json_loads(text, 0, &je);
    if (!e)
        fail_msg("bad test JSON: %s: %s", je.text, text);
    cw_diag d = {""};
    cw_err err = cw_entity_validate(e, &d);
    if (err)
        fail_msg("test entity invalid: %s: %s", d.msg, text);
    return e;
}

json_t *fx_demo_file(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/demo/org/%s.yaml", CONWAY_SOURCE_DIR, name);
    json_t *docs = NULL;
    cw_diag d = {""};
    cw_err err = fx_parse_file(path, &docs, &d);
    if (err == CW_ERR_NOT_FOUND)
        return NULL;
    if (err)
        fail_msg("%s: %s", path, d.msg);
    return docs;
}

json_t *fx_demo_load(void)
{
    static const char *const files[] = {"groups", "users", "domains-systems", "components",
                                        "apis", "resources", "responsibilities"};
    json_t *all = json_array();
    assert_non_null(all);
    for (size_t i = 0; i < FX_LEN(files); i++) {
        json_t *docs = fx_demo_file(files[i]);
        if (!docs) {
            json_decref(all);
            return NULL;
        }
        json_array_extend(all, docs);
        json_decref(docs);
    }
    return all;
}

void fx_add_relations(json_t *all)
{
    json_t *by_key = json_object();
    size_t i;
    json_t *e;
    json_array_foreach(all, i, e) {
        cw_ref r;
        char key[CW_REF_MAX];
        assert_int_equal(cw_entity_ref(e, &r, NULL), CW_OK);
        cw_ref_key(&r, key);
        json_object_set(by_key, key, e);
        json_object_set_new(e, "relations", json_array());
    }
    json_array_foreach(all, i, e) {
        cw_relation_list rels = {0};
        cw_diag d = {""};
        cw_ref self;
        char self_ref[CW_REF_MAX];
        cw_entity_ref(e, &self, NULL);
        cw_ref_format(&self, self_ref);
        if (cw_entity_relations(e, &rels, &d) != CW_OK)
            fail_msg("relations: %s", d.msg);
        for (size_t k = 0; k < rels.len; k++) {
            json_array_append_new(json_object_get(e, "relations"),
                                  json_pack("{s:s, s:s}", "type", rels.items[k].type,
                                            "targetRef", rels.items[k].target_ref));
            json_t *t = json_object_get(by_key, rels.items[k].target_key);
            const char *inv = cw_relation_inverse(rels.items[k].type);
            if (t && inv)
                json_array_append_new(json_object_get(t, "relations"),
                                      json_pack("{s:s, s:s}", "type", inv, "targetRef",
                                                self_ref));
        }
        cw_relation_list_free(&rels);
    }
    json_decref(by_key);
}
