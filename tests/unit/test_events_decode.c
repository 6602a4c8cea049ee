/*
 * test_events_decode.c — CDEvents decoding: every conformance example of the
 * CDEvents spec (tests/data/cdevents) through plain JSON, NDJSON and the
 * three CloudEvents HTTP modes (wrappers built here), plus the rejections
 * with the field named in the detail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/events.h"
#include "util/buf.h"
#include "util/timeutil.h"

#define CDEVENTS_DIR CONWAY_TEST_DATA "/cdevents"
#define MAX_FILES 64

typedef struct {
    char name[64];  /* "service_deployed" */
    json_t *json;
    char *text;     /* compact JSON */
} sample;

static sample samples[MAX_FILES];
static size_t nsamples;

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const sample *)a)->name, ((const sample *)b)->name);
}

static int load_samples(void **state)
{
    (void)state;
    DIR *dir = opendir(CDEVENTS_DIR);
    if (!dir)
        return -1;
    struct dirent *de;
    while ((de = readdir(dir)) && nsamples < MAX_FILES) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", CDEVENTS_DIR, de->d_name);
        json_error_t je;
        json_t *j = json_load_file(path, 0, &je);
        if (!j)
            return -1;
        sample *s = &samples[nsamples++];
        snprintf(s->name, sizeof s->name, "%.*s", (int)(n - 5), de->d_name);
        s->json = j;
        s->text = json_dumps(j, JSON_COMPACT);
    }
    closedir(dir);
    qsort(samples, nsamples, sizeof *samples, cmp_name);
    return 0;
}

static int free_samples(void **state)
{
    (void)state;
    for (size_t i = 0; i < nsamples; i++) {
        json_decref(samples[i].json);
        free(samples[i].text);
    }
    return 0;
}

static const char *ctx_str(const json_t *ev, const char *key)
{
    return json_string_value(json_object_get(json_object_get(ev, "context"), key));
}

/* The CloudEvent of a CDEvent per the CDEvents binding (standards.md §1.7). */
static json_t *structured(const json_t *ev)
{
    const json_t *subj = json_object_get(ev, "subject");
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:O}", "specversion", "1.0", "id",
                     ctx_str(ev, "id"), "source", ctx_str(ev, "source"), "type",
                     ctx_str(ev, "type"), "subject",
                     json_string_value(json_object_get(subj, "id")), "time",
                     ctx_str(ev, "timestamp"), "datacontenttype", "application/json", "data", ev);
}

/* Percent-encodes like a binary-mode sender must (standards.md §2.2). */
static void pct_encode(const char *s, char *out, size_t cap)
{
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && k + 4 < cap; p++) {
        if (*p <= 0x20 || *p >= 0x7f || *p == '"' || *p == '%' || *p == '/')
            k += (size_t)snprintf(out + k, cap - k, "%%%02X", *p);
        else
            out[k++] = (char)*p;
    }
    out[k] = '\0';
}

static cw_err decode(const char *ct, const cw_header_array *hdrs, const char *body,
                     cw_event_batch *b, cw_diag *d)
{
    cw_header_lookup lk = {cw_header_array_get, (void *)hdrs};
    return cw_events_decode_http(ct, hdrs ? &lk : NULL, body, strlen(body), NULL, b, d);
}

/* Checks what the decoder extracted from sample s. */
static void check_event(const sample *s, const cw_event *ev)
{
    assert_string_equal(ev->id, ctx_str(s->json, "id"));
    assert_string_equal(ev->source, ctx_str(s->json, "source"));
    assert_string_equal(ev->type, ctx_str(s->json, "type"));
    assert_string_equal(ev->spec_version, "0.5.1");
    int64_t t;
    assert_true(cw_time_parse_rfc3339(ctx_str(s->json, "timestamp"), &t));
    assert_int_equal(ev->time_ms, t);
    assert_non_null(ev->raw);
    assert_true(json_equal(ev->raw, s->json));
    if (strcmp(s->name, "custom_conformance") == 0) {
        assert_true(ev->custom);
        assert_false(ev->known);
        assert_string_equal(ev->subject_kind, "");
        assert_string_equal(ev->predicate, "");
        return;
    }
    if (!ev->known)
        fail_msg("%s: not known", s->name);
    char kind[128];
    snprintf(kind, sizeof kind, "%s_%s", ev->subject_kind, ev->predicate);
    assert_string_equal(kind, s->name);
}

/* Decodes body as ct (with hdrs) and checks that it gives the n samples
 * from first on, in order. */
static void expect_samples(const char *ct, const cw_header_array *hdrs, const char *body,
                           const sample *first, size_t n)
{
    cw_event_batch b;
    cw_diag d = {""};
    cw_err err = decode(ct, hdrs, body, &b, &d);
    if (err)
        fail_msg("%s: %s", n == 1 ? first->name : ct, d.msg);
    assert_int_equal(b.len, n);
    for (size_t i = 0; i < n; i++)
        check_event(&first[i], &b.items[i]);
    cw_event_batch_free(&b);
}

