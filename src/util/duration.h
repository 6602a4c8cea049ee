/*
 * duration.h — human durations for schedules: "90s", "15m", "1h30m",
 * "1d", "2w", "1d12h" (units w, d, h, m, s, each at most once, largest
 * first), or a plain number of seconds. Pure.
 */
#ifndef CW_DURATION_H
#define CW_DURATION_H

#include <stdint.h>

#include "util/err.h"

/* Parses text into seconds (0 .. 100 years). CW_ERR_INVALID with d saying
 * why ("\"1x\" is not a duration (e.g. 90s, 15m, 1h30m, 1d, 2w)"). */
cw_err cw_duration_parse(const char *text, int64_t *seconds, cw_diag *d);

/* The shortest text cw_duration_parse reads back as s ("1d12h", "0s"). */
void cw_duration_format(int64_t s, char out[32]);

#endif
