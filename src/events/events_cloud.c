/*
 * events_cloud.c — CloudEvents 1.0 transport decoding of CDEvents: HTTP
 * binary, structured and batch modes, plain CDEvents JSON and NDJSON
 * (standards.md §1.7, §2.2, §2.3). Picks the mode from Content-Type, bounds
 * event count and nesting, and hands each CDEvent to cw_cdevent_decode.
 */
#include "events/events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/events_int.h"

#define JSON_FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)

typedef enum {
    MODE_BINARY,
    MODE_STRUCTURED,
    MODE_BATCH,
    MODE_PLAIN,
    MODE_NDJSON
} decode_mode;

const char *cw_header_array_get(void *array, const char *name)
{
    const cw_header_array *a = array;
    for (size_t i = 0; a && i < a->n; i++)
        if (a->items[i].name && cw__ieq(a->items[i].name, name))
            return a->items[i].value;
    return NULL;
}

void cw_event_batch_free(cw_event_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->len; i++)
        cw_event_free(&b->items[i]);
    free(b->items);
    b->items = NULL;
    b->len = 0;
}

static const char *header(const cw_header_lookup *h, const char *name)
{
    return h && h->get ? h->get(h->ctx, name) : NULL;
}

/* ---- small parsers -------------------------------------------------------- */

static bool is_space(char c) { return c == ' ' || c == '\t'; }

/* Copies s[0..n) trimmed of spaces and lower-cased into out; false when it
 * does not fit. */
static bool trimmed_lower(const char *s, size_t n, char *out, size_t cap)
{
    while (n && is_space(*s))
        s++, n--;
    while (n && is_space(s[n - 1]))
        n--;
    if (n >= cap)
        return false;
    for (size_t i = 0; i < n; i++)
        out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
    out[n] = '\0';
    return true;
}

/* Splits a Content-Type into its lower-cased media type and checks that any
 * charset parameter is UTF-8. */
static cw_err parse_content_type(const char *ct, char mt[128], cw_diag *d)
{
    if (!ct)
        ct = "";
    const char *semi = strchr(ct, ';');
    size_t n = semi ? (size_t)(semi - ct) : strlen(ct);
    if (!trimmed_lower(ct, n, mt, 128))
        return cw_fail(d, CW_ERR_UNSUPPORTED, "Content-Type: not supported");
    while (semi) {
        const char *p = semi + 1;
        semi = strchr(p, ';');
        size_t plen = semi ? (size_t)(semi - p) : strlen(p);
        const char *eq = memchr(p, '=', plen);
        if (!eq)
            continue;
        char name[32], value[64];
        if (!trimmed_lower(p, (size_t)(eq - p), name, sizeof name) || strcmp(name, "charset") != 0)
            continue;
        if (!trimmed_lower(eq + 1, plen - (size_t)(eq + 1 - p), value, sizeof value))
            return cw_fail(d, CW_ERR_UNSUPPORTED, "Content-Type: charset not supported (use UTF-8)");
        const char *v = value;
        size_t vl = strlen(v);
        if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
            value[vl - 1] = '\0';
            v++;
        }
        if (strcmp(v, "utf-8") != 0 && strcmp(v, "utf8") != 0)
            return cw_fail(d, CW_ERR_UNSUPPORTED,
                           "Content-Type: charset \"%.40s\" not supported (use UTF-8)", v);
    }
    return CW_OK;
}

