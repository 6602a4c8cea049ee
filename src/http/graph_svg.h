/*
 * graph_svg.h — server-side drawing of a DOT graph (insights/graph.h's
 * cw_graph_to_dot) as SVG with Graphviz's layout engines (libgvc).
 *
 * Graphviz keeps global state and is not thread-safe, so every drawing in
 * a process is serialised by one mutex. Graphviz 2.43 (Debian's) also
 * leaks memory in every "dot" layout (virtual edges of reversed edges and
 * clusters) and has corrupted its heap on some inputs, and a layout's time
 * cannot be bounded from inside. So a server draws in a worker process
 * (cw_graph_worker_start): the same conway binary run as
 * `conway graph-worker`, fed one graph at a time over a pipe, killed when
 * a drawing takes longer than its timeout or the worker fails, and
 * replaced after a number of drawings, so that neither a leak, a crash nor
 * a runaway layout reaches the server. Without a worker (the CLI, tests)
 * drawings run in the calling process.
 */
#ifndef CW_GRAPH_SVG_H
#define CW_GRAPH_SVG_H

#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

/* The largest graph drawn (nodes); larger ones are refused before layout. */
#define CW_GRAPH_SVG_MAX_NODES 400
/* The largest cw_graph_layered_cost drawn with the layered engine "dot";
 * beyond it "sfdp" (force-directed, straight edges) draws in a fraction of
 * the time. dot's work grows with that cost: a layered 200-node system
 * costs a few hundred and takes well under a second, a 200-node tangle of
 * long cycles costs ~19,000 and takes over a minute. */
#define CW_GRAPH_DOT_MAX_COST 6000
/* The largest DOT document and SVG drawing passed to and from a worker. */
#define CW_GRAPH_SVG_MAX_BYTES (64u << 20)

/* The engine for a drawing of layered cost cost: "dot" or "sfdp". */
const char *cw_graph_svg_engine(size_t cost);

/*
 * Lays out dot (a NUL-terminated DOT document) with engine ("dot" or
 * "sfdp") and appends its SVG to out: in the worker when one is started,
 * else here. CW_ERR_INVALID when Graphviz cannot read, lay out or render
 * it; CW_ERR_BUSY when the worker did not answer within its timeout (it is
 * killed; the next drawing starts a new one); CW_ERR_IO when the worker
 * cannot be started or fails; CW_ERR_UNSUPPORTED when conway was built
 * without libgvc; CW_ERR_TOO_LARGE when out's cap is reached; CW_ERR_NOMEM.
 */
cw_err cw_graph_svg(const char *dot, const char *engine, cw_buf *out, cw_diag *d);

typedef struct {
    const char *exe;          /* a conway binary (e.g. "/proc/self/exe") */
    const char *arg;          /* the argument that makes it a worker;
                                 NULL = "graph-worker" */
    unsigned timeout_ms;      /* per drawing; 0 = 20000 */
    unsigned max_drawings;    /* then the worker is replaced; 0 = 100 */
} cw_graph_worker_cfg;

/* From now on, draws in a worker process started on first use. The
 * strings are copied. CW_ERR_INVALID without an exe. */
cw_err cw_graph_worker_start(const cw_graph_worker_cfg *cfg, cw_diag *d);
/* Stops the worker (if running) and draws in-process again. */
void cw_graph_worker_stop(void);

/* The worker's side: reads requests on standard input and answers on
 * standard output until end of input; returns the exit status. */
int cw_graph_worker_main(void);

#endif
