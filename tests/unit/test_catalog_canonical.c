/*
 * test_catalog_canonical.c — cw_entity_canonical_json must give exactly the
 * bytes jansson's json_dumps(JSON_COMPACT | JSON_SORT_KEYS) gives for the
 * entity without relations, status and metadata.uid/etag/generation: every
 * stored etag is the hash of that text, so a single differing byte would
 * turn every unchanged entity of a re-import into an update. Checked on
 * every example entity (tests/data, the demo organisation) and on values
 * built to hit the corners (escapes, UTF-8, reals, key order, big objects).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "fixtures.h"

/* The reference: shallow copies without the dropped members, then jansson. */
static json_t *copy_without(const json_t *obj, const char *const *drop, size_t ndrop)
{
    json_t *copy = json_object();
    assert_non_null(copy);
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val) {
        bool skip = false;
        for (size_t i = 0; i < ndrop && !skip; i++)
            skip = strcmp(key, drop[i]) == 0;
        if (!skip)
            assert_int_equal(json_object_set(copy, key, val), 0);
    }
    return copy;
}

static char *reference(const json_t *entity)
{
    static const char *const top_drop[] = {"relations", "status"};
    static const char *const meta_drop[] = {"uid", "etag", "generation"};
    json_t *top = copy_without(entity, top_drop, 2);
    const json_t *m = json_object_get(entity, "metadata");
    if (json_is_object(m))
        assert_int_equal(json_object_set_new(top, "metadata", copy_without(m, meta_drop, 3)),
                         0);
    char *text = json_dumps(top, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(top);
    return text;
}

static void check(const json_t *entity)
{
    char *want = reference(entity);
    char *got = cw_entity_canonical_json(entity);
    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    free(want);
    free(got);
}

/* Checks every object among the documents of dir's .yaml files; returns
 * how many. */
static size_t check_dir(const char *dir)
{
    json_t *docs = fx_yaml_dir_docs(dir);
    size_t i, count = 0;
    json_t *doc;
    json_array_foreach(docs, i, doc) {
        if (!json_is_object(doc))
            continue;
        check(doc);
        count++;
    }
    json_decref(docs);
    return count;
}

static void test_example_entities(void **state)
{
    (void)state;
    size_t n = check_dir(CONWAY_TEST_DATA "/backstage");
    n += check_dir(CONWAY_SOURCE_DIR "/demo/org");
    assert_true(n > 100);
}

static void test_corner_values(void **state)
{
    (void)state;
    json_t *e = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:i, s:{s:s}}, s:[], s:{}}",
                          "kind", "Component", "apiVersion", "backstage.io/v1alpha1",
                          "metadata", "name", "a", "uid", "x", "etag", "y", "generation", 3,
                          "annotations", "k", "v", "relations", "status");
    assert_non_null(e);
    check(e);
    json_t *spec = json_object();
    assert_non_null(spec);
    json_object_set_new(e, "spec", spec);
    /* every ASCII byte, alone and in runs, and UTF-8 of each length */
    char all[128];
    for (int c = 0; c < 128; c++)
        all[c] = (char)c;
    json_object_set_new(spec, "ascii", json_stringn(all, sizeof all));
    json_object_set_new(spec, "utf8", json_string("\xc3\xa9 \xe2\x80\xa8 \xef\xbf\xbd "
                                                  "\xf0\x9f\x98\x80 end"));
    json_object_set_new(spec, "\xc3\xa9t\xc3\xa9", json_string("key in UTF-8"));
    json_object_set_new(spec, "quote\"key\\", json_true());
    json_object_set_new(spec, "nul", json_stringn("a\0b", 3));
    /* reals and integers */
    const double reals[] = {0.1, -0.0, 1.0, 1e20, 1e-7, 123456789012.5, -2.5e300, 3.0e-310};
    json_t *nums = json_array();
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++)
        json_array_append_new(nums, json_real(reals[i]));
    json_array_append_new(nums, json_integer(0));
    json_array_append_new(nums, json_integer(-9223372036854775807LL - 1));
    json_array_append_new(nums, json_integer(9223372036854775807LL));
    json_array_append_new(nums, json_null());
    json_array_append_new(nums, json_false());
    json_array_append_new(nums, json_array());
    json_object_set_new(spec, "nums", nums);
    /* key order: prefixes, case, bytes above 0x7f, more members than fit
     * the fast path, inserted in reverse */
    json_t *keys = json_object();
    for (int i = 99; i >= 0; i--) {
        char k[16];
        snprintf(k, sizeof k, "%c%d", i % 2 ? 'k' : 'K', i);
        json_object_set_new(keys, k, json_integer(i));
    }
    json_object_set_new(keys, "k", json_integer(-1));
    json_object_set_new(keys, "", json_integer(-2));
    json_object_set_new(keys, "\xc3\xa0", json_integer(-3));
    json_object_set_new(spec, "keys", keys);
    /* deep nesting */
    json_t *deep = json_object();
    json_object_set_new(spec, "deep", deep);
    for (int i = 0; i < 40; i++) {
        json_t *inner = json_object();
        json_object_set_new(deep, i % 2 ? "b" : "a", inner);
        json_object_set_new(deep, "z", json_integer(i));
        deep = inner;
    }
    /* a nested "metadata" keeps its uid: only the top level's is dropped */
    json_object_set_new(spec, "metadata", json_pack("{s:s, s:s}", "uid", "kept", "etag", "kept"));
    check(e);
    /* metadata that is not an object is kept as it is */
    json_object_set_new(e, "metadata", json_string("odd"));
    check(e);
    json_decref(e);
}

static void test_invalid_utf8_fails_like_jansson(void **state)
{
    (void)state;
    static const char *const bad[] = {"\xff", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
                                      "\xf4\x90\x80\x80", "\xc3", "ok \xe2\x82"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *e = json_pack("{s:s}", "kind", "Component");
        json_object_set_new(e, "x", json_stringn_nocheck(bad[i], strlen(bad[i])));
        assert_null(reference(e));
        assert_null(cw_entity_canonical_json(e));
        json_decref(e);
    }
    assert_null(cw_entity_canonical_json(NULL));
    json_t *s = json_string("not an object");
    assert_null(cw_entity_canonical_json(s));
    json_decref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_entities),
        cmocka_unit_test(test_corner_values),
        cmocka_unit_test(test_invalid_utf8_fails_like_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
