/*
 * test_store_conformance.c — the behaviour every store.h implementation
 * must have, run against each available backend: a fresh database per
 * test from the backend's factory (fixtures.h). SQLite always runs (temp
 * files); PostgreSQL runs when CONWAY_TEST_PG_URL is set.
 *
 * Entities are built with jansson and validated by cw_entity_validate, as
 * the HTTP layer and the importer do.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "fixtures.h"
#include "store/store.h"

/* ---- entity helpers ------------------------------------------------------------------------ */

static json_t *component(const char *name, const char *type, const char *owner)
{
    return fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Component',"
                     "'metadata':{'name':'%s'},"
                     "'spec':{'type':'%s','lifecycle':'production','owner':'%s'}}",
                     name, type, owner);
}

static json_t *group(const char *name)
{
    return fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Group',"
                     "'metadata':{'name':'%s'},'spec':{'type':'team','children':[]}}",
                     name);
}

/* Puts (consuming e) and checks the status. */
static cw_put_result put_expect(cw_store *s, json_t *e, const char *if_match,
                                cw_put_status want)
{
    cw_put_result r;
    memset(&r, 0, sizeof r);
    cw_diag d = {""};
    cw_err err = cw_store_entity_put(s, e, if_match, &r, &d);
    json_decref(e);
    if (err)
        fail_msg("put: %s: %s", cw_err_name(err), d.msg);
    assert_int_equal(r.status, want);
    return r;
}

static void put(cw_store *s, json_t *e)
{
    cw_put_result r;
    cw_diag d = {""};
    cw_err err = cw_store_entity_put(s, e, NULL, &r, &d);
    json_decref(e);
    if (err)
        fail_msg("put: %s: %s", cw_err_name(err), d.msg);
}

/* Gets and parses; NULL when not found (other errors fail the test). */
static json_t *get(cw_store *s, const char *kind, const char *ns, const char *name)
{
    char *text = NULL;
    char etag[48];
    cw_diag d = {""};
    cw_err err = cw_store_entity_get(s, kind, ns, name, &text, etag, &d);
    if (err == CW_ERR_NOT_FOUND)
        return NULL;
    if (err)
        fail_msg("get %s:%s/%s: %s: %s", kind, ns, name, cw_err_name(err), d.msg);
    json_t *e = json_loads(text, 0, NULL);
    assert_non_null(e);
    /* the etag returned beside the text is the one inside it */
    assert_string_equal(etag,
                        json_string_value(json_object_get(json_object_get(e, "metadata"),
                                                          "etag")));
    free(text);
    return e;
}

/* How many relations of e have this type and target key (case-insensitive). */
static int count_rel(const json_t *e, const char *type, const char *target)
{
    int n = 0;
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(e, "relations"), i, r) {
        const char *t = json_string_value(json_object_get(r, "type"));
        const char *ref = json_string_value(json_object_get(r, "targetRef"));
        if (t && ref && !strcmp(t, type) && !strcasecmp(ref, target))
            n++;
    }
    return n;
}

static const char *md_str(const json_t *e, const char *field)
{
    return json_string_value(json_object_get(json_object_get(e, "metadata"), field));
}

/* ---- query helpers ------------------------------------------------------------------------- */

/* A filter built from text like "kind=component,spec.type=service|website;tags?"
 * (';' separates OR clauses, ',' AND conditions, '|' values, "key?" = exists). */
typedef struct {
    cw_filter f;
    cw_filter_clause cl[8];
    cw_filter_cond cond[8][8];
    const char *vals[8][8][8];
    char buf[1024];
} tfilter;

/* Splits *cursor at the next sep (in place); NULL when exhausted. */
static char *next_part(char **cursor, char sep)
{
    char *p = *cursor;
    if (!p || !*p)
        return NULL;
    char *e = strchr(p, sep);
    if (e) {
        *e = '\0';
        *cursor = e + 1;
    } else {
        *cursor = NULL;
    }
    return p;
}

static const cw_filter *mkfilter(tfilter *t, const char *spec)
{
    memset(t, 0, sizeof *t);
    snprintf(t->buf, sizeof t->buf, "%s", spec);
    t->f.clauses = t->cl;
    char *c1 = t->buf, *clause;
    while ((clause = next_part(&c1, ';'))) {
        size_t ci = t->f.n++;
        assert_true(ci < 8);
        t->cl[ci].conds = t->cond[ci];
        char *c2 = clause, *cond;
        while ((cond = next_part(&c2, ','))) {
            size_t ki = t->cl[ci].n++;
            assert_true(ki < 8);
            cw_filter_cond *k = &t->cond[ci][ki];
            k->values = t->vals[ci][ki];
            k->key = cond;
            char *eq = strchr(cond, '=');
            if (!eq) {
                char *q = strchr(cond, '?');
                if (q)
                    *q = '\0';
                continue;
            }
            *eq = '\0';
            char *c3 = eq + 1, *v;
            while ((v = next_part(&c3, '|'))) {
                assert_true(k->nvalues < 8);
                t->vals[ci][ki][k->nvalues++] = v;
            }
        }
    }
    return &t->f;
}

/* Runs a query and returns the matching keys joined by ' ' (static buffer). */
static const char *run_query(cw_store *s, const cw_entity_query *q, size_t *total)
{
    static char out[8192];
    cw_entity_page p;
    cw_diag d = {""};
    cw_err err = cw_store_entity_query(s, q, &p, &d);
    if (err)
        fail_msg("query: %s: %s", cw_err_name(err), d.msg);
    out[0] = '\0';
    size_t o = 0;
    for (size_t i = 0; i < p.len; i++) {
        int n = snprintf(out + o, sizeof out - o, "%s%s", i ? " " : "", p.keys[i]);
        assert_true(n > 0 && (size_t)n < sizeof out - o);
        o += (size_t)n;
        /* every item is the full entity as get renders it */
        json_t *e = json_loads(p.items[i], 0, NULL);
        assert_non_null(e);
        assert_non_null(json_object_get(e, "relations"));
        json_decref(e);
    }
    if (total)
        *total = p.total;
    cw_entity_page_free(&p);
    return out;
}

static const char *filter_keys(cw_store *s, const char *spec)
{
    tfilter t;
    cw_entity_query q = {0};
    q.filter = mkfilter(&t, spec);
    q.limit = 1000;
    return run_query(s, &q, NULL);
}

/* ---- tests: basics ----------------------------------------------------------------------- */

static void test_open_reports_health(void **state)
{
    fx_store *f = *state;
    cw_diag d = {""};
    int v = 0;
    int64_t size = 0;
    assert_int_equal(cw_store_ping(f->s, &d), CW_OK);
    assert_int_equal(cw_store_schema_version(f->s, &v, &d), CW_OK);
    assert_true(v >= 2);
    assert_int_equal(cw_store_size_bytes(f->s, &size, &d), CW_OK);
    assert_true(size > 0);
    assert_string_equal(cw_store_backend(f->s), f->b->name);
}

/* postgres:// URLs go to the PostgreSQL backend (never to a SQLite file of
 * that name); without libpq they are refused as unsupported. */
static void test_postgres_url_dispatch(void **state)
{
    (void)state;
    cw_store *s = (cw_store *)1;
    cw_diag d = {""};
#ifdef CONWAY_HAVE_PG
    /* nothing listens on port 1: a connection error, not a file */
    assert_int_equal(cw_store_open("postgres://127.0.0.1:1/conway?connect_timeout=2", NULL,
                                   &s, &d),
                     CW_ERR_IO);
    assert_null(s);
    assert_non_null(strstr(d.msg, "connect"));
#else
    assert_int_equal(cw_store_open("postgres://localhost/conway", NULL, &s, &d),
                     CW_ERR_UNSUPPORTED);
    assert_null(s);
    assert_non_null(strstr(d.msg, "PostgreSQL"));
    assert_int_equal(cw_store_open("postgresql://u@h/db", NULL, &s, &d),
                     CW_ERR_UNSUPPORTED);
#endif
    assert_int_equal(access("postgres:", F_OK), -1);
    assert_int_equal(cw_store_open("", NULL, &s, &d), CW_ERR_INVALID);
}

