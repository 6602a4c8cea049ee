/* timeutil.h — wall-clock time, monotonic time and RFC 3339 text. */
#ifndef CW_TIMEUTIL_H
#define CW_TIMEUTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

/* Milliseconds since the Unix epoch (wall clock). */
int64_t cw_now_ms(void);
/* Nanoseconds from a monotonic clock, for durations. */
int64_t cw_mono_ns(void);
/* "2026-11-25T17:33:12.123Z" (UTC, millisecond precision); out >= 32 bytes. */
void cw_time_format_ms(int64_t ms, char out[32]);
/* "2026-11-25T17:33:12Z" when ms is a whole second, else with .mmm */
void cw_time_format_compact(int64_t ms, char out[32]);
/* Parses an RFC 3339 date-time ("2026-11-25T17:33:12.5+01:00", "...Z",
 * lower-case t/z accepted) into Unix milliseconds (fractions beyond ms are
 * truncated). Returns false when text is not a valid date-time. */
bool cw_time_parse_rfc3339(const char *text, int64_t *ms_out);
/* Days since epoch for a UTC time, and "YYYY-MM-DD" for a day number.
 * Formatting clamps to the years 0000-9999, all that RFC 3339 can express. */
int64_t cw_day_of_ms(int64_t ms);
void cw_day_format(int64_t day, char out[16]);
/* Parses "YYYY-MM-DD" (a real date, years 0000-9999) into days since the
 * epoch; false for anything else. Inverse of cw_day_format. */
bool cw_day_parse(const char *text, int64_t *day_out);

#endif
