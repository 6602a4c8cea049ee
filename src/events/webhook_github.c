/*
 * webhook_github.c — GitHub webhook deliveries as CDEvents (webhooks.h;
 * the table is in docs/webhooks.md, section "GitHub"). Field names follow
 * GitHub's webhook payloads as published in @octokit/webhooks-examples.
 */
#include <stdio.h>
#include <string.h>

#include "events/webhook_int.h"

/* The repository every translated event names: full_name ("owner/name")
 * and html_url (the events' source). */
typedef struct {
    const char *full_name;
    const char *html_url;
    const char *default_branch;
} gh_repo;

static cw_err need_repo(const json_t *p, gh_repo *r, cw_diag *d)
{
    const json_t *repo;
    cw_err err = cw__hk_need_obj(p, "repository", "repository", &repo, d);
    if (!err)
        err = cw__hk_need_str(repo, "full_name", "repository.full_name", &r->full_name, d);
    if (!err)
        err = cw__hk_need_str(repo, "html_url", "repository.html_url", &r->html_url, d);
    r->default_branch = cw__hk_str(repo, "default_branch");
    return err;
}

static json_t *repo_content(const gh_repo *r)
{
    json_t *ref = cw__hk_ref(r->full_name, r->html_url);
    return ref ? json_pack("{s:o}", "repository", ref) : NULL;
}

/* ---- pull_request ----------------------------------------------------------------- */

static cw_err pull_request(cw__hook *h, const json_t *p, const gh_repo *r, cw_diag *d)
{
    const char *action = h->action;
    bool opened = action && !strcmp(action, "opened");
    bool closed = action && !strcmp(action, "closed");
    if (!opened && !closed) {
        cw__hk_ignore(h, "pull_request: only the actions opened and closed are translated");
        return CW_OK;
    }
    const json_t *pr, *base;
    const char *url, *base_ref;
    cw_err err = cw__hk_need_obj(p, "pull_request", "pull_request", &pr, d);
    if (!err)
        err = cw__hk_need_str(pr, "html_url", "pull_request.html_url", &url, d);
    if (!err)
        err = cw__hk_need_obj(pr, "base", "pull_request.base", &base, d);
    if (!err)
        err = cw__hk_need_str(base, "ref", "pull_request.base.ref", &base_ref, d);
    if (err)
        return err;
    /* Only changes to the default branch reach production; a pull request
     * into another branch arrives there later through its own merge. */
    if (r->default_branch && strcmp(base_ref, r->default_branch) != 0) {
        cw__hk_ignore(h, "pull_request: the base branch is not the repository's default branch");
        return CW_OK;
    }
    int64_t now = h->in->received_ms;
    if (opened) {
        json_t *content = repo_content(r);
        const char *title = cw__hk_str(pr, "title");
        if (content && title && json_object_set_new(content, "description", json_string(title))) {
            json_decref(content);
            content = NULL;
        }
        return cw__hk_emit(h, "change.created", url, cw__hk_time(pr, "created_at", now), content,
                           d);
    }
    const json_t *merged = json_object_get(pr, "merged");
    if (json_is_true(merged) || cw__hk_str(pr, "merged_at")) {
        int64_t t = cw__hk_time(pr, "merged_at", cw__hk_time(pr, "closed_at", now));
        return cw__hk_emit(h, "change.merged", url, t, repo_content(r), d);
    }
    return cw__hk_emit(h, "change.abandoned", url, cw__hk_time(pr, "closed_at", now),
                       repo_content(r), d);
}

/* ---- push ----------------------------------------------------------------------------- */

static bool starts_with(const char *s, const char *prefix)
{
    return s && !strncmp(s, prefix, strlen(prefix));
}

/* Whether a commit message's first line is what GitHub writes when it
 * merges a pull request: "Merge pull request #12 from …" (merge commit) or
 * "Title (#12)" (squash merge). */
static bool is_pr_merge_message(const char *msg)
{
    if (!msg)
        return false;
    if (starts_with(msg, "Merge pull request #"))
        return true;
    size_t n = strcspn(msg, "\n");
    while (n && (msg[n - 1] == ' ' || msg[n - 1] == '\r'))
        n--;
    if (n < 5 || msg[n - 1] != ')')
        return false;
    size_t i = n - 1;
    size_t digits = 0;
    while (i > 0 && msg[i - 1] >= '0' && msg[i - 1] <= '9')
        i--, digits++;
    return digits > 0 && i >= 2 && msg[i - 1] == '#' && msg[i - 2] == '(';
}

