/*
 * bench_store.c — figures for the SQLite store, each beside a baseline
 * measured in the same run on the same machine:
 *   - import: cw_store_entity_put_many of N components (one transaction)
 *     vs raw sqlite3 INSERTs of the same JSON bodies in one transaction;
 *   - by-name get: cw_store_entity_get throughput (cold and cached) vs a raw
 *     SELECT of the body by primary key;
 *   - filtered query (kind=component, spec.type=service, limit 100) vs a raw
 *     indexed SELECT of 100 bodies;
 *   - the API's list shape (kind + spec.type + owner, limit 100: one small
 *     condition among large ones) vs a raw SELECT on a (type, owner, key)
 *     index.
 * Prints numbers only; asserts nothing about time.
 *
 * Usage: bench_store [entities]   (default 10000)
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "store/store.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_store: %s: %s\n", what, msg);
    exit(1);
}

static const char *const types[] = {"service", "website", "library"};

static json_t *make_component(size_t i)
{
    char name[32], owner[32], desc[96];
    snprintf(name, sizeof name, "svc-%05zu", i);
    snprintf(owner, sizeof owner, "group:default/team-%02zu", i % 40);
    snprintf(desc, sizeof desc, "Component number %zu of the benchmark catalog", i);
    json_t *e = json_pack("{s:s, s:s, s:{s:s, s:s, s:[s, s]}, "
                          "s:{s:s, s:s, s:s, s:s, s:[s]}}",
                          "apiVersion", "backstage.io/v1alpha1", "kind", "Component",
                          "metadata", "name", name, "description", desc, "tags", "bench",
                          i % 2 ? "java" : "go", "spec", "type", types[i % 3], "lifecycle",
                          "production", "owner", owner, "system", "system-a", "dependsOn",
                          "resource:default/db");
    cw_diag d = {""};
    if (!e || cw_entity_validate(e, &d) != CW_OK)
        die("entity", d.msg);
    return e;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        die(sql, msg ? msg : "?");
}

static sqlite3 *raw_open(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die("raw open", sqlite3_errmsg(db));
    raw_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL");
    return db;
}

static void ratio_line(const char *what, double ours, double base, const char *unit)
{
    printf("  %-34s conway %10.2f %-6s raw %10.2f %-6s ratio %.2fx\n", what, ours, unit, base,
           unit, base > 0 ? ours / base : 0.0);
}

/* Inserts, in one transaction, the rows conway stores for each entity
 * (derived before the clock starts) into tables of the same shape. */
