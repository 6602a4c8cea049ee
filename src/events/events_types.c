/*
 * events_types.c — the CDEvents types conway knows: their released versions
 * (standards.md §1.6) and the subject.content rules of their v0.5.1 JSON
 * Schemas (/work/shared/data/cdevents/schemas, standards.md §1.5), with the
 * checker that applies them.
 */
#include "events/events_int.h"

#include <stdio.h>
#include <string.h>

#define STR CW__R_STR
#define OBJ CW__R_OBJ
#define SARR CW__R_STR_ARR
#define REQ CW__F_REQ
#define NE CW__F_NONEMPTY
#define URI CW__F_URI
#define UREF CW__F_URIREF
#define READ CW__F_READ
#define KEEP CW__F_KEEP
#define END {NULL, 0, 0, NULL}

static const char *const outcome_enum[] = {"success", "failure", "cancel", "error", NULL};
static const char *const severity_enum[] = {"low", "medium", "high", "critical", NULL};
static const char *const trigger_enum[] = {"manual", "pipeline", "event", "schedule", "other", NULL};
static const char *const testcase_type_enum[] = {"performance", "functional", "unit", "security",
                                                 "compliance", "integration", "e2e", "other", NULL};
static const char *const output_type_enum[] = {"report", "video", "image", "log", "other", NULL};

static const cw__rule no_rules[] = {END};

#define REPO_RULES                                                                       \
    {"repository", OBJ, READ, NULL}, {"repository.id", STR, REQ | NE | READ | KEEP, NULL}, \
        {"repository.source", STR, NE | UREF, NULL}

static const cw__rule change_created_rules[] = {{"description", STR, NE, NULL}, REPO_RULES, END};
static const cw__rule repo_rules[] = {REPO_RULES, END};

static const cw__rule repository_created_rules[] = {{"name", STR, REQ | NE, NULL},
                                                    {"owner", STR, 0, NULL},
                                                    {"uri", STR, REQ | URI, NULL},
                                                    {"viewUrl", STR, URI, NULL},
                                                    END};
static const cw__rule repository_other_rules[] = {{"name", STR, 0, NULL},
                                                  {"owner", STR, 0, NULL},
                                                  {"uri", STR, URI, NULL},
                                                  {"viewUrl", STR, URI, NULL},
                                                  END};

static const cw__rule build_finished_rules[] = {{"artifactId", STR, READ, NULL}, END};

#define SBOM_RULES {"sbom", OBJ, 0, NULL}, {"sbom.uri", STR, REQ | NE | UREF, NULL}
static const cw__rule artifact_packaged_rules[] = {{"change", OBJ, REQ, NULL},
                                                   {"change.id", STR, REQ | NE, NULL},
                                                   {"change.source", STR, NE | UREF, NULL},
                                                   SBOM_RULES,
                                                   END};
static const cw__rule artifact_published_rules[] = {SBOM_RULES, {"user", STR, NE, NULL}, END};
static const cw__rule artifact_signed_rules[] = {{"signature", STR, REQ | NE, NULL}, END};
static const cw__rule artifact_user_rules[] = {{"user", STR, NE, NULL}, END};

#define ENV_RULES(req)                                                    \
    {"environment", OBJ, (req) | READ, NULL},                             \
        {"environment.id", STR, REQ | NE | READ | KEEP, NULL},            \
        {"environment.source", STR, NE | UREF, NULL}

/* deployed/upgraded/rolledback: the environment classifies a deployment, so
 * it stays required for every version. */
static const cw__rule service_deploy_rules[] = {
    {"environment", OBJ, REQ | READ | KEEP, NULL},
    {"environment.id", STR, REQ | NE | READ | KEEP, NULL},
    {"environment.source", STR, NE | UREF, NULL},
    {"artifactId", STR, REQ | NE | READ, NULL},
    END};
static const cw__rule service_other_rules[] = {ENV_RULES(0), END};

static const cw__rule environment_rules[] = {{"name", STR, 0, NULL}, {"uri", STR, URI, NULL}, END};
static const cw__rule environment_deleted_rules[] = {{"name", STR, 0, NULL}, END};

#define INCIDENT_RULES                                                      \
    {"description", STR, 0, NULL}, ENV_RULES(REQ), {"service", OBJ, READ, NULL}, \
        {"service.id", STR, REQ | NE | READ | KEEP, NULL},                       \
        {"service.source", STR, NE | UREF, NULL}, {"artifactId", STR, NE | READ, NULL}
static const cw__rule incident_rules[] = {INCIDENT_RULES, END};
static const cw__rule incident_reported_rules[] = {
    INCIDENT_RULES, {"ticketURI", STR, REQ | NE | URI, NULL}, END};