static void test_put_statuses_uid_and_etag(void **state)
{
    fx_store *f = *state;
    cw_put_result a = put_expect(f->s, component("svc", "service", "team-a"), NULL,
                                 CW_PUT_CREATED);
    assert_int_equal(strlen(a.uid), 36);
    assert_int_equal(a.uid[14], '4'); /* UUID version 4 */
    assert_int_equal(strlen(a.etag), 32);
    assert_int_equal(strspn(a.etag, "0123456789abcdef"), 32);

    cw_put_result b = put_expect(f->s, component("svc", "service", "team-a"), NULL,
                                 CW_PUT_UNCHANGED);
    assert_string_equal(b.uid, a.uid);
    assert_string_equal(b.etag, a.etag);

    cw_put_result c = put_expect(f->s, component("svc", "website", "team-a"), NULL,
                                 CW_PUT_UPDATED);
    assert_string_equal(c.uid, a.uid);
    assert_string_not_equal(c.etag, a.etag);

    /* another entity gets another uid */
    cw_put_result o = put_expect(f->s, component("other", "service", "team-a"), NULL,
                                 CW_PUT_CREATED);
    assert_string_not_equal(o.uid, a.uid);

    json_t *e = get(f->s, "Component", "default", "svc");
    assert_non_null(e);
    assert_string_equal(md_str(e, "uid"), a.uid);
    assert_string_equal(md_str(e, "etag"), c.etag);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(e, "spec"), "type")), "website");
    json_decref(e);
}

static void test_put_sets_uid_and_etag_on_the_input(void **state)
{
    fx_store *f = *state;
    json_t *e = component("svc", "service", "team-a");
    cw_put_result r;
    cw_diag d = {""};
    assert_int_equal(cw_store_entity_put(f->s, e, NULL, &r, &d), CW_OK);
    assert_string_equal(md_str(e, "uid"), r.uid);
    assert_string_equal(md_str(e, "etag"), r.etag);
    json_decref(e);
}

/* Bodies keep every character: quotes, backslashes, controls, non-ASCII. */
static void test_body_round_trips(void **state)
{
    fx_store *f = *state;
    json_t *e = component("odd", "service", "team-a");
    const char *desc = "quote \" backslash \\ newline \n tab \t bell \x07 "
                       "unicode \xc3\xa9\xe2\x82\xac end";
    json_object_set_new(json_object_get(e, "metadata"), "description", json_string(desc));
    json_object_set_new(json_object_get(e, "spec"), "weight", json_real(0.1));
    json_object_set_new(json_object_get(e, "spec"), "ratio", json_real(2.0));
    json_object_set_new(json_object_get(e, "spec"), "count", json_integer(-42));
    json_object_set_new(json_object_get(e, "spec"), "flags",
                        json_pack("[b,b,n,{}]", 1, 0));
    json_t *expect = json_deep_copy(e);
    put(f->s, e);
    json_t *got = get(f->s, "component", "default", "odd");
    assert_string_equal(md_str(got, "description"), desc);
    const json_t *spec = json_object_get(got, "spec");
    assert_true(json_equal(spec, json_object_get(expect, "spec")));
    assert_true(json_is_real(json_object_get(spec, "ratio")));
    json_decref(got);
    json_decref(expect);
}

static void test_if_match(void **state)
{
    fx_store *f = *state;
    cw_diag d = {""};
    cw_put_result r, a = put_expect(f->s, component("svc", "service", "team-a"), NULL,
                                    CW_PUT_CREATED);

    json_t *e = component("svc", "website", "team-a");
    assert_int_equal(cw_store_entity_put(f->s, e, "0123456789abcdef0123456789abcdef", &r, &d),
                     CW_ERR_PRECONDITION);
    assert_non_null(strstr(d.msg, "If-Match"));
    json_decref(e);
    json_t *cur_e = get(f->s, "component", "default", "svc");
    assert_string_equal(md_str(cur_e, "etag"), a.etag); /* not written */
    json_decref(cur_e);

    cw_put_result b = put_expect(f->s, component("svc", "website", "team-a"), a.etag,
                                 CW_PUT_UPDATED);
    /* HTTP forms of If-Match */
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"nope\", W/\"%s\"", b.etag);
    b = put_expect(f->s, component("svc", "website", "team-b"), quoted, CW_PUT_UPDATED);
    b = put_expect(f->s, component("svc", "website", "team-c"), "*", CW_PUT_UPDATED);
    e = component("svc", "website", "team-a");
    assert_int_equal(cw_store_entity_put(f->s, e, "\"nope\", \"other\"", &r, &d),
                     CW_ERR_PRECONDITION);
    json_decref(e);

    /* If-Match on an entity that does not exist, even "*" */
    e = component("ghost", "service", "team-a");
    assert_int_equal(cw_store_entity_put(f->s, e, a.etag, &r, &d), CW_ERR_PRECONDITION);
    assert_int_equal(cw_store_entity_put(f->s, e, "*", &r, &d), CW_ERR_PRECONDITION);
    json_decref(e);
    assert_null(get(f->s, "component", "default", "ghost"));

    /* delete honours If-Match too */
    assert_int_equal(cw_store_entity_delete(f->s, "component", "default", "svc", a.etag, &d),
                     CW_ERR_PRECONDITION);
    assert_int_equal(cw_store_entity_delete(f->s, "component", "default", "svc", b.etag, &d),
                     CW_OK);
}

static void test_names_are_unique_ignoring_case(void **state)
{
    fx_store *f = *state;
    cw_put_result a = put_expect(f->s, component("Foo", "service", "team-a"), NULL,
                                 CW_PUT_CREATED);
    cw_put_result b = put_expect(f->s, component("foo", "service", "team-a"), NULL,
                                 CW_PUT_UPDATED);
    assert_string_equal(a.uid, b.uid);

    json_t *counts = NULL;
    cw_diag d = {""};
    assert_int_equal(cw_store_entity_counts(f->s, &counts, &d), CW_OK);
    assert_int_equal(json_integer_value(json_object_get(counts, "Component")), 1);
    json_decref(counts);

    const char *spellings[][3] = {{"Component", "default", "foo"},
                                  {"component", "default", "FOO"},
                                  {"COMPONENT", "DEFAULT", "fOo"}};
    for (size_t i = 0; i < 3; i++) {
        json_t *e = get(f->s, spellings[i][0], spellings[i][1], spellings[i][2]);
        assert_non_null(e);
        assert_string_equal(md_str(e, "name"), "foo"); /* the latest spelling wins */
        assert_string_equal(md_str(e, "uid"), a.uid);
        json_decref(e);
    }
}

static void test_get_rejects_bad_arguments(void **state)
{
    fx_store *f = *state;
    char *text = NULL;
    cw_diag d = {""};
    char longname[100];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(cw_store_entity_get(f->s, "component", "default", longname, &text,
                                         NULL, &d),
                     CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "metadata.name"));
    assert_int_equal(cw_store_entity_get(f->s, "", "default", "x", &text, NULL, &d),
                     CW_ERR_INVALID);
    assert_int_equal(cw_store_entity_get(f->s, "component", "default", "absent", &text,
                                         NULL, &d),
                     CW_ERR_NOT_FOUND);
    assert_null(text);
}

static void test_delete_then_not_found(void **state)
{
    fx_store *f = *state;
    cw_diag d = {""};
    put(f->s, component("svc", "service", "team-a"));
    assert_int_equal(cw_store_entity_delete(f->s, "Component", "default", "SVC", NULL, &d),
                     CW_OK);
    assert_null(get(f->s, "component", "default", "svc"));
    assert_int_equal(cw_store_entity_delete(f->s, "component", "default", "svc", NULL, &d),
                     CW_ERR_NOT_FOUND);
    size_t total = 99;
    cw_entity_query q = {.limit = 10};
    run_query(f->s, &q, &total);
    assert_int_equal(total, 0);
    /* re-creating gives a new identity */
    put_expect(f->s, component("svc", "service", "team-a"), NULL, CW_PUT_CREATED);
}

/* ---- tests: relations ------------------------------------------------------------------------- */

