/*
 * test_store_events.c — the events domain of store.h as every backend must
 * implement it: idempotent intake with duplicate counts, durability, group
 * commit under concurrency (a failing request does not fail the others),
 * listing with filters and keyset paging, linking events to Components with
 * re-linking when the catalog changes, unmatched keys, and the delivery
 * insights' inputs per scope. Each test gets a fresh database from the
 * backend's factory (fixtures.h): SQLite always, PostgreSQL when
 * CONWAY_TEST_PG_URL is set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "events/events.h"
#include "fixtures.h"
#include "insights/delivery.h"
#include "insights/dora.h"
#include "store/store.h"
#include "util/timeutil.h"

/* ---- fixture ------------------------------------------------------------------------------ */

/* SQL of a trigger that makes inserting an event with source 'poison' fail,
 * for the backend's raw_exec; NULL when the backend cannot. */
static const char *poison_sql(const fx_backend *b)
{
    if (!strcmp(b->name, "sqlite"))
        return "CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.source = 'poison'"
               " BEGIN SELECT RAISE(ABORT, 'poisoned event'); END";
    if (!strcmp(b->name, "postgres"))
        return "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
               " IF NEW.source = 'poison' THEN RAISE EXCEPTION 'poisoned event'; END IF;"
               " RETURN NEW; END $$;"
               "CREATE TRIGGER poison BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION "
               "poison()";
    return NULL;
}

/* ---- building events and entities --------------------------------------------------------- */

#define T0 1700000000000LL /* 2023-11-14T22:13:20Z */
#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL

typedef struct {
    cw_event items[256];
    size_t n;
} evvec;

static void evvec_free(evvec *v)
{
    for (size_t i = 0; i < v->n; i++)
        cw_event_free(&v->items[i]);
    v->n = 0;
}

/* Decodes a CDEvent built from the parts (content and custom stolen). */
static void add_event(evvec *v, const char *source, const char *id, const char *type,
                      int64_t t, const char *subject, json_t *content, json_t *custom)
{
    char ts[32];
    cw_time_format_ms(t, ts);
    json_t *j = json_pack("{s:{s:s, s:s, s:s, s:s, s:s}, s:{s:s, s:o}}", "context",
                          "specversion", "0.5.1", "id", id, "source", source, "type", type,
                          "timestamp", ts, "subject", "id", subject, "content",
                          content ? content : json_object());
    assert_non_null(j);
    if (custom)
        json_object_set_new(j, "customData", custom);
    assert_true(v->n < sizeof v->items / sizeof v->items[0]);
    cw_diag d = {""};
    cw_err err = cw_cdevent_decode(j, &v->items[v->n], &d);
    if (err)
        fail_msg("decode %s: %s", id, d.msg);
    json_decref(j);
    v->n++;
}

static void deployed(evvec *v, const char *id, const char *pred, int64_t t, const char *svc,
                     const char *env, const char *artifact, json_t *custom)
{
    char type[80];
    snprintf(type, sizeof type, "dev.cdevents.service.%s.0.3.0", pred);
    add_event(v, "/deploy", id, type, t, svc,
              json_pack("{s:{s:s}, s:s}", "environment", "id", env, "artifactId", artifact),
              custom);
}

static void change(evvec *v, const char *id, const char *pred, int64_t t, const char *pr,
                   const char *repo)
{
    char type[80];
    snprintf(type, sizeof type, "dev.cdevents.change.%s.%s", pred,
             !strcmp(pred, "created") ? "0.4.0" : "0.3.0");
    add_event(v, "/scm", id, type, t, pr,
              json_pack("{s:{s:s, s:s}}", "repository", "id", repo, "source",
                        "https://scm.example"),
              NULL);
}

static void incident(evvec *v, const char *id, const char *pred, int64_t t, const char *inc,
                     const char *svc, const char *artifact)
{
    char type[80];
    snprintf(type, sizeof type, "dev.cdevents.incident.%s.0.3.0", pred);
    json_t *c = json_pack("{s:{s:s}}", "environment", "id", "prod");
    if (svc)
        json_object_set_new(c, "service", json_pack("{s:s}", "id", svc));
    if (artifact)
        json_object_set_new(c, "artifactId", json_string(artifact));
    if (!strcmp(pred, "reported"))
        json_object_set_new(c, "ticketURI", json_string("https://tickets.example/1"));
    add_event(v, "/monitoring", id, type, t, inc, c, NULL);
}

static cw_event_put_result put_events(cw_store *s, evvec *v)
{
    cw_event_put_result r;
    cw_diag d = {""};
    cw_err err = cw_store_events_put(s, v->items, v->n, &r, &d);
    if (err)
        fail_msg("events put: %s: %s", cw_err_name(err), d.msg);
    return r;
}

/* Puts the events and empties v. */
static void put_all(cw_store *s, evvec *v)
{
    put_events(s, v);
    evvec_free(v);
}

/* The unmatched keys, at most limit (owned: cw_unmatched_keys_free). */
static cw_unmatched_key *unmatched(cw_store *s, size_t limit, size_t *n)
{
    cw_unmatched_key *keys = NULL;
    cw_diag d = {""};
    cw_err err = cw_store_events_unmatched_keys(s, limit, &keys, n, &d);
    if (err)
        fail_msg("unmatched keys: %s: %s", cw_err_name(err), d.msg);
    return keys;
}

