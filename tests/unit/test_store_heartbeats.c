/* test_store_heartbeats.c — heartbeats in the store (store_heartbeats.h) on
 * every backend: the catalog sync (in batches), pings by key and by team slug, the ping
 * log window and bodies, the scheduler's claim of due heartbeats and the
 * flips it records, pause/resume; on PostgreSQL also two store handles (two
 * instances) evaluating the same due heartbeats, each flip recorded once.
 * The notification queue: status changes taken once, deliveries claimed
 * under a lease, retried, delivered or dead-lettered; on PostgreSQL two
 * instances claiming 200 deliveries claim each once. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "store/store_heartbeats.h"
#include "util/crypto.h"
#include "util/timeutil.h"

#define MIN 60000LL
#define HOUR (60 * MIN)

static int64_t T0;

static void put_heartbeat(cw_store *s, const char *name, const char *owner, const char *sched)
{
    json_t *e = fx_entity("{'apiVersion':'conway.dev/v1','kind':'Heartbeat',"
                          "'metadata':{'name':'%s'},'spec':{'owner':'%s','purpose':'backup',"
                          "'target':'resource:default/orders-db',%s}}",
                          name, owner, sched);
    cw_diag d = {{0}};
    if (cw_store_entity_put(s, e, NULL, NULL, &d))
        fail_msg("put %s: %s", name, d.msg);
    json_decref(e);
}

static void sync(cw_store *s, int64_t now)
{
    cw_diag d = {{0}};
    cw_hb_sync_result r;
    if (cw_store_hb_sync(s, now, &r, &d))
        fail_msg("sync: %s", d.msg);
}

static void set_key(cw_store *s, const char *key, const char *secret)
{
    char hash[65];
    cw_sha256_hex(secret, strlen(secret), hash);
    cw_diag d = {{0}};
    if (cw_store_hb_set_key(s, key, hash, &d))
        fail_msg("set key: %s", d.msg);
}

static cw_hb_ping_out ping(cw_store *s, const char *secret, cw_ping_kind k, const char *rid,
                           const char *body, int64_t now)
{
    char hash[65];
    cw_sha256_hex(secret, strlen(secret), hash);
    cw_hb_ping_in in = {.key_hash = hash, .kind = k, .exit_status = -1, .rid = rid,
                        .method = "POST", .remote = "127.0.0.1", .ua = "curl/8",
                        .body = body, .body_len = body ? strlen(body) : 0,
                        .body_size = body ? strlen(body) : 0, .now_ms = now};
    cw_hb_ping_out out;
    cw_diag d = {{0}};
    if (cw_store_hb_ping(s, &in, 1, &out, &d))
        fail_msg("ping: %s", d.msg);
    return out;
}

static void test_sync_and_ping(void **state)
{
    cw_store *s = ((fx_store *)*state)->s;
    cw_diag d = {{0}};
    put_heartbeat(s, "orders-db-backup", "team-a", "'period':'1d','grace':'1h'");
    put_heartbeat(s, "nightly", "team-a", "'cron':'0 3 * * *','tz':'Europe/Berlin','grace':'30m'");
    sync(s, T0);
    cw_hb_row row;
    assert_int_equal(cw_store_hb_get(s, "heartbeat:default/orders-db-backup", &row, &d), CW_OK);
    assert_int_equal(row.state.status, CW_HB_NEW);
    assert_int_equal(row.spec.sched.period_s, 86400);
    assert_string_equal(row.spec.target, "resource:default/orders-db");
    assert_false(row.has_ping_key);
    /* unknown keys: not found, nothing stored */
    cw_hb_ping_out o = ping(s, "no-such-key", CW_PING_SUCCESS, NULL, NULL, T0);
    assert_int_equal(o.err, CW_ERR_NOT_FOUND);
    set_key(s, "heartbeat:default/orders-db-backup", "secret-1");
    o = ping(s, "secret-1", CW_PING_START, "r1", NULL, T0);
    assert_int_equal(o.err, CW_OK);
    assert_int_equal(o.alert_after_ms, T0 + HOUR);
    o = ping(s, "secret-1", CW_PING_SUCCESS, "r1", "backup done: 42 GB", T0 + 10 * MIN);
    assert_true(o.flip.flipped);
    assert_int_equal(o.flip.to, CW_HB_UP);
    assert_int_equal(o.alert_after_ms, T0 + 10 * MIN + 25 * HOUR);
    cw_hb_ping_rec *p = NULL;
    size_t n = 0;
    assert_int_equal(cw_store_hb_pings(s, "heartbeat:default/orders-db-backup", 10, &p, &n, &d),
                     CW_OK);
    assert_int_equal(n, 2);
    assert_int_equal(p[0].kind, CW_PING_SUCCESS);
    assert_int_equal(p[0].duration_ms, 10 * MIN);
    assert_int_equal(p[0].body_len, 18);
    assert_memory_equal(p[0].body, "backup done: 42 GB", 18);
    assert_string_equal(p[0].rid, "r1");
    assert_int_equal(p[1].kind, CW_PING_START);
    assert_null(p[1].body);
    cw_hb_pings_free(p, n);
    /* a rotated key: the old one is gone */
    set_key(s, "heartbeat:default/orders-db-backup", "secret-2");
    assert_int_equal(ping(s, "secret-1", CW_PING_SUCCESS, NULL, NULL, T0).err, CW_ERR_NOT_FOUND);
    /* changing the schedule keeps the state and moves the due time */
    put_heartbeat(s, "orders-db-backup", "team-a", "'period':'2d','grace':'1h'");
    sync(s, T0 + 11 * MIN);
    assert_int_equal(cw_store_hb_get(s, "heartbeat:default/orders-db-backup", &row, &d), CW_OK);
    assert_int_equal(row.state.status, CW_HB_UP);
    assert_int_equal(row.state.alert_after_ms, T0 + 10 * MIN + 49 * HOUR);
    /* deleting the entity removes the row */
    assert_int_equal(cw_store_entity_delete(s, "Heartbeat", "default", "nightly", NULL, &d), CW_OK);
    sync(s, T0 + 12 * MIN);
    assert_int_equal(cw_store_hb_get(s, "heartbeat:default/nightly", &row, &d), CW_ERR_NOT_FOUND);
    cw_hb_row *all = NULL;
    assert_int_equal(cw_store_hb_list(s, &all, &n, &d), CW_OK);
    assert_int_equal(n, 1);
    free(all);
}

