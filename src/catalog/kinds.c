/*
 * kinds.c — the kind table: for every kind conway knows, the apiVersions it
 * accepts, its spec fields (type, required, default kind of references and
 * the relation they produce) and an optional extra check. Field rules follow
 * Backstage's kind JSON schemas and BuiltinKindsEntityProcessor.
 */
#include "catalog/kinds.h"
#include "catalog/heartbeat.h"
#include "catalog/initiative.h"
#include "catalog/postmortem.h"
#include "catalog/scorecard.h"
#include "catalog/strategy.h"
#include "catalog/responsibilities.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const backstage_versions[] = {"backstage.io/v1alpha1",
                                                 "backstage.io/v1beta1", NULL};
static const char *const template_versions[] = {"scaffolder.backstage.io/v1beta3",
                                                "backstage.io/v1beta2", NULL};
static const char *const conway_versions[] = {"conway.dev/v1", NULL};

static const cw_spec_field component_fields[] = {
    {"type", CW_FIELD_STRING, true, NULL, NULL},
    {"lifecycle", CW_FIELD_STRING, true, NULL, NULL},
    {"owner", CW_FIELD_REF, true, "Group", "ownedBy"},
    {"system", CW_FIELD_REF, false, "System", "partOf"},
    {"subcomponentOf", CW_FIELD_REF, false, "Component", "partOf"},
    {"providesApis", CW_FIELD_REF_LIST, false, "API", "providesApi"},
    {"consumesApis", CW_FIELD_REF_LIST, false, "API", "consumesApi"},
    {"dependsOn", CW_FIELD_REF_LIST, false, NULL, "dependsOn"},
    {"dependencyOf", CW_FIELD_REF_LIST, false, NULL, "dependencyOf"},
};

static const cw_spec_field api_fields[] = {
    {"type", CW_FIELD_STRING, true, NULL, NULL},
    {"lifecycle", CW_FIELD_STRING, true, NULL, NULL},
    {"owner", CW_FIELD_REF, true, "Group", "ownedBy"},
    {"definition", CW_FIELD_STRING, true, NULL, NULL},
    {"system", CW_FIELD_REF, false, "System", "partOf"},
};

static const cw_spec_field resource_fields[] = {
    {"type", CW_FIELD_STRING, true, NULL, NULL},
    {"owner", CW_FIELD_REF, true, "Group", "ownedBy"},
    {"system", CW_FIELD_REF, false, "System", "partOf"},
    {"dependsOn", CW_FIELD_REF_LIST, false, NULL, "dependsOn"},
    {"dependencyOf", CW_FIELD_REF_LIST, false, NULL, "dependencyOf"},
};

static const cw_spec_field system_fields[] = {
    {"owner", CW_FIELD_REF, true, "Group", "ownedBy"},
    {"domain", CW_FIELD_REF, false, "Domain", "partOf"},
    {"type", CW_FIELD_STRING, false, NULL, NULL},
};

static const cw_spec_field domain_fields[] = {
    {"owner", CW_FIELD_REF, true, "Group", "ownedBy"},
    {"subdomainOf", CW_FIELD_REF, false, "Domain", "partOf"},
    {"type", CW_FIELD_STRING, false, NULL, NULL},
};

static const cw_spec_field group_fields[] = {
    {"type", CW_FIELD_STRING, true, NULL, NULL},
    {"children", CW_FIELD_REF_LIST, true, "Group", "parentOf"},
    {"parent", CW_FIELD_REF, false, "Group", "childOf"},
    {"members", CW_FIELD_REF_LIST, false, "User", "hasMember"},
    {"profile", CW_FIELD_OBJECT, false, NULL, NULL},
    /* webhook URLs for heartbeat notifications (ingest/hb_notifier.h) */
    {"notify", CW_FIELD_ARRAY, false, NULL, NULL},
};

static const cw_spec_field user_fields[] = {
    {"memberOf", CW_FIELD_REF_LIST, false, "Group", "memberOf"},
    {"profile", CW_FIELD_OBJECT, false, NULL, NULL},
};

static const cw_spec_field location_fields[] = {
    {"type", CW_FIELD_STRING, false, NULL, NULL},
    {"target", CW_FIELD_STRING, false, NULL, NULL},
    {"targets", CW_FIELD_STRING_LIST, false, NULL, NULL},
};