static void test_relations_dangling_then_resolved(void **state)
{
    fx_store *f = *state;
    put(f->s, component("a", "service", "group:default/team-a"));

    json_t *a = get(f->s, "component", "default", "a");
    assert_int_equal(count_rel(a, "ownedBy", "group:default/team-a"), 1);
    /* the target object is spelled out */
    const json_t *rel = json_array_get(json_object_get(a, "relations"), 0);
    const json_t *target = json_object_get(rel, "target");
    assert_string_equal(json_string_value(json_object_get(target, "kind")), "group");
    assert_string_equal(json_string_value(json_object_get(target, "namespace")), "default");
    assert_string_equal(json_string_value(json_object_get(target, "name")), "team-a");
    json_decref(a);

    /* the group arrives later and sees what points at it */
    put(f->s, group("team-a"));
    json_t *g = get(f->s, "group", "default", "team-a");
    assert_int_equal(count_rel(g, "ownerOf", "component:default/a"), 1);
    json_decref(g);
    assert_string_equal(filter_keys(f->s, "relations.ownerof=component:default/a"),
                        "group:default/team-a");

    /* deleting the target leaves the source's relation dangling again */
    cw_diag d = {""};
    assert_int_equal(cw_store_entity_delete(f->s, "group", "default", "team-a", NULL, &d),
                     CW_OK);
    a = get(f->s, "component", "default", "a");
    assert_int_equal(count_rel(a, "ownedBy", "group:default/team-a"), 1);
    json_decref(a);
    put(f->s, group("Team-A"));
    g = get(f->s, "group", "default", "team-a");
    assert_int_equal(count_rel(g, "ownerOf", "component:default/a"), 1);
    json_decref(g);
}

static void test_relations_follow_spec_changes(void **state)
{
    fx_store *f = *state;
    put(f->s, group("old"));
    put(f->s, group("new"));
    put(f->s, component("a", "service", "old"));
    put(f->s, component("a", "service", "new"));

    json_t *old = get(f->s, "group", "default", "old");
    json_t *nw = get(f->s, "group", "default", "new");
    json_t *a = get(f->s, "component", "default", "a");
    assert_int_equal(json_array_size(json_object_get(old, "relations")), 0);
    assert_int_equal(count_rel(nw, "ownerOf", "component:default/a"), 1);
    assert_int_equal(count_rel(a, "ownedBy", "group:default/new"), 1);
    assert_int_equal(count_rel(a, "ownedBy", "group:default/old"), 0);
    json_decref(old);
    json_decref(nw);
    json_decref(a);
    assert_string_equal(filter_keys(f->s, "relations.ownedby=group:default/old"), "");
    assert_string_equal(filter_keys(f->s, "relations.ownerof=component:default/a"),
                        "group:default/new");
}

static void test_relations_sorted_and_deduplicated(void **state)
{
    fx_store *f = *state;
    /* the user says memberOf and the group says hasMember: one relation each way */
    put(f->s, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'User',"
                        "'metadata':{'name':'ann'},'spec':{'memberOf':['team-b','team-a']}}"));
    put(f->s, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Group',"
                        "'metadata':{'name':'team-a'},"
                        "'spec':{'type':'team','children':[],'members':['ann']}}"));
    json_t *u = get(f->s, "user", "default", "ann");
    json_t *g = get(f->s, "group", "default", "team-a");
    assert_int_equal(count_rel(u, "memberOf", "group:default/team-a"), 1);
    assert_int_equal(count_rel(g, "hasMember", "user:default/ann"), 1);
    /* deterministic order: by type then target */
    const json_t *rels = json_object_get(u, "relations");
    assert_int_equal(json_array_size(rels), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(rels, 0), "targetRef")),
        "group:default/team-a");
    json_decref(u);
    json_decref(g);
}

/* ---- tests: queries ------------------------------------------------------------------------------ */

static void load_fixture_catalog(cw_store *s)
{
    put(s, group("team-a"));
    put(s, group("team-b"));
    put(s, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Component',"
                     "'metadata':{'name':'checkout','title':'Checkout Service',"
                     "'description':'Takes 100%% of payments','tags':['java','payments']},"
                     "'spec':{'type':'service','lifecycle':'production','owner':'team-a',"
                     "'system':'shop'}}"));
    put(s, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Component',"
                     "'metadata':{'name':'cart_v2','description':'Shopping cart',"
                     "'tags':['go']},"
                     "'spec':{'type':'service','lifecycle':'experimental','owner':'team-b',"
                     "'system':'shop'}}"));
    put(s, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Component',"
                     "'metadata':{'name':'web','title':'Storefront',"
                     "'description':'1000 happy users','tags':['java']},"
                     "'spec':{'type':'Website','lifecycle':'production','owner':'team-a'}}"));
    put(s, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Component',"
                     "'metadata':{'name':'cartxv2','description':'Old cart'},"
                     "'spec':{'type':'library','lifecycle':'deprecated','owner':'team-b'}}"));
    put(s, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'API',"
                     "'metadata':{'name':'orders-api'},"
                     "'spec':{'type':'openapi','lifecycle':'production','owner':'team-a',"
                     "'definition':'openapi: 3.0.0'}}"));
}

static void test_query_filters(void **state)
{
    fx_store *f = *state;
    load_fixture_catalog(f->s);
    assert_string_equal(filter_keys(f->s, "kind=component"),
                        "component:default/cart_v2 component:default/cartxv2 "
                        "component:default/checkout component:default/web");
    assert_string_equal(filter_keys(f->s, "kind=component,spec.type=service"),
                        "component:default/cart_v2 component:default/checkout");
    /* values compare ignoring case (spec.type is "Website") */
    assert_string_equal(filter_keys(f->s, "spec.type=WEBSITE"), "component:default/web");
    assert_string_equal(filter_keys(f->s, "relations.ownedby=group:default/team-a"),
                        "api:default/orders-api component:default/checkout "
                        "component:default/web");
    assert_string_equal(filter_keys(f->s, "metadata.tags=java"),
                        "component:default/checkout component:default/web");
    /* several values: any of them */
    assert_string_equal(filter_keys(f->s, "metadata.tags=go|payments"),
                        "component:default/cart_v2 component:default/checkout");
    /* exists */
    assert_string_equal(filter_keys(f->s, "spec.system?"),
                        "component:default/cart_v2 component:default/checkout");
    assert_string_equal(filter_keys(f->s, "kind=group,relations.ownerof?"),
                        "group:default/team-a group:default/team-b");
    /* OR of clauses */
    assert_string_equal(filter_keys(f->s, "kind=api;spec.lifecycle=deprecated"),
                        "api:default/orders-api component:default/cartxv2");
    /* incoming relations, several values */
    assert_string_equal(
        filter_keys(f->s, "relations.ownerof=component:default/web|component:default/cart_v2"),
        "group:default/team-a group:default/team-b");
    /* nothing matches */
    assert_string_equal(filter_keys(f->s, "kind=component,spec.type=website,metadata.tags=go"),
                        "");
    assert_string_equal(filter_keys(f->s, "no.such.key?"), "");
}

static const char *text_keys(cw_store *s, const char *text)
{
    cw_entity_query q = {0};
    q.text = text;
    q.limit = 100;
    return run_query(s, &q, NULL);
}

static void test_query_text_is_literal_and_case_insensitive(void **state)
{
    fx_store *f = *state;
    load_fixture_catalog(f->s);
    /* '_' and '%' are not wildcards */
    assert_string_equal(text_keys(f->s, "cart_"), "component:default/cart_v2");
    assert_string_equal(text_keys(f->s, "_"), "component:default/cart_v2");
    assert_string_equal(text_keys(f->s, "100%"), "component:default/checkout");
    assert_string_equal(text_keys(f->s, "%"), "component:default/checkout");
    /* name, title or description; any case */
    assert_string_equal(text_keys(f->s, "STOREFRONT"), "component:default/web");
    assert_string_equal(text_keys(f->s, "cart"),
                        "component:default/cart_v2 component:default/cartxv2");
    assert_string_equal(text_keys(f->s, "happy users"), "component:default/web");
    assert_string_equal(text_keys(f->s, "'; DROP TABLE entities; --"), "");
    /* text and filter combine */
    tfilter t;
    cw_entity_query q = {0};
    q.filter = mkfilter(&t, "spec.type=library");
    q.text = "cart";
    q.limit = 10;
    assert_string_equal(run_query(f->s, &q, NULL), "component:default/cartxv2");
}

