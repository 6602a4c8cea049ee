/* output.c — table, JSON and YAML output of the commands that print data
 * (see output.h). */
#include "cli/output.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool cw_out_parse(const char *cmd, const char *value, cw_out_format *out)
{
    if (!value) {
        *out = isatty(STDOUT_FILENO) ? CW_OUT_TABLE : CW_OUT_JSON;
        return true;
    }
    if (!strcmp(value, "table"))
        *out = CW_OUT_TABLE;
    else if (!strcmp(value, "json"))
        *out = CW_OUT_JSON;
    else if (!strcmp(value, "yaml"))
        *out = CW_OUT_YAML;
    else {
        fprintf(stderr, "conway %s: -o: '%s' is not table, json or yaml\n", cmd, value);
        return false;
    }
    return true;
}

bool cw_out_colour(FILE *f)
{
    const char *no = getenv("NO_COLOR"), *term = getenv("TERM");
    return isatty(fileno(f)) && !(no && *no) && !(term && !strcmp(term, "dumb"));
}

const json_t *cw_out_at(const json_t *row, const char *path)
{
    const json_t *v = row;
    for (const char *p = path; v && *p;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        v = json_is_object(v) ? json_object_getn(v, p, n) : NULL;
        p += n + (dot ? 1 : 0);
    }
    return v;
}

static void put_text(cw_buf *b, const char *s)
{
    for (; *s; s++)
        cw_buf_putc(b, (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

void cw_out_cell(cw_buf *b, const json_t *v)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_STRING:
        if (json_string_length(v))
            put_text(b, json_string_value(v));
        else
            cw_buf_putc(b, '-');
        break;
    case JSON_INTEGER:
        cw_buf_printf(b, "%lld", (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        cw_buf_printf(b, "%.4g", json_real_value(v));
        break;
    case JSON_TRUE:
        cw_buf_puts(b, "yes");
        break;
    case JSON_FALSE:
        cw_buf_puts(b, "no");
        break;
    case JSON_ARRAY: {
        if (!json_array_size(v))
            cw_buf_putc(b, '-');
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e) {
            if (i)
                cw_buf_putc(b, ',');
            cw_out_cell(b, e);
        }
        break;
    }
    case JSON_OBJECT: {
        /* {level: "elite"} and the like: key=value pairs */
        const char *k;
        const json_t *e;
        bool first = true;
        json_object_foreach((json_t *)v, k, e) {
            cw_buf_printf(b, "%s%s=", first ? "" : " ", k);
            cw_out_cell(b, e);
            first = false;
        }
        if (first)
            cw_buf_putc(b, '-');
        break;
    }
    default:
        cw_buf_putc(b, '-');
    }
}

static void indent(cw_buf *b, int depth)
{
    for (int i = 0; i < depth; i++)
        cw_buf_puts(b, "  ");
}

static bool plain_key(const char *k)
{
    if (!*k || !(isalpha((unsigned char)*k) || *k == '_'))
        return false;
    for (; *k; k++)
        if (!isalnum((unsigned char)*k) && !strchr("_-./", *k))
            return false;
    return true;
}

static void yaml_scalar(cw_buf *b, const json_t *v)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    if (s)
        cw_buf_puts(b, s);
    else
        b->err = b->err ? b->err : CW_ERR_NOMEM;
    free(s);
}

static bool is_empty_collection(const json_t *v)
{
    return (json_is_object(v) && !json_object_size(v)) || (json_is_array(v) && !json_array_size(v));
}

/* Writes v, which follows "key:" or "- " at depth, and ends the line. */
static void yaml_value(cw_buf *b, const json_t *v, int depth, bool after_dash);

static void yaml_object(cw_buf *b, const json_t *v, int depth, bool first_inline)
{
    const char **keys = malloc(json_object_size(v) * sizeof *keys + 1);
    if (!keys) {
        b->err = b->err ? b->err : CW_ERR_NOMEM;
        return;
    }
    size_t n = 0;
    const char *k;
    json_t *e;
    json_object_foreach((json_t *)v, k, e) keys[n++] = k;
    /* sorted, so that the same document always prints the same */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        if (i || !first_inline)
            indent(b, depth);
        if (plain_key(keys[i]))
            cw_buf_puts(b, keys[i]);
        else
            cw_buf_json_str(b, keys[i]);
        cw_buf_putc(b, ':');
        yaml_value(b, json_object_get(v, keys[i]), depth + 1, false);
    }
    free(keys);
}

