/*
 * test_store_postgres.c — behaviour specific to the PostgreSQL backend,
 * beyond the shared conformance suite: instances starting together migrate
 * once, a newer schema is refused, transactions are retried on
 * serialization failures, the pool never exceeds its size, connections the
 * server dropped are replaced, and several instances on one database agree
 * (concurrent puts of one new entity, caches never stale). Runs against the
 * server CONWAY_TEST_PG_URL names (scripts/services.sh), each test in a
 * fresh schema; skipped without it or without libpq.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "fixtures.h"
#include "store/store.h"
#include "store/store_audit.h"

#ifdef CONWAY_HAVE_PG
#include "store/postgres_int.h"

/* Each test in a fresh schema (fixtures.h), named also in the sessions'
 * application_name: tests that count or end sessions touch only their own
 * (suites run in parallel). */
static int setup(void **state)
{
    *state = fx_pg_backend.make();
    return 0;
}

static int teardown(void **state)
{
    fx_pg_backend.destroy(*state);
    return 0;
}

static cw_store *open_pool(const char *url, int pool)
{
    cw_store *s = NULL;
    cw_diag d = {""};
    cw_store_options opt = {.pool_size = pool};
    cw_err err = cw__pg_open(url, &opt, &s, &d);
    if (err)
        fail_msg("open: %s: %s", cw_err_name(err), d.msg);
    return s;
}

static json_t *component(const char *name, const char *type)
{
    json_t *e = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:s}}", "apiVersion",
                          "backstage.io/v1alpha1", "kind", "Component", "metadata", "name",
                          name, "spec", "type", type, "lifecycle", "production", "owner",
                          "team-a");
    cw_diag d = {""};
    assert_non_null(e);
    assert_int_equal(cw_entity_validate(e, &d), CW_OK);
    return e;
}

static char *spec_type(cw_store *s, const char *name)
{
    char *text = NULL;
    cw_diag d = {""};
    if (cw_store_entity_get(s, "component", "default", name, &text, NULL, &d) != CW_OK)
        return NULL;
    json_t *e = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(e);
    const char *t = json_string_value(json_object_get(json_object_get(e, "spec"), "type"));
    char *copy = strdup(t ? t : "");
    json_decref(e);
    return copy;
}

/* ---- migrations ---------------------------------------------------------------------- */

typedef struct {
    const char *url;
    cw_err err;
    char msg[512];
} opener;

static void *open_main(void *arg)
{
    opener *o = arg;
    cw_store *s = NULL;
    cw_diag d = {""};
    cw_store_options opt = {.pool_size = 1};
    o->err = cw__pg_open(o->url, &opt, &s, &d);
    snprintf(o->msg, sizeof o->msg, "%s", d.msg);
    cw_store_close(s);
    return NULL;
}

