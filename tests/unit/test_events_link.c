/*
 * test_events_link.c — linking events to catalog components (service id
 * annotation, metadata.name, last path segment; repositories) and the
 * --production-env pattern.
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

static void test_link_match_precedence(void **state)
{
    (void)state;
    const cw_link_component comps[] = {
        {"checkout", NULL, NULL, NULL, NULL},             /* 0: name = last segment */
        {"clusterA/ns/checkout", NULL, NULL, NULL, NULL}, /* 1: not a valid name, but test order */
        {"billing", "clusterA/ns/checkout", NULL, NULL, NULL}, /* 2: annotation */
        {"Payments", NULL, "Acme/Payments", NULL, NULL},  /* 3 */
        {"web", NULL, NULL, "acme/web", NULL},        /* 4 */
    };
    cw_event_link_key k = {CW_LINK_SERVICE, "clusterA/ns/checkout", "checkout", NULL};
    assert_int_equal(cw_link_match(&k, comps, 5), 2); /* annotation wins */
    assert_int_equal(cw_link_match(&k, comps, 2), 1); /* then the full name */
    assert_int_equal(cw_link_match(&k, comps, 1), 0); /* then the last segment */
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
    assert_int_equal(cw_link_match(&k4, comps, 5), 1);
    assert_int_equal(cw_link_match(&k4, comps + 2, 1), -1);
    /* A service named by its repository (webhooks): the repository and
     * slug annotations, GitLab's too, come before names. */
    const cw_link_component hosted[] = {
        {"shop", NULL, NULL, NULL, NULL},                 /* 0: the last segment */
        {"storefront", NULL, NULL, "Acme/Shop", NULL},    /* 1: GitHub slug */
        {"basket", NULL, NULL, NULL, "group/sub/basket"}, /* 2: GitLab slug */
        {"other", "acme/shop", NULL, NULL, NULL},         /* 3: service-id, exact */
    };
    cw_event_link_key gh = {CW_LINK_SERVICE, "acme/shop", "shop", NULL};
    assert_int_equal(cw_link_match(&gh, hosted, 4), 3);
    assert_int_equal(cw_link_match(&gh, hosted, 3), 1);
    assert_int_equal(cw_link_match(&gh, hosted, 1), 0);
    cw_event_link_key gl = {CW_LINK_SERVICE, "Group/Sub/Basket", "Basket", NULL};
    assert_int_equal(cw_link_match(&gl, hosted, 4), 2);
    cw_event_link_key glr = {CW_LINK_REPOSITORY, NULL, NULL, "group/sub/basket"};
    assert_int_equal(cw_link_match(&glr, hosted, 4), 2);
    cw_event_link_key none = {CW_LINK_NONE, NULL, NULL, NULL};
    assert_int_equal(cw_link_match(&none, comps, 5), -1);
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
        cmocka_unit_test(test_link_match_precedence),
        cmocka_unit_test(test_production_pattern),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
