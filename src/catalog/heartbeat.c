/*
 * heartbeat.c — the Heartbeat kind: spec rules, reading a spec into a
 * schedule, and the state machine of heartbeat.h, which follows
 * healthchecks.io's Check model (ping, get_grace_start, going_down_after,
 * get_status) so that timing answers match it.
 */
#include "catalog/heartbeat.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "catalog/kinds.h"
#include "util/duration.h"

static const char *const purpose_names[] = {"job", "backup", "restore-test"};
static const char *const status_names[] = {"new", "up", "down", "paused"};
static const char *const shown_names[] = {"new", "up", "grace", "down", "paused", "started"};
static const char *const ping_names[] = {"success", "start", "fail", "log"};

const char *cw_hb_purpose_name(cw_hb_purpose p)
{
    return (unsigned)p < 3 ? purpose_names[p] : "job";
}

const char *cw_hb_status_name(cw_hb_status s) { return (unsigned)s < 4 ? status_names[s] : "new"; }

bool cw_hb_status_parse(const char *text, cw_hb_status *out)
{
    for (int i = 0; i < 4; i++)
        if (text && !strcmp(text, status_names[i])) {
            *out = (cw_hb_status)i;
            return true;
        }
    return false;
}

const char *cw_hb_shown_name(cw_hb_shown s) { return (unsigned)s < 6 ? shown_names[s] : "new"; }
const char *cw_ping_kind_name(cw_ping_kind k) { return (unsigned)k < 4 ? ping_names[k] : "log"; }

/* ---- spec ---------------------------------------------------------------------- */

static int64_t min_seconds = CW_HB_MIN_SECONDS;

void cw_hb_set_min_seconds(int64_t s) { min_seconds = s >= 1 && s <= CW_HB_MIN_SECONDS ? s : CW_HB_MIN_SECONDS; }
int64_t cw_hb_min_seconds(void) { return min_seconds; }

static const char *const spec_keys[] = {"owner", "target", "purpose", "period", "grace",
                                        "cron",  "tz",     "dependsOn"};

/* A duration field: text or whole seconds, within the heartbeat limits. */
static bool duration_of(const json_t *v, int64_t *out, char *why, size_t cap)
{
    int64_t s;
    if (json_is_integer(v)) {
        s = json_integer_value(v);
    } else if (json_is_string(v)) {
        int64_t ms;
        if (!cw_duration_parse(json_string_value(v), &ms) || ms % 1000) {
            snprintf(why, cap,
                     "\"%.40s\" is not a duration in whole seconds (e.g. 90s, 15m, 1h30m, 1d, 2w)",
                     json_string_value(v));
            return false;
        }
        s = ms / 1000;
    } else {
        snprintf(why, cap, "must be a duration such as \"1h30m\", or seconds");
        return false;
    }
    if (s < min_seconds || s > CW_HB_MAX_SECONDS) {
        snprintf(why, cap, "must be between %llds and 365d (%lld to 31536000 seconds)",
                 (long long)min_seconds, (long long)min_seconds);
        return false;
    }
    *out = s;
    return true;
}

static const char *entity_ns(const json_t *e)
{
    const char *ns = json_string_value(json_object_get(json_object_get(e, "metadata"), "namespace"));
    return ns && *ns ? ns : CW_DEFAULT_NAMESPACE;
}