/* More heartbeats than one sync batch: every one synced, in batches (the
 * memory of a sync is bounded by CW_HB_SYNC_BATCH), and more rows gone
 * than one batch removes. */
static void test_sync_in_batches(void **state)
{
    cw_store *s = ((fx_store *)*state)->s;
    cw_diag d = {{0}};
    enum { N = 2 * CW_HB_SYNC_BATCH + 350, GONE = CW_HB_SYNC_BATCH + 1 };
    json_t **es = calloc(N, sizeof *es);
    cw_put_result *res = calloc(N, sizeof *res);
    assert_non_null(es);
    assert_non_null(res);
    for (int i = 0; i < N; i++)
        es[i] = fx_entity("{'apiVersion':'conway.dev/v1','kind':'Heartbeat','metadata':"
                          "{'name':'job-%05d'},'spec':{'owner':'team-a','purpose':'job',"
                          "'period':'1h','grace':'5m'}}",
                          i);
    if (cw_store_entity_put_many(s, es, N, res, &d))
        fail_msg("put: %s", d.msg);
    for (int i = 0; i < N; i++)
        json_decref(es[i]);
    free(es);
    free(res);
    cw_hb_sync_result r;
    assert_int_equal(cw_store_hb_sync(s, T0, &r, &d), CW_OK);
    assert_int_equal(r.updated, N);
    assert_int_equal(r.invalid, 0);
    assert_int_equal(r.batches, 3);
    cw_hb_row row;
    assert_int_equal(cw_store_hb_get(s, "heartbeat:default/job-00000", &row, &d), CW_OK);
    assert_int_equal(cw_store_hb_get(s, "heartbeat:default/job-02349", &row, &d), CW_OK);
    assert_int_equal(row.spec.sched.period_s, 3600);
    /* nothing changed: nothing to do */
    assert_int_equal(cw_store_hb_sync(s, T0, &r, &d), CW_OK);
    assert_int_equal(r.updated + r.removed, 0);
    for (int i = 0; i < GONE; i++) {
        char name[32];
        snprintf(name, sizeof name, "job-%05d", i * 2);
        assert_int_equal(cw_store_entity_delete(s, "Heartbeat", "default", name, NULL, &d),
                         CW_OK);
    }
    assert_int_equal(cw_store_hb_sync(s, T0, &r, &d), CW_OK);
    assert_int_equal(r.removed, GONE);
    assert_int_equal(r.updated, 0);
    assert_int_equal(r.batches, 2);
    cw_hb_row *all = NULL;
    size_t n = 0;
    assert_int_equal(cw_store_hb_list(s, &all, &n, &d), CW_OK);
    assert_int_equal(n, N - GONE);
    free(all);
    assert_int_equal(cw_store_hb_get(s, "heartbeat:default/job-00002", &row, &d),
                     CW_ERR_NOT_FOUND);
    assert_int_equal(cw_store_hb_get(s, "heartbeat:default/job-00003", &row, &d), CW_OK);
}

