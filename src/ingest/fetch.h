/*
 * fetch.h — fetching catalog files from repositories over HTTP(S) (libcurl),
 * under a policy nobody can talk conway out of:
 * - only URLs that start with a --fetch-allow prefix (compared as text) are
 *   fetched; none are by default, and a refused URL gets the status
 *   "fetching is not allowed for this URL";
 * - only http and https, no proxy (a proxy would hide the address conway
 *   connects to), redirects followed by hand (at most 5), each one checked
 *   against the prefixes again;
 * - never to a loopback, link-local, private, shared (CGNAT), unspecified
 *   or multicast address — checked on the address actually connected to, so
 *   a name that resolves there (DNS rebinding) is refused too — unless the
 *   prefix that admitted the URL names its host as such an address literally
 *   (http://127.0.0.1:8080/…, http://[::1]/…) or as localhost, or
 *   --fetch-allow-private is given;
 * - at most max_bytes of body (4 MiB by default) within timeout_ms (30 s).
 * GitHub and GitLab "blob" page URLs are turned into their raw content URLs
 * first, as Backstage does. The pure parts (URL rewriting, prefix and
 * address checks) are separate functions, unit-tested without a network.
 */
#ifndef CW_INGEST_FETCH_H
#define CW_INGEST_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

#define CW_FETCH_DEFAULT_MAX_BYTES ((size_t)4 << 20)
#define CW_FETCH_DEFAULT_TIMEOUT_MS 30000L
#define CW_FETCH_MAX_REDIRECTS 5
#define CW_FETCH_NOT_ALLOWED "fetching is not allowed for this URL"

typedef struct {
    const char *const *allow;    /* --fetch-allow prefixes */
    size_t nallow;
    bool allow_private;          /* --fetch-allow-private */
    size_t max_bytes;            /* 0 = CW_FETCH_DEFAULT_MAX_BYTES */
    long timeout_ms;             /* 0 = CW_FETCH_DEFAULT_TIMEOUT_MS */
} cw_fetch_policy;

/*
 * The URL to fetch for a Location target: a GitHub blob page
 * (https://github.com/<owner>/<repo>/blob/<ref>/<path>) becomes
 * https://raw.githubusercontent.com/<owner>/<repo>/<ref>/<path>; a GitLab
 * one (https://<host>/<group…>/<project>/-/blob/<ref>/<path>) becomes
 * …/-/raw/<ref>/<path>; anything else is copied. False when it does not fit.
 */
bool cw_fetch_raw_url(const char *url, char *out, size_t cap);

/* The prefix admitting url, or NULL (then CW_FETCH_NOT_ALLOWED). */
const char *cw_fetch_allowed(const cw_fetch_policy *p, const char *url);

/* Whether the prefix names its host as a loopback/private address literal
 * or localhost (so that such addresses are "listed"). */
bool cw_fetch_prefix_is_internal(const char *prefix);

/* Whether an address (4 bytes IPv4 or 16 bytes IPv6, network order) lies
 * in a loopback, link-local, private, shared, unspecified, multicast or
 * reserved range (IPv4-mapped and NAT64 IPv6 judged by their IPv4). */
bool cw_fetch_addr_internal(const unsigned char *addr, size_t len);

typedef struct {
    int status;            /* final HTTP status; 0 when no answer */
    bool not_modified;     /* 304: the validators still hold */
    cw_buf body;           /* 200: the content (NUL-terminated) */
    char etag[256];        /* validators of the answer, "" when none */
    char last_modified[64];
    char final_url[2048];  /* after redirects */
} cw_fetch_result;

void cw_fetch_result_free(cw_fetch_result *r);

/*
 * GETs url under the policy, sending If-None-Match / If-Modified-Since
 * when etag / last_modified are given (NULL or "" for none). CW_OK for a
 * 200 (body filled) or 304 (not_modified); otherwise an error whose d says
 * why in one line: CW_ERR_FORBIDDEN for the policy (CW_FETCH_NOT_ALLOWED,
 * or "refused: <host> is a private address"), CW_ERR_TOO_LARGE past
 * max_bytes, CW_ERR_IO for the network or another status ("HTTP 404").
 * The body must be UTF-8 text (CW_ERR_INVALID otherwise).
 */
cw_err cw_fetch(const cw_fetch_policy *p, const char *url, const char *etag,
                const char *last_modified, cw_fetch_result *out, cw_diag *d);

/*
 * POSTs body as application/json to url under the same policy (allowed
 * prefixes, no proxy, never an internal address unless listed; a redirect
 * is not followed), with extra headers ("Name: value"). *status is the
 * HTTP status (0 without an answer); CW_OK for a 2xx, otherwise an error
 * as cw_fetch's. For outgoing notifications (ingest/notify.h).
 */
cw_err cw_fetch_post(const cw_fetch_policy *p, const char *url, const char *const *headers,
                     size_t nheaders, const void *body, size_t len, int *status, cw_diag *d);

/* curl_global_init once per process, before any thread fetches. */
void cw_fetch_global_init(void);

#endif
