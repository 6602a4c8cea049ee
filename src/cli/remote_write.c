/*
 * remote_write.c — the write commands of remote mode (remote.h): `conway
 * import --server URL PATH...` posts catalog files to /api/v1/import and
 * `conway events import --server URL FILE...` posts events to
 * /api/v1/events, so CI needs neither curl nor the database.
 */
#include "cli/remote.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/buf.h"

#define EVENTS_REQUEST_MAX (4u << 20)
#define EVENTS_REQUEST_EVENTS 5000 /* the server takes at most 10,000 a request */
#define FILE_MAX (64u << 20)
#define WALK_DEPTH 32

/* Reads path ('-' = stdin) whole into b; false after printing why. */
static bool read_all(const char *cmd, const char *path, cw_buf *b)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        fprintf(stderr, "conway %s: %s: %s\n", cmd, path, strerror(errno));
        return false;
    }
    char chunk[65536];
    size_t n;
    bool ok = true;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && ok)
        ok = b->len + n <= FILE_MAX && cw_buf_append(b, chunk, n) == CW_OK;
    if (ferror(f) || !ok)
        fprintf(stderr, "conway %s: %s: %s\n", cmd, path,
                ok ? strerror(errno) : "larger than 64 MiB or out of memory");
    ok = ok && !ferror(f);
    if (f != stdin)
        fclose(f);
    return ok;
}

static bool has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

static bool catalog_file(const char *name)
{
    return has_suffix(name, ".yaml") || has_suffix(name, ".yml") || has_suffix(name, ".json");
}

/* ---- import --------------------------------------------------------------------- */

typedef struct {
    const cw_remote *r;
    bool quiet;
    size_t files, imported, created, updated, unchanged, rejected;
    bool failed;
} import_run;

static json_int_t num(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

static void import_one(import_run *x, const char *path)
{
    cw_buf body;
    cw_buf_init(&body, FILE_MAX);
    if (!read_all("import", path, &body)) {
        x->failed = true;
        cw_buf_free(&body);
        return;
    }
    x->files++;
    json_t *rep = NULL;
    long status;
    const char *ct = has_suffix(path, ".json") ? "application/json" : "application/yaml";
    int rc = cw_remote_send("import", x->r, "POST", "/api/v1/import", ct, body.data ? body.data : "",
                            body.len, &status, &rep);
    cw_buf_free(&body);
    if (rc) {
        fprintf(stderr, "conway import: %s was not imported\n", path);
        x->failed = true;
        return;
    }
    x->imported += (size_t)num(rep, "imported");
    x->created += (size_t)num(rep, "created");
    x->updated += (size_t)num(rep, "updated");
    x->unchanged += (size_t)num(rep, "unchanged");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(rep, "errors"), i, e) {
        x->rejected++;
        const char *ref = json_string_value(json_object_get(e, "entityRef"));
        fprintf(stderr, "conway import: %s: document %lld%s%s: %s\n", path,
                (long long)num(e, "document"), ref ? " " : "", ref ? ref : "",
                json_string_value(json_object_get(e, "detail")) ? json_string_value(json_object_get(e, "detail")) : "rejected");
    }
    json_decref(rep);
}

/* Walks dir for catalog files, in name order (a stable import). */
static void import_dir(import_run *x, const char *dir, int depth)
{
    if (depth > WALK_DEPTH) {
        fprintf(stderr, "conway import: %s: deeper than %d directories; not walked\n", dir, WALK_DEPTH);
        x->failed = true;
        return;
    }
    struct dirent **list = NULL;
    int n = scandir(dir, &list, NULL, alphasort);
    if (n < 0) {
        fprintf(stderr, "conway import: %s: %s\n", dir, strerror(errno));
        x->failed = true;
        return;
    }
    for (int i = 0; i < n; i++) {
        const char *name = list[i]->d_name;
        if (name[0] != '.') {
            cw_buf p;
            cw_buf_init(&p, 8192);
            cw_buf_printf(&p, "%s/%s", dir, name);
            struct stat st;
            if (!cw_buf_error(&p) && lstat(p.data, &st) == 0) {
                if (S_ISDIR(st.st_mode))
                    import_dir(x, p.data, depth + 1);
                else if (S_ISREG(st.st_mode) && catalog_file(name))
                    import_one(x, p.data);
            }
            cw_buf_free(&p);
        }
        free(list[i]);
    }
    free(list);
}

