/*
 * cron.c — the cron expressions of cron.h. Parsing follows cronsim's field
 * grammar rule by rule so that conway accepts and refuses exactly what
 * healthchecks.io does; the next run is found by the same search (roll the
 * month, then the day, hour, minute and second forward until all match),
 * stepping on the wall clock or through real time as cron.h describes, so
 * that daylight-saving transitions give healthchecks' answers.
 */
#include "util/cron.h"

#include <stdio.h>
#include <string.h>

enum { F_MINUTE, F_HOUR, F_DAY, F_MONTH, F_DOW };

static const char *const field_names[] = {"minute", "hour", "day-of-month", "month",
                                          "day-of-week"};
static const int field_min[] = {0, 0, 1, 1, 0};
static const int field_max[] = {59, 23, 31, 12, 7};
static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const day_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

/* What one field (or one term of it) selects. */
typedef struct {
    uint64_t bits;        /* plain values */
    bool last, lastwd;    /* day-of-month L, LW */
    uint8_t dow_last;     /* day-of-week "nL": bit n (0..7) */
    uint8_t nth[8];       /* day-of-week "n#k": bit k of nth[n] */
} fset;

static bool fset_only_special(const fset *s)
{
    bool special_day = (s->last != s->lastwd);
    return !s->bits && special_day;
}

static bool fset_empty_special(const fset *s)
{
    if (s->last || s->lastwd || s->dow_last)
        return false;
    for (int i = 0; i < 8; i++)
        if (s->nth[i])
            return false;
    return true;
}

static void fset_union(fset *a, const fset *b)
{
    a->bits |= b->bits;
    a->last |= b->last;
    a->lastwd |= b->lastwd;
    a->dow_last |= b->dow_last;
    for (int i = 0; i < 8; i++)
        a->nth[i] |= b->nth[i];
}

/* cronsim's _int: one or more decimal digits, no range check; saturates. */
static bool parse_uint(const char *s, size_t n, uint32_t *out)
{
    if (n == 0)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
        if (v > 100000000)
            v = 100000000;
    }
    *out = (uint32_t)v;
    return true;
}

/* cronsim's int: a name (months, weekdays) or a number within the field's range. */
static bool parse_value(int f, const char *s, size_t n, int *out)
{
    if (n == 3 && (f == F_MONTH || f == F_DOW)) {
        const char *const *names = f == F_MONTH ? month_names : day_names;
        int count = f == F_MONTH ? 12 : 7;
        for (int i = 0; i < count; i++)
            if (!memcmp(s, names[i], 3)) {
                *out = f == F_MONTH ? i + 1 : i;
                return true;
            }
    }
    uint32_t v;
    if (!parse_uint(s, n, &v) || (int64_t)v < field_min[f] || (int64_t)v > field_max[f])
        return false;
    *out = (int)v;
    return true;
}

static bool contains(const char *s, size_t n, char c) { return memchr(s, c, n) != NULL; }

static bool parse_term(int f, const char *s, size_t n, fset *out);

static bool parse_field(int f, const char *s, size_t n, fset *out)
{
    memset(out, 0, sizeof *out);
    if (n == 1 && s[0] == '*') {
        for (int v = field_min[f]; v <= field_max[f]; v++)
            out->bits |= 1ull << v;
        return true;
    }
    if (contains(s, n, ',')) {
        size_t start = 0;
        for (size_t i = 0; i <= n; i++) {
            if (i == n || s[i] == ',') {
                fset t;
                if (!parse_field(f, s + start, i - start, &t))
                    return false;
                fset_union(out, &t);
                start = i + 1;
            }
        }
        return true;
    }
    return parse_term(f, s, n, out);
}

