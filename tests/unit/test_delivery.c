/*
 * test_delivery.c — DORA's rules over stored rows, without a database: the
 * rows a store would stream are fed straight into the delivery collector
 * (insights/delivery.h), then into cw_dora_compute. Which environments are
 * production, which rows are deployments or rollbacks and of which
 * component, how change events aggregate into changes (also across several
 * repository keys) and attach to deployments, which event opens and
 * resolves an incident and for which component, and what a scoped load
 * keeps. The store's half (the same rows read from SQLite and PostgreSQL)
 * is test_store_events.c's conformance case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "catalog/scope.h"
#include "events/events.h"
#include "insights/delivery.h"
#include "insights/dora.h"

#define H 3600000LL
#define DAY (24 * H)
#define T0 1717200000000LL /* 2024-06-01T00:00:00Z */

/* Store ids as a store would give them: entities 11..13, link keys
 * 1 (svc-cart), 2 (repo org/cart), 3 (repo acme/cart-slug), 4 (svc-api),
 * 5 (svc-legacy: no component), 6 (svc-other: a component outside the
 * scope); environments 1 prod, 2 production, 3 staging, 4 prod-eu. */
enum { E_API = 11, E_BILLING = 12, E_CART = 13 };
enum { L_CART = 1, L_CART_REPO = 2, L_CART_SLUG = 3, L_API = 4, L_LEGACY = 5, L_OTHER = 6 };
enum { ENV_PROD = 1, ENV_PRODUCTION = 2, ENV_STAGING = 3, ENV_PROD_EU = 4 };

typedef struct {
    const cw_delivery_sink *sink;
    cw_delivery_collector *c;
    cw_diag d;
} feed;

static void ok(cw_err err, feed *f)
{
    if (err)
        fail_msg("sink: %s", f->d.msg);
}

/* begin, components (in key order: api, billing, cart), bounds, links and
 * environments, as a store streams them. in_scope: which entities the scan
 * covers (a scoped store lists only those). */
static void start(feed *f, const cw_delivery_query *q, const int *in_scope, size_t n)
{
    memset(f, 0, sizeof *f);
    f->sink = cw_delivery_collector_sink();
    assert_int_equal(cw_delivery_collector_new(q, &f->c, &f->d), CW_OK);
    ok(f->sink->begin(f->c, &f->d), f);
    static const struct {
        int id;
        const char *ref, *owner;
    } comps[] = {{E_API, "component:default/api", "group:default/team-a"},
                 {E_BILLING, "component:default/billing", "group:default/team-b"},
                 {E_CART, "component:default/cart", NULL}};
    for (size_t i = 0; i < 3; i++)
        for (size_t k = 0; k < n; k++)
            if (in_scope[k] == comps[i].id)
                ok(f->sink->component(f->c, comps[i].id, comps[i].ref, comps[i].owner, &f->d), f);
    ok(f->sink->bounds(f->c, 6, 4, &f->d), f);
    static const struct {
        int link, entity, kind;
    } links[] = {{L_CART, E_CART, CW_LINK_SERVICE},
                 {L_CART_REPO, E_CART, CW_LINK_REPOSITORY},
                 {L_CART_SLUG, E_CART, CW_LINK_REPOSITORY},
                 {L_API, E_API, CW_LINK_SERVICE},
                 {L_OTHER, 99, CW_LINK_SERVICE}};
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        bool wanted = true;
        ok(f->sink->link(f->c, links[i].link, links[i].entity, links[i].kind, &wanted, &f->d), f);
        bool covered = false;
        for (size_t k = 0; k < n; k++)
            covered = covered || in_scope[k] == links[i].entity;
        assert_int_equal(wanted, covered);
    }
    const char *envs[] = {NULL, "prod", "production", "staging", "prod-eu"};
    for (int e = 1; e <= 4; e++)
        ok(f->sink->environment(f->c, e, envs[e], &f->d), f);
}

static cw_delivery_text txt(const char *s)
{
    return (cw_delivery_text){s, s ? strlen(s) : 0};
}

