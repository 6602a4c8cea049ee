/*
 * tz.c — TZif (RFC 8536) and POSIX TZ rule parsing, offset lookup and the
 * conversions of tz.h. A zone is an immutable list of transitions plus the
 * footer rule for instants after them; conversions binary-search the list
 * or compute the rule's transitions for the years around an instant.
 * Nothing here touches TZ, localtime or any other process-wide time state.
 */
#include "util/tz.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TZ_MAX_TIMES 50000     /* transitions: real files have a few hundred */
#define TZ_MAX_TYPES 256
#define TZ_MAX_CHARS 4096
#define TZ_MAX_OFFSET (26 * 3600)
#define TZ_WINDOW (TZ_MAX_OFFSET + 3600)   /* wall time vs UTC never differ more */
#define TZ_CACHE_MAX 1024

/* ---- civil dates ------------------------------------------------------------- */

/* Days from a civil date and back, after H. Hinnant's published algorithm
 * description (also used in timeutil.c). */
int64_t cw_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void cw_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int cw_weekday_of_days(int64_t days)
{
    /* 1970-01-01 was a Thursday (4) */
    int64_t w = (days + 4) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

bool cw_leap_year(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int cw_days_in_month(int64_t y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12)
        return 0;
    return m == 2 && cw_leap_year(y) ? 29 : dim[m - 1];
}

/* ---- the zone ------------------------------------------------------------------ */

typedef struct {
    char kind;          /* 'J' (1..365, no Feb 29), 'D' (0..365), 'M' (m.w.d) */
    int a, b, c;        /* J/D: a; M: month a, week b (5 = last), weekday c */
    int32_t time;       /* seconds after local midnight, may be negative or > 24h */
} rule_date;

typedef struct {
    bool present;
    bool has_dst;
    int32_t std_off, dst_off;   /* seconds east of UTC */
    rule_date start, end;
} posix_rule;

typedef struct {
    int32_t off;
    bool dst;
} tz_type;

struct cw_tz {
    char name[CW_TZ_NAME_MAX + 1];
    size_t n;               /* transitions */
    int64_t *at;            /* ascending UTC instants */
    uint8_t *idx;           /* type after each transition */
    size_t ntypes;
    tz_type *types;         /* types[0] also before the first transition */
    posix_rule rule;        /* instants after the last transition */
    bool fixed;
};

/* One transition: at the UTC instant t the offset changes from before to after. */
typedef struct {
    int64_t t;
    int32_t before, after;
} trans;

void cw_tz_free(cw_tz *tz)
{
    if (!tz)
        return;
    free(tz->at);
    free(tz->idx);
    free(tz->types);
    free(tz);
}

static void set_name(cw_tz *tz, const char *name)
{
    size_t n = name ? strnlen(name, CW_TZ_NAME_MAX) : 0;
    memcpy(tz->name, name ? name : "", n);
    tz->name[n] = '\0';
}

/* ---- POSIX TZ strings ------------------------------------------------------------ */

/* Zone abbreviation: 3+ letters, or <...> of letters, digits, '+', '-'. */
static bool posix_name(const char **pp)
{
    const char *p = *pp;
    size_t n = 0;
    if (*p == '<') {
        p++;
        while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
               *p == '+' || *p == '-') {
            p++;
            n++;
        }
        if (*p != '>' || n < 3)
            return false;
        *pp = p + 1;
        return true;
    }
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')) {
        p++;
        n++;
    }
    if (n < 3)
        return false;
    *pp = p;
    return true;
}

/* [+-]hh[:mm[:ss]] with hh <= max_h; seconds (sign applied). */
static bool posix_hms(const char **pp, int max_h, int32_t *out)
{
    const char *p = *pp;
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    int parts[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        if (i > 0) {
            if (*p != ':')
                break;
            p++;
        }
        int digits = 0, v = 0;
        while (*p >= '0' && *p <= '9' && digits < 3) {
            v = v * 10 + (*p++ - '0');
            digits++;
        }
        if (digits == 0 || (i > 0 && (digits != 2 || v > 59)))
            return false;
        parts[i] = v;
    }
    if (parts[0] > max_h)
        return false;
    *out = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
    *pp = p;
    return true;
}

