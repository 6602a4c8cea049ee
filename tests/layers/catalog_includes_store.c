/*
 * catalog_includes_store.c — must NOT compile: the catalog (the model)
 * including the store is an up-arrow. Built by the ctest
 * layers.up_arrow_catalog with the catalog layer's include tree.
 */
#include "store/store.h"

int cw_layer_probe(void);
int cw_layer_probe(void) { return 0; }