static void test_instances_starting_together_migrate_once(void **state)
{
    fx_pg_db *f = *state;
    enum { N = 6 };
    opener o[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        o[i] = (opener){.url = f->url};
        assert_int_equal(pthread_create(&th[i], NULL, open_main, &o[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N; i++)
        if (o[i].err)
            fail_msg("instance %d: %s: %s", i, cw_err_name(o[i].err), o[i].msg);
    cw_store *s = open_pool(f->url, 1);
    int v = 0;
    cw_diag d = {""};
    assert_int_equal(cw_store_schema_version(s, &v, &d), CW_OK);
    assert_int_equal(v, (int)cw__pg_nmigrations);
    cw_store_close(s);
    /* the one-row tables hold one row: no step ran twice */
    assert_int_equal(fx_pg_int(f->url, "SELECT count(*) FROM cw_meta WHERE name = 'entity_gen'"),
                     1);
    assert_int_equal(fx_pg_int(f->url, "SELECT count(*) FROM cw_schema_version"), 1);
}

static void test_newer_schema_is_refused(void **state)
{
    fx_pg_db *f = *state;
    cw_store_close(open_pool(f->url, 1));
    fx_pg_int(f->url, "UPDATE cw_schema_version SET version = 999");
    cw_store *s = NULL;
    cw_diag d = {""};
    cw_store_options opt = {0};
    assert_int_equal(cw__pg_open(f->url, &opt, &s, &d), CW_ERR_UNSUPPORTED);
    assert_non_null(strstr(d.msg, "999"));
    assert_null(s);
    opt.read_only = true;
    assert_int_equal(cw__pg_open(f->url, &opt, &s, &d), CW_ERR_UNSUPPORTED);
    assert_null(s);
}

static void test_read_only_needs_a_schema(void **state)
{
    fx_pg_db *f = *state;
    cw_store *s = NULL;
    cw_diag d = {""};
    cw_store_options opt = {.read_only = true};
    assert_int_not_equal(cw__pg_open(f->url, &opt, &s, &d), CW_OK);
    assert_null(s);
    /* and it created nothing */
    assert_int_equal(fx_pg_int(f->url, "SELECT count(*) FROM pg_tables WHERE schemaname = "
                                       "current_schema()"),
                     0);
}

/* ---- transactions and the pool ------------------------------------------------------------ */

typedef struct {
    cw_pg *pg;
    int n;
    int errors;
    int attempts;  /* calls of the transaction body, retries included */
    char msg[512];
} bumper;

/* A SERIALIZABLE read-modify-write: concurrent ones fail with 40001. */
static cw_err bump_tx(cw__pg_conn *c, void *ctx, cw_diag *d)
{
    ((bumper *)ctx)->attempts++;
    PGresult *r = NULL;
    cw_err err = cw__pg_cmd(c, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", d);
    if (!err)
        err = cw__pg_exec(c, "SELECT v FROM counter WHERE id = 1", 0, NULL, &r, d);
    if (err)
        return err;
    char v[24];
    cw__pg_i64(v, cw__pg_int(r, 0, 0) + 1);
    PQclear(r);
    usleep(200); /* widen the window between read and write */
    const char *p[] = {v};
    return cw__pg_exec(c, "UPDATE counter SET v = $1 WHERE id = 1", 1, p, NULL, d);
}

static void *bump_main(void *arg)
{
    bumper *b = arg;
    for (int i = 0; i < b->n; i++) {
        cw_diag d = {""};
        if (cw__pg_write(b->pg, bump_tx, b, &d) != CW_OK) {
            b->errors++;
            snprintf(b->msg, sizeof b->msg, "%s", d.msg);
        }
    }
    return NULL;
}

static void test_serialization_failures_are_retried(void **state)
{
    fx_pg_db *f = *state;
    cw_store *s = open_pool(f->url, 4);
    fx_pg_int(f->url, "CREATE TABLE counter (id int PRIMARY KEY, v bigint NOT NULL);"
                      "INSERT INTO counter VALUES (1, 0)");
    enum { T = 4, PER = 25 };
    bumper b[T];
    pthread_t th[T];
    for (int i = 0; i < T; i++) {
        b[i] = (bumper){.pg = cw__pg(s), .n = PER};
        assert_int_equal(pthread_create(&th[i], NULL, bump_main, &b[i]), 0);
    }
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < T; i++)
        if (b[i].errors)
            fail_msg("thread %d: %d errors, last: %s", i, b[i].errors, b[i].msg);
    /* every increment landed exactly once although they raced (and some
     * had to run again) */
    assert_int_equal(fx_pg_int(f->url, "SELECT v FROM counter"), T * PER);
    int attempts = 0;
    for (int i = 0; i < T; i++)
        attempts += b[i].attempts;
    assert_true(attempts > T * PER);
    cw_store_close(s);
}

typedef struct {
    cw_store *s;
    int n;
    int errors;
    char msg[512];
} getter;

static void *get_main(void *arg)
{
    getter *g = arg;
    for (int i = 0; i < g->n; i++) {
        cw_diag d = {""};
        cw_entity_query q = {.limit = 5};
        cw_entity_page p;
        if (cw_store_entity_query(g->s, &q, &p, &d) != CW_OK) {
            g->errors++;
            snprintf(g->msg, sizeof g->msg, "%s", d.msg);
        } else {
            cw_entity_page_free(&p);
        }
    }
    return NULL;
}

static void test_pool_is_bounded_and_shared(void **state)
{
    fx_pg_db *f = *state;
    cw_store *s = open_pool(f->url, 3);
    cw_put_result r;
    cw_diag d = {""};
    json_t *e = component("svc", "service");
    assert_int_equal(cw_store_entity_put(s, e, NULL, &r, &d), CW_OK);
    json_decref(e);
    enum { T = 8 };
    getter g[T];
    pthread_t th[T];
    for (int i = 0; i < T; i++) {
        g[i] = (getter){.s = s, .n = 20};
        assert_int_equal(pthread_create(&th[i], NULL, get_main, &g[i]), 0);
    }
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < T; i++)
        if (g[i].errors)
            fail_msg("thread %d: %s", i, g[i].msg);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s' "
             "AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
             f->schema);
    long long conns = fx_pg_int(f->url, sql);
    /* at most this pool's 3 connections (the admin connection is excluded) */
    assert_true(conns >= 1 && conns <= 3);
    cw_store_close(s);
}

static void test_dropped_connections_are_replaced(void **state)
{
    fx_pg_db *f = *state;
    cw_store *s = open_pool(f->url, 2);
    cw_put_result r;
    cw_diag d = {""};
    json_t *e = component("svc", "service");
    assert_int_equal(cw_store_entity_put(s, e, NULL, &r, &d), CW_OK);
    json_decref(e);
    /* the server ends every session of the pool (as on a restart) */
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
             "WHERE application_name = '%s' AND pid <> pg_backend_pid()",
             f->schema);
    assert_true(fx_pg_int(f->url, sql) >= 1);
    usleep(100 * 1000);
    char *t = spec_type(s, "svc");
    assert_non_null(t);
    assert_string_equal(t, "service");
    free(t);
    assert_int_equal(cw_store_ping(s, &d), CW_OK);
    e = component("svc", "website");
    assert_int_equal(cw_store_entity_put(s, e, NULL, &r, &d), CW_OK);
    json_decref(e);
    cw_store_close(s);
}

