/*
 * test_webhooks.c — GitHub and GitLab webhook payloads into CDEvents
 * (events/webhooks.h): every translated delivery gives CDEvents that
 * cw_cdevent_decode accepts as known types, with the repository, service,
 * environment, artifact, times and ids the table in docs/webhooks.md
 * promises; deliveries that make no event say why; a payload of a
 * translated kind without a needed field is refused naming it. GitLab
 * payloads come from tests/data/gitlab (built from GitLab's documented
 * examples); GitHub's real examples are driven through the server in
 * tests/api/webhooks.test.mjs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "events/events.h"
#include "events/webhooks.h"
#include "fixtures.h"
#include "util/crypto.h"
#include "util/timeutil.h"

#define NOW 1700000000000LL

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!j)
        fail_msg("bad test JSON: %s (%s)", je.text, text);
    return j;
}

static json_t *gitlab_fixture(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/gitlab/%s", CONWAY_TEST_DATA, name);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j)
        fail_msg("%s: %s", path, je.text);
    return j;
}

typedef cw_err (*translate_fn)(const cw_webhook_delivery *, const json_t *, cw_webhook_result *,
                               cw_diag *);

/* Translates and checks that every event decodes as a known CDEvent; the
 * events stay in r (caller frees). */
static void translate(translate_fn fn, const char *event, const char *label, json_t *payload,
                      cw_webhook_result *r)
{
    cw_webhook_delivery in = {.event = event, .delivery = "d-1", .incident_label = label,
                              .received_ms = NOW};
    cw_diag d = {""};
    cw_err err = fn(&in, payload, r, &d);
    if (err)
        fail_msg("translate %s: %s", event ? event : "(gitlab)", d.msg);
    assert_true(json_is_array(r->events));
    assert_true((json_array_size(r->events) == 0) == (r->ignored != NULL));
    size_t i;
    json_t *ev;
    json_array_foreach(r->events, i, ev) {
        cw_event e;
        if (cw_cdevent_decode(ev, &e, &d)) {
            char *text = json_dumps(ev, 0);
            fail_msg("event %zu does not decode: %s\n%s", i, d.msg, text);
        }
        assert_true(e.known);
        char id[32];
        snprintf(id, sizeof id, "d-1.%zu", i);
        assert_string_equal(e.id, id);
        cw_event_free(&e);
    }
}

static const char *at(const json_t *ev, const char *path)
{
    const json_t *cur = ev;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *seg = buf, *dot; seg; seg = dot ? dot + 1 : NULL) {
        dot = strchr(seg, '.');
        if (dot)
            *dot = '\0';
        cur = json_object_get(cur, seg);
    }
    return json_string_value(cur);
}

static void assert_event(const json_t *ev, const char *type, const char *subject,
                         const char *when)
{
    assert_non_null(ev);
    assert_string_equal(at(ev, "context.type"), type);
    assert_string_equal(at(ev, "subject.id"), subject);
    int64_t want, got;
    assert_true(cw_time_parse_rfc3339(when, &want));
    assert_true(cw_time_parse_rfc3339(at(ev, "context.timestamp"), &got));
    assert_int_equal(got, want);
}

/* ---- GitHub --------------------------------------------------------------------------- */

#define GH_REPO                                                                               \
    "\"repository\":{\"full_name\":\"Acme/Shop\",\"html_url\":\"https://github.com/Acme/Shop\"," \
    "\"default_branch\":\"main\"}"

static json_t *gh_pr(const char *action, const char *base, const char *merged_at)
{
    char text[2048];
    snprintf(text, sizeof text,
             "{\"action\":\"%s\",\"number\":7,\"pull_request\":{"
             "\"html_url\":\"https://github.com/Acme/Shop/pull/7\",\"title\":\"Faster checkout\","
             "\"created_at\":\"2024-05-01T10:00:00Z\",\"closed_at\":\"2024-05-02T09:00:00Z\","
             "\"merged\":%s,\"merged_at\":%s%s%s,\"base\":{\"ref\":\"%s\"}}," GH_REPO "}",
             action, merged_at ? "true" : "false", merged_at ? "\"" : "",
             merged_at ? merged_at : "null", merged_at ? "\"" : "", base);
    return parse(text);
}

