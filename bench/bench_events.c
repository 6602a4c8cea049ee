/*
 * bench_events.c — event intake and delivery-insight figures, each beside a
 * baseline measured in the same run on the same disk (bench/RESULTS.md):
 *
 *   intake    per repetition, back to back on fresh databases:
 *             raw sqlite3 INSERTs of the same rows into conway's schema at
 *             synchronous=FULL, one transaction per event; conway over HTTP
 *             (in-process server, 16 threads), single-event POSTs from 32
 *             keep-alive clients (group commit; requests per commit shown);
 *             cw_store_events_put of single events from 32 threads; raw
 *             inserts in one transaction for all; NDJSON POSTs of 5000
 *             events from 2 clients; cw_store_events_put of decoded batches
 *             of 5000. Medians of the per-repetition ratios are printed.
 *   insights  a synthetic org (200 components, 20 teams) with ~1M events:
 *             load + DORA for the whole org, load + coupling, undeployed,
 *             one team, beside a raw SQL scan of the same rows (the floor).
 *
 * Prints figures and ratios; asserts nothing about time.
 *
 *   cpu       one thread, no I/O: microseconds per event to decode NDJSON,
 *             to write each event's compact text, and to free the batch.
 *
 * Usage: bench_events [intake|insights|all|cpu] [--dir DIR] [--events N]
 *                     [--single N] [--bulk N] [--raw-tx N] [--reps N]
 *                     [--stagger MS] [--reconnect]
 * DIR (default: a new directory under $TMPDIR) holds the databases; the 1M
 * event database is kept there and reused by later runs with the same DIR.
 * --stagger pauses between the clients' connects; --reconnect opens a new
 * connection per single-event request (both change how libmicrohttpd
 * spreads connections over its workers).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "events/events.h"
#include "http/server.h"
#include "insights/coupling.h"
#include "insights/delivery.h"
#include "insights/dora.h"
#include "insights/undeployed.h"
#include "store/event_codec.h"
#include "store/events_impl.h"
#include "store/store_common.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/log.h"
#include "util/timeutil.h"

#define CLIENTS 32
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define BULK_CHUNK 5000
#define BULK_CLIENTS 2
#define HOUR_MS 3600000LL
#define DAY_MS (24 * HOUR_MS)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_events: %s: %s\n", what, msg);
    exit(1);
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static cw_store *open_store(const char *path)
{
    cw_store *s = NULL;
    cw_diag d = {""};
    if (cw_store_open(path, NULL, &s, &d))
        die(path, d.msg);
    return s;
}

/* dir/name into out (PATH_BUF bytes). */
#define PATH_BUF 4096
static void db_path(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, PATH_BUF, "%s/%s", dir, name);
    if (n < 0 || n >= PATH_BUF)
        die(dir, "path too long");
}

static void remove_db(const char *path)
{
    const char *suffix[] = {"", "-wal", "-shm", ".lock"};
    char p[4200];
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s%s", path, suffix[i]);
        unlink(p);
    }
}

/* ---- intake events ------------------------------------------------------------------ */

/* A realistic deployment or change event, unique by n. */
static void intake_event(size_t n, const char *tag, cw_buf *out)
{
    char ts[32];
    cw_time_format_ms(1704067200000LL + (int64_t)n * 1000, ts);
    if (n % 3 == 0)
        cw_buf_printf(out,
                      "{\"context\":{\"specversion\":\"0.5.1\",\"id\":\"%s-%zu\","
                      "\"source\":\"/argocd/prod-eu-west-1\",\"type\":\"dev.cdevents.service."
                      "deployed.0.3.0\",\"timestamp\":\"%s\",\"chainId\":\"chain-%zu\"},"
                      "\"subject\":{\"id\":\"svc-%zu\",\"source\":\"/k8s/prod\",\"content\":"
                      "{\"environment\":{\"id\":\"production\",\"source\":\"/k8s/prod-eu-west-1\"},"
                      "\"artifactId\":\"pkg:oci/svc-%zu@sha256%%3A%016" PRIx64 "%016" PRIx64 "\"}}}",
                      tag, n, ts, n / 7, n % 50, n % 50, (uint64_t)n * 2654435761u,
                      (uint64_t)n * 40503u);
    else
        cw_buf_printf(out,
                      "{\"context\":{\"specversion\":\"0.5.1\",\"id\":\"%s-%zu\","
                      "\"source\":\"/github/tunewave\",\"type\":\"dev.cdevents.change."
                      "merged.0.3.0\",\"timestamp\":\"%s\"},\"subject\":{\"id\":"
                      "\"github.com/tunewave/svc-%zu/pull/%zu\",\"source\":\"/github\","
                      "\"content\":{\"repository\":{\"id\":\"github.com/tunewave/svc-%zu\","
                      "\"source\":\"https://github.com\",\"name\":\"svc-%zu\",\"owner\":"
                      "\"tunewave\",\"url\":\"https://github.com/tunewave/svc-%zu\"}}}}",
                      tag, n, ts, n % 50, n, n % 50, n % 50, n % 50);
}

typedef struct {
    char **texts;
    size_t *lens;
    size_t n;
} text_set;

static text_set make_texts(size_t n, const char *tag)
{
    text_set t = {calloc(n, sizeof(char *)), calloc(n, sizeof(size_t)), n};
    if (!t.texts || !t.lens)
        die("texts", "out of memory");
    cw_buf b;
    cw_buf_init(&b, 0);
    for (size_t i = 0; i < n; i++) {
        cw_buf_reset(&b);
        intake_event(i, tag, &b);
        t.texts[i] = strdup(cw_buf_cstr(&b));
        t.lens[i] = b.len;
    }
    cw_buf_free(&b);
    return t;
}

