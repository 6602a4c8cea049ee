/*
 * search.c — derived data the store indexes: the flattened, lower-cased
 * (key, value) search rows of Backstage's search table (buildEntitySearch),
 * and the canonical JSON text an etag is computed from.
 */
#include "catalog/catalog.h"
#include "util/buf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEY 200
#define MAX_VALUE 200
#define MAX_DEPTH 256   /* deeper parts of a (hostile) entity are not indexed */

typedef struct {
    cw_search_rows *rows;
    cw_buf path;
    cw_err err;
} sctx;

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Appends one row; key/value are copied lower-cased into one allocation.
 * Rows whose key or value is too long are skipped, as Backstage does. */
static void add_row(sctx *c, const char *key, size_t klen, const char *key2, size_t k2len,
                    const char *val, size_t vlen, bool has_val)
{
    if (c->err)
        return;
    size_t total_klen = klen + (key2 ? 1 + k2len : 0);
    if (total_klen > MAX_KEY || (has_val && vlen > MAX_VALUE))
        return;
    cw_search_rows *rows = c->rows;
    if (rows->len == rows->cap) {
        size_t cap = rows->cap ? rows->cap * 2 : 32;
        cw_search_row *items = realloc(rows->items, cap * sizeof *items);
        if (!items) {
            c->err = CW_ERR_NOMEM;
            return;
        }
        rows->items = items;
        rows->cap = cap;
    }
    char *mem = malloc(total_klen + 1 + (has_val ? vlen + 1 : 0));
    if (!mem) {
        c->err = CW_ERR_NOMEM;
        return;
    }
    size_t o = 0;
    for (size_t i = 0; i < klen; i++)
        mem[o++] = lower(key[i]);
    if (key2) {
        mem[o++] = '.';
        for (size_t i = 0; i < k2len; i++)
            mem[o++] = lower(key2[i]);
    }
    mem[o++] = '\0';
    char *value = NULL;
    if (has_val) {
        value = mem + o;
        for (size_t i = 0; i < vlen; i++)
            mem[o++] = lower(val[i]);
        mem[o] = '\0';
    }
    rows->items[rows->len].key = mem;
    rows->items[rows->len].value = value;
    rows->len++;
}

/* Shortest %g form that reads back as the same double (close to JS String()). */
static void format_real(double x, char out[32])
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, 32, "%.*g", prec, x);
        if (strtod(out, NULL) == x)
            return;
    }
}

static bool is_skipped_path(const char *p)
{
    static const char *const skipped[] = {
        "relations", "status", "attachments", "metadata.name", "metadata.namespace",
        "metadata.uid", "metadata.etag", "metadata.generation",
    };
    for (size_t i = 0; i < sizeof skipped / sizeof skipped[0]; i++)
        if (strcmp(p, skipped[i]) == 0)
            return true;
    return false;
}

static void visit(sctx *c, const json_t *v, int depth)
{
    const char *path = cw_buf_cstr(&c->path);
    size_t plen = c->path.len;
    char num[32];
    if (c->err || depth > MAX_DEPTH || plen > MAX_KEY || is_skipped_path(path))
        return;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        const json_t *child;
        json_object_foreach((json_t *)v, key, child) {
            cw_err err = plen ? cw_buf_putc(&c->path, '.') : CW_OK;
            if (!err)
                err = cw_buf_puts(&c->path, key);
            if (err == CW_ERR_NOMEM) {
                c->err = err;
                return;
            }
            if (!err)
                visit(c, child, depth + 1);
            c->path.len = plen;
            c->path.data[plen] = '\0';
        }
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item) {
            visit(c, item, depth + 1);
            /* visit may have grown (moved) the path buffer: re-read it. */
            if (json_is_string(item))
                add_row(c, c->path.data, plen, json_string_value(item),
                        json_string_length(item), "true", 4, true);
        }
        break;
    }
    case JSON_STRING:
        add_row(c, path, plen, NULL, 0, json_string_value(v), json_string_length(v), true);
        break;
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        add_row(c, path, plen, NULL, 0, num, strlen(num), true);
        break;
    case JSON_REAL:
        format_real(json_real_value(v), num);
        add_row(c, path, plen, NULL, 0, num, strlen(num), true);
        break;
    case JSON_TRUE:
        add_row(c, path, plen, NULL, 0, "true", 4, true);
        break;
    case JSON_FALSE:
        add_row(c, path, plen, NULL, 0, "false", 5, true);
        break;
    case JSON_NULL:
        add_row(c, path, plen, NULL, 0, NULL, 0, false);
        break;
    }
}

