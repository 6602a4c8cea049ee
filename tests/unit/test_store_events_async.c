/*
 * test_store_events_async.c — cw_store_events_put_async (events_async.h)
 * on every backend: many concurrent async batches, each called back once
 * after its commit, sharing transactions with one another and with blocking
 * callers; duplicates counted; a batch the database refuses fails alone and
 * is called back with the error; bad arguments fail at once without a
 * callback; an empty batch is called back at once. Audited puts
 * (cw_store_events_put_async_audited, cw_store_events_put_audited): each
 * stored batch has its audit record, already stored when it is called back,
 * with the batch's counts in the detail and ids in commit order; a refused
 * batch has none; an invalid entry is refused before anything is queued.
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
#include "store/store_audit.h"
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
    cw__gc_stats(f->s->gc, &tx0, &b0, &r0);
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
    cw__gc_stats(f->s->gc, &tx1, &b1, &r1);
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

/* Closing a store with batches still queued commits them first: every
 * callback runs exactly once, successfully, before cw_store_close returns,
 * and the events are stored. (The group commit's state is the store's:
 * nothing of it outlives the handle.) */
static void test_close_with_queued_batches(void **state)
{
    fx_store *f = *state;
    enum { NB = 300 };
    tally t = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    batch *bs = calloc(NB, sizeof *bs);
    assert_non_null(bs);
    for (size_t i = 0; i < NB; i++) {
        char id[32];
        snprintf(id, sizeof id, "closing-%zu", i);
        bs[i].t = &t;
        make_event(&bs[i].ev[0], "/closing", id);
        bs[i].n = 1;
    }
    for (size_t i = 0; i < NB; i++) {
        cw_diag d = {""};
        assert_int_equal(cw_store_events_put_async(f->s, bs[i].ev, 1, on_done, &bs[i], &d),
                         CW_OK);
    }
    cw_store_close(f->s); /* no waiting for the callbacks first */
    f->s = NULL;
    pthread_mutex_lock(&t.mu);
    size_t calls = t.calls, errors = t.errors, accepted = t.accepted;
    pthread_mutex_unlock(&t.mu);
    assert_int_equal(calls, NB);
    assert_int_equal(errors, 0);
    assert_int_equal(accepted, NB);
    for (size_t i = 0; i < NB; i++)
        assert_int_equal(bs[i].calls, 1);
    f->s = fx_store_open(fx_store_url(f));
    assert_int_equal(count_events(f->s), NB);
    for (size_t i = 0; i < NB; i++)
        cw_event_free(&bs[i].ev[0]);
    free(bs);
}

/* Makes the database refuse any event whose source is "poison" (a trigger),
 * so that one batch of a group fails inside the shared transaction. */
static void poison_events(fx_store *f)
{
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
}

