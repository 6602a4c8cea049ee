/*
 * parse.c — catalog file input: YAML streams (libyaml's event parser) and
 * JSON text (jansson) turned into one JSON array of documents. Limits on
 * depth, nodes (after alias expansion) and documents are enforced while
 * converting, so hostile input (deep nesting, "billion laughs" alias bombs)
 * fails fast with bounded memory: an alias shares the anchored jansson node
 * instead of copying it, and only its counted size is charged.
 */
#include "catalog/catalog.h"
#include "util/buf.h"

#include <yaml.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cw_parse_limits_default(cw_parse_limits *l)
{
    l->max_depth = 64;
    l->max_nodes = 100000;
    l->max_documents = 100000;
}

/* ---- YAML 1.2 core schema scalar resolution ------------------------------- */

static bool all_digits(const char *s, size_t n, int base)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= '0' && c <= '9' && c - '0' < base) ||
                  (base == 16 && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
        if (!ok)
            return false;
    }
    return true;
}

static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return c - 'A' + 10;
}

/* An integer in base 8/10/16 with optional sign; JSON integer when it fits
 * in 64 bits, a JSON real otherwise (what a JavaScript reader would get). */
static json_t *make_int(const char *s, size_t n, int base, bool neg)
{
    uint64_t v = 0;
    double dv = 0;
    bool overflow = false;
    for (size_t i = 0; i < n; i++) {
        int dig = digit_value(s[i]);
        dv = dv * base + dig;
        if (v > (UINT64_MAX - (uint64_t)dig) / (uint64_t)base)
            overflow = true;
        else
            v = v * (uint64_t)base + (uint64_t)dig;
    }
    if (!overflow && !neg && v <= (uint64_t)INT64_MAX)
        return json_integer((json_int_t)v);
    if (!overflow && neg && v <= (uint64_t)INT64_MAX + 1)
        return json_integer(v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(json_int_t)v);
    return json_real(neg ? -dv : dv);
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool is_core_float(const char *s, size_t n)
{
    size_t i = 0, digits = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        i++;
        digits++;
    }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
            digits++;
        }
    }
    if (digits == 0)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        size_t exp = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
            exp++;
        }
        if (exp == 0)
            return false;
    }
    return i == n;
}

static bool eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static bool is_core_null(const char *s, size_t n)
{
    return n == 0 || eq(s, n, "~") || eq(s, n, "null") || eq(s, n, "Null") ||
           eq(s, n, "NULL");
}

static int core_bool(const char *s, size_t n)
{
    if (eq(s, n, "true") || eq(s, n, "True") || eq(s, n, "TRUE"))
        return 1;
    if (eq(s, n, "false") || eq(s, n, "False") || eq(s, n, "FALSE"))
        return 0;
    return -1;
}

/* Integer forms of the core schema; NULL result with *matched false when
 * the text is not one. */