/* A row whose schedule no longer loads (its zone gone from the system) is
 * not evaluated and is looked at again a minute later: left first in line
 * it would wake the scheduler at once, again and again, and hide the due
 * rows behind it. */
static void test_unreadable_row_waits(void **state)
{
    fx_store *f = *state;
    cw_store *s = f->s;
    cw_diag d = {{0}};
    put_heartbeat(s, "nightly", "team-a", "'cron':'0 3 * * *','tz':'Europe/Berlin','grace':'30m'");
    put_heartbeat(s, "hourly", "team-a", "'period':'1h','grace':'1m'");
    sync(s, T0);
    set_key(s, "heartbeat:default/hourly", "hourly-key");
    assert_int_equal(ping(s, "hourly-key", CW_PING_SUCCESS, NULL, NULL, T0).err, CW_OK);
    f->b->raw_exec(f->ctx, "UPDATE hb SET tz = 'No/Such_Zone', wake_ms = 1000 "
                           "WHERE key = 'heartbeat:default/nightly'");
    size_t ev = 9, flips = 9;
    int64_t now = T0 + 2 * HOUR; /* hourly is down by now */
    assert_int_equal(cw_store_hb_evaluate_due(s, now, 1, &ev, &flips, &d), CW_OK);
    assert_int_equal(ev, 0);
    int64_t due = 0;
    assert_int_equal(cw_store_hb_next_due(s, &due, &d), CW_OK);
    assert_int_equal(due, T0 + HOUR + MIN); /* hourly's, no longer the stuck row's */
    assert_int_equal(cw_store_hb_evaluate_due(s, now, 1, &ev, &flips, &d), CW_OK);
    assert_int_equal(ev, 1);
    assert_int_equal(flips, 1);
    assert_int_equal(cw_store_hb_next_due(s, &due, &d), CW_OK);
    assert_int_equal(due, now + 60000);
}

