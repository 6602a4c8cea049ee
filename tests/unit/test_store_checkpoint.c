/* test_store_checkpoint.c — SQLite's WAL checkpoints on their own thread
 * (sqlite_checkpoint.c): under a steady stream of small commits the WAL is
 * copied back by the thread (nearly all of it: the writer copies only what
 * is left when the WAL reaches 4,096 pages) and starts over, so it stays
 * bounded; a reader holding an old snapshot keeps seeing it meanwhile, and
 * the writer does not copy the pages it held back inside a commit; what
 * was committed is all there after the store is closed and reopened. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fixtures.h"
#include "store/sql.h"
#include "store/sqlite_int.h"

#define WAL_FRAME (4096 + 24)

static long long wal_pages(const fx_store *f)
{
    char path[512];
    snprintf(path, sizeof path, "%s-wal", fx_store_url(f));
    struct stat st;
    return stat(path, &st) ? 0 : (long long)st.st_size / WAL_FRAME;
}

static cw_err create_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    (void)ctx;
    return CW__SQL_EXEC(c, NULL, d,
                        "CREATE TABLE ckpt_test (id INTEGER PRIMARY KEY, k INTEGER, b BLOB)");
}

typedef struct {
    int64_t id;
} put_ctx;

/* One row of ~3 KB under a random-ish key: a few pages per commit. */
static cw_err put_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    put_ctx *x = ctx;
    static unsigned char blob[3000];
    return CW__SQL_EXEC(c, NULL, d, "INSERT INTO ckpt_test (id, k, b) VALUES (?1, ?2, ?3)",
                        CW__SQL_INT(x->id), CW__SQL_INT((x->id * 7919) % 100003),
                        CW__SQL_BLOB(blob, sizeof blob));
}

static cw_err count_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    int64_t *n = ctx;
    cw__sql_stmt st;
    bool row = false;
    cw_err err = cw__sql_prepare(c, "SELECT count(*) FROM ckpt_test", &st, d);
    if (!err)
        err = cw__sql_step(&st, &row, d);
    if (!err && row)
        *n = cw__sql_int(&st, 0);
    cw__sql_done(&st);
    return err;
}

static int64_t count_rows(cw_store *s)
{
    int64_t n = -1;
    cw_diag d = {""};
    if (cw__sql_tx(s, CW__SQL_READ_ONE, count_tx, &n, &d))
        fail_msg("count: %s", d.msg);
    return n;
}

static void test_thread_checkpoints(void **state)
{
    fx_store *f = *state;
    cw_diag d = {""};
    assert_int_equal(cw__sql_tx(f->s, CW__SQL_WRITE, create_tx, NULL, &d), CW_OK);
    const int64_t n = 6000;
    long long high = 0;
    for (int64_t i = 1; i <= n; i++) {
        put_ctx x = {i};
        if (cw__sql_tx(f->s, CW__SQL_WRITE, put_tx, &x, &d))
            fail_msg("put %lld: %s", (long long)i, d.msg);
        long long p = wal_pages(f);
        if (p > high)
            high = p;
        /* a little time between commits, as requests leave: the thread runs */
        if (i % 16 == 0)
            nanosleep(&(struct timespec){0, 200000}, NULL);
    }
    cw__sqlite_ckpt_counts k;
    cw__sqlite_ckpt_stats((cw_sqlite *)f->s, &k);
    printf("# WAL high-water mark %lld pages over %lld commits; pages copied back by the "
           "thread %llu, by the writer %llu (at most %llu at once)\n",
           high, (long long)n, (unsigned long long)k.by_thread,
           (unsigned long long)k.by_writer, (unsigned long long)k.writer_largest);
    /* ~6,000 commits of 3-4 pages each: the WAL started over at about 4,096
     * pages (the writer never had to copy at the 16,384-page bound; the
     * thread may fall behind on a loaded machine, so the file may grow
     * somewhat past 4,096 meanwhile) */
    assert_true(high > 0);
    assert_int_equal(k.forced, 0);
    assert_true(k.writer_largest <= CW__CKPT_INLINE_PAGES + 64);
    /* the thread copies most (about 24 times what the writer copied on a
     * quiet machine; a loaded one lets the writer catch up more often) */
    assert_true(k.by_thread > k.by_writer);
    assert_int_equal(count_rows(f->s), n);
    /* closed and reopened: every row is there */
    cw_store_close(f->s);
    f->s = fx_store_open(fx_store_url(f));
    assert_int_equal(count_rows(f->s), n);
}