static json_t *core_int(const char *s, size_t n, bool *matched)
{
    *matched = true;
    if (n > 2 && s[0] == '0' && s[1] == 'o' && all_digits(s + 2, n - 2, 8))
        return make_int(s + 2, n - 2, 8, false);
    if (n > 2 && s[0] == '0' && s[1] == 'x' && all_digits(s + 2, n - 2, 16))
        return make_int(s + 2, n - 2, 16, false);
    size_t sign = (n > 0 && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    if (all_digits(s + sign, n - sign, 10))
        return make_int(s + sign, n - sign, 10, sign && s[0] == '-');
    *matched = false;
    return NULL;
}

static json_t *core_float(const char *s, size_t n, bool *matched)
{
    char tmp[128];
    *matched = false;
    if (!is_core_float(s, n) || n >= sizeof tmp)
        return NULL;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    double v = strtod(tmp, NULL);
    if (!isfinite(v))
        return NULL; /* 1e999: no JSON number for it, keep the text */
    *matched = true;
    return json_real(v);
}

/* A string from scalar text. Text that is a piece of the input (plain,
 * single-quoted, block scalars) was UTF-8-checked up front; only escapes of
 * double-quoted scalars can make something new. */
static json_t *make_str(const char *s, size_t n, bool trusted)
{
    return trusted ? json_stringn_nocheck(s, n) : json_stringn(s, n);
}

/* A plain (unquoted, untagged) scalar resolved by the core schema. */
static json_t *resolve_plain(const char *s, size_t n)
{
    bool matched;
    json_t *v;
    if (is_core_null(s, n))
        return json_null();
    int b = core_bool(s, n);
    if (b >= 0)
        return json_boolean(b);
    v = core_int(s, n, &matched);
    if (matched)
        return v;
    v = core_float(s, n, &matched);
    if (matched)
        return v;
    return make_str(s, n, true);
}

/* ---- anchors: open-addressing hash map, name -> completed node ------------ */

typedef struct {
    char *name;      /* NULL = empty slot */
    size_t len;
    json_t *value;   /* own reference */
    size_t nodes;    /* subtree size, counting aliases expanded inside it */
    size_t height;   /* collection nesting below and including this node */
} anchor_ent;

typedef struct {
    anchor_ent *slots;
    size_t cap, used;
} anchor_map;

static uint64_t hash_name(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static void anchors_clear(anchor_map *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        free(m->slots[i].name);
        json_decref(m->slots[i].value);
    }
    free(m->slots);
    m->slots = NULL;
    m->cap = m->used = 0;
}

static anchor_ent *anchors_find(const anchor_map *m, const char *name, size_t len)
{
    if (!m->cap)
        return NULL;
    for (size_t i = hash_name(name, len) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        anchor_ent *e = &m->slots[i];
        if (!e->name)
            return NULL;
        if (e->len == len && memcmp(e->name, name, len) == 0)
            return e;
    }
}

static cw_err anchors_grow(anchor_map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    anchor_ent *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return CW_ERR_NOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        anchor_ent *e = &m->slots[i];
        if (!e->name)
            continue;
        size_t j = hash_name(e->name, e->len) & (cap - 1);
        while (slots[j].name)
            j = (j + 1) & (cap - 1);
        slots[j] = *e;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return CW_OK;
}

/* Defines (or redefines, as YAML allows) an anchor. Takes a new reference. */
static cw_err anchors_put(anchor_map *m, const char *name, size_t len, json_t *value,
                          size_t nodes, size_t height)
{
    anchor_ent *e = anchors_find(m, name, len);
    if (e) {
        json_decref(e->value);
    } else {
        if ((m->used + 1) * 2 > m->cap && anchors_grow(m) != CW_OK)
            return CW_ERR_NOMEM;
        size_t j = hash_name(name, len) & (m->cap - 1);
        while (m->slots[j].name)
            j = (j + 1) & (m->cap - 1);
        e = &m->slots[j];
        e->name = malloc(len + 1);
        if (!e->name)
            return CW_ERR_NOMEM;
        memcpy(e->name, name, len);
        e->name[len] = '\0';
        e->len = len;
        m->used++;
    }
    e->value = json_incref(value);
    e->nodes = nodes;
    e->height = height;
    return CW_OK;
}

/* ---- YAML event stream -> JSON ---------------------------------------------- */

typedef struct {
    json_t *node;        /* the object or array being filled (owned) */
    bool is_map;
    size_t key_off;      /* pending mapping key: offset into yctx.keys */
    size_t key_len;
    bool key_trusted;    /* the key is known to be valid UTF-8 */
    bool have_key;
    bool key_is_merge;   /* the pending key is a plain "<<" */
    json_t *merges;      /* array of merge sources (owned), or NULL */
    char *anchor;        /* anchor to define when complete (owned), or NULL */
    size_t anchor_len;
    size_t start_nodes;  /* document node count before this node */
    size_t height;       /* max height of children */
} frame;

typedef struct {
    const cw_parse_limits *lim;
    cw_diag *d;
    frame *stack;
    size_t depth, stack_cap;
    anchor_map anchors;
    size_t doc_index;    /* 1-based index of the current document */
    size_t doc_nodes;
    size_t alias_nodes;  /* over the whole stream */
    size_t alias_budget;
    json_t *root;        /* current document's root (owned) */
    json_t *docs;
    cw_buf keys;         /* pending keys of open mappings, as a stack */
} yctx;

static void frame_free(frame *f)
{
    json_decref(f->node);
    json_decref(f->merges);
    free(f->anchor);
    memset(f, 0, sizeof *f);
}

static cw_err fail_at(yctx *c, cw_err err, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static cw_err fail_at(yctx *c, cw_err err, const yaml_mark_t *m, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (m)
        return cw_fail(c->d, err, "document %zu: line %zu, column %zu: %s", c->doc_index,
                       m->line + 1, m->column + 1, what);
    return cw_fail(c->d, err, "document %zu: %s", c->doc_index, what);
}

static cw_err charge_nodes(yctx *c, size_t n, const yaml_mark_t *m)
{
    if (n > c->lim->max_nodes || c->doc_nodes > c->lim->max_nodes - n)
        return fail_at(c, CW_ERR_TOO_LARGE, m,
                       "more than %zu nodes (after alias expansion) in one document",
                       c->lim->max_nodes);
    c->doc_nodes += n;
    return CW_OK;
}

static char *dup_text(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* Hands a finished node (one reference, stolen) to its parent or makes it
 * the document root. */
static cw_err deliver(yctx *c, json_t *v, size_t height, const yaml_mark_t *m)
{
    cw_err err = CW_OK;
    if (c->depth == 0) {
        json_decref(c->root);
        c->root = v;
        return CW_OK;
    }
    frame *f = &c->stack[c->depth - 1];
    if (height > f->height)
        f->height = height;
    if (!f->is_map) {
        if (json_array_append_new(f->node, v) != 0)
            err = fail_at(c, CW_ERR_NOMEM, m, "out of memory");
        return err;
    }
    if (f->key_is_merge) {
        if (!f->merges && !(f->merges = json_array())) {
            json_decref(v);
            return fail_at(c, CW_ERR_NOMEM, m, "out of memory");
        }
        if (json_array_append_new(f->merges, v) != 0)
            err = fail_at(c, CW_ERR_NOMEM, m, "out of memory");
    } else {
        /* One hash operation: a duplicate replaces instead of growing. */
        const char *key = c->keys.data + f->key_off;
        size_t before = json_object_size(f->node);
        int rc = f->key_trusted ? json_object_setn_new_nocheck(f->node, key, f->key_len, v)
                                : json_object_setn_new(f->node, key, f->key_len, v);
        if (rc != 0) {
            err = fail_at(c, CW_ERR_INVALID, m, "mapping key is not valid UTF-8");
        } else if (json_object_size(f->node) == before) {
            char shown[72];
            size_t n = f->key_len < 64 ? f->key_len : 64;
            memcpy(shown, key, n);
            shown[n] = '\0';
            err = fail_at(c, CW_ERR_INVALID, m, "duplicate mapping key \"%s\"", shown);
        }
        cw_buf_truncate(&c->keys, f->key_off);
    }
    f->have_key = false;
    f->key_is_merge = false;
    return err;
}

static bool tag_is(const yaml_char_t *tag, const char *full)
{
    return tag && strcmp((const char *)tag, full) == 0;
}

static json_t *scalar_value(yctx *c, const yaml_event_t *ev, const char *s, size_t n,
                            cw_err *err)
{
    const yaml_mark_t *m = &ev->start_mark;
    const yaml_char_t *tag = ev->data.scalar.tag;
    yaml_scalar_style_t style = ev->data.scalar.style;
    bool plain = style == YAML_PLAIN_SCALAR_STYLE;
    bool trusted = style != YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    json_t *v = NULL;
    bool matched = true;
    *err = CW_OK;
    if (tag_is(tag, "tag:yaml.org,2002:str") || tag_is(tag, "!")) {
        v = make_str(s, n, trusted);
    } else if (tag_is(tag, "tag:yaml.org,2002:null")) {
        if (!is_core_null(s, n))
            matched = false;
        else
            v = json_null();
    } else if (tag_is(tag, "tag:yaml.org,2002:bool")) {
        int b = core_bool(s, n);
        matched = b >= 0;
        v = matched ? json_boolean(b) : NULL;
    } else if (tag_is(tag, "tag:yaml.org,2002:int")) {
        v = core_int(s, n, &matched);
    } else if (tag_is(tag, "tag:yaml.org,2002:float")) {
        v = core_float(s, n, &matched);
    } else if (plain) {
        v = resolve_plain(s, n);
    } else {
        v = make_str(s, n, trusted);
    }
    if (!matched)
        *err = fail_at(c, CW_ERR_INVALID, m, "value does not match its tag %.64s",
                       (const char *)tag);
    else if (!v)
        *err = fail_at(c, CW_ERR_INVALID, m, "scalar is not valid UTF-8");
    return v;
}

static cw_err on_scalar(yctx *c, const yaml_event_t *ev)
{
    const yaml_mark_t *m = &ev->start_mark;
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    const char *anchor = (const char *)ev->data.scalar.anchor;
    if (!s)
        s = "", n = 0;
    /* Double-quoted "\0" escapes can produce NUL even in checked text. */
    if (memchr(s, '\0', n))
        return fail_at(c, CW_ERR_INVALID, m, "NUL characters are not allowed");
    cw_err err = charge_nodes(c, 1, m);
    if (err)
        return err;
    json_t *v = NULL;
    frame *top = c->depth ? &c->stack[c->depth - 1] : NULL;
    bool as_key = top && top->is_map && !top->have_key;
    if (as_key) {
        top->key_off = c->keys.len;
        if (cw_buf_append(&c->keys, s, n) != CW_OK)
            return fail_at(c, CW_ERR_NOMEM, m, "out of memory");
        top->key_len = n;
        top->key_trusted = ev->data.scalar.style != YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        top->have_key = true;
        top->key_is_merge = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                            !ev->data.scalar.tag && eq(s, n, "<<");
        if (!anchor)
            return CW_OK;
        if (!(v = make_str(s, n, top->key_trusted)))
            return fail_at(c, CW_ERR_INVALID, m, "mapping key is not valid UTF-8");
    } else {
        v = scalar_value(c, ev, s, n, &err);
        if (err)
            return err;
    }
    if (anchor && anchors_put(&c->anchors, anchor, strlen(anchor), v, 1, 0) != CW_OK) {
        json_decref(v);
        return fail_at(c, CW_ERR_NOMEM, m, "out of memory");
    }
    if (as_key) {
        json_decref(v);
        return CW_OK;
    }
    return deliver(c, v, 0, m);
}

static cw_err on_collection_start(yctx *c, const yaml_event_t *ev, bool is_map)
{
    const yaml_mark_t *m = &ev->start_mark;
    const char *anchor = (const char *)(is_map ? ev->data.mapping_start.anchor
                                               : ev->data.sequence_start.anchor);
    frame *top = c->depth ? &c->stack[c->depth - 1] : NULL;
    if (top && top->is_map && !top->have_key)
        return fail_at(c, CW_ERR_INVALID, m, "mapping keys must be scalars");
    if (c->depth + 1 > c->lim->max_depth)
        return fail_at(c, CW_ERR_TOO_LARGE, m, "nesting deeper than %zu levels",
                       c->lim->max_depth);
    cw_err err = charge_nodes(c, 1, m);
    if (err)
        return err;
    if (c->depth == c->stack_cap) {
        size_t cap = c->stack_cap ? c->stack_cap * 2 : 16;
        frame *st = realloc(c->stack, cap * sizeof *st);
        if (!st)
            return fail_at(c, CW_ERR_NOMEM, m, "out of memory");
        c->stack = st;
        c->stack_cap = cap;
    }
    frame *f = &c->stack[c->depth];
    memset(f, 0, sizeof *f);
    f->is_map = is_map;
    f->start_nodes = c->doc_nodes - 1;
    f->node = is_map ? json_object() : json_array();
    if (!f->node)
        return fail_at(c, CW_ERR_NOMEM, m, "out of memory");
    c->depth++;
    if (anchor) {
        f->anchor_len = strlen(anchor);
        if (!(f->anchor = dup_text(anchor, f->anchor_len)))
            return fail_at(c, CW_ERR_NOMEM, m, "out of memory");
    }
    return CW_OK;
}

/* Applies "<<" merge keys: explicit keys win, then earlier sources. */
static cw_err apply_merges(yctx *c, frame *f, const yaml_mark_t *m)
{
    size_t i, j;
    json_t *src, *item;
    json_array_foreach(f->merges, i, src) {
        if (json_is_object(src)) {
            if (json_object_update_missing(f->node, src) != 0)
                return fail_at(c, CW_ERR_NOMEM, m, "out of memory");
            continue;
        }
        if (!json_is_array(src))
            return fail_at(c, CW_ERR_INVALID, m,
                           "a merge key (<<) needs a mapping or a list of mappings");
        json_array_foreach(src, j, item) {
            if (!json_is_object(item))
                return fail_at(c, CW_ERR_INVALID, m,
                               "a merge key (<<) needs a mapping or a list of mappings");
            if (json_object_update_missing(f->node, item) != 0)
                return fail_at(c, CW_ERR_NOMEM, m, "out of memory");
        }
    }
    return CW_OK;
}

static cw_err on_collection_end(yctx *c, const yaml_event_t *ev)
{
    const yaml_mark_t *m = &ev->start_mark;
    frame *f = &c->stack[c->depth - 1];
    cw_err err = CW_OK;
    if (f->merges && (err = apply_merges(c, f, m)) != CW_OK)
        return err;
    size_t height = f->height + 1;
    size_t nodes = c->doc_nodes - f->start_nodes;
    if (f->anchor && anchors_put(&c->anchors, f->anchor, f->anchor_len, f->node, nodes,
                                 height) != CW_OK)
        return fail_at(c, CW_ERR_NOMEM, m, "out of memory");
    json_t *node = f->node;
    f->node = NULL;
    frame_free(f);
    c->depth--;
    return deliver(c, node, height, m);
}

static cw_err on_alias(yctx *c, const yaml_event_t *ev)
{
    const yaml_mark_t *m = &ev->start_mark;
    const char *a = (const char *)ev->data.alias.anchor;
    size_t an = a ? strlen(a) : 0;
    frame *top = c->depth ? &c->stack[c->depth - 1] : NULL;
    if (top && top->is_map && !top->have_key)
        return fail_at(c, CW_ERR_INVALID, m, "an alias cannot be a mapping key");
    anchor_ent *e = a ? anchors_find(&c->anchors, a, an) : NULL;
    if (!e)
        return fail_at(c, CW_ERR_INVALID, m, "alias *%.64s refers to no complete anchor",
                       a ? a : "");
    if (c->depth + e->height > c->lim->max_depth)
        return fail_at(c, CW_ERR_TOO_LARGE, m,
                       "nesting deeper than %zu levels (after alias expansion)",
                       c->lim->max_depth);
    cw_err err = charge_nodes(c, e->nodes, m);
    if (err)
        return err;
    if (e->nodes > c->alias_budget - c->alias_nodes)
        return fail_at(c, CW_ERR_TOO_LARGE, m,
                       "aliases expand to too many nodes in this stream (more than %zu)",
                       c->alias_budget);
    c->alias_nodes += e->nodes;
    return deliver(c, json_incref(e->value), e->height, m);
}

static cw_err on_document_start(yctx *c, const yaml_event_t *ev)
{
    c->doc_index++;
    c->doc_nodes = 0;
    anchors_clear(&c->anchors);
    if (c->doc_index > c->lim->max_documents)
        return fail_at(c, CW_ERR_TOO_LARGE, &ev->start_mark, "more than %zu documents",
                       c->lim->max_documents);
    return CW_OK;
}

static cw_err on_document_end(yctx *c, const yaml_event_t *ev)
{
    json_t *root = c->root;
    c->root = NULL;
    anchors_clear(&c->anchors);
    if (!root || json_is_null(root)) {
        json_decref(root);
        return CW_OK;
    }
    if (json_array_append_new(c->docs, root) != 0)
        return fail_at(c, CW_ERR_NOMEM, &ev->start_mark, "out of memory");
    return CW_OK;
}

/* libyaml's syntax error: the problem at its mark, then what was being
 * parsed and where that started. */
static cw_err syntax_error(yctx *c, const yaml_parser_t *p)
{
    size_t doc = c->depth || c->root ? c->doc_index : c->doc_index + 1;
    const char *problem = p->problem ? p->problem : "YAML syntax error";
    if (p->error == YAML_MEMORY_ERROR)
        return cw_fail(c->d, CW_ERR_NOMEM, "document %zu: out of memory", doc);
    if (p->context)
        return cw_fail(c->d, CW_ERR_INVALID,
                       "document %zu: line %zu, column %zu: %s %s (line %zu, column %zu)",
                       doc, p->problem_mark.line + 1, p->problem_mark.column + 1, problem,
                       p->context, p->context_mark.line + 1, p->context_mark.column + 1);
    return cw_fail(c->d, CW_ERR_INVALID, "document %zu: line %zu, column %zu: %s", doc,
                   p->problem_mark.line + 1, p->problem_mark.column + 1, problem);
}

/* YAML 1.2 c-printable: tab, line breaks, visible ASCII, NEL and
 * non-control code points other than U+FFFE/U+FFFF (surrogates are not
 * valid UTF-8 to begin with). */
static bool yaml_printable(uint32_t cp)
{
    if (cp < 0x80)
        return cp == 0x09 || cp == 0x0A || cp == 0x0D || (cp >= 0x20 && cp <= 0x7E);
    if (cp < 0xA0)
        return cp == 0x85;
    return cp != 0xFFFE && cp != 0xFFFF;
}

/*
 * Checks that the input is strict UTF-8 (no overlong forms, surrogates or
 * code points above U+10FFFF) made only of characters YAML allows. Returns
 * the offset of the first bad character, or len; *cp_out gets the code
 * point (or -1 for bad UTF-8). Checked before the YAML parser runs so that
 * the error names the exact line and column of the offending character.
 */
static size_t yaml_text_invalid_at(const unsigned char *s, size_t len, long *cp_out)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t need;
        uint32_t cp, min;
        if (c < 0x80) {
            need = 0, cp = c, min = 0;
        } else if (c >= 0xC2 && c <= 0xDF) {
            need = 1, cp = c & 0x1F, min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2, cp = c & 0x0F, min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3, cp = c & 0x07, min = 0x10000;
        } else {
            *cp_out = -1;
            return i;
        }
        if (need >= len - i) {
            *cp_out = -1;
            return i;
        }
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80) {
                *cp_out = -1;
                return i;
            }
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            *cp_out = -1;
            return i;
        }
        if (!yaml_printable(cp)) {
            *cp_out = (long)cp;
            return i;
        }
        i += need + 1;
    }
    return len;
}

