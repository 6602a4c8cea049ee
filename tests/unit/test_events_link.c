/*
 * test_events_link.c — linking events to catalog components (service id
 * annotation, metadata.name, last path segment; repositories), keys that
 * several components claim (issue #10), the index that resolves both, and
 * the --production-env pattern.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "events/events.h"

static cw_event decode_json(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!j)
        fail_msg("bad test JSON: %s", je.text);
    cw_event ev;
    cw_diag d = {""};
    if (cw_cdevent_decode(j, &ev, &d))
        fail_msg("decode: %s", d.msg);
    json_decref(j);
    return ev;
}

static bool same(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

static const char *or_null(const char *s) { return s ? s : "(null)"; }

static void test_service_key(void **state)
{
    (void)state;
    /* Each event's subject (JSON) and the whole key it must give. */
    static const struct {
        const char *type;
        const char *subject;
        cw_link_kind kind;
        const char *service_id, *last_segment, *repository_id;
    } cases[] = {
        {"dev.cdevents.service.deployed.0.3.0",
         "{\"id\":\"clusterA/ns/checkout\",\"content\":{\"environment\":{\"id\":\"prod\"},"
         "\"artifactId\":\"pkg:oci/checkout@sha256:1\"}}",
         CW_LINK_SERVICE, "clusterA/ns/checkout", "checkout", NULL},
        /* No '/' or a trailing '/': no last-segment fallback. */
        {"dev.cdevents.service.removed.0.3.0", "{\"id\":\"a/\",\"content\":{}}", CW_LINK_SERVICE,
         "a/", NULL, NULL},
        /* Incidents link through content.service.id, not their own subject id. */
        {"dev.cdevents.incident.detected.0.3.0",
         "{\"id\":\"inc-1\",\"content\":{\"environment\":{\"id\":\"prod\"},"
         "\"service\":{\"id\":\"payments\"}}}",
         CW_LINK_SERVICE, "payments", NULL, NULL},
        {"dev.cdevents.incident.detected.0.3.0",
         "{\"id\":\"inc-1\",\"content\":{\"environment\":{\"id\":\"prod\"}}}", CW_LINK_NONE, NULL,
         NULL, NULL},
        {"dev.cdevents.change.merged.0.3.0",
         "{\"id\":\"pr-9\",\"content\":{\"repository\":{\"id\":\"acme/payments\"}}}",
         CW_LINK_REPOSITORY, NULL, NULL, "acme/payments"},
        {"dev.cdevents.build.started.0.3.0", "{\"id\":\"b\",\"content\":{}}", CW_LINK_NONE, NULL,
         NULL, NULL},
        {"dev.cdeventsx.tool-service.deployed.0.1.0", "{\"id\":\"x\",\"content\":{}}",
         CW_LINK_NONE, NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "{\"context\":{\"specversion\":\"0.5.1\",\"id\":\"1\",\"source\":\"/s\","
                 "\"type\":\"%s\",\"timestamp\":\"2024-05-01T10:00:00Z\"},\"subject\":%s}",
                 cases[i].type, cases[i].subject);
        cw_event ev = decode_json(text);
        cw_event_link_key k;
        cw_event_service_key(&ev, &k);
        if (k.kind != cases[i].kind || !same(k.service_id, cases[i].service_id) ||
            !same(k.last_segment, cases[i].last_segment) ||
            !same(k.repository_id, cases[i].repository_id))
            fail_msg("case %zu (%s): kind %d, service %s, last segment %s, repository %s", i,
                     cases[i].type, (int)k.kind, or_null(k.service_id),
                     or_null(k.last_segment), or_null(k.repository_id));
        cw_event_free(&ev);
    }
}

