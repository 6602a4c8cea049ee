/* test_stats.c — the statistics of goals and hypotheses (src/insights/
 * stats.c) against independent computations: R's documented wilcox.test
 * example, exact p-values by enumerating every assignment of ranks (not
 * the recurrence the code uses), the normal approximation with ties from
 * the permutation variance of the rank sum, least squares on exact lines. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "insights/stats.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static void near(double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("%.15g != %.15g (tolerance %g)", got, want, tol);
}

static void test_r_example(void **state)
{
    (void)state;
    /* ?wilcox.test: wilcox.test(x, y, alternative = "g") gives W = 35,
     * p-value = 0.1272 (exact: no ties, small samples) */
    const double x[] = {0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46};
    const double y[] = {1.15, 0.88, 0.90, 0.74, 1.21};
    cw_mwu t;
    assert_int_equal(cw_mann_whitney(x, LEN(x), y, LEN(y), &t), CW_OK);
    near(t.u, 35, 0);
    assert_true(t.exact);
    assert_false(t.ties);
    near(t.p_greater, 0.1272, 5e-5);
    near(t.prob_superiority, 35.0 / 50, 1e-12);
    near(t.rank_biserial, 0.4, 1e-12);
}

static uint64_t rs = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

/* Counts, over every choice of n1 of the n ranks 1..n for sample a, how
 * often U = (rank sum − n1(n1+1)/2) is <= u and >= u. */
static void enumerate(int n1, int n, double u, double *le, double *ge)
{
    double total = 0, cle = 0, cge = 0;
    for (uint32_t mask = 0; mask < (1u << n); mask++) {
        if (__builtin_popcount(mask) != n1)
            continue;
        double rsum = 0;
        for (int i = 0; i < n; i++)
            if (mask & (1u << i))
                rsum += i + 1;
        double uu = rsum - n1 * (n1 + 1) / 2.0;
        total++;
        cle += uu <= u;
        cge += uu >= u;
    }
    *le = cle / total;
    *ge = cge / total;
}

