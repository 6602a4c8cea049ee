/*
 * metric.c — the metric series model of metric.h: batches of samples with
 * their series deduplicated, names and label sets (parsing, canonical JSON,
 * matching), durations and dates. The format parsers live in
 * metric_text.c and metric_json.c.
 */
#include "events/metric.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/timeutil.h"
#include "util/utf8.h"

/* ---- names ---------------------------------------------------------------------- */

static bool no_controls(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

bool cw_metric_name_valid(const char *s, size_t len)
{
    return s && len > 0 && len <= CW_METRIC_NAME_MAX && no_controls(s, len) &&
           cw_utf8_valid(s, len);
}

bool cw_metric_label_name_valid(const char *s, size_t len)
{
    return cw_metric_name_valid(s, len) && !(len >= 2 && s[0] == '_' && s[1] == '_');
}

static bool value_valid(const char *s, size_t len)
{
    /* label values may hold newlines (escaped in the text format) but not NUL */
    return len <= CW_METRIC_VALUE_MAX && memchr(s, '\0', len) == NULL && cw_utf8_valid(s, len);
}

/* ---- label sets ----------------------------------------------------------------- */

void cw_metric_labels_free(cw_metric_labels *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->len; i++) {
        free(l->items[i].name);
        free(l->items[i].value);
    }
    free(l->items);
    l->items = NULL;
    l->len = 0;
}

static int cmp_label(const void *a, const void *b)
{
    return strcmp(((const cw_metric_label *)a)->name, ((const cw_metric_label *)b)->name);
}

/* Copies labels[0..n) into a sorted set, checking names, values and
 * duplicates. *out is empty on error. */
static cw_err labels_copy(const cw_metric_label *labels, size_t n, cw_metric_labels *out,
                          cw_diag *d)
{
    out->items = NULL;
    out->len = 0;
    if (n > CW_METRIC_LABELS_MAX)
        return cw_fail(d, CW_ERR_TOO_LARGE, "labels: more than %d labels", CW_METRIC_LABELS_MAX);
    if (n == 0)
        return CW_OK;
    cw_metric_label *items = calloc(n, sizeof *items);
    if (!items)
        return cw_fail(d, CW_ERR_NOMEM, "labels: out of memory");
    out->items = items;
    cw_err err = CW_OK;
    for (size_t i = 0; i < n && !err; i++) {
        const char *name = labels[i].name, *value = labels[i].value;
        size_t nl = strlen(name), vl = strlen(value);
        if (!cw_metric_label_name_valid(name, nl))
            err = cw_fail(d, CW_ERR_INVALID,
                          "label name '%.64s': must be 1 to %d characters of UTF-8 without "
                          "control characters, not starting with '__'",
                          name, CW_METRIC_NAME_MAX);
        else if (!value_valid(value, vl))
            err = cw_fail(d, CW_ERR_INVALID,
                          "label '%.64s': the value must be UTF-8 of at most %d bytes", name,
                          CW_METRIC_VALUE_MAX);
        else {
            items[i].name = strdup(name);
            items[i].value = strdup(value);
            out->len = i + 1;
            if (!items[i].name || !items[i].value)
                err = cw_fail(d, CW_ERR_NOMEM, "labels: out of memory");
        }
    }
    if (!err) {
        qsort(items, n, sizeof *items, cmp_label);
        for (size_t i = 1; i < n && !err; i++)
            if (!strcmp(items[i - 1].name, items[i].name))
                err = cw_fail(d, CW_ERR_INVALID, "label '%.64s': given twice", items[i].name);
    }
    if (err)
        cw_metric_labels_free(out);
    return err;
}

cw_err cw_metric_labels_json(const cw_metric_labels *l, cw_buf *out)
{
    cw_err err = cw_buf_putc(out, '{');
    for (size_t i = 0; i < l->len && !err; i++) {
        if (i)
            err = cw_buf_putc(out, ',');
        if (!err)
            err = cw_buf_json_str(out, l->items[i].name);
        if (!err)
            err = cw_buf_putc(out, ':');
        if (!err)
            err = cw_buf_json_str(out, l->items[i].value);
    }
    return err ? err : cw_buf_putc(out, '}');
}

