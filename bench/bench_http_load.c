/*
 * bench_http_load.c — an open-loop HTTP/1.1 load generator: a server's
 * latency at a fixed request rate, for bench/heartbeats.sh. It replaces a
 * Node.js client whose own timers and event loop (about 1 ms at p50 on a
 * 2-CPU machine) were part of the figures; this one is a single thread on
 * one epoll loop and costs a few system calls per request.
 *
 * Open loop, no coordinated omission: request i of a phase is due at
 * t0 + i/R (CLOCK_MONOTONIC, ns; a timerfd armed with TFD_TIMER_ABSTIME at
 * the next due time), and its latency runs from that due time to the last
 * byte of its response, whatever delayed the sending. A due request goes
 * out at once on an idle keep-alive connection (used in turn, oldest idle
 * first, so each stays warm and a server with a thread pool sees all of
 * them); when none is idle it waits in a FIFO ring of 65,536 requests, and
 * a request that finds the ring full is an error ("backlog"), so a server
 * far behind costs bounded memory.
 *
 * Phases: a warm-up of --warmup s (not recorded), a wait until nothing is
 * in flight, the measured phase of --measure s (due times start again at
 * its start), a wait for what is in flight (at most 30 s; what is left
 * then is an error, "unfinished after 30 s"). The measured phase's elapsed
 * time, rates and CPU shares include that last wait.
 *
 * Requests: without --paths every one is GET /healthz. With --paths FILE
 * (one path a line, read whole at start) request number i (counted from
 * the start of the run) takes the line the splitmix64 hash of a fixed seed
 * plus i picks: the same sequence in every run. With --post-every-other,
 * requests with i % 4 >= 2 are POSTs of the body "run <i> ok\n"
 * (Content-Type text/plain).
 *
 * Responses: status line, headers (Content-Length; Connection: close, after
 * which the connection is opened again; Transfer-Encoding: chunked, decoded;
 * an interim 1xx skipped), the body by its length. A response without a
 * length (a body read until close) is refused as an error, as is one over
 * 64 KiB (head and body). A status other than 200, or a body other than
 * --expect, is an error; the first 3 errors of each phase are printed to
 * stderr. A connection the server closes or resets makes its request in
 * flight an error ("connection closed", "recv: ..."); it is opened again
 * and the run goes on.
 *
 * Output: one line of JSON on stdout, for the measured phase:
 *   sent          requests due in the measured phase
 *   answered      complete responses, whatever their status (the latencies)
 *   elapsed_s     measured phase plus its final wait
 *   rate, answered_per_s   the target rate; answered / elapsed_s
 *   p50_ms p90_ms p99_ms p999_ms max_ms   sorted[min(n-1, floor(p/100*n))]
 *   errors, error_kinds    failed requests, by kind ("status 404", "backlog")
 *   in_flight_max requests due and not answered (queued or sent), at most
 *   reconnects    connections opened again (Connection: close, losses)
 *   connections   --connections
 *   server_cpu    CPU share of --pid (utime+stime of /proc/PID/stat), or null
 *   client_cpu    this process's CPU share (getrusage)
 * Progress and errors go to stderr.
 *
 * Usage: bench_http_load --url http://IPV4:PORT --rate R [--warmup S]
 *                        --measure S [--connections C] [--pid PID]
 *                        [--paths FILE] [--expect TEXT] [--post-every-other]
 *                        [--timeline]
 * Exit status: 0 when the run completed (request errors are in the JSON),
 * 1 on a setup error (a value refused, a file unreadable, no connection),
 * 2 on a usage error (an unknown or missing option).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* the build defines it; a bare compile needs memmem, getopt_long */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "util/err.h"

#define NS_PER_S 1000000000ull
#define DEFAULT_CONNECTIONS 48u
#define MAX_CONNECTIONS 1024u
#define IN_MAX (64 * 1024)            /* one response, head and body */
#define PATH_MAX_LEN 2048             /* one line of --paths */
#define OUT_MAX (PATH_MAX_LEN + 256)  /* one request: the path plus fixed text */
#define PATHS_FILE_MAX (256u << 20)
#define QUEUE_CAP (1u << 16)          /* requests waiting for a connection; a power of 2 */
#define SAMPLES_MAX (16u << 20)       /* latencies kept: 192 MiB with their seconds */
#define DRAIN_NS (30 * NS_PER_S)
#define CONNECT_NS (5 * NS_PER_S)
#define RETRY_NS (100 * 1000000ull)   /* between attempts to connect again */
#define KINDS_MAX 32
#define SHOWN_MAX 3                   /* request errors printed */
#define NOTES_MAX 10                  /* other warnings printed */
#define PATH_SEED 0x2545f4914f6cdd1dull
#define TIMER_ID UINT64_MAX           /* epoll data of the timerfd */

static void usage(FILE *f)
{
    fputs("usage: bench_http_load --url http://IPV4:PORT --rate R [--warmup S] --measure S\n"
          "                       [--connections C] [--pid PID] [--paths FILE]\n"
          "                       [--expect TEXT] [--post-every-other] [--timeline]\n"
          "\n"
          "Open-loop HTTP/1.1 load at R requests/s over C keep-alive connections; latency\n"
          "from the moment each request was due. Prints one line of JSON on stdout.\n"
          "\n"
          "  --url URL            plain http to an IPv4 address and port (no https, no\n"
          "                       host name, no path)\n"
          "  --rate R             requests per second (0 < R <= 1000000)\n"
          "  --warmup S           seconds of load before measuring, not recorded (default 0)\n"
          "  --measure S          seconds of measured load\n"
          "  --connections C      keep-alive connections opened at start (default 48)\n"
          "  --pid PID            report this process's CPU share too (the server's)\n"
          "  --paths FILE         request paths, one a line, picked at random with a fixed\n"
          "                       seed (default: every request is GET /healthz)\n"
          "  --expect TEXT        a 200 response whose body is not TEXT is an error\n"
          "  --post-every-other   with --paths: request i with i % 4 >= 2 is a POST of\n"
          "                       \"run <i> ok\\n\"\n"
          "  --timeline           per-second p50, p99, max and count over 5 ms on stderr\n"
          "  --help               this text\n"
          "\n"
          "Exit status: 0 when the run completed (request errors are in the JSON), 1 on a\n"
          "setup error, 2 on a usage error.\n",
          f);
}

/* ---- configuration ------------------------------------------------------------------------ */

/* The command line as given; values are checked by check_config. */
typedef struct {
    const char *url, *rate, *warmup, *measure, *connections, *pid, *paths, *expect;
    bool post_mix, timeline, help;
} args;

typedef struct {
    struct sockaddr_in addr;
    char host[32]; /* Host header: "127.0.0.1:8080" */
    double rate;
    uint64_t warmup_ns, measure_ns;
    unsigned nconn;
    pid_t pid; /* 0: none */
    const char *paths_file, *expect;
    size_t expect_len;
    bool post_mix;
    bool timeline; /* per-second figures on stderr */
} config;