static const cw__rule pipelinerun_queued_rules[] = {
    {"pipelineName", STR, 0, NULL}, {"uri", STR, URI, NULL}, END};
static const cw__rule pipelinerun_started_rules[] = {
    {"pipelineName", STR, REQ, NULL}, {"uri", STR, REQ | URI, NULL}, END};
static const cw__rule pipelinerun_finished_rules[] = {{"pipelineName", STR, 0, NULL},
                                                      {"uri", STR, URI, NULL},
                                                      {"outcome", STR, 0, outcome_enum},
                                                      {"errors", STR, 0, NULL},
                                                      END};

#define TASKRUN_RULES                                                        \
    {"taskName", STR, 0, NULL}, {"uri", STR, URI, NULL}, {"pipelineRun", OBJ, 0, NULL}, \
        {"pipelineRun.id", STR, REQ | NE, NULL}, {"pipelineRun.source", STR, NE | UREF, NULL}
static const cw__rule taskrun_started_rules[] = {TASKRUN_RULES, END};
static const cw__rule taskrun_finished_rules[] = {
    TASKRUN_RULES, {"outcome", STR, 0, NULL}, {"errors", STR, 0, NULL}, END};

#define TRIGGER_RULES                                                              \
    {"trigger", OBJ, 0, NULL}, {"trigger.type", STR, 0, trigger_enum}, \
        {"trigger.uri", STR, URI, NULL}
#define TESTSUITERUN_REF_RULES \
    {"testSuiteRun", OBJ, 0, NULL}, {"testSuiteRun.id", STR, REQ | NE, NULL}, \
        {"testSuiteRun.source", STR, 0, NULL}
#define TESTCASE_RULES                                                                  \
    {"testCase", OBJ, 0, NULL}, {"testCase.id", STR, REQ | NE, NULL},                   \
        {"testCase.version", STR, 0, NULL}, {"testCase.name", STR, 0, NULL},            \
        {"testCase.type", STR, 0, testcase_type_enum}, {"testCase.uri", STR, URI, NULL}
#define TESTSUITE_RULES                                                                 \
    {"testSuite", OBJ, 0, NULL}, {"testSuite.id", STR, REQ | NE, NULL},                 \
        {"testSuite.version", STR, 0, NULL}, {"testSuite.name", STR, 0, NULL},          \
        {"testSuite.uri", STR, URI, NULL}

static const cw__rule testcaserun_start_rules[] = {
    TRIGGER_RULES, ENV_RULES(REQ), TESTSUITERUN_REF_RULES, TESTCASE_RULES, END};
static const cw__rule testcaserun_finished_rules[] = {
    {"outcome", STR, REQ, outcome_enum}, {"severity", STR, 0, severity_enum},
    {"reason", STR, 0, NULL},            ENV_RULES(REQ),
    TESTSUITERUN_REF_RULES,              TESTCASE_RULES,
    END};
static const cw__rule testcaserun_skipped_rules[] = {
    {"reason", STR, 0, NULL}, ENV_RULES(0), TESTSUITERUN_REF_RULES, TESTCASE_RULES, END};
static const cw__rule testsuiterun_start_rules[] = {TRIGGER_RULES, ENV_RULES(REQ), TESTSUITE_RULES,
                                                    END};
static const cw__rule testsuiterun_finished_rules[] = {ENV_RULES(REQ),
                                                       TESTSUITE_RULES,
                                                       {"outcome", STR, REQ, outcome_enum},
                                                       {"severity", STR, 0, severity_enum},
                                                       {"reason", STR, 0, NULL},
                                                       END};
static const cw__rule testoutput_published_rules[] = {
    {"outputType", STR, REQ, output_type_enum}, {"format", STR, REQ, NULL},
    {"uri", STR, URI, NULL},                    {"testCaseRun", OBJ, 0, NULL},
    {"testCaseRun.id", STR, REQ | NE, NULL},    {"testCaseRun.source", STR, 0, NULL},
    END};

/* ticketType, priority and resolution are "one of the enum or any string" in
 * the schemas, so only their type is checked. */
#define TICKET_COMMON_RULES                                                                  \
    {"ticketType", STR, 0, NULL}, {"group", STR, 0, NULL}, {"assignees", SARR, 0, NULL},     \
        {"priority", STR, 0, NULL}, {"labels", SARR, 0, NULL}, {"milestone", STR, 0, NULL}, \
        {"uri", STR, REQ | NE | UREF, NULL}
static const cw__rule ticket_created_rules[] = {
    {"summary", STR, REQ, NULL}, {"creator", STR, REQ | NE, NULL}, TICKET_COMMON_RULES, END};
