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
#include "store/store.h"
#include "util/crypto.h"
#include "util/timeutil.h"

static const char token_help[] =
    "usage: conway token create --role ROLE [--name NAME] [--team GROUP] [--db URL]\n"
    "       conway token list [--db URL]\n"
    "       conway token revoke ID [--db URL]\n"
    "\n"
    "Roles: viewer (read), ingest (send events), editor (write the catalog),\n"
    "admin (everything, including the audit log). --team scopes an editor token\n"
    "to the entities one team owns. 'create' prints the secret alone on stdout;\n"
    "it cannot be shown again. A revoked token stops working at once, also on\n"
    "a running server. 'list' prints one line per token, tab-separated:\n"
    "ID NAME ROLE TEAM CREATED LAST-USED STATUS (times in UTC, '-' for none;\n"
    "never a secret). Creating and revoking are recorded in the audit log\n"
    "(actor \"cli\").\n";

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

static void fmt_time(int64_t secs, char out[32])
{
    if (!secs) {
        snprintf(out, 32, "-");
        return;
    }
    cw_time_format_compact(secs * 1000, out);
}

int cw_cmd_token(int argc, char **argv)
{
    const char *db = NULL, *role = NULL, *name = NULL, *team = NULL;
    cw_opt opts[] = {{"db", true, &db},
                     {"role", true, &role},
                     {"name", true, &name},
                     {"team", true, &team},
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
    cw_diag d = {{0}};
    if (!strcmp(sub, "create")) {
        if (!valid_role(role)) {
            fputs("conway token create: --role must be viewer, ingest, editor or admin\n", stderr);
            return 2;
        }
        if (team) {
            cw_ref ref;
            if (cw_ref_parse(team, "Group", NULL, &ref, &d) || strcasecmp(ref.kind, "Group")) {
                fprintf(stderr, "conway token create: --team: %s\n",
                        d.msg[0] ? d.msg : "must be a group ref such as group:default/payments");
                return 2;
            }
            cw_ref_key(&ref, team_key);
            if (strcmp(role, "editor") && strcmp(role, "viewer") && strcmp(role, "ingest")) {
                fputs("conway token create: --team applies to editor, viewer and ingest tokens\n", stderr);
                return 2;
            }
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
    const char *url = cw_cli_db_url(db);
    cw_store *store = NULL;
    if (cw_store_open(url, NULL, &store, &d)) {
        fprintf(stderr, "conway token: cannot open database %s: %s\n", url, d.msg);
        return 1;
    }
    int rc = 1;
    if (!strcmp(sub, "create")) {
        unsigned char raw[32];
        if (cw_random_bytes(raw, sizeof raw)) {
            fputs("conway token create: no secure randomness available\n", stderr);
            goto out;
        }
        char *enc = cw_base64url_encode(raw, sizeof raw);
        char secret[80];
        snprintf(secret, sizeof secret, "cw_%s", enc ? enc : "");
        free(enc);
        char hash[65];
        cw_sha256_hex(secret, strlen(secret), hash);
        cw_token tok;
        if (cw_store_token_create(store, name && *name ? name : role, role, team_key, hash, &tok, &d)) {
            fprintf(stderr, "conway token create: %s\n", d.msg);
            goto out;
        }
        audit_token(store, "token.create", &tok);
        printf("%s\n", secret);
        fprintf(stderr, "created token %lld (%s%s%s); keep the secret: it cannot be shown again\n",
                (long long)tok.id, role, team_key[0] ? ", team " : "", team_key);
        rc = 0;
    } else if (!strcmp(sub, "list")) {
        cw_token *toks = NULL;
        size_t n = 0;
        if (cw_store_token_list(store, &toks, &n, &d)) {
            fprintf(stderr, "conway token list: %s\n", d.msg);
            goto out;
        }
        if (isatty(STDOUT_FILENO))
            fputs("ID\tNAME\tROLE\tTEAM\tCREATED\tLAST-USED\tSTATUS\n", stderr);
        for (size_t i = 0; i < n; i++) {
            char c[32], u[32];
            fmt_time(toks[i].created_at, c);
            fmt_time(toks[i].last_used_at, u);
            printf("%lld\t", (long long)toks[i].id);
            put_field(toks[i].name);
            putchar('\t');
            put_field(toks[i].role);
            putchar('\t');
            put_field(toks[i].team);
            printf("\t%s\t%s\t%s\n", c, u, toks[i].revoked_at ? "revoked" : "active");
        }
        free(toks);
        rc = 0;
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
