/*
 * test_store_scorecard_history.c — the daily scorecard snapshot of the
 * store (store/store_scorecard_history.h) on every backend: a (day,
 * scorecard) is stored once and other scorecards the same day are not
 * blocked, an empty snapshot is still a day, ranges stream by day then
 * entity with each day's check list first, bad input is refused with
 * nothing stored, and eight stores on one database racing to snapshot the
 * same day (as several conway instances do) store it exactly once.
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

#include "fixtures.h"
#include "store/store_scorecard_history.h"

#define PRR "scorecard:default/prr"

static const cw_scorecard_level_row ROWS[] = {
    {"component:default/b", "silver", "7"},
    {"component:default/a", "bronze", "3"},
    {"api:default/c", "", ""},
};

typedef struct {
    char text[4096];
    size_t o;
} acc;

static cw_err on_day(void *ctx, int64_t day, const char *checks, cw_diag *d)
{
    (void)d;
    acc *a = ctx;
    a->o += (size_t)snprintf(a->text + a->o, sizeof a->text - a->o, "%sday %lld %s",
                             a->o ? "\n" : "", (long long)day, checks);
    return CW_OK;
}

static cw_err on_row(void *ctx, int64_t day, const char *entity, const char *level,
                     const char *passed, cw_diag *d)
{
    (void)d;
    acc *a = ctx;
    a->o += (size_t)snprintf(a->text + a->o, sizeof a->text - a->o, "\n %lld %s [%s] [%s]",
                             (long long)day, entity, level, passed);
    return CW_OK;
}

static const char *query(cw_store *s, const char *scorecard, int64_t from, int64_t to)
{
    static acc a;
    memset(&a, 0, sizeof a);
    cw_diag d = {""};
    cw_scorecard_history_query q = {scorecard, from, to};
    if (cw_store_scorecard_history_each(s, &q, on_day, on_row, &a, &d))
        fail_msg("query: %s", d.msg);
    assert_true(a.o < sizeof a.text);
    return a.text;
}

static void test_a_day_is_stored_once(void **state)
{
    fx_store *f = *state;
    cw_diag d = {""};
    bool taken = false, has = true;
    assert_int_equal(cw_store_scorecard_snapshot_has(f->s, 20500, PRR, &has, &d), CW_OK);
    assert_false(has);
    assert_int_equal(cw_store_scorecard_snapshot_put(f->s, 20500, PRR, "[\"a\",\"b\",\"c\"]", ROWS,
                                                     FX_LEN(ROWS), &taken, &d),
                     CW_OK);
    assert_true(taken);
    assert_int_equal(cw_store_scorecard_snapshot_has(f->s, 20500, PRR, &has, &d), CW_OK);
    assert_true(has);
    /* a second attempt the same day stores nothing, whatever it holds */
    static const cw_scorecard_level_row other[] = {{"component:default/a", "gold", "f"}};
    assert_int_equal(cw_store_scorecard_snapshot_put(f->s, 20500, PRR, "[]", other, 1, &taken, &d),
                     CW_OK);
    assert_false(taken);
    /* another scorecard the same day has its own claim; an empty day is a day */
    assert_int_equal(cw_store_scorecard_snapshot_put(f->s, 20500, "scorecard:default/dickerson",
                                                     "[]", other, 1, &taken, &d),
                     CW_OK);
    assert_true(taken);
    assert_int_equal(cw_store_scorecard_snapshot_put(f->s, 20502, PRR, "[\"a\"]", NULL, 0, &taken, &d),
                     CW_OK);
    assert_true(taken);
    static const cw_scorecard_level_row next[] = {{"component:default/a", "silver", "1"}};
    assert_int_equal(cw_store_scorecard_snapshot_put(f->s, 20501, PRR, "[\"a\",\"b\"]", next, 1,
                                                     &taken, &d),
                     CW_OK);
    assert_true(taken);
    assert_string_equal(query(f->s, PRR, 20000, 21000),
                        "day 20500 [\"a\",\"b\",\"c\"]\n"
                        " 20500 api:default/c [] []\n"
                        " 20500 component:default/a [bronze] [3]\n"
                        " 20500 component:default/b [silver] [7]\n"
                        "day 20501 [\"a\",\"b\"]\n"
                        " 20501 component:default/a [silver] [1]\n"
                        "day 20502 [\"a\"]");
    assert_string_equal(query(f->s, PRR, 20501, 20501),
                        "day 20501 [\"a\",\"b\"]\n 20501 component:default/a [silver] [1]");
    assert_string_equal(query(f->s, "scorecard:default/dickerson", 20500, 20502),
                        "day 20500 []\n 20500 component:default/a [gold] [f]");
    assert_string_equal(query(f->s, "scorecard:default/none", 0, 3000), "");
    assert_int_equal(f->b->raw_int(f->ctx, "SELECT count(*) FROM scorecard_levels"), 5);
    assert_int_equal(f->b->raw_int(f->ctx, "SELECT count(*) FROM scorecard_snapshots"), 4);
}

static cw_err stop_at_row(void *ctx, int64_t day, const char *entity, const char *level,
                          const char *passed, cw_diag *d)
{
    (void)day, (void)entity, (void)level, (void)passed;
    ++*(int *)ctx;
    return cw_fail(d, CW_ERR_TOO_LARGE, "enough");
}