static void service(feed *f, int64_t link, int kind, int64_t t, int64_t env, const char *artifact,
                    const char *changes)
{
    cw_delivery_service_row r = {.link = link, .kind = kind, .time_ms = t, .env = env,
                                 .artifact = txt(artifact), .changes = changes};
    ok(f->sink->service(f->c, &r, &f->d), f);
}

static void change(feed *f, int64_t link, const char *id, int kind, int64_t t)
{
    cw_delivery_subject_row r = {.link = link, .kind = kind, .time_ms = t, .subject = txt(id)};
    ok(f->sink->change(f->c, &r, &f->d), f);
}

static void incident(feed *f, int64_t link, const char *id, int kind, int64_t t,
                     const char *artifact)
{
    cw_delivery_subject_row r = {.link = link, .kind = kind, .time_ms = t, .subject = txt(id),
                                 .artifact = txt(artifact)};
    ok(f->sink->incident(f->c, &r, &f->d), f);
}

static cw_delivery_data finish(feed *f)
{
    cw_delivery_data dd;
    assert_int_equal(cw_delivery_collector_finish(f->c, &dd, &f->d), CW_OK);
    cw_delivery_collector_free(f->c);
    f->c = NULL;
    return dd;
}

static const int ALL[] = {E_API, E_BILLING, E_CART};

static void test_production_environments(void **state)
{
    (void)state;
    cw_delivery_query q = {.what = CW_DELIVERY_ALL};
    feed f;
    start(&f, &q, ALL, 3);
    service(&f, L_CART, CW_EVK_DEPLOYED, T0, ENV_PROD, NULL, NULL);
    service(&f, L_CART, CW_EVK_UPGRADED, T0 + H, ENV_PRODUCTION, NULL, NULL);
    service(&f, L_CART, CW_EVK_DEPLOYED, T0 + 2 * H, ENV_STAGING, NULL, NULL);
    service(&f, L_CART, CW_EVK_DEPLOYED, T0 + 3 * H, ENV_PROD_EU, NULL, NULL);
    service(&f, L_CART, CW_EVK_DEPLOYED, T0 + 4 * H, 0, NULL, NULL); /* no environment */
    service(&f, L_CART, CW_EVK_ROLLEDBACK, T0 + 5 * H, ENV_STAGING, NULL, NULL);
    cw_delivery_data dd = finish(&f);
    /* default "prod*": prod, production, prod-eu */
    assert_int_equal(dd.in.ndeployments, 3);
    assert_int_equal(dd.in.deployments[2].time_ms, T0 + 3 * H);
    assert_int_equal(dd.in.nrollbacks, 0);
    cw_delivery_data_free(&dd);

    /* the caller's pattern decides, at read time */
    q.production_env = "staging";
    start(&f, &q, ALL, 3);
    service(&f, L_CART, CW_EVK_DEPLOYED, T0, ENV_PROD, NULL, NULL);
    service(&f, L_CART, CW_EVK_DEPLOYED, T0 + 2 * H, ENV_STAGING, NULL, NULL);
    service(&f, L_CART, CW_EVK_ROLLEDBACK, T0 + 5 * H, ENV_STAGING, NULL, NULL);
    dd = finish(&f);
    assert_int_equal(dd.in.ndeployments, 1);
    assert_int_equal(dd.in.deployments[0].time_ms, T0 + 2 * H);
    assert_int_equal(dd.in.nrollbacks, 1);
    assert_int_equal(dd.in.rollbacks[0].component, 2);
    cw_delivery_data_free(&dd);

    /* a bad pattern is refused before any scan */
    cw_delivery_collector *c = NULL;
    cw_diag d = {""};
    q.production_env = "\x01";
    assert_int_equal(cw_delivery_collector_new(&q, &c, &d), CW_ERR_INVALID);
    assert_null(c);
    assert_non_null(strstr(d.msg, "production environment pattern"));
}