static void test_exact_matches_enumeration(void **state)
{
    (void)state;
    for (int round = 0; round < 60; round++) {
        int n1 = 1 + (int)(rnd() % 8), n2 = 1 + (int)(rnd() % 8);
        double a[8], b[8];
        /* distinct values: a permutation of 0..n-1 plus noise-free offsets */
        int n = n1 + n2, perm[16];
        for (int i = 0; i < n; i++)
            perm[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = (int)(rnd() % (uint64_t)(i + 1)), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (int i = 0; i < n1; i++)
            a[i] = perm[i] * 1.5 - 3;
        for (int i = 0; i < n2; i++)
            b[i] = perm[n1 + i] * 1.5 - 3;
        cw_mwu t;
        assert_int_equal(cw_mann_whitney(a, (size_t)n1, b, (size_t)n2, &t), CW_OK);
        assert_true(t.exact);
        double le, ge;
        enumerate(n1, n, t.u, &le, &ge);
        near(t.p_less, le, 1e-12);
        near(t.p_greater, ge, 1e-12);
        double p2 = t.u > n1 * n2 / 2.0 ? ge : le;
        near(t.p_two_sided, p2 * 2 > 1 ? 1 : p2 * 2, 1e-12);
    }
}

static void test_normal_approximation_with_ties(void **state)
{
    (void)state;
    /* integers 0..5 tie a lot; 30 and 40 values */
    double a[30], b[40];
    for (size_t i = 0; i < LEN(a); i++)
        a[i] = (double)(rnd() % 6) + (i % 3 == 0);
    for (size_t i = 0; i < LEN(b); i++)
        b[i] = (double)(rnd() % 6);
    cw_mwu t;
    assert_int_equal(cw_mann_whitney(a, LEN(a), b, LEN(b), &t), CW_OK);
    assert_false(t.exact);
    assert_true(t.ties);
    /* independently: mid-ranks by counting, the permutation variance of
     * the rank sum of a, and the normal tails with continuity correction */
    size_t n1 = LEN(a), n2 = LEN(b), n = n1 + n2;
    double all[70], ranks[70];
    memcpy(all, a, sizeof a);
    memcpy(all + n1, b, sizeof b);
    for (size_t i = 0; i < n; i++) {
        double less = 0, equal = 0;
        for (size_t j = 0; j < n; j++) {
            less += all[j] < all[i];
            equal += all[j] == all[i];
        }
        ranks[i] = less + (equal + 1) / 2.0;
    }
    double ra = 0, mean = (n + 1) / 2.0, ss = 0;
    for (size_t i = 0; i < n; i++) {
        if (i < n1)
            ra += ranks[i];
        ss += (ranks[i] - mean) * (ranks[i] - mean);
    }
    double u = ra - n1 * (n1 + 1) / 2.0;
    near(t.u, u, 1e-9);
    double var = (double)n1 * n2 / ((double)n * (n - 1)) * ss;
    double mu = n1 * n2 / 2.0, sd = sqrt(var);
    near(t.z, (u - mu) / sd, 1e-9);
    near(t.p_greater, 0.5 * erfc((u - mu - 0.5) / sd / sqrt(2)), 1e-12);
    near(t.p_less, 0.5 * erfc(-(u - mu + 0.5) / sd / sqrt(2)), 1e-12);
    /* all values equal: no evidence */
    double same[5] = {1, 1, 1, 1, 1};
    assert_int_equal(cw_mann_whitney(same, 5, same, 5, &t), CW_OK);
    near(t.p_greater, 1, 0);
    near(t.p_two_sided, 1, 0);
}

static void test_large_samples_are_approximate(void **state)
{
    (void)state;
    /* 60 distinct values each: beyond the exact limit; clearly apart */
    double a[60], b[60];
    for (int i = 0; i < 60; i++) {
        a[i] = 100 + i;
        b[i] = i;
    }
    cw_mwu t;
    assert_int_equal(cw_mann_whitney(a, 60, b, 60, &t), CW_OK);
    assert_false(t.exact);
    near(t.u, 3600, 0);
    assert_true(t.p_greater < 1e-15);
    near(t.rank_biserial, 1, 0);
}

static void test_bad_samples(void **state)
{
    (void)state;
    double a[2] = {1, NAN}, b[1] = {2};
    cw_mwu t;
    assert_int_equal(cw_mann_whitney(a, 2, b, 1, &t), CW_ERR_INVALID);
    assert_int_equal(cw_mann_whitney(a, 0, b, 1, &t), CW_ERR_INVALID);
}

static void test_medians_and_lines(void **state)
{
    (void)state;
    double v[] = {5, 1, 3, 2};
    near(cw_median(v, 4), 2.5, 0);
    double w[] = {9, 1, 5};
    near(cw_median(w, 3), 5, 0);
    const double a[] = {1, 2, 3}, b[] = {0};
    near(cw_hodges_lehmann(a, 3, b, 1), 2, 0);
    const double c[] = {10, 11}, e[] = {1, 2};
    near(cw_hodges_lehmann(c, 2, e, 2), 9, 0); /* differences 9, 10, 8, 9 */
    double x[] = {0, 1, 2, 3, 4}, y[] = {3, 5, 7, 9, 11};
    cw_linfit f;
    assert_true(cw_least_squares(x, y, 5, &f));
    near(f.slope, 2, 1e-12);
    near(f.intercept, 3, 1e-12);
    near(f.r2, 1, 1e-12);
    double y2[] = {1, 3, 2, 5, 4};
    assert_true(cw_least_squares(x, y2, 5, &f));
    near(f.slope, 0.8, 1e-12); /* Σ(x-2)(y-3) = 8, Σ(x-2)² = 10 */
    near(f.intercept, 1.4, 1e-12);
    double xs[] = {1, 1};
    assert_false(cw_least_squares(xs, y, 2, &f));
    assert_false(cw_least_squares(x, y, 1, &f));
    near(cw_normal_cdf(0), 0.5, 1e-15);
    near(cw_normal_cdf(1.959963984540054), 0.975, 1e-12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_r_example),
        cmocka_unit_test(test_exact_matches_enumeration),
        cmocka_unit_test(test_normal_approximation_with_ties),
        cmocka_unit_test(test_large_samples_are_approximate),
        cmocka_unit_test(test_bad_samples),
        cmocka_unit_test(test_medians_and_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
