/*
 * test_coupling.c — release coupling: services joined by a shared chainId
 * or by deploying within the window, the symmetric "together" count (a burst
 * counts once), confidence/jaccard, thresholds, release trains with their
 * teams, and the JSON answer.
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
    return (cw_coupling_params){base(), base() + 31 * DAY, 15 * MIN, 5, 0.8};
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
                                                                   MIN, 1, 0.5},
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
    assert_string_equal(text, "{\"pairs\":[],\"trains\":[]}");
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
    cw_coupling_params p = {from, to, w, 3, 0.3};
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
    assert_true(listed > 5);
    assert_true(flagged > 0);
    cw_coupling_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairs_and_trains),
        cmocka_unit_test(test_thresholds_and_window),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_matches_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