static cw_err parse_args(int argc, char **argv, args *a, cw_diag *d)
{
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},
        {"rate", required_argument, NULL, 'r'},
        {"warmup", required_argument, NULL, 'w'},
        {"measure", required_argument, NULL, 'm'},
        {"connections", required_argument, NULL, 'c'},
        {"pid", required_argument, NULL, 'p'},
        {"paths", required_argument, NULL, 'f'},
        {"expect", required_argument, NULL, 'e'},
        {"post-every-other", no_argument, NULL, 'P'},
        {"timeline", no_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'u': a->url = optarg; break;
        case 'r': a->rate = optarg; break;
        case 'w': a->warmup = optarg; break;
        case 'm': a->measure = optarg; break;
        case 'c': a->connections = optarg; break;
        case 'p': a->pid = optarg; break;
        case 'f': a->paths = optarg; break;
        case 'e': a->expect = optarg; break;
        case 'P': a->post_mix = true; break;
        case 't': a->timeline = true; break;
        case 'h': a->help = true; return CW_OK;
        default: return cw_fail(d, CW_ERR_INVALID, "bad command line"); /* getopt said why */
        }
    }
    if (optind < argc)
        return cw_fail(d, CW_ERR_INVALID, "unexpected argument '%s'", argv[optind]);
    if (!a->url || !a->rate || !a->measure)
        return cw_fail(d, CW_ERR_INVALID, "--url, --rate and --measure are required");
    if (a->post_mix && !a->paths)
        return cw_fail(d, CW_ERR_INVALID, "--post-every-other needs --paths");
    return CW_OK;
}

static cw_err parse_real(const char *name, const char *text, double min, double max, double *out,
                         cw_diag *d)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end || errno || !(v >= min && v <= max))
        return cw_fail(d, CW_ERR_INVALID, "--%s '%s': expected a number from %g to %g", name, text,
                       min, max);
    *out = v;
    return CW_OK;
}

static cw_err parse_count(const char *name, const char *text, unsigned long long min,
                          unsigned long long max, unsigned long long *out, cw_diag *d)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end || errno || v < min || v > max)
        return cw_fail(d, CW_ERR_INVALID, "--%s '%s': expected a whole number from %llu to %llu",
                       name, text, min, max);
    *out = v;
    return CW_OK;
}

/* Only http://A.B.C.D:PORT, with an optional "/": plain HTTP to an
 * address, no TLS, no name resolution, no base path. */
static cw_err parse_url(const char *url, config *cfg, cw_diag *d)
{
    const char *p = strncmp(url, "http://", 7) == 0 ? url + 7 : NULL;
    const char *colon = p ? strchr(p, ':') : NULL;
    char ip[16];
    if (!colon || colon - p >= (ptrdiff_t)sizeof ip)
        return cw_fail(d, CW_ERR_INVALID,
                       "--url '%s': only http://IPV4:PORT is supported (no https, no host name)",
                       url);
    memcpy(ip, p, (size_t)(colon - p));
    ip[colon - p] = '\0';
    if (inet_pton(AF_INET, ip, &cfg->addr.sin_addr) != 1)
        return cw_fail(d, CW_ERR_INVALID, "--url '%s': '%s' is not an IPv4 address", url, ip);
    char *end;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || errno || port < 1 || port > 65535 ||
        (*end && strcmp(end, "/") != 0))
        return cw_fail(d, CW_ERR_INVALID, "--url '%s': expected a port (1-65535) and no path",
                       url);
    cfg->addr.sin_family = AF_INET;
    cfg->addr.sin_port = htons((uint16_t)port);
    snprintf(cfg->host, sizeof cfg->host, "%s:%lu", ip, port);
    return CW_OK;
}

static cw_err check_config(const args *a, config *cfg, cw_diag *d)
{
    double warmup = 0, measure = 0;
    unsigned long long nconn = DEFAULT_CONNECTIONS, pid = 0;
    memset(cfg, 0, sizeof *cfg);
    cw_err err = parse_url(a->url, cfg, d);
    if (!err)
        err = parse_real("rate", a->rate, 1e-3, 1e6, &cfg->rate, d);
    if (!err && a->warmup)
        err = parse_real("warmup", a->warmup, 0, 3600, &warmup, d);
    if (!err)
        err = parse_real("measure", a->measure, 1e-3, 3600, &measure, d);
    if (!err && a->connections)
        err = parse_count("connections", a->connections, 1, MAX_CONNECTIONS, &nconn, d);
    if (!err && a->pid)
        err = parse_count("pid", a->pid, 1, INT32_MAX, &pid, d);
    if (!err && cfg->rate * measure * 1.1 + 1024 > SAMPLES_MAX)
        err = cw_fail(d, CW_ERR_INVALID, "--rate x --measure: at most %u requests measured",
                      (unsigned)((SAMPLES_MAX - 1024) / 1.1));
    if (!err && a->expect && strlen(a->expect) > IN_MAX)
        err = cw_fail(d, CW_ERR_INVALID, "--expect: longer than a response may be (64 KiB)");
    if (err)
        return err;
    cfg->warmup_ns = (uint64_t)(warmup * 1e9 + 0.5);
    cfg->measure_ns = (uint64_t)(measure * 1e9 + 0.5);
    cfg->nconn = (unsigned)nconn;
    cfg->pid = (pid_t)pid;
    cfg->paths_file = a->paths;
    cfg->expect = a->expect;
    cfg->expect_len = a->expect ? strlen(a->expect) : 0;
    cfg->post_mix = a->post_mix;
    cfg->timeline = a->timeline;
    return CW_OK;
}

/* ---- state -------------------------------------------------------------------------------- */

typedef enum { CONN_CLOSED, CONN_CONNECTING, CONN_IDLE, CONN_BUSY } conn_state;

typedef struct {
    uint64_t due; /* CLOCK_MONOTONIC ns it was due at: its latency starts there */
    uint64_t seq; /* request number since the start: picks path, method and body */
    bool measured;
} request;

typedef struct {
    int fd;
    uint32_t gen;       /* bumped at each close: epoll events of an old socket are ignored */
    conn_state state;
    bool in_idle;       /* has an entry in the idle ring (stale when not CONN_IDLE) */
    bool want_out;      /* EPOLLOUT is in the interest set */
    bool served;        /* this socket has answered: a loss reconnects at once */
    uint64_t retry_at;  /* CONN_CLOSED: next attempt to connect */
    request req;        /* CONN_BUSY: the request in flight */
    size_t out_len, out_off;
    size_t in_len;
    /* the response head, once parsed (head_len > 0) */
    size_t head_len;
    int status;
    long long body_len; /* -1: chunked */
    bool close;         /* the server closes the connection after this response */
    char out[OUT_MAX];
    char in[IN_MAX];
} conn;

