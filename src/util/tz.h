/*
 * tz.h — time zones from the system's tz database without setenv("TZ"):
 * TZif files (RFC 8536, versions 1-4) are parsed here, including the POSIX
 * TZ rule in their footer that describes every instant after the last
 * listed transition. Converting needs no global state, so any thread may
 * compute in any zone at any time (localtime_r with setenv("TZ") races).
 *
 * Wall times are counted like Unix time but on the local clock: seconds
 * since 1970-01-01T00:00:00 local. Around a transition a wall time can be
 * ambiguous (the clock went back: it happens twice) or imaginary (the clock
 * jumped forward over it). As in Python's zoneinfo (PEP 495), `fold`
 * chooses: fold 0 takes the offset in force before the transition, fold 1
 * the offset after it; cw_tz_from_utc sets fold 1 on the second pass of a
 * repeated wall time.
 */
#ifndef CW_TZ_H
#define CW_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct cw_tz cw_tz;

#define CW_TZ_NAME_MAX 64
#define CW_TZ_FILE_MAX (256u << 10)   /* the largest TZif file read */

/*
 * Parses a TZif file held in memory. Rejects anything that is not a
 * well-formed TZif file (bad magic, counts beyond the data or beyond the
 * limits below, type indices out of range, unsorted transitions, a footer
 * that is not a POSIX TZ string) with CW_ERR_INVALID naming the problem.
 * *out belongs to the caller (cw_tz_free).
 */
cw_err cw_tz_parse(const void *data, size_t len, const char *name, cw_tz **out,
                   cw_diag *d);
void cw_tz_free(cw_tz *tz);

/*
 * Parses a POSIX TZ string ("CET-1CEST,M3.5.0,M10.5.0/3", "<+03>-3",
 * "EST5EDT,M3.2.0,M11.1.0") into a zone of that rule alone.
 */
cw_err cw_tz_parse_posix(const char *text, cw_tz **out, cw_diag *d);

/* Whether name is shaped like an IANA zone name ("Europe/Berlin", "UTC",
 * "America/Argentina/Buenos_Aires", "Etc/GMT+5"): 1-64 characters of
 * letters, digits, '_', '-', '+', '/', no empty, "." or ".." component. */
bool cw_tz_name_valid(const char *name);

/*
 * The zone called name, loaded from $TZDIR or /usr/share/zoneinfo the first
 * time and kept for the life of the process (thread-safe; the pointer is
 * never freed before cw_tz_cache_reset). "UTC" is built in.
 * CW_ERR_NOT_FOUND when the database has no such zone, CW_ERR_INVALID when
 * the name is malformed or the file is not TZif.
 */
cw_err cw_tz_get(const char *name, const cw_tz **out, cw_diag *d);
/* Frees the cache (tests and clean shutdown; no zone may be in use). */
void cw_tz_cache_reset(void);

/* The built-in UTC zone. */
const cw_tz *cw_tz_utc(void);
const char *cw_tz_name(const cw_tz *tz);
/* Whether the zone never changes its offset (UTC, "Etc/GMT+5"...). */
bool cw_tz_is_fixed(const cw_tz *tz);

/* Offset from UTC (seconds east) in force at the UTC instant t. */
int32_t cw_tz_offset(const cw_tz *tz, int64_t t);
/* The wall time of the UTC instant t; *fold (may be NULL) as above. */
int64_t cw_tz_from_utc(const cw_tz *tz, int64_t t, int *fold);
/* The UTC instant of wall time w read with fold (0 or 1). */
int64_t cw_tz_to_utc(const cw_tz *tz, int64_t w, int fold);
/* Whether wall time w does not exist (skipped by a forward jump). */
bool cw_tz_imaginary(const cw_tz *tz, int64_t w);

/* ---- civil dates (proleptic Gregorian) ------------------------------------ */
int64_t cw_days_from_civil(int64_t y, int m, int d);
void cw_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
/* 0 = Sunday .. 6 = Saturday */
int cw_weekday_of_days(int64_t days);
bool cw_leap_year(int64_t y);
int cw_days_in_month(int64_t y, int m);

#endif
