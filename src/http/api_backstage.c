/*
 * api_backstage.c — the Backstage catalog read API under /api/catalog,
 * shaped like Backstage's catalog backend so that its clients (for example
 * the npm package @backstage/catalog-client) read from conway unchanged:
 * entity lists with filters, field projection and offset paging, lookups by
 * name, uid and refs, the cursor-paged by-query endpoint, and facets.
 *
 * Entities come from the store as JSON text and are copied into the answer
 * as they are; they are only parsed when a `fields` projection (or a
 * full-text search over chosen fields) needs to look inside them.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "catalog/filter.h"
#include "http/bounded.h"
#include "http/http_int.h"
#include "util/crypto.h"

#define QUERY_DEFAULT_LIMIT 20 /* Backstage's default page size for by-query */
#define QUERY_MAX_LIMIT 1000   /* larger by-query pages are cut to this */
#define LIST_MAX_LIMIT 100000000u
#define MAX_OFFSET 100000000u
#define ALL_ROWS ((size_t)1 << 30) /* "no limit" for the store */
#define MAX_PATHS 64
#define MAX_PATH_LEN 200           /* as long as a search key may be */
#define MAX_FACETS 32
#define MAX_REFS 10000
#define MAX_TERM 200

/* ---- dotted paths (fields, fullTextFilterFields, facets, order) ----------- */

typedef struct {
    char *paths[MAX_PATHS]; /* owned */
    size_t n;
} pathlist;

static void pathlist_free(pathlist *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->paths[i]);
    p->n = 0;
}

/* A simplified JSON path: dot-separated non-empty segments, printable. */
static bool valid_path(const char *s, size_t len)
{
    if (len == 0 || len > MAX_PATH_LEN || s[0] == '.' || s[len - 1] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || (c == '.' && s[i + 1] == '.'))
            return false;
    }
    return true;
}

/* Splits comma-separated values (of a repeated parameter or a JSON array)
 * into paths. Blank items are skipped as Backstage does; `what` names the
 * input in the 400 answer. Returns false after queueing it. */
static bool parse_paths(const char *const *vals, size_t nvals, const char *what, pathlist *out,
                        cw_resp *resp)
{
    for (size_t i = 0; i < nvals; i++) {
        const char *s = vals[i];
        while (*s) {
            const char *comma = strchr(s, ',');
            size_t len = comma ? (size_t)(comma - s) : strlen(s);
            const char *a = s, *b = s + len;
            while (a < b && isspace((unsigned char)*a))
                a++;
            while (b > a && isspace((unsigned char)b[-1]))
                b--;
            size_t n = (size_t)(b - a);
            if (n) {
                if (!valid_path(a, n)) {
                    cw_resp_problem(resp, 400,
                                    "%s: '%.*s' is not a dotted path such as metadata.name", what,
                                    (int)(n > 80 ? 80 : n), a);
                    return false;
                }
                if (out->n >= MAX_PATHS) {
                    cw_resp_problem(resp, 400, "%s: at most %d paths", what, MAX_PATHS);
                    return false;
                }
                char *copy = malloc(n + 1);
                if (!copy) {
                    cw_resp_problem(resp, 500, "out of memory");
                    return false;
                }
                memcpy(copy, a, n);
                copy[n] = '\0';
                out->paths[out->n++] = copy;
            }
            s += len;
            if (*s == ',')
                s++;
        }
    }
    return true;
}