static void test_query_order_paging_and_total(void **state)
{
    fx_store *f = *state;
    load_fixture_catalog(f->s);
    size_t total = 0;
    tfilter t;
    cw_entity_query q = {0};
    q.filter = mkfilter(&t, "kind=component");
    q.limit = 2;
    assert_string_equal(run_query(f->s, &q, &total),
                        "component:default/cart_v2 component:default/cartxv2");
    assert_int_equal(total, 4);
    q.offset = 2;
    assert_string_equal(run_query(f->s, &q, &total),
                        "component:default/checkout component:default/web");
    assert_int_equal(total, 4);
    q.offset = 4;
    assert_string_equal(run_query(f->s, &q, &total), "");
    assert_int_equal(total, 4);

    /* keyset paging */
    q.offset = 0;
    q.after_key = "component:default/cartxv2";
    assert_string_equal(run_query(f->s, &q, &total),
                        "component:default/checkout component:default/web");
    assert_int_equal(total, 4);
    q.after_key = "Component:default/CHECKOUT"; /* any case */
    assert_string_equal(run_query(f->s, &q, &total), "component:default/web");
    q.after_key = NULL;

    q.order_desc = true;
    assert_string_equal(run_query(f->s, &q, NULL),
                        "component:default/web component:default/checkout");

    /* by a search key, ties by entity key */
    q.order_key = "spec.type";
    q.order_desc = false;
    q.limit = 10;
    assert_string_equal(run_query(f->s, &q, NULL),
                        "component:default/cartxv2 component:default/cart_v2 "
                        "component:default/checkout component:default/web");
    q.order_desc = true;
    assert_string_equal(run_query(f->s, &q, NULL),
                        "component:default/web component:default/cart_v2 "
                        "component:default/checkout component:default/cartxv2");
    /* entities without the key come last */
    q.order_key = "spec.system";
    q.order_desc = false;
    assert_string_equal(run_query(f->s, &q, NULL),
                        "component:default/cart_v2 component:default/checkout "
                        "component:default/cartxv2 component:default/web");

    /* limit 0: count only */
    q.order_key = NULL;
    q.limit = 0;
    assert_string_equal(run_query(f->s, &q, &total), "");
    assert_int_equal(total, 4);

    /* everything */
    cw_entity_query all = {.limit = 100};
    run_query(f->s, &all, &total);
    assert_int_equal(total, 7);
}

static void test_query_items_equal_get(void **state)
{
    fx_store *f = *state;
    load_fixture_catalog(f->s);
    tfilter t;
    cw_entity_query q = {0};
    q.filter = mkfilter(&t, "kind=group");
    q.limit = 10;
    cw_entity_page p;
    cw_diag d = {""};
    assert_int_equal(cw_store_entity_query(f->s, &q, &p, &d), CW_OK);
    assert_int_equal(p.len, 2);
    char *text = NULL;
    assert_int_equal(cw_store_entity_get(f->s, "group", "default", "team-a", &text, NULL, &d),
                     CW_OK);
    assert_string_equal(p.items[0], text);
    free(text);
    cw_entity_page_free(&p);
}

static long long facet_count(const json_t *facets, const char *key, const char *value)
{
    size_t i;
    const json_t *o;
    json_array_foreach(json_object_get(facets, key), i, o)
        if (!strcmp(json_string_value(json_object_get(o, "value")), value))
            return json_integer_value(json_object_get(o, "count"));
    return 0;
}

static void test_facets_and_counts(void **state)
{
    fx_store *f = *state;
    load_fixture_catalog(f->s);
    cw_diag d = {""};
    json_t *out = NULL;
    const char *keys[] = {"kind", "spec.type", "metadata.tags", "relations.ownerof"};
    assert_int_equal(cw_store_entity_facets(f->s, keys, 4, NULL, &out, &d), CW_OK);
    /* values in their original case */
    assert_int_equal(facet_count(out, "kind", "Component"), 4);
    assert_int_equal(facet_count(out, "kind", "Group"), 2);
    assert_int_equal(facet_count(out, "kind", "API"), 1);
    assert_int_equal(facet_count(out, "spec.type", "service"), 2);
    assert_int_equal(facet_count(out, "spec.type", "Website"), 1);
    assert_int_equal(facet_count(out, "metadata.tags", "java"), 2);
    assert_int_equal(facet_count(out, "relations.ownerof", "component:default/web"), 1);
    /* the most frequent value first */
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(out, "kind"), 0), "value")),
                        "Component");
    json_decref(out);

    tfilter t;
    const char *k1[] = {"spec.type"};
    assert_int_equal(cw_store_entity_facets(f->s, k1, 1, mkfilter(&t, "metadata.tags=java"),
                                            &out, &d),
                     CW_OK);
    assert_int_equal(json_array_size(json_object_get(out, "spec.type")), 2);
    assert_int_equal(facet_count(out, "spec.type", "service"), 1);
    assert_int_equal(facet_count(out, "spec.type", "library"), 0);
    json_decref(out);

    json_t *counts = NULL;
    assert_int_equal(cw_store_entity_counts(f->s, &counts, &d), CW_OK);
    assert_int_equal(json_object_size(counts), 3);
    assert_int_equal(json_integer_value(json_object_get(counts, "Component")), 4);
    assert_int_equal(json_integer_value(json_object_get(counts, "Group")), 2);
    assert_int_equal(json_integer_value(json_object_get(counts, "API")), 1);
    json_decref(counts);
}

/* The id-set evaluation (filters without text) and the SQL evaluation
 * (used when text is given) must agree on every page; a text matching
 * every entity routes the same query through the second. */
static void test_query_strategies_agree(void **state)
{
    fx_store *f = *state;
    enum { N = 300 };
    json_t *batch[N];
    cw_put_result res[N];
    cw_diag d = {""};
    static const char *const types[] = {"service", "website", "library", "service"};
    for (size_t i = 0; i < N; i++)
        batch[i] = fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Component',"
                             "'metadata':{'name':'item-%03zu','tags':['t%zu','all']},"
                             "'spec':{'type':'%s','lifecycle':'production',"
                             "'owner':'team-%zu'}}",
                             (i * 37) % N, i % 7, types[i % 4], i % 3);
    assert_int_equal(cw_store_entity_put_many(f->s, batch, N, res, &d), CW_OK);
    for (size_t i = 0; i < N; i++)
        json_decref(batch[i]);
    put(f->s, group("team-1"));

    const char *filters[] = {
        "kind=component",                          /* dense */
        "spec.type=service,metadata.tags=t3",      /* AND */
        "metadata.tags=t5;spec.type=website",      /* OR */
        "metadata.tags=t1|t2,spec.type=library",   /* values */
        "relations.ownedby=group:default/team-1",
        "kind=group,relations.ownerof?",           /* incoming relations */
        "metadata.name=item-007",                  /* sparse */
        "spec.type=none",                          /* empty */
    };
    const size_t offsets[] = {0, 1, 7, 40};
    const size_t limits[] = {1, 5, 100};
    const char *afters[] = {NULL, "component:default/item-150"};
    for (size_t fi = 0; fi < sizeof filters / sizeof *filters; fi++)
        for (size_t oi = 0; oi < 4; oi++)
            for (size_t li = 0; li < 3; li++)
                for (size_t ai = 0; ai < 2; ai++)
                    for (int desc = 0; desc < 2; desc++) {
                        tfilter t;
                        cw_entity_query q = {0};
                        q.filter = mkfilter(&t, filters[fi]);
                        q.offset = offsets[oi];
                        q.limit = limits[li];
                        q.after_key = afters[ai];
                        q.order_desc = desc;
                        size_t t1 = 0, t2 = 0;
                        char a[8192];
                        snprintf(a, sizeof a, "%s", run_query(f->s, &q, &t1));
                        q.text = "-"; /* every name has one */
                        const char *b = run_query(f->s, &q, &t2);
                        if (strcmp(a, b) != 0 || t1 != t2)
                            fail_msg("%s offset %zu limit %zu after %s desc %d:\n"
                                     "  %zu: %s\n  %zu: %s",
                                     filters[fi], offsets[oi], limits[li],
                                     afters[ai] ? afters[ai] : "-", desc, t1, a, t2, b);
                    }
    /* and the sizes are right */
    size_t total = 0;
    tfilter t;
    cw_entity_query q = {.limit = 1000};
    q.filter = mkfilter(&t, "spec.type=service");
    run_query(f->s, &q, &total);
    assert_int_equal(total, N / 2);
    q.filter = mkfilter(&t, "metadata.name=item-007");
    assert_string_equal(run_query(f->s, &q, &total), "component:default/item-007");
}