/* A Component; annotations is "k=v;k=v" or NULL. */
static void put_component(cw_store *s, const char *name, const char *owner, const char *system,
                          const char *annotations)
{
    json_t *md = json_pack("{s:s}", "name", name);
    if (annotations) {
        json_t *a = json_object();
        char buf[512];
        snprintf(buf, sizeof buf, "%s", annotations);
        for (char *p = buf, *next; p && *p; p = next) {
            next = strchr(p, ';');
            if (next)
                *next++ = '\0';
            char *eq = strchr(p, '=');
            assert_non_null(eq);
            *eq = '\0';
            json_object_set_new(a, p, json_string(eq + 1));
        }
        json_object_set_new(md, "annotations", a);
    }
    json_t *spec = json_pack("{s:s, s:s, s:s}", "type", "service", "lifecycle", "production",
                             "owner", owner);
    if (system)
        json_object_set_new(spec, "system", json_string(system));
    json_t *e = json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "backstage.io/v1alpha1", "kind",
                          "Component", "metadata", md, "spec", spec);
    cw_diag d = {""};
    cw_put_result r;
    cw_err err = cw_entity_validate(e, &d);
    if (!err)
        err = cw_store_entity_put(s, e, NULL, &r, &d);
    if (err)
        fail_msg("put %s: %s", name, d.msg);
    json_decref(e);
}

static void put_kind(cw_store *s, const char *kind, const char *name)
{
    json_t *e = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "backstage.io/v1alpha1",
                          "kind", kind, "metadata", "name", name, "spec", "owner", "team-a");
    if (!strcmp(kind, "Group"))
        json_object_set_new(e, "spec", json_pack("{s:s, s:[]}", "type", "team", "children"));
    cw_diag d = {""};
    cw_put_result r;
    cw_err err = cw_entity_validate(e, &d);
    if (!err)
        err = cw_store_entity_put(s, e, NULL, &r, &d);
    if (err)
        fail_msg("put %s %s: %s", kind, name, d.msg);
    json_decref(e);
}

static cw_scope scope(const char *text)
{
    cw_scope sc;
    cw_diag d = {""};
    if (cw_scope_parse(text, &sc, &d))
        fail_msg("scope %s: %s", text, d.msg);
    return sc;
}

static cw_event_query all_query(size_t limit)
{
    cw_event_query q = {.from_ms = INT64_MIN, .to_ms = INT64_MAX, .limit = limit};
    return q;
}

static cw_event_list list(cw_store *s, const cw_event_query *q)
{
    cw_event_list l;
    cw_diag d = {""};
    cw_err err = cw_store_events_query(s, q, &l, &d);
    if (err)
        fail_msg("events query: %s: %s", cw_err_name(err), d.msg);
    return l;
}

static size_t count_events(cw_store *s)
{
    cw_event_query q = all_query(100000);
    cw_event_list l = list(s, &q);
    size_t n = l.len;
    cw_event_list_free(&l);
    return n;
}

/* The component ref an event (by id) is linked to, "" when none. */
static void component_of(cw_store *s, const char *id, char out[CW_REF_MAX])
{
    cw_event_query q = all_query(100000);
    cw_event_list l = list(s, &q);
    out[0] = '\0';
    bool found = false;
    for (size_t i = 0; i < l.len; i++)
        if (!strcmp(l.items[i].id, id)) {
            found = true;
            snprintf(out, CW_REF_MAX, "%s", l.items[i].component_ref ? l.items[i].component_ref : "");
        }
    cw_event_list_free(&l);
    if (!found)
        fail_msg("event %s not stored", id);
}

/* ---- intake ------------------------------------------------------------------------------------ */

/* A copy of v with every object's members in reverse order. */
static json_t *reversed(const json_t *v)
{
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        const json_t *x;
        json_array_foreach(v, i, x) json_array_append_new(a, reversed(x));
        return a;
    }
    if (!json_is_object(v))
        return json_deep_copy(v);
    const char *keys[64];
    size_t n = 0;
    const char *k;
    const json_t *x;
    json_object_foreach((json_t *)v, k, x) {
        assert_true(n < 64);
        keys[n++] = k;
    }
    json_t *o = json_object();
    while (n--)
        json_object_set_new(o, keys[n], reversed(json_object_get(v, keys[n])));
    return o;
}