/* True for application/json, any "x/json" and any "x/y+json" media type. */
static bool is_json_media_type(const char *attr)
{
    char mt[128];
    const char *semi = strchr(attr, ';');
    size_t n = semi ? (size_t)(semi - attr) : strlen(attr);
    if (!trimmed_lower(attr, n, mt, sizeof mt))
        return false;
    const char *slash = strchr(mt, '/');
    if (!slash || slash == mt)
        return false;
    size_t len = strlen(mt);
    return strcmp(slash, "/json") == 0 || (len > 5 && strcmp(mt + len - 5, "+json") == 0);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Strict UTF-8 (no overlongs, surrogates or > U+10FFFF) without control
 * characters (CloudEvents String excludes U+0000–U+001F and U+007F–U+009F). */
static bool valid_ce_string(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return false;
            i++;
            continue;
        }
        unsigned cp, need;
        if (c >= 0xc2 && c <= 0xdf)
            cp = c & 0x1f, need = 1;
        else if (c >= 0xe0 && c <= 0xef)
            cp = c & 0x0f, need = 2;
        else if (c >= 0xf0 && c <= 0xf4)
            cp = c & 0x07, need = 3;
        else
            return false;
        for (unsigned k = 1; k <= need; k++) {
            if (i + k >= n || (s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
            return false;
        i += need + 1;
    }
    return true;
}

/*
 * Decodes a binary-mode header value (standards.md §2.2): an optional RFC 7230
 * quoted string is unquoted first, then exactly one round of percent-decoding;
 * the result must be valid UTF-8 without control characters. *out is
 * malloc'd (caller frees) on success.
 */
static cw_err decode_header_value(const char *name, const char *raw, char **out, cw_diag *d)
{
    size_t n = strlen(raw);
    char *tmp = malloc(n + 1), *res = NULL;
    cw_err err = CW_OK;
    if (!tmp)
        return CW_ERR_NOMEM;
    /* Unquote. */
    size_t m = 0;
    if (n >= 2 && raw[0] == '"' && raw[n - 1] == '"') {
        for (size_t i = 1; i + 1 < n; i++) {
            if (raw[i] == '\\' && i + 2 < n)
                i++;
            tmp[m++] = raw[i];
        }
    } else {
        memcpy(tmp, raw, n);
        m = n;
    }
    res = malloc(m + 1);
    if (!res) {
        err = CW_ERR_NOMEM;
        goto out;
    }
    size_t k = 0;
    for (size_t i = 0; i < m; i++) {
        if (tmp[i] != '%') {
            res[k++] = tmp[i];
            continue;
        }
        int hi = i + 2 < m ? hexval(tmp[i + 1]) : -1;
        int lo = i + 2 < m ? hexval(tmp[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
            err = cw_fail(d, CW_ERR_INVALID, "%s: invalid percent-encoding", name);
            goto out;
        }
        res[k++] = (char)(hi * 16 + lo);
        i += 2;
    }
    res[k] = '\0';
    if (!valid_ce_string((const unsigned char *)res, k)) {
        err = cw_fail(d, CW_ERR_INVALID, "%s: not valid UTF-8 text", name);
        goto out;
    }
    *out = res;
    res = NULL;
out:
    free(tmp);
    free(res);
    return err;
}

static bool depth_ok(const json_t *v, int left)
{
    if (left < 0)
        return false;
    if (json_is_object(v)) {
        const char *k;
        const json_t *c;
        if (left == 0 && json_object_size(v))
            return false;
        json_object_foreach((json_t *)v, k, c) {
            if (!depth_ok(c, left - 1))
                return false;
        }
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *c;
        json_array_foreach(v, i, c) {
            if (!depth_ok(c, left - 1))
                return false;
        }
    }
    return true;
}

/* Parses a JSON text with the request's depth bound. where names it in errors
 * ("body", "line 3", "data_base64"). */
static cw_err parse_json(const char *text, size_t len, int max_depth, const char *where,
                         json_t **out, cw_diag *d)
{
    /* the fast path's values pass the depth rule by construction */
    json_t *v = cw__json_parse_fast(text, len, max_depth, NULL);
    if (v) {
        *out = v;
        return CW_OK;
    }
    json_error_t je;
    v = json_loadb(text, len, JSON_FLAGS, &je);
    if (!v) {
        if (json_error_code(&je) == json_error_stack_overflow)
            return cw_fail(d, CW_ERR_TOO_LARGE, "%s: JSON nested deeper than %d levels", where,
                           max_depth);
        if (strncmp(where, "line ", 5) == 0) /* NDJSON: the line is already named */
            return cw_fail(d, CW_ERR_INVALID, "%s: invalid JSON: %s (column %d)", where, je.text,
                           je.column);
        return cw_fail(d, CW_ERR_INVALID, "%s: invalid JSON: %s (line %d, column %d)", where, je.text,
                       je.line, je.column);
    }
    /* Containers at depth max_depth may not have children. */
    if (!depth_ok(v, max_depth - 1)) {
        json_decref(v);
        return cw_fail(d, CW_ERR_TOO_LARGE, "%s: JSON nested deeper than %d levels", where,
                       max_depth);
    }
    *out = v;
    return CW_OK;
}

#define b64_invalid 0xff

static unsigned char b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return (unsigned char)(c - 'A');
    if (c >= 'a' && c <= 'z')
        return (unsigned char)(c - 'a' + 26);
    if (c >= '0' && c <= '9')
        return (unsigned char)(c - '0' + 52);
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return b64_invalid;
}

/* RFC 4648 base64 (padding optional); *out malloc'd, *outlen its length. */
static bool base64_decode(const char *s, char **out, size_t *outlen)
{
    size_t n = strlen(s);
    while (n && s[n - 1] == '=')
        n--;
    if (strlen(s) - n > 2 || n % 4 == 1)
        return false;
    char *buf = malloc(n / 4 * 3 + 3);
    if (!buf)
        return false;
    size_t k = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char v = b64val((unsigned char)s[i]);
        if (v == b64_invalid) {
            free(buf);
            return false;
        }
        acc = (acc << 6) | v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[k++] = (char)((acc >> bits) & 0xff);
        }
    }
    *out = buf;
    *outlen = k;
    return true;
}

