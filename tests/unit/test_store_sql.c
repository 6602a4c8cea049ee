/*
 * test_store_sql.c — the statement layer (store/sql.h) on every backend:
 * one SQL text with "?"/"?N" placeholders run as it is on SQLite and as
 * "$N" on PostgreSQL, row locks dropped on SQLite, NULLs of every type,
 * blobs with every byte value (bytea on PostgreSQL), booleans read as 0/1,
 * changed-row counts and RETURNING, errors mapped to cw_err (a unique key,
 * bad SQL, a parameter out of range), a failed transaction rolled back,
 * nested use of one statement text, statements kept prepared on
 * PostgreSQL, doubles, texts prepared once, and rows inserted many at a
 * time (1234 rows: statements of 1000, 100, 10 and 1). The translation
 * functions are checked as text, too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "store/sql.h"

/* Runs fn in a transaction of mode on the fixture's store; returns its result. */
static cw_err tx(void **state, cw__sql_mode mode, cw__sql_fn fn, void *ctx, cw_diag *d)
{
    fx_store *f = *state;
    return cw__sql_tx(f->s, mode, fn, ctx, d);
}

static cw_err create_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    (void)ctx;
    bool pg = !strcmp(cw__sql_backend(c), "postgres");
    cw__sql_stmt st;
    /* DDL is per backend: the blob column's type differs */
    cw_err err = cw__sql_prepare(c,
                                 pg ? "CREATE TABLE sqltest (id BIGSERIAL PRIMARY KEY, "
                                      "k TEXT UNIQUE, n BIGINT, b BYTEA)"
                                    : "CREATE TABLE sqltest (id INTEGER PRIMARY KEY, "
                                      "k TEXT UNIQUE, n INTEGER, b BLOB)",
                                 &st, d);
    if (!err)
        err = cw__sql_run(&st, d);
    cw__sql_done(&st);
    return err;
}

static void create_table(void **state)
{
    cw_diag d = {""};
    if (tx(state, CW__SQL_WRITE, create_tx, NULL, &d))
        fail_msg("create: %s", d.msg);
}

/* ---- placeholders ------------------------------------------------------------------ */

typedef struct {
    int64_t a, c;
    char b[32], q[8];
} ph_out;

static cw_err placeholders_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    ph_out *o = ctx;
    cw__sql_stmt st;
    bool row = false;
    /* ?2 before ?1, a '?' inside a string, a bare ? that is the third */
    cw_err err = cw__sql_prepare(c,
                                 "SELECT CAST(?2 AS BIGINT), CAST(?1 AS TEXT), '?1 ?', "
                                 "CAST(? AS BIGINT) -- a comment with ?9\n",
                                 &st, d);
    if (!err) {
        cw__sql_bind_text(&st, 1, "one");
        cw__sql_bind_int(&st, 2, -42);
        cw__sql_bind_int(&st, 3, INT64_MAX);
        err = cw__sql_step(&st, &row, d);
    }
    if (!err && row) {
        o->a = cw__sql_int(&st, 0);
        snprintf(o->b, sizeof o->b, "%s", cw__sql_text(&st, 1));
        snprintf(o->q, sizeof o->q, "%s", cw__sql_text(&st, 2));
        o->c = cw__sql_int(&st, 3);
        err = cw__sql_step(&st, &row, d);
        if (!err && row)
            err = cw_fail(d, CW_ERR_INTERNAL, "a second row");
    } else if (!err) {
        err = cw_fail(d, CW_ERR_INTERNAL, "no row");
    }
    cw__sql_done(&st);
    return err;
}

static void test_placeholders(void **state)
{
    ph_out o = {0};
    cw_diag d = {""};
    if (tx(state, CW__SQL_READ_ONE, placeholders_tx, &o, &d))
        fail_msg("placeholders: %s", d.msg);
    assert_int_equal(o.a, -42);
    assert_string_equal(o.b, "one");
    assert_string_equal(o.q, "?1 ?");
    assert_true(o.c == INT64_MAX);
}