static double raw_same_rows(const char *dir, json_t *const *ents, size_t n)
{
    char path[160];
    snprintf(path, sizeof path, "%s/same.db", dir);
    sqlite3 *db = raw_open(path);
    raw_exec(db, "CREATE TABLE e (id INTEGER PRIMARY KEY, uid TEXT UNIQUE, key TEXT UNIQUE, "
                 "body TEXT);"
                 "CREATE TABLE r (entity_id INTEGER, type TEXT, target_key TEXT, "
                 "target_ref TEXT, PRIMARY KEY (entity_id, type, target_key)) WITHOUT ROWID;"
                 "CREATE INDEX r_t ON r (target_key);"
                 "CREATE TABLE s (key TEXT, value TEXT, entity_id INTEGER, "
                 "PRIMARY KEY (key, value, entity_id)) WITHOUT ROWID;");
    cw_relation_list *rels = calloc(n, sizeof *rels);
    cw_search_rows *rows = calloc(n, sizeof *rows);
    char **bodies = calloc(n, sizeof *bodies);
    if (!rels || !rows || !bodies)
        die("alloc", "out of memory");
    for (size_t i = 0; i < n; i++) {
        cw_diag d = {""};
        if (cw_entity_relations(ents[i], &rels[i], &d) != CW_OK ||
            cw_entity_search_rows(ents[i], &rels[i], &rows[i]) != CW_OK)
            die("derive", d.msg);
        bodies[i] = json_dumps(ents[i], JSON_COMPACT);
    }
    sqlite3_stmt *ie = NULL, *ir = NULL, *is = NULL;
    sqlite3_prepare_v2(db, "INSERT INTO e (uid, key, body) VALUES (?, ?, ?)", -1, &ie, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO r VALUES (?, ?, ?, ?)", -1, &ir, NULL);
    sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO s VALUES (?, ?, ?)", -1, &is, NULL);
    double t0 = now_s();
    raw_exec(db, "BEGIN");
    for (size_t i = 0; i < n; i++) {
        char key[64], uid[64];
        snprintf(key, sizeof key, "component:default/svc-%05zu", i);
        snprintf(uid, sizeof uid, "uid-%zu-%zu", i * 7919 % n, i);
        sqlite3_bind_text(ie, 1, uid, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ie, 2, key, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ie, 3, bodies[i], -1, SQLITE_STATIC);
        if (sqlite3_step(ie) != SQLITE_DONE)
            die("raw insert", sqlite3_errmsg(db));
        sqlite3_reset(ie);
        sqlite3_int64 id = sqlite3_last_insert_rowid(db);
        for (size_t k = 0; k < rels[i].len; k++) {
            sqlite3_bind_int64(ir, 1, id);
            sqlite3_bind_text(ir, 2, rels[i].items[k].type, -1, SQLITE_STATIC);
            sqlite3_bind_text(ir, 3, rels[i].items[k].target_key, -1, SQLITE_STATIC);
            sqlite3_bind_text(ir, 4, rels[i].items[k].target_ref, -1, SQLITE_STATIC);
            if (sqlite3_step(ir) != SQLITE_DONE)
                die("raw relation", sqlite3_errmsg(db));
            sqlite3_reset(ir);
        }
        for (size_t k = 0; k < rows[i].len; k++) {
            const char *v = rows[i].items[k].value;
            sqlite3_bind_text(is, 1, rows[i].items[k].key, -1, SQLITE_STATIC);
            sqlite3_bind_text(is, 2, v ? v : "", -1, SQLITE_STATIC);
            sqlite3_bind_int64(is, 3, id);
            if (sqlite3_step(is) != SQLITE_DONE)
                die("raw search", sqlite3_errmsg(db));
            sqlite3_reset(is);
        }
    }
    raw_exec(db, "COMMIT");
    double t = now_s() - t0;
    sqlite3_finalize(ie);
    sqlite3_finalize(ir);
    sqlite3_finalize(is);
    sqlite3_close(db);
    for (size_t i = 0; i < n; i++) {
        cw_relation_list_free(&rels[i]);
        cw_search_rows_free(&rows[i]);
        free(bodies[i]);
    }
    free(rels);
    free(rows);
    free(bodies);
    const char *sfx[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char p[192];
        snprintf(p, sizeof p, "%s%s", path, sfx[i]);
        unlink(p);
    }
    return t;
}

int main(int argc, char **argv)
{
    size_t n = 10000;
    if (argc > 1) {
        char *end = NULL;
        long long v = strtoll(argv[1], &end, 10);
        if (!end || *end || v < 100 || v > 1000000)
            die("entities", "give a count between 100 and 1000000");
        n = (size_t)v;
    }
    char dir[] = "/tmp/cw-bench-store-XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp", "failed");
    char path[128], rawpath[128];
    snprintf(path, sizeof path, "%s/conway.db", dir);
    snprintf(rawpath, sizeof rawpath, "%s/raw.db", dir);

    json_t **ents = calloc(n, sizeof *ents);
    char **bodies = calloc(n, sizeof *bodies);
    cw_put_result *res = calloc(n, sizeof *res);
    if (!ents || !bodies || !res)
        die("alloc", "out of memory");
    for (size_t i = 0; i < n; i++) {
        ents[i] = make_component(i);
        bodies[i] = json_dumps(ents[i], JSON_COMPACT);
    }

    printf("store benchmark: %zu components, SQLite %s, WAL, synchronous=FULL\n", n,
           sqlite3_libversion());

    /* ---- import ---- */
    cw_store *s = NULL;
    cw_diag d = {""};
    if (cw_store_open(path, NULL, &s, &d) != CW_OK)
        die("open", d.msg);
    double t0 = now_s();
    if (cw_store_entity_put_many(s, ents, n, res, &d) != CW_OK)
        die("put_many", d.msg);
    double t_ours = now_s() - t0;

    sqlite3 *raw = raw_open(rawpath);
    raw_exec(raw, "CREATE TABLE t (id INTEGER PRIMARY KEY, key TEXT UNIQUE, type TEXT, "
                  "owner TEXT, body TEXT); CREATE INDEX t_type ON t (type, key); "
                  "CREATE INDEX t_owner ON t (type, owner, key)");
    sqlite3_stmt *ins = NULL;
    sqlite3_prepare_v2(raw, "INSERT INTO t (id, key, type, owner, body) VALUES (?, ?, ?, ?, ?)",
                       -1, &ins, NULL);
    t0 = now_s();
    raw_exec(raw, "BEGIN");
    for (size_t i = 0; i < n; i++) {
        char key[64];
        snprintf(key, sizeof key, "component:default/svc-%05zu", i);
        sqlite3_bind_int64(ins, 1, (sqlite3_int64)i + 1);
        sqlite3_bind_text(ins, 2, key, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 3, types[i % 3], -1, SQLITE_STATIC);
        char owner[32];
        snprintf(owner, sizeof owner, "group:default/team-%02zu", i % 40);
        sqlite3_bind_text(ins, 4, owner, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 5, bodies[i], -1, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE)
            die("raw insert", sqlite3_errmsg(raw));
        sqlite3_reset(ins);
    }
    raw_exec(raw, "COMMIT");
    double t_raw = now_s() - t0;
    sqlite3_finalize(ins);
    /* baseline 2: the same rows conway writes (entity, relations, search
     * rows), derived beforehand, inserted one by one with plain statements */
    double t_same = raw_same_rows(dir, ents, n);
    printf("import (one transaction)\n");
    ratio_line("put_many vs bodies only", t_ours * 1e3, t_raw * 1e3, "ms");
    ratio_line("put_many vs the same rows", t_ours * 1e3, t_same * 1e3, "ms");
    ratio_line("per entity (vs same rows)", t_ours * 1e6 / (double)n,
               t_same * 1e6 / (double)n, "us");
    printf("  %-34s %.0f entities/s\n", "conway import rate", (double)n / t_ours);

    /* ---- by-name get ---- */
    const size_t gets = n * 20;
    size_t bytes = 0;
    char name[32];
    unsigned long long rnd = 88172645463325252ULL;
    /* cold: first read of every entity renders it */
    t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof name, "svc-%05zu", i);
        char *text = NULL;
        if (cw_store_entity_get(s, "component", "default", name, &text, NULL, &d) != CW_OK)
            die("get", d.msg);
        bytes += strlen(text);
        free(text);
    }
    double t_cold = (now_s() - t0) / (double)n;
    t0 = now_s();
    for (size_t i = 0; i < gets; i++) {
        rnd ^= rnd << 13;
        rnd ^= rnd >> 7;
        rnd ^= rnd << 17;
        snprintf(name, sizeof name, "svc-%05zu", (size_t)(rnd % n));
        char *text = NULL;
        if (cw_store_entity_get(s, "component", "default", name, &text, NULL, &d) != CW_OK)
            die("get", d.msg);
        bytes += strlen(text);
        free(text);
    }
    double t_warm = (now_s() - t0) / (double)gets;

    sqlite3_stmt *sel = NULL;
    sqlite3_prepare_v2(raw, "SELECT body FROM t WHERE id = ?", -1, &sel, NULL);
    t0 = now_s();
    for (size_t i = 0; i < gets; i++) {
        rnd ^= rnd << 13;
        rnd ^= rnd >> 7;
        rnd ^= rnd << 17;
        sqlite3_bind_int64(sel, 1, (sqlite3_int64)(rnd % n) + 1);
        if (sqlite3_step(sel) != SQLITE_ROW)
            die("raw select", sqlite3_errmsg(raw));
        /* copy out, as the store hands the caller its own string */
        char *copy = strdup((const char *)sqlite3_column_text(sel, 0));
        bytes += strlen(copy);
        free(copy);
        sqlite3_reset(sel);
    }
    double t_rawget = (now_s() - t0) / (double)gets;
    sqlite3_finalize(sel);
    printf("by-name get (%zu random gets; raw = SELECT body by primary key)\n", gets);
    ratio_line("cold get (renders relations)", t_cold * 1e6, t_rawget * 1e6, "us");
    ratio_line("cached get", t_warm * 1e6, t_rawget * 1e6, "us");
    printf("  %-34s conway %10.0f gets/s  raw %10.0f gets/s\n", "throughput (cached)",
           1.0 / t_warm, 1.0 / t_rawget);

    /* ---- filtered query ---- */
    const char *kind_v[] = {"component"}, *type_v[] = {"service"};
    cw_filter_cond conds[2] = {{"kind", kind_v, 1}, {"spec.type", type_v, 1}};
    cw_filter_clause cl = {conds, 2};
    cw_filter flt = {&cl, 1};
    cw_entity_query q = {.filter = &flt, .limit = 100};
    const int runs = 200;
    size_t total = 0;
    t0 = now_s();
    for (int r = 0; r < runs; r++) {
        cw_entity_page p;
        if (cw_store_entity_query(s, &q, &p, &d) != CW_OK)
            die("query", d.msg);
        total = p.total;
        if (p.len != 100)
            die("query", "expected 100 items");
        cw_entity_page_free(&p);
    }
    double t_q = (now_s() - t0) / runs;

    sqlite3_stmt *rq = NULL, *rc = NULL;
    sqlite3_prepare_v2(raw, "SELECT key, body FROM t WHERE type = 'service' ORDER BY key "
                            "LIMIT 100", -1, &rq, NULL);
    sqlite3_prepare_v2(raw, "SELECT count(*) FROM t WHERE type = 'service'", -1, &rc, NULL);
    t0 = now_s();
    for (int r = 0; r < runs; r++) {
        sqlite3_step(rc);
        sqlite3_reset(rc);
        while (sqlite3_step(rq) == SQLITE_ROW) {
            char *copy = strdup((const char *)sqlite3_column_text(rq, 1));
            bytes += strlen(copy);
            free(copy);
        }
        sqlite3_reset(rq);
    }
    double t_rq = (now_s() - t0) / runs;
    sqlite3_finalize(rq);
    sqlite3_finalize(rc);
    printf("filtered query kind=component,spec.type=service limit 100 (%zu matches)\n",
           total);
    ratio_line("query latency", t_q * 1e3, t_rq * 1e3, "ms");

    /* ---- the API's list: kind + type + owner ---- */
    const char *owner_v[] = {"group:default/team-07"};
    cw_filter_cond oconds[3] = {{"kind", kind_v, 1},
                                {"spec.type", type_v, 1},
                                {"relations.ownedby", owner_v, 1}};
    cw_filter_clause ocl = {oconds, 3};
    cw_filter oflt = {&ocl, 1};
    cw_entity_query oq = {.filter = &oflt, .limit = 101};
    const int oruns = 500;
    t0 = now_s();
    for (int r = 0; r < oruns; r++) {
        cw_entity_page p;
        if (cw_store_entity_query(s, &oq, &p, &d) != CW_OK)
            die("query", d.msg);
        total = p.total;
        cw_entity_page_free(&p);
    }
    double t_oq = (now_s() - t0) / oruns;
    sqlite3_prepare_v2(raw, "SELECT key, body FROM t WHERE type = 'service' "
                            "AND owner = 'group:default/team-07' ORDER BY key LIMIT 101",
                       -1, &rq, NULL);
    sqlite3_prepare_v2(raw, "SELECT count(*) FROM t WHERE type = 'service' "
                            "AND owner = 'group:default/team-07'", -1, &rc, NULL);
    t0 = now_s();
    for (int r = 0; r < oruns; r++) {
        sqlite3_step(rc);
        sqlite3_reset(rc);
        while (sqlite3_step(rq) == SQLITE_ROW) {
            char *copy = strdup((const char *)sqlite3_column_text(rq, 1));
            bytes += strlen(copy);
            free(copy);
        }
        sqlite3_reset(rq);
    }
    double t_orq = (now_s() - t0) / oruns;
    sqlite3_finalize(rq);
    sqlite3_finalize(rc);
    printf("filtered query kind=component,spec.type=service,relations.ownedby=team-07 "
           "limit 101 (%zu matches)\n", total);
    ratio_line("query latency", t_oq * 1e3, t_orq * 1e3, "ms");

    /* ---- facets ---- */
    const char *fkeys[] = {"spec.type", "spec.lifecycle", "metadata.tags",
                           "relations.ownedby"};
    cw_filter_cond kc = {"kind", kind_v, 1};
    cw_filter_clause kcl = {&kc, 1};
    cw_filter kflt = {&kcl, 1};
    const int fruns = 50;
    t0 = now_s();
    for (int r = 0; r < fruns; r++) {
        json_t *facets = NULL;
        if (cw_store_entity_facets(s, fkeys, 4, &kflt, &facets, &d) != CW_OK)
            die("facets", d.msg);
        json_decref(facets);
    }
    double t_f = (now_s() - t0) / fruns;
    sqlite3_stmt *rf = NULL;
    sqlite3_prepare_v2(raw, "SELECT type, count(*) FROM t GROUP BY type", -1, &rf, NULL);
    t0 = now_s();
    for (int r = 0; r < fruns * 4; r++) {
        while (sqlite3_step(rf) == SQLITE_ROW)
            bytes += (size_t)sqlite3_column_int64(rf, 1);
        sqlite3_reset(rf);
    }
    double t_rf = (now_s() - t0) / fruns; /* four GROUP BYs, one per facet key */
    sqlite3_finalize(rf);
    printf("facets spec.type,spec.lifecycle,metadata.tags,relations.ownedby "
           "(filter kind=component)\n");
    ratio_line("facets latency (raw: 4 GROUP BY)", t_f * 1e3, t_rf * 1e3, "ms");

    int64_t size = 0;
    cw_store_size_bytes(s, &size, &d);
    printf("database size: %.1f MiB (%zu bytes read in total)\n", (double)size / 1048576.0,
           bytes);

    cw_store_close(s);
    sqlite3_close(raw);
    for (size_t i = 0; i < n; i++) {
        json_decref(ents[i]);
        free(bodies[i]);
    }
    free(ents);
    free(bodies);
    free(res);
    if (getenv("BENCH_KEEP")) {
        printf("kept: %s\n", dir);
        return 0;
    }
    const char *sfx[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s%s", path, sfx[i]);
        unlink(p);
        snprintf(p, sizeof p, "%s%s", rawpath, sfx[i]);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}
