/*
 * bench_scale.c — intake "at scale": CDEvents into PostgreSQL through one
 * and through two conway store instances (several threads each, group
 * commit), the same event delivered to both instances, and intake through
 * RabbitMQ (publisher confirms, then conway's consumer), each beside
 * PostgreSQL's own insert rate for the same rows measured in the same run
 * on the same server: the conway events table filled by raw libpq INSERTs
 * (one row per transaction, and 500 rows per transaction with the same
 * unnest statement conway uses).
 *
 * Needs CONWAY_TEST_PG_URL (and CONWAY_TEST_AMQP_URL for the AMQP part):
 * `eval "$(scripts/services.sh start)"`. Prints a Markdown section; asserts
 * nothing about time. bench/scale.sh runs it and appends to RESULTS.md.
 *
 * Usage: bench_scale [--events N] [--threads T]
 */
#ifndef CONWAY_HAVE_PG
#include <stdio.h>

int main(void)
{
    puts("bench_scale: built without libpq: skipped");
    return 0;
}
#else
#include <inttypes.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "events/events.h"
#include "store/event_codec.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/log.h"

#ifdef CONWAY_HAVE_AMQP
#include <amqp.h>
#include <amqp_tcp_socket.h>

#include "ingest/amqp.h"
#endif

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "bench_scale: %s: %s\n", what, detail);
    exit(1);
}

/* ---- data ------------------------------------------------------------------------- */

typedef struct {
    char **texts;   /* compact CDEvent JSON */
    cw_event *evs;  /* decoded */
    size_t n;
} corpus;

static void corpus_make(corpus *c, size_t n, unsigned seed)
{
    c->n = n;
    c->texts = calloc(n, sizeof *c->texts);
    c->evs = calloc(n, sizeof *c->evs);
    if (!c->texts || !c->evs)
        die("corpus", "out of memory");
    for (size_t i = 0; i < n; i++) {
        char id[64], ts[40], svc[32];
        snprintf(id, sizeof id, "bench-%u-%zu", seed, i);
        time_t t = (time_t)(1704067200 + (long)(i * 37 % 8000000));
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
        snprintf(svc, sizeof svc, "svc-%zu", i % 50);
        json_t *j = json_pack(
            "{s:{s:s, s:s, s:s, s:s, s:s}, s:{s:s, s:{s:{s:s}, s:s}}}", "context",
            "specversion", "0.5.1", "id", id, "source", "/bench/scale", "type",
            "dev.cdevents.service.deployed.0.3.0", "timestamp", ts, "subject", "id", svc,
            "content", "environment", "id", i % 3 ? "production" : "staging", "artifactId",
            "pkg:oci/app@sha256%3A0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427");
        cw_diag d = {""};
        if (!j || cw_cdevent_decode(j, &c->evs[i], &d))
            die("decode", d.msg);
        c->texts[i] = json_dumps(j, JSON_COMPACT);
        json_decref(j);
    }
}

static void corpus_free(corpus *c)
{
    for (size_t i = 0; i < c->n; i++) {
        cw_event_free(&c->evs[i]);
        free(c->texts[i]);
    }
    free(c->evs);
    free(c->texts);
}

/* ---- PostgreSQL plumbing --------------------------------------------------------------- */

static char *schema_url(const char *base, const char *schema)
{
    size_t cap = strlen(base) + strlen(schema) + 64;
    char *u = malloc(cap);
    if (!u)
        die("url", "out of memory");
    snprintf(u, cap, "%s%coptions=-csearch_path%%3D%s", base, strchr(base, '?') ? '&' : '?',
             schema);
    return u;
}

static void pg_run(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        die(sql, PQerrorMessage(c));
    PQclear(r);
}

static PGconn *pg_connect(const char *url)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK)
        die("connect", PQerrorMessage(c));
    pg_run(c, "SET client_min_messages = warning");
    return c;
}

