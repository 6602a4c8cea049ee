/*
 * graph_svg.c — DOT to SVG through libgvc (graph_svg.h). One Graphviz
 * context serves the whole process, created on first use and guarded by
 * one mutex with every graph drawn under it: Graphviz's parser, layout and
 * error reporting share globals. Its messages go nowhere (the caller
 * reports a failure itself), so nothing reaches the server's log stream.
 */
#include "http/graph_svg.h"

#include <pthread.h>
#include <stdbool.h>

const char *cw_graph_svg_engine(size_t cost)
{
    return cost <= CW_GRAPH_DOT_MAX_COST ? "dot" : "sfdp";
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

cw_err cw_graph_svg(const char *dot, const char *engine, cw_buf *out, cw_diag *d)
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

cw_err cw_graph_svg(const char *dot, const char *engine, cw_buf *out, cw_diag *d)
{
    (void)dot;
    (void)engine;
    (void)out;
    return cw_fail(d, CW_ERR_UNSUPPORTED,
                   "format=svg: this conway was built without Graphviz (libgvc); ask for "
                   "format=dot and draw it with `dot -Tsvg`");
}

#endif
