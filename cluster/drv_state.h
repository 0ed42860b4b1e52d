/* The replicated cluster state: what every node agrees on, applied in CPG total order.
 *
 * Owned by the cluster core (drv_cluster_t); readers get a const pointer valid until the next
 * call into the core. Later features (VM resources) add tables here; the wire codec and the
 * persisted file carry every table.
 */
#ifndef DRV_STATE_H
#define DRV_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

/* Per-node administrative flags, crmsh's grammar: standby/online toggle `standby`,
 * maintenance/ready toggle `maintenance`. A node absent from the table has both false. */
typedef struct drv_node_admin {
    bool standby;
    bool maintenance;
} drv_node_admin_t;

typedef struct drv_state {
    uint64_t epoch;         /* +1 each time a quorate partition is endorsed (see docs/replication.md) */
    uint64_t seq;           /* commands applied since the cluster was created */
    GHashTable *node_admin; /* char *node name -> drv_node_admin_t * (owned) */
    GHashTable *settings;   /* char *key -> char *value (owned) */
} drv_state_t;

drv_state_t *drv_state_new(void);
void drv_state_free(drv_state_t *st);
drv_state_t *drv_state_copy(const drv_state_t *st);
bool drv_state_equal(const drv_state_t *a, const drv_state_t *b);

/* Admin flags of NODE (both false when the node has no entry). */
drv_node_admin_t drv_state_node_admin(const drv_state_t *st, const char *node);
/* "online", "standby", "maintenance" or "standby+maintenance". */
const char *drv_node_admin_str(drv_node_admin_t a);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(drv_state_t, drv_state_free)

#endif
