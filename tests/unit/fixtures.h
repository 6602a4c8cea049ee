/*
 * fixtures.h — what several unit tests share (library conway_testsupport,
 * tests/unit/fixtures.c): temp directories and whole files, a fresh store
 * per test on each available backend (SQLite temp files; PostgreSQL in a
 * fresh schema of the server CONWAY_TEST_PG_URL names), entities written
 * as readable JSON literals, and the demo organisation (demo/org).
 *
 * The helpers fail the running cmocka test (fail_msg/assert_*) instead of
 * returning errors: a fixture that cannot be built is a failed test.
 */
#ifndef CW_TEST_FIXTURES_H
#define CW_TEST_FIXTURES_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>

#include "catalog/catalog.h"
#include "store/store.h"

#define FX_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- files ------------------------------------------------------------------------------ */

/* Makes a fresh directory under $TMPDIR (or /tmp) into dir. */
void fx_tmpdir(char *dir, size_t cap);
/* Removes dir and the files in it (temp dirs hold no subdirectories). */
void fx_tmpdir_remove(const char *dir);
/* The whole file, NUL-terminated (owned: free()); NULL when it cannot be
 * read. len may be NULL. */
char *fx_read_file(const char *path, size_t *len);
/* The documents of a YAML or JSON file (*docs owned), parsed with the
 * default limits: CW_ERR_NOT_FOUND when the file cannot be read, the
 * parser's error (with d) when it does not parse. */
cw_err fx_parse_file(const char *path, json_t **docs, cw_diag *d);

/* Every document of the .yaml files in dir that parse with the default
 * limits, in one array (owned); files that do not parse (the invalid
 * examples) are left out. Fails the test when dir cannot be read. */
json_t *fx_yaml_dir_docs(const char *dir);

/* ---- stores ----------------------------------------------------------------------------- */

/* A kind of database a test can get fresh. */
typedef struct {
    const char *name; /* as cw_store_backend() names it */
    bool (*available)(void);
    /* A fresh, empty database; returns its context (owned, see destroy). */
    void *(*make)(void);
    const char *(*url)(void *ctx);
    void (*destroy)(void *ctx);
    /* The first column of the first row of sql (-1 without a row), on a raw
     * connection of the backend's own client, bypassing conway's store. */
    long long (*raw_int)(void *ctx, const char *sql);
    /* Runs sql (several statements allowed) on such a raw connection. */
    void (*raw_exec)(void *ctx, const char *sql);
} fx_backend;

/* The context of the SQLite backend: conway.db in a temp directory. */
typedef struct {
    char dir[256];
    char path[300];
} fx_sqlite_db;

extern const fx_backend fx_sqlite_backend;

#ifdef CONWAY_HAVE_PG
#include <libpq-fe.h>

/* The context of the PostgreSQL backend: a fresh schema, selected through
 * the URL's search_path; the schema's name is also the sessions'
 * application_name, so a test can find its own sessions. */
typedef struct {
    char schema[64];
    char *url;
} fx_pg_db;

extern const fx_backend fx_pg_backend;
/* A connection to url that fails the test when it cannot connect
 * (owned: PQfinish). */
PGconn *fx_pg_connect(const char *url);
/* Runs sql on url; the first column of its first row, -1 without a row. */
long long fx_pg_int(const char *url, const char *sql);
#endif

/* Every backend conway has, SQLite first. */
extern const fx_backend *const fx_backends[];
extern const size_t fx_nbackends;

/* The per-test fixture: a fresh database and a store open on it. */
typedef struct {
    const fx_backend *b;
    void *ctx;
    cw_store *s;
} fx_store;

/* The backend whose group fx_run_backends is running. */
extern const fx_backend *fx_current;

/* Opens a store on url with default options, or fails the test. */
cw_store *fx_store_open(const char *url);
/* The URL (or path) of the fixture's database. */
const char *fx_store_url(const fx_store *f);
/* cmocka setup: an fx_store on fx_current. */
int fx_store_setup(void **state);
/* cmocka setup: an fx_store on SQLite, for SQLite-only suites. */
int fx_sqlite_store_setup(void **state);
/* cmocka teardown of both: closes the store, destroys the database. */
int fx_store_teardown(void **state);
/* A cmocka test with a fresh store on fx_current / on SQLite. */
#define FX_STORE_TEST(fn) cmocka_unit_test_setup_teardown(fn, fx_store_setup, fx_store_teardown)
#define FX_SQLITE_TEST(fn) \
    cmocka_unit_test_setup_teardown(fn, fx_sqlite_store_setup, fx_store_teardown)
/* Replaces the fixture's database (its store is closed, f->s NULL) with a
 * new one at schema version `version`: the first migrations only, as an
 * older conway left it, for tests of the migrations that follow. */
void fx_store_at_version(fx_store *f, int version);
/* Runs the tests once per available backend as the group "<suite>: <backend>";
 * returns the number of failed tests. */
int fx_run_backends(const char *suite, const struct CMUnitTest *tests, size_t n);

/* ---- catalog ------------------------------------------------------------------------------ */

/* An entity from JSON written with ' for " (readable literals), validated
 * as the API would (owned). */
json_t *fx_entity(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The documents of demo/org/<name>.yaml; NULL when the file is absent. */
json_t *fx_demo_file(const char *name);
/* Every document of the demo organisation; NULL when it is absent. */
json_t *fx_demo_load(void);
/* Adds store-style relations (both directions) derived from each spec of
 * the entities in all, as the store returns them. */
void fx_add_relations(json_t *all);

#endif
