/*
 * store_includes_lower.c — must compile: the store layer may include its own
 * headers and those of the layers below it (util, catalog, events). The
 * control for the up-arrow probes: it proves they fail for the include, not
 * for a broken probe build.
 */
#include "catalog/catalog.h"
#include "events/delivery.h"
#include "store/store.h"
#include "util/err.h"

int cw_layer_probe(void);
int cw_layer_probe(void) { return (int)sizeof(cw_dora_deployment) > 0; }