static cw_err check_text(const char *text, size_t len, cw_diag *d)
{
    long cp = 0;
    size_t bad = yaml_text_invalid_at((const unsigned char *)text, len, &cp);
    if (bad == len)
        return CW_OK;
    size_t line = 1, col = 1;
    for (size_t i = 0; i < bad; i++) {
        if (text[i] == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            col++;
        }
    }
    if (cp < 0)
        return cw_fail(d, CW_ERR_INVALID, "line %zu, column %zu: invalid UTF-8", line, col);
    if (cp == 0)
        return cw_fail(d, CW_ERR_INVALID,
                       "line %zu, column %zu: NUL characters are not allowed", line, col);
    return cw_fail(d, CW_ERR_INVALID,
                   "line %zu, column %zu: character U+%04lX is not allowed in YAML", line, col,
                   (unsigned long)cp);
}

static cw_err parse_yaml(const char *text, size_t len, const cw_parse_limits *lim,
                         json_t **out, cw_diag *d)
{
    yctx c;
    memset(&c, 0, sizeof c);
    c.lim = lim;
    c.d = d;
    c.alias_budget = lim->max_nodes + len;
    cw_buf_init(&c.keys, 0);
    cw_err err = CW_OK;
    yaml_parser_t parser;
    bool have_parser = false, done = false;

    if (!(c.docs = json_array())) {
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (!yaml_parser_initialize(&parser)) {
        err = cw_fail(d, CW_ERR_NOMEM, "cannot create the YAML parser");
        goto out;
    }
    have_parser = true;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
    while (!err && !done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            err = syntax_error(&c, &parser);
            break;
        }
        switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT: err = on_document_start(&c, &ev); break;
        case YAML_DOCUMENT_END_EVENT: err = on_document_end(&c, &ev); break;
        case YAML_MAPPING_START_EVENT: err = on_collection_start(&c, &ev, true); break;
        case YAML_SEQUENCE_START_EVENT: err = on_collection_start(&c, &ev, false); break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT: err = on_collection_end(&c, &ev); break;
        case YAML_SCALAR_EVENT: err = on_scalar(&c, &ev); break;
        case YAML_ALIAS_EVENT: err = on_alias(&c, &ev); break;
        case YAML_STREAM_END_EVENT: done = true; break;
        default: break;
        }
        yaml_event_delete(&ev);
    }
