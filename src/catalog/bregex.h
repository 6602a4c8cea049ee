/*
 * bregex.h — a bounded regular expression for the `matches` operator of the
 * scorecard rule language (catalog/rule.h). Rules are accepted from any
 * editor of the catalog, so neither compiling nor matching may cost more
 * than a small, known amount: patterns are at most CW_BREGEX_MAX_PATTERN
 * bytes and compile to at most CW_BREGEX_MAX_PROG instructions, and a match
 * is a Thompson/Pike simulation (no backtracking): time O(pattern × text),
 * whatever the pattern. Subjects longer than CW_BREGEX_MAX_SUBJECT never
 * match.
 *
 * Syntax (a subset of JavaScript's RegExp, bytes, ASCII semantics):
 * literals, `.` (any byte but newline), `[abc]` `[^a-z]` (ranges, escapes
 * inside), `\d \w \s \D \W \S`, `\` before any punctuation for itself,
 * `\n \t \r`, `* + ?` and counted `{m}` `{m,}` `{m,n}` (m, n <= 32), `|`,
 * groups `( )` and `(?: )`, anchors `^` and `$`. A match anywhere in the
 * text counts (RegExp.test), anchors tie it to the start or end. Not
 * supported (a compile error, never a different meaning): back-references,
 * look-around, lazy quantifiers, flags, named groups.
 * Pure: no I/O.
 */
#ifndef CW_CATALOG_BREGEX_H
#define CW_CATALOG_BREGEX_H

#include <stdbool.h>
#include <stddef.h>

#define CW_BREGEX_MAX_PATTERN 256
#define CW_BREGEX_MAX_PROG 2048
#define CW_BREGEX_MAX_SUBJECT 4096

typedef struct cw_bregex cw_bregex;

/* Compiles pattern (NUL-terminated). On error returns NULL and writes why
 * (at most cap bytes, e.g. "unbalanced ')' at offset 4"); out of memory is
 * reported the same way ("out of memory"). */
cw_bregex *cw_bregex_compile(const char *pattern, char *why, size_t cap);

/* Whether the pattern matches somewhere in s[0..n). */
bool cw_bregex_match(const cw_bregex *re, const char *s, size_t n);

void cw_bregex_free(cw_bregex *re);

#endif
