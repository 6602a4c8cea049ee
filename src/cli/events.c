/*
 * events.c — `conway events import FILE...`: loads CDEvents from NDJSON or
 * JSON files (or stdin with '-') into the database, in chunks of 10000 that
 * the store commits (each whole, several sometimes in one transaction)
 * while the next are read and decoded. Invalid events are reported one per
 * line (FILE:LINE or FILE:[INDEX]) and skipped; the exit status is 1 when
 * anything was rejected. Shows progress on a terminal and a summary.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "cli/remote.h"
#include "events/events.h"
#include "store/events_async.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/timeutil.h"

#define CHUNK_EVENTS 10000
#define MAX_LINE_BYTES (16u << 20)   /* one NDJSON event */
#define MAX_JSON_BYTES (1u << 30)    /* a whole JSON file */

static const char events_help[] =
    "usage: conway events import [--db URL] [--quiet] [--max-event-bytes BYTES] FILE...\n"
    "       conway events import --server URL [--token SECRET] FILE...\n"
    "\n"
    "Imports CDEvents (spec 0.5 and older envelopes) into the database, as\n"
    "POST /api/v1/events does. A FILE may hold NDJSON (one event per line), one\n"
    "JSON event or a JSON array of events; each event is a plain CDEvent or a\n"
    "structured CloudEvent whose data is the CDEvent. '-' reads standard input.\n"
    "Events are stored in chunks of 10000, each committed whole while the next ones\n"
    "are read (a few chunks may share a transaction);\n"
    "re-importing a file counts its events as duplicates. Invalid events are\n"
    "printed as FILE:LINE: REASON (NDJSON) or FILE:[INDEX]: REASON (JSON) and\n"
    "skipped; the exit status is 1 when anything was rejected. Safe to run while\n"
    "a server uses the same database.\n"
    "\n"
    "Options:\n"
    "  --db URL    SQLite file or postgres:// URL (env CONWAY_DB; default conway.db)\n"
    "  -q, --quiet no progress line, only rejections and the summary\n"
    "  --max-event-bytes BYTES  largest event, as compact JSON (default 262144, as\n"
    "              the server's default); larger ones are rejected\n"
    "  -s, --server URL  send the events to a running server (env CONWAY_SERVER):\n"
    "              POST /api/v1/events, NDJSON in requests of at most 4 MiB and\n"
    "              5000 events; a refused request names its lines (exit 1)\n"
    "  --token SECRET  an ingest, editor or admin API token (env CONWAY_TOKEN)\n";

/* Chunks handed to the store and not yet committed: reading goes on while
 * the store writes, and the group commit puts what is queued in one
 * transaction. Large transactions matter: random keys (event ids, change
 * ids) touch most index pages whatever the transaction's size, so fewer,
 * larger ones write less (bench/RESULTS.md); at most 60,000 events' rows
 * wait in memory. */
#define MAX_INFLIGHT 6

typedef struct {
    cw_store *store;
    bool tty;
    size_t max_event_bytes;
    cw_event chunk[CHUNK_EVENTS];
    size_t nchunk;
    /* counts and the fatal flag are written by the store's committer too */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t inflight;
    char fatal_msg[sizeof(cw_diag)];
    size_t accepted, duplicates, conflicts, rejected, files;
    size_t done_bytes, total_bytes;   /* of all named regular files */
    int64_t last_progress_ns;
    bool fatal;
} importer;

static void progress(importer *im, bool force)
{
    if (!im->tty)
        return;
    int64_t now = cw_mono_ns();
    if (!force && now - im->last_progress_ns < 100000000)
        return;
    im->last_progress_ns = now;
    int width = 30;
    int filled = im->total_bytes ? (int)((double)im->done_bytes * width / (double)im->total_bytes)
                                 : 0;
    if (filled > width)
        filled = width;
    pthread_mutex_lock(&im->mu); /* the counts move on the committer */
    size_t stored = im->accepted + im->duplicates;
    pthread_mutex_unlock(&im->mu);
    fprintf(stderr, "\r[%.*s%*s] %.1f/%.1f MB, %zu events", filled,
            "==============================", width - filled, "",
            (double)im->done_bytes / 1e6, (double)im->total_bytes / 1e6, stored);
    fflush(stderr);
}

