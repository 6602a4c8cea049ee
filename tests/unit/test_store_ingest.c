/*
 * test_store_ingest.c — the ingest domain of the store (store_ingest.h) on
 * every backend: webhook receivers (create, get with secret, list, revoke,
 * ids and names checked), deliveries (idempotent on the delivery id, kept
 * with their payload, pruned after the retention), catalog locations (one
 * per type and target, fetch results keeping the last good content,
 * failures counted, claims exclusive between two stores on one database
 * and released by the result, a due refresh claimable at once) and the
 * entities each location provides (orphans only when no other location
 * provides them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "store/store_ingest.h"

static cw_hook hook(const char *id, const char *provider, const char *name)
{
    cw_hook h;
    memset(&h, 0, sizeof h);
    snprintf(h.id, sizeof h.id, "%s", id);
    snprintf(h.provider, sizeof h.provider, "%s", provider);
    snprintf(h.name, sizeof h.name, "%s", name);
    h.created_at = 1700000000;
    return h;
}

static void test_receivers(void **state)
{
    fx_store *f = *state;
    cw_diag d = {""};
    cw_hook h = hook("gh_1", "github", "acme org");
    snprintf(h.incident_label, sizeof h.incident_label, "sev1");
    assert_int_equal(cw_store_hook_create(f->s, &h, "s3cret", &d), CW_OK);
    cw_hook g = hook("gl-2", "gitlab", "platform group");
    snprintf(g.team, sizeof g.team, "group:default/platform");
    g.created_at = 1700000001;
    assert_int_equal(cw_store_hook_create(f->s, &g, "0123abcd", &d), CW_OK);
    assert_int_equal(cw_store_hook_create(f->s, &g, "x", &d), CW_ERR_CONFLICT);
    /* what is checked */
    cw_hook bad = hook("a/b", "github", "n");
    assert_int_equal(cw_store_hook_create(f->s, &bad, "x", &d), CW_ERR_INVALID);
    bad = hook("ok", "bitbucket", "n");
    assert_int_equal(cw_store_hook_create(f->s, &bad, "x", &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "provider: must be github or gitlab");
    bad = hook("ok", "github", "tab\there");
    assert_int_equal(cw_store_hook_create(f->s, &bad, "x", &d), CW_ERR_INVALID);
    bad = hook("ok", "github", "n");
    assert_int_equal(cw_store_hook_create(f->s, &bad, "", &d), CW_ERR_INVALID);

    cw_hook got;
    char *secret = NULL;
    assert_int_equal(cw_store_hook_get(f->s, "gh_1", &got, &secret, &d), CW_OK);
    assert_string_equal(secret, "s3cret");
    assert_string_equal(got.provider, "github");
    assert_string_equal(got.name, "acme org");
    assert_string_equal(got.incident_label, "sev1");
    assert_int_equal(got.created_at, 1700000000);
    free(secret);
    assert_int_equal(cw_store_hook_get(f->s, "nope", &got, NULL, &d), CW_ERR_NOT_FOUND);

    cw_hook *all = NULL;
    size_t n = 0;
    assert_int_equal(cw_store_hook_list(f->s, &all, &n, &d), CW_OK);
    assert_int_equal(n, 2);
    assert_string_equal(all[0].id, "gh_1");
    assert_string_equal(all[1].team, "group:default/platform");
    free(all);

    assert_int_equal(cw_store_hook_revoke(f->s, "gl-2", 1800000000, &d), CW_OK);
    assert_int_equal(cw_store_hook_revoke(f->s, "gl-2", 1900000000, &d), CW_OK);
    assert_int_equal(cw_store_hook_revoke(f->s, "none", 1, &d), CW_ERR_NOT_FOUND);
    assert_int_equal(cw_store_hook_get(f->s, "gl-2", &got, NULL, &d), CW_ERR_NOT_FOUND);
    assert_int_equal(cw_store_hook_list(f->s, &all, &n, &d), CW_OK);
    assert_int_equal(all[1].revoked_at, 1800000000); /* the first revocation stays */
    free(all);
}

