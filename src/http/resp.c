/*
 * resp.c — request accessors and response builders shared by every route:
 * query parameters, JSON bodies, RFC 9457 problem answers and the single
 * mapping from core errors to HTTP status codes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http_int.h"
#include "util/utf8.h"

const char *cw_req_query(const cw_req *req, const char *key)
{
    for (size_t i = 0; i < req->nquery; i++)
        if (!strcmp(req->query[i].key, key))
            return req->query[i].value;
    return NULL;
}

size_t cw_req_query_all(const cw_req *req, const char *key, const char **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < req->nquery && n < max; i++)
        if (!strcmp(req->query[i].key, key))
            out[n++] = req->query[i].value;
    return n;
}

bool cw_req_query_uint(const cw_req *req, cw_resp *resp, const char *key, uint64_t def,
                       uint64_t min, uint64_t max, uint64_t *out)
{
    const char *v = cw_req_query(req, key);
    if (!v) {
        *out = def;
        return true;
    }
    char *end = NULL;
    unsigned long long n = 0;
    bool ok = *v >= '0' && *v <= '9' && strlen(v) <= 19;
    if (ok) {
        n = strtoull(v, &end, 10);
        ok = *end == '\0';
    }
    if (!ok || n < min || n > max) {
        cw_resp_problem(resp, 400, "query parameter '%s': '%.40s' is not an integer between %llu and %llu",
                        key, v, (unsigned long long)min, (unsigned long long)max);
        return false;
    }
    *out = n;
    return true;
}

bool cw_req_check_query(const cw_req *req, cw_resp *resp)
{
    for (size_t i = 0; i < req->nquery; i++) {
        const char *k = req->query[i].key, *v = req->query[i].value;
        if (!cw_utf8_valid(k, strlen(k))) {
            cw_resp_problem(resp, 400, "a query parameter name is not valid UTF-8");
            return false;
        }
        if (!cw_utf8_valid(v, strlen(v))) {
            cw_resp_problem(resp, 400, "query parameter '%.100s': the value is not valid UTF-8", k);
            return false;
        }
    }
    return true;
}

const char *cw_req_header(const cw_req *req, const char *name)
{
    return req->header ? req->header(req->conn, name) : NULL;
}

bool cw_req_content_type(const cw_req *req, cw_resp *resp, const char *const *accepted,
                         const char *expected)
{
    const char *ct = cw_req_header(req, "Content-Type");
    if (!ct)
        return true;
    /* the media type: up to parameters, without surrounding blanks */
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strcspn(ct, "; \t");
    for (const char *const *a = accepted; *a; a++) {
        size_t al = strlen(*a);
        if ((*a)[0] == '+') { /* structured syntax suffix: "+json" */
            if (n > al && memchr(ct, '/', n) && !strncasecmp(ct + n - al, *a, al))
                return true;
        } else if (n == al && !strncasecmp(ct, *a, al)) {
            return true;
        }
    }
    cw_resp_problem(resp, 415, "Content-Type: expected %s, got '%.100s'", expected,
                    cw_req_header(req, "Content-Type"));
    return false;
}

void cw_resp_header(cw_resp *resp, const char *key, const char *value)
{
    if (resp->nheaders >= CW_MAX_EXTRA_HEADERS)
        return;
    char *copy = strdup(value);
    if (!copy)
        return;
    resp->headers[resp->nheaders].key = key;
    resp->headers[resp->nheaders].value = copy;
    resp->nheaders++;
}

void cw_resp_json_text(cw_resp *resp, int status, const char *text, size_t len)
{
    resp->status = status;
    resp->content_type = "application/json";
    cw_buf_reset(&resp->body);
    if (cw_buf_append(&resp->body, text, len)) {
        resp->status = 500;
        resp->content_type = "application/problem+json";
        cw_buf_reset(&resp->body);
        cw_buf_puts(&resp->body, "{\"type\":\"about:blank\",\"title\":\"Internal Server Error\",\"status\":500,\"detail\":\"out of memory\"}");
    }
}