static void lower_copy(char *dst, const char *src, size_t cap)
{
    size_t i = 0;
    for (; src[i] && i + 1 < cap; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    dst[i] = '\0';
}

/* ---- field projection --------------------------------------------------- */

/* Copies the value at `path` (object keys only, as Backstage does) from src
 * into dst, creating intermediate objects. A missing path adds nothing.
 * Values are shared with src, never modified. */
static cw_err project_path(const json_t *src, json_t *dst, const char *path)
{
    for (;;) {
        const char *dot = strchr(path, '.');
        size_t len = dot ? (size_t)(dot - path) : strlen(path);
        if (!json_is_object(src))
            return CW_OK;
        json_t *child = json_object_getn(src, path, len);
        if (!child)
            return CW_OK;
        if (!dot)
            return json_object_setn(dst, path, len, child) ? CW_ERR_NOMEM : CW_OK;
        json_t *next = json_object_getn(dst, path, len);
        if (next == child)
            return CW_OK; /* the whole subtree is already included */
        if (!next) {
            next = json_object();
            if (!next || json_object_setn_new(dst, path, len, next))
                return CW_ERR_NOMEM;
        }
        src = child;
        dst = next;
        path = dot + 1;
    }
}

/* Appends one entity to out: the stored text as is, or its projection. */
static cw_err append_entity(cw_buf *out, const char *text, const pathlist *fields)
{
    if (!fields->n)
        return cw_buf_puts(out, text);
    cw_err err = CW_ERR_INTERNAL; /* stored text that does not parse is a bug */
    char *dump = NULL;
    json_t *dst = NULL;
    json_t *src = json_loads(text, 0, NULL);
    if (!src)
        goto out;
    err = CW_ERR_NOMEM;
    dst = json_object();
    if (!dst)
        goto out;
    for (size_t i = 0; i < fields->n; i++) {
        err = project_path(src, dst, fields->paths[i]);
        if (err)
            goto out;
    }
    err = CW_ERR_NOMEM;
    dump = json_dumps(dst, JSON_COMPACT);
    if (!dump)
        goto out;
    err = cw_buf_puts(out, dump);
out:
    free(dump);
    json_decref(dst);
    json_decref(src);
    return err;
}

/* ---- shared pieces ------------------------------------------------------- */

/* Parses Backstage `filter` values; returns false after a 400. */
static bool parse_filter(const char *const *vals, size_t n, cw_filter_owned **out, cw_resp *resp)
{
    cw_diag d = {{0}};
    cw_err err = cw_filter_parse_backstage(vals, n, out, &d);
    if (err) {
        cw_resp_problem(resp, cw_http_status_of(err), "query parameter 'filter': %s", d.msg);
        return false;
    }
    return true;
}

static bool out_of_memory(cw_resp *resp)
{
    cw_resp_problem(resp, 500, "out of memory while building the answer");
    return false;
}

/* Percent-encodes s for a query string (RFC 3986 unreserved kept). */
static cw_err url_encode(cw_buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    cw_err err = CW_OK;
    for (; *s && !err; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            err = cw_buf_putc(out, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            err = cw_buf_append(out, e, 3);
        }
    }
    return err;
}

/* ---- GET /api/catalog/entities ---------------------------------------------- */

/* The legacy list pages with `after`: base64url("e1:<offset>:<limit>"). */
static char *make_after(uint64_t offset, uint64_t limit)
{
    char tmp[64];
    int n = snprintf(tmp, sizeof tmp, "e1:%llu:%llu", (unsigned long long)offset,
                     (unsigned long long)limit);
    return cw_base64url_encode(tmp, (size_t)n);
}

static bool parse_u64(const char *s, const char *end, uint64_t max, uint64_t *out)
{
    if (s == end || end - s > 19)
        return false;
    uint64_t v = 0;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_after(const char *cursor, uint64_t *offset, uint64_t *limit)
{
    size_t len = 0;
    unsigned char *raw = cw_base64url_decode(cursor, &len);
    bool ok = false;
    if (raw && len > 3 && !memcmp(raw, "e1:", 3) && !memchr(raw, '\0', len)) {
        const char *s = (const char *)raw + 3;
        const char *colon = strchr(s, ':');
        ok = colon && parse_u64(s, colon, MAX_OFFSET, offset) &&
             parse_u64(colon + 1, (const char *)raw + len, LIST_MAX_LIMIT, limit) && *limit > 0;
    }
    free(raw);
    return ok;
}

/* "asc:metadata.name" into a lower-cased search key and a direction. */
static bool parse_legacy_order(const char *v, char key[MAX_PATH_LEN + 1], bool *desc, cw_resp *resp)
{
    const char *colon = strchr(v, ':');
    if (colon && (size_t)(colon - v) == 3 && !strncmp(v, "asc", 3))
        *desc = false;
    else if (colon && (size_t)(colon - v) == 4 && !strncmp(v, "desc", 4))
        *desc = true;
    else
        colon = NULL;
    if (!colon || !valid_path(colon + 1, strlen(colon + 1))) {
        cw_resp_problem(resp, 400,
                        "query parameter 'order': '%.80s' is not asc:<field> or desc:<field>", v);
        return false;
    }
    lower_copy(key, colon + 1, MAX_PATH_LEN + 1);
    return true;
}

/* Link: <...?<the same query>&after=...>; rel="next", as Backstage sends. */
static void add_next_link(const cw_req *req, cw_resp *resp, const char *after)
{
    cw_buf link;
    cw_buf_init(&link, 16384);
    cw_err err = cw_buf_puts(&link, "</api/catalog/entities?");
    for (size_t i = 0; i < req->nquery && !err; i++) {
        if (!strcmp(req->query[i].key, "after") || !strcmp(req->query[i].key, "offset"))
            continue;
        err = url_encode(&link, req->query[i].key);
        if (!err)
            err = cw_buf_putc(&link, '=');
        if (!err)
            err = url_encode(&link, req->query[i].value);
        if (!err)
            err = cw_buf_putc(&link, '&');
    }
    if (!err)
        err = cw_buf_printf(&link, "after=%s>; rel=\"next\"", after);
    if (!err) /* a too long link is left out: paging by offset still works */
        cw_resp_header(resp, "Link", cw_buf_cstr(&link));
    cw_buf_free(&link);
}

/*
 * The list is streamed (bounded.h): Backstage's unpaged form answers the
 * whole catalog, which a client that never reads must not make the server
 * hold. Entities are read in chunks as the client takes them: in key order
 * after the last key sent (keyset), in a field order by offset. Each chunk
 * is one read snapshot: an entity written meanwhile may or may not be in
 * the answer; in key order none appears twice.
 */
typedef struct {
    cw_app *app;
    cw_filter_owned *f;
    pathlist fields;
    char order_key[MAX_PATH_LEN + 1]; /* "" = key order */
    bool desc;
    size_t offset;              /* next row (field order, or the first chunk) */
    char after[CW_REF_MAX];     /* key order: the last key sent; "" = none yet */
    size_t left;                /* entities still to send */
    size_t sent, sent_bytes;    /* for the chunk size */
    cw_entity_page page;        /* read, not rendered yet */
    bool opened;                /* '[' written */
} list_stream;

static void list_stream_free(void *p)
{
    list_stream *ls = p;
    cw_entity_page_free(&ls->page);
    cw_filter_owned_free(ls->f);
    pathlist_free(&ls->fields);
    free(ls);
}

/* Reads the next chunk of the list into ls->page. */
static cw_err list_read(list_stream *ls, cw_diag *d)
{
    size_t n = ls->sent ? ls->sent_bytes / ls->sent : 0;
    /* about a stream piece per chunk at the average size so far */
    size_t want = n ? CW_STREAM_PIECE_BYTES / n + 1 : 16;
    if (want > CW_PAGE_MAX_CHUNK)
        want = CW_PAGE_MAX_CHUNK;
    if (want > ls->left)
        want = ls->left;
    cw_entity_query q = {
        .filter = &ls->f->filter,
        .order_key = ls->order_key[0] ? ls->order_key : NULL,
        .order_desc = ls->desc,
        .offset = ls->after[0] ? 0 : ls->offset,
        .after_key = ls->after[0] ? ls->after : NULL,
        .limit = want,
    };
    cw_entity_page_free(&ls->page);
    cw_err err = cw_store_entity_query(ls->app->store, &q, &ls->page, d);
    if (!err && ls->page.len < want)
        ls->left = ls->page.len; /* the end of the list */
    return err;
}

static cw_err list_next(void *p, cw_buf *out, bool *done, cw_diag *d)
{
    list_stream *ls = p;
    cw_err err = CW_OK;
    if (!ls->opened) {
        ls->opened = true;
        err = cw_buf_putc(out, '[');
    }
    if (!err && ls->left && !ls->page.len)
        err = list_read(ls, d);
    size_t start = out->len;
    for (size_t i = 0; !err && i < ls->page.len && ls->left; i++) {
        if (ls->sent && (err = cw_buf_putc(out, ',')))
            break;
        err = append_entity(out, ls->page.items[i], &ls->fields);
        if (!err) {
            ls->sent++;
            ls->left--;
            ls->offset++;
        }
    }
    if (err)
        return err;
    if (ls->page.len && !ls->order_key[0])
        snprintf(ls->after, sizeof ls->after, "%s", ls->page.keys[ls->page.len - 1]);
    ls->sent_bytes += out->len - start;
    cw_entity_page_free(&ls->page);
    if (!ls->left) {
        *done = true;
        err = cw_buf_putc(out, ']');
    }
    return err;
}

static void get_entities(cw_app *app, cw_req *req, cw_resp *resp)
{
    list_stream *ls = calloc(1, sizeof *ls);
    if (!ls) {
        out_of_memory(resp);
        return;
    }
    ls->app = app;
    const char *vals[CW_MAX_QUERY_PARAMS];
    size_t n;
    uint64_t limit = 0, offset = 0;
    bool has_limit = cw_req_query(req, "limit") != NULL;

    n = cw_req_query_all(req, "fields", vals, CW_MAX_QUERY_PARAMS);
    if (!parse_paths(vals, n, "query parameter 'fields'", &ls->fields, resp))
        goto fail;
    if (!cw_req_query_uint(req, resp, "limit", 0, 0, LIST_MAX_LIMIT, &limit) ||
        !cw_req_query_uint(req, resp, "offset", 0, 0, MAX_OFFSET, &offset))
        goto fail;
    const char *after = cw_req_query(req, "after");
    if (after) {
        uint64_t after_limit;
        if (!parse_after(after, &offset, &after_limit)) {
            cw_resp_problem(resp, 400, "query parameter 'after': not a cursor issued by this server");
            goto fail;
        }
        if (!has_limit) {
            limit = after_limit;
            has_limit = true;
        }
    }
    n = cw_req_query_all(req, "order", vals, CW_MAX_QUERY_PARAMS);
    if (n > 1) {
        cw_resp_problem(resp, 400, "query parameter 'order': conway sorts by one field; got %zu", n);
        goto fail;
    }
    if (n == 1 && !parse_legacy_order(vals[0], ls->order_key, &ls->desc, resp))
        goto fail;
    size_t nf = cw_req_query_all(req, "filter", vals, CW_MAX_QUERY_PARAMS);
    if (!parse_filter(vals, nf, &ls->f, resp))
        goto fail;
    ls->offset = (size_t)offset;
    ls->left = has_limit ? (size_t)limit : ALL_ROWS;
    /* Whether a page follows (the Link header goes out before the body):
     * the first chunk, read here, counts every match. */
    cw_diag d = {{0}};
    cw_err err = ls->left ? list_read(ls, &d) : CW_OK;
    if (!err && has_limit && limit > 0 && offset + limit < ls->page.total) {
        char *next = make_after(offset + limit, limit);
        if (next)
            add_next_link(req, resp, next);
        free(next);
    }
    if (err) {
        cw_resp_error(resp, err, &d);
        goto fail;
    }
    cw_resp_stream(req, resp, 200, "application/json", list_next, list_stream_free, ls);
    return;
fail:
    list_stream_free(ls);
}

/* ---- GET /api/catalog/entities/by-name/{kind}/{namespace}/{name} ------------- */

static void get_by_name(cw_app *app, cw_req *req, cw_resp *resp)
{
    char *json = NULL;
    cw_diag d = {{0}};
    cw_err err = cw_store_entity_get(app->store, req->params[0], req->params[1], req->params[2],
                                     &json, NULL, &d);
    if (err == CW_ERR_NOT_FOUND || err == CW_ERR_INVALID) {
        /* A ref that cannot exist is simply not found, as in Backstage. */
        cw_resp_problem(resp, 404, "entity %.64s:%.64s/%.64s does not exist", req->params[0],
                        req->params[1], req->params[2]);
        return;
    }
    if (err) {
        cw_resp_error(resp, err, &d);
        return;
    }
    cw_resp_json_text(resp, 200, json, strlen(json));
    free(json);
}

/* ---- GET /api/catalog/entities/by-uid/{uid} ---------------------------------- */

static void get_by_uid(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_filter_owned *f = NULL;
    cw_entity_page page = {0};
    cw_diag d = {{0}};
    char uid[MAX_PATH_LEN + 1];
    lower_copy(uid, req->params[0], sizeof uid);
    cw_err err = cw_filter_parse_backstage(NULL, 0, &f, &d);
    if (!err)
        err = cw_filter_add_condition(f, "metadata.uid", uid, &d);
    if (err == CW_ERR_INVALID) {
        /* too long or not printable: no entity can have it */
        cw_resp_problem(resp, 404, "no entity has uid %.64s", req->params[0]);
        goto out;
    }
    if (err) {
        cw_resp_error(resp, err, &d);
        goto out;
    }
    cw_entity_query q = {.filter = &f->filter, .limit = 1};
    err = cw_store_entity_query(app->store, &q, &page, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        goto out;
    }
    if (page.len == 0) {
        cw_resp_problem(resp, 404, "no entity has uid %.64s", req->params[0]);
        goto out;
    }
    cw_resp_json_text(resp, 200, page.items[0], strlen(page.items[0]));
out:
    cw_entity_page_free(&page);
    cw_filter_owned_free(f);
}

/* ---- GET /api/catalog/entities/by-query --------------------------------------- */

/* Everything that defines a by-query result set and a position in it. A
 * cursor carries all of it, so follow-up requests need only the cursor. */
typedef struct {
    json_t *filters;           /* array of the raw `filter` strings; owned */
    char order[MAX_PATH_LEN + 1]; /* orderField path as given; "" = key order */
    bool desc;
    char term[MAX_TERM + 1];   /* full-text term; "" = none */
    pathlist text_fields;      /* fields the term is searched in */
    bool exclude_total;
    size_t pos;                /* index of the page's first entity */
    char after[CW_REF_MAX];    /* keyset position (key order only); "" = use pos */
    size_t limit;
} bq_state;

static void bq_free(bq_state *st)
{
    json_decref(st->filters);
    st->filters = NULL;
    pathlist_free(&st->text_fields);
}

/* The cursor: base64url("q1:" + compact JSON of the state). No top-level
 * "query" member: the Backstage client takes cursors holding one for
 * predicate queries (a POST endpoint conway does not serve). */
static char *bq_cursor(const bq_state *st, size_t pos, const char *after)
{
    char *text = NULL, *enc = NULL;
    json_t *fields = json_array();
    for (size_t i = 0; fields && i < st->text_fields.n; i++)
        if (json_array_append_new(fields, json_string(st->text_fields.paths[i]))) {
            json_decref(fields);
            fields = NULL;
        }
    json_t *c = fields ? json_pack("{s:O, s:s, s:b, s:s, s:o, s:b, s:I, s:s, s:I}", "f",
                                   st->filters, "o", st->order, "d", st->desc, "t", st->term,
                                   "tf", fields, "x", st->exclude_total, "p", (json_int_t)pos,
                                   "a", after, "l", (json_int_t)st->limit)
                       : NULL;
    if (c)
        text = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    if (text) {
        size_t n = strlen(text);
        char *raw = malloc(n + 4);
        if (raw) {
            memcpy(raw, "q1:", 3);
            memcpy(raw + 3, text, n + 1);
            enc = cw_base64url_encode(raw, n + 3);
            free(raw);
        }
    }
    free(text);
    return enc;
}

static bool copy_str(const json_t *v, char *dst, size_t cap)
{
    const char *s = json_string_value(v);
    if (!s || strlen(s) >= cap)
        return false;
    memcpy(dst, s, strlen(s) + 1);
    return true;
}

/* Restores a state from a cursor; false when it is not one of ours. */
static bool bq_from_cursor(const char *cursor, bq_state *st, cw_resp *resp)
{
    size_t len = 0;
    bool ok = false;
    json_t *c = NULL;
    unsigned char *raw = cw_base64url_decode(cursor, &len);
    if (!raw || len < 4 || memcmp(raw, "q1:", 3) != 0)
        goto out;
    c = json_loadb((const char *)raw + 3, len - 3, JSON_REJECT_DUPLICATES, NULL);
    json_t *f = json_object_get(c, "f"), *tf = json_object_get(c, "tf");
    json_t *p = json_object_get(c, "p"), *l = json_object_get(c, "l");
    if (!json_is_array(f) || json_array_size(f) > CW_MAX_QUERY_PARAMS || !json_is_array(tf) ||
        json_array_size(tf) > MAX_PATHS || !json_is_integer(p) || !json_is_integer(l) ||
        !json_is_boolean(json_object_get(c, "d")) || !json_is_boolean(json_object_get(c, "x")))
        goto out;
    json_int_t pos = json_integer_value(p), limit = json_integer_value(l);
    if (pos < 0 || pos > (json_int_t)MAX_OFFSET || limit < 1 || limit > QUERY_MAX_LIMIT)
        goto out;
    size_t i;
    json_t *v;
    json_array_foreach(f, i, v) {
        if (!json_is_string(v))
            goto out;
    }
    if (!copy_str(json_object_get(c, "o"), st->order, sizeof st->order) ||
        !copy_str(json_object_get(c, "t"), st->term, sizeof st->term) ||
        !copy_str(json_object_get(c, "a"), st->after, sizeof st->after))
        goto out;
    if (st->order[0] && !valid_path(st->order, strlen(st->order)))
        goto out;
    if (st->after[0]) {
        char check[CW_REF_MAX];
        if (st->order[0] || !cw_ref_text_to_key(st->after, check) || strcmp(check, st->after))
            goto out;
    }
    const char *paths[MAX_PATHS];
    json_array_foreach(tf, i, v) {
        paths[i] = json_string_value(v);
        if (!paths[i])
            goto out;
    }
    if (!parse_paths(paths, json_array_size(tf), "query parameter 'cursor'", &st->text_fields,
                     resp))
        goto out;
    st->filters = json_incref(f);
    st->desc = json_is_true(json_object_get(c, "d"));
    st->exclude_total = json_is_true(json_object_get(c, "x"));
    st->pos = (size_t)pos;
    st->limit = (size_t)limit;
    ok = true;
out:
    if (!ok && resp->status < 400)
        cw_resp_problem(resp, 400, "query parameter 'cursor': not a cursor issued by this server");
    json_decref(c);
    free(raw);
    return ok;
}

/* Reads the parameters of a first by-query request into st. */
static bool bq_from_params(const cw_req *req, bq_state *st, cw_resp *resp)
{
    const char *vals[CW_MAX_QUERY_PARAMS];
    size_t n = cw_req_query_all(req, "filter", vals, CW_MAX_QUERY_PARAMS);
    st->filters = json_array();
    if (!st->filters)
        return out_of_memory(resp);
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(st->filters, json_string(vals[i])))
            return out_of_memory(resp);
    /* Like Backstage, only the first orderField is applied. */
    const char *of = cw_req_query(req, "orderField");
    if (of) {
        const char *comma = strchr(of, ',');
        size_t flen = comma ? (size_t)(comma - of) : strlen(of);
        const char *dir = comma ? comma + 1 : "asc";
        if (!valid_path(of, flen) || (strcmp(dir, "asc") && strcmp(dir, "desc"))) {
            cw_resp_problem(resp, 400,
                            "query parameter 'orderField': '%.80s' is not <field>,asc or "
                            "<field>,desc",
                            of);
            return false;
        }
        memcpy(st->order, of, flen);
        st->order[flen] = '\0';
        st->desc = !strcmp(dir, "desc");
    }
    const char *term = cw_req_query(req, "fullTextFilterTerm");
    if (term) {
        while (isspace((unsigned char)*term))
            term++;
        size_t tl = strlen(term);
        while (tl && isspace((unsigned char)term[tl - 1]))
            tl--;
        if (tl > MAX_TERM) {
            cw_resp_problem(resp, 400, "query parameter 'fullTextFilterTerm': at most %d characters",
                            MAX_TERM);
            return false;
        }
        memcpy(st->term, term, tl);
        st->term[tl] = '\0';
    }
    n = cw_req_query_all(req, "fullTextFilterFields", vals, CW_MAX_QUERY_PARAMS);
    if (!parse_paths(vals, n, "query parameter 'fullTextFilterFields'", &st->text_fields, resp))
        return false;
    const char *total = cw_req_query(req, "totalItems");
    if (total && strcmp(total, "include") && strcmp(total, "exclude")) {
        cw_resp_problem(resp, 400, "query parameter 'totalItems': '%.40s' is not include or exclude",
                        total);
        return false;
    }
    st->exclude_total = total && !strcmp(total, "exclude");
    uint64_t offset;
    if (!cw_req_query_uint(req, resp, "offset", 0, 0, MAX_OFFSET, &offset))
        return false;
    st->pos = (size_t)offset;
    st->limit = QUERY_DEFAULT_LIMIT;
    return true;
}

static bool ci_contains(const char *hay, const char *needle_lower)
{
    size_t n = strlen(needle_lower);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == needle_lower[i])
            i++;
        if (i == n)
            return true;
    }
    return n == 0;
}

