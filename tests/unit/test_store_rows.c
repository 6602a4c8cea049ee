/*
 * test_store_rows.c — the backend-neutral store logic (store/store_rows.h)
 * without a database: event filter SQL in both dialects (placeholders
 * numbered in order, values typed), rows turned into events from plain
 * column values, the link-key index rules, the If-Match check, entity
 * page SQL and the migration loop's ordering, failure and newer-schema
 * checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "store/event_codec.h"
#include "store/store_rows.h"

static const cw__sql_dialect qmark = {'?', "1", "substr(name, 1, length(%s)) = %s",
                                      "resolved = 1", "(e.time_ms, e.id) < (%s, %s)"};
static const cw__sql_dialect dollar = {'$', "true", "left(name, length(%s)) = %s",
                                       "resolved", "(e.time_ms, e.id) < (%s::bigint, %s::bigint)"};

static void event_sql_numbers_params_in_order(void **state)
{
    (void)state;
    cw_scope sc = {CW_SCOPE_GROUP, "group:default/team-a", true}; /* its own components */
    cw_event_query q = {.type_prefix = "dev.cdevents.service",
                        .scope = &sc,
                        .environment = "prod",
                        .from_ms = 10,
                        .to_ms = INT64_MAX,
                        .after = true,
                        .after_time_ms = 50,
                        .after_seq = 7,
                        .limit = 25};
    cw_buf sql;
    cw_buf_init(&sql, 0);
    cw__sql_param p[CW__EVENT_QUERY_PARAMS];
    int n = 0;
    cw_diag d = {{0}};
    assert_int_equal(cw__event_list_sql(&q, &dollar, &sql, p, &n, &d), CW_OK);
    const char *s = cw_buf_cstr(&sql);
    assert_non_null(strstr(s, "WHERE true AND e.type_id IN (SELECT id FROM event_types WHERE"
                              " left(name, length($1)) = $1)"));
    assert_non_null(strstr(s, "r.target_key = $2 AND r.inverse_lc = 'ownerof'"));
    assert_non_null(strstr(s, "WHERE name = $3)"));
    assert_non_null(strstr(s, "e.time_ms >= $4"));
    assert_null(strstr(s, "e.time_ms <")); /* open end: no condition */
    assert_non_null(strstr(s, "< ($5::bigint, $6::bigint)"));
    assert_non_null(strstr(s, "LIMIT $7"));
    assert_int_equal(n, 7);
    assert_string_equal(p[0].text, "dev.cdevents.service");
    assert_string_equal(p[1].text, "group:default/team-a");
    assert_string_equal(p[2].text, "prod");
    assert_null(p[3].text);
    assert_int_equal(p[3].i, 10);
    assert_int_equal(p[4].i, 50);
    assert_int_equal(p[5].i, 7);
    assert_int_equal(p[6].i, 25);
    cw_buf_free(&sql);

    /* unmatched ignores the scope; the org scope binds nothing */
    cw_buf_init(&sql, 0);
    cw_event_query u = {.scope = &sc, .unmatched = true, .from_ms = INT64_MIN,
                        .to_ms = 99, .limit = SIZE_MAX};
    assert_int_equal(cw__event_list_sql(&u, &qmark, &sql, p, &n, &d), CW_OK);
    s = cw_buf_cstr(&sql);
    assert_non_null(strstr(s, "WHERE 1 AND e.link_id IN (SELECT id FROM event_links WHERE "
                              "component_id IS NULL AND resolved = 1)"));
    assert_non_null(strstr(s, "e.time_ms < ?1 ORDER BY"));
    assert_int_equal(n, 2);
    assert_int_equal(p[1].i, INT64_MAX); /* limit saturates */
    cw_buf_free(&sql);

    cw_buf_init(&sql, 0);
    cw_scope org = {CW_SCOPE_ORG, "", false};
    cw_event_query o = {.scope = &org, .from_ms = INT64_MIN, .to_ms = INT64_MAX, .limit = 1};
    assert_int_equal(cw__event_list_sql(&o, &qmark, &sql, p, &n, &d), CW_OK);
    assert_non_null(strstr(cw_buf_cstr(&sql), "IN (SELECT id FROM entities WHERE kind = "
                                              "'Component'))"));
    assert_int_equal(n, 1);
    cw_buf_free(&sql);
}

