/*
 * heartbeat_findings.c — the heartbeat findings of heartbeat_findings.h.
 * One pass indexes the catalog by key; the RACI index answers who is
 * accountable for data durability; every heartbeat row is looked at once.
 */
#include "insights/heartbeat_findings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "insights/raci.h"
#include "util/strmap.h"

static const char *ns_of(const json_t *e)
{
    const char *ns = json_string_value(json_object_get(json_object_get(e, "metadata"), "namespace"));
    return ns && *ns ? ns : CW_DEFAULT_NAMESPACE;
}

static const char *spec_str(const json_t *e, const char *field)
{
    return json_string_value(json_object_get(json_object_get(e, "spec"), field));
}

static bool key_of(const char *text, const char *default_kind, const char *ns, char key[CW_REF_MAX])
{
    cw_ref r;
    if (!text || cw_ref_parse(text, default_kind, ns, &r, NULL) != CW_OK)
        return false;
    cw_ref_key(&r, key);
    return true;
}

static cw_err add(json_t *out, const char *rule, const char *severity, const char *ref,
                  const char *owner, json_t *teams, const char *detail)
{
    json_t *f = json_pack("{s:s, s:s, s:s, s:s}", "rule", rule, "severity", severity, "entityRef",
                          ref, "detail", detail);
    if (f && owner && *owner)
        json_object_set_new(f, "owner", json_string(owner));
    if (f && teams && json_array_size(teams))
        json_object_set(f, "teams", teams);
    json_decref(teams);
    if (!f || json_array_append_new(out, f))
        return CW_ERR_NOMEM;
    return CW_OK;
}

bool cw_hb_accountable_system(const json_t *target, char key[CW_REF_MAX])
{
    return target && key_of(spec_str(target, "system"), "System", ns_of(target), key);
}

/* The data-durability accountable of target (after inheritance), or NULL;
 * *ns is the namespace of the Responsibilities entity that declared it, in
 * which a bare name is a Group (as the RACI API reads it). */
static const char *accountable(const cw_raci_index *ix, const cw_strmap *by_key,
                               const char *target_key, const char **ns)
{
    const json_t *resp = NULL;
    const json_t *decl = cw_raci_index_lookup(ix, target_key, "data-durability", &resp);
    const json_t *t = cw_strmap_get(by_key, target_key);
    char sys[CW_REF_MAX], dom[CW_REF_MAX];
    if (!decl && cw_hb_accountable_system(t, sys)) {
        decl = cw_raci_index_lookup(ix, sys, "data-durability", &resp);
        const json_t *s = cw_strmap_get(by_key, sys);
        if (!decl && s && key_of(spec_str(s, "domain"), "Domain", ns_of(s), dom))
            decl = cw_raci_index_lookup(ix, dom, "data-durability", &resp);
    }
    *ns = resp ? ns_of(resp) : CW_DEFAULT_NAMESPACE;
    return decl ? json_string_value(json_object_get(decl, "accountable")) : NULL;
}

static bool is_production_db(const json_t *e, const cw_strmap *prod_deps, const char *key)
{
    const char *type = spec_str(e, "type");
    if (!type || strcasecmp(type, "database"))
        return false;
    const char *lc = spec_str(e, "lifecycle");
    return (lc && !strcasecmp(lc, "production")) || cw_strmap_get(prod_deps, key) != NULL;
}