/* Whether a value at `path` under v contains the term, descending through
 * arrays and comparing keys ignoring case, like Backstage's search table. */
static bool text_matches(const json_t *v, const char *path, const char *term, int depth)
{
    char num[64];
    if (depth > 64)
        return false;
    if (json_is_array(v)) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) {
            if (text_matches(item, path, term, depth + 1))
                return true;
        }
        return false;
    }
    if (!*path) {
        switch (json_typeof(v)) {
        case JSON_STRING: return ci_contains(json_string_value(v), term);
        case JSON_INTEGER:
            snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            return ci_contains(num, term);
        case JSON_REAL:
            snprintf(num, sizeof num, "%.17g", json_real_value(v));
            return ci_contains(num, term);
        case JSON_TRUE: return ci_contains("true", term);
        case JSON_FALSE: return ci_contains("false", term);
        default: return false;
        }
    }
    if (!json_is_object(v))
        return false;
    const char *dot = strchr(path, '.');
    size_t len = dot ? (size_t)(dot - path) : strlen(path);
    const char *rest = dot ? dot + 1 : "";
    const char *key;
    json_t *child;
    json_object_foreach((json_t *)v, key, child) {
        if (strlen(key) == len && !strncasecmp(key, path, len) &&
            text_matches(child, rest, term, depth + 1))
            return true;
    }
    return false;
}

