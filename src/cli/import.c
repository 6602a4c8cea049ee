/*
 * import.c — `conway import PATH...`: loads catalog files (YAML/JSON) from
 * files and directories, follows the relative file targets of Location
 * entities as Backstage does, shows progress on a terminal and prints one
 * line per rejected document and a summary. Every file it reads stays inside
 * the directory tree of the PATH it was reached from (after resolving
 * symbolic links) unless --allow-outside, and nothing of a file that is not
 * a catalog file is ever printed (cw_import_file_text).
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
#include "cli/remote.h"
#include "ingest/catalog_import.h"
#include "ingest/locations.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/timeutil.h"

#define MAX_FILE_BYTES (64u << 20)

static const char import_help[] =
    "usage: conway import [--db URL] [--quiet] [--allow-outside] [--delete-orphans] PATH...\n"
    "       conway import --server URL [--token SECRET] PATH...\n"
    "\n"
    "Imports Backstage-style catalog files. PATH may be a file or a directory\n"
    "(searched recursively for *.yaml, *.yml and *.json). File targets of\n"
    "Location entities (relative paths, globs) are followed; URL targets are\n"
    "registered as locations, which a server started with --fetch-allow fetches\n"
    "and refreshes (docs/catalog.md).\n"
    "\n"
    "conway remembers which entities each file gave. An entity that a file gave\n"
    "before and no longer holds, or that came from a file of an imported\n"
    "directory that is gone, is an orphan: it gets the annotation\n"
    "backstage.io/orphan: \"true\" (--delete-orphans deletes it instead), unless\n"
    "another file or location still holds it.\n"
    "\n"
    "Every file read must lie inside the directory tree of the PATH it was\n"
    "reached from (the directory itself, or the directory holding the file),\n"
    "after resolving symbolic links: a Location target or a symbolic link that\n"
    "leads outside is refused and counted, and nothing is read from it.\n"
    "A file that is not a catalog file (not YAML/JSON, or no document with\n"
    "apiVersion and kind) is reported as such, without any of its text.\n"
    "\n"
    "Rejected documents are printed one per line as FILE:DOCUMENT: REF: REASON\n"
    "(documents counted from 0); the exit status is 1 when anything was rejected\n"
    "or refused, or when the paths hold no catalog file at all. Safe to run\n"
    "while a server uses the same database.\n"
    "\n"
    "Options:\n"
    "  --db URL          SQLite file or postgres:// URL (env CONWAY_DB; default conway.db)\n"
    "  -q, --quiet       no progress bar, only rejections and the summary\n"
    "  --allow-outside   follow Location targets and symbolic links anywhere\n"
    "  -s, --server URL  import through a running server's API instead of a database\n"
    "                    (env CONWAY_SERVER): each file is posted to /api/v1/import;\n"
    "                    Location targets are the server's to follow\n"
    "  --token SECRET    an editor or admin API token (env CONWAY_TOKEN)\n"
    "  --delete-orphans  delete orphaned entities instead of annotating them\n";

/* Paths, each with the index of the tree (import_ctx.roots) it must stay in. */
typedef struct {
    char **items;
    size_t *root;
    size_t len, cap;
} path_list;

static int path_list_add(path_list *l, const char *p, size_t root)
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
        size_t *r = realloc(l->root, cap * sizeof *r);
        if (!r)
            return -1;
        l->root = r;
        l->cap = cap;
    }
    l->items[l->len] = strdup(p);
    if (!l->items[l->len])
        return -1;
    l->root[l->len] = root;
    l->len++;
    return 1;
}

static void path_list_free(path_list *l)
{
    for (size_t i = 0; i < l->len; i++)
        free(l->items[i]);
    free(l->items);
    free(l->root);
}

typedef struct {
    path_list roots;     /* canonical directory trees, one per command-line PATH */
    path_list queue;     /* canonical files to import, with their tree */
    bool allow_outside;
    size_t refused;      /* targets and links refused for leading outside */
} import_ctx;

/* Whether the canonical path lies in the canonical directory root. */
static bool inside(const char *root, const char *path)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/')
        return true;
    return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static bool allowed(const import_ctx *c, size_t root, const char *real)
{
    return c->allow_outside || inside(c->roots.items[root], real);
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

/* Adds the catalog files under dir (sorted, recursive) to c->queue. */
static int collect_dir(import_ctx *c, const char *dir, size_t root, int depth)
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
        if (path_list_add(&names, p, root) < 0) {
            closedir(dp);
            path_list_free(&names);
            return -1;
        }
    }
    closedir(dp);
    if (names.len) /* qsort(NULL, 0, ...) is undefined */
        qsort(names.items, names.len, sizeof *names.items, cmp_str);
    int rc = 0;
    for (size_t i = 0; i < names.len && rc == 0; i++) {
        struct stat st;
        char real[PATH_MAX];
        /* Canonical paths, so a file reached again through a Location is
         * recognised and imported once, and a symbolic link is judged by
         * where it leads. */
        if (!realpath(names.items[i], real) || stat(real, &st) != 0)
            continue;
        bool wanted = S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) && has_catalog_ext(names.items[i]));
        if (!wanted)
            continue;
        if (!allowed(c, root, real)) {
            fprintf(stderr, "%s: a symbolic link that leads outside %s; refused (--allow-outside "
                            "follows it)\n", names.items[i], c->roots.items[root]);
            c->refused++;
            continue;
        }
        if (S_ISDIR(st.st_mode))
            rc = collect_dir(c, names.items[i], root, depth + 1);
        else
            rc = path_list_add(&c->queue, real, root) < 0 ? -1 : 0;
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