/* ---- structured mode ------------------------------------------------------ */

static cw_err ce_attr(const json_t *ce, const char *key, const char **out, cw_diag *d)
{
    const json_t *v = json_object_get(ce, key);
    if (!v || json_is_null(v))
        return cw_fail(d, CW_ERR_INVALID, "%s: required", key);
    if (!json_is_string(v) || !*json_string_value(v))
        return cw_fail(d, CW_ERR_INVALID, "%s: must be a non-empty string", key);
    *out = json_string_value(v);
    return CW_OK;
}

/* The CloudEvent id/source/type must equal the CDEvent's (standards.md §1.7). */
static cw_err check_binding(const char *ce_id, const char *ce_source, const char *ce_type,
                            const cw_event *ev, const char *prefix, cw_diag *d)
{
    if (strcmp(ce_id, ev->id) != 0)
        return cw_fail(d, CW_ERR_INVALID, "%sid: \"%.80s\" does not match context.id \"%.80s\"",
                       prefix, ce_id, ev->id);
    if (strcmp(ce_source, ev->source) != 0)
        return cw_fail(d, CW_ERR_INVALID,
                       "%ssource: \"%.80s\" does not match context.source \"%.80s\"", prefix,
                       ce_source, ev->source);
    if (strcmp(ce_type, ev->type) != 0)
        return cw_fail(d, CW_ERR_INVALID, "%stype: \"%.80s\" does not match context.type \"%.80s\"",
                       prefix, ce_type, ev->type);
    return CW_OK;
}

static cw_err cloudevent_decode(json_t *ce, int max_depth, cw_event *out, cw_diag *d)
{
    cw_err err;
    json_t *parsed = NULL;
    char *bytes = NULL;
    const char *id = NULL, *source = NULL, *type = NULL, *specversion = NULL;
    memset(out, 0, sizeof *out);
    if (!json_is_object(ce))
        return cw_fail(d, CW_ERR_INVALID, "must be a JSON object (a CloudEvent)");
    if ((err = ce_attr(ce, "specversion", &specversion, d)))
        return err;
    if (strcmp(specversion, "1.0") != 0)
        return cw_fail(d, CW_ERR_INVALID, "specversion: must be \"1.0\"");
    if ((err = ce_attr(ce, "id", &id, d)) || (err = ce_attr(ce, "source", &source, d)) ||
        (err = ce_attr(ce, "type", &type, d)))
        return err;
    const json_t *dct = json_object_get(ce, "datacontenttype");
    if (dct && !json_is_null(dct) &&
        (!json_is_string(dct) || !is_json_media_type(json_string_value(dct))))
        return cw_fail(d, CW_ERR_INVALID,
                       "datacontenttype: must be a JSON media type (the data is a CDEvent)");
    json_t *data = json_object_get(ce, "data");
    const json_t *b64 = json_object_get(ce, "data_base64");
    if (data && b64)
        return cw_fail(d, CW_ERR_INVALID, "data_base64: not allowed together with data");
    if (b64) {
        size_t n;
        if (!json_is_string(b64) || !base64_decode(json_string_value(b64), &bytes, &n))
            return cw_fail(d, CW_ERR_INVALID, "data_base64: not valid base64");
        if ((err = parse_json(bytes, n, max_depth, "data_base64", &parsed, d)))
            goto out;
        data = parsed;
    }
    if (!data) {
        err = cw_fail(d, CW_ERR_INVALID, "data: required (the CDEvent)");
        goto out;
    }
    if (!json_is_object(data)) {
        err = cw_fail(d, CW_ERR_INVALID, "data: must be a JSON object (the CDEvent)");
        goto out;
    }
    if ((err = cw_cdevent_decode(data, out, d)))
        goto out;
    if ((err = check_binding(id, source, type, out, "", d)))
        cw_event_free(out);
out:
    json_decref(parsed);
    free(bytes);
    return err;
}

