/*
 * inc_notifier.h — the notifications of incidents and postmortem action
 * items (issue 14, docs/incidents.md "Notifications"), one round at a time
 * in the heartbeat notification thread (hb_notifier.h), queued on its
 * queue so they are signed, retried and dead-lettered the same way:
 * - an incident opened or resolved: the store's news (store_notify.h,
 *   found by index) goes to the spec.notify URLs of the incident's owner
 *   (the owner of the Component it links to); an opening or resolution
 *   more than CW_NOTIFY_STALE_MS old when first seen (imported history) is
 *   taken without a delivery;
 * - an action item overdue (open or in progress after the end of its due
 *   date): the pending items of every Postmortem, kept in memory sorted by
 *   the time they become overdue and rebuilt only when the catalog
 *   changes, so a round looks at the items that became due since the last
 *   one, not at every item; each goes to the URLs of its owner's Group and
 *   of the Postmortem's owner, claimed once per item and due date
 *   (notify_once), so a new due date that passes notifies again.
 */
#ifndef CW_INGEST_INC_NOTIFIER_H
#define CW_INGEST_INC_NOTIFIER_H

#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

typedef struct cw_inc_notifier cw_inc_notifier;

/* NULL on OOM. */
cw_inc_notifier *cw_inc_notifier_new(void);
void cw_inc_notifier_free(cw_inc_notifier *n);

/* Queues what is news at now_ms (each notification once, also with
 * several instances). An error leaves the rest for the next round. */
cw_err cw_inc_notifier_round(cw_inc_notifier *n, cw_store *s, int64_t now_ms, cw_diag *d);

#endif