static void test_github_pull_request(void **state)
{
    (void)state;
    cw_webhook_result r;
    json_t *p = gh_pr("opened", "main", NULL);
    translate(cw_webhook_github, "pull_request", NULL, p, &r);
    assert_int_equal(json_array_size(r.events), 1);
    json_t *ev = json_array_get(r.events, 0);
    assert_event(ev, "dev.cdevents.change.created.0.4.0", "https://github.com/Acme/Shop/pull/7",
                 "2024-05-01T10:00:00Z");
    assert_string_equal(at(ev, "subject.content.repository.id"), "Acme/Shop");
    assert_string_equal(at(ev, "subject.content.description"), "Faster checkout");
    assert_string_equal(at(ev, "context.source"), "https://github.com/Acme/Shop");
    const json_t *prov = json_object_get(json_object_get(ev, "customData"), "conway.dev/webhook");
    assert_string_equal(json_string_value(json_object_get(prov, "event")), "pull_request");
    assert_string_equal(json_string_value(json_object_get(prov, "action")), "opened");
    assert_string_equal(json_string_value(json_object_get(prov, "delivery")), "d-1");
    assert_string_equal(r.what, "pull_request.opened");
    cw_webhook_result_free(&r);
    json_decref(p);

    p = gh_pr("closed", "main", "2024-05-02T08:30:00Z");
    translate(cw_webhook_github, "pull_request", NULL, p, &r);
    assert_int_equal(json_array_size(r.events), 1);
    assert_event(json_array_get(r.events, 0), "dev.cdevents.change.merged.0.3.0",
                 "https://github.com/Acme/Shop/pull/7", "2024-05-02T08:30:00Z");
    cw_webhook_result_free(&r);
    json_decref(p);

    p = gh_pr("closed", "main", NULL);
    translate(cw_webhook_github, "pull_request", NULL, p, &r);
    assert_event(json_array_get(r.events, 0), "dev.cdevents.change.abandoned.0.3.0",
                 "https://github.com/Acme/Shop/pull/7", "2024-05-02T09:00:00Z");
    cw_webhook_result_free(&r);
    json_decref(p);

    /* into another branch, or an action that is not translated: nothing */
    p = gh_pr("closed", "release-1", "2024-05-02T08:30:00Z");
    translate(cw_webhook_github, "pull_request", NULL, p, &r);
    assert_int_equal(json_array_size(r.events), 0);
    assert_non_null(strstr(r.ignored, "default branch"));
    assert_false(r.unknown_type);
    cw_webhook_result_free(&r);
    json_decref(p);
    p = gh_pr("labeled", "main", NULL);
    translate(cw_webhook_github, "pull_request", NULL, p, &r);
    assert_int_equal(json_array_size(r.events), 0);
    assert_non_null(strstr(r.ignored, "opened and closed"));
    cw_webhook_result_free(&r);
    json_decref(p);
}

