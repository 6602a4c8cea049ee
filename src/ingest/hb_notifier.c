/*
 * hb_notifier.c — the notification thread of hb_notifier.h: a loop of
 * (queue the deliveries of new status changes, attempt the due
 * deliveries, sleep), with every failure logged and retried later rather
 * than ending the loop.
 */
#include "ingest/hb_notifier.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "catalog/catalog.h"
#include "ingest/inc_notifier.h"
#include "insights/hb_notify.h"
#include "insights/heartbeat_findings.h"
#include "store/store.h"
#include "store/store_heartbeats.h"
#include "store/store_scan.h"
#include "util/log.h"
#include "util/timeutil.h"

#define BATCH 50
#define SKIP_BATCH 1000          /* status changes looked at per round */
#define LEASE_MS 120000          /* longer than one attempt can take */
#define MAX_URLS 32              /* per status change */

struct cw_hb_notifier {
    cw_store *store;
    cw_hb_notifier_config cfg;
    cw_inc_notifier *inc;       /* incidents and action items (inc_notifier.h) */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

static void log_err(const char *what, const char *msg)
{
    cw_log(CW_LOG_ERROR, what, json_pack("{s:s, s:s}", "component", "notifications", "error", msg));
}

/* Whether entity is the Group ref names ("group:ns/name", any case). */
static bool is_group(const json_t *e, const char *ref)
{
    const char *kind = json_string_value(json_object_get(e, "kind"));
    const json_t *md = json_object_get(e, "metadata");
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *name = json_string_value(json_object_get(md, "name"));
    if (!kind || strcasecmp(kind, "Group") || !name)
        return false;
    char key[CW_REF_MAX];
    snprintf(key, sizeof key, "group:%s/%s", ns ? ns : "default", name);
    return !strcasecmp(key, ref);
}

/* Adds the http(s) URLs of the Group ref's spec.notify to urls (no repeats). */
void cw_notify_group_urls(json_t *all, const char *ref, const char **urls, size_t *n, size_t max)
{
    size_t i;
    json_t *e;
    json_array_foreach(all, i, e) {
        if (!is_group(e, ref))
            continue;
        size_t k;
        json_t *u;
        json_array_foreach(json_object_get(json_object_get(e, "spec"), "notify"), k, u) {
            const char *url = json_string_value(u);
            if (!url && json_is_object(u))
                url = json_string_value(json_object_get(u, "url"));
            if (!url || (strncmp(url, "https://", 8) && strncmp(url, "http://", 7)))
                continue;
            bool seen = false;
            for (size_t j = 0; j < *n; j++)
                seen = seen || !strcmp(urls[j], url);
            if (!seen && *n < max)
                urls[(*n)++] = url;
        }
        return;
    }
}

/*
 * Appends the catalog entity ref_text names to ents (default_kind and the
 * namespace ns when the text leaves them out). Absent, or not a ref:
 * nothing is appended; the notification goes out with what there is.
 */
static cw_err add_entity(cw_store *s, const char *ref_text, const char *default_kind,
                         const char *ns, json_t *ents, cw_diag *d)
{
    cw_ref r;
    if (!ref_text || !*ref_text ||
        cw_ref_parse(ref_text, default_kind, ns ? ns : CW_DEFAULT_NAMESPACE, &r, NULL) != CW_OK)
        return CW_OK;
    json_t *e = NULL;
    cw_diag gd = {{0}};
    cw_err err = cw_store_entity_load(s, r.kind, r.namespace_, r.name, &e, &gd);
    if (err == CW_ERR_NOT_FOUND)
        return CW_OK;
    if (err) {
        *d = gd;
        return err;
    }
    if (json_array_append_new(ents, e))
        return cw_fail(d, CW_ERR_NOMEM, "notifications: out of memory");
    return CW_OK;
}

/* ents[n], the entity add_entity just appended to an array of n, or NULL
 * when it appended none. */
static const json_t *added(const json_t *ents, size_t n)
{
    return json_array_size(ents) > n ? json_array_get(ents, n) : NULL;
}

/* A heartbeat row by key; *found false when there is none. */
static cw_err hb_row(cw_store *s, const char *key, cw_hb_row *row, bool *found, cw_diag *d)
{
    cw_diag gd = {{0}};
    cw_err err = cw_store_hb_get(s, key, row, &gd);
    *found = !err;
    if (err == CW_ERR_NOT_FOUND)
        return CW_OK;
    if (err)
        *d = gd;
    return err;
}

/* The heartbeat-down finding of ref (for its accountable teams), or NULL. */
static const json_t *down_finding(const json_t *findings, const char *ref)
{
    size_t i;
    json_t *f;
    json_array_foreach(findings, i, f) {
        const char *rule = json_string_value(json_object_get(f, "rule"));
        const char *er = json_string_value(json_object_get(f, "entityRef"));
        if (rule && er && !strcmp(rule, "heartbeat-down") && !strcasecmp(er, ref))
            return f;
    }
    return NULL;
}

/*
 * Who hears of the heartbeat row going down: the accountable for data
 * durability of its target, as the heartbeat-down finding names them
 * (cw_heartbeat_findings over just the entities that decide it, as
 * cw_hb_accountable_system says: the Responsibilities, the target and its
 * System). Appends the teams' refs to acc and their entities, with the
 * owner's, to ents.
 */
static cw_err audience(cw_store *s, const cw_hb_row *row, json_t *resps, int64_t now,
                       json_t *ents, json_t *findings, const char **acc, size_t *nacc,
                       cw_diag *d)
{
    cw_err err = json_array_extend(ents, resps)
                     ? cw_fail(d, CW_ERR_NOMEM, "notifications: out of memory")
                     : CW_OK;
    size_t n = json_array_size(ents);
    if (!err)
        err = add_entity(s, row->spec.target, NULL, NULL, ents, d);
    char system[CW_REF_MAX];
    if (!err && cw_hb_accountable_system(added(ents, n), system))
        err = add_entity(s, system, NULL, NULL, ents, d);
    if (!err)
        err = add_entity(s, row->spec.owner, "Group", NULL, ents, d);
    size_t ne = json_array_size(ents);
    json_t **items = err ? NULL : malloc((ne ? ne : 1) * sizeof *items);
    if (!err && !items)
        err = cw_fail(d, CW_ERR_NOMEM, "notifications: out of memory");
    for (size_t i = 0; !err && i < ne; i++)
        items[i] = json_array_get(ents, i);
    if (!err)
        err = cw_heartbeat_findings(items, ne, row, 1, now, NULL, findings, d);
    free(items);
    const json_t *f = err ? NULL : down_finding(findings, row->ref);
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(f, "teams"), i, t) {
        if (err || !json_string_value(t) || *nacc >= MAX_URLS)
            continue;
        acc[(*nacc)++] = json_string_value(t);
        err = add_entity(s, json_string_value(t), "Group", NULL, ents, d);
    }
    return err;
}