static void test_link_match_rules(void **state)
{
    (void)state;
    const cw_link_component comps[] = {
        {"checkout", NULL, NULL, NULL, NULL},               /* 0: name = last segment */
        {"clusterA/ns/checkout", NULL, NULL, NULL, NULL},   /* 1: not a valid name, but the rule */
        {"billing", "clusterA/ns/checkout", NULL, NULL, NULL}, /* 2: annotation */
        {"Payments", NULL, "Acme/Payments", NULL, NULL},    /* 3 */
        {"web", NULL, NULL, "acme/web", NULL},              /* 4 */
    };
    /* each rule alone links */
    cw_event_link_key k = {CW_LINK_SERVICE, "clusterA/ns/checkout", "checkout", NULL};
    assert_int_equal(cw_link_match(&k, comps + 2, 1), 0); /* the annotation */
    assert_int_equal(cw_link_match(&k, comps + 1, 1), 0); /* the full name */
    assert_int_equal(cw_link_match(&k, comps, 1), 0);     /* the last segment */
    /* Issue #10: a key several components claim links to none of them (an
     * annotation no longer wins over another component's name: that was
     * how one team took over another's events) */
    assert_int_equal(cw_link_match(&k, comps, 5), CW_LINK_AMBIGUOUS);
    assert_int_equal(cw_link_match(&k, comps, 2), CW_LINK_AMBIGUOUS);
    assert_int_equal(cw_link_match(&k, comps + 1, 2), CW_LINK_AMBIGUOUS);
    cw_event_link_key k2 = {CW_LINK_SERVICE, "PAYMENTS", NULL, NULL};
    assert_int_equal(cw_link_match(&k2, comps, 5), 3); /* names ignore case */
    cw_event_link_key k3 = {CW_LINK_SERVICE, "unknown/thing", "thing", NULL};
    assert_int_equal(cw_link_match(&k3, comps, 5), -1);
    cw_event_link_key r = {CW_LINK_REPOSITORY, NULL, NULL, "acme/payments"};
    assert_int_equal(cw_link_match(&r, comps, 5), 3);
    r.repository_id = "acme/web";
    assert_int_equal(cw_link_match(&r, comps, 5), 4);
    r.repository_id = "acme/none";
    assert_int_equal(cw_link_match(&r, comps, 5), -1);
    /* Annotations compare exactly for service ids (names ignore case). */
    cw_event_link_key k4 = {CW_LINK_SERVICE, "CLUSTERA/ns/checkout", "checkout", NULL};
    assert_int_equal(cw_link_match(&k4, comps + 1, 2), 0);
    assert_int_equal(cw_link_match(&k4, comps + 2, 1), -1);
    /* A service named by its repository (webhooks): the repository
     * annotations, GitLab's slug too, are ids a service key matches. */
    const cw_link_component hosted[] = {
        {"shop", NULL, NULL, NULL, NULL},                 /* 0: by the last segment */
        {"storefront", NULL, NULL, "Acme/Shop", NULL},    /* 1: by its GitHub slug */
        {"basket", NULL, NULL, NULL, "group/sub/basket"}, /* 2: by its GitLab slug */
    };
    cw_event_link_key gh = {CW_LINK_SERVICE, "acme/shop", "shop", NULL};
    assert_int_equal(cw_link_match(&gh, hosted + 1, 1), 0);
    assert_int_equal(cw_link_match(&gh, hosted, 2), CW_LINK_AMBIGUOUS);
    cw_event_link_key gl = {CW_LINK_SERVICE, "Group/Sub/Basket", "Basket", NULL};
    assert_int_equal(cw_link_match(&gl, hosted, 3), 2);
    cw_event_link_key glr = {CW_LINK_REPOSITORY, NULL, NULL, "group/sub/basket"};
    assert_int_equal(cw_link_match(&glr, hosted, 3), 2);
    cw_event_link_key none = {CW_LINK_NONE, NULL, NULL, NULL};
    assert_int_equal(cw_link_match(&none, comps, 5), -1);
    /* one component claiming a key twice is not a conflict */
    const cw_link_component self[] = {{"cart", "cart", "org/cart", "ORG/CART", NULL}};
    cw_event_link_key kc;
    cw_link_key_of(CW_LINK_SERVICE, "cart", &kc);
    assert_int_equal(cw_link_match(&kc, self, 1), 0);
    cw_link_key_of(CW_LINK_REPOSITORY, "Org/Cart", &kc);
    assert_int_equal(cw_link_match(&kc, self, 1), 0);
}

