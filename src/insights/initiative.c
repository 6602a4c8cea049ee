/*
 * initiative.c — an Initiative's progress (initiative.h). The projection is
 * a least-squares line through the daily shares since the start, extended
 * from today's share to the deadline: "at the pace so far, from where we
 * are". Least squares rather than first-to-last so that one odd day (a
 * scope change, a broken import) moves the pace a little, not all of it.
 */
#include "insights/initiative.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cw_initiative_level_rank(const cw_initiative_target *t, const char *name)
{
    if (!name || !*name)
        return -1;
    for (size_t i = 0; i < t->nlevels; i++)
        if (t->levels[i] && !strcmp(t->levels[i], name))
            return (int)i;
    return -1;
}

bool cw_initiative_reached(const cw_initiative_target *t, const char *level,
                           const char *const *passed, size_t npassed)
{
    if (t->target_level) {
        int want = cw_initiative_level_rank(t, t->target_level);
        int have = cw_initiative_level_rank(t, level);
        return want >= 0 && have >= want;
    }
    if (!t->nchecks)
        return false;
    for (size_t i = 0; i < t->nchecks; i++) {
        bool found = false;
        for (size_t j = 0; j < npassed && !found; j++)
            found = passed[j] && !strcmp(passed[j], t->checks[i]);
        if (!found)
            return false;
    }
    return true;
}

bool cw_passed_encode(const bool *passed, size_t n, char *out, size_t cap)
{
    size_t digits = (n + 3) / 4;
    if (cap < digits + 1)
        return false;
    static const char hex[] = "0123456789abcdef";
    for (size_t k = 0; k < digits; k++) {
        unsigned v = 0;
        for (size_t j = 0; j < 4 && 4 * k + j < n; j++)
            v |= (unsigned)passed[4 * k + j] << j;
        out[k] = hex[v];
    }
    out[digits] = '\0';
    return true;
}

bool cw_passed_has(const char *bits, size_t i)
{
    if (!bits)
        return false;
    size_t k = i / 4;
    for (size_t m = 0; m <= k; m++)
        if (!bits[m])
            return false;
    char c = bits[k];
    unsigned v = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                 : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                 : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                        : 0;
    return (v >> (i % 4)) & 1u;
}

bool cw_initiative_reached_snapshot(const cw_initiative_target *t, const char *level,
                                    const json_t *day_checks, const char *bits)
{
    if (t->target_level)
        return cw_initiative_reached(t, level, NULL, 0);
    if (!t->nchecks)
        return false;
    for (size_t i = 0; i < t->nchecks; i++) {
        size_t j, n = json_array_size(day_checks);
        for (j = 0; j < n; j++) {
            const char *id = json_string_value(json_array_get(day_checks, j));
            if (id && !strcmp(id, t->checks[i]))
                break;
        }
        if (j == n || !cw_passed_has(bits, j))
            return false;
    }
    return true;
}

const char *cw_pace_name(cw_pace p)
{
    switch (p) {
    case CW_PACE_NOT_STARTED: return "not-started";
    case CW_PACE_ON_PACE: return "on-pace";
    case CW_PACE_BEHIND: return "behind";
    case CW_PACE_ACHIEVED: return "achieved";
    case CW_PACE_MISSED: return "missed";
    case CW_PACE_UNKNOWN: break;
    }
    return "unknown";
}