static bool posix_num(const char **pp, int min, int max, int *out)
{
    const char *p = *pp;
    int v = 0, digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 4) {
        v = v * 10 + (*p++ - '0');
        digits++;
    }
    if (!digits || v < min || v > max)
        return false;
    *out = v;
    *pp = p;
    return true;
}

static bool posix_date(const char **pp, rule_date *rd)
{
    const char *p = *pp;
    if (*p == 'J') {
        p++;
        rd->kind = 'J';
        if (!posix_num(&p, 1, 365, &rd->a))
            return false;
    } else if (*p == 'M') {
        p++;
        rd->kind = 'M';
        if (!posix_num(&p, 1, 12, &rd->a) || *p++ != '.' || !posix_num(&p, 1, 5, &rd->b) ||
            *p++ != '.' || !posix_num(&p, 0, 6, &rd->c))
            return false;
    } else {
        rd->kind = 'D';
        if (!posix_num(&p, 0, 365, &rd->a))
            return false;
    }
    rd->time = 7200;
    if (*p == '/') {
        p++;
        /* RFC 8536 version 3 allows -167..167 hours */
        if (!posix_hms(&p, 167, &rd->time))
            return false;
    }
    *pp = p;
    return true;
}

static bool posix_parse(const char *text, posix_rule *r)
{
    memset(r, 0, sizeof *r);
    const char *p = text;
    int32_t off;
    if (!posix_name(&p) || !posix_hms(&p, 24, &off))
        return false;
    r->std_off = -off; /* POSIX counts west of UTC */
    r->present = true;
    if (!*p)
        return true;
    if (!posix_name(&p))
        return false;
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    if (*p && *p != ',') {
        if (!posix_hms(&p, 24, &off))
            return false;
        r->dst_off = -off;
    }
    if (!*p) {
        /* no rule: tzcode's default, the US rules since 2007 */
        r->start = (rule_date){'M', 3, 2, 0, 7200};
        r->end = (rule_date){'M', 11, 1, 0, 7200};
        return true;
    }
    if (*p++ != ',' || !posix_date(&p, &r->start) || *p++ != ',' || !posix_date(&p, &r->end))
        return false;
    return *p == '\0';
}

/* Local midnight of the rule date in year y, as days since the epoch. */
static int64_t rule_day(const rule_date *rd, int64_t y)
{
    int64_t jan1 = cw_days_from_civil(y, 1, 1);
    if (rd->kind == 'J')
        return jan1 + rd->a - 1 + (cw_leap_year(y) && rd->a >= 60 ? 1 : 0);
    if (rd->kind == 'D')
        return jan1 + rd->a;
    int64_t first = cw_days_from_civil(y, rd->a, 1);
    int day = 1 + (rd->c - cw_weekday_of_days(first) + 7) % 7 + (rd->b - 1) * 7;
    int dim = cw_days_in_month(y, rd->a);
    while (day > dim)
        day -= 7;
    return first + day - 1;
}

/* The rule's two transitions of year y (start of DST, then its end), as
 * UTC instants; start is given in standard time, end in daylight time. */
static void rule_year(const posix_rule *r, int64_t y, trans out[2])
{
    int64_t s = rule_day(&r->start, y) * 86400 + r->start.time - r->std_off;
    int64_t e = rule_day(&r->end, y) * 86400 + r->end.time - r->dst_off;
    out[0] = (trans){s, r->std_off, r->dst_off};
    out[1] = (trans){e, r->dst_off, r->std_off};
}

/* By instant only: rule_range's insertion sort is stable, so at one instant
 * a year's end of DST stays before the next year's start, and "DST all
 * year" rules (J365/25 ending where the next year starts) stay in DST. */
static int trans_cmp(const trans *x, const trans *y)
{
    return x->t < y->t ? -1 : x->t > y->t;
}

static int64_t year_of(int64_t t)
{
    int64_t y;
    int m, d;
    cw_civil_from_days(floor_div(t, 86400), &y, &m, &d);
    return y;
}