cw_err cw_heartbeat_findings(json_t *const *entities, size_t n, const cw_hb_row *rows,
                             size_t nrows, int64_t now_ms, const cw_hb_findings_opts *opts,
                             json_t *out, cw_diag *d)
{
    int days = opts && opts->restore_test_days > 0 ? opts->restore_test_days : CW_HB_RESTORE_TEST_DAYS;
    cw_strmap by_key, prod_deps, has_backup, tested;
    cw_strmap_init(&by_key);
    cw_strmap_init(&prod_deps);
    cw_strmap_init(&has_backup);
    cw_strmap_init(&tested);
    cw_raci_index *ix = NULL;
    char **keys = calloc(n ? n : 1, sizeof *keys);
    cw_err err = keys ? CW_OK : cw_fail(d, CW_ERR_NOMEM, "out of memory");
    static const json_t *mark;
    mark = json_true();
    for (size_t i = 0; !err && i < n; i++) {
        cw_ref r;
        if (cw_entity_ref(entities[i], &r, NULL) != CW_OK)
            continue;
        keys[i] = malloc(CW_REF_MAX);
        if (!keys[i]) {
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
            break;
        }
        cw_ref_key(&r, keys[i]);
        if (cw_strmap_put(&by_key, keys[i], (void *)entities[i]))
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
        /* resources production components depend on */
        const char *lc = spec_str(entities[i], "lifecycle");
        const json_t *deps = json_object_get(json_object_get(entities[i], "spec"), "dependsOn");
        if (!strcasecmp(r.kind, "Component") && lc && !strcasecmp(lc, "production") &&
            json_is_array(deps)) {
            size_t j;
            const json_t *dep;
            json_array_foreach(deps, j, dep) {
                char k[CW_REF_MAX];
                if (key_of(json_string_value(dep), NULL, ns_of(entities[i]), k) &&
                    cw_strmap_put(&prod_deps, k, (void *)mark))
                    err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
            }
        }
    }
    if (!err)
        err = cw_raci_index_build(entities, n, &ix, d);
    char detail[512], tkey[CW_REF_MAX];
    for (size_t i = 0; !err && i < nrows; i++) {
        const cw_hb_row *h = &rows[i];
        bool has_target = h->spec.target[0] && cw_ref_text_to_key(h->spec.target, tkey);
        if (!has_target || !cw_strmap_get(&by_key, tkey)) {
            snprintf(detail, sizeof detail,
                     has_target ? "its target %s does not exist in the catalog"
                                : "it names no target: which Resource or Component does it protect?",
                     h->spec.target);
            if (add(out, "heartbeat-without-target", "warning", h->ref, h->spec.owner, NULL, detail))
                err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
        }
        if (has_target && h->spec.purpose == CW_HB_PURPOSE_BACKUP)
            cw_strmap_put(&has_backup, tkey, (void *)mark);
        if (has_target && h->spec.purpose == CW_HB_PURPOSE_RESTORE_TEST && h->state.last_success_ms &&
            now_ms - h->state.last_success_ms <= (int64_t)days * 86400000)
            cw_strmap_put(&tested, tkey, (void *)mark);
        bool loaded = h->spec.sched.kind != CW_HB_SCHED_CRON || h->spec.sched.zone;
        cw_hb_shown s = loaded ? cw_hb_shown_status(&h->spec.sched, &h->state, now_ms)
                               : (cw_hb_shown)h->state.status;
        if (s != CW_HB_SHOW_DOWN)
            continue;
        json_t *teams = json_array();
        const char *acc_ns = CW_DEFAULT_NAMESPACE;
        const char *acc = has_target ? accountable(ix, &by_key, tkey, &acc_ns) : NULL;
        char acc_ref[CW_REF_MAX] = "";
        cw_ref ar;
        if (acc && cw_ref_parse(acc, "Group", acc_ns, &ar, NULL) == CW_OK) {
            cw_ref_format(&ar, acc_ref);
            json_array_append_new(teams, json_string(acc_ref));
        }
        snprintf(detail, sizeof detail, "%s %s is down%s%s%s%s",
                 h->spec.purpose == CW_HB_PURPOSE_BACKUP ? "the backup"
                 : h->spec.purpose == CW_HB_PURPOSE_RESTORE_TEST ? "the restore test" : "the job",
                 h->ref, has_target ? " (protects " : "", has_target ? h->spec.target : "",
                 has_target ? ")" : "",
                 acc_ref[0] ? "; data-durability accountable notified" : "; nobody is accountable for its data durability");
        if (add(out, "heartbeat-down", "error", h->ref, h->spec.owner, teams, detail))
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; !err && i < n; i++) {
        if (!keys[i] || strncmp(keys[i], "resource:", 9) || !is_production_db(entities[i], &prod_deps, keys[i]))
            continue;
        char ref[CW_REF_MAX];
        cw_ref r;
        cw_entity_ref(entities[i], &r, NULL);
        cw_ref_format(&r, ref);
        char owner[CW_REF_MAX] = "";
        cw_ref o;
        if (spec_str(entities[i], "owner") &&
            cw_ref_parse(spec_str(entities[i], "owner"), "Group", ns_of(entities[i]), &o, NULL) == CW_OK)
            cw_ref_format(&o, owner);
        if (!cw_strmap_get(&has_backup, keys[i]))
            snprintf(detail, sizeof detail,
                     "production database %s has no backup heartbeat: a failing backup would go unnoticed", ref);
        else if (!cw_strmap_get(&tested, keys[i]))
            snprintf(detail, sizeof detail,
                     "production database %s is backed up but no restore test succeeded in the last %d days",
                     ref, days);
        else
            continue;
        if (add(out, "untested-backup", "warning", ref, owner, NULL, detail))
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
    }
    cw_raci_index_free(ix);
    for (size_t i = 0; keys && i < n; i++)
        free(keys[i]);
    free(keys);
    cw_strmap_free(&by_key);
    cw_strmap_free(&prod_deps);
    cw_strmap_free(&has_backup);
    cw_strmap_free(&tested);
    if (!err)
        cw_findings_sort(out);
    return err;
}

static int cmp(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    static const char *const f[] = {"rule", "entityRef", "detail"};
    for (int i = 0; i < 3; i++) {
        const char *p = json_string_value(json_object_get(x, f[i]));
        const char *q = json_string_value(json_object_get(y, f[i]));
        int c = strcmp(p ? p : "", q ? q : "");
        if (c)
            return c;
    }
    return 0;
}

void cw_findings_sort(json_t *findings)
{
    size_t n = json_array_size(findings);
    if (n < 2)
        return;
    json_t **items = malloc(n * sizeof *items);
    if (!items)
        return;
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref(json_array_get(findings, i));
    qsort(items, n, sizeof *items, cmp);
    json_array_clear(findings);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(findings, items[i]);
    free(items);
}