bool cw_metric_labels_match(const cw_metric_labels *have, const cw_metric_labels *want)
{
    /* both sorted: one merge pass */
    size_t i = 0;
    for (size_t j = 0; j < want->len; j++) {
        while (i < have->len && strcmp(have->items[i].name, want->items[j].name) < 0)
            i++;
        if (i == have->len || strcmp(have->items[i].name, want->items[j].name) ||
            strcmp(have->items[i].value, want->items[j].value))
            return false;
    }
    return true;
}

cw_err cw_metric_labels_from_json(const json_t *obj, const char *path, cw_metric_labels *out,
                                  cw_diag *d)
{
    out->items = NULL;
    out->len = 0;
    if (!obj || json_is_null(obj))
        return CW_OK;
    if (!json_is_object(obj))
        return cw_fail(d, CW_ERR_INVALID, "%s: must be an object of label names to strings", path);
    size_t n = json_object_size(obj);
    if (n > CW_METRIC_LABELS_MAX)
        return cw_fail(d, CW_ERR_TOO_LARGE, "%s: more than %d labels", path, CW_METRIC_LABELS_MAX);
    cw_metric_label tmp[CW_METRIC_LABELS_MAX];
    size_t k = 0;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        if (!json_is_string(v))
            return cw_fail(d, CW_ERR_INVALID, "%s.%.64s: must be a string", path, key);
        tmp[k].name = (char *)key;
        tmp[k].value = (char *)json_string_value(v);
        k++;
    }
    cw_err err = labels_copy(tmp, k, out, d);
    if (err)
        cw_diag_prefix(d, "%s", path);
    return err;
}

cw_err cw_metric_labels_from_text(const char *json_text, cw_metric_labels *out, cw_diag *d)
{
    json_error_t je;
    json_t *obj = json_loads(json_text, JSON_REJECT_DUPLICATES, &je);
    if (!obj)
        return cw_fail(d, CW_ERR_INVALID, "labels: not JSON: %s", je.text);
    cw_err err = cw_metric_labels_from_json(obj, "labels", out, d);
    json_decref(obj);
    return err;
}

static void skip_ws(const char **p)
{
    while (**p == ' ' || **p == '\t')
        (*p)++;
}

/* A quoted string with the text format's escapes (\\ \" \n) into out. */
static bool read_quoted(const char **p, cw_buf *out)
{
    const char *s = *p;
    if (*s != '"')
        return false;
    s++;
    cw_buf_reset(out);
    for (;;) {
        const char *run = s;
        while (*s && *s != '"' && *s != '\\' && *s != '\n')
            s++;
        if (s > run && cw_buf_append(out, run, (size_t)(s - run)))
            return false;
        if (*s == '"')
            break;
        if (*s != '\\')
            return false;
        char c = s[1] == 'n' ? '\n' : s[1] == '\\' ? '\\' : s[1] == '"' ? '"' : 0;
        if (!c || cw_buf_putc(out, c))
            return false;
        s += 2;
    }
    if (cw_buf_putc(out, '\0')) /* make an empty string a valid C string */
        return false;
    out->len--;
    *p = s + 1;
    return true;
}