/* The rule's transitions in years y0..y1, sorted (at most 2 per year). */
static size_t rule_range(const posix_rule *r, int64_t y0, int64_t y1, trans *out, size_t max)
{
    size_t n = 0;
    for (int64_t y = y0; y <= y1 && n + 2 <= max; y++) {
        rule_year(r, y, &out[n]);
        n += 2;
    }
    /* insertion sort, stable: a year's end before the next year's start on ties */
    for (size_t i = 1; i < n; i++) {
        trans v = out[i];
        size_t j = i;
        while (j > 0 && trans_cmp(&out[j - 1], &v) > 0) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = v;
    }
    return n;
}

static int32_t rule_offset(const posix_rule *r, int64_t t)
{
    if (!r->has_dst)
        return r->std_off;
    int64_t y = year_of(t);
    trans tr[6];
    size_t n = rule_range(r, y - 1, y + 1, tr, 6);
    int32_t off = r->std_off;
    bool seen = false;
    for (size_t i = 0; i < n; i++)
        if (tr[i].t <= t) {
            off = tr[i].after;
            seen = true;
        }
    if (!seen && n)
        off = tr[0].before;
    return off;
}

cw_err cw_tz_parse_posix(const char *text, cw_tz **out, cw_diag *d)
{
    *out = NULL;
    if (!text || strlen(text) > 256)
        return cw_fail(d, CW_ERR_INVALID, "TZ rule: missing or too long");
    cw_tz *tz = calloc(1, sizeof *tz);
    if (!tz)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory");
    if (!posix_parse(text, &tz->rule) || tz->rule.std_off < -TZ_MAX_OFFSET ||
        tz->rule.std_off > TZ_MAX_OFFSET || tz->rule.dst_off < -TZ_MAX_OFFSET ||
        tz->rule.dst_off > TZ_MAX_OFFSET) {
        cw_tz_free(tz);
        return cw_fail(d, CW_ERR_INVALID, "TZ rule: \"%.64s\" is not a POSIX TZ string", text);
    }
    tz->types = calloc(1, sizeof *tz->types);
    if (!tz->types) {
        cw_tz_free(tz);
        return cw_fail(d, CW_ERR_NOMEM, "out of memory");
    }
    tz->ntypes = 1;
    tz->types[0].off = tz->rule.std_off;
    tz->fixed = !tz->rule.has_dst;
    set_name(tz, text);
    *out = tz;
    return CW_OK;
}

/* ---- TZif ------------------------------------------------------------------------ */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    uint64_t v = (uint64_t)be32(p) << 32 | be32(p + 4);
    return (int64_t)v;
}

typedef struct {
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
    int version;
} tzif_header;

static bool read_header(const unsigned char *p, size_t len, tzif_header *h)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0)
        return false;
    h->version = p[4] == 0 ? 1 : p[4] - '0';
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    return true;
}

