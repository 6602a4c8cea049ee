/*
 * bench_ownership.c — what the whole-catalog reports of issue #4 cost over
 * a SQLite catalog of N entities (default 10,000: teams, users, systems,
 * resources, production components with dependencies, Responsibilities),
 * each beside a baseline measured in the same run:
 *   - baseline: reading every rendered entity with cw_store_entity_query
 *     (no parsing);
 *   - cold report: cw_store_scan (read + parse) + cw_ownership_check, what
 *     the first GET /api/v1/insights/ownership after a change costs;
 *   - warm report: the server's path through cw_scan_cache_read when
 *     nothing changed (read + compare, findings reused);
 *   - after one write: cw_scan_cache_read re-parsing what changed, plus
 *     cw_ownership_check;
 *   - team report: cw_team_report of one team with the findings given.
 * Prints numbers only; asserts nothing about time.
 *
 * Usage: bench_ownership [entities]   (default 10000)
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "insights/ownership.h"
#include "insights/team.h"
#include "store/store.h"
#include "store/store_scan.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_ownership: %s: %s\n", what, msg);
    exit(1);
}

static json_t *valid(json_t *e)
{
    cw_diag d = {{0}};
    if (!e || cw_entity_validate(e, &d))
        die("entity", d.msg);
    return e;
}

static json_t *entity(size_t i, size_t n)
{
    char name[64], a[64], b[64], c[64];
    size_t groups = n / 25 + 1, users = n / 6 + 1, systems = n / 50 + 1, resources = n / 12 + 1;
    if (i < groups) {
        snprintf(name, sizeof name, "team-%zu", i);
        return json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:[]}}", "apiVersion",
                         "backstage.io/v1alpha1", "kind", "Group", "metadata", "name", name, "spec",
                         "type", "team", "children");
    }
    i -= groups;
    if (i < users) {
        snprintf(name, sizeof name, "user-%zu", i);
        snprintf(a, sizeof a, "team-%zu", i % groups);
        return json_pack("{s:s, s:s, s:{s:s}, s:{s:[s]}}", "apiVersion", "backstage.io/v1alpha1",
                         "kind", "User", "metadata", "name", name, "spec", "memberOf", a);
    }
    i -= users;
    if (i < systems) {
        snprintf(name, sizeof name, "sys-%zu", i);
        snprintf(a, sizeof a, "team-%zu", i % groups);
        snprintf(b, sizeof b, "system:sys-%zu", i);
        if (i % 2)
            return json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:{s:{s:[s], s:s}}}}", "apiVersion",
                             "conway.dev/v1", "kind", "Responsibilities", "metadata", "name", name,
                             "spec", "target", b, "activities", "incident-resolution",
                             "responsible", a, "accountable", a);
        return json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "backstage.io/v1alpha1",
                         "kind", "System", "metadata", "name", name, "spec", "owner", a);
    }
    i -= systems;
    if (i < resources) {
        snprintf(name, sizeof name, "res-%zu", i);
        snprintf(a, sizeof a, "team-%zu", i % groups);
        return json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s}}", "apiVersion",
                         "backstage.io/v1alpha1", "kind", "Resource", "metadata", "name", name,
                         "spec", "type", "database", "owner", a);
    }
    i -= resources;
    snprintf(name, sizeof name, "comp-%zu", i);
    snprintf(a, sizeof a, "team-%zu", i % groups);
    snprintf(b, sizeof b, "resource:res-%zu", i % resources);
    snprintf(c, sizeof c, "sys-%zu", i % systems);
    return json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:s, s:s, s:[s]}}", "apiVersion",
                     "backstage.io/v1alpha1", "kind", "Component", "metadata", "name", name,
                     "spec", "type", "service", "lifecycle", "production", "owner", a, "system", c,
                     "dependsOn", b);
}

static json_t **items_of(json_t *arr, size_t *n)
{
    *n = json_array_size(arr);
    json_t **items = malloc((*n ? *n : 1) * sizeof *items);
    if (!items)
        die("items", "out of memory");
    for (size_t i = 0; i < *n; i++)
        items[i] = json_array_get(arr, i);
    return items;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 10000;
    if (n < 100)
        n = 100;
    char dir[] = "/tmp/cw-bench-own-XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp", "failed");
    char path[128];
    snprintf(path, sizeof path, "%s/conway.db", dir);
    cw_store *s = NULL;
    cw_diag d = {{0}};
    if (cw_store_open(path, NULL, &s, &d))
        die("open", d.msg);
    json_t **ents = calloc(n, sizeof *ents);
    cw_put_result *res = calloc(n, sizeof *res);
    if (!ents || !res)
        die("alloc", "out of memory");
    for (size_t i = 0; i < n; i++)
        ents[i] = valid(entity(i, n));
    if (cw_store_entity_put_many(s, ents, n, res, &d))
        die("import", d.msg);
    for (size_t i = 0; i < n; i++)
        json_decref(ents[i]);
    free(ents);
    free(res);

    /* baseline: rendered entities only */
    double t0 = now_s();
    size_t bytes = 0, seen = 0;
    char after[CW_REF_MAX] = "";
    for (;;) {
        cw_entity_page p = {0};
        cw_entity_query q = {.after_key = after[0] ? after : NULL, .limit = CW_SCAN_PAGE};
        if (cw_store_entity_query(s, &q, &p, &d))
            die("query", d.msg);
        for (size_t i = 0; i < p.len; i++)
            bytes += strlen(p.items[i]);
        seen += p.len;
        bool last = p.len < CW_SCAN_PAGE;
        if (!last)
            snprintf(after, sizeof after, "%s", p.keys[p.len - 1]);
        cw_entity_page_free(&p);
        if (last)
            break;
    }
    double base = now_s() - t0;

    /* cold: scan + check */
    t0 = now_s();
    json_t *arr = NULL, *findings = NULL;
    if (cw_store_scan(s, NULL, 0, 0, &arr, &d))
        die("scan", d.msg);
    double scan = now_s() - t0;
    size_t m;
    json_t **items = items_of(arr, &m);
    double t1 = now_s();
    if (cw_ownership_check(items, m, NULL, &findings, &d))
        die("check", d.msg);
    double check = now_s() - t1;
    double cold = now_s() - t0;
    size_t nfindings = json_array_size(findings);
    free(items);
    json_decref(arr);

    /* warm: the cache, nothing changed */
    cw_scan_cache *cache = NULL;
    if (cw_scan_cache_new(&cache))
        die("cache", "out of memory");
    uint64_t v = 0, v2 = 0;
    if (cw_scan_cache_read(cache, s, &arr, &v, &d))
        die("cache read", d.msg);
    json_decref(arr);
    t0 = now_s();
    const int reps = 5;
    for (int r = 0; r < reps; r++) {
        if (cw_scan_cache_read(cache, s, &arr, &v2, &d))
            die("cache read", d.msg);
        json_decref(arr);
    }
    double warm = (now_s() - t0) / reps;
    if (v2 != v)
        die("cache", "version moved without a change");

    /* one write, then cache + check */
    json_t *changed = valid(json_pack(
        "{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}}", "apiVersion", "backstage.io/v1alpha1",
        "kind", "Component", "metadata", "name", "comp-0", "description", "changed", "spec",
        "type", "service", "lifecycle", "production", "owner", "team-1"));
    cw_put_result pr;
    if (cw_store_entity_put(s, changed, NULL, &pr, &d))
        die("put", d.msg);
    json_decref(changed);
    t0 = now_s();
    if (cw_scan_cache_read(cache, s, &arr, &v2, &d))
        die("cache read", d.msg);
    items = items_of(arr, &m);
    json_t *f2 = NULL;
    if (cw_ownership_check(items, m, NULL, &f2, &d))
        die("check", d.msg);
    double after_write = now_s() - t0;

    /* team report with the findings given */
    t0 = now_s();
    json_t *team = NULL;
    if (cw_team_report(items, m, "group:default/team-3", NULL, f2, &team, &d))
        die("team", d.msg);
    double team_s = now_s() - t0;

    printf("bench_ownership: %zu entities (%.1f MB rendered), %zu findings\n", seen,
           (double)bytes / 1e6, nfindings);
    printf("  baseline: read every rendered entity   %8.1f ms\n", base * 1e3);
    printf("  cold report (scan %.1f + check %.1f)  %8.1f ms  %5.1fx baseline\n", scan * 1e3,
           check * 1e3, cold * 1e3, cold / base);
    printf("  warm report (cache, nothing changed)   %8.1f ms  %5.1fx baseline\n", warm * 1e3,
           warm / base);
    printf("  after one write (cache + check)        %8.1f ms  %5.1fx baseline\n",
           after_write * 1e3, after_write / base);
    printf("  team report (findings given)           %8.1f ms  %5.1fx baseline\n", team_s * 1e3,
           team_s / base);

    json_decref(team);
    json_decref(f2);
    json_decref(findings);
    free(items);
    json_decref(arr);
    cw_scan_cache_free(cache);
    cw_store_close(s);
    const char *suffix[] = {"", "-wal", "-shm", ".lock"};
    for (size_t i = 0; i < 4; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s%s", path, suffix[i]);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}
