/* test_entity_facts.c — the pure parts of the facts document
 * (src/insights/entity_facts.c): link types from type, title, icon and
 * URL in that order; Backstage's annotations as links; relations grouped
 * by type; findings filed under every entity they name, once each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "insights/entity_facts.h"

static json_t *J(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!j)
        fail_msg("bad test JSON: %s", je.text);
    return j;
}

static const char *type_of(const char *link)
{
    json_t *l = J(link);
    const char *t = cw_link_type(l);
    json_decref(l);
    return t;
}

static void test_link_types(void **state)
{
    (void)state;
    /* a title says more than an icon: the demo's runbooks have icon docs */
    assert_string_equal(type_of("{\"url\":\"https://r.example/x\",\"title\":\"Runbook\",\"icon\":\"docs\"}"), "runbook");
    assert_string_equal(type_of("{\"url\":\"https://x.example/\",\"type\":\"dashboard\",\"title\":\"Runbook\"}"), "dashboard");
    assert_string_equal(type_of("{\"url\":\"https://grafana.example/d/1\",\"title\":\"Latency\"}"), "dashboard");
    assert_string_equal(type_of("{\"url\":\"https://github.com/o/r\",\"title\":\"Source\",\"icon\":\"github\"}"), "repo");
    assert_string_equal(type_of("{\"url\":\"https://docs.example/handbook\",\"title\":\"Engineering handbook\",\"icon\":\"help\"}"), "docs");
    assert_string_equal(type_of("{\"url\":\"https://x.example/\",\"title\":\"Website\",\"icon\":\"web\"}"), "other");
}

static void test_links_and_relations(void **state)
{
    (void)state;
    json_t *e = J("{\"kind\":\"Component\",\"metadata\":{\"name\":\"a\","
                  "\"annotations\":{\"github.com/project-slug\":\"o/a\",\"conway.dev/runbook\":\"https://rb.example/a\"},"
                  "\"links\":[{\"url\":\"https://grafana.example/d/a\",\"title\":\"Dashboard\"},{\"title\":\"no url\"}]},"
                  "\"relations\":[{\"type\":\"ownedBy\",\"targetRef\":\"group:default/t\"},"
                  "{\"type\":\"dependsOn\",\"targetRef\":\"component:default/b\"},"
                  "{\"type\":\"dependsOn\",\"targetRef\":\"resource:default/db\"}]}");
    json_t *links = NULL, *rels = NULL;
    assert_int_equal(cw_facts_links(e, &links), CW_OK);
    assert_int_equal(json_array_size(json_object_get(links, "dashboard")), 1);
    assert_int_equal(json_array_size(json_object_get(links, "other")), 0);   /* no url: skipped */
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(links, "repo"), 0), "annotation")),
                        "github.com/project-slug");
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(links, "runbook"), 0), "url")),
                        "https://rb.example/a");
    assert_int_equal(json_array_size(json_object_get(links, "docs")), 0);
    assert_int_equal(cw_facts_relations(e, &rels), CW_OK);
    assert_int_equal(json_array_size(json_object_get(rels, "dependsOn")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(rels, "ownedBy"), 0)), "group:default/t");
    json_decref(links);
    json_decref(rels);
    json_decref(e);
}

static void test_file_findings(void **state)
{
    (void)state;
    json_t *map = json_object();
    json_t *f = J("[{\"rule\":\"dependency-cycle\",\"entityRef\":\"component:default/A\","
                  "\"entities\":[\"component:default/a\",\"component:default/b\"]},"
                  "{\"rule\":\"owner-missing\",\"entityRef\":\"component:default/b\"},"
                  "{\"rule\":\"broken\"}]");
    assert_int_equal(cw_facts_file_findings(map, "architecture", f), CW_OK);
    const json_t *a = json_object_get(map, "component:default/a");
    const json_t *b = json_object_get(map, "component:default/b");
    assert_int_equal(json_array_size(a), 1);   /* named twice, filed once */
    assert_int_equal(json_array_size(b), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "kind")), "architecture");
    assert_int_equal(json_object_size(map), 2);
    json_decref(f);
    json_decref(map);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_types),
        cmocka_unit_test(test_links_and_relations),
        cmocka_unit_test(test_file_findings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
