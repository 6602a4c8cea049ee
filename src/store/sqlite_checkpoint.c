/*
 * sqlite_checkpoint.c — WAL checkpoints off the commit path.
 *
 * By default SQLite checkpoints in the connection that commits, once the
 * WAL holds 1,000 pages: that commit copies the pages into the database
 * file and syncs it before it returns, and everyone waiting on it (a ping's
 * answer, the group of pings queued behind it) waits for both. Here the
 * writer only notes, after each commit, how much of the WAL is not yet
 * copied (a WAL hook, which replaces the automatic checkpoint) and wakes a
 * thread that checkpoints through a connection of its own. Its checkpoints
 * are PASSIVE: they copy what no reader still needs and never block the
 * writer or the readers; the WAL starts over from its beginning at the
 * first write after one of them has caught up.
 *
 * Checkpoints trickle (CKPT_START_PAGES is small): a commit's sync also
 * waits for whatever else was written to the disk since the last sync, so
 * a checkpoint that copies a large batch at once makes the commits syncing
 * after it slow. Under a steady stream of commits the thread runs one
 * checkpoint after another, each copying the pages of the last few
 * commits, and each commit's sync carries only a small share. Measured on
 * heartbeat pings (bench/RESULTS.md): a transaction's p99 1.2-1.6 ms when
 * waking at 8 or 32 pages, 2.5 ms at 256; a raw sync of 5 pages went from
 * p99 0.6 ms to 2.9 ms beside 250-page bursts.
 *
 * Once the WAL holds CW__CKPT_WAL_PAGES the committing connection copies
 * the few pages the thread has not yet (wal_hook says why), and the WAL
 * starts over. When the thread is far behind — a long read transaction
 * kept it from copying past the reader's snapshot, or it lost its CPU —
 * the writer leaves the copying to it: copying thousands of pages inside
 * a commit held every ping queued behind that commit for 38-75 ms
 * (bench/RESULTS.md). From CW__CKPT_WAL_MAX_PAGES (64 MiB) on, the writer
 * copies whatever it can, as SQLite's own automatic checkpoint would.
 *
 * Bounds: with no read open for long, the WAL holds about 4,096 pages,
 * and at most CW__CKPT_WAL_MAX_PAGES plus what is committed while a
 * checkpoint runs. No checkpoint can copy past the snapshot of a read
 * still open, and the WAL only starts over once every page is copied and
 * no read uses it: a read held open forever grows it without bound, as in
 * SQLite. When it starts over after such growth, the writer's next commit
 * cuts the file back to CW__CKPT_WAL_FILE_MAX (journal_size_limit).
 */
#include "store/sqlite_int.h"

#include <stdlib.h>
#include <string.h>

#define CKPT_START_PAGES 32     /* not yet copied: wake the thread */
#define SQLITE_AUTO_PAGES 1000  /* SQLite's own automatic checkpoint (its default) */

struct cw__sqlite_ckpt {
    sqlite3 *db;       /* the thread's own connection */
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool wanted, stopping;
    int pages;         /* the WAL's size at the last commit */
    uint64_t gen;      /* times the WAL started over */
    int copied;        /* pages of this WAL known to be copied back */
    cw__sqlite_ckpt_counts counts;
};

/*
 * Notes what a checkpoint that began in WAL generation gen copied (mu
 * held): copied is its count of copied pages in that WAL. A result from
 * before the WAL started over, or one older than a result already noted,
 * says nothing new. *by counts the pages; returns them.
 */
static uint64_t note_copied(cw__sqlite_ckpt *k, uint64_t gen, int copied, uint64_t *by)
{
    if (copied < 0 || gen != k->gen || copied <= k->copied)
        return 0;
    uint64_t n = (uint64_t)(copied - k->copied);
    *by += n;
    k->copied = copied;
    return n;
}

/*
 * A fork() must not happen in the middle of a checkpoint: the child would
 * inherit SQLite's locks and allocations held by a thread it does not
 * have (a test's child process that opens the store deadlocks or leaks).
 * Checkpoints run under fork_mu, which fork() takes first (pthread_atfork).
 */
static pthread_mutex_t fork_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void fork_prepare(void) { pthread_mutex_lock(&fork_mu); }
static void fork_release(void) { pthread_mutex_unlock(&fork_mu); }
static void fork_register(void) { pthread_atfork(fork_prepare, fork_release, fork_release); }