static void test_put_counts_duplicates(void **state)
{
    fx_store *f = *state;
    evvec v = {0};
    deployed(&v, "e1", "deployed", T0, "svc", "prod", "pkg:oci/svc@sha256%3Aa1", NULL);
    change(&v, "e2", "merged", T0 + 1, "pr-1", "org/svc");
    incident(&v, "e3", "detected", T0 + 2, "INC-1", "svc", NULL);
    cw_event_put_result r = put_events(f->s, &v);
    assert_int_equal(r.accepted, 3);
    assert_int_equal(r.duplicates, 0);

    /* a re-delivery plus one new event */
    change(&v, "e4", "created", T0 - DAY_MS, "pr-1", "org/svc");
    r = put_events(f->s, &v);
    assert_int_equal(r.accepted, 1);
    assert_int_equal(r.duplicates, 3);
    evvec_free(&v);

    /* the same (source, id) twice in one request: the second is a duplicate;
     * the same id from another source is another event */
    change(&v, "e5", "merged", T0, "pr-2", "org/svc");
    change(&v, "e5", "merged", T0, "pr-2", "org/svc");
    add_event(&v, "/other-source", "e5", "dev.cdevents.change.merged.0.3.0", T0, "pr-2",
              json_pack("{s:{s:s}}", "repository", "id", "org/svc"), NULL);
    r = put_events(f->s, &v);
    assert_int_equal(r.accepted, 2);
    assert_int_equal(r.duplicates, 1);
    evvec_free(&v);

    /* nothing to store is fine */
    cw_diag d = {""};
    assert_int_equal(cw_store_events_put(f->s, NULL, 0, &r, &d), CW_OK);
    assert_int_equal(r.accepted + r.duplicates + r.conflicts, 0);
    assert_int_equal(count_events(f->s), 6);

    /* issue #10: a known (source, id) with another body is a conflict, not
     * a silent duplicate; the first stays stored. The same value with its
     * members in another order is the same event. */
    deployed(&v, "e1", "deployed", T0, "svc", "prod", "pkg:oci/svc@sha256%3Aforged", NULL);
    r = put_events(f->s, &v);
    assert_int_equal(r.accepted, 0);
    assert_int_equal(r.duplicates, 0);
    assert_int_equal(r.conflicts, 1);
    evvec_free(&v);
    deployed(&v, "e1", "deployed", T0, "svc", "prod", "pkg:oci/svc@sha256%3Aa1", NULL);
    json_t *j = reversed(v.items[0].raw);
    evvec_free(&v);
    assert_int_equal(cw_cdevent_decode(j, &v.items[0], &d), CW_OK);
    json_decref(j);
    v.n = 1;
    r = put_events(f->s, &v);
    evvec_free(&v);
    assert_int_equal(r.duplicates, 1);
    assert_int_equal(r.conflicts, 0);
    /* within one request: the first is stored, the second conflicts */
    change(&v, "e6", "merged", T0, "pr-6", "org/svc");
    change(&v, "e6", "merged", T0, "pr-6", "org/other");
    r = put_events(f->s, &v);
    assert_int_equal(r.accepted, 1);
    assert_int_equal(r.conflicts, 1);
    evvec_free(&v);
    assert_int_equal(count_events(f->s), 7);
    cw_event_query q = all_query(100);
    cw_event_list l = list(f->s, &q);
    for (size_t i = 0; i < l.len; i++) {
        if (!strcmp(l.items[i].id, "e1"))
            assert_non_null(strstr(l.items[i].body, "sha256%3Aa1"));
        if (!strcmp(l.items[i].id, "e6"))
            assert_non_null(strstr(l.items[i].body, "org/svc"));
    }
    cw_event_list_free(&l);
}

static void test_stored_event_round_trips(void **state)
{
    fx_store *f = *state;
    evvec v = {0};
    json_t *raw = json_pack(
        "{s:{s:s, s:s, s:s, s:s, s:s, s:s}, s:{s:s, s:{s:{s:s}, s:s}}, s:{s:[s]}}", "context",
        "specversion", "0.5.1", "id", "e1", "source", "/deploy", "type",
        "dev.cdevents.service.deployed.0.3.0", "timestamp", "2023-11-14T23:13:20.5+01:00",
        "chainId", "chain-1", "subject", "id", "svc", "content", "environment", "id", "prod-eu",
        "artifactId", "pkg:oci/svc@sha256%3Aa1", "customData", "changes", "pr-1");
    cw_diag d = {""};
    assert_int_equal(cw_cdevent_decode(raw, &v.items[0], &d), CW_OK);
    v.n = 1;
    char *expected = json_dumps(raw, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(raw);
    put_all(f->s, &v);

    cw_event_query q = all_query(10);
    cw_event_list l = list(f->s, &q);
    assert_int_equal(l.len, 1);
    cw_stored_event *e = &l.items[0];
    assert_string_equal(e->source, "/deploy");
    assert_string_equal(e->id, "e1");
    assert_string_equal(e->type, "dev.cdevents.service.deployed.0.3.0");
    assert_string_equal(e->subject_id, "svc");
    assert_int_equal(e->time_ms, T0 + 500);
    assert_string_equal(e->chain_id, "chain-1");
    assert_string_equal(e->environment, "prod-eu");
    assert_string_equal(e->artifact_id, "pkg:oci/svc@sha256%3Aa1");
    assert_string_equal(e->link, "service");
    assert_string_equal(e->link_value, "svc");
    assert_null(e->component_ref);
    assert_true(e->received_ms > T0);
    json_t *body = json_loads(e->body, 0, NULL);
    assert_non_null(body);
    char *got = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(got, expected);
    free(got);
    free(expected);
    json_decref(body);
    cw_event_list_free(&l);
}

static void test_events_survive_reopen(void **state)
{
    fx_store *f = *state;
    evvec v = {0};
    for (int i = 0; i < 20; i++) {
        char id[16];
        snprintf(id, sizeof id, "e%d", i);
        change(&v, id, "merged", T0 + i, "pr", "org/repo");
    }
    put_events(f->s, &v);
    cw_store_close(f->s);
    f->s = fx_store_open(fx_store_url(f));
    assert_int_equal(count_events(f->s), 20);
    cw_event_put_result r = put_events(f->s, &v);
    assert_int_equal(r.duplicates, 20);
    evvec_free(&v);
}

/* ---- group commit -------------------------------------------------------------------------------- */

typedef struct {
    cw_store *s;
    int id, n;
    bool poison;
    size_t accepted, duplicates;
    int errors;
    char msg[600];
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < w->n; i++) {
        evvec v = {0};
        char id[32];
        snprintf(id, sizeof id, "w%d-%d", w->id, i);
        change(&v, id, "merged", T0 + i, id, "org/repo");
        if (w->poison) {
            /* a good event, then one the database refuses */
            snprintf(id, sizeof id, "w%d-%d-bad", w->id, i);
            add_event(&v, "poison", id, "dev.cdevents.change.merged.0.3.0", T0, id,
                      json_pack("{s:{s:s}}", "repository", "id", "org/repo"), NULL);
        }
        cw_event_put_result r;
        cw_diag d = {""};
        cw_err err = cw_store_events_put(w->s, v.items, v.n, &r, &d);
        if (err) {
            w->errors++;
            snprintf(w->msg, sizeof w->msg, "%s", d.msg);
        } else {
            w->accepted += r.accepted;
            w->duplicates += r.duplicates;
        }
        evvec_free(&v);
    }
    return NULL;
}

