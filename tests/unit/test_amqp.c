/*
 * test_amqp.c — the CloudEvents AMQP binding decoder of the RabbitMQ
 * consumer (cw_amqp_decode, pure): structured, batch, binary with both
 * property prefixes, plain JSON and NDJSON; mismatches and broken messages
 * are errors naming the attribute; and the consumer's configuration checks.
 * The consumer against a real broker is tested in tests/api/amqp.test.mjs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#ifdef CONWAY_HAVE_AMQP
#include "ingest/amqp.h"

static const char *cdevent_json(const char *id)
{
    static char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"context\":{\"specversion\":\"0.5.1\",\"id\":\"%s\",\"source\":\"/ci\","
             "\"type\":\"dev.cdevents.service.deployed.0.3.0\","
             "\"timestamp\":\"2024-01-02T03:04:05Z\"},"
             "\"subject\":{\"id\":\"svc\",\"content\":{\"environment\":{\"id\":\"prod\"},"
             "\"artifactId\":\"pkg:oci/svc@sha256%%3A00\"}}}",
             id);
    return buf;
}

static cw_err decode(const char *ct, const cw_header *props, size_t n, const char *body,
                     cw_event_batch *out, cw_diag *d)
{
    return cw_amqp_decode(ct, props, n, body, strlen(body), NULL, out, d);
}

static void test_plain_json_without_content_type(void **state)
{
    (void)state;
    cw_event_batch b;
    cw_diag d = {""};
    assert_int_equal(decode(NULL, NULL, 0, cdevent_json("e-1"), &b, &d), CW_OK);
    assert_int_equal(b.len, 1);
    assert_string_equal(b.items[0].id, "e-1");
    assert_string_equal(b.items[0].source, "/ci");
    cw_event_batch_free(&b);
    /* an array of CDEvents is a batch too */
    char arr[2200];
    int n = snprintf(arr, sizeof arr, "[%s,", cdevent_json("a"));
    snprintf(arr + n, sizeof arr - (size_t)n, "%s]", cdevent_json("b"));
    assert_int_equal(decode("application/json", NULL, 0, arr, &b, &d), CW_OK);
    assert_int_equal(b.len, 2);
    assert_string_equal(b.items[1].id, "b");
    cw_event_batch_free(&b);
}

static void test_ndjson(void **state)
{
    (void)state;
    char body[2200];
    int n = snprintf(body, sizeof body, "%s\n", cdevent_json("x"));
    snprintf(body + n, sizeof body - (size_t)n, "%s\n", cdevent_json("y"));
    cw_event_batch b;
    cw_diag d = {""};
    assert_int_equal(decode("application/x-ndjson", NULL, 0, body, &b, &d), CW_OK);
    assert_int_equal(b.len, 2);
    cw_event_batch_free(&b);
}

static void test_structured(void **state)
{
    (void)state;
    char body[1500];
    snprintf(body, sizeof body,
             "{\"specversion\":\"1.0\",\"id\":\"s-1\",\"source\":\"/ci\","
             "\"type\":\"dev.cdevents.service.deployed.0.3.0\","
             "\"datacontenttype\":\"application/json\",\"data\":%s}",
             cdevent_json("s-1"));
    cw_event_batch b;
    cw_diag d = {""};
    assert_int_equal(decode("application/cloudevents+json; charset=utf-8", NULL, 0, body, &b,
                            &d),
                     CW_OK);
    assert_int_equal(b.len, 1);
    assert_string_equal(b.items[0].id, "s-1");
    cw_event_batch_free(&b);
    /* structured with the wrong id is refused, naming the attribute */
    snprintf(body, sizeof body,
             "{\"specversion\":\"1.0\",\"id\":\"other\",\"source\":\"/ci\","
             "\"type\":\"dev.cdevents.service.deployed.0.3.0\",\"data\":%s}",
             cdevent_json("s-1"));
    assert_int_equal(decode("application/cloudevents+json", NULL, 0, body, &b, &d),
                     CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "id"));
    assert_int_equal(b.len, 0);
}

