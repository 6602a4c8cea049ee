/*
 * webhook_gitlab.c — GitLab webhook deliveries as CDEvents (webhooks.h;
 * the table is in docs/webhooks.md, section "GitLab"). Field names follow
 * GitLab's documented payloads ("Webhook events" in GitLab's
 * documentation); deliveries are classified by their object_kind.
 */
#include <stdio.h>
#include <string.h>

#include "events/webhook_int.h"

typedef struct {
    const char *path;            /* path_with_namespace, "group/project" */
    const char *web_url;
    const char *default_branch;
} gl_project;

static cw_err need_project(const json_t *p, gl_project *r, cw_diag *d)
{
    const json_t *proj;
    cw_err err = cw__hk_need_obj(p, "project", "project", &proj, d);
    if (!err)
        err = cw__hk_need_str(proj, "path_with_namespace", "project.path_with_namespace",
                              &r->path, d);
    if (!err)
        err = cw__hk_need_str(proj, "web_url", "project.web_url", &r->web_url, d);
    r->default_branch = cw__hk_str(proj, "default_branch");
    return err;
}

static json_t *repo_content(const gl_project *r)
{
    json_t *ref = cw__hk_ref(r->path, r->web_url);
    return ref ? json_pack("{s:o}", "repository", ref) : NULL;
}

/* object_attributes.action, the GitLab verb of most kinds. */
static const char *attr_action(const json_t *p)
{
    return cw__hk_str(cw__hk_obj(p, "object_attributes"), "action");
}

/* ---- merge requests ----------------------------------------------------------------- */

static cw_err merge_request(cw__hook *h, const json_t *p, const gl_project *r, cw_diag *d)
{
    const json_t *mr;
    const char *url, *target;
    cw_err err = cw__hk_need_obj(p, "object_attributes", "object_attributes", &mr, d);
    if (err)
        return err;
    const char *a = h->action ? h->action : "";
    bool open = !strcmp(a, "open"), merge = !strcmp(a, "merge"), close = !strcmp(a, "close");
    if (!open && !merge && !close) {
        cw__hk_ignore(h, "merge_request: only the actions open, merge and close are translated");
        return CW_OK;
    }
    if ((err = cw__hk_need_str(mr, "url", "object_attributes.url", &url, d)) ||
        (err = cw__hk_need_str(mr, "target_branch", "object_attributes.target_branch", &target,
                               d)))
        return err;
    if (r->default_branch && strcmp(target, r->default_branch) != 0) {
        cw__hk_ignore(h, "merge_request: the target branch is not the project's default branch");
        return CW_OK;
    }
    int64_t now = h->in->received_ms;
    if (open) {
        json_t *content = repo_content(r);
        const char *title = cw__hk_str(mr, "title");
        if (content && title && json_object_set_new(content, "description", json_string(title))) {
            json_decref(content);
            content = NULL;
        }
        return cw__hk_emit(h, "change.created", url, cw__hk_time(mr, "created_at", now), content,
                           d);
    }
    /* GitLab sends no merged_at: the merge is the update this delivery
     * reports */
    int64_t t = cw__hk_time(mr, "merged_at", cw__hk_time(mr, "updated_at", now));
    return cw__hk_emit(h, merge ? "change.merged" : "change.abandoned", url, t, repo_content(r),
                       d);
}

/* ---- push ----------------------------------------------------------------------------- */

/* Whether a commit message is one GitLab writes when it merges a merge
 * request: "Merge branch 'x' into 'main'" with "See merge request g/p!12". */
static bool is_mr_merge_message(const char *msg)
{
    return msg && (!strncmp(msg, "Merge branch '", 14) || strstr(msg, "See merge request "));
}

static bool all_zero(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (*s != '0')
            return false;
    return true;
}

