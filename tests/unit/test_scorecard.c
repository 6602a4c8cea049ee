/* test_scorecard.c — the scorecard rule language (src/catalog/rule.c), its
 * bounded regular expression (bregex.c) and the Scorecard kind
 * (scorecard.c): every operator on present, missing, null and wrongly typed
 * facts, fact paths, validation errors naming the field, bounds, the level
 * rule (OpsLevel: every check of the level and all below) and exemptions
 * (active, expired, malformed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "catalog/bregex.h"
#include "catalog/catalog.h"
#include "catalog/filter.h"
#include "catalog/rule.h"
#include "catalog/scorecard.h"
#include "util/timeutil.h"

static json_t *J(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    if (!j)
        fail_msg("bad test JSON: %s: %s", je.text, text);
    return j;
}

/* Appends s to the NUL-terminated text in buf (cap bytes), or fails the test. */
static void app(char *buf, size_t cap, const char *s)
{
    size_t a = strlen(buf), b = strlen(s);
    if (a + b + 1 > cap)
        fail_msg("test buffer too small");
    memcpy(buf + a, s, b + 1);
}

static const char *FACTS =
    "{\"entity\":{\"kind\":\"Component\",\"metadata\":{\"name\":\"orders\",\"tags\":[\"java\",\"pci\"],"
    "\"annotations\":{\"conway.dev/runbook\":\"https://x.example/rb\"}},"
    "\"spec\":{\"owner\":\"group:default/payments\",\"lifecycle\":\"production\"}},"
    "\"dora\":{\"leadTimeSeconds\":{\"p50\":3600,\"p90\":null},\"deployments\":12,\"cfr\":0.25},"
    "\"links\":{\"runbook\":[{\"url\":\"https://x.example/rb\"}],\"dashboard\":[]},"
    "\"undeployed\":false,\"weird\":{\"a.b\":{\"c\":7}},\"list\":[[1,2],[3]]}";

/* Evaluates one rule (JSON text) against FACTS. */
static bool ev(const char *rule)
{
    json_t *facts = J(FACTS), *rj = J(rule);
    cw_rule *r = NULL;
    cw_diag d = {{0}};
    cw_err e = cw_rule_parse(rj, "rule", &r, NULL, &d);
    if (e != CW_OK)
        fail_msg("rule did not parse: %s: %s", rule, d.msg);
    bool out = cw_rule_eval(r, facts);
    cw_rule_free(r);
    json_decref(rj);
    json_decref(facts);
    return out;
}

/* Parses a rule expected to fail; returns the first issue's path. */
static void bad_rule(const char *rule, const char *want_path)
{
    json_t *rj = J(rule);
    cw_rule *r = NULL;
    cw_diag d = {{0}};
    cw_issue_list issues = {0};
    cw_err e = cw_rule_parse(rj, "spec.checks[3].rule", &r, &issues, &d);
    assert_int_equal(e, CW_ERR_INVALID);
    assert_null(r);
    assert_true(issues.len >= 1);
    if (strcmp(issues.items[0].path, want_path) != 0)
        fail_msg("%s: path %s, want %s (%s)", rule, issues.items[0].path, want_path,
                 issues.items[0].text);
    assert_non_null(strstr(d.msg, want_path));
    cw_issue_list_free(&issues);
    json_decref(rj);
}

