/*
 * metric.h — metric samples (KPIs, issue #16): the series model (a name and
 * a set of labels), samples (series, time, value), and the pure parsers of
 * the two formats conway takes them in:
 *
 *  - JSON: [{"name": "checkout_conversion", "labels": {"team": "payments"},
 *            "time": "2025-03-01T00:00:00Z" | <Unix ms>, "value": 0.021}]
 *  - Prometheus text exposition format 0.0.4 (text/plain) and OpenMetrics
 *    1.0 (application/openmetrics-text), including the quoted UTF-8 metric
 *    and label names of the newer exposition format.
 *
 * Pure: no I/O, no globals. Every limit is checked while parsing (names,
 * label counts, samples per batch), and errors name the line and column
 * (text) or the element and member (JSON).
 *
 * Rules decided here (documented in docs/strategy.md):
 *  - A name (metric or label) is 1..CW_METRIC_NAME_MAX bytes of UTF-8 with
 *    no control characters; label names starting with "__" are reserved.
 *  - Samples without a timestamp take the parse options' default time (the
 *    time the request arrived).
 *  - Only finite values are kept: NaN (Prometheus' staleness marker) and
 *    ±Inf are counted in `nonfinite` and dropped, because goals and
 *    hypotheses compute with real numbers.
 *  - The same series and time given twice in one batch: the later wins.
 *
 * Ownership: a batch owns its series and samples; cw_metric_batch_free
 * releases everything.
 */
#ifndef CW_EVENTS_METRIC_H
#define CW_EVENTS_METRIC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/strmap.h"

#define CW_METRIC_NAME_MAX 200          /* metric and label names, bytes */
#define CW_METRIC_VALUE_MAX 1024        /* label values, bytes */
#define CW_METRIC_LABELS_MAX 32         /* labels per series */
#define CW_METRIC_DEFAULT_MAX_SAMPLES 200000

typedef struct {
    char *name;                         /* owned */
    char *value;                        /* owned */
} cw_metric_label;

/* A set of labels, sorted by name, names unique. */
typedef struct {
    cw_metric_label *items;
    size_t len;
} cw_metric_labels;

typedef struct {
    char *name;                         /* owned */
    cw_metric_labels labels;            /* owned */
    char *labels_json;                  /* canonical: {"a":"x","b":"y"}, keys sorted */
} cw_metric_series;

typedef struct {
    size_t series;                      /* index into the batch's series */
    int64_t time_ms;
    double value;                       /* finite */
} cw_metric_sample;

typedef struct {
    cw_metric_series *series;
    size_t nseries, cap_series;
    cw_metric_sample *samples;          /* after parsing: sorted by (series, time), unique */
    size_t nsamples, cap_samples;
    size_t nonfinite;                   /* NaN/±Inf samples dropped */
    size_t replaced;                    /* samples replaced by a later one of the same time */
    cw_strmap index;                    /* "name\x01labels_json" -> series index + 1 */
} cw_metric_batch;

typedef struct {
    size_t max_samples;                 /* 0 = CW_METRIC_DEFAULT_MAX_SAMPLES */
    int64_t default_time_ms;            /* for samples without a timestamp */
} cw_metric_parse_opts;

/* A zero-initialised batch is empty; free it when done (also after errors). */
void cw_metric_batch_free(cw_metric_batch *b);

/* Whether s is a valid metric or label name (see the rules above; label
 * names must also not start with "__"). */
bool cw_metric_name_valid(const char *s, size_t len);
bool cw_metric_label_name_valid(const char *s, size_t len);

/*
 * Adds one sample (copies name and labels; labels need not be sorted).
 * Checks names, values (UTF-8, lengths), duplicate label names and the
 * sample limit. CW_ERR_INVALID / CW_ERR_TOO_LARGE naming the problem
 * (without a location: callers prefix it). A non-finite value is counted
 * and not added.
 */
cw_err cw_metric_batch_add(cw_metric_batch *b, const char *name, const cw_metric_label *labels,
                           size_t nlabels, int64_t time_ms, double value, size_t max_samples,
                           cw_diag *d);

/* Sorts the samples by (series, time) and drops all but the last given of
 * each (series, time). The parsers call it; callers of batch_add do. */
void cw_metric_batch_finish(cw_metric_batch *b);