/* Whether the store's own text search (name, title, description) already
 * covers every requested field, so it may pre-select candidates. */
static bool store_text_covers(const pathlist *fields)
{
    for (size_t i = 0; i < fields->n; i++) {
        const char *p = fields->paths[i];
        if (strcasecmp(p, "metadata.name") && strcasecmp(p, "metadata.title") &&
            strcasecmp(p, "metadata.description"))
            return false;
    }
    return true;
}

static void run_by_query(cw_app *app, bq_state *st, const pathlist *fields, cw_resp *resp)
{
    cw_filter_owned *f = NULL;
    cw_entity_page page = {0};
    size_t *match = NULL;
    char *next = NULL, *prev = NULL;
    cw_buf out;
    cw_buf_init(&out, 0);
    const char *fvals[CW_MAX_QUERY_PARAMS];
    size_t nf = json_array_size(st->filters);
    for (size_t i = 0; i < nf; i++)
        fvals[i] = json_string_value(json_array_get(st->filters, i));
    if (!parse_filter(fvals, nf, &f, resp))
        goto out;
    char order_key[MAX_PATH_LEN + 1];
    lower_copy(order_key, st->order, sizeof order_key);
    /* Searching chosen fields needs each candidate's JSON: the store
     * returns every candidate, and the page is cut here. Otherwise the page
     * is read in chunks until it is complete or passes its byte budget
     * (bounded.h); one more than asked tells whether a next page exists. */
    bool scan = st->term[0] && st->text_fields.n;
    /* In key order the next page starts after the last key shown, so
     * writes between requests neither repeat nor skip entities. */
    bool keyset = !scan && !st->order[0];
    cw_entity_query q = {
        .filter = &f->filter,
        .text = st->term[0] && (!scan || store_text_covers(&st->text_fields)) ? st->term : NULL,
        .order_key = st->order[0] ? order_key : NULL,
        .order_desc = st->desc,
        .offset = scan || st->after[0] ? 0 : st->pos,
        .after_key = !scan && st->after[0] ? st->after : NULL,
        .limit = scan ? ALL_ROWS : cw_page_chunk(st->limit, 0, 0) + 1,
    };
    cw_diag d = {{0}};
    cw_err err = cw_store_entity_query(app->store, &q, &page, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        goto out;
    }
    size_t first = 0, avail = page.len, total = page.total;
    if (scan) {
        char term[MAX_TERM + 1];
        lower_copy(term, st->term, sizeof term);
        match = malloc((page.len ? page.len : 1) * sizeof *match);
        if (!match) {
            out_of_memory(resp);
            goto out;
        }
        size_t nm = 0;
        for (size_t i = 0; i < page.len; i++) {
            json_t *e = json_loads(page.items[i], 0, NULL);
            if (!e) {
                cw_resp_problem(resp, 500, "stored entity %s is not valid JSON", page.keys[i]);
                goto out;
            }
            bool hit = false;
            for (size_t k = 0; k < st->text_fields.n && !hit; k++)
                hit = text_matches(e, st->text_fields.paths[k], term, 0);
            json_decref(e);
            if (hit)
                match[nm++] = i;
        }
        total = nm;
        first = st->pos < nm ? st->pos : nm;
        avail = nm - first;
    }
    size_t shown = 0;
    bool more = false;
    char last[CW_REF_MAX] = "";
    err = cw_buf_puts(&out, "{\"items\":[");
    while (!err) {
        size_t n = scan ? avail : page.len < q.limit - 1 ? page.len : q.limit - 1, i = 0;
        for (; i < n && !err && shown < st->limit && !cw_page_full(out.len); i++, shown++) {
            size_t idx = scan ? match[first + i] : i;
            if (shown)
                err = cw_buf_putc(&out, ',');
            if (!err)
                err = append_entity(&out, page.items[idx], fields);
            snprintf(last, sizeof last, "%s", page.keys[idx]);
        }
        more = scan ? avail > shown : page.len > i;
        if (scan || err || !more || shown == st->limit || cw_page_full(out.len))
            break;
        q.limit = cw_page_chunk(st->limit - shown, shown, out.len) + 1;
        if (keyset) {
            q.after_key = last;
            q.offset = 0;
        } else {
            q.offset = st->pos + shown;
        }
        cw_entity_page_free(&page);
        if ((err = cw_store_entity_query(app->store, &q, &page, &d))) {
            cw_resp_error(resp, err, &d);
            goto out;
        }
    }
    if (!err)
        err = cw_buf_printf(&out, "],\"totalItems\":%zu,\"pageInfo\":{",
                            st->exclude_total ? (size_t)0 : total);
    if (!err && more) {
        next = bq_cursor(st, st->pos + shown, keyset ? last : "");
        err = next ? cw_buf_puts(&out, "\"nextCursor\":") : CW_ERR_NOMEM;
        if (!err)
            err = cw_buf_json_str(&out, next);
    }
    if (!err && st->pos > 0) {
        prev = bq_cursor(st, st->pos > st->limit ? st->pos - st->limit : 0, "");
        err = prev ? cw_buf_puts(&out, more ? ",\"prevCursor\":" : "\"prevCursor\":")
                   : CW_ERR_NOMEM;
        if (!err)
            err = cw_buf_json_str(&out, prev);
    }
    if (!err)
        err = cw_buf_puts(&out, "}}");
    if (err) {
        cw_resp_error(resp, err, NULL);
        goto out;
    }
    cw_resp_json_text(resp, 200, cw_buf_cstr(&out), out.len);
out:
    free(next);
    free(prev);
    free(match);
    cw_buf_free(&out);
    cw_entity_page_free(&page);
    cw_filter_owned_free(f);
}

