/*
 * codeowners.h — GitHub CODEOWNERS files: parsing, path matching with
 * GitHub's rules (standards.md §8), the owners of the repository root, and
 * the comparison with a catalog entity's owner (findings of rule
 * "codeowners-mismatch"). Pure parsing and matching on memory: reading the
 * file is the caller's job (CLI `conway codeowners import`, POST
 * /api/v1/codeowners).
 *
 * Syntax: one rule per line, "<pattern> <owner>...". '#' starts a comment
 * (a whole line, or a token after the pattern). Patterns follow gitignore
 * (see the examples below), except what GitHub does not support: '!'
 * negation and escaping a leading '#' are invalid lines, and '[' ']' are
 * plain characters. Matching is case-sensitive; the LAST matching line wins,
 * and a matching line with no owners leaves the path unowned. Owners are
 * "@user", "@org/team" or an e-mail address. An invalid line is reported
 * with its number and skipped.
 */
// Pattern rules, by example:
//   /build/      a '/' at the start or in the middle anchors at the root;
//   logs         otherwise a pattern matches at any depth;
//   apps/        a trailing '/' matches a directory and everything under it;
//   *.js  f?o    '*' and '?' never cross '/';
//   **/logs      leading "**/": in every directory;
//   a/**/b       middle "/**/": zero or more directories;
//   a/**         trailing "/**": everything inside a;
//   docs/*       an anchored pattern ending in a lone '*': direct children only;
//   my\ file     '\' escapes the next character (here a space).
#ifndef CW_INGEST_CODEOWNERS_H
#define CW_INGEST_CODEOWNERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "catalog/catalog.h"
#include "util/err.h"

/* GitHub does not load CODEOWNERS files of 3 MB or more. */
#define CW_CODEOWNERS_MAX_BYTES ((size_t)3 * 1024 * 1024)
/* Invalid lines kept in detail; more are only counted. */
#define CW_CODEOWNERS_MAX_ERRORS 100

typedef struct cw__co_seg cw__co_seg; /* compiled pattern segment (private) */

typedef struct {
    char *pattern;        /* as written, escapes kept */
    size_t line;          /* 1-based line number */
    char **owners;        /* as written: "@user", "@org/team", "dev@example.com" */
    size_t nowners;       /* 0: the line leaves matching paths unowned */
    /* compiled form (private) */
    cw__co_seg *segs;
    size_t nsegs;
    bool dir_only;        /* matches below a directory only */
    bool no_descent;      /* anchored lone '*' at the end: direct children only */
} cw_codeowners_rule;

typedef struct {
    size_t line;
    char detail[240];     /* "invalid owner \"foo\": ..." (without the line) */
} cw_codeowners_error;

/* A parsed file. Owns everything it points at; free with cw_codeowners_free. */
typedef struct {
    cw_codeowners_rule *rules;   /* in file order */
    size_t nrules;
    cw_codeowners_error *errors; /* invalid lines, in file order */
    size_t nerrors;
    size_t errors_dropped;       /* invalid lines beyond CW_CODEOWNERS_MAX_ERRORS */
} cw_codeowners;

/*
 * Parses len bytes of CODEOWNERS text (need not be NUL-terminated; CRLF
 * line ends accepted). Invalid lines do not fail the parse: they are listed
 * in (*out)->errors. CW_ERR_TOO_LARGE when len >= CW_CODEOWNERS_MAX_BYTES,
 * CW_ERR_NOMEM when out of memory; *out is NULL on error. Caller owns *out.
 */
cw_err cw_codeowners_parse(const char *text, size_t len, cw_codeowners **out, cw_diag *d);
void cw_codeowners_free(cw_codeowners *co);

/*
 * The last rule matching path (repository-relative, '/'-separated; a leading
 * '/' is ignored and a trailing '/' says the path is a directory), or NULL.
 */
const cw_codeowners_rule *cw_codeowners_match(const cw_codeowners *co, const char *path);

/* Owners of the last matching rule (borrowed from co), NULL with *n = 0 when
 * no rule matches or the matching rule has no owners. n may be NULL. */
char *const *cw_codeowners_owners_of(const cw_codeowners *co, const char *path, size_t *n);

/*
 * Whether one pattern matches path, with the rules above. CW_ERR_INVALID
 * (d says why) when the pattern is not a valid CODEOWNERS pattern.
 */
cw_err cw_codeowners_pattern_match(const char *pattern, const char *path, bool *match,
                                   cw_diag *d);

/*
 * The repository root's owners are its default owners: the owners of the
 * LAST rule whose pattern matches every file at the root whatever its name
 * (the patterns listed below). Rules naming files ("/README", "*.md") own
 * those files, not the repository, and do not count.
 * cw_codeowners_root_rule returns that rule or NULL; root_owners its owners
 * (NULL with *n = 0 when there is no such rule or it has no owners).
 */
// Root patterns: *   /*   **   /**   **/*   /**/*
const cw_codeowners_rule *cw_codeowners_root_rule(const cw_codeowners *co);
char *const *cw_codeowners_root_owners(const cw_codeowners *co, size_t *n);

typedef enum {
    CW_CODEOWNER_INVALID = 0,
    CW_CODEOWNER_USER,   /* @user */
    CW_CODEOWNER_TEAM,   /* @org/team */
    CW_CODEOWNER_EMAIL   /* name@example.com */
} cw_codeowner_kind;

cw_codeowner_kind cw_codeowner_classify(const char *owner);

/*
 * Maps an owner to the catalog: "@org/team" -> "group:<ns>/team" (the team
 * part is the group's name), "@user" -> "user:<ns>/user" (best effort: it
 * assumes the catalog user is named like the GitHub login). E-mail
 * addresses and names longer than CW_NAME_MAX do not map: returns false.
 * ns NULL means "default". out is the display ref (name case kept).
 */
bool cw_codeowner_to_ref(const char *owner, const char *ns, char out[CW_REF_MAX]);

/*
 * Compares entity's catalog owner (spec.owner, default kind Group, the
 * entity's namespace) with the owners of the repository root mapped by
 * cw_codeowner_to_ref in the entity's namespace. *finding is NULL when the
 * catalog owner is one of them; otherwise (caller owns) a finding
 *   {"rule": "codeowners-mismatch", "severity": "warning", "entityRef",
 *    "owner"?, "detail", "rootOwners": [...as written], "line"?}
 * whose detail says who CODEOWNERS and the catalog each name. When neither
 * names an owner there is nothing to compare and *finding is NULL
 * (owner-missing reports it). CW_ERR_INVALID when entity has no kind/name.
 */
cw_err cw_codeowners_check_owner(const cw_codeowners *co, const json_t *entity,
                                 json_t **finding, cw_diag *d);

/*
 * The answer of an import: {"entityRef", "rules": N, "errors": [{"line",
 * "detail"}], "errorsDropped"?: N, "rootOwners": [...], "rootLine": N|null,
 * "findings": [...]} (findings from cw_codeowners_check_owner). Caller owns.
 */
cw_err cw_codeowners_report(const cw_codeowners *co, const json_t *entity, json_t **out,
                            cw_diag *d);

#endif