static void test_conformance_plain(void **state)
{
    (void)state;
    assert_int_equal(nsamples, 46); /* 45 types + the custom example */
    for (size_t i = 0; i < nsamples; i++) {
        expect_samples("application/json", NULL, samples[i].text, &samples[i], 1);
    }
}

static void test_conformance_fields(void **state)
{
    (void)state;
    cw_event_batch b;
    cw_diag d = {""};
    for (size_t i = 0; i < nsamples; i++) {
        const sample *s = &samples[i];
        assert_int_equal(decode("application/json", NULL, s->text, &b, &d), CW_OK);
        const cw_event *ev = &b.items[0];
        if (strcmp(s->name, "service_deployed") == 0) {
            assert_string_equal(ev->environment_id, "test123");
            assert_string_equal(ev->artifact_id, "pkg:oci/myapp@sha256%3A0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427");
            assert_string_equal(ev->chain_id, "4c8cb7dd-3448-41de-8768-eec704e2829b");
            assert_string_equal(ev->subject_id, "mySubject123");
            assert_int_equal(ev->version_major, 0);
            assert_int_equal(ev->version_minor, 3);
            assert_int_equal(ev->version_patch, 0);
            assert_true(cw_event_is(ev, "service", "deployed"));
            assert_false(cw_event_is(ev, "service", "upgraded"));
        } else if (strcmp(s->name, "incident_reported") == 0) {
            assert_string_equal(ev->environment_id, "prod1");
            assert_string_equal(ev->service_id, "myApp");
            assert_non_null(ev->artifact_id);
        } else if (strcmp(s->name, "change_created") == 0) {
            assert_string_equal(ev->repository_id, "TestRepo/TestOrg");
            assert_int_equal(ev->version_minor, 4);
        }
        cw_event_batch_free(&b);
    }
}

static void test_conformance_structured(void **state)
{
    (void)state;
    for (size_t i = 0; i < nsamples; i++) {
        json_t *ce = structured(samples[i].json);
        char *body = json_dumps(ce, 0);
        expect_samples("application/cloudevents+json; charset=UTF-8", NULL, body, &samples[i], 1);
        free(body);
        json_decref(ce);
    }
}

static void test_conformance_batch(void **state)
{
    (void)state;
    json_t *arr = json_array();
    for (size_t i = 0; i < nsamples; i++)
        json_array_append_new(arr, structured(samples[i].json));
    char *body = json_dumps(arr, JSON_COMPACT);
    expect_samples("application/cloudevents-batch+json", NULL, body, samples, nsamples);
    free(body);
    json_decref(arr);
    /* An empty batch is valid (CloudEvents JSON format §4). */
    expect_samples("application/cloudevents-batch+json", NULL, "[]", samples, 0);
}

static void test_conformance_binary(void **state)
{
    (void)state;
    for (size_t i = 0; i < nsamples; i++) {
        const json_t *ev = samples[i].json;
        char src[512], id[256];
        pct_encode(ctx_str(ev, "source"), src, sizeof src);
        pct_encode(ctx_str(ev, "id"), id, sizeof id);
        cw_header h[] = {{"CE-SpecVersion", "1.0"},
                         {"ce-id", id},
                         {"ce-source", src},
                         {"ce-type", ctx_str(ev, "type")},
                         {"ce-time", ctx_str(ev, "timestamp")}};
        cw_header_array ha = {h, 5};
        expect_samples("application/json; charset=utf-8", &ha, samples[i].text, &samples[i], 1);
    }
}

static void test_conformance_ndjson_and_array(void **state)
{
    (void)state;
    cw_buf nd, arr;
    cw_buf_init(&nd, 0);
    cw_buf_init(&arr, 0);
    cw_buf_puts(&arr, "[");
    for (size_t i = 0; i < nsamples; i++) {
        cw_buf_puts(&nd, samples[i].text);
        /* Mixed line endings and blank lines are tolerated. */
        cw_buf_puts(&nd, i % 3 == 0 ? "\r\n" : i % 3 == 1 ? "\n\n  \n" : "\n");
        if (i)
            cw_buf_puts(&arr, ",");
        cw_buf_puts(&arr, samples[i].text);
    }
    cw_buf_puts(&arr, "]");
    expect_samples("application/x-ndjson", NULL, cw_buf_cstr(&nd), samples, nsamples);
    expect_samples("application/json", NULL, cw_buf_cstr(&arr), samples, nsamples);
    expect_samples("application/x-ndjson", NULL, "\n \n", samples, 0);
    cw_buf_free(&nd);
    cw_buf_free(&arr);
}

/* ---- rejections ----------------------------------------------------------- */

static const sample *find_sample(const char *name)
{
    for (size_t i = 0; i < nsamples; i++)
        if (strcmp(samples[i].name, name) == 0)
            return &samples[i];
    fail_msg("no sample %s", name);
    return NULL;
}

