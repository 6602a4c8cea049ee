/*
 * test_ownership.c — ownership findings: each rule positive and negative,
 * memberships and dependencies read from spec or from store-style
 * relations, order and filters, the demo organisation's deliberate gaps,
 * a 10k-entity catalog, and the string map the rules are built on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "catalog/catalog.h"
#include "fixtures.h"
#include "insights/ownership.h"
#include "insights/raci.h"
#include "util/strmap.h"

/* ---- entity builders ------------------------------------------------------ */

static json_t *entity(const char *kind, const char *name)
{
    return json_pack("{s:s, s:s, s:{s:s}, s:{}}", "apiVersion",
                     strcmp(kind, "Responsibilities") ? "backstage.io/v1alpha1" : "conway.dev/v1",
                     "kind", kind, "metadata", "name", name, "spec");
}

static void set_spec(json_t *e, const char *key, json_t *v)
{
    json_object_set_new(json_object_get(e, "spec"), key, v);
}

static json_t *strs(const char *a, const char *b)
{
    json_t *arr = json_array();
    if (a)
        json_array_append_new(arr, json_string(a));
    if (b)
        json_array_append_new(arr, json_string(b));
    return arr;
}

static json_t *group(const char *name, const char *type)
{
    json_t *e = entity("Group", name);
    set_spec(e, "type", json_string(type));
    set_spec(e, "children", json_array());
    return e;
}

static json_t *user(const char *name, const char *group1)
{
    json_t *e = entity("User", name);
    set_spec(e, "memberOf", strs(group1, NULL));
    return e;
}

static json_t *component(const char *name, const char *owner, const char *lifecycle,
                         const char *system)
{
    json_t *e = entity("Component", name);
    set_spec(e, "type", json_string("service"));
    set_spec(e, "lifecycle", json_string(lifecycle));
    if (owner)
        set_spec(e, "owner", json_string(owner));
    if (system)
        set_spec(e, "system", json_string(system));
    return e;
}

static json_t *owned(const char *kind, const char *name, const char *owner)
{
    json_t *e = entity(kind, name);
    if (owner)
        set_spec(e, "owner", json_string(owner));
    return e;
}

/* Responsibilities declaring every standard activity but the skipped one. */
static json_t *full_raci(const char *name, const char *target, const char *skip)
{
    json_t *e = entity("Responsibilities", name);
    set_spec(e, "target", json_string(target));
    json_t *acts = json_object();
    for (size_t i = 0; i < CW_RACI_NSTANDARD; i++) {
        if (skip && strcmp(skip, cw_raci_standard_activities[i]) == 0)
            continue;
        json_object_set_new(acts, cw_raci_standard_activities[i],
                            json_pack("{s:[s], s:s}", "responsible", "group:default/team-a",
                                      "accountable", "group:default/team-a"));
    }
    set_spec(e, "activities", acts);
    return e;
}

/* The catalog a test builds, and the findings of its last run; the
 * fixture owns both. */
typedef struct {
    json_t *items[4096];
    size_t n;
    json_t *findings;
} cat;

static int cat_setup(void **state)
{
    cat *c = calloc(1, sizeof *c);
    assert_non_null(c);
    *state = c;
    return 0;
}

static int cat_teardown(void **state)
{
    cat *c = *state;
    for (size_t i = 0; i < c->n; i++)
        json_decref(c->items[i]);
    json_decref(c->findings);
    free(c);
    return 0;
}

static void add(cat *c, json_t *e)
{
    assert_non_null(e);
    assert_true(c->n < sizeof c->items / sizeof c->items[0]);
    c->items[c->n++] = e;
}

/* The ownership findings of the catalog (owned by c, until the next run). */
static json_t *run(cat *c, size_t max)
{
    json_decref(c->findings);
    c->findings = NULL;
    cw_diag d = {""};
    cw_ownership_opts o = {max};
    if (cw_ownership_check(c->items, c->n, &o, &c->findings, &d) != CW_OK)
        fail_msg("check: %s", d.msg);
    assert_true(json_is_array(c->findings));
    return c->findings;
}

/* The findings of rule: "entityRef|severity|detail" lines joined by '\n'
 * (with_detail), or their entity refs joined by ','. */
static const char *rule_findings(const json_t *findings, const char *rule, bool with_detail)
{
    static char buf[16384];
    size_t o = 0, i;
    json_t *f;
    buf[0] = '\0';
    json_array_foreach(findings, i, f) {
        if (strcmp(json_string_value(json_object_get(f, "rule")), rule) != 0)
            continue;
        const char *ref = json_string_value(json_object_get(f, "entityRef"));
        if (with_detail)
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s|%s|%s", o ? "\n" : "", ref,
                                  json_string_value(json_object_get(f, "severity")),
                                  json_string_value(json_object_get(f, "detail")));
        else
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", o ? "," : "", ref);
        assert_true(o < sizeof buf);
    }
    return buf;
}

