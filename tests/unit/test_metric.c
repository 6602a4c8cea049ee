/* test_metric.c — metric samples (src/events/metric*.c): the Prometheus text
 * format on the documentation's own example (tests/data/prometheus), the
 * OpenMetrics differences (seconds, # EOF, exemplars), the JSON form and
 * its errors naming the element, label sets, batches (dedup, limits),
 * durations and media types. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "events/metric.h"
#include "util/duration.h"
#include "fixtures.h"

#define T0 1700000000000LL

/* The sample of series `name` + canonical labels at time t; NAN when absent. */
static double find(const cw_metric_batch *b, const char *name, const char *labels_json,
                   int64_t t)
{
    for (size_t i = 0; i < b->nsamples; i++) {
        const cw_metric_series *s = &b->series[b->samples[i].series];
        if (!strcmp(s->name, name) && !strcmp(s->labels_json, labels_json) &&
            b->samples[i].time_ms == t)
            return b->samples[i].value;
    }
    return NAN;
}

static cw_err text(const char *s, bool om, cw_metric_batch *b, cw_diag *d)
{
    cw_metric_parse_opts o = {.default_time_ms = T0};
    memset(b, 0, sizeof *b);
    return cw_metric_parse_text(s, strlen(s), om, &o, b, d);
}

