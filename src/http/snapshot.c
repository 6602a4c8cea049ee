/*
 * snapshot.c — the snapshot thread (snapshot.h). It sleeps on a condition
 * variable so that stopping never waits out the interval, and logs every
 * attempt: taken (this instance stored the day), present (the day was
 * stored before, here or by another instance), or the error.
 */
#include "http/snapshot.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/scorecard_snapshot.h"
#include "util/log.h"
#include "util/timeutil.h"

struct cw_snapshotter {
    cw_store *store;
    cw_findings_cfg cfg;
    unsigned interval_s;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

static void take(cw_snapshotter *sn)
{
    cw_diag d = {{0}};
    bool taken = false;
    size_t rows = 0;
    int64_t now = cw_now_ms();
    char day[16];
    cw_day_format(cw_day_of_ms(now), day);
    int64_t t0 = cw_mono_ns();
    cw_err err = cw_findings_snapshot(sn->store, &sn->cfg, now, &taken, &rows, &d);
    double ms = (double)(cw_mono_ns() - t0) / 1e6;
    if (err)
        cw_log(CW_LOG_WARN, "findings snapshot failed",
               json_pack("{s:s, s:s, s:s}", "day", day, "error", cw_err_name(err), "detail", d.msg));
    else if (taken)
        cw_log(CW_LOG_INFO, "findings snapshot taken",
               json_pack("{s:s, s:I, s:f}", "day", day, "rows", (json_int_t)rows, "ms", ms));
    else
        cw_log(CW_LOG_DEBUG, "findings snapshot present", json_pack("{s:s}", "day", day));
    /* then the scorecards (issue 15): each scorecard's day is claimed on its
     * own, so one imported today is snapshotted at the next tick */
    size_t cards = 0;
    rows = 0;
    memset(&d, 0, sizeof d);
    t0 = cw_mono_ns();
    err = cw_scorecards_snapshot(sn->store, &sn->cfg, now, &cards, &rows, &d);
    ms = (double)(cw_mono_ns() - t0) / 1e6;
    if (err)
        cw_log(CW_LOG_WARN, "scorecard snapshot failed",
               json_pack("{s:s, s:s, s:s}", "day", day, "error", cw_err_name(err), "detail", d.msg));
    else if (cards)
        cw_log(CW_LOG_INFO, "scorecard snapshot taken",
               json_pack("{s:s, s:I, s:I, s:f}", "day", day, "scorecards", (json_int_t)cards,
                         "rows", (json_int_t)rows, "ms", ms));
#ifdef __GLIBC__
    /* A snapshot reads the whole catalog as JSON: millions of small blocks
     * in this thread's malloc arena, which glibc keeps once they are freed.
     * Handing the free pages back after the day's snapshot keeps the
     * server's resident memory at what it uses (bench/RESULTS.md). */
    if (taken || cards)
        malloc_trim(0);
#endif
}

static void *run(void *arg)
{
    cw_snapshotter *sn = arg;
    pthread_mutex_lock(&sn->mu);
    while (!sn->stop) {
        pthread_mutex_unlock(&sn->mu);
        take(sn);
        pthread_mutex_lock(&sn->mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += sn->interval_s;
        while (!sn->stop && pthread_cond_timedwait(&sn->cv, &sn->mu, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&sn->mu);
    return NULL;
}

cw_err cw_snapshotter_start(cw_store *s, const cw_findings_cfg *cfg, unsigned interval_s,
                            cw_snapshotter **out, cw_diag *d)
{
    *out = NULL;
    if (!interval_s)
        return cw_fail(d, CW_ERR_INVALID, "snapshot interval: must be positive");
    cw_snapshotter *sn = calloc(1, sizeof *sn);
    if (!sn)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory starting the findings snapshot");
    sn->store = s;
    if (cfg)
        sn->cfg = *cfg;
    sn->interval_s = interval_s;
    pthread_mutex_init(&sn->mu, NULL);
    pthread_cond_init(&sn->cv, NULL);
    if (pthread_create(&sn->thread, NULL, run, sn) != 0) {
        pthread_mutex_destroy(&sn->mu);
        pthread_cond_destroy(&sn->cv);
        free(sn);
        return cw_fail(d, CW_ERR_IO, "cannot start the findings snapshot thread");
    }
    *out = sn;
    return CW_OK;
}

void cw_snapshotter_stop(cw_snapshotter *sn)
{
    if (!sn)
        return;
    pthread_mutex_lock(&sn->mu);
    sn->stop = true;
    pthread_cond_signal(&sn->cv);
    pthread_mutex_unlock(&sn->mu);
    pthread_join(sn->thread, NULL);
    pthread_mutex_destroy(&sn->mu);
    pthread_cond_destroy(&sn->cv);
    free(sn);
}