static void test_github_push(void **state)
{
    (void)state;
    cw_webhook_result r;
    json_t *p = parse(
        "{\"ref\":\"refs/heads/main\",\"deleted\":false,"
        "\"head_commit\":{\"message\":\"second\",\"timestamp\":\"2024-05-03T12:00:00Z\"},"
        "\"commits\":[{\"id\":\"aaa\",\"distinct\":true,\"message\":\"first\","
        "\"timestamp\":\"2024-05-03T11:00:00+02:00\",\"url\":\"https://github.com/Acme/Shop/commit/aaa\"},"
        "{\"id\":\"bbb\",\"distinct\":false,\"message\":\"cherry\",\"timestamp\":\"2024-05-03T11:30:00Z\"},"
        "{\"id\":\"ccc\",\"distinct\":true,\"message\":\"second\",\"timestamp\":\"2024-05-03T12:00:00Z\"}],"
        "\"repository\":{\"full_name\":\"Acme/Shop\",\"html_url\":\"https://github.com/Acme/Shop\","
        "\"default_branch\":\"main\",\"pushed_at\":1714737900}}");
    translate(cw_webhook_github, "push", NULL, p, &r);
    /* two distinct commits, each created (when written) and merged (pushed) */
    assert_int_equal(json_array_size(r.events), 4);
    assert_event(json_array_get(r.events, 0), "dev.cdevents.change.created.0.4.0",
                 "https://github.com/Acme/Shop/commit/aaa", "2024-05-03T09:00:00Z");
    assert_event(json_array_get(r.events, 1), "dev.cdevents.change.merged.0.3.0",
                 "https://github.com/Acme/Shop/commit/aaa", "2024-05-03T12:05:00Z");
    assert_event(json_array_get(r.events, 3), "dev.cdevents.change.merged.0.3.0",
                 "Acme/Shop@ccc", "2024-05-03T12:05:00Z");
    assert_string_equal(at(json_array_get(r.events, 3), "subject.content.repository.id"),
                        "Acme/Shop");
    cw_webhook_result_free(&r);
    json_decref(p);

    static const struct {
        const char *ref, *head, *why;
    } ignored[] = {
        {"refs/tags/v1", "x", "not a branch"},
        {"refs/heads/feature", "x", "default branch"},
        {"refs/heads/main", "Merge pull request #12 from acme/x", "merged pull request"},
        {"refs/heads/main", "Faster checkout (#12)\\n\\nbody", "merged pull request"},
    };
    for (size_t i = 0; i < FX_LEN(ignored); i++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "{\"ref\":\"%s\",\"head_commit\":{\"message\":\"%s\"},"
                 "\"commits\":[{\"id\":\"aaa\",\"message\":\"m\"}]," GH_REPO "}",
                 ignored[i].ref, ignored[i].head);
        json_t *body = json_loads(text, 0, NULL);
        assert_non_null(body);
        translate(cw_webhook_github, "push", NULL, body, &r);
        assert_int_equal(json_array_size(r.events), 0);
        if (!strstr(r.ignored, ignored[i].why))
            fail_msg("case %zu: '%s' does not say '%s'", i, r.ignored, ignored[i].why);
        cw_webhook_result_free(&r);
        json_decref(body);
    }
}

static void test_github_deployment_status(void **state)
{
    (void)state;
    static const char fmt[] =
        "{\"action\":\"created\",\"deployment_status\":{\"state\":\"%s\","
        "\"environment\":\"production\",\"created_at\":\"2024-05-04T08:00:00Z\"},"
        "\"deployment\":{\"sha\":\"f95f852bd8fca8fcc58a9a2d6c842781e32a215e\","
        "\"environment\":\"production\"}," GH_REPO "}";
    char text[1024];
    snprintf(text, sizeof text, fmt, "success");
    json_t *p = parse(text);
    cw_webhook_result r;
    translate(cw_webhook_github, "deployment_status", NULL, p, &r);
    assert_int_equal(json_array_size(r.events), 1);
    json_t *ev = json_array_get(r.events, 0);
    assert_event(ev, "dev.cdevents.service.deployed.0.3.0", "Acme/Shop", "2024-05-04T08:00:00Z");
    assert_string_equal(at(ev, "subject.content.environment.id"), "production");
    assert_string_equal(at(ev, "subject.content.artifactId"),
                        "f95f852bd8fca8fcc58a9a2d6c842781e32a215e");
    cw_webhook_result_free(&r);
    json_decref(p);
    static const char *const other[] = {"pending", "in_progress", "queued", "inactive",
                                        "failure", "error"};
    for (size_t i = 0; i < FX_LEN(other); i++) {
        snprintf(text, sizeof text, fmt, other[i]);
        p = parse(text);
        translate(cw_webhook_github, "deployment_status", NULL, p, &r);
        assert_int_equal(json_array_size(r.events), 0);
        assert_non_null(r.ignored);
        cw_webhook_result_free(&r);
        json_decref(p);
    }
}