static void test_translation(void **state)
{
    (void)state;
    int n = -1;
    char *s = cw__sql_to_pg("SELECT ?2, ?, 'it''s ?', \"a?\" /* ? */ FROM t WHERE x = ?1", &n);
    assert_non_null(s);
    assert_string_equal(s, "SELECT $2, $3, 'it''s ?', \"a?\" /* ? */ FROM t WHERE x = $1");
    assert_int_equal(n, 3);
    free(s);
    s = cw__sql_to_pg("SELECT 1", &n);
    assert_string_equal(s, "SELECT 1");
    assert_int_equal(n, 0);
    free(s);
    s = cw__sql_to_sqlite("SELECT a FROM t WHERE id IN (SELECT id FROM t LIMIT 2 FOR UPDATE "
                          "SKIP LOCKED) AND b = 'FOR UPDATE' FOR UPDATE");
    assert_string_equal(s, "SELECT a FROM t WHERE id IN (SELECT id FROM t LIMIT 2) AND "
                           "b = 'FOR UPDATE'");
    free(s);
    s = cw__sql_to_sqlite("SELECT 1 FROM t WHERE id IN (SELECT id FROM t FOR UPDATE NOWAIT)");
    assert_string_equal(s, "SELECT 1 FROM t WHERE id IN (SELECT id FROM t)");
    free(s);
    /* a longer word is not the keyword */
    s = cw__sql_to_sqlite("SELECT x FOR UPDATES");
    assert_string_equal(s, "SELECT x FOR UPDATES");
    free(s);
}

/* ---- values ---------------------------------------------------------------------------- */

static unsigned char BYTES[300];

static cw_err insert_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    int64_t *ids = ctx;
    cw__sql_stmt st;
    bool row = false;
    const char *sql = "INSERT INTO sqltest (k, n, b) VALUES (?1, ?2, ?3) RETURNING id";
    cw_err err = cw__sql_prepare(c, sql, &st, d);
    if (!err) {
        /* every byte value, NUL included */
        cw__sql_bind_text(&st, 1, "full");
        cw__sql_bind_int(&st, 2, 7);
        cw__sql_bind_blob(&st, 3, BYTES, sizeof BYTES);
        err = cw__sql_step(&st, &row, d);
    }
    if (!err && row)
        ids[0] = cw__sql_int(&st, 0);
    if (!err)
        err = cw__sql_run(&st, d);
    cw__sql_done(&st);
    if (err)
        return err;
    /* NULL everywhere (text NULL, int NULL, blob NULL) */
    err = cw__sql_prepare(c, sql, &st, d);
    if (!err) {
        cw__sql_bind_text(&st, 1, NULL);
        cw__sql_bind_null(&st, 2);
        cw__sql_bind_blob(&st, 3, NULL, 0);
        err = cw__sql_step(&st, &row, d);
    }
    if (!err && row)
        ids[1] = cw__sql_int(&st, 0);
    cw__sql_done(&st);
    if (err)
        return err;
    /* an empty blob is not NULL; unbound parameters are */
    err = cw__sql_prepare(c, sql, &st, d);
    if (!err) {
        cw__sql_bind_text(&st, 1, "empty");
        cw__sql_bind_blob(&st, 3, "", 0);
        err = cw__sql_step(&st, &row, d);
    }
    if (!err && row)
        ids[2] = cw__sql_int(&st, 0);
    cw__sql_done(&st);
    return err;
}

typedef struct {
    int64_t id;
    bool k_null, n_null, b_null, has_k;
    char k[16];
    int64_t n;
    unsigned char b[400];
    size_t blen;
    bool found;
} row_out;

static cw_err select_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    row_out *o = ctx;
    cw__sql_stmt st;
    cw_err err = cw__sql_prepare(c,
                                 "SELECT k, n, b, k IS NOT NULL FROM sqltest WHERE id = ?1",
                                 &st, d);
    if (!err) {
        cw__sql_bind_int(&st, 1, o->id);
        err = cw__sql_step(&st, &o->found, d);
    }
    if (!err && o->found) {
        o->k_null = cw__sql_null(&st, 0);
        snprintf(o->k, sizeof o->k, "%s", cw__sql_text(&st, 0));
        o->n_null = cw__sql_null(&st, 1);
        o->n = cw__sql_int(&st, 1);
        o->b_null = cw__sql_null(&st, 2);
        const void *p = NULL;
        err = cw__sql_blob(&st, 2, &p, &o->blen, d);
        if (!err && o->blen <= sizeof o->b && o->blen)
            memcpy(o->b, p, o->blen);
        if (!err && !p && o->blen)
            err = cw_fail(d, CW_ERR_INTERNAL, "NULL pointer with a length");
        o->has_k = cw__sql_int(&st, 3) != 0;
    }
    cw__sql_done(&st);
    return err;
}

static row_out read_back(void **state, int64_t id)
{
    row_out o = {.id = id};
    cw_diag d = {""};
    if (tx(state, CW__SQL_READ, select_tx, &o, &d))
        fail_msg("select: %s", d.msg);
    assert_true(o.found);
    return o;
}