static const char *of_rule(const json_t *findings, const char *rule)
{
    return rule_findings(findings, rule, true);
}

static const char *refs_of(const json_t *findings, const char *rule)
{
    return rule_findings(findings, rule, false);
}

/* ---- rules ---------------------------------------------------------------- */

static void test_owner_missing(void **state)
{
    cat *c = *state;
    add(c, group("team-a", "team"));
    add(c, user("ann", "team-a"));
    add(c, component("ok", "team-a", "experimental", NULL));
    add(c, component("ok-full-ref", "group:default/Team-A", "experimental", NULL));
    add(c, component("ghost-owner", "team-podcasts", "experimental", NULL));
    add(c, component("no-owner", NULL, "experimental", NULL));
    add(c, component("bad-kind", "component:default/ok", "experimental", NULL));
    add(c, component("bad-ref", "group:", "experimental", NULL));
    add(c, owned("API", "no-owner-api", NULL));
    add(c, owned("Resource", "db", "group:other/team-a")); /* other namespace: absent */
    add(c, owned("Location", "loc", NULL));                /* owner not required */
    json_t *f = run(c, 0);
    assert_string_equal(
        of_rule(f, "owner-missing"),
        "api:default/no-owner-api|error|spec.owner is missing: nobody owns this API\n"
        "component:default/bad-kind|error|spec.owner component:default/ok is not a Group or "
        "User: owners are teams or people\n"
        "component:default/bad-ref|error|spec.owner: entity reference \"group:\" was not on "
        "the form [<kind>:][<namespace>/]<name>\n"
        "component:default/ghost-owner|error|spec.owner group:default/team-podcasts points at "
        "no existing group\n"
        "component:default/no-owner|error|spec.owner is missing: nobody owns this Component\n"
        "resource:default/db|error|spec.owner group:other/team-a points at no existing group");
    /* The finding carries the owner, for filtering by team. */
    json_t *first = NULL;
    size_t i;
    json_t *x;
    json_array_foreach(f, i, x) {
        if (strcmp(json_string_value(json_object_get(x, "entityRef")),
                   "component:default/ghost-owner") == 0)
            first = x;
    }
    assert_non_null(first);
    assert_string_equal(json_string_value(json_object_get(first, "owner")),
                        "group:default/team-podcasts");
    assert_true(cw_ownership_has_errors(f));
}

static void test_owner_is_user(void **state)
{
    cat *c = *state;
    add(c, group("team-a", "team"));
    add(c, user("ann", "team-a"));
    add(c, component("lyrics", "user:ann", "production", NULL));
    add(c, component("gone", "user:bob", "experimental", NULL));
    add(c, component("teamed", "team-a", "experimental", NULL));
    json_t *f = run(c, 0);
    assert_string_equal(of_rule(f, "owner-is-user"),
                        "component:default/gone|warning|owned by a person (user:default/bob), "
                        "not a team: the bus factor is one\n"
                        "component:default/lyrics|warning|owned by a person (user:default/ann), "
                        "not a team: the bus factor is one");
    /* bob does not exist: that is also owner-missing, as a user. */
    assert_string_equal(of_rule(f, "owner-missing"),
                        "component:default/gone|error|spec.owner user:default/bob points at no "
                        "existing user");
}

static void test_team_without_members(void **state)
{
    cat *c = *state;
    add(c, group("empty", "team"));
    add(c, group("Team-Upper", "Team"));                 /* type compares ignoring case */
    add(c, group("via-user", "team"));
    add(c, user("ann", "via-user"));
    json_t *g = group("via-members", "team");
    set_spec(g, "members", strs("bob", NULL));            /* default kind User */
    add(c, g);
    add(c, user("bob", NULL));
    json_t *ghost = group("ghost-members", "team");
    set_spec(ghost, "members", strs("nobody", NULL));     /* no such user */
    add(c, ghost);
    add(c, group("dept", "department"));                 /* not a team */
    /* Store-style relations only (no spec lists). */
    json_t *rel = group("via-relation", "team");
    json_object_set_new(rel, "relations",
                        json_pack("[{s:s, s:s, s:{s:s, s:s, s:s}}]", "type", "hasMember",
                                  "targetRef", "user:default/cy", "target", "kind", "user",
                                  "namespace", "default", "name", "cy"));
    add(c, rel);
    json_t *cy = user("cy", NULL);
    add(c, cy);
    json_t *f = run(c, 0);
    assert_string_equal(refs_of(f, "team-without-members"),
                        "group:default/empty,group:default/ghost-members,group:default/Team-Upper");
    assert_non_null(strstr(of_rule(f, "team-without-members"), "team with no members"));
}

