/*
 * token_use.c — token "last used" bookkeeping off the request path (see
 * token_use.h). The pending uses live in one map (decimal id -> time); the
 * writer takes the whole map out under the lock, writes it without the
 * lock, and merges it back when the database was busy, so requests only
 * ever wait for a map update.
 */
#include "http/token_use.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "util/strmap.h"

struct cw_token_uses {
    cw_store *store;
    unsigned interval_ms;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    cw_strmap pending;     /* decimal token id -> last use (seconds), under mu */
    bool stop;             /* under mu */
    pthread_t thread;
};

/* Puts id -> at into m unless m holds a later time already. */
static cw_err keep_latest(cw_strmap *m, const char *key, int64_t at)
{
    void *cur = cw_strmap_get(m, key);
    if (cur && (int64_t)(intptr_t)cur >= at)
        return CW_OK;
    return cw_strmap_put(m, key, (void *)(intptr_t)at);
}

void cw_token_uses_note(cw_token_uses *u, int64_t id, int64_t at)
{
    if (!u)
        return;
    char key[24];
    snprintf(key, sizeof key, "%" PRId64, id);
    pthread_mutex_lock(&u->mu);
    bool was_empty = u->pending.len == 0;
    /* out of memory: this use is not noted; the next one will be */
    (void)keep_latest(&u->pending, key, at);
    if (was_empty && u->pending.len)
        pthread_cond_signal(&u->cv);
    pthread_mutex_unlock(&u->mu);
}

/* Writes the uses of m; CW_ERR_BUSY when the database was locked. */
static cw_err write_uses(cw_token_uses *u, const cw_strmap *m, bool nowait, cw_diag *d)
{
    cw_token_use *uses = malloc((m->len ? m->len : 1) * sizeof *uses);
    if (!uses)
        return cw_fail(d, CW_ERR_NOMEM, "token uses: out of memory");
    size_t n = 0;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        uses[n].id = strtoll(m->slots[i].key, NULL, 10);
        uses[n].at = (int64_t)(intptr_t)m->slots[i].value;
        n++;
    }
    cw_err err = cw_store_token_touch_many(u->store, uses, n, nowait, d);
    free(uses);
    return err;
}

/* Puts the uses of m back into pending (under mu), keeping later ones. */
static void merge_back(cw_token_uses *u, const cw_strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            (void)keep_latest(&u->pending, m->slots[i].key,
                              (int64_t)(intptr_t)m->slots[i].value);
}

static void deadline_in(struct timespec *ts, unsigned ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *writer(void *arg)
{
    cw_token_uses *u = arg;
    pthread_mutex_lock(&u->mu);
    while (!u->stop) {
        while (!u->stop && u->pending.len == 0)
            pthread_cond_wait(&u->cv, &u->mu);
        /* let the uses of one interval gather into one write */
        struct timespec until;
        deadline_in(&until, u->interval_ms);
        while (!u->stop && pthread_cond_timedwait(&u->cv, &u->mu, &until) != ETIMEDOUT)
            ;
        if (u->stop)
            break;
        cw_strmap batch = u->pending;
        memset(&u->pending, 0, sizeof u->pending);
        pthread_mutex_unlock(&u->mu);
        cw_diag d = {{0}};
        cw_err err = write_uses(u, &batch, true, &d);
        if (err && err != CW_ERR_BUSY)
            cw_log(CW_LOG_WARN, "token last-use not recorded yet; will retry",
                   json_pack("{s:s}", "error", d.msg));
        pthread_mutex_lock(&u->mu);
        if (err)
            merge_back(u, &batch); /* tried again after the next interval */
        cw_strmap_free(&batch);
    }
    pthread_mutex_unlock(&u->mu);
    return NULL;
}

cw_err cw_token_uses_start(cw_store *store, unsigned interval_ms, cw_token_uses **out,
                           cw_diag *d)
{
    *out = NULL;
    cw_token_uses *u = calloc(1, sizeof *u);
    if (!u)
        return cw_fail(d, CW_ERR_NOMEM, "token uses: out of memory");
    u->store = store;
    u->interval_ms = interval_ms ? interval_ms : 1000;
    pthread_mutex_init(&u->mu, NULL);
    pthread_cond_init(&u->cv, NULL);
    if (pthread_create(&u->thread, NULL, writer, u) != 0) {
        pthread_cond_destroy(&u->cv);
        pthread_mutex_destroy(&u->mu);
        free(u);
        return cw_fail(d, CW_ERR_IO, "token uses: cannot start the writer thread");
    }
    *out = u;
    return CW_OK;
}

void cw_token_uses_stop(cw_token_uses *u)
{
    if (!u)
        return;
    pthread_mutex_lock(&u->mu);
    u->stop = true;
    pthread_cond_broadcast(&u->cv);
    pthread_mutex_unlock(&u->mu);
    pthread_join(u->thread, NULL);
    /* the last figures, waiting for locks this time (the server is going) */
    if (u->pending.len) {
        cw_diag d = {{0}};
        if (write_uses(u, &u->pending, false, &d))
            cw_log(CW_LOG_WARN, "token last-use not recorded at shutdown",
                   json_pack("{s:s}", "error", d.msg));
    }
    cw_strmap_free(&u->pending);
    pthread_cond_destroy(&u->cv);
    pthread_mutex_destroy(&u->mu);
    free(u);
}