static cw_err push(cw__hook *h, const json_t *p, const gl_project *r, cw_diag *d)
{
    const char *ref;
    cw_err err = cw__hk_need_str(p, "ref", "ref", &ref, d);
    if (err)
        return err;
    if (strncmp(ref, "refs/heads/", 11) != 0 || !r->default_branch ||
        strcmp(ref + 11, r->default_branch) != 0) {
        cw__hk_ignore(h, "push: not to the project's default branch");
        return CW_OK;
    }
    if (all_zero(cw__hk_str(p, "after"))) {
        cw__hk_ignore(h, "push: the branch was deleted");
        return CW_OK;
    }
    const json_t *commits = json_object_get(p, "commits");
    if (!json_is_array(commits))
        return cw_fail(d, CW_ERR_INVALID, "commits: required (an array)");
    /* GitLab's push payload carries no push time: the delivery's arrival
     * stands for it */
    int64_t pushed = h->in->received_ms;
    size_t i, made = 0;
    const json_t *c;
    bool merge_push = false;
    json_array_foreach(commits, i, c) {
        if (is_mr_merge_message(cw__hk_str(c, "message")))
            merge_push = true;
    }
    if (merge_push) {
        cw__hk_ignore(h, "push: a merged merge request (counted from its merge request event)");
        return CW_OK;
    }
    json_array_foreach(commits, i, c) {
        char path[48];
        const char *sha;
        snprintf(path, sizeof path, "commits[%zu].id", i);
        if ((err = cw__hk_need_str(c, "id", path, &sha, d)))
            return err;
        char subject[256];
        const char *url = cw__hk_str(c, "url");
        if (!url) {
            snprintf(subject, sizeof subject, "%.120s@%.64s", r->path, sha);
            url = subject;
        }
        int64_t written = cw__hk_time(c, "timestamp", pushed);
        if ((err = cw__hk_emit(h, "change.created", url, written < pushed ? written : pushed,
                               repo_content(r), d)) ||
            (err = cw__hk_emit(h, "change.merged", url, pushed, repo_content(r), d)))
            return err;
        made++;
    }
    if (!made)
        cw__hk_ignore(h, "push: no commit listed");
    return CW_OK;
}

/* ---- deployments ------------------------------------------------------------------------ */

static bool is_sha(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == 40 || n == 64;
}

static cw_err deployment(cw__hook *h, const json_t *p, const gl_project *r, cw_diag *d)
{
    const char *status, *env;
    cw_err err = cw__hk_need_str(p, "status", "status", &status, d);
    if (err)
        return err;
    if (strcmp(status, "success") != 0) {
        cw__hk_ignore(h, "deployment: only the status success is translated");
        return CW_OK;
    }
    if ((err = cw__hk_need_str(p, "environment", "environment", &env, d)))
        return err;
    /* the full commit id is only in commit_url; short_sha otherwise */
    const char *artifact = NULL;
    const char *curl = cw__hk_str(p, "commit_url");
    const char *slash = curl ? strrchr(curl, '/') : NULL;
    if (slash && is_sha(slash + 1))
        artifact = slash + 1;
    if (!artifact && (err = cw__hk_need_str(p, "short_sha", "short_sha", &artifact, d)))
        return err;
    json_t *envref = cw__hk_ref(env, cw__hk_str(p, "environment_external_url"));
    json_t *content = envref ? json_pack("{s:o, s:s}", "environment", envref, "artifactId",
                                         artifact)
                             : NULL;
    return cw__hk_emit(h, "service.deployed", r->path,
                       cw__hk_time(p, "status_changed_at", h->in->received_ms), content, d);
}

/* ---- pipelines ----------------------------------------------------------------------- */

static cw_err pipeline(cw__hook *h, const json_t *p, const gl_project *r, cw_diag *d)
{
    const json_t *pl;
    const char *status;
    cw_err err = cw__hk_need_obj(p, "object_attributes", "object_attributes", &pl, d);
    if (!err)
        err = cw__hk_need_str(pl, "status", "object_attributes.status", &status, d);
    if (err)
        return err;
    const char *outcome = !strcmp(status, "success")    ? "success"
                          : !strcmp(status, "failed")   ? "failure"
                          : !strcmp(status, "canceled") ? "cancel"
                                                        : NULL;
    if (!outcome) {
        cw__hk_ignore(h, "pipeline: not finished (only success, failed and canceled are "
                         "translated)");
        return CW_OK;
    }
    char built[512];
    const char *url = cw__hk_str(pl, "url");
    if (!url) {
        const json_t *id = json_object_get(pl, "id");
        if (!json_is_integer(id))
            return cw_fail(d, CW_ERR_INVALID, "object_attributes.url: required (or an id)");
        snprintf(built, sizeof built, "%.400s/-/pipelines/%lld", r->web_url,
                 (long long)json_integer_value(id));
        url = built;
    }
    const char *name = cw__hk_str(pl, "name");
    if (!name)
        name = cw__hk_str(pl, "ref");
    json_t *content = json_pack("{s:s, s:s, s:s}", "pipelineName", name ? name : r->path, "uri",
                                url, "outcome", outcome);
    return cw__hk_emit(h, "pipelinerun.finished", url,
                       cw__hk_time(pl, "finished_at", h->in->received_ms), content, d);
}

/* ---- incidents ----------------------------------------------------------------------- */

