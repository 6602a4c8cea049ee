/*
 * store_scorecard_history.h — the daily scorecard snapshot (issue 15): once
 * a day and per scorecard, every judged entity's level and the checks it
 * passed, so that an Initiative's burn-up and every scorecard figure has a
 * history. Like the findings history (store_history.h) a claim row per
 * (day, scorecard) is made with INSERT ... ON CONFLICT DO NOTHING in the
 * same transaction as the rows: several conway instances on one PostgreSQL
 * database store each day once, and an instance that finds the day claimed
 * stores nothing. Claiming per scorecard (not per day) lets a scorecard
 * imported at noon have its first snapshot the same day.
 *
 * Compact form: the snapshot keeps the scorecard's check ids of that day
 * once (`checks`, the caller's text: a JSON array), and each entity row the
 * passed checks as a bit set over that list (`passed`, the caller's text:
 * hexadecimal, insights/initiative.h encodes it), so a scorecard edited
 * later still reads back as it was. The store treats both as opaque text.
 *
 * Ownership: inputs are borrowed; callbacks get text valid during the call.
 */
#ifndef CW_STORE_SCORECARD_HISTORY_H
#define CW_STORE_SCORECARD_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

#define CW_SCHIST_NAME_MAX 256        /* scorecard key (lower-case ref), with NUL */
#define CW_SCHIST_LEVEL_MAX 128       /* level name, with NUL */
#define CW_SCHIST_PASSED_MAX 1024     /* the passed bit set text, with NUL */
#define CW_SCHIST_CHECKS_MAX 65536    /* the day's check list text, with NUL */
#define CW_SCHIST_MAX_ROWS 1000000    /* entities one snapshot may store */
#define CW_SCHIST_MAX_DAYS 3660       /* one query spans at most ten years */

typedef struct {
    const char *entity;  /* entity key ("component:default/checkout"), 1..CW_REF_MAX-1 */
    const char *level;   /* level reached; "" = below the first level */
    const char *passed;  /* the passed checks (compact form); may be "" */
} cw_scorecard_level_row;

/*
 * Snapshots (day, scorecard) once: claims it and stores the rows in one
 * transaction, committed before returning; *taken is true then. When it is
 * claimed already (by this instance or another on the same database)
 * nothing is stored and *taken is false; both are CW_OK. day: days since
 * the Unix epoch (UTC). Checks: text without control characters within
 * the _MAX lengths, entity not empty, no entity twice, at most
 * CW_SCHIST_MAX_ROWS rows; CW_ERR_INVALID naming the field (nothing
 * stored) otherwise.
 */
cw_err cw_store_scorecard_snapshot_put(cw_store *s, int64_t day, const char *scorecard,
                                       const char *checks, const cw_scorecard_level_row *rows,
                                       size_t n, bool *taken, cw_diag *d);

/* Whether (day, scorecard) has been snapshotted. */
cw_err cw_store_scorecard_snapshot_has(cw_store *s, int64_t day, const char *scorecard,
                                       bool *has, cw_diag *d);

typedef struct {
    const char *scorecard;     /* required */
    int64_t from_day, to_day;  /* inclusive; to - from < CW_SCHIST_MAX_DAYS */
} cw_scorecard_history_query;

/* Called once per snapshotted day of the range, ascending, with the day's
 * check list, before that day's rows. A non-OK return stops the query and
 * is returned. */
typedef cw_err (*cw_schist_day_fn)(void *ctx, int64_t day, const char *checks, cw_diag *d);
/* Called for every row of the range, by day then entity. */
typedef cw_err (*cw_schist_row_fn)(void *ctx, int64_t day, const char *entity,
                                   const char *level, const char *passed, cw_diag *d);

/* The snapshots of one scorecard in a range, streamed (one read
 * transaction: a consistent view). CW_ERR_INVALID naming the field for a
 * bad query. */
cw_err cw_store_scorecard_history_each(cw_store *s, const cw_scorecard_history_query *q,
                                       cw_schist_day_fn on_day, cw_schist_row_fn on_row,
                                       void *ctx, cw_diag *d);

#endif
