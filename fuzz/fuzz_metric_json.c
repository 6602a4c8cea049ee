/*
 * fuzz_metric_json.c — libFuzzer target for the JSON form of metric samples
 * (events/metric_json.c), the media-type dispatch in front of both parsers
 * and Prometheus' query_range answers (events/metric_prom.c). The first
 * byte picks the Content-Type, or the query_range parser. Whatever parses must
 * hold the batch invariants: valid names, finite values, samples sorted by
 * series and time without repeats, series unique by name and labels.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "events/metric.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = {"application/json", "text/plain; version=0.0.4",
                                        "application/openmetrics-text; version=1.0.0",
                                        "application/cloudevents+json", "text/csv"};
    if (size < 1)
        return 0;
    size_t pick = data[0] % (sizeof types / sizeof types[0] + 1);
    cw_metric_parse_opts o = {.max_samples = 5000, .default_time_ms = 1700000000000LL};
    cw_metric_batch b = {0};
    cw_err err = pick == sizeof types / sizeof types[0]
                     ? cw_metric_parse_query_range((const char *)data + 1, size - 1, "kpi", &o, &b,
                                                   NULL)
                     : cw_metric_decode(types[pick], (const char *)data + 1, size - 1, &o, &b, NULL);
    if (err) {
        if (b.nsamples || b.nseries)
            abort();
        return 0;
    }
    for (size_t i = 0; i < b.nsamples; i++) {
        const cw_metric_sample *s = &b.samples[i];
        if (s->series >= b.nseries || !isfinite(s->value))
            abort();
        if (i && (b.samples[i - 1].series > s->series ||
                  (b.samples[i - 1].series == s->series && b.samples[i - 1].time_ms >= s->time_ms)))
            abort();
    }
    for (size_t i = 0; i < b.nseries; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(b.series[i].name, b.series[j].name) &&
                !strcmp(b.series[i].labels_json, b.series[j].labels_json))
                abort();
    cw_metric_batch_free(&b);
    return 0;
}