void cw_resp_json(cw_resp *resp, int status, json_t *body)
{
    if (!body) {
        cw_resp_problem(resp, 500, "out of memory while building the answer");
        return;
    }
    char *text =
        json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(12));
    json_decref(body);
    if (!text) {
        cw_resp_problem(resp, 500, "out of memory while encoding the answer");
        return;
    }
    cw_resp_json_text(resp, status, text, strlen(text));
    free(text);
}

const char *cw_http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

static void problem_v(cw_resp *resp, int status, json_t *ext, const char *fmt, va_list ap)
{
    char detail[1024];
    vsnprintf(detail, sizeof detail, fmt, ap);
    /* Details echo client input (names, parameters) that may not be UTF-8;
     * the answer must still be valid JSON. Truncation may also split a
     * multi-byte character. */
    cw_utf8_sanitize(detail);
    json_t *p = json_pack("{s:s, s:s, s:i, s:s}", "type", "about:blank", "title",
                          cw_http_reason(status), "status", status, "detail", detail);
    if (p && ext)
        json_object_update_missing(p, ext);
    json_decref(ext);
    char *text = p ? json_dumps(p, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(p);
    resp->status = status;
    resp->content_type = "application/problem+json";
    cw_buf_reset(&resp->body);
    cw_buf_puts(&resp->body, text ? text : "{\"type\":\"about:blank\",\"status\":500}");
    free(text);
}

void cw_resp_problem(cw_resp *resp, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    problem_v(resp, status, NULL, fmt, ap);
    va_end(ap);
}

void cw_resp_problem_ext(cw_resp *resp, int status, json_t *ext, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    problem_v(resp, status, ext, fmt, ap);
    va_end(ap);
}

int cw_http_status_of(cw_err err)
{
    switch (err) {
    case CW_OK: return 200;
    case CW_ERR_INVALID: return 400;
    case CW_ERR_NOT_FOUND: return 404;
    case CW_ERR_CONFLICT: return 409;
    case CW_ERR_PRECONDITION: return 412;
    case CW_ERR_TOO_LARGE: return 413;
    case CW_ERR_UNAUTHORIZED: return 401;
    case CW_ERR_FORBIDDEN: return 403;
    case CW_ERR_UNSUPPORTED: return 415;
    case CW_ERR_BUSY: return 503;
    case CW_ERR_NOMEM:
    case CW_ERR_IO:
    case CW_ERR_INTERNAL: return 500;
    }
    return 500;
}

void cw_resp_error(cw_resp *resp, cw_err err, const cw_diag *d)
{
    int status = cw_http_status_of(err);
    const char *msg = d && d->msg[0] ? d->msg : cw_err_name(err);
    if (status == 503)
        cw_resp_header(resp, "Retry-After", "1");
    cw_resp_problem(resp, status, "%s", msg);
}

json_t *cw_req_json_body(const cw_req *req, cw_resp *resp)
{
    /* text/plain: what fetch() and many scripts send for a string body */
    static const char *const json_types[] = {"application/json", "+json", "text/plain", NULL};
    if (!cw_req_content_type(req, resp, json_types, "application/json"))
        return NULL;
    if (req->body_len == 0) {
        cw_resp_problem(resp, 400, "request body: expected JSON, got an empty body");
        return NULL;
    }
    json_error_t je;
    json_t *v = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!v) {
        cw_resp_problem(resp, 400, "request body: invalid JSON at line %d, column %d: %s", je.line,
                        je.column, je.text);
        return NULL;
    }
    return v;
}

const char *cw_role_name(cw_role r)
{
    switch (r) {
    case CW_ROLE_VIEWER: return "viewer";
    case CW_ROLE_INGEST: return "ingest";
    case CW_ROLE_EDITOR: return "editor";
    case CW_ROLE_ADMIN: return "admin";
    default: return "none";
    }
}

cw_role cw_role_parse(const char *s)
{
    if (!s) return CW_ROLE_NONE;
    if (!strcmp(s, "viewer")) return CW_ROLE_VIEWER;
    if (!strcmp(s, "ingest")) return CW_ROLE_INGEST;
    if (!strcmp(s, "editor")) return CW_ROLE_EDITOR;
    if (!strcmp(s, "admin")) return CW_ROLE_ADMIN;
    return CW_ROLE_NONE;
}
