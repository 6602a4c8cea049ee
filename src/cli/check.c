/*
 * check.c — `conway check ownership`, `conway check postmortems` and
 * `conway check architecture`: the ownership findings of the whole
 * catalog, the incident and postmortem findings (both part of GET
 * /api/v1/insights/ownership), and the architecture findings (GET
 * /api/v1/insights/architecture), printed one per line or as JSON, with an
 * exit status that can gate a CI pipeline: 0 no error finding, 1 at least
 * one error finding (silenced ones never count), 2 usage error or the
 * check could not run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "catalog/catalog.h"
#include "cli/opts.h"
#include "cli/output.h"
#include "insights/heartbeat_findings.h"
#include "events/incident.h"
#include "http/api_incidents.h"
#include "http/findings.h"
#include "insights/architecture.h"
#include "insights/ownership.h"
#include "insights/ownership_report.h"
#include "store/store.h"
#include "store/store_heartbeats.h"
#include "util/timeutil.h"
#include "store/store_scan.h"
#include "util/timeutil.h"

static const char check_help[] =
    "usage: conway check ownership [--db URL] [--rule RULE] [--severity error|warning]\n"
    "                              [--team GROUP] [--max-components-per-team N] [--json]\n"
    "                              [--postmortem-severity LEVEL] [--postmortem-days N]\n"
    "       conway check postmortems ...   (incidents and postmortems only; see its --help)\n"
    "\n"
    "Checks the ownership of the whole catalog and prints one finding per line:\n"
    "  SEVERITY RULE ENTITY-REF: DETAIL\n"
    "then a summary on stderr. --json prints the same document as\n"
    "GET /api/v1/insights/ownership instead. Filters combine: --team keeps the\n"
    "findings about a team, what it owns and the shared resources its components\n"
    "use. Rules: heartbeat-down, heartbeat-without-target, link-key-conflict,\n"
    "no-accountable, orphan-user, owner-is-user, owner-missing, shared-resource-owner,\n"
    "team-overload, team-without-members, untested-backup (docs/heartbeats.md), and\n"
    "the incident and postmortem rules of 'conway check postmortems' (as the API\n"
    "answers them).\n"
    "\n"
    "Exit status: 0 when no (remaining) finding is an error, 1 when at least one\n"
    "is, 2 on a usage error or when the check could not run. Warnings never fail.\n"
    "\n"
    "Options:\n"
    "  --db URL                      SQLite file or postgres:// URL (env CONWAY_DB)\n"
    "  --rule RULE                   only the findings of this rule\n"
    "  --severity error|warning      only the findings of this severity\n"
    "  --team GROUP                  only the findings about this team (a group ref or name)\n"
    "  --json                        print GET /api/v1/insights/ownership's document\n"
    "  --max-components-per-team N   team-overload threshold (default 8)\n"
    "  --postmortem-severity LEVEL   incident-without-postmortem threshold (default critical)\n"
    "  --postmortem-days N           days before it is reported (default 5)\n"
    "\n"
    "usage: conway check architecture [--db URL] [--rule RULE] [--severity error|warning]\n"
    "                                 [--team GROUP] [--json] [--production-env GLOBS]\n"
    "                                 [--datastore-types T,...] [--cross-team-threshold X]\n"
    "                                 [--team-spread N] [--fan-floor N]\n"
    "                                 [--architecture-severity RULE=SEVERITY,...]\n"
    "\n"
    "Checks the dependency graph of the whole catalog for the monolith creeping\n"
    "back and prints one finding per line, as above; silenced findings (annotation\n"
    "conway.dev/silence-RULE: REASON) print as \"silenced\" with their reason and\n"
    "never fail. Release trains come from the production deployments of the last\n"
    "30 days. Rules: cross-team-dependency, cross-team-release-train,\n"
    "dependency-cycle, deprecated-dependency, fan-in, fan-out, shared-datastore,\n"
    "team-spread (docs/architecture.md).\n"
    "\n"
    "Options:\n"
    "  --production-env GLOBS         production environments (default 'prod*')\n"
    "  --datastore-types T,...        Resource types that are datastores (default database)\n"
    "  --cross-team-threshold X       flag a team above this share, 0-1 (default 0.5)\n"
    "  --team-spread N                flag a team in more systems or domains (default 3)\n"
    "  --fan-floor N                  fan-in/fan-out must reach N too (default 10)\n"
    "  --architecture-severity R=S,...  a rule's severity: error, warning, off or default\n"
    "\n"
    "usage: conway check scorecard NAME [--level LEVEL] [--scope REF] [--json] [--builtin]\n"
    "\n"
    "Exits 1 when an entity in the Scorecard's scope is below LEVEL (a CI gate);\n"
    "conway check scorecard --help for its options (docs/scorecards.md).\n";

static bool parse_max(const char *s, size_t *out)
{
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || s[0] == '-' || v < 1 || v > 100000)
        return false;
    *out = (size_t)v;
    return true;
}

/* Prints one finding; control characters in entity data cannot break lines.
 * A silenced finding prints as "silenced" with its reason. */