cw_err cw_cloudevent_decode(json_t *ce, cw_event *out, cw_diag *d)
{
    return cloudevent_decode(ce, CW_EVENTS_DEFAULT_MAX_DEPTH, out, d);
}

cw_err cw_events_decode_body(const char *content_type, const char *body, size_t len,
                             const cw_event_limits *limits, cw_event_batch *out, cw_diag *d)
{
    return cw_events_decode_http(content_type, NULL, body, len, limits, out, d);
}

/* ---- request decoding ----------------------------------------------------- */

typedef struct {
    size_t max_events;
    int max_depth;
    size_t max_event_bytes;
} limits_t;

/*
 * One event's size (cw_event_check_size) against the limit. text_len is the
 * length of the text the event was parsed from (the line, or the whole
 * body): the compact JSON of a value parsed from n bytes is at most 8n
 * bytes (a number such as 1e9 grows the most), so small inputs are not
 * measured. The caller prefixes the event's index.
 */
static cw_err check_size(const cw_event *ev, size_t text_len, const limits_t *lim, cw_diag *d)
{
    if (!ev->compact && text_len <= lim->max_event_bytes / 8)
        return CW_OK;
    return cw_event_check_size(ev, lim->max_event_bytes, d);
}

static cw_err batch_reserve(cw_event_batch *b, size_t *cap, size_t want)
{
    if (want <= *cap)
        return CW_OK;
    size_t nc = *cap ? *cap * 2 : 16;
    while (nc < want)
        nc *= 2;
    cw_event *p = realloc(b->items, nc * sizeof *p);
    if (!p)
        return CW_ERR_NOMEM;
    memset(p + *cap, 0, (nc - *cap) * sizeof *p);
    b->items = p;
    *cap = nc;
    return CW_OK;
}

static cw_err too_many(size_t n, const limits_t *lim, cw_diag *d)
{
    return cw_fail(d, CW_ERR_TOO_LARGE, "body: %zu events, more than the limit of %zu", n,
                   lim->max_events);
}

/* "events[i]: msg" reads better as "events[i].field: msg" when msg starts
 * with a field path; cw_diag_prefix gives the former, this the latter. */
static void index_prefix(cw_diag *d, const char *lead, size_t i)
{
    if (!d)
        return;
    /* A message that starts with a field path ("context.id: ...") is joined
     * with '.', a bare one ("must be ...") with ": ". */
    const char *colon = strstr(d->msg, ": ");
    const char *space = strchr(d->msg, ' ');
    bool path = colon && (!space || colon < space);
    char tmp[sizeof d->msg + 128];
    snprintf(tmp, sizeof tmp, "%.60sevents[%zu]%s%s", lead, i, path ? "." : ": ", d->msg);
    size_t n = strlen(tmp);
    if (n >= sizeof d->msg)
        n = sizeof d->msg - 1;
    memcpy(d->msg, tmp, n);
    d->msg[n] = '\0';
}

/* Decodes each element of a JSON array (CDEvents or CloudEvents) parsed
 * from text_len bytes. */
static cw_err decode_array(json_t *arr, bool cloudevents, size_t text_len, const limits_t *lim,
                           cw_event_batch *out, cw_diag *d)
{
    size_t n = json_array_size(arr);
    if (n > lim->max_events)
        return too_many(n, lim, d);
    if (n == 0)
        return CW_OK;
    out->items = calloc(n, sizeof *out->items);
    if (!out->items)
        return CW_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *el = json_array_get(arr, i);
        cw_err err = cloudevents ? cloudevent_decode(el, lim->max_depth, &out->items[i], d)
                                 : cw_cdevent_decode(el, &out->items[i], d);
        if (!err)
            out->len = i + 1;
        if (!err)
            err = check_size(&out->items[i], text_len, lim, d);
        if (err) {
            if (err != CW_ERR_NOMEM)
                index_prefix(d, "", i);
            return err;
        }
    }
    return CW_OK;
}

