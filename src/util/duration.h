/*
 * duration.h — durations and dates as conway's inputs write them: metric
 * steps, goal windows, hypothesis windows, KPI query steps.
 */
#ifndef CW_UTIL_DURATION_H
#define CW_UTIL_DURATION_H

#include <stdbool.h>
#include <stdint.h>

/*
 * A Prometheus-style duration: one or more <integer><unit> parts with units
 * ms, s, m, h, d, w, y (365 days), largest first ("1h30m"), or a plain
 * integer number of seconds. Into milliseconds; false for anything else,
 * zero, or more than 100 years.
 */
bool cw_duration_parse(const char *text, int64_t *ms_out);

/* "1d", "6h", "90s", "1h30m": the shortest text of a duration. */
void cw_duration_format(int64_t ms, char out[32]);

/* Parses a date ("2025-06-30" = midnight UTC) or an RFC 3339 date-time. */
bool cw_date_parse(const char *text, int64_t *ms_out);

#endif
