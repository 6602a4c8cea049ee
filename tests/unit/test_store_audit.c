/*
 * test_store_audit.c — the audit log domain of the store (store_audit.h) on
 * real SQLite files: append and read back every field, argument checks,
 * each filter and their combination, newest-first keyset paging, and that
 * the rows cannot be changed or deleted even with raw SQL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixtures.h"
#include "store/store.h"
#include "store/store_audit.h"

/* Appends a record with the given action, token and refs (JSON text). */
static int64_t add(cw_store *s, const char *action, int64_t token, const char *refs_json,
                   int64_t at_ms)
{
    json_t *refs = refs_json ? json_loads(refs_json, 0, NULL) : NULL;
    cw_audit_entry e = {.at_ms = at_ms, .token_id = token,
                        .token_name = token ? "ci" : NULL, .action = action,
                        .refs = refs, .request_id = "req-1"};
    int64_t id = 0;
    cw_diag d = {{0}};
    cw_err err = cw_store_audit_append(s, &e, &id, &d);
    if (err)
        fail_msg("append %s: %s", action, d.msg);
    json_decref(refs);
    return id;
}

static void ids_of(const cw_audit_page *p, int64_t *out)
{
    for (size_t i = 0; i < p->len; i++)
        out[i] = p->items[i].id;
}

static void test_append_and_read_back(void **state)
{
    fx_store *f = *state;
    json_t *refs = json_pack("[s,s]", "component:default/Pay-API", "system:default/payments");
    json_t *detail = json_pack("{s:I,s:s}", "tokenId", (json_int_t)7, "role", "editor");
    cw_audit_entry e = {.at_ms = 1700000000123, .token_id = 3, .token_name = "payments-ci",
                        .action = "entity.update", .refs = refs, .request_id = "abc-123",
                        .detail = detail};
    cw_diag d = {{0}};
    int64_t id = 0;
    assert_int_equal(cw_store_audit_append(f->s, &e, &id, &d), CW_OK);
    assert_true(id > 0);
    /* CLI record: explicit actor, no token, no refs, no request id */
    cw_audit_entry cli = {.actor = "cli", .action = "token.create"};
    int64_t id2 = 0;
    assert_int_equal(cw_store_audit_append(f->s, &cli, &id2, &d), CW_OK);
    assert_true(id2 > id);

    cw_audit_query q;
    cw_audit_query_init(&q);
    cw_audit_page p;
    assert_int_equal(cw_store_audit_query(f->s, &q, &p, &d), CW_OK);
    assert_int_equal(p.len, 2);
    assert_false(p.more);
    /* newest first */
    assert_int_equal(p.items[0].id, id2);
    assert_string_equal(p.items[0].actor, "cli");
    assert_int_equal(p.items[0].token_id, 0);
    assert_string_equal(p.items[0].token_name, "");
    assert_string_equal(p.items[0].refs_json, "[]");
    assert_string_equal(p.items[0].request_id, "");
    assert_null(p.items[0].detail_json);
    assert_true(p.items[0].at_ms > 1700000000123); /* 0 meant "now" */

    const cw_audit_record *r = &p.items[1];
    assert_int_equal(r->id, id);
    assert_int_equal(r->at_ms, 1700000000123);
    assert_string_equal(r->actor, "token"); /* derived from the token id */
    assert_int_equal(r->token_id, 3);
    assert_string_equal(r->token_name, "payments-ci");
    assert_string_equal(r->action, "entity.update");
    assert_string_equal(r->request_id, "abc-123");
    json_t *back = json_loads(r->refs_json, 0, NULL);
    assert_true(json_equal(back, refs)); /* as written, case kept */
    json_decref(back);
    back = json_loads(r->detail_json, 0, NULL);
    assert_true(json_equal(back, detail));
    json_decref(back);
    cw_audit_page_free(&p);
    assert_null(p.items);
    json_decref(refs);
    json_decref(detail);

    /* anonymous when neither a token nor an actor is given */
    cw_audit_entry anon = {.action = "entity.delete"};
    assert_int_equal(cw_store_audit_append(f->s, &anon, NULL, &d), CW_OK);
    q.limit = 1;
    assert_int_equal(cw_store_audit_query(f->s, &q, &p, &d), CW_OK);
    assert_string_equal(p.items[0].actor, "anonymous");
    assert_true(p.more);
    cw_audit_page_free(&p);
}