static void test_github_workflow_release_issues(void **state)
{
    (void)state;
    static const struct {
        const char *conclusion, *outcome;
    } runs[] = {{"success", "success"}, {"failure", "failure"}, {"cancelled", "cancel"},
                {"timed_out", "error"}, {"neutral", NULL}};
    cw_webhook_result r;
    for (size_t i = 0; i < FX_LEN(runs); i++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "{\"action\":\"completed\",\"workflow_run\":{\"name\":\"CI\",\"conclusion\":\"%s\","
                 "\"html_url\":\"https://github.com/Acme/Shop/actions/runs/9\","
                 "\"updated_at\":\"2024-05-04T07:00:00Z\"}," GH_REPO "}",
                 runs[i].conclusion);
        json_t *p = parse(text);
        translate(cw_webhook_github, "workflow_run", NULL, p, &r);
        json_t *ev = json_array_get(r.events, 0);
        assert_event(ev, "dev.cdevents.pipelinerun.finished.0.3.0",
                     "https://github.com/Acme/Shop/actions/runs/9", "2024-05-04T07:00:00Z");
        assert_string_equal(at(ev, "subject.content.pipelineName"), "CI");
        if (runs[i].outcome)
            assert_string_equal(at(ev, "subject.content.outcome"), runs[i].outcome);
        else
            assert_null(at(ev, "subject.content.outcome"));
        cw_webhook_result_free(&r);
        json_decref(p);
    }

    json_t *p = parse("{\"action\":\"published\",\"release\":{\"tag_name\":\"v1.2\","
                      "\"published_at\":\"2024-05-05T00:00:00Z\",\"author\":{\"login\":\"octo\"}},"
                      GH_REPO "}");
    translate(cw_webhook_github, "release", NULL, p, &r);
    assert_event(json_array_get(r.events, 0), "dev.cdevents.artifact.published.0.3.0",
                 "pkg:github/acme/shop@v1.2", "2024-05-05T00:00:00Z");
    cw_webhook_result_free(&r);
    json_decref(p);

    static const char issue_fmt[] =
        "{\"action\":\"%s\",\"label\":{\"name\":\"%s\"},\"issue\":{"
        "\"html_url\":\"https://github.com/Acme/Shop/issues/3\",\"title\":\"Checkout down\","
        "\"state\":\"%s\",\"labels\":[{\"name\":\"bug\"},{\"name\":\"Incident\"}],"
        "\"created_at\":\"2024-05-06T10:00:00Z\",\"updated_at\":\"2024-05-06T10:05:00Z\","
        "\"closed_at\":\"2024-05-06T11:00:00Z\"}," GH_REPO "}";
    char text[2048];
    snprintf(text, sizeof text, issue_fmt, "opened", "bug", "open");
    p = parse(text);
    translate(cw_webhook_github, "issues", NULL, p, &r);
    json_t *ev = json_array_get(r.events, 0);
    assert_event(ev, "dev.cdevents.incident.detected.0.3.0",
                 "https://github.com/Acme/Shop/issues/3", "2024-05-06T10:00:00Z");
    assert_string_equal(at(ev, "subject.content.service.id"), "Acme/Shop");
    assert_string_equal(at(ev, "subject.content.environment.id"), "production");
    cw_webhook_result_free(&r);
    /* another label configured: this issue is no incident */
    translate(cw_webhook_github, "issues", "sev1", p, &r);
    assert_int_equal(json_array_size(r.events), 0);
    assert_non_null(strstr(r.ignored, "incident label"));
    cw_webhook_result_free(&r);
    json_decref(p);
    snprintf(text, sizeof text, issue_fmt, "closed", "bug", "closed");
    p = parse(text);
    translate(cw_webhook_github, "issues", NULL, p, &r);
    assert_event(json_array_get(r.events, 0), "dev.cdevents.incident.resolved.0.3.0",
                 "https://github.com/Acme/Shop/issues/3", "2024-05-06T11:00:00Z");
    cw_webhook_result_free(&r);
    json_decref(p);
    /* labeled with the incident label while open: detected now */
    snprintf(text, sizeof text, issue_fmt, "labeled", "incident", "open");
    p = parse(text);
    translate(cw_webhook_github, "issues", NULL, p, &r);
    assert_event(json_array_get(r.events, 0), "dev.cdevents.incident.detected.0.3.0",
                 "https://github.com/Acme/Shop/issues/3", "2024-05-06T10:05:00Z");
    cw_webhook_result_free(&r);
    json_decref(p);
    snprintf(text, sizeof text, issue_fmt, "labeled", "bug", "open");
    p = parse(text);
    translate(cw_webhook_github, "issues", NULL, p, &r);
    assert_int_equal(json_array_size(r.events), 0);
    cw_webhook_result_free(&r);
    json_decref(p);
}

