/*
 * get.c — the read commands of remote mode: `conway get entities|entity|
 * teams|findings|events`, `conway dora`, `conway undeployed` and `conway
 * coupling` ask a running server (--server URL, --token SECRET; env
 * CONWAY_SERVER, CONWAY_TOKEN) and print its answer as a table, JSON or
 * YAML (-o). Lists follow nextCursor, so a table is the whole list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "cli/cli.h"
#include "cli/opts.h"
#include "cli/output.h"
#include "cli/remote.h"
#include "util/buf.h"

#define COMMON_HELP                                                                          \
    "  -s, --server URL    the conway server, http(s)://HOST:PORT (env CONWAY_SERVER)\n"     \
    "  --token SECRET      an API token (env CONWAY_TOKEN); not needed when the server\n"    \
    "                      runs with --public-read\n"                                        \
    "  -o, --output FORMAT table (default on a terminal), json (default otherwise: keys\n"   \
    "                      sorted, stable for scripts) or yaml\n"                            \
    "  -c, --config FILE   configuration file (server, token and output are read there)\n"

static const char get_help[] =
    "usage: conway get entities [--kind K] [--owner G] [--system S] [--type T]\n"
    "                           [--lifecycle L] [--tag T] [--query TEXT] [--limit N]\n"
    "       conway get entity REF\n"
    "       conway get teams\n"
    "       conway get findings [--rule RULE] [--severity error|warning] [--team GROUP]\n"
    "       conway get events [--type PREFIX] [--service REF] [--environment ID]\n"
    "                         [--from TIME] [--to TIME] [--limit N]\n"
    "       (each with --server URL [--token SECRET] [-o table|json|yaml])\n"
    "\n"
    "Reads from a running conway server. entities: the catalog (every page;\n"
    "--limit caps the count); entity: one entity by ref (kind defaults to\n"
    "Component, namespace to default); teams: the Groups; findings: the\n"
    "ownership findings (as 'conway check ownership'); events: stored CDEvents,\n"
    "newest first (default --limit 100). JSON and YAML print the API's answer\n"
    "(for lists, the array of items).\n"
    "\n"
    "Exit status: 0, 1 when the server could not be reached or refused (the\n"
    "status and its detail are printed), 2 on a usage error.\n"
    "\n"
    "Options:\n" COMMON_HELP;

static const char dora_help[] =
    "usage: conway dora [--scope REF] [--from TIME] [--to TIME] --server URL\n"
    "                   [--token SECRET] [-o table|json|yaml]\n"
    "\n"
    "The DORA metrics of a scope (org, the default; a Component, System or\n"
    "Group ref) over a window (RFC 3339 times; default the last 30 days), from\n"
    "GET /api/v1/insights/dora. Rules in docs/dora.md.\n"
    "\n"
    "Options:\n" COMMON_HELP;

static const char undeployed_help[] =
    "usage: conway undeployed [--scope REF] --server URL [--token SECRET]\n"
    "                         [-o table|json|yaml]\n"
    "\n"
    "Per Component, the merged changes no production deployment has shipped\n"
    "yet, oldest first (GET /api/v1/insights/undeployed).\n"
    "\n"
    "Options:\n" COMMON_HELP;

static const char coupling_help[] =
    "usage: conway coupling [--scope REF] [--from TIME] [--to TIME] --server URL\n"
    "                       [--token SECRET] [-o table|json|yaml]\n"
    "\n"
    "Components deployed to production together: the pairs, flagged when they\n"
    "move together too often (GET /api/v1/insights/coupling).\n"
    "\n"
    "Options:\n" COMMON_HELP;

typedef struct {
    const char *server, *token, *output;
    const char *kind, *owner, *system, *type, *lifecycle, *tag, *query, *limit;
    const char *rule, *severity, *team, *service, *environment, *from, *to, *scope;
} get_opts;

/* Follows nextCursor from path until the items reach max (0: all), into
 * *items. Returns 0 or 1. */
