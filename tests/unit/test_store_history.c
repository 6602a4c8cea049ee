/*
 * test_store_history.c — the findings history of the store
 * (store/store_history.h) on every backend: a day is stored once, an empty
 * day is still a day, queries by scope, rule and range, bad input refused
 * with nothing stored, and eight stores on one database racing to
 * snapshot the same day (as several conway instances do) storing it
 * exactly once.
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
#include "store/store_history.h"

static const cw_finding_count DAY_ROWS[] = {
    {"architecture", "dependency-cycle", "error", "org", 1},
    {"architecture", "dependency-cycle", "error", "group:default/team-a", 1},
    {"architecture", "shared-datastore", "warning", "org", 2},
    {"ownership", "owner-missing", "error", "org", 3},
    {"ownership", "owner-missing", "silenced", "org", 1},
};

/* "day kind rule severity count" lines of h's rows, and the days. */
static const char *text_of(const cw_history *h)
{
    static char buf[4096];
    size_t o = (size_t)snprintf(buf, sizeof buf, "days:");
    for (size_t i = 0; i < h->ndays; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, " %lld", (long long)h->days[i]);
    for (size_t i = 0; i < h->nrows; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "\n%lld %s %s %s %lld",
                              (long long)h->rows[i].day, h->rows[i].kind, h->rows[i].rule,
                              h->rows[i].severity, (long long)h->rows[i].count);
    assert_true(o < sizeof buf);
    return buf;
}

static const char *query(cw_store *s, const char *scope, const char *rule, int64_t from,
                         int64_t to)
{
    cw_history h;
    cw_diag d = {""};
    cw_history_query q = {.scope = scope, .rule = rule, .from_day = from, .to_day = to};
    if (cw_store_history_query(s, &q, &h, &d))
        fail_msg("query: %s", d.msg);
    const char *t = text_of(&h);
    cw_history_free(&h);
    return t;
}

static void test_a_day_is_stored_once(void **state)
{
    fx_store *f = *state;
    cw_diag d = {""};
    bool taken = false, has = true;
    assert_int_equal(cw_store_history_has(f->s, 20000, &has, &d), CW_OK);
    assert_false(has);
    assert_int_equal(cw_store_history_put(f->s, 20000, DAY_ROWS, FX_LEN(DAY_ROWS), &taken, &d),
                     CW_OK);
    assert_true(taken);
    assert_int_equal(cw_store_history_has(f->s, 20000, &has, &d), CW_OK);
    assert_true(has);
    /* the second snapshot of the day stores nothing, even other counts */
    cw_finding_count other = {"architecture", "fan-in", "warning", "org", 9};
    assert_int_equal(cw_store_history_put(f->s, 20000, &other, 1, &taken, &d), CW_OK);
    assert_false(taken);
    /* a day without findings is a day */
    assert_int_equal(cw_store_history_put(f->s, 20002, NULL, 0, &taken, &d), CW_OK);
    assert_true(taken);
    assert_string_equal(query(f->s, "org", NULL, 19990, 20010),
                        "days: 20000 20002\n"
                        "20000 architecture dependency-cycle error 1\n"
                        "20000 architecture shared-datastore warning 2\n"
                        "20000 ownership owner-missing error 3\n"
                        "20000 ownership owner-missing silenced 1");
    assert_string_equal(query(f->s, "group:default/team-a", NULL, 20000, 20000),
                        "days: 20000\n20000 architecture dependency-cycle error 1");
    assert_string_equal(query(f->s, "org", "owner-missing", 20000, 20002),
                        "days: 20000 20002\n"
                        "20000 ownership owner-missing error 3\n"
                        "20000 ownership owner-missing silenced 1");
    assert_string_equal(query(f->s, "org", NULL, 20001, 20001), "days:");
    assert_string_equal(query(f->s, "group:default/nobody", NULL, 19000, 21000),
                        "days: 20000 20002");
}

static void test_bad_input_stores_nothing(void **state)
{
    fx_store *f = *state;
    cw_diag d = {""};
    bool taken = true;
    const struct {
        cw_finding_count row;
        const char *msg;
    } bad[] = {
        {{"architecture", "fan-in", "warning", "org", 0}, "rows[1].count: must be positive"},
        {{"", "fan-in", "warning", "org", 1}, "rows[1].kind: "},
        {{"architecture", NULL, "warning", "org", 1}, "rows[1].rule: "},
        {{"architecture", "fan-in", "warn\ning", "org", 1}, "rows[1].severity: "},
        {{"architecture", "fan-in", "warning", "", 1}, "rows[1].scope: "},
        {{"architecture", "dependency-cycle", "error", "org", 5}, "rows: architecture dependency-cycle error org is given twice"},
    };
    for (size_t i = 0; i < FX_LEN(bad); i++) {
        cw_finding_count rows[2] = {DAY_ROWS[0], bad[i].row};
        assert_int_equal(cw_store_history_put(f->s, 20100, rows, 2, &taken, &d), CW_ERR_INVALID);
        assert_false(taken);
        assert_int_equal(strncmp(d.msg, bad[i].msg, strlen(bad[i].msg)), 0);
    }
    assert_int_equal(cw_store_history_put(f->s, -1, NULL, 0, &taken, &d), CW_ERR_INVALID);
    bool has = true;
    assert_int_equal(cw_store_history_has(f->s, 20100, &has, &d), CW_OK);
    assert_false(has);
    cw_history h;
    cw_history_query q = {.scope = "org", .from_day = 10, .to_day = 9};
    assert_int_equal(cw_store_history_query(f->s, &q, &h, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "to: must not be before from");
    q = (cw_history_query){.scope = "org", .from_day = 0, .to_day = CW_HISTORY_MAX_DAYS};
    assert_int_equal(cw_store_history_query(f->s, &q, &h, &d), CW_ERR_INVALID);
    q = (cw_history_query){.scope = NULL, .from_day = 0, .to_day = 1};
    assert_int_equal(cw_store_history_query(f->s, &q, &h, &d), CW_ERR_INVALID);
    /* text the database never stored finds nothing (not UTF-8 on PostgreSQL) */
    assert_string_equal(query(f->s, "group:default/\xff", "\xfe", 0, 10), "days:");
}

/* ---- several instances ---------------------------------------------------------------- */

enum { RACERS = 8 };

typedef struct {
    const char *url;
    pthread_barrier_t *go;
    bool taken;
    cw_err err;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    cw_store *s = NULL;
    cw_diag d = {""};
    r->err = cw_store_open(r->url, NULL, &s, &d);
    pthread_barrier_wait(r->go);
    if (!r->err)
        r->err = cw_store_history_put(s, 20500, DAY_ROWS, FX_LEN(DAY_ROWS), &r->taken, &d);
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
        assert_int_equal(r[i].err, CW_OK);
        taken += r[i].taken;
    }
    pthread_barrier_destroy(&go);
    assert_int_equal(taken, 1);
    assert_string_equal(query(f->s, "org", "dependency-cycle", 20500, 20500),
                        "days: 20500\n20500 architecture dependency-cycle error 1");
    assert_int_equal(f->b->raw_int(f->ctx, "SELECT count(*) FROM finding_counts"),
                     (long long)FX_LEN(DAY_ROWS));
    assert_int_equal(f->b->raw_int(f->ctx, "SELECT count(*) FROM finding_snapshots"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_STORE_TEST(test_a_day_is_stored_once),
        FX_STORE_TEST(test_bad_input_stores_nothing),
        FX_STORE_TEST(test_instances_race_for_a_day),
    };
    return fx_run_backends("store history", tests, FX_LEN(tests));
}