static void test_concurrent_puts_share_commits(void **state)
{
    fx_store *f = *state;
    enum { NW = 12, PER = 40 };
    worker ws[NW];
    pthread_t th[NW];
    memset(ws, 0, sizeof ws);
    for (int i = 0; i < NW; i++) {
        ws[i] = (worker){.s = f->s, .id = i, .n = PER};
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &ws[i]), 0);
    }
    for (int i = 0; i < NW; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < NW; i++) {
        if (ws[i].errors)
            fail_msg("worker %d: %s", i, ws[i].msg);
        assert_int_equal(ws[i].accepted, PER);
        assert_int_equal(ws[i].duplicates, 0);
    }
    /* acknowledged means committed: a fresh handle sees every event */
    cw_store *other = fx_store_open(fx_store_url(f));
    assert_int_equal(count_events(other), NW * PER);
    cw_store_close(other);
}

static void test_failing_request_does_not_fail_others(void **state)
{
    fx_store *f = *state;
    const char *poison = poison_sql(f->b);
    if (!poison)
        skip();
    f->b->raw_exec(f->ctx, poison);
    enum { NW = 8, PER = 30 };
    worker ws[NW];
    pthread_t th[NW];
    memset(ws, 0, sizeof ws);
    for (int i = 0; i < NW; i++) {
        ws[i] = (worker){.s = f->s, .id = i, .n = PER, .poison = i == 0};
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &ws[i]), 0);
    }
    for (int i = 0; i < NW; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(ws[0].errors, PER);
    assert_int_equal(ws[0].accepted, 0);
    assert_non_null(strstr(ws[0].msg, "events[1]"));
    assert_non_null(strstr(ws[0].msg, "poisoned event"));
    for (int i = 1; i < NW; i++) {
        if (ws[i].errors)
            fail_msg("worker %d failed with the poisoned one: %s", i, ws[i].msg);
        assert_int_equal(ws[i].accepted, PER);
    }
    /* nothing of a failed request is stored, not even its good first event */
    assert_int_equal(count_events(f->s), (NW - 1) * PER);
    cw_event_query q = all_query(100000);
    cw_event_list l = list(f->s, &q);
    for (size_t i = 0; i < l.len; i++)
        assert_null(strstr(l.items[i].id, "w0-"));
    cw_event_list_free(&l);
}

/* ---- listing ----------------------------------------------------------------------------------------- */

static void fill_listing(cw_store *s)
{
    put_kind(s, "Group", "team-a");
    put_kind(s, "System", "shop");
    put_component(s, "cart", "team-a", "shop", NULL);
    put_component(s, "billing", "team-b", NULL, "github.com/project-slug=org/billing");
    evvec v = {0};
    char id[32];
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof id, "d%d", i);
        deployed(&v, id, i % 2 ? "upgraded" : "deployed", T0 + i * HOUR_MS,
                 i % 3 ? "cart" : "billing", i % 4 ? "prod" : "staging", "pkg:oci/x@1", NULL);
        snprintf(id, sizeof id, "c%d", i);
        change(&v, id, "merged", T0 + i * HOUR_MS, id, i % 2 ? "ORG/Billing" : "org/nothing");
    }
    /* same time as d9: the arrival order breaks the tie */
    deployed(&v, "tie", "deployed", T0 + 9 * HOUR_MS, "cart", "prod", "pkg:oci/x@1", NULL);
    put_all(s, &v);
}

static void test_list_newest_first_and_paging(void **state)
{
    fx_store *f = *state;
    fill_listing(f->s);
    cw_event_query q = all_query(100);
    cw_event_list l = list(f->s, &q);
    assert_int_equal(l.len, 21);
    for (size_t i = 1; i < l.len; i++) {
        cw_stored_event *a = &l.items[i - 1], *b = &l.items[i];
        assert_true(a->time_ms > b->time_ms || (a->time_ms == b->time_ms && a->seq > b->seq));
    }
    assert_string_equal(l.items[0].id, "tie");
    /* pages of 4 walk the same order without gaps or repeats */
    size_t seen = 0;
    cw_event_query p = all_query(4);
    for (;;) {
        cw_event_list page = list(f->s, &p);
        for (size_t i = 0; i < page.len; i++, seen++)
            assert_int_equal(page.items[i].seq, l.items[seen].seq);
        if (page.len < 4) {
            cw_event_list_free(&page);
            break;
        }
        p.after = true;
        p.after_time_ms = page.items[page.len - 1].time_ms;
        p.after_seq = page.items[page.len - 1].seq;
        cw_event_list_free(&page);
    }
    assert_int_equal(seen, l.len);
    cw_event_list_free(&l);
}

static size_t count_query(cw_store *s, cw_event_query *q)
{
    cw_event_list l = list(s, q);
    size_t n = l.len;
    cw_event_list_free(&l);
    return n;
}