/* A relation seen from both ends (memberOf and hasMember) counts each
 * entity once per value, with or without a filter. */
static void test_facets_over_both_directions(void **state)
{
    fx_store *f = *state;
    put(f->s, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'User',"
                        "'metadata':{'name':'ann'},'spec':{'memberOf':['team-a']}}"));
    put(f->s, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'User',"
                        "'metadata':{'name':'bob'},'spec':{}}"));
    put(f->s, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Group',"
                        "'metadata':{'name':'team-a'},"
                        "'spec':{'type':'team','children':[],'members':['ann','bob']}}"));
    cw_diag d = {""};
    json_t *out = NULL;
    const char *keys[] = {"relations.memberof", "relations.hasmember"};
    assert_int_equal(cw_store_entity_facets(f->s, keys, 2, NULL, &out, &d), CW_OK);
    assert_int_equal(json_array_size(json_object_get(out, "relations.memberof")), 1);
    assert_int_equal(facet_count(out, "relations.memberof", "group:default/team-a"), 2);
    assert_int_equal(json_array_size(json_object_get(out, "relations.hasmember")), 2);
    assert_int_equal(facet_count(out, "relations.hasmember", "user:default/ann"), 1);
    assert_int_equal(facet_count(out, "relations.hasmember", "user:default/bob"), 1);
    json_decref(out);

    tfilter t;
    assert_int_equal(cw_store_entity_facets(f->s, keys, 1, mkfilter(&t, "metadata.name=bob"),
                                            &out, &d),
                     CW_OK);
    assert_int_equal(facet_count(out, "relations.memberof", "group:default/team-a"), 1);
    json_decref(out);
    assert_int_equal(cw_store_entity_facets(f->s, keys, 1, mkfilter(&t, "kind=group"), &out,
                                            &d),
                     CW_OK);
    assert_int_equal(json_array_size(json_object_get(out, "relations.memberof")), 0);
    json_decref(out);
}

/* Values that differ only in case are distinct facet values, each with its
 * own count and original text (Backstage groups by the original value);
 * filters still match them all. */
static void test_facets_keep_case_variants_apart(void **state)
{
    fx_store *f = *state;
    static const char *const types[] = {"Service", "service", "service", "SERVICE"};
    for (size_t i = 0; i < FX_LEN(types); i++)
        put(f->s, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Component',"
                            "'metadata':{'name':'c%zu','tags':['java']},"
                            "'spec':{'type':'%s','lifecycle':'%s','owner':'t'}}",
                            i, types[i], i % 2 ? "production" : "Production"));
    cw_diag d = {""};
    json_t *out = NULL;
    const char *keys[] = {"spec.type", "spec.lifecycle"};
    assert_int_equal(cw_store_entity_facets(f->s, keys, 2, NULL, &out, &d), CW_OK);
    assert_int_equal(json_array_size(json_object_get(out, "spec.type")), 3);
    assert_int_equal(facet_count(out, "spec.type", "service"), 2);
    assert_int_equal(facet_count(out, "spec.type", "Service"), 1);
    assert_int_equal(facet_count(out, "spec.type", "SERVICE"), 1);
    /* the most frequent first, ties in byte order on every backend */
    static const char *const order[] = {"service", "SERVICE", "Service"};
    for (size_t i = 0; i < FX_LEN(order); i++)
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(json_object_get(out, "spec.type"), i), "value")),
                            order[i]);
    assert_int_equal(json_array_size(json_object_get(out, "spec.lifecycle")), 2);
    assert_int_equal(facet_count(out, "spec.lifecycle", "Production"), 2);
    assert_int_equal(facet_count(out, "spec.lifecycle", "production"), 2);
    json_decref(out);

    tfilter t;
    const char *k1[] = {"spec.type"};
    assert_int_equal(cw_store_entity_facets(f->s, k1, 1, mkfilter(&t, "spec.lifecycle=production"),
                                            &out, &d),
                     CW_OK);
    assert_int_equal(facet_count(out, "spec.type", "service"), 2);
    assert_int_equal(facet_count(out, "spec.type", "Service"), 1);
    assert_int_equal(facet_count(out, "spec.type", "SERVICE"), 1);
    json_decref(out);
    assert_int_equal(cw_store_entity_facets(f->s, k1, 1, mkfilter(&t, "metadata.name=c1"),
                                            &out, &d),
                     CW_OK);
    assert_int_equal(json_array_size(json_object_get(out, "spec.type")), 1);
    assert_int_equal(facet_count(out, "spec.type", "service"), 1);
    json_decref(out);
}

/* ---- tests: batches --------------------------------------------------------------------------- */

static void test_put_many_is_all_or_nothing(void **state)
{
    fx_store *f = *state;
    cw_diag d = {""};
    put(f->s, component("existing", "service", "team-a"));
    json_t *batch[3];
    batch[0] = component("first", "service", "team-a");
    batch[1] = component("existing", "website", "team-a");
    /* not an entity the store can key: no metadata.name */
    batch[2] = json_pack("{s:s, s:s, s:{}, s:{}}", "apiVersion", "backstage.io/v1alpha1",
                         "kind", "Component", "metadata", "spec");
    cw_put_result res[3];
    assert_int_not_equal(cw_store_entity_put_many(f->s, batch, 3, res, &d), CW_OK);
    assert_non_null(strstr(d.msg, "entities[2]"));
    assert_null(get(f->s, "component", "default", "first"));
    json_t *e = get(f->s, "component", "default", "existing");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(e, "spec"), "type")), "service");
    json_decref(e);
    for (size_t i = 0; i < 3; i++)
        json_decref(batch[i]);
}

static void test_put_many_statuses(void **state)
{
    fx_store *f = *state;
    cw_diag d = {""};
    enum { N = 500 };
    json_t *batch[N];
    cw_put_result res[N];
    char name[32];
    for (size_t i = 0; i < N; i++) {
        snprintf(name, sizeof name, "svc-%03zu", i);
        batch[i] = component(name, i % 2 ? "service" : "library", "group:default/team-a");
    }
    assert_int_equal(cw_store_entity_put_many(f->s, batch, N, res, &d), CW_OK);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(res[i].status, CW_PUT_CREATED);
    /* again: unchanged, same uids */
    char uid0[40];
    memcpy(uid0, res[0].uid, sizeof uid0);
    assert_int_equal(cw_store_entity_put_many(f->s, batch, N, res, &d), CW_OK);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(res[i].status, CW_PUT_UNCHANGED);
    assert_string_equal(res[0].uid, uid0);
    for (size_t i = 0; i < N; i++)
        json_decref(batch[i]);

    size_t total = 0;
    tfilter t;
    cw_entity_query q = {0};
    q.filter = mkfilter(&t, "spec.type=service");
    run_query(f->s, &q, &total);
    assert_int_equal(total, N / 2);
    put(f->s, group("team-a"));
    json_t *g = get(f->s, "group", "default", "team-a");
    assert_int_equal(json_array_size(json_object_get(g, "relations")), N);
    json_decref(g);
}

/* ---- tests: tokens ------------------------------------------------------------------------------ */

