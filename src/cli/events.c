/*
 * events.c — `conway events import FILE...`: loads CDEvents from NDJSON or
 * JSON files (or stdin with '-') into the database, in chunks that are each
 * committed before the next is read. Invalid events are reported one per
 * line (FILE:LINE or FILE:[INDEX]) and skipped; the exit status is 1 when
 * anything was rejected. Shows progress on a terminal and a summary.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "events/events.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/timeutil.h"

#define CHUNK_EVENTS 5000
#define MAX_LINE_BYTES (16u << 20)   /* one NDJSON event */
#define MAX_JSON_BYTES (1u << 30)    /* a whole JSON file */

static const char events_help[] =
    "usage: conway events import [--db URL] [--quiet] [--max-event-bytes BYTES] FILE...\n"
    "\n"
    "Imports CDEvents (spec 0.5 and older envelopes) into the database, as\n"
    "POST /api/v1/events does. A FILE may hold NDJSON (one event per line), one\n"
    "JSON event or a JSON array of events; each event is a plain CDEvent or a\n"
    "structured CloudEvent whose data is the CDEvent. '-' reads standard input.\n"
    "Events are stored in chunks of 5000, each committed before the next is read;\n"
    "re-importing a file counts its events as duplicates. Invalid events are\n"
    "printed as FILE:LINE: REASON (NDJSON) or FILE:[INDEX]: REASON (JSON) and\n"
    "skipped; the exit status is 1 when anything was rejected. Safe to run while\n"
    "a server uses the same database.\n"
    "\n"
    "Options:\n"
    "  --db URL    SQLite file or postgres:// URL (env CONWAY_DB; default conway.db)\n"
    "  -q, --quiet no progress line, only rejections and the summary\n"
    "  --max-event-bytes BYTES  largest event, as compact JSON (default 262144, as\n"
    "              the server's default); larger ones are rejected\n";

typedef struct {
    cw_store *store;
    bool tty;
    size_t max_event_bytes;
    cw_event chunk[CHUNK_EVENTS];
    size_t nchunk;
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
    fprintf(stderr, "\r[%.*s%*s] %.1f/%.1f MB, %zu events", filled,
            "==============================", width - filled, "",
            (double)im->done_bytes / 1e6, (double)im->total_bytes / 1e6,
            im->accepted + im->duplicates);
    fflush(stderr);
}

static void report(importer *im, const char *file, const char *where, const char *msg)
{
    if (im->tty)
        fputc('\n', stderr);
    fprintf(stderr, "%s:%s: %s\n", file, where, msg);
    im->rejected++;
}

static void flush_chunk(importer *im)
{
    if (im->nchunk == 0)
        return;
    cw_event_put_result r;
    cw_diag d = {{0}};
    cw_err err = cw_store_events_put(im->store, im->chunk, im->nchunk, &r, &d);
    for (size_t i = 0; i < im->nchunk; i++)
        cw_event_free(&im->chunk[i]);
    im->nchunk = 0;
    if (err) {
        if (im->tty)
            fputc('\n', stderr);
        fprintf(stderr, "conway events import: %s\n", d.msg);
        im->fatal = true;
        return;
    }
    im->accepted += r.accepted;
    im->duplicates += r.duplicates;
    im->conflicts += r.conflicts;
    progress(im, false);
}

/* Decodes one JSON value (a CDEvent or a structured CloudEvent) into the chunk. */
static void add_value(importer *im, json_t *v, const char *file, const char *where)
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
    for (; len >= 0 && !im->fatal; len = getline(line, cap, f), lineno++) {
        im->done_bytes += (size_t)len;
        if (is_blank(*line, (size_t)len))
            continue;
        char where[32];
        snprintf(where, sizeof where, "%zu", lineno);
        if ((size_t)len > MAX_LINE_BYTES) {
            report(im, file, where, "line longer than 16 MiB");
            continue;
        }
        json_error_t je;
        json_t *v = json_loadb(*line, (size_t)len, JSON_REJECT_DUPLICATES, &je);
        if (!v) {
            char msg[300];
            snprintf(msg, sizeof msg, "invalid JSON at column %d: %s", je.column, je.text);
            report(im, file, where, msg);
            continue;
        }
        add_value(im, v, file, where);
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
            if (im->fatal)
                break;
            char where[32];
            snprintf(where, sizeof where, "[%zu]", i);
            add_value(im, el, file, where);
        }
    } else {
        add_value(im, v, file, "[0]");
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
    if (!im->fatal && ferror(f)) {
        fprintf(stderr, "conway events import: %s: read error\n", name);
        im->rejected++;
    }
    free(line);
    if (!is_stdin)
        fclose(f);
}

static int cmd_import(int argc, char **argv)
{
    const char *db = NULL, *quiet = NULL, *max_event = NULL;
    cw_opt opts[] = {{"db", true, &db},
                     {"quiet", false, &quiet},
                     {"max-event-bytes", true, &max_event},
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
    for (size_t i = 0; i < npos; i++) {
        struct stat st;
        if (strcmp(pos[i], "-") && stat(pos[i], &st) == 0 && S_ISREG(st.st_mode))
            im->total_bytes += (size_t)st.st_size;
    }
    for (size_t i = 0; i < npos && !im->fatal; i++) {
        import_file(im, pos[i]);
        if (!im->fatal)
            flush_chunk(im);
    }
    progress(im, true);
    if (im->tty)
        fputc('\n', stderr);
    for (size_t i = 0; i < im->nchunk; i++)
        cw_event_free(&im->chunk[i]);
    printf("imported %zu events (%zu new, %zu duplicates), %zu rejected, from %zu files\n",
           im->accepted + im->duplicates, im->accepted, im->duplicates, im->rejected, im->files);
    if (im->conflicts)
        printf("%zu events were not stored: their (source, id) is stored already with another "
               "body (conflicts)\n",
               im->conflicts);
    int rc = im->fatal || im->rejected ? 1 : 0;
    cw_store_close(im->store);
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