static void get_by_query(cw_app *app, cw_req *req, cw_resp *resp)
{
    bq_state st;
    memset(&st, 0, sizeof st);
    pathlist fields = {0};
    const char *vals[CW_MAX_QUERY_PARAMS];
    size_t n = cw_req_query_all(req, "fields", vals, CW_MAX_QUERY_PARAMS);
    if (!parse_paths(vals, n, "query parameter 'fields'", &fields, resp))
        goto out;
    /* With a cursor, Backstage ignores filter, orderField and the
     * full-text filter: the cursor's own query applies. */
    const char *cursor = cw_req_query(req, "cursor");
    if (cursor ? !bq_from_cursor(cursor, &st, resp) : !bq_from_params(req, &st, resp))
        goto out;
    if (cw_req_query(req, "limit")) {
        uint64_t limit;
        if (!cw_req_query_uint(req, resp, "limit", QUERY_DEFAULT_LIMIT, 1, UINT32_MAX, &limit))
            goto out;
        st.limit = limit > QUERY_MAX_LIMIT ? QUERY_MAX_LIMIT : (size_t)limit;
    }
    run_by_query(app, &st, &fields, resp);
out:
    bq_free(&st);
    pathlist_free(&fields);
}

/* ---- POST /api/catalog/entities/by-refs ---------------------------------------- */

