/*
 * test_store_incidents.c — the incidents domain of the store (issue #13,
 * store_incidents.h) as every backend must implement it: incidents derived
 * from incident CDEvents in the events' own transaction (times, state,
 * severity, first values kept, re-delivery adding nothing), the key
 * (subject.source over context.source), linking to Components through the
 * events' rules with re-linking, filters and keyset paging, transitions
 * and notes with who and when, Alertmanager alerts on the timeline, the
 * group lookup, and the one-time derivation of incidents from events
 * stored before the table. SQLite always, PostgreSQL when
 * CONWAY_TEST_PG_URL is set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "events/alertmanager.h"
#include "events/events.h"
#include "events/incident.h"
#include "fixtures.h"
#include "store/store.h"
#include "store/store_incidents.h"
#include "util/timeutil.h"

#define T0 1700000000000LL /* 2023-11-14T22:13:20Z */
#define MIN_MS 60000LL
#define HOUR_MS 3600000LL

/* ---- building events and entities ---------------------------------------------------- */

/* Stores one incident CDEvent: pred detected/reported/resolved; svc,
 * subject_source, severity, title may be NULL. */
static void incident_event(cw_store *s, const char *source, const char *id, const char *pred,
                           int64_t t, const char *subject, const char *subject_source,
                           const char *svc, const char *severity, const char *description,
                           cw_event_put_result *res)
{
    char type[80], ts[32];
    snprintf(type, sizeof type, "dev.cdevents.incident.%s.0.3.0", pred);
    cw_time_format_ms(t, ts);
    json_t *content = json_pack("{s:{s:s}}", "environment", "id", "prod");
    if (svc)
        json_object_set_new(content, "service", json_pack("{s:s}", "id", svc));
    if (description)
        json_object_set_new(content, "description", json_string(description));
    if (!strcmp(pred, "reported"))
        json_object_set_new(content, "ticketURI", json_string("https://tickets.example/1"));
    json_t *j = json_pack("{s:{s:s, s:s, s:s, s:s, s:s}, s:{s:s, s:o}}", "context",
                          "specversion", "0.5.1", "id", id, "source", source, "type", type,
                          "timestamp", ts, "subject", "id", subject, "content", content);
    assert_non_null(j);
    if (subject_source)
        json_object_set_new(json_object_get(j, "subject"), "source", json_string(subject_source));
    if (severity)
        json_object_set_new(j, "customData", json_pack("{s:s}", "severity", severity));
    cw_event ev;
    cw_diag d = {""};
    if (cw_cdevent_decode(j, &ev, &d))
        fail_msg("decode %s: %s", id, d.msg);
    json_decref(j);
    cw_event_put_result r;
    cw_err err = cw_store_events_put(s, &ev, 1, &r, &d);
    if (err)
        fail_msg("put %s: %s", id, d.msg);
    if (res)
        *res = r;
    cw_event_free(&ev);
}

static void put_entity(cw_store *s, json_t *e)
{
    cw_diag d = {""};
    cw_put_result r;
    cw_err err = cw_entity_validate(e, &d);
    if (!err)
        err = cw_store_entity_put(s, e, NULL, &r, &d);
    if (err)
        fail_msg("put entity: %s", d.msg);
    json_decref(e);
}

static void put_component(cw_store *s, const char *name, const char *owner,
                          const char *service_id)
{
    json_t *md = json_pack("{s:s}", "name", name);
    if (service_id)
        json_object_set_new(md, "annotations",
                            json_pack("{s:s}", "conway.dev/service-id", service_id));
    put_entity(s, json_pack("{s:s, s:s, s:o, s:{s:s, s:s, s:s}}", "apiVersion",
                            "backstage.io/v1alpha1", "kind", "Component", "metadata", md, "spec",
                            "type", "service", "lifecycle", "production", "owner", owner));
}

static void put_group(cw_store *s, const char *name)
{
    put_entity(s, json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:[]}}", "apiVersion",
                            "backstage.io/v1alpha1", "kind", "Group", "metadata", "name", name,
                            "spec", "type", "team", "children"));
}