static int fetch_list(const char *cmd, const cw_remote *r, const char *path, size_t max,
                      json_t **items)
{
    *items = json_array();
    if (!*items)
        return 1;
    cw_buf page;
    cw_buf_init(&page, 1 << 20);
    const char *cursor = NULL;
    json_t *doc = NULL;
    int rc = 0;
    for (;;) {
        cw_buf_reset(&page);
        cw_buf_puts(&page, path);
        cw_remote_query(&page, "cursor", cursor);
        json_decref(doc);
        doc = NULL;
        if (cw_buf_error(&page) || (rc = cw_remote_get(cmd, r, page.data, &doc)))
            break;
        json_t *got = json_object_get(doc, "items");
        size_t i;
        json_t *e;
        json_array_foreach(got, i, e) {
            if (max && json_array_size(*items) >= max)
                break;
            json_array_append(*items, e);
        }
        cursor = json_string_value(json_object_get(doc, "nextCursor"));
        if (!cursor || !*cursor || (max && json_array_size(*items) >= max))
            break;
    }
    json_decref(doc);
    cw_buf_free(&page);
    if (rc) {
        json_decref(*items);
        *items = NULL;
    }
    return rc ? rc : 0;
}

static bool parse_limit(const char *cmd, const char *s, size_t *out)
{
    char *end = NULL;
    unsigned long long v = s ? strtoull(s, &end, 10) : 0;
    if (s && (!*s || *end || s[0] == '-' || v < 1 || v > 10000000)) {
        fprintf(stderr, "conway %s: --limit: '%s' is not a number from 1\n", cmd, s);
        return false;
    }
    if (s)
        *out = (size_t)v;
    return true;
}

