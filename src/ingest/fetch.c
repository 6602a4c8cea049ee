/* fetch.c — the catalog fetch policy and its libcurl GET (fetch.h). */
#include "ingest/fetch.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "util/utf8.h"

/* ---- pure parts ----------------------------------------------------------------------- */

static bool starts(const char *s, const char *p) { return !strncmp(s, p, strlen(p)); }

bool cw_fetch_raw_url(const char *url, char *out, size_t cap)
{
    int n;
    /* GitHub: https://github.com/<owner>/<repo>/blob/<rest> */
    if (starts(url, "https://github.com/")) {
        const char *o = url + 19;
        const char *s1 = strchr(o, '/');
        const char *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
        if (s1 && s2 && starts(s2, "/blob/") && s2[6]) {
            n = snprintf(out, cap, "https://raw.githubusercontent.com/%.*s/%s",
                         (int)(s2 - o), o, s2 + 6);
            return n >= 0 && (size_t)n < cap;
        }
    }
    /* GitLab (any host): …/-/blob/<rest> -> …/-/raw/<rest> */
    const char *b = strstr(url, "/-/blob/");
    if (b && (starts(url, "https://") || starts(url, "http://"))) {
        n = snprintf(out, cap, "%.*s/-/raw/%s", (int)(b - url), url, b + 8);
        return n >= 0 && (size_t)n < cap;
    }
    n = snprintf(out, cap, "%s", url);
    return n >= 0 && (size_t)n < cap;
}

const char *cw_fetch_allowed(const cw_fetch_policy *p, const char *url)
{
    if (!p || !url || (!starts(url, "https://") && !starts(url, "http://")))
        return NULL;
    for (size_t i = 0; i < p->nallow; i++)
        if (p->allow[i] && p->allow[i][0] && starts(url, p->allow[i]))
            return p->allow[i];
    return NULL;
}

/* The host of a URL into out (brackets of an IPv6 literal removed). */
static bool url_host(const char *url, char *out, size_t cap)
{
    const char *h = strstr(url, "://");
    if (!h)
        return false;
    h += 3;
    const char *at = NULL;
    for (const char *c = h; *c && *c != '/' && *c != '?' && *c != '#'; c++)
        if (*c == '@')
            at = c;
    if (at)
        h = at + 1;
    const char *end;
    if (*h == '[') {
        h++;
        end = strchr(h, ']');
        if (!end)
            return false;
    } else {
        end = h + strcspn(h, ":/?#");
    }
    size_t n = (size_t)(end - h);
    if (n == 0 || n >= cap)
        return false;
    memcpy(out, h, n);
    out[n] = '\0';
    return true;
}

bool cw_fetch_addr_internal(const unsigned char *a, size_t len)
{
    if (len == 16) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
        if (!memcmp(a, mapped, 12) || !memcmp(a, nat64, 12))
            return cw_fetch_addr_internal(a + 12, 4);
        bool zero = true;
        for (int i = 0; i < 15; i++)
            zero = zero && a[i] == 0;
        if (zero && (a[15] == 0 || a[15] == 1))
            return true;                                   /* :: and ::1 */
        if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
            return true;                                   /* fe80::/10 link-local */
        if ((a[0] & 0xfe) == 0xfc)
            return true;                                   /* fc00::/7 unique local */
        if (a[0] == 0xff)
            return true;                                   /* multicast */
        if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
            return true;                                   /* fec0::/10 site-local */
        return false;
    }
    if (len != 4)
        return true;
    return a[0] == 0 || a[0] == 10 || a[0] == 127 ||      /* this network, private, loopback */
           (a[0] == 169 && a[1] == 254) ||                 /* link-local */
           (a[0] == 172 && (a[1] & 0xf0) == 16) ||         /* 172.16/12 */
           (a[0] == 192 && a[1] == 168) ||                 /* 192.168/16 */
           (a[0] == 100 && (a[1] & 0xc0) == 64) ||         /* 100.64/10 shared */
           (a[0] == 192 && a[1] == 0 && a[2] == 0) ||      /* 192.0.0/24 protocol */
           (a[0] == 198 && (a[1] & 0xfe) == 18) ||         /* 198.18/15 benchmarking */
           a[0] >= 224;                                    /* multicast, reserved */
}

bool cw_fetch_prefix_is_internal(const char *prefix)
{
    char host[256];
    if (!prefix || !url_host(prefix, host, sizeof host))
        return false;
    if (!strcasecmp(host, "localhost"))
        return true;
    unsigned char a[16];
    if (inet_pton(AF_INET, host, a) == 1)
        return cw_fetch_addr_internal(a, 4);
    if (inet_pton(AF_INET6, host, a) == 1)
        return cw_fetch_addr_internal(a, 16);
    return false;
}

