/* test_store_hb_gc.c — the group commit of pings (store_hb_gc.c) on every
 * backend: threads pinging at once through cw_store_hb_ping_grouped and
 * cw_store_hb_ping_async get each their own ping's answer (OK, not found for
 * an unknown key, invalid for bad arguments in the same groups), every ping
 * is stored once, and the pings share transactions; the status changes
 * that notify nobody taken together (cw_store_hb_flips_skip), each once. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "store/store_heartbeats.h"
#include "util/crypto.h"

#define NHB 16
#define NTHREADS 8
#define PER_THREAD 40
#define NASYNC 200

static const int64_t T0 = 1780000000000LL;

typedef struct {
    cw_store *s;
    int id;
    int ok, not_found, invalid, other;
} worker;

static void hash_of(int i, char hash[65])
{
    char secret[32];
    snprintf(secret, sizeof secret, "gc-secret-%d", i);
    cw_sha256_hex(secret, strlen(secret), hash);
}

static void *pinger(void *arg)
{
    worker *w = arg;
    for (int k = 0; k < PER_THREAD; k++) {
        char hash[65];
        /* every tenth ping an unknown key, every twentieth an invalid rid */
        hash_of(k % 10 == 9 ? 1000 + w->id : (w->id + k) % NHB, hash);
        const char *rid = k % 20 == 19 ? "a-rid-that-is-much-longer-than-any-uuid-can-be" : "";
        cw_hb_ping_in in = {.key_hash = hash, .kind = CW_PING_SUCCESS, .exit_status = -1,
                            .rid = rid, .method = "GET", .remote = "127.0.0.1", .ua = "t",
                            .now_ms = T0 + k};
        cw_hb_ping_out out;
        cw_diag d = {{0}};
        cw_err err = cw_store_hb_ping_grouped(w->s, &in, &out, &d);
        if (err == CW_ERR_INVALID)
            w->invalid++;
        else if (err)
            w->other++;
        else if (out.err == CW_ERR_NOT_FOUND)
            w->not_found++;
        else if (out.err == CW_OK)
            w->ok++;
        else
            w->other++;
    }
    return NULL;
}

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int left;
} countdown;

typedef struct {
    cw_hb_ping_in in;
    cw_hb_ping_out out;
    cw_err err;
    cw_diag d;
    char hash[65];
    countdown *cd;
} async_ping;

static void async_done(void *arg)
{
    async_ping *a = arg;
    pthread_mutex_lock(&a->cd->mu);
    if (--a->cd->left == 0)
        pthread_cond_signal(&a->cd->cv);
    pthread_mutex_unlock(&a->cd->mu);
}