static void test_refused_batch_fails_alone(void **state)
{
    fx_store *f = *state;
    poison_events(f);
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

/* ---- audited puts ------------------------------------------------------------------------ */

typedef struct {
    tally *t;
    cw_store *s;
    cw_event ev[2];
    size_t n;
    size_t calls;
    cw_err err;
    int64_t audit_id;
    bool seen_at_done;       /* the record was readable when called back */
    char req_id[32];
    char msg[600];
} abatch;

/* The record with this id, or fails the test. */
static void audit_get(cw_store *s, int64_t id, cw_audit_page *out)
{
    cw_audit_query q;
    cw_audit_query_init(&q);
    q.before_id = id + 1;
    q.limit = 1;
    cw_diag d = {""};
    if (cw_store_audit_query(s, &q, out, &d))
        fail_msg("audit query: %s", d.msg);
}

static void on_audited(void *arg, cw_err err, const cw_event_put_result *res, int64_t audit_id,
                       const cw_diag *d)
{
    abatch *b = arg;
    bool seen = false;
    if (!err && audit_id > 0) {
        cw_audit_page p;
        audit_get(b->s, audit_id, &p);
        seen = p.len == 1 && p.items[0].id == audit_id;
        cw_audit_page_free(&p);
    }
    tally *t = b->t;
    pthread_mutex_lock(&t->mu);
    b->calls++;
    b->err = err;
    b->audit_id = audit_id;
    b->seen_at_done = seen;
    snprintf(b->msg, sizeof b->msg, "%s", d->msg);
    t->calls++;
    if (err)
        t->errors++;
    else {
        t->accepted += res->accepted;
        t->duplicates += res->duplicates;
    }
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

static cw_audit_entry entry_for(const abatch *b, int64_t token_id)
{
    return (cw_audit_entry){.actor = "token",
                            .token_id = token_id,
                            .token_name = "ci-bot",
                            .action = "events.ingest",
                            .request_id = b->req_id,
                            .event_counts = true};
}

/* seq of the stored event (source, id), or -1. */
static int64_t event_seq(cw_store *s, const char *source, const char *id)
{
    cw_event_query q = {.from_ms = INT64_MIN, .to_ms = INT64_MAX, .limit = 100000};
    cw_event_list l;
    cw_diag d = {""};
    if (cw_store_events_query(s, &q, &l, &d))
        fail_msg("query: %s", d.msg);
    int64_t seq = -1;
    for (size_t i = 0; i < l.len; i++)
        if (!strcmp(l.items[i].source, source) && !strcmp(l.items[i].id, id))
            seq = l.items[i].seq;
    cw_event_list_free(&l);
    return seq;
}

static size_t count_audit(cw_store *s)
{
    cw_audit_query q;
    cw_audit_query_init(&q);
    q.action = "events.ingest";
    q.limit = CW_AUDIT_PAGE_MAX;
    cw_audit_page p;
    cw_diag d = {""};
    if (cw_store_audit_query(s, &q, &p, &d))
        fail_msg("audit query: %s", d.msg);
    size_t n = p.len;
    cw_audit_page_free(&p);
    return n;
}

typedef struct {
    cw_store *s;
    abatch *bs;
    size_t from, n;
    int failed;
} asubmitter;

static void *asubmit_main(void *arg)
{
    asubmitter *sb = arg;
    for (size_t i = sb->from; i < sb->from + sb->n; i++) {
        abatch *b = &sb->bs[i];
        cw_audit_entry e = entry_for(b, (int64_t)i + 1);
        cw_diag d = {""};
        if (cw_store_events_put_async_audited(sb->s, b->ev, b->n, &e, on_audited, b, &d))
            sb->failed++;
    }
    return NULL;
}

static void test_audited_puts_store_records(void **state)
{
    fx_store *f = *state;
    tally t = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    enum { N = 96, THREADS = 4 };
    abatch *bs = calloc(N, sizeof *bs);
    assert_non_null(bs);
    for (size_t i = 0; i < N; i++) {
        char id[32];
        snprintf(id, sizeof id, "a-%zu", i);
        snprintf(bs[i].req_id, sizeof bs[i].req_id, "req-%zu", i);
        bs[i].t = &t;
        bs[i].s = f->s;
        make_event(&bs[i].ev[0], "/audited", id);
        bs[i].n = 1;
        if (i % 10 == 3) { /* the same event twice: one duplicate */
            make_event(&bs[i].ev[1], "/audited", id);
            bs[i].n = 2;
        }
    }
    pthread_t th[THREADS];
    asubmitter sb[THREADS];
    for (size_t k = 0; k < THREADS; k++) {
        sb[k] = (asubmitter){.s = f->s, .bs = bs, .from = k * (N / THREADS), .n = N / THREADS};
        assert_int_equal(pthread_create(&th[k], NULL, asubmit_main, &sb[k]), 0);
    }
    for (size_t k = 0; k < THREADS; k++) {
        pthread_join(th[k], NULL);
        assert_int_equal(sb[k].failed, 0);
    }
    tally_wait(&t, N);
    assert_int_equal(t.errors, 0);
    assert_int_equal(count_audit(f->s), N);
    int64_t *seq = calloc(N, sizeof *seq);
    assert_non_null(seq);
    for (size_t i = 0; i < N; i++) {
        abatch *b = &bs[i];
        assert_int_equal(b->calls, 1);
        assert_int_equal(b->err, CW_OK);
        assert_true(b->audit_id > 0);
        assert_true(b->seen_at_done);
        cw_audit_page p;
        audit_get(f->s, b->audit_id, &p);
        assert_int_equal(p.len, 1);
        cw_audit_record *r = &p.items[0];
        assert_int_equal(r->id, b->audit_id);
        assert_string_equal(r->action, "events.ingest");
        assert_string_equal(r->actor, "token");
        assert_int_equal(r->token_id, (int64_t)i + 1);
        assert_string_equal(r->token_name, "ci-bot");
        assert_string_equal(r->request_id, b->req_id);
        assert_string_equal(r->refs_json, "[]");
        assert_string_equal(r->detail_json,
                            b->n == 2 ? "{\"accepted\":1,\"conflicts\":0,\"duplicates\":1}"
                                      : "{\"accepted\":1,\"conflicts\":0,\"duplicates\":0}");
        assert_true(r->at_ms > T0);
        cw_audit_page_free(&p);
        char id[32];
        snprintf(id, sizeof id, "a-%zu", i);
        seq[i] = event_seq(f->s, "/audited", id);
        assert_true(seq[i] > 0);
    }
    /* ids in commit order: a later audit id never goes with an earlier
     * stored event */
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++)
            if (bs[i].audit_id < bs[j].audit_id && seq[i] > seq[j])
                fail_msg("batch %zu: audit %lld, event seq %lld; batch %zu: audit %lld, seq %lld",
                         i, (long long)bs[i].audit_id, (long long)seq[i], j,
                         (long long)bs[j].audit_id, (long long)seq[j]);
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < bs[i].n; k++)
            cw_event_free(&bs[i].ev[k]);
    free(seq);
    free(bs);
}