static void test_deployments_and_components(void **state)
{
    (void)state;
    cw_delivery_query q = {.what = CW_DELIVERY_DEPLOYMENTS};
    feed f;
    start(&f, &q, ALL, 3);
    service(&f, L_API, CW_EVK_DEPLOYED, T0, ENV_PROD, "pkg:oci/api@1", "[\"pr-1\",7,\"pr-2\"]");
    service(&f, L_CART, CW_EVK_DEPLOYED, T0 + H, ENV_PROD, NULL, "not json");
    service(&f, L_LEGACY, CW_EVK_DEPLOYED, T0, ENV_PROD, NULL, NULL); /* no component */
    service(&f, L_OTHER, CW_EVK_DEPLOYED, T0, ENV_PROD, NULL, NULL);  /* not in the load */
    service(&f, 0, CW_EVK_DEPLOYED, T0, ENV_PROD, NULL, NULL);        /* no link key */
    service(&f, L_CART, CW_EVK_ROLLEDBACK, T0 + 2 * H, ENV_PROD, NULL, NULL); /* not asked */
    cw_delivery_data dd = finish(&f);
    assert_int_equal(dd.ncomponents, 3);
    assert_string_equal(dd.component_refs[2], "component:default/cart");
    assert_string_equal(dd.owner_refs[0], "group:default/team-a");
    assert_null(dd.owner_refs[2]);
    assert_int_equal(dd.in.ndeployments, 2);
    assert_int_equal(dd.in.deployments[0].component, 0);
    assert_string_equal(dd.in.deployments[0].artifact_id, "pkg:oci/api@1");
    /* explicit changes: the strings of customData.changes */
    assert_int_equal(dd.in.deployments[0].nchange_ids, 2);
    assert_string_equal(dd.in.deployments[0].change_ids[1], "pr-2");
    /* not interpretable: implicit attribution */
    assert_int_equal(dd.in.deployments[1].component, 2);
    assert_int_equal(dd.in.deployments[1].nchange_ids, 0);
    assert_null(dd.in.deployments[1].artifact_id);
    assert_int_equal(dd.in.nrollbacks, 0);
    cw_delivery_data_free(&dd);
}

static void test_changes_aggregate(void **state)
{
    (void)state;
    cw_delivery_query q = {.what = CW_DELIVERY_ALL};
    feed f;
    start(&f, &q, ALL, 3);
    /* rows in (link, subject) order, as the store sends them; pr-5 is
     * created under one repository key and merged under the other */
    change(&f, L_CART_REPO, "pr-1", CW_EVK_CHANGE_CREATED, T0 - 3 * DAY);
    change(&f, L_CART_REPO, "pr-1", CW_EVK_CHANGE_MERGED, T0 - DAY);
    change(&f, L_CART_REPO, "pr-1", CW_EVK_CHANGE_MERGED, T0 - 2 * DAY); /* earliest wins */
    change(&f, L_CART_REPO, "pr-5", CW_EVK_CHANGE_CREATED, T0 - 2 * DAY);
    change(&f, L_CART_SLUG, "pr-5", CW_EVK_CHANGE_MERGED, T0 + 2 * H);
    change(&f, L_CART_SLUG, "pr-9", CW_EVK_CHANGE_MERGED, 0); /* the epoch instant */
    change(&f, L_LEGACY, "pr-3", CW_EVK_CHANGE_MERGED, T0);    /* unknown repository */
    cw_delivery_data dd = finish(&f);
    assert_int_equal(dd.in.nchanges, 3);
    assert_string_equal(dd.in.changes[0].change_id, "pr-1");
    assert_int_equal(dd.in.changes[0].created_ms, T0 - 3 * DAY);
    assert_int_equal(dd.in.changes[0].merged_ms, T0 - 2 * DAY);
    assert_string_equal(dd.in.changes[1].change_id, "pr-5");
    assert_int_equal(dd.in.changes[1].created_ms, T0 - 2 * DAY);
    assert_int_equal(dd.in.changes[1].merged_ms, T0 + 2 * H);
    assert_int_equal(dd.in.changes[2].merged_ms, 1); /* 0 means unknown: moved by 1 ms */
    assert_int_equal(dd.in.changes[2].component, 2);
    cw_delivery_data_free(&dd);
}