static void free_texts(text_set *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->texts[i]);
    free(t->texts);
    free(t->lens);
}

/* ---- (1) raw SQLite baseline ------------------------------------------------------------- */

/* The columns the store writes for an event (store_events.c, sqlite_events.c):
 * its row as the store makes it (document not compressed), and its key. */
typedef struct {
    cw_event ev;
    char *body;
    cw__event_row row;
    cw_buf text;
    unsigned char key[256];
    size_t key_len;
} raw_row;

static raw_row *raw_rows(const text_set *t)
{
    raw_row *rows = calloc(t->n, sizeof *rows);
    cw__codec *plain = NULL;
    if (!rows || cw__codec_new(&plain))
        die("raw rows", "out of memory");
    for (size_t i = 0; i < t->n; i++) {
        json_t *j = json_loads(t->texts[i], 0, NULL);
        cw_diag d = {""};
        if (!j || cw_cdevent_decode(j, &rows[i].ev, &d))
            die("raw decode", d.msg);
        json_decref(j);
        rows[i].body = json_dumps(rows[i].ev.raw, JSON_COMPACT | JSON_PRESERVE_ORDER);
        cw_buf_init(&rows[i].text, 0);
        if (cw__event_rows_make(plain, &rows[i].ev, 1, &rows[i].row, &rows[i].text, &d))
            die("raw rows", d.msg);
        rows[i].key_len = cw__event_key(rows[i].ev.id, rows[i].key, sizeof rows[i].key);
    }
    cw__codec_free(plain);
    return rows;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        die(sql, msg ? msg : "?");
}

/* Inserts rows[0..n) with one transaction per `per_tx` rows; returns events/s. */
static double raw_insert(const char *path, const raw_row *rows, size_t n, size_t per_tx)
{
    remove_db(path);
    cw_store_close(open_store(path)); /* conway's schema, nothing else */
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die(path, "open");
    raw_exec(db, "PRAGMA journal_mode=WAL");
    raw_exec(db, "PRAGMA synchronous=FULL");
    raw_exec(db, "PRAGMA cache_size=-32768");
    raw_exec(db, "INSERT INTO event_envs (id, name) VALUES (1, 'production')");
    raw_exec(db, "INSERT INTO event_links (id, kind, value, resolved) VALUES (1, 1, 'svc', 1),"
                 " (2, 2, 'repo', 1)");
    raw_exec(db, "INSERT INTO event_sources (id, name) VALUES (1, 'bench')");
    raw_exec(db, "INSERT INTO event_types (id, name) VALUES (1, 'bench')");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO events (time_ms, received_ms, source_id, event_key,"
                           " type_id, env_id, link_id, cls, dict_id, doc)"
                           " VALUES (?, ?, 1, ?, 1, ?, ?, ?, 0, ?)"
                           " ON CONFLICT (source_id, event_key) DO NOTHING",
                           -1, &st, NULL) != SQLITE_OK)
        die("prepare", sqlite3_errmsg(db));
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        if (i % per_tx == 0)
            raw_exec(db, "BEGIN IMMEDIATE");
        const raw_row *r = &rows[i];
        sqlite3_bind_int64(st, 1, r->ev.time_ms);
        sqlite3_bind_int64(st, 2, cw_now_ms());
        sqlite3_bind_blob(st, 3, r->key, (int)r->key_len, SQLITE_STATIC);
        if (r->ev.environment_id)
            sqlite3_bind_int64(st, 4, 1);
        else
            sqlite3_bind_null(st, 4);
        sqlite3_bind_int64(st, 5, r->row.cls == 1 ? 1 : 2);
        sqlite3_bind_int64(st, 6, r->row.cls);
        sqlite3_bind_blob(st, 7, r->row.doc, (int)r->row.doc_len, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            die("raw insert", sqlite3_errmsg(db));
        sqlite3_reset(st);
        if ((i + 1) % per_tx == 0 || i + 1 == n)
            raw_exec(db, "COMMIT");
    }
    double dt = now_s() - t0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return (double)n / dt;
}

/* ---- (2) HTTP clients ------------------------------------------------------------------- */