/* A copy of a sample with one JSON change applied by the caller. */
static json_t *copy_of(const char *name) { return json_deep_copy(find_sample(name)->json); }

static void expect_plain_error(json_t *ev, cw_err want, const char *msg)
{
    char *body = json_dumps(ev, JSON_COMPACT | JSON_ENCODE_ANY);
    cw_event_batch b;
    cw_diag d = {""};
    cw_err err = decode("application/json", NULL, body, &b, &d);
    if (err != want || strcmp(d.msg, msg) != 0)
        fail_msg("got %d \"%s\", want %d \"%s\"", err, d.msg, want, msg);
    assert_int_equal(b.len, 0);
    assert_null(b.items);
    free(body);
    json_decref(ev);
}

static json_t *ctx_of(json_t *ev) { return json_object_get(ev, "context"); }
static json_t *content_of(json_t *ev)
{
    return json_object_get(json_object_get(ev, "subject"), "content");
}

/* A sample with one member changed, and the error decoding it must give. */
typedef struct {
    const char *sample;
    const char *where; /* the object changed: "" (the event), "context", "subject",
                        * "content" or "environment" (of the content) */
    const char *key;
    const char *value; /* JSON set at key; NULL removes the key */
    const char *msg;   /* of the CW_ERR_INVALID expected */
} edit_case;

static void expect_edit_errors(const edit_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const edit_case *c = &cases[i];
        json_t *ev = copy_of(c->sample);
        json_t *obj = !strcmp(c->where, "context")   ? ctx_of(ev)
                      : !strcmp(c->where, "subject") ? json_object_get(ev, "subject")
                      : !strcmp(c->where, "content") ? content_of(ev)
                      : !strcmp(c->where, "environment")
                          ? json_object_get(content_of(ev), "environment")
                          : ev;
        assert_true(json_is_object(obj));
        if (c->value) {
            json_error_t je;
            json_t *v = json_loads(c->value, JSON_DECODE_ANY, &je);
            if (!v)
                fail_msg("case %zu: bad test JSON: %s", i, je.text);
            json_object_set_new(obj, c->key, v);
        } else {
            json_object_del(obj, c->key);
        }
        expect_plain_error(ev, CW_ERR_INVALID, c->msg);
    }
}

#define NOT_A_CDEVENTS_TYPE                                                                   \
    "events[0].context.type: not a CDEvents type (dev.cdevents.<subject>."                    \
    "<predicate>.<major>.<minor>.<patch>, or dev.cdeventsx.<tool>-<subject>."                 \
    "<predicate>.<major>.<minor>.<patch>)"

static void test_envelope_errors(void **state)
{
    (void)state;
    static const edit_case cases[] = {
        {"service_deployed", "context", "id", NULL, "events[0].context.id: required"},
        {"service_deployed", "context", "timestamp", "\"2023-03-20 nope\"",
         "events[0].context.timestamp: not an RFC 3339 date-time"},
        {"service_deployed", "context", "timestamp", "\"2023-02-29T10:00:00Z\"",
         "events[0].context.timestamp: not an RFC 3339 date-time"},
        {"service_deployed", "context", "specversion", NULL,
         "events[0].context.specversion: required"},
        {"service_deployed", "context", "type", "\"com.example.deployed\"", NOT_A_CDEVENTS_TYPE},
        {"service_deployed", "context", "type", "\"dev.cdevents.service.deployed.0.3\"",
         NOT_A_CDEVENTS_TYPE},
        {"service_deployed", "context", "source", "\"has space\"",
         "events[0].context.source: not a URI reference"},
        {"service_deployed", "context", "id", "\"\"", "events[0].context.id: must not be empty"},
        {"service_deployed", "context", "chainId", "5",
         "events[0].context.chainId: must be a string"},
        {"service_deployed", "subject", "content", NULL, "events[0].subject.content: required"},
        {"service_deployed", "subject", "id", NULL, "events[0].subject.id: required"},
        {"service_deployed", "", "customData", "1",
         "events[0].customData: must be an object or a base64 string"},
    };
    expect_edit_errors(cases, sizeof cases / sizeof cases[0]);
    expect_plain_error(json_string("x"), CW_ERR_INVALID,
                       "events[0]: must be a JSON object (a CDEvent)");
}

static void test_content_errors(void **state)
{
    (void)state;
    static const edit_case cases[] = {
        {"service_deployed", "content", "artifactId", NULL,
         "events[0].subject.content.artifactId: required"},
        {"service_deployed", "environment", "id", "\"\"",
         "events[0].subject.content.environment.id: must not be empty"},
        {"testcaserun_finished", "content", "outcome", "\"pass\"",
         "events[0].subject.content.outcome: \"pass\" is not one of the allowed values"},
        {"incident_reported", "content", "ticketURI", "\"not a uri\"",
         "events[0].subject.content.ticketURI: not an absolute URI"},
        {"ticket_created", "content", "labels", "[\"a\", 1]",
         "events[0].subject.content.labels[1]: must be a string"},
        {"artifact_packaged", "content", "change", NULL,
         "events[0].subject.content.change: required"},
        {"service_deployed", "", "customData", "{\"changes\": [\"c1\", \"\"]}",
         "events[0].customData.changes[1]: must be a non-empty string"},
        {"service_deployed", "", "customData", "{\"changes\": \"c1\"}",
         "events[0].customData.changes: must be an array of change ids"},
    };
    expect_edit_errors(cases, sizeof cases / sizeof cases[0]);
}

