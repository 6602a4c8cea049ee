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

#define CTX(type) \
    "\"context\":{\"specversion\":\"0.5.1\",\"id\":\"1\",\"source\":\"/s\",\"type\":\"" type \
    "\",\"timestamp\":\"2024-05-01T10:00:00Z\"}"

static void test_service_key(void **state)
{
    (void)state;
    cw_event_link_key k;
    cw_event ev = decode_json("{" CTX("dev.cdevents.service.deployed.0.3.0") ",\"subject\":{\"id\":"
                              "\"clusterA/ns/checkout\",\"content\":{\"environment\":{\"id\":\"prod"
                              "\"},\"artifactId\":\"pkg:oci/checkout@sha256:1\"}}}");
    cw_event_service_key(&ev, &k);
    assert_int_equal(k.kind, CW_LINK_SERVICE);
    assert_string_equal(k.service_id, "clusterA/ns/checkout");
    assert_string_equal(k.last_segment, "checkout");
    cw_event_free(&ev);

    /* No '/' or a trailing '/': no last-segment fallback. */
    ev = decode_json("{" CTX("dev.cdevents.service.removed.0.3.0") ",\"subject\":{\"id\":\"a/\","
                     "\"content\":{}}}");
    cw_event_service_key(&ev, &k);
    assert_int_equal(k.kind, CW_LINK_SERVICE);
    assert_null(k.last_segment);
    cw_event_free(&ev);

    /* Incidents link through content.service.id, not their own subject id. */
    ev = decode_json("{" CTX("dev.cdevents.incident.detected.0.3.0") ",\"subject\":{\"id\":\"inc-1\","
                     "\"content\":{\"environment\":{\"id\":\"prod\"},\"service\":{\"id\":\"pay"
                     "ments\"}}}}");
    cw_event_service_key(&ev, &k);
    assert_int_equal(k.kind, CW_LINK_SERVICE);
    assert_string_equal(k.service_id, "payments");
    cw_event_free(&ev);
    ev = decode_json("{" CTX("dev.cdevents.incident.detected.0.3.0") ",\"subject\":{\"id\":\"inc-1\","
                     "\"content\":{\"environment\":{\"id\":\"prod\"}}}}");
    cw_event_service_key(&ev, &k);
    assert_int_equal(k.kind, CW_LINK_NONE);
    cw_event_free(&ev);

    ev = decode_json("{" CTX("dev.cdevents.change.merged.0.3.0") ",\"subject\":{\"id\":\"pr-9\","
                     "\"content\":{\"repository\":{\"id\":\"acme/payments\"}}}}");
    cw_event_service_key(&ev, &k);
    assert_int_equal(k.kind, CW_LINK_REPOSITORY);
    assert_string_equal(k.repository_id, "acme/payments");
    cw_event_free(&ev);

    ev = decode_json("{" CTX("dev.cdevents.build.started.0.3.0") ",\"subject\":{\"id\":\"b\","
                     "\"content\":{}}}");
    cw_event_service_key(&ev, &k);
    assert_int_equal(k.kind, CW_LINK_NONE);
    cw_event_free(&ev);

    ev = decode_json("{" CTX("dev.cdeventsx.tool-service.deployed.0.1.0") ",\"subject\":{\"id\":\"x\","
                     "\"content\":{}}}");
    cw_event_service_key(&ev, &k);
    assert_int_equal(k.kind, CW_LINK_NONE);
    cw_event_free(&ev);
}

static void test_link_match_precedence(void **state)
{
    (void)state;
    const cw_link_component comps[] = {
        {"checkout", NULL, NULL, NULL},               /* 0: name = last segment */
        {"clusterA/ns/checkout", NULL, NULL, NULL},   /* 1: not a valid name, but test order */
        {"billing", "clusterA/ns/checkout", NULL, NULL}, /* 2: annotation */
        {"Payments", NULL, "Acme/Payments", NULL},    /* 3 */
        {"web", NULL, NULL, "acme/web"},              /* 4 */
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