static cw_err push(cw__hook *h, const json_t *p, const gh_repo *r, cw_diag *d)
{
    const char *ref;
    cw_err err = cw__hk_need_str(p, "ref", "ref", &ref, d);
    if (err)
        return err;
    if (!starts_with(ref, "refs/heads/")) {
        cw__hk_ignore(h, "push: not a branch (a tag or another ref)");
        return CW_OK;
    }
    if (!r->default_branch || strcmp(ref + 11, r->default_branch) != 0) {
        cw__hk_ignore(h, "push: not to the repository's default branch");
        return CW_OK;
    }
    if (json_is_true(json_object_get(p, "deleted"))) {
        cw__hk_ignore(h, "push: the branch was deleted");
        return CW_OK;
    }
    const json_t *head = cw__hk_obj(p, "head_commit");
    if (is_pr_merge_message(cw__hk_str(head, "message"))) {
        cw__hk_ignore(h, "push: a merged pull request (counted from its pull_request event)");
        return CW_OK;
    }
    const json_t *commits = json_object_get(p, "commits");
    if (!json_is_array(commits))
        return cw_fail(d, CW_ERR_INVALID, "commits: required (an array)");
    const json_t *repo = cw__hk_obj(p, "repository");
    int64_t pushed = cw__hk_time(repo, "pushed_at", cw__hk_time(head, "timestamp",
                                                                 h->in->received_ms));
    size_t i, made = 0;
    const json_t *c;
    json_array_foreach(commits, i, c) {
        char path[48];
        const char *sha;
        snprintf(path, sizeof path, "commits[%zu].id", i);
        if ((err = cw__hk_need_str(c, "id", path, &sha, d)))
            return err;
        /* a commit already on another branch of the repository arrived
         * with that branch's own push */
        if (json_is_false(json_object_get(c, "distinct")))
            continue;
        if (is_pr_merge_message(cw__hk_str(c, "message")))
            continue;
        char subject[256];
        const char *url = cw__hk_str(c, "url");
        if (!url) {
            snprintf(subject, sizeof subject, "%.120s@%.64s", r->full_name, sha);
            url = subject;
        }
        /* lead time from when the commit was written to its deployment */
        int64_t written = cw__hk_time(c, "timestamp", pushed);
        if ((err = cw__hk_emit(h, "change.created", url, written < pushed ? written : pushed,
                               repo_content(r), d)) ||
            (err = cw__hk_emit(h, "change.merged", url, pushed, repo_content(r), d)))
            return err;
        made++;
    }
    if (!made)
        cw__hk_ignore(h, "push: no new commit of its own");
    return CW_OK;
}

/* ---- deployment_status ------------------------------------------------------------- */

static cw_err deployment_status(cw__hook *h, const json_t *p, const gh_repo *r, cw_diag *d)
{
    const json_t *st, *dep;
    const char *state, *sha;
    cw_err err = cw__hk_need_obj(p, "deployment_status", "deployment_status", &st, d);
    if (!err)
        err = cw__hk_need_str(st, "state", "deployment_status.state", &state, d);
    if (err)
        return err;
    bool ok = !strcmp(state, "success");
    if (!ok && strcmp(state, "failure") != 0 && strcmp(state, "error") != 0) {
        cw__hk_ignore(h, "deployment_status: not finished (only success, failure and error "
                         "are translated)");
        return CW_OK;
    }
    if (!ok) {
        /* a deployment that failed put nothing into the environment: it
         * ships no change and is no production deployment */
        cw__hk_ignore(h, "deployment_status: failure or error: nothing was deployed");
        return CW_OK;
    }
    if ((err = cw__hk_need_obj(p, "deployment", "deployment", &dep, d)) ||
        (err = cw__hk_need_str(dep, "sha", "deployment.sha", &sha, d)))
        return err;
    const char *env = cw__hk_str(st, "environment");
    if (!env && (err = cw__hk_need_str(dep, "environment", "deployment.environment", &env, d)))
        return err;
    int64_t t = cw__hk_time(st, "created_at", cw__hk_time(st, "updated_at", h->in->received_ms));
    json_t *envref = cw__hk_ref(env, cw__hk_str(st, "environment_url"));
    json_t *content = envref ? json_pack("{s:o, s:s}", "environment", envref, "artifactId", sha)
                             : NULL;
    return cw__hk_emit(h, "service.deployed", r->full_name, t, content, d);
}