static void test_refused_batch_has_no_audit_record(void **state)
{
    fx_store *f = *state;
    poison_events(f);
    tally t = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    enum { N = 20 };
    abatch bs[N];
    memset(bs, 0, sizeof bs);
    for (size_t i = 0; i < N; i++) {
        char id[32];
        snprintf(id, sizeof id, "good-%zu", i);
        snprintf(bs[i].req_id, sizeof bs[i].req_id, "req-%zu", i);
        bs[i].t = &t;
        bs[i].s = f->s;
        make_event(&bs[i].ev[0], "/async", id);
        bs[i].n = 1;
        if (i == 7) {
            make_event(&bs[i].ev[1], "poison", "bad");
            bs[i].n = 2;
        }
    }
    for (size_t i = 0; i < N; i++) {
        cw_audit_entry e = entry_for(&bs[i], 5);
        cw_diag d = {""};
        assert_int_equal(
            cw_store_events_put_async_audited(f->s, bs[i].ev, bs[i].n, &e, on_audited, &bs[i], &d),
            CW_OK);
    }
    tally_wait(&t, N);
    assert_int_equal(t.errors, 1);
    assert_int_not_equal(bs[7].err, CW_OK);
    assert_non_null(strstr(bs[7].msg, "poisoned event"));
    assert_int_equal(bs[7].audit_id, 0);
    assert_int_equal(count_audit(f->s), N - 1);
    cw_audit_query q;
    cw_audit_query_init(&q);
    q.limit = CW_AUDIT_PAGE_MAX;
    cw_audit_page p;
    cw_diag d = {""};
    assert_int_equal(cw_store_audit_query(f->s, &q, &p, &d), CW_OK);
    for (size_t i = 0; i < p.len; i++)
        assert_string_not_equal(p.items[i].request_id, "req-7");
    cw_audit_page_free(&p);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(bs[i].calls, 1);
        if (i != 7)
            assert_true(bs[i].audit_id > 0);
        for (size_t k = 0; k < bs[i].n; k++)
            cw_event_free(&bs[i].ev[k]);
    }
}

/* The audit row is part of the events' transaction: when it cannot be
 * written, the events are not stored either (and the caller is told). */
static void test_audit_failure_stores_no_events(void **state)
{
    fx_store *f = *state;
    if (!strcmp(f->b->name, "sqlite"))
        f->b->raw_exec(f->ctx, "CREATE TRIGGER audit_poison BEFORE INSERT ON audit WHEN"
                               " NEW.request_id = 'req-fail' BEGIN"
                               " SELECT RAISE(ABORT, 'audit refused'); END");
    else if (!strcmp(f->b->name, "postgres"))
        f->b->raw_exec(f->ctx,
                       "CREATE FUNCTION audit_poison() RETURNS trigger LANGUAGE plpgsql AS $$"
                       " BEGIN IF NEW.request_id = 'req-fail' THEN"
                       " RAISE EXCEPTION 'audit refused'; END IF; RETURN NEW; END $$;"
                       "CREATE TRIGGER audit_poison BEFORE INSERT ON audit FOR EACH ROW"
                       " EXECUTE FUNCTION audit_poison()");
    else
        skip();
    tally t = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    abatch b = {.t = &t, .s = f->s, .req_id = "req-fail"};
    make_event(&b.ev[0], "/atomic", "a-1");
    cw_audit_entry e = entry_for(&b, 0);
    cw_event_put_result r;
    int64_t id = -1;
    cw_diag d = {""};
    assert_int_not_equal(cw_store_events_put_audited(f->s, b.ev, 1, &e, &r, &id, &d), CW_OK);
    assert_non_null(strstr(d.msg, "audit refused"));
    assert_int_equal(count_events(f->s), 0);
    assert_int_equal(count_audit(f->s), 0);
    /* the same event with an acceptable record goes in, with its record */
    snprintf(b.req_id, sizeof b.req_id, "req-ok");
    e = entry_for(&b, 0);
    assert_int_equal(cw_store_events_put_audited(f->s, b.ev, 1, &e, &r, &id, &d), CW_OK);
    assert_int_equal(r.accepted, 1);
    assert_true(id > 0);
    assert_int_equal(count_events(f->s), 1);
    assert_int_equal(count_audit(f->s), 1);
    cw_event_free(&b.ev[0]);
}