cw_err cw_metric_labels_parse(const char *text, cw_metric_labels *out, cw_diag *d)
{
    out->items = NULL;
    out->len = 0;
    const char *p = text;
    skip_ws(&p);
    bool braces = *p == '{';
    if (braces)
        p++;
    cw_metric_label tmp[CW_METRIC_LABELS_MAX];
    size_t n = 0;
    cw_buf names[CW_METRIC_LABELS_MAX], values[CW_METRIC_LABELS_MAX];
    cw_err err = CW_OK;
    for (;;) {
        skip_ws(&p);
        if (!*p || (braces && *p == '}'))
            break;
        if (n == CW_METRIC_LABELS_MAX) {
            err = cw_fail(d, CW_ERR_TOO_LARGE, "labels: more than %d labels", CW_METRIC_LABELS_MAX);
            break;
        }
        cw_buf_init(&names[n], CW_METRIC_NAME_MAX + 1);
        cw_buf_init(&values[n], CW_METRIC_VALUE_MAX + 1);
        cw_buf *nb = &names[n], *vb = &values[n];
        n++;
        if (*p == '"') {
            if (!read_quoted(&p, nb)) {
                err = cw_fail(d, CW_ERR_INVALID, "labels: column %zu: a quoted name is not closed "
                              "or too long", (size_t)(p - text) + 1);
                break;
            }
        } else {
            const char *s = p;
            while (isalnum((unsigned char)*p) || *p == '_')
                p++;
            if (p == s || cw_buf_append(nb, s, (size_t)(p - s))) {
                err = cw_fail(d, CW_ERR_INVALID, "labels: column %zu: expected a label name",
                              (size_t)(p - text) + 1);
                break;
            }
        }
        skip_ws(&p);
        if (*p != '=') {
            err = cw_fail(d, CW_ERR_INVALID, "labels: column %zu: expected '=' after '%.64s'",
                          (size_t)(p - text) + 1, cw_buf_cstr(nb));
            break;
        }
        p++;
        skip_ws(&p);
        if (!read_quoted(&p, vb)) {
            err = cw_fail(d, CW_ERR_INVALID,
                          "labels: column %zu: expected a quoted value (\"...\", escapes \\\\ "
                          "\\\" \\n) for '%.64s'",
                          (size_t)(p - text) + 1, cw_buf_cstr(nb));
            break;
        }
        tmp[n - 1].name = (char *)cw_buf_cstr(nb);
        tmp[n - 1].value = (char *)cw_buf_cstr(vb);
        skip_ws(&p);
        if (*p == ',')
            p++;
        else if (*p && !(braces && *p == '}')) {
            err = cw_fail(d, CW_ERR_INVALID, "labels: column %zu: expected ',' between labels",
                          (size_t)(p - text) + 1);
            break;
        }
    }
    if (!err && braces) {
        if (*p != '}')
            err = cw_fail(d, CW_ERR_INVALID, "labels: missing '}'");
        else {
            p++;
            skip_ws(&p);
            if (*p)
                err = cw_fail(d, CW_ERR_INVALID, "labels: column %zu: text after '}'",
                              (size_t)(p - text) + 1);
        }
    }
    if (!err)
        err = labels_copy(tmp, n, out, d);
    for (size_t i = 0; i < n; i++) {
        cw_buf_free(&names[i]);
        cw_buf_free(&values[i]);
    }
    return err;
}

cw_err cw_metric_series_text(const char *name, const cw_metric_labels *l, cw_buf *out)
{
    cw_err err = cw_buf_puts(out, name);
    if (!err && l->len)
        err = cw_buf_putc(out, '{');
    for (size_t i = 0; i < l->len && !err; i++) {
        err = cw_buf_printf(out, "%s%s=\"", i ? "," : "", l->items[i].name);
        for (const char *v = l->items[i].value; *v && !err; v++)
            err = *v == '\\'   ? cw_buf_puts(out, "\\\\")
                  : *v == '"'  ? cw_buf_puts(out, "\\\"")
                  : *v == '\n' ? cw_buf_puts(out, "\\n")
                               : cw_buf_putc(out, *v);
        if (!err)
            err = cw_buf_putc(out, '"');
    }
    if (!err && l->len)
        err = cw_buf_putc(out, '}');
    return err;
}

/* ---- batches -------------------------------------------------------------------- */

void cw_metric_batch_free(cw_metric_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->nseries; i++) {
        free(b->series[i].name);
        free(b->series[i].labels_json);
        cw_metric_labels_free(&b->series[i].labels);
    }
    free(b->series);
    free(b->samples);
    cw_strmap_free(&b->index);
    memset(b, 0, sizeof *b);
}

