/* token.c — `conway token create|list|revoke`: API tokens. The secret is
 * printed once and only its SHA-256 is stored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "cli/cli.h"
#include "cli/opts.h"
#include "cli/output.h"
#include "cli/remote.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/prefix_list.h"
#include "util/timeutil.h"

static const char token_help[] =
    "usage: conway token create --role ROLE [--name NAME] [--team GROUP [--allow-missing-team]]\n"
    "                           [--source PREFIX[,PREFIX...]]... [--db URL]\n"
    "       conway token list [--db URL] [-o table|json|yaml]\n"
    "       conway token revoke ID [--db URL]\n"
    "       (each also with --server URL --token SECRET instead of --db)\n"
    "\n"
    "-s, --server URL (env CONWAY_SERVER) and --token SECRET (env CONWAY_TOKEN,\n"
    "an admin token) manage the tokens of a running server through its API\n"
    "(GET, POST /api/v1/tokens, DELETE /api/v1/tokens/ID) instead of opening\n"
    "the database; the rules, the output and the audit records are the same\n"
    "(the actor is then the admin token).\n"
    "\n"
    "Roles: viewer (read), ingest (send events), editor (write the catalog,\n"
    "send events), admin (everything, including the audit log).\n"
    "\n"
    "--team GROUP scopes an editor or ingest token to one team: an editor may\n"
    "then write only the kinds a team owns (Component, API, Resource, System,\n"
    "Domain, conway kinds with an owner) owned by that team before and after\n"
    "the write, and no write of it may make two Components claim one link key;\n"
    "a team-scoped token may send only events that link to a Component the team\n"
    "owns. Viewer and admin tokens cannot be scoped (reads are not limited to a\n"
    "team), so --team is refused for them. The team must be a Group in the\n"
    "catalog (exit status 2 otherwise) unless --allow-missing-team.\n"
    "\n"
    "--source PREFIX binds an ingest or editor token to CloudEvents sources:\n"
    "every event it sends must have a context.source that starts with one of\n"
    "the prefixes (repeat the option or give a comma-separated list; at most\n"
    "32). Other events are refused (403), so no pipeline can send first under\n"
    "another's (source, id).\n"
    "\n"
    "'create' prints the secret alone on stdout; it cannot be shown again. A\n"
    "revoked token stops working at once, also on a running server. 'list'\n"
    "prints one line per token, tab-separated: ID NAME ROLE TEAM CREATED\n"
    "LAST-USED SOURCES STATUS (times in UTC; sources comma-separated; '-' for\n"
    "none; never a secret). LAST-USED is recorded by the server in the\n"
    "background (about a minute's precision, written within seconds of use).\n"
    "-o table|json|yaml prints the same as a table with a header, or as objects\n"
    "(id, name, role, team, created, lastUsed, sources, status).\n"
    "Creating and revoking are recorded in the audit log (actor \"cli\").\n";

#define MAX_SOURCES 32

static bool valid_role(const char *r)
{
    return r && (!strcmp(r, "viewer") || !strcmp(r, "ingest") || !strcmp(r, "editor") ||
                 !strcmp(r, "admin"));
}

/* Appends a record of a token change to the audit log (the token's
 * facts in detail, its team as the entity ref). */
static void audit_token(cw_store *store, const char *action, const cw_token *t)
{
    json_t *refs = json_array();
    if (refs && t->team[0])
        json_array_append_new(refs, json_string(t->team));
    json_t *detail = json_pack("{s:I, s:s, s:s, s:s?}", "tokenId", (json_int_t)t->id, "name",
                               t->name, "role", t->role, "team", t->team[0] ? t->team : NULL);
    if (detail && t->sources[0]) {
        json_t *src = json_array();
        for (const char *p = t->sources; src && *p;) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            json_array_append_new(src, json_stringn(p, n));
            p += n + (nl ? 1 : 0);
        }
        json_object_set_new(detail, "sources", src);
    }
    if (refs && detail)
        cw_cli_audit(store, "token", action, refs, detail);
    else
        fprintf(stderr, "conway token: warning: the audit record of %s was not stored: out of "
                        "memory\n", action);
    json_decref(refs);
    json_decref(detail);
}

/* Prints s with tabs, newlines and other control characters replaced, so
 * that every token stays on one line with a fixed number of fields. */
