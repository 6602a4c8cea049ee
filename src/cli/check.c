/*
 * check.c — `conway check ownership`: the ownership findings of the whole
 * catalog (the same as GET /api/v1/insights/ownership), printed one per
 * line or as JSON, with an exit status that can gate a CI pipeline:
 * 0 no error finding, 1 at least one error finding, 2 usage error or the
 * check could not run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "catalog/catalog.h"
#include "cli/opts.h"
#include "insights/ownership.h"
#include "insights/ownership_report.h"
#include "store/store.h"
#include "store/store_scan.h"

static const char check_help[] =
    "usage: conway check ownership [--db URL] [--rule RULE] [--severity error|warning]\n"
    "                              [--team GROUP] [--max-components-per-team N] [--json]\n"
    "\n"
    "Checks the ownership of the whole catalog and prints one finding per line:\n"
    "  SEVERITY RULE ENTITY-REF: DETAIL\n"
    "then a summary on stderr. --json prints the same document as\n"
    "GET /api/v1/insights/ownership instead. Filters combine: --team keeps the\n"
    "findings about a team, what it owns and the shared resources its components\n"
    "use. Rules: link-key-conflict, no-accountable, orphan-user, owner-is-user,\n"
    "owner-missing, shared-resource-owner, team-overload, team-without-members.\n"
    "\n"
    "Exit status: 0 when no (remaining) finding is an error, 1 when at least one\n"
    "is, 2 on a usage error or when the check could not run. Warnings never fail.\n"
    "\n"
    "Options:\n"
    "  --db URL                      SQLite file or postgres:// URL (env CONWAY_DB)\n"
    "  --max-components-per-team N   team-overload threshold (default 8)\n";

static bool parse_max(const char *s, size_t *out)
{
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || s[0] == '-' || v < 1 || v > 100000)
        return false;
    *out = (size_t)v;
    return true;
}

/* Prints one finding; control characters in entity data cannot break lines. */
static void print_finding(const json_t *f)
{
    const char *fields[4] = {json_string_value(json_object_get(f, "severity")),
                             json_string_value(json_object_get(f, "rule")),
                             json_string_value(json_object_get(f, "entityRef")),
                             json_string_value(json_object_get(f, "detail"))};
    for (int i = 0; i < 4; i++) {
        const char *s = fields[i] ? fields[i] : "-";
        for (; *s; s++)
            putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
        fputs(i == 0 || i == 1 ? " " : i == 2 ? ": " : "\n", stdout);
    }
}

static int check_ownership(int argc, char **argv)
{
    const char *db = NULL, *rule = NULL, *severity = NULL, *team = NULL, *as_json = NULL,
               *max_comp = NULL;
    cw_opt opts[] = {{"db", true, &db},
                     {"rule", true, &rule},
                     {"severity", true, &severity},
                     {"team", true, &team},
                     {"json", false, &as_json},
                     {"max-components-per-team", true, &max_comp},
                     {NULL, false, NULL}};
    const char *pos[1];
    size_t npos;
    bool help;
    if (!cw_opts_parse("check ownership", argc, argv, 3, opts, pos, 0, &npos, &help))
        return 2;
    if (help) {
        fputs(check_help, stdout);
        return 0;
    }
    cw_ownership_opts oo = {.max_components_per_team = CW_OWNERSHIP_DEFAULT_MAX_COMPONENTS};
    if (max_comp && !parse_max(max_comp, &oo.max_components_per_team)) {
        fprintf(stderr,
                "conway check ownership: --max-components-per-team: '%s' is not a number "
                "between 1 and 100000\n",
                max_comp);
        return 2;
    }
    cw_ownership_filter filter = {.rule = rule, .severity = severity, .team = team};
    cw_diag d = {{0}};
    json_t *probe = json_array(), *kept = NULL;
    /* refuse bad filters before touching the database */
    cw_err err = cw_ownership_filter_findings(probe, &filter, &kept, &d);
    json_decref(probe);
    json_decref(kept);
    kept = NULL;
    cw_ref tr;
    if (!err && team &&
        (cw_ref_parse(team, "Group", NULL, &tr, NULL) || strcasecmp(tr.kind, "Group")))
        err = cw_fail(&d, CW_ERR_INVALID,
                      "team: \"%.200s\" is not a Group reference (e.g. team-payments or "
                      "group:default/team-payments)",
                      team);
    if (err) {
        /* the message names the API parameter; say the option instead */
        fprintf(stderr, "conway check ownership: --%s\n", d.msg);
        return 2;
    }

    int rc = 2;
    const char *url = cw_cli_db_url(db);
    cw_store *store = NULL;
    json_t *all = NULL, *findings = NULL, *report = NULL;
    json_t **items = NULL;
    if (cw_store_open(url, NULL, &store, &d)) {
        fprintf(stderr, "conway check ownership: cannot open database %s: %s\n", url, d.msg);
        goto out;
    }
    if (cw_store_scan(store, NULL, 0, 0, &all, &d)) {
        fprintf(stderr, "conway check ownership: %s\n", d.msg);
        goto out;
    }
    size_t n = json_array_size(all);
    items = malloc((n ? n : 1) * sizeof *items);
    if (!items) {
        fputs("conway check ownership: out of memory\n", stderr);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(all, i);
    if (cw_ownership_check(items, n, &oo, &findings, &d) ||
        cw_ownership_filter_findings(findings, &filter, &kept, &d) ||
        cw_ownership_report(kept, oo.max_components_per_team, n, &report, &d)) {
        fprintf(stderr, "conway check ownership: %s\n", d.msg);
        goto out;
    }
    const json_t *summary = json_object_get(report, "summary");
    json_int_t nerr = json_integer_value(json_object_get(summary, "error"));
    json_int_t nwarn = json_integer_value(json_object_get(summary, "warning"));
    if (as_json) {
        if (json_dumpf(report, stdout, JSON_INDENT(2)) || fputc('\n', stdout) == EOF) {
            fputs("conway check ownership: cannot write the report\n", stderr);
            goto out;
        }
    } else {
        size_t i;
        const json_t *f;
        json_array_foreach(kept, i, f)
            print_finding(f);
        fprintf(stderr, "%lld error%s, %lld warning%s in %zu entities\n", (long long)nerr,
                nerr == 1 ? "" : "s", (long long)nwarn, nwarn == 1 ? "" : "s", n);
    }
    if (fflush(stdout) != 0) {
        fputs("conway check ownership: cannot write the report\n", stderr);
        goto out;
    }
    rc = cw_ownership_has_errors(kept) ? 1 : 0;
out:
    json_decref(report);
    json_decref(kept);
    json_decref(findings);
    free(items);
    json_decref(all);
    cw_store_close(store);
    return rc;
}

int cw_cmd_check(int argc, char **argv)
{
    if (argc < 3 || !strcmp(argv[2], "--help") || !strcmp(argv[2], "-h")) {
        bool help = argc >= 3;
        fputs(check_help, help ? stdout : stderr);
        return help ? 0 : 2;
    }
    if (!strcmp(argv[2], "ownership"))
        return check_ownership(argc, argv);
    fprintf(stderr, "conway check: unknown check '%s' (known: ownership)\n", argv[2]);
    return 2;
}