static cw_incident by_key(cw_store *s, const char *source, const char *subject)
{
    cw_incident i;
    cw_diag d = {""};
    cw_err err = cw_store_incident_by_key(s, source, subject, &i, &d);
    if (err)
        fail_msg("incident %s %s: %s: %s", source, subject, cw_err_name(err), d.msg);
    return i;
}

static cw_incident_list list(cw_store *s, const cw_incident_query *q)
{
    cw_incident_list l;
    cw_diag d = {""};
    cw_err err = cw_store_incidents_query(s, q, &l, &d);
    if (err)
        fail_msg("incident list: %s: %s", cw_err_name(err), d.msg);
    return l;
}

static cw_incident_query all_query(void)
{
    return (cw_incident_query){.from_ms = INT64_MIN, .to_ms = INT64_MAX, .limit = 100};
}

static cw_incident_entry *timeline(cw_store *s, int64_t id, size_t *n)
{
    cw_incident_entry *e = NULL;
    cw_diag d = {""};
    cw_err err = cw_store_incident_timeline(s, id, 1000, &e, n, &d);
    if (err)
        fail_msg("timeline: %s: %s", cw_err_name(err), d.msg);
    return e;
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_derived_from_events(void **state)
{
    fx_store *f = *state;
    cw_store *s = f->s;
    incident_event(s, "/pager", "e1", "detected", T0, "INC-1", NULL, "checkout", "SEV-2",
                   "Checkout slow", NULL);
    cw_incident i = by_key(s, "/pager", "INC-1");
    assert_true(i.id > 0);
    assert_int_equal(i.state, CW_INC_TRIGGERED);
    assert_int_equal(i.start_ms, T0);
    assert_int_equal(i.detected_ms, T0);
    assert_int_equal(i.resolved_ms, 0);
    assert_string_equal(i.title, "Checkout slow");
    assert_string_equal(i.severity, "high");
    assert_string_equal(i.severity_raw, "SEV-2");
    assert_string_equal(i.service_id, "checkout");
    assert_string_equal(i.environment, "prod");
    assert_null(i.component_ref); /* no such Component yet */
    int64_t id = i.id;
    cw_incident_free(&i);

    /* an earlier detection (events out of order), a resolution, a later
     * resolution: earliest detected, latest resolved (DORA's rule) */
    incident_event(s, "/pager", "e2", "reported", T0 - 10 * MIN_MS, "INC-1", NULL, "other",
                   NULL, "Other title", NULL);
    incident_event(s, "/pager", "e3", "resolved", T0 + HOUR_MS, "INC-1", NULL, NULL, "critical",
                   NULL, NULL);
    incident_event(s, "/pager", "e4", "resolved", T0 + 2 * HOUR_MS, "INC-1", NULL, NULL, NULL,
                   NULL, NULL);
    i = by_key(s, "/pager", "INC-1");
    assert_int_equal(i.id, id);
    assert_int_equal(i.state, CW_INC_RESOLVED);
    assert_int_equal(i.start_ms, T0 - 10 * MIN_MS);
    assert_int_equal(i.detected_ms, T0 - 10 * MIN_MS);
    assert_int_equal(i.resolved_ms, T0 + 2 * HOUR_MS);
    assert_string_equal(i.title, "Checkout slow");     /* the first stays */
    assert_string_equal(i.service_id, "checkout");     /* the first stays */
    assert_string_equal(i.severity, "critical");       /* the latest given wins */
    cw_incident_free(&i);

    /* a re-delivered event is a duplicate and adds nothing to the timeline */
    size_t n = 0;
    cw_incident_entry *e = timeline(s, id, &n);
    assert_int_equal(n, 4);
    assert_string_equal(e[0].kind, "event");
    assert_int_equal(e[0].at_ms, T0 - 10 * MIN_MS); /* time order, not arrival */
    assert_string_equal(e[0].text, "incident.reported: Other title");
    assert_string_equal(e[0].actor, "/pager");
    assert_string_equal(e[0].ref, "/pager e2");
    assert_string_equal(e[3].text, "incident.resolved");
    cw_incident_entries_free(e, n);
    cw_event_put_result r;
    incident_event(s, "/pager", "e3", "resolved", T0 + HOUR_MS, "INC-1", NULL, NULL, "critical",
                   NULL, &r);
    assert_int_equal(r.duplicates, 1);
    /* the same (source, id) with another body is a conflict: the incident
     * keeps what the stored event said */
    incident_event(s, "/pager", "e3", "resolved", T0 + 9 * HOUR_MS, "INC-1", NULL, NULL, "low",
                   NULL, &r);
    assert_int_equal(r.conflicts, 1);
    i = by_key(s, "/pager", "INC-1");
    assert_int_equal(i.resolved_ms, T0 + 2 * HOUR_MS);
    assert_string_equal(i.severity, "critical");
    cw_incident_free(&i);
    e = timeline(s, id, &n);
    assert_int_equal(n, 4);
    cw_incident_entries_free(e, n);
    /* at most max entries: the newest */
    cw_diag d = {""};
    assert_int_equal(cw_store_incident_timeline(s, id, 2, &e, &n, &d), CW_OK);
    assert_int_equal(n, 2);
    assert_int_equal(e[0].at_ms, T0 + HOUR_MS);
    assert_int_equal(e[1].at_ms, T0 + 2 * HOUR_MS);
    cw_incident_entries_free(e, n);

    /* a resolution alone: started then, resolved, no detected time */
    incident_event(s, "/pager", "e5", "resolved", T0 + 5 * HOUR_MS, "INC-2", NULL, NULL, NULL,
                   NULL, NULL);
    i = by_key(s, "/pager", "INC-2");
    assert_int_equal(i.state, CW_INC_RESOLVED);
    assert_int_equal(i.start_ms, T0 + 5 * HOUR_MS);
    assert_int_equal(i.detected_ms, 0);
    assert_null(i.severity);
    cw_incident_free(&i);
    /* ... until its detection arrives */
    incident_event(s, "/pager", "e6", "detected", T0 + 4 * HOUR_MS, "INC-2", NULL, NULL, "bogus",
                   NULL, NULL);
    i = by_key(s, "/pager", "INC-2");
    assert_int_equal(i.start_ms, T0 + 4 * HOUR_MS);
    assert_null(i.severity);                  /* a word conway does not know */
    assert_string_equal(i.severity_raw, "bogus");
    cw_incident_free(&i);

    /* subject.source over context.source: another tool's INC-1 is another
     * incident, and so is the same tool's resolution under its own source */
    incident_event(s, "/other-tool", "x1", "detected", T0, "INC-1", NULL, NULL, NULL, NULL, NULL);
    incident_event(s, "/conway/incidents", "x2", "resolved", T0 + HOUR_MS, "INC-9", "/other-tool",
                   NULL, NULL, NULL, NULL);
    cw_incident_query q = all_query();
    cw_incident_list l = list(s, &q);
    assert_int_equal(l.len, 4);
    cw_incident_list_free(&l);
    i = by_key(s, "/other-tool", "INC-9");
    assert_int_equal(i.state, CW_INC_RESOLVED);
    cw_incident_free(&i);
    assert_int_equal(cw_store_incident_by_key(s, "/conway/incidents", "INC-9", &i, &d),
                     CW_ERR_NOT_FOUND);
    assert_int_equal(cw_store_incident_get(s, 999999, &i, &d), CW_ERR_NOT_FOUND);
    assert_int_equal(cw_store_incident_timeline(s, 999999, 10, &e, &n, &d), CW_ERR_NOT_FOUND);
}

static void test_linking_and_relinking(void **state)
{
    fx_store *f = *state;
    cw_store *s = f->s;
    put_group(s, "team-pay");
    put_group(s, "team-shop");
    put_component(s, "checkout", "team-shop", NULL);
    put_component(s, "payments", "team-pay", "svc-pay");
    incident_event(s, "/m", "a", "detected", T0, "I-A", NULL, "clusterA/shop/checkout", NULL,
                   NULL, NULL);
    incident_event(s, "/m", "b", "detected", T0 + 1, "I-B", NULL, "svc-pay", NULL, NULL, NULL);
    incident_event(s, "/m", "c", "detected", T0 + 2, "I-C", NULL, "nobody", NULL, NULL, NULL);
    cw_incident a = by_key(s, "/m", "I-A"), b = by_key(s, "/m", "I-B"), c = by_key(s, "/m", "I-C");
    assert_string_equal(a.component_ref, "component:default/checkout");
    assert_string_equal(a.owner_ref, "group:default/team-shop");
    assert_string_equal(b.component_ref, "component:default/payments");
    assert_string_equal(b.owner_ref, "group:default/team-pay");
    assert_null(c.component_ref);
    assert_null(c.owner_ref);
    cw_incident_free(&a);
    cw_incident_free(&b);
    cw_incident_free(&c);

    /* scopes: a component, a group, org */
    cw_scope sc;
    cw_diag d = {""};
    cw_incident_query q = all_query();
    assert_int_equal(cw_scope_parse("group:team-pay", &sc, &d), CW_OK);
    q.scope = &sc;
    cw_incident_list l = list(s, &q);
    assert_int_equal(l.len, 1);
    assert_string_equal(l.items[0].subject_id, "I-B");
    cw_incident_list_free(&l);
    assert_int_equal(cw_scope_parse("checkout", &sc, &d), CW_OK);
    l = list(s, &q);
    assert_int_equal(l.len, 1);
    assert_string_equal(l.items[0].subject_id, "I-A");
    cw_incident_list_free(&l);
    assert_int_equal(cw_scope_parse("component:nope", &sc, &d), CW_OK);
    assert_int_equal(cw_store_incidents_query(s, &q, &l, &d), CW_ERR_NOT_FOUND);

    /* the catalog learns the missing annotation: the incident links now */
    put_component(s, "search", "team-shop", "nobody");
    c = by_key(s, "/m", "I-C");
    assert_string_equal(c.component_ref, "component:default/search");
    cw_incident_free(&c);
}

static void test_filters_and_paging(void **state)
{
    fx_store *f = *state;
    cw_store *s = f->s;
    const char *sev[] = {"critical", "warning", NULL, "P1", "info"};
    for (int k = 0; k < 5; k++) {
        char id[16], subj[16];
        snprintf(id, sizeof id, "d%d", k);
        snprintf(subj, sizeof subj, "I-%d", k);
        incident_event(s, "/m", id, "detected", T0 + k * HOUR_MS, subj, NULL, NULL, sev[k], NULL,
                       NULL);
    }
    incident_event(s, "/m", "r1", "resolved", T0 + 10 * HOUR_MS, "I-1", NULL, NULL, NULL, NULL,
                   NULL);
    cw_incident_query q = all_query();
    q.states = CW_INCIDENT_OPEN_STATES;
    cw_incident_list l = list(s, &q);
    assert_int_equal(l.len, 4);
    assert_string_equal(l.items[0].subject_id, "I-4"); /* newest first */
    cw_incident_list_free(&l);
    q = all_query();
    q.states = CW_INCIDENT_STATE_BIT(CW_INC_RESOLVED);
    l = list(s, &q);
    assert_int_equal(l.len, 1);
    assert_string_equal(l.items[0].subject_id, "I-1");
    cw_incident_list_free(&l);
    q = all_query();
    q.severities = CW_SEVERITY_BIT(CW_SEV_CRITICAL);
    l = list(s, &q);
    assert_int_equal(l.len, 2); /* critical and P1 */
    assert_string_equal(l.items[0].subject_id, "I-3");
    assert_string_equal(l.items[1].subject_id, "I-0");
    cw_incident_list_free(&l);
    q.severities = CW_SEVERITY_BIT(CW_SEV_UNKNOWN);
    l = list(s, &q);
    assert_int_equal(l.len, 1);
    assert_string_equal(l.items[0].subject_id, "I-2");
    cw_incident_list_free(&l);
    q.severities = CW_SEVERITY_BIT(CW_SEV_UNKNOWN) | CW_SEVERITY_BIT(CW_SEV_INFO);
    l = list(s, &q);
    assert_int_equal(l.len, 2);
    cw_incident_list_free(&l);
    /* [from, to) on the start */
    q = all_query();
    q.from_ms = T0 + HOUR_MS;
    q.to_ms = T0 + 3 * HOUR_MS;
    l = list(s, &q);
    assert_int_equal(l.len, 2);
    cw_incident_list_free(&l);
    /* one ref */
    q = all_query();
    q.subject_id = "I-3";
    l = list(s, &q);
    assert_int_equal(l.len, 1);
    assert_string_equal(l.items[0].severity_raw, "P1");
    cw_incident_list_free(&l);
    q.subject_id = "I-none";
    l = list(s, &q);
    assert_int_equal(l.len, 0);
    cw_incident_list_free(&l);
    /* resolved before */
    q = all_query();
    q.resolved_before_ms = T0 + 10 * HOUR_MS;
    l = list(s, &q);
    assert_int_equal(l.len, 0);
    cw_incident_list_free(&l);
    q.resolved_before_ms = T0 + 10 * HOUR_MS + 1;
    l = list(s, &q);
    assert_int_equal(l.len, 1);
    cw_incident_list_free(&l);
    /* keyset pages of two, and a tie on the start broken by id */
    incident_event(s, "/m", "tie", "detected", T0 + 4 * HOUR_MS, "I-tie", NULL, NULL, NULL, NULL,
                   NULL);
    q = all_query();
    q.limit = 2;
    const char *want[] = {"I-tie", "I-4", "I-3", "I-2", "I-1", "I-0"};
    size_t seen = 0;
    for (;;) {
        l = list(s, &q);
        for (size_t k = 0; k < l.len; k++)
            assert_string_equal(l.items[k].subject_id, want[seen++]);
        if (l.len < 2) {
            cw_incident_list_free(&l);
            break;
        }
        q.after = true;
        q.after_start_ms = l.items[l.len - 1].start_ms;
        q.after_id = l.items[l.len - 1].id;
        cw_incident_list_free(&l);
    }
    assert_int_equal(seen, 6);
    cw_diag d = {""};
    q = all_query();
    q.limit = 0;
    assert_int_equal(cw_store_incidents_query(s, &q, &l, &d), CW_ERR_INVALID);
}

static void test_transitions_and_notes(void **state)
{
    fx_store *f = *state;
    cw_store *s = f->s;
    incident_event(s, "/m", "d", "detected", T0, "I-1", NULL, NULL, NULL, NULL, NULL);
    cw_incident i = by_key(s, "/m", "I-1");
    int64_t id = i.id;
    cw_incident_free(&i);
    cw_diag d = {""};
    cw_incident after;
    cw_incident_change c = {.id = id, .has_to = true, .to = CW_INC_ACKNOWLEDGED,
                            .actor = "alice", .now_ms = T0 + MIN_MS};
    assert_int_equal(cw_store_incident_change(s, &c, &after, &d), CW_OK);
    assert_int_equal(after.state, CW_INC_ACKNOWLEDGED);
    cw_incident_free(&after);
    /* not backwards, not twice, not straight to closed */
    c.to = CW_INC_TRIGGERED;
    assert_int_equal(cw_store_incident_change(s, &c, NULL, &d), CW_ERR_CONFLICT);
    assert_non_null(strstr(d.msg, "acknowledged to triggered"));
    c.to = CW_INC_CLOSED;
    assert_int_equal(cw_store_incident_change(s, &c, NULL, &d), CW_ERR_CONFLICT);
    /* a note alone, then mitigated with a note, then resolved by hand */
    cw_incident_change note = {.id = id, .note = "rolled back to 1.2", .actor = "bob",
                               .now_ms = T0 + 2 * MIN_MS};
    assert_int_equal(cw_store_incident_change(s, &note, NULL, &d), CW_OK);
    c = (cw_incident_change){.id = id, .has_to = true, .to = CW_INC_MITIGATED,
                             .note = "errors back to normal", .actor = "alice",
                             .now_ms = T0 + 3 * MIN_MS};
    assert_int_equal(cw_store_incident_change(s, &c, NULL, &d), CW_OK);
    c = (cw_incident_change){.id = id, .has_to = true, .to = CW_INC_RESOLVED, .actor = "alice",
                             .now_ms = T0 + 4 * MIN_MS};
    assert_int_equal(cw_store_incident_change(s, &c, &after, &d), CW_OK);
    assert_int_equal(after.state, CW_INC_RESOLVED);
    assert_int_equal(after.resolved_ms, T0 + 4 * MIN_MS); /* no event resolved it */
    cw_incident_free(&after);
    /* a resolution event afterwards keeps the state and the latest time */
    incident_event(s, "/m", "r", "resolved", T0 + 9 * MIN_MS, "I-1", NULL, NULL, NULL, NULL, NULL);
    i = by_key(s, "/m", "I-1");
    assert_int_equal(i.state, CW_INC_RESOLVED);
    assert_int_equal(i.resolved_ms, T0 + 9 * MIN_MS);
    cw_incident_free(&i);
    c = (cw_incident_change){.id = id, .has_to = true, .to = CW_INC_CLOSED, .actor = "carol",
                             .note = "postmortem pm-1", .now_ms = T0 + 24 * HOUR_MS};
    assert_int_equal(cw_store_incident_change(s, &c, NULL, &d), CW_OK);
    /* closed stays closed even when a late resolution arrives */
    incident_event(s, "/m", "r2", "resolved", T0 + 20 * MIN_MS, "I-1", NULL, NULL, NULL, NULL,
                   NULL);
    i = by_key(s, "/m", "I-1");
    assert_int_equal(i.state, CW_INC_CLOSED);
    cw_incident_free(&i);

    size_t n = 0;
    cw_incident_entry *e = timeline(s, id, &n);
    /* detected, ack, note, mitigated, resolved(transition), resolved(event),
     * resolved(event r2), closed */
    assert_int_equal(n, 8);
    assert_string_equal(e[1].kind, "transition");
    assert_string_equal(e[1].actor, "alice");
    assert_string_equal(e[1].from_state, "triggered");
    assert_string_equal(e[1].to_state, "acknowledged");
    assert_int_equal(e[1].at_ms, T0 + MIN_MS);
    assert_null(e[1].text);
    assert_string_equal(e[2].kind, "note");
    assert_string_equal(e[2].actor, "bob");
    assert_string_equal(e[2].text, "rolled back to 1.2");
    assert_null(e[2].to_state);
    assert_string_equal(e[3].text, "errors back to normal");
    assert_string_equal(e[7].to_state, "closed");
    cw_incident_entries_free(e, n);

    /* arguments */
    cw_incident_change bad = {.id = id, .actor = "x", .now_ms = T0};
    assert_int_equal(cw_store_incident_change(s, &bad, NULL, &d), CW_ERR_INVALID);
    bad.note = "";
    assert_int_equal(cw_store_incident_change(s, &bad, NULL, &d), CW_ERR_INVALID);
    bad.note = "fine";
    bad.actor = NULL;
    assert_int_equal(cw_store_incident_change(s, &bad, NULL, &d), CW_ERR_INVALID);
    bad.actor = "x";
    bad.id = 424242;
    assert_int_equal(cw_store_incident_change(s, &bad, NULL, &d), CW_ERR_NOT_FOUND);
}

static void test_alerts_and_group(void **state)
{
    fx_store *f = *state;
    cw_store *s = f->s;
    /* what the Alertmanager route records: the planned events, then the alerts */
    const char *gk = "{}/{env=\"production\"}:{alertname=\"HighErrorRate\"}";
    char subject[48];
    cw_am_subject_id(gk, 1, subject);
    cw_incident_cdevent_spec sp = {.kind = CW_INC_EV_DETECTED, .event_source = CW_AM_SOURCE,
                                   .event_id = "x/detected", .subject_id = subject,
                                   .time_ms = T0, .service_id = "checkout",
                                   .severity = "critical", .title = "5xx", .group_key = gk};
    json_t *j = cw_incident_cdevent_build(&sp);
    cw_event ev;
    cw_diag d = {""};
    assert_int_equal(cw_cdevent_decode(j, &ev, &d), CW_OK);
    cw_event_put_result r;
    assert_int_equal(cw_store_events_put(s, &ev, 1, &r, &d), CW_OK);
    cw_event_free(&ev);
    json_decref(j);

    cw_incident g;
    assert_int_equal(cw_store_incident_by_group(s, gk, &g, &d), CW_OK);
    assert_string_equal(g.subject_id, subject);
    assert_string_equal(g.group_key, gk);
    assert_string_equal(g.severity, "critical");
    assert_string_equal(g.title, "5xx");
    int64_t id = g.id;
    cw_incident_free(&g);
    assert_int_equal(cw_store_incident_by_group(s, "{}:{other}", &g, &d), CW_ERR_NOT_FOUND);

    cw_incident_alert_in alerts[2] = {
        {.fingerprint = "fp1", .firing = true, .starts_ms = T0, .labels = "{\"alertname\":\"A\"}",
         .annotations = "{\"summary\":\"s\"}", .generator_url = "http://prom/graph",
         .summary = "A: checkout 5xx"},
        {.fingerprint = "fp2", .firing = false, .starts_ms = T0 - HOUR_MS, .ends_ms = T0 - MIN_MS,
         .labels = "{\"alertname\":\"B\"}", .summary = "B"},
    };
    assert_int_equal(cw_store_incident_alerts_put(s, CW_AM_SOURCE, subject, alerts, 2, T0 + 5,
                                                  &d),
                     CW_OK);
    /* the same notification again adds no entry */
    assert_int_equal(cw_store_incident_alerts_put(s, CW_AM_SOURCE, subject, alerts, 2, T0 + 6,
                                                  &d),
                     CW_OK);
    cw_incident_alert *al = NULL;
    size_t na = 0;
    assert_int_equal(cw_store_incident_alerts(s, id, &al, &na, &d), CW_OK);
    assert_int_equal(na, 2);
    assert_string_equal(al[0].fingerprint, "fp1"); /* firing first */
    assert_true(al[0].firing);
    assert_int_equal(al[0].ends_ms, 0);
    assert_string_equal(al[0].labels, "{\"alertname\":\"A\"}");
    assert_string_equal(al[0].generator_url, "http://prom/graph");
    assert_false(al[1].firing);
    assert_int_equal(al[1].ends_ms, T0 - MIN_MS);
    assert_null(al[1].annotations);
    cw_incident_alerts_free(al, na);
    size_t n;
    cw_incident_entry *e = timeline(s, id, &n);
    assert_int_equal(n, 3); /* B resolved (T0-1min), detected (T0), A firing (T0) */
    assert_string_equal(e[0].kind, "alert");
    assert_string_equal(e[0].text, "B resolved");
    assert_int_equal(e[0].at_ms, T0 - MIN_MS);
    assert_string_equal(e[0].actor, "alertmanager");
    cw_incident_entries_free(e, n);
    /* A resolves: its row changes and one entry is added at its endsAt */
    alerts[0].firing = false;
    alerts[0].ends_ms = T0 + HOUR_MS;
    assert_int_equal(cw_store_incident_alerts_put(s, CW_AM_SOURCE, subject, alerts, 1, T0 + 7,
                                                  &d),
                     CW_OK);
    e = timeline(s, id, &n);
    assert_int_equal(n, 4);
    assert_string_equal(e[3].text, "A: checkout 5xx resolved");
    assert_int_equal(e[3].at_ms, T0 + HOUR_MS);
    cw_incident_entries_free(e, n);
    assert_int_equal(cw_store_incident_alerts(s, id, &al, &na, &d), CW_OK);
    assert_false(al[0].firing || al[1].firing);
    cw_incident_alerts_free(al, na);
    assert_int_equal(cw_store_incident_alerts_put(s, CW_AM_SOURCE, "am-none-1", alerts, 1, T0, &d),
                     CW_ERR_NOT_FOUND);
    assert_int_equal(cw_store_incident_alerts(s, 424242, &al, &na, &d), CW_ERR_NOT_FOUND);
}

/* A database whose incident events predate the incidents table: the
 * table is emptied and its flag reset by hand, as migration 7 leaves an
 * older database; the first incidents call derives them again. */
static void test_backfill(void **state)
{
    fx_store *f = *state;
    if (!f->b->raw_exec) {
        skip();
        return;
    }
    incident_event(f->s, "/m", "d1", "detected", T0, "I-1", NULL, "svc", "critical", "t", NULL);
    incident_event(f->s, "/m", "r1", "resolved", T0 + HOUR_MS, "I-1", NULL, NULL, NULL, NULL, NULL);
    incident_event(f->s, "/m", "d2", "detected", T0 + 2 * HOUR_MS, "I-2", NULL, NULL, NULL, NULL,
                   NULL);
    cw_store_close(f->s);
    f->s = NULL;
    f->b->raw_exec(f->ctx, "DELETE FROM incident_timeline; DELETE FROM incident_alerts;"
                           " DELETE FROM incidents;"
                           " UPDATE cw_meta SET value = 0 WHERE name = 'incidents_backfill'");
    assert_int_equal(f->b->raw_int(f->ctx, "SELECT count(*) FROM incidents"), 0);
    f->s = fx_store_open(fx_store_url(f));
    cw_incident_query q = all_query();
    cw_incident_list l = list(f->s, &q);
    assert_int_equal(l.len, 2);
    assert_string_equal(l.items[1].subject_id, "I-1");
    assert_int_equal(l.items[1].state, CW_INC_RESOLVED);
    assert_int_equal(l.items[1].resolved_ms, T0 + HOUR_MS);
    assert_string_equal(l.items[1].severity, "critical");
    size_t n;
    cw_incident_entry *e = timeline(f->s, l.items[1].id, &n);
    assert_int_equal(n, 2);
    cw_incident_entries_free(e, n);
    cw_incident_list_free(&l);
    assert_int_equal(f->b->raw_int(f->ctx, "SELECT value FROM cw_meta WHERE name = "
                                           "'incidents_backfill'"),
                     1);
    /* once: a second call derives nothing more */
    l = list(f->s, &q);
    assert_int_equal(l.len, 2);
    cw_incident_list_free(&l);
    assert_int_equal(f->b->raw_int(f->ctx, "SELECT count(*) FROM incident_timeline"), 3);
}

/* A database of schema version 6 (events, no incidents) migrated by this
 * program: its incident events become incidents at the first read, and a
 * database that had none has nothing to derive. */
static void test_migration_from_version_6(void **state)
{
    fx_store *f = *state;
    if (!f->b->raw_exec) {
        skip();
        return;
    }
    bool pg = !strcmp(f->b->name, "postgres");
    incident_event(f->s, "/m", "d1", "detected", T0, "I-OLD", NULL, NULL, "sev1", "old", NULL);
    cw_store_close(f->s);
    f->s = NULL;
    /* undo migrations 7 and later, newest first, as a version 6 database
     * looks: 11 the findings history (issue 12), 10 and 9 the heartbeat
     * tables, 8 the metric tables (issue #16), 7 the incident tables */
    f->b->raw_exec(f->ctx, "DROP TABLE finding_counts; DROP TABLE finding_snapshots;");
    f->b->raw_exec(f->ctx, "DROP TABLE hb_deliveries; DROP TABLE hb_team_keys;"
                           " DROP TABLE hb_flips; DROP TABLE hb_pings; DROP TABLE hb");
    f->b->raw_exec(f->ctx, "DROP TABLE metric_samples; DROP TABLE metric_series;");
    f->b->raw_exec(f->ctx, "DROP TABLE incident_alerts; DROP TABLE incident_timeline;"
                           " DROP TABLE incidents;"
                           " DELETE FROM cw_meta WHERE name = 'incidents_backfill'");
    f->b->raw_exec(f->ctx, pg ? "UPDATE cw_schema_version SET version = 6 WHERE id = 1"
                              : "PRAGMA user_version = 6");
    f->s = fx_store_open(fx_store_url(f));
    assert_int_equal(f->b->raw_int(f->ctx, "SELECT value FROM cw_meta WHERE name = "
                                           "'incidents_backfill'"),
                     0);
    cw_incident i = by_key(f->s, "/m", "I-OLD");
    assert_string_equal(i.severity, "critical");
    assert_int_equal(i.start_ms, T0);
    cw_incident_free(&i);
    assert_int_equal(f->b->raw_int(f->ctx, "SELECT value FROM cw_meta WHERE name = "
                                           "'incidents_backfill'"),
                     1);
}

static void test_new_database_has_nothing_to_derive(void **state)
{
    fx_store *f = *state;
    if (!f->b->raw_int) {
        skip();
        return;
    }
    assert_int_equal(f->b->raw_int(f->ctx, "SELECT value FROM cw_meta WHERE name = "
                                           "'incidents_backfill'"),
                     1);
}

#define T(fn) FX_STORE_TEST(fn)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_derived_from_events),
        T(test_linking_and_relinking),
        T(test_filters_and_paging),
        T(test_transitions_and_notes),
        T(test_alerts_and_group),
        T(test_backfill),
        T(test_migration_from_version_6),
        T(test_new_database_has_nothing_to_derive),
    };
    return fx_run_backends("store incidents", tests, FX_LEN(tests));
}