static void test_operators(void **state)
{
    (void)state;
    assert_true(ev("{\"fact\":\"dora.leadTimeSeconds.p50\",\"operator\":\"lessThan\",\"value\":86400}"));
    assert_false(ev("{\"fact\":\"dora.leadTimeSeconds.p50\",\"operator\":\"lessThan\",\"value\":3600}"));
    assert_true(ev("{\"fact\":\"dora.leadTimeSeconds.p50\",\"operator\":\"lessThanInclusive\",\"value\":3600}"));
    assert_true(ev("{\"fact\":\"dora.leadTimeSeconds.p50\",\"operator\":\"greaterThanInclusive\",\"value\":3600.0}"));
    assert_false(ev("{\"fact\":\"dora.leadTimeSeconds.p50\",\"operator\":\"greaterThan\",\"value\":3600}"));
    assert_true(ev("{\"fact\":\"dora.cfr\",\"operator\":\"lessThan\",\"value\":0.3}"));
    /* numbers equal by value, int or real */
    assert_true(ev("{\"fact\":\"dora.deployments\",\"operator\":\"equal\",\"value\":12.0}"));
    assert_true(ev("{\"fact\":\"entity.spec.lifecycle\",\"operator\":\"equal\",\"value\":\"production\"}"));
    assert_true(ev("{\"fact\":\"entity.spec.lifecycle\",\"operator\":\"notEqual\",\"value\":\"experimental\"}"));
    assert_false(ev("{\"fact\":\"entity.spec.lifecycle\",\"operator\":\"equal\",\"value\":\"Production\"}"));
    assert_true(ev("{\"fact\":\"undeployed\",\"operator\":\"equal\",\"value\":false}"));
    assert_true(ev("{\"fact\":\"list[0]\",\"operator\":\"equal\",\"value\":[1,2.0]}"));
    assert_true(ev("{\"fact\":\"entity.spec.lifecycle\",\"operator\":\"in\",\"value\":[\"production\",\"beta\"]}"));
    assert_false(ev("{\"fact\":\"entity.spec.lifecycle\",\"operator\":\"notIn\",\"value\":[\"production\"]}"));
    assert_true(ev("{\"fact\":\"entity.metadata.tags\",\"operator\":\"contains\",\"value\":\"pci\"}"));
    assert_false(ev("{\"fact\":\"entity.metadata.tags\",\"operator\":\"contains\",\"value\":\"go\"}"));
    assert_true(ev("{\"fact\":\"entity.spec.owner\",\"operator\":\"contains\",\"value\":\"payments\"}"));
    assert_true(ev("{\"fact\":\"entity.spec.owner\",\"operator\":\"matches\",\"value\":\"^group:[a-z]+/pay\"}"));
    assert_false(ev("{\"fact\":\"entity.spec.owner\",\"operator\":\"matches\",\"value\":\"^payments$\"}"));
    assert_true(ev("{\"fact\":\"links.runbook\",\"operator\":\"exists\",\"value\":true}"));
    assert_true(ev("{\"fact\":\"links.wiki\",\"operator\":\"exists\",\"value\":false}"));
}