static void test_deliveries(void **state)
{
    fx_store *f = *state;
    cw_diag d = {""};
    cw_hook h = hook("h", "github", "n");
    assert_int_equal(cw_store_hook_create(f->s, &h, "k", &d), CW_OK);
    bool seen = true, inserted = false;
    assert_int_equal(cw_store_hook_delivery_seen(f->s, "h", "d-1", &seen, &d), CW_OK);
    assert_false(seen);
    int64_t t0 = 1700000000000LL;
    cw_hook_delivery_rec r = {.hook_id = "h", .delivery = "d-1", .received_ms = t0,
                              .what = "pull_request.opened", .outcome = "stored", .events = 1,
                              .payload = "{\"action\":\"opened\"}", .payload_bytes = 19};
    assert_int_equal(cw_store_hook_delivery_put(f->s, &r, &inserted, &d), CW_OK);
    assert_true(inserted);
    assert_int_equal(cw_store_hook_delivery_put(f->s, &r, &inserted, &d), CW_OK);
    assert_false(inserted);
    assert_int_equal(cw_store_hook_delivery_seen(f->s, "h", "d-1", &seen, &d), CW_OK);
    assert_true(seen);
    cw_hook_delivery_rec r2 = {.hook_id = "h", .delivery = "d-2", .received_ms = t0 + 1000,
                               .what = "star", .outcome = "ignored",
                               .detail = "this event type is not translated",
                               .payload = NULL, .payload_bytes = 9000000};
    assert_int_equal(cw_store_hook_delivery_put(f->s, &r2, &inserted, &d), CW_OK);
    json_t *list = NULL;
    assert_int_equal(cw_store_hook_deliveries(f->s, "h", 10, &list, &d), CW_OK);
    assert_int_equal(json_array_size(list), 2);
    json_t *newest = json_array_get(list, 0), *oldest = json_array_get(list, 1);
    assert_string_equal(json_string_value(json_object_get(newest, "delivery")), "d-2");
    assert_true(json_is_null(json_object_get(newest, "payload")));
    assert_int_equal(json_integer_value(json_object_get(newest, "payloadBytes")), 9000000);
    assert_string_equal(json_string_value(json_object_get(newest, "detail")),
                        "this event type is not translated");
    assert_string_equal(json_string_value(json_object_get(json_object_get(oldest, "payload"),
                                                          "action")),
                        "opened");
    json_decref(list);
    /* a delivery past the retention removes the old ones */
    cw_hook_delivery_rec r3 = r2;
    r3.delivery = "d-3";
    r3.received_ms = t0 + CW_HOOK_DELIVERY_KEEP_MS + 500;
    assert_int_equal(cw_store_hook_delivery_put(f->s, &r3, &inserted, &d), CW_OK);
    assert_int_equal(cw_store_hook_deliveries(f->s, "h", 10, &list, &d), CW_OK);
    assert_int_equal(json_array_size(list), 2); /* d-1 forgotten, d-2 kept */
    json_decref(list);
    assert_int_equal(cw_store_hook_delivery_seen(f->s, "h", "d-1", &seen, &d), CW_OK);
    assert_false(seen);
}

static const char *str_at(const json_t *arr, size_t i) { return json_string_value(json_array_get(arr, i)); }

static void test_locations_fetch_and_claims(void **state)
{
    fx_store *f = *state;
    cw_diag d = {""};
    cw_location a, b;
    bool created = false;
    assert_int_equal(cw_store_location_add(f->s, "url", "https://h.example/a.yaml", "api", 1000,
                                           &a, &created, &d), CW_OK);
    assert_true(created);
    assert_string_equal(a.status, "pending");
    assert_int_equal(cw_store_location_add(f->s, "url", "https://h.example/a.yaml", "entity",
                                           2000, &b, &created, &d), CW_OK);
    assert_false(created);
    assert_string_equal(a.id, b.id);
    assert_string_equal(b.origin, "api");
    cw_location_free(&b);
    assert_int_equal(cw_store_location_add(f->s, "file", "/srv/catalog/x.yaml", "cli", 3000,
                                           NULL, &created, &d), CW_OK);
    assert_int_equal(cw_store_location_add(f->s, "git", "x", "api", 1, NULL, NULL, &d),
                     CW_ERR_INVALID);
    assert_int_equal(cw_store_location_add(f->s, "url", "a\nb", "api", 1, NULL, NULL, &d),
                     CW_ERR_INVALID);

    /* two stores on the database: a due location is claimed by one only */
    cw_store *other = fx_store_open(fx_store_url(f));
    json_t *ids1 = NULL, *ids2 = NULL;
    assert_int_equal(cw_store_location_claim(f->s, "one", 5000, 60000, 10, &ids1, &d), CW_OK);
    assert_int_equal(cw_store_location_claim(other, "two", 5000, 60000, 10, &ids2, &d), CW_OK);
    assert_int_equal(json_array_size(ids1), 1); /* the url; file targets are not fetched */
    assert_string_equal(str_at(ids1, 0), a.id);
    assert_int_equal(json_array_size(ids2), 0);
    json_decref(ids2);
    /* the lease ends: the other may take it */
    assert_int_equal(cw_store_location_claim(other, "two", 70000, 60000, 10, &ids2, &d), CW_OK);
    assert_int_equal(json_array_size(ids2), 1);
    json_decref(ids2);

    /* a fetch result releases the claim of its owner and schedules the next */
    cw_location_fetch ok = {.status = "ok", .changed = true, .content = "kind: Component",
                            .etag = "\"v1\"", .last_modified = "Mon, 01 Jan 2024 00:00:00 GMT",
                            .fetched_ms = 71000, .next_ms = 100000};
    int64_t failures = -1;
    assert_int_equal(cw_store_location_fetched(other, a.id, "two", &ok, &failures, &d), CW_OK);
    assert_int_equal(failures, 0);
    assert_int_equal(cw_store_location_claim(f->s, "one", 99999, 60000, 10, &ids2, &d), CW_OK);
    assert_int_equal(json_array_size(ids2), 0); /* not due yet */
    json_decref(ids2);
    cw_location_fetch bad = {.status = "error", .error = "HTTP 500", .fetched_ms = 100500,
                             .next_ms = 200000};
    assert_int_equal(cw_store_location_fetched(f->s, a.id, "one", &bad, &failures, &d), CW_OK);
    assert_int_equal(cw_store_location_fetched(f->s, a.id, "one", &bad, &failures, &d), CW_OK);
    assert_int_equal(failures, 2);
    cw_location got;
    assert_int_equal(cw_store_location_get(f->s, a.id, true, &got, &d), CW_OK);
    assert_string_equal(got.status, "error");
    assert_string_equal(got.error, "HTTP 500");
    assert_string_equal(got.content, "kind: Component"); /* the last good content stays */
    assert_string_equal(got.etag, "\"v1\"");
    assert_int_equal(got.ok_ms, 71000);
    assert_int_equal(got.next_ms, 200000);
    cw_location_free(&got);
    /* unchanged (304): content and validators kept, failures reset */
    cw_location_fetch same = {.status = "ok", .changed = false, .fetched_ms = 200100,
                              .next_ms = 300000};
    assert_int_equal(cw_store_location_fetched(f->s, a.id, "one", &same, &failures, &d), CW_OK);
    assert_int_equal(failures, 0);
    assert_int_equal(cw_store_location_get(f->s, a.id, true, &got, &d), CW_OK);
    assert_string_equal(got.content, "kind: Component");
    assert_null(got.error);
    cw_location_free(&got);
    /* asked for a refresh: due at once */
    assert_int_equal(cw_store_location_due(f->s, a.id, &d), CW_OK);
    assert_int_equal(cw_store_location_claim(other, "two", 200200, 60000, 10, &ids2, &d), CW_OK);
    assert_int_equal(json_array_size(ids2), 1);
    json_decref(ids2);
    json_decref(ids1);
    cw_store_close(other);

    cw_location *all = NULL;
    size_t n = 0;
    assert_int_equal(cw_store_location_list(f->s, &all, &n, &d), CW_OK);
    assert_int_equal(n, 2);
    assert_string_equal(all[1].type, "file");
    cw_locations_free(all, n);
    assert_int_equal(cw_store_location_find(f->s, "file", "/srv/catalog/x.yaml", &got, &d), CW_OK);
    assert_string_equal(got.origin, "cli");
    cw_location_free(&got);
    assert_int_equal(cw_store_location_get(f->s, "no-such", false, &got, &d), CW_ERR_NOT_FOUND);
    cw_location_free(&a);
}