static void report(importer *im, const char *file, const char *where, const char *msg)
{
    if (im->tty)
        fputc('\n', stderr);
    fprintf(stderr, "%s:%s: %s\n", file, where, msg);
    im->rejected++;
}

/* The store committed (or failed) one chunk. */
static void chunk_done(void *arg, cw_err err, const cw_event_put_result *r, const cw_diag *d)
{
    importer *im = arg;
    pthread_mutex_lock(&im->mu);
    if (err && !im->fatal) {
        im->fatal = true;
        snprintf(im->fatal_msg, sizeof im->fatal_msg, "%s", d ? d->msg : "");
    } else if (!err) {
        im->accepted += r->accepted;
        im->duplicates += r->duplicates;
        im->conflicts += r->conflicts;
    }
    im->inflight--;
    pthread_cond_signal(&im->cv);
    pthread_mutex_unlock(&im->mu);
}

/* Waits until at most max chunks are in flight; reports a failure once. */
static void wait_inflight(importer *im, size_t max)
{
    pthread_mutex_lock(&im->mu);
    while (im->inflight > max)
        pthread_cond_wait(&im->cv, &im->mu);
    pthread_mutex_unlock(&im->mu);
}

static bool is_fatal(importer *im)
{
    pthread_mutex_lock(&im->mu);
    bool f = im->fatal;
    pthread_mutex_unlock(&im->mu);
    return f;
}

/* Hands the chunk to the store (its rows are copied, so its events are
 * freed at once) and goes on reading while it is written. */
static void flush_chunk(importer *im)
{
    if (im->nchunk == 0)
        return;
    wait_inflight(im, MAX_INFLIGHT - 1);
    cw_diag d = {{0}};
    pthread_mutex_lock(&im->mu);
    im->inflight++;
    pthread_mutex_unlock(&im->mu);
    cw_err err = cw_store_events_put_async(im->store, im->chunk, im->nchunk, chunk_done, im, &d);
    for (size_t i = 0; i < im->nchunk; i++)
        cw_event_free(&im->chunk[i]);
    im->nchunk = 0;
    if (err) {
        pthread_mutex_lock(&im->mu);
        im->inflight--;
        if (!im->fatal) {
            im->fatal = true;
            snprintf(im->fatal_msg, sizeof im->fatal_msg, "%s", d.msg);
        }
        pthread_mutex_unlock(&im->mu);
        return;
    }
    progress(im, false);
}

/* Decodes one JSON value (a CDEvent or a structured CloudEvent) into the
 * chunk; compact: the value's text when it is compact JSON already (a
 * line), kept as the event's body instead of serialising it again. */
static void add_value(importer *im, json_t *v, const char *file, const char *where,
                      const char *compact, size_t compact_len)
{
    cw_diag d = {{0}};
    cw_event ev;
    cw_err err;
    if (!json_is_object(v))
        err = cw_fail(&d, CW_ERR_INVALID, "expected a JSON object (a CDEvent or a CloudEvent)");
    else if (json_object_get(v, "specversion") && !json_object_get(v, "context"))
        err = cw_cloudevent_decode(v, &ev, &d);
    else
        err = cw_cdevent_decode(v, &ev, &d);
    /* a CloudEvent's text is not its CDEvent's */
    if (!err && compact && json_object_get(v, "context") && (ev.compact = malloc(compact_len + 1))) {
        memcpy(ev.compact, compact, compact_len);
        ev.compact[compact_len] = '\0';
    }
    if (!err && (err = cw_event_check_size(&ev, im->max_event_bytes, &d)))
        cw_event_free(&ev);
    if (err) {
        report(im, file, where, d.msg);
        return;
    }
    im->chunk[im->nchunk++] = ev;
    if (im->nchunk == CHUNK_EVENTS)
        flush_chunk(im);
}

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static bool is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_ws(s[i]))
            return false;
    return true;
}

/* NDJSON: one value per line, streamed; the first line (number lineno)
 * is already in *line. */