static int http_connect(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        die("connect", strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* POSTs body on a keep-alive connection; returns the status, body in resp. */
static int http_post(int fd, const char *ctype, const char *token, const char *body, size_t len,
                     char *resp, size_t cap)
{
    char head[512];
    int hn = snprintf(head, sizeof head,
                      "POST /api/v1/events HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer %s\r\n"
                      "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                      token, ctype, len);
    struct iovec iov[2] = {{head, (size_t)hn}, {(void *)body, len}};
    size_t total = (size_t)hn + len, sent = 0;
    while (sent < total) {
        ssize_t w = writev(fd, iov, 2);
        if (w <= 0)
            die("write", strerror(errno));
        sent += (size_t)w;
        for (int i = 0; i < 2 && w > 0; i++) {
            size_t k = (size_t)w < iov[i].iov_len ? (size_t)w : iov[i].iov_len;
            iov[i].iov_base = (char *)iov[i].iov_base + k;
            iov[i].iov_len -= k;
            w -= (ssize_t)k;
        }
    }
    size_t got = 0;
    char *end = NULL;
    while (!end) {
        ssize_t r = read(fd, resp + got, cap - 1 - got);
        if (r <= 0)
            die("read", r ? strerror(errno) : "connection closed");
        got += (size_t)r;
        resp[got] = '\0';
        end = strstr(resp, "\r\n\r\n");
    }
    int status = (int)strtol(resp + 9, NULL, 10);
    const char *cl = strcasestr(resp, "content-length:");
    size_t blen = cl ? strtoul(cl + 15, NULL, 10) : 0;
    size_t need = (size_t)(end + 4 - resp) + blen;
    while (got < need && got < cap - 1) {
        ssize_t r = read(fd, resp + got, cap - 1 - got);
        if (r <= 0)
            die("read", "short body");
        got += (size_t)r;
    }
    resp[got] = '\0';
    memmove(resp, end + 4, got - (size_t)(end + 4 - resp) + 1);
    return status;
}

typedef struct {
    char *body;
    size_t len;
} chunk;

typedef struct {
    unsigned port;
    const char *token;
    const text_set *t;     /* single events, or */
    const chunk *chunks;   /* NDJSON bodies */
    size_t from, step;     /* this client sends items from, from+step, ... */
    size_t end;
    size_t accepted;
} client;

static bool reconnect_each; /* --reconnect: a new connection per request */
static unsigned stagger_ms;  /* --stagger MS: pause between the clients' connects */

static void *single_client(void *arg)
{
    client *c = arg;
    int fd = http_connect(c->port);
    char resp[4096];
    for (size_t i = c->from; i < c->end; i += c->step) {
        if (reconnect_each && i != c->from) {
            close(fd);
            fd = http_connect(c->port);
        }
        int st = http_post(fd, "application/json", c->token, c->t->texts[i], c->t->lens[i], resp,
                           sizeof resp);
        if (st != 202)
            die("single POST", resp);
        c->accepted += strstr(resp, "\"accepted\":1") ? 1 : 0;
    }
    close(fd);
    return NULL;
}

static void *bulk_client(void *arg)
{
    client *c = arg;
    int fd = http_connect(c->port);
    char resp[4096];
    for (size_t i = c->from; i < c->end; i += c->step) {
        int st = http_post(fd, "application/x-ndjson", c->token, c->chunks[i].body,
                           c->chunks[i].len, resp, sizeof resp);
        if (st != 202)
            die("bulk POST", resp);
        c->accepted += strtoul(resp + 12, NULL, 10);
    }
    close(fd);
    return NULL;
}

typedef struct {
    cw_store *s;
    raw_row *rows;
    size_t from, step, end;
} api_client;

static void *api_single_client(void *arg)
{
    api_client *c = arg;
    for (size_t i = c->from; i < c->end; i += c->step) {
        cw_event_put_result r;
        cw_diag d = {""};
        if (cw_store_events_put(c->s, &c->rows[i].ev, 1, &r, &d) || r.accepted != 1)
            die("api single", d.msg);
    }
    return NULL;
}

/* Single-event cw_store_events_put calls from CLIENTS threads: group commit
 * without HTTP. */
static double api_single_rate(const char *path, raw_row *rows, size_t n)
{
    remove_db(path);
    cw_store *s = open_store(path);
    api_client cs[CLIENTS];
    pthread_t th[CLIENTS];
    double t0 = now_s();
    for (size_t i = 0; i < CLIENTS; i++) {
        cs[i] = (api_client){s, rows, i, CLIENTS, n};
        pthread_create(&th[i], NULL, api_single_client, &cs[i]);
    }
    for (size_t i = 0; i < CLIENTS; i++)
        pthread_join(th[i], NULL);
    double rate = (double)n / (now_s() - t0);
    cw_store_close(s);
    return rate;
}

static char *make_token(cw_store *s)
{
    static char secret[] = "bench-secret-0123456789abcdef";
    char hash[65];
    cw_sha256_hex(secret, strlen(secret), hash);
    cw_token tok;
    cw_diag d = {""};
    if (cw_store_token_create(s, "bench", "ingest", "", hash, &tok, &d))
        die("token", d.msg);
    return secret;
}

typedef struct {
    cw_store *s;
    cw_server *srv;
    unsigned port;
    char *token;
} http_fixture;

static http_fixture http_start(const char *path)
{
    http_fixture f = {0};
    remove_db(path);
    f.s = open_store(path);
    f.token = make_token(f.s);
    cw_server_config cfg;
    cw_server_config_default(&cfg);
    cfg.listen = "127.0.0.1:0";
    cfg.max_body = 64u << 20;
    cw_diag d = {""};
    if (cw_server_start(&cfg, f.s, &f.srv, &d))
        die("server", d.msg);
    f.port = cw_server_port(f.srv);
    return f;
}

static void http_stop(http_fixture *f)
{
    cw_server_stop(f->srv);
    cw_store_close(f->s);
}

/* Single-event POSTs from CLIENTS keep-alive connections; events/s. */
static double http_single_rate(const char *path, const text_set *t, double *group)
{
    http_fixture f = http_start(path);
    client cs[CLIENTS];
    pthread_t th[CLIENTS];
    uint64_t tx0, b0, r0, tx1, b1, r1;
    cw__gc_stats(f.s->gc, &tx0, &b0, &r0);
    double t0 = now_s();
    for (size_t i = 0; i < CLIENTS; i++) {
        cs[i] = (client){f.port, f.token, t, NULL, i, CLIENTS, t->n, 0};
        pthread_create(&th[i], NULL, single_client, &cs[i]);
        if (stagger_ms)
            usleep(stagger_ms * 1000u);
    }
    size_t acc = 0;
    for (size_t i = 0; i < CLIENTS; i++) {
        pthread_join(th[i], NULL);
        acc += cs[i].accepted;
    }
    double rate = (double)t->n / (now_s() - t0);
    cw__gc_stats(f.s->gc, &tx1, &b1, &r1);
    *group = (double)(b1 - b0) / (double)(tx1 - tx0 ? tx1 - tx0 : 1);
    if (acc != t->n)
        die("single", "not every event was accepted");
    http_stop(&f);
    return rate;
}

/* NDJSON bodies of BULK_CHUNK events from BULK_CLIENTS connections. */
static double http_bulk_rate(const char *path, const chunk *chunks, size_t nchunks, size_t n)
{
    http_fixture f = http_start(path);
    client bc[BULK_CLIENTS];
    pthread_t bth[BULK_CLIENTS];
    double t0 = now_s();
    for (size_t i = 0; i < BULK_CLIENTS; i++) {
        bc[i] = (client){f.port, f.token, NULL, chunks, i, BULK_CLIENTS, nchunks, 0};
        pthread_create(&bth[i], NULL, bulk_client, &bc[i]);
        if (stagger_ms)
            usleep(stagger_ms * 1000u);
    }
    size_t acc = 0;
    for (size_t i = 0; i < BULK_CLIENTS; i++) {
        pthread_join(bth[i], NULL);
        acc += bc[i].accepted;
    }
    double rate = (double)n / (now_s() - t0);
    if (acc != n)
        die("bulk", "not every event was accepted");
    http_stop(&f);
    return rate;
}

/* cw_store_events_put of decoded batches (no HTTP, no JSON parsing). */
static double api_bulk_rate(const char *path, const raw_row *rows, size_t n)
{
    remove_db(path);
    cw_store *s = open_store(path);
    cw_event *evs = malloc(BULK_CHUNK * sizeof *evs);
    double t0 = now_s();
    for (size_t k = 0; k < n; k += BULK_CHUNK) {
        size_t m = n - k < BULK_CHUNK ? n - k : BULK_CHUNK;
        for (size_t i = 0; i < m; i++)
            evs[i] = rows[k + i].ev;
        cw_event_put_result r;
        cw_diag d = {""};
        if (cw_store_events_put(s, evs, m, &r, &d))
            die("put", d.msg);
    }
    double rate = (double)n / (now_s() - t0);
    free(evs);
    cw_store_close(s);
    return rate;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define MAX_REPS 15

/* Each repetition measures a baseline and the conway figure compared with
 * it back to back on fresh databases, so a disk that is busy with other
 * work slows both; the medians of the per-repetition ratios are reported. */
static void bench_intake(const char *dir, size_t nsingle, size_t nbulk, size_t nrawtx, size_t reps)
{
    char path[PATH_BUF];
    printf("== intake (%zu repetitions, medians) ==\n", reps);
    text_set single = make_texts(nsingle, "single");
    text_set bulk = make_texts(nbulk, "bulk");
    raw_row *rs = raw_rows(&single), *rb = raw_rows(&bulk);
    size_t ntx = nrawtx < nsingle ? nrawtx : nsingle;
    size_t nchunks = (nbulk + BULK_CHUNK - 1) / BULK_CHUNK;
    chunk *chunks = calloc(nchunks, sizeof *chunks);
    for (size_t k = 0; k < nchunks; k++) {
        cw_buf b;
        cw_buf_init(&b, 0);
        for (size_t i = k * BULK_CHUNK; i < nbulk && i < (k + 1) * BULK_CHUNK; i++) {
            cw_buf_append(&b, bulk.texts[i], bulk.lens[i]);
            cw_buf_putc(&b, '\n');
        }
        chunks[k].body = cw_buf_steal(&b, &chunks[k].len);
    }

    double raw_tx[MAX_REPS], raw_big[MAX_REPS], single_r[MAX_REPS], api_single[MAX_REPS],
        bulk_r[MAX_REPS], api_bulk[MAX_REPS], group[MAX_REPS];
    double q_single[MAX_REPS], q_api_single[MAX_REPS], q_bulk[MAX_REPS], q_api_bulk[MAX_REPS];
    printf("rep  raw/tx  http-single (group)  api-single |  raw-all  http-ndjson  api-batches\n");
    for (size_t r = 0; r < reps; r++) {
        db_path(path, dir, "raw-tx.db");
        raw_tx[r] = raw_insert(path, rs, ntx, 1);
        db_path(path, dir, "http-single.db");
        single_r[r] = http_single_rate(path, &single, &group[r]);
        db_path(path, dir, "api-single.db");
        api_single[r] = api_single_rate(path, rs, nsingle);
        db_path(path, dir, "raw-big.db");
        raw_big[r] = raw_insert(path, rb, nbulk, nbulk);
        db_path(path, dir, "http-bulk.db");
        bulk_r[r] = http_bulk_rate(path, chunks, nchunks, nbulk);
        db_path(path, dir, "api-bulk.db");
        api_bulk[r] = api_bulk_rate(path, rb, nbulk);
        printf("%3zu %7.0f %8.0f (%5.1f) %11.0f | %8.0f %12.0f %12.0f\n", r + 1, raw_tx[r],
               single_r[r], group[r], api_single[r], raw_big[r], bulk_r[r], api_bulk[r]);
        fflush(stdout);
        q_single[r] = single_r[r] / raw_tx[r];
        q_api_single[r] = api_single[r] / raw_tx[r];
        q_bulk[r] = bulk_r[r] / raw_big[r];
        q_api_bulk[r] = api_bulk[r] / raw_big[r];
    }
    printf("raw sqlite, one transaction per event (synchronous=FULL): %8.0f events/s  (%zu events)\n",
           median(raw_tx, reps), ntx);
    printf("raw sqlite, one transaction for all   (synchronous=FULL): %8.0f events/s  (%zu events)\n",
           median(raw_big, reps), nbulk);
    printf("conway HTTP, single-event POSTs, %d keep-alive clients:   %8.0f events/s  (%zu events)"
           "  ratio %.2f x raw per-event transactions; %.1f requests per commit\n",
           CLIENTS, median(single_r, reps), nsingle, median(q_single, reps), median(group, reps));
    printf("conway store API, single events from %d threads:         %8.0f events/s"
           "  ratio %.2f x raw per-event transactions\n",
           CLIENTS, median(api_single, reps), median(q_api_single, reps));
    printf("conway HTTP, NDJSON bulk (%d events/request, %d clients): %8.0f events/s  (%zu events)"
           "  ratio %.2f x raw single transaction\n",
           BULK_CHUNK, BULK_CLIENTS, median(bulk_r, reps), nbulk, median(q_bulk, reps));
    printf("conway store API, decoded batches of %d:                 %8.0f events/s"
           "  ratio %.2f x raw single transaction\n",
           BULK_CHUNK, median(api_bulk, reps), median(q_api_bulk, reps));

    for (size_t k = 0; k < nchunks; k++)
        free(chunks[k].body);
    free(chunks);
    for (size_t i = 0; i < single.n; i++) {
        cw_event_free(&rs[i].ev);
        free(rs[i].body);
        cw_buf_free(&rs[i].text);
    }
    for (size_t i = 0; i < bulk.n; i++) {
        cw_event_free(&rb[i].ev);
        free(rb[i].body);
        cw_buf_free(&rb[i].text);
    }
    free(rs);
    free(rb);
    free_texts(&single);
    free_texts(&bulk);
}

/* ---- CPU per event of the NDJSON path ---------------------------------------------------- */

/* One thread, no I/O: decode (parse + validate) NDJSON bodies of BULK_CHUNK
 * events, the compact text of each event the store writes (the received
 * line when it was compact, else re-serialised), and freeing the decoded
 * batch; microseconds per event, best of reps. */
static void bench_cpu(size_t nbulk, size_t reps)
{
    text_set bulk = make_texts(nbulk < BULK_CHUNK ? BULK_CHUNK : nbulk, "cpu");
    size_t nchunks = bulk.n / BULK_CHUNK;
    chunk *chunks = calloc(nchunks, sizeof *chunks);
    for (size_t k = 0; k < nchunks; k++) {
        cw_buf b;
        cw_buf_init(&b, 0);
        for (size_t i = k * BULK_CHUNK; i < (k + 1) * BULK_CHUNK; i++) {
            cw_buf_append(&b, bulk.texts[i], bulk.lens[i]);
            cw_buf_putc(&b, '\n');
        }
        chunks[k].body = cw_buf_steal(&b, &chunks[k].len);
    }
    cw_event_limits lim = {.max_events = BULK_CHUNK};
    double best_dec = 1e9, best_txt = 1e9, best_free = 1e9;
    for (size_t r = 0; r < reps; r++) {
        double dec = 0, txt = 0, fre = 0;
        for (size_t k = 0; k < nchunks; k++) {
            cw_event_batch b = {0};
            cw_diag d = {""};
            double t0 = now_s();
            if (cw_events_decode_body("application/x-ndjson", chunks[k].body, chunks[k].len, &lim,
                                      &b, &d))
                die("decode", d.msg);
            double t1 = now_s();
            cw_buf text;
            cw_buf_init(&text, 0);
            for (size_t i = 0; i < b.len; i++) {
                /* as the store does: the received text when it was compact */
                const char *c = b.items[i].compact;
                if (c ? cw_buf_append(&text, c, strlen(c)) : cw__json_compact(b.items[i].raw, &text))
                    die("compact", "failed");
                cw_buf_putc(&text, '\0');
            }
            double t2 = now_s();
            cw_buf_free(&text);
            cw_event_batch_free(&b);
            double t3 = now_s();
            dec += t1 - t0;
            txt += t2 - t1;
            fre += t3 - t2;
        }
        double per = 1e6 / (double)(nchunks * BULK_CHUNK);
        best_dec = MIN(best_dec, dec * per);
        best_txt = MIN(best_txt, txt * per);
        best_free = MIN(best_free, fre * per);
    }
    printf("== cpu per event (NDJSON, %zu events, best of %zu) ==\n", nchunks * BULK_CHUNK, reps);
    printf("decode (parse + validate): %6.2f us\ncompact text:              %6.2f us\n"
           "free:                      %6.2f us\ntotal:                     %6.2f us\n",
           best_dec, best_txt, best_free, best_dec + best_txt + best_free);
    for (size_t k = 0; k < nchunks; k++)
        free(chunks[k].body);
    free(chunks);
    free_texts(&bulk);
}

/* ---- insights over ~1M events ----------------------------------------------------------- */

#define NCOMP 200
#define NTEAMS 20

static void put_catalog(cw_store *s)
{
    json_t **es = calloc(NCOMP + NTEAMS + 10, sizeof *es);
    size_t n = 0;
    char name[64], owner[64], system[64], repo[96];
    for (int t = 0; t < NTEAMS; t++) {
        snprintf(name, sizeof name, "team-%02d", t);
        es[n++] = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:[]}}", "apiVersion",
                            "backstage.io/v1alpha1", "kind", "Group", "metadata", "name", name,
                            "spec", "type", "team", "children");
    }
    for (int y = 0; y < 10; y++) {
        snprintf(name, sizeof name, "system-%d", y);
        es[n++] = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "backstage.io/v1alpha1",
                            "kind", "System", "metadata", "name", name, "spec", "owner", "team-00");
    }
    for (int c = 0; c < NCOMP; c++) {
        snprintf(name, sizeof name, "svc-%03d", c);
        snprintf(owner, sizeof owner, "team-%02d", c % NTEAMS);
        snprintf(system, sizeof system, "system-%d", c % 10);
        snprintf(repo, sizeof repo, "github.com/acme/svc-%03d", c);
        es[n++] = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:s, s:s, s:s, s:s}}", "apiVersion",
                            "backstage.io/v1alpha1", "kind", "Component", "metadata", "name", name,
                            "annotations", "conway.dev/repository", repo, "spec", "type",
                            "service", "lifecycle", "production", "owner", owner, "system",
                            system);
    }
    cw_put_result *res = calloc(n, sizeof *res);
    cw_diag d = {""};
    for (size_t i = 0; i < n; i++)
        if (cw_entity_validate(es[i], &d))
            die("catalog", d.msg);
    if (cw_store_entity_put_many(s, es, n, res, &d))
        die("catalog", d.msg);
    for (size_t i = 0; i < n; i++)
        json_decref(es[i]);
    free(es);
    free(res);
}