/* ---- libcurl ------------------------------------------------------------------------ */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }
void cw_fetch_global_init(void) { pthread_once(&curl_once, curl_init_once); }

void cw_fetch_result_free(cw_fetch_result *r)
{
    if (r)
        cw_buf_free(&r->body);
}

typedef struct {
    cw_fetch_result *r;
    size_t max;
    bool too_large;
    bool internal_refused;   /* the open-socket check refused an address */
    bool internal_ok;        /* the admitting prefix lists internal addresses */
    char refused_addr[64];
} xfer;

static size_t on_body(char *ptr, size_t size, size_t n, void *arg)
{
    xfer *x = arg;
    size_t len = size * n;
    if (x->r->body.len + len > x->max) {
        x->too_large = true;
        return 0; /* aborts the transfer */
    }
    return cw_buf_append(&x->r->body, ptr, len) ? 0 : len;
}

/* Copies a header's value (trimmed) when its name matches. */
static void take_header(const char *line, size_t len, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    if (len <= nl || strncasecmp(line, name, nl) != 0)
        return;
    const char *v = line + nl;
    size_t vl = len - nl;
    while (vl && (*v == ' ' || *v == '\t'))
        v++, vl--;
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
        vl--;
    if (vl >= cap)
        return; /* too long to be a validator worth keeping */
    memcpy(out, v, vl);
    out[vl] = '\0';
}

static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
    xfer *x = arg;
    size_t len = size * n;
    if (len > 5 && !strncmp(line, "HTTP/", 5)) {
        /* a new answer (after a redirect or 100): its own validators */
        x->r->etag[0] = '\0';
        x->r->last_modified[0] = '\0';
    }
    take_header(line, len, "ETag:", x->r->etag, sizeof x->r->etag);
    take_header(line, len, "Last-Modified:", x->r->last_modified, sizeof x->r->last_modified);
    return len;
}

/* Every socket libcurl opens: refused when its address is internal and the
 * policy does not list it (the address actually connected to). */
static curl_socket_t on_open(void *arg, curlsocktype purpose, struct curl_sockaddr *sa)
{
    xfer *x = arg;
    (void)purpose;
    const unsigned char *a = NULL;
    size_t len = 0;
    if (sa->family == AF_INET) {
        a = (const unsigned char *)&((const struct sockaddr_in *)&sa->addr)->sin_addr;
        len = 4;
    } else if (sa->family == AF_INET6) {
        a = (const unsigned char *)&((const struct sockaddr_in6 *)&sa->addr)->sin6_addr;
        len = 16;
    }
    if (!a || (!x->internal_ok && cw_fetch_addr_internal(a, len))) {
        x->internal_refused = true;
        if (a)
            inet_ntop(sa->family, a, x->refused_addr, sizeof x->refused_addr);
        return CURL_SOCKET_BAD;
    }
    return socket(sa->family, sa->socktype, sa->protocol);
}

