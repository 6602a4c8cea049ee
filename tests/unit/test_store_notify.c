/*
 * test_store_notify.c — the notification claims of store_notify.h on every
 * backend: an incident's opening and resolution each taken once, by
 * whichever of two store handles (two instances on one database) comes
 * first, and only then its deliveries queued on the heartbeat queue; the
 * resolution only after the opening; incidents from before migration 15
 * never news; notify_once keys taken once by two handles racing in two
 * threads (PostgreSQL) or in turn (SQLite).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/events.h"
#include "fixtures.h"
#include "store/store_incidents.h"
#include "store/store_notify.h"
#include "util/timeutil.h"

#define T0 1780000000000LL

static void incident_event(cw_store *s, const char *id, const char *pred, int64_t t,
                           const char *subject)
{
    char type[80], ts[32];
    snprintf(type, sizeof type, "dev.cdevents.incident.%s.0.3.0", pred);
    cw_time_format_ms(t, ts);
    json_t *j = json_pack("{s:{s:s, s:s, s:s, s:s, s:s}, s:{s:s, s:{s:{s:s}}}}", "context",
                          "specversion", "0.5.1", "id", id, "source", "/pager", "type", type,
                          "timestamp", ts, "subject", "id", subject, "content", "environment",
                          "id", "prod");
    assert_non_null(j);
    cw_event ev;
    cw_diag d = {{0}};
    if (cw_cdevent_decode(j, &ev, &d))
        fail_msg("decode %s: %s", id, d.msg);
    json_decref(j);
    cw_event_put_result r;
    if (cw_store_events_put(s, &ev, 1, &r, &d))
        fail_msg("put %s: %s", id, d.msg);
    cw_event_free(&ev);
}

static cw_incident_news *news(cw_store *s, size_t *n)
{
    cw_incident_news *x = NULL;
    cw_diag d = {{0}};
    if (cw_store_incident_news(s, 100, &x, n, &d))
        fail_msg("news: %s", d.msg);
    return x;
}

/* The deliveries queued under key. */
static size_t queued(cw_store *s, const char *key)
{
    cw_hb_delivery *dl = NULL;
    size_t n = 0, k = 0;
    cw_diag d = {{0}};
    if (cw_store_hb_notify_list(s, -1, 1000, &dl, &n, &d))
        fail_msg("list: %s", d.msg);
    for (size_t i = 0; i < n; i++)
        k += !strcmp(dl[i].key, key) && dl[i].flip_id == 0 && !strcmp(dl[i].body, "{\"x\":1}");
    cw_hb_deliveries_free(dl, n);
    return k;
}