static void put_field(const char *s)
{
    if (!s || !*s) {
        fputs("-", stdout);
        return;
    }
    for (; *s; s++)
        putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

/* --source values (each a comma-separated list) as one prefix per line in
 * out; false after printing why not. */
static bool parse_sources(const char *const *vals, size_t nvals, char out[CW_TOKEN_SOURCES_MAX])
{
    size_t o = 0, count = 0;
    out[0] = '\0';
    for (size_t i = 0; i < nvals; i++) {
        const char *p = vals[i];
        for (;;) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            cw_prefix_status st = ++count > MAX_SOURCES
                                      ? CW_PREFIX_FULL
                                      : cw_prefix_list_append(out, CW_TOKEN_SOURCES_MAX, &o, p, n);
            if (st == CW_PREFIX_EMPTY) {
                fputs("conway token create: --source: empty prefix (give e.g. --source "
                      "/team-b/ or --source /a/,/b/)\n", stderr);
                return false;
            }
            if (st == CW_PREFIX_CONTROL) {
                fputs("conway token create: --source: control character in a prefix\n", stderr);
                return false;
            }
            if (st == CW_PREFIX_FULL) {
                fprintf(stderr, "conway token create: --source: at most %d prefixes of %d "
                                "characters in all\n", MAX_SOURCES, CW_TOKEN_SOURCES_MAX - 2);
                return false;
            }
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    return true;
}

static void fmt_time(int64_t secs, char out[32])
{
    if (!secs) {
        snprintf(out, 32, "-");
        return;
    }
    cw_time_format_compact(secs * 1000, out);
}

/* The tokens as objects (never a secret or hash): the shape of GET
 * /api/v1/tokens' items. NULL when out of memory. */
static json_t *tokens_json(const cw_token *toks, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++) {
        char c[32], u[32];
        fmt_time(toks[i].created_at, c);
        fmt_time(toks[i].last_used_at, u);
        json_t *src = json_array();
        for (const char *p = toks[i].sources; src && *p;) {
            const char *nl = strchr(p, '\n');
            size_t len = nl ? (size_t)(nl - p) : strlen(p);
            json_array_append_new(src, json_stringn(p, len));
            p += len + (nl ? 1 : 0);
        }
        json_t *t = json_pack("{s:I, s:s, s:s, s:s?, s:s, s:s?, s:o, s:s}", "id",
                              (json_int_t)toks[i].id, "name", toks[i].name, "role", toks[i].role,
                              "team", toks[i].team[0] ? toks[i].team : NULL, "created", c,
                              "lastUsed", toks[i].last_used_at ? u : NULL, "sources",
                              src ? src : json_array(), "status",
                              toks[i].revoked_at ? "revoked" : "active");
        if (!t || json_array_append_new(list, t)) {
            json_decref(list);
            list = NULL;
        }
    }
    return list;
}

/* Prints list (tokens_json's shape, local or from the server): with -o as
 * a table or objects, else one tab-separated line per token. 0, 1 or 2. */
static int print_list(const char *output, const json_t *list)
{
    if (output) {
        cw_out_format fmt;
        if (!cw_out_parse("token list", output, &fmt))
            return 2;
        static const cw_out_column cols[] = {
            {"ID", "id"},           {"NAME", "name"},         {"ROLE", "role"},
            {"TEAM", "team"},       {"CREATED", "created"},   {"LAST-USED", "lastUsed"},
            {"SOURCES", "sources"}, {"STATUS", "status"},     {NULL, NULL}};
        return cw_out_print(stdout, fmt, list, list, cols);
    }
    if (isatty(STDOUT_FILENO))
        fputs("ID\tNAME\tROLE\tTEAM\tCREATED\tLAST-USED\tSOURCES\tSTATUS\n", stderr);
    size_t i, k;
    const json_t *t, *src;
    json_array_foreach(list, i, t) {
        printf("%lld\t", (long long)json_integer_value(json_object_get(t, "id")));
        static const char *const keys[] = {"name", "role", "team", "created", "lastUsed"};
        for (k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            put_field(json_string_value(json_object_get(t, keys[k])));
            putchar('\t');
        }
        const json_t *srcs = json_object_get(t, "sources");
        if (!json_array_size(srcs))
            putchar('-');
        json_array_foreach(srcs, k, src) {
            if (k)
                putchar(',');
            put_field(json_string_value(src));
        }
        putchar('\t');
        put_field(json_string_value(json_object_get(t, "status")));
        putchar('\n');
    }
    return 0;
}

/* conway token list|create|revoke --server: the same through the API
 * (admin token). sources is parse_sources' (one prefix per line). */
static int remote_token(const cw_remote *r, const char *sub, const char *output,
                        const char *role, const char *name, const char *team,
                        const char *sources, bool allow_missing_team, long long revoke_id)
{
    char cmd[32];
    snprintf(cmd, sizeof cmd, "token %s", sub);
    json_t *doc = NULL;
    int rc = 1;
    if (!strcmp(sub, "list")) {
        json_t *all = json_array();
        cw_buf path;
        cw_buf_init(&path, 1 << 16);
        const char *cursor = NULL;
        rc = all ? 0 : 1;
        while (!rc) { /* every page */
            cw_buf_reset(&path);
            cw_buf_puts(&path, "/api/v1/tokens?limit=1000");
            cw_remote_query(&path, "cursor", cursor);
            json_decref(doc);
            doc = NULL;
            if (cw_buf_error(&path) || (rc = cw_remote_get(cmd, r, path.data, &doc)))
                break;
            json_array_extend(all, json_object_get(doc, "items"));
            cursor = json_string_value(json_object_get(doc, "nextCursor"));
            if (!cursor || !*cursor)
                break;
        }
        cw_buf_free(&path);
        if (!rc)
            rc = print_list(output, all);
        json_decref(all);
    } else if (!strcmp(sub, "create")) {
        json_t *body = json_pack("{s:s, s:s?, s:s?, s:b}", "role", role, "name",
                                 name && *name ? name : NULL, "team", team, "allowMissingTeam",
                                 allow_missing_team);
        if (body && sources[0]) {
            json_t *src = json_array();
            for (const char *p = sources; src && *p;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t)(nl - p) : strlen(p);
                json_array_append_new(src, json_stringn(p, len));
                p += len + (nl ? 1 : 0);
            }
            json_object_set_new(body, "sources", src);
        }
        char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        long status = 0;
        if (!text)
            fputs("conway token create: out of memory\n", stderr);
        else
            rc = cw_remote_send(cmd, r, "POST", "/api/v1/tokens", "application/json", text,
                                strlen(text), &status, &doc);
        free(text);
        json_decref(body);
        const char *secret = json_string_value(json_object_get(doc, "secret"));
        if (!rc && !secret) {
            fputs("conway token create: the server's answer has no secret\n", stderr);
            rc = 1;
        }
        if (!rc) {
            printf("%s\n", secret);
            fprintf(stderr, "created token %lld (%s) on %s; keep the secret: it cannot be shown "
                            "again\n", (long long)json_integer_value(json_object_get(doc, "id")),
                    role, r->server);
        }
    } else {
        char path[64];
        long status = 0;
        snprintf(path, sizeof path, "/api/v1/tokens/%lld", revoke_id);
        rc = cw_remote_send(cmd, r, "DELETE", path, NULL, NULL, 0, &status, &doc);
        if (!rc)
            fprintf(stderr, "revoked token %lld\n", revoke_id);
    }
    json_decref(doc);
    return rc;
}