/* One comma-free term, in cronsim's order of checks. */
static bool parse_term(int f, const char *s, size_t n, fset *out)
{
    memset(out, 0, sizeof *out);
    if (f == F_DOW && contains(s, n, 'L')) {
        /* "5L": the last Friday; the value must be digits */
        /* cronsim drops the last character and wants digits before it */
        int v;
        for (size_t i = 0; i + 1 < n; i++)
            if (s[i] < '0' || s[i] > '9')
                return false;
        if (n < 2 || !parse_value(f, s, n - 1, &v))
            return false;
        out->dow_last = (uint8_t)(1u << v);
        return true;
    }
    if (f == F_DOW && contains(s, n, '#')) {
        const char *hash = memchr(s, '#', n);
        size_t tl = (size_t)(hash - s);
        uint32_t nth;
        int v;
        if (!parse_uint(hash + 1, n - tl - 1, &nth) || nth < 1 || nth > 5 ||
            !parse_value(f, s, tl, &v))
            return false;
        out->nth[v] = (uint8_t)(1u << nth);
        return true;
    }
    if (contains(s, n, '/')) {
        const char *slash = memchr(s, '/', n);
        size_t tl = (size_t)(slash - s);
        uint32_t step;
        if (!parse_uint(slash + 1, n - tl - 1, &step) || step == 0)
            return false;
        fset items;
        if (!parse_field(f, s, tl, &items))
            return false;
        if (fset_only_special(&items)) {
            *out = items;
            return true;
        }
        if (!fset_empty_special(&items))
            return false; /* not reachable: specials only come alone */
        int count = __builtin_popcountll(items.bits);
        if (count == 1) {
            int start = __builtin_ctzll(items.bits);
            for (int64_t v = start; v <= field_max[f]; v += step)
                out->bits |= 1ull << v;
        } else {
            int k = 0;
            for (int v = 0; v < 64; v++)
                if (items.bits >> v & 1) {
                    if (k % (int64_t)step == 0)
                        out->bits |= 1ull << v;
                    k++;
                }
        }
        return true;
    }
    if (contains(s, n, '-')) {
        const char *dash = memchr(s, '-', n);
        size_t tl = (size_t)(dash - s);
        int a, b;
        if (!parse_value(f, s, tl, &a) || !parse_value(f, dash + 1, n - tl - 1, &b) || b < a)
            return false;
        for (int v = a; v <= b; v++)
            out->bits |= 1ull << v;
        return true;
    }
    if (f == F_DAY && n == 2 && !memcmp(s, "LW", 2)) {
        out->lastwd = true;
        return true;
    }
    if (f == F_DAY && n == 1 && s[0] == 'L') {
        out->last = true;
        return true;
    }
    int v;
    if (!parse_value(f, s, n, &v))
        return false;
    out->bits = 1ull << v;
    return true;
}

/* ---- matching ------------------------------------------------------------------ */

static int last_weekday_of(int64_t y, int m)
{
    int last = cw_days_in_month(y, m);
    int wd = cw_weekday_of_days(cw_days_from_civil(y, m, last));
    if (wd == 0)
        return last - 2;
    if (wd == 6)
        return last - 1;
    return last;
}

static bool match_dom(const cw_cron *c, int64_t y, int m, int d)
{
    if (c->dom >> d & 1)
        return true;
    if (c->dom_lastwd && d >= 26 && d == last_weekday_of(y, m))
        return true;
    if (c->dom_last && d >= 28 && d == cw_days_in_month(y, m))
        return true;
    return false;
}

static bool match_dow(const cw_cron *c, int64_t y, int m, int d, int wd)
{
    if (c->dow >> wd & 1)
        return true;
    if ((c->dow_last >> wd & 1) && d + 7 > cw_days_in_month(y, m))
        return true;
    int idx = (d + 6) / 7;
    return c->dow_nth[wd] >> idx & 1;
}

static bool match_day(const cw_cron *c, int64_t days)
{
    int64_t y;
    int m, d;
    cw_civil_from_days(days, &y, &m, &d);
    int wd = cw_weekday_of_days(days);
    if (c->day_and)
        return match_dom(c, y, m, d) && match_dow(c, y, m, d, wd);
    return match_dom(c, y, m, d) || match_dow(c, y, m, d, wd);
}

/* ---- the search ------------------------------------------------------------------ */

typedef struct {
    const cw_cron *c;
    const cw_tz *tz;
    bool naive;          /* step on the wall clock */
    int64_t w;           /* wall time */
    int fold;
    int64_t days;        /* fields of w */
    int64_t y;
    int mo, d, H, M, S;
} sim;

static int64_t fdiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static void set_w(sim *s, int64_t w, int fold)
{
    s->w = w;
    s->fold = fold;
    s->days = fdiv(w, 86400);
    int64_t rem = w - s->days * 86400;
    cw_civil_from_days(s->days, &s->y, &s->mo, &s->d);
    s->H = (int)(rem / 3600);
    s->M = (int)(rem % 3600 / 60);
    s->S = (int)(rem % 60);
}

/* Moves n seconds forward: on the wall clock, or in real time. */
static void tick(sim *s, int64_t n)
{
    if (s->naive) {
        set_w(s, s->w + n, 0);
        return;
    }
    int fold;
    int64_t u = cw_tz_to_utc(s->tz, s->w, s->fold) + n;
    int64_t w = cw_tz_from_utc(s->tz, u, &fold);
    set_w(s, w, fold);
}

