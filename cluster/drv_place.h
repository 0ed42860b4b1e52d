/* Can a node take a VM now? The check behind `resource move` (droverd refuses a move with
 * DRV_ERR_CANNOT_PLACE and the reason), pure so that other callers and tests can reuse it. */
#ifndef DRV_PLACE_H
#define DRV_PLACE_H

#include <stdbool.h>
#include <stdint.h>

#include "drv_state.h"

/* What the caller knows about the node besides the replicated state. */
typedef struct drv_place_node {
    const char *name;
    bool member; /* its droverd is a participant of the current round */
} drv_place_node_t;

/* 0 when NODE can take R, else DRV_ERR_CANNOT_PLACE and *WHY (g_free; may be NULL) saying
 * why: standby or maintenance, not a member, R banned there by failure-threshold failures
 * within failure-window (as that node counted them, by its own clock), or not enough room: its
 * published capacity (settings "capacity/NODE" = "CPU MEMMIB") minus the cpu/memory of the other
 * resources assigned there is less than R needs. */
int drv_place_check(const drv_state_t *st, const drv_resource_t *r, const drv_place_node_t *node,
                    char **why);

#endif