static const cw_spec_field template_fields[] = {
    {"type", CW_FIELD_STRING, true, NULL, NULL},
    {"owner", CW_FIELD_REF, false, "Group", "ownedBy"},
    {"steps", CW_FIELD_ARRAY, false, NULL, NULL},
};

/* the schedule fields are checked by cw_heartbeat_kind_check (heartbeat.c) */
static const cw_spec_field heartbeat_fields[] = {
    {"owner", CW_FIELD_REF, true, "Group", "ownedBy"},
    {"purpose", CW_FIELD_STRING, true, NULL, NULL},
    {"target", CW_FIELD_REF, false, NULL, NULL},
    {"dependsOn", CW_FIELD_REF, false, CW_HB_KIND, NULL},
};

/* conway.dev/v1 kinds until they get their own rules, and unknown kinds. */
static const cw_spec_field owner_only_fields[] = {
    {"owner", CW_FIELD_REF, false, "Group", "ownedBy"},
};

/* The strategy kinds (strategy.c checks the rest of their spec). */
static const cw_spec_field goal_fields[] = {
    {"owner", CW_FIELD_REF, false, "Group", "ownedBy"},
    {"stakeholders", CW_FIELD_REF_LIST, false, "Group", NULL},
    {"statement", CW_FIELD_STRING, false, NULL, NULL},
};

static const cw_spec_field hypothesis_fields[] = {
    {"owner", CW_FIELD_REF, false, "Group", "ownedBy"},
    {"change", CW_FIELD_STRING, false, NULL, NULL},
    {"outcome", CW_FIELD_STRING, false, NULL, NULL},
};

static const cw_spec_field decision_fields[] = {
    {"owner", CW_FIELD_REF, false, "Group", "ownedBy"},
    {"system", CW_FIELD_REF, false, "System", "partOf"},
    {"domain", CW_FIELD_REF, false, "Domain", "partOf"},
    {"supersededBy", CW_FIELD_REF, false, "Decision", NULL},
    {"needs", CW_FIELD_STRING_LIST, false, NULL, NULL},
    {"values", CW_FIELD_STRING_LIST, false, NULL, NULL},
    {"principles", CW_FIELD_STRING_LIST, false, NULL, NULL},
    {"practices", CW_FIELD_STRING_LIST, false, NULL, NULL},
};

static const cw_spec_field kpi_fields[] = {
    {"owner", CW_FIELD_REF, false, "Group", "ownedBy"},
    {"description", CW_FIELD_STRING, false, NULL, NULL},
};

/* Initiative (issue #15; initiative.c checks the target, scope and dates) */
static const cw_spec_field initiative_fields[] = {
    {"scorecard", CW_FIELD_REF, true, "Scorecard", NULL},
    {"owner", CW_FIELD_REF, false, "Group", "ownedBy"},
};

static void check_location(const json_t *entity, const json_t *spec, const char *ns,
                           const cw_activity_set *activities, cw_issue_list *out)
{
    (void)entity;
    (void)ns;
    (void)activities;
    if (!spec)
        return;
    if (!json_object_get(spec, "target") && !json_object_get(spec, "targets"))
        cw__issue(out, "spec", "kind Location requires spec.target or spec.targets");
    const json_t *presence = json_object_get(spec, "presence");
    if (presence) {
        const char *p = json_string_value(presence);
        if (!p || (strcmp(p, "required") != 0 && strcmp(p, "optional") != 0))
            cw__issue(out, "spec.presence", "must be \"required\" or \"optional\"");
    }
}

static void check_heartbeat(const json_t *entity, const json_t *spec, const char *ns,
                            const struct cw_activity_set *activities, cw_issue_list *out)
{
    (void)activities;
    cw_heartbeat_kind_check(entity, spec, ns, out);
}

#define RULE(kind, versions, spec_req, fields, check) \
    {kind, versions, spec_req, fields, N(fields), check}

