/*
 * snapshot.c — `conway snapshot`: takes the daily snapshots that a running
 * server takes (the findings history, http/findings.h, and the scorecard
 * snapshot, http/scorecard_snapshot.h) for the day of --now, unless that
 * day is stored already. A server takes today's by itself; this command is
 * for a cron job on a database no server runs on, and for filling in past
 * days (the demo organisation's burn-up, tests): with --now in the past the
 * catalog as it is now is judged as of that time (DORA windows, incidents
 * and exemptions move, the entities do not).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "events/events.h"
#include "http/findings.h"
#include "http/scorecard_snapshot.h"
#include "store/store.h"
#include "util/timeutil.h"

static const char snapshot_help[] =
    "usage: conway snapshot [--db URL] [--now TIME] [--production-env GLOBS]\n"
    "\n"
    "Takes the daily findings snapshot and the daily scorecard snapshot of the\n"
    "day of --now (UTC), each unless that day is stored already (so running it\n"
    "twice, or beside a server, stores a day once). Prints what it stored.\n"
    "A past --now judges today's catalog as of that time.\n"
    "\n"
    "Options:\n"
    "  --db URL               SQLite file or postgres:// URL (env CONWAY_DB)\n"
    "  --now TIME             the RFC 3339 time to snapshot (default now)\n"
    "  --production-env GLOBS environments that count as production (default 'prod*')\n"
    "  -c, --config FILE      configuration file of 'key = value' lines (env CONWAY_CONFIG);\n"
    "                         every option is also read from CONWAY_<NAME>\n";

int cw_cmd_snapshot(int argc, char **argv)
{
    const char *db = NULL, *now = NULL, *prod = NULL;
    cw_opt opts[] = {{"db", true, &db},
                     {"now", true, &now},
                     {"production-env", true, &prod},
                     {NULL, false, NULL}};
    const char *pos[1];
    size_t npos;
    bool help;
    if (!cw_opts_parse("snapshot", argc, argv, 2, opts, pos, 0, &npos, &help))
        return 2;
    if (help) {
        fputs(snapshot_help, stdout);
        return 0;
    }
    int64_t now_ms = cw_now_ms();
    if (now && !cw_time_parse_rfc3339(now, &now_ms)) {
        fprintf(stderr, "conway snapshot: --now: '%s' is not an RFC 3339 date-time\n", now);
        return 2;
    }
    cw_diag d = {{0}};
    if (prod && cw_env_pattern_validate(prod, &d)) {
        fprintf(stderr, "conway snapshot: --production-env: %s\n", d.msg);
        return 2;
    }
    cw_store *store = NULL;
    if (cw_store_open(cw_cli_db_url(db), NULL, &store, &d)) {
        fprintf(stderr, "conway snapshot: cannot open database: %s\n", d.msg);
        return 1;
    }
    cw_findings_cfg cfg = {.production_env = prod, .postmortem_days = -1};
    char day[16];
    cw_day_format(cw_day_of_ms(now_ms), day);
    bool taken = false;
    size_t rows = 0, cards = 0, crows = 0;
    int rc = 0;
    if (cw_findings_snapshot(store, &cfg, now_ms, &taken, &rows, &d)) {
        fprintf(stderr, "conway snapshot: findings: %s\n", d.msg);
        rc = 1;
    } else if (taken) {
        printf("%s findings: stored (%zu rows)\n", day, rows);
    } else {
        printf("%s findings: stored before\n", day);
    }
    if (!rc && cw_scorecards_snapshot(store, &cfg, now_ms, &cards, &crows, &d)) {
        fprintf(stderr, "conway snapshot: scorecards: %s\n", d.msg);
        rc = 1;
    } else if (!rc) {
        printf("%s scorecards: %zu stored (%zu entity rows)\n", day, cards, crows);
    }
    if (!rc && fflush(stdout)) {
        fprintf(stderr, "conway snapshot: cannot write to standard output\n");
        rc = 1;
    }
    cw_store_close(store);
    return rc;
}
