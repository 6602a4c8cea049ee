/*
 * test_store_filter_plan.c — filters whose conditions differ widely in
 * size, on a real SQLite store of a few hundred entities. The SQLite
 * backend reads the conditions of a clause side by side and then probes
 * the smallest one's candidates against the others (sqlite_query.c); these
 * tests check that every such plan (read on to the end, probe the search
 * rows, probe the inverse of others' relations, "exists" conditions, empty
 * values against null leaves, several clauses) answers exactly what the
 * conditions answer one at a time, intersected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "fixtures.h"
#include "store/store.h"

#define NCOMP 400   /* components svc-0..svc-399 */
#define NTEAM 40    /* groups team-0..team-39; svc-i is owned by team-(i % 40) */

/* One store for the whole group (the tests only read it). */
static int setup(void **state)
{
    fx_sqlite_store_setup(state);
    fx_store *f = *state;
    cw_diag d = {""};

    json_t *all[NCOMP + NTEAM + 1];
    size_t n = 0;
    static const char *const types[] = {"service", "website", "library"};
    for (int i = 0; i < NCOMP; i++) {
        /* note: null on every 7th, '' on every 3rd, a word otherwise */
        const char *note = i % 7 == 0 ? "null" : i % 3 == 0 ? "''" : "'plain'";
        all[n++] = fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Component',"
                             "'metadata':{'name':'svc-%d','tags':['t%d']},"
                             "'spec':{'type':'%s','lifecycle':'%s','owner':'team-%d',"
                             "'system':'sys-%d','dependsOn':['component:svc-%d'],'note':%s}}",
                             i, i % 5, types[i % 3], i % 2 ? "production" : "experimental",
                             i % NTEAM, i % 4, (i + 1) % NCOMP, note);
    }
    for (int t = 0; t < NTEAM; t++)
        all[n++] = fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'Group',"
                             "'metadata':{'name':'team-%d'},'spec':{'type':'team','children':[]}}",
                             t);
    all[n++] = fx_entity("{'apiVersion':'backstage.io/v1alpha1','kind':'System',"
                         "'metadata':{'name':'sys-1'},'spec':{'owner':'team-1'}}");
    cw_put_result *res = calloc(n, sizeof *res);
    assert_non_null(res);
    if (cw_store_entity_put_many(f->s, all, n, res, &d) != CW_OK)
        fail_msg("put_many: %s", d.msg);
    free(res);
    for (size_t i = 0; i < n; i++)
        json_decref(all[i]);
    return 0;
}

/* ---- queries ------------------------------------------------------------------ */

typedef struct {
    char **keys;
    size_t n;
} keyset;

static void keyset_free(keyset *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->keys[i]);
    free(k->keys);
    k->keys = NULL;
    k->n = 0;
}

static bool keyset_has(const keyset *k, const char *key)
{
    for (size_t i = 0; i < k->n; i++)
        if (!strcmp(k->keys[i], key))
            return true;
    return false;
}

/* All matches of f (several pages, checking total and key order). */
static keyset query(cw_store *s, const cw_filter *f)
{
    keyset out = {NULL, 0};
    char after[CW_REF_MAX] = "";
    size_t total = SIZE_MAX;
    for (;;) {
        cw_entity_query q = {.filter = f, .limit = 150, .after_key = after[0] ? after : NULL};
        cw_entity_page p;
        cw_diag d = {""};
        if (cw_store_entity_query(s, &q, &p, &d) != CW_OK)
            fail_msg("query: %s", d.msg);
        if (total == SIZE_MAX)
            total = p.total;
        char **grown = realloc(out.keys, (out.n + p.len + 1) * sizeof *grown);
        assert_non_null(grown);
        out.keys = grown;
        for (size_t i = 0; i < p.len; i++) {
            if (out.n)
                assert_true(strcmp(out.keys[out.n - 1], p.keys[i]) < 0);
            out.keys[out.n++] = strdup(p.keys[i]);
        }
        size_t got = p.len;
        if (got)
            snprintf(after, sizeof after, "%s", p.keys[got - 1]);
        cw_entity_page_free(&p);
        if (got < 150)
            break;
    }
    assert_int_equal(out.n, total);
    return out;
}

typedef struct {
    const char *key;
    const char *vals[NCOMP];
    size_t nvals;
} cond_spec;

static cw_filter_cond make_cond(const cond_spec *c)
{
    cw_filter_cond k = {c->key, c->vals, c->nvals};
    return k;
}

/* Checks that the AND of conds equals the intersection of each condition
 * queried alone (which is read in full, never probed), and returns the
 * number of matches. */