typedef struct {
    cw_store *s;
    cw_event batch[BULK_CHUNK];
    size_t n, total;
} gen_ctx;

static void gen_flush(gen_ctx *g)
{
    if (!g->n)
        return;
    cw_event_put_result r;
    cw_diag d = {""};
    if (cw_store_events_put(g->s, g->batch, g->n, &r, &d))
        die("put", d.msg);
    for (size_t i = 0; i < g->n; i++)
        cw_event_free(&g->batch[i]);
    g->total += g->n;
    g->n = 0;
}

static void gen_add(gen_ctx *g, json_t *j)
{
    cw_diag d = {""};
    if (!j || cw_cdevent_decode(j, &g->batch[g->n], &d))
        die("generate", d.msg);
    json_decref(j);
    if (++g->n == BULK_CHUNK)
        gen_flush(g);
}

static json_t *gen_event(size_t *seq, const char *kind, const char *version, int64_t t,
                         const char *subject, json_t *content, const char *chain)
{
    char id[32], type[96], ts[32];
    snprintf(id, sizeof id, "e%zu", (*seq)++);
    snprintf(type, sizeof type, "dev.cdevents.%s.%s", kind, version);
    cw_time_format_ms(t, ts);
    json_t *ctx = json_pack("{s:s, s:s, s:s, s:s, s:s}", "specversion", "0.5.1", "id", id,
                            "source", "/bench", "type", type, "timestamp", ts);
    if (chain)
        json_object_set_new(ctx, "chainId", json_string(chain));
    return json_pack("{s:o, s:{s:s, s:o}}", "context", ctx, "subject", "id", subject, "content",
                     content);
}

