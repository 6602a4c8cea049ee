/*
 * codeowners.c — `conway codeowners import FILE --component REF`: reads a
 * GitHub CODEOWNERS file and reports where the catalog owner of the
 * component disagrees with who owns the repository root (rule
 * codeowners-mismatch), the same comparison as POST /api/v1/codeowners.
 * Nothing in the catalog changes. Exit status: 0 when they agree (or
 * neither names an owner), 1 when a codeowners-mismatch is reported, 2 on
 * a usage error or when the check could not run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "cli/cli.h"
#include "cli/opts.h"
#include "ingest/codeowners.h"
#include "store/store.h"
#include "util/buf.h"

static const char codeowners_help[] =
    "usage: conway codeowners import FILE --component REF [--db URL] [--json]\n"
    "\n"
    "Compares a GitHub CODEOWNERS file with the catalog: the owners of the\n"
    "repository root (the last rule matching every file, such as '*') mapped to\n"
    "catalog groups (@org/team -> group:<namespace>/team) and users (@login ->\n"
    "user:<namespace>/login) against the component's spec.owner. Invalid lines\n"
    "are reported on stderr as FILE:LINE: DETAIL and skipped, as GitHub does.\n"
    "A disagreement is printed as 'warning codeowners-mismatch REF: DETAIL';\n"
    "--json prints the whole comparison (as POST /api/v1/codeowners answers).\n"
    "FILE '-' reads standard input. Nothing in the database changes.\n"
    "\n"
    "Exit status: 0 when CODEOWNERS and the catalog agree, 1 when they do not,\n"
    "2 on a usage error or when the check could not run.\n"
    "\n"
    "Options:\n"
    "  --component REF   the component the repository belongs to (kind defaults\n"
    "                    to Component, namespace to default)\n"
    "  --db URL          SQLite file or postgres:// URL (env CONWAY_DB)\n"
    "  --json            print the comparison as JSON\n";

/* Reads the whole file (at most max bytes) into out. */
static bool read_file(const char *path, size_t max, cw_buf *out)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        fprintf(stderr, "conway codeowners: %s: %s\n", path, strerror(errno));
        return false;
    }
    char chunk[16384];
    size_t n;
    bool ok = true;
    while (ok && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (out->len + n > max) {
            fprintf(stderr,
                    "conway codeowners: %s: 3 MB or more; GitHub ignores CODEOWNERS files "
                    "that large\n",
                    path);
            ok = false;
        } else if (cw_buf_append(out, chunk, n)) {
            fputs("conway codeowners: out of memory\n", stderr);
            ok = false;
        }
    }
    if (ok && ferror(f)) {
        fprintf(stderr, "conway codeowners: %s: read error\n", path);
        ok = false;
    }
    if (f != stdin)
        fclose(f);
    return ok;
}