static void sha256_hex(const char *s, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    assert_int_equal(EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL), 1);
    for (size_t i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void test_tokens(void **state)
{
    fx_store *f = *state;
    cw_diag d = {""};
    char h1[65], h2[65];
    sha256_hex("cw_secret_one", h1);
    sha256_hex("cw_secret_two", h2);
    cw_token t1, t2, found;
    assert_int_equal(cw_store_token_create(f->s, "ci", "ingest", "", h1, &t1, &d), CW_OK);
    assert_int_equal(cw_store_token_create(f->s, "alice", "editor", "group:default/team-a",
                                           h2, &t2, &d),
                     CW_OK);
    assert_true(t1.id != t2.id);
    assert_string_equal(t2.role, "editor");
    assert_string_equal(t2.team, "group:default/team-a");
    assert_true(t1.created_at > 0);
    assert_int_equal(t1.last_used_at, 0);
    assert_int_equal(t1.revoked_at, 0);

    /* the store takes hashes, never secrets */
    assert_int_equal(cw_store_token_create(f->s, "x", "admin", "", "cw_secret_three", &t1, &d),
                     CW_ERR_INVALID);
    assert_int_equal(cw_store_token_create(f->s, "dup", "admin", "", h1, &found, &d),
                     CW_ERR_CONFLICT);
    assert_int_equal(cw_store_token_create(f->s, "x", "root", "", h2, &found, &d),
                     CW_ERR_INVALID);

    assert_int_equal(cw_store_token_find(f->s, h2, &found, &d), CW_OK);
    assert_int_equal(found.id, t2.id);
    assert_string_equal(found.name, "alice");

    assert_int_equal(cw_store_token_touch(f->s, t2.id, 1700000000, &d), CW_OK);
    assert_int_equal(cw_store_token_find(f->s, h2, &found, &d), CW_OK);
    assert_int_equal(found.last_used_at, 1700000000);
    assert_int_equal(cw_store_token_touch(f->s, 987654, 1, &d), CW_ERR_NOT_FOUND);

    assert_int_equal(cw_store_token_revoke(f->s, t2.id, 1700000100, &d), CW_OK);
    assert_int_equal(cw_store_token_find(f->s, h2, &found, &d), CW_ERR_NOT_FOUND);
    assert_int_equal(cw_store_token_revoke(f->s, t2.id, 1700000200, &d), CW_OK);
    assert_int_equal(cw_store_token_revoke(f->s, 987654, 1, &d), CW_ERR_NOT_FOUND);

    cw_token *list = NULL;
    size_t n = 0;
    assert_int_equal(cw_store_token_list(f->s, &list, &n, &d), CW_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].name, "ci");
    assert_int_equal(list[0].revoked_at, 0);
    assert_int_equal(list[1].revoked_at, 1700000100); /* the first revocation holds */
    free(list);

    /* issue #10: source prefixes, one per line, kept as given */
    char h3[65];
    sha256_hex("cw_secret_four", h3);
    cw_token t3;
    assert_int_equal(cw_store_token_create_sources(f->s, "pipe", "ingest", "group:default/team-b",
                                                   "/team-b/\nhttps://ci.example/b/", h3, &t3,
                                                   &d),
                     CW_OK);
    assert_string_equal(t3.sources, "/team-b/\nhttps://ci.example/b/");
    assert_int_equal(cw_store_token_find(f->s, h3, &found, &d), CW_OK);
    assert_string_equal(found.sources, "/team-b/\nhttps://ci.example/b/");
    assert_string_equal(found.team, "group:default/team-b");
    assert_int_equal(cw_store_token_find(f->s, h1, &found, &d), CW_OK);
    assert_string_equal(found.sources, "");
    const char *bad[] = {"/a/\n", "\n/a/", "/a/\n\n/b/", "/a/\t"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(cw_store_token_create_sources(f->s, "bad", "ingest", "", bad[i], h2,
                                                       &found, &d),
                         CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "sources: prefix"));
    char *big = malloc(CW_TOKEN_SOURCES_MAX + 1);
    assert_non_null(big);
    memset(big, 'x', CW_TOKEN_SOURCES_MAX);
    big[CW_TOKEN_SOURCES_MAX] = '\0';
    assert_int_equal(cw_store_token_create_sources(f->s, "big", "ingest", "", big, h2, &found, &d),
                     CW_ERR_INVALID);
    free(big);
    assert_int_equal(cw_store_token_list(f->s, &list, &n, &d), CW_OK);
    assert_int_equal(n, 3);
    assert_string_equal(list[2].sources, "/team-b/\nhttps://ci.example/b/");
    free(list);

    if (f->b->raw_int) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM tokens WHERE hash = '%s'", h1);
        assert_int_equal(f->b->raw_int(f->ctx, sql), 1);
        assert_int_equal(f->b->raw_int(f->ctx, "SELECT count(*) FROM tokens WHERE "
                                               "name || role || team || hash LIKE '%secret%'"),
                         0);
    }
}

/* Issue #10: last uses recorded in bulk, the later time winning; with
 * nowait, a lock held elsewhere answers CW_ERR_BUSY at once and the call
 * succeeds once it is gone. */
static void test_token_touch_many(void **state)
{
    fx_store *f = *state;
    cw_diag d = {""};
    char h1[65], h2[65];
    sha256_hex("cw_touch_one", h1);
    sha256_hex("cw_touch_two", h2);
    cw_token t1, t2, found;
    assert_int_equal(cw_store_token_create(f->s, "one", "viewer", "", h1, &t1, &d), CW_OK);
    assert_int_equal(cw_store_token_create(f->s, "two", "viewer", "", h2, &t2, &d), CW_OK);
    cw_token_use u[3] = {{t1.id, 1700000100}, {t2.id, 1700000200}, {987654, 5}};
    assert_int_equal(cw_store_token_touch_many(f->s, u, 3, false, &d), CW_OK);
    assert_int_equal(cw_store_token_find(f->s, h1, &found, &d), CW_OK);
    assert_int_equal(found.last_used_at, 1700000100);
    /* an older figure never replaces a newer one */
    u[0].at = 1700000050;
    u[1].at = 1700000300;
    assert_int_equal(cw_store_token_touch_many(f->s, u, 2, true, &d), CW_OK);
    assert_int_equal(cw_store_token_find(f->s, h1, &found, &d), CW_OK);
    assert_int_equal(found.last_used_at, 1700000100);
    assert_int_equal(cw_store_token_find(f->s, h2, &found, &d), CW_OK);
    assert_int_equal(found.last_used_at, 1700000300);
    assert_int_equal(cw_store_token_touch_many(f->s, NULL, 0, true, &d), CW_OK);

    /* a lock held by another connection (another process's write; a row
     * being revoked) */
    u[0].at = 1700000400;
    sqlite3 *db = NULL;
#ifdef CONWAY_HAVE_PG
    PGconn *pg = NULL;
#endif
    if (f->b == &fx_sqlite_backend) {
        assert_int_equal(sqlite3_open(fx_store_url(f), &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    }
#ifdef CONWAY_HAVE_PG
    else {
        pg = fx_pg_connect(fx_store_url(f));
        PGresult *r = PQexec(pg, "BEGIN; SELECT id FROM tokens FOR UPDATE");
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        PQclear(r);
    }
#endif
    assert_int_equal(cw_store_token_touch_many(f->s, u, 1, true, &d), CW_ERR_BUSY);
    assert_int_equal(cw_store_token_find(f->s, h1, &found, &d), CW_OK); /* reads go on */
    assert_int_equal(found.last_used_at, 1700000100);
    if (db) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(db);
    }
#ifdef CONWAY_HAVE_PG
    if (pg) {
        PQclear(PQexec(pg, "ROLLBACK"));
        PQfinish(pg);
    }
#endif
    assert_int_equal(cw_store_token_touch_many(f->s, u, 1, true, &d), CW_OK);
    assert_int_equal(cw_store_token_find(f->s, h1, &found, &d), CW_OK);
    assert_int_equal(found.last_used_at, 1700000400);
}

/* Issue #10: every Component with its owner and the ids it claims for
 * events, as both backends read them. */
static void test_link_owners(void **state)
{
    fx_store *f = *state;
    cw_diag d = {""};
    put(f->s, group("team-a"));
    put(f->s, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Component',"
                        "'metadata':{'name':'Cart','namespace':'shop','annotations':{"
                        "'conway.dev/service-id':'cart-svc','github.com/project-slug':'Acme/Cart',"
                        "'conway.dev/repository':'acme/cart-repo'}},"
                        "'spec':{'type':'service','lifecycle':'production',"
                        "'owner':'group:default/team-a'}}"));
    put(f->s, component("billing", "service", "user:default/bob"));
    put(f->s, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Component',"
                        "'metadata':{'name':'odd','annotations':{'conway.dev/service-id':'7'}},"
                        "'spec':{'type':'service','lifecycle':'production','owner':'team-a'}}"));
    /* other kinds claim nothing */
    put(f->s, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'API',"
                        "'metadata':{'name':'cart'},"
                        "'spec':{'type':'openapi','lifecycle':'production','owner':'team-a',"
                        "'definition':'x'}}"));
    cw_link_owners o;
    int64_t g1 = -1, g2 = -1;
    assert_int_equal(cw_store_catalog_gen(f->s, &g1, &d), CW_OK);
    assert_int_equal(cw_store_link_owners(f->s, &o, &d), CW_OK);
    assert_int_equal(o.gen, g1);
    assert_int_equal(o.len, 3);
    /* sorted by key */
    assert_string_equal(o.items[0].ref, "component:default/billing");
    assert_string_equal(o.items[0].owner_key, "user:default/bob");
    assert_string_equal(o.items[0].link.name, "billing");
    assert_null(o.items[0].link.service_id);
    assert_null(o.items[0].link.repository);
    assert_null(o.items[0].link.project_slug);
    assert_string_equal(o.items[1].ref, "component:default/odd");
    assert_string_equal(o.items[1].link.service_id, "7");
    assert_string_equal(o.items[2].ref, "component:shop/Cart");
    assert_string_equal(o.items[2].key, "component:shop/cart");
    assert_string_equal(o.items[2].owner_key, "group:default/team-a");
    assert_string_equal(o.items[2].link.name, "Cart");
    assert_string_equal(o.items[2].link.service_id, "cart-svc");
    assert_string_equal(o.items[2].link.repository, "acme/cart-repo");
    assert_string_equal(o.items[2].link.project_slug, "Acme/Cart");
    cw_link_owners_free(&o);
    assert_int_equal(o.len, 0);

    /* the annotation removed: no id any more; the generation moves on */
    put(f->s, fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Component',"
                        "'metadata':{'name':'odd','annotations':{'x':'y'}},"
                        "'spec':{'type':'service','lifecycle':'production','owner':'team-a'}}"));
    assert_int_equal(cw_store_catalog_gen(f->s, &g2, &d), CW_OK);
    assert_true(g2 > g1);
    assert_int_equal(cw_store_link_owners(f->s, &o, &d), CW_OK);
    assert_int_equal(o.gen, g2);
    assert_int_equal(o.len, 3);
    assert_null(o.items[1].link.service_id);
    cw_link_owners_free(&o);
}

