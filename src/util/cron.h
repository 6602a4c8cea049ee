/*
 * cron.h — five-field cron expressions and their next run time, with the
 * semantics healthchecks.io uses (its cronsim library, which follows
 * Debian's cron):
 *
 *   minute hour day-of-month month day-of-week
 *   *  5  1-5  1,15  0-59/10  10-50/20  JAN-DEC  SUN-SAT (0 and 7 = Sunday)
 *   L (last day of the month) and LW (last weekday) as day-of-month,
 *   5L (last Friday) and MON#2 (second Monday) as day-of-week.
 *
 * Day of month and day of week combine with AND when either field starts
 * with '*', with OR otherwise (Debian). Names and letters are
 * case-insensitive. A step applies to a range, to '*', or to a single value
 * (then up to the field's maximum).
 *
 * Time zones and daylight saving time, as Debian cron and cronsim: a job at
 * a fixed time (neither the minute nor the hour field starts with '*') is
 * scheduled on the local wall clock; a run that falls into a skipped hour
 * happens at the first minute after the jump, and a repeated hour runs it
 * once (the first pass). Every other expression steps through real time, so
 * "every 15 minutes" keeps running every 15 real minutes through the
 * change. Pure: no I/O, no global state.
 */
#ifndef CW_CRON_H
#define CW_CRON_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"
#include "util/tz.h"

#define CW_CRON_TEXT_MAX 256

typedef struct {
    uint64_t minutes;     /* bit m: minute m */
    uint32_t hours;       /* bit h */
    uint32_t dom;         /* bit d: day of month d (1..31) */
    uint16_t months;      /* bit m: month m (1..12) */
    uint8_t dow;          /* bit w: weekday w (0 = Sunday .. 6) */
    uint8_t dow_last;     /* bit w: the last weekday w of the month ("5L") */
    uint8_t dow_nth[7];   /* per weekday, bit n: the n-th of the month ("MON#2") */
    bool dom_last;        /* "L" */
    bool dom_lastwd;      /* "LW" */
    bool day_and;         /* day-of-month AND day-of-week (a field starts with '*') */
    bool wall_clock;      /* neither minute nor hour starts with '*' (DST rule) */
} cw_cron;

/*
 * Parses expr. CW_ERR_INVALID with d naming the field ("cron: bad
 * day-of-week \"8\"") for anything cronsim refuses, including a
 * day-of-month that no selected month has ("0 0 31 2 *"), or an expression
 * that matches no time in 50 years.
 */
cw_err cw_cron_parse(const char *expr, cw_cron *out, cw_diag *d);

/* The same without the 50-year search: for expressions that passed
 * cw_cron_parse before (stored schedules), cheap on every use. */
cw_err cw_cron_compile(const char *expr, cw_cron *out, cw_diag *d);

/*
 * The first run strictly after the UTC instant after_s (whole seconds;
 * healthchecks truncates the last ping to the second) in zone tz, as a UTC
 * instant. CW_ERR_NOT_FOUND when no run falls within the next 50 years.
 */
cw_err cw_cron_next(const cw_cron *c, const cw_tz *tz, int64_t after_s, int64_t *out_s);

#endif