/* Per component a deployment every ~18 h over two years, each shipping two
 * changes (created + merged); 5 % get an incident, 3 % a rollback; every
 * 50th component is released together with the next one (shared chain). */
static size_t generate_history(cw_store *s, size_t target)
{
    gen_ctx *g = calloc(1, sizeof *g);
    g->s = s;
    size_t seq = 0;
    int64_t start = 1672531200000LL; /* 2023-01-01 */
    size_t per_comp = target / NCOMP;
    for (int c = 0; c < NCOMP; c++) {
        char svc[32], repo[64], art[96], pr[96], inc[32], chain[48];
        snprintf(svc, sizeof svc, "svc-%03d", c);
        snprintf(repo, sizeof repo, "github.com/acme/svc-%03d", c);
        int64_t t = start + (int64_t)(next_rand() % (uint64_t)DAY_MS);
        size_t made = 0;
        for (int k = 0; made < per_comp; k++) {
            bool coupled = c % 50 == 1; /* follows component c-1 */
            int64_t gap = (int64_t)(6 * HOUR_MS + next_rand() % (uint64_t)(24 * HOUR_MS));
            t += gap;
            for (int ch = 0; ch < 2; ch++) {
                snprintf(pr, sizeof pr, "%s/pull/%d", repo, k * 2 + ch);
                int64_t merged = t - (int64_t)(next_rand() % (uint64_t)(gap / 2)) - 1;
                int64_t created = merged - (int64_t)(next_rand() % (uint64_t)(2 * DAY_MS)) - 1;
                gen_add(g, gen_event(&seq, "change.created", "0.4.0", created, pr,
                                     json_pack("{s:{s:s}}", "repository", "id", repo), NULL));
                gen_add(g, gen_event(&seq, "change.merged", "0.3.0", merged, pr,
                                     json_pack("{s:{s:s}}", "repository", "id", repo), NULL));
                made += 2;
            }
            snprintf(art, sizeof art, "pkg:oci/%s@sha256%%3A%016" PRIx64, svc, next_rand());
            snprintf(chain, sizeof chain, "train-%d-%d", c - (coupled ? 1 : 0), k);
            gen_add(g, gen_event(&seq, k ? "service.upgraded" : "service.deployed", "0.3.0",
                                 t, svc,
                                 json_pack("{s:{s:s}, s:s}", "environment", "id", "production",
                                           "artifactId", art),
                                 c % 50 <= 1 ? chain : NULL));
            made++;
            uint64_t r = next_rand() % 100;
            if (r < 5) {
                snprintf(inc, sizeof inc, "INC-%zu", seq);
                int64_t t1 = t + (int64_t)(next_rand() % (uint64_t)(30 * HOUR_MS));
                gen_add(g, gen_event(&seq, "incident.detected", "0.3.0", t1, inc,
                                     json_pack("{s:{s:s}, s:{s:s}, s:s}", "environment", "id",
                                               "production", "service", "id", svc,
                                               "artifactId", art),
                                     NULL));
                gen_add(g, gen_event(&seq, "incident.resolved", "0.3.0",
                                     t1 + (int64_t)(next_rand() % (uint64_t)(8 * HOUR_MS)), inc,
                                     json_pack("{s:{s:s}, s:{s:s}}", "environment", "id",
                                               "production", "service", "id", svc),
                                     NULL));
                made += 2;
            } else if (r < 8) {
                gen_add(g, gen_event(&seq, "service.rolledback", "0.3.0", t + HOUR_MS, svc,
                                     json_pack("{s:{s:s}, s:s}", "environment", "id",
                                               "production", "artifactId", art),
                                     NULL));
                made++;
            }
        }
    }
    gen_flush(g);
    size_t total = g->total;
    free(g);
    return total;
}

