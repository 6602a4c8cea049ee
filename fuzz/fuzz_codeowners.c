/*
 * fuzz_codeowners.c — libFuzzer target for the CODEOWNERS parser and matcher:
 * parses the input as a CODEOWNERS file, matches fixed paths and paths taken
 * from the input itself, asks for the root owners, and builds the comparison
 * report against a catalog component. Also compiles the first line as a
 * single pattern and matches the second line against it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ingest/codeowners.h"

static const char *const fixed_paths[] = {
    "README", "README.md", "src/main.c", "docs/a/b.md", "foo/bar/baz", "apps/github",
    "a", "x/y/", "/build/logs/x.log", "f*o", "my file.txt", "deep/er/still/file.go",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cw_codeowners *co = NULL;
    if (cw_codeowners_parse((const char *)data, size, &co, NULL) != CW_OK)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < sizeof fixed_paths / sizeof fixed_paths[0]; i++) {
        char *const *o = cw_codeowners_owners_of(co, fixed_paths[i], &n);
        if ((o == NULL) != (n == 0))
            abort();
    }
    /* Every line of the input, used as a path. */
    char *copy = malloc(size + 1);
    if (copy) {
        memcpy(copy, data, size);
        copy[size] = '\0';
        char *lines[3] = {NULL, NULL, NULL};
        size_t nl = 0, start = 0;
        for (size_t i = 0; i <= size && nl < 64; i++) {
            if (i < size && copy[i] != '\n')
                continue;
            copy[i] = '\0';
            if (nl < 3)
                lines[nl] = copy + start;
            nl++;
            (void)cw_codeowners_match(co, copy + start);
            start = i + 1;
        }
        if (lines[0] && lines[1]) {
            bool m = false;
            (void)cw_codeowners_pattern_match(lines[0], lines[1], &m, NULL);
        }
        free(copy);
    }
    (void)cw_codeowners_root_owners(co, &n);
    json_t *e = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "backstage.io/v1alpha1",
                          "kind", "Component", "metadata", "name", "pay-api", "spec", "owner",
                          "payments");
    json_t *report = NULL;
    if (e && cw_codeowners_report(co, e, &report, NULL) == CW_OK && !report)
        abort();
    json_decref(report);
    json_decref(e);
    cw_codeowners_free(co);
    return 0;
}