static void test_append_rejects_bad_input(void **state)
{
    fx_store *f = *state;
    cw_diag d = {{0}};
    cw_audit_entry e = {.action = "Entity.Create"};
    assert_int_equal(cw_store_audit_append(f->s, &e, NULL, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "action:"));
    e.action = "";
    assert_int_equal(cw_store_audit_append(f->s, &e, NULL, &d), CW_ERR_INVALID);
    e.action = NULL;
    assert_int_equal(cw_store_audit_append(f->s, &e, NULL, &d), CW_ERR_INVALID);

    e.action = "entity.create";
    e.actor = "root";
    assert_int_equal(cw_store_audit_append(f->s, &e, NULL, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "actor:"));
    e.actor = NULL;

    json_t *obj = json_object();
    e.refs = obj;
    assert_int_equal(cw_store_audit_append(f->s, &e, NULL, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "entityRefs:"));
    json_t *mixed = json_pack("[s,i]", "component:default/a", 5);
    e.refs = mixed;
    assert_int_equal(cw_store_audit_append(f->s, &e, NULL, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "entityRefs[1]"));
    e.refs = NULL;

    json_t *arr = json_array();
    e.detail = arr;
    assert_int_equal(cw_store_audit_append(f->s, &e, NULL, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "detail:"));
    e.detail = NULL;

    char longname[200];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    e.token_name = longname;
    assert_int_equal(cw_store_audit_append(f->s, &e, NULL, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "tokenName:"));
    json_decref(obj);
    json_decref(mixed);
    json_decref(arr);

    /* nothing was written by the refused calls */
    cw_audit_query q;
    cw_audit_query_init(&q);
    cw_audit_page p;
    assert_int_equal(cw_store_audit_query(f->s, &q, &p, &d), CW_OK);
    assert_int_equal(p.len, 0);
    cw_audit_page_free(&p);

    q.limit = 0;
    assert_int_equal(cw_store_audit_query(f->s, &q, &p, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "limit:"));
    q.limit = CW_AUDIT_PAGE_MAX + 1;
    assert_int_equal(cw_store_audit_query(f->s, &q, &p, &d), CW_ERR_INVALID);
    q.limit = 10;
    q.entity_ref = "pay-api";
    assert_int_equal(cw_store_audit_query(f->s, &q, &p, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "entityRef:"));
}

static void test_filters_and_paging(void **state)
{
    fx_store *f = *state;
    cw_diag d = {{0}};
    int64_t t0 = 1750000000000;
    int64_t a = add(f->s, "entity.create", 1, "[\"component:default/a\"]", t0);
    int64_t b = add(f->s, "entity.update", 2, "[\"component:default/A\", \"component:default/b\"]",
                    t0 + 1000);
    int64_t c = add(f->s, "catalog.import", 1,
                    "[\"component:default/b\", \"group:default/team\", \"not a ref\"]", t0 + 2000);
    int64_t e = add(f->s, "entity.delete", 2, "[\"component:default/a\"]", t0 + 3000);
    int64_t g = add(f->s, "token.create", 0, NULL, t0 + 4000);
    int64_t ids[8];

    cw_audit_query q;
    cw_audit_query_init(&q);
    cw_audit_page p;

    q.action = "entity.update";
    assert_int_equal(cw_store_audit_query(f->s, &q, &p, &d), CW_OK);
    assert_int_equal(p.len, 1);
    assert_int_equal(p.items[0].id, b);
    cw_audit_page_free(&p);

    cw_audit_query_init(&q);
    q.token_id = 2;
    assert_int_equal(cw_store_audit_query(f->s, &q, &p, &d), CW_OK);
    assert_int_equal(p.len, 2);
    ids_of(&p, ids);
    assert_int_equal(ids[0], e);
    assert_int_equal(ids[1], b);
    cw_audit_page_free(&p);

    /* entity refs match ignoring case; a record naming it twice counts once */
    cw_audit_query_init(&q);
    q.entity_ref = "Component:Default/A";
    assert_int_equal(cw_store_audit_query(f->s, &q, &p, &d), CW_OK);
    assert_int_equal(p.len, 3);
    ids_of(&p, ids);
    assert_int_equal(ids[0], e);
    assert_int_equal(ids[1], b);
    assert_int_equal(ids[2], a);
    cw_audit_page_free(&p);

    /* from inclusive, to exclusive */
    cw_audit_query_init(&q);
    q.from_ms = t0 + 1000;
    q.to_ms = t0 + 3000;
    assert_int_equal(cw_store_audit_query(f->s, &q, &p, &d), CW_OK);
    assert_int_equal(p.len, 2);
    ids_of(&p, ids);
    assert_int_equal(ids[0], c);
    assert_int_equal(ids[1], b);
    cw_audit_page_free(&p);

    /* all filters at once */
    cw_audit_query_init(&q);
    q.action = "catalog.import";
    q.token_id = 1;
    q.entity_ref = "group:default/team";
    q.from_ms = t0;
    q.to_ms = t0 + 10000;
    assert_int_equal(cw_store_audit_query(f->s, &q, &p, &d), CW_OK);
    assert_int_equal(p.len, 1);
    assert_int_equal(p.items[0].id, c);
    /* the ref that is not a ref is kept as written, only not indexed */
    assert_non_null(strstr(p.items[0].refs_json, "not a ref"));
    cw_audit_page_free(&p);
    q.token_id = 2;
    assert_int_equal(cw_store_audit_query(f->s, &q, &p, &d), CW_OK);
    assert_int_equal(p.len, 0);
    assert_false(p.more);
    cw_audit_page_free(&p);

    /* keyset paging, newest first, two at a time */
    cw_audit_query_init(&q);
    q.limit = 2;
    int64_t seen[8];
    size_t nseen = 0;
    for (int page = 0; page < 4; page++) {
        assert_int_equal(cw_store_audit_query(f->s, &q, &p, &d), CW_OK);
        for (size_t i = 0; i < p.len; i++)
            seen[nseen++] = p.items[i].id;
        bool more = p.more;
        if (p.len)
            q.before_id = p.items[p.len - 1].id;
        cw_audit_page_free(&p);
        if (!more)
            break;
    }
    assert_int_equal(nseen, 5);
    int64_t want[5] = {g, e, c, b, a};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(seen[i], want[i]);
}