static void test_concurrent_pings(void **state)
{
    cw_store *s = ((fx_store *)*state)->s;
    cw_diag d = {{0}};
    for (int i = 0; i < NHB; i++) {
        json_t *e = fx_entity("{'apiVersion':'conway.dev/v1','kind':'Heartbeat','metadata':"
                              "{'name':'gc-%d'},'spec':{'owner':'team-a','purpose':'job',"
                              "'period':'1d','grace':'1h'}}",
                              i);
        assert_int_equal(cw_store_entity_put(s, e, NULL, NULL, &d), CW_OK);
        json_decref(e);
    }
    cw_hb_sync_result r;
    assert_int_equal(cw_store_hb_sync(s, T0, &r, &d), CW_OK);
    for (int i = 0; i < NHB; i++) {
        char key[64], hash[65];
        snprintf(key, sizeof key, "heartbeat:default/gc-%d", i);
        hash_of(i, hash);
        assert_int_equal(cw_store_hb_set_key(s, key, hash, &d), CW_OK);
    }
    uint64_t txs0, pings0;
    cw_store_hb_ping_stats(s, &txs0, &pings0);

    /* async pings queued first, then the blocking threads join them */
    countdown cd = {.left = NASYNC};
    pthread_mutex_init(&cd.mu, NULL);
    pthread_cond_init(&cd.cv, NULL);
    async_ping *as = calloc(NASYNC, sizeof *as);
    assert_non_null(as);
    for (int i = 0; i < NASYNC; i++) {
        as[i].cd = &cd;
        hash_of(i % 25 == 24 ? 5000 : i % NHB, as[i].hash);
        as[i].in = (cw_hb_ping_in){.key_hash = as[i].hash, .kind = CW_PING_SUCCESS,
                                   .exit_status = -1, .method = "POST", .remote = "::1",
                                   .ua = "async", .body = "x", .body_len = 1, .body_size = 1,
                                   .now_ms = T0 + 1000 + i};
        assert_int_equal(cw_store_hb_ping_async(s, &as[i].in, &as[i].out, &as[i].err, &as[i].d,
                                                async_done, &as[i]),
                         CW_OK);
    }
    worker w[NTHREADS];
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (worker){.s = s, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, pinger, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_lock(&cd.mu);
    while (cd.left)
        pthread_cond_wait(&cd.cv, &cd.mu);
    pthread_mutex_unlock(&cd.mu);

    int ok = 0, nf = 0, inv = 0;
    for (int i = 0; i < NTHREADS; i++) {
        assert_int_equal(w[i].other, 0);
        ok += w[i].ok;
        nf += w[i].not_found;
        inv += w[i].invalid;
    }
    assert_int_equal(nf, NTHREADS * 2);  /* k = 9, 29 (19 and 39 are invalid) */
    assert_int_equal(inv, NTHREADS * 2); /* k = 19, 39 */
    assert_int_equal(ok, NTHREADS * (PER_THREAD - 4));
    int aok = 0, anf = 0;
    for (int i = 0; i < NASYNC; i++) {
        assert_int_equal(as[i].err, CW_OK);
        if (as[i].out.err == CW_ERR_NOT_FOUND) {
            anf++;
        } else {
            assert_int_equal(as[i].out.err, CW_OK);
            assert_true(strncmp(as[i].out.key, "heartbeat:default/gc-", 21) == 0);
            aok++;
        }
    }
    assert_int_equal(anf, NASYNC / 25);
    /* every answered ping stored once */
    cw_hb_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(cw_store_hb_list(s, &rows, &n, &d), CW_OK);
    assert_int_equal(n, NHB);
    int64_t stored = 0;
    for (size_t i = 0; i < n; i++)
        stored += rows[i].state.n_pings;
    free(rows);
    assert_int_equal(stored, ok + aok);
    uint64_t txs, pings;
    cw_store_hb_ping_stats(s, &txs, &pings);
    assert_int_equal(pings - pings0, (uint64_t)(NTHREADS * PER_THREAD + NASYNC));
    /* shared transactions: the async burst alone is written in a few */
    print_message("%llu pings in %llu transactions\n", (unsigned long long)(pings - pings0),
                  (unsigned long long)(txs - txs0));
    assert_true(txs - txs0 < pings - pings0);
    free(as);
    /* the first pings made a status change each (new -> up): no news, taken
     * together in one call, each once */
    cw_hb_flip_rec *fl = NULL;
    assert_int_equal(cw_store_hb_flips_pending(s, 1000, &fl, &n, &d), CW_OK);
    assert_int_equal(n, NHB);
    int64_t ids[NHB + 1];
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(fl[i].to, CW_HB_UP);
        ids[i] = fl[i].id;
    }
    free(fl);
    size_t skipped = 0;
    assert_int_equal(cw_store_hb_flips_skip(s, ids, 3, T0 + 5000, &skipped, &d), CW_OK);
    assert_int_equal(skipped, 3);
    assert_int_equal(cw_store_hb_flips_skip(s, ids, NHB, T0 + 5000, &skipped, &d), CW_OK);
    assert_int_equal(skipped, NHB - 3);
    assert_int_equal(cw_store_hb_flips_pending(s, 1000, &fl, &n, &d), CW_OK);
    free(fl);
    assert_int_equal(n, 0);
    pthread_cond_destroy(&cd.cv);
    pthread_mutex_destroy(&cd.mu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_STORE_TEST(test_concurrent_pings),
    };
    return fx_run_backends("store_hb_gc", tests, FX_LEN(tests));
}