void cw_heartbeat_kind_check(const json_t *entity, const json_t *spec, const char *ns,
                             cw_issue_list *out)
{
    if (!spec)
        return;
    char why[256];
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)spec, key, val) {
        bool known = false;
        for (size_t i = 0; i < sizeof spec_keys / sizeof spec_keys[0] && !known; i++)
            known = !strcmp(key, spec_keys[i]);
        if (!known) {
            char shown[72];
            cw__clip(key, shown);
            cw__issue(out, "spec", "unknown field \"%s\" for kind Heartbeat (known: owner, "
                      "target, purpose, period, grace, cron, tz, dependsOn)", shown);
        }
    }
    const char *purpose = json_string_value(json_object_get(spec, "purpose"));
    if (purpose && strcmp(purpose, "backup") && strcmp(purpose, "restore-test") &&
        strcmp(purpose, "job"))
        cw__issue(out, "spec.purpose", "must be backup, restore-test or job");
    const json_t *period = json_object_get(spec, "period");
    const json_t *cron = json_object_get(spec, "cron");
    const json_t *grace = json_object_get(spec, "grace");
    const json_t *tz = json_object_get(spec, "tz");
    int64_t s;
    if (period && cron)
        cw__issue(out, "spec", "give either period (with grace) or cron (with tz and grace), "
                  "not both");
    else if (!period && !cron)
        cw__issue(out, "spec", "a schedule is required: period and grace, or cron, tz and grace");
    if (period && !duration_of(period, &s, why, sizeof why))
        cw__issue(out, "spec.period", "%s", why);
    if (!grace)
        cw__issue(out, "spec.grace", "required for kind Heartbeat");
    else if (!duration_of(grace, &s, why, sizeof why))
        cw__issue(out, "spec.grace", "%s", why);
    if (cron) {
        cw_cron c;
        cw_diag d = {{0}};
        if (!json_is_string(cron))
            cw__issue(out, "spec.cron", "must be a five-field cron expression such as \"0 3 * * *\"");
        else if (cw_cron_parse(json_string_value(cron), &c, &d))
            cw__issue(out, "spec.cron", "%s", d.msg);
    }
    if (tz) {
        const cw_tz *zone;
        cw_diag d = {{0}};
        if (!cron)
            cw__issue(out, "spec.tz", "only applies to a cron schedule");
        if (!json_is_string(tz))
            cw__issue(out, "spec.tz", "must be a tz database name such as Europe/Berlin");
        else if (cw_tz_get(json_string_value(tz), &zone, &d))
            cw__issue(out, "spec.tz", "%s", d.msg);
    }
    const char *target = json_string_value(json_object_get(spec, "target"));
    cw_ref r;
    if (target && cw_ref_parse(target, NULL, ns, &r, NULL) == CW_OK &&
        strcasecmp(r.kind, "Resource") && strcasecmp(r.kind, "Component"))
        cw__issue(out, "spec.target", "must be a Resource or a Component, not a %s", r.kind);
    const char *dep = json_string_value(json_object_get(spec, "dependsOn"));
    if (dep && cw_ref_parse(dep, CW_HB_KIND, ns, &r, NULL) == CW_OK) {
        cw_ref self;
        char a[CW_REF_MAX], b[CW_REF_MAX];
        if (strcasecmp(r.kind, CW_HB_KIND))
            cw__issue(out, "spec.dependsOn", "must be a Heartbeat, not a %s", r.kind);
        else if (cw_entity_ref(entity, &self, NULL) == CW_OK) {
            cw_ref_key(&r, a);
            cw_ref_key(&self, b);
            if (!strcmp(a, b))
                cw__issue(out, "spec.dependsOn", "a heartbeat cannot depend on itself");
        }
    }
}

static cw_err ref_text(const json_t *spec, const char *field, const char *default_kind,
                       const char *ns, char out[CW_REF_MAX], cw_diag *d)
{
    out[0] = '\0';
    const char *text = json_string_value(json_object_get(spec, field));
    if (!text)
        return CW_OK;
    cw_ref r;
    if (cw_ref_parse(text, default_kind, ns, &r, d)) {
        cw_diag_prefix(d, "spec.%s", field);
        return CW_ERR_INVALID;
    }
    cw_ref_format(&r, out);
    return CW_OK;
}