/* Queues the file targets of Location entities found in `file`, which was
 * reached from tree `root`; targets leading outside it are refused. */
static void follow_locations(import_ctx *c, const char *file, size_t root,
                             const json_t *locations, size_t *missing)
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
        size_t outside = 0;
        for (size_t k = 0; k < g.gl_pathc; k++) {
            char real[PATH_MAX];
            if (!realpath(g.gl_pathv[k], real))
                continue;
            if (!allowed(c, root, real))
                outside++; /* not named: where it leads is none of the catalog's business */
            else
                path_list_add(&c->queue, real, root);
        }
        size_t matches = g.gl_pathc;
        globfree(&g);
        if (outside) {
            long long doc = (long long)json_integer_value(json_object_get(loc, "document"));
            if (outside == matches)
                fprintf(stderr, "%s: Location target %s (document %lld) leads outside %s; "
                                "refused (--allow-outside follows it)\n",
                        file, target, doc, c->roots.items[root]);
            else
                fprintf(stderr, "%s: Location target %s (document %lld): %zu of its %zu matches "
                                "lead outside %s; those are refused (--allow-outside follows "
                                "them)\n",
                        file, target, doc, outside, matches, c->roots.items[root]);
            c->refused++;
        }
    }
}

/* Records that file (a canonical path) holds what rep imported — orphaning
 * what it held before and holds no longer — and registers its url
 * Location targets. */
static cw_err track_file(cw_store *store, const char *file, const cw_import_report *rep,
                         bool del, size_t *orphaned, size_t *registered, cw_diag *d)
{
    cw_location loc;
    size_t n = 0, r = 0;
    cw_err err = cw_store_location_add(store, "file", file, "cli", cw_now_ms(), &loc, NULL, d);
    if (err == CW_ERR_INVALID)
        return CW_OK; /* a path no location can hold (not UTF-8): not tracked */
    if (err)
        return err;
    err = cw_location_provides(store, loc.id, rep->refs, rep->errors, del, &n, d);
    if (!err)
        err = cw_locations_register(store, rep->locations, NULL, &r, d);
    cw_location_free(&loc);
    *orphaned += n;
    *registered += r;
    return err;
}

/* The files of the imported directories that conway had imported before and
 * that are gone: their locations are forgotten and their entities orphaned. */
static cw_err forget_gone_files(cw_store *store, const path_list *dirs, const path_list *queue,
                                bool del, size_t *orphaned, cw_diag *d)
{
    if (!dirs->len)
        return CW_OK;
    cw_location *all = NULL;
    size_t n = 0;
    cw_err err = cw_store_location_list(store, &all, &n, d);
    for (size_t i = 0; !err && i < n; i++) {
        if (strcmp(all[i].type, "file") || strcmp(all[i].origin, "cli"))
            continue;
        bool under = false, imported = false;
        for (size_t k = 0; k < dirs->len && !under; k++)
            under = inside(dirs->items[k], all[i].target) && strcmp(dirs->items[k], all[i].target);
        for (size_t k = 0; under && k < queue->len && !imported; k++)
            imported = !strcmp(queue->items[k], all[i].target);
        if (!under || imported)
            continue;
        json_t *gone = NULL;
        size_t m = 0;
        err = cw_store_location_delete(store, all[i].id, &gone, d);
        if (!err)
            err = cw_orphans(store, gone, del, &m, d);
        json_decref(gone);
        *orphaned += m;
    }
    cw_locations_free(all, n);
    return err;
}