int cw_cmd_token(int argc, char **argv)
{
    const char *db = NULL, *role = NULL, *name = NULL, *team = NULL, *source = NULL,
               *missing_team = NULL, *output = NULL, *server = NULL, *api_token = NULL;
    cw_opt opts[] = {{"db", true, &db},
                     {"server", true, &server},
                     {"token", true, &api_token},
                     {"allow-missing-team", false, &missing_team},
                     {"output", true, &output},
                     {"role", true, &role},
                     {"name", true, &name},
                     {"team", true, &team},
                     {"source", true, &source},
                     {NULL, false, NULL}};
    const char *pos[4];
    size_t npos;
    bool help;
    if (!cw_opts_parse("token", argc, argv, 2, opts, pos, 4, &npos, &help))
        return 2;
    if (help || npos == 0) {
        fputs(token_help, help ? stdout : stderr);
        return help ? 0 : 2;
    }
    const char *sub = pos[0];
    if (strcmp(sub, "create") && strcmp(sub, "list") && strcmp(sub, "revoke")) {
        fprintf(stderr, "conway token: unknown subcommand '%s' (create, list or revoke)\n", sub);
        return 2;
    }
    char team_key[CW_REF_MAX] = "";
    cw_ref team_ref;
    memset(&team_ref, 0, sizeof team_ref);
    char sources[CW_TOKEN_SOURCES_MAX] = "";
    cw_diag d = {{0}};
    if (!strcmp(sub, "create")) {
        if (!valid_role(role)) {
            fputs("conway token create: --role must be viewer, ingest, editor or admin\n", stderr);
            return 2;
        }
        if (team) {
            /* issue #10: a scope that nothing enforces is worse than none */
            if (strcmp(role, "editor") && strcmp(role, "ingest")) {
                fprintf(stderr,
                        "conway token create: --team applies to editor and ingest tokens only: "
                        "%s\n",
                        !strcmp(role, "viewer")
                            ? "a viewer reads the whole catalog (reads are not limited to a team)"
                            : "an admin token is never limited to a team");
                return 2;
            }
            cw_ref ref;
            if (cw_ref_parse(team, "Group", NULL, &ref, &d) || strcasecmp(ref.kind, "Group")) {
                fprintf(stderr, "conway token create: --team: %s\n",
                        d.msg[0] ? d.msg : "must be a group ref such as group:default/payments");
                return 2;
            }
            cw_ref_key(&ref, team_key);
            team_ref = ref;
        }
        if (source) {
            if (strcmp(role, "ingest") && strcmp(role, "editor")) {
                fprintf(stderr, "conway token create: --source applies to ingest and editor "
                                "tokens only (the roles that send events)\n");
                return 2;
            }
            const char *vals[MAX_SOURCES + 1];
            size_t nv = cw_opts_all(argc, argv, 2, opts, "source", vals, MAX_SOURCES + 1);
            if (nv > MAX_SOURCES)
                nv = MAX_SOURCES + 1; /* parse_sources reports the excess */
            if (!parse_sources(vals, nv, sources))
                return 2;
        }
    }
    long long revoke_id = 0;
    if (!strcmp(sub, "revoke")) {
        char *end = NULL;
        revoke_id = npos == 2 ? strtoll(pos[1], &end, 10) : 0;
        if (npos != 2 || !end || *end || revoke_id <= 0) {
            fputs("conway token revoke: give the numeric token ID shown by 'conway token list'\n", stderr);
            return 2;
        }
    }
    if (server) { /* remote mode: the server's API, with an admin token */
        if (db && cw_opts_setting_source("db") == NULL) {
            fputs("conway token: give --server or --db, not both\n", stderr);
            return 2;
        }
        cw_remote r = {.server = server, .token = api_token};
        return remote_token(&r, sub, output, role, name, team, sources, missing_team != NULL,
                            revoke_id);
    }
    const char *url = cw_cli_db_url(db);
    cw_store *store = NULL;
    if (cw_store_open(url, NULL, &store, &d)) {
        fprintf(stderr, "conway token: cannot open database %s: %s\n", cw_cli_shown_url(url).s, d.msg);
        return 1;
    }
    int rc = 1;
    if (!strcmp(sub, "create") && team_key[0] && !missing_team) {
        /* a token scoped to a team nobody can find is a typo, not a scope */
        char *json = NULL;
        cw_err err = cw_store_entity_get(store, "Group", team_ref.namespace_, team_ref.name, &json,
                                         NULL, &d);
        free(json);
        if (err == CW_ERR_NOT_FOUND) {
            fprintf(stderr, "conway token create: --team: %s is not in the catalog (import the "
                            "team first, or give --allow-missing-team for a team imported "
                            "later)\n", team_key);
            rc = 2;
            goto out;
        }
        if (err) {
            fprintf(stderr, "conway token create: %s\n", d.msg);
            goto out;
        }
    }
    if (!strcmp(sub, "create")) {
        char secret[CW_TOKEN_SECRET_TEXT], hash[65];
        if (cw_token_secret_new(secret, hash)) {
            fputs("conway token create: no secure randomness available\n", stderr);
            goto out;
        }
        cw_token tok;
        if (cw_store_token_create_sources(store, name && *name ? name : role, role, team_key,
                                          sources, hash, &tok, &d)) {
            fprintf(stderr, "conway token create: %s\n", d.msg);
            goto out;
        }
        audit_token(store, "token.create", &tok);
        printf("%s\n", secret);
        fprintf(stderr, "created token %lld (%s%s%s%s", (long long)tok.id, role,
                team_key[0] ? ", team " : "", team_key, sources[0] ? ", sources " : "");
        if (sources[0])
            for (const char *p = sources; *p; p++)
                fputc(*p == '\n' ? ',' : *p, stderr);
        fputs("); keep the secret: it cannot be shown again\n", stderr);
        rc = 0;
    } else if (!strcmp(sub, "list")) {
        cw_token *toks = NULL;
        size_t n = 0;
        if (cw_store_token_list(store, &toks, &n, &d)) {
            fprintf(stderr, "conway token list: %s\n", d.msg);
            goto out;
        }
        json_t *list = tokens_json(toks, n);
        if (list)
            rc = print_list(output, list);
        else
            fputs("conway token list: out of memory\n", stderr);
        json_decref(list);
        free(toks);
    } else {
        cw_err err = cw_store_token_revoke(store, revoke_id, cw_now_ms() / 1000, &d);
        if (err == CW_ERR_NOT_FOUND) {
            fprintf(stderr, "conway token revoke: no token with ID %lld\n", revoke_id);
            goto out;
        }
        if (err) {
            fprintf(stderr, "conway token revoke: %s\n", d.msg);
            goto out;
        }
        cw_token t = {.id = revoke_id};
        cw_token *toks = NULL;
        size_t n = 0;
        if (cw_store_token_list(store, &toks, &n, &d) == CW_OK)
            for (size_t i = 0; i < n; i++)
                if (toks[i].id == revoke_id)
                    t = toks[i];
        free(toks);
        audit_token(store, "token.revoke", &t);
        fprintf(stderr, "revoked token %lld\n", revoke_id);
        rc = 0;
    }
out:
    cw_store_close(store);
    return rc;
}
