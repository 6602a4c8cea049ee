/* judge.c — Host check and body framing of a request head (see judge.h). */
#include "http/judge.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

bool cw_host_name(const char *host, char *name, size_t cap)
{
    if (!host || !*host)
        return false;
    const char *end; /* one past the name */
    if (host[0] == '[') {
        const char *close = strchr(host, ']');
        if (!close || close == host + 1)
            return false;
        end = close + 1;
    } else {
        end = strchr(host, ':');
        if (!end)
            end = host + strlen(host);
        else if (strchr(end + 1, ':'))
            return false; /* a bare IPv6 literal or garbage */
    }
    if (*end) {
        if (*end != ':')
            return false;
        const char *p = end + 1;
        size_t digits = strspn(p, "0123456789");
        if (p[digits] || digits > 5)
            return false;
    }
    size_t n = (size_t)(end - host);
    if (host[0] != '[' && n > 1 && host[n - 1] == '.')
        n--; /* the absolute form of the same name */
    if (n == 0 || n >= cap || (host[0] != '[' && n > 1 && host[n - 1] == '.'))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)host[i];
        bool ok = isalnum(c) || c == '.' || c == '-' || c == '_' ||
                  (host[0] == '[' && (c == ':' || c == '[' || c == ']' || c == '%'));
        if (!ok)
            return false;
        name[i] = (char)tolower(c);
    }
    name[n] = '\0';
    return true;
}

bool cw_host_is_loopback(const char *host)
{
    char name[256];
    if (!cw_host_name(host, name, sizeof name))
        return false;
    size_t n = strlen(name);
    static const char suffix[] = ".localhost";
    if (!strcmp(name, "localhost") ||
        (n > sizeof suffix - 1 && !strcmp(name + n - (sizeof suffix - 1), suffix)))
        return true;
    if (name[0] == '[') {
        char inner[256];
        if (n < 3 || name[n - 1] != ']')
            return false;
        memcpy(inner, name + 1, n - 2);
        inner[n - 2] = '\0';
        struct in6_addr a6;
        if (inet_pton(AF_INET6, inner, &a6) != 1)
            return false;
        if (IN6_IS_ADDR_LOOPBACK(&a6))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
    }
    struct in_addr a4;
    if (inet_pton(AF_INET, name, &a4) != 1)
        return false;
    return ((const unsigned char *)&a4.s_addr)[0] == 127;
}

bool cw_host_allowed(const char *host, const char *const *allowed, size_t nallowed)
{
    if (!host)
        return true;
    if (cw_host_is_loopback(host))
        return true;
    char name[256], want[256];
    bool named = cw_host_name(host, name, sizeof name);
    for (size_t i = 0; i < nallowed; i++) {
        if (!strcmp(allowed[i], "*"))
            return true;
        if (named && cw_host_name(allowed[i], want, sizeof want) && !strcmp(want, name))
            return true;
    }
    return false;
}

/* The value without the optional white space around it, in out[0..cap). */
static void trimmed(const char *v, char *out, size_t cap)
{
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, v, n);
    out[n] = '\0';
}

int cw_framing_judge(const char *const *cl, size_t ncl, const char *const *te, size_t nte,
                     cw_framing *out, char *why, size_t cap)
{
    memset(out, 0, sizeof *out);
    if (ncl && nte) {
        snprintf(why, cap, "the request has both Content-Length and Transfer-Encoding; send one");
        return 400;
    }
    if (nte) {
        char v[64];
        trimmed(te[0], v, sizeof v);
        if (nte > 1 || strcasecmp(v, "chunked") != 0) {
            snprintf(why, cap,
                     "Transfer-Encoding '%.40s%s' is not supported; send the body with "
                     "Content-Length or Transfer-Encoding: chunked",
                     te[0], nte > 1 ? ", ..." : "");
            return 400;
        }
        out->chunked = true;
        return 0;
    }
    for (size_t i = 0; i < ncl; i++) {
        char v[64];
        trimmed(cl[i], v, sizeof v);
        size_t digits = strspn(v, "0123456789");
        uint64_t n = 0;
        bool ok = digits > 0 && !v[digits] && digits <= 19;
        for (size_t k = 0; ok && k < digits; k++)
            n = n * 10 + (uint64_t)(v[k] - '0');
        if (!ok) {
            snprintf(why, cap, "Content-Length '%.40s' is not a number of bytes", cl[i]);
            return 400;
        }
        if (i == 0) {
            out->has_length = true;
            out->length = n;
        } else if (n != out->length) {
            snprintf(why, cap,
                     "the request has two different Content-Length headers (%llu and %llu)",
                     (unsigned long long)out->length, (unsigned long long)n);
            return 400;
        }
    }
    return 0;
}