static void test_values(void **state)
{
    for (size_t i = 0; i < sizeof BYTES; i++)
        BYTES[i] = (unsigned char)(i * 7);
    create_table(state);
    int64_t ids[3] = {0};
    cw_diag d = {""};
    if (tx(state, CW__SQL_WRITE, insert_tx, ids, &d))
        fail_msg("insert: %s", d.msg);
    assert_true(ids[0] > 0 && ids[1] > ids[0] && ids[2] > ids[1]);

    row_out o = read_back(state, ids[0]);
    assert_false(o.k_null || o.n_null || o.b_null);
    assert_string_equal(o.k, "full");
    assert_int_equal(o.n, 7);
    assert_int_equal(o.blen, sizeof BYTES);
    assert_memory_equal(o.b, BYTES, sizeof BYTES);
    assert_true(o.has_k); /* a boolean reads as 1 */

    o = read_back(state, ids[1]);
    assert_true(o.k_null && o.n_null && o.b_null);
    assert_string_equal(o.k, "");
    assert_int_equal(o.n, 0);
    assert_int_equal(o.blen, 0);
    assert_false(o.has_k); /* and as 0 */

    o = read_back(state, ids[2]);
    assert_false(o.b_null);
    assert_int_equal(o.blen, 0);
    assert_true(o.n_null); /* never bound */
}

/* ---- changes, errors, rollback ------------------------------------------------------------ */

static cw_err fill_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    (void)ctx;
    cw_err err = CW_OK;
    const char *keys[] = {"a", "b", "c"};
    for (size_t i = 0; i < 3 && !err; i++)
        err = CW__SQL_EXEC(c, NULL, d, "INSERT INTO sqltest (k, n) VALUES (?1, ?2)",
                           CW__SQL_TEXT(keys[i]), CW__SQL_INT((int64_t)i));
    return err;
}

static cw_err update_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    int64_t *changed = ctx;
    return CW__SQL_EXEC(c, changed, d, "UPDATE sqltest SET n = n + 10 WHERE n >= ?1",
                        CW__SQL_INT(1));
}

static cw_err count_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    int64_t *n = ctx;
    cw__sql_stmt st;
    bool row = false;
    cw_err err = cw__sql_prepare(c, "SELECT count(*), coalesce(sum(n), 0) FROM sqltest", &st, d);
    if (!err)
        err = cw__sql_step(&st, &row, d);
    if (!err && row) {
        n[0] = cw__sql_int(&st, 0);
        n[1] = cw__sql_int(&st, 1);
    }
    cw__sql_done(&st);
    return err;
}

static void counts(void **state, int64_t *rows, int64_t *sum)
{
    int64_t n[2] = {0};
    cw_diag d = {""};
    if (tx(state, CW__SQL_READ_ONE, count_tx, n, &d))
        fail_msg("count: %s", d.msg);
    *rows = n[0];
    *sum = n[1];
}

/* Inserts a row, then fails: nothing of it may remain. */
static cw_err failing_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    (void)ctx;
    cw_err err = cw__sql_exec(c, "INSERT INTO sqltest (k, n) VALUES ('z', 100)", NULL, 0, NULL, d);
    if (!err)
        err = cw__sql_exec(c, "UPDATE sqltest SET n = 1000", NULL, 0, NULL, d);
    if (!err) /* a duplicate key */
        err = CW__SQL_EXEC(c, NULL, d, "INSERT INTO sqltest (k) VALUES (?1)",
                           CW__SQL_TEXT("a"));
    return err;
}

static cw_err bad_sql_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    (void)ctx;
    return cw__sql_exec(c, "SELEKT nothing FROM sqltest_marker_nowhere", NULL, 0, NULL, d);
}

static cw_err bad_param_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    (void)ctx;
    return CW__SQL_EXEC(c, NULL, d, "SELECT count(*) FROM sqltest WHERE n = ?1",
                        CW__SQL_INT(1), CW__SQL_INT(2));
}

static cw_err locked_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    int64_t *n = ctx;
    cw_err err = cw__sql_lock(c, 4242, d);
    cw__sql_stmt st;
    bool row = false;
    *n = 0;
    if (!err)
        err = cw__sql_prepare(c,
                              "SELECT id FROM sqltest WHERE n >= ?1 ORDER BY id LIMIT 10 "
                              "FOR UPDATE SKIP LOCKED",
                              &st, d);
    if (!err) {
        cw__sql_bind_int(&st, 1, 0);
        while (!(err = cw__sql_step(&st, &row, d)) && row)
            (*n)++;
        cw__sql_done(&st);
    }
    return err;
}