static void test_orphan_user(void **state)
{
    cat *c = *state;
    add(c, group("team-a", "team"));
    add(c, user("member", "team-a"));
    add(c, user("orphan", NULL));
    add(c, user("dangling", "no-such-group"));
    add(c, user("listed", NULL));
    json_t *g = group("lister", "team");
    set_spec(g, "members", strs("user:default/listed", NULL));
    add(c, g);
    /* Membership through a memberOf relation on the user. */
    json_t *r = user("related", NULL);
    json_object_set_new(r, "relations",
                        json_pack("[{s:s, s:s}]", "type", "memberOf", "targetRef",
                                  "group:default/team-a"));
    add(c, r);
    json_t *f = run(c, 0);
    assert_string_equal(of_rule(f, "orphan-user"),
                        "user:default/dangling|warning|member of no group: spec.memberOf names "
                        "no existing Group and no Group lists this user in spec.members\n"
                        "user:default/orphan|warning|member of no group: spec.memberOf names no "
                        "existing Group and no Group lists this user in spec.members");
    assert_false(cw_ownership_has_errors(f));
}

static void test_no_accountable(void **state)
{
    cat *c = *state;
    add(c, group("team-a", "team"));
    add(c, user("ann", "team-a"));
    json_t *dom = owned("Domain", "money", "team-a");
    add(c, dom);
    json_t *sys = owned("System", "payments", "team-a");
    set_spec(sys, "domain", json_string("money"));
    add(c, sys);
    add(c, owned("System", "royalties", "team-a"));
    /* The domain covers all but data-durability; the system adds it. */
    add(c, full_raci("money", "domain:money", "data-durability"));
    add(c, component("pay-api", "team-a", "production", "payments"));
    add(c, component("royalty-calc", "team-a", "production", "royalties"));
    add(c, component("draft", "team-a", "experimental", "royalties"));
    add(c, component("loner", "team-a", "Production", NULL));
    json_t *f = run(c, 0);
    assert_string_equal(refs_of(f, "no-accountable"),
                        "component:default/loner,component:default/pay-api,"
                        "component:default/royalty-calc");
    size_t i;
    json_t *x;
    json_array_foreach(f, i, x) {
        const char *ref = json_string_value(json_object_get(x, "entityRef"));
        if (strcmp(json_string_value(json_object_get(x, "rule")), "no-accountable") != 0)
            continue;
        json_t *acts = json_object_get(x, "activities");
        assert_string_equal(json_string_value(json_object_get(x, "severity")), "error");
        if (strcmp(ref, "component:default/pay-api") == 0) {
            assert_int_equal(json_array_size(acts), 1);
            assert_string_equal(json_string_value(json_array_get(acts, 0)), "data-durability");
            assert_string_equal(json_string_value(json_object_get(x, "detail")),
                                "production component with no accountable for 1 standard "
                                "activity: data-durability (looked on "
                                "component:default/pay-api, system:default/payments, "
                                "domain:default/money)");
        } else {
            assert_int_equal(json_array_size(acts), CW_RACI_NSTANDARD);
        }
    }

    /* The system declares data-durability: pay-api is now covered, and a
     * component-level declaration covers royalty-calc's remaining gap. */
    add(c, full_raci("payments", "system:payments", NULL));
    add(c, full_raci("royalty-calc", "component:royalty-calc", NULL));
    f = run(c, 0);
    assert_string_equal(refs_of(f, "no-accountable"), "component:default/loner");
}