/* Whether the entity `ref` also matches the Backstage filter. */
static cw_err ref_matches_filter(cw_app *app, const char *const *fvals, size_t nf,
                                 const cw_ref *ref, bool *match, cw_diag *d)
{
    cw_filter_owned *f = NULL;
    cw_entity_page page = {0};
    char kind[CW_NAME_MAX + 1], ns[CW_NAME_MAX + 1], name[CW_NAME_MAX + 1];
    lower_copy(kind, ref->kind, sizeof kind);
    lower_copy(ns, ref->namespace_, sizeof ns);
    lower_copy(name, ref->name, sizeof name);
    cw_err err = cw_filter_parse_backstage(fvals, nf, &f, d);
    if (!err)
        err = cw_filter_add_condition(f, "kind", kind, d);
    if (!err)
        err = cw_filter_add_condition(f, "metadata.namespace", ns, d);
    if (!err)
        err = cw_filter_add_condition(f, "metadata.name", name, d);
    if (!err) {
        cw_entity_query q = {.filter = &f->filter, .limit = 0};
        err = cw_store_entity_query(app->store, &q, &page, d);
    }
    *match = !err && page.total > 0;
    cw_entity_page_free(&page);
    cw_filter_owned_free(f);
    return err;
}

/* The answer is streamed (bounded.h): up to MAX_REFS entities, read one by
 * one as the client takes them. */
