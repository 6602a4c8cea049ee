/* test_buf.c — the byte buffer (src/util/buf.c): JSON string escaping is
 * byte for byte jansson's (canonical JSON and etags depend on it), and the
 * fast append path keeps the hard cap. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"

/* Every byte 0x01..0x7F, NUL included once, and multi-byte UTF-8. */
static void test_json_escaping_matches_jansson(void **state)
{
    (void)state;
    char text[160];
    size_t n = 0;
    for (int c = 1; c < 0x80; c++)
        text[n++] = (char)c;
    text[n++] = '\0';
    memcpy(text + n, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 15);
    n += 15;
    json_t *s = json_stringn(text, n);
    assert_non_null(s);
    char *want = json_dumps(s, JSON_ENCODE_ANY | JSON_COMPACT);
    assert_non_null(want);
    cw_buf b;
    cw_buf_init(&b, 0);
    assert_int_equal(cw_buf_json_strn(&b, text, n), CW_OK);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    cw_buf_reset(&b);
    assert_int_equal(cw_buf_json_str(&b, "a\"b\\c\n\x01"), CW_OK);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\u0001\"");
    cw_buf_reset(&b);
    assert_int_equal(cw_buf_json_strn(&b, "", 0), CW_OK);
    assert_string_equal(b.data, "\"\"");
    free(want);
    json_decref(s);
    cw_buf_free(&b);
}

static void test_add_keeps_the_cap(void **state)
{
    (void)state;
    cw_buf b;
    cw_buf_init(&b, 8);
    assert_int_equal(cw_buf_add(&b, "12345", 5), CW_OK);
    assert_int_equal(cw_buf_add(&b, "678", 3), CW_OK);
    assert_string_equal(b.data, "12345678");
    assert_int_equal(cw_buf_add(&b, "9", 1), CW_ERR_TOO_LARGE);
    assert_int_equal(b.len, 8);
    assert_string_equal(b.data, "12345678");
    /* escaping that would pass the cap fails too, leaving a prefix */
    cw_buf_reset(&b);
    assert_int_equal(cw_buf_json_str(&b, "abcdefghij"), CW_ERR_TOO_LARGE);
    assert_true(b.len <= 8);
    cw_buf_free(&b);
}

/* The first error sticks: later appends (even ones that would fit) do
 * nothing and return it, so one check at the end sees any failure and no
 * piece can go missing from the middle; truncate and reset clear it. */
static void test_first_error_sticks(void **state)
{
    (void)state;
    cw_buf b;
    cw_buf_init(&b, 8);
    assert_int_equal(cw_buf_error(&b), CW_OK);
    cw_buf_puts(&b, "WHERE");
    assert_int_equal(cw_buf_puts(&b, " AND x = 1"), CW_ERR_TOO_LARGE);
    assert_int_equal(cw_buf_puts(&b, "!"), CW_ERR_TOO_LARGE);   /* fits, refused */
    assert_int_equal(cw_buf_putc(&b, '!'), CW_ERR_TOO_LARGE);
    assert_int_equal(cw_buf_add(&b, "!", 1), CW_ERR_TOO_LARGE);  /* the inline path too */
    assert_int_equal(cw_buf_printf(&b, "%d", 1), CW_ERR_TOO_LARGE);
    assert_int_equal(cw_buf_json_str(&b, ""), CW_ERR_TOO_LARGE);
    assert_string_equal(cw_buf_cstr(&b), "WHERE");
    assert_int_equal(cw_buf_error(&b), CW_ERR_TOO_LARGE);
    /* back to a whole prefix: appends work again */
    cw_buf_truncate(&b, 2);
    assert_int_equal(cw_buf_error(&b), CW_OK);
    assert_int_equal(cw_buf_puts(&b, "ok"), CW_OK);
    assert_string_equal(cw_buf_cstr(&b), "WHok");
    assert_int_equal(cw_buf_puts(&b, "123456"), CW_ERR_TOO_LARGE);
    cw_buf_reset(&b);
    assert_int_equal(cw_buf_error(&b), CW_OK);
    assert_int_equal(cw_buf_puts(&b, "fresh"), CW_OK);
    cw_buf_free(&b);
    assert_int_equal(cw_buf_error(&b), CW_OK);
}

/* A buffer never allocates more than its hard limit can use: a request
 * body capped at its Content-Length costs that much memory, not the next
 * power of two (which could be twice as much). */
static void test_growth_stops_at_the_cap(void **state)
{
    (void)state;
    cw_buf b;
    cw_buf_init(&b, 1000);
    char chunk[100];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 10; i++)
        assert_int_equal(cw_buf_append(&b, chunk, sizeof chunk), CW_OK);
    assert_int_equal(b.len, 1000);
    assert_true(b.cap <= 1001);
    assert_int_equal(cw_buf_add(&b, "y", 1), CW_ERR_TOO_LARGE);
    assert_int_equal(b.data[1000], '\0');
    cw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_escaping_matches_jansson),
        cmocka_unit_test(test_add_keeps_the_cap),
        cmocka_unit_test(test_first_error_sticks),
        cmocka_unit_test(test_growth_stops_at_the_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