static void test_missing_and_types(void **state)
{
    (void)state;
    /* missing and null facts fail everything but exists */
    const char *ops[] = {"equal", "notEqual", "lessThan", "greaterThan", "contains"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        char r[256];
        snprintf(r, sizeof r, "{\"fact\":\"dora.nothing\",\"operator\":\"%s\",\"value\":1}", ops[i]);
        assert_false(ev(r));
        snprintf(r, sizeof r, "{\"fact\":\"dora.leadTimeSeconds.p90\",\"operator\":\"%s\",\"value\":1}",
                 ops[i]);
        assert_false(ev(r));
    }
    assert_false(ev("{\"fact\":\"dora.nothing\",\"operator\":\"notIn\",\"value\":[1]}"));
    assert_true(ev("{\"fact\":\"dora.leadTimeSeconds.p90\",\"operator\":\"exists\",\"value\":false}"));
    assert_true(ev("{\"not\":{\"fact\":\"dora.nothing\",\"operator\":\"equal\",\"value\":1}}"));
    /* wrong types: a string is not less than a number, a number does not match */
    assert_false(ev("{\"fact\":\"entity.spec.lifecycle\",\"operator\":\"lessThan\",\"value\":5}"));
    assert_false(ev("{\"fact\":\"dora.deployments\",\"operator\":\"matches\",\"value\":\"1\"}"));
    assert_false(ev("{\"fact\":\"dora.deployments\",\"operator\":\"contains\",\"value\":1}"));
    assert_false(ev("{\"fact\":\"dora.deployments\",\"operator\":\"equal\",\"value\":\"12\"}"));
    /* paths: quoted keys, indexes, digits after a dot, through the wrong type */
    assert_true(ev("{\"fact\":\"weird[\\\"a.b\\\"].c\",\"operator\":\"equal\",\"value\":7}"));
    assert_true(ev("{\"fact\":\"list[1][0]\",\"operator\":\"equal\",\"value\":3}"));
    assert_true(ev("{\"fact\":\"list.1.0\",\"operator\":\"equal\",\"value\":3}"));
    assert_true(ev("{\"fact\":\"links.runbook[0].url\",\"operator\":\"matches\",\"value\":\"^https://\"}"));
    assert_false(ev("{\"fact\":\"list[7]\",\"operator\":\"exists\",\"value\":true}"));
    assert_false(ev("{\"fact\":\"list.x\",\"operator\":\"exists\",\"value\":true}"));
    assert_false(ev("{\"fact\":\"undeployed.x\",\"operator\":\"exists\",\"value\":true}"));
    /* combinators */
    assert_true(ev("{\"all\":[]}"));
    assert_false(ev("{\"any\":[]}"));
    assert_true(ev("{\"any\":[{\"fact\":\"x\",\"operator\":\"exists\",\"value\":true},"
                   "{\"all\":[{\"fact\":\"dora.cfr\",\"operator\":\"lessThan\",\"value\":1}]}]}"));
    assert_false(ev("{\"all\":[{\"fact\":\"dora.cfr\",\"operator\":\"lessThan\",\"value\":1},"
                    "{\"not\":{\"fact\":\"undeployed\",\"operator\":\"equal\",\"value\":false}}]}"));
}

static void test_validation(void **state)
{
    (void)state;
    bad_rule("{\"all\":[{\"fact\":\"a\",\"operator\":\"lessThan\",\"value\":1},"
             "{\"fact\":\"a\",\"operator\":\"bigger\",\"value\":1}]}",
             "spec.checks[3].rule.all[1].operator");
    bad_rule("{\"any\":[{\"not\":{\"fact\":\"a..b\",\"operator\":\"exists\",\"value\":true}}]}",
             "spec.checks[3].rule.any[0].not.fact");
    bad_rule("{\"fact\":\"a\",\"operator\":\"lessThan\",\"value\":\"1\"}", "spec.checks[3].rule.value");
    bad_rule("{\"fact\":\"a\",\"operator\":\"in\",\"value\":1}", "spec.checks[3].rule.value");
    bad_rule("{\"fact\":\"a\",\"operator\":\"exists\",\"value\":1}", "spec.checks[3].rule.value");
    bad_rule("{\"fact\":\"a\",\"operator\":\"matches\",\"value\":\"(a\"}", "spec.checks[3].rule.value");
    bad_rule("{\"fact\":\"a\",\"operator\":\"matches\",\"value\":\"(a)\\\\1\"}", "spec.checks[3].rule.value");
    bad_rule("{\"fact\":\"a\",\"operator\":\"equal\"}", "spec.checks[3].rule.value");
    bad_rule("{\"fact\":\"a\",\"operator\":\"equal\",\"value\":1,\"path\":\"$.x\"}",
             "spec.checks[3].rule.path");
    bad_rule("{\"all\":[],\"any\":[]}", "spec.checks[3].rule");
    bad_rule("{\"all\":{}}", "spec.checks[3].rule.all");
    bad_rule("[1]", "spec.checks[3].rule");
    /* depth and node bounds */
    char deep[2048] = "";
    for (int i = 0; i < 20; i++)
        app(deep, sizeof deep, "{\"not\":");
    app(deep, sizeof deep, "{\"fact\":\"a\",\"operator\":\"exists\",\"value\":true}");
    for (int i = 0; i < 20; i++)
        app(deep, sizeof deep, "}");
    json_t *rj = J(deep);
    cw_rule *r = NULL;
    assert_int_equal(cw_rule_parse(rj, "rule", &r, NULL, NULL), CW_ERR_INVALID);
    json_decref(rj);
    size_t wcap = 300 * 60 + 64;
    char *wide = calloc(1, wcap);
    assert_non_null(wide);
    app(wide, wcap, "{\"any\":[");
    for (int i = 0; i < 300; i++)
        app(wide, wcap, i ? ",{\"fact\":\"a\",\"operator\":\"exists\",\"value\":true}"
                       : "{\"fact\":\"a\",\"operator\":\"exists\",\"value\":true}");
    app(wide, wcap, "]}");
    rj = J(wide);
    assert_int_equal(cw_rule_parse(rj, "rule", &r, NULL, NULL), CW_ERR_INVALID);
    json_decref(rj);
    free(wide);
}