static void test_incident_once(void **state)
{
    fx_store *f = *state;
    cw_store *s = f->s, *other = fx_store_open(fx_store_url(f));
    cw_diag d = {{0}};
    size_t n = 0;
    cw_incident_news *x = news(s, &n);
    assert_int_equal(n, 0);
    free(x);

    incident_event(s, "e1", "detected", T0, "INC-1");
    x = news(other, &n);
    assert_int_equal(n, 1);
    assert_false(x[0].resolved);
    cw_hb_delivery_new dl[2] = {{"http://a.example/", "{\"x\":1}"},
                                {"http://b.example/", "{\"x\":1}"}};
    bool t1 = false, t2 = true;
    assert_int_equal(cw_store_incident_notify_take(s, &x[0], "incident:1:opened", dl, 2, T0,
                                                   &t1, &d), CW_OK);
    assert_int_equal(cw_store_incident_notify_take(other, &x[0], "incident:1:opened", dl, 2, T0,
                                                   &t2, &d), CW_OK);
    assert_true(t1);
    assert_false(t2);
    assert_int_equal(queued(s, "incident:1:opened"), 2);
    cw_incident_news early = {x[0].id, true};
    free(x);
    x = news(s, &n);
    assert_int_equal(n, 0); /* open and not resolved: no news */
    free(x);

    /* a second incident: its resolution is no news before its opening */
    incident_event(s, "e2", "detected", T0, "INC-2");
    incident_event(s, "e3", "resolved", T0 + 60000, "INC-2");
    x = news(s, &n);
    assert_int_equal(n, 1);
    assert_false(x[0].resolved);
    cw_incident_news r2 = {x[0].id, true};
    assert_int_equal(cw_store_incident_notify_take(s, &r2, "incident:2:resolved", dl, 1, T0,
                                                   &t1, &d), CW_OK);
    assert_false(t1);
    assert_int_equal(cw_store_incident_notify_take(s, &x[0], "incident:2:opened", NULL, 0, T0,
                                                   &t1, &d), CW_OK);
    assert_true(t1);
    free(x);
    x = news(other, &n);
    assert_int_equal(n, 1);
    assert_true(x[0].resolved);
    assert_int_equal(x[0].id, r2.id);
    assert_int_equal(cw_store_incident_notify_take(other, &x[0], "incident:2:resolved", dl, 1,
                                                   T0, &t1, &d), CW_OK);
    assert_int_equal(cw_store_incident_notify_take(s, &x[0], "incident:2:resolved", dl, 1, T0,
                                                   &t2, &d), CW_OK);
    assert_true(t1);
    assert_false(t2);
    assert_int_equal(queued(s, "incident:2:resolved"), 1);
    free(x);
    x = news(s, &n);
    assert_int_equal(n, 0);
    free(x);
    /* the first incident is not resolved: nothing to take yet */
    assert_int_equal(cw_store_incident_notify_take(s, &early, "incident:1:resolved", dl, 1, T0,
                                                   &t1, &d), CW_OK);
    assert_true(t1); /* the caller decides when; the claim is once */
    assert_int_equal(cw_store_incident_notify_take(s, &early, "incident:1:resolved", dl, 1, T0,
                                                   &t2, &d), CW_OK);
    assert_false(t2);
    assert_int_equal(cw_store_incident_notify_take(s, &(cw_incident_news){999999, false}, "k",
                                                   NULL, 0, T0, &t1, &d), CW_OK);
    assert_false(t1); /* no such incident */
    assert_int_equal(cw_store_incident_notify_take(s, &early, "", NULL, 0, T0, &t1, &d),
                     CW_ERR_INVALID);
    cw_store_close(other);
}

typedef struct {
    cw_store *s;
    size_t taken;
} race_arg;

#define NKEYS 100

static void *racer(void *arg)
{
    race_arg *a = arg;
    cw_hb_delivery_new dl = {"http://r.example/", "{\"x\":1}"};
    for (int i = 0; i < NKEYS; i++) {
        char key[64];
        snprintf(key, sizeof key, "action-overdue:postmortem:default/pm#AI-%d@2026-01-01", i);
        bool taken = false;
        cw_diag d = {{0}};
        if (cw_store_notify_once_take(a->s, key, &dl, 1, T0, &taken, &d))
            fail_msg("take: %s", d.msg);
        a->taken += taken;
    }
    return NULL;
}

static void test_notify_once(void **state)
{
    fx_store *f = *state;
    cw_store *other = fx_store_open(fx_store_url(f));
    race_arg a = {f->s, 0}, b = {other, 0};
    if (!strcmp(cw_store_backend(f->s), "postgres")) {
        pthread_t ta, tb;
        pthread_create(&ta, NULL, racer, &a);
        pthread_create(&tb, NULL, racer, &b);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
    } else {
        racer(&a);
        racer(&b);
    }
    assert_int_equal(a.taken + b.taken, NKEYS);
    assert_int_equal(queued(f->s, "action-overdue:postmortem:default/pm#AI-7@2026-01-01"), 1);
    cw_store_close(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_STORE_TEST(test_incident_once),
        FX_STORE_TEST(test_notify_once),
    };
    return fx_run_backends("store_notify", tests, FX_LEN(tests));
}
