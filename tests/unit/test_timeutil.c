/* test_timeutil.c — RFC 3339 formatting and parsing (src/util/timeutil.c):
 * known instants, days before the epoch, round trips, and the clamping of
 * instants RFC 3339 cannot express. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/timeutil.h"

static void test_format_known_instants(void **state)
{
    (void)state;
    char out[32];
    cw_time_format_ms(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    cw_time_format_ms(1764091992123, out);
    assert_string_equal(out, "2025-11-25T17:33:12.123Z");
    cw_time_format_ms(951782400000, out); /* leap day of a century leap year */
    assert_string_equal(out, "2000-02-29T00:00:00.000Z");
    cw_time_format_ms(-1, out); /* the last millisecond before the epoch */
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    cw_time_format_compact(1764091992000, out);
    assert_string_equal(out, "2025-11-25T17:33:12Z");
    cw_time_format_compact(1764091992001, out);
    assert_string_equal(out, "2025-11-25T17:33:12.001Z");
}

static void test_day_format(void **state)
{
    (void)state;
    char out[16];
    cw_day_format(0, out);
    assert_string_equal(out, "1970-01-01");
    cw_day_format(-1, out);
    assert_string_equal(out, "1969-12-31");
    cw_day_format(cw_day_of_ms(1764091992123), out);
    assert_string_equal(out, "2025-11-25");
    assert_int_equal(cw_day_of_ms(-1), -1);
    assert_int_equal(cw_day_of_ms(86399999), 0);
}

static void test_round_trip(void **state)
{
    (void)state;
    static const int64_t samples[] = {0, 1, -1, 86400000, 1700000000000, 4102444800000,
                                      -62167219200000 /* 0000-01-01 */,
                                      253402300799999 /* 9999-12-31T23:59:59.999 */};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        char out[32];
        int64_t back = 0;
        cw_time_format_ms(samples[i], out);
        assert_true(cw_time_parse_rfc3339(out, &back));
        assert_int_equal(back, samples[i]);
    }
    int64_t ms = 0;
    assert_true(cw_time_parse_rfc3339("2026-11-25T18:33:12.5+01:00", &ms));
    assert_int_equal(ms, 1795627992500);
    assert_false(cw_time_parse_rfc3339("2026-02-29T00:00:00Z", &ms));
    assert_true(cw_time_parse_rfc3339("2026-11-25 17:33:12Z", &ms)); /* RFC 3339 5.6 note */
    assert_int_equal(ms, 1795627992000);
    assert_false(cw_time_parse_rfc3339("2026-11-25X17:33:12Z", &ms));
    assert_false(cw_time_parse_rfc3339("2026-11-25T24:00:00Z", &ms));
}

static void test_out_of_range_is_clamped(void **state)
{
    (void)state;
    char out[32], day[16];
    cw_time_format_ms(INT64_MAX, out);
    assert_string_equal(out, "9999-12-31T23:59:59.999Z");
    cw_time_format_ms(INT64_MIN, out);
    assert_string_equal(out, "0000-01-01T00:00:00.000Z");
    cw_day_format(INT64_MAX / 86400000, day);
    assert_string_equal(day, "9999-12-31");
    cw_day_format(-800000, day);
    assert_string_equal(day, "0000-01-01");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_known_instants),
        cmocka_unit_test(test_day_format),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_out_of_range_is_clamped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