static bool rx(const char *pattern, const char *text)
{
    char why[128];
    cw_bregex *re = cw_bregex_compile(pattern, why, sizeof why);
    if (!re)
        fail_msg("%s: %s", pattern, why);
    bool m = cw_bregex_match(re, text, strlen(text));
    cw_bregex_free(re);
    return m;
}

static bool rx_rejects(const char *pattern)
{
    char why[128];
    cw_bregex *re = cw_bregex_compile(pattern, why, sizeof why);
    cw_bregex_free(re);
    return re == NULL && why[0] != '\0';
}

static void test_regex(void **state)
{
    (void)state;
    assert_true(rx("abc", "xxabcxx"));
    assert_false(rx("^abc", "xxabc"));
    assert_true(rx("abc$", "xxabc"));
    assert_true(rx("^a(b|c)+d?$", "abcbc"));
    assert_false(rx("^a(b|c)+d?$", "a"));
    assert_true(rx("^[a-z0-9-]{3,5}$", "ab-9"));
    assert_false(rx("^[a-z0-9-]{3,5}$", "ab-9xy"));
    assert_true(rx("^[^/]+/\\w+\\.\\d$", "team/svc_1.2"));
    assert_true(rx("^\\s*$", " \t"));
    assert_false(rx("a.c", "a\nc"));
    assert_true(rx("", "anything"));
    assert_true(rx("x|", "zzz"));
    assert_true(rx("^(?:ab)*$", ""));
    assert_false(rx("[]", "a"));
    assert_true(rx("[^]", "a"));
    /* pathological for backtrackers, linear here */
    char text[4001];
    memset(text, 'a', 4000);
    text[4000] = '\0';
    assert_false(rx("^(a+)+$b", text));
    assert_false(rx("(a|a)*c", text));
    /* bounds and unsupported syntax */
    assert_true(rx_rejects("(a)\\1"));
    assert_true(rx_rejects("a(?=b)"));
    assert_true(rx_rejects("a*?"));
    assert_true(rx_rejects("a**"));
    assert_true(rx_rejects("{2}"));
    assert_true(rx_rejects("a{33}"));
    assert_true(rx_rejects("((a{32}){32}){32}"));
    assert_true(rx_rejects("[z-a]"));
    assert_true(rx_rejects("\\b"));
    assert_true(rx_rejects("a)"));
    char longp[300];
    memset(longp, 'a', 299);
    longp[299] = '\0';
    assert_true(rx_rejects(longp));
    /* subjects beyond the limit never match */
    char *big = malloc(CW_BREGEX_MAX_SUBJECT + 2);
    assert_non_null(big);
    memset(big, 'a', CW_BREGEX_MAX_SUBJECT + 1);
    char why[64];
    cw_bregex *re = cw_bregex_compile("a", why, sizeof why);
    assert_false(cw_bregex_match(re, big, CW_BREGEX_MAX_SUBJECT + 1));
    assert_true(cw_bregex_match(re, big, CW_BREGEX_MAX_SUBJECT));
    cw_bregex_free(re);
    free(big);
}