static void test_location_entities(void **state)
{
    fx_store *f = *state;
    cw_diag d = {""};
    cw_location a, b;
    assert_int_equal(cw_store_location_add(f->s, "url", "https://h.example/a", "api", 1, &a, NULL,
                                           &d), CW_OK);
    assert_int_equal(cw_store_location_add(f->s, "url", "https://h.example/b", "api", 2, &b, NULL,
                                           &d), CW_OK);
    json_t *keys = json_pack("[s, s, s]", "component:default/x", "component:default/y",
                             "group:default/t");
    json_t *gone = NULL;
    assert_int_equal(cw_store_location_entities_set(f->s, a.id, keys, &gone, &d), CW_OK);
    assert_int_equal(json_array_size(gone), 0);
    json_decref(gone);
    json_decref(keys);
    keys = json_pack("[s]", "component:default/y");
    assert_int_equal(cw_store_location_entities_set(f->s, b.id, keys, &gone, &d), CW_OK);
    json_decref(gone);
    json_decref(keys);
    /* a stops providing x and y: x is an orphan, y still comes from b */
    keys = json_pack("[s]", "group:default/t");
    assert_int_equal(cw_store_location_entities_set(f->s, a.id, keys, &gone, &d), CW_OK);
    assert_int_equal(json_array_size(gone), 1);
    assert_string_equal(str_at(gone, 0), "component:default/x");
    json_decref(gone);
    json_decref(keys);
    json_t *ids = NULL;
    assert_int_equal(cw_store_location_of_entity(f->s, "component:default/y", &ids, &d), CW_OK);
    assert_int_equal(json_array_size(ids), 1);
    assert_string_equal(str_at(ids, 0), b.id);
    json_decref(ids);
    /* deleting b orphans y; deleting it again is not found */
    json_t *orphans = NULL;
    assert_int_equal(cw_store_location_delete(f->s, b.id, &orphans, &d), CW_OK);
    assert_int_equal(json_array_size(orphans), 1);
    assert_string_equal(str_at(orphans, 0), "component:default/y");
    json_decref(orphans);
    assert_int_equal(cw_store_location_delete(f->s, b.id, NULL, &d), CW_ERR_NOT_FOUND);
    keys = json_array();
    assert_int_equal(cw_store_location_entities_set(f->s, b.id, keys, NULL, &d), CW_ERR_NOT_FOUND);
    json_decref(keys);
    cw_location_free(&a);
    cw_location_free(&b);
}

#define T(fn) FX_STORE_TEST(fn)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_receivers),
        T(test_deliveries),
        T(test_locations_fetch_and_claims),
        T(test_location_entities),
    };
    return fx_run_backends("store ingest", tests, FX_LEN(tests));
}
