/*
 * test_store_events_async.c — cw_store_events_put_async (events_async.h)
 * on every backend: many concurrent async batches, each called back once
 * after its commit, sharing transactions with one another and with blocking
 * callers; duplicates counted; a batch the database refuses fails alone and
 * is called back with the error; bad arguments fail at once without a
 * callback; an empty batch is called back at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/events.h"
#include "fixtures.h"
#include "store/events_async.h"
#include "store/events_impl.h"
#include "store/store.h"
#include "util/timeutil.h"

#define T0 1700000000000LL

/* One decoded change.merged event (owned by the caller). */
static void make_event(cw_event *out, const char *source, const char *id)
{
    char ts[32];
    cw_time_format_ms(T0, ts);
    json_t *j = json_pack("{s:{s:s, s:s, s:s, s:s, s:s}, s:{s:s, s:{s:{s:s}}}}", "context",
                          "specversion", "0.5.1", "id", id, "source", source, "type",
                          "dev.cdevents.change.merged.0.3.0", "timestamp", ts, "subject", "id",
                          id, "content", "repository", "id", "org/repo");
    assert_non_null(j);
    cw_diag d = {""};
    if (cw_cdevent_decode(j, out, &d))
        fail_msg("decode %s: %s", id, d.msg);
    json_decref(j);
}

/* Completions, counted under a lock; waiters sleep until all arrived. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t calls, accepted, duplicates, errors;
    char msg[600];
} tally;

typedef struct {
    tally *t;
    size_t calls; /* of this batch: must end at exactly 1 */
    cw_event ev[2];
    size_t n;
} batch;

