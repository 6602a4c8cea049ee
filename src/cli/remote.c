/* remote.c — HTTP requests of the API with libcurl (see remote.h). */
#include "cli/remote.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#define MAX_ANSWER (256u << 20)

void cw_remote_query(cw_buf *path, const char *key, const char *value)
{
    if (!value)
        return;
    cw_buf_putc(path, strchr(path->data ? path->data : "", '?') ? '&' : '?');
    cw_buf_puts(path, key);
    cw_buf_putc(path, '=');
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p))
            cw_buf_putc(path, (char)*p);
        else
            cw_buf_printf(path, "%%%02X", *p);
    }
}

/* stderr, or nowhere for a quiet request */
static FILE *errout(const cw_remote *r)
{
    static FILE *null;
    if (!r->quiet)
        return stderr;
    if (!null)
        null = fopen("/dev/null", "w");
    return null ? null : stderr;
}

static size_t on_data(char *ptr, size_t size, size_t n, void *ud)
{
    cw_buf *b = ud;
    return cw_buf_append(b, ptr, size * n) == CW_OK ? size * n : 0;
}

int cw_remote_send(const char *cmd, const cw_remote *r, const char *method, const char *path,
                   const char *content_type, const void *data, size_t len, long *status_out,
                   json_t **out)
{
    *out = NULL;
    *status_out = 0;
    if (!r->server || (strncasecmp(r->server, "http://", 7) != 0 &&
                       strncasecmp(r->server, "https://", 8) != 0)) {
        fprintf(errout(r), "conway %s: --server: give the server's URL, http://HOST:PORT or "
                        "https://HOST (env CONWAY_SERVER)\n", cmd);
        return 2;
    }
    static bool inited;
    if (!inited && curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        fprintf(errout(r), "conway %s: libcurl could not start\n", cmd);
        return 1;
    }
    inited = true;
    cw_buf url, body, auth;
    cw_buf_init(&url, 1 << 20);
    cw_buf_init(&body, MAX_ANSWER);
    cw_buf_init(&auth, 8192);
    size_t slen = strlen(r->server);
    while (slen && r->server[slen - 1] == '/')
        slen--;
    cw_buf_append(&url, r->server, slen);
    cw_buf_puts(&url, path);
    struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
    cw_buf ctype;
    cw_buf_init(&ctype, 512);
    if (content_type) {
        cw_buf_printf(&ctype, "Content-Type: %s", content_type);
        struct curl_slist *h = headers && !cw_buf_error(&ctype) ? curl_slist_append(headers, ctype.data) : NULL;
        if (h)
            headers = h;
    }
    if (r->token && *r->token) {
        cw_buf_printf(&auth, "Authorization: Bearer %s", r->token);
        struct curl_slist *h = headers ? curl_slist_append(headers, auth.data) : NULL;
        if (h)
            headers = h;
    }
    CURL *c = curl_easy_init();
    int rc = 1;
    if (!c || !headers || cw_buf_error(&url) || cw_buf_error(&auth)) {
        fprintf(errout(r), "conway %s: out of memory\n", cmd);
        goto out;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "conway/" CONWAY_VERSION);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    /* a token is never sent to whatever a redirect names */
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    if (data) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else if (strcmp(method, "GET")) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method); /* DELETE */
    }
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        fprintf(errout(r), "conway %s: %.*s: %s\n", cmd, (int)slen, r->server,
                errbuf[0] ? errbuf : curl_easy_strerror(cc));
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    *status_out = status;
    json_error_t je;
    json_t *doc = body.len ? json_loadb(body.data, body.len, 0, &je) : NULL;
    /* a write's report may come with 422: some documents rejected (a
     * report), or all (a problem with the report's members) */
    if (data && status == 422 && json_is_array(json_object_get(doc, "errors"))) {
        *out = doc;
        rc = 0;
        goto out;
    }
    if (status < 200 || status > 299) {
        const char *detail = json_string_value(json_object_get(doc, "detail"));
        const char *title = json_string_value(json_object_get(doc, "title"));
        fprintf(errout(r), "conway %s: the server answered %ld%s%s%s%s\n", cmd, status,
                title ? " " : "", title ? title : "", detail ? ": " : "", detail ? detail : "");
        if (status == 401)
            fprintf(errout(r), "conway %s: give a token with --token or CONWAY_TOKEN "
                            "(conway token create --role viewer)\n", cmd);
        json_decref(doc);
        goto out;
    }
    if (!doc && status == 204) { /* done, nothing to say (DELETE) */
        rc = 0;
        goto out;
    }
    if (!doc) {
        fprintf(errout(r), "conway %s: the answer of %s is not JSON\n", cmd, path);
        goto out;
    }
    *out = doc;
    rc = 0;
out:
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    cw_buf_free(&ctype);
    /* the header held the secret */
    if (auth.data)
        memset(auth.data, 0, auth.len);
    cw_buf_free(&auth);
    cw_buf_free(&url);
    cw_buf_free(&body);
    return rc;
}

int cw_remote_get(const char *cmd, const cw_remote *r, const char *path, json_t **out)
{
    long status;
    return cw_remote_send(cmd, r, "GET", path, NULL, NULL, 0, &status, out);
}