static cw_event decode_one(json_t *ev)
{
    cw_event out;
    cw_diag d = {""};
    cw_err err = cw_cdevent_decode(ev, &out, &d);
    if (err)
        fail_msg("decode: %s", d.msg);
    json_decref(ev); /* out holds its own reference */
    return out;
}

static void test_versions(void **state)
{
    (void)state;
    /* A newer version of a known type: stored, not interpreted, content
     * unchecked (its schema is unknown to us). */
    json_t *j = copy_of("service_deployed");
    json_object_set_new(ctx_of(j), "type", json_string("dev.cdevents.service.deployed.0.9.0"));
    json_object_del(content_of(j), "artifactId");
    cw_event ev = decode_one(j);
    assert_false(ev.known);
    assert_false(ev.custom);
    assert_string_equal(ev.subject_kind, "service");
    assert_int_equal(ev.version_minor, 9);
    cw_event_free(&ev);

    /* A v0.4.1 envelope: context.version and subject.type. */
    j = json_pack("{s:{s:s,s:s,s:s,s:s,s:s},s:{s:s,s:s,s:{s:{s:s}}}}", "context", "version",
                  "0.4.1", "id", "d-1", "source", "/ci", "type",
                  "dev.cdevents.service.deployed.0.2.0", "timestamp", "2024-01-01T12:00:00Z",
                  "subject", "id", "checkout", "type", "service", "content", "environment", "id",
                  "production");
    ev = decode_one(json_incref(j));
    assert_true(ev.known);
    assert_true(ev.legacy_envelope);
    assert_string_equal(ev.spec_version, "0.4.1");
    assert_string_equal(ev.environment_id, "production");
    assert_null(ev.artifact_id); /* not required for old versions */
    cw_event_free(&ev);

    /* ... which needs subject.type. */
    json_object_del(json_object_get(j, "subject"), "type");
    expect_plain_error(j, CW_ERR_INVALID, "events[0].subject.type: required");

    /* Old deployments still need their environment. */
    j = json_pack("{s:{s:s,s:s,s:s,s:s,s:s},s:{s:s,s:s,s:{}}}", "context", "version", "0.3.0",
                  "id", "d-2", "source", "/ci", "type", "dev.cdevents.service.deployed.0.1.1",
                  "timestamp", "2024-01-01T12:00:00Z", "subject", "id", "checkout", "type",
                  "service", "content");
    expect_plain_error(j, CW_ERR_INVALID, "events[0].subject.content.environment: required");

    /* Unknown subject in the CDEvents namespace (e.g. approval from main). */
    j = copy_of("build_queued");
    json_object_set_new(ctx_of(j), "type", json_string("dev.cdevents.approval.created.0.1.0"));
    ev = decode_one(j);
    assert_false(ev.known);
    assert_string_equal(ev.subject_kind, "approval");
    assert_string_equal(ev.predicate, "created");
    cw_event_free(&ev);

    /* Offsets are honoured. */
    j = copy_of("build_queued");
    json_object_set_new(ctx_of(j), "timestamp", json_string("2023-03-20T16:27:05.5+02:00"));
    ev = decode_one(j);
    int64_t want;
    assert_true(cw_time_parse_rfc3339("2023-03-20T14:27:05.500Z", &want));
    assert_int_equal(ev.time_ms, want);
    cw_event_free(&ev);

    /* Unknown fields are tolerated (forward compatibility). */
    j = copy_of("service_deployed");
    json_object_set_new(content_of(j), "extra", json_true());
    json_object_set_new(j, "extension", json_true());
    ev = decode_one(j);
    assert_true(ev.known);
    cw_event_free(&ev);

    /* Explicit change list of a deployment. */
    j = copy_of("service_deployed");
    json_object_set_new(j, "customData", json_pack("{s:[s,s]}", "changes", "pr-1", "pr-2"));
    ev = decode_one(j);
    const json_t *ch = cw_event_custom_changes(&ev);
    assert_non_null(ch);
    assert_int_equal(json_array_size(ch), 2);
    cw_event_free(&ev);
}

/* ---- transport errors ----------------------------------------------------- */

static void expect_http_error(const char *ct, const cw_header_array *h, const char *body,
                              cw_err want, const char *msg)
{
    cw_event_batch b;
    cw_diag d = {""};
    cw_err err = decode(ct, h, body, &b, &d);
    if (err != want || (msg && strcmp(d.msg, msg) != 0))
        fail_msg("got %d \"%s\", want %d \"%s\"", err, d.msg, want, msg ? msg : "");
    assert_int_equal(b.len, 0);
}