/*
 * Queues the deliveries of one status change (or takes it with none),
 * reading only the rows and entities that decide them: its heartbeat, the
 * parent it depends on, and audience()'s; never the whole catalog, so a
 * round costs the same in an organisation of any size.
 */
static cw_err queue_flip(cw_hb_notifier *w, const cw_hb_flip_rec *fl, json_t *resps,
                         int64_t now, cw_diag *d)
{
    cw_hb_row row, parent;
    bool has_row = false, has_parent = false;
    const char *type = cw_notify_type(fl->from, fl->to);
    const char *urls[MAX_URLS];
    size_t nurls = 0;
    const char *acc[MAX_URLS];
    size_t nacc = 0;
    char *body = NULL;
    json_t *ents = json_array(), *findings = json_array();
    cw_err err = ents && findings ? CW_OK : cw_fail(d, CW_ERR_NOMEM, "notifications: out of memory");
    if (!err)
        err = hb_row(w->store, fl->key, &row, &has_row, d);
    if (!err && has_row && row.spec.depends_on[0])
        err = hb_row(w->store, row.spec.depends_on, &parent, &has_parent, d);
    if (err || !has_row || !type) {
        /* no heartbeat (deleted since) or no news: taken with no deliveries */
    } else if (cw_notify_suppressed(has_parent, has_parent ? parent.state.status : CW_HB_NEW)) {
        cw_log(CW_LOG_INFO, "notification suppressed",
               json_pack("{s:s, s:s, s:s}", "component", "notifications", "heartbeat", row.ref,
                         "dependsOn", parent.ref));
    } else {
        err = audience(w->store, &row, resps, now, ents, findings, acc, &nacc, d);
        if (!err) {
            cw_notify_group_urls(ents, row.spec.owner, urls, &nurls, MAX_URLS);
            for (size_t i = 0; i < nacc; i++)
                cw_notify_group_urls(ents, acc[i], urls, &nurls, MAX_URLS);
        }
        cw_notify_event ev = {.ref = row.ref, .owner = row.spec.owner,
                              .target = row.spec.target, .purpose = row.spec.purpose,
                              .from = fl->from, .to = fl->to, .reason = fl->reason,
                              .at_ms = fl->at_ms, .accountable = acc, .naccountable = nacc};
        json_t *p = !err && nurls ? cw_notify_payload(&ev) : NULL;
        body = p ? json_dumps(p, JSON_COMPACT) : NULL;
        json_decref(p);
        if (!err && nurls && !body)
            err = cw_fail(d, CW_ERR_NOMEM, "notifications: out of memory");
    }
    if (!err) {
        cw_hb_delivery_new dl[MAX_URLS];
        for (size_t i = 0; i < nurls; i++)
            dl[i] = (cw_hb_delivery_new){urls[i], body};
        bool taken = false;
        err = cw_store_hb_notify_take(w->store, fl->id, fl->key, dl, body ? nurls : 0, now,
                                      &taken, d);
    }
    free(body);
    json_decref(findings);
    json_decref(ents);
    return err;
}

