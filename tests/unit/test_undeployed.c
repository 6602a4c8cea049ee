/*
 * test_undeployed.c — the undeployed-work inventory: merged changes that no
 * production deployment picked up (same attribution rule as DORA), counts,
 * oldest merge, age, capped lists, ordering, and agreement with DORA's lead
 * time on generated histories.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "insights/dora.h"
#include "insights/undeployed.h"
#include "util/timeutil.h"

#define H 3600000LL

static int64_t ts(const char *s)
{
    int64_t ms;
    if (!cw_time_parse_rfc3339(s, &ms))
        fail_msg("bad time %s", s);
    return ms;
}

static void test_inventory(void **state)
{
    (void)state;
    const char *const d2_ids[] = {"c3"};
    cw_dora_deployment deps[] = {
        {0, ts("2024-05-02T10:00:00Z"), NULL, NULL, NULL, 0},
        {0, ts("2024-05-04T10:00:00Z"), NULL, NULL, d2_ids, 1},
        {2, ts("2024-05-04T10:00:00Z"), NULL, NULL, NULL, 0},
    };
    cw_dora_change ch[] = {
        {0, "c1", 0, ts("2024-05-01T10:00:00Z")}, /* deployed by the first */
        {0, "c2", 0, ts("2024-05-03T10:00:00Z")}, /* skipped by the explicit one */
        {0, "c3", 0, ts("2024-05-03T12:00:00Z")}, /* listed: deployed */
        {0, "c4", 0, ts("2024-05-05T10:00:00Z")}, /* after the last deployment */
        {0, "c6", ts("2024-05-05T10:00:00Z"), 0}, /* never merged: not inventory */
        {1, "x3", 0, ts("2024-04-03T00:00:00Z")},
        {1, "x1", 0, ts("2024-04-01T00:00:00Z")},
        {1, "x2", 0, ts("2024-04-02T00:00:00Z")},
        {2, "y1", 0, ts("2024-05-03T00:00:00Z")}, /* deployed */
        {3, "z1", 0, ts("2024-05-11T00:00:00Z")}, /* merged after now: age 0 */
        {4, "w1", 0, ts("2024-05-11T00:00:00Z")},
    };
    cw_dora_input in = {.ncomponents = 5, .deployments = deps, .ndeployments = 3,
                        .changes = ch, .nchanges = 11};
    int64_t now = ts("2024-05-10T00:00:00Z");
    cw_undeployed_result r;
    cw_diag d = {""};
    assert_int_equal(cw_undeployed_compute(&in, now, 2, &r, &d), CW_OK);
    assert_int_equal(r.len, 4);

    assert_int_equal(r.items[0].component, 1);
    assert_int_equal(r.items[0].count, 3);
    assert_int_equal(r.items[0].oldest_merged_ms, ts("2024-04-01T00:00:00Z"));
    assert_int_equal(r.items[0].age_seconds, 39 * 86400);
    assert_int_equal(r.items[0].nchanges, 2); /* capped, oldest first */
    assert_string_equal(r.items[0].changes[0].change_id, "x1");
    assert_string_equal(r.items[0].changes[1].change_id, "x2");

    assert_int_equal(r.items[1].component, 0);
    assert_int_equal(r.items[1].count, 2);
    assert_int_equal(r.items[1].age_seconds, 6 * 86400 + 14 * 3600);
    assert_string_equal(r.items[1].changes[0].change_id, "c2");
    assert_string_equal(r.items[1].changes[1].change_id, "c4");

    /* Same age 0: lower component index first. */
    assert_int_equal(r.items[2].component, 3);
    assert_int_equal(r.items[2].age_seconds, 0);
    assert_int_equal(r.items[3].component, 4);

    json_t *j;
    const char *const refs[] = {"component:default/a", "component:default/b", "component:default/c",
                                "component:default/d", "component:default/e"};
    assert_int_equal(cw_undeployed_to_json(&r, refs, now, &j), CW_OK);
    char *text = json_dumps(json_array_get(json_object_get(j, "components"), 0), JSON_COMPACT);
    assert_string_equal(text, "{\"component\":\"component:default/b\",\"count\":3,"
                              "\"oldestMergedAt\":\"2024-04-01T00:00:00Z\",\"ageSeconds\":3369600,"
                              "\"changes\":[{\"id\":\"x1\",\"mergedAt\":\"2024-04-01T00:00:00Z\"},"
                              "{\"id\":\"x2\",\"mergedAt\":\"2024-04-02T00:00:00Z\"}],"
                              "\"truncated\":true}");
    assert_string_equal(json_string_value(json_object_get(j, "now")), "2024-05-10T00:00:00Z");
    assert_int_equal(json_array_size(json_object_get(j, "components")), 4);
    free(text);
    json_decref(j);
    cw_undeployed_free(&r);

    /* Nothing pending: empty list. */
    cw_dora_input none = {.ncomponents = 1};
    assert_int_equal(cw_undeployed_compute(&none, now, 0, &r, &d), CW_OK);
    assert_int_equal(r.len, 0);
    cw_undeployed_free(&r);

    /* Component out of range is an input error. */
    cw_dora_change bad[] = {{7, "q", 0, 1}};
    cw_dora_input badin = {.ncomponents = 1, .changes = bad, .nchanges = 1};
    assert_int_equal(cw_undeployed_compute(&badin, now, 0, &r, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "changes[0].component: 7 out of range");
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Every merged change is either in some deployment's lead time or in the
 * inventory, never both (implicit attribution; positive lead times). */
static void test_agrees_with_dora(void **state)
{
    (void)state;
    enum { NC = 7, ND = 300, NCH = 2000 };
    int64_t base = ts("2024-01-01T00:00:00Z");
    cw_dora_deployment *deps = calloc(ND, sizeof *deps);
    cw_dora_change *ch = calloc(NCH, sizeof *ch);
    char (*ids)[16] = calloc(NCH, sizeof *ids);
    size_t merged = 0;
    for (size_t i = 0; i < ND; i++)
        deps[i] = (cw_dora_deployment){(int32_t)(next_rand() % NC),
                                       base + (int64_t)(next_rand() % (90 * 24)) * H, NULL, NULL,
                                       NULL, 0};
    for (size_t i = 0; i < NCH; i++) {
        int64_t m = base + (int64_t)(next_rand() % (95 * 24 * 60)) * 60000;
        bool is_merged = next_rand() % 10 != 0;
        snprintf(ids[i], sizeof ids[i], "ch%zu", i);
        ch[i] = (cw_dora_change){(int32_t)(next_rand() % NC), ids[i], m - H, is_merged ? m : 0};
        merged += is_merged;
    }
    cw_dora_input in = {.ncomponents = NC, .deployments = deps, .ndeployments = ND,
                        .changes = ch, .nchanges = NCH};
    cw_dora_params p = {base - 400 * H, base + 100 * 24 * H, 24};
    cw_dora_result r;
    cw_undeployed_result u;
    cw_diag d = {""};
    assert_int_equal(cw_dora_compute(&in, &p, &r, &d), CW_OK);
    assert_int_equal(cw_undeployed_compute(&in, base + 200 * 24 * H, 1, &u, &d), CW_OK);
    size_t pending = 0;
    for (size_t i = 0; i < u.len; i++)
        pending += u.items[i].count;
    assert_true(r.lead_time_count > 0);
    assert_true(pending > 0);
    assert_int_equal(r.lead_time_count + pending, merged);
    cw_dora_result_free(&r);
    cw_undeployed_free(&u);
    free(deps);
    free(ch);
    free(ids);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inventory),
        cmocka_unit_test(test_agrees_with_dora),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