static void test_slug_and_window(void **state)
{
    cw_store *s = ((fx_store *)*state)->s;
    cw_diag d = {{0}};
    put_heartbeat(s, "Db-Backup", "team-a", "'period':'1h','grace':'1m'");
    sync(s, T0);
    char hash[65];
    cw_sha256_hex("team-secret", 11, hash);
    assert_int_equal(cw_store_hb_set_team_key(s, "group:default/team-a", hash, T0, &d), CW_OK);
    cw_hb_ping_in in = {.team_hash = hash, .slug = "db-backup", .kind = CW_PING_SUCCESS,
                        .exit_status = 0, .method = "GET", .remote = "::1", .ua = "",
                        .now_ms = T0};
    cw_hb_ping_out out[3];
    cw_hb_ping_in many[3] = {in, in, in};
    many[1].slug = "other";
    many[2].kind = CW_PING_FAIL;
    many[2].exit_status = 3;
    assert_int_equal(cw_store_hb_ping(s, many, 3, out, &d), CW_OK);
    assert_int_equal(out[0].err, CW_OK);
    assert_string_equal(out[0].key, "heartbeat:default/db-backup");
    assert_int_equal(out[1].err, CW_ERR_NOT_FOUND);
    assert_int_equal(out[2].err, CW_OK);
    assert_int_equal(out[2].flip.to, CW_HB_DOWN);
    /* the log keeps the last CW_HB_PINGS_KEPT */
    for (int i = 0; i < CW_HB_PINGS_KEPT + 20; i++) {
        in.now_ms = T0 + i;
        assert_int_equal(cw_store_hb_ping(s, &in, 1, out, &d), CW_OK);
    }
    cw_hb_ping_rec *p = NULL;
    size_t n = 0;
    assert_int_equal(cw_store_hb_pings(s, "heartbeat:default/db-backup", 1000, &p, &n, &d), CW_OK);
    assert_int_equal(n, CW_HB_PINGS_KEPT);
    assert_int_equal(p[0].n, CW_HB_PINGS_KEPT + 22);
    cw_hb_pings_free(p, n);
    cw_hb_flip_rec *f = NULL;
    assert_int_equal(cw_store_hb_flips(s, "heartbeat:default/db-backup", 10, &f, &n, &d), CW_OK);
    assert_int_equal(n, 3); /* new->up, up->down, down->up */
    assert_int_equal(f[0].to, CW_HB_UP);
    assert_int_equal(f[1].to, CW_HB_DOWN);
    assert_string_equal(f[1].reason, "fail");
    free(f);
}

static void test_due_evaluation(void **state)
{
    cw_store *s = ((fx_store *)*state)->s;
    cw_diag d = {{0}};
    char name[32];
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "job-%02d", i);
        put_heartbeat(s, name, "team-a", "'period':'1h','grace':'5m'");
    }
    sync(s, T0);
    for (int i = 0; i < 20; i++) {
        char key[64], secret[32];
        snprintf(key, sizeof key, "heartbeat:default/job-%02d", i);
        snprintf(secret, sizeof secret, "k%d", i);
        set_key(s, key, secret);
        /* job i pings at T0 + i minutes: due at T0 + i min + 65 min */
        ping(s, secret, CW_PING_SUCCESS, NULL, NULL, T0 + i * MIN);
    }
    int64_t due;
    assert_int_equal(cw_store_hb_next_due(s, &due, &d), CW_OK);
    assert_int_equal(due, T0 + 65 * MIN);
    size_t ev = 0, fl = 0;
    /* before anything is due: nothing is read */
    assert_int_equal(cw_store_hb_evaluate_due(s, T0 + 64 * MIN, 100, &ev, &fl, &d), CW_OK);
    assert_int_equal(ev, 0);
    /* at T0 + 70 min, jobs 0..5 are down */
    assert_int_equal(cw_store_hb_evaluate_due(s, T0 + 70 * MIN, 100, &ev, &fl, &d), CW_OK);
    assert_int_equal(ev, 6);
    assert_int_equal(fl, 6);
    assert_int_equal(cw_store_hb_evaluate_due(s, T0 + 70 * MIN, 100, &ev, &fl, &d), CW_OK);
    assert_int_equal(fl, 0);
    assert_int_equal(cw_store_hb_next_due(s, &due, &d), CW_OK);
    assert_int_equal(due, T0 + 71 * MIN);
    cw_hb_row row;
    assert_int_equal(cw_store_hb_get(s, "heartbeat:default/job-03", &row, &d), CW_OK);
    assert_int_equal(row.state.status, CW_HB_DOWN);
    /* pause and resume */
    assert_int_equal(cw_store_hb_control(s, "heartbeat:default/job-10", CW_HB_OP_PAUSE, T0, &row,
                                         &d), CW_OK);
    assert_int_equal(row.state.status, CW_HB_PAUSED);
    assert_int_equal(cw_store_hb_control(s, "heartbeat:default/job-11", CW_HB_OP_RESUME, T0, &row,
                                         &d), CW_ERR_CONFLICT);
    assert_int_equal(cw_store_hb_control(s, "heartbeat:default/job-10", CW_HB_OP_RESUME, T0, &row,
                                         &d), CW_OK);
    assert_int_equal(row.state.status, CW_HB_NEW);
}