static void test_shared_resource_owner(void **state)
{
    cat *c = *state;
    static const char *const teams[] = {"team-a", "team-b", "team-c", "team-x"};
    for (size_t i = 0; i < 4; i++) {
        add(c, group(teams[i], "team"));
        char u[16];
        snprintf(u, sizeof u, "u%zu", i);
        add(c, user(u, teams[i]));
    }
    add(c, owned("Resource", "shared-db", "team-x"));    /* used by a and b: finding */
    add(c, owned("Resource", "owned-db", "team-a"));     /* used by a and b, owned by a */
    add(c, owned("Resource", "one-team-db", "team-x"));  /* used by a twice */
    add(c, owned("Resource", "rel-db", "team-x"));       /* used through relations */
    json_t *a1 = component("a1", "team-a", "experimental", NULL);
    set_spec(a1, "dependsOn", strs("resource:shared-db", "resource:default/owned-db"));
    add(c, a1);
    json_t *a2 = component("a2", "team-a", "experimental", NULL);
    set_spec(a2, "dependsOn", strs("resource:one-team-db", "resource:shared-db"));
    add(c, a2);
    json_t *a3 = component("a3", "team-a", "experimental", NULL);
    set_spec(a3, "dependsOn", strs("resource:one-team-db", "component:b1"));
    add(c, a3);
    json_t *b1 = component("b1", "team-b", "experimental", NULL);
    set_spec(b1, "dependsOn", strs("Resource:default/Shared-DB", "resource:owned-db"));
    json_object_set_new(b1, "relations",
                        json_pack("[{s:s, s:s}, {s:s, s:s}]", "type", "dependsOn", "targetRef",
                                  "resource:default/shared-db", "type", "dependsOn",
                                  "targetRef", "resource:default/rel-db"));
    add(c, b1);
    json_t *c1 = component("c1", "team-c", "experimental", NULL);
    json_object_set_new(c1, "relations",
                        json_pack("[{s:s, s:{s:s, s:s, s:s}}]", "type", "dependsOn", "target",
                                  "kind", "resource", "namespace", "default", "name", "rel-db"));
    add(c, c1);
    json_t *f = run(c, 0);
    assert_string_equal(refs_of(f, "shared-resource-owner"),
                        "resource:default/rel-db,resource:default/shared-db");
    size_t i;
    json_t *x;
    json_array_foreach(f, i, x) {
        if (strcmp(json_string_value(json_object_get(x, "entityRef")),
                   "resource:default/shared-db") != 0)
            continue;
        json_t *ts = json_object_get(x, "teams");
        assert_int_equal(json_array_size(ts), 2);
        assert_string_equal(json_string_value(json_array_get(ts, 0)), "group:default/team-a");
        assert_string_equal(json_string_value(json_array_get(ts, 1)), "group:default/team-b");
        assert_string_equal(json_string_value(json_object_get(x, "detail")),
                            "used by components of 2 owners (group:default/team-a, "
                            "group:default/team-b) but owned by group:default/team-x: an owner "
                            "of the resource should be one of its users");
        assert_string_equal(json_string_value(json_object_get(x, "severity")), "warning");
    }
}

static void test_team_overload(void **state)
{
    cat *c = *state;
    add(c, group("busy", "team"));
    add(c, group("fine", "team"));
    add(c, user("ann", "busy"));
    add(c, user("bob", "fine"));
    char name[32];
    for (int i = 0; i < 9; i++) {
        snprintf(name, sizeof name, "busy-%d", i);
        add(c, component(name, "busy", "production", NULL));
        snprintf(name, sizeof name, "fine-%d", i);
        /* fine: 8 production, 1 experimental */
        add(c, component(name, "fine", i == 8 ? "experimental" : "production", NULL));
    }
    json_t *f = run(c, 0);
    assert_string_equal(of_rule(f, "team-overload"),
                        "group:default/busy|warning|owns 9 production components, more than the "
                        "limit of 8: split the work or the team");
    f = run(c, 7);
    assert_string_equal(refs_of(f, "team-overload"), "group:default/busy,group:default/fine");
    f = run(c, 9);
    assert_string_equal(refs_of(f, "team-overload"), "");
}

/* Issue #10: two Components claiming one link key. */
static json_t *annotated(const char *name, const char *ns, const char *owner, const char *ann,
                         const char *value)
{
    json_t *e = component(name, owner, "experimental", NULL);
    if (ns)
        json_object_set_new(json_object_get(e, "metadata"), "namespace", json_string(ns));
    if (ann)
        json_object_set_new(json_object_get(e, "metadata"), "annotations",
                            json_pack("{s:s}", ann, value));
    return e;
}