cw_err cw_hb_schedule_load(cw_hb_schedule *s, cw_diag *d)
{
    s->zone = NULL;
    if (s->kind == CW_HB_SCHED_PERIOD) {
        if (s->period_s < 1 || s->period_s > CW_HB_MAX_SECONDS)
            return cw_fail(d, CW_ERR_INVALID, "spec.period: out of range");
    } else if (s->kind == CW_HB_SCHED_CRON) {
        cw_err err = cw_cron_compile(s->cron, &s->parsed, d);
        if (err) {
            cw_diag_prefix(d, "spec.cron");
            return err;
        }
        err = cw_tz_get(s->tz[0] ? s->tz : "UTC", &s->zone, d);
        if (err) {
            cw_diag_prefix(d, "spec.tz");
            return err;
        }
    } else {
        return cw_fail(d, CW_ERR_INVALID, "spec: no schedule");
    }
    if (s->grace_s < 1 || s->grace_s > CW_HB_MAX_SECONDS)
        return cw_fail(d, CW_ERR_INVALID, "spec.grace: out of range");
    return CW_OK;
}

cw_err cw_hb_spec_read(const json_t *entity, cw_hb_spec *out, cw_diag *d)
{
    memset(out, 0, sizeof *out);
    const json_t *spec = json_object_get(entity, "spec");
    if (!json_is_object(spec))
        return cw_fail(d, CW_ERR_INVALID, "spec: required for kind Heartbeat");
    cw_issue_list issues = {0};
    cw_heartbeat_kind_check(entity, spec, entity_ns(entity), &issues);
    if (issues.len) {
        cw_fail(d, CW_ERR_INVALID, "%s", issues.items[0].text);
        cw_issue_list_free(&issues);
        return CW_ERR_INVALID;
    }
    cw_issue_list_free(&issues);
    const char *ns = entity_ns(entity);
    cw_err err = ref_text(spec, "owner", "Group", ns, out->owner, d);
    if (!err)
        err = ref_text(spec, "target", NULL, ns, out->target, d);
    if (!err)
        err = ref_text(spec, "dependsOn", CW_HB_KIND, ns, out->depends_on, d);
    if (err)
        return err;
    if (!out->owner[0])
        return cw_fail(d, CW_ERR_INVALID, "spec.owner: required for kind Heartbeat");
    const char *purpose = json_string_value(json_object_get(spec, "purpose"));
    out->purpose = !purpose                          ? CW_HB_PURPOSE_JOB
                   : !strcmp(purpose, "backup")      ? CW_HB_PURPOSE_BACKUP
                   : !strcmp(purpose, "restore-test") ? CW_HB_PURPOSE_RESTORE_TEST
                                                     : CW_HB_PURPOSE_JOB;
    char why[256];
    cw_hb_schedule *s = &out->sched;
    if (!duration_of(json_object_get(spec, "grace"), &s->grace_s, why, sizeof why))
        return cw_fail(d, CW_ERR_INVALID, "spec.grace: %s", why);
    const json_t *cron = json_object_get(spec, "cron");
    if (cron) {
        s->kind = CW_HB_SCHED_CRON;
        snprintf(s->cron, sizeof s->cron, "%s", json_string_value(cron));
        const char *tz = json_string_value(json_object_get(spec, "tz"));
        snprintf(s->tz, sizeof s->tz, "%s", tz ? tz : "UTC");
    } else {
        s->kind = CW_HB_SCHED_PERIOD;
        if (!duration_of(json_object_get(spec, "period"), &s->period_s, why, sizeof why))
            return cw_fail(d, CW_ERR_INVALID, "spec.period: %s", why);
    }
    return cw_hb_schedule_load(s, d);
}

/* ---- state machine ------------------------------------------------------------ */

void cw_hb_state_init(cw_hb_state *st)
{
    memset(st, 0, sizeof *st);
    st->status = CW_HB_NEW;
    st->last_duration_ms = -1;
}

static int64_t floor_s(int64_t ms) { return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000); }