cw_err cw_initiative_project(const cw_burnup_point *pts, size_t n, int64_t start_day,
                             int64_t deadline_day, int64_t today, cw_initiative_projection *out,
                             cw_diag *d)
{
    memset(out, 0, sizeof *out);
    if (deadline_day <= start_day)
        return cw_fail(d, CW_ERR_INVALID, "initiative: the deadline must be after the start");
    for (size_t i = 0; i < n; i++) {
        if (pts[i].done < 0 || pts[i].total < 0 || pts[i].done > pts[i].total)
            return cw_fail(d, CW_ERR_INVALID, "burn-up point %zu: done must be in [0, total]", i);
        if (i && pts[i].day <= pts[i - 1].day)
            return cw_fail(d, CW_ERR_INVALID, "burn-up point %zu: days must ascend", i);
    }
    out->days_left = deadline_day - today;

    /* now: the last point with anything in scope */
    const cw_burnup_point *last = NULL;
    for (size_t i = n; i-- > 0 && !last;)
        if (pts[i].total > 0)
            last = &pts[i];
    if (!last) {
        out->verdict = CW_PACE_UNKNOWN;
        snprintf(out->reason, sizeof out->reason, "no entity in scope has been judged yet");
        return CW_OK;
    }
    out->share_now = (double)last->done / (double)last->total;

    /* the fit over [start, today] */
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (pts[i].total <= 0 || pts[i].day < start_day || pts[i].day > today)
            continue;
        double x = (double)(pts[i].day - start_day);
        double y = (double)pts[i].done / (double)pts[i].total;
        sx += x, sy += y, sxx += x * x, sxy += x * y;
        m++;
    }
    out->points_used = m;
    double var = m ? sxx - sx * sx / (double)m : 0;
    if (m >= 2 && var > 0) {
        out->has_rate = true;
        out->rate_per_day = (sxy - sx * sy / (double)m) / var;
        double p = out->share_now + out->rate_per_day * (double)(out->days_left > 0 ? out->days_left : 0);
        out->projected_share = p < 0 ? 0 : p > 1 ? 1 : p;
    }
    double missing = 1.0 - out->share_now;
    out->required_rate = out->days_left > 0 ? missing / (double)out->days_left : missing;
    if (out->required_rate < 0)
        out->required_rate = 0;

    double now_pct = 100.0 * out->share_now;
    if (last->done == last->total) {
        out->verdict = CW_PACE_ACHIEVED;
        out->required_rate = 0;
        snprintf(out->reason, sizeof out->reason, "all %lld entities in scope are at the target",
                 (long long)last->total);
    } else if (today > deadline_day) {
        out->verdict = CW_PACE_MISSED;
        snprintf(out->reason, sizeof out->reason,
                 "the deadline passed %lld days ago with %.1f%% (%lld of %lld) at the target",
                 (long long)(today - deadline_day), now_pct, (long long)last->done,
                 (long long)last->total);
    } else if (today < start_day) {
        out->verdict = CW_PACE_NOT_STARTED;
        snprintf(out->reason, sizeof out->reason,
                 "starts in %lld days; %.1f%% (%lld of %lld) at the target already",
                 (long long)(start_day - today), now_pct, (long long)last->done,
                 (long long)last->total);
    } else if (!out->has_rate) {
        out->verdict = CW_PACE_UNKNOWN;
        snprintf(out->reason, sizeof out->reason,
                 "%zu daily snapshot%s since the start: the pace is known from the second day; "
                 "%.1f%% (%lld of %lld) at the target",
                 m, m == 1 ? "" : "s", now_pct, (long long)last->done, (long long)last->total);
    } else {
        bool on = out->projected_share >= 1.0 - 1e-9;
        out->verdict = on ? CW_PACE_ON_PACE : CW_PACE_BEHIND;
        snprintf(out->reason, sizeof out->reason,
                 "%.1f%% at the target; at %+.2f points a day (fit over %zu daily snapshots) the "
                 "projection reaches %.1f%% by the deadline in %lld days; %.2f points a day are "
                 "needed",
                 now_pct, 100.0 * out->rate_per_day, m, 100.0 * out->projected_share,
                 (long long)out->days_left, 100.0 * out->required_rate);
    }
    return CW_OK;
}

static int cmp_team(const void *a, const void *b)
{
    const cw_team_remaining *x = a, *y = b;
    if (x->remaining != y->remaining)
        return x->remaining > y->remaining ? -1 : 1;
    return strcmp(x->team, y->team);
}

cw_err cw_initiative_teams(const char *const *teams, const bool *reached, size_t n,
                           cw_team_remaining **out, size_t *nout, cw_diag *d)
{
    *out = NULL;
    *nout = 0;
    if (!n)
        return CW_OK;
    cw_team_remaining *t = calloc(n, sizeof *t);
    if (!t)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory counting teams");
    size_t k = 0;
    /* n is bounded by the scope; a linear search per entity keeps this
     * simple, and sorting by name first would not make it much faster for
     * the few dozen teams an organisation has */
    for (size_t i = 0; i < n; i++) {
        const char *team = teams[i] ? teams[i] : "";
        size_t j = 0;
        while (j < k && strcmp(t[j].team, team))
            j++;
        if (j == k)
            t[k++].team = team;
        t[j].total++;
        if (!reached[i])
            t[j].remaining++;
    }
    qsort(t, k, sizeof *t, cmp_team);
    *out = t;
    *nout = k;
    return CW_OK;
}