static void test_link_key_conflict(void **state)
{
    cat *c = *state;
    add(c, group("team-a", "team"));
    add(c, group("team-b", "team"));
    add(c, user("ann", "team-a"));
    add(c, user("bob", "team-b"));
    add(c, annotated("payments", NULL, "team-b", NULL, NULL));
    /* team-a's component claims team-b's service by its name */
    add(c, annotated("thief", NULL, "team-a", "conway.dev/service-id", "payments"));
    /* the same repository under the two annotations, ignoring case */
    add(c, annotated("web", NULL, "team-a", "conway.dev/repository", "acme/web"));
    add(c, annotated("web-2", NULL, "team-b", "github.com/project-slug", "ACME/web"));
    /* the same name in two namespaces */
    add(c, annotated("api", "ns1", "group:default/team-a", NULL, NULL));
    add(c, annotated("api", "ns2", "group:default/team-a", NULL, NULL));
    /* no conflict: own id equal to own name; distinct ids; other kinds */
    add(c, annotated("cart", NULL, "team-a", "conway.dev/service-id", "cart"));
    add(c, annotated("billing", NULL, "team-b", "conway.dev/service-id", "k8s/billing-v2"));
    add(c, owned("API", "payments", "team-a"));
    json_t *f = run(c, 0);
    assert_string_equal(
        rule_findings(f, "link-key-conflict", true),
        "component:default/payments|error|component:default/payments and "
        "component:default/thief both claim the service id 'payments', so events carrying it "
        "link to neither: give each its own conway.dev/service-id, repository or name\n"
        "component:default/web|error|component:default/web and component:default/web-2 both "
        "claim the repository id 'acme/web', so events carrying it link to neither: give each "
        "its own conway.dev/service-id, repository or name\n"
        "component:ns1/api|error|component:ns1/api and component:ns2/api both claim the service "
        "id 'api', so events carrying it link to neither: give each its own "
        "conway.dev/service-id, repository or name");
    /* both components, both teams (once), the key */
    json_t *x = NULL;
    size_t i;
    json_array_foreach(f, i, x) {
        if (!strcmp(json_string_value(json_object_get(x, "rule")), "link-key-conflict"))
            break;
    }
    json_t *want = json_pack("{s:[s,s], s:[s,s], s:{s:s, s:s}}", "entities",
                             "component:default/payments", "component:default/thief", "teams",
                             "group:default/team-b", "group:default/team-a", "linkKey", "kind",
                             "service", "value", "payments");
    assert_true(json_equal(json_object_get(x, "entities"), json_object_get(want, "entities")));
    assert_true(json_equal(json_object_get(x, "teams"), json_object_get(want, "teams")));
    assert_true(json_equal(json_object_get(x, "linkKey"), json_object_get(want, "linkKey")));
    json_decref(want);
    /* the finding is about both teams */
    cw_diag d = {""};
    json_t *out = NULL;
    cw_ownership_filter flt = {.rule = "link-key-conflict", .team = "team-a"};
    assert_int_equal(cw_ownership_filter_findings(f, &flt, &out, &d), CW_OK);
    assert_int_equal(json_array_size(out), 3);
    json_decref(out);
    flt.team = "team-b";
    assert_int_equal(cw_ownership_filter_findings(f, &flt, &out, &d), CW_OK);
    assert_int_equal(json_array_size(out), 2);
    json_decref(out);
    assert_true(cw_ownership_has_errors(f));
}

/* ---- order and filters ---------------------------------------------------- */

/* The annotations the catalog refresh writes (ingest/locations.h). */
static void test_orphans_and_unreachable_locations(void **state)
{
    cat *c = *state;
    add(c, group("team-a", "team"));
    add(c, user("ann", "team-a"));
    json_t *gone = component("gone", "team-a", "experimental", NULL);
    json_object_set_new(json_object_get(gone, "metadata"), "annotations",
                        json_pack("{s:s}", "backstage.io/orphan", "true"));
    add(c, gone);
    json_t *kept = component("kept", "team-a", "experimental", NULL);
    json_object_set_new(json_object_get(kept, "metadata"), "annotations",
                        json_pack("{s:s}", "backstage.io/orphan", "false"));
    add(c, kept);
    static const char *const counts[] = {"2", "3"};
    for (size_t i = 0; i < 2; i++) {
        char name[16];
        snprintf(name, sizeof name, "repo-%zu", i);
        json_t *loc = entity("Location", name);
        json_object_set_new(loc, "spec", json_pack("{s:s, s:s}", "type", "url", "target",
                                                   "https://example.com/c.yaml"));
        json_object_set_new(json_object_get(loc, "metadata"), "annotations",
                            json_pack("{s:s, s:s}", "conway.dev/fetch-failures", counts[i],
                                      "conway.dev/fetch-error", "HTTP 500"));
        add(c, loc);
    }
    json_t *f = run(c, 0);
    assert_string_equal(of_rule(f, "orphan-entity"),
                        "component:default/gone|warning|the location it was imported from no "
                        "longer holds it (backstage.io/orphan); remove it or put it back");
    /* two failures are not yet a finding, three are */
    assert_string_equal(refs_of(f, "location-unreachable"), "location:default/repo-1");
    assert_string_equal(of_rule(f, "location-unreachable"),
                        "location:default/repo-1|warning|its target could not be fetched 3 "
                        "times in a row: HTTP 500; the entities keep their last good content");
}

