/*
 * test_coupling.c — release coupling: services joined by a shared chainId
 * or by deploying within the window, the symmetric "together" count (a burst
 * counts once), confidence/jaccard, thresholds, release trains with their
 * teams, the JSON answer, and pages: cursors that continue exactly where the
 * previous page ended (also after the component they name has gone), and
 * memory that follows the page, not the two million pairs of 2,000
 * components deployed together.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/resource.h>

#include "insights/coupling.h"
#include "util/timeutil.h"

#define MIN 60000LL
#define H (60 * MIN)
#define DAY (24 * H)

enum { A, B, C, D, E, F, NCOMP };

static int64_t base(void)
{
    int64_t ms;
    cw_time_parse_rfc3339("2024-05-01T00:00:00Z", &ms);
    return ms;
}

static cw_dora_deployment deps[64];
static size_t ndeps;
static char chains[8][16];

static void add(int32_t comp, int day, int64_t at, const char *chain)
{
    deps[ndeps++] = (cw_dora_deployment){comp, base() + day * DAY + at, NULL, chain, NULL, 0};
}

/* The scenario described in the test below. */
static void build(void)
{
    ndeps = 0;
    for (int k = 1; k <= 5; k++) {
        snprintf(chains[k], sizeof chains[k], "rel-%d", k);
        add(A, k, 10 * H, chains[k]);
        add(B, k, 12 * H, chains[k]);          /* 2 h later: joined by the chain only */
        add(C, k, 12 * H + 5 * MIN, NULL);     /* 5 min after B: joined by time */
    }
    for (int k = 1; k <= 6; k++) {
        add(D, k, 20 * H, NULL);
        add(E, k, 20 * H + 15 * MIN, NULL);    /* exactly the window */
    }
    add(E, 8, 20 * H + 4 * MIN, NULL);         /* lone E, inside F's burst */
    add(E, 9, 3 * H, NULL);
    add(E, 10, 3 * H, NULL);
    add(E, 11, 3 * H, NULL);
    for (int i = 0; i < 5; i++)
        add(F, 8, 20 * H + i * 2 * MIN, NULL); /* burst of five */
    add(A, 40, 0, NULL);                       /* outside the window */
}

static cw_coupling_params params(void)
{
    return (cw_coupling_params){base(), base() + 31 * DAY, 15 * MIN, 5, 0.8, 0, NULL};
}

static cw_coupling_result run(cw_coupling_params p)
{
    cw_dora_input in = {.ncomponents = NCOMP, .deployments = deps, .ndeployments = ndeps};
    cw_coupling_result r;
    cw_diag d = {""};
    if (cw_coupling_compute(&in, &p, &r, &d))
        fail_msg("coupling: %s", d.msg);
    return r;
}

static void expect_pair(const cw_coupling_pair *p, int a, int b, size_t together, size_t ca,
                        size_t cb, double conf, double jac, bool flagged)
{
    assert_int_equal(p->a, a);
    assert_int_equal(p->b, b);
    assert_int_equal(p->together, together);
    assert_int_equal(p->count_a, ca);
    assert_int_equal(p->count_b, cb);
    if (fabs(p->confidence - conf) > 1e-12 || fabs(p->jaccard - jac) > 1e-12)
        fail_msg("pair %d-%d: confidence %f jaccard %f, want %f %f", a, b, p->confidence,
                 p->jaccard, conf, jac);
    assert_int_equal(p->flagged, flagged);
}