static void test_list_filters(void **state)
{
    fx_store *f = *state;
    fill_listing(f->s);
    cw_event_query q = all_query(100);
    q.type_prefix = "dev.cdevents.service";
    assert_int_equal(count_query(f->s, &q), 11);
    q.type_prefix = "dev.cdevents.service.upgraded.";
    assert_int_equal(count_query(f->s, &q), 5);
    q.type_prefix = "dev.cdevents.serv"; /* a plain prefix of the text */
    assert_int_equal(count_query(f->s, &q), 11);
    q.type_prefix = "dev.cdevents.ticket";
    assert_int_equal(count_query(f->s, &q), 0);

    q = all_query(100);
    q.environment = "staging";
    assert_int_equal(count_query(f->s, &q), 3); /* d0, d4, d8 */
    q.environment = "Staging";                  /* ids compare exactly */
    assert_int_equal(count_query(f->s, &q), 0);

    q = all_query(100);
    q.from_ms = T0 + 2 * HOUR_MS;
    q.to_ms = T0 + 4 * HOUR_MS; /* [from, to): hours 2 and 3 */
    assert_int_equal(count_query(f->s, &q), 4);

    cw_scope cart = scope("cart"), shop = scope("system:shop"), team = scope("group:team-a");
    cw_scope billing = scope("component:default/billing");
    q = all_query(100);
    q.scope = &cart; /* d1, d2, d4, d5, d7, d8 and tie */
    assert_int_equal(count_query(f->s, &q), 7);
    q.scope = &shop;
    assert_int_equal(count_query(f->s, &q), 7);
    q.scope = &team;
    assert_int_equal(count_query(f->s, &q), 7);
    q.scope = &billing; /* d0, d3, d6, d9 and the odd changes (slug, any case) */
    assert_int_equal(count_query(f->s, &q), 9);
    q.type_prefix = "dev.cdevents.change";
    q.environment = NULL;
    assert_int_equal(count_query(f->s, &q), 5);

    cw_scope ghost = scope("component:default/ghost");
    q = all_query(100);
    q.scope = &ghost;
    cw_event_list l;
    cw_diag d = {""};
    assert_int_equal(cw_store_events_query(f->s, &q, &l, &d), CW_ERR_NOT_FOUND);
    assert_non_null(strstr(d.msg, "component:default/ghost"));

    q = all_query(100);
    q.unmatched = true; /* the even changes name a repository nobody has */
    assert_int_equal(count_query(f->s, &q), 5);
}

static void test_scope_parse(void **state)
{
    (void)state;
    cw_scope sc;
    cw_diag d = {""};
    assert_int_equal(cw_scope_parse("org", &sc, &d), CW_OK);
    assert_int_equal(sc.kind, CW_SCOPE_ORG);
    assert_int_equal(cw_scope_parse("Cart", &sc, &d), CW_OK);
    assert_int_equal(sc.kind, CW_SCOPE_COMPONENT);
    assert_string_equal(sc.key, "component:default/cart");
    assert_int_equal(cw_scope_parse("system:prod/Shop", &sc, &d), CW_OK);
    assert_int_equal(sc.kind, CW_SCOPE_SYSTEM);
    assert_string_equal(sc.key, "system:prod/shop");
    assert_int_equal(cw_scope_parse("group:team-a", &sc, &d), CW_OK);
    assert_int_equal(sc.kind, CW_SCOPE_GROUP);
    assert_int_equal(cw_scope_parse("api:default/x", &sc, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "scope"));
    assert_int_equal(cw_scope_parse("", &sc, &d), CW_ERR_INVALID);
    assert_int_equal(cw_scope_parse("a:b:c/d/e", &sc, &d), CW_ERR_INVALID);
}

/* ---- linking ------------------------------------------------------------------------------------------ */