static void import_ndjson(importer *im, FILE *f, const char *file, char **line, size_t *cap,
                          ssize_t len, size_t lineno)
{
    for (; len >= 0 && !is_fatal(im); len = getline(line, cap, f), lineno++) {
        im->done_bytes += (size_t)len;
        if (is_blank(*line, (size_t)len))
            continue;
        char where[32];
        snprintf(where, sizeof where, "%zu", lineno);
        if ((size_t)len > MAX_LINE_BYTES) {
            report(im, file, where, "line longer than 16 MiB");
            continue;
        }
        /* the line without its end: compact JSON as it stands, usually */
        size_t n = (size_t)len;
        while (n && is_ws((*line)[n - 1]))
            n--;
        bool compact = false;
        json_t *v = cw_event_json_fast(*line, n, &compact);
        if (!v) {
            json_error_t je;
            v = json_loadb(*line, (size_t)len, JSON_REJECT_DUPLICATES, &je);
            compact = false;
            if (!v) {
                char msg[300];
                snprintf(msg, sizeof msg, "invalid JSON at column %d: %s", je.column, je.text);
                report(im, file, where, msg);
                continue;
            }
        }
        add_value(im, v, file, where, compact ? *line : NULL, n);
        json_decref(v);
    }
}

/* One JSON value or an array of them, read whole. */
static void import_json(importer *im, FILE *f, const char *file, const char *head, size_t nhead)
{
    cw_buf text;
    cw_buf_init(&text, MAX_JSON_BYTES);
    cw_err err = cw_buf_append(&text, head, nhead);
    char block[65536];
    size_t n;
    while (!err && (n = fread(block, 1, sizeof block, f)) > 0) {
        err = cw_buf_append(&text, block, n);
        im->done_bytes += n;
        progress(im, false);
    }
    im->done_bytes += nhead;
    if (err || ferror(f)) {
        report(im, file, "0", err == CW_ERR_TOO_LARGE ? "file larger than 1 GiB (use NDJSON)"
                                                      : "read error");
        cw_buf_free(&text);
        return;
    }
    json_error_t je;
    json_t *v = json_loadb(text.data ? text.data : "", text.len, JSON_REJECT_DUPLICATES, &je);
    cw_buf_free(&text);
    if (!v) {
        char where[32], msg[300];
        snprintf(where, sizeof where, "%d", je.line);
        snprintf(msg, sizeof msg, "invalid JSON at column %d: %s", je.column, je.text);
        report(im, file, where, msg);
        return;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *el;
        json_array_foreach(v, i, el) {
            if (is_fatal(im))
                break;
            char where[32];
            snprintf(where, sizeof where, "[%zu]", i);
            add_value(im, el, file, where, NULL, 0);
        }
    } else {
        add_value(im, v, file, "[0]", NULL, 0);
    }
    json_decref(v);
}

static void import_file(importer *im, const char *path)
{
    bool is_stdin = !strcmp(path, "-");
    const char *name = is_stdin ? "(stdin)" : path;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "conway events import: %s: %s\n", path, strerror(errno));
        im->rejected++;
        return;
    }
    im->files++;
    char *line = NULL;
    size_t cap = 0;
    size_t lineno = 1;
    ssize_t len = getline(&line, &cap, f);
    for (; len >= 0 && is_blank(line, (size_t)len); len = getline(&line, &cap, f), lineno++)
        im->done_bytes += (size_t)len;
    /* NDJSON when the first line is one whole object ("{...}"); a JSON array
     * or a pretty-printed object is read whole */
    bool ndjson = true;
    if (len > 0) {
        size_t lo = 0, hi = (size_t)len;
        while (lo < hi && is_ws(line[lo]))
            lo++;
        while (hi > lo && is_ws(line[hi - 1]))
            hi--;
        ndjson = hi - lo >= 2 && line[lo] == '{' && line[hi - 1] == '}';
    }
    if (len < 0)
        ; /* empty file: nothing to import */
    else if (ndjson)
        import_ndjson(im, f, name, &line, &cap, len, lineno);
    else
        import_json(im, f, name, line, (size_t)len);
    if (!is_fatal(im) && ferror(f)) {
        fprintf(stderr, "conway events import: %s: read error\n", name);
        im->rejected++;
    }
    free(line);
    if (!is_stdin)
        fclose(f);
}