static const char *CARD =
    "{\"apiVersion\":\"conway.dev/v1\",\"kind\":\"Scorecard\",\"metadata\":{\"name\":\"ready\"},"
    "\"spec\":{\"filter\":\"kind=component\",\"levels\":[\"bronze\",{\"name\":\"silver\"},\"gold\"],"
    "\"checks\":["
    "{\"id\":\"owner\",\"name\":\"Has owner\",\"level\":\"bronze\",\"rule\":{\"fact\":\"entity.spec.owner\",\"operator\":\"exists\",\"value\":true}},"
    "{\"id\":\"runbook\",\"level\":\"silver\",\"rule\":{\"fact\":\"links.runbook\",\"operator\":\"exists\",\"value\":true}},"
    "{\"id\":\"dashboard\",\"level\":\"silver\",\"rule\":{\"fact\":\"links.dashboard[0]\",\"operator\":\"exists\",\"value\":true}},"
    "{\"id\":\"fast\",\"level\":\"gold\",\"rule\":{\"fact\":\"dora.leadTimeSeconds.p50\",\"operator\":\"lessThan\",\"value\":7200}}]}}";

static cw_scorecard *card_of(const char *text)
{
    json_t *e = J(text);
    cw_scorecard *c = NULL;
    cw_diag d = {{0}};
    if (cw_scorecard_parse(e, &c, NULL, &d) != CW_OK)
        fail_msg("card: %s", d.msg);
    json_decref(e);
    return c;
}

static int64_t day_ms(const char *day)
{
    int64_t d;
    assert_true(cw_day_parse(day, &d));
    return d * 86400000LL;
}

static int level_with(const cw_scorecard *card, const char *annotation, int64_t now,
                      cw_scorecard_result *res)
{
    json_t *facts = J(FACTS);
    if (annotation)
        json_object_set_new(json_object_get(json_object_get(json_object_get(facts, "entity"), "metadata"),
                                            "annotations"),
                            "conway.dev/exempt-dashboard", json_string(annotation));
    assert_int_equal(cw_scorecard_eval(card, facts, now, true, res, NULL), CW_OK);
    json_decref(facts);
    return res->level;
}

