/*
 * stats.c — least squares, medians, Hodges–Lehmann and Mann–Whitney U
 * (stats.h). The exact U distribution is counted with the recurrence
 * f(m, n, u) = f(m − 1, n, u − n) + f(m, n − 1, u) (the largest of m + n
 * values is either an a, beating all n b's, or a b), in doubles: counts up
 * to C(98, 49) ≈ 2.5e28 keep 15 significant digits, plenty for a p-value.
 */
#include "insights/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double cw_normal_cdf(double z) { return 0.5 * erfc(-z / M_SQRT2); }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double cw_median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

double cw_hodges_lehmann(const double *a, size_t n1, const double *b, size_t n2)
{
    if (!n1 || !n2 || n1 > CW_STATS_MAX_N || n2 > CW_STATS_MAX_N ||
        n1 * n2 > (size_t)16 << 20)
        return NAN;
    double *d = malloc(n1 * n2 * sizeof *d);
    if (!d)
        return NAN;
    for (size_t i = 0; i < n1; i++)
        for (size_t j = 0; j < n2; j++)
            d[i * n2 + j] = a[i] - b[j];
    double m = cw_median(d, n1 * n2);
    free(d);
    return m;
}

bool cw_least_squares(const double *x, const double *y, size_t n, cw_linfit *out)
{
    if (n < 2)
        return false;
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxx = 0, sxy = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        sxx += (x[i] - mx) * (x[i] - mx);
        sxy += (x[i] - mx) * (y[i] - my);
        syy += (y[i] - my) * (y[i] - my);
    }
    if (sxx == 0)
        return false;
    out->n = n;
    out->slope = sxy / sxx;
    out->intercept = my - out->slope * mx;
    out->r2 = syy == 0 ? 1.0 : (sxy * sxy) / (sxx * syy);
    return true;
}

typedef struct {
    double v;
    int from_a;
} tagged;

static int cmp_tagged(const void *p, const void *q)
{
    return cmp_double(&((const tagged *)p)->v, &((const tagged *)q)->v);
}

/* P(U <= k) and P(U >= k) for sizes m, n without ties, by counting. */
static cw_err exact_tails(size_t m, size_t n, double u, double *p_le, double *p_ge)
{
    size_t umax = m * n;
    /* layer[j][v]: arrangements of j a's and the current number of b's
     * with U = v */
    double *prev = calloc((m + 1) * (umax + 1), sizeof *prev);
    double *cur = calloc((m + 1) * (umax + 1), sizeof *cur);
    if (!prev || !cur) {
        free(prev);
        free(cur);
        return CW_ERR_NOMEM;
    }
#define AT(t, j, v) (t)[(j) * (umax + 1) + (v)]
    /* zero b's: one arrangement for every j, with U = 0 */
    for (size_t j = 0; j <= m; j++)
        AT(prev, j, 0) = 1;
    for (size_t k = 1; k <= n; k++) {
        memset(cur, 0, (m + 1) * (umax + 1) * sizeof *cur);
        for (size_t j = 0; j <= m; j++)
            for (size_t v = 0; v <= j * k; v++) {
                double c = AT(prev, j, v); /* largest is a b */
                if (j && v >= k)
                    c += AT(cur, j - 1, v - k); /* largest is an a */
                AT(cur, j, v) = c;
            }
        double *t = prev;
        prev = cur;
        cur = t;
    }
    double total = 0, le = 0, ge = 0;
    for (size_t v = 0; v <= umax; v++) {
        double c = AT(prev, m, v);
        total += c;
        if ((double)v <= u + 1e-9)
            le += c;
        if ((double)v >= u - 1e-9)
            ge += c;
    }
#undef AT
    free(prev);
    free(cur);
    *p_le = le / total;
    *p_ge = ge / total;
    return CW_OK;
}

cw_err cw_mann_whitney(const double *a, size_t n1, const double *b, size_t n2, cw_mwu *out)
{
    memset(out, 0, sizeof *out);
    if (!n1 || !n2 || n1 > CW_STATS_MAX_N || n2 > CW_STATS_MAX_N)
        return CW_ERR_INVALID;
    size_t n = n1 + n2;
    tagged *all = malloc(n * sizeof *all);
    if (!all)
        return CW_ERR_NOMEM;
    for (size_t i = 0; i < n1; i++) {
        if (!isfinite(a[i])) {
            free(all);
            return CW_ERR_INVALID;
        }
        all[i] = (tagged){a[i], 1};
    }
    for (size_t i = 0; i < n2; i++) {
        if (!isfinite(b[i])) {
            free(all);
            return CW_ERR_INVALID;
        }
        all[n1 + i] = (tagged){b[i], 0};
    }
    qsort(all, n, sizeof *all, cmp_tagged);
    /* mid-ranks; the tie term sum(t^3 - t) for the variance */
    double rank_sum_a = 0, tie_term = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && all[j].v == all[i].v)
            j++;
        double t = (double)(j - i);
        double mid = ((double)i + 1 + (double)j) / 2.0; /* ranks i+1 .. j */
        for (size_t k = i; k < j; k++)
            if (all[k].from_a)
                rank_sum_a += mid;
        if (j - i > 1) {
            out->ties = true;
            tie_term += t * t * t - t;
        }
        i = j;
    }
    free(all);
    double d1 = (double)n1, d2 = (double)n2, dn = (double)n;
    out->n1 = n1;
    out->n2 = n2;
    out->u = rank_sum_a - d1 * (d1 + 1) / 2.0;
    out->prob_superiority = out->u / (d1 * d2);
    out->rank_biserial = 2.0 * out->prob_superiority - 1.0;
    if (!out->ties && n1 < CW_MWU_EXACT_MAX && n2 < CW_MWU_EXACT_MAX) {
        double le, ge;
        if (exact_tails(n1, n2, out->u, &le, &ge))
            return CW_ERR_NOMEM;
        out->exact = true;
        out->p_less = le;
        out->p_greater = ge;
        double p = out->u > d1 * d2 / 2.0 ? ge : le;
        out->p_two_sided = p * 2 > 1 ? 1 : p * 2;
        return CW_OK;
    }
    double sigma = sqrt(d1 * d2 / 12.0 * ((dn + 1) - tie_term / (dn * (dn - 1))));
    double centred = out->u - d1 * d2 / 2.0;
    if (sigma == 0) {
        /* every value equal: no evidence either way */
        out->p_greater = out->p_less = out->p_two_sided = 1;
        return CW_OK;
    }
    out->z = centred / sigma;
    out->p_greater = 1.0 - cw_normal_cdf((centred - 0.5) / sigma);
    out->p_less = cw_normal_cdf((centred + 0.5) / sigma);
    double zc = (centred - (centred > 0 ? 0.5 : centred < 0 ? -0.5 : 0)) / sigma;
    double lo = cw_normal_cdf(zc);
    out->p_two_sided = 2 * (lo < 1 - lo ? lo : 1 - lo);
    if (out->p_two_sided > 1)
        out->p_two_sided = 1;
    return CW_OK;
}