/* A ping that only pushes a heartbeat's due time later leaves its place in
 * the scheduler's index (migration 16, wake_ms): the scheduler then looks
 * at it early once, changes nothing, and moves it to the due time. A ping
 * that brings the due time nearer (a start: down after grace without an
 * end) moves it at once. */
static void test_wake_follows_pings(void **state)
{
    cw_store *s = ((fx_store *)*state)->s;
    cw_diag d = {{0}};
    put_heartbeat(s, "nightly", "team-a", "'period':'1h','grace':'5m'");
    put_heartbeat(s, "drill", "team-a", "'period':'1h','grace':'5m'");
    sync(s, T0);
    set_key(s, "heartbeat:default/nightly", "kn");
    set_key(s, "heartbeat:default/drill", "kd");
    ping(s, "kn", CW_PING_SUCCESS, NULL, NULL, T0);
    ping(s, "kd", CW_PING_SUCCESS, NULL, NULL, T0 + 40 * MIN);
    /* nightly: due T0 + 95 min after this ping; looked at first at T0 + 65 */
    cw_hb_ping_out out = ping(s, "kn", CW_PING_SUCCESS, NULL, NULL, T0 + 30 * MIN);
    assert_int_equal(out.alert_after_ms, T0 + 95 * MIN);
    int64_t due = 0;
    assert_int_equal(cw_store_hb_next_due(s, &due, &d), CW_OK);
    assert_int_equal(due, T0 + 65 * MIN);
    size_t ev = 0, fl = 0;
    assert_int_equal(cw_store_hb_evaluate_due(s, T0 + 66 * MIN, 100, &ev, &fl, &d), CW_OK);
    assert_int_equal(ev, 1);
    assert_int_equal(fl, 0);
    cw_hb_row row;
    assert_int_equal(cw_store_hb_get(s, "heartbeat:default/nightly", &row, &d), CW_OK);
    assert_int_equal(row.state.status, CW_HB_UP);
    assert_int_equal(row.state.alert_after_ms, T0 + 95 * MIN);
    assert_int_equal(cw_store_hb_next_due(s, &due, &d), CW_OK);
    assert_int_equal(due, T0 + 95 * MIN);
    /* drill: due T0 + 105 min; a start at T0 + 70 brings it to T0 + 75 */
    out = ping(s, "kd", CW_PING_START, NULL, NULL, T0 + 70 * MIN);
    assert_int_equal(out.alert_after_ms, T0 + 75 * MIN);
    assert_int_equal(cw_store_hb_next_due(s, &due, &d), CW_OK);
    assert_int_equal(due, T0 + 75 * MIN);
    assert_int_equal(cw_store_hb_evaluate_due(s, T0 + 76 * MIN, 100, &ev, &fl, &d), CW_OK);
    assert_int_equal(ev, 1);
    assert_int_equal(fl, 1);
    assert_int_equal(cw_store_hb_get(s, "heartbeat:default/drill", &row, &d), CW_OK);
    assert_int_equal(row.state.status, CW_HB_DOWN);
    /* nightly goes down at its due time, not before */
    assert_int_equal(cw_store_hb_evaluate_due(s, T0 + 94 * MIN, 100, &ev, &fl, &d), CW_OK);
    assert_int_equal(ev, 0);
    assert_int_equal(cw_store_hb_evaluate_due(s, T0 + 96 * MIN, 100, &ev, &fl, &d), CW_OK);
    assert_int_equal(fl, 1);
    /* a failure keeps it down (out of the index, its wake time left as it
     * was); a success brings it back with its place: due T0 + 165 */
    ping(s, "kn", CW_PING_FAIL, NULL, NULL, T0 + 98 * MIN);
    assert_int_equal(cw_store_hb_get(s, "heartbeat:default/nightly", &row, &d), CW_OK);
    assert_int_equal(row.state.status, CW_HB_DOWN);
    assert_int_equal(cw_store_hb_next_due(s, &due, &d), CW_OK);
    assert_int_equal(due, 0);
    ping(s, "kn", CW_PING_SUCCESS, NULL, NULL, T0 + 100 * MIN);
    assert_int_equal(cw_store_hb_next_due(s, &due, &d), CW_OK);
    assert_int_equal(due, T0 + 165 * MIN);
}

