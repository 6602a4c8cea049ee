/*
 * test_catalog_originals.c — the original-case text that cw_entity_search_rows
 * records on each row while it walks the entity must be the very string
 * cw_search_original finds for that row (the first match in document order),
 * since facets show it. Checked row by row, as pointers, on every example
 * entity and on entities built to make the two disagree if they could:
 * case variants of one value, duplicates from several places, strings next
 * to booleans, dotted member names, a second "Name" in metadata.
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

/* Checks every row of e; returns how many rows carry an original. */
static size_t check_entity(const json_t *e)
{
    cw_relation_list rels = {0};
    cw_search_rows rows = {0};
    cw_diag d = {""};
    assert_int_equal(cw_entity_relations(e, &rels, &d), CW_OK);
    assert_int_equal(cw_entity_search_rows(e, &rels, &rows), CW_OK);
    size_t with = 0;
    for (size_t i = 0; i < rows.len; i++) {
        const cw_search_row *r = &rows.items[i];
        const char *want = cw_search_original(e, &rels, r->key, r->value);
        if (want != r->original)
            fail_msg("row %s=%s: original %s, expected %s", r->key,
                     r->value ? r->value : "(null)", r->original ? r->original : "(none)",
                     want ? want : "(none)");
        with += r->original != NULL;
    }
    cw_search_rows_free(&rows);
    cw_relation_list_free(&rels);
    return with;
}

/* Checks every valid entity among the documents of dir's .yaml files,
 * counting them into *entities; returns how many had originals. */
static size_t check_dir(const char *dir, size_t *entities)
{
    json_t *docs = fx_yaml_dir_docs(dir);
    size_t i, with = 0;
    json_t *doc;
    json_array_foreach(docs, i, doc) {
        cw_diag vd = {""};
        if (!json_is_object(doc) || cw_entity_validate(doc, &vd) != CW_OK)
            continue;
        with += check_entity(doc);
        (*entities)++;
    }
    json_decref(docs);
    return with;
}

static void test_example_entities(void **state)
{
    (void)state;
    size_t entities = 0;
    size_t with = check_dir(CONWAY_TEST_DATA "/backstage", &entities);
    with += check_dir(CONWAY_SOURCE_DIR "/demo/org", &entities);
    assert_true(entities > 100);
    assert_true(with > 100); /* owners, refs and names in mixed case abound */
}

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *e = json_loads(text, 0, &je);
    if (!e)
        fail_msg("bad test JSON: %s", je.text);
    return e;
}

static void test_corner_entities(void **state)
{
    (void)state;
    static const char *const cases[] = {
        /* one value in several cases and places; the first one wins */
        "{\"apiVersion\":\"backstage.io/v1alpha1\",\"kind\":\"Component\","
        "\"metadata\":{\"name\":\"Svc\",\"Name\":\"SVC\",\"tags\":[\"java\"],"
        "\"annotations\":{\"a.b/c\":\"X\",\"a.b/C\":\"x\"}},"
        "\"spec\":{\"type\":\"Service\",\"owner\":\"Team-A\",\"lifecycle\":\"prod\","
        "\"langs\":[\"java\",\"Java\",\"JAVA\"],\"x\":[true,\"TRUE\",\"True\"],\"y\":[\"q\",\"Q\"],\"z\":{\"w\":\"Up\"},\"z.w\":\"UP\","
        "\"n\":null,\"num\":[1,\"1\"],\"dependsOn\":[\"component:Other\","
        "\"Component:default/other\",\"resource:DB\"]}}",
        /* the dotted member first */
        "{\"apiVersion\":\"backstage.io/v1alpha1\",\"kind\":\"Component\","
        "\"metadata\":{\"name\":\"svc\",\"namespace\":\"ns-1\"},"
        "\"spec\":{\"type\":\"service\",\"owner\":\"group:ns-1/Team\",\"lifecycle\":\"prod\","
        "\"z.w\":\"MiXed\",\"z\":{\"w\":\"mixed\"},\"arr\":[[\"Deep\"],{\"k\":\"V\"}]}}",
        /* a group with members and children in mixed case */
        "{\"apiVersion\":\"backstage.io/v1alpha1\",\"kind\":\"Group\","
        "\"metadata\":{\"name\":\"Team-A\",\"title\":\"Team A\"},"
        "\"spec\":{\"type\":\"Team\",\"children\":[\"Sub-1\",\"sub-1\"],"
        "\"members\":[\"User:Alice\",\"alice\"],\"parent\":\"Org\"}}",
    };
    size_t with = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *e = parse(cases[i]);
        cw_diag d = {""};
        if (cw_entity_validate(e, &d) != CW_OK)
            fail_msg("case %zu invalid: %s", i, d.msg);
        with += check_entity(e);
        json_decref(e);
    }
    assert_true(with >= 12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_entities),
        cmocka_unit_test(test_corner_entities),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