static void print_finding(const json_t *f, bool colour)
{
    const json_t *sil = json_object_get(f, "silenced");
    const char *fields[5] = {sil ? "silenced" : json_string_value(json_object_get(f, "severity")),
                             json_string_value(json_object_get(f, "rule")),
                             json_string_value(json_object_get(f, "entityRef")),
                             json_string_value(json_object_get(f, "detail")),
                             json_string_value(json_object_get(sil, "reason"))};
    for (int i = 0; i < 5; i++) {
        if (i == 4 && !sil)
            break;
        const char *s = fields[i] ? fields[i] : "-";
        if (i == 4)
            fputs(" (silenced: ", stdout);
        /* on a terminal (and without NO_COLOR): errors red, warnings yellow */
        if (i == 0 && colour && !sil)
            fputs(!strcmp(s, "error") ? "\033[31m" : "\033[33m", stdout);
        for (; *s; s++)
            putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
        if (i == 0 && colour && !sil)
            fputs("\033[0m", stdout);
        fputs(i == 0 || i == 1 ? " " : i == 2 ? ": " : i == 4 ? ")\n" : sil ? "" : "\n", stdout);
    }
}

int cw_cli_arch_opts(const char *cmd, const struct cw_arch_opts_flags *f, cw_arch_opts *out)
{
    cw_arch_opts o;
    cw_arch_opts_default(&o);
    cw_diag d = {{0}};
    if (f->datastore_types && cw_arch_parse_datastore_types(f->datastore_types, &o, &d)) {
        fprintf(stderr, "conway %s: --datastore-types: %s\n", cmd, d.msg);
        return 2;
    }
    if (f->severity && cw_arch_parse_severities(f->severity, &o, &d)) {
        fprintf(stderr, "conway %s: --architecture-severity: %s\n", cmd, d.msg);
        return 2;
    }
    if (f->cross_team_threshold) {
        const char *s = f->cross_team_threshold;
        char *end = NULL;
        double x = strtod(s, &end);
        if (!*s || *end || strlen(s) > 32 || !(x >= 0.0 && x <= 1.0) ||
            !((*s >= '0' && *s <= '9') || *s == '.')) {
            fprintf(stderr, "conway %s: --cross-team-threshold: '%s' is not a number between 0 "
                            "and 1\n", cmd, s);
            return 2;
        }
        o.cross_team_threshold = x;
    }
    const char *nums[2] = {f->team_spread, f->fan_floor};
    const char *names[2] = {"team-spread", "fan-floor"};
    size_t *dst[2] = {&o.team_spread_max, &o.fan_floor};
    for (int i = 0; i < 2; i++) {
        if (!nums[i])
            continue;
        char *end = NULL;
        unsigned long long v = strtoull(nums[i], &end, 10);
        if (!*nums[i] || *end || nums[i][0] == '-' || v > 1000000) {
            fprintf(stderr, "conway %s: --%s: '%s' is not a number between 0 and 1000000\n", cmd,
                    names[i], nums[i]);
            return 2;
        }
        *dst[i] = (size_t)v;
    }
    *out = o;
    return 0;
}

/* --postmortem-severity, --postmortem-days and --now into *po (defaults for
 * those not given); false after printing why. */
static bool parse_pm_opts(const char *cmd, const char *sev, const char *days, const char *now,
                          cw_postmortem_opts *po)
{
    *po = (cw_postmortem_opts){.threshold = CW_SEV_DEFAULT_THRESHOLD,
                               .days = CW_POSTMORTEM_DEFAULT_DAYS,
                               .now_ms = cw_now_ms()};
    if (sev && !cw_severity_name_parse(sev, &po->threshold)) {
        fprintf(stderr, "conway %s: --postmortem-severity: '%s' is not critical, high, warning, "
                        "low or info\n", cmd, sev);
        return false;
    }
    if (days) {
        char *end = NULL;
        unsigned long long v = strtoull(days, &end, 10);
        if (!*days || *end || days[0] == '-' || v > CW_POSTMORTEM_MAX_DAYS) {
            fprintf(stderr, "conway %s: --postmortem-days: '%s' is not a number between 0 and %d\n",
                    cmd, days, CW_POSTMORTEM_MAX_DAYS);
            return false;
        }
        po->days = (int)v;
    }
    if (now && !cw_time_parse_rfc3339(now, &po->now_ms)) {
        fprintf(stderr, "conway %s: --now: '%s' is not an RFC 3339 date-time\n", cmd, now);
        return false;
    }
    return true;
}