int64_t cw_hb_grace_start(const cw_hb_schedule *s, const cw_hb_state *st, bool with_started)
{
    int64_t r = 0; /* never */
    if (st->status == CW_HB_UP && st->last_ping_ms) {
        if (s->kind == CW_HB_SCHED_PERIOD) {
            r = st->last_ping_ms + s->period_s * 1000;
        } else if (s->kind == CW_HB_SCHED_CRON) {
            int64_t next;
            /* the first run after the last ping, to the second */
            if (cw_cron_next(&s->parsed, s->zone ? s->zone : cw_tz_utc(), floor_s(st->last_ping_ms),
                             &next) == CW_OK)
                r = next * 1000;
        }
    }
    if (with_started && st->last_start_ms && st->status != CW_HB_DOWN &&
        (!r || st->last_start_ms < r))
        r = st->last_start_ms;
    return r;
}

int64_t cw_hb_down_at(const cw_hb_schedule *s, const cw_hb_state *st)
{
    int64_t g = cw_hb_grace_start(s, st, true);
    return g ? g + s->grace_s * 1000 : 0;
}

cw_hb_shown cw_hb_shown_status(const cw_hb_schedule *s, const cw_hb_state *st, int64_t now_ms)
{
    if (st->last_start_ms) {
        if (now_ms >= st->last_start_ms + s->grace_s * 1000)
            return CW_HB_SHOW_DOWN;
        if (st->status != CW_HB_DOWN)
            return CW_HB_SHOW_STARTED;
    }
    switch (st->status) {
    case CW_HB_NEW: return CW_HB_SHOW_NEW;
    case CW_HB_PAUSED: return CW_HB_SHOW_PAUSED;
    case CW_HB_DOWN: return CW_HB_SHOW_DOWN;
    case CW_HB_UP: break;
    }
    int64_t g = cw_hb_grace_start(s, st, false);
    if (!g)
        return CW_HB_SHOW_UP;
    if (now_ms >= g + s->grace_s * 1000)
        return CW_HB_SHOW_DOWN;
    if (now_ms >= g)
        return CW_HB_SHOW_GRACE;
    return CW_HB_SHOW_UP;
}

/* healthchecks' get_status without "started": whether it is down by the clock. */
static bool down_by_clock(const cw_hb_schedule *s, const cw_hb_state *st, int64_t now_ms)
{
    if (st->last_start_ms && now_ms >= st->last_start_ms + s->grace_s * 1000)
        return true;
    if (st->status != CW_HB_UP)
        return st->status == CW_HB_DOWN;
    int64_t g = cw_hb_grace_start(s, st, false);
    return g && now_ms >= g + s->grace_s * 1000;
}

static void set_flip(cw_hb_flip *f, cw_hb_status from, cw_hb_status to, int64_t at,
                     const char *reason)
{
    f->flipped = true;
    f->from = from;
    f->to = to;
    f->at_ms = at;
    f->reason = reason;
}

void cw_hb_apply_ping(const cw_hb_schedule *s, cw_hb_state *st, cw_ping_kind k, const char *rid,
                      int64_t now_ms, cw_hb_flip *flip)
{
    memset(flip, 0, sizeof *flip);
    if (!rid)
        rid = "";
    if (k == CW_PING_START) {
        st->last_start_ms = now_ms;
        snprintf(st->last_start_rid, sizeof st->last_start_rid, "%s", rid);
    } else if (k == CW_PING_SUCCESS || k == CW_PING_FAIL) {
        st->last_ping_ms = now_ms;
        st->last_duration_ms = -1;
        if (k == CW_PING_SUCCESS)
            st->last_success_ms = now_ms;
        if (st->last_start_ms) {
            if (!strcmp(st->last_start_rid, rid)) {
                /* the end of the run that started with this rid (or both without) */
                st->last_duration_ms = now_ms - st->last_start_ms;
                st->last_start_ms = 0;
                st->last_start_rid[0] = '\0';
            } else if (k == CW_PING_FAIL || !rid[0]) {
                st->last_start_ms = 0;
                st->last_start_rid[0] = '\0';
            }
        }
        cw_hb_status to = k == CW_PING_FAIL ? CW_HB_DOWN : CW_HB_UP;
        if (st->status != to) {
            set_flip(flip, st->status, to, now_ms, k == CW_PING_FAIL ? "fail" : "ping");
            st->status = to;
        }
    }
    st->n_pings++;
    st->alert_after_ms = cw_hb_down_at(s, st);
}

