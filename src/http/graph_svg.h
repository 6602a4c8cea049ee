/*
 * graph_svg.h — server-side drawing of a DOT graph (insights/graph.h's
 * cw_graph_to_dot) as SVG with Graphviz's layout engine (libgvc, "dot"
 * layout). Graphviz keeps global state and is not thread-safe, so every
 * drawing in the process is serialised by one mutex; the layout's cost
 * grows with the graph, hence the node cap callers apply first
 * (CW_GRAPH_SVG_MAX_NODES).
 */
#ifndef CW_GRAPH_SVG_H
#define CW_GRAPH_SVG_H

#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

/* The largest graph drawn (nodes); larger ones are refused before layout. */
#define CW_GRAPH_SVG_MAX_NODES 400
/* The largest cw_graph_layered_cost drawn with the layered engine "dot";
 * beyond it "sfdp" (force-directed, straight edges, no system boxes) draws
 * in a fraction of the time. dot's work grows with that cost: a layered
 * 200-node system costs a few thousand and takes well under a second, a
 * 200-node tangle of long cycles costs ~30,000 and takes over a minute. */
#define CW_GRAPH_DOT_MAX_COST 6000

/* The engine for a drawing of layered cost cost: "dot" or "sfdp". */
const char *cw_graph_svg_engine(size_t cost);

/*
 * Lays out dot (a NUL-terminated DOT document) with engine ("dot" or
 * "sfdp") and appends its SVG to out.
 * CW_ERR_INVALID when Graphviz cannot read or lay it out,
 * CW_ERR_UNSUPPORTED when conway was built without libgvc,
 * CW_ERR_TOO_LARGE when out's cap is reached, CW_ERR_NOMEM.
 */
cw_err cw_graph_svg(const char *dot, const char *engine, cw_buf *out, cw_diag *d);

#endif