/* ---- several instances --------------------------------------------------------------------- */

typedef struct {
    cw_store *s;
    int id;
    int created, errors;
    char msg[512];
} putter;

static void *put_main(void *arg)
{
    putter *p = arg;
    for (int i = 0; i < 20; i++) {
        char name[32];
        snprintf(name, sizeof name, "shared-%d", i);
        json_t *e = component(name, p->id % 2 ? "service" : "website");
        cw_put_result r;
        cw_diag d = {""};
        if (cw_store_entity_put(p->s, e, NULL, &r, &d) != CW_OK) {
            p->errors++;
            snprintf(p->msg, sizeof p->msg, "%s", d.msg);
        } else if (r.status == CW_PUT_CREATED) {
            p->created++;
        }
        json_decref(e);
    }
    return NULL;
}

static void test_instances_racing_on_new_entities(void **state)
{
    fx_pg_db *f = *state;
    enum { N = 4 };
    cw_store *inst[N];
    putter p[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++)
        inst[i] = open_pool(f->url, 2);
    for (int i = 0; i < N; i++) {
        p[i] = (putter){.s = inst[i], .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, put_main, &p[i]), 0);
    }
    int created = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        if (p[i].errors)
            fail_msg("instance %d: %s", i, p[i].msg);
        created += p[i].created;
    }
    /* each name was created by exactly one instance */
    assert_int_equal(created, 20);
    assert_int_equal(fx_pg_int(f->url, "SELECT count(*) FROM entities"), 20);
    assert_int_equal(fx_pg_int(f->url, "SELECT count(DISTINCT uid) FROM entities"), 20);
    for (int i = 0; i < N; i++)
        cw_store_close(inst[i]);
}

