/*
 * graph_svg.c — DOT to SVG through libgvc (graph_svg.h). In a process,
 * one Graphviz context serves every drawing, created on first use and
 * guarded by one mutex: Graphviz's parser, layout and error reporting share
 * globals. Its messages go nowhere (the caller reports a failure itself).
 *
 * The worker (when started): a child process running `conway graph-worker`
 * spawned with posix_spawn (safe from a threaded server, unlike fork), its
 * standard input and output on two pipes, standard error on /dev/null and
 * no other descriptor of the server. One request at a time under wk.mu:
 *   request   "<engine> <length>\n" then <length> bytes of DOT
 *   answer    "OK <length>\n" then the SVG, or
 *             "ERR <cw_err> <length>\n" then the message
 * Any other answer, end of file, or no complete answer within the timeout
 * kills the worker (SIGKILL, reaped at once); the next drawing starts a
 * fresh one, and a worker found dead at the start of a drawing is replaced
 * and asked again once. After max_drawings the worker is replaced, which
 * bounds what Graphviz's leaks cost: dot leaks ~19 KB per drawing of a
 * 30-node graph with system boxes (clusters), so ~2 MB before replacement.
 */
#include "http/graph_svg.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/timeutil.h"

extern char **environ;

const char *cw_graph_svg_engine(size_t cost)
{
    return cost <= CW_GRAPH_DOT_MAX_COST ? "dot" : "sfdp";
}

static bool engine_ok(const char *engine)
{
    return engine && (!strcmp(engine, "dot") || !strcmp(engine, "sfdp"));
}

#ifdef CONWAY_HAVE_GVC
#include <gvc.h>

static pthread_mutex_t gv_mu = PTHREAD_MUTEX_INITIALIZER;
static GVC_t *gv_ctx;

static int gv_quiet(char *msg)
{
    (void)msg;
    return 0;
}

static cw_err draw_here(const char *dot, const char *engine, cw_buf *out, cw_diag *d)
{
    cw_err err = CW_OK;
    Agraph_t *g = NULL;
    char *data = NULL;
    unsigned int len = 0;
    bool laid_out = false;
    pthread_mutex_lock(&gv_mu);
    if (!gv_ctx) {
        agseterrf(gv_quiet);
        agseterr(AGMAX);
        gv_ctx = gvContext();
    }
    if (!gv_ctx) {
        err = cw_fail(d, CW_ERR_NOMEM, "graph drawing: cannot start Graphviz");
        goto out;
    }
    g = agmemread(dot);
    if (!g) {
        err = cw_fail(d, CW_ERR_INVALID, "graph drawing: Graphviz cannot read the graph");
        goto out;
    }
    if (gvLayout(gv_ctx, g, engine) != 0) {
        err = cw_fail(d, CW_ERR_INVALID, "graph drawing: Graphviz cannot lay out the graph");
        goto out;
    }
    laid_out = true;
    if (gvRenderData(gv_ctx, g, "svg", &data, &len) != 0 || !data) {
        err = cw_fail(d, CW_ERR_INVALID, "graph drawing: Graphviz cannot render SVG");
        goto out;
    }
    err = cw_buf_append(out, data, len);
    if (err)
        err = cw_fail(d, err, err == CW_ERR_TOO_LARGE ? "graph drawing: the SVG is too large"
                                                      : "out of memory drawing the graph");
out:
    if (data)
        gvFreeRenderData(data);
    if (laid_out)
        gvFreeLayout(gv_ctx, g);
    if (g)
        agclose(g);
    pthread_mutex_unlock(&gv_mu);
    return err;
}

#else

static cw_err draw_here(const char *dot, const char *engine, cw_buf *out, cw_diag *d)
{
    (void)dot;
    (void)engine;
    (void)out;
    return cw_fail(d, CW_ERR_UNSUPPORTED,
                   "format=svg: this conway was built without Graphviz (libgvc); ask for "
                   "format=dot and draw it with `dot -Tsvg`");
}

#endif

/* ---- the worker process: the server's side ------------------------------------------ */

static struct {
    pthread_mutex_t mu;
    bool on;
    char *exe, *arg;
    unsigned timeout_ms, max_drawings;
    pid_t pid;            /* 0: none running */
    int to, from;         /* its standard input and output */
    unsigned drawings;
} wk = {.mu = PTHREAD_MUTEX_INITIALIZER, .to = -1, .from = -1};