static void test_link_overlap(void **state)
{
    (void)state;
    static const struct {
        cw_link_component a, b;
        bool overlap;
        cw_link_kind kind;
        const char *value;
    } cases[] = {
        /* the take-over of issue #10: an annotation naming another's service */
        {{"mine", "payments", NULL, NULL, NULL}, {"payments", NULL, NULL, NULL, NULL}, true, CW_LINK_SERVICE,
         "payments"},
        {{"payments", NULL, NULL, NULL, NULL}, {"mine", "payments", NULL, NULL, NULL}, true, CW_LINK_SERVICE,
         "payments"},
        /* ... or another's annotation, or the path whose last segment is its name */
        {{"a", "svc-1", NULL, NULL, NULL}, {"b", "svc-1", NULL, NULL, NULL}, true, CW_LINK_SERVICE, "svc-1"},
        {{"a", "k8s/prod/payments", NULL, NULL, NULL}, {"payments", NULL, NULL, NULL, NULL}, true,
         CW_LINK_SERVICE, "k8s/prod/payments"},
        {{"payments", NULL, NULL, NULL, NULL}, {"a", "k8s/prod/payments", NULL, NULL, NULL}, true,
         CW_LINK_SERVICE, "k8s/prod/payments"},
        /* an annotation in another case than a name: an event with the
         * annotation's spelling matches both */
        {{"a", "Payments", NULL, NULL, NULL}, {"payments", NULL, NULL, NULL, NULL}, true, CW_LINK_SERVICE,
         "Payments"},
        /* the same name in two namespaces */
        {{"api", NULL, NULL, NULL, NULL}, {"API", NULL, NULL, NULL, NULL}, true, CW_LINK_SERVICE, "api"},
        /* repositories and slugs, ignoring case, across the two annotations */
        {{"a", NULL, "org/repo", NULL, NULL}, {"b", NULL, NULL, "Org/Repo", NULL}, true, CW_LINK_REPOSITORY,
         "org/repo"},
        {{"a", NULL, NULL, "org/x", NULL}, {"b", NULL, NULL, "org/x", NULL}, true, CW_LINK_REPOSITORY,
         "org/x"},
        /* no shared key */
        {{"a", "svc-a", "org/a", "org/a", NULL}, {"b", "svc-b", "org/b", NULL, NULL}, false, CW_LINK_NONE,
         NULL},
        /* annotations compare exactly with each other */
        {{"a", "Svc", NULL, NULL, NULL}, {"b", "svc", NULL, NULL, NULL}, false, CW_LINK_NONE, NULL},
        /* a last segment never matches a last segment */
        {{"a", "x/payments", NULL, NULL, NULL}, {"b", "y/payments", NULL, NULL, NULL}, false, CW_LINK_NONE,
         NULL},
        /* a repository annotation is an id service keys match too (webhooks
         * name a deployment by its repository), so a service id equal to
         * another's repository is claimed twice */
        {{"a", "org/c", NULL, NULL, NULL}, {"b", NULL, "org/c", NULL, NULL}, true, CW_LINK_SERVICE,
         "org/c"},
        /* GitLab's slug counts like GitHub's */
        {{"a", NULL, NULL, NULL, "grp/sub/p"}, {"b", NULL, "Grp/Sub/P", NULL, NULL}, true,
         CW_LINK_REPOSITORY, "grp/sub/p"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cw_link_clash c = {CW_LINK_NONE, NULL};
        bool got = cw_link_overlap(&cases[i].a, &cases[i].b, &c);
        if (got != cases[i].overlap)
            fail_msg("case %zu: overlap %d, expected %d", i, got, cases[i].overlap);
        if (!got)
            continue;
        if (c.kind != cases[i].kind || !same(c.value, cases[i].value))
            fail_msg("case %zu: clash %d '%s', expected %d '%s'", i, (int)c.kind,
                     or_null(c.value), (int)cases[i].kind, cases[i].value);
        /* and the key named really matches both */
        cw_event_link_key k;
        cw_link_key_of(c.kind, c.value, &k);
        assert_int_equal(cw_link_match(&k, &cases[i].a, 1), 0);
        assert_int_equal(cw_link_match(&k, &cases[i].b, 1), 0);
    }
}

static void test_link_overlaps_lists_every_key(void **state)
{
    (void)state;
    const cw_link_component a = {"a", "pay", NULL, "org/x", NULL}, b = {"pay", NULL, "org/X", NULL, NULL};
    cw_link_clash k[8];
    assert_int_equal(cw_link_overlaps(&a, &b, k, 8), 6);
    assert_int_equal(k[0].kind, CW_LINK_SERVICE);
    assert_string_equal(k[0].value, "pay");      /* a's service id, b's name */
    assert_int_equal(k[1].kind, CW_LINK_REPOSITORY);
    assert_string_equal(k[1].value, "org/x");    /* a's slug, b's repository */
    assert_int_equal(k[2].kind, CW_LINK_SERVICE);
    assert_string_equal(k[2].value, "org/x");    /* the same as a service key */
    assert_string_equal(k[3].value, "pay");      /* b's name, a's service id */
    assert_string_equal(k[4].value, "org/X");
    assert_int_equal(k[5].kind, CW_LINK_SERVICE);
    assert_int_equal(cw_link_overlaps(&a, &b, k, 1), 6); /* counts beyond max */
    const cw_link_component c = {"c", NULL, NULL, NULL, NULL};
    assert_int_equal(cw_link_overlaps(&a, &c, k, 8), 0);
}

/* The index answers exactly as the linear rules do, over a small universe
 * of names and ids where every kind of collision happens. */
static void test_link_index_agrees(void **state)
{
    (void)state;
    static const char *const names[] = {"pay", "PAY", "web", "x", "a/pay"};
    static const char *const sids[] = {NULL, "pay", "Pay", "k/pay", "svc-1", "k/web", "a/pay"};
    static const char *const repos[] = {NULL, "org/pay", "ORG/PAY", "org/web"};
    enum { NC = 7 };
    cw_link_component comps[NC];
    unsigned seed = 7;
    for (int round = 0; round < 400; round++) {
        for (int i = 0; i < NC; i++) {
            seed = seed * 1103515245u + 12345u;
            comps[i].name = names[(seed >> 8) % 5];
            comps[i].service_id = sids[(seed >> 12) % 7];
            comps[i].repository = repos[(seed >> 16) % 4];
            comps[i].project_slug = repos[(seed >> 20) % 4];
            comps[i].gitlab_slug = repos[(seed >> 28) % 4];
        }
        size_t n = 1 + (size_t)(seed >> 24) % NC;
        cw_link_index *x = NULL;
        assert_int_equal(cw_link_index_new(&x), CW_OK);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(cw_link_index_add(x, (int64_t)i * 10, &comps[i]), CW_OK);
        const char *values[] = {"pay", "PAY", "Pay", "k/pay", "z/pay", "svc-1", "web", "k/web",
                                "a/pay", "x", "nothing", "org/pay", "Org/Web"};
        for (size_t v = 0; v < sizeof values / sizeof values[0]; v++)
            for (int kind = CW_LINK_SERVICE; kind <= CW_LINK_REPOSITORY; kind++) {
                cw_event_link_key k;
                cw_link_key_of((cw_link_kind)kind, values[v], &k);
                long lin = cw_link_match(&k, comps, n);
                bool oom = false;
                int64_t idx = cw_link_index_resolve(x, &k, &oom);
                assert_false(oom);
                int64_t want = lin >= 0 ? lin * 10 : lin;
                if (idx != want)
                    fail_msg("round %d, %s %s: index %lld, rules %ld", round,
                             kind == CW_LINK_SERVICE ? "service" : "repository", values[v],
                             (long long)idx, lin);
            }
        /* clashes: the index finds one exactly when some pair overlaps */
        for (size_t i = 0; i < n; i++) {
            bool any = false;
            for (size_t j = 0; j < n; j++)
                any = any || (j != i && cw_link_overlap(&comps[i], &comps[j], NULL));
            int64_t other = -1;
            cw_link_clash c;
            assert_int_equal(cw_link_index_clash(x, (int64_t)i * 10, &comps[i], &other, &c),
                             CW_OK);
            if ((other >= 0) != any)
                fail_msg("round %d, component %zu: clash %lld, overlap %d", round, i,
                         (long long)other, any);
            if (other >= 0) {
                assert_true(other % 10 == 0 && other / 10 != (int64_t)i);
                assert_true(cw_link_overlap(&comps[i], &comps[other / 10], NULL));
            }
        }
        cw_link_index_free(x);
    }
}

static void test_link_component_of(void **state)
{
    (void)state;
    json_t *e = json_loads("{\"kind\":\"Component\",\"metadata\":{\"name\":\"cart\","
                           "\"annotations\":{\"conway.dev/service-id\":\"cart-svc\","
                           "\"github.com/project-slug\":\"acme/cart\","
                           "\"conway.dev/repository\":5}}}",
                           0, NULL);
    assert_non_null(e);
    cw_link_component c;
    cw_link_component_of(e, &c);
    assert_string_equal(c.name, "cart");
    assert_string_equal(c.service_id, "cart-svc");
    assert_null(c.repository); /* not a string */
    assert_string_equal(c.project_slug, "acme/cart");
    json_decref(e);
}

static void test_production_pattern(void **state)
{
    (void)state;
    /* Default: ids that start with "prod", ignoring case. */
    assert_true(cw_env_is_production("prod", NULL));
    assert_true(cw_env_is_production("Production", ""));
    assert_true(cw_env_is_production("PROD-eu-1", NULL));
    assert_false(cw_env_is_production("preprod", NULL));
    assert_false(cw_env_is_production("staging", NULL));
    assert_false(cw_env_is_production(NULL, NULL));
    /* Globs and lists. */
    assert_true(cw_env_is_production("eu-live", "*-live"));
    assert_false(cw_env_is_production("eu-live-2", "*-live"));
    assert_true(cw_env_is_production("eu-live-2", "*-live*"));
    assert_true(cw_env_is_production("p1", "p?"));
    assert_false(cw_env_is_production("p12", "p?"));
    assert_true(cw_env_is_production("main", "prod*, main ,live"));
    assert_true(cw_env_is_production("LIVE", "prod*, main ,live"));
    assert_false(cw_env_is_production("dev", "prod*, main ,live"));
    assert_true(cw_env_is_production("anything", "*"));
    assert_false(cw_env_is_production("x", ","));
    /* Backtracking with several stars stays correct. */
    assert_true(cw_env_is_production("aXbXc", "a*b*c"));
    assert_false(cw_env_is_production("aXbXd", "a*b*c"));
    assert_true(cw_env_is_production("abcabcabd", "*abd"));

    cw_diag d = {""};
    assert_int_equal(cw_env_pattern_validate("prod*,live", &d), CW_OK);
    assert_int_equal(cw_env_pattern_validate(NULL, &d), CW_OK);
    assert_int_equal(cw_env_pattern_validate(" , ", &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "production-env: no pattern given");
    assert_int_equal(cw_env_pattern_validate("a\tb\n", &d), CW_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_service_key),
        cmocka_unit_test(test_link_match_rules),
        cmocka_unit_test(test_link_overlap),
        cmocka_unit_test(test_link_overlaps_lists_every_key),
        cmocka_unit_test(test_link_index_agrees),
        cmocka_unit_test(test_link_component_of),
        cmocka_unit_test(test_production_pattern),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