int cw_remote_import(const cw_remote *r, const char *const *paths, size_t n, bool quiet)
{
    import_run x = {.r = r, .quiet = quiet};
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (strcmp(paths[i], "-") && stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode))
            import_dir(&x, paths[i], 0);
        else
            import_one(&x, paths[i]);
    }
    if (x.files == 0 && !x.failed) {
        fprintf(stderr, "conway import: no catalog files (*.yaml, *.yml, *.json) in the given paths\n");
        return 1;
    }
    printf("imported %zu entities (%zu created, %zu updated), %zu unchanged, %zu rejected, "
           "from %zu file%s to %s\n",
           x.imported, x.created, x.updated, x.unchanged, x.rejected, x.files,
           x.files == 1 ? "" : "s", r->server);
    return x.failed || x.rejected ? 1 : 0;
}

/* ---- events ----------------------------------------------------------------------- */

typedef struct {
    const cw_remote *r;
    size_t files, accepted, duplicates, conflicts, rejected;
    bool failed;
} events_run;

/* Posts data[0, len) (events from path, lines first_line..); counts. */
static void post_events(events_run *x, const char *path, const char *ct, const char *data,
                        size_t len, size_t first_line, size_t lines)
{
    json_t *out = NULL;
    long status;
    if (cw_remote_send("events import", x->r, "POST", "/api/v1/events", ct, data, len, &status,
                       &out)) {
        fprintf(stderr, "conway events import: %s: lines %zu-%zu were not stored\n", path,
                first_line, first_line + (lines ? lines - 1 : 0));
        x->rejected += lines;
        x->failed = true;
        return;
    }
    x->accepted += (size_t)num(out, "accepted");
    x->duplicates += (size_t)num(out, "duplicates");
    x->conflicts += (size_t)num(out, "conflicts");
    json_decref(out);
}

static void events_one(events_run *x, const char *path)
{
    cw_buf b;
    cw_buf_init(&b, FILE_MAX);
    if (!read_all("events import", path, &b)) {
        x->failed = true;
        cw_buf_free(&b);
        return;
    }
    x->files++;
    const char *s = b.data ? b.data : "";
    size_t i = 0;
    while (i < b.len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
        i++;
    json_t *whole = i < b.len && (s[i] == '[' || s[i] == '{') ? json_loadb(s, b.len, 0, NULL) : NULL;
    json_decref(whole);
    if (whole || (i < b.len && s[i] == '[')) {
        /* one JSON array or object: as it is */
        post_events(x, path, "application/json", s, b.len, 1, 1);
        cw_buf_free(&b);
        return;
    }
    /* NDJSON: requests of whole lines, at most EVENTS_REQUEST_MAX each */
    size_t start = 0, line = 1, first = 1, lines = 0, events = 0;
    for (size_t p = 0; p < b.len;) {
        const char *nl = memchr(s + p, '\n', b.len - p);
        size_t end = nl ? (size_t)(nl - s) + 1 : b.len;
        if ((end - start > EVENTS_REQUEST_MAX || events == EVENTS_REQUEST_EVENTS) && p > start) {
            post_events(x, path, "application/x-ndjson", s + start, p - start, first, events);
            start = p;
            first = line;
            lines = events = 0;
        }
        for (size_t k = p; k < end; k++)
            if (s[k] != ' ' && s[k] != '\t' && s[k] != '\r' && s[k] != '\n') {
                events++;
                break;
            }
        lines++;
        line++;
        p = end;
    }
    if (events)
        post_events(x, path, "application/x-ndjson", s + start, b.len - start, first, events);
    (void)lines;
    cw_buf_free(&b);
}

int cw_remote_events(const cw_remote *r, const char *const *paths, size_t n, bool quiet)
{
    (void)quiet;
    events_run x = {.r = r};
    for (size_t i = 0; i < n; i++)
        events_one(&x, paths[i]);
    printf("imported %zu events (%zu new, %zu duplicates), %zu rejected, from %zu file%s to %s\n",
           x.accepted + x.duplicates, x.accepted, x.duplicates, x.rejected, x.files,
           x.files == 1 ? "" : "s", r->server);
    if (x.conflicts)
        printf("%zu events were not stored: their (source, id) is stored already with another "
               "body (conflicts)\n",
               x.conflicts);
    return x.failed || x.rejected ? 1 : 0;
}