static const cw__rule ticket_updated_rules[] = {{"summary", STR, 0, NULL},
                                                {"creator", STR, NE, NULL},
                                                {"updatedBy", STR, 0, NULL},
                                                TICKET_COMMON_RULES,
                                                END};
static const cw__rule ticket_closed_rules[] = {{"summary", STR, 0, NULL},
                                               {"creator", STR, NE, NULL},
                                               {"updatedBy", STR, 0, NULL},
                                               {"resolution", STR, REQ | NE, NULL},
                                               TICKET_COMMON_RULES,
                                               END};

/* Version histories, newest (v0.5.1) first. branch.* follows repository.*. */
#define V_CORE {"0.3.0", "0.2.0", "0.1.1", "0.1.0", NULL}
#define V_CHANGE {"0.3.0", "0.2.0", "0.1.2", "0.1.1", NULL}
#define V_CHANGE_CREATED {"0.4.0", "0.3.0", "0.1.2", "0.1.1", NULL}
#define V_SIGNED {"0.3.0", "0.2.0", "0.1.0", NULL, NULL}
#define V_TICKET {"0.2.0", "0.1.0", NULL, NULL, NULL}
#define V_INCIDENT {"0.3.0", "0.2.0", "0.1.0", NULL, NULL}
#define V_TESTRUN {"0.3.0", "0.2.0", "0.1.0", NULL, NULL}
#define V_SKIPPED {"0.2.0", "0.1.0", NULL, NULL, NULL}
#define V_OLDTEST {"0.1.1", "0.1.0", NULL, NULL, NULL}

static const cw__type types[] = {
    {"artifact", "deleted", V_TICKET, artifact_user_rules},
    {"artifact", "downloaded", V_TICKET, artifact_user_rules},
    {"artifact", "packaged", V_CORE, artifact_packaged_rules},
    {"artifact", "published", V_CORE, artifact_published_rules},
    {"artifact", "signed", V_SIGNED, artifact_signed_rules},
    {"branch", "created", V_CORE, repo_rules},
    {"branch", "deleted", V_CORE, repo_rules},
    {"build", "finished", V_CORE, build_finished_rules},
    {"build", "queued", V_CORE, no_rules},
    {"build", "started", V_CORE, no_rules},
    {"change", "abandoned", V_CHANGE, repo_rules},
    {"change", "created", V_CHANGE_CREATED, change_created_rules},
    {"change", "merged", V_CHANGE, repo_rules},
    {"change", "reviewed", V_CHANGE, repo_rules},
    {"change", "updated", V_CHANGE, repo_rules},
    {"environment", "created", V_CORE, environment_rules},
    {"environment", "deleted", V_CORE, environment_deleted_rules},
    {"environment", "modified", V_CORE, environment_rules},
    {"incident", "detected", V_INCIDENT, incident_rules},
    {"incident", "reported", V_INCIDENT, incident_reported_rules},
    {"incident", "resolved", V_INCIDENT, incident_rules},
    {"pipelinerun", "finished", V_CORE, pipelinerun_finished_rules},
    {"pipelinerun", "queued", V_CORE, pipelinerun_queued_rules},
    {"pipelinerun", "started", V_CORE, pipelinerun_started_rules},
    {"repository", "created", V_CORE, repository_created_rules},
    {"repository", "deleted", V_CORE, repository_other_rules},
    {"repository", "modified", V_CORE, repository_other_rules},
    {"service", "deployed", V_CORE, service_deploy_rules},
    {"service", "published", V_CORE, service_other_rules},
    {"service", "removed", V_CORE, service_other_rules},
    {"service", "rolledback", V_CORE, service_deploy_rules},
    {"service", "upgraded", V_CORE, service_deploy_rules},
    {"taskrun", "finished", V_CORE, taskrun_finished_rules},
    {"taskrun", "started", V_CORE, taskrun_started_rules},
    {"testcaserun", "finished", V_TESTRUN, testcaserun_finished_rules},
    {"testcaserun", "queued", V_TESTRUN, testcaserun_start_rules},
    {"testcaserun", "skipped", V_SKIPPED, testcaserun_skipped_rules},
    {"testcaserun", "started", V_TESTRUN, testcaserun_start_rules},
    {"testoutput", "published", V_TESTRUN, testoutput_published_rules},
    {"testsuiterun", "finished", V_TESTRUN, testsuiterun_finished_rules},
    {"testsuiterun", "queued", V_TESTRUN, testsuiterun_start_rules},
    {"testsuiterun", "started", V_TESTRUN, testsuiterun_start_rules},
    {"ticket", "closed", V_TICKET, ticket_closed_rules},
    {"ticket", "created", V_TICKET, ticket_created_rules},
    {"ticket", "updated", V_TICKET, ticket_updated_rules},
    /* v0.1–v0.2 names of the test events (renamed testcaserun/testsuiterun). */
    {"testcase", "finished", V_OLDTEST, no_rules},
    {"testcase", "queued", V_OLDTEST, no_rules},
    {"testcase", "started", V_OLDTEST, no_rules},
    {"testsuite", "finished", V_OLDTEST, no_rules},
    {"testsuite", "started", V_OLDTEST, no_rules},
};