/*
 * Parses the Prometheus text exposition format (openmetrics false: 0.0.4,
 * timestamps in integer milliseconds, comments of any kind) or OpenMetrics
 * 1.0 (timestamps in seconds with fractions, must end with "# EOF" and
 * nothing after it, exemplars after " # " are skipped). *out must be zero
 * or empty; on error it is emptied and d says "line L, column C: why".
 */
cw_err cw_metric_parse_text(const char *text, size_t len, bool openmetrics,
                            const cw_metric_parse_opts *o, cw_metric_batch *out, cw_diag *d);

/* Parses the JSON array form. Errors name the element: "[3].labels.env:
 * must be a string". */
cw_err cw_metric_parse_json(const char *text, size_t len, const cw_metric_parse_opts *o,
                            cw_metric_batch *out, cw_diag *d);

/*
 * Picks the parser by media type: application/json (or +json) → JSON;
 * text/plain → Prometheus 0.0.4; application/openmetrics-text →
 * OpenMetrics. CW_ERR_UNSUPPORTED naming the types accepted for any other
 * (or a missing) Content-Type.
 */
cw_err cw_metric_decode(const char *content_type, const char *body, size_t len,
                        const cw_metric_parse_opts *o, cw_metric_batch *out, cw_diag *d);

/*
 * Parses the answer of Prometheus' GET /api/v1/query_range (a "matrix")
 * into samples of the series `name` (each result's labels without
 * __name__; times in seconds → ms). An error answer is CW_ERR_INVALID with
 * "Prometheus: <errorType>: <error>".
 */
cw_err cw_metric_parse_query_range(const char *text, size_t len, const char *name,
                                   const cw_metric_parse_opts *o, cw_metric_batch *out,
                                   cw_diag *d);

/* ---- label sets and matchers --------------------------------------------------- */

void cw_metric_labels_free(cw_metric_labels *l);

/*
 * Parses a label set written as in the text format, with or without braces:
 * `team="payments",env="prod"` or `{team="payments"}`; empty text is the
 * empty set. Sorted; a name given twice is an error. *out must be empty.
 */
cw_err cw_metric_labels_parse(const char *text, cw_metric_labels *out, cw_diag *d);

/* Builds a sorted label set from a JSON object of strings (NULL = empty).
 * path names the object in errors ("spec.metric.labels"). */
cw_err cw_metric_labels_from_json(const json_t *obj, const char *path, cw_metric_labels *out,
                                  cw_diag *d);

/* Whether every label of want is in have with the same value. */
bool cw_metric_labels_match(const cw_metric_labels *have, const cw_metric_labels *want);

/* The canonical JSON object text of a sorted set (keys sorted, compact). */
cw_err cw_metric_labels_json(const cw_metric_labels *l, cw_buf *out);

/* Parses canonical (or any) JSON object text of string values into a set. */
cw_err cw_metric_labels_from_text(const char *json_text, cw_metric_labels *out, cw_diag *d);

/* Appends `name{a="x",b="y"}` (label values escaped as in the text format). */
cw_err cw_metric_series_text(const char *name, const cw_metric_labels *l, cw_buf *out);

/* ---- points: samples aggregated per step ----------------------------------------- */

typedef enum {
    CW_AGG_LAST = 0,        /* the latest sample of the step */
    CW_AGG_AVG,
    CW_AGG_MIN,
    CW_AGG_MAX,
    CW_AGG_SUM,
    CW_AGG_COUNT
} cw_metric_agg;

/* "last", "avg", "min", "max", "sum", "count"; false for other text. */
bool cw_metric_agg_parse(const char *text, cw_metric_agg *out);
const char *cw_metric_agg_name(cw_metric_agg a);

/* One point of an answer: the aggregate of the samples of the step
 * [time, time + step). */
typedef struct {
    int64_t time_ms;
    double value;
} cw_metric_point;

/*
 * Aggregates points (or samples) in[0..n), sorted by time, into the steps
 * of the window [from, to): out gets one point per step holding any input,
 * at the step's start. *out (caller frees) is NULL when none; CW_ERR_NOMEM.
 */
cw_err cw_metric_points_bucket(const cw_metric_point *in, size_t n, int64_t from, int64_t to,
                               int64_t step, cw_metric_agg agg, cw_metric_point **out,
                               size_t *nout);

#endif
