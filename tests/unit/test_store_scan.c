/*
 * test_store_scan.c — whole-catalog reads (store/store_scan.h) on a real
 * SQLite file: kind filters and paging past one query page, the size
 * limit, and the parsed-entity cache: unchanged reads hand out the same
 * snapshot, a change re-parses only what changed (relations included) and
 * moves the version, deletions and insertions are noticed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "fixtures.h"
#include "store/store.h"
#include "store/store_scan.h"

static json_t *component(const char *name, const char *owner, const char *desc)
{
    json_t *e = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}}", "apiVersion",
                          "backstage.io/v1alpha1", "kind", "Component", "metadata", "name", name,
                          "description", desc, "spec", "type", "service", "lifecycle",
                          "production", "owner", owner);
    cw_diag d = {{0}};
    if (cw_entity_validate(e, &d))
        fail_msg("%s", d.msg);
    return e;
}

static json_t *group(const char *name)
{
    json_t *e = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:[]}}", "apiVersion",
                          "backstage.io/v1alpha1", "kind", "Group", "metadata", "name", name,
                          "spec", "type", "team", "children");
    cw_diag d = {{0}};
    if (cw_entity_validate(e, &d))
        fail_msg("%s", d.msg);
    return e;
}

static void put(cw_store *s, json_t *e)
{
    cw_diag d = {{0}};
    cw_put_result r;
    if (cw_store_entity_put(s, e, NULL, &r, &d))
        fail_msg("%s", d.msg);
    json_decref(e);
}

static const json_t *find(const json_t *arr, const char *name)
{
    size_t i;
    const json_t *e;
    json_array_foreach(arr, i, e) {
        if (!strcmp(json_string_value(json_object_get(json_object_get(e, "metadata"), "name")),
                    name))
            return e;
    }
    return NULL;
}

static void test_scan_kinds_paging_limit(void **state)
{
    fx_store *f = *state;
    size_t n = CW_SCAN_PAGE + 150;
    json_t **ents = calloc(n + 1, sizeof *ents);
    cw_put_result *res = calloc(n + 1, sizeof *res);
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "c-%05zu", i);
        ents[i] = component(name, "team-a", "x");
    }
    ents[n] = group("team-a");
    cw_diag d = {{0}};
    assert_int_equal(cw_store_entity_put_many(f->s, ents, n + 1, res, &d), CW_OK);
    for (size_t i = 0; i <= n; i++)
        json_decref(ents[i]);
    free(ents);
    free(res);

    json_t *all = NULL;
    assert_int_equal(cw_store_scan(f->s, NULL, 0, 0, &all, &d), CW_OK);
    assert_int_equal(json_array_size(all), n + 1);
    /* entity key order, every one once, relations rendered */
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(all, 0), "metadata"), "name")),
                        "c-00000");
    const json_t *g = find(all, "team-a");
    assert_non_null(g);
    assert_int_equal(json_array_size(json_object_get(g, "relations")), n); /* ownerOf */
    json_decref(all);

    const char *kinds[] = {"Group"};
    assert_int_equal(cw_store_scan(f->s, kinds, 1, 0, &all, &d), CW_OK);
    assert_int_equal(json_array_size(all), 1);
    json_decref(all);
    const char *none[] = {"domain"};
    assert_int_equal(cw_store_scan(f->s, none, 1, 0, &all, &d), CW_OK);
    assert_int_equal(json_array_size(all), 0);
    json_decref(all);

    all = NULL;
    assert_int_equal(cw_store_scan(f->s, NULL, 0, 100, &all, &d), CW_ERR_TOO_LARGE);
    assert_null(all);
    assert_non_null(strstr(d.msg, "more than 100"));
}

static void test_cache_reuses_and_notices_changes(void **state)
{
    fx_store *f = *state;
    put(f->s, group("team-a"));
    put(f->s, group("team-b"));
    put(f->s, component("pay", "team-a", "v1"));
    put(f->s, component("shop", "team-a", "v1"));
    put(f->s, component("other", "team-b", "v1"));

    cw_scan_cache *c = NULL;
    assert_int_equal(cw_scan_cache_new(&c), CW_OK);
    cw_diag d = {{0}};
    json_t *s1 = NULL, *s2 = NULL, *s3 = NULL, *s4 = NULL, *s5 = NULL;
    uint64_t v1 = 0, v2 = 0, v3 = 0, v4 = 0, v5 = 0;
    assert_int_equal(cw_scan_cache_read(c, f->s, &s1, &v1, &d), CW_OK);
    assert_int_equal(json_array_size(s1), 5);

    /* nothing changed: the very same snapshot */
    assert_int_equal(cw_scan_cache_read(c, f->s, &s2, &v2, &d), CW_OK);
    assert_ptr_equal(s1, s2);
    assert_true(v1 == v2);

    /* an update: new version; the untouched entity is the same object, the
     * changed one and the group whose relations changed are new */
    put(f->s, component("shop", "team-b", "v2"));
    assert_int_equal(cw_scan_cache_read(c, f->s, &s3, &v3, &d), CW_OK);
    assert_true(v3 != v2);
    assert_ptr_not_equal(s3, s2);
    assert_ptr_equal(find(s3, "pay"), find(s1, "pay"));
    assert_ptr_not_equal(find(s3, "shop"), find(s1, "shop"));
    assert_ptr_not_equal(find(s3, "team-b"), find(s1, "team-b")); /* gained ownerOf shop */
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(find(s3, "shop"), "metadata"), "description")),
                        "v2");
    /* the old snapshot is untouched and still usable */
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(find(s1, "shop"), "metadata"), "description")),
                        "v1");

    /* a deletion, then an insertion */
    assert_int_equal(cw_store_entity_delete(f->s, "component", "default", "other", NULL, &d),
                     CW_OK);
    assert_int_equal(cw_scan_cache_read(c, f->s, &s4, &v4, &d), CW_OK);
    assert_true(v4 != v3);
    assert_int_equal(json_array_size(s4), 4);
    assert_null(find(s4, "other"));
    put(f->s, component("new", "team-a", "v1"));
    assert_int_equal(cw_scan_cache_read(c, f->s, &s5, &v5, &d), CW_OK);
    assert_true(v5 != v4);
    assert_int_equal(json_array_size(s5), 5);
    assert_non_null(find(s5, "new"));

    json_decref(s1);
    json_decref(s2);
    json_decref(s3);
    json_decref(s4);
    json_decref(s5);

    /* another store: starts afresh, nothing from the first one */
    char path2[320];
    snprintf(path2, sizeof path2, "%s/other.db", ((const fx_sqlite_db *)f->ctx)->dir);
    cw_store *s2store = NULL;
    assert_int_equal(cw_store_open(path2, NULL, &s2store, &d), CW_OK);
    json_t *empty = NULL;
    assert_int_equal(cw_scan_cache_read(c, s2store, &empty, NULL, &d), CW_OK);
    assert_int_equal(json_array_size(empty), 0);
    json_decref(empty);
    cw_store_close(s2store); /* its files go with the fixture's directory */
    cw_scan_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_SQLITE_TEST(test_scan_kinds_paging_limit),
        FX_SQLITE_TEST(test_cache_reuses_and_notices_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