cw_err cw_fetch(const cw_fetch_policy *p, const char *url, const char *etag,
                const char *last_modified, cw_fetch_result *out, cw_diag *d)
{
    memset(out, 0, sizeof *out);
    size_t max = p->max_bytes ? p->max_bytes : CW_FETCH_DEFAULT_MAX_BYTES;
    cw_buf_init(&out->body, max + 1);
    cw_fetch_global_init();
    char cur[2048];
    if (snprintf(cur, sizeof cur, "%s", url) >= (int)sizeof cur)
        return cw_fail(d, CW_ERR_INVALID, "the URL is longer than %zu bytes", sizeof cur - 1);
    CURL *c = curl_easy_init();
    if (!c)
        return cw_fail(d, CW_ERR_NOMEM, "cannot start an HTTP client");
    cw_err err = CW_OK;
    struct curl_slist *hdrs = NULL;
    char h1[320], h2[96];
    if (etag && *etag) {
        snprintf(h1, sizeof h1, "If-None-Match: %s", etag);
        hdrs = curl_slist_append(hdrs, h1);
    }
    if (last_modified && *last_modified) {
        snprintf(h2, sizeof h2, "If-Modified-Since: %s", last_modified);
        hdrs = curl_slist_append(hdrs, h2);
    }
    for (int hop = 0;; hop++) {
        const char *prefix = cw_fetch_allowed(p, cur);
        if (!prefix) {
            err = cw_fail(d, CW_ERR_FORBIDDEN, hop ? CW_FETCH_NOT_ALLOWED " (redirected to %.200s)"
                                                   : CW_FETCH_NOT_ALLOWED "%.0s",
                          cur);
            break;
        }
        xfer x = {.r = out, .max = max,
                  .internal_ok = p->allow_private || cw_fetch_prefix_is_internal(prefix)};
        cw_buf_reset(&out->body);
        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, cur);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_PROXY, "");
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, p->timeout_ms ? p->timeout_ms
                                                              : CW_FETCH_DEFAULT_TIMEOUT_MS);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
        curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "conway/" CONWAY_VERSION " (catalog fetch)");
        curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
        curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open);
        curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &x);
        CURLcode rc = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        out->status = (int)status;
        snprintf(out->final_url, sizeof out->final_url, "%s", cur);
        if (x.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
            err = cw_fail(d, CW_ERR_TOO_LARGE, "the file is larger than %zu bytes", max);
            break;
        }
        if (x.internal_refused) {
            err = cw_fail(d, CW_ERR_FORBIDDEN,
                          "refused: the host's address %s is loopback, link-local or private "
                          "(list it in --fetch-allow by address, or give --fetch-allow-private)",
                          x.refused_addr[0] ? x.refused_addr : "(unknown)");
            break;
        }
        if (rc != CURLE_OK) {
            err = cw_fail(d, CW_ERR_IO, "%s", curl_easy_strerror(rc));
            break;
        }
        if (status >= 300 && status < 400 && status != 304) {
            char *loc = NULL;
            curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc);
            if (!loc || hop >= CW_FETCH_MAX_REDIRECTS) {
                err = cw_fail(d, CW_ERR_IO, "HTTP %ld: %s", status,
                              loc ? "too many redirects" : "a redirect without a Location");
                break;
            }
            if (snprintf(cur, sizeof cur, "%s", loc) >= (int)sizeof cur) {
                err = cw_fail(d, CW_ERR_IO, "HTTP %ld: the redirect is too long", status);
                break;
            }
            continue;
        }
        if (status == 304) {
            out->not_modified = true;
            break;
        }
        if (status != 200) {
            err = cw_fail(d, CW_ERR_IO, "HTTP %ld", status);
            break;
        }
        if (!cw_utf8_valid(cw_buf_cstr(&out->body), out->body.len) ||
            memchr(cw_buf_cstr(&out->body), '\0', out->body.len)) {
            err = cw_fail(d, CW_ERR_INVALID, "the file is not UTF-8 text");
            break;
        }
        break;
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    if (err)
        cw_buf_free(&out->body);
    return err;
}

/* ---- POST (outgoing notifications) ---------------------------------------------------- */

/* The answer of a POST is not needed: read and dropped, so the receiver is
 * not stalled, up to the policy's byte limit. */
static size_t drop_body(char *ptr, size_t size, size_t n, void *arg)
{
    xfer *x = arg;
    (void)ptr;
    size_t len = size * n;
    x->r->body.len += len; /* counted only; the buffer is never filled */
    if (x->r->body.len > x->max) {
        x->too_large = true;
        return 0;
    }
    return len;
}

cw_err cw_fetch_post(const cw_fetch_policy *p, const char *url, const char *const *headers,
                     size_t nheaders, const void *body, size_t len, int *status, cw_diag *d)
{
    *status = 0;
    const char *prefix = cw_fetch_allowed(p, url);
    if (!prefix)
        return cw_fail(d, CW_ERR_FORBIDDEN, "%s", CW_FETCH_NOT_ALLOWED);
    cw_fetch_global_init();
    CURL *c = curl_easy_init();
    if (!c)
        return cw_fail(d, CW_ERR_NOMEM, "cannot start an HTTP client");
    cw_fetch_result r;
    memset(&r, 0, sizeof r);
    size_t max = p->max_bytes ? p->max_bytes : CW_FETCH_DEFAULT_MAX_BYTES;
    xfer x = {.r = &r, .max = max,
              .internal_ok = p->allow_private || cw_fetch_prefix_is_internal(prefix)};
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    for (size_t i = 0; hdrs && i < nheaders; i++) {
        struct curl_slist *h = curl_slist_append(hdrs, headers[i]);
        if (!h) {
            curl_slist_free_all(hdrs);
            hdrs = NULL;
        }
        hdrs = h;
    }
    cw_err err = CW_OK;
    if (!hdrs) {
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
        goto out;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect is a failed delivery */
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, p->timeout_ms ? p->timeout_ms
                                                          : CW_FETCH_DEFAULT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "conway/" CONWAY_VERSION " (notification)");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, drop_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &x);
    CURLcode rc = curl_easy_perform(c);
    long st = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    *status = (int)st;
    if (x.internal_refused)
        err = cw_fail(d, CW_ERR_FORBIDDEN,
                      "refused: the host's address %s is loopback, link-local or private",
                      x.refused_addr[0] ? x.refused_addr : "(unknown)");
    else if (rc != CURLE_OK && !x.too_large)
        err = cw_fail(d, CW_ERR_IO, "%s", curl_easy_strerror(rc));
    else if (st < 200 || st > 299)
        err = cw_fail(d, CW_ERR_IO, "HTTP %ld", st);
out:
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return err;
}