/* Bytes of the data block after a header, or 0 when the counts are bad. */
static size_t block_size(const tzif_header *h, size_t tsize)
{
    if (h->timecnt > TZ_MAX_TIMES || h->typecnt == 0 || h->typecnt > TZ_MAX_TYPES ||
        h->charcnt > TZ_MAX_CHARS || h->leapcnt > 10000 ||
        (h->isstdcnt && h->isstdcnt != h->typecnt) || (h->isutcnt && h->isutcnt != h->typecnt))
        return 0;
    return (size_t)h->timecnt * tsize + h->timecnt + (size_t)h->typecnt * 6 + h->charcnt +
           (size_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

cw_err cw_tz_parse(const void *data, size_t len, const char *name, cw_tz **out, cw_diag *d)
{
    *out = NULL;
    const unsigned char *p = data;
    tzif_header h;
    if (!p || !read_header(p, len, &h))
        return cw_fail(d, CW_ERR_INVALID, "time zone %.64s: not a TZif file", name ? name : "");
    if (h.version < 1 || h.version > 4)
        return cw_fail(d, CW_ERR_INVALID, "time zone %.64s: unknown TZif version", name ? name : "");
    size_t tsize = 4;
    size_t v1 = block_size(&h, 4);
    if (!v1 || v1 > len - 44)
        return cw_fail(d, CW_ERR_INVALID, "time zone %.64s: TZif counts do not fit the file",
                       name ? name : "");
    size_t off = 44;
    if (h.version >= 2) {
        /* the version 1 block is only for old readers: skip it */
        off += v1;
        if (!read_header(p + off, len - off, &h))
            return cw_fail(d, CW_ERR_INVALID, "time zone %.64s: second TZif header missing",
                           name ? name : "");
        off += 44;
        tsize = 8;
        size_t v2 = block_size(&h, 8);
        if (!v2 || v2 > len - off)
            return cw_fail(d, CW_ERR_INVALID, "time zone %.64s: TZif counts do not fit the file",
                           name ? name : "");
    }
    if (h.leapcnt)
        return cw_fail(d, CW_ERR_INVALID,
                       "time zone %.64s: zones with leap seconds (right/...) are not supported",
                       name ? name : "");
    cw_err err = CW_OK;
    cw_tz *tz = calloc(1, sizeof *tz);
    if (!tz)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory");
    set_name(tz, name);
    tz->n = h.timecnt;
    tz->ntypes = h.typecnt;
    tz->at = malloc((h.timecnt ? h.timecnt : 1) * sizeof *tz->at);
    tz->idx = malloc(h.timecnt ? h.timecnt : 1);
    tz->types = malloc(h.typecnt * sizeof *tz->types);
    if (!tz->at || !tz->idx || !tz->types) {
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
        goto out;
    }
    const unsigned char *q = p + off;
    for (size_t i = 0; i < h.timecnt; i++, q += tsize) {
        tz->at[i] = tsize == 8 ? be64(q) : (int64_t)(int32_t)be32(q);
        if (i > 0 && tz->at[i] <= tz->at[i - 1]) {
            err = cw_fail(d, CW_ERR_INVALID, "time zone %.64s: transitions out of order",
                          tz->name);
            goto out;
        }
    }
    for (size_t i = 0; i < h.timecnt; i++, q++) {
        if (*q >= h.typecnt) {
            err = cw_fail(d, CW_ERR_INVALID, "time zone %.64s: transition type out of range",
                          tz->name);
            goto out;
        }
        tz->idx[i] = *q;
    }
    for (size_t i = 0; i < h.typecnt; i++, q += 6) {
        int32_t utoff = (int32_t)be32(q);
        if (utoff < -TZ_MAX_OFFSET || utoff > TZ_MAX_OFFSET || q[4] > 1 ||
            (h.charcnt && q[5] >= h.charcnt)) {
            err = cw_fail(d, CW_ERR_INVALID, "time zone %.64s: bad local time type %zu",
                          tz->name, i);
            goto out;
        }
        tz->types[i].off = utoff;
        tz->types[i].dst = q[4] != 0;
    }
    q += h.charcnt + h.isstdcnt + h.isutcnt; /* no leap records (refused above) */
    if (h.version >= 2) {
        size_t rest = len - (size_t)(q - p);
        if (rest < 2 || q[0] != '\n') {
            err = cw_fail(d, CW_ERR_INVALID, "time zone %.64s: TZif footer missing", tz->name);
            goto out;
        }
        const unsigned char *nl = memchr(q + 1, '\n', rest - 1);
        size_t flen = nl ? (size_t)(nl - q - 1) : 0;
        if (!nl || flen > 256) {
            err = cw_fail(d, CW_ERR_INVALID, "time zone %.64s: TZif footer not terminated",
                          tz->name);
            goto out;
        }
        if (flen) {
            char footer[257];
            memcpy(footer, q + 1, flen);
            footer[flen] = '\0';
            if (memchr(footer, '\0', flen) || !posix_parse(footer, &tz->rule) ||
                tz->rule.std_off < -TZ_MAX_OFFSET || tz->rule.std_off > TZ_MAX_OFFSET ||
                tz->rule.dst_off < -TZ_MAX_OFFSET || tz->rule.dst_off > TZ_MAX_OFFSET) {
                err = cw_fail(d, CW_ERR_INVALID, "time zone %.64s: bad TZ rule in the footer",
                              tz->name);
                goto out;
            }
        }
    }
    tz->fixed = tz->ntypes == 1 && (!tz->rule.present ||
                                    (!tz->rule.has_dst && tz->rule.std_off == tz->types[0].off));
    if (tz->n == 0 && tz->rule.present)
        tz->fixed = !tz->rule.has_dst;
out:
    if (err) {
        cw_tz_free(tz);
        return err;
    }
    *out = tz;
    return CW_OK;
}

/* ---- conversions ---------------------------------------------------------------- */

static const cw_tz utc_zone = {
    .name = "UTC",
    .n = 0,
    .ntypes = 1,
    .types = (tz_type *)&(const tz_type){0, false},
    .rule = {.present = true, .has_dst = false, .std_off = 0, .dst_off = 0},
    .fixed = true,
};

const cw_tz *cw_tz_utc(void) { return &utc_zone; }
const char *cw_tz_name(const cw_tz *tz) { return tz->name; }
bool cw_tz_is_fixed(const cw_tz *tz) { return tz->fixed; }

/* Whether the footer rule governs instant t. */
static bool by_rule(const cw_tz *tz, int64_t t)
{
    return tz->rule.present && (tz->n == 0 || t > tz->at[tz->n - 1]);
}

int32_t cw_tz_offset(const cw_tz *tz, int64_t t)
{
    if (by_rule(tz, t))
        return rule_offset(&tz->rule, t);
    if (tz->n == 0 || t < tz->at[0])
        return tz->types[0].off;
    size_t lo = 0, hi = tz->n; /* last at[i] <= t */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->at[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return tz->types[tz->idx[lo]].off;
}

/* The transitions with a <= t <= b (sorted), at most max. */
static size_t transitions_in(const cw_tz *tz, int64_t a, int64_t b, trans *out, size_t max)
{
    size_t n = 0;
    if (tz->n) {
        size_t lo = 0, hi = tz->n; /* first at[i] >= a */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (tz->at[mid] < a)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t i = lo; i < tz->n && tz->at[i] <= b && n < max; i++) {
            int32_t before = i ? tz->types[tz->idx[i - 1]].off : tz->types[0].off;
            out[n++] = (trans){tz->at[i], before, tz->types[tz->idx[i]].off};
        }
    }
    if (tz->rule.present && tz->rule.has_dst && (tz->n == 0 || b > tz->at[tz->n - 1])) {
        trans tr[8];
        size_t k = rule_range(&tz->rule, year_of(a) - 1, year_of(b) + 1, tr, 8);
        for (size_t i = 0; i < k && n < max; i++)
            if (tr[i].t >= a && tr[i].t <= b && by_rule(tz, tr[i].t))
                out[n++] = tr[i];
    }
    return n;
}

int64_t cw_tz_to_utc(const cw_tz *tz, int64_t w, int fold)
{
    if (tz->fixed)
        return w - tz->types[0].off;
    int32_t off = cw_tz_offset(tz, w - TZ_WINDOW);
    trans tr[16];
    size_t n = transitions_in(tz, w - TZ_WINDOW, w + TZ_WINDOW, tr, 16);
    for (size_t i = 0; i < n; i++) {
        int32_t hi = tr[i].before > tr[i].after ? tr[i].before : tr[i].after;
        int32_t lo = tr[i].before > tr[i].after ? tr[i].after : tr[i].before;
        /* fold 0 keeps the old offset through the whole gap or fold */
        int64_t wall_at = tr[i].t + (fold ? lo : hi);
        if (wall_at <= w)
            off = tr[i].after;
    }
    return w - off;
}

int64_t cw_tz_from_utc(const cw_tz *tz, int64_t t, int *fold)
{
    int64_t w = t + cw_tz_offset(tz, t);
    if (fold)
        *fold = !tz->fixed && cw_tz_to_utc(tz, w, 0) != t;
    return w;
}

bool cw_tz_imaginary(const cw_tz *tz, int64_t w)
{
    if (tz->fixed)
        return false;
    return cw_tz_from_utc(tz, cw_tz_to_utc(tz, w, 0), NULL) != w;
}

/* ---- the system database ------------------------------------------------------------ */

bool cw_tz_name_valid(const char *name)
{
    if (!name)
        return false;
    size_t n = strlen(name);
    if (n == 0 || n > CW_TZ_NAME_MAX || name[0] == '/' || name[n - 1] == '/')
        return false;
    size_t comp = 0;
    for (size_t i = 0; i <= n; i++) {
        char c = name[i];
        if (c == '/' || c == '\0') {
            const char *s = name + i - comp;
            if (comp == 0 || (comp == 1 && s[0] == '.') || (comp == 2 && s[0] == '.' && s[1] == '.'))
                return false;
            comp = 0;
            continue;
        }
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '+' || c == '.'))
            return false;
        comp++;
    }
    return true;
}

