/*
 * test_prefix_list.c — the token source prefix list (util/prefix_list.h):
 * joining with newlines, refusing empty prefixes, control characters and
 * what does not fit, and leaving the list unchanged when it refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/prefix_list.h"

static void joins_with_newlines(void **state)
{
    (void)state;
    char out[32] = "";
    size_t len = 0;
    assert_int_equal(cw_prefix_list_append(out, sizeof out, &len, "/a/", 3), CW_PREFIX_OK);
    assert_int_equal(cw_prefix_list_append(out, sizeof out, &len, "/bc/x", 4), CW_PREFIX_OK);
    assert_string_equal(out, "/a/\n/bc/");
    assert_int_equal(len, 8);
}

static void refuses_and_keeps_the_list(void **state)
{
    (void)state;
    char out[12] = "";
    size_t len = 0;
    assert_int_equal(cw_prefix_list_append(out, sizeof out, &len, "/a/", 3), CW_PREFIX_OK);
    assert_int_equal(cw_prefix_list_append(out, sizeof out, &len, "", 0), CW_PREFIX_EMPTY);
    assert_int_equal(cw_prefix_list_append(out, sizeof out, &len, "/\nb/", 4), CW_PREFIX_CONTROL);
    assert_int_equal(cw_prefix_list_append(out, sizeof out, &len, "/\0b/", 4), CW_PREFIX_CONTROL);
    assert_int_equal(cw_prefix_list_append(out, sizeof out, &len, "/\x7f/", 3), CW_PREFIX_CONTROL);
    /* 3 + newline + 7 + NUL = 12 fits exactly; one more byte does not */
    assert_int_equal(cw_prefix_list_append(out, sizeof out, &len, "/bcdefg/", 8), CW_PREFIX_FULL);
    assert_string_equal(out, "/a/");
    assert_int_equal(len, 3);
    assert_int_equal(cw_prefix_list_append(out, sizeof out, &len, "/bcdef/", 7), CW_PREFIX_OK);
    assert_string_equal(out, "/a/\n/bcdef/");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(joins_with_newlines),
        cmocka_unit_test(refuses_and_keeps_the_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
