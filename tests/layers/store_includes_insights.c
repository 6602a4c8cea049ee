/*
 * store_includes_insights.c — must NOT compile: the store layer including an
 * insight is an up-arrow (store and insights are siblings, docs/layers.md).
 * Built by the ctest layers.up_arrow_store with the store layer's include
 * tree; the test passes only when the compiler cannot find the header.
 */
#include "insights/dora.h"

int cw_layer_probe(void);
int cw_layer_probe(void) { return 0; }