/* Under wk.mu: ends the worker now and reaps it. */
static void wk_kill(void)
{
    if (wk.to >= 0)
        close(wk.to);
    if (wk.from >= 0)
        close(wk.from);
    wk.to = wk.from = -1;
    if (wk.pid > 0) {
        kill(wk.pid, SIGKILL);
        while (waitpid(wk.pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    wk.pid = 0;
    wk.drawings = 0;
}

static cw_err wk_spawn(cw_diag *d)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    cw_err err = CW_OK;
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) {
        err = cw_fail(d, CW_ERR_IO, "graph drawing: cannot make pipes: %s", strerror(errno));
        goto out;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    /* nothing of the server (sockets, database files and their locks) */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
    char name[] = "conway";
    char *argv[] = {name, wk.arg, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, wk.exe, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        err = cw_fail(d, CW_ERR_IO, "graph drawing: cannot start %s %s: %s", wk.exe, wk.arg,
                      strerror(rc));
        goto out;
    }
    wk.pid = pid;
    wk.to = in[1];
    wk.from = out[0];
    in[1] = out[0] = -1;
    wk.drawings = 0;
out:
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close(in[i]);
        if (out[i] >= 0)
            close(out[i]);
    }
    return err;
}

/* Writes all of buf; a worker that went away gives EPIPE, not a SIGPIPE
 * that would end the server (the signal is blocked here and consumed). */
static bool write_all(int fd, const char *buf, size_t n)
{
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    bool ok = true;
    while (n && ok) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            ok = false;
            break;
        }
        buf += w;
        n -= (size_t)w;
    }
    if (!ok) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return ok;
}

/* Reads up to n bytes before deadline_ms (cw_now_ms clock); 0 on end of
 * file, -1 on error, -2 on timeout. */
static ssize_t read_some(int fd, char *buf, size_t n, int64_t deadline_ms)
{
    for (;;) {
        int64_t left = deadline_ms - cw_now_ms();
        if (left <= 0)
            return -2;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return -1;
        if (rc == 0)
            continue;
        ssize_t r = read(fd, buf, n);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        return r;
    }
}

/* Under wk.mu: one request to a running worker. */
static cw_err wk_draw(const char *dot, const char *engine, cw_buf *out, cw_diag *d)
{
    size_t len = strlen(dot);
    char head[96];
    snprintf(head, sizeof head, "%s %zu\n", engine, len);
    if (!write_all(wk.to, head, strlen(head)) || !write_all(wk.to, dot, len))
        return cw_fail(d, CW_ERR_IO, "graph drawing: the worker went away");
    int64_t deadline = cw_now_ms() + wk.timeout_ms;
    char line[96];
    size_t k = 0;
    for (;;) { /* the answer's head, byte by byte: it is short */
        ssize_t r = read_some(wk.from, line + k, 1, deadline);
        if (r == -2)
            return cw_fail(d, CW_ERR_BUSY, "graph drawing: Graphviz took longer than %u ms; the "
                           "layout was stopped (ask for format=json or format=dot)",
                           wk.timeout_ms);
        if (r <= 0)
            return cw_fail(d, CW_ERR_IO, "graph drawing: the worker failed");
        if (line[k] == '\n')
            break;
        if (++k == sizeof line - 1)
            return cw_fail(d, CW_ERR_IO, "graph drawing: the worker answered nonsense");
    }
    line[k] = '\0';
    unsigned long long n = 0;
    int code = 0, used = 0;
    bool ok = sscanf(line, "OK %llu%n", &n, &used) == 1 && (size_t)used == k;
    bool failed = !ok && sscanf(line, "ERR %d %llu%n", &code, &n, &used) == 2 && (size_t)used == k;
    if ((!ok && !failed) || n > CW_GRAPH_SVG_MAX_BYTES)
        return cw_fail(d, CW_ERR_IO, "graph drawing: the worker answered nonsense");
    cw_buf msg;
    cw_buf_init(&msg, 4096);
    cw_buf *dst = ok ? out : &msg;
    cw_err err = CW_OK;
    char chunk[65536];
    while (n && !err) {
        ssize_t r = read_some(wk.from, chunk, n < sizeof chunk ? n : sizeof chunk, deadline);
        if (r == -2)
            err = cw_fail(d, CW_ERR_BUSY, "graph drawing: Graphviz took longer than %u ms",
                          wk.timeout_ms);
        else if (r <= 0)
            err = cw_fail(d, CW_ERR_IO, "graph drawing: the worker failed");
        else if (cw_buf_append(dst, chunk, (size_t)r) == CW_ERR_TOO_LARGE && ok)
            err = cw_fail(d, CW_ERR_TOO_LARGE, "graph drawing: the SVG is too large");
        else
            n -= (size_t)r;
    }
    if (!err && failed)
        err = cw_fail(d, code > CW_OK && code <= CW_ERR_INTERNAL ? (cw_err)code : CW_ERR_IO, "%s",
                      cw_buf_cstr(&msg));
    cw_buf_free(&msg);
    return err;
}