/* ---- tests: durability and concurrency ------------------------------------------------------ */

static void test_persistence_and_idempotent_migrations(void **state)
{
    fx_store *f = *state;
    cw_diag d = {""};
    put(f->s, component("svc", "service", "team-a"));
    put(f->s, group("team-a"));
    int v1 = 0, v2 = 0;
    assert_int_equal(cw_store_schema_version(f->s, &v1, &d), CW_OK);
    for (int i = 0; i < 3; i++) {
        cw_store_close(f->s);
        f->s = fx_store_open(fx_store_url(f));
        assert_int_equal(cw_store_schema_version(f->s, &v2, &d), CW_OK);
        assert_int_equal(v1, v2);
        json_t *g = get(f->s, "group", "default", "team-a");
        assert_non_null(g);
        assert_int_equal(count_rel(g, "ownerOf", "component:default/svc"), 1);
        json_decref(g);
    }
    /* writes work after reopening: data and indexes intact */
    put_expect(f->s, component("svc", "service", "team-a"), NULL, CW_PUT_UNCHANGED);
    assert_string_equal(filter_keys(f->s, "spec.type=service"), "component:default/svc");
}

static void test_write_is_visible_to_another_connection(void **state)
{
    fx_store *f = *state;
    put(f->s, component("svc", "service", "team-a"));
    /* a second, independent handle (as the CLI next to a server) */
    cw_store *other = fx_store_open(fx_store_url(f));
    json_t *e = get(other, "component", "default", "svc");
    assert_non_null(e);
    json_decref(e);
    if (f->b->raw_int)
        assert_int_equal(
            f->b->raw_int(f->ctx, "SELECT count(*) FROM entities "
                                  "WHERE key = 'component:default/svc'"),
            1);
    /* a write through the other handle is seen here, not a cached copy */
    json_t *cached = get(f->s, "component", "default", "svc");
    json_decref(cached);
    put(other, component("svc", "website", "team-b"));
    e = get(f->s, "component", "default", "svc");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(e, "spec"), "type")), "website");
    json_decref(e);
    json_t *g = NULL;
    put(other, group("team-b"));
    g = get(f->s, "group", "default", "team-b");
    assert_int_equal(count_rel(g, "ownerOf", "component:default/svc"), 1);
    json_decref(g);
    cw_store_close(other);
}

/* The rendered-entity cache must notice commits made by another process. */
static void test_cache_sees_other_process_writes(void **state)
{
    fx_store *f = *state;
    put(f->s, component("svc", "service", "team-a"));
    json_t *e = get(f->s, "component", "default", "svc"); /* now cached */
    json_decref(e);
    e = get(f->s, "component", "default", "svc");
    json_decref(e);
    for (int round = 0; round < 3; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            cw_store *s = NULL;
            cw_diag d = {""};
            if (cw_store_open(fx_store_url(f), NULL, &s, &d) != CW_OK)
                _exit(2);
            cw_put_result r;
            json_t *n = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:s}}", "apiVersion",
                                  "backstage.io/v1alpha1", "kind", "Component", "metadata",
                                  "name", "svc", "spec", "type",
                                  round == 1 ? "website" : "library", "lifecycle",
                                  "production", "owner", "team-b");
            char h[65];
            memset(h, 'a' + round, 64);
            h[64] = '\0';
            cw_token tok;
            /* round 2 writes something else first: the cache must survive it
             * only while entities are unchanged */
            if (round == 2 && cw_store_token_create(s, "t", "viewer", "", h, &tok, &d))
                _exit(3);
            if (!n || cw_entity_validate(n, &d) || cw_store_entity_put(s, n, NULL, &r, &d))
                _exit(4);
            json_decref(n);
            cw_store_close(s);
            _exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        e = get(f->s, "component", "default", "svc");
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(e, "spec"), "type")),
            round == 1 ? "website" : "library");
        json_decref(e);
        json_t *g = NULL;
        put(f->s, group("team-b"));
        g = get(f->s, "group", "default", "team-b");
        assert_int_equal(count_rel(g, "ownerOf", "component:default/svc"), 1);
        json_decref(g);
    }
    /* a write that does not touch entities keeps the answers right too */
    char h[65];
    memset(h, 'e', 64);
    h[64] = '\0';
    cw_token tok;
    cw_diag d = {""};
    assert_int_equal(cw_store_token_create(f->s, "x", "viewer", "", h, &tok, &d), CW_OK);
    e = get(f->s, "component", "default", "svc");
    assert_non_null(e);
    json_decref(e);
}

static void test_read_only_open(void **state)
{
    fx_store *f = *state;
    put(f->s, component("svc", "service", "team-a"));
    cw_store *ro = NULL;
    cw_diag d = {""};
    cw_store_options opt = {.read_only = true};
    assert_int_equal(cw_store_open(fx_store_url(f), &opt, &ro, &d), CW_OK);
    json_t *e = get(ro, "component", "default", "svc");
    assert_non_null(e);
    json_decref(e);
    json_t *w = component("other", "service", "team-a");
    cw_put_result r;
    assert_int_not_equal(cw_store_entity_put(ro, w, NULL, &r, &d), CW_OK);
    json_decref(w);
    assert_null(get(f->s, "component", "default", "other"));
    cw_store_close(ro);
}

/* SQLite only: a database written by a newer conway is refused, not
 * "migrated" backwards; read-only opening never creates a file. */
