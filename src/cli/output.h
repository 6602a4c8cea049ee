/*
 * output.h — how the commands that print data print it: -o table (aligned
 * columns under a header, the default on a terminal), -o json (the API's
 * document, keys sorted and indented: stable for scripts, the default when
 * standard output is not a terminal) or -o yaml. Colour only on a terminal,
 * and never when NO_COLOR is set.
 */
#ifndef CW_OUTPUT_H
#define CW_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "util/buf.h"

typedef enum { CW_OUT_TABLE, CW_OUT_JSON, CW_OUT_YAML } cw_out_format;

/* The format named by -o (NULL: table on a terminal, else json). false
 * after printing why to stderr. */
bool cw_out_parse(const char *cmd, const char *value, cw_out_format *out);

/* Whether to colour what goes to f: a terminal, NO_COLOR unset or empty,
 * TERM not "dumb". */
bool cw_out_colour(FILE *f);

/* A column: its header and the dotted path of its value in a row
 * ("spec.owner", "metadata.name"; "" the row itself). */
typedef struct {
    const char *header;
    const char *path;
} cw_out_column;

/* The value at a dotted path (NULL when absent). */
const json_t *cw_out_at(const json_t *row, const char *path);

/* Appends the text of one table cell: strings with control characters
 * replaced, numbers in at most 4 significant digits, arrays comma-joined,
 * null and absent as "-". */
void cw_out_cell(cw_buf *b, const json_t *v);

/* Appends doc as YAML (block style; strings double-quoted as in JSON,
 * which YAML reads as the same strings). */
void cw_out_yaml(cw_buf *b, const json_t *doc);

/* Prints doc in fmt: json and yaml print doc whole; table prints one line
 * per element of rows (an array inside doc) with cols, under a header.
 * Returns 0, or 1 after printing why (out of memory). */
int cw_out_print(FILE *f, cw_out_format fmt, const json_t *doc, const json_t *rows,
                 const cw_out_column *cols);

#endif