static void test_order_and_filters(void **state)
{
    cat *c = *state;
    add(c, group("team-b", "team"));               /* team-without-members */
    add(c, group("team-a", "team"));
    add(c, user("ann", "team-a"));
    add(c, user("zed", NULL));                     /* orphan-user */
    add(c, component("z-svc", "team-a", "production", NULL)); /* no-accountable */
    add(c, component("a-svc", "team-b", "production", NULL)); /* no-accountable */
    add(c, component("mine", "user:ann", "experimental", NULL)); /* owner-is-user */
    add(c, owned("Resource", "db", "team-a"));
    json_t *u1 = component("u1", "team-b", "experimental", NULL);
    set_spec(u1, "dependsOn", strs("resource:db", NULL));
    add(c, u1);
    json_t *u2 = component("u2", "user:ann", "experimental", NULL);
    set_spec(u2, "dependsOn", strs("resource:db", NULL));
    add(c, u2);                                    /* shared-resource-owner on db */
    json_t *f = run(c, 0);
    char seq[2048] = "";
    size_t i, o = 0;
    json_t *x;
    json_array_foreach(f, i, x) {
        o += (size_t)snprintf(seq + o, sizeof seq - o, "%s %s\n",
                              json_string_value(json_object_get(x, "rule")),
                              json_string_value(json_object_get(x, "entityRef")));
    }
    assert_string_equal(seq, "no-accountable component:default/a-svc\n"
                             "no-accountable component:default/z-svc\n"
                             "orphan-user user:default/zed\n"
                             "owner-is-user component:default/mine\n"
                             "owner-is-user component:default/u2\n"
                             "shared-resource-owner resource:default/db\n"
                             "team-without-members group:default/team-b\n");
    /* Same input in reverse: same output. */
    json_t *rev[4096];
    for (size_t k = 0; k < c->n; k++)
        rev[k] = c->items[c->n - 1 - k];
    json_t *f2 = NULL;
    cw_diag d = {""};
    assert_int_equal(cw_ownership_check(rev, c->n, NULL, &f2, &d), CW_OK);
    assert_true(json_equal(f, f2));
    json_decref(f2);

    json_t *out = NULL;
    cw_ownership_filter flt = {.rule = "owner-is-user"};
    assert_int_equal(cw_ownership_filter_findings(f, &flt, &out, &d), CW_OK);
    assert_int_equal(json_array_size(out), 2);
    json_decref(out);

    flt = (cw_ownership_filter){.severity = "error"};
    assert_int_equal(cw_ownership_filter_findings(f, &flt, &out, &d), CW_OK);
    assert_string_equal(refs_of(out, "no-accountable"),
                        "component:default/a-svc,component:default/z-svc");
    assert_int_equal(json_array_size(out), 2);
    json_decref(out);

    /* team-b: what it owns (a-svc), itself, and the resource it uses. */
    flt = (cw_ownership_filter){.team = "team-b"};
    assert_int_equal(cw_ownership_filter_findings(f, &flt, &out, &d), CW_OK);
    o = 0;
    seq[0] = '\0';
    json_array_foreach(out, i, x) {
        o += (size_t)snprintf(seq + o, sizeof seq - o, "%s ",
                              json_string_value(json_object_get(x, "entityRef")));
    }
    assert_string_equal(seq, "component:default/a-svc resource:default/db group:default/team-b ");
    json_decref(out);

    flt = (cw_ownership_filter){.team = "Group:default/TEAM-A", .severity = "warning"};
    assert_int_equal(cw_ownership_filter_findings(f, &flt, &out, &d), CW_OK);
    assert_int_equal(json_array_size(out), 1); /* the resource it owns */
    json_decref(out);

    flt = (cw_ownership_filter){.rule = "owner-lost"};
    assert_int_equal(cw_ownership_filter_findings(f, &flt, &out, &d), CW_ERR_INVALID);
    assert_null(out);
    /* the postmortem rules (insights/postmortem.h) share the answer */
    assert_string_equal(d.msg, "rule: unknown rule \"owner-lost\"; known rules: action-overdue, "
                               "action-owner-not-accountable, action-owner-unknown, "
                               "heartbeat-down, heartbeat-without-target, "
                               "incident-without-postmortem, link-key-conflict, "
                               "location-unreachable, no-accountable, orphan-entity, "
                               "orphan-user, owner-is-user, owner-missing, "
                               "postmortem-without-actions, "
                               "shared-resource-owner, team-overload, team-without-members, "
                               "untested-backup");
    flt = (cw_ownership_filter){.severity = "fatal"};
    assert_int_equal(cw_ownership_filter_findings(f, &flt, &out, &d), CW_ERR_INVALID);
    assert_string_equal(d.msg, "severity: must be \"error\" or \"warning\"");
    flt = (cw_ownership_filter){.team = "group:"};
    assert_int_equal(cw_ownership_filter_findings(f, &flt, &out, &d), CW_ERR_INVALID);
    assert_non_null(strstr(d.msg, "team: entity reference"));
    assert_int_equal(cw_ownership_filter_findings(f, NULL, &out, &d), CW_OK);
    assert_true(json_equal(out, f));
    json_decref(out);

    assert_int_equal(cw_ownership_check_array(NULL, NULL, &out, &d), CW_ERR_INVALID);
    json_t *empty = json_array();
    assert_int_equal(cw_ownership_check_array(empty, NULL, &out, &d), CW_OK);
    assert_int_equal(json_array_size(out), 0);
    json_decref(out);
    json_decref(empty);
}