static cw_err decode_ndjson(const char *body, size_t len, const limits_t *lim, cw_event_batch *out,
                            cw_diag *d)
{
    size_t cap = 0, line = 0, pos = 0;
    cw_err err = CW_OK;
    json_t *v = NULL;
    while (pos < len) {
        const char *start = body + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - start) : len - pos;
        pos += n + (nl ? 1 : 0);
        line++;
        size_t k = 0;
        while (k < n && (start[k] == ' ' || start[k] == '\t' || start[k] == '\r'))
            k++;
        if (k == n)
            continue;
        if (out->len == lim->max_events) {
            err = cw_fail(d, CW_ERR_TOO_LARGE, "line %zu: more than the limit of %zu events", line,
                          lim->max_events);
            goto out;
        }
        /* the line's name is only needed for an error: format it then */
        bool compact = false;
        v = cw__json_parse_fast(start, n, lim->max_depth, &compact);
        if (!v) {
            char where[32];
            snprintf(where, sizeof where, "line %zu", line);
            if ((err = parse_json(start, n, lim->max_depth, where, &v, d)))
                goto out;
        }
        if ((err = batch_reserve(out, &cap, out->len + 1)))
            goto out;
        err = cw_cdevent_decode(v, &out->items[out->len], d);
        json_decref(v);
        v = NULL;
        if (err) {
            if (err != CW_ERR_NOMEM) {
                char lead[40];
                snprintf(lead, sizeof lead, "line %zu: ", line);
                index_prefix(d, lead, out->len);
            }
            goto out;
        }
        /* a compact line is the body the store keeps: no re-serialising
         * (without the copy the store serialises raw instead) */
        if (compact && (out->items[out->len].compact = malloc(n + 1))) {
            memcpy(out->items[out->len].compact, start, n);
            out->items[out->len].compact[n] = '\0';
        }
        out->len++;
        if ((err = check_size(&out->items[out->len - 1], n, lim, d))) {
            char lead[40];
            snprintf(lead, sizeof lead, "line %zu: ", line);
            index_prefix(d, lead, out->len - 1);
            goto out;
        }
    }
out:
    json_decref(v);
    return err;
}

static cw_err decode_binary(const cw_header_lookup *h, const char *body, size_t len,
                            const limits_t *lim, cw_event_batch *out, cw_diag *d)
{
    static const char *const names[] = {"ce-specversion", "ce-id", "ce-source", "ce-type"};
    char *val[4] = {NULL, NULL, NULL, NULL};
    json_t *root = NULL;
    cw_err err = CW_OK;
    for (int i = 0; i < 4; i++) {
        const char *raw = header(h, names[i]);
        if (!raw) {
            err = cw_fail(d, CW_ERR_INVALID, "%s: required header", names[i]);
            goto fail;
        }
        if ((err = decode_header_value(names[i], raw, &val[i], d)))
            goto fail;
        if (!*val[i]) {
            err = cw_fail(d, CW_ERR_INVALID, "%s: must not be empty", names[i]);
            goto fail;
        }
    }
    if (strcmp(val[0], "1.0") != 0) {
        err = cw_fail(d, CW_ERR_INVALID, "ce-specversion: must be \"1.0\"");
        goto fail;
    }
    if ((err = parse_json(body, len, lim->max_depth, "body", &root, d)))
        goto out;
    out->items = calloc(1, sizeof *out->items);
    if (!out->items) {
        err = CW_ERR_NOMEM;
        goto out;
    }
    if ((err = cw_cdevent_decode(root, &out->items[0], d)))
        goto fail;
    out->len = 1;
    if ((err = check_binding(val[1], val[2], val[3], &out->items[0], "ce-", d)) ||
        (err = check_size(&out->items[0], len, lim, d)))
        goto fail;
    goto out;
fail:
    if (err != CW_ERR_NOMEM)
        index_prefix(d, "", 0);
out:
    for (int i = 0; i < 4; i++)
        free(val[i]);
    json_decref(root);
    return err;
}

static bool has_ce_headers(const cw_header_lookup *h)
{
    return header(h, "ce-specversion") || header(h, "ce-id") || header(h, "ce-source") ||
           header(h, "ce-type");
}

