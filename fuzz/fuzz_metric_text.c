/*
 * fuzz_metric_text.c — libFuzzer target for the Prometheus text format and
 * OpenMetrics parsers (events/metric_text.c) and the label-set parser of
 * queries. The first byte picks the format. Whatever parses must hold the
 * batch invariants (valid names, finite values, samples sorted by series
 * and time without repeats) and must read back the same from conway's own
 * rendering of it (every name quoted, %.17g values, millisecond times).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/metric.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quoted(cw_buf *b, const char *s)
{
    cw_buf_putc(b, '"');
    for (; *s; s++)
        if (*s == '\\')
            cw_buf_puts(b, "\\\\");
        else if (*s == '"')
            cw_buf_puts(b, "\\\"");
        else if (*s == '\n')
            cw_buf_puts(b, "\\n");
        else
            cw_buf_putc(b, *s);
    cw_buf_putc(b, '"');
}

static void check(const cw_metric_batch *b)
{
    for (size_t i = 0; i < b->nsamples; i++) {
        const cw_metric_sample *s = &b->samples[i];
        if (s->series >= b->nseries || !isfinite(s->value))
            abort();
        if (i && (b->samples[i - 1].series > s->series ||
                  (b->samples[i - 1].series == s->series && b->samples[i - 1].time_ms >= s->time_ms)))
            abort();
    }
    for (size_t i = 0; i < b->nseries; i++) {
        const cw_metric_series *s = &b->series[i];
        if (!cw_metric_name_valid(s->name, strlen(s->name)))
            abort();
        for (size_t j = 0; j < s->labels.len; j++) {
            const cw_metric_label *l = &s->labels.items[j];
            if (!cw_metric_label_name_valid(l->name, strlen(l->name)) ||
                (j && strcmp(s->labels.items[j - 1].name, l->name) >= 0))
                abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned mode = data[0] % 3;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    if (mode == 2) {
        char *z = malloc(len + 1);
        if (!z)
            return 0;
        memcpy(z, text, len);
        z[len] = '\0';
        cw_metric_labels l = {0};
        if (cw_metric_labels_parse(z, &l, NULL) == CW_OK) {
            cw_buf j;
            cw_buf_init(&j, 0);
            cw_metric_labels back = {0};
            if (cw_metric_labels_json(&l, &j) == CW_OK &&
                (cw_metric_labels_from_text(j.data, &back, NULL) != CW_OK ||
                 !cw_metric_labels_match(&l, &back) || !cw_metric_labels_match(&back, &l)))
                abort();
            cw_metric_labels_free(&back);
            cw_buf_free(&j);
        }
        cw_metric_labels_free(&l);
        free(z);
        return 0;
    }
    cw_metric_parse_opts o = {.max_samples = 5000, .default_time_ms = 1700000000000LL};
    cw_metric_batch b = {0};
    if (cw_metric_parse_text(text, len, mode == 1, &o, &b, NULL) != CW_OK) {
        if (b.nsamples || b.nseries)
            abort();
        return 0;
    }
    check(&b);
    cw_buf out;
    cw_buf_init(&out, 0);
    for (size_t i = 0; i < b.nsamples; i++) {
        const cw_metric_series *s = &b.series[b.samples[i].series];
        cw_buf_putc(&out, '{');
        quoted(&out, s->name);
        for (size_t j = 0; j < s->labels.len; j++) {
            cw_buf_putc(&out, ',');
            quoted(&out, s->labels.items[j].name);
            cw_buf_putc(&out, '=');
            quoted(&out, s->labels.items[j].value);
        }
        cw_buf_printf(&out, "} %.17g %lld\n", b.samples[i].value, (long long)b.samples[i].time_ms);
    }
    cw_metric_batch back = {0};
    if (cw_metric_parse_text(out.data ? out.data : "", out.len, false, &o, &back, NULL) != CW_OK ||
        back.nsamples != b.nsamples || back.nseries != b.nseries)
        abort();
    for (size_t i = 0; i < b.nsamples; i++) {
        const cw_metric_sample *x = &b.samples[i], *y = &back.samples[i];
        if (x->time_ms != y->time_ms || x->value != y->value ||
            strcmp(b.series[x->series].labels_json, back.series[y->series].labels_json) ||
            strcmp(b.series[x->series].name, back.series[y->series].name))
            abort();
    }
    cw_metric_batch_free(&back);
    cw_buf_free(&out);
    cw_metric_batch_free(&b);
    return 0;
}