out:
    for (size_t i = 0; i < c.depth; i++)
        frame_free(&c.stack[i]);
    free(c.stack);
    anchors_clear(&c.anchors);
    json_decref(c.root);
    cw_buf_free(&c.keys);
    if (have_parser)
        yaml_parser_delete(&parser);
    if (err) {
        json_decref(c.docs);
        return err;
    }
    *out = c.docs;
    return CW_OK;
}

/* ---- JSON ------------------------------------------------------------------- */

/* Depth (collections) and node count of a jansson tree; stops early once a
 * limit is passed. jansson bounds the depth (2048), so recursion is safe. */
static void measure(const json_t *v, size_t depth, size_t *max_depth, size_t *nodes,
                    const cw_parse_limits *lim)
{
    (*nodes)++;
    if (*nodes > lim->max_nodes || *max_depth > lim->max_depth)
        return;
    if (json_is_object(v) || json_is_array(v)) {
        depth++;
        if (depth > *max_depth)
            *max_depth = depth;
    }
    if (json_is_object(v)) {
        const char *k;
        const json_t *child;
        json_object_foreach((json_t *)v, k, child) {
            (*nodes)++; /* the key, as in YAML */
            measure(child, depth, max_depth, nodes, lim);
        }
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *child;
        json_array_foreach(v, i, child)
            measure(child, depth, max_depth, nodes, lim);
    }
}

