/* test_tz.c — time zones (src/util/tz.c): TZif files of the system's tz
 * database, POSIX TZ rules (both hemispheres, negative and all-year DST),
 * folds and gaps, the footer rule agreeing with the listed transitions,
 * and malformed files refused without crashing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/timeutil.h"
#include "util/tz.h"

static int64_t at(const char *rfc3339)
{
    int64_t ms;
    assert_true(cw_time_parse_rfc3339(rfc3339, &ms));
    return ms / 1000;
}

static const cw_tz *zone(const char *name)
{
    const cw_tz *tz = NULL;
    cw_diag d = {{0}};
    if (cw_tz_get(name, &tz, &d) != CW_OK)
        fail_msg("%s: %s", name, d.msg);
    return tz;
}

static void test_offsets(void **state)
{
    (void)state;
    const cw_tz *ny = zone("America/New_York");
    assert_int_equal(cw_tz_offset(ny, at("2026-01-15T12:00:00Z")), -5 * 3600);
    assert_int_equal(cw_tz_offset(ny, at("2026-07-15T12:00:00Z")), -4 * 3600);
    /* beyond the listed transitions: the footer rule */
    assert_int_equal(cw_tz_offset(ny, at("2150-07-15T12:00:00Z")), -4 * 3600);
    assert_int_equal(cw_tz_offset(ny, at("2150-12-15T12:00:00Z")), -5 * 3600);
    /* the exact instants of a change */
    assert_int_equal(cw_tz_offset(ny, at("2026-03-08T06:59:59Z")), -5 * 3600);
    assert_int_equal(cw_tz_offset(ny, at("2026-03-08T07:00:00Z")), -4 * 3600);
    const cw_tz *syd = zone("Australia/Sydney");
    assert_int_equal(cw_tz_offset(syd, at("2026-01-15T00:00:00Z")), 11 * 3600);
    assert_int_equal(cw_tz_offset(syd, at("2026-07-15T00:00:00Z")), 10 * 3600);
    assert_int_equal(cw_tz_offset(zone("Asia/Kolkata"), at("2026-07-15T00:00:00Z")), 19800);
    assert_true(cw_tz_is_fixed(cw_tz_utc()));
    assert_true(cw_tz_is_fixed(zone("Etc/GMT+5")));
    assert_int_equal(cw_tz_offset(zone("Etc/GMT+5"), 0), -5 * 3600);
    /* the cache hands out one zone per name */
    assert_ptr_equal(ny, zone("America/New_York"));
}

static void test_fold_and_gap(void **state)
{
    (void)state;
    const cw_tz *ny = zone("America/New_York");
    /* 2026-11-01 01:30 happens twice: 05:30Z (EDT) and 06:30Z (EST) */
    int64_t w = at("2026-11-01T01:30:00Z"); /* as a wall time */
    assert_int_equal(cw_tz_to_utc(ny, w, 0), at("2026-11-01T05:30:00Z"));
    assert_int_equal(cw_tz_to_utc(ny, w, 1), at("2026-11-01T06:30:00Z"));
    int fold = -1;
    assert_int_equal(cw_tz_from_utc(ny, at("2026-11-01T05:30:00Z"), &fold), w);
    assert_int_equal(fold, 0);
    assert_int_equal(cw_tz_from_utc(ny, at("2026-11-01T06:30:00Z"), &fold), w);
    assert_int_equal(fold, 1);
    assert_false(cw_tz_imaginary(ny, w));
    /* 2026-03-08 02:30 does not exist; fold 0 reads it with the old offset */
    int64_t g = at("2026-03-08T02:30:00Z");
    assert_true(cw_tz_imaginary(ny, g));
    assert_int_equal(cw_tz_to_utc(ny, g, 0), at("2026-03-08T07:30:00Z"));
    assert_int_equal(cw_tz_to_utc(ny, g, 1), at("2026-03-08T06:30:00Z"));
    assert_false(cw_tz_imaginary(ny, at("2026-03-08T03:00:00Z")));
}