static void put_clean(const char *s)
{
    for (; s && *s; s++)
        putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static int codeowners_import(int argc, char **argv)
{
    const char *db = NULL, *component = NULL, *as_json = NULL;
    cw_opt opts[] = {{"db", true, &db},
                     {"component", true, &component},
                     {"json", false, &as_json},
                     {NULL, false, NULL}};
    const char *pos[2];
    size_t npos;
    bool help;
    if (!cw_opts_parse("codeowners import", argc, argv, 3, opts, pos, 1, &npos, &help))
        return 2;
    if (help) {
        fputs(codeowners_help, stdout);
        return 0;
    }
    if (npos != 1 || !component || !*component) {
        fputs("conway codeowners import: give the CODEOWNERS FILE and --component REF "
              "(try --help)\n",
              stderr);
        return 2;
    }
    cw_ref ref;
    cw_diag d = {{0}};
    if (cw_ref_parse(component, "Component", NULL, &ref, &d)) {
        fprintf(stderr, "conway codeowners import: --component: %s\n", d.msg);
        return 2;
    }
    if (strcasecmp(ref.kind, "Component")) {
        fprintf(stderr, "conway codeowners import: --component: \"%s\" is not a Component\n",
                component);
        return 2;
    }
    int rc = 2;
    cw_buf text;
    cw_buf_init(&text, 0);
    cw_store *store = NULL;
    cw_codeowners *co = NULL;
    char *stored = NULL;
    json_t *entity = NULL, *report = NULL;
    if (!read_file(pos[0], CW_CODEOWNERS_MAX_BYTES - 1, &text))
        goto out;
    if (memchr(cw_buf_cstr(&text), '\0', text.len)) {
        fprintf(stderr, "conway codeowners import: %s: contains a NUL byte; not a CODEOWNERS "
                        "file\n", pos[0]);
        goto out;
    }
    const char *url = cw_cli_db_url(db);
    if (cw_store_open(url, NULL, &store, &d)) {
        fprintf(stderr, "conway codeowners import: cannot open database %s: %s\n", cw_cli_shown_url(url).s, d.msg);
        goto out;
    }
    char display[CW_REF_MAX];
    cw_ref_format(&ref, display);
    cw_err err = cw_store_entity_get(store, ref.kind, ref.namespace_, ref.name, &stored, NULL, &d);
    if (err == CW_ERR_NOT_FOUND) {
        fprintf(stderr, "conway codeowners import: --component: %s does not exist\n", display);
        goto out;
    }
    if (err || !(entity = json_loads(stored, 0, NULL))) {
        fprintf(stderr, "conway codeowners import: %s: %s\n", display,
                err ? d.msg : "stored entity is not valid JSON");
        goto out;
    }
    if (cw_codeowners_parse(cw_buf_cstr(&text), text.len, &co, &d) ||
        cw_codeowners_report(co, entity, &report, &d)) {
        fprintf(stderr, "conway codeowners import: %s: %s\n", pos[0], d.msg);
        goto out;
    }
    const json_t *findings = json_object_get(report, "findings");
    if (as_json) {
        json_dumpf(report, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    } else {
        for (size_t i = 0; i < co->nerrors; i++)
            fprintf(stderr, "%s:%zu: %s\n", pos[0], co->errors[i].line, co->errors[i].detail);
        if (co->errors_dropped)
            fprintf(stderr, "%s: %zu more invalid lines\n", pos[0], co->errors_dropped);
        size_t i;
        const json_t *f;
        json_array_foreach(findings, i, f) {
            put_clean(json_string_value(json_object_get(f, "severity")));
            putchar(' ');
            put_clean(json_string_value(json_object_get(f, "rule")));
            putchar(' ');
            put_clean(json_string_value(json_object_get(f, "entityRef")));
            fputs(": ", stdout);
            put_clean(json_string_value(json_object_get(f, "detail")));
            putchar('\n');
        }
        fprintf(stderr, "%zu rules, %zu invalid lines; %s\n", co->nrules,
                co->nerrors + co->errors_dropped,
                json_array_size(findings) ? "the catalog owner and CODEOWNERS disagree"
                                          : "the catalog owner and CODEOWNERS agree");
    }
    if (fflush(stdout) != 0) {
        fputs("conway codeowners import: cannot write the report\n", stderr);
        goto out;
    }
    rc = json_array_size(findings) ? 1 : 0;
out:
    json_decref(report);
    json_decref(entity);
    free(stored);
    cw_codeowners_free(co);
    cw_store_close(store);
    cw_buf_free(&text);
    return rc;
}

int cw_cmd_codeowners(int argc, char **argv)
{
    if (argc < 3 || !strcmp(argv[2], "--help") || !strcmp(argv[2], "-h")) {
        bool help = argc >= 3;
        fputs(codeowners_help, help ? stdout : stderr);
        return help ? 0 : 2;
    }
    if (!strcmp(argv[2], "import"))
        return codeowners_import(argc, argv);
    fprintf(stderr, "conway codeowners: unknown subcommand '%s' (known: import)\n", argv[2]);
    return 2;
}