static size_t check_and(cw_store *s, const cond_spec *conds, size_t n)
{
    cw_filter_cond k[8];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++)
        k[i] = make_cond(&conds[i]);
    cw_filter_clause cl = {k, n};
    cw_filter f = {&cl, 1};
    keyset got = query(s, &f);

    keyset alone[8];
    for (size_t i = 0; i < n; i++) {
        cw_filter_clause one = {&k[i], 1};
        cw_filter fi = {&one, 1};
        alone[i] = query(s, &fi);
    }
    size_t want = 0;
    for (size_t j = 0; j < alone[0].n; j++) {
        bool in_all = true;
        for (size_t i = 1; i < n && in_all; i++)
            in_all = keyset_has(&alone[i], alone[0].keys[j]);
        if (!in_all)
            continue;
        want++;
        if (!keyset_has(&got, alone[0].keys[j]))
            fail_msg("%s matches every condition but not their AND", alone[0].keys[j]);
    }
    assert_int_equal(got.n, want);
    for (size_t i = 0; i < n; i++)
        keyset_free(&alone[i]);
    keyset_free(&got);
    return want;
}

static void fill_values(cond_spec *c, const char *fmt, int from, int to, int step)
{
    static char store[4][NCOMP][64];
    static int used;
    int slot = used++ % 4;
    c->nvals = 0;
    for (int i = from; i < to && c->nvals < NCOMP; i += step) {
        snprintf(store[slot][c->nvals], 64, fmt, i);
        c->vals[c->nvals] = store[slot][c->nvals];
        c->nvals++;
    }
}

/* ---- tests ------------------------------------------------------------------------ */

/* A small condition among two large ones: the large ones are probed. */
static void test_small_condition_probes_large_ones(void **state)
{
    fx_store *f = *state;
    cond_spec c[3] = {{"kind", {"component"}, 1},
                      {"spec.type", {"service"}, 1},
                      {"relations.ownedby", {"group:default/team-7"}, 1}};
    /* team-7 owns svc-7, svc-47, ... (10); a third of them are services */
    size_t got = check_and(f->s, c, 3);
    size_t want = 0;
    for (int i = 7; i < NCOMP; i += NTEAM)
        want += i % 3 == 0;
    assert_int_equal(got, want);
    /* the small one last, and a value list on a large one */
    cond_spec d[3] = {{"spec.lifecycle", {"production", "experimental"}, 2},
                      {"metadata.tags", {"t2", "t3"}, 2},
                      {"metadata.name", {"svc-12", "svc-13", "svc-14", "svc-98"}, 4}};
    assert_int_equal(check_and(f->s, d, 3), 3);
}

/* Conditions of similar size: read to the end and merged. */
static void test_similar_conditions_are_merged(void **state)
{
    fx_store *f = *state;
    cond_spec c[2] = {{"spec.type", {"website"}, 1}, {"spec.lifecycle", {"production"}, 1}};
    size_t want = 0;
    for (int i = 0; i < NCOMP; i++)
        want += i % 3 == 1 && i % 2 == 1;
    assert_int_equal(check_and(f->s, c, 2), want);
}

/* A relation matched through the inverse of others' relations (a group's
 * ownerOf from the components' ownedBy), probed for a single candidate. */
static void test_inverse_relation_probed(void **state)
{
    fx_store *f = *state;
    cond_spec c[3] = {{"kind", {"group"}, 1}, {"relations.ownerof", {""}, 0},
                      {"metadata.name", {"team-3"}, 1}};
    fill_values(&c[1], "component:default/svc-%d", 0, NCOMP, 1);
    assert_int_equal(check_and(f->s, c, 3), 1);
    /* only svc-83 (late in key order, so not among the rows read before
     * probing) ties the values to team-3 */
    static char names[NCOMP][64];
    c[1].nvals = 0;
    for (int i = 0; i < NCOMP; i++) {
        if (i % NTEAM == 3 && i != 83)
            continue;
        snprintf(names[c[1].nvals], 64, "component:default/svc-%d", i);
        c[1].vals[c[1].nvals] = names[c[1].nvals];
        c[1].nvals++;
    }
    assert_int_equal(check_and(f->s, c, 3), 1);
    c[2].vals[0] = "team-4";
    assert_int_equal(check_and(f->s, c, 3), 1);
    c[2].vals[0] = "team-3";
    /* the values own nothing of team-3: no match */
    fill_values(&c[1], "component:default/svc-%d", 0, NCOMP, NTEAM);
    assert_int_equal(check_and(f->s, c, 3), 0);
    /* the direct rows of a relation, probed: components owned by many teams */
    cond_spec d[2] = {{"relations.ownedby", {""}, 0}, {"metadata.name", {"svc-45"}, 1}};
    fill_values(&d[0], "group:default/team-%d", 0, NTEAM, 1);
    assert_int_equal(check_and(f->s, d, 2), 1);
    fill_values(&d[0], "group:default/team-%d", 0, NTEAM, 2);
    assert_int_equal(check_and(f->s, d, 2), 0); /* svc-45 is team-5's */
}

