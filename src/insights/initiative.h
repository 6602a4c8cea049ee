/*
 * initiative.h — how an Initiative (catalog/initiative.h) is doing: which
 * entities in its scope are at its target (a scorecard level, or a list of
 * checks), the share of them now, a burn-up over the daily scorecard
 * snapshots, what remains per team, and whether the pace reaches the
 * deadline (a linear projection; Kotter's short-term wins, measured).
 * Pure: the caller (http/initiative_data.c) reads the initiative, its
 * scorecard's results and the snapshots and hands them in. The rules are
 * written out for users in docs/initiatives.md.
 */
#ifndef CW_INSIGHTS_INITIATIVE_H
#define CW_INSIGHTS_INITIATIVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* What "at the target" means for one initiative. Borrowed strings. */
typedef struct {
    const char *const *levels;  /* the scorecard's levels, lowest first */
    size_t nlevels;
    const char *target_level;   /* spec.targetLevel, or NULL ... */
    const char *const *checks;  /* ... spec.checks (then nchecks >= 1) */
    size_t nchecks;
} cw_initiative_target;

/* Whether an entity whose level is `level` (NULL or "" = below the first
 * level, or a name the scorecard no longer has) and which passes the checks
 * `passed` is at the target: its level is the target level or above it, or
 * it passes every check of the list. A target level the scorecard does not
 * have is reached by nobody (the API reports it as a problem). */
bool cw_initiative_reached(const cw_initiative_target *t, const char *level,
                           const char *const *passed, size_t npassed);

/* Index of name in the scorecard's levels, or -1. */
int cw_initiative_level_rank(const cw_initiative_target *t, const char *name);

/* ---- the compact form of a daily snapshot (store_scorecard_history.h) ---------------- */

/* The passed checks as a bit set over the day's check list, in hexadecimal:
 * digit k holds checks 4k..4k+3, check 4k+j in bit j ("" for no checks;
 * "5" = checks 0 and 2). out needs (n + 3) / 4 + 1 bytes; false when cap
 * is smaller. */
bool cw_passed_encode(const bool *passed, size_t n, char *out, size_t cap);
/* Whether check i is set in bits (false past its end or for a digit that is
 * not hexadecimal). */
bool cw_passed_has(const char *bits, size_t i);

/* cw_initiative_reached for a snapshot row: its level, and its passed bit
 * set over day_checks (the day's check ids, a JSON array of strings). A
 * target check missing from that day's list is not passed. */
bool cw_initiative_reached_snapshot(const cw_initiative_target *t, const char *level,
                                    const json_t *day_checks, const char *bits);

/* ---- burn-up and projection --------------------------------------------------------- */

typedef struct {
    int64_t day;    /* days since the Unix epoch (UTC) */
    int64_t done;   /* entities in scope at the target that day */
    int64_t total;  /* entities in scope judged that day */
} cw_burnup_point;

typedef enum {
    CW_PACE_UNKNOWN = 0,  /* too few points, or nothing in scope */
    CW_PACE_NOT_STARTED,  /* before spec.start */
    CW_PACE_ON_PACE,      /* the projection reaches every entity by the deadline */
    CW_PACE_BEHIND,       /* it does not */
    CW_PACE_ACHIEVED,     /* every entity in scope is at the target */
    CW_PACE_MISSED        /* the deadline passed first */
} cw_pace;

/* "unknown", "not-started", "on-pace", "behind", "achieved", "missed" */
const char *cw_pace_name(cw_pace p);

typedef struct {
    cw_pace verdict;
    double share_now;        /* done / total of the last point (0 with no points) */
    size_t points_used;      /* points of [start, today] the fit used */
    bool has_rate;           /* rate_per_day and projected_share are set */
    double rate_per_day;     /* least-squares slope of the share over days */
    double projected_share;  /* at the deadline, clamped to [0, 1] */
    double required_rate;    /* share per day still needed ((1 - now) / days left) */
    int64_t days_left;       /* deadline - today (negative once it passed) */
    char reason[256];        /* what decided it, in words */
} cw_initiative_projection;

/*
 * Projects the burn-up pts (n points, ascending by day, one per day) to
 * deadline_day: fits a line through the shares done/total of the points in
 * [start_day, today] (points with total 0 are skipped) and judges the share
 * it reaches at the deadline. The last point is "now". Days are days since
 * the epoch; start_day < deadline_day. CW_ERR_INVALID for points out of
 * order or with done > total or negative counts.
 */
cw_err cw_initiative_project(const cw_burnup_point *pts, size_t n, int64_t start_day,
                             int64_t deadline_day, int64_t today, cw_initiative_projection *out,
                             cw_diag *d);

/* ---- what remains per team ------------------------------------------------------------ */

typedef struct {
    const char *team;   /* borrowed from the input; "" = no owner */
    int64_t remaining;  /* entities of the team not at the target */
    int64_t total;      /* entities of the team in scope */
} cw_team_remaining;

/*
 * Counts per team (teams[i] owns entity i, NULL or "" for none) the
 * entities in scope and those not at the target (reached[i] false). *out
 * (the caller's, free()) lists each team once, most remaining first, then
 * by name; *nout their number.
 */
cw_err cw_initiative_teams(const char *const *teams, const bool *reached, size_t n,
                           cw_team_remaining **out, size_t *nout, cw_diag *d);

#endif