static int64_t raw_count(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static volatile size_t scan_sink; /* keeps the raw scan's reads */

/* The floor: read the same columns of the same rows with raw sqlite3 on a
 * warm connection (same mmap and cache settings as the store's readers). */
static double raw_scan_ms(sqlite3 *db)
{
    const char *sqls[] = {
        ("SELECT link_id, kind, time_ms, env_id, artifact_id, chain_id, changes"
         " FROM delivery_service"),
        "SELECT link_id, subject_id, created_ms, merged_ms, claim_ms FROM delivery_changes",
        "SELECT link_id, subject_id, kind, time_ms, artifact_id FROM delivery_incidents",
    };
    double t0 = now_s();
    size_t bytes = 0;
    for (size_t q = 0; q < 3; q++) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, sqls[q], -1, &st, NULL) != SQLITE_OK)
            die("raw scan", sqlite3_errmsg(db));
        int nc = sqlite3_column_count(st);
        while (sqlite3_step(st) == SQLITE_ROW)
            for (int c = 0; c < nc; c++)
                bytes += (size_t)sqlite3_column_bytes(st, c);
        sqlite3_finalize(st);
    }
    scan_sink = bytes;
    return (now_s() - t0) * 1000;
}


/* The store's rows streamed into the delivery insight's collector, as the
 * HTTP layer connects them. */
