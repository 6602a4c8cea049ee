/*
 * fuzz_scorecard.c — libFuzzer target for the scorecard rule language
 * (catalog/rule.h), its bounded regular expression (catalog/bregex.h) and
 * the Scorecard kind (catalog/scorecard.h). JSON input is parsed as a rule
 * and as a Scorecard entity, and whatever parses is evaluated against a
 * fixed facts document and against the input itself (so fact paths can
 * reach anything the fuzzer writes). Input that is not JSON is compiled as
 * a regular expression (first line) and matched against the rest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "catalog/bregex.h"
#include "catalog/rule.h"
#include "catalog/scorecard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *FACTS =
    "{\"entity\":{\"kind\":\"Component\",\"metadata\":{\"name\":\"orders\",\"tags\":[\"pci\"],"
    "\"annotations\":{\"conway.dev/exempt-a\":\"2027-01-01: later\",\"conway.dev/exempt-b\":\"x\"}},"
    "\"spec\":{\"owner\":\"group:default/payments\",\"lifecycle\":\"production\"}},"
    "\"dora\":{\"leadTimeSeconds\":{\"p50\":3600,\"p90\":null},\"deployments\":12},"
    "\"links\":{\"runbook\":[{\"url\":\"https://x.example/rb\"}]},\"list\":[[1,2],[3]]}";

static void regex_input(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t line = nl ? (size_t)(nl - data) : size;
    size_t plen = line;
    if (plen > CW_BREGEX_MAX_PATTERN + 8)
        plen = CW_BREGEX_MAX_PATTERN + 8;
    char *pattern = malloc(plen + 1);
    if (!pattern)
        return;
    memcpy(pattern, data, plen);
    pattern[plen] = '\0';
    char why[128];
    cw_bregex *re = cw_bregex_compile(pattern, why, sizeof why);
    if (re) {
        const char *subject = nl ? (const char *)nl + 1 : "";
        size_t slen = nl ? size - line - 1 : 0;
        (void)cw_bregex_match(re, subject, slen);
        (void)cw_bregex_match(re, pattern, strlen(pattern));
    } else if (why[0] == '\0') {
        abort();   /* every refusal says why */
    }
    cw_bregex_free(re);
    free(pattern);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *root = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);
    if (!root) {
        regex_input(data, size);
        return 0;
    }
    json_t *facts = json_loads(FACTS, 0, &jerr);
    if (!facts)
        abort();
    cw_rule *rule = NULL;
    cw_issue_list issues = {0};
    cw_diag d = {{0}};
    cw_err e = cw_rule_parse(root, "rule", &rule, &issues, &d);
    if (e == CW_OK) {
        (void)cw_rule_eval(rule, facts);
        (void)cw_rule_eval(rule, root);
        json_t *values = json_object();
        if (values && cw_rule_values(rule, root, values) != CW_OK)
            abort();
        json_decref(values);
        if (cw_rule_nodes(rule) == 0 || cw_rule_nodes(rule) > CW_RULE_MAX_NODES)
            abort();
    } else if (e == CW_ERR_INVALID && issues.len == 0 && issues.dropped == 0) {
        abort();   /* a rejected rule names at least one field */
    }
    cw_rule_free(rule);
    cw_issue_list_free(&issues);

    cw_scorecard *card = NULL;
    cw_issue_list cissues = {0};
    if (cw_scorecard_parse(root, &card, &cissues, &d) == CW_OK) {
        cw_scorecard_result res = {0};
        const json_t *docs[2] = {facts, root};
        for (int i = 0; i < 2; i++) {
            if (cw_scorecard_eval(card, docs[i], 1796083200000LL, i == 1, &res, &d) == CW_OK) {
                if (res.level < -1 || res.level >= (int)card->nlevels)
                    abort();
                if (res.passed + res.failed + res.exempt != card->nchecks)
                    abort();
                json_t *rj = NULL;
                if (cw_scorecard_result_json(card, &res, &rj) == CW_OK)
                    json_decref(rj);
            }
            cw_scorecard_result_free(&res);
        }
        json_t *cj = NULL;
        if (cw_scorecard_json(card, &cj) == CW_OK)
            json_decref(cj);
    }
    cw_scorecard_free(card);
    cw_issue_list_free(&cissues);
    json_decref(facts);
    json_decref(root);
    return 0;
}
