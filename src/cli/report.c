/*
 * report.c — `conway report`: the shareable report of a team, a system or
 * domain, a component or the organisation (goals and their status,
 * hypotheses and verdicts, decisions, DORA with trends, findings, open
 * items) as one self-contained HTML page or Markdown, the same document as
 * GET /api/v1/report (http/report_data.c builds it, insights/report.c
 * writes it). --out writes a file (through a temporary file renamed into
 * place, so a reader never sees half a report).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "events/events.h"
#include "http/report_data.h"
#include "insights/report.h"
#include "store/store.h"
#include "util/timeutil.h"

static const char report_help[] =
    "usage: conway report [--db URL] [--scope REF] [--format html|md] [--out FILE]\n"
    "                     [--now TIME] [--production-env GLOBS]\n"
    "\n"
    "Writes the report of a scope: its goals and their status, hypotheses and\n"
    "their verdicts, decisions, delivery (DORA over the last 30 days against the\n"
    "30 before), findings and open items. HTML is one self-contained page (inline\n"
    "styles and SVG charts, no script); Markdown suits wikis and chat.\n"
    "\n"
    "Options:\n"
    "  --db URL               SQLite file or postgres:// URL (env CONWAY_DB)\n"
    "  --scope REF            org (default), or a Group, System, Domain or Component\n"
    "                         ref: group:default/payments\n"
    "  --format html|md       default html\n"
    "  --out FILE             write FILE instead of standard output\n"
    "  --now TIME             evaluate as of this RFC 3339 time (default now)\n"
    "  --production-env GLOBS environments that count as production (default 'prod*')\n"
    "  -c, --config FILE      configuration file of 'key = value' lines (env CONWAY_CONFIG);\n"
    "                         every option is also read from CONWAY_<NAME>\n";

/* Writes text to path through path.tmp + rename. 0, or 1 after a message. */
static int write_file(const char *path, const char *text, size_t len)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        fprintf(stderr, "conway report: --out: the path is too long\n");
        return 1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "conway report: cannot write %s: %s\n", tmp, strerror(errno));
        return 1;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    bool ok = off == len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path)) {
        fprintf(stderr, "conway report: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return 1;
    }
    return 0;
}

int cw_cmd_report(int argc, char **argv)
{
    const char *db = NULL, *scope = NULL, *format = NULL, *outp = NULL, *now = NULL, *prod = NULL;
    cw_opt opts[] = {{"db", true, &db},         {"scope", true, &scope},
                     {"format", true, &format}, {"out", true, &outp},
                     {"now", true, &now},       {"production-env", true, &prod},
                     {NULL, false, NULL}};
    const char *pos[1];
    size_t npos;
    bool help;
    if (!cw_opts_parse("report", argc, argv, 2, opts, pos, 0, &npos, &help))
        return 2;
    if (help) {
        fputs(report_help, stdout);
        return 0;
    }
    cw_report_format fmt;
    if (!cw_report_format_parse(format, &fmt)) {
        fprintf(stderr, "conway report: --format: '%s' is not html or md\n", format);
        return 2;
    }
    cw_strategy_ctx c = {.now_ms = cw_now_ms()};
    if (now && !cw_time_parse_rfc3339(now, &c.now_ms)) {
        fprintf(stderr, "conway report: --now: '%s' is not an RFC 3339 date-time\n", now);
        return 2;
    }
    cw_diag d = {{0}};
    if (prod && cw_env_pattern_validate(prod, &d)) {
        fprintf(stderr, "conway report: --production-env: %s\n", d.msg);
        return 2;
    }
    c.src.production_env = prod;
    cw_store *store = NULL;
    if (cw_store_open(cw_cli_db_url(db), NULL, &store, &d)) {
        fprintf(stderr, "conway report: cannot open database: %s\n", d.msg);
        return 1;
    }
    c.src.store = store;
    json_t *model = NULL;
    cw_err err = cw_report_model(&c, scope ? scope : "org", 0, &model, &d);
    int rc = 0;
    if (err) {
        fprintf(stderr, "conway report: %s\n", d.msg);
        rc = err == CW_ERR_INVALID || err == CW_ERR_NOT_FOUND ? 2 : 1;
        goto out;
    }
    cw_buf text;
    cw_buf_init(&text, 0);
    if (cw_report_render(model, fmt, &text)) {
        fprintf(stderr, "conway report: out of memory writing the report\n");
        rc = 1;
    } else if (outp) {
        rc = write_file(outp, cw_buf_cstr(&text), text.len);
    } else if (fwrite(cw_buf_cstr(&text), 1, text.len, stdout) != text.len || fflush(stdout)) {
        fprintf(stderr, "conway report: cannot write to standard output\n");
        rc = 1;
    }
    cw_buf_free(&text);
out:
    json_decref(model);
    cw_store_close(store);
    return rc;
}