static void test_bad_input_stores_nothing(void **state)
{
    fx_store *f = *state;
    cw_diag d = {""};
    bool taken = true;
    static const cw_scorecard_level_row twice[] = {{"component:default/a", "", ""},
                                                   {"component:default/b", "", ""},
                                                   {"component:default/a", "gold", ""}};
    assert_int_equal(cw_store_scorecard_snapshot_put(f->s, 20500, PRR, "[]", twice, 3, &taken, &d),
                     CW_ERR_INVALID);
    assert_false(taken);
    assert_string_equal(d.msg, "rows: entity component:default/a is given twice");
    static const cw_scorecard_level_row ctl[] = {{"component:default/a", "gol\nd", ""}};
    assert_int_equal(cw_store_scorecard_snapshot_put(f->s, 20500, PRR, "[]", ctl, 1, &taken, &d),
                     CW_ERR_INVALID);
    assert_string_equal(d.msg, "rows[0].level: text without control characters, within its length");
    static const cw_scorecard_level_row noent[] = {{"", "gold", ""}};
    assert_int_equal(cw_store_scorecard_snapshot_put(f->s, 20500, PRR, "[]", noent, 1, &taken, &d),
                     CW_ERR_INVALID);
    assert_string_equal(d.msg,
                        "rows[0].entity: required text without control characters, within its "
                        "length");
    assert_int_equal(cw_store_scorecard_snapshot_put(f->s, -1, PRR, "[]", NULL, 0, &taken, &d),
                     CW_ERR_INVALID);
    assert_string_equal(d.msg, "day: -1 is out of range");
    assert_int_equal(cw_store_scorecard_snapshot_put(f->s, 20500, "", "[]", NULL, 0, &taken, &d),
                     CW_ERR_INVALID);
    assert_int_equal(cw_store_scorecard_snapshot_put(f->s, 20500, PRR, "\x01", NULL, 0, &taken, &d),
                     CW_ERR_INVALID);
    assert_int_equal(f->b->raw_int(f->ctx, "SELECT count(*) FROM scorecard_snapshots"), 0);
    assert_int_equal(f->b->raw_int(f->ctx, "SELECT count(*) FROM scorecard_levels"), 0);
    /* queries */
    cw_scorecard_history_query q = {PRR, 20, 10};
    assert_int_equal(cw_store_scorecard_history_each(f->s, &q, NULL, NULL, NULL, &d), CW_ERR_INVALID);
    q = (cw_scorecard_history_query){PRR, 0, CW_SCHIST_MAX_DAYS};
    assert_int_equal(cw_store_scorecard_history_each(f->s, &q, NULL, NULL, NULL, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "from, to: at most 3660 days");
    q = (cw_scorecard_history_query){NULL, 0, 1};
    assert_int_equal(cw_store_scorecard_history_each(f->s, &q, NULL, NULL, NULL, &d), CW_ERR_INVALID);
    /* a callback's error stops the stream and comes back */
    assert_int_equal(cw_store_scorecard_snapshot_put(f->s, 20500, PRR, "[]", ROWS, FX_LEN(ROWS),
                                                     &taken, &d),
                     CW_OK);
    int calls = 0;
    q = (cw_scorecard_history_query){PRR, 20500, 20500};
    assert_int_equal(cw_store_scorecard_history_each(f->s, &q, NULL, stop_at_row, &calls, &d),
                     CW_ERR_TOO_LARGE);
    assert_int_equal(calls, 1);
    /* a name no backend could hold is simply not there */
    bool has = true;
    assert_int_equal(cw_store_scorecard_snapshot_has(f->s, 20500, "scorecard:default/\xff", &has, &d),
                     CW_OK);
    assert_false(has);
}

/* ---- several instances ---------------------------------------------------------------- */

enum { RACERS = 8 };

typedef struct {
    const char *url;
    pthread_barrier_t *go;
    bool taken;
    cw_err err;
    char msg[256];
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    cw_store *s = NULL;
    cw_diag d = {""};
    r->err = cw_store_open(r->url, NULL, &s, &d);
    pthread_barrier_wait(r->go);
    if (!r->err)
        r->err = cw_store_scorecard_snapshot_put(s, 20500, PRR, "[\"a\"]", ROWS, FX_LEN(ROWS),
                                                 &r->taken, &d);
    snprintf(r->msg, sizeof r->msg, "%s", d.msg);
    cw_store_close(s);
    return NULL;
}

static void test_instances_race_for_a_day(void **state)
{
    fx_store *f = *state;
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, RACERS);
    racer r[RACERS];
    pthread_t th[RACERS];
    for (int i = 0; i < RACERS; i++) {
        r[i] = (racer){.url = fx_store_url(f), .go = &go};
        assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
    }
    int taken = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(th[i], NULL);
        if (r[i].err)
            fail_msg("racer %d: %s", i, r[i].msg);
        taken += r[i].taken;
    }
    pthread_barrier_destroy(&go);
    assert_int_equal(taken, 1);
    assert_int_equal(f->b->raw_int(f->ctx, "SELECT count(*) FROM scorecard_levels"),
                     (long long)FX_LEN(ROWS));
    assert_int_equal(f->b->raw_int(f->ctx, "SELECT count(*) FROM scorecard_snapshots"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_STORE_TEST(test_a_day_is_stored_once),
        FX_STORE_TEST(test_bad_input_stores_nothing),
        FX_STORE_TEST(test_instances_race_for_a_day),
    };
    return fx_run_backends("store scorecard history", tests, FX_LEN(tests));
}