static void test_audited_blocking_empty_and_invalid(void **state)
{
    fx_store *f = *state;
    tally t = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    abatch b = {.t = &t, .s = f->s, .req_id = "req-b"};
    make_event(&b.ev[0], "/blocking", "b-1");
    cw_audit_entry e = entry_for(&b, 0);
    e.actor = "anonymous";
    e.token_name = NULL;
    /* blocking: stored with its record */
    cw_event_put_result r;
    int64_t id = -1;
    cw_diag d = {""};
    assert_int_equal(cw_store_events_put_audited(f->s, b.ev, 1, &e, &r, &id, &d), CW_OK);
    assert_int_equal(r.accepted, 1);
    assert_true(id > 0);
    cw_audit_page p;
    audit_get(f->s, id, &p);
    assert_int_equal(p.len, 1);
    assert_string_equal(p.items[0].actor, "anonymous");
    assert_int_equal(p.items[0].token_id, 0);
    assert_string_equal(p.items[0].detail_json,
                        "{\"accepted\":1,\"conflicts\":0,\"duplicates\":0}");
    cw_audit_page_free(&p);
    /* again: a duplicate, a second record with a later id */
    int64_t id2 = 0;
    assert_int_equal(cw_store_events_put_audited(f->s, b.ev, 1, &e, &r, &id2, &d), CW_OK);
    assert_int_equal(r.duplicates, 1);
    assert_true(id2 > id);
    /* issue #10: the same (source, id) with another body is a conflict, in
     * the answer and in the record */
    cw_event other;
    make_event(&other, "/blocking", "b-2");
    json_t *o = json_deep_copy(other.raw);
    cw_event_free(&other);
    json_object_set_new(json_object_get(o, "context"), "id", json_string("b-1"));
    cw_diag od = {""};
    if (cw_cdevent_decode(o, &other, &od))
        fail_msg("decode: %s", od.msg);
    json_decref(o);
    int64_t id3 = 0;
    assert_int_equal(cw_store_events_put_audited(f->s, &other, 1, &e, &r, &id3, &d), CW_OK);
    cw_event_free(&other);
    assert_int_equal(r.accepted, 0);
    assert_int_equal(r.duplicates, 0);
    assert_int_equal(r.conflicts, 1);
    audit_get(f->s, id3, &p);
    assert_string_equal(p.items[0].detail_json,
                        "{\"accepted\":0,\"conflicts\":1,\"duplicates\":0}");
    cw_audit_page_free(&p);
    /* an empty batch: the record alone, called back at once */
    assert_int_equal(cw_store_events_put_async_audited(f->s, NULL, 0, &e, on_audited, &b, &d),
                     CW_OK);
    assert_int_equal(b.calls, 1);
    assert_true(b.audit_id > id2);
    audit_get(f->s, b.audit_id, &p);
    assert_string_equal(p.items[0].detail_json,
                        "{\"accepted\":0,\"conflicts\":0,\"duplicates\":0}");
    cw_audit_page_free(&p);
    /* an invalid entry: refused at once, nothing queued, no callback */
    e.action = "Events Ingest";
    assert_int_equal(cw_store_events_put_async_audited(f->s, b.ev, 1, &e, on_audited, &b, &d),
                     CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "action"));
    e.action = "events.ingest";
    assert_int_equal(cw_store_events_put_async_audited(f->s, b.ev, 1, &e, NULL, &b, &d),
                     CW_ERR_INVALID);
    assert_int_equal(b.calls, 1);
    assert_int_equal(count_audit(f->s), 4);
    /* event counts belong to an events put */
    assert_int_equal(cw_store_audit_append(f->s, &e, NULL, &d), CW_ERR_INVALID);
    assert_int_equal(count_events(f->s), 1);
    cw_event_free(&b.ev[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_STORE_TEST(test_concurrent_async_batches),
        FX_STORE_TEST(test_close_with_queued_batches),
        FX_STORE_TEST(test_refused_batch_fails_alone),
        FX_STORE_TEST(test_bad_arguments_and_empty_batch),
        FX_STORE_TEST(test_audited_puts_store_records),
        FX_STORE_TEST(test_refused_batch_has_no_audit_record),
        FX_STORE_TEST(test_audited_blocking_empty_and_invalid),
        FX_STORE_TEST(test_audit_failure_stores_no_events),
    };
    return fx_run_backends("store events async", tests, FX_LEN(tests));
}