static cw_err pick_mode(const char *content_type, const cw_header_lookup *h, decode_mode *mode,
                        cw_diag *d)
{
    char mt[128];
    cw_err err = parse_content_type(content_type, mt, d);
    if (err)
        return err;
    if (!*mt)
        return cw_fail(d, CW_ERR_UNSUPPORTED, "Content-Type: required");
    if (strcmp(mt, "application/cloudevents-batch+json") == 0)
        *mode = MODE_BATCH;
    else if (strcmp(mt, "application/cloudevents+json") == 0)
        *mode = MODE_STRUCTURED;
    else if (strncmp(mt, "application/cloudevents", 23) == 0)
        return cw_fail(d, CW_ERR_UNSUPPORTED,
                       "Content-Type: CloudEvents format \"%.60s\" not supported (use JSON)", mt);
    else if (strcmp(mt, "application/json") == 0)
        *mode = has_ce_headers(h) ? MODE_BINARY : MODE_PLAIN;
    else if (strcmp(mt, "application/x-ndjson") == 0 || strcmp(mt, "application/ndjson") == 0)
        *mode = MODE_NDJSON;
    else if (has_ce_headers(h))
        return cw_fail(d, CW_ERR_UNSUPPORTED,
                       "Content-Type: binary-mode CloudEvents must carry application/json, not "
                       "\"%.60s\"",
                       mt);
    else
        return cw_fail(d, CW_ERR_UNSUPPORTED,
                       "Content-Type: \"%.60s\" not supported (use application/json, "
                       "application/cloudevents+json, application/cloudevents-batch+json or "
                       "application/x-ndjson)",
                       mt);
    return CW_OK;
}

cw_err cw_events_decode_http(const char *content_type, const cw_header_lookup *headers,
                             const char *body, size_t len, const cw_event_limits *limits,
                             cw_event_batch *out, cw_diag *d)
{
    limits_t lim = {CW_EVENTS_DEFAULT_MAX_EVENTS, CW_EVENTS_DEFAULT_MAX_DEPTH,
                    CW_EVENTS_DEFAULT_MAX_EVENT_BYTES};
    if (limits && limits->max_events)
        lim.max_events = limits->max_events;
    if (limits && limits->max_depth > 0)
        lim.max_depth = limits->max_depth;
    if (limits && limits->max_event_bytes)
        lim.max_event_bytes = limits->max_event_bytes;
    out->items = NULL;
    out->len = 0;
    if (!body)
        body = "";
    json_t *root = NULL;
    decode_mode mode = MODE_PLAIN;
    cw_err err = pick_mode(content_type, headers, &mode, d);
    if (err)
        return err;
    switch (mode) {
    case MODE_BINARY:
        err = decode_binary(headers, body, len, &lim, out, d);
        break;
    case MODE_NDJSON:
        err = decode_ndjson(body, len, &lim, out, d);
        break;
    case MODE_STRUCTURED:
        if ((err = parse_json(body, len, lim.max_depth, "body", &root, d)))
            break;
        if (!(out->items = calloc(1, sizeof *out->items))) {
            err = CW_ERR_NOMEM;
            break;
        }
        if ((err = cloudevent_decode(root, lim.max_depth, &out->items[0], d))) {
            if (err != CW_ERR_NOMEM)
                index_prefix(d, "", 0);
            break;
        }
        out->len = 1;
        if ((err = check_size(&out->items[0], len, &lim, d)))
            index_prefix(d, "", 0);
        break;
    case MODE_BATCH:
        if ((err = parse_json(body, len, lim.max_depth, "body", &root, d)))
            break;
        if (!json_is_array(root)) {
            err = cw_fail(d, CW_ERR_INVALID, "body: must be a JSON array of CloudEvents");
            break;
        }
        err = decode_array(root, true, len, &lim, out, d);
        break;
    case MODE_PLAIN:
        if ((err = parse_json(body, len, lim.max_depth, "body", &root, d)))
            break;
        if (json_is_array(root)) {
            err = decode_array(root, false, len, &lim, out, d);
            break;
        }
        if (!(out->items = calloc(1, sizeof *out->items))) {
            err = CW_ERR_NOMEM;
            break;
        }
        if ((err = cw_cdevent_decode(root, &out->items[0], d))) {
            if (err != CW_ERR_NOMEM)
                index_prefix(d, "", 0);
            break;
        }
        out->len = 1;
        if ((err = check_size(&out->items[0], len, &lim, d)))
            index_prefix(d, "", 0);
        break;
    }
    json_decref(root);
    if (err)
        cw_event_batch_free(out);
    return err;
}