/* The index of the series (name, labels), added when new. Takes labels. */
static cw_err series_index(cw_metric_batch *b, const char *name, cw_metric_labels *labels,
                           size_t *idx, cw_diag *d)
{
    cw_buf key;
    cw_buf_init(&key, 0);
    cw_err err = cw_buf_puts(&key, name);
    if (!err)
        err = cw_buf_putc(&key, '\x01');
    size_t json_at = key.len;
    if (!err)
        err = cw_metric_labels_json(labels, &key);
    if (err) {
        cw_buf_free(&key);
        cw_metric_labels_free(labels);
        return cw_fail(d, CW_ERR_NOMEM, "metrics: out of memory");
    }
    void *found = cw_strmap_get(&b->index, key.data);
    if (found) {
        *idx = (size_t)(uintptr_t)found - 1;
        cw_buf_free(&key);
        cw_metric_labels_free(labels);
        return CW_OK;
    }
    if (b->nseries == b->cap_series) {
        size_t cap = b->cap_series ? b->cap_series * 2 : 16;
        cw_metric_series *s = realloc(b->series, cap * sizeof *s);
        if (!s)
            err = CW_ERR_NOMEM;
        else {
            b->series = s;
            b->cap_series = cap;
        }
    }
    cw_metric_series *s = NULL;
    if (!err) {
        s = &b->series[b->nseries];
        memset(s, 0, sizeof *s);
        s->name = strdup(name);
        s->labels_json = strdup(key.data + json_at);
        if (!s->name || !s->labels_json)
            err = CW_ERR_NOMEM;
    }
    if (!err)
        err = cw_strmap_put(&b->index, key.data, (void *)(uintptr_t)(b->nseries + 1));
    cw_buf_free(&key);
    if (err) {
        if (s) {
            free(s->name);
            free(s->labels_json);
        }
        cw_metric_labels_free(labels);
        return cw_fail(d, CW_ERR_NOMEM, "metrics: out of memory");
    }
    s->labels = *labels;
    labels->items = NULL;
    labels->len = 0;
    *idx = b->nseries++;
    return CW_OK;
}

cw_err cw_metric_batch_add(cw_metric_batch *b, const char *name, const cw_metric_label *labels,
                           size_t nlabels, int64_t time_ms, double value, size_t max_samples,
                           cw_diag *d)
{
    if (!max_samples)
        max_samples = CW_METRIC_DEFAULT_MAX_SAMPLES;
    size_t nlen = strlen(name);
    if (!cw_metric_name_valid(name, nlen))
        return cw_fail(d, CW_ERR_INVALID,
                       "name '%.64s': must be 1 to %d characters of UTF-8 without control "
                       "characters",
                       name, CW_METRIC_NAME_MAX);
    cw_metric_labels set;
    cw_err err = labels_copy(labels, nlabels, &set, d);
    if (err)
        return err;
    if (!isfinite(value)) {
        cw_metric_labels_free(&set);
        b->nonfinite++;
        return CW_OK;
    }
    if (b->nsamples >= max_samples) {
        cw_metric_labels_free(&set);
        return cw_fail(d, CW_ERR_TOO_LARGE, "more than %zu samples in one request", max_samples);
    }
    size_t idx = 0;
    err = series_index(b, name, &set, &idx, d);
    if (err)
        return err;
    if (b->nsamples == b->cap_samples) {
        size_t cap = b->cap_samples ? b->cap_samples * 2 : 64;
        cw_metric_sample *s = realloc(b->samples, cap * sizeof *s);
        if (!s)
            return cw_fail(d, CW_ERR_NOMEM, "metrics: out of memory");
        b->samples = s;
        b->cap_samples = cap;
    }
    b->samples[b->nsamples++] = (cw_metric_sample){idx, time_ms, value};
    return CW_OK;
}

/* Sorting keeps the order given among equal (series, time) through the
 * position, so "the later wins" does not depend on qsort's stability. */
typedef struct {
    cw_metric_sample s;
    size_t pos;
} pos_sample;