static int cmp_row(const void *a, const void *b)
{
    const cw_search_row *x = a, *y = b;
    int k = strcmp(x->key, y->key);
    if (k)
        return k;
    if (!x->value || !y->value)
        return (x->value != NULL) - (y->value != NULL);
    return strcmp(x->value, y->value);
}

static void add_str(sctx *c, const char *key, const char *value)
{
    add_row(c, key, strlen(key), NULL, 0, value, strlen(value), true);
}

cw_err cw_entity_search_rows(const json_t *entity, const cw_relation_list *rels,
                             cw_search_rows *out)
{
    if (!json_is_object(entity))
        return CW_ERR_INVALID;
    sctx c = {out, {0}, CW_OK};
    cw_buf_init(&c.path, 4096);
    /* Make the root path "" rather than NULL data. */
    if (cw_buf_puts(&c.path, "") != CW_OK)
        return CW_ERR_NOMEM;
    visit(&c, entity, 0);
    const json_t *meta = json_object_get(entity, "metadata");
    const json_t *name = json_object_get(meta, "name");
    const json_t *ns = json_object_get(meta, "namespace");
    const json_t *uid = json_object_get(meta, "uid");
    if (json_is_string(name))
        add_str(&c, "metadata.name", json_string_value(name));
    add_str(&c, "metadata.namespace",
            json_is_string(ns) ? json_string_value(ns) : CW_DEFAULT_NAMESPACE);
    if (json_is_string(uid))
        add_str(&c, "metadata.uid", json_string_value(uid));
    for (size_t i = 0; rels && i < rels->len; i++) {
        const char *type = rels->items[i].type;
        add_row(&c, "relations", 9, type, strlen(type), rels->items[i].target_key,
                strlen(rels->items[i].target_key), true);
    }
    cw_buf_free(&c.path);
    if (c.err) {
        cw_search_rows_free(out);
        return c.err;
    }
    if (out->len > 1) {
        qsort(out->items, out->len, sizeof *out->items, cmp_row);
        size_t w = 1;
        for (size_t i = 1; i < out->len; i++) {
            if (cmp_row(&out->items[w - 1], &out->items[i]) == 0)
                free(out->items[i].key);
            else
                out->items[w++] = out->items[i];
        }
        out->len = w;
    }
    return CW_OK;
}

void cw_search_rows_free(cw_search_rows *rows)
{
    for (size_t i = 0; i < rows->len; i++)
        free(rows->items[i].key);
    free(rows->items);
    rows->items = NULL;
    rows->len = rows->cap = 0;
}

/* A shallow copy of obj without the listed keys (values shared, not copied). */
static json_t *copy_without(const json_t *obj, const char *const *drop, size_t ndrop)
{
    json_t *copy = json_object();
    const char *key;
    json_t *val;
    if (!copy)
        return NULL;
    json_object_foreach((json_t *)obj, key, val) {
        bool skip = false;
        for (size_t i = 0; i < ndrop && !skip; i++)
            skip = strcmp(key, drop[i]) == 0;
        if (!skip && json_object_set(copy, key, val) != 0) {
            json_decref(copy);
            return NULL;
        }
    }
    return copy;
}

char *cw_entity_canonical_json(const json_t *entity)
{
    static const char *const top_drop[] = {"relations", "status"};
    static const char *const meta_drop[] = {"uid", "etag", "generation"};
    char *text = NULL;
    json_t *meta = NULL;
    if (!json_is_object(entity))
        return NULL;
    json_t *top = copy_without(entity, top_drop, 2);
    if (!top)
        goto out;
    const json_t *m = json_object_get(entity, "metadata");
    if (json_is_object(m)) {
        meta = copy_without(m, meta_drop, 3);
        if (!meta || json_object_set(top, "metadata", meta) != 0)
            goto out;
    }
    text = json_dumps(top, JSON_COMPACT | JSON_SORT_KEYS);
out:
    json_decref(meta);
    json_decref(top);
    return text;
}
