/*
 * cron.c — `conway cron next`: the next run times of a cron expression in a
 * time zone, as a heartbeat's schedule computes them. Handy to check a
 * Heartbeat's spec.cron before importing it, and the reference test
 * (tests/api/cron_reference.test.mjs) drives it with --batch to compare
 * conway's schedule with an independent implementation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "util/cron.h"
#include "util/timeutil.h"
#include "util/tz.h"

static const char cron_help[] =
    "usage: conway cron next EXPR [--tz ZONE] [--after TIME] [--count N]\n"
    "       conway cron next --batch\n"
    "\n"
    "Prints the next N (default 5) run times of the five-field cron expression\n"
    "EXPR after TIME (RFC 3339, default now) in ZONE (a tz database name, default\n"
    "UTC), one RFC 3339 UTC time per line: the times a Heartbeat with spec.cron\n"
    "EXPR and spec.tz ZONE is expected to ping (see docs/heartbeats.md).\n"
    "\n"
    "--batch reads lines of EXPR<TAB>ZONE<TAB>TIME<TAB>N from stdin and prints,\n"
    "per line, the N times separated by spaces, or \"error: MESSAGE\".\n"
    "Exit status: 0, 1 when an expression or zone is invalid, 2 on a usage error.\n";

/* Writes the next n runs after `after` (seconds) to out, space separated. */
static int print_runs(FILE *out, FILE *err, const char *expr, const char *zone, int64_t after,
                      long n, const char *sep)
{
    cw_cron c;
    cw_diag d = {{0}};
    const cw_tz *tz = NULL;
    if (cw_cron_parse(expr, &c, &d) || cw_tz_get(zone, &tz, &d)) {
        fprintf(err, "%s%s\n", err == out ? "error: " : "conway cron next: ", d.msg);
        return 1;
    }
    int64_t t = after;
    for (long i = 0; i < n; i++) {
        int64_t next;
        if (cw_cron_next(&c, tz, t, &next)) {
            fputs(i ? " none" : "none", out);
            break;
        }
        char text[32];
        cw_time_format_compact(next * 1000, text);
        fprintf(out, "%s%s", i ? sep : "", text);
        t = next;
    }
    fputc('\n', out);
    return 0;
}

static int run_batch(void)
{
    char line[1024];
    int rc = 0;
    while (fgets(line, sizeof line, stdin)) {
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *f[4];
        char *p = line;
        size_t nf = 0;
        for (; nf < 4 && p; nf++) {
            f[nf] = p;
            p = strchr(p, '\t');
            if (p)
                *p++ = '\0';
        }
        int64_t ms;
        char *end = NULL;
        long n = nf == 4 ? strtol(f[3], &end, 10) : 0;
        if (nf != 4 || !cw_time_parse_rfc3339(f[2], &ms) || !end || *end || n < 1 || n > 1000) {
            printf("error: expected EXPR<TAB>ZONE<TAB>TIME<TAB>N\n");
            rc = 1;
            continue;
        }
        int64_t after = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
        if (print_runs(stdout, stdout, f[0], f[1], after, n, " "))
            rc = 1;
    }
    return fflush(stdout) ? 2 : rc;
}

int cw_cmd_cron(int argc, char **argv)
{
    if (argc < 3 || !strcmp(argv[2], "--help") || !strcmp(argv[2], "-h")) {
        bool help = argc >= 3;
        fputs(cron_help, help ? stdout : stderr);
        return help ? 0 : 2;
    }
    if (strcmp(argv[2], "next")) {
        fprintf(stderr, "conway cron: unknown subcommand '%s' (known: next)\n", argv[2]);
        return 2;
    }
    const char *zone = NULL, *after = NULL, *count = NULL, *batch = NULL;
    cw_opt opts[] = {{"tz", true, &zone},
                     {"after", true, &after},
                     {"count", true, &count},
                     {"batch", false, &batch},
                     {NULL, false, NULL}};
    const char *pos[1];
    size_t npos;
    bool help;
    if (!cw_opts_parse("cron next", argc, argv, 3, opts, pos, 1, &npos, &help))
        return 2;
    if (help) {
        fputs(cron_help, stdout);
        return 0;
    }
    if (batch)
        return npos ? 2 : run_batch();
    if (npos != 1) {
        fputs("conway cron next: give one cron expression (quote it)\n", stderr);
        return 2;
    }
    int64_t ms = cw_now_ms();
    if (after && !cw_time_parse_rfc3339(after, &ms)) {
        fprintf(stderr, "conway cron next: --after: '%s' is not an RFC 3339 time\n", after);
        return 2;
    }
    long n = 5;
    if (count) {
        char *end = NULL;
        n = strtol(count, &end, 10);
        if (!*count || *end || n < 1 || n > 1000) {
            fprintf(stderr, "conway cron next: --count: '%s' is not a number 1-1000\n", count);
            return 2;
        }
    }
    int64_t s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int rc = print_runs(stdout, stderr, pos[0], zone ? zone : "UTC", s, n, "\n");
    if (rc)
        return 1;
    return fflush(stdout) ? 2 : 0;
}