static void event_row_fill_copies_and_requires(void **state)
{
    (void)state;
    static const unsigned char key[] = {0, 'e', '1'};
    static const char doc[] = "[\"s\",null,\"a\\\"b\"]\n{}";
    cw__event_cols r = {.seq = 3,
                        .time_ms = 1000,
                        .received_ms = 2000,
                        .source = {"src-xyz", 3},
                        .key = key,
                        .key_len = sizeof key,
                        .type = {"t", 1},
                        .link_kind = CW_LINK_REPOSITORY,
                        .link_value = {"org/repo", 8},
                        .doc = doc,
                        .doc_len = sizeof doc - 1};
    cw__codec *codec = NULL;
    assert_int_equal(cw__codec_new(&codec), CW_OK);
    cw_buf scratch;
    cw_buf_init(&scratch, 0);
    cw_stored_event *e = malloc(sizeof *e);
    assert_non_null(e);
    cw_diag d = {{0}};
    assert_int_equal(cw__stored_event_fill(e, &r, codec, NULL, NULL, &scratch, &d), CW_OK);
    assert_string_equal(e->source, "src"); /* the column's length, not the C string's */
    assert_string_equal(e->id, "e1");
    assert_string_equal(e->subject_id, "s");
    assert_string_equal(e->artifact_id, "a\"b");
    assert_string_equal(e->body, "{}");
    assert_int_equal(e->seq, 3);
    assert_int_equal(e->received_ms, 2000);
    assert_string_equal(e->link, "repository");
    assert_string_equal(e->link_value, "org/repo");
    assert_null(e->chain_id);
    assert_null(e->component_ref);
    cw_event_list l = {e, 1};
    cw_event_list_free(&l);

    /* a document without its header is damaged: refused, what was copied
     * still freed by the list */
    r.doc = "{}";
    r.doc_len = 2;
    cw_stored_event *f = malloc(sizeof *f);
    assert_non_null(f);
    assert_int_equal(cw__stored_event_fill(f, &r, codec, NULL, NULL, &scratch, &d), CW_ERR_IO);
    cw_event_list fl = {f, 1};
    cw_event_list_free(&fl);
    cw_buf_free(&scratch);
    cw__codec_free(codec);
}

static void link_index_follows_the_rules(void **state)
{
    (void)state;
    cw__link_index x;
    memset(&x, 0, sizeof x);
    assert_int_equal(cw__link_index_add(&x, 4, "Payments", "svc-42", "Org/Pay", NULL), CW_OK);
    assert_int_equal(cw__link_index_add(&x, 9, "payments", NULL, NULL, "org/other"), CW_OK);
    bool oom = false;
    assert_int_equal(cw__link_index_resolve(&x, CW_LINK_SERVICE, "svc-42", &oom), 4);
    assert_int_equal(cw__link_index_resolve(&x, CW_LINK_SERVICE, "SVC-42", &oom), -1);
    /* by name, case-insensitively, or the last path part: two components
     * of that name claim it, so it links to neither (issue #10) */
    assert_int_equal(cw__link_index_resolve(&x, CW_LINK_SERVICE, "PAYMENTS", &oom), -1);
    assert_int_equal(cw__link_index_resolve(&x, CW_LINK_SERVICE, "ns/payments", &oom), -1);
    assert_int_equal(cw__link_index_add(&x, 11, "billing", NULL, NULL, NULL), CW_OK);
    assert_int_equal(cw__link_index_resolve(&x, CW_LINK_SERVICE, "BILLING", &oom), 11);
    assert_int_equal(cw__link_index_resolve(&x, CW_LINK_SERVICE, "ns/billing", &oom), 11);
    assert_int_equal(cw__link_index_resolve(&x, CW_LINK_REPOSITORY, "org/pay", &oom), 4);
    assert_int_equal(cw__link_index_resolve(&x, CW_LINK_REPOSITORY, "ORG/OTHER", &oom), 9);
    assert_int_equal(cw__link_index_resolve(&x, CW_LINK_REPOSITORY, "payments", &oom), -1);
    assert_false(oom);
    cw__link_index_free(&x);
}

static void if_match_refuses_with_a_reason(void **state)
{
    (void)state;
    cw_diag d = {{0}};
    assert_int_equal(cw__entity_if_match("component:default/a", false, "", NULL, &d), CW_OK);
    assert_int_equal(cw__entity_if_match("component:default/a", false, "", "x", &d),
                     CW_ERR_PRECONDITION);
    assert_non_null(strstr(d.msg, "does not exist"));
    assert_int_equal(cw__entity_if_match("component:default/a", true, "abc", "W/\"abc\"", &d),
                     CW_OK);
    assert_int_equal(cw__entity_if_match("component:default/a", true, "abc", "\"def\"", &d),
                     CW_ERR_PRECONDITION);
    assert_non_null(strstr(d.msg, "has etag \"abc\""));
}

static void set_ids(cw__qb *b, const cw_filter *f)
{
    (void)f;
    cw__qb_sql(b, "SELECT id FROM matches");
}