static void test_posix_rules(void **state)
{
    (void)state;
    cw_tz *tz = NULL;
    cw_diag d = {{0}};
    /* southern hemisphere: DST from October to April */
    assert_int_equal(cw_tz_parse_posix("AEST-10AEDT,M10.1.0,M4.1.0/3", &tz, &d), CW_OK);
    assert_int_equal(cw_tz_offset(tz, at("2030-01-10T00:00:00Z")), 11 * 3600);
    assert_int_equal(cw_tz_offset(tz, at("2030-06-10T00:00:00Z")), 10 * 3600);
    cw_tz_free(tz);
    /* negative DST (Dublin: "winter time" is the DST of the rule) */
    assert_int_equal(cw_tz_parse_posix("IST-1GMT0,M10.5.0,M3.5.0/1", &tz, &d), CW_OK);
    assert_int_equal(cw_tz_offset(tz, at("2030-01-10T00:00:00Z")), 0);
    assert_int_equal(cw_tz_offset(tz, at("2030-06-10T00:00:00Z")), 3600);
    cw_tz_free(tz);
    /* DST all year (a trick of the tz database) */
    assert_int_equal(cw_tz_parse_posix("EST5EDT,0/0,J365/25", &tz, &d), CW_OK);
    assert_int_equal(cw_tz_offset(tz, at("2030-01-01T04:30:00Z")), -4 * 3600);
    assert_int_equal(cw_tz_offset(tz, at("2030-12-31T23:00:00Z")), -4 * 3600);
    assert_int_equal(cw_tz_offset(tz, at("2030-07-01T00:00:00Z")), -4 * 3600);
    cw_tz_free(tz);
    /* angle-bracket names and minutes */
    assert_int_equal(cw_tz_parse_posix("<+0530>-5:30", &tz, &d), CW_OK);
    assert_int_equal(cw_tz_offset(tz, 0), 19800);
    cw_tz_free(tz);
    static const char *const bad[] = {"", "E5", "EST", "EST5EDT,M13.1.0,M1.1.0",
                                      "EST5EDT,M3.2.0", "EST5EDT,J0,J1", "<+03-3",
                                      "EST5EDT,M3.2.0/200,M11.1.0", "EST99"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tz = NULL;
        if (cw_tz_parse_posix(bad[i], &tz, &d) == CW_OK)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_null(tz);
    }
}

/* The footer rule and the listed transitions describe the same years. */
static void test_rule_matches_file(void **state)
{
    (void)state;
    static const struct {
        const char *zone, *rule;
    } cases[] = {
        {"America/New_York", "EST5EDT,M3.2.0,M11.1.0"},
        {"Europe/Berlin", "CET-1CEST,M3.5.0,M10.5.0/3"},
        {"Australia/Sydney", "AEST-10AEDT,M10.1.0,M4.1.0/3"},
        {"Australia/Lord_Howe", "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const cw_tz *file = zone(cases[i].zone);
        cw_tz *rule = NULL;
        cw_diag d = {{0}};
        assert_int_equal(cw_tz_parse_posix(cases[i].rule, &rule, &d), CW_OK);
        for (int64_t t = at("2010-01-01T00:00:00Z"); t < at("2036-12-31T00:00:00Z"); t += 3607 * 7)
            if (cw_tz_offset(file, t) != cw_tz_offset(rule, t))
                fail_msg("%s at %lld: file %d, rule %d", cases[i].zone, (long long)t,
                         cw_tz_offset(file, t), cw_tz_offset(rule, t));
        cw_tz_free(rule);
    }
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = malloc(1 << 18);
    *len = fread(buf, 1, 1 << 18, f);
    fclose(f);
    return buf;
}

static void test_malformed(void **state)
{
    (void)state;
    size_t len = 0;
    unsigned char *data = read_all("/usr/share/zoneinfo/America/New_York", &len);
    assert_non_null(data);
    cw_tz *tz = NULL;
    cw_diag d = {{0}};
    assert_int_equal(cw_tz_parse(data, len, "ny", &tz, &d), CW_OK);
    cw_tz_free(tz);
    /* every truncation is refused (the footer is the last byte) */
    for (size_t n = 0; n < len; n++) {
        tz = NULL;
        if (cw_tz_parse(data, n, "ny", &tz, &d) == CW_OK)
            fail_msg("accepted a file cut at %zu of %zu bytes", n, len);
    }
    /* corrupted counts and bytes never crash */
    srand(7);
    for (int i = 0; i < 2000; i++) {
        unsigned char *copy = malloc(len);
        memcpy(copy, data, len);
        for (int k = 0; k < 3; k++)
            copy[(size_t)rand() % len] = (unsigned char)rand();
        tz = NULL;
        if (cw_tz_parse(copy, len, "x", &tz, &d) == CW_OK) {
            (void)cw_tz_offset(tz, at("2026-01-01T00:00:00Z"));
            (void)cw_tz_to_utc(tz, at("2026-03-08T02:30:00Z"), 0);
            cw_tz_free(tz);
        }
        free(copy);
    }
    free(data);
    const cw_tz *z = NULL;
    assert_int_equal(cw_tz_get("Not/A_Zone", &z, &d), CW_ERR_NOT_FOUND);
    assert_int_equal(cw_tz_get("../etc/passwd", &z, &d), CW_ERR_INVALID);
    assert_int_equal(cw_tz_get("/etc/passwd", &z, &d), CW_ERR_INVALID);
    assert_false(cw_tz_name_valid("Europe//Berlin"));
    assert_false(cw_tz_name_valid("Europe/./Berlin"));
    assert_true(cw_tz_name_valid("America/Argentina/Buenos_Aires"));
    assert_true(cw_tz_name_valid("Etc/GMT+5"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_fold_and_gap),
        cmocka_unit_test(test_posix_rules),
        cmocka_unit_test(test_rule_matches_file),
        cmocka_unit_test(test_malformed),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    cw_tz_cache_reset();
    return rc;
}