static void test_changes_errors_rollback(void **state)
{
    create_table(state);
    cw_diag d = {""};
    assert_int_equal(tx(state, CW__SQL_WRITE, fill_tx, NULL, &d), CW_OK);
    int64_t changed = -1;
    assert_int_equal(tx(state, CW__SQL_WRITE_ONE, update_tx, &changed, &d), CW_OK);
    assert_int_equal(changed, 2);
    int64_t rows, sum;
    counts(state, &rows, &sum);
    assert_int_equal(rows, 3);
    assert_int_equal(sum, 0 + 11 + 12);

    /* the unique key: a conflict, and the transaction's other writes undone */
    assert_int_equal(tx(state, CW__SQL_WRITE, failing_tx, NULL, &d), CW_ERR_CONFLICT);
    assert_non_null(strstr(d.msg, "database: "));
    counts(state, &rows, &sum);
    assert_int_equal(rows, 3);
    assert_int_equal(sum, 23);

    /* bad SQL is a bug; its text is not shown (it may reach a client) */
    d.msg[0] = '\0';
    assert_int_equal(tx(state, CW__SQL_READ, bad_sql_tx, NULL, &d), CW_ERR_INTERNAL);
    assert_null(strstr(d.msg, "sqltest_marker_nowhere"));
    assert_true(d.msg[0] != '\0');
    /* a parameter the statement does not have: an error at its step */
    assert_int_equal(tx(state, CW__SQL_READ, bad_param_tx, NULL, &d), CW_ERR_INTERNAL);
    assert_non_null(strstr(d.msg, "parameter 2"));

    /* row locks and advisory locks: kept on PostgreSQL, dropped on SQLite */
    int64_t n = 0;
    assert_int_equal(tx(state, CW__SQL_WRITE, locked_tx, &n, &d), CW_OK);
    assert_int_equal(n, 3);
}

/* ---- one text used twice at once; statements stay prepared ------------------------------- */

#define BY_N "SELECT k, n FROM sqltest WHERE n >= ?1 ORDER BY n"

static cw_err nested_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    int64_t *pairs = ctx;
    *pairs = 0;
    cw__sql_stmt outer;
    bool row = false;
    cw_err err = cw__sql_prepare(c, BY_N, &outer, d);
    if (!err)
        cw__sql_bind_int(&outer, 1, 0);
    while (!err && !(err = cw__sql_step(&outer, &row, d)) && row) {
        cw__sql_stmt inner;
        bool irow = false;
        err = cw__sql_prepare(c, BY_N, &inner, d);
        if (!err)
            cw__sql_bind_int(&inner, 1, cw__sql_int(&outer, 1));
        while (!err && !(err = cw__sql_step(&inner, &irow, d)) && irow)
            (*pairs)++;
        cw__sql_done(&inner);
    }
    cw__sql_done(&outer);
    return err;
}

static cw_err prepared_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    int64_t *n = ctx;
    int64_t ignored[2];
    cw_err err = count_tx(c, ignored, d);
    if (!err)
        err = count_tx(c, ignored, d);
    cw__sql_stmt st;
    bool row = false;
    if (!err)
        err = cw__sql_prepare(c,
                              "SELECT count(*) FROM pg_prepared_statements WHERE statement "
                              "LIKE '%coalesce(sum(n), 0) FROM sqltest%' AND statement NOT LIKE "
                              "'%pg_prepared%'",
                              &st, d);
    if (!err) {
        err = cw__sql_step(&st, &row, d);
        if (!err && row)
            *n = cw__sql_int(&st, 0);
        cw__sql_done(&st);
    }
    return err;
}

static void test_nested_and_prepared(void **state)
{
    create_table(state);
    cw_diag d = {""};
    assert_int_equal(tx(state, CW__SQL_WRITE, fill_tx, NULL, &d), CW_OK);
    int64_t pairs = 0;
    if (tx(state, CW__SQL_READ, nested_tx, &pairs, &d))
        fail_msg("nested: %s", d.msg);
    assert_int_equal(pairs, 3 + 2 + 1);
    fx_store *f = *state;
    if (strcmp(f->b->name, "postgres"))
        return;
    int64_t n = 0;
    if (tx(state, CW__SQL_READ, prepared_tx, &n, &d))
        fail_msg("prepared: %s", d.msg);
    assert_int_equal(n, 1); /* prepared once, executed twice by name */
}