static void test_github_unknown_and_invalid(void **state)
{
    (void)state;
    cw_webhook_result r;
    json_t *p = parse("{\"zen\":\"Design for failure.\",\"hook_id\":1}");
    translate(cw_webhook_github, "ping", NULL, p, &r);
    assert_true(r.unknown_type);
    assert_non_null(strstr(r.ignored, "ping"));
    cw_webhook_result_free(&r);
    translate(cw_webhook_github, "star\xff\n", NULL, p, &r);
    assert_true(r.unknown_type);
    assert_string_equal(r.what, "star??"); /* what a header held, made printable */
    assert_int_equal(json_array_size(r.events), 0);
    cw_webhook_result_free(&r);
    json_decref(p);

    static const struct {
        const char *event, *body, *detail;
    } bad[] = {
        {"pull_request", "{\"action\":\"opened\"}", "repository: required"},
        {"pull_request", "{\"action\":\"opened\"," GH_REPO "}", "pull_request: required"},
        {"pull_request", "{\"action\":\"opened\",\"pull_request\":{\"base\":{\"ref\":\"main\"}},"
                         GH_REPO "}", "pull_request.html_url: required"},
        {"push", "{" GH_REPO "}", "ref: required"},
        {"push", "{\"ref\":\"refs/heads/main\"," GH_REPO "}", "commits: required"},
        {"deployment_status", "{\"deployment_status\":{\"state\":\"success\"}," GH_REPO "}",
         "deployment: required"},
        {"release", "{\"action\":\"published\",\"release\":{}," GH_REPO "}",
         "release.tag_name: required"},
        {"issues", "[1]", "payload: must be a JSON object"},
    };
    for (size_t i = 0; i < FX_LEN(bad); i++) {
        p = parse(bad[i].body);
        cw_webhook_delivery in = {.event = bad[i].event, .delivery = "d", .received_ms = NOW};
        cw_diag d = {""};
        assert_int_equal(cw_webhook_github(&in, p, &r, &d), CW_ERR_INVALID);
        if (!strstr(d.msg, bad[i].detail))
            fail_msg("case %zu: '%s' does not say '%s'", i, d.msg, bad[i].detail);
        assert_null(r.events);
        json_decref(p);
    }
    /* the delivery id is required and bounded */
    cw_webhook_delivery in = {.event = "push", .delivery = "has space", .received_ms = NOW};
    cw_diag d = {""};
    p = parse("{}");
    assert_int_equal(cw_webhook_github(&in, p, &r, &d), CW_ERR_INVALID);
    in.delivery = NULL;
    assert_int_equal(cw_webhook_gitlab(&in, p, &r, &d), CW_ERR_INVALID);
    json_decref(p);
    char longid[CW_WEBHOOK_DELIVERY_MAX + 2];
    memset(longid, 'a', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    assert_false(cw_webhook_delivery_id_valid(longid));
    longid[CW_WEBHOOK_DELIVERY_MAX] = '\0';
    assert_true(cw_webhook_delivery_id_valid(longid));
}

/* ---- GitLab --------------------------------------------------------------------------- */

static void test_gitlab_fixtures(void **state)
{
    (void)state;
    static const struct {
        const char *file, *type, *subject, *when, *repo_or_service;
    } made[] = {
        {"merge_request.open.constructed.json", "dev.cdevents.change.created.0.4.0",
         "http://example.com/diaspora/merge_requests/1", "2013-12-03T17:23:34Z",
         "gitlabhq/gitlab-test"},
        {"merge_request.merge.constructed.json", "dev.cdevents.change.merged.0.3.0",
         "http://example.com/diaspora/merge_requests/1", "2013-12-04T09:10:11Z",
         "gitlabhq/gitlab-test"},
        {"merge_request.close.constructed.json", "dev.cdevents.change.abandoned.0.3.0",
         "http://example.com/diaspora/merge_requests/1", "2013-12-05T08:00:00Z",
         "gitlabhq/gitlab-test"},
        {"deployment.success.constructed.json", "dev.cdevents.service.deployed.0.3.0",
         "root/test-deployment-webhooks", "2021-04-28T19:50:00Z", NULL},
        {"pipeline.success.constructed.json", "dev.cdevents.pipelinerun.finished.0.3.0",
         "http://example.com/gitlab-org/gitlab-test/-/pipelines/31", "2016-08-12T15:26:29Z", NULL},
        {"pipeline.failed.constructed.json", "dev.cdevents.pipelinerun.finished.0.3.0",
         "http://example.com/gitlab-org/gitlab-test/-/pipelines/31", "2016-08-12T15:26:29Z", NULL},
        {"incident.open.constructed.json", "dev.cdevents.incident.detected.0.3.0",
         "http://example.com/gitlabhq/gitlab-test/-/issues/24", "2013-12-06T10:00:00Z",
         "gitlabhq/gitlab-test"},
        {"incident.close.constructed.json", "dev.cdevents.incident.resolved.0.3.0",
         "http://example.com/gitlabhq/gitlab-test/-/issues/24", "2013-12-06T11:30:00Z",
         "gitlabhq/gitlab-test"},
    };
    cw_webhook_result r;
    for (size_t i = 0; i < FX_LEN(made); i++) {
        json_t *p = gitlab_fixture(made[i].file);
        translate(cw_webhook_gitlab, NULL, NULL, p, &r);
        if (json_array_size(r.events) != 1)
            fail_msg("%s: %zu events (%s)", made[i].file, json_array_size(r.events),
                     r.ignored ? r.ignored : "");
        json_t *ev = json_array_get(r.events, 0);
        assert_event(ev, made[i].type, made[i].subject, made[i].when);
        if (made[i].repo_or_service && strstr(made[i].type, "change."))
            assert_string_equal(at(ev, "subject.content.repository.id"), made[i].repo_or_service);
        if (made[i].repo_or_service && strstr(made[i].type, "incident."))
            assert_string_equal(at(ev, "subject.content.service.id"), made[i].repo_or_service);
        cw_webhook_result_free(&r);
        json_decref(p);
    }
    /* the deployment's artifact is the full commit id of commit_url */
    json_t *p = gitlab_fixture("deployment.success.constructed.json");
    translate(cw_webhook_gitlab, "Deployment Hook", NULL, p, &r);
    assert_string_equal(at(json_array_get(r.events, 0), "subject.content.artifactId"),
                        "279484c09fbe69ededfced8c1bb6e6d24616b468");
    assert_string_equal(at(json_array_get(r.events, 0), "subject.content.environment.id"),
                        "staging");
    cw_webhook_result_free(&r);
    json_decref(p);
    /* a push to the default branch: each commit created and merged */
    p = gitlab_fixture("push.constructed.json");
    translate(cw_webhook_gitlab, "Push Hook", NULL, p, &r);
    assert_int_equal(json_array_size(r.events), 4);
    assert_event(json_array_get(r.events, 0), "dev.cdevents.change.created.0.4.0",
                 "http://example.com/mike/diaspora/commit/b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
                 "2011-12-12T12:27:31Z");
    char now[32];
    cw_time_format_compact(NOW, now);
    assert_event(json_array_get(r.events, 3), "dev.cdevents.change.merged.0.3.0",
                 "http://example.com/mike/diaspora/commit/da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
                 now);
    assert_string_equal(at(json_array_get(r.events, 3), "subject.content.repository.id"),
                        "mike/diaspora");
    cw_webhook_result_free(&r);
    json_decref(p);

    static const struct {
        const char *file, *why;
        bool unknown;
    } ignored[] = {
        {"merge_request.update.constructed.json", "open, merge and close", false},
        {"deployment.running.constructed.json", "success", false},
        {"pipeline.running.constructed.json", "not finished", false},
        {"issue.open.constructed.json", "not an incident", false},
        {"tag_push.constructed.json", "not translated", true},
    };
    for (size_t i = 0; i < FX_LEN(ignored); i++) {
        p = gitlab_fixture(ignored[i].file);
        translate(cw_webhook_gitlab, NULL, NULL, p, &r);
        assert_int_equal(json_array_size(r.events), 0);
        if (!strstr(r.ignored, ignored[i].why))
            fail_msg("%s: '%s' does not say '%s'", ignored[i].file, r.ignored, ignored[i].why);
        assert_int_equal(r.unknown_type, ignored[i].unknown);
        cw_webhook_result_free(&r);
        json_decref(p);
    }
    /* an issue with the configured label is an incident too */
    p = gitlab_fixture("issue.open.constructed.json");
    translate(cw_webhook_gitlab, NULL, "api", p, &r);
    assert_event(json_array_get(r.events, 0), "dev.cdevents.incident.detected.0.3.0",
                 "http://example.com/diaspora/issues/23", "2013-12-03T17:15:43Z");
    cw_webhook_result_free(&r);
    json_decref(p);
    /* a merge request without its url is refused naming it */
    p = gitlab_fixture("merge_request.open.constructed.json");
    json_object_del(json_object_get(p, "object_attributes"), "url");
    cw_webhook_delivery in = {.delivery = "x", .received_ms = NOW};
    cw_diag d = {""};
    assert_int_equal(cw_webhook_gitlab(&in, p, &r, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "object_attributes.url: required (a non-empty string)");
    json_decref(p);
}

static void test_times(void **state)
{
    (void)state;
    int64_t ms;
    assert_true(cw_webhook_parse_time("2016-08-12 15:23:28 UTC", &ms));
    int64_t want;
    assert_true(cw_time_parse_rfc3339("2016-08-12T15:23:28Z", &want));
    assert_int_equal(ms, want);
    assert_true(cw_webhook_parse_time("2021-04-28 21:50:00 +0200", &ms));
    assert_true(cw_time_parse_rfc3339("2021-04-28T19:50:00Z", &want));
    assert_int_equal(ms, want);
    assert_true(cw_webhook_parse_time("2019-05-15T15:20:33Z", &ms));
    assert_false(cw_webhook_parse_time("2021-04-28 21:50:00 CEST", &ms));
    assert_false(cw_webhook_parse_time("2021-04-28 21:50:00 +02", &ms));
    assert_false(cw_webhook_parse_time("yesterday", &ms));
    assert_false(cw_webhook_parse_time(NULL, &ms));
    assert_int_equal(cw_webhook_provider_parse("github"), CW_WEBHOOK_GITHUB);
    assert_int_equal(cw_webhook_provider_parse("gitlab"), CW_WEBHOOK_GITLAB);
    assert_int_equal(cw_webhook_provider_parse("GitHub"), 0);
    assert_string_equal(cw_webhook_provider_name(CW_WEBHOOK_GITLAB), "gitlab");
}

/* The HMAC GitHub signs with: RFC 4231 test case 2, and the example of
 * GitHub's "Validating webhook deliveries" page. */
static void test_hmac(void **state)
{
    (void)state;
    char out[65];
    static const char data[] = "what do ya want for nothing?";
    assert_int_equal(cw_hmac_sha256_hex("Jefe", 4, data, strlen(data), out), CW_OK);
    assert_string_equal(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    static const char key[] = "It's a Secret to Everybody";
    assert_int_equal(cw_hmac_sha256_hex(key, strlen(key), "Hello, World!", 13, out), CW_OK);
    assert_string_equal(out, "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_github_pull_request),
        cmocka_unit_test(test_github_push),
        cmocka_unit_test(test_github_deployment_status),
        cmocka_unit_test(test_github_workflow_release_issues),
        cmocka_unit_test(test_github_unknown_and_invalid),
        cmocka_unit_test(test_gitlab_fixtures),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_hmac),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
