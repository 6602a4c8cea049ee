/*
 * store_leaves.c — what the store's front (store.c, store_backup.c) and its
 * backends both call: freeing the results a backend fills (an entity page, a
 * backup report) and creating a private file. Kept apart so that a backend
 * never calls back up into the front: the store's files form no circle
 * (scripts/layers.sh --check verifies it on the objects).
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_impl.h"

void cw_entity_page_free(cw_entity_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->len; i++) {
        if (p->items)
            free(p->items[i]);
        if (p->keys)
            free(p->keys[i]);
    }
    free(p->items);
    free(p->keys);
    memset(p, 0, sizeof *p);
}

int cw__create_private(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    /* The umask can only take bits away from 0600; fchmod puts back the
     * owner's own (a umask of 0200 would leave 0400). */
    if (fchmod(fd, 0600) != 0) {
        int e = errno;
        close(fd);
        unlink(path);
        errno = e;
        return -1;
    }
    return fd;
}

void cw_backup_report_free(cw_backup_report *r)
{
    if (!r)
        return;
    free(r->tables);
    memset(r, 0, sizeof *r);
}
