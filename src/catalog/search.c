/*
 * search.c — derived data the store indexes: the flattened, lower-cased
 * (key, value) search rows of Backstage's search table (buildEntitySearch),
 * and the canonical JSON text an etag is computed from.
 */
#include "catalog/catalog.h"
#include "util/buf.h"
#include "util/utf8.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
                    const char *val, size_t vlen, bool has_val, const char *orig)
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
    rows->items[rows->len].original = orig;
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
            cw_buf_truncate(&c->path, plen);
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
                        json_string_length(item), "true", 4, true, NULL);
        }
        break;
    }
    case JSON_STRING:
        add_row(c, path, plen, NULL, 0, json_string_value(v), json_string_length(v), true,
                json_string_value(v));
        break;
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        add_row(c, path, plen, NULL, 0, num, strlen(num), true, NULL);
        break;
    case JSON_REAL:
        format_real(json_real_value(v), num);
        add_row(c, path, plen, NULL, 0, num, strlen(num), true, NULL);
        break;
    case JSON_TRUE:
        add_row(c, path, plen, NULL, 0, "true", 4, true, NULL);
        break;
    case JSON_FALSE:
        add_row(c, path, plen, NULL, 0, "false", 5, true, NULL);
        break;
    case JSON_NULL:
        add_row(c, path, plen, NULL, 0, NULL, 0, false, NULL);
        break;
    }
}

static int cmp_row(const cw_search_row *x, const cw_search_row *y)
{
    int k = strcmp(x->key, y->key);
    if (k)
        return k;
    if (!x->value || !y->value)
        return (x->value != NULL) - (y->value != NULL);
    return strcmp(x->value, y->value);
}

/* Sorts by (key, value) keeping document order among equal rows (a bottom-up
 * merge sort): the first of equal rows decides the original text. */
static cw_err sort_rows(cw_search_row *rows, size_t n)
{
    bool sorted = true;
    for (size_t i = 1; i < n && sorted; i++)
        sorted = cmp_row(&rows[i - 1], &rows[i]) <= 0;
    if (sorted)
        return CW_OK;
    cw_search_row *tmp = malloc(n * sizeof *tmp);
    if (!tmp)
        return CW_ERR_NOMEM;
    cw_search_row *from = rows, *to = tmp;
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi)
                to[o++] = cmp_row(&from[j], &from[i]) < 0 ? from[j++] : from[i++];
            while (i < mid)
                to[o++] = from[i++];
            while (j < hi)
                to[o++] = from[j++];
        }
        cw_search_row *t = from;
        from = to;
        to = t;
    }
    if (from != rows)
        memcpy(rows, from, n * sizeof *rows);
    free(tmp);
    return CW_OK;
}

static void add_str(sctx *c, const char *key, const char *value)
{
    add_row(c, key, strlen(key), NULL, 0, value, strlen(value), true, NULL);
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
                strlen(rels->items[i].target_key), true, rels->items[i].target_ref);
    }
    cw_buf_free(&c.path);
    if (!c.err && out->len > 1)
        c.err = sort_rows(out->items, out->len);
    if (c.err) {
        cw_search_rows_free(out);
        return c.err;
    }
    if (out->len > 1) {
        /* of equal rows the first is kept, with the first text that was a
         * string (or a relation's ref) as its original */
        size_t w = 1;
        for (size_t i = 1; i < out->len; i++) {
            cw_search_row *kept = &out->items[w - 1];
            if (cmp_row(kept, &out->items[i]) == 0) {
                if (!kept->original)
                    kept->original = out->items[i].original;
                free(out->items[i].key);
            } else {
                out->items[w++] = out->items[i];
            }
        }
        out->len = w;
    }
    for (size_t i = 0; i < out->len; i++) {
        cw_search_row *r = &out->items[i];
        /* rows added by rule (metadata.name...) come after the walk but
         * their originals are the first match in document order: those
         * few are looked up the general way */
        if (is_skipped_path(r->key))
            r->original = cw_search_original(entity, rels, r->key, r->value);
        else if (r->original && (!r->value || !strcmp(r->original, r->value)))
            r->original = NULL;
    }
    return CW_OK;
}

/* ---- original-case values ------------------------------------------------------ */

/* The first string at dotted path under node whose lower case is value.
 * Object member names may themselves contain dots (annotation keys), so
 * every member that is a prefix of the path is tried. */
static const char *find_original(const json_t *node, const char *path, const char *value)
{
    if (json_is_array(node)) {
        size_t i;
        const json_t *el;
        json_array_foreach(node, i, el) {
            const char *r = find_original(el, path, value);
            if (r)
                return r;
        }
        return NULL;
    }
    if (!*path) {
        if (json_is_string(node) && strcasecmp(json_string_value(node), value) == 0)
            return json_string_value(node);
        return NULL;
    }
    if (!json_is_object(node))
        return NULL;
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)node, k, v) {
        size_t kl = strlen(k);
        if (strncasecmp(path, k, kl) != 0 || (path[kl] != '.' && path[kl] != '\0'))
            continue;
        const char *r = find_original(v, path[kl] ? path + kl + 1 : path + kl, value);
        if (r)
            return r;
    }
    return NULL;
}

const char *cw_search_original(const json_t *entity, const cw_relation_list *rels,
                               const char *key, const char *value)
{
    if (!value)
        return NULL;
    const char *r = NULL;
    if (!strncmp(key, "relations.", 10)) {
        for (size_t i = 0; rels && i < rels->len && !r; i++)
            if (strcasecmp(rels->items[i].type, key + 10) == 0 &&
                !strcmp(rels->items[i].target_key, value))
                r = rels->items[i].target_ref;
    } else {
        r = find_original(entity, key, value);
    }
    return r && strcmp(r, value) != 0 ? r : NULL;
}

