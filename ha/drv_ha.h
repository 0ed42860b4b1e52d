/* The HA decisions: two pure functions, no I/O, no clock (time is a parameter), no libvirt,
 * corosync or main loop. droverd's glue (agent/ha.c) and the whole-cluster simulator
 * (tests/sim) feed them the replicated state and a hypervisor view and carry out what they
 * return. The rules are in docs/resources.md.
 */
#ifndef DRV_HA_DECIDE_H
#define DRV_HA_DECIDE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "drv_cluster.h"
#include "drv_state.h"

typedef struct drv_ha_node {
    const char *name;
    bool member;   /* its droverd takes part in the current (endorsed) round */
    int64_t cpu;   /* capacity published by the node, or the default */
    int64_t memory_mib;
} drv_ha_node_t;

typedef struct drv_ha_params {
    uint32_t max_failures;    /* restarts in place within the window before relocating */
    uint64_t failure_window_ms;
    uint64_t now_wall_ms;     /* the deciding node's wall clock */
} drv_ha_params_t;

/* A command the decision wants submitted (strings owned). */
typedef struct drv_ha_cmd {
    drv_cmd_type_t type;
    char *name;
    char *value;
    char *value2;
    uint8_t obs;
    uint64_t gen; /* RES_REPORT: the assignment generation acted on */
} drv_ha_cmd_t;

typedef enum drv_ha_act {
    DRV_HA_START = 1,
    DRV_HA_STOP,
    DRV_HA_MIGRATE, /* live-migrate to target */
} drv_ha_act_t;

typedef struct drv_ha_local_action {
    drv_ha_act_t act;
    const drv_resource_t *res; /* points into the state passed in */
    const char *target;        /* DRV_HA_MIGRATE: the node (points into the state) */
} drv_ha_local_action_t;

void drv_ha_cmd_free(gpointer p);

/* Recent failures of R on NODE (0 when the window has passed). */
uint32_t drv_ha_recent_failures(const drv_resource_t *r, const char *node,
                                const drv_ha_params_t *p);

/* Coordinator: the commands that bring the state's placement in line with the plan for it.
 * NODES is corosync's nodelist (all configured nodes). Appends drv_ha_cmd_t * to OUT. */
void drv_ha_coordinate(const drv_state_t *st, const drv_ha_node_t *nodes, size_t n_nodes,
                       const drv_ha_params_t *p, GPtrArray *out);

/* What the hypervisor on this node runs now (by UUID), as far as the driver knows. */
typedef bool (*drv_ha_running_fn)(void *ud, const char *uuid);
/* Is an operation on UUID already in flight on this node? */
typedef bool (*drv_ha_busy_fn)(void *ud, const char *uuid);
/* May R be live-migrated from here to TARGET now (target's daemon in the round, no failed
 * attempt at this assignment)? NULL: never (moves are stop + start). */
typedef bool (*drv_ha_migrate_fn)(void *ud, const drv_resource_t *r, const char *target);

/* Node agent: reports to submit (OUT_CMDS, drv_ha_cmd_t *) and local start/stop actions
 * (OUT_ACTS, drv_ha_local_action_t *), for node ME. Call only with a current hypervisor view. */
void drv_ha_local(const drv_state_t *st, const char *me, const drv_ha_params_t *p,
                  drv_ha_running_fn running, drv_ha_busy_fn busy, drv_ha_migrate_fn can_migrate,
                  void *ud, GPtrArray *out_cmds, GPtrArray *out_acts);

#endif