typedef struct {
    cw_app *app;
    cw_ref *refs;
    size_t n, done_refs;
    char *fvals[CW_MAX_QUERY_PARAMS]; /* copies of the filter values */
    size_t nf;
    pathlist fields;
    bool opened;
} refs_stream;

static void refs_stream_free(void *p)
{
    refs_stream *rs = p;
    free(rs->refs);
    for (size_t i = 0; i < rs->nf; i++)
        free(rs->fvals[i]);
    pathlist_free(&rs->fields);
    free(rs);
}

static cw_err refs_next(void *p, cw_buf *out, bool *done, cw_diag *d)
{
    refs_stream *rs = p;
    cw_err err = CW_OK;
    if (!rs->opened) {
        rs->opened = true;
        err = cw_buf_puts(out, "{\"items\":[");
    }
    size_t start = out->len;
    while (!err && rs->done_refs < rs->n && out->len - start < CW_STREAM_PIECE_BYTES) {
        const cw_ref *ref = &rs->refs[rs->done_refs];
        char *json = NULL;
        if (rs->done_refs && (err = cw_buf_putc(out, ',')))
            break;
        err = cw_store_entity_get(rs->app->store, ref->kind, ref->namespace_, ref->name, &json,
                                  NULL, d);
        bool keep = !err;
        if (!err && rs->nf)
            err = ref_matches_filter(rs->app, (const char *const *)rs->fvals, rs->nf, ref, &keep,
                                     d);
        if (err == CW_ERR_NOT_FOUND) {
            keep = false;
            err = CW_OK;
        }
        if (!err)
            err = keep ? append_entity(out, json, &rs->fields) : cw_buf_puts(out, "null");
        free(json);
        rs->done_refs++;
    }
    if (!err && rs->done_refs == rs->n) {
        *done = true;
        err = cw_buf_puts(out, "]}");
    }
    return err;
}