static void test_pairs_and_trains(void **state)
{
    (void)state;
    build();
    cw_coupling_result r = run(params());
    assert_int_equal(r.npairs, 4);
    /* Flagged first, by confidence then together. */
    expect_pair(&r.pairs[0], D, E, 6, 6, 10, 1.0, 0.6, true);
    expect_pair(&r.pairs[1], A, B, 5, 5, 5, 1.0, 1.0, true);   /* same chain, 2 h apart */
    expect_pair(&r.pairs[2], B, C, 5, 5, 5, 1.0, 1.0, true);   /* 5 min apart */
    /* F's five deployments around one E deployment count once. */
    expect_pair(&r.pairs[3], E, F, 1, 10, 5, 0.2, 1.0 / 14.0, false);
    assert_int_equal(r.ntrains, 2);
    assert_int_equal(r.trains[0].n, 3);
    assert_int_equal(r.trains[0].members[0], A);
    assert_int_equal(r.trains[0].members[1], B);
    assert_int_equal(r.trains[0].members[2], C);
    assert_int_equal(r.trains[1].n, 2);
    assert_int_equal(r.trains[1].members[0], D);
    assert_int_equal(r.trains[1].members[1], E);

    const char *const refs[] = {"component:default/a", "component:default/b", "component:default/c",
                                "component:default/d", "component:default/e", "component:default/f"};
    const char *const owners[] = {"group:default/team-x", "group:default/team-y",
                                  "group:default/team-x", NULL, "group:default/team-z", NULL};
    json_t *j;
    assert_int_equal(cw_coupling_to_json(&r, refs, owners, &j), CW_OK);
    char *text = json_dumps(json_object_get(j, "trains"), JSON_COMPACT);
    assert_string_equal(text, "[{\"components\":[\"component:default/a\",\"component:default/b\","
                              "\"component:default/c\"],\"teams\":[\"group:default/team-x\","
                              "\"group:default/team-y\"]},{\"components\":[\"component:default/d\","
                              "\"component:default/e\"],\"teams\":[\"group:default/team-z\"]}]");
    free(text);
    text = json_dumps(json_array_get(json_object_get(j, "pairs"), 0),
                      JSON_COMPACT | JSON_REAL_PRECISION(10));
    assert_string_equal(text, "{\"a\":\"component:default/d\",\"b\":\"component:default/e\","
                              "\"together\":6,\"deploymentsA\":6,\"deploymentsB\":10,"
                              "\"confidence\":1.0,\"jaccard\":0.6,\"flagged\":true}");
    free(text);
    json_decref(j);
    cw_coupling_free(&r);
}

static void test_thresholds_and_window(void **state)
{
    (void)state;
    build();
    cw_coupling_params p = params();
    p.min_together = 6;
    cw_coupling_result r = run(p);
    assert_int_equal(r.npairs, 4);
    assert_true(r.pairs[0].flagged);
    assert_false(r.pairs[1].flagged);
    assert_int_equal(r.ntrains, 1);
    assert_int_equal(r.trains[0].members[0], D);
    cw_coupling_free(&r);

    /* Confidence threshold: E-F (0.2) flagged only when both thresholds allow. */
    p = params();
    p.min_together = 1;
    p.min_confidence = 0.2;
    r = run(p);
    assert_true(r.pairs[3].flagged);
    assert_int_equal(r.ntrains, 2); /* A-B-C and D-E-F */
    assert_int_equal(r.trains[1].n, 3);
    assert_int_equal(r.trains[1].members[2], F);
    cw_coupling_free(&r);
    p.min_confidence = 0.21;
    r = run(p);
    assert_false(r.pairs[3].flagged);
    assert_int_equal(r.ntrains, 2);
    assert_int_equal(r.trains[1].n, 2);
    cw_coupling_free(&r);

    /* One millisecond less of window: D and E (15 min apart) are no pair. */
    p = params();
    p.window_ms = 15 * MIN - 1;
    r = run(p);
    for (size_t i = 0; i < r.npairs; i++)
        assert_false(r.pairs[i].a == D && r.pairs[i].b == E);
    assert_int_equal(r.npairs, 3);
    cw_coupling_free(&r);

    /* The window [from, to) limits counts. */
    p = params();
    p.to_ms = base() + 3 * DAY; /* days 1 and 2 */
    r = run(p);
    expect_pair(&r.pairs[0], A, B, 2, 2, 2, 1.0, 1.0, false);
    cw_coupling_free(&r);
}