static void test_caches_follow_other_instances(void **state)
{
    fx_pg_db *f = *state;
    cw_store *a = open_pool(f->url, 2), *b = open_pool(f->url, 2);
    cw_put_result r;
    cw_diag d = {""};
    for (int round = 0; round < 5; round++) {
        const char *type = round % 2 ? "website" : "service";
        json_t *e = component("svc", type);
        assert_int_equal(cw_store_entity_put(a, e, NULL, &r, &d), CW_OK);
        json_decref(e);
        /* both have it cached after reading; the next read follows A's write */
        char *ta = spec_type(a, "svc"), *tb = spec_type(b, "svc");
        assert_string_equal(ta, type);
        assert_string_equal(tb, type);
        free(ta);
        free(tb);
        tb = spec_type(b, "svc");
        assert_string_equal(tb, type);
        free(tb);
        /* list pages too */
        cw_entity_query q = {.limit = 10};
        cw_entity_page p;
        assert_int_equal(cw_store_entity_query(b, &q, &p, &d), CW_OK);
        assert_int_equal(p.len, 1);
        assert_non_null(strstr(p.items[0], type));
        cw_entity_page_free(&p);
    }
    assert_int_equal(cw_store_entity_delete(b, "component", "default", "svc", NULL, &d), CW_OK);
    assert_null(spec_type(a, "svc"));
    cw_store_close(a);
    cw_store_close(b);
}

/* ---- text that is not UTF-8 ------------------------------------------------------------------ */

/* The server refuses such bytes in a statement; the store answers as
 * SQLite does: nothing stored can match them. */
static void test_invalid_utf8_finds_nothing(void **state)
{
    fx_pg_db *f = *state;
    cw_store *s = open_pool(f->url, 2);
    cw_diag d = {""};
    cw_put_result r;
    json_t *e = component("svc", "service");
    assert_int_equal(cw_store_entity_put(s, e, NULL, &r, &d), CW_OK);
    json_decref(e);
    char *text = NULL;
    assert_int_equal(cw_store_entity_get(s, "component", "default", "sv\xff" "c", &text, NULL, &d),
                     CW_ERR_NOT_FOUND);
    assert_int_equal(cw_store_entity_delete(s, "component", "default", "\xc3(", NULL, &d),
                     CW_ERR_NOT_FOUND);
    const char *vals[] = {"service", "\xe2\x28\xa1"};
    cw_filter_cond cond = {"spec.type", vals, 2};
    cw_filter_clause cl = {&cond, 1};
    cw_filter flt = {&cl, 1};
    cw_entity_query q = {.filter = &flt, .limit = 10};
    cw_entity_page p;
    assert_int_equal(cw_store_entity_query(s, &q, &p, &d), CW_OK);
    assert_int_equal(p.total, 1); /* the valid value still matches */
    cw_entity_page_free(&p);
    cw_entity_query tq = {.text = "\xff", .limit = 10};
    assert_int_equal(cw_store_entity_query(s, &tq, &p, &d), CW_OK);
    assert_int_equal(p.total, 0);
    cw_entity_page_free(&p);
    cw_token t;
    char h[65];
    memset(h, 'a', 64);
    h[64] = '\0';
    assert_int_equal(cw_store_token_create(s, "bad\xff", "viewer", "", h, &t, &d),
                     CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "name"));
    /* and the pool is still healthy */
    assert_int_equal(cw_store_ping(s, &d), CW_OK);
    cw_store_close(s);
}

/* ---- audit ----------------------------------------------------------------------------------- */