cw_err cw_graph_svg(const char *dot, const char *engine, cw_buf *out, cw_diag *d)
{
    if (!dot || !engine_ok(engine))
        return cw_fail(d, CW_ERR_INVALID, "graph drawing: unknown engine");
    pthread_mutex_lock(&wk.mu);
    if (!wk.on) {
        pthread_mutex_unlock(&wk.mu);
        return draw_here(dot, engine, out, d);
    }
    if (strlen(dot) > CW_GRAPH_SVG_MAX_BYTES) {
        pthread_mutex_unlock(&wk.mu);
        return cw_fail(d, CW_ERR_TOO_LARGE, "graph drawing: the graph is too large");
    }
    bool fresh = !wk.pid;
    cw_err err = fresh ? wk_spawn(d) : CW_OK;
    size_t before = out->len;
    if (!err) {
        err = wk_draw(dot, engine, out, d);
        if (err == CW_ERR_IO && !fresh) {
            /* a worker that died since its last drawing: once more, fresh */
            wk_kill();
            out->len = before;
            if (out->data)
                out->data[before] = '\0';
            err = wk_spawn(d);
            if (!err)
                err = wk_draw(dot, engine, out, d);
        }
        /* an answer Graphviz refused keeps the worker; anything else ends it */
        if (err && err != CW_ERR_INVALID && err != CW_ERR_UNSUPPORTED) {
            wk_kill();
            out->len = before;
            if (out->data)
                out->data[before] = '\0';
        } else if (++wk.drawings >= wk.max_drawings) {
            wk_kill(); /* bounds what Graphviz's leaks cost */
        }
    }
    pthread_mutex_unlock(&wk.mu);
    return err;
}

cw_err cw_graph_worker_start(const cw_graph_worker_cfg *cfg, cw_diag *d)
{
    if (!cfg || !cfg->exe || !*cfg->exe)
        return cw_fail(d, CW_ERR_INVALID, "graph drawing: no worker executable");
    char *exe = strdup(cfg->exe), *arg = strdup(cfg->arg ? cfg->arg : "graph-worker");
    if (!exe || !arg) {
        free(exe);
        free(arg);
        return cw_fail(d, CW_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_lock(&wk.mu);
    wk_kill();
    free(wk.exe);
    free(wk.arg);
    wk.exe = exe;
    wk.arg = arg;
    wk.timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 20000;
    wk.max_drawings = cfg->max_drawings ? cfg->max_drawings : 100;
    wk.on = true;
    pthread_mutex_unlock(&wk.mu);
    return CW_OK;
}

void cw_graph_worker_stop(void)
{
    pthread_mutex_lock(&wk.mu);
    wk_kill();
    free(wk.exe);
    free(wk.arg);
    wk.exe = wk.arg = NULL;
    wk.on = false;
    pthread_mutex_unlock(&wk.mu);
}

/* ---- the worker process: its own side ------------------------------------------------ */

static bool read_exact(int fd, char *buf, size_t n)
{
    while (n) {
        ssize_t r = read(fd, buf, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        buf += r;
        n -= (size_t)r;
    }
    return true;
}

int cw_graph_worker_main(void)
{
    signal(SIGPIPE, SIG_DFL);
    for (;;) {
        char line[96];
        size_t k = 0;
        for (;;) {
            if (!read_exact(0, line + k, 1))
                return k ? 1 : 0; /* end of input between requests: done */
            if (line[k] == '\n')
                break;
            if (++k == sizeof line - 1)
                return 1;
        }
        line[k] = '\0';
        char engine[16];
        unsigned long long n = 0;
        int used = 0;
        if (sscanf(line, "%15s %llu%n", engine, &n, &used) != 2 || (size_t)used != k ||
            n > CW_GRAPH_SVG_MAX_BYTES || !engine_ok(engine))
            return 1;
        char *dot = malloc((size_t)n + 1);
        if (!dot || !read_exact(0, dot, (size_t)n)) {
            free(dot);
            return 1;
        }
        dot[n] = '\0';
        cw_buf svg;
        cw_buf_init(&svg, CW_GRAPH_SVG_MAX_BYTES);
        cw_diag d = {{0}};
        cw_err err = draw_here(dot, engine, &svg, &d);
        free(dot);
        char head[96];
        const char *body = err ? d.msg : cw_buf_cstr(&svg);
        size_t blen = err ? strlen(d.msg) : svg.len;
        if (err)
            snprintf(head, sizeof head, "ERR %d %zu\n", (int)err, blen);
        else
            snprintf(head, sizeof head, "OK %zu\n", blen);
        bool ok = write_all(1, head, strlen(head)) && write_all(1, body, blen);
        cw_buf_free(&svg);
        if (!ok)
            return 1;
    }
}