static cw_err delivery_load(cw_store *s, const cw_delivery_query *q, cw_delivery_data *out,
                            cw_diag *d)
{
    cw_delivery_collector *c = NULL;
    memset(out, 0, sizeof *out);
    cw_err err = cw_delivery_collector_new(q, &c, d);
    if (!err)
        err = cw_store_delivery_scan(s, q, cw_delivery_collector_sink(), c, d);
    if (!err)
        err = cw_delivery_collector_finish(c, out, d);
    cw_delivery_collector_free(c);
    return err;
}

static void bench_insights(const char *dir, size_t target)
{
    char path[PATH_BUF];
    char name[64];
    snprintf(name, sizeof name, "insights-%zu.db", target);
    db_path(path, dir, name);
    printf("== insights ==\n");
    int64_t have = raw_count(path, "SELECT count(*) FROM events");
    if (have < (int64_t)(target * 9 / 10)) {
        remove_db(path);
        cw_store *s = open_store(path);
        put_catalog(s);
        double t0 = now_s();
        size_t n = generate_history(s, target);
        double dt = now_s() - t0;
        printf("generated %zu events in %.1f s (decode + store API, %.0f events/s)\n", n, dt,
               (double)n / dt);
        cw_store_close(s);
        have = (int64_t)n;
    } else {
        printf("reusing %s\n", path);
    }
    printf("events: %" PRId64 ", deployments: %" PRId64 ", components: %d, teams: %d\n", have,
           raw_count(path, "SELECT count(*) FROM delivery_service WHERE kind < 3"),
           NCOMP, NTEAMS);

    cw_store *s = open_store(path);
    sqlite3 *raw = NULL;
    if (sqlite3_open_v2(path, &raw, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        die(path, "raw open");
    sqlite3_exec(raw, "PRAGMA mmap_size=1073741824", NULL, NULL, NULL);
    sqlite3_exec(raw, "PRAGMA cache_size=-8192", NULL, NULL, NULL);
    cw_scope org = {CW_SCOPE_ORG, ""};
    int64_t to = raw_count(path, "SELECT max(time_ms) FROM events") + 1;
    double best_load = 1e9, best_dora = 1e9, best_json = 1e9, best_cload = 1e9, best_coup = 1e9,
           best_und = 1e9, best_scan = 1e9, best_team = 1e9;
    size_t ndeps = 0, nchanges = 0, nincs = 0, flagged = 0;
    for (int rep = 0; rep < 3; rep++) {
        cw_delivery_query q = {.scope = &org, .what = CW_DELIVERY_ALL};
        cw_delivery_data dd;
        cw_diag d = {""};
        double t0 = now_s();
        if (delivery_load(s, &q, &dd, &d))
            die("load", d.msg);
        double t1 = now_s();
        cw_dora_params p = {.from_ms = to - 90 * DAY_MS, .to_ms = to, .failure_window_hours = 24};
        cw_dora_result r;
        if (cw_dora_compute(&dd.in, &p, &r, &d))
            die("dora", d.msg);
        double t2 = now_s();
        json_t *j = NULL;
        cw_dora_to_json(&r, "org", &j);
        char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(12));
        double t3 = now_s();
        free(text);
        json_decref(j);
        cw_undeployed_result u;
        double t4 = now_s();
        if (cw_undeployed_compute(&dd.in, to, 50, &u, &d))
            die("undeployed", d.msg);
        double t5 = now_s();
        cw_undeployed_free(&u);
        ndeps = dd.in.ndeployments;
        nchanges = dd.in.nchanges;
        nincs = dd.in.nincidents;
        cw_dora_result_free(&r);
        cw_delivery_data_free(&dd);

        q.what = CW_DELIVERY_DEPLOYMENTS;
        double c0 = now_s();
        if (delivery_load(s, &q, &dd, &d))
            die("load", d.msg);
        double c1 = now_s();
        cw_coupling_params cp = {.from_ms = to - 90 * DAY_MS, .to_ms = to, .window_ms = 15 * 60000,
                                 .min_together = 5, .min_confidence = 0.8, .limit = 100};
        cw_coupling_result cr;
        if (cw_coupling_compute(&dd.in, &cp, &cr, &d))
            die("coupling", d.msg);
        double c2 = now_s();
        flagged = cr.flagged_pairs;
        cw_coupling_free(&cr);
        cw_delivery_data_free(&dd);

        cw_scope team = {CW_SCOPE_GROUP, "group:default/team-03"};
        q.scope = &team;
        q.what = CW_DELIVERY_ALL;
        double g0 = now_s();
        if (delivery_load(s, &q, &dd, &d) || cw_dora_compute(&dd.in, &p, &r, &d))
            die("team", d.msg);
        double g1 = now_s();
        cw_dora_result_free(&r);
        cw_delivery_data_free(&dd);

        double scan = raw_scan_ms(raw);
        best_load = MIN(best_load, (t1 - t0) * 1000);
        best_dora = MIN(best_dora, (t2 - t1) * 1000);
        best_json = MIN(best_json, (t3 - t2) * 1000);
        best_und = MIN(best_und, (t5 - t4) * 1000);
        best_cload = MIN(best_cload, (c1 - c0) * 1000);
        best_coup = MIN(best_coup, (c2 - c1) * 1000);
        best_team = MIN(best_team, (g1 - g0) * 1000);
        best_scan = MIN(best_scan, scan);
    }
    printf("inputs: %zu production deployments, %zu changes, %zu incidents\n", ndeps, nchanges,
           nincs);
    printf("raw sqlite scan of the same columns (floor):     %8.1f ms\n", best_scan);
    printf("DORA org: load %.1f ms + compute %.1f ms + JSON %.1f ms = %8.1f ms  (load = %.2f x raw scan)\n",
           best_load, best_dora, best_json, best_load + best_dora + best_json,
           best_load / best_scan);
    printf("undeployed org (same inputs): compute              %8.1f ms\n", best_und);
    printf("coupling org: load deployments %.1f ms + compute %.1f ms = %8.1f ms  (%zu flagged pairs)\n",
           best_cload, best_coup, best_cload + best_coup, flagged);
    printf("DORA one team (10 components): load + compute      %8.1f ms\n", best_team);
    sqlite3_close(raw);
    cw_store_close(s);
}

int main(int argc, char **argv)
{
    const char *mode = "all", *dir = NULL;
    size_t nevents = 1000000, nsingle = 8000, nbulk = 50000, nrawtx = 1000, reps = 5;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--dir") && v)
            dir = argv[++i];
        else if (!strcmp(a, "--events") && v)
            nevents = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--single") && v)
            nsingle = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--bulk") && v)
            nbulk = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--raw-tx") && v)
            nrawtx = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--reps") && v)
            reps = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--stagger") && v)
            stagger_ms = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--reconnect"))
            reconnect_each = true;
        else if (a[0] != '-')
            mode = a;
        else
            die("usage", "bench_events [intake|insights|all] [--dir DIR] [--events N] "
                         "[--single N] [--bulk N] [--raw-tx N] [--reps N] [--stagger MS] "
                         "[--reconnect]");
    }
    if (nsingle < CLIENTS || nbulk == 0 || nevents < 1000 || nrawtx == 0 || reps == 0 ||
        reps > MAX_REPS)
        die("usage", "sizes too small");
    char tmp[4096];
    if (!dir) {
        const char *t = getenv("TMPDIR");
        snprintf(tmp, sizeof tmp, "%s/conway-bench-events-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(tmp))
            die("mkdtemp", strerror(errno));
        dir = tmp;
    } else {
        mkdir(dir, 0700);
    }
    cw_log_set_level(CW_LOG_WARN);
    printf("bench_events: databases in %s\n", dir);
    if (!strcmp(mode, "intake") || !strcmp(mode, "all"))
        bench_intake(dir, nsingle, nbulk, nrawtx, reps);
    if (!strcmp(mode, "insights") || !strcmp(mode, "all"))
        bench_insights(dir, nevents);
    if (!strcmp(mode, "cpu"))
        bench_cpu(nbulk, reps);
    return 0;
}