static void test_invalid(void **state)
{
    (void)state;
    build();
    cw_dora_input in = {.ncomponents = NCOMP, .deployments = deps, .ndeployments = ndeps};
    cw_coupling_result r;
    cw_diag d = {""};
    cw_coupling_params p = params();
    p.min_confidence = 1.5;
    assert_int_equal(cw_coupling_compute(&in, &p, &r, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "minConfidence: must be between 0 and 1");
    p = params();
    p.window_ms = -1;
    assert_int_equal(cw_coupling_compute(&in, &p, &r, &d), CW_ERR_INVALID);
    p = params();
    p.to_ms = p.from_ms;
    assert_int_equal(cw_coupling_compute(&in, &p, &r, &d), CW_ERR_INVALID);
    in.ncomponents = 3;
    assert_int_equal(cw_coupling_compute(&in, &(cw_coupling_params){params().from_ms, params().to_ms,
                                                                   MIN, 1, 0.5, 0, NULL},
                                         &r, &d),
                     CW_ERR_INVALID);
    assert_string_equal(d.msg, "deployments[15].component: 3 out of range");
    /* No deployments: nothing to report. */
    in = (cw_dora_input){.ncomponents = 2};
    p = params();
    assert_int_equal(cw_coupling_compute(&in, &p, &r, &d), CW_OK);
    assert_int_equal(r.npairs, 0);
    assert_int_equal(r.ntrains, 0);
    json_t *j;
    assert_int_equal(cw_coupling_to_json(&r, NULL, NULL, &j), CW_OK);
    char *text = json_dumps(j, JSON_COMPACT);
    assert_string_equal(text, "{\"pairs\":[],\"totalPairs\":0,\"flaggedPairs\":0,\"trains\":[]}");
    free(text);
    json_decref(j);
    cw_coupling_free(&r);
}

static uint64_t rng = 0x2545F4914F6CDD1DULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* The definition in coupling.h, computed pair by pair. */
static void test_matches_reference(void **state)
{
    (void)state;
    enum { NC = 8, N = 600 };
    static cw_dora_deployment rd[N];
    static char rchains[N][16];
    int64_t from = base(), to = base() + 20 * DAY, w = 30 * MIN;
    for (size_t i = 0; i < N; i++) {
        snprintf(rchains[i], sizeof rchains[i], "x%zu", next_rand() % 60);
        rd[i] = (cw_dora_deployment){(int32_t)(next_rand() % NC),
                                     base() - DAY + (int64_t)(next_rand() % (22 * 24 * 6)) * 10 * MIN,
                                     NULL, next_rand() % 4 == 0 ? rchains[i] : NULL, NULL, 0};
    }
    cw_dora_input in = {.ncomponents = NC, .deployments = rd, .ndeployments = N};
    cw_coupling_params p = {from, to, w, 3, 0.3, 0, NULL};
    cw_coupling_result r;
    cw_diag d = {""};
    assert_int_equal(cw_coupling_compute(&in, &p, &r, &d), CW_OK);
    size_t count[NC] = {0};
    for (size_t i = 0; i < N; i++)
        if (rd[i].time_ms >= from && rd[i].time_ms < to)
            count[rd[i].component]++;
    size_t listed = 0, flagged = 0;
    for (int a = 0; a < NC; a++) {
        for (int b = a + 1; b < NC; b++) {
            size_t side[2] = {0, 0};
            for (int s = 0; s < 2; s++) {
                int x = s ? b : a, y = s ? a : b;
                for (size_t i = 0; i < N; i++) {
                    if (rd[i].component != x || rd[i].time_ms < from || rd[i].time_ms >= to)
                        continue;
                    for (size_t j = 0; j < N; j++) {
                        if (rd[j].component != y || rd[j].time_ms < from || rd[j].time_ms >= to)
                            continue;
                        int64_t dt = rd[i].time_ms - rd[j].time_ms;
                        bool chain = rd[i].chain_id && rd[j].chain_id &&
                                     strcmp(rd[i].chain_id, rd[j].chain_id) == 0;
                        if (chain || (dt <= w && dt >= -w)) {
                            side[s]++;
                            break;
                        }
                    }
                }
            }
            size_t together = side[0] < side[1] ? side[0] : side[1];
            const cw_coupling_pair *found = NULL;
            for (size_t k = 0; k < r.npairs; k++)
                if (r.pairs[k].a == a && r.pairs[k].b == b)
                    found = &r.pairs[k];
            if (together == 0) {
                assert_null(found);
                continue;
            }
            assert_non_null(found);
            listed++;
            size_t mn = count[a] < count[b] ? count[a] : count[b];
            expect_pair(found, a, b, together, count[a], count[b], (double)together / (double)mn,
                        (double)together / (double)(count[a] + count[b] - together),
                        together >= 3 && (double)together / (double)mn >= 0.3);
            flagged += found->flagged;
        }
    }
    assert_int_equal(r.npairs, listed);
    assert_int_equal(r.total_pairs, listed);
    assert_int_equal(r.flagged_pairs, flagged);
    assert_false(r.more);
    assert_true(listed > 5);
    assert_true(flagged > 0);
    cw_coupling_free(&r);
}


static int cmp_order(const cw_coupling_pair *x, const cw_coupling_pair *y)
{
    if (x->flagged != y->flagged)
        return x->flagged ? -1 : 1;
    if (x->confidence != y->confidence)
        return x->confidence > y->confidence ? -1 : 1;
    if (x->together != y->together)
        return x->together > y->together ? -1 : 1;
    if (x->a != y->a)
        return x->a < y->a ? -1 : 1;
    return (x->b > y->b) - (x->b < y->b);
}

static void assert_same_pair(const cw_coupling_pair *x, const cw_coupling_pair *y)
{
    assert_int_equal(x->a, y->a);
    assert_int_equal(x->b, y->b);
    assert_int_equal(x->together, y->together);
    assert_int_equal(x->count_a, y->count_a);
    assert_int_equal(x->count_b, y->count_b);
    assert_true(x->confidence == y->confidence);
    assert_true(x->jaccard == y->jaccard);
    assert_int_equal(x->flagged, y->flagged);
}

/* Random deployments of nc components over a few days, some in chains;
 * the components of each group of five also follow the group's first one
 * now and then (pairs that are flagged). */
static void random_input(cw_dora_deployment *rd, char (*rchains)[16], size_t n, size_t nc)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(rchains[i], sizeof rchains[i], "y%zu", next_rand() % 40);
        int32_t c = (int32_t)(next_rand() % nc);
        int64_t t = base() + (int64_t)(next_rand() % (5 * 24 * 12)) * 5 * MIN;
        if (i > 0 && c % 5 && next_rand() % 2)
            for (size_t j = i; j-- > 0;)
                if (rd[j].component == c - c % 5) {
                    t = rd[j].time_ms + (int64_t)(next_rand() % 10) * MIN;
                    break;
                }
        rd[i] = (cw_dora_deployment){c, t, NULL, next_rand() % 5 == 0 ? rchains[i] : NULL, NULL, 0};
    }
}

