/*
 * test_fetch.c — the pure parts of fetching catalogs (ingest/fetch.h,
 * ingest/locations.h): GitHub and GitLab blob URLs to raw content URLs as
 * Backstage does, --fetch-allow prefixes, which addresses count as
 * loopback, link-local or private (also inside IPv6), which prefixes list
 * such an address, and relative Location targets resolved against the URL
 * of the file that holds them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "fixtures.h"
#include "ingest/fetch.h"
#include "ingest/locations.h"

static void test_raw_urls(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"https://github.com/backstage/backstage/blob/master/catalog-info.yaml",
         "https://raw.githubusercontent.com/backstage/backstage/master/catalog-info.yaml"},
        {"https://github.com/acme/shop/blob/v1.2/services/cart/catalog-info.yaml",
         "https://raw.githubusercontent.com/acme/shop/v1.2/services/cart/catalog-info.yaml"},
        {"https://gitlab.com/group/sub/project/-/blob/main/catalog-info.yaml",
         "https://gitlab.com/group/sub/project/-/raw/main/catalog-info.yaml"},
        {"https://git.acme.internal/a/b/-/blob/main/x.yaml",
         "https://git.acme.internal/a/b/-/raw/main/x.yaml"},
        /* already raw, another host, or not a blob page: unchanged */
        {"https://raw.githubusercontent.com/a/b/main/c.yaml",
         "https://raw.githubusercontent.com/a/b/main/c.yaml"},
        {"https://github.com/acme/shop/tree/main/x", "https://github.com/acme/shop/tree/main/x"},
        {"https://github.com/acme/blob", "https://github.com/acme/blob"},
        {"http://127.0.0.1:9/c.yaml", "http://127.0.0.1:9/c.yaml"},
    };
    char out[512];
    for (size_t i = 0; i < FX_LEN(cases); i++) {
        assert_true(cw_fetch_raw_url(cases[i].in, out, sizeof out));
        assert_string_equal(out, cases[i].out);
    }
    assert_false(cw_fetch_raw_url(cases[0].in, out, 20));
}

static void test_allowed_prefixes(void **state)
{
    (void)state;
    const char *allow[] = {"https://raw.githubusercontent.com/acme/", "http://127.0.0.1:8080/"};
    cw_fetch_policy none = {0};
    cw_fetch_policy p = {.allow = allow, .nallow = 2};
    assert_null(cw_fetch_allowed(&none, "https://raw.githubusercontent.com/acme/x.yaml"));
    assert_string_equal(cw_fetch_allowed(&p, "https://raw.githubusercontent.com/acme/x.yaml"),
                        allow[0]);
    assert_null(cw_fetch_allowed(&p, "https://raw.githubusercontent.com/acme-evil/x.yaml"));
    assert_null(cw_fetch_allowed(&p, "https://raw.githubusercontent.com/other/x.yaml"));
    assert_string_equal(cw_fetch_allowed(&p, "http://127.0.0.1:8080/c.yaml"), allow[1]);
    assert_null(cw_fetch_allowed(&p, "http://127.0.0.1:8081/c.yaml"));
    assert_null(cw_fetch_allowed(&p, "file:///etc/passwd"));

    assert_true(cw_fetch_prefix_is_internal("http://127.0.0.1:8080/"));
    assert_true(cw_fetch_prefix_is_internal("http://[::1]:8080/x"));
    assert_true(cw_fetch_prefix_is_internal("http://localhost/"));
    assert_true(cw_fetch_prefix_is_internal("https://10.1.2.3/"));
    assert_true(cw_fetch_prefix_is_internal("https://user@192.168.1.1/"));
    assert_false(cw_fetch_prefix_is_internal("https://raw.githubusercontent.com/"));
    assert_false(cw_fetch_prefix_is_internal("https://8.8.8.8/"));
    assert_false(cw_fetch_prefix_is_internal("https://git.acme.internal/"));
}

static bool internal4(const char *text)
{
    unsigned char a[4];
    assert_int_equal(inet_pton(AF_INET, text, a), 1);
    return cw_fetch_addr_internal(a, 4);
}

static bool internal6(const char *text)
{
    unsigned char a[16];
    assert_int_equal(inet_pton(AF_INET6, text, a), 1);
    return cw_fetch_addr_internal(a, 16);
}

static void test_internal_addresses(void **state)
{
    (void)state;
    static const char *const in4[] = {"127.0.0.1",   "127.255.0.9", "10.0.0.1",    "172.16.0.1",
                                      "172.31.255.1", "192.168.0.1", "169.254.169.254",
                                      "0.0.0.0",     "100.64.0.1",  "224.0.0.1",
                                      "255.255.255.255"};
    static const char *const out4[] = {"8.8.8.8", "172.32.0.1", "172.15.0.1", "192.169.0.1",
                                       "140.82.112.3", "185.199.108.133", "100.128.0.1"};
    for (size_t i = 0; i < FX_LEN(in4); i++)
        assert_true(internal4(in4[i]));
    for (size_t i = 0; i < FX_LEN(out4); i++)
        assert_false(internal4(out4[i]));
    static const char *const in6[] = {"::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1",
                                      "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1"};
    static const char *const out6[] = {"2606:50c0:8000::154", "::ffff:140.82.112.3",
                                       "2001:4860:4860::8888"};
    for (size_t i = 0; i < FX_LEN(in6); i++)
        assert_true(internal6(in6[i]));
    for (size_t i = 0; i < FX_LEN(out6); i++)
        assert_false(internal6(out6[i]));
    unsigned char odd[3] = {1, 2, 3};
    assert_true(cw_fetch_addr_internal(odd, 3)); /* what is not an address is refused */
}

static void test_resolve_targets(void **state)
{
    (void)state;
    static const struct {
        const char *base, *target, *out;
    } cases[] = {
        {"https://h.example/org/repo/blob/main/catalog-info.yaml", "./services/a.yaml",
         "https://h.example/org/repo/blob/main/services/a.yaml"},
        {"https://h.example/org/repo/blob/main/x/catalog.yaml", "../b.yaml",
         "https://h.example/org/repo/blob/main/b.yaml"},
        {"https://h.example/a/b.yaml?ref=main", "c.yaml", "https://h.example/a/c.yaml"},
        {"https://h.example/a/b.yaml", "/root.yaml", "https://h.example/root.yaml"},
        {"https://h.example/a/b.yaml", "https://other.example/x.yaml",
         "https://other.example/x.yaml"},
        {"http://127.0.0.1:9/c/d.yaml", "../../../e.yaml", "http://127.0.0.1:9/e.yaml"},
        {"https://h.example", "x.yaml", "https://h.example/x.yaml"},
    };
    char out[512];
    for (size_t i = 0; i < FX_LEN(cases); i++) {
        assert_true(cw_location_resolve(cases[i].base, cases[i].target, out, sizeof out));
        assert_string_equal(out, cases[i].out);
    }
    /* relative targets need a URL to resolve against */
    assert_false(cw_location_resolve(NULL, "./a.yaml", out, sizeof out));
    assert_false(cw_location_resolve("/srv/catalog/x.yaml", "./a.yaml", out, sizeof out));
    assert_false(cw_location_resolve("https://h.example/", "", out, sizeof out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_urls),
        cmocka_unit_test(test_allowed_prefixes),
        cmocka_unit_test(test_internal_addresses),
        cmocka_unit_test(test_resolve_targets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
