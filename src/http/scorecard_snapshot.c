/*
 * scorecard_snapshot.c — scorecards judged over the catalog, and the daily
 * scorecard snapshot (scorecard_snapshot.h). A snapshot row keeps the
 * level's name (so a renamed level reads back as it was written) and the
 * passed checks as a bit set over the day's check ids, which the snapshot
 * keeps once (insights/initiative.h, the compact form).
 */
#include "http/scorecard_snapshot.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/scorecards.h"
#include "insights/initiative.h"
#include "store/store_scan.h"
#include "store/store_scorecard_history.h"
#include "util/timeutil.h"

void cw_sc_rows_free(cw_sc_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        free(rows[i].passed);
    free(rows);
}

static void owner_of(const json_t *e, char out[CW_REF_MAX])
{
    out[0] = '\0';
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(e, "relations"), i, r) {
        const char *type = json_string_value(json_object_get(r, "type"));
        const char *target = json_string_value(json_object_get(r, "targetRef"));
        if (type && target && !strcmp(type, "ownedBy") && cw_ref_text_to_key(target, out))
            return;
    }
    out[0] = '\0';
}

/* The card's own scope (spec.filter; none = everything). */
static cw_err card_filter(const cw_scorecard *card, cw_filter_owned **out, cw_diag *d)
{
    *out = NULL;
    if (!card->nfilter)
        return CW_OK;
    return cw_filter_parse_backstage((const char *const *)card->filter, card->nfilter, out, d);
}

cw_err cw_sc_rows(const cw_facts_batch *b, const cw_scorecard *card, const cw_filter *narrow,
                  cw_sc_row **rows, size_t *n, cw_diag *d)
{
    int64_t now_ms = cw_facts_batch_now(b);
    *rows = NULL;
    *n = 0;
    size_t ne = 0;
    json_t *const *ents = cw_facts_batch_entities(b, &ne);
    cw_filter_owned *scope = NULL;
    cw_err err = card_filter(card, &scope, d);
    cw_sc_row *out = err ? NULL : calloc(ne ? ne : 1, sizeof *out);
    if (!err && !out)
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory judging %s", card->ref);
    size_t k = 0;
    for (size_t i = 0; !err && i < ne; i++) {
        const json_t *e = ents[i];
        const char *kind = json_string_value(json_object_get(e, "kind"));
        /* as cw_scorecard_run (scorecards.h): scorecards are not judged */
        if ((kind && !strcasecmp(kind, CW_SCORECARD_KIND)) ||
            (scope && !cw_filter_matches_entity(&scope->filter, e)) ||
            (narrow && !cw_filter_matches_entity(narrow, e)))
            continue;
        cw_ref ref;
        if (cw_entity_ref(e, &ref, NULL))
            continue;
        json_t *facts = NULL;
        cw_scorecard_result res = {0};
        err = cw_facts_of(b, e, &facts, d);
        if (!err)
            err = cw_scorecard_eval(card, facts, now_ms, false, &res, d);
        json_decref(facts);
        cw_sc_row *r = &out[k];
        if (!err && !(r->passed = calloc(card->nchecks ? card->nchecks : 1, sizeof *r->passed)))
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory judging %s", card->ref);
        if (!err) {
            r->entity = e;
            cw_ref_key(&ref, r->key);
            owner_of(e, r->owner);
            r->level = res.level;
            for (size_t c = 0; c < card->nchecks && c < res.nchecks; c++)
                r->passed[c] = res.checks[c].state != CW_CHECK_FAIL;
            k++;
        }
        cw_scorecard_result_free(&res);
    }
    cw_filter_owned_free(scope);
    if (err) {
        cw_sc_rows_free(out, k);
        return err;
    }
    *rows = out;
    *n = k;
    return CW_OK;
}

/* The card's check ids as a JSON array text (the snapshot's check list). */
static char *checks_text(const cw_scorecard *card)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < card->nchecks; i++)
        if (json_array_append_new(a, json_string(card->checks[i].id))) {
            json_decref(a);
            a = NULL;
        }
    char *t = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return t;
}

static cw_err snapshot_card(cw_store *s, const cw_facts_batch *b, const cw_scorecard *card,
                            int64_t day, bool *taken, size_t *nrows, cw_diag *d)
{
    *taken = false;
    *nrows = 0;
    cw_sc_row *rows = NULL;
    size_t n = 0;
    cw_err err = cw_sc_rows(b, card, NULL, &rows, &n, d);
    cw_scorecard_level_row *lr = err ? NULL : calloc(n ? n : 1, sizeof *lr);
    size_t bits_len = (card->nchecks + 3) / 4 + 1;
    char *bits = err ? NULL : calloc(n ? n : 1, bits_len);
    char *checks = err ? NULL : checks_text(card);
    if (!err && (!lr || !bits || !checks))
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory snapshotting %s", card->ref);
    for (size_t i = 0; !err && i < n; i++) {
        char *mine = bits + i * bits_len;
        cw_passed_encode(rows[i].passed, card->nchecks, mine, bits_len);
        lr[i] = (cw_scorecard_level_row){rows[i].key,
                                         rows[i].level >= 0 ? card->levels[rows[i].level] : "",
                                         mine};
    }
    char key[CW_REF_MAX];
    if (!err && !cw_ref_text_to_key(card->ref, key))
        err = cw_fail(d, CW_ERR_INVALID, "scorecard %s: not a reference", card->ref);
    if (!err)
        err = cw_store_scorecard_snapshot_put(s, day, key, checks, lr, n, taken, d);
    if (!err && *taken)
        *nrows = n;
    free(checks);
    free(bits);
    free(lr);
    cw_sc_rows_free(rows, n);
    return err;
}

cw_err cw_scorecards_snapshot(cw_store *s, const cw_findings_cfg *cfg, int64_t now_ms,
                              size_t *taken, size_t *rows, cw_diag *d)
{
    size_t t = 0, r = 0;
    int64_t day = cw_day_of_ms(now_ms);
    /* cheap first: is any scorecard still to be snapshotted today? */
    static const char *const kinds[] = {CW_SCORECARD_KIND};
    json_t *cards_json = NULL;
    cw_err err = cw_store_scan(s, kinds, 1, 0, &cards_json, d);
    bool due = false;
    for (size_t i = 0; !err && !due && i < json_array_size(cards_json); i++) {
        cw_ref ref;
        char key[CW_REF_MAX];
        bool has = false;
        if (cw_entity_ref(json_array_get(cards_json, i), &ref, NULL))
            continue;
        cw_ref_key(&ref, key);
        err = cw_store_scorecard_snapshot_has(s, day, key, &has, d);
        due = !has;
    }
    json_decref(cards_json);
    cw_facts_batch *b = NULL;
    cw_scorecard **cards = NULL;
    size_t nc = 0;
    if (!err && due)
        err = cw_facts_batch_load(s, cfg, now_ms, &b, d);
    if (!err && due)
        err = cw_scorecards_load(b, &cards, &nc, d);
    for (size_t i = 0; !err && i < nc; i++) {
        bool has = false, took = false;
        size_t n = 0;
        char key[CW_REF_MAX];
        if (!cw_ref_text_to_key(cards[i]->ref, key))
            continue;
        err = cw_store_scorecard_snapshot_has(s, day, key, &has, d);
        if (!err && !has)
            err = snapshot_card(s, b, cards[i], day, &took, &n, d);
        t += took;
        r += n;
    }
    cw_scorecards_free(cards, nc);
    cw_facts_batch_free(b);
    if (taken)
        *taken = t;
    if (rows)
        *rows = r;
    return err;
}