static void test_sqlite_schema_guards(void **state)
{
    fx_store *f = *state;
    if (strcmp(f->b->name, "sqlite") != 0)
        skip();
    int v = 0;
    cw_diag d = {""};
    assert_int_equal(cw_store_schema_version(f->s, &v, &d), CW_OK);
    cw_store_close(f->s);
    f->s = NULL;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(fx_store_url(f), &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    cw_store *s = NULL;
    assert_int_equal(cw_store_open(fx_store_url(f), NULL, &s, &d), CW_ERR_UNSUPPORTED);
    assert_non_null(strstr(d.msg, "999"));
    cw_store_options ro = {.read_only = true};
    assert_int_equal(cw_store_open(fx_store_url(f), &ro, &s, &d), CW_ERR_UNSUPPORTED);
    assert_null(s);
    /* put it back so teardown and later opens work */
    assert_int_equal(sqlite3_open(fx_store_url(f), &db), SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    f->s = fx_store_open(fx_store_url(f));

    char missing[400];
    snprintf(missing, sizeof missing, "%s.absent", fx_store_url(f));
    assert_int_not_equal(cw_store_open(missing, &ro, &s, &d), CW_OK);
    assert_int_equal(access(missing, F_OK), -1);
}

/* A child process writes entities one by one and acknowledges each after
 * put returns; it is killed with SIGKILL at an arbitrary point. Every
 * acknowledged entity must be in the database afterwards. */
static void test_acknowledged_writes_survive_kill9(void **state)
{
    fx_store *f = *state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        cw_store *s = NULL;
        cw_diag d = {""};
        if (cw_store_open(fx_store_url(f), NULL, &s, &d) != CW_OK)
            _exit(2);
        for (int i = 0; i < 10000; i++) {
            char name[32];
            snprintf(name, sizeof name, "k-%d", i);
            json_t *e = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:s}}", "apiVersion",
                                  "backstage.io/v1alpha1", "kind", "Component", "metadata",
                                  "name", name, "spec", "type", "service", "lifecycle",
                                  "production", "owner", "group:default/team-a");
            cw_put_result r;
            if (!e || cw_entity_validate(e, &d) != CW_OK ||
                cw_store_entity_put(s, e, NULL, &r, &d) != CW_OK)
                _exit(3);
            json_decref(e);
            char ack = 'a';
            if (write(fds[1], &ack, 1) != 1)
                _exit(4);
        }
        _exit(0);
    }
    close(fds[1]);
    int acked = 0;
    char ack;
    while (acked < 25 && read(fds[0], &ack, 1) == 1)
        acked++;
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    /* drain acks written before the kill landed */
    while (read(fds[0], &ack, 1) == 1)
        acked++;
    close(fds[0]);
    assert_true(acked >= 25);

    cw_store_close(f->s);
    f->s = fx_store_open(fx_store_url(f));
    for (int i = 0; i < acked; i++) {
        char name[32];
        snprintf(name, sizeof name, "k-%d", i);
        json_t *e = get(f->s, "component", "default", name);
        if (!e)
            fail_msg("acknowledged entity %s lost after kill -9", name);
        json_decref(e);
    }
    if (f->b->raw_int && !strcmp(f->b->name, "sqlite"))
        assert_int_equal(f->b->raw_int(f->ctx, "SELECT count(*) FROM pragma_integrity_check "
                                               "WHERE integrity_check <> 'ok'"),
                         0);
}

typedef struct {
    cw_store *s;
    int id;
    int n;
    int errors;
    volatile int *stop;
    char msg[512];
} worker;

static void *writer_main(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < w->n; i++) {
        char name[32];
        snprintf(name, sizeof name, "w%d-%d", w->id, i);
        cw_diag d = {""};
        json_t *e = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:s}}", "apiVersion",
                              "backstage.io/v1alpha1", "kind", "Component", "metadata",
                              "name", name, "spec", "type", "service", "lifecycle",
                              "production", "owner", i % 2 ? "team-a" : "team-b");
        cw_put_result r;
        cw_err err = cw_entity_validate(e, &d);
        if (!err)
            err = cw_store_entity_put(w->s, e, NULL, &r, &d);
        json_decref(e);
        if (err) {
            w->errors++;
            snprintf(w->msg, sizeof w->msg, "%s", d.msg);
        }
    }
    return NULL;
}

static void *reader_main(void *arg)
{
    worker *w = arg;
    while (!*w->stop) {
        cw_diag d = {""};
        char *text = NULL;
        cw_err err = cw_store_entity_get(w->s, "group", "default", "team-a", &text, NULL, &d);
        free(text);
        if (err) {
            w->errors++;
            snprintf(w->msg, sizeof w->msg, "get: %.500s", d.msg);
        }
        const char *vals[] = {"group:default/team-a"};
        cw_filter_cond cond = {"relations.ownedby", vals, 1};
        cw_filter_clause cl = {&cond, 1};
        cw_filter flt = {&cl, 1};
        cw_entity_query q = {.filter = &flt, .limit = 20};
        cw_entity_page p;
        err = cw_store_entity_query(w->s, &q, &p, &d);
        if (err) {
            w->errors++;
            snprintf(w->msg, sizeof w->msg, "query: %.500s", d.msg);
        } else {
            cw_entity_page_free(&p);
        }
        w->n++;
    }
    return NULL;
}

static void test_concurrent_writers_and_readers(void **state)
{
    fx_store *f = *state;
    put(f->s, group("team-a"));
    /* a second handle plays another process writing the same file */
    cw_store *other = fx_store_open(fx_store_url(f));
    enum { NW = 4, NR = 3, PER = 25 };
    worker ws[NW + NR];
    pthread_t th[NW + NR];
    volatile int stop = 0;
    memset(ws, 0, sizeof ws);
    for (int i = 0; i < NW + NR; i++) {
        ws[i].s = i == NW - 1 ? other : f->s;
        ws[i].id = i;
        ws[i].n = i < NW ? PER : 0;
        ws[i].stop = &stop;
        assert_int_equal(pthread_create(&th[i], NULL, i < NW ? writer_main : reader_main,
                                        &ws[i]),
                         0);
    }
    for (int i = 0; i < NW; i++)
        pthread_join(th[i], NULL);
    stop = 1;
    for (int i = NW; i < NW + NR; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < NW + NR; i++)
        if (ws[i].errors)
            fail_msg("thread %d: %d errors, last: %s", i, ws[i].errors, ws[i].msg);
    for (int i = NW; i < NW + NR; i++)
        assert_true(ws[i].n > 0);
    cw_store_close(other);

    size_t total = 0;
    cw_entity_query q = {.limit = 0};
    run_query(f->s, &q, &total);
    assert_int_equal(total, NW * PER + 1);
    json_t *g = get(f->s, "group", "default", "team-a");
    /* odd-numbered entities of each writer are owned by team-a */
    assert_int_equal(json_array_size(json_object_get(g, "relations")), NW * (PER / 2));
    json_decref(g);
}

/* ---- main ---------------------------------------------------------------------------------------- */

#define T(fn) FX_STORE_TEST(fn)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_open_reports_health),
        T(test_postgres_url_dispatch),
        T(test_put_statuses_uid_and_etag),
        T(test_put_sets_uid_and_etag_on_the_input),
        T(test_body_round_trips),
        T(test_if_match),
        T(test_names_are_unique_ignoring_case),
        T(test_get_rejects_bad_arguments),
        T(test_delete_then_not_found),
        T(test_relations_dangling_then_resolved),
        T(test_relations_follow_spec_changes),
        T(test_relations_sorted_and_deduplicated),
        T(test_query_filters),
        T(test_query_text_is_literal_and_case_insensitive),
        T(test_query_order_paging_and_total),
        T(test_query_items_equal_get),
        T(test_query_strategies_agree),
        T(test_facets_and_counts),
        T(test_facets_over_both_directions),
        T(test_facets_keep_case_variants_apart),
        T(test_put_many_is_all_or_nothing),
        T(test_put_many_statuses),
        T(test_tokens),
        T(test_token_touch_many),
        T(test_link_owners),
        T(test_persistence_and_idempotent_migrations),
        T(test_write_is_visible_to_another_connection),
        T(test_cache_sees_other_process_writes),
        T(test_read_only_open),
        T(test_sqlite_schema_guards),
        T(test_acknowledged_writes_survive_kill9),
        T(test_concurrent_writers_and_readers),
    };
    return fx_run_backends("store conformance", tests, FX_LEN(tests));
}