static int cmp_pos_sample(const void *a, const void *b)
{
    const pos_sample *x = a, *y = b;
    if (x->s.series != y->s.series)
        return x->s.series < y->s.series ? -1 : 1;
    if (x->s.time_ms != y->s.time_ms)
        return x->s.time_ms < y->s.time_ms ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int cmp_sample(const void *a, const void *b)
{
    const cw_metric_sample *x = a, *y = b;
    if (x->series != y->series)
        return x->series < y->series ? -1 : 1;
    return x->time_ms < y->time_ms ? -1 : x->time_ms > y->time_ms;
}

void cw_metric_batch_finish(cw_metric_batch *b)
{
    size_t n = b->nsamples;
    if (n < 2)
        return;
    pos_sample *tmp = malloc(n * sizeof *tmp);
    if (!tmp) {
        /* without memory for positions: sort in place, ties keep any one;
         * still unique per (series, time) as the store needs */
        qsort(b->samples, n, sizeof *b->samples, cmp_sample);
    } else {
        for (size_t i = 0; i < n; i++)
            tmp[i] = (pos_sample){b->samples[i], i};
        qsort(tmp, n, sizeof *tmp, cmp_pos_sample);
        for (size_t i = 0; i < n; i++)
            b->samples[i] = tmp[i].s;
        free(tmp);
    }
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w && b->samples[w - 1].series == b->samples[i].series &&
            b->samples[w - 1].time_ms == b->samples[i].time_ms) {
            b->samples[w - 1] = b->samples[i]; /* the later wins */
            b->replaced++;
            continue;
        }
        b->samples[w++] = b->samples[i];
    }
    b->nsamples = w;
}

/* ---- decoding by media type --------------------------------------------------------- */

cw_err cw_metric_decode(const char *content_type, const char *body, size_t len,
                        const cw_metric_parse_opts *o, cw_metric_batch *out, cw_diag *d)
{
    static const char accepted[] = "send application/json, text/plain (Prometheus text format "
                                   "0.0.4) or application/openmetrics-text";
    if (!content_type || !*content_type)
        return cw_fail(d, CW_ERR_UNSUPPORTED, "Content-Type: required; %s", accepted);
    const char *p = content_type;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strcspn(p, ";");
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
#define IS(t) (n == sizeof(t) - 1 && !strncasecmp(p, t, n))
    if (IS("application/json") || (n > 5 && !strncasecmp(p + n - 5, "+json", 5) &&
                                   !strncasecmp(p, "application/", 12)))
        return cw_metric_parse_json(body, len, o, out, d);
    if (IS("text/plain"))
        return cw_metric_parse_text(body, len, false, o, out, d);
    if (IS("application/openmetrics-text"))
        return cw_metric_parse_text(body, len, true, o, out, d);
#undef IS
    return cw_fail(d, CW_ERR_UNSUPPORTED, "Content-Type: '%.*s' is not accepted; %s",
                   (int)(n > 80 ? 80 : n), p, accepted);
}

/* ---- points ------------------------------------------------------------------------ */

static const char *const agg_names[] = {"last", "avg", "min", "max", "sum", "count"};

bool cw_metric_agg_parse(const char *text, cw_metric_agg *out)
{
    for (size_t i = 0; i < sizeof agg_names / sizeof agg_names[0]; i++)
        if (text && !strcmp(text, agg_names[i])) {
            *out = (cw_metric_agg)i;
            return true;
        }
    return false;
}

const char *cw_metric_agg_name(cw_metric_agg a)
{
    return (unsigned)a < sizeof agg_names / sizeof agg_names[0] ? agg_names[a] : "last";
}

cw_err cw_metric_points_bucket(const cw_metric_point *in, size_t n, int64_t from, int64_t to,
                               int64_t step, cw_metric_agg agg, cw_metric_point **out,
                               size_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (step <= 0 || to <= from)
        return CW_OK;
    cw_metric_point *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return CW_ERR_NOMEM;
    size_t k = 0;
    size_t i = 0;
    while (i < n && in[i].time_ms < from)
        i++;
    while (i < n && in[i].time_ms < to) {
        int64_t b = (in[i].time_ms - from) / step;
        int64_t end = from + (b + 1) * step;
        double acc = 0, best = in[i].value, last = in[i].value;
        size_t count = 0;
        for (; i < n && in[i].time_ms < end && in[i].time_ms < to; i++) {
            double x = in[i].value;
            acc += x;
            count++;
            if (agg == CW_AGG_MIN ? x < best : x > best)
                best = x;
            last = x;
        }
        double val = agg == CW_AGG_AVG     ? acc / (double)count
                     : agg == CW_AGG_SUM   ? acc
                     : agg == CW_AGG_COUNT ? (double)count
                     : agg == CW_AGG_LAST  ? last
                                           : best;
        v[k++] = (cw_metric_point){from + b * step, val};
    }
    if (!k) {
        free(v);
        return CW_OK;
    }
    *out = v;
    *nout = k;
    return CW_OK;
}