/* Runs SQL that must fail; returns the server's message. */
static void sql_refused(const char *url, const char *sql, const char *expect)
{
    PGconn *c = fx_pg_connect(url);
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        fail_msg("%s: accepted", sql);
    if (!strstr(PQerrorMessage(c), expect))
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

static void test_audit_is_append_only(void **state)
{
    fx_pg_db *f = *state;
    cw_store *s = open_pool(f->url, 2);
    cw_diag d = {""};
    json_t *refs = json_pack("[s, s, s]", "Component:default/A", "component:default/a", "x");
    cw_audit_entry e = {.action = "entity.create", .token_id = 7, .token_name = "ci",
                        .refs = refs, .request_id = "req-1"};
    int64_t id1 = 0, id2 = 0;
    assert_int_equal(cw_store_audit_append(s, &e, &id1, &d), CW_OK);
    e.action = "entity.delete";
    e.refs = NULL;
    assert_int_equal(cw_store_audit_append(s, &e, &id2, &d), CW_OK);
    assert_true(id2 > id1);
    json_decref(refs);

    cw_audit_query q;
    cw_audit_query_init(&q);
    q.entity_ref = "component:default/A";
    cw_audit_page p;
    assert_int_equal(cw_store_audit_query(s, &q, &p, &d), CW_OK);
    assert_int_equal(p.len, 1);
    assert_int_equal(p.items[0].id, id1);
    assert_string_equal(p.items[0].token_name, "ci");
    assert_string_equal(p.items[0].request_id, "req-1");
    assert_non_null(strstr(p.items[0].refs_json, "Component:default/A"));
    cw_audit_page_free(&p);
    cw_audit_query_init(&q);
    q.limit = 1;
    assert_int_equal(cw_store_audit_query(s, &q, &p, &d), CW_OK);
    assert_int_equal(p.len, 1);
    assert_true(p.more);
    assert_int_equal(p.items[0].id, id2); /* newest first */
    cw_audit_page_free(&p);
    cw_store_close(s);

    sql_refused(f->url, "UPDATE audit SET action = 'x'", "append-only");
    sql_refused(f->url, "DELETE FROM audit", "append-only");
    sql_refused(f->url, "TRUNCATE audit", "append-only");
    sql_refused(f->url, "DELETE FROM audit_refs", "append-only");
    assert_int_equal(fx_pg_int(f->url, "SELECT count(*) FROM audit"), 2);
    /* the two spellings of one entity are indexed once */
    assert_int_equal(fx_pg_int(f->url, "SELECT count(*) FROM audit_refs"), 1);
}

/* ---- error details ------------------------------------------------------------------------ */

/* A store error's detail can reach a client (problem+json): it names the
 * server's message, never the statement that failed. */
static void assert_no_sql(const char *msg)
{
    static const char *const words[] = {"SELECT", "INSERT", "UPDATE", "DELETE", "VALUES",
                                        "FROM ",  "WHERE",  "RETURNING", "$1", "ON CONFLICT"};
    assert_true(strncmp(msg, "database: ", 10) == 0);
    for (size_t i = 0; i < FX_LEN(words); i++)
        if (strstr(msg, words[i]))
            fail_msg("detail names SQL (%s): %s", words[i], msg);
}

static void test_database_errors_name_no_sql(void **state)
{
    fx_pg_db *f = *state;
    cw_store *s = open_pool(f->url, 1);
    cw_diag d = {""};
    /* a write the server refuses: the client gets the server's first line */
    fx_pg_backend.raw_exec(f, "ALTER TABLE entities ADD CONSTRAINT refuse_writes CHECK (false)");
    json_t *e = component("blocked", "service");
    cw_put_result res;
    assert_int_equal(cw_store_entity_put(s, e, NULL, &res, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "violates check constraint \"refuse_writes\""));
    assert_no_sql(d.msg);
    json_decref(e);

    /* a read of a table that went away */
    fx_pg_backend.raw_exec(f, "ALTER TABLE audit RENAME TO audit_gone");
    cw_audit_query q;
    cw_audit_query_init(&q);
    cw_audit_page p;
    d.msg[0] = '\0';
    assert_int_equal(cw_store_audit_query(s, &q, &p, &d), CW_ERR_INTERNAL);
    assert_non_null(strstr(d.msg, "does not exist"));
    assert_no_sql(d.msg);
    cw_store_close(s);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const char *u = getenv("CONWAY_TEST_PG_URL");
    if (!u || !*u) {
        printf("test_store_postgres: CONWAY_TEST_PG_URL is not set: skipped "
               "(scripts/services.sh start pg)\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        T(test_instances_starting_together_migrate_once),
        T(test_newer_schema_is_refused),
        T(test_read_only_needs_a_schema),
        T(test_serialization_failures_are_retried),
        T(test_pool_is_bounded_and_shared),
        T(test_dropped_connections_are_replaced),
        T(test_instances_racing_on_new_entities),
        T(test_caches_follow_other_instances),
        T(test_audit_is_append_only),
        T(test_invalid_utf8_finds_nothing),
        T(test_database_errors_name_no_sql),
    };
    return cmocka_run_group_tests_name("store: postgres", tests, NULL, NULL);
}

#else

int main(void)
{
    printf("test_store_postgres: built without libpq: skipped\n");
    return 0;
}

#endif