int cw_cmd_import(int argc, char **argv)
{
    const char *db = NULL, *quiet = NULL, *allow_outside = NULL, *delete_orphans = NULL;
    const char *server = NULL, *token = NULL;
    cw_opt opts[] = {{"db", true, &db},
                     {"quiet", false, &quiet},
                     {"allow-outside", false, &allow_outside},
                     {"delete-orphans", false, &delete_orphans},
                     {"server", true, &server},
                     {"token", true, &token},
                     {NULL, false, NULL}};
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
    if (server) { /* remote mode: each file is posted to the server */
        if ((db && cw_opts_setting_source("db") == NULL) || delete_orphans) {
            fprintf(stderr, "conway import: --server imports through the API: %s\n",
                    delete_orphans ? "--delete-orphans needs --db" : "give --server or --db, not both");
            return 2;
        }
        cw_remote r = {.server = server, .token = token};
        return cw_remote_import(&r, pos, npos, quiet != NULL);
    }
    import_ctx c = {.allow_outside = allow_outside != NULL};
    path_list dirs = {0}; /* the directories given: their files that are gone orphan */
    path_list *queue = &c.queue;
    int rc = 0;
    for (size_t i = 0; i < npos; i++) {
        struct stat st;
        char real[PATH_MAX];
        if (!realpath(pos[i], real) || stat(real, &st) != 0) {
            fprintf(stderr, "conway import: %s: %s\n", pos[i], strerror(errno));
            rc = 1;
            continue;
        }
        /* The tree a PATH opens: the directory itself, or the file's
         * (dirname may write to its argument: it gets a copy). */
        char tree[PATH_MAX];
        snprintf(tree, sizeof tree, "%s", real);
        if (!S_ISDIR(st.st_mode)) {
            char copy[PATH_MAX];
            snprintf(copy, sizeof copy, "%s", real);
            snprintf(tree, sizeof tree, "%s", dirname(copy));
        }
        size_t root = c.roots.len;
        for (size_t k = 0; k < c.roots.len; k++)
            if (!strcmp(c.roots.items[k], tree))
                root = k;
        if (root == c.roots.len && path_list_add(&c.roots, tree, 0) < 0) {
            fputs("conway import: out of memory\n", stderr);
            rc = 1;
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            if (collect_dir(&c, pos[i], root, 0) != 0)
                rc = 1;
            else if (path_list_add(&dirs, real, 0) < 0)
                rc = 1;
        } else if (path_list_add(queue, real, root) < 0) {
            rc = 1;
        }
    }
    /* an empty directory or a wrong path is a mistake worth a status; a
     * directory emptied since its last import still has its entities
     * orphaned below */
    bool no_files = queue->len == 0;
    if (no_files && rc == 0)
        fputs("conway import: no catalog files (*.yaml, *.yml, *.json) found in the given "
              "paths; nothing imported\n", stderr);
    if (no_files && dirs.len == 0) {
        path_list_free(&c.queue);
        path_list_free(&c.roots);
        path_list_free(&dirs);
        return 1;
    }
    const char *url = cw_cli_db_url(db);
    cw_store *store = NULL;
    cw_diag d = {{0}};
    if (cw_store_open(url, NULL, &store, &d)) {
        fprintf(stderr, "conway import: cannot open database %s: %s\n", cw_cli_shown_url(url).s, d.msg);
        path_list_free(&c.queue);
        path_list_free(&c.roots);
        path_list_free(&dirs);
        return 1;
    }
    size_t orphaned = 0, registered = 0;
    bool del = delete_orphans != NULL;
    bool tty = !quiet && isatty(STDERR_FILENO);
    size_t created = 0, updated = 0, unchanged = 0, rejected = 0, missing = 0, files = 0;
    cw_buf text;
    cw_buf_init(&text, MAX_FILE_BYTES);
    for (size_t f = 0; f < queue->len; f++) {
        const char *file = queue->items[f];
        progress(tty, f, queue->len, created + updated + unchanged);
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
        cw_err err = cw_import_file_text(store, cw_buf_cstr(&text), text.len, &rep, &d);
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
        /* what this file holds now; a file that does not parse keeps what
         * it gave before */
        if (!err && track_file(store, file, &rep, del, &orphaned, &registered, &d)) {
            fprintf(stderr, "conway import: %s: %s\n", file, d.msg);
            rc = 1;
        }
        follow_locations(&c, file, queue->root[f], rep.locations, &missing);
        cw_import_report_free(&rep);
    }
    progress(tty, queue->len, queue->len, created + updated + unchanged);
    if (tty)
        fputc('\n', stderr);
    if (rc == 0 && forget_gone_files(store, &dirs, queue, del, &orphaned, &d)) {
        fprintf(stderr, "conway import: %s\n", d.msg);
        rc = 1;
    }
    printf("imported %zu entities (%zu created, %zu updated), %zu unchanged, %zu rejected, "
           "from %zu file%s%s",
           created + updated, created, updated, unchanged, rejected, files, files == 1 ? "" : "s",
           missing ? " (some Location targets were missing)" : "");
    if (c.refused)
        printf(", %zu Location targets or links refused (outside the imported tree)", c.refused);
    if (orphaned)
        printf(", %zu entities no file holds any more %s", orphaned,
               del ? "deleted" : "marked orphan (backstage.io/orphan)");
    if (registered)
        printf(", %zu url locations registered (fetched by a server started with --fetch-allow)",
               registered);
    putchar('\n');
    if (rejected || c.refused || no_files)
        rc = 1;
    cw_buf_free(&text);
    cw_store_close(store);
    path_list_free(&c.queue);
    path_list_free(&c.roots);
    path_list_free(&dirs);
    return rc;
}