static void *checkpointer(void *arg)
{
    cw__sqlite_ckpt *k = arg;
    pthread_mutex_lock(&k->mu);
    for (;;) {
        while (!k->wanted && !k->stopping)
            pthread_cond_wait(&k->cv, &k->mu);
        if (k->stopping)
            break;
        k->wanted = false;
        uint64_t gen = k->gen;
        pthread_mutex_unlock(&k->mu);
        /* SQLITE_BUSY (another process checkpointing) is harmless: the next
         * commit asks again */
        int log = 0, copied = 0;
        pthread_mutex_lock(&fork_mu);
        int rc = sqlite3_wal_checkpoint_v2(k->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
        pthread_mutex_unlock(&fork_mu);
        pthread_mutex_lock(&k->mu);
        if (rc == SQLITE_OK)
            note_copied(k, gen, copied, &k->counts.by_thread);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

/* Runs in the writer after each commit, once SQLite has released the
 * database's write lock (which is why a checkpoint may run here, as
 * SQLite's own automatic one does); conway's write_mu is still held, so no
 * other commit starts meanwhile. pages is the WAL's size. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    cw__sqlite_ckpt *k = arg;
    pthread_mutex_lock(&k->mu);
    if (pages < k->pages) { /* the WAL started over */
        k->gen++;
        k->copied = 0;
    }
    k->pages = pages;
    uint64_t gen = k->gen;
    int behind = pages - k->copied;
    if (behind >= CKPT_START_PAGES && !k->wanted) {
        k->wanted = true;
        pthread_cond_signal(&k->cv);
    }
    pthread_mutex_unlock(&k->mu);
    /* Under a steady stream of commits the thread copies nearly all, but
     * the WAL starts over only when a write begins with all of it copied,
     * which the next commit usually forestalls: here, between commits, the
     * writer copies the few pages left itself, and its next write starts
     * the WAL over. Many pages left: the thread's work, until the WAL is
     * too large to wait. */
    bool few = behind <= CW__CKPT_INLINE_PAGES;
    if ((pages >= CW__CKPT_WAL_PAGES && few) || pages >= CW__CKPT_WAL_MAX_PAGES) {
        int log = 0, copied = 0, rc = SQLITE_BUSY;
        /* fork_mu is held through the thread's checkpoint (or a fork): the
         * few pages are not worth waiting for, busy as SQLite's checkpoint
         * lock would be, and the next commit tries again; at the bound the
         * writer waits its turn, so the WAL does start over */
        if (few ? pthread_mutex_trylock(&fork_mu) == 0 : pthread_mutex_lock(&fork_mu) == 0) {
            rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
            pthread_mutex_unlock(&fork_mu);
        }
        pthread_mutex_lock(&k->mu);
        if (!few)
            k->counts.forced++;
        if (rc == SQLITE_OK) {
            uint64_t n = note_copied(k, gen, copied, &k->counts.by_writer);
            if (n > k->counts.writer_largest)
                k->counts.writer_largest = n;
        }
        pthread_mutex_unlock(&k->mu);
    }
    return SQLITE_OK;
}

cw_err cw__sqlite_ckpt_start(cw_sqlite *s, cw_diag *d)
{
    cw__sqlite_ckpt *k = calloc(1, sizeof *k);
    if (!k)
        return cw_fail(d, CW_ERR_NOMEM, "database: out of memory");
    cw_err err = CW_OK;
    bool mu = false, cv = false;
    if (pthread_mutex_init(&k->mu, NULL)) {
        err = cw_fail(d, CW_ERR_NOMEM, "database: checkpointer: out of resources");
        goto out;
    }
    mu = true;
    if (pthread_cond_init(&k->cv, NULL)) {
        err = cw_fail(d, CW_ERR_NOMEM, "database: checkpointer: out of resources");
        goto out;
    }
    cv = true;
    int rc = sqlite3_open_v2(s->path, &k->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_extended_result_codes(k->db, 1);
        /* another conway process may hold a lock for a moment */
        sqlite3_busy_timeout(k->db, CW_SQLITE_BUSY_TIMEOUT_MS);
        /* a checkpoint syncs the database file before the WAL may start
         * over: whatever this build's default, never less than that */
        rc = sqlite3_exec(k->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
    }
    /* a connection opens the WAL at its first read; until then its
     * checkpoints do nothing (and say so only by counts of -1) */
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(k->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        err = cw_fail(d, CW_ERR_IO, "database: %s: checkpointer: %s", s->path,
                      k->db ? sqlite3_errmsg(k->db) : sqlite3_errstr(rc));
        goto out;
    }
    pthread_once(&fork_once, fork_register);
    if (pthread_create(&k->th, NULL, checkpointer, k)) {
        err = cw_fail(d, CW_ERR_IO, "database: checkpointer: cannot start its thread");
        goto out;
    }
    sqlite3_wal_hook(s->writer->db, wal_hook, k);
    s->ckpt = k;
out:
    if (err) {
        if (k->db)
            sqlite3_close_v2(k->db);
        if (cv)
            pthread_cond_destroy(&k->cv);
        if (mu)
            pthread_mutex_destroy(&k->mu);
        free(k);
    }
    return err;
}

void cw__sqlite_ckpt_stop(cw_sqlite *s)
{
    cw__sqlite_ckpt *k = s->ckpt;
    if (!k)
        return;
    /* first the hook goes (k is freed below): the writer's later commits
     * checkpoint as SQLite does by default */
    sqlite3_wal_autocheckpoint(s->writer->db, SQLITE_AUTO_PAGES);
    pthread_mutex_lock(&k->mu);
    k->stopping = true;
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->th, NULL);
    sqlite3_close_v2(k->db);
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
    free(k);
    s->ckpt = NULL;
}

void cw__sqlite_ckpt_stats(cw_sqlite *s, cw__sqlite_ckpt_counts *out)
{
    memset(out, 0, sizeof *out);
    if (!s->ckpt)
        return;
    pthread_mutex_lock(&s->ckpt->mu);
    *out = s->ckpt->counts;
    pthread_mutex_unlock(&s->ckpt->mu);
}