typedef enum { PH_WARMUP, PH_WARMUP_DRAIN, PH_MEASURE, PH_MEASURE_DRAIN, PH_DONE } phase;

typedef struct {
    char name[80];
    uint64_t n;
} error_kind;

typedef struct {
    config cfg;
    char *path_text; /* owns the bytes of --paths; paths point into it */
    char **paths;
    size_t npaths;
    int ep, tfd;
    conn *conns;
    uint32_t *idle; /* ring of connection numbers, oldest idle first */
    uint32_t idle_head, idle_n;
    request *queue; /* ring of requests due while no connection was idle */
    uint32_t q_head, q_n;
    uint32_t busy, nclosed;
    phase ph;
    uint64_t t0, end, idx, seq, deadline, armed;
    double interval_ns;
    /* the measured phase */
    uint64_t *lat;     /* latencies in ns */
    uint32_t *lat_sec; /* the second of the phase each was due in (--timeline) */
    size_t nlat, lat_cap;
    uint64_t sent, answered, errors, reconnects;
    uint32_t in_flight_max;
    error_kind kinds[KINDS_MAX];
    size_t nkinds;
    uint64_t t_measure, t_done, self0, self1, srv0, srv1;
    bool srv_ok;
    /* the warm-up, for stderr */
    uint64_t warm_sent, warm_answered, warm_errors;
    unsigned shown, notes;
} loadgen;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t self_cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * NS_PER_S +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
}

/* utime + stime of a process, in clock ticks, from /proc/PID/stat. The
 * command name (field 2) may hold spaces and parentheses: the fields are
 * counted after its last ')'. */
static cw_err proc_cpu_ticks(pid_t pid, uint64_t *ticks, cw_diag *d)
{
    char file[48], buf[4096];
    snprintf(file, sizeof file, "/proc/%d/stat", (int)pid);
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cw_fail(d, CW_ERR_IO, "%s: %s", file, strerror(errno));
    ssize_t n = read(fd, buf, sizeof buf - 1);
    int e = errno;
    close(fd);
    if (n <= 0)
        return cw_fail(d, CW_ERR_IO, "%s: %s", file, n < 0 ? strerror(e) : "empty");
    buf[n] = '\0';
    /* after ')': the state (field 3), ..., utime (14), stime (15); p ends
     * on the space before utime */
    const char *p = strrchr(buf, ')');
    for (int field = 3; p && field <= 14; field++)
        p = strchr(p + 1, ' ');
    if (p) {
        char *end1, *end2;
        unsigned long long utime = strtoull(p, &end1, 10), stime = strtoull(end1, &end2, 10);
        if (end1 != p && end2 != end1) {
            *ticks = utime + stime;
            return CW_OK;
        }
    }
    return cw_fail(d, CW_ERR_IO, "%s: no utime/stime fields", file);
}

/* Warnings that are not request errors (reconnects, stray bytes): the
 * first NOTES_MAX on stderr. */
