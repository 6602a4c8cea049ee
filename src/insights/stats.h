/*
 * stats.h — the statistics behind goal status and hypothesis verdicts
 * (issue #16), pure and small enough to check by hand: a least-squares
 * line, medians, the Hodges–Lehmann shift and the Mann–Whitney U test.
 *
 * Mann–Whitney U (Wilcoxon rank-sum) compares two samples without assuming
 * they are normally distributed: it ranks all values together and asks how
 * often a value of one sample is larger than a value of the other. It
 * follows R's wilcox.test(a, b, correct = TRUE): U of a = rank sum of a −
 * n1(n1+1)/2 with mid-ranks for ties; the exact distribution of U when both
 * samples have fewer than 50 values and there are no ties; otherwise the
 * normal approximation with the tie correction of the variance and a
 * continuity correction of 0.5.
 */
#ifndef CW_INSIGHTS_STATS_H
#define CW_INSIGHTS_STATS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define CW_MWU_EXACT_MAX 50     /* exact when both n < this and no ties */
#define CW_STATS_MAX_N 100000   /* values per sample */

typedef struct {
    size_t n1, n2;
    double u;                   /* U of a: pairs with a > b, plus half the ties */
    bool ties;
    bool exact;                 /* the exact distribution was used */
    double z;                   /* normal approximation's z without continuity
                                   correction (0 when exact) */
    double p_greater;           /* one-sided: a tends to be larger than b */
    double p_less;              /* one-sided: a tends to be smaller than b */
    double p_two_sided;
    double prob_superiority;    /* U / (n1·n2): chance a random a beats a random b */
    double rank_biserial;       /* 2·U/(n1·n2) − 1, in [−1, 1] */
} cw_mwu;

/* CW_ERR_INVALID when a sample is empty, larger than CW_STATS_MAX_N or
 * holds a value that is not finite; CW_ERR_NOMEM. */
cw_err cw_mann_whitney(const double *a, size_t n1, const double *b, size_t n2, cw_mwu *out);

/* Φ(z), the standard normal distribution function. */
double cw_normal_cdf(double z);

/* The median of v[0..n) (n > 0); sorts v. */
double cw_median(double *v, size_t n);

/* The Hodges–Lehmann estimate of the shift from b to a: the median of all
 * differences a_i − b_j. NAN when out of memory or a sample is empty. */
double cw_hodges_lehmann(const double *a, size_t n1, const double *b, size_t n2);

typedef struct {
    size_t n;
    double slope, intercept;    /* y ≈ intercept + slope·x */
    double r2;                  /* share of the variance the line explains */
} cw_linfit;

/* The least-squares line through (x[i], y[i]); false when n < 2 or every
 * x is the same. */
bool cw_least_squares(const double *x, const double *y, size_t n, cw_linfit *out);

#endif
