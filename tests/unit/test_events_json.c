/*
 * test_events_json.c — the fast JSON path of the events decoder
 * (events_json.c) against jansson: whatever it accepts, jansson parses to
 * an equal value (same types, same key order); what it declines is left to
 * jansson. Checked on hand-picked edge cases, on every CDEvents conformance
 * example (which it must accept), and on thousands of seeded random
 * mutations of them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/events_int.h"

#define FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)
#define DEPTH 64

/* Same value, same types, same key order. */
static bool same(const json_t *a, const json_t *b)
{
    if (json_typeof(a) != json_typeof(b))
        return false;
    switch (json_typeof(a)) {
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b))
            return false;
        void *ia = json_object_iter((json_t *)a), *ib = json_object_iter((json_t *)b);
        while (ia && ib) {
            size_t la = json_object_iter_key_len(ia), lb = json_object_iter_key_len(ib);
            if (la != lb || memcmp(json_object_iter_key(ia), json_object_iter_key(ib), la) ||
                !same(json_object_iter_value(ia), json_object_iter_value(ib)))
                return false;
            ia = json_object_iter_next((json_t *)a, ia);
            ib = json_object_iter_next((json_t *)b, ib);
        }
        return !ia && !ib;
    }
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!same(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    default: return json_equal((json_t *)a, (json_t *)b);
    }
}

/* Checks one input; returns whether the fast path took it. */
static bool check(const char *text, size_t len)
{
    bool compact = true;
    json_t *fast = cw__json_parse_fast(text, len, DEPTH, &compact);
    if (!fast)
        return false;
    json_error_t je;
    json_t *ref = json_loadb(text, len, FLAGS, &je);
    if (!ref)
        fail_msg("fast path accepted what jansson refuses (%s): %.*s", je.text, (int)len, text);
    if (!same(fast, ref))
        fail_msg("fast path and jansson differ on: %.*s", (int)len, text);
    /* compact: no whitespace byte outside strings (and none can be raw
     * inside them but the space) */
    if (compact && (memchr(text, '\n', len) || memchr(text, '\t', len) || memchr(text, '\r', len)))
        fail_msg("called compact: %.*s", (int)len, text);
    json_decref(fast);
    json_decref(ref);
    return true;
}

static void test_edge_cases(void **state)
{
    (void)state;
    static const char *const taken[] = {
        "{}", "[]", "0", "-0", "1.5", "-2.5e-3", "1E+2", "true", "false", "null", "\"\"",
        " {\"a\" : [1, 2.0, \"x\", null, true, {}] }\r\n",
        "{\"esc\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u20ac\\ud83d\\ude00\"}",
        "{\"k\\u00e9y\":1,\"b\":{\"c\":[[[]]]}}", "\"caf\xc3\xa9\"", "9223372036854775807",
        "-9223372036854775808",
    };
    for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++)
        if (!check(taken[i], strlen(taken[i])))
            fail_msg("fast path declined valid input: %s", taken[i]);
    static const char *const declined[] = {
        "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "01", "1.", ".5", "-",
        "1e", "+1", "tru", "nul", "\"abc", "\"a\\x\"", "\"\\u00\"", "\"\\u0000\"",
        "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"a\tb\"", "\"\xff\"",
        "\"\xc3\"", "{\"a\":1,\"a\":2}", "9223372036854775808", "1e400", "[1] x", "{} {}",
        "\"a\x01\"",
        "1e-400", /* valid, but underflows: left to jansson */
    };
    for (size_t i = 0; i < sizeof declined / sizeof declined[0]; i++) {
        json_t *v = cw__json_parse_fast(declined[i], strlen(declined[i]), DEPTH, NULL);
        if (v)
            fail_msg("fast path accepted: %s", declined[i]);
    }
    bool compact = false;
    const char *t1 = "{\"a b\":[1,\"c d\"]}", *t2 = "{\"a\": 1}";
    json_t *v = cw__json_parse_fast(t1, strlen(t1), DEPTH, &compact);
    assert_non_null(v);
    assert_true(compact);
    json_decref(v);
    v = cw__json_parse_fast(t2, strlen(t2), DEPTH, &compact);
    assert_non_null(v);
    assert_false(compact);
    json_decref(v);
    v = cw__json_parse_fast(" {}", 3, DEPTH, &compact);
    assert_non_null(v);
    assert_false(compact);
    json_decref(v);
    /* nesting: declined from DEPTH - 1 levels on, accepted below */
    char deep[200];
    for (int levels = DEPTH - 3; levels <= DEPTH + 1; levels++) {
        memset(deep, '[', (size_t)levels);
        memset(deep + levels, ']', (size_t)levels);
        bool took = check(deep, 2 * (size_t)levels);
        assert_int_equal(took, levels < DEPTH);
    }
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static uint64_t rs = 0x2545F4914F6CDD1DULL;
static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

static void test_examples_and_mutations(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/cdevents", CONWAY_TEST_DATA);
    DIR *dp = opendir(dir);
    if (!dp)
        fail_msg("cannot open %s (the examples are part of the repository)", dir);
    static const char alphabet[] = "{}[]\",:\\/ \n0123456789-+.eEtrufalsn\xc3\xa9\xff\x01u";
    size_t files = 0, mutants = 0, mutants_taken = 0;
    struct dirent *de;
    while ((de = readdir(dp))) {
        size_t nl = strlen(de->d_name);
        if (nl < 6 || strcmp(de->d_name + nl - 5, ".json"))
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        size_t len;
        char *text = read_all(path, &len);
        if (!check(text, len))
            fail_msg("fast path declined a conformance example: %s", de->d_name);
        files++;
        char *m = malloc(len + 8);
        assert_non_null(m);
        for (int k = 0; k < 300; k++) {
            memcpy(m, text, len);
            size_t mlen = len;
            int edits = 1 + (int)(rnd() % 3);
            for (int e = 0; e < edits && mlen > 0; e++) {
                size_t at = rnd() % mlen;
                switch (rnd() % 3) {
                case 0: m[at] = alphabet[rnd() % (sizeof alphabet - 1)]; break;
                case 1: memmove(m + at, m + at + 1, mlen - at - 1); mlen--; break;
                default:
                    if (mlen < len + 7) {
                        memmove(m + at + 1, m + at, mlen - at);
                        m[at] = alphabet[rnd() % (sizeof alphabet - 1)];
                        mlen++;
                    }
                }
            }
            mutants++;
            mutants_taken += check(m, mlen);
        }
        free(m);
        free(text);
    }
    closedir(dp);
    assert_true(files > 10);
    /* both outcomes occur: the mutations exercise acceptance and refusal */
    assert_true(mutants_taken > 0 && mutants_taken < mutants);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edge_cases),
        cmocka_unit_test(test_examples_and_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