/* A fresh schema with conway's tables (created by opening a store on it). */
static char *fresh_schema(const char *base, const char *name)
{
    PGconn *c = pg_connect(base);
    char sql[256];
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", name, name);
    pg_run(c, sql);
    PQfinish(c);
    char *url = schema_url(base, name);
    cw_store *s = NULL;
    cw_diag d = {""};
    if (cw_store_open(url, NULL, &s, &d))
        die("open", d.msg);
    cw_store_close(s);
    return url;
}

static void drop_schema(const char *base, const char *name)
{
    PGconn *c = pg_connect(base);
    char sql[160];
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", name);
    pg_run(c, sql);
    PQfinish(c);
}

static long long count_events(const char *url)
{
    PGconn *c = pg_connect(url);
    PGresult *r = PQexec(c, "SELECT count(*) FROM events");
    long long n = PQresultStatus(r) == PGRES_TUPLES_OK ? strtoll(PQgetvalue(r, 0, 0), NULL, 10)
                                                       : -1;
    PQclear(r);
    PQfinish(c);
    return n;
}

/* Appends s to a text[] literal. */
static void arr_add(cw_buf *b, size_t i, const char *s)
{
    cw_buf_putc(b, i ? ',' : '{');
    if (!s) {
        cw_buf_puts(b, "NULL");
        return;
    }
    cw_buf_putc(b, '"');
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            cw_buf_putc(b, '\\');
        cw_buf_putc(b, *p);
    }
    cw_buf_putc(b, '"');
}

/* "\x<hex>": bytes as bytea's hex input text. */
static void hex_text(cw_buf *b, const void *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = p;
    cw_buf_reset(b);
    cw_buf_puts(b, "\\x");
    for (size_t i = 0; i < n; i++) {
        cw_buf_putc(b, hex[u[i] >> 4]);
        cw_buf_putc(b, hex[u[i] & 15]);
    }
}

/* PostgreSQL's own rate: the same rows into conway's events table with
 * raw libpq, `per_tx` rows per transaction, one unnest INSERT each (its
 * key and document as conway stores them before it has a dictionary). */