static cw_err queue_pending(cw_hb_notifier *w, int64_t now, cw_diag *d)
{
    cw_hb_flip_rec *fl = NULL;
    size_t n = 0;
    cw_err err = cw_store_hb_flips_pending(w->store, SKIP_BATCH, &fl, &n, d);
    if (err || !n) {
        free(fl);
        return err;
    }
    /* Most changes are no news (a new heartbeat's first ping, grace, a
     * start): those are taken together, in one transaction; the news (at
     * most BATCH a round) are kept in fl[0..n). */
    int64_t *skip = malloc(n * sizeof *skip);
    if (!skip) {
        free(fl);
        return cw_fail(d, CW_ERR_NOMEM, "notifications: out of memory");
    }
    size_t nskip = 0, nnews = 0;
    for (size_t i = 0; i < n; i++) {
        if (!cw_notify_type(fl[i].from, fl[i].to))
            skip[nskip++] = fl[i].id;
        else if (nnews < BATCH)
            fl[nnews++] = fl[i];
    }
    err = cw_store_hb_flips_skip(w->store, skip, nskip, now, NULL, d);
    free(skip);
    n = nnews;
    /* every Responsibilities entity once a round: who is accountable for
     * a target may be declared on it, its System or its Domain */
    static const char *const kinds[] = {"responsibilities"};
    json_t *resps = NULL;
    if (!err && n)
        err = cw_store_scan(w->store, kinds, 1, 0, &resps, d);
    /* A change that cannot be queued stays pending (the next round tries
     * again) and does not hold back the ones after it. */
    for (size_t i = 0; !err && i < n; i++) {
        cw_diag fd = {{0}};
        cw_err ferr = queue_flip(w, &fl[i], resps, now, &fd);
        if (ferr == CW_ERR_NOMEM || ferr == CW_ERR_IO || ferr == CW_ERR_BUSY) {
            *d = fd; /* the store or memory: the rest would fail too */
            err = ferr;
        } else if (ferr) {
            cw_log(CW_LOG_WARN, "status change not queued",
                   json_pack("{s:s, s:s, s:s}", "component", "notifications", "heartbeat",
                             fl[i].key, "error", fd.msg));
        }
    }
    json_decref(resps);
    free(fl);
    return err;
}