static void test_levels_and_exemptions(void **state)
{
    (void)state;
    cw_scorecard *card = card_of(CARD);
    assert_int_equal(card->nlevels, 3);
    assert_int_equal(card->nchecks, 4);
    assert_string_equal(card->ref, "scorecard:default/ready");
    assert_string_equal(card->checks[1].name, "runbook");   /* name defaults to the id */
    cw_scorecard_result res = {0};
    int64_t now = day_ms("2026-12-07") + 3600000;
    /* dashboard (silver) fails: bronze, even though gold's check passes */
    assert_int_equal(level_with(card, NULL, now, &res), 0);
    assert_int_equal(res.checks[2].state, CW_CHECK_FAIL);
    assert_int_equal(res.checks[3].state, CW_CHECK_PASS);
    assert_int_equal(res.passed, 3);
    assert_int_equal(res.failed, 1);
    assert_true(json_is_null(json_object_get(res.checks[2].values, "links.dashboard[0]")));
    assert_int_equal(json_integer_value(json_object_get(res.checks[3].values,
                                                        "dora.leadTimeSeconds.p50")),
                     3600);
    json_t *rj = NULL;
    assert_int_equal(cw_scorecard_result_json(card, &res, &rj), CW_OK);
    assert_string_equal(json_string_value(json_object_get(rj, "level")), "bronze");
    assert_string_equal(json_string_value(json_object_get(rj, "nextLevel")), "silver");
    json_decref(rj);
    cw_scorecard_result_free(&res);
    /* an exemption through today counts: gold */
    assert_int_equal(level_with(card, "2026-12-07: dashboards move to Grafana in Q1", now, &res), 2);
    assert_int_equal(res.checks[2].state, CW_CHECK_EXEMPT);
    assert_int_equal(res.checks[2].exemption, CW_EXEMPT_ACTIVE);
    assert_string_equal(res.checks[2].exempt_reason, "dashboards move to Grafana in Q1");
    assert_int_equal(res.exempt, 1);
    cw_scorecard_result_free(&res);
    /* expired the day before: back to bronze */
    assert_int_equal(level_with(card, "2026-12-06: old", now, &res), 0);
    assert_int_equal(res.checks[2].exemption, CW_EXEMPT_EXPIRED);
    cw_scorecard_result_free(&res);
    /* malformed: no reason, not a date */
    assert_int_equal(level_with(card, "2027-01-31:  ", now, &res), 0);
    assert_int_equal(res.checks[2].exemption, CW_EXEMPT_INVALID);
    cw_scorecard_result_free(&res);
    assert_int_equal(level_with(card, "soon: trust me", now, &res), 0);
    assert_int_equal(res.checks[2].exemption, CW_EXEMPT_INVALID);
    cw_scorecard_result_free(&res);
    /* a failing bronze check: no level at all */
    json_t *facts = J(FACTS);
    json_object_del(json_object_get(json_object_get(facts, "entity"), "spec"), "owner");
    assert_int_equal(cw_scorecard_eval(card, facts, now, false, &res, NULL), CW_OK);
    assert_int_equal(res.level, -1);
    assert_null(res.checks[0].values);
    assert_int_equal(cw_scorecard_json(card, &rj), CW_OK);
    assert_int_equal(json_array_size(json_object_get(rj, "checks")), 4);
    json_decref(rj);
    json_decref(facts);
    cw_scorecard_result_free(&res);
    cw_scorecard_free(card);
}

static void bad_card(const char *spec, const char *want_path)
{
    char text[4096];
    snprintf(text, sizeof text,
             "{\"apiVersion\":\"conway.dev/v1\",\"kind\":\"Scorecard\",\"metadata\":{\"name\":\"c\"},"
             "\"spec\":%s}",
             spec);
    json_t *e = J(text);
    cw_issue_list issues = {0};
    cw_diag d = {{0}};
    assert_int_equal(cw_entity_validate_all(e, &issues, &d), CW_ERR_INVALID);
    bool found = false;
    for (size_t i = 0; i < issues.len; i++)
        found = found || strcmp(issues.items[i].path, want_path) == 0;
    if (!found)
        fail_msg("%s: no issue at %s (first: %s)", spec, want_path,
                 issues.len ? issues.items[0].text : "none");
    cw_issue_list_free(&issues);
    json_decref(e);
}

