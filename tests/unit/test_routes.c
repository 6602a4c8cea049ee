/*
 * test_routes.c — every route the server registers is described in the
 * OpenAPI document (src/ui/openapi.json), so the two cannot drift apart;
 * and the router's body table agrees with the routes: every route that
 * takes a body (POST, PUT) has a limit, no other route takes one.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/http_int.h"

static void test_every_route_is_documented(void **state)
{
    (void)state;
    json_error_t je;
    json_t *doc = json_load_file(CONWAY_SOURCE_DIR "/src/ui/openapi.json", 0, &je);
    assert_non_null(doc);
    json_t *paths = json_object_get(doc, "paths");
    size_t ntables = 0, nroutes = 0;
    const cw_route *const *tables = cw_route_tables(&ntables);
    for (size_t t = 0; t < ntables; t++) {
        for (const cw_route *r = tables[t]; r->method; r++) {
            char method[16];
            size_t i = 0;
            for (; r->method[i] && i < sizeof method - 1; i++)
                method[i] = (char)tolower((unsigned char)r->method[i]);
            method[i] = '\0';
            json_t *op = json_object_get(json_object_get(paths, r->pattern), method);
            if (!op)
                fail_msg("route %s %s is not in docs/openapi.mjs", r->method, r->pattern);
            nroutes++;
        }
    }
    assert_true(nroutes >= 10);
    json_decref(doc);
}

static void test_body_limits_follow_the_routes(void **state)
{
    (void)state;
    size_t ntables = 0, nbody = 0;
    const cw_route *const *tables = cw_route_tables(&ntables);
    for (size_t t = 0; t < ntables; t++) {
        for (const cw_route *r = tables[t]; r->method; r++) {
            bool writes = !strcmp(r->method, "POST") || !strcmp(r->method, "PUT");
            cw_body_kind k = cw_route_body(r);
            if (writes && k == CW_BODY_NONE)
                fail_msg("route %s %s takes a body but has no body limit", r->method, r->pattern);
            if (!writes && k != CW_BODY_NONE)
                fail_msg("route %s %s has a body limit", r->method, r->pattern);
            nbody += k != CW_BODY_NONE;
        }
    }
    assert_int_equal(nbody, 21); /* 10, the two incident routes (issue #13), metrics (issue #16),
                                  * the 3 ping routes and 4 heartbeat commands (issue #14),
                                  * POST /api/v1/tokens (issue 18) */
    cw_server_config cfg;
    cw_server_config_default(&cfg);
    assert_int_equal(cw_body_limit(&cfg, CW_BODY_DOC), 1u << 20);
    assert_int_equal(cw_body_limit(&cfg, CW_BODY_BULK), 16u << 20);
    assert_int_equal(cw_body_limit(&cfg, CW_BODY_NONE), 0);
    cfg.max_body = 4096; /* a smaller --max-body lowers the document limit too */
    assert_int_equal(cw_body_limit(&cfg, CW_BODY_DOC), 4096);
    assert_int_equal(cw_body_limit(&cfg, CW_BODY_BULK), 4096);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route_is_documented),
        cmocka_unit_test(test_body_limits_follow_the_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