static void entity_page_sql(void **state)
{
    (void)state;
    static const cw__qb_dialect dl = {.numbered = true,
                                      .true_lit = "true",
                                      .find_open = "strpos(",
                                      .find_close = ") > 0",
                                      .key_order_id = "+e.id",
                                      .set = set_ids};
    cw_filter_clause cl = {0};
    cw_filter f = {.clauses = &cl, .n = 1};
    cw_entity_query q = {.filter = &f, .text = "Pay", .after_key = "B", .order_desc = true};
    cw__qb b;
    cw__qb_init(&b, &dl);
    cw__qb_page(&b, &q);
    assert_int_equal(b.err, CW_OK);
    assert_string_equal(cw_buf_cstr(&b.sql),
                        "SELECT e.id, e.key FROM entities e WHERE true AND +e.id IN "
                        "(SELECT id FROM matches) AND (strpos(e.text_name, $1) > 0 OR "
                        "strpos(e.text_title, $2) > 0 OR strpos(e.text_desc, $3) > 0) AND "
                        "e.key < $4 ORDER BY e.key DESC");
    assert_int_equal(b.n, 4);
    assert_string_equal(b.vals[0], "pay"); /* bound lower-cased */
    assert_string_equal(b.vals[3], "b");
    cw__qb_free(&b);

    static const cw__qb_dialect small = {.max_params = 1, .true_lit = "1", .set = set_ids};
    cw_entity_query o = {.order_key = "spec.type", .after_key = "k"};
    cw__qb_init(&b, &small);
    cw__qb_page(&b, &o);
    assert_int_equal(b.err, CW_ERR_TOO_LARGE);
    cw_diag d = {{0}};
    assert_int_equal(cw__qb_error(&b, &d), CW_ERR_TOO_LARGE);
    assert_non_null(strstr(d.msg, "more than 1 values"));
    cw__qb_free(&b);
}

/* ---- the migration loop over a fake engine ---------------------------------------- */

typedef struct {
    int version;           /* stored */
    int pending;           /* set inside the open transaction */
    bool in_tx;
    int fail_at;           /* migration version whose SQL fails, 0 none */
    int applied;
    int rollbacks;
} fake_db;

static int fake_versions[3] = {1, 2, 3};

static void fake_step(size_t i, int *version, const char **what, const char **sql)
{
    *version = fake_versions[i];
    *what = "step";
    *sql = "SQL";
}

static cw_err fake_read(void *conn, int *out, cw_diag *d)
{
    (void)d;
    *out = ((fake_db *)conn)->version;
    return CW_OK;
}

static cw_err fake_begin(void *conn, int *out, cw_diag *d)
{
    fake_db *f = conn;
    f->in_tx = true;
    f->pending = f->version;
    return fake_read(conn, out, d);
}

static cw_err fake_exec(void *conn, const char *sql, cw_diag *d)
{
    fake_db *f = conn;
    (void)sql;
    if (f->fail_at == f->pending + 1)
        return cw_fail(d, CW_ERR_IO, "boom");
    f->applied++;
    return CW_OK;
}

static cw_err fake_set(void *conn, int version, cw_diag *d)
{
    (void)d;
    ((fake_db *)conn)->pending = version;
    return CW_OK;
}

static cw_err fake_commit(void *conn, cw_diag *d)
{
    (void)d;
    fake_db *f = conn;
    f->version = f->pending;
    f->in_tx = false;
    return CW_OK;
}

static void fake_rollback(void *conn)
{
    fake_db *f = conn;
    f->in_tx = false;
    f->rollbacks++;
}

static cw__migrator fake_migrator(fake_db *f, size_t n)
{
    return (cw__migrator){.conn = f, .n = n, .step = fake_step, .read_version = fake_read,
                          .begin = fake_begin, .exec = fake_exec, .set_version = fake_set,
                          .commit = fake_commit, .rollback = fake_rollback};
}

static void migrate_applies_pending_steps(void **state)
{
    (void)state;
    cw_diag d = {{0}};
    fake_db f = {.version = 1};
    cw__migrator m = fake_migrator(&f, 3);
    assert_int_equal(cw__migrate(&m, &d), CW_OK);
    assert_int_equal(f.version, 3);
    assert_int_equal(f.applied, 2);

    fake_db g = {.version = 0, .fail_at = 2};
    m = fake_migrator(&g, 3);
    assert_int_equal(cw__migrate(&m, &d), CW_ERR_IO);
    assert_int_equal(g.version, 1); /* the first step stays committed */
    assert_int_equal(g.rollbacks, 1);
    assert_false(g.in_tx);
    assert_non_null(strstr(d.msg, "schema migration 2 (step)"));

    fake_db h = {.version = 5};
    m = fake_migrator(&h, 3);
    assert_int_equal(cw__migrate(&m, &d), CW_ERR_UNSUPPORTED);
    assert_non_null(strstr(d.msg, "schema version 5 is newer than this program's 3"));

    fake_versions[1] = 7;
    fake_db k = {.version = 0};
    m = fake_migrator(&k, 3);
    assert_int_equal(cw__migrate(&m, &d), CW_ERR_INTERNAL);
    assert_non_null(strstr(d.msg, "migration #1 has version 7, expected 2"));
    assert_int_equal(k.applied, 0);
    fake_versions[1] = 2;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(event_sql_numbers_params_in_order),
        cmocka_unit_test(event_row_fill_copies_and_requires),
        cmocka_unit_test(link_index_follows_the_rules),
        cmocka_unit_test(if_match_refuses_with_a_reason),
        cmocka_unit_test(entity_page_sql),
        cmocka_unit_test(migrate_applies_pending_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