static double raw_insert(const char *url, const corpus *c, size_t n, size_t per_tx)
{
    PGconn *pg = pg_connect(url);
    pg_run(pg, "TRUNCATE events");
    pg_run(pg, "INSERT INTO event_sources (name) VALUES ('raw') ON CONFLICT DO NOTHING;"
               "INSERT INTO event_types (name) VALUES ('raw') ON CONFLICT DO NOTHING");
    const char *sql =
        "INSERT INTO events (time_ms, received_ms, source_id, type_id, event_key, doc)"
        " SELECT u.t, u.r, s.id, y.id, u.k, u.d FROM unnest($1::bigint[], $2::bigint[],"
        " $3::bytea[], $4::bytea[]) AS u(t, r, k, d),"
        " (SELECT id FROM event_sources WHERE name = 'raw') s,"
        " (SELECT id FROM event_types WHERE name = 'raw') y"
        " ON CONFLICT (source_id, event_key) DO NOTHING";
    PGresult *prep = PQprepare(pg, "ins", sql, 4, NULL);
    if (PQresultStatus(prep) != PGRES_COMMAND_OK)
        die("prepare", PQerrorMessage(pg));
    PQclear(prep);
    cw_buf a[4], hx, env;
    for (int k = 0; k < 4; k++)
        cw_buf_init(&a[k], 0);
    cw_buf_init(&hx, 0);
    cw_buf_init(&env, 0);
    double t0 = now_s();
    for (size_t from = 0; from < n; from += per_tx) {
        size_t to = n - from > per_tx ? from + per_tx : n;
        for (int k = 0; k < 4; k++)
            cw_buf_reset(&a[k]);
        for (size_t i = from; i < to; i++) {
            const cw_event *e = &c->evs[i];
            char t[24], r[24];
            snprintf(t, sizeof t, "%" PRId64, e->time_ms);
            snprintf(r, sizeof r, "%" PRId64, (int64_t)1);
            arr_add(&a[0], i - from, t);
            arr_add(&a[1], i - from, r);
            unsigned char key[256];
            size_t klen = cw__event_key(e->id, key, sizeof key);
            hex_text(&hx, key, klen);
            arr_add(&a[2], i - from, hx.data);
            cw_buf_reset(&env);
            cw_buf_putc(&env, '[');
            cw_buf_json_str(&env, e->subject_id);
            cw_buf_puts(&env, ",null,null]\n");
            cw_buf_puts(&env, c->texts[i]);
            hex_text(&hx, env.data, env.len);
            arr_add(&a[3], i - from, hx.data);
        }
        const char *p[4];
        for (int k = 0; k < 4; k++) {
            cw_buf_putc(&a[k], '}');
            p[k] = a[k].data;
        }
        PGresult *res = PQexecPrepared(pg, "ins", 4, p, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            die("raw insert", PQerrorMessage(pg));
        PQclear(res);
    }
    double dt = now_s() - t0;
    for (int k = 0; k < 4; k++)
        cw_buf_free(&a[k]);
    cw_buf_free(&hx);
    cw_buf_free(&env);
    PQfinish(pg);
    return (double)n / dt;
}

/* ---- conway instances ------------------------------------------------------------------- */

typedef struct {
    cw_store *s;
    const corpus *c;
    size_t from, to, step;
    size_t accepted, duplicates;
} feeder;

static void *feed_main(void *arg)
{
    feeder *f = arg;
    for (size_t i = f->from; i < f->to; i += f->step) {
        cw_event_put_result r;
        cw_diag d = {""};
        if (cw_store_events_put(f->s, &f->c->evs[i], 1, &r, &d))
            die("events put", d.msg);
        f->accepted += r.accepted;
        f->duplicates += r.duplicates;
    }
    return NULL;
}

/*
 * ninst store instances on url, `threads` threads each, single-event
 * requests. dup: every instance is sent every event (each event delivered
 * ninst times); otherwise the instances share the events. Returns distinct
 * events stored per second.
 */
static double conway_intake(const char *url, const corpus *c, size_t n, int ninst, int threads,
                            bool dup, int pool, size_t *accepted_out)
{
    cw_store *st[2] = {NULL, NULL};
    for (int i = 0; i < ninst; i++) {
        cw_diag d = {""};
        cw_store_options o = {.pool_size = pool};
        if (cw_store_open(url, &o, &st[i], &d))
            die("open", d.msg);
    }
    int nt = ninst * threads;
    feeder *f = calloc((size_t)nt, sizeof *f);
    pthread_t *th = calloc((size_t)nt, sizeof *th);
    if (!f || !th)
        die("threads", "out of memory");
    double t0 = now_s();
    for (int i = 0; i < nt; i++) {
        int inst = i / threads, k = i % threads;
        f[i].s = st[inst];
        f[i].c = c;
        f[i].to = n;
        if (dup) {
            f[i].from = (size_t)k;
            f[i].step = (size_t)threads;
        } else {
            f[i].from = (size_t)i;
            f[i].step = (size_t)nt;
        }
        pthread_create(&th[i], NULL, feed_main, &f[i]);
    }
    size_t acc = 0;
    for (int i = 0; i < nt; i++) {
        pthread_join(th[i], NULL);
        acc += f[i].accepted;
    }
    double dt = now_s() - t0;
    for (int i = 0; i < ninst; i++)
        cw_store_close(st[i]);
    free(f);
    free(th);
    *accepted_out = acc;
    return (double)n / dt;
}

/* ---- entity reads across instances --------------------------------------------------------- */

static json_t *bench_component(const char *name, const char *type)
{
    json_t *e = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:s, s:[s, s]}}", "apiVersion",
                          "backstage.io/v1alpha1", "kind", "Component", "metadata", "name", name,
                          "spec", "type", type, "lifecycle", "production", "owner", "team-a",
                          "dependsOn", "component:db", "component:cache");
    cw_diag d = {""};
    if (!e || cw_entity_validate(e, &d))
        die("entity", d.msg);
    return e;
}