static void test_kind_validation(void **state)
{
    (void)state;
    /* the real card validates as an entity */
    json_t *e = J(CARD);
    cw_issue_list issues = {0};
    cw_diag d = {{0}};
    assert_int_equal(cw_entity_validate_all(e, &issues, &d), CW_OK);
    cw_issue_list_free(&issues);
    json_decref(e);
    const char *rule = "{\"fact\":\"a\",\"operator\":\"exists\",\"value\":true}";
    char s[1024];
    bad_card("{\"checks\":[]}", "spec.levels");
    bad_card("{\"levels\":[\"a\",\"a\"],\"checks\":[]}", "spec.levels[1]");
    bad_card("{\"levels\":[\"Gold\"],\"checks\":[]}", "spec.levels[0]");
    bad_card("{\"levels\":[\"a\"],\"checks\":[]}", "spec.checks");
    snprintf(s, sizeof s, "{\"levels\":[\"a\"],\"checks\":[{\"id\":\"x\",\"level\":\"b\",\"rule\":%s}]}", rule);
    bad_card(s, "spec.checks[0].level");
    snprintf(s, sizeof s,
             "{\"levels\":[\"a\"],\"checks\":[{\"id\":\"x\",\"level\":\"a\",\"rule\":%s},"
             "{\"id\":\"x\",\"level\":\"a\",\"rule\":%s}]}",
             rule, rule);
    bad_card(s, "spec.checks[1].id");
    snprintf(s, sizeof s, "{\"levels\":[\"a\"],\"checks\":[{\"id\":\"X y\",\"level\":\"a\",\"rule\":%s}]}", rule);
    bad_card(s, "spec.checks[0].id");
    bad_card("{\"levels\":[\"a\"],\"checks\":[{\"id\":\"x\",\"level\":\"a\",\"rule\":{\"all\":[{\"fact\":\"a\","
             "\"operator\":\"exists\",\"value\":true},{\"fact\":\"a\",\"operator\":\"nope\",\"value\":1}]}}]}",
             "spec.checks[0].rule.all[1].operator");
    bad_card("{\"levels\":[\"a\"],\"checks\":[{\"id\":\"x\",\"level\":\"a\"}]}", "spec.checks[0].rule");
    snprintf(s, sizeof s, "{\"filter\":\"kind=\",\"levels\":[\"a\"],\"checks\":[{\"id\":\"x\",\"level\":\"a\",\"rule\":%s}]}", rule);
    bad_card(s, "spec.filter");
    snprintf(s, sizeof s, "{\"filter\":[\"kind=api\",3],\"levels\":[\"a\"],\"checks\":[{\"id\":\"x\",\"level\":\"a\",\"rule\":%s}]}", rule);
    bad_card(s, "spec.filter[1]");
    snprintf(s, sizeof s, "{\"levelz\":1,\"levels\":[\"a\"],\"checks\":[{\"id\":\"x\",\"level\":\"a\",\"rule\":%s}]}", rule);
    bad_card(s, "spec");
}

static bool fmatch(const char *const *clauses, size_t n, const json_t *e)
{
    cw_filter_owned *f = NULL;
    cw_diag d = {{0}};
    if (cw_filter_parse_backstage(clauses, n, &f, &d) != CW_OK)
        fail_msg("filter: %s", d.msg);
    bool m = cw_filter_matches_entity(&f->filter, e);
    cw_filter_owned_free(f);
    return m;
}

static void test_filter_in_memory(void **state)
{
    (void)state;
    json_t *e = J("{\"apiVersion\":\"backstage.io/v1alpha1\",\"kind\":\"Component\","
                  "\"metadata\":{\"name\":\"Orders\",\"namespace\":\"default\",\"tags\":[\"Java\",\"pci\"]},"
                  "\"spec\":{\"type\":\"service\",\"lifecycle\":\"production\",\"owner\":\"payments\"},"
                  "\"relations\":[{\"type\":\"ownedBy\",\"targetRef\":\"group:default/Payments\"}]}");
    const char *a[] = {"kind=component,spec.lifecycle=production"};
    const char *b[] = {"kind=component,spec.lifecycle=experimental"};
    const char *c[] = {"kind=api", "metadata.tags=java"};          /* clauses OR */
    const char *d1[] = {"relations.ownedby=group:default/payments"};
    const char *e1[] = {"spec.system"};                               /* key exists */
    const char *f1[] = {"spec.type=website,spec.type=service"};       /* same key: any */
    const char *g[] = {"metadata.name=orders"};
    assert_true(fmatch(a, 1, e));
    assert_false(fmatch(b, 1, e));
    assert_true(fmatch(c, 2, e));
    assert_true(fmatch(d1, 1, e));
    assert_false(fmatch(e1, 1, e));
    assert_true(fmatch(f1, 1, e));
    assert_true(fmatch(g, 1, e));
    assert_true(fmatch(NULL, 0, e));
    json_decref(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_operators),        cmocka_unit_test(test_missing_and_types),
        cmocka_unit_test(test_validation),       cmocka_unit_test(test_regex),
        cmocka_unit_test(test_levels_and_exemptions), cmocka_unit_test(test_kind_validation),
        cmocka_unit_test(test_filter_in_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