static struct {
    pthread_mutex_t mu;
    size_t n;
    cw_tz *zones[TZ_CACHE_MAX];
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

static cw_err load_file(const char *name, cw_tz **out, cw_diag *d)
{
    const char *dir = getenv("TZDIR");
    if (!dir || !*dir)
        dir = "/usr/share/zoneinfo";
    char path[1024];
    int pn = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (pn < 0 || (size_t)pn >= sizeof path)
        return cw_fail(d, CW_ERR_INVALID, "time zone %s: path too long", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cw_fail(d, errno == ENOENT || errno == ENOTDIR ? CW_ERR_NOT_FOUND : CW_ERR_IO,
                       "time zone %s: not in the tz database (%s)", name, strerror(errno));
    cw_err err = CW_OK;
    unsigned char *buf = NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        err = cw_fail(d, CW_ERR_NOT_FOUND, "time zone %s: not in the tz database", name);
        goto out;
    }
    if (st.st_size > (off_t)CW_TZ_FILE_MAX) {
        err = cw_fail(d, CW_ERR_INVALID, "time zone %s: file too large", name);
        goto out;
    }
    size_t len = (size_t)st.st_size, got = 0;
    buf = malloc(len ? len : 1);
    if (!buf) {
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
        goto out;
    }
    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            err = cw_fail(d, CW_ERR_IO, "time zone %s: cannot read the file", name);
            goto out;
        }
        got += (size_t)r;
    }
    err = cw_tz_parse(buf, len, name, out, d);