static bool is_incident(const json_t *attrs, const char *label)
{
    const char *type = cw__hk_str(attrs, "type");
    const char *issue_type = cw__hk_str(attrs, "issue_type");
    if ((type && cw__hk_ieq(type, "incident")) || (issue_type && cw__hk_ieq(issue_type, "incident")))
        return true;
    size_t i;
    const json_t *l;
    json_array_foreach(json_object_get(attrs, "labels"), i, l) {
        const char *title = cw__hk_str(l, "title");
        if (title && cw__hk_ieq(title, label))
            return true;
    }
    return false;
}

static cw_err issue(cw__hook *h, const json_t *p, const gl_project *r, cw_diag *d)
{
    const json_t *attrs;
    const char *url;
    cw_err err = cw__hk_need_obj(p, "object_attributes", "object_attributes", &attrs, d);
    if (err)
        return err;
    const char *label = h->in->incident_label && *h->in->incident_label
                            ? h->in->incident_label
                            : CW_WEBHOOK_DEFAULT_INCIDENT_LABEL;
    if (!is_incident(attrs, label)) {
        cw__hk_ignore(h, "issue: not an incident (type Incident, or the incident label)");
        return CW_OK;
    }
    const char *a = h->action ? h->action : "";
    bool open = !strcmp(a, "open"), close = !strcmp(a, "close");
    if (!open && !close) {
        cw__hk_ignore(h, "issue: only the actions open and close are translated");
        return CW_OK;
    }
    if ((err = cw__hk_need_str(attrs, "url", "object_attributes.url", &url, d)))
        return err;
    int64_t now = h->in->received_ms;
    int64_t t = open ? cw__hk_time(attrs, "created_at", now)
                     : cw__hk_time(attrs, "closed_at", cw__hk_time(attrs, "updated_at", now));
    json_t *env = cw__hk_ref("production", NULL);
    json_t *svc = cw__hk_ref(r->path, r->web_url);
    json_t *content = env && svc ? json_pack("{s:o, s:o}", "environment", env, "service", svc)
                                 : NULL;
    if (!content) {
        json_decref(env);
        json_decref(svc);
    }
    const char *title = cw__hk_str(attrs, "title");
    if (content && title && json_object_set_new(content, "description", json_string(title))) {
        json_decref(content);
        content = NULL;
    }
    return cw__hk_emit(h, open ? "incident.detected" : "incident.resolved", url, t, content, d);
}

/* ---- dispatch ------------------------------------------------------------------------ */

typedef cw_err (*gl_fn)(cw__hook *h, const json_t *p, const gl_project *r, cw_diag *d);

static const struct {
    const char *kind;
    gl_fn fn;
    bool attr_action;   /* the action is object_attributes.action */
} handlers[] = {
    {"merge_request", merge_request, true}, {"push", push, false},
    {"deployment", deployment, false},      {"pipeline", pipeline, false},
    {"issue", issue, true},                 {"work_item", issue, true},
};

cw_err cw_webhook_gitlab(const cw_webhook_delivery *in, const json_t *payload,
                         cw_webhook_result *out, cw_diag *d)
{
    memset(out, 0, sizeof *out);
    if (!in || !cw_webhook_delivery_id_valid(in->delivery))
        return cw_fail(d, CW_ERR_INVALID, "X-Gitlab-Event-UUID: required (1-%d printable "
                                          "characters)", CW_WEBHOOK_DELIVERY_MAX);
    const char *kind = cw__hk_str(payload, "object_kind");
    if (!kind)
        kind = cw__hk_str(payload, "event_name"); /* group events carry only this */
    const char *header = in->event ? in->event : "";
    int idx = -1;
    for (size_t i = 0; kind && i < sizeof handlers / sizeof handlers[0] && idx < 0; i++)
        if (!strcmp(handlers[i].kind, kind))
            idx = (int)i;
    const char *action = idx >= 0 && handlers[idx].attr_action ? attr_action(payload) : NULL;
    snprintf(out->what, sizeof out->what, "%.60s%s%.30s", kind ? kind : header,
             action ? "." : "", action ? action : "");
    cw__hk_printable(out->what);
    out->events = json_array();
    if (!out->events)
        return cw_fail(d, CW_ERR_NOMEM, "webhook: out of memory");
    if (idx < 0) {
        out->unknown_type = true;
        out->ignored = "this event type is not translated";
        return CW_OK;
    }
    gl_project r;
    cw__hook h = {.in = in, .out = out, .provider = "gitlab", .event = kind, .action = action};
    cw_err err = need_project(payload, &r, d);
    if (!err) {
        h.source = r.web_url;
        err = handlers[idx].fn(&h, payload, &r, d);
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