static int cmd_import(int argc, char **argv)
{
    const char *db = NULL, *quiet = NULL, *max_event = NULL, *server = NULL, *token = NULL;
    cw_opt opts[] = {{"db", true, &db},
                     {"quiet", false, &quiet},
                     {"max-event-bytes", true, &max_event},
                     {"server", true, &server},
                     {"token", true, &token},
                     {NULL, false, NULL}};
    const char *pos[4096];
    size_t npos;
    bool help;
    if (!cw_opts_parse("events import", argc, argv, 3, opts, pos, 4096, &npos, &help))
        return 2;
    if (help) {
        fputs(events_help, stdout);
        return 0;
    }
    if (npos == 0) {
        fputs("conway events import: give at least one file, or '-' for stdin (try --help)\n",
              stderr);
        return 2;
    }
    size_t max_event_bytes = CW_EVENTS_DEFAULT_MAX_EVENT_BYTES;
    if (max_event) {
        char *end = NULL;
        unsigned long long v = strtoull(max_event, &end, 10);
        if (!*max_event || *end || max_event[0] == '-' || v < 1024 || v > (1ull << 30)) {
            fprintf(stderr,
                    "conway events import: --max-event-bytes: '%s' is not a number between "
                    "1024 and %llu\n",
                    max_event, 1ull << 30);
            return 2;
        }
        max_event_bytes = (size_t)v;
    }
    if (server) { /* remote mode: the server stores them */
        if (db && cw_opts_setting_source("db") == NULL) {
            fputs("conway events import: give --server or --db, not both\n", stderr);
            return 2;
        }
        cw_remote r = {.server = server, .token = token};
        return cw_remote_events(&r, pos, npos, quiet != NULL);
    }
    importer *im = calloc(1, sizeof *im);
    if (!im) {
        fputs("conway events import: out of memory\n", stderr);
        return 1;
    }
    const char *url = cw_cli_db_url(db);
    cw_diag d = {{0}};
    if (cw_store_open(url, NULL, &im->store, &d)) {
        fprintf(stderr, "conway events import: cannot open database %s: %s\n", cw_cli_shown_url(url).s, d.msg);
        free(im);
        return 1;
    }
    im->tty = !quiet && isatty(STDERR_FILENO);
    im->max_event_bytes = max_event_bytes;
    pthread_mutex_init(&im->mu, NULL);
    pthread_cond_init(&im->cv, NULL);
    for (size_t i = 0; i < npos; i++) {
        struct stat st;
        if (strcmp(pos[i], "-") && stat(pos[i], &st) == 0 && S_ISREG(st.st_mode))
            im->total_bytes += (size_t)st.st_size;
    }
    for (size_t i = 0; i < npos && !is_fatal(im); i++) {
        import_file(im, pos[i]);
        if (!is_fatal(im))
            flush_chunk(im);
    }
    wait_inflight(im, 0);
    if (im->fatal) {
        if (im->tty)
            fputc('\n', stderr);
        fprintf(stderr, "conway events import: %s\n", im->fatal_msg);
    }
    progress(im, true);
    if (im->tty)
        fputc('\n', stderr);
    for (size_t i = 0; i < im->nchunk; i++)
        cw_event_free(&im->chunk[i]);
    printf("imported %zu events (%zu new, %zu duplicates), %zu rejected, from %zu file%s\n",
           im->accepted + im->duplicates, im->accepted, im->duplicates, im->rejected, im->files,
           im->files == 1 ? "" : "s");
    if (im->conflicts)
        printf("%zu events were not stored: their (source, id) is stored already with another "
               "body (conflicts)\n",
               im->conflicts);
    int rc = im->fatal || im->rejected ? 1 : 0;
    cw_store_close(im->store);
    pthread_mutex_destroy(&im->mu);
    pthread_cond_destroy(&im->cv);
    free(im);
    return rc;
}

int cw_cmd_events(int argc, char **argv)
{
    if (argc < 3 || !strcmp(argv[2], "--help") || !strcmp(argv[2], "-h") ||
        !strcmp(argv[2], "help")) {
        fputs(events_help, argc < 3 ? stderr : stdout);
        return argc < 3 ? 2 : 0;
    }
    if (!strcmp(argv[2], "import"))
        return cmd_import(argc, argv);
    fprintf(stderr, "conway events: unknown subcommand '%s' (try --help)\n", argv[2]);
    return 2;
}
