/* locations.c — fetching, importing and refreshing url locations, and
 * orphaned entities (locations.h). */
#include "ingest/locations.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "ingest/catalog_import.h"
#include "insights/ownership.h"
#include "store/store_scan.h"
#include "util/crypto.h"
#include "util/log.h"
#include "util/timeutil.h"

#define LEASE_EXTRA_MS 60000
#define CLAIM_BATCH 8

/* ---- URLs ----------------------------------------------------------------------------- */

bool cw_location_resolve(const char *base, const char *target, char *out, size_t cap)
{
    if (!target || !*target)
        return false;
    if (strstr(target, "://")) {
        int n = snprintf(out, cap, "%s", target);
        return n >= 0 && (size_t)n < cap;
    }
    if (!base || (strncmp(base, "http://", 7) && strncmp(base, "https://", 8)))
        return false;
    const char *host = strstr(base, "://") + 3;
    const char *path = host + strcspn(host, "/?#");
    size_t origin = (size_t)(path - base);
    /* the base's directory, without query or fragment */
    char dir[4096];
    size_t plen = strcspn(path, "?#");
    if (target[0] == '/') {
        plen = 0;
    } else {
        while (plen && path[plen - 1] != '/')
            plen--;
    }
    if (origin + plen + strlen(target) + 2 >= sizeof dir)
        return false;
    memcpy(dir, path, plen);
    dir[plen] = '\0';
    if (!plen)
        memcpy(dir, "/", 2);
    /* join, then drop "." and resolve ".." segments */
    char joined[4096];
    snprintf(joined, sizeof joined, "%s%s", dir, target[0] == '/' ? target + 1 : target);
    char res[4096];
    size_t r = 0;
    for (const char *seg = joined + 1; seg;) {
        const char *next = strchr(seg, '/');
        size_t sl = next ? (size_t)(next - seg) : strlen(seg);
        if (sl == 1 && seg[0] == '.') {
            /* nothing */
        } else if (sl == 2 && seg[0] == '.' && seg[1] == '.') {
            while (r > 0 && res[r - 1] != '/')
                r--;
            if (r > 0)
                r--;
        } else {
            res[r++] = '/';
            memcpy(res + r, seg, sl);
            r += sl;
        }
        seg = next ? next + 1 : NULL;
    }
    if (r == 0)
        res[r++] = '/';
    res[r] = '\0';
    int n = snprintf(out, cap, "%.*s%s", (int)origin, base, res);
    return n >= 0 && (size_t)n < cap;
}