/*
 * The price of never serving stale entities across instances: a get whose
 * cached rendering is still valid (one round trip reading the generation)
 * beside one whose cache was invalidated by another instance's write (the
 * generation read plus the one-statement rendering query). Returns gets/s.
 */
static void entity_reads(const char *url, int rounds, double *hit, double *miss)
{
    cw_store *a = NULL, *b = NULL;
    cw_diag d = {""};
    if (cw_store_open(url, NULL, &a, &d) || cw_store_open(url, NULL, &b, &d))
        die("open", d.msg);
    cw_put_result r;
    json_t *e = bench_component("reader", "service");
    if (cw_store_entity_put(a, e, NULL, &r, &d))
        die("put", d.msg);
    json_decref(e);
    double tmiss = 0;
    for (int i = 0; i < rounds; i++) {
        /* a write through instance b invalidates instance a's cache */
        json_t *w = bench_component("writer", i % 2 ? "service" : "website");
        if (cw_store_entity_put(b, w, NULL, &r, &d))
            die("put", d.msg);
        json_decref(w);
        char *text = NULL;
        double t0 = now_s();
        if (cw_store_entity_get(a, "component", "default", "reader", &text, NULL, &d))
            die("get", d.msg);
        tmiss += now_s() - t0;
        free(text);
    }
    double t0 = now_s();
    for (int i = 0; i < rounds; i++) {
        char *text = NULL;
        if (cw_store_entity_get(a, "component", "default", "reader", &text, NULL, &d))
            die("get", d.msg);
        free(text);
    }
    *hit = rounds / (now_s() - t0);
    *miss = rounds / tmiss;
    cw_store_close(a);
    cw_store_close(b);
}

/* ---- RabbitMQ --------------------------------------------------------------------------- */

#ifdef CONWAY_HAVE_AMQP
static void check_rpc(amqp_connection_state_t c, const char *what)
{
    amqp_rpc_reply_t r = amqp_get_rpc_reply(c);
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        die(what, "broker refused");
}

static amqp_connection_state_t amqp_open(const char *url_in)
{
    char *url = strdup(url_in);
    struct amqp_connection_info ci;
    amqp_default_connection_info(&ci);
    if (!url || amqp_parse_url(url, &ci))
        die("amqp url", url_in);
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *sock = amqp_tcp_socket_new(c);
    if (!sock || amqp_socket_open(sock, ci.host, ci.port))
        die("amqp", "cannot connect");
    amqp_rpc_reply_t r = amqp_login(c, ci.vhost, 0, AMQP_DEFAULT_FRAME_SIZE, 0,
                                    AMQP_SASL_METHOD_PLAIN, ci.user, ci.password);
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        die("amqp", "login failed");
    amqp_channel_open(c, 1);
    check_rpc(c, "channel");
    free(url);
    return c;
}

static void amqp_close_all(amqp_connection_state_t c)
{
    amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c);
}

/* Declares queue as conway does, empty. */
static void queue_fresh(amqp_connection_state_t c, const char *queue)
{
    char dlx[300], dlq[300];
    snprintf(dlx, sizeof dlx, "%s.dlx", queue);
    snprintf(dlq, sizeof dlq, "%s.dead", queue);
    amqp_queue_delete(c, 1, amqp_cstring_bytes(queue), 0, 0);
    check_rpc(c, "queue delete");
    amqp_exchange_declare(c, 1, amqp_cstring_bytes(dlx), amqp_cstring_bytes("fanout"), 0, 1, 0, 0,
                          amqp_empty_table);
    check_rpc(c, "dlx");
    amqp_queue_declare(c, 1, amqp_cstring_bytes(dlq), 0, 1, 0, 0, amqp_empty_table);
    check_rpc(c, "dlq");
    amqp_table_entry_t e;
    e.key = amqp_cstring_bytes("x-dead-letter-exchange");
    e.value.kind = AMQP_FIELD_KIND_UTF8;
    e.value.value.bytes = amqp_cstring_bytes(dlx);
    amqp_table_t args = {1, &e};
    amqp_queue_declare(c, 1, amqp_cstring_bytes(queue), 0, 1, 0, 0, args);
    check_rpc(c, "queue");
}