static cw_err deliver_due(cw_hb_notifier *w, cw_diag *d)
{
    cw_hb_delivery *dl = NULL;
    size_t n = 0;
    cw_err err = cw_store_hb_notify_claim(w->store, cw_now_ms(), LEASE_MS, BATCH, &dl, &n, d);
    const char *secret = w->cfg.secret ? w->cfg.secret : "";
    for (size_t i = 0; !err && i < n; i++) {
        cw_hb_delivery *x = &dl[i];
        int64_t now = cw_now_ms();
        char sig[CW_NOTIFY_SIG_MAX], hdr[CW_NOTIFY_SIG_MAX + 32], idh[64];
        cw_diag pd = {{0}};
        int status = 0;
        cw_err perr = cw_notify_sign(secret, strlen(secret), now / 1000, x->body,
                                     strlen(x->body), sig, &pd);
        if (!perr) {
            snprintf(hdr, sizeof hdr, CW_NOTIFY_SIG_HEADER ": %s", sig);
            snprintf(idh, sizeof idh, "X-Conway-Delivery: %lld", (long long)x->id);
            const char *hdrs[] = {hdr, idh};
            perr = cw_fetch_post(&w->cfg.policy, x->url, hdrs, 2, x->body, strlen(x->body),
                                 &status, &pd);
        }
        cw_hb_dl_state st = CW_HB_DL_DELIVERED;
        int64_t next = 0;
        if (perr) {
            int64_t wait = cw_notify_backoff_ms(x->attempts);
            st = wait < 0 ? CW_HB_DL_DEAD : CW_HB_DL_PENDING;
            next = wait < 0 ? 0 : now + wait;
        }
        cw_log(perr ? CW_LOG_WARN : CW_LOG_INFO, "notification attempt",
               json_pack("{s:s, s:I, s:s, s:i, s:i, s:s}", "component", "notifications", "id",
                         (json_int_t)x->id, "heartbeat", x->key, "attempt", x->attempts,
                         "status", status, "outcome",
                         st == CW_HB_DL_DELIVERED ? "delivered"
                         : st == CW_HB_DL_DEAD    ? "dead"
                                                  : "retry"));
        err = cw_store_hb_notify_finish(w->store, x->id, st, next, status, perr ? pd.msg : "",
                                        cw_now_ms(), d);
    }
    cw_hb_deliveries_free(dl, n);
    return err;
}

static void *run(void *arg)
{
    cw_hb_notifier *w = arg;
    int64_t every = w->cfg.interval_ms > 0 ? w->cfg.interval_ms : 1000;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        bool stop = w->stop;
        pthread_mutex_unlock(&w->mu);
        if (stop)
            break;
        cw_diag d = {{0}};
        if (queue_pending(w, cw_now_ms(), &d))
            log_err("queueing notifications failed", d.msg);
        d = (cw_diag){{0}};
        if (cw_inc_notifier_round(w->inc, w->store, cw_now_ms(), &d))
            log_err("queueing incident notifications failed", d.msg);
        d = (cw_diag){{0}};
        if (deliver_due(w, &d))
            log_err("delivering notifications failed", d.msg);
        pthread_mutex_lock(&w->mu);
        if (!w->stop) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t ns = ts.tv_nsec + (every % 1000) * 1000000;
            ts.tv_sec += every / 1000 + ns / 1000000000;
            ts.tv_nsec = ns % 1000000000;
            pthread_cond_timedwait(&w->cv, &w->mu, &ts);
        }
        pthread_mutex_unlock(&w->mu);
    }
    return NULL;
}

cw_err cw_hb_notifier_start(cw_store *store, const cw_hb_notifier_config *cfg,
                            cw_hb_notifier **out, cw_diag *d)
{
    cw_hb_notifier *w = calloc(1, sizeof *w);
    if (!w)
        return cw_fail(d, CW_ERR_NOMEM, "notifications: out of memory");
    w->store = store;
    if (!(w->inc = cw_inc_notifier_new())) {
        free(w);
        return cw_fail(d, CW_ERR_NOMEM, "notifications: out of memory");
    }
    if (cfg)
        w->cfg = *cfg;
    cw_fetch_global_init();
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&w->mu, NULL);
    if (pthread_create(&w->thread, NULL, run, w) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        cw_inc_notifier_free(w->inc);
        free(w);
        return cw_fail(d, CW_ERR_IO, "notifications: cannot start their thread");
    }
    *out = w;
    return CW_OK;
}

void cw_hb_notifier_stop(cw_hb_notifier *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    cw_inc_notifier_free(w->inc);
    free(w);
}
