/*
 * fuzz_location_url.c — libFuzzer target for the URL handling of catalog
 * fetching (ingest/fetch.h, ingest/locations.h): a Location target found in
 * a fetched file resolved against the file's URL, the raw-URL rewriting of
 * GitHub and GitLab pages, the --fetch-allow prefix match and the check of
 * a prefix's host. Input: a base URL and a target separated by a newline.
 * Invariants: no crash; results are NUL-terminated within their buffer; a
 * resolved URL starts with the base's scheme and host (or is the target
 * when that is absolute); an admitted URL starts with its prefix.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/fetch.h"
#include "ingest/locations.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    char *in = malloc(size + 1);
    if (!in)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    char *nl = strchr(in, '\n');
    const char *base = in, *target = nl ? nl + 1 : "";
    if (nl)
        *nl = '\0';
    char out[512], raw[512];
    if (cw_location_resolve(base, target, out, sizeof out)) {
        if (strlen(out) >= sizeof out)
            abort();
        if (!strstr(target, "://")) {
            const char *host = strstr(base, "://");
            size_t origin = host ? (size_t)(host + 3 - base) : 0;
            if (!host || strncmp(out, base, origin) != 0)
                abort();
        }
    }
    if (cw_fetch_raw_url(base, raw, sizeof raw) && strlen(raw) >= sizeof raw)
        abort();
    const char *allow[] = {target, "https://raw.githubusercontent.com/acme/"};
    cw_fetch_policy p = {.allow = allow, .nallow = 2};
    const char *pre = cw_fetch_allowed(&p, base);
    if (pre && strncmp(base, pre, strlen(pre)) != 0)
        abort();
    (void)cw_fetch_prefix_is_internal(base);
    (void)cw_fetch_prefix_is_internal(target);
    free(in);
    return 0;
}