static cw_err check_json_doc(const json_t *v, size_t index, const cw_parse_limits *lim,
                             cw_diag *d)
{
    size_t depth = 0, nodes = 0;
    measure(v, 0, &depth, &nodes, lim);
    if (depth > lim->max_depth)
        return cw_fail(d, CW_ERR_TOO_LARGE, "document %zu: nesting deeper than %zu levels",
                       index, lim->max_depth);
    if (nodes > lim->max_nodes)
        return cw_fail(d, CW_ERR_TOO_LARGE, "document %zu: more than %zu nodes", index,
                       lim->max_nodes);
    return CW_OK;
}

static cw_err parse_json(const char *text, size_t len, const cw_parse_limits *lim,
                         json_t **out, cw_diag *d)
{
    json_error_t je;
    json_t *docs = NULL;
    cw_err err = CW_OK;
    json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!v)
        return cw_fail(d, json_error_code(&je) == json_error_stack_overflow
                              ? CW_ERR_TOO_LARGE : CW_ERR_INVALID,
                       "line %d, column %d: %s", je.line, je.column, je.text);
    if (!(docs = json_array())) {
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (json_is_array(v)) {
        if (json_array_size(v) > lim->max_documents) {
            err = cw_fail(d, CW_ERR_TOO_LARGE, "more than %zu documents", lim->max_documents);
            goto out;
        }
        /* Each element is a document: the array itself is not a level. */
        size_t i;
        json_t *el;
        json_array_foreach(v, i, el) {
            if (json_is_null(el))
                continue;
            if ((err = check_json_doc(el, i + 1, lim, d)) != CW_OK)
                goto out;
            if (json_array_append(docs, el) != 0) {
                err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
                goto out;
            }
        }
    } else {
        if ((err = check_json_doc(v, 1, lim, d)) != CW_OK)
            goto out;
        if (json_array_append(docs, v) != 0)
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
    }
out:
    json_decref(v);
    if (err) {
        json_decref(docs);
        return err;
    }
    *out = docs;
    return CW_OK;
}

cw_err cw_parse_documents(const char *text, size_t len, const cw_parse_limits *lim,
                          json_t **out, cw_diag *d)
{
    cw_parse_limits defaults;
    if (!lim) {
        cw_parse_limits_default(&defaults);
        lim = &defaults;
    }
    *out = NULL;
    if (!text)
        len = 0, text = "";
    size_t i = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' ||
                       text[i] == '\n'))
        i++;
    if (i < len && (text[i] == '{' || text[i] == '['))
        return parse_json(text + i, len - i, lim, out, d);
    cw_err err = check_text(text, len, d);
    if (err)
        return err;
    return parse_yaml(text, len, lim, out, d);
}