static void test_binary_both_prefixes(void **state)
{
    (void)state;
    const char *prefixes[] = {"cloudEvents:", "cloudEvents_"};
    for (size_t i = 0; i < 2; i++) {
        char names[4][64];
        const char *attrs[] = {"specversion", "id", "source", "type"};
        const char *vals[] = {"1.0", "b-1", "/ci", "dev.cdevents.service.deployed.0.3.0"};
        cw_header props[5];
        for (size_t k = 0; k < 4; k++) {
            snprintf(names[k], sizeof names[k], "%s%s", prefixes[i], attrs[k]);
            props[k] = (cw_header){names[k], vals[k]};
        }
        props[4] = (cw_header){"x-unrelated", "1"};
        cw_event_batch b;
        cw_diag d = {""};
        assert_int_equal(decode("application/json", props, 5, cdevent_json("b-1"), &b, &d),
                         CW_OK);
        assert_int_equal(b.len, 1);
        assert_string_equal(b.items[0].id, "b-1");
        cw_event_batch_free(&b);
        /* the binding's attributes must agree with the CDEvent */
        props[1].value = "b-2";
        assert_int_equal(decode("application/json", props, 5, cdevent_json("b-1"), &b, &d),
                         CW_ERR_INVALID);
        assert_non_null(strstr(d.msg, "ce-id"));
        /* binary mode needs the required attributes */
        assert_int_equal(decode(NULL, props, 1, cdevent_json("b-1"), &b, &d), CW_ERR_INVALID);
    }
}

static void test_malformed(void **state)
{
    (void)state;
    cw_event_batch b;
    cw_diag d = {""};
    assert_int_equal(decode("application/json", NULL, 0, "not json", &b, &d), CW_ERR_INVALID);
    assert_int_equal(decode("text/xml", NULL, 0, "<x/>", &b, &d), CW_ERR_UNSUPPORTED);
    assert_int_equal(decode("application/json", NULL, 0, "{\"context\":{}}", &b, &d),
                     CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "events[0]."));
    assert_int_equal(b.len, 0);
}

static void test_config_is_checked(void **state)
{
    (void)state;
    cw_amqp *a = (cw_amqp *)1;
    cw_diag d = {""};
    cw_amqp_config c = {.url = "http://host/"};
    assert_int_equal(cw_amqp_start(&c, NULL, &a, &d), CW_ERR_INVALID);
    assert_null(a);
    assert_non_null(strstr(d.msg, "--amqp"));
    c.url = "amqps://host/";
    assert_int_equal(cw_amqp_start(&c, NULL, &a, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "TLS"));
    c.url = "amqp://guest:guest@host:notaport/";
    assert_int_equal(cw_amqp_start(&c, NULL, &a, &d), CW_ERR_INVALID);
    c.url = "amqp://guest:guest@127.0.0.1:5672/";
    c.queue = "amq.reserved";
    assert_int_equal(cw_amqp_start(&c, NULL, &a, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "--amqp-queue"));
    c.queue = "";
    assert_int_equal(cw_amqp_start(&c, NULL, &a, &d), CW_ERR_INVALID);
    assert_string_equal(cw_amqp_state_name(CW_AMQP_UP), "up");
    assert_string_equal(cw_amqp_state_name(CW_AMQP_DOWN), "down");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_json_without_content_type),
        cmocka_unit_test(test_ndjson),
        cmocka_unit_test(test_structured),
        cmocka_unit_test(test_binary_both_prefixes),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_config_is_checked),
    };
    return cmocka_run_group_tests_name("amqp decoding", tests, NULL, NULL);
}

#else

int main(void)
{
    printf("test_amqp: built without librabbitmq: skipped\n");
    return 0;
}

#endif