static void test_incidents(void **state)
{
    (void)state;
    cw_delivery_query q = {.what = CW_DELIVERY_ALL};
    feed f;
    start(&f, &q, ALL, 3);
    /* INC-1: opened by the first detected/reported, resolved by the latest
     * resolved; its component and artifact from the earliest events naming
     * them, whichever order the rows come in */
    incident(&f, 0, "INC-1", CW_EVK_INCIDENT_RESOLVED, T0 + 3 * H, NULL);
    incident(&f, L_API, "INC-1", CW_EVK_INCIDENT_REPORTED, T0 + 2 * H + 1, "pkg:oci/api@2");
    incident(&f, L_CART, "INC-1", CW_EVK_INCIDENT_DETECTED, T0 + 2 * H, "pkg:oci/cart@1");
    incident(&f, 0, "INC-1", CW_EVK_INCIDENT_RESOLVED, T0 + 4 * H, NULL);
    /* INC-2 names no component; INC-3 one outside the load */
    incident(&f, L_LEGACY, "INC-2", CW_EVK_INCIDENT_DETECTED, T0 + 5 * H, NULL);
    incident(&f, L_OTHER, "INC-3", CW_EVK_INCIDENT_DETECTED, T0 + 6 * H, NULL);
    cw_delivery_data dd = finish(&f);
    /* org: every incident is kept, -1 when it names no component of it */
    assert_int_equal(dd.in.nincidents, 3);
    const cw_dora_incident *i1 = &dd.in.incidents[0];
    assert_string_equal(i1->incident_id, "INC-1");
    assert_int_equal(i1->component, 2);
    assert_int_equal(i1->start_ms, T0 + 2 * H);
    assert_int_equal(i1->resolved_ms, T0 + 4 * H);
    assert_string_equal(i1->artifact_id, "pkg:oci/cart@1");
    assert_int_equal(dd.in.incidents[1].component, -1);
    assert_int_equal(dd.in.incidents[1].resolved_ms, 0); /* open */
    assert_int_equal(dd.in.incidents[2].component, -1);
    cw_delivery_data_free(&dd);

    /* scoped to the api component: only incidents of its components stay */
    cw_scope sc = {CW_SCOPE_COMPONENT, "component:default/api"};
    q.scope = &sc;
    const int api[] = {E_API};
    start(&f, &q, api, 1);
    incident(&f, L_CART, "INC-1", CW_EVK_INCIDENT_DETECTED, T0 + 2 * H, NULL);
    incident(&f, L_API, "INC-4", CW_EVK_INCIDENT_DETECTED, T0 + 2 * H, NULL);
    incident(&f, L_LEGACY, "INC-2", CW_EVK_INCIDENT_DETECTED, T0 + 5 * H, NULL);
    dd = finish(&f);
    assert_int_equal(dd.ncomponents, 1);
    assert_int_equal(dd.in.nincidents, 1);
    assert_string_equal(dd.in.incidents[0].incident_id, "INC-4");
    assert_int_equal(dd.in.incidents[0].component, 0);
    cw_delivery_data_free(&dd);
}

/* A store that retries its transaction begins again: rows before the
 * second begin are forgotten. */
static void test_begin_again_starts_over(void **state)
{
    (void)state;
    cw_delivery_query q = {.what = CW_DELIVERY_ALL};
    feed f;
    start(&f, &q, ALL, 3);
    service(&f, L_CART, CW_EVK_DEPLOYED, T0, ENV_PROD, NULL, NULL);
    change(&f, L_CART_REPO, "pr-1", CW_EVK_CHANGE_MERGED, T0 - DAY);
    ok(f.sink->begin(f.c, &f.d), &f);
    ok(f.sink->component(f.c, E_CART, "component:default/cart", NULL, &f.d), &f);
    ok(f.sink->bounds(f.c, 6, 4, &f.d), &f);
    bool wanted = false;
    ok(f.sink->link(f.c, L_CART, E_CART, CW_LINK_SERVICE, &wanted, &f.d), &f);
    assert_true(wanted);
    ok(f.sink->environment(f.c, ENV_PROD, "prod", &f.d), &f);
    service(&f, L_CART, CW_EVK_DEPLOYED, T0 + H, ENV_PROD, NULL, NULL);
    cw_delivery_data dd = finish(&f);
    assert_int_equal(dd.ncomponents, 1);
    assert_int_equal(dd.in.ndeployments, 1);
    assert_int_equal(dd.in.deployments[0].time_ms, T0 + H);
    assert_int_equal(dd.in.deployments[0].component, 0);
    assert_int_equal(dd.in.nchanges, 0);
    cw_delivery_data_free(&dd);

    /* finishing without a scan is an error, not an empty answer */
    cw_delivery_collector *c = NULL;
    assert_int_equal(cw_delivery_collector_new(&q, &c, &f.d), CW_OK);
    assert_int_equal(cw_delivery_collector_finish(c, &dd, &f.d), CW_ERR_INVALID);
    cw_delivery_collector_free(c);
}