static void test_content_types(void **state)
{
    (void)state;
    const char *body = find_sample("build_queued")->text;
    expect_http_error("text/plain", NULL, body, CW_ERR_UNSUPPORTED, NULL);
    expect_http_error(NULL, NULL, body, CW_ERR_UNSUPPORTED, "Content-Type: required");
    expect_http_error("application/json; charset=latin1", NULL, body, CW_ERR_UNSUPPORTED,
                      "Content-Type: charset \"latin1\" not supported (use UTF-8)");
    expect_http_error("application/cloudevents+avro", NULL, body, CW_ERR_UNSUPPORTED, NULL);
    cw_header h[] = {{"ce-specversion", "1.0"}};
    cw_header_array ha = {h, 1};
    expect_http_error("text/plain", &ha, body, CW_ERR_UNSUPPORTED, NULL);
    cw_event_batch b;
    cw_diag d = {""};
    /* Case and parameters are tolerated. */
    assert_int_equal(decode("Application/JSON ; charset=\"UTF-8\"", NULL, body, &b, &d), CW_OK);
    assert_int_equal(b.len, 1);
    cw_event_batch_free(&b);
    assert_int_equal(decode("application/ndjson", NULL, body, &b, &d), CW_OK);
    cw_event_batch_free(&b);
}

static void test_batch_error_names_index(void **state)
{
    (void)state;
    json_t *arr = json_array();
    for (int i = 0; i < 5; i++) {
        json_t *ev = json_deep_copy(find_sample("build_queued")->json);
        if (i == 3)
            json_object_del(ctx_of(ev), "id");
        json_array_append_new(arr, i == 3 ? json_pack("{s:s,s:s,s:s,s:s,s:o}", "specversion", "1.0",
                                                      "id", "x", "source", "/event/source/123",
                                                      "type", "dev.cdevents.build.queued.0.3.0",
                                                      "data", ev)
                                          : structured(ev));
        if (i != 3)
            json_decref(ev);
    }
    char *body = json_dumps(arr, 0);
    expect_http_error("application/cloudevents-batch+json", NULL, body, CW_ERR_INVALID,
                      "events[3].context.id: required");
    free(body);
    json_decref(arr);

    /* Plain arrays and NDJSON too; NDJSON also gives the line. */
    const char *ok = find_sample("build_queued")->text;
    char bad[4096];
    json_t *ev = copy_of("build_queued");
    json_object_set_new(ctx_of(ev), "timestamp", json_string("yesterday"));
    char *badtext = json_dumps(ev, JSON_COMPACT);
    snprintf(bad, sizeof bad, "[%s,%s]", ok, badtext);
    expect_http_error("application/json", NULL, bad, CW_ERR_INVALID,
                      "events[1].context.timestamp: not an RFC 3339 date-time");
    snprintf(bad, sizeof bad, "%s\n\n%s\n", ok, badtext);
    expect_http_error("application/x-ndjson", NULL, bad, CW_ERR_INVALID,
                      "line 3: events[1].context.timestamp: not an RFC 3339 date-time");
    snprintf(bad, sizeof bad, "%s\n{\"context\":\n", ok);
    expect_http_error("application/x-ndjson", NULL, bad, CW_ERR_INVALID, NULL);
    cw_event_batch b;
    cw_diag d = {""};
    assert_int_equal(cw_events_decode_body("application/x-ndjson", bad, strlen(bad), NULL, &b, &d),
                     CW_ERR_INVALID);
    if (strncmp(d.msg, "line 2: invalid JSON: ", 22) != 0 || strstr(d.msg, "(line"))
        fail_msg("message: %s", d.msg);
    /* The body-only entry point (AMQP, import) decodes like HTTP without headers. */
    snprintf(bad, sizeof bad, "[%s,%s]", ok, ok);
    assert_int_equal(cw_events_decode_body("application/json", bad, strlen(bad), NULL, &b, &d), CW_OK);
    assert_int_equal(b.len, 2);
    cw_event_batch_free(&b);
    free(badtext);
    json_decref(ev);
}