out:
    free(buf);
    close(fd);
    return err;
}

cw_err cw_tz_get(const char *name, const cw_tz **out, cw_diag *d)
{
    *out = NULL;
    if (!cw_tz_name_valid(name))
        return cw_fail(d, CW_ERR_INVALID, "time zone \"%.64s\": not a tz database name "
                       "(e.g. Europe/Berlin, UTC)", name ? name : "");
    if (!strcmp(name, "UTC")) {
        *out = &utc_zone;
        return CW_OK;
    }
    pthread_mutex_lock(&cache.mu);
    for (size_t i = 0; i < cache.n; i++)
        if (!strcmp(cache.zones[i]->name, name)) {
            *out = cache.zones[i];
            pthread_mutex_unlock(&cache.mu);
            return CW_OK;
        }
    pthread_mutex_unlock(&cache.mu);
    /* read outside the lock; a racing loader of the same zone loses below */
    cw_tz *tz = NULL;
    cw_err err = load_file(name, &tz, d);
    if (err)
        return err;
    pthread_mutex_lock(&cache.mu);
    for (size_t i = 0; i < cache.n; i++)
        if (!strcmp(cache.zones[i]->name, name)) {
            *out = cache.zones[i];
            pthread_mutex_unlock(&cache.mu);
            cw_tz_free(tz);
            return CW_OK;
        }
    if (cache.n == TZ_CACHE_MAX) {
        pthread_mutex_unlock(&cache.mu);
        cw_tz_free(tz);
        return cw_fail(d, CW_ERR_TOO_LARGE, "time zone %s: too many zones in use", name);
    }
    cache.zones[cache.n++] = tz;
    *out = tz;
    pthread_mutex_unlock(&cache.mu);
    return CW_OK;
}

void cw_tz_cache_reset(void)
{
    pthread_mutex_lock(&cache.mu);
    for (size_t i = 0; i < cache.n; i++)
        cw_tz_free(cache.zones[i]);
    cache.n = 0;
    pthread_mutex_unlock(&cache.mu);
}