/* "exists" conditions are read in full; '' never matches a null leaf. */
static void test_exists_and_empty_values(void **state)
{
    fx_store *f = *state;
    cond_spec c[2] = {{"spec.note", {""}, 0}, {"metadata.name", {"svc-14", "svc-15"}, 2}};
    assert_int_equal(check_and(f->s, c, 2), 2); /* a null leaf is a key that exists */
    cond_spec e[2] = {{"spec.note", {""}, 1}, {"kind", {"component"}, 1}};
    size_t want = 0;
    for (int i = 0; i < NCOMP; i++)
        want += i % 7 != 0 && i % 3 == 0;
    assert_int_equal(check_and(f->s, e, 2), want);
    cond_spec g[2] = {{"spec.note", {""}, 1}, {"metadata.name", {"svc-14", "svc-24"}, 2}};
    assert_int_equal(check_and(f->s, g, 2), 1); /* svc-14's note is null, svc-24's '' */
    /* the same late in id order, where the probe decides: 385 null, 375 '' */
    cond_spec h2[2] = {{"spec.note", {""}, 1}, {"metadata.name", {"svc-385", "svc-375"}, 2}};
    assert_int_equal(check_and(f->s, h2, 2), 1);
    cond_spec h[2] = {{"relations.partof", {""}, 0}, {"metadata.name", {"svc-3", "team-1"}, 2}};
    assert_int_equal(check_and(f->s, h, 2), 1);
}

/* Several clauses, each planned on its own; empty results short-cut. */
static void test_clauses_are_united(void **state)
{
    fx_store *f = *state;
    cw_filter_cond a[2] = {{"kind", (const char *const[]){"component"}, 1},
                           {"metadata.name", (const char *const[]){"svc-1"}, 1}};
    cw_filter_cond b[2] = {{"spec.type", (const char *const[]){"library"}, 1},
                           {"metadata.name", (const char *const[]){"svc-2", "svc-3"}, 2}};
    cw_filter_cond c[2] = {{"metadata.name", (const char *const[]){"nothing"}, 1},
                           {"kind", (const char *const[]){"component"}, 1}};
    cw_filter_clause cl[3] = {{a, 2}, {b, 2}, {c, 2}};
    cw_filter flt = {cl, 3};
    keyset k = query(f->s, &flt);
    assert_int_equal(k.n, 2); /* svc-1, and svc-2 (a library) */
    assert_string_equal(k.keys[0], "component:default/svc-1");
    assert_string_equal(k.keys[1], "component:default/svc-2");
    keyset_free(&k);
}

/* Pages of a probed filter (whose members' keys come from the checks) in
 * both orders, with offsets and keyset cursors, agree with the full list. */
static void test_pages_of_a_checked_filter(void **state)
{
    fx_store *f = *state;
    cw_filter_cond k[3] = {{"kind", (const char *const[]){"component"}, 1},
                           {"spec.lifecycle", (const char *const[]){"production"}, 1},
                           {"relations.ownedby",
                            (const char *const[]){"group:default/team-3", "group:default/team-5"},
                            2}};
    cw_filter_clause cl = {k, 3};
    cw_filter flt = {&cl, 1};
    keyset all = query(f->s, &flt);
    assert_int_equal(all.n, 20); /* team-3's and team-5's components are all odd */
    for (int desc = 0; desc < 2; desc++) {
        for (size_t offset = 0; offset < 4; offset++) {
            cw_entity_query q = {.filter = &flt, .limit = 5, .offset = offset,
                                 .order_desc = desc};
            cw_entity_page p;
            cw_diag d = {""};
            assert_int_equal(cw_store_entity_query(f->s, &q, &p, &d), CW_OK);
            assert_int_equal(p.total, all.n);
            assert_int_equal(p.len, 5);
            for (size_t i = 0; i < p.len; i++) {
                size_t at = desc ? all.n - 1 - offset - i : offset + i;
                assert_string_equal(p.keys[i], all.keys[at]);
            }
            cw_entity_page_free(&p);
        }
        /* after the 7th in this order */
        const char *after = desc ? all.keys[all.n - 7] : all.keys[6];
        cw_entity_query q = {.filter = &flt, .limit = 100, .after_key = after,
                             .order_desc = desc};
        cw_entity_page p;
        cw_diag d = {""};
        assert_int_equal(cw_store_entity_query(f->s, &q, &p, &d), CW_OK);
        assert_int_equal(p.len, all.n - 7);
        assert_string_equal(p.keys[0], desc ? all.keys[all.n - 8] : all.keys[7]);
        cw_entity_page_free(&p);
    }
    keyset_free(&all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_condition_probes_large_ones),
        cmocka_unit_test(test_similar_conditions_are_merged),
        cmocka_unit_test(test_inverse_relation_probed),
        cmocka_unit_test(test_exists_and_empty_values),
        cmocka_unit_test(test_clauses_are_united),
        cmocka_unit_test(test_pages_of_a_checked_filter),
    };
    return cmocka_run_group_tests(tests, setup, fx_store_teardown);
}