static int exec_raw(const char *path, const char *sql, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
    char *msg = NULL;
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    snprintf(err, errlen, "%s", msg ? msg : "");
    sqlite3_free(msg);
    sqlite3_close(db);
    return rc;
}

static void test_rows_are_append_only(void **state)
{
    fx_store *f = *state;
    add(f->s, "entity.create", 1, "[\"component:default/a\"]", 0);
    char msg[256];
    assert_int_not_equal(exec_raw(fx_store_url(f), "UPDATE audit SET action = 'x'", msg, sizeof msg),
                         SQLITE_OK);
    assert_non_null(strstr(msg, "append-only"));
    assert_int_not_equal(exec_raw(fx_store_url(f), "DELETE FROM audit", msg, sizeof msg), SQLITE_OK);
    assert_non_null(strstr(msg, "append-only"));
    assert_int_not_equal(exec_raw(fx_store_url(f), "DELETE FROM audit_refs", msg, sizeof msg),
                         SQLITE_OK);
    assert_int_not_equal(
        exec_raw(fx_store_url(f), "UPDATE audit_refs SET ref_key = 'component:default/b'", msg,
                 sizeof msg),
        SQLITE_OK);

    /* still there, unchanged, after reopening */
    cw_store_close(f->s);
    cw_diag d = {{0}};
    assert_int_equal(cw_store_open(fx_store_url(f), NULL, &f->s, &d), CW_OK);
    cw_audit_query q;
    cw_audit_query_init(&q);
    q.entity_ref = "component:default/a";
    cw_audit_page p;
    assert_int_equal(cw_store_audit_query(f->s, &q, &p, &d), CW_OK);
    assert_int_equal(p.len, 1);
    assert_string_equal(p.items[0].action, "entity.create");
    cw_audit_page_free(&p);
}

typedef struct {
    cw_store *s;
    int n;
    int failures;
} writer_arg;

static void *writer(void *arg)
{
    writer_arg *w = arg;
    for (int i = 0; i < w->n; i++) {
        cw_audit_entry e = {.action = "events.ingest", .token_id = 9};
        cw_diag d = {{0}};
        if (cw_store_audit_append(w->s, &e, NULL, &d))
            w->failures++;
    }
    return NULL;
}

static void test_concurrent_appends(void **state)
{
    fx_store *f = *state;
    pthread_t th[4];
    writer_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (writer_arg){f->s, 25, 0};
        assert_int_equal(pthread_create(&th[i], NULL, writer, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    cw_audit_query q;
    cw_audit_query_init(&q);
    q.limit = CW_AUDIT_PAGE_MAX;
    cw_audit_page p;
    cw_diag d = {{0}};
    assert_int_equal(cw_store_audit_query(f->s, &q, &p, &d), CW_OK);
    assert_int_equal(p.len, 100);
    for (size_t i = 1; i < p.len; i++)
        assert_true(p.items[i - 1].id > p.items[i].id);
    cw_audit_page_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_SQLITE_TEST(test_append_and_read_back),
        FX_SQLITE_TEST(test_append_rejects_bad_input),
        FX_SQLITE_TEST(test_filters_and_paging),
        FX_SQLITE_TEST(test_rows_are_append_only),
        FX_SQLITE_TEST(test_concurrent_appends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
