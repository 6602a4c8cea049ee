/*
 * test_judge.c — judging a request head (src/http/judge.c): which Host
 * names a loopback-bound server answers to (the DNS-rebinding guard), and
 * body framing from Content-Length / Transfer-Encoding (the ambiguities
 * request smuggling lives on are refused).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/judge.h"

static void test_host_names(void **state)
{
    (void)state;
    char n[64];
    assert_true(cw_host_name("Example.COM:8080", n, sizeof n));
    assert_string_equal(n, "example.com");
    assert_true(cw_host_name("localhost.", n, sizeof n));
    assert_string_equal(n, "localhost");
    assert_true(cw_host_name("[::1]:7700", n, sizeof n));
    assert_string_equal(n, "[::1]");
    assert_true(cw_host_name("host:", n, sizeof n)); /* empty port: RFC 3986 allows it */
    assert_string_equal(n, "host");
    const char *bad[] = {"", ":80", "::1", "a:b", "host:123456", "host:8o", "[::1", "[]",
                         "[::1]x", "ho st", "a/b", "user@host", "a\\b", "localhost.."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (cw_host_name(bad[i], n, sizeof n))
            fail_msg("'%s' was taken for a host name", bad[i]);
    assert_false(cw_host_name("a-rather-long-host-name.example", n, 8)); /* does not fit */
}

static void test_loopback_hosts(void **state)
{
    (void)state;
    const char *yes[] = {"localhost", "LOCALHOST:7700", "localhost.", "app.localhost",
                         "127.0.0.1", "127.0.0.1:7700", "127.1.2.3:80", "[::1]", "[::1]:7700",
                         "[::ffff:127.0.0.1]:1"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (!cw_host_is_loopback(yes[i]))
            fail_msg("'%s' is a loopback name", yes[i]);
    const char *no[] = {"example.com", "localhost.example.com", "notlocalhost", "127.0.0.1.nip.io",
                        "128.0.0.1", "10.0.0.1:7700", "[::2]", "[fe80::1]", "0.0.0.0",
                        "127.1", "2130706433", "::1", "", "localhost:http"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (cw_host_is_loopback(no[i]))
            fail_msg("'%s' is not a loopback name", no[i]);
    assert_false(cw_host_is_loopback(NULL));
}

static void test_allowed_hosts(void **state)
{
    (void)state;
    const char *allowed[] = {"conway.example.com", "Demo.Example:8080"};
    assert_true(cw_host_allowed(NULL, NULL, 0)); /* HTTP/1.0 without Host */
    assert_true(cw_host_allowed("localhost:7700", NULL, 0));
    assert_false(cw_host_allowed("rebind.attacker.example", NULL, 0));
    assert_false(cw_host_allowed("conway.example.com", NULL, 0));
    assert_true(cw_host_allowed("conway.example.com", allowed, 2));
    assert_true(cw_host_allowed("CONWAY.example.com.:443", allowed, 2));
    assert_true(cw_host_allowed("demo.example", allowed, 2)); /* an entry's port is ignored */
    assert_false(cw_host_allowed("evil.conway.example.com", allowed, 2));
    assert_false(cw_host_allowed("conway.example.com.evil", allowed, 2));
    assert_false(cw_host_allowed("", allowed, 2));
    const char *any[] = {"*"};
    assert_true(cw_host_allowed("anything.example", any, 1));
}

static void test_framing(void **state)
{
    (void)state;
    cw_framing f;
    char why[256];
    assert_int_equal(cw_framing_judge(NULL, 0, NULL, 0, &f, why, sizeof why), 0);
    assert_false(f.has_length);
    assert_false(f.chunked);

    const char *one[] = {"1048576"};
    assert_int_equal(cw_framing_judge(one, 1, NULL, 0, &f, why, sizeof why), 0);
    assert_true(f.has_length);
    assert_int_equal(f.length, 1048576);

    const char *same[] = {"5", " 5 "}; /* repeated, equal: one length */
    assert_int_equal(cw_framing_judge(same, 2, NULL, 0, &f, why, sizeof why), 0);
    assert_int_equal(f.length, 5);

    const char *differ[] = {"5", "10"};
    assert_int_equal(cw_framing_judge(differ, 2, NULL, 0, &f, why, sizeof why), 400);
    assert_non_null(strstr(why, "two different Content-Length headers (5 and 10)"));

    const char *junk[] = {"5", "5, 5"};
    assert_int_equal(cw_framing_judge(junk, 2, NULL, 0, &f, why, sizeof why), 400);
    assert_non_null(strstr(why, "not a number"));
    const char *neg[] = {"-1"};
    assert_int_equal(cw_framing_judge(neg, 1, NULL, 0, &f, why, sizeof why), 400);
    const char *huge[] = {"100000000000000000000"};
    assert_int_equal(cw_framing_judge(huge, 1, NULL, 0, &f, why, sizeof why), 400);

    const char *chunked[] = {"Chunked"};
    assert_int_equal(cw_framing_judge(NULL, 0, chunked, 1, &f, why, sizeof why), 0);
    assert_true(f.chunked);
    assert_false(f.has_length);

    assert_int_equal(cw_framing_judge(one, 1, chunked, 1, &f, why, sizeof why), 400);
    assert_non_null(strstr(why, "both Content-Length and Transfer-Encoding"));

    const char *gzip[] = {"gzip, chunked"};
    assert_int_equal(cw_framing_judge(NULL, 0, gzip, 1, &f, why, sizeof why), 400);
    const char *two[] = {"chunked", "chunked"};
    assert_int_equal(cw_framing_judge(NULL, 0, two, 2, &f, why, sizeof why), 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_names),
        cmocka_unit_test(test_loopback_hosts),
        cmocka_unit_test(test_allowed_hosts),
        cmocka_unit_test(test_framing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