/* ---- workflow_run ---------------------------------------------------------------------- */

static const char *outcome_of(const char *conclusion)
{
    static const struct {
        const char *from, *to;
    } map[] = {{"success", "success"}, {"failure", "failure"},    {"cancelled", "cancel"},
               {"timed_out", "error"}, {"startup_failure", "error"}};
    for (size_t i = 0; conclusion && i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(map[i].from, conclusion))
            return map[i].to;
    return NULL;
}

static cw_err workflow_run(cw__hook *h, const json_t *p, const gh_repo *r, cw_diag *d)
{
    if (!h->action || strcmp(h->action, "completed") != 0) {
        cw__hk_ignore(h, "workflow_run: only the action completed is translated");
        return CW_OK;
    }
    const json_t *run;
    const char *url;
    cw_err err = cw__hk_need_obj(p, "workflow_run", "workflow_run", &run, d);
    if (!err)
        err = cw__hk_need_str(run, "html_url", "workflow_run.html_url", &url, d);
    if (err)
        return err;
    const char *name = cw__hk_str(run, "name");
    if (!name)
        name = cw__hk_str(cw__hk_obj(p, "workflow"), "name");
    json_t *content = json_pack("{s:s, s:s}", "pipelineName", name ? name : r->full_name, "uri",
                                url);
    const char *outcome = outcome_of(cw__hk_str(run, "conclusion"));
    if (content && outcome && json_object_set_new(content, "outcome", json_string(outcome))) {
        json_decref(content);
        content = NULL;
    }
    return cw__hk_emit(h, "pipelinerun.finished", url,
                       cw__hk_time(run, "updated_at", h->in->received_ms), content, d);
}

/* ---- release ------------------------------------------------------------------------- */

static cw_err release(cw__hook *h, const json_t *p, const gh_repo *r, cw_diag *d)
{
    if (!h->action || strcmp(h->action, "published") != 0) {
        cw__hk_ignore(h, "release: only the action published is translated");
        return CW_OK;
    }
    const json_t *rel;
    const char *tag;
    cw_err err = cw__hk_need_obj(p, "release", "release", &rel, d);
    if (!err)
        err = cw__hk_need_str(rel, "tag_name", "release.tag_name", &tag, d);
    if (err)
        return err;
    /* a package URL of type github: pkg:github/<owner>/<name>@<tag>, the
     * owner and name lower-cased as the purl type requires */
    char purl[512];
    int n = snprintf(purl, sizeof purl, "pkg:github/%s@%s", r->full_name, tag);
    if (n < 0 || (size_t)n >= sizeof purl)
        return cw_fail(d, CW_ERR_INVALID, "release.tag_name: too long");
    for (char *c = purl + 11; *c && *c != '@'; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c + 32);
    json_t *content = json_object();
    const char *user = cw__hk_str(cw__hk_obj(rel, "author"), "login");
    if (content && user && json_object_set_new(content, "user", json_string(user))) {
        json_decref(content);
        content = NULL;
    }
    return cw__hk_emit(h, "artifact.published", purl,
                       cw__hk_time(rel, "published_at", h->in->received_ms), content, d);
}

/* ---- issues ------------------------------------------------------------------------- */

static bool has_label(const json_t *issue, const char *label)
{
    size_t i;
    const json_t *l;
    json_array_foreach(json_object_get(issue, "labels"), i, l) {
        const char *name = cw__hk_str(l, "name");
        if (name && cw__hk_ieq(name, label))
            return true;
    }
    return false;
}