static void test_cloudevent_binding(void **state)
{
    (void)state;
    const sample *s = find_sample("service_deployed");
    /* Structured: attributes must match the CDEvent context. */
    json_t *ce = structured(s->json);
    json_object_set_new(ce, "id", json_string("other"));
    char *body = json_dumps(ce, 0);
    expect_http_error("application/cloudevents+json", NULL, body, CW_ERR_INVALID,
                      "events[0].id: \"other\" does not match context.id "
                      "\"271069a8-fc18-44f1-b38f-9d70a1695819\"");
    free(body);
    json_object_set_new(ce, "id", json_string(ctx_str(s->json, "id")));
    json_object_set_new(ce, "specversion", json_string("0.3"));
    body = json_dumps(ce, 0);
    expect_http_error("application/cloudevents+json", NULL, body, CW_ERR_INVALID,
                      "events[0].specversion: must be \"1.0\"");
    free(body);
    json_object_set_new(ce, "specversion", json_string("1.0"));
    json_object_set_new(ce, "datacontenttype", json_string("application/xml"));
    body = json_dumps(ce, 0);
    expect_http_error("application/cloudevents+json", NULL, body, CW_ERR_INVALID,
                      "events[0].datacontenttype: must be a JSON media type (the data is a CDEvent)");
    free(body);
    json_object_del(ce, "datacontenttype");
    json_object_set_new(ce, "data", json_string("{}"));
    body = json_dumps(ce, 0);
    expect_http_error("application/cloudevents+json", NULL, body, CW_ERR_INVALID,
                      "events[0].data: must be a JSON object (the CDEvent)");
    free(body);

    /* data_base64 carrying the CDEvent is accepted. */
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *src = (const unsigned char *)s->text;
    size_t n = strlen(s->text);
    char *enc = malloc(n * 2 + 8);
    size_t k = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)src[i] << 16 | (i + 1 < n ? (uint32_t)src[i + 1] << 8 : 0) |
                     (i + 2 < n ? src[i + 2] : 0);
        enc[k++] = b64[v >> 18 & 63];
        enc[k++] = b64[v >> 12 & 63];
        enc[k++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
        enc[k++] = i + 2 < n ? b64[v & 63] : '=';
    }
    enc[k] = '\0';
    json_object_del(ce, "data");
    json_object_set_new(ce, "data_base64", json_string(enc));
    body = json_dumps(ce, 0);
    expect_samples("application/cloudevents+json", NULL, body, s, 1);
    free(body);
    json_object_set_new(ce, "data", json_object());
    body = json_dumps(ce, 0);
    expect_http_error("application/cloudevents+json", NULL, body, CW_ERR_INVALID,
                      "events[0].data_base64: not allowed together with data");
    free(body);
    free(enc);
    json_decref(ce);

    /* Binary: header checks. */
    cw_header h[] = {{"ce-specversion", "1.0"},
                     {"ce-id", "271069a8-fc18-44f1-b38f-9d70a1695819"},
                     {"ce-source", "/event/source/123"},
                     {"ce-type", "dev.cdevents.service.deployed.0.3.0"}};
    cw_header_array ha = {h, 4};
    cw_event_batch b;
    cw_diag d = {""};
    assert_int_equal(decode("application/json", &ha, s->text, &b, &d), CW_OK);
    cw_event_batch_free(&b);
    h[2].value = "/other";
    expect_http_error("application/json", &ha, s->text, CW_ERR_INVALID,
                      "events[0].ce-source: \"/other\" does not match context.source "
                      "\"/event/source/123\"");
    h[2].value = "\"%2Fevent%2fsource%2F123\""; /* quoted, lower-case hex */
    assert_int_equal(decode("application/json", &ha, s->text, &b, &d), CW_OK);
    cw_event_batch_free(&b);
    h[2].value = "%C0%A0"; /* overlong UTF-8 */
    expect_http_error("application/json", &ha, s->text, CW_ERR_INVALID,
                      "events[0].ce-source: not valid UTF-8 text");
    h[2].value = "%zz";
    expect_http_error("application/json", &ha, s->text, CW_ERR_INVALID,
                      "events[0].ce-source: invalid percent-encoding");
    h[2].value = "/event/source/123";
    h[0].value = "0.3";
    expect_http_error("application/json", &ha, s->text, CW_ERR_INVALID,
                      "events[0].ce-specversion: must be \"1.0\"");
    h[0].value = "1.0";
    ha.n = 3; /* no ce-type */
    expect_http_error("application/json", &ha, s->text, CW_ERR_INVALID,
                      "events[0].ce-type: required header");
    /* ce-id without ce-specversion is a broken binary event, not plain JSON. */
    cw_header only_id[] = {{"ce-id", "x"}};
    cw_header_array hb = {only_id, 1};
    expect_http_error("application/json", &hb, s->text, CW_ERR_INVALID,
                      "events[0].ce-specversion: required header");
    /* Binary mode carries exactly one event. */
    ha.n = 4;
    char arr[8192];
    snprintf(arr, sizeof arr, "[%s]", s->text);
    expect_http_error("application/json", &ha, arr, CW_ERR_INVALID,
                      "events[0]: must be a JSON object (a CDEvent)");
}