static void on_done(void *arg, cw_err err, const cw_event_put_result *res, const cw_diag *d)
{
    batch *b = arg;
    tally *t = b->t;
    pthread_mutex_lock(&t->mu);
    b->calls++;
    t->calls++;
    if (err) {
        t->errors++;
        snprintf(t->msg, sizeof t->msg, "%s", d->msg);
    } else {
        t->accepted += res->accepted;
        t->duplicates += res->duplicates;
    }
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

static void tally_wait(tally *t, size_t calls)
{
    pthread_mutex_lock(&t->mu);
    while (t->calls < calls)
        pthread_cond_wait(&t->cv, &t->mu);
    pthread_mutex_unlock(&t->mu);
}

static size_t count_events(cw_store *s)
{
    cw_event_query q = {.from_ms = INT64_MIN, .to_ms = INT64_MAX, .limit = 100000};
    cw_event_list l;
    cw_diag d = {""};
    if (cw_store_events_query(s, &q, &l, &d))
        fail_msg("query: %s", d.msg);
    size_t n = l.len;
    cw_event_list_free(&l);
    return n;
}

typedef struct {
    cw_store *s;
    tally *t;
    batch *bs;
    size_t from, n;
    int failed;
} submitter;

static void *submit_main(void *arg)
{
    submitter *sb = arg;
    for (size_t i = sb->from; i < sb->from + sb->n; i++) {
        cw_diag d = {""};
        if (cw_store_events_put_async(sb->s, sb->bs[i].ev, sb->bs[i].n, on_done, &sb->bs[i], &d))
            sb->failed++;
    }
    return NULL;
}

/* A blocking caller in the same queue, at the same time. */
static void *blocking_main(void *arg)
{
    submitter *sb = arg;
    for (size_t i = 0; i < sb->n; i++) {
        cw_event ev;
        char id[32];
        snprintf(id, sizeof id, "blocking-%zu", i);
        make_event(&ev, "/sync", id);
        cw_event_put_result r;
        cw_diag d = {""};
        if (cw_store_events_put(sb->s, &ev, 1, &r, &d) || r.accepted != 1)
            sb->failed++;
        cw_event_free(&ev);
    }
    return NULL;
}

static void test_concurrent_async_batches(void **state)
{
    fx_store *f = *state;
    enum { NTH = 8, PER = 50, NSYNC = 40 };
    tally t = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    batch *bs = calloc(NTH * PER, sizeof *bs);
    assert_non_null(bs);
    for (size_t i = 0; i < NTH * PER; i++) {
        char id[32];
        snprintf(id, sizeof id, "async-%zu", i);
        bs[i].t = &t;
        make_event(&bs[i].ev[0], "/async", id);
        bs[i].n = 1;
    }
    uint64_t tx0, b0, r0, tx1, b1, r1;
    cw__events_gc_stats(&tx0, &b0, &r0);
    submitter sub[NTH], sync = {.s = f->s, .n = NSYNC};
    pthread_t th[NTH], sth;
    assert_int_equal(pthread_create(&sth, NULL, blocking_main, &sync), 0);
    for (size_t i = 0; i < NTH; i++) {
        sub[i] = (submitter){.s = f->s, .t = &t, .bs = bs, .from = i * PER, .n = PER};
        assert_int_equal(pthread_create(&th[i], NULL, submit_main, &sub[i]), 0);
    }
    for (size_t i = 0; i < NTH; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(sub[i].failed, 0);
    }
    pthread_join(sth, NULL);
    assert_int_equal(sync.failed, 0);
    tally_wait(&t, NTH * PER);
    cw__events_gc_stats(&tx1, &b1, &r1);
    assert_int_equal(t.errors, 0);
    assert_int_equal(t.accepted, NTH * PER);
    for (size_t i = 0; i < NTH * PER; i++)
        assert_int_equal(bs[i].calls, 1);
    /* shared transactions: fewer commits than batches */
    assert_int_equal(b1 - b0, NTH * PER + NSYNC);
    assert_true(tx1 - tx0 < b1 - b0);
    /* called back means committed: a fresh handle sees them all */
    cw_store *other = fx_store_open(fx_store_url(f));
    assert_int_equal(count_events(other), NTH * PER + NSYNC);
    cw_store_close(other);

    /* the same again: every one a duplicate */
    memset(&t.calls, 0, sizeof t - offsetof(tally, calls));
    for (size_t i = 0; i < NTH * PER; i++) {
        cw_diag d = {""};
        assert_int_equal(cw_store_events_put_async(f->s, bs[i].ev, 1, on_done, &bs[i], &d),
                         CW_OK);
    }
    tally_wait(&t, NTH * PER);
    assert_int_equal(t.accepted, 0);
    assert_int_equal(t.duplicates, NTH * PER);
    for (size_t i = 0; i < NTH * PER; i++)
        cw_event_free(&bs[i].ev[0]);
    free(bs);
}

static void test_refused_batch_fails_alone(void **state)
{
    fx_store *f = *state;
    if (!strcmp(f->b->name, "sqlite"))
        f->b->raw_exec(f->ctx, "CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.source"
                               " = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned event'); END");
    else if (!strcmp(f->b->name, "postgres"))
        f->b->raw_exec(f->ctx,
                       "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                       " IF NEW.source = 'poison' THEN RAISE EXCEPTION 'poisoned event'; END IF;"
                       " RETURN NEW; END $$;"
                       "CREATE TRIGGER poison BEFORE INSERT ON events FOR EACH ROW EXECUTE "
                       "FUNCTION poison()");
    else
        skip();
    tally t = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    enum { N = 20 };
    batch bs[N];
    memset(bs, 0, sizeof bs);
    for (size_t i = 0; i < N; i++) {
        char id[32];
        snprintf(id, sizeof id, "good-%zu", i);
        bs[i].t = &t;
        make_event(&bs[i].ev[0], "/async", id);
        bs[i].n = 1;
        if (i == 7) { /* a good event, then one the database refuses */
            make_event(&bs[i].ev[1], "poison", "bad");
            bs[i].n = 2;
        }
    }
    for (size_t i = 0; i < N; i++) {
        cw_diag d = {""};
        assert_int_equal(cw_store_events_put_async(f->s, bs[i].ev, bs[i].n, on_done, &bs[i], &d),
                         CW_OK);
        /* only read during the call: freed before the commit */
        for (size_t k = 0; k < bs[i].n; k++)
            cw_event_free(&bs[i].ev[k]);
    }
    tally_wait(&t, N);
    assert_int_equal(t.errors, 1);
    assert_non_null(strstr(t.msg, "poisoned event"));
    assert_int_equal(t.accepted, N - 1);
    assert_int_equal(count_events(f->s), N - 1); /* not even good-7 */
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(bs[i].calls, 1);
        for (size_t k = 0; k < bs[i].n; k++)
            cw_event_free(&bs[i].ev[k]);
    }
}

static void test_bad_arguments_and_empty_batch(void **state)
{
    fx_store *f = *state;
    tally t = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    batch b = {.t = &t};
    cw_diag d = {""};
    /* no events: called back at once, in this thread, with nothing stored */
    assert_int_equal(cw_store_events_put_async(f->s, NULL, 0, on_done, &b, &d), CW_OK);
    assert_int_equal(b.calls, 1);
    assert_int_equal(t.accepted, 0);
    /* errors return without any callback */
    cw_event zero;
    memset(&zero, 0, sizeof zero);
    assert_int_equal(cw_store_events_put_async(f->s, &zero, 1, on_done, &b, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "events[0]"));
    assert_int_equal(cw_store_events_put_async(f->s, NULL, 3, on_done, &b, &d), CW_ERR_INVALID);
    make_event(&b.ev[0], "/async", "x");
    assert_int_equal(cw_store_events_put_async(f->s, b.ev, 1, NULL, &b, &d), CW_ERR_INVALID);
    assert_int_equal(cw_store_events_put_async(NULL, b.ev, 1, on_done, &b, &d), CW_ERR_INVALID);
    assert_int_equal(b.calls, 1);
    assert_int_equal(count_events(f->s), 0);
    cw_event_free(&b.ev[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_STORE_TEST(test_concurrent_async_batches),
        FX_STORE_TEST(test_refused_batch_fails_alone),
        FX_STORE_TEST(test_bad_arguments_and_empty_batch),
    };
    return fx_run_backends("store events async", tests, FX_LEN(tests));
}