static cw_err issues(cw__hook *h, const json_t *p, const gh_repo *r, cw_diag *d)
{
    const char *a = h->action ? h->action : "";
    bool open = !strcmp(a, "opened"), close = !strcmp(a, "closed"), label = !strcmp(a, "labeled");
    if (!open && !close && !label) {
        cw__hk_ignore(h, "issues: only the actions opened, labeled and closed are translated");
        return CW_OK;
    }
    const json_t *issue;
    const char *url;
    cw_err err = cw__hk_need_obj(p, "issue", "issue", &issue, d);
    if (!err)
        err = cw__hk_need_str(issue, "html_url", "issue.html_url", &url, d);
    if (err)
        return err;
    const char *want = h->in->incident_label && *h->in->incident_label
                           ? h->in->incident_label
                           : CW_WEBHOOK_DEFAULT_INCIDENT_LABEL;
    if (!has_label(issue, want)) {
        cw__hk_ignore(h, "issues: the issue does not carry the incident label");
        return CW_OK;
    }
    /* labeled: only when the label just added is the incident label and
     * the issue is still open (the incident is detected now) */
    if (label) {
        const char *added = cw__hk_str(cw__hk_obj(p, "label"), "name");
        const char *state = cw__hk_str(issue, "state");
        if (!added || !cw__hk_ieq(added, want) || !state || strcmp(state, "open") != 0) {
            cw__hk_ignore(h, "issues: labeled with another label, or the issue is closed");
            return CW_OK;
        }
    }
    int64_t now = h->in->received_ms;
    int64_t t = close ? cw__hk_time(issue, "closed_at", now)
                : label ? cw__hk_time(issue, "updated_at", now)
                        : cw__hk_time(issue, "created_at", now);
    json_t *env = cw__hk_ref("production", NULL);
    json_t *svc = cw__hk_ref(r->full_name, r->html_url);
    json_t *content = env && svc ? json_pack("{s:o, s:o}", "environment", env, "service", svc)
                                 : NULL;
    if (!content) {
        json_decref(env);
        json_decref(svc);
    }
    const char *title = cw__hk_str(issue, "title");
    if (content && title && json_object_set_new(content, "description", json_string(title))) {
        json_decref(content);
        content = NULL;
    }
    return cw__hk_emit(h, close ? "incident.resolved" : "incident.detected", url, t, content, d);
}

/* ---- dispatch ------------------------------------------------------------------------ */

typedef cw_err (*gh_fn)(cw__hook *h, const json_t *p, const gh_repo *r, cw_diag *d);

static const struct {
    const char *event;
    gh_fn fn;
} handlers[] = {
    {"pull_request", pull_request}, {"push", push},       {"deployment_status", deployment_status},
    {"workflow_run", workflow_run}, {"release", release}, {"issues", issues},
};

cw_err cw_webhook_github(const cw_webhook_delivery *in, const json_t *payload,
                         cw_webhook_result *out, cw_diag *d)
{
    memset(out, 0, sizeof *out);
    if (!in || !cw_webhook_delivery_id_valid(in->delivery))
        return cw_fail(d, CW_ERR_INVALID, "X-GitHub-Delivery: required (1-%d printable "
                                          "characters)", CW_WEBHOOK_DELIVERY_MAX);
    const char *event = in->event ? in->event : "";
    const char *action = cw__hk_str(payload, "action");
    snprintf(out->what, sizeof out->what, "%.60s%s%.30s", event, action ? "." : "",
             action ? action : "");
    cw__hk_printable(out->what);
    out->events = json_array();
    if (!out->events)
        return cw_fail(d, CW_ERR_NOMEM, "webhook: out of memory");
    gh_fn fn = NULL;
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0] && !fn; i++)
        if (!strcmp(handlers[i].event, event))
            fn = handlers[i].fn;
    if (!fn) {
        out->unknown_type = true;
        out->ignored = !strcmp(event, "ping") ? "ping: GitHub checks that the hook answers"
                                              : "this event type is not translated";
        return CW_OK;
    }
    if (!json_is_object(payload)) {
        cw_webhook_result_free(out);
        return cw_fail(d, CW_ERR_INVALID, "payload: must be a JSON object");
    }
    gh_repo r;
    cw__hook h = {.in = in, .out = out, .provider = "github", .event = event, .action = action};
    cw_err err = need_repo(payload, &r, d);
    if (!err) {
        h.source = r.html_url;
        err = fn(&h, payload, &r, d);
    }
    if (err) {
        cw_webhook_result_free(out);
        return err;
    }
    if (json_array_size(out->events))
        out->ignored = NULL;
    else if (!out->ignored)
        out->ignored = "nothing to translate";
    return CW_OK;
}