static void yaml_value(cw_buf *b, const json_t *v, int depth, bool after_dash)
{
    if (json_is_object(v) && json_object_size(v)) {
        if (after_dash) {
            yaml_object(b, v, depth, true);
        } else {
            cw_buf_putc(b, '\n');
            yaml_object(b, v, depth, false);
        }
        return;
    }
    if (json_is_array(v) && json_array_size(v)) {
        cw_buf_putc(b, '\n');
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e) {
            indent(b, depth - (after_dash ? 0 : 1));
            cw_buf_puts(b, json_is_array(e) && json_array_size(e) ? "-" : "- ");
            if (json_is_object(e) && json_object_size(e))
                yaml_object(b, e, depth - (after_dash ? 0 : 1) + 1, true);
            else if (json_is_array(e) && json_array_size(e))
                yaml_value(b, e, depth - (after_dash ? 0 : 1) + 1, true);
            else {
                yaml_scalar(b, e);
                cw_buf_putc(b, '\n');
            }
        }
        return;
    }
    cw_buf_putc(b, ' ');
    if (is_empty_collection(v))
        cw_buf_puts(b, json_is_object(v) ? "{}" : "[]");
    else
        yaml_scalar(b, v);
    cw_buf_putc(b, '\n');
}

void cw_out_yaml(cw_buf *b, const json_t *doc)
{
    if (json_is_object(doc) && json_object_size(doc)) {
        yaml_object(b, doc, 0, false);
    } else if (json_is_array(doc) && json_array_size(doc)) {
        size_t i;
        const json_t *e;
        json_array_foreach(doc, i, e) {
            cw_buf_puts(b, json_is_array(e) && json_array_size(e) ? "-" : "- ");
            if (json_is_object(e) && json_object_size(e))
                yaml_object(b, e, 1, true);
            else if (json_is_array(e) && json_array_size(e))
                yaml_value(b, e, 1, true);
            else {
                yaml_scalar(b, e);
                cw_buf_putc(b, '\n');
            }
        }
    } else {
        if (is_empty_collection(doc))
            cw_buf_puts(b, json_is_object(doc) ? "{}" : "[]");
        else
            yaml_scalar(b, doc);
        cw_buf_putc(b, '\n');
    }
}

static int table(FILE *f, const json_t *rows, const cw_out_column *cols)
{
    size_t ncols = 0;
    while (cols[ncols].header)
        ncols++;
    size_t nrows = json_array_size(rows);
    /* every cell's text, row by row; widths from the longest */
    cw_buf text;
    cw_buf_init(&text, 0);
    size_t *offs = calloc((nrows + 1) * ncols + 1, sizeof *offs);
    size_t *width = calloc(ncols + 1, sizeof *width);
    int rc = 1;
    if (!offs || !width)
        goto out;
    for (size_t c = 0; c < ncols; c++) {
        offs[c] = text.len;
        cw_buf_puts(&text, cols[c].header);
        cw_buf_putc(&text, '\0');
    }
    for (size_t r = 0; r < nrows; r++)
        for (size_t c = 0; c < ncols; c++) {
            offs[(r + 1) * ncols + c] = text.len;
            cw_out_cell(&text, cw_out_at(json_array_get(rows, r), cols[c].path));
            cw_buf_putc(&text, '\0');
        }
    if (cw_buf_error(&text))
        goto out;
    for (size_t i = 0; i < (nrows + 1) * ncols; i++) {
        size_t w = 0;
        for (const unsigned char *p = (const unsigned char *)text.data + offs[i]; *p; p++)
            w += (*p & 0xC0) != 0x80; /* characters, not bytes */
        if (w > width[i % ncols])
            width[i % ncols] = w;
    }
    bool colour = cw_out_colour(f);
    for (size_t r = 0; r <= nrows; r++) {
        if (r == 0 && colour)
            fputs("\033[1m", f);
        for (size_t c = 0; c < ncols; c++) {
            const char *cell = text.data + offs[r * ncols + c];
            fputs(cell, f);
            if (c + 1 == ncols)
                break;
            size_t w = 0;
            for (const unsigned char *p = (const unsigned char *)cell; *p; p++)
                w += (*p & 0xC0) != 0x80;
            fprintf(f, "%*s", (int)(width[c] - w + 2), "");
        }
        if (r == 0 && colour)
            fputs("\033[0m", f);
        fputc('\n', f);
    }
    rc = 0;
out:
    if (rc)
        fputs("conway: out of memory\n", stderr);
    free(offs);
    free(width);
    cw_buf_free(&text);
    return rc;
}

int cw_out_print(FILE *f, cw_out_format fmt, const json_t *doc, const json_t *rows,
                 const cw_out_column *cols)
{
    if (fmt == CW_OUT_TABLE)
        return table(f, rows, cols);
    if (fmt == CW_OUT_JSON) {
        char *s = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY |
                                      JSON_REAL_PRECISION(15));
        if (!s) {
            fputs("conway: out of memory\n", stderr);
            return 1;
        }
        fputs(s, f);
        fputc('\n', f);
        free(s);
        return 0;
    }
    cw_buf b;
    cw_buf_init(&b, 0);
    cw_out_yaml(&b, doc);
    int rc = 0;
    if (cw_buf_error(&b)) {
        fputs("conway: out of memory\n", stderr);
        rc = 1;
    } else if (b.len) {
        fwrite(b.data, 1, b.len, f);
    }
    cw_buf_free(&b);
    return rc;
}