void cw_search_rows_free(cw_search_rows *rows)
{
    for (size_t i = 0; i < rows->len; i++)
        free(rows->items[i].key);
    free(rows->items);
    rows->items = NULL;
    rows->len = rows->cap = 0;
}

/* ---- canonical JSON ------------------------------------------------------------ *
 * Byte for byte what json_dumps(JSON_COMPACT | JSON_SORT_KEYS) gives for the
 * entity with the dropped members removed (stored etags depend on it), but
 * written straight into one buffer: no shallow copies of the objects and no
 * per-value callbacks. Reals, rare in entities, are still formatted by
 * jansson itself. A string that is not valid UTF-8 fails, as in jansson.
 */

static inline cw_err put_char(cw_buf *b, char c) { return cw_buf_add(b, &c, 1); }

static cw_err canon_string(cw_buf *out, const char *str, size_t n)
{
    if (!cw_utf8_valid(str, n))
        return CW_ERR_INVALID;
    return cw_buf_json_strn(out, str, n);
}

typedef struct {
    const char *key;
    size_t len;
    const json_t *value;
} canon_member;

/* jansson's key order: bytes compared as unsigned, a prefix first. */
static int canon_member_cmp(const canon_member *a, const canon_member *b)
{
    int c = memcmp(a->key, b->key, a->len < b->len ? a->len : b->len);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

#define CANON_MAX_DEPTH 2048
#define CANON_STACK_MEMBERS 32

static cw_err canon_value(cw_buf *out, const json_t *v, const char *const *drop, size_t ndrop,
                          int depth);

/* An object's members in key order, without the ones named in drop; the
 * "metadata" object of the top level (top) loses its own server fields. */
static cw_err canon_object(cw_buf *out, const json_t *obj, const char *const *drop,
                           size_t ndrop, bool top, int depth)
{
    static const char *const meta_drop[] = {"uid", "etag", "generation"};
    canon_member stack[CANON_STACK_MEMBERS], *m = stack;
    size_t size = json_object_size(obj), n = 0;
    if (size > CANON_STACK_MEMBERS && !(m = malloc(size * sizeof *m)))
        return CW_ERR_NOMEM;
    for (void *it = json_object_iter((json_t *)obj); it && n < size;
         it = json_object_iter_next((json_t *)obj, it)) {
        const char *key = json_object_iter_key(it);
        bool skip = false;
        for (size_t i = 0; i < ndrop && !skip; i++)
            skip = strcmp(key, drop[i]) == 0;
        if (skip)
            continue;
        canon_member e = {key, json_object_iter_key_len(it), json_object_iter_value(it)};
        /* insertion sort: objects are small, and often nearly sorted */
        size_t j = n++;
        while (j > 0 && canon_member_cmp(&m[j - 1], &e) > 0) {
            m[j] = m[j - 1];
            j--;
        }
        m[j] = e;
    }
    cw_err err = put_char(out, '{');
    for (size_t i = 0; i < n && !err; i++) {
        if (i)
            err = put_char(out, ',');
        if (!err)
            err = canon_string(out, m[i].key, m[i].len);
        if (!err)
            err = put_char(out, ':');
        bool meta = top && json_is_object(m[i].value) && m[i].len == 8 &&
                    !memcmp(m[i].key, "metadata", 8);
        if (!err)
            err = canon_value(out, m[i].value, meta ? meta_drop : NULL, meta ? 3 : 0,
                              depth + 1);
    }
    if (m != stack)
        free(m);
    return err ? err : put_char(out, '}');
}

static cw_err canon_value(cw_buf *out, const json_t *v, const char *const *drop, size_t ndrop,
                          int depth)
{
    if (depth > CANON_MAX_DEPTH)
        return CW_ERR_TOO_LARGE;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return canon_object(out, v, drop, ndrop, false, depth);
    case JSON_ARRAY: {
        cw_err err = put_char(out, '[');
        for (size_t i = 0; i < json_array_size(v) && !err; i++) {
            if (i)
                err = put_char(out, ',');
            if (!err)
                err = canon_value(out, json_array_get(v, i), NULL, 0, depth + 1);
        }
        return err ? err : put_char(out, ']');
    }
    case JSON_STRING:
        return canon_string(out, json_string_value(v), json_string_length(v));
    case JSON_INTEGER: {
        char num[32];
        int n = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return cw_buf_add(out, num, (size_t)n);
    }
    case JSON_REAL: {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!text)
            return CW_ERR_NOMEM;
        cw_err err = cw_buf_puts(out, text);
        free(text);
        return err;
    }
    case JSON_TRUE: return cw_buf_add(out, "true", 4);
    case JSON_FALSE: return cw_buf_add(out, "false", 5);
    case JSON_NULL: return cw_buf_add(out, "null", 4);
    }
    return CW_ERR_INTERNAL;
}

cw_err cw_entity_canonical_json_into(const json_t *entity, cw_buf *out)
{
    static const char *const top_drop[] = {"relations", "status"};
    if (!json_is_object(entity))
        return CW_ERR_INVALID;
    size_t len = out->len;
    cw_err err = canon_object(out, entity, top_drop, 2, true, 0);
    if (err) {
        cw_buf_truncate(out, len);
    }
    return err;
}

char *cw_entity_canonical_json(const json_t *entity)
{
    cw_buf out;
    cw_buf_init(&out, 0);
    if (cw_entity_canonical_json_into(entity, &out) != CW_OK) {
        cw_buf_free(&out);
        return NULL;
    }
    return cw_buf_steal(&out, NULL);
}