/* ---- the demo organisation ------------------------------------------------- */

static void check_demo_findings(json_t *all)
{
    json_t *f = NULL;
    cw_diag d = {""};
    assert_int_equal(cw_ownership_check_array(all, NULL, &f, &d), CW_OK);
    assert_string_equal(refs_of(f, "owner-missing"), "component:default/podcast-feed-service");
    assert_string_equal(refs_of(f, "owner-is-user"), "component:default/lyrics-service");
    assert_string_equal(refs_of(f, "team-without-members"), "group:default/team-data-governance");
    assert_string_equal(refs_of(f, "orphan-user"), "user:default/alex.morgan,user:default/kim.larsen");
    assert_string_equal(refs_of(f, "team-overload"), "group:default/team-content");
    assert_string_equal(refs_of(f, "shared-resource-owner"), "resource:default/legacy-users-db");

    /* no-accountable: every production component of the royalties system
     * (all nine activities) and of the payments system (data-durability). */
    char expected[8192] = "";
    size_t o = 0, i, nroy = 0, npay = 0;
    json_t *e;
    json_array_foreach(all, i, e) {
        json_t *spec = json_object_get(e, "spec");
        const char *sys = json_string_value(json_object_get(spec, "system"));
        if (strcmp(json_string_value(json_object_get(e, "kind")), "Component") != 0 || !sys ||
            strcmp(json_string_value(json_object_get(spec, "lifecycle")), "production") != 0)
            continue;
        if (strcmp(sys, "royalties") == 0)
            nroy++;
        else if (strcmp(sys, "payments") == 0)
            npay++;
        else
            continue;
        o += (size_t)snprintf(expected + o, sizeof expected - o, "%s",
                              json_string_value(json_object_get(json_object_get(e, "metadata"),
                                                                "name")));
        expected[o++] = '\n';
        expected[o] = '\0';
    }
    assert_true(nroy > 0 && npay > 0);
    size_t nfound = 0;
    json_array_foreach(f, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "rule")), "no-accountable") != 0)
            continue;
        nfound++;
        const char *ref = json_string_value(json_object_get(e, "entityRef"));
        const char *name = strchr(ref, '/') + 1;
        char line[128];
        snprintf(line, sizeof line, "%s\n", name);
        if (!strstr(expected, line))
            fail_msg("unexpected no-accountable finding for %s", ref);
        size_t nacts = json_array_size(json_object_get(e, "activities"));
        assert_true(nacts == 1 || nacts == CW_RACI_NSTANDARD);
        if (nacts == 1)
            assert_string_equal(json_string_value(json_array_get(json_object_get(e, "activities"),
                                                                 0)),
                                "data-durability");
    }
    assert_int_equal(nfound, nroy + npay);
    assert_true(cw_ownership_has_errors(f));
    json_decref(f);
}

static void test_demo_organisation(void **state)
{
    (void)state;
    json_t *all = fx_demo_load();
    if (!all)
        skip();
    assert_true(json_array_size(all) > 100);
    check_demo_findings(all);
    /* As the store returns them, with relations in both directions. */
    fx_add_relations(all);
    check_demo_findings(all);
    json_decref(all);
}

/* ---- scale ---------------------------------------------------------------- */