static void test_linking_rules_and_relinking(void **state)
{
    fx_store *f = *state;
    evvec v = {0};
    deployed(&v, "by-name", "deployed", T0, "Svc-A", "prod", "pkg:oci/a@1", NULL);
    deployed(&v, "by-segment", "deployed", T0, "eu-west-1/b-svc", "prod", "pkg:oci/b@1", NULL);
    deployed(&v, "by-annotation", "deployed", T0, "renamed-id", "prod", "pkg:oci/c@1", NULL);
    change(&v, "by-repo", "merged", T0, "pr-1", "GitHub.com/Org/Repo");
    change(&v, "by-slug", "merged", T0, "pr-2", "org/slugrepo");
    incident(&v, "by-incident", "detected", T0, "INC-1", "renamed-id", NULL);
    put_all(f->s, &v);

    /* events that arrive before their components are kept, unmatched */
    cw_diag d = {""};
    size_t nkeys;
    cw_unmatched_key *keys = unmatched(f->s, 100, &nkeys);
    assert_int_equal(nkeys, 5);
    assert_string_equal(keys[0].value, "renamed-id"); /* most events first */
    assert_string_equal(keys[0].link, "service");
    assert_int_equal(keys[0].events, 2);
    assert_int_equal(keys[0].last_ms, T0);
    cw_unmatched_keys_free(keys, nkeys);

    put_component(f->s, "svc-a", "team-a", NULL, NULL);
    put_component(f->s, "b-svc", "team-a", NULL, NULL);
    put_component(f->s, "c", "team-a", NULL, "conway.dev/service-id=renamed-id");
    put_component(f->s, "d", "team-a", NULL, "conway.dev/repository=github.com/org/repo");
    put_component(f->s, "e", "team-a", NULL, "github.com/project-slug=Org/SlugRepo");
    char ref[CW_REF_MAX];
    component_of(f->s, "by-name", ref);
    assert_string_equal(ref, "component:default/svc-a");
    component_of(f->s, "by-segment", ref);
    assert_string_equal(ref, "component:default/b-svc");
    component_of(f->s, "by-annotation", ref);
    assert_string_equal(ref, "component:default/c");
    component_of(f->s, "by-incident", ref);
    assert_string_equal(ref, "component:default/c");
    component_of(f->s, "by-repo", ref);
    assert_string_equal(ref, "component:default/d");
    component_of(f->s, "by-slug", ref);
    assert_string_equal(ref, "component:default/e");
    keys = unmatched(f->s, 100, &nkeys);
    assert_int_equal(nkeys, 0);
    cw_unmatched_keys_free(keys, nkeys);

    /* issue #10: a name equal to another component's service id does not
     * lose to the annotation any more: both claim the key, which then
     * links to neither (no team can take another's events by claiming its
     * key); on both backends */
    put_component(f->s, "renamed-id", "team-b", NULL, NULL);
    component_of(f->s, "by-annotation", ref);
    assert_string_equal(ref, "");
    component_of(f->s, "by-incident", ref);
    assert_string_equal(ref, "");
    keys = unmatched(f->s, 100, &nkeys);
    assert_int_equal(nkeys, 1);
    assert_string_equal(keys[0].value, "renamed-id");
    cw_unmatched_keys_free(keys, nkeys);
    /* and a second component with the same repository slug */
    put_component(f->s, "e2", "team-b", NULL, "conway.dev/repository=org/SLUGREPO");
    component_of(f->s, "by-slug", ref);
    assert_string_equal(ref, "");
    assert_int_equal(cw_store_entity_delete(f->s, "component", "default", "e2", NULL, &d),
                     CW_OK);
    component_of(f->s, "by-slug", ref);
    assert_string_equal(ref, "component:default/e");

    /* fixing an annotation moves events; deleting a component orphans them */
    put_component(f->s, "c", "team-a", NULL, "conway.dev/service-id=something-else");
    component_of(f->s, "by-annotation", ref);
    assert_string_equal(ref, "component:default/renamed-id");
    assert_int_equal(cw_store_entity_delete(f->s, "component", "default", "svc-a", NULL, &d),
                     CW_OK);
    component_of(f->s, "by-name", ref);
    assert_string_equal(ref, "");
    cw_event_query q = all_query(100);
    q.unmatched = true;
    cw_event_list l = list(f->s, &q);
    assert_int_equal(l.len, 1);
    assert_string_equal(l.items[0].id, "by-name");
    cw_event_list_free(&l);

    /* events of a new key are linked in the transaction that brings them */
    change(&v, "late", "merged", T0, "pr-9", "github.com/org/repo");
    put_all(f->s, &v);
    component_of(f->s, "late", ref);
    assert_string_equal(ref, "component:default/d");

    /* webhooks name a deployment by its repository (events/webhooks.h):
     * the repository annotations, GitLab's slug too, are ids a service
     * key matches */
    deployed(&v, "hook-deploy", "deployed", T0, "Org/SlugRepo", "prod", "abc", NULL);
    deployed(&v, "hook-gl-deploy", "deployed", T0, "grp/sub/basket", "prod", "abd", NULL);
    change(&v, "hook-gl-change", "merged", T0, "mr-1", "Grp/Sub/Basket");
    put_component(f->s, "slugrepo", "team-b", NULL, NULL); /* claims it by its last segment */
    put_component(f->s, "basket-svc", "team-a", NULL, "gitlab.com/project-slug=grp/sub/basket");
    put_all(f->s, &v);
    component_of(f->s, "hook-deploy", ref);
    assert_string_equal(ref, ""); /* two claim Org/SlugRepo: neither gets it */
    cw_diag dd = {""};
    assert_int_equal(cw_store_entity_delete(f->s, "component", "default", "slugrepo", NULL, &dd),
                     CW_OK);
    component_of(f->s, "hook-deploy", ref);
    assert_string_equal(ref, "component:default/e");
    component_of(f->s, "hook-gl-deploy", ref);
    assert_string_equal(ref, "component:default/basket-svc");
    component_of(f->s, "hook-gl-change", ref);
    assert_string_equal(ref, "component:default/basket-svc");
}

static void test_unmatched_keys_limit(void **state)
{
    fx_store *f = *state;
    evvec v = {0};
    char id[32], svc[32];
    for (int i = 0; i < 6; i++)
        for (int k = 0; k <= i; k++) {
            snprintf(id, sizeof id, "e%d-%d", i, k);
            snprintf(svc, sizeof svc, "svc-%d", i);
            deployed(&v, id, "deployed", T0 + k * MIN_MS, svc, "prod", "pkg:oci/x@1", NULL);
        }
    put_all(f->s, &v);
    size_t n;
    cw_unmatched_key *keys = unmatched(f->s, 3, &n);
    assert_int_equal(n, 3);
    assert_string_equal(keys[0].value, "svc-5");
    assert_int_equal(keys[0].events, 6);
    assert_int_equal(keys[0].last_ms, T0 + 5 * MIN_MS);
    assert_string_equal(keys[2].value, "svc-3");
    cw_unmatched_keys_free(keys, n);
}

/* ---- delivery inputs ----------------------------------------------------------------------------------- */