void cw_hb_evaluate(const cw_hb_schedule *s, cw_hb_state *st, int64_t now_ms, cw_hb_flip *flip)
{
    memset(flip, 0, sizeof *flip);
    if (st->status == CW_HB_DOWN || !st->alert_after_ms || now_ms < st->alert_after_ms)
        return;
    if (!down_by_clock(s, st, now_ms)) {
        st->alert_after_ms = cw_hb_down_at(s, st);
        return;
    }
    int64_t at = cw_hb_down_at(s, st);
    set_flip(flip, st->status, CW_HB_DOWN, at ? at : now_ms, "timeout");
    st->status = CW_HB_DOWN;
    st->alert_after_ms = 0;
}

void cw_hb_pause(cw_hb_state *st, int64_t now_ms, cw_hb_flip *flip)
{
    memset(flip, 0, sizeof *flip);
    if (st->status != CW_HB_PAUSED)
        set_flip(flip, st->status, CW_HB_PAUSED, now_ms, "paused");
    st->status = CW_HB_PAUSED;
    st->last_start_ms = 0;
    st->last_start_rid[0] = '\0';
    st->alert_after_ms = 0;
}

cw_err cw_hb_resume(cw_hb_state *st, int64_t now_ms, cw_hb_flip *flip, cw_diag *d)
{
    memset(flip, 0, sizeof *flip);
    if (st->status != CW_HB_PAUSED)
        return cw_fail(d, CW_ERR_CONFLICT, "the heartbeat is %s, not paused",
                       cw_hb_status_name(st->status));
    set_flip(flip, CW_HB_PAUSED, CW_HB_NEW, now_ms, "resumed");
    st->status = CW_HB_NEW;
    st->last_start_ms = 0;
    st->last_start_rid[0] = '\0';
    st->last_ping_ms = 0;
    st->alert_after_ms = 0;
    return CW_OK;
}

void cw_hb_reschedule(const cw_hb_schedule *s, cw_hb_state *st)
{
    st->alert_after_ms = st->status == CW_HB_DOWN ? 0 : cw_hb_down_at(s, st);
}

cw_err cw_hb_row_from_entity(const json_t *entity, cw_hb_row *row, cw_diag *d)
{
    memset(row, 0, sizeof *row);
    cw_hb_state_init(&row->state);
    cw_ref r;
    cw_err err = cw_entity_ref(entity, &r, d);
    if (err)
        return err;
    cw_ref_key(&r, row->key);
    cw_ref_format(&r, row->ref);
    size_t n = strlen(r.name);
    for (size_t i = 0; i <= n; i++)
        row->slug[i] = (char)(r.name[i] >= 'A' && r.name[i] <= 'Z' ? r.name[i] + 32 : r.name[i]);
    const char *etag = json_string_value(json_object_get(json_object_get(entity, "metadata"), "etag"));
    snprintf(row->etag, sizeof row->etag, "%s", etag ? etag : "");
    err = cw_hb_spec_read(entity, &row->spec, d);
    if (err) {
        cw_diag_prefix(d, "%s", row->ref);
        return err;
    }
    if (!cw_ref_text_to_key(row->spec.owner, row->owner_key))
        return cw_fail(d, CW_ERR_INVALID, "%s: spec.owner does not parse", row->ref);
    return CW_OK;
}