/* Replaces the time of day, keeping the date and the fold. */
static void replace_time(sim *s, int H, int M, int S)
{
    set_w(s, s->days * 86400 + H * 3600 + M * 60 + S, s->fold);
}

/*
 * Midnight of a later day (fold 0). Where a transition at midnight
 * repeats the previous evening (America/St_Johns until 2011 went back at
 * 00:01), that midnight can lie before the current instant in real time;
 * cronsim then loops for ever. Taking the second pass of the midnight
 * instead keeps the search moving forward.
 */
static void combine(sim *s, int64_t days)
{
    if (s->naive) {
        set_w(s, days * 86400, 0);
        return;
    }
    int64_t before = cw_tz_to_utc(s->tz, s->w, s->fold);
    set_w(s, days * 86400, 0);
    if (cw_tz_to_utc(s->tz, s->w, 0) <= before)
        s->fold = 1;
}

static bool advance_second(sim *s)
{
    if (s->S == 0)
        return false;
    tick(s, 60 - s->S);
    while (s->S != 0)
        tick(s, 1); /* offsets with seconds (old local mean times) */
    return true;
}

static bool advance_minute(sim *s)
{
    const cw_cron *c = s->c;
    if (c->minutes >> s->M & 1)
        return false;
    replace_time(s, s->H, s->M, 0);
    if (__builtin_popcountll(c->minutes) == 1) {
        int target = __builtin_ctzll(c->minutes);
        tick(s, (int64_t)((target - s->M + 60) % 60) * 60);
    }
    while (!(c->minutes >> s->M & 1)) {
        tick(s, 60);
        if (s->M == 0)
            break;
    }
    return true;
}

static bool advance_hour(sim *s)
{
    const cw_cron *c = s->c;
    if (c->hours >> s->H & 1)
        return false;
    replace_time(s, s->H, 0, 0);
    while (!(c->hours >> s->H & 1)) {
        tick(s, 3600);
        if (s->H == 0)
            break;
    }
    return true;
}

static bool advance_day(sim *s)
{
    if (match_day(s->c, s->days))
        return false;
    int64_t needle = s->days;
    while (!match_day(s->c, needle)) {
        needle++;
        int64_t y;
        int m, d;
        cw_civil_from_days(needle, &y, &m, &d);
        if (d == 1)
            break; /* re-check the month */
    }
    combine(s, needle);
    return true;
}

static void advance_month(sim *s)
{
    if (s->c->months >> s->mo & 1)
        return;
    int64_t y = s->y;
    int m = s->mo;
    while (!(s->c->months >> m & 1)) {
        if (++m == 13) {
            m = 1;
            y++;
        }
    }
    combine(s, cw_days_from_civil(y, m, 1));
}

/* cronsim's __next__ from the wall time in s. */
static cw_err sim_next(sim *s, bool fixup, int64_t *out)
{
    tick(s, 1);
    int64_t start_year = s->y;
    /* every step moves forward, so the year limit ends the search; the
     * count is a second bound in case a zone's data defeats that */
    for (long steps = 0;; steps++) {
        advance_month(s);
        if (s->y > start_year + 50 || steps > 2000000)
            return CW_ERR_NOT_FOUND;
        if (advance_day(s) || advance_hour(s) || advance_minute(s) || advance_second(s))
            continue;
        break;
    }
    if (fixup) {
        /* a wall time skipped by a forward jump runs at the first minute after it */
        while (cw_tz_imaginary(s->tz, s->w))
            set_w(s, s->w + 60, 0);
        *out = cw_tz_to_utc(s->tz, s->w, 0);
        return CW_OK;
    }
    *out = cw_tz_to_utc(s->tz, s->w, s->fold);
    return CW_OK;
}

cw_err cw_cron_next(const cw_cron *c, const cw_tz *tz, int64_t after_s, int64_t *out_s)
{
    if (!tz)
        tz = cw_tz_utc();
    /* years 1800..9000: far beyond any heartbeat, inside every calculation */
    if (after_s < -5364662400LL || after_s > 221845392000LL)
        return CW_ERR_INVALID;
    bool fixup = c->wall_clock && !cw_tz_is_fixed(tz);
    sim s = {.c = c, .tz = tz, .naive = fixup || cw_tz_is_fixed(tz)};
    int fold = 0;
    int64_t w = cw_tz_from_utc(tz, after_s, &fold);
    set_w(&s, w, s.naive ? 0 : fold);
    return sim_next(&s, fixup, out_s);
}

