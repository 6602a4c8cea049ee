/*
 * test_token_use.c — token "last used" bookkeeping off the request path
 * (issue #10): uses noted in memory reach the database in the background,
 * a lock held by someone else delays them without losing them, and what is
 * left is written at stop. Run against each store backend.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fixtures.h"
#include "http/token_use.h"
#include "store/store.h"

static void sha256_hex(const char *s, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    assert_int_equal(EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL), 1);
    for (size_t i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int64_t last_used(cw_store *s, const char *hash)
{
    cw_token t;
    cw_diag d = {""};
    assert_int_equal(cw_store_token_find(s, hash, &t, &d), CW_OK);
    return t.last_used_at;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits up to 5 s for the token's last use to become want. */
static bool wait_for(cw_store *s, const char *hash, int64_t want)
{
    for (int i = 0; i < 500; i++) {
        if (last_used(s, hash) == want)
            return true;
        sleep_ms(10);
    }
    return false;
}

/* A lock of the kind a request used to wait for: another process's write
 * transaction (SQLite) or the token rows locked by another session. */
typedef struct {
    sqlite3 *db;
#ifdef CONWAY_HAVE_PG
    PGconn *pg;
#endif
} outside_lock;

static void lock_take(const fx_store *f, outside_lock *l)
{
    memset(l, 0, sizeof *l);
    if (f->b == &fx_sqlite_backend) {
        assert_int_equal(sqlite3_open(fx_store_url(f), &l->db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(l->db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
        return;
    }
#ifdef CONWAY_HAVE_PG
    l->pg = fx_pg_connect(fx_store_url(f));
    PGresult *r = PQexec(l->pg, "BEGIN; SELECT id FROM tokens FOR UPDATE");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
#endif
}

static void lock_release(outside_lock *l)
{
    if (l->db) {
        sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(l->db);
    }
#ifdef CONWAY_HAVE_PG
    if (l->pg) {
        PQclear(PQexec(l->pg, "ROLLBACK"));
        PQfinish(l->pg);
    }
#endif
}

static void test_uses_reach_the_store_in_the_background(void **state)
{
    fx_store *f = *state;
    cw_diag d = {""};
    char h1[65], h2[65];
    sha256_hex("cw_use_one", h1);
    sha256_hex("cw_use_two", h2);
    cw_token t1, t2;
    assert_int_equal(cw_store_token_create(f->s, "one", "viewer", "", h1, &t1, &d), CW_OK);
    assert_int_equal(cw_store_token_create(f->s, "two", "ingest", "", h2, &t2, &d), CW_OK);
    cw_token_uses *u = NULL;
    assert_int_equal(cw_token_uses_start(f->s, 20, &u, &d), CW_OK);

    cw_token_uses_note(u, t1.id, 1700000100);
    cw_token_uses_note(u, t1.id, 1700000050); /* an older note does not win */
    cw_token_uses_note(u, t2.id, 1700000200);
    assert_true(wait_for(f->s, h1, 1700000100));
    assert_true(wait_for(f->s, h2, 1700000200));

    /* while someone else holds the lock, notes wait in memory (and noting
     * never waits); once it is gone they are written */
    outside_lock l;
    lock_take(f, &l);
    cw_token_uses_note(u, t1.id, 1700000300);
    sleep_ms(200); /* several intervals: the writer tried and found the lock */
    assert_int_equal(last_used(f->s, h1), 1700000100);
    cw_token_uses_note(u, t2.id, 1700000400);
    lock_release(&l);
    assert_true(wait_for(f->s, h1, 1700000300));
    assert_true(wait_for(f->s, h2, 1700000400));

    /* what is noted right before stop is written by stop */
    cw_token_uses_note(u, t1.id, 1700000500);
    cw_token_uses_stop(u);
    assert_int_equal(last_used(f->s, h1), 1700000500);
    cw_token_uses_note(NULL, t1.id, 1); /* no bookkeeping: nothing happens */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_STORE_TEST(test_uses_reach_the_store_in_the_background),
    };
    return fx_run_backends("token use", tests, FX_LEN(tests));
}