static const cw_kind_rule kind_rules[] = {
    RULE("Component", backstage_versions, true, component_fields, NULL),
    RULE("API", backstage_versions, true, api_fields, NULL),
    RULE("Resource", backstage_versions, true, resource_fields, NULL),
    RULE("System", backstage_versions, true, system_fields, NULL),
    RULE("Domain", backstage_versions, true, domain_fields, NULL),
    RULE("Group", backstage_versions, true, group_fields, NULL),
    RULE("User", backstage_versions, true, user_fields, NULL),
    RULE("Location", backstage_versions, true, location_fields, check_location),
    RULE("Template", template_versions, true, template_fields, NULL),
    /* spec rules in responsibilities.c */
    RULE("Responsibilities", conway_versions, true, owner_only_fields,
         cw__responsibilities_kind_check),
    /* spec rules in src/catalog/postmortem.c (issue #13) */
    RULE("Postmortem", conway_versions, true, owner_only_fields, cw_postmortem_kind_check),
    RULE("Heartbeat", conway_versions, true, heartbeat_fields, check_heartbeat),
    /* spec rules in scorecard.c (issue #15) */
    RULE("Scorecard", conway_versions, true, owner_only_fields, cw__scorecard_kind_check),
    /* spec rules in strategy.c */
    RULE("Goal", conway_versions, true, goal_fields, cw__goal_kind_check),
    RULE("Hypothesis", conway_versions, true, hypothesis_fields, cw__hypothesis_kind_check),
    RULE("Decision", conway_versions, true, decision_fields, cw__decision_kind_check),
    RULE("KPI", conway_versions, true, kpi_fields, cw__kpi_kind_check),
    RULE("Initiative", conway_versions, true, initiative_fields, cw__initiative_kind_check),
};

static const cw_kind_rule unknown_rule = RULE(NULL, NULL, false, owner_only_fields, NULL);

const cw_kind_rule *cw__kind_rule(const char *kind)
{
    for (size_t i = 0; i < N(kind_rules); i++)
        if (strcasecmp(kind_rules[i].kind, kind) == 0)
            return &kind_rules[i];
    return NULL;
}

const cw_kind_rule *cw__unknown_kind_rule(void) { return &unknown_rule; }

/* The kinds whose ownership is a catalog concept: Backstage's owned kinds
 * (spec.owner required) and conway's own kinds (Responsibilities through
 * the owner of its target, the others through spec.owner). Groups, Users
 * and Locations describe the organisation and where the catalog comes
 * from: they belong to no team, whatever their spec says. Templates run
 * actions in Backstage: not a team's to publish through a scoped token. */
static const char *const team_kinds[] = {"Component", "API", "Resource", "System", "Domain",
                                         "Responsibilities", "Postmortem", "Heartbeat",
                                         "Scorecard", "Goal", "Hypothesis", "Decision",
                                         "Initiative"};

bool cw_kind_team_writable(const char *kind)
{
    for (size_t i = 0; kind && i < N(team_kinds); i++)
        if (strcasecmp(team_kinds[i], kind) == 0)
            return true;
    return false;
}

const char *cw_kind_team_writable_names(void)
{
    return "Component, API, Resource, System, Domain, Responsibilities, Postmortem, Heartbeat, "
           "Scorecard, Goal, Hypothesis, Decision and Initiative";
}

void cw__issue(cw_issue_list *l, const char *path, const char *fmt, ...)
{
    if (!l)
        return;
    if (l->len >= CW_ISSUES_MAX) {
        l->dropped++;
        return;
    }
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        cw_issue *items = realloc(l->items, cap * sizeof *items);
        if (!items) {
            l->nomem = true;
            return;
        }
        l->items = items;
        l->cap = cap;
    }
    cw_issue *it = &l->items[l->len++];
    size_t plen = strlen(path);
    if (plen >= sizeof it->path)
        plen = sizeof it->path - 1;
    memcpy(it->path, path, plen);
    it->path[plen] = '\0';
    /* "<path>: <rule>"; the path is at most 127 bytes, so the rule fits. */
    size_t o = 0;
    if (plen) {
        memcpy(it->text, it->path, plen);
        memcpy(it->text + plen, ": ", 2);
        o = plen + 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(it->text + o, sizeof it->text - o, fmt, ap);
    va_end(ap);
}

void cw_issue_list_free(cw_issue_list *l)
{
    free(l->items);
    l->items = NULL;
    l->len = l->cap = l->dropped = 0;
    l->nomem = false;
}