/* ---- many rows, doubles, run-time texts ------------------------------------------------ */

#define NROWS 1234 /* 1000 + 2 x 100 + 3 x 10 + 4 x 1 */

static void many_row(void *ctx, size_t i, cw__sqlv *v)
{
    (void)ctx;
    static const char *const names[] = {"even", "odd"};
    v[0] = CW__SQL_TEXT(names[i % 2]);
    v[1] = CW__SQL_INT((int64_t)i);
    v[2] = CW__SQL_DOUBLE((double)i / 8);
}

static cw_err many_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    int64_t *changes = ctx;
    cw_err err = cw__sql_exec(c, "CREATE TABLE sqlmany (k TEXT, n BIGINT PRIMARY KEY, f "
                                 "DOUBLE PRECISION)",
                              NULL, 0, NULL, d);
    if (!err)
        err = cw__sql_insert_rows(c, "INSERT INTO sqlmany (k, n, f) VALUES ", "", 3, NROWS,
                                  many_row, NULL, changes, d);
    /* the same rows again: ON CONFLICT after the rows */
    if (!err)
        err = cw__sql_insert_rows(c, "INSERT INTO sqlmany (k, n, f) VALUES ",
                                  " ON CONFLICT (n) DO UPDATE SET f = excluded.f * 2", 3, 10,
                                  many_row, NULL, NULL, d);
    return err;
}

typedef struct {
    int64_t rows, odd, n_of_max;
    double sum, third;
    char k[8];
    size_t klen;
    bool k_null;
} many_out;

static cw_err many_read_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    many_out *o = ctx;
    cw__sql_stmt st;
    bool row = false;
    /* a text built at run time: parsed for this use only */
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT count(*), sum(f), sum(CASE WHEN k = %s THEN 1 ELSE 0 END), max(n) "
             "FROM sqlmany",
             "'odd'");
    cw_err err = cw__sql_prepare_once(c, sql, &st, d);
    if (!err)
        err = cw__sql_step(&st, &row, d);
    if (!err && row) {
        o->rows = cw__sql_int(&st, 0);
        o->sum = cw__sql_double(&st, 1);
        o->odd = cw__sql_int(&st, 2);
        o->n_of_max = cw__sql_int(&st, 3);
    }
    cw__sql_done(&st);
    if (!err)
        err = cw__sql_prepare(c, "SELECT f, k, CAST(NULL AS TEXT) FROM sqlmany WHERE n = ?1",
                              &st, d);
    if (!err) {
        cw__sql_bind_int(&st, 1, 3);
        err = cw__sql_step(&st, &row, d);
    }
    if (!err && row) {
        o->third = cw__sql_double(&st, 0);
        const char *k = cw__sql_textn(&st, 1, &o->klen);
        snprintf(o->k, sizeof o->k, "%s", k ? k : "(null)");
        size_t n = 99;
        o->k_null = cw__sql_textn(&st, 2, &n) == NULL && n == 0;
    }
    cw__sql_done(&st);
    return err;
}

static void test_many_rows(void **state)
{
    cw_diag d = {""};
    int64_t changes = 0;
    if (tx(state, CW__SQL_WRITE, many_tx, &changes, &d))
        fail_msg("insert rows: %s", d.msg);
    assert_int_equal(changes, NROWS);
    many_out o = {0};
    if (tx(state, CW__SQL_READ, many_read_tx, &o, &d))
        fail_msg("read rows: %s", d.msg);
    assert_int_equal(o.rows, NROWS);
    assert_int_equal(o.odd, NROWS / 2);
    assert_int_equal(o.n_of_max, NROWS - 1);
    /* sum of i/8 over 0..1233, plus the first ten counted once more */
    double want = (double)NROWS * (NROWS - 1) / 2 / 8 + 45.0 / 8;
    assert_true(o.sum > want - 1e-6 && o.sum < want + 1e-6);
    assert_true(o.third > 0.75 - 1e-12 && o.third < 0.75 + 1e-12); /* 3/8, doubled */
    assert_string_equal(o.k, "odd");
    assert_int_equal(o.klen, 3);
    assert_true(o.k_null);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_STORE_TEST(test_translation),
        FX_STORE_TEST(test_placeholders),
        FX_STORE_TEST(test_values),
        FX_STORE_TEST(test_changes_errors_rollback),
        FX_STORE_TEST(test_nested_and_prepared),
        FX_STORE_TEST(test_many_rows),
    };
    return fx_run_backends("store sql", tests, FX_LEN(tests));
}