#ifdef CONWAY_HAVE_PG
typedef struct {
    cw_store *s;
    int64_t now;
    size_t flips;
} eval_arg;

static void *evaluator(void *p)
{
    eval_arg *a = p;
    cw_diag d = {{0}};
    for (int i = 0; i < 50; i++) {
        size_t ev = 0, fl = 0;
        if (cw_store_hb_evaluate_due(a->s, a->now, 7, &ev, &fl, &d))
            break;
        a->flips += fl;
    }
    return NULL;
}

/* Two instances on one database claim due heartbeats at once: every
 * heartbeat goes down exactly once. */
static void test_two_instances(void **state)
{
    fx_store *f = *state;
    if (strcmp(cw_store_backend(f->s), "postgres"))
        skip();
    cw_store *s = f->s;
    cw_store *other = fx_store_open(fx_store_url(f));
    cw_diag d = {{0}};
    char name[32];
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof name, "svc-%03d", i);
        put_heartbeat(s, name, "team-a", "'period':'1h','grace':'1m'");
    }
    sync(s, T0);
    sync(other, T0); /* a second sync changes nothing */
    for (int i = 0; i < 200; i++) {
        char key[64], secret[32];
        snprintf(key, sizeof key, "heartbeat:default/svc-%03d", i);
        snprintf(secret, sizeof secret, "s%d", i);
        set_key(s, key, secret);
        ping(i % 2 ? other : s, secret, CW_PING_SUCCESS, NULL, NULL, T0);
    }
    eval_arg a = {s, T0 + 2 * HOUR, 0}, b = {other, T0 + 2 * HOUR, 0};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, evaluator, &a);
    pthread_create(&tb, NULL, evaluator, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.flips + b.flips, 200);
    assert_true(a.flips > 0 && b.flips > 0);
    cw_hb_flip_rec *fl = NULL;
    size_t n = 0;
    assert_int_equal(cw_store_hb_flips(s, NULL, 1000, &fl, &n, &d), CW_OK);
    assert_int_equal(n, 400); /* 200 new->up, 200 up->down */
    free(fl);
    cw_store_close(other);
}
#endif

/* Notification queue: status changes taken once, deliveries claimed, retried,
 * delivered or dead-lettered. */
