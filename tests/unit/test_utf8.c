/*
 * test_utf8.c — UTF-8 validation and the escaping used to log request
 * paths that are not UTF-8 (src/util/utf8.c): valid text is kept as it is,
 * stray bytes and '%' become %XX, and the result is valid UTF-8 that
 * decodes back to the original bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/utf8.h"

static void test_valid(void **state)
{
    (void)state;
    assert_true(cw_utf8_valid("", 0));
    assert_true(cw_utf8_valid("abc/\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x98\x80", 15));
    assert_false(cw_utf8_valid("\xff", 1));
    assert_false(cw_utf8_valid("\xc0\xaf", 2));          /* overlong */
    assert_false(cw_utf8_valid("\xed\xa0\x80", 3));      /* surrogate */
    assert_false(cw_utf8_valid("\xf4\x90\x80\x80", 4));  /* > U+10FFFF */
    assert_false(cw_utf8_valid("\xe2\x82", 2));          /* cut short */
}

static char *escaped(const char *s, size_t n)
{
    cw_buf b;
    cw_buf_init(&b, 0);
    assert_int_equal(cw_utf8_escape(&b, s, n), CW_OK);
    size_t len;
    char *out = cw_buf_steal(&b, &len);
    return out ? out : calloc(1, 1);
}

static int hexval(char c) { return c <= '9' ? c - '0' : c - 'A' + 10; }

static void test_escape(void **state)
{
    (void)state;
    char *e = escaped("/api/v1/entities/x/\xc3\xa9", 21);
    assert_string_equal(e, "/api/v1/entities/x/\xc3\xa9");
    free(e);
    e = escaped("/api/v1/\xff\xfe/100%/\xc3(\xe2\x82", 20);
    assert_string_equal(e, "/api/v1/%FF%FE/100%25/%C3(%E2%82");
    free(e);
    /* every byte but NUL (paths are C strings): the result is UTF-8 and
     * decodes back to the bytes */
    unsigned char all[256], back[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    size_t n;
    e = escaped((const char *)all + 1, sizeof all - 1);
    assert_true(cw_utf8_valid(e, strlen(e)));
    n = 0;
    for (const char *p = e; *p; p++) {
        if (*p == '%') {
            back[n++] = (unsigned char)(hexval(p[1]) * 16 + hexval(p[2]));
            p += 2;
        } else {
            back[n++] = (unsigned char)*p;
        }
    }
    assert_int_equal(n, 255);
    assert_memory_equal(back, all + 1, 255);
    free(e);
}

static void test_escape_keeps_the_cap(void **state)
{
    (void)state;
    cw_buf b;
    cw_buf_init(&b, 8);
    assert_int_equal(cw_utf8_escape(&b, "\xff\xff\xff", 3), CW_ERR_TOO_LARGE);
    assert_true(b.len <= 8);
    cw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_escape_keeps_the_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
