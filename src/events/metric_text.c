/*
 * metric_text.c — the Prometheus text exposition format (0.0.4) and
 * OpenMetrics 1.0 into a metric batch (metric.h). One pass over the lines;
 * each sample line is
 *
 *   name [ "{" labels "}" ] value [ timestamp ] [ " # " exemplar ]   (OM only: exemplar)
 *   "{" "\"quoted.name\"" [ "," labels ] "}" value [ timestamp ]     (UTF-8 names)
 *
 * Comments (# HELP, # TYPE, # UNIT and, in 0.0.4, any other) are skipped:
 * conway keeps the samples, not the families. In OpenMetrics timestamps are
 * seconds (with fractions), in 0.0.4 integer milliseconds.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "events/metric.h"

typedef struct {
    bool om;
    size_t max_samples;
    int64_t default_time;
    size_t line;               /* 1-based */
    const char *start;         /* of the current line (NUL-terminated copy) */
    cw_metric_batch *out;
    cw_diag *d;
    cw_buf name;
    cw_buf lname[CW_METRIC_LABELS_MAX], lvalue[CW_METRIC_LABELS_MAX];
    cw_metric_label labels[CW_METRIC_LABELS_MAX];
    size_t nlabels;
} tp;

static cw_err fail_at(tp *t, const char *p, cw_err err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static cw_err fail_at(tp *t, const char *p, cw_err err, const char *fmt, ...)
{
    char why[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return cw_fail(t->d, err, "line %zu, column %zu: %s", t->line, (size_t)(p - t->start) + 1,
                   why);
}

static void skip_ws(const char **p)
{
    while (**p == ' ' || **p == '\t')
        (*p)++;
}

static bool name_start(char c) { return isalpha((unsigned char)c) || c == '_' || c == ':'; }
static bool name_char(char c) { return isalnum((unsigned char)c) || c == '_' || c == ':'; }
static bool label_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
static bool label_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* A quoted string (escapes \\ \" \n) into out; false when malformed. */
static bool quoted(const char **p, cw_buf *out)
{
    const char *s = *p;
    if (*s != '"')
        return false;
    s++;
    cw_buf_reset(out);
    for (;;) {
        const char *run = s;
        while (*s && *s != '"' && *s != '\\')
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
    if (cw_buf_putc(out, '\0'))
        return false;
    out->len--;
    *p = s + 1;
    return true;
}

/* A float as Prometheus writes them: decimal with optional exponent, or
 * [+-]Inf / NaN (any case). Tokens are short; the copy is NUL-terminated. */
static bool parse_float(const char *tok, size_t n, double *out)
{
    if (n == 0 || n > 64)
        return false;
    char buf[72];
    memcpy(buf, tok, n);
    buf[n] = '\0';
    const char *s = buf;
    if (*s == '+' || *s == '-')
        s++;
    if (!strcasecmp(s, "inf") || !strcasecmp(s, "infinity")) {
        *out = buf[0] == '-' ? -INFINITY : INFINITY;
        return true;
    }
    if (!strcasecmp(s, "nan")) {
        *out = NAN;
        return true;
    }
    size_t digits = 0;
    while (isdigit((unsigned char)*s)) {
        s++;
        digits++;
    }
    if (*s == '.') {
        s++;
        while (isdigit((unsigned char)*s)) {
            s++;
            digits++;
        }
    }
    if (!digits)
        return false;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!isdigit((unsigned char)*s))
            return false;
        while (isdigit((unsigned char)*s))
            s++;
    }
    if (*s)
        return false;
    errno = 0;
    char *end = NULL;
    double v = strtod(buf, &end);
    if (*end)
        return false;
    *out = v; /* overflow gives ±HUGE_VAL = ±Inf, dropped as non-finite */
    return true;
}

/* Milliseconds: 0.0.4 integer ms, OpenMetrics float seconds. */
static bool parse_time(const tp *t, const char *tok, size_t n, int64_t *out)
{
    if (!t->om) {
        if (n == 0 || n > 20)
            return false;
        char buf[24];
        memcpy(buf, tok, n);
        buf[n] = '\0';
        const char *s = buf[0] == '-' || buf[0] == '+' ? buf + 1 : buf;
        if (!*s)
            return false;
        for (const char *q = s; *q; q++)
            if (!isdigit((unsigned char)*q))
                return false;
        errno = 0;
        long long v = strtoll(buf, NULL, 10);
        if (errno)
            return false;
        *out = v;
        return true;
    }
    double sec;
    /* 2^53 ms is about 285,000 years either side of the epoch */
    if (!parse_float(tok, n, &sec) || !isfinite(sec) || fabs(sec) > 9.0e12)
        return false;
    *out = (int64_t)llround(sec * 1000.0);
    return true;
}

/* The labels inside braces; *p is at '{'. The metric name may be given as
 * a bare quoted string (the UTF-8 form) when the line did not start with one. */
static cw_err braces(tp *t, const char **p, bool *have_name)
{
    const char *s = *p + 1;
    for (;;) {
        skip_ws(&s);
        if (*s == '}')
            break;
        const char *item = s;
        cw_buf *nb = t->nlabels < CW_METRIC_LABELS_MAX ? &t->lname[t->nlabels] : NULL;
        if (!nb)
            return fail_at(t, s, CW_ERR_TOO_LARGE, "more than %d labels", CW_METRIC_LABELS_MAX);
        if (*s == '"') {
            if (!quoted(&s, nb))
                return fail_at(t, item, CW_ERR_INVALID,
                               "a quoted name is not closed, too long, or uses an escape "
                               "other than \\\\ \\\" \\n");
            skip_ws(&s);
            if (*s != '=') {
                /* a bare quoted string: the metric name */
                if (*have_name)
                    return fail_at(t, item, CW_ERR_INVALID,
                                   "the metric name is given twice (before the braces and "
                                   "quoted inside them)");
                cw_buf_reset(&t->name);
                if (cw_buf_append(&t->name, nb->data ? nb->data : "", nb->len) ||
                    cw_buf_putc(&t->name, '\0'))
                    return fail_at(t, item, CW_ERR_TOO_LARGE, "the metric name is too long");
                t->name.len--;
                *have_name = true;
                goto next;
            }
        } else {
            if (!label_start(*s))
                return fail_at(t, s, CW_ERR_INVALID, "expected a label name or '}'");
            while (label_char(*s))
                s++;
            cw_buf_reset(nb);
            if (cw_buf_append(nb, item, (size_t)(s - item)))
                return fail_at(t, item, CW_ERR_INVALID, "the label name is too long");
            skip_ws(&s);
            if (*s != '=')
                return fail_at(t, s, CW_ERR_INVALID, "expected '=' after label name '%.64s'",
                               nb->data);
        }
        s++; /* '=' */
        skip_ws(&s);
        {
            const char *vs = s;
            if (!quoted(&s, &t->lvalue[t->nlabels]))
                return fail_at(t, vs, CW_ERR_INVALID,
                               "expected a quoted label value (escapes \\\\ \\\" \\n), at most "
                               "%d bytes",
                               CW_METRIC_VALUE_MAX);
            t->labels[t->nlabels].name = (char *)cw_buf_cstr(nb);
            t->labels[t->nlabels].value = (char *)cw_buf_cstr(&t->lvalue[t->nlabels]);
            t->nlabels++;
        }
    next:
        skip_ws(&s);
        if (*s == ',') {
            s++;
            continue;
        }
        if (*s != '}')
            return fail_at(t, s, CW_ERR_INVALID, "expected ',' or '}'");
    }
    *p = s + 1;
    return CW_OK;
}

static cw_err sample_line(tp *t, const char *p)
{
    bool have_name = false;
    t->nlabels = 0;
    cw_buf_reset(&t->name);
    if (*p != '{') {
        const char *s = p;
        if (!name_start(*p))
            return fail_at(t, p, CW_ERR_INVALID, "expected a metric name, '{' or '#'");
        while (name_char(*p))
            p++;
        if (cw_buf_append(&t->name, s, (size_t)(p - s)))
            return fail_at(t, s, CW_ERR_INVALID, "the metric name is too long");
        have_name = true;
    }
    if (*p == '{') {
        cw_err err = braces(t, &p, &have_name);
        if (err)
            return err;
    }
    if (!have_name)
        return fail_at(t, p, CW_ERR_INVALID, "no metric name");
    if (*p != ' ' && *p != '\t')
        return fail_at(t, p, CW_ERR_INVALID, *p ? "expected a space before the value"
                                                : "missing value");
    skip_ws(&p);
    const char *vt = p;
    while (*p && *p != ' ' && *p != '\t')
        p++;
    double value;
    if (!parse_float(vt, (size_t)(p - vt), &value))
        return fail_at(t, vt, CW_ERR_INVALID, "'%.*s' is not a number", (int)(p - vt > 40 ? 40 : p - vt),
                       vt);
    skip_ws(&p);
    int64_t time_ms = t->default_time;
    if (*p && *p != '#') {
        const char *ts = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (!parse_time(t, ts, (size_t)(p - ts), &time_ms))
            return fail_at(t, ts, CW_ERR_INVALID,
                           t->om ? "'%.*s' is not a timestamp (seconds since the epoch)"
                                 : "'%.*s' is not a timestamp (integer milliseconds since the "
                                   "epoch)",
                           (int)(p - ts > 40 ? 40 : p - ts), ts);
        skip_ws(&p);
    }
    if (*p == '#' && t->om) {
        /* an exemplar: " # {labels} value [timestamp]"; not kept */
        const char *e = p + 1;
        skip_ws(&e);
        if (*e != '{')
            return fail_at(t, p, CW_ERR_INVALID, "an exemplar must start with '# {'");
    } else if (*p) {
        return fail_at(t, p, CW_ERR_INVALID, "unexpected text after the sample");
    }
    cw_err err = cw_metric_batch_add(t->out, cw_buf_cstr(&t->name), t->labels, t->nlabels,
                                     time_ms, value, t->max_samples, t->d);
    if (err)
        cw_diag_prefix(t->d, "line %zu", t->line);
    return err;
}

cw_err cw_metric_parse_text(const char *text, size_t len, bool openmetrics,
                            const cw_metric_parse_opts *o, cw_metric_batch *out, cw_diag *d)
{
    static const cw_metric_parse_opts defaults = {0};
    if (!o)
        o = &defaults;
    tp t = {.om = openmetrics, .max_samples = o->max_samples, .default_time = o->default_time_ms,
            .out = out, .d = d};
    cw_buf_init(&t.name, CW_METRIC_NAME_MAX + 1);
    for (size_t i = 0; i < CW_METRIC_LABELS_MAX; i++) {
        cw_buf_init(&t.lname[i], CW_METRIC_NAME_MAX + 1);
        cw_buf_init(&t.lvalue[i], CW_METRIC_VALUE_MAX + 1);
    }
    cw_buf line;
    cw_buf_init(&line, 0);
    cw_err err = CW_OK;
    bool eof = false;
    size_t off = 0;
    if (text && memchr(text, '\0', len)) {
        const char *z = memchr(text, '\0', len);
        size_t ln = 1;
        for (const char *q = text; q < z; q++)
            ln += *q == '\n';
        err = cw_fail(d, CW_ERR_INVALID, "line %zu: a NUL character", ln);
    }
    while (!err && off < len) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t n = nl ? (size_t)(nl - (text + off)) : len - off;
        t.line++;
        if (eof) {
            err = cw_fail(d, CW_ERR_INVALID, "line %zu: text after '# EOF'", t.line);
            break;
        }
        cw_buf_reset(&line);
        if (cw_buf_append(&line, text + off, n) || cw_buf_putc(&line, '\0')) {
            err = cw_fail(d, CW_ERR_NOMEM, "line %zu: out of memory", t.line);
            break;
        }
        off += n + (nl ? 1 : 0);
        char *s = line.data;
        size_t sl = n;
        if (sl && s[sl - 1] == '\r')
            s[--sl] = '\0';
        t.start = s;
        const char *p = s;
        skip_ws(&p);
        if (!*p)
            continue;
        if (*p == '#') {
            if (openmetrics && !strcmp(p, "# EOF"))
                eof = true;
            continue;
        }
        err = sample_line(&t, p);
    }
    if (!err && openmetrics && !eof)
        err = cw_fail(d, CW_ERR_INVALID, "OpenMetrics: the text must end with a '# EOF' line");
    cw_buf_free(&line);
    cw_buf_free(&t.name);
    for (size_t i = 0; i < CW_METRIC_LABELS_MAX; i++) {
        cw_buf_free(&t.lname[i]);
        cw_buf_free(&t.lvalue[i]);
    }
    if (err)
        cw_metric_batch_free(out);
    else
        cw_metric_batch_finish(out);
    return err;
}