static void test_notify_queue(void **state)
{
    cw_store *s = ((fx_store *)*state)->s;
    cw_diag d = {{0}};
    put_heartbeat(s, "nightly", "team-a", "'period':'1h','grace':'1m'");
    sync(s, T0);
    set_key(s, "heartbeat:default/nightly", "k-nightly");
    ping(s, "k-nightly", CW_PING_SUCCESS, NULL, NULL, T0);
    size_t ev = 0, nf = 0;
    assert_int_equal(cw_store_hb_evaluate_due(s, T0 + 2 * HOUR, 10, &ev, &nf, &d), CW_OK);
    assert_int_equal(nf, 1);
    cw_hb_flip_rec *fl = NULL;
    size_t n = 0;
    assert_int_equal(cw_store_hb_flips_pending(s, 10, &fl, &n, &d), CW_OK);
    assert_int_equal(n, 2); /* new->up, up->down, oldest first */
    assert_int_equal(fl[0].to, CW_HB_UP);
    assert_int_equal(fl[1].to, CW_HB_DOWN);
    assert_string_equal(fl[1].key, "heartbeat:default/nightly");
    int64_t up_id = fl[0].id, down_id = fl[1].id;
    free(fl);

    int64_t now = T0 + 2 * HOUR;
    bool taken = false;
    assert_int_equal(cw_store_hb_notify_take(s, up_id, "heartbeat:default/nightly", NULL, 0,
                                             now, &taken, &d),
                     CW_OK);
    assert_true(taken);
    assert_int_equal(cw_store_hb_notify_take(s, up_id, "heartbeat:default/nightly", NULL, 0,
                                             now, &taken, &d),
                     CW_OK);
    assert_false(taken); /* taken once */
    cw_hb_delivery_new dl[] = {{"http://a.example/hook", "{\"n\":1}"},
                               {"http://b.example/hook", "{\"n\":2}"}};
    assert_int_equal(cw_store_hb_notify_take(s, down_id, "heartbeat:default/nightly", dl, 2, now,
                                             &taken, &d),
                     CW_OK);
    assert_true(taken);
    assert_int_equal(cw_store_hb_notify_take(s, down_id, "heartbeat:default/nightly", dl, 2, now,
                                             &taken, &d),
                     CW_OK);
    assert_false(taken);
    assert_int_equal(cw_store_hb_flips_pending(s, 10, &fl, &n, &d), CW_OK);
    assert_int_equal(n, 0);
    free(fl);

    cw_hb_delivery *got = NULL;
    assert_int_equal(cw_store_hb_notify_claim(s, now, 60000, 10, &got, &n, &d), CW_OK);
    assert_int_equal(n, 2);
    int64_t a = 0, b = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(got[i].attempts, 1);
        assert_int_equal(got[i].flip_id, down_id);
        assert_string_equal(got[i].key, "heartbeat:default/nightly");
        if (!strcmp(got[i].url, "http://a.example/hook")) {
            a = got[i].id;
            assert_string_equal(got[i].body, "{\"n\":1}");
        } else {
            b = got[i].id;
        }
    }
    assert_true(a && b);
    cw_hb_deliveries_free(got, n);
    /* leased: not claimed again */
    assert_int_equal(cw_store_hb_notify_claim(s, now + 1000, 60000, 10, &got, &n, &d), CW_OK);
    assert_int_equal(n, 0);
    cw_hb_deliveries_free(got, n);
    assert_int_equal(cw_store_hb_notify_finish(s, a, CW_HB_DL_DELIVERED, 0, 204, "", now + 100,
                                               &d),
                     CW_OK);
    assert_int_equal(cw_store_hb_notify_finish(s, b, CW_HB_DL_PENDING, now + 10000, 500,
                                               "HTTP 500", now + 100, &d),
                     CW_OK);
    assert_int_equal(cw_store_hb_notify_claim(s, now + 9999, 60000, 10, &got, &n, &d), CW_OK);
    assert_int_equal(n, 0); /* not due yet */
    cw_hb_deliveries_free(got, n);
    assert_int_equal(cw_store_hb_notify_claim(s, now + 10000, 60000, 10, &got, &n, &d), CW_OK);
    assert_int_equal(n, 1);
    assert_int_equal(got[0].id, b);
    assert_int_equal(got[0].attempts, 2);
    assert_int_equal(got[0].last_status, 500);
    assert_string_equal(got[0].last_error, "HTTP 500");
    cw_hb_deliveries_free(got, n);
    /* an instance that died mid-attempt: the lease runs out, the row comes back */
    assert_int_equal(cw_store_hb_notify_claim(s, now + 70001, 60000, 10, &got, &n, &d), CW_OK);
    assert_int_equal(n, 1);
    assert_int_equal(got[0].attempts, 3);
    cw_hb_deliveries_free(got, n);
    assert_int_equal(cw_store_hb_notify_finish(s, b, CW_HB_DL_DEAD, 0, 0, "connection refused",
                                               now + 70002, &d),
                     CW_OK);
    assert_int_equal(cw_store_hb_notify_claim(s, now + 10 * HOUR, 60000, 10, &got, &n, &d),
                     CW_OK);
    assert_int_equal(n, 0); /* dead letters are never attempted again */
    cw_hb_deliveries_free(got, n);

    assert_int_equal(cw_store_hb_notify_list(s, CW_HB_DL_DEAD, 10, &got, &n, &d), CW_OK);
    assert_int_equal(n, 1);
    assert_int_equal(got[0].id, b);
    assert_int_equal(got[0].state, CW_HB_DL_DEAD);
    assert_int_equal(got[0].done_ms, now + 70002);
    assert_string_equal(got[0].last_error, "connection refused");
    cw_hb_deliveries_free(got, n);
    assert_int_equal(cw_store_hb_notify_list(s, -1, 10, &got, &n, &d), CW_OK);
    assert_int_equal(n, 2);
    assert_int_equal(got[0].id, b); /* newest first */
    assert_int_equal(got[1].state, CW_HB_DL_DELIVERED);
    assert_int_equal(got[1].last_status, 204);
    cw_hb_deliveries_free(got, n);
    assert_int_equal(cw_store_hb_notify_list(s, CW_HB_DL_PENDING, 10, &got, &n, &d), CW_OK);
    assert_int_equal(n, 0);
    cw_hb_deliveries_free(got, n);
    assert_int_equal(cw_store_hb_notify_finish(s, 999999, CW_HB_DL_DEAD, 0, 0, "", now, &d),
                     CW_ERR_NOT_FOUND);
}