cw_err cw_locations_register(cw_store *s, const json_t *report_locations, const char *base,
                             size_t *registered, cw_diag *d)
{
    size_t made = 0, i;
    json_t *loc;
    json_array_foreach(report_locations, i, loc) {
        const char *type = json_string_value(json_object_get(loc, "type"));
        const char *target = json_string_value(json_object_get(loc, "target"));
        char url[CW_LOCATION_TARGET_MAX];
        if (!target || (type && strcmp(type, "url") != 0))
            continue;
        if (!cw_location_resolve(base, target, url, sizeof url) ||
            (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
            continue;
        bool created = false;
        cw_err err = cw_store_location_add(s, "url", url, "entity", cw_now_ms(), NULL, &created, d);
        if (err == CW_ERR_INVALID)
            continue; /* a target no location can hold (control characters) */
        if (err)
            return err;
        made += created;
    }
    if (registered)
        *registered = made;
    return CW_OK;
}

/* ---- orphans ------------------------------------------------------------------------ */

/* The lower-cased key of a ref; false when it does not parse. */
static bool key_of(const char *ref, char out[CW_REF_MAX])
{
    cw_ref r;
    cw_diag d = {{0}};
    if (!ref || cw_ref_parse(ref, NULL, NULL, &r, &d))
        return false;
    cw_ref_key(&r, out);
    return true;
}

/* The stored entity of a key (owned JSON, without server fields), NULL when
 * absent. */
static cw_err load_entity(cw_store *s, const char *key, json_t **out, cw_diag *d)
{
    *out = NULL;
    cw_ref r;
    if (cw_ref_parse(key, NULL, NULL, &r, d))
        return CW_ERR_INVALID;
    json_t *e = NULL;
    cw_err err = cw_store_entity_load(s, r.kind, r.namespace_, r.name, &e, d);
    if (err == CW_ERR_NOT_FOUND)
        return CW_OK;
    if (err)
        return err;
    json_object_del(e, "relations");
    json_object_del(e, "status");
    *out = e;
    return CW_OK;
}

static json_t *annotations_of(json_t *e)
{
    json_t *meta = json_object_get(e, "metadata");
    json_t *a = json_object_get(meta, "annotations");
    if (!json_is_object(a)) {
        a = json_object();
        if (!a || json_object_set_new(meta, "annotations", a))
            return NULL;
    }
    return a;
}

static cw_err store_entity(cw_store *s, json_t *e, cw_diag *d)
{
    cw_put_result res;
    cw_err err = cw_entity_validate(e, d);
    return err ? err : cw_store_entity_put(s, e, NULL, &res, d);
}

cw_err cw_orphans(cw_store *s, const json_t *keys, bool delete_orphans, size_t *n, cw_diag *d)
{
    size_t done = 0, i;
    json_t *k;
    cw_err err = CW_OK;
    json_array_foreach(keys, i, k) {
        json_t *e = NULL;
        const char *key = json_string_value(k);
        if ((err = load_entity(s, key, &e, d)))
            break;
        if (!e)
            continue;
        if (delete_orphans) {
            cw_ref r;
            err = cw_ref_parse(key, NULL, NULL, &r, d);
            if (!err)
                err = cw_store_entity_delete(s, r.kind, r.namespace_, r.name, NULL, d);
            if (err == CW_ERR_NOT_FOUND)
                err = CW_OK;
        } else {
            json_t *a = annotations_of(e);
            if (!a || json_object_set_new(a, "backstage.io/orphan", json_string("true")))
                err = cw_fail(d, CW_ERR_NOMEM, "orphans: out of memory");
            else
                err = store_entity(s, e, d);
        }
        json_decref(e);
        if (err)
            break;
        done++;
    }
    if (n)
        *n = done;
    return err;
}

cw_err cw_location_provides(cw_store *s, const char *id, const json_t *refs,
                            const json_t *errors, bool delete_orphans, size_t *orphaned,
                            cw_diag *d)
{
    json_t *keys = json_array(), *gone = NULL;
    if (!keys)
        return cw_fail(d, CW_ERR_NOMEM, "locations: out of memory");
    size_t i;
    json_t *v;
    char key[CW_REF_MAX];
    json_array_foreach(refs, i, v) {
        if (key_of(json_string_value(v), key))
            json_array_append_new(keys, json_string(key));
    }
    /* an entity whose new version is invalid keeps its last good one: it
     * is still held by the location */
    json_array_foreach(errors, i, v) {
        if (key_of(json_string_value(json_object_get(v, "entityRef")), key))
            json_array_append_new(keys, json_string(key));
    }
    cw_err err = cw_store_location_entities_set(s, id, keys, &gone, d);
    if (!err)
        err = cw_orphans(s, gone, delete_orphans, orphaned, d);
    json_decref(keys);
    json_decref(gone);
    return err;
}

/* ---- fetch state on Location entities ---------------------------------------------- */

static bool names_target(const json_t *e, const char *url)
{
    const json_t *spec = json_object_get(e, "spec");
    const char *t = json_string_value(json_object_get(spec, "target"));
    if (t && !strcmp(t, url))
        return true;
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(spec, "targets"), i, v) {
        if (json_string_value(v) && !strcmp(json_string_value(v), url))
            return true;
    }
    return false;
}

/* Sets (error != NULL) or clears the fetch annotations of every Location
 * entity naming url; an entity is written only when they change. */
static cw_err mark_location_entities(cw_store *s, const char *url, const char *error,
                                     int64_t failures, cw_diag *d)
{
    static const char *const kinds[] = {"location"};
    cw_filter_cond cond = {"kind", kinds, 1};
    cw_filter_clause clause = {&cond, 1};
    cw_filter f = {&clause, 1};
    cw_entity_query q = {.filter = &f, .limit = 10000};
    cw_entity_page page = {0};
    cw_err err = cw_store_entity_query(s, &q, &page, d);
    if (err)
        return err;
    char count[24];
    snprintf(count, sizeof count, "%lld",
             (long long)(failures < CW_OWNERSHIP_FETCH_FAILURES ? failures
                                                                 : CW_OWNERSHIP_FETCH_FAILURES));
    for (size_t i = 0; !err && i < page.len; i++) {
        json_t *e = json_loads(page.items[i], 0, NULL);
        if (!e || !names_target(e, url)) {
            json_decref(e);
            continue;
        }
        json_object_del(e, "relations");
        json_object_del(e, "status");
        json_t *a = annotations_of(e);
        const char *old_err = json_string_value(json_object_get(a, "conway.dev/fetch-error"));
        const char *old_n = json_string_value(json_object_get(a, "conway.dev/fetch-failures"));
        bool same = error ? old_err && old_n && !strcmp(old_err, error) && !strcmp(old_n, count)
                          : !old_err && !old_n;
        if (a && !same) {
            if (error) {
                json_object_set_new(a, "conway.dev/fetch-error", json_string(error));
                json_object_set_new(a, "conway.dev/fetch-failures", json_string(count));
            } else {
                json_object_del(a, "conway.dev/fetch-error");
                json_object_del(a, "conway.dev/fetch-failures");
            }
            err = store_entity(s, e, d);
        }
        json_decref(e);
    }
    cw_entity_page_free(&page);
    return err;
}

/* ---- one refresh ------------------------------------------------------------------- */

cw_err cw_location_refresh(cw_store *s, const cw_locations_config *cfg,
                           const struct cw_activity_set *activities, const char *id,
                           const char *owner, cw_diag *d)
{
    (void)activities; /* fetched files are imported as files: standard activities */
    cw_location loc;
    cw_err err = cw_store_location_get(s, id, true, &loc, d);
    if (err)
        return err;
    int64_t now = cw_now_ms();
    int64_t interval = cfg->interval_ms > 0 ? cfg->interval_ms : CW_LOCATIONS_DEFAULT_INTERVAL_MS;
    cw_location_fetch f = {.fetched_ms = now, .next_ms = now + interval};
    cw_fetch_result res;
    memset(&res, 0, sizeof res);
    cw_diag fd = {{0}};
    char url[CW_LOCATION_TARGET_MAX + 64];
    cw_import_report rep;
    cw_import_report_init(&rep);
    char why[600];
    if (!cw_fetch_raw_url(loc.target, url, sizeof url)) {
        f.status = "error";
        f.error = "the URL is too long";
    } else if (!cw_fetch_allowed(&cfg->policy, url)) {
        f.status = "not-allowed";
        f.error = CW_FETCH_NOT_ALLOWED " (the server's --fetch-allow prefixes do not admit it)";
    } else {
        cw_err ferr = cw_fetch(&cfg->policy, url, loc.etag, loc.last_modified, &res, &fd);
        if (ferr) {
            f.status = ferr == CW_ERR_FORBIDDEN ? "not-allowed" : "error";
            snprintf(why, sizeof why, "%s", fd.msg);
            f.error = why;
        } else if (res.not_modified) {
            f.status = "ok";
        } else {
            /* the content: imported as a file (no quoting of what is not a
             * catalog file); the validators kept with it */
            cw_err ierr = cw_import_file_text(s, cw_buf_cstr(&res.body), res.body.len, &rep, &fd);
            if (ierr == CW_ERR_INVALID || ierr == CW_ERR_TOO_LARGE) {
                f.status = "error";
                snprintf(why, sizeof why, "%s", fd.msg);
                f.error = why;
            } else if (ierr) {
                err = cw_fail(d, ierr, "%s", fd.msg);
            } else {
                f.status = "ok";
                f.changed = true;
                f.content = cw_buf_cstr(&res.body);
                f.etag = res.etag[0] ? res.etag : NULL;
                f.last_modified = res.last_modified[0] ? res.last_modified : NULL;
                size_t orphaned = 0, registered = 0;
                err = cw_location_provides(s, id, rep.refs, rep.errors, cfg->delete_orphans,
                                           &orphaned, d);
                if (!err)
                    err = cw_locations_register(s, rep.locations, loc.target, &registered, d);
                if (!err)
                    cw_log(CW_LOG_INFO, "location fetched",
                           json_pack("{s:s, s:s, s:i, s:i, s:i, s:i}", "location", id, "target",
                                     loc.target, "entities", (int)json_array_size(rep.refs),
                                     "rejected", (int)json_array_size(rep.errors), "orphaned",
                                     (int)orphaned, "locations", (int)registered));
            }
        }
    }
    int64_t failures = 0;
    if (!err)
        err = cw_store_location_fetched(s, id, owner, &f, &failures, d);
    if (!err && strcmp(f.status, "ok") != 0)
        cw_log(CW_LOG_WARN, "location fetch failed",
               json_pack("{s:s, s:s, s:s, s:s, s:I}", "location", id, "target", loc.target,
                         "status", f.status, "error", f.error, "failures", (json_int_t)failures));
    if (!err)
        err = mark_location_entities(s, loc.target, strcmp(f.status, "ok") ? f.error : NULL,
                                     failures, d);
    cw_import_report_free(&rep);
    cw_fetch_result_free(&res);
    cw_location_free(&loc);
    return err;
}

/* ---- the background refresher ------------------------------------------------------ */

struct cw_refresher {
    cw_store *s;
    const cw_locations_config *cfg;
    const struct cw_activity_set *activities;
    char owner[96];
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, kicked;
};

static void *refresher_main(void *arg)
{
    cw_refresher *r = arg;
    long timeout = r->cfg->policy.timeout_ms ? r->cfg->policy.timeout_ms
                                             : CW_FETCH_DEFAULT_TIMEOUT_MS;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        bool stop = r->stop;
        r->kicked = false;
        pthread_mutex_unlock(&r->mu);
        if (stop)
            break;
        json_t *ids = NULL;
        cw_diag d = {{0}};
        /* the lease outlasts every fetch of the batch */
        int64_t lease = (int64_t)timeout * (CW_FETCH_MAX_REDIRECTS + 1) * CLAIM_BATCH +
                        LEASE_EXTRA_MS;
        if (cw_store_location_claim(r->s, r->owner, cw_now_ms(), lease, CLAIM_BATCH, &ids, &d))
            cw_log(CW_LOG_WARN, "location claim failed", json_pack("{s:s}", "error", d.msg));
        size_t i;
        json_t *id;
        json_array_foreach(ids, i, id) {
            pthread_mutex_lock(&r->mu);
            stop = r->stop;
            pthread_mutex_unlock(&r->mu);
            if (stop)
                break;
            if (cw_location_refresh(r->s, r->cfg, r->activities, json_string_value(id),
                                    r->owner, &d))
                cw_log(CW_LOG_ERROR, "location refresh failed",
                       json_pack("{s:s, s:s}", "location", json_string_value(id), "error",
                                 d.msg));
        }
        bool more = json_array_size(ids) == CLAIM_BATCH;
        json_decref(ids);
        if (more)
            continue;
        pthread_mutex_lock(&r->mu);
        if (!r->stop && !r->kicked) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += CW_LOCATIONS_POLL_MS / 1000;
            until.tv_nsec += (long)(CW_LOCATIONS_POLL_MS % 1000) * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&r->cv, &r->mu, &until);
        }
        pthread_mutex_unlock(&r->mu);
    }
    return NULL;
}

cw_err cw_refresher_start(cw_store *s, const cw_locations_config *cfg,
                          const struct cw_activity_set *activities, cw_refresher **out,
                          cw_diag *d)
{
    cw_refresher *r = calloc(1, sizeof *r);
    if (!r)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory");
    r->s = s;
    r->cfg = cfg;
    r->activities = activities;
    /* who holds a claim: this process, told apart from the others */
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    unsigned char rnd[4] = {0};
    (void)cw_random_bytes(rnd, sizeof rnd);
    snprintf(r->owner, sizeof r->owner, "%.60s:%d:%02x%02x%02x%02x", host[0] ? host : "host",
             (int)getpid(), rnd[0], rnd[1], rnd[2], rnd[3]);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    cw_fetch_global_init();
    if (pthread_create(&r->thread, NULL, refresher_main, r)) {
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        free(r);
        return cw_fail(d, CW_ERR_INTERNAL, "cannot start the location refresher");
    }
    *out = r;
    return CW_OK;
}

void cw_refresher_kick(cw_refresher *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->kicked = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

void cw_refresher_stop(cw_refresher *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