static void test_limits(void **state)
{
    (void)state;
    const char *one = find_sample("build_queued")->text;
    cw_buf body;
    cw_buf_init(&body, 0);
    cw_buf_puts(&body, "[");
    for (int i = 0; i < 11; i++) {
        if (i)
            cw_buf_puts(&body, ",");
        cw_buf_puts(&body, one);
    }
    cw_buf_puts(&body, "]");
    cw_event_limits lim = {10, 0, 0};
    cw_event_batch b;
    cw_diag d = {""};
    assert_int_equal(cw_events_decode_http("application/json", NULL, body.data, body.len, &lim, &b, &d),
                     CW_ERR_TOO_LARGE);
    assert_string_equal(d.msg, "body: 11 events, more than the limit of 10");
    lim.max_events = 11;
    assert_int_equal(cw_events_decode_http("application/json", NULL, body.data, body.len, &lim, &b, &d),
                     CW_OK);
    assert_int_equal(b.len, 11);
    cw_event_batch_free(&b);
    cw_buf_reset(&body);
    for (int i = 0; i < 11; i++) {
        cw_buf_puts(&body, one);
        cw_buf_puts(&body, "\n");
    }
    lim.max_events = 10;
    assert_int_equal(cw_events_decode_http("application/x-ndjson", NULL, body.data, body.len, &lim, &b, &d),
                     CW_ERR_TOO_LARGE);
    assert_string_equal(d.msg, "line 11: more than the limit of 10 events");

    /* Nesting: customData 70 levels deep is over the default 64. */
    json_t *ev = copy_of("build_queued");
    json_t *deep = json_object();
    json_t *cur = deep;
    for (int i = 0; i < 70; i++) {
        json_t *next = json_object();
        json_object_set_new(cur, "a", next);
        cur = next;
    }
    json_object_set_new(ev, "customData", deep);
    char *text = json_dumps(ev, JSON_COMPACT);
    assert_int_equal(decode("application/json", NULL, text, &b, &d), CW_ERR_TOO_LARGE);
    assert_string_equal(d.msg, "body: JSON nested deeper than 64 levels");
    lim = (cw_event_limits){0, 100, 0};
    assert_int_equal(cw_events_decode_http("application/json", NULL, text, strlen(text), &lim, &b, &d),
                     CW_OK);
    cw_event_batch_free(&b);
    free(text);
    json_decref(ev);
    /* Duplicate keys are ambiguous and rejected. */
    expect_http_error("application/json", NULL, "{\"context\":{},\"context\":{}}", CW_ERR_INVALID, NULL);
    cw_buf_free(&body);
}

/* Issue #10: one event is at most max_event_bytes of compact JSON (default
 * 256 KiB) in every mode; the answer names the event. */