/* Publishes the corpus persistently and waits for every confirm. */
static double publish_all(const char *url, const char *queue, const corpus *cp, size_t n)
{
    amqp_connection_state_t c = amqp_open(url);
    queue_fresh(c, queue);
    amqp_confirm_select(c, 1);
    check_rpc(c, "confirm select");
    amqp_basic_properties_t props;
    memset(&props, 0, sizeof props);
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.content_type = amqp_cstring_bytes("application/json");
    props.delivery_mode = 2;
    double t0 = now_s();
    uint64_t confirmed = 0;
    for (size_t i = 0; i < n; i++) {
        if (amqp_basic_publish(c, 1, amqp_empty_bytes, amqp_cstring_bytes(queue), 0, 0, &props,
                               amqp_cstring_bytes(cp->texts[i])))
            die("publish", "failed");
    }
    while (confirmed < n) {
        amqp_frame_t f;
        if (amqp_simple_wait_frame(c, &f) != AMQP_STATUS_OK)
            die("confirms", "connection lost");
        if (f.frame_type != AMQP_FRAME_METHOD)
            continue;
        if (f.payload.method.id == AMQP_BASIC_NACK_METHOD)
            die("confirms", "the broker refused a message");
        if (f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
            const amqp_basic_ack_t *a = f.payload.method.decoded;
            if (a->delivery_tag > confirmed)
                confirmed = a->delivery_tag;
        }
    }
    double dt = now_s() - t0;
    amqp_close_all(c);
    return (double)n / dt;
}

/* Starts nconsumers conway consumers (each on its own store instance of
 * db_url) and times until they acknowledged n messages. */
