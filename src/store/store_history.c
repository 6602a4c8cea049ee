/*
 * store_history.c — the public functions of the findings history
 * (store_history.h): arguments checked once for every backend, then the
 * backend's ops.
 */
#include "store/store_history.h"

#include <stdlib.h>
#include <string.h>

#include "store/store_impl.h"
#include "util/timeutil.h"

static bool text_ok(const char *s, size_t max)
{
    if (!s || !*s)
        return false;
    size_t n = strnlen(s, max);
    if (n >= max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

typedef struct {
    const cw_finding_count *r;
} row_ref;

static int cmp_row(const void *a, const void *b)
{
    const cw_finding_count *x = ((const row_ref *)a)->r, *y = ((const row_ref *)b)->r;
    int c = strcmp(x->kind, y->kind);
    if (!c)
        c = strcmp(x->rule, y->rule);
    if (!c)
        c = strcmp(x->severity, y->severity);
    return c ? c : strcmp(x->scope, y->scope);
}

cw_err cw_store_history_put(cw_store *s, int64_t day, const cw_finding_count *rows, size_t n,
                            bool *taken, cw_diag *d)
{
    const cw_store_history_ops *ops;
    STORE_OPS(s, history, ops, d);
    *taken = false;
    if (day < 0 || day > 2932896) /* 0000-9999 is all a date can say; no earlier than 1970 */
        return cw_fail(d, CW_ERR_INVALID, "day: %lld is out of range", (long long)day);
    if (n > CW_HISTORY_MAX_ROWS)
        return cw_fail(d, CW_ERR_INVALID, "rows: more than %d", CW_HISTORY_MAX_ROWS);
    for (size_t i = 0; i < n; i++) {
        const cw_finding_count *r = &rows[i];
        const char *bad = !text_ok(r->kind, CW_HISTORY_KIND_MAX)           ? "kind"
                          : !text_ok(r->rule, CW_HISTORY_RULE_MAX)         ? "rule"
                          : !text_ok(r->severity, CW_HISTORY_SEVERITY_MAX) ? "severity"
                          : !text_ok(r->scope, CW_REF_MAX)                 ? "scope"
                          : r->count <= 0                                  ? "count"
                                                                           : NULL;
        if (bad)
            return cw_fail(d, CW_ERR_INVALID, "rows[%zu].%s: %s", i, bad,
                           strcmp(bad, "count") ? "required text without control characters, "
                                                  "within its length"
                                                : "must be positive");
    }
    /* one row per (kind, rule, severity, scope) */
    row_ref *sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted)
        return cw_fail(d, CW_ERR_NOMEM, "history: out of memory");
    for (size_t i = 0; i < n; i++)
        sorted[i].r = &rows[i];
    if (n > 1)
        qsort(sorted, n, sizeof *sorted, cmp_row);
    for (size_t i = 1; i < n; i++) {
        if (cmp_row(&sorted[i - 1], &sorted[i]) == 0) {
            cw_err err = cw_fail(d, CW_ERR_INVALID, "rows: %s %s %s %.200s is given twice",
                                 sorted[i].r->kind, sorted[i].r->rule, sorted[i].r->severity,
                                 sorted[i].r->scope);
            free(sorted);
            return err;
        }
    }
    free(sorted);
    return ops->put(s, day, cw_now_ms(), rows, n, taken, d);
}

cw_err cw_store_history_has(cw_store *s, int64_t day, bool *has, cw_diag *d)
{
    const cw_store_history_ops *ops;
    STORE_OPS(s, history, ops, d);
    *has = false;
    return ops->has(s, day, has, d);
}

cw_err cw_store_history_query(cw_store *s, const cw_history_query *q, cw_history *out,
                              cw_diag *d)
{
    const cw_store_history_ops *ops;
    STORE_OPS(s, history, ops, d);
    memset(out, 0, sizeof *out);
    if (!q || !text_ok(q->scope, CW_REF_MAX))
        return cw_fail(d, CW_ERR_INVALID, "scope: required");
    if (q->rule && !text_ok(q->rule, CW_HISTORY_RULE_MAX))
        return cw_fail(d, CW_ERR_INVALID, "rule: too long or not text");
    if (q->to_day < q->from_day)
        return cw_fail(d, CW_ERR_INVALID, "to: must not be before from");
    if (q->to_day - q->from_day >= CW_HISTORY_MAX_DAYS)
        return cw_fail(d, CW_ERR_INVALID, "from: the range from 'from' to 'to' is longer than "
                       "%d days", CW_HISTORY_MAX_DAYS);
    cw_err err = ops->query(s, q, out, d);
    if (err)
        cw_history_free(out);
    return err;
}

void cw_history_free(cw_history *h)
{
    free(h->days);
    free(h->rows);
    memset(h, 0, sizeof *h);
}

static void copy(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

cw_err cw__history_add_row(cw_history *h, size_t *cap, int64_t day, const char *kind,
                           const char *rule, const char *severity, int64_t count, cw_diag *d)
{
    if (h->nrows == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        cw_history_row *r = realloc(h->rows, nc * sizeof *r);
        if (!r)
            return cw_fail(d, CW_ERR_NOMEM, "history: out of memory");
        h->rows = r;
        *cap = nc;
    }
    cw_history_row *r = &h->rows[h->nrows++];
    r->day = day;
    copy(r->kind, sizeof r->kind, kind);
    copy(r->rule, sizeof r->rule, rule);
    copy(r->severity, sizeof r->severity, severity);
    r->count = count;
    return CW_OK;
}

cw_err cw__history_add_day(cw_history *h, size_t *cap, int64_t day, cw_diag *d)
{
    if (h->ndays == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        int64_t *v = realloc(h->days, nc * sizeof *v);
        if (!v)
            return cw_fail(d, CW_ERR_NOMEM, "history: out of memory");
        h->days = v;
        *cap = nc;
    }
    h->days[h->ndays++] = day;
    return CW_OK;
}