static void test_event_size(void **state)
{
    (void)state;
    /* a small event, then the same with customData grown to the limit */
    json_t *small = copy_of("build_queued");
    json_t *big = copy_of("build_queued");
    json_object_set_new(small, "customData", json_pack("{s:s}", "x", "y"));
    char *small_text = json_dumps(small, JSON_COMPACT);
    size_t base = strlen(small_text) - 1; /* without the "y" */
    char *pad = malloc(CW_EVENTS_DEFAULT_MAX_EVENT_BYTES + 2);
    assert_non_null(pad);
    size_t n = CW_EVENTS_DEFAULT_MAX_EVENT_BYTES - base;
    memset(pad, 'p', n);
    pad[n] = '\0';
    json_object_set_new(big, "customData", json_pack("{s:s}", "x", pad));
    char *at_limit = json_dumps(big, JSON_COMPACT);
    assert_int_equal(strlen(at_limit), CW_EVENTS_DEFAULT_MAX_EVENT_BYTES);
    pad[n] = 'p';
    pad[n + 1] = '\0';
    json_object_set_new(big, "customData", json_pack("{s:s}", "x", pad));
    char *over = json_dumps(big, JSON_COMPACT);
    char over_msg[160];
    snprintf(over_msg, sizeof over_msg,
             "the event is %zu bytes of JSON, more than the limit of %zu (--max-event-bytes)",
             CW_EVENTS_DEFAULT_MAX_EVENT_BYTES + 1, CW_EVENTS_DEFAULT_MAX_EVENT_BYTES);
    char want[256];
    cw_event_batch b;
    cw_diag d = {""};

    /* plain, one event: at the limit passes, one byte more does not */
    assert_int_equal(decode("application/json", NULL, at_limit, &b, &d), CW_OK);
    assert_int_equal(cw_event_json_size(&b.items[0]), CW_EVENTS_DEFAULT_MAX_EVENT_BYTES);
    cw_event_batch_free(&b);
    snprintf(want, sizeof want, "events[0]: %s", over_msg);
    expect_http_error("application/json", NULL, over, CW_ERR_TOO_LARGE, want);

    /* arrays (plain and CloudEvents batch) name the index */
    cw_buf body;
    cw_buf_init(&body, 0);
    cw_buf_printf(&body, "[%s,%s,%s,%s]", small_text, small_text, small_text, over);
    snprintf(want, sizeof want, "events[3]: %s", over_msg);
    expect_http_error("application/json", NULL, body.data, CW_ERR_TOO_LARGE, want);
    json_t *ce_small = structured(small), *ce_over = structured(big);
    char *ces = json_dumps(ce_small, JSON_COMPACT), *ceo = json_dumps(ce_over, JSON_COMPACT);
    cw_buf_reset(&body);
    cw_buf_printf(&body, "[%s,%s]", ces, ceo);
    snprintf(want, sizeof want, "events[1]: %s", over_msg);
    expect_http_error("application/cloudevents-batch+json", NULL, body.data, CW_ERR_TOO_LARGE,
                      want);
    /* structured: the CDEvent in data is the event */
    snprintf(want, sizeof want, "events[0]: %s", over_msg);
    expect_http_error("application/cloudevents+json", NULL, ceo, CW_ERR_TOO_LARGE, want);
    /* binary */
    char src[512], id[256];
    pct_encode(ctx_str(big, "source"), src, sizeof src);
    pct_encode(ctx_str(big, "id"), id, sizeof id);
    cw_header h[] = {{"ce-specversion", "1.0"}, {"ce-id", id}, {"ce-source", src},
                     {"ce-type", ctx_str(big, "type")}};
    cw_header_array ha = {h, 4};
    expect_http_error("application/json", &ha, over, CW_ERR_TOO_LARGE, want);
    /* NDJSON, compact lines and a line with blanks (measured compactly) */
    cw_buf_reset(&body);
    cw_buf_printf(&body, "%s\n\n%s\n%s\n", small_text, small_text, over);
    snprintf(want, sizeof want, "line 4: events[2]: %s", over_msg);
    expect_http_error("application/x-ndjson", NULL, body.data, CW_ERR_TOO_LARGE, want);
    char *spaced = json_dumps(big, JSON_INDENT(1));
    for (char *c = spaced; *c; c++)
        if (*c == '\n')
            *c = ' ';
    cw_buf_reset(&body);
    cw_buf_printf(&body, "%s\n", spaced);
    snprintf(want, sizeof want, "line 1: events[0]: %s", over_msg);
    expect_http_error("application/x-ndjson", NULL, body.data, CW_ERR_TOO_LARGE, want);

    /* the limit is the caller's: 1 MiB lets it through, 1 KiB stops the small one */
    cw_event_limits lim = {0, 0, (size_t)1 << 20};
    assert_int_equal(cw_events_decode_http("application/x-ndjson", NULL, body.data, body.len, &lim,
                                           &b, &d),
                     CW_OK);
    cw_event_batch_free(&b);
    lim.max_event_bytes = strlen(small_text) - 1;
    assert_int_equal(cw_events_decode_http("application/json", NULL, small_text,
                                           strlen(small_text), &lim, &b, &d),
                     CW_ERR_TOO_LARGE);
    assert_non_null(strstr(d.msg, "events[0]: the event is"));
    /* cw_event_check_size for callers that decode one by one */
    cw_event ev;
    assert_int_equal(cw_cdevent_decode(big, &ev, &d), CW_OK);
    assert_int_equal(cw_event_check_size(&ev, CW_EVENTS_DEFAULT_MAX_EVENT_BYTES, &d),
                     CW_ERR_TOO_LARGE);
    assert_string_equal(d.msg, over_msg);
    assert_int_equal(cw_event_check_size(&ev, CW_EVENTS_DEFAULT_MAX_EVENT_BYTES + 1, &d), CW_OK);
    cw_event_free(&ev);

    free(spaced);
    free(ces);
    free(ceo);
    json_decref(ce_small);
    json_decref(ce_over);
    cw_buf_free(&body);
    free(over);
    free(at_limit);
    free(pad);
    free(small_text);
    json_decref(small);
    json_decref(big);
}

static void test_dedup_key(void **state)
{
    (void)state;
    /* Several conformance files share (source, id): re-deliveries of one event. */
    cw_event a = decode_one(json_incref(find_sample("service_deployed")->json));
    cw_event b = decode_one(json_incref(find_sample("change_created")->json));
    cw_event c = decode_one(json_incref(find_sample("incident_reported")->json));
    assert_int_equal(cw_event_key_cmp(&a, &b), 0);
    assert_int_not_equal(cw_event_key_cmp(&a, &c), 0);
    assert_true((cw_event_key_cmp(&a, &c) < 0) == (cw_event_key_cmp(&c, &a) > 0));
    cw_event_free(&a);
    cw_event_free(&b);
    cw_event_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conformance_plain),
        cmocka_unit_test(test_conformance_fields),
        cmocka_unit_test(test_conformance_structured),
        cmocka_unit_test(test_conformance_batch),
        cmocka_unit_test(test_conformance_binary),
        cmocka_unit_test(test_conformance_ndjson_and_array),
        cmocka_unit_test(test_envelope_errors),
        cmocka_unit_test(test_content_errors),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_content_types),
        cmocka_unit_test(test_batch_error_names_index),
        cmocka_unit_test(test_cloudevent_binding),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_event_size),
        cmocka_unit_test(test_dedup_key),
    };
    return cmocka_run_group_tests(tests, load_samples, free_samples);
}
