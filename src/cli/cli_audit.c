/*
 * cli_audit.c — audit records of writes made by the CLI (token changes,
 * imports): actor "cli", no token, appended right after the write they
 * record has committed (store/store_audit.h). A failure is reported on
 * stderr and does not undo the write.
 */
#include <stdio.h>

#include "cli/cli.h"
#include "store/store_audit.h"

int cw_cli_audit(cw_store *store, const char *cmd, const char *action, const json_t *refs,
                 const json_t *detail)
{
    cw_audit_entry e = {.actor = "cli", .action = action, .refs = refs, .detail = detail};
    cw_diag d = {{0}};
    if (cw_store_audit_append(store, &e, NULL, &d) == CW_OK)
        return 0;
    fprintf(stderr, "conway %s: warning: the audit record of %s was not stored: %s\n", cmd,
            action, d.msg);
    return 1;
}