/* ---- parsing ------------------------------------------------------------------- */

static cw_err compile(const char *expr, cw_cron *out, cw_diag *d);

cw_err cw_cron_parse(const char *expr, cw_cron *out, cw_diag *d)
{
    cw_err err = compile(expr, out, d);
    if (err)
        return err;
    /* healthchecks also refuses an expression with no run in 50 years
     * from 2000-01-01 */
    int64_t next;
    if (cw_cron_next(out, cw_tz_utc(), 946684800, &next))
        return cw_fail(d, CW_ERR_INVALID, "cron: \"%.64s\" matches no time in 50 years", expr);
    return CW_OK;
}

cw_err cw_cron_compile(const char *expr, cw_cron *out, cw_diag *d) { return compile(expr, out, d); }

static cw_err compile(const char *expr, cw_cron *out, cw_diag *d)
{
    memset(out, 0, sizeof *out);
    if (!expr)
        return cw_fail(d, CW_ERR_INVALID, "cron: missing expression");
    size_t len = strlen(expr);
    if (len > CW_CRON_TEXT_MAX)
        return cw_fail(d, CW_ERR_INVALID, "cron: longer than %d characters", CW_CRON_TEXT_MAX);
    char up[CW_CRON_TEXT_MAX + 1];
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)expr[i];
        if ((ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r' && ch != '\v' && ch != '\f') ||
            ch >= 0x7f)
            return cw_fail(d, CW_ERR_INVALID, "cron: only printable ASCII is allowed");
        up[i] = (char)(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
    }
    up[len] = '\0';
    const char *part[5];
    size_t plen[5], nparts = 0;
    for (size_t i = 0; i < len;) {
        while (i < len && strchr(" \t\n\r\v\f", up[i]))
            i++;
        if (i == len)
            break;
        size_t start = i;
        while (i < len && !strchr(" \t\n\r\v\f", up[i]))
            i++;
        if (nparts == 5)
            return cw_fail(d, CW_ERR_INVALID,
                           "cron: expected 5 fields (minute hour day-of-month month "
                           "day-of-week), got more");
        part[nparts] = up + start;
        plen[nparts++] = i - start;
    }
    if (nparts != 5)
        return cw_fail(d, CW_ERR_INVALID,
                       "cron: expected 5 fields (minute hour day-of-month month day-of-week), "
                       "got %zu",
                       nparts);
    fset fs[5];
    for (int f = 0; f < 5; f++)
        if (!parse_field(f, part[f], plen[f], &fs[f]))
            return cw_fail(d, CW_ERR_INVALID, "cron: bad %s \"%.*s\"", field_names[f],
                           (int)(plen[f] > 40 ? 40 : plen[f]), part[f]);
    out->day_and = part[F_DAY][0] == '*' || part[F_DOW][0] == '*';
    out->wall_clock = part[F_MINUTE][0] != '*' && part[F_HOUR][0] != '*';
    out->minutes = fs[F_MINUTE].bits;
    out->hours = (uint32_t)fs[F_HOUR].bits;
    out->dom = (uint32_t)fs[F_DAY].bits;
    out->dom_last = fs[F_DAY].last;
    out->dom_lastwd = fs[F_DAY].lastwd;
    out->months = (uint16_t)fs[F_MONTH].bits;
    /* weekday 7 is Sunday */
    uint64_t dw = fs[F_DOW].bits;
    out->dow = (uint8_t)((dw & 0x7f) | (dw >> 7 & 1));
    uint8_t dl = fs[F_DOW].dow_last;
    out->dow_last = (uint8_t)((dl & 0x7f) | (dl >> 7 & 1));
    for (int w = 0; w < 7; w++)
        out->dow_nth[w] = fs[F_DOW].nth[w];
    out->dow_nth[0] |= fs[F_DOW].nth[7];
    /* a day-of-month no selected month has (February counts 29 days) */
    if (!out->dom_last && !out->dom_lastwd) {
        int min_day = __builtin_ctz(out->dom);
        if (min_day > 29) {
            static const int longest[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
            int max_len = 0;
            for (int m = 1; m <= 12; m++)
                if ((out->months >> m & 1) && longest[m] > max_len)
                    max_len = longest[m];
            if (min_day > max_len)
                return cw_fail(d, CW_ERR_INVALID,
                               "cron: bad day-of-month: no selected month has day %d", min_day);
        }
    }
    return CW_OK;
}