static void test_ten_thousand_entities(void **state)
{
    (void)state;
    /* 200 teams of 10 users, 7000 components (35 per team, all production),
     * 800 resources each used by two teams, one of them the owner. */
    json_t *all = json_array();
    char a[64], b[64];
    for (int t = 0; t < 200; t++) {
        snprintf(a, sizeof a, "team-%d", t);
        json_array_append_new(all, group(a, "team"));
        for (int u = 0; u < 10; u++) {
            snprintf(b, sizeof b, "user-%d-%d", t, u);
            json_array_append_new(all, user(b, a));
        }
    }
    for (int r = 0; r < 800; r++) {
        snprintf(a, sizeof a, "db-%d", r);
        snprintf(b, sizeof b, "team-%d", r % 200);
        json_array_append_new(all, owned("Resource", a, b));
    }
    for (int c = 0; c < 7000; c++) {
        snprintf(a, sizeof a, "svc-%d", c);
        snprintf(b, sizeof b, "team-%d", c % 200);
        json_t *e = component(a, b, "production", NULL);
        char dep[64];
        snprintf(dep, sizeof dep, "resource:db-%d", (c % 200) + 200 * ((c / 200) % 4));
        set_spec(e, "dependsOn", strs(dep, c % 7 == 0 ? "resource:db-0" : NULL));
        json_array_append_new(all, e);
    }
    assert_true(json_array_size(all) >= 10000);
    json_t *f = NULL;
    cw_diag d = {""};
    assert_int_equal(cw_ownership_check_array(all, NULL, &f, &d), CW_OK);
    size_t overload = 0, noacc = 0, shared = 0, other = 0, i;
    json_t *x;
    json_array_foreach(f, i, x) {
        const char *rule = json_string_value(json_object_get(x, "rule"));
        if (strcmp(rule, "team-overload") == 0)
            overload++;
        else if (strcmp(rule, "no-accountable") == 0)
            noacc++;
        else if (strcmp(rule, "shared-resource-owner") == 0)
            shared++;
        else
            other++;
    }
    assert_int_equal(overload, 200);
    assert_int_equal(noacc, 7000);
    /* db-0 is used by every seventh component: many teams, owner team-0 among them. */
    assert_int_equal(shared, 0);
    assert_int_equal(other, 0);
    json_decref(f);
    json_decref(all);
}

/* ---- strmap ---------------------------------------------------------------- */

static void test_strmap(void **state)
{
    (void)state;
    cw_strmap m;
    cw_strmap_init(&m);
    assert_null(cw_strmap_get(&m, "x"));
    assert_false(cw_strmap_has(&m, "x"));
    char key[32];
    for (uintptr_t i = 0; i < 20000; i++) {
        snprintf(key, sizeof key, "k%lu", (unsigned long)i);
        assert_int_equal(cw_strmap_put(&m, key, (void *)(i + 1)), CW_OK);
    }
    assert_int_equal(m.len, 20000);
    assert_true(m.len * 2 <= m.cap);
    for (uintptr_t i = 0; i < 20000; i++) {
        snprintf(key, sizeof key, "k%lu", (unsigned long)i);
        assert_int_equal((uintptr_t)cw_strmap_get(&m, key), i + 1);
    }
    assert_null(cw_strmap_get(&m, "k20000"));
    assert_int_equal(cw_strmap_put(&m, "k5", (void *)7), CW_OK); /* replaces */
    assert_int_equal((uintptr_t)cw_strmap_get(&m, "k5"), 7);
    void *existing = NULL;
    bool inserted = true;
    assert_int_equal(cw_strmap_put_new(&m, "k5", (void *)9, &existing, &inserted), CW_OK);
    assert_false(inserted);
    assert_int_equal((uintptr_t)existing, 7);
    assert_int_equal((uintptr_t)cw_strmap_get(&m, "k5"), 7);
    assert_int_equal(cw_strmap_put_new(&m, "", NULL, &existing, &inserted), CW_OK);
    assert_true(inserted);
    assert_true(cw_strmap_has(&m, ""));
    assert_null(cw_strmap_get(&m, ""));
    assert_int_equal(m.len, 20001);
    size_t seen = 0;
    for (size_t i = 0; i < m.cap; i++)
        seen += m.slots[i].key != NULL;
    assert_int_equal(seen, 20001);
    cw_strmap_free(&m);
    assert_int_equal(m.len, 0);
    assert_null(cw_strmap_get(&m, "k1"));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, cat_setup, cat_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_owner_missing),
        T(test_owner_is_user),
        T(test_team_without_members),
        T(test_orphan_user),
        T(test_no_accountable),
        T(test_shared_resource_owner),
        T(test_team_overload),
        T(test_orphans_and_unreachable_locations),
        T(test_link_key_conflict),
        T(test_order_and_filters),
        cmocka_unit_test(test_demo_organisation),
        cmocka_unit_test(test_ten_thousand_entities),
        cmocka_unit_test(test_strmap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