/* End to end: rows -> collector -> DORA. cart: d1 ships pr-1 explicitly
 * (3 days), d2 ships pr-2 implicitly (23 h) and pr-5 (created under one
 * key, merged under another: 3 days); d1 failed (INC-1 names its
 * artifact), d2 failed (rolled back before the next deployment). */
static void test_rows_to_dora(void **state)
{
    (void)state;
    cw_scope sc = {CW_SCOPE_COMPONENT, "component:default/cart"};
    cw_delivery_query q = {.scope = &sc, .what = CW_DELIVERY_ALL};
    const int cart[] = {E_CART};
    feed f;
    start(&f, &q, cart, 1);
    service(&f, L_CART, CW_EVK_DEPLOYED, T0, ENV_PROD, "pkg:oci/cart@1", "[\"pr-1\"]");
    service(&f, L_CART, CW_EVK_DEPLOYED, T0 + DAY, ENV_PRODUCTION, "pkg:oci/cart@2", NULL);
    service(&f, L_CART, CW_EVK_ROLLEDBACK, T0 + DAY + H, ENV_PROD, NULL, NULL);
    service(&f, L_CART, CW_EVK_DEPLOYED, T0 - H, ENV_STAGING, NULL, NULL);
    change(&f, L_CART_REPO, "pr-1", CW_EVK_CHANGE_CREATED, T0 - 3 * DAY);
    change(&f, L_CART_REPO, "pr-1", CW_EVK_CHANGE_MERGED, T0 - DAY);
    change(&f, L_CART_REPO, "pr-2", CW_EVK_CHANGE_MERGED, T0 + H);
    change(&f, L_CART_REPO, "pr-5", CW_EVK_CHANGE_CREATED, T0 - 2 * DAY);
    change(&f, L_CART_SLUG, "pr-5", CW_EVK_CHANGE_MERGED, T0 + 2 * H);
    incident(&f, L_CART, "INC-1", CW_EVK_INCIDENT_DETECTED, T0 + 2 * H, "pkg:oci/cart@1");
    incident(&f, 0, "INC-1", CW_EVK_INCIDENT_RESOLVED, T0 + 3 * H, NULL);
    cw_delivery_data dd = finish(&f);
    cw_dora_params p = {.from_ms = T0 - DAY, .to_ms = T0 + 2 * DAY, .failure_window_hours = 24};
    cw_dora_result r;
    cw_diag d = {""};
    assert_int_equal(cw_dora_compute(&dd.in, &p, &r, &d), CW_OK);
    assert_int_equal(r.deployments, 2);
    assert_int_equal(r.lead_time_count, 3);
    assert_true(r.lead_time_p50_s == 3 * 86400.0);
    assert_int_equal(r.failed_deployments, 2);
    assert_int_equal(r.ttr_count, 1);
    assert_true(r.ttr_p50_s == 3600.0);
    assert_int_equal(r.open_incidents, 0);
    cw_dora_result_free(&r);
    cw_delivery_data_free(&dd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_production_environments),
        cmocka_unit_test(test_deployments_and_components),
        cmocka_unit_test(test_changes_aggregate),
        cmocka_unit_test(test_incidents),
        cmocka_unit_test(test_begin_again_starts_over),
        cmocka_unit_test(test_rows_to_dora),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