/* Pages of every size, followed by their cursors, list exactly the pairs of
 * the whole answer in its order; totals and trains are the same on every
 * page. */
static void test_pages_follow_the_order(void **state)
{
    (void)state;
    enum { NC = 30, N = 900 };
    static cw_dora_deployment rd[N];
    static char rchains[N][16];
    random_input(rd, rchains, N, NC);
    cw_dora_input in = {.ncomponents = NC, .deployments = rd, .ndeployments = N};
    cw_coupling_params p = {base(), base() + 6 * DAY, 20 * MIN, 4, 0.5, 0, NULL};
    cw_coupling_result all;
    cw_diag d = {""};
    assert_int_equal(cw_coupling_compute(&in, &p, &all, &d), CW_OK);
    assert_true(all.npairs > 300);
    assert_true(all.flagged_pairs > 0 && all.flagged_pairs < all.npairs);
    for (size_t i = 1; i < all.npairs; i++)
        assert_true(cmp_order(&all.pairs[i - 1], &all.pairs[i]) < 0);
    const size_t limits[] = {1, 7, 100, 1000};
    for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
        size_t seen = 0, pages = 0;
        cw_coupling_cursor cur;
        p.limit = limits[l];
        p.after = NULL;
        for (;;) {
            cw_coupling_result r;
            assert_int_equal(cw_coupling_compute(&in, &p, &r, &d), CW_OK);
            assert_true(r.npairs <= limits[l]);
            assert_int_equal(r.total_pairs, all.total_pairs);
            assert_int_equal(r.flagged_pairs, all.flagged_pairs);
            assert_int_equal(r.ntrains, all.ntrains);
            for (size_t i = 0; i < r.npairs; i++)
                assert_same_pair(&r.pairs[i], &all.pairs[seen + i]);
            seen += r.npairs;
            pages++;
            assert_int_equal(r.more, seen < all.npairs);
            bool more = r.more;
            if (more)
                cw_coupling_cursor_of(&r.pairs[r.npairs - 1], &cur);
            cw_coupling_free(&r);
            if (!more)
                break;
            p.after = &cur;
        }
        assert_int_equal(seen, all.npairs);
        assert_int_equal(pages, (all.npairs + limits[l] - 1) / limits[l]);
    }
    cw_coupling_free(&all);
}