static void fill_delivery(cw_store *s)
{
    put_kind(s, "System", "shop");
    put_kind(s, "Group", "team-a");
    put_kind(s, "Group", "team-b");
    put_component(s, "cart", "team-a", "shop",
                  "conway.dev/repository=org/cart;github.com/project-slug=acme/cart-slug");
    put_component(s, "billing", "team-b", NULL, NULL);
    put_component(s, "api", "group:default/team-a", "shop", NULL);
    evvec v = {0};
    deployed(&v, "d1", "deployed", T0, "cart", "prod", "pkg:oci/cart@1",
             json_pack("{s:[s]}", "changes", "pr-1"));
    deployed(&v, "d1s", "deployed", T0 - HOUR_MS, "cart", "staging", "pkg:oci/cart@1", NULL);
    deployed(&v, "d2", "upgraded", T0 + DAY_MS, "cart", "prod", "pkg:oci/cart@2", NULL);
    deployed(&v, "r1", "rolledback", T0 + DAY_MS + HOUR_MS, "cart", "prod", "pkg:oci/cart@1",
             NULL);
    deployed(&v, "r1s", "rolledback", T0 + DAY_MS, "cart", "staging", "pkg:oci/cart@1", NULL);
    deployed(&v, "b1", "deployed", T0 + 2 * HOUR_MS, "billing", "production", "pkg:oci/b@1",
             NULL);
    /* a newer version of a known type is stored, not interpreted */
    add_event(&v, "/deploy", "future", "dev.cdevents.service.deployed.0.9.0", T0, "cart",
              json_pack("{s:{s:s}}", "environment", "id", "prod"), NULL);
    change(&v, "c1", "created", T0 - 3 * DAY_MS, "pr-1", "org/cart");
    change(&v, "c2", "merged", T0 - DAY_MS, "pr-1", "org/cart");
    change(&v, "c3", "merged", T0 + HOUR_MS, "pr-2", "ORG/CART");
    change(&v, "c4", "merged", T0, "pr-3", "org/unknown");
    /* one change reported under both of cart's repository keys */
    change(&v, "c5", "created", T0 - 2 * DAY_MS, "pr-5", "org/cart");
    change(&v, "c6", "merged", T0 + 2 * HOUR_MS, "pr-5", "acme/cart-slug");
    incident(&v, "i1", "detected", T0 + 2 * HOUR_MS, "INC-1", "cart", "pkg:oci/cart@1");
    incident(&v, "i2", "resolved", T0 + 3 * HOUR_MS, "INC-1", NULL, NULL);
    incident(&v, "i3", "reported", T0 + 2 * HOUR_MS + MIN_MS, "INC-1", "cart", NULL);
    incident(&v, "i4", "detected", T0 + 5 * HOUR_MS, "INC-2", "legacy", NULL);
    put_all(s, &v);
}

/* The store's rows streamed into the delivery insight's collector, as the
 * HTTP layer connects them. */
static cw_err delivery_load(cw_store *s, const cw_delivery_query *q, cw_delivery_data *out,
                            cw_diag *d)
{
    cw_delivery_collector *c = NULL;
    memset(out, 0, sizeof *out);
    cw_err err = cw_delivery_collector_new(q, &c, d);
    if (!err)
        err = cw_store_delivery_scan(s, q, cw_delivery_collector_sink(), c, d);
    if (!err)
        err = cw_delivery_collector_finish(c, out, d);
    cw_delivery_collector_free(c);
    return err;
}

static cw_delivery_data load(cw_store *s, const char *scope_text, const char *pattern)
{
    cw_scope sc = scope(scope_text);
    cw_delivery_query q = {.scope = &sc, .production_env = pattern, .what = CW_DELIVERY_ALL};
    cw_delivery_data dd;
    cw_diag d = {""};
    cw_err err = delivery_load(s, &q, &dd, &d);
    if (err)
        fail_msg("delivery %s: %s: %s", scope_text, cw_err_name(err), d.msg);
    return dd;
}

static const cw_dora_deployment *dep_at(const cw_delivery_data *dd, int64_t t)
{
    for (size_t i = 0; i < dd->in.ndeployments; i++)
        if (dd->in.deployments[i].time_ms == t)
            return &dd->in.deployments[i];
    fail_msg("no deployment at %lld", (long long)t);
    return NULL;
}

static const cw_dora_change *change_named(const cw_delivery_data *dd, const char *id)
{
    for (size_t i = 0; i < dd->in.nchanges; i++)
        if (!strcmp(dd->in.changes[i].change_id, id))
            return &dd->in.changes[i];
    return NULL;
}

static void test_delivery_org(void **state)
{
    fx_store *f = *state;
    fill_delivery(f->s);
    cw_delivery_data dd = load(f->s, "org", NULL);
    assert_int_equal(dd.ncomponents, 3);
    assert_int_equal(dd.in.ncomponents, 3);
    /* sorted by ref, with owners */
    assert_string_equal(dd.component_refs[0], "component:default/api");
    assert_string_equal(dd.component_refs[1], "component:default/billing");
    assert_string_equal(dd.component_refs[2], "component:default/cart");
    assert_string_equal(dd.owner_refs[0], "group:default/team-a");
    assert_string_equal(dd.owner_refs[1], "group:default/team-b");

    /* production deployments only ("prod*": prod and production) */
    assert_int_equal(dd.in.ndeployments, 3);
    const cw_dora_deployment *d1 = dep_at(&dd, T0);
    assert_int_equal(d1->component, 2);
    assert_string_equal(d1->artifact_id, "pkg:oci/cart@1");
    assert_int_equal(d1->nchange_ids, 1);
    assert_string_equal(d1->change_ids[0], "pr-1");
    const cw_dora_deployment *d2 = dep_at(&dd, T0 + DAY_MS);
    assert_int_equal(d2->nchange_ids, 0);
    assert_null(d2->change_ids);
    assert_int_equal(dep_at(&dd, T0 + 2 * HOUR_MS)->component, 1);
    assert_int_equal(dd.in.nrollbacks, 1);
    assert_int_equal(dd.in.rollbacks[0].time_ms, T0 + DAY_MS + HOUR_MS);

    /* changes aggregated per (component, id) across link keys; unknown
     * repositories dropped */
    assert_int_equal(dd.in.nchanges, 3);
    const cw_dora_change *c5 = change_named(&dd, "pr-5");
    assert_non_null(c5);
    assert_int_equal(c5->created_ms, T0 - 2 * DAY_MS);
    assert_int_equal(c5->merged_ms, T0 + 2 * HOUR_MS);
    const cw_dora_change *c1 = change_named(&dd, "pr-1");
    assert_non_null(c1);
    assert_int_equal(c1->component, 2);
    assert_int_equal(c1->created_ms, T0 - 3 * DAY_MS);
    assert_int_equal(c1->merged_ms, T0 - DAY_MS);
    const cw_dora_change *c2 = change_named(&dd, "pr-2");
    assert_int_equal(c2->created_ms, 0);
    assert_int_equal(c2->merged_ms, T0 + HOUR_MS);

    /* incidents per subject id over all their events; org keeps unlinked */
    assert_int_equal(dd.in.nincidents, 2);
    const cw_dora_incident *i1 = NULL, *i2 = NULL;
    for (size_t i = 0; i < dd.in.nincidents; i++) {
        if (!strcmp(dd.in.incidents[i].incident_id, "INC-1"))
            i1 = &dd.in.incidents[i];
        else
            i2 = &dd.in.incidents[i];
    }
    assert_non_null(i1);
    assert_non_null(i2);
    assert_int_equal(i1->component, 2);
    assert_int_equal(i1->start_ms, T0 + 2 * HOUR_MS);
    assert_int_equal(i1->resolved_ms, T0 + 3 * HOUR_MS);
    assert_string_equal(i1->artifact_id, "pkg:oci/cart@1");
    assert_int_equal(i2->component, -1);
    assert_int_equal(i2->resolved_ms, 0);
    cw_delivery_data_free(&dd);

    /* the production pattern is applied when reading */
    dd = load(f->s, "org", "staging");
    assert_int_equal(dd.in.ndeployments, 1);
    assert_int_equal(dd.in.deployments[0].time_ms, T0 - HOUR_MS);
    assert_int_equal(dd.in.nrollbacks, 1);
    assert_int_equal(dd.in.rollbacks[0].time_ms, T0 + DAY_MS);
    cw_delivery_data_free(&dd);
}