/* "3d 4h", "5h 12m", "40s" */
static void human_age(json_int_t s, char out[32])
{
    if (s >= 86400)
        snprintf(out, 32, "%lldd %lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
    else if (s >= 3600)
        snprintf(out, 32, "%lldh %lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else if (s >= 60)
        snprintf(out, 32, "%lldm", (long long)(s / 60));
    else
        snprintf(out, 32, "%llds", (long long)s);
}

static int print(const char *cmd, const char *output, const json_t *doc, const json_t *rows,
                 const cw_out_column *cols)
{
    cw_out_format fmt;
    if (!cw_out_parse(cmd, output, &fmt))
        return 2;
    return cw_out_print(stdout, fmt, doc, rows, cols);
}

static int get_entities(const char *cmd, const cw_remote *r, const get_opts *o, bool teams)
{
    size_t max = 0;
    if (!parse_limit(cmd, o->limit, &max))
        return 2;
    cw_buf path;
    cw_buf_init(&path, 1 << 20);
    cw_buf_puts(&path, "/api/v1/entities");
    cw_remote_query(&path, "kind", teams ? "group" : o->kind);
    cw_remote_query(&path, "owner", o->owner);
    cw_remote_query(&path, "system", o->system);
    cw_remote_query(&path, "type", o->type);
    cw_remote_query(&path, "lifecycle", o->lifecycle);
    cw_remote_query(&path, "tag", o->tag);
    cw_remote_query(&path, "q", o->query);
    cw_remote_query(&path, "limit", "1000");
    json_t *items = NULL;
    int rc = cw_buf_error(&path) ? 1 : fetch_list(cmd, r, path.data, max, &items);
    cw_buf_free(&path);
    if (rc)
        return rc;
    static const cw_out_column entity_cols[] = {
        {"KIND", "kind"},        {"NAME", "metadata.name"},       {"TYPE", "spec.type"},
        {"OWNER", "spec.owner"}, {"LIFECYCLE", "spec.lifecycle"}, {"SYSTEM", "spec.system"},
        {NULL, NULL}};
    static const cw_out_column team_cols[] = {{"NAME", "metadata.name"},
                                              {"TITLE", "metadata.title"},
                                              {"TYPE", "spec.type"},
                                              {"PARENT", "spec.parent"},
                                              {"MEMBERS", "spec.members"},
                                              {NULL, NULL}};
    rc = print(cmd, o->output, items, items, teams ? team_cols : entity_cols);
    json_decref(items);
    return rc;
}

static int get_entity(const char *cmd, const cw_remote *r, const get_opts *o, const char *text)
{
    cw_ref ref;
    cw_diag d = {{0}};
    if (cw_ref_parse(text, "Component", CW_DEFAULT_NAMESPACE, &ref, &d)) {
        fprintf(stderr, "conway %s: '%s': %s\n", cmd, text, d.msg);
        return 2;
    }
    cw_buf path;
    cw_buf_init(&path, 4096);
    cw_buf_puts(&path, "/api/v1/entities/");
    /* the parts are names: [A-Za-z0-9-_.] only, nothing to escape */
    cw_buf_printf(&path, "%s/%s/%s", ref.kind, ref.namespace_, ref.name);
    json_t *doc = NULL;
    int rc = cw_buf_error(&path) ? 1 : cw_remote_get(cmd, r, path.data, &doc);
    cw_buf_free(&path);
    if (rc)
        return rc;
    static const cw_out_column cols[] = {
        {"KIND", "kind"},        {"NAME", "metadata.name"},       {"TYPE", "spec.type"},
        {"OWNER", "spec.owner"}, {"LIFECYCLE", "spec.lifecycle"}, {"SYSTEM", "spec.system"},
        {"TITLE", "metadata.title"}, {NULL, NULL}};
    json_t *rows = json_pack("[O]", doc);
    rc = rows ? print(cmd, o->output, doc, rows, cols) : 1;
    json_decref(rows);
    json_decref(doc);
    return rc;
}

static int get_findings(const char *cmd, const cw_remote *r, const get_opts *o)
{
    cw_buf path;
    cw_buf_init(&path, 1 << 20);
    cw_buf_puts(&path, "/api/v1/insights/ownership");
    cw_remote_query(&path, "rule", o->rule);
    cw_remote_query(&path, "severity", o->severity);
    cw_remote_query(&path, "team", o->team);
    json_t *doc = NULL;
    int rc = cw_buf_error(&path) ? 1 : cw_remote_get(cmd, r, path.data, &doc);
    cw_buf_free(&path);
    if (rc)
        return rc;
    static const cw_out_column cols[] = {{"SEVERITY", "severity"},
                                         {"RULE", "rule"},
                                         {"ENTITY", "entityRef"},
                                         {"DETAIL", "detail"},
                                         {NULL, NULL}};
    rc = print(cmd, o->output, doc, json_object_get(doc, "findings"), cols);
    json_decref(doc);
    return rc;
}

static int get_events(const char *cmd, const cw_remote *r, const get_opts *o)
{
    size_t max = 100;
    if (!parse_limit(cmd, o->limit, &max))
        return 2;
    char page[16];
    snprintf(page, sizeof page, "%zu", max < 1000 ? max : 1000);
    cw_buf path;
    cw_buf_init(&path, 1 << 20);
    cw_buf_puts(&path, "/api/v1/events");
    cw_remote_query(&path, "type", o->type);
    cw_remote_query(&path, "service", o->service);
    cw_remote_query(&path, "environment", o->environment);
    cw_remote_query(&path, "from", o->from);
    cw_remote_query(&path, "to", o->to);
    cw_remote_query(&path, "limit", page);
    json_t *items = NULL;
    int rc = cw_buf_error(&path) ? 1 : fetch_list(cmd, r, path.data, max, &items);
    cw_buf_free(&path);
    if (rc)
        return rc;
    static const cw_out_column cols[] = {{"TIME", "timestamp"},   {"TYPE", "type"},
                                         {"SUBJECT", "subjectId"}, {"COMPONENT", "component"},
                                         {"SOURCE", "source"},     {"ID", "id"},
                                         {NULL, NULL}};
    rc = print(cmd, o->output, items, items, cols);
    json_decref(items);
    return rc;
}

/* The insights: one GET with scope and window, rows for the table. */
static int insight(const char *cmd, const cw_remote *r, const get_opts *o, const char *route)
{
    cw_buf path;
    cw_buf_init(&path, 1 << 20);
    cw_buf_puts(&path, route);
    cw_remote_query(&path, "scope", o->scope);
    cw_remote_query(&path, "from", o->from);
    cw_remote_query(&path, "to", o->to);
    json_t *doc = NULL;
    int rc = cw_buf_error(&path) ? 1 : cw_remote_get(cmd, r, path.data, &doc);
    cw_buf_free(&path);
    if (rc)
        return rc;
    json_t *rows = json_array();
    const cw_out_column *cols;
    if (!strcmp(cmd, "dora")) {
        static const cw_out_column dora_cols[] = {
            {"METRIC", "metric"}, {"VALUE", "value"}, {"P90", "p90"}, {"LEVEL", "level"},
            {NULL, NULL}};
        const json_t *level = json_object_get(doc, "level");
        const json_t *lt = json_object_get(doc, "leadTimeSeconds");
        const json_t *tr = json_object_get(doc, "timeToRestoreSeconds");
        json_array_append_new(rows, json_pack("{s:s, s:O?, s:O?}", "metric",
                                              "deployments per day", "value",
                                              json_object_get(doc, "deploymentFrequencyPerDay"),
                                              "level", json_object_get(level, "deploymentFrequency")));
        json_array_append_new(rows, json_pack("{s:s, s:O?, s:O?, s:O?}", "metric",
                                              "lead time p50 (hours)", "value",
                                              json_object_get(lt, "p50"), "p90",
                                              json_object_get(lt, "p90"), "level",
                                              json_object_get(level, "leadTime")));
        json_array_append_new(rows, json_pack("{s:s, s:O?, s:O?}", "metric",
                                              "change failure rate", "value",
                                              json_object_get(doc, "changeFailureRate"), "level",
                                              json_object_get(level, "changeFailureRate")));
        json_array_append_new(rows, json_pack("{s:s, s:O?, s:O?, s:O?}", "metric",
                                              "time to restore p50 (hours)", "value",
                                              json_object_get(tr, "p50"), "p90",
                                              json_object_get(tr, "p90"), "level",
                                              json_object_get(level, "timeToRestore")));
        json_array_append_new(rows, json_pack("{s:s, s:O?}", "metric", "deployments", "value",
                                              json_object_get(doc, "deployments")));
        json_array_append_new(rows, json_pack("{s:s, s:O?}", "metric", "open incidents",
                                              "value", json_object_get(doc, "openIncidents")));
        /* seconds read badly in a table: hours */
        for (size_t i = 1; i < 4; i += 2)
            for (const char *const *k = (const char *const[]){"value", "p90", NULL}; *k; k++) {
                json_t *v = json_object_get(json_array_get(rows, i), *k);
                if (json_is_number(v))
                    json_object_set_new(json_array_get(rows, i), *k,
                                        json_real(json_number_value(v) / 3600.0));
            }
        cols = dora_cols;
    } else if (!strcmp(cmd, "undeployed")) {
        static const cw_out_column und_cols[] = {{"COMPONENT", "component"},
                                                 {"CHANGES", "count"},
                                                 {"OLDEST MERGE", "oldestMergedAt"},
                                                 {"AGE", "age"},
                                                 {NULL, NULL}};
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(doc, "components"), i, c) {
            char age[32];
            human_age(json_integer_value(json_object_get(c, "ageSeconds")), age);
            json_array_append_new(rows, json_pack("{s:O?, s:O?, s:O?, s:s}", "component",
                                                  json_object_get(c, "component"), "count",
                                                  json_object_get(c, "count"), "oldestMergedAt",
                                                  json_object_get(c, "oldestMergedAt"), "age",
                                                  age));
        }
        cols = und_cols;
    } else {
        static const cw_out_column coup_cols[] = {
            {"A", "a"}, {"B", "b"}, {"TOGETHER", "together"}, {"CONFIDENCE", "confidence"},
            {"FLAGGED", "flagged"}, {NULL, NULL}};
        json_array_extend(rows, json_object_get(doc, "pairs"));
        cols = coup_cols;
    }
    rc = rows ? print(cmd, o->output, doc, rows, cols) : 1;
    json_decref(rows);
    json_decref(doc);
    return rc;
}

/* Refuses a filter the command does not take (a typo, or a filter of
 * another list), rather than ignoring it. allowed: space-separated names. */
static bool filters_apply(const char *cmd, const cw_opt *opts, const char *allowed)
{
    for (const cw_opt *o = opts; o->name; o++) {
        if (!*o->value || !strcmp(o->name, "server") || !strcmp(o->name, "token") ||
            !strcmp(o->name, "output"))
            continue;
        size_t n = strlen(o->name);
        const char *p = allowed;
        bool ok = false;
        while (!ok && (p = strstr(p, o->name))) {
            ok = (p == allowed || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0');
            p += n;
        }
        if (!ok) {
            fprintf(stderr, "conway %s: --%s does not apply here (it takes: %s)\n", cmd, o->name,
                    *allowed ? allowed : "no filters");
            return false;
        }
    }
    return true;
}

static int run(const char *cmd, int argc, char **argv, int first, const char *help_text)
{
    get_opts o = {0};
    cw_opt opts[] = {
        {"server", true, &o.server},   {"token", true, &o.token},
        {"output", true, &o.output},   {"kind", true, &o.kind},
        {"owner", true, &o.owner},     {"system", true, &o.system},
        {"type", true, &o.type},       {"lifecycle", true, &o.lifecycle},
        {"tag", true, &o.tag},         {"query", true, &o.query},
        {"limit", true, &o.limit},     {"rule", true, &o.rule},
        {"severity", true, &o.severity}, {"team", true, &o.team},
        {"service", true, &o.service}, {"environment", true, &o.environment},
        {"from", true, &o.from},       {"to", true, &o.to},
        {"scope", true, &o.scope},     {NULL, false, NULL},
    };
    const char *pos[3];
    size_t npos;
    bool help;
    if (!cw_opts_parse(cmd, argc, argv, first, opts, pos, 3, &npos, &help))
        return 2;
    if (help) {
        fputs(help_text, stdout);
        return 0;
    }
    if (!o.server) {
        fprintf(stderr, "conway %s: give the server with --server URL (or CONWAY_SERVER), "
                        "e.g. --server http://127.0.0.1:7700\n", cmd);
        return 2;
    }
    cw_remote r = {.server = o.server, .token = o.token};
    cw_out_format fmt;
    if (!cw_out_parse(cmd, o.output, &fmt))
        return 2;
    if (strcmp(cmd, "get") != 0) {
        if (npos) {
            fprintf(stderr, "conway %s: unexpected argument '%s' (try --help)\n", cmd, pos[0]);
            return 2;
        }
        if (!filters_apply(cmd, opts, !strcmp(cmd, "undeployed") ? "scope" : "scope from to"))
            return 2;
        const char *route = !strcmp(cmd, "dora")         ? "/api/v1/insights/dora"
                            : !strcmp(cmd, "undeployed") ? "/api/v1/insights/undeployed"
                                                         : "/api/v1/insights/coupling";
        return insight(cmd, &r, &o, route);
    }
    const char *what = npos ? pos[0] : "";
    if (!strcmp(what, "entities") && npos == 1)
        return filters_apply("get entities", opts,
                             "kind owner system type lifecycle tag query limit")
                   ? get_entities("get entities", &r, &o, false)
                   : 2;
    if (!strcmp(what, "teams") && npos == 1)
        return filters_apply("get teams", opts, "limit") ? get_entities("get teams", &r, &o, true)
                                                         : 2;
    if (!strcmp(what, "entity") && npos == 2)
        return filters_apply("get entity", opts, "") ? get_entity("get entity", &r, &o, pos[1])
                                                     : 2;
    if (!strcmp(what, "findings") && npos == 1)
        return filters_apply("get findings", opts, "rule severity team")
                   ? get_findings("get findings", &r, &o)
                   : 2;
    if (!strcmp(what, "events") && npos == 1)
        return filters_apply("get events", opts, "type service environment from to limit")
                   ? get_events("get events", &r, &o)
                   : 2;
    fputs("conway get: give entities, entity REF, teams, findings or events (try --help)\n",
          stderr);
    return 2;
}

int cw_cmd_get(int argc, char **argv) { return run("get", argc, argv, 2, get_help); }
int cw_cmd_dora(int argc, char **argv) { return run("dora", argc, argv, 2, dora_help); }
int cw_cmd_undeployed(int argc, char **argv)
{
    return run("undeployed", argc, argv, 2, undeployed_help);
}
int cw_cmd_coupling(int argc, char **argv) { return run("coupling", argc, argv, 2, coupling_help); }