static double consume_all(const char *amqp_url, const char *queue, const char *db_url,
                          int nconsumers, size_t n)
{
    cw_store *st[2] = {NULL, NULL};
    cw_amqp *am[2] = {NULL, NULL};
    for (int i = 0; i < nconsumers; i++) {
        cw_diag d = {""};
        if (cw_store_open(db_url, NULL, &st[i], &d))
            die("open", d.msg);
    }
    double t0 = now_s();
    for (int i = 0; i < nconsumers; i++) {
        cw_diag d = {""};
        cw_amqp_config cfg = {.url = amqp_url, .queue = queue};
        if (cw_amqp_start(&cfg, st[i], &am[i], &d))
            die("amqp start", d.msg);
    }
    for (;;) {
        uint64_t acked = 0;
        for (int i = 0; i < nconsumers; i++) {
            cw_amqp_status s;
            cw_amqp_get_status(am[i], &s);
            acked += s.acked;
        }
        if (acked >= n)
            break;
        if (now_s() - t0 > 600)
            die("consume", "not done within 10 minutes");
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    double dt = now_s() - t0;
    for (int i = 0; i < nconsumers; i++) {
        cw_amqp_stop(am[i]);
        cw_store_close(st[i]);
    }
    return (double)n / dt;
}
#endif

/* ---- main --------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    size_t n = 20000;
    int threads = 16;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--events"))
            n = (size_t)strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--threads"))
            threads = (int)strtol(argv[i + 1], NULL, 10);
    }
    if (n < 100 || threads < 1 || threads > 256) {
        fprintf(stderr, "usage: bench_scale [--events N>=100] [--threads 1..256]\n");
        return 2;
    }
    const char *pg = getenv("CONWAY_TEST_PG_URL");
    const char *amqp = getenv("CONWAY_TEST_AMQP_URL");
    if (!pg || !*pg) {
        printf("bench_scale: CONWAY_TEST_PG_URL is not set: skipped "
               "(eval \"$(scripts/services.sh start)\")\n");
        return 0;
    }
    cw_log_set_level(CW_LOG_ERROR);
    corpus c;
    corpus_make(&c, n, (unsigned)getpid());
    int pool = threads * 2;

    printf("### Intake at scale (PostgreSQL%s)\n\n", amqp && *amqp ? " and RabbitMQ" : "");
    printf("%zu service.deployed CDEvents; conway instances are store handles with their own "
           "pools (%d connections) and group-commit queues, fed by %d threads each with "
           "single-event requests; PostgreSQL's own rate is raw libpq INSERTs of the same rows "
           "into the same table.\n\n",
           n, pool, threads);
    printf("| path | events/s | vs PostgreSQL, 500 rows/tx | notes |\n|---|---:|---:|---|\n");

    char *raw_url = fresh_schema(pg, "cw_bench_raw");
    size_t n1 = n < 2000 ? n : 2000;
    double raw1 = raw_insert(raw_url, &c, n1, 1);
    double raw500 = raw_insert(raw_url, &c, n, 500);
    printf("| PostgreSQL raw INSERT, 1 row/tx | %.0f | %.2f | %zu rows, commit-bound |\n", raw1,
           raw1 / raw500, n1);
    printf("| PostgreSQL raw INSERT, 500 rows/tx | %.0f | 1.00 | unnest, as conway |\n", raw500);
    free(raw_url);
    drop_schema(pg, "cw_bench_raw");

    size_t acc = 0;
    char *one = fresh_schema(pg, "cw_bench_one");
    double r1 = conway_intake(one, &c, n, 1, threads, false, pool, &acc);
    printf("| conway, 1 instance | %.0f | %.2f | %zu stored |\n", r1, r1 / raw500, acc);
    free(one);
    drop_schema(pg, "cw_bench_one");

    char *two = fresh_schema(pg, "cw_bench_two");
    double r2 = conway_intake(two, &c, n, 2, threads, false, pool, &acc);
    printf("| conway, 2 instances, one database | %.0f | %.2f | %zu stored |\n", r2, r2 / raw500,
           acc);
    free(two);
    drop_schema(pg, "cw_bench_two");

    char *dup = fresh_schema(pg, "cw_bench_dup");
    double r3 = conway_intake(dup, &c, n, 2, threads, true, pool, &acc);
    long long stored = count_events(dup);
    printf("| conway, 2 instances, every event to both | %.0f | %.2f | %zu accepted, %lld "
           "rows (each once) |\n",
           r3, r3 / raw500, acc, stored);
    free(dup);
    drop_schema(pg, "cw_bench_dup");

    char *rd = fresh_schema(pg, "cw_bench_reads");
    double hit = 0, miss = 0;
    entity_reads(rd, 2000, &hit, &miss);
    free(rd);
    drop_schema(pg, "cw_bench_reads");

#ifdef CONWAY_HAVE_AMQP
    if (amqp && *amqp) {
        const char *q = "conway.bench";
        double pub = publish_all(amqp, q, &c, n);
        printf("| RabbitMQ publish with confirms (bench client) | %.0f | %.2f | persistent |\n",
               pub, pub / raw500);
        char *a1 = fresh_schema(pg, "cw_bench_amqp1");
        double c1 = consume_all(amqp, q, a1, 1, n);
        printf("| AMQP → conway (1 consumer) → PostgreSQL | %.0f | %.2f | acked after commit, "
               "%lld rows |\n",
               c1, c1 / raw500, count_events(a1));
        free(a1);
        drop_schema(pg, "cw_bench_amqp1");
        publish_all(amqp, q, &c, n);
        char *a2 = fresh_schema(pg, "cw_bench_amqp2");
        double c2 = consume_all(amqp, q, a2, 2, n);
        printf("| AMQP → conway (2 consumers, one database) → PostgreSQL | %.0f | %.2f | "
               "%lld rows |\n",
               c2, c2 / raw500, count_events(a2));
        free(a2);
        drop_schema(pg, "cw_bench_amqp2");
    }
#endif
    printf("\nEntity reads on one PostgreSQL database, one thread: a cached rendering "
           "validated against the entity generation (one round trip) %.0f gets/s; after "
           "another instance's write (generation, then the rendering query) %.0f gets/s "
           "(%.2fx).\n\n",
           hit, miss, hit / miss);
    corpus_free(&c);
    return 0;
}
#endif