typedef struct {
    cw_store *s;
    int64_t now;
    size_t claimed;
    int64_t ids[300];
} claim_arg;

static void *claimer(void *p)
{
    claim_arg *a = p;
    cw_diag d = {{0}};
    for (;;) {
        cw_hb_delivery *got = NULL;
        size_t n = 0;
        if (cw_store_hb_notify_claim(a->s, a->now, 60000, 7, &got, &n, &d) || !n) {
            cw_hb_deliveries_free(got, n);
            break;
        }
        for (size_t i = 0; i < n && a->claimed < 300; i++)
            a->ids[a->claimed++] = got[i].id;
        cw_hb_deliveries_free(got, n);
    }
    return NULL;
}

/* Two instances claim the same queue: every delivery is claimed once. */
static void test_two_instances_claim(void **state)
{
    fx_store *f = *state;
    if (strcmp(cw_store_backend(f->s), "postgres"))
        skip();
    cw_store *s = f->s;
    cw_store *other = fx_store_open(fx_store_url(f));
    cw_diag d = {{0}};
    put_heartbeat(s, "nightly", "team-a", "'period':'1h','grace':'1m'");
    sync(s, T0);
    set_key(s, "heartbeat:default/nightly", "k-nightly");
    ping(s, "k-nightly", CW_PING_SUCCESS, NULL, NULL, T0);
    cw_hb_flip_rec *fl = NULL;
    size_t n = 0;
    assert_int_equal(cw_store_hb_flips_pending(s, 10, &fl, &n, &d), CW_OK);
    assert_int_equal(n, 1);
    cw_hb_delivery_new dl[200];
    char urls[200][48];
    for (int i = 0; i < 200; i++) {
        snprintf(urls[i], sizeof urls[i], "http://r%d.example/", i);
        dl[i] = (cw_hb_delivery_new){urls[i], "{}"};
    }
    bool taken = false;
    assert_int_equal(cw_store_hb_notify_take(s, fl[0].id, fl[0].key, dl, 200, T0, &taken, &d),
                     CW_OK);
    assert_true(taken);
    free(fl);
    static claim_arg a, b;
    a = (claim_arg){.s = s, .now = T0};
    b = (claim_arg){.s = other, .now = T0};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, claimer, &a);
    pthread_create(&tb, NULL, claimer, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.claimed + b.claimed, 200);
    for (size_t i = 0; i < a.claimed; i++)
        for (size_t k = 0; k < b.claimed; k++)
            assert_true(a.ids[i] != b.ids[k]);
    cw_store_close(other);
}

int main(void)
{
    T0 = 1780000000000LL;
    const struct CMUnitTest tests[] = {
        FX_STORE_TEST(test_sync_and_ping),
        FX_STORE_TEST(test_sync_in_batches),
        FX_STORE_TEST(test_unreadable_row_waits),
        FX_STORE_TEST(test_slug_and_window),
        FX_STORE_TEST(test_due_evaluation),
        FX_STORE_TEST(test_wake_follows_pings),
        FX_STORE_TEST(test_notify_queue),
#ifdef CONWAY_HAVE_PG
        FX_STORE_TEST(test_two_instances),
        FX_STORE_TEST(test_two_instances_claim),
#endif
    };
    return fx_run_backends("store_heartbeats", tests, FX_LEN(tests));
}
