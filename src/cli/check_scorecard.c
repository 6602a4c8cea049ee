/*
 * check_scorecard.c — `conway check scorecard NAME --level L`: a CI gate
 * over a Scorecard of the catalog (issue #15). Evaluates the card over its
 * scope exactly as GET /api/v1/scorecards/{name}/results does
 * (http/scorecards.h) and prints every entity below the level with the
 * checks it still fails; exit 0 when every entity in scope reaches the
 * level, 1 when one does not, 2 on a usage error or when the check could
 * not run. `--builtin` lists the built-in Scorecards and `--builtin NAME`
 * prints one (JSON, to copy or import).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "catalog/catalog.h"
#include "catalog/scorecard.h"
#include "cli/cli.h"
#include "cli/opts.h"
#include "http/assets.h"
#include "http/facts.h"
#include "http/scorecards.h"
#include "store/store.h"
#include "util/timeutil.h"

static const char scorecard_help[] =
    "usage: conway check scorecard NAME [--level LEVEL] [--scope REF] [--namespace NS]\n"
    "                              [--db URL] [--json] [--now TIME] [--production-env GLOBS]\n"
    "       conway check scorecard --builtin [NAME]\n"
    "\n"
    "Evaluates the Scorecard NAME (kind Scorecard, docs/scorecards.md) over the\n"
    "entities its spec.filter selects and prints each entity below LEVEL with the\n"
    "checks it fails at or below that level. Exit status: 0 when every entity in\n"
    "scope reaches LEVEL, 1 when one does not, 2 on a usage error or when the\n"
    "check could not run. LEVEL defaults to the card's first level.\n"
    "\n"
    "Options:\n"
    "  --level LEVEL        the level every entity must reach\n"
    "  --scope REF          only the entity, or the entities owned by / part of REF\n"
    "                       (a group, system or domain ref; a bare name is a Group)\n"
    "  --namespace NS       the Scorecard's namespace (default: any)\n"
    "  --json               print GET /api/v1/scorecards/NAME/results' items instead\n"
    "  --now TIME           evaluate as of another time (RFC 3339; exemption expiry)\n"
    "  --production-env G   production environments (default 'prod*')\n"
    "  --builtin [NAME]     list the built-in Scorecards, or print one to import\n";

#define BUILTIN_PREFIX "/scorecards/"

static int builtin(const char *name)
{
    for (const cw_asset *a = cw_assets; a->path; a++) {
        if (strncmp(a->path, BUILTIN_PREFIX, strlen(BUILTIN_PREFIX)) != 0)
            continue;
        const char *file = a->path + strlen(BUILTIN_PREFIX);
        size_t n = strlen(file) > 5 ? strlen(file) - 5 : 0;   /* without ".json" */
        if (!name) {
            printf("%.*s\n", (int)n, file);
        } else if (strlen(name) == n && !strncmp(file, name, n)) {
            return fwrite(a->data, 1, a->len, stdout) == a->len && fflush(stdout) == 0 ? 0 : 2;
        }
    }
    if (name) {
        fprintf(stderr, "conway check scorecard: no built-in Scorecard '%s' (list them with --builtin)\n",
                name);
        return 2;
    }
    return fflush(stdout) == 0 ? 0 : 2;
}

/* "id, id" of the checks of row that fail at or below level. */
static void failing(const cw_scorecard *card, const json_t *row, int level, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(row, "checks"), i, c) {
        const char *st = json_string_value(json_object_get(c, "state"));
        if (i >= card->nchecks || (int)card->checks[i].level > level || !st || strcmp(st, "fail"))
            continue;
        int w = snprintf(out + used, cap - used, "%s%s", used ? ", " : "", card->checks[i].id);
        if (w < 0 || (size_t)w >= cap - used)
            break;
        used += (size_t)w;
    }
}