static void post_by_refs(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_filter_owned *f = NULL;
    refs_stream *rs = calloc(1, sizeof *rs);
    json_t *body = NULL;
    if (!rs) {
        out_of_memory(resp);
        return;
    }
    rs->app = app;
    const char *fvals[CW_MAX_QUERY_PARAMS];
    size_t nf = cw_req_query_all(req, "filter", fvals, CW_MAX_QUERY_PARAMS);
    body = cw_req_json_body(req, resp);
    if (!body)
        goto fail;
    if (!json_is_object(body)) {
        cw_resp_problem(resp, 400, "request body: expected an object {\"entityRefs\": [...]}");
        goto fail;
    }
    if (json_object_get(body, "query")) {
        cw_resp_problem(resp, 400,
                        "request body: query: predicate queries are not supported; use the "
                        "filter query parameter");
        goto fail;
    }
    /* Validate the filter once up front so a bad one is a 400 even when no
     * entity is found. */
    if (!parse_filter(fvals, nf, &f, resp))
        goto fail;
    json_t *jrefs = json_object_get(body, "entityRefs");
    if (!json_is_array(jrefs)) {
        cw_resp_problem(resp, 400, "request body: entityRefs must be an array of entity refs");
        goto fail;
    }
    size_t n = json_array_size(jrefs);
    if (n > MAX_REFS) {
        cw_resp_problem(resp, 400, "request body: entityRefs: at most %d refs per request",
                        MAX_REFS);
        goto fail;
    }
    json_t *jfields = json_object_get(body, "fields");
    if (jfields && !json_is_null(jfields)) {
        const char *paths[MAX_PATHS];
        size_t i;
        json_t *v;
        if (!json_is_array(jfields) || json_array_size(jfields) > MAX_PATHS) {
            cw_resp_problem(resp, 400, "request body: fields must be an array of at most %d paths",
                            MAX_PATHS);
            goto fail;
        }
        json_array_foreach(jfields, i, v) {
            paths[i] = json_string_value(v);
            if (!paths[i]) {
                cw_resp_problem(resp, 400, "request body: fields[%zu] must be a string", i);
                goto fail;
            }
        }
        if (!parse_paths(paths, json_array_size(jfields), "request body: fields", &rs->fields,
                         resp))
            goto fail;
    }
    rs->refs = malloc((n ? n : 1) * sizeof *rs->refs);
    if (!rs->refs) {
        out_of_memory(resp);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        const char *text = json_string_value(json_array_get(jrefs, i));
        cw_diag d = {{0}};
        if (!text) {
            cw_resp_problem(resp, 400, "request body: entityRefs[%zu] must be a string", i);
            goto fail;
        }
        if (cw_ref_parse(text, NULL, NULL, &rs->refs[i], &d)) {
            cw_resp_problem(resp, 400, "request body: entityRefs[%zu]: %s", i, d.msg);
            goto fail;
        }
    }
    rs->n = n;
    for (size_t i = 0; i < nf; i++) {
        if (!(rs->fvals[i] = strdup(fvals[i]))) {
            out_of_memory(resp);
            goto fail;
        }
        rs->nf = i + 1;
    }
    json_decref(body);
    cw_filter_owned_free(f);
    cw_resp_stream(req, resp, 200, "application/json", refs_next, refs_stream_free, rs);
    return;
fail:
    json_decref(body);
    cw_filter_owned_free(f);
    refs_stream_free(rs);
}

/* ---- GET /api/catalog/entity-facets -------------------------------------------- */

static void get_facets(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_filter_owned *f = NULL;
    json_t *found = NULL, *facets = NULL;
    char keys[MAX_FACETS][MAX_PATH_LEN + 1];
    const char *key_ptrs[MAX_FACETS];
    const char *names[MAX_FACETS];
    const char *fvals[CW_MAX_QUERY_PARAMS];
    size_t n = cw_req_query_all(req, "facet", names, MAX_FACETS);
    if (n == 0) {
        cw_resp_problem(resp, 400, "query parameter 'facet': at least one facet is required, "
                                   "e.g. facet=kind");
        goto out;
    }
    if (cw_req_query_all(req, "facet", fvals, CW_MAX_QUERY_PARAMS) > MAX_FACETS) {
        cw_resp_problem(resp, 400, "query parameter 'facet': at most %d facets", MAX_FACETS);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!valid_path(names[i], strlen(names[i]))) {
            cw_resp_problem(resp, 400,
                            "query parameter 'facet': '%.80s' is not a dotted path such as "
                            "spec.type",
                            names[i]);
            goto out;
        }
        lower_copy(keys[i], names[i], sizeof keys[i]);
        key_ptrs[i] = keys[i];
    }
    size_t nf = cw_req_query_all(req, "filter", fvals, CW_MAX_QUERY_PARAMS);
    if (!parse_filter(fvals, nf, &f, resp))
        goto out;
    cw_diag d = {{0}};
    cw_err err = cw_store_entity_facets(app->store, key_ptrs, n, &f->filter, &found, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        goto out;
    }
    /* Answer under the names as asked ("relations.ownedBy"), not the
     * lower-cased search keys. */
    facets = json_object();
    for (size_t i = 0; facets && i < n; i++) {
        json_t *vals = json_object_get(found, keys[i]);
        if (json_object_set_new(facets, names[i], vals ? json_incref(vals) : json_array())) {
            json_decref(facets);
            facets = NULL;
        }
    }
    cw_resp_json(resp, 200, facets ? json_pack("{s:o}", "facets", facets) : NULL);
out:
    json_decref(found);
    cw_filter_owned_free(f);
}

/* ---- routes --------------------------------------------------------------------- */

static const char *const list_params[] = {"filter", "fields", "limit", "offset", "after",
                                          "order", NULL};
static const char *const query_params[] = {"filter", "fields", "limit", "offset", "orderField",
                                           "cursor", "totalItems", "fullTextFilterTerm",
                                           "fullTextFilterFields", NULL};
static const char *const refs_params[] = {"filter", NULL};
static const char *const facet_params[] = {"facet", "filter", NULL};
static const char *const no_params[] = {NULL};

const cw_route cw_routes_backstage[] = {
    {"GET", "/api/catalog/entities", get_entities, CW_AUTH_READ, list_params},
    {"GET", "/api/catalog/entities/by-query", get_by_query, CW_AUTH_READ, query_params},
    {"POST", "/api/catalog/entities/by-refs", post_by_refs, CW_AUTH_READ, refs_params},
    {"GET", "/api/catalog/entities/by-name/{kind}/{namespace}/{name}", get_by_name, CW_AUTH_READ,
     no_params},
    {"GET", "/api/catalog/entities/by-uid/{uid}", get_by_uid, CW_AUTH_READ, no_params},
    {"GET", "/api/catalog/entity-facets", get_facets, CW_AUTH_READ, facet_params},
    {NULL, NULL, NULL, 0, NULL},
};