static void test_prometheus_example(void **state)
{
    (void)state;
    size_t len = 0;
    char *doc = fx_read_file(CONWAY_TEST_DATA "/prometheus/exposition_formats_example.txt", &len);
    assert_non_null(doc);
    cw_metric_batch b = {0};
    cw_diag d = {{0}};
    cw_metric_parse_opts o = {.default_time_ms = T0};
    /* As published, the UTF-8 example line has no value: refused, naming it. */
    assert_int_equal(cw_metric_parse_text(doc, len, false, &o, &b, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "line 10, column 50: missing value");
    assert_int_equal(b.nsamples, 0);

    /* With a value on that line, everything parses. */
    const char *line = "{\"my.dotted.metric\", \"error.message\"=\"Not Found\"}";
    char *at = strstr(doc, line);
    assert_non_null(at);
    size_t head = (size_t)(at - doc) + strlen(line);
    char *fixed = malloc(len + 8);
    memcpy(fixed, doc, head);
    memcpy(fixed + head, " 7", 2);
    memcpy(fixed + head + 2, doc + head, len - head);
    assert_int_equal(cw_metric_parse_text(fixed, len + 2, false, &o, &b, &d), CW_OK);
    /* 2 + 1 + 1 + 1 + 8 (histogram) + 7 (summary); +Inf is dropped */
    assert_int_equal(b.nsamples, 20);
    assert_int_equal(b.nonfinite, 1);
    assert_true(find(&b, "http_requests_total", "{\"code\":\"200\",\"method\":\"post\"}",
                     1395066363000LL) == 1027);
    assert_true(find(&b, "http_requests_total", "{\"code\":\"400\",\"method\":\"post\"}",
                     1395066363000LL) == 3);
    assert_true(find(&b, "msdos_file_access_time_seconds",
                     "{\"error\":\"Cannot find file:\\n\\\"FILE.TXT\\\"\",\"path\":\"C:\\\\DIR\\\\"
                     "FILE.TXT\"}",
                     T0) == 1.458255915e9);
    assert_true(find(&b, "my.dotted.metric", "{\"error.message\":\"Not Found\"}", T0) == 7);
    assert_true(find(&b, "metric_without_timestamp_and_labels", "{}", T0) == 12.47);
    assert_true(find(&b, "http_request_duration_seconds_bucket", "{\"le\":\"+Inf\"}", T0) ==
                144320);
    assert_true(find(&b, "rpc_duration_seconds_sum", "{}", T0) == 1.7560473e+07);
    assert_true(isnan(find(&b, "something_weird", "{\"problem\":\"division by zero\"}",
                           -3982045)));
    cw_metric_batch_free(&b);
    free(fixed);
    free(doc);
}

static void test_text_errors(void **state)
{
    (void)state;
    static const struct {
        const char *in, *msg;
    } cases[] = {
        {"a 1\nb{x=\"1\" 2\n", "line 2, column 9: expected ',' or '}'"},
        {"a{x=1} 2", "line 1, column 5: expected a quoted label value (escapes \\\\ \\\" \\n), "
                     "at most 1024 bytes"},
        {"a{x=\"\\t\"} 2", "line 1, column 5: expected a quoted label value (escapes \\\\ \\\" "
                           "\\n), at most 1024 bytes"},
        {"a twelve", "line 1, column 3: 'twelve' is not a number"},
        {"a 1 1.5", "line 1, column 5: '1.5' is not a timestamp (integer milliseconds since the "
                    "epoch)"},
        {"a 1 2 3", "line 1, column 7: unexpected text after the sample"},
        {"9a 1", "line 1, column 1: expected a metric name, '{' or '#'"},
        {"a{x=\"1\",x=\"2\"} 1", "line 1: label 'x': given twice"},
        {"a{__x=\"1\"} 1", "line 1: label name '__x': must be 1 to 200 characters of UTF-8 "
                           "without control characters, not starting with '__'"},
        {"b 1 # {}", "line 1, column 5: unexpected text after the sample"},
        {"a{\"q\"} 1", "line 1, column 3: the metric name is given twice (before the braces and "
                       "quoted inside them)"},
        {"{x=\"1\"} 1", "line 1, column 8: no metric name"},
        {"a{x=\"\xff\"} 1", "line 1: label 'x': the value must be UTF-8 of at most 1024 bytes"},
    };
    for (size_t i = 0; i < FX_LEN(cases); i++) {
        cw_metric_batch b;
        cw_diag d = {{0}};
        assert_int_equal(text(cases[i].in, false, &b, &d), CW_ERR_INVALID);
        assert_string_equal(d.msg, cases[i].msg);
        assert_int_equal(b.nsamples, 0);
    }
    /* NUL bytes are refused with their line */
    cw_metric_batch b = {0};
    cw_diag d = {{0}};
    assert_int_equal(cw_metric_parse_text("a 1\nb\0 1", 8, false, NULL, &b, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "line 2: a NUL character");
}

static void test_text_details(void **state)
{
    (void)state;
    cw_metric_batch b;
    cw_diag d = {{0}};
    /* whitespace, CRLF, comments of any kind, escapes, negative timestamps,
     * exponent forms, the same sample twice (later wins) */
    assert_int_equal(text("# anything\r\n  a{ x = \"q\\\"\\\\\\n\" , } \t 1e3 -5\r\n"
                          "a{x=\"q\\\"\\\\\\n\"} 2e3 -5\n"
                          "b -0.5\n\n# TYPE c gauge\nc{y=\"\"} .25 0\n",
                          false, &b, &d),
                     CW_OK);
    assert_int_equal(b.nsamples, 3);
    assert_int_equal(b.replaced, 1);
    assert_true(find(&b, "a", "{\"x\":\"q\\\"\\\\\\n\"}", -5) == 2000);
    assert_true(find(&b, "b", "{}", T0) == -0.5);
    assert_true(find(&b, "c", "{\"y\":\"\"}", 0) == 0.25);
    cw_metric_batch_free(&b);
    /* NaN and -Inf are dropped and counted */
    assert_int_equal(text("a NaN\na -Inf 5\na 1 6\n", false, &b, &d), CW_OK);
    assert_int_equal(b.nsamples, 1);
    assert_int_equal(b.nonfinite, 2);
    cw_metric_batch_free(&b);
    /* the sample limit */
    cw_metric_parse_opts o = {.max_samples = 2};
    memset(&b, 0, sizeof b);
    assert_int_equal(cw_metric_parse_text("a 1\nb 2\nc 3\n", 12, false, &o, &b, &d),
                     CW_ERR_TOO_LARGE);
    assert_string_equal(d.msg, "line 3: more than 2 samples in one request");
    /* labels beyond the limit */
    cw_buf many;
    cw_buf_init(&many, 0);
    cw_buf_puts(&many, "a{");
    for (int i = 0; i <= CW_METRIC_LABELS_MAX; i++)
        cw_buf_printf(&many, "l%d=\"v\",", i);
    cw_buf_puts(&many, "} 1");
    assert_int_equal(text(many.data, false, &b, &d), CW_ERR_TOO_LARGE);
    cw_buf_free(&many);
    assert_string_equal(d.msg, "line 1, column 249: more than 32 labels");
}

static void test_openmetrics(void **state)
{
    (void)state;
    cw_metric_batch b;
    cw_diag d = {{0}};
    const char *om = "# TYPE acme_http_router_request_seconds summary\n"
                     "# UNIT acme_http_router_request_seconds seconds\n"
                     "acme_http_router_request_seconds_sum{path=\"/api/v1\",method=\"GET\"} "
                     "9036.32 1520879607.789\n"
                     "foo_total 17.0 1520879607.789 # {trace_id=\"KOO5S4vxi0o\"} 0.67\n"
                     "foo_created 1520430000.123\n"
                     "# EOF\n";
    assert_int_equal(text(om, true, &b, &d), CW_OK);
    assert_int_equal(b.nsamples, 3);
    assert_true(find(&b, "acme_http_router_request_seconds_sum",
                     "{\"method\":\"GET\",\"path\":\"/api/v1\"}", 1520879607789LL) == 9036.32);
    assert_true(find(&b, "foo_total", "{}", 1520879607789LL) == 17);
    assert_true(find(&b, "foo_created", "{}", T0) == 1520430000.123);
    cw_metric_batch_free(&b);

    assert_int_equal(text("a 1\n", true, &b, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "OpenMetrics: the text must end with a '# EOF' line");
    assert_int_equal(text("a 1\n# EOF\nb 2\n", true, &b, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "line 3: text after '# EOF'");
    assert_int_equal(text("a 1 12x\n# EOF\n", true, &b, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg,
                        "line 1, column 5: '12x' is not a timestamp (seconds since the epoch)");
    assert_int_equal(text("a 1 # trace\n# EOF\n", true, &b, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "line 1, column 5: an exemplar must start with '# {'");
    /* in 0.0.4 "# EOF" is just a comment and exemplars do not exist */
    assert_int_equal(text("# EOF\na 1\n", false, &b, &d), CW_OK);
    assert_int_equal(b.nsamples, 1);
    cw_metric_batch_free(&b);
}

static cw_err json(const char *s, cw_metric_batch *b, cw_diag *d)
{
    cw_metric_parse_opts o = {.default_time_ms = T0};
    memset(b, 0, sizeof *b);
    return cw_metric_parse_json(s, strlen(s), &o, b, d);
}

static void test_json(void **state)
{
    (void)state;
    cw_metric_batch b;
    cw_diag d = {{0}};
    assert_int_equal(json("[{\"name\":\"conv\",\"labels\":{\"team\":\"pay\",\"env\":\"prod\"},"
                          "\"time\":\"2025-03-01T00:00:00Z\",\"value\":0.021},"
                          "{\"name\":\"conv\",\"labels\":{\"env\":\"prod\",\"team\":\"pay\"},"
                          "\"time\":1740787200001,\"value\":3},"
                          "{\"name\":\"conv\",\"value\":\"NaN\"},"
                          "{\"name\":\"conv\",\"value\":5}]",
                          &b, &d),
                     CW_OK);
    assert_int_equal(b.nseries, 2);
    assert_int_equal(b.nsamples, 3);
    assert_int_equal(b.nonfinite, 1);
    assert_true(find(&b, "conv", "{\"env\":\"prod\",\"team\":\"pay\"}", 1740787200000LL) == 0.021);
    assert_true(find(&b, "conv", "{\"env\":\"prod\",\"team\":\"pay\"}", 1740787200001LL) == 3);
    assert_true(find(&b, "conv", "{}", T0) == 5);
    cw_metric_batch_free(&b);

    static const struct {
        const char *in, *msg;
    } cases[] = {
        {"{}", "the body must be a JSON array of samples [{name, labels, time, value}]"},
        {"[1]", "[0]: must be an object {name, labels, time, value}"},
        {"[{\"name\":\"a\",\"value\":1,\"lables\":{}}]",
         "[0].lables: unknown member (known: name, labels, time, value)"},
        {"[{\"value\":1}]", "[0].name: required, a string"},
        {"[{\"name\":\"a\"}]", "[0].value: required, a number"},
        {"[{\"name\":\"a\",\"value\":\"x\"}]", "[0].value: a number (or \"NaN\", \"+Inf\", \"-Inf\")"},
        {"[{\"name\":\"a\",\"value\":1,\"time\":\"yesterday\"}]",
         "[0].time: 'yesterday' is not an RFC 3339 date-time (e.g. 2025-03-01T00:00:00Z)"},
        {"[{\"name\":\"a\",\"value\":1,\"time\":1.5}]",
         "[0].time: an RFC 3339 date-time or integer Unix milliseconds"},
        {"[{\"name\":\"a\",\"value\":1},{\"name\":\"a\",\"value\":1,\"labels\":{\"t\":1}}]",
         "[1].labels.t: must be a string"},
        {"[{\"name\":\"a\",\"value\":1,\"labels\":[]}]",
         "[0].labels: must be an object of label names to strings"},
        {"[{\"name\":\"a\\u0001\",\"value\":1}]",
         "[0]: name 'a\x01': must be 1 to 200 characters of UTF-8 without control characters"},
        {"[{\"name\":\"\",\"value\":1}]",
         "[0]: name '': must be 1 to 200 characters of UTF-8 without control characters"},
        {"[{\"name\":\"a\",\"value\":1,\"labels\":{\"__n\":\"x\"}}]",
         "[0].labels: label name '__n': must be 1 to 200 characters of UTF-8 without control "
         "characters, not starting with '__'"},
        {"[{\"name\":\"a\",\"value\":1,]", "line 1, column 24: string or '}' expected near ']'"},
    };
    for (size_t i = 0; i < FX_LEN(cases); i++) {
        assert_int_equal(json(cases[i].in, &b, &d), CW_ERR_INVALID);
        assert_string_equal(d.msg, cases[i].msg);
        assert_int_equal(b.nsamples, 0);
    }
    cw_metric_parse_opts o = {.max_samples = 1};
    memset(&b, 0, sizeof b);
    const char *two = "[{\"name\":\"a\",\"value\":1},{\"name\":\"a\",\"value\":2}]";
    assert_int_equal(cw_metric_parse_json(two, strlen(two), &o, &b, &d), CW_ERR_TOO_LARGE);
    assert_string_equal(d.msg, "more than 1 samples in one request");
}

static void test_decode_media_types(void **state)
{
    (void)state;
    cw_metric_batch b = {0};
    cw_diag d = {{0}};
    assert_int_equal(cw_metric_decode("text/plain; version=0.0.4", "a 1", 3, NULL, &b, &d), CW_OK);
    cw_metric_batch_free(&b);
    assert_int_equal(cw_metric_decode("Application/OpenMetrics-Text; version=1.0.0",
                                      "a 1 2\n# EOF\n", 12, NULL, &b, &d),
                     CW_OK);
    assert_int_equal(b.samples[0].time_ms, 2000);
    cw_metric_batch_free(&b);
    assert_int_equal(cw_metric_decode("application/json", "[]", 2, NULL, &b, &d), CW_OK);
    assert_int_equal(cw_metric_decode("application/vnd.conway+json", "[]", 2, NULL, &b, &d),
                     CW_OK);
    assert_int_equal(cw_metric_decode("text/csv", "a", 1, NULL, &b, &d), CW_ERR_UNSUPPORTED);
    assert_string_equal(d.msg, "Content-Type: 'text/csv' is not accepted; send application/json, "
                               "text/plain (Prometheus text format 0.0.4) or "
                               "application/openmetrics-text");
    assert_int_equal(cw_metric_decode(NULL, "a", 1, NULL, &b, &d), CW_ERR_UNSUPPORTED);
}

static void test_labels(void **state)
{
    (void)state;
    cw_metric_labels a = {0}, w = {0}, e = {0};
    cw_diag d = {{0}};
    assert_int_equal(cw_metric_labels_parse("team=\"pay\", env=\"prod\",scope=\"a,b\"", &a, &d),
                     CW_OK);
    assert_int_equal(a.len, 3);
    assert_string_equal(a.items[0].name, "env");
    assert_string_equal(a.items[1].value, "a,b");
    assert_int_equal(cw_metric_labels_parse("{team=\"pay\"}", &w, &d), CW_OK);
    assert_int_equal(cw_metric_labels_parse("", &e, &d), CW_OK);
    assert_true(cw_metric_labels_match(&a, &w));
    assert_true(cw_metric_labels_match(&a, &e));
    assert_false(cw_metric_labels_match(&w, &a));
    cw_buf out;
    cw_buf_init(&out, 0);
    assert_int_equal(cw_metric_labels_json(&a, &out), CW_OK);
    assert_string_equal(out.data, "{\"env\":\"prod\",\"scope\":\"a,b\",\"team\":\"pay\"}");
    cw_buf_reset(&out);
    assert_int_equal(cw_metric_series_text("x", &a, &out), CW_OK);
    assert_string_equal(out.data, "x{env=\"prod\",scope=\"a,b\",team=\"pay\"}");
    cw_buf_free(&out);
    cw_metric_labels b = {0};
    assert_int_equal(cw_metric_labels_from_text("{\"scope\":\"a,b\",\"env\":\"prod\"}", &b, &d),
                     CW_OK);
    assert_true(cw_metric_labels_match(&a, &b));
    cw_metric_labels_free(&a);
    cw_metric_labels_free(&b);
    cw_metric_labels_free(&w);
    assert_int_equal(cw_metric_labels_parse("team=pay", &a, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "labels: column 6: expected a quoted value (\"...\", escapes \\\\ "
                               "\\\" \\n) for 'team'");
    assert_int_equal(cw_metric_labels_parse("{a=\"1\"", &a, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "labels: missing '}'");
    assert_int_equal(cw_metric_labels_parse("a=\"1\" b=\"2\"", &a, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "labels: column 7: expected ',' between labels");
    assert_int_equal(cw_metric_labels_parse("a=\"1\",a=\"2\"", &a, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "label 'a': given twice");
}

static void test_durations(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int64_t ms;
    } ok[] = {{"15s", 15000},       {"5m", 300000},   {"1h30m", 5400000}, {"1d", 86400000},
              {"1w", 604800000},    {"300", 300000},  {"250ms", 250},     {"1y", 31536000000},
              {"2h5s10ms", 7205010}};
    for (size_t i = 0; i < FX_LEN(ok); i++) {
        int64_t ms = 0;
        assert_true(cw_duration_parse(ok[i].in, &ms));
        assert_int_equal(ms, ok[i].ms);
    }
    static const char *const bad[] = {"", "0", "0s", "1.5h", "m", "5m1h", "1x", "-5m",
                                      "1h1h", "101y", "99999999999999999999s", "1 h"};
    for (size_t i = 0; i < FX_LEN(bad); i++) {
        int64_t ms = 0;
        assert_false(cw_duration_parse(bad[i], &ms));
    }
    char out[32];
    cw_duration_format(86400000, out);
    assert_string_equal(out, "1d");
    cw_duration_format(5400000, out);
    assert_string_equal(out, "1h30m");
    cw_duration_format(691200000, out);
    assert_string_equal(out, "1w1d");
    int64_t t = 0;
    assert_true(cw_date_parse("2025-06-30", &t));
    assert_int_equal(t, 1751241600000LL);
    assert_true(cw_date_parse("2025-06-30T12:00:00Z", &t));
    assert_false(cw_date_parse("2025-06-31", &t));
    assert_false(cw_date_parse("30/06/2025", &t));
}

static void test_query_range(void **state)
{
    (void)state;
    /* the shape of the Prometheus HTTP API documentation's range query example */
    const char *ok = "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
                     "{\"metric\":{\"__name__\":\"up\",\"job\":\"prometheus\",\"instance\":\"localhost:9090\"},"
                     "\"values\":[[1435781430.781,\"1\"],[1435781445.781,\"1\"],[1435781460.781,\"NaN\"]]},"
                     "{\"metric\":{\"__name__\":\"up\",\"job\":\"node\",\"instance\":\"localhost:9091\"},"
                     "\"values\":[[1435781430.781,\"0\"],[1435781445.781,\"0.5e1\"]]}]}}";
    cw_metric_batch b = {0};
    cw_diag d = {{0}};
    assert_int_equal(cw_metric_parse_query_range(ok, strlen(ok), "kpi_up", NULL, &b, &d), CW_OK);
    assert_int_equal(b.nseries, 2);
    assert_int_equal(b.nsamples, 4);
    assert_int_equal(b.nonfinite, 1);
    assert_true(find(&b, "kpi_up", "{\"instance\":\"localhost:9091\",\"job\":\"node\"}",
                     1435781445781LL) == 5);
    assert_true(find(&b, "kpi_up", "{\"instance\":\"localhost:9090\",\"job\":\"prometheus\"}",
                     1435781430781LL) == 1);
    cw_metric_batch_free(&b);
    static const struct {
        const char *in, *msg;
    } bad[] = {
        {"{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"parse error at char 4\"}",
         "Prometheus: bad_data: parse error at char 4"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}",
         "data: a range query answers resultType \"matrix\" with a result array, not vector"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},"
         "\"values\":[[1,2]]}]}}",
         "data.result[0].values[0]: must be [seconds, \"value\"]"},
        {"<html>", "the answer is not JSON (line 1, column 1: '[' or '{' expected near '<')"},
        {"{}", "status: must be \"success\" or \"error\""},
    };
    for (size_t i = 0; i < FX_LEN(bad); i++) {
        assert_int_equal(cw_metric_parse_query_range(bad[i].in, strlen(bad[i].in), "k", NULL, &b, &d),
                         CW_ERR_INVALID);
        assert_string_equal(d.msg, bad[i].msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prometheus_example), cmocka_unit_test(test_text_errors),
        cmocka_unit_test(test_text_details),       cmocka_unit_test(test_openmetrics),
        cmocka_unit_test(test_json),               cmocka_unit_test(test_decode_media_types),
        cmocka_unit_test(test_labels),             cmocka_unit_test(test_durations),
        cmocka_unit_test(test_query_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