int cw_cli_check_scorecard(int argc, char **argv)
{
    const char *db = NULL, *level = NULL, *scope = NULL, *ns = NULL, *as_json = NULL, *now_s = NULL,
               *prod = NULL, *want_builtin = NULL;
    cw_opt opts[] = {{"db", true, &db},          {"level", true, &level},
                     {"scope", true, &scope},    {"namespace", true, &ns},
                     {"json", false, &as_json},  {"now", true, &now_s},
                     {"production-env", true, &prod}, {"builtin", false, &want_builtin},
                     {NULL, false, NULL}};
    const char *pos[2];
    size_t npos;
    bool help;
    if (!cw_opts_parse("check scorecard", argc, argv, 3, opts, pos, 2, &npos, &help))
        return 2;
    if (help) {
        fputs(scorecard_help, stdout);
        return 0;
    }
    if (want_builtin)
        return builtin(npos ? pos[0] : NULL);
    if (npos != 1) {
        fputs("conway check scorecard: name one Scorecard (conway check scorecard --help)\n", stderr);
        return 2;
    }
    int64_t now = cw_now_ms();
    if (now_s && !cw_time_parse_rfc3339(now_s, &now)) {
        fprintf(stderr, "conway check scorecard: --now: '%s' is not an RFC 3339 date-time\n", now_s);
        return 2;
    }
    cw_diag d = {{0}};
    char scope_key[CW_REF_MAX];
    if (scope) {
        cw_ref r;
        if (cw_ref_parse(scope, "Group", NULL, &r, &d)) {
            fprintf(stderr, "conway check scorecard: --scope: %s\n", d.msg);
            return 2;
        }
        cw_ref_key(&r, scope_key);
    }
    int rc = 2;
    const char *url = cw_cli_db_url(db);
    cw_store *store = NULL;
    cw_facts_batch *b = NULL;
    cw_scorecard *card = NULL;
    json_t *rows = NULL;
    cw_findings_cfg cfg = {.production_env = prod, .postmortem_days = -1};
    if (cw_store_open(url, NULL, &store, &d)) {
        fprintf(stderr, "conway check scorecard: cannot open database %s: %s\n", url, d.msg);
        goto out;
    }
    if (cw_facts_batch_load(store, &cfg, now, &b, &d) ||
        cw_scorecard_find(b, pos[0], ns, &card, &d)) {
        fprintf(stderr, "conway check scorecard: %s\n", d.msg);
        goto out;
    }
    int want = level ? cw_scorecard_level_index(card, level) : 0;
    if (want < 0) {
        fprintf(stderr, "conway check scorecard: --level: '%s' is not a level of %s (levels:", level,
                card->ref);
        for (size_t i = 0; i < card->nlevels; i++)
            fprintf(stderr, " %s", card->levels[i]);
        fputs(")\n", stderr);
        goto out;
    }
    if (cw_scorecard_run(b, card, !!as_json, &rows, &d)) {
        fprintf(stderr, "conway check scorecard: %s\n", d.msg);
        goto out;
    }
    size_t in_scope = 0, below = 0, i;
    json_t *row, *kept = json_array();
    if (!kept) {
        fputs("conway check scorecard: out of memory\n", stderr);
        goto out;
    }
    json_array_foreach(rows, i, row) {
        if (!cw_scorecard_row_in_scope(row, scope ? scope_key : NULL))
            continue;
        in_scope++;
        if (json_integer_value(json_object_get(row, "levelIndex")) >= want)
            continue;
        below++;
        json_array_append(kept, row);
        if (!as_json) {
            char fails[512];
            failing(card, row, want, fails, sizeof fails);
            const char *lv = json_string_value(json_object_get(row, "level"));
            printf("%s\t%s\tfails: %s\n", json_string_value(json_object_get(row, "entityRef")),
                   lv ? lv : "(none)", fails);
        }
    }
    if (as_json && (json_dumpf(kept, stdout, JSON_INDENT(2)) || fputc('\n', stdout) == EOF)) {
        json_decref(kept);
        fputs("conway check scorecard: cannot write the report\n", stderr);
        goto out;
    }
    json_decref(kept);
    if (fflush(stdout) != 0) {
        fputs("conway check scorecard: cannot write the report\n", stderr);
        goto out;
    }
    fprintf(stderr, "%zu of %zu entities below %s on %s\n", below, in_scope, card->levels[want],
            card->ref);
    rc = below ? 1 : 0;
out:
    json_decref(rows);
    cw_scorecard_free(card);
    cw_facts_batch_free(b);
    cw_store_close(store);
    return rc;
}