/* A cursor naming a component that has left the scope (an odd position)
 * continues with the next pair in the order. */
static void test_cursor_between_components(void **state)
{
    (void)state;
    build();
    cw_coupling_params p = params();
    p.limit = 2;
    /* After "A-B" would have been: (flagged, 1.0, 5, between A and B, ...) */
    cw_coupling_cursor cur = {true, 5, 5, 2 * A + 1, 2 * C};
    p.after = &cur;
    cw_coupling_result r = run(p);
    assert_int_equal(r.npairs, 2);
    expect_pair(&r.pairs[0], B, C, 5, 5, 5, 1.0, 1.0, true);
    expect_pair(&r.pairs[1], E, F, 1, 10, 5, 0.2, 1.0 / 14.0, false);
    assert_false(r.more);
    assert_int_equal(r.total_pairs, 4);
    assert_int_equal(r.flagged_pairs, 3);
    assert_int_equal(r.ntrains, 2);
    cw_coupling_free(&r);
    /* Before the first component: the whole order. */
    cur = (cw_coupling_cursor){true, 1000, 1000, -1, 0};
    r = run(p);
    expect_pair(&r.pairs[0], D, E, 6, 6, 10, 1.0, 0.6, true);
    assert_true(r.more);
    cw_coupling_free(&r);
    /* Past the last pair: an empty page that still has the totals. */
    cur = (cw_coupling_cursor){false, 1, 1000, 2 * F, 2 * F + 1};
    r = run(p);
    assert_int_equal(r.npairs, 0);
    assert_false(r.more);
    assert_int_equal(r.total_pairs, 4);
    cw_coupling_free(&r);
    /* Both components gone, and nothing was between them: after (A, C)
     * and before (B, C) ... with A and B gone, "between A and B" twice. */
    cur = (cw_coupling_cursor){true, 5, 5, 2 * B - 1, 2 * B - 1};
    r = run(p);
    expect_pair(&r.pairs[0], B, C, 5, 5, 5, 1.0, 1.0, true);
    cw_coupling_free(&r);
    /* Positions that are none. */
    cw_dora_input in = {.ncomponents = NCOMP, .deployments = deps, .ndeployments = ndeps};
    cw_diag d = {""};
    const cw_coupling_cursor bad[] = {
        {true, 0, 5, 0, 2}, {true, 6, 5, 0, 2}, {true, 1, 5, 2, 2}, {true, 1, 5, -2, 2},
        {true, 1, 5, 0, 2 * NCOMP + 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p.after = &bad[i];
        assert_int_equal(cw_coupling_compute(&in, &p, &r, &d), CW_ERR_INVALID);
        assert_string_equal(d.msg, "cursor: not a position in the order of pairs");
    }
}

/* Lowers the address-space limit to what the process maps now plus extra
 * bytes; returns the limit to restore, or false when not enforced
 * (AddressSanitizer reserves terabytes of address space up front). */
static bool limit_address_space(size_t extra, struct rlimit *saved)
{
#if defined(__SANITIZE_ADDRESS__)
    (void)extra;
    (void)saved;
    return false;
#else
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
    (void)extra;
    (void)saved;
    return false;
#endif
#endif
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return false;
    char line[256];
    unsigned long long vm_kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %llu kB", &vm_kb) == 1)
            break;
    fclose(f);
    if (!vm_kb || getrlimit(RLIMIT_AS, saved))
        return false;
    struct rlimit lower = *saved;
    lower.rlim_cur = (rlim_t)(vm_kb * 1024 + extra);
    if (saved->rlim_cur != RLIM_INFINITY && lower.rlim_cur > saved->rlim_cur)
        return false;
    return setrlimit(RLIMIT_AS, &lower) == 0;
#endif
}

/* Issue #10: 2,000 components deployed within seconds of each other, three
 * times, are two million pairs. A page of ten needs memory for the
 * deployments and the page: it fits in 64 MiB more address space, where
 * counting every pair at once did not (a hash map of two million pair
 * counts, then an array of two million pairs). */
static void test_dense_window_memory_follows_the_page(void **state)
{
    (void)state;
    enum { NC = 2000, ROUNDS = 3 };
    cw_dora_deployment *rd = calloc(NC * ROUNDS, sizeof *rd);
    assert_non_null(rd);
    for (size_t k = 0; k < ROUNDS; k++)
        for (size_t c = 0; c < NC; c++)
            rd[k * NC + c] = (cw_dora_deployment){(int32_t)c,
                                                  base() + (int64_t)k * DAY + (int64_t)c * 10,
                                                  NULL, NULL, NULL, 0};
    cw_dora_input in = {.ncomponents = NC, .deployments = rd, .ndeployments = NC * ROUNDS};
    cw_coupling_params p = {base(), base() + 10 * DAY, 15 * MIN, 3, 0.8, 10, NULL};
    struct rlimit saved;
    bool limited = limit_address_space((size_t)64 << 20, &saved);
    cw_coupling_result r;
    cw_diag d = {""};
    cw_err err = cw_coupling_compute(&in, &p, &r, &d);
    if (limited)
        setrlimit(RLIMIT_AS, &saved);
    assert_int_equal(err, CW_OK);
    assert_int_equal(r.total_pairs, (size_t)NC * (NC - 1) / 2);
    assert_int_equal(r.flagged_pairs, r.total_pairs);
    assert_int_equal(r.npairs, 10);
    assert_true(r.more);
    for (size_t i = 0; i < 10; i++)
        expect_pair(&r.pairs[i], 0, (int)i + 1, ROUNDS, ROUNDS, ROUNDS, 1.0, 1.0, true);
    assert_int_equal(r.ntrains, 1);
    assert_int_equal(r.trains[0].n, NC);
    /* the next page starts where this one ended */
    cw_coupling_cursor cur;
    cw_coupling_cursor_of(&r.pairs[9], &cur);
    cw_coupling_free(&r);
    p.after = &cur;
    assert_int_equal(cw_coupling_compute(&in, &p, &r, &d), CW_OK);
    expect_pair(&r.pairs[0], 0, 11, ROUNDS, ROUNDS, ROUNDS, 1.0, 1.0, true);
    cw_coupling_free(&r);
    free(rd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairs_and_trains),
        cmocka_unit_test(test_thresholds_and_window),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_matches_reference),
        cmocka_unit_test(test_pages_follow_the_order),
        cmocka_unit_test(test_cursor_between_components),
        cmocka_unit_test(test_dense_window_memory_follows_the_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
