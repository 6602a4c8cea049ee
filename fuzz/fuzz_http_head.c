/*
 * fuzz_http_head.c — libFuzzer target for what the server judges in a
 * request head (src/http/judge.c): Host values and Content-Length /
 * Transfer-Encoding values. The input is split at newlines into header
 * values. Nothing may overflow; a Host taken as a name must give a name
 * that is itself accepted, and loopback names must pass the Host check; a
 * framing that is accepted has one length or chunked, never both, and its
 * length is what every Content-Length says.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/judge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_host(const char *v)
{
    char name[256], again[256];
    if (cw_host_name(v, name, sizeof name)) {
        if (!name[0] || !cw_host_name(name, again, sizeof again) || strcmp(name, again) != 0)
            abort();
    }
    if (cw_host_is_loopback(v) && !cw_host_allowed(v, NULL, 0))
        abort();
    const char *any[] = {"*"};
    if (!cw_host_allowed(v, any, 1))
        abort();
    const char *self[] = {v};
    if (cw_host_name(v, name, sizeof name) && !cw_host_allowed(v, self, 1))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    const char *vals[16];
    size_t n = 0;
    for (char *p = text; n < 16;) {
        vals[n++] = p;
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    for (size_t i = 0; i < n; i++)
        check_host(vals[i]);
    /* first value's first byte picks how many are Content-Length values */
    size_t ncl = n ? (size_t)(unsigned char)vals[0][0] % (n + 1) : 0;
    cw_framing f;
    char why[256];
    int st = cw_framing_judge(vals, ncl, vals + ncl, n - ncl, &f, why, sizeof why);
    if (st == 0) {
        if (f.chunked && f.has_length)
            abort();
        if (ncl && (!f.has_length || n - ncl))
            abort();
    } else if (st != 400 || !why[0]) {
        abort();
    }
    free(text);
    return 0;
}