/* The threshold and days the report used, as the API says them. */
static bool add_pm_fields(json_t *report, const cw_postmortem_opts *po)
{
    return !json_object_set_new(report, "postmortemSeverity",
                                json_string(cw_severity_name(po->threshold))) &&
           !json_object_set_new(report, "postmortemDays", json_integer(po->days));
}

/* The heartbeat findings (insights/heartbeat_findings.h) joined to the
 * ownership findings in findings, kept sorted. */
static cw_err add_heartbeat_findings(cw_store *store, json_t *const *items, size_t n,
                                     json_t *findings, cw_diag *d)
{
    cw_hb_row *rows = NULL;
    size_t nrows = 0;
    cw_err err = cw_store_hb_list(store, &rows, &nrows, d);
    if (!err)
        err = cw_heartbeat_findings(items, n, rows, nrows, cw_now_ms(), NULL, findings, d);
    if (!err)
        cw_findings_sort(findings);
    free(rows);
    return err;
}

static int check_ownership(int argc, char **argv)
{
    const char *db = NULL, *rule = NULL, *severity = NULL, *team = NULL, *as_json = NULL,
               *max_comp = NULL, *pm_sev = NULL, *pm_days = NULL;
    cw_opt opts[] = {{"db", true, &db},
                     {"rule", true, &rule},
                     {"severity", true, &severity},
                     {"team", true, &team},
                     {"json", false, &as_json},
                     {"max-components-per-team", true, &max_comp},
                     {"postmortem-severity", true, &pm_sev},
                     {"postmortem-days", true, &pm_days},
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
    cw_postmortem_opts po;
    if (!parse_pm_opts("check ownership", pm_sev, pm_days, NULL, &po))
        return 2;
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
    json_t *all = NULL, *findings = NULL, *report = NULL, *own = NULL, *pm = NULL;
    json_t **items = NULL;
    if (cw_store_open(url, NULL, &store, &d)) {
        fprintf(stderr, "conway check ownership: cannot open database %s: %s\n", cw_cli_shown_url(url).s, d.msg);
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
    /* the same document as the API: the heartbeat, incident and postmortem
     * findings too */
    if (cw_ownership_check(items, n, &oo, &own, &d) ||
        add_heartbeat_findings(store, items, n, own, &d) ||
        cw_incident_findings(store, items, n, &po, &pm, NULL, &d) ||
        cw_findings_merge(own, pm, &findings, &d) ||
        cw_ownership_filter_findings(findings, &filter, &kept, &d) ||
        cw_ownership_report(kept, oo.max_components_per_team, n, &report, &d)) {
        fprintf(stderr, "conway check ownership: %s\n", d.msg);
        goto out;
    }
    if (!add_pm_fields(report, &po)) {
        fputs("conway check ownership: out of memory\n", stderr);
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
        bool colour = cw_out_colour(stdout);
        json_array_foreach(kept, i, f)
            print_finding(f, colour);
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
    json_decref(own);
    json_decref(pm);
    free(items);
    json_decref(all);
    cw_store_close(store);
    return rc;
}

static const char postmortems_help[] =
    "usage: conway check postmortems [--db URL] [--rule RULE] [--severity error|warning]\n"
    "                                [--team GROUP] [--postmortem-severity LEVEL]\n"
    "                                [--postmortem-days N] [--now TIME] [--json]\n"
    "\n"
    "Checks incidents and postmortems and prints one finding per line:\n"
    "  SEVERITY RULE ENTITY-REF: DETAIL\n"
    "then a summary on stderr. Rules: incident-without-postmortem (a resolved\n"
    "incident at or above --postmortem-severity, default critical, with no\n"
    "Postmortem after --postmortem-days days, default 5), action-overdue,\n"
    "action-owner-unknown, action-owner-not-accountable (warning),\n"
    "postmortem-without-actions. --now checks as of another time (RFC 3339).\n"
    "--json prints {findings, summary, postmortemSeverity, postmortemDays,\n"
    "entities, incidents}.\n"
    "\n"
    "Exit status: 0 when no (remaining) finding is an error, 1 when at least one\n"
    "is, 2 on a usage error or when the check could not run.\n";

static int check_postmortems(int argc, char **argv)
{
    const char *db = NULL, *rule = NULL, *severity = NULL, *team = NULL, *as_json = NULL,
               *pm_sev = NULL, *pm_days = NULL, *now_text = NULL;
    cw_opt opts[] = {{"db", true, &db},
                     {"rule", true, &rule},
                     {"severity", true, &severity},
                     {"team", true, &team},
                     {"json", false, &as_json},
                     {"postmortem-severity", true, &pm_sev},
                     {"postmortem-days", true, &pm_days},
                     {"now", true, &now_text},
                     {NULL, false, NULL}};
    const char *pos[1];
    size_t npos;
    bool help;
    if (!cw_opts_parse("check postmortems", argc, argv, 3, opts, pos, 0, &npos, &help))
        return 2;
    if (help) {
        fputs(postmortems_help, stdout);
        return 0;
    }
    cw_postmortem_opts po;
    if (!parse_pm_opts("check postmortems", pm_sev, pm_days, now_text, &po))
        return 2;
    cw_ownership_filter filter = {.rule = rule, .severity = severity, .team = team};
    cw_diag d = {{0}};
    json_t *probe = json_array(), *kept = NULL;
    cw_err err = cw_ownership_filter_findings(probe, &filter, &kept, &d);
    json_decref(probe);
    json_decref(kept);
    kept = NULL;
    if (err) {
        fprintf(stderr, "conway check postmortems: --%s\n", d.msg);
        return 2;
    }
    int rc = 2;
    const char *url = cw_cli_db_url(db);
    cw_store *store = NULL;
    json_t *all = NULL, *findings = NULL, *report = NULL;
    json_t **items = NULL;
    size_t nincidents = 0;
    if (cw_store_open(url, NULL, &store, &d)) {
        fprintf(stderr, "conway check postmortems: cannot open database %s: %s\n",
                cw_cli_shown_url(url).s, d.msg);
        goto out;
    }
    if (cw_store_scan(store, NULL, 0, 0, &all, &d)) {
        fprintf(stderr, "conway check postmortems: %s\n", d.msg);
        goto out;
    }
    size_t n = json_array_size(all);
    items = malloc((n ? n : 1) * sizeof *items);
    if (!items) {
        fputs("conway check postmortems: out of memory\n", stderr);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(all, i);
    if (cw_incident_findings(store, items, n, &po, &findings, &nincidents, &d) ||
        cw_ownership_filter_findings(findings, &filter, &kept, &d) ||
        cw_ownership_report(kept, 0, n, &report, &d)) {
        fprintf(stderr, "conway check postmortems: %s\n", d.msg);
        goto out;
    }
    json_object_del(report, "maxComponentsPerTeam");
    if (!add_pm_fields(report, &po) ||
        json_object_set_new(report, "incidents", json_integer((json_int_t)nincidents))) {
        fputs("conway check postmortems: out of memory\n", stderr);
        goto out;
    }
    const json_t *summary = json_object_get(report, "summary");
    json_int_t nerr = json_integer_value(json_object_get(summary, "error"));
    json_int_t nwarn = json_integer_value(json_object_get(summary, "warning"));
    if (as_json) {
        if (json_dumpf(report, stdout, JSON_INDENT(2)) || fputc('\n', stdout) == EOF) {
            fputs("conway check postmortems: cannot write the report\n", stderr);
            goto out;
        }
    } else {
        size_t i;
        const json_t *f;
        json_array_foreach(kept, i, f)
            print_finding(f, cw_out_colour(stdout));
        fprintf(stderr, "%lld error%s, %lld warning%s in %zu entities and %zu incidents\n",
                (long long)nerr, nerr == 1 ? "" : "s", (long long)nwarn, nwarn == 1 ? "" : "s", n,
                nincidents);
    }
    if (fflush(stdout) != 0) {
        fputs("conway check postmortems: cannot write the report\n", stderr);
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

static int check_architecture(int argc, char **argv)
{
    const char *db = NULL, *rule = NULL, *severity = NULL, *team = NULL, *as_json = NULL,
               *prod = NULL;
    struct cw_arch_opts_flags af = {0};
    cw_opt opts[] = {{"db", true, &db},
                     {"rule", true, &rule},
                     {"severity", true, &severity},
                     {"team", true, &team},
                     {"json", false, &as_json},
                     {"production-env", true, &prod},
                     {"datastore-types", true, &af.datastore_types},
                     {"cross-team-threshold", true, &af.cross_team_threshold},
                     {"team-spread", true, &af.team_spread},
                     {"fan-floor", true, &af.fan_floor},
                     {"architecture-severity", true, &af.severity},
                     {NULL, false, NULL}};
    const char *pos[1];
    size_t npos;
    bool help;
    if (!cw_opts_parse("check architecture", argc, argv, 3, opts, pos, 0, &npos, &help))
        return 2;
    if (help) {
        fputs(check_help, stdout);
        return 0;
    }
    cw_arch_opts ao;
    if (cw_cli_arch_opts("check architecture", &af, &ao))
        return 2;
    cw_diag d = {{0}};
    if (prod && cw_env_pattern_validate(prod, &d)) {
        fprintf(stderr, "conway check architecture: --production-env: %s\n", d.msg);
        return 2;
    }
    cw_arch_filter filter = {.rule = rule, .severity = severity, .team = team};
    json_t *probe = json_array(), *kept = NULL;
    /* refuse bad filters before touching the database */
    cw_err err = cw_arch_filter_findings(probe, &filter, &kept, &d);
    json_decref(probe);
    json_decref(kept);
    kept = NULL;
    if (err) {
        fprintf(stderr, "conway check architecture: --%s\n", d.msg);
        return 2;
    }

    int rc = 2;
    const char *url = cw_cli_db_url(db);
    cw_store *store = NULL;
    cw_graph *g = NULL;
    json_t *all = NULL, *trains = NULL, *result = NULL, *report = NULL;
    json_t **items = NULL;
    if (cw_store_open(url, NULL, &store, &d)) {
        fprintf(stderr, "conway check architecture: cannot open database %s: %s\n", url, d.msg);
        goto out;
    }
    if (cw_store_scan(store, NULL, 0, 0, &all, &d) ||
        cw_trains_load(store, prod, cw_now_ms(), &trains, &d)) {
        fprintf(stderr, "conway check architecture: %s\n", d.msg);
        goto out;
    }
    size_t n = json_array_size(all);
    items = malloc((n ? n : 1) * sizeof *items);
    if (!items) {
        fputs("conway check architecture: out of memory\n", stderr);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(all, i);
    if (cw_architecture_compute(items, n, trains, &ao, &g, &result, &d) ||
        cw_arch_filter_findings(json_object_get(result, "findings"), &filter, &kept, &d) ||
        cw_arch_report(result, kept, &ao, &report, &d)) {
        fprintf(stderr, "conway check architecture: %s\n", d.msg);
        goto out;
    }
    const json_t *summary = json_object_get(report, "summary");
    json_int_t nerr = json_integer_value(json_object_get(summary, "error"));
    json_int_t nwarn = json_integer_value(json_object_get(summary, "warning"));
    json_int_t nsil = json_integer_value(json_object_get(summary, "silenced"));
    if (as_json) {
        if (json_dumpf(report, stdout, JSON_INDENT(2)) || fputc('\n', stdout) == EOF) {
            fputs("conway check architecture: cannot write the report\n", stderr);
            goto out;
        }
    } else {
        size_t i;
        const json_t *f;
        json_array_foreach(kept, i, f)
            print_finding(f, cw_out_colour(stdout));
        fprintf(stderr, "%lld error%s, %lld warning%s, %lld silenced in %zu components "
                        "(Conway congruence %.2f)\n",
                (long long)nerr, nerr == 1 ? "" : "s", (long long)nwarn, nwarn == 1 ? "" : "s",
                (long long)nsil, (size_t)json_integer_value(json_object_get(result, "components")),
                json_real_value(json_object_get(json_object_get(result, "congruence"),
                                                "congruence")));
    }
    if (fflush(stdout) != 0) {
        fputs("conway check architecture: cannot write the report\n", stderr);
        goto out;
    }
    rc = cw_arch_has_errors(kept) ? 1 : 0;
out:
    json_decref(report);
    json_decref(kept);
    json_decref(result);
    cw_graph_free(g);
    free(items);
    json_decref(trains);
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
    if (!strcmp(argv[2], "postmortems"))
        return check_postmortems(argc, argv);
    if (!strcmp(argv[2], "architecture"))
        return check_architecture(argc, argv);
    if (!strcmp(argv[2], "scorecard"))   /* check_scorecard.c */
        return cw_cli_check_scorecard(argc, argv);
    fprintf(stderr, "conway check: unknown check '%s' (known: architecture, ownership, postmortems, "
                    "scorecard)\n",
            argv[2]);
    return 2;
}
