/* test_page_cursor.c — the list cursor (http/api_common.c): every offset
 * survives encode and decode, the largest included; anything else, and
 * text that is not base64url of "o1:" and digits, is refused with offset 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "http/api_common.h"

static void test_round_trip(void **state)
{
    (void)state;
    static const uint64_t offs[] = {0, 1, 2, 999, 1000, 4294967296ull, UINT64_MAX - 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        char *enc = cw_api_cursor_encode(offs[i]);
        assert_non_null(enc);
        uint64_t back = 7;
        assert_true(cw_api_cursor_decode(enc, &back));
        assert_true(back == offs[i]);
        free(enc);
    }
    char *two = cw_api_cursor_encode(2);
    assert_string_equal(two, "bzE6Mg"); /* docs/api.md's example */
    free(two);
}

static void test_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",                             /* nothing */
        "o1:5",                         /* not base64url */
        "bzE6",                         /* "o1:" without digits */
        "bzI6NQ",                       /* "o2:5": another version */
        "bzE6LTE",                      /* "o1:-1" */
        "bzE6MTg0NDY3NDQwNzM3MDk1NTE2MTY", /* "o1:18446744073709551616": past 64 bits */
        "bzE6NSA",                      /* "o1:5 " */
        "bzE6NQ==x",                    /* junk after padding */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t off = 9;
        assert_false(cw_api_cursor_decode(bad[i], &off));
        assert_true(off == 0);
    }
    uint64_t off = 0;
    assert_true(cw_api_cursor_decode("bzE6MDA3", &off)); /* "o1:007": leading zeros pass */
    assert_true(off == 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
