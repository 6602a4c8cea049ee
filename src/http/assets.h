/* assets.h — the web UI files embedded in the binary (generated table). */
#ifndef CW_ASSETS_H
#define CW_ASSETS_H

#include <stddef.h>

typedef struct {
    const char *path;          /* "/index.html" */
    const char *content_type;
    const unsigned char *data;
    size_t len;
} cw_asset;

/* Terminated by an entry whose path is NULL. */
extern const cw_asset cw_assets[];

#endif