/* The rows written while the reader holds its snapshot: about 3 WAL
 * pages each, so that the WAL passes CW__CKPT_WAL_FILE_MAX (32 MiB) even
 * when it had just started over as the read began, and stays below
 * CW__CKPT_WAL_MAX_PAGES when it was nearly 4,096 pages then. */
#define READER_LAST (1000 + 3300)

typedef struct {
    cw_store *s;
    int64_t seen_first, seen_last;
} snap_ctx;

static cw_err snapshot_tx(cw__sql *c, void *ctx, cw_diag *d)
{
    snap_ctx *x = ctx;
    cw_err err = count_tx(c, &x->seen_first, d);
    /* while this read transaction is open, others write and checkpoint */
    for (int64_t i = 1001; i <= READER_LAST && !err; i++) {
        put_ctx p = {i};
        err = cw__sql_tx(x->s, CW__SQL_WRITE, put_tx, &p, d);
    }
    if (!err)
        err = count_tx(c, &x->seen_last, d);
    return err;
}

/*
 * A reader keeps its snapshot while 3,300 commits (past 4,096 WAL pages)
 * land. The thread cannot copy past the reader's snapshot meanwhile, so
 * at 4,096 pages thousands are left: the writer leaves them to the thread
 * rather than copying them inside a commit (before, one commit copied
 * them all). Once the reader is done the thread catches up and the WAL
 * starts over.
 */
static void test_reader_keeps_snapshot(void **state)
{
    fx_store *f = *state;
    cw_diag d = {""};
    assert_int_equal(cw__sql_tx(f->s, CW__SQL_WRITE, create_tx, NULL, &d), CW_OK);
    for (int64_t i = 1; i <= 1000; i++) {
        put_ctx x = {i};
        assert_int_equal(cw__sql_tx(f->s, CW__SQL_WRITE, put_tx, &x, &d), CW_OK);
    }
    snap_ctx x = {f->s, 0, 0};
    if (cw__sql_tx(f->s, CW__SQL_READ, snapshot_tx, &x, &d))
        fail_msg("snapshot: %s", d.msg);
    assert_int_equal(x.seen_first, 1000);
    assert_int_equal(x.seen_last, 1000);
    long long held = wal_pages(f);
    for (int64_t i = READER_LAST + 1; i <= READER_LAST + 3000; i++) {
        put_ctx p = {i};
        assert_int_equal(cw__sql_tx(f->s, CW__SQL_WRITE, put_tx, &p, &d), CW_OK);
        if (i % 16 == 0)
            nanosleep(&(struct timespec){0, 200000}, NULL);
    }
    cw__sqlite_ckpt_counts k;
    cw__sqlite_ckpt_stats((cw_sqlite *)f->s, &k);
    printf("# WAL %lld pages after the reader; %lld at the end; copied by the thread %llu, "
           "by the writer %llu (at most %llu at once)\n",
           held, wal_pages(f), (unsigned long long)k.by_thread,
           (unsigned long long)k.by_writer, (unsigned long long)k.writer_largest);
    assert_true(held * WAL_FRAME > CW__CKPT_WAL_FILE_MAX);
    assert_int_equal(k.forced, 0);
    assert_true(k.writer_largest <= CW__CKPT_INLINE_PAGES + 64);
    /* the WAL started over after the reader, and the file was cut back */
    assert_true(wal_pages(f) * WAL_FRAME <= CW__CKPT_WAL_FILE_MAX);
    assert_int_equal(count_rows(f->s), READER_LAST + 3000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_SQLITE_TEST(test_thread_checkpoints),
        FX_SQLITE_TEST(test_reader_keeps_snapshot),
    };
    return cmocka_run_group_tests_name("store_checkpoint", tests, NULL, NULL);
}