const cw__type *cw__type_find(const char *subject, const char *predicate)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(types[i].subject, subject) == 0 && strcmp(types[i].predicate, predicate) == 0)
            return &types[i];
    return NULL;
}

bool cw__ieq(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char ca = (unsigned char)*a, cb = (unsigned char)*b;
        if (ca >= 'A' && ca <= 'Z')
            ca = (unsigned char)(ca + 32);
        if (cb >= 'A' && cb <= 'Z')
            cb = (unsigned char)(cb + 32);
        if (ca != cb)
            return false;
        if (!ca)
            return true;
    }
}

bool cw__is_uri_ref(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return false;
    return true;
}

bool cw__is_uri(const char *s)
{
    const char *p = s;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
        return false;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '+' || *p == '-' || *p == '.')
        p++;
    return *p == ':' && cw__is_uri_ref(s);
}

/* Finds the value at a rule path ("a" or "a.b") under content; *parent_present
 * tells whether the rule applies (its parent object exists). */
static const json_t *rule_lookup(const json_t *content, const char *path, bool *parent_present)
{
    const char *dot = strchr(path, '.');
    if (!dot) {
        *parent_present = true;
        return json_object_get(content, path);
    }
    char head[64];
    size_t n = (size_t)(dot - path);
    if (n >= sizeof head)
        n = sizeof head - 1;
    memcpy(head, path, n);
    head[n] = '\0';
    const json_t *parent = json_object_get(content, head);
    *parent_present = json_is_object(parent);
    return *parent_present ? json_object_get(parent, dot + 1) : NULL;
}

static const char *type_name(uint8_t type)
{
    switch (type) {
    case CW__R_OBJ: return "an object";
    case CW__R_STR_ARR: return "an array of strings";
    default: return "a string";
    }
}

cw_err cw__content_check(const cw__type *t, const json_t *content, bool full, cw_diag *d)
{
    for (const cw__rule *r = t->rules; r->path; r++) {
        if (!full && !(r->flags & CW__F_READ))
            continue;
        bool parent_present;
        const json_t *v = rule_lookup(content, r->path, &parent_present);
        if (!parent_present)
            continue;
        if (!v || json_is_null(v)) {
            bool required = (r->flags & CW__F_REQ) && (full || (r->flags & CW__F_KEEP));
            if (required)
                return cw_fail(d, CW_ERR_INVALID, "subject.content.%s: required", r->path);
            if (v && full)
                return cw_fail(d, CW_ERR_INVALID, "subject.content.%s: must be %s", r->path,
                               type_name(r->type));
            continue;
        }
        bool ok = r->type == CW__R_OBJ   ? json_is_object(v)
                  : r->type == CW__R_STR ? json_is_string(v)
                                         : json_is_array(v);
        if (!ok)
            return cw_fail(d, CW_ERR_INVALID, "subject.content.%s: must be %s", r->path,
                           type_name(r->type));
        if (r->type == CW__R_STR_ARR) {
            size_t i;
            const json_t *item;
            json_array_foreach(v, i, item) {
                if (!json_is_string(item))
                    return cw_fail(d, CW_ERR_INVALID, "subject.content.%s[%zu]: must be a string",
                                   r->path, i);
            }
            continue;
        }
        if (r->type != CW__R_STR)
            continue;
        const char *s = json_string_value(v);
        if ((r->flags & CW__F_NONEMPTY) && !*s)
            return cw_fail(d, CW_ERR_INVALID, "subject.content.%s: must not be empty", r->path);
        if (!full)
            continue;
        if ((r->flags & CW__F_URI) && !cw__is_uri(s))
            return cw_fail(d, CW_ERR_INVALID, "subject.content.%s: not an absolute URI", r->path);
        if ((r->flags & CW__F_URIREF) && !cw__is_uri_ref(s))
            return cw_fail(d, CW_ERR_INVALID, "subject.content.%s: not a URI reference", r->path);
        if (r->enumv) {
            const char *const *e = r->enumv;
            while (*e && strcmp(*e, s) != 0)
                e++;
            if (!*e)
                return cw_fail(d, CW_ERR_INVALID, "subject.content.%s: \"%.64s\" is not one of the allowed values",
                               r->path, s);
        }
    }
    return CW_OK;
}