static void test_delivery_scopes(void **state)
{
    fx_store *f = *state;
    fill_delivery(f->s);
    cw_delivery_data dd = load(f->s, "system:shop", NULL);
    assert_int_equal(dd.ncomponents, 2);
    assert_string_equal(dd.component_refs[0], "component:default/api");
    assert_string_equal(dd.component_refs[1], "component:default/cart");
    assert_int_equal(dd.in.ndeployments, 2);
    for (size_t i = 0; i < dd.in.ndeployments; i++)
        assert_int_equal(dd.in.deployments[i].component, 1);
    assert_int_equal(dd.in.nchanges, 3);
    assert_int_equal(dd.in.nincidents, 1); /* INC-2 names no component of it */
    assert_int_equal(dd.in.incidents[0].resolved_ms, T0 + 3 * HOUR_MS);
    cw_delivery_data_free(&dd);

    dd = load(f->s, "group:team-b", NULL);
    assert_int_equal(dd.ncomponents, 1);
    assert_int_equal(dd.in.ndeployments, 1);
    assert_int_equal(dd.in.deployments[0].component, 0);
    assert_int_equal(dd.in.nchanges + dd.in.nrollbacks + dd.in.nincidents, 0);
    cw_delivery_data_free(&dd);

    dd = load(f->s, "component:default/api", NULL);
    assert_int_equal(dd.ncomponents, 1);
    assert_int_equal(dd.in.ndeployments + dd.in.nchanges + dd.in.nincidents, 0);
    cw_delivery_data_free(&dd);

    cw_scope ghost = scope("system:nowhere");
    cw_delivery_query q = {.scope = &ghost, .what = CW_DELIVERY_ALL};
    cw_diag d = {""};
    assert_int_equal(delivery_load(f->s, &q, &dd, &d), CW_ERR_NOT_FOUND);
    q.scope = NULL;
    q.production_env = "\x01";
    assert_int_equal(delivery_load(f->s, &q, &dd, &d), CW_ERR_INVALID);
}

static void test_delivery_feeds_dora(void **state)
{
    fx_store *f = *state;
    fill_delivery(f->s);
    cw_delivery_data dd = load(f->s, "cart", NULL);
    cw_dora_params p = {.from_ms = T0 - DAY_MS, .to_ms = T0 + 2 * DAY_MS,
                        .failure_window_hours = 24};
    cw_dora_result r;
    cw_diag d = {""};
    assert_int_equal(cw_dora_compute(&dd.in, &p, &r, &d), CW_OK);
    /* d1 ships pr-1 (explicit): 3 days; d2 ships pr-2 (implicit): 23 h and
     * pr-5 (created under one key, merged under another): 3 days;
     * d1 failed (INC-1 names its artifact), d2 failed (rolled back) */
    assert_int_equal(r.deployments, 2);
    assert_int_equal(r.lead_time_count, 3);
    assert_true(r.lead_time_p50_s == 3 * 86400.0);
    assert_true(r.lead_time_p90_s == 3 * 86400.0);
    assert_int_equal(r.failed_deployments, 2);
    assert_int_equal(r.ttr_count, 1);
    assert_true(r.ttr_p50_s == 3600.0);
    cw_dora_result_free(&r);
    cw_delivery_data_free(&dd);
}

/* ---- main ------------------------------------------------------------------------------------------------- */

#define T(fn) FX_STORE_TEST(fn)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_put_counts_duplicates),
        T(test_stored_event_round_trips),
        T(test_events_survive_reopen),
        T(test_concurrent_puts_share_commits),
        T(test_failing_request_does_not_fail_others),
        T(test_list_newest_first_and_paging),
        T(test_list_filters),
        T(test_scope_parse),
        T(test_linking_rules_and_relinking),
        T(test_unmatched_keys_limit),
        T(test_delivery_org),
        T(test_delivery_scopes),
        T(test_delivery_feeds_dora),
    };
    return fx_run_backends("store events", tests, FX_LEN(tests));
}
