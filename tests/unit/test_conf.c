/* test_conf.c — the configuration file parser and setting names
 * (src/cli/conf.c): keys are long flag names, booleans, quotes, comments,
 * and the lines it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cli/conf.h"

static void test_parse_settings(void **state)
{
    (void)state;
    char text[] = "# conway.conf\n"
                  "listen = 127.0.0.1:7700\n"
                  "\n"
                  "  db=\"/var/lib/conway/conway.db\"  \r\n"
                  "public-read = yes\n"
                  "log-level = debug";
    cw_conf_entry e[8];
    size_t n = 0;
    cw_diag d = {{0}};
    assert_int_equal(cw_conf_parse(text, e, 8, &n, &d), CW_OK);
    assert_int_equal(n, 4);
    assert_string_equal(e[0].key, "listen");
    assert_string_equal(e[0].value, "127.0.0.1:7700");
    assert_int_equal(e[0].line, 2);
    assert_string_equal(e[1].key, "db");
    assert_string_equal(e[1].value, "/var/lib/conway/conway.db");
    assert_string_equal(e[2].value, "1");
    assert_string_equal(e[3].value, "debug");
    assert_int_equal(e[3].line, 6);
}

static void test_false_boolean_is_unset(void **state)
{
    (void)state;
    char text[] = "public-read = off\n";
    cw_conf_entry e[2];
    size_t n = 0;
    cw_diag d = {{0}};
    assert_int_equal(cw_conf_parse(text, e, 2, &n, &d), CW_OK);
    assert_int_equal(n, 1);
    assert_null(e[0].value);
}

static void expect_refused(const char *input, const char *needle)
{
    char text[256];
    snprintf(text, sizeof text, "%s", input);
    cw_conf_entry e[4];
    size_t n = 0;
    cw_diag d = {{0}};
    assert_int_equal(cw_conf_parse(text, e, 4, &n, &d), CW_ERR_INVALID);
    if (!strstr(d.msg, needle))
        fail_msg("'%s' gave '%s', wanted '%s'", input, d.msg, needle);
}

static void test_refused_lines(void **state)
{
    (void)state;
    expect_refused("listen 127.0.0.1:1\n", "line 1: not KEY = VALUE");
    expect_refused("\nlisen = x\n", "line 2: unknown key 'lisen'");
    expect_refused("role = admin\n", "unknown key 'role'"); /* not a setting */
    expect_refused("db = a\ndb = b\n", "line 2: db is set already on line 1");
    expect_refused("public-read = maybe\n", "must be true or false");
    expect_refused("listen =\n", "listen has no value");
}

static void test_names(void **state)
{
    (void)state;
    char env[64];
    assert_true(cw_conf_env_name("public-read", env, sizeof env));
    assert_string_equal(env, "CONWAY_PUBLIC_READ");
    assert_true(cw_conf_env_name("max-components-per-team", env, sizeof env));
    assert_string_equal(env, "CONWAY_MAX_COMPONENTS_PER_TEAM");
    assert_false(cw_conf_env_name("max-components-per-team", env, 10));
    assert_true(cw_conf_is_setting("server"));
    assert_false(cw_conf_is_setting("team"));
    assert_true(cw_conf_is_setting("restore-test-days"));
    assert_true(cw_conf_is_boolean("notify-allow-private"));
    assert_true(cw_conf_env_name("restore-test-days", env, sizeof env));
    assert_string_equal(env, "CONWAY_RESTORE_TEST_DAYS");
    assert_int_equal(cw_conf_bool("TRUE"), 1);
    assert_int_equal(cw_conf_bool("0"), 0);
    assert_int_equal(cw_conf_bool(""), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_settings),
        cmocka_unit_test(test_false_boolean_is_unset),
        cmocka_unit_test(test_refused_lines),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
