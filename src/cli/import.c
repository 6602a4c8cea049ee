/*
 * import.c — `conway import PATH...`: loads catalog files (YAML/JSON) from
 * files and directories, follows the relative file targets of Location
 * entities as Backstage does, shows progress on a terminal and prints one
 * line per rejected document and a summary.
 */
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "ingest/catalog_import.h"
#include "store/store.h"
#include "util/buf.h"

#define MAX_FILE_BYTES (64u << 20)

static const char import_help[] =
    "usage: conway import [--db URL] [--quiet] PATH...\n"
    "\n"
    "Imports Backstage-style catalog files. PATH may be a file or a directory\n"
    "(searched recursively for *.yaml, *.yml and *.json). Relative file targets\n"
    "of Location entities are followed; URL targets are stored, not fetched.\n"
    "Rejected documents are printed one per line as FILE:DOCUMENT: REF: REASON\n"
    "(documents counted from 0); the exit status is 1 when anything was rejected.\n"
    "Safe to run while a server uses the same database.\n"
    "\n"
    "Options:\n"
    "  --db URL    SQLite file or postgres:// URL (env CONWAY_DB; default conway.db)\n"
    "  --quiet     no progress bar, only rejections and the summary\n";

typedef struct {
    char **items;
    size_t len, cap;
} path_list;

static int path_list_add(path_list *l, const char *p)
{
    for (size_t i = 0; i < l->len; i++)
        if (!strcmp(l->items[i], p))
            return 0; /* already queued: Location cycles end here */
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **n = realloc(l->items, cap * sizeof *n);
        if (!n)
            return -1;
        l->items = n;
        l->cap = cap;
    }
    l->items[l->len] = strdup(p);
    if (!l->items[l->len])
        return -1;
    l->len++;
    return 1;
}

static void path_list_free(path_list *l)
{
    for (size_t i = 0; i < l->len; i++)
        free(l->items[i]);
    free(l->items);
}