static void note(loadgen *lg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(loadgen *lg, const char *fmt, ...)
{
    if (lg->notes >= NOTES_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("bench_http_load: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(++lg->notes == NOTES_MAX ? " (further warnings not shown)\n" : "\n", stderr);
    va_end(ap);
}

/* ---- requests ----------------------------------------------------------------------------- */

/* A hash of the request number, not a generator's state: the same path
 * for request i in every run, and nothing to keep. */
static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static const char *path_of(const loadgen *lg, uint64_t seq)
{
    return lg->npaths ? lg->paths[splitmix64(PATH_SEED + seq) % lg->npaths] : "/healthz";
}

static bool is_post(const loadgen *lg, uint64_t seq)
{
    return lg->cfg.post_mix && seq % 4 >= 2;
}

/* Reads --paths whole: lines of at most PATH_MAX_LEN bytes, each starting
 * with '/' and without spaces or control characters (they would break the
 * request line); empty lines are skipped. On success lg owns the text. */
static cw_err load_paths(loadgen *lg, const char *file, cw_diag *d)
{
    cw_err err = CW_OK;
    char *text = NULL, **paths = NULL;
    size_t len = 0, cap = 0, n = 0, lineno = 0;
    FILE *f = fopen(file, "rb");
    if (!f)
        return cw_fail(d, CW_ERR_IO, "--paths %s: %s", file, strerror(errno));
    for (;;) {
        if (cap - len < 2) {
            if (cap >= PATHS_FILE_MAX) {
                err = cw_fail(d, CW_ERR_TOO_LARGE, "--paths %s: over 256 MiB", file);
                goto out;
            }
            size_t ncap = cap ? cap * 2 : (size_t)1 << 16;
            char *t = realloc(text, ncap);
            if (!t) {
                err = cw_fail(d, CW_ERR_NOMEM, "--paths %s: out of memory", file);
                goto out;
            }
            text = t;
            cap = ncap;
        }
        size_t got = fread(text + len, 1, cap - len - 1, f);
        len += got;
        if (!got)
            break;
    }
    if (ferror(f)) {
        err = cw_fail(d, CW_ERR_IO, "--paths %s: read error", file);
        goto out;
    }
    text[len] = '\0';
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    paths = malloc(lines * sizeof *paths);
    if (!paths) {
        err = cw_fail(d, CW_ERR_NOMEM, "--paths %s: out of memory", file);
        goto out;
    }
    for (char *p = text, *nl;; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(text + len - p));
        char *e = nl ? nl : text + len;
        lineno++;
        if (e > p && e[-1] == '\r')
            e--;
        size_t l = (size_t)(e - p);
        bool ok = !l || (p[0] == '/' && l <= PATH_MAX_LEN);
        for (size_t i = 0; ok && i < l; i++)
            ok = (unsigned char)p[i] > 0x20 && p[i] != 0x7f;
        if (!ok) {
            err = cw_fail(d, CW_ERR_INVALID,
                          "--paths %s:%zu: not a request path (a '/', at most %d bytes, no "
                          "spaces or control characters)",
                          file, lineno, PATH_MAX_LEN);
            goto out;
        }
        if (l) {
            *e = '\0';
            paths[n++] = p;
        }
        if (!nl)
            break;
    }
    if (!n) {
        err = cw_fail(d, CW_ERR_INVALID, "--paths %s: no paths", file);
        goto out;
    }
    lg->path_text = text;
    lg->paths = paths;
    lg->npaths = n;
    text = NULL;
    paths = NULL;
out:
    fclose(f);
    free(text);
    free(paths);
    return err;
}

static void add_kind(loadgen *lg, const char *kind)
{
    size_t i = 0;
    while (i < lg->nkinds && strcmp(lg->kinds[i].name, kind) != 0)
        i++;
    if (i == lg->nkinds) {
        if (i >= KINDS_MAX - 1) { /* no room: the last slot, "other", takes the rest */
            i = KINDS_MAX - 1;
            kind = "other";
        }
        if (i == lg->nkinds) {
            snprintf(lg->kinds[i].name, sizeof lg->kinds[i].name, "%s", kind);
            lg->nkinds++;
        }
    }
    lg->kinds[i].n++;
}

/* A request failed: counted (in the measured phase), and the first
 * SHOWN_MAX of a phase printed with what the server said, if anything. */
static void count_error(loadgen *lg, const request *r, const char *kind, const char *body,
                        size_t blen)
{
    if (r->measured) {
        lg->errors++;
        add_kind(lg, kind);
    } else
        lg->warm_errors++;
    if (lg->shown >= SHOWN_MAX)
        return;
    char text[121];
    size_t n = blen < sizeof text - 1 ? blen : sizeof text - 1;
    for (size_t i = 0; i < n; i++)
        text[i] = (unsigned char)body[i] >= 0x20 && body[i] != 0x7f ? body[i] : '.';
    text[n] = '\0';
    fprintf(stderr, "bench_http_load: %s: %s %s: %s%s%s%s\n",
            r->measured ? "error" : "error (warm-up)", is_post(lg, r->seq) ? "POST" : "GET",
            path_of(lg, r->seq), kind, n ? ": " : "", text, blen > n ? "..." : "");
    if (++lg->shown == SHOWN_MAX)
        fputs("bench_http_load: further errors are only counted\n", stderr);
}

/* ---- connections -------------------------------------------------------------------------- */

static uint64_t conn_id(const loadgen *lg, const conn *c)
{
    return (uint64_t)c->gen << 32 | (uint64_t)(c - lg->conns);
}

static void watch(loadgen *lg, conn *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.u64 = conn_id(lg, c)};
    if (epoll_ctl(lg->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
        note(lg, "epoll_ctl: %s", strerror(errno));
    c->want_out = events & EPOLLOUT;
}

/* Starts a non-blocking connect; c becomes CONN_CONNECTING even when the
 * connect completed at once, so that nothing is sent from inside this call
 * (EPOLLOUT reports it). c stays CONN_CLOSED on failure. */
static cw_err conn_open(loadgen *lg, conn *c, cw_diag *d)
{
    cw_err err = CW_OK;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return cw_fail(d, CW_ERR_IO, "socket: %s", strerror(errno));
    /* a request is one small write: no waiting for an ACK to send it */
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
        err = cw_fail(d, CW_ERR_IO, "TCP_NODELAY: %s", strerror(errno));
        goto out;
    }
    if (connect(fd, (const struct sockaddr *)&lg->cfg.addr, sizeof lg->cfg.addr) != 0 &&
        errno != EINPROGRESS) {
        err = cw_fail(d, CW_ERR_IO, "connect to %s: %s", lg->cfg.host, strerror(errno));
        goto out;
    }
    c->fd = fd;
    struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = conn_id(lg, c)};
    if (epoll_ctl(lg->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        c->fd = -1;
        err = cw_fail(d, CW_ERR_IO, "epoll_ctl: %s", strerror(errno));
        goto out;
    }
    fd = -1;
    c->state = CONN_CONNECTING;
    c->want_out = true;
    lg->nclosed--;
out:
    if (fd >= 0)
        close(fd);
    return err;
}

static void conn_close(loadgen *lg, conn *c)
{
    if (c->state == CONN_CLOSED)
        return;
    if (c->fd >= 0)
        close(c->fd); /* leaves the epoll set with it */
    c->fd = -1;
    c->gen++;
    c->state = CONN_CLOSED;
    c->want_out = c->served = false;
    c->in_len = c->head_len = c->out_len = c->out_off = 0;
    c->retry_at = 0;
    lg->nclosed++;
}

static void arm_at(loadgen *lg, uint64_t t)
{
    if (t == lg->armed)
        return;
    struct itimerspec its = {.it_value = {.tv_sec = (time_t)(t / NS_PER_S),
                                          .tv_nsec = (long)(t % NS_PER_S)}};
    if (timerfd_settime(lg->tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
        note(lg, "timerfd_settime: %s", strerror(errno));
    lg->armed = t;
}

/* Never moves the timer later: an expiry not yet handled stays due. */
static void arm_earlier(loadgen *lg, uint64_t t)
{
    if (!lg->armed || t < lg->armed)
        arm_at(lg, t);
}

/* c is lost or done with: closed, and opened again, at once when the
 * socket had served (Connection: close, a reset after use), else after
 * RETRY_NS, so that a server refusing connections is not hammered. */
static void conn_reopen(loadgen *lg, conn *c)
{
    bool at_once = c->served;
    conn_close(lg, c);
    if (lg->ph == PH_MEASURE || lg->ph == PH_MEASURE_DRAIN)
        lg->reconnects++;
    cw_diag d = {""};
    if (at_once && conn_open(lg, c, &d) == CW_OK)
        return;
    if (at_once)
        note(lg, "%s", d.msg);
    c->retry_at = now_ns() + RETRY_NS;
    arm_earlier(lg, c->retry_at);
}

/* The connection failed: its request in flight, if any, is an error. */
static void conn_drop(loadgen *lg, conn *c, const char *kind)
{
    if (c->state == CONN_BUSY) {
        lg->busy--;
        count_error(lg, &c->req, kind, NULL, 0);
    }
    conn_reopen(lg, c);
}

/* Sends what is left of c's request, or waits for EPOLLOUT when the socket
 * buffer is full (requests are small: practically never). */
static void flush(loadgen *lg, conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n >= 0) {
            c->out_off += (size_t)n;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (!c->want_out)
                watch(lg, c, EPOLLIN | EPOLLOUT);
            return;
        } else if (errno != EINTR) {
            char kind[64];
            snprintf(kind, sizeof kind, "send: %s", strerror(errno));
            conn_drop(lg, c, kind);
            return;
        }
    }
    if (c->want_out)
        watch(lg, c, EPOLLIN);
}

static void send_request(loadgen *lg, conn *c, const request *r)
{
    const char *path = path_of(lg, r->seq);
    int n;
    if (is_post(lg, r->seq)) {
        char body[40];
        int blen = snprintf(body, sizeof body, "run %" PRIu64 " ok\n", r->seq);
        n = snprintf(c->out, sizeof c->out,
                     "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\n"
                     "Content-Length: %d\r\n\r\n%s",
                     path, lg->cfg.host, blen, body);
    } else
        n = snprintf(c->out, sizeof c->out, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path,
                     lg->cfg.host);
    /* paths are at most PATH_MAX_LEN bytes (load_paths): a request fits */
    c->out_len = (size_t)n;
    c->out_off = 0;
    c->in_len = c->head_len = 0;
    c->req = *r;
    c->state = CONN_BUSY;
    lg->busy++;
    flush(lg, c);
}

/* c is free: it takes the oldest waiting request, or joins the idle ring
 * (each connection at most once in it: the ring never overflows). */
static void conn_idle(loadgen *lg, conn *c)
{
    c->state = CONN_IDLE;
    if (lg->q_n) {
        request r = lg->queue[lg->q_head];
        lg->q_head = (lg->q_head + 1) & (QUEUE_CAP - 1);
        lg->q_n--;
        send_request(lg, c, &r);
    } else if (!c->in_idle) {
        lg->idle[(lg->idle_head + lg->idle_n) % lg->cfg.nconn] = (uint32_t)(c - lg->conns);
        lg->idle_n++;
        c->in_idle = true;
    }
}

/* The idle connection that waited longest, or NULL. Entries of connections
 * lost while idle are skipped here rather than removed when lost. */
static conn *idle_pop(loadgen *lg)
{
    while (lg->idle_n) {
        conn *c = &lg->conns[lg->idle[lg->idle_head]];
        lg->idle_head = (lg->idle_head + 1) % lg->cfg.nconn;
        lg->idle_n--;
        c->in_idle = false;
        if (c->state == CONN_IDLE)
            return c;
    }
    return NULL;
}

static cw_err connect_done(loadgen *lg, conn *c, cw_diag *d)
{
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
        soerr = errno;
    if (soerr) {
        conn_close(lg, c);
        return cw_fail(d, CW_ERR_IO, "connect to %s: %s", lg->cfg.host, strerror(soerr));
    }
    watch(lg, c, EPOLLIN);
    conn_idle(lg, c);
    return CW_OK;
}

/* ---- responses ---------------------------------------------------------------------------- */

typedef enum { RESP_MORE, RESP_DONE, RESP_BAD } resp_state;

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* Whether the comma-separated header value v[0..n) holds tok. */
static bool has_token(const char *v, size_t n, const char *tok)
{
    size_t tl = strlen(tok), i = 0;
    while (i < n) {
        while (i < n && (is_space(v[i]) || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && is_space(v[e - 1]))
            e--;
        if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
            return true;
    }
    return false;
}

static bool header_is(const char *name, size_t n, const char *want)
{
    return n == strlen(want) && strncasecmp(name, want, n) == 0;
}

/* Parses the status line and headers once the head is all in; skips
 * interim 1xx responses. Fills c->head_len, status, body_len, close. */
static resp_state parse_head(conn *c, const char **why)
{
    for (;;) {
        char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
        if (!end)
            return RESP_MORE;
        size_t head_len = (size_t)(end - c->in) + 4;
        const char *p = c->in, *lim = end + 2; /* each line up to lim ends in "\r\n" */
        /* "HTTP/1.x SSS[ reason]" */
        if (end - p < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9' ||
            p[8] != ' ' || p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' ||
            p[11] < '0' || p[11] > '9' || (p[12] != ' ' && p[12] != '\r')) {
            *why = "bad status line";
            return RESP_BAD;
        }
        int status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
        bool http10 = p[7] == '0', chunked = false, closes = false, keep_alive = false;
        long long length = -1;
        const char *line = (const char *)memchr(p, '\n', (size_t)(lim - p)) + 1;
        while (line < lim) {
            const char *eol = memmem(line, (size_t)(lim - line), "\r\n", 2);
            const char *colon = memchr(line, ':', (size_t)(eol - line));
            if (!colon) {
                *why = "bad header line";
                return RESP_BAD;
            }
            size_t nlen = (size_t)(colon - line);
            const char *v = colon + 1, *ve = eol;
            while (v < ve && is_space(*v))
                v++;
            while (ve > v && is_space(ve[-1]))
                ve--;
            size_t vlen = (size_t)(ve - v);
            if (header_is(line, nlen, "content-length")) {
                length = vlen ? 0 : -1;
                for (size_t i = 0; i < vlen && length >= 0; i++)
                    length = v[i] >= '0' && v[i] <= '9' && length < (1ll << 40)
                                 ? length * 10 + (v[i] - '0')
                                 : -1;
                if (length < 0) {
                    *why = "bad Content-Length";
                    return RESP_BAD;
                }
            } else if (header_is(line, nlen, "transfer-encoding")) {
                if (vlen == 7 && strncasecmp(v, "chunked", 7) == 0)
                    chunked = true;
                else if (!(vlen == 8 && strncasecmp(v, "identity", 8) == 0)) {
                    *why = "unsupported Transfer-Encoding";
                    return RESP_BAD;
                }
            } else if (header_is(line, nlen, "connection")) {
                closes = closes || has_token(v, vlen, "close");
                keep_alive = keep_alive || has_token(v, vlen, "keep-alive");
            }
            line = eol + 2;
        }
        if (status / 100 == 1 && status != 101) { /* interim: the real answer follows */
            memmove(c->in, c->in + head_len, c->in_len - head_len);
            c->in_len -= head_len;
            continue;
        }
        if (status == 204 || status == 304)
            length = 0;
        if (!chunked && length < 0) {
            *why = "no Content-Length (a body read until close is not supported)";
            return RESP_BAD;
        }
        if (!chunked && (unsigned long long)length > IN_MAX - head_len) {
            *why = "response over 64 KiB";
            return RESP_BAD;
        }
        c->head_len = head_len;
        c->status = status;
        c->body_len = chunked ? -1 : length;
        c->close = closes || (http10 && !keep_alive);
        return RESP_DONE;
    }
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Walks a chunked body in p[0..n): RESP_MORE until the last chunk and the
 * trailer section are in, then *consumed (its encoded size) and *len (its
 * decoded size). With decode, moves the chunks' data together at p (once
 * the body is complete: that destroys the framing). */
static resp_state chunked_body(char *p, size_t n, bool decode, size_t *consumed, size_t *len,
                               const char **why)
{
    size_t i = 0, out = 0;
    for (;;) {
        size_t size = 0, digits = 0;
        for (int h; i < n && (h = hex_value(p[i])) >= 0; i++) {
            if (++digits > 8) {
                *why = "chunk size too large";
                return RESP_BAD;
            }
            size = size * 16 + (size_t)h;
        }
        char *nl = memchr(p + i, '\n', n - i); /* after any chunk extension */
        if (!nl)
            return RESP_MORE;
        if (!digits || nl == p + i || nl[-1] != '\r') {
            *why = "bad chunk size line";
            return RESP_BAD;
        }
        i = (size_t)(nl - p) + 1;
        if (!size)
            break;
        if (n - i < size + 2)
            return RESP_MORE;
        if (p[i + size] != '\r' || p[i + size + 1] != '\n') {
            *why = "chunk not followed by CRLF";
            return RESP_BAD;
        }
        if (decode)
            memmove(p + out, p + i, size); /* out < i: nothing unread is overwritten */
        out += size;
        i += size + 2;
    }
    for (;;) { /* trailer fields, up to an empty line */
        char *nl = memchr(p + i, '\n', n - i);
        if (!nl)
            return RESP_MORE;
        size_t l = (size_t)(nl - (p + i));
        if (!l || nl[-1] != '\r') {
            *why = "bad chunked trailer";
            return RESP_BAD;
        }
        i += l + 1;
        if (l == 1)
            break;
    }
    *consumed = i;
    *len = out;
    return RESP_DONE;
}

/* Whether c->in holds a whole response: RESP_DONE with its body (decoded)
 * and the bytes it took (*used). */
static resp_state parse_response(conn *c, char **body, size_t *blen, size_t *used,
                                 const char **why)
{
    if (!c->head_len) {
        resp_state s = parse_head(c, why);
        if (s != RESP_DONE)
            return s;
    }
    char *b = c->in + c->head_len;
    size_t avail = c->in_len - c->head_len, consumed = 0;
    if (c->body_len >= 0) {
        if (avail < (size_t)c->body_len)
            return RESP_MORE;
        *body = b;
        *blen = (size_t)c->body_len;
        *used = c->head_len + *blen;
        return RESP_DONE;
    }
    resp_state s = chunked_body(b, avail, false, &consumed, blen, why);
    if (s == RESP_DONE) {
        chunked_body(b, avail, true, &consumed, blen, why);
        *body = b;
        *used = c->head_len + consumed;
    }
    return s;
}

static void on_response(loadgen *lg, conn *c, uint64_t t, const char *body, size_t blen,
                        size_t used)
{
    request r = c->req;
    /* an answer that came before the whole request was sent leaves the
     * connection mid-request: not reusable */
    bool reuse = !c->close && used == c->in_len && c->out_off == c->out_len;
    if (used != c->in_len)
        note(lg, "%zu bytes after a response (no request asked for them)", c->in_len - used);
    lg->busy--;
    c->served = true;
    if (r.measured) {
        lg->answered++;
        if (lg->nlat < lg->lat_cap) {
            lg->lat_sec[lg->nlat] = (uint32_t)((r.due - lg->t_measure) / 1000000000ull);
            lg->lat[lg->nlat++] = t > r.due ? t - r.due : 0;
        }
    } else
        lg->warm_answered++;
    if (c->status != 200) {
        char kind[16];
        snprintf(kind, sizeof kind, "status %d", c->status);
        count_error(lg, &r, kind, body, blen);
    } else if (lg->cfg.expect &&
               (blen != lg->cfg.expect_len || memcmp(body, lg->cfg.expect, blen) != 0))
        count_error(lg, &r, "unexpected body", body, blen);
    c->in_len = c->head_len = 0;
    if (reuse)
        conn_idle(lg, c);
    else
        conn_reopen(lg, c);
}

static void on_readable(loadgen *lg, conn *c)
{
    ssize_t n = recv(c->fd, c->in + c->in_len, IN_MAX - c->in_len, 0);
    uint64_t t = now_ns(); /* when the response is complete, if it is now */
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        char kind[64];
        snprintf(kind, sizeof kind, "%s%s", n ? "recv: " : "connection closed",
                 n ? strerror(errno) : "");
        conn_drop(lg, c, kind); /* on an idle connection (keep-alive timeout): no error */
        return;
    }
    if (c->state != CONN_BUSY) {
        note(lg, "%zd bytes on an idle connection", n);
        conn_reopen(lg, c);
        return;
    }
    c->in_len += (size_t)n;
    const char *why = NULL;
    char *body = NULL;
    size_t blen = 0, used = 0;
    switch (parse_response(c, &body, &blen, &used, &why)) {
    case RESP_MORE:
        /* the buffer is never full when recv is called: a full one is the end */
        if (c->in_len == IN_MAX)
            conn_drop(lg, c, "response over 64 KiB");
        break;
    case RESP_BAD: conn_drop(lg, c, why); break;
    case RESP_DONE: on_response(lg, c, t, body, blen, used); break;
    }
}

static void on_conn_event(loadgen *lg, conn *c, uint32_t events)
{
    if (c->state == CONN_CONNECTING) {
        cw_diag d;
        if (connect_done(lg, c, &d) != CW_OK) {
            note(lg, "%s", d.msg);
            c->retry_at = now_ns() + RETRY_NS;
            arm_earlier(lg, c->retry_at);
        }
        return;
    }
    uint32_t gen = c->gen;
    if ((events & EPOLLOUT) && c->state == CONN_BUSY && c->out_off < c->out_len)
        flush(lg, c);
    if (c->gen == gen && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
        (c->state == CONN_IDLE || c->state == CONN_BUSY))
        on_readable(lg, c);
}

/* ---- the schedule ------------------------------------------------------------------------- */

static uint64_t due_at(const loadgen *lg, uint64_t i)
{
    return lg->t0 + (uint64_t)((double)i * lg->interval_ns);
}

/* Request due now: sent on an idle connection, else queued, else (the
 * queue is full) an error. */
static void issue(loadgen *lg, uint64_t due)
{
    request r = {.due = due, .seq = lg->seq++, .measured = lg->ph == PH_MEASURE};
    if (r.measured)
        lg->sent++;
    else
        lg->warm_sent++;
    conn *c = idle_pop(lg);
    if (c)
        send_request(lg, c, &r);
    else if (lg->q_n < QUEUE_CAP) {
        lg->queue[(lg->q_head + lg->q_n) & (QUEUE_CAP - 1)] = r;
        lg->q_n++;
    } else
        count_error(lg, &r, "backlog", NULL, 0);
    if (r.measured && lg->busy + lg->q_n > lg->in_flight_max)
        lg->in_flight_max = lg->busy + lg->q_n;
}

/* The timer at the earliest of: the next due request or the phase's end,
 * the end of a final wait, a closed connection's next attempt. */
static void arm_next(loadgen *lg)
{
    uint64_t t = UINT64_MAX;
    if (lg->ph == PH_WARMUP || lg->ph == PH_MEASURE) {
        t = due_at(lg, lg->idx);
        if (t > lg->end)
            t = lg->end;
    } else if (lg->ph == PH_WARMUP_DRAIN || lg->ph == PH_MEASURE_DRAIN)
        t = lg->deadline;
    for (unsigned i = 0; lg->nclosed && i < lg->cfg.nconn; i++)
        if (lg->conns[i].state == CONN_CLOSED && lg->conns[i].retry_at < t)
            t = lg->conns[i].retry_at;
    if (t != UINT64_MAX)
        arm_at(lg, t);
}

static void retry_closed(loadgen *lg, uint64_t now)
{
    for (unsigned i = 0; i < lg->cfg.nconn; i++) {
        conn *c = &lg->conns[i];
        cw_diag d;
        if (c->state != CONN_CLOSED || c->retry_at > now)
            continue;
        if (conn_open(lg, c, &d) != CW_OK) {
            note(lg, "%s", d.msg);
            c->retry_at = now + RETRY_NS;
        }
    }
}

/* The final wait is over: what is still queued or in flight is an error. */
static void abandon(loadgen *lg)
{
    static const char kind[] = "unfinished after 30 s";
    while (lg->q_n) {
        request r = lg->queue[lg->q_head];
        lg->q_head = (lg->q_head + 1) & (QUEUE_CAP - 1);
        lg->q_n--;
        count_error(lg, &r, kind, NULL, 0);
    }
    for (unsigned i = 0; i < lg->cfg.nconn; i++)
        if (lg->conns[i].state == CONN_BUSY)
            conn_drop(lg, &lg->conns[i], kind);
}

static void on_timer(loadgen *lg)
{
    uint64_t now = now_ns();
    /* It fired: the settime at the end must happen, and it also clears the
     * timerfd's expiry count, so no read() is needed. */
    lg->armed = 0;
    if (lg->nclosed)
        retry_closed(lg, now);
    if (lg->ph == PH_WARMUP || lg->ph == PH_MEASURE) {
        uint64_t due;
        while ((due = due_at(lg, lg->idx)) <= now && due < lg->end) {
            issue(lg, due);
            lg->idx++;
        }
        if (now >= lg->end) { /* to the wait that follows */
            lg->ph = lg->ph == PH_WARMUP ? PH_WARMUP_DRAIN : PH_MEASURE_DRAIN;
            lg->deadline = now + DRAIN_NS;
        }
    } else if ((lg->ph == PH_WARMUP_DRAIN || lg->ph == PH_MEASURE_DRAIN) && now >= lg->deadline)
        abandon(lg);
    arm_next(lg);
}

static void start_phase(loadgen *lg, phase ph)
{
    if (ph == PH_MEASURE) {
        cw_diag d;
        lg->srv_ok = lg->cfg.pid && proc_cpu_ticks(lg->cfg.pid, &lg->srv0, &d) == CW_OK;
        if (lg->cfg.pid && !lg->srv_ok)
            note(lg, "%s", d.msg);
        lg->self0 = self_cpu_ns();
        lg->shown = 0; /* the measured phase's first errors are shown too */
    }
    lg->ph = ph;
    lg->t0 = now_ns();
    lg->end = lg->t0 + (ph == PH_WARMUP ? lg->cfg.warmup_ns : lg->cfg.measure_ns);
    lg->idx = 0;
    if (ph == PH_MEASURE)
        lg->t_measure = lg->t0;
    arm_next(lg);
}

/* Nothing in flight after a phase: the next one. */
static void end_wait(loadgen *lg)
{
    if (lg->ph == PH_WARMUP_DRAIN) {
        fprintf(stderr,
                "bench_http_load: warm-up: %" PRIu64 " requests, %" PRIu64 " answered, %" PRIu64
                " errors; measuring for %.1f s\n",
                lg->warm_sent, lg->warm_answered, lg->warm_errors,
                (double)lg->cfg.measure_ns / 1e9);
        start_phase(lg, PH_MEASURE);
        return;
    }
    lg->t_done = now_ns();
    lg->self1 = self_cpu_ns();
    if (lg->srv_ok) {
        cw_diag d;
        lg->srv_ok = proc_cpu_ticks(lg->cfg.pid, &lg->srv1, &d) == CW_OK;
        if (!lg->srv_ok)
            note(lg, "%s", d.msg);
    }
    lg->ph = PH_DONE;
}

/* ---- setup, run, report ------------------------------------------------------------------- */

static cw_err connect_all(loadgen *lg, cw_diag *d)
{
    for (unsigned i = 0; i < lg->cfg.nconn; i++) {
        cw_err err = conn_open(lg, &lg->conns[i], d);
        if (err)
            return err;
    }
    uint64_t deadline = now_ns() + CONNECT_NS;
    struct epoll_event ev[64];
    while (lg->idle_n < lg->cfg.nconn) {
        uint64_t now = now_ns();
        if (now >= deadline)
            return cw_fail(d, CW_ERR_IO, "connect to %s: no answer in 5 s", lg->cfg.host);
        int n = epoll_wait(lg->ep, ev, 64, (int)((deadline - now) / 1000000) + 1);
        if (n < 0 && errno != EINTR)
            return cw_fail(d, CW_ERR_IO, "epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            uint64_t id = ev[i].data.u64;
            conn *c = id == TIMER_ID ? NULL : &lg->conns[(uint32_t)id];
            if (!c || (uint32_t)(id >> 32) != c->gen)
                continue;
            if (c->state != CONN_CONNECTING)
                return cw_fail(d, CW_ERR_IO,
                               "%s closed a new connection (over its connection limit?)",
                               lg->cfg.host);
            cw_err err = connect_done(lg, c, d);
            if (err)
                return err;
        }
    }
    return CW_OK;
}

static cw_err setup(loadgen *lg, cw_diag *d)
{
    const config *cfg = &lg->cfg;
    lg->interval_ns = 1e9 / cfg->rate;
    lg->lat_cap = (size_t)(cfg->rate * ((double)cfg->measure_ns / 1e9) * 1.1) + 1024;
    lg->conns = calloc(cfg->nconn, sizeof *lg->conns);
    lg->idle = calloc(cfg->nconn, sizeof *lg->idle);
    lg->queue = malloc(QUEUE_CAP * sizeof *lg->queue);
    lg->lat = malloc(lg->lat_cap * sizeof *lg->lat);
    lg->lat_sec = malloc(lg->lat_cap * sizeof *lg->lat_sec);
    if (!lg->conns || !lg->idle || !lg->queue || !lg->lat || !lg->lat_sec)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory");
    for (unsigned i = 0; i < cfg->nconn; i++)
        lg->conns[i].fd = -1;
    lg->nclosed = cfg->nconn;
    if (cfg->paths_file) {
        cw_err err = load_paths(lg, cfg->paths_file, d);
        if (err)
            return err;
    }
    uint64_t ticks;
    if (cfg->pid && proc_cpu_ticks(cfg->pid, &ticks, d) != CW_OK)
        return CW_ERR_IO;
    lg->ep = epoll_create1(EPOLL_CLOEXEC);
    if (lg->ep < 0)
        return cw_fail(d, CW_ERR_IO, "epoll_create1: %s", strerror(errno));
    lg->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (lg->tfd < 0)
        return cw_fail(d, CW_ERR_IO, "timerfd_create: %s", strerror(errno));
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TIMER_ID};
    if (epoll_ctl(lg->ep, EPOLL_CTL_ADD, lg->tfd, &ev) != 0)
        return cw_fail(d, CW_ERR_IO, "epoll_ctl: %s", strerror(errno));
    return connect_all(lg, d);
}

static cw_err run(loadgen *lg, cw_diag *d)
{
    struct epoll_event ev[64];
    fprintf(stderr,
            "bench_http_load: %u connections to %s, %g requests/s, %.1f s warm-up, %.1f s "
            "measured%s\n",
            lg->cfg.nconn, lg->cfg.host, lg->cfg.rate, (double)lg->cfg.warmup_ns / 1e9,
            (double)lg->cfg.measure_ns / 1e9, lg->npaths ? "" : ", GET /healthz");
    start_phase(lg, lg->cfg.warmup_ns ? PH_WARMUP : PH_MEASURE);
    while (lg->ph != PH_DONE) {
        int n = epoll_wait(lg->ep, ev, 64, -1);
        if (n < 0 && errno != EINTR)
            return cw_fail(d, CW_ERR_IO, "epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            uint64_t id = ev[i].data.u64;
            if (id == TIMER_ID) {
                on_timer(lg);
                continue;
            }
            conn *c = &lg->conns[(uint32_t)id];
            if ((uint32_t)(id >> 32) == c->gen) /* else: a socket closed earlier in this batch */
                on_conn_event(lg, c, ev[i].events);
        }
        if ((lg->ph == PH_WARMUP_DRAIN || lg->ph == PH_MEASURE_DRAIN) && !lg->busy && !lg->q_n)
            end_wait(lg);
    }
    return CW_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* sorted[min(n-1, floor(p/100*n))] in ms, or null without latencies. */
static json_t *percentile(const loadgen *lg, double p)
{
    if (!lg->nlat)
        return json_null();
    size_t i = (size_t)(p / 100.0 * (double)lg->nlat);
    if (i > lg->nlat - 1)
        i = lg->nlat - 1;
    return json_real((double)lg->lat[i] / 1e6);
}

/*
 * --timeline: a line on stderr per second of the measured phase (by due
 * time) with its p50, p99, max and the requests over 5 ms, to tell a tail
 * spread over the run from one made in a few bad seconds. Sorts (second,
 * latency) pairs packed in one integer: latencies stay below 2^40 ns.
 */
static cw_err timeline(const loadgen *lg, cw_diag *d)
{
    uint64_t *v = malloc((lg->nlat ? lg->nlat : 1) * sizeof *v);
    if (!v)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory for the timeline");
    const uint64_t mask = (1ull << 40) - 1;
    for (size_t i = 0; i < lg->nlat; i++)
        v[i] = (uint64_t)lg->lat_sec[i] << 40 | (lg->lat[i] < mask ? lg->lat[i] : mask);
    qsort(v, lg->nlat, sizeof *v, cmp_u64);
    for (size_t a = 0, b; a < lg->nlat; a = b) {
        size_t over = 0;
        for (b = a; b < lg->nlat && v[b] >> 40 == v[a] >> 40; b++)
            over += (v[b] & mask) > 5000000ull;
        size_t n = b - a;
        fprintf(stderr, "bench_http_load: second %3" PRIu64 ": %5zu answered, p50 %6.2f ms, "
                "p99 %6.2f ms, max %7.2f ms, %4zu over 5 ms\n", v[a] >> 40, n,
                (double)(v[a + n / 2] & mask) / 1e6, (double)(v[a + n * 99 / 100] & mask) / 1e6,
                (double)(v[b - 1] & mask) / 1e6, over);
    }
    free(v);
    return CW_OK;
}

static cw_err report(loadgen *lg, cw_diag *d)
{
    cw_err err = CW_OK;
    char *text = NULL;
    if (lg->cfg.timeline && (err = timeline(lg, d)))
        return err;
    qsort(lg->lat, lg->nlat, sizeof *lg->lat, cmp_u64);
    double elapsed = (double)(lg->t_done - lg->t_measure) / 1e9;
    json_t *kinds = json_object();
    for (size_t i = 0; kinds && i < lg->nkinds; i++)
        json_object_set_new(kinds, lg->kinds[i].name, json_integer((json_int_t)lg->kinds[i].n));
    json_t *server_cpu =
        lg->srv_ok ? json_real((double)(lg->srv1 - lg->srv0) / (double)sysconf(_SC_CLK_TCK) /
                               elapsed)
                   : json_null();
    json_t *o = json_pack(
        "{s:I, s:I, s:f, s:f, s:f, s:o, s:o, s:o, s:o, s:o, s:I, s:o, s:I, s:I, s:I, s:o, s:f}",
        "sent", (json_int_t)lg->sent, "answered", (json_int_t)lg->answered, "elapsed_s", elapsed,
        "rate", lg->cfg.rate, "answered_per_s", (double)lg->answered / elapsed, "p50_ms",
        percentile(lg, 50), "p90_ms", percentile(lg, 90), "p99_ms", percentile(lg, 99),
        "p999_ms", percentile(lg, 99.9), "max_ms", percentile(lg, 100), "errors",
        (json_int_t)lg->errors, "error_kinds", kinds, "in_flight_max",
        (json_int_t)lg->in_flight_max, "reconnects", (json_int_t)lg->reconnects, "connections",
        (json_int_t)lg->cfg.nconn, "server_cpu", server_cpu, "client_cpu",
        (double)(lg->self1 - lg->self0) / 1e9 / elapsed);
    text = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    if (!text) {
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory for the report");
        goto out;
    }
    fprintf(stderr,
            "bench_http_load: measured: %" PRIu64 " requests, %" PRIu64 " answered, %" PRIu64
            " errors in %.2f s\n",
            lg->sent, lg->answered, lg->errors, elapsed);
    if (printf("%s\n", text) < 0 || fflush(stdout) != 0)
        err = cw_fail(d, CW_ERR_IO, "stdout: %s", strerror(errno));
out:
    free(text);
    json_decref(o);
    return err;
}

static void teardown(loadgen *lg)
{
    for (unsigned i = 0; lg->conns && i < lg->cfg.nconn; i++)
        if (lg->conns[i].fd >= 0)
            close(lg->conns[i].fd);
    if (lg->tfd >= 0)
        close(lg->tfd);
    if (lg->ep >= 0)
        close(lg->ep);
    free(lg->conns);
    free(lg->idle);
    free(lg->queue);
    free(lg->lat);
    free(lg->lat_sec);
    free(lg->paths);
    free(lg->path_text);
}

int main(int argc, char **argv)
{
    args a;
    cw_diag d = {""};
    if (parse_args(argc, argv, &a, &d) != CW_OK) {
        fprintf(stderr, "bench_http_load: %s (--help for usage)\n", d.msg);
        return 2;
    }
    if (a.help) {
        usage(stdout);
        return 0;
    }
    loadgen lg;
    memset(&lg, 0, sizeof lg);
    lg.ep = lg.tfd = -1;
    cw_err err = check_config(&a, &lg.cfg, &d);
    if (!err)
        err = setup(&lg, &d);
    if (!err)
        err = run(&lg, &d);
    if (!err)
        err = report(&lg, &d);
    if (err)
        fprintf(stderr, "bench_http_load: %s\n", d.msg);
    teardown(&lg);
    return err ? 1 : 0;
}