static bool has_catalog_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml") || !strcmp(dot, ".json"));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the catalog files under dir (sorted, recursive). */
static int collect_dir(const char *dir, path_list *out, int depth)
{
    if (depth > 32)
        return 0;
    DIR *dp = opendir(dir);
    if (!dp) {
        fprintf(stderr, "conway import: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    path_list names = {0};
    struct dirent *de;
    while ((de = readdir(dp))) {
        if (de->d_name[0] == '.')
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (path_list_add(&names, p) < 0) {
            closedir(dp);
            path_list_free(&names);
            return -1;
        }
    }
    closedir(dp);
    qsort(names.items, names.len, sizeof *names.items, cmp_str);
    int rc = 0;
    for (size_t i = 0; i < names.len && rc == 0; i++) {
        struct stat st;
        if (stat(names.items[i], &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            rc = collect_dir(names.items[i], out, depth + 1);
        else if (S_ISREG(st.st_mode) && has_catalog_ext(names.items[i])) {
            /* Canonical paths, so a file reached again through a Location
             * is recognised and imported once. */
            char real[PATH_MAX];
            rc = path_list_add(out, realpath(names.items[i], real) ? real : names.items[i]) < 0 ? -1 : 0;
        }
    }
    path_list_free(&names);
    return rc;
}

static cw_err read_file(const char *path, cw_buf *out, cw_diag *d)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cw_fail(d, CW_ERR_IO, "%s", strerror(errno));
    char chunk[65536];
    size_t n;
    cw_err err = CW_OK;
    while (!err && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        err = cw_buf_append(out, chunk, n);
    if (!err && ferror(f))
        err = cw_fail(d, CW_ERR_IO, "read error");
    else if (err == CW_ERR_TOO_LARGE)
        cw_fail(d, err, "file is larger than %u bytes", MAX_FILE_BYTES);
    fclose(f);
    return err;
}

static void progress(bool tty, size_t done, size_t total, size_t entities)
{
    if (!tty)
        return;
    int width = 30;
    int filled = total ? (int)(done * (size_t)width / total) : width;
    fprintf(stderr, "\r[%.*s%*s] %zu/%zu files, %zu entities", filled,
            "==============================", width - filled, "", done, total, entities);
    fflush(stderr);
}

/* Queues the file targets of Location entities found in `file`. */
static void follow_locations(const char *file, const json_t *locations, path_list *queue,
                             size_t *missing)
{
    size_t i;
    json_t *loc;
    json_array_foreach(locations, i, loc) {
        const char *target = json_string_value(json_object_get(loc, "target"));
        /* URL targets are stored, never fetched; anything else is a path
         * relative to the file that holds the Location. */
        if (!target || strstr(target, "://"))
            continue;
        char dirbuf[PATH_MAX];
        snprintf(dirbuf, sizeof dirbuf, "%s", file);
        char pattern[PATH_MAX];
        if (target[0] == '/')
            snprintf(pattern, sizeof pattern, "%s", target);
        else
            snprintf(pattern, sizeof pattern, "%s/%s", dirname(dirbuf), target);
        glob_t g;
        int grc = glob(pattern, 0, NULL, &g);
        if (grc != 0) {
            fprintf(stderr, "warning: %s: Location target %s (document %lld) does not exist; skipped\n",
                    file, target, (long long)json_integer_value(json_object_get(loc, "document")));
            (*missing)++;
            if (grc != GLOB_NOMATCH)
                globfree(&g);
            continue;
        }
        for (size_t k = 0; k < g.gl_pathc; k++) {
            char real[PATH_MAX];
            if (realpath(g.gl_pathv[k], real))
                path_list_add(queue, real);
        }
        globfree(&g);
    }
}

int cw_cmd_import(int argc, char **argv)
{
    const char *db = NULL, *quiet = NULL;
    cw_opt opts[] = {{"db", true, &db}, {"quiet", false, &quiet}, {NULL, false, NULL}};
    const char *pos[4096];
    size_t npos;
    bool help;
    if (!cw_opts_parse("import", argc, argv, 2, opts, pos, 4096, &npos, &help))
        return 2;
    if (help) {
        fputs(import_help, stdout);
        return 0;
    }
    if (npos == 0) {
        fputs("conway import: give at least one file or directory (try --help)\n", stderr);
        return 2;
    }
    path_list queue = {0};
    int rc = 0;
    for (size_t i = 0; i < npos; i++) {
        struct stat st;
        if (stat(pos[i], &st) != 0) {
            fprintf(stderr, "conway import: %s: %s\n", pos[i], strerror(errno));
            rc = 1;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (collect_dir(pos[i], &queue, 0) != 0)
                rc = 1;
        } else {
            char real[PATH_MAX];
            path_list_add(&queue, realpath(pos[i], real) ? real : pos[i]);
        }
    }
    const char *url = cw_cli_db_url(db);
    cw_store *store = NULL;
    cw_diag d = {{0}};
    if (cw_store_open(url, NULL, &store, &d)) {
        fprintf(stderr, "conway import: cannot open database %s: %s\n", url, d.msg);
        path_list_free(&queue);
        return 1;
    }
    bool tty = !quiet && isatty(STDERR_FILENO);
    size_t created = 0, updated = 0, unchanged = 0, rejected = 0, missing = 0, files = 0;
    cw_buf text;
    cw_buf_init(&text, MAX_FILE_BYTES);
    for (size_t f = 0; f < queue.len; f++) {
        const char *file = queue.items[f];
        progress(tty, f, queue.len, created + updated + unchanged);
        cw_buf_reset(&text);
        if (read_file(file, &text, &d)) {
            if (tty)
                fputc('\n', stderr);
            fprintf(stderr, "%s: %s\n", file, d.msg);
            rejected++;
            continue;
        }
        files++;
        cw_import_report rep;
        cw_import_report_init(&rep);
        cw_err err = cw_import_text(store, cw_buf_cstr(&text), text.len, NULL, NULL, NULL, &rep, &d);
        if (tty && (err || json_array_size(rep.errors)))
            fputc('\n', stderr);
        if (err == CW_ERR_INVALID || err == CW_ERR_TOO_LARGE) {
            fprintf(stderr, "%s: %s\n", file, d.msg);
            rejected++;
        } else if (err) {
            fprintf(stderr, "conway import: %s: %s\n", file, d.msg);
            cw_import_report_free(&rep);
            rc = 1;
            break;
        }
        size_t i;
        json_t *e;
        json_array_foreach(rep.errors, i, e) {
            const char *ref = json_string_value(json_object_get(e, "entityRef"));
            fprintf(stderr, "%s:%lld: %s: %s\n", file,
                    (long long)json_integer_value(json_object_get(e, "document")),
                    ref ? ref : "(no ref)", json_string_value(json_object_get(e, "detail")));
            rejected++;
        }
        if (rep.created + rep.updated > 0)
            cw_cli_audit(store, "import", "catalog.import", rep.refs, NULL);
        created += rep.created;
        updated += rep.updated;
        unchanged += rep.unchanged;
        follow_locations(file, rep.locations, &queue, &missing);
        cw_import_report_free(&rep);
    }
    progress(tty, queue.len, queue.len, created + updated + unchanged);
    if (tty)
        fputc('\n', stderr);
    printf("imported %zu entities (%zu created, %zu updated), %zu unchanged, %zu rejected, "
           "from %zu files%s\n",
           created + updated, created, updated, unchanged, rejected, files,
           missing ? " (some Location targets were missing)" : "");
    if (rejected)
        rc = 1;
    cw_buf_free(&text);
    cw_store_close(store);
    path_list_free(&queue);
    return rc;
}
